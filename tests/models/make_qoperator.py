#!/usr/bin/env python3
"""A small quantized network in the QOperator format, as ONNX Runtime's quantizer writes it
with QuantFormat.QOperator: QuantizeLinear -> QLinearConv 3x3 (int8 weights per output channel,
int32 bias) -> com.microsoft QLinearSigmoid and QLinearMul (Swish) -> QLinearConv 1x1 ->
QLinearAdd (the residual) -> QLinearGlobalAveragePool -> Flatten (of the uint8 tensor) ->
QLinearMatMul (int8 weights per column) -> DequantizeLinear. uint8
activations; scales from a float run on random inputs, so the output depends on the input.

usage: make_qoperator.py OUT.onnx [--seed S]
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    C, E, H, K = 8, 16, 10, 10
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def act(name, v):
        """uint8 scale and zero point covering v (and 0); returns (scale name, zp name, s, z)"""
        mn, mx = min(float(v.min()), 0.0), max(float(v.max()), 0.0)
        s = np.float32((mx - mn) / 255.0 or 1.0)
        z = int(np.clip(round(-mn / s), 0, 255))
        return const(name + ".s", np.array(s, np.float32)), const(name + ".z", np.array(z, np.uint8)), s, z

    def fq(v, s, z):
        return ((np.clip(np.round(v / s) + z, 0, 255) - z) * s).astype(np.float32)

    def wq(name, w, axis):
        red = tuple(i for i in range(w.ndim) if i != axis)
        s_w = (np.abs(w).max(axis=red) / 127.0).astype(np.float32)
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(np.round(w / s_w.reshape(shape)), -127, 127).astype(np.int8)
        return (const(name + ".wq", q), const(name + ".ws", s_w), const(name + ".wz", np.zeros(len(s_w), np.int8)),
                (q * s_w.reshape(shape)).astype(np.float32), s_w)

    def conv(x, w, b, pad):
        n, c, h, wd = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        y = np.zeros((n, w.shape[0], h, wd))
        for ky in range(w.shape[2]):
            for kx in range(w.shape[3]):
                y += np.einsum("nchw,oc->nohw", xp[:, :, ky:ky + h, kx:kx + wd], w[:, :, ky, kx])
        return (y + b.reshape(1, -1, 1, 1)).astype(np.float32)

    x = rng.standard_normal((4, C, H, H)).astype(np.float32)
    xs, xz, s_in, z_in = act("x", x)
    nodes.append(helper.make_node("QuantizeLinear", ["X", xs, xz], ["xq"], name="quant_in"))
    xv = fq(x, s_in, z_in)
    # QLinearConv 3x3 C -> E
    wn, wsn, wzn, wv, s_w = wq("c1", rng.standard_normal((E, C, 3, 3)).astype(np.float32) * 0.2, 0)
    bq = np.round(rng.standard_normal(E) * 0.1 / (s_in * s_w)).astype(np.int32)
    y = conv(xv, wv, bq * s_in * s_w, 1)
    ys, yz, s1, z1 = act("c1y", y)
    nodes.append(helper.make_node("QLinearConv", ["xq", xs, xz, wn, wsn, wzn, ys, yz, const("c1.b", bq)], ["c1q"],
                                  name="qconv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    y = fq(y, s1, z1)
    sig = 1 / (1 + np.exp(-y))
    ss, sz, s2, z2 = act("sig", sig)
    nodes.append(helper.make_node("QLinearSigmoid", ["c1q", ys, yz, ss, sz], ["sigq"], name="qsig", domain="com.microsoft"))
    sig = fq(sig, s2, z2)
    sw = y * sig
    ms, mz, s3, z3 = act("swish", sw)
    nodes.append(helper.make_node("QLinearMul", ["c1q", ys, yz, "sigq", ss, sz, ms, mz], ["swq"], name="qswish",
                                  domain="com.microsoft"))
    sw = fq(sw, s3, z3)
    # QLinearConv 1x1 E -> C, then QLinearAdd with the input
    wn, wsn, wzn, wv, s_w = wq("c2", rng.standard_normal((C, E, 1, 1)).astype(np.float32) * 0.3, 0)
    bq = np.round(rng.standard_normal(C) * 0.1 / (s3 * s_w)).astype(np.int32)
    p = conv(sw, wv, bq * s3 * s_w, 0)
    ps, pz, s4, z4 = act("c2y", p)
    nodes.append(helper.make_node("QLinearConv", ["swq", ms, mz, wn, wsn, wzn, ps, pz, const("c2.b", bq)], ["c2q"],
                                  name="qconv2", kernel_shape=[1, 1]))
    p = fq(p, s4, z4)
    r = p + xv
    as_, az, s5, z5 = act("add", r)
    nodes.append(helper.make_node("QLinearAdd", ["c2q", ps, pz, "xq", xs, xz, as_, az], ["addq"], name="qadd",
                                  domain="com.microsoft"))
    r = fq(r, s5, z5)
    g = r.mean(axis=(2, 3), keepdims=True)
    gs, gz, s6, z6 = act("gap", g)
    nodes.append(helper.make_node("QLinearGlobalAveragePool", ["addq", as_, az, gs, gz], ["gapq"], name="qgap",
                                  domain="com.microsoft", channels_last=0))
    g = fq(g, s6, z6)
    # Flatten on the uint8 tensor itself, as the quantizer leaves it: the bytes move, the
    # quantization stays the pool's
    nodes.append(helper.make_node("Flatten", ["gapq"], ["flatq"], name="flatten"))
    f = g.reshape(4, C)
    fs, fz = gs, gz
    wn, wsn, wzn, wv, s_w = wq("fc", rng.standard_normal((C, K)).astype(np.float32) * 0.5, 1)
    o = f @ wv
    os_, oz, _, _ = act("fc", o)
    nodes.append(helper.make_node("QLinearMatMul", ["flatq", fs, fz, wn, wsn, wzn, os_, oz], ["fcq"], name="qfc"))
    nodes.append(helper.make_node("DequantizeLinear", ["fcq", os_, oz], ["Y"], name="dequant_out"))
    graph = helper.make_graph(nodes, "qoperator_block", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, C, H, H])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, K])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)],
                              producer_name="effc-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, a.out)
    print(f"wrote {a.out}: QOperator network, {len(nodes)} nodes")


if __name__ == "__main__":
    main()
