#!/usr/bin/env bash
# run_fuzz.sh build SOURCE_DIR WORK
# run_fuzz.sh run SOURCE_DIR WORK [SECONDS]
# build: builds the libFuzzer targets (clang, ASan+UBSan) in WORK/build, and nothing else of
#   the tree, and reports how long that took.
# run: replays every input in tests/fuzz/regressions (crashers found earlier) through both,
#   then fuzzes each target for SECONDS (default 60) from the committed seed corpus. A crash,
#   leak or sanitizer report fails the test; new crashers are left in WORK for
#   tests/fuzz/regressions. External data resolves in WORK/extdata (EFFC_FUZZ_DATA_DIR), which
#   holds the 4 KiB data file ext.bin the external_data seed points at (bytes 0x3f: floats
#   near 0.75).
set -uo pipefail
mode=$1 src=$2 work=$3 secs=${4:-60}
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
mkdir -p "$work"
if [[ $mode == build ]]; then
  start=$SECONDS
  if cmake -S "$src" -B "$work/build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEFFC_FUZZ=ON \
       >"$work/configure.log" 2>&1 && cmake --build "$work/build" -j2 --target fuzz_load fuzz_compile >"$work/build.log" 2>&1; then
    ok "build fuzzers in $((SECONDS - start)) s"
  else
    bad "build fuzzers"; tail -n 20 "$work/configure.log" "$work/build.log"
  fi
  echo "$pass passed, $fail failed"
  [[ $fail -eq 0 ]]
  exit
elif [[ $mode != run ]]; then
  echo "usage: run_fuzz.sh build|run SOURCE_DIR WORK [SECONDS]" >&2
  exit 2
fi
rm -rf "$work/extdata" && mkdir -p "$work/extdata"
head -c 4096 /dev/zero | tr '\0' '?' >"$work/extdata/ext.bin"
export EFFC_FUZZ_DATA_DIR="$work/extdata"
for f in fuzz_load fuzz_compile; do
  regs=("$src"/tests/fuzz/regressions/*.onnx)
  if [[ -e ${regs[0]} ]]; then
    if "$work/build/$f" "${regs[@]}" >"$work/$f.replay.log" 2>&1; then ok "$f replays ${#regs[@]} regression inputs"
    else bad "$f replays regression inputs"; tail -n 20 "$work/$f.replay.log"; fi
  fi
  rm -rf "$work/$f.corpus" && mkdir -p "$work/$f.corpus" "$work/$f.crashes"
  cp "$src"/tests/fuzz/corpus/*.onnx "$work/$f.corpus/"
  if "$work/build/$f" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
       -artifact_prefix="$work/$f.crashes/" "$work/$f.corpus" >"$work/$f.log" 2>&1; then
    stats=$(grep -E "^#[0-9]+.*DONE" "$work/$f.log" | tail -1)
    ok "$f ran ${secs}s clean: ${stats:-see $work/$f.log}"
  else
    bad "$f found a crash (artifacts in $work/$f.crashes)"; tail -n 30 "$work/$f.log"
  fi
done
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
