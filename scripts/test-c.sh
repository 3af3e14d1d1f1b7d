#!/usr/bin/env bash
# C API suite: header freshness, function coverage, the C test programs run
# natively and under valgrind memcheck, the README's C snippets, the C++
# header check, the README's example build line, static linking, and
# install + pkg-config.
# Usage: ./scripts/test-c.sh   (run by ./scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

root="$PWD"
lib="${CARGO_TARGET_DIR:-$root/target}/debug"
build="$(mktemp -d /tmp/aegis-c-tests.XXXXXX)"
trap 'rm -rf "$build"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); printf '  ok    %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf '  FAIL  %s\n' "$1"; }
# Runs "$@" quietly, recording a pass or a failure named $name (output shown on failure).
check() {
    local name="$1"; shift
    if "$@" >"$build/out.txt" 2>&1; then pass "$name"; else fail "$name"; cat "$build/out.txt"; fi
}

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "installing $2"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq "$2" >/dev/null; fi
}
need cc gcc
need c++ g++
need valgrind valgrind
need pkg-config pkg-config

echo "building libaegis (debug)"
cargo build -q -p aegis-capi

echo "header and coverage"
# The test writes cbindgen's output to target/generated/aegis.h (never to
# include/) and fails if the committed header differs; show the difference.
header_fresh() {
    cargo test -q -p aegis-capi --test header && return 0
    local generated="${CARGO_TARGET_DIR:-$root/target}/generated/aegis.h"
    [ -f "$generated" ] && diff -u include/aegis.h "$generated" | head -60
    return 1
}
check "include/aegis.h matches cbindgen" header_fresh
printf '#include "aegis.h"\nint main(void) { return 0; }\n' >"$build/c99.c"
check "aegis.h compiles as strict C99" \
    cc -std=c99 -pedantic-errors -Wall -Wextra -Werror -Iinclude -fsyntax-only "$build/c99.c"
# Every function the header declares must be exercised by a C program.
missing=""
for fn in $(sed -nE 's/^[a-z_ ]*\*?(aegis_[a-z0-9_]+)\(.*/\1/p' include/aegis.h); do
    grep -q "\b$fn(" tests/c/*.c examples/c/*.c || missing="$missing $fn"
done
if [ -z "$missing" ]; then pass "every header function is used by a C test"
else fail "functions without a C test:$missing"; fi

cflags=(-Wall -Wextra -Werror -g -pthread -Iinclude -Itests/c)
ldflags=(-L"$lib" -laegis -Wl,-rpath,"$lib" -pthread)
# Valgrind memcheck: any memory error or a "definitely lost" leak fails the
# run. tests/c/valgrind.supp explains its one kind of suppression (wasmtime's
# guard-page bounds checks, deliberate faults in JIT code). Leak kinds other
# than "definite" are not shown: they are the never-joined worker threads of
# wasmtime's parallel compiler (rayon's global pool), alive until exit.
vg=(valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --suppressions=tests/c/valgrind.supp)
# Under valgrind, guest code runs many times slower and threads take turns:
# AEGIS_UNDER_VALGRIND=1 tells the timing tests to relax their upper bounds.
vgenv=(env AEGIS_UNDER_VALGRIND=1)

echo "C test programs"
for src in tests/c/test_*.c tests/c/soak.c; do
    name="$(basename "$src" .c)"
    if ! cc "${cflags[@]}" -o "$build/$name" "$src" "${ldflags[@]}" 2>"$build/cc.txt"; then
        fail "$name (compile)"; cat "$build/cc.txt"; continue
    fi
    check "$name" "$build/$name"
    # AEGIS_HOSTILE_QUICK: under valgrind test_hostile skips the corpus cases
    # that take minutes there (listed in SLOW_CASES in the program; the native
    # run above checks them) and leaves target/hostile/c.tsv to the native run.
    check "$name under valgrind" "${vgenv[@]}" AEGIS_HOSTILE_QUICK=1 "${vg[@]}" "$build/$name"
done

echo "README C snippets"
# A ```c block of README's C section, the first one containing $1, written to $2.
readme_snippet() {
    awk -v want="$1" '/^<!-- section:c -->/ { in_c = 1 } /^<!-- \/section:c -->/ { in_c = 0 }
         in_c && /^```c$/ { block = ""; grab = 1; next }
         in_c && grab && /^```$/ { grab = 0; if (index(block, want)) { printf "%s", block; exit } next }
         grab { block = block $0 "\n" }' README.md >"$2"
}
# Each snippet is compiled and run by a test program that includes it:
# tests/c/readme_interrupt.c (cancelling from another thread) and
# tests/c/readme_data.c ("Exchanging data", which needs the compiled guests).
for pair in "aegis_sandbox_interrupt_handle readme_interrupt readme_snippet.c" \
    "aegis_sandbox_call_component readme_data readme_data_snippet.c"; do
    read -r marker name file <<<"$pair"
    readme_snippet "$marker" "$build/$file"
    if [ ! -s "$build/$file" ]; then
        fail "README has a C snippet using $marker"
    elif cc "${cflags[@]}" -I"$build" -o "$build/$name" "tests/c/$name.c" \
            "${ldflags[@]}" 2>"$build/cc.txt"; then
        check "README snippet ($name)" "$build/$name"
        check "README snippet ($name) under valgrind" "${vgenv[@]}" "${vg[@]}" "$build/$name"
    else
        fail "README snippet $name (compile)"; cat "$build/cc.txt"
    fi
done

echo "C++"
if c++ -std=c++17 -Wall -Wextra -Werror -Iinclude -o "$build/header_check" \
    tests/c/header_check.cpp "${ldflags[@]}" 2>"$build/cc.txt"; then
    check "header_check.cpp" "$build/header_check"
    check "header_check.cpp under valgrind" "${vgenv[@]}" "${vg[@]}" "$build/header_check"
else
    fail "header_check.cpp (compile)"; cat "$build/cc.txt"
fi

echo "README example"
# The exact build line from README's C section, run from the repository root.
readme_line="$(grep -m1 -E '^cc examples/c/hello.c .*-Ltarget/debug' README.md || true)"
if [ -n "$readme_line" ] && bash -c "$readme_line" >"$build/out.txt" 2>&1 &&
    grep -q 'add(7, 8) = 15' "$build/out.txt" && grep -q 'spin: out_of_fuel' "$build/out.txt"; then
    pass "README build line for examples/c/hello.c"
else
    fail "README build line for examples/c/hello.c"; cat "$build/out.txt"
fi

echo "static library"
if cc -Wall -Wextra -Werror -Iinclude -o "$build/hello_static" examples/c/hello.c \
    "$lib/libaegis.a" -lpthread -ldl -lm 2>"$build/cc.txt"; then
    check "hello linked statically" "$build/hello_static"
else
    fail "hello linked statically (link)"; cat "$build/cc.txt"
fi

echo "install + pkg-config"
prefix="$build/prefix"
if aegis-capi/install.sh "$prefix" debug >/dev/null &&
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -o "$build/hello_pc" examples/c/hello.c \
        $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs aegis) \
        -Wl,-rpath,"$prefix/lib" 2>"$build/cc.txt"; then
    check "hello built with pkg-config against the installed library" "$build/hello_pc"
else
    fail "install + pkg-config build"; cat "$build/cc.txt" 2>/dev/null || true
fi

echo "C tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
