/* libaegis benchmarks run by scripts/bench.sh (linked against the release
 * library). Prints one JSON object on stdout:
 *   call_ns      median ns of aegis_sandbox_call("add", 1, 2)
 *   callback_ns  median ns of one guest->host call (the guest makes 1000)
 *   idle_bytes   resident memory per idle sandbox (module instantiated,
 *                no call running), from /proc/self/statm around N sandboxes
 *   idle_count   N
 *   idle_virtual_bytes  address space reserved per idle sandbox (statm size)
 * Usage: bench_calls [--quick] */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aegis.h"
#include "bench.h"

#define CALLBACKS_PER_CALL 1000

static const char *ADD =
    "(module (memory (export \"memory\") 1)\n"
    "  (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))";

static const char *CALLBACK =
    "(module (import \"env\" \"inc\" (func $inc (param i32) (result i32)))\n"
    "  (func (export \"loop\") (param i32) (result i32) (local i32)\n"
    "    (loop $l (local.set 1 (call $inc (local.get 1)))\n"
    "             (br_if $l (i32.lt_u (local.get 1) (local.get 0))))\n"
    "    (local.get 1)))";

/* Exits with the error's code name and message if `err` is set. */
static void must(const char *what, aegis_error_t *err) {
    if (!err) return;
    fprintf(stderr, "%s: [%s] %s\n", what, aegis_error_code_name(aegis_error_code(err)),
            aegis_error_message(err));
    exit(1);
}

static aegis_error_t *inc(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                          size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)env, (void)caller, (void)nargs, (void)nresults;
    results[0].kind = AEGIS_I32;
    results[0].of.i32 = args[0].of.i32 + 1;
    return NULL;
}


/* Median ns of one op over `batches` batches of `per_batch` calls of `name`. */
static double median_ns(aegis_sandbox_t *sb, const char *name, aegis_val_t *args, size_t nargs,
                        int32_t expect, int per_batch, int batches, int per_op) {
    double *samples = malloc(sizeof(double) * (size_t)batches);
    aegis_val_t result;
    for (int b = -1; b < batches; b++) { /* batch -1 is the warm-up */
        double start = now_ns();
        for (int i = 0; i < per_batch; i++) {
            must(name, aegis_sandbox_call(sb, name, args, nargs, &result, 1));
            if (result.of.i32 != expect) {
                fprintf(stderr, "%s returned %d, expected %d\n", name, result.of.i32, expect);
                exit(1);
            }
        }
        if (b >= 0) samples[b] = (now_ns() - start) / ((double)per_batch * per_op);
    }
    qsort(samples, (size_t)batches, sizeof(double), cmp_double);
    double m = samples[batches / 2];
    free(samples);
    return m;
}

/* Resident (`resident`) or mapped (`!resident`) bytes of this process. */
static long statm_bytes(int resident_wanted) {
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2) {
        fprintf(stderr, "cannot read /proc/self/statm\n");
        exit(1);
    }
    fclose(f);
    return (resident_wanted ? resident : size) * 4096L;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int batches = quick ? 5 : 31;
    aegis_runtime_t *runtime = NULL;
    must("runtime", aegis_runtime_new(&runtime));
    aegis_module_t *add = NULL, *callback = NULL;
    must("load add", aegis_module_load_wat(runtime, ADD, &add));
    must("load callback", aegis_module_load_wat(runtime, CALLBACK, &callback));

    aegis_sandbox_t *sb = NULL;
    must("sandbox", aegis_sandbox_new(runtime, &sb));
    must("instantiate add", aegis_sandbox_load_module(sb, add));
    aegis_val_t args[2] = {{.kind = AEGIS_I32, .of.i32 = 1}, {.kind = AEGIS_I32, .of.i32 = 2}};
    double call_ns = median_ns(sb, "add", args, 2, 3, 20000, batches, 1);
    aegis_sandbox_delete(sb);

    aegis_sandbox_t *cb = NULL;
    aegis_valkind_t i32 = AEGIS_I32;
    must("sandbox", aegis_sandbox_new(runtime, &cb));
    must("register", aegis_sandbox_register_func(cb, "env", "inc", &i32, 1, &i32, 1, inc, NULL, NULL));
    must("instantiate callback", aegis_sandbox_load_module(cb, callback));
    aegis_val_t n = {.kind = AEGIS_I32, .of.i32 = CALLBACKS_PER_CALL};
    double callback_ns =
        median_ns(cb, "loop", &n, 1, CALLBACKS_PER_CALL, 50, batches, CALLBACKS_PER_CALL);
    aegis_sandbox_delete(cb);

    /* Idle sandboxes: create N with the module instantiated, measure RSS growth. */
    int count = quick ? 100 : 1000;
    aegis_sandbox_t **idle = calloc((size_t)count, sizeof *idle);
    long before = statm_bytes(1), vbefore = statm_bytes(0);
    for (int i = 0; i < count; i++) {
        must("idle sandbox", aegis_sandbox_new(runtime, &idle[i]));
        must("idle instantiate", aegis_sandbox_load_module(idle[i], add));
    }
    long after = statm_bytes(1), vafter = statm_bytes(0);
    for (int i = 0; i < count; i++) aegis_sandbox_delete(idle[i]);
    free(idle);

    printf("{\"call_ns\": %.1f, \"callback_ns\": %.2f, \"idle_bytes\": %ld, \"idle_count\": %d, "
           "\"idle_virtual_bytes\": %ld}\n",
           call_ns, callback_ns, (after - before) / count, count, (vafter - vbefore) / count);
    aegis_module_delete(add);
    aegis_module_delete(callback);
    aegis_runtime_delete(runtime);
    return 0;
}
