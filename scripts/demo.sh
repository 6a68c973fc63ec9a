#!/usr/bin/env bash
# The default job: EfficientNet-B0 generated from phi=0 (no exporter, no Python), compiled to C,
# built on its own, run, diffed against ONNX Runtime, and timed next to it at 1 and 2 threads.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null
mkdir -p build/demo
echo "== generate EfficientNet-B0 from phi=0 (ONNX for ONNX Runtime, C for us)"
build/effc gen --phi 0 -o build/demo/efficientnet_b0.onnx
build/effc gen --phi 0 --emit-c build/demo/efficientnet_b0 --name efficientnet_b0
echo "== build the generated directory on its own and run it"
cmake -S build/demo/efficientnet_b0 -B build/demo/efficientnet_b0/build >/dev/null
cmake --build build/demo/efficientnet_b0/build -j2 >/dev/null
head -c $((3 * 224 * 224 * 4)) /dev/zero > build/demo/input.f32
build/demo/efficientnet_b0/build/efficientnet_b0_runner --repeat 20 build/demo/input.f32 build/demo/output.f32
echo "== diff against ONNX Runtime on 3 seeded inputs, then latency of both"
for t in 1 2; do
  build/effc difftest build/demo/efficientnet_b0.onnx --seeds 3 --threads "$t" --min-sensitivity 20 \
    --bench 50 --work build/demo/difftest
done
