#!/usr/bin/env bash
# The default job: EfficientNet-B0 -> C, built, run, diffed against ONNX Runtime, with the
# latency of both at 1 and 2 threads.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null
model=build/models/b0_op13.onnx
bash tests/models/cached_export.sh /usr/bin/python3 "$model" --variant b0 --opset 13
echo "== compile"
build/effc compile "$model" -o build/demo/efficientnet_b0 --name efficientnet_b0
echo "== build the generated directory on its own"
cmake -S build/demo/efficientnet_b0 -B build/demo/efficientnet_b0/build >/dev/null
cmake --build build/demo/efficientnet_b0/build -j2 >/dev/null
ls -l build/demo/efficientnet_b0/build/efficientnet_b0_runner
echo "== diff against ONNX Runtime, then latency"
for t in 1 2; do
  build/effc difftest "$model" --seeds 3 --threads "$t" --min-sensitivity 20 --bench 50 --work build/demo/difftest
done
