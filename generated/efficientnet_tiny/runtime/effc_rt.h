/* effc_rt.h: the runtime that generated code calls. One create function per op kind, one run
 * entry point for all: behind each create the implementation is XNNPACK or a kernel of ours
 * (effc_rt_kernels.c, plain C with no XNNPACK). Create gets the final input/output pointers
 * (the arena is fixed for a context's lifetime), so run does no setup at all.
 * Every create returns EFFC_RT_OK or an error status; nothing here allocates during run. */
#ifndef EFFC_RT_H
#define EFFC_RT_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EFFC_RT_MAX_RANK 6

enum effc_rt_status {
	EFFC_RT_OK = 0,
	EFFC_RT_ERR_ARGS = 1,    /* NULL pointer or bad size at the API boundary */
	EFFC_RT_ERR_NOMEM = 2,   /* an allocation failed in create */
	EFFC_RT_ERR_BACKEND = 3, /* XNNPACK refused an operator (unsupported CPU or parameters) */
};

struct effc_rt {
	void *pool; /* pthreadpool_t, NULL for one thread */
	int threads;
	/* Scratch shared by the ops of a context (they run one at a time), sized by the creates:
	 * a pointwise convolution with an input scale writes its scaled operand here. */
	float *work;
	size_t work_bytes;
	/* Bytes that the op creates between effc_rt_init and effc_rt_init_done left allocated:
	 * the runtime's buffers (packed weights, per-thread buffers, scratch, rt->work) and
	 * XNNPACK's operators with their repacked weights. created_mark is the calling thread's
	 * running count at init. Not counted: the thread pool (its threads and stacks), the
	 * caller's own allocations (context struct, arena), XNNPACK's process-wide tables, and
	 * XNNPACK's blocks when the application called xnn_initialize before effc did (XNNPACK
	 * keeps the first caller's allocator). */
	size_t created_bytes, created_mark;
};
/* Starts a context's create on the calling thread; its op creates must follow on this thread. */
int effc_rt_init(struct effc_rt *rt, int num_threads);
/* Ends a context's create: sets rt->created_bytes. */
void effc_rt_init_done(struct effc_rt *rt);
void effc_rt_fini(struct effc_rt *rt);
/* XNNPACK's bytes live now in the whole process (0 without XNNPACK); thread-safe. */
size_t effc_rt_backend_live_bytes(void);
/* Aligned allocation hook used for the context, the arena and the runtime's buffers; tests
 * replace it to simulate failure or to count. */
extern void *(*effc_rt_alloc)(size_t align, size_t size);
extern void (*effc_rt_free)(void *p);

enum effc_rt_kind {
	EFFC_RT_NONE = 0,
	EFFC_RT_XNN,
	EFFC_RT_CONV_REF,
	EFFC_RT_MATMUL_REF,
	EFFC_RT_BINARY_REF,
	EFFC_RT_UNARY_REF,
	EFFC_RT_CHANNEL_AFFINE,
	EFFC_RT_REDUCE_MEAN,
	EFFC_RT_SOFTMAX,
	EFFC_RT_TRANSPOSE,
	EFFC_RT_PAD,
	EFFC_RT_COPY,
	EFFC_RT_SWISH,
	EFFC_RT_SCALE_BIAS,
	EFFC_RT_SE,
	EFFC_RT_GEMM,
	EFFC_RT_SE_GATE,
	EFFC_RT_MBCONV,
	EFFC_RT_PAIR, /* two or three ops run in turn (an MBConv built unfused) */
	EFFC_RT_DW,   /* depthwise convolution on our kernel (effc_rt_mbconv.c) */
	EFFC_RT_IM2COL, /* small-K convolution as our GEMM over im2col rows (effc_rt_gemm.c) */
	EFFC_RT_UNARY,  /* HardSigmoid or HardSwish on our vector kernels, threads over elements */
	EFFC_RT_Q8,     /* an int8 op (effc_rt_int8.h), run by effc_rt_q8_run */
};

/* Activations applied after an op (beyond the clamp that out_min/out_max express). */
enum effc_rt_act { EFFC_RT_ACT_NONE = 0, EFFC_RT_ACT_SWISH, EFFC_RT_ACT_HARDSWISH };

/* Convolution over explicit strides, so one description serves NCHW and NHWC. */
struct effc_rt_conv2d {
	int batch, in_h, in_w, in_c, out_h, out_w, out_c, groups;
	int kh, kw, sh, sw, dh, dw, pad_top, pad_left, pad_bottom, pad_right;
	float out_min, out_max;
	int nhwc; /* 1: activations NHWC, weights [out][kh][kw][in/groups] (XNNPACK); 0: ONNX NCHW/OIHW */
	int packed; /* 1x1, stride 1, unpadded, ungrouped: weights in effc_rt_gemm's panel layout */
	enum effc_rt_act act; /* applied in place after the clamp */
};

/* C = alpha * op(A) x op(B) + beta * bias, batched with broadcast (stride 0) batch dims. */
struct effc_rt_matmul {
	int m, n, k;
	int batch_rank;
	int batch[4];
	ptrdiff_t a_bstride[4], b_bstride[4], bias_bstride[4];
	ptrdiff_t a_sm, a_sk, b_sk, b_sn, bias_sm, bias_sn; /* element strides */
	float alpha, beta;
	float out_min, out_max;
};

enum effc_rt_binop { EFFC_RT_ADD, EFFC_RT_SUB, EFFC_RT_MUL, EFFC_RT_DIV };
struct effc_rt_binary {
	enum effc_rt_binop op;
	int rank;
	size_t a_shape[EFFC_RT_MAX_RANK], b_shape[EFFC_RT_MAX_RANK]; /* same rank, 1 = broadcast */
	float out_min, out_max;
};

enum effc_rt_unop {
	EFFC_RT_SIGMOID,
	EFFC_RT_CLAMP,
	EFFC_RT_HARDSWISH,
	EFFC_RT_HARDSIGMOID,
	EFFC_RT_CLAMP_DYN,
	EFFC_RT_SWISH_OP, /* x * sigmoid(x), our kernel */
	EFFC_RT_FAKE_QUANT, /* QuantizeLinear -> DequantizeLinear in float: scale alpha, zero point beta,
			     * the integer range [min, max] (effc_rt_fake_quant) */
	/* A quantized model's 8-bit graph inputs and outputs, carried as floats holding the integers:
	 * (x - beta) * alpha, and clamp(round half to even(x / alpha) + beta, min, max). */
	EFFC_RT_DEQUANT_VALUES,
	EFFC_RT_QUANT_VALUES,
};

/* Squeeze-excitation: out = x * gate(W2 act(W1 mean_hw(x) + b1) + b2), x NHWC [batch][hw][channels]. */
enum effc_rt_gate { EFFC_RT_GATE_SIGMOID = 0, EFFC_RT_GATE_HARDSIGMOID };
struct effc_rt_se {
	size_t batch, hw, channels, reduced;
	enum effc_rt_act act;   /* after the first FC (SWISH, HARDSWISH or NONE) */
	float act_min, act_max; /* clamp after the first FC (Relu: 0, INFINITY) */
	enum effc_rt_gate gate;
	float gate_alpha, gate_beta; /* HardSigmoid */
};
struct effc_rt_unary {
	enum effc_rt_unop op;
	size_t rows, channels; /* rows x channels contiguous elements; threads split rows */
	float alpha, beta;     /* HardSigmoid */
	float min, max;        /* CLAMP */
};

/* Pointwise-convolution GEMM (effc_rt_gemm.c): c[m][n] = act(clamp(a[m][k] B + bias)) + residual,
 * B packed in 16-column panels [ceil(n/16)][k][16]. */
struct effc_rt_gemm {
	size_t m, n, k;
	/* a_scale ([k], optional): read a[i][q] * a_scale[q]. Only the portable path applies it
	 * directly; the runtime op scales a copy of the smaller operand first. */
	const float *a, *packed, *bias, *residual, *a_scale;
	float *c;
	float out_min, out_max;
	enum effc_rt_act act;
	/* b_scale ([k], optional): B's row q times b_scale[q] (an SE scale folded into the weights),
	 * written to b_work in packed's layout: the AVX-512 row blocks from each panel's first row
	 * tile as it reads the panel, the other paths in a pass before. */
	const float *b_scale;
	float *b_work;
};

/* Whether an output range [lo, hi] clamps at all (Relu6 and the like; ±inf for none): kernels
 * skip the min/max otherwise. */
static inline int effc_rt_clamps(float lo, float hi) { return lo >= -FLT_MAX || hi <= FLT_MAX; }

/* Depthwise convolution of one image (effc_rt_mbconv.c), NHWC, weights [kh][kw][C]: clamp and
 * activation applied, and, if row_sums is set, each output row's per-channel sums after the
 * activation ([out_h][C]). `in` holds the input rows from in_row0 on (a band of the image), or,
 * with in_ring > 0, input row y in slot y % in_ring (the fused MBConv's buffer). */
struct effc_rt_dw {
	struct effc_rt_conv2d p;
	const float *w, *bias, *in;
	int in_row0, in_ring;
	float *out, *row_sums;
	size_t out_row0; /* out holds the output rows from out_row0 on (a band buffer) */
	int prefetch; /* in is a whole image out of cache: prefetch the input rows the next output row adds */
};

/* Expansion (1x1 GEMM, packed weights) then depthwise, fused band by band (effc_rt_mbconv.c).
 * dw describes the depthwise over the expanded tensor (in_c = out_c = expanded channels). */
struct effc_rt_expand {
	size_t in_c;
	enum effc_rt_act act;
	float out_min, out_max;
};
struct effc_rt_mbconv {
	struct effc_rt_conv2d dw;
	size_t k;
	const float *x, *we, *be, *wd, *bd; /* we NULL: no expansion, the depthwise reads x */
	float *out, *row_sums;
	float e_min, e_max;
	enum effc_rt_act e_act;
	size_t band, buf_rows, buf_floats, tasks; /* output rows per band, rows and floats per ring, tasks */
	/* With proj.packed set (effc_rt_mbconv_project_create), the depthwise writes each band to
	 * the task's band buffer (out_floats, after its ring) and this 1x1 GEMM projects it into
	 * proj.c (with proj.residual) while it is in L2; `out` is then unused. */
	struct effc_rt_gemm proj;
	size_t out_floats;
	float *bufs; /* tasks x (buf_floats + out_floats) */
};

/* A convolution with few taps x input channels (the stem: 3x3x3 = 27) as our GEMM over
 * im2col rows: each task gathers one output row's patches into its own buffer, then the GEMM
 * applies bias, clamp and activation in its store step. Weights in effc_rt_gemm's panels
 * with k = (ky * kw + kx) * in_c + ci. */
struct effc_rt_im2col {
	struct effc_rt_conv2d p;
	const float *in, *packed, *bias;
	float *out, *bufs;
	size_t k, buf_floats, tasks;
	/* Fused-MBConv (effc_rt_conv_project_create): with proj.packed set, each task writes the
	 * convolution's output rows, `band` at a time, to its band buffer (band_floats each, after
	 * the gather buffers), and projects every band at once with this 1x1 GEMM into proj.c. */
	struct effc_rt_gemm proj;
	size_t band, band_floats;
	float *bands;
	/* Winograd F(2x2, 3x3) (3x3, stride 1, dilation 1): packed then holds 16 GEMM weight
	 * matrices U[xi] (in_c x out_c, each np * in_c floats), a task's buffer V [16][wino_t][in_c]
	 * and M [16][wino_t][out_c] for wino_t 2x2 output tiles at a time; zeros: in_c zeros, the
	 * padding's pixel. */
	int wino;
	size_t wino_t;
	const float *zeros;
};

/* The 1x1 projection of a Fused-MBConv block (effc_rt_conv_project_create). */
struct effc_rt_project {
	size_t out_c;
	enum effc_rt_act act;
	float out_min, out_max;
};

/* Squeeze-excitation gate only (the scale is applied by the next pointwise convolution):
 * gate[b][c] = sigma(W2 act(W1 mean + b1) + b2), the mean taken from row_sums when given
 * ([batch][rows][C] summed over rows), else from x ([batch][hw][C]). */
struct effc_rt_se_gate {
	struct effc_rt_se p;
	size_t rows;
	const float *x, *row_sums;
	float *gate;
};

struct effc_rt_shape {
	int rank;
	size_t dims[EFFC_RT_MAX_RANK];
};

struct effc_rt_q8_op; /* effc_rt_int8.h */
struct effc_rt_op {
	enum effc_rt_kind kind;
	void *xnn; /* xnn_operator_t */
	const float *in[4];
	float *out;
	size_t bytes;  /* COPY: bytes to copy; conv: output bytes */
	int post_act;  /* conv: apply p.conv.act after XNNPACK */
	union {
		struct effc_rt_conv2d conv;
		struct effc_rt_dw dw;
		struct effc_rt_matmul mm;
		struct effc_rt_binary bin;
		struct effc_rt_unary un;
		struct {
			size_t outer, channels, inner;
			const float *var;
			float eps;
		} affine;
		struct {
			struct effc_rt_shape in;
			int mask[EFFC_RT_MAX_RANK];
		} reduce;
		struct {
			size_t outer, n, inner;
		} softmax;
		struct {
			struct effc_rt_shape in;
			int perm[EFFC_RT_MAX_RANK];
		} transpose;
		struct {
			struct effc_rt_shape in;
			int64_t begin[EFFC_RT_MAX_RANK], end[EFFC_RT_MAX_RANK];
			float value;
		} pad;
		struct effc_rt_se se;
		struct effc_rt_gemm gemm;
		struct effc_rt_se_gate se_gate;
		struct effc_rt_mbconv mb;
		struct effc_rt_im2col im2col;
		struct {
			size_t outer, channels, inner;
		} sb;
	} p;
	float *scratch; /* SE: pooled and reduced vectors; scaled 1x1 on XNNPACK: the scaled input */
	const float *in_scale; /* pointwise: [batch][k] input scale (a folded SE gate) */
	size_t batch;          /* pointwise with in_scale: rows per batch element = m / batch */
	int scale_weights;     /* pointwise with in_scale: scale B (k x n) rather than A (hw x k) */
	struct effc_rt_op *pair; /* EFFC_RT_PAIR: n_pair ops (0: 2) run in turn, and their intermediate */
	float *pair_buf, *pair_buf2; /* tensors (the first op's output, the second's with three) */
	int n_pair;
	const float *w[4]; /* SE: w1, b1, w2, b2 */
	float *row_sums;   /* depthwise: per-row channel sums of the output, computed with the activation */
	struct effc_rt_q8_op *q8; /* EFFC_RT_Q8: the int8 op, owned by the caller (see effc_rt_q8_bind) */
};

/* Creates. in/out are the final buffers; weights are constant for the context's life.
 * conv2d: NHWC weights [out][kh][kw][in/groups]. A dense convolution with up to
 * EFFC_RT_IM2COL_MAX_K taps x input channels runs as im2col + our GEMM where the CPU has
 * AVX2+FMA (interior pixels read in place with AVX-512); others on XNNPACK. */
#define EFFC_RT_IM2COL_MAX_K 2304
int effc_rt_conv2d_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			  const float *weights, const float *bias, const float *in, float *out);
/* A packed 1x1 convolution that also adds `residual` (same shape as out, may be NULL) and, when
 * in_scale ([batch][in_c], may be NULL) is given, reads in[m][k] * in_scale[k]: a squeeze-
 * excitation folded in. The scale is applied to whichever operand is smaller, the weights
 * (k x n) or the input rows (hw x k), as a copy in rt->work. */
int effc_rt_conv1x1_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			   const float *packed_weights, const float *bias, const float *residual, const float *in_scale,
			   const float *in, float *out);
/* Depthwise convolution (groups = in_c = out_c, weights [C][kh][kw]) that also writes its
 * output's per-row channel sums, after the activation, to row_sums [batch * out_h][C] (may be
 * NULL): what a following SE pools. Runs on our kernel for the shapes where it measured faster
 * (5x5 over maps 14 and wider, up to 32 channels; weights re-laid out at create), else on
 * XNNPACK followed by one sweep for the activation and the sums. */
int effc_rt_dwconv_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			  const float *weights, const float *bias, const float *in, float *out, float *row_sums);
/* An MBConv's expansion and depthwise convolution as one op: out = dw(act_e(x We + be)), plus
 * the depthwise output's row sums ([batch * out_h][C], may be NULL). we: expansion weights in
 * the GEMM's panel layout; wd: depthwise weights [kh][kw][C]. */
int effc_rt_mbconv_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *dw,
			  const struct effc_rt_expand *e, const float *we, const float *be, const float *wd,
			  const float *bd, const float *in, float *out, float *row_sums);
/* An MBConv block without SE (EfficientNet-Lite, MobileNetV2/V3's plain blocks): out =
 * act_q(clamp_q(conv1x1(y, wp) + bp)) + residual, where y = dw(act_e(x We + be)) as
 * effc_rt_mbconv_create computes it, or y = dw(x) when e is NULL (no expansion; we, be unused).
 * wp: the projection's weights in the GEMM's panel layout (k = dw->out_c, n = q->out_c);
 * residual (the shape of out), be, bd and bp may be NULL. The depthwise writes each band of
 * output rows to a per-thread buffer and the projection reads it from there, so neither y nor
 * the expanded tensor is ever whole. Without our GEMM (no AVX2+FMA, or EFFC_RT_FORCE_XNNPACK),
 * two or three ops on XNNPACK through private tensors. */
int effc_rt_mbconv_project_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *dw,
				  const struct effc_rt_expand *e, const float *we, const float *be, const float *wd,
				  const float *bd, const struct effc_rt_project *q, const float *wp, const float *bp,
				  const float *residual, const float *in, float *out);
/* A Fused-MBConv block (EfficientNetV2): out = act_q(clamp_q(conv1x1(y, wp) + bp)) + residual
 * where y = the dense convolution p of `in` (weights w [out][kh][kw][in], bias b, p's clamp
 * and activation). wp: the projection's weights in the GEMM's panel layout (k = p->out_c, n =
 * q->out_c); residual (the shape of out) and b, bp may be NULL. Where our GEMM runs (AVX2+FMA)
 * the two convolutions run band by band, y's rows in a per-thread buffer in L2, never whole;
 * elsewhere as two ops (XNNPACK or the reference) through a private copy of y. */
int effc_rt_conv_project_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
				const struct effc_rt_project *q, const float *w, const float *b, const float *wp,
				const float *bp, const float *residual, const float *in, float *out);
/* The SE gate alone: gate [batch][channels] from row_sums ([batch][rows][channels], rows > 0) or,
 * when row_sums is NULL, from x ([batch][hw][channels]). */
int effc_rt_se_gate_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_se *p, size_t rows,
			   const float *w1, const float *b1, const float *w2, const float *b2, const float *x,
			   const float *row_sums, float *gate);
/* Fully connected: out[batch][out_c] = in[batch][in_c] x W^T + bias, W is [out_c][in_c]. */
int effc_rt_fc_create(struct effc_rt *rt, struct effc_rt_op *op, size_t batch, size_t in_c, size_t out_c,
		      const float *weights, const float *bias, float out_min, float out_max, const float *in,
		      float *out);
int effc_rt_matmul_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_matmul *p,
			  const float *a, const float *b, const float *bias, float *out);
int effc_rt_binary_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_binary *p,
			  const float *a, const float *b, float *out);
/* CLAMP_DYN reads its bounds at run time from lo/hi (either may be NULL = unbounded). */
int effc_rt_unary_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_unary *p,
			 const float *in, float *out, const float *lo, const float *hi);
/* NHWC global average pool: in [batch][hw][channels] -> out [batch][channels]. */
int effc_rt_gap_create(struct effc_rt *rt, struct effc_rt_op *op, size_t batch, size_t hw, size_t channels,
		       const float *in, float *out);
/* y = (x - mean) * scale / sqrt(var + eps) + bias over [outer][channels][inner], parameters
 * read at run time so they may be graph inputs. */
int effc_rt_batchnorm_create(struct effc_rt *rt, struct effc_rt_op *op, size_t outer, size_t channels,
			     size_t inner, const float *scale, const float *bias, const float *mean,
			     const float *var, float eps, const float *in, float *out);
int effc_rt_reduce_mean_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_shape *in_shape,
			       const int *mask, const float *in, float *out);
int effc_rt_softmax_create(struct effc_rt *rt, struct effc_rt_op *op, size_t outer, size_t n, size_t inner,
			   const float *in, float *out);
int effc_rt_transpose_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_shape *in_shape,
			     const int *perm, const float *in, float *out);
/* Points a transpose op at a new input for the next runs: the generated code hands the caller's
 * input straight to the layout change that reads it, instead of copying it into the arena
 * first. EFFC_RT_ERR_ARGS for any other kind of op. */
int effc_rt_bind_input(struct effc_rt_op *op, const float *in);
int effc_rt_pad_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_shape *in_shape,
		       const int64_t *begin, const int64_t *end, float value, const float *in, float *out);
/* y = x * scale[c] + bias[c] over [outer][channels][inner] (a BatchNormalization with constants). */
int effc_rt_scale_bias_create(struct effc_rt *rt, struct effc_rt_op *op, size_t outer, size_t channels, size_t inner,
			      const float *scale, const float *bias, const float *in, float *out);
/* The whole squeeze-excitation block as one op; in == out (in place) is allowed. */
int effc_rt_se_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_se *p, const float *w1,
		      const float *b1, const float *w2, const float *b2, const float *in, float *out);
int effc_rt_copy_create(struct effc_rt *rt, struct effc_rt_op *op, size_t bytes, const float *in, float *out);

int effc_rt_run(struct effc_rt *rt, struct effc_rt_op *op);
void effc_rt_op_destroy(struct effc_rt_op *op);
/* Makes op run the created int8 op q (whose storage the caller keeps for op's life), so a
 * model's float and int8 ops share one list and one effc_rt_run; destroying op destroys q. */
void effc_rt_q8_bind(struct effc_rt_op *op, struct effc_rt_q8_op *q);

int effc_rt_gemm_fast_available(void);
/* AVX-512F kernels (GEMM tiles, Swish, sigmoid) run where the CPU has it, unless a test turns
 * them off to check the AVX2 ones: effc_rt_allow_avx512(0) returns the old setting. */
int effc_rt_avx512_available(void);
int effc_rt_allow_avx512(int allow);
int effc_rt_use_avx512(void); /* available and allowed */
void effc_rt_gemm_fast(const struct effc_rt_gemm *g, size_t m0, size_t m1); /* rows [m0, m1) */
/* rows [m0, m1) x 16-column panels [p0, p1) */
void effc_rt_gemm_fast_rect(const struct effc_rt_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1);
void effc_rt_gemm_ref(const struct effc_rt_gemm *g, size_t m0, size_t m1);
/* c = act(clamp(bias + sum over segments s of A_s B_s)), A_s row i at a[s] + i * lda (ks
 * floats), B_s the packed rows [b_off[s], b_off[s] + ks), segs <= 16, g->a unused: a dense
 * convolution's interior pixels read in place (segment = tap row; consecutive pixels lda =
 * sw x C apart). Only on the AVX-512 tiles: returns 0, and does nothing, elsewhere. */
int effc_rt_gemm_segments(const struct effc_rt_gemm *g, const float *const *a, const size_t *b_off, size_t segs,
			  size_t ks, size_t lda);
void effc_rt_pack_b(size_t n, size_t k, const float *w, float *packed);
/* Depthwise rows [oy0, oy1) of one image: AVX-512 or AVX2 where the CPU has it, else the
 * reference. */
void effc_rt_dw_rows(const struct effc_rt_dw *d, size_t oy0, size_t oy1);
/* Channels [c0, c1) of output rows [oy0, oy1): on the fast kernels where
 * effc_rt_dw_channel_step(p) is nonzero and c0, c1 are multiples of it (or c1 = C). */
void effc_rt_dw_tile(const struct effc_rt_dw *d, size_t oy0, size_t oy1, size_t c0, size_t c1);
size_t effc_rt_dw_channel_step(const struct effc_rt_conv2d *p);
int effc_rt_dw_avx512(const struct effc_rt_conv2d *p); /* effc_rt_dw_rows runs AVX-512 tiles for p */
void effc_rt_dw_rows_ref(const struct effc_rt_dw *d, size_t oy0, size_t oy1);
/* Task t of m->tasks: a contiguous share of the output rows, with buffer t. */
void effc_rt_mbconv_task(const struct effc_rt_mbconv *m, size_t t);
void effc_rt_im2col_task(const struct effc_rt_im2col *c, size_t t); /* output rows of task t */
void effc_rt_pack_dw(size_t channels, size_t kh, size_t kw, const float *w, float *packed); /* [C][kh][kw] -> [kh][kw][C] */
/* Output rows per band of the fused expansion + depthwise (effc_rt_mbconv_create) for an input
 * row of in_w pixels plus pad_w padding, `channels` expanded channels and a kh-tap column with
 * dilation dh and stride sh: each band expands its input rows into a buffer of about 192 KB.
 * The compiler asks it too: every band streams all of the expansion's weights. */
size_t effc_rt_mbconv_band(size_t in_w, size_t pad_w, size_t channels, size_t kh, size_t dh, size_t sh);
void effc_rt_unpack_dw(size_t channels, size_t kh, size_t kw, const float *packed, float *w);
void effc_rt_unpack_b(size_t n, size_t k, const float *packed, float *w);

/* Reference kernels (effc_rt_kernels.c): plain C, no XNNPACK, used by run and by the tests. */
void effc_rt_ref_conv2d(const struct effc_rt_conv2d *p, const float *w, const float *bias, const float *in,
			float *out);
void effc_rt_ref_matmul(const struct effc_rt_matmul *p, const float *a, const float *b, const float *bias,
			float *out);
void effc_rt_ref_binary(const struct effc_rt_binary *p, const float *a, const float *b, float *out);
void effc_rt_ref_unary(const struct effc_rt_unary *p, const float *in, float *out, const float *lo, const float *hi);
void effc_rt_ref_channel_affine(size_t outer, size_t channels, size_t inner, const float *scale, const float *bias,
				const float *mean, const float *var, float eps, const float *in, float *out);
void effc_rt_ref_reduce_mean(const struct effc_rt_shape *s, const int *mask, const float *in, float *out);
void effc_rt_ref_softmax(size_t outer, size_t n, size_t inner, const float *in, float *out);
void effc_rt_ref_transpose(const struct effc_rt_shape *s, const int *perm, const float *in, float *out);
/* NCHW -> NHWC for the flattened pixels [p0, p1) of all images (C channels, HW pixels each). */
void effc_rt_nchw_to_nhwc_rows(size_t C, size_t HW, size_t p0, size_t p1, const float *in, float *out);
void effc_rt_ref_pad(const struct effc_rt_shape *s, const int64_t *begin, const int64_t *end, float value,
		     const float *in, float *out);
void effc_rt_ref_gap(size_t batch, size_t hw, size_t channels, const float *in, float *out);
void effc_rt_ref_scale_bias(size_t outer, size_t channels, size_t inner, const float *scale, const float *bias,
			    const float *in, float *out);
/* scratch holds 2 * channels + reduced floats. */
void effc_rt_ref_se(const struct effc_rt_se *p, const float *w1, const float *b1, const float *w2, const float *b2,
		    const float *in, float *out, float *scratch);
/* Swish x * sigmoid(x): the reference uses expf; the fast one a vectorisable exp (max rel. error ~1e-6). */
void effc_rt_ref_swish(size_t n, const float *in, float *out);
void effc_rt_swish(size_t n, const float *in, float *out);
/* sigmoid 1 / (1 + e^-x) by the same vectorisable exp (the SE gate's): same error, in place allowed. */
void effc_rt_sigmoid(size_t n, const float *in, float *out);
void effc_rt_hardswish(size_t n, const float *in, float *out);
/* HardSigmoid clamp(alpha x + beta, 0, 1), vectorised (an FMA: within an ulp of the reference). */
void effc_rt_hardsigmoid(size_t n, float alpha, float beta, const float *in, float *out);
/* (clamp(round half to even(x / scale) + zp, qmin, qmax) - zp) * scale */
void effc_rt_fake_quant(size_t n, float scale, float zp, float qmin, float qmax, const float *in, float *out);
/* EFFC_RT_QUANT_VALUES and EFFC_RT_DEQUANT_VALUES over n elements */
void effc_rt_quant_values(size_t n, float scale, float zp, float qmin, float qmax, const float *in, float *out);
void effc_rt_dequant_values(size_t n, float scale, float zp, const float *in, float *out);
/* The SE's two small fully connected layers and gate: gate = sigma(W2 act(W1 pooled + b1) + b2),
 * w = {W1 [reduced][channels], b1, W2 [channels][reduced], b2}; hidden holds `reduced` floats. */
void effc_rt_se_gate_vec(const struct effc_rt_se *p, const float *const w[4], const float *pooled, float *hidden,
			 float *gate);
/* Its two halves, by ranges (for threads): hidden[j0, j1) from pooled, gate[c0, c1) from hidden.
 * Ranges that start at multiples of 8 give the same bits as the whole. */
void effc_rt_se_hidden(const struct effc_rt_se *p, const float *const w[4], const float *pooled, float *hidden,
		       size_t j0, size_t j1);
void effc_rt_se_gate_out(const struct effc_rt_se *p, const float *const w[4], const float *hidden, float *gate,
			 size_t c0, size_t c1);
/* Rows [r0, r1) of `width` pixels x `channels`: the activation in place, then each row's
 * per-channel sums into sums[r][channels]. */
void effc_rt_act_row_sums(size_t r0, size_t r1, size_t width, size_t channels, enum effc_rt_act act, float *data,
			  float *sums);
/* Winograd F(2x2, 3x3) (effc_rt_gemm.c runs it): the weights' transform U = G g G^T of w
 * [n][3][3][c] into u [16][n][c]; a tile's input transform B^T d B from its 16 pixels d[4][4]
 * (c floats each) into v[xi * v_stride + ci]; and the output transform A^T m A of m[xi * m_stride
 * + co] plus the bias, clamped to [lo, hi] (a NaN stays NaN), into the tile's top row y0 and
 * bottom row y1 (NULL past the image), `cols` (1 or 2) pixels of n floats each. */
void effc_rt_wino_weights(size_t n, size_t c, const float *w, float *u);
void effc_rt_wino_in(size_t c, const float *const d[16], float *v, size_t v_stride);
void effc_rt_wino_out(size_t n, const float *m, size_t m_stride, const float *bias, float lo, float hi, float *y0,
		      float *y1, size_t cols);
/* Rows [r0, r1) of GEMM panels ([panels][k][16]): out row r = in row r * s[r % k]. */
void effc_rt_scale_panels(size_t r0, size_t r1, size_t k, const float *s, const float *in, float *out);
/* The SE tail: out[r][c] = in[r][c] * s[c] for rows [r0, r1). */
void effc_rt_scale_rows(size_t r0, size_t r1, size_t channels, const float *s, const float *in, float *out);

/* ---- camera frames (effc_rt_image.c) ---------------------------------------------------- */
/* 8-bit frames, one to four bytes per pixel; R, G, B are the model's channels 0, 1, 2. */
enum effc_rt_pixel_format {
	EFFC_RT_PIXELS_RGB8 = 0,
	EFFC_RT_PIXELS_RGBA8, /* the fourth byte (alpha or padding) is skipped */
	EFFC_RT_PIXELS_BGR8,
	EFFC_RT_PIXELS_BGRA8,
};
struct effc_rt_image {
	int width, height, bytes_per_pixel;
	int src[3]; /* byte offset of channel c (R, G, B) within a pixel */
	int nhwc;   /* 1: out is [height][width][3]; 0: [3][height][width] */
	float lut[3][256]; /* lut[c][byte] = (byte * scale - mean[c]) / std[c] */
};
/* 0 for a format this runtime does not know. */
int effc_rt_image_bytes_per_pixel(enum effc_rt_pixel_format format);
/* Fills im; EFFC_RT_ERR_ARGS for an unknown format, a size below 1, a non-finite scale, mean or
 * std, or a std of 0. */
int effc_rt_image_init(struct effc_rt_image *im, enum effc_rt_pixel_format format, int width, int height,
		       float scale, const float mean[3], const float std[3], int nhwc);
/* pixels: height rows of stride_bytes (at least width * bytes_per_pixel) bytes; out: 3 * width *
 * height floats in im's layout. EFFC_RT_ERR_ARGS for NULL pointers or a stride too small. */
int effc_rt_image_convert(const struct effc_rt_image *im, const unsigned char *pixels, size_t stride_bytes,
			  float *out);

#ifdef __cplusplus
}
#endif
#include "effc_rt_int8.h" /* the int8 ops */
#endif
