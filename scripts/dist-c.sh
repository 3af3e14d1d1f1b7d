#!/usr/bin/env bash
# Builds the C artifact, target/dist/c/libaegis-<version>-x86_64-linux-gnu.tar.gz:
# one top directory holding include/, lib/ (libaegis.so.<version> and its
# links, libaegis.a, pkgconfig/aegis.pc, cmake/aegis/), install.sh,
# uninstall.sh, examples/ (hello.c, CMakeLists.txt), README.md and the
# licences. It needs no Rust to install:
#   tar xzf libaegis-<version>-x86_64-linux-gnu.tar.gz
#   ./libaegis-<version>-x86_64-linux-gnu/install.sh --prefix ~/.local
# The unpacked tree is relocatable: its aegis.pc and CMake config find their
# prefix from their own location, so it can also be used where it lies.
# Idempotent: rebuilds the tarball from the current release build.
# Usage: ./scripts/dist-c.sh   (run by ./scripts/dist.sh; ./scripts/test-c.sh when missing)
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
name="libaegis-$version-x86_64-linux-gnu"
out="$target_dir/dist/c"

echo "dist-c: cargo build --release -p aegis-capi (the first build compiles wasmtime: minutes)"
cargo build --release -p aegis-capi

stage="$(mktemp -d /tmp/aegis-dist-c.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
aegis-capi/install.sh --stage "$stage/$name" --profile release
mkdir "$stage/$name/examples"
cp examples/c/hello.c examples/c/CMakeLists.txt "$stage/$name/examples/"
cp LICENSE-MIT LICENSE-APACHE "$stage/$name/"
{
    printf '# libaegis %s, prebuilt for x86_64 Linux (glibc)\n\n' "$version"
    printf 'Install: `./install.sh --prefix ~/.local` (this directory needs nothing else; '
    printf 'no Rust). Uninstall: `./uninstall.sh --prefix ~/.local`. `examples/` holds '
    printf 'the program and the CMakeLists.txt below. The C section of the project README follows.\n\n'
    awk '/^<!-- section:c -->/ { on = 1; next } /^<!-- \/section:c -->/ { on = 0 } on' README.md
} >"$stage/$name/README.md"

mkdir -p "$out"
# Reproducible: sorted names, no owners, the commit's time (or 0) as mtime.
mtime="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
    -C "$stage" -cf - "$name" | gzip -n -6 >"$out/$name.tar.gz.tmp"
mv "$out/$name.tar.gz.tmp" "$out/$name.tar.gz"
echo "dist-c: $out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1))"
