#!/usr/bin/env bash
# run_sanitized.sh build SOURCE_DIR WORK
# run_sanitized.sh run SOURCE_DIR WORK MODEL.onnx
# The compiler and generated code under AddressSanitizer + UndefinedBehaviorSanitizer.
# build: configures and builds a separate sanitizer tree (Debug; our kernel files once, at -O1,
#   shared by the compiler and the runtime; see the top-level CMakeLists) and reports how long
#   that took.
# run: runs the unit tests and the bad-input suite in that tree, compiles MODEL (an
#   EfficientNet-B0 export) with the sanitized effc at -O1 and -O0, builds that generated code
#   with the sanitizers too, linked against the tree's sanitized runtime, and runs it.
# Any sanitizer report fails the test (halt_on_error, and stderr is scanned).
set -uo pipefail
mode=$1 src=$2 work=$3
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
pass=0 fail=0
check() {
  local name=$1
  shift
  local log="$work/$name.log"
  if "$@" >"$log" 2>&1 && ! grep -qE "runtime error:|ERROR: (Address|Leak)Sanitizer" "$log"; then
    echo "ok $name"; pass=$((pass + 1))
  else
    echo "FAIL $name"; tail -25 "$log"; fail=$((fail + 1))
  fi
}
tests=(test_runtime test_passes test_fusion test_gemm test_mbconv test_generated_api test_image test_quantize test_int8)
mkdir -p "$work"
case $mode in
build)
  start=$SECONDS
  check configure cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Debug -DEFFC_SANITIZE=ON
  check build cmake --build "$work/build" -j2 --target effc effc_rt "${tests[@]}" test_weights_image tiny_file_runner
  echo "sanitizer tree built in $((SECONDS - start)) s"
  ;;
run)
  model=$4
  for t in "${tests[@]}"; do
    check "$t" "$work/build/tests/$t"
  done
  # Weights loaded at run time (blobs truncated, misaligned, corrupted, of another model) and
  # camera frames, on the models the tree's sanitized effc emitted.
  tiny=$work/build/gen_weights_image
  check test_weights_image "$work/build/tests/test_weights_image" "$tiny/tiny_file/tiny_file.weights" \
    "$tiny/tiny_seed8/tiny_seed8.weights" "$tiny/tiny_c5/tiny_c5.weights" "$src/generated/efficientnet_tiny/efficientnet_tiny.weights"
  check runner_weights_file bash "$src/tests/cli/check_runner_weights.sh" "$work/build/tests/tiny_file_runner" \
    "$tiny/tiny_file/tiny_file.weights" "$tiny/tiny_c5/tiny_c5.weights" "$work/runner_weights"
  check cli_bad_input bash "$src/tests/cli/test_bad_input.sh" "$work/build/effc" "$work/cli"
  check compile_b0 "$work/build/effc" compile "$model" -o "$work/b0" --name b0
  check compile_b0_O0 "$work/build/effc" compile "$model" -O0 -o "$work/b0_O0" --name b0
  check inspect_b0 "$work/build/effc" inspect "$model" --json
  check gen_b0 "$work/build/effc" gen --variant b0 -o "$work/gen_b0.onnx"
  # effc quantize: calibration, every method, sensitivity, --target-sqnr and a refusal.
  check gen_tiny "$work/build/effc" gen --phi 0 --width 0.25 --depth 0.5 --resolution 64 --classes 10 -o "$work/tiny.onnx"
  for m in minmax percentile mse; do
    check quantize_tiny_$m "$work/build/effc" quantize "$work/tiny.onnx" -o "$work/tiny_$m.onnx" --calib-random 2 \
      --eval-random 1 --method $m --target-sqnr 20
  done
  check quantize_refuses_short_file bash -c "printf abc > '$work/short.f32'; ! '$work/build/effc' quantize '$work/tiny.onnx' \
    -o '$work/bad.onnx' --calib '$work/short.f32' && test ! -e '$work/bad.onnx'"
  flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g"
  check build_generated cmake -S "$work/b0" -B "$work/b0/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS=$flags" \
    -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined \
    "-DCMAKE_PROJECT_INCLUDE=$work/build/runtime-exports/effc_rt-default.cmake"
  check build_generated_make cmake --build "$work/b0/build" -j2
  # The generated build must have taken the sanitized runtime, not compiled one of its own.
  check generated_links_sanitized_runtime bash -c "! test -e '$work/b0/build/libeffc_rt.a'"
  head -c $((3 * 224 * 224 * 4)) /dev/zero > "$work/in.f32"
  check run_generated_1thread "$work/b0/build/b0_runner" --repeat 2 "$work/in.f32" "$work/out.f32"
  check run_generated_2threads "$work/b0/build/b0_runner" --threads 2 --repeat 2 "$work/in.f32" "$work/out.f32"
  ;;
*)
  echo "usage: run_sanitized.sh build|run SOURCE_DIR WORK [MODEL.onnx]" >&2
  exit 2
  ;;
esac
echo "$pass passed, $fail failed"
# A pass keeps no build outputs but the tree: the suite has to fit a small CI disk.
[[ $fail -eq 0 ]] && rm -rf "$work/b0" "$work/b0_O0" "$work/gen_b0.onnx"
[[ $fail -eq 0 ]]
