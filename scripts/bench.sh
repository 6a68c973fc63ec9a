#!/usr/bin/env bash
# The performance benchmark: effc's generated code against ONNX Runtime 1.30 on this machine.
# Not part of the test suite. Writes build/bench/bench.md and bench.csv.
# Usage: scripts/bench.sh [--models b0,b1,b3,b7] [--threads 1,2] [--pairs 10] [--block 5] [--rounds 2]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null
exec /usr/bin/python3 tests/bench/run_bench.py "$@"
