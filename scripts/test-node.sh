#!/usr/bin/env bash
# Node bindings: check the committed index.d.ts/index.js against what napi
# generates, build the addon, run the node:test suite and type-check an
# example against index.d.ts. The addon is built in cargo's dev profile (in
# the workspace's target/), like every other suite of the test command, so
# wasmtime is compiled once per profile: `npm install` builds release by
# default, the tests opt into debug with AEGIS_NODE_PROFILE=debug.
# Usage: bash scripts/test-node.sh   (run by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }

echo "--> npm ci (bindings-node dev dependencies: @napi-rs/cli, typescript)"
(cd bindings-node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

echo "--> index.d.ts and index.js match what napi generates (into target/napi-gen)"
mkdir -p target/napi-gen
if ! (cd bindings-node && npx --no-install napi build --platform --output-dir ../target/napi-gen) \
    >target/napi-gen/build.log 2>&1; then
    cat target/napi-gen/build.log >&2
    echo "napi build failed" >&2
    exit 1
fi
for f in index.d.ts index.js; do
    diff -u "bindings-node/$f" "target/napi-gen/$f" || {
        echo "bindings-node/$f is stale: run \`npm run build\` in bindings-node and commit it" >&2
        exit 1
    }
done
echo "generated files are up to date"

echo "--> build the addon (debug: AEGIS_NODE_PROFILE=debug)"
AEGIS_NODE_PROFILE=debug node bindings-node/build.js

echo "--> node --test bindings-node/__test__/"
node --test --test-reporter=spec bindings-node/__test__/

echo "--> tsc --noEmit (example.ts against index.d.ts)"
(cd bindings-node && npx --no-install tsc --noEmit -p __test__/types)
echo "type-check passed"
