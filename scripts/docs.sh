#!/usr/bin/env bash
# Builds the HTML API reference of every front-end into target/docs/:
#   target/docs/rust/    cargo doc: aegis-core (crate aegis-wasm-sandbox, library aegis_core)
#                        and libaegis's Rust side (aegis-capi)
#   target/docs/python/  the `aegis` package (scripts/docs-python.sh)
#   target/docs/node/    the `aegis` npm package's index.d.ts (scripts/docs-node.sh)
#   target/docs/index.html  links to the three
# Broken intra-doc links and doc warnings fail the build.
# Usage: ./scripts/docs.sh   (run by ./scripts/test.sh; open target/docs/index.html)
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/docs
rm -rf "$out"
mkdir -p "$out"

echo "--> Rust (cargo doc)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p aegis-wasm-sandbox -p aegis-capi
mkdir -p "$out/rust"
cp -r target/doc/. "$out/rust/"

echo "--> Python (scripts/docs-python.sh)"
bash scripts/docs-python.sh

echo "--> Node (scripts/docs-node.sh)"
bash scripts/docs-node.sh

for f in rust/aegis_core/index.html python/index.html node/index.html; do
    [ -s "$out/$f" ] || { echo "missing $out/$f" >&2; exit 1; }
done
cat >"$out/index.html" <<'HTML'
<!doctype html>
<meta charset="utf-8">
<title>Aegis API reference</title>
<h1>Aegis API reference</h1>
<ul>
  <li><a href="rust/aegis_core/index.html">Rust: aegis_core</a> (crate <code>aegis-wasm-sandbox</code>)</li>
  <li><a href="rust/aegis/index.html">C: libaegis</a> (its Rust side; the C header is <code>include/aegis.h</code>)</li>
  <li><a href="python/index.html">Python: aegis</a> (distribution <code>aegis-wasm-sandbox</code>)</li>
  <li><a href="node/index.html">Node: aegis</a> (npm package <code>aegis-wasm-sandbox</code>)</li>
</ul>
HTML
echo "API reference: $out/index.html"
