#!/usr/bin/env bash
# permatrix side by side with Hurl and oha against a neutral nginx on loopback
# (bench/README.md). Installs what a fresh machine lacks, builds permatrix, then
# runs bench/compare.py with any arguments given here (e.g. --rounds 7).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  apt-get update -qq && apt-get install -y -qq nginx >/dev/null
fi
if [ ! -x /usr/bin/time ]; then
  apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
if ! command -v hurl >/dev/null; then
  # Hurl 8.0.1 is the newest that builds with Rust 1.95; it links libcurl and libxml2.
  apt-get update -qq
  apt-get install -y -qq libcurl4-openssl-dev libxml2-dev libclang-dev pkg-config >/dev/null
  cargo install hurl --version 8.0.1 --locked
fi
if ! command -v oha >/dev/null; then
  cargo install oha --locked
fi
cargo build --release --locked -q
exec python3 bench/compare.py "$@"
