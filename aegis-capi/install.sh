#!/usr/bin/env bash
# Installs libaegis (shared and static library, header, pkg-config file).
# Usage: aegis-capi/install.sh [PREFIX] [PROFILE]   (defaults: /usr/local release)
# Build first: cargo build --release -p aegis-capi (or without --release for PROFILE=debug).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix="${1:-/usr/local}"
profile="${2:-release}"
target="${CARGO_TARGET_DIR:-target}/$profile"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"

for f in "$target/libaegis.so" "$target/libaegis.a"; do
    [ -f "$f" ] || { echo "missing $f: build it first (cargo build -p aegis-capi, --release for release)" >&2; exit 1; }
done

install -d "$prefix/lib/pkgconfig" "$prefix/include"
install -m 644 include/aegis.h "$prefix/include/aegis.h"
install -m 755 "$target/libaegis.so" "$prefix/lib/libaegis.so"
install -m 644 "$target/libaegis.a" "$prefix/lib/libaegis.a"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" aegis-capi/aegis.pc.in \
    > "$prefix/lib/pkgconfig/aegis.pc"
echo "installed libaegis $version into $prefix"
