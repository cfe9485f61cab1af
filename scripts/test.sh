#!/usr/bin/env bash
# Installs what is needed, then builds and runs every test twice: a normal
# build and an AddressSanitizer + UndefinedBehaviorSanitizer build, then the
# fuzzers. Tests run with Debian's /usr/bin/python3 (python3-botocore etc.).
# After the release tests, the CI subset of tests/mutation/mutations.txt.
#
# Skips (README, Tests): a test that cannot run for want of data or a tool
# exits 77 and ctest counts it as skipped; with CI=true it fails instead,
# unless tests/allowed_skips.txt names it. The summary at the end lists every
# skip of both builds, and with CI=true any skip not on that list fails this
# script too (a second check, for a test that exits 77 on its own); so does
# a missing clang (no fuzzers).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
jobs="$(nproc)"
ci=false
[ "${CI:-}" = true ] && ci=true
allowed="$(grep -v '^[[:space:]]*\(#\|$\)' tests/allowed_skips.txt | awk '{print $1}')"
status=0
summary=()
for variant in release asan; do
  dir="build-ci-$variant"
  if [ "$variant" = asan ]; then
    flags=(-DCMAKE_BUILD_TYPE=Debug -DKVSP_SANITIZE=address,undefined)
  else
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  fi
  echo "== $variant build"
  cmake -S . -B "$dir" -DPython3_EXECUTABLE=/usr/bin/python3 "${flags[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs" >/dev/null
  echo "== $variant tests"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 900 2>&1 | tee "$dir/ctest.log"; then
    status=1
  fi
  # ctest lists them under "The following tests did not run:" as "  N - name (Skipped)".
  skips="$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$dir/ctest.log")"
  for t in $skips; do
    if grep -qxF "$t" <<<"$allowed"; then
      summary+=("$variant: $t (allowed: tests/allowed_skips.txt)")
    else
      summary+=("$variant: $t (not on tests/allowed_skips.txt: fails with CI=true)")
      if $ci; then status=1; fi
    fi
  done
  [ -n "$skips" ] || summary+=("$variant: no test skipped")
  if [ "$variant" = release ]; then
    # Mutation testing (tests/mutation/README.md): every snippet of the list
    # still occurs in the tree, and each mutation of the CI subset is caught
    # (one that survives or does not build fails the run).
    echo "== mutations (CI subset)"
    if ! tests/mutation/run --check || ! tests/mutation/run --ci -j"$jobs"; then
      status=1
    fi
  fi
done
if command -v clang >/dev/null || command -v clang-14 >/dev/null; then
  ./fuzz/run 60 || status=1
else
  summary+=("fuzz: not run, clang not found")
  if $ci; then echo "CI: cannot skip: the fuzzers (clang not found)"; status=1; fi
fi
echo "== skips"
printf '  %s\n' "${summary[@]}"
exit "$status"
