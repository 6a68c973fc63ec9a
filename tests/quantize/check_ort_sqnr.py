#!/usr/bin/env python3
"""Quantizes MODEL with effc and checks the QDQ file in ONNX Runtime (onnxruntime-node).

usage: check_ort_sqnr.py EFFC MODEL WORKDIR [--also-unoptimized] [--min-sqnr DB] [effc quantize options...]

Writes 8 calibration and 2 held-out normal(0,1) inputs (numpy, seeded), runs
`effc quantize MODEL -o WORKDIR/q.onnx --calib ... --eval ...` with the extra options, checks the
file with onnx.checker (full check), runs the float model and the QDQ model in ONNX Runtime
on every input, and asserts that the SQNR and top-1 agreement effc printed for the calibration
and held-out inputs equal those measured on ONNX Runtime's outputs (SQNR within 0.5 dB).
Prints one line per set: effc's and ORT's SQNR (--also-unoptimized: and ORT's with graph
optimisations off, which runs the QDQ semantics without ORT's fused int8 kernels; not checked).
"""
import os
import re
import subprocess
import sys

import numpy as np
import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ort_run(model, name, shape, infile, outname, outfile, opt='all'):
    subprocess.run(['node', os.path.join(ROOT, 'tools', 'ort_run.js'), '--model', model, '--opt-level', opt,
                    '--input', '%s=%s:%s' % (name, infile, ','.join(map(str, shape))),
                    '--output', '%s=%s' % (outname, outfile)], check=True, stdout=subprocess.DEVNULL)
    return np.fromfile(outfile, dtype=np.float32)


def sqnr(ref, x):
    noise = float(((ref.astype(np.float64) - x) ** 2).sum())
    return 200.0 if noise == 0 else 10 * np.log10(float((ref.astype(np.float64) ** 2).sum()) / noise)


def main():
    effc, model, work = sys.argv[1:4]
    rest = sys.argv[4:]
    min_sqnr, unopt = None, False
    if rest[:1] == ['--also-unoptimized']:
        unopt = True
        rest = rest[1:]
    if rest[:1] == ['--min-sqnr']:
        min_sqnr = float(rest[1])
        rest = rest[2:]
    os.makedirs(work, exist_ok=True)
    m = onnx.load(model)
    inp = m.graph.input[0]
    shape = [d.dim_value if d.dim_value > 0 else 1 for d in inp.type.tensor_type.shape.dim]
    outname = m.graph.output[0].name
    rng = np.random.default_rng(1234)
    files = []
    for i in range(10):
        f = os.path.join(work, 'in%d.f32' % i)
        rng.standard_normal(shape).astype(np.float32).tofile(f)
        files.append(f)
    q = os.path.join(work, 'q.onnx')
    cmd = [effc, 'quantize', model, '-o', q, '--calib'] + files[:8] + ['--eval'] + files[8:] + rest
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        sys.exit('effc quantize failed (%d): %s' % (r.returncode, r.stderr))
    onnx.checker.check_model(onnx.load(q), full_check=True)
    printed, errors = {}, []
    for key, label in (('calib', 'calibration inputs:'), ('eval', 'held-out inputs:')):
        mm = re.search(re.escape(label) + r'\s+SQNR (-?[0-9.]+) dB, top-1 agreement (\d+)/(\d+)', r.stdout)
        if not mm:
            sys.exit('no "%s" line in effc output' % label)
        printed[key] = (float(mm.group(1)), int(mm.group(2)), int(mm.group(3)))
    for key, sel in (('calib', files[:8]), ('eval', files[8:])):
        refs, qs = [], []
        for f in sel:
            refs.append(ort_run(model, inp.name, shape, f, outname, f + '.ref'))
            qs.append(ort_run(q, inp.name, shape, f, outname, f + '.q'))
        ref, qo = np.concatenate(refs), np.concatenate(qs)
        s = sqnr(ref, qo)
        agree = sum(int(np.argmax(a) == np.argmax(b)) for a, b in zip(refs, qs))
        es, ea, en = printed[key]
        print('%s: effc SQNR %.2f dB top-1 %d/%d; ONNX Runtime SQNR %.2f dB top-1 %d/%d' % (key, es, ea, en, s, agree, len(sel)))
        if unopt:  # ONNX Runtime with graph optimisations off: the QDQ semantics, no fused int8 kernels
            qu = np.concatenate([ort_run(q, inp.name, shape, f, outname, f + '.qu', 'disabled') for f in sel])
            print('%s: ONNX Runtime unoptimized SQNR %.2f dB' % (key, sqnr(ref, qu)))
        if abs(es - s) > 0.5:
            errors.append('%s: effc printed SQNR %.2f dB, ONNX Runtime gives %.2f dB (more than 0.5 dB apart)' % (key, es, s))
        if key == 'eval' and min_sqnr is not None and s < min_sqnr:
            errors.append('%s: ONNX Runtime SQNR %.2f dB below the required %.2f dB' % (key, s, min_sqnr))
    if errors:
        sys.exit('\n'.join(errors))
    print('ok')


if __name__ == '__main__':
    main()
