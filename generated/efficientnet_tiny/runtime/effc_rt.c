/* effc_rt.c: op creation and the single run entry point. The only file of effc that includes
 * XNNPACK. XNNPACK operators are created and set up once, against the context's fixed arena,
 * so running one is a single xnn_run_operator call.
 * With EFFC_RT_PORTABLE defined, nothing here needs XNNPACK or pthreadpool: every op runs on
 * the plain C kernels (and our GEMM), on the calling thread. For targets without XNNPACK. */
#include "effc_rt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef EFFC_RT_PORTABLE
#define USE_XNN 0
#else
#define USE_XNN 1
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

static void *default_alloc(size_t align, size_t size) { return aligned_alloc(align, (size + align - 1) / align * align); }
void *(*effc_rt_alloc)(size_t align, size_t size) = default_alloc;
void (*effc_rt_free)(void *p) = free;

int effc_rt_init(struct effc_rt *rt, int num_threads)
{
	if (!rt || num_threads < 0)
		return EFFC_RT_ERR_ARGS;
	memset(rt, 0, sizeof *rt);
	rt->threads = 1;
#if USE_XNN
	if (xnn_initialize(NULL) != xnn_status_success)
		return EFFC_RT_ERR_BACKEND;
	if (num_threads > 1) {
		rt->threads = num_threads;
		rt->pool = pthreadpool_create((size_t)num_threads);
		if (!rt->pool)
			return EFFC_RT_ERR_NOMEM;
	}
#endif
	return EFFC_RT_OK;
}

void effc_rt_fini(struct effc_rt *rt)
{
#if USE_XNN
	if (rt && rt->pool)
		pthreadpool_destroy(rt->pool);
#endif
	if (rt)
		rt->pool = NULL;
}

#if USE_XNN
static int xnn_err(enum xnn_status s)
{
	return s == xnn_status_success ? EFFC_RT_OK : s == xnn_status_out_of_memory ? EFFC_RT_ERR_NOMEM : EFFC_RT_ERR_BACKEND;
}
#endif

/* Splits [0, n) into tiles over the pool; the calling thread alone when there is none. */
typedef void (*range_fn)(void *arg, size_t start, size_t count);
struct par {
	range_fn fn;
	void *arg;
};
static void par_task(void *c, size_t start, size_t count)
{
	const struct par *p = c;
	p->fn(p->arg, start, count);
}
static void parallel_for(struct effc_rt *rt, size_t n, size_t min_tile, range_fn fn, void *arg)
{
	size_t tile = rt->pool ? n / ((size_t)rt->threads * 4) : n;
	if (tile < min_tile)
		tile = min_tile;
	if (!rt->pool || tile >= n) {
		fn(arg, 0, n);
		return;
	}
#if USE_XNN
	struct par p = {fn, arg};
	pthreadpool_parallelize_1d_tile_1d(rt->pool, par_task, &p, n, tile, 0);
#else
	(void)par_task;
#endif
}

struct act_args {
	enum effc_rt_act act;
	const float *in;
	float *out;
};
static void act_range(void *arg, size_t start, size_t count)
{
	const struct act_args *a = arg;
	if (a->act == EFFC_RT_ACT_SWISH)
		effc_rt_swish(count, a->in + start, a->out + start);
	else
		effc_rt_hardswish(count, a->in + start, a->out + start);
}
static void apply_act(struct effc_rt *rt, enum effc_rt_act act, size_t n, const float *in, float *out)
{
	if (act == EFFC_RT_ACT_NONE)
		return;
	struct act_args a = {act, in, out};
	parallel_for(rt, n, 4096, act_range, &a);
}

static int begin(struct effc_rt_op *op, enum effc_rt_kind kind, const float *in, float *out)
{
	memset(op, 0, sizeof *op);
	if (!in || !out)
		return EFFC_RT_ERR_ARGS;
	op->kind = kind;
	op->in[0] = in;
	op->out = out;
	return EFFC_RT_OK;
}

/* A create that rejects its arguments leaves the op empty, so run and destroy stay safe. */
static int fail_args(struct effc_rt_op *op)
{
	memset(op, 0, sizeof *op);
	return EFFC_RT_ERR_ARGS;
}

#if USE_XNN
/* Keeps the operator on success, deletes it on failure so destroy never sees half a create. */
static int finish_xnn(struct effc_rt_op *op, xnn_operator_t x, enum xnn_status s)
{
	if (s != xnn_status_success) {
		if (x)
			xnn_delete_operator(x);
		op->xnn = NULL;
		op->kind = EFFC_RT_NONE;
		return xnn_err(s);
	}
	op->xnn = x;
	return EFFC_RT_OK;
}
#endif

int effc_rt_conv2d_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			  const float *weights, const float *bias, const float *in, float *out)
{
	if (p && p->packed)
		return effc_rt_conv1x1_create(rt, op, p, weights, bias, NULL, in, out);
	int st = begin(op, p && p->nhwc && USE_XNN ? EFFC_RT_XNN : EFFC_RT_CONV_REF, in, out);
	if (st || !weights || !p)
		return st ? st : fail_args(op);
	op->p.conv = *p;
	op->in[1] = weights;
	op->in[2] = bias;
	op->post_act = p->act != EFFC_RT_ACT_NONE;
	op->bytes = sizeof(float) * (size_t)p->batch * (size_t)p->out_h * (size_t)p->out_w * (size_t)p->out_c;
	if (op->kind == EFFC_RT_CONV_REF)
		return EFFC_RT_OK;
#if USE_XNN
	xnn_operator_t x = NULL;
	enum xnn_status s = xnn_create_convolution2d_nhwc_f32(
		(uint32_t)p->pad_top, (uint32_t)p->pad_right, (uint32_t)p->pad_bottom, (uint32_t)p->pad_left,
		(uint32_t)p->kh, (uint32_t)p->kw, (uint32_t)p->sh, (uint32_t)p->sw, (uint32_t)p->dh, (uint32_t)p->dw,
		(uint32_t)p->groups, (size_t)(p->in_c / p->groups), (size_t)(p->out_c / p->groups), (size_t)p->in_c,
		(size_t)p->out_c, weights, bias, p->out_min, p->out_max, 0, &x);
	if (s == xnn_status_success)
		s = xnn_setup_convolution2d_nhwc_f32(x, (size_t)p->batch, (size_t)p->in_h, (size_t)p->in_w, in, out, rt->pool);
	return finish_xnn(op, x, s);
#else
	(void)rt;
	return EFFC_RT_OK;
#endif
}

int effc_rt_conv1x1_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			   const float *packed_weights, const float *bias, const float *residual, const float *in,
			   float *out)
{
	if (!p || !packed_weights || !in || !out || p->kh != 1 || p->kw != 1 || p->sh != 1 || p->sw != 1 || p->groups != 1 ||
	    p->pad_top || p->pad_left || p->pad_bottom || p->pad_right || !p->nhwc)
		return fail_args(op);
	const size_t m = (size_t)p->batch * (size_t)p->out_h * (size_t)p->out_w, n = (size_t)p->out_c, k = (size_t)p->in_c;
	(void)rt;
	if (effc_rt_gemm_fast_available() || !USE_XNN) {
		int st = begin(op, EFFC_RT_GEMM, in, out);
		if (st)
			return st;
		op->p.gemm = (struct effc_rt_gemm){.m = m, .n = n, .k = k, .a = in, .packed = packed_weights, .bias = bias,
						   .residual = residual, .c = out, .out_min = p->out_min,
						   .out_max = p->out_max, .act = p->act};
		return EFFC_RT_OK;
	}
#if USE_XNN
	/* XNNPACK path: it repacks the weights at create, so the unpacked copy is temporary. */
	float *w = effc_rt_alloc(64, n * k * sizeof(float));
	if (!w) {
		memset(op, 0, sizeof *op);
		return EFFC_RT_ERR_NOMEM;
	}
	effc_rt_unpack_b(n, k, packed_weights, w);
	struct effc_rt_conv2d q = *p;
	q.packed = 0;
	int st = effc_rt_conv2d_create(rt, op, &q, w, bias, in, out);
	effc_rt_free(w);
	if (st)
		return st;
	op->in[1] = NULL; /* freed: XNNPACK holds its own copy */
	op->w[0] = residual;
	op->post_act = op->post_act || residual;
	return EFFC_RT_OK;
#endif
}

int effc_rt_fc_create(struct effc_rt *rt, struct effc_rt_op *op, size_t batch, size_t in_c, size_t out_c,
		      const float *weights, const float *bias, float out_min, float out_max, const float *in,
		      float *out)
{
	int st = begin(op, USE_XNN ? EFFC_RT_XNN : EFFC_RT_MATMUL_REF, in, out);
	if (st || !weights)
		return st ? st : fail_args(op);
#if USE_XNN
	xnn_operator_t x = NULL;
	enum xnn_status s = xnn_create_fully_connected_nc_f32(in_c, out_c, in_c, out_c, weights, bias, out_min, out_max, 0, &x);
	if (s == xnn_status_success)
		s = xnn_setup_fully_connected_nc_f32(x, batch, in, out, rt->pool);
	return finish_xnn(op, x, s);
#else
	(void)rt;
	op->p.mm = (struct effc_rt_matmul){.m = (int)batch, .n = (int)out_c, .k = (int)in_c, .a_sm = (ptrdiff_t)in_c,
					   .a_sk = 1, .b_sk = 1, .b_sn = (ptrdiff_t)in_c, .bias_sn = 1, .alpha = 1.0f,
					   .beta = 1.0f, .out_min = out_min, .out_max = out_max};
	op->in[1] = weights;
	op->in[2] = bias;
	return EFFC_RT_OK;
#endif
}

int effc_rt_matmul_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_matmul *p,
			  const float *a, const float *b, const float *bias, float *out)
{
	(void)rt;
	int st = begin(op, EFFC_RT_MATMUL_REF, a, out);
	if (st || !b || !p)
		return st ? st : fail_args(op);
	op->p.mm = *p;
	op->in[1] = b;
	op->in[2] = bias;
	return EFFC_RT_OK;
}

int effc_rt_binary_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_binary *p,
			  const float *a, const float *b, float *out)
{
	int st = begin(op, USE_XNN ? EFFC_RT_XNN : EFFC_RT_BINARY_REF, a, out);
	if (st || !b || !p || p->rank < 1 || p->rank > EFFC_RT_MAX_RANK)
		return st ? st : fail_args(op);
	op->p.bin = *p;
	op->in[1] = b;
#if USE_XNN
	xnn_operator_t x = NULL;
	enum xnn_status s;
	switch (p->op) {
	case EFFC_RT_ADD: s = xnn_create_add_nd_f32(p->out_min, p->out_max, 0, &x); break;
	case EFFC_RT_SUB: s = xnn_create_subtract_nd_f32(p->out_min, p->out_max, 0, &x); break;
	case EFFC_RT_MUL: s = xnn_create_multiply_nd_f32(p->out_min, p->out_max, 0, &x); break;
	default: s = xnn_create_divide_nd_f32(p->out_min, p->out_max, 0, &x); break;
	}
	if (s != xnn_status_success)
		return finish_xnn(op, x, s);
	const size_t r = (size_t)p->rank;
	switch (p->op) {
	case EFFC_RT_ADD: s = xnn_setup_add_nd_f32(x, r, p->a_shape, r, p->b_shape, a, b, out, rt->pool); break;
	case EFFC_RT_SUB: s = xnn_setup_subtract_nd_f32(x, r, p->a_shape, r, p->b_shape, a, b, out, rt->pool); break;
	case EFFC_RT_MUL: s = xnn_setup_multiply_nd_f32(x, r, p->a_shape, r, p->b_shape, a, b, out, rt->pool); break;
	default: s = xnn_setup_divide_nd_f32(x, r, p->a_shape, r, p->b_shape, a, b, out, rt->pool); break;
	}
	return finish_xnn(op, x, s);
#else
	(void)rt;
	return EFFC_RT_OK;
#endif
}

int effc_rt_unary_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_unary *p,
			 const float *in, float *out, const float *lo, const float *hi)
{
	int xnn = USE_XNN && p && (p->op == EFFC_RT_SIGMOID || p->op == EFFC_RT_CLAMP || p->op == EFFC_RT_HARDSWISH);
	int st = begin(op, xnn ? EFFC_RT_XNN : p && p->op == EFFC_RT_SWISH_OP ? EFFC_RT_SWISH : EFFC_RT_UNARY_REF, in, out);
	if (st || !p)
		return st ? st : fail_args(op);
	op->p.un = *p;
	op->in[1] = lo;
	op->in[2] = hi;
	if (!xnn)
		return EFFC_RT_OK;
#if USE_XNN
	xnn_operator_t x = NULL;
	const size_t c = p->channels;
	enum xnn_status s;
	if (p->op == EFFC_RT_SIGMOID) {
		s = xnn_create_sigmoid_nc_f32(c, c, c, 0, &x);
		if (s == xnn_status_success)
			s = xnn_setup_sigmoid_nc_f32(x, p->rows, in, out, rt->pool);
	} else if (p->op == EFFC_RT_CLAMP) {
		s = xnn_create_clamp_nc_f32(c, c, c, p->min, p->max, 0, &x);
		if (s == xnn_status_success)
			s = xnn_setup_clamp_nc_f32(x, p->rows, in, out, rt->pool);
	} else {
		s = xnn_create_hardswish_nc_f32(c, c, c, 0, &x);
		if (s == xnn_status_success)
			s = xnn_setup_hardswish_nc_f32(x, p->rows, in, out, rt->pool);
	}
	return finish_xnn(op, x, s);
#else
	(void)rt;
	return EFFC_RT_OK;
#endif
}

int effc_rt_gap_create(struct effc_rt *rt, struct effc_rt_op *op, size_t batch, size_t hw, size_t channels,
		       const float *in, float *out)
{
#if USE_XNN
	int st = begin(op, EFFC_RT_XNN, in, out);
	if (st)
		return st;
	xnn_operator_t x = NULL;
	enum xnn_status s = xnn_create_global_average_pooling_nwc_f32(channels, channels, channels, -INFINITY, INFINITY, 0, &x);
	if (s == xnn_status_success)
		s = xnn_setup_global_average_pooling_nwc_f32(x, batch, hw, in, out, rt->pool);
	return finish_xnn(op, x, s);
#else
	const struct effc_rt_shape sh = {3, {batch, hw, channels}};
	return effc_rt_reduce_mean_create(rt, op, &sh, (const int[]){0, 1, 0}, in, out);
#endif
}

int effc_rt_batchnorm_create(struct effc_rt *rt, struct effc_rt_op *op, size_t outer, size_t channels,
			     size_t inner, const float *scale, const float *bias, const float *mean,
			     const float *var, float eps, const float *in, float *out)
{
	(void)rt;
	int st = begin(op, EFFC_RT_CHANNEL_AFFINE, in, out);
	if (st || !scale || !bias || !mean || !var)
		return st ? st : fail_args(op);
	op->p.affine.outer = outer;
	op->p.affine.channels = channels;
	op->p.affine.inner = inner;
	op->p.affine.var = var;
	op->p.affine.eps = eps;
	op->in[1] = scale, op->in[2] = bias, op->in[3] = mean;
	return EFFC_RT_OK;
}

int effc_rt_reduce_mean_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_shape *in_shape,
			       const int *mask, const float *in, float *out)
{
	(void)rt;
	int st = begin(op, EFFC_RT_REDUCE_MEAN, in, out);
	if (st || !in_shape || !mask || in_shape->rank < 0 || in_shape->rank > EFFC_RT_MAX_RANK)
		return st ? st : fail_args(op);
	op->p.reduce.in = *in_shape;
	memcpy(op->p.reduce.mask, mask, sizeof(int) * (size_t)in_shape->rank);
	return EFFC_RT_OK;
}

int effc_rt_softmax_create(struct effc_rt *rt, struct effc_rt_op *op, size_t outer, size_t n, size_t inner,
			   const float *in, float *out)
{
	(void)rt;
	int st = begin(op, EFFC_RT_SOFTMAX, in, out);
	if (st)
		return st;
	op->p.softmax.outer = outer, op->p.softmax.n = n, op->p.softmax.inner = inner;
	return EFFC_RT_OK;
}

int effc_rt_transpose_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_shape *in_shape,
			     const int *perm, const float *in, float *out)
{
	(void)rt;
	int st = begin(op, EFFC_RT_TRANSPOSE, in, out);
	if (st || !in_shape || !perm || in_shape->rank < 0 || in_shape->rank > EFFC_RT_MAX_RANK)
		return st ? st : fail_args(op);
	op->p.transpose.in = *in_shape;
	memcpy(op->p.transpose.perm, perm, sizeof(int) * (size_t)in_shape->rank);
	return EFFC_RT_OK;
}

int effc_rt_pad_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_shape *in_shape,
		       const int64_t *pad_begin, const int64_t *pad_end, float value, const float *in, float *out)
{
	(void)rt;
	int st = begin(op, EFFC_RT_PAD, in, out);
	if (st || !in_shape || !pad_begin || !pad_end || in_shape->rank < 0 || in_shape->rank > EFFC_RT_MAX_RANK)
		return st ? st : fail_args(op);
	op->p.pad.in = *in_shape;
	memcpy(op->p.pad.begin, pad_begin, sizeof(int64_t) * (size_t)in_shape->rank);
	memcpy(op->p.pad.end, pad_end, sizeof(int64_t) * (size_t)in_shape->rank);
	op->p.pad.value = value;
	return EFFC_RT_OK;
}

int effc_rt_scale_bias_create(struct effc_rt *rt, struct effc_rt_op *op, size_t outer, size_t channels, size_t inner,
			      const float *scale, const float *bias, const float *in, float *out)
{
	(void)rt;
	int st = begin(op, EFFC_RT_SCALE_BIAS, in, out);
	if (st || !scale || !bias)
		return st ? st : fail_args(op);
	op->p.sb.outer = outer, op->p.sb.channels = channels, op->p.sb.inner = inner;
	op->in[1] = scale, op->in[2] = bias;
	return EFFC_RT_OK;
}

int effc_rt_se_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_se *p, const float *w1,
		      const float *b1, const float *w2, const float *b2, const float *in, float *out)
{
	int st = begin(op, EFFC_RT_SE, in, out);
	if (st || !p || !w1 || !w2 || !p->channels || !p->reduced || !p->hw || !p->batch)
		return st ? st : fail_args(op);
	op->p.se = *p;
	op->w[0] = w1, op->w[1] = b1, op->w[2] = w2, op->w[3] = b2;
	/* pooled [batch][C], hidden [Cr], gate [C] */
	op->scratch = effc_rt_alloc(64, sizeof(float) * (p->batch * p->channels + p->reduced + p->channels));
	if (!op->scratch) {
		memset(op, 0, sizeof *op);
		return EFFC_RT_ERR_NOMEM;
	}
#if USE_XNN
	xnn_operator_t x = NULL;
	enum xnn_status s = xnn_create_global_average_pooling_nwc_f32(p->channels, p->channels, p->channels, -INFINITY,
								       INFINITY, 0, &x);
	if (s == xnn_status_success)
		s = xnn_setup_global_average_pooling_nwc_f32(x, p->batch, p->hw, in, op->scratch, rt->pool);
	if (s != xnn_status_success) {
		if (x)
			xnn_delete_operator(x);
		effc_rt_free(op->scratch);
		memset(op, 0, sizeof *op);
		return xnn_err(s);
	}
	op->xnn = x;
#else
	(void)rt;
#endif
	return EFFC_RT_OK;
}

struct se_args {
	size_t channels;
	const float *gate, *in;
	float *out;
};
static void se_scale_range(void *arg, size_t start, size_t count)
{
	const struct se_args *a = arg;
	effc_rt_scale_rows(start, start + count, a->channels, a->gate, a->in, a->out);
}

static int run_se(struct effc_rt *rt, struct effc_rt_op *op)
{
	const struct effc_rt_se *p = &op->p.se;
	const float *w1 = op->w[0], *b1 = op->w[1], *w2 = op->w[2], *b2 = op->w[3];
#if USE_XNN
	enum xnn_status s = xnn_run_operator(op->xnn, rt->pool);
	if (s != xnn_status_success)
		return xnn_err(s);
#else
	effc_rt_ref_gap(p->batch, p->hw, p->channels, op->in[0], op->scratch);
#endif
	float *hidden = op->scratch + p->batch * p->channels, *gate = hidden + p->reduced;
	for (size_t b = 0; b < p->batch; b++) {
		const float *pooled = op->scratch + b * p->channels;
		for (size_t j = 0; j < p->reduced; j++) {
			float h = b1 ? b1[j] : 0.0f;
			const float *w = w1 + j * p->channels;
			for (size_t k = 0; k < p->channels; k++)
				h += w[k] * pooled[k];
			h = h < p->act_min ? p->act_min : h > p->act_max ? p->act_max : h;
			hidden[j] = h;
		}
		if (p->act == EFFC_RT_ACT_SWISH)
			effc_rt_swish(p->reduced, hidden, hidden);
		else if (p->act == EFFC_RT_ACT_HARDSWISH)
			effc_rt_hardswish(p->reduced, hidden, hidden);
		for (size_t c = 0; c < p->channels; c++) {
			float a = b2 ? b2[c] : 0.0f;
			const float *w = w2 + c * p->reduced;
			for (size_t j = 0; j < p->reduced; j++)
				a += w[j] * hidden[j];
			gate[c] = a;
		}
		if (p->gate == EFFC_RT_GATE_SIGMOID) {
			/* sigmoid(a) = swish(a) / a is unstable at 0: compute it directly. */
			for (size_t c = 0; c < p->channels; c++)
				gate[c] = 1.0f / (1.0f + expf(-gate[c]));
		} else {
			for (size_t c = 0; c < p->channels; c++) {
				float v = p->gate_alpha * gate[c] + p->gate_beta;
				gate[c] = v < 0 ? 0 : v > 1 ? 1 : v;
			}
		}
		size_t off = b * p->hw * p->channels;
		struct se_args a = {p->channels, gate, op->in[0] + off, op->out + off};
		parallel_for(rt, p->hw, 16, se_scale_range, &a);
	}
	return EFFC_RT_OK;
}

int effc_rt_copy_create(struct effc_rt *rt, struct effc_rt_op *op, size_t bytes, const float *in, float *out)
{
	(void)rt;
	int st = begin(op, EFFC_RT_COPY, in, out);
	op->bytes = bytes;
	return st;
}

static void gemm_task(void *arg, size_t start, size_t count)
{
	effc_rt_gemm_fast(arg, start, start + count); /* falls back to the portable loop without AVX2 */
}

static void run_gemm(struct effc_rt *rt, struct effc_rt_gemm *g)
{
	/* Row tiles in multiples of the kernel's 6 rows, about four per thread. */
	size_t tile = rt->pool ? (g->m / ((size_t)rt->threads * 4) + 5) / 6 * 6 : g->m;
	if (tile < 6)
		tile = 6;
	if (!rt->pool || tile >= g->m)
		gemm_task(g, 0, g->m);
#if USE_XNN
	else
		pthreadpool_parallelize_1d_tile_1d(rt->pool, gemm_task, g, g->m, tile, 0);
#endif
}

int effc_rt_run(struct effc_rt *rt, struct effc_rt_op *op)
{
	switch (op->kind) {
#if USE_XNN
	case EFFC_RT_XNN: {
		int st = xnn_err(xnn_run_operator(op->xnn, rt->pool));
		if (!st && op->post_act) {
			const size_t n = op->bytes / sizeof(float);
			apply_act(rt, op->p.conv.act, n, op->out, op->out);
			for (size_t i = 0; op->w[0] && i < n; i++)
				op->out[i] += op->w[0][i];
		}
		return st;
	}
#else
	case EFFC_RT_XNN:
		break;
#endif
	case EFFC_RT_GEMM:
		run_gemm(rt, &op->p.gemm);
		return EFFC_RT_OK;
	case EFFC_RT_CONV_REF:
		effc_rt_ref_conv2d(&op->p.conv, op->in[1], op->in[2], op->in[0], op->out);
		apply_act(rt, op->p.conv.act, op->bytes / sizeof(float), op->out, op->out);
		return EFFC_RT_OK;
	case EFFC_RT_SWISH:
		apply_act(rt, EFFC_RT_ACT_SWISH, op->p.un.rows * op->p.un.channels, op->in[0], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_SCALE_BIAS:
		effc_rt_ref_scale_bias(op->p.sb.outer, op->p.sb.channels, op->p.sb.inner, op->in[1], op->in[2], op->in[0],
				       op->out);
		return EFFC_RT_OK;
	case EFFC_RT_SE:
		return run_se(rt, op);
	case EFFC_RT_MATMUL_REF:
		effc_rt_ref_matmul(&op->p.mm, op->in[0], op->in[1], op->in[2], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_BINARY_REF:
		effc_rt_ref_binary(&op->p.bin, op->in[0], op->in[1], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_UNARY_REF:
		effc_rt_ref_unary(&op->p.un, op->in[0], op->out, op->in[1], op->in[2]);
		return EFFC_RT_OK;
	case EFFC_RT_CHANNEL_AFFINE:
		effc_rt_ref_channel_affine(op->p.affine.outer, op->p.affine.channels, op->p.affine.inner, op->in[1],
					   op->in[2], op->in[3], op->p.affine.var, op->p.affine.eps, op->in[0], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_REDUCE_MEAN:
		effc_rt_ref_reduce_mean(&op->p.reduce.in, op->p.reduce.mask, op->in[0], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_SOFTMAX:
		effc_rt_ref_softmax(op->p.softmax.outer, op->p.softmax.n, op->p.softmax.inner, op->in[0], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_TRANSPOSE:
		effc_rt_ref_transpose(&op->p.transpose.in, op->p.transpose.perm, op->in[0], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_PAD:
		effc_rt_ref_pad(&op->p.pad.in, op->p.pad.begin, op->p.pad.end, op->p.pad.value, op->in[0], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_COPY:
		if (op->out != op->in[0])
			memmove(op->out, op->in[0], op->bytes);
		return EFFC_RT_OK;
	case EFFC_RT_NONE:
		break;
	}
	return EFFC_RT_ERR_ARGS;
}

void effc_rt_op_destroy(struct effc_rt_op *op)
{
#if USE_XNN
	if (op && (op->kind == EFFC_RT_XNN || op->kind == EFFC_RT_SE) && op->xnn)
		xnn_delete_operator(op->xnn);
#endif
	if (op && op->scratch)
		effc_rt_free(op->scratch);
	if (op)
		op->scratch = NULL;
	if (op)
		op->xnn = NULL, op->kind = EFFC_RT_NONE;
}
