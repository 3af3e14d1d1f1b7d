#!/usr/bin/env bash
# Installs libaegis: the header, the shared library (libaegis.so.X.Y.Z with
# the links libaegis.so.X, its SONAME, and libaegis.so), the static library,
# the pkg-config file aegis.pc and the CMake package config (aegis::aegis,
# aegis::aegis_static). Every file it writes is listed in
# PREFIX/share/aegis/manifest.txt, which uninstall.sh reads to remove exactly
# those files and the directories this script created.
#
#   From the release tarball:  ./install.sh [--prefix DIR]
#   From a source checkout:    aegis-capi/install.sh [--prefix DIR] [--profile release|debug]
#                              (after `cargo build [--release] -p aegis-capi`)
#   Packaging (dist-c.sh):     aegis-capi/install.sh --stage DIR [--profile release|debug]
#
# The default prefix is /usr/local when run as root, otherwise ~/.local; no
# sudo is assumed. Installing again (a newer version too) replaces the files
# and keeps one manifest.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# The default prefix: /usr/local for root, ~/.local for anyone else.
default_prefix() {
    if [ "$(id -u)" = 0 ]; then echo /usr/local; else echo "${HOME:?HOME is not set}/.local"; fi
}

# Writes template $1 to $2 with @PREFIX@, @VERSION@ and @MAJOR@ replaced.
render() {
    sed -e "s|@PREFIX@|$prefix_value|g" -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|${version%%.*}|g" \
        "$1" >"$2"
}

# Lays out the relocatable tree of the release tarball in $1 from a source
# checkout ($here is aegis-capi/): include/, lib/ (versioned .so and its
# links, .a, pkgconfig/aegis.pc with a prefix relative to itself,
# cmake/aegis/), install.sh and uninstall.sh.
stage() {
    local dest="$1" root target
    root="$(cd "$here/.." && pwd)"
    target="${CARGO_TARGET_DIR:-$root/target}/$profile"
    version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)"
    local major="${version%%.*}" flag=""
    [ "$profile" = release ] && flag=" --release"
    for f in "$target/libaegis.so" "$target/libaegis.a"; do
        [ -f "$f" ] || { echo "missing $f: run \`cargo build$flag -p aegis-capi\` first" >&2; exit 1; }
    done
    mkdir -p "$dest/include" "$dest/lib/pkgconfig" "$dest/lib/cmake/aegis"
    cp "$root/include/aegis.h" "$dest/include/aegis.h"
    cp "$target/libaegis.so" "$dest/lib/libaegis.so.$version"
    ln -sfn "libaegis.so.$version" "$dest/lib/libaegis.so.$major"
    ln -sfn "libaegis.so.$major" "$dest/lib/libaegis.so"
    # rustc embeds LLVM bitcode (.llvmbc) in each object of a staticlib; C
    # linkers discard it, and it is half the archive's size.
    if command -v objcopy >/dev/null 2>&1; then
        objcopy -R .llvmbc -R .llvmcmd "$target/libaegis.a" "$dest/lib/libaegis.a"
    else
        cp "$target/libaegis.a" "$dest/lib/libaegis.a"
    fi
    prefix_value='${pcfiledir}/../..'
    render "$here/aegis.pc.in" "$dest/lib/pkgconfig/aegis.pc"
    render "$here/cmake/aegisConfig.cmake.in" "$dest/lib/cmake/aegis/aegisConfig.cmake"
    render "$here/cmake/aegisConfigVersion.cmake.in" "$dest/lib/cmake/aegis/aegisConfigVersion.cmake"
    cp "$here/install.sh" "$here/uninstall.sh" "$dest/"
    chmod 755 "$dest/install.sh" "$dest/uninstall.sh"
}

# Creates directory PREFIX/$1 and its missing parents inside the prefix,
# recording each one it creates in `dirs` ("." is the prefix itself, made
# with its missing parents).
make_dir() {
    local rel="$1"
    [ -d "$prefix/$rel" ] && return 0
    if [ "$rel" = . ]; then
        mkdir -p "$prefix"
        echo "  mkdir   $prefix"
    else
        make_dir "$(dirname "$rel")"
        mkdir "$prefix/$rel"
        echo "  mkdir   $prefix/$rel"
    fi
    dirs+=("$rel")
}

# Installs file $2 as PREFIX/$3 with mode $1 and records it.
put_file() {
    install -m "$1" "$2" "$prefix/$3"
    echo "  install $prefix/$3"
    files+=("$3")
}

# Makes the symlink PREFIX/lib/$2 -> $1 and records it.
put_link() {
    ln -sfn "$1" "$prefix/lib/$2"
    echo "  link    $prefix/lib/$2 -> $1"
    files+=("lib/$2")
}

# Installs the tree in $1 (a staged tree or an unpacked tarball) into $prefix
# and writes the manifest: "d DIR" for each directory this install (or an
# earlier one) created, "f PATH" for each file or link, relative to the prefix.
install_tree() {
    local src="$1" so line
    so="$(cd "$src/lib" && ls libaegis.so.*.*.*)"
    version="${so#libaegis.so.}"
    local major="${version%%.*}" manifest="share/aegis/manifest.txt"
    local old=() dirs=() files=()
    if [ -f "$prefix/$manifest" ]; then
        mapfile -t old <"$prefix/$manifest"
        for line in "${old[@]}"; do [ "${line%% *}" = d ] && dirs+=("${line#d }"); done
    fi
    echo "installing libaegis $version into $prefix"
    for line in include lib/pkgconfig lib/cmake/aegis share/aegis; do make_dir "$line"; done
    put_file 644 "$src/include/aegis.h" include/aegis.h
    put_file 755 "$src/lib/$so" "lib/$so"
    put_link "$so" "libaegis.so.$major"
    put_link "libaegis.so.$major" libaegis.so
    put_file 644 "$src/lib/libaegis.a" lib/libaegis.a
    # The tarball's aegis.pc finds its prefix from its own place
    # (${pcfiledir}); the installed one names it.
    local pc="$prefix/lib/pkgconfig/.aegis.pc.new"
    sed "s|^prefix=.*|prefix=$prefix|" "$src/lib/pkgconfig/aegis.pc" >"$pc"
    put_file 644 "$pc" lib/pkgconfig/aegis.pc
    rm -f "$pc"
    for line in aegisConfig.cmake aegisConfigVersion.cmake; do
        put_file 644 "$src/lib/cmake/aegis/$line" "lib/cmake/aegis/$line"
    done
    put_file 755 "$src/uninstall.sh" share/aegis/uninstall.sh
    # Files of an earlier install that this one does not have (an older
    # version's libaegis.so.X.Y.Z) go.
    for line in "${old[@]}"; do
        [ "${line%% *}" = f ] || continue
        printf '%s\n' "${files[@]}" | grep -qxF -- "${line#f }" && continue
        rm -f "$prefix/${line#f }"
        echo "  remove  $prefix/${line#f } (earlier install)"
    done
    {
        for line in "${dirs[@]}"; do echo "d $line"; done
        for line in "${files[@]}"; do echo "f $line"; done
    } >"$prefix/$manifest"
    echo "  wrote   $prefix/$manifest"
    after_install
}

# Refreshes the loader cache when the library went to one of its directories,
# and otherwise says how programs find it.
after_install() {
    local libdir="$prefix/lib"
    if [ "$(id -u)" = 0 ] && command -v ldconfig >/dev/null 2>&1 &&
        ldconfig -v -N -X 2>/dev/null | grep -q "^$libdir:"; then
        echo "  run     ldconfig"
        ldconfig
    else
        echo "$libdir is not searched by the dynamic loader: link with -Wl,-rpath,$libdir"
        echo "(CMake does this itself) or run programs with LD_LIBRARY_PATH=$libdir"
    fi
    echo "pkg-config: PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs aegis"
    echo "CMake:      find_package(aegis CONFIG REQUIRED) with -DCMAKE_PREFIX_PATH=$prefix"
    echo "uninstall:  $prefix/share/aegis/uninstall.sh --prefix $prefix"
}

main() {
    local prefix="" profile=release stage_dir=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
            --prefix=*) prefix="${1#*=}"; shift ;;
            --profile) profile="${2:?--profile needs release or debug}"; shift 2 ;;
            --profile=*) profile="${1#*=}"; shift ;;
            --stage) stage_dir="${2:?--stage needs a directory}"; shift 2 ;;
            -h | --help) usage; exit 0 ;;
            *) echo "install.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
        esac
    done
    local from_checkout=false
    [ -f "$here/aegis.pc.in" ] && from_checkout=true
    if [ -n "$stage_dir" ]; then
        $from_checkout || { echo "--stage works from a source checkout only" >&2; exit 2; }
        stage "$stage_dir"
        return
    fi
    [ -n "$prefix" ] || prefix="$(default_prefix)"
    prefix="$(realpath -m -- "$prefix")"
    if $from_checkout; then
        staged="$(mktemp -d)"
        trap 'rm -rf "$staged"' EXIT
        stage "$staged"
        install_tree "$staged"
    else
        install_tree "$here"
    fi
}

main "$@"
