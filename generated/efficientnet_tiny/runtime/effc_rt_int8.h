/* effc_rt_int8.h: the int8 runtime (effc_rt_int8.c; the compile-time functions, packing, tables
 * and the requantization step, in effc_rt_int8_pack.c): integer 1x1 convolution / GEMM, dense and
 * depthwise convolution, global average pooling, add, multiply, a 256-entry lookup-table
 * activation, QuantizeLinear and DequantizeLinear, with ONNX's integer semantics (int32
 * accumulation, requantization rounding half to even, saturation).
 *
 * Every op has a plain C reference (the *_ref functions, on ONNX-layout weights) and, for the
 * GEMM, the dense and depthwise convolutions, the multiply and the (de)quantization, AVX-512 and
 * AVX2 kernels (on weights the compiler packed with the *_pack functions). All paths give the same bits: the integer sums are exact and
 * the requantization is the same float arithmetic everywhere (see docs/int8.md).
 *
 * Requantization of an int32 accumulator acc with multiplier m = s_in*s_w[c]/s_out (the float
 * nearest to the exact ratio, computed at create in double) and output zero point zp:
 *     y = clamp(rint((float)acc * m), lo - zp, hi - zp) + zp
 * with rint rounding half to even and [lo, hi] the int8 range or a fused Relu/Clip's range. The
 * clamp happens on the float before rounding, which gives the same result (lo, hi are integers)
 * and keeps every value in int32 range.
 *
 * Tensors are NHWC int8. uint8 tensors are int8 tensors shifted by 128 (q ^ 0x80 with zero point
 * zp - 128 describes the same real values), so the compiler converts at the graph's boundaries. */
#ifndef EFFC_RT_INT8_H
#define EFFC_RT_INT8_H

#include "effc_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An activation applied to a convolution's output before its requantization, in float (the
 * store step's act): y = acc * s_in * s_w[c] is the convolution's real output, and what is
 * quantized onto the output grid is y * g(y), with g the sigmoid (Swish, SiLU) or
 * min(max(y / 6 + 1/2, 0), 1) (HardSwish). This is a QDQ model whose Swish reads the
 * convolution's float output (no QuantizeLinear between them): one rounding instead of two.
 * The sigmoid is effc_rt_q8_sigmoid(), the same float operations on every path. */
enum effc_rt_q8_act { EFFC_RT_Q8_ACT_NONE = 0, EFFC_RT_Q8_ACT_SWISH, EFFC_RT_Q8_ACT_HARDSWISH };

/* 1 / (1 + exp(-y)) in single precision, within 3 ulp of the exact value, as every path computes it
 * (a Cody-Waite range reduction and a degree-6 polynomial for exp, fused multiply-adds only where
 * written as fmaf). */
float effc_rt_q8_sigmoid(float y);

/* Scale and zero point of an int8 tensor: real = (q - zero_point) * scale. */
struct effc_rt_q8_quant {
	float scale;
	int32_t zero_point;
};

/* Which implementation an op runs; AUTO chooses at create by a CPU check (VNNI, then AVX2, then
 * XNN where XNNPACK is built in, else the reference; XNN first in a runtime built with
 * EFFC_RT_FORCE_XNNPACK). A forced path the CPU or build lacks makes create return
 * EFFC_RT_ERR_BACKEND. XNN (effc_rt_int8_xnn.c) runs XNNPACK's int8 operators for the GEMM, the
 * convolutions, GAP, add and multiply (the other ops take their usual path); where XNNPACK
 * refuses an op's parameters, create silently keeps the op on its fallback (VNNI, AVX2 or the
 * reference, as AUTO without XNN), and op->path says which. XNN results may differ from the
 * others' by one step (XNNPACK's fixed-point requantization; docs/int8.md). */
enum effc_rt_q8_path { EFFC_RT_Q8_AUTO = 0, EFFC_RT_Q8_REF, EFFC_RT_Q8_AVX2, EFFC_RT_Q8_VNNI, EFFC_RT_Q8_XNN };

/* y = add(a, b): clamp(rint(fmaf(a - za, sa/so, (b - zb) * (sb/so))), lo - zo, hi - zo) + zo, the
 * two ratios rounded to float at create (as ONNX Runtime's QLinearAdd). */
struct effc_rt_q8_add {
	struct effc_rt_q8_quant a, b, out;
	int32_t out_min, out_max; /* in out's integer domain; -128, 127 without a fused clamp */
};

/* 1x1 convolution / GEMM: c[m][n] = requant(bias[n] + sum_k (a[m][k] - za) * w[n][k]), then the
 * clamp, then the table (if any), then the residual add (if any). */
struct effc_rt_q8_gemm {
	size_t m, n, k;
	struct effc_rt_q8_quant in, out;
	const float *w_scale;     /* [n]: symmetric per-channel weight scales (repeat a per-tensor one) */
	int32_t out_min, out_max; /* clamp in out's domain: a fused Relu/Clip; -128, 127 for none */
	enum effc_rt_q8_act act;  /* optional activation before the requantization (then the clamp, table) */
	const int8_t *lut;        /* optional [256] activation, indexed by (uint8_t)y */
	/* Optional residual, the MBConv skip: the result is add(y, r) with residual->a describing y
	 * (the conv output quantized with `out`), residual->b the residual tensor [m][n]. */
	const struct effc_rt_q8_add *residual;
	enum effc_rt_q8_path path;
};

/* Depthwise convolution, NHWC, any kernel size, stride, padding (padding value: the input zero
 * point, i.e. real zero), no dilation. Weights are ONNX's [c][1][kh][kw]. */
struct effc_rt_q8_dw {
	int batch, in_h, in_w, c, out_h, out_w, kh, kw, sh, sw, pad_top, pad_left;
	struct effc_rt_q8_quant in, out;
	const float *w_scale; /* [c] */
	int32_t out_min, out_max;
	enum effc_rt_q8_act act;
	const int8_t *lut;
	enum effc_rt_q8_path path;
};

/* Global average pooling NHWC [batch][hw][c] -> [batch][c]:
 * y = requant(sum_hw x - hw * zi) with multiplier s_in / (s_out * hw). */
struct effc_rt_q8_gap {
	size_t batch, hw, c;
	struct effc_rt_q8_quant in, out;
	int32_t out_min, out_max;
};

/* Elementwise multiply: y = clamp(rint((float)((a - za) * (b - zb)) * m), lo - zo, hi - zo) + zo with
 * m = (float)(sa * sb / so) (ONNX Runtime's QLinearMul). a is [batch][rows][c]; b is the same shape,
 * or [batch][c] with broadcast = 1 (a squeeze-excitation's scale: one gate per channel). */
struct effc_rt_q8_mul {
	size_t batch, rows, c;
	int broadcast;
	struct effc_rt_q8_quant a, b, out;
	int32_t out_min, out_max;
};

/* Dense kxk convolution (groups 1), NHWC, any stride, dilation and padding (padding value: the
 * input zero point). Weights OHWI [out_c][kh][kw][in_c], packed as a GEMM with n = out_c,
 * k = kh*kw*in_c (effc_rt_q8_conv_pack); store step as the GEMM's (clamp, table, residual). */
struct effc_rt_q8_conv {
	int batch, in_h, in_w, in_c, out_h, out_w, out_c, kh, kw, sh, sw, dh, dw, pad_top, pad_left;
	struct effc_rt_q8_quant in, out;
	const float *w_scale; /* [out_c] */
	int32_t out_min, out_max;
	enum effc_rt_q8_act act;
	const int8_t *lut;
	const struct effc_rt_q8_add *residual; /* as the GEMM's; residual tensor [batch][out_h][out_w][out_c] */
	enum effc_rt_q8_path path;
};

/* Table activations: lut[(uint8_t)q] = sat(rint(f((q - zi) * si) / so) + zo), computed in double. */
enum effc_rt_q8_fn {
	EFFC_RT_Q8_FN_SIGMOID,
	EFFC_RT_Q8_FN_SWISH, /* x * sigmoid(x), SiLU */
	EFFC_RT_Q8_FN_HARDSWISH,
	EFFC_RT_Q8_FN_HARDSIGMOID, /* max(0, min(1, alpha x + beta)) */
	EFFC_RT_Q8_FN_CLIP,        /* min(max(x, alpha), beta): Relu is (0, inf), Relu6 (0, 6) */
};
int effc_rt_q8_lut_build(int8_t lut[256], enum effc_rt_q8_fn fn, float alpha, float beta,
			 struct effc_rt_q8_quant in, struct effc_rt_q8_quant out);

/* Weight packing, pure C and deterministic (the compiler calls it at compile time).
 * GEMM: w [n][k] (a 1x1 conv's OIHW), bias [n] int32 at scale s_in*s_w[c] (NULL: zeros). Layout:
 * int32 bias[np], int32 wsum[np] (sum_k w[c][k]), then int8 panels [np/16][kp/4][16][4]
 * (16 output channels, 4 consecutive k per channel: one vpdpbusd lane), np = n rounded up to
 * 16, kp = k rounded up to 4, padding zero. */
size_t effc_rt_q8_gemm_packed_bytes(size_t n, size_t k);
void effc_rt_q8_gemm_pack(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *packed);
/* Depthwise: w [c][kh][kw], bias [c]. Layout: int32 bias[cp], int32 wsum[cp], then int32
 * w[kh*kw][cp], each weight in the low 16 bits with zero above (one vpmaddwd / vpdpwssd product
 * against a sign-extended activation), cp = c rounded up to 16, padding zero. */
size_t effc_rt_q8_dw_packed_bytes(size_t c, int kh, int kw);
void effc_rt_q8_dw_pack(size_t c, int kh, int kw, const int8_t *w, const int32_t *bias, void *packed);

/* Dense convolution: w OHWI, bias [out_c]; the GEMM layout with k = kh*kw*in_c. */
size_t effc_rt_q8_conv_packed_bytes(int out_c, int kh, int kw, int in_c);
void effc_rt_q8_conv_pack(int out_c, int kh, int kw, int in_c, const int8_t *w, const int32_t *bias, void *packed);

/* The references, on ONNX-layout weights (what every kernel is tested against). */
void effc_rt_q8_gemm_ref(const struct effc_rt_q8_gemm *p, const int8_t *w, const int32_t *bias, const int8_t *a,
			 const int8_t *residual, int8_t *c);
void effc_rt_q8_dw_ref(const struct effc_rt_q8_dw *p, const int8_t *w, const int32_t *bias, const int8_t *x,
		       int8_t *y);
void effc_rt_q8_gap_ref(const struct effc_rt_q8_gap *p, const int8_t *x, int8_t *y);
void effc_rt_q8_add_ref(const struct effc_rt_q8_add *p, size_t n, const int8_t *a, const int8_t *b, int8_t *y);
void effc_rt_q8_mul_ref(const struct effc_rt_q8_mul *p, const int8_t *a, const int8_t *b, int8_t *y);
/* Dense convolution on OHWI weights. */
void effc_rt_q8_conv_ref(const struct effc_rt_q8_conv *p, const int8_t *w, const int32_t *bias, const int8_t *x,
			 const int8_t *residual, int8_t *y);
/* QuantizeLinear (y = sat(rint(x / scale) + zp), a true division, half to even; NaN gives zp)
 * and DequantizeLinear (y = (x - zp) * scale). */
void effc_rt_q8_quantize_ref(struct effc_rt_q8_quant q, size_t n, const float *x, int8_t *y);
void effc_rt_q8_dequantize_ref(struct effc_rt_q8_quant q, size_t n, const int8_t *x, float *y);
/* The requantization step itself, exposed for tests and for the compiler's constant folding. */
float effc_rt_q8_multiplier(double s_in, double s_w, double s_out);
int8_t effc_rt_q8_requant(int32_t acc, float mult, int32_t zp, int32_t lo, int32_t hi);

/* CPU checks (cached): the int8 kernels this build and CPU can run. */
int effc_rt_q8_vnni_available(void); /* AVX-512 F/BW/VL/VNNI, not disabled by EFFC_RT_NO_AVX512 */
int effc_rt_q8_avx2_available(void);
/* AVX-512 VBMI on top of VNNI: the VNNI kernels look tables up in registers (vpermi2b) instead of
 * per element. Checked at create; effc_rt_q8_set_vbmi(0) turns it off for the ops created after
 * (tests run both), effc_rt_q8_set_vbmi(1) back to the CPU check. Same bits either way. */
int effc_rt_q8_vbmi_available(void);
void effc_rt_q8_set_vbmi(int on);

enum effc_rt_q8_kind { EFFC_RT_Q8_NONE = 0, EFFC_RT_Q8_GEMM, EFFC_RT_Q8_DW, EFFC_RT_Q8_GAP, EFFC_RT_Q8_ADD,
		       EFFC_RT_Q8_LUT, EFFC_RT_Q8_MUL, EFFC_RT_Q8_CONV, EFFC_RT_Q8_QUANTIZE, EFFC_RT_Q8_DEQUANTIZE };

/* An int8 op, filled by a create and run by effc_rt_q8_run. */
struct effc_rt_q8_op {
	enum effc_rt_q8_kind kind;
	/* What create chose, and what run dispatches on. MUL, QUANTIZE and DEQUANTIZE take no path at
	 * create (they get the fastest); a test may set another available one after create. */
	enum effc_rt_q8_path path;
	const int8_t *in, *in2;    /* in2: the residual or the add's second input */
	int8_t *out;
	const void *packed;
	float *mult;    /* [n or c] requantization multipliers (GEMM, DW, CONV); MUL: the gates b - zb as floats */
	int32_t *bias;  /* [np or cp] bias with the zero-point corrections folded in, per path */
	int8_t *zrow;   /* DW: c bytes of the input zero point, read for padded taps */
	int8_t lut[256];
	int has_lut;
	size_t n;       /* ADD, LUT, QUANTIZE, DEQUANTIZE: elements */
	const float *fin; /* QUANTIZE: the float input */
	float *fout;      /* DEQUANTIZE: the float output */
	struct effc_rt_q8_quant q; /* QUANTIZE, DEQUANTIZE: the int8 side's parameters */
	struct effc_rt_q8_add add; /* ADD, or the GEMM's residual */
	int has_residual;
	/* DW with a GAP after it (effc_rt_q8_gap_from_dw): each row task also writes its output row's
	 * per-channel int32 sums, [batch * out_h][c], owned here. GAP: that depthwise op, whose sums it
	 * adds up instead of reading the tensor again (when neither runs on XNNPACK). */
	int32_t *row_sums;
	const struct effc_rt_q8_op *sums_from;
	void *xnn; /* XNN path: the XNNPACK operator (effc_rt_int8_xnn.c) */
	union {
		struct effc_rt_q8_gemm gemm;
		struct effc_rt_q8_dw dw;
		struct effc_rt_q8_gap gap;
		struct effc_rt_q8_mul mul;
		struct effc_rt_q8_conv conv;
	} p;
};

int effc_rt_q8_gemm_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_gemm *p,
			   const void *packed, const int8_t *a, const int8_t *residual, int8_t *c);
int effc_rt_q8_dw_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_dw *p,
			 const void *packed, const int8_t *x, int8_t *y);
int effc_rt_q8_gap_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_gap *p,
			  const int8_t *x, int8_t *y);
/* A GAP whose input is the output of depthwise op dw: the depthwise computes each output row's
 * channel sums while the row is in L1, and the GAP adds those up instead of reading the whole
 * tensor back (on B0 it came from L3, or from the other core's L2, and took 5% of the int8 model
 * at 2 threads). Same bits (integer sums). Refused (EFFC_RT_ERR_ARGS) unless dw's output is gap's
 * input with the same shape; without effect where either runs on XNNPACK. */
int effc_rt_q8_gap_from_dw(struct effc_rt *rt, struct effc_rt_q8_op *gap, struct effc_rt_q8_op *dw);
int effc_rt_q8_add_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_add *p, size_t n,
			  const int8_t *a, const int8_t *b, int8_t *y);
int effc_rt_q8_lut_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const int8_t lut[256], size_t n,
			  const int8_t *x, int8_t *y);
int effc_rt_q8_mul_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_mul *p,
			  const int8_t *a, const int8_t *b, int8_t *y);
int effc_rt_q8_conv_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_conv *p,
			   const void *packed, const int8_t *x, const int8_t *residual, int8_t *y);
int effc_rt_q8_quantize_create(struct effc_rt *rt, struct effc_rt_q8_op *op, struct effc_rt_q8_quant q, size_t n,
			       const float *x, int8_t *y);
int effc_rt_q8_dequantize_create(struct effc_rt *rt, struct effc_rt_q8_op *op, struct effc_rt_q8_quant q,
				 size_t n, const int8_t *x, float *y);
/* The XNN path (effc_rt_int8_xnn.c). effc_rt_q8_xnn_available: XNNPACK is built in (not
 * EFFC_RT_PORTABLE). The creates below are the hooks effc_rt_int8.c's creates call once their
 * own path is ready: each sets op->xnn and op->path = XNN, or returns EFFC_RT_ERR_BACKEND
 * (XNNPACK refused: the op keeps its path) or EFFC_RT_ERR_NOMEM. */
int effc_rt_q8_xnn_available(void);
/* For tests, as effc_rt_q8_set_vbmi: what AUTO does about XNN in the creates that follow
 * (GAP, ADD and MUL take no path, so this is how a test puts them on XNN): 1 always, 0 never,
 * -1 back to the CPU check. Not thread-safe; creates only. */
void effc_rt_q8_set_xnn(int mode);
int effc_rt_q8_xnn_gemm_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_gemm *p,
			       const void *packed);
int effc_rt_q8_xnn_dw_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_dw *p,
			     const void *packed);
int effc_rt_q8_xnn_conv_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_conv *p,
			       const void *packed);
int effc_rt_q8_xnn_elem_create(struct effc_rt *rt, struct effc_rt_q8_op *op); /* GAP, ADD, MUL */
int effc_rt_q8_xnn_run(struct effc_rt *rt, const struct effc_rt_q8_op *op);
void effc_rt_q8_xnn_destroy(struct effc_rt_q8_op *op);
/* The packs' inverses (what the XNN path hands XNNPACK): GEMM / dense convolution weights [n][k]
 * (OHWI for the convolution) and the packed bias (NULL: not wanted); depthwise [c][kh][kw]. */
void effc_rt_q8_gemm_unpack(size_t n, size_t k, const void *packed, int8_t *w, int32_t *bias);
void effc_rt_q8_dw_unpack(size_t c, int kh, int kw, const void *packed, int8_t *w, int32_t *bias);

/* Runs the op on rt's thread pool (row tiles; the result does not depend on the thread count). */
int effc_rt_q8_run(struct effc_rt *rt, const struct effc_rt_q8_op *op);
void effc_rt_q8_op_destroy(struct effc_rt_q8_op *op);

#ifdef __cplusplus
}
#endif

#endif
