#!/usr/bin/env bash
# Node bindings, tested the way a user installs them: the npm tarballs of
# scripts/dist-node.sh (built first only if missing) are installed into a
# fresh directory with no Rust on PATH, as `aegis` through an npm alias, and
# the whole node:test suite runs against that installed package (including
# the README's examples, verbatim, and `tsc --strict` on the TypeScript
# ones, type-checked against the installed index.d.ts).
# Usage: bash scripts/test-node.sh   (run by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }

echo "--> npm ci (bindings-node dev dependencies: @napi-rs/cli, typescript, typedoc)"
(cd bindings-node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

version=$(node -p "require('./bindings-node/package.json').version")
name=$(node -p "require('./bindings-node/package.json').name")
dist=target/dist/node
main_tgz=$dist/$name-$version.tgz
platform_tgz=$dist/$name-linux-x64-gnu-$version.tgz
if [[ ! -f $main_tgz || ! -f $platform_tgz ]]; then
    echo "--> $main_tgz or its platform package missing: bash scripts/dist-node.sh"
    bash scripts/dist-node.sh
fi

echo "--> index.d.ts and index.js are the ones napi generated, and the ones packed"
for f in index.d.ts index.js; do
    diff -u "bindings-node/$f" "target/node-pkg/build/$f" || {
        echo "bindings-node/$f differs from napi's output: run \`npm run build\` in bindings-node and commit it" >&2
        exit 1
    }
    tar -xOzf "$main_tgz" "package/$f" | diff -u "bindings-node/$f" - || {
        echo "$main_tgz has another $f: run bash scripts/dist-node.sh" >&2
        exit 1
    }
done

echo "--> the main package has no install script and no Rust sources"
if tar -tzf "$main_tgz" | grep -E '\.(rs|node)$|Cargo\.toml$'; then
    echo "$main_tgz ships sources or a binary (above)" >&2
    exit 1
fi
tar -xOzf "$main_tgz" package/package.json | node -e '
    const m = JSON.parse(require("fs").readFileSync(0, "utf8"))
    const hooks = ["preinstall", "install", "postinstall", "prepare"].filter((s) => m.scripts && m.scripts[s])
    if (hooks.length || m.gypfile) { console.error("install scripts: " + hooks.join(", ")); process.exit(1) }'

# PATH without the directories that hold cargo or rustc.
nocargo=$(tr ':' '\n' <<<"$PATH" | while read -r dir; do
    [[ -n $dir && ! -e $dir/cargo && ! -e $dir/rustc ]] && printf '%s:' "$dir"
done)
nocargo=${nocargo%:}
if env PATH="$nocargo" sh -c "command -v cargo || command -v rustc"; then
    echo "could not build a PATH without cargo and rustc" >&2
    exit 1
fi

install=target/node-install
echo "--> fresh install into $install (PATH without cargo): npm install aegis@file:<main tgz> <platform tgz>"
rm -rf "$install"
mkdir -p "$install"
printf '{ "name": "aegis-node-install-test", "private": true }\n' >"$install/package.json"
install_start=$SECONDS
(cd "$install" && PATH=$nocargo npm install --no-audit --no-fund --loglevel=warn \
    "aegis@file:$root/$main_tgz" "$root/$platform_tgz")
echo "installed in $((SECONDS - install_start)) s"

echo "--> node --test bindings-node/__test__/ (against $install/node_modules/aegis)"
PATH=$nocargo AEGIS_NODE_INSTALL=$root/$install AEGIS_NODE_DIST=$root/$dist \
    node --test --test-reporter=spec bindings-node/__test__/
