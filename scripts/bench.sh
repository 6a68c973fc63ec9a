#!/usr/bin/env bash
# The performance benchmark: effc's generated code against ONNX Runtime 1.30 on this machine.
# Not part of the test suite. Writes build/bench/bench.md and bench.csv.
# Usage: scripts/bench.sh [--models b0,b1,b3,b7,lite_b0,mnv3_large,mnv3_small,v2_s,phi0.5,b0_int8,lite_b0_int8] [--threads 1,2]
#                         [--pairs 10] [--block 5] [--rounds 2] [--jobs 2] [--no-avx512]
# --models picks a subset (default all, in that order); e.g. --models mnv3_small for a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
# The options only: no setup or build first.
for arg in "$@"; do
  if [[ $arg == -h || $arg == --help ]]; then exec /usr/bin/python3 tests/bench/run_bench.py --help; fi
done
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 >/dev/null
exec /usr/bin/python3 tests/bench/run_bench.py "$@"
