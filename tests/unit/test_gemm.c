/* test_gemm.c: the pointwise GEMM (effc_rt_gemm.c). The AVX-512 tiles (where the CPU has
 * them), the AVX2 tiles and the portable path are each checked against a plain triple loop over
 * the unpacked weights, over shapes that hit every row and column remainder of both tile sets,
 * with bias, clamp, Swish/HardSwish and residual, and the runtime op (effc_rt_conv1x1_create)
 * at 1 and 2 threads. Without an activation, the two tile sets must give the same bits. */
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
	 * 2x1000x600 (a classifier: one tile per panel); HardSwish (variant 3) stays on row blocks.
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
	if (effc_rt_avx512_available())
		gemm_cases("avx512");
	else
		printf("skip: no AVX-512 on this CPU, its tiles are not tested here\n");
	effc_rt_allow_avx512(0);
	gemm_cases("avx2");
	effc_rt_allow_avx512(1);
	/* The runtime op with Swish and a residual, at 1 and 2 threads: NHWC 2x7x7x24 -> 40 channels
	 * (threads split rows), and 1x7x7x1500 -> 200 (more columns than rows: threads split the
	 * panels; k = 1500 gives two row blocks). */
	static const size_t shapes[2][4] = {{2, 7, 24, 40}, {1, 7, 1500, 200}};
	for (int c = 0; c < 4; c++) {
		const int si = c / 2, threads = c % 2 + 1;
		const size_t batch = shapes[si][0], hw = shapes[si][1], m = batch * hw * hw, k = shapes[si][2], n = shapes[si][3];
		struct operands o = make_operands(m, n, k);
		float *a = o.a, *w = o.w, *bias = o.bias, *res = o.res, *packed = o.packed;
		float *want = malloc(m * n * 4), *got = malloc(m * n * 4);
		naive(m, n, k, a, w, bias, res, -INFINITY, INFINITY, EFFC_RT_ACT_SWISH, want);
		struct effc_rt rt;
		struct effc_rt_op op;
		struct effc_rt_conv2d p = {.batch = (int)batch, .in_h = (int)hw, .in_w = (int)hw, .in_c = (int)k, .out_h = (int)hw,
					   .out_w = (int)hw, .out_c = (int)n,
					   .groups = 1, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .out_min = -INFINITY,
					   .out_max = INFINITY, .nhwc = 1, .packed = 1, .act = EFFC_RT_ACT_SWISH};
		int st = effc_rt_init(&rt, threads);
		st = st ? st : effc_rt_conv1x1_create(&rt, &op, &p, packed, bias, res, NULL, a, got);
		st = st ? st : effc_rt_run(&rt, &op);
		char what[96];
		snprintf(what, sizeof what, "conv1x1 op m=%zu k=%zu n=%zu, %d thread(s): status %d, error %.2g", m, k, n, threads, st,
			 max_err(got, want, m * n));
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
