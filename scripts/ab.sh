#!/usr/bin/env bash
# A/B of two effc builds of one model in one process: the way to measure a compiler or runtime
# change on a noisy machine (alternating whole processes does not cancel bursts of host load).
# Usage: scripts/ab.sh MODEL.onnx [--a "EFFC OPTIONS"] [--b "EFFC OPTIONS"] [--a-runtime GIT_REV]
#                      [--threads 1,2] [--pairs 200]
#   --a-runtime REV  build A with the runtime sources of git revision REV (B: the working tree's)
#   AB_PAIRS=FILE    also write every pair's two times (A B, in run order) to FILE
#   AB_CFLAGS=FLAGS  extra compiler flags for both sides' runtimes (e.g. -DEFFC_RT_NO_AVX512)
#   AB_HOOK=SCRIPT   run SCRIPT WORKDIR once both sides are emitted (an experiment edits WORKDIR/b)
# Both sides are compiled by build/effc (names ma and mb); each side's runtime symbols are made
# local, so the two runtimes may differ. Identical sides measure 1.00 +- 0.01 on the CI machine at
# 1 thread, 1.00 +- 0.02 at 2 (whose runs there are bimodal: at times one vCPU does all the work).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:?usage: scripts/ab.sh MODEL.onnx [--a OPTS] [--b OPTS] [--a-runtime REV] [--threads 1,2] [--pairs N]}
shift
opts_a="" opts_b="" rev="" threads=1,2 pairs=200
while (($#)); do
  case $1 in
    --a) opts_a=$2; shift 2 ;;
    --b) opts_b=$2; shift 2 ;;
    --a-runtime) rev=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    *) echo "ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
work=$root/build/ab
rm -rf "$work" && mkdir -p "$work"
# effc embeds the runtime sources it emits: rebuild it, or side B would run the runtime of
# effc's last build instead of the working tree's.
cmake --build "$root/build" --target effc -j2 >/dev/null
# shellcheck disable=SC2086
"$root/build/effc" compile "$model" -o "$work/a" --name ma $opts_a >/dev/null
# shellcheck disable=SC2086
"$root/build/effc" compile "$model" -o "$work/b" --name mb $opts_b >/dev/null
[[ -n ${AB_HOOK:-} ]] && bash "$AB_HOOK" "$work"
if [[ -n $rev ]]; then
  for f in "$work"/a/runtime/*; do
    name=$(basename "$f")
    git -C "$root" show "$rev:runtime/$name" >"$work/a/runtime/$name.rev" && mv "$work/a/runtime/$name.rev" "$f"
  done
  # Runtimes before effc_rt_bind_input (the generated code binds its input to the transpose
  # that reads it): the same thing, added to side A, since every such op kept its input in in[0].
  if ! grep -q effc_rt_bind_input "$work/a/runtime/effc_rt.h"; then
    echo 'int effc_rt_bind_input(struct effc_rt_op *op, const float *in);' >>"$work/a/runtime/effc_rt.h"
    printf '%s\n' 'int effc_rt_bind_input(struct effc_rt_op *op, const float *in)' '{' \
      '	return op && in ? (op->in[0] = in, 0) : 1;' '}' >>"$work/a/runtime/effc_rt.c"
  fi
fi
side() { # DIR NAME: one relocatable object whose only global symbols are NAME_*
  local d=$1 n=$2 r=$1/runtime o=$work/$2
  local fast=(-O3 -fno-trapping-math ${AB_CFLAGS:-}) upper
  upper=$(tr '[:lower:]' '[:upper:]' <<<"$n")
  gcc -O2 ${AB_CFLAGS:-} -c -I"$r" "$r/effc_rt.c" -o "$o.rt.o"
  gcc -O2 ${AB_CFLAGS:-} -c -I"$r" "$r/effc_rt_gemm.c" -o "$o.gemm.o"
  # target_clones' resolvers do not survive localising: build the kernels for this CPU.
  gcc "${fast[@]}" -march=native -DEFFC_RT_NO_CLONES -c -I"$r" "$r/effc_rt_kernels.c" -o "$o.kern.o"
  gcc "${fast[@]}" -c -I"$r" "$r/effc_rt_mbconv.c" -o "$o.mb.o"
  # The rest (image, int8, ...): whatever this revision's runtime has.
  local extra=() f
  for f in "$r"/*.c; do
    case $(basename "$f") in effc_rt.c | effc_rt_gemm.c | effc_rt_kernels.c | effc_rt_mbconv.c) continue ;; esac
    gcc -O2 -march=native -DEFFC_RT_NO_CLONES ${AB_CFLAGS:-} -c -I"$r" "$f" -o "$o.$(basename "$f" .c).o"
    extra+=("$o.$(basename "$f" .c).o")
  done
  gcc -O2 -c -I"$r" -I"$d" "$d/$n.c" -o "$o.model.o"
  gcc -O2 -c -I"$r" -I"$d" "-D${upper}_WEIGHTS_FILE=\"$d/$n.weights\"" "$d/${n}_weights.c" -o "$o.w.o"
  ld -r -o "$o.all.o" "$o.rt.o" "$o.gemm.o" "$o.kern.o" "$o.mb.o" "${extra[@]}" "$o.model.o" "$o.w.o"
  local keep=()
  while read -r sym; do keep+=("--keep-global-symbol=$sym"); done < <(nm -g --defined-only "$o.all.o" | awk '{print $3}' | grep "^${n}_")
  objcopy "${keep[@]}" "$o.all.o"
}
side "$work/a" ma
side "$work/b" mb
gcc -O2 -I"$work/a" -I"$work/b" "$root/tests/bench/ab.c" "$work/ma.all.o" "$work/mb.all.o" -lXNNPACK -lpthreadpool -lm \
  -o "$work/ab"
IFS=, read -ra ts <<<"$threads"
for t in "${ts[@]}"; do "$work/ab" "$t" "$pairs"; done
