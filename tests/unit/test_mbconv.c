/* test_mbconv.c: the fused MBConv pieces (effc_rt_mbconv.c and their ops in effc_rt.c), each
 * against a naive reference written here straight from the definition and computed in double:
 *   - the depthwise row kernel (effc_rt_dw_rows: AVX-512 where available, AVX2, and
 *     effc_rt_dw_rows_ref; the first two must give the same bits, within 1e-6 with Swish)
 *     over kernels 3x3/5x5/7x7/1x3, strides, dilation, odd channel counts and widths, asymmetric
 *     padding, clamp, Swish/HardSwish, row sums, and bands of input rows (in_row0 > 0, and in a
 *     ring of row slots);
 *   - effc_rt_mbconv_create: 1x1 expansion then depthwise, fused band by band, batch 1 and 2,
 *     1 and 2 threads, shapes where the band slides;
 *   - effc_rt_mbconv_project_create: the same with the projection (and residual) per band, and
 *     without the expansion (the depthwise reading x in place);
 *   - effc_rt_conv1x1_create with an input scale (a folded SE), both internal modes;
 *   - effc_rt_se_gate_create from row sums and from x, sigmoid and hard sigmoid gates;
 *   - effc_rt_act_row_sums;
 *   - effc_rt_dwconv_create, on our kernel where it is chosen and on XNNPACK elsewhere, and
 *     effc_rt_conv2d_create of a depthwise convolution, which takes the same rule;
 *   - every activation (none, Relu, Relu6, HardSwish, Swish) on every depthwise kernel, and
 *     NaN inputs with each. */
#include "effc_rt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

static uint64_t rng = 12345;

static float frand(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((rng >> 40) / 16777216.0 * 2.0 - 1.0);
}

static void fill(float *x, size_t n, float scale)
{
	for (size_t i = 0; i < n; i++)
		x[i] = scale * frand();
}

static void *xmalloc(size_t bytes)
{
	void *p = malloc(bytes ? bytes : 1);
	if (!p)
		testing_oom();
	return p;
}

static double act_d(double v, enum effc_rt_act act)
{
	if (act == EFFC_RT_ACT_SWISH)
		return v / (1.0 + exp(-v));
	if (act == EFFC_RT_ACT_HARDSWISH)
		return v * fmin(fmax(v / 6.0 + 0.5, 0.0), 1.0);
	return v;
}

static double clamp_d(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* max |got - want| / max(1, max |want|); infinite when got holds a NaN. */
static double max_err(const float *got, const double *want, size_t n)
{
	double e = 0, mag = 1;
	for (size_t i = 0; i < n; i++) {
		const double d = fabs((double)got[i] - want[i]);
		if (d != d)
			return INFINITY;
		e = fmax(e, d);
		mag = fmax(mag, fabs(want[i]));
	}
	return e / mag;
}

static int all_equal(const float *x, size_t n, float v)
{
	for (size_t i = 0; i < n; i++)
		if (x[i] != v)
			return 0;
	return 1;
}

static void set_all(float *x, size_t n, float v)
{
	for (size_t i = 0; i < n; i++)
		x[i] = v;
}

/* Depthwise convolution with ONNX semantics over one NHWC image: in [H][W][C], w [C][kh][kw]
 * (ONNX layout), out [OH][OW][C] = act(clamp(bias + sum)), sums [OH][C] over ox of out. */
struct geom {
	int H, W, C, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, OH, OW;
};

static void geom_finish(struct geom *g)
{
	g->OH = (g->H + g->pt + g->pb - ((g->kh - 1) * g->dh + 1)) / g->sh + 1;
	g->OW = (g->W + g->pl + g->pr - ((g->kw - 1) * g->dw + 1)) / g->sw + 1;
}

static void naive_dw(const struct geom *g, const double *in, const float *w, const float *bias, double lo, double hi,
		     enum effc_rt_act act, double *out, double *sums)
{
	const size_t C = (size_t)g->C;
	for (int oy = 0; oy < g->OH; oy++) {
		for (size_t c = 0; c < C; c++)
			sums[(size_t)oy * C + c] = 0;
		for (int ox = 0; ox < g->OW; ox++)
			for (size_t c = 0; c < C; c++) {
				double acc = bias ? bias[c] : 0.0;
				for (int ky = 0; ky < g->kh; ky++)
					for (int kx = 0; kx < g->kw; kx++) {
						const int iy = oy * g->sh - g->pt + ky * g->dh, ix = ox * g->sw - g->pl + kx * g->dw;
						if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W)
							continue;
						acc += in[((size_t)iy * (size_t)g->W + (size_t)ix) * C + c] *
						       (double)w[(c * (size_t)g->kh + (size_t)ky) * (size_t)g->kw + (size_t)kx];
					}
				const double v = act_d(clamp_d(acc, lo, hi), act);
				out[((size_t)oy * (size_t)g->OW + (size_t)ox) * C + c] = v;
				sums[(size_t)oy * C + c] += v;
			}
	}
}

/* The conv2d description of a depthwise over g. */
static struct effc_rt_conv2d dw_params(const struct geom *g, int batch, float lo, float hi, enum effc_rt_act act)
{
	return (struct effc_rt_conv2d){.batch = batch, .in_h = g->H, .in_w = g->W, .in_c = g->C, .out_h = g->OH,
				       .out_w = g->OW, .out_c = g->C, .groups = g->C, .kh = g->kh, .kw = g->kw,
				       .sh = g->sh, .sw = g->sw, .dh = g->dh, .dw = g->dw, .pad_top = g->pt,
				       .pad_left = g->pl, .pad_bottom = g->pb, .pad_right = g->pr, .out_min = lo,
				       .out_max = hi, .nhwc = 1, .packed = 0, .act = act};
}

/* Input rows [lo, hi) that output rows [oy0, oy1) read (clamped to the image). */
static void rows_needed(const struct geom *g, int oy0, int oy1, int *lo, int *hi)
{
	int a = oy0 * g->sh - g->pt, b = (oy1 - 1) * g->sh - g->pt + (g->kh - 1) * g->dh + 1;
	a = a < 0 ? 0 : a > g->H ? g->H : a;
	b = b < a ? a : b > g->H ? g->H : b;
	*lo = a, *hi = b;
}

/* ---- 1. the depthwise row kernel ------------------------------------------------------- */

struct dw_case {
	struct geom g;
	enum effc_rt_act act;
	int clamp, sums, bias; /* clamp 1: [0, 6] (Relu6), 2: [0, inf) (Relu) */
};

typedef void (*dw_fn)(const struct effc_rt_dw *d, size_t oy0, size_t oy1);

/* Rows [oy0, oy1) through fn, `in` being a fresh exact-size copy of only the input rows they need. */
static void dw_band(dw_fn fn, const struct effc_rt_dw *d, const struct geom *g, const float *in, int oy0, int oy1)
{
	int lo, hi;
	rows_needed(g, oy0, oy1, &lo, &hi);
	const size_t row = (size_t)g->W * (size_t)g->C;
	float *band = xmalloc((size_t)(hi - lo) * row * sizeof(float));
	memcpy(band, in + (size_t)lo * row, (size_t)(hi - lo) * row * sizeof(float));
	struct effc_rt_dw b = *d;
	b.in = band;
	b.in_row0 = lo;
	fn(&b, (size_t)oy0, (size_t)oy1);
	free(band);
}

/* The same from a ring of `slots` rows (row y in slot y % slots, the others NaN), as the fused
 * MBConv keeps its expanded rows. */
static void dw_ring(dw_fn fn, const struct effc_rt_dw *d, const struct geom *g, const float *in, int oy0, int oy1,
		    int slots)
{
	int lo, hi;
	rows_needed(g, oy0, oy1, &lo, &hi);
	const size_t row = (size_t)g->W * (size_t)g->C;
	float *ring = xmalloc((size_t)slots * row * sizeof(float));
	set_all(ring, (size_t)slots * row, NAN);
	for (int y = lo; y < hi; y++)
		memcpy(ring + (size_t)(y % slots) * row, in + (size_t)y * row, row * sizeof(float));
	struct effc_rt_dw b = *d;
	b.in = ring;
	b.in_ring = slots;
	fn(&b, (size_t)oy0, (size_t)oy1);
	free(ring);
}

/* effc_rt_dw_rows on its AVX2 kernels even where AVX-512 is available */
static void dw_rows_avx2(const struct effc_rt_dw *d, size_t oy0, size_t oy1)
{
	const int was = effc_rt_allow_avx512(0);
	effc_rt_dw_rows(d, oy0, oy1);
	effc_rt_allow_avx512(was);
}

static void test_dw_case(const struct dw_case *tc, int idx)
{
	struct geom g = tc->g;
	geom_finish(&g);
	const size_t C = (size_t)g.C, in_n = (size_t)g.H * (size_t)g.W * C, out_n = (size_t)g.OH * (size_t)g.OW * C;
	const size_t taps = (size_t)g.kh * (size_t)g.kw, orow = (size_t)g.OW * C;
	float *in = xmalloc(in_n * 4), *w = xmalloc(taps * C * 4), *wp = xmalloc(taps * C * 4), *bias = xmalloc(C * 4);
	float *got = xmalloc(out_n * 4), *gs = xmalloc((size_t)g.OH * C * 4), *back = xmalloc(taps * C * 4);
	double *ind = xmalloc(in_n * 8), *want = xmalloc(out_n * 8), *ws = xmalloc((size_t)g.OH * C * 8);
	fill(in, in_n, 2.0f);
	fill(w, taps * C, 1.0f);
	fill(bias, C, 1.0f);
	for (size_t i = 0; i < in_n; i++)
		ind[i] = in[i];
	effc_rt_pack_dw(C, (size_t)g.kh, (size_t)g.kw, w, wp);
	effc_rt_unpack_dw(C, (size_t)g.kh, (size_t)g.kw, wp, back);
	const float lo = tc->clamp ? 0.0f : -INFINITY, hi = tc->clamp == 1 ? 6.0f : INFINITY;
	const float *b = tc->bias ? bias : NULL;
	naive_dw(&g, ind, w, b, lo, hi, tc->act, want, ws);

	char name[200];
	snprintf(name, sizeof name, "dw#%d C=%d in %dx%d k %dx%d s %d,%d d %d,%d pad %d,%d,%d,%d act %d clamp %d sums %d bias %d",
		 idx, g.C, g.H, g.W, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, g.pb, g.pr, (int)tc->act, tc->clamp,
		 tc->sums, tc->bias);
	if (idx == 0 || taps * C % 8)
		expect(!memcmp(back, w, taps * C * 4), name, "unpack_dw inverts pack_dw", "unpacked weights differ");
	/* pack_dw layout: [kh][kw][C] */
	int layout_ok = 1;
	for (size_t c = 0; c < C; c++)
		for (size_t t = 0; t < taps; t++)
			layout_ok &= wp[t * C + c] == w[c * taps + t];
	expect(layout_ok, name, "pack_dw gives [kh][kw][C]", "packed weights are not [kh][kw][C]");

	struct effc_rt_dw d = {.p = dw_params(&g, 1, lo, hi, tc->act), .w = wp, .bias = b, .in = in, .in_row0 = 0,
			       .out = got, .row_sums = tc->sums ? gs : NULL};
	const dw_fn fns[3] = {effc_rt_dw_rows, dw_rows_avx2, effc_rt_dw_rows_ref};
	const char *fn_names[3] = {effc_rt_use_avx512() ? "dw_rows (AVX-512)" : "dw_rows", "dw_rows_avx2", "dw_rows_ref"};
	if (effc_rt_use_avx512()) {
		float *got2 = xmalloc(out_n * 4), *gs2 = xmalloc((size_t)g.OH * C * 4);
		set_all(got, out_n, NAN), set_all(gs, (size_t)g.OH * C, NAN);
		set_all(got2, out_n, NAN), set_all(gs2, (size_t)g.OH * C, NAN);
		effc_rt_dw_rows(&d, 0, (size_t)g.OH);
		d.out = got2, d.row_sums = tc->sums ? gs2 : NULL;
		dw_rows_avx2(&d, 0, (size_t)g.OH);
		d.out = got, d.row_sums = tc->sums ? gs : NULL;
		/* The same FMAs in the same order; Swish's exponential differs (the AVX-512 one is a
		 * table form), so with Swish the two agree to within its error bounds. */
		int same;
		if (tc->act == EFFC_RT_ACT_SWISH) {
			same = 1;
			for (size_t i = 0; i < out_n; i++)
				same &= fabsf(got[i] - got2[i]) <= 1e-6f * fabsf(got2[i]) + 1e-30f;
			for (size_t i = 0; tc->sums && i < (size_t)g.OH * C; i++)
				same &= fabsf(gs[i] - gs2[i]) <= 1e-5f * (fabsf(gs2[i]) + (float)g.OW);
		} else {
			/* the flat-row kernel (3x3 stride 1, C = 8, 24, 40) adds its row sums in another order */
			const int flat = C % 16 == 8 && C <= 40 && g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 &&
					 g.dh == 1 && g.dw == 1;
			same = !memcmp(got, got2, out_n * 4);
			for (size_t i = 0; tc->sums && i < (size_t)g.OH * C; i++)
				same &= flat ? fabsf(gs[i] - gs2[i]) <= 1e-6f * (fabsf(gs2[i]) + (float)g.OW) : gs[i] == gs2[i];
		}
		expect(same, name,
		       tc->act == EFFC_RT_ACT_SWISH ? "AVX-512 and AVX2 kernels within 1e-6" : "AVX-512 and AVX2 kernels",
		       "outputs or sums differ");
		free(got2), free(gs2);
	}
	/* Tiles of rows x channels through effc_rt_dw_tile, as the runtime splits small maps between
	 * threads: on a kernel that takes channel ranges (effc_rt_dw_channel_step), ranges of one or
	 * two steps give the same bits as the whole image; elsewhere the reference takes them. */
	{
		const size_t step = effc_rt_dw_channel_step(&d.p), OH = (size_t)g.OH;
		const size_t ct = step ? step * (size_t)(1 + idx % 2) : (size_t)(5 + idx % 3), rt = (size_t)(1 + idx % 3);
		float *whole = xmalloc(out_n * 4), *wsum = xmalloc(OH * C * 4);
		set_all(whole, out_n, NAN), set_all(wsum, OH * C, NAN);
		d.out = whole, d.row_sums = tc->sums ? wsum : NULL;
		effc_rt_dw_rows(&d, 0, OH);
		set_all(got, out_n, NAN), set_all(gs, OH * C, NAN);
		d.out = got, d.row_sums = tc->sums ? gs : NULL;
		for (size_t r0 = 0; r0 < OH; r0 += rt)
			for (size_t c0 = 0; c0 < C; c0 += ct)
				effc_rt_dw_tile(&d, r0, r0 + rt < OH ? r0 + rt : OH, c0, c0 + ct < C ? c0 + ct : C);
		char what[160];
		if (step) {
			const int same = !memcmp(got, whole, out_n * 4) && (!tc->sums || !memcmp(gs, wsum, OH * C * 4));
			snprintf(what, sizeof what, "tiles of %zu rows x %zu channels: the bits of the whole image", rt, ct);
			expect(same, name, what, "outputs or sums differ");
			if (C > step) { /* one tile: channels outside [step, 2 step) untouched */
				const size_t c1 = 2 * step < C ? 2 * step : C;
				set_all(got, out_n, 777.0f), set_all(gs, OH * C, 777.0f);
				effc_rt_dw_tile(&d, 0, OH, step, c1);
				int ok = 1;
				for (size_t i = 0; i < out_n; i++)
					ok &= i % C >= step && i % C < c1 ? got[i] == whole[i] : got[i] == 777.0f;
				for (size_t i = 0; tc->sums && i < OH * C; i++)
					ok &= i % C >= step && i % C < c1 ? gs[i] == wsum[i] : gs[i] == 777.0f;
				snprintf(what, sizeof what, "one tile of channels [%zu, %zu): those only", step, c1);
				expect(ok, name, what, "wrong values inside or writes outside the tile");
			}
		} else {
			const double e = max_err(got, want, out_n), es = tc->sums ? max_err(gs, ws, OH * C) : 0.0;
			snprintf(what, sizeof what, "tiles of %zu rows x %zu channels (reference): error %.2g, sums %.2g", rt,
				 ct, e, es);
			expect(e < 1e-5 && es < 1e-5, name, what, "relative error not below 1e-5");
		}
		free(whole), free(wsum);
	}
	for (int v = 0; v < 3; v++) {
		char what[160];
		double e, es;
		/* the whole image at once */
		set_all(got, out_n, NAN);
		set_all(gs, (size_t)g.OH * C, tc->sums ? NAN : 777.0f);
		fns[v](&d, 0, (size_t)g.OH);
		e = max_err(got, want, out_n);
		es = tc->sums ? max_err(gs, ws, (size_t)g.OH * C) : 0.0;
		snprintf(what, sizeof what, "%s whole image: error %.2g, sums %.2g", fn_names[v], e, es);
		expect(e < 1e-5 && es < 1e-5, name, what, "relative error not below 1e-5");
		if (!tc->sums)
			expect(all_equal(gs, (size_t)g.OH * C, 777.0f), name, "row_sums NULL: nothing written",
			       "the sums buffer was written");
		/* bands of 1-3 output rows, each from a copy of only the input rows it needs */
		const int bs = 1 + (idx + v) % 3;
		set_all(got, out_n, NAN);
		set_all(gs, (size_t)g.OH * C, NAN);
		for (int oy = 0; oy < g.OH; oy += bs)
			dw_band(fns[v], &d, &g, in, oy, oy + bs < g.OH ? oy + bs : g.OH);
		e = max_err(got, want, out_n);
		es = tc->sums ? max_err(gs, ws, (size_t)g.OH * C) : 0.0;
		snprintf(what, sizeof what, "%s in bands of %d rows (in_row0 > 0): error %.2g, sums %.2g", fn_names[v], bs, e, es);
		expect(e < 1e-5 && es < 1e-5, name, what, "relative error not below 1e-5");
		/* the same bands from a ring just big enough for one (or one slot more), so it wraps */
		const int slots = (bs - 1) * g.sh + (g.kh - 1) * g.dh + 1 + idx % 2;
		set_all(got, out_n, NAN);
		set_all(gs, (size_t)g.OH * C, NAN);
		for (int oy = 0; oy < g.OH; oy += bs)
			dw_ring(fns[v], &d, &g, in, oy, oy + bs < g.OH ? oy + bs : g.OH, slots);
		e = max_err(got, want, out_n);
		es = tc->sums ? max_err(gs, ws, (size_t)g.OH * C) : 0.0;
		snprintf(what, sizeof what, "%s in bands of %d rows from a ring of %d: error %.2g, sums %.2g",
			 fn_names[v], bs, slots, e, es);
		expect(e < 1e-5 && es < 1e-5, name, what, "relative error not below 1e-5");
		/* one band in the middle: rows outside it untouched */
		if (g.OH >= 3) {
			const int oy0 = 1, oy1 = g.OH - 1;
			const float sentinel = 777.0f;
			set_all(got, out_n, sentinel);
			set_all(gs, (size_t)g.OH * C, sentinel);
			dw_band(fns[v], &d, &g, in, oy0, oy1);
			e = max_err(got + (size_t)oy0 * orow, want + (size_t)oy0 * orow, (size_t)(oy1 - oy0) * orow);
			es = tc->sums ? max_err(gs + (size_t)oy0 * C, ws + (size_t)oy0 * C, (size_t)(oy1 - oy0) * C) : 0.0;
			int untouched = all_equal(got, orow, sentinel) && all_equal(got + (size_t)oy1 * orow, orow, sentinel) &&
					all_equal(gs, C, sentinel) && all_equal(gs + (size_t)oy1 * C, C, sentinel);
			if (!tc->sums)
				untouched &= all_equal(gs, (size_t)g.OH * C, sentinel);
			snprintf(what, sizeof what, "%s rows [%d,%d) only: error %.2g, sums %.2g, others untouched %d", fn_names[v],
				 oy0, oy1, e, es, untouched);
			expect(e < 1e-5 && es < 1e-5 && untouched, name, what, "relative error not below 1e-5 or rows outside written");
		}
	}
	free(in), free(w), free(wp), free(bias), free(got), free(gs), free(back), free(ind), free(want), free(ws);
}

/* A NaN input gives NaN in exactly the outputs whose window holds it (ONNX semantics: Conv,
 * Clip, HardSwish and Swish of NaN are NaN), with and without a clamp, with each activation, on
 * every kernel: the tiles skip the clamp when there is none and take it and HardSwish's with the
 * constants first, so max/min pass a NaN through. */
static void test_dw_nan(void)
{
	/* geom: H, W, C, kh, kw, sh, sw, dh, dw, pad top, left, bottom, right */
	const struct geom gs[] = {
		{8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, /* AVX-512 3x3 */
		{8, 8, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, /* channels not a multiple of 16: AVX2 */
		{9, 9, 32, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, /* 5x5 */
		{9, 9, 16, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0}, /* stride 2 */
		{9, 9, 13, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0}, /* dilated: the generic AVX2 tiles */
		{6, 30, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, /* AVX-512 flat rows */
		{8, 7, 13, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0},  /* AVX2 5x5 rows of 7 in registers */
		{9, 15, 29, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, /* AVX2 5x5 column order */
		{8, 8, 72, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},  /* AVX-512, masked last block */
	};
	const enum effc_rt_act acts[3] = {EFFC_RT_ACT_NONE, EFFC_RT_ACT_HARDSWISH, EFFC_RT_ACT_SWISH};
	const dw_fn fns[3] = {effc_rt_dw_rows, dw_rows_avx2, effc_rt_dw_rows_ref};
	const char *fn_names[3] = {"dw_rows", "dw_rows_avx2", "dw_rows_ref"};
	for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++) {
		struct geom g = gs[gi];
		geom_finish(&g);
		const size_t C = (size_t)g.C, in_n = (size_t)g.H * (size_t)g.W * C, out_n = (size_t)g.OH * (size_t)g.OW * C;
		const size_t taps = (size_t)g.kh * (size_t)g.kw;
		float *in = xmalloc(in_n * 4), *w = xmalloc(taps * C * 4), *wp = xmalloc(taps * C * 4), *bias = xmalloc(C * 4);
		float *out = xmalloc(out_n * 4);
		fill(in, in_n, 2.0f), fill(w, taps * C, 1.0f), fill(bias, C, 1.0f);
		const int ny = 3, nx = 4, nc = 5;
		in[((size_t)ny * (size_t)g.W + (size_t)nx) * C + nc] = NAN;
		effc_rt_pack_dw(C, (size_t)g.kh, (size_t)g.kw, w, wp);
		for (int cv = 0; cv < 6; cv++)
			for (int v = 0; v < 3; v++) {
				const int cl = cv % 2;
				float *sums = xmalloc((size_t)g.OH * C * 4);
				struct effc_rt_dw d = {.p = dw_params(&g, 1, cl ? 0.0f : -INFINITY, cl ? 6.0f : INFINITY,
								       acts[cv / 2]),
						       .w = wp, .bias = bias, .in = in, .out = out,
						       .row_sums = cv % 3 ? sums : NULL};
				set_all(out, out_n, 777.0f);
				fns[v](&d, 0, (size_t)g.OH);
				int bad = -1;
				for (int oy = 0; oy < g.OH; oy++)
					for (int ox = 0; ox < g.OW; ox++)
						for (size_t c = 0; c < C; c++) {
							int hit = 0;
							for (int ky = 0; ky < g.kh; ky++)
								for (int kx = 0; kx < g.kw; kx++)
									hit |= oy * g.sh - g.pt + ky * g.dh == ny &&
									       ox * g.sw - g.pl + kx * g.dw == nx;
							const size_t i = ((size_t)oy * (size_t)g.OW + (size_t)ox) * C + c;
							if ((hit && c == (size_t)nc) != (isnan(out[i]) != 0) && bad < 0)
								bad = (int)i;
						}
				char name[140];
				snprintf(name, sizeof name, "dw NaN C=%d %dx%d k%dx%d s%d d%d clamp %d act %d sums %d",
					 g.C, g.H, g.W, g.kh, g.kw, g.sh, g.dh, cl, (int)acts[cv / 2], cv % 3 != 0);
				char what[96];
				snprintf(what, sizeof what, "%s: NaN exactly where the window holds the NaN input",
					 fn_names[v]);
				expect(bad < 0, name, what, "output %d: %g", bad, bad < 0 ? 0.0 : (double)out[bad]);
				free(sums);
			}
		free(in), free(w), free(wp), free(bias), free(out);
	}
}

static void test_dw(void)
{
	const enum effc_rt_act N = EFFC_RT_ACT_NONE, S = EFFC_RT_ACT_SWISH, HS = EFFC_RT_ACT_HARDSWISH;
	/* geom: H, W, C, kh, kw, sh, sw, dh, dw, pad top, left, bottom, right */
	const struct dw_case cases[] = {
		{{7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, N, 0, 0, 1},
		{{14, 14, 16, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0}, S, 0, 1, 1},
		{{17, 17, 13, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, HS, 0, 1, 1},
		{{14, 14, 40, 5, 5, 2, 2, 1, 1, 1, 1, 2, 2, 0, 0}, S, 0, 1, 1},
		{{9, 7, 13, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 0, 0}, N, 1, 1, 1},
		{{5, 1, 8, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 0, 0}, S, 0, 0, 1},
		{{6, 17, 40, 1, 3, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0}, HS, 0, 1, 1},
		{{14, 14, 16, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0}, S, 0, 1, 1},
		{{17, 17, 13, 3, 3, 2, 2, 2, 2, 2, 1, 2, 1, 0, 0}, N, 1, 1, 1},
		{{7, 1, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, S, 1, 0, 1},
		{{17, 17, 16, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, N, 0, 1, 0},
		{{14, 14, 8, 7, 7, 2, 2, 1, 1, 3, 2, 2, 3, 0, 0}, HS, 0, 1, 1},
		{{7, 14, 13, 1, 3, 2, 2, 1, 1, 0, 1, 1, 0, 0, 0}, S, 0, 1, 1},
		{{17, 7, 40, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, HS, 1, 1, 1},
		{{14, 17, 16, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0}, S, 0, 1, 1},  /* sh != sw */
		{{14, 17, 13, 3, 3, 2, 1, 1, 2, 1, 2, 1, 2, 0, 0}, HS, 0, 1, 0}, /* mixed stride/dilation */
		{{9, 14, 40, 3, 3, 1, 1, 1, 1, 2, 0, 0, 2, 0, 0}, S, 1, 1, 1},   /* pad on one side only */
		/* 3x3 stride 1 with 8, 24 or 40 channels: the AVX-512 flat-row kernel, rows long enough
		 * for unchecked blocks between the checked ends, with and without Swish and sums */
		{{6, 37, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, S, 0, 1, 1},
		{{5, 37, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, N, 0, 1, 1},
		{{5, 30, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, N, 1, 1, 0},
		{{4, 41, 8, 3, 3, 1, 1, 1, 1, 0, 2, 2, 0, 0, 0}, S, 0, 1, 1},
		{{1, 7, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, S, 0, 1, 1},    /* one row */
		{{7, 17, 8, 5, 5, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0}, N, 0, 1, 1},    /* 5x5 s2 unpadded */
		{{3, 14, 13, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 0, 0}, S, 0, 1, 1},   /* kernel taller than the image */
		{{20, 5, 8, 17, 1, 1, 1, 1, 1, 8, 0, 8, 0, 0, 0}, S, 0, 1, 1},   /* 17 rows of taps */
		/* 5x5 stride 1 in column order (16, 8 and masked channel blocks) and on 7 or 8 wide rows
		 * (whole row in registers; padding on both sides, on one, masked channels) */
		{{12, 19, 45, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, S, 0, 1, 1},
		{{7, 7, 24, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, S, 0, 1, 1},
		{{9, 8, 21, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, S, 1, 1, 0},
		{{6, 10, 16, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, N, 0, 1, 1},
		{{8, 9, 11, 5, 5, 1, 1, 1, 1, 2, 0, 2, 4, 0, 0}, HS, 0, 1, 1},
		/* channels in multiples of 16 (the AVX-512 kernels): rows of 8-pixel tiles and a
		 * checked rest of 1-7, borders inside 8-pixel tiles, rows shorter than a tile */
		{{9, 21, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, S, 1, 1, 1},
		{{19, 19, 32, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0}, S, 0, 1, 1},
		{{10, 10, 64, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, S, 0, 1, 1},
		{{7, 7, 32, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, HS, 0, 1, 1},
		{{8, 8, 16, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, N, 1, 1, 0},
		{{23, 30, 32, 5, 5, 2, 2, 1, 1, 1, 2, 2, 1, 0, 0}, S, 0, 0, 1},
		{{5, 17, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, HS, 1, 1, 1},
		{{4, 3, 32, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, S, 0, 1, 1},
		/* rows of 17-20 pixels: two checked tiles of 8-10 (9-10: one, above) */
		{{6, 19, 32, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, S, 0, 1, 1},
		{{5, 18, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, S, 1, 1, 1},
		{{4, 20, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, HS, 0, 1, 0},
		{{7, 34, 16, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0}, S, 0, 0, 1},
		/* 64 channels and more, not a multiple of 16 (MobileNetV3's 72, 88, 120, 184, 200):
		 * the AVX-512 tiles with a masked last block, in row and in column order */
		{{9, 11, 72, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, HS, 1, 1, 1},
		{{10, 10, 120, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, S, 0, 1, 1},
		{{15, 15, 88, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, N, 2, 1, 1},
		{{7, 7, 200, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0}, HS, 0, 1, 0},
		{{6, 19, 184, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, S, 1, 1, 1},
		{{5, 19, 72, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, HS, 0, 0, 1},
	};
	for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
		test_dw_case(&cases[i], i);
}

/* Every activation on every depthwise kernel: none, Relu, Relu6, HardSwish (alone and after
 * Relu6), Swish (alone and after Relu), each applied in registers as the tiles store (AVX2's
 * Swish: its sweep after each row), with and without row sums, through test_dw_case: the
 * AVX-512 and AVX2 kernels' bits, each kernel against the reference in whole images, bands and
 * rings. The shapes pick the kernels: AVX-512 3x3 and 5x5 at strides 1 and 2 (rows of 8-pixel
 * tiles with a rest; one 9-10 tile), the flat rows (8, 24 and 40 channels), AVX2's 5x5 rows of
 * 7 (whole row in registers, masked channels), its 5x5 column order (16, 8 and masked blocks),
 * its 3x3 pixel order over 16-, 8- and masked blocks, and the generic (dilated) tiles. */
static void test_dw_acts(void)
{
	/* geom: H, W, C, kh, kw, sh, sw, dh, dw, pad top, left, bottom, right */
	static const struct geom gs[] = {
		{9, 21, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {11, 19, 16, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0},
		{9, 10, 48, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, {13, 21, 16, 5, 5, 2, 2, 1, 1, 1, 2, 2, 1, 0, 0},
		{5, 37, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {5, 30, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
		{4, 41, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},  {7, 7, 13, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0},
		{8, 15, 29, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, {7, 11, 29, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
		{9, 9, 72, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0},  {9, 9, 13, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0},
	};
	static const struct {
		enum effc_rt_act act;
		int clamp;
	} acts[] = {{EFFC_RT_ACT_NONE, 0},      {EFFC_RT_ACT_NONE, 2},      {EFFC_RT_ACT_NONE, 1},
		    {EFFC_RT_ACT_HARDSWISH, 0}, {EFFC_RT_ACT_HARDSWISH, 1}, {EFFC_RT_ACT_SWISH, 0},
		    {EFFC_RT_ACT_SWISH, 2}};
	int idx = 1000;
	for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++)
		for (size_t ai = 0; ai < sizeof acts / sizeof acts[0]; ai++, idx++) {
			const struct dw_case tc = {gs[gi], acts[ai].act, acts[ai].clamp, (int)(gi + ai) % 2, 1};
			test_dw_case(&tc, idx);
		}
}

/* ---- 2. the fused MBConv op ------------------------------------------------------------ */

struct mb_case {
	int batch, K;
	struct geom g; /* the depthwise over the expanded tensor: C = expanded channels */
	enum effc_rt_act e_act, d_act;
	float e_min, e_max, d_min, d_max;
	int e_bias, d_bias;
};

static void test_mbconv_case(const struct mb_case *tc, int idx)
{
	struct geom g = tc->g;
	geom_finish(&g);
	const size_t B = (size_t)tc->batch, K = (size_t)tc->K, N = (size_t)g.C, hw = (size_t)g.H * (size_t)g.W;
	const size_t np = (N + 15) / 16 * 16, taps = (size_t)g.kh * (size_t)g.kw, ohw = (size_t)g.OH * (size_t)g.OW;
	float *x = xmalloc(B * hw * K * 4), *x0 = xmalloc(B * hw * K * 4), *we = xmalloc(N * K * 4), *be = xmalloc(N * 4);
	float *wd = xmalloc(taps * N * 4), *wdp = xmalloc(taps * N * 4), *bd = xmalloc(N * 4);
	float *packed = aligned_alloc(64, (np * K * 4 + 63) / 64 * 64);
	float *got = xmalloc(B * ohw * N * 4), *gs = xmalloc(B * (size_t)g.OH * N * 4);
	double *e = xmalloc(B * hw * N * 8), *want = xmalloc(B * ohw * N * 8), *ws = xmalloc(B * (size_t)g.OH * N * 8);
	if (!packed)
		testing_oom();
	fill(x, B * hw * K, 1.0f);
	fill(we, N * K, 1.0f);
	fill(be, N, 0.5f);
	fill(wd, taps * N, 1.0f);
	fill(bd, N, 0.5f);
	memcpy(x0, x, B * hw * K * 4);
	effc_rt_pack_b(N, K, we, packed);
	effc_rt_pack_dw(N, (size_t)g.kh, (size_t)g.kw, wd, wdp);
	const float *pbe = tc->e_bias ? be : NULL, *pbd = tc->d_bias ? bd : NULL;
	/* reference: 1x1 expansion (+bias, clamp, act), then the depthwise per image */
	for (size_t i = 0; i < B * hw; i++)
		for (size_t n = 0; n < N; n++) {
			double acc = pbe ? pbe[n] : 0.0;
			for (size_t q = 0; q < K; q++)
				acc += (double)x[i * K + q] * we[n * K + q];
			e[i * N + n] = act_d(clamp_d(acc, tc->e_min, tc->e_max), tc->e_act);
		}
	for (size_t b = 0; b < B; b++)
		naive_dw(&g, e + b * hw * N, wd, pbd, tc->d_min, tc->d_max, tc->d_act, want + b * ohw * N,
			 ws + b * (size_t)g.OH * N);

	const struct effc_rt_conv2d dwp = dw_params(&g, tc->batch, tc->d_min, tc->d_max, tc->d_act);
	const struct effc_rt_expand ex = {.in_c = K, .act = tc->e_act, .out_min = tc->e_min, .out_max = tc->e_max};
	for (int threads = 1; threads <= 2; threads++)
		for (int sums = 0; sums <= 1; sums++) {
			char name[200], what[160];
			snprintf(name, sizeof name,
				 "mbconv#%d batch %d in %dx%dx%d -> %d k %dx%d s %d,%d d %d,%d pad %d,%d,%d,%d, %d thread(s), sums %d",
				 idx, tc->batch, g.H, g.W, tc->K, g.C, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, g.pb, g.pr,
				 threads, sums);
			struct effc_rt rt;
			struct effc_rt_op op;
			memset(&op, 0, sizeof op);
			set_all(got, B * ohw * N, NAN);
			set_all(gs, B * (size_t)g.OH * N, sums ? NAN : 777.0f);
			int st = effc_rt_init(&rt, threads);
			if (st) {
				expect(0, name, "init", "effc_rt_init status %d", st);
				continue;
			}
			st = effc_rt_mbconv_create(&rt, &op, &dwp, &ex, packed, pbe, wdp, pbd, x, got, sums ? gs : NULL);
			st = st ? st : effc_rt_run(&rt, &op);
			const double err = max_err(got, want, B * ohw * N);
			const double es = sums ? max_err(gs, ws, B * (size_t)g.OH * N) : 0.0;
			snprintf(what, sizeof what, "status %d, error %.2g, sums %.2g", st, err, es);
			expect(!st && err < 1e-5 && es < 1e-5, name, what, "status not 0 or relative error not below 1e-5");
			if (!sums)
				expect(all_equal(gs, B * (size_t)g.OH * N, 777.0f), name, "row_sums NULL: nothing written",
				       "the sums buffer was written");
			expect(!memcmp(x, x0, B * hw * K * 4), name, "input unchanged", "the op wrote its input");
			/* a second run gives the same (the buffers keep no state between runs) */
			float *first = xmalloc(B * ohw * N * 4);
			memcpy(first, got, B * ohw * N * 4);
			st = st ? st : effc_rt_run(&rt, &op);
			expect(!st && !memcmp(first, got, B * ohw * N * 4), name, "second run identical", "status %d or output differs",
			       st);
			free(first);
			effc_rt_op_destroy(&op);
			effc_rt_fini(&rt);
		}
	free(x), free(x0), free(we), free(be), free(wd), free(wdp), free(bd), free(packed), free(got), free(gs);
	free(e), free(want), free(ws);
}

static void test_mbconv(void)
{
	const enum effc_rt_act N = EFFC_RT_ACT_NONE, S = EFFC_RT_ACT_SWISH, HS = EFFC_RT_ACT_HARDSWISH;
	const float I = INFINITY;
	/* geom: H, W, C, kh, kw, sh, sw, dh, dw, pad top, left, bottom, right */
	const struct mb_case cases[] = {
		/* 40x40x48: bands of about 23 rows that slide */
		{1, 8, {40, 40, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, S, S, -I, I, -I, I, 1, 1},
		{2, 8, {40, 40, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, S, S, -I, I, -I, I, 1, 1},
		{1, 16, {40, 40, 48, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0}, S, S, -I, I, -I, I, 1, 1},
		{2, 12, {40, 40, 48, 5, 5, 2, 2, 1, 1, 1, 1, 2, 2, 0, 0}, HS, HS, -I, I, -I, I, 1, 0},
		/* small, odd channel count (padded GEMM panel, masked depthwise tail), clamps */
		{2, 3, {7, 9, 20, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, HS, N, 0.0f, 6.0f, -I, I, 1, 1},
		{1, 5, {9, 7, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, N, S, -I, I, 0.0f, 6.0f, 0, 1},
		/* wide rows: one-row bands of stride 2, sharing a row with the last band */
		{1, 8, {12, 112, 96, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0}, S, S, -I, I, -I, I, 1, 1},
		/* dilation 2 */
		{2, 6, {20, 20, 24, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0}, S, S, -I, I, -I, I, 1, 1},
		/* 7x7 (the generic kernel) over a wide image */
		{1, 4, {16, 64, 32, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 0, 0}, S, HS, -I, I, -I, I, 1, 1},
		/* padding on one side of a row only, and none */
		{2, 8, {11, 13, 24, 5, 5, 1, 1, 1, 1, 1, 2, 3, 0, 0, 0}, S, S, -I, I, -I, I, 1, 1},
		{1, 8, {13, 11, 16, 3, 3, 2, 2, 1, 1, 0, 0, 2, 1, 0, 0}, HS, S, -I, I, -I, I, 1, 1},
		{2, 7, {9, 10, 19, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}, S, N, -I, I, -I, I, 1, 1},
		/* 1x3 and a mixed stride with dilation */
		{1, 6, {10, 12, 16, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0}, S, HS, -I, I, -I, I, 1, 1},
		{2, 5, {12, 15, 21, 3, 3, 2, 1, 1, 2, 1, 2, 1, 2, 0, 0}, N, S, -I, I, -I, I, 0, 1},
		/* EfficientNet-Lite (Relu6 on both) and MobileNetV3 (HardSwish on both, Relu) blocks:
		 * the clamps and HardSwish in registers in the expansion's and the depthwise's tiles,
		 * channels a multiple of 16 (AVX-512 depthwise) and not (72: AVX2) */
		{1, 16, {24, 24, 96, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0}, N, N, 0.0f, 6.0f, 0.0f, 6.0f, 1, 1},
		{2, 24, {14, 14, 144, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, N, N, 0.0f, 6.0f, 0.0f, 6.0f, 1, 1},
		{1, 40, {14, 14, 240, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, HS, HS, -I, I, -I, I, 1, 1},
		{2, 24, {16, 16, 72, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0}, N, N, 0.0f, I, 0.0f, I, 1, 1},
		{1, 40, {9, 9, 120, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, HS, HS, -I, I, -I, I, 1, 1},
	};
	for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
		test_mbconv_case(&cases[i], i);
}

/* ---- 2b. the MBConv block without SE: [expansion,] depthwise, projection ------------------ */

struct mbp_case {
	int batch, K; /* K = 0: no expansion (the depthwise reads x, K = C) */
	struct geom g; /* the depthwise: C = expanded channels */
	int P;         /* projected channels */
	enum effc_rt_act e_act, d_act, p_act;
	float e_min, e_max, d_min, d_max, p_min, p_max;
	int residual, bias;
};

static void test_mbconv_project_case(const struct mbp_case *tc, int idx)
{
	struct geom g = tc->g;
	geom_finish(&g);
	const int expand = tc->K > 0;
	const size_t B = (size_t)tc->batch, N = (size_t)g.C, K = expand ? (size_t)tc->K : N, P = (size_t)tc->P;
	const size_t hw = (size_t)g.H * (size_t)g.W, ohw = (size_t)g.OH * (size_t)g.OW, taps = (size_t)g.kh * (size_t)g.kw;
	float *x = xmalloc(B * hw * K * 4), *we = xmalloc(N * K * 4), *be = xmalloc(N * 4);
	float *wd = xmalloc(taps * N * 4), *wdp = xmalloc(taps * N * 4), *bd = xmalloc(N * 4);
	float *wp = xmalloc(P * N * 4), *bp = xmalloc(P * 4), *res = xmalloc(B * ohw * P * 4);
	float *pe = aligned_alloc(64, ((N + 15) / 16 * 16 * K * 4 + 63) / 64 * 64);
	float *pp = aligned_alloc(64, ((P + 15) / 16 * 16 * N * 4 + 63) / 64 * 64);
	float *got = xmalloc(B * ohw * P * 4);
	double *e = xmalloc(B * hw * N * 8), *y = xmalloc(B * ohw * N * 8), *ys = xmalloc(B * (size_t)g.OH * N * 8);
	double *want = xmalloc(B * ohw * P * 8);
	if (!pe || !pp)
		testing_oom();
	fill(x, B * hw * K, 1.0f);
	fill(we, N * K, 1.0f);
	fill(be, N, 0.5f);
	fill(wd, taps * N, 1.0f);
	fill(bd, N, 0.5f);
	fill(wp, P * N, 0.5f);
	fill(bp, P, 0.5f);
	fill(res, B * ohw * P, 1.0f);
	effc_rt_pack_b(N, K, we, pe);
	effc_rt_pack_b(P, N, wp, pp);
	effc_rt_pack_dw(N, (size_t)g.kh, (size_t)g.kw, wd, wdp);
	const float *pbe = tc->bias ? be : NULL, *pbd = tc->bias ? bd : NULL, *pbp = tc->bias ? bp : NULL;
	const float *pres = tc->residual ? res : NULL;
	/* reference: the expansion (or x itself), the depthwise per image, the projection */
	for (size_t i = 0; i < B * hw; i++)
		for (size_t n = 0; n < N; n++) {
			if (!expand) {
				e[i * N + n] = x[i * N + n];
				continue;
			}
			double acc = pbe ? pbe[n] : 0.0;
			for (size_t q = 0; q < K; q++)
				acc += (double)x[i * K + q] * we[n * K + q];
			e[i * N + n] = act_d(clamp_d(acc, tc->e_min, tc->e_max), tc->e_act);
		}
	for (size_t b = 0; b < B; b++)
		naive_dw(&g, e + b * hw * N, wd, pbd, tc->d_min, tc->d_max, tc->d_act, y + b * ohw * N, ys + b * (size_t)g.OH * N);
	for (size_t i = 0; i < B * ohw; i++)
		for (size_t o = 0; o < P; o++) {
			double acc = pbp ? pbp[o] : 0.0;
			for (size_t n = 0; n < N; n++)
				acc += y[i * N + n] * wp[o * N + n];
			want[i * P + o] = act_d(clamp_d(acc, tc->p_min, tc->p_max), tc->p_act) + (pres ? pres[i * P + o] : 0.0);
		}

	const struct effc_rt_conv2d dwp = dw_params(&g, tc->batch, tc->d_min, tc->d_max, tc->d_act);
	const struct effc_rt_expand ex = {.in_c = K, .act = tc->e_act, .out_min = tc->e_min, .out_max = tc->e_max};
	const struct effc_rt_project q = {.out_c = P, .act = tc->p_act, .out_min = tc->p_min, .out_max = tc->p_max};
	for (int threads = 1; threads <= 2; threads++) {
		char name[200], what[120];
		snprintf(name, sizeof name,
			 "mbconv-project#%d batch %d in %dx%dx%d -> %d k %dx%d s %d,%d pad %d,%d,%d,%d -> %d, %s, %d thread(s)",
			 idx, tc->batch, g.H, g.W, (int)K, g.C, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.pb, g.pr, tc->P,
			 expand ? "expansion" : "no expansion", threads);
		struct effc_rt rt;
		struct effc_rt_op op;
		memset(&op, 0, sizeof op);
		set_all(got, B * ohw * P, NAN);
		int st = effc_rt_init(&rt, threads);
		if (st) {
			expect(0, name, "init", "effc_rt_init status %d", st);
			continue;
		}
		st = effc_rt_mbconv_project_create(&rt, &op, &dwp, expand ? &ex : NULL, pe, pbe, wdp, pbd, &q, pp, pbp, pres,
						   x, got);
		if (!st)
			expect(op.kind == (effc_rt_gemm_fast_available() ? EFFC_RT_MBCONV : EFFC_RT_PAIR), name,
			       "fused where our GEMM runs, else unfused", "op kind %d", (int)op.kind);
		st = st ? st : effc_rt_run(&rt, &op);
		const double err = max_err(got, want, B * ohw * P);
		snprintf(what, sizeof what, "status %d, error %.2g", st, err);
		expect(!st && err < 1e-5, name, what, "status not 0 or relative error not below 1e-5");
		float *first = xmalloc(B * ohw * P * 4);
		memcpy(first, got, B * ohw * P * 4);
		st = st ? st : effc_rt_run(&rt, &op);
		expect(!st && !memcmp(first, got, B * ohw * P * 4), name, "second run identical", "status %d or output differs", st);
		free(first);
		effc_rt_op_destroy(&op);
		effc_rt_fini(&rt);
	}
	free(x), free(we), free(be), free(wd), free(wdp), free(bd), free(wp), free(bp), free(res), free(pe), free(pp);
	free(got), free(e), free(y), free(ys), free(want);
}

static void test_mbconv_project(void)
{
	const enum effc_rt_act N = EFFC_RT_ACT_NONE, S = EFFC_RT_ACT_SWISH, HS = EFFC_RT_ACT_HARDSWISH;
	const float I = INFINITY;
	/* geom: H, W, C, kh, kw, sh, sw, dh, dw, pad top, left, bottom, right */
	const struct mbp_case cases[] = {
		/* EfficientNet-Lite's first block (no expansion, ReLU6, 3x3) and a strided 5x5 one */
		{1, 0, {40, 40, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 16, N, N, N, -I, I, 0, 6, -I, I, 0, 1},
		{2, 0, {23, 17, 48, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0}, 24, N, N, N, -I, I, 0, 6, -I, I, 0, 1},
		/* expansion + depthwise + projection with the residual, Lite (ReLU6) and MobileNetV3
		 * (HardSwish, ReLU), odd channel counts (GEMM tails, masked depthwise blocks) */
		{1, 24, {28, 28, 144, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 24, N, N, N, 0, 6, 0, 6, -I, I, 1, 1},
		{2, 16, {19, 21, 72, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, 16, N, N, N, 0, I, 0, I, -I, I, 1, 1},
		{1, 40, {14, 14, 120, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0}, 40, HS, HS, N, -I, I, -I, I, -I, I, 0, 1},
		{2, 5, {9, 11, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 7, S, N, HS, -I, I, 0, 6, -I, I, 1, 0},
		/* no expansion, residual, projection clamp, dilation, wide rows in one-row bands */
		{1, 0, {9, 10, 20, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0}, 20, N, S, N, -I, I, -I, I, 0, 6, 1, 1},
		{1, 0, {6, 120, 96, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0}, 24, N, N, N, -I, I, 0, 6, -I, I, 0, 1},
	};
	for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
		test_mbconv_project_case(&cases[i], i);
}

/* ---- 3. pointwise convolution with an input scale -------------------------------------- */

struct c1_case {
	int H, W, K, N;
	enum effc_rt_act act;
	int clamp, residual, bias;
};

/* want[b][i][j] = act(clamp(bias[j] + sum_q in[b][i][q] s[b][q] w[j][q])) + res[b][i][j] */
static void naive_scaled(size_t B, size_t hw, size_t K, size_t N, const float *in, const float *s, const float *w,
			 const float *bias, const float *res, double lo, double hi, enum effc_rt_act act, double *want)
{
	for (size_t b = 0; b < B; b++)
		for (size_t i = 0; i < hw; i++)
			for (size_t j = 0; j < N; j++) {
				const size_t m = b * hw + i;
				double acc = bias ? bias[j] : 0.0;
				for (size_t q = 0; q < K; q++)
					acc += (double)in[m * K + q] * s[b * K + q] * w[j * K + q];
				want[m * N + j] = act_d(clamp_d(acc, lo, hi), act) + (res ? res[m * N + j] : 0.0);
			}
}

struct c1_data {
	size_t B, hw, K, N;
	float *in, *in0, *s, *s0, *w, *packed, *packed0, *bias, *res, *got;
	double *want;
	struct effc_rt_conv2d p;
};

static void c1_make(struct c1_data *d, const struct c1_case *tc, int batch)
{
	d->B = (size_t)batch, d->hw = (size_t)tc->H * (size_t)tc->W, d->K = (size_t)tc->K, d->N = (size_t)tc->N;
	const size_t m = d->B * d->hw, np = (d->N + 15) / 16 * 16, pbytes = (np * d->K * 4 + 63) / 64 * 64;
	d->in = xmalloc(m * d->K * 4), d->in0 = xmalloc(m * d->K * 4), d->s = xmalloc(d->B * d->K * 4);
	d->s0 = xmalloc(d->B * d->K * 4), d->w = xmalloc(d->N * d->K * 4), d->bias = xmalloc(d->N * 4);
	d->res = xmalloc(m * d->N * 4), d->got = xmalloc(m * d->N * 4), d->want = xmalloc(m * d->N * 8);
	d->packed = aligned_alloc(64, pbytes), d->packed0 = xmalloc(pbytes);
	if (!d->packed)
		testing_oom();
	fill(d->in, m * d->K, 1.0f);
	for (size_t i = 0; i < d->B * d->K; i++)
		d->s[i] = 0.5f * (frand() + 1.0f); /* a gate: (0, 1) */
	fill(d->w, d->N * d->K, 1.0f);
	fill(d->bias, d->N, 1.0f);
	fill(d->res, m * d->N, 1.0f);
	memcpy(d->in0, d->in, m * d->K * 4);
	memcpy(d->s0, d->s, d->B * d->K * 4);
	memset(d->packed, 0, pbytes);
	effc_rt_pack_b(d->N, d->K, d->w, d->packed);
	memcpy(d->packed0, d->packed, pbytes);
	const float lo = tc->clamp ? -0.5f : -INFINITY, hi = tc->clamp ? 0.5f : INFINITY;
	naive_scaled(d->B, d->hw, d->K, d->N, d->in, d->s, d->w, tc->bias ? d->bias : NULL, tc->residual ? d->res : NULL, lo,
		     hi, tc->act, d->want);
	d->p = (struct effc_rt_conv2d){.batch = batch, .in_h = tc->H, .in_w = tc->W, .in_c = tc->K, .out_h = tc->H,
				       .out_w = tc->W, .out_c = tc->N, .groups = 1, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
				       .dh = 1, .dw = 1, .out_min = lo, .out_max = hi, .nhwc = 1, .packed = 1, .act = tc->act};
	set_all(d->got, m * d->N, NAN);
}

/* Checks the output and that in, in_scale and the weights are unchanged. */
static void c1_check(const struct c1_data *d, const char *name, int st)
{
	const size_t m = d->B * d->hw, np = (d->N + 15) / 16 * 16;
	char what[120];
	const double err = max_err(d->got, d->want, m * d->N);
	snprintf(what, sizeof what, "status %d, error %.2g", st, err);
	expect(!st && err < 1e-5, name, what, "status not 0 or relative error not below 1e-5");
	expect(!memcmp(d->in, d->in0, m * d->K * 4), name, "input tensor unchanged", "the op scaled its input in place");
	expect(!memcmp(d->s, d->s0, d->B * d->K * 4), name, "in_scale unchanged", "the op wrote in_scale");
	expect(!memcmp(d->packed, d->packed0, np * d->K * 4), name, "packed weights unchanged",
	       "the op scaled the weights in place");
}

static void c1_free(struct c1_data *d)
{
	free(d->in), free(d->in0), free(d->s), free(d->s0), free(d->w), free(d->packed), free(d->packed0), free(d->bias);
	free(d->res), free(d->got), free(d->want);
}

static void test_conv1x1_scaled(void)
{
	const enum effc_rt_act N = EFFC_RT_ACT_NONE, S = EFFC_RT_ACT_SWISH, HS = EFFC_RT_ACT_HARDSWISH;
	const struct c1_case cases[] = {
		{7, 7, 20, 24, S, 0, 1, 1},   /* hw 49 > padded n 32: weights scaled */
		{4, 4, 24, 40, S, 0, 1, 1},   /* hw 16 < padded n 48: input rows scaled */
		{1, 17, 33, 16, HS, 0, 0, 1}, /* hw 17 > 16: weights */
		{4, 4, 16, 16, N, 1, 1, 0},   /* hw 16 == padded n 16: rows */
		{2, 3, 7, 13, HS, 0, 1, 1},   /* hw 6 < 16: rows, odd k and n */
		{14, 14, 40, 100, S, 0, 0, 1}, /* hw 196 > 112: weights, several panels with a remainder */
		{5, 5, 9, 70, N, 1, 0, 1},    /* hw 25 < 80: rows, clamp */
	};
	for (int ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++)
		for (int batch = 1; batch <= 2; batch++)
			for (int threads = 1; threads <= 2; threads++) {
				const struct c1_case *tc = &cases[ci];
				struct c1_data d;
				c1_make(&d, tc, batch);
				const size_t np = (d.N + 15) / 16 * 16;
				char name[160];
				snprintf(name, sizeof name, "conv1x1 in_scale#%d batch %d hw %zu k %d n %d (%s) act %d clamp %d res %d bias %d, %d thread(s)",
					 ci, batch, d.hw, tc->K, tc->N, np < d.hw ? "scales weights" : "scales rows", (int)tc->act,
					 tc->clamp, tc->residual, tc->bias, threads);
				struct effc_rt rt;
				struct effc_rt_op op;
				memset(&op, 0, sizeof op);
				int st = effc_rt_init(&rt, threads);
				st = st ? st
					: effc_rt_conv1x1_create(&rt, &op, &d.p, d.packed, tc->bias ? d.bias : NULL,
								 tc->residual ? d.res : NULL, d.s, d.in, d.got);
				if (!st && op.kind == EFFC_RT_GEMM)
					expect(op.scale_weights == (np < d.hw), name, "mode", "scale_weights %d, hw %zu, padded n %zu",
					       op.scale_weights, d.hw, np);
				st = st ? st : effc_rt_run(&rt, &op);
				c1_check(&d, name, st);
				/* a second run reads the unscaled operands again */
				set_all(d.got, d.B * d.hw * d.N, NAN);
				st = st ? st : effc_rt_run(&rt, &op);
				char name2[200];
				snprintf(name2, sizeof name2, "%s, second run", name);
				c1_check(&d, name2, st);
				effc_rt_op_destroy(&op);
				effc_rt_fini(&rt);
				c1_free(&d);
			}
	/* Two scaled ops in one context, the second growing rt->work after the first was created:
	 * both must read the scratch at run time. */
	for (int threads = 1; threads <= 2; threads++) {
		const struct c1_case a = {4, 4, 24, 40, S, 0, 1, 1}, b = {7, 7, 64, 24, HS, 0, 0, 1};
		struct c1_data da, db;
		c1_make(&da, &a, 2);
		c1_make(&db, &b, 1);
		struct effc_rt rt;
		struct effc_rt_op opa, opb;
		memset(&opa, 0, sizeof opa), memset(&opb, 0, sizeof opb);
		int st = effc_rt_init(&rt, threads);
		st = st ? st : effc_rt_conv1x1_create(&rt, &opa, &da.p, da.packed, da.bias, da.res, da.s, da.in, da.got);
		const size_t before = rt.work_bytes;
		st = st ? st : effc_rt_conv1x1_create(&rt, &opb, &db.p, db.packed, db.bias, NULL, db.s, db.in, db.got);
		int sta = st ? st : effc_rt_run(&rt, &opa);
		int stb = st ? st : effc_rt_run(&rt, &opb);
		char name[160];
		snprintf(name, sizeof name, "conv1x1 in_scale: two ops sharing rt->work (%zu then %zu bytes), %d thread(s), first op",
			 before, rt.work_bytes, threads);
		c1_check(&da, name, sta);
		snprintf(name, sizeof name, "conv1x1 in_scale: two ops sharing rt->work, %d thread(s), second op", threads);
		c1_check(&db, name, stb);
		effc_rt_op_destroy(&opa);
		effc_rt_op_destroy(&opb);
		effc_rt_fini(&rt);
		c1_free(&da);
		c1_free(&db);
	}
}

/* ---- 4. the SE gate -------------------------------------------------------------------- */

struct sg_case {
	size_t batch, hw, C, R, rows; /* rows 0: mean over x */
	enum effc_rt_act act;
	float act_min, act_max;
	enum effc_rt_gate gate;
	float alpha, beta;
	int b1, b2;
};

static void test_se_gate(void)
{
	const enum effc_rt_act N = EFFC_RT_ACT_NONE, S = EFFC_RT_ACT_SWISH, HS = EFFC_RT_ACT_HARDSWISH;
	const enum effc_rt_gate SIG = EFFC_RT_GATE_SIGMOID, HSIG = EFFC_RT_GATE_HARDSIGMOID;
	const float I = INFINITY;
	const struct sg_case cases[] = {
		{1, 49, 32, 8, 0, S, -I, I, SIG, 0, 0, 1, 1},
		{2, 49, 13, 4, 7, S, -I, I, SIG, 0, 0, 1, 1},
		{2, 35, 72, 18, 5, N, -I, I, HSIG, 0.2f, 0.5f, 1, 1},
		{1, 9, 72, 18, 0, N, -I, I, HSIG, 1.0f / 6.0f, 0.5f, 0, 1},
		{2, 16, 32, 8, 0, N, 0.0f, I, HSIG, 0.2f, 0.5f, 1, 0},  /* Relu */
		{2, 1, 40, 10, 1, S, -I, I, SIG, 0, 0, 1, 1},           /* one row, one pixel */
		{2, 196, 48, 12, 14, HS, -I, I, SIG, 0, 0, 1, 1},
		{1, 20, 24, 6, 0, S, -I, I, HSIG, 0.2f, 0.5f, 0, 0},
		/* weights of 64 KB and more: split over a pool's threads */
		{1, 49, 1152, 48, 7, S, -I, I, SIG, 0, 0, 1, 1},
		{2, 100, 676, 29, 10, S, -I, I, SIG, 0, 0, 1, 1}, /* ranges not multiples of 8 */
		{1, 36, 480, 20, 0, HS, -I, I, HSIG, 0.2f, 0.5f, 1, 0},
	};
	for (int ci = 0; ci < (int)(sizeof cases / sizeof cases[0]); ci++) {
		const struct sg_case *tc = &cases[ci];
		const size_t B = tc->batch, C = tc->C, R = tc->R;
		const size_t src_n = tc->rows ? B * tc->rows * C : B * tc->hw * C;
		float *src = xmalloc(src_n * 4), *w1 = xmalloc(R * C * 4), *b1 = xmalloc(R * 4), *w2 = xmalloc(C * R * 4);
		float *b2 = xmalloc(C * 4), *gate = xmalloc(B * C * 4);
		double *want = xmalloc(B * C * 8), *mean = xmalloc(C * 8), *hidden = xmalloc(R * 8);
		/* row sums are sums of hw / rows pixels each: scale them like that */
		fill(src, src_n, tc->rows ? 2.0f * (float)tc->hw / (float)tc->rows : 2.0f);
		fill(w1, R * C, 2.0f);
		fill(b1, R, 1.0f);
		fill(w2, C * R, 2.0f / sqrtf((float)R));
		fill(b2, C, 0.5f);
		const float *pb1 = tc->b1 ? b1 : NULL, *pb2 = tc->b2 ? b2 : NULL;
		for (size_t b = 0; b < B; b++) {
			const size_t n = tc->rows ? tc->rows : tc->hw;
			for (size_t c = 0; c < C; c++) {
				double acc = 0;
				for (size_t r = 0; r < n; r++)
					acc += src[(b * n + r) * C + c];
				mean[c] = acc / (double)tc->hw;
			}
			for (size_t j = 0; j < R; j++) {
				double acc = pb1 ? pb1[j] : 0.0;
				for (size_t c = 0; c < C; c++)
					acc += (double)w1[j * C + c] * mean[c];
				hidden[j] = act_d(clamp_d(acc, tc->act_min, tc->act_max), tc->act);
			}
			for (size_t c = 0; c < C; c++) {
				double acc = pb2 ? pb2[c] : 0.0;
				for (size_t j = 0; j < R; j++)
					acc += (double)w2[c * R + j] * hidden[j];
				want[b * C + c] = tc->gate == EFFC_RT_GATE_SIGMOID ? 1.0 / (1.0 + exp(-acc))
										   : clamp_d((double)tc->alpha * acc + tc->beta, 0.0, 1.0);
			}
		}
		const struct effc_rt_se p = {.batch = B, .hw = tc->hw, .channels = C, .reduced = R, .act = tc->act,
					     .act_min = tc->act_min, .act_max = tc->act_max, .gate = tc->gate,
					     .gate_alpha = tc->alpha, .gate_beta = tc->beta};
		struct effc_rt rt;
		struct effc_rt_op op;
		float *gate1 = xmalloc(B * C * 4);
		int st = 0, same = 1;
		/* 1 thread, then 2: the gate must be the same bits (each unit computed by one thread) */
		for (int threads = 1; threads <= 2; threads++) {
			memset(&op, 0, sizeof op);
			set_all(gate, B * C, NAN);
			int s1 = effc_rt_init(&rt, threads);
			/* from row sums, x is not read (NULL); from x, row_sums NULL and rows 0 */
			s1 = s1 ? s1
				: effc_rt_se_gate_create(&rt, &op, &p, tc->rows, w1, pb1, w2, pb2, tc->rows ? NULL : src,
							 tc->rows ? src : NULL, gate);
			s1 = s1 ? s1 : effc_rt_run(&rt, &op);
			st |= s1;
			if (threads == 2) {
				same = memcmp(gate1, gate, B * C * 4) == 0;
				break; /* op and rt stay for the checks below */
			}
			memcpy(gate1, gate, B * C * 4);
			effc_rt_op_destroy(&op);
			effc_rt_fini(&rt);
		}
		/* how many gates are not saturated: the case must exercise the gate's slope */
		size_t inner = 0;
		for (size_t i = 0; i < B * C; i++)
			inner += want[i] > 0.01 && want[i] < 0.99;
		char name[200], what[120];
		snprintf(name, sizeof name, "se_gate#%d batch %zu hw %zu C %zu R %zu %s act %d clamp [%g,%g] gate %s b1 %d b2 %d", ci,
			 B, tc->hw, C, R, tc->rows ? "from row sums" : "from x", (int)tc->act, tc->act_min, tc->act_max,
			 tc->gate == EFFC_RT_GATE_SIGMOID ? "sigmoid" : "hard sigmoid", tc->b1, tc->b2);
		const double err = max_err(gate, want, B * C);
		snprintf(what, sizeof what, "status %d, error %.2g (%zu of %zu gates unsaturated)", st, err, inner, B * C);
		expect(!st && err < 1e-5 && inner > 0, name, what, "status not 0 or error not below 1e-5 or all gates saturated");
		expect(same, name, "2 threads give the 1-thread gate bit for bit", "gates differ");
		effc_rt_op_destroy(&op);
		effc_rt_fini(&rt);
		free(gate1);
		free(src), free(w1), free(b1), free(w2), free(b2), free(gate), free(want), free(mean), free(hidden);
	}
}

/* ---- 5. activation and row sums -------------------------------------------------------- */

static void test_act_row_sums(void)
{
	const size_t chans[] = {32, 13, 72, 8}, widths[] = {1, 5, 14};
	const enum effc_rt_act acts[] = {EFFC_RT_ACT_NONE, EFFC_RT_ACT_SWISH, EFFC_RT_ACT_HARDSWISH};
	const size_t rows = 6, r0 = 1, r1 = 5;
	const float sentinel = 777.0f;
	for (size_t ci = 0; ci < 4; ci++)
		for (size_t ai = 0; ai < 3; ai++)
			for (size_t wi = 0; wi < 3; wi++) {
				const size_t C = chans[ci], W = widths[wi], n = rows * W * C, row = W * C;
				float *data = xmalloc(n * 4), *orig = xmalloc(n * 4), *sums = xmalloc(rows * C * 4);
				double *want = xmalloc(n * 8), *ws = xmalloc(rows * C * 8);
				fill(data, n, 5.0f);
				memcpy(orig, data, n * 4);
				set_all(sums, rows * C, sentinel);
				for (size_t r = 0; r < rows; r++)
					for (size_t c = 0; c < C; c++) {
						ws[r * C + c] = 0;
						for (size_t x = 0; x < W; x++) {
							const size_t i = r * row + x * C + c;
							want[i] = act_d(data[i], acts[ai]);
							ws[r * C + c] += want[i];
						}
					}
				effc_rt_act_row_sums(r0, r1, W, C, acts[ai], data, sums);
				const double e = max_err(data + r0 * row, want + r0 * row, (r1 - r0) * row);
				const double es = max_err(sums + r0 * C, ws + r0 * C, (r1 - r0) * C);
				const int untouched = !memcmp(data, orig, r0 * row * 4) &&
						      !memcmp(data + r1 * row, orig + r1 * row, (rows - r1) * row * 4) &&
						      all_equal(sums, r0 * C, sentinel) && all_equal(sums + r1 * C, (rows - r1) * C, sentinel);
				char name[160];
				snprintf(name, sizeof name, "act_row_sums C %zu width %zu act %d rows [%zu,%zu): error %.2g, sums %.2g, others untouched %d",
					 C, W, (int)acts[ai], r0, r1, e, es, untouched);
				check(e < 1e-5 && es < 1e-5 && untouched, name, "relative error not below 1e-5 or rows outside written");
				free(data), free(orig), free(sums), free(want), free(ws);
			}
}

/* ---- 6. the depthwise op ------------------------------------------------------------------ */

/* One effc_rt_dwconv_create case through the op against naive_dw: which kernel runs (own: ours
 * where the fast path is there), and the outputs and sums. */
static void dwconv_op_case(struct geom g, int own, int batch, int threads, int sums, int use512)
{
	geom_finish(&g);
	const size_t C = (size_t)g.C, in1 = (size_t)g.H * (size_t)g.W * C;
	const size_t out1 = (size_t)g.OH * (size_t)g.OW * C, s1 = (size_t)g.OH * C;
	const size_t taps = (size_t)g.kh * (size_t)g.kw, B = (size_t)batch;
	const enum effc_rt_act act = sums ? EFFC_RT_ACT_SWISH : EFFC_RT_ACT_NONE;
	float *in = xmalloc(B * in1 * 4), *w = xmalloc(taps * C * 4), *bias = xmalloc(C * 4);
	float *got = xmalloc(B * out1 * 4), *gs = xmalloc(B * s1 * 4);
	double *ind = xmalloc(in1 * 8), *want = xmalloc(B * out1 * 8), *ws = xmalloc(B * s1 * 8);
	fill(in, B * in1, 2.0f);
	fill(w, taps * C, 1.0f);
	fill(bias, C, 1.0f);
	for (size_t b = 0; b < B; b++) {
		for (size_t i = 0; i < in1; i++)
			ind[i] = in[b * in1 + i];
		naive_dw(&g, ind, w, bias, -INFINITY, INFINITY, act, want + b * out1, ws + b * s1);
	}
	set_all(got, B * out1, NAN);
	set_all(gs, B * s1, NAN);
	char name[160];
	snprintf(name, sizeof name, "dwconv op C=%d %dx%d k%d s%dx%d d%d batch %d threads %d swish+sums %d %s", g.C, g.H,
		 g.W, g.kh, g.sh, g.sw, g.dh, batch, threads, sums, use512 ? "AVX-512" : "AVX2");
	struct effc_rt rt;
	int st = effc_rt_init(&rt, threads);
	if (st) {
		expect(0, name, "init", "effc_rt_init status %d", st);
	} else {
		const struct effc_rt_conv2d p = dw_params(&g, batch, -INFINITY, INFINITY, act);
		struct effc_rt_op op;
		st = effc_rt_dwconv_create(&rt, &op, &p, w, bias, in, got, sums ? gs : NULL);
		if (!st) {
			const int want_own = own && effc_rt_gemm_fast_available();
			expect((op.kind == EFFC_RT_DW) == want_own, name,
			       want_own ? "runs on our kernel" : "runs on XNNPACK or the reference", "op kind %d", (int)op.kind);
			st = effc_rt_run(&rt, &op);
		}
		if (!st) {
			const double e = max_err(got, want, B * out1), es = sums ? max_err(gs, ws, B * s1) : 0;
			char what[96];
			snprintf(what, sizeof what, "error %.2g, sums %.2g", e, es);
			expect(e < 1e-5 && es < 1e-5, name, what, "relative error not below 1e-5");
		} else {
			expect(0, name, "create and run", "status %d", st);
		}
		effc_rt_op_destroy(&op);
		effc_rt_fini(&rt);
	}
	free(in), free(w), free(bias), free(got), free(gs), free(ind), free(want), free(ws);
}

/* effc_rt_dwconv_create picks our kernel (EFFC_RT_DW) for 5x5 over maps 14 and wider, for
 * tensors of up to 32 channels and for up to 48 at stride 1 on maps 56 and wider, XNNPACK
 * otherwise; with AVX-512, also for every 3x3 and 5x5 (stride 1 or 2, no dilation) whose
 * channels are a multiple of 16. Both through the op, AVX-512 allowed and forbidden, batch 1
 * and 2, 1 and 2 threads, Swish with row sums and plain. */
static void test_dwconv_op(void)
{
	static const struct {
		struct geom g;
		int own, own512; /* expected on our kernel when the fast path is there, without and with AVX-512 */
	} cases[] = {
		{{9, 11, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 1, 1},
		{{16, 15, 40, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, 1, 1},
		{{29, 28, 20, 5, 5, 2, 2, 1, 1, 1, 1, 2, 2, 0, 0}, 1, 1},
		{{15, 15, 40, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0}, 0, 0},
		{{10, 10, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 0, 1},
		{{15, 15, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, 0, 0}, /* 3x3 stride 2 */
		{{22, 24, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 0, 1}, /* 3x3, 24 wide, 48 channels */
		{{9, 58, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 1, 1},  /* 3x3, 58 wide, 40 channels */
		{{9, 120, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, 0, 1}, /* 60 wide at stride 2 */
		{{9, 58, 49, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 0, 0},  /* 49 channels */
		{{9, 55, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 0, 1},  /* 55 wide */
		{{9, 56, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 1, 1},  /* 56 wide, 48 channels */
		{{10, 10, 64, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, 0, 1}, /* 5x5 under 14 wide */
		{{7, 7, 64, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0}, 0, 1},   /* 5x5 stride 2, short rows */
		{{12, 12, 64, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0}, 0, 0}, /* dilated: no AVX-512 instance */
		{{12, 12, 64, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0}, 0, 0}, /* strides differ */
		{{14, 14, 72, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, 1, 1}, /* 72 channels: channel tiles, masked last */
		{{9, 9, 88, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 0, 1},   /* 88 channels, 3x3 */
	};
	const int has512 = effc_rt_avx512_available(), was = effc_rt_allow_avx512(0);
	for (int use512 = 0; use512 <= has512; use512++) {
		effc_rt_allow_avx512(use512);
		for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
			for (int batch = 1; batch <= 2; batch++)
				for (int threads = 1; threads <= 2; threads++)
					for (int sums = 0; sums <= 1; sums++)
						dwconv_op_case(cases[ci].g, use512 ? cases[ci].own512 : cases[ci].own, batch,
							       threads, sums, use512);
	}
	effc_rt_allow_avx512(was);
}

/* A depthwise convolution through effc_rt_conv2d_create (no SE after it: EfficientNet-Lite,
 * MobileNet) takes effc_rt_dwconv_create's rule: our kernel where it pays (the cases of
 * test_dwconv_op), XNNPACK elsewhere; with Relu6 and with HardSwish, batch 1 and 2, 1 and 2
 * threads, against naive_dw. */
static void test_dw_via_conv2d(void)
{
	static const struct {
		struct geom g;
		int own512; /* on our kernel with AVX-512 */
	} cases[] = {
		{{9, 11, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 1},
		{{10, 10, 48, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, 1},
		{{15, 15, 32, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0}, 1},
		{{15, 15, 72, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, 1}, /* 72 channels (MobileNetV3): masked last block */
		{{15, 15, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0}, 0}, /* 40 channels, stride 2: XNNPACK */
		{{12, 12, 64, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0}, 0}, /* dilated */
	};
	for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
		for (int v = 0; v < 8; v++) {
			struct geom g = cases[ci].g;
			geom_finish(&g);
			const int batch = 1 + (v & 1), threads = 1 + (v >> 1 & 1), hs = v >> 2;
			const size_t C = (size_t)g.C, B = (size_t)batch, in1 = (size_t)g.H * (size_t)g.W * C;
			const size_t out1 = (size_t)g.OH * (size_t)g.OW * C, taps = (size_t)g.kh * (size_t)g.kw;
			const float lo = hs ? -INFINITY : 0.0f, hi = hs ? INFINITY : 6.0f;
			const enum effc_rt_act act = hs ? EFFC_RT_ACT_HARDSWISH : EFFC_RT_ACT_NONE;
			float *in = xmalloc(B * in1 * 4), *w = xmalloc(taps * C * 4), *bias = xmalloc(C * 4);
			float *got = xmalloc(B * out1 * 4);
			double *ind = xmalloc(in1 * 8), *want = xmalloc(B * out1 * 8);
			double *ws = xmalloc((size_t)g.OH * C * 8);
			fill(in, B * in1, 4.0f), fill(w, taps * C, 1.0f), fill(bias, C, 1.0f);
			for (size_t b = 0; b < B; b++) {
				for (size_t i = 0; i < in1; i++)
					ind[i] = in[b * in1 + i];
				naive_dw(&g, ind, w, bias, lo, hi, act, want + b * out1, ws);
			}
			set_all(got, B * out1, NAN);
			char name[160];
			snprintf(name, sizeof name, "dw via conv2d C=%d %dx%d k%d s%d d%d batch %d threads %d %s", g.C,
				 g.H, g.W, g.kh, g.sh, g.dh, batch, threads, hs ? "hardswish" : "relu6");
			struct effc_rt rt;
			struct effc_rt_op op;
			int st = effc_rt_init(&rt, threads);
			if (st) {
				expect(0, name, "init", "effc_rt_init status %d", st);
			} else {
				const struct effc_rt_conv2d p = dw_params(&g, batch, lo, hi, act);
				st = effc_rt_conv2d_create(&rt, &op, &p, w, bias, in, got);
				const int own = cases[ci].own512;
				if (!st && effc_rt_use_avx512())
					expect((op.kind == EFFC_RT_DW) == own, name,
					       own ? "on our kernel" : "on XNNPACK", "op kind %d", (int)op.kind);
				st = st ? st : effc_rt_run(&rt, &op);
				const double e = max_err(got, want, B * out1);
				char what[64];
				snprintf(what, sizeof what, "status %d, error %.2g", st, e);
				expect(!st && e < 1e-5, name, what, "status not 0 or relative error not below 1e-5");
				effc_rt_op_destroy(&op);
				effc_rt_fini(&rt);
			}
			free(in), free(w), free(bias), free(got), free(ind), free(want), free(ws);
		}
}

int main(void)
{
	printf("fast path available: %d\n", effc_rt_gemm_fast_available());
	test_dw();
	test_dw_acts();
	test_dw_nan();
	test_mbconv();
	test_mbconv_project();
	test_conv1x1_scaled();
	test_se_gate();
	test_act_row_sums();
	test_dwconv_op();
	test_dw_via_conv2d();
	return test_summary();
}
