#!/usr/bin/env python3
"""A small quantized network in the QDQ format, as ONNX Runtime's quantize_static writes it:
float input, QuantizeLinear/DequantizeLinear pairs on every activation (uint8 or int8,
asymmetric), int8 weights symmetric per output channel (axis 0, zero point 0), int32 biases at
scale s_in * s_w, float output. Conv 3x3 -> Swish (Sigmoid, Mul) -> depthwise 3x3 -> Relu ->
1x1 conv + residual Add -> GlobalAveragePool -> Gemm. Scales come from a float run on random
inputs (MinMax), so the model's output depends on its input.

usage: make_qdq.py OUT.onnx [--int8-activations] [--seed S]
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--int8-activations", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    act_t, lo, hi = (TensorProto.INT8, -128, 127) if a.int8_activations else (TensorProto.UINT8, 0, 255)
    act_np = np.int8 if a.int8_activations else np.uint8
    C, E, H = 8, 16, 12
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def qparams(x):
        """asymmetric activation scale and zero point from the range of x (0 always inside)"""
        mn, mx = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
        s = (mx - mn) / (hi - lo) or 1.0
        z = int(np.clip(round(lo - mn / s), lo, hi))
        return np.float32(s), z

    def qdq(name, x_name, x_val):
        s, z = qparams(x_val)
        sn = const(name + ".scale", np.array(s, np.float32))
        zn = const(name + ".zp", np.array(z, act_np))
        nodes.append(helper.make_node("QuantizeLinear", [x_name, sn, zn], [name + ".q"], name=name + ".Q"))
        nodes.append(helper.make_node("DequantizeLinear", [name + ".q", sn, zn], [name + ".dq"], name=name + ".DQ"))
        # the float value the next op sees
        q = np.clip(np.round(x_val / s) + z, lo, hi)
        return name + ".dq", ((q - z) * s).astype(np.float32), s

    def weight(name, w, s_in):
        """int8 per-output-channel weights and an int32 bias placeholder scale"""
        s_w = (np.abs(w).reshape(w.shape[0], -1).max(axis=1) / 127.0).astype(np.float32)
        s_w[s_w == 0] = 1.0
        wq = np.clip(np.round(w / s_w.reshape(-1, *([1] * (w.ndim - 1)))), -127, 127).astype(np.int8)
        wn = const(name + ".w_q", wq)
        sn = const(name + ".w_scale", s_w)
        zn = const(name + ".w_zp", np.zeros(w.shape[0], np.int8))
        nodes.append(helper.make_node("DequantizeLinear", [wn, sn, zn], [name + ".w"], name=name + ".w.DQ", axis=0))
        return name + ".w", (wq * s_w.reshape(-1, *([1] * (w.ndim - 1)))).astype(np.float32), s_w * s_in

    def bias(name, b, s_b):
        bq = np.round(b / s_b).astype(np.int32)
        bn = const(name + ".b_q", bq)
        sn = const(name + ".b_scale", s_b.astype(np.float32))
        zn = const(name + ".b_zp", np.zeros(len(b), np.int32))
        nodes.append(helper.make_node("DequantizeLinear", [bn, sn, zn], [name + ".b"], name=name + ".b.DQ", axis=0))
        return name + ".b", (bq * s_b).astype(np.float32)

    def conv(x, w, b, pad, group=1):
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        y = np.zeros((n, o, h, wd), np.float64)
        for oc in range(o):
            g = oc // (o // group)
            for ky in range(kh):
                for kx in range(kw):
                    patch = xp[:, g * cg:(g + 1) * cg, ky:ky + h, kx:kx + wd]
                    y[:, oc] += np.einsum("nchw,c->nhw", patch, w[oc, :, ky, kx])
            y[:, oc] += b[oc]
        return y.astype(np.float32)

    x = rng.standard_normal((4, C, H, H)).astype(np.float32)  # calibration batch
    cur, xv, s_in = qdq("in", "X", x)
    res_name, res_val = cur, xv
    # conv 3x3 C -> E, Swish
    w1, b1 = rng.standard_normal((E, C, 3, 3)).astype(np.float32) * 0.2, rng.standard_normal(E).astype(np.float32) * 0.1
    wn, wv, sb = weight("c1", w1, s_in)
    bn, bv = bias("c1", b1, sb)
    nodes.append(helper.make_node("Conv", [cur, wn, bn], ["c1.y"], name="c1", pads=[1, 1, 1, 1]))
    y = conv(xv, wv, bv, 1)
    cur, y, s = qdq("c1q", "c1.y", y)
    nodes.append(helper.make_node("Sigmoid", [cur], ["sig"], name="sig"))
    sig = 1 / (1 + np.exp(-y))
    sg, sigv, _ = qdq("sigq", "sig", sig)
    nodes.append(helper.make_node("Mul", [cur, sg], ["swish"], name="swish"))
    cur, y, s_in = qdq("swq", "swish", y * sigv)
    # depthwise 3x3, Relu
    w2, b2 = rng.standard_normal((E, 1, 3, 3)).astype(np.float32) * 0.3, rng.standard_normal(E).astype(np.float32) * 0.1
    wn, wv, sb = weight("dw", w2, s_in)
    bn, bv = bias("dw", b2, sb)
    nodes.append(helper.make_node("Conv", [cur, wn, bn], ["dw.y"], name="dw", pads=[1, 1, 1, 1], group=E))
    y = np.maximum(conv(y, wv, bv, 1, group=E), 0)
    nodes.append(helper.make_node("Relu", ["dw.y"], ["dw.r"], name="relu"))
    cur, y, s_in = qdq("dwq", "dw.r", y)
    # projection 1x1 E -> C, residual Add
    w3, b3 = rng.standard_normal((C, E, 1, 1)).astype(np.float32) * 0.2, rng.standard_normal(C).astype(np.float32) * 0.1
    wn, wv, sb = weight("pj", w3, s_in)
    bn, bv = bias("pj", b3, sb)
    nodes.append(helper.make_node("Conv", [cur, wn, bn], ["pj.y"], name="pj"))
    y = conv(y, wv, bv, 0)
    cur, y, _ = qdq("pjq", "pj.y", y)
    nodes.append(helper.make_node("Add", [cur, res_name], ["add"], name="add"))
    cur, y, s_in = qdq("addq", "add", y + res_val)
    nodes.append(helper.make_node("GlobalAveragePool", [cur], ["gap"], name="gap"))
    cur, y, s_in = qdq("gapq", "gap", y.mean(axis=(2, 3), keepdims=True))
    nodes.append(helper.make_node("Flatten", [cur], ["flat"], name="flat"))
    w4 = rng.standard_normal((10, C)).astype(np.float32) * 0.5
    wn, wv, sb = weight("fc", w4, s_in)
    nodes.append(helper.make_node("Gemm", ["flat", wn], ["fc.y"], name="fc", transB=1))
    y = y.reshape(4, C) @ wv.T
    cur, y, _ = qdq("fcq", "fc.y", y)
    nodes.append(helper.make_node("Identity", [cur], ["Y"], name="out"))
    graph = helper.make_graph(nodes, "qdq_block", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, C, H, H])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="effc-tests")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, a.out)
    print(f"wrote {a.out}: QDQ, {'int8' if a.int8_activations else 'uint8'} activations, output step {y.std():.3g}")


if __name__ == "__main__":
    main()
