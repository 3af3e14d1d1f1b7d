/* Soak through libaegis: many sandboxes created, called with every limit
 * firing (fuel, memory, stack, traps, failing host functions) and deleted.
 *
 * Natively it runs WARM_UP + ITERATIONS rounds and checks that the resident
 * set size (/proc/self/statm) grows by less than MAX_GROWTH after the
 * warm-up. Under valgrind (scripts/test-c.sh runs it under memcheck, where
 * "definitely lost" bytes fail the run) it runs VALGRIND_ITERATIONS rounds
 * and skips the RSS check, which valgrind's own allocator would distort.
 * AEGIS_SOAK_ITERATIONS overrides the round count. */
#include <stdint.h>
#include <unistd.h>

#include "check.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

enum {
    WARM_UP = 200,
    ITERATIONS = 3000,
    VALGRIND_ITERATIONS = 40,
};
/* Allowed RSS growth over the measured rounds: 2 MiB, while leaking even
 * 1 KiB per sandbox would cost ITERATIONS KiB (about 3 MiB). */
static const long MAX_GROWTH = 2L << 20;

static const char *GUEST =
    "(module\n"
    "  (import \"env\" \"check\" (func $check (param i32) (result i32)))\n"
    "  (memory 1)\n"
    "  (func (export \"add\") (param i32 i32) (result i32)\n"
    "    (call $check (i32.add (local.get 0) (local.get 1))))\n"
    "  (func (export \"spin\") (loop $l (br $l)))\n"
    "  (func (export \"bomb\") (result i32)\n"
    "    (drop (memory.grow (i32.const 64))) (memory.grow (i32.const 64)))\n"
    "  (func (export \"crash\") unreachable)\n"
    "  (func $deep (export \"deep\") (param i32) (result i32)\n"
    "    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))\n"
    "  (func (export \"refused\") (result i32) (call $check (i32.const -1))))\n";

/* Passes non-negative values through; a negative one fails the host call.
 * Its env is a heap counter freed by `free_env`, so a missed finalizer
 * shows up as a leak under valgrind. */
static aegis_error_t *check_value(void *env, aegis_caller_t *caller,
                                  const aegis_val_t *args, size_t nargs,
                                  aegis_val_t *results, size_t nresults) {
    (void)caller, (void)nargs, (void)nresults;
    (*(int *)env)++;
    if (args[0].of.i32 < 0) return aegis_error_new("negative value refused");
    results[0].of.i32 = args[0].of.i32;
    return NULL;
}

static void free_env(void *env) { free(env); }

static long rss_bytes(void) {
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%ld %ld", &size, &resident) == 2);
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* One round: build a sandbox (sometimes through a builder with overrides),
 * register a host function, load, make each call, delete everything. */
static void one_round(aegis_runtime_t *runtime, aegis_module_t *shared, int i) {
    aegis_sandbox_t *sandbox = NULL;
    if (i % 2 == 0) {
        OK(aegis_sandbox_new(runtime, &sandbox));
    } else {
        aegis_builder_t *b = aegis_builder_new();
        OK(aegis_builder_fuel_limit(b, 300000));
        OK(aegis_builder_build_sandbox(b, runtime, &sandbox));
    }
    int *calls = malloc(sizeof *calls);
    CHECK(calls != NULL);
    *calls = 0;
    const aegis_valkind_t i32[] = {AEGIS_I32};
    OK(aegis_sandbox_register_func(sandbox, "env", "check", i32, 1, i32, 1,
                                   check_value, calls, free_env));

    /* Every tenth round uses its own clone of the module handle. */
    aegis_module_t *module = i % 10 == 0 ? aegis_module_clone(shared) : shared;
    OK(aegis_sandbox_load_module(sandbox, module));

    aegis_val_t args[2] = {val_i32(i), val_i32(1)};
    aegis_val_t result = val_i32(0);
    OK(aegis_sandbox_call(sandbox, "add", args, 2, &result, 1));
    CHECK(result.of.i32 == i + 1);
    FAILS(aegis_sandbox_call_void(sandbox, "spin"), AEGIS_ERROR_OUT_OF_FUEL, NULL);
    FAILS(aegis_sandbox_call_void(sandbox, "crash"), AEGIS_ERROR_TRAP, NULL);
    FAILS(aegis_sandbox_call_void(sandbox, "bomb"), AEGIS_ERROR_MEMORY_LIMIT_EXCEEDED, NULL);
    FAILS(aegis_sandbox_call_void(sandbox, "refused"), AEGIS_ERROR_HOST_FUNCTION,
          "negative value refused");
    if (i % 10 == 0) {
        aegis_val_t zero = val_i32(0);
        FAILS(aegis_sandbox_call(sandbox, "deep", &zero, 1, &result, 1),
              AEGIS_ERROR_STACK_OVERFLOW, NULL);
        OK(aegis_sandbox_reset(sandbox));
    }
    /* Wrong argument count: refused before anything runs. */
    FAILS(aegis_sandbox_call(sandbox, "add", args, 1, &result, 1),
          AEGIS_ERROR_SIGNATURE_MISMATCH, NULL);
    CHECK(*calls == 2);
    aegis_sandbox_delete(sandbox); /* runs free_env */
    if (module != shared) aegis_module_delete(module);
}

/* A module compiled and deleted each time: compiled code is released too. */
static void one_module(aegis_runtime_t *runtime, int i) {
    char text[128];
    snprintf(text, sizeof text,
             "(module (func (export \"k\") (result i32) (i32.const %d)))", i);
    aegis_module_t *module = wat(runtime, text);
    aegis_sandbox_t *sandbox = sandbox_with(runtime, module);
    aegis_module_delete(module); /* the sandbox keeps its own reference */
    aegis_val_t result = val_i32(0);
    OK(aegis_sandbox_call(sandbox, "k", NULL, 0, &result, 1));
    CHECK(result.of.i32 == i);
    aegis_sandbox_delete(sandbox);
}

static void round_trip(aegis_runtime_t *runtime, aegis_module_t *module, int i) {
    one_round(runtime, module, i);
    if (i % 20 == 0) one_module(runtime, i);
}

int main(void) {
    int under_valgrind = RUNNING_ON_VALGRIND;
    int rounds = under_valgrind ? VALGRIND_ITERATIONS : ITERATIONS;
    const char *env = getenv("AEGIS_SOAK_ITERATIONS");
    if (env != NULL) rounds = atoi(env);
    int warm_up = under_valgrind ? 0 : WARM_UP;

    aegis_builder_t *builder = aegis_builder_new();
    OK(aegis_builder_memory_limit(builder, 4u << 20));
    OK(aegis_builder_fuel_limit(builder, 200000));
    OK(aegis_builder_stack_limit(builder, 64u << 10)); /* recursion fails fast */
    OK(aegis_builder_timeout(builder, 5.0));
    aegis_runtime_t *runtime = build_runtime(builder);
    aegis_module_t *module = wat(runtime, GUEST);

    for (int i = 0; i < warm_up; i++) round_trip(runtime, module, i);
    long before = rss_bytes();
    for (int i = warm_up; i < warm_up + rounds; i++) round_trip(runtime, module, i);
    long after = rss_bytes();

    aegis_module_delete(module);
    aegis_runtime_delete(runtime);

    long growth = after - before;
    printf("soak: %d rounds: RSS %ld KiB -> %ld KiB (growth %ld KiB)\n",
           warm_up + rounds, before / 1024, after / 1024, growth / 1024);
    if (!under_valgrind && env == NULL) CHECK(growth < MAX_GROWTH);
    return done("soak");
}
