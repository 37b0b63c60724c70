#!/usr/bin/env bash
# Runs every test: Rust unit + integration tests (C API program, header drift), Node tests.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules/@napi-rs/cli ] || npm ci --no-audit --no-fund
echo "== building the addon (napi build --release)"
npx napi build --platform --release
echo "== cargo test (core, C API program, header drift)"
cargo test
echo "== node tests"
node --test __test__/*.spec.mjs
