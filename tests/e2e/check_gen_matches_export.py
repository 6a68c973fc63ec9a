#!/usr/bin/python3
"""check_gen_matches_export.py EFFC GENERATED.onnx EXPORT.onnx [--checker]: after optimisation the
generated model and the torchvision export of the same variant have the same op counts and the
same sequence of emitted op types and output shapes (node names differ, so they are not
compared). --checker also runs onnx.checker's full check (with shape inference) on the generated
file."""
import json
import subprocess
import sys


def inspect(effc, model):
    out = subprocess.run([effc, "inspect", model, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    effc, gen, exp = sys.argv[1:4]
    a, b = inspect(effc, gen), inspect(effc, exp)
    checker = []
    if "--checker" in sys.argv[4:]:
        import onnx
        try:
            # On the loaded model, not the path: onnx 1.12's check_model(path, full_check=True)
            # writes the shape-inferred model back over the file, which difftest_gen_v2_s_r128
            # reads at the same time (ONNX Runtime then saw a half-written file: "ModelProto
            # does not have a graph").
            onnx.checker.check_model(onnx.load(gen), full_check=True)
            checker = [("onnx.checker full check of the generated model", True)]
        except Exception as e:  # onnx.checker.ValidationError, shape inference errors
            print(f"onnx.checker: {e}")
            checker = [("onnx.checker full check of the generated model", False)]
    seq_a = [(n["op"], n["shape"]) for n in a["nodes"]]
    seq_b = [(n["op"], n["shape"]) for n in b["nodes"]]
    checks = [
        ("op counts equal", a["ops"] == b["ops"]),
        ("node sequence (op, shape) equal", seq_a == seq_b),
        ("inputs equal", [i["shape"] for i in a["inputs"]] == [i["shape"] for i in b["inputs"]]),
        ("outputs equal", [o["shape"] for o in a["outputs"]] == [o["shape"] for o in b["outputs"]]),
    ] + checker
    failed = 0
    for name, ok in checks:
        print(("ok " if ok else "FAIL ") + name)
        failed += not ok
    if seq_a != seq_b:
        for i, (x, y) in enumerate(zip(seq_a, seq_b)):
            if x != y:
                print(f"  first difference at node {i}: generated {x}, export {y}")
                break
    print(f"generated ops {a['ops']}\nexport    ops {b['ops']}")
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
