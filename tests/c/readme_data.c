/* Runs the data-exchange snippet of README's C section ("Exchanging data").
 * scripts/test-c.sh extracts that ```c block into readme_data_snippet.c (in
 * its build directory, passed with -I) and compiles this file, which
 * includes it: the README's code is compiled with -Wall -Wextra -Werror and
 * run natively and under valgrind, and what it prints is checked here.
 * Needs the guests of scripts/build-guests.sh; run from the repository root. */
#define _POSIX_C_SOURCE 200809L
#include "readme_data_snippet.c"

#include <unistd.h>

#include "check.h"

static aegis_module_t *load(aegis_runtime_t *rt, const char *file) {
    char path[256];
    snprintf(path, sizeof path, "target/guests/out/%s", file);
    aegis_module_t *m = NULL;
    OK(aegis_module_load_file(rt, path, &m));
    return m;
}

/* What `run` prints on stdout. */
static char captured[4096];

static aegis_error_t *capture(aegis_error_t *(*run)(aegis_sandbox_t *, const char *),
                              aegis_sandbox_t *sb, const char *arg) {
    fflush(stdout);
    FILE *tmp = tmpfile();
    CHECK(tmp != NULL);
    int saved = dup(STDOUT_FILENO);
    CHECK(saved >= 0 && dup2(fileno(tmp), STDOUT_FILENO) >= 0);
    aegis_error_t *err = run(sb, arg);
    fflush(stdout);
    CHECK(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(captured, 1, sizeof captured - 1, tmp);
    captured[n] = '\0';
    fclose(tmp);
    return err;
}

static aegis_error_t *point_adapter(aegis_sandbox_t *sb, const char *unused) {
    (void)unused;
    return print_point(sb);
}

/* The other imports of plugin.wasm, which the snippet does not implement. */
static aegis_error_t *unused_import(void *env, const aegis_witval_t *const *args, size_t nargs,
                                   aegis_witval_t **result_out) {
    (void)env, (void)args, (void)nargs, (void)result_out;
    return aegis_error_new("not used by this test");
}

int main(void) {
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));

    aegis_module_t *bytes = load(rt, "bytes-rust.wasm");
    aegis_sandbox_t *sb = sandbox_with(rt, bytes);
    OK(capture(print_upper, sb, "hello, data"));
    CHECK(strcmp(captured, "HELLO, DATA\n") == 0);
    aegis_sandbox_delete(sb);

    aegis_module_t *values = load(rt, "values.wasm");
    sb = sandbox_with(rt, values);
    OK(capture(print_greeting, sb, "C"));
    CHECK(strcmp(captured, "Hello, C!\n") == 0);
    OK(capture(point_adapter, sb, NULL));
    CHECK(strcmp(captured, "{x: 3, y: -4, label: \"home\"}\n") == 0);
    aegis_sandbox_delete(sb);

    aegis_module_t *plugin = load(rt, "plugin.wasm");
    OK(aegis_sandbox_new(rt, &sb));
    OK(aegis_sandbox_register_component(sb, "aegis:test/host#transform", exclaim, NULL, NULL));
    const char *others[] = {"aegis:test/host#add", "aegis:test/host#describe",
                            "aegis:test/host#bytes-len", "aegis:test/host#maybe", "log"};
    for (size_t i = 0; i < 5; i++)
        OK(aegis_sandbox_register_component(sb, others[i], unused_import, NULL, NULL));
    OK(aegis_sandbox_load_module(sb, plugin));
    aegis_witval_t *arg = NULL, *result = NULL;
    OK(aegis_witval_new_string("wow", 3, &arg));
    const aegis_witval_t *args[] = {arg};
    OK(aegis_sandbox_call_component(sb, "call-transform", args, 1, &result));
    const char *text = NULL;
    size_t len = 0;
    CHECK(aegis_witval_get_string(result, &text, &len) && strcmp(text, "wow!") == 0);
    aegis_witval_delete(result);
    aegis_witval_delete(arg);
    /* Too long for the callback: its error fails the call. */
    char long_text[100];
    memset(long_text, 'x', sizeof long_text);
    OK(aegis_witval_new_string(long_text, sizeof long_text, &arg));
    args[0] = arg;
    FAILS(aegis_sandbox_call_component(sb, "call-transform", args, 1, &result),
          AEGIS_ERROR_HOST_FUNCTION, "expected a short string");
    aegis_witval_delete(arg);
    aegis_sandbox_delete(sb);

    aegis_module_delete(bytes);
    aegis_module_delete(values);
    aegis_module_delete(plugin);
    aegis_runtime_delete(rt);
    return done("readme_data");
}
