/* test_runtime.c: the runtime's XNNPACK-backed paths checked against the reference kernels of
 * effc_rt_kernels.c, and the reference kernels checked against small expectations derived here
 * from the op's definition (naive loops written independently, in double precision).
 *
 * Every XNNPACK path runs at 1 and at 2 threads with seeded random data from the test's own
 * PRNG, so a failure reproduces. Output buffers are filled with NaN before a kernel runs, so an
 * element the kernel never wrote fails the comparison. Buffers carry 64 spare bytes because
 * XNNPACK may read (never write) up to XNN_EXTRA_BYTES past the end of a tensor, as the
 * generated code's arena does.
 *
 * Output: one line per check, `ok NAME` or `FAIL NAME: why`, then `N passed, M failed`.
 * Adding a kernel: a test_<kernel>() that compares against the reference (or a naive loop) and a
 * call in main(). */
#include "effc_rt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effc_rt_simd.h" /* the AVX-512 exponential's table, where the build has it */
#include "testing.h"

/* ---- small helpers ---------------------------------------------------------------------- */

/* xorshift64*: tiny, seeded, identical on every platform. */
static uint64_t rng_state;
static void rng_seed(uint64_t s) { rng_state = s * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull; }
static uint32_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static float rng_uniform(float lo, float hi) { return lo + (hi - lo) * (float)(rng_next() >> 8) / 16777216.0f; }
static void fill(float *p, size_t n, float lo, float hi)
{
	for (size_t i = 0; i < n; i++)
		p[i] = rng_uniform(lo, hi);
}

/* Zeroed, with room for XNNPACK's over-read. Aborts on OOM: a test cannot go on without memory. */
static float *alloc_f(size_t n)
{
	float *p = calloc(n + 16, sizeof(float));
	if (!p) {
		fprintf(stderr, "test_runtime: out of memory\n");
		abort();
	}
	return p;
}
static void fill_nan(float *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = NAN;
}

/* max |got - ref| <= rel * max(1, max |ref|); NaN anywhere fails. */
static void expect_close(const char *name, const float *got, const float *ref, size_t n, double rel)
{
	double max_ref = 0.0, max_diff = 0.0;
	size_t worst = 0;
	for (size_t i = 0; i < n; i++) {
		double r = fabs((double)ref[i]);
		if (r > max_ref)
			max_ref = r;
		double diff = fabs((double)got[i] - (double)ref[i]);
		if (isnan(diff) || isnan((double)ref[i]))
			diff = INFINITY;
		if (diff > max_diff)
			max_diff = diff, worst = i;
	}
	double tol = rel * (max_ref > 1.0 ? max_ref : 1.0);
	check(max_diff <= tol, name, "max |diff| %g > tol %g at element %zu of %zu (got %g, want %g)", max_diff, tol,
	      worst, n, n ? (double)got[worst] : 0.0, n ? (double)ref[worst] : 0.0);
}

static void expect_status(const char *name, int got, int want)
{
	check(got == want, name, "status %d, want %d", got, want);
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- convolution ------------------------------------------------------------------------ */

struct conv_case {
	const char *name;
	int batch, in_h, in_w, in_c, out_c, groups;
	int kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
	float out_min, out_max;
	int no_bias;
};

static struct effc_rt_conv2d conv_params(const struct conv_case *c, int nhwc)
{
	struct effc_rt_conv2d p = {0};
	p.batch = c->batch, p.in_h = c->in_h, p.in_w = c->in_w, p.in_c = c->in_c, p.out_c = c->out_c;
	p.groups = c->groups, p.kh = c->kh, p.kw = c->kw, p.sh = c->sh, p.sw = c->sw, p.dh = c->dh, p.dw = c->dw;
	p.pad_top = c->pt, p.pad_left = c->pl, p.pad_bottom = c->pb, p.pad_right = c->pr;
	p.out_h = (c->in_h + c->pt + c->pb - ((c->kh - 1) * c->dh + 1)) / c->sh + 1;
	p.out_w = (c->in_w + c->pl + c->pr - ((c->kw - 1) * c->dw + 1)) / c->sw + 1;
	p.out_min = c->out_min, p.out_max = c->out_max;
	p.nhwc = nhwc;
	return p;
}

/* ONNX Conv by its definition: NCHW input, OIHW weights, double accumulation. */
static void naive_conv_nchw(const struct effc_rt_conv2d *p, const float *w, const float *bias, const float *in,
			    float *out)
{
	const int gin = p->in_c / p->groups, gout = p->out_c / p->groups;
	for (int n = 0; n < p->batch; n++)
		for (int o = 0; o < p->out_c; o++)
			for (int y = 0; y < p->out_h; y++)
				for (int x = 0; x < p->out_w; x++) {
					double acc = bias ? bias[o] : 0.0;
					for (int ci = 0; ci < gin; ci++) {
						const int c = (o / gout) * gin + ci;
						for (int ky = 0; ky < p->kh; ky++)
							for (int kx = 0; kx < p->kw; kx++) {
								const int iy = y * p->sh + ky * p->dh - p->pad_top;
								const int ix = x * p->sw + kx * p->dw - p->pad_left;
								if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
									continue;
								acc += (double)in[((n * p->in_c + c) * p->in_h + iy) * p->in_w + ix] *
								       w[((o * gin + ci) * p->kh + ky) * p->kw + kx];
							}
					}
					out[((n * p->out_c + o) * p->out_h + y) * p->out_w + x] =
						(float)clampd(acc, p->out_min, p->out_max);
				}
}

/* [n][c][h][w] <-> [n][h][w][c] */
static void nhwc_to_nchw(const float *src, float *dst, int n, int h, int w, int c)
{
	for (int a = 0; a < n; a++)
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				for (int k = 0; k < c; k++)
					dst[((a * c + k) * h + y) * w + x] = src[((a * h + y) * w + x) * c + k];
}

static void test_conv_nhwc(struct effc_rt *rt, const struct conv_case *c, int seed)
{
	char name[160];
	struct effc_rt_conv2d p = conv_params(c, 1);
	const int gin = c->in_c / c->groups;
	const size_t nw = (size_t)c->out_c * c->kh * c->kw * gin, nin = (size_t)c->batch * c->in_h * c->in_w * c->in_c;
	const size_t nout = (size_t)c->batch * p.out_h * p.out_w * c->out_c;
	float *w = alloc_f(nw), *bias = alloc_f((size_t)c->out_c), *in = alloc_f(nin);
	float *got = alloc_f(nout), *ref = alloc_f(nout);
	float *w_oihw = alloc_f(nw), *in_nchw = alloc_f(nin), *naive = alloc_f(nout), *got_nchw = alloc_f(nout);
	rng_seed((uint64_t)seed);
	fill(w, nw, -1.0f, 1.0f);
	fill(bias, (size_t)c->out_c, -1.0f, 1.0f);
	fill(in, nin, -1.0f, 1.0f);
	const float *b = c->no_bias ? NULL : bias;

	struct effc_rt_op op;
	fill_nan(got, nout);
	int st = effc_rt_conv2d_create(rt, &op, &p, w, b, in, got);
	snprintf(name, sizeof name, "conv2d %s t%d create", c->name, rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	if (st == EFFC_RT_OK) {
		/* Dense convolutions with few taps x channels run as im2col + our GEMM where it exists. */
		const int im2col = effc_rt_gemm_fast_available() && c->groups == 1 &&
				   c->kh * c->kw * c->in_c <= EFFC_RT_IM2COL_MAX_K;
		snprintf(name, sizeof name, "conv2d %s t%d path", c->name, rt->threads);
		check((op.kind == EFFC_RT_IM2COL) == im2col, name, "op kind %d, expected im2col %d", (int)op.kind, im2col);
		snprintf(name, sizeof name, "conv2d %s t%d run", c->name, rt->threads);
		expect_status(name, effc_rt_run(rt, &op), EFFC_RT_OK);
		effc_rt_ref_conv2d(&p, w, b, in, ref);
		snprintf(name, sizeof name, "conv2d %s t%d vs ref", c->name, rt->threads);
		expect_close(name, got, ref, nout, 1e-4);

		/* The NHWC result, transposed, must equal ONNX Conv computed on NCHW/OIHW copies. */
		for (int o = 0; o < c->out_c; o++)
			for (int ci = 0; ci < gin; ci++)
				for (int y = 0; y < c->kh; y++)
					for (int x = 0; x < c->kw; x++)
						w_oihw[((o * gin + ci) * c->kh + y) * c->kw + x] = w[((o * c->kh + y) * c->kw + x) * gin + ci];
		nhwc_to_nchw(in, in_nchw, c->batch, c->in_h, c->in_w, c->in_c);
		naive_conv_nchw(&p, w_oihw, b, in_nchw, naive);
		nhwc_to_nchw(got, got_nchw, c->batch, p.out_h, p.out_w, c->out_c);
		snprintf(name, sizeof name, "conv2d %s t%d vs naive nchw", c->name, rt->threads);
		expect_close(name, got_nchw, naive, nout, 1e-4);

		/* Run is repeatable: a second run gives the same bytes. */
		memcpy(ref, got, nout * sizeof(float));
		fill_nan(got, nout);
		effc_rt_run(rt, &op);
		snprintf(name, sizeof name, "conv2d %s t%d second run", c->name, rt->threads);
		check(memcmp(ref, got, nout * sizeof(float)) == 0, name, "second run differs from the first");
	}
	effc_rt_op_destroy(&op);
	free(w), free(bias), free(in), free(got), free(ref), free(w_oihw), free(in_nchw), free(naive), free(got_nchw);
}

/* Whether the runtime runs p as Winograd F(2x2, 3x3) (effc_rt.c's rule, restated). */
static int expect_wino(const struct effc_rt_conv2d *p)
{
	return effc_rt_gemm_fast_available() && p->groups == 1 && p->kh == 3 && p->kw == 3 && p->sh == 1 &&
	       p->sw == 1 && p->dh == 1 && p->dw == 1 && p->in_c >= 8 && p->out_c >= 8;
}

/* im2col + GEMM with what the stem has: Swish in the GEMM's store step, a clamp, stride 2 and
 * asymmetric pads, an output width that leaves partial row tiles, 40 output channels (a
 * partial 16-column panel), batch 2; and dilation with K = 125, just under the im2col limit. */
static void test_conv_im2col_act(struct effc_rt *rt)
{
	static const struct conv_case cases[] = {
		{"stem3x3_s2_swish", 2, 17, 15, 3, 40, 1, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, -INFINITY, INFINITY, 0},
		{"stem3x3_s2_clamp_swish", 1, 16, 16, 3, 32, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, -2.0f, 3.0f, 0},
		{"k5_d2_swish_nobias", 1, 14, 13, 5, 19, 1, 5, 5, 1, 1, 2, 2, 4, 3, 4, 5, -INFINITY, INFINITY, 1},
		/* rows of 32 and 41 pixels (12-row AVX-512 tiles and their rests), 24 and 48 columns
		 * (a 16 + 8 tile; 16 + 32) */
		{"stem3x3_s2_wide", 2, 7, 64, 3, 24, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0},
		{"k3_s1_c4_clamp", 1, 5, 41, 4, 48, 1, 3, 3, 1, 1, 1, 1, 1, 2, 1, 0, -1.5f, 2.0f, 0},
		/* Winograd F(2x2, 3x3): odd output height and width (half tiles), batch 2; no padding
		 * on the top and bottom, asymmetric on the sides, a clamp, no bias, 40 columns;
		 * 35 tiles a row (two steps of tiles) */
		{"wino_odd_b2", 2, 9, 7, 16, 24, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0},
		{"wino_valid_clamp_nobias", 1, 8, 30, 12, 40, 1, 3, 3, 1, 1, 1, 1, 0, 2, 0, 1, -0.5f, 1.5f, 1},
		{"wino_wide_steps", 1, 4, 70, 24, 96, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0},
	};
	for (size_t i = 0; i < 2 * sizeof cases / sizeof *cases; i++) {
		/* each case on the AVX-512 tiles (where the CPU has them), then on AVX2 */
		const struct conv_case *c = &cases[i % (sizeof cases / sizeof *cases)];
		const int isa512 = i < sizeof cases / sizeof *cases;
		if (isa512 && !effc_rt_avx512_available())
			continue;
		const int was = effc_rt_allow_avx512(isa512);
		char name[160];
		struct effc_rt_conv2d p = conv_params(c, 1);
		p.act = EFFC_RT_ACT_SWISH;
		const size_t nw = (size_t)c->out_c * c->kh * c->kw * c->in_c, nin = (size_t)c->batch * c->in_h * c->in_w * c->in_c;
		const size_t nout = (size_t)c->batch * p.out_h * p.out_w * c->out_c;
		float *w = alloc_f(nw), *bias = alloc_f((size_t)c->out_c), *in = alloc_f(nin), *got = alloc_f(nout),
		      *ref = alloc_f(nout);
		rng_seed(900 + i);
		fill(w, nw, -1.0f, 1.0f);
		fill(bias, (size_t)c->out_c, -1.0f, 1.0f);
		fill(in, nin, -1.0f, 1.0f);
		const float *b = c->no_bias ? NULL : bias;
		struct effc_rt_op op;
		fill_nan(got, nout);
		int st = effc_rt_conv2d_create(rt, &op, &p, w, b, in, got);
		const char *isa = isa512 ? "avx512" : "avx2";
		snprintf(name, sizeof name, "conv2d %s t%d %s create+run", c->name, rt->threads, isa);
		if (st == EFFC_RT_OK)
			st = effc_rt_run(rt, &op);
		expect_status(name, st, EFFC_RT_OK);
		if (st == EFFC_RT_OK) {
			snprintf(name, sizeof name, "conv2d %s t%d %s path", c->name, rt->threads, isa);
			check((op.kind == EFFC_RT_IM2COL) == effc_rt_gemm_fast_available(), name, "op kind %d", (int)op.kind);
			snprintf(name, sizeof name, "conv2d %s t%d %s winograd", c->name, rt->threads, isa);
			check(op.kind != EFFC_RT_IM2COL || op.p.im2col.wino == expect_wino(&p), name, "wino %d, expected %d",
			      op.kind == EFFC_RT_IM2COL ? op.p.im2col.wino : -1, expect_wino(&p));
			effc_rt_ref_conv2d(&p, w, b, in, ref);
			effc_rt_ref_swish(nout, ref, ref);
			snprintf(name, sizeof name, "conv2d %s t%d %s vs ref conv + swish", c->name, rt->threads, isa);
			expect_close(name, got, ref, nout, 1e-5);
		}
		effc_rt_allow_avx512(was);
		effc_rt_op_destroy(&op);
		free(w), free(bias), free(in), free(got), free(ref);
	}
}

/* Fused-MBConv (effc_rt_conv_project_create) against the reference convolution, its
 * activation, then a plain-loop projection with its clamp and activation and the residual:
 * V2's shapes at small sizes (stride 1 with the residual, stride 2 with asymmetric pads),
 * odd channel counts that leave partial panels and tiles, dilation (the gather path), rows of
 * 100 pixels (several tiles and bands), batch 2 (bands that cross images), and a K past
 * EFFC_RT_IM2COL_MAX_K (two ops). On the AVX-512 tiles where the CPU has them, then AVX2. */
static void test_conv_project(struct effc_rt *rt)
{
	static const struct {
		struct conv_case c;
		int act; /* the convolution's: 0 none, 1 Swish, 2 HardSwish */
		size_t n2;
		int pact, residual, no_pbias;
		float pmin, pmax;
	} cases[] = {
		{{"v2_s1_res", 1, 13, 11, 24, 96, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0}, 1, 24, 0, 1, 0,
		 -INFINITY, INFINITY},
		{{"v2_s2_pads", 2, 17, 15, 16, 64, 1, 3, 3, 2, 2, 1, 1, 0, 1, 1, 1, -INFINITY, INFINITY, 0}, 1, 40, 2, 0, 0,
		 -INFINITY, INFINITY},
		{{"odd_k5_clamp_nobias", 1, 9, 7, 5, 37, 1, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0.0f, 6.0f, 1}, 0, 19, 0, 0, 1,
		 -1.0f, 1.5f},
		{{"dilated", 2, 8, 9, 6, 21, 1, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, -INFINITY, INFINITY, 0}, 2, 6, 1, 1, 0,
		 -INFINITY, INFINITY},
		{{"wide_rows", 1, 5, 100, 48, 192, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0}, 1, 48, 0, 1, 0,
		 -INFINITY, INFINITY},
		{{"k_past_im2col", 1, 5, 4, 300, 20, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0}, 1, 7, 0, 0, 0,
		 -INFINITY, INFINITY},
		/* Winograd with bands of whole tile rows: odd output height, so a band's last tile row
		 * has one row and bands cross the two images; asymmetric pads, a clamp and HardSwish */
		{{"wino_b2_odd_hswish", 2, 7, 9, 10, 20, 1, 3, 3, 1, 1, 1, 1, 1, 0, 1, 2, -1.0f, 2.0f, 0}, 2, 11, 0, 1, 0,
		 -INFINITY, INFINITY},
	};
	const size_t ncases = sizeof cases / sizeof *cases;
	for (size_t i = 0; i < 2 * ncases; i++) {
		const struct conv_case *c = &cases[i % ncases].c;
		const size_t n2 = cases[i % ncases].n2;
		const int isa512 = i < ncases;
		if (isa512 && !effc_rt_avx512_available())
			continue;
		const int was = effc_rt_allow_avx512(isa512);
		const char *isa = isa512 ? "avx512" : "avx2";
		char name[192];
		struct effc_rt_conv2d p = conv_params(c, 1);
		p.act = cases[i % ncases].act == 1 ? EFFC_RT_ACT_SWISH :
			cases[i % ncases].act == 2 ? EFFC_RT_ACT_HARDSWISH : EFFC_RT_ACT_NONE;
		const struct effc_rt_project q = {.out_c = n2,
						  .act = cases[i % ncases].pact == 1 ? EFFC_RT_ACT_SWISH :
							 cases[i % ncases].pact == 2 ? EFFC_RT_ACT_HARDSWISH : EFFC_RT_ACT_NONE,
						  .out_min = cases[i % ncases].pmin, .out_max = cases[i % ncases].pmax};
		const size_t N = (size_t)c->out_c, K = (size_t)c->kh * c->kw * c->in_c;
		const size_t pix = (size_t)c->batch * p.out_h * p.out_w, nin = (size_t)c->batch * c->in_h * c->in_w * c->in_c;
		float *w = alloc_f(N * K), *b = alloc_f(N), *in = alloc_f(nin), *w2 = alloc_f(n2 * N);
		/* packed panels are read with aligned loads, as the generated code's weights are aligned */
		float *packed = aligned_alloc(64, ((n2 + 15) / 16 * 16 * N * sizeof(float) + 63) / 64 * 64);
		float *b2 = alloc_f(n2), *res = alloc_f(pix * n2);
		if (!packed)
			abort();
		float *mid = alloc_f(pix * N), *got = alloc_f(pix * n2), *want = alloc_f(pix * n2);
		rng_seed(1200 + i);
		fill(w, N * K, -0.5f, 0.5f);
		fill(b, N, -1.0f, 1.0f);
		fill(in, nin, -1.0f, 1.0f);
		fill(w2, n2 * N, -0.3f, 0.3f);
		fill(b2, n2, -1.0f, 1.0f);
		fill(res, pix * n2, -1.0f, 1.0f);
		effc_rt_pack_b(n2, N, w2, packed);
		const float *bias = c->no_bias ? NULL : b, *pbias = cases[i % ncases].no_pbias ? NULL : b2;
		const float *residual = cases[i % ncases].residual ? res : NULL;

		effc_rt_ref_conv2d(&p, w, bias, in, mid);
		if (p.act == EFFC_RT_ACT_SWISH)
			effc_rt_ref_swish(pix * N, mid, mid);
		for (size_t j = 0; p.act == EFFC_RT_ACT_HARDSWISH && j < pix * N; j++)
			mid[j] = mid[j] * (float)clampd(mid[j] / 6.0 + 0.5, 0.0, 1.0);
		for (size_t m = 0; m < pix; m++)
			for (size_t o = 0; o < n2; o++) {
				double acc = pbias ? pbias[o] : 0.0;
				for (size_t k = 0; k < N; k++)
					acc += (double)mid[m * N + k] * w2[o * N + k];
				acc = clampd(acc, q.out_min, q.out_max);
				if (q.act == EFFC_RT_ACT_SWISH)
					acc = acc / (1.0 + exp(-acc));
				else if (q.act == EFFC_RT_ACT_HARDSWISH)
					acc *= clampd(acc / 6.0 + 0.5, 0.0, 1.0);
				want[m * n2 + o] = (float)(acc + (residual ? residual[m * n2 + o] : 0.0));
			}

		struct effc_rt_op op;
		fill_nan(got, pix * n2);
		int st = effc_rt_conv_project_create(rt, &op, &p, &q, w, bias, packed, pbias, residual, in, got);
		snprintf(name, sizeof name, "conv_project %s t%d %s create+run", c->name, rt->threads, isa);
		if (st == EFFC_RT_OK)
			st = effc_rt_run(rt, &op);
		expect_status(name, st, EFFC_RT_OK);
		if (st == EFFC_RT_OK) {
			const int fused = effc_rt_gemm_fast_available() && K <= EFFC_RT_IM2COL_MAX_K;
			snprintf(name, sizeof name, "conv_project %s t%d %s path", c->name, rt->threads, isa);
			check(op.kind == (fused ? EFFC_RT_IM2COL : EFFC_RT_PAIR), name, "op kind %d, fused %d", (int)op.kind,
			      fused);
			snprintf(name, sizeof name, "conv_project %s t%d %s winograd", c->name, rt->threads, isa);
			check(!fused || op.p.im2col.wino == expect_wino(&p), name, "wino %d, expected %d",
			      fused ? op.p.im2col.wino : -1, expect_wino(&p));
			snprintf(name, sizeof name, "conv_project %s t%d %s vs ref conv, act, projection", c->name,
				 rt->threads, isa);
			expect_close(name, got, want, pix * n2, 1e-4);
			/* the input and the residual are read only */
			memcpy(mid, got, pix * n2 * sizeof(float));
			fill_nan(got, pix * n2);
			effc_rt_run(rt, &op);
			snprintf(name, sizeof name, "conv_project %s t%d %s second run", c->name, rt->threads, isa);
			check(memcmp(mid, got, pix * n2 * sizeof(float)) == 0, name, "second run differs from the first");
		}
		effc_rt_op_destroy(&op);
		effc_rt_allow_avx512(was);
		free(w), free(b), free(in), free(w2), free(packed), free(b2), free(res), free(mid), free(got), free(want);
	}
	/* bad arguments: a grouped convolution, no projection weights */
	struct effc_rt_conv2d p = conv_params(&cases[0].c, 1);
	const struct effc_rt_project q = {.out_c = 4, .out_min = -INFINITY, .out_max = INFINITY};
	float dummy[64] = {0};
	struct effc_rt_op op;
	p.groups = 2;
	expect_status("conv_project groups=2 -> EFFC_RT_ERR_ARGS",
		      effc_rt_conv_project_create(rt, &op, &p, &q, dummy, NULL, dummy, NULL, NULL, dummy, dummy),
		      EFFC_RT_ERR_ARGS);
	p.groups = 1;
	expect_status("conv_project no projection weights -> EFFC_RT_ERR_ARGS",
		      effc_rt_conv_project_create(rt, &op, &p, &q, dummy, NULL, NULL, NULL, NULL, dummy, dummy),
		      EFFC_RT_ERR_ARGS);
}

/* The nhwc=0 path is reference-only: check it against the naive ONNX definition. */
static void test_conv_nchw(struct effc_rt *rt, const struct conv_case *c, int seed)
{
	char name[160];
	struct effc_rt_conv2d p = conv_params(c, 0);
	const size_t nw = (size_t)c->out_c * (c->in_c / c->groups) * c->kh * c->kw;
	const size_t nin = (size_t)c->batch * c->in_c * c->in_h * c->in_w;
	const size_t nout = (size_t)c->batch * c->out_c * p.out_h * p.out_w;
	float *w = alloc_f(nw), *bias = alloc_f((size_t)c->out_c), *in = alloc_f(nin);
	float *got = alloc_f(nout), *naive = alloc_f(nout);
	rng_seed((uint64_t)seed);
	fill(w, nw, -1.0f, 1.0f);
	fill(bias, (size_t)c->out_c, -1.0f, 1.0f);
	fill(in, nin, -1.0f, 1.0f);
	const float *b = c->no_bias ? NULL : bias;
	naive_conv_nchw(&p, w, b, in, naive);

	fill_nan(got, nout);
	effc_rt_ref_conv2d(&p, w, b, in, got);
	snprintf(name, sizeof name, "conv2d nchw %s ref vs naive", c->name);
	expect_close(name, got, naive, nout, 1e-4);

	struct effc_rt_op op;
	fill_nan(got, nout);
	int st = effc_rt_conv2d_create(rt, &op, &p, w, b, in, got);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "conv2d nchw %s create+run", c->name);
	expect_status(name, st, EFFC_RT_OK);
	snprintf(name, sizeof name, "conv2d nchw %s run vs naive", c->name);
	expect_close(name, got, naive, nout, 1e-4);
	effc_rt_op_destroy(&op);
	free(w), free(bias), free(in), free(got), free(naive);
}

static const struct conv_case conv_cases[] = {
	/* name                     N  H  W  Cin Cout grp kh kw sh sw dh dw pt pl pb pr  min        max */
	{"dense3x3_s1_p1",          2, 7, 6, 5,  8,   1,  3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0},
	{"pointwise1x1",            1, 5, 5, 16, 12,  1,  1, 1, 1, 1, 1, 1, 0, 0, 0, 0, -INFINITY, INFINITY, 0},
	{"pointwise1x1_nobias",     1, 4, 3, 8,  5,   1,  1, 1, 1, 1, 1, 1, 0, 0, 0, 0, -INFINITY, INFINITY, 1},
	{"s2_asym_pads",            1, 9, 8, 4,  6,   1,  3, 3, 2, 2, 1, 1, 0, 1, 1, 0, -INFINITY, INFINITY, 0},
	{"s2_asym_pads_hw",         2, 10, 7, 3, 5,   1,  3, 2, 2, 1, 1, 1, 1, 0, 2, 1, -INFINITY, INFINITY, 0},
	{"depthwise3x3",            1, 8, 8, 8,  8,   8,  3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0},
	{"depthwise5x5_s2",         2, 11, 9, 6, 6,   6,  5, 5, 2, 2, 1, 1, 2, 2, 2, 2, -INFINITY, INFINITY, 0},
	{"depthwise3x3_mult2",      1, 6, 6, 4,  8,   4,  3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0},
	{"grouped_g2",              1, 6, 7, 6,  4,   2,  3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0},
	{"dilation2",               1, 9, 9, 3,  4,   1,  3, 3, 1, 1, 2, 2, 2, 2, 2, 2, -INFINITY, INFINITY, 0},
	{"clamp_relu6",             1, 6, 6, 4,  8,   1,  3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0.0f,      6.0f,     0},
	{"clamp_tight",             1, 5, 5, 3,  4,   1,  3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -0.25f,    0.5f,     0},
};

/* ---- fully connected -------------------------------------------------------------------- */

static void test_fc(struct effc_rt *rt, const char *cname, size_t batch, size_t in_c, size_t out_c, int with_bias,
		    float out_min, float out_max, int seed)
{
	char name[160];
	float *w = alloc_f(in_c * out_c), *bias = alloc_f(out_c), *in = alloc_f(batch * in_c);
	float *got = alloc_f(batch * out_c), *naive = alloc_f(batch * out_c);
	rng_seed((uint64_t)seed);
	fill(w, in_c * out_c, -1.0f, 1.0f);
	fill(bias, out_c, -1.0f, 1.0f);
	fill(in, batch * in_c, -1.0f, 1.0f);
	for (size_t b = 0; b < batch; b++)
		for (size_t o = 0; o < out_c; o++) {
			double acc = with_bias ? bias[o] : 0.0;
			for (size_t i = 0; i < in_c; i++)
				acc += (double)in[b * in_c + i] * w[o * in_c + i];
			naive[b * out_c + o] = (float)clampd(acc, out_min, out_max);
		}
	struct effc_rt_op op;
	fill_nan(got, batch * out_c);
	int st = effc_rt_fc_create(rt, &op, batch, in_c, out_c, w, with_bias ? bias : NULL, out_min, out_max, in, got);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "fc %s t%d create+run", cname, rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	snprintf(name, sizeof name, "fc %s t%d xnnpack vs naive", cname, rt->threads);
	expect_close(name, got, naive, batch * out_c, 1e-4);
	effc_rt_op_destroy(&op);
	free(w), free(bias), free(in), free(got), free(naive);
}

/* ---- binary ----------------------------------------------------------------------------- */

static size_t shape_numel(const size_t *d, int rank)
{
	size_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= d[i];
	return n;
}

static const char *const binop_names[] = {"add", "sub", "mul", "div"};

static void test_binary(struct effc_rt *rt, enum effc_rt_binop bop, int rank, const size_t *as, const size_t *bs,
			float out_min, float out_max, int seed)
{
	char name[200], shapes[120];
	size_t k = 0;
	struct effc_rt_binary p = {0};
	p.op = bop, p.rank = rank, p.out_min = out_min, p.out_max = out_max;
	size_t od[EFFC_RT_MAX_RANK];
	for (int i = 0; i < rank; i++) {
		p.a_shape[i] = as[i], p.b_shape[i] = bs[i];
		od[i] = as[i] > bs[i] ? as[i] : bs[i];
	}
	for (int s = 0; s < 2; s++) {
		const size_t *d = s ? bs : as;
		k += (size_t)snprintf(shapes + k, sizeof shapes - k, "%s[", s ? "x" : "");
		for (int i = 0; i < rank; i++)
			k += (size_t)snprintf(shapes + k, sizeof shapes - k, "%s%zu", i ? "," : "", d[i]);
		k += (size_t)snprintf(shapes + k, sizeof shapes - k, "]");
	}
	const size_t na = shape_numel(as, rank), nb = shape_numel(bs, rank), no = shape_numel(od, rank);
	float *a = alloc_f(na), *b = alloc_f(nb), *got = alloc_f(no), *ref = alloc_f(no);
	rng_seed((uint64_t)seed);
	fill(a, na, -2.0f, 2.0f);
	for (size_t i = 0; i < nb; i++) /* keep divisors away from zero */
		b[i] = rng_uniform(0.5f, 2.0f) * (rng_next() & 1 ? 1.0f : -1.0f);
	struct effc_rt_op op;
	fill_nan(got, no);
	int st = effc_rt_binary_create(rt, &op, &p, a, b, got);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "binary %s %s%s t%d create+run", binop_names[bop], shapes,
		 isinf(out_max) ? "" : " clamped", rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	effc_rt_ref_binary(&p, a, b, ref);
	snprintf(name, sizeof name, "binary %s %s%s t%d xnnpack vs ref", binop_names[bop], shapes,
		 isinf(out_max) ? "" : " clamped", rt->threads);
	expect_close(name, got, ref, no, 1e-4);
	effc_rt_op_destroy(&op);
	free(a), free(b), free(got), free(ref);
}

/* The reference's broadcasting, checked by index arithmetic on a [2,3,1] x [1,3,4] case. */
static void test_ref_binary_broadcast(void)
{
	float a[6], b[12], out[24];
	for (int i = 0; i < 6; i++)
		a[i] = (float)(i + 1);
	for (int i = 0; i < 12; i++)
		b[i] = (float)(i + 1) * 0.25f;
	struct effc_rt_binary p = {.op = EFFC_RT_SUB, .rank = 3, .a_shape = {2, 3, 1}, .b_shape = {1, 3, 4},
				   .out_min = -INFINITY, .out_max = INFINITY};
	fill_nan(out, 24);
	effc_rt_ref_binary(&p, a, b, out);
	int bad = -1;
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++) {
				float want = a[i * 3 + j] - b[j * 4 + k];
				if (out[(i * 3 + j) * 4 + k] != want && bad < 0)
					bad = (i * 3 + j) * 4 + k;
			}
	check(bad < 0, "ref binary broadcast [2,3,1]-[1,3,4] by index", "element %d is %g", bad, bad < 0 ? 0.0 : (double)out[bad]);

	/* Broadcast on the left operand, with a clamp. */
	float c[8], d[40], o2[40];
	for (int i = 0; i < 8; i++)
		c[i] = (float)i - 3.5f;
	for (int i = 0; i < 40; i++)
		d[i] = (float)(i % 7) - 3.0f;
	struct effc_rt_binary q = {.op = EFFC_RT_MUL, .rank = 2, .a_shape = {1, 8}, .b_shape = {5, 8},
				   .out_min = -4.0f, .out_max = 5.0f};
	effc_rt_ref_binary(&q, c, d, o2);
	bad = -1;
	for (int r = 0; r < 5; r++)
		for (int k = 0; k < 8; k++) {
			float v = c[k] * d[r * 8 + k];
			v = v < -4.0f ? -4.0f : v > 5.0f ? 5.0f : v;
			if (o2[r * 8 + k] != v && bad < 0)
				bad = r * 8 + k;
		}
	check(bad < 0, "ref binary broadcast [1,8]*[5,8] clamped by index", "element %d is %g", bad, bad < 0 ? 0.0 : (double)o2[bad]);
}

/* ---- unary and pooling ------------------------------------------------------------------ */

static const char *const unop_names[] = {"sigmoid", "clamp", "hardswish", "hardsigmoid", "clamp_dyn"};

/* min/max are CLAMP's bounds (Relu is CLAMP to [0, inf)); the other ops ignore them. */
static void test_unary(struct effc_rt *rt, enum effc_rt_unop uop, size_t rows, size_t channels, float min, float max,
		       int seed)
{
	char name[160], what[40];
	const size_t n = rows * channels;
	struct effc_rt_unary p = {.op = uop, .rows = rows, .channels = channels, .alpha = 0.2f, .beta = 0.5f,
				  .min = min, .max = max};
	snprintf(what, sizeof what, "%s%s", unop_names[uop], uop == EFFC_RT_CLAMP && isinf(max) ? " (relu)" : "");
	float *in = alloc_f(n), *got = alloc_f(n), *ref = alloc_f(n), *naive = alloc_f(n);
	rng_seed((uint64_t)seed);
	fill(in, n, -8.0f, 8.0f);
	in[0] = -3.0f, in[1] = 3.0f, in[2] = 0.0f; /* hardswish knees */
	for (size_t i = 0; i < n; i++) {
		double x = in[i], v;
		switch (uop) {
		case EFFC_RT_SIGMOID: v = 1.0 / (1.0 + exp(-x)); break;
		case EFFC_RT_CLAMP: v = clampd(x, p.min, p.max); break;
		case EFFC_RT_HARDSWISH: v = x * clampd(x + 3.0, 0.0, 6.0) / 6.0; break;
		case EFFC_RT_HARDSIGMOID: v = clampd(0.2 * x + 0.5, 0.0, 1.0); break;
		default: v = clampd(x, -1.5, 0.75); break;
		}
		naive[i] = (float)v;
	}
	const float lo = -1.5f, hi = 0.75f;
	struct effc_rt_op op;
	fill_nan(got, n);
	int st = effc_rt_unary_create(rt, &op, &p, in, got, uop == EFFC_RT_CLAMP_DYN ? &lo : NULL,
				      uop == EFFC_RT_CLAMP_DYN ? &hi : NULL);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "unary %s %zux%zu t%d create+run", what, rows, channels, rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	effc_rt_ref_unary(&p, in, ref, uop == EFFC_RT_CLAMP_DYN ? &lo : NULL, uop == EFFC_RT_CLAMP_DYN ? &hi : NULL);
	snprintf(name, sizeof name, "unary %s %zux%zu t%d run vs ref", what, rows, channels, rt->threads);
	expect_close(name, got, ref, n, 1e-5);
	snprintf(name, sizeof name, "unary %s %zux%zu t%d ref vs formula", what, rows, channels, rt->threads);
	expect_close(name, ref, naive, n, 1e-5);
	effc_rt_op_destroy(&op);
	free(in), free(got), free(ref), free(naive);
}

/* ONNX Clip applies min then max: with min > max every output is max. NULL bounds are open. */
static void test_ref_clamp_dyn_edges(void)
{
	const float in[5] = {-3.0f, -0.5f, 0.0f, 0.5f, 3.0f};
	float out[5];
	const float lo = 1.0f, hi = -1.0f;
	struct effc_rt_unary p = {.op = EFFC_RT_CLAMP_DYN, .rows = 1, .channels = 5};
	effc_rt_ref_unary(&p, in, out, &lo, &hi);
	int ok = 1;
	for (int i = 0; i < 5; i++)
		ok &= out[i] == hi;
	check(ok, "ref clamp_dyn min>max gives max", "got %g %g %g %g %g", (double)out[0], (double)out[1],
	      (double)out[2], (double)out[3], (double)out[4]);
	effc_rt_ref_unary(&p, in, out, NULL, &hi);
	ok = out[0] == -3.0f && out[1] == -1.0f && out[4] == -1.0f;
	check(ok, "ref clamp_dyn lo=NULL is unbounded below", "got %g %g %g", (double)out[0], (double)out[1], (double)out[4]);
}

static void test_gap(struct effc_rt *rt, size_t batch, size_t hw, size_t channels, int seed)
{
	char name[160];
	const size_t nin = batch * hw * channels, nout = batch * channels;
	float *in = alloc_f(nin), *got = alloc_f(nout), *ref = alloc_f(nout), *naive = alloc_f(nout);
	rng_seed((uint64_t)seed);
	fill(in, nin, -3.0f, 3.0f);
	for (size_t b = 0; b < batch; b++)
		for (size_t c = 0; c < channels; c++) {
			double s = 0.0;
			for (size_t i = 0; i < hw; i++)
				s += in[(b * hw + i) * channels + c];
			naive[b * channels + c] = (float)(s / (double)hw);
		}
	struct effc_rt_op op;
	fill_nan(got, nout);
	int st = effc_rt_gap_create(rt, &op, batch, hw, channels, in, got);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "gap %zux%zux%zu t%d create+run", batch, hw, channels, rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	fill_nan(ref, nout);
	effc_rt_ref_gap(batch, hw, channels, in, ref);
	snprintf(name, sizeof name, "gap %zux%zux%zu t%d xnnpack vs ref", batch, hw, channels, rt->threads);
	expect_close(name, got, ref, nout, 1e-4);
	snprintf(name, sizeof name, "gap %zux%zux%zu t%d ref vs naive mean", batch, hw, channels, rt->threads);
	expect_close(name, ref, naive, nout, 1e-5);
	effc_rt_op_destroy(&op);
	free(in), free(got), free(ref), free(naive);
}

/* ---- reference kernels against first principles ----------------------------------------- */

/* The first index of y (N x H x W x C) that does not hold x (N x C x H x W) moved to NHWC, or -1. */
static int nhwc_mismatch(int N, int C, int H, int W, const float *x, const float *y)
{
	for (int n = 0; n < N; n++)
		for (int h = 0; h < H; h++)
			for (int w = 0; w < W; w++)
				for (int c = 0; c < C; c++) {
					const int dst = ((n * H + h) * W + w) * C + c;
					if (y[dst] != x[((n * C + c) * H + h) * W + w])
						return dst;
				}
	return -1;
}

static void test_ref_transpose(struct effc_rt *rt)
{
	static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
	const int dims[3] = {2, 3, 4};
	float in[24], out[24];
	for (int i = 0; i < 24; i++)
		in[i] = (float)i; /* the value is the input's linear index */
	for (int k = 0; k < 6; k++) {
		const int *perm = perms[k];
		struct effc_rt_shape s = {3, {2, 3, 4}};
		fill_nan(out, 24);
		effc_rt_ref_transpose(&s, perm, in, out);
		/* Output dim i is input dim perm[i]: output index (o0,o1,o2) reads input index idx with
		 * idx[perm[i]] = o_i. */
		const int od[3] = {dims[perm[0]], dims[perm[1]], dims[perm[2]]};
		int bad = -1;
		for (int o0 = 0; o0 < od[0]; o0++)
			for (int o1 = 0; o1 < od[1]; o1++)
				for (int o2 = 0; o2 < od[2]; o2++) {
					int idx[3];
					idx[perm[0]] = o0, idx[perm[1]] = o1, idx[perm[2]] = o2;
					const int src = (idx[0] * 3 + idx[1]) * 4 + idx[2], dst = (o0 * od[1] + o1) * od[2] + o2;
					if (out[dst] != (float)src && bad < 0)
						bad = dst;
				}
		char name[80];
		snprintf(name, sizeof name, "ref transpose 2x3x4 perm {%d,%d,%d}", perm[0], perm[1], perm[2]);
		check(bad < 0, name, "output %d holds input %g", bad, bad < 0 ? 0.0 : (double)out[bad]);
	}

	/* NCHW -> NHWC through create + run, checked by the same index rule. */
	enum { N = 2, C = 3, H = 4, W = 5 };
	float x[N * C * H * W], y[N * C * H * W];
	for (int i = 0; i < N * C * H * W; i++)
		x[i] = (float)i;
	const int perm[4] = {0, 2, 3, 1};
	struct effc_rt_shape s = {4, {N, C, H, W}};
	struct effc_rt_op op;
	fill_nan(y, N * C * H * W);
	int st = effc_rt_transpose_create(rt, &op, &s, perm, x, y);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	int bad = nhwc_mismatch(N, C, H, W, x, y);
	check(st == EFFC_RT_OK && bad < 0, "transpose create+run nchw->nhwc 2x3x4x5", "status %d, output %d wrong", st, bad);

	/* Bound to another input (the generated code's graph input, read in place), the op reads
	 * that one: y must be the transpose of x2, not of x. */
	float x2[N * C * H * W];
	for (int i = 0; i < N * C * H * W; i++)
		x2[i] = (float)(1000 - i);
	fill_nan(y, N * C * H * W);
	st = effc_rt_bind_input(&op, x2);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	bad = nhwc_mismatch(N, C, H, W, x2, y);
	check(st == EFFC_RT_OK && bad < 0, "transpose bound to another input", "status %d, output %d wrong", st, bad);
	check(effc_rt_bind_input(&op, NULL) == EFFC_RT_ERR_ARGS, "bind_input NULL", "not refused");
	effc_rt_op_destroy(&op);

	/* The pixel-range form the op splits over threads: pieces that cross the image boundary,
	 * then the op itself on a 2-thread runtime, both by the same index rule. */
	float got[N * C * H * W];
	fill_nan(got, N * C * H * W);
	const size_t cuts[] = {0, 7, 23, 27, N * H * W};
	for (int k = 0; k < 4; k++)
		effc_rt_nchw_to_nhwc_rows(C, H * W, cuts[k], cuts[k + 1], x, got);
	bad = nhwc_mismatch(N, C, H, W, x, got);
	check(bad < 0, "nchw_to_nhwc_rows in 4 pieces", "output %d wrong", bad);
	{
		/* C = 3 takes its own loop (interleave3): the general tiled one, on the same pieces. */
		enum { C5 = 5 };
		float x5[N * C5 * H * W], y5[N * C5 * H * W];
		for (int i = 0; i < N * C5 * H * W; i++)
			x5[i] = (float)i;
		fill_nan(y5, N * C5 * H * W);
		for (int k = 0; k < 4; k++)
			effc_rt_nchw_to_nhwc_rows(C5, H * W, cuts[k], cuts[k + 1], x5, y5);
		bad = nhwc_mismatch(N, C5, H, W, x5, y5);
		check(bad < 0, "nchw_to_nhwc_rows in 4 pieces, 5 channels", "output %d wrong", bad);
	}
	{
		enum { BN = 2, BC = 3, BH = 37, BW = 41, BT = BN * BC * BH * BW };
		static float bx[BT], by[BT];
		for (int i = 0; i < BT; i++)
			bx[i] = (float)i;
		const struct effc_rt_shape bs = {4, {BN, BC, BH, BW}};
		fill_nan(by, BT);
		struct effc_rt rt2;
		struct effc_rt_op op2;
		st = effc_rt_init(&rt2, 2);
		if (st == EFFC_RT_OK) {
			st = effc_rt_transpose_create(&rt2, &op2, &bs, perm, bx, by);
			if (st == EFFC_RT_OK)
				st = effc_rt_run(&rt2, &op2), effc_rt_op_destroy(&op2);
			effc_rt_fini(&rt2);
		}
		bad = nhwc_mismatch(BN, BC, BH, BW, bx, by);
		check(st == EFFC_RT_OK && bad < 0, "transpose op nchw->nhwc 2x3x37x41 on 2 threads",
		      "status %d, output %d wrong", st, bad);
	}
	struct effc_rt_op cp;
	st = effc_rt_copy_create(rt, &cp, sizeof x, x, y);
	check(st == EFFC_RT_OK && effc_rt_bind_input(&cp, x2) == EFFC_RT_ERR_ARGS, "bind_input on a copy op",
	      "create status %d, or bind not refused", st);
	effc_rt_op_destroy(&cp);
}

static void test_ref_pad(struct effc_rt *rt)
{
	/* [1 2 3 4], begin -1, end +2, value 9: drop the 1, append two 9s. */
	{
		const float in[4] = {1, 2, 3, 4}, want[5] = {2, 3, 4, 9, 9};
		float out[5];
		struct effc_rt_shape s = {1, {4}};
		const int64_t b[1] = {-1}, e[1] = {2};
		fill_nan(out, 5);
		effc_rt_ref_pad(&s, b, e, 9.0f, in, out);
		check(memcmp(out, want, sizeof want) == 0, "ref pad 1-D begin -1 end +2", "got %g %g %g %g %g", (double)out[0],
		      (double)out[1], (double)out[2], (double)out[3], (double)out[4]);
	}
	/* 2-D 3x4, begin {1,-1}, end {-1,2}: output 3x5; out[r][c] = in[r-1][c+1] where that exists. */
	{
		float in[12], out[15];
		for (int i = 0; i < 12; i++)
			in[i] = (float)(i + 1);
		struct effc_rt_shape s = {2, {3, 4}};
		const int64_t b[2] = {1, -1}, e[2] = {-1, 2};
		struct effc_rt_op op;
		fill_nan(out, 15);
		int st = effc_rt_pad_create(rt, &op, &s, b, e, -7.0f, in, out);
		if (st == EFFC_RT_OK)
			st = effc_rt_run(rt, &op);
		int bad = -1;
		for (int r = 0; r < 3; r++)
			for (int c = 0; c < 5; c++) {
				const int ir = r - 1, ic = c + 1;
				const float want = ir >= 0 && ir < 3 && ic >= 0 && ic < 4 ? in[ir * 4 + ic] : -7.0f;
				if (out[r * 5 + c] != want && bad < 0)
					bad = r * 5 + c;
			}
		check(st == EFFC_RT_OK && bad < 0, "pad create+run 2-D mixed negative/positive", "status %d, element %d is %g",
		      st, bad, bad < 0 ? 0.0 : (double)out[bad]);
		effc_rt_op_destroy(&op);
	}
	/* 4-D spatial zero pad of 1 (the common Conv-separated Pad). */
	{
		float in[2 * 2 * 3], out[2 * 4 * 5];
		for (int i = 0; i < 12; i++)
			in[i] = (float)(i + 1);
		struct effc_rt_shape s = {4, {1, 2, 2, 3}};
		const int64_t b[4] = {0, 0, 1, 1}, e[4] = {0, 0, 1, 1};
		effc_rt_ref_pad(&s, b, e, 0.0f, in, out);
		int bad = -1;
		for (int c = 0; c < 2; c++)
			for (int y = 0; y < 4; y++)
				for (int x = 0; x < 5; x++) {
					const int iy = y - 1, ix = x - 1;
					const float want = iy >= 0 && iy < 2 && ix >= 0 && ix < 3 ? in[(c * 2 + iy) * 3 + ix] : 0.0f;
					if (out[(c * 4 + y) * 5 + x] != want && bad < 0)
						bad = (c * 4 + y) * 5 + x;
				}
		check(bad < 0, "ref pad 4-D spatial 1", "element %d wrong", bad);
	}
}

static void test_ref_softmax(struct effc_rt *rt)
{
	enum { OUTER = 2, NN = 5, INNER = 3, TOTAL = OUTER * NN * INNER };
	float in[TOTAL], out[TOTAL];
	rng_seed(77);
	fill(in, TOTAL, -4.0f, 4.0f);
	in[0] = 1000.0f; /* overflows a naive exp: the kernel must subtract the maximum */
	struct effc_rt_op op;
	fill_nan(out, TOTAL);
	int st = effc_rt_softmax_create(rt, &op, OUTER, NN, INNER, in, out);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	expect_status("softmax create+run", st, EFFC_RT_OK);
	double worst_sum = 0.0, worst_val = 0.0;
	for (int o = 0; o < OUTER; o++)
		for (int j = 0; j < INNER; j++) {
			double mx = -INFINITY, sum = 0.0, got_sum = 0.0;
			for (int i = 0; i < NN; i++)
				mx = fmax(mx, in[(o * NN + i) * INNER + j]);
			for (int i = 0; i < NN; i++)
				sum += exp((double)in[(o * NN + i) * INNER + j] - mx);
			for (int i = 0; i < NN; i++) {
				const int e = (o * NN + i) * INNER + j;
				const double want = exp((double)in[e] - mx) / sum;
				got_sum += out[e];
				double dv = fabs(out[e] - want);
				worst_val = isnan(dv) || dv > worst_val ? (isnan(dv) ? INFINITY : dv) : worst_val;
			}
			double ds = fabs(got_sum - 1.0);
			worst_sum = isnan(ds) || ds > worst_sum ? (isnan(ds) ? INFINITY : ds) : worst_sum;
		}
	check(worst_sum <= 1e-5, "softmax rows sum to 1", "worst |sum - 1| = %g", worst_sum);
	check(worst_val <= 1e-5, "softmax matches exp/sum", "worst |diff| = %g", worst_val);
	effc_rt_op_destroy(&op);
}

static void test_ref_reduce_mean(struct effc_rt *rt)
{
	float in[24];
	for (int i = 0; i < 24; i++)
		in[i] = (float)((i * 7) % 11) - 5.0f;
	struct effc_rt_shape s = {3, {2, 3, 4}};
	/* axes {0,2}: out[j] = mean over i,k of x[i][j][k] */
	{
		const int mask[3] = {1, 0, 1};
		float out[3], want[3];
		for (int j = 0; j < 3; j++) {
			double acc = 0.0;
			for (int i = 0; i < 2; i++)
				for (int k = 0; k < 4; k++)
					acc += in[(i * 3 + j) * 4 + k];
			want[j] = (float)(acc / 8.0);
		}
		struct effc_rt_op op;
		fill_nan(out, 3);
		int st = effc_rt_reduce_mean_create(rt, &op, &s, mask, in, out);
		if (st == EFFC_RT_OK)
			st = effc_rt_run(rt, &op);
		expect_status("reduce_mean create+run axes {0,2}", st, EFFC_RT_OK);
		expect_close("reduce_mean axes {0,2}", out, want, 3, 1e-5);
		effc_rt_op_destroy(&op);
	}
	/* axes {2}: out[i][j] = mean over k */
	{
		const int mask[3] = {0, 0, 1};
		float out[6], want[6];
		for (int i = 0; i < 2; i++)
			for (int j = 0; j < 3; j++) {
				double acc = 0.0;
				for (int k = 0; k < 4; k++)
					acc += in[(i * 3 + j) * 4 + k];
				want[i * 3 + j] = (float)(acc / 4.0);
			}
		fill_nan(out, 6);
		effc_rt_ref_reduce_mean(&s, mask, in, out);
		expect_close("ref reduce_mean axes {2}", out, want, 6, 1e-5);
	}
	/* axes {0}: out[j][k] = mean over i */
	{
		const int mask[3] = {1, 0, 0};
		float out[12], want[12];
		for (int j = 0; j < 12; j++)
			want[j] = (in[j] + in[12 + j]) / 2.0f;
		fill_nan(out, 12);
		effc_rt_ref_reduce_mean(&s, mask, in, out);
		expect_close("ref reduce_mean axes {0}", out, want, 12, 1e-5);
	}
	/* every axis: one scalar */
	{
		const int mask[3] = {1, 1, 1};
		float out[1], want[1];
		double acc = 0.0;
		for (int i = 0; i < 24; i++)
			acc += in[i];
		want[0] = (float)(acc / 24.0);
		fill_nan(out, 1);
		effc_rt_ref_reduce_mean(&s, mask, in, out);
		expect_close("ref reduce_mean all axes", out, want, 1, 1e-5);
	}
}

static void test_ref_channel_affine(struct effc_rt *rt)
{
	enum { OUTER = 2, CH = 3, INNER = 4, TOTAL = OUTER * CH * INNER };
	float in[TOTAL], out[TOTAL], want[TOTAL], scale[CH], bias[CH], mean[CH], var[CH];
	const float eps = 1e-3f;
	rng_seed(99);
	fill(in, TOTAL, -3.0f, 3.0f);
	fill(scale, CH, 0.5f, 2.0f);
	fill(bias, CH, -1.0f, 1.0f);
	fill(mean, CH, -0.5f, 0.5f);
	fill(var, CH, 0.1f, 2.0f);
	for (int o = 0; o < OUTER; o++)
		for (int c = 0; c < CH; c++)
			for (int i = 0; i < INNER; i++) {
				const int e = (o * CH + c) * INNER + i;
				want[e] = (float)(((double)in[e] - mean[c]) * scale[c] / sqrt((double)var[c] + eps) + bias[c]);
			}
	fill_nan(out, TOTAL);
	effc_rt_ref_channel_affine(OUTER, CH, INNER, scale, bias, mean, var, eps, in, out);
	expect_close("ref channel_affine (batchnorm) formula", out, want, TOTAL, 1e-5);

	/* Same through create + run, and the NHWC form (inner = 1, channels last). */
	struct effc_rt_op op;
	fill_nan(out, TOTAL);
	int st = effc_rt_batchnorm_create(rt, &op, OUTER, CH, INNER, scale, bias, mean, var, eps, in, out);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	expect_status("batchnorm create+run", st, EFFC_RT_OK);
	expect_close("batchnorm create+run formula", out, want, TOTAL, 1e-5);
	effc_rt_op_destroy(&op);

	float nhwc_in[TOTAL], nhwc_out[TOTAL], nhwc_want[TOTAL];
	for (int o = 0; o < OUTER; o++)
		for (int c = 0; c < CH; c++)
			for (int i = 0; i < INNER; i++) {
				nhwc_in[(o * INNER + i) * CH + c] = in[(o * CH + c) * INNER + i];
				nhwc_want[(o * INNER + i) * CH + c] = want[(o * CH + c) * INNER + i];
			}
	fill_nan(nhwc_out, TOTAL);
	effc_rt_ref_channel_affine(OUTER * INNER, CH, 1, scale, bias, mean, var, eps, nhwc_in, nhwc_out);
	expect_close("ref channel_affine channels-last", nhwc_out, nhwc_want, TOTAL, 1e-5);
}

static void test_ref_matmul(struct effc_rt *rt)
{
	/* out[b0][b1] = 0.5 * A[b0] x B[b1] + 2 * bias with A stored transposed as [2][1][K][M]
	 * (broadcast over b1), B stored transposed as [1][3][N][K] (broadcast over b0), bias [N]. */
	enum { B0 = 2, B1 = 3, M = 4, N = 5, K = 6 };
	float a[B0 * K * M], b[B1 * N * K], bias[N], out[B0 * B1 * M * N], want[B0 * B1 * M * N];
	rng_seed(1234);
	fill(a, B0 * K * M, -1.0f, 1.0f);
	fill(b, B1 * N * K, -1.0f, 1.0f);
	fill(bias, N, -1.0f, 1.0f);
	for (int i0 = 0; i0 < B0; i0++)
		for (int i1 = 0; i1 < B1; i1++)
			for (int i = 0; i < M; i++)
				for (int j = 0; j < N; j++) {
					double acc = 0.0;
					for (int k = 0; k < K; k++)
						acc += (double)a[(i0 * K + k) * M + i] * b[(i1 * N + j) * K + k];
					want[((i0 * B1 + i1) * M + i) * N + j] = (float)(0.5 * acc + 2.0 * bias[j]);
				}
	struct effc_rt_matmul p = {0};
	p.m = M, p.n = N, p.k = K;
	p.batch_rank = 2, p.batch[0] = B0, p.batch[1] = B1;
	p.a_bstride[0] = K * M, p.a_bstride[1] = 0;
	p.b_bstride[0] = 0, p.b_bstride[1] = N * K;
	p.bias_bstride[0] = p.bias_bstride[1] = 0;
	p.a_sm = 1, p.a_sk = M, p.b_sk = 1, p.b_sn = K, p.bias_sm = 0, p.bias_sn = 1;
	p.alpha = 0.5f, p.beta = 2.0f, p.out_min = -INFINITY, p.out_max = INFINITY;
	fill_nan(out, B0 * B1 * M * N);
	effc_rt_ref_matmul(&p, a, b, bias, out);
	expect_close("ref matmul broadcast batch, transposed A and B, bias", out, want, B0 * B1 * M * N, 1e-5);

	struct effc_rt_op op;
	fill_nan(out, B0 * B1 * M * N);
	int st = effc_rt_matmul_create(rt, &op, &p, a, b, bias, out);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	expect_status("matmul create+run", st, EFFC_RT_OK);
	expect_close("matmul create+run vs naive", out, want, B0 * B1 * M * N, 1e-5);
	effc_rt_op_destroy(&op);

	/* Row-major A [2][1][M][K] and B [1][3][K][N]; a full bias [1][3][M][N] broadcast over b0. */
	{
		float a2[B0 * M * K], b2[B1 * K * N], c2[B1 * M * N], o3[B0 * B1 * M * N], w3[B0 * B1 * M * N];
		fill(a2, B0 * M * K, -1.0f, 1.0f);
		fill(b2, B1 * K * N, -1.0f, 1.0f);
		fill(c2, B1 * M * N, -1.0f, 1.0f);
		for (int i0 = 0; i0 < B0; i0++)
			for (int i1 = 0; i1 < B1; i1++)
				for (int i = 0; i < M; i++)
					for (int j = 0; j < N; j++) {
						double acc = 0.0;
						for (int k = 0; k < K; k++)
							acc += (double)a2[(i0 * M + i) * K + k] * b2[(i1 * K + k) * N + j];
						w3[((i0 * B1 + i1) * M + i) * N + j] = (float)(acc - c2[(i1 * M + i) * N + j]);
					}
		struct effc_rt_matmul r = {0};
		r.m = M, r.n = N, r.k = K;
		r.batch_rank = 2, r.batch[0] = B0, r.batch[1] = B1;
		r.a_bstride[0] = M * K, r.a_bstride[1] = 0;
		r.b_bstride[0] = 0, r.b_bstride[1] = K * N;
		r.bias_bstride[0] = 0, r.bias_bstride[1] = M * N;
		r.a_sm = K, r.a_sk = 1, r.b_sk = N, r.b_sn = 1, r.bias_sm = N, r.bias_sn = 1;
		r.alpha = 1.0f, r.beta = -1.0f, r.out_min = -INFINITY, r.out_max = INFINITY;
		fill_nan(o3, B0 * B1 * M * N);
		effc_rt_ref_matmul(&r, a2, b2, c2, o3);
		expect_close("ref matmul broadcast batch, batched bias, beta=-1", o3, w3, B0 * B1 * M * N, 1e-5);
	}

	/* Plain row-major, no batch, no bias, clamped to [-0.5, 0.5]. */
	float c[M * K], d[K * N], o2[M * N], w2[M * N];
	fill(c, M * K, -1.0f, 1.0f);
	fill(d, K * N, -1.0f, 1.0f);
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double acc = 0.0;
			for (int k = 0; k < K; k++)
				acc += (double)c[i * K + k] * d[k * N + j];
			w2[i * N + j] = (float)clampd(acc, -0.5, 0.5);
		}
	struct effc_rt_matmul q = {0};
	q.m = M, q.n = N, q.k = K, q.batch_rank = 0;
	q.a_sm = K, q.a_sk = 1, q.b_sk = N, q.b_sn = 1;
	q.alpha = 1.0f, q.beta = 1.0f, q.out_min = -0.5f, q.out_max = 0.5f;
	fill_nan(o2, M * N);
	effc_rt_ref_matmul(&q, c, d, NULL, o2);
	expect_close("ref matmul row-major no bias clamped", o2, w2, M * N, 1e-5);
}

static void test_copy(struct effc_rt *rt)
{
	float in[10], out[10];
	for (int i = 0; i < 10; i++)
		in[i] = (float)i * 1.5f;
	fill_nan(out, 10);
	struct effc_rt_op op;
	int st = effc_rt_copy_create(rt, &op, sizeof in, in, out);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	check(st == EFFC_RT_OK && memcmp(in, out, sizeof in) == 0, "copy create+run", "status %d or bytes differ", st);
	st = effc_rt_copy_create(rt, &op, sizeof in, in, in); /* in place: nothing to move */
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	check(st == EFFC_RT_OK && in[9] == 13.5f, "copy in place", "status %d", st);
	effc_rt_op_destroy(&op);
}

/* ---- Swish, HardSwish, scale+bias, squeeze-excitation, conv with post-activation -------- */

/* Swish to compare against: x * sigmoid(x) in double (NaN at -inf, like ONNX's -inf * 0). */
static double swish_exact(double x) { return x / (1.0 + exp(-x)); }

/* |got - ref| <= rel * |ref|, or <= abs (near 0, where relative error means nothing). */
static int swish_close(double got, double ref, double rel, double abs_tol)
{
	double err = fabs(got - ref);
	return err <= rel * fabs(ref) || err <= abs_tol;
}

/* effc_rt_fake_quant against ONNX's QuantizeLinear then DequantizeLinear computed in double
 * (x / scale rounded half to even, the zero point added, saturated, dequantized): ties (x /
 * scale = k + 0.5 exactly, even and odd k, where the scale is 5/128 or 1/2), saturation at
 * both ends, zero points at the range's ends, uint8 and int8, lengths 1..37 (vector bodies and
 * tails), in place, NaN; and the op (EFFC_RT_UNARY, threads over elements) against the same. */
static double fake_quant_onnx(double x, double s, double zp, double lo, double hi)
{
	double q = x / (float)s; /* ONNX divides in float; the quotient of two floats, then rounded */
	q = (double)(float)q;
	double r = nearbyint(q) + zp; /* round half to even (the default rounding mode) */
	r = r < lo ? lo : r > hi ? hi : r;
	return (r - zp) * (float)s;
}

static void test_fake_quant_kernel(const char *isa, struct effc_rt *rt)
{
	static const struct {
		float s, zp, lo, hi;
	} qs[] = {{0.05f, 3.0f, 0.0f, 255.0f}, {0.0390625f, -128.0f, -128.0f, 127.0f}, {0.5f, 0.0f, -128.0f, 127.0f},
		  {0.013f, 255.0f, 0.0f, 255.0f}};
	char name[160];
	for (size_t c = 0; c < sizeof qs / sizeof *qs; c++) {
		const float s = qs[c].s, zp = qs[c].zp, lo = qs[c].lo, hi = qs[c].hi;
		enum { N = 600 };
		float in[N + 1], out[N + 1];
		rng_seed(1500 + c);
		for (int i = 0; i < N; i++) {
			if (i % 4 == 0) /* (k + 0.5) * s, k from -75 to 74: exact ties where s is 5/128 or 1/2 */
				in[i] = (float)((double)(i / 4 - 75) + 0.5) * s;
			else
				in[i] = rng_uniform(-1.2f, 1.2f) * s * 300.0f;
		}
		in[1] = 1e30f, in[2] = -1e30f; /* saturate */
		fill_nan(out, N);
		effc_rt_fake_quant(N, s, zp, lo, hi, in, out);
		size_t bad = N;
		for (size_t i = 0; i < N && bad == N; i++)
			if ((double)out[i] != (double)(float)fake_quant_onnx(in[i], s, zp, lo, hi))
				bad = i;
		snprintf(name, sizeof name, "fake_quant %s scale %g zp %g [%g, %g]: equals ONNX's Q then DQ (ties, saturation)",
			 isa, (double)s, (double)zp, (double)lo, (double)hi);
		check(bad == N, name, "x=%.9g: got %.9g, want %.9g", bad < N ? (double)in[bad] : 0.0,
		      bad < N ? (double)out[bad] : 0.0, bad < N ? fake_quant_onnx(in[bad], s, zp, lo, hi) : 0.0);
		int tails = 1;
		for (size_t len = 1; len <= 37; len++) {
			float o[38];
			fill_nan(o, 38);
			effc_rt_fake_quant(len, s, zp, lo, hi, in + 3, o);
			tails &= memcmp(o, out + 3, len * sizeof(float)) == 0 && isnan(o[len]);
		}
		snprintf(name, sizeof name, "fake_quant %s lengths 1..37 equal the long run, nothing written past", isa);
		check(tails, name, "a short run differs or wrote past its end");
		float inplace[N];
		memcpy(inplace, in, sizeof inplace);
		effc_rt_fake_quant(N, s, zp, lo, hi, inplace, inplace);
		snprintf(name, sizeof name, "fake_quant %s in place", isa);
		check(memcmp(inplace, out, sizeof inplace) == 0, name, "bytes differ");
	}
	const float nan_in[3] = {NAN, 1.0f, NAN};
	float nan_out[3];
	effc_rt_fake_quant(3, 0.1f, 0.0f, -128.0f, 127.0f, nan_in, nan_out);
	snprintf(name, sizeof name, "fake_quant %s NaN stays NaN", isa);
	check(isnan(nan_out[0]) && isnan(nan_out[2]) && nan_out[1] == 1.0f, name, "got %g %g %g", (double)nan_out[0],
	      (double)nan_out[1], (double)nan_out[2]);
	/* the op, on whichever thread count rt has */
	enum { R = 37, C = 129 };
	static float x[R * C], y[R * C];
	rng_seed(1600);
	fill(x, R * C, -3.0f, 3.0f);
	fill_nan(y, R * C);
	const struct effc_rt_unary p = {.op = EFFC_RT_FAKE_QUANT, .rows = R, .channels = C, .alpha = 0.02f, .beta = -5.0f,
					.min = -128.0f, .max = 127.0f};
	struct effc_rt_op op;
	int st = effc_rt_unary_create(rt, &op, &p, x, y, NULL, NULL);
	if (!st)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "fake_quant %s op t%d create+run on our kernel", isa, rt->threads);
	check(!st && op.kind == EFFC_RT_UNARY, name, "status %d kind %d", st, (int)op.kind);
	size_t bad = R * C;
	for (size_t i = 0; i < R * C && bad == R * C; i++)
		if ((double)y[i] != (double)(float)fake_quant_onnx(x[i], 0.02f, -5.0f, -128.0f, 127.0f))
			bad = i;
	snprintf(name, sizeof name, "fake_quant %s op t%d equals ONNX's Q then DQ", isa, rt->threads);
	check(bad == R * C, name, "element %zu", bad);
	effc_rt_op_destroy(&op);
}

/* effc_rt_sigmoid (the SE gate's) against 1 / (1 + e^-x) in double: relative error where the
 * result is a normal float, absolute (FLT_MIN: the portable exponential flushes what would be
 * subnormal) below; vector tails, in place, and the non-finite inputs on both the vector body
 * and the scalar tail. */
static void test_sigmoid_accuracy(void)
{
	enum { SWEEP = 240 * 256 + 1 };
	static const float specials[] = {0.0f,   -0.0f, 1e-45f, -1e-45f, 1e-20f, -1e-20f, 86.9f,
					 -86.9f, 87.5f, -87.5f, 88.3f,   -88.3f, 88.5f,   -88.5f,
					 89.0f,  -89.0f, 1e4f, -1e4f,   3.4028235e38f, -3.4028235e38f};
	const size_t n_spec = sizeof specials / sizeof specials[0], n = SWEEP + n_spec;
	float *in = alloc_f(n), *out = alloc_f(n), *inplace = alloc_f(n);
	for (int i = 0; i < SWEEP; i++)
		in[i] = -120.0f + (float)i / 256.0f;
	memcpy(in + SWEEP, specials, sizeof specials);
	fill_nan(out, n);
	effc_rt_sigmoid(n, in, out);
	double max_rel = 0.0;
	float at = 0.0f;
	size_t bad = n;
	for (size_t i = 0; i < n; i++) {
		const double e = 1.0 / (1.0 + exp(-(double)in[i])), err = fabs(out[i] - e);
		if (e >= 1.17549435e-38 && err / e > max_rel)
			max_rel = err / e, at = in[i];
		if (!(err <= 2e-6 * e || err <= 1.17549435e-38) && bad == n)
			bad = i;
	}
	char name[160];
	snprintf(name, sizeof name, "sigmoid vs double over [-120, 120] + specials: max rel err %.3g (x=%g)", max_rel,
		 (double)at);
	check(bad == n, name, "x=%.9g: got %.9g", bad < n ? (double)in[bad] : 0.0, bad < n ? (double)out[bad] : 0.0);
	/* Lengths 1..19 from x = -2 (where the results are far from 0 and 1) against the long
	 * run: the vector body and the scalar tail agree to within the error bound. */
	int tails_ok = 1;
	const size_t at_m2 = 118 * 256;
	for (size_t len = 1; len <= 19; len++) {
		float o[19];
		fill_nan(o, 19);
		effc_rt_sigmoid(len, in + at_m2, o);
		for (size_t i = 0; i < len; i++)
			tails_ok &= fabs(o[i] - out[at_m2 + i]) <= 4e-6 * out[at_m2 + i];
	}
	check(tails_ok && in[at_m2] == -2.0f, "sigmoid lengths 1..19 (vector tail) agree with the long run",
	      "a short run differs");
	memcpy(inplace, in, n * sizeof(float));
	effc_rt_sigmoid(n, inplace, inplace);
	check(memcmp(inplace, out, n * sizeof(float)) == 0, "sigmoid in place equals out of place", "bytes differ");
	/* +inf, -inf, NaN at lanes 0-2 of the 8-wide body and again in the 3-element scalar tail;
	 * sigmoid(-inf) within the bound's absolute part of 0 (the AVX-512 form gives 3e-39). */
	const float edge_in[11] = {INFINITY, -INFINITY, NAN, 0, 1, 2, 3, 4, INFINITY, -INFINITY, NAN};
	float edge[11];
	effc_rt_sigmoid(11, edge_in, edge);
	int edges_ok = 1;
	for (int k = 0; k < 11; k += 8)
		edges_ok &= edge[k] == 1.0f && edge[k + 1] >= 0.0f && edge[k + 1] <= 1.17549435e-38f && isnan(edge[k + 2]);
	check(edges_ok, "sigmoid(+inf, -inf, NaN) = 1, 0 (within FLT_MIN), NaN in the vector body and the tail",
	      "got %g %g %g / %g %g %g", (double)edge[0], (double)edge[1], (double)edge[2], (double)edge[8],
	      (double)edge[9], (double)edge[10]);
	free(in), free(out), free(inplace);
}

/* effc_rt_swish (polynomial exp, multiversioned) against effc_rt_ref_swish (expf) and against
 * double precision. The measured maxima are part of the check names so the log records them. */
static void test_swish_accuracy(void)
{
	char name[256];
	enum { SWEEP = 200 * 256 + 1, RANDOM = 20000 };
	static const float specials[] = {0.0f, -0.0f, 1e-45f, -1e-45f, 1e-40f, -1e-40f, 1.17549435e-38f, -1.17549435e-38f,
					 1e-38f, -1e-38f, 1e-20f, -1e-20f, 1e-7f, -1e-7f, 0.5f, -0.5f, 86.9f, -86.9f, 87.0f,
					 -87.0f, 87.5f, -87.5f, 88.7f, -88.7f, 89.0f, -89.0f, 103.9f, -103.9f, 1e4f, -1e4f};
	const size_t n_spec = sizeof specials / sizeof specials[0], n = SWEEP + RANDOM + n_spec;
	float *in = alloc_f(n), *fast = alloc_f(n), *ref = alloc_f(n);
	for (int i = 0; i < SWEEP; i++)
		in[i] = -100.0f + (float)i / 256.0f; /* exact: every 1/256 in [-100, 100] */
	rng_seed(700);
	fill(in + SWEEP, RANDOM, -20.0f, 20.0f);
	memcpy(in + SWEEP + RANDOM, specials, sizeof specials);
	fill_nan(fast, n);
	effc_rt_swish(n, in, fast);
	effc_rt_ref_swish(n, in, ref);

	double max_rel = 0.0, max_abs_small = 0.0, max_rel_exact = 0.0, max_rel_ref_exact = 0.0;
	float at_rel = 0.0f, at_abs = 0.0f, at_exact = 0.0f;
	size_t bad = n;
	for (size_t i = 0; i < n; i++) {
		const double f = fast[i], r = ref[i], e = swish_exact(in[i]);
		const double err = fabs(f - r);
		if (fabs(r) >= 1e-6) {
			if (err / fabs(r) > max_rel)
				max_rel = err / fabs(r), at_rel = in[i];
		} else if (err > max_abs_small) {
			max_abs_small = err, at_abs = in[i];
		}
		if (fabs(e) >= 1e-6) {
			if (fabs(f - e) / fabs(e) > max_rel_exact)
				max_rel_exact = fabs(f - e) / fabs(e), at_exact = in[i];
			if (fabs(r - e) / fabs(e) > max_rel_ref_exact)
				max_rel_ref_exact = fabs(r - e) / fabs(e);
		}
		if (!swish_close(f, r, 2e-6, 1e-6) && bad == n)
			bad = i;
	}
	snprintf(name, sizeof name,
		 "swish fast vs ref over %zu inputs in [-100, 100] + specials: max rel err %.3g (x=%g), max abs err where "
		 "|ref| < 1e-6 %.3g (x=%g)",
		 n, max_rel, (double)at_rel, max_abs_small, (double)at_abs);
	check(bad == n, name, "x=%.9g: fast %.9g, ref %.9g", bad < n ? (double)in[bad] : 0.0, bad < n ? (double)fast[bad] : 0.0,
	      bad < n ? (double)ref[bad] : 0.0);
	snprintf(name, sizeof name, "swish fast vs double: max rel err %.3g (x=%g); ref (expf) vs double %.3g", max_rel_exact,
		 (double)at_exact, max_rel_ref_exact);
	check(max_rel_exact <= 5e-7, name, "above 5e-7 (effc_rt_simd.h promises 3.8e-7 on AVX2, 4.4e-7 on AVX-512)");

	/* Odd lengths and in place: the vector body and the scalar tail agree with the full run. */
	int tails_ok = 1;
	for (size_t len = 1; len <= 19; len++) {
		float out[19];
		effc_rt_swish(len, in + 1000, out);
		for (size_t i = 0; i < len; i++)
			tails_ok &= swish_close(out[i], ref[1000 + i], 2e-6, 1e-6);
	}
	check(tails_ok, "swish lengths 1..19 (vector tail)", "a short run differs from the reference");
	float *inplace = alloc_f(n);
	memcpy(inplace, in, n * sizeof(float));
	effc_rt_swish(n, inplace, inplace);
	check(memcmp(inplace, fast, n * sizeof(float)) == 0, "swish in place equals out of place", "bytes differ");

	/* Non-finite and huge inputs, one check each so a failure names the input. */
	static const float edge_in[] = {INFINITY, -INFINITY, NAN, 1e30f, -1e30f, 3.4028235e38f, -3.4028235e38f};
	float edge_fast[7], edge_ref[7];
	effc_rt_swish(7, edge_in, edge_fast);
	effc_rt_ref_swish(7, edge_in, edge_ref);
	check(isinf(edge_fast[0]) && edge_fast[0] > 0, "swish(+inf) = +inf", "got %g", (double)edge_fast[0]);
	/* ONNX computes Mul(x, Sigmoid(x)) = -inf * 0 = NaN (as the reference does); the limit is 0,
	 * which the AVX2 form gives and the AVX-512 form within 2.6e-37. */
	check(isnan(edge_fast[1]) || fabsf(edge_fast[1]) <= 1e-36f,
	      "swish(-inf) is NaN (as ref and ONNX) or within 1e-36 of 0 (the limit)",
	      "got %g, ref %g", (double)edge_fast[1], (double)edge_ref[1]);
	check(isnan(edge_fast[2]), "swish(NaN) = NaN", "got %g", (double)edge_fast[2]);
	check(swish_close(edge_fast[3], edge_ref[3], 2e-6, 1e-6) && swish_close(edge_fast[5], edge_ref[5], 2e-6, 1e-6),
	      "swish(1e30), swish(FLT_MAX) = x", "got %g, %g", (double)edge_fast[3], (double)edge_fast[5]);
	check(swish_close(edge_fast[4], edge_ref[4], 2e-6, 1e-6) && swish_close(edge_fast[6], edge_ref[6], 2e-6, 1e-6),
	      "swish(-1e30), swish(-FLT_MAX) ~ 0 (as ref)", "got %g, %g; ref %g, %g", (double)edge_fast[4],
	      (double)edge_fast[6], (double)edge_ref[4], (double)edge_ref[6]);
	free(in), free(fast), free(ref), free(inplace);
}

#ifdef EFFC_RT_EXP2_32THS_LO
/* The AVX-512 exponential's table: entry j with (127 << 23) + (j << 18) added back is 2^(j/32)
 * rounded to the nearest float. An entry off by a few ulps would stay inside the accuracy
 * tests' bound, so each is checked here. */
static void test_exp2_table(void)
{
	static const int32_t tab[32] = {EFFC_RT_EXP2_32THS_LO, EFFC_RT_EXP2_32THS_HI};
	int ok = 1;
	for (int j = 0; j < 32; j++) {
		const float v = (float)exp2(j / 32.0);
		int32_t bits;
		memcpy(&bits, &v, sizeof bits);
		ok &= tab[j] == bits - (127 << 23) - (j << 18);
	}
	check(ok, "AVX-512 exponential: the 32 table entries are 2^(j/32) rounded to nearest", "an entry differs");
}
#endif

/* Swish and sigmoid on each ISA at every length 1..40 and a few up to 4099: the masked rests
 * give the bits of the full run; and the AVX-512 form (table exponential) within 1e-6 of the
 * AVX2 one, NaN where it is NaN. */
static void test_swish_isa_tails(void)
{
	enum { N = 4099 };
	float *in = alloc_f(N), *full = alloc_f(2 * 2 * N), *part = alloc_f(N);
	for (int i = 0; i < N; i++)
		in[i] = -95.0f + (float)i * (190.0f / N);
	in[5] = INFINITY, in[6] = -INFINITY, in[7] = NAN;
	const int was = effc_rt_allow_avx512(1);
	int tails = 1;
	for (int isa = 0; isa < 2; isa++) {
		effc_rt_allow_avx512(isa);
		for (int f = 0; f < 2; f++) {
			float *whole = full + (size_t)(isa * 2 + f) * N;
			(f ? effc_rt_sigmoid : effc_rt_swish)(N, in, whole);
			for (size_t len = 1; len <= N; len += len < 40 ? 1 : 1009) {
				fill_nan(part, N);
				(f ? effc_rt_sigmoid : effc_rt_swish)(len, in, part);
				tails &= !memcmp(part, whole, len * sizeof(float));
				for (size_t i = len; i < N; i++)
					tails &= isnan(part[i]); /* nothing written past the end */
			}
		}
	}
	effc_rt_allow_avx512(was);
	check(tails, "swish and sigmoid on AVX2 and AVX-512: lengths 1..40 and up to 4099 give the full run's bits",
	      "a short run differs or writes past its end");
	int close = 1;
	for (int f = 0; f < 2; f++)
		for (size_t i = 0; i < N; i++) {
			const float x2 = full[(size_t)f * N + i], x512 = full[(size_t)(2 + f) * N + i];
			if (isnan(x2) || isnan(x512))
				close &= (isnan(x2) && isnan(x512)) || (f == 0 && isinf(in[i]) && in[i] < 0);
			else
				close &= x512 == x2 || fabs((double)x512 - x2) <= 1e-6 * fabs((double)x2) + 1e-36;
		}
	check(close, "swish and sigmoid: AVX-512 within 1e-6 of AVX2 (NaN where NaN; swish(-inf) may be NaN)",
	      "outputs differ");
	free(in), free(full), free(part);
}

/* effc_rt_hardsigmoid (vector, on the ISA allowed now) against the reference unary: every length
 * 1..40 (the vector tails), a sweep across both clamp ends, +-inf, NaN, and in place. */
static void test_hardsigmoid_kernel(const char *isa)
{
	enum { N = 1000 };
	float in[N], got[N], ref[N];
	for (int i = 0; i < N; i++)
		in[i] = -12.0f + 24.0f * (float)i / (float)N;
	in[3] = INFINITY, in[4] = -INFINITY, in[5] = NAN, in[6] = -3.0f, in[7] = 3.0f;
	const float alpha = 1.0f / 6.0f, beta = 0.5f;
	const struct effc_rt_unary p = {.op = EFFC_RT_HARDSIGMOID, .rows = 1, .channels = N, .alpha = alpha, .beta = beta};
	effc_rt_ref_unary(&p, in, ref, NULL, NULL);
	char name[160];
	int tails_ok = 1, guard_ok = 1;
	for (size_t len = 1; len <= 40; len++) {
		fill_nan(got, N);
		effc_rt_hardsigmoid(len, alpha, beta, in + 8, got);
		for (size_t i = 0; i < len; i++)
			tails_ok &= fabsf(got[i] - ref[8 + i]) <= 1e-7f;
		for (size_t i = len; i < len + 20; i++)
			guard_ok &= isnan(got[i]); /* the masked tail writes nothing past n */
	}
	snprintf(name, sizeof name, "hardsigmoid %s lengths 1..40 vs ref", isa);
	check(tails_ok, name, "a short run differs from the reference");
	snprintf(name, sizeof name, "hardsigmoid %s writes nothing past n", isa);
	check(guard_ok, name, "an element past n was written");
	effc_rt_hardsigmoid(N, alpha, beta, in, got);
	snprintf(name, sizeof name, "hardsigmoid %s specials: +inf 1, -inf 0, NaN NaN, knees 0 and 1", isa);
	check(got[3] == 1.0f && got[4] == 0.0f && isnan(got[5]) && got[6] == 0.0f && got[7] == 1.0f, name,
	      "got %g %g %g %g %g", (double)got[3], (double)got[4], (double)got[5], (double)got[6], (double)got[7]);
	in[5] = 0.0f, ref[5] = 0.5f, got[5] = 0.5f; /* expect_close fails on NaN; checked above */
	snprintf(name, sizeof name, "hardsigmoid %s %d inputs vs ref", isa, N);
	expect_close(name, got, ref, N, 1e-7);
	float inplace[N];
	memcpy(inplace, in, sizeof inplace);
	effc_rt_hardsigmoid(N, alpha, beta, inplace, inplace);
	effc_rt_hardsigmoid(N, alpha, beta, in, got);
	snprintf(name, sizeof name, "hardsigmoid %s in place equals out of place", isa);
	check(memcmp(inplace, got, sizeof got) == 0, name, "bytes differ");
}

/* effc_rt_hardswish against x * relu6(x + 3) / 6 in double and against the reference unary. */
static void test_hardswish_formula(void)
{
	enum { SWEEP = 20 * 64 + 1, RANDOM = 5000 };
	const size_t n = SWEEP + RANDOM + 5;
	float *in = alloc_f(n), *got = alloc_f(n), *ref = alloc_f(n);
	for (int i = 0; i < SWEEP; i++)
		in[i] = -10.0f + (float)i / 64.0f;
	rng_seed(710);
	fill(in + SWEEP, RANDOM, -100.0f, 100.0f);
	in[n - 5] = -3.0f, in[n - 4] = 3.0f, in[n - 3] = 0.0f, in[n - 2] = 1e30f, in[n - 1] = -1e30f;
	fill_nan(got, n);
	effc_rt_hardswish(n, in, got);
	double worst = 0.0;
	size_t bad = n;
	for (size_t i = 0; i < n; i++) {
		const double x = in[i], want = x * clampd(x + 3.0, 0.0, 6.0) / 6.0;
		const double err = fabs((double)got[i] - want);
		if (fabs(want) >= 1e-6 && err / fabs(want) > worst)
			worst = err / fabs(want);
		if (!swish_close(got[i], want, 1e-6, 1e-6) && bad == n)
			bad = i;
	}
	char name[160];
	snprintf(name, sizeof name, "hardswish vs formula over %zu inputs (max rel err %.3g)", n, worst);
	check(bad == n, name, "x=%.9g: got %.9g", bad < n ? (double)in[bad] : 0.0, bad < n ? (double)got[bad] : 0.0);
	check(got[n - 5] == 0.0f && got[n - 4] == 3.0f && got[n - 3] == 0.0f, "hardswish knees: f(-3)=0, f(3)=3, f(0)=0",
	      "got %g %g %g", (double)got[n - 5], (double)got[n - 4], (double)got[n - 3]);
	struct effc_rt_unary p = {.op = EFFC_RT_HARDSWISH, .rows = 1, .channels = n};
	effc_rt_ref_unary(&p, in, ref, NULL, NULL);
	expect_close("hardswish vs ref unary", got, ref, n, 1e-6);
	free(in), free(got), free(ref);
}

/* The Swish unary op (EFFC_RT_SWISH_OP) through create+run, out of place and in place; large
 * enough that two threads split it. */
static void test_unary_swish(struct effc_rt *rt, size_t rows, size_t channels, int seed)
{
	char name[160];
	const size_t n = rows * channels;
	float *in = alloc_f(n), *got = alloc_f(n), *ref = alloc_f(n), *buf = alloc_f(n);
	rng_seed((uint64_t)seed);
	fill(in, n, -12.0f, 12.0f);
	struct effc_rt_unary p = {.op = EFFC_RT_SWISH_OP, .rows = rows, .channels = channels};
	effc_rt_ref_unary(&p, in, ref, NULL, NULL);
	struct effc_rt_op op;
	fill_nan(got, n);
	int st = effc_rt_unary_create(rt, &op, &p, in, got, NULL, NULL);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "unary swish %zux%zu t%d create+run", rows, channels, rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	snprintf(name, sizeof name, "unary swish %zux%zu t%d run vs ref", rows, channels, rt->threads);
	expect_close(name, got, ref, n, 2e-6);
	effc_rt_op_destroy(&op);
	/* the threads' pieces start at multiples of 8: the same bits as one call over all of it */
	effc_rt_swish(n, in, buf);
	snprintf(name, sizeof name, "unary swish %zux%zu t%d vs one effc_rt_swish call", rows, channels, rt->threads);
	check(memcmp(buf, got, n * sizeof(float)) == 0, name, "the pieces' results differ from one call's");

	memcpy(buf, in, n * sizeof(float));
	st = effc_rt_unary_create(rt, &op, &p, buf, buf, NULL, NULL);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "unary swish %zux%zu t%d in place", rows, channels, rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	check(memcmp(buf, got, n * sizeof(float)) == 0, name, "in-place result differs from out of place");
	effc_rt_op_destroy(&op);
	free(in), free(got), free(ref), free(buf);
}

/* y = x * scale[c] + bias[c] over [outer][channels][inner]. */
static void test_scale_bias(struct effc_rt *rt, size_t outer, size_t channels, size_t inner, int seed)
{
	char name[160];
	const size_t n = outer * channels * inner;
	float *in = alloc_f(n), *got = alloc_f(n), *ref = alloc_f(n), *naive = alloc_f(n), *buf = alloc_f(n);
	float *scale = alloc_f(channels), *bias = alloc_f(channels);
	rng_seed((uint64_t)seed);
	fill(in, n, -4.0f, 4.0f);
	fill(scale, channels, -2.0f, 2.0f);
	fill(bias, channels, -1.0f, 1.0f);
	for (size_t o = 0; o < outer; o++)
		for (size_t c = 0; c < channels; c++)
			for (size_t i = 0; i < inner; i++) {
				const size_t e = (o * channels + c) * inner + i;
				naive[e] = (float)((double)in[e] * scale[c] + bias[c]);
			}
	fill_nan(ref, n);
	effc_rt_ref_scale_bias(outer, channels, inner, scale, bias, in, ref);
	snprintf(name, sizeof name, "scale_bias %zux%zux%zu ref vs formula", outer, channels, inner);
	expect_close(name, ref, naive, n, 1e-6);

	struct effc_rt_op op;
	fill_nan(got, n);
	int st = effc_rt_scale_bias_create(rt, &op, outer, channels, inner, scale, bias, in, got);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "scale_bias %zux%zux%zu t%d create+run", outer, channels, inner, rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	snprintf(name, sizeof name, "scale_bias %zux%zux%zu t%d run vs ref", outer, channels, inner, rt->threads);
	expect_close(name, got, ref, n, 1e-6);
	effc_rt_op_destroy(&op);

	memcpy(buf, in, n * sizeof(float));
	st = effc_rt_scale_bias_create(rt, &op, outer, channels, inner, scale, bias, buf, buf);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "scale_bias %zux%zux%zu t%d in place vs ref", outer, channels, inner, rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	expect_close(name, buf, ref, n, 1e-6);
	effc_rt_op_destroy(&op);
	free(in), free(got), free(ref), free(naive), free(buf), free(scale), free(bias);
}

static const char *const act_names[] = {"none", "swish", "hardswish"};

/* Squeeze-excitation by its definition in double: x NHWC [batch][hw][C], W1 [Cr][C], W2 [C][Cr]. */
static void naive_se(const struct effc_rt_se *p, const float *w1, const float *b1, const float *w2, const float *b2,
		     const float *in, float *out)
{
	const size_t C = p->channels, R = p->reduced;
	double *pooled = malloc(sizeof(double) * (C + R)), *h = pooled + C;
	if (!pooled)
		abort();
	for (size_t b = 0; b < p->batch; b++) {
		const float *x = in + b * p->hw * C;
		for (size_t c = 0; c < C; c++) {
			double s = 0.0;
			for (size_t i = 0; i < p->hw; i++)
				s += x[i * C + c];
			pooled[c] = s / (double)p->hw;
		}
		for (size_t j = 0; j < R; j++) {
			double a = b1 ? b1[j] : 0.0;
			for (size_t c = 0; c < C; c++)
				a += (double)w1[j * C + c] * pooled[c];
			a = clampd(a, p->act_min, p->act_max);
			if (p->act == EFFC_RT_ACT_SWISH)
				a = swish_exact(a);
			else if (p->act == EFFC_RT_ACT_HARDSWISH)
				a = a * clampd(a + 3.0, 0.0, 6.0) / 6.0;
			h[j] = a;
		}
		for (size_t c = 0; c < C; c++) {
			double a = b2 ? b2[c] : 0.0;
			for (size_t j = 0; j < R; j++)
				a += (double)w2[c * R + j] * h[j];
			const double gate = p->gate == EFFC_RT_GATE_SIGMOID ? 1.0 / (1.0 + exp(-a))
									    : clampd(p->gate_alpha * a + p->gate_beta, 0.0, 1.0);
			for (size_t i = 0; i < p->hw; i++)
				out[(b * p->hw + i) * C + c] = (float)(x[i * C + c] * gate);
		}
	}
	free(pooled);
}

static void test_se(struct effc_rt *rt, size_t batch, size_t hw, size_t C, size_t R, enum effc_rt_act act, float amin,
		    float amax, enum effc_rt_gate gate, int inplace, int no_bias, int seed)
{
	char name[256], what[160];
	const size_t n = batch * hw * C;
	struct effc_rt_se p = {.batch = batch, .hw = hw, .channels = C, .reduced = R, .act = act, .act_min = amin,
			       .act_max = amax, .gate = gate, .gate_alpha = 0.2f, .gate_beta = 0.5f};
	snprintf(what, sizeof what, "se b%zu hw%zu c%zu r%zu act %s [%g,%g] gate %s%s%s t%d", batch, hw, C, R, act_names[act],
		 (double)amin, (double)amax, gate == EFFC_RT_GATE_SIGMOID ? "sigmoid" : "hardsigmoid",
		 inplace ? " in place" : "", no_bias ? " no bias" : "", rt->threads);
	float *in = alloc_f(n), *ref = alloc_f(n), *naive = alloc_f(n), *got = alloc_f(n);
	float *w1 = alloc_f(R * C), *b1 = alloc_f(R), *w2 = alloc_f(C * R), *b2 = alloc_f(C), *scratch = alloc_f(2 * C + R);
	rng_seed((uint64_t)seed);
	fill(in, n, -3.0f, 3.0f);
	fill(w1, R * C, -1.0f, 1.0f);
	fill(b1, R, -1.0f, 1.0f);
	fill(w2, C * R, -1.0f, 1.0f);
	fill(b2, C, -1.0f, 1.0f);
	const float *pb1 = no_bias ? NULL : b1, *pb2 = no_bias ? NULL : b2;

	fill_nan(ref, n);
	effc_rt_ref_se(&p, w1, pb1, w2, pb2, in, ref, scratch);
	naive_se(&p, w1, pb1, w2, pb2, in, naive);
	snprintf(name, sizeof name, "%s: ref vs naive", what);
	expect_close(name, ref, naive, n, 1e-5);

	struct effc_rt_op op;
	float *dst = got;
	if (inplace)
		memcpy(got, in, n * sizeof(float));
	else
		fill_nan(got, n);
	int st = effc_rt_se_create(rt, &op, &p, w1, pb1, w2, pb2, inplace ? got : in, dst);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "%s: create+run", what);
	expect_status(name, st, EFFC_RT_OK);
	snprintf(name, sizeof name, "%s: run vs ref", what);
	expect_close(name, got, ref, n, 1e-5);
	if (!inplace && st == EFFC_RT_OK) {
		/* Repeatable: the scratch holds nothing between runs. */
		memcpy(naive, got, n * sizeof(float));
		fill_nan(got, n);
		effc_rt_run(rt, &op);
		snprintf(name, sizeof name, "%s: second run", what);
		check(memcmp(naive, got, n * sizeof(float)) == 0, name, "second run differs");
	}
	effc_rt_op_destroy(&op);
	free(in), free(ref), free(naive), free(got), free(w1), free(b1), free(w2), free(b2), free(scratch);
}

static void test_se_cases(struct effc_rt *rt)
{
	int seed = 800;
	for (size_t batch = 1; batch <= 2; batch++)
		for (int gate = 0; gate < 2; gate++)
			for (int inplace = 0; inplace < 2; inplace++) {
				test_se(rt, batch, 49, 24, 6, EFFC_RT_ACT_SWISH, -INFINITY, INFINITY, (enum effc_rt_gate)gate, inplace, 0,
					seed++);
				test_se(rt, batch, 49, 24, 6, EFFC_RT_ACT_NONE, 0.0f, INFINITY, (enum effc_rt_gate)gate, inplace, 0,
					seed++);
			}
	test_se(rt, 2, 49, 24, 6, EFFC_RT_ACT_NONE, 0.0f, 6.0f, EFFC_RT_GATE_SIGMOID, 1, 0, seed++);
	test_se(rt, 1, 49, 24, 6, EFFC_RT_ACT_HARDSWISH, -INFINITY, INFINITY, EFFC_RT_GATE_HARDSIGMOID, 0, 0, seed++);
	test_se(rt, 2, 9, 7, 3, EFFC_RT_ACT_SWISH, -INFINITY, INFINITY, EFFC_RT_GATE_SIGMOID, 0, 1, seed++);
	test_se(rt, 1, 1, 40, 10, EFFC_RT_ACT_SWISH, -INFINITY, INFINITY, EFFC_RT_GATE_SIGMOID, 1, 0, seed++);
}

/* Conv with .act: equal to the reference conv (with its clamp) followed by the reference
 * activation. nhwc=1 runs XNNPACK then the activation; nhwc=0 the reference conv path. */
static void test_conv_act(struct effc_rt *rt, const struct conv_case *c, enum effc_rt_act act, int nhwc, int seed)
{
	char name[200];
	struct effc_rt_conv2d p = conv_params(c, nhwc);
	p.act = act;
	const size_t nw = (size_t)c->out_c * c->kh * c->kw * (c->in_c / c->groups);
	const size_t nin = (size_t)c->batch * c->in_h * c->in_w * c->in_c;
	const size_t nout = (size_t)c->batch * p.out_h * p.out_w * c->out_c;
	float *w = alloc_f(nw), *bias = alloc_f((size_t)c->out_c), *in = alloc_f(nin), *got = alloc_f(nout);
	float *ref = alloc_f(nout);
	rng_seed((uint64_t)seed);
	fill(w, nw, -1.0f, 1.0f);
	fill(bias, (size_t)c->out_c, -1.0f, 1.0f);
	fill(in, nin, -1.0f, 1.0f);
	effc_rt_ref_conv2d(&p, w, bias, in, ref); /* the reference conv clamps but ignores .act */
	if (act == EFFC_RT_ACT_SWISH) {
		effc_rt_ref_swish(nout, ref, ref);
	} else {
		struct effc_rt_unary u = {.op = EFFC_RT_HARDSWISH, .rows = 1, .channels = nout};
		effc_rt_ref_unary(&u, ref, ref, NULL, NULL);
	}
	struct effc_rt_op op;
	fill_nan(got, nout);
	int st = effc_rt_conv2d_create(rt, &op, &p, w, bias, in, got);
	if (st == EFFC_RT_OK)
		st = effc_rt_run(rt, &op);
	snprintf(name, sizeof name, "conv2d %s %s act %s t%d create+run", nhwc ? "nhwc" : "nchw", c->name, act_names[act],
		 rt->threads);
	expect_status(name, st, EFFC_RT_OK);
	snprintf(name, sizeof name, "conv2d %s %s act %s t%d vs ref conv then ref %s", nhwc ? "nhwc" : "nchw", c->name,
		 act_names[act], rt->threads, act_names[act]);
	expect_close(name, got, ref, nout, 1e-4);
	effc_rt_op_destroy(&op);
	free(w), free(bias), free(in), free(got), free(ref);
}

static const struct conv_case conv_act_cases[] = {
	/* name                N  H   W   Cin Cout grp kh kw sh sw dh dw pt pl pb pr  min        max */
	{"dense3x3",           2, 7,  6,  5,  8,   1,  3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0},
	{"depthwise3x3_s2",    1, 9,  9,  8,  8,   8,  3, 3, 2, 2, 1, 1, 1, 1, 1, 1, -INFINITY, INFINITY, 0},
	{"clamp_then_act",     1, 6,  6,  4,  8,   1,  3, 3, 1, 1, 1, 1, 1, 1, 1, 1, -0.5f,     6.0f,     0},
	{"large_16x16x40",     1, 16, 16, 8,  40,  1,  1, 1, 1, 1, 1, 1, 0, 0, 0, 0, -INFINITY, INFINITY, 0},
};

static void test_new_kernels(struct effc_rt *rt)
{
	test_unary_swish(rt, 3, 5000, 720);
	test_unary_swish(rt, 1, 7, 721);
	test_unary_swish(rt, 6, 5500, 722); /* 2 threads: n / 8 = 4125, not a multiple of 8 */
	test_scale_bias(rt, 2, 5, 7, 730);
	test_scale_bias(rt, 1, 16, 1, 731);
	test_se_cases(rt);
	const int n = (int)(sizeof conv_act_cases / sizeof conv_act_cases[0]);
	for (int i = 0; i < n; i++)
		for (int nhwc = 0; nhwc < 2; nhwc++) {
			test_conv_act(rt, &conv_act_cases[i], EFFC_RT_ACT_SWISH, nhwc, 900 + i);
			test_conv_act(rt, &conv_act_cases[i], EFFC_RT_ACT_HARDSWISH, nhwc, 950 + i);
		}
}

/* ---- API boundary ----------------------------------------------------------------------- */

/* A create that fails must leave the op inert: kind NONE, so run reports an error instead of
 * calling into a half-created op, and destroy is a no-op. */
static void expect_args(const char *name, int st, struct effc_rt_op *op)
{
	char full[160];
	snprintf(full, sizeof full, "api %s -> EFFC_RT_ERR_ARGS", name);
	expect_status(full, st, EFFC_RT_ERR_ARGS);
	snprintf(full, sizeof full, "api %s leaves op inert", name);
	check(op->kind == EFFC_RT_NONE && op->xnn == NULL, full, "kind %d, xnn %p after a failed create", (int)op->kind,
	      op->xnn);
	effc_rt_op_destroy(op);
}

static void test_api(struct effc_rt *rt)
{
	float buf[64] = {0}, out[64];
	struct effc_rt_op op;
	struct effc_rt tmp;
	expect_status("api init NULL -> EFFC_RT_ERR_ARGS", effc_rt_init(NULL, 1), EFFC_RT_ERR_ARGS);
	expect_status("api init threads=-1 -> EFFC_RT_ERR_ARGS", effc_rt_init(&tmp, -1), EFFC_RT_ERR_ARGS);
	int st0 = effc_rt_init(&tmp, 0);
	check(st0 == EFFC_RT_OK && tmp.threads == 1 && tmp.pool == NULL, "api init threads=0 means one thread",
	      "status %d, threads %d", st0, tmp.threads);
	if (st0 == EFFC_RT_OK)
		effc_rt_fini(&tmp);

	const struct conv_case cc = {"api", 1, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, -INFINITY, INFINITY, 0};
	struct effc_rt_conv2d cp = conv_params(&cc, 1);
	expect_args("conv2d in=NULL", effc_rt_conv2d_create(rt, &op, &cp, buf, NULL, NULL, out), &op);
	expect_args("conv2d out=NULL", effc_rt_conv2d_create(rt, &op, &cp, buf, NULL, buf, NULL), &op);
	expect_args("conv2d weights=NULL", effc_rt_conv2d_create(rt, &op, &cp, NULL, NULL, buf, out), &op);
	cp.nhwc = 0;
	expect_args("conv2d nchw in=NULL", effc_rt_conv2d_create(rt, &op, &cp, buf, NULL, NULL, out), &op);

	expect_args("fc in=NULL", effc_rt_fc_create(rt, &op, 1, 4, 4, buf, NULL, -INFINITY, INFINITY, NULL, out), &op);
	expect_args("fc out=NULL", effc_rt_fc_create(rt, &op, 1, 4, 4, buf, NULL, -INFINITY, INFINITY, buf, NULL), &op);
	expect_args("fc weights=NULL", effc_rt_fc_create(rt, &op, 1, 4, 4, NULL, NULL, -INFINITY, INFINITY, buf, out), &op);

	struct effc_rt_matmul mp = {.m = 2, .n = 2, .k = 2, .a_sm = 2, .a_sk = 1, .b_sk = 2, .b_sn = 1, .alpha = 1,
				    .beta = 1, .out_min = -INFINITY, .out_max = INFINITY};
	expect_args("matmul a=NULL", effc_rt_matmul_create(rt, &op, &mp, NULL, buf, NULL, out), &op);
	expect_args("matmul b=NULL", effc_rt_matmul_create(rt, &op, &mp, buf, NULL, NULL, out), &op);
	expect_args("matmul out=NULL", effc_rt_matmul_create(rt, &op, &mp, buf, buf, NULL, NULL), &op);
	expect_args("matmul p=NULL", effc_rt_matmul_create(rt, &op, NULL, buf, buf, NULL, out), &op);

	struct effc_rt_binary bp = {.op = EFFC_RT_ADD, .rank = 1, .a_shape = {4}, .b_shape = {4}, .out_min = -INFINITY,
				    .out_max = INFINITY};
	expect_args("binary a=NULL", effc_rt_binary_create(rt, &op, &bp, NULL, buf, out), &op);
	expect_args("binary b=NULL", effc_rt_binary_create(rt, &op, &bp, buf, NULL, out), &op);
	expect_args("binary out=NULL", effc_rt_binary_create(rt, &op, &bp, buf, buf, NULL), &op);
	expect_args("binary p=NULL", effc_rt_binary_create(rt, &op, NULL, buf, buf, out), &op);
	bp.rank = EFFC_RT_MAX_RANK + 1;
	expect_args("binary rank 7", effc_rt_binary_create(rt, &op, &bp, buf, buf, out), &op);

	struct effc_rt_unary up = {.op = EFFC_RT_SIGMOID, .rows = 1, .channels = 4};
	expect_args("unary in=NULL", effc_rt_unary_create(rt, &op, &up, NULL, out, NULL, NULL), &op);
	expect_args("unary out=NULL", effc_rt_unary_create(rt, &op, &up, buf, NULL, NULL, NULL), &op);
	expect_args("unary p=NULL", effc_rt_unary_create(rt, &op, NULL, buf, out, NULL, NULL), &op);

	expect_args("gap in=NULL", effc_rt_gap_create(rt, &op, 1, 4, 4, NULL, out), &op);
	expect_args("gap out=NULL", effc_rt_gap_create(rt, &op, 1, 4, 4, buf, NULL), &op);

	expect_args("batchnorm in=NULL", effc_rt_batchnorm_create(rt, &op, 1, 4, 1, buf, buf, buf, buf, 1e-5f, NULL, out), &op);
	expect_args("batchnorm out=NULL", effc_rt_batchnorm_create(rt, &op, 1, 4, 1, buf, buf, buf, buf, 1e-5f, buf, NULL), &op);
	expect_args("batchnorm var=NULL", effc_rt_batchnorm_create(rt, &op, 1, 4, 1, buf, buf, buf, NULL, 1e-5f, buf, out), &op);

	struct effc_rt_shape s = {2, {2, 2}};
	const int mask[2] = {0, 1}, perm[2] = {1, 0};
	const int64_t pb[2] = {0, 0}, pe[2] = {1, 1};
	expect_args("reduce_mean in=NULL", effc_rt_reduce_mean_create(rt, &op, &s, mask, NULL, out), &op);
	expect_args("reduce_mean out=NULL", effc_rt_reduce_mean_create(rt, &op, &s, mask, buf, NULL), &op);
	expect_args("reduce_mean mask=NULL", effc_rt_reduce_mean_create(rt, &op, &s, NULL, buf, out), &op);
	expect_args("softmax in=NULL", effc_rt_softmax_create(rt, &op, 1, 4, 1, NULL, out), &op);
	expect_args("softmax out=NULL", effc_rt_softmax_create(rt, &op, 1, 4, 1, buf, NULL), &op);
	expect_args("transpose in=NULL", effc_rt_transpose_create(rt, &op, &s, perm, NULL, out), &op);
	expect_args("transpose out=NULL", effc_rt_transpose_create(rt, &op, &s, perm, buf, NULL), &op);
	expect_args("transpose perm=NULL", effc_rt_transpose_create(rt, &op, &s, NULL, buf, out), &op);
	expect_args("pad in=NULL", effc_rt_pad_create(rt, &op, &s, pb, pe, 0.0f, NULL, out), &op);
	expect_args("pad out=NULL", effc_rt_pad_create(rt, &op, &s, pb, pe, 0.0f, buf, NULL), &op);
	expect_args("pad begin=NULL", effc_rt_pad_create(rt, &op, &s, NULL, pe, 0.0f, buf, out), &op);
	expect_args("scale_bias in=NULL", effc_rt_scale_bias_create(rt, &op, 1, 4, 1, buf, buf, NULL, out), &op);
	expect_args("scale_bias out=NULL", effc_rt_scale_bias_create(rt, &op, 1, 4, 1, buf, buf, buf, NULL), &op);
	expect_args("scale_bias scale=NULL", effc_rt_scale_bias_create(rt, &op, 1, 4, 1, NULL, buf, buf, out), &op);
	expect_args("scale_bias bias=NULL", effc_rt_scale_bias_create(rt, &op, 1, 4, 1, buf, NULL, buf, out), &op);
	struct effc_rt_se sp = {.batch = 1, .hw = 4, .channels = 4, .reduced = 2, .act = EFFC_RT_ACT_SWISH,
				.act_min = -INFINITY, .act_max = INFINITY};
	expect_args("se in=NULL", effc_rt_se_create(rt, &op, &sp, buf, buf, buf, buf, NULL, out), &op);
	expect_args("se out=NULL", effc_rt_se_create(rt, &op, &sp, buf, buf, buf, buf, buf, NULL), &op);
	expect_args("se p=NULL", effc_rt_se_create(rt, &op, NULL, buf, buf, buf, buf, buf, out), &op);
	expect_args("se w1=NULL", effc_rt_se_create(rt, &op, &sp, NULL, buf, buf, buf, buf, out), &op);
	expect_args("se w2=NULL", effc_rt_se_create(rt, &op, &sp, buf, buf, NULL, buf, buf, out), &op);
	sp.channels = 0;
	expect_args("se channels=0", effc_rt_se_create(rt, &op, &sp, buf, buf, buf, buf, buf, out), &op);
	sp.channels = 4, sp.reduced = 0;
	expect_args("se reduced=0", effc_rt_se_create(rt, &op, &sp, buf, buf, buf, buf, buf, out), &op);
	expect_args("copy in=NULL", effc_rt_copy_create(rt, &op, 16, NULL, out), &op);
	expect_args("copy out=NULL", effc_rt_copy_create(rt, &op, 16, buf, NULL), &op);

	memset(&op, 0, sizeof op);
	expect_status("api run on an empty op -> EFFC_RT_ERR_ARGS", effc_rt_run(rt, &op), EFFC_RT_ERR_ARGS);
	effc_rt_op_destroy(NULL); /* must not crash */
	check(1, "api destroy NULL", "-");
}

/* effc_rt_gemm_segments against a plain loop: 3 segments of 9 floats from rows 6 apart (the
 * stem's interior), B rows out of order, 1-30 rows, 8-40 columns, with and without Swish and a
 * clamp. It runs on the AVX-512 tiles only and must say so: 0 (nothing written) elsewhere. */
static void test_gemm_segments(void)
{
	enum { KS = 9, LDA = 6, K = 27, SEGS = 3 };
	static const size_t offs[SEGS] = {18, 0, 9};
	static const size_t ms[] = {1, 7, 13, 30}, ns[] = {8, 24, 40};
	for (size_t mi = 0; mi < 4; mi++)
		for (size_t ni = 0; ni < 3; ni++) {
			const size_t m = ms[mi], n = ns[ni], np = (n + 15) / 16 * 16;
			const enum effc_rt_act act = (mi + ni) % 2 ? EFFC_RT_ACT_SWISH : EFFC_RT_ACT_NONE;
			const float lo = mi == 2 ? -0.5f : -INFINITY, hi = mi == 2 ? 0.75f : INFINITY;
			float *img = alloc_f(SEGS * (m * LDA + KS)), *w = alloc_f(n * K);
			float *packed = aligned_alloc(64, np * K * sizeof(float)); /* as the weights blob: 64-byte panels */
			float *bias = alloc_f(n), *got = alloc_f(m * n), *want = alloc_f(m * n);
			rng_seed(1300 + mi * 7 + ni);
			fill(img, SEGS * (m * LDA + KS), -1.0f, 1.0f);
			fill(w, n * K, -1.0f, 1.0f);
			fill(bias, n, -1.0f, 1.0f);
			effc_rt_pack_b(n, K, w, packed);
			const float *a[SEGS];
			for (int sg = 0; sg < SEGS; sg++)
				a[sg] = img + (size_t)sg * (m * LDA + KS);
			for (size_t i = 0; i < m; i++)
				for (size_t j = 0; j < n; j++) {
					double acc = bias[j];
					for (int sg = 0; sg < SEGS; sg++)
						for (size_t q = 0; q < KS; q++)
							acc += (double)a[sg][i * LDA + q] * w[j * K + offs[sg] + q];
					want[i * n + j] = (float)clampd(acc, lo, hi);
				}
			if (act == EFFC_RT_ACT_SWISH)
				effc_rt_ref_swish(m * n, want, want);
			fill_nan(got, m * n);
			const struct effc_rt_gemm g = {.m = m, .n = n, .k = K, .packed = packed, .bias = bias, .c = got,
						       .out_min = lo, .out_max = hi, .act = act};
			const int done = effc_rt_gemm_segments(&g, a, offs, SEGS, KS, LDA);
			char name[128];
			snprintf(name, sizeof name, "gemm_segments m=%zu n=%zu act %d clamp %d: runs where AVX-512 does", m, n,
				 (int)act, mi == 2);
			check(done == effc_rt_use_avx512(), name, "returned %d", done);
			if (done) {
				snprintf(name, sizeof name, "gemm_segments m=%zu n=%zu act %d clamp %d vs plain loop", m, n, (int)act,
					 mi == 2);
				expect_close(name, got, want, m * n, 1e-5);
			} else {
				int untouched = 1;
				for (size_t i = 0; i < m * n; i++)
					untouched &= isnan(got[i]);
				check(untouched, "gemm_segments without AVX-512 writes nothing", "output written");
			}
			free(img), free(w), free(packed), free(bias), free(got), free(want);
		}
}

/* ---- driver ----------------------------------------------------------------------------- */

static void test_xnnpack_paths(struct effc_rt *rt)
{
	const int nconv = (int)(sizeof conv_cases / sizeof conv_cases[0]);
	for (int i = 0; i < nconv; i++)
		test_conv_nhwc(rt, &conv_cases[i], 100 + i);
	test_conv_im2col_act(rt);
	test_conv_project(rt);
	/* large enough for several 4096-element pieces at 2+ threads (EFFC_RT_UNARY's parallel_for) */
	test_unary(rt, EFFC_RT_HARDSIGMOID, 3, 5001, -INFINITY, INFINITY, 407);
	test_unary(rt, EFFC_RT_HARDSWISH, 3, 5001, -INFINITY, INFINITY, 408);

	test_fc(rt, "3x20->7", 3, 20, 7, 1, -INFINITY, INFINITY, 200);
	test_fc(rt, "1x64->10 nobias", 1, 64, 10, 0, -INFINITY, INFINITY, 201);
	test_fc(rt, "5x33->17 clamp", 5, 33, 17, 1, -0.5f, 1.0f, 202);

	static const struct {
		int rank;
		size_t a[4], b[4];
	} shapes[] = {
		{4, {1, 4, 5, 8}, {1, 1, 1, 8}},
		{4, {1, 4, 5, 8}, {1, 4, 5, 8}},
		{3, {2, 3, 1}, {1, 3, 4}},
		{4, {1, 4, 1, 1}, {2, 4, 3, 5}},
		{4, {2, 1, 3, 8}, {1, 4, 1, 8}},
	};
	for (int s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++)
		for (int op = EFFC_RT_ADD; op <= EFFC_RT_DIV; op++)
			test_binary(rt, (enum effc_rt_binop)op, shapes[s].rank, shapes[s].a, shapes[s].b, -INFINITY, INFINITY,
				    300 + s * 4 + op);
	test_binary(rt, EFFC_RT_ADD, shapes[0].rank, shapes[0].a, shapes[0].b, -0.5f, 0.5f, 350);
	test_binary(rt, EFFC_RT_MUL, shapes[2].rank, shapes[2].a, shapes[2].b, 0.0f, 6.0f, 351);

	test_unary(rt, EFFC_RT_SIGMOID, 7, 13, -INFINITY, INFINITY, 400);
	test_unary(rt, EFFC_RT_CLAMP, 7, 13, -1.0f, 2.5f, 401);
	test_unary(rt, EFFC_RT_CLAMP, 6, 11, 0.0f, INFINITY, 406);
	test_unary(rt, EFFC_RT_HARDSWISH, 7, 13, -INFINITY, INFINITY, 402);
	test_unary(rt, EFFC_RT_HARDSIGMOID, 5, 9, -INFINITY, INFINITY, 403);
	test_unary(rt, EFFC_RT_CLAMP_DYN, 5, 9, -INFINITY, INFINITY, 404);
	test_unary(rt, EFFC_RT_SIGMOID, 1, 1000, -INFINITY, INFINITY, 405);

	test_gap(rt, 2, 49, 24, 500);
	test_gap(rt, 1, 1, 5, 501);
	test_gap(rt, 3, 100, 7, 502);

	test_new_kernels(rt);
}

int main(void)
{
#ifdef EFFC_RT_NO_AVX512
	/* the build option holds on a CPU with AVX-512 too, and the test hook cannot undo it */
	effc_rt_allow_avx512(1);
	check(!effc_rt_avx512_available() && !effc_rt_use_avx512(), "EFFC_RT_NO_AVX512: the AVX-512 paths are off",
	      "available %d, in use %d", effc_rt_avx512_available(), effc_rt_use_avx512());
#endif
	for (int threads = 1; threads <= 2; threads++) {
		struct effc_rt rt;
		int st = effc_rt_init(&rt, threads);
		char name[64];
		snprintf(name, sizeof name, "init %d thread%s", threads, threads > 1 ? "s" : "");
		expect_status(name, st, EFFC_RT_OK);
		if (st != EFFC_RT_OK)
			continue;
		test_xnnpack_paths(&rt);
		effc_rt_fini(&rt);
	}

	struct effc_rt rt;
	if (effc_rt_init(&rt, 1) == EFFC_RT_OK) {
		const int nconv = (int)(sizeof conv_cases / sizeof conv_cases[0]);
		for (int i = 0; i < nconv; i++)
			test_conv_nchw(&rt, &conv_cases[i], 600 + i);
		test_ref_binary_broadcast();
		test_ref_clamp_dyn_edges();
		test_gemm_segments();
#ifdef EFFC_RT_EXP2_32THS_LO
		test_exp2_table();
#endif
		/* Swish and sigmoid on AVX-512 where the CPU has it, then on AVX2 */
		if (effc_rt_avx512_available()) {
			test_swish_accuracy();
			test_sigmoid_accuracy();
			test_swish_isa_tails();
		} else {
			printf("skip: AVX-512 off (not on this CPU, or EFFC_RT_NO_AVX512): its Swish and sigmoid "
			       "are not tested here\n");
		}
		const int was = effc_rt_allow_avx512(0);
		test_swish_accuracy();
		test_sigmoid_accuracy();
		effc_rt_allow_avx512(was);
		test_hardswish_formula();
		if (effc_rt_avx512_available())
			test_hardsigmoid_kernel("avx512");
		const int was512 = effc_rt_allow_avx512(0);
		test_hardsigmoid_kernel("avx2-or-portable");
		test_fake_quant_kernel("avx2-or-portable", &rt);
		effc_rt_allow_avx512(was512);
		if (effc_rt_avx512_available())
			test_fake_quant_kernel("avx512", &rt);
		test_ref_transpose(&rt);
		test_ref_pad(&rt);
		test_ref_softmax(&rt);
		test_ref_reduce_mean(&rt);
		test_ref_channel_affine(&rt);
		test_ref_matmul(&rt);
		test_copy(&rt);
		test_api(&rt);
		effc_rt_fini(&rt);
	}

	return test_summary();
}
