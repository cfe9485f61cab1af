#!/usr/bin/env bash
# Quick start: install, build, then the whole path on a bundled sample:
# serve it from a local KVS-compatible endpoint (kvsp serve on 127.0.0.1),
# read it back through GetMedia with --stream, print its fragments, merge
# them into a seekable MKV and extract a few frames as PNG, then the same
# stream from Python: boto3's GetMedia body decoded by the kvsp package into
# a numpy batch (examples/python/one_per_second.py); stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKVSP_BUILD_TESTS=OFF \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
kvsp=$PWD/build/kvsp

work=$(mktemp -d)
cp tests/resources/kvs_user_tags.mkv "$work/demo-camera.mkv"
# Demo credentials: the server checks SigV4 signatures made with them.
export AWS_ACCESS_KEY_ID=AKIDKVSPDEMO AWS_SECRET_ACCESS_KEY=kvsp-demo-secret AWS_REGION=us-west-2
export AWS_EC2_METADATA_DISABLED=true
"$kvsp" serve --root "$work" --port 0 --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
endpoint=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/serve.out" | head -n 1)
echo "== kvsp serve: $endpoint (stream demo-camera)"
remote=(--stream demo-camera --start earliest --endpoint-url "$endpoint")

echo "== kvsp fragments --stream demo-camera"
"$kvsp" fragments "${remote[@]}"
echo "== kvsp merge --stream demo-camera -o merged.mkv"
"$kvsp" merge "${remote[@]}" -o "$work/merged.mkv"
echo "== kvsp frames --stream demo-camera --every 4 -o frames/"
"$kvsp" frames "${remote[@]}" --every 4 -o "$work/frames"
ls -l "$work/merged.mkv" "$work/frames"
cat "$work/frames/index.jsonl"
echo "== python: kvsp.decode_batches(boto3 get_media(demo-camera) StreamingBody, one per second)"
AWS_DEFAULT_REGION=$AWS_REGION PYTHONPATH=$PWD/build/python /usr/bin/python3 \
  examples/python/one_per_second.py --stream demo-camera --endpoint-url "$endpoint" --batch 4 --size 160x
