#!/usr/bin/python3
"""check_inspect.py EFFC MODEL [--se N]: the optimised graph of an EfficientNet export, as
`effc inspect --json` reports it, has no BatchNormalization, no Sigmoid/Mul Swish pairs and
(with --se) exactly N squeeze-excitation ops, each a gate whose scale the next 1x1 conv applies,
and the memory plan is within 15% of the peak of live bytes (the lower bound of any plan)."""
import json
import subprocess
import sys


def main():
    effc, model = sys.argv[1], sys.argv[2]
    se = int(sys.argv[sys.argv.index("--se") + 1]) if "--se" in sys.argv else None
    out = subprocess.run([effc, "inspect", model, "--json"], check=True, capture_output=True, text=True).stdout
    d = json.loads(out)
    ops = d["ops"]
    checks = [
        ("no BatchNormalization", ops.get("BatchNormalization", 0) == 0),
        ("no ChannelScaleBias (every BN folded)", ops.get("ChannelScaleBias", 0) == 0),
        ("no standalone Sigmoid", ops.get("Sigmoid", 0) == 0),
        ("no standalone Mul", ops.get("Mul", 0) == 0),
        ("no standalone Swish", ops.get("Swish", 0) == 0),
        ("arena_bytes <= 1.15 * peak_live_bytes", d["arena_bytes"] <= 1.15 * d["peak_live_bytes"]),
    ]
    if se is not None:
        checks.append((f"exactly {se} squeeze-excitations", ops.get("SqueezeExcite", 0) + ops.get("SqueezeExciteGate", 0) == se))
        checks.append(("every SE scale applied in the next 1x1 conv", ops.get("SqueezeExciteGate", 0) == se))
    failed = 0
    for name, ok in checks:
        print(("ok " if ok else "FAIL ") + name)
        failed += not ok
    print(f"ops: {ops}")
    print(f"arena_bytes={d['arena_bytes']} peak_live_bytes={d['peak_live_bytes']} "
          f"ratio={d['arena_bytes'] / d['peak_live_bytes']:.3f}")
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
