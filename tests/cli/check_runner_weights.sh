#!/usr/bin/env bash
# check_runner_weights.sh RUNNER WEIGHTS OTHER_WEIGHTS WORK: the runner of a model compiled with
# --weights file runs on its NAME.weights (--weights FILE), and exits with status 1 and a
# message saying what is wrong when the weights are missing (no --weights), another model's,
# truncated, empty, absent or not a file. Never a crash (status > 128) or an output file. The
# model also takes frames (--image-input rgba8): --image FRAME runs on one, and a frame file of
# the wrong size is refused the same way.
set -uo pipefail
runner=$1 weights=$2 other=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
head -c $((64 * 64 * 3 * 4)) /dev/zero >"$work/in.f32"
if "$runner" --weights "$weights" "$work/in.f32" "$work/out.f32" 2>"$work/good.err" && [[ $(stat -c %s "$work/out.f32") -eq 40 ]]; then
  ok "runs on its weights"
else
  bad "runs on its weights" "$(cat "$work/good.err")"
fi
# --image FRAME (the model was compiled with --image-input rgba8): a 64x64 RGBA frame.
head -c $((64 * 64 * 4)) /dev/urandom >"$work/frame.rgba"
if "$runner" --weights "$weights" --image "$work/frame.rgba" "$work/out.f32" 2>"$work/image.err" && [[ $(stat -c %s "$work/out.f32") -eq 40 ]]; then
  ok "runs on a frame (--image)"
else
  bad "runs on a frame (--image)" "$(cat "$work/image.err")"
fi
head -c 1000 "$weights" >"$work/truncated.weights"
head -c $(($(stat -c %s "$weights") - 1)) "$weights" >"$work/short_by_one.weights"
: >"$work/empty.weights"
mkdir -p "$work/a_directory.weights"
# case NAME EXPECTED_MESSAGE RUNNER_ARGS...
case_() {
  local name=$1 msg=$2
  shift 2
  rm -f "$work/out.f32"
  "$runner" "$@" "$work/in.f32" "$work/out.f32" >"$work/$name.out" 2>"$work/$name.err"
  local rc=$?
  if [[ $rc -ne 1 ]]; then
    bad "$name" "exit status $rc, expected 1: $(cat "$work/$name.err")"
  elif ! grep -q -- "$msg" "$work/$name.err"; then
    bad "$name" "message does not say '$msg': $(cat "$work/$name.err")"
  elif [[ -e "$work/out.f32" ]]; then
    bad "$name" "wrote an output anyway"
  else
    ok "$name: $(head -1 "$work/$name.err")"
  fi
}
case_ no_weights_option "give --weights"
case_ other_model "not this model's weights: another model" --weights "$other"
case_ truncated "not this model's weights: truncated" --weights "$work/truncated.weights"
case_ short_by_one "truncated" --weights "$work/short_by_one.weights"
case_ empty "empty" --weights "$work/empty.weights"
case_ missing "cannot open" --weights "$work/does_not_exist.weights"
case_ directory "not a regular file" --weights "$work/a_directory.weights"
head -c 1000 "$work/frame.rgba" >"$work/short.rgba"
rm -f "$work/out.f32"
"$runner" --weights "$weights" --image "$work/short.rgba" "$work/out.f32" 2>"$work/short_frame.err"
rc=$?
[[ $rc -eq 1 && ! -e $work/out.f32 ]] && grep -q "expected 16384 bytes of pixels" "$work/short_frame.err" &&
  ok "short_frame: $(cat "$work/short_frame.err")" || bad short_frame "exit $rc: $(cat "$work/short_frame.err")"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]] && rm -rf "$work"
[[ $fail -eq 0 ]]
