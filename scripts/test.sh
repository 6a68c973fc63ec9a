#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds warning-free, runs ctest, then reports
# the wall time of the setup, the build and the suite and the five slowest tests.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
scripts/setup.sh
setup_s=$((SECONDS - start))
# Disk is the resource CI runs out of first: say what there was and what the suite left.
disk_free() { df -Ph . | awk 'NR == 2 { print $4 }'; }
echo "test.sh: $(disk_free) free on this disk before the suite"
trap 'echo "test.sh: build tree $(du -sh build 2>/dev/null | cut -f1), $(disk_free) free after the suite"' EXIT
start=$SECONDS
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEFFC_WERROR=ON >/dev/null
cmake --build build -j2
build_s=$((SECONDS - start))
echo "test.sh: build took ${build_s} s"
start=$SECONDS
log=build/ctest.log
rc=0
ctest --test-dir build --output-on-failure -j2 "$@" | tee "$log" || rc=$?
suite_s=$((SECONDS - start))
# ctest's lines: "12/88 Test #31: name .......   Passed   12.34 sec"
echo "test.sh: the five slowest tests:"
grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log" |
  sed -E 's/^.*Test +#[0-9]+: ([^ ]+) .* ([0-9.]+) sec.*$/\2 \1/' | sort -rn | head -5 |
  awk '{ printf "test.sh:   %8.1f s  %s\n", $1, $2 }'
echo "test.sh: setup ${setup_s} s, build ${build_s} s, suite ${suite_s} s, total $((setup_s + build_s + suite_s)) s (wall)"
# ctest's own verdict last, where CI reads it.
grep -E '^[0-9]+% tests passed' "$log" | tail -1 || true
exit "$rc"
