#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds a consumer with
# find_package(kvsparser) and with pkg-config.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$src_dir" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_C_FLAGS="${CONSUMER_CFLAGS:-}" >/dev/null
cmake --build "$work/consumer" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib:$work/prefix/lib/x86_64-linux-gnu" "$work/consumer/consumer"
libdir=$(ls -d "$work"/prefix/lib*/pkgconfig | head -1)
export PKG_CONFIG_PATH="$libdir"
cc ${CONSUMER_CFLAGS:-} "$src_dir/main.c" $(pkg-config --cflags --libs kvsparser) -o "$work/pc_consumer"
LD_LIBRARY_PATH="$(dirname "$libdir")" "$work/pc_consumer"

# The installed command line: the lean front links only the core (and
# Jansson) and becomes libexec/kvsparser/kvsp-full for commands that need
# the decoder or the client.
prefix="$work/prefix"
export LD_LIBRARY_PATH="$prefix/lib:$prefix/lib/x86_64-linux-gnu"
needed=$(readelf -d "$prefix/bin/kvsp" | grep NEEDED || true)
if grep -Eq 'avcodec|curl|crypto|microhttpd|kvsparser-(client|decoder)' <<<"$needed"; then
  echo "the kvsp front links more than the core:"; echo "$needed"; exit 1
fi
# kvsp-decode, the front with the decoder only, loads no more than that.
if [ -x "$build_dir/kvsp-decode" ]; then
  decode_exe="$prefix/libexec/kvsparser/kvsp-decode"
  test -x "$decode_exe" || { echo "kvsp-decode is not installed"; exit 1; }
  # ldd: what it loads, through its libraries too (the link drops unused ones)
  loaded=$(ldd "$decode_exe")
  grep -q libavcodec <<<"$loaded" || { echo "kvsp-decode does not load libavcodec?"; exit 1; }
  if grep -Eq 'avformat|curl|libssl|microhttpd|jansson|kvsparser-(client|mp4)' <<<"$loaded"; then
    echo "kvsp-decode loads more than the decoder:"; echo "$loaded"; exit 1
  fi
fi
fixture="$src_dir/../resources/h264_blockgroups.mkv"
"$prefix/bin/kvsp" merge "$fixture" -o "$work/merged.mkv" 2>/dev/null
test -s "$work/merged.mkv"
if [ -x "$prefix/libexec/kvsparser/kvsp-full" ]; then
  "$prefix/bin/kvsp" frames --framemd5 "$fixture" >"$work/installed.md5"
  "$build_dir/kvsp-full" frames --framemd5 "$fixture" >"$work/built.md5"
  test -s "$work/installed.md5"
  cmp "$work/installed.md5" "$work/built.md5"
fi
echo "installed kvsp: merge and delegated frames --framemd5 ok"
