/* The CPU-heavy benchmark guest (tests/guests/bench/cpu.c) compiled natively
 * with gcc -O2, timed in-process like the wasm runs: prints the median ns of
 * run(1 MiB) over the batches as JSON. Run by scripts/bench.sh.
 * Usage: bench_cpu_native [--quick] */
#define _POSIX_C_SOURCE 199309L
#define main cpu_main
#include "../guests/bench/cpu.c"
#undef main

#include <string.h>
#include <time.h>
#include "bench.h"


int main(int argc, char **argv) {
    int samples_n = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 5 : 21;
    double samples[21];
    uint32_t checksum = run(1u << 20); /* warm-up */
    for (int i = 0; i < samples_n; i++) {
        double start = now_ns();
        volatile uint32_t sink = run(1u << 20);
        if (sink != checksum) return 1;
        samples[i] = now_ns() - start;
    }
    qsort(samples, (size_t)samples_n, sizeof(double), cmp_double);
    printf("{\"cpu_native_ns\": %.0f, \"checksum\": %u}\n", samples[samples_n / 2], (unsigned)checksum);
    return 0;
}
