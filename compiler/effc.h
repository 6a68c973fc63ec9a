/* effc.h: the compiler's internal header, one section per file.
 *
 * The IR is flat, in the manner of XNNPACK's subgraph: a graph owns arrays of tensors and nodes
 * addressed by integer ids. Tensor dims are always kept in ONNX order; `layout` says how the
 * bytes are laid out at run time (a 4-D tensor may live as NHWC while its dims read N,C,H,W).
 * All memory belongs to one arena per compilation and is freed once. */
#ifndef EFFC_H
#define EFFC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EFFC_VERSION "0.1.0"
#define EFFC_MAX_RANK 6
#define EFFC_MAX_IO 8

/* ---- status.c ---------------------------------------------------------------------------- */
enum effc_status {
	EFFC_OK = 0,
	EFFC_ERR_IO,          /* file cannot be read or written */
	EFFC_ERR_PARSE,       /* not an ONNX model */
	EFFC_ERR_INVALID,     /* the model breaks an ONNX rule */
	EFFC_ERR_UNSUPPORTED, /* valid ONNX that effc does not handle */
	EFFC_ERR_NOMEM,
	EFFC_ERR_TOOL,        /* an external tool (cmake, node) failed */
	EFFC_ERR_MISMATCH,    /* difftest found outputs beyond tolerance */
};

/* Errors are formatted into one buffer owned by the caller's context and printed by main. */
struct effc_diag {
	char msg[2048];
	enum effc_status status;
};
enum effc_status effc_fail(struct effc_diag *d, enum effc_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- arena.c ----------------------------------------------------------------------------- */
struct effc_arena;
struct effc_arena *effc_arena_new(void);
void effc_arena_free(struct effc_arena *a);
void *effc_arena_alloc(struct effc_arena *a, size_t size); /* zeroed, 64-byte aligned, NULL on OOM */
char *effc_arena_strdup(struct effc_arena *a, const char *s);
char *effc_arena_printf(struct effc_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- ir.c -------------------------------------------------------------------------------- */
enum effc_op {
#define EFFC_OP(e, name, kind) EFFC_OP_##e,
#include "ops.def"
#undef EFFC_OP
	EFFC_OP_COUNT
};
const char *effc_op_name(enum effc_op op);
int effc_op_from_onnx(const char *op_type); /* -1 when unknown */

/* ONNX TensorProto.DataType values. EFFC_I8: an int8 activation or packed int8 weights of the int8
 * pass (real bytes, one per element), never a loaded tensor (those are held as float, see qtype). */
enum effc_dtype { EFFC_F32 = 1, EFFC_I8 = 3, EFFC_I64 = 7 };
enum effc_layout { EFFC_LAYOUT_ONNX = 0, EFFC_LAYOUT_NHWC };
/* Activation fused into an op: CLAMP uses act_min/act_max (Relu, Clip). */
enum effc_act { EFFC_ACT_NONE = 0, EFFC_ACT_CLAMP, EFFC_ACT_SWISH, EFFC_ACT_HARDSWISH };

struct effc_tensor {
	const char *name;
	enum effc_dtype dtype;
	int rank;
	int64_t dims[EFFC_MAX_RANK];
	enum effc_layout layout;
	void *data;   /* constant payload (initializer or folded), NULL for activations */
	int producer; /* node id or -1 */
	int n_consumers;
	int is_input, is_output;
	int alias_of; /* activation sharing another tensor's bytes (reshape-like or in place), or -1 */
	int from_onnx; /* the name is a tensor of the ONNX graph (compared by difftest --layers) */
	/* A quantized model's 8-bit tensor: 2 (uint8) or 3 (int8), its ONNX type; an initializer of
	 * that type is held as float values (lower-qdq dequantizes them); 0 for every other tensor */
	int qtype;
	/* An EFFC_I8 activation's quantization: real = (q - qzp) * qscale. */
	float qscale;
	int32_t qzp;
	/* A constant lower-qdq dequantized: the integer values and quantization it came from, which
	 * the int8 pass packs (it checks they still give `data`, so a pass that rewrote the float
	 * values is noticed). NULL for every other tensor. */
	const struct effc_qconst *qc;
	/* An int8 twin of an ONNX-named tensor: that name (difftest --layers dumps it dequantized). */
	const char *onnx_name;
	/* memory plan */
	size_t offset; /* arena offset for activations, blob offset for constants */
	int live_first, live_last;
	int emitted; /* constant referenced by emitted code */
};

struct effc_qconst {
	const int32_t *v;        /* the integer values, in the tensor's ONNX order */
	const float *scale, *zp; /* per tensor (n 1) or along axis (n = dims[axis]); zp NULL: zeros */
	int64_t n;
	int axis;
	int qtype; /* 2 uint8, 3 int8, 6 int32 */
};

/* An int8 op's kind (attrs.q_kind), chosen by the int8 pass. */
enum effc_q8_kind { EFFC_Q8_GEMM = 1, EFFC_Q8_DW, EFFC_Q8_CONV };

struct effc_attrs {
	int64_t kernel[2], strides[2], dilations[2], pads[4], group;
	int auto_pad; /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
	float epsilon, alpha, beta;
	int64_t trans_a, trans_b, axis, keepdims, allowzero, training;
	int64_t perm[EFFC_MAX_RANK];
	int n_perm;
	int64_t axes[EFFC_MAX_RANK];
	int n_axes, has_axes;
	int64_t pad_pads[2 * EFFC_MAX_RANK];
	float pad_value;
	float clip_min, clip_max;
	const char *mode;
	/* fused activation; for SE the one after its first 1x1 conv */
	enum effc_act act;
	float act_min, act_max;
	int gate; /* SE: 0 sigmoid, 1 hard sigmoid (alpha, beta) */
	enum effc_act pre_act; /* ExpandDepthwise: the expansion's activation (act is the depthwise's) */
	float pre_min, pre_max;
	enum effc_act post_act; /* FusedMBConv: the projection's activation (act is the kxk conv's) */
	float post_min, post_max;
	int packed; /* Conv: 1x1 weights in the runtime GEMM's panel layout; in[3] an optional residual,
		     * in[4] an optional input scale [N][C]. A depthwise Conv may have out[1]: per-row
		     * channel sums of its output [N*H][C] */
	int opset;
	/* Int8 ops: the output clamp in its integer domain (q_lo, q_hi); Q8Conv's kind; a residual
	 * add's first operand quantization (the conv's own output, before the add). */
	int32_t q_lo, q_hi;
	int32_t q_lo_res, q_hi_res; /* Q8Conv with a residual: the add's clamp */
	enum effc_q8_kind q_kind;
	float qa_scale;
	int32_t qa_zp;
	float qo_scale; /* Q8Conv: its own output quantization (requantization target, before a table) */
	int32_t qo_zp;
	enum effc_act q_act; /* Q8Conv: Swish/HardSwish on the float output before the requantization */
	/* Shape-value ops (evaluated at compile time): Shape's start and end (has_end 0: to the
	 * rank), Cast's target type (ONNX TensorProto.DataType), Slice's starts/ends attributes
	 * (opset < 10; later they are inputs). */
	int64_t start, end;
	int has_end, to;
	int64_t starts[EFFC_MAX_RANK], ends[EFFC_MAX_RANK];
	int n_starts, n_ends;
};

struct effc_node {
	const char *name;
	enum effc_op op;
	int n_in, n_out;
	int in[EFFC_MAX_IO]; /* -1 for an absent optional input */
	int out[EFFC_MAX_IO];
	struct effc_attrs a;
	int dead;
};

struct effc_graph {
	struct effc_arena *arena;
	const char *path; /* for messages */
	const char *producer, *producer_version;
	int opset;
	struct effc_tensor *t;
	int n_t, cap_t;
	struct effc_node *n;
	int n_n, cap_n;
	int inputs[EFFC_MAX_IO], n_inputs;
	int outputs[EFFC_MAX_IO], n_outputs;
	/* memory plan results */
	size_t arena_bytes, weights_bytes, peak_live_bytes;
	int rewrites; /* bumped by passes for the compile report */
	int onnx_nodes; /* nodes in the ONNX file, Constant nodes included */
	int inplace;  /* the memory plan may run elementwise ops in place */
	int mbconv_proj; /* fuse-mbconv-project will run (fuse-mbconv consults effc_mbconv_projects) */
};

struct effc_graph *effc_graph_new(struct effc_arena *arena, const char *path);
int effc_graph_add_tensor(struct effc_graph *g, const char *name); /* -1 on OOM */
int effc_graph_find_tensor(const struct effc_graph *g, const char *name);
int effc_graph_add_node(struct effc_graph *g, enum effc_op op, const char *name);
int64_t effc_tensor_numel(const struct effc_tensor *t);
size_t effc_tensor_bytes(const struct effc_tensor *t);
int effc_tensor_is_const(const struct effc_tensor *t);
const char *effc_shape_str(struct effc_arena *a, const struct effc_tensor *t);
/* Error naming a node: "effc: FILE: node 'name' (Op): ..." */
enum effc_status effc_node_fail(struct effc_diag *d, const struct effc_graph *g, const struct effc_node *n,
				enum effc_status st, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Inserts a node at position pos (shifting later nodes); returns pos or -1. */
int effc_graph_insert_node(struct effc_graph *g, int pos, enum effc_op op, const char *name);
int effc_perm_is_trivial(const int64_t *dims, int rank, const int64_t *perm);
extern const int64_t effc_perm_to_nhwc[4], effc_perm_to_nchw[4];
/* Node kinds that only relabel their input's bytes. */
int effc_node_is_alias(const struct effc_graph *g, const struct effc_node *n);
void effc_graph_count_uses(struct effc_graph *g);

/* ---- load.c ------------------------------------------------------------------------------ */
struct effc_load_options {
	int64_t batch; /* value for symbolic dims, default 1 */
	uint64_t max_weight_bytes; /* cap on initializer data, 0 = none */
	/* effc_load_onnx_buffer only: the directory external data locations are relative to (the
	 * model file's directory); NULL refuses external data. effc_load_onnx uses the path's. */
	const char *external_dir;
};
enum effc_status effc_load_onnx(struct effc_graph *g, const char *path, const struct effc_load_options *o,
				struct effc_diag *d);
/* The same from memory; g->path names the source in messages. */
enum effc_status effc_load_onnx_buffer(struct effc_graph *g, const void *data, size_t size,
				       const struct effc_load_options *o, struct effc_diag *d);

/* Calls fn(arg, file) once for each distinct external data file that model path's tensors name,
 * as the loader resolves it (a path under the model's directory); stops at fn's first nonzero
 * return and returns EFFC_ERR_IO then. Files are not opened: effc_load_onnx checks them. */
enum effc_status effc_onnx_external_files(const char *path, int (*fn)(void *arg, const char *file), void *arg,
					  struct effc_diag *d);
/* Writes a copy of model src to dst with extra graph outputs (for difftest --layers). */
enum effc_status effc_onnx_add_outputs(const char *src, const char *dst, const char *const *names, int n,
				       struct effc_diag *d);

/* ---- shape.c ----------------------------------------------------------------------------- */
enum effc_status effc_infer_shapes(struct effc_graph *g, struct effc_diag *d);
/* Reads node n's constant 1-D int64 input idx (what: its name in messages) into out[]; returns
 * the count (0 when absent), or -1 after reporting a run-time, mistyped or too long input. */
int effc_node_const_ints(struct effc_graph *g, struct effc_node *n, int idx, int64_t *out, int max, struct effc_diag *d,
			 const char *what);

/* ---- passes/ ----------------------------------------------------------------------------- */
/* Each pass: pure IR -> IR, returns a status, counts what it rewrote in g->rewrites. */
enum effc_status effc_pass_cleanup(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fold_constants(struct effc_graph *g, struct effc_diag *d);
/* Called by shape inference on each node in order: evaluates a shape-value op (Shape, Gather,
 * Concat, Slice, Cast, ConstantOfShape, Range, Expand, the comparisons, Where, Not, Neg, Abs,
 * Floor, Ceil, ReduceProd, and arithmetic on int64 or on float values it made) whose inputs
 * are known, sets its output's dims and data and marks the node dead (*folded = 1).
 * Refuses one that depends on run-time data, naming the node. *folded = 0: not a shape-value
 * node (or one rewritten to Identity), left to the ordinary shape rule. */
enum effc_status effc_fold_shape_node(struct effc_graph *g, struct effc_node *n, int *folded, struct effc_diag *d);
enum effc_status effc_pass_fold_input_norm(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fold_pad(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fold_bn(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fuse_activation(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fuse_se(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_dce(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_layout(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fuse_residual(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_lower(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fuse_se_scale(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fuse_mbconv(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fuse_conv_project(struct effc_graph *g, struct effc_diag *d);
enum effc_status effc_pass_fuse_mbconv_project(struct effc_graph *g, struct effc_diag *d);
/* Whether fuse-mbconv-project will take the depthwise node dw's output into its op (then
 * fuse-mbconv fuses dw's expansion whatever its size). */
int effc_mbconv_projects(const struct effc_graph *g, const struct effc_node *dw);
enum effc_status effc_pass_lower_qdq(struct effc_graph *g, struct effc_diag *d);
/* Appends to report (may be NULL) what stayed float and why. */
enum effc_status effc_pass_lower_int8(struct effc_graph *g, char *report, size_t report_cap, struct effc_diag *d);

/* Pass helpers (ir.c). */
int effc_graph_sole_consumer(const struct effc_graph *g, int t); /* node id, or -1 if 0 or >1 readers */
int effc_graph_count_readers(const struct effc_graph *g, int t);
/* HardSigmoid node n has HardSwish's constants (alpha 1/6 as exporters round it, beta 1/2): the
 * x * HardSigmoid(x) that the fused kernels compute as HardSwish. */
int effc_is_hardswish_gate(const struct effc_node *n);
void effc_graph_replace_uses(struct effc_graph *g, int from, int to);
int effc_graph_new_const(struct effc_graph *g, const char *base, const char *suffix, int rank, const int64_t *dims);

/* ---- pipeline.c -------------------------------------------------------------------------- */
enum effc_pass_id {
	EFFC_PASS_CLEANUP,
	EFFC_PASS_FOLD_CONSTANTS,
	EFFC_PASS_FOLD_INPUT_NORM,
	EFFC_PASS_FOLD_PAD,
	EFFC_PASS_FOLD_BN,
	EFFC_PASS_FUSE_SWISH,
	EFFC_PASS_FUSE_SE,
	EFFC_PASS_DCE,
	EFFC_PASS_FUSE_RESIDUAL,
	EFFC_PASS_FUSE_MBCONV,
	EFFC_PASS_FUSE_MBCONV_PROJECT,
	EFFC_PASS_FUSE_CONV_PROJECT,
	EFFC_PASS_FUSE_SE_SCALE,
	EFFC_PASS_INPLACE,
	EFFC_PASS_COUNT
};
struct effc_pipeline_options {
	int disabled[EFFC_PASS_COUNT];
	int verbose;
};
const char *effc_pass_flag(enum effc_pass_id p); /* "fold-bn" for --no-fold-bn */
void effc_pipeline_set_level(struct effc_pipeline_options *o, int level);
/* Runs the optional passes, then layout and lowering; appends one line per pass to report. */
enum effc_status effc_pipeline_run(struct effc_graph *g, const struct effc_pipeline_options *o, char *report,
				   size_t report_cap, struct effc_diag *d);

/* ---- plan.c ------------------------------------------------------------------------------ */
enum effc_status effc_plan_memory(struct effc_graph *g, struct effc_diag *d);

/* ---- emit.c ------------------------------------------------------------------------------ */
struct effc_emit_options {
	const char *name;     /* C prefix */
	const char *out_dir;  /* final directory */
	const char *cmdline;  /* for the banner */
	const char *runtime_dir; /* source of runtime files to copy */
	/* Where create finds the weights: linked into the library (embed), or a NAME.weights blob
	 * the caller loads and hands to NAME_create_with_weights (file). */
	enum effc_weights_mode { EFFC_WEIGHTS_EMBED = 0, EFFC_WEIGHTS_FILE } weights;
	/* --image-input: NAME_run_image takes 8-bit frames of this format; the float fed to the
	 * model is (byte * image_scale - image_mean[c]) / image_std[c], c in R, G, B order. */
	enum effc_pixel_format {
		EFFC_PIXELS_NONE = 0,
		EFFC_PIXELS_RGB8,
		EFFC_PIXELS_RGBA8,
		EFFC_PIXELS_BGR8,
		EFFC_PIXELS_BGRA8
	} image;
	float image_scale, image_mean[3], image_std[3];
};
enum effc_status effc_emit(struct effc_graph *g, const struct effc_emit_options *o, struct effc_diag *d);
/* The scalar, single-threaded runtime reference kernel (effc_rt_ref_*) that node n's emitted op
 * runs on with the default (XNNPACK) runtime, or NULL when it runs on XNNPACK or our own kernels
 * or emits no op. The layout conversions effc inserts itself (ToNHWC/ToNCHW) are not counted:
 * every model has them at its edges. */
const char *effc_node_ref_kernel(const struct effc_graph *g, const struct effc_node *n);

/* ---- stats.c ----------------------------------------------------------------------------- */
struct effc_stats {
	int64_t params, macs;
	int op_count[EFFC_OP_COUNT];
	int int8_ops, float_ops; /* computing ops by precision (switches between the two not counted) */
	size_t weight_bytes_i8, weight_bytes_f32; /* emitted constants by type */
};
/* "int8", "float", "float->int8", "int8->float" (the switches) or "float (quantize-dequantize)". */
const char *effc_node_precision(const struct effc_node *n);
/* Bytes of the emitted constants node n reads. */
size_t effc_node_weight_bytes(const struct effc_graph *g, const struct effc_node *n);
void effc_graph_stats(const struct effc_graph *g, struct effc_stats *s);
/* Bytes of the emitted NAME.weights (header and constants): the read-only data of a build,
 * embedded or loaded at run time. */
#define EFFC_WEIGHTS_HEADER 64
size_t effc_weights_file_bytes(const struct effc_graph *g);

/* ---- util.c ------------------------------------------------------------------------------ */
enum effc_status effc_read_file(const char *path, void **data, size_t *size, struct effc_diag *d);
/* Maps a whole regular file read-only, for inputs too large to copy needlessly (models and their
 * external data); an empty file gives data NULL, size 0. Undo with effc_unmap_file. */
enum effc_status effc_map_file(const char *path, const void **data, size_t *size, struct effc_diag *d);
/* The same, refusing a file that is not under dir (a resolved path) once opened. */
enum effc_status effc_map_file_within(const char *path, const char *dir, const void **data, size_t *size,
				      struct effc_diag *d);
void effc_unmap_file(const void *data, size_t size);
enum effc_status effc_write_file(const char *path, const void *data, size_t size, struct effc_diag *d);
enum effc_status effc_mkdir_p(const char *path, struct effc_diag *d);
int effc_rm_rf(const char *path);
int effc_c_ident_ok(const char *s);
/* snprintf into a path buffer; -1 when the result would not fit. */
int effc_pathf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
