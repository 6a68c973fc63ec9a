#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds warning-free, runs ctest.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Disk is the resource CI runs out of first: say what there was and what the suite left.
disk_free() { df -Ph . | awk 'NR == 2 { print $4 }'; }
echo "test.sh: $(disk_free) free on this disk before the suite"
trap 'echo "test.sh: build tree $(du -sh build 2>/dev/null | cut -f1), $(disk_free) free after the suite"' EXIT
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEFFC_WERROR=ON >/dev/null
cmake --build build -j2
ctest --test-dir build --output-on-failure -j2 "$@"
