#!/usr/bin/env bash
# C API suite: header freshness, function coverage, the C test programs run
# natively and under valgrind memcheck (against the debug library), the
# README's C snippets, the C++ header check, the README's example build line,
# static linking, the SONAME, install + pkg-config + uninstall from the
# checkout, and the release tarball (scripts/dist-c.sh, made first if
# missing) installed with no cargo on PATH, the README's example built with
# pkg-config, pkg-config --static and CMake, then uninstalled.
# Usage: ./scripts/test-c.sh   (run by ./scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

root="$PWD"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
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
need readelf binutils
need cmake cmake

echo "building libaegis (debug)"
cargo build -q -p aegis-capi
# libaegis.so's SONAME is libaegis.so.0, a name target/debug does not have:
# the test programs link the debug library through a directory holding both
# names.
lib="$build/lib"
mkdir "$lib"
ln -s "$target_dir/debug/libaegis.so" "$lib/libaegis.so"
ln -s "$target_dir/debug/libaegis.so" "$lib/libaegis.so.0"
ln -s "$target_dir/debug/libaegis.a" "$lib/libaegis.a"

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
# A ```$3 block (default c) of README's C section, the first one containing
# $1, written to $2.
readme_snippet() {
    awk -v want="$1" -v lang="${3:-c}" '/^<!-- section:c -->/ { in_c = 1 }
         /^<!-- \/section:c -->/ { in_c = 0 }
         in_c && $0 == "```" lang { block = ""; grab = 1; next }
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
readme_line="$(grep -m1 -E '^cc examples/c/hello.c .*target/debug/' README.md || true)"
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

echo "SONAME"
# $1's dynamic section has the entry $2 (SONAME or NEEDED) naming [$3].
has_dyn() { readelf -d "$1" | grep -E "\($2\)" | grep -qF "[$3]"; }
check "libaegis.so has the SONAME libaegis.so.0" has_dyn "$target_dir/debug/libaegis.so" SONAME libaegis.so.0

# Lists what is under $1 (files, links and directories), empty if nothing.
leftovers() { find "$1" -mindepth 1 2>/dev/null | head -20; }

echo "install + pkg-config + uninstall (from the checkout, debug build)"
prefix="$build/prefix"
if aegis-capi/install.sh --prefix "$prefix" --profile debug >"$build/install.txt" 2>&1 &&
    PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -o "$build/hello_pc" examples/c/hello.c \
        $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs aegis) \
        -Wl,-rpath,"$prefix/lib" 2>"$build/cc.txt"; then
    check "hello built with pkg-config against the installed library" "$build/hello_pc"
    check "it records NEEDED libaegis.so.0" has_dyn "$build/hello_pc" NEEDED libaegis.so.0
else
    fail "install + pkg-config build"; cat "$build/install.txt" "$build/cc.txt" 2>/dev/null || true
fi
aegis-capi/uninstall.sh --prefix "$prefix" >"$build/uninstall.txt" 2>&1 || cat "$build/uninstall.txt"
check "uninstall.sh leaves nothing in the prefix" test -z "$(leftovers "$prefix")$(ls -d "$prefix" 2>/dev/null)"

echo "release tarball (installed without cargo)"
tarball="$target_dir/dist/c/libaegis-$version-x86_64-linux-gnu.tar.gz"
[ -f "$tarball" ] || scripts/dist-c.sh
top="libaegis-$version-x86_64-linux-gnu"
# PATH without the directories holding cargo or rustc, as on a machine without Rust.
nocargo_path="$(tr ':' '\n' <<<"$PATH" | while read -r dir; do
    [ -n "$dir" ] && [ ! -e "$dir/cargo" ] && [ ! -e "$dir/rustc" ] && printf '%s:' "$dir"; done)"
nocargo_path="${nocargo_path%:}"
home="$build/home"
mkdir -p "$home/downloads"
cp "$tarball" "$home/downloads/"
# Runs the shell text $1 in directory $2 as a user of the tarball: a fresh
# environment, HOME=$home, no cargo on PATH.
as_user() {
    (cd "$2" && env -i HOME="$home" PATH="$nocargo_path" TMPDIR="${TMPDIR:-/tmp}" \
        bash -euo pipefail -c "$1")
}
check "no cargo or rustc on the user's PATH" \
    as_user '! command -v cargo && ! command -v rustc' "$home"
# README's install line, verbatim (into ~/.local), from where the tarball was saved.
install_line="$(grep -m1 -E '^tar xzf libaegis-' README.md || true)"
check "README's install line names this version's tarball" grep -qF "$top.tar.gz" <<<"$install_line"
check "README's one-step install (tar xzf + install.sh --prefix ~/.local)" \
    as_user "$install_line" "$home/downloads"
unpacked="$home/downloads/$top"
local_prefix="$home/.local"
for f in install.sh uninstall.sh README.md LICENSE-MIT LICENSE-APACHE include/aegis.h \
    "lib/libaegis.so.$version" lib/libaegis.a lib/pkgconfig/aegis.pc \
    lib/cmake/aegis/aegisConfig.cmake lib/cmake/aegis/aegisConfigVersion.cmake \
    examples/hello.c examples/CMakeLists.txt; do
    [ -e "$unpacked/$f" ] || fail "the tarball has $top/$f"
done
check "the tarball's links: libaegis.so -> libaegis.so.0 -> libaegis.so.$version" \
    test "$(readlink "$unpacked/lib/libaegis.so")/$(readlink "$unpacked/lib/libaegis.so.0")" \
    = "libaegis.so.0/libaegis.so.$version"
check "the tarball's libaegis.so.$version has the SONAME libaegis.so.0" \
    has_dyn "$unpacked/lib/libaegis.so.$version" SONAME libaegis.so.0
# README promises glibc 2.34 or newer.
newest_glibc() { objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1; }
check "the tarball's library needs glibc 2.34 at most (README)" \
    test "$(printf '%s\n' "$(newest_glibc "$unpacked/lib/libaegis.so.$version")" GLIBC_2.34 |
        sort -V | tail -n1)" = GLIBC_2.34
check "installed aegis.pc names the prefix" \
    grep -qx "prefix=$local_prefix" "$local_prefix/lib/pkgconfig/aegis.pc"
check "installed CMake config holds no absolute path (relocatable)" \
    bash -c '! grep -q "$1" "$2"/lib/cmake/aegis/*.cmake' _ "$build" "$local_prefix"
check "installed libaegis.so.0 has the SONAME" has_dyn "$local_prefix/lib/libaegis.so.0" SONAME libaegis.so.0

# README's ```sh block containing $1, run from the unpacked examples/ as the
# user after the shell text $2 (what README said to do before); its output
# must be hello's.
readme_run() {
    readme_snippet "$1" "$build/block.sh" sh
    [ -s "$build/block.sh" ] || { echo "README's C section has no sh block with: $1"; return 1; }
    as_user "${2:-}"$'\n'"$(cat "$build/block.sh")" "$unpacked/examples" >"$build/run.txt" 2>&1 ||
        { cat "$build/run.txt"; return 1; }
    grep -q 'add(7, 8) = 15' "$build/run.txt" && grep -q 'spin: out_of_fuel' "$build/run.txt" ||
        { cat "$build/run.txt"; return 1; }
}
check "README: hello.c built with pkg-config, run" readme_run 'pkg-config --cflags --libs aegis'
check "  it records NEEDED libaegis.so.0" has_dyn "$unpacked/examples/hello" NEEDED libaegis.so.0
check "  it loads the installed library" \
    bash -c 'ldd "$1" | grep -qF "libaegis.so.0 => $2/lib/libaegis.so.0"' _ "$unpacked/examples/hello" "$local_prefix"
check "README: hello.c built statically with pkg-config --static, run" \
    readme_run 'pkg-config --static' 'export PKG_CONFIG_PATH=~/.local/lib/pkgconfig'
check "  it is fully static" \
    bash -c 'readelf -d "$1" 2>&1 | grep -q "no dynamic section"' _ "$unpacked/examples/hello-static"
readme_snippet find_package "$build/CMakeLists.txt" cmake
check "README's CMakeLists.txt is examples/c/CMakeLists.txt" \
    cmp "$build/CMakeLists.txt" examples/c/CMakeLists.txt
check "README: hello.c built with CMake (aegis::aegis, aegis::aegis_static), run" \
    readme_run 'cmake -S'
check "  it records NEEDED libaegis.so.0" has_dyn "$unpacked/examples/build/hello" NEEDED libaegis.so.0
check "  hello_static does not need libaegis.so" \
    bash -c '! readelf -d "$1" | grep -q "NEEDED.*libaegis"' _ "$unpacked/examples/build/hello_static"
check "installing again changes nothing" bash -c \
    'before="$(cat "$2/share/aegis/manifest.txt")"; "$1/install.sh" --prefix "$2" >/dev/null &&
     [ "$before" = "$(cat "$2/share/aegis/manifest.txt")" ]' _ "$unpacked" "$local_prefix"
uninstall_line="$(grep -m1 -E '^~/.local/share/aegis/uninstall.sh' README.md || true)"
check "README's uninstall line" as_user "${uninstall_line:-false}" "$home"
check "  leaves nothing in ~/.local" test -z "$(leftovers "$local_prefix")$(ls -d "$local_prefix" 2>/dev/null)"
# The unpacked tree used in place: aegis.pc finds its prefix from its own location.
check "the unpacked tree is a relocatable prefix (pkg-config from it)" as_user \
    "export PKG_CONFIG_PATH=\"$unpacked/lib/pkgconfig\"
     cc hello.c \$(pkg-config --cflags --libs aegis) -Wl,-rpath,\"$unpacked/lib\" -o in-place && ./in-place" \
    "$unpacked/examples"
# Without --prefix, a user who is not root gets ~/.local; the installed
# uninstall.sh removes exactly what was installed, keeping what was there.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
    user_home="$build/nobody"
    mkdir -p "$user_home/.local/lib"
    echo keep >"$user_home/.local/lib/other.so"
    chown -R 65534:65534 "$user_home"
    chmod 755 "$build"
    as_nobody() {
        setpriv --reuid=65534 --regid=65534 --clear-groups \
            env -i HOME="$user_home" PATH="$nocargo_path" bash -euo pipefail -c "$1"
    }
    check "not root: the default prefix is ~/.local" \
        as_nobody "'$unpacked/install.sh' >/dev/null && test -e ~/.local/lib/libaegis.so.0"
    check "  ~/.local/share/aegis/uninstall.sh (no arguments) removes it" \
        as_nobody '~/.local/share/aegis/uninstall.sh >/dev/null'
    check "  and keeps what was there before" test "$(cd "$user_home" && find . | LC_ALL=C sort | tr '\n' ' ')" \
        = ". ./.local ./.local/lib ./.local/lib/other.so "
fi

echo "C tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
