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
