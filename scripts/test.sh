#!/usr/bin/env bash
# The one test command: installs what it needs, then runs every check and test suite.
# Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf target/hostile   # each corpus runner writes its observed outcomes here

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "build compiled test guests (Rust wasip1/wasip2, C wasi-libc)"
./scripts/build-guests.sh

step "cargo test (Rust core, CLI, C API crate)"
cargo test --workspace

step "release artifacts: libaegis tarball, wheel, npm tarballs, crates (scripts/dist.sh)"
./scripts/dist.sh

for suite in scripts/test-*.sh; do
    [ -e "$suite" ] || continue
    step "$suite"
    bash "$suite"
done

step "API reference: Rust, Python, Node (scripts/docs.sh)"
./scripts/docs.sh

step "hostile corpus table (docs/security.md)"
python3 scripts/security-table.py --check

step "all test suites passed"
