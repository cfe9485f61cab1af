#!/bin/sh
# check_symbols.sh LIBRARY_OR_OBJECT...
# Every global symbol the libraries define carries the kvsp prefix (issue 18):
# a static library's objects may clash with nothing in a program that links
# them, and a shared library exports only its public API (internal symbols are
# hidden). For a shared library the exported dynamic symbols are checked, for
# an archive or an object file its defined globals.
status=0
checked=0
for f in "$@"; do
    case "$f" in
    *.so | *.so.*) syms=$(nm -D --defined-only "$f") ;;
    *) syms=$(nm -g --defined-only "$f" 2>/dev/null) ;;
    esac || { echo "nm failed on $f"; exit 1; }
    bad=$(printf '%s\n' "$syms" | awk 'NF >= 3 { print $3 }' |
          grep -v -e '^kvsp_' -e '^KVSP_' -e '^_init$' -e '^_fini$' -e '^__bss_start$' \
                  -e '^_edata$' -e '^_end$' -e '^__odr_asan' -e '^__asan' -e '^__ubsan' -e '^___asan' -e '^__sancov')
    if [ -n "$bad" ]; then
        echo "$f defines global symbols without the kvsp prefix:"
        printf '  %s\n' $bad
        status=1
    fi
    checked=$((checked + 1))
done
[ "$checked" -gt 0 ] || { echo "no file to check"; exit 1; }
[ $status = 0 ] && echo "$checked files: every global symbol has the kvsp prefix"
exit $status
