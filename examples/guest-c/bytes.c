/* An Aegis guest with five bytes functions (the convention: aegis_guest.h).
 * Build: clang --target=wasm32-wasi -O2 -mexec-model=reactor -o bytes.wasm bytes.c */
#include <string.h>

#include "aegis_guest.h"

/* ASCII uppercase, in place. */
AEGIS_EXPORT(upper) int64_t upper(char *in, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (in[i] >= 'a' && in[i] <= 'z') in[i] -= 'a' - 'A';
    return aegis_output(in, len);
}

/* The bytes in reverse order, in place. */
AEGIS_EXPORT(reverse) int64_t reverse(char *in, size_t len) {
    for (size_t i = 0, j = len; i + 1 < j; i++, j--) {
        char c = in[i];
        in[i] = in[j - 1];
        in[j - 1] = c;
    }
    return aegis_output(in, len);
}

/* The input buffer itself, returned as the output. */
AEGIS_EXPORT(echo) int64_t echo(char *in, size_t len) {
    return aegis_output(in, len);
}

/* A name in, "Hello, NAME!" out. */
AEGIS_EXPORT(greet) int64_t greet(char *in, size_t len) {
    static const char pre[] = "Hello, ", post[] = "!";
    size_t n = sizeof pre - 1 + len + sizeof post - 1;
    char *out = malloc(n);
    if (!out) __builtin_trap();
    memcpy(out, pre, sizeof pre - 1);
    memcpy(out + sizeof pre - 1, in, len);
    memcpy(out + n - (sizeof post - 1), post, sizeof post - 1);
    free(in);
    return aegis_output(out, n);
}

/* A decimal number N as text in, N bytes of 'a' out; anything else traps. */
AEGIS_EXPORT(repeat) int64_t repeat(char *in, size_t len) {
    size_t n = 0;
    if (len == 0) __builtin_trap();
    for (size_t i = 0; i < len; i++) {
        if (in[i] < '0' || in[i] > '9' || n > (SIZE_MAX - 9) / 10) __builtin_trap();
        n = n * 10 + (size_t)(in[i] - '0');
    }
    free(in);
    char *out = malloc(n ? n : 1);
    if (!out) __builtin_trap(); /* N too big for memory */
    memset(out, 'a', n);
    return aegis_output(out, n);
}
