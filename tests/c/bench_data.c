/* Data-exchange benchmark of libaegis (link against the release library,
 * as scripts/bench.sh builds bench_calls). Prints one JSON object on stdout:
 *   bytes_1k_ns, bytes_1m_ns          median ns of one round trip of a
 *       1 KiB / 1 MiB payload through aegis_sandbox_call_bytes ("echo" of
 *       bytes-rust.wasm: alloc, write, call, read, free) and aegis_bytes_free
 *   component_1k_ns, component_1m_ns  the same payload as a string through
 *       aegis_sandbox_call_component ("echo-string" of values.wasm),
 *       building the argument value and reading and deleting the result
 * Guests come from scripts/build-guests.sh; run from the repository root.
 * Build and run:
 *   cargo build --release -p aegis-capi
 *   gcc -O2 -Wall -Wextra -Werror -Iinclude -o target/bench/bench_data tests/c/bench_data.c \
 *       -Ltarget/release -laegis -Wl,-rpath,"$PWD/target/release"
 *   target/bench/bench_data [--quick] */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aegis.h"
#include "bench.h"

/* Exits with the error's code name and message if `err` is set. */
static void must(const char *what, aegis_error_t *err) {
    if (!err) return;
    fprintf(stderr, "%s: [%s] %s\n", what, aegis_error_code_name(aegis_error_code(err)),
            aegis_error_message(err));
    exit(1);
}


static aegis_sandbox_t *sandbox_for(aegis_runtime_t *rt, const char *file,
                                    aegis_module_t **module) {
    char path[256];
    snprintf(path, sizeof path, "target/guests/out/%s", file);
    must(path, aegis_module_load_file(rt, path, module));
    aegis_sandbox_t *sb = NULL;
    must("sandbox", aegis_sandbox_new(rt, &sb));
    must("load", aegis_sandbox_load_module(sb, *module));
    return sb;
}

/* One call_bytes round trip of payload[0..len]. */
static void bytes_once(aegis_sandbox_t *sb, const char *payload, size_t len) {
    uint8_t *out = NULL;
    size_t out_len = 0;
    must("echo", aegis_sandbox_call_bytes(sb, "echo", (const uint8_t *)payload, len, &out,
                                          &out_len));
    if (out_len != len || memcmp(out, payload, len) != 0) {
        fprintf(stderr, "echo returned %zu bytes, not the %zu sent\n", out_len, len);
        exit(1);
    }
    aegis_bytes_free(out, out_len);
}

/* One echo-string round trip of payload[0..len]. */
static void component_once(aegis_sandbox_t *sb, const char *payload, size_t len) {
    aegis_witval_t *arg = NULL, *result = NULL;
    must("string", aegis_witval_new_string(payload, len, &arg));
    const aegis_witval_t *args[] = {arg};
    must("echo-string", aegis_sandbox_call_component(sb, "echo-string", args, 1, &result));
    const char *text = NULL;
    size_t out_len = 0;
    if (!aegis_witval_get_string(result, &text, &out_len) || out_len != len ||
        memcmp(text, payload, len) != 0) {
        fprintf(stderr, "echo-string did not return the %zu bytes sent\n", len);
        exit(1);
    }
    aegis_witval_delete(arg);
    aegis_witval_delete(result);
}

/* Median ns of one round trip over `batches` batches of `per_batch`. */
static double median_ns(void (*once)(aegis_sandbox_t *, const char *, size_t), aegis_sandbox_t *sb,
                        const char *payload, size_t len, int per_batch, int batches) {
    double *samples = malloc(sizeof(double) * (size_t)batches);
    for (int b = -1; b < batches; b++) { /* batch -1 is the warm-up */
        double start = now_ns();
        for (int i = 0; i < per_batch; i++) once(sb, payload, len);
        if (b >= 0) samples[b] = (now_ns() - start) / per_batch;
    }
    qsort(samples, (size_t)batches, sizeof(double), cmp_double);
    double m = samples[batches / 2];
    free(samples);
    return m;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int batches = quick ? 5 : 21;
    aegis_runtime_t *rt = NULL;
    must("runtime", aegis_runtime_new(&rt));
    aegis_module_t *bytes_module = NULL, *values_module = NULL;
    aegis_sandbox_t *bytes = sandbox_for(rt, "bytes-rust.wasm", &bytes_module);
    aegis_sandbox_t *values = sandbox_for(rt, "values.wasm", &values_module);

    const size_t KIB = 1024, MIB = 1024 * 1024;
    char *payload = malloc(MIB);
    for (size_t i = 0; i < MIB; i++) payload[i] = (char)('a' + i % 26); /* ASCII: valid UTF-8 */

    double bytes_1k = median_ns(bytes_once, bytes, payload, KIB, quick ? 200 : 2000, batches);
    double bytes_1m = median_ns(bytes_once, bytes, payload, MIB, quick ? 5 : 20, batches);
    double comp_1k = median_ns(component_once, values, payload, KIB, quick ? 200 : 2000, batches);
    double comp_1m = median_ns(component_once, values, payload, MIB, quick ? 5 : 20, batches);

    printf("{\"bytes_1k_ns\": %.0f, \"bytes_1m_ns\": %.0f, \"component_1k_ns\": %.0f, "
           "\"component_1m_ns\": %.0f}\n",
           bytes_1k, bytes_1m, comp_1k, comp_1m);
    free(payload);
    aegis_sandbox_delete(bytes);
    aegis_sandbox_delete(values);
    aegis_module_delete(bytes_module);
    aegis_module_delete(values_module);
    aegis_runtime_delete(rt);
    return 0;
}
