#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ResNet50 (TorchScript, `make models`) profiled with inferd-perf over local://, ipc://, http://
# and grpc:// at batch 1 and 8, concurrency 1 to 4 (docs/profiling.md). Writes one CSV and one
# JSON per transport and batch size into OUT (default /tmp/inferd-perf-resnet50).
#   scripts/profile_resnet50.sh [BUILD] [REPO] [OUT]
# Windows are counted in requests (a batch-8 request takes seconds on a 2-core VM): three
# windows of COUNT requests per level, accepted as they come (-s 100).
set -eu
BUILD=${1:-build}
REPO=${2:-examples/model_repository}
OUT=${3:-/tmp/inferd-perf-resnet50}
COUNT1=${COUNT1:-4}
COUNT8=${COUNT8:-2}
MODEL=resnet50_torchscript
mkdir -p "$OUT"
SOCK="$OUT/inferd.sock"
"$BUILD/bin/inferd" --model-repository="$REPO" --model-control-mode=explicit \
  --load-model=$MODEL --http-port=18500 --grpc-port=18501 --metrics-port=18502 \
  --metrics-interval-ms=500 --ipc-socket-path="$SOCK" > "$OUT/inferd.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
while ! grep -q "inferd ready" "$OUT/inferd.log"; do sleep 1; done
run() {  # transport url batch
  count=$COUNT1
  [ "$3" = 8 ] && count=$COUNT8
  "$BUILD/bin/inferd-perf" profile -m $MODEL -u "$2" -b "$3" --concurrency-range 1:4 \
    --measurement-mode count_windows --measurement-request-count "$count" -s 100 -r 3 \
    --control-url http://127.0.0.1:18500 --collect-metrics --metrics-interval 500 \
    --metrics-url http://127.0.0.1:18502/metrics \
    -f "$OUT/$1_b$3.csv" --verbose-csv --json "$OUT/$1_b$3.json" > "$OUT/$1_b$3.txt" 2>&1
  echo "$1 batch $3 done"
}
for batch in 1 8; do
  run ipc "ipc://$SOCK" $batch
  run http http://127.0.0.1:18500 $batch
  run grpc grpc://127.0.0.1:18501 $batch
done
kill $SERVER
wait $SERVER 2>/dev/null || true
# local://: the model alone in this process (in-process probes for the hardware).
for batch in 1 8; do
  count=$COUNT1
  [ "$batch" = 8 ] && count=$COUNT8
  "$BUILD/bin/inferd-perf" profile -m $MODEL -u "local://$REPO" -b $batch \
    --concurrency-range 1:4 --measurement-mode count_windows --measurement-request-count "$count" \
    -s 100 -r 3 --collect-metrics --metrics-interval 500 \
    -f "$OUT/local_b$batch.csv" --verbose-csv --json "$OUT/local_b$batch.json" \
    > "$OUT/local_b$batch.txt" 2>&1
  echo "local batch $batch done"
done
