/* Exchanging data with guests through the C API: guest memory from the
 * host, the bytes convention (a WAT guest, and the Rust and C example
 * guests bytes-rust.wasm / bytes-c.wasm), component calls with WIT values
 * (values.wasm: every WIT type both ways, an interface export, WAVE),
 * component host functions in C (plugin.wasm), the result limit, the
 * component listing, and NULL pointers everywhere. Every value tree built
 * here is deleted: valgrind (scripts/test-c.sh) fails on any leak.
 *
 * The compiled guests come from scripts/build-guests.sh
 * (target/guests/out/); run from the repository root, or pass the root as
 * the first argument. */
#include <stdbool.h>
#include <stdint.h>

#include "check.h"

static const aegis_error_code_t INV = AEGIS_ERROR_INVALID_ARGUMENT;

/* A bytes-convention guest: a bump allocator, `echo`, `upper`, and
 * functions returning hostile output pointers (as in the core's tests). */
static const char *BYTES_GUEST =
    "(module\n"
    "  (memory (export \"memory\") 1)\n"
    "  (memory $other (export \"scratch\") 2)\n"
    "  (global $bump (mut i32) (i32.const 1024))\n"
    "  (func (export \"aegis_alloc\") (param $len i32) (result i32)\n"
    "    (local $p i32)\n"
    "    (local.set $p (global.get $bump))\n"
    "    (global.set $bump (i32.add (global.get $bump) (local.get $len)))\n"
    "    (local.get $p))\n"
    "  (func (export \"aegis_free\") (param i32 i32))\n"
    "  (func $pack (param $ptr i32) (param $len i32) (result i64)\n"
    "    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))\n"
    "            (i64.extend_i32_u (local.get $len))))\n"
    "  (func (export \"echo\") (param $ptr i32) (param $len i32) (result i64)\n"
    "    (call $pack (local.get $ptr) (local.get $len)))\n"
    "  (func (export \"out_of_bounds\") (param i32 i32) (result i64)\n"
    "    (call $pack (i32.const 65530) (i32.const 16)))\n"
    "  (func (export \"wraps\") (param i32 i32) (result i64)\n"
    "    (call $pack (i32.const -16) (i32.const 32)))\n"
    "  (func (export \"huge\") (param i32 i32) (result i64)\n"
    "    (call $pack (i32.const 0) (i32.const -1)))\n"
    "  (func (export \"with_nul\") (param i32 i32) (result i64)\n"
    "    (i32.store (i32.const 0) (i32.const 0x00626100))\n"
    "    (call $pack (i32.const 0) (i32.const 4)))\n"
    "  (func (export \"not_utf8\") (param i32 i32) (result i64)\n"
    "    (i32.store (i32.const 0) (i32.const 0xc080feff))\n"
    "    (call $pack (i32.const 0) (i32.const 4)))\n"
    "  (func (export \"boom\") (param i32 i32) (result i64) unreachable)\n"
    "  (func (export \"add\") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))";

static const char *root = ".";

static aegis_module_t *guest(aegis_runtime_t *rt, const char *file) {
    char path[512];
    snprintf(path, sizeof path, "%s/target/guests/out/%s", root, file);
    aegis_module_t *m = NULL;
    aegis_error_t *err = aegis_module_load_file(rt, path, &m);
    if (err != NULL) {
        fprintf(stderr, "cannot load %s (run scripts/build-guests.sh): %s\n", path,
                aegis_error_message(err));
        exit(1);
    }
    return m;
}

/* A detail of `err` as a u64 (the test fails if it is missing). */
static uint64_t detail(const aegis_error_t *err, const char *name) {
    uint64_t v = 0;
    CHECK(aegis_error_get_u64(err, name, &v));
    return v;
}

/* ------------------------------------------------------------ guest memory */

static void test_memory(aegis_runtime_t *rt) {
    aegis_module_t *m = wat(rt, BYTES_GUEST);
    aegis_sandbox_t *sb = NULL;
    OK(aegis_sandbox_new(rt, &sb));
    uint64_t size = 0;
    uint8_t buf[16];
    FAILS(aegis_sandbox_memory_size(sb, NULL, &size), INV, "no module");
    OK(aegis_sandbox_load_module(sb, m));

    OK(aegis_sandbox_memory_size(sb, NULL, &size));
    CHECK(size == 65536);
    OK(aegis_sandbox_memory_size(sb, "memory", &size));
    CHECK(size == 65536);
    OK(aegis_sandbox_memory_size(sb, "scratch", &size));
    CHECK(size == 131072);
    FAILS(aegis_sandbox_memory_size(sb, "nope", &size), AEGIS_ERROR_EXPORT_NOT_FOUND, "nope");

    OK(aegis_sandbox_memory_write(sb, NULL, 100, (const uint8_t *)"hello", 5));
    OK(aegis_sandbox_memory_read(sb, NULL, 100, buf, 5));
    CHECK(memcmp(buf, "hello", 5) == 0);
    OK(aegis_sandbox_memory_read(sb, "memory", 101, buf, 3));
    CHECK(memcmp(buf, "ell", 3) == 0);
    OK(aegis_sandbox_memory_read(sb, "scratch", 100, buf, 5)); /* another memory */
    CHECK(memcmp(buf, "\0\0\0\0\0", 5) == 0);
    OK(aegis_sandbox_memory_write(sb, NULL, 65535, (const uint8_t *)"z", 1)); /* last byte */
    OK(aegis_sandbox_memory_read(sb, NULL, 65536, NULL, 0));                 /* empty, at the end */

    /* Out of bounds: typed error with details, nothing copied; a huge
     * length is refused before the (small) buffer is looked at. */
    const struct {
        uint64_t offset;
        size_t len;
    } bad[] = {{65535, 2}, {UINT64_MAX, 2}, {0, SIZE_MAX}, {65537, 0}, {1, 65536}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(buf, 0x5a, sizeof buf);
        aegis_error_t *err = aegis_sandbox_memory_read(sb, NULL, bad[i].offset, buf, bad[i].len);
        CHECK(aegis_error_code(err) == AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS);
        CHECK(strcmp(aegis_error_code_name(aegis_error_code(err)), "memory_out_of_bounds") == 0);
        CHECK(detail(err, "offset") == bad[i].offset && detail(err, "len") == bad[i].len);
        CHECK(detail(err, "size") == 65536);
        CHECK(strstr(aegis_error_to_json(err), "\"size\":65536") != NULL);
        aegis_error_delete(err);
        CHECK(buf[0] == 0x5a);
    }
    FAILS(aegis_sandbox_memory_write(sb, NULL, 65534, (const uint8_t *)"abc", 3),
          AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS, "out of bounds");
    OK(aegis_sandbox_memory_read(sb, NULL, 65534, buf, 2));
    CHECK(buf[0] == 0 && buf[1] == 'z'); /* the failed write wrote nothing */
    FAILS(aegis_sandbox_memory_write(sb, "scratch", 131072, (const uint8_t *)"a", 1),
          AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS, NULL);

    /* NULL pointers. */
    FAILS(aegis_sandbox_memory_size(NULL, NULL, &size), INV, "sandbox");
    FAILS(aegis_sandbox_memory_size(sb, NULL, NULL), INV, "size_out");
    FAILS(aegis_sandbox_memory_read(NULL, NULL, 0, buf, 1), INV, "sandbox");
    FAILS(aegis_sandbox_memory_read(sb, NULL, 0, NULL, 1), INV, "buf");
    FAILS(aegis_sandbox_memory_write(NULL, NULL, 0, buf, 1), INV, "sandbox");
    FAILS(aegis_sandbox_memory_write(sb, NULL, 0, NULL, 1), INV, "data");
    const char bad_utf8[] = {'m', (char)0xff, 0};
    FAILS(aegis_sandbox_memory_size(sb, bad_utf8, &size), INV, "UTF-8");
    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
}

/* ---------------------------------------------------------- bytes convention */

/* call_bytes on `name`, checking the output equals `expect[0..expect_len]`. */
static void bytes_round_trip(aegis_sandbox_t *sb, const char *name, const void *in, size_t in_len,
                             const void *expect, size_t expect_len) {
    uint8_t *out = (uint8_t *)1;
    size_t out_len = 99;
    OK(aegis_sandbox_call_bytes(sb, name, in, in_len, &out, &out_len));
    CHECK(out_len == expect_len);
    CHECK(expect_len == 0 ? out == NULL : memcmp(out, expect, expect_len) == 0);
    aegis_bytes_free(out, out_len);
}

static void test_bytes_wat(void) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_set(b, "result_limit", "\"1MiB\""));
    aegis_runtime_t *rt = build_runtime(b);
    aegis_module_t *m = wat(rt, BYTES_GUEST);
    aegis_sandbox_t *sb = sandbox_with(rt, m);
    bytes_round_trip(sb, "echo", "\0\xff" "abc", 5, "\0\xff" "abc", 5);
    bytes_round_trip(sb, "echo", NULL, 0, NULL, 0); /* empty in, empty out (NULL, 0) */
    static uint8_t big[40000];
    memset(big, 7, sizeof big);
    bytes_round_trip(sb, "echo", big, sizeof big, big, sizeof big);
    aegis_metrics_t metrics;
    OK(aegis_sandbox_last_call_metrics(sb, &metrics));
    CHECK(metrics.calls == 1); /* alloc + call + free: one call */

    uint8_t *out = NULL;
    size_t out_len = 0;
    aegis_error_t *err = aegis_sandbox_call_bytes(sb, "out_of_bounds", (const uint8_t *)"x", 1,
                                                  &out, &out_len);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS);
    CHECK(detail(err, "offset") == 65530 && detail(err, "len") == 16);
    CHECK(out == NULL && out_len == 0);
    aegis_error_delete(err);
    FAILS(aegis_sandbox_call_bytes(sb, "wraps", (const uint8_t *)"x", 1, &out, &out_len),
          AEGIS_ERROR_MEMORY_OUT_OF_BOUNDS, NULL);
    err = aegis_sandbox_call_bytes(sb, "huge", (const uint8_t *)"x", 1, &out, &out_len);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_RESULT_TOO_LARGE);
    CHECK(detail(err, "size") == 0xffffffffu && detail(err, "limit") == 1048576);
    aegis_error_delete(err);
    FAILS(aegis_sandbox_call_bytes(sb, "boom", (const uint8_t *)"x", 1, &out, &out_len),
          AEGIS_ERROR_TRAP, NULL);
    aegis_interrupt_handle_t *handle = aegis_sandbox_interrupt_handle(sb);
    aegis_interrupt_handle_interrupt(handle); /* stops the next call, a bytes call too */
    FAILS(aegis_sandbox_call_bytes(sb, "echo", (const uint8_t *)"x", 1, &out, &out_len),
          AEGIS_ERROR_INTERRUPTED, NULL);
    aegis_interrupt_handle_delete(handle);
    FAILS(aegis_sandbox_call_bytes(sb, "add", (const uint8_t *)"x", 1, &out, &out_len),
          AEGIS_ERROR_SIGNATURE_MISMATCH, NULL);
    FAILS(aegis_sandbox_call_bytes(sb, "missing", (const uint8_t *)"x", 1, &out, &out_len),
          AEGIS_ERROR_EXPORT_NOT_FOUND, NULL);

    /* Text: UTF-8 without NUL out, or a typed error. */
    char *text = NULL;
    OK(aegis_sandbox_call_str(sb, "echo", "h\xc3\xa9llo", &text));
    CHECK(strcmp(text, "h\xc3\xa9llo") == 0);
    aegis_string_free(text);
    FAILS(aegis_sandbox_call_str(sb, "not_utf8", "x", &text), AEGIS_ERROR_INVALID_RESULT, "UTF-8");
    CHECK(text == NULL);
    FAILS(aegis_sandbox_call_str(sb, "with_nul", "x", &text), AEGIS_ERROR_INVALID_RESULT, "NUL");
    bytes_round_trip(sb, "with_nul", "x", 1, "\0ab\0", 4); /* the same output as bytes */
    /* Still usable afterwards. */
    OK(aegis_sandbox_call_str(sb, "echo", "ok", &text));
    CHECK(strcmp(text, "ok") == 0);
    aegis_string_free(text);

    /* NULL pointers. */
    FAILS(aegis_sandbox_call_bytes(NULL, "echo", NULL, 0, &out, &out_len), INV, "sandbox");
    FAILS(aegis_sandbox_call_bytes(sb, NULL, NULL, 0, &out, &out_len), INV, "name");
    FAILS(aegis_sandbox_call_bytes(sb, "echo", NULL, 3, &out, &out_len), INV, "input");
    FAILS(aegis_sandbox_call_bytes(sb, "echo", NULL, 0, NULL, &out_len), INV, "output_out");
    FAILS(aegis_sandbox_call_bytes(sb, "echo", NULL, 0, &out, NULL), INV, "output_len_out");
    FAILS(aegis_sandbox_call_str(NULL, "echo", "x", &text), INV, "sandbox");
    FAILS(aegis_sandbox_call_str(sb, NULL, "x", &text), INV, "name");
    FAILS(aegis_sandbox_call_str(sb, "echo", NULL, &text), INV, "input");
    FAILS(aegis_sandbox_call_str(sb, "echo", "x", NULL), INV, "output_out");
    aegis_bytes_free(NULL, 0);
    aegis_string_free(NULL);

    aegis_sandbox_delete(sb);
    aegis_module_delete(m);
    aegis_runtime_delete(rt);
}

/* The example guests in Rust and C speak the same convention. */
static void test_bytes_guests(aegis_runtime_t *rt) {
    const char *files[] = {"bytes-rust.wasm", "bytes-c.wasm"};
    for (size_t i = 0; i < 2; i++) {
        aegis_module_t *m = guest(rt, files[i]);
        aegis_sandbox_t *sb = sandbox_with(rt, m);
        bytes_round_trip(sb, "upper", "hello, aegis", 12, "HELLO, AEGIS", 12);
        bytes_round_trip(sb, "reverse", "abc", 3, "cba", 3);
        bytes_round_trip(sb, "echo", "\0\x01\xff", 3, "\0\x01\xff", 3);
        bytes_round_trip(sb, "greet", "C", 1, "Hello, C!", 9);
        char *text = NULL;
        OK(aegis_sandbox_call_str(sb, "greet", "world", &text));
        CHECK(strcmp(text, "Hello, world!") == 0);
        aegis_string_free(text);
        uint8_t *out = NULL;
        size_t len = 0;
        OK(aegis_sandbox_call_bytes(sb, "repeat", (const uint8_t *)"100000", 6, &out, &len));
        CHECK(len == 100000 && out[0] == 'a' && out[99999] == 'a');
        aegis_bytes_free(out, len);
        FAILS(aegis_sandbox_call_bytes(sb, "repeat", (const uint8_t *)"x", 1, &out, &len),
              AEGIS_ERROR_TRAP, NULL);
        aegis_sandbox_delete(sb);

        /* The result limit covers the output. */
        aegis_builder_t *b = aegis_builder_new();
        OK(aegis_builder_result_limit(b, 4));
        sb = NULL;
        OK(aegis_builder_build_sandbox(b, rt, &sb));
        OK(aegis_sandbox_load_module(sb, m));
        aegis_error_t *err = aegis_sandbox_call_bytes(sb, "upper", (const uint8_t *)"hello", 5,
                                                      &out, &len);
        CHECK(aegis_error_code(err) == AEGIS_ERROR_RESULT_TOO_LARGE);
        CHECK(detail(err, "size") == 5 && detail(err, "limit") == 4);
        aegis_error_delete(err);
        bytes_round_trip(sb, "upper", "abcd", 4, "ABCD", 4);
        aegis_sandbox_delete(sb);
        aegis_module_delete(m);
    }
}

/* -------------------------------------------------------------- value trees */

static aegis_witval_t *str_val(const char *s) {
    aegis_witval_t *v = NULL;
    OK(aegis_witval_new_string(s, strlen(s), &v));
    return v;
}

/* Checks that the WAVE text of `v` is `expect`. */
static void check_wave(const aegis_witval_t *v, const char *expect) {
    char *text = NULL;
    OK(aegis_witval_to_wave(v, &text));
    if (strcmp(text, expect) != 0) {
        fprintf(stderr, "WAVE: got %s, expected %s\n", text, expect);
        exit(1);
    }
    aegis_string_free(text);
}

static aegis_witval_t *point(int32_t x, int32_t y, const char *label) {
    aegis_witval_t *p = aegis_witval_new_record();
    OK(aegis_witval_record_set(p, "x", aegis_witval_new_s32(x)));
    OK(aegis_witval_record_set(p, "y", aegis_witval_new_s32(y)));
    OK(aegis_witval_record_set(p, "label", str_val(label)));
    return p;
}

/* Builds every kind, reads it back with every accessor, and deletes it. */
static void test_value_trees(void) {
    bool b = false;
    int8_t s8 = 0;
    uint8_t u8 = 0;
    int16_t s16 = 0;
    uint16_t u16 = 0;
    int32_t s32 = 0;
    uint32_t u32 = 0;
    int64_t s64 = 0;
    uint64_t u64 = 0;
    float f32 = 0;
    double f64 = 0;
    aegis_witval_t *v = NULL;

    v = aegis_witval_new_bool(true);
    CHECK(aegis_witval_kind(v) == AEGIS_WIT_BOOL && aegis_witval_get_bool(v, &b) && b);
    CHECK(!aegis_witval_get_s32(v, &s32) && s32 == 0); /* kind mismatch: false, untouched */
    CHECK(aegis_witval_len(v) == 0 && aegis_witval_at(v, 0) == NULL);
    aegis_witval_delete(v);
    v = aegis_witval_new_s8(-8);
    CHECK(aegis_witval_get_s8(v, &s8) && s8 == -8 && !aegis_witval_get_u8(v, &u8));
    aegis_witval_delete(v);
    v = aegis_witval_new_u8(200);
    CHECK(aegis_witval_get_u8(v, &u8) && u8 == 200 && !aegis_witval_get_s8(v, &s8));
    aegis_witval_delete(v);
    v = aegis_witval_new_s16(-1600);
    CHECK(aegis_witval_get_s16(v, &s16) && s16 == -1600 && !aegis_witval_get_u16(v, &u16));
    aegis_witval_delete(v);
    v = aegis_witval_new_u16(60000);
    CHECK(aegis_witval_get_u16(v, &u16) && u16 == 60000 && !aegis_witval_get_s16(v, &s16));
    aegis_witval_delete(v);
    v = aegis_witval_new_s32(INT32_MIN);
    CHECK(aegis_witval_get_s32(v, &s32) && s32 == INT32_MIN && !aegis_witval_get_s64(v, &s64));
    CHECK(aegis_witval_kind(v) == AEGIS_WIT_S32 &&
          strcmp(aegis_witkind_name(aegis_witval_kind(v)), "s32") == 0);
    aegis_witval_delete(v);
    v = aegis_witval_new_u32(UINT32_MAX);
    CHECK(aegis_witval_get_u32(v, &u32) && u32 == UINT32_MAX && !aegis_witval_get_s32(v, &s32));
    aegis_witval_delete(v);
    v = aegis_witval_new_s64(INT64_MIN);
    CHECK(aegis_witval_get_s64(v, &s64) && s64 == INT64_MIN && !aegis_witval_get_u64(v, &u64));
    aegis_witval_delete(v);
    v = aegis_witval_new_u64(UINT64_MAX);
    CHECK(aegis_witval_get_u64(v, &u64) && u64 == UINT64_MAX && !aegis_witval_get_s64(v, &s64));
    aegis_witval_delete(v);
    v = aegis_witval_new_f32(1.5f);
    CHECK(aegis_witval_get_f32(v, &f32) && f32 == 1.5f && !aegis_witval_get_f64(v, &f64));
    aegis_witval_delete(v);
    v = aegis_witval_new_f64(-2.25);
    CHECK(aegis_witval_get_f64(v, &f64) && f64 == -2.25 && !aegis_witval_get_f32(v, &f32));
    aegis_witval_delete(v);

    OK(aegis_witval_new_char(0x1F600, &v));
    CHECK(aegis_witval_get_char(v, &u32) && u32 == 0x1F600 && aegis_witval_kind(v) == AEGIS_WIT_CHAR);
    aegis_witval_delete(v);
    FAILS(aegis_witval_new_char(0xD800, &v), INV, "scalar");
    CHECK(v == NULL);
    FAILS(aegis_witval_new_char(0x110000, &v), INV, NULL);

    /* Strings hold any UTF-8, NUL included, and stay NUL-terminated. */
    OK(aegis_witval_new_string("a\0b", 3, &v));
    const char *text = NULL;
    size_t len = 0;
    CHECK(aegis_witval_get_string(v, &text, &len) && len == 3 && memcmp(text, "a\0b", 4) == 0);
    CHECK(aegis_witval_len(v) == 3 && !aegis_witval_get_bool(v, &b));
    aegis_witval_delete(v);
    const char bad_utf8[] = {'a', (char)0xff, 0};
    FAILS(aegis_witval_new_string(bad_utf8, 2, &v), INV, "UTF-8");
    FAILS(aegis_witval_new_string(NULL, 1, &v), INV, "text");
    OK(aegis_witval_new_string(NULL, 0, &v)); /* the empty string */
    CHECK(aegis_witval_get_string(v, &text, &len) && len == 0 && text[0] == '\0');
    aegis_witval_delete(v);

    /* list<u8> from bytes and back, and its items one by one. */
    const uint8_t bytes[] = {0, 1, 255};
    OK(aegis_witval_new_bytes(bytes, 3, &v));
    uint8_t back[8] = {0};
    CHECK(aegis_witval_get_bytes(v, NULL, 0, &len) && len == 3);
    CHECK(aegis_witval_get_bytes(v, back, 2, &len) && len == 3 && back[0] == 0 && back[1] == 1 &&
          back[2] == 0);
    CHECK(aegis_witval_kind(v) == AEGIS_WIT_LIST && aegis_witval_len(v) == 3);
    CHECK(aegis_witval_get_u8(aegis_witval_at(v, 2), &u8) && u8 == 255);
    CHECK(aegis_witval_at(v, 3) == NULL);
    aegis_witval_delete(v);
    FAILS(aegis_witval_new_bytes(NULL, 2, &v), INV, "data");

    /* A list of strings is no list<u8>. */
    aegis_witval_t *list = aegis_witval_new_list();
    OK(aegis_witval_push(list, str_val("x")));
    OK(aegis_witval_push(list, str_val("")));
    CHECK(!aegis_witval_get_bytes(list, back, sizeof back, &len));
    CHECK(aegis_witval_len(list) == 2);
    check_wave(list, "[\"x\", \"\"]");
    aegis_witval_t *copy = aegis_witval_clone(list);
    aegis_witval_delete(list);
    check_wave(copy, "[\"x\", \"\"]"); /* a deep copy outlives the original */
    aegis_witval_delete(copy);
    CHECK(aegis_witval_clone(NULL) == NULL);

    /* Records: fields by index and by name; setting a field again replaces it. */
    aegis_witval_t *p = point(1, 2, "before");
    OK(aegis_witval_record_set(p, "label", str_val("p")));
    CHECK(aegis_witval_kind(p) == AEGIS_WIT_RECORD && aegis_witval_len(p) == 3);
    CHECK(strcmp(aegis_witval_field_name(p, 0), "x") == 0);
    CHECK(strcmp(aegis_witval_field_name(p, 2), "label") == 0);
    CHECK(aegis_witval_field_name(p, 3) == NULL);
    CHECK(aegis_witval_get_s32(aegis_witval_at(p, 1), &s32) && s32 == 2);
    CHECK(aegis_witval_get_string(aegis_witval_field(p, "label"), &text, &len) &&
          strcmp(text, "p") == 0);
    CHECK(aegis_witval_field(p, "nope") == NULL && aegis_witval_field(p, NULL) == NULL);
    check_wave(p, "{x: 1, y: 2, label: \"p\"}");

    /* Tuples, variants, enums, options, results, flags. */
    aegis_witval_t *tuple = aegis_witval_new_tuple();
    OK(aegis_witval_push(tuple, aegis_witval_new_u32(7)));
    OK(aegis_witval_push(tuple, p)); /* the tuple owns p now */
    CHECK(aegis_witval_kind(tuple) == AEGIS_WIT_TUPLE && aegis_witval_len(tuple) == 2);
    CHECK(aegis_witval_kind(aegis_witval_at(tuple, 1)) == AEGIS_WIT_RECORD);
    check_wave(tuple, "(7, {x: 1, y: 2, label: \"p\"})");
    aegis_witval_delete(tuple);

    OK(aegis_witval_new_variant("circle", aegis_witval_new_f64(2.5), &v));
    CHECK(aegis_witval_kind(v) == AEGIS_WIT_VARIANT);
    CHECK(strcmp(aegis_witval_case_name(v), "circle") == 0);
    CHECK(aegis_witval_get_f64(aegis_witval_payload(v), &f64) && f64 == 2.5);
    aegis_witval_delete(v);
    OK(aegis_witval_new_variant("empty", NULL, &v));
    CHECK(aegis_witval_payload(v) == NULL);
    aegis_witval_delete(v);
    FAILS(aegis_witval_new_variant(NULL, aegis_witval_new_u8(1), &v), INV, "case_name");
    OK(aegis_witval_new_enum("green", &v));
    CHECK(aegis_witval_kind(v) == AEGIS_WIT_ENUM && strcmp(aegis_witval_case_name(v), "green") == 0);
    aegis_witval_delete(v);

    OK(aegis_witval_new_option(NULL, &v));
    CHECK(aegis_witval_kind(v) == AEGIS_WIT_OPTION && aegis_witval_payload(v) == NULL);
    CHECK(strcmp(aegis_witval_case_name(v), "none") == 0);
    aegis_witval_t *inner = v;
    OK(aegis_witval_new_option(inner, &v)); /* some(none) */
    CHECK(strcmp(aegis_witval_case_name(v), "some") == 0);
    CHECK(aegis_witval_kind(aegis_witval_payload(v)) == AEGIS_WIT_OPTION);
    check_wave(v, "some(none)");
    aegis_witval_delete(v);

    OK(aegis_witval_new_result(true, str_val("yes"), &v));
    CHECK(aegis_witval_kind(v) == AEGIS_WIT_RESULT && aegis_witval_is_ok(v));
    CHECK(strcmp(aegis_witval_case_name(v), "ok") == 0);
    CHECK(aegis_witval_kind(aegis_witval_payload(v)) == AEGIS_WIT_STRING);
    aegis_witval_delete(v);
    OK(aegis_witval_new_result(false, NULL, &v));
    CHECK(!aegis_witval_is_ok(v) && aegis_witval_payload(v) == NULL);
    CHECK(strcmp(aegis_witval_case_name(v), "err") == 0);
    aegis_witval_delete(v);

    const char *names[] = {"read", "exec"};
    OK(aegis_witval_new_flags(names, 2, &v));
    CHECK(aegis_witval_kind(v) == AEGIS_WIT_FLAGS && aegis_witval_len(v) == 2);
    CHECK(strcmp(aegis_witval_flag_name(v, 1), "exec") == 0 && aegis_witval_flag_name(v, 2) == NULL);
    aegis_witval_delete(v);
    OK(aegis_witval_new_flags(NULL, 0, &v)); /* no flag set */
    CHECK(aegis_witval_len(v) == 0);
    aegis_witval_delete(v);
    const char *with_null[] = {"read", NULL};
    FAILS(aegis_witval_new_flags(with_null, 2, &v), INV, "names[1]");
    FAILS(aegis_witval_new_flags(NULL, 1, &v), INV, "names");

    /* Misuse: wrong container kinds, NULL items (ownership taken anyway). */
    aegis_witval_t *n = aegis_witval_new_u32(1);
    FAILS(aegis_witval_push(n, aegis_witval_new_u8(1)), INV, "not a list or tuple");
    FAILS(aegis_witval_record_set(n, "x", aegis_witval_new_u8(1)), INV, "not a record");
    list = aegis_witval_new_list();
    FAILS(aegis_witval_push(list, NULL), INV, "item");
    FAILS(aegis_witval_push(NULL, aegis_witval_new_u8(1)), INV, "container");
    aegis_witval_t *rec = aegis_witval_new_record();
    FAILS(aegis_witval_record_set(rec, NULL, aegis_witval_new_u8(1)), INV, "name");
    FAILS(aegis_witval_record_set(rec, bad_utf8, aegis_witval_new_u8(1)), INV, "UTF-8");
    FAILS(aegis_witval_record_set(rec, "x", NULL), INV, "item");
    FAILS(aegis_witval_record_set(NULL, "x", aegis_witval_new_u8(1)), INV, "record");
    CHECK(aegis_witval_len(rec) == 0);
    aegis_witval_delete(rec);
    aegis_witval_delete(list);
    aegis_witval_delete(n);

    /* Nesting is bounded: the tree can always be converted and freed. */
    v = aegis_witval_new_u8(1);
    aegis_error_t *err = NULL;
    int depth = 1;
    while (err == NULL) {
        aegis_witval_t *outer = aegis_witval_new_list();
        err = aegis_witval_push(outer, v); /* consumes v, even when refused */
        v = outer;
        depth++;
    }
    CHECK(aegis_error_code(err) == INV && strstr(aegis_error_message(err), "deeper") != NULL);
    CHECK(depth == AEGIS_WITVAL_MAX_DEPTH + 1);
    aegis_error_delete(err);
    aegis_witval_delete(v);

    /* NULL values: every accessor answers "nothing", no crash. */
    CHECK(aegis_witval_kind(NULL) == AEGIS_WIT_INVALID);
    CHECK(strcmp(aegis_witkind_name(AEGIS_WIT_INVALID), "invalid") == 0);
    CHECK(strcmp(aegis_witkind_name(AEGIS_WIT_FLAGS), "flags") == 0);
    CHECK(strcmp(aegis_witkind_name(999), "invalid") == 0);
    CHECK(!aegis_witval_get_bool(NULL, &b) && !aegis_witval_get_s32(NULL, &s32));
    CHECK(!aegis_witval_get_char(NULL, &u32) && !aegis_witval_get_string(NULL, &text, &len));
    CHECK(!aegis_witval_get_bytes(NULL, back, 1, &len));
    CHECK(aegis_witval_len(NULL) == 0 && aegis_witval_at(NULL, 0) == NULL);
    CHECK(aegis_witval_field_name(NULL, 0) == NULL && aegis_witval_field(NULL, "x") == NULL);
    CHECK(aegis_witval_case_name(NULL) == NULL && !aegis_witval_is_ok(NULL));
    CHECK(aegis_witval_payload(NULL) == NULL && aegis_witval_flag_name(NULL, 0) == NULL);
    v = aegis_witval_new_s32(1);
    CHECK(!aegis_witval_get_s32(v, NULL) && !aegis_witval_get_string(v, NULL, &len));
    CHECK(!aegis_witval_get_bytes(v, NULL, 0, NULL));
    char *wave = NULL;
    FAILS(aegis_witval_to_wave(NULL, &wave), INV, "value");
    FAILS(aegis_witval_to_wave(v, NULL), INV, "text_out");
    aegis_witval_delete(v);
    FAILS(aegis_witval_new_char('a', NULL), INV, "value_out");
    FAILS(aegis_witval_new_string("a", 1, NULL), INV, "value_out");
    FAILS(aegis_witval_new_bytes(bytes, 1, NULL), INV, "value_out");
    FAILS(aegis_witval_new_enum(NULL, &v), INV, "case_name");
    FAILS(aegis_witval_new_enum("a", NULL), INV, "value_out");
    FAILS(aegis_witval_new_variant("a", NULL, NULL), INV, "value_out");
    FAILS(aegis_witval_new_option(aegis_witval_new_u8(1), NULL), INV, "value_out");
    FAILS(aegis_witval_new_result(true, aegis_witval_new_u8(1), NULL), INV, "value_out");
    FAILS(aegis_witval_new_flags(names, 2, NULL), INV, "value_out");
    aegis_witval_delete(NULL);
}

/* ------------------------------------------------------- component calls */

/* Calls `name` with `args` (consumed) and returns its result. */
static aegis_witval_t *call(aegis_sandbox_t *sb, const char *name, aegis_witval_t **args,
                            size_t nargs) {
    aegis_witval_t *result = (aegis_witval_t *)1;
    aegis_error_t *err =
        aegis_sandbox_call_component(sb, name, (const aegis_witval_t *const *)args, nargs, &result);
    for (size_t i = 0; i < nargs; i++) aegis_witval_delete(args[i]);
    if (err != NULL) {
        fprintf(stderr, "%s: [%s] %s\n", name, aegis_error_code_name(aegis_error_code(err)),
                aegis_error_message(err));
        exit(1);
    }
    return result;
}

/* The error of calling `name` with `args` (consumed). */
static aegis_error_t *call_error(aegis_sandbox_t *sb, const char *name, aegis_witval_t **args,
                                 size_t nargs) {
    aegis_witval_t *result = (aegis_witval_t *)1;
    aegis_error_t *err =
        aegis_sandbox_call_component(sb, name, (const aegis_witval_t *const *)args, nargs, &result);
    for (size_t i = 0; i < nargs; i++) aegis_witval_delete(args[i]);
    CHECK(err != NULL && result == NULL);
    return err;
}

/* echo-NAME(v) must give back v: the same WAVE text and kind. Consumes v. */
static void echo(aegis_sandbox_t *sb, const char *kind, aegis_witval_t *v, const char *wave) {
    char name[64];
    snprintf(name, sizeof name, "echo-%s", kind);
    check_wave(v, wave);
    aegis_witkind_t k = aegis_witval_kind(v);
    aegis_witval_t *result = call(sb, name, &v, 1);
    CHECK(aegis_witval_kind(result) == k);
    check_wave(result, wave);
    aegis_witval_delete(result);
}

static aegis_witval_t *option(aegis_witval_t *payload) {
    aegis_witval_t *v = NULL;
    OK(aegis_witval_new_option(payload, &v));
    return v;
}

static void test_every_wit_type(aegis_sandbox_t *sb) {
    aegis_witval_t *v = NULL;
    echo(sb, "bool", aegis_witval_new_bool(true), "true");
    echo(sb, "s8", aegis_witval_new_s8(-128), "-128");
    echo(sb, "u8", aegis_witval_new_u8(255), "255");
    echo(sb, "s16", aegis_witval_new_s16(-32768), "-32768");
    echo(sb, "u16", aegis_witval_new_u16(65535), "65535");
    echo(sb, "s32", aegis_witval_new_s32(INT32_MIN), "-2147483648");
    echo(sb, "u32", aegis_witval_new_u32(UINT32_MAX), "4294967295");
    echo(sb, "s64", aegis_witval_new_s64(INT64_MIN), "-9223372036854775808");
    echo(sb, "u64", aegis_witval_new_u64(UINT64_MAX), "18446744073709551615");
    echo(sb, "f32", aegis_witval_new_f32(1.5f), "1.5");
    echo(sb, "f64", aegis_witval_new_f64(-2.25), "-2.25");
    OK(aegis_witval_new_char(0x1F600, &v));
    echo(sb, "char", v, "'\xf0\x9f\x98\x80'");
    OK(aegis_witval_new_string("h\xc3\xa9llo", 6, &v));
    echo(sb, "string", v, "\"h\xc3\xa9llo\"");
    const uint8_t bytes[] = {0, 1, 255};
    OK(aegis_witval_new_bytes(bytes, 3, &v));
    echo(sb, "bytes", v, "[0, 1, 255]");
    v = aegis_witval_new_list();
    OK(aegis_witval_push(v, str_val("a")));
    OK(aegis_witval_push(v, str_val("")));
    echo(sb, "strings", v, "[\"a\", \"\"]");
    echo(sb, "record", point(1, -2, "p"), "{x: 1, y: -2, label: \"p\"}");
    v = aegis_witval_new_tuple();
    OK(aegis_witval_push(v, aegis_witval_new_u32(7)));
    OK(aegis_witval_push(v, str_val("t")));
    OK(aegis_witval_push(v, aegis_witval_new_bool(false)));
    echo(sb, "tuple", v, "(7, \"t\", false)");
    OK(aegis_witval_new_variant("circle", aegis_witval_new_f64(2.5), &v));
    echo(sb, "variant", v, "circle(2.5)");
    OK(aegis_witval_new_variant("rect", point(3, 4, "r"), &v));
    echo(sb, "variant", v, "rect({x: 3, y: 4, label: \"r\"})");
    OK(aegis_witval_new_variant("empty", NULL, &v));
    echo(sb, "variant", v, "empty");
    OK(aegis_witval_new_enum("green", &v));
    echo(sb, "enum", v, "green");
    echo(sb, "option", option(str_val("x")), "some(\"x\")");
    echo(sb, "option", option(NULL), "none");
    echo(sb, "nested-option", option(NULL), "none");
    echo(sb, "nested-option", option(option(NULL)), "some(none)");
    echo(sb, "nested-option", option(option(aegis_witval_new_u32(5))), "some(some(5))");
    OK(aegis_witval_new_result(true, str_val("yes"), &v));
    echo(sb, "result", v, "ok(\"yes\")");
    OK(aegis_witval_new_result(false, str_val("no"), &v));
    echo(sb, "result", v, "err(\"no\")");
    const char *flags[] = {"read", "exec"};
    OK(aegis_witval_new_flags(flags, 2, &v));
    echo(sb, "flags", v, "{read, exec}");
    OK(aegis_witval_new_flags(NULL, 0, &v));
    echo(sb, "flags", v, "{}");
    v = aegis_witval_new_list();
    OK(aegis_witval_push(v, point(1, 2, "a")));
    OK(aegis_witval_push(v, point(-3, 4, "b")));
    echo(sb, "points", v, "[{x: 1, y: 2, label: \"a\"}, {x: -3, y: 4, label: \"b\"}]");
    v = aegis_witval_new_list();
    aegis_witval_t *row = aegis_witval_new_list();
    OK(aegis_witval_push(row, aegis_witval_new_u32(1)));
    OK(aegis_witval_push(row, aegis_witval_new_u32(2)));
    OK(aegis_witval_push(v, row));
    OK(aegis_witval_push(v, aegis_witval_new_list()));
    echo(sb, "nested", v, "[[1, 2], []]");

    /* Results read with the accessors. */
    aegis_witval_t *arg = point(5, 6, "q");
    aegis_witval_t *r = call(sb, "echo-record", &arg, 1);
    int32_t x = 0;
    const char *text = NULL;
    size_t len = 0;
    CHECK(aegis_witval_get_s32(aegis_witval_field(r, "x"), &x) && x == 5);
    CHECK(aegis_witval_get_string(aegis_witval_at(r, 2), &text, &len) && strcmp(text, "q") == 0);
    aegis_witval_delete(r);
}

static void test_component_calls(aegis_runtime_t *rt, aegis_module_t *values) {
    aegis_sandbox_t *sb = sandbox_with(rt, values);
    test_every_wit_type(sb);

    aegis_witval_t *args[2];
    const char *text = NULL;
    size_t len = 0;
    int32_t s32 = 0;
    uint32_t u32 = 0;
    args[0] = str_val("world");
    aegis_witval_t *r = call(sb, "greet", args, 1);
    CHECK(aegis_witval_get_string(r, &text, &len) && strcmp(text, "Hello, world!") == 0);
    aegis_witval_delete(r);
    args[0] = aegis_witval_new_s32(2), args[1] = aegis_witval_new_s32(40);
    r = call(sb, "add", args, 2);
    CHECK(aegis_witval_get_s32(r, &s32) && s32 == 42);
    aegis_witval_delete(r);
    CHECK(call(sb, "nothing", NULL, 0) == NULL); /* no result: NULL */
    args[0] = aegis_witval_new_s32(7), args[1] = aegis_witval_new_s32(2);
    r = call(sb, "divide", args, 2);
    CHECK(aegis_witval_is_ok(r) && aegis_witval_get_s32(aegis_witval_payload(r), &s32) && s32 == 3);
    aegis_witval_delete(r);
    args[0] = aegis_witval_new_s32(1), args[1] = aegis_witval_new_s32(0);
    r = call(sb, "divide", args, 2);
    CHECK(!aegis_witval_is_ok(r));
    CHECK(aegis_witval_get_string(aegis_witval_payload(r), &text, &len) &&
          strcmp(text, "division by zero") == 0);
    aegis_witval_delete(r);
    args[0] = aegis_witval_new_u32(1000);
    r = call(sb, "make-bytes", args, 1);
    uint8_t buf[1000];
    CHECK(aegis_witval_get_bytes(r, buf, sizeof buf, &len) && len == 1000);
    CHECK(buf[0] == 'a' && buf[999] == 'a');
    aegis_witval_delete(r);
    args[0] = aegis_witval_new_u32(5);
    r = call(sb, "make-string", args, 1);
    CHECK(aegis_witval_get_string(r, &text, &len) && strcmp(text, "aaaaa") == 0);
    aegis_witval_delete(r);

    /* Functions of an exported interface: `interface#func`. */
    args[0] = str_val("abc");
    r = call(sb, "aegis:test/text#upper", args, 1);
    CHECK(aegis_witval_get_string(r, &text, &len) && strcmp(text, "ABC") == 0);
    aegis_witval_delete(r);
    args[0] = str_val("h\xc3\xa9llo");
    r = call(sb, "aegis:test/text#count", args, 1);
    CHECK(aegis_witval_get_u32(r, &u32) && u32 == 5);
    aegis_witval_delete(r);

    /* WAVE text in and out. */
    char *wave = NULL;
    OK(aegis_sandbox_invoke(sb, "greet(\"wave\")", &wave));
    CHECK(strcmp(wave, "\"Hello, wave!\"") == 0);
    aegis_string_free(wave);
    OK(aegis_sandbox_invoke(sb, "echo-record({x: 1, y: 2, label: \"p\"})", &wave));
    CHECK(strcmp(wave, "{x: 1, y: 2, label: \"p\"}") == 0);
    aegis_string_free(wave);
    OK(aegis_sandbox_invoke(sb, "aegis:test/text#upper(\"x\")", &wave));
    CHECK(strcmp(wave, "\"X\"") == 0);
    aegis_string_free(wave);
    wave = (char *)1;
    OK(aegis_sandbox_invoke(sb, "nothing", &wave));
    CHECK(wave == NULL);
    FAILS(aegis_sandbox_invoke(sb, "greet(42)", &wave), INV, "WAVE");
    FAILS(aegis_sandbox_invoke(sb, "greet(\"unterminated)", &wave), INV, NULL);
    FAILS(aegis_sandbox_invoke(sb, "no-such-function()", &wave), AEGIS_ERROR_EXPORT_NOT_FOUND,
          NULL);

    /* Type checks before anything runs. */
    args[0] = str_val("7");
    aegis_error_t *err = call_error(sb, "echo-s32", args, 1);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_SIGNATURE_MISMATCH);
    CHECK(strstr(aegis_error_message(err), "expected s32, got string") != NULL);
    CHECK(strcmp(aegis_error_get_text(err, "name"), "echo-s32") == 0);
    aegis_error_delete(err);
    args[0] = aegis_witval_new_s32(1);
    FAILS(call_error(sb, "add", args, 1), AEGIS_ERROR_SIGNATURE_MISMATCH, "1 arguments");
    args[0] = aegis_witval_new_record(); /* fields out of order */
    OK(aegis_witval_record_set(args[0], "y", aegis_witval_new_s32(1)));
    OK(aegis_witval_record_set(args[0], "x", aegis_witval_new_s32(1)));
    OK(aegis_witval_record_set(args[0], "label", str_val("l")));
    FAILS(call_error(sb, "echo-record", args, 1), AEGIS_ERROR_SIGNATURE_MISMATCH, NULL);
    OK(aegis_witval_new_enum("purple", &args[0]));
    FAILS(call_error(sb, "echo-enum", args, 1), INV, "purple");
    args[0] = point(1, 1, "deep"); /* a list<u32> holding a record */
    aegis_witval_t *nested = aegis_witval_new_list();
    OK(aegis_witval_push(nested, args[0]));
    args[0] = nested;
    FAILS(call_error(sb, "echo-nested", args, 1), AEGIS_ERROR_SIGNATURE_MISMATCH, "[0]");
    FAILS(call_error(sb, "no-such-function", NULL, 0), AEGIS_ERROR_EXPORT_NOT_FOUND, NULL);
    args[0] = aegis_witval_new_u8(1);
    args[1] = NULL;
    FAILS(call_error(sb, "add", args, 2), INV, "args[1]");

    /* The sandbox still works after refused calls. */
    args[0] = aegis_witval_new_s32(-5);
    r = call(sb, "echo-s32", args, 1);
    CHECK(aegis_witval_get_s32(r, &s32) && s32 == -5);
    aegis_witval_delete(r);

    /* A trap leaves the component unusable until reset. */
    err = call_error(sb, "do-panic", NULL, 0);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_TRAP);
    aegis_error_delete(err);
    args[0] = aegis_witval_new_s32(1);
    err = call_error(sb, "echo-s32", args, 1);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_TRAP);
    CHECK(strcmp(aegis_error_get_text(err, "trap_code"), "cannot_enter_component") == 0);
    aegis_error_delete(err);
    OK(aegis_sandbox_reset(sb));
    args[0] = aegis_witval_new_s32(9);
    r = call(sb, "echo-s32", args, 1);
    CHECK(aegis_witval_get_s32(r, &s32) && s32 == 9);
    aegis_witval_delete(r);

    /* Core-module functions are refused on a component and vice versa. */
    uint64_t size = 0;
    uint8_t *out = NULL;
    FAILS(aegis_sandbox_memory_size(sb, NULL, &size), INV, NULL);
    FAILS(aegis_sandbox_call_bytes(sb, "greet", (const uint8_t *)"x", 1, &out, &len), INV, NULL);
    aegis_module_t *core = wat(rt, BYTES_GUEST);
    aegis_sandbox_t *core_sb = sandbox_with(rt, core);
    FAILS(call_error(core_sb, "echo", NULL, 0), INV, "core module");
    aegis_sandbox_delete(core_sb);
    aegis_module_delete(core);

    /* NULL pointers. */
    r = NULL;
    FAILS(aegis_sandbox_call_component(NULL, "nothing", NULL, 0, &r), INV, "sandbox");
    FAILS(aegis_sandbox_call_component(sb, NULL, NULL, 0, &r), INV, "name");
    FAILS(aegis_sandbox_call_component(sb, "add", NULL, 2, &r), INV, "args");
    FAILS(aegis_sandbox_call_component(sb, "nothing", NULL, 0, NULL), INV, "result_out");
    FAILS(aegis_sandbox_invoke(NULL, "nothing", &wave), INV, "sandbox");
    FAILS(aegis_sandbox_invoke(sb, NULL, &wave), INV, "call");
    FAILS(aegis_sandbox_invoke(sb, "nothing", NULL), INV, "result_out");
    aegis_sandbox_delete(sb);
}

/* Limits apply to component calls as to any call. */
static void test_component_limits(aegis_runtime_t *rt, aegis_module_t *values) {
    aegis_builder_t *b = aegis_builder_new();
    OK(aegis_builder_set(b, "result_limit", "8"));
    OK(aegis_builder_fuel_limit(b, 10000000));
    aegis_sandbox_t *sb = NULL;
    OK(aegis_builder_build_sandbox(b, rt, &sb));
    OK(aegis_sandbox_load_module(sb, values));
    aegis_witval_t *arg = str_val("world");
    aegis_error_t *err = call_error(sb, "greet", &arg, 1);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_RESULT_TOO_LARGE);
    CHECK(detail(err, "limit") == 8 && detail(err, "size") > 8);
    aegis_error_delete(err);
    OK(aegis_sandbox_reset(sb));
    arg = str_val("abcd"); /* 4 bytes out: within the limit */
    aegis_witval_t *r = call(sb, "echo-string", &arg, 1);
    CHECK(aegis_witval_len(r) == 4);
    aegis_witval_delete(r);
    /* A guest that spins runs out of fuel; the next call needs a reset. */
    FAILS(call_error(sb, "spin", NULL, 0), AEGIS_ERROR_OUT_OF_FUEL, NULL);
    OK(aegis_sandbox_reset(sb));
    /* The interrupt handle stops component calls too (a pending request
     * stops the next call). */
    aegis_interrupt_handle_t *handle = aegis_sandbox_interrupt_handle(sb);
    aegis_interrupt_handle_interrupt(handle);
    FAILS(call_error(sb, "spin", NULL, 0), AEGIS_ERROR_INTERRUPTED, NULL);
    aegis_interrupt_handle_delete(handle);
    aegis_metrics_t metrics;
    OK(aegis_sandbox_metrics(sb, &metrics));
    CHECK(metrics.calls >= 4);
    aegis_sandbox_delete(sb);

    /* A list counts 40 bytes per item against the limit. */
    b = aegis_builder_new();
    OK(aegis_builder_result_limit(b, 40 * 100));
    OK(aegis_builder_build_sandbox(b, rt, &sb));
    OK(aegis_sandbox_load_module(sb, values));
    arg = aegis_witval_new_u32(100);
    r = call(sb, "make-bytes", &arg, 1);
    CHECK(aegis_witval_len(r) == 100);
    aegis_witval_delete(r);
    arg = aegis_witval_new_u32(101);
    FAILS(call_error(sb, "make-bytes", &arg, 1), AEGIS_ERROR_RESULT_TOO_LARGE, NULL);
    aegis_sandbox_delete(sb);
}

/* ----------------------------------------------------------- listing */

static void test_listing(aegis_runtime_t *rt, aegis_module_t *values, aegis_module_t *plugin) {
    CHECK(aegis_module_is_component(values));
    aegis_export_t e;
    OK(aegis_module_export_find(values, "echo-string", &e));
    CHECK(e.ty.kind == AEGIS_EXTERN_COMPONENT_FUNCTION);
    CHECK(strcmp(e.ty.text, "func(v: string) -> string") == 0);
    CHECK(e.ty.nwit_params == 1 && strcmp(e.ty.wit_params[0].name, "v") == 0);
    CHECK(strcmp(e.ty.wit_params[0].ty, "string") == 0 && strcmp(e.ty.wit_result, "string") == 0);
    CHECK(e.ty.nparams == 0 && e.ty.params == NULL);
    OK(aegis_module_export_find(values, "echo-record", &e));
    CHECK(strcmp(e.ty.wit_result, "record { x: s32, y: s32, label: string }") == 0);
    OK(aegis_module_export_find(values, "nothing", &e));
    CHECK(strcmp(e.ty.text, "func()") == 0 && e.ty.nwit_params == 0 && e.ty.wit_params == NULL);
    CHECK(e.ty.wit_result == NULL);
    OK(aegis_module_export_find(values, "aegis:test/text#upper", &e));
    CHECK(e.ty.kind == AEGIS_EXTERN_COMPONENT_FUNCTION);
    CHECK(strcmp(e.ty.text, "func(s: string) -> string") == 0);
    /* Every export of values.wasm is listed, the interface's one by one. */
    size_t functions = 0;
    bool saw_count = false;
    for (size_t i = 0; i < aegis_module_exports_count(values); i++) {
        OK(aegis_module_export(values, i, &e));
        if (e.ty.kind == AEGIS_EXTERN_COMPONENT_FUNCTION) functions++;
        if (strcmp(e.name, "aegis:test/text#count") == 0)
            saw_count = strcmp(e.ty.text, "func(s: string) -> u32") == 0;
    }
    CHECK(functions >= 35 && saw_count);

    /* Imports: an interface's functions with the interface as module, root
     * functions with an empty module. */
    bool saw_transform = false, saw_log = false;
    for (size_t i = 0; i < aegis_module_imports_count(plugin); i++) {
        aegis_import_t imp;
        OK(aegis_module_import(plugin, i, &imp));
        if (strcmp(imp.module, "aegis:test/host") == 0 && strcmp(imp.name, "transform") == 0) {
            saw_transform = imp.ty.kind == AEGIS_EXTERN_COMPONENT_FUNCTION &&
                            strcmp(imp.ty.text, "func(s: string) -> string") == 0;
        }
        if (strcmp(imp.module, "") == 0 && strcmp(imp.name, "log") == 0) {
            saw_log = imp.ty.kind == AEGIS_EXTERN_COMPONENT_FUNCTION &&
                      strcmp(imp.ty.text, "func(msg: string)") == 0 && imp.ty.wit_result == NULL;
        }
    }
    CHECK(saw_transform && saw_log);
    (void)rt;
}

/* ------------------------------------------------- component host functions */

typedef struct {
    int transforms;
    int finalized;
    char logged[64];
    bool fail;           /* transform fails */
    int wrong;           /* transform returns: 1 an s32, 2 nothing */
    aegis_sandbox_t *sb; /* for the re-entry attempt */
    aegis_error_code_t reentry;
} host_t;

static aegis_error_t *host_transform(void *env, const aegis_witval_t *const *args, size_t nargs,
                                     aegis_witval_t **result_out) {
    host_t *h = env;
    const char *text = NULL;
    size_t len = 0;
    CHECK(nargs == 1 && *result_out == NULL);
    CHECK(aegis_witval_get_string(args[0], &text, &len));
    h->transforms++;
    if (h->fail) return aegis_error_new("transform refused by the host");
    if (h->wrong == 1) {
        *result_out = aegis_witval_new_s32(1);
        return NULL;
    }
    if (h->wrong == 2) return NULL;
    if (h->sb != NULL) { /* calling back into the running sandbox: busy */
        aegis_witval_t *r = NULL;
        aegis_error_t *err = aegis_sandbox_call_component(h->sb, "call-log", args, 1, &r);
        h->reentry = aegis_error_code(err);
        aegis_error_delete(err);
    }
    char *out = malloc(len + 3);
    CHECK(out != NULL);
    out[0] = '<';
    memcpy(out + 1, text, len);
    out[len + 1] = '>';
    aegis_error_t *err = aegis_witval_new_string(out, len + 2, result_out);
    free(out);
    return err;
}

static aegis_error_t *host_add(void *env, const aegis_witval_t *const *args, size_t nargs,
                               aegis_witval_t **result_out) {
    (void)env;
    int64_t a = 0, b = 0;
    CHECK(nargs == 2 && aegis_witval_get_s64(args[0], &a) && aegis_witval_get_s64(args[1], &b));
    *result_out = aegis_witval_new_s64(a + b);
    return NULL;
}

static aegis_error_t *host_describe(void *env, const aegis_witval_t *const *args, size_t nargs,
                                    aegis_witval_t **result_out) {
    (void)env, (void)nargs;
    int32_t x = 0, y = 0;
    const char *label = NULL;
    size_t len = 0;
    CHECK(aegis_witval_get_s32(aegis_witval_field(args[0], "x"), &x));
    CHECK(aegis_witval_get_s32(aegis_witval_field(args[0], "y"), &y));
    CHECK(aegis_witval_get_string(aegis_witval_field(args[0], "label"), &label, &len));
    char text[128];
    int n = snprintf(text, sizeof text, "%s@(%d,%d)", label, x, y);
    return aegis_witval_new_string(text, (size_t)n, result_out);
}

static aegis_error_t *host_bytes_len(void *env, const aegis_witval_t *const *args, size_t nargs,
                                     aegis_witval_t **result_out) {
    (void)env, (void)nargs;
    size_t len = 0;
    if (!aegis_witval_get_bytes(args[0], NULL, 0, &len)) return aegis_error_new("not bytes");
    *result_out = aegis_witval_new_u32((uint32_t)len);
    return NULL;
}

static aegis_error_t *host_maybe(void *env, const aegis_witval_t *const *args, size_t nargs,
                                 aegis_witval_t **result_out) {
    (void)env, (void)nargs;
    const aegis_witval_t *some = aegis_witval_payload(args[0]);
    uint32_t n = 0;
    if (some != NULL && aegis_witval_get_u32(some, &n))
        return aegis_witval_new_result(true, aegis_witval_new_u32(n * 2), result_out);
    return aegis_witval_new_result(false, str_val("none"), result_out);
}

static aegis_error_t *host_log(void *env, const aegis_witval_t *const *args, size_t nargs,
                               aegis_witval_t **result_out) {
    host_t *h = env;
    const char *text = NULL;
    size_t len = 0;
    CHECK(nargs == 1 && aegis_witval_get_string(args[0], &text, &len));
    snprintf(h->logged, sizeof h->logged, "%s", text);
    if (h->wrong == 3) *result_out = aegis_witval_new_u8(1); /* a result the import lacks */
    return NULL;
}

static void finalize(void *env) { ((host_t *)env)->finalized++; }

static aegis_sandbox_t *plugin_sandbox(aegis_runtime_t *rt, aegis_module_t *plugin, host_t *h) {
    aegis_sandbox_t *sb = NULL;
    OK(aegis_sandbox_new(rt, &sb));
    OK(aegis_sandbox_register_component(sb, "aegis:test/host#transform", host_transform, h,
                                        finalize));
    OK(aegis_sandbox_register_component(sb, "aegis:test/host#add", host_add, h, finalize));
    OK(aegis_sandbox_register_component(sb, "aegis:test/host#describe", host_describe, h,
                                        finalize));
    OK(aegis_sandbox_register_component(sb, "aegis:test/host#bytes-len", host_bytes_len, h,
                                        finalize));
    OK(aegis_sandbox_register_component(sb, "aegis:test/host#maybe", host_maybe, h, finalize));
    OK(aegis_sandbox_register_component(sb, "log", host_log, h, NULL));
    OK(aegis_sandbox_load_module(sb, plugin));
    return sb;
}

static void test_host_functions(aegis_runtime_t *rt, aegis_module_t *plugin) {
    host_t h;
    memset(&h, 0, sizeof h);
    aegis_sandbox_t *sb = plugin_sandbox(rt, plugin, &h);
    aegis_witval_t *args[2];
    const char *text = NULL;
    size_t len = 0;
    int64_t s64 = 0;
    uint32_t u32 = 0;

    args[0] = str_val("abc");
    aegis_witval_t *r = call(sb, "call-transform", args, 1);
    CHECK(aegis_witval_get_string(r, &text, &len) && strcmp(text, "<abc>") == 0);
    aegis_witval_delete(r);
    args[0] = str_val("x"), args[1] = aegis_witval_new_u32(3);
    r = call(sb, "call-transform-n", args, 2);
    CHECK(aegis_witval_get_string(r, &text, &len) && strcmp(text, "<<<x>>>") == 0);
    aegis_witval_delete(r);
    CHECK(h.transforms == 4);
    aegis_metrics_t metrics;
    OK(aegis_sandbox_last_call_metrics(sb, &metrics));
    CHECK(metrics.host_calls == 3);
    args[0] = aegis_witval_new_s64(INT64_MAX - 1), args[1] = aegis_witval_new_s64(1);
    r = call(sb, "call-add", args, 2);
    CHECK(aegis_witval_get_s64(r, &s64) && s64 == INT64_MAX);
    aegis_witval_delete(r);
    args[0] = point(3, -4, "pt");
    r = call(sb, "call-describe", args, 1);
    CHECK(aegis_witval_get_string(r, &text, &len) && strcmp(text, "pt@(3,-4)") == 0);
    aegis_witval_delete(r);
    static uint8_t blob[5000];
    OK(aegis_witval_new_bytes(blob, sizeof blob, &args[0]));
    r = call(sb, "call-bytes-len", args, 1);
    CHECK(aegis_witval_get_u32(r, &u32) && u32 == 5000);
    aegis_witval_delete(r);
    args[0] = option(aegis_witval_new_u32(21));
    r = call(sb, "call-maybe", args, 1);
    CHECK(aegis_witval_is_ok(r) && aegis_witval_get_u32(aegis_witval_payload(r), &u32) && u32 == 42);
    aegis_witval_delete(r);
    args[0] = option(NULL);
    r = call(sb, "call-maybe", args, 1);
    CHECK(!aegis_witval_is_ok(r));
    CHECK(aegis_witval_get_string(aegis_witval_payload(r), &text, &len) && strcmp(text, "none") == 0);
    aegis_witval_delete(r);
    args[0] = str_val("logged it");
    CHECK(call(sb, "call-log", args, 1) == NULL);
    CHECK(strcmp(h.logged, "logged it") == 0);

    /* The sandbox is busy during a callback: re-entry is refused at once. */
    h.sb = sb;
    args[0] = str_val("r");
    r = call(sb, "call-transform", args, 1);
    CHECK(h.reentry == AEGIS_ERROR_BUSY);
    aegis_witval_delete(r);
    h.sb = NULL;

    /* A failing callback: host_function with its message; the component
     * then needs a reset. */
    h.fail = true;
    args[0] = str_val("abc");
    aegis_error_t *err = call_error(sb, "call-transform", args, 1);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_HOST_FUNCTION);
    CHECK(strstr(aegis_error_message(err), "transform refused by the host") != NULL);
    aegis_error_delete(err);
    h.fail = false;
    args[0] = str_val("abc");
    err = call_error(sb, "call-transform", args, 1);
    CHECK(aegis_error_code(err) == AEGIS_ERROR_TRAP);
    CHECK(strcmp(aegis_error_get_text(err, "trap_code"), "cannot_enter_component") == 0);
    aegis_error_delete(err);
    OK(aegis_sandbox_reset(sb));
    args[0] = str_val("again");
    r = call(sb, "call-transform", args, 1);
    CHECK(aegis_witval_get_string(r, &text, &len) && strcmp(text, "<again>") == 0);
    aegis_witval_delete(r);

    /* Results of the wrong kind, missing or extra: host_function. */
    for (int wrong = 1; wrong <= 3; wrong++) {
        h.wrong = wrong;
        args[0] = str_val("w");
        err = call_error(sb, wrong == 3 ? "call-log" : "call-transform", args, 1);
        if (aegis_error_code(err) != AEGIS_ERROR_HOST_FUNCTION) {
            fprintf(stderr, "wrong result %d: [%s] %s\n", wrong,
                    aegis_error_code_name(aegis_error_code(err)), aegis_error_message(err));
            exit(1);
        }
        aegis_error_delete(err);
        OK(aegis_sandbox_reset(sb));
    }
    h.wrong = 0;
    aegis_sandbox_delete(sb);
    CHECK(h.finalized == 5); /* each finalizer once; `log` has none */

    /* A missing import fails the load; registration errors run the finalizer. */
    memset(&h, 0, sizeof h);
    OK(aegis_sandbox_new(rt, &sb));
    FAILS(aegis_sandbox_load_module(sb, plugin), AEGIS_ERROR_LINK_ERROR, NULL);
    OK(aegis_sandbox_register_component(sb, "log", host_log, &h, finalize));
    FAILS(aegis_sandbox_register_component(sb, "log", host_log, &h, finalize), INV, "log");
    CHECK(h.finalized == 1);
    FAILS(aegis_sandbox_register_component(sb, "x", NULL, &h, finalize), INV, "callback");
    CHECK(h.finalized == 2);
    FAILS(aegis_sandbox_register_component(sb, NULL, host_log, &h, finalize), INV, "name");
    FAILS(aegis_sandbox_register_component(NULL, "x", host_log, &h, finalize), INV, "sandbox");
    CHECK(h.finalized == 4);
    aegis_sandbox_delete(sb);
    CHECK(h.finalized == 5);
}

int main(int argc, char **argv) {
    if (argc > 1) root = argv[1];
    aegis_runtime_t *rt = NULL;
    OK(aegis_runtime_new(&rt));
    test_value_trees();
    test_memory(rt);
    test_bytes_wat();
    test_bytes_guests(rt);
    aegis_module_t *values = guest(rt, "values.wasm");
    aegis_module_t *plugin = guest(rt, "plugin.wasm");
    test_listing(rt, values, plugin);
    test_component_calls(rt, values);
    test_component_limits(rt, values);
    test_host_functions(rt, plugin);

    /* result_limit is in the options list (and so settable by name). */
    bool listed = false;
    for (size_t i = 0; i < aegis_option_count(); i++)
        if (strcmp(aegis_option_name(i), "result_limit") == 0)
            listed = aegis_option_scope(i) == AEGIS_SCOPE_BOTH;
    CHECK(listed);
    FAILS(aegis_builder_result_limit(NULL, 1), INV, "builder");

    aegis_module_delete(values);
    aegis_module_delete(plugin);
    aegis_runtime_delete(rt);
    return done("test_data");
}
