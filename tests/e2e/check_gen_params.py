#!/usr/bin/python3
"""check_gen_params.py EFFC: `effc scale --variants b0..b7` must report exactly the parameter
counts of torchvision's efficientnet_b0..b7, computed here from the torchvision models."""
import csv
import subprocess
import sys
import tempfile

import torch
import torchvision

# Only the parameter counts matter: skip the random initialisation, most of the time it takes
# to build B7's 66 M parameters.
for _name in dir(torch.nn.init):
    if _name.endswith("_") and not _name.startswith("_"):
        setattr(torch.nn.init, _name, lambda tensor, *a, **k: tensor)


def main():
    effc = sys.argv[1]
    with tempfile.NamedTemporaryFile(suffix=".csv") as f:
        subprocess.run([effc, "scale", "--variants", "b0..b7", "--csv", f.name], check=True, capture_output=True)
        rows = {r["variant"]: int(r["params"]) for r in csv.DictReader(open(f.name))}
    passed = failed = 0
    for k in range(8):
        model = getattr(torchvision.models, f"efficientnet_b{k}")(weights=None)
        want = sum(p.numel() for p in model.parameters())
        got = rows.get(f"b{k}")
        ok = got == want
        print(f"{'ok' if ok else 'FAIL'} b{k}: effc {got} torchvision {want}")
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
