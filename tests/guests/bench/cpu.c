/* CPU-heavy benchmark guest: FNV-1a hashing and a bottom-up merge sort
 * over a pseudo-random buffer. Built both to wasm32-wasi and natively by
 * scripts/bench.sh. Exports `run(n)` for embedders; `main` runs it once with
 * N from argv (default 4 MiB) and prints the checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t state = 12345;
static uint32_t next(void) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static void merge_sort(uint32_t *a, uint32_t *tmp, size_t n) {
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        for (size_t i = 0; i < n; i++) a[i] = tmp[i];
    }
}

#ifdef __wasm__
__attribute__((export_name("run")))
#endif
uint32_t run(uint32_t bytes) {
    size_t n = bytes / 4;
    uint32_t *a = malloc(n * 4), *tmp = malloc(n * 4);
    if (!a || !tmp) return 0;
    state = 12345;
    for (size_t i = 0; i < n; i++) a[i] = next();
    uint32_t h = 2166136261u;
    const uint8_t *p = (const uint8_t *)a;
    for (size_t i = 0; i < n * 4; i++) h = (h ^ p[i]) * 16777619u;
    merge_sort(a, tmp, n);
    for (size_t i = 0; i + 1 < n; i += 97) h ^= a[i] + (a[i] <= a[i + 1]);
    free(a);
    free(tmp);
    return h;
}

int main(int argc, char **argv) {
    uint32_t bytes = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 4u << 20;
    printf("%u\n", run(bytes));
    return 0;
}
