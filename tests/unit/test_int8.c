/* test_int8.c: the int8 runtime (runtime/effc_rt_int8.c).
 *   - the reference against a straightforward double-precision evaluation of ONNX's definition
 *     (y = saturate(round_half_even(acc * s_in * s_w / s_out) + zp)): equal wherever the exact value
 *     is not within float rounding of a .5 tie, within one step there; exactly equal on
 *     power-of-two scales, where every .5 tie is exact and must round to even;
 *   - every kernel path (REF on packed weights, AVX2, AVX-512 VNNI) against the reference, bit for
 *     bit: channel and k tails, borders, strides, zero points -128/0/127, saturation, fused clamp,
 *     table, residual, one and two threads;
 *   - the XNN path (XNNPACK's operators) against the reference within one step before the table
 *     and the residual (XNNPACK requantizes in fixed point), on the same cases; the differing
 *     values and the cases XNNPACK refused (create kept its fallback path) are counted and
 *     printed at the end; the pack/unpack round trip XNN's create relies on;
 *   - create's refusals (bad scales, zero points, ranges, overflowing bias).
 * A path the CPU lacks prints `skip` and is not counted as a pass. */
#include "effc_rt.h"
#include "testing.h"

#include <float.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_u32(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}
static int8_t rand_i8(void) { return (int8_t)(next_u32() & 0xFF); }
static int32_t rand_range(int32_t lo, int32_t hi) { return lo + (int32_t)(next_u32() % (uint32_t)(hi - lo + 1)); }
static float rand_unit(void) { return (float)(next_u32() & 0xFFFFFF) / 16777216.0f; }
static void fill_i8(int8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = rand_i8();
}
static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		testing_oom();
	return p;
}

/* Round half to even without rint: the definition, spelled out. */
static double round_half_even(double v)
{
	const double f = floor(v), d = v - f;
	if (d > 0.5)
		return f + 1;
	if (d < 0.5)
		return f;
	return fmod(f, 2.0) == 0 ? f : f + 1;
}
static int32_t sat(double v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : (int32_t)v; }

/* Whether v is so close to a .5 tie that float rounding of the multiplier may decide it. */
static int near_tie(double v)
{
	const double d = fabs(v - floor(v) - 0.5);
	return d <= 1e-5 * (fabs(v) + 1);
}

/* The store step's activation in double (effc_rt_q8_act): v is the output in steps, so is the
 * output scale. */
static double act_value(enum effc_rt_q8_act act, double v, double so)
{
	const double y = v * so;
	if (act == EFFC_RT_Q8_ACT_SWISH)
		return v / (1.0 + exp(-y));
	if (act == EFFC_RT_Q8_ACT_HARDSWISH)
		return v * fmin(fmax(y / 6.0 + 0.5, 0.0), 1.0);
	return v;
}
static const char *act_label(enum effc_rt_q8_act act)
{
	return act == EFFC_RT_Q8_ACT_SWISH ? " swish" : act == EFFC_RT_Q8_ACT_HARDSWISH ? " hardswish" : "";
}

struct tie_stats {
	size_t exact, near, diff;
};
/* Compares y with the double-precision value v (before rounding) and the output step. */
static int onnx_agrees(int8_t y, double v, int32_t zp, int32_t lo, int32_t hi, struct tie_stats *ts)
{
	const int32_t want = sat(round_half_even(v) + zp, lo, hi);
	if (y == want) {
		ts->exact++;
		return 1;
	}
	ts->diff++;
	if (near_tie(v) && abs(y - want) <= 1) {
		ts->near++;
		return 1;
	}
	return 0;
}

/* The paths the loops force, by index: the VNNI path twice, without and with VBMI (its table
 * lookup in registers); path_select turns VBMI on or off for the creates that follow. */
static const enum effc_rt_q8_path paths[] = {EFFC_RT_Q8_REF, EFFC_RT_Q8_AVX2, EFFC_RT_Q8_VNNI, EFFC_RT_Q8_VNNI,
					     EFFC_RT_Q8_XNN};
#define NPATHS 5
#define PI_XNN 4
static const char *path_label(size_t pi)
{
	static const char *const names[] = {"ref", "avx2", "vnni", "vnni+vbmi", "xnn"};
	return names[pi];
}
/* Also puts the creates that take no path (GAP, ADD, MUL) on XNN for the XNN index only. */
static int path_select(size_t pi)
{
	effc_rt_q8_set_vbmi(pi == 3);
	effc_rt_q8_set_xnn(pi == PI_XNN);
	return paths[pi] == EFFC_RT_Q8_VNNI   ? effc_rt_q8_vnni_available() && (pi != 3 || effc_rt_q8_vbmi_available())
	       : paths[pi] == EFFC_RT_Q8_AVX2 ? effc_rt_q8_avx2_available()
	       : paths[pi] == EFFC_RT_Q8_XNN  ? effc_rt_q8_xnn_available()
					      : 1;
}

/* The XNN path's tally: cases run, cases XNNPACK refused (the op kept its fallback, which must
 * then match exactly), values compared and values that differ by the one step. */
static struct {
	size_t cases, fallbacks, values, differ;
	size_t pending_values, pending_differ;      /* of the case being checked, until path_ok */
	size_t kind_values[16], kind_differ[16]; /* by enum effc_rt_q8_kind */
} xnn_st;

/* The path an op got is the one forced; for XNN, XNN or (counted) its fallback. */
static int path_ok(size_t pi, const struct effc_rt_q8_op *op)
{
	if (pi != PI_XNN)
		return op->path == paths[pi];
	xnn_st.cases++;
	if (op->path != EFFC_RT_Q8_XNN)
		xnn_st.fallbacks++;
	xnn_st.kind_values[op->kind & 15] += xnn_st.pending_values;
	xnn_st.kind_differ[op->kind & 15] += xnn_st.pending_differ;
	xnn_st.pending_values = xnn_st.pending_differ = 0;
	return 1;
}

/* First index where got fails: exact equality, or on the XNN path the store step's later stages
 * (table, residual add with res) applied to pre[i] (the value before them; NULL: want) moved by
 * at most one step within [lo, hi]. */
static size_t first_bad(size_t pi, size_t n, const int8_t *got, const int8_t *want, const int8_t *pre, int32_t lo,
			int32_t hi, const int8_t *lut, const struct effc_rt_q8_add *res, const int8_t *r)
{
	for (size_t i = 0; i < n; i++) {
		if (pi == PI_XNN)
			xnn_st.values++, xnn_st.pending_values++;
		if (got[i] == want[i])
			continue;
		if (pi != PI_XNN)
			return i;
		xnn_st.differ++, xnn_st.pending_differ++;
		int ok = 0;
		for (int d = -1; d <= 1 && !ok; d++) {
			int32_t y = (pre ? pre[i] : want[i]) + d;
			if (y < lo || y > hi)
				continue;
			if (lut)
				y = lut[(uint8_t)(int8_t)y];
			if (res) {
				const int8_t av = (int8_t)y;
				int8_t o;
				effc_rt_q8_add_ref(res, 1, &av, &r[i], &o);
				y = o;
			}
			ok = y == got[i];
		}
		if (!ok)
			return i;
	}
	return n;
}

static struct effc_rt rts[2]; /* one and two threads */

/* ---- Requantization ------------------------------------------------------------------------ */

static void test_requant(void)
{
	/* Exact ties: mult a power of two, odd accumulators. */
	const float mults[] = {0.5f, 0.25f, 0.125f, 1.0f / 1024};
	int bad = 0, ties = 0;
	for (size_t mi = 0; mi < 4; mi++)
		for (int32_t acc = -5000; acc <= 5000; acc++) {
			const double v = (double)acc * mults[mi];
			if (v - floor(v) == 0.5)
				ties++;
			for (int32_t zp = -128; zp <= 127; zp += 255) {
				const int8_t y = effc_rt_q8_requant(acc, mults[mi], zp, -128, 127);
				if (y != sat(round_half_even(v) + zp, -128, 127))
					bad++;
			}
		}
	check(bad == 0 && ties > 4000, "requant: exact .5 ties round to even", "%d wrong of %d ties", bad, ties);
	check(effc_rt_q8_requant(1, 0.5f, 0, -128, 127) == 0 && effc_rt_q8_requant(3, 0.5f, 0, -128, 127) == 2 &&
		      effc_rt_q8_requant(-1, 0.5f, 0, -128, 127) == 0 && effc_rt_q8_requant(-3, 0.5f, 0, -128, 127) == -2 &&
		      effc_rt_q8_requant(5, 0.5f, 10, -128, 127) == 12,
	      "requant: 0.5->0, 1.5->2, -0.5->0, -1.5->-2, 2.5+10->12", "wrong");
	check(effc_rt_q8_requant(INT32_MAX, 1000.0f, 0, -128, 127) == 127 &&
		      effc_rt_q8_requant(INT32_MIN, 1000.0f, 0, -128, 127) == -128 &&
		      effc_rt_q8_requant(100, 1.0f, 127, -128, 127) == 127 &&
		      effc_rt_q8_requant(-100, 1.0f, -128, -128, 127) == -128 && effc_rt_q8_requant(-100, 1.0f, 5, 5, 127) == 5 &&
		      effc_rt_q8_requant(300, 0.1f, -128, -128, -100) == -100,
	      "requant: saturation and fused clamp", "wrong");
}

/* ---- GEMM ---------------------------------------------------------------------------------- */

struct gemm_case {
	size_t m, n, k;
	int32_t zi, zo, zr, lo, hi;
	int lut, residual;
	enum effc_rt_q8_act act;
	int pow2; /* power-of-two scales: exact ties */
	int big;  /* an output scale 1e-7 times smaller: multipliers so big that the kernels keep the float clamp */
};

/* The double-precision ONNX formula for one GEMM output (before the table/residual). */
static double gemm_onnx_value(const struct effc_rt_q8_gemm *p, const int8_t *w, const int32_t *bias, const int8_t *a,
			      size_t i, size_t j)
{
	int64_t acc = bias[j];
	for (size_t q = 0; q < p->k; q++)
		acc += (int64_t)(a[i * p->k + q] - p->in.zero_point) * w[j * p->k + q];
	return act_value(p->act, (double)acc * ((double)p->in.scale * p->w_scale[j] / p->out.scale), p->out.scale);
}

static void gemm_case_run(const struct gemm_case *gc, struct tie_stats *ts, size_t *saturated, size_t *total)
{
	const size_t m = gc->m, n = gc->n, k = gc->k;
	int8_t *a = xmalloc(m * k), *w = xmalloc(n * k), *res = xmalloc(m * n), *want = xmalloc(m * n),
	       *got = xmalloc(m * n);
	int32_t *bias = xmalloc(n * sizeof *bias);
	float *ws = xmalloc(n * sizeof *ws);
	fill_i8(a, m * k), fill_i8(w, n * k), fill_i8(res, m * n);
	struct effc_rt_q8_gemm p = {.m = m, .n = n, .k = k, .out_min = gc->lo, .out_max = gc->hi, .act = gc->act};
	p.in = (struct effc_rt_q8_quant){gc->pow2 ? 1.0f : 0.02f, gc->zi};
	/* Output scale: the accumulator's spread (about 74 * 74 * sqrt(k)) onto +-40 steps; per-channel
	 * weight scales from 0.4x to 2x, so some channels saturate and some do not. */
	const double spread = 74.0 * 74.0 * sqrt((double)k) / 40.0;
	for (size_t j = 0; j < n; j++) {
		ws[j] = gc->pow2 ? ldexpf(1.0f, rand_range(-1, 1)) : 0.005f * (0.4f + 1.6f * rand_unit());
		bias[j] = rand_range(-20000, 20000);
	}
	p.w_scale = ws;
	p.out = (struct effc_rt_q8_quant){gc->pow2 ? ldexpf(1.0f, (int)ceil(log2(spread))) : (float)(0.02 * 0.005 * spread), gc->zo};
	if (gc->big)
		p.out.scale *= 1e-7f;
	int8_t lut[256];
	if (gc->lut) {
		effc_rt_q8_lut_build(lut, EFFC_RT_Q8_FN_SWISH, 0, 0, p.out, p.out);
		p.lut = lut;
	}
	struct effc_rt_q8_add radd = {.a = p.out, .b = {0.7f * p.out.scale, gc->zr}, .out = {1.3f * p.out.scale, -gc->zo / 2},
				      .out_min = -128, .out_max = 127};
	if (gc->pow2)
		radd.b.scale = p.out.scale, radd.out.scale = 2 * p.out.scale;
	if (gc->residual)
		p.residual = &radd;

	char name[160];
	snprintf(name, sizeof name, "gemm m=%zu n=%zu k=%zu zi=%d zo=%d [%d,%d]%s%s%s%s%s", m, n, k, gc->zi, gc->zo, gc->lo,
		 gc->hi, act_label(gc->act), gc->lut ? " lut" : "", gc->residual ? " residual" : "", gc->pow2 ? " pow2" : "",
		 gc->big ? " big" : "");

	/* The reference against the double formula. */
	effc_rt_q8_gemm_ref(&p, w, bias, a, res, want);
	int ok = 1;
	for (size_t i = 0; i < m && ok; i++)
		for (size_t j = 0; j < n && ok; j++) {
			const double v = gemm_onnx_value(&p, w, bias, a, i, j);
			if (gc->lut || gc->residual) {
				/* Check the stage before: requant of the double value, then the later stages exactly. */
				int32_t y = sat(round_half_even(v) + p.out.zero_point, gc->lo, gc->hi);
				if (near_tie(v))
					continue;
				if (gc->lut)
					y = lut[(uint8_t)(int8_t)y];
				if (gc->residual) {
					const double s = ((double)(y - radd.a.zero_point) * radd.a.scale +
							  (double)(res[i * n + j] - radd.b.zero_point) * radd.b.scale) /
							 radd.out.scale;
					ok = onnx_agrees(want[i * n + j], s, radd.out.zero_point, -128, 127, ts);
				} else {
					ok = want[i * n + j] == y;
				}
				if (!ok)
					printf("  at [%zu][%zu]: got %d\n", i, j, want[i * n + j]);
			} else {
				ok = onnx_agrees(want[i * n + j], v, p.out.zero_point, gc->lo, gc->hi, ts);
				if (!ok)
					printf("  at [%zu][%zu]: got %d, double value %.9g\n", i, j, want[i * n + j], v);
			}
		}
	expect(ok, name, "reference = ONNX double formula", "mismatch");
	for (size_t i = 0; i < m * n; i++) {
		*saturated += want[i] == gc->lo || want[i] == gc->hi;
		(*total)++;
	}

	void *packed = xmalloc(effc_rt_q8_gemm_packed_bytes(n, k));
	effc_rt_q8_gemm_pack(n, k, w, bias, packed);
	int8_t *pre = xmalloc(m * n); /* before the table and the residual: the XNN path's check */
	struct effc_rt_q8_gemm p0 = p;
	p0.lut = NULL, p0.residual = NULL;
	effc_rt_q8_gemm_ref(&p0, w, bias, a, NULL, pre);
	for (size_t pi = 0; pi < NPATHS; pi++) {
		for (int th = 0; th < 2; th++) {
			char what[64];
			snprintf(what, sizeof what, "%s %d thread%s = reference", path_label(pi), th + 1, th ? "s" : "");
			if (!path_select(pi)) {
				if (th == 0)
					printf("skip %s: %s: this CPU or build lacks the path (not counted)\n", name, what);
				continue;
			}
			p.path = paths[pi];
			struct effc_rt_q8_op op;
			memset(got, 0x55, m * n);
			int st = effc_rt_q8_gemm_create(&rts[th], &op, &p, packed, a, res, got);
			if (st != EFFC_RT_OK) {
				expect(0, name, what, "create status %d", st);
				continue;
			}
			effc_rt_q8_run(&rts[th], &op);
			const size_t first = first_bad(pi, m * n, got, want, pre, gc->lo, gc->hi, p.lut, p.residual, res);
			expect(first == m * n && path_ok(pi, &op), name, what, "first difference at [%zu][%zu]: %d vs %d",
			       first / n, first % n, first < m * n ? got[first] : 0, first < m * n ? want[first] : 0);
			effc_rt_q8_op_destroy(&op);
		}
	}
	free(packed), free(pre), free(a), free(w), free(res), free(want), free(got), free(bias), free(ws);
}

static void test_gemm(void)
{
	struct tie_stats ts = {0};
	size_t saturated = 0, total = 0;
	const size_t ns[] = {1, 3, 17, 40, 72, 200}, ks[] = {1, 3, 5, 17, 40, 72, 200}, ms[] = {1, 5, 37, 14, 23}; /* 14 and 23: row tails of 6 and 7 */
	const int32_t zps[] = {-128, 0, 127, 3};
	int idx = 0;
	for (size_t ni = 0; ni < 6; ni++)
		for (size_t ki = 0; ki < 7; ki++, idx++) {
			struct gemm_case gc = {.m = ms[idx % 5], .n = ns[ni], .k = ks[ki], .zi = zps[idx % 4],
					       .zo = zps[(idx / 4) % 4], .zr = zps[(idx + 1) % 4], .lo = -128, .hi = 127};
			if (idx % 5 == 1)
				gc.lo = gc.zo; /* a fused Relu */
			if (idx % 7 == 2)
				gc.lo = -100, gc.hi = 60; /* a fused Clip */
			gc.lut = idx % 3 == 1;
			gc.residual = idx % 4 == 2;
			gc.pow2 = idx % 6 == 5;
			/* The activation before the requantization (a Swish reading the float output). */
			gc.act = idx % 5 == 2 ? EFFC_RT_Q8_ACT_SWISH : idx % 5 == 4 ? EFFC_RT_Q8_ACT_HARDSWISH : EFFC_RT_Q8_ACT_NONE;
			gemm_case_run(&gc, &ts, &saturated, &total);
		}
	/* A B0-like expansion with its Swish, and the same with a residual and a table after it. */
	gemm_case_run(&(struct gemm_case){.m = 64, .n = 96, .k = 16, .zi = -3, .zo = -100, .lo = -128, .hi = 127,
					 .act = EFFC_RT_Q8_ACT_SWISH},
		      &ts, &saturated, &total);
	gemm_case_run(&(struct gemm_case){.m = 37, .n = 40, .k = 72, .zi = 9, .zo = -60, .zr = 2, .lo = -128, .hi = 127,
					 .act = EFFC_RT_Q8_ACT_HARDSWISH, .lut = 1, .residual = 1},
		      &ts, &saturated, &total);
	/* A B0-like projection tile with every feature and a big k. */
	gemm_case_run(&(struct gemm_case){.m = 49, .n = 40, .k = 240, .zi = -7, .zo = 12, .zr = -3, .lo = -128, .hi = 127,
					 .residual = 1},
		      &ts, &saturated, &total);
	/* Exact ties everywhere: scales of one, output scale 2. */
	gemm_case_run(&(struct gemm_case){.m = 21, .n = 33, .k = 9, .zi = 0, .zo = 0, .lo = -128, .hi = 127, .pow2 = 1}, &ts,
		      &saturated, &total);
	check(saturated > total / 50 && saturated < total / 2, "gemm: the cases cover saturation without being dominated by it",
	      "%zu of %zu outputs at a bound", saturated, total);
	/* Multipliers near 1e4: the store steps keep the float clamp (saturating outputs both ways). */
	for (int lu = 0; lu < 2; lu++) {
		size_t sat_big = 0, total_big = 0;
		gemm_case_run(&(struct gemm_case){.m = 19, .n = 40, .k = 24, .zi = 5, .zo = -9, .lo = -128, .hi = 100,
						 .lut = lu, .big = 1, .act = lu ? EFFC_RT_Q8_ACT_SWISH : EFFC_RT_Q8_ACT_NONE},
			      &ts, &sat_big, &total_big);
	}
	printf("gemm: reference vs double formula: %zu equal, %zu within one step at a near-tie (of %zu differing)\n",
	       ts.exact, ts.near, ts.diff);
}

/* Accumulators that land exactly on .5: s_in = s_w = 1, s_out = 2, so y = round(acc / 2). */
static void test_gemm_ties(void)
{
	const size_t m = 16, n = 16, k = 4;
	int8_t a[16 * 4], w[16 * 4], want[256], got[256];
	int32_t bias[16];
	float ws[16];
	fill_i8(a, sizeof a), fill_i8(w, sizeof w);
	for (size_t j = 0; j < n; j++)
		ws[j] = 1.0f, bias[j] = (int32_t)j; /* odd and even biases: odd and even accumulators */
	struct effc_rt_q8_gemm p = {.m = m, .n = n, .k = k, .in = {1.0f, 0}, .out = {2.0f, 0}, .w_scale = ws,
				    .out_min = -128, .out_max = 127};
	effc_rt_q8_gemm_ref(&p, w, bias, a, NULL, want);
	int ties = 0, bad = 0;
	for (size_t i = 0; i < m; i++)
		for (size_t j = 0; j < n; j++) {
			int64_t acc = bias[j];
			for (size_t q = 0; q < k; q++)
				acc += a[i * k + q] * w[j * k + q];
			ties += (acc & 1) != 0;
			if (want[i * n + j] != sat(round_half_even(acc / 2.0), -128, 127))
				bad++;
		}
	check(bad == 0 && ties > 50, "gemm ties: reference rounds exact .5 to even", "%d wrong, %d ties", bad, ties);
	void *packed = xmalloc(effc_rt_q8_gemm_packed_bytes(n, k));
	effc_rt_q8_gemm_pack(n, k, w, bias, packed);
	for (size_t pi = 1; pi < NPATHS; pi++) {
		char name[64];
		snprintf(name, sizeof name, "gemm ties: %s = reference", path_label(pi));
		if (!path_select(pi)) {
			printf("skip %s: not available on this CPU or build (not counted)\n", name);
			continue;
		}
		p.path = paths[pi];
		struct effc_rt_q8_op op;
		int st = effc_rt_q8_gemm_create(&rts[0], &op, &p, packed, a, NULL, got);
		if (st == EFFC_RT_OK)
			effc_rt_q8_run(&rts[0], &op);
		check(st == EFFC_RT_OK && first_bad(pi, sizeof want, got, want, NULL, -128, 127, NULL, NULL, NULL) == sizeof want &&
			      path_ok(pi, &op),
		      name, "status %d or different bytes", st);
		effc_rt_q8_op_destroy(&op);
	}
	free(packed);
}

/* ---- Depthwise ----------------------------------------------------------------------------- */

struct dw_case {
	int batch, h, w, c, k, s, pt, pl, pb, pr;
	int32_t zi, zo, lo, hi;
	int lut;
	int big; /* as the GEMM's: the float clamp in the store step */
	enum effc_rt_q8_act act;
};

static void dw_case_run(const struct dw_case *dc, struct tie_stats *ts)
{
	struct effc_rt_q8_dw p = {.batch = dc->batch, .in_h = dc->h, .in_w = dc->w, .c = dc->c, .kh = dc->k, .kw = dc->k,
				  .sh = dc->s, .sw = dc->s, .pad_top = dc->pt, .pad_left = dc->pl, .out_min = dc->lo,
				  .out_max = dc->hi, .act = dc->act};
	p.out_h = (dc->h + dc->pt + dc->pb - dc->k) / dc->s + 1;
	p.out_w = (dc->w + dc->pl + dc->pr - dc->k) / dc->s + 1;
	const size_t C = (size_t)dc->c, taps = (size_t)dc->k * dc->k;
	const size_t nx = (size_t)dc->batch * dc->h * dc->w * C, ny = (size_t)dc->batch * p.out_h * p.out_w * C;
	int8_t *x = xmalloc(nx), *w = xmalloc(C * taps), *want = xmalloc(ny), *got = xmalloc(ny);
	int32_t *bias = xmalloc(C * sizeof *bias);
	float *ws = xmalloc(C * sizeof *ws);
	fill_i8(x, nx), fill_i8(w, C * taps);
	const double spread = 74.0 * 74.0 * sqrt((double)taps) / 40.0;
	for (size_t j = 0; j < C; j++) {
		ws[j] = 0.01f * (0.4f + 1.6f * rand_unit());
		bias[j] = rand_range(-3000, 3000);
	}
	p.in = (struct effc_rt_q8_quant){0.03f, dc->zi};
	p.out = (struct effc_rt_q8_quant){(float)(0.03 * 0.01 * spread), dc->zo};
	if (dc->big)
		p.out.scale *= 1e-7f;
	p.w_scale = ws;
	int8_t lut[256];
	if (dc->lut) {
		effc_rt_q8_lut_build(lut, EFFC_RT_Q8_FN_HARDSWISH, 0, 0, p.out, p.out);
		p.lut = lut;
	}
	char name[160];
	snprintf(name, sizeof name, "dw %dx%dx%dx%d k%d s%d pad %d,%d,%d,%d zi=%d zo=%d [%d,%d]%s%s", dc->batch, dc->h, dc->w,
		 dc->c, dc->k, dc->s, dc->pt, dc->pl, dc->pb, dc->pr, dc->zi, dc->zo, dc->lo, dc->hi, act_label(dc->act),
		 dc->lut ? " lut" : "");
	effc_rt_q8_dw_ref(&p, w, bias, x, want);
	int ok = 1;
	for (int b = 0; b < dc->batch && ok; b++)
		for (int oy = 0; oy < p.out_h && ok; oy++)
			for (int ox = 0; ox < p.out_w && ok; ox++)
				for (size_t ch = 0; ch < C && ok; ch++) {
					int64_t acc = bias[ch];
					for (int ky = 0; ky < dc->k; ky++)
						for (int kx = 0; kx < dc->k; kx++) {
							const int iy = oy * dc->s - dc->pt + ky, ix = ox * dc->s - dc->pl + kx;
							/* ONNX pads with the zero point: x - zi = 0 there. */
							const int v = iy < 0 || iy >= dc->h || ix < 0 || ix >= dc->w
									      ? dc->zi
									      : x[(((size_t)b * dc->h + iy) * dc->w + ix) * C + ch];
							acc += (int64_t)(v - dc->zi) * w[ch * taps + (size_t)(ky * dc->k + kx)];
						}
					const double v = act_value(dc->act, (double)acc * ((double)p.in.scale * ws[ch] / p.out.scale),
								   p.out.scale);
					const size_t at = (((size_t)b * p.out_h + oy) * p.out_w + ox) * C + ch;
					if (dc->lut) {
						if (!near_tie(v))
							ok = want[at] == lut[(uint8_t)(int8_t)sat(round_half_even(v) + dc->zo, dc->lo, dc->hi)];
					} else {
						ok = onnx_agrees(want[at], v, dc->zo, dc->lo, dc->hi, ts);
					}
				}
	expect(ok, name, "reference = ONNX double formula", "mismatch");

	void *packed = xmalloc(effc_rt_q8_dw_packed_bytes(C, dc->k, dc->k));
	effc_rt_q8_dw_pack(C, dc->k, dc->k, w, bias, packed);
	int8_t *pre = xmalloc(ny);
	struct effc_rt_q8_dw p0 = p;
	p0.lut = NULL;
	effc_rt_q8_dw_ref(&p0, w, bias, x, pre);
	for (size_t pi = 0; pi < NPATHS; pi++)
		for (int th = 0; th < 2; th++) {
			char what[64];
			snprintf(what, sizeof what, "%s %d thread%s = reference", path_label(pi), th + 1, th ? "s" : "");
			if (!path_select(pi)) {
				if (th == 0)
					printf("skip %s: %s: this CPU or build lacks the path (not counted)\n", name, what);
				continue;
			}
			p.path = paths[pi];
			struct effc_rt_q8_op op;
			memset(got, 0x55, ny);
			int st = effc_rt_q8_dw_create(&rts[th], &op, &p, packed, x, got);
			if (st != EFFC_RT_OK) {
				expect(0, name, what, "create status %d", st);
				continue;
			}
			/* A GAP after it, fed by the depthwise's row sums (effc_rt_q8_gap_from_dw) off XNNPACK. */
			const size_t hw = (size_t)p.out_h * (size_t)p.out_w;
			const struct effc_rt_q8_gap gp = {(size_t)dc->batch, hw, C, p.out, {p.out.scale * 0.5f, -3}, -128, 127};
			struct effc_rt_q8_op gop;
			int8_t *gwant = xmalloc((size_t)dc->batch * C), *ggot = xmalloc((size_t)dc->batch * C);
			const int gst = effc_rt_q8_gap_create(&rts[th], &gop, &gp, got, ggot);
			const int fst = gst == EFFC_RT_OK ? effc_rt_q8_gap_from_dw(&rts[th], &gop, &op) : gst;
			effc_rt_q8_run(&rts[th], &op);
			const size_t first = first_bad(pi, ny, got, want, pre, dc->lo, dc->hi, p.lut, NULL, NULL);
			expect(first == ny && path_ok(pi, &op), name, what, "first difference at element %zu (channel %zu): %d vs %d", first,
			       first % C, first < ny ? got[first] : 0, first < ny ? want[first] : 0);
			if (pi != PI_XNN) {
				memset(ggot, 0x55, (size_t)dc->batch * C);
				effc_rt_q8_run(&rts[th], &gop);
				effc_rt_q8_gap_ref(&gp, want, gwant);
				snprintf(what, sizeof what, "%s %d thread%s: GAP from its row sums", path_label(pi), th + 1, th ? "s" : "");
				expect(fst == EFFC_RT_OK && gop.sums_from == &op && op.row_sums &&
					       !memcmp(ggot, gwant, (size_t)dc->batch * C),
				       name, what, "status %d, fused %d, or a GAP output differs", fst, gop.sums_from == &op);
			}
			effc_rt_q8_op_destroy(&gop);
			free(gwant), free(ggot);
			effc_rt_q8_op_destroy(&op);
		}
	free(packed), free(pre), free(x), free(w), free(want), free(got), free(bias), free(ws);
}

static void test_dw(void)
{
	struct tie_stats ts = {0};
	const int cs[] = {1, 3, 17, 40, 72, 200};
	const int32_t zps[] = {-128, 0, 127, -5};
	int idx = 0;
	for (int ci = 0; ci < 6; ci++)
		for (int k = 3; k <= 5; k += 2)
			for (int s = 1; s <= 2; s++, idx++) {
				struct dw_case dc = {.batch = 1 + (idx % 5 == 0), .h = 7 + idx % 4, .w = 9 - idx % 3, .c = cs[ci],
						     .k = k, .s = s, .zi = zps[idx % 4], .zo = zps[(idx / 4) % 4], .lo = -128,
						     .hi = 127, .lut = idx % 3 == 2};
				dc.act = idx % 4 == 1 ? EFFC_RT_Q8_ACT_SWISH : idx % 8 == 3 ? EFFC_RT_Q8_ACT_HARDSWISH : EFFC_RT_Q8_ACT_NONE;
				/* "Same" padding, or asymmetric (TF style: the extra pad at the bottom/right). */
				dc.pt = dc.pl = k / 2, dc.pb = dc.pr = k / 2;
				if (idx % 2)
					dc.pt = dc.pl = (k - s) / 2, dc.pb = dc.pr = k - 1 - dc.pt;
				if (idx % 5 == 3)
					dc.lo = dc.zo; /* fused Relu */
				dw_case_run(&dc, &ts);
			}
	/* Wide rows: the blocked interior kernel (3x3 and 5x5, strides 1 and 2) with whole blocks of
	 * 8 pixels and a remainder, channel tails, padding rows at the top and bottom. */
	for (int k = 3; k <= 5; k += 2)
		for (int s = 1; s <= 2; s++)
			for (int wi = 0; wi < 2; wi++, idx++) {
				struct dw_case dc = {.batch = 1, .h = 5 + wi, .w = wi ? 43 : 29, .c = wi ? 40 : 16 + 8 * s, .k = k,
						     .s = s, .zi = zps[idx % 4], .zo = zps[(idx / 3) % 4], .lo = -128,
						     .hi = 127, .lut = (idx % 2) == 0};
				dc.act = idx % 3 == 0 ? EFFC_RT_Q8_ACT_SWISH : idx % 3 == 1 ? EFFC_RT_Q8_ACT_HARDSWISH : EFFC_RT_Q8_ACT_NONE;
				dc.pt = dc.pl = dc.pb = dc.pr = k / 2;
				if (wi)
					dc.pt = dc.pl = (k - s) / 2, dc.pb = dc.pr = k - 1 - dc.pt;
				dw_case_run(&dc, &ts);
			}
	/* Rests of 2 pixels after the blocks of 8 (18 = 16 + 2, 10 = 8 + 2), a channel tail of 1. */
	dw_case_run(&(struct dw_case){.batch = 1, .h = 4, .w = 18, .c = 33, .k = 3, .s = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1,
				      .zi = -9, .zo = 11, .lo = -128, .hi = 127, .lut = 1},
		    &ts);
	dw_case_run(&(struct dw_case){.batch = 1, .h = 5, .w = 20, .c = 48, .k = 5, .s = 2, .pt = 2, .pl = 2, .pb = 2, .pr = 2,
				      .zi = 0, .zo = -1, .lo = -50, .hi = 127},
		    &ts);
	/* Big multipliers: the float clamp in the blocked store. */
	dw_case_run(&(struct dw_case){.batch = 1, .h = 3, .w = 21, .c = 24, .k = 3, .s = 1, .pt = 1, .pl = 1, .pb = 1, .pr = 1,
				      .zi = 2, .zo = 3, .lo = -128, .hi = 127, .lut = 1, .big = 1},
		    &ts);
	/* 7x7: the per-pixel kernel on a wide row. */
	dw_case_run(&(struct dw_case){.batch = 1, .h = 4, .w = 30, .c = 20, .k = 7, .s = 1, .pt = 3, .pl = 3, .pb = 3, .pr = 3,
				      .zi = 5, .zo = -7, .lo = -128, .hi = 127, .lut = 1},
		    &ts);
	/* A map smaller than the kernel: every tap is near a border. */
	dw_case_run(&(struct dw_case){.batch = 1, .h = 2, .w = 1, .c = 24, .k = 5, .s = 1, .pt = 2, .pl = 2, .pb = 2, .pr = 2,
				      .zi = 127, .zo = -128, .lo = -128, .hi = 127},
		    &ts);
	/* 9x9: more taps than the kernels' table, the plain loop on every path. */
	dw_case_run(&(struct dw_case){.batch = 1, .h = 10, .w = 11, .c = 17, .k = 9, .s = 1, .pt = 4, .pl = 4, .pb = 4, .pr = 4,
				      .zi = -3, .zo = 4, .lo = -128, .hi = 127},
		    &ts);
	/* B0-like: 14x14x72 (a tail of 8 for the 16-wide block), 5x5 stride 2. */
	dw_case_run(&(struct dw_case){.batch = 1, .h = 14, .w = 14, .c = 72, .k = 5, .s = 2, .pt = 1, .pl = 1, .pb = 2,
				      .pr = 2, .zi = 9, .zo = -20, .lo = -128, .hi = 127, .lut = 1},
		    &ts);
	printf("dw: reference vs double formula: %zu equal, %zu within one step at a near-tie (of %zu differing)\n",
	       ts.exact, ts.near, ts.diff);
}

/* ---- GAP, add, table ----------------------------------------------------------------------- */

/* The GAP op on every available path (forced after create) and 1 and 2 threads = want. */
static void gap_paths(const struct effc_rt_q8_gap *p, const int8_t *x, const int8_t *want, int8_t *got, char *name,
		      int zi)
{
	const size_t ny = p->batch * p->c;
	for (size_t pi = 0; pi < NPATHS; pi++) {
		if (pi == 3 || !path_select(pi))
			continue;
		for (int th = 0; th < 2; th++) {
			struct effc_rt_q8_op op;
			memset(got, 0x55, ny);
			int st = effc_rt_q8_gap_create(&rts[th], &op, p, x, got);
			if (st == EFFC_RT_OK) {
				if (pi != PI_XNN)
					op.path = paths[pi];
				effc_rt_q8_run(&rts[th], &op);
			}
			snprintf(name, 64, "gap zi=%d hw=%zu c=%zu: %s %d thread%s = reference", zi, p->hw, p->c, path_label(pi),
				 th + 1, th ? "s" : "");
			check(st == EFFC_RT_OK && first_bad(pi, ny, got, want, NULL, p->out_min, p->out_max, NULL, NULL, NULL) == ny &&
				      path_ok(pi, &op),
			      name, "status %d or different", st);
			effc_rt_q8_op_destroy(&op);
		}
	}
}

static void test_gap(void)
{
	const size_t batch = 2, hw = 49, c = 40;
	int8_t x[2 * 49 * 40], want[80], got[80];
	fill_i8(x, sizeof x);
	const int32_t zps[] = {-128, 0, 127};
	for (int zi = 0; zi < 3; zi++) {
		struct tie_stats ts = {0};
		struct effc_rt_q8_gap p = {batch, hw, c, {0.05f, zps[zi]}, {0.004f, zps[2 - zi] / 2}, -128, 127};
		effc_rt_q8_gap_ref(&p, x, want);
		int ok = 1;
		for (size_t b = 0; b < batch; b++)
			for (size_t ch = 0; ch < c; ch++) {
				double sum = 0;
				for (size_t i = 0; i < hw; i++)
					sum += (x[(b * hw + i) * c + ch] - p.in.zero_point) * (double)p.in.scale;
				ok &= onnx_agrees(want[b * c + ch], sum / hw / p.out.scale, p.out.zero_point, -128, 127, &ts);
			}
		char name[64];
		snprintf(name, sizeof name, "gap zi=%d: reference = ONNX double formula", zps[zi]);
		check(ok, name, "mismatch");
		gap_paths(&p, x, want, got, name, zps[zi]);
	}
	/* gap_from_dw refuses a GAP that does not read the depthwise's output, or another shape. */
	{
		static int8_t dx[2 * 7 * 40], dy[2 * 7 * 40], dw8[9 * 40], gy[80];
		static int32_t db[40];
		static float dws[40];
		for (int i = 0; i < 40; i++)
			dws[i] = 0.01f;
		fill_i8(dw8, sizeof dw8);
		const struct effc_rt_q8_dw dp = {.batch = 2, .in_h = 1, .in_w = 7, .c = 40, .out_h = 1, .out_w = 7, .kh = 3, .kw = 3,
						 .sh = 1, .sw = 1, .pad_top = 1, .pad_left = 1, .in = {0.05f, 0}, .out = {0.05f, 0},
						 .w_scale = dws, .out_min = -128, .out_max = 127};
		void *packed = xmalloc(effc_rt_q8_dw_packed_bytes(40, 3, 3));
		effc_rt_q8_dw_pack(40, 3, 3, dw8, db, packed);
		struct effc_rt_q8_op d, g1, g2;
		path_select(0);
		const struct effc_rt_q8_gap good = {2, 7, 40, {0.05f, 0}, {0.01f, 0}, -128, 127}, bad = {2, 6, 40, {0.05f, 0}, {0.01f, 0}, -128, 127};
		int st = effc_rt_q8_dw_create(&rts[0], &d, &dp, packed, dx, dy);
		st |= effc_rt_q8_gap_create(&rts[0], &g1, &bad, dy, gy);
		st |= effc_rt_q8_gap_create(&rts[0], &g2, &good, dx, gy);
		check(st == EFFC_RT_OK && effc_rt_q8_gap_from_dw(&rts[0], &g1, &d) == EFFC_RT_ERR_ARGS &&
			      effc_rt_q8_gap_from_dw(&rts[0], &g2, &d) == EFFC_RT_ERR_ARGS &&
			      effc_rt_q8_gap_from_dw(&rts[0], &d, &g2) == EFFC_RT_ERR_ARGS && !g1.sums_from && !d.row_sums,
		      "gap_from_dw: another shape, another tensor or swapped ops", "not refused (status %d)", st);
		effc_rt_q8_op_destroy(&d), effc_rt_q8_op_destroy(&g1), effc_rt_q8_op_destroy(&g2);
		free(packed);
	}
	/* More channels than one task's block (200 = 3 x 64 + 8), and hw = 1. */
	static int8_t xb[2 * 30 * 200], wantb[400], gotb[400];
	fill_i8(xb, sizeof xb);
	for (int hi = 0; hi < 2; hi++) {
		struct effc_rt_q8_gap p = {2, hi ? 30 : 1, 200, {0.05f, 7}, {0.01f, -3}, -100, 127};
		effc_rt_q8_gap_ref(&p, xb, wantb);
		char name[64];
		gap_paths(&p, xb, wantb, gotb, name, 7);
	}
}

static void test_add(void)
{
	enum { N = 10000 };
	static int8_t a[N], b[N], want[N], got[N];
	fill_i8(a, N), fill_i8(b, N);
	const int32_t zps[] = {-128, 0, 127};
	for (int i = 0; i < 3; i++) {
		struct tie_stats ts = {0};
		struct effc_rt_q8_add p = {{0.03f, zps[i]}, {0.011f, zps[(i + 1) % 3]}, {0.05f, zps[(i + 2) % 3]}, -128, 127};
		if (i == 2)
			p = (struct effc_rt_q8_add){{0.5f, 0}, {0.25f, 0}, {1.0f, 0}, -128, 127}; /* exact ties */
		effc_rt_q8_add_ref(&p, N, a, b, want);
		int ok = 1;
		for (size_t j = 0; j < N; j++) {
			const double v = ((a[j] - p.a.zero_point) * (double)p.a.scale + (b[j] - p.b.zero_point) * (double)p.b.scale) /
					 p.out.scale;
			ok &= onnx_agrees(want[j], v, p.out.zero_point, -128, 127, &ts);
		}
		char name[80];
		snprintf(name, sizeof name, "add %d: reference = ONNX double formula (%zu near-tie)", i, ts.near);
		check(ok && (i != 2 || ts.near == 0), name, "mismatch");
		for (size_t pi = 0; pi < NPATHS; pi++) {
			if (pi == 3 || !path_select(pi))
				continue;
			/* N, and a short length (the tails). */
			for (int ln = 0; ln < 2; ln++) {
				const size_t len = ln ? 37 : N;
				struct effc_rt_q8_op op;
				memset(got, 0x55, N);
				int st = effc_rt_q8_add_create(&rts[1], &op, &p, len, a, b, got);
				if (st == EFFC_RT_OK) {
					if (pi != PI_XNN)
						op.path = paths[pi];
					effc_rt_q8_run(&rts[1], &op);
				}
				snprintf(name, sizeof name, "add %d: %s (2 threads, %zu) = reference", i, path_label(pi), len);
				check(st == EFFC_RT_OK && first_bad(pi, len, got, want, NULL, -128, 127, NULL, NULL, NULL) == len &&
					      (len == N || got[len] == 0x55) && path_ok(pi, &op),
				      name, "status %d or different", st);
				effc_rt_q8_op_destroy(&op);
			}
		}
	}
}

static void test_lut(void)
{
	int8_t lut[256];
	const struct effc_rt_q8_quant in = {0.1f, -10};
	int st = effc_rt_q8_lut_build(lut, EFFC_RT_Q8_FN_SIGMOID, 0, 0, in, (struct effc_rt_q8_quant){1.0f / 256, -128});
	int ok = st == EFFC_RT_OK, mono = 1;
	for (int q = -128; q < 128; q++) {
		const double x = (q - in.zero_point) * (double)in.scale, f = 1 / (1 + exp(-x));
		const int32_t want = sat(round_half_even(f * 256) - 128, -128, 127);
		ok &= lut[(uint8_t)(int8_t)q] == want;
		if (q > -128)
			mono &= lut[(uint8_t)(int8_t)q] >= lut[(uint8_t)(int8_t)(q - 1)];
	}
	check(ok && mono && lut[(uint8_t)(int8_t)-10] == 0, "lut sigmoid: entries = double formula, monotone, sigmoid(0) = 0.5",
	      "wrong");
	const struct effc_rt_q8_quant o6 = {6.0f / 255, -128};
	st = effc_rt_q8_lut_build(lut, EFFC_RT_Q8_FN_CLIP, 0.0f, 6.0f, in, o6);
	ok = st == EFFC_RT_OK;
	for (int q = -128; q < 128; q++) {
		const double x = (q - in.zero_point) * (double)in.scale;
		ok &= lut[(uint8_t)(int8_t)q] == sat(round_half_even(fmin(fmax(x, 0), 6) / o6.scale) - 128, -128, 127);
	}
	check(ok && lut[(uint8_t)(int8_t)-10] == -128 && lut[127] == 127, "lut relu6 = double formula, 0 -> -128, 13.7 -> 127",
	      "wrong");
	st = effc_rt_q8_lut_build(lut, EFFC_RT_Q8_FN_SWISH, 0, 0, in, (struct effc_rt_q8_quant){0.05f, -100});
	ok = st == EFFC_RT_OK && lut[(uint8_t)(int8_t)-10] == -100; /* swish(0) = 0 */
	int min_at = 0;
	for (int q = -128; q < 128; q++)
		if (lut[(uint8_t)(int8_t)q] < lut[(uint8_t)(int8_t)min_at])
			min_at = q;
	/* Swish has its minimum (-0.278) at x = -1.278: q = -10 - 12.78. */
	check(ok && min_at >= -24 && min_at <= -21, "lut swish: zero at 0, minimum near x = -1.28", "min at %d", min_at);
	enum { N = 9000 };
	static int8_t x[N], got[N];
	fill_i8(x, N);
	struct effc_rt_q8_op op;
	/* Every length up to 130 (the 64-byte lookups' tails), then N; without and with VBMI. */
	for (int vb = 0; vb < 2; vb++) {
		effc_rt_q8_set_vbmi(vb);
		if (vb && !effc_rt_q8_vbmi_available()) {
			printf("skip lut op vbmi: this CPU or build lacks AVX-512 VBMI (not counted)\n");
			continue;
		}
		ok = 1;
		for (size_t len = 0; len <= N; len = len < 130 ? len + 1 : N + (len == N)) {
			memset(got, 0x55, N);
			st = effc_rt_q8_lut_create(&rts[1], &op, lut, len, x + (len & 7), got);
			if (st == EFFC_RT_OK)
				effc_rt_q8_run(&rts[1], &op);
			ok &= st == EFFC_RT_OK;
			for (size_t i = 0; i < N; i++)
				ok &= got[i] == (i < len ? lut[(uint8_t)x[i + (len & 7)]] : 0x55);
			ok &= op.path == (vb ? EFFC_RT_Q8_VNNI : op.path);
			if (len == N)
				break;
		}
		check(ok, vb ? "lut op, vbmi (2 threads, lengths 0..130 and 9000) = table"
			     : "lut op (2 threads, lengths 0..130 and 9000) = table",
		      "wrong");
	}
	check(effc_rt_q8_lut_build(lut, EFFC_RT_Q8_FN_SWISH, 0, 0, (struct effc_rt_q8_quant){0.0f, 0}, o6) == EFFC_RT_ERR_ARGS &&
		      effc_rt_q8_lut_build(lut, EFFC_RT_Q8_FN_SWISH, 0, 0, in, (struct effc_rt_q8_quant){0.1f, 128}) ==
			      EFFC_RT_ERR_ARGS,
	      "lut build: refuses scale 0 and zero point 128", "accepted");
}

/* ---- Quantize, dequantize ------------------------------------------------------------------ */

/* Runs an element op created on AUTO with each available path forced (their creates take no
 * path: the op's path field is what run dispatches on) and 1 and 2 threads; the caller compares
 * each result. */
static void test_quantize(void)
{
	enum { N = 10007 };
	static float x[N];
	static int8_t want[N], got[N + 1];
	const float scales[] = {0.05f, 0.5f, 0.0137f, 3.0f};
	const int32_t zps[] = {-128, 0, 127};
	for (size_t si = 0; si < 4; si++)
		for (size_t zi = 0; zi < 3; zi++) {
			const struct effc_rt_q8_quant q = {scales[si], zps[zi]};
			for (size_t i = 0; i < N; i++) {
				const int32_t k = rand_range(-400, 400);
				/* Exact ties (k + 0.5) * scale, values just off them, and random reals. */
				x[i] = i % 3 == 0 ? ((float)k + 0.5f) * q.scale : i % 3 == 1 ? (float)k * q.scale * 0.37f
											    : (rand_unit() - 0.5f) * 300 * q.scale;
			}
			x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = 1e30f, x[4] = -1e30f, x[5] = -0.0f;
			x[6] = 127.5f * q.scale, x[7] = -128.5f * q.scale, x[8] = -NAN, x[9] = FLT_MAX;
			effc_rt_q8_quantize_ref(q, N, x, want);
			struct tie_stats ts = {0};
			int ok = want[0] == zps[zi] && want[8] == zps[zi] && want[1] == 127 && want[2] == -128 &&
				 want[3] == 127 && want[4] == -128 && want[5] == zps[zi] && want[9] == 127;
			for (size_t i = 10; i < N && ok; i++) {
				/* The definition on the float quotient (a true division rounded to float). */
				const double v = (double)(x[i] / q.scale);
				ok = want[i] == sat(round_half_even(v) + q.zero_point, -128, 127);
				ts.exact++;
				if (!ok)
					printf("  x %.9g: got %d\n", x[i], want[i]);
			}
			char name[120];
			snprintf(name, sizeof name, "quantize scale %g zp %d", q.scale, q.zero_point);
			expect(ok, name, "reference = definition (ties to even, NaN -> zp, saturation)", "mismatch");
			for (size_t pi = 0; pi < NPATHS; pi++)
				for (int th = 0; th < 2; th++) {
					if (!path_select(pi))
						continue;
					const size_t ns[] = {1, 3, 17, 40, N - 8}; /* from x + ni: stays in x */
					int same = 1;
					for (size_t ni = 0; ni < 5; ni++) {
						struct effc_rt_q8_op op;
						memset(got, 0x55, N);
						int st = effc_rt_q8_quantize_create(&rts[th], &op, q, ns[ni], x + ni, got);
						op.path = paths[pi];
						same &= st == EFFC_RT_OK && effc_rt_q8_run(&rts[th], &op) == EFFC_RT_OK;
						effc_rt_q8_quantize_ref(q, ns[ni], x + ni, want);
						same &= memcmp(got, want, ns[ni]) == 0 && got[ns[ni]] == 0x55;
						effc_rt_q8_op_destroy(&op);
					}
					char what[64];
					snprintf(what, sizeof what, "%s %d thread%s = reference (n 1, 3, 17, 40, %d)",
						 path_label(pi), th + 1, th ? "s" : "", N - 8);
					expect(same, name, what, "different");
				}
		}
}

static void test_dequantize(void)
{
	enum { N = 4099 };
	static int8_t x[N];
	static float want[N], got[N + 1];
	fill_i8(x, N);
	const float scales[] = {0.05f, 0.0137f, 3.0f};
	const int32_t zps[] = {-128, 0, 127};
	for (size_t si = 0; si < 3; si++)
		for (size_t zi = 0; zi < 3; zi++) {
			const struct effc_rt_q8_quant q = {scales[si], zps[zi]};
			effc_rt_q8_dequantize_ref(q, N, x, want);
			int ok = 1;
			for (size_t i = 0; i < N; i++) /* the double product is exact; one rounding to float */
				ok &= want[i] == (float)((double)(x[i] - q.zero_point) * q.scale);
			char name[120];
			snprintf(name, sizeof name, "dequantize scale %g zp %d", q.scale, q.zero_point);
			expect(ok, name, "reference = definition", "mismatch");
			for (size_t pi = 0; pi < NPATHS; pi++)
				for (int th = 0; th < 2; th++) {
					if (!path_select(pi))
						continue;
					const size_t ns[] = {1, 3, 17, 40, N - 8}; /* from x + ni: stays in x */
					int same = 1;
					for (size_t ni = 0; ni < 5; ni++) {
						struct effc_rt_q8_op op;
						for (size_t i = 0; i < N; i++)
							got[i] = -7.0f;
						int st = effc_rt_q8_dequantize_create(&rts[th], &op, q, ns[ni], x + ni, got);
						op.path = paths[pi];
						same &= st == EFFC_RT_OK && effc_rt_q8_run(&rts[th], &op) == EFFC_RT_OK;
						effc_rt_q8_dequantize_ref(q, ns[ni], x + ni, want);
						same &= memcmp(got, want, ns[ni] * sizeof(float)) == 0 && got[ns[ni]] == -7.0f;
						effc_rt_q8_op_destroy(&op);
					}
					char what[64];
					snprintf(what, sizeof what, "%s %d thread%s = reference", path_label(pi), th + 1,
						 th ? "s" : "");
					expect(same, name, what, "different");
				}
		}
}

/* ---- Multiply ------------------------------------------------------------------------------ */

static void mul_case_run(size_t batch, size_t rows, size_t c, int broadcast, int32_t za, int32_t zb, int32_t zo,
			 int32_t lo, int32_t hi, int pow2)
{
	const size_t n = batch * rows * c, nb = broadcast ? batch * c : n;
	int8_t *a = xmalloc(n), *b = xmalloc(nb), *want = xmalloc(n), *got = xmalloc(n + 1);
	fill_i8(a, n), fill_i8(b, nb);
	struct effc_rt_q8_mul p = {.batch = batch, .rows = rows, .c = c, .broadcast = broadcast,
				   .a = {0.031f, za}, .b = {1.0f / 255, zb}, .out = {0.017f, zo}, .out_min = lo, .out_max = hi};
	if (pow2 == 1)
		p.a.scale = 0.5f, p.b.scale = 0.25f, p.out.scale = 4.0f; /* m = 1/32: exact ties */
	if (pow2 == 2)
		p.out.scale = 5e-9f; /* m near 2.4e4, beyond 2^30 / 255^2: the kernels keep the float clamp */
	char name[160];
	snprintf(name, sizeof name, "mul %zux%zux%zu%s za=%d zb=%d zo=%d [%d,%d]%s", batch, rows, c,
		 broadcast ? " broadcast" : "", za, zb, zo, lo, hi, pow2 ? " pow2" : "");
	effc_rt_q8_mul_ref(&p, a, b, want);
	struct tie_stats ts = {0};
	int ok = 1;
	for (size_t bt = 0; bt < batch; bt++)
		for (size_t r = 0; r < rows; r++)
			for (size_t ch = 0; ch < c && ok; ch++) {
				const size_t i = (bt * rows + r) * c + ch;
				const double v = (a[i] - za) * (double)p.a.scale * (b[broadcast ? bt * c + ch : i] - zb) *
						 p.b.scale / p.out.scale;
				ok = onnx_agrees(want[i], v, zo, lo, hi, &ts);
			}
	expect(ok && (!pow2 || ts.near == 0), name, "reference = ONNX double formula", "mismatch (%zu near ties)", ts.near);
	for (size_t pi = 0; pi < NPATHS; pi++)
		for (int th = 0; th < 2; th++) {
			char what[64];
			snprintf(what, sizeof what, "%s %d thread%s = reference", path_label(pi), th + 1, th ? "s" : "");
			if (!path_select(pi))
				continue;
			struct effc_rt_q8_op op;
			memset(got, 0x55, n + 1);
			int st = effc_rt_q8_mul_create(&rts[th], &op, &p, a, b, got);
			if (pi != PI_XNN)
				op.path = paths[pi];
			if (st == EFFC_RT_OK)
				st = effc_rt_q8_run(&rts[th], &op);
			const size_t first = first_bad(pi, n, got, want, NULL, lo, hi, NULL, NULL, NULL);
			expect(st == EFFC_RT_OK && first == n && got[n] == 0x55 && path_ok(pi, &op), name, what,
			       "status %d, first difference at %zu", st, first);
			effc_rt_q8_op_destroy(&op);
		}
	free(a), free(b), free(want), free(got);
}

static void test_mul(void)
{
	const size_t cs[] = {1, 3, 17, 40, 96};
	const int32_t zps[] = {-128, 0, 127};
	for (size_t ci = 0; ci < 5; ci++)
		for (size_t zi = 0; zi < 3; zi++) {
			mul_case_run(2, 37, cs[ci], 1, zps[zi], zps[(zi + 1) % 3], zps[(zi + 2) % 3], -128, 127, 0);
			mul_case_run(1, 29, cs[ci], 0, zps[zi], zps[(zi + 2) % 3], zps[(zi + 1) % 3], -128, 127, 0);
		}
	mul_case_run(1, 12544 / 4, 96, 1, 3, -128, -5, -128, 127, 0); /* an SE scale: many tasks */
	mul_case_run(2, 50, 5000, 1, 0, 0, 0, -128, 127, 0);          /* rows longer than a task */
	mul_case_run(1, 100, 40, 1, 0, 0, 0, -128, 127, 1);
	mul_case_run(1, 100, 40, 0, 0, 0, 0, -128, 127, 1);
	mul_case_run(1, 100, 17, 1, -10, 20, -128, -128, 0, 0); /* fused clamp */
	mul_case_run(1, 30, 70, 1, 5, -3, 2, -128, 127, 2);     /* huge multiplier (float clamp) */
	mul_case_run(1, 30, 70, 1, 5, -3, 2, -100, 90, 0);      /* clamp, 64 + 6 channels */
	mul_case_run(2, 9, 128, 1, 0, 7, -2, -128, 127, 0);     /* whole 64-channel steps */
	struct effc_rt_q8_mul bad = {.batch = 1, .rows = 1, .c = 1, .a = {0.1f, 0}, .b = {0, 0}, .out = {0.1f, 0},
				     .out_min = -128, .out_max = 127};
	int8_t v = 0, y;
	struct effc_rt_q8_op op;
	check(effc_rt_q8_mul_create(&rts[0], &op, &bad, &v, &v, &y) == EFFC_RT_ERR_ARGS,
	      "refusals: mul with a scale 0", "accepted");
	bad.b.scale = 0.1f, bad.c = 0;
	check(effc_rt_q8_mul_create(&rts[0], &op, &bad, &v, &v, &y) == EFFC_RT_ERR_ARGS, "refusals: mul with c = 0",
	      "accepted");
}

/* ---- Dense convolution --------------------------------------------------------------------- */

struct conv_case {
	int batch, in_h, in_w, in_c, out_c, kh, kw, s, d, pt, pl, pb, pr;
	int32_t zi, zo, zr, lo, hi;
	int lut, residual, check_double;
	enum effc_rt_q8_act act;
};

static void conv_case_run(const struct conv_case *cc)
{
	struct effc_rt_q8_conv p = {.batch = cc->batch, .in_h = cc->in_h, .in_w = cc->in_w, .in_c = cc->in_c,
				    .out_c = cc->out_c, .kh = cc->kh, .kw = cc->kw, .sh = cc->s, .sw = cc->s, .dh = cc->d,
				    .dw = cc->d, .pad_top = cc->pt, .pad_left = cc->pl, .out_min = cc->lo, .out_max = cc->hi,
				    .act = cc->act};
	p.out_h = (cc->in_h + cc->pt + cc->pb - cc->d * (cc->kh - 1) - 1) / cc->s + 1;
	p.out_w = (cc->in_w + cc->pl + cc->pr - cc->d * (cc->kw - 1) - 1) / cc->s + 1;
	const size_t K = (size_t)cc->kh * cc->kw * cc->in_c, nx = (size_t)cc->batch * cc->in_h * cc->in_w * cc->in_c;
	const size_t ny = (size_t)cc->batch * p.out_h * p.out_w * cc->out_c;
	int8_t *x = xmalloc(nx), *w = xmalloc(cc->out_c * K), *res = xmalloc(ny), *want = xmalloc(ny), *got = xmalloc(ny);
	int32_t *bias = xmalloc(cc->out_c * sizeof *bias);
	float *ws = xmalloc(cc->out_c * sizeof *ws);
	fill_i8(x, nx), fill_i8(w, cc->out_c * K), fill_i8(res, ny);
	p.in = (struct effc_rt_q8_quant){0.02f, cc->zi};
	const double spread = 74.0 * 74.0 * sqrt((double)K) / 40.0;
	for (int j = 0; j < cc->out_c; j++) {
		ws[j] = 0.005f * (0.4f + 1.6f * rand_unit());
		bias[j] = rand_range(-20000, 20000);
	}
	p.w_scale = ws;
	p.out = (struct effc_rt_q8_quant){(float)(0.02 * 0.005 * spread), cc->zo};
	int8_t lut[256];
	if (cc->lut) {
		effc_rt_q8_lut_build(lut, EFFC_RT_Q8_FN_SWISH, 0, 0, p.out, p.out);
		p.lut = lut;
	}
	struct effc_rt_q8_add radd = {.a = p.out, .b = {0.7f * p.out.scale, cc->zr}, .out = {1.3f * p.out.scale, -cc->zo / 2},
				      .out_min = -128, .out_max = 127};
	if (cc->residual)
		p.residual = &radd;
	char name[200];
	snprintf(name, sizeof name, "conv %dx%dx%dx%d -> %dx%dx%d k%dx%d s%d d%d pad %d,%d,%d,%d zi=%d zo=%d [%d,%d]%s%s%s",
		 cc->batch, cc->in_h, cc->in_w, cc->in_c, p.out_h, p.out_w, cc->out_c, cc->kh, cc->kw, cc->s, cc->d, cc->pt,
		 cc->pl, cc->pb, cc->pr, cc->zi, cc->zo, cc->lo, cc->hi, act_label(cc->act), cc->lut ? " lut" : "",
		 cc->residual ? " residual" : "");
	effc_rt_q8_conv_ref(&p, w, bias, x, res, want);
	if (cc->check_double) {
		/* The definition: taps outside the input read the zero point (real 0). */
		struct tie_stats ts = {0};
		int ok = 1;
		for (int b = 0; b < cc->batch && ok; b++)
			for (int oy = 0; oy < p.out_h && ok; oy++)
				for (int ox = 0; ox < p.out_w && ok; ox++)
					for (int oc = 0; oc < cc->out_c && ok; oc++) {
						double acc = bias[oc];
						for (int ky = 0; ky < cc->kh; ky++)
							for (int kx = 0; kx < cc->kw; kx++)
								for (int ci = 0; ci < cc->in_c; ci++) {
									const int iy = oy * cc->s - cc->pt + ky * cc->d;
									const int ix = ox * cc->s - cc->pl + kx * cc->d;
									const int xv = iy < 0 || iy >= cc->in_h || ix < 0 || ix >= cc->in_w
											       ? cc->zi
											       : x[(((size_t)b * cc->in_h + iy) * cc->in_w + ix) *
													   cc->in_c +
												   ci];
									acc += (double)(xv - cc->zi) *
									       w[(((size_t)oc * cc->kh + ky) * cc->kw + kx) * cc->in_c + ci];
								}
						const double v = act_value(cc->act, acc * ((double)p.in.scale * ws[oc] / p.out.scale),
									   p.out.scale);
						const size_t i = (((size_t)b * p.out_h + oy) * p.out_w + ox) * cc->out_c + oc;
						if (cc->lut || cc->residual) {
							if (near_tie(v))
								continue;
							int32_t y = sat(round_half_even(v) + cc->zo, cc->lo, cc->hi);
							if (cc->lut)
								y = lut[(uint8_t)(int8_t)y];
							if (cc->residual) {
								const double s = ((double)(y - radd.a.zero_point) * radd.a.scale +
										  (double)(res[i] - radd.b.zero_point) * radd.b.scale) /
										 radd.out.scale;
								ok = onnx_agrees(want[i], s, radd.out.zero_point, -128, 127, &ts);
							} else {
								ok = want[i] == y;
							}
						} else {
							ok = onnx_agrees(want[i], v, cc->zo, cc->lo, cc->hi, &ts);
						}
						if (!ok)
							printf("  at %zu: got %d, double %.9g\n", i, want[i], v);
					}
		expect(ok, name, "reference = ONNX double formula", "mismatch");
	}
	void *packed = xmalloc(effc_rt_q8_conv_packed_bytes(cc->out_c, cc->kh, cc->kw, cc->in_c));
	effc_rt_q8_conv_pack(cc->out_c, cc->kh, cc->kw, cc->in_c, w, bias, packed);
	int8_t *pre = xmalloc(ny);
	struct effc_rt_q8_conv p0 = p;
	p0.lut = NULL, p0.residual = NULL;
	effc_rt_q8_conv_ref(&p0, w, bias, x, NULL, pre);
	for (size_t pi = 0; pi < NPATHS; pi++)
		for (int th = 0; th < 2; th++) {
			char what[64];
			snprintf(what, sizeof what, "%s %d thread%s = reference", path_label(pi), th + 1, th ? "s" : "");
			if (!path_select(pi)) {
				if (th == 0)
					printf("skip %s: %s: this CPU or build lacks the path (not counted)\n", name, what);
				continue;
			}
			p.path = paths[pi];
			struct effc_rt_q8_op op;
			memset(got, 0x55, ny);
			int st = effc_rt_q8_conv_create(&rts[th], &op, &p, packed, x, res, got);
			if (st == EFFC_RT_OK)
				st = effc_rt_q8_run(&rts[th], &op);
			const size_t first = first_bad(pi, ny, got, want, pre, cc->lo, cc->hi, p.lut, p.residual, res);
			expect(st == EFFC_RT_OK && first == ny && path_ok(pi, &op), name, what,
			       "status %d, first difference at %zu: %d vs %d", st, first, first < ny ? got[first] : 0,
			       first < ny ? want[first] : 0);
			effc_rt_q8_op_destroy(&op);
		}
	free(packed), free(pre), free(x), free(w), free(res), free(want), free(got), free(bias), free(ws);
}

static void test_conv(void)
{
	const struct conv_case cases[] = {
		/* b  h   w   ci oc kh kw s d pt pl pb pr  zi    zo   zr   lo    hi  lut res dbl act */
		{1, 9, 11, 3, 32, 3, 3, 2, 1, 0, 0, 1, 1, 3, -5, 0, -128, 127, 0, 0, 1, 0},      /* the stem, TF padding */
		{1, 8, 8, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, -128, 0, 0, -128, 127, 0, 0, 1, 0},
		{2, 7, 6, 17, 3, 3, 3, 1, 1, 1, 1, 1, 1, 127, -128, 5, -128, 127, 0, 1, 1, 0},
		{1, 10, 9, 40, 17, 3, 3, 2, 1, 1, 1, 1, 1, 0, 127, -128, -128, 127, 1, 0, 1, 0},
		{1, 12, 12, 24, 40, 3, 3, 1, 2, 2, 2, 2, 2, -7, 9, 3, -128, 127, 1, 1, 1, 0},   /* dilation 2 */
		{1, 9, 13, 5, 24, 5, 3, 2, 2, 3, 0, 1, 2, 10, -20, 0, -20, 60, 0, 0, 1, 0},     /* asymmetric, clamp */
		{1, 6, 7, 3, 16, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, -128, 127, 0, 0, 1, 0},       /* 1x1 */
		{1, 5, 5, 2, 8, 5, 5, 1, 1, 0, 0, 0, 0, 4, 4, 0, -128, 127, 0, 0, 1, 0},        /* one output pixel */
		{1, 4, 4, 3, 5, 3, 3, 1, 1, 3, 3, 3, 3, 50, 0, 0, -128, 127, 0, 0, 1, 0},       /* mostly padding */
		{1, 14, 14, 64, 48, 3, 3, 1, 1, 1, 1, 1, 1, -3, 6, 1, -128, 127, 1, 1, 0, 0},   /* V2 fused-MBConv-like */
		{1, 9, 9, 300, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2, 0, -128, 127, 0, 0, 0, 0},     /* bands of 8 rows */
		{1, 224, 224, 3, 32, 3, 3, 2, 1, 0, 0, 1, 1, -128, 0, 0, -128, 127, 1, 0, 0, 0}, /* the B0 stem */
		/* The activation before the requantization (a Swish / HardSwish reading the float output) */
		{1, 9, 11, 3, 32, 3, 3, 2, 1, 0, 0, 1, 1, 3, -90, 0, -128, 127, 0, 0, 1, EFFC_RT_Q8_ACT_SWISH},
		{2, 7, 6, 17, 3, 3, 3, 1, 1, 1, 1, 1, 1, 127, -100, 5, -128, 127, 0, 1, 1, EFFC_RT_Q8_ACT_HARDSWISH},
		{1, 14, 14, 64, 48, 3, 3, 1, 1, 1, 1, 1, 1, -3, -80, 1, -128, 127, 1, 1, 1, EFFC_RT_Q8_ACT_SWISH},
		{1, 9, 9, 300, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, -110, 0, -128, 127, 0, 0, 0, EFFC_RT_Q8_ACT_SWISH},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		conv_case_run(&cases[i]);
	/* The stem on AUTO takes VNNI where the CPU has it. */
	int8_t x[27] = {0}, w[27] = {0}, y[1];
	float ws[1] = {1};
	const struct effc_rt_q8_conv p = {.batch = 1, .in_h = 3, .in_w = 3, .in_c = 3, .out_h = 1, .out_w = 1, .out_c = 1,
					  .kh = 3, .kw = 3, .sh = 2, .sw = 2, .dh = 1, .dw = 1, .in = {0.1f, 0},
					  .out = {0.1f, 0}, .w_scale = ws, .out_min = -128, .out_max = 127};
	void *packed = xmalloc(effc_rt_q8_conv_packed_bytes(1, 3, 3, 3));
	effc_rt_q8_conv_pack(1, 3, 3, 3, w, NULL, packed);
	struct effc_rt_q8_op op;
	effc_rt_q8_set_xnn(-1);
	int st = effc_rt_q8_conv_create(&rts[0], &op, &p, packed, x, NULL, y);
	check(st == EFFC_RT_OK && op.path == (effc_rt_q8_vnni_available()   ? EFFC_RT_Q8_VNNI
					      : effc_rt_q8_avx2_available() ? EFFC_RT_Q8_AVX2
					      : effc_rt_q8_xnn_available()  ? EFFC_RT_Q8_XNN
									    : EFFC_RT_Q8_REF),
	      "conv: AUTO takes the fastest path the CPU has", "status %d, path %d", st, op.path);
	effc_rt_q8_op_destroy(&op);
	struct effc_rt_q8_conv bad = p;
	bad.dh = 0;
	check(effc_rt_q8_conv_create(&rts[0], &op, &bad, packed, x, NULL, y) == EFFC_RT_ERR_ARGS,
	      "refusals: conv with dilation 0", "accepted");
	bad = p, bad.in_c = 4000;
	check(effc_rt_q8_conv_create(&rts[0], &op, &bad, packed, x, NULL, y) == EFFC_RT_ERR_ARGS,
	      "refusals: conv with k = 36000 (beyond the im2col buffer)", "accepted");
	free(packed);
}

/* ---- Create's refusals --------------------------------------------------------------------- */

static void test_refusals(void)
{
	int8_t a[64] = {0}, w[64] = {0}, c[64];
	int32_t bias[4] = {0};
	float ws[4] = {1, 1, 1, 1};
	void *packed = xmalloc(effc_rt_q8_gemm_packed_bytes(4, 16));
	effc_rt_q8_gemm_pack(4, 16, w, bias, packed);
	const struct effc_rt_q8_gemm good = {.m = 4, .n = 4, .k = 16, .in = {0.1f, 0}, .out = {0.1f, 0}, .w_scale = ws,
					     .out_min = -128, .out_max = 127};
	struct effc_rt_q8_op op;
	int st = effc_rt_q8_gemm_create(&rts[0], &op, &good, packed, a, NULL, c);
	check(st == EFFC_RT_OK, "refusals: a good gemm is accepted", "status %d", st);
	effc_rt_q8_op_destroy(&op);
	struct {
		const char *what;
		struct effc_rt_q8_gemm p;
	} bad[8];
	for (int i = 0; i < 8; i++)
		bad[i].p = good;
	bad[0].what = "input scale 0", bad[0].p.in.scale = 0;
	bad[1].what = "output scale NaN", bad[1].p.out.scale = NAN;
	bad[2].what = "negative scale", bad[2].p.in.scale = -0.1f;
	bad[3].what = "zero point 128", bad[3].p.out.zero_point = 128;
	bad[4].what = "zero point -129", bad[4].p.in.zero_point = -129;
	bad[5].what = "clamp min > max", bad[5].p.out_min = 10, bad[5].p.out_max = 5;
	bad[6].what = "infinite scale", bad[6].p.out.scale = INFINITY;
	bad[7].what = "k = 0", bad[7].p.k = 0;
	for (int i = 0; i < 8; i++) {
		char name[80];
		snprintf(name, sizeof name, "refusals: gemm with %s", bad[i].what);
		st = effc_rt_q8_gemm_create(&rts[0], &op, &bad[i].p, packed, a, NULL, c);
		check(st == EFFC_RT_ERR_ARGS, name, "status %d", st);
	}
	ws[2] = 0;
	st = effc_rt_q8_gemm_create(&rts[0], &op, &good, packed, a, NULL, c);
	check(st == EFFC_RT_ERR_ARGS, "refusals: gemm with a weight scale 0", "status %d", st);
	ws[2] = 1;
	bias[1] = INT32_MAX - 100; /* the sums could overflow int32 */
	effc_rt_q8_gemm_pack(4, 16, w, bias, packed);
	st = effc_rt_q8_gemm_create(&rts[0], &op, &good, packed, a, NULL, c);
	check(st == EFFC_RT_ERR_ARGS, "refusals: gemm with a bias near INT32_MAX", "status %d", st);
	free(packed);
}

/* The unpacks XNN's create relies on: pack then unpack gives the weights and the bias back. */
static void test_unpack(void)
{
	const size_t n = 37, k = 29, c = 21;
	int8_t w[37 * 29], w2[37 * 29], dw[21 * 15], dw2[21 * 15];
	int32_t bias[37], bias2[37];
	fill_i8(w, sizeof w), fill_i8(dw, sizeof dw);
	for (size_t j = 0; j < n; j++)
		bias[j] = rand_range(-100000, 100000);
	void *packed = xmalloc(effc_rt_q8_gemm_packed_bytes(n, k));
	effc_rt_q8_gemm_pack(n, k, w, bias, packed);
	effc_rt_q8_gemm_unpack(n, k, packed, w2, bias2);
	check(memcmp(w, w2, sizeof w) == 0 && memcmp(bias, bias2, sizeof bias) == 0, "unpack: GEMM weights and bias",
	      "different");
	free(packed);
	packed = xmalloc(effc_rt_q8_dw_packed_bytes(c, 3, 5));
	effc_rt_q8_dw_pack(c, 3, 5, dw, bias, packed);
	effc_rt_q8_dw_unpack(c, 3, 5, packed, dw2, bias2);
	check(memcmp(dw, dw2, sizeof dw) == 0 && memcmp(bias, bias2, c * sizeof *bias) == 0,
	      "unpack: depthwise weights and bias", "different");
	free(packed);
}

/* What the XNN path did over the whole run (it must have run somewhere where it is built in). */
static void xnn_summary(void)
{
	effc_rt_q8_set_xnn(-1);
	if (!effc_rt_q8_xnn_available()) {
		printf("skip xnn: XNNPACK is not built in (not counted)\n");
		return;
	}
	printf("xnn: %zu cases, %zu kept their fallback (XNNPACK refused the parameters); %zu of %zu values (%.3f%%) "
	       "differ from the reference by one step\n",
	       xnn_st.cases, xnn_st.fallbacks, xnn_st.differ, xnn_st.values,
	       xnn_st.values ? 100.0 * (double)xnn_st.differ / (double)xnn_st.values : 0.0);
	static const char *const kinds[] = {[EFFC_RT_Q8_GEMM] = "gemm", [EFFC_RT_Q8_DW] = "dw", [EFFC_RT_Q8_GAP] = "gap",
					    [EFFC_RT_Q8_ADD] = "add", [EFFC_RT_Q8_MUL] = "mul", [EFFC_RT_Q8_CONV] = "conv"};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
		if (kinds[k])
			printf("xnn: %s: %zu of %zu values differ by one step\n", kinds[k], xnn_st.kind_differ[k],
			       xnn_st.kind_values[k]);
	check(xnn_st.cases > xnn_st.fallbacks, "xnn: XNNPACK ran some cases", "all %zu fell back", xnn_st.cases);
}

/* effc_rt_q8_sigmoid, the store step's Swish, against the double-precision sigmoid: within 4 ulp
 * (plus a 1e-37 absolute floor) from -100 to 100, exactly 0.5 at 0, monotone. */
static void test_sigmoid(void)
{
	double worst = 0;
	int monotone = 1;
	float prev = 0;
	for (int i = -200000; i <= 200000; i++) {
		const float y = (float)i * 5e-4f;
		const float got = effc_rt_q8_sigmoid(y);
		const double want = 1.0 / (1.0 + exp(-(double)y));
		const double ulp = nextafterf((float)want, 2.0f) - (float)want;
		const double err = fabs(got - want) / (ulp + 1e-37);
		if (err > worst)
			worst = err;
		if (i > -200000 && got < prev)
			monotone = 0;
		prev = got;
	}
	check(worst <= 4.0 && monotone && effc_rt_q8_sigmoid(0.0f) == 0.5f && effc_rt_q8_sigmoid(-200.0f) >= 0.0f &&
		      effc_rt_q8_sigmoid(200.0f) == 1.0f,
	      "sigmoid: within 4 ulp of the double-precision value on [-100, 100], monotone", "worst %.2f ulp%s", worst,
	      monotone ? "" : ", not monotone");
}

int main(void)
{
	if (effc_rt_init(&rts[0], 1) != EFFC_RT_OK || effc_rt_init(&rts[1], 2) != EFFC_RT_OK) {
		printf("FAIL effc_rt_init\n");
		return 1;
	}
	printf("paths: avx2 %s, avx512-vnni %s\n", effc_rt_q8_avx2_available() ? "yes" : "no (its cases are skipped, not counted)",
	       effc_rt_q8_vnni_available() ? "yes" : "no (its cases are skipped, not counted)");
	test_requant();
	test_sigmoid();
	test_gemm_ties();
	test_gemm();
	test_dw();
	test_gap();
	test_add();
	test_lut();
	test_quantize();
	test_dequantize();
	test_mul();
	test_conv();
	test_refusals();
	test_unpack();
	xnn_summary();
	effc_rt_fini(&rts[0]);
	effc_rt_fini(&rts[1]);
	return test_summary();
}
