/* Tiny assertion helpers shared by the C test programs. */
#ifndef AEGIS_TEST_CHECK_H
#define AEGIS_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aegis.h"

static int checks_run = 0;

/* Aborts the program with a message when `cond` is false. */
#define CHECK(cond)                                                            \
    do {                                                                       \
        checks_run++;                                                          \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

/* Fails if `expr` returned an error; prints the error first. */
#define OK(expr)                                                               \
    do {                                                                       \
        aegis_error_t *ok_err_ = (expr);                                       \
        checks_run++;                                                          \
        if (ok_err_ != NULL) {                                                 \
            fprintf(stderr, "%s:%d: %s failed: [%s] %s\n", __FILE__, __LINE__, \
                    #expr, aegis_error_code_name(aegis_error_code(ok_err_)),   \
                    aegis_error_message(ok_err_));                             \
            aegis_error_delete(ok_err_);                                       \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

/* Checks that `expr` failed with `code` and that its message contains
 * `needle` (NULL: any message); frees the error. */
#define FAILS(expr, code, needle)                                              \
    do {                                                                       \
        aegis_error_t *f_err_ = (expr);                                        \
        checks_run++;                                                          \
        expect_error(f_err_, (code), (needle), #expr, __FILE__, __LINE__);     \
    } while (0)

static inline void expect_error(aegis_error_t *err, aegis_error_code_t code,
                         const char *needle, const char *what,
                         const char *file, int line) {
    if (err == NULL) {
        fprintf(stderr, "%s:%d: %s succeeded, expected %s\n", file, line, what,
                aegis_error_code_name(code));
        exit(1);
    }
    if (aegis_error_code(err) != code) {
        fprintf(stderr, "%s:%d: %s failed with %s (%s), expected %s\n", file,
                line, what, aegis_error_code_name(aegis_error_code(err)),
                aegis_error_message(err), aegis_error_code_name(code));
        exit(1);
    }
    if (needle != NULL && strstr(aegis_error_message(err), needle) == NULL) {
        fprintf(stderr, "%s:%d: %s: message \"%s\" lacks \"%s\"\n", file, line,
                what, aegis_error_message(err), needle);
        exit(1);
    }
    aegis_error_delete(err);
}

/* Builds a runtime from a builder, failing the test on error. */
static inline aegis_runtime_t *build_runtime(aegis_builder_t *builder) {
    aegis_runtime_t *runtime = NULL;
    OK(aegis_builder_build(builder, &runtime));
    CHECK(runtime != NULL);
    return runtime;
}

/* Compiles WAT text, failing the test on error. */
static inline aegis_module_t *wat(aegis_runtime_t *runtime, const char *text) {
    aegis_module_t *module = NULL;
    OK(aegis_module_load_wat(runtime, text, &module));
    CHECK(module != NULL);
    return module;
}

/* A sandbox of `runtime` with `module` loaded. */
static inline aegis_sandbox_t *sandbox_with(aegis_runtime_t *runtime,
                                     aegis_module_t *module) {
    aegis_sandbox_t *sandbox = NULL;
    OK(aegis_sandbox_new(runtime, &sandbox));
    OK(aegis_sandbox_load_module(sandbox, module));
    return sandbox;
}

static inline aegis_val_t val_i32(int32_t v) {
    aegis_val_t out;
    memset(&out, 0, sizeof out);
    out.kind = AEGIS_I32;
    out.of.i32 = v;
    return out;
}

static inline aegis_val_t val_i64(int64_t v) {
    aegis_val_t out;
    memset(&out, 0, sizeof out);
    out.kind = AEGIS_I64;
    out.of.i64 = v;
    return out;
}

static inline aegis_val_t val_f32(float v) {
    aegis_val_t out;
    memset(&out, 0, sizeof out);
    out.kind = AEGIS_F32;
    out.of.f32 = v;
    return out;
}

static inline aegis_val_t val_f64(double v) {
    aegis_val_t out;
    memset(&out, 0, sizeof out);
    out.kind = AEGIS_F64;
    out.of.f64 = v;
    return out;
}

/* Prints the closing line every test program ends with. */
static inline int done(const char *name) {
    printf("%s: %d checks passed\n", name, checks_run);
    return 0;
}

#endif
