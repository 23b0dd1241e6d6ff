#!/usr/bin/env bash
# Builds a release archive of permatrix for this machine's target, with a
# SHA-256 checksum beside it: dist/permatrix-<version>-<target>.tar.gz and
# dist/SHA256SUMS. Run from the repository root; needs only cargo and tar.
# For other targets, run it on a machine of that target (or with
# CARGO_BUILD_TARGET set and the target's toolchain installed).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(cargo metadata --no-deps --format-version 1 --locked |
  sed -n 's/.*"name":"permatrix","version":"\([^"]*\)".*/\1/p')
target=${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}
cargo build --release --locked --bin permatrix ${CARGO_BUILD_TARGET:+--target "$target"}
binary=target/${CARGO_BUILD_TARGET:+$target/}release/permatrix
name="permatrix-$version-$target"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$binary" README.md LICENSE-MIT LICENSE-APACHE "$stage/$name/"
mkdir -p dist
tar -C "$stage" -czf "dist/$name.tar.gz" "$name"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256" && cat ./*.tar.gz.sha256 > SHA256SUMS)
echo "dist/$name.tar.gz"
cat "dist/$name.tar.gz.sha256"
