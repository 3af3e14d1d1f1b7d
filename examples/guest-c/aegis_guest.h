/* The guest side of Aegis's bytes convention, for C with wasi-libc.
 *
 * A bytes function is NAME(ptr, len) -> i64: the input is at ptr..ptr+len,
 * and the result packs the output as (out_ptr << 32) | out_len. The host gets
 * the input buffer from aegis_alloc, writes the input, and calls NAME, which
 * owns the input from then on (frees it, keeps it, or returns it). The output
 * belongs to the host until it has copied it; then the host calls
 * aegis_free(out_ptr, out_len) (if out_len > 0). Fail with __builtin_trap().
 *
 * Include this header in exactly one file: it defines the two exports. */
#ifndef AEGIS_GUEST_H
#define AEGIS_GUEST_H

#include <stdint.h>
#include <stdlib.h>

#define AEGIS_EXPORT(name) __attribute__((export_name(#name)))

/* len writable bytes for the host to write an input into. */
AEGIS_EXPORT(aegis_alloc) void *aegis_alloc(size_t len) {
    void *p = malloc(len ? len : 1); /* malloc(0) may return NULL */
    if (!p) __builtin_trap();
    return p;
}

/* Frees a buffer from aegis_alloc or one returned as an output. */
AEGIS_EXPORT(aegis_free) void aegis_free(void *ptr, size_t len) {
    (void)len;
    free(ptr);
}

/* Packs an output buffer (which must come from malloc) as a result. The host
 * frees no empty output, so an empty one is freed here. */
static inline int64_t aegis_output(void *ptr, size_t len) {
    if (len == 0) {
        free(ptr);
        return 0;
    }
    return (int64_t)(((uint64_t)(uintptr_t)ptr << 32) | (uint32_t)len);
}

#endif
