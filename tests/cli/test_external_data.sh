#!/usr/bin/env bash
# test_external_data.sh EFFC WORKDIR [PREBUILT_RUNTIME_DIR]
#
# Models whose initializers live in ONNX external data files. Valid ones (one file, a file in a
# subdirectory, a symlink that stays in the model's directory, the data of several tensors in
# one file) must compile. Each malformed one must be refused: exit 1, stderr names the model
# file, the initializer and the problem, and no -o directory (or *.effc-tmp-* sibling) is left.
# With PREBUILT_RUNTIME_DIR (runtime-exports/ of the build tree), also `effc difftest` end to
# end on an external-data model, --layers on it, and --ref-cache keyed on the data file's bytes:
# the weights are rewritten in place with the same size and mtime, and a key that missed them
# would serve the old model's reference outputs and fail the second difftest.
#
# The models are generated at test time with /usr/bin/python3 + onnx (EFFC_PYTHON overrides).
# Prints "ok NAME" or "FAIL NAME: detail" per case and ends with "N passed, M failed".
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 EFFC WORKDIR [PREBUILT_RUNTIME_DIR]" >&2
	exit 2
fi
EFFC=$1
WORK=$2
RT=${3:-}
PY=${EFFC_PYTHON:-/usr/bin/python3}
TIMEOUT=${EFFC_TEST_TIMEOUT:-60}

case $EFFC in /*) ;; *) EFFC=$PWD/$EFFC ;; esac
if [ ! -x "$EFFC" ]; then
	echo "FAIL setup: $EFFC is not an executable"
	echo "0 passed, 1 failed"
	exit 1
fi
case $(cd "$WORK" 2>/dev/null && pwd -P) in
/ | "$HOME" | "$(pwd -P)")
	echo "FAIL setup: refusing to wipe WORKDIR '$WORK'"
	echo "0 passed, 1 failed"
	exit 1
	;;
esac
rm -rf "$WORK"
mkdir -p "$WORK/models" "$WORK/outside" "$WORK/out" "$WORK/logs" || exit 1
WORK=$(cd "$WORK" && pwd -P)
M=$WORK/models
O=$WORK/out
L=$WORK/logs

PASS=0
FAILN=0
CUR=""
CUR_ERR=""
ok() { echo "ok $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL $1: $2"; FAILN=$((FAILN + 1)); }

# ---- models ----------------------------------------------------------------------------------
# One Conv whose weight W (4x3x3x3 float32, 432 bytes) is the external tensor; each case edits
# its external_data entries or the files. Case names are the file names.

if ! "$PY" - "$M" "$WORK/outside" >"$L/gen.log" 2>&1 <<'PYEOF'
import os, sys
import numpy as np
import onnx
from onnx import helper as h, TensorProto as TP, numpy_helper as nh

out, outside = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
b = rng.standard_normal(4).astype(np.float32)

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)

# Data files: w alone, w after 100 bytes of padding, b then w (two tensors, one file).
write(os.path.join(out, "w.bin"), w.tobytes())
write(os.path.join(out, "padded.bin"), b"\xab" * 100 + w.tobytes())
write(os.path.join(out, "bw.bin"), b.tobytes() + w.tobytes())
write(os.path.join(out, "short.bin"), w.tobytes()[:400])
os.makedirs(os.path.join(out, "sub"), exist_ok=True)
write(os.path.join(out, "sub", "w.bin"), w.tobytes())
write(os.path.join(outside, "w.bin"), w.tobytes())
os.symlink("sub/w.bin", os.path.join(out, "inside_link.bin"))
os.symlink(os.path.join(outside, "w.bin"), os.path.join(out, "escape_link.bin"))
os.symlink("../outside", os.path.join(out, "escape_dir"))
os.mkfifo(os.path.join(out, "pipe.bin"))  # opening it for reading must not wait for a writer

def ext(name, entries, dtype=TP.FLOAT, dims=(4, 3, 3, 3)):
    t = TP()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.data_location = TP.EXTERNAL
    for k, v in entries:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t

def save(fname, inits, with_bias=False):
    ins = ["X", "W"] + (["B"] if with_bias else [])
    g = h.make_graph([h.make_node("Conv", ins, ["Y"], name="conv0", kernel_shape=[3, 3])], "g",
                     [h.make_tensor_value_info("X", TP.FLOAT, [1, 3, 8, 8])],
                     [h.make_tensor_value_info("Y", TP.FLOAT, [1, 4, 6, 6])], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="test_external_data")
    m.ir_version = 8
    write(os.path.join(out, fname), m.SerializeToString())

def w_at(loc, offset="0", length="432", **kw):
    e = [("location", loc)]
    if offset is not None:
        e.append(("offset", offset))
    if length is not None:
        e.append(("length", length))
    return ext("W", e, **kw)

# Valid.
save("good.onnx", [w_at("w.bin")])
save("good_no_offset_length.onnx", [w_at("w.bin", None, None)])
save("good_offset.onnx", [w_at("padded.bin", "100", "432", )])
save("good_subdir.onnx", [w_at("sub/w.bin")])
save("good_inside_symlink.onnx", [w_at("inside_link.bin")])
save("good_checksum.onnx", [ext("W", [("location", "w.bin"), ("length", "432"), ("checksum", "ignored")])])
save("good_two_tensors_one_file.onnx",
     [ext("B", [("location", "bw.bin"), ("offset", "0"), ("length", "16")], dims=(4,)),
      w_at("bw.bin", "16", "432")], with_bias=True)
save("good_mixed_inline.onnx", [w_at("w.bin"), nh.from_array(b, "B")], with_bias=True)
# Malformed: (file, initializer) -> refused.
save("absolute.onnx", [w_at(os.path.join(out, "w.bin"))])
save("dotdot.onnx", [w_at("../outside/w.bin")])
save("dotdot_inner.onnx", [w_at("sub/../w.bin")])
save("symlink_escape.onnx", [w_at("escape_link.bin")])
save("symlink_dir_escape.onnx", [w_at("escape_dir/w.bin")])
save("missing_file.onnx", [w_at("nope.bin")])
save("directory.onnx", [w_at("sub", "0", None)])
save("fifo.onnx", [w_at("pipe.bin", "0", None)])
save("empty_location.onnx", [w_at("")])
save("no_location.onnx", [ext("W", [("offset", "0"), ("length", "432")])])
save("twice_location.onnx", [ext("W", [("location", "w.bin"), ("location", "bw.bin")])])
save("range_past_end.onnx", [w_at("short.bin", "0", "432")])
save("offset_past_end.onnx", [w_at("w.bin", "1000", "432")])
save("offset_wraps.onnx", [w_at("w.bin", "16", str(2**64 - 8))])
save("offset_huge.onnx", [w_at("w.bin", str(2**64 - 1), "432")])
save("offset_too_big.onnx", [w_at("w.bin", str(2**64), "432")])
save("offset_negative.onnx", [w_at("w.bin", "-4", "432")])
save("length_not_number.onnx", [w_at("w.bin", "0", "4x")])
save("length_disagrees.onnx", [w_at("w.bin", "0", "428")])
save("rest_disagrees.onnx", [w_at("padded.bin", "96", None)])
save("float16.onnx", [w_at("w.bin", "0", "216", dtype=TP.FLOAT16)])
t = w_at("w.bin")
t.raw_data = w.tobytes()
save("inline_and_external.onnx", [t])
# A Constant node's value in external data (the bias, first 16 bytes of bw.bin).
bconst = ext("B", [("location", "bw.bin"), ("offset", "0"), ("length", "16")], dims=(4,))
cnode = h.make_node("Constant", [], ["B"], name="bias_const", value=bconst)
g = h.make_graph([cnode, h.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv0", kernel_shape=[3, 3])], "g",
                 [h.make_tensor_value_info("X", TP.FLOAT, [1, 3, 8, 8])],
                 [h.make_tensor_value_info("Y", TP.FLOAT, [1, 4, 6, 6])], [w_at("w.bin")])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="test_external_data")
m.ir_version = 8
write(os.path.join(out, "good_constant.onnx"), m.SerializeToString())
# 2 MiB of external weights, for --max-weights-mb 1.
write(os.path.join(out, "big.bin"), np.zeros(1 << 19, np.float32).tobytes())
g = h.make_graph([h.make_node("Add", ["X", "W"], ["Y"], name="add0")], "g",
                 [h.make_tensor_value_info("X", TP.FLOAT, [1, 1 << 19])],
                 [h.make_tensor_value_info("Y", TP.FLOAT, [1, 1 << 19])],
                 [ext("W", [("location", "big.bin")], dims=(1, 1 << 19))])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="test_external_data")
m.ir_version = 8
write(os.path.join(out, "over_cap.onnx"), m.SerializeToString())
# For difftest: a 2-D output (difftest --layers cannot yet name the layout conversion of a 4-D
# graph output), the same external W and the Constant bias above.
g = h.make_graph([cnode, h.make_node("Conv", ["X", "W", "B"], ["C"], name="conv0", kernel_shape=[3, 3]),
                  h.make_node("Relu", ["C"], ["R"], name="relu0"),
                  h.make_node("GlobalAveragePool", ["R"], ["P"], name="pool0"),
                  h.make_node("Flatten", ["P"], ["Y"], name="flat0")], "g",
                 [h.make_tensor_value_info("X", TP.FLOAT, [1, 3, 8, 8])],
                 [h.make_tensor_value_info("Y", TP.FLOAT, [1, 4])], [w_at("w.bin")])
m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="test_external_data")
m.ir_version = 8
write(os.path.join(out, "pooled.onnx"), m.SerializeToString())
PYEOF
then
	echo "FAIL setup: model generation failed: $(tail -n 5 "$L/gen.log" | tr '\n' '|')"
	echo "0 passed, 1 failed"
	exit 1
fi

# ---- helpers (as in test_bad_input.sh) -------------------------------------------------------

run_effc() {
	local base=$1
	shift
	STDERR_FILE=$L/$base.err
	timeout -s KILL "$TIMEOUT" "$EFFC" "$@" >"$L/$base.out" 2>"$STDERR_FILE"
	RC=$?
}
note() { [ -z "$CUR_ERR" ] && CUR_ERR=$1; }
check_exit() {
	local want=$1
	if [ "$RC" -ge 128 ]; then
		note "killed by signal $((RC - 128)) (exit $RC)"
		return
	fi
	grep -qE 'Sanitizer|runtime error:' "$STDERR_FILE" && note "sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$STDERR_FILE")"
	[ "$RC" -eq "$want" ] || note "exit $RC, expected $want"
	[ "$want" -eq 0 ] || grep -q '^effc: ' "$STDERR_FILE" || note "stderr has no 'effc: ' line"
}
check_frags() {
	local f
	for f in "$@"; do
		grep -qF -- "$f" "$STDERR_FILE" || note "stderr lacks \"$f\""
	done
}
check_no_output() {
	local dir=$1 left
	[ -e "$dir" ] && note "$dir exists after a failing compile"
	left=$(ls -d "$dir".effc-tmp-* "$dir".effc-old-* 2>/dev/null | head -3 | tr '\n' ' ')
	[ -n "$left" ] && note "left behind: $left"
	return 0
}
finish() {
	if [ -z "$CUR_ERR" ]; then ok "$CUR"; else bad "$CUR" "$CUR_ERR; stderr: $(head -c 400 "$STDERR_FILE" | tr '\n' '|')"; fi
}

# good_case NAME: compiles, and the weights blob holds the external bytes.
good_case() {
	CUR=$1 CUR_ERR=""
	local dir=$O/$1
	run_effc "$1" compile "$M/$1.onnx" -o "$dir" --name m
	check_exit 0
	[ -s "$dir/m.c" ] && [ -f "$dir/m.weights" ] || note "no complete output in $dir"
	finish
}

# bad_case NAME FRAGMENT...: compile and inspect fail with exit 1, naming the model file, the
# initializer 'W' and every fragment; no output directory is left.
bad_case() {
	CUR=$1 CUR_ERR=""
	local model=$M/$1.onnx dir=$O/$1
	shift
	run_effc "$CUR.compile" compile "$model" -o "$dir"
	check_exit 1
	check_frags "effc: $model" "initializer 'W'" "$@"
	check_no_output "$dir"
	if [ -z "$CUR_ERR" ]; then
		run_effc "$CUR.inspect" inspect "$model"
		check_exit 1
		check_frags "effc: $model" "initializer 'W'" "$@"
		[ -n "$CUR_ERR" ] && CUR_ERR="inspect: $CUR_ERR"
	fi
	finish
}

# ---- cases -----------------------------------------------------------------------------------

for c in good good_no_offset_length good_offset good_subdir good_inside_symlink good_checksum \
	good_two_tensors_one_file good_mixed_inline good_constant; do
	good_case "$c"
done
# The weights blob is the tensor's bytes, so the external data must have reached it.
CUR=weights_match_inline CUR_ERR=""
"$PY" - "$M/good.onnx" "$M/inline.onnx" >"$L/inline.log" 2>&1 <<'PYEOF' || note "cannot write the inline copy: $(tail -n 2 "$L/inline.log")"
import sys, onnx
m = onnx.load(sys.argv[1])  # onnx reads the external data back in
onnx.save(m, sys.argv[2])
PYEOF
run_effc inline compile "$M/inline.onnx" -o "$O/inline" --name m
check_exit 0
cmp -s "$O/inline/m.weights" "$O/good/m.weights" || note "m.weights differs between the external and the inline model"
cmp -s "$O/inline/m.weights" "$O/good_offset/m.weights" || note "m.weights differs for the model at offset 100"
finish

bad_case absolute "'$M/w.bin'" "absolute path"
bad_case dotdot "'../outside/w.bin'" "'..'"
bad_case dotdot_inner "'sub/../w.bin'" "'..'"
bad_case symlink_escape "'escape_link.bin'" "outside the model's directory"
bad_case symlink_dir_escape "'escape_dir/w.bin'" "outside the model's directory"
bad_case missing_file "'nope.bin'" "No such file"
bad_case directory "'sub'" "not a regular file"
bad_case fifo "'pipe.bin'" "not a regular file"
bad_case empty_location "location ''" "empty"
bad_case no_location "no 'location'"
bad_case twice_location "'location'" "twice"
bad_case range_past_end "offset 0 + length 432" "'short.bin' (400 bytes)"
bad_case offset_past_end "offset 1000" "'w.bin' (432 bytes)"
bad_case offset_wraps "offset 16 + length 18446744073709551608" "past the end"
bad_case offset_huge "offset 18446744073709551615" "past the end"
bad_case offset_too_big "offset '18446744073709551616'" "not a byte count"
bad_case offset_negative "offset '-4'" "not a byte count"
bad_case length_not_number "length '4x'" "not a byte count"
bad_case length_disagrees "432 bytes" "428 bytes"
bad_case rest_disagrees "432 bytes" "436 bytes"
bad_case float16 "float16" "external data"
bad_case inline_and_external "both external data and inline data"

CUR=over_weight_cap CUR_ERR=""
run_effc over_cap compile "$M/over_cap.onnx" -o "$O/over_cap" --max-weights-mb 1
check_exit 1
check_frags "effc: $M/over_cap.onnx" "exceed 1 MiB at 'W'"
check_no_output "$O/over_cap"
finish

# ---- difftest and its reference cache --------------------------------------------------------

if [ -n "$RT" ]; then
	# difftest_run NAME ARGS...: effc difftest on pooled.onnx (weights in w.bin), must pass.
	difftest_run() {
		local base=$1
		shift
		run_effc "$base" difftest "$M/pooled.onnx" --prebuilt-runtime "$RT" --seeds 1 --work "$WORK/dt_$base" "$@"
		check_exit 0
		grep -q 'PASS' "$L/$base.out" || note "no PASS in the output: $(tail -n 3 "$L/$base.out" | tr '\n' '|')"
	}
	TIMEOUT=300
	CUR=difftest_external CUR_ERR=""
	difftest_run dt1 --ref-cache "$WORK/cache"
	n1=$(ls "$WORK/cache" 2>/dev/null | wc -l)
	[ "$n1" -gt 0 ] || note "difftest --ref-cache stored nothing"
	finish

	CUR=difftest_external_layers CUR_ERR=""
	difftest_run dtl --layers
	finish

	# Other weights, same size and mtime: only the bytes tell the models apart.
	CUR=ref_cache_keys_external_bytes CUR_ERR=""
	touch -r "$M/w.bin" "$L/w.stamp"
	"$PY" -c 'import sys, numpy as np; open(sys.argv[1], "wb").write(np.random.default_rng(7).standard_normal(108).astype(np.float32).tobytes())' "$M/w.bin"
	touch -r "$L/w.stamp" "$M/w.bin"
	difftest_run dt2 --ref-cache "$WORK/cache"
	n2=$(ls "$WORK/cache" | wc -l)
	[ "$n2" -gt "$n1" ] || note "no new cache entry after the external data changed ($n1 -> $n2 files)"
	finish
fi

echo "$PASS passed, $FAILN failed"
[ "$FAILN" -eq 0 ]
