#!/usr/bin/env bash
# check_memory_report.sh EFFC RUNNER HEADER WEIGHTS RUNTIME_EXPORTS WORK: the memory figures an
# app developer budgets. The sample's runner --memory prints its header's arena, its weight
# file's size and a context size above the arena that does not shrink with a second thread;
# effc difftest reports read-only bytes = weights + code (the archives' text+rodata, the
# runtime's included) and the runner's context bytes; inspect --json and the compile summary
# give the same weight file size.
set -uo pipefail
effc=$1 runner=$2 header=$3 weights=$4 exports=$5 work=$6
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0
check() { if eval "$2"; then echo "ok $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi; }
field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$2" | head -n 1; }
define() { sed -n "s/^#define [A-Z_]*_$1 \([0-9]*\).*/\1/p" "$header" | head -n 1; }

head -c $(($(define INPUT0_SIZE) * 4)) /dev/zero >"$work/in.f32"
for t in 1 2; do
  "$runner" --memory --threads $t "$work/in.f32" "$work/out.f32" >"$work/mem$t.out" 2>&1
  echo $? >"$work/mem$t.rc"
done
cat "$work/mem1.out" "$work/mem2.out"
a1=$(field arena_bytes "$work/mem1.out") c1=$(field context_bytes "$work/mem1.out")
w1=$(field weights_bytes "$work/mem1.out") c2=$(field context_bytes "$work/mem2.out")
check "runner --memory runs and prints three figures" \
  "[[ \$(cat '$work/mem1.rc') -eq 0 && \$(cat '$work/mem2.rc') -eq 0 && -n '$a1' && -n '$c1' && -n '$w1' && -n '$c2' ]]"
check "arena_bytes is the header's ARENA_BYTES" "[[ '$a1' == '$(define ARENA_BYTES)' ]]"
check "weights_bytes is the size of NAME.weights" "[[ '$w1' == '$(stat -c %s "$weights")' ]]"
check "context_bytes exceeds the arena" "(( ${c1:-0} > ${a1:-0} ))"
check "a second thread does not shrink context_bytes" "(( ${c2:-0} >= ${c1:-0} ))"

"$effc" gen --phi 0 --width 0.125 --depth 0.5 --resolution 64 --classes 10 -o "$work/m.onnx" >/dev/null
"$effc" difftest "$work/m.onnx" --seeds 1 --prebuilt-runtime "$exports" --ref-cache "$work/cache" \
  --work "$work/dt" --keep >"$work/dt.out" 2>&1
echo $? >"$work/dt.rc"
cat "$work/dt.out"
line=$(grep '^memory: read-only' "$work/dt.out")
ro=$(sed -n 's/^memory: read-only \([0-9]*\) bytes = weights \([0-9]*\) + code \([0-9]*\).*/\1 \2 \3/p' <<<"$line")
read -r r w c <<<"${ro:-0 0 0}"
check "difftest passes and reports read-only bytes" "[[ \$(cat '$work/dt.rc') -eq 0 && -n '$ro' ]]"
check "read-only = weights + code, code measured" "(( r == w + c && c > 0 ))"
check "the weights are the model's NAME.weights" "[[ '$w' == '$(stat -c %s "$work/dt/gen/model.weights" 2>/dev/null)' ]]"
check "the runtime's archive is counted" "grep -q '^memory: read-only.*libmodel.a and the runtime' '$work/dt.out'"
check "difftest reports the context bytes above the arena" \
  "grep -Eq '^memory: per context at threads=1: context_bytes=[0-9]+ \(arena [0-9]+' '$work/dt.out' &&
   (( \$(sed -n 's/.*context_bytes=\([0-9]*\) (arena \([0-9]*\).*/\1 - \2/p' '$work/dt.out') > 0 ))"
inspect_w=$("$effc" inspect --json "$work/m.onnx" | sed -n 's/.*"weights_file_bytes": \([0-9]*\).*/\1/p')
check "inspect --json's weights_file_bytes is the emitted NAME.weights' size" "[[ -n '$inspect_w' && '$inspect_w' == '$w' ]]"
"$effc" compile "$work/m.onnx" -o "$work/c" >"$work/compile.out" 2>&1
check "the compile summary gives the read-only weights and the arena per context" \
  "grep -q '^  read-only: m.weights $w bytes + code' '$work/compile.out' && grep -q '^  per context: arena [0-9]* bytes' '$work/compile.out'"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
