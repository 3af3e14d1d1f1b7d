#!/usr/bin/env bash
# Node API reference: HTML from index.d.ts (the napi-generated declarations
# and their doc comments) into target/docs/node, with TypeDoc. Warnings are
# errors, so a broken {@link} or an unexported type in a signature fails.
# Usage: bash scripts/docs-node.sh [OUT_DIR]   (default target/docs/node)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-target/docs/node}")

if [[ ! -x bindings-node/node_modules/.bin/typedoc ]]; then
    echo "--> npm ci (bindings-node dev dependencies: typedoc, typescript)"
    (cd bindings-node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
echo "--> typedoc bindings-node/index.d.ts -> $out"
rm -rf "$out"
(cd bindings-node && npx --no-install typedoc --options typedoc.json --entryPoints index.d.ts --tsconfig tsconfig.json --out "$out")
test -f "$out/index.html"
echo "Node API reference: $out/index.html"
