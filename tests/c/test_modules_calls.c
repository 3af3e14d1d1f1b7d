/* Loading (WAT, bytes, file), validation, inspection, calls of every value
 * type, call_void, run, reset and metrics. */
#include "check.h"

static const char *CALC =
    "(module\n"
    "  (import \"env\" \"log\" (func $log (param i32 i32)))\n"
    "  (import \"env\" \"mem\" (memory 1))\n"
    "  (memory (export \"memory\") 1 3)\n"
    "  (table (export \"table\") 2 10 funcref)\n"
    "  (global (export \"counter\") (mut i64) (i64.const 0))\n"
    "  (global (export \"answer\") i32 (i32.const 42))\n"
    "  (func (export \"add\") (param i32 i32) (result i32)\n"
    "    (i32.add (local.get 0) (local.get 1)))\n"
    "  (func (export \"mix\") (param i64 f32 f64) (result i64 f32 f64)\n"
    "    (i64.mul (local.get 0) (i64.const 2))\n"
    "    (f32.mul (local.get 1) (f32.const 2))\n"
    "    (f64.neg (local.get 2)))\n"
    "  (func (export \"bump\")\n"
    "    (global.set 0 (i64.add (global.get 0) (i64.const 1))))\n"
    "  (func (export \"get\") (result i64) (global.get 0)))";

static const char *SIMPLE =
    "(module\n"
    "  (global $g (mut i32) (i32.const 0))\n"
    "  (func (export \"add\") (param i32 i32) (result i32)\n"
    "    (i32.add (local.get 0) (local.get 1)))\n"
    "  (func (export \"mix\") (param i64 f32 f64) (result i64 f32 f64)\n"
    "    (i64.mul (local.get 0) (i64.const 2))\n"
    "    (f32.mul (local.get 1) (f32.const 2))\n"
    "    (f64.neg (local.get 2)))\n"
    "  (func (export \"bump\") (global.set $g (i32.add (global.get $g) (i32.const 1))))\n"
    "  (func (export \"get\") (result i32) (global.get $g))\n"
    "  (func (export \"main\") (call 2)))";

/* (module (func (export "seven") (result i32) i32.const 7)) */
static const unsigned char SEVEN_WASM[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60,
    0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x09, 0x01, 0x05, 0x73,
    0x65, 0x76, 0x65, 0x6e, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41,
    0x07, 0x0b};

static void test_inspection(aegis_runtime_t *rt) {
    aegis_module_t *m = wat(rt, CALC);
    CHECK(!aegis_module_is_component(m));
    CHECK(aegis_module_imports_count(m) == 2);
    CHECK(aegis_module_exports_count(m) == 8);

    aegis_import_t imp;
    OK(aegis_module_import(m, 0, &imp));
    CHECK(strcmp(imp.module, "env") == 0 && strcmp(imp.name, "log") == 0);
    CHECK(imp.ty.kind == AEGIS_EXTERN_FUNCTION);
    CHECK(imp.ty.nparams == 2 && imp.ty.params[0] == AEGIS_I32 &&
          imp.ty.params[1] == AEGIS_I32);
    CHECK(imp.ty.nresults == 0 && imp.ty.results == NULL);
    CHECK(strcmp(imp.ty.text, "(i32, i32) -> ()") == 0);
    OK(aegis_module_import(m, 1, &imp));
    CHECK(imp.ty.kind == AEGIS_EXTERN_MEMORY && imp.ty.minimum == 1 &&
          !imp.ty.has_maximum);
    FAILS(aegis_module_import(m, 2, &imp), AEGIS_ERROR_INVALID_ARGUMENT,
          "out of range");

    aegis_export_t exp;
    OK(aegis_module_export(m, 0, &exp));
    CHECK(strcmp(exp.name, "memory") == 0);
    CHECK(exp.ty.kind == AEGIS_EXTERN_MEMORY && exp.ty.minimum == 1 &&
          exp.ty.has_maximum && exp.ty.maximum == 3 && !exp.ty.memory64 &&
          !exp.ty.shared);
    OK(aegis_module_export(m, 1, &exp));
    CHECK(exp.ty.kind == AEGIS_EXTERN_TABLE && exp.ty.minimum == 2 &&
          exp.ty.maximum == 10 && strcmp(exp.ty.element, "funcref") == 0);
    OK(aegis_module_export(m, 2, &exp));
    CHECK(exp.ty.kind == AEGIS_EXTERN_GLOBAL && exp.ty.global_numeric &&
          exp.ty.global_kind == AEGIS_I64 && exp.ty.mutable_);
    OK(aegis_module_export(m, 3, &exp));
    CHECK(exp.ty.kind == AEGIS_EXTERN_GLOBAL && exp.ty.global_kind == AEGIS_I32 &&
          !exp.ty.mutable_);
    OK(aegis_module_export(m, 5, &exp));
    CHECK(strcmp(exp.name, "mix") == 0 && exp.ty.nparams == 3 &&
          exp.ty.nresults == 3);
    CHECK(exp.ty.params[0] == AEGIS_I64 && exp.ty.params[1] == AEGIS_F32 &&
          exp.ty.params[2] == AEGIS_F64);
    CHECK(strcmp(exp.ty.text, "(i64, f32, f64) -> (i64, f32, f64)") == 0);
    FAILS(aegis_module_export(m, 8, &exp), AEGIS_ERROR_INVALID_ARGUMENT, NULL);

    OK(aegis_module_export_find(m, "add", &exp));
    CHECK(strcmp(exp.name, "add") == 0 && exp.ty.kind == AEGIS_EXTERN_FUNCTION);
    FAILS(aegis_module_export_find(m, "nope", &exp),
          AEGIS_ERROR_EXPORT_NOT_FOUND, "nope");

    /* A clone shares the compiled module and outlives the original. */
    aegis_module_t *copy = aegis_module_clone(m);
    CHECK(copy != NULL);
    aegis_module_delete(m);
    CHECK(aegis_module_exports_count(copy) == 8);
    OK(aegis_module_export(copy, 4, &exp));
    CHECK(strcmp(exp.name, "add") == 0);
    aegis_module_delete(copy);
}

static void test_loading(aegis_runtime_t *rt) {
    aegis_module_t *m = NULL;
    OK(aegis_module_load_bytes(rt, SEVEN_WASM, sizeof SEVEN_WASM, &m));
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    aegis_val_t out[1];
    OK(aegis_sandbox_call(sb, "seven", NULL, 0, out, 1));
    CHECK(out[0].kind == AEGIS_I32 && out[0].of.i32 == 7);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);

    /* WAT text through load_bytes works too. */
    OK(aegis_module_load_bytes(rt, (const uint8_t *)SIMPLE, strlen(SIMPLE), &m));
    CHECK(aegis_module_exports_count(m) == 5);
    aegis_module_delete(m);

    /* From a file. */
    char path[] = "/tmp/aegis-c-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(SEVEN_WASM, 1, sizeof SEVEN_WASM, f) == sizeof SEVEN_WASM);
    fclose(f);
    OK(aegis_module_load_file(rt, path, &m));
    CHECK(aegis_module_exports_count(m) == 1);
    aegis_module_delete(m);
    remove(path);
    FAILS(aegis_module_load_file(rt, path, &m), AEGIS_ERROR_IO, path);
    CHECK(m == NULL);

    OK(aegis_runtime_validate(rt, SEVEN_WASM, sizeof SEVEN_WASM));
    OK(aegis_runtime_validate(rt, (const uint8_t *)SIMPLE, strlen(SIMPLE)));
    unsigned char broken[sizeof SEVEN_WASM];
    memcpy(broken, SEVEN_WASM, sizeof broken);
    broken[sizeof broken - 3] = 0xff; /* garbage opcode */
    FAILS(aegis_runtime_validate(rt, broken, sizeof broken),
          AEGIS_ERROR_INVALID_MODULE, NULL);
    FAILS(aegis_module_load_bytes(rt, broken, sizeof broken, &m),
          AEGIS_ERROR_INVALID_MODULE, NULL);
    CHECK(m == NULL);
}

static void test_calls(aegis_runtime_t *rt) {
    aegis_module_t *m = wat(rt, SIMPLE);
    aegis_sandbox_t *sb = sandbox_with(rt, m);

    aegis_val_t args[3] = {val_i32(2), val_i32(40)};
    aegis_val_t res[3];
    OK(aegis_sandbox_call(sb, "add", args, 2, res, 1));
    CHECK(res[0].kind == AEGIS_I32 && res[0].of.i32 == 42);
    args[0] = val_i32(-1);
    args[1] = val_i32(1);
    OK(aegis_sandbox_call(sb, "add", args, 2, res, 1));
    CHECK(res[0].of.i32 == 0);

    args[0] = val_i64(1LL << 40);
    args[1] = val_f32(1.25f);
    args[2] = val_f64(3.5);
    OK(aegis_sandbox_call(sb, "mix", args, 3, res, 3));
    CHECK(res[0].kind == AEGIS_I64 && res[0].of.i64 == (1LL << 41));
    CHECK(res[1].kind == AEGIS_F32 && res[1].of.f32 == 2.5f);
    CHECK(res[2].kind == AEGIS_F64 && res[2].of.f64 == -3.5);

    aegis_metrics_t last, total;
    OK(aegis_sandbox_last_call_metrics(sb, &last));
    CHECK(last.calls == 1 && last.fuel_consumed > 0 && last.host_calls == 0);
    CHECK(last.denied_count == 0);

    OK(aegis_sandbox_call_void(sb, "bump"));
    OK(aegis_sandbox_call_void(sb, "bump"));
    OK(aegis_sandbox_run(sb)); /* main bumps once more */
    OK(aegis_sandbox_call(sb, "get", NULL, 0, res, 1));
    CHECK(res[0].of.i32 == 3);
    OK(aegis_sandbox_metrics(sb, &total));
    CHECK(total.calls == 7);
    CHECK(total.fuel_consumed >= last.fuel_consumed);
    CHECK(total.wall_time > 0);

    /* Reset restores globals, keeps cumulative metrics. */
    OK(aegis_sandbox_reset(sb));
    OK(aegis_sandbox_call(sb, "get", NULL, 0, res, 1));
    CHECK(res[0].of.i32 == 0);
    OK(aegis_sandbox_metrics(sb, &total));
    CHECK(total.calls == 8);

    /* Loading another module replaces the instance. */
    aegis_module_t *seven = NULL;
    OK(aegis_module_load_bytes(rt, SEVEN_WASM, sizeof SEVEN_WASM, &seven));
    OK(aegis_sandbox_load_module(sb, seven));
    aegis_module_delete(seven); /* the sandbox keeps its own reference */
    OK(aegis_sandbox_call(sb, "seven", NULL, 0, res, 1));
    CHECK(res[0].of.i32 == 7);
    OK(aegis_sandbox_reset(sb));
    OK(aegis_sandbox_call(sb, "seven", NULL, 0, res, 1));
    CHECK(res[0].of.i32 == 7);

    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
}

int main(void) {
    CHECK(strcmp(aegis_version(), "0.1.0") == 0);
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));
    test_inspection(rt);
    test_loading(rt);
    test_calls(rt);
    aegis_runtime_delete(rt);
    return done("test_modules_calls");
}
