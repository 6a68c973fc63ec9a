/* test_gemm.c: the pointwise GEMM (effc_rt_gemm.c). The AVX-512 tiles (where the CPU has
 * them), the AVX2 tiles and the portable path are each checked against a plain triple loop over
 * the unpacked weights, over shapes that hit every row and column remainder of both tile sets,
 * with bias, clamp, Swish/HardSwish and residual, and the runtime op (effc_rt_conv1x1_create)
 * at 1 and 2 threads. Without an activation, the two tile sets must give the same bits. Every
 * activation (none, Relu, Relu6, HardSwish, Swish, with clamps) on each tile set against the
 * portable path, with tails, the rectangles threads take and NaN inputs (check_acts), and on
 * the AVX-512 segmented form (check_segments_acts). */
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

/* c = act(clamp(a w^T + bias)) + res, straight from the definition. */
static void naive(size_t m, size_t n, size_t k, const float *a, const float *w, const float *bias, const float *res,
		  float lo, float hi, enum effc_rt_act act, float *c)
{
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			double acc = bias ? bias[j] : 0.0;
			for (size_t q = 0; q < k; q++)
				acc += (double)a[i * k + q] * w[j * k + q];
			float v = (float)acc;
			v = v < lo ? lo : v > hi ? hi : v;
			if (act == EFFC_RT_ACT_SWISH)
				v = v / (1.0f + expf(-v));
			else if (act == EFFC_RT_ACT_HARDSWISH)
				v = v * fminf(fmaxf(v / 6.0f + 0.5f, 0.0f), 1.0f);
			c[i * n + j] = v + (res ? res[i * n + j] : 0.0f);
		}
}

static double max_err(const float *x, const float *y, size_t n)
{
	double e = 0, mag = 1;
	for (size_t i = 0; i < n; i++) {
		e = fmax(e, fabs((double)x[i] - y[i]));
		mag = fmax(mag, fabs((double)y[i]));
	}
	return e / mag;
}

/* Random operands of an m x n x k case: A [m][k], W [n][k] also packed, bias [n], residual [m][n]. */
struct operands {
	float *a, *w, *bias, *res, *packed;
};
static struct operands make_operands(size_t m, size_t n, size_t k)
{
	const size_t np = (n + 15) / 16 * 16;
	struct operands o = {malloc(m * k * 4), malloc(n * k * 4), malloc(n * 4), malloc(m * n * 4),
			     aligned_alloc(64, (np * k * 4 + 63) / 64 * 64)};
	for (size_t i = 0; i < m * k; i++)
		o.a[i] = frand();
	for (size_t i = 0; i < n * k; i++)
		o.w[i] = frand();
	for (size_t i = 0; i < n; i++)
		o.bias[i] = frand();
	for (size_t i = 0; i < m * n; i++)
		o.res[i] = frand();
	effc_rt_pack_b(n, k, o.w, o.packed);
	return o;
}
static void free_operands(struct operands *o) { free(o->a), free(o->w), free(o->bias), free(o->res), free(o->packed); }

/* One case against the triple loop: the fast path whole and in four rectangles (rows split at
 * m/3, panels at half, as threads would), and the portable path with rows split in two.
 * Variant 0: bias only; 1: Swish; 2: clamp to [-bound, bound]; 3: HardSwish without bias.
 * The residual is added from variant res_from on. */
static void check_gemm(const char *label, size_t m, size_t n, size_t k, int variant, float bound, int res_from,
		       int check_unpack)
{
	const size_t np = (n + 15) / 16 * 16;
	struct operands o = make_operands(m, n, k);
	float *a = o.a, *w = o.w, *bias = o.bias, *res = o.res, *packed = o.packed;
	float *want = malloc(m * n * 4), *got = malloc(m * n * 4), *got2 = malloc(m * n * 4), *got3 = malloc(m * n * 4);
	enum effc_rt_act act = variant == 1 ? EFFC_RT_ACT_SWISH : variant == 3 ? EFFC_RT_ACT_HARDSWISH : EFFC_RT_ACT_NONE;
	float lo = variant == 2 ? -bound : -INFINITY, hi = variant == 2 ? bound : INFINITY;
	const float *b = variant == 3 ? NULL : bias, *r = variant >= res_from ? res : NULL;
	naive(m, n, k, a, w, b, r, lo, hi, act, want);
	struct effc_rt_gemm g = {.m = m, .n = n, .k = k, .a = a, .packed = packed, .bias = b, .residual = r,
				 .c = got, .out_min = lo, .out_max = hi, .act = act};
	effc_rt_gemm_fast(&g, 0, m);
	if (effc_rt_use_avx512() && (variant == 0 || variant == 2)) {
		/* the AVX2 tiles: the same k order and FMAs, so the same bits */
		float *got4 = malloc(m * n * 4);
		g.c = got4;
		const int was = effc_rt_allow_avx512(0);
		effc_rt_gemm_fast(&g, 0, m);
		effc_rt_allow_avx512(was);
		char what[160];
		snprintf(what, sizeof what, "%s m=%zu n=%zu k=%zu variant %d: AVX-512 and AVX2 tiles", label, m, n, k, variant);
		check(!memcmp(got, got4, m * n * 4), what, "outputs differ");
		free(got4);
	}
	const size_t panels = np / 16, ms3 = m / 3, ps2 = panels / 2;
	g.c = got3;
	effc_rt_gemm_fast_rect(&g, 0, ms3, 0, ps2);
	effc_rt_gemm_fast_rect(&g, 0, ms3, ps2, panels);
	effc_rt_gemm_fast_rect(&g, ms3, m, 0, ps2);
	effc_rt_gemm_fast_rect(&g, ms3, m, ps2, panels);
	char rwhat[160];
	snprintf(rwhat, sizeof rwhat, "%s m=%zu n=%zu k=%zu variant %d in rectangles: %.2g", label, m, n, k, variant,
		 max_err(got3, want, m * n));
	check(max_err(got3, want, m * n) < 1e-5, rwhat, "relative error not below 1e-5");
	g.c = got2;
	effc_rt_gemm_ref(&g, 0, m / 2);
	effc_rt_gemm_ref(&g, m / 2, m);
	char what[160];
	snprintf(what, sizeof what, "%s m=%zu n=%zu k=%zu variant %d: fast %.2g, portable %.2g", label, m, n, k, variant,
		 max_err(got, want, m * n), max_err(got2, want, m * n));
	check(max_err(got, want, m * n) < 1e-5 && max_err(got2, want, m * n) < 1e-5, what, "relative error not below 1e-5");
	if (check_unpack) {
		float *back = malloc(n * k * 4);
		effc_rt_unpack_b(n, k, packed, back);
		check(!memcmp(back, w, n * k * 4), "unpack inverts pack", "unpacked weights differ");
		free(back);
	}
	free_operands(&o);
	free(want), free(got), free(got2), free(got3);
}

/* B scaled per row (b_scale: an SE scale folded into the weights). The fused form (AVX-512 row
 * blocks: each panel's first row tile scales it into b_work for the others) must give the bits
 * of the plain GEMM on pre-scaled weights, whole and in the rectangles threads would take, and
 * every path (pre-scaling ones included) must match the triple loop on the scaled weights. */
static void check_gemm_bscale(const char *label, size_t m, size_t n, size_t k, enum effc_rt_act act)
{
	const size_t np = (n + 15) / 16 * 16, panels = np / 16;
	struct operands o = make_operands(m, n, k);
	float *s = malloc(k * 4), *ws = malloc(n * k * 4), *pre = aligned_alloc(64, (np * k * 4 + 63) / 64 * 64);
	float *work = aligned_alloc(64, (np * k * 4 + 63) / 64 * 64);
	float *want = malloc(m * n * 4), *plain = malloc(m * n * 4), *got = malloc(m * n * 4);
	for (size_t q = 0; q < k; q++)
		s[q] = 0.5f * (frand() + 1.0f);
	for (size_t j = 0; j < n; j++)
		for (size_t q = 0; q < k; q++)
			ws[j * k + q] = o.w[j * k + q] * s[q];
	effc_rt_pack_b(n, k, ws, pre);
	naive(m, n, k, o.a, ws, o.bias, NULL, -INFINITY, INFINITY, act, want);
	struct effc_rt_gemm g = {.m = m, .n = n, .k = k, .a = o.a, .packed = pre, .bias = o.bias, .c = plain,
				 .out_min = -INFINITY, .out_max = INFINITY, .act = act};
	effc_rt_gemm_fast(&g, 0, m);
	g.packed = o.packed, g.b_scale = s, g.b_work = work, g.c = got;
	char what[200];
	for (int v = 0; v < 3; v++) {
		memset(got, 0, m * n * 4);
		if (v == 0) {
			effc_rt_gemm_fast(&g, 0, m);
		} else if (v == 1) { /* rows split at m/3, panels at half */
			const size_t ms3 = m / 3, ps2 = panels / 2;
			effc_rt_gemm_fast_rect(&g, 0, ms3, 0, ps2);
			effc_rt_gemm_fast_rect(&g, 0, ms3, ps2, panels);
			effc_rt_gemm_fast_rect(&g, ms3, m, 0, ps2);
			effc_rt_gemm_fast_rect(&g, ms3, m, ps2, panels);
		} else {
			effc_rt_gemm_ref(&g, 0, m);
		}
		const int same = v == 2 || !memcmp(got, plain, m * n * 4);
		snprintf(what, sizeof what, "%s b_scale m=%zu n=%zu k=%zu act %d %s: error %.2g%s", label, m, n, k, (int)act,
			 v == 0 ? "whole" : v == 1 ? "in rectangles" : "portable", max_err(got, want, m * n),
			 v == 2 ? "" : ", bits of the GEMM on pre-scaled weights");
		check(same && max_err(got, want, m * n) < 1e-5, what, "differs");
	}
	free_operands(&o);
	free(s), free(ws), free(pre), free(work), free(want), free(plain), free(got);
}

/* The activations a pointwise convolution carries: none, Relu and Relu6 (out_min/out_max
 * clamps), HardSwish, HardSwish after a clip, Swish, Swish after a clamp. */
struct act_case {
	const char *name;
	float lo, hi;
	enum effc_rt_act act;
};
static const struct act_case act_cases[] = {
	{"none", -INFINITY, INFINITY, EFFC_RT_ACT_NONE},
	{"relu", 0.0f, INFINITY, EFFC_RT_ACT_NONE},
	{"relu6", 0.0f, 6.0f, EFFC_RT_ACT_NONE},
	{"hardswish", -INFINITY, INFINITY, EFFC_RT_ACT_HARDSWISH},
	{"clip+hardswish", -1.0f, 4.0f, EFFC_RT_ACT_HARDSWISH},
	{"swish", -INFINITY, INFINITY, EFFC_RT_ACT_SWISH},
	{"relu6+swish", 0.0f, 6.0f, EFFC_RT_ACT_SWISH},
};
#define N_ACTS (sizeof act_cases / sizeof act_cases[0])

/* got against ref: NaN exactly in row nan_row and column nan_col (either may be -1: none) in
 * both, the other values within `tol` relative to the largest |ref|. */
static int same_nans_close(const float *got, const float *ref, size_t m, size_t n, long nan_row, long nan_col,
			   double tol, double *err)
{
	double e = 0, mag = 1;
	int ok = 1;
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			const int want_nan = (long)i == nan_row || (long)j == nan_col;
			const float x = got[i * n + j], y = ref[i * n + j];
			ok &= (isnan(x) != 0) == want_nan && (isnan(y) != 0) == want_nan;
			if (!want_nan && !isnan(x) && !isnan(y)) {
				e = fmax(e, fabs((double)x - y));
				mag = fmax(mag, fabs((double)y));
			}
		}
	*err = e / mag;
	return ok && *err < tol;
}

/* Every activation on the tiles allowed now (isa) against the portable path (effc_rt_gemm_ref),
 * the activation applied in the tiles' registers as they store (Swish on row blocks: a sweep
 * over the block after them), within 1e-5 + 2e-8 k: shapes with row and column tails, weights over 512 KB (the
 * streaming order, k whole and sliced), with and without a residual, optionally a NaN in one
 * row of A and in one bias, which must come out as NaN in exactly that row and column (ONNX:
 * Conv, Clip and HardSwish of NaN are NaN; the clamp must not turn it into a bound). The
 * rectangles threads take must give the whole run's bits, and the AVX-512 and AVX2 tiles the
 * same bits but for Swish (their exponentials differ). */
static void check_act_case(const char *isa, size_t m, size_t n, size_t k, const struct act_case *ac, int res, int nans)
{
	const size_t panels = (n + 15) / 16, ms3 = m / 3, ps2 = panels / 2;
	struct operands o = make_operands(m, n, k);
	const long nan_row = nans ? (long)(m / 2) : -1, nan_col = nans ? (long)(n - 1) : -1;
	for (size_t i = 0; i < m * k; i++) /* values around the clamps' bounds */
		o.a[i] *= 3.0f;
	if (nans)
		o.a[(size_t)nan_row * k + k / 2] = NAN, o.bias[nan_col] = NAN;
	float *ref = malloc(m * n * 4), *got = malloc(m * n * 4), *rect = malloc(m * n * 4);
	struct effc_rt_gemm g = {.m = m, .n = n, .k = k, .a = o.a, .packed = o.packed, .bias = o.bias,
				 .residual = res ? o.res : NULL, .c = ref, .out_min = ac->lo, .out_max = ac->hi,
				 .act = ac->act};
	effc_rt_gemm_ref(&g, 0, m);
	g.c = got;
	effc_rt_gemm_fast(&g, 0, m);
	g.c = rect;
	effc_rt_gemm_fast_rect(&g, 0, ms3, 0, ps2);
	effc_rt_gemm_fast_rect(&g, ms3, m, 0, ps2);
	effc_rt_gemm_fast_rect(&g, 0, ms3, ps2, panels);
	effc_rt_gemm_fast_rect(&g, ms3, m, ps2, panels);
	char label[128], what[64];
	snprintf(label, sizeof label, "gemm acts %s m=%zu n=%zu k=%zu %s%s%s", isa, m, n, k, ac->name,
		 res ? " +residual" : "", nans ? " NaN" : "");
	/* both sides sum in float, in other orders: a bound that grows with k */
	const double tol = 1e-5 + 2e-8 * (double)k;
	double err;
	const int ok = same_nans_close(got, ref, m, n, nan_row, nan_col, tol, &err);
	snprintf(what, sizeof what, "against the portable path %.2g", err);
	expect(ok, label, what, "NaNs misplaced or relative error not below %.2g", tol);
	expect(!memcmp(got, rect, m * n * 4), label, "rectangles give the whole run's bits", "outputs differ");
	if (effc_rt_use_avx512() && ac->act != EFFC_RT_ACT_SWISH) {
		const int was = effc_rt_allow_avx512(0);
		effc_rt_gemm_fast(&g, 0, m);
		effc_rt_allow_avx512(was);
		expect(!memcmp(got, rect, m * n * 4), label, "the AVX2 tiles' bits", "outputs differ");
	}
	free_operands(&o);
	free(ref), free(got), free(rect);
}

static void check_acts(const char *isa)
{
	static const size_t shapes[][3] = {{1, 8, 3},   {7, 24, 33},  {13, 40, 16}, {25, 100, 33},
					   {49, 17, 100}, {100, 56, 3}, {64, 200, 1100}, {300, 200, 1000}};
	for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
		for (size_t ai = 0; ai < N_ACTS; ai++)
			for (int v = 0; v < 4; v++) /* bit 0: residual, bit 1: NaNs */
				check_act_case(isa, shapes[si][0], shapes[si][1], shapes[si][2], &act_cases[ai], v & 1,
					       v >> 1);
}

/* effc_rt_gemm_segments (the stem's interior pixels, AVX-512 only) with every activation: 3
 * segments of 9 floats from rows 6 apart, against the plain GEMM on the same rows gathered
 * (the same FMAs in the same order: the same bits), NaN in one pixel included. */
static void check_segments_acts(void)
{
	enum { KS = 9, LDA = 6, K = 27, SEGS = 3 };
	static const size_t offs[SEGS] = {0, 9, 18};
	static const size_t ms[] = {1, 13, 30}, ns[] = {16, 24, 40};
	for (size_t c = 0; c < 3 * 3 * N_ACTS; c++) {
		const size_t mi = c / (3 * N_ACTS), ni = c / N_ACTS % 3;
		const struct act_case *ac = &act_cases[c % N_ACTS];
		const size_t m = ms[mi], n = ns[ni], rows = m * LDA + KS;
		struct operands o = make_operands(m, n, K);
		float *img = malloc(SEGS * rows * 4), *want = malloc(m * n * 4), *got = malloc(m * n * 4);
		for (size_t i = 0; i < SEGS * rows; i++)
			img[i] = 3.0f * frand();
		if (mi == 1)
			img[rows + 5 * LDA + 2] = NAN; /* segment 1, pixel 5 (and pixel 4: 2 + 6 < 9) */
		const float *a[SEGS];
		for (int sg = 0; sg < SEGS; sg++)
			a[sg] = img + (size_t)sg * rows;
		for (size_t i = 0; i < m; i++) /* the rows gathered: A = the three segments in turn */
			for (int sg = 0; sg < SEGS; sg++)
				memcpy(o.a + i * K + (size_t)sg * KS, a[sg] + i * LDA, KS * 4);
		struct effc_rt_gemm g = {.m = m, .n = n, .k = K, .a = o.a, .packed = o.packed, .bias = o.bias,
					 .c = want, .out_min = ac->lo, .out_max = ac->hi, .act = ac->act};
		effc_rt_gemm_fast(&g, 0, m);
		g.c = got, g.a = NULL;
		const int done = effc_rt_gemm_segments(&g, a, offs, SEGS, KS, LDA);
		char what[160];
		snprintf(what, sizeof what, "gemm segments m=%zu n=%zu %s%s: the plain GEMM's bits", m, n, ac->name,
			 mi == 1 ? " NaN" : "");
		check(done == effc_rt_use_avx512() && (!done || !memcmp(got, want, m * n * 4)), what,
		      "returned %d, or outputs differ", done);
		free_operands(&o);
		free(img), free(want), free(got);
	}
}

/* The kernel cases under the tile set that is allowed now (label: which). */
static void gemm_cases(const char *isa)
{
	/* rows: 6-row (AVX2) and 12-row (AVX-512) tiles and their remainders, 13-23 as two even
	 * tiles; columns: 8- and 16-wide (AVX2), 16, 24 and 32 (AVX-512, odd panel counts
	 * starting with a single panel, a last panel of 8 joining the one before it) */
	const size_t ms[] = {1, 5, 6, 7, 8, 13, 23, 25, 49, 100}, ns[] = {1, 8, 16, 17, 24, 40, 56, 100}, ks[] = {1, 3, 16, 33, 100};
	char label[64];
	snprintf(label, sizeof label, "gemm %s", isa);
	for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++)
		for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
			for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
				check_gemm(label, ms[mi], ns[ni], ks[ki], (int)((mi + ni + ki) % 4), 0.5f, 2, mi == 0 && ki == 0);
	/* Late-stage sizes (weights of 0.3-2.8 MB): several row blocks (the A and C bounds of
	 * effc_rt_gemm.c), last panels of 8 and 12 columns; the residual from variant 1 on, and a
	 * clamp at 8 (sums reach ~40). Weights over 512 KB take the order that streams them once
	 * (the epilogue in registers): 64x200x1100 (k in 5 slices continued from C), 400x520x300
	 * (2 slices, 2 row blocks, last panel of 8), 49x1004x700 (one slice, last panel of 12) and
	 * 2x1000x600 (a classifier: one tile per panel), HardSwish (variant 3) included.
	 * The AVX-512 tiles keep k whole up to 1 MB of A rows: 300x200x1000 (1.2 MB) slices it
	 * there too (4 slices), so their later slices, which continue from C, are tested. */
	static const size_t large[7][3] = {{64, 200, 1100}, {250, 40, 1700}, {30, 1500, 60}, {400, 520, 300},
					   {49, 1004, 700},  {2, 1000, 600},  {300, 200, 1000}};
	snprintf(label, sizeof label, "gemm large B %s", isa);
	for (int si = 0; si < 7; si++)
		for (int variant = 0; variant < 4; variant++)
			check_gemm(label, large[si][0], large[si][1], large[si][2], variant, 8.0f, 1, 0);
	/* b_scale: row tiles and remainders, one and two panels, a last panel of 8 (24-wide tiles),
	 * several row blocks (361 x 136 x 816, B3's 19x19 projection), and weights over 512 KB (100
	 * x 600 x 1100: the streaming order, which pre-scales) */
	static const size_t bs_shapes[6][3] = {{1, 16, 3}, {13, 24, 96}, {100, 40, 300},
					       {361, 136, 816}, {49, 232, 100}, {100, 600, 1100}};
	snprintf(label, sizeof label, "gemm %s", isa);
	for (int si = 0; si < 6; si++)
		check_gemm_bscale(label, bs_shapes[si][0], bs_shapes[si][1], bs_shapes[si][2],
				  si % 2 ? EFFC_RT_ACT_SWISH : EFFC_RT_ACT_NONE);
}

int main(void)
{
	printf("fast path available: %d, AVX-512: %d\n", effc_rt_gemm_fast_available(), effc_rt_avx512_available());
	if (effc_rt_avx512_available()) {
		gemm_cases("avx512");
		check_acts("avx512");
		check_segments_acts();
	} else {
		printf("skip: no AVX-512 on this CPU, its tiles are not tested here\n");
	}
	effc_rt_allow_avx512(0);
	gemm_cases("avx2");
	check_acts(effc_rt_gemm_fast_available() ? "avx2" : "portable");
	effc_rt_allow_avx512(1);
	/* The runtime op with Swish, Relu6 or HardSwish and a residual, at 1 and 2 threads: NHWC
	 * 2x7x7x24 -> 40 channels (threads split rows), and 1x7x7x1500 -> 200 (more columns than
	 * rows: threads split the panels; k = 1500 gives two row blocks). */
	static const size_t shapes[2][4] = {{2, 7, 24, 40}, {1, 7, 1500, 200}};
	static const int op_acts[3] = {5, 2, 3}; /* act_cases: swish, relu6, hardswish */
	for (int c = 0; c < 12; c++) {
		const int si = c / 2 % 2, threads = c % 2 + 1;
		const struct act_case *ac = &act_cases[op_acts[c / 4]];
		const size_t batch = shapes[si][0], hw = shapes[si][1], m = batch * hw * hw, k = shapes[si][2], n = shapes[si][3];
		struct operands o = make_operands(m, n, k);
		float *a = o.a, *w = o.w, *bias = o.bias, *res = o.res, *packed = o.packed;
		float *want = malloc(m * n * 4), *got = malloc(m * n * 4);
		naive(m, n, k, a, w, bias, res, ac->lo, ac->hi, ac->act, want);
		struct effc_rt rt;
		struct effc_rt_op op;
		struct effc_rt_conv2d p = {.batch = (int)batch, .in_h = (int)hw, .in_w = (int)hw, .in_c = (int)k, .out_h = (int)hw,
					   .out_w = (int)hw, .out_c = (int)n,
					   .groups = 1, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1,
					   .out_min = ac->lo, .out_max = ac->hi, .nhwc = 1, .packed = 1,
					   .act = ac->act};
		int st = effc_rt_init(&rt, threads);
		st = st ? st : effc_rt_conv1x1_create(&rt, &op, &p, packed, bias, res, NULL, a, got);
		st = st ? st : effc_rt_run(&rt, &op);
		char what[128];
		snprintf(what, sizeof what, "conv1x1 op m=%zu k=%zu n=%zu %s, %d thread(s): status %d, error %.2g",
			 m, k, n, ac->name, threads, st, max_err(got, want, m * n));
		check(!st && max_err(got, want, m * n) < 1e-5, what, "status not 0 or relative error not below 1e-5");
		struct effc_rt_conv2d bad = p;
		bad.kh = 3;
		st = effc_rt_conv1x1_create(&rt, &op, &bad, packed, bias, res, NULL, a, got);
		check(st == EFFC_RT_ERR_ARGS, "conv1x1 refuses a 3x3 kernel", "status %d, want %d", st, EFFC_RT_ERR_ARGS);
		effc_rt_op_destroy(&op);
		effc_rt_fini(&rt);
		free_operands(&o);
		free(want), free(got);
	}
	return test_summary();
}
