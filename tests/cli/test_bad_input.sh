#!/usr/bin/env bash
# test_bad_input.sh EFFC WORKDIR
#
# Feeds effc malformed, unsupported and truncated models and bad command lines, and checks that
# every one is refused cleanly: exit 1 for a model/file error, 2 for a usage error, never a
# signal or a hang; stderr carries "effc:" and the specific file/node/op/tensor names; a failing
# compile leaves no -o directory and no *.effc-tmp-* sibling, and a failing compile over an
# existing output directory leaves it byte-identical.
#
# The models are generated at test time with /usr/bin/python3 + onnx.helper (EFFC_PYTHON
# overrides), written into WORKDIR/models. Nothing binary is committed.
#
# Prints "ok NAME" or "FAIL NAME: detail" per case and ends with "N passed, M failed".
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 EFFC WORKDIR" >&2
	exit 2
fi
EFFC=$1
WORK=$2
PY=${EFFC_PYTHON:-/usr/bin/python3}
TIMEOUT=${EFFC_TEST_TIMEOUT:-60}

case $EFFC in /*) ;; *) EFFC=$PWD/$EFFC ;; esac
if [ ! -x "$EFFC" ]; then
	echo "FAIL setup: $EFFC is not an executable"
	echo "0 passed, 1 failed"
	exit 1
fi

case $(cd "$WORK" 2>/dev/null && pwd -P) in
/ | "$HOME" | "$(pwd -P)")
	echo "FAIL setup: refusing to wipe WORKDIR '$WORK'"
	echo "0 passed, 1 failed"
	exit 1
	;;
esac
rm -rf "$WORK"
mkdir -p "$WORK/models" "$WORK/out" "$WORK/logs" || exit 1
case $WORK in /*) ;; *) WORK=$PWD/$WORK ;; esac
M=$WORK/models
O=$WORK/out
L=$WORK/logs

PASS=0
FAILN=0
CUR=""      # current case name
CUR_ERR=""  # first failure detail for the current case

ok() { echo "ok $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL $1: $2"; FAILN=$((FAILN + 1)); }

# ---- model generation ------------------------------------------------------------------------

if ! "$PY" - "$M" >"$L/gen.log" 2>&1 <<'PYEOF'
import os, sys
import numpy as np
import onnx
from onnx import helper as h, TensorProto as TP, numpy_helper as nh

out = sys.argv[1]
rng = np.random.default_rng(0)

def f32(name, shape):
    return nh.from_array(rng.standard_normal(shape).astype(np.float32), name)

def vi(name, shape, t=TP.FLOAT):
    return h.make_tensor_value_info(name, t, shape)

def model(nodes, inputs, outputs, inits=(), opset=13, name="g", check=True):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="test_bad_input")
    m.ir_version = 8
    return m

def save(m, fname):
    with open(os.path.join(out, fname), "wb") as f:
        f.write(m.SerializeToString())

X = vi("X", [1, 3, 8, 8])

# A valid small model: Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm.
good = model(
    [h.make_node("Conv", ["X", "W", "B"], ["c"], name="conv0", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
     h.make_node("Relu", ["c"], ["r"], name="relu0"),
     h.make_node("GlobalAveragePool", ["r"], ["p"], name="gap0"),
     h.make_node("Flatten", ["p"], ["f"], name="flat0", axis=1),
     h.make_node("Gemm", ["f", "FW", "FB"], ["Y"], name="fc0", transB=1)],
    [X], [vi("Y", [1, 5])],
    [f32("W", [4, 3, 3, 3]), f32("B", [4]), f32("FW", [5, 4]), f32("FB", [5])])
onnx.checker.check_model(good)
save(good, "good.onnx")
# Truncation points that fall on field boundaries, so the prefix still parses as protobuf:
# just before opset_import (the last ModelProto field) and just before the graph.
full = good.SerializeToString()
bounds = []
for drop in ("opset_import", "graph"):
    part = onnx.ModelProto()
    part.CopyFrom(good)
    if drop == "graph":
        del part.opset_import[:]
    part.ClearField(drop)
    b = part.SerializeToString()
    if full.startswith(b) and 0 < len(b) < len(full):
        bounds.append(len(b))
with open(os.path.join(out, "good.boundaries"), "w") as f:
    f.write(" ".join(map(str, bounds)) + "\n")

# Deterministic junk: seeded random bytes, and bytes that look like the start of a protobuf.
for i in range(3):
    with open(os.path.join(out, "random%d.onnx" % i), "wb") as f:
        f.write(np.random.default_rng(100 + i).integers(0, 256, 512 + 1000 * i, dtype=np.uint8).tobytes())
with open(os.path.join(out, "huge_length.onnx"), "wb") as f:
    # field 7 (graph), length-delimited, claiming ~2^62 bytes.
    f.write(bytes([0x08, 0x08, 0x3a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f]) + b"\0" * 16)

# A different valid model, for the "old directory survives" check's good compile.
tiny = model([h.make_node("Relu", ["X"], ["Y"], name="relu0")], [X], [vi("Y", [1, 3, 8, 8])])
onnx.checker.check_model(tiny)
save(tiny, "tiny.onnx")

# Unsupported op.
save(model([h.make_node("LSTM", ["S", "LW", "LR"], ["Y"], name="my_lstm", hidden_size=4)],
           [vi("S", [2, 1, 3])], [vi("Y", [2, 1, 1, 4])],
           [f32("LW", [1, 16, 3]), f32("LR", [1, 16, 4])]), "unsupported_op.onnx")

# A node input that nothing produces.
save(model([h.make_node("Relu", ["X"], ["a"], name="relu0"),
            h.make_node("Add", ["a", "ghost_tensor"], ["Y"], name="add_ghost")],
           [X], [vi("Y", [1, 3, 8, 8])]), "missing_input.onnx")

# Two nodes producing the same tensor name.
save(model([h.make_node("Relu", ["X"], ["Z"], name="relu_a"),
            h.make_node("Sigmoid", ["X"], ["Z"], name="sig_b"),
            h.make_node("Identity", ["Z"], ["Y"], name="id0")],
           [X], [vi("Y", [1, 3, 8, 8])]), "dup_output.onnx")

# Graph output listed twice.
save(model([h.make_node("Relu", ["X"], ["Y"], name="relu0")],
           [X], [vi("Y", [1, 3, 8, 8]), vi("Y", [1, 3, 8, 8])]), "dup_graph_output.onnx")

# Graph output that nothing produces.
save(model([h.make_node("Relu", ["X"], ["Y"], name="relu0")],
           [X], [vi("nowhere_out", [1, 3, 8, 8])]), "output_never_produced.onnx")

# Initializer whose raw_data is shorter than its dims say.
wbad = TP()
wbad.name = "W_short"
wbad.data_type = TP.FLOAT
wbad.dims.extend([4, 3, 3, 3])
wbad.raw_data = np.zeros(100, np.float32).tobytes()  # 100 of 108 elements
save(model([h.make_node("Conv", ["X", "W_short"], ["Y"], name="conv0", kernel_shape=[3, 3])],
           [X], [vi("Y", [1, 4, 6, 6])], [wbad]), "raw_data_short.onnx")
# ... and one whose raw_data is not a whole number of elements.
wodd = TP()
wodd.name = "W_odd"
wodd.data_type = TP.FLOAT
wodd.dims.extend([4])
wodd.raw_data = b"\0" * 15
save(model([h.make_node("Add", ["X", "W_odd"], ["Y"], name="add0")],
           [vi("X", [1, 3, 8, 4])], [vi("Y", [1, 3, 8, 4])], [wodd]), "raw_data_partial.onnx")

# int32 graph input.
save(model([h.make_node("Relu", ["ids"], ["Y"], name="relu0")],
           [vi("ids", [1, 16], TP.INT32)], [vi("Y", [1, 16], TP.INT32)]), "int32_input.onnx")

# Conv group that does not divide the channels (3 input channels, group 2).
save(model([h.make_node("Conv", ["X", "Wg"], ["Y"], name="conv_grp", kernel_shape=[3, 3], group=2)],
           [X], [vi("Y", [1, 4, 6, 6])], [f32("Wg", [4, 1, 3, 3])]), "conv_group.onnx")

# Conv W channel count does not match the input (W says 5, X has 3).
save(model([h.make_node("Conv", ["X", "Wc"], ["Y"], name="conv_wchan", kernel_shape=[3, 3])],
           [X], [vi("Y", [1, 4, 6, 6])], [f32("Wc", [4, 5, 3, 3])]), "conv_wchan.onnx")

# Reshape whose shape is a run-time (int64) graph input.
save(model([h.make_node("Reshape", ["X", "target_shape"], ["Y"], name="reshape_rt")],
           [X, vi("target_shape", [2], TP.INT64)], [vi("Y", [1, 192])]), "reshape_runtime.onnx")
# Reshape whose shape is computed by a node (float, from a graph input).
save(model([h.make_node("Relu", ["S"], ["shape_rt"], name="relu_shape"),
            h.make_node("Reshape", ["X", "shape_rt"], ["Y"], name="reshape_node")],
           [X, vi("S", [2])], [vi("Y", [1, 192])]), "reshape_computed.onnx")

# No opset import at all.
m = model([h.make_node("Relu", ["X"], ["Y"], name="relu0")], [X], [vi("Y", [1, 3, 8, 8])])
del m.opset_import[:]
save(m, "no_opset.onnx")

# Opset 99.
save(model([h.make_node("Relu", ["X"], ["Y"], name="relu0")], [X], [vi("Y", [1, 3, 8, 8])], opset=99),
     "opset99.onnx")

# A symbolic non-batch dimension.
save(model([h.make_node("Relu", ["Xs"], ["Y"], name="relu0")],
           [vi("Xs", ["N", "chans", 8, 8])], [vi("Y", ["N", "chans", 8, 8])]), "symbolic_dim.onnx")

# Gemm with mismatched inner dimensions (A is 1x8, B is 5x4 without transB).
save(model([h.make_node("Gemm", ["A", "GB"], ["Y"], name="fc_bad")],
           [vi("A", [1, 8])], [vi("Y", [1, 4])], [f32("GB", [5, 4])]), "gemm_inner.onnx")

# Mul with non-broadcastable shapes ([1,3,8,8] * [5]).
save(model([h.make_node("Mul", ["X", "M5"], ["Y"], name="mul_bad")],
           [X], [vi("Y", [1, 3, 8, 8])], [f32("M5", [5])]), "mul_broadcast.onnx")

# A node in a custom domain.
save(model([h.make_node("Relu", ["X"], ["Y"], name="custom_relu", domain="com.example")],
           [X], [vi("Y", [1, 3, 8, 8])]), "custom_domain.onnx")

# A ModelProto with no graph (valid protobuf, nothing to compile).
nog = onnx.ModelProto()
nog.ir_version = 8
nog.opset_import.add().version = 13
save(nog, "no_graph.onnx")

# A Constant node without a value attribute.
save(model([h.make_node("Constant", [], ["k"], name="const_empty"),
            h.make_node("Add", ["X", "k"], ["Y"], name="add0")],
           [X], [vi("Y", [1, 3, 8, 8])]), "constant_no_value.onnx")

# Negative dimension in an initializer.
neg = TP()
neg.name = "W_neg"
neg.data_type = TP.FLOAT
neg.dims.extend([-4])
save(model([h.make_node("Add", ["X", "W_neg"], ["Y"], name="add0")],
           [X], [vi("Y", [1, 3, 8, 8])], [neg]), "negative_dim.onnx")

# ---- more malformed graphs: attribute, shape and size checks ----
def i64(name, v):
    return nh.from_array(np.array(v, np.int64), name)
def one(fname, node, inputs, inits=(), outputs=None, opset=13):
    save(model([node], inputs, outputs or [vi("Y", None)], inits, opset=opset), fname)
W = f32("W", [4, 3, 3, 3])
one("x_conv_stride0.onnx", h.make_node("Conv", ["X", "W"], ["Y"], name="conv_s0", strides=[0, 0]), [X], [W])
one("x_conv_pad_neg.onnx", h.make_node("Conv", ["X", "W"], ["Y"], name="conv_pn", pads=[-5] * 4), [X], [W])
one("x_conv_kernel_big.onnx", h.make_node("Conv", ["X", "W"], ["Y"], name="conv_kb"), [vi("X", [1, 3, 2, 2])], [W])
one("x_conv_kernel_shape.onnx", h.make_node("Conv", ["X", "W"], ["Y"], name="conv_ks", kernel_shape=[5, 5]), [X], [W])
one("x_conv_3d.onnx", h.make_node("Conv", ["X", "W"], ["Y"], name="conv_3d", kernel_shape=[3, 3, 3]), [X], [W])
one("x_conv_auto_pad.onnx", h.make_node("Conv", ["X", "W"], ["Y"], name="conv_ap", auto_pad="BOGUS"), [X], [W])
one("x_conv_bias.onnx", h.make_node("Conv", ["X", "W", "Bb"], ["Y"], name="conv_b"), [X], [W, f32("Bb", [7])])
one("x_conv_group_float.onnx", h.make_node("Conv", ["X", "W"], ["Y"], name="conv_gf", group=2.5), [X], [W])
one("x_transpose_perm.onnx", h.make_node("Transpose", ["X"], ["Y"], name="tr", perm=[0, 0, 1, 2]), [X])
one("x_reshape_two_minus1.onnx", h.make_node("Reshape", ["X", "sh"], ["Y"], name="rs"), [X], [i64("sh", [-1, -1])])
one("x_reshape_indivisible.onnx", h.make_node("Reshape", ["X", "sh"], ["Y"], name="rs"), [X], [i64("sh", [7, -1])])
one("x_reshape_huge.onnx", h.make_node("Reshape", ["X", "sh"], ["Y"], name="rs"), [X], [i64("sh", [1 << 40, 1 << 40])])
one("x_batchnorm_3_inputs.onnx", h.make_node("BatchNormalization", ["X", "s", "b"], ["Y"], name="bn"), [X],
    [f32("s", [3]), f32("b", [3])])
one("x_softmax_axis.onnx", h.make_node("Softmax", ["X"], ["Y"], name="sm", axis=10), [X])
one("x_matmul_inner.onnx", h.make_node("MatMul", ["A", "B"], ["Y"], name="mm"), [vi("A", [1, 8])], [f32("B", [7, 4])])
one("x_pad_reflect.onnx", h.make_node("Pad", ["X", "p"], ["Y"], name="pd", mode="reflect"), [X], [i64("p", [0] * 8)])
one("x_self_loop.onnx", h.make_node("Relu", ["Y"], ["Y"], name="loop"), [X])
one("x_empty_op_type.onnx", h.make_node("", ["X"], ["Y"], name="no_type"), [X])
one("x_const_string.onnx", h.make_node("Constant", [], ["Y"], name="cs", value_string="s"), [X])
save(model([h.make_node("Constant", [], ["k0"], name="cef", value_floats=[]),
            h.make_node("Add", ["X", "k0"], ["Y"], name="add_e")], [X], [vi("Y", None)]), "x_const_empty_floats.onnx")
one("x_dropout_mask.onnx", h.make_node("Dropout", ["X"], ["Y", "mask"], name="dr"), [X], (),
    [vi("Y", None), vi("mask", None, TP.BOOL)], opset=12)
one("x_input_rank9.onnx", h.make_node("Relu", ["X9"], ["Y"], name="r"), [vi("X9", [1, 2, 3, 4, 5, 6, 7, 8, 9])])
one("x_input_no_shape.onnx", h.make_node("Relu", ["Xn"], ["Y"], name="r"), [vi("Xn", None)])
one("x_input_zero_dim.onnx", h.make_node("Relu", ["Xz"], ["Y"], name="r"), [vi("Xz", [1, 0, 8])])
one("x_opset0.onnx", h.make_node("Relu", ["X"], ["Y"], name="r"), [X], opset=0)
sinit = TP()
sinit.name, sinit.data_type = "S_str", TP.STRING
sinit.dims.extend([1])
sinit.string_data.append(b"x")
one("x_init_string.onnx", h.make_node("Add", ["X", "S_str"], ["Y"], name="a"), [X], [sinit])
one("x_init_twice.onnx", h.make_node("Add", ["X", "K2"], ["Y"], name="a"), [X], [f32("K2", [1]), f32("K2", [1])])
# A graph input whose element count overflows int64 (2^124), consumed by Reshape(-1) or passed
# straight through to the output.
D = 1 << 31
one("x_input_huge_reshape.onnx", h.make_node("Reshape", ["Xbig", "m1"], ["Y"], name="rs_big"),
    [vi("Xbig", [1, D, D, D, D])], [i64("m1", [-1])])
save(model([], [vi("Xbig", [1, D, D, D, D])], [vi("Xbig", [1, D, D, D, D])]), "x_input_huge_passthrough.onnx")
# Quantized (QDQ) models with hostile quantization parameters: X -> QuantizeLinear -> Dequantize
# -> Conv (int8 weights per channel through DequantizeLinear) -> Y.
def qdq(fname, s=0.05, zp=np.uint8(3), ws=None, axis=0, wzp=None, raw_zp=None, dq_s=None, q_out=False, extra=None):
    ws = np.full(4, 0.01, np.float32) if ws is None else np.asarray(ws, np.float32)
    wzp = np.zeros(len(ws), np.int8) if wzp is None else wzp
    inits = [nh.from_array(np.array(s, np.float32), "s"), nh.from_array(rng.integers(-5, 5, (4, 3, 3, 3)).astype(np.int8), "Wq"),
             nh.from_array(ws, "ws"), nh.from_array(wzp, "wzp"),
             nh.from_array(np.array(s if dq_s is None else dq_s, np.float32), "s2")]
    if raw_zp is not None:
        inits.append(raw_zp)
    else:
        inits.append(nh.from_array(np.asarray(zp), "zp"))
    nodes = [h.make_node("QuantizeLinear", ["X", "s", "zp"], ["xq"], name="q_in"),
             h.make_node("DequantizeLinear", ["xq", "s2", "zp"], ["xd"], name="dq_in"),
             h.make_node("DequantizeLinear", ["Wq", "ws", "wzp"], ["W"], name="dq_w", axis=axis),
             h.make_node("Conv", ["xd", "W"], ["Y"], name="conv_q", pads=[1, 1, 1, 1])]
    outs = [vi("Y", None)] + ([vi("xq", None, TP.UINT8)] if q_out else [])
    save(model(nodes + (extra or []), [X], outs, inits), fname)
qdq("q_good.onnx")
qdq("q_scale_zero.onnx", s=0.0)
qdq("q_scale_negative.onnx", ws=[0.01, -0.01, 0.01, 0.01])
qdq("q_scale_nan.onnx", s=float("nan"))
qdq("q_scale_inf.onnx", ws=[0.01, 0.01, float("inf"), 0.01])
qdq("q_zp_float.onnx", zp=np.float32(3))
qdq("q_zp_int16.onnx", zp=np.int16(3))
zp_bad = TP()  # a uint8 zero point of 300, in int32_data as ONNX stores 8-bit values
zp_bad.name, zp_bad.data_type = "zp", TP.UINT8
zp_bad.int32_data.append(300)
qdq("q_zp_range.onnx", raw_zp=zp_bad)
qdq("q_wzp_type.onnx", wzp=np.zeros(4, np.uint8))
qdq("q_axis_range.onnx", axis=4)
qdq("q_axis_length.onnx", ws=np.full(3, 0.01, np.float32), wzp=np.zeros(3, np.int8))
qdq("q_scale_mismatch.onnx", dq_s=0.07)
# An 8-bit graph input (carried as floats holding its integers) read by a float op, not by a
# DequantizeLinear.
save(model([h.make_node("Relu", ["X8"], ["Y"], name="relu8")], [vi("X8", [1, 3, 4, 4], TP.UINT8)], [vi("Y", None)], []),
     "q_input_8bit_float_op.onnx")
# QOperator: a QLinearConv without its output scale; a com.microsoft op effc does not know;
# QLinearGlobalAveragePool over channels-last data.
qc_inits = [nh.from_array(np.array(0.05, np.float32), "s"), nh.from_array(np.uint8(3), "zp"),
            nh.from_array(np.ones((4, 3, 3, 3), np.int8), "Wq"), nh.from_array(np.full(4, 0.01, np.float32), "ws")]
save(model([h.make_node("QuantizeLinear", ["X", "s", "zp"], ["xq"], name="q_in"),
            h.make_node("QLinearConv", ["xq", "s", "zp", "Wq", "ws", "", "", "zp"], ["yq"], name="qconv_noscale",
                        kernel_shape=[3, 3]),
            h.make_node("DequantizeLinear", ["yq", "s", "zp"], ["Y"], name="dq_out")], [X], [vi("Y", None)], qc_inits),
     "q_qlinearconv_no_scale.onnx")
ms = lambda nodes, inits: h.make_model(h.make_graph(nodes, "g", [X], [vi("Y", None)], inits), producer_name="t",
                                       opset_imports=[h.make_opsetid("", 13), h.make_opsetid("com.microsoft", 1)])
m = ms([h.make_node("QuantizeLinear", ["X", "s", "zp"], ["xq"], name="q_in"),
        h.make_node("QLinearLeakyRelu", ["xq", "s", "zp", "s", "zp"], ["yq"], name="qleaky", domain="com.microsoft"),
        h.make_node("DequantizeLinear", ["yq", "s", "zp"], ["Y"], name="dq_out")], qc_inits[:2])
m.ir_version = 8
save(m, "q_ms_unknown.onnx")
m = ms([h.make_node("QuantizeLinear", ["X", "s", "zp"], ["xq"], name="q_in"),
        h.make_node("QLinearGlobalAveragePool", ["xq", "s", "zp", "s", "zp"], ["yq"], name="qgap_nhwc",
                    domain="com.microsoft", channels_last=1),
        h.make_node("DequantizeLinear", ["yq", "s", "zp"], ["Y"], name="dq_out")], qc_inits[:2])
m.ir_version = 8
save(m, "q_gap_channels_last.onnx")
PYEOF
then
	echo "FAIL setup: model generation with $PY failed:"
	sed 's/^/    /' "$L/gen.log"
	echo "0 passed, 1 failed"
	exit 1
fi

# Non-models.
: >"$M/empty.onnx"
printf 'this is not an ONNX model, just some text\nwith two lines\n' >"$M/text.onnx"
mkdir -p "$M/a_directory.onnx"

# ---- helpers ---------------------------------------------------------------------------------

# run_effc LOGBASE ARGS...: runs effc under a timeout; sets RC, STDERR_FILE.
run_effc() {
	local base=$1
	shift
	STDERR_FILE=$L/$base.err
	timeout -s KILL "$TIMEOUT" "$EFFC" "$@" >"$L/$base.out" 2>"$STDERR_FILE"
	RC=$?
}

note() { [ -z "$CUR_ERR" ] && CUR_ERR=$1; }

# check_exit WANT: exit code, signal, "effc:" prefix.
check_exit() {
	local want=$1
	if [ "$RC" -ge 128 ]; then
		note "killed by signal $((RC - 128)) (exit $RC)$( [ "$RC" -eq 137 ] && echo ", or hung past ${TIMEOUT}s")"
		return
	fi
	# A sanitizer build (EFFC_SANITIZE=ON) reports memory errors on stderr, maybe with exit 1.
	grep -qE 'Sanitizer|runtime error:' "$STDERR_FILE" && note "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$STDERR_FILE")"
	[ "$RC" -eq "$want" ] || note "exit $RC, expected $want"
	grep -q '^effc: ' "$STDERR_FILE" || note "stderr has no 'effc: ' line"
}

# check_frags FRAGMENT...: every fragment appears in stderr (fixed string).
check_frags() {
	local f
	for f in "$@"; do
		grep -qF -- "$f" "$STDERR_FILE" || note "stderr lacks \"$f\""
	done
}

# check_no_output DIR: DIR absent, no DIR.effc-tmp-* / DIR.effc-old-* siblings.
check_no_output() {
	local dir=$1 left
	[ -e "$dir" ] && note "$dir exists after a failing compile"
	left=$(ls -d "$dir".effc-tmp-* "$dir".effc-old-* 2>/dev/null | head -3 | tr '\n' ' ')
	[ -n "$left" ] && note "left behind: $left"
	return 0
}

finish() {
	if [ -z "$CUR_ERR" ]; then
		ok "$CUR"
	else
		bad "$CUR" "$CUR_ERR; stderr: $(head -c 400 "$STDERR_FILE" | tr '\n' '|')"
	fi
}

# model_case NAME MODEL FRAGMENT...: compile and inspect must both fail with exit 1; stderr
# names the model file and every fragment; no output directory is left.
model_case() {
	CUR=$1 CUR_ERR=""
	local model=$2
	shift 2
	local dir=$O/$CUR
	run_effc "$CUR.compile" compile "$model" -o "$dir"
	check_exit 1
	check_frags "effc: $model" "$@"
	check_no_output "$dir"
	if [ -z "$CUR_ERR" ]; then
		run_effc "$CUR.inspect" inspect "$model"
		check_exit 1
		check_frags "effc: $model" "$@"
		[ -n "$CUR_ERR" ] && CUR_ERR="inspect: $CUR_ERR"
	fi
	finish
}

# usage_case NAME FRAGMENT ARGS...: exit 2, "effc:" and FRAGMENT on stderr, no out dir.
usage_case() {
	CUR=$1 CUR_ERR=""
	local frag=$2
	shift 2
	run_effc "$CUR" "$@"
	check_exit 2
	[ -n "$frag" ] && check_frags "$frag"
	grep -q 'usage: effc' "$STDERR_FILE" || note "no usage text on stderr"
	check_no_output "$O/usage_out"
	finish
}

# snapshot DIR: a listing of every entry with type, mode, size and content hash.
snapshot() {
	(cd "$1" && find . -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' p; do
		if [ -f "$p" ] && [ ! -L "$p" ]; then
			printf '%s f %s %s\n' "$p" "$(stat -c %a "$p")" "$(sha256sum <"$p" | cut -d' ' -f1)"
		else
			printf '%s %s %s\n' "$p" "$(stat -c %F "$p")" "$(stat -c %a "$p")"
		fi
	done)
}

# A full output: the files `effc compile` promises.
full_output() {
	local dir=$1 name=$2 f
	for f in "$name.h" "$name.c" "${name}_weights.c" "${name}_runner.c" CMakeLists.txt; do
		[ -s "$dir/$f" ] || return 1
	done
	[ -f "$dir/$name.weights" ] || return 1 # empty for a model without weights
	[ -d "$dir/runtime" ] && [ -n "$(ls -A "$dir/runtime")" ]
}

# ---- sanity: the good model compiles ---------------------------------------------------------

CUR=good_model_compiles CUR_ERR=""
run_effc good compile "$M/good.onnx" -o "$O/good" --name good
[ "$RC" -eq 0 ] || note "exit $RC"
full_output "$O/good" good || note "incomplete output in $O/good"
ls -d "$O"/good.effc-* >/dev/null 2>&1 && note "left a good.effc-* sibling"
finish

# ---- file-level problems ---------------------------------------------------------------------

model_case missing_file "$M/does_not_exist.onnx" "cannot open" "No such file"
model_case directory_not_file "$M/a_directory.onnx" "not a regular file"
model_case empty_file "$M/empty.onnx" "empty"
model_case text_file "$M/text.onnx" "not an ONNX model"
for i in 0 1 2; do
	model_case random_bytes_$i "$M/random$i.onnx"
done
model_case huge_length_prefix "$M/huge_length.onnx"
model_case no_graph "$M/no_graph.onnx" "no graph"

# ---- truncations of the good model -----------------------------------------------------------

size=$(stat -c %s "$M/good.onnx")
parsed_offsets=""
declare -A seen=()
offsets=""
for k in 1 2 3 4 5 6 7 8 9 10; do
	off=$((size * k / 11))
	[ "$off" -lt 1 ] && off=1
	offsets="$offsets $off"
done
offsets="$offsets 1 2 $((size - 1)) $((size - 2)) $(cat "$M/good.boundaries")"
for off in $offsets; do
	[ -n "${seen[$off]:-}" ] && continue
	seen[$off]=1
	CUR=truncated_at_$off CUR_ERR=""
	t=$M/trunc_$off.onnx
	head -c "$off" "$M/good.onnx" >"$t"
	dir=$O/trunc_$off
	run_effc "trunc_$off" compile "$t" -o "$dir" --name trunc
	if [ "$RC" -eq 0 ]; then
		# It parsed: acceptable only with a complete output.
		full_output "$dir" trunc || note "exit 0 but the output directory is incomplete"
		parsed_offsets="$parsed_offsets $off"
	else
		check_exit 1
		check_frags "effc: $t"
		check_no_output "$dir"
	fi
	finish
done
[ -n "$parsed_offsets" ] && echo "note: truncations that still compiled (size $size):$parsed_offsets"

# ---- graph problems --------------------------------------------------------------------------

model_case unsupported_op "$M/unsupported_op.onnx" "node 'my_lstm' (LSTM)" "LSTM is not supported"
model_case custom_domain "$M/custom_domain.onnx" "node 'custom_relu' (Relu)" "com.example"
model_case missing_input "$M/missing_input.onnx" "node 'add_ghost' (Add)" "'ghost_tensor'"
model_case duplicate_output "$M/dup_output.onnx" "node 'sig_b' (Sigmoid)" "'Z'" "twice"
model_case duplicate_graph_output "$M/dup_graph_output.onnx" "'Y'" "twice"
model_case output_never_produced "$M/output_never_produced.onnx" "'nowhere_out'" "never produced"
model_case raw_data_short "$M/raw_data_short.onnx" "'W_short'" "108" "100"
model_case raw_data_partial "$M/raw_data_partial.onnx" "'W_odd'" "partial"
model_case negative_dim "$M/negative_dim.onnx" "'W_neg'" "-4"
model_case int32_input "$M/int32_input.onnx" "'ids'" "int32"
model_case conv_group "$M/conv_group.onnx" "node 'conv_grp' (Conv)" "group"
model_case conv_w_channels "$M/conv_wchan.onnx" "node 'conv_wchan' (Conv)" "channels"
model_case reshape_runtime_shape "$M/reshape_runtime.onnx" "'target_shape'"
model_case reshape_computed_shape "$M/reshape_computed.onnx" "node 'reshape_node' (Reshape)" "'shape_rt'" "run time"
model_case no_opset "$M/no_opset.onnx" "opset"
model_case opset_99 "$M/opset99.onnx" "opset 99"
model_case symbolic_dim "$M/symbolic_dim.onnx" "'Xs'" "'chans'" "symbolic"
model_case gemm_inner_dims "$M/gemm_inner.onnx" "node 'fc_bad' (Gemm)" "inner"
model_case mul_not_broadcastable "$M/mul_broadcast.onnx" "node 'mul_bad' (Mul)" "broadcast"
model_case constant_no_value "$M/constant_no_value.onnx" "node 'const_empty' (Constant)"

model_case conv_stride0 "$M/x_conv_stride0.onnx" "node 'conv_s0' (Conv)" "strides"
model_case conv_negative_pads "$M/x_conv_pad_neg.onnx" "node 'conv_pn' (Conv)" "pads"
model_case conv_kernel_larger_than_input "$M/x_conv_kernel_big.onnx" "node 'conv_kb' (Conv)" "kernel"
model_case conv_kernel_shape_mismatch "$M/x_conv_kernel_shape.onnx" "node 'conv_ks' (Conv)" "kernel_shape"
model_case conv_3d "$M/x_conv_3d.onnx" "node 'conv_3d' (Conv)" "2-D"
model_case conv_bad_auto_pad "$M/x_conv_auto_pad.onnx" "node 'conv_ap' (Conv)" "BOGUS"
model_case conv_bad_bias "$M/x_conv_bias.onnx" "node 'conv_b' (Conv)" "bias"
model_case conv_float_group "$M/x_conv_group_float.onnx" "node 'conv_gf' (Conv)" "'group'"
model_case transpose_bad_perm "$M/x_transpose_perm.onnx" "node 'tr' (Transpose)" "perm"
model_case reshape_two_minus1 "$M/x_reshape_two_minus1.onnx" "node 'rs' (Reshape)" "-1"
model_case reshape_indivisible "$M/x_reshape_indivisible.onnx" "node 'rs' (Reshape)" "192"
model_case reshape_huge_shape "$M/x_reshape_huge.onnx" "node 'rs' (Reshape)"
model_case batchnorm_3_inputs "$M/x_batchnorm_3_inputs.onnx" "node 'bn' (BatchNormalization)" "5 inputs"
model_case softmax_bad_axis "$M/x_softmax_axis.onnx" "node 'sm' (Softmax)" "axis"
model_case matmul_inner_dims "$M/x_matmul_inner.onnx" "node 'mm' (MatMul)" "inner"
model_case pad_reflect "$M/x_pad_reflect.onnx" "node 'pd' (Pad)" "reflect"
model_case node_reads_own_output "$M/x_self_loop.onnx" "node 'loop' (Relu)" "'Y'"
model_case empty_op_type "$M/x_empty_op_type.onnx" "node 'no_type'"
model_case constant_string "$M/x_const_string.onnx" "node 'cs' (Constant)" "value_string"
model_case constant_empty_floats "$M/x_const_empty_floats.onnx" "node 'add_e' (Add)"
model_case dropout_mask_output "$M/x_dropout_mask.onnx" "'mask'"
model_case input_rank_9 "$M/x_input_rank9.onnx" "'X9'" "rank 9"
model_case input_without_shape "$M/x_input_no_shape.onnx" "'Xn'" "shape"
model_case input_zero_dim "$M/x_input_zero_dim.onnx" "'Xz'"
model_case opset_0 "$M/x_opset0.onnx" "opset 0"
model_case initializer_string "$M/x_init_string.onnx" "'S_str'" "string"
model_case initializer_twice "$M/x_init_twice.onnx" "'K2'" "twice"
model_case huge_input_reshape "$M/x_input_huge_reshape.onnx" "'Xbig'"
model_case huge_input_passthrough "$M/x_input_huge_passthrough.onnx" "'Xbig'"
# Quantization parameters (issue 25): each refusal names the node and what is wrong.
model_case q_scale_zero "$M/q_scale_zero.onnx" "node 'q_in' (QuantizeLinear)" "scale 's'" "finite and positive"
model_case q_scale_negative "$M/q_scale_negative.onnx" "node 'dq_w' (DequantizeLinear)" "element 1" "finite and positive"
model_case q_scale_nan "$M/q_scale_nan.onnx" "node 'q_in' (QuantizeLinear)" "nan" "finite and positive"
model_case q_scale_inf "$M/q_scale_inf.onnx" "node 'dq_w' (DequantizeLinear)" "element 2" "inf"
model_case q_zero_point_float "$M/q_zp_float.onnx" "node 'q_in' (QuantizeLinear)" "zero point 'zp'" "int8 or uint8"
model_case q_zero_point_int16 "$M/q_zp_int16.onnx" "'zp'" "int16"
model_case q_zero_point_range "$M/q_zp_range.onnx" "'zp'" "uint8 value 300 out of range"
model_case q_weight_zero_point_type "$M/q_wzp_type.onnx" "node 'dq_w' (DequantizeLinear)" "zero point 'wzp' is uint8" "'Wq' is int8"
model_case q_axis_out_of_range "$M/q_axis_range.onnx" "node 'dq_w' (DequantizeLinear)" "axis 4 is out of range"
model_case q_axis_length "$M/q_axis_length.onnx" "node 'dq_w' (DequantizeLinear)" "scale 'ws' has 3 elements" "has 4"
model_case q_scale_mismatch "$M/q_scale_mismatch.onnx" "node 'dq_in' (DequantizeLinear)" "another scale"
model_case q_8bit_input_float_op "$M/q_input_8bit_float_op.onnx" "node 'relu8' (Relu)" "8-bit graph input 'X8'"
model_case q_qlinearconv_no_scale "$M/q_qlinearconv_no_scale.onnx" "node 'qconv_noscale' (QLinearConv)" "output scale is missing"
model_case q_ms_unknown_op "$M/q_ms_unknown.onnx" "node 'qleaky' (QLinearLeakyRelu)" "domain 'com.microsoft'"
model_case q_gap_channels_last "$M/q_gap_channels_last.onnx" "node 'qgap_nhwc' (QLinearGlobalAveragePool)" "channels_last=1"

# ---- usage errors ----------------------------------------------------------------------------

usage_case usage_no_args "" 
usage_case usage_unknown_command "unknown command" frobnicate "$M/good.onnx"
usage_case usage_compile_no_o "-o DIR" compile "$M/good.onnx"
usage_case usage_compile_o_without_value "" compile "$M/good.onnx" -o
usage_case usage_compile_no_model "" compile -o "$O/usage_out"
usage_case usage_compile_two_models "more than one model" compile "$M/good.onnx" "$M/tiny.onnx" -o "$O/usage_out"
usage_case usage_compile_unknown_option "unknown option" compile "$M/good.onnx" -o "$O/usage_out" --frob
for b in 0 -1 abc 1x 65537 99999999999999999999 ""; do
	usage_case "usage_bad_batch_'$b'" "--batch" compile "$M/good.onnx" -o "$O/usage_out" --batch "$b"
done
usage_case usage_inspect_bad_batch "--batch" inspect "$M/good.onnx" --batch 0
usage_case usage_bad_name "--name" compile "$M/good.onnx" -o "$O/usage_out" --name "1 bad-name"
usage_case usage_inspect_no_model "" inspect
usage_case usage_inspect_unknown_option "unknown option" inspect "$M/good.onnx" --frob

# The generator's commands: an unknown --variant (V1 or V2 spelling), a bad --variants range and
# a bad fit --family are usage errors (exit 2) naming what was given and what is known; width or
# depth with a V2 variant is refused (exit 1). None may leave its output file behind.
# gen_case NAME EXIT FRAGMENT... -- ARGS...
gen_case() {
	CUR=$1 CUR_ERR=""
	local want=$2 frags=()
	shift 2
	while [ "$1" != -- ]; do frags+=("$1"); shift; done
	shift
	run_effc "$CUR" "$@"
	check_exit "$want"
	check_frags "${frags[@]}"
	[ -e "$O/gen_out.onnx" ] && note "$O/gen_out.onnx written by a failing gen"
	rm -f "$O/gen_out.onnx"
	finish
}
for v in v2-x v3-s b8 v2 v2-s- bb0 ""; do
	gen_case "gen_unknown_variant_'$v'" 2 "--variant '$v'" "b0..b7, v2-s, v2-m, v2-l" -- \
		gen --variant "$v" --resolution 32 -o "$O/gen_out.onnx"
done
gen_case gen_v2_with_width 1 "--width and --depth" "v2-s" -- gen --variant v2-s --width 1.2 -o "$O/gen_out.onnx"
gen_case gen_v2_with_depth 1 "--width and --depth" "v2-l" -- gen --variant V2-L --depth 2 -o "$O/gen_out.onnx"
gen_case gen_v2_with_phi 2 "--variant or --phi" -- gen --variant v2-m --phi 1 -o "$O/gen_out.onnx"
for r in v2-l..v2-s b0..v2-x v2-m..b9 v2-s... ..v2-s v2; do
	gen_case "scale_bad_variants_'$r'" 2 "--variants" "v2-s" -- scale --variants "$r"
done
gen_case fit_bad_family 2 "unknown or bad argument --family" -- fit --budget-ms 5 --family v3
gen_case fit_v2_with_resolution 2 "--family v2 chooses" -- fit --budget-ms 5 --family v2 --resolution 256

# ---- a failing compile over an existing output leaves it untouched -------------------------

keep=$O/keep
CUR=existing_dir_setup CUR_ERR=""
run_effc keep_good compile "$M/tiny.onnx" -o "$keep" --name tiny
[ "$RC" -eq 0 ] || note "good compile exit $RC"
full_output "$keep" tiny || note "incomplete output"
mkdir -p "$keep/build" && echo "user build state" >"$keep/build/marker.txt"
finish
before=$(snapshot "$keep")
mid_trunc=trunc_$((size * 5 / 11))
for badm in conv_group unsupported_op $mid_trunc empty text; do
	CUR=existing_dir_kept_after_$badm CUR_ERR=""
	[ -f "$M/$badm.onnx" ] || { note "no model $badm.onnx"; finish; continue; }
	run_effc "keep_$badm" compile "$M/$badm.onnx" -o "$keep" --name tiny
	check_exit 1
	after=$(snapshot "$keep" 2>/dev/null)
	if [ "$before" != "$after" ]; then
		note "existing $keep changed: $(diff <(echo "$before") <(echo "$after") | head -4 | tr '\n' ' ')"
	fi
	left=$(ls -d "$keep".effc-* 2>/dev/null | tr '\n' ' ')
	[ -n "$left" ] && note "left behind: $left"
	finish
done
# A bad usage over the existing dir must not touch it either.
CUR=existing_dir_kept_after_usage_error CUR_ERR=""
run_effc keep_usage compile "$M/conv_group.onnx" -o "$keep" --batch 0
check_exit 2
[ "$before" = "$(snapshot "$keep")" ] || note "existing $keep changed"
finish

# ---- output location problems ----------------------------------------------------------------

# -o under a directory that does not exist: either effc creates it, or it fails cleanly (exit 1,
# message names the path) and leaves nothing behind.
CUR=output_parent_missing CUR_ERR=""
dir=$O/no/such/parent/out
run_effc parent_missing compile "$M/tiny.onnx" -o "$dir" --name tiny
if [ "$RC" -eq 0 ]; then
	full_output "$dir" tiny || note "exit 0 but incomplete output"
else
	check_exit 1
	check_frags "$O/no/such/parent"
	check_no_output "$dir"
fi
finish

# -o naming an existing regular file: must refuse (exit 1) and keep the file.
CUR=output_is_a_file CUR_ERR=""
f=$O/a_file
echo "precious" >"$f"
run_effc out_is_file compile "$M/tiny.onnx" -o "$f" --name tiny
check_exit 1
check_frags "$f"
if [ ! -f "$f" ] || [ "$(cat "$f" 2>/dev/null)" != precious ]; then note "the regular file $f was replaced or removed"; fi
left=$(ls -d "$f".effc-* 2>/dev/null | tr '\n' ' ')
[ -n "$left" ] && note "left behind: $left"
finish

# -o . (the current directory, which cannot be renamed) holding a build/ tree: whatever effc
# does, a failing compile must leave the directory, build/ included, as it was.
CUR=output_is_cwd_with_build CUR_ERR=""
cwd=$O/cwd_proj
mkdir -p "$cwd/build" && echo "user build state" >"$cwd/build/marker.txt" && echo "notes" >"$cwd/notes.txt"
before=$(snapshot "$cwd")
STDERR_FILE=$L/cwd.err
(cd "$cwd" && timeout -s KILL "$TIMEOUT" "$EFFC" compile "$M/tiny.onnx" -o . --name tiny >"$L/cwd.out" 2>"$STDERR_FILE")
RC=$?
if [ "$RC" -eq 0 ]; then
	full_output "$cwd" tiny || note "exit 0 but incomplete output"
	[ -f "$cwd/build/marker.txt" ] || note "exit 0 but build/ was lost"
else
	check_exit 1
	[ "$before" = "$(snapshot "$cwd")" ] ||
		note "failing compile changed the directory: $(diff <(echo "$before") <(snapshot "$cwd") | grep '^[<>]' | head -3 | tr '\n' ' ')"
fi
left=$(ls -d "$O"/.effc-* "$O"/cwd_proj.effc-* "$cwd"/.effc-* 2>/dev/null | tr '\n' ' ')
[ -n "$left" ] && note "left behind: $left"
finish

# -o "" : refused (exit 1 or 2), with no temporary directory left in the current directory.
CUR=output_empty_string CUR_ERR=""
ecwd=$O/empty_o
mkdir -p "$ecwd"
STDERR_FILE=$L/empty_o.err
(cd "$ecwd" && timeout -s KILL "$TIMEOUT" "$EFFC" compile "$M/tiny.onnx" -o "" --name tiny >"$L/empty_o.out" 2>"$STDERR_FILE")
RC=$?
if [ "$RC" -eq 2 ]; then check_exit 2; else check_exit 1; fi
[ -z "$(ls -A "$ecwd")" ] || note "left in the current directory: $(ls -A "$ecwd" | tr '\n' ' ')"
finish

# Read-only parent directory: compile fails cleanly (skipped when running as root).
if [ "$(id -u)" -ne 0 ]; then
	CUR=output_parent_readonly CUR_ERR=""
	mkdir -p "$O/ro" && chmod 555 "$O/ro"
	run_effc ro compile "$M/tiny.onnx" -o "$O/ro/out" --name tiny
	check_exit 1
	check_frags "$O/ro/out"
	check_no_output "$O/ro/out"
	chmod 755 "$O/ro"
	finish
else
	echo "note: skipped output_parent_readonly (running as root)"
fi

# Absurd sizes: initializer data over the --max-weights-mb cap is refused, naming the cap.
CUR=weights_over_cap CUR_ERR=""
"$EFFC" gen --phi 0 --width 0.5 --resolution 32 -o "$M/half.onnx" >/dev/null 2>&1 || note "gen failed"
run_effc cap compile "$M/half.onnx" --max-weights-mb 1 -o "$O/cap"
check_exit 1
check_frags "initializers exceed 1 MiB" "--max-weights-mb"
check_no_output "$O/cap"
finish

echo "$PASS passed, $FAILN failed"
[ "$FAILN" -eq 0 ]
