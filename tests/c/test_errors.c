/* Bad input at the boundary: NULL pointers, invalid UTF-8, malformed
 * modules, missing exports, wrong argument types and counts. Every case is a
 * typed error; nothing crashes. */
#include "check.h"

static const char *GUEST =
    "(module\n"
    "  (memory (export \"memory\") 1)\n"
    "  (func (export \"add\") (param i32 i32) (result i32)\n"
    "    (i32.add (local.get 0) (local.get 1)))\n"
    "  (func (export \"nothing\")))";

static const char BAD_UTF8[] = {'a', (char)0xff, (char)0xfe, 0};

static void test_error_accessors(void) {
    CHECK(aegis_error_code(NULL) == AEGIS_ERROR_INVALID_ARGUMENT);
    CHECK(strcmp(aegis_error_message(NULL), "") == 0);
    CHECK(strcmp(aegis_error_code_name(AEGIS_ERROR_OUT_OF_FUEL), "out_of_fuel") == 0);
    CHECK(strcmp(aegis_error_code_name(AEGIS_ERROR_EXIT), "exit") == 0);
    CHECK(strcmp(aegis_error_code_name(0), "unknown") == 0);
    CHECK(AEGIS_ERROR_INVALID_MODULE == 1 && AEGIS_ERROR_INVALID_ARGUMENT == 13);
    CHECK(AEGIS_ERROR_BUSY == 17 && strcmp(aegis_error_code_name(AEGIS_ERROR_BUSY), "busy") == 0);
    int status = 0;
    CHECK(!aegis_error_exit_status(NULL, &status));
    aegis_error_delete(NULL);

    /* Detail accessors on NULL: empty, never a crash. */
    uint64_t u = 7;
    int64_t i = 7;
    double secs = 7;
    CHECK(aegis_error_detail_count(NULL) == 0);
    CHECK(aegis_error_detail_name(NULL, 0) == NULL);
    CHECK(aegis_error_detail_json(NULL, 0) == NULL);
    CHECK(aegis_error_get(NULL, "limit") == NULL);
    CHECK(aegis_error_get_text(NULL, "name") == NULL);
    CHECK(!aegis_error_get_u64(NULL, "limit", &u) && u == 7);
    CHECK(!aegis_error_get_i64(NULL, "status", &i) && i == 7);
    CHECK(!aegis_error_get_seconds(NULL, "elapsed", &secs) && secs == 7);
    CHECK(strcmp(aegis_error_to_json(NULL), "{}") == 0);

    aegis_error_t *err = aegis_error_new("custom");
    CHECK(aegis_error_code(err) == AEGIS_ERROR_HOST_FUNCTION);
    CHECK(strstr(aegis_error_message(err), "custom") != NULL);
    CHECK(!aegis_error_exit_status(err, &status));
    CHECK(aegis_error_detail_count(err) == 0); /* host_function has no details */
    CHECK(aegis_error_get(err, NULL) == NULL && aegis_error_get(err, BAD_UTF8) == NULL);
    CHECK(!aegis_error_get_u64(err, "limit", NULL));
    CHECK(strstr(aegis_error_to_json(err), "\"code\":\"host_function\"") != NULL);
    aegis_error_delete(err);
    err = aegis_error_new(NULL);
    CHECK(err != NULL);
    aegis_error_delete(err);
    err = aegis_error_new(BAD_UTF8); /* replaced lossily, never rejected */
    CHECK(err != NULL && aegis_error_code(err) == AEGIS_ERROR_HOST_FUNCTION);
    aegis_error_delete(err);
}

static void test_null_arguments(aegis_runtime_t *rt, aegis_module_t *m,
                                aegis_sandbox_t *sb) {
    const aegis_error_code_t INV = AEGIS_ERROR_INVALID_ARGUMENT;
    aegis_runtime_t *rt_out = NULL;
    aegis_module_t *m_out = NULL;
    aegis_sandbox_t *sb_out = NULL;
    aegis_val_t v[2];
    aegis_metrics_t metrics;
    aegis_import_t imp;
    aegis_export_t exp;
    size_t len;

    FAILS(aegis_runtime_new(NULL), INV, "runtime_out");
    FAILS(aegis_runtime_validate(NULL, (const uint8_t *)"x", 1), INV, "runtime");
    FAILS(aegis_runtime_validate(rt, NULL, 4), INV, "bytes");
    FAILS(aegis_runtime_validate(rt, NULL, 0), AEGIS_ERROR_INVALID_MODULE, "empty");

    FAILS(aegis_builder_memory_limit(NULL, 1), INV, "builder");
    FAILS(aegis_builder_fuel_limit(NULL, 1), INV, "builder");
    FAILS(aegis_builder_no_fuel_limit(NULL), INV, "builder");
    FAILS(aegis_builder_timeout(NULL, 1.0), INV, "builder");
    FAILS(aegis_builder_set(NULL, "fuel_limit", "1"), INV, "builder");
    FAILS(aegis_builder_no_timeout(NULL), INV, "builder");
    FAILS(aegis_builder_stack_limit(NULL, 1), INV, "builder");
    FAILS(aegis_builder_table_elements_limit(NULL, 1), INV, "builder");
    FAILS(aegis_builder_allow_read(NULL, "/"), INV, "builder");
    FAILS(aegis_builder_allow_write(NULL, "/"), INV, "builder");
    FAILS(aegis_builder_map_dir(NULL, "/", "/", AEGIS_DIR_READ_ONLY), INV, "builder");
    FAILS(aegis_builder_logging(NULL, AEGIS_LOGGING_DENIED, 0), INV, "builder");
    FAILS(aegis_builder_allow_clock(NULL), INV, "builder");
    FAILS(aegis_builder_env(NULL, "a", "b"), INV, "builder");
    FAILS(aegis_builder_args(NULL, NULL, 0), INV, "builder");
    FAILS(aegis_builder_handle_limit(NULL, 1), INV, "builder");
    FAILS(aegis_builder_allow_net(NULL, "127.0.0.1:1"), INV, "builder");
    FAILS(aegis_builder_random_seed(NULL, 1), INV, "builder");
    FAILS(aegis_builder_build(NULL, &rt_out), INV, "builder");
    FAILS(aegis_builder_build_sandbox(NULL, rt, &sb_out), INV, "builder");
    /* A build with a bad out-pointer still consumes the builder. */
    FAILS(aegis_builder_build(aegis_builder_new(), NULL), INV, "runtime_out");
    FAILS(aegis_builder_build_sandbox(aegis_builder_new(), NULL, &sb_out), INV,
          "runtime");
    FAILS(aegis_builder_build_sandbox(aegis_builder_new(), rt, NULL), INV,
          "sandbox_out");
    aegis_builder_delete(NULL);
    aegis_builder_t *b_out = NULL;
    FAILS(aegis_builder_from_policy(NULL, 3, &b_out), INV, "text");
    FAILS(aegis_builder_from_policy("", 0, NULL), INV, "builder_out");
    FAILS(aegis_builder_from_policy(BAD_UTF8, 3, &b_out), INV, "UTF-8");
    FAILS(aegis_runtime_from_policy(NULL, 3, &rt_out), INV, "text");
    FAILS(aegis_runtime_from_policy("", 0, NULL), INV, "runtime_out");
    CHECK(b_out == NULL && rt_out == NULL);

    aegis_builder_t *b = aegis_builder_new();
    FAILS(aegis_builder_set(b, NULL, "1"), INV, "name");
    FAILS(aegis_builder_set(b, "fuel_limit", NULL), INV, "json_value");
    FAILS(aegis_builder_set(b, BAD_UTF8, "1"), INV, "UTF-8");
    FAILS(aegis_builder_allow_read(b, NULL), INV, "dir");
    FAILS(aegis_builder_allow_read(b, BAD_UTF8), INV, "UTF-8");
    FAILS(aegis_builder_allow_write(b, BAD_UTF8), INV, "UTF-8");
    FAILS(aegis_builder_map_dir(b, "/tmp", NULL, AEGIS_DIR_READ_ONLY), INV, "guest_path");
    FAILS(aegis_builder_env(b, "K", NULL), INV, "value");
    FAILS(aegis_builder_env(b, BAD_UTF8, "v"), INV, "UTF-8");
    FAILS(aegis_builder_allow_net(b, NULL), INV, "rule");
    const char *argv[] = {BAD_UTF8};
    FAILS(aegis_builder_args(b, argv, 1), INV, "UTF-8");
    aegis_builder_delete(b);

    FAILS(aegis_module_load_wat(NULL, "(module)", &m_out), INV, "runtime");
    FAILS(aegis_module_load_wat(rt, NULL, &m_out), INV, "wat");
    FAILS(aegis_module_load_wat(rt, "(module)", NULL), INV, "module_out");
    FAILS(aegis_module_load_wat(rt, BAD_UTF8, &m_out), INV, "UTF-8");
    FAILS(aegis_module_load_bytes(rt, NULL, 3, &m_out), INV, "bytes");
    FAILS(aegis_module_load_bytes(NULL, (const uint8_t *)"x", 1, &m_out), INV, NULL);
    FAILS(aegis_module_load_file(rt, NULL, &m_out), INV, "path");
    FAILS(aegis_module_load_file(rt, BAD_UTF8, &m_out), INV, "UTF-8");
    FAILS(aegis_module_load_file(NULL, "/x", &m_out), INV, "runtime");
    CHECK(m_out == NULL);
    CHECK(aegis_module_clone(NULL) == NULL);
    CHECK(!aegis_module_is_component(NULL));
    CHECK(aegis_module_imports_count(NULL) == 0);
    CHECK(aegis_module_exports_count(NULL) == 0);
    FAILS(aegis_module_import(NULL, 0, &imp), INV, "module");
    FAILS(aegis_module_export(NULL, 0, &exp), INV, "module");
    FAILS(aegis_module_export(m, 0, NULL), INV, "export_out");
    FAILS(aegis_module_import(m, 0, NULL), INV, "import_out");
    FAILS(aegis_module_export_find(m, NULL, &exp), INV, "name");
    FAILS(aegis_module_export_find(m, BAD_UTF8, &exp), INV, "UTF-8");
    aegis_module_delete(NULL);

    FAILS(aegis_sandbox_new(NULL, &sb_out), INV, "runtime");
    FAILS(aegis_sandbox_new(rt, NULL), INV, "sandbox_out");
    FAILS(aegis_sandbox_load_module(NULL, m), INV, "sandbox");
    FAILS(aegis_sandbox_load_module(sb, NULL), INV, "module");
    FAILS(aegis_sandbox_call(NULL, "add", NULL, 0, NULL, 0), INV, "sandbox");
    FAILS(aegis_sandbox_call(sb, NULL, NULL, 0, NULL, 0), INV, "name");
    FAILS(aegis_sandbox_call(sb, BAD_UTF8, NULL, 0, NULL, 0), INV, "UTF-8");
    FAILS(aegis_sandbox_call(sb, "add", NULL, 2, v, 1), INV, "args");
    FAILS(aegis_sandbox_call(sb, "add", v, 0, NULL, 1), INV, "results");
    FAILS(aegis_sandbox_call_void(NULL, "nothing"), INV, "sandbox");
    FAILS(aegis_sandbox_call_void(sb, NULL), INV, "name");
    FAILS(aegis_sandbox_run(NULL), INV, "sandbox");
    FAILS(aegis_sandbox_reset(NULL), INV, "sandbox");
    FAILS(aegis_sandbox_metrics(NULL, &metrics), INV, "sandbox");
    FAILS(aegis_sandbox_metrics(sb, NULL), INV, "metrics_out");
    FAILS(aegis_sandbox_last_call_metrics(NULL, &metrics), INV, "sandbox");
    FAILS(aegis_sandbox_last_call_metrics(sb, NULL), INV, "metrics_out");
    FAILS(aegis_sandbox_stdout(sb, NULL, 0, NULL), INV, "len_out");
    FAILS(aegis_sandbox_stdout(sb, NULL, 10, &len), INV, "buf");
    FAILS(aegis_sandbox_stderr(NULL, NULL, 0, &len), INV, "sandbox");
    aegis_denied_t denied;
    CHECK(aegis_sandbox_denied_recorded(NULL) == 0);
    FAILS(aegis_sandbox_denied(NULL, 0, &denied), INV, "sandbox");
    FAILS(aegis_sandbox_denied(sb, 0, NULL), INV, "denied_out");
    FAILS(aegis_sandbox_denied(sb, 0, &denied), INV, "0 recorded");
    aegis_sandbox_delete(NULL);
    aegis_runtime_delete(NULL);

    /* Caller functions need the handle given to a callback. */
    uint8_t byte = 0;
    size_t size = 0;
    FAILS(aegis_caller_memory_size(NULL, &size), INV, "caller");
    FAILS(aegis_caller_memory_read(NULL, 0, &byte, 1), INV, "caller");
    FAILS(aegis_caller_memory_write(NULL, 0, &byte, 1), INV, "caller");
}

static void test_bad_modules(aegis_runtime_t *rt) {
    aegis_module_t *m = NULL;
    FAILS(aegis_module_load_wat(rt, "(module (func (export \"f\") (result i32)))",
                                &m),
          AEGIS_ERROR_INVALID_MODULE, NULL);
    FAILS(aegis_module_load_wat(rt, "(modul", &m), AEGIS_ERROR_INVALID_MODULE, NULL);
    const uint8_t junk[] = {0x00, 0x61, 0x73, 0x6d, 0x09, 0x00, 0x00, 0x00, 0x42};
    FAILS(aegis_module_load_bytes(rt, junk, sizeof junk, &m),
          AEGIS_ERROR_INVALID_MODULE, NULL);
    FAILS(aegis_module_load_bytes(rt, junk, 0, &m), AEGIS_ERROR_INVALID_MODULE, NULL);
    FAILS(aegis_runtime_validate(rt, junk, sizeof junk), AEGIS_ERROR_INVALID_MODULE,
          NULL);
    CHECK(m == NULL);
}

/* Lengths no real array can have (more than PTRDIFF_MAX bytes) are typed
 * errors, never an abort (debug builds of libaegis used to abort on them). */
static void test_impossible_lengths(aegis_runtime_t *rt, aegis_sandbox_t *sb) {
    const aegis_error_code_t INV = AEGIS_ERROR_INVALID_ARGUMENT;
    aegis_module_t *m = NULL;
    const uint8_t bytes[8] = {0};
    FAILS(aegis_module_load_bytes(rt, bytes, SIZE_MAX, &m), INV, "more than any array");
    FAILS(aegis_runtime_validate(rt, bytes, (size_t)PTRDIFF_MAX + 1), INV, "bytes");
    CHECK(m == NULL);
    aegis_val_t v[2] = {val_i32(1), val_i32(2)}, res;
    FAILS(aegis_sandbox_call(sb, "add", v, SIZE_MAX / 4, &res, 1), INV, "args");
    FAILS(aegis_sandbox_call(sb, "add", v, 2, &res, SIZE_MAX), INV, "results");
    uint8_t buf[4];
    size_t len = 0;
    FAILS(aegis_sandbox_stdout(sb, buf, SIZE_MAX, &len), INV, "buf");
    const aegis_valkind_t kinds[1] = {AEGIS_I32};
    FAILS(aegis_sandbox_register_func(sb, "env", "f", kinds, SIZE_MAX, NULL, 0, NULL, NULL,
                                      NULL),
          INV, "params");
    const char *argv[1] = {"x"};
    aegis_builder_t *b = aegis_builder_new();
    FAILS(aegis_builder_args(b, argv, SIZE_MAX), INV, "argv");
    aegis_builder_delete(b);
}

static void test_bad_calls(aegis_sandbox_t *sb) {
    /* Before any module is loaded. */
    FAILS(aegis_sandbox_call_void(sb, "nothing"), AEGIS_ERROR_INVALID_ARGUMENT,
          "no module");
    FAILS(aegis_sandbox_run(sb), AEGIS_ERROR_INVALID_ARGUMENT, "no module");
    OK(aegis_sandbox_reset(sb)); /* nothing to reset: fine */
}

static void test_wrong_calls(aegis_sandbox_t *sb) {
    aegis_val_t args[2] = {val_i32(1), val_i32(2)}, res[2];
    FAILS(aegis_sandbox_call(sb, "missing", NULL, 0, NULL, 0),
          AEGIS_ERROR_EXPORT_NOT_FOUND, "add");
    FAILS(aegis_sandbox_call(sb, "memory", NULL, 0, NULL, 0),
          AEGIS_ERROR_EXPORT_NOT_FOUND, NULL);
    FAILS(aegis_sandbox_run(sb), AEGIS_ERROR_EXPORT_NOT_FOUND, "_start");
    args[1] = val_f64(2.0);
    FAILS(aegis_sandbox_call(sb, "add", args, 2, res, 1),
          AEGIS_ERROR_SIGNATURE_MISMATCH, "(i32, i32) -> (i32)");
    args[1] = val_i32(2);
    FAILS(aegis_sandbox_call(sb, "add", args, 1, res, 1),
          AEGIS_ERROR_SIGNATURE_MISMATCH, NULL);
    FAILS(aegis_sandbox_call(sb, "add", args, 2, res, 2),
          AEGIS_ERROR_SIGNATURE_MISMATCH, "room for 2");
    FAILS(aegis_sandbox_call(sb, "add", args, 2, NULL, 0),
          AEGIS_ERROR_SIGNATURE_MISMATCH, "room for 0");
    FAILS(aegis_sandbox_call_void(sb, "add"), AEGIS_ERROR_SIGNATURE_MISMATCH, NULL);
    args[0].kind = 1234;
    FAILS(aegis_sandbox_call(sb, "add", args, 2, res, 1),
          AEGIS_ERROR_INVALID_ARGUMENT, "value kind");
    args[0] = val_i32(40);
    OK(aegis_sandbox_call(sb, "add", args, 2, res, 1));
    CHECK(res[0].of.i32 == 42);
}

int main(void) {
    test_error_accessors();
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));
    aegis_module_t *m = wat(rt, GUEST);
    aegis_sandbox_t *sb = NULL;
    OK(aegis_sandbox_new(rt, &sb));
    test_null_arguments(rt, m, sb);
    test_bad_modules(rt);
    test_bad_calls(sb);
    OK(aegis_sandbox_load_module(sb, m));
    test_wrong_calls(sb);
    test_impossible_lengths(rt, sb);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
    return done("test_errors");
}
