/* Timing helpers shared by the C benchmark harnesses (bench_calls.c,
 * bench_data.c, bench_cpu_native.c). */
#ifndef AEGIS_BENCH_H
#define AEGIS_BENCH_H

#include <time.h>

/* The monotonic clock in nanoseconds. */
static inline double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* qsort comparator for doubles, ascending. */
static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
