#!/usr/bin/env bash
# Installs what kvsparser needs to build and test on Debian 12: every test
# and the fuzzers (libclang-rt-dev holds libFuzzer; clang only recommends it).
# In CI a test whose tool or library is missing fails (README, Tests).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config python3 ca-certificates \
  libcmocka-dev libjansson-dev libavcodec-dev libavutil-dev libswscale-dev \
  libcurl4-openssl-dev libssl-dev libmicrohttpd-dev python3-botocore \
  libsdl2-dev clang libclang-rt-dev \
  ffmpeg mkvtoolnix libebml-dev libmatroska-dev g++ \
  openssl \
  libswresample-dev \
  sox \
  prometheus \
  python3-prometheus-client \
  clang-format \
  libavformat-dev \
  chromium \
  python3-dev \
  python3-numpy \
  python3-pytest \
  python3-av \
  python3-distributed \
  python3-boto3 \
  slurm-wlm munge \
  python3-yaml \
  >/dev/null
# npm (hls.js for the HLS browser test comes from the npm registry): Debian's
# package unless the machine has its own Node.js and npm, which Debian's npm
# conflicts with (a nodesource nodejs, as on the CI machines).
command -v npm >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
