#!/usr/bin/env bash
# run_valgrind.sh EFFC SOURCE_DIR WORK [RUNTIME.cmake]: valgrind memcheck over the compiler
# (generating and compiling a small EfficientNet) and over the generated code's
# create/run/destroy at 1 and 2 threads. Any error or definitely-lost block fails the test.
# RUNTIME.cmake (a build tree's runtime-exports/effc_rt-default.cmake) links that runtime
# instead of compiling the generated directory's own copy.
set -uo pipefail
effc=$1 src=$2 work=$3 rt=${4:-}
rm -rf "$work" && mkdir -p "$work"
pass=0 fail=0
vg() {
  local name=$1
  shift
  if valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite "$@" >"$work/$name.log" 2>&1; then
    echo "ok $name"; pass=$((pass + 1))
  else
    echo "FAIL $name"; tail -n 30 "$work/$name.log"; fail=$((fail + 1))
  fi
}
vg gen "$effc" gen --phi 0 --width 0.25 --depth 0.5 --resolution 96 -o "$work/m.onnx"
vg compile "$effc" compile "$work/m.onnx" -o "$work/m" --name m
if cmake -S "$work/m" -B "$work/m/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${rt:+"-DCMAKE_PROJECT_INCLUDE=$rt"} \
     >"$work/build.log" 2>&1 && cmake --build "$work/m/build" -j2 >>"$work/build.log" 2>&1; then
  echo "ok build"; pass=$((pass + 1))
else
  echo "FAIL build"; tail -n 30 "$work/build.log"; fail=$((fail + 1))
fi
head -c $((3 * 96 * 96 * 4)) /dev/zero > "$work/in.f32"
vg run_1thread "$work/m/build/m_runner" --repeat 2 "$work/in.f32" "$work/out.f32"
vg run_2threads "$work/m/build/m_runner" --threads 2 --repeat 2 "$work/in.f32" "$work/out.f32"
echo "$pass passed, $fail failed"
# A pass keeps no build outputs: the suite has to fit a small CI disk.
[[ $fail -eq 0 ]] && rm -rf "$work/m" "$work/m.onnx"
[[ $fail -eq 0 ]]
