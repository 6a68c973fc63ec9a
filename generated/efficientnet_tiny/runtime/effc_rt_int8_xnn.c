/* effc_rt_int8_xnn.c: the int8 runtime's XNN path (EFFC_RT_Q8_XNN), the portable one: XNNPACK's
 * int8 operators, which have NEON kernels for Arm and SSE/AVX ones for x86. effc_rt_int8.c's
 * creates call in here (small hooks) when their path is XNN, and effc_rt_q8_run hands such an
 * op to effc_rt_q8_xnn_run.
 *
 *   GEMM (1x1), depthwise, dense convolution -> xnn_create_convolution2d_nhwc_qc8 (per-channel
 *     weight scales): the GEMM as a 1x1 convolution over m rows, the depthwise one as groups = c
 *     with one input and one output channel per group, the dense one with groups 1;
 *   global average pooling -> global_average_pooling_nwc_qs8; add -> add_nd_qs8;
 *   multiply (same shape or one gate per channel) -> multiply_nd_qs8.
 *
 * Weights: the compiler output stays as it is. XNNPACK wants plain [out][kh][kw][in/groups]
 * int8 and an int32 bias; create unpacks them from our packed layouts (effc_rt_q8_gemm_unpack,
 * effc_rt_q8_dw_unpack: the bias is the packed bias, the model's, before any zero-point
 * correction) into temporaries that XNNPACK repacks into its own memory; they are freed within
 * create.
 *
 * What XNNPACK's convolution lacks of our store step, the table and the residual add, runs as
 * a pass over the output after XNNPACK (the same arithmetic as the references), on the pool.
 *
 * XNNPACK's requantization is its own (a float scale in some kernels, fixed point in others,
 * e.g. the add), so results may differ from the other paths by one step (the unit test counts
 * the differences per op; docs/int8.md has the numbers). Where XNNPACK refuses the parameters (its requantization-scale limits:
 * convolution s_in*s_w/s_out < 256, pooling s_in/s_out in [2^-8, 2^8), add s_i/s_out in
 * [2^-10, 2^8), multiply s_a*s_b/s_out in [2^-16, 2^8)), the create hook returns
 * EFFC_RT_ERR_BACKEND and the op silently keeps the fallback path its create prepared (our SIMD
 * kernels where the CPU has them, else the reference). */
#include "effc_rt_int8.h"

#include <string.h>

#if !defined(EFFC_RT_PORTABLE)
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* ---- Unpacking (pure C, also without XNNPACK) ---------------------------------------------- */

void effc_rt_q8_gemm_unpack(size_t n, size_t k, const void *packed, int8_t *w, int32_t *bias)
{
	const size_t np = round_up(n, 16), kg = round_up(k, 4) / 4;
	const int32_t *b = packed, *wsum = b + np;
	const int8_t *panels = (const int8_t *)(wsum + np);
	for (size_t c = 0; c < n; c++) {
		for (size_t q = 0; q < k; q++)
			w[c * k + q] = panels[((c / 16) * kg + q / 4) * 64 + (c % 16) * 4 + q % 4];
		if (bias)
			bias[c] = b[c];
	}
}

void effc_rt_q8_dw_unpack(size_t c, int kh, int kw, const void *packed, int8_t *w, int32_t *bias)
{
	const size_t cp = round_up(c, 16), taps = (size_t)kh * (size_t)kw;
	const int32_t *b = packed, *wsum = b + cp, *pw = wsum + cp;
	for (size_t ch = 0; ch < c; ch++) {
		for (size_t t = 0; t < taps; t++)
			w[ch * taps + t] = (int8_t)(int16_t)(uint16_t)(pw[t * cp + ch] & 0xFFFF);
		if (bias)
			bias[ch] = b[ch];
	}
}

#if defined(EFFC_RT_PORTABLE)

int effc_rt_q8_xnn_available(void) { return 0; }
int effc_rt_q8_xnn_gemm_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_gemm *p,
			       const void *packed)
{
	(void)rt, (void)op, (void)p, (void)packed;
	return EFFC_RT_ERR_BACKEND;
}
int effc_rt_q8_xnn_dw_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_dw *p,
			     const void *packed)
{
	(void)rt, (void)op, (void)p, (void)packed;
	return EFFC_RT_ERR_BACKEND;
}
int effc_rt_q8_xnn_conv_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_conv *p,
			       const void *packed)
{
	(void)rt, (void)op, (void)p, (void)packed;
	return EFFC_RT_ERR_BACKEND;
}
int effc_rt_q8_xnn_elem_create(struct effc_rt *rt, struct effc_rt_q8_op *op)
{
	(void)rt, (void)op;
	return EFFC_RT_ERR_BACKEND;
}
int effc_rt_q8_xnn_run(struct effc_rt *rt, const struct effc_rt_q8_op *op)
{
	(void)rt, (void)op;
	return EFFC_RT_ERR_BACKEND;
}
void effc_rt_q8_xnn_destroy(struct effc_rt_q8_op *op) { (void)op; }

#else

int effc_rt_q8_xnn_available(void) { return 1; }

/* XNNPACK's status as ours: refusals (unsupported parameter or hardware, invalid parameter)
 * are EFFC_RT_ERR_BACKEND, which the creates turn into their fallback path. */
static int xnn_status_to_rt(enum xnn_status s)
{
	switch (s) {
	case xnn_status_success:
		return EFFC_RT_OK;
	case xnn_status_out_of_memory:
		return EFFC_RT_ERR_NOMEM;
	default:
		return EFFC_RT_ERR_BACKEND;
	}
}

static int8_t i8(int32_t v) { return (int8_t)v; }

/* The convolution for every conv kind, then its setup on the op's fixed pointers. */
static int conv_make(struct effc_rt *rt, struct effc_rt_q8_op *op, uint32_t pt, uint32_t pr, uint32_t pb, uint32_t pl,
		     uint32_t kh, uint32_t kw, uint32_t sh, uint32_t sw, uint32_t dh, uint32_t dw, uint32_t groups,
		     size_t gin, size_t gout, const float *w_scale, const int8_t *w, const int32_t *bias,
		     struct effc_rt_q8_quant in, struct effc_rt_q8_quant out, int32_t lo, int32_t hi, size_t batch,
		     size_t in_h, size_t in_w)
{
	xnn_operator_t x = NULL;
	enum xnn_status s = xnn_create_convolution2d_nhwc_qc8(
		pt, pr, pb, pl, kh, kw, sh, sw, dh, dw, groups, gin, gout, groups * gin, groups * gout, i8(in.zero_point),
		in.scale, w_scale, w, bias, i8(out.zero_point), out.scale, i8(lo), i8(hi), 0, &x);
	if (s == xnn_status_success)
		s = xnn_setup_convolution2d_nhwc_qc8(x, batch, in_h, in_w, op->in, op->out, rt ? rt->pool : NULL);
	if (s != xnn_status_success) {
		if (x)
			xnn_delete_operator(x);
		return xnn_status_to_rt(s);
	}
	op->xnn = x;
	op->path = EFFC_RT_Q8_XNN;
	return EFFC_RT_OK;
}

/* Bottom/right padding that makes XNNPACK's output size ours; -1 where none does (our caller
 * gave an output smaller than the input allows: XNNPACK cannot crop). */
static int64_t pad_after(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t before)
{
	int64_t after = (out - 1) * s + d * (k - 1) + 1 - in - before;
	if (after < 0)
		after = 0;
	const int64_t got = (in + before + after - d * (k - 1) - 1) / s + 1;
	return got == out ? after : -1;
}

int effc_rt_q8_xnn_gemm_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_gemm *p,
			       const void *packed)
{
	if (p->act)
		return EFFC_RT_ERR_BACKEND; /* XNNPACK has no activation before requantization */
	int8_t *w = effc_rt_alloc(64, p->n * p->k);
	int32_t *bias = effc_rt_alloc(64, p->n * sizeof *bias);
	int st = EFFC_RT_ERR_NOMEM;
	if (w && bias) {
		effc_rt_q8_gemm_unpack(p->n, p->k, packed, w, bias);
		st = conv_make(rt, op, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, p->k, p->n, p->w_scale, w, bias, p->in, p->out,
			       p->out_min, p->out_max, 1, p->m, 1);
	}
	effc_rt_free(w), effc_rt_free(bias);
	return st;
}

int effc_rt_q8_xnn_dw_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_dw *p,
			     const void *packed)
{
	if (p->act)
		return EFFC_RT_ERR_BACKEND; /* XNNPACK has no activation before requantization */
	const int64_t pb = pad_after(p->in_h, p->out_h, p->kh, p->sh, 1, p->pad_top);
	const int64_t pr = pad_after(p->in_w, p->out_w, p->kw, p->sw, 1, p->pad_left);
	if (pb < 0 || pr < 0)
		return EFFC_RT_ERR_BACKEND;
	const size_t c = (size_t)p->c;
	int8_t *w = effc_rt_alloc(64, c * (size_t)p->kh * (size_t)p->kw);
	int32_t *bias = effc_rt_alloc(64, c * sizeof *bias);
	int st = EFFC_RT_ERR_NOMEM;
	if (w && bias) {
		effc_rt_q8_dw_unpack(c, p->kh, p->kw, packed, w, bias);
		st = conv_make(rt, op, (uint32_t)p->pad_top, (uint32_t)pr, (uint32_t)pb, (uint32_t)p->pad_left,
			       (uint32_t)p->kh, (uint32_t)p->kw, (uint32_t)p->sh, (uint32_t)p->sw, 1, 1, (uint32_t)c, 1, 1,
			       p->w_scale, w, bias, p->in, p->out, p->out_min, p->out_max, (size_t)p->batch,
			       (size_t)p->in_h, (size_t)p->in_w);
	}
	effc_rt_free(w), effc_rt_free(bias);
	return st;
}

int effc_rt_q8_xnn_conv_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_conv *p,
			       const void *packed)
{
	if (p->act)
		return EFFC_RT_ERR_BACKEND; /* XNNPACK has no activation before requantization */
	const int64_t pb = pad_after(p->in_h, p->out_h, p->kh, p->sh, p->dh, p->pad_top);
	const int64_t pr = pad_after(p->in_w, p->out_w, p->kw, p->sw, p->dw, p->pad_left);
	if (pb < 0 || pr < 0)
		return EFFC_RT_ERR_BACKEND;
	const size_t n = (size_t)p->out_c, k = (size_t)p->kh * (size_t)p->kw * (size_t)p->in_c;
	int8_t *w = effc_rt_alloc(64, n * k);
	int32_t *bias = effc_rt_alloc(64, n * sizeof *bias);
	int st = EFFC_RT_ERR_NOMEM;
	if (w && bias) {
		effc_rt_q8_gemm_unpack(n, k, packed, w, bias); /* OHWI rows: XNNPACK's [out][kh][kw][in] */
		st = conv_make(rt, op, (uint32_t)p->pad_top, (uint32_t)pr, (uint32_t)pb, (uint32_t)p->pad_left,
			       (uint32_t)p->kh, (uint32_t)p->kw, (uint32_t)p->sh, (uint32_t)p->sw, (uint32_t)p->dh,
			       (uint32_t)p->dw, 1, (size_t)p->in_c, n, p->w_scale, w, bias, p->in, p->out, p->out_min,
			       p->out_max, (size_t)p->batch, (size_t)p->in_h, (size_t)p->in_w);
	}
	effc_rt_free(w), effc_rt_free(bias);
	return st;
}

/* GAP, ADD and MUL: everything is in the op already (op->p.gap, op->add, op->p.mul). */
int effc_rt_q8_xnn_elem_create(struct effc_rt *rt, struct effc_rt_q8_op *op)
{
	pthreadpool_t pool = rt ? rt->pool : NULL;
	xnn_operator_t x = NULL;
	enum xnn_status s;
	switch (op->kind) {
	case EFFC_RT_Q8_GAP: {
		const struct effc_rt_q8_gap *p = &op->p.gap;
		s = xnn_create_global_average_pooling_nwc_qs8(p->c, p->c, p->c, i8(p->in.zero_point), p->in.scale,
							      i8(p->out.zero_point), p->out.scale, i8(p->out_min),
							      i8(p->out_max), 0, &x);
		if (s == xnn_status_success)
			s = xnn_setup_global_average_pooling_nwc_qs8(x, p->batch, p->hw, op->in, op->out, pool);
		break;
	}
	case EFFC_RT_Q8_ADD: {
		const struct effc_rt_q8_add *p = &op->add;
		if (op->n == 0)
			return EFFC_RT_ERR_BACKEND; /* nothing to run: our path does nothing */
		s = xnn_create_add_nd_qs8(i8(p->a.zero_point), p->a.scale, i8(p->b.zero_point), p->b.scale,
					  i8(p->out.zero_point), p->out.scale, i8(p->out_min), i8(p->out_max), 0, &x);
		const size_t shape[1] = {op->n};
		if (s == xnn_status_success)
			s = xnn_setup_add_nd_qs8(x, 1, shape, 1, shape, op->in, op->in2, op->out, pool);
		break;
	}
	case EFFC_RT_Q8_MUL: {
		const struct effc_rt_q8_mul *p = &op->p.mul;
		s = xnn_create_multiply_nd_qs8(i8(p->a.zero_point), p->a.scale, i8(p->b.zero_point), p->b.scale,
					       i8(p->out.zero_point), p->out.scale, i8(p->out_min), i8(p->out_max), 0, &x);
		const size_t a_shape[3] = {p->batch, p->rows, p->c};
		const size_t b_shape[3] = {p->batch, p->broadcast ? 1 : p->rows, p->c};
		if (s == xnn_status_success)
			s = xnn_setup_multiply_nd_qs8(x, 3, a_shape, 3, b_shape, op->in, op->in2, op->out, pool);
		break;
	}
	default:
		return EFFC_RT_ERR_BACKEND;
	}
	if (s != xnn_status_success) {
		if (x)
			xnn_delete_operator(x);
		return xnn_status_to_rt(s);
	}
	op->xnn = x;
	op->path = EFFC_RT_Q8_XNN;
	return EFFC_RT_OK;
}

/* The store step's extras after XNNPACK's convolution: the table, then the residual add, in
 * tasks of XTRA_TILE elements. */
#define XTRA_TILE 4096
struct xtra {
	const struct effc_rt_q8_op *op;
	size_t count;
};

static void xtra_task(void *arg, size_t t)
{
	const struct xtra *x = arg;
	const struct effc_rt_q8_op *op = x->op;
	const size_t i0 = t * XTRA_TILE, n = x->count - i0 < XTRA_TILE ? x->count - i0 : XTRA_TILE;
	int8_t *y = op->out + i0;
	if (op->has_lut)
		for (size_t i = 0; i < n; i++)
			y[i] = op->lut[(uint8_t)y[i]];
	if (op->has_residual)
		effc_rt_q8_add_ref(&op->add, n, y, op->in2 + i0, y);
}

int effc_rt_q8_xnn_run(struct effc_rt *rt, const struct effc_rt_q8_op *op)
{
	if (!op->xnn)
		return EFFC_RT_ERR_ARGS;
	pthreadpool_t pool = rt ? rt->pool : NULL;
	if (xnn_run_operator((xnn_operator_t)op->xnn, pool) != xnn_status_success)
		return EFFC_RT_ERR_BACKEND;
	if (!op->has_lut && !op->has_residual)
		return EFFC_RT_OK;
	struct xtra x = {op, 0};
	if (op->kind == EFFC_RT_Q8_GEMM)
		x.count = op->p.gemm.m * op->p.gemm.n;
	else if (op->kind == EFFC_RT_Q8_DW)
		x.count = (size_t)op->p.dw.batch * (size_t)op->p.dw.out_h * (size_t)op->p.dw.out_w * (size_t)op->p.dw.c;
	else if (op->kind == EFFC_RT_Q8_CONV)
		x.count = (size_t)op->p.conv.batch * (size_t)op->p.conv.out_h * (size_t)op->p.conv.out_w *
			  (size_t)op->p.conv.out_c;
	const size_t tasks = (x.count + XTRA_TILE - 1) / XTRA_TILE;
	if (tasks > 1 && pool)
		pthreadpool_parallelize_1d(pool, xtra_task, &x, tasks, 0);
	else
		for (size_t t = 0; t < tasks; t++)
			xtra_task(&x, t);
	return EFFC_RT_OK;
}

void effc_rt_q8_xnn_destroy(struct effc_rt_q8_op *op)
{
	if (op->xnn)
		xnn_delete_operator((xnn_operator_t)op->xnn);
	op->xnn = NULL;
}

#endif
