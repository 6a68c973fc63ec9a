#!/usr/bin/env bash
# run_camera.sh BUILD_DIR WORK: installs effc from BUILD_DIR into WORK/prefix, generates a small
# EfficientNet with it (width 0.125, 64x64), builds the camera/ project (effc_add_model with
# OPTIONS --weights file --image-input rgba8 and ImageNet normalisation) against it and runs
# it: the class of a synthetic frame through tiny_run_image, on weights read from the file,
# must equal the float path's. Then the program is pointed at a blob of another model (which
# it must refuse with status 1 and a message).
set -uo pipefail
build=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0
check() { local n=$1; shift; if "$@" >"$work/$n.log" 2>&1; then echo "ok $n"; pass=$((pass + 1)); else echo "FAIL $n"; tail -n 20 "$work/$n.log"; fail=$((fail + 1)); fi; }
check install cmake --install "$build" --prefix "$work/prefix"
check gen_model "$work/prefix/bin/effc" gen --phi 0 --width 0.125 --depth 0.5 --resolution 64 --classes 10 -o "$work/tiny.onnx"
check gen_other "$work/prefix/bin/effc" gen --phi 0 --width 0.125 --depth 0.5 --resolution 64 --classes 10 --seed 3 \
  --emit-c "$work/other" --name tiny --weights file
check configure cmake -S "$here/camera" -B "$work/camera" -DCMAKE_PREFIX_PATH="$work/prefix" -DMODEL="$work/tiny.onnx"
check build cmake --build "$work/camera" -j2
check no_weights_linked_in bash -c "! grep -rq tiny_weights.c '$work/camera/CMakeFiles' && ! test -e '$work/camera/effc_net/tiny_weights.c'"
check run "$work/camera/camera"
grep -q "status=0 class=" "$work/run.log" && cat "$work/run.log"
check refuses_other_blob bash -c "'$work/camera/camera' '$work/other/tiny.weights'; [ \$? -eq 1 ]"
grep -q "another model" "$work/refuses_other_blob.log" && cat "$work/refuses_other_blob.log"
check other_blob_message grep -q "another model" "$work/refuses_other_blob.log"
echo "$pass passed, $fail failed"
# A pass keeps no build outputs: the suite has to fit a small CI disk.
[[ $fail -eq 0 ]] && rm -rf "$work"
[[ $fail -eq 0 ]]
