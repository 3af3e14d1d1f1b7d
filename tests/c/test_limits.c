/* Hostile guests against each limit: fuel, timeout, memory, stack, tables,
 * and traps. Each failure has its stable code and the sandbox stays usable. */
#include <math.h>

#include "check.h"

static const char *HOSTILE =
    "(module\n"
    "  (memory (export \"memory\") 1)\n"
    "  (table 1 funcref)\n"
    "  (func (export \"spin\") (loop $l (br $l)))\n"
    "  (func $down (export \"recurse\") (param i32) (result i32)\n"
    "    (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))\n"
    "  (func (export \"bomb\") (result i32)\n"
    "    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))\n"
    "    (i32.const -1))\n"
    "  (func (export \"grow_table\") (result i32)\n"
    "    (table.grow 0 (ref.null func) (i32.const 100000)))\n"
    "  (func (export \"trap\") unreachable)\n"
    "  (func (export \"oob\") (result i32) (i32.load (i32.const 0x7ffffff0)))\n"
    "  (func (export \"div0\") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))\n"
    "  (func (export \"ok\") (result i32) (i32.const 1)))";

static void expect_still_usable(aegis_sandbox_t *sb) {
    aegis_val_t res[1];
    OK(aegis_sandbox_reset(sb));
    OK(aegis_sandbox_call(sb, "ok", NULL, 0, res, 1));
    CHECK(res[0].of.i32 == 1);
}

static void test_fuel(void) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_fuel_limit(b, 100000));
    aegis_runtime_t *rt = build_runtime(b);
    aegis_module_t *m = wat(rt, HOSTILE);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    FAILS(aegis_sandbox_call_void(sb, "spin"), AEGIS_ERROR_OUT_OF_FUEL, "fuel");
    aegis_metrics_t last;
    OK(aegis_sandbox_last_call_metrics(sb, &last));
    CHECK(last.fuel_consumed == 100000 && last.calls == 1);
    expect_still_usable(sb);
    aegis_sandbox_delete(sb);

    /* A per-sandbox override of the fuel budget. */
    b = aegis_builder_new();
    OK(aegis_builder_fuel_limit(b, 5000));
    OK(aegis_builder_build_sandbox(b, rt, &sb));
    OK(aegis_sandbox_load_module(sb, m));
    FAILS(aegis_sandbox_call_void(sb, "spin"), AEGIS_ERROR_OUT_OF_FUEL, "5000");
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

static void test_timeout(void) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_no_fuel_limit(b));
    OK(aegis_builder_timeout(b, 0.2)); /* seconds */
    aegis_runtime_t *rt = build_runtime(b);
    aegis_module_t *m = wat(rt, HOSTILE);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    FAILS(aegis_sandbox_call_void(sb, "spin"), AEGIS_ERROR_TIMEOUT, "timeout");
    aegis_metrics_t last;
    OK(aegis_sandbox_last_call_metrics(sb, &last));
    CHECK(last.wall_time >= 0.2); /* seconds */
    CHECK(last.fuel_consumed == 0);
    expect_still_usable(sb);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);

    /* Without either budget the runtime still builds (a trusted guest). */
    b = aegis_builder_new();
    OK(aegis_builder_no_fuel_limit(b));
    OK(aegis_builder_no_timeout(b));
    rt = build_runtime(b);
    /* ...but a sandbox cannot ask for a timeout the engine was built without. */
    b = aegis_builder_new();
    OK(aegis_builder_timeout(b, 0.01));
    FAILS(aegis_builder_build_sandbox(b, rt, &sb), AEGIS_ERROR_INVALID_ARGUMENT,
          "without timeouts");
    CHECK(sb == NULL);
    aegis_runtime_delete(rt);

    /* A timeout must be a positive, finite number of seconds. */
    b = aegis_builder_new();
    FAILS(aegis_builder_timeout(b, 0), AEGIS_ERROR_INVALID_ARGUMENT, "timeout");
    FAILS(aegis_builder_timeout(b, -1.5), AEGIS_ERROR_INVALID_ARGUMENT, "seconds");
    FAILS(aegis_builder_timeout(b, NAN), AEGIS_ERROR_INVALID_ARGUMENT, "timeout");
    OK(aegis_builder_timeout(b, 0.25));
    rt = build_runtime(b);
    aegis_runtime_delete(rt);
    b = aegis_builder_new(); /* by name, the core checks it when building */
    OK(aegis_builder_set(b, "timeout", "0"));
    FAILS(aegis_builder_build(b, &rt), AEGIS_ERROR_INVALID_ARGUMENT, "timeout");
    CHECK(rt == NULL);
}

static void test_memory(void) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_memory_limit(b, 4u * 1024u * 1024u));
    aegis_runtime_t *rt = build_runtime(b);
    aegis_module_t *m = wat(rt, HOSTILE);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    FAILS(aegis_sandbox_call_void(sb, "bomb"), AEGIS_ERROR_MEMORY_LIMIT_EXCEEDED,
          "memory");
    aegis_metrics_t last;
    OK(aegis_sandbox_last_call_metrics(sb, &last));
    CHECK(last.memory_peak <= 4u * 1024u * 1024u && last.memory_peak > 65536);
    expect_still_usable(sb);
    aegis_sandbox_delete(sb);

    /* A module whose initial memory is over the limit fails to load. */
    b = aegis_builder_new();
    OK(aegis_builder_memory_limit(b, 1000));
    OK(aegis_builder_build_sandbox(b, rt, &sb));
    FAILS(aegis_sandbox_load_module(sb, m), AEGIS_ERROR_MEMORY_LIMIT_EXCEEDED, NULL);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

static void test_tables(void) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_table_elements_limit(b, 1000));
    aegis_runtime_t *rt = build_runtime(b);
    aegis_module_t *m = wat(rt, HOSTILE);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    FAILS(aegis_sandbox_call_void(sb, "grow_table"),
          AEGIS_ERROR_MEMORY_LIMIT_EXCEEDED, "table");
    expect_still_usable(sb);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

static void test_stack(void) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_stack_limit(b, 64 * 1024));
    aegis_runtime_t *rt = build_runtime(b);
    aegis_module_t *m = wat(rt, HOSTILE);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    aegis_val_t arg = val_i32(0), res;
    FAILS(aegis_sandbox_call(sb, "recurse", &arg, 1, &res, 1),
          AEGIS_ERROR_STACK_OVERFLOW, "stack");
    expect_still_usable(sb);
    aegis_sandbox_delete(sb);

    /* The stack is engine-wide: the core refuses it on a sandbox, naming it. */
    b = aegis_builder_new();
    OK(aegis_builder_stack_limit(b, 128 * 1024));
    FAILS(aegis_builder_build_sandbox(b, rt, &sb), AEGIS_ERROR_INVALID_ARGUMENT,
          "stack_limit is a runtime option");
    aegis_module_delete(m);
    aegis_runtime_delete(rt);

    b = aegis_builder_new();
    OK(aegis_builder_stack_limit(b, 100));
    FAILS(aegis_builder_build(b, &rt), AEGIS_ERROR_INVALID_ARGUMENT, "out of range");
}

static void test_traps(void) {
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));
    aegis_module_t *m = wat(rt, HOSTILE);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    FAILS(aegis_sandbox_call_void(sb, "trap"), AEGIS_ERROR_TRAP, "unreachable");
    aegis_val_t res, arg = val_i32(0);
    FAILS(aegis_sandbox_call(sb, "oob", NULL, 0, &res, 1), AEGIS_ERROR_TRAP,
          "out of bounds");
    FAILS(aegis_sandbox_call(sb, "div0", &arg, 1, &res, 1), AEGIS_ERROR_TRAP,
          "divide by zero");
    arg = val_i32(1);
    OK(aegis_sandbox_call(sb, "div0", &arg, 1, &res, 1));
    CHECK(res.of.i32 == 1);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

int main(void) {
    test_fuel();
    test_timeout();
    test_memory();
    test_tables();
    test_stack();
    test_traps();
    return done("test_limits");
}
