#!/usr/bin/python3
"""resave_external.py IN.onnx OUT.onnx one|split: re-saves a model with its weights as ONNX
external data, the way exporters save models over 2 GB.

  one    every initializer in one file, OUT.onnx.data, beside OUT.onnx.
  split  one file per initializer of 4 KiB or more (named by onnx after the tensor); smaller
         ones stay inline in OUT.onnx, so the loader meets both kinds in one model.

OUT.onnx's directory is emptied first (stale data files would go unnoticed otherwise), so give
each output a directory of its own. Prints how many initializers went to how many files."""
import os
import shutil
import sys

import onnx
from onnx import TensorProto


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("one", "split"):
        sys.exit(__doc__)
    src, out, mode = sys.argv[1:]
    m = onnx.load(src)
    d = os.path.dirname(os.path.abspath(out))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if mode == "one":
        onnx.save_model(m, out, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(out) + ".data", size_threshold=0)
    else:
        onnx.save_model(m, out, save_as_external_data=True, all_tensors_to_one_file=False, size_threshold=4096)
    saved = onnx.load(out, load_external_data=False)
    ext = [t for t in saved.graph.initializer if t.data_location == TensorProto.EXTERNAL]
    files = {e.value for t in ext for e in t.external_data if e.key == "location"}
    inline = len(saved.graph.initializer) - len(ext)
    if not ext or (mode == "split" and not inline):
        sys.exit(f"resave_external.py: {out}: expected external and (split) inline initializers, "
                 f"got {len(ext)} external, {inline} inline")
    print(f"{out}: {len(ext)} initializers in {len(files)} external files, {inline} inline")


if __name__ == "__main__":
    main()
