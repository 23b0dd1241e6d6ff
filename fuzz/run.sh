#!/usr/bin/env bash
# Runs each fuzz target for a bounded time (default 60 s each); not part of CI.
# cargo-fuzz needs a nightly compiler; with only a stable one, RUSTC_BOOTSTRAP=1 stands in.
# Usage: fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in suite_loader qsh mock_verify openapi_init har_init; do
  echo "== $target for ${seconds}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" --sanitizer none -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 | tail -4
done
