/* Every builder capability, observed from inside a WASI guest: output
 * (denied / captured), env, args, clock, directory grants, random seed,
 * network rules, exit status. */
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static const char *WASI =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_write\"\n"
    "    (func $fd_write (param i32 i32 i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"environ_sizes_get\"\n"
    "    (func $env_sizes (param i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"args_sizes_get\"\n"
    "    (func $args_sizes (param i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"clock_time_get\"\n"
    "    (func $clock (param i32 i64 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"fd_prestat_get\"\n"
    "    (func $prestat (param i32 i32) (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"random_get\"\n"
    "    (func $random (param i32 i32) (result i32)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (data (i32.const 64) \"hello from wasi\\n\")\n"
    "  (func $write (param $fd i32)\n"
    "    (i32.store (i32.const 0) (i32.const 64))\n"
    "    (i32.store (i32.const 4) (i32.const 16))\n"
    "    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))\n"
    "  (func (export \"_start\") (call $write (i32.const 1)) (call $write (i32.const 2)))\n"
    "  (func (export \"quit\") (call $exit (i32.const 3)))\n"
    "  (func (export \"quit0\") (call $exit (i32.const 0)))\n"
    "  (func (export \"env_count\") (result i32)\n"
    "    (drop (call $env_sizes (i32.const 200) (i32.const 204))) (i32.load (i32.const 200)))\n"
    "  (func (export \"args_count\") (result i32)\n"
    "    (drop (call $args_sizes (i32.const 200) (i32.const 204))) (i32.load (i32.const 200)))\n"
    "  (func (export \"now\") (result i64)\n"
    "    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 208))) (i64.load (i32.const 208)))\n"
    "  (func (export \"preopen\") (param i32) (result i32) (call $prestat (local.get 0) (i32.const 216)))\n"
    "  (func (export \"rand\") (result i64)\n"
    "    (drop (call $random (i32.const 224) (i32.const 8))) (i64.load (i32.const 224))))";

static int64_t call_i64(aegis_sandbox_t *sb, const char *name) {
    aegis_val_t res;
    OK(aegis_sandbox_call(sb, name, NULL, 0, &res, 1));
    return res.kind == AEGIS_I64 ? res.of.i64 : res.of.i32;
}

static int32_t preopen(aegis_sandbox_t *sb, int fd) {
    aegis_val_t arg = val_i32(fd), res;
    OK(aegis_sandbox_call(sb, "preopen", &arg, 1, &res, 1));
    return res.of.i32;
}

/* A sandbox of rt configured by b (consumed), with the WASI guest loaded. */
static aegis_sandbox_t *configured(aegis_runtime_t *rt, aegis_builder_t *b,
                                   aegis_module_t *m) {
    aegis_sandbox_t *sb = NULL;
    OK(aegis_builder_build_sandbox(b, rt, &sb));
    OK(aegis_sandbox_load_module(sb, m));
    return sb;
}

static void test_defaults_deny(aegis_runtime_t *rt, aegis_module_t *m) {
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    CHECK(aegis_sandbox_denied_recorded(sb) == 0);
    OK(aegis_sandbox_run(sb));
    /* Both writes were refused and recorded. */
    aegis_metrics_t metrics;
    OK(aegis_sandbox_last_call_metrics(sb, &metrics));
    CHECK(metrics.denied_count == 2);
    CHECK(aegis_sandbox_denied_recorded(sb) == 2);
    aegis_denied_t denied;
    OK(aegis_sandbox_denied(sb, 0, &denied));
    CHECK(strcmp(denied.capability, "logging") == 0);
    CHECK(strstr(denied.target, "stdout") != NULL);
    OK(aegis_sandbox_denied(sb, 1, &denied));
    CHECK(strstr(denied.target, "stderr") != NULL && denied.operation[0] != '\0');
    FAILS(aegis_sandbox_denied(sb, 2, &denied), AEGIS_ERROR_INVALID_ARGUMENT,
          "out of range");
    size_t len = 99;
    OK(aegis_sandbox_stdout(sb, NULL, 0, &len));
    CHECK(len == 0);
    CHECK(call_i64(sb, "env_count") == 0);
    CHECK(call_i64(sb, "args_count") == 0);
    CHECK(call_i64(sb, "now") == 0); /* frozen clock */
    CHECK(preopen(sb, 3) == 8);      /* EBADF: no directory granted */
    FAILS(aegis_sandbox_call_void(sb, "quit"), AEGIS_ERROR_EXIT, "3");
    aegis_error_t *err = aegis_sandbox_call_void(sb, "quit");
    int status = -1;
    CHECK(aegis_error_exit_status(err, &status) && status == 3);
    aegis_error_delete(err);
    err = aegis_sandbox_run(NULL);
    CHECK(!aegis_error_exit_status(err, &status) && status == 3);
    aegis_error_delete(err);
    OK(aegis_sandbox_reset(sb));
    OK(aegis_sandbox_call_void(sb, "quit0")); /* exit(0) is success */
    aegis_sandbox_delete(sb);
}

static void test_grants(aegis_runtime_t *rt, aegis_module_t *m) {
    char dir[] = "/tmp/aegis-c-grant-XXXXXX", dir2[] = "/tmp/aegis-c-grant-XXXXXX";
    CHECK(mkdtemp(dir) != NULL && mkdtemp(dir2) != NULL);

    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_logging(b, AEGIS_LOGGING_CAPTURE, 1024));
    OK(aegis_builder_env(b, "GREETING", "hi"));
    OK(aegis_builder_env(b, "NAME", "aegis"));
    const char *argv[] = {"prog", "--flag", "x"};
    OK(aegis_builder_args(b, argv, 3));
    OK(aegis_builder_allow_clock(b));
    OK(aegis_builder_allow_read(b, dir));
    OK(aegis_builder_allow_write(b, dir2));
    OK(aegis_builder_map_dir(b, dir, "/data", AEGIS_DIR_READ_ONLY));
    OK(aegis_builder_allow_net(b, "127.0.0.1:8080"));
    OK(aegis_builder_allow_net(b, "10.0.0.0/8:443"));
    OK(aegis_builder_random_seed(b, 42));
    aegis_sandbox_t *sb = configured(rt, b, m);

    OK(aegis_sandbox_run(sb));
    char buf[64];
    size_t len = 0;
    OK(aegis_sandbox_stdout(sb, (uint8_t *)buf, sizeof buf, &len));
    CHECK(len == 16 && memcmp(buf, "hello from wasi\n", 16) == 0);
    OK(aegis_sandbox_stderr(sb, (uint8_t *)buf, 5, &len));
    CHECK(len == 16 && memcmp(buf, "hello", 5) == 0); /* truncated copy */
    CHECK(call_i64(sb, "env_count") == 2);
    CHECK(call_i64(sb, "args_count") == 3);
    CHECK(call_i64(sb, "now") > 1600000000LL * 1000000000LL);
    CHECK(preopen(sb, 3) == 0 && preopen(sb, 4) == 0 && preopen(sb, 5) == 0);
    CHECK(preopen(sb, 6) == 8);
    int64_t r1 = call_i64(sb, "rand");
    aegis_sandbox_delete(sb);

    /* The same seed gives the same random stream in another sandbox. */
    b = aegis_builder_new();
    OK(aegis_builder_random_seed(b, 42));
    sb = configured(rt, b, m);
    CHECK(call_i64(sb, "rand") == r1);
    aegis_sandbox_delete(sb);

    /* Inherit sends output to this process's stdout/stderr. */
    b = aegis_builder_new();
    OK(aegis_builder_logging(b, AEGIS_LOGGING_INHERIT, 0));
    sb = configured(rt, b, m);
    OK(aegis_sandbox_run(sb));
    OK(aegis_sandbox_stdout(sb, NULL, 0, &len));
    CHECK(len == 0); /* not captured */
    aegis_sandbox_delete(sb);

    /* Denied explicitly. */
    b = aegis_builder_new();
    OK(aegis_builder_logging(b, AEGIS_LOGGING_DENIED, 0));
    sb = configured(rt, b, m);
    OK(aegis_sandbox_run(sb));
    aegis_sandbox_delete(sb);

    /* One guest path granted twice: the core refuses it when building. */
    b = aegis_builder_new();
    OK(aegis_builder_allow_read(b, dir));
    OK(aegis_builder_allow_write(b, dir));
    FAILS(aegis_builder_build_sandbox(b, rt, &sb), AEGIS_ERROR_INVALID_ARGUMENT,
          "granted twice");
    CHECK(sb == NULL);

    /* A grant of a missing directory fails when the sandbox is built. */
    b = aegis_builder_new();
    OK(aegis_builder_allow_read(b, "/nonexistent/aegis-c-test"));
    FAILS(aegis_builder_build_sandbox(b, rt, &sb), AEGIS_ERROR_IO, "nonexistent");
    CHECK(sb == NULL);

    /* Runtime-level grants become every sandbox's defaults. */
    b = aegis_builder_new();
    OK(aegis_builder_env(b, "ONLY", "one"));
    OK(aegis_builder_map_dir(b, dir, "/w", AEGIS_DIR_READ_WRITE));
    aegis_runtime_t *granted = build_runtime(b);
    aegis_module_t *m2 = wat(granted, WASI);
    sb = sandbox_with(granted, m2);
    CHECK(call_i64(sb, "env_count") == 1);
    CHECK(preopen(sb, 3) == 0);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m2);
    aegis_runtime_delete(granted);
    rmdir(dir);
    rmdir(dir2);
}

static void test_bad_settings(void) {
    aegis_builder_t *b = aegis_builder_new();
    FAILS(aegis_builder_allow_net(b, "not a rule"), AEGIS_ERROR_INVALID_ARGUMENT,
          "not a rule");
    FAILS(aegis_builder_allow_net(b, "10.0.0.0/99"), AEGIS_ERROR_INVALID_ARGUMENT,
          "prefix");
    FAILS(aegis_builder_logging(b, 9, 0), AEGIS_ERROR_INVALID_ARGUMENT, "logging");
    FAILS(aegis_builder_map_dir(b, "/tmp", "/t", 5), AEGIS_ERROR_INVALID_ARGUMENT,
          "access");
    FAILS(aegis_builder_args(b, NULL, 2), AEGIS_ERROR_INVALID_ARGUMENT, "argv");
    const char *argv[] = {"ok", NULL};
    FAILS(aegis_builder_args(b, argv, 2), AEGIS_ERROR_INVALID_ARGUMENT, "argv");
    OK(aegis_builder_args(b, NULL, 0));
    aegis_builder_delete(b); /* never built */
}

int main(void) {
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));
    aegis_module_t *m = wat(rt, WASI);
    test_defaults_deny(rt, m);
    test_grants(rt, m);
    test_bad_settings();
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
    return done("test_capabilities");
}
