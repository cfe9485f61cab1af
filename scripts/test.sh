#!/usr/bin/env bash
# Installs what is needed, then builds and runs every test twice: a normal
# build and an AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs="$(nproc)"
for variant in release asan; do
  dir="build-ci-$variant"
  if [ "$variant" = asan ]; then
    flags=(-DCMAKE_BUILD_TYPE=Debug -DKVSP_SANITIZE=address,undefined)
  else
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  fi
  echo "== $variant build"
  cmake -S . -B "$dir" "${flags[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== $variant tests"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 900
done
if command -v clang >/dev/null; then ./fuzz/run 60; fi
