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

/* Memory accounting. A context's create runs on one thread, from effc_rt_init to
 * effc_rt_init_done, and every allocation in between comes from that thread (XNNPACK creates
 * operators synchronously on the caller). So one per-thread running count, allocations minus
 * frees of the runtime's buffers and of XNNPACK's, read at both ends, gives the bytes that
 * create left allocated, with no lock and without attributing XNNPACK's blocks to an rt
 * (its allocator has no per-call context). Unsigned wrap-around keeps the difference right. */
static _Thread_local size_t created_bytes;

/* The runtime's own buffers: the size the default hook really requests (whole 64-byte lines). */
static size_t line_bytes(size_t size) { return (size + 63) / 64 * 64; }
static void *counted_alloc(size_t size)
{
	void *p = effc_rt_alloc(64, size);
	if (p)
		created_bytes += line_bytes(size);
	return p;
}
/* For buffers freed before create returns (temporaries, a grown rt->work); buffers freed at
 * destroy need no count, as the figure is the one taken at the end of create. */
static void counted_release(void *p, size_t size)
{
	if (!p)
		return;
	effc_rt_free(p);
	created_bytes -= line_bytes(size);
}

#if !defined(EFFC_RT_PORTABLE)
#include <stdatomic.h>
/* XNNPACK's allocations, through the allocator effc_rt_init hands to xnn_initialize: the same
 * malloc/realloc/aligned_alloc calls as XNNPACK's default allocator, plus a header before each
 * block that records its size (and, for aligned blocks, the offset back to the malloc'd base). */
struct xnn_hdr {
	size_t size, offset;
};
#define XNN_HDR (sizeof(struct xnn_hdr) > _Alignof(max_align_t) ? sizeof(struct xnn_hdr) : _Alignof(max_align_t))
static atomic_size_t xnn_live_bytes;

static void *xnn_count(unsigned char *base, size_t offset, size_t size)
{
	if (!base)
		return NULL;
	struct xnn_hdr h = {size, offset};
	memcpy(base + offset - sizeof h, &h, sizeof h);
	atomic_fetch_add_explicit(&xnn_live_bytes, size, memory_order_relaxed);
	created_bytes += size;
	return base + offset;
}
static struct xnn_hdr xnn_uncount(void *p)
{
	struct xnn_hdr h;
	memcpy(&h, (unsigned char *)p - sizeof h, sizeof h);
	atomic_fetch_sub_explicit(&xnn_live_bytes, h.size, memory_order_relaxed);
	created_bytes -= h.size;
	return h;
}
static void *xnn_counting_allocate(void *ctx, size_t size)
{
	(void)ctx;
	return xnn_count(malloc(XNN_HDR + size), XNN_HDR, size);
}
static void *xnn_counting_reallocate(void *ctx, void *p, size_t size)
{
	(void)ctx;
	if (!p)
		return xnn_counting_allocate(ctx, size);
	struct xnn_hdr h = xnn_uncount(p);
	unsigned char *base = realloc((unsigned char *)p - h.offset, XNN_HDR + size);
	if (!base) /* the old block stays valid and counted */
		return xnn_count((unsigned char *)p - h.offset, h.offset, h.size), NULL;
	return xnn_count(base, XNN_HDR, size);
}
static void xnn_counting_deallocate(void *ctx, void *p)
{
	(void)ctx;
	if (p)
		free((unsigned char *)p - xnn_uncount(p).offset);
}
static void *xnn_counting_aligned_allocate(void *ctx, size_t align, size_t size)
{
	(void)ctx;
	/* align is a power of two: the header fits in one alignment unit, or in XNN_HDR bytes,
	 * which is then a multiple of align. */
	const size_t offset = align > XNN_HDR ? align : XNN_HDR;
	const size_t a = align > _Alignof(max_align_t) ? align : _Alignof(max_align_t);
	return xnn_count(aligned_alloc(a, (offset + size + a - 1) / a * a), offset, size);
}
static const struct xnn_allocator xnn_counting_allocator = {
	.allocate = xnn_counting_allocate,
	.reallocate = xnn_counting_reallocate,
	.deallocate = xnn_counting_deallocate,
	.aligned_allocate = xnn_counting_aligned_allocate,
	.aligned_deallocate = xnn_counting_deallocate,
};
size_t effc_rt_backend_live_bytes(void) { return atomic_load_explicit(&xnn_live_bytes, memory_order_relaxed); }
#else
size_t effc_rt_backend_live_bytes(void) { return 0; }
#endif

void effc_rt_init_done(struct effc_rt *rt)
{
	if (rt)
		rt->created_bytes = created_bytes - rt->created_mark;
}

int effc_rt_init(struct effc_rt *rt, int num_threads)
{
	if (!rt || num_threads < 0)
		return EFFC_RT_ERR_ARGS;
	memset(rt, 0, sizeof *rt);
	rt->threads = 1;
#if USE_XNN
	/* XNNPACK keeps the allocator of its first xnn_initialize in the process: when the
	 * application initialised it before us, its blocks go uncounted (see effc_rt.h). */
	if (xnn_initialize(&xnn_counting_allocator) != xnn_status_success)
		return EFFC_RT_ERR_BACKEND;
#endif
	/* After xnn_initialize: its first call's process-wide tables belong to no context. */
	rt->created_mark = created_bytes;
#if USE_XNN
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
	if (rt && rt->work)
		effc_rt_free(rt->work);
	if (rt)
		rt->pool = NULL, rt->work = NULL, rt->work_bytes = 0;
}

/* Grows rt->work to at least bytes; ops read rt->work at run time, never at create. */
static int reserve_work(struct effc_rt *rt, size_t bytes)
{
	if (bytes <= rt->work_bytes)
		return EFFC_RT_OK;
	float *w = counted_alloc(bytes);
	if (!w)
		return EFFC_RT_ERR_NOMEM;
	counted_release(rt->work, rt->work_bytes);
	rt->work = w;
	rt->work_bytes = bytes;
	return EFFC_RT_OK;
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
/* About eight pieces per thread (GEMMs: eight row tiles, or four column pieces, per thread):
 * the two vCPUs of this VM are often unequal (at times one runs 35% slower, which one changing
 * from minute to minute), and pthreadpool's work stealing can only even them out by whole
 * pieces. From four (GEMM columns: two) per thread, in-process A/B at 2 threads: B3 0.963x and
 * 0.971x, B1 0.954x, B0 0.985x in slow minutes; B3 0.998x in a quiet one (its fastest quarter
 * of the pairs 1.014x). */
static void parallel_for(struct effc_rt *rt, size_t n, size_t min_tile, range_fn fn, void *arg)
{
	size_t tile = rt->pool ? n / ((size_t)rt->threads * 8) : n;
	/* Pieces start at multiples of min_tile: Swish over a piece (act_range, min_tile 4096) then
	 * takes its vector path on the same elements at any thread count, and the output is the same. */
	tile = tile < min_tile ? min_tile : (tile + min_tile - 1) / min_tile * min_tile;
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

/* The number of row parts of an op with one buffer per thread (see run_tasks). */
static size_t task_count(const struct effc_rt *rt) { return rt->pool && rt->threads > 1 ? (size_t)rt->threads : 1; }

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

/* EFFC_RT_UNARY over elements [start, start + count) of the op (arg). Pieces start at multiples
 * of 4096 (see parallel_for), so every thread count gives the same bits. */
static void unary_range(void *arg, size_t start, size_t count)
{
	const struct effc_rt_op *op = arg;
	const float *in = op->in[0] + start;
	float *out = op->out + start;
	if (op->p.un.op == EFFC_RT_HARDSIGMOID)
		effc_rt_hardsigmoid(count, op->p.un.alpha, op->p.un.beta, in, out);
	else if (op->p.un.op == EFFC_RT_FAKE_QUANT)
		effc_rt_fake_quant(count, op->p.un.alpha, op->p.un.beta, op->p.un.min, op->p.un.max, in, out);
	else if (op->p.un.op == EFFC_RT_QUANT_VALUES)
		effc_rt_quant_values(count, op->p.un.alpha, op->p.un.beta, op->p.un.min, op->p.un.max, in, out);
	else if (op->p.un.op == EFFC_RT_DEQUANT_VALUES)
		effc_rt_dequant_values(count, op->p.un.alpha, op->p.un.beta, in, out);
	else
		effc_rt_hardswish(count, in, out);
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

/* Winograd F(2x2, 3x3) where it pays: 3x3, stride 1, no dilation, and at least 8 input and 8
 * output channels (below that the transforms cost more than the multiplies they save). On
 * either instruction set's tiles: in-process A/B of V2-S at 384, 1 thread, Zen 5, against
 * im2col: 0.83x with the AVX-512 tiles, 0.78x with the AVX2 ones. */
static int wino_fits(const struct effc_rt_conv2d *p)
{
	return p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 && p->dh == 1 && p->dw == 1 && p->in_c >= 8 &&
	       p->out_c >= 8 && effc_rt_gemm_fast_available();
}

/* Tiles per Winograd step: V and M about 192 KB together (in L2 with U), in balanced steps. */
static size_t wino_tiles(const struct effc_rt_conv2d *p)
{
	const size_t tw = ((size_t)p->out_w + 1) / 2, per_tile = 16 * ((size_t)p->in_c + (size_t)p->out_c) * sizeof(float);
	size_t t = (192u << 10) / per_tile;
	t = t < 12 ? 12 : t;
	const size_t steps = (tw + t - 1) / t;
	return (tw + steps - 1) / steps;
}

/* Up to EFFC_RT_IM2COL_MAX_K taps x input channels a dense convolution runs as im2col + our
 * GEMM. The stem (K = 27): XNNPACK's convolution runs its spilling GEMM kernel there and a
 * separate activation sweep; ours applies the activation in the GEMM's store step. The
 * Fused-MBConv expansions of EfficientNetV2 (K = 216 to 864): with AVX-512 the interior pixels
 * read the image in place (effc_rt_gemm_segments), and V2-S's 3x3 convolutions ran at 147-203
 * GFLOP/s against XNNPACK's 129-181 (Zen 5, one thread, per-op profile). Past the limit a
 * row's gather buffer (out_w x K floats) would outgrow L2. */
static int im2col_init(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p, const float *weights,
		       const float *bias, const float *in, float *out, size_t band_floats)
{
	int st = begin(op, EFFC_RT_IM2COL, in, out);
	if (st)
		return st;
	const size_t C = (size_t)p->in_c, K = (size_t)p->kh * (size_t)p->kw * C, N = (size_t)p->out_c;
	const size_t np = (N + 15) / 16 * 16, tasks = task_count(rt);
	const int wino = wino_fits(p);
	const size_t wt = wino ? wino_tiles(p) : 0, wk = wino ? 16 * C : K; /* packed floats: np x wk */
	const size_t buf = ((wino ? 16 * wt * (C + N) : (size_t)p->out_w * K) + 15) / 16 * 16;
	/* mem: the packed weights, each task's buffer, each task's band, the padding's zeros */
	const size_t bufs = np * wk, bands = bufs + tasks * buf, zeros = bands + tasks * band_floats;
	const size_t floats = zeros + (wino ? (C + 15) / 16 * 16 : 0);
	float *mem = counted_alloc(sizeof(float) * floats);
	float *u = wino ? counted_alloc(sizeof(float) * 16 * N * C) : NULL; /* U before packing */
	if (!mem || (wino && !u)) {
		counted_release(mem, sizeof(float) * floats);
		counted_release(u, sizeof(float) * 16 * N * C);
		return memset(op, 0, sizeof *op), EFFC_RT_ERR_NOMEM;
	}
	if (wino) {
		effc_rt_wino_weights(N, C, weights, u);
		for (size_t xi = 0; xi < 16; xi++)
			effc_rt_pack_b(N, C, u + xi * N * C, mem + xi * np * C);
		counted_release(u, sizeof(float) * 16 * N * C);
		memset(mem + zeros, 0, (floats - zeros) * sizeof(float));
	} else {
		effc_rt_pack_b(N, K, weights, mem); /* OHWI rows are the GEMM's [n][k] */
	}
	op->scratch = mem;
	op->p.im2col = (struct effc_rt_im2col){.p = *p, .in = in, .packed = mem, .bias = bias, .out = out,
					       .bufs = mem + bufs, .k = K, .buf_floats = buf, .tasks = tasks,
					       .band_floats = band_floats, .bands = mem + bands, .wino = wino,
					       .wino_t = wt, .zeros = mem + zeros};
	return EFFC_RT_OK;
}

static int im2col_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			 const float *weights, const float *bias, const float *in, float *out)
{
	return im2col_init(rt, op, p, weights, bias, in, out, 0);
}

static int im2col_fits(const struct effc_rt_conv2d *p)
{
	return p->nhwc && p->groups == 1 && p->batch >= 1 && p->kh >= 1 && p->kw >= 1 &&
	       (size_t)p->kh * (size_t)p->kw * (size_t)p->in_c <= EFFC_RT_IM2COL_MAX_K && effc_rt_gemm_fast_available();
}

/* XNNPACK's convolution, or the reference where there is no XNNPACK or the layout is NCHW. */
static int conv2d_create_xnn(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			     const float *weights, const float *bias, const float *in, float *out)
{
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

int effc_rt_conv2d_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			  const float *weights, const float *bias, const float *in, float *out)
{
	if (p && p->packed)
		return effc_rt_conv1x1_create(rt, op, p, weights, bias, NULL, NULL, in, out);
	/* A depthwise convolution without an SE after it (EfficientNet-Lite, MobileNet's blocks
	 * without one) takes the same rule as one with: our kernel where it pays, with the clamp
	 * and the activation in registers, else XNNPACK. It had always gone to XNNPACK, a quarter
	 * of an EfficientNet-Lite-B0's time. */
	if (p && p->nhwc && p->groups > 1 && p->groups == p->in_c && p->in_c == p->out_c)
		return effc_rt_dwconv_create(rt, op, p, weights, bias, in, out, NULL);
	if (rt && p && weights && in && out && im2col_fits(p))
		return im2col_create(rt, op, p, weights, bias, in, out);
	return conv2d_create_xnn(rt, op, p, weights, bias, in, out);
}

int effc_rt_conv1x1_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			   const float *packed_weights, const float *bias, const float *residual, const float *in_scale,
			   const float *in, float *out)
{
	if (!rt || !p || !packed_weights || !in || !out || p->kh != 1 || p->kw != 1 || p->sh != 1 || p->sw != 1 ||
	    p->groups != 1 || p->pad_top || p->pad_left || p->pad_bottom || p->pad_right || !p->nhwc || p->batch < 1)
		return fail_args(op);
	const size_t m = (size_t)p->batch * (size_t)p->out_h * (size_t)p->out_w, n = (size_t)p->out_c, k = (size_t)p->in_c;
	const size_t hw = m / (size_t)p->batch, np = (n + 15) / 16 * 16;
	if (effc_rt_gemm_fast_available() || !USE_XNN) {
		int st = begin(op, EFFC_RT_GEMM, in, out);
		if (st)
			return st;
		op->p.gemm = (struct effc_rt_gemm){.m = m, .n = n, .k = k, .a = in, .packed = packed_weights, .bias = bias,
						   .residual = residual, .c = out, .out_min = p->out_min,
						   .out_max = p->out_max, .act = p->act};
		if (in_scale) {
			op->in_scale = in_scale;
			op->batch = (size_t)p->batch;
			op->scale_weights = np < hw;
			st = reserve_work(rt, sizeof(float) * k * (op->scale_weights ? np : hw));
			if (st)
				memset(op, 0, sizeof *op);
		}
		return st;
	}
#if USE_XNN
	/* XNNPACK path: it repacks the weights at create, so the unpacked copy is temporary. With
	 * an input scale, XNNPACK reads a scaled copy of the input kept in op->scratch. */
	float *w = counted_alloc(n * k * sizeof(float)), *scaled = NULL;
	if (in_scale)
		scaled = counted_alloc(m * k * sizeof(float));
	if (!w || (in_scale && !scaled)) {
		if (w)
			effc_rt_free(w);
		if (scaled)
			effc_rt_free(scaled);
		memset(op, 0, sizeof *op);
		return EFFC_RT_ERR_NOMEM;
	}
	effc_rt_unpack_b(n, k, packed_weights, w);
	struct effc_rt_conv2d q = *p;
	q.packed = 0;
	int st = conv2d_create_xnn(rt, op, &q, w, bias, scaled ? scaled : in, out);
	counted_release(w, n * k * sizeof(float));
	if (st) {
		if (scaled)
			effc_rt_free(scaled);
		return st;
	}
	op->in[1] = NULL; /* freed: XNNPACK holds its own copy */
	op->w[0] = residual;
	op->post_act = op->post_act || residual;
	if (in_scale) {
		op->in[0] = in;
		op->scratch = scaled;
		op->in_scale = in_scale;
		op->batch = (size_t)p->batch;
	}
	return EFFC_RT_OK;
#endif
}

/* Where our depthwise kernel (activation and row sums swept per row while it is in cache) beats
 * XNNPACK's plus our sweep over the whole tensor, measured in the whole model (in-process A/B):
 * 5x5 kernels over maps 14 and wider, and narrow tensors (B0's first block, 32 channels at
 * 112x112; B3's, 40 channels at 150x150, stride 1: B3 0.985x; B4's and B5's first blocks, 48
 * channels at 190 and 228, are the same kind). In a kernel microbenchmark ours (16-channel
 * tiles) also won on 3x3 stride 1 up to 20 wide and on 5x5 over 7-10 wide maps, by 10-25%, but
 * giving it those layers measured 0.4% slower on B0 and 2% on B3, and 1.00x on B3 when tried
 * again (slower in quiet minutes, faster in loaded ones). The microbenchmark's input and output
 * stay in cache between runs, the model's do not; why that favours XNNPACK is not established.
 * XNNPACK is 20-27% faster on 3x3 stride 2. All that was AVX2 on a Zen 3. With AVX-512 (Zen 4)
 * ours takes every layer its AVX-512 kernels cover (3x3 and 5x5, channels a multiple of 16):
 * B3's depthwise layers went from 5.8 to 4.4 ms of 42 at 1 thread (per-op profile), and in-process A/B
 * measured 0.972 / 0.978 (1 / 2 threads) on B0, 0.973 / 0.993 on B1, 0.973 / 0.987 on B3. */
static int own_dw_pays(const struct effc_rt_conv2d *p)
{
	if (effc_rt_dw_avx512(p))
		return 1;
	return (p->kw >= 5 && p->out_w >= 14) || p->out_c <= 32 ||
	       (p->out_c <= 48 && p->sh == 1 && p->sw == 1 && p->out_w >= 56);
}

int effc_rt_dwconv_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
			  const float *weights, const float *bias, const float *in, float *out, float *row_sums)
{
	if (!p || p->groups != p->in_c || p->in_c != p->out_c || p->packed)
		return fail_args(op);
	if (rt && weights && in && out && p->batch >= 1 && effc_rt_gemm_fast_available() && p->nhwc && p->kh <= 16 &&
	    own_dw_pays(p)) {
		int st = begin(op, EFFC_RT_DW, in, out);
		if (st)
			return st;
		float *w = counted_alloc(sizeof(float) * (size_t)p->out_c * (size_t)(p->kh * p->kw));
		if (!w)
			return memset(op, 0, sizeof *op), EFFC_RT_ERR_NOMEM;
		effc_rt_pack_dw((size_t)p->out_c, (size_t)p->kh, (size_t)p->kw, weights, w);
		op->scratch = w;
		op->p.dw = (struct effc_rt_dw){.p = *p, .w = w, .bias = bias, .in = in, .out = out, .row_sums = row_sums,
					       .prefetch = 1};
		return EFFC_RT_OK;
	}
	int st = conv2d_create_xnn(rt, op, p, weights, bias, in, out);
	if (st)
		return st;
	op->row_sums = row_sums;
	op->post_act = op->post_act || row_sums;
	return EFFC_RT_OK;
}

/* The packed 1x1 convolution that a fused op runs before or after its own convolution p (the
 * expansion, the projection): p's batch, an h x w map, in_c -> out_c channels. */
static struct effc_rt_conv2d pointwise_params(const struct effc_rt_conv2d *p, int h, int w, int in_c, int out_c,
					      enum effc_rt_act act, float out_min, float out_max)
{
	return (struct effc_rt_conv2d){.batch = p->batch, .in_h = h, .in_w = w, .in_c = in_c, .out_h = h, .out_w = w,
				       .out_c = out_c, .groups = 1, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1,
				       .out_min = out_min, .out_max = out_max, .nhwc = 1, .packed = 1, .act = act};
}

int effc_rt_conv_project_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *p,
				const struct effc_rt_project *q, const float *w, const float *b, const float *wp,
				const float *bp, const float *residual, const float *in, float *out)
{
	if (!rt || !p || !q || !w || !wp || !in || !out || !p->nhwc || p->packed || p->groups != 1 || p->batch < 1 ||
	    p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->out_h < 1 || p->out_w < 1 ||
	    p->in_c < 1 || p->out_c < 1 || !q->out_c)
		return fail_args(op);
	const size_t rows = (size_t)p->batch * (size_t)p->out_h, OW = (size_t)p->out_w, N = (size_t)p->out_c;
	const struct effc_rt_conv2d pw = pointwise_params(p, p->out_h, p->out_w, p->out_c, (int)q->out_c, q->act, q->out_min,
							  q->out_max);
	if (!im2col_fits(p)) {
		/* Two ops through a private copy of the expanded tensor: XNNPACK's convolution (or
		 * the reference), then the projection on whichever path conv1x1 takes. */
		struct effc_rt_op *pair = counted_alloc(2 * sizeof *pair);
		float *mid = counted_alloc(rows * OW * N * sizeof(float));
		int st = pair && mid ? EFFC_RT_OK : EFFC_RT_ERR_NOMEM;
		if (!st) {
			memset(pair, 0, 2 * sizeof *pair);
			st = effc_rt_conv2d_create(rt, &pair[0], p, w, b, in, mid);
			if (!st)
				st = effc_rt_conv1x1_create(rt, &pair[1], &pw, wp, bp, residual, NULL, mid, out);
		}
		if (st) {
			if (pair) {
				effc_rt_op_destroy(&pair[0]);
				effc_rt_op_destroy(&pair[1]);
				effc_rt_free(pair);
			}
			if (mid)
				effc_rt_free(mid);
			memset(op, 0, sizeof *op);
			return st;
		}
		memset(op, 0, sizeof *op);
		op->kind = EFFC_RT_PAIR;
		op->pair = pair;
		op->pair_buf = mid;
		op->in[0] = in;
		op->out = out;
		return EFFC_RT_OK;
	}
	/* Bands of output rows whose expanded tensor is about 160 KB (L2 is 1 MB on Zen 4 and 5,
	 * shared with the convolution's packed weights, 330 KB at V2-S's 48 -> 192, and its input
	 * rows), but with at least 48 pixels: the projection GEMM is inefficient on fewer rows. */
	size_t band = (160u << 10) / (OW * N * sizeof(float)), tasks = task_count(rt);
	if (band * OW < 48)
		band = (48 + OW - 1) / OW;
	const size_t share = (rows + tasks - 1) / tasks;
	band = band < share ? band : share;
	band = band ? band : 1;
	if (wino_fits(p)) /* whole tile rows of two output rows */
		band = (band + 1) / 2 * 2;
	int st = im2col_init(rt, op, p, w, b, in, out, (band * OW * N + 15) / 16 * 16);
	if (st)
		return st;
	struct effc_rt_im2col *c = &op->p.im2col;
	c->band = band;
	c->proj = (struct effc_rt_gemm){.n = q->out_c, .k = N, .packed = wp, .bias = bp, .residual = residual, .c = out,
					.out_min = q->out_min, .out_max = q->out_max, .act = q->act};
	return EFFC_RT_OK;
}

/* The unfused form of an MBConv op, where our GEMM has no fast path: [expansion,] depthwise
 * [, projection] as two or three ops through private tensors. */
static int mbconv_unfused(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *dw,
			  const struct effc_rt_expand *e, const float *we, const float *be, const float *wd,
			  const float *bd, const struct effc_rt_project *q, const float *wp, const float *bp,
			  const float *residual, const float *in, float *out, float *row_sums)
{
	const size_t N = (size_t)dw->out_c, taps = (size_t)dw->kh * (size_t)dw->kw;
	const size_t in_px = (size_t)dw->batch * (size_t)dw->in_h * (size_t)dw->in_w;
	const size_t out_px = (size_t)dw->batch * (size_t)dw->out_h * (size_t)dw->out_w;
	const int n = 1 + (e != NULL) + (q != NULL);
	struct effc_rt_op *ops = counted_alloc((size_t)n * sizeof *ops);
	float *mid = e ? counted_alloc(in_px * N * sizeof(float)) : NULL;      /* the expanded tensor */
	float *mid2 = q ? counted_alloc(out_px * N * sizeof(float)) : NULL;    /* the depthwise's output */
	float *w = counted_alloc(N * taps * sizeof(float));
	int st = ops && w && (mid || !e) && (mid2 || !q) ? EFFC_RT_OK : EFFC_RT_ERR_NOMEM;
	int k = 0;
	if (!st) {
		memset(ops, 0, (size_t)n * sizeof *ops);
		effc_rt_unpack_dw(N, (size_t)dw->kh, (size_t)dw->kw, wd, w);
		if (e) {
			const struct effc_rt_conv2d pw = pointwise_params(dw, dw->in_h, dw->in_w, (int)e->in_c, dw->out_c, e->act,
									  e->out_min, e->out_max);
			st = effc_rt_conv1x1_create(rt, &ops[k++], &pw, we, be, NULL, NULL, in, mid);
		}
		struct effc_rt_conv2d dq = *dw;
		dq.packed = 0;
		if (!st)
			st = effc_rt_dwconv_create(rt, &ops[k++], &dq, w, bd, e ? mid : in, q ? mid2 : out, row_sums);
		if (!st && q) {
			const struct effc_rt_conv2d pj = pointwise_params(dw, dw->out_h, dw->out_w, dw->out_c, (int)q->out_c,
									  q->act, q->out_min, q->out_max);
			st = effc_rt_conv1x1_create(rt, &ops[k++], &pj, wp, bp, residual, NULL, mid2, out);
		}
	}
	if (w)
		counted_release(w, N * taps * sizeof(float)); /* the ops hold copies */
	if (st) {
		for (int i = 0; ops && i < k; i++)
			effc_rt_op_destroy(&ops[i]);
		counted_release(ops, (size_t)n * sizeof *ops);
		counted_release(mid, in_px * N * sizeof(float));
		counted_release(mid2, out_px * N * sizeof(float));
		memset(op, 0, sizeof *op);
		return st;
	}
	memset(op, 0, sizeof *op);
	op->kind = EFFC_RT_PAIR;
	op->pair = ops;
	op->n_pair = n;
	op->pair_buf = mid ? mid : mid2;
	op->pair_buf2 = mid ? mid2 : NULL;
	op->in[0] = in;
	op->out = out;
	return EFFC_RT_OK;
}

static int mbconv_init(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *dw,
		       const struct effc_rt_expand *e, const float *we, const float *be, const float *wd, const float *bd,
		       const struct effc_rt_project *q, const float *wp, const float *bp, const float *residual,
		       const float *in, float *out, float *row_sums)
{
	if (!rt || !dw || (e && (!we || !e->in_c)) || (q && (!wp || !q->out_c)) || !wd || !in || !out ||
	    dw->groups != dw->in_c || dw->in_c != dw->out_c || !dw->nhwc || dw->batch < 1 || dw->kh < 1 || dw->kw < 1 ||
	    dw->kh > 16 || dw->sh < 1 || dw->sw < 1 || dw->dh < 1 || dw->dw < 1 || dw->out_h < 1 || dw->out_w < 1)
		return fail_args(op);
	if (!effc_rt_gemm_fast_available() && USE_XNN)
		return mbconv_unfused(rt, op, dw, e, we, be, wd, bd, q, wp, bp, residual, in, out, row_sums);
	const size_t N = (size_t)dw->out_c, H = (size_t)dw->in_h, W = (size_t)dw->in_w, OW = (size_t)dw->out_w;
	int st = begin(op, EFFC_RT_MBCONV, in, out);
	if (st)
		return st;
	struct effc_rt_mbconv *m = &op->p.mb;
	*m = (struct effc_rt_mbconv){.dw = *dw, .k = e ? e->in_c : 0, .x = in, .we = e ? we : NULL, .be = e ? be : NULL,
				     .wd = wd, .bd = bd, .out = out, .row_sums = q ? NULL : row_sums,
				     .e_min = e ? e->out_min : 0, .e_max = e ? e->out_max : 0,
				     .e_act = e ? e->act : EFFC_RT_ACT_NONE};
	const size_t rows = (size_t)dw->batch * (size_t)dw->out_h;
	m->tasks = task_count(rt);
	if (m->tasks > rows)
		m->tasks = rows;
	if (e) {
		/* Bands of about 192 KB of expanded rows (effc_rt_mbconv_band). Buffer rows carry the
		 * depthwise's left and right padding as zeros. */
		const size_t pad_w = (size_t)dw->pad_left + (size_t)dw->pad_right, Wp = W + pad_w;
		const size_t span = (size_t)(dw->kh - 1) * (size_t)dw->dh + 1;
		m->band = effc_rt_mbconv_band(W, pad_w, N, (size_t)dw->kh, (size_t)dw->dh, (size_t)dw->sh);
		size_t buf_rows = (m->band - 1) * (size_t)dw->sh + span;
		if (buf_rows > H)
			buf_rows = H;
		m->buf_rows = buf_rows;
		m->buf_floats = (buf_rows * Wp * N + 15) / 16 * 16;
	} else {
		/* The depthwise reads x in place: bands of about 96 KB of its output, at least 48
		 * pixels (the projection GEMM is inefficient on fewer rows), at most a task's share. */
		size_t band = (96u << 10) / (OW * N * sizeof(float));
		if (band * OW < 48)
			band = (48 + OW - 1) / OW;
		const size_t share = (rows + m->tasks - 1) / m->tasks;
		m->band = band < share ? band : share;
		m->band = m->band ? m->band : 1;
	}
	if (q) {
		m->proj = (struct effc_rt_gemm){.n = q->out_c, .k = N, .packed = wp, .bias = bp, .residual = residual,
						.c = out, .out_min = q->out_min, .out_max = q->out_max, .act = q->act};
		m->out_floats = (m->band * OW * N + 15) / 16 * 16;
	}
	const size_t per = m->buf_floats + m->out_floats;
	m->bufs = counted_alloc(m->tasks * per * sizeof(float));
	if (!m->bufs) {
		memset(op, 0, sizeof *op);
		return EFFC_RT_ERR_NOMEM;
	}
	memset(m->bufs, 0, m->tasks * per * sizeof(float)); /* the padding columns stay zero */
	return EFFC_RT_OK;
}

int effc_rt_mbconv_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *dw,
			  const struct effc_rt_expand *e, const float *we, const float *be, const float *wd,
			  const float *bd, const float *in, float *out, float *row_sums)
{
	if (!e)
		return fail_args(op);
	return mbconv_init(rt, op, dw, e, we, be, wd, bd, NULL, NULL, NULL, NULL, in, out, row_sums);
}

int effc_rt_mbconv_project_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_conv2d *dw,
				  const struct effc_rt_expand *e, const float *we, const float *be, const float *wd,
				  const float *bd, const struct effc_rt_project *q, const float *wp, const float *bp,
				  const float *residual, const float *in, float *out)
{
	if (!q)
		return fail_args(op);
	return mbconv_init(rt, op, dw, e, we, be, wd, bd, q, wp, bp, residual, in, out, NULL);
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
	/* The reference kernel is scalar and single-threaded; what it is left with here (the dynamic
	 * Clip, and Sigmoid and Clamp without XNNPACK) is off MobileNet's and EfficientNet's hot paths. */
	int own = p && (p->op == EFFC_RT_HARDSIGMOID || p->op == EFFC_RT_FAKE_QUANT || p->op == EFFC_RT_QUANT_VALUES ||
			p->op == EFFC_RT_DEQUANT_VALUES || (!xnn && p->op == EFFC_RT_HARDSWISH));
	int st = begin(op, xnn ? EFFC_RT_XNN : p && p->op == EFFC_RT_SWISH_OP ? EFFC_RT_SWISH : own ? EFFC_RT_UNARY : EFFC_RT_UNARY_REF,
		       in, out);
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

int effc_rt_bind_input(struct effc_rt_op *op, const float *in)
{
	if (!op || !in || op->kind != EFFC_RT_TRANSPOSE)
		return EFFC_RT_ERR_ARGS;
	op->in[0] = in;
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
	op->scratch = counted_alloc(sizeof(float) * (p->batch * p->channels + p->reduced + p->channels));
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
#if USE_XNN
	enum xnn_status s = xnn_run_operator(op->xnn, rt->pool);
	if (s != xnn_status_success)
		return xnn_err(s);
#else
	effc_rt_ref_gap(p->batch, p->hw, p->channels, op->in[0], op->scratch);
#endif
	float *hidden = op->scratch + p->batch * p->channels, *gate = hidden + p->reduced;
	for (size_t b = 0; b < p->batch; b++) {
		effc_rt_se_gate_vec(p, op->w, op->scratch + b * p->channels, hidden, gate);
		size_t off = b * p->hw * p->channels;
		struct se_args a = {p->channels, gate, op->in[0] + off, op->out + off};
		parallel_for(rt, p->hw, 16, se_scale_range, &a);
	}
	return EFFC_RT_OK;
}

int effc_rt_se_gate_create(struct effc_rt *rt, struct effc_rt_op *op, const struct effc_rt_se *p, size_t rows,
			   const float *w1, const float *b1, const float *w2, const float *b2, const float *x,
			   const float *row_sums, float *gate)
{
	(void)rt;
	int st = begin(op, EFFC_RT_SE_GATE, row_sums ? row_sums : x, gate);
	if (st || !p || !w1 || !w2 || !p->channels || !p->reduced || !p->hw || !p->batch || (row_sums && !rows))
		return st ? st : fail_args(op);
	op->p.se_gate = (struct effc_rt_se_gate){.p = *p, .rows = rows, .x = x, .row_sums = row_sums, .gate = gate};
	op->w[0] = w1, op->w[1] = b1, op->w[2] = w2, op->w[3] = b2;
	op->scratch = counted_alloc(sizeof(float) * (p->channels + p->reduced)); /* pooled, hidden */
	if (!op->scratch) {
		memset(op, 0, sizeof *op);
		return EFFC_RT_ERR_NOMEM;
	}
	return EFFC_RT_OK;
}

struct se_gate_args {
	const struct effc_rt_se *p;
	const float *const *w;
	const float *pooled;
	float *hidden, *gate;
};
static void se_hidden_range(void *arg, size_t start, size_t count)
{
	const struct se_gate_args *a = arg;
	effc_rt_se_hidden(a->p, a->w, a->pooled, a->hidden, start, start + count);
}
static void se_gate_range(void *arg, size_t start, size_t count)
{
	const struct se_gate_args *a = arg;
	effc_rt_se_gate_out(a->p, a->w, a->hidden, a->gate, start, start + count);
}

/* The gate's cost is reading W1 and W2 (B0's last: 440 KB, at about 9 GB/s per core here): with
 * a pool, weights of 64 KB and more are read by all threads, each hidden unit and each gate
 * still by one thread in the same order, so the gate is the same at any thread count. */
static void run_se_gate(struct effc_rt *rt, struct effc_rt_op *op)
{
	const struct effc_rt_se_gate *g = &op->p.se_gate;
	const size_t c = g->p.channels;
	const int split = rt->pool && c * g->p.reduced >= 8192;
	float *pooled = op->scratch, *hidden = op->scratch + c;
	for (size_t b = 0; b < g->p.batch; b++) {
		if (g->row_sums) {
			const float *rs = g->row_sums + b * g->rows * c;
			for (size_t k = 0; k < c; k++)
				pooled[k] = rs[k];
			for (size_t r = 1; r < g->rows; r++)
				for (size_t k = 0; k < c; k++)
					pooled[k] += rs[r * c + k];
			for (size_t k = 0; k < c; k++)
				pooled[k] *= 1.0f / (float)g->p.hw;
		} else {
			effc_rt_ref_gap(1, g->p.hw, c, g->x + b * g->p.hw * c, pooled);
		}
		if (split) {
			struct se_gate_args a = {&g->p, op->w, pooled, hidden, g->gate + b * c};
			parallel_for(rt, g->p.reduced, 8, se_hidden_range, &a);
			parallel_for(rt, c, 8, se_gate_range, &a);
		} else {
			effc_rt_se_gate_vec(&g->p, op->w, pooled, hidden, g->gate + b * c);
		}
	}
}

int effc_rt_copy_create(struct effc_rt *rt, struct effc_rt_op *op, size_t bytes, const float *in, float *out)
{
	(void)rt;
	int st = begin(op, EFFC_RT_COPY, in, out);
	op->bytes = bytes;
	return st;
}

struct layout_args {
	size_t c, hw;
	const float *in;
	float *out;
};
static void layout_range(void *arg, size_t start, size_t count)
{
	const struct layout_args *a = arg;
	effc_rt_nchw_to_nhwc_rows(a->c, a->hw, start, start + count, a->in, a->out);
}

static void gemm_task(void *arg, size_t start, size_t count)
{
	effc_rt_gemm_fast(arg, start, start + count); /* falls back to the portable loop without AVX2 */
}

#if USE_XNN
/* Piece i of a column split: panels [i * panels / pieces, (i + 1) * panels / pieces). */
struct gemm_pieces {
	const struct effc_rt_gemm *g;
	size_t panels, pieces;
};
static void gemm_piece_task(void *arg, size_t i)
{
	const struct gemm_pieces *p = arg;
	effc_rt_gemm_fast_rect(p->g, 0, p->g->m, i * p->panels / p->pieces, (i + 1) * p->panels / p->pieces);
}
#endif

static void gemm_rows(struct effc_rt *rt, struct effc_rt_gemm *g)
{
#if USE_XNN
	/* More columns than rows (7x7 to 19x19 maps): B is the larger operand, so threads split
	 * the columns and each reads only its share of B, instead of every row tile streaming all
	 * of it. Four pieces per thread (at most one per pair of panels: a piece of one panel runs
	 * the AVX-512 tiles at 16 columns instead of 32), a multiple of the thread count and equal
	 * to within a panel, so each thread's share is too. Fixed tiles of two or four panels had
	 * left one thread a piece more or a 32-column piece against an 8-column one: B3's 19x19
	 * expansions (36 panels, 9 pieces) at 1.71x the 1-thread speed, its 10x10 projections (232
	 * columns: 7 pairs and a last panel of 8) at 1.76x. In-process A/B at 2 threads: B3
	 * 0.980-0.985x, B1 1.000x, B0 0.996x (2 or 3 pieces per thread: B3 0.981x, 0.983x). */
	const size_t panels = (g->n + 15) / 16;
	if (rt->pool && g->n > g->m && panels >= 2 && effc_rt_gemm_fast_available()) {
		const size_t T = (size_t)rt->threads;
		size_t pieces = panels / 2 < T * 4 ? panels / 2 : T * 4;
		pieces = pieces > T ? pieces / T * T : pieces;
		struct gemm_pieces gp = {g, panels, pieces ? pieces : 1};
		pthreadpool_parallelize_1d(rt->pool, gemm_piece_task, &gp, gp.pieces, 0);
		return;
	}
#endif
	/* Row tiles in multiples of the kernel's 6 rows, about eight per thread. */
	size_t tile = rt->pool ? (g->m / ((size_t)rt->threads * 8) + 5) / 6 * 6 : g->m;
	if (tile < 6)
		tile = 6;
	if (!rt->pool || tile >= g->m)
		gemm_task(g, 0, g->m);
#if USE_XNN
	else
		pthreadpool_parallelize_1d_tile_1d(rt->pool, gemm_task, g, g->m, tile, 0);
#endif
}

/* Scales GEMM panel rows (per_row: [panels][k][16] by s[row % k]) or input rows ([rows][k] by s). */
struct scale_args {
	const float *src, *s;
	float *dst;
	size_t k;
	int panels;
};
static void scale_range(void *arg, size_t start, size_t count)
{
	const struct scale_args *a = arg;
	if (a->panels)
		effc_rt_scale_panels(start, start + count, a->k, a->s, a->src, a->dst);
	else
		effc_rt_scale_rows(start, start + count, a->k, a->s, a->src, a->dst);
}

/* A pointwise convolution reading in * in_scale: per batch element, scale the smaller operand
 * into rt->work, then the plain GEMM on it. Weights on one thread: the GEMM scales them itself,
 * panel by panel as its first row tile reads them (effc_rt_gemm.b_scale), where a separate pass
 * over B (0.7% of B3 at 1 thread in perf) had its memory time hidden behind no FMAs: B3's
 * pointwise class 0.07-0.21 ms less. With more threads the row pieces would each scale all of
 * B: still the pass. */
static void run_gemm(struct effc_rt *rt, struct effc_rt_op *op)
{
	struct effc_rt_gemm *g = &op->p.gemm;
	if (!op->in_scale) {
		gemm_rows(rt, g);
		return;
	}
	const size_t hw = g->m / op->batch, panels = (g->n + 15) / 16;
	for (size_t b = 0; b < op->batch; b++) {
		struct effc_rt_gemm gb = *g;
		const float *s = op->in_scale + b * g->k;
		gb.m = hw;
		gb.a = g->a + b * hw * g->k;
		gb.c = g->c + b * hw * g->n;
		gb.residual = g->residual ? g->residual + b * hw * g->n : NULL;
		struct scale_args sa = {.s = s, .dst = rt->work, .k = g->k};
		if (op->scale_weights && task_count(rt) == 1) {
			gb.b_scale = s, gb.b_work = rt->work;
		} else if (op->scale_weights) {
			sa.src = g->packed, sa.panels = 1;
			gb.packed = rt->work;
			parallel_for(rt, panels * g->k, 8, scale_range, &sa); /* 8, not 64: 7x7 and 8x8 maps split too */
		} else {
			sa.src = gb.a;
			gb.a = rt->work;
			parallel_for(rt, hw, 8, scale_range, &sa);
		}
		gemm_rows(rt, &gb);
	}
}

struct act_sums_args {
	const struct effc_rt_conv2d *p;
	float *data, *sums;
};
static void act_sums_range(void *arg, size_t start, size_t count)
{
	const struct act_sums_args *a = arg;
	effc_rt_act_row_sums(start, start + count, (size_t)a->p->out_w, (size_t)a->p->out_c, a->p->act, a->data, a->sums);
}

/* After a convolution: its activation, or with row_sums the activation and the per-row channel
 * sums in one sweep; then the residual (pointwise on XNNPACK). */
static void conv_post(struct effc_rt *rt, struct effc_rt_op *op)
{
	const size_t n = op->bytes / sizeof(float);
	if (op->row_sums) {
		struct act_sums_args a = {&op->p.conv, op->out, op->row_sums};
		parallel_for(rt, (size_t)op->p.conv.batch * (size_t)op->p.conv.out_h, 1, act_sums_range, &a);
	} else {
		apply_act(rt, op->p.conv.act, n, op->out, op->out);
	}
	for (size_t i = 0; op->w[0] && i < n; i++)
		op->out[i] += op->w[0][i];
}

/* Output rows [start, start + count) of batch * out_h, channels [c0, c1). */
static void dw_tile(const struct effc_rt_dw *d, size_t start, size_t count, size_t c0, size_t c1)
{
	const size_t OH = (size_t)d->p.out_h, C = (size_t)d->p.out_c;
	for (size_t r = start; r < start + count;) {
		const size_t b = r / OH, oy0 = r % OH, oy1 = OH - oy0 < start + count - r ? OH : oy0 + (start + count - r);
		struct effc_rt_dw e = *d;
		e.in += b * (size_t)d->p.in_h * (size_t)d->p.in_w * C;
		e.out += b * OH * (size_t)d->p.out_w * C;
		if (e.row_sums)
			e.row_sums += b * OH * C;
		effc_rt_dw_tile(&e, oy0, oy1, c0, c1);
		r += oy1 - oy0;
	}
}

static void dw_range(void *arg, size_t start, size_t count)
{
	const struct effc_rt_dw *d = arg;
	dw_tile(d, start, count, 0, (size_t)d->p.out_c);
}

#if USE_XNN
/* A depthwise op's pieces: row tiles x channel tiles. */
struct dw_split {
	const struct effc_rt_dw *d;
	size_t C;
};
static void dw_piece(void *arg, size_t r, size_t c, size_t rows, size_t chans)
{
	const struct dw_split *s = arg;
	dw_tile(s->d, r, rows, c, c + chans < s->C ? c + chans : s->C);
}
#endif

/* Maps of up to about 1.25 rows a piece (eight pieces a thread, as parallel_for), where the
 * kernel takes channel ranges: channel tiles over all the rows. A piece of rows there was one or
 * two rows, each reading its kh input rows across all channels, written by both threads: on
 * 14x14 and 7x7 maps the depthwise ran no faster, or slower, at 2 threads than at 1. The
 * expansion before it split its columns between the threads (n > m), so a channel tile now
 * mostly reads what its own thread wrote, and a 5x5 block reads each input row from L1 for the
 * five output rows it feeds. Lite-B0 at 2 threads, per-op profile, its ten 14x14 and 7x7
 * layers: 0.66 -> 0.49-0.51 ms (two runs each); its three 3x3 ones among them 0.11-0.14 ->
 * 0.10 ms, where a kernel microbenchmark (data in cache, no producer) had 3x3 10-35% slower on
 * channel tiles. That microbenchmark at 2 threads, 5x5: 7x7x1152 0.031 -> 0.022 ms (1 thread:
 * 0.023), 14x14x672 0.041 -> 0.035, 19x19x816 0.082 -> 0.067; 28x28x240 and larger stay on
 * rows (0.043 -> 0.050 as 2 x 15 tiles). */
static void run_dw(struct effc_rt *rt, const struct effc_rt_dw *d)
{
	const size_t n = (size_t)d->p.batch * (size_t)d->p.out_h, step = effc_rt_dw_channel_step(&d->p);
	const size_t want = (size_t)rt->threads * 8;
	if (!rt->pool || !step || n > want + want / 4) {
		parallel_for(rt, n, 1, dw_range, (void *)d);
		return;
	}
#if USE_XNN
	const size_t C = (size_t)d->p.out_c, blocks = (C + step - 1) / step;
	/* about `want` tiles: whole rows and several blocks, or one block and row groups */
	size_t ch_tile = step, row_tile = n;
	if (blocks >= want)
		ch_tile = (blocks + want - 1) / want * step;
	else
		row_tile = (n + (want + blocks - 1) / blocks - 1) / ((want + blocks - 1) / blocks);
	struct dw_split sp = {d, C};
	pthreadpool_parallelize_2d_tile_2d(rt->pool, dw_piece, &sp, n, C, row_tile, ch_tile, 0);
#endif
}

static void mbconv_task(void *arg, size_t t) { effc_rt_mbconv_task(arg, t); }
static void im2col_task(void *arg, size_t t) { effc_rt_im2col_task(arg, t); }

/* Ops with one buffer per thread (fused MBConv, im2col) split their rows into task_count()
 * fixed parts, task t using buffer t. */
static void run_tasks(struct effc_rt *rt, void (*fn)(void *, size_t), void *arg, size_t tasks)
{
#if USE_XNN
	if (tasks > 1 && rt->pool) {
		pthreadpool_parallelize_1d(rt->pool, fn, arg, tasks, 0);
		return;
	}
#endif
	(void)rt;
	for (size_t t = 0; t < tasks; t++)
		fn(arg, t);
}

int effc_rt_run(struct effc_rt *rt, struct effc_rt_op *op)
{
	switch (op->kind) {
#if USE_XNN
	case EFFC_RT_XNN: {
		if (op->in_scale) {
			const size_t k = (size_t)op->p.conv.in_c, hw = (size_t)op->p.conv.out_h * (size_t)op->p.conv.out_w;
			for (size_t b = 0; b < op->batch; b++) {
				struct scale_args sa = {.src = op->in[0] + b * hw * k, .s = op->in_scale + b * k,
							.dst = op->scratch + b * hw * k, .k = k};
				parallel_for(rt, hw, 64, scale_range, &sa);
			}
		}
		int st = xnn_err(xnn_run_operator(op->xnn, rt->pool));
		if (!st && op->post_act)
			conv_post(rt, op);
		return st;
	}
#else
	case EFFC_RT_XNN:
		break;
#endif
	case EFFC_RT_GEMM:
		run_gemm(rt, op);
		return EFFC_RT_OK;
	case EFFC_RT_Q8:
		return effc_rt_q8_run(rt, op->q8);
	case EFFC_RT_CONV_REF:
		effc_rt_ref_conv2d(&op->p.conv, op->in[1], op->in[2], op->in[0], op->out);
		conv_post(rt, op);
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
	case EFFC_RT_SE_GATE:
		run_se_gate(rt, op);
		return EFFC_RT_OK;
	case EFFC_RT_MBCONV:
		run_tasks(rt, mbconv_task, &op->p.mb, op->p.mb.tasks);
		return EFFC_RT_OK;
	case EFFC_RT_IM2COL:
		run_tasks(rt, im2col_task, &op->p.im2col, op->p.im2col.tasks);
		return EFFC_RT_OK;
	case EFFC_RT_DW:
		run_dw(rt, &op->p.dw);
		return EFFC_RT_OK;
	case EFFC_RT_PAIR: {
		int st = EFFC_RT_OK;
		for (int i = 0; i < (op->n_pair ? op->n_pair : 2) && !st; i++)
			st = effc_rt_run(rt, &op->pair[i]);
		return st;
	}
	case EFFC_RT_MATMUL_REF:
		effc_rt_ref_matmul(&op->p.mm, op->in[0], op->in[1], op->in[2], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_BINARY_REF:
		effc_rt_ref_binary(&op->p.bin, op->in[0], op->in[1], op->out);
		return EFFC_RT_OK;
	case EFFC_RT_UNARY:
		parallel_for(rt, op->p.un.rows * op->p.un.channels, 4096, unary_range, op);
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
	case EFFC_RT_TRANSPOSE: {
		const struct effc_rt_shape *s = &op->p.transpose.in;
		const int *pm = op->p.transpose.perm;
		if (rt->pool && s->rank == 4 && pm[0] == 0 && pm[1] == 2 && pm[2] == 3 && pm[3] == 1) {
			/* The input's layout change: split over pixels, it is serial time otherwise. */
			struct layout_args a = {(size_t)s->dims[1], (size_t)(s->dims[2] * s->dims[3]), op->in[0],
						op->out};
			parallel_for(rt, (size_t)s->dims[0] * a.hw, 256, layout_range, &a);
			return EFFC_RT_OK;
		}
		effc_rt_ref_transpose(s, pm, op->in[0], op->out);
		return EFFC_RT_OK;
	}
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

void effc_rt_q8_bind(struct effc_rt_op *op, struct effc_rt_q8_op *q)
{
	memset(op, 0, sizeof *op);
	op->kind = EFFC_RT_Q8;
	op->q8 = q;
}

void effc_rt_op_destroy(struct effc_rt_op *op)
{
	if (op && op->kind == EFFC_RT_Q8 && op->q8) {
		effc_rt_q8_op_destroy(op->q8);
		op->q8 = NULL;
	}
#if USE_XNN
	if (op && (op->kind == EFFC_RT_XNN || op->kind == EFFC_RT_SE) && op->xnn)
		xnn_delete_operator(op->xnn);
#endif
	if (op && op->scratch)
		effc_rt_free(op->scratch);
	if (op && op->kind == EFFC_RT_MBCONV && op->p.mb.bufs)
		effc_rt_free(op->p.mb.bufs);
	if (op && op->kind == EFFC_RT_PAIR && op->pair) {
		for (int i = 0; i < (op->n_pair ? op->n_pair : 2); i++)
			effc_rt_op_destroy(&op->pair[i]);
		effc_rt_free(op->pair);
		if (op->pair_buf)
			effc_rt_free(op->pair_buf);
		if (op->pair_buf2)
			effc_rt_free(op->pair_buf2);
		op->pair = NULL, op->pair_buf = NULL, op->pair_buf2 = NULL;
	}
	if (op)
		op->scratch = NULL;
	if (op)
		op->xnn = NULL, op->kind = EFFC_RT_NONE;
}
