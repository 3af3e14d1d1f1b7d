/* The guest's stdin, read by a WASI guest through fd_read on fd 0: empty by
 * default, bytes (copied, exact, on a runtime or one sandbox), a regular
 * file, the host's stdin (option "stdin": "inherit"), text from a policy;
 * FIFOs, devices, directories and missing files refused when the sandbox is
 * built; the last stdin setting wins; bad arguments are typed errors. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define INV AEGIS_ERROR_INVALID_ARGUMENT
/* Where the guest puts what it reads, and how much it can hold. */
#define DATA_AT 1024
#define DATA_CAP (8 * 65536 - DATA_AT)

/* read_stdin() -> i32: reads fd 0 to end of file into memory at DATA_AT and
 * returns the byte count, or -errno if a read fails. */
static const char *CAT =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_read\"\n"
    "    (func $fd_read (param i32 i32 i32 i32) (result i32)))\n"
    "  (memory (export \"memory\") 8)\n"
    "  (func (export \"read_stdin\") (result i32) (local $end i32) (local $err i32)\n"
    "    (local.set $end (i32.const 1024))\n"
    "    (block $eof (loop $more\n"
    "      (i32.store (i32.const 0) (local.get $end))\n"
    "      (i32.store (i32.const 4) (i32.sub (i32.const 524288) (local.get $end)))\n"
    "      (br_if $eof (i32.eqz (i32.load (i32.const 4))))\n"
    "      (local.set $err (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))\n"
    "      (if (local.get $err) (then (return (i32.sub (i32.const 0) (local.get $err)))))\n"
    "      (br_if $eof (i32.eqz (i32.load (i32.const 8))))\n"
    "      (local.set $end (i32.add (local.get $end) (i32.load (i32.const 8))))\n"
    "      (br $more)))\n"
    "    (i32.sub (local.get $end) (i32.const 1024))))";

static aegis_runtime_t *rt;
static aegis_module_t *cat;

/* What the guest m reads from stdin in sandbox sb, in buf (at most cap
 * bytes); returns the count. Deletes the sandbox. */
static size_t read_stdin(aegis_sandbox_t *sb, aegis_module_t *m, uint8_t *buf, size_t cap) {
    OK(aegis_sandbox_load_module(sb, m));
    aegis_val_t n;
    OK(aegis_sandbox_call(sb, "read_stdin", NULL, 0, &n, 1));
    CHECK(n.of.i32 >= 0 && (size_t)n.of.i32 <= cap);
    if (n.of.i32 > 0) OK(aegis_sandbox_memory_read(sb, NULL, DATA_AT, buf, (size_t)n.of.i32));
    aegis_sandbox_delete(sb);
    return (size_t)n.of.i32;
}

/* A sandbox of rt configured by b (consumed). */
static aegis_sandbox_t *sandbox_of(aegis_builder_t *b) {
    aegis_sandbox_t *sb = NULL;
    OK(aegis_builder_build_sandbox(b, rt, &sb));
    return sb;
}

/* Checks that the guest of a sandbox configured by b reads exactly want[0..len]. */
static void expect_stdin(aegis_builder_t *b, const void *want, size_t len) {
    static uint8_t got[DATA_CAP];
    size_t n = read_stdin(sandbox_of(b), cat, got, sizeof got);
    if (n != len || memcmp(got, want, len) != 0) {
        fprintf(stderr, "stdin: read %zu bytes, expected %zu\n", n, len);
        CHECK(n == len && memcmp(got, want, len) == 0);
    }
    checks_run++;
}

/* Writes data[0..len] to a new file `name` in dir; the path goes to path. */
static void write_file(const char *dir, const char *name, const void *data, size_t len,
                       char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(data, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

static void empty_by_default(void) {
    expect_stdin(aegis_builder_new(), "", 0);
    aegis_sandbox_t *sb = NULL;
    OK(aegis_sandbox_new(rt, &sb));
    uint8_t buf[16];
    CHECK(read_stdin(sb, cat, buf, sizeof buf) == 0);
}

static void bytes(void) {
    /* Exact: NUL, invalid UTF-8, and more than one read's worth. */
    size_t len = 300 * 1024;
    uint8_t *data = malloc(len);
    CHECK(data != NULL);
    for (size_t i = 0; i < len; i++) data[i] = (uint8_t)(i * 7 + (i >> 9));
    data[0] = 0, data[1] = 0xff, data[2] = 0x80;
    uint8_t *copy = malloc(len);
    CHECK(copy != NULL);
    memcpy(copy, data, len);
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_stdin_bytes(b, data, len));
    /* Copied: the caller's buffer may change or go at once. */
    memset(data, 'X', len);
    free(data);
    expect_stdin(b, copy, len);
    free(copy);

    /* NULL with length 0: end of file at once. */
    b = aegis_builder_new();
    OK(aegis_builder_stdin_bytes(b, NULL, 0));
    expect_stdin(b, "", 0);

    /* On a runtime: every sandbox reads them; a sandbox builder overrides. */
    aegis_builder_t *rb = aegis_builder_new();
    OK(aegis_builder_stdin_bytes(rb, (const uint8_t *)"from the runtime", 16));
    aegis_runtime_t *own = build_runtime(rb);
    aegis_module_t *own_cat = wat(own, CAT);
    for (int i = 0; i < 2; i++) {
        aegis_sandbox_t *sb = NULL;
        OK(aegis_sandbox_new(own, &sb));
        uint8_t buf[64];
        CHECK(read_stdin(sb, own_cat, buf, sizeof buf) == 16 && memcmp(buf, "from the runtime", 16) == 0);
    }
    b = aegis_builder_new();
    OK(aegis_builder_stdin_bytes(b, (const uint8_t *)"sandbox", 7));
    aegis_sandbox_t *sb = NULL;
    OK(aegis_builder_build_sandbox(b, own, &sb));
    uint8_t buf[64];
    CHECK(read_stdin(sb, own_cat, buf, sizeof buf) == 7 && memcmp(buf, "sandbox", 7) == 0);
    aegis_module_delete(own_cat);
    aegis_runtime_delete(own);
}

static void files(const char *dir) {
    char path[512], fifo[512];
    static const char content[] = "line one\n\0binary\xff\n";
    write_file(dir, "input.bin", content, sizeof content - 1, path, sizeof path);
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_stdin_file(b, path));
    expect_stdin(b, content, sizeof content - 1);

    /* Through the policy, as in a policy file. */
    char json[600];
    snprintf(json, sizeof json, "{\"file\": \"%s\"}", path);
    b = aegis_builder_new();
    OK(aegis_builder_set(b, "stdin", json));
    expect_stdin(b, content, sizeof content - 1);

    /* Not a regular file: refused when the sandbox is built. */
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    b = aegis_builder_new();
    OK(aegis_builder_stdin_file(b, fifo)); /* a setter only records it */
    aegis_sandbox_t *sb = (aegis_sandbox_t *)1;
    FAILS(aegis_builder_build_sandbox(b, rt, &sb), INV, "FIFO");
    CHECK(sb == NULL);
    b = aegis_builder_new();
    OK(aegis_builder_stdin_file(b, "/dev/zero"));
    FAILS(aegis_builder_build_sandbox(b, rt, &sb), INV, "device");
    b = aegis_builder_new();
    OK(aegis_builder_stdin_file(b, dir));
    FAILS(aegis_builder_build_sandbox(b, rt, &sb), INV, "directory");
    b = aegis_builder_new();
    snprintf(path, sizeof path, "%s/missing", dir);
    OK(aegis_builder_stdin_file(b, path));
    FAILS(aegis_builder_build_sandbox(b, rt, &sb), AEGIS_ERROR_IO, "missing");
    /* On a runtime: each sandbox is refused. */
    b = aegis_builder_new();
    OK(aegis_builder_stdin_file(b, fifo));
    aegis_runtime_t *own = build_runtime(b);
    FAILS(aegis_sandbox_new(own, &sb), INV, "FIFO");
    CHECK(sb == NULL);
    aegis_runtime_delete(own);
    unlink(fifo);
    snprintf(path, sizeof path, "%s/input.bin", dir);
    unlink(path);
}

/* Option "stdin": "inherit": the host process's own stdin (here a file put
 * on fd 0). */
static void inherit(const char *dir) {
    char path[512];
    write_file(dir, "host-stdin.txt", "the host's stdin\n", 17, path, sizeof path);
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && dup2(fd, STDIN_FILENO) == STDIN_FILENO);
    close(fd);
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_set(b, "stdin", "\"inherit\""));
    expect_stdin(b, "the host's stdin\n", 17);
    unlink(path);
}

/* Text from a policy, and which setting wins. */
static void policy_and_order(void) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_set(b, "stdin", "{\"text\": \"from a policy\"}"));
    expect_stdin(b, "from a policy", 13);
    static const char toml[] = "stdin = { text = \"from TOML\" }\n";
    OK(aegis_builder_from_policy(toml, sizeof toml - 1, &b));
    expect_stdin(b, "from TOML", 9);

    /* The last setting wins: bytes after text, "empty" after bytes, a file after bytes. */
    b = aegis_builder_new();
    OK(aegis_builder_set(b, "stdin", "{\"text\": \"text\"}"));
    OK(aegis_builder_stdin_bytes(b, (const uint8_t *)"bytes", 5));
    expect_stdin(b, "bytes", 5);
    b = aegis_builder_new();
    OK(aegis_builder_stdin_bytes(b, (const uint8_t *)"bytes", 5));
    OK(aegis_builder_set(b, "stdin", "\"empty\""));
    expect_stdin(b, "", 0);
    b = aegis_builder_new();
    OK(aegis_builder_stdin_bytes(b, (const uint8_t *)"bytes", 5));
    OK(aegis_builder_stdin_file(b, "/etc/hostname-that-does-not-exist"));
    aegis_sandbox_t *sb = NULL;
    FAILS(aegis_builder_build_sandbox(b, rt, &sb), AEGIS_ERROR_IO, NULL);

    /* A bad value names the option; the builder keeps what it had. */
    b = aegis_builder_new();
    OK(aegis_builder_stdin_bytes(b, (const uint8_t *)"kept", 4));
    FAILS(aegis_builder_set(b, "stdin", "\"bogus\""), INV, "stdin");
    FAILS(aegis_builder_set(b, "stdin", "{\"bytes\": [1, 2]}"), INV, "stdin");
    expect_stdin(b, "kept", 4);
}

/* NULL and impossible arguments: typed errors, never a crash. */
static void bad_arguments(void) {
    FAILS(aegis_builder_stdin_bytes(NULL, (const uint8_t *)"x", 1), INV, "builder");
    FAILS(aegis_builder_stdin_file(NULL, "/tmp"), INV, "builder");
    aegis_builder_t *b = aegis_builder_new();
    FAILS(aegis_builder_stdin_bytes(b, NULL, 5), INV, "data");
    FAILS(aegis_builder_stdin_bytes(b, (const uint8_t *)"x", SIZE_MAX), INV, "data");
    FAILS(aegis_builder_stdin_file(b, NULL), INV, "path");
    FAILS(aegis_builder_stdin_file(b, "\xff\xfe"), INV, "UTF-8");
    aegis_builder_delete(b);
}

int main(void) {
    char dir[] = "/tmp/aegis-c-stdin-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_timeout(b, 30.0));
    rt = build_runtime(b);
    cat = wat(rt, CAT);

    empty_by_default();
    bytes();
    files(dir);
    policy_and_order();
    bad_arguments();
    inherit(dir);

    aegis_module_delete(cat);
    aegis_runtime_delete(rt);
    CHECK(rmdir(dir) == 0);
    return done("test_stdin");
}
