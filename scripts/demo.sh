#!/usr/bin/env bash
# The main job on a sample workspace this project generates: build, then run the CLI demo.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules/@napi-rs/cli ] || npm ci --no-audit --no-fund
[ -f lookcoin-state.linux-x64-gnu.node ] || npx napi build --platform --release
node npm/cli.js demo "$@"
