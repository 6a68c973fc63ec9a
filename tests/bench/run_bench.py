#!/usr/bin/python3
"""run_bench.py: effc's generated code side by side with ONNX Runtime, in one run.

For each model (see MODELS: torchvision's EfficientNet B0/B1/B3/B7, the Lite-style B0,
MobileNetV3-Large and -Small and EfficientNetV2-S at 384, exported with input-sensitive weights
and cached under build/models; and an EfficientNet that `effc gen --phi 0.5` builds) and each
thread count, on the same input file: the generated runner and ONNX Runtime
(onnxruntime-node, CPU provider, all graph optimisations, same thread count) each stay loaded
in their own process (--serve) and take turns, A B B A A B ...: a turn is one warm-up run (the
other engine has just used the caches) and then --block timed runs back to back. After a turn
the benchmark waits until that engine's threads stop using the CPU: both thread pools spin-wait
after a run (ONNX Runtime's about 50 ms, pthreadpool's about 30 ms at 2 threads here), and on
this 2-vCPU VM the spinning pool took a core from the next turn's engine, which slowed whichever
engine ran second (effc's 8 ms B0 runs lost more of a turn to it than ORT's 10 ms ones). Adjacent
turns are still a few hundred ms apart, so host-load bursts and drift on this VM hit both sides
alike. (An idle gap before each run instead measured both engines 30-60% slower and far noisier
here: the vCPU's wake-up, not the code; the turn's warm-up run absorbs it.) At 1 thread both
engines are pinned to the same vCPU, another one each round (the two vCPUs are often unequal).
The table reports the median and min of all timed runs of each, the ratio effc/ORT (the median over pairs of
adjacent turns of the ratio of their medians), context creation vs session creation (best of
the rounds, each round new processes), peak RSS of the runner vs ORT's increase over an idle
node process with the module loaded, runner binary and weights size, achieved GFLOP/s (2 x
MACs / median latency) against this core's measured FMA peak (tests/bench/fma_peak.c: the peak
of the widest FMA the runtime uses here, 512-bit where the CPU has AVX-512 unless --no-avx512
builds the generated code with EFFC_RT_NO_AVX512), and per-op-class profiles of the generated
code (a second build with EFFC_PROFILE) and of ONNX Runtime (its own profiler,
tools/ort_run.js --profile-ops). An op class of the generated code that takes over 10% of a
model's time and that B0's generated code does not have is flagged: it is time the B0-tuned
kernels were never measured on.

The Markdown also gives effc/ORT for each round (which vCPU it ran on at 1 thread).

Int8 rows (b0_int8, lite_b0_int8): the float model quantized by effc quantize --ort-default, its
int8 code against effc's float code (a third side in the same turns) and ONNX Runtime on the
quantized file, with GOP/s against the core's vpdpbusd peak (fma_peak.c's int8_peak_gops).

Usage: scripts/bench.sh [--models b0,lite_b0,...] [--threads 1,2] [--pairs 10] [--block 5] [--rounds 2]
                        [--jobs 2] [--no-avx512]
--models picks a subset (default: all of MODELS; phiX for any other phi), e.g. --models mnv3_small
--threads 1 --pairs 2 --block 2 --rounds 1 for a quick check. Writes build/bench/bench.md and
build/bench/bench.csv. Not part of the pass/fail suite.
"""
import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"


# Each benchmarked model: its export arguments (tests/models/export_efficientnet.py, through
# cached_export.sh), or None for a model that `effc gen --phi X` builds (name phiX).
MODELS = {
    "b0": ["--variant", "b0"],
    "b1": ["--variant", "b1"],
    "b3": ["--variant", "b3"],
    "b7": ["--variant", "b7"],
    "lite_b0": ["--variant", "b0", "--lite"],
    "mnv3_large": ["--variant", "mnv3_large"],
    "mnv3_small": ["--variant", "mnv3_small"],
    "v2_s": ["--variant", "v2_s"],  # 384x384
    "phi0.5": None,
    # Int8: the float model above quantized the standard way (effc quantize --ort-default: what
    # ONNX Runtime's quantize_static(QDQ, per_channel=True) writes), timed as int8 C against
    # effc's float code for the float model and ONNX Runtime on the same quantized file.
    "b0_int8": "b0",
    "lite_b0_int8": "lite_b0",
}

# An op class above this share of a model's time, absent from B0, is flagged in the profile.
NEW_CLASS_SHARE = 0.10


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def field(out, key):
    m = re.search(key + r"=([0-9.]+)", out)
    if not m:
        raise RuntimeError(f"no {key} in: {out}")
    return float(m.group(1))


class Server:
    """One engine kept loaded (--serve): a line on stdin runs one inference, it answers ms=<x>."""

    def __init__(self, cmd, cpus=None):
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                  preexec_fn=pin)
        self.head = ""
        for line in self.p.stdout:
            if line.strip() == "ready":
                return
            self.head += line
        raise RuntimeError(f"{cmd[0]} exited before it was ready: {self.head}")

    def run(self):
        self.p.stdin.write("run\n")
        self.p.stdin.flush()
        return field(self.p.stdout.readline(), "ms")

    def cpu_ns(self):
        """CPU time of each of the process's threads so far (schedstat: ns, not 10 ms ticks)."""
        task = f"/proc/{self.p.pid}/task"
        try:
            tids = os.listdir(task)
        except FileNotFoundError:
            raise RuntimeError(f"{self.p.args[0]} exited (status {self.p.poll()})") from None
        times = {}
        for tid in tids:
            try:
                with open(f"{task}/{tid}/schedstat") as f:
                    times[tid] = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass  # a thread that just exited
        return times

    def quiesce(self, window=0.01, idle_ns=500_000, limit=2.0):
        """Waits until this engine's threads stop using the CPU (at most `limit` s). Both thread
        pools spin-wait after a run (measured here at 2 threads: ONNX Runtime's for about 50 ms,
        pthreadpool's for about 30 ms), which on this 2-vCPU VM takes a core from whichever
        engine runs next."""
        waited, last = 0.0, self.cpu_ns()
        while waited < limit:
            time.sleep(window)
            waited += window
            now = self.cpu_ns()
            # Threads in both samples only: one that exits must not count as negative time.
            if sum(now[t] - last[t] for t in now.keys() & last.keys()) < idle_ns:
                return waited
            last = now
        print(f"note: {self.p.args[0]} still used the CPU after {limit} s", file=sys.stderr)
        return waited

    def close(self):
        self.p.stdin.close()
        if self.p.wait() != 0:
            raise RuntimeError(f"server exited with status {self.p.returncode}")


def model_path(effc, v):
    """The model's ONNX file under build/models, exported or generated on first use."""
    if isinstance(MODELS.get(v), str):
        base = model_path(effc, MODELS[v])
        model = os.path.join(ROOT, "build", "models", f"{v}.onnx")
        # Requantized when effc or the float model is newer (about 10 s).
        if not os.path.exists(model) or os.path.getmtime(model) < max(os.path.getmtime(effc), os.path.getmtime(base)):
            sh([effc, "quantize", base, "-o", model, "--ort-default", "--calib-random", "8", "--no-sensitivity"])
        return model
    if v.startswith("phi"):
        try:
            phi = float(v[3:])
        except ValueError:
            raise SystemExit(f"run_bench: bad model name {v!r} (phiX wants a number)") from None
        # Generated every time (about a second), so it follows changes to `effc gen`.
        model = os.path.join(ROOT, "build", "models", f"gen_{v}.onnx")
        os.makedirs(os.path.dirname(model), exist_ok=True)
        sh([effc, "gen", "--phi", f"{phi:g}", "-o", model])
        return model
    model = os.path.join(ROOT, "build", "models", f"{v}_op13.onnx")
    sh(["bash", os.path.join(ROOT, "tests", "models", "cached_export.sh"), PY, model] + MODELS[v] + ["--opset", "13"])
    return model


def op_classes(gen):
    """The op classes of a generated model (its NAME_op_class table), without building or running it."""
    text = open(os.path.join(gen, "model.c")).read()
    table = re.search(r"_op_class\[[^]]*\] = \{(.*?)\n\};", text, re.S)
    if not table:
        raise RuntimeError(f"no op-class table in {gen}/model.c")
    return set(re.findall(r'"([^"]+)"', table.group(1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated, from: " + ", ".join(MODELS) + " (or phiX)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--pairs", type=int, default=10, help="pairs of turns per round")
    ap.add_argument("--block", type=int, default=5, help="timed runs per turn")
    ap.add_argument("--rounds", type=int, default=2, help="rounds, each with new processes")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--jobs", default="2", help="parallel jobs when building the generated code")
    ap.add_argument("--no-avx512", action="store_true",
                    help="build the generated code with EFFC_RT_NO_AVX512 (AVX2 kernels; AVX2 FMA peak)")
    a = ap.parse_args()
    models = [v for v in a.models.split(",") if v]
    bad = [v for v in models if v not in MODELS and not v.startswith("phi")]
    if bad or not models:
        ap.error(f"unknown model(s) {', '.join(bad) or '(none)'}; known: {', '.join(MODELS)}, or phiX")
    effc = os.path.join(ROOT, "build", "effc")
    os.makedirs(a.out, exist_ok=True)
    fma = os.path.join(a.out, "fma_peak")
    sh(["cc", "-O2", os.path.join(ROOT, "tests", "bench", "fma_peak.c"), "-o", fma])
    fma_out = sh([fma] + (["--no-avx512"] if a.no_avx512 else []))
    peak = field(fma_out, "fma_peak_gflops")
    peak_isa = re.search(r"fma_peak_isa=(\w+)", fma_out).group(1)
    peak_256 = field(fma_out, "fma_peak_avx2_gflops")
    m = re.search(r"fma_peak_avx512_gflops=([0-9.]+)", fma_out)
    peak_512 = float(m.group(1)) if m else None
    m = re.search(r"int8_peak_gops=([0-9.]+)", fma_out)
    peak_int8 = float(m.group(1)) if m else None
    # Always explicit: a build directory configured by an earlier --no-avx512 run keeps the
    # option in its CMake cache, and its models then ran on the AVX2 paths in a default run
    # (MobileNetV3-Small measured 1.64 ms instead of 1.15).
    rt_flags = ["-DEFFC_RT_NO_AVX512=" + ("ON" if a.no_avx512 else "OFF")]
    cpu_list = sorted(os.sched_getaffinity(0))
    import numpy as np

    # B0's op classes, the reference for flagging, from its generated code (compiling it takes
    # seconds; nothing is built or timed), so any subset of models in any order is flagged alike.
    ref = os.path.join(a.out, "b0_classes")
    sh([effc, "compile", model_path(effc, "b0"), "-o", ref, "--name", "model"])
    b0_classes = op_classes(ref)

    rows = []
    for v in models:
        model = model_path(effc, v)
        info = json.loads(sh([effc, "inspect", model, "--json"]))
        shape = info["inputs"][0]["shape"]
        name = info["inputs"][0]["name"]
        gen = os.path.join(a.out, v)
        sh([effc, "compile", model, "-o", gen, "--name", "model"])
        sh(["cmake", "-S", gen, "-B", gen + "/build", "-DCMAKE_BUILD_TYPE=Release"] + rt_flags)
        sh(["cmake", "--build", gen + "/build", "-j", a.jobs])
        sh(["cmake", "-S", gen, "-B", gen + "/build-prof", "-DCMAKE_BUILD_TYPE=Release", "-DEFFC_PROFILE=ON"] + rt_flags)
        sh(["cmake", "--build", gen + "/build-prof", "-j", a.jobs])
        runner = gen + "/build/model_runner"
        flt_runner = None
        if isinstance(MODELS.get(v), str):  # the float model's effc code, timed in the same turns
            fgen = os.path.join(a.out, MODELS[v] + "_float_for_int8")
            sh([effc, "compile", model_path(effc, MODELS[v]), "-o", fgen, "--name", "model"])
            sh(["cmake", "-S", fgen, "-B", fgen + "/build", "-DCMAKE_BUILD_TYPE=Release"] + rt_flags)
            sh(["cmake", "--build", fgen + "/build", "-j", a.jobs])
            flt_runner = fgen + "/build/model_runner"
            flt_weights = os.path.getsize(os.path.join(fgen, "model.weights"))
        x = np.random.default_rng(0).standard_normal(int(np.prod(shape)), dtype=np.float32)
        inp = os.path.join(a.out, f"{v}_input.f32")
        x.tofile(inp)
        out = os.path.join(a.out, f"{v}_out.f32")
        spec = f"{name}={inp}:" + ",".join(str(d) for d in shape)
        oname = info["outputs"][0]["name"]
        for t in [int(s) for s in a.threads.split(",")]:
            e_ms, o_ms, ratios, e_create, o_sess, by_round = [], [], [], [], [], []
            f_ms, f_ratios = [], []
            for rnd in range(a.rounds):
                # At 1 thread both engines run on the same vCPU, the next one each round: the two
                # vCPUs of this VM are often unequal (at times one runs B3 35% slower than the
                # other, which one changing from minute to minute), and the scheduler kept each
                # engine on the vCPU it last ran on, so a round could time one engine on each.
                cpus = {cpu_list[rnd % len(cpu_list)]} if t == 1 else None
                eng = Server([runner, "--create-ms", "--threads", str(t), "--serve", inp, out], cpus)
                ort = Server(["node", os.path.join(ROOT, "tools", "ort_run.js"), "--model", model, "--threads", str(t),
                              "--bench-only", "--serve", "--input", spec, "--output", oname], cpus)
                flt = Server([flt_runner, "--threads", str(t), "--serve", inp, out + ".float"], cpus) if flt_runner else None
                e_create.append(field(eng.head, "create_ms")), o_sess.append(field(ort.head, "session_ms"))
                for i in range(a.pairs):
                    # A B, then B A: neither side always runs right after the other (A B C, C B A
                    # with effc's float code as the third side of an int8 row).
                    turn = {}
                    order = ("e", "o", "f") if flt else ("e", "o")
                    for side in (order if i % 2 == 0 else order[::-1]):
                        srv = {"e": eng, "o": ort, "f": flt}[side]
                        turn[side] = [srv.run() for _ in range(a.block + 1)][1:]
                        srv.quiesce()
                    e_ms += turn["e"]
                    o_ms += turn["o"]
                    ratios.append(statistics.median(turn["e"]) / statistics.median(turn["o"]))
                    if flt:
                        f_ms += turn["f"]
                        f_ratios.append(statistics.median(turn["e"]) / statistics.median(turn["f"]))
                where = f"vCPU {min(cpus)}" if cpus else "any vCPU"
                by_round.append(f"{where} {statistics.median(ratios[-a.pairs:]):.2f}")
                eng.close(), ort.close()
                if flt:
                    flt.close()
            # Peak memory: the runner's max RSS, and ORT's growth over node with the module loaded.
            r = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", runner, "--threads", str(t), inp, out],
                               capture_output=True, text=True, check=True)
            e_rss = field(r.stderr, "maxrss_kb")
            r = sh(["node", os.path.join(ROOT, "tools", "ort_run.js"), "--model", model, "--threads", str(t),
                    "--repeat", "1", "--bench-only", "--rss", "--input", spec, "--output", oname])
            o_rss = field(r, "maxrss_kb") - field(r, "rss_base_kb")
            prof = sh([gen + "/build-prof/model_runner", "--profile", "--threads", str(t), "--repeat", "10", inp, out])
            classes = {m.group(1): float(m.group(2)) for m in re.finditer(r"profile (\S+)\s+([0-9.]+) ms", prof)}
            total = sum(classes.values())
            # Classes B0 lacks that take over 10% here ("!" in the profile, listed under it).
            new = [k for k, ms in classes.items() if k not in b0_classes and ms > NEW_CLASS_SHARE * total]
            # ONNX Runtime's own profiler, by the same kind of classes, for where the two differ.
            oprof = sh(["node", os.path.join(ROOT, "tools", "ort_run.js"), "--model", model, "--threads", str(t),
                        "--repeat", "10", "--bench-only", "--profile-ops", os.path.join(a.out, f"ort_profile_{v}_{t}"),
                        "--input", spec, "--output", oname])
            oclasses = {m.group(1): float(m.group(2)) for m in re.finditer(r"profile (\S+)\s+([0-9.]+) ms", oprof)}
            em, om = statistics.median(e_ms), statistics.median(o_ms)
            ratio = statistics.median(ratios)
            gflops = 2 * info["macs"] / (em * 1e6)
            row = {
                "model": v, "threads": t, "effc_median_ms": em, "effc_min_ms": min(e_ms), "ort_median_ms": om,
                "ort_min_ms": min(o_ms), "ratio": ratio, "ratio_by_round": ", ".join(by_round),
                "effc_create_ms": min(e_create), "ort_session_ms": min(o_sess),
                "effc_peak_rss_mb": e_rss / 1024, "ort_rss_increase_mb": o_rss / 1024,
                "runner_bytes": os.path.getsize(runner), "weights_bytes": os.path.getsize(os.path.join(gen, "model.weights")),
                "macs": info["macs"], "gflops": gflops, "peak_share": gflops / (peak * t),
                "profile": " ".join(f"{k}{'!' if k in new else ''} {ms:.2f} ({100 * ms / total:.0f}%)"
                                    for k, ms in classes.items()),
                "new_classes": " ".join(f"{k} ({100 * classes[k] / total:.0f}%)" for k in new),
                "ort_profile": " ".join(f"{k} {ms:.2f} ({100 * ms / sum(oclasses.values()):.0f}%)"
                                        for k, ms in sorted(oclasses.items(), key=lambda x: -x[1])),
            }
            if flt_runner:
                row["effc_float_median_ms"] = statistics.median(f_ms)
                row["int8_vs_float"] = statistics.median(f_ratios)
                row["float_weights_bytes"] = flt_weights
                row["gops"] = gflops
                row["int8_peak_share"] = gflops / (peak_int8 * t) if peak_int8 else None
            rows.append(row)
            print(f"{v} threads={t}: effc {em:.2f} ms, ORT {om:.2f} ms, ratio {ratio:.2f} (median of {len(ratios)} pairs of turns)",
                  flush=True)
    cpu = sh(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).strip()
    p512 = f"{peak_512:.1f}" if peak_512 is not None else "n/a (no AVX-512F)"
    md = [f"Machine: {cpu}, {os.cpu_count()} cores; FMA peak per core (tests/bench/fma_peak.c): 256-bit (AVX2) "
          f"{peak_256:.1f} GFLOP/s, 512-bit (AVX-512) {p512}. Share of peak is against {peak:.1f} GFLOP/s "
          f"per thread, the {'512' if peak_isa == 'avx512' else '256'}-bit FMA, the widest the runtime uses here"
          f"{' (built with EFFC_RT_NO_AVX512)' if a.no_avx512 else ''}.", "",
          "| model | threads | effc median (min) ms | ORT median (min) ms | effc/ORT | create ms effc / ORT | "
          "peak RSS MB effc / ORT increase | runner + weights MB | GFLOP/s (share of peak) |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['model']} | {r['threads']} | {r['effc_median_ms']:.2f} ({r['effc_min_ms']:.2f}) | "
                  f"{r['ort_median_ms']:.2f} ({r['ort_min_ms']:.2f}) | {r['ratio']:.2f} | "
                  f"{r['effc_create_ms']:.1f} / {r['ort_session_ms']:.1f} | {r['effc_peak_rss_mb']:.1f} / "
                  f"{r['ort_rss_increase_mb']:.1f} | {r['runner_bytes'] / 2**20:.1f} (weights {r['weights_bytes'] / 2**20:.1f}) | "
                  f"{r['gflops']:.1f} ({100 * r['peak_share']:.0f}%) |")
    q8 = [r for r in rows if "int8_vs_float" in r]
    if q8:
        pk = f"{peak_int8:.0f} GOP/s per thread (vpdpbusd, 512-bit)" if peak_int8 else "n/a (no AVX-512 VNNI)"
        md += ["", f"Int8 (the float model quantized by effc quantize --ort-default; int8 peak {pk}): effc's int8 code, "
               "effc's float code for the float model and ONNX Runtime on the quantized file, in the same turns.", "",
               "| model | threads | effc int8 ms | effc float ms | ORT (int8 file) ms | int8 / float | int8 / ORT | "
               "create ms int8 / ORT | weights MB int8 / float | GOP/s (share of int8 peak) |",
               "|---|---|---|---|---|---|---|---|---|---|"]
        for r in q8:
            share = f"{100 * r['int8_peak_share']:.0f}%" if r["int8_peak_share"] else "n/a"
            md.append(f"| {r['model']} | {r['threads']} | {r['effc_median_ms']:.2f} | {r['effc_float_median_ms']:.2f} | "
                      f"{r['ort_median_ms']:.2f} | {r['int8_vs_float']:.2f} | {r['ratio']:.2f} | "
                      f"{r['effc_create_ms']:.1f} / {r['ort_session_ms']:.1f} | {r['weights_bytes'] / 2**20:.2f} / "
                      f"{r['float_weights_bytes'] / 2**20:.2f} | {r['gops']:.0f} ({share}) |")
    md += ["", "effc/ORT by round (new processes each round; at 1 thread both pinned to the round's vCPU):", ""]
    for r in rows:
        md.append(f"- {r['model']}, {r['threads']} thread(s): {r['ratio_by_round']}")
    md += ["", "Per-op-class profile (ms per inference) of the generated code (profiling build; Swish is inside",
           "the ops it follows) and of ONNX Runtime (its own profiler; swish = QuickGelu, reorder = NCHWc",
           "layout changes, se = pooling, the SE's 1x1 convs and its Mul):", ""]
    for r in rows:
        md.append(f"- {r['model']}, {r['threads']} thread(s): effc: {r['profile']}; ORT: {r['ort_profile']}")
    flagged = [r for r in rows if r["new_classes"]]
    md += ["", f"! = an op class of the generated code over {100 * NEW_CLASS_SHARE:.0f}% of the model's time that B0's "
           f"generated code does not have ({', '.join(sorted(b0_classes))}): "
           + ("; ".join(f"{r['model']} at {r['threads']} thread(s): {r['new_classes']}" for r in flagged)
              if flagged else "none in this run") + "."]
    text = "\n".join(md) + "\n"
    open(os.path.join(a.out, "bench.md"), "w").write(text)
    with open(os.path.join(a.out, "bench.csv"), "w", newline="") as f:
        keys = list(dict.fromkeys(k for r in rows for k in r))
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
