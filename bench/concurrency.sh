#!/usr/bin/env bash
# Measures what concurrency buys: one suite of 8 endpoints × 6 principals against
# the demo service's /work route (150 ms per request), run at --concurrency 1
# and 8 in one go, reported as wall times and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bins --examples -q
port=18766
target/release/examples/demo_server "$port" 2>/dev/null &
demo=$!
work=$(mktemp -d)
trap 'kill "$demo" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

{
  echo "suite: bench"
  echo "target: { base_url: \"http://127.0.0.1:$port\", allow_mutations: true }"
  echo "principals:"
  for p in $(seq 6); do echo "  p$p: { auth: none }"; done
  echo "endpoints:"
  for e in $(seq 8); do echo "  - { name: work $e, request: GET /work, expect: { \"*\": 200 } }"; done
} > "$work/bench.yaml"

measure() {
  local start end
  start=$(date +%s%N)
  target/release/permatrix run "$work/bench.yaml" --concurrency "$1" --quiet > /dev/null
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
one=$(measure 1)
eight=$(measure 8)
echo "48 cells, 150 ms each: --concurrency 1: ${one} ms, --concurrency 8: ${eight} ms, speed-up $(awk "BEGIN { printf \"%.2f\", $one / $eight }")x (ideal 8x)"
