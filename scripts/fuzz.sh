#!/usr/bin/env bash
# Fuzzes every parser target in fuzz/ with cargo-fuzz (libFuzzer) for SECONDS each, one after
# the other, and prints per target: executions, coverage, corpus growth and crash or not.
# Usage: scripts/fuzz.sh [seconds-per-target, default 60] [target ...]
# Exit status 1 when a target crashed; its input is under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true

if ! command -v cargo-fuzz >/dev/null; then
  echo "== installing cargo-fuzz from crates.io"
  cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes -Z flags; the machine has only a stable toolchain, which accepts them
# with RUSTC_BOOTSTRAP=1. The parsers are safe Rust, so no sanitizer (-s none): libFuzzer's
# coverage guidance and the checks' assertions find the bugs, at twice the speed of ASan.
export RUSTC_BOOTSTRAP=1

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

echo "== $(date -u +%FT%TZ) $(rustc --version), commit $(git rev-parse --short HEAD)"
echo "== building ${#targets[@]} targets"
cargo fuzz build -s none

logs=$(mktemp -d /tmp/lcs-fuzz.XXXXXX)
failed=0
summary=()
for target in "${targets[@]}"; do
  # New inputs go to a scratch folder; the committed corpus is only read, so it stays small.
  scratch="$logs/$target-corpus"
  mkdir -p "$scratch"
  echo "== $target: ${seconds}s"
  result=ok
  if ! cargo fuzz run -s none "$target" "$scratch" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$logs/$target.log" 2>&1; then
    result=CRASH
    failed=1
    grep -E "panicked|Test unit written|SUMMARY" "$logs/$target.log" | head -5 || true
  fi
  execs=$(grep -oP 'stat::number_of_executed_units:\s*\K\d+' "$logs/$target.log" || echo "?")
  per_sec=$(grep -oP 'stat::average_exec_per_sec:\s*\K\d+' "$logs/$target.log" || echo "?")
  last=$(grep -E '^#[0-9]+' "$logs/$target.log" | tail -1)
  cov=$(grep -oP 'cov: \K\d+' <<<"$last" || echo "?")
  features=$(grep -oP 'ft: \K\d+' <<<"$last" || echo "?")
  corpus=$(grep -oP 'corp: \K[0-9]+/[0-9a-zA-Z]+' <<<"$last" || echo "?")
  summary+=("$(printf '%-14s %-6s execs %-10s exec/s %-7s cov %-5s ft %-6s corpus %s' \
    "$target" "$result" "$execs" "$per_sec" "$cov" "$features" "$corpus")")
done

echo "== results (${seconds}s per target; logs and grown corpora in $logs)"
printf '%s\n' "${summary[@]}"
exit "$failed"
