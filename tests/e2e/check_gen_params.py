#!/usr/bin/python3
"""check_gen_params.py EFFC [v1|v2]: `effc scale --variants b0..b7` (v1, the default) or
`--variants v2-s..v2-l` (v2) must report exactly the parameter counts of torchvision's
efficientnet_b0..b7 or efficientnet_v2_s/m/l, computed here from the torchvision models. For v2,
`effc gen`'s summary line of V2-S must carry the same count."""
import csv
import os
import re
import subprocess
import sys
import tempfile

import torch
import torchvision

# Only the parameter counts matter: skip the random initialisation, most of the time it takes
# to build B7's 66 M parameters (V2-L's 118 M).
for _name in dir(torch.nn.init):
    if _name.endswith("_") and not _name.startswith("_"):
        setattr(torch.nn.init, _name, lambda tensor, *a, **k: tensor)

FAMILIES = {
    "v1": ("b0..b7", [(f"b{k}", f"efficientnet_b{k}") for k in range(8)]),
    "v2": ("v2-s..v2-l", [(f"v2-{s}", f"efficientnet_v2_{s}") for s in "sml"]),
}


def main():
    effc = sys.argv[1]
    family = sys.argv[2] if len(sys.argv) > 2 else "v1"
    span, variants = FAMILIES[family]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "scale.csv")
        subprocess.run([effc, "scale", "--variants", span, "--csv", path], check=True, capture_output=True)
        rows = {r["variant"]: int(r["params"]) for r in csv.DictReader(open(path))}
        summary = None
        if family == "v2":
            # The summary line of `effc gen` (at a small resolution: the count does not depend on it).
            out = subprocess.run([effc, "gen", "--variant", "v2-s", "--resolution", "64", "-o",
                                  os.path.join(tmp, "v2s.onnx")], check=True, capture_output=True, text=True).stdout
            m = re.search(r"efficientnet-v2-s: .* (\d+) parameters, (\d+) MACs", out)
            summary = int(m.group(1)) if m else None
            print("effc gen summary: " + out.splitlines()[0] if out else "effc gen printed nothing")
    passed = failed = 0
    counts = {}
    for label, ctor in variants:
        model = getattr(torchvision.models, ctor)(weights=None)
        want = counts[label] = sum(p.numel() for p in model.parameters())
        del model
        got = rows.get(label)
        ok = got == want
        print(f"{'ok' if ok else 'FAIL'} {label}: effc {got} torchvision {want}")
        passed += ok
        failed += not ok
    if family == "v2":
        ok = summary == counts["v2-s"]
        print(f"{'ok' if ok else 'FAIL'} gen summary v2-s: effc {summary} torchvision {counts['v2-s']}")
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
