/* The core's vocabulary through C: the options list, options set by name
 * (aegis_builder_set) or from a policy file, the rules the core decides,
 * error details by name, seconds for durations, the busy rule and the
 * proc_exit(0) rule. */
#include <pthread.h>

#include "check.h"

static const char *SPIN =
    "(module (memory (export \"memory\") 1)\n"
    "  (func (export \"spin\") (loop (br 0)))\n"
    "  (func (export \"add\") (param i32 i32) (result i32)\n"
    "    (i32.add (local.get 0) (local.get 1)))\n"
    "  (func (export \"trap\") unreachable))";

/* Index of option `name` in the options list, or -1. */
static long option_index(const char *name) {
    for (size_t i = 0; i < aegis_option_count(); i++)
        if (strcmp(aegis_option_name(i), name) == 0) return (long)i;
    return -1;
}

static void test_options_list(void) {
    size_t n = aegis_option_count();
    CHECK(n >= 24);
    for (size_t i = 0; i < n; i++) {
        CHECK(aegis_option_name(i) != NULL && aegis_option_name(i)[0] != '\0');
        CHECK(aegis_option_doc(i) != NULL && aegis_option_doc(i)[0] != '\0');
        CHECK(aegis_option_default(i) != NULL && aegis_option_unit(i) != NULL);
        aegis_scope_t scope = aegis_option_scope(i);
        CHECK(scope == AEGIS_SCOPE_BOTH || scope == AEGIS_SCOPE_RUNTIME);
    }
    CHECK(aegis_option_name(n) == NULL && aegis_option_doc(n) == NULL);
    CHECK(aegis_option_default(n) == NULL && aegis_option_unit(n) == NULL);
    CHECK(aegis_option_scope(n) == AEGIS_SCOPE_NONE);
    long timeout = option_index("timeout");
    CHECK(timeout >= 0 && strstr(aegis_option_unit((size_t)timeout), "seconds") != NULL);
    CHECK(aegis_option_scope((size_t)option_index("memory_limit")) == AEGIS_SCOPE_BOTH);
    CHECK(aegis_option_scope((size_t)option_index("stack_limit")) == AEGIS_SCOPE_RUNTIME);
    CHECK(aegis_option_scope((size_t)option_index("allowed_modules")) == AEGIS_SCOPE_RUNTIME);
    CHECK(option_index("on_denied") >= 0 && option_index("no_such_option") == -1);
}

/* Options only the generic setter reaches, on a runtime; each is refused on
 * a sandbox by the core, naming it. */
static void test_runtime_options_by_name(void) {
    static const char *const OPTIONS[][2] = {
        {"instance_pool", "4"},
        {"max_module_size", "\"8MiB\""},
        {"module_limits", "{\"functions\": 100, \"block_depth\": 50}"},
        {"wasm_exceptions", "true"},
        {"wasm_gc", "false"},
        {"compile_cache", "\"/tmp/aegis-c-policy-cache\""},
    };
    aegis_builder_t *b = aegis_builder_new();
    for (size_t i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++)
        OK(aegis_builder_set(b, OPTIONS[i][0], OPTIONS[i][1]));
    OK(aegis_builder_set(b, "on_denied", "\"error\""));
    OK(aegis_builder_set(b, "memory_limit", "\"4MiB\""));
    aegis_runtime_t *rt = build_runtime(b);
    aegis_module_t *m = wat(rt, SPIN);
    aegis_module_delete(m);
    for (size_t i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++) {
        aegis_sandbox_t *sb = NULL;
        b = aegis_builder_new();
        OK(aegis_builder_set(b, OPTIONS[i][0], OPTIONS[i][1]));
        aegis_error_t *err = aegis_builder_build_sandbox(b, rt, &sb);
        CHECK(err != NULL && aegis_error_code(err) == AEGIS_ERROR_INVALID_ARGUMENT);
        CHECK(strstr(aegis_error_message(err), OPTIONS[i][0]) != NULL);
        CHECK(strstr(aegis_error_message(err), "runtime option") != NULL);
        aegis_error_delete(err);
        CHECK(sb == NULL);
    }
    aegis_runtime_delete(rt);

    /* A module over the structural limits is refused before compiling. */
    b = aegis_builder_new();
    OK(aegis_builder_set(b, "module_limits", "{\"functions\": 1}"));
    rt = build_runtime(b);
    aegis_module_t *too_big = NULL;
    aegis_error_t *err = aegis_module_load_wat(rt, SPIN, &too_big);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_MODULE_TOO_COMPLEX);
    uint64_t found = 0, limit = 0;
    CHECK(aegis_error_get_u64(err, "found", &found) && found > 1);
    CHECK(aegis_error_get_u64(err, "limit", &limit) && limit == 1);
    CHECK(aegis_error_get_text(err, "what") != NULL);
    aegis_error_delete(err);
    aegis_runtime_delete(rt);
}

/* The core decides: unknown names, bad values, and combinations. */
static void test_the_core_decides(void) {
    aegis_builder_t *b = aegis_builder_new();
    FAILS(aegis_builder_set(b, "memory_limt", "1"), AEGIS_ERROR_INVALID_ARGUMENT,
          "unknown field `memory_limt`");
    FAILS(aegis_builder_set(b, "memory_limit", "\"5 apples\""), AEGIS_ERROR_INVALID_ARGUMENT,
          "apples");
    FAILS(aegis_builder_set(b, "fuel_limit", "not json"), AEGIS_ERROR_INVALID_ARGUMENT, "JSON");
    FAILS(aegis_builder_set(b, "on_denied", "\"sometimes\""), AEGIS_ERROR_INVALID_ARGUMENT,
          NULL);
    aegis_builder_delete(b);
    /* A list of text is accepted here; that each is a digest, when building. */
    b = aegis_builder_new();
    OK(aegis_builder_set(b, "allowed_modules", "[\"zz\"]"));
    aegis_runtime_t *none = NULL;
    FAILS(aegis_builder_build(b, &none), AEGIS_ERROR_INVALID_ARGUMENT, "SHA-256");
    CHECK(none == NULL);

    /* Each is fine alone; the core refuses logging and capture together. */
    b = aegis_builder_new();
    OK(aegis_builder_logging(b, AEGIS_LOGGING_INHERIT, 0));
    OK(aegis_builder_set(b, "capture_output", "true"));
    aegis_runtime_t *rt = NULL;
    FAILS(aegis_builder_build(b, &rt), AEGIS_ERROR_INVALID_ARGUMENT,
          "allow_logging and capture_output");
    CHECK(rt == NULL);
    /* The dedicated logging setter chooses one mode: the last one wins. */
    b = aegis_builder_new();
    OK(aegis_builder_logging(b, AEGIS_LOGGING_INHERIT, 0));
    OK(aegis_builder_logging(b, AEGIS_LOGGING_CAPTURE, 64));
    rt = build_runtime(b);
    aegis_runtime_delete(rt);
    /* `null` puts an option back to its default; a list is replaced whole. */
    b = aegis_builder_new();
    OK(aegis_builder_fuel_limit(b, 5));
    OK(aegis_builder_set(b, "fuel_limit", "null"));
    OK(aegis_builder_allow_read(b, "/nonexistent/aegis-c-policy"));
    OK(aegis_builder_set(b, "allow_read", "[]"));
    rt = build_runtime(b);
    aegis_module_t *m = wat(rt, SPIN);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    aegis_val_t args[2] = {val_i32(2), val_i32(3)}, res;
    OK(aegis_sandbox_call(sb, "add", args, 2, &res, 1)); /* 5 units would not do */
    CHECK(res.of.i32 == 5);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

/* A policy file's text: TOML, or JSON when it starts with `{`. */
static void test_policy_text(void) {
    const char *toml = "fuel_limit = 1000\ntimeout = 2.5\nmemory_limit = \"1MiB\"\n";
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_from_policy(toml, strlen(toml), &rt));
    aegis_module_t *m = wat(rt, SPIN);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    aegis_error_t *err = aegis_sandbox_call_void(sb, "spin");
    CHECK(aegis_error_code(err) == AEGIS_ERROR_OUT_OF_FUEL);
    CHECK(aegis_error_detail_count(err) == 2);
    CHECK(strcmp(aegis_error_detail_name(err, 0), "consumed") == 0);
    CHECK(strcmp(aegis_error_detail_name(err, 1), "limit") == 0);
    CHECK(strcmp(aegis_error_detail_json(err, 1), "1000") == 0);
    CHECK(aegis_error_detail_name(err, 2) == NULL && aegis_error_detail_json(err, 2) == NULL);
    CHECK(strcmp(aegis_error_get(err, "limit"), "1000") == 0);
    uint64_t limit = 0;
    int64_t signed_limit = 0;
    CHECK(aegis_error_get_u64(err, "limit", &limit) && limit == 1000);
    CHECK(aegis_error_get_i64(err, "limit", &signed_limit) && signed_limit == 1000);
    CHECK(aegis_error_get_text(err, "limit") == NULL); /* a number, not text */
    CHECK(strstr(aegis_error_to_json(err), "\"code\":\"out_of_fuel\"") != NULL);
    CHECK(strstr(aegis_error_to_json(err), "\"limit\":1000") != NULL);
    aegis_error_delete(err);
    aegis_sandbox_delete(sb);

    /* A builder from JSON, overridden by a setter, for one sandbox. */
    const char *json = "  {\"fuel_limit\": 500, \"env\": {\"A\": \"1\"}}";
    aegis_builder_t *b = NULL;
    OK(aegis_builder_from_policy(json, strlen(json), &b));
    OK(aegis_builder_fuel_limit(b, 700));
    OK(aegis_builder_build_sandbox(b, rt, &sb));
    OK(aegis_sandbox_load_module(sb, m));
    FAILS(aegis_sandbox_call_void(sb, "spin"), AEGIS_ERROR_OUT_OF_FUEL, "700");
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);

    /* Not NUL-terminated: only `len` bytes are read. */
    const char padded[] = "fuel_limit = 10XXXX";
    OK(aegis_runtime_from_policy(padded, 15, &rt));
    aegis_runtime_delete(rt);
    rt = NULL;
    const char *bad = "memory_limt = 5";
    FAILS(aegis_runtime_from_policy(bad, strlen(bad), &rt), AEGIS_ERROR_INVALID_ARGUMENT,
          "memory_limt");
    FAILS(aegis_runtime_from_policy("{\"timeout\": 0}", 14, &rt), AEGIS_ERROR_INVALID_ARGUMENT,
          "timeout");
    CHECK(rt == NULL);
    FAILS(aegis_builder_from_policy("{", 1, &b), AEGIS_ERROR_INVALID_ARGUMENT, "JSON");
    CHECK(b == NULL);
    OK(aegis_runtime_from_policy(NULL, 0, &rt)); /* empty TOML: every default */
    aegis_runtime_delete(rt);
}

/* Details by name, with seconds for durations. */
static void test_error_details(void) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_no_fuel_limit(b));
    OK(aegis_builder_timeout(b, 0.1));
    aegis_runtime_t *rt = build_runtime(b);
    aegis_module_t *m = wat(rt, SPIN);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    aegis_error_t *err = aegis_sandbox_call_void(sb, "spin");
    CHECK(aegis_error_code(err) == AEGIS_ERROR_TIMEOUT);
    double elapsed = 0, limit = 0;
    CHECK(aegis_error_get_seconds(err, "elapsed", &elapsed) && elapsed >= 0.1 && elapsed < 60);
    CHECK(aegis_error_get_seconds(err, "limit", &limit) && limit == 0.1);
    CHECK(strcmp(aegis_error_get(err, "limit"), "0.1") == 0);
    aegis_error_delete(err);

    err = aegis_sandbox_call_void(sb, "trap");
    CHECK(aegis_error_code(err) == AEGIS_ERROR_TRAP);
    CHECK(strcmp(aegis_error_get_text(err, "trap_code"), "unreachable") == 0);
    CHECK(strcmp(aegis_error_get(err, "trap_code"), "\"unreachable\"") == 0);
    CHECK(aegis_error_get_text(err, "backtrace") != NULL);
    aegis_error_delete(err);

    err = aegis_sandbox_call(sb, "missing", NULL, 0, NULL, 0);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_EXPORT_NOT_FOUND);
    CHECK(strcmp(aegis_error_get_text(err, "name"), "missing") == 0);
    CHECK(aegis_error_get(err, "available")[0] == '[');
    CHECK(strstr(aegis_error_get(err, "available"), "\"add\"") != NULL);
    CHECK(aegis_error_get_text(err, "available") == NULL); /* a list: JSON only */
    aegis_error_delete(err);

    aegis_metrics_t metrics;
    OK(aegis_sandbox_metrics(sb, &metrics));
    CHECK(metrics.wall_time >= 0.1 && metrics.wall_time < 60); /* seconds */
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);

    /* Loading a module not on the allowed list: permission_denied, by name. */
    b = aegis_builder_new();
    char digests[100];
    snprintf(digests, sizeof digests, "[\"%064d\"]", 0);
    OK(aegis_builder_set(b, "allowed_modules", digests));
    rt = build_runtime(b);
    aegis_module_t *refused = NULL;
    err = aegis_module_load_wat(rt, "(module)", &refused);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_PERMISSION_DENIED && refused == NULL);
    CHECK(strcmp(aegis_error_get_text(err, "capability"), "module") == 0);
    CHECK(strcmp(aegis_error_get_text(err, "operation"), "load") == 0);
    CHECK(strncmp(aegis_error_get_text(err, "target"), "sha256:", 7) == 0);
    aegis_error_delete(err);
    aegis_runtime_delete(rt);
}

/* on_denied = "error": a refused capability fails the call. */
static void test_on_denied(void) {
    const char *clock =
        "(module (import \"wasi_snapshot_preview1\" \"clock_time_get\"\n"
        "    (func $now (param i32 i64 i32) (result i32)))\n"
        "  (memory (export \"memory\") 1)\n"
        "  (func (export \"now\") (result i32) (call $now (i32.const 0) (i64.const 0) "
        "(i32.const 8))))";
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));
    aegis_module_t *m = wat(rt, clock);
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_set(b, "on_denied", "\"error\""));
    aegis_sandbox_t *sb = NULL;
    OK(aegis_builder_build_sandbox(b, rt, &sb));
    OK(aegis_sandbox_load_module(sb, m));
    aegis_val_t res;
    aegis_error_t *err = aegis_sandbox_call(sb, "now", NULL, 0, &res, 1);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_PERMISSION_DENIED);
    CHECK(strcmp(aegis_error_get_text(err, "capability"), "clock") == 0);
    CHECK(strcmp(aegis_error_get_text(err, "operation"), "clock_time_get") == 0);
    aegis_error_delete(err);
    aegis_sandbox_delete(sb);
    /* The default ("errno"): the guest gets an error number, the call goes on. */
    sb = sandbox_with(rt, m);
    OK(aegis_sandbox_call(sb, "now", NULL, 0, &res, 1));
    CHECK(aegis_sandbox_denied_recorded(sb) == 1);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

/* ------------------------------------------------------------ busy */

typedef struct {
    aegis_sandbox_t *self;
    aegis_error_code_t reentry, from_thread;
    char message[256];
} busy_env_t;

static void *call_from_thread(void *arg) {
    busy_env_t *e = arg;
    aegis_error_t *err = aegis_sandbox_call_void(e->self, "noop");
    e->from_thread = err != NULL ? aegis_error_code(err) : (aegis_error_code_t)0;
    aegis_error_delete(err);
    return NULL;
}

/* Uses its own sandbox from the callback and from another thread: both are
 * refused at once (a wait here would deadlock: the thread is joined while
 * the call still runs). */
static aegis_error_t *use_own_sandbox(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                                      size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)caller, (void)args, (void)nargs, (void)results, (void)nresults;
    busy_env_t *e = env;
    aegis_error_t *err = aegis_sandbox_call_void(e->self, "noop");
    e->reentry = err != NULL ? aegis_error_code(err) : (aegis_error_code_t)0;
    if (err != NULL) snprintf(e->message, sizeof e->message, "%s", aegis_error_message(err));
    aegis_error_delete(err);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, call_from_thread, e) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    return NULL;
}

static void test_busy(void) {
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));
    aegis_module_t *m = wat(rt, "(module (import \"env\" \"use\" (func $use))\n"
                                "  (func (export \"go\") (call $use)) (func (export \"noop\")))");
    busy_env_t env;
    memset(&env, 0, sizeof env);
    OK(aegis_sandbox_new(rt, &env.self));
    OK(aegis_sandbox_register_func(env.self, "env", "use", NULL, 0, NULL, 0, use_own_sandbox,
                                   &env, NULL));
    OK(aegis_sandbox_load_module(env.self, m));
    OK(aegis_sandbox_call_void(env.self, "go"));
    CHECK(env.reentry == AEGIS_ERROR_BUSY);
    CHECK(env.from_thread == AEGIS_ERROR_BUSY);
    CHECK(strstr(env.message, "sandbox is busy") != NULL);
    OK(aegis_sandbox_call_void(env.self, "noop")); /* free again */
    aegis_sandbox_delete(env.self);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

/* proc_exit(0) is the core's rule: success for an export without results,
 * an `exit` error with status 0 for one with results. */
static void test_proc_exit_zero(void) {
    const char *exits =
        "(module (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
        "  (memory (export \"memory\") 1)\n"
        "  (func (export \"quit\") (call $exit (i32.const 0)))\n"
        "  (func (export \"quit_with_result\") (result i32) (call $exit (i32.const 0))\n"
        "    (i32.const 1)))";
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));
    aegis_module_t *m = wat(rt, exits);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    OK(aegis_sandbox_call(sb, "quit", NULL, 0, NULL, 0));
    OK(aegis_sandbox_call_void(sb, "quit"));
    aegis_val_t res;
    aegis_error_t *err = aegis_sandbox_call(sb, "quit_with_result", NULL, 0, &res, 1);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_EXIT);
    int64_t status = -1;
    CHECK(aegis_error_get_i64(err, "status", &status) && status == 0);
    aegis_error_delete(err);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

int main(void) {
    test_options_list();
    test_runtime_options_by_name();
    test_the_core_decides();
    test_policy_text();
    test_error_details();
    test_on_denied();
    test_busy();
    test_proc_exit_zero();
    return done("test_policy");
}
