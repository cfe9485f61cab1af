#!/usr/bin/env bash
# Formats, in place, every C file the project owns (kvsp_format_files in
# scripts/format-common.sh) with .clang-format. Run it before committing;
# scripts/check-format.sh (ctest `format`) fails on a file it would change.
# After a tree-wide change of layout, tests/mutation/reformat_snippets.py
# brings the snippets of tests/mutation/mutations.txt back in line.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/format-common.sh
tool="$(kvsp_clang_format)"
kvsp_format_files | xargs -r -d '\n' "$tool" -i --style=file
