// Proves include/aegis.h compiles and links as C++ (c++ -std=c++17 -Wall -Werror).
#include "aegis.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

namespace {

// Owning wrappers are the idiomatic C++ use of the *_delete functions.
struct ErrorDeleter {
    void operator()(aegis_error_t *e) const { aegis_error_delete(e); }
};
struct RuntimeDeleter {
    void operator()(aegis_runtime_t *r) const { aegis_runtime_delete(r); }
};
struct ModuleDeleter {
    void operator()(aegis_module_t *m) const { aegis_module_delete(m); }
};
struct SandboxDeleter {
    void operator()(aegis_sandbox_t *s) const { aegis_sandbox_delete(s); }
};
struct InterruptDeleter {
    void operator()(aegis_interrupt_handle_t *h) const { aegis_interrupt_handle_delete(h); }
};
struct WitvalDeleter {
    void operator()(aegis_witval_t *v) const { aegis_witval_delete(v); }
};
using Error = std::unique_ptr<aegis_error_t, ErrorDeleter>;
using Witval = std::unique_ptr<aegis_witval_t, WitvalDeleter>;

extern "C" aegis_error_t *triple(void *, aegis_caller_t *, const aegis_val_t *args,
                                 size_t, aegis_val_t *results, size_t) {
    results[0].of.i32 = args[0].of.i32 * 3;
    return nullptr;
}

int fail(const char *what, aegis_error_t *raw) {
    Error err(raw);
    std::fprintf(stderr, "%s: %s\n", what, err ? aegis_error_message(err.get()) : "?");
    return 1;
}

}  // namespace

int main() {
    aegis_builder_t *builder = aegis_builder_new();
    if (aegis_error_t *e = aegis_builder_fuel_limit(builder, 1000000)) return fail("fuel", e);
    aegis_runtime_t *raw_rt = nullptr;
    if (aegis_error_t *e = aegis_builder_build(builder, &raw_rt)) return fail("build", e);
    std::unique_ptr<aegis_runtime_t, RuntimeDeleter> rt(raw_rt);

    aegis_module_t *raw_m = nullptr;
    const char *text =
        "(module (import \"env\" \"triple\" (func $t (param i32) (result i32)))"
        " (func (export \"f\") (param i32) (result i32) (call $t (local.get 0))))";
    if (aegis_error_t *e = aegis_module_load_wat(rt.get(), text, &raw_m)) return fail("wat", e);
    std::unique_ptr<aegis_module_t, ModuleDeleter> module(raw_m);

    aegis_sandbox_t *raw_sb = nullptr;
    if (aegis_error_t *e = aegis_sandbox_new(rt.get(), &raw_sb)) return fail("sandbox", e);
    std::unique_ptr<aegis_sandbox_t, SandboxDeleter> sandbox(raw_sb);
    const aegis_valkind_t i32 = AEGIS_I32;
    if (aegis_error_t *e = aegis_sandbox_register_func(sandbox.get(), "env", "triple", &i32, 1,
                                                       &i32, 1, triple, nullptr, nullptr))
        return fail("register", e);
    if (aegis_error_t *e = aegis_sandbox_load_module(sandbox.get(), module.get()))
        return fail("load", e);

    aegis_val_t arg{};
    arg.kind = AEGIS_I32;
    arg.of.i32 = 14;
    aegis_val_t result{};
    if (aegis_error_t *e = aegis_sandbox_call(sandbox.get(), "f", &arg, 1, &result, 1))
        return fail("call", e);
    Error missing(aegis_sandbox_call_void(sandbox.get(), "missing"));

    // An interrupt handle used from a std::thread stops the next call.
    std::unique_ptr<aegis_interrupt_handle_t, InterruptDeleter> handle(
        aegis_sandbox_interrupt_handle(sandbox.get()));
    std::thread([h = handle.get()] { aegis_interrupt_handle_interrupt(h); }).join();
    Error interrupted(aegis_sandbox_call(sandbox.get(), "f", &arg, 1, &result, 1));
    Error after(aegis_sandbox_call(sandbox.get(), "f", &arg, 1, &result, 1));

    // A component value tree, owned through unique_ptr; a container takes
    // ownership of what is pushed (release()).
    Witval list(aegis_witval_new_list());
    Witval item(aegis_witval_new_u32(7));
    Error pushed(aegis_witval_push(list.get(), item.release()));
    char *wave = nullptr;
    Error printed(aegis_witval_to_wave(list.get(), &wave));
    const bool wave_ok = !pushed && !printed && wave != nullptr && std::strcmp(wave, "[7]") == 0 &&
                         aegis_witval_kind(list.get()) == AEGIS_WIT_LIST;
    aegis_string_free(wave);

    const bool ok = wave_ok && result.kind == AEGIS_I32 && result.of.i32 == 42 && missing &&
                    aegis_error_code(missing.get()) == AEGIS_ERROR_EXPORT_NOT_FOUND &&
                    interrupted &&
                    aegis_error_code(interrupted.get()) == AEGIS_ERROR_INTERRUPTED && !after;
    std::printf("header_check (C++): %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
