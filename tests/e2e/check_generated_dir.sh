#!/usr/bin/env bash
# check_generated_dir.sh EFFC SOURCE_DIR WORK: the committed generated/ sample is exactly what
# effc emits today (deterministic emitter), the generator writes byte-identical ONNX for the
# same seed, and the sample builds on its own and runs.
set -uo pipefail
effc=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0
check() { if eval "$2"; then echo "ok $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }
args=(--phi 0 --width 0.125 --depth 0.5 --resolution 64 --classes 10)
"$effc" gen "${args[@]}" --emit-c "$work/efficientnet_tiny" --name efficientnet_tiny >/dev/null
check "generated/ is byte-identical to a fresh emit" "diff -r '$src/generated/efficientnet_tiny' '$work/efficientnet_tiny'"
"$effc" gen "${args[@]}" --seed 7 -o "$work/a.onnx" >/dev/null
"$effc" gen "${args[@]}" --seed 7 -o "$work/b.onnx" >/dev/null
"$effc" gen "${args[@]}" --seed 8 -o "$work/c.onnx" >/dev/null
check "same seed, byte-identical ONNX" "cmp -s '$work/a.onnx' '$work/b.onnx'"
check "another seed, other weights" "! cmp -s '$work/a.onnx' '$work/c.onnx'"
cp -r "$src/generated/efficientnet_tiny" "$work/standalone"
rm -rf "$work/standalone/build"
check "generated/ builds standalone" "cmake -S '$work/standalone' -B '$work/standalone/build' >/dev/null && cmake --build '$work/standalone/build' -j2 >/dev/null"
head -c $((64 * 64 * 3 * 4)) /dev/zero > "$work/in.f32"
check "its runner runs" "'$work/standalone/build/efficientnet_tiny_runner' '$work/in.f32' '$work/out.f32' && [[ \$(stat -c %s '$work/out.f32') -eq 40 ]]"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
