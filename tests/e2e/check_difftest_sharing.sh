#!/usr/bin/env bash
# check_difftest_sharing.sh EFFC RUNTIME_EXPORTS WORK: what the suite's difftests share.
# --prebuilt-runtime: the generated build links the tree's runtime and compiles none of its own;
# a configuration with no exported runtime is refused with a clear message.
# --ref-cache: a second run takes ONNX Runtime's outputs from the cache, another model does not
# meet the first one's entries, and a corrupted entry makes the diff fail (the cached outputs
# are what is compared, not a formality).
set -uo pipefail
effc=$1 exports=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0
check() { if eval "$2"; then echo "ok $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }
args=(--phi 0 --width 0.125 --depth 0.5 --resolution 64 --classes 10)
"$effc" gen "${args[@]}" --seed 7 -o "$work/a.onnx" >/dev/null
"$effc" gen "${args[@]}" --seed 8 -o "$work/b.onnx" >/dev/null
dt() { # dt MODEL NAME [ARGS...]: difftest into WORK/NAME, output in WORK/NAME.out, status in WORK/NAME.rc
  local model=$1 name=$2
  shift 2
  "$effc" difftest "$model" --seeds 2 --prebuilt-runtime "$exports" --ref-cache "$work/cache" \
    --work "$work/$name" --keep "$@" >"$work/$name.out" 2>&1
  echo $? >"$work/$name.rc"
}
dt "$work/a.onnx" a1
check "first run passes" "[[ \$(cat '$work/a1.rc') -eq 0 ]] && grep -q 'PASS' '$work/a1.out'"
check "first run runs ONNX Runtime" "! grep -q 'from the reference cache' '$work/a1.out'"
check "the generated build compiled no runtime" \
  "[[ -x '$work/a1/gen/build/model_runner' ]] && ! find '$work/a1/gen/build' -name 'libeffc_rt.a' | grep -q ."
check "two cache entries (seeds 0 and 1)" "[[ \$(ls '$work/cache' | wc -l) -eq 2 ]]"
dt "$work/a.onnx" a2
check "second run passes from the cache" \
  "[[ \$(cat '$work/a2.rc') -eq 0 ]] && [[ \$(grep -c 'from the reference cache' '$work/a2.out') -eq 2 ]]"
dt "$work/b.onnx" b1
check "another model does not use the first one's entries" \
  "[[ \$(cat '$work/b1.rc') -eq 0 ]] && ! grep -q 'from the reference cache' '$work/b1.out'"
for f in "$work"/cache/*; do
  if cmp -s "$f" "$work/a1/ref0_0.f32"; then head -c "$(stat -c %s "$f")" /dev/zero >"$f"; fi
done
dt "$work/a.onnx" a3
check "a corrupted entry fails the diff" "[[ \$(cat '$work/a3.rc') -eq 1 ]] && grep -q 'MISMATCH' '$work/a3.out'"
mkdir -p "$work/empty"
"$effc" difftest "$work/a.onnx" --seeds 1 --prebuilt-runtime "$work/empty" --work "$work/none" >"$work/none.out" 2>&1
rc=$?
check "a missing prebuilt runtime is refused by name" \
  "[[ $rc -eq 1 ]] && grep -q 'no runtime for this configuration at .*effc_rt-default.cmake' '$work/none.out'"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]] && rm -rf "$work"
[[ $fail -eq 0 ]]
