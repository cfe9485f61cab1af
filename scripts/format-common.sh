# Sourced by scripts/format.sh and scripts/check-format.sh, from the
# repository's top directory.

# The C sources and headers the project owns, one a line: *.c and *.h under
# src, include, tools, tests, fuzz, examples, bench and python, tracked or untracked
# but not ignored by git, as they are in the working tree (without git, in a
# copy of the tree: every such file). Left out: generated files;
# src/ebml/element_table.c is tools/gen_element_table.py's output, which
# ctest element_table_up_to_date compares byte for byte.
kvsp_format_files() {
  local dirs=(src include tools tests fuzz examples bench python)
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard -- "${dirs[@]}"
  else
    find "${dirs[@]}" -type f
  fi | grep -E '\.[ch]$' | grep -Ev '^src/ebml/element_table\.c$' | sort -u |
    while read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done
}

# Prints the clang-format to use: version 14, the one .clang-format is
# written for (Debian 12's; other versions lay out some constructs
# differently). $CLANG_FORMAT if set, else clang-format-14, else
# clang-format. Returns 1, saying why on stderr, when none is version 14.
kvsp_clang_format() {
  local tool version
  for tool in ${CLANG_FORMAT:-} clang-format-14 clang-format; do
    command -v "$tool" >/dev/null 2>&1 || continue
    version="$("$tool" --version)"
    if [[ "$version" =~ version\ 14\. ]]; then
      printf '%s\n' "$tool"
      return 0
    fi
    echo "$tool is not version 14: $version" >&2
  done
  echo "no clang-format 14 (scripts/install-deps.sh installs it)" >&2
  return 1
}
