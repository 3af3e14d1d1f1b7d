/* Every call ends on time: interrupt handles used from other threads (a
 * spinning guest, a guest asleep in WASI poll_oneoff, a host callback),
 * interrupts before a call, handles that outlive their sandbox, host
 * callbacks that overrun the timeout or poll aegis_caller_is_cancelled.
 *
 * Run from the repository root (scripts/test-c.sh does): the sleeping guest
 * is tests/hostile/corpus/poll_sleep.wat. Under valgrind (the script sets
 * AEGIS_UNDER_VALGRIND=1) guest code runs many times slower and threads are
 * serialized, so the upper time bounds are relaxed there; the outcomes and
 * the lower bounds are checked the same way. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "check.h"

/* How far past its limit a call may end natively (as in aegis-core's tests). */
#define SLACK_MS 250
/* The same under valgrind, which runs guest code many times slower and lets
 * one thread run at a time (measured: at most ~120 ms late there). */
#define VALGRIND_SLACK_MS 2000

static int64_t slack_ms = SLACK_MS;

static int64_t now_ms(void) {
    struct timespec t;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t) == 0);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
}

/* Checks that `err` has `code`, that the call took between `min_ms` and
 * `max_ms` (+ slack) by the wall clock, and that the error's own elapsed
 * time agrees; frees `err`. */
static void expect_stop(aegis_error_t *err, aegis_error_code_t code, int64_t took_ms,
                        int64_t min_ms, int64_t max_ms, const char *what) {
    if (err == NULL || aegis_error_code(err) != code) {
        fprintf(stderr, "%s: expected %s, got %s (%s)\n", what, aegis_error_code_name(code),
                err ? aegis_error_code_name(aegis_error_code(err)) : "success",
                err ? aegis_error_message(err) : "");
        exit(1);
    }
    printf("  %s: %s after %lld ms (%s)\n", what, aegis_error_code_name(code),
           (long long)took_ms, aegis_error_message(err));
    CHECK(took_ms >= min_ms);
    CHECK(took_ms <= max_ms + slack_ms);
    double elapsed = 0; /* seconds */
    CHECK(aegis_error_get_seconds(err, "elapsed", &elapsed));
    CHECK((int64_t)(elapsed * 1000) >= min_ms);
    CHECK((int64_t)(elapsed * 1000) <= took_ms);
    aegis_error_delete(err);
}

static aegis_runtime_t *runtime_with(bool fuel, uint64_t timeout_ms) {
    aegis_builder_t *b = aegis_builder_new();
    if (!fuel) OK(aegis_builder_no_fuel_limit(b));
    if (timeout_ms == 0) OK(aegis_builder_no_timeout(b));
    else OK(aegis_builder_timeout(b, (double)timeout_ms / 1000.0));
    return build_runtime(b);
}

static const char *SPIN = "(module (func (export \"spin\") (loop (br 0))) (func (export \"noop\")))";

/* ------------------------------------------------- interrupting a call */

typedef struct {
    aegis_sandbox_t *sandbox;         /* the handle is taken from it, or: */
    aegis_interrupt_handle_t *handle; /* a handle taken before the call */
    int64_t delay_ms;
    int64_t sent_at_ms;
} interrupter_t;

/* Sleeps, then interrupts; with `sandbox` set, it first takes a handle from
 * the sandbox while the sandbox is busy in its call on the main thread. */
static void *interrupter(void *arg) {
    interrupter_t *in = arg;
    sleep_ms(in->delay_ms);
    aegis_interrupt_handle_t *own = NULL;
    if (in->sandbox != NULL) {
        own = aegis_sandbox_interrupt_handle(in->sandbox);
        CHECK(own != NULL);
    }
    in->sent_at_ms = now_ms();
    aegis_interrupt_handle_interrupt(own != NULL ? own : in->handle);
    aegis_interrupt_handle_delete(own);
    return NULL;
}

/* Calls `entry` on `sb` while another thread interrupts it after 200 ms. */
static void interrupt_from_thread(aegis_sandbox_t *sb, const char *entry, bool handle_first) {
    interrupter_t in = {NULL, NULL, 200, 0};
    if (handle_first) in.handle = aegis_sandbox_interrupt_handle(sb);
    else in.sandbox = sb;
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, interrupter, &in) == 0);
    int64_t start = now_ms();
    aegis_error_t *err = aegis_sandbox_call_void(sb, entry);
    int64_t end = now_ms();
    CHECK(pthread_join(thread, NULL) == 0);
    printf("  %s: returned %lld ms after the interrupt\n", entry,
           (long long)(end - in.sent_at_ms));
    /* Prompt after the interrupt was sent (under valgrind the interrupting
     * thread itself may be scheduled late). */
    expect_stop(err, AEGIS_ERROR_INTERRUPTED, end - start, 200, in.sent_at_ms - start, entry);
    /* The request was consumed by that call. */
    if (in.handle != NULL) CHECK(!aegis_interrupt_handle_is_pending(in.handle));
    aegis_interrupt_handle_delete(in.handle);
}

static void interrupts_a_spinning_guest(void) {
    /* No fuel and a 30 s timeout: only the interrupt can end the call soon. */
    aegis_runtime_t *rt = runtime_with(false, 30000);
    aegis_module_t *m = wat(rt, SPIN);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    interrupt_from_thread(sb, "spin", false); /* handle taken while busy */
    interrupt_from_thread(sb, "spin", true);  /* handle taken before */
    OK(aegis_sandbox_call_void(sb, "noop"));  /* the sandbox is usable again */
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

static aegis_module_t *poll_sleep_module(aegis_runtime_t *rt) {
    aegis_module_t *m = NULL;
    OK(aegis_module_load_file(rt, "tests/hostile/corpus/poll_sleep.wat", &m));
    return m;
}

static void interrupts_a_guest_asleep_in_wasi(void) {
    aegis_runtime_t *rt = runtime_with(true, 0); /* no timeout at all */
    aegis_module_t *m = poll_sleep_module(rt);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    interrupt_from_thread(sb, "sleep_forever", true);
    interrupt_from_thread(sb, "sleep_many", false);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

static void wasi_sleeps_end_at_the_timeout(void) {
    aegis_runtime_t *rt = runtime_with(true, 300);
    aegis_module_t *m = poll_sleep_module(rt);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    const char *entries[] = {"sleep_5s", "sleep_forever", "sleep_many"};
    for (size_t i = 0; i < 3; i++) {
        int64_t start = now_ms();
        aegis_error_t *err = aegis_sandbox_call_void(sb, entries[i]);
        expect_stop(err, AEGIS_ERROR_TIMEOUT, now_ms() - start, 300, 300, entries[i]);
    }
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

/* --------------------------------------------- interrupts before a call */

static void an_interrupt_before_a_call_stops_only_that_call(void) {
    aegis_runtime_t *rt = runtime_with(true, 5000);
    aegis_module_t *m = wat(rt, SPIN);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    aegis_interrupt_handle_t *h = aegis_sandbox_interrupt_handle(sb);
    CHECK(h != NULL);
    CHECK(!aegis_interrupt_handle_is_pending(h));
    aegis_interrupt_handle_interrupt(h);
    aegis_interrupt_handle_interrupt(h); /* twice is still one request */
    CHECK(aegis_interrupt_handle_is_pending(h));
    FAILS(aegis_sandbox_call_void(sb, "noop"), AEGIS_ERROR_INTERRUPTED, "interrupted");
    CHECK(!aegis_interrupt_handle_is_pending(h));
    OK(aegis_sandbox_call_void(sb, "noop"));

    /* A call refused before it runs (no such export) leaves the request for
     * the next call that runs guest code. */
    aegis_interrupt_handle_interrupt(h);
    FAILS(aegis_sandbox_call_void(sb, "missing"), AEGIS_ERROR_EXPORT_NOT_FOUND, "missing");
    CHECK(aegis_interrupt_handle_is_pending(h));
    FAILS(aegis_sandbox_call_void(sb, "noop"), AEGIS_ERROR_INTERRUPTED, NULL);
    OK(aegis_sandbox_call_void(sb, "noop"));

    /* The handle survives reset: same sandbox, same handle. */
    OK(aegis_sandbox_reset(sb));
    aegis_interrupt_handle_interrupt(h);
    FAILS(aegis_sandbox_call_void(sb, "noop"), AEGIS_ERROR_INTERRUPTED, NULL);
    OK(aegis_sandbox_call_void(sb, "noop"));

    /* Other sandboxes are not affected. */
    aegis_sandbox_t *other = sandbox_with(rt, m);
    aegis_interrupt_handle_interrupt(h);
    OK(aegis_sandbox_call_void(other, "noop"));
    FAILS(aegis_sandbox_call_void(sb, "noop"), AEGIS_ERROR_INTERRUPTED, NULL);
    aegis_sandbox_delete(other);

    aegis_interrupt_handle_delete(h);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

/* --------------------------------------- handles outliving the sandbox */

typedef struct {
    aegis_interrupt_handle_t *handle;
    int rounds;
} hammer_t;

static void *hammer(void *arg) {
    hammer_t *h = arg;
    for (int i = 0; i < h->rounds; i++) {
        aegis_interrupt_handle_interrupt(h->handle);
        (void)aegis_interrupt_handle_is_pending(h->handle);
    }
    return NULL;
}

static void handles_outlive_their_sandbox(void) {
    aegis_runtime_t *rt = runtime_with(true, 5000);
    aegis_module_t *m = wat(rt, SPIN);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    aegis_interrupt_handle_t *a = aegis_sandbox_interrupt_handle(sb);
    aegis_interrupt_handle_t *b = aegis_sandbox_interrupt_handle(sb);
    CHECK(a != NULL && b != NULL && a != b);
    /* Another thread hammers the handle while the sandbox goes away. */
    hammer_t h = {b, 2000};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, hammer, &h) == 0);
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
    CHECK(pthread_join(thread, NULL) == 0);
    /* Using and freeing the handles afterwards is safe and does nothing. */
    aegis_interrupt_handle_interrupt(a);
    CHECK(aegis_interrupt_handle_is_pending(a));
    aegis_interrupt_handle_delete(a);
    aegis_interrupt_handle_interrupt(b);
    aegis_interrupt_handle_delete(b);
}

static void null_handles_are_ignored(void) {
    CHECK(aegis_sandbox_interrupt_handle(NULL) == NULL);
    aegis_interrupt_handle_interrupt(NULL);
    CHECK(!aegis_interrupt_handle_is_pending(NULL));
    aegis_interrupt_handle_delete(NULL);
    CHECK(!aegis_caller_is_cancelled(NULL));
    double secs = 7;
    CHECK(!aegis_caller_time_remaining(NULL, &secs) && secs == 7);
    CHECK(!aegis_error_get_seconds(NULL, "elapsed", &secs) && secs == 7);
    aegis_error_t *other = aegis_error_new("not a timeout");
    CHECK(!aegis_error_get_seconds(other, "elapsed", &secs) && secs == 7);
    CHECK(!aegis_error_get_seconds(other, NULL, &secs) && secs == 7);
    aegis_error_delete(other);
    CHECK(strcmp(aegis_error_code_name(AEGIS_ERROR_INTERRUPTED), "interrupted") == 0);
    CHECK(strcmp(aegis_error_code_name(AEGIS_ERROR_MODULE_TOO_COMPLEX), "module_too_complex") ==
          0);
    CHECK(AEGIS_ERROR_INTERRUPTED == 15 && AEGIS_ERROR_MODULE_TOO_COMPLEX == 16);
}

/* ---------------------------------------------------- host callbacks */

static const char *BLOCKS =
    "(module (import \"env\" \"block\" (func $block (param i32)))\n"
    "  (func (export \"go\") (call $block (i32.const 2000))))";

typedef struct {
    aegis_sandbox_t *self;
    int polls;
    bool had_deadline;
    double remaining_first; /* seconds left at the first look */
    double remaining_last;  /* seconds left at the last look */
    bool got_handle_while_busy;
} block_env_t;

/* Blocks the guest for args[0] ms without looking at the deadline. */
static aegis_error_t *block_blindly(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                                    size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)env, (void)caller, (void)nargs, (void)results, (void)nresults;
    sleep_ms(args[0].of.i32);
    return NULL; /* success, but too late: the call ends with timeout */
}

/* Blocks for args[0] ms, or until the call is cancelled. */
static aegis_error_t *block_politely(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                                     size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)nargs, (void)results, (void)nresults;
    block_env_t *e = env;
    e->had_deadline = aegis_caller_time_remaining(caller, &e->remaining_first);
    int64_t until = now_ms() + args[0].of.i32;
    while (now_ms() < until && !aegis_caller_is_cancelled(caller)) {
        e->polls++;
        sleep_ms(5);
    }
    if (e->had_deadline) CHECK(aegis_caller_time_remaining(caller, &e->remaining_last));
    return NULL;
}

/* Interrupts its own sandbox through a handle made while the sandbox is busy. */
static aegis_error_t *interrupt_self(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                                     size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)args, (void)nargs, (void)results, (void)nresults;
    block_env_t *e = env;
    aegis_interrupt_handle_t *h = aegis_sandbox_interrupt_handle(e->self);
    e->got_handle_while_busy = h != NULL;
    CHECK(!aegis_caller_is_cancelled(caller));
    aegis_interrupt_handle_interrupt(h);
    CHECK(aegis_caller_is_cancelled(caller));
    aegis_interrupt_handle_delete(h);
    return NULL;
}

static aegis_sandbox_t *blocking_sandbox(aegis_runtime_t *rt, aegis_module_t *m,
                                         aegis_host_callback_t cb, block_env_t *env) {
    aegis_sandbox_t *sb = NULL;
    OK(aegis_sandbox_new(rt, &sb));
    aegis_valkind_t i32 = AEGIS_I32;
    OK(aegis_sandbox_register_func(sb, "env", "block", &i32, 1, NULL, 0, cb, env, NULL));
    OK(aegis_sandbox_load_module(sb, m));
    if (env != NULL) env->self = sb;
    return sb;
}

static void host_callbacks_and_deadlines(void) {
    aegis_runtime_t *rt = runtime_with(true, 300);
    aegis_module_t *m = wat(rt, BLOCKS);

    /* A callback that sleeps 2 s under a 300 ms timeout: it cannot be cut
     * short, but its success does not count: the call ends with timeout. */
    aegis_sandbox_t *sb = blocking_sandbox(rt, m, block_blindly, NULL);
    int64_t start = now_ms();
    aegis_error_t *err = aegis_sandbox_call_void(sb, "go");
    expect_stop(err, AEGIS_ERROR_TIMEOUT, now_ms() - start, 2000, 2000, "sleeping callback");
    aegis_sandbox_delete(sb);

    /* A callback that polls aegis_caller_is_cancelled returns at the deadline. */
    block_env_t env;
    memset(&env, 0, sizeof env);
    sb = blocking_sandbox(rt, m, block_politely, &env);
    start = now_ms();
    err = aegis_sandbox_call_void(sb, "go");
    expect_stop(err, AEGIS_ERROR_TIMEOUT, now_ms() - start, 300, 300, "polling callback");
    CHECK(env.polls > 0);
    CHECK(env.had_deadline);
    CHECK(env.remaining_first > 0 && env.remaining_first <= 0.3);
    CHECK(env.remaining_last == 0);
    aegis_sandbox_delete(sb);

    /* The same callback, interrupted from another thread, without a timeout. */
    aegis_runtime_t *untimed = runtime_with(true, 0);
    aegis_module_t *m2 = wat(untimed, BLOCKS);
    memset(&env, 0, sizeof env);
    sb = blocking_sandbox(untimed, m2, block_politely, &env);
    interrupter_t in = {sb, NULL, 200, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, interrupter, &in) == 0);
    start = now_ms();
    err = aegis_sandbox_call_void(sb, "go");
    int64_t took = now_ms() - start;
    CHECK(pthread_join(thread, NULL) == 0);
    expect_stop(err, AEGIS_ERROR_INTERRUPTED, took, 200, in.sent_at_ms - start,
                "polling callback, interrupted");
    CHECK(!env.had_deadline); /* no timeout: no time remaining to report */
    aegis_sandbox_delete(sb);

    /* A callback may take an interrupt handle of its own (busy) sandbox. */
    memset(&env, 0, sizeof env);
    sb = blocking_sandbox(untimed, m2, interrupt_self, &env);
    FAILS(aegis_sandbox_call_void(sb, "go"), AEGIS_ERROR_INTERRUPTED, NULL);
    CHECK(env.got_handle_while_busy);
    aegis_sandbox_delete(sb);

    aegis_module_delete(m2);
    aegis_runtime_delete(untimed);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

int main(void) {
    const char *vg = getenv("AEGIS_UNDER_VALGRIND");
    if (vg != NULL && strcmp(vg, "1") == 0) slack_ms = VALGRIND_SLACK_MS;
    null_handles_are_ignored();
    an_interrupt_before_a_call_stops_only_that_call();
    handles_outlive_their_sandbox();
    interrupts_a_spinning_guest();
    interrupts_a_guest_asleep_in_wasi();
    wasi_sleeps_end_at_the_timeout();
    host_callbacks_and_deadlines();
    return done("test_interrupt");
}
