#!/usr/bin/python3
"""Run ONNX's backend node tests through effc.

For every node test case (a directory test_*/ holding model.onnx and
test_data_set_*/{input,output}_*.pb):

  1. Decide, by inspecting the model with the onnx package (independently of
     effc), whether the case is applicable or EXCLUDED (with a reason).
  2. Applicable cases: `effc compile model.onnx -o WORK/cases/<case> --name <case>`
     (in parallel); a compile failure is a FAIL.
  3. Write a CMake superproject WORK/CMakeLists.txt that add_subdirectory()s every
     compiled case, configure it once and build it with --keep-going; a case whose
     runner did not build is a FAIL.
  4. For every test_data_set_*: write the inputs as raw float32 files, run
     <case>_runner IN... OUT..., and compare the outputs with output_*.pb
     (|a-b| <= atol + rtol*|b|, rtol=1e-3, atol=1e-7). Any mismatch, missing
     output, wrong element count or unexpected NaN/Inf is a FAIL.

Every applicable case either PASSes or FAILs; nothing is silently skipped.
Exit status: 0 iff no case failed and at least one passed (2 on usage/setup errors).

Only the standard library, onnx and numpy are used.
"""

import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import time

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover
    sys.stderr.write(
        "run_node_tests.py: needs the onnx and numpy python packages (%s); "
        "run it with /usr/bin/python3\n" % e)
    sys.exit(2)

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"

# The ONLY ops a case may use to be applicable.
SUPPORTED_OPS = frozenset([
    "Conv", "BatchNormalization", "Sigmoid", "Mul", "Add", "Sub", "Div",
    "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape", "Gemm", "MatMul",
    "Identity", "Dropout", "Relu", "Clip", "HardSigmoid", "HardSwish",
    "Softmax", "Transpose", "Pad", "Constant",
    # quantized models: see QPARAM_INPUTS for how their node tests run
    "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
])

# Quantization parameters (scales, zero points, and QLinearConv's / QLinearMatMul's weights and
# bias) that the node tests feed as run-time graph inputs. effc compiles a model for fixed
# quantization parameters (a scale is folded into each op's requantization), so these inputs are
# frozen: made initializers with the value every data set gives them (a case whose data sets
# disagree is excluded). The 8-bit activation inputs and outputs stay graph inputs and outputs,
# which the generated code carries as floats holding the integer values (docs/int8.md).
QPARAM_INPUTS = {
    ("QuantizeLinear", 1), ("QuantizeLinear", 2), ("DequantizeLinear", 1), ("DequantizeLinear", 2),
    ("QLinearConv", 1), ("QLinearConv", 2), ("QLinearConv", 3), ("QLinearConv", 4), ("QLinearConv", 5),
    ("QLinearConv", 6), ("QLinearConv", 7), ("QLinearConv", 8),
    ("QLinearMatMul", 1), ("QLinearMatMul", 2), ("QLinearMatMul", 3), ("QLinearMatMul", 4),
    ("QLinearMatMul", 5), ("QLinearMatMul", 6), ("QLinearMatMul", 7),
}
# 8-bit activations a graph input may feed (op, input index), and ops that may write an 8-bit
# graph output.
QACT_INPUTS = {("DequantizeLinear", 0), ("QLinearConv", 0), ("QLinearMatMul", 0)}
QOUT_OPS = {"QuantizeLinear", "QLinearConv", "QLinearMatMul"}
EIGHT_BIT = (onnx.TensorProto.UINT8, onnx.TensorProto.INT8)

# Inputs (op, input index) that effc needs as constants (initializers or
# Constant nodes); when a test feeds them as a runtime int64 graph input the
# case is excluded with a specific reason.
CONST_INT64_INPUTS = {
    ("Reshape", 1): "shape",
    ("Pad", 1): "pads",
    ("ReduceMean", 1): "axes",
}

RTOL = 1e-3
ATOL = 1e-7

COMPILE_TIMEOUT = 300   # seconds per effc invocation
RUN_TIMEOUT = 120       # seconds per runner invocation
CONFIGURE_TIMEOUT = 1800
BUILD_TIMEOUT = 7200

C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


# --------------------------------------------------------------------------
# Applicability (exclusion) logic: onnx-only, independent of effc.
# --------------------------------------------------------------------------

def _dtype_name(elem_type):
    try:
        return onnx.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return "dtype#%d" % elem_type


def _value_kind(vi):
    """('tensor', elem_type) or (kind_name, None) for a ValueInfoProto."""
    kind = vi.type.WhichOneof("value")
    if kind == "tensor_type":
        return "tensor", vi.type.tensor_type.elem_type
    if kind is None:
        return "untyped", None
    return {
        "sequence_type": "sequence",
        "optional_type": "optional",
        "map_type": "map",
        "sparse_tensor_type": "sparse tensor",
    }.get(kind, kind), None


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _tensor_rank(graph, name):
    """Rank of a value named `name` if statically known (initializer or typed
    graph input / value_info), else None."""
    for t in graph.initializer:
        if t.name == name:
            return len(t.dims)
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        if vi.name == name and vi.type.WhichOneof("value") == "tensor_type":
            tt = vi.type.tensor_type
            if tt.HasField("shape"):
                return len(tt.shape.dim)
    return None


def _opset_version(model, domain=""):
    for o in model.opset_import:
        if o.domain in (domain, "ai.onnx" if domain == "" else domain):
            return o.version
    return None


def exclusion_reasons(model):
    """Return a list of reasons why effc is not expected to handle `model`
    (empty list: the case is applicable)."""
    g = model.graph
    reasons = []

    def add(r):
        if r not in reasons:
            reasons.append(r)

    # --- ops outside the supported list (and non-default domains) ---------
    for node in g.node:
        dom = node.domain
        if dom not in ("", "ai.onnx"):
            add("unsupported op %s::%s" % (dom, node.op_type))
        elif node.op_type not in SUPPORTED_OPS:
            add("unsupported op %s" % node.op_type)

    # --- graph inputs / outputs: only float32 tensors ---------------------
    init_names = set(t.name for t in g.initializer)
    init_names.update(t.values.name for t in g.sparse_initializer)
    consumers = {}
    for node in g.node:
        for i, name in enumerate(node.input):
            if name:
                consumers.setdefault(name, []).append((node.op_type, i))

    for vi in g.input:
        if vi.name in init_names:
            continue  # constant, not a runtime input
        kind, et = _value_kind(vi)
        if kind != "tensor":
            add("%s-typed graph input '%s'" % (kind, vi.name))
            continue
        uses = consumers.get(vi.name, [])
        if uses and all(u in QPARAM_INPUTS for u in uses):
            # frozen (see QPARAM_INPUTS); per-channel parameters of an 8-bit graph
            # input's or output's Quantize/Dequantize are not supported
            shape = vi.type.tensor_type.shape
            n = 1
            for dim in shape.dim:
                n *= dim.dim_value if dim.HasField("dim_value") else 0
            if n != 1 and any(u[0] in ("QuantizeLinear", "DequantizeLinear") for u in uses):
                add("per-channel quantization of an 8-bit graph input or output (effc: per tensor)")
            continue
        if et == onnx.TensorProto.FLOAT:
            continue
        if et in EIGHT_BIT and uses and all(u in QACT_INPUTS for u in uses):
            continue
        if et == onnx.TensorProto.INT64 and uses and all(
                u in CONST_INT64_INPUTS for u in uses):
            for u in uses:
                add("%s given as a runtime int64 input; effc needs it constant"
                    % CONST_INT64_INPUTS[u])
        else:
            add("graph input '%s' is %s, not FLOAT" % (vi.name, _dtype_name(et)))

    for vi in g.output:
        kind, et = _value_kind(vi)
        if kind != "tensor":
            add("%s-typed graph output '%s'" % (kind, vi.name))
        elif et in EIGHT_BIT and any(n.op_type in QOUT_OPS and vi.name in n.output for n in g.node):
            pass  # a quantized op's 8-bit output: floats holding the integers
        elif et != onnx.TensorProto.FLOAT:
            add("graph output '%s' is %s, not FLOAT" % (vi.name, _dtype_name(et)))

    # --- per-node restrictions -------------------------------------------
    for node in g.node:
        op = node.op_type
        if node.domain not in ("", "ai.onnx") or op not in SUPPORTED_OPS:
            continue
        n_out = sum(1 for o in node.output if o)
        if op in ("Dropout", "BatchNormalization"):
            training = n_out > 1
            if op == "BatchNormalization" and _attr(node, "training_mode", 0):
                training = True
            if op == "Dropout":
                # opset >= 12: 3rd input training_mode; opset < 7: is_test=0
                # means training.
                if len(node.input) > 2 and node.input[2]:
                    training = True
                ver = _opset_version(model)
                if ver is not None and ver < 7 and not _attr(node, "is_test", 0):
                    training = True
            if training:
                add("training-mode/mask output")
        elif n_out > 1:
            add("%s with %d outputs" % (op, n_out))

        if op == "Pad":
            mode = _attr(node, "mode", b"constant")
            if isinstance(mode, bytes):
                mode = mode.decode("utf-8", "replace")
            if mode != "constant":
                add("Pad mode edge/reflect unsupported (mode=%s)" % mode)
        elif op == "Conv":
            ks = _attr(node, "kernel_shape")
            nd = None
            if ks is not None:
                nd = len(ks)
            else:
                r = _tensor_rank(g, node.input[1]) if len(node.input) > 1 else None
                if r is None:
                    r = _tensor_rank(g, node.input[0])
                if r is not None:
                    nd = r - 2
            if nd is not None and nd != 2:
                add("only 2-D convolution (this is %d-D)" % nd)

    return reasons


def discover_cases(data_dir, filter_re):
    cases = []
    for d in sorted(glob.glob(os.path.join(data_dir, "test_*"))):
        name = os.path.basename(d)
        if not os.path.isfile(os.path.join(d, "model.onnx")):
            continue
        if filter_re and not filter_re.search(name):
            continue
        cases.append((name, d))
    return cases


def classify(cases):
    """-> (applicable [(name, dir, model)], excluded [(name, reason)])"""
    applicable, excluded = [], []
    for name, d in cases:
        try:
            model = onnx.load(os.path.join(d, "model.onnx"))
        except Exception as e:  # a model we cannot even read: be loud
            applicable.append((name, d, None))
            sys.stderr.write("warning: %s: cannot load model.onnx: %s\n" % (name, e))
            continue
        reasons = exclusion_reasons(model)
        if reasons:
            excluded.append((name, "; ".join(reasons)))
        else:
            applicable.append((name, d, model))
    return applicable, excluded


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------

def _tail(text, n=25):
    lines = text.strip().splitlines()
    if len(lines) > n:
        lines = ["..."] + lines[-n:]
    return "\n    ".join(lines)


def _runtime_inputs(model):
    g = model.graph
    inits = set(t.name for t in g.initializer)
    inits.update(t.values.name for t in g.sparse_initializer)
    return [vi.name for vi in g.input if vi.name not in inits]


def _qparam_inputs(model):
    """Run-time graph inputs that are quantization parameters only (QPARAM_INPUTS)."""
    uses = {}
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if name:
                uses.setdefault(name, []).append((node.op_type, i))
    return [n for n in _runtime_inputs(model) if uses.get(n) and all(u in QPARAM_INPUTS for u in uses[n])]


def frozen_model(name, case_dir, model, out_dir):
    """-> (path of the model effc compiles, None) or (None, reason): case_dir's model with its
    quantization-parameter inputs made initializers of their data-set values."""
    frozen = _qparam_inputs(model)
    if not frozen:
        return os.path.join(case_dir, "model.onnx"), None
    values = {}
    in_names = _runtime_inputs(model)
    for ds in sorted(glob.glob(os.path.join(case_dir, "test_data_set_*"))):
        pbs = _numbered(ds, "input")
        if len(pbs) != len(in_names):
            return None, "%s: %d input_*.pb for %d graph inputs" % (os.path.basename(ds), len(pbs), len(in_names))
        for n, pb in zip(in_names, pbs):
            if n in frozen:
                _, a = _load_pb(pb)
                if n in values and not np.array_equal(values[n], a):
                    return None, "quantization parameter '%s' differs between data sets" % n
                values[n] = a
    m = onnx.ModelProto()
    m.CopyFrom(model)
    keep = [vi for vi in m.graph.input if vi.name not in frozen]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    for n in frozen:
        m.graph.initializer.append(numpy_helper.from_array(values[n], n))
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name + ".onnx")
    onnx.save(m, path)
    return path, None


def compile_case(effc, name, case_dir, out_dir, model=None):
    """-> None on success, else a failure reason."""
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    path = os.path.join(case_dir, "model.onnx")
    if model is not None:
        path, why = frozen_model(name, case_dir, model, os.path.join(os.path.dirname(out_dir), "..", "frozen"))
        if why:
            return why
    cmd = [effc, "compile", path, "-o", out_dir, "--name", name]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=COMPILE_TIMEOUT, universal_newlines=True,
                           errors="replace")
    except subprocess.TimeoutExpired:
        return "effc compile timed out after %ds" % COMPILE_TIMEOUT
    except OSError as e:
        return "cannot run effc: %s" % e
    if p.returncode != 0:
        msg = (p.stderr.strip() or p.stdout.strip() or "(no message)")
        return "effc compile exit %d: %s" % (p.returncode, _tail(msg, 10))
    if not os.path.isfile(os.path.join(out_dir, "CMakeLists.txt")):
        return "effc compile exited 0 but wrote no %s/CMakeLists.txt" % out_dir
    return None


def write_superproject(work, names):
    lines = [
        "# Generated by tests/node/run_node_tests.py -- do not edit.",
        "cmake_minimum_required(VERSION 3.16)",
        "project(effc_node_tests C)",
    ]
    for n in names:
        lines.append("add_subdirectory(cases/%s)" % n)
    with open(os.path.join(work, "CMakeLists.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def _cases_mentioned(text, work, names):
    """Case names whose generated directory is mentioned in a CMake/compiler log."""
    found = set()
    for n in names:
        pat = re.compile(r"cases[/\\]%s([/\\:\s)\"']|$)" % re.escape(n), re.M)
        if pat.search(text):
            found.add(n)
    return found


def configure(work, names, failures, cmake_args=()):
    """Configure the superproject. Cases that break configuration (and are
    named in the error) are dropped and recorded as failures; the rest is
    retried. Returns (ok, names that are configured, log)."""
    build = os.path.join(work, "build")
    names = list(names)
    log = ""
    while names:
        write_superproject(work, names)
        cmd = ["cmake", "-S", work, "-B", build, "-DCMAKE_BUILD_TYPE=Release"] + list(cmake_args)
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=CONFIGURE_TIMEOUT, universal_newlines=True,
                               errors="replace")
        except subprocess.TimeoutExpired:
            return False, names, "cmake configure timed out"
        log = p.stdout
        with open(os.path.join(work, "configure.log"), "w") as f:
            f.write(log)
        if p.returncode == 0:
            return True, names, log
        bad = _cases_mentioned(log, work, names)
        if not bad or len(bad) == len(names):
            return False, names, log
        for n in bad:
            failures[n] = "CMake configure failed for this case:\n    " + _tail(
                "\n".join(l for l in log.splitlines()
                          if ("cases/%s" % n) in l or "Error" in l), 15)
        names = [n for n in names if n not in bad]
        shutil.rmtree(build, ignore_errors=True)
    return True, names, log


def build(work, jobs):
    build_dir = os.path.join(work, "build")
    gen = ""
    cache = os.path.join(build_dir, "CMakeCache.txt")
    try:
        with open(cache) as f:
            for line in f:
                if line.startswith("CMAKE_GENERATOR:"):
                    gen = line.split("=", 1)[1].strip()
                    break
    except OSError:
        pass
    cmd = ["cmake", "--build", build_dir, "-j", str(jobs), "--"]
    cmd += ["-k", "0"] if "Ninja" in gen else ["-k"]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=BUILD_TIMEOUT, universal_newlines=True,
                           errors="replace")
        log, rc = p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        log, rc = (e.stdout or "") if isinstance(e.stdout, str) else "", -1
        log += "\n(build timed out after %ds)" % BUILD_TIMEOUT
    with open(os.path.join(work, "build.log"), "w") as f:
        f.write(log)
    return rc, log


def find_runner(work, name):
    build_dir = os.path.join(work, "build")
    exe = name + "_runner"
    p = os.path.join(build_dir, "cases", name, exe)
    if os.path.isfile(p) and os.access(p, os.X_OK):
        return p
    for q in sorted(glob.glob(os.path.join(build_dir, "**", exe), recursive=True)) + \
            sorted(glob.glob(os.path.join(build_dir, "**", exe + ".exe"), recursive=True)):
        if os.path.isfile(q) and os.access(q, os.X_OK):
            return q
    return None


def _load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t, numpy_helper.to_array(t)


def _numbered(ds, prefix):
    files = glob.glob(os.path.join(ds, prefix + "_*.pb"))
    def key(p):
        m = re.search(r"_(\d+)\.pb$", p)
        return int(m.group(1)) if m else 1 << 30
    return sorted(files, key=key)


def compare(actual, expected):
    """-> None if equal within tolerance, else reason string."""
    exp = np.asarray(expected).astype(np.float64)
    if actual.size != exp.size:
        return "element count %d != expected %d (expected shape %s)" % (
            actual.size, exp.size, list(exp.shape))
    a = actual.astype(np.float64).reshape(exp.shape)
    b = exp
    a_nan, b_nan = np.isnan(a), np.isnan(b)
    if (a_nan & ~b_nan).any():
        return "NaN in output at %d position(s) (first at index %s)" % (
            int((a_nan & ~b_nan).sum()), np.argwhere(a_nan & ~b_nan)[0].tolist())
    if (b_nan & ~a_nan).any():
        return "expected NaN at %d position(s) but got numbers" % int((b_nan & ~a_nan).sum())
    a_inf, b_inf = np.isinf(a), np.isinf(b)
    if (a_inf != b_inf).any() or (a_inf & (a != b)).any():
        return "Inf mismatch at %d position(s)" % int(((a_inf != b_inf) | (a_inf & (a != b))).sum())
    fin = np.isfinite(a) & np.isfinite(b)
    diff = np.zeros_like(a)
    diff[fin] = np.abs(a[fin] - b[fin])
    tol = ATOL + RTOL * np.abs(np.where(fin, b, 0.0))
    bad = fin & (diff > tol)
    if bad.any():
        idx = np.argwhere(bad)[0].tolist()
        return ("%d/%d element(s) out of tolerance, first at %s: got %r expected %r"
                % (int(bad.sum()), a.size, idx,
                   float(a[tuple(idx)]), float(b[tuple(idx)])))
    return None


def _max_abs_err(actual, expected):
    e = np.asarray(expected, dtype=np.float64).reshape(-1)
    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    if a.size != e.size:
        return None
    fin = np.isfinite(a) & np.isfinite(e)
    return float(np.abs(a[fin] - e[fin]).max()) if fin.any() else None


def run_case(work, name, case_dir, model, runner):
    """Run all data sets of a case. -> (ok, reason, max_abs_err)."""
    all_in = _runtime_inputs(model)
    frozen = set(_qparam_inputs(model))
    in_names = [n for n in all_in if n not in frozen]
    out_names = [vi.name for vi in model.graph.output]
    datasets = sorted(glob.glob(os.path.join(case_dir, "test_data_set_*")))
    datasets = [d for d in datasets if os.path.isdir(d)]
    if not datasets:
        return False, "no test_data_set_* in %s" % case_dir, None
    io_root = os.path.join(work, "io", name)
    if os.path.exists(io_root):
        shutil.rmtree(io_root)
    max_err = 0.0
    for ds in datasets:
        dsname = os.path.basename(ds)
        io = os.path.join(io_root, dsname)
        os.makedirs(io)
        in_pbs = _numbered(ds, "input")
        out_pbs = _numbered(ds, "output")
        if len(in_pbs) != len(all_in):
            return False, "%s: %d input_*.pb for %d graph inputs %s" % (
                dsname, len(in_pbs), len(all_in), all_in), None
        if len(out_pbs) != len(out_names):
            return False, "%s: %d output_*.pb for %d graph outputs %s" % (
                dsname, len(out_pbs), len(out_names), out_names), None
        # Input pbs normally carry the graph-input name; use it when it matches
        # (order-independent), else fall back to file order.
        loaded = [_load_pb(p) for p in in_pbs]
        by_name = {t.name: a for t, a in loaded}
        if set(by_name) == set(all_in) and len(by_name) == len(all_in):
            arrays = [by_name[n] for n in in_names]
        else:
            arrays = [a for n, (_, a) in zip(all_in, loaded) if n not in frozen]
        argv = [runner]
        for i, arr in enumerate(arrays):
            p = os.path.join(io, "in_%d.f32" % i)
            arr = np.asarray(arr)
            if arr.dtype.kind not in "fiub":
                return False, "%s: input %d has dtype %s" % (dsname, i, arr.dtype), None
            np.ascontiguousarray(arr, dtype="<f4").tofile(p)
            argv.append(p)
        out_files = []
        for i in range(len(out_names)):
            p = os.path.join(io, "out_%d.f32" % i)
            out_files.append(p)
            argv.append(p)
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=RUN_TIMEOUT, universal_newlines=True,
                               errors="replace")
        except subprocess.TimeoutExpired:
            return False, "%s: runner timed out after %ds" % (dsname, RUN_TIMEOUT), None
        except OSError as e:
            return False, "%s: cannot run runner: %s" % (dsname, e), None
        if p.returncode != 0:
            return False, "%s: runner exit %d: %s" % (
                dsname, p.returncode, _tail(p.stdout, 10) or "(no output)"), None
        for i, (of, pb) in enumerate(zip(out_files, out_pbs)):
            if not os.path.isfile(of):
                return False, "%s: runner wrote no output %d ('%s')" % (
                    dsname, i, out_names[i]), None
            size = os.path.getsize(of)
            if size % 4:
                return False, "%s: output %d ('%s') is %d bytes, not a multiple of 4" % (
                    dsname, i, out_names[i], size), None
            actual = np.fromfile(of, dtype="<f4")
            _, expected = _load_pb(pb)
            why = compare(actual, expected)
            if why:
                # report the max abs error only for value mismatches
                err = _max_abs_err(actual, expected) if "tolerance" in why else None
                return False, "%s: output %d ('%s'): %s" % (
                    dsname, i, out_names[i], why), err
            max_err = max(max_err, _max_abs_err(actual, expected) or 0.0)
    return True, None, max_err


def _build_failure_reason(name, log):
    hits = [l for l in log.splitlines()
            if ("cases/%s/" % name) in l or ("/%s_runner" % name) in l
            or re.search(r"\b%s(_runner)?\b" % re.escape(name), l)]
    errs = [l for l in hits if re.search(r"error|Error|undefined", l)] or hits
    if errs:
        return "runner target did not build:\n    " + _tail("\n".join(errs), 12)
    return "runner target did not build (see %s)" % "build.log"


# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Run ONNX backend node tests through effc.")
    ap.add_argument("--effc", help="path to the effc compiler binary")
    ap.add_argument("--work", help="scratch directory (under the build tree)")
    ap.add_argument("--data", default=DEFAULT_DATA,
                    help="ONNX node test data directory (default: %(default)s)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel jobs (default 2)")
    ap.add_argument("--filter", help="only cases whose name matches this regex")
    ap.add_argument("--list-excluded", action="store_true",
                    help="print every excluded case with its reason")
    ap.add_argument("--cmake-arg", action="append", default=[],
                    help="extra argument for configuring the superproject (repeatable), e.g. "
                         "-DCMAKE_PROJECT_INCLUDE=BUILD/runtime-exports/effc_rt-default.cmake "
                         "to link a runtime built before")
    ap.add_argument("--dry-run", action="store_true",
                    help="only classify cases (applicable / excluded); needs no effc")
    args = ap.parse_args(argv)

    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    try:
        filt = re.compile(args.filter) if args.filter else None
    except re.error as e:
        ap.error("bad --filter regex: %s" % e)
    if not os.path.isdir(args.data):
        sys.stderr.write("run_node_tests.py: no test data directory %s\n" % args.data)
        return 2

    cases = discover_cases(args.data, filt)
    applicable, excluded = classify(cases)

    if args.dry_run:
        for name, _, _ in applicable:
            print("APPLICABLE %s" % name)
        for name, reason in excluded:
            print("EXCLUDED %s: %s" % (name, reason))
        print("%d applicable, %d excluded" % (len(applicable), len(excluded)))
        return 0

    if not args.effc or not args.work:
        ap.error("--effc and --work are required (unless --dry-run)")
    effc = os.path.abspath(args.effc)
    if not (os.path.isfile(effc) and os.access(effc, os.X_OK)):
        sys.stderr.write("run_node_tests.py: effc binary %s not found / not executable\n" % effc)
        return 2
    work = os.path.abspath(args.work)
    # Fresh scratch every run: no stale generated code or runner binaries can
    # make a case pass.
    for sub in ("cases", "build", "io"):
        shutil.rmtree(os.path.join(work, sub), ignore_errors=True)
    os.makedirs(os.path.join(work, "cases"), exist_ok=True)

    t0 = time.time()
    failures = {}   # name -> reason
    passes = {}     # name -> max abs err
    models = {n: (d, m) for n, d, m in applicable}

    for name, _, m in applicable:
        if m is None:
            failures[name] = "model.onnx could not be loaded by the onnx package"
        elif not C_IDENT.match(name):
            failures[name] = "case name is not a valid C identifier"

    # 1. compile (parallel)
    to_compile = [n for n, _, _ in applicable if n not in failures]
    compiled = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = {ex.submit(compile_case, effc, n, models[n][0],
                          os.path.join(work, "cases", n), models[n][1]): n for n in to_compile}
        for f in concurrent.futures.as_completed(futs):
            n = futs[f]
            try:
                why = f.result()
            except Exception as e:  # never lose a case
                why = "internal error while compiling: %r" % e
            if why:
                failures[n] = why
            else:
                compiled.append(n)
    compiled.sort()
    sys.stderr.write("compiled %d/%d applicable cases in %.1fs\n"
                     % (len(compiled), len(applicable), time.time() - t0))

    # 2. configure + build the superproject
    built = []
    if compiled:
        ok, configured, log = configure(work, compiled, failures, args.cmake_arg)
        if not ok:
            for n in configured:
                failures[n] = "CMake configure of the superproject failed:\n    " + _tail(log, 20)
        else:
            for n in configured:  # stale binaries must never be used
                p = find_runner(work, n)
                if p:
                    os.remove(p)
            rc, blog = build(work, args.jobs)
            sys.stderr.write("build exit %d after %.1fs (log: %s)\n"
                             % (rc, time.time() - t0, os.path.join(work, "build.log")))
            for n in configured:
                if find_runner(work, n):
                    built.append(n)
                else:
                    failures[n] = _build_failure_reason(n, blog)

    # 3. run + compare (parallel)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        futs = {ex.submit(run_case, work, n, models[n][0], models[n][1],
                          find_runner(work, n)): n for n in built}
        for f in concurrent.futures.as_completed(futs):
            n = futs[f]
            try:
                ok, why, err = f.result()
            except Exception as e:
                ok, why, err = False, "internal error while running: %r" % e, None
            if ok:
                passes[n] = err
            else:
                failures[n] = why if err is None else "%s (max abs err %.3g)" % (why, err)

    # 4. report
    missing = [n for n, _, _ in applicable if n not in passes and n not in failures]
    for n in missing:  # paranoia: every applicable case is accounted for
        failures[n] = "internal error: case was never run"
    for n, _, _ in applicable:
        if n in passes:
            print("PASS %s" % n)
        else:
            print("FAIL %s: %s" % (n, failures[n]))
    if args.list_excluded:
        for n, reason in excluded:
            print("EXCLUDED %s: %s" % (n, reason))
    print("%d excluded" % len(excluded))
    print("%d passed, %d failed" % (len(passes), len(failures)))
    sys.stdout.flush()
    return 0 if (not failures and passes) else 1


if __name__ == "__main__":
    sys.exit(main())
