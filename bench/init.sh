#!/usr/bin/env bash
# `permatrix init --openapi` on GitHub's REST API description (13 MB, 1,000+
# operations), against parsing the same JSON alone: time (criterion medians,
# `cargo bench --bench init`) and peak memory (GNU time). The document comes
# from npm (@octokit/openapi), the registry being reachable where the
# internet is not. Usage: bench/init.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work="${TMPDIR:-/tmp}/permatrix-bench-init"
mkdir -p "$work"
doc="$work/package/generated/api.github.com.json"
if [ ! -f "$doc" ]; then
  (cd "$work" && npm pack --silent @octokit/openapi >/dev/null && tar xzf octokit-openapi-*.tgz)
fi
cargo build --release --locked --quiet
echo "== time (criterion): $doc"
PERMATRIX_BENCH_OPENAPI="$doc" cargo bench --locked --bench init -- --noplot 2>&1 | grep -E "^init_openapi|time:|endpoints"
echo "== peak memory (max RSS, KB)"
/usr/bin/time -f "permatrix init: %e s, %M KB" target/release/permatrix init --openapi "$doc" --out "$work/github.yaml" --force
/usr/bin/time -f "python json.load: %e s, %M KB" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$doc"
ls -l "$doc" | awk '{print "document bytes:", $5}'
