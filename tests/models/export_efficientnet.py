#!/usr/bin/python3
"""Export a torchvision EfficientNet (b0..b7) to ONNX with random weights whose
outputs still depend on the input.

torchvision's default init plus untouched BatchNorm statistics (mean 0, var 1)
makes activations shrink layer after layer, so the logits end up the same for
every input (to ~1e-7).  Here every BatchNorm2d gets a random affine
(weight ~ U(bn_weight_lo, bn_weight_hi), bias ~ N(0, bn_bias_std)) and its
running statistics are calibrated on random inputs in train mode (cumulative
average, momentum=None) before switching to eval mode, so each BN normalises
its real input distribution and the signal survives all the way to the logits.
The (zero-initialised) biases of the SE convs and the classifier get N(0, 0.1)
values too, so a dropped bias changes the result.

--lite gives an EfficientNet-Lite-style network (ReLU6 for SiLU, no SE).

--variant mnv3_large / mnv3_small export torchvision's MobileNetV3 (HardSwish,
SE gated by HardSigmoid) with the same BN treatment; at opset < 14 torch writes
each HardSwish as HardSigmoid + Mul.

--variant v2_s exports torchvision's EfficientNetV2-S (fused-MBConv stages of full 3x3
convs, then MBConv with SE) at 384x384, its evaluation size, with the same BN treatment;
v2_m and v2_l the same for V2-M and V2-L at 480x480.

--view-head replaces torchvision's flatten before the classifier by x.view(x.size(0), -1), the
way many hand-written heads read, and exports the batch axis as dynamic: the Shape -> Gather ->
Unsqueeze -> Concat chain that computes the view's shape then survives export (with a fixed batch
torch folds it away), and the export is checked to contain it.

Run with Debian's python (/usr/bin/python3), which has torch, torchvision, onnx:
    /usr/bin/python3 tests/models/export_efficientnet.py --variant b0 -o b0.onnx
"""
import argparse
import os
import sys
import tempfile
import time
import warnings

RESOLUTION = {
    "b0": 224, "b1": 240, "b2": 260, "b3": 300,
    "b4": 380, "b5": 456, "b6": 528, "b7": 600,
    "mnv3_large": 224, "mnv3_small": 224,
    "v2_s": 384, "v2_m": 480, "v2_l": 480,
}

# Variants that are not torchvision.models.efficientnet_<variant>.
CONSTRUCTOR = {"mnv3_large": "mobilenet_v3_large", "mnv3_small": "mobilenet_v3_small"}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--variant", choices=sorted(RESOLUTION), default="b0")
    p.add_argument("--opset", type=int, default=13,
                   help="ONNX opset (torch 1.13 exports 9..17; default 13)")
    p.add_argument("--keep-bn", action="store_true",
                   help="keep BatchNormalization nodes (no Conv+BN folding)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resolution", type=int, default=None,
                   help="input H=W (default: torchvision's per-variant size)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--calib-steps", type=int, default=4,
                   help="forward passes used to calibrate BN statistics")
    p.add_argument("--calib-batch", type=int, default=2,
                   help="images per calibration pass (default 2: 4 passes of 2 give each "
                        "channel plenty of samples in a quarter of the time of 8)")
    p.add_argument("--lite", action="store_true",
                   help="EfficientNet-Lite style (b0..b7): every SiLU replaced by ReLU6 and "
                        "the squeeze-excitation blocks removed")
    p.add_argument("--view-head", action="store_true",
                   help="classifier head as x.view(x.size(0), -1), exported with a dynamic batch "
                        "axis so its Shape/Gather/Unsqueeze/Concat subgraph stays in the graph")
    p.add_argument("--check-sensitivity", action="store_true",
                   help="print sensitivity=max|a-b|/max|a| for two random inputs")
    p.add_argument("-o", "--output", default=None, help="output .onnx path")
    a = p.parse_args(argv)
    if a.output is None and not a.check_sensitivity:
        p.error("-o OUT.onnx is required (unless only --check-sensitivity)")
    if not 9 <= a.opset <= 17:
        p.error("--opset must be in 9..17 (what torch 1.13 exports)")
    if a.batch < 1:
        p.error("--batch must be >= 1")
    # v2_* use torchvision's own constructor names (efficientnet_v2_s), but Lite is a B-series
    # variant only: V2's fused-MBConv stages have no SE to drop and Lite was never defined for it.
    if a.lite and (a.variant in CONSTRUCTOR or a.variant.startswith("v2_")):
        p.error("--lite applies to EfficientNet variants b0..b7 only")
    if a.resolution is None:
        a.resolution = RESOLUTION[a.variant]
    if a.resolution < 32:
        p.error("--resolution must be >= 32")
    return a


def make_lite(torch, torchvision, module):
    """In place: SiLU -> ReLU6 and SqueezeExcitation -> Identity, the changes
    EfficientNet-Lite makes (ReLU6 exports as Clip(0, 6), which the compiler
    fuses as an output clamp; no SE means no gate and no scaled projection)."""
    se = torchvision.ops.misc.SqueezeExcitation
    for name, child in module.named_children():
        if isinstance(child, torch.nn.SiLU):
            setattr(module, name, torch.nn.ReLU6(inplace=True))
        elif isinstance(child, se):
            setattr(module, name, torch.nn.Identity())
        else:
            make_lite(torch, torchvision, child)


def view_head(torch, model):
    """The same network with the head written x.view(x.size(0), -1) instead of torch.flatten
    (torchvision's EfficientNet and MobileNetV3 both run features, avgpool, flatten, classifier)."""
    class ViewHead(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.features, self.avgpool, self.classifier = net.features, net.avgpool, net.classifier

        def forward(self, x):
            x = self.avgpool(self.features(x))
            return self.classifier(x.view(x.size(0), -1))

    return ViewHead(model).eval()


def build_model(torch, torchvision, args):
    torch.manual_seed(args.seed)
    ctor = getattr(torchvision.models, CONSTRUCTOR.get(args.variant, "efficientnet_" + args.variant))
    model = ctor(weights=None)
    if args.lite:
        make_lite(torch, torchvision, model)

    # Random BN affine parameters, then calibrated running statistics.
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.1)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative moving average over the calib passes
        # torchvision zero-initialises every bias (SE convs, classifier);
        # make them nonzero so a dropped bias shows up in the outputs.  This
        # also stops torch.onnx from deduplicating the identical all-zero
        # initializers into chains of Identity nodes.
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
                m.bias.normal_(0.0, 0.1)
        model.train()
        r = args.resolution
        for _ in range(args.calib_steps):
            model(torch.randn(args.calib_batch, 3, r, r))
        for bn in bns:
            bn.momentum = 0.1  # back to the default (exported attribute 0.9)
    model.eval()
    if args.view_head:
        model = view_head(torch, model)
    return model


def sensitivity(torch, model, args):
    r = args.resolution
    g = torch.Generator().manual_seed(args.seed + 12345)
    xa = torch.randn(1, 3, r, r, generator=g)
    xb = torch.randn(1, 3, r, r, generator=g)
    with torch.no_grad():
        a = model(xa)
        b = model(xb)
    return float((a - b).abs().max() / a.abs().max())


def export(torch, model, args):
    r = args.resolution
    x = torch.randn(args.batch, 3, r, r)
    kw = dict(
        input_names=["input"],
        output_names=["logits"],
        opset_version=args.opset,
    )
    if args.view_head:
        # A fixed batch lets torch fold x.size(0) to a constant; a dynamic one keeps the chain.
        kw.update(dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    if args.keep_bn:
        # eval() (BN uses running stats) + PRESERVE + no constant folding
        # keeps BatchNormalization nodes in inference form.
        kw.update(training=torch.onnx.TrainingMode.PRESERVE,
                  do_constant_folding=False)
    else:
        kw.update(training=torch.onnx.TrainingMode.EVAL,
                  do_constant_folding=True)

    out = os.path.abspath(args.output)
    d = os.path.dirname(out)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".onnx", dir=d)
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, **kw)
        check_and_describe(tmp, args)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return out


def check_and_describe(path, args):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    nodes = m.graph.node
    bn = [n for n in nodes if n.op_type == "BatchNormalization"]
    if args.keep_bn:
        if not bn:
            raise RuntimeError("--keep-bn: exported graph has no BatchNormalization")
        bad = [n.name for n in bn if len([o for o in n.output if o]) != 1]
        if bad:
            raise RuntimeError("--keep-bn: BatchNormalization in training form: %s"
                               % ", ".join(bad[:5]))
    elif bn:
        raise RuntimeError("BatchNormalization left in a folded export")
    if args.view_head:
        ops = set(n.op_type for n in nodes)
        missing = [op for op in ("Shape", "Gather", "Unsqueeze", "Concat", "Reshape") if op not in ops]
        if missing:
            raise RuntimeError("--view-head: the export has no %s node (the shape subgraph was folded)"
                               % ", ".join(missing))
        dim = m.graph.input[0].type.tensor_type.shape.dim[0]
        if dim.HasField("dim_value"):
            raise RuntimeError("--view-head: the batch axis was exported as fixed (%d)" % dim.dim_value)
    if [i.name for i in m.graph.input] != ["input"]:
        raise RuntimeError("unexpected graph inputs: %s" % [i.name for i in m.graph.input])
    if [o.name for o in m.graph.output] != ["logits"]:
        raise RuntimeError("unexpected graph outputs: %s" % [o.name for o in m.graph.output])


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    warnings.filterwarnings("ignore")
    t0 = time.time()
    import torch
    import torchvision
    # One thread: the suite runs exports side by side (ctest -j2), and oversubscribed OpenMP
    # threads spin-wait (a B0 export took 34 s in the suite against 7 s alone).
    torch.set_num_threads(1)

    model = build_model(torch, torchvision, args)
    if args.check_sensitivity:
        print("sensitivity=%.6g" % sensitivity(torch, model, args))
    if args.output:
        out = export(torch, model, args)
        print("wrote %s (%s%s opset %d%s, %dx3x%dx%d) in %.1f s" % (
            out, CONSTRUCTOR.get(args.variant, "efficientnet_" + args.variant), " lite" if args.lite else "", args.opset,
            (" keep-bn" if args.keep_bn else "") + (" view-head" if args.view_head else ""),
            args.batch, args.resolution, args.resolution, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
