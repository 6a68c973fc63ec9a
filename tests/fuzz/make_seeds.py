#!/usr/bin/python3
"""make_seeds.py DIR: writes the fuzzers' seed corpus, small models made with onnx.helper that
cover every supported op (the committed tests/fuzz/corpus was made by this script), and one
with external data in ext.bin, the 4 KiB file run_fuzz.sh writes into the fuzzers' data
directory."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EXT_FILE, EXT_SIZE = "ext.bin", 4096  # as run_fuzz.sh writes it


def t(name, shape, seed):
    return numpy_helper.from_array(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), name)


def save(d, name, nodes, inits, inputs, outputs, opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_seeds")
    onnx.checker.check_model(m)
    data = m.SerializeToString()
    open(os.path.join(d, name + ".onnx"), "wb").write(data)


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])
    # MBConv-like block: conv, BN, swish, depthwise, SE, projection, residual, head.
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="expand", kernel_shape=[1, 1]),
        helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["bn"], name="bn"),
        helper.make_node("Sigmoid", ["bn"], ["s1"], name="sig"),
        helper.make_node("Mul", ["bn", "s1"], ["a1"], name="swish"),
        helper.make_node("Conv", ["a1", "wd"], ["dw"], name="dw", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=8),
        helper.make_node("GlobalAveragePool", ["dw"], ["p"], name="pool"),
        helper.make_node("Conv", ["p", "ws1", "bs1"], ["q"], name="se1", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["q"], ["qa"], name="se_act"),
        helper.make_node("Conv", ["qa", "ws2", "bs2"], ["r"], name="se2", kernel_shape=[1, 1]),
        helper.make_node("HardSigmoid", ["r"], ["gate"], name="gate"),
        helper.make_node("Mul", ["dw", "gate"], ["se"], name="scale"),
        helper.make_node("Conv", ["se", "wp"], ["proj"], name="proj", kernel_shape=[1, 1]),
        helper.make_node("Add", ["proj", "x"], ["res"], name="residual"),
        helper.make_node("GlobalAveragePool", ["res"], ["gp"], name="head_pool"),
        helper.make_node("Flatten", ["gp"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc", "fb"], ["y"], name="fc", transB=1),
    ]
    inits = [t("w1", [8, 4, 1, 1], 1), t("g", [8], 2), t("b", [8], 3), t("m", [8], 4),
             numpy_helper.from_array(np.abs(np.random.default_rng(5).standard_normal(8)).astype(np.float32) + 0.5, "v"),
             t("wd", [8, 1, 3, 3], 6), t("ws1", [2, 8, 1, 1], 7), t("bs1", [2], 8), t("ws2", [8, 2, 1, 1], 9),
             t("bs2", [8], 10), t("wp", [4, 8, 1, 1], 11), t("fc", [3, 4], 12), t("fb", [3], 13)]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])
    save(d, "mbconv", nodes, inits, [x], [y])
    # Elementwise, reshape-like and ONNX-layout ops.
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3, 4])
    nodes = [
        helper.make_node("Transpose", ["a"], ["ta"], perm=[2, 0, 1]),
        helper.make_node("Softmax", ["ta"], ["sm"], axis=1),
        helper.make_node("Reshape", ["sm", "shape"], ["rs"]),
        helper.make_node("MatMul", ["rs", "mm"], ["mmo"]),
        helper.make_node("Clip", ["mmo", "lo", "hi"], ["cl"]),
        helper.make_node("Pad", ["cl", "pads"], ["pd"], mode="constant"),
        helper.make_node("ReduceMean", ["pd"], ["rm"], axes=[1], keepdims=0),
        helper.make_node("Div", ["rm", "two"], ["dv"]),
        helper.make_node("Sub", ["dv", "two"], ["sb"]),
        helper.make_node("HardSwish", ["sb"], ["hs"]),
        helper.make_node("Identity", ["hs"], ["id"]),
        helper.make_node("Dropout", ["id"], ["out"]),
    ]
    inits = [numpy_helper.from_array(np.array([4, 6], dtype=np.int64), "shape"), t("mm", [6, 5], 14),
             numpy_helper.from_array(np.array(-0.5, dtype=np.float32), "lo"),
             numpy_helper.from_array(np.array(0.5, dtype=np.float32), "hi"),
             numpy_helper.from_array(np.array([1, 0, 1, 0], dtype=np.int64), "pads"),
             numpy_helper.from_array(np.array([2.0], dtype=np.float32), "two")]
    o = helper.make_tensor_value_info("out", TensorProto.FLOAT, [4])
    save(d, "layout_ops", nodes, inits, [a], [o], opset=14)
    # A strided, padded, dilated convolution with runtime weights and a Pad to fold.
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 3, 3, 3])
    x2 = helper.make_tensor_value_info("x2", TensorProto.FLOAT, [1, 3, 9, 9])
    nodes = [helper.make_node("Pad", ["x2", "p2"], ["xp"], mode="constant"),
             helper.make_node("Conv", ["xp", "w"], ["c"], strides=[2, 2], dilations=[2, 1], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["c", "wc"], ["c2"], kernel_shape=[1, 1])]
    inits = [numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int64), "p2"), t("wc", [4, 2, 1, 1], 15)]
    save(d, "conv_runtime_weights", nodes, inits, [x2, w], [helper.make_tensor_value_info("c2", TensorProto.FLOAT, [1, 4, 5, 6])])

    # External data: a conv's weight and bias as ranges of ext.bin, one without a length (runs
    # to the end of the file) would not match its dims, so both give offset and length.
    def ext(name, dims, offset):
        tp = TensorProto()
        tp.name, tp.data_type, tp.data_location = name, TensorProto.FLOAT, TensorProto.EXTERNAL
        tp.dims.extend(dims)
        length = 4 * int(np.prod(dims))
        assert offset + length <= EXT_SIZE
        for k, v in (("location", EXT_FILE), ("offset", str(offset)), ("length", str(length))):
            e = tp.external_data.add()
            e.key, e.value = k, v
        return tp
    x3 = helper.make_tensor_value_info("x3", TensorProto.FLOAT, [1, 4, 5, 5])
    nodes = [helper.make_node("Conv", ["x3", "we", "be"], ["c3"], name="conv_ext", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c3"], ["r3"], name="relu_ext")]
    g = helper.make_graph(nodes, "external_data", [x3], [helper.make_tensor_value_info("r3", TensorProto.FLOAT, [1, 8, 5, 5])],
                          [ext("we", [8, 4, 3, 3], 0), ext("be", [8], 2048)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_seeds")
    # No onnx.checker here: it looks for ext.bin, which exists only in run_fuzz.sh's directory.
    open(os.path.join(d, "external_data.onnx"), "wb").write(m.SerializeToString())


if __name__ == "__main__":
    main()
