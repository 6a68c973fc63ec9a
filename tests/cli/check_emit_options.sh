#!/usr/bin/env bash
# check_emit_options.sh EFFC PYTHON WORK: effc's C output options (--weights, --image-input,
# --mean, --std, --scale) on the command line. Good values: --weights file writes NAME.weights
# (magic first) and no NAME_weights.c, and the CMakeLists does not compile one; --image-input
# adds NAME_run_image with the given normalisation in NAME.h. Bad values and models whose input
# is not one [1, 3, H, W] float frame: exit 2 (usage) or 1 (model) with a message naming the
# problem, and no output directory.
set -uo pipefail
effc=$1 py=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
tiny=(--phi 0 --width 0.125 --depth 0.5 --resolution 64 --classes 10)
"$effc" gen "${tiny[@]}" -o "$work/tiny.onnx" >/dev/null || bad setup "effc gen failed"
# Models whose input is one grey channel, two inputs, and a batch of two frames.
"$py" - "$work" <<'PYEOF' || bad setup "python could not write the models"
import sys
from onnx import helper as h, TensorProto as TP, save
d = sys.argv[1]
x = h.make_tensor_value_info("x", TP.FLOAT, [1, 1, 8, 8])
y = h.make_tensor_value_info("y", TP.FLOAT, [1, 1, 8, 8])
save(h.make_model(h.make_graph([h.make_node("Relu", ["x"], ["y"])], "grey", [x], [y]),
                  opset_imports=[h.make_opsetid("", 13)]), d + "/grey.onnx")
a = h.make_tensor_value_info("a", TP.FLOAT, [1, 3, 8, 8])
b = h.make_tensor_value_info("b", TP.FLOAT, [1, 3, 8, 8])
z = h.make_tensor_value_info("z", TP.FLOAT, [1, 3, 8, 8])
save(h.make_model(h.make_graph([h.make_node("Add", ["a", "b"], ["z"])], "two", [a, b], [z]),
                  opset_imports=[h.make_opsetid("", 13)]), d + "/two.onnx")
x2 = h.make_tensor_value_info("x", TP.FLOAT, [2, 3, 8, 8])
y2 = h.make_tensor_value_info("y", TP.FLOAT, [2, 3, 8, 8])
save(h.make_model(h.make_graph([h.make_node("Relu", ["x"], ["y"])], "batch2", [x2], [y2]),
                  opset_imports=[h.make_opsetid("", 13)]), d + "/batch2.onnx")
PYEOF

# good NAME ARGS...: exit 0
good() {
  local name=$1
  shift
  if "$effc" "$@" >"$work/$name.log" 2>&1; then ok "$name"; else bad "$name" "exit $?: $(tail -3 "$work/$name.log")"; fi
}
good compile_weights_file compile "$work/tiny.onnx" -o "$work/wf" --name m --weights file
if [[ -f $work/wf/m.weights && ! -e $work/wf/m_weights.c ]] && [[ $(head -c 8 "$work/wf/m.weights") == EFFCWGTS ]] &&
  ! grep -q m_weights.c "$work/wf/CMakeLists.txt" && grep -q "#define M_WEIGHTS_EMBEDDED 0" "$work/wf/m.h"; then
  ok "--weights file: NAME.weights with its header, no NAME_weights.c, nothing embedded"
else
  bad "--weights file output" "$(ls "$work/wf")"
fi
good compile_embed compile "$work/tiny.onnx" -o "$work/we" --name m --weights embed
if cmp -s "$work/wf/m.weights" "$work/we/m.weights" && [[ -f $work/we/m_weights.c ]] && grep -q "#define M_WEIGHTS_EMBEDDED 1" "$work/we/m.h"; then
  ok "--weights embed: the same blob, embedded"
else
  bad "--weights embed output" "blobs differ or m_weights.c missing"
fi
good compile_image compile "$work/tiny.onnx" -o "$work/wi" --name m --image-input bgr8 --scale 1/127.5 --mean 1,1,1 --std 1,1,1
if grep -q "int m_run_image(" "$work/wi/m.h" && grep -q '#define M_IMAGE_FORMAT "bgr8"' "$work/wi/m.h" &&
  grep -q "#define M_IMAGE_SCALE 0.00784313772f" "$work/wi/m.h" && grep -q "#define M_IMAGE_MEAN {1.0f, 1.0f, 1.0f}" "$work/wi/m.h" &&
  ! grep -q "run_image" "$work/we/m.h"; then
  ok "--image-input bgr8 --scale 1/127.5: NAME_run_image and its normalisation in NAME.h (not without the option)"
else
  bad "--image-input output" "$(grep IMAGE "$work/wi/m.h")"
fi
good gen_emit_c gen "${tiny[@]}" --emit-c "$work/gf" --name m --weights file --image-input rgb8
[[ -f $work/gf/m.weights && ! -e $work/gf/m_weights.c ]] && grep -q "m_run_image" "$work/gf/m.h" &&
  ok "gen --emit-c takes the options too" || bad "gen --emit-c options" "$(ls "$work/gf")"

# refused RC MESSAGE ARGS...: exit RC, MESSAGE on stderr, no output directory
refused() {
  local rc_want=$1 msg=$2 name=$3
  shift 3
  rm -rf "$work/out"
  "$effc" "$@" >"$work/$name.log" 2>&1
  local rc=$?
  if [[ $rc -ne $rc_want ]]; then
    bad "$name" "exit $rc, expected $rc_want: $(head -3 "$work/$name.log")"
  elif ! grep -q -- "$msg" "$work/$name.log"; then
    bad "$name" "no '$msg' in: $(head -3 "$work/$name.log")"
  elif [[ -e $work/out ]] || ls -d "$work"/out.effc-* >/dev/null 2>&1; then
    bad "$name" "left an output directory"
  else
    ok "$name: $(grep -m1 -- "$msg" "$work/$name.log")"
  fi
}
m=$work/tiny.onnx
refused 2 "give embed or file" weights_bad_value compile "$m" -o "$work/out" --weights linked
refused 2 "needs a value" weights_missing_value compile "$m" -o "$work/out" --weights
refused 2 "give rgb8, rgba8, bgr8 or bgra8" image_bad_format compile "$m" -o "$work/out" --image-input yuv420
refused 2 "three finite numbers" mean_two_numbers compile "$m" -o "$work/out" --image-input rgb8 --mean 0.5,0.5
refused 2 "three finite numbers" mean_not_numbers compile "$m" -o "$work/out" --image-input rgb8 --mean a,b,c
refused 2 "none of them 0" std_zero compile "$m" -o "$work/out" --image-input rgb8 --std 1,0,1
refused 2 "finite number" scale_division_by_zero compile "$m" -o "$work/out" --image-input rgb8 --scale 1/0
refused 2 "finite number" scale_inf compile "$m" -o "$work/out" --image-input rgb8 --scale inf
refused 2 "give --image-input too" mean_without_image compile "$m" -o "$work/out" --mean 0.5,0.5,0.5
refused 2 "give --emit-c" gen_onnx_with_weights gen "${tiny[@]}" -o "$work/out" --weights file
refused 1 "shape \[1, 3, H, W\]" image_grey_model compile "$work/grey.onnx" -o "$work/out" --image-input rgb8
refused 1 "one input" image_two_inputs compile "$work/two.onnx" -o "$work/out" --image-input rgb8
refused 1 "one frame: batch 1" image_batch_2 compile "$work/batch2.onnx" -o "$work/out" --image-input rgba8
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]] && rm -rf "$work"
[[ $fail -eq 0 ]]
