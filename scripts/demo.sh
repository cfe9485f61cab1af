#!/usr/bin/env bash
# Quick start: install, build, and show the fragments (KVS tags, tracks, frame
# counts) and the first frames of a bundled KVS-like sample.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKVSP_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
sample=tests/resources/kvs_user_tags.mkv
echo "== kvsp fragments $sample"
./build/kvsp fragments "$sample"
echo "== kvsp frames --list $sample (first 5 frames)"
./build/kvsp frames --list "$sample" | sed -n 1,5p
