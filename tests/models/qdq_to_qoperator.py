#!/usr/bin/env python3
"""Rewrites a QDQ model (as `effc quantize` writes it: QuantizeLinear/DequantizeLinear pairs on
activations, int8 weights per output channel behind DequantizeLinear, int32 biases) in the
QOperator form ONNX Runtime's quantizer writes with QuantFormat.QOperator: activations stay
quantized tensors between ops, and each quantized op becomes its integer form:

  DQ -> Conv -> Q                 QLinearConv (int8 weights, int32 bias)
  DQ -> MatMul/Gemm -> Q          QLinearMatMul (weights as [K, N], per column), and for a
                                  bias com.microsoft QLinearAdd of an int8 bias constant
  DQ -> Sigmoid -> Q              com.microsoft QLinearSigmoid
  DQ -> Add / Mul -> Q            com.microsoft QLinearAdd / QLinearMul
  DQ -> GlobalAveragePool -> Q    com.microsoft QLinearGlobalAveragePool (channels_last=0)
  DQ -> Clip/Relu -> Q            removed where it is the identity on the quantized values (the
                                  input already quantized on the same scale, inside the bounds),
                                  as the quantizer folds it into the producer's range

Everything else (a Gemm whose output is not quantized, Reshape, ...) stays float behind the
DequantizeLinear it already reads; the graph keeps its QuantizeLinear at the input and a
DequantizeLinear wherever a float op reads a quantized tensor. The result passes onnx.checker.

usage: qdq_to_qoperator.py QDQ.onnx OUT.onnx [--compare-ort N]
  --compare-ort N: run both models in ONNX Runtime (tools/ort_run.js, onnxruntime-node) on N
  random normal inputs and print the rms difference of their outputs next to the outputs' rms;
  fails if it exceeds --max-rel (default 0.25) of the output's rms.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def convert(model):
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    graph_outputs = {o.name for o in g.output}

    def arr(name):
        return numpy_helper.to_array(inits[name]) if name in inits else None

    # activation DQ outputs -> (quantized tensor, scale, zero point); weight/bias DQ outputs ->
    # (int initializer, scale, zero point, axis); float tensors quantized right after their producer
    act_dq, const_dq, act_q = {}, {}, {}
    for n in g.node:
        if n.op_type == "DequantizeLinear" and n.domain in ("", "ai.onnx"):
            axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
            zp = n.input[2] if len(n.input) > 2 and n.input[2] else None
            if n.input[0] in inits:
                const_dq[n.output[0]] = (n.input[0], n.input[1], zp, axis)
            else:
                act_dq[n.output[0]] = (n.input[0], n.input[1], zp)
        elif n.op_type == "QuantizeLinear" and n.domain in ("", "ai.onnx"):
            x = n.input[0]
            if x not in inits and x not in graph_outputs and len(consumers.get(x, [])) == 1 and len(n.input) > 2:
                act_q[x] = (n.output[0], n.input[1], n.input[2])

    new_inits = []
    nodes = []
    alias = {}        # quantized tensor name -> the quantized tensor it equals (removed Clip/Relu)
    converted = set()  # float outputs now written quantized: their QuantizeLinear goes
    counts = {}

    def qa(name):
        """(q, scale, zp) of a float input read through an activation DQ, following aliases"""
        if name not in act_dq:
            return None
        q, s, z = act_dq[name]
        return (alias.get(q, q), s, z)

    def const(name, a):
        new_inits.append(numpy_helper.from_array(a, name))
        return name

    def emit(op, inputs, out, name, domain="", **attrs):
        nodes.append(helper.make_node(op, inputs, [out], name=name, domain=domain, **attrs))
        counts[op] = counts.get(op, 0) + 1

    def scalar(name):
        return float(np.asarray(arr(name)).reshape(-1)[0])

    for n in g.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            if n.op_type == "QuantizeLinear" and n.input[0] in converted:
                continue
            if n.op_type == "DequantizeLinear" and n.input[0] in alias:
                n = helper.make_node(n.op_type, [alias[n.input[0]]] + list(n.input[1:]), list(n.output),
                                     name=n.name, **{a.name: helper.get_attribute_value(a) for a in n.attribute})
            nodes.append(n)
            continue
        ins = [qa(i) if i else None for i in n.input]
        out_q = act_q.get(n.output[0]) if len(n.output) == 1 else None
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        op = n.op_type
        done = False
        if out_q and n.domain in ("", "ai.onnx"):
            yq, ys, yz = out_q
            if op == "Conv" and ins[0] and n.input[1] in const_dq and (len(n.input) < 3 or n.input[2] in const_dq):
                x, w = ins[0], const_dq[n.input[1]]
                qin = [x[0], x[1], x[2], w[0], w[1], w[2], ys, yz]
                if len(n.input) > 2 and n.input[2]:
                    qin.append(const_dq[n.input[2]][0])
                if w[2] is not None:
                    emit("QLinearConv", qin, yq, n.name, **attrs)
                    done = True
            elif op in ("Add", "Mul") and ins[0] and ins[1]:
                a, b = ins
                emit("QLinear" + op, [a[0], a[1], a[2], b[0], b[1], b[2], ys, yz], yq, n.name, "com.microsoft")
                done = True
            elif op == "Sigmoid" and ins[0]:
                x = ins[0]
                emit("QLinearSigmoid", [x[0], x[1], x[2], ys, yz], yq, n.name, "com.microsoft")
                done = True
            elif op == "GlobalAveragePool" and ins[0]:
                x = ins[0]
                emit("QLinearGlobalAveragePool", [x[0], x[1], x[2], ys, yz], yq, n.name, "com.microsoft",
                     channels_last=0)
                done = True
            elif op in ("Clip", "Relu") and ins[0]:
                x = ins[0]
                lo, hi = (0.0, np.inf) if op == "Relu" else (
                    scalar(n.input[1]) if len(n.input) > 1 and n.input[1] else -np.inf,
                    scalar(n.input[2]) if len(n.input) > 2 and n.input[2] else np.inf)
                zt = arr(x[2])
                info = np.iinfo(zt.dtype)
                s, z = np.float32(scalar(x[1])), int(np.asarray(zt).reshape(-1)[0])
                same = scalar(ys) == s and int(np.asarray(arr(yz)).reshape(-1)[0]) == z and arr(yz).dtype == zt.dtype
                # the identity on every quantized value: quantize(clip(dequantize(q))) == q, in float32
                q = np.arange(info.min, info.max + 1)
                v = np.clip((q - z).astype(np.float32) * s, np.float32(lo), np.float32(hi))
                if same and np.array_equal(np.clip(np.round(v / s) + z, info.min, info.max), q):
                    alias[yq] = x[0]
                    counts["removed " + op] = counts.get("removed " + op, 0) + 1
                    done = True
            elif op in ("Gemm", "MatMul") and ins[0] and n.input[1] in const_dq:
                done = matmul(n, ins[0], out_q, attrs, const_dq, arr, const, emit, scalar)
        if done:
            converted.add(n.output[0])
        else:
            nodes.append(n)
            counts["float " + op] = counts.get("float " + op, 0) + 1

    # graph outputs written by a removed Clip keep their DequantizeLinear reading the alias (above);
    # drop every node whose outputs nobody reads, then every initializer nobody reads
    while True:
        used = {i for n in nodes for i in n.input} | graph_outputs
        keep = [n for n in nodes if any(o in used for o in n.output)]
        if len(keep) == len(nodes):
            break
        nodes = keep
    used = {i for n in nodes for i in n.input}
    all_inits = [t for t in g.initializer if t.name in used] + [t for t in new_inits if t.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(all_inits)
    del g.value_info[:]
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return counts


def matmul(n, x, out_q, attrs, const_dq, arr, const, emit, scalar):
    """Gemm/MatMul on quantized input and int8 weights with a quantized output: QLinearMatMul
    (weights [K, N], scale per column), then for a bias QLinearAdd of it as an int8 constant."""
    yq, ys, yz = out_q
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        return False
    wq, wsn, wzn, axis = const_dq[n.input[1]]
    w, ws = arr(wq), np.asarray(arr(wsn), np.float32)
    wz = arr(wzn) if wzn else np.zeros(ws.shape, np.int8)
    if w.ndim != 2:
        return False
    trans = n.op_type == "Gemm" and attrs.get("transB", 0)
    if ws.size > 1 and axis % 2 != (0 if trans else 1):
        return False  # not per output column
    if trans:
        w = w.T
    base = n.name
    wn = const(base + ".qop_w", np.ascontiguousarray(w))
    wsn2 = const(base + ".qop_ws", ws.reshape(-1))
    wzn2 = const(base + ".qop_wz", np.asarray(wz, w.dtype).reshape(-1))
    has_bias = n.op_type == "Gemm" and len(n.input) > 2 and n.input[2]
    if not has_bias:
        emit("QLinearMatMul", [x[0], x[1], x[2], wn, wsn2, wzn2, ys, yz], yq, base)
        return True
    if n.input[2] not in const_dq:
        return False
    bq, bsn, _, _ = const_dq[n.input[2]]
    b = arr(bq).astype(np.float64) * np.asarray(arr(bsn), np.float64)
    # the product's range: the output's, less the bias (so it holds whatever the sum holds)
    s_y, z_y = scalar(ys), int(np.asarray(arr(yz)).reshape(-1)[0])
    zt = arr(yz).dtype
    info = np.iinfo(zt)
    lo = min((info.min - z_y) * s_y - b.max(), 0.0)
    hi = max((info.max - z_y) * s_y - b.min(), 0.0)

    def qparams(lo, hi):
        s = (hi - lo) / (info.max - info.min) or 1.0
        return np.float32(s), np.array(int(np.clip(round(info.min - lo / s), info.min, info.max)), zt)

    ms, mz = qparams(lo, hi)
    msn, mzn = const(base + ".qop_mm_scale", ms), const(base + ".qop_mm_zp", mz)
    emit("QLinearMatMul", [x[0], x[1], x[2], wn, wsn2, wzn2, msn, mzn], base + ".qop_mm", base)
    bs, bz = qparams(min(b.min(), 0.0), max(b.max(), 0.0))
    bqv = np.clip(np.round(b / bs) + int(bz), info.min, info.max).astype(zt)
    emit("QLinearAdd", [base + ".qop_mm", msn, mzn, const(base + ".qop_b", bqv), const(base + ".qop_bs", bs),
                        const(base + ".qop_bz", bz), ys, yz], yq, base + "/bias", "com.microsoft")
    return True


def ort_run(model, inp, shape, infile, out, outfile):
    subprocess.run(["node", os.path.join(ROOT, "tools", "ort_run.js"), "--model", model, "--input",
                    "%s=%s:%s" % (inp, infile, ",".join(map(str, shape))), "--output", "%s=%s" % (out, outfile)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return np.fromfile(outfile, np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("qdq")
    ap.add_argument("out")
    ap.add_argument("--compare-ort", type=int, default=0, metavar="N")
    ap.add_argument("--max-rel", type=float, default=0.25)
    a = ap.parse_args()
    model = onnx.load(a.qdq)
    counts = convert(model)
    onnx.checker.check_model(model)
    tmp = a.out + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, a.out)
    print("wrote %s: %d nodes (%s)" % (a.out, len(model.graph.node),
                                      ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    if a.compare_ort:
        g = model.graph
        inits = {t.name for t in g.initializer}
        inp = next(i for i in g.input if i.name not in inits)
        shape = [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]
        out = g.output[0].name
        worst = 0.0
        with tempfile.TemporaryDirectory() as d:
            for seed in range(a.compare_ort):
                x = np.random.default_rng(seed).standard_normal(int(np.prod(shape)), dtype=np.float32)
                f = os.path.join(d, "in%d.f32" % seed)
                x.tofile(f)
                ref = ort_run(a.qdq, inp.name, shape, f, out, f + ".qdq")
                got = ort_run(a.out, inp.name, shape, f, out, f + ".qop")
                rms_d = float(np.sqrt(np.mean((got.astype(np.float64) - ref) ** 2)))
                rms_r = float(np.sqrt(np.mean(ref.astype(np.float64) ** 2)))
                rel = rms_d / rms_r if rms_r else float("inf")
                worst = max(worst, rel)
                print("seed %d: rms(QOperator - QDQ) = %.4g, rms(QDQ) = %.4g, ratio %.4f, max abs diff %.4g" %
                      (seed, rms_d, rms_r, rel, float(np.abs(got - ref).max())))
        if worst > a.max_rel:
            print("FAIL: ratio %.4f > %.4f" % (worst, a.max_rel))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
