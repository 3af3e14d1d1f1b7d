/* Test guest: tries every way out of a directory grant it knows.
 *
 * usage: escape GRANTED_DIR OUTSIDE_FILE
 * GRANTED_DIR is the guest path of a grant; OUTSIDE_FILE is a host file the
 * guest must never read. A host-made symlink GRANTED_DIR/link-out pointing at
 * OUTSIDE_FILE may exist. Prints one line per attempt, "NAME: blocked (errno)"
 * or "NAME: ESCAPED"; exits 0 only when every attempt was blocked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int escaped = 0;

static void try_open(const char *name, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        char buf[64];
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        if (n > 0) {
            printf("%s: ESCAPED (read %zd bytes via %s)\n", name, n, path);
            escaped = 1;
            return;
        }
    }
    printf("%s: blocked (%s)\n", name, strerror(errno));
}

static void check(const char *name, int rc) {
    if (rc == 0) {
        printf("%s: ESCAPED\n", name);
        escaped = 1;
    } else {
        printf("%s: blocked (%s)\n", name, strerror(errno));
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: escape GRANTED_DIR OUTSIDE_FILE\n");
        return 2;
    }
    const char *dir = argv[1], *outside = argv[2];
    char path[4096];

    try_open("absolute", outside);
    snprintf(path, sizeof path, "%s/../%s", dir, strrchr(outside, '/') + 1);
    try_open("dotdot", path);
    snprintf(path, sizeof path, "%s/../../../../../../../../%s", dir, outside);
    try_open("deep-dotdot", path);
    snprintf(path, sizeof path, "%s/link-out", dir);
    try_open("host-symlink", path);

    snprintf(path, sizeof path, "%s/guest-link", dir);
    if (symlink(outside, path) == 0) {
        try_open("guest-symlink-absolute", path);
    } else {
        printf("guest-symlink-absolute: blocked at creation (%s)\n", strerror(errno));
    }
    snprintf(path, sizeof path, "%s/guest-link-rel", dir);
    if (symlink("../../../../../../../../etc/passwd", path) == 0) {
        try_open("guest-symlink-relative", path);
    } else {
        printf("guest-symlink-relative: blocked at creation (%s)\n", strerror(errno));
    }
    snprintf(path, sizeof path, "%s/hard", dir);
    check("hardlink-in", link(outside, path));
    snprintf(path, sizeof path, "%s/../moved", dir);
    char inside[4096];
    snprintf(inside, sizeof inside, "%s/inside.txt", dir);
    check("rename-out", rename(inside, path));
    return escaped ? 1 : 0;
}
