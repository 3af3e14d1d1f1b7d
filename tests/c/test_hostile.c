/* The hostile-guest corpus (tests/hostile/expectations.tsv) through the C API.
 *
 * Every case is built with the builder API, run, and its outcome compared
 * with the expectation; the observed outcomes go to target/hostile/c.tsv.
 * Run from the repository root (scripts/test-c.sh does), or pass the root as
 * the first argument.
 *
 * Entries (see the file's header): `_run`, `-`, an export called without
 * arguments, `bytes:NAME` / `str:NAME` (aegis_sandbox_call_bytes /
 * aegis_sandbox_call_str with the input "hello aegis") and `wit:NAME` /
 * `wit:NAME:TEXT` (aegis_sandbox_call_component without arguments, or with
 * the one string TEXT); option `result_limit` is aegis_builder_result_limit.
 *
 * One runtime serves every case (modules are compiled once per runtime and
 * reused); each case's options are per-sandbox overrides applied with
 * aegis_builder_build_sandbox. `stack=N` and `no_fuel` are engine-wide (a
 * runtime without fuel metering compiles different code), so such a case
 * gets a runtime of its own, as in the Rust runner.
 *
 * The `aegis_test` host functions are C callbacks. `panic`: C has no
 * exceptions, so the callback returns an error (host_function); a callback
 * that really crashes takes the process with it, which is outside what a
 * sandbox can contain (crashing_callback_is_out_of_scope shows it in a
 * child process). `reenter`: the callback calls aegis_sandbox_call on the
 * very sandbox that is running it; the core's busy rule refuses it at once
 * (AEGIS_ERROR_BUSY) and the callback returns that error, so the outer call
 * ends in host_function.
 *
 * With AEGIS_HOSTILE_QUICK=1 (the valgrind pass of scripts/test-c.sh) the
 * cases listed in SLOW_CASES are skipped and no report is written: they
 * are the ones whose cost grows with valgrind's slowdown of JIT code (a
 * 50 MB output flood, 100 000 file opens, loops that spin until a fuel
 * budget or a timeout, recursion to the stack limit, WASI 0.2 floods
 * metered up to a large fuel budget), and the native pass
 * already checks their outcome. null_indirect_call is
 * skipped there too (see SLOW_CASES).
 *
 * A case expecting `timeout` must also end on time: natively, its call may
 * run at most TIMEOUT_SLACK_MS past its `timeout_ms` (guests that sleep in
 * WASI included). The corpus writes timeouts in milliseconds; the C API
 * takes seconds (aegis_builder_timeout). Under valgrind (quick mode) only the outcome is checked. */
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MAX_CASES 128
#define MAX_OPTIONS 16
#define MAX_ARGS 16
#define MAX_MODULES 64
/* How far past its timeout a case expecting `timeout` may end (natively). */
#define TIMEOUT_SLACK_MS 250

static const char *SLOW_CASES[] = {
    "infinite_loop",     "infinite_loop_timeout", "busy_loop_with_calls",
    "busy_loop_timeout", "stdout_flood",          "fd_exhaustion",
    "deep_recursion",    "recursion_with_locals", "mutual_recursion",
    /* 200 million fuel units of metered WASI 0.2 host work: about 1.5 s
     * natively, 45 s or more under valgrind, past the default 30 s timeout. */
    "random_flood_p2",   "write_flood_p2",
    /* Not slow but out of valgrind's reach: wasmtime catches a call through
     * a null table entry as a fault at a near-NULL address, and under
     * valgrind that fault is not handed back as a trap (the process gets
     * SIGSEGV); natively it is a clean `trap`. */
    "null_indirect_call",
    NULL,
};

typedef struct {
    char *key;
    char *value; /* "" when the option has no value */
} option_t;

typedef struct {
    char *name, *module, *entry, *expect;
    option_t options[MAX_OPTIONS];
    size_t noptions;
} hostile_case_t;

/* A scratch directory next to a secret file no case may reach. */
typedef struct {
    char root[64];
    char dir[96];
    char secret[96];
} scratch_t;

/* A module compiled by one runtime, reused by later cases. */
typedef struct {
    const aegis_runtime_t *runtime;
    char *path;
    aegis_module_t *module;
} cached_module_t;

static cached_module_t module_cache[MAX_MODULES];
static size_t cached = 0;

/* The code the re-entrant aegis_sandbox_call got (0: never called). */
static aegis_error_code_t reenter_inner_code = 0;

/* ------------------------------------------------------------ parsing */

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    CHECK(size >= 0);
    rewind(f);
    char *text = malloc((size_t)size + 1);
    CHECK(text != NULL);
    CHECK(fread(text, 1, (size_t)size, f) == (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

/* Splits `text` in place at `sep`; returns the number of fields stored. */
static size_t split(char *text, char sep, char **fields, size_t max) {
    size_t n = 0;
    char *start = text;
    for (char *p = text;; p++) {
        if (*p == sep || *p == '\0') {
            bool end = *p == '\0';
            *p = '\0';
            if (n < max) fields[n] = start;
            n++;
            if (end) break;
            start = p + 1;
        }
    }
    return n;
}

/* Parses the expectations file (kept alive in `text`, which it edits). */
static size_t parse_cases(char *text, hostile_case_t *cases) {
    size_t count = 0;
    char *line = text;
    while (line != NULL && *line != '\0') {
        char *next = strchr(line, '\n');
        if (next != NULL) *next++ = '\0';
        if (line[0] != '#' && line[0] != '\0') {
            char *f[5];
            if (split(line, '\t', f, 5) != 5) {
                fprintf(stderr, "bad expectation line: %s\n", line);
                exit(1);
            }
            CHECK(count < MAX_CASES);
            hostile_case_t *c = &cases[count++];
            memset(c, 0, sizeof *c);
            c->name = f[0], c->module = f[1], c->entry = f[2], c->expect = f[4];
            if (strcmp(f[3], "-") != 0) {
                char *opts[MAX_OPTIONS];
                c->noptions = split(f[3], ',', opts, MAX_OPTIONS);
                CHECK(c->noptions <= MAX_OPTIONS);
                for (size_t i = 0; i < c->noptions; i++) {
                    char *eq = strchr(opts[i], '=');
                    c->options[i].key = opts[i];
                    c->options[i].value = eq != NULL ? eq + 1 : opts[i] + strlen(opts[i]);
                    if (eq != NULL) *eq = '\0';
                }
            }
        }
        line = next;
    }
    return count;
}

/* `text` with every "$SCRATCH" replaced by `dir` (caller frees). */
static char *substitute(const char *text, const char *dir) {
    size_t cap = strlen(text) * (strlen(dir) + 1) + 1, used = 0;
    char *out = malloc(cap);
    CHECK(out != NULL);
    while (*text != '\0') {
        if (strncmp(text, "$SCRATCH", 8) == 0) {
            memcpy(out + used, dir, strlen(dir));
            used += strlen(dir);
            text += 8;
        } else {
            out[used++] = *text++;
        }
    }
    out[used] = '\0';
    return out;
}

/* ------------------------------------------------------------ scratch */

static void write_file(const char *path, const char *content) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fputs(content, f) >= 0);
    CHECK(fclose(f) == 0);
}

static void make_scratch(scratch_t *s) {
    snprintf(s->root, sizeof s->root, "/tmp/aegis-hostile-c.XXXXXX");
    CHECK(mkdtemp(s->root) != NULL);
    snprintf(s->dir, sizeof s->dir, "%s/scratch", s->root);
    snprintf(s->secret, sizeof s->secret, "%s/secret.txt", s->root);
    CHECK(mkdir(s->dir, 0700) == 0);
    char inside[128], link[128];
    snprintf(inside, sizeof inside, "%s/inside.txt", s->dir);
    snprintf(link, sizeof link, "%s/link-out", s->dir);
    write_file(inside, "inside");
    write_file(s->secret, "TOP SECRET");
    CHECK(symlink("../secret.txt", link) == 0);
}

static bool secret_intact(const scratch_t *s) {
    char *text = read_text(s->secret);
    bool intact = text != NULL && strcmp(text, "TOP SECRET") == 0;
    free(text);
    return intact;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_scratch(const scratch_t *s) {
    CHECK(nftw(s->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

/* ------------------------------------------------------- host functions */

static aegis_error_t *host_ok(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                              size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)env, (void)caller, (void)nargs, (void)nresults;
    results[0].of.i32 = args[0].of.i32 + 1;
    return NULL;
}

static aegis_error_t *host_fail(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                                size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)env, (void)caller, (void)args, (void)nargs, (void)results, (void)nresults;
    return aegis_error_new("refused by the host");
}

/* The C stand-in for a panicking host function: C cannot unwind, so it fails. */
static aegis_error_t *host_panic(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                                 size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)env, (void)caller, (void)args, (void)nargs, (void)results, (void)nresults;
    return aegis_error_new("host function panicked on purpose");
}

/* Calls `noop` on the sandbox that is running this callback (env). */
static aegis_error_t *host_reenter(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                                   size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)caller, (void)args, (void)nargs, (void)results, (void)nresults;
    aegis_sandbox_t *same = env;
    aegis_error_t *err = aegis_sandbox_call(same, "noop", NULL, 0, NULL, 0);
    reenter_inner_code = err != NULL ? aegis_error_code(err) : (aegis_error_code_t)0;
    return err; /* NULL would mean the nested call ran: the case then fails */
}

/* Crashes the process, as buggy C host code might. */
static aegis_error_t *host_abort(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                                 size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)env, (void)caller, (void)args, (void)nargs, (void)results, (void)nresults;
    abort();
}

static void register_host(aegis_sandbox_t *sb) {
    const aegis_valkind_t i32[1] = {AEGIS_I32};
    OK(aegis_sandbox_register_func(sb, "aegis_test", "ok", i32, 1, i32, 1, host_ok, NULL, NULL));
    OK(aegis_sandbox_register_func(sb, "aegis_test", "fail", NULL, 0, i32, 1, host_fail, NULL,
                                   NULL));
    OK(aegis_sandbox_register_func(sb, "aegis_test", "panic", NULL, 0, NULL, 0, host_panic, NULL,
                                   NULL));
    OK(aegis_sandbox_register_func(sb, "aegis_test", "reenter", NULL, 0, NULL, 0, host_reenter, sb,
                                   NULL));
}

/* ------------------------------------------------------------- running */

static const char *option(const hostile_case_t *c, const char *key) {
    for (size_t i = 0; i < c->noptions; i++)
        if (strcmp(c->options[i].key, key) == 0) return c->options[i].value;
    return NULL;
}

static uint64_t number(const char *text) { return strtoull(text, NULL, 10); }

static int64_t now_ms(void) {
    struct timespec t;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &t) == 0);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Applies a case's per-sandbox options (everything but `stack`) to `b`. */
static void configure(aegis_builder_t *b, const hostile_case_t *c, const scratch_t *s,
                      char **argv, size_t *argc, char **args_text) {
    OK(aegis_builder_logging(b, AEGIS_LOGGING_DENIED, 0));
    argv[0] = c->module;
    *argc = 1;
    *args_text = NULL;
    for (size_t i = 0; i < c->noptions; i++) {
        const char *k = c->options[i].key, *v = c->options[i].value;
        if (strcmp(k, "fuel") == 0) OK(aegis_builder_fuel_limit(b, number(v)));
        else if (strcmp(k, "no_fuel") == 0) continue; /* engine-wide: on the runtime */
        else if (strcmp(k, "timeout_ms") == 0)
            OK(aegis_builder_timeout(b, (double)number(v) / 1000.0));
        else if (strcmp(k, "memory") == 0) OK(aegis_builder_memory_limit(b, number(v)));
        else if (strcmp(k, "stack") == 0) continue; /* engine-wide: on the runtime */
        else if (strcmp(k, "table_elements") == 0)
            OK(aegis_builder_table_elements_limit(b, number(v)));
        else if (strcmp(k, "handles") == 0) OK(aegis_builder_handle_limit(b, number(v)));
        else if (strcmp(k, "result_limit") == 0) OK(aegis_builder_result_limit(b, number(v)));
        else if (strcmp(k, "capture") == 0)
            OK(aegis_builder_logging(b, AEGIS_LOGGING_CAPTURE, number(v)));
        else if (strcmp(k, "allow_read") == 0 || strcmp(k, "allow_write") == 0) {
            char *dir = substitute(v, s->dir);
            OK(k[6] == 'r' ? aegis_builder_allow_read(b, dir) : aegis_builder_allow_write(b, dir));
            free(dir);
        } else if (strcmp(k, "args") == 0) {
            *args_text = substitute(v, s->dir);
            *argc += split(*args_text, ' ', argv + 1, MAX_ARGS - 1);
            CHECK(*argc <= MAX_ARGS);
        } else {
            fprintf(stderr, "%s: unknown option %s\n", c->name, k);
            exit(1);
        }
    }
    OK(aegis_builder_args(b, (const char *const *)argv, *argc));
}

/* The module of a case, compiled once per runtime. Sets *err on failure. */
static aegis_module_t *module_for(const aegis_runtime_t *rt, const char *root,
                                  const hostile_case_t *c, aegis_error_t **err) {
    char path[512];
    if (strncmp(c->module, "guest:", 6) == 0)
        snprintf(path, sizeof path, "%s/target/guests/out/%s", root, c->module + 6);
    else
        snprintf(path, sizeof path, "%s/tests/hostile/%s", root, c->module);
    for (size_t i = 0; i < cached; i++)
        if (module_cache[i].runtime == rt && strcmp(module_cache[i].path, path) == 0)
            return module_cache[i].module;
    aegis_module_t *m = NULL;
    *err = aegis_module_load_file(rt, path, &m);
    if (*err != NULL) return NULL;
    CHECK(cached < MAX_MODULES);
    module_cache[cached].runtime = rt;
    module_cache[cached].path = strdup(path);
    module_cache[cached].module = m;
    cached++;
    return m;
}

/* Whether the sandbox recorded a refusal of `capability`. */
static bool denied_recorded(aegis_sandbox_t *sb, const char *capability) {
    size_t n = aegis_sandbox_denied_recorded(sb);
    for (size_t i = 0; i < n; i++) {
        aegis_denied_t d;
        OK(aegis_sandbox_denied(sb, i, &d));
        if (strcmp(d.capability, capability) == 0) return true;
    }
    return false;
}

/* Outcome text of an error (consumed), or "ok". */
static const char *outcome_of(aegis_error_t *err) {
    if (err == NULL) return "ok";
    const char *name = aegis_error_code_name(aegis_error_code(err));
    aegis_error_delete(err);
    return name;
}

/* The input of `bytes:` and `str:` entries. */
#define INPUT "hello aegis"

/* Calls a case's entry: `_run`, `bytes:NAME` (aegis_sandbox_call_bytes with
 * INPUT), `str:NAME` (aegis_sandbox_call_str with INPUT), `wit:NAME` (a
 * component call without arguments) or `wit:NAME:TEXT` (with the one string
 * argument TEXT, everything after the second colon), or an export called
 * without arguments. Results are freed. */
static aegis_error_t *call_entry(aegis_sandbox_t *sb, const char *entry) {
    if (strcmp(entry, "_run") == 0) return aegis_sandbox_run(sb);
    if (strncmp(entry, "bytes:", 6) == 0) {
        uint8_t *out = NULL;
        size_t len = 0;
        aegis_error_t *err = aegis_sandbox_call_bytes(sb, entry + 6, (const uint8_t *)INPUT,
                                                      strlen(INPUT), &out, &len);
        aegis_bytes_free(out, len);
        return err;
    }
    if (strncmp(entry, "str:", 4) == 0) {
        char *out = NULL;
        aegis_error_t *err = aegis_sandbox_call_str(sb, entry + 4, INPUT, &out);
        aegis_string_free(out);
        return err;
    }
    if (strncmp(entry, "wit:", 4) == 0) {
        char name[256];
        snprintf(name, sizeof name, "%s", entry + 4);
        char *colon = strchr(name, ':');
        aegis_witval_t *arg = NULL, *result = NULL;
        if (colon != NULL) {
            *colon = '\0';
            OK(aegis_witval_new_string(colon + 1, strlen(colon + 1), &arg));
        }
        const aegis_witval_t *args[1] = {arg};
        aegis_error_t *err =
            aegis_sandbox_call_component(sb, name, args, arg != NULL ? 1 : 0, &result);
        aegis_witval_delete(arg);
        aegis_witval_delete(result);
        return err;
    }
    return aegis_sandbox_call_void(sb, entry);
}

/* Runs one case; writes the shown outcome into `shown`; returns whether it passed. */
static bool run_case(const hostile_case_t *c, const aegis_runtime_t *shared, const char *root,
                     bool timed, char *shown, size_t shown_size) {
    scratch_t s;
    make_scratch(&s);
    aegis_runtime_t *own = NULL;
    const char *stack = option(c, "stack");
    bool no_fuel = option(c, "no_fuel") != NULL;
    if (stack != NULL || no_fuel) {
        aegis_builder_t *rb = aegis_builder_new();
        if (stack != NULL) OK(aegis_builder_stack_limit(rb, (size_t)number(stack)));
        if (no_fuel) OK(aegis_builder_no_fuel_limit(rb));
        own = build_runtime(rb);
    }
    const aegis_runtime_t *rt = own != NULL ? own : shared;
    const char *expect_cap = strncmp(c->expect, "denied:", 7) == 0 ? c->expect + 7 : NULL;
    const char *outcome = NULL;
    bool denied = false;
    char *args_text = NULL;
    aegis_sandbox_t *sb = NULL;
    aegis_error_t *err = NULL;
    int64_t took_ms = -1; /* time the entry call took, -1 if it did not run */
    aegis_module_t *m = module_for(rt, root, c, &err);
    reenter_inner_code = 0;
    if (m == NULL) {
        outcome = outcome_of(err);
    } else if (strcmp(c->entry, "-") == 0) {
        outcome = "ok";
    } else {
        char *argv[MAX_ARGS];
        size_t argc = 0;
        aegis_builder_t *b = aegis_builder_new();
        configure(b, c, &s, argv, &argc, &args_text);
        OK(aegis_builder_build_sandbox(b, rt, &sb));
        register_host(sb);
        err = aegis_sandbox_load_module(sb, m);
        if (err == NULL) {
            int64_t start = now_ms();
            err = call_entry(sb, c->entry);
            took_ms = now_ms() - start;
        }
        if (err != NULL && strcmp(c->name, "host_reenter") == 0) {
            /* The refusal must be the core's busy rule, not some other failure. */
            CHECK(reenter_inner_code == AEGIS_ERROR_BUSY);
            CHECK(strstr(aegis_error_message(err), "sandbox is busy") != NULL);
        }
        outcome = outcome_of(err);
        denied = expect_cap != NULL && denied_recorded(sb, expect_cap);
    }
    bool intact = secret_intact(&s);
    bool passed = intact && (expect_cap != NULL ? denied : strcmp(outcome, c->expect) == 0);
    snprintf(shown, shown_size, "%s%s", denied ? "denied:" : "", denied ? expect_cap : outcome);
    if (!passed)
        fprintf(stderr, "FAIL %s: expected %s, got %s (secret intact: %s)\n", c->name, c->expect,
                outcome, intact ? "yes" : "no");
    const char *timeout_ms = option(c, "timeout_ms");
    if (passed && timed && timeout_ms != NULL && strcmp(c->expect, "timeout") == 0 &&
        took_ms > (int64_t)number(timeout_ms) + TIMEOUT_SLACK_MS) {
        fprintf(stderr, "FAIL %s: timeout after %lld ms, limit %s ms (+%d ms slack)\n", c->name,
                (long long)took_ms, timeout_ms, TIMEOUT_SLACK_MS);
        passed = false;
    }
    aegis_sandbox_delete(sb);
    free(args_text);
    if (own != NULL) {
        for (size_t i = 0; i < cached; i++) {
            if (module_cache[i].runtime != own) continue;
            aegis_module_delete(module_cache[i].module);
            free(module_cache[i].path);
            module_cache[i] = module_cache[--cached];
            i--;
        }
        aegis_runtime_delete(own);
    }
    remove_scratch(&s);
    return passed;
}

static bool is_slow(const char *name) {
    for (size_t i = 0; SLOW_CASES[i] != NULL; i++)
        if (strcmp(SLOW_CASES[i], name) == 0) return true;
    return false;
}

/* A callback that crashes (abort) kills the whole process: no sandbox can
 * contain host code, which is out of scope (run untrusted host code in
 * another process). Shown in a child, which must die by SIGABRT. */
static void crashing_callback_is_out_of_scope(void) {
    fflush(NULL);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        /* Forked before this process made any runtime (so before wasmtime
         * started threads): the child builds everything itself. */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        aegis_runtime_t *rt = NULL;
        OK(aegis_runtime_new(&rt));
        aegis_module_t *m = NULL;
        aegis_sandbox_t *sb = NULL;
        OK(aegis_module_load_wat(rt, "(module (import \"env\" \"crash\" (func $c))"
                                     " (func (export \"go\") (call $c)))", &m));
        OK(aegis_sandbox_new(rt, &sb));
        OK(aegis_sandbox_register_func(sb, "env", "crash", NULL, 0, NULL, 0, host_abort, NULL,
                                       NULL));
        OK(aegis_sandbox_load_module(sb, m));
        aegis_error_t *err = aegis_sandbox_call_void(sb, "go");
        (void)err;
        _exit(0); /* not reached: abort() ends the child */
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

/* Busy also covers the other sandbox functions a callback might call on
 * its own sandbox; a different sandbox stays usable from a callback. */
typedef struct {
    aegis_sandbox_t *self, *other;
    int busy_refusals;
    int other_calls;
} busy_env_t;

static aegis_error_t *host_probe_busy(void *env, aegis_caller_t *caller, const aegis_val_t *args,
                                      size_t nargs, aegis_val_t *results, size_t nresults) {
    (void)caller, (void)args, (void)nargs, (void)results, (void)nresults;
    busy_env_t *e = env;
    aegis_metrics_t metrics;
    aegis_error_t *attempts[3] = {
        aegis_sandbox_metrics(e->self, &metrics),
        aegis_sandbox_reset(e->self),
        aegis_sandbox_call_void(e->self, "noop"),
    };
    for (size_t i = 0; i < 3; i++) {
        if (attempts[i] != NULL && aegis_error_code(attempts[i]) == AEGIS_ERROR_BUSY &&
            strstr(aegis_error_message(attempts[i]), "busy") != NULL)
            e->busy_refusals++;
        aegis_error_delete(attempts[i]);
    }
    if (aegis_sandbox_denied_recorded(e->self) == 0) e->busy_refusals++;
    aegis_sandbox_delete(e->self); /* refused while busy: the sandbox survives */
    aegis_error_t *err = aegis_sandbox_call_void(e->other, "noop");
    if (err == NULL) e->other_calls++;
    return err;
}

static void busy_sandbox_refuses_everything_but_others_work(aegis_runtime_t *rt) {
    aegis_module_t *m = NULL;
    OK(aegis_module_load_wat(rt, "(module (import \"env\" \"probe\" (func $p))"
                                 " (func (export \"go\") (call $p)) (func (export \"noop\")))",
                             &m));
    aegis_module_t *plain = wat(rt, "(module (func (export \"noop\")))");
    busy_env_t env = {NULL, NULL, 0, 0};
    OK(aegis_sandbox_new(rt, &env.self));
    env.other = sandbox_with(rt, plain);
    OK(aegis_sandbox_register_func(env.self, "env", "probe", NULL, 0, NULL, 0, host_probe_busy,
                                   &env, NULL));
    OK(aegis_sandbox_load_module(env.self, m));
    OK(aegis_sandbox_call_void(env.self, "go"));
    CHECK(env.busy_refusals == 4);
    CHECK(env.other_calls == 1);
    /* After the call the sandbox is free again. */
    OK(aegis_sandbox_call_void(env.self, "noop"));
    aegis_sandbox_delete(env.self);
    aegis_sandbox_delete(env.other);
    aegis_module_delete(m);
    aegis_module_delete(plain);
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    const char *quick_env = getenv("AEGIS_HOSTILE_QUICK");
    bool quick = quick_env != NULL && strcmp(quick_env, "1") == 0;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/hostile/expectations.tsv", root);
    char *text = read_text(path);
    if (text == NULL) {
        fprintf(stderr, "cannot read %s (run from the repository root)\n", path);
        return 1;
    }
    static hostile_case_t cases[MAX_CASES];
    size_t count = parse_cases(text, cases);
    CHECK(count >= 30);

    crashing_callback_is_out_of_scope();
    aegis_runtime_t *shared = NULL;
    OK(aegis_runtime_new(&shared));
    busy_sandbox_refuses_everything_but_others_work(shared);

    char report[MAX_CASES * 96] = "";
    size_t failed = 0, ran = 0, skipped = 0;
    for (size_t i = 0; i < count; i++) {
        if (quick && is_slow(cases[i].name)) {
            skipped++;
            continue;
        }
        char shown[64];
        printf("  %s\n", cases[i].name); /* shows where a crash happened */
        fflush(stdout);
        bool passed = run_case(&cases[i], shared, root, !quick, shown, sizeof shown);
        checks_run++;
        ran++;
        if (!passed) failed++;
        size_t used = strlen(report);
        snprintf(report + used, sizeof report - used, "%s\t%s\n", cases[i].name, shown);
    }
    for (size_t i = 0; i < cached; i++) {
        aegis_module_delete(module_cache[i].module);
        free(module_cache[i].path);
    }
    aegis_runtime_delete(shared);
    free(text);

    if (!quick) {
        snprintf(path, sizeof path, "%s/target/hostile", root);
        mkdir(path, 0755); /* may exist */
        snprintf(path, sizeof path, "%s/target/hostile/c.tsv", root);
        write_file(path, report);
    }
    printf("hostile corpus: %zu cases run, %zu failed, %zu skipped%s\n", ran, failed, skipped,
           quick ? " (quick mode: slow cases skipped)" : "");
    if (failed > 0) return 1;
    return done("test_hostile");
}
