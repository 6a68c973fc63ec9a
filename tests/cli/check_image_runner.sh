#!/usr/bin/env bash
# check_image_runner.sh EFFC PYTHON RUNTIME_EXPORT WORK: NAME_run_image where the model does not
# start with effc's NHWC conversion (a Relu on a [1, 3, 5, 7] input), so the frame goes to NCHW
# in the context's own buffer and through NAME_run: compiled with --image-input bgra8 and a
# mean and std per channel, built against this tree's runtime, and run with
# `relu_runner --image FRAME`; the output must be Relu((byte / 255 - mean) / std) of the frame's
# R, G, B bytes as numpy computes it, in NCHW order. Odd sizes, so no row is a vector multiple.
set -uo pipefail
effc=$1 py=$2 rt=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0
check() { local n=$1; shift; if "$@" >"$work/$n.log" 2>&1; then echo "ok $n"; pass=$((pass + 1)); else echo "FAIL $n"; tail -n 20 "$work/$n.log"; fail=$((fail + 1)); fi; }
check make_model "$py" -c "
from onnx import helper as h, TensorProto as TP, save
x = h.make_tensor_value_info('x', TP.FLOAT, [1, 3, 5, 7])
y = h.make_tensor_value_info('y', TP.FLOAT, [1, 3, 5, 7])
save(h.make_model(h.make_graph([h.make_node('Relu', ['x'], ['y'])], 'relu', [x], [y]),
                  opset_imports=[h.make_opsetid('', 13)]), '$work/relu.onnx')
import numpy as np
np.random.default_rng(5).integers(0, 256, 5 * 7 * 4, dtype=np.uint8).tofile('$work/frame.bgra')
"
check compile "$effc" compile "$work/relu.onnx" -o "$work/relu" --name relu --image-input bgra8 --mean 0.1,0.2,0.3 --std 0.5,0.25,2
check takes_nchw_path grep -q "image_input" "$work/relu/relu.c"
check configure cmake -S "$work/relu" -B "$work/relu/build" -DCMAKE_PROJECT_INCLUDE="$rt"
check build cmake --build "$work/relu/build" -j2 --target relu_runner
check run "$work/relu/build/relu_runner" --image "$work/frame.bgra" "$work/out.f32"
check matches_numpy "$py" -c "
import numpy as np
px = np.fromfile('$work/frame.bgra', dtype=np.uint8).reshape(5, 7, 4)
rgb = px[:, :, [2, 1, 0]].astype(np.float32).transpose(2, 0, 1)
mean = np.array([0.1, 0.2, 0.3], np.float32)[:, None, None]
std = np.array([0.5, 0.25, 2], np.float32)[:, None, None]
want = np.maximum((rgb * np.float32(1 / 255) - mean) / std, 0).ravel()
got = np.fromfile('$work/out.f32', dtype=np.float32)
err = np.abs(got - want).max() if got.size == want.size else float('inf')
print('max abs error', err, 'nonzero', np.count_nonzero(want))
assert err <= 1e-6 and np.count_nonzero(want) > 20
"
check short_frame_refused bash -c "head -c 100 '$work/frame.bgra' > '$work/short.bgra'; '$work/relu/build/relu_runner' --image '$work/short.bgra' '$work/out2.f32'; [ \$? -eq 1 ]"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]] && rm -rf "$work"
[[ $fail -eq 0 ]]
