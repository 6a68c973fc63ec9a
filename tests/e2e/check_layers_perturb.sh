#!/usr/bin/env bash
# check_layers_perturb.sh EFFC PYTHON MODEL WORK [DIFFTEST-ARGS...]: plant a wrong weight in one
# block (only in effc's copy, with --perturb-initializer) and check that difftest --layers fails
# and names that block's first node as the first divergence.
set -uo pipefail
effc=$1 py=$2 model=$3 work=$4
shift 4
read -r weight node < <("$py" - "$model" <<'PY'
import sys, onnx
m = onnx.load(sys.argv[1])
for n in m.graph.node:
    if n.op_type == "Conv" and "features.4" in n.name:
        print(n.input[1], n.name)
        break
PY
)
[[ -n ${weight:-} ]] || { echo "FAIL: no Conv in block features.4"; echo "0 passed, 1 failed"; exit 1; }
out=$("$effc" difftest "$model" --seeds 1 --layers --perturb-initializer "$weight" --work "$work" "$@" 2>&1)
rc=$?
echo "$out" | grep -E "first divergence|difftest " || true
pass=0 fail=0
check() { if eval "$2"; then echo "ok $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }
check "difftest exits 1" "[[ $rc -eq 1 ]]"
check "first divergence names node '$node'" "grep -qF \"first divergence at node '$node'\" <<<\"\$out\""
echo "$pass passed, $fail failed"
# A pass keeps no build outputs: the suite has to fit a small CI disk.
[[ $fail -eq 0 ]] && rm -rf "$work"
[[ $fail -eq 0 ]]
