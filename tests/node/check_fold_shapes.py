#!/usr/bin/python3
"""Check effc's compile-time evaluation of shape-value ops against ONNX's own node tests.

run_node_tests.py runs node tests whose inputs are run-time tensors; the ops effc evaluates at
compile time (Shape, Size, Gather, Concat, Slice, Squeeze, Unsqueeze, Cast, ConstantOfShape,
Range, Expand, the comparisons, Where, Neg, Abs, Floor, Ceil, ReduceProd) never run at run
time, so their node tests are excluded there.
Here each case listed in CASES is rewritten so that its inputs (test_data_set_0) are
initializers and its outputs carry no type (effc's loader takes only float32 graph outputs),
then `test_fold_shapes --dump` loads it, runs shape inference and prints the outputs, which
must equal ONNX's expected outputs exactly (float outputs within 1e-6 relative).

Every listed case must pass; a missing case directory is a failure, not a skip. The cases left
out are named in NOT_LISTED with the reason. A few models made here cover what the node tests
do not: Slice-1's attributes (against numpy) and refusals that must name the node (a Reshape
whose shape is cast from data, a Concat without axis, a Cast without to).

Usage: check_fold_shapes.py TEST_FOLD_SHAPES WORKDIR [--data DIR]
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"

CASES = [
    "test_shape", "test_shape_example", "test_shape_clip_end", "test_shape_clip_start",
    "test_shape_end_1", "test_shape_end_negative_1", "test_shape_start_1", "test_shape_start_1_end_2",
    "test_shape_start_1_end_negative_1", "test_shape_start_negative_1",
    "test_size", "test_size_example",
    "test_gather_0", "test_gather_1", "test_gather_2d_indices", "test_gather_negative_indices",
    "test_concat_1d_axis_0", "test_concat_1d_axis_negative_1", "test_concat_2d_axis_0",
    "test_concat_2d_axis_1", "test_concat_2d_axis_negative_1", "test_concat_2d_axis_negative_2",
    "test_concat_3d_axis_0", "test_concat_3d_axis_1", "test_concat_3d_axis_2",
    "test_concat_3d_axis_negative_1", "test_concat_3d_axis_negative_2", "test_concat_3d_axis_negative_3",
    "test_slice", "test_slice_default_axes", "test_slice_default_steps", "test_slice_end_out_of_bounds",
    "test_slice_neg", "test_slice_neg_steps", "test_slice_negative_axes", "test_slice_start_out_of_bounds",
    "test_squeeze", "test_squeeze_negative_axes",
    "test_unsqueeze_axis_0", "test_unsqueeze_axis_1", "test_unsqueeze_axis_2", "test_unsqueeze_axis_3",
    "test_unsqueeze_negative_axes", "test_unsqueeze_three_axes", "test_unsqueeze_two_axes",
    "test_unsqueeze_unsorted_axes",
    "test_cast_DOUBLE_to_FLOAT", "test_cast_FLOAT_to_DOUBLE",
    "test_constantofshape_float_ones", "test_constantofshape_int_shape_zero", "test_constantofshape_int_zeros",
    "test_range_float_type_positive_delta", "test_range_int32_type_negative_delta",
    "test_expand_dim_changed", "test_expand_dim_unchanged",
    "test_equal", "test_equal_bcast",
    "test_less", "test_less_bcast", "test_greater", "test_greater_bcast", "test_less_equal",
    "test_less_equal_bcast", "test_greater_equal", "test_greater_equal_bcast",
    "test_neg", "test_neg_example", "test_abs", "test_floor", "test_floor_example", "test_ceil",
    "test_ceil_example",
    "test_reduce_prod_default_axes_keepdims_example", "test_reduce_prod_default_axes_keepdims_random",
    "test_reduce_prod_do_not_keepdims_example", "test_reduce_prod_do_not_keepdims_random",
    "test_reduce_prod_keepdims_example", "test_reduce_prod_keepdims_random",
    "test_reduce_prod_negative_axes_keepdims_example", "test_reduce_prod_negative_axes_keepdims_random",
]
NOT_LISTED = {
    "test_cast_*FLOAT16*, *BFLOAT16*, *STRING*": "types effc does not hold",
    "test_where_example, test_where_long_example, test_not_*": "bool inputs (effc loads no bool tensors)",
    "test_*_equal_expanded, test_*_equal_bcast_expanded": "written with Or, which effc does not evaluate",
    "test_gather_elements_*": "GatherElements is another operator",
    "test_range_*_expanded": "written with Loop",
}


def rewrite(src_dir, dst):
    """model.onnx with its inputs from test_data_set_0 as initializers and untyped outputs;
    returns the expected outputs."""
    m = onnx.load(os.path.join(src_dir, "model.onnx"))
    ds = os.path.join(src_dir, "test_data_set_0")
    g = m.graph
    for i, vi in enumerate(list(g.input)):
        t = onnx.TensorProto()
        with open(os.path.join(ds, "input_%d.pb" % i), "rb") as f:
            t.ParseFromString(f.read())
        t.name = vi.name
        g.initializer.append(t)
    del g.input[:]
    expected = []
    for i, vi in enumerate(g.output):
        t = onnx.TensorProto()
        with open(os.path.join(ds, "output_%d.pb" % i), "rb") as f:
            t.ParseFromString(f.read())
        expected.append(numpy_helper.to_array(t))
        vi.ClearField("type")
    onnx.save(m, dst)
    return expected


def parse_dump(text):
    outs = []
    for line in text.splitlines():
        head, _, vals = line.partition(" : ") if " : " in line else (line.rstrip(" :"), "", "")
        f = head.split()
        rank = int(f[2])
        dims = [int(v) for v in f[3:3 + rank]]
        dt = np.int64 if f[1] == "i64" else np.float64
        outs.append(np.array([dt(v) for v in vals.split()], dtype=dt).reshape(dims))
    return outs


def check(got, want):
    if list(got.shape) != list(want.shape):
        return "shape %s, expected %s" % (list(got.shape), list(want.shape))
    if want.dtype.kind in "iub":
        if not np.array_equal(got.astype(np.int64), want.astype(np.int64)):
            return "values %s, expected %s" % (got.reshape(-1)[:8], want.reshape(-1)[:8])
    elif not np.allclose(got, want.astype(np.float64), rtol=1e-6, atol=0):
        return "values %s, expected %s" % (got.reshape(-1)[:8], want.reshape(-1)[:8])
    return None


def hand_made(work):
    """Models made here through the loader's paths the node tests miss: Slice-1's attributes
    (opset 9) must give numpy's slice, and what cannot be evaluated must be refused by name.
    -> [(name, path, expected arrays or None, words the refusal must contain)]"""
    h = onnx.helper
    T = onnx.TensorProto
    cases = []

    def save(name, nodes, inits, opset, outputs, inputs=()):
        g = h.make_graph(nodes, name, list(inputs), [h.make_value_info(o, onnx.TypeProto()) for o in outputs],
                         initializer=inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
        path = os.path.join(work, name + ".onnx")
        onnx.save(m, path)
        return path

    data = np.arange(20, dtype=np.int64).reshape(4, 5)
    init = numpy_helper.from_array(data, "data")
    p = save("slice1_attributes", [h.make_node("Slice", ["data"], ["y"], name="s", starts=[1, -4], ends=[1000, -1],
                                               axes=[0, 1])], [init], 9, ["y"])
    cases.append(("slice1_attributes", p, [data[1:1000, -4:-1]], None))
    p = save("slice1_default_axes", [h.make_node("Slice", ["data"], ["y"], name="s", starts=[-2], ends=[-1])],
             [init], 9, ["y"])
    cases.append(("slice1_default_axes", p, [data[-2:-1]], None))
    x = h.make_tensor_value_info("X", T.FLOAT, [1, 4])
    p = save("reshape_by_data", [h.make_node("Cast", ["X"], ["c"], name="cast_x", to=T.INT64),
                                 h.make_node("Reshape", ["X", "c"], ["y"], name="reshape")], [], 13, ["y"], [x])
    cases.append(("reshape_by_data", p, None, ["node 'cast_x' (Cast)", "computed at run time"]))
    p = save("concat_no_axis", [h.make_node("Concat", ["data", "data"], ["y"], name="cat")], [init], 13, ["y"])
    cases.append(("concat_no_axis", p, None, ["node 'cat' (Concat)", "'axis' is required"]))
    p = save("cast_no_to", [h.make_node("Cast", ["data"], ["y"], name="cast")], [init], 13, ["y"])
    cases.append(("cast_no_to", p, None, ["node 'cast' (Cast)", "'to' is required"]))
    return cases


def run_case(tool, path, expected, refusal):
    r = subprocess.run([tool, "--dump", path], capture_output=True, text=True, timeout=60)
    if refusal:
        if r.returncode == 0:
            return "accepted, expected a refusal"
        missing = [w for w in refusal if w not in r.stderr]
        return "refusal lacks %s: %s" % (missing, r.stderr.strip()) if missing else None
    if r.returncode != 0:
        return "effc refused it: %s" % r.stderr.strip()
    got = parse_dump(r.stdout)
    if len(got) != len(expected):
        return "%d outputs, expected %d" % (len(got), len(expected))
    for o, w in zip(got, expected):
        why = check(o, w)
        if why:
            return why
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tool")
    ap.add_argument("work")
    ap.add_argument("--data", default=DEFAULT_DATA)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    n_fail = 0
    for case in CASES:
        src = os.path.join(a.data, case)
        if not os.path.isfile(os.path.join(src, "model.onnx")):
            print("FAIL %s: no such node test in %s" % (case, a.data))
            n_fail += 1
            continue
        dst = os.path.join(a.work, case + ".onnx")
        why = run_case(a.tool, dst, rewrite(src, dst), None)
        if why:
            print("FAIL %s: %s" % (case, why))
            n_fail += 1
        else:
            print("ok %s" % case)
    made = hand_made(a.work)
    for case, path, expected, refusal in made:
        why = run_case(a.tool, path, expected, refusal)
        if why:
            print("FAIL %s: %s" % (case, why))
            n_fail += 1
        else:
            print("ok %s" % case)
    for what, reason in NOT_LISTED.items():
        print("not listed: %s (%s)" % (what, reason))
    print("%d passed, %d failed" % (len(CASES) + len(made) - n_fail, n_fail))
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
