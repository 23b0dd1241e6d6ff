#!/usr/bin/env bash
# The embedded mock's start-up time and request rate, measured in one run:
# - start-up: `permatrix mock suites/mocks/jira-cloud.yaml` from spawn to its URL line, 20 times;
# - rate: the shipped Jira suite (450 cells: Basic, Connect JWTs signed per request,
#   the JWT-bearer grant) run against its embedded mock at --concurrency 1, 8 and 32,
#   next to `permatrix check` on the same suite (load and validation only).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bins -q
bin=target/release/permatrix
ms() { echo $(( ($2 - $1) / 1000000 )); }

total=0
for _ in $(seq 20); do
  start=$(date +%s%N)
  coproc MOCK { exec "$bin" mock suites/mocks/jira-cloud.yaml --port 0; }
  read -r line <&"${MOCK[0]}"
  end=$(date +%s%N)
  kill -INT "$MOCK_PID"; wait "$MOCK_PID" || true
  total=$(( total + end - start ))
done
echo "mock start-up (spawn to listening, mean of 20): $(( total / 20 / 1000 )) µs   [$line]"

start=$(date +%s%N); env -u JIRA_BASE_URL "$bin" check suites/ >/dev/null; end=$(date +%s%N)
check=$(ms "$start" "$end")
echo "check suites/ (load + validate 450 cells): ${check} ms"
for c in 1 8 32; do
  start=$(date +%s%N)
  env -u JIRA_BASE_URL "$bin" run suites/ --quiet --concurrency "$c" >/dev/null
  end=$(date +%s%N)
  took=$(ms "$start" "$end")
  echo "run suites/ --concurrency $c: ${took} ms, $(awk "BEGIN { printf \"%.0f\", 450 / ($took / 1000) }") cells/s, $(awk "BEGIN { printf \"%.1f\", $took / ($check > 0 ? $check : 1) }")x the time of check"
done
