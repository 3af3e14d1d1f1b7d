/* libaegis from C: limits, a host function reading guest memory, a call,
 * metrics, and the typed error of a hostile guest. See README "C". */
#include <stdio.h>
#include <string.h>

#include "aegis.h"

/* env.log(ptr, len): prints a string from guest memory. */
static aegis_error_t *log_string(void *env, aegis_caller_t *caller,
                                 const aegis_val_t *args, size_t nargs,
                                 aegis_val_t *results, size_t nresults) {
    (void)env, (void)nargs, (void)results, (void)nresults;
    char text[256];
    size_t len = (size_t)args[1].of.i32;
    if (len >= sizeof text) return aegis_error_new("string too long");
    aegis_error_t *err =
        aegis_caller_memory_read(caller, (uint32_t)args[0].of.i32, (uint8_t *)text, len);
    if (err) return err; /* traps the guest */
    text[len] = '\0';
    printf("guest says: %s\n", text);
    return NULL;
}

/* Prints and frees an error; returns 1 if there was one. */
static int report(const char *what, aegis_error_t *err) {
    if (!err) return 0;
    printf("%s failed: [%s] %s\n", what, aegis_error_code_name(aegis_error_code(err)),
           aegis_error_message(err));
    aegis_error_delete(err);
    return 1;
}

int main(void) {
    aegis_builder_t *builder = aegis_builder_new();
    aegis_runtime_t *runtime = NULL;
    if (report("memory", aegis_builder_memory_limit(builder, 16 * 1024 * 1024)) ||
        report("fuel", aegis_builder_fuel_limit(builder, 10 * 1000 * 1000)) ||
        report("timeout", aegis_builder_timeout(builder, 2.0)) || /* seconds */
        report("build", aegis_builder_build(builder, &runtime))) /* consumes builder */
        return 1;

    aegis_module_t *module = NULL;
    if (report("load", aegis_module_load_wat(runtime,
            "(module\n"
            "  (import \"env\" \"log\" (func $log (param i32 i32)))\n"
            "  (memory (export \"memory\") 1)\n"
            "  (data (i32.const 0) \"hi from wasm\")\n"
            "  (func (export \"add\") (param i32 i32) (result i32)\n"
            "    (call $log (i32.const 0) (i32.const 12))\n"
            "    (i32.add (local.get 0) (local.get 1)))\n"
            "  (func (export \"spin\") (loop $l (br $l))))",
            &module)))
        return 1;

    aegis_sandbox_t *sandbox = NULL;
    aegis_valkind_t params[2] = {AEGIS_I32, AEGIS_I32};
    if (report("sandbox", aegis_sandbox_new(runtime, &sandbox)) ||
        report("register", aegis_sandbox_register_func(sandbox, "env", "log", params, 2,
                                                       NULL, 0, log_string, NULL, NULL)) ||
        report("instantiate", aegis_sandbox_load_module(sandbox, module)))
        return 1;

    aegis_val_t args[2] = {{.kind = AEGIS_I32, .of.i32 = 7}, {.kind = AEGIS_I32, .of.i32 = 8}};
    aegis_val_t result;
    if (report("add", aegis_sandbox_call(sandbox, "add", args, 2, &result, 1))) return 1;
    aegis_metrics_t metrics;
    aegis_sandbox_last_call_metrics(sandbox, &metrics);
    printf("add(7, 8) = %d, fuel used: %llu\n", result.of.i32,
           (unsigned long long)metrics.fuel_consumed);

    aegis_error_t *err = aegis_sandbox_call_void(sandbox, "spin");
    printf("spin: %s\n", aegis_error_code_name(aegis_error_code(err))); /* out_of_fuel */
    int ok = aegis_error_code(err) == AEGIS_ERROR_OUT_OF_FUEL && result.of.i32 == 15;
    aegis_error_delete(err);

    aegis_sandbox_delete(sandbox);
    aegis_module_delete(module);
    aegis_runtime_delete(runtime);
    return ok ? 0 : 1;
}
