/* Host functions written in C: arguments and results, env and finalizer,
 * guest memory through the caller, errors that trap the guest. */
#include <ctype.h>

#include "check.h"

typedef struct {
    int32_t offset;
    int calls;
    int finalized;
} counter_env_t;

static aegis_error_t *add_offset(void *env, aegis_caller_t *caller,
                                 const aegis_val_t *args, size_t nargs,
                                 aegis_val_t *results, size_t nresults) {
    (void)caller;
    counter_env_t *c = env;
    if (nargs != 1 || nresults != 1 || args[0].kind != AEGIS_I32 ||
        results[0].kind != AEGIS_I32) {
        return aegis_error_new("unexpected signature");
    }
    c->calls++;
    results[0].of.i32 = args[0].of.i32 + c->offset;
    return NULL;
}

static void finalize_counter(void *env) { ((counter_env_t *)env)->finalized++; }

/* Upper-cases guest bytes [ptr, ptr+len) in place; returns the memory size. */
static aegis_error_t *shout(void *env, aegis_caller_t *caller,
                            const aegis_val_t *args, size_t nargs,
                            aegis_val_t *results, size_t nresults) {
    (void)env;
    (void)nargs;
    (void)nresults;
    char buf[64];
    uint64_t ptr = (uint32_t)args[0].of.i32;
    size_t len = (size_t)args[1].of.i32;
    if (len > sizeof buf) return aegis_error_new("too long");
    aegis_error_t *err = aegis_caller_memory_read(caller, ptr, (uint8_t *)buf, len);
    if (err != NULL) return err; /* ownership passes back to Aegis */
    for (size_t i = 0; i < len; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
    err = aegis_caller_memory_write(caller, ptr, (const uint8_t *)buf, len);
    if (err != NULL) return err;
    size_t size = 0;
    err = aegis_caller_memory_size(caller, &size);
    if (err != NULL) return err;
    results[0].of.i64 = (int64_t)size;
    return NULL;
}

/* read_len(offset, len) / write_len(offset, len): passes a guest-chosen
 * length straight to aegis_caller_memory_read / _write with a small buffer.
 * libaegis checks the range against guest memory before it looks at the
 * buffer, so a huge length is a typed error, never an abort or an overrun. */
static aegis_error_t *read_len(void *env, aegis_caller_t *caller,
                               const aegis_val_t *args, size_t nargs,
                               aegis_val_t *results, size_t nresults) {
    (void)env, (void)nargs, (void)results, (void)nresults;
    uint8_t small[16];
    return aegis_caller_memory_read(caller, (uint64_t)args[0].of.i64, small,
                                    (size_t)args[1].of.i64);
}

static aegis_error_t *write_len(void *env, aegis_caller_t *caller,
                                const aegis_val_t *args, size_t nargs,
                                aegis_val_t *results, size_t nresults) {
    (void)env, (void)nargs, (void)results, (void)nresults;
    static const uint8_t small[16] = {0};
    return aegis_caller_memory_write(caller, (uint64_t)args[0].of.i64, small,
                                     (size_t)args[1].of.i64);
}

static aegis_error_t *fail(void *env, aegis_caller_t *caller,
                           const aegis_val_t *args, size_t nargs,
                           aegis_val_t *results, size_t nresults) {
    (void)env, (void)caller, (void)args, (void)nargs, (void)results, (void)nresults;
    return aegis_error_new("the host refuses");
}

static aegis_error_t *wrong_kind(void *env, aegis_caller_t *caller,
                                 const aegis_val_t *args, size_t nargs,
                                 aegis_val_t *results, size_t nresults) {
    (void)env, (void)caller, (void)args, (void)nargs, (void)nresults;
    results[0].kind = AEGIS_F64; /* declared i32 */
    results[0].of.f64 = 1.0;
    return NULL;
}

static const char *GUEST =
    "(module\n"
    "  (import \"env\" \"add_offset\" (func $add (param i32) (result i32)))\n"
    "  (import \"env\" \"shout\" (func $shout (param i32 i32) (result i64)))\n"
    "  (import \"env\" \"fail\" (func $fail))\n"
    "  (import \"env\" \"wrong_kind\" (func $wrong (result i32)))\n"
    "  (import \"env\" \"read_len\" (func $read_len (param i64 i64)))\n"
    "  (import \"env\" \"write_len\" (func $write_len (param i64 i64)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (data (i32.const 16) \"hello\")\n"
    "  (func (export \"twice\") (param i32) (result i32)\n"
    "    (call $add (call $add (local.get 0))))\n"
    "  (func (export \"shout\") (result i64) (call $shout (i32.const 16) (i32.const 5)))\n"
    "  (func (export \"shout_oob\") (result i64) (call $shout (i32.const 65534) (i32.const 5)))\n"
    "  (func (export \"byte\") (param i32) (result i32) (i32.load8_u (local.get 0)))\n"
    "  (func (export \"fail\") (call $fail))\n"
    "  (func (export \"wrong\") (result i32) (call $wrong))\n"
    "  (func (export \"read_len\") (param i64 i64) (call $read_len (local.get 0) (local.get 1)))\n"
    "  (func (export \"write_len\") (param i64 i64) (call $write_len (local.get 0) (local.get 1))))";

static void register_all(aegis_sandbox_t *sb, counter_env_t *env) {
    aegis_valkind_t i32 = AEGIS_I32, i64 = AEGIS_I64;
    aegis_valkind_t two_i32[2] = {AEGIS_I32, AEGIS_I32};
    OK(aegis_sandbox_register_func(sb, "env", "add_offset", &i32, 1, &i32, 1,
                                   add_offset, env, finalize_counter));
    OK(aegis_sandbox_register_func(sb, "env", "shout", two_i32, 2, &i64, 1,
                                   shout, NULL, NULL));
    OK(aegis_sandbox_register_func(sb, "env", "fail", NULL, 0, NULL, 0, fail,
                                   NULL, NULL));
    OK(aegis_sandbox_register_func(sb, "env", "wrong_kind", NULL, 0, &i32, 1,
                                   wrong_kind, NULL, NULL));
    aegis_valkind_t two_i64[2] = {AEGIS_I64, AEGIS_I64};
    OK(aegis_sandbox_register_func(sb, "env", "read_len", two_i64, 2, NULL, 0,
                                   read_len, NULL, NULL));
    OK(aegis_sandbox_register_func(sb, "env", "write_len", two_i64, 2, NULL, 0,
                                   write_len, NULL, NULL));
}

/* Guest-chosen lengths (2^40, 2^64 - 1, ...) reach the memory functions
 * from a callback: each is a typed error before any buffer is used. */
static void test_guest_chosen_lengths(aegis_sandbox_t *sb) {
    const int64_t lengths[] = {(int64_t)1 << 40, -1 /* SIZE_MAX */, (int64_t)1 << 62,
                               65537};
    const char *entries[] = {"read_len", "write_len"};
    for (size_t e = 0; e < 2; e++) {
        for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
            aegis_val_t args[2] = {val_i64(0), val_i64(lengths[i])};
            FAILS(aegis_sandbox_call(sb, entries[e], args, 2, NULL, 0),
                  AEGIS_ERROR_HOST_FUNCTION, "out of bounds");
            /* An offset past the end, with a length that would wrap around. */
            args[0] = val_i64(-16);
            args[1] = val_i64(32);
            FAILS(aegis_sandbox_call(sb, entries[e], args, 2, NULL, 0),
                  AEGIS_ERROR_HOST_FUNCTION, "out of bounds");
        }
        /* In bounds, and at the very end of memory, works. */
        aegis_val_t args[2] = {val_i64(0), val_i64(16)};
        OK(aegis_sandbox_call(sb, entries[e], args, 2, NULL, 0));
        args[0] = val_i64(65536 - 16);
        OK(aegis_sandbox_call(sb, entries[e], args, 2, NULL, 0));
        args[0] = val_i64(65536);
        args[1] = val_i64(0);
        OK(aegis_sandbox_call(sb, entries[e], args, 2, NULL, 0));
    }
}

static void test_callbacks(aegis_runtime_t *rt, aegis_module_t *m) {
    counter_env_t env = {.offset = 10, .calls = 0, .finalized = 0};
    aegis_sandbox_t *sb = NULL;
    OK(aegis_sandbox_new(rt, &sb));
    register_all(sb, &env);
    OK(aegis_sandbox_load_module(sb, m));

    aegis_val_t arg = val_i32(1), res;
    OK(aegis_sandbox_call(sb, "twice", &arg, 1, &res, 1));
    CHECK(res.of.i32 == 21 && env.calls == 2);
    aegis_metrics_t last;
    OK(aegis_sandbox_last_call_metrics(sb, &last));
    CHECK(last.host_calls == 2);

    /* Guest memory: read, transform, write back, size. */
    OK(aegis_sandbox_call(sb, "shout", NULL, 0, &res, 1));
    CHECK(res.kind == AEGIS_I64 && res.of.i64 == 65536);
    const char *expect = "HELLO";
    for (int i = 0; i < 5; i++) {
        arg = val_i32(16 + i);
        OK(aegis_sandbox_call(sb, "byte", &arg, 1, &res, 1));
        CHECK(res.of.i32 == expect[i]);
    }
    FAILS(aegis_sandbox_call(sb, "shout_oob", NULL, 0, &res, 1),
          AEGIS_ERROR_HOST_FUNCTION, "out of bounds");

    /* An error returned by the callback traps the guest. */
    FAILS(aegis_sandbox_call_void(sb, "fail"), AEGIS_ERROR_HOST_FUNCTION,
          "the host refuses");
    FAILS(aegis_sandbox_call(sb, "wrong", NULL, 0, &res, 1),
          AEGIS_ERROR_HOST_FUNCTION, NULL);

    test_guest_chosen_lengths(sb);

    /* The env survives reset; the finalizer waits for delete. */
    OK(aegis_sandbox_reset(sb));
    arg = val_i32(0);
    OK(aegis_sandbox_call(sb, "twice", &arg, 1, &res, 1));
    CHECK(res.of.i32 == 20 && env.calls == 4);
    CHECK(env.finalized == 0);
    aegis_sandbox_delete(sb);
    CHECK(env.finalized == 1);
}

static void test_registration_errors(aegis_runtime_t *rt, aegis_module_t *m) {
    counter_env_t env = {.offset = 0, .calls = 0, .finalized = 0};
    aegis_valkind_t i32 = AEGIS_I32, bogus = 77;
    aegis_sandbox_t *sb = NULL;
    OK(aegis_sandbox_new(rt, &sb));

    /* A failed registration finalizes env before returning. */
    FAILS(aegis_sandbox_register_func(sb, "env", NULL, &i32, 1, &i32, 1,
                                      add_offset, &env, finalize_counter),
          AEGIS_ERROR_INVALID_ARGUMENT, "name");
    CHECK(env.finalized == 1);
    FAILS(aegis_sandbox_register_func(sb, "env", "add_offset", &bogus, 1, &i32,
                                      1, add_offset, &env, finalize_counter),
          AEGIS_ERROR_INVALID_ARGUMENT, "value kind");
    CHECK(env.finalized == 2);
    FAILS(aegis_sandbox_register_func(sb, "env", "add_offset", &i32, 1, &i32, 1,
                                      NULL, &env, finalize_counter),
          AEGIS_ERROR_INVALID_ARGUMENT, "callback");
    CHECK(env.finalized == 3);
    FAILS(aegis_sandbox_register_func(NULL, "env", "add_offset", &i32, 1, &i32,
                                      1, add_offset, &env, finalize_counter),
          AEGIS_ERROR_INVALID_ARGUMENT, "sandbox");
    CHECK(env.finalized == 4);
    FAILS(aegis_sandbox_register_func(sb, "env", "add_offset", NULL, 1, &i32, 1,
                                      add_offset, &env, NULL),
          AEGIS_ERROR_INVALID_ARGUMENT, "params");

    /* Nothing registered: the guest's imports cannot be linked. */
    FAILS(aegis_sandbox_load_module(sb, m), AEGIS_ERROR_LINK_ERROR, "add_offset");

    /* A host function of the wrong type is a link error too. */
    OK(aegis_sandbox_register_func(sb, "env", "add_offset", NULL, 0, &i32, 1,
                                   add_offset, &env, finalize_counter));
    aegis_valkind_t two_i32[2] = {AEGIS_I32, AEGIS_I32}, i64 = AEGIS_I64;
    OK(aegis_sandbox_register_func(sb, "env", "shout", two_i32, 2, &i64, 1,
                                   shout, NULL, NULL));
    OK(aegis_sandbox_register_func(sb, "env", "fail", NULL, 0, NULL, 0, fail,
                                   NULL, NULL));
    OK(aegis_sandbox_register_func(sb, "env", "wrong_kind", NULL, 0, &i32, 1,
                                   wrong_kind, NULL, NULL));
    FAILS(aegis_sandbox_load_module(sb, m), AEGIS_ERROR_LINK_ERROR, "add_offset");
    aegis_sandbox_delete(sb);
    CHECK(env.finalized == 5);
}

int main(void) {
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));
    aegis_module_t *m = wat(rt, GUEST);
    test_callbacks(rt, m);
    test_registration_errors(rt, m);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
    return done("test_host");
}
