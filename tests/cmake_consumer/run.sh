#!/usr/bin/env bash
# run.sh BUILD_DIR WORK MODEL: installs effc from BUILD_DIR into WORK/prefix, builds the
# consumer project (find_package + effc_add_model + add_executable + target_link_libraries)
# against it and runs it (status 0, finite logits), then touches the model and checks that the
# next build recompiles it.
set -uo pipefail
build=$1 work=$2 model=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0
check() { local n=$1; shift; if "$@" >"$work/$n.log" 2>&1; then echo "ok $n"; pass=$((pass + 1)); else echo "FAIL $n"; tail -n 20 "$work/$n.log"; fail=$((fail + 1)); fi; }
check install cmake --install "$build" --prefix "$work/prefix"
check effc_installed test -x "$work/prefix/bin/effc"
check configure cmake -S "$here" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" -DMODEL="$model"
check build cmake --build "$work/consumer" -j2
check run "$work/consumer/classify"
grep -q "status=0 class=" "$work/run.log" && cat "$work/run.log"
touch "$model"
check rebuild_after_model_change cmake --build "$work/consumer" -j2
check recompiled grep -q "effc: compiling" "$work/rebuild_after_model_change.log"
echo "$pass passed, $fail failed"
# A pass keeps no build outputs: the suite has to fit a small CI disk.
[[ $fail -eq 0 ]] && rm -rf "$work/consumer" "$work/prefix"
[[ $fail -eq 0 ]]
