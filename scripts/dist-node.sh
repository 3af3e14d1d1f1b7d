#!/usr/bin/env bash
# Node packages from the release profile, in napi-rs's per-platform layout:
#   target/dist/node/aegis-wasm-sandbox-<v>.tgz                 index.js, index.d.ts, README, licences
#   target/dist/node/aegis-wasm-sandbox-linux-x64-gnu-<v>.tgz   the release addon
# Builds the addon once with `napi build --release --platform` (cargo's
# progress shown; the workspace's target/, no `--target`, so wasmtime is
# shared with the other front-ends' release builds), checks that the
# committed index.js/index.d.ts are what napi generated, stages both
# packages in target/node-pkg/ and packs them. Nothing is written into
# bindings-node/ but its node_modules (npm ci). Idempotent.
# Usage: bash scripts/dist-node.sh   (run by scripts/dist.sh, and by
# scripts/test-node.sh when the tarballs are missing)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
command -v cargo >/dev/null || { echo "cargo is required to build the addon (https://rustup.rs)" >&2; exit 1; }

version=$(node -p "require('./bindings-node/package.json').version")
name=$(node -p "require('./bindings-node/package.json').name")
stage=target/node-pkg
out=target/dist/node
start=$SECONDS

echo "--> npm ci (bindings-node dev dependencies: @napi-rs/cli, typescript, typedoc)"
(cd bindings-node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

echo "--> release addon: napi build --release --platform into $stage/build"
rm -rf "$stage/build"
build_start=$SECONDS
node bindings-node/build.js --out "$stage/build"
echo "release addon built in $((SECONDS - build_start)) s"

echo "--> index.d.ts and index.js match what napi generated"
for f in index.d.ts index.js; do
    diff -u "bindings-node/$f" "$stage/build/$f" || {
        echo "bindings-node/$f is stale: run \`npm run build\` in bindings-node and commit it" >&2
        exit 1
    }
done

echo "--> stage and pack $name $version"
pack_start=$SECONDS
node bindings-node/stage.js "$stage/build" "$stage"
mkdir -p "$out"
rm -f "$out/$name"-*.tgz
for dir in linux-x64-gnu main; do
    (cd "$stage/$dir" && npm pack --pack-destination "$OLDPWD/$out" --loglevel=warn >/dev/null)
done
echo "packed in $((SECONDS - pack_start)) s"
ls -l "$out/$name-$version.tgz" "$out/$name-linux-x64-gnu-$version.tgz"
echo "dist-node: done in $((SECONDS - start)) s"
