#!/usr/bin/env bash
# Quick start: install, build, and show the elements of a bundled KVS-like sample.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKVSP_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
./build/kvsp inspect tests/resources/kvs_unknown_size_1byte.mkv
