/* effc_rt_int8.c: the int8 runtime (declarations and semantics in effc_rt_int8.h, design in
 * docs/int8.md). Three layers:
 *   - the references (effc_rt_q8_*_ref): plain C on ONNX-layout weights, int64 sums (create
 *     rejects shapes whose int32 sums could overflow, so int32 and int64 agree);
 *   - the op paths: REF (plain C on the packed weights), AVX2 (vpmaddwd on sign-extended int16)
 *     and AVX-512 VNNI (vpdpbusd for the GEMM, vpdpwssd for the depthwise), chosen at create;
 *   - the store step shared by all: bias, requantization, clamp, table, residual add.
 * Every path gives the same bits. The integer sums are exact; the float steps are the same IEEE
 * single operations in the same order (int32 -> float conversion, one multiply, min/max, round
 * to nearest even in the default rounding mode; the add's fused multiply-add is an explicit fmaf
 * in C and an FMA instruction in the kernels, so no compiler contraction can change it).
 *
 * The fourth path, XNN (XNNPACK's operators, the portable one), lives in effc_rt_int8_xnn.c and
 * is reached through small hooks: want_xnn in the creates (after the op is ready on its fallback
 * path), effc_rt_q8_xnn_run in effc_rt_q8_run, effc_rt_q8_xnn_destroy in the destroy. Its results
 * may differ from the others by one step (XNNPACK's requantization; docs/int8.md).
 *
 * To add a kernel path: a new enum effc_rt_q8_path value, its CPU check in choose_path, its
 * rows function called from the task functions, and its cases in tests/unit/test_int8.c. */
#include "effc_rt_int8.h"

#include <math.h>
#include <string.h>

#if !defined(EFFC_RT_PORTABLE)
#include <pthreadpool.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(EFFC_RT_NO_SIMD)
#define Q8_X86 1
#include <immintrin.h>
#define Q8_AVX2_FN __attribute__((target("avx2,fma")))
#define Q8_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define Q8_VNNI_FN __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#define Q8_VNNI_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#endif

#define GEMM_ROW_TILE 16   /* rows per task */
#define GEMM_PANEL_GROUP 8 /* 16-channel panels per task: 128 output channels */

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* ---- CPU checks ---------------------------------------------------------------------------- */

int effc_rt_q8_avx2_available(void)
{
#ifdef Q8_X86
	static int cached = -1;
	if (cached < 0) {
		__builtin_cpu_init();
		cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	}
	return cached;
#else
	return 0;
#endif
}

int effc_rt_q8_vnni_available(void)
{
#if defined(Q8_X86) && !defined(EFFC_RT_NO_AVX512)
	static int cached = -1;
	if (cached < 0) {
		__builtin_cpu_init();
		cached = effc_rt_q8_avx2_available() && __builtin_cpu_supports("avx512f") &&
			 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
			 __builtin_cpu_supports("avx512vnni");
	}
	return cached;
#else
	return 0;
#endif
}

/* AVX-512 VBMI (vpermi2b) for the table lookup in registers, on top of the VNNI path. -1: the CPU
 * decides; 0: off (tests run the VNNI path both ways). */
static int vbmi_setting = -1;

void effc_rt_q8_set_vbmi(int on) { vbmi_setting = on ? -1 : 0; }

int effc_rt_q8_vbmi_available(void)
{
#if defined(Q8_X86) && !defined(EFFC_RT_NO_AVX512)
	static int cached = -1;
	if (cached < 0) {
		__builtin_cpu_init();
		cached = effc_rt_q8_vnni_available() && __builtin_cpu_supports("avx512vbmi");
	}
	return cached && vbmi_setting != 0;
#else
	return 0;
#endif
}

/* AUTO: the fastest the CPU has; a forced path must be available. Returns REF..VNNI or -1. */
static int choose_path(enum effc_rt_q8_path want)
{
	switch (want) {
	case EFFC_RT_Q8_AUTO:
		return effc_rt_q8_vnni_available() ? EFFC_RT_Q8_VNNI
		       : effc_rt_q8_avx2_available() ? EFFC_RT_Q8_AVX2
						     : EFFC_RT_Q8_REF;
	case EFFC_RT_Q8_REF:
		return EFFC_RT_Q8_REF;
	case EFFC_RT_Q8_AVX2:
		return effc_rt_q8_avx2_available() ? EFFC_RT_Q8_AVX2 : -1;
	case EFFC_RT_Q8_VNNI:
		return effc_rt_q8_vnni_available() ? EFFC_RT_Q8_VNNI : -1;
	case EFFC_RT_Q8_XNN:
		break; /* not one of this file's paths: see want_xnn */
	}
	return -1;
}

/* The XNN path (effc_rt_int8_xnn.c) for the ops that have one: 1 to try XNNPACK (forced, or AUTO
 * on a CPU without our SIMD kernels, or always in a runtime built with EFFC_RT_FORCE_XNNPACK),
 * 0 not, -1 forced but not built in. Such an op is first created on choose_path(AUTO), its
 * fallback where XNNPACK refuses it. */
static int xnn_setting = -1; /* effc_rt_q8_set_xnn: -1 the CPU check, 0 never, 1 always */
void effc_rt_q8_set_xnn(int mode) { xnn_setting = mode < 0 ? -1 : mode > 0; }

static int want_xnn(enum effc_rt_q8_path want)
{
	if (want == EFFC_RT_Q8_AUTO && xnn_setting >= 0)
		return xnn_setting && effc_rt_q8_xnn_available();
	if (want == EFFC_RT_Q8_XNN)
		return effc_rt_q8_xnn_available() ? 1 : -1;
	if (want != EFFC_RT_Q8_AUTO || !effc_rt_q8_xnn_available())
		return 0;
#if defined(EFFC_RT_FORCE_XNNPACK)
	return 1;
#else
	return !effc_rt_q8_vnni_available() && !effc_rt_q8_avx2_available();
#endif
}

/* A create hook's status: XNNPACK's refusal keeps the fallback path. */
static int xnn_hook(int st) { return st == EFFC_RT_ERR_BACKEND ? EFFC_RT_OK : st; }

/* ---- Requantization ------------------------------------------------------------------------ */

/* effc_rt_q8_multiplier's formula, here too, so this file links without effc_rt_int8_pack.c: a
 * generated model's runtime needs none of the compile-time functions. */
static float multiplier(double s_in, double s_w, double s_out)
{
	const float m = (float)s_in * (float)s_w; /* float arithmetic, in ONNX Runtime's order: see docs/int8.md */
	return m / (float)s_out;
}

/* The output step's constants: the clamp bounds on the float before rounding (integers, so
 * clamping before or after rounding agrees), the zero point, and the activation before the
 * requantization (effc_rt_q8_act) with the output scale it needs. */
struct q8_out {
	float lo_f, hi_f;
	int32_t zp;
	int act;  /* enum effc_rt_q8_act */
	float so; /* the output scale: v * so is the convolution's real output */
};

static struct q8_out out_consts(int32_t zp, int32_t lo, int32_t hi)
{
	return (struct q8_out){(float)(lo - zp), (float)(hi - zp), zp, EFFC_RT_Q8_ACT_NONE, 0.0f};
}

static struct q8_out out_consts_act(int32_t zp, int32_t lo, int32_t hi, enum effc_rt_q8_act act, float so)
{
	struct q8_out o = out_consts(zp, lo, hi);
	o.act = (int)act, o.so = so;
	return o;
}

/* exp's constants (Cody-Waite: ln 2 in two parts; the polynomial is exp's Taylor series, whose
 * error on |r| <= ln2/2 is below float's step). The kernels use the same numbers in the same
 * order, so every path gives the same bits. */
#define Q8_EXP_MAX 87.0f
#define Q8_LOG2E 1.44269504f
#define Q8_LN2_HI 0.693145751953125f
#define Q8_LN2_LO 1.42860682e-6f
#define Q8_EXP_C6 1.38888889e-3f
#define Q8_EXP_C5 8.33333333e-3f
#define Q8_EXP_C4 4.16666667e-2f
#define Q8_EXP_C3 1.66666667e-1f
#define Q8_EXP_C2 0.5f

float effc_rt_q8_sigmoid(float y)
{
	/* exp(-y), -y clamped to [-87, 87] (2^n stays a normal float) */
	const float t = fminf(fmaxf(-y, -Q8_EXP_MAX), Q8_EXP_MAX);
	const float n = nearbyintf(t * Q8_LOG2E);
	float r = fmaf(n, -Q8_LN2_HI, t);
	r = fmaf(n, -Q8_LN2_LO, r);
	float q = fmaf(Q8_EXP_C6, r, Q8_EXP_C5);
	q = fmaf(q, r, Q8_EXP_C4);
	q = fmaf(q, r, Q8_EXP_C3);
	q = fmaf(q, r, Q8_EXP_C2);
	q = fmaf(q, r, 1.0f);
	q = fmaf(q, r, 1.0f);
	const uint32_t bits = (uint32_t)((int32_t)n + 127) << 23;
	float two_n;
	memcpy(&two_n, &bits, sizeof two_n);
	const float e = q * two_n;
	return 1.0f / (1.0f + e);
}

/* The activation on v (the output in units of its scale): v * g(v * so). */
static inline float act1(float v, const struct q8_out *o)
{
	const float y = v * o->so;
	float g;
	if (o->act == EFFC_RT_Q8_ACT_SWISH)
		g = effc_rt_q8_sigmoid(y);
	else
		g = fminf(fmaxf(fmaf(y, 1.0f / 6.0f, 0.5f), 0.0f), 1.0f);
	return v * g;
}

static inline int32_t requant(int32_t acc, float mult, const struct q8_out *o)
{
	float v = (float)acc * mult;
	if (o->act)
		v = act1(v, o);
	v = fminf(fmaxf(v, o->lo_f), o->hi_f);
	return (int32_t)lrintf(v) + o->zp;
}

/* The add's constants: ratios sa/so and sb/so rounded to float, zero points, output clamp. */
struct q8_addk {
	float ra, rb;
	int32_t za, zb;
	struct q8_out o;
};

static struct q8_addk add_consts(const struct effc_rt_q8_add *p)
{
	struct q8_addk k;
	k.ra = multiplier(p->a.scale, 1.0, p->out.scale);
	k.rb = multiplier(p->b.scale, 1.0, p->out.scale);
	k.za = p->a.zero_point;
	k.zb = p->b.zero_point;
	k.o = out_consts(p->out.zero_point, p->out_min, p->out_max);
	return k;
}

static inline int32_t add1(int32_t a, int32_t b, const struct q8_addk *k)
{
	float v = fmaf((float)(a - k->za), k->ra, (float)(b - k->zb) * k->rb);
	v = fminf(fmaxf(v, k->o.lo_f), k->o.hi_f);
	return (int32_t)lrintf(v) + k->o.zp;
}

/* Everything the store step of the GEMM and the depthwise kernels needs. */
struct q8_store {
	const float *mult;   /* [np] */
	const int32_t *bias; /* [np], corrections folded in */
	struct q8_out o;
	const int8_t *lut; /* NULL: none */
	int vbmi;          /* the VNNI kernels look the table up with vpermi2b (chosen at create) */
	int int_clamp;     /* every |acc * mult| < 2^30: the packs' saturation replaces the float clamp */
	int32_t lo8, hi8;  /* the output clamp in the output's integer domain */
	const int8_t *res; /* residual base (row-major [m][n]); NULL: none */
	struct q8_addk add;
};

/* Scalar finish of one channel: table, residual. */
static inline int8_t finish1(int32_t y, const struct q8_store *s, const int8_t *res_elem)
{
	if (s->lut)
		y = s->lut[(uint8_t)(int8_t)y];
	if (s->res)
		y = add1(y, *res_elem, &s->add);
	return (int8_t)y;
}

/* ---- References ---------------------------------------------------------------------------- */

void effc_rt_q8_gemm_ref(const struct effc_rt_q8_gemm *p, const int8_t *w, const int32_t *bias, const int8_t *a,
			 const int8_t *residual, int8_t *c)
{
	const struct q8_out o = out_consts_act(p->out.zero_point, p->out_min, p->out_max, p->act, p->out.scale);
	struct q8_store s = {0};
	s.lut = p->lut;
	s.res = p->residual ? residual : NULL;
	if (p->residual)
		s.add = add_consts(p->residual);
	for (size_t j = 0; j < p->n; j++) {
		const float mult = multiplier(p->in.scale, p->w_scale[j], p->out.scale);
		for (size_t i = 0; i < p->m; i++) {
			int64_t acc = bias ? bias[j] : 0;
			for (size_t q = 0; q < p->k; q++)
				acc += (int64_t)(a[i * p->k + q] - p->in.zero_point) * w[j * p->k + q];
			c[i * p->n + j] = finish1(requant((int32_t)acc, mult, &o), &s, s.res ? s.res + i * p->n + j : NULL);
		}
	}
}

void effc_rt_q8_dw_ref(const struct effc_rt_q8_dw *p, const int8_t *w, const int32_t *bias, const int8_t *x,
		       int8_t *y)
{
	const struct q8_out o = out_consts_act(p->out.zero_point, p->out_min, p->out_max, p->act, p->out.scale);
	const struct q8_store s = {.lut = p->lut};
	const size_t C = (size_t)p->c;
	for (int ch = 0; ch < p->c; ch++) {
		const float mult = multiplier(p->in.scale, p->w_scale[ch], p->out.scale);
		for (int b = 0; b < p->batch; b++)
			for (int oy = 0; oy < p->out_h; oy++)
				for (int ox = 0; ox < p->out_w; ox++) {
					int64_t acc = bias ? bias[ch] : 0;
					for (int ky = 0; ky < p->kh; ky++)
						for (int kx = 0; kx < p->kw; kx++) {
							const int iy = oy * p->sh - p->pad_top + ky, ix = ox * p->sw - p->pad_left + kx;
							if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
								continue; /* padding: the zero point, i.e. 0 after the subtraction */
							const int8_t v = x[(((size_t)b * p->in_h + iy) * p->in_w + ix) * C + ch];
							acc += (int64_t)(v - p->in.zero_point) * w[((size_t)ch * p->kh + ky) * p->kw + kx];
						}
					y[(((size_t)b * p->out_h + oy) * p->out_w + ox) * C + ch] =
						finish1(requant((int32_t)acc, mult, &o), &s, NULL);
				}
	}
}

static float gap_multiplier(const struct effc_rt_q8_gap *p)
{
	return p->in.scale / (p->out.scale * (float)p->hw); /* float, as ONNX Runtime's QLinearGlobalAveragePool */
}

void effc_rt_q8_gap_ref(const struct effc_rt_q8_gap *p, const int8_t *x, int8_t *y)
{
	const struct q8_out o = out_consts(p->out.zero_point, p->out_min, p->out_max);
	const float mult = gap_multiplier(p);
	for (size_t b = 0; b < p->batch; b++)
		for (size_t ch = 0; ch < p->c; ch++) {
			int64_t acc = -(int64_t)p->hw * p->in.zero_point;
			for (size_t i = 0; i < p->hw; i++)
				acc += x[(b * p->hw + i) * p->c + ch];
			y[b * p->c + ch] = (int8_t)requant((int32_t)acc, mult, &o);
		}
}

void effc_rt_q8_add_ref(const struct effc_rt_q8_add *p, size_t n, const int8_t *a, const int8_t *b, int8_t *y)
{
	const struct q8_addk k = add_consts(p);
	for (size_t i = 0; i < n; i++)
		y[i] = (int8_t)add1(a[i], b[i], &k);
}

/* The multiply's constants: m = (float)(sa * sb / so), zero points, output clamp. */
struct q8_mulk {
	float m;
	int32_t za, zb;
	struct q8_out o;
};

static struct q8_mulk mul_consts(const struct effc_rt_q8_mul *p)
{
	struct q8_mulk k;
	k.m = multiplier(p->a.scale, p->b.scale, p->out.scale);
	k.za = p->a.zero_point;
	k.zb = p->b.zero_point;
	k.o = out_consts(p->out.zero_point, p->out_min, p->out_max);
	return k;
}

/* |(a - za)(b - zb)| <= 255 * 255 < 2^24, so the product converts to float exactly and the
 * kernels may form it as the float product of the two converted differences. */
static inline int32_t mul1(int32_t a, int32_t b, const struct q8_mulk *k)
{
	float v = (float)((a - k->za) * (b - k->zb)) * k->m;
	v = fminf(fmaxf(v, k->o.lo_f), k->o.hi_f);
	return (int32_t)lrintf(v) + k->o.zp;
}

void effc_rt_q8_mul_ref(const struct effc_rt_q8_mul *p, const int8_t *a, const int8_t *b, int8_t *y)
{
	const struct q8_mulk k = mul_consts(p);
	for (size_t bt = 0; bt < p->batch; bt++)
		for (size_t r = 0; r < p->rows; r++)
			for (size_t ch = 0; ch < p->c; ch++) {
				const size_t i = (bt * p->rows + r) * p->c + ch;
				y[i] = (int8_t)mul1(a[i], b[p->broadcast ? bt * p->c + ch : i], &k);
			}
}

void effc_rt_q8_conv_ref(const struct effc_rt_q8_conv *p, const int8_t *w, const int32_t *bias, const int8_t *x,
			 const int8_t *residual, int8_t *y)
{
	const struct q8_out o = out_consts_act(p->out.zero_point, p->out_min, p->out_max, p->act, p->out.scale);
	struct q8_store s = {0};
	s.lut = p->lut;
	s.res = p->residual ? residual : NULL;
	if (p->residual)
		s.add = add_consts(p->residual);
	const size_t C = (size_t)p->in_c, OC = (size_t)p->out_c;
	for (int oc = 0; oc < p->out_c; oc++) {
		const float mult = multiplier(p->in.scale, p->w_scale[oc], p->out.scale);
		const int8_t *wo = w + (size_t)oc * p->kh * p->kw * C;
		for (int b = 0; b < p->batch; b++)
			for (int oy = 0; oy < p->out_h; oy++)
				for (int ox = 0; ox < p->out_w; ox++) {
					int64_t acc = bias ? bias[oc] : 0;
					for (int ky = 0; ky < p->kh; ky++)
						for (int kx = 0; kx < p->kw; kx++) {
							const int iy = oy * p->sh - p->pad_top + ky * p->dh;
							const int ix = ox * p->sw - p->pad_left + kx * p->dw;
							if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
								continue; /* padding: the zero point, i.e. 0 after the subtraction */
							const int8_t *xv = x + (((size_t)b * p->in_h + iy) * p->in_w + ix) * C;
							const int8_t *wv = wo + ((size_t)ky * p->kw + kx) * C;
							for (size_t ci = 0; ci < C; ci++)
								acc += (int64_t)(xv[ci] - p->in.zero_point) * wv[ci];
						}
					const size_t i = (((size_t)b * p->out_h + oy) * p->out_w + ox) * OC + (size_t)oc;
					y[i] = finish1(requant((int32_t)acc, mult, &o), &s, s.res ? s.res + i : NULL);
				}
	}
}

/* QuantizeLinear of one value. The clamp before rounding equals saturation after it (the bounds
 * are integers) and keeps infinities and huge quotients in int32 range. */
static inline int32_t quant1(float x, float scale, const struct q8_out *o)
{
	float v = x / scale;
	if (isnan(v))
		v = 0; /* NaN quantizes to the zero point */
	v = fminf(fmaxf(v, o->lo_f), o->hi_f);
	return (int32_t)lrintf(v) + o->zp;
}

void effc_rt_q8_quantize_ref(struct effc_rt_q8_quant q, size_t n, const float *x, int8_t *y)
{
	const struct q8_out o = out_consts(q.zero_point, -128, 127);
	for (size_t i = 0; i < n; i++)
		y[i] = (int8_t)quant1(x[i], q.scale, &o);
}

void effc_rt_q8_dequantize_ref(struct effc_rt_q8_quant q, size_t n, const int8_t *x, float *y)
{
	for (size_t i = 0; i < n; i++)
		y[i] = (float)(x[i] - q.zero_point) * q.scale;
}

/* ---- GEMM paths ---------------------------------------------------------------------------- */

struct q8_gemm_k {
	size_t m, n, k, np, kg;
	const int8_t *a, *panels;
	int8_t *c;
	struct q8_store s;
};

/* REF on the packed weights: rows [i0, i1), channels [n0, n1). The bias already holds -za*wsum. */
static void gemm_ref_rows(const struct q8_gemm_k *g, size_t i0, size_t i1, size_t n0, size_t n1)
{
	for (size_t i = i0; i < i1; i++)
		for (size_t j = n0; j < n1; j++) {
			int32_t acc = g->s.bias[j];
			const int8_t *pw = g->panels + (j / 16) * g->kg * 64 + (j % 16) * 4;
			for (size_t q = 0; q < g->k; q++)
				acc += g->a[i * g->k + q] * pw[(q / 4) * 64 + q % 4];
			g->c[i * g->n + j] = finish1(requant(acc, g->s.mult[j], &g->s.o), &g->s,
						     g->s.res ? g->s.res + i * g->n + j : NULL);
		}
}

#ifdef Q8_X86
static inline uint32_t load_u32(const int8_t *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}

/* Four activation bytes of row `row` at k group `grp` as one word; the k tail reads only the row's
 * bytes (the rest is 0, against zero weights). */
static inline uint32_t a_word(const struct q8_gemm_k *g, const int8_t *row, size_t grp)
{
	uint32_t w = 0;
	const size_t q = grp * 4;
	if (q + 4 <= g->k)
		memcpy(&w, row + q, 4); /* a constant size: one load */
	else
		memcpy(&w, row + q, g->k - q);
	return w;
}

/* effc_rt_q8_sigmoid and act1 on 8 lanes: the same operations in the same order. */
Q8_AVX2_INLINE __m256 avx2_sigmoid8(__m256 y)
{
	const __m256 t = _mm256_min_ps(_mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(), y), _mm256_set1_ps(-Q8_EXP_MAX)),
				       _mm256_set1_ps(Q8_EXP_MAX));
	const __m256 n = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(Q8_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-Q8_LN2_HI), t);
	r = _mm256_fmadd_ps(n, _mm256_set1_ps(-Q8_LN2_LO), r);
	__m256 q = _mm256_fmadd_ps(_mm256_set1_ps(Q8_EXP_C6), r, _mm256_set1_ps(Q8_EXP_C5));
	q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(Q8_EXP_C4));
	q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(Q8_EXP_C3));
	q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(Q8_EXP_C2));
	q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f));
	q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f));
	const __m256 two_n = _mm256_castsi256_ps(
		_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
	const __m256 one = _mm256_set1_ps(1.0f);
	return _mm256_div_ps(one, _mm256_add_ps(one, _mm256_mul_ps(q, two_n)));
}

Q8_AVX2_INLINE __m256 avx2_act8(__m256 v, const struct q8_out *o)
{
	const __m256 y = _mm256_mul_ps(v, _mm256_set1_ps(o->so));
	__m256 g;
	if (o->act == EFFC_RT_Q8_ACT_SWISH)
		g = avx2_sigmoid8(y);
	else
		g = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(y, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f)),
						_mm256_setzero_ps()),
				  _mm256_set1_ps(1.0f));
	return _mm256_mul_ps(v, g);
}

/* Store step for 8 channels (AVX2): requantization in registers, table and residual per element. */
Q8_AVX2_INLINE void avx2_store8(__m256i acc, const struct q8_store *s, size_t n0, size_t nc, const int8_t *res_row,
				int8_t *out_row)
{
	acc = _mm256_add_epi32(acc, _mm256_loadu_si256((const __m256i *)(s->bias + n0)));
	__m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(s->mult + n0));
	if (s->o.act)
		v = avx2_act8(v, &s->o);
	v = _mm256_min_ps(_mm256_set1_ps(s->o.hi_f), _mm256_max_ps(_mm256_set1_ps(s->o.lo_f), v));
	const __m256i q = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(s->o.zp));
	if (!s->lut && !res_row) {
		/* Values are in [-128, 127] already: the saturating packs only narrow. */
		const __m256i w16 = _mm256_packs_epi32(q, q);           /* [q0..3 q0..3 | q4..7 q4..7] */
		const __m256i b8 = _mm256_packs_epi16(w16, w16);        /* bytes q0..3 in lane 0, q4..7 in lane 1 */
		const __m128i bytes = _mm_unpacklo_epi32(_mm256_castsi256_si128(b8), _mm256_extracti128_si256(b8, 1));
		int64_t out8 = _mm_cvtsi128_si64(bytes);
		memcpy(out_row + n0, &out8, nc);
		return;
	}
	int32_t t[8];
	_mm256_storeu_si256((__m256i *)t, q);
	for (size_t j = 0; j < nc; j++)
		out_row[n0 + j] = finish1(t[j], s, res_row ? res_row + n0 + j : NULL);
}

/* Rows [i0, i0+mr) (mr <= 2) x one 16-channel panel: vpmaddwd on sign-extended int16, each int32
 * lane summing two k of one channel; a horizontal add at the end. No saturation anywhere. */
Q8_AVX2_INLINE void avx2_tile(const struct q8_gemm_k *g, size_t i0, int mr, size_t panel)
{
	__m256i acc[2][4];
	for (int r = 0; r < 2; r++)
		for (int q = 0; q < 4; q++)
			acc[r][q] = _mm256_setzero_si256();
	const int8_t *b = g->panels + panel * g->kg * 64;
	for (size_t grp = 0; grp < g->kg; grp++) {
		__m256i w[4];
		for (int q = 0; q < 4; q++)
			w[q] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + grp * 64 + 16 * q)));
		for (int r = 0; r < mr; r++) {
			const __m256i av =
				_mm256_cvtepi8_epi16(_mm_set1_epi32((int)a_word(g, g->a + (i0 + r) * g->k, grp)));
			for (int q = 0; q < 4; q++)
				acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(av, w[q]));
		}
	}
	const size_t n0 = panel * 16, nc = g->n - n0 < 16 ? g->n - n0 : 16;
	for (int r = 0; r < mr; r++) {
		const size_t i = i0 + r;
		const int8_t *res_row = g->s.res ? g->s.res + i * g->n : NULL;
		/* hadd of [c0 c0 c1 c1 | c2 c2 c3 c3] and the next four gives [c0 c1 c4 c5 | c2 c3 c6 c7]. */
		const __m256i lo = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8);
		avx2_store8(lo, &g->s, n0, nc < 8 ? nc : 8, res_row, g->c + i * g->n);
		if (nc > 8) {
			const __m256i hi = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2], acc[r][3]), 0xD8);
			avx2_store8(hi, &g->s, n0 + 8, nc - 8, res_row, g->c + i * g->n);
		}
	}
}

Q8_AVX2_FN static void gemm_avx2_rows(const struct q8_gemm_k *g, size_t i0, size_t i1, size_t p0, size_t p1)
{
	for (size_t p = p0; p < p1; p++) {
		size_t i = i0;
		for (; i + 2 <= i1; i += 2)
			avx2_tile(g, i, 2, p);
		if (i < i1)
			avx2_tile(g, i, 1, p);
	}
}

/* vpermi2b as inline assembly: the kernels keep their AVX-512 VNNI target (a CPU with VNNI but
 * no VBMI runs them too) and only run this where create found VBMI. Each byte of idx selects one
 * of the 128 bytes of (t0, t1) by its low 7 bits. */
Q8_VNNI_INLINE __m512i q8_perm2b(__m512i idx, __m512i t0, __m512i t1)
{
	__asm__("vpermi2b %2, %1, %0" : "+v"(idx) : "v"(t0), "v"(t1));
	return idx;
}

/* The 256-entry table in four registers. */
struct q8_tab {
	__m512i t[4];
};

Q8_VNNI_INLINE struct q8_tab q8_tab_load(const int8_t *lut)
{
	struct q8_tab tb;
	for (int i = 0; i < 4; i++)
		tb.t[i] = lut ? _mm512_loadu_si512(lut + 64 * i) : _mm512_setzero_si512();
	return tb;
}

/* Every byte x of v replaced by lut[(uint8_t)x]: two 128-byte lookups, blended on bit 7. */
Q8_VNNI_INLINE __m512i q8_lookup64(__m512i v, const struct q8_tab *tb)
{
	const __m512i lo = q8_perm2b(v, tb->t[0], tb->t[1]);
	const __m512i hi = q8_perm2b(v, tb->t[2], tb->t[3]);
	return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), lo, hi);
}

/* effc_rt_q8_sigmoid and act1 on 16 lanes: the same operations in the same order. */
Q8_VNNI_INLINE __m512 vnni_sigmoid16(__m512 y)
{
	const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(), y), _mm512_set1_ps(-Q8_EXP_MAX)),
				       _mm512_set1_ps(Q8_EXP_MAX));
	const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(Q8_LOG2E)),
					      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-Q8_LN2_HI), t);
	r = _mm512_fmadd_ps(n, _mm512_set1_ps(-Q8_LN2_LO), r);
	__m512 q = _mm512_fmadd_ps(_mm512_set1_ps(Q8_EXP_C6), r, _mm512_set1_ps(Q8_EXP_C5));
	q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(Q8_EXP_C4));
	q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(Q8_EXP_C3));
	q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(Q8_EXP_C2));
	q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f));
	q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f));
	const __m512 two_n = _mm512_castsi512_ps(
		_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
	const __m512 one = _mm512_set1_ps(1.0f);
	return _mm512_div_ps(one, _mm512_add_ps(one, _mm512_mul_ps(q, two_n)));
}

Q8_VNNI_INLINE __m512 vnni_act16(__m512 v, const struct q8_out *o)
{
	const __m512 y = _mm512_mul_ps(v, _mm512_set1_ps(o->so));
	__m512 g;
	if (o->act == EFFC_RT_Q8_ACT_SWISH)
		g = vnni_sigmoid16(y);
	else
		g = _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(y, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f)),
						_mm512_setzero_ps()),
				  _mm512_set1_ps(1.0f));
	return _mm512_mul_ps(v, g);
}

/* Store step for 16 channels (AVX-512): requantization, table (vpermi2b with VBMI, else per
 * element), residual add in registers, masked byte store. acc holds the bias already (the
 * kernels start their sums from it). */
Q8_VNNI_INLINE void vnni_store16(__m512i acc, const struct q8_store *s, const struct q8_tab *tb, size_t n0, size_t nc,
				 const int8_t *res_row, int8_t *out_row)
{
	const __mmask16 mask = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
	__m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(s->mult + n0));
	if (s->o.act)
		v = vnni_act16(v, &s->o);
	v = _mm512_min_ps(_mm512_set1_ps(s->o.hi_f), _mm512_max_ps(_mm512_set1_ps(s->o.lo_f), v));
	__m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(s->o.zp));
	if (s->lut) {
		if (s->vbmi) {
			/* The low byte of each lane is the index; the lookup leaves the entry there. */
			q = q8_lookup64(q, tb);
			if (res_row)
				q = _mm512_srai_epi32(_mm512_slli_epi32(q, 24), 24);
		} else {
			int32_t t[16];
			_mm512_storeu_si512(t, q);
			for (size_t j = 0; j < nc; j++)
				t[j] = s->lut[(uint8_t)(int8_t)t[j]];
			q = _mm512_loadu_si512(t);
		}
	}
	if (res_row) {
		const struct q8_addk *k = &s->add;
		const __m512i r = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, res_row + n0));
		const __m512 ya = _mm512_cvtepi32_ps(_mm512_sub_epi32(q, _mm512_set1_epi32(k->za)));
		const __m512 rb = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(r, _mm512_set1_epi32(k->zb))),
						_mm512_set1_ps(k->rb));
		__m512 sum = _mm512_fmadd_ps(ya, _mm512_set1_ps(k->ra), rb);
		sum = _mm512_min_ps(_mm512_set1_ps(k->o.hi_f), _mm512_max_ps(_mm512_set1_ps(k->o.lo_f), sum));
		q = _mm512_add_epi32(_mm512_cvtps_epi32(sum), _mm512_set1_epi32(k->o.zp));
	}
	_mm_mask_storeu_epi8(out_row + n0, mask, _mm512_cvtepi32_epi8(q));
}

/* The store step of four 16-lane accumulators without a residual, as 64 bytes [a0 a1 a2 a3]:
 * multiply, the float clamp (skipped where create proved |acc * m| < 2^30, the packs' saturation
 * and a byte clamp giving the same result), round, two saturating packs with the zero point added
 * in int16 (exact: the values are within [-255, 255] or saturate outside the int8 range either
 * way), the lanes back in order, then the table on all 64 bytes at once. */
Q8_VNNI_INLINE __m512i vnni_requant4(__m512i a0, __m512i a1, __m512i a2, __m512i a3, __m512 m0, __m512 m1, __m512 m2,
				     __m512 m3, const struct q8_store *s, const struct q8_tab *tb)
{
	__m512 f0 = _mm512_mul_ps(_mm512_cvtepi32_ps(a0), m0), f1 = _mm512_mul_ps(_mm512_cvtepi32_ps(a1), m1);
	__m512 f2 = _mm512_mul_ps(_mm512_cvtepi32_ps(a2), m2), f3 = _mm512_mul_ps(_mm512_cvtepi32_ps(a3), m3);
	if (s->o.act) {
		f0 = vnni_act16(f0, &s->o);
		f1 = vnni_act16(f1, &s->o);
		f2 = vnni_act16(f2, &s->o);
		f3 = vnni_act16(f3, &s->o);
	}
	if (!s->int_clamp) {
		const __m512 lo = _mm512_set1_ps(s->o.lo_f), hi = _mm512_set1_ps(s->o.hi_f);
		f0 = _mm512_min_ps(hi, _mm512_max_ps(lo, f0));
		f1 = _mm512_min_ps(hi, _mm512_max_ps(lo, f1));
		f2 = _mm512_min_ps(hi, _mm512_max_ps(lo, f2));
		f3 = _mm512_min_ps(hi, _mm512_max_ps(lo, f3));
	}
	const __m512i zp = _mm512_set1_epi16((short)s->o.zp);
	const __m512i w01 = _mm512_adds_epi16(_mm512_packs_epi32(_mm512_cvtps_epi32(f0), _mm512_cvtps_epi32(f1)), zp);
	const __m512i w23 = _mm512_adds_epi16(_mm512_packs_epi32(_mm512_cvtps_epi32(f2), _mm512_cvtps_epi32(f3)), zp);
	__m512i b = _mm512_packs_epi16(w01, w23); /* 128-bit lane l: dwords a0[4l..], a1[4l..], a2[4l..], a3[4l..] */
	if (s->int_clamp && (s->lo8 > -128 || s->hi8 < 127)) /* packsswb saturated to the int8 range already */
		b = _mm512_min_epi8(_mm512_max_epi8(b, _mm512_set1_epi8((char)s->lo8)), _mm512_set1_epi8((char)s->hi8));
	b = _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), b);
	if (s->lut) {
		if (s->vbmi) {
			b = q8_lookup64(b, tb);
		} else {
			int8_t t[64];
			_mm512_storeu_si512(t, b);
			for (int j = 0; j < 64; j++)
				t[j] = s->lut[(uint8_t)t[j]];
			b = _mm512_loadu_si512(t);
		}
	}
	return b;
}

/* Rows [i0, i0+mr) (mr <= MR) x panels [p, p+NP): vpdpbusd of (a + 128) as unsigned bytes
 * against the signed weights, four k per lane; the sums start from the bias, which holds
 * -(za + 128) * wsum. MR x NP <= 16 accumulators (8 x 2, or 8 x 1 when one panel is left), the
 * weight vectors and a broadcast fit AVX-512's 32 registers. MR and NP are constants. */
Q8_VNNI_INLINE void vnni_tile(const struct q8_gemm_k *g, size_t i0, int mr, size_t p, const int MR, const int NP)
{
	__m512i acc[8][2];
	const __m512i bias0 = _mm512_loadu_si512(g->s.bias + p * 16);
	const __m512i bias1 = NP > 1 ? _mm512_loadu_si512(g->s.bias + p * 16 + 16) : _mm512_setzero_si512();
#pragma GCC unroll 16
	for (int r = 0; r < MR; r++)
		acc[r][0] = bias0, acc[r][1] = bias1;
	const int8_t *b0 = g->panels + p * g->kg * 64, *b1 = b0 + g->kg * 64;
	const __m512i flip = _mm512_set1_epi32((int)0x80808080u);
	const size_t full = g->k / 4; /* groups of four real k; then at most one partial group */
	const int8_t *a0 = g->a + i0 * g->k;
	const size_t k = g->k;
	/* Rows past mr (a row tail) repeat the last row: the k loops have no branches (GCC spilled an
	 * accumulator around them), and the store step writes only the mr real rows. */
	const int8_t *ar[8];
#pragma GCC unroll 8
	for (int r = 0; r < MR; r++)
		ar[r] = a0 + (size_t)(r < mr ? r : mr - 1) * k;
	if (NP == 1) {
		/* One panel: eight named accumulators (from the array, GCC keeps them in memory here). */
		__m512i c0 = bias0, c1 = bias0, c2 = bias0, c3 = bias0, c4 = bias0, c5 = bias0, c6 = bias0, c7 = bias0;
#define Q8_ROW1(r, cr, word_expr)                                                                    \
	{                                                                                            \
		const __m512i av = _mm512_xor_si512(_mm512_set1_epi32((int)(word_expr)), flip);     \
		cr = _mm512_dpbusd_epi32(cr, av, w0);                                               \
	}
#define Q8_ROWS1(word_of)                                                                            \
	Q8_ROW1(0, c0, word_of(0)) Q8_ROW1(1, c1, word_of(1)) Q8_ROW1(2, c2, word_of(2)) Q8_ROW1(3, c3, word_of(3)) \
	Q8_ROW1(4, c4, word_of(4)) Q8_ROW1(5, c5, word_of(5)) Q8_ROW1(6, c6, word_of(6)) Q8_ROW1(7, c7, word_of(7))
		for (size_t grp = 0; grp < full; grp++) {
			const __m512i w0 = _mm512_loadu_si512(b0 + grp * 64);
#define Q8_WORD_FULL(r) load_u32(ar[r] + grp * 4)
			Q8_ROWS1(Q8_WORD_FULL)
#undef Q8_WORD_FULL
		}
		if (full < g->kg) {
			const __m512i w0 = _mm512_loadu_si512(b0 + full * 64);
#define Q8_WORD_TAIL(r) a_word(g, ar[r], full)
			Q8_ROWS1(Q8_WORD_TAIL)
#undef Q8_WORD_TAIL
		}
#undef Q8_ROWS1
#undef Q8_ROW1
		acc[0][0] = c0, acc[1][0] = c1, acc[2][0] = c2, acc[3][0] = c3;
		acc[4][0] = c4, acc[5][0] = c5, acc[6][0] = c6, acc[7][0] = c7;
	}
	for (size_t grp = 0; NP > 1 && grp < full; grp++) {
		const __m512i w0 = _mm512_loadu_si512(b0 + grp * 64);
		const __m512i w1 = NP > 1 ? _mm512_loadu_si512(b1 + grp * 64) : _mm512_setzero_si512();
#pragma GCC unroll 16
		for (int r = 0; r < MR; r++) {
			const __m512i av = _mm512_xor_si512(_mm512_set1_epi32((int)load_u32(ar[r] + grp * 4)), flip);
			acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, w0);
			if (NP > 1)
				acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, w1);
		}
	}
	if (NP > 1 && full < g->kg) {
		const __m512i w0 = _mm512_loadu_si512(b0 + full * 64);
		const __m512i w1 = NP > 1 ? _mm512_loadu_si512(b1 + full * 64) : _mm512_setzero_si512();
#pragma GCC unroll 16
		for (int r = 0; r < MR; r++) {
			const __m512i av = _mm512_xor_si512(_mm512_set1_epi32((int)a_word(g, ar[r], full)), flip);
			acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, w0);
			if (NP > 1)
				acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, w1);
		}
	}
	/* The sums go through memory to the store step: their registers' live ranges end with the k
	 * loops (else GCC, short of registers in the store step, spills an accumulator inside the k
	 * loop, which then waits on a store and a load every group). */
	_Alignas(64) int32_t sums[8][2][16];
#pragma GCC unroll 8
	for (int r = 0; r < MR; r++)
		for (int h = 0; h < NP; h++)
			_mm512_store_si512(sums[r][h], acc[r][h]);
	__asm__ volatile("" : : "r"(sums) : "memory");
#pragma GCC unroll 8
	for (int r = 0; r < MR; r++)
		for (int h = 0; h < NP; h++)
			acc[r][h] = _mm512_load_si512(sums[r][h]);
	/* The table's four registers only now. */
	const struct q8_tab tb = q8_tab_load(g->s.vbmi ? g->s.lut : NULL);
	if (!g->s.res) {
		const size_t n0 = p * 16;
		const __m512 m0 = _mm512_loadu_ps(g->s.mult + n0);
		if (NP > 1) {
			/* Two rows x 32 channels per store step. */
			const size_t nt = g->n - n0 < 32 ? g->n - n0 : 32;
			const __mmask32 mask = nt >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << nt) - 1);
			const __m512 m1 = _mm512_loadu_ps(g->s.mult + n0 + 16);
#pragma GCC unroll 8
			for (int r = 0; r < MR; r += 2) {
				if (r < mr) {
					int8_t *row = g->c + (i0 + r) * g->n + n0;
					const __m512i b = vnni_requant4(acc[r][0], acc[r][1], acc[r + 1][0], acc[r + 1][1], m0, m1, m0,
									m1, &g->s, &tb);
					if (nt == 32) {
						_mm256_storeu_si256((__m256i *)row, _mm512_castsi512_si256(b));
						if (r + 1 < mr)
							_mm256_storeu_si256((__m256i *)(row + g->n), _mm512_extracti64x4_epi64(b, 1));
					} else {
						_mm256_mask_storeu_epi8(row, mask, _mm512_castsi512_si256(b));
						if (r + 1 < mr)
							_mm256_mask_storeu_epi8(row + g->n, mask, _mm512_extracti64x4_epi64(b, 1));
					}
				}
			}
		} else {
			/* Four rows x 16 channels per store step. */
			const size_t nt = g->n - n0 < 16 ? g->n - n0 : 16;
			const __mmask16 mask = (__mmask16)((1u << nt) - 1);
#pragma GCC unroll 4
			for (int r = 0; r < MR; r += 4) {
				if (r < mr) {
					int8_t *row = g->c + (i0 + r) * g->n + n0;
					const __m512i b = vnni_requant4(acc[r][0], acc[r + 1][0], acc[r + 2][0], acc[r + 3][0], m0, m0,
									m0, m0, &g->s, &tb);
					_mm_mask_storeu_epi8(row, mask, _mm512_castsi512_si128(b));
					if (r + 1 < mr)
						_mm_mask_storeu_epi8(row + g->n, mask, _mm512_extracti32x4_epi32(b, 1));
					if (r + 2 < mr)
						_mm_mask_storeu_epi8(row + 2 * g->n, mask, _mm512_extracti32x4_epi32(b, 2));
					if (r + 3 < mr)
						_mm_mask_storeu_epi8(row + 3 * g->n, mask, _mm512_extracti32x4_epi32(b, 3));
				}
			}
		}
		return;
	}
#pragma GCC unroll 16
	for (int r = 0; r < MR; r++) {
		if (r >= mr)
			break;
		const size_t i = i0 + r;
		const int8_t *res_row = g->s.res + i * g->n;
#pragma GCC unroll 2
		for (int h = 0; h < NP; h++) {
			const size_t n0 = (p + h) * 16, nc = g->n - n0 < 16 ? g->n - n0 : 16;
			vnni_store16(acc[r][h], &g->s, &tb, n0, nc, res_row, g->c + i * g->n);
		}
	}
}

/* The two tile shapes as functions of their own, so that the store step's constants are not
 * hoisted out into the row loops, where they would take the accumulators' registers. */
Q8_VNNI_FN __attribute__((noinline)) static void vnni_tile_8x2(const struct q8_gemm_k *g, size_t i0, int mr, size_t p)
{
	vnni_tile(g, i0, mr, p, 8, 2);
}

Q8_VNNI_FN __attribute__((noinline)) static void vnni_tile_8x1(const struct q8_gemm_k *g, size_t i0, int mr, size_t p)
{
	vnni_tile(g, i0, mr, p, 8, 1);
}

Q8_VNNI_FN static void gemm_vnni_rows(const struct q8_gemm_k *g, size_t i0, size_t i1, size_t p0, size_t p1)
{
	/* One instance per tile shape, the row count a run-time value even for whole tiles: with a
	 * constant one GCC shuffles the accumulators between registers in the k loop. */
	size_t p = p0;
	for (; p + 2 <= p1; p += 2)
		for (size_t i = i0; i < i1; i += 8)
			vnni_tile_8x2(g, i, i1 - i < 8 ? (int)(i1 - i) : 8, p);
	if (p < p1)
		for (size_t i = i0; i < i1; i += 8)
			vnni_tile_8x1(g, i, i1 - i < 8 ? (int)(i1 - i) : 8, p);
}
#endif

static void gemm_task(const struct effc_rt_q8_op *op, size_t t)
{
	const struct q8_gemm_k *g = op->packed;
	const size_t panels = g->np / 16, groups = (panels + GEMM_PANEL_GROUP - 1) / GEMM_PANEL_GROUP;
	const size_t rt_ = t / groups, pg = t % groups;
	const size_t i0 = rt_ * GEMM_ROW_TILE, i1 = i0 + GEMM_ROW_TILE < g->m ? i0 + GEMM_ROW_TILE : g->m;
	const size_t p0 = pg * GEMM_PANEL_GROUP, p1 = p0 + GEMM_PANEL_GROUP < panels ? p0 + GEMM_PANEL_GROUP : panels;
	switch (op->path) {
#ifdef Q8_X86
	case EFFC_RT_Q8_VNNI:
		gemm_vnni_rows(g, i0, i1, p0, p1);
		return;
	case EFFC_RT_Q8_AVX2:
		gemm_avx2_rows(g, i0, i1, p0, p1);
		return;
#endif
	default:
		gemm_ref_rows(g, i0, i1, p0 * 16, p1 * 16 < g->n ? p1 * 16 : g->n);
	}
}

static size_t gemm_tasks(const struct q8_gemm_k *g)
{
	const size_t panels = g->np / 16;
	return (g->m + GEMM_ROW_TILE - 1) / GEMM_ROW_TILE * ((panels + GEMM_PANEL_GROUP - 1) / GEMM_PANEL_GROUP);
}

/* ---- Depthwise paths ----------------------------------------------------------------------- */

#define DW_CG 128      /* channels per task at most of the VNNI depthwise kernel on small maps */
#define DW_SPLIT_ROWS 32 /* maps of fewer output rows (batch x height) split their channels */

struct q8_dw_k {
	struct effc_rt_q8_dw p;
	size_t cp;
	size_t cgroups; /* channel groups: tasks = cgroups * batch * out_h (VNNI; 1 on the others) */
	size_t cgsize;  /* channels per group, a multiple of 16 */
	const int32_t *w; /* [taps][cp], low 16 bits */
	const int8_t *x, *zrow;
	int8_t *y;
	struct q8_store s;
};

/* Pointer to the input pixel under tap (ky, kx) of output (b, oy, ox), or the zero-point row. */
static inline const int8_t *dw_src(const struct q8_dw_k *d, int b, int oy, int ox, int ky, int kx)
{
	const int iy = oy * d->p.sh - d->p.pad_top + ky, ix = ox * d->p.sw - d->p.pad_left + kx;
	if (iy < 0 || iy >= d->p.in_h || ix < 0 || ix >= d->p.in_w)
		return d->zrow;
	return d->x + (((size_t)b * d->p.in_h + iy) * d->p.in_w + ix) * (size_t)d->p.c;
}

#define DW_MAX_TAPS 64 /* the kernels' tap table; larger kernels run dw_ref_row */

/* The source pointers of every tap of output (b, oy, ox), computed once per pixel for all its
 * channel blocks. */
static inline void dw_taps(const struct q8_dw_k *d, int b, int oy, int ox, const int8_t **src)
{
	for (int ky = 0; ky < d->p.kh; ky++)
		for (int kx = 0; kx < d->p.kw; kx++)
			src[ky * d->p.kw + kx] = dw_src(d, b, oy, ox, ky, kx);
}

/* REF on the packed weights: padded taps read the zero point, cancelled by the bias's
 * -zi * wsum, as in the kernels. */
static void dw_ref_row(const struct q8_dw_k *d, int b, int oy)
{
	const size_t C = (size_t)d->p.c;
	for (int ox = 0; ox < d->p.out_w; ox++) {
		int8_t *dst = d->y + (((size_t)b * d->p.out_h + oy) * d->p.out_w + ox) * C;
		for (size_t ch = 0; ch < C; ch++) {
			int32_t acc = d->s.bias[ch];
			for (int ky = 0; ky < d->p.kh; ky++)
				for (int kx = 0; kx < d->p.kw; kx++)
					acc += dw_src(d, b, oy, ox, ky, kx)[ch] *
					       (int16_t)(uint16_t)d->w[(size_t)(ky * d->p.kw + kx) * d->cp + ch];
			dst[ch] = finish1(requant(acc, d->s.mult[ch], &d->s.o), &d->s, NULL);
		}
	}
}

#ifdef Q8_X86
Q8_AVX2_FN static void dw_avx2_row(const struct q8_dw_k *d, int b, int oy)
{
	const size_t C = (size_t)d->p.c;
	for (int ox = 0; ox < d->p.out_w; ox++) {
		int8_t *dst = d->y + (((size_t)b * d->p.out_h + oy) * d->p.out_w + ox) * C;
		const int8_t *srcs[DW_MAX_TAPS];
		const int taps = d->p.kh * d->p.kw;
		dw_taps(d, b, oy, ox, srcs);
		for (size_t c0 = 0; c0 < C; c0 += 8) {
			const size_t nc = C - c0 < 8 ? C - c0 : 8;
			__m256i acc = _mm256_setzero_si256();
			for (int t = 0; t < taps; t++) {
				const int8_t *src = srcs[t] + c0;
				int64_t bytes = 0;
				if (nc == 8)
					memcpy(&bytes, src, 8);
				else
					memcpy(&bytes, src, nc);
				const __m256i xv = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
				const __m256i wv = _mm256_loadu_si256((const __m256i *)(d->w + (size_t)t * d->cp + c0));
				acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xv, wv));
			}
			avx2_store8(acc, &d->s, c0, nc, NULL, dst);
		}
	}
}

/* One output pixel, every channel, through its table of tap pointers (padded taps read the
 * zero-point row): the borders, and any kernel shape without a blocked version. */
Q8_VNNI_INLINE void dw_vnni_pixel(const struct q8_dw_k *d, int b, int oy, int ox, size_t cb0, size_t C,
				  const struct q8_tab *tb, int8_t *dst)
{
	const int8_t *srcs[DW_MAX_TAPS];
	const int taps = d->p.kh * d->p.kw;
	dw_taps(d, b, oy, ox, srcs);
	for (size_t c0 = cb0; c0 < C; c0 += 16) {
		const size_t nc = C - c0 < 16 ? C - c0 : 16;
		const __mmask16 mask = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
		__m512i acc = _mm512_loadu_si512(d->s.bias + c0);
		for (int t = 0; t < taps; t++) {
			const __m512i xv = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, srcs[t] + c0));
			const __m512i wv = _mm512_loadu_si512(d->w + (size_t)t * d->cp + c0);
			acc = _mm512_dpwssd_epi32(acc, xv, wv);
		}
		vnni_store16(acc, &d->s, tb, c0, nc, NULL, dst);
	}
}

#define DW_PB 8 /* output pixels per block of the interior kernel */

/* PB interior output pixels (every tap inside the row horizontally) from input column ix0 on, 16
 * channels at c0: rows[ky] is the input row of tap row ky at channel c0 (the zero-point row with
 * pixel step 0 when the row is padding). Each input vector is loaded once and multiplied into
 * every output of the block that reads it (input j feeds output p through tap kx = j - p*SW);
 * KW, SW and PB are constants, so the loops unroll into straight code. */
Q8_VNNI_INLINE void dw_vnni_block(const struct q8_dw_k *d, const int8_t *const *rows, const size_t *step, int ix0,
				  const int KH, const int KW, const int SW, const int PB, const int FULL, const int CHECK, size_t c0, __mmask16 mask,
				  const struct q8_tab *tb, int8_t *dst, size_t C)
{
	__m512i acc[DW_PB];
	const __m512i bias = _mm512_loadu_si512(d->s.bias + c0);
#pragma GCC unroll 8
	for (int p = 0; p < PB; p++)
		acc[p] = bias;
	const int span = (PB - 1) * SW + KW;
	for (int ky = 0; ky < KH; ky++) {
		const int8_t *r = rows[ky] + (ptrdiff_t)ix0 * (ptrdiff_t)step[ky];
		const size_t st = step[ky];
		__m512i w[7];
#pragma GCC unroll 8
		for (int kx = 0; kx < KW; kx++)
			w[kx] = _mm512_loadu_si512(d->w + (size_t)(ky * KW + kx) * d->cp + c0);
#pragma GCC unroll 24
		for (int j = 0; j < span; j++) {
			/* Whole blocks load plainly (the load folds into vpmovsxbd); the channel tail masked. */
			const int8_t *src = r + (ptrdiff_t)j * (ptrdiff_t)st;
			if (CHECK && (unsigned)(ix0 + j) >= (unsigned)d->p.in_w)
				src = d->zrow + c0; /* a padding column */
			const __m128i xb = FULL ? _mm_loadu_si128((const __m128i *)src) : _mm_maskz_loadu_epi8(mask, src);
			const __m512i xv = _mm512_cvtepi8_epi32(xb);
#pragma GCC unroll 8
			for (int kx = 0; kx < KW; kx++) {
				const int q = j - kx;
				if (q >= 0 && q % SW == 0 && q / SW < PB)
					acc[q / SW] = _mm512_dpwssd_epi32(acc[q / SW], xv, w[kx]);
			}
		}
	}
	/* Four pixels per store step; a block of 5 to 7 (or 1 to 3) repeats its last pixel in the
	 * unused lanes and stores only its own. Single pixels keep the one-vector store. */
	if (PB == 1) {
		vnni_store16(acc[0], &d->s, tb, c0, (size_t)__builtin_popcount(mask), NULL, dst);
		return;
	}
	const __m512 m = _mm512_loadu_ps(d->s.mult + c0);
#pragma GCC unroll 2
	for (int p = 0; p < PB; p += 4) {
		const __m512i b = vnni_requant4(acc[p], acc[p + 1 < PB ? p + 1 : PB - 1], acc[p + 2 < PB ? p + 2 : PB - 1],
						acc[p + 3 < PB ? p + 3 : PB - 1], m, m, m, m, &d->s, tb);
		int8_t *o = dst + (size_t)p * C + c0;
		if (FULL) {
			_mm_storeu_si128((__m128i *)o, _mm512_castsi512_si128(b));
			if (p + 1 < PB)
				_mm_storeu_si128((__m128i *)(o + C), _mm512_extracti32x4_epi32(b, 1));
			if (p + 2 < PB)
				_mm_storeu_si128((__m128i *)(o + 2 * C), _mm512_extracti32x4_epi32(b, 2));
			if (p + 3 < PB)
				_mm_storeu_si128((__m128i *)(o + 3 * C), _mm512_extracti32x4_epi32(b, 3));
		} else {
			_mm_mask_storeu_epi8(o, mask, _mm512_castsi512_si128(b));
			if (p + 1 < PB)
				_mm_mask_storeu_epi8(o + C, mask, _mm512_extracti32x4_epi32(b, 1));
			if (p + 2 < PB)
				_mm_mask_storeu_epi8(o + 2 * C, mask, _mm512_extracti32x4_epi32(b, 2));
			if (p + 3 < PB)
				_mm_mask_storeu_epi8(o + 3 * C, mask, _mm512_extracti32x4_epi32(b, 3));
		}
	}
}

/* A whole output row for a kernel shape known at compile time: channel blocks outermost (their
 * weights stay in L1), then blocks of 8 pixels and one of the rest; blocks with a tap in the left or right
 * padding ([0, ox_lo) and [ox_hi, out_w)) check each input column and read the zero-point row
 * there, the others read straight. */
Q8_VNNI_INLINE void dw_vnni_rowk(const struct q8_dw_k *d, const int8_t *const *rows, const size_t *step, int ox_lo,
				 int ox_hi, const int KH, const int KW, const int SW, size_t cb0, size_t cb1,
				 const struct q8_tab *tb, int8_t *dst_row)
{
	const size_t C = (size_t)d->p.c; /* the pixel stride */
	const int W = d->p.out_w, pl = d->p.pad_left;
	for (size_t c0 = cb0; c0 < cb1; c0 += 16) {
		const size_t nc = cb1 - c0 < 16 ? cb1 - c0 : 16;
		const __mmask16 mask = nc >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nc) - 1);
		const int8_t *rc[7];
		for (int ky = 0; ky < KH; ky++)
			rc[ky] = rows[ky] + (step[ky] ? c0 : 0);
		int ox = 0;
		const int full = nc == 16;
		for (; ox + DW_PB <= W; ox += DW_PB) {
			int8_t *o = dst_row + (size_t)ox * C;
			const int inner = ox >= ox_lo && ox + DW_PB <= ox_hi;
			if (inner && full)
				dw_vnni_block(d, rc, step, ox * SW - pl, KH, KW, SW, DW_PB, 1, 0, c0, mask, tb, o, C);
			else if (inner)
				dw_vnni_block(d, rc, step, ox * SW - pl, KH, KW, SW, DW_PB, 0, 0, c0, mask, tb, o, C);
			else if (full)
				dw_vnni_block(d, rc, step, ox * SW - pl, KH, KW, SW, DW_PB, 1, 1, c0, mask, tb, o, C);
			else
				dw_vnni_block(d, rc, step, ox * SW - pl, KH, KW, SW, DW_PB, 0, 1, c0, mask, tb, o, C);
		}
		/* The rest of the row (1 to 7 pixels, the right border: checked) as one block. */
		int8_t *o = dst_row + (size_t)ox * C;
		const int ix = ox * SW - pl;
#define Q8_DW_REST(n)                                                                                      \
	case n:                                                                                              \
		if (full)                                                                                    \
			dw_vnni_block(d, rc, step, ix, KH, KW, SW, n, 1, 1, c0, mask, tb, o, C);             \
		else                                                                                         \
			dw_vnni_block(d, rc, step, ix, KH, KW, SW, n, 0, 1, c0, mask, tb, o, C);             \
		break;
		switch (W - ox) {
			Q8_DW_REST(1)
			Q8_DW_REST(2)
			Q8_DW_REST(3)
			Q8_DW_REST(4)
			Q8_DW_REST(5)
			Q8_DW_REST(6)
			Q8_DW_REST(7)
		default:
			break;
		}
#undef Q8_DW_REST
	}
}

/* The shapes as functions of their own (registers allocated per shape, no constants hoisted
 * across the dispatch). */
#define Q8_DW_SHAPE(name, KH_, KW_, SW_)                                                                          \
	Q8_VNNI_FN __attribute__((noinline)) static void name(const struct q8_dw_k *d, const int8_t *const *rows,        \
							      const size_t *step, int ox_lo, int ox_hi, size_t cb0,       \
							      size_t cb1, const struct q8_tab *tb, int8_t *dst_row)       \
	{                                                                                                        \
		dw_vnni_rowk(d, rows, step, ox_lo, ox_hi, KH_, KW_, SW_, cb0, cb1, tb, dst_row);                 \
	}
Q8_DW_SHAPE(dw_vnni_3x3s1, 3, 3, 1)
Q8_DW_SHAPE(dw_vnni_3x3s2, 3, 3, 2)
Q8_DW_SHAPE(dw_vnni_5x5s1, 5, 5, 1)
Q8_DW_SHAPE(dw_vnni_5x5s2, 5, 5, 2)
#undef Q8_DW_SHAPE

/* Output row oy of batch entry b, channels [cb0, cb1) (cb0 a multiple of 16). */
Q8_VNNI_FN static void dw_vnni_row(const struct q8_dw_k *d, int b, int oy, size_t cb0, size_t cb1)
{
	const size_t C = (size_t)d->p.c;
	const struct q8_tab tb = q8_tab_load(d->s.vbmi ? d->s.lut : NULL);
	int8_t *dst_row = d->y + ((size_t)b * d->p.out_h + oy) * d->p.out_w * C;
	const int kh = d->p.kh, kw = d->p.kw, sw = d->p.sw;
	if (!(((kh == 3 && kw == 3) || (kh == 5 && kw == 5)) && (sw == 1 || sw == 2))) {
		for (int ox = 0; ox < d->p.out_w; ox++)
			dw_vnni_pixel(d, b, oy, ox, cb0, cb1, &tb, dst_row + (size_t)ox * C);
		return;
	}
	/* Interior columns [ox_lo, ox_hi): every tap of the kernel row inside the input. */
	const int ox_lo = (d->p.pad_left + sw - 1) / sw;
	const int ox_hi = d->p.in_w - kw + d->p.pad_left >= 0 ? (d->p.in_w - kw + d->p.pad_left) / sw + 1 : 0;
	const int8_t *rows[7];
	size_t step[7];
	for (int ky = 0; ky < kh; ky++) {
		const int iy = oy * d->p.sh - d->p.pad_top + ky;
		if (iy < 0 || iy >= d->p.in_h) {
			rows[ky] = d->zrow, step[ky] = 0;
		} else {
			rows[ky] = d->x + ((size_t)b * d->p.in_h + iy) * d->p.in_w * C;
			step[ky] = C;
		}
	}
	if (kh == 3 && sw == 1)
		dw_vnni_3x3s1(d, rows, step, ox_lo, ox_hi, cb0, cb1, &tb, dst_row);
	else if (kh == 3)
		dw_vnni_3x3s2(d, rows, step, ox_lo, ox_hi, cb0, cb1, &tb, dst_row);
	else if (sw == 1)
		dw_vnni_5x5s1(d, rows, step, ox_lo, ox_hi, cb0, cb1, &tb, dst_row);
	else
		dw_vnni_5x5s2(d, rows, step, ox_lo, ox_hi, cb0, cb1, &tb, dst_row);
}
#endif

static void channel_sums(enum effc_rt_q8_path path, const int8_t *x, size_t hw, size_t c, size_t c0, size_t c1,
			 int32_t *sums);

static void dw_task(const struct effc_rt_q8_op *op, size_t t)
{
	const struct q8_dw_k *d = op->packed;
	/* Consecutive tasks: the rows of one channel group, whose weights then stay in L1. */
	const size_t rows = (size_t)d->p.batch * (size_t)d->p.out_h;
	const size_t cg = t / rows; /* always 0 on the paths other than VNNI */
	size_t cb0 = 0, cb1 = (size_t)d->p.c;
	(void)cg;
	t %= rows;
	const int b = (int)(t / (size_t)d->p.out_h), oy = (int)(t % (size_t)d->p.out_h);
	if (d->p.kh * d->p.kw > DW_MAX_TAPS) {
		dw_ref_row(d, b, oy); /* same bits, by the plain loop */
	} else {
		switch (op->path) {
#ifdef Q8_X86
		case EFFC_RT_Q8_VNNI:
			cb0 = cg * d->cgsize, cb1 = cb0 + d->cgsize < (size_t)d->p.c ? cb0 + d->cgsize : (size_t)d->p.c;
			dw_vnni_row(d, b, oy, cb0, cb1);
			break;
		case EFFC_RT_Q8_AVX2:
			dw_avx2_row(d, b, oy);
			break;
#endif
		default:
			dw_ref_row(d, b, oy);
		}
	}
	if (op->row_sums) /* the row just written, from L1, for the GAP after (effc_rt_q8_gap_from_dw) */
		channel_sums(op->path, d->y + t * (size_t)d->p.out_w * (size_t)d->p.c, (size_t)d->p.out_w, (size_t)d->p.c,
			     cb0, cb1, op->row_sums + t * (size_t)d->p.c + cb0);
}

/* ---- Dense convolution paths --------------------------------------------------------------- */

/* A band of output pixels is unrolled (im2col) into a buffer on the task's stack, rows of kp
 * bytes in the packed weights' k order (ky, kx, ci), padded taps holding the input zero point and
 * the k tail zero (against zero weights); then the GEMM tiles run on the band. The buffer is
 * small enough for any thread's stack and for L1 at the stem's k. */
#define CONV_BAND_BYTES 32768 /* im2col bytes per task; create refuses kp beyond it */
#define CONV_BAND_ROWS 64     /* output pixels per task at most */
#define CONV_SLACK 16         /* bytes past the band that the 16-byte copies may write */

struct q8_conv_k {
	struct effc_rt_q8_conv p;
	size_t K, kp, band, M; /* real and padded k, pixels per task, pixels in all */
	const int8_t *x, *x_end;
	struct q8_gemm_k g; /* the GEMM over a band: m, a, c and s.res set per task */
};

/* Copies len input bytes; a short run goes as whole 16-byte moves when the source has them
 * (the extra bytes land in the rest of the row or the slack, and are overwritten in order). */
static inline void conv_copy(const struct q8_conv_k *cv, int8_t *dst, const int8_t *src, size_t len)
{
	if (len <= 32 && (size_t)(cv->x_end - src) >= 32) {
		memcpy(dst, src, 16);
		if (len > 16)
			memcpy(dst + 16, src + 16, 16);
	} else {
		memcpy(dst, src, len);
	}
}

static void conv_im2col(const struct q8_conv_k *cv, size_t i0, size_t i1, int8_t *buf)
{
	const struct effc_rt_q8_conv *p = &cv->p;
	const size_t C = (size_t)p->in_c, hw = (size_t)p->out_h * (size_t)p->out_w, seg = (size_t)p->kw * C;
	const int zp = (int)(int8_t)p->in.zero_point;
	/* The pixel's coordinates by increments: two divisions per pixel cost as much as its copies. */
	size_t b = i0 / hw;
	int oy = (int)(i0 % hw / (size_t)p->out_w), ox = (int)(i0 % hw % (size_t)p->out_w);
	for (size_t i = i0; i < i1; i++, ox++) {
		if (ox == p->out_w) {
			ox = 0;
			if (++oy == p->out_h)
				oy = 0, b++;
		}
		int8_t *row = buf + (i - i0) * cv->kp;
		const int iy0 = oy * p->sh - p->pad_top, ix0 = ox * p->sw - p->pad_left;
		for (int ky = 0; ky < p->kh; ky++) {
			int8_t *dst = row + (size_t)ky * seg;
			const int iy = iy0 + ky * p->dh;
			if (iy < 0 || iy >= p->in_h) {
				memset(dst, zp, seg);
				continue;
			}
			const int8_t *src = cv->x + (b * (size_t)p->in_h + (size_t)iy) * (size_t)p->in_w * C;
			if (p->dw == 1 && ix0 >= 0 && ix0 + p->kw <= p->in_w) {
				conv_copy(cv, dst, src + (size_t)ix0 * C, seg); /* the kernel row is contiguous */
				continue;
			}
			for (int kx = 0; kx < p->kw; kx++) {
				const int ix = ix0 + kx * p->dw;
				if (ix < 0 || ix >= p->in_w)
					memset(dst + (size_t)kx * C, zp, C);
				else
					conv_copy(cv, dst + (size_t)kx * C, src + (size_t)ix * C, C);
			}
		}
		for (size_t q = cv->K; q < cv->kp; q++) /* at most 3 bytes: no call */
			row[q] = 0;
	}
}

static void conv_task(const struct effc_rt_q8_op *op, size_t t)
{
	const struct q8_conv_k *cv = op->packed;
	_Alignas(64) int8_t buf[CONV_BAND_BYTES + CONV_SLACK];
	const size_t i0 = t * cv->band, i1 = i0 + cv->band < cv->M ? i0 + cv->band : cv->M;
	conv_im2col(cv, i0, i1, buf);
	struct q8_gemm_k g = cv->g;
	g.m = i1 - i0;
	g.a = buf;
	g.c += i0 * g.n;
	if (g.s.res)
		g.s.res += i0 * g.n;
	switch (op->path) {
#ifdef Q8_X86
	case EFFC_RT_Q8_VNNI:
		gemm_vnni_rows(&g, 0, g.m, 0, g.np / 16);
		return;
	case EFFC_RT_Q8_AVX2:
		gemm_avx2_rows(&g, 0, g.m, 0, g.np / 16);
		return;
#endif
	default:
		gemm_ref_rows(&g, 0, g.m, 0, g.n);
	}
}

/* ---- Elementwise paths: multiply, quantize, dequantize ------------------------------------- */

#ifdef Q8_X86
/* y[i] = mul1(a[i], b) for 16 lanes with gate (float)(b - zb) in g: the product of the two exact
 * float differences is the exact integer product, then the reference's multiply, clamp, round. */
Q8_VNNI_INLINE void mul_vnni16(const int8_t *a, __m512 g, const struct q8_mulk *k, __mmask16 mask, int8_t *y)
{
	const __m512i av = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, a));
	const __m512 d = _mm512_cvtepi32_ps(_mm512_sub_epi32(av, _mm512_set1_epi32(k->za)));
	__m512 v = _mm512_mul_ps(_mm512_mul_ps(d, g), _mm512_set1_ps(k->m));
	v = _mm512_min_ps(_mm512_set1_ps(k->o.hi_f), _mm512_max_ps(_mm512_set1_ps(k->o.lo_f), v));
	const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), _mm512_set1_epi32(k->o.zp));
	_mm_mask_storeu_epi8(y, mask, _mm512_cvtepi32_epi8(q));
}

#define MUL_GATES_MAX 4096 /* channels of the 64-wide broadcast multiply (its gates on the stack) */

/* Broadcast: rows of c channels against one row of float gates. Where no |product * m| can reach
 * 2^30 (|(a - za)(b - zb)| <= 255^2), 64 channels per step: the integer product (exact) through
 * the GEMM's four-vector store step, which does the reference's float multiply, round and clamp. */
Q8_VNNI_FN static void mul_vnni_rows(const int8_t *a, const float *g, size_t rows, size_t c, const struct q8_mulk *k,
				     int8_t *y)
{
	if (65025.0 * (double)k->m < 1073741824.0 && c <= MUL_GATES_MAX) {
		struct q8_store st = {0};
		st.o = k->o;
		st.int_clamp = 1;
		st.lo8 = (int32_t)k->o.lo_f + k->o.zp, st.hi8 = (int32_t)k->o.hi_f + k->o.zp;
		const __m512 m = _mm512_set1_ps(k->m);
		const __m512i za = _mm512_set1_epi32(k->za);
		/* The gates as int32 once per task (exact: they are integers). */
		_Alignas(64) int32_t gi[MUL_GATES_MAX + 64];
		for (size_t ch = 0; ch < c; ch += 16)
			_mm512_store_si512(gi + ch, _mm512_cvtps_epi32(_mm512_maskz_loadu_ps(
							    c - ch >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (c - ch)) - 1), g + ch)));
		const size_t c64 = c & ~(size_t)63;
		for (size_t ch = round_up(c, 16); ch < c64 + 64; ch += 16) /* the last step's unused lanes */
			_mm512_store_si512(gi + ch, _mm512_setzero_si512());
		for (size_t r = 0; r < rows; r++, a += c, y += c) {
			for (size_t ch = 0; ch < c64; ch += 64) {
				__m512i prod[4];
				for (int q = 0; q < 4; q++) {
					const __m512i av =
						_mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(a + ch + 16 * q))), za);
					prod[q] = _mm512_mullo_epi32(av, _mm512_load_si512(gi + ch + 16 * q));
				}
				_mm512_storeu_si512(y + ch, vnni_requant4(prod[0], prod[1], prod[2], prod[3], m, m, m, m, &st, NULL));
			}
			if (c64 < c) {
				__m512i prod[4];
				for (int q = 0; q < 4; q++) {
					const size_t lo = c64 + 16 * (size_t)q;
					const size_t nq = lo >= c ? 0 : c - lo >= 16 ? 16 : c - lo;
					const __mmask16 mq = (__mmask16)((1u << nq) - 1);
					const __m512i av = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mq, a + lo)), za);
					prod[q] = _mm512_mullo_epi32(av, _mm512_load_si512(gi + lo));
				}
				const __m512i b = vnni_requant4(prod[0], prod[1], prod[2], prod[3], m, m, m, m, &st, NULL);
				_mm512_mask_storeu_epi8(y + c64, ((__mmask64)1 << (c - c64)) - 1, b);
			}
		}
		return;
	}
	for (size_t r = 0; r < rows; r++, a += c, y += c) {
		size_t ch = 0;
		for (; ch + 16 <= c; ch += 16)
			mul_vnni16(a + ch, _mm512_loadu_ps(g + ch), k, (__mmask16)0xFFFF, y + ch);
		if (ch < c) {
			const __mmask16 mask = (__mmask16)((1u << (c - ch)) - 1);
			mul_vnni16(a + ch, _mm512_maskz_loadu_ps(mask, g + ch), k, mask, y + ch);
		}
	}
}

/* Same shape: the gates converted from b on the fly. */
Q8_VNNI_FN static void mul_vnni_pairs(const int8_t *a, const int8_t *b, size_t n, const struct q8_mulk *k, int8_t *y)
{
	for (size_t i = 0; i < n; i += 16) {
		const __mmask16 mask = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		const __m512i bv = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, b + i));
		mul_vnni16(a + i, _mm512_cvtepi32_ps(_mm512_sub_epi32(bv, _mm512_set1_epi32(k->zb))), k, mask, y + i);
	}
}

/* GAP: int32 sums over the rows of channels [c0, c1), 64 channels at a time. */
Q8_VNNI_FN static void gap_vnni_sums(const int8_t *x, size_t hw, size_t c, size_t c0, size_t c1, int32_t *sums)
{
	for (size_t ch = c0; ch < c1; ch += 64) {
		__mmask16 m[4];
		for (int q = 0; q < 4; q++) {
			const size_t lo = ch + 16 * (size_t)q;
			const size_t nq = lo >= c1 ? 0 : c1 - lo >= 16 ? 16 : c1 - lo;
			m[q] = (__mmask16)((1u << nq) - 1);
		}
		__m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
				  _mm512_setzero_si512()};
		const int8_t *p = x + ch;
		for (size_t i = 0; i < hw; i++, p += c)
			for (int q = 0; q < 4; q++)
				acc[q] = _mm512_add_epi32(acc[q], _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m[q], p + 16 * q)));
		for (int q = 0; q < 4; q++)
			_mm512_mask_storeu_epi32(sums + (ch - c0) + 16 * (size_t)q, m[q], acc[q]);
	}
}

Q8_AVX2_FN static void gap_avx2_sums(const int8_t *x, size_t hw, size_t c, size_t c0, size_t c1, int32_t *sums)
{
	for (size_t ch = c0; ch < c1; ch += 8) {
		const size_t nc = c1 - ch < 8 ? c1 - ch : 8;
		__m256i acc = _mm256_setzero_si256();
		const int8_t *p = x + ch;
		for (size_t i = 0; i < hw; i++, p += c) {
			int64_t bytes = 0;
			if (nc == 8)
				memcpy(&bytes, p, 8);
			else
				memcpy(&bytes, p, nc);
			acc = _mm256_add_epi32(acc, _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes)));
		}
		int32_t t[8];
		_mm256_storeu_si256((__m256i *)t, acc);
		memcpy(sums + (ch - c0), t, nc * sizeof(int32_t));
	}
}

/* Add: 16 lanes, the reference's fmaf as an FMA instruction. */
Q8_VNNI_FN static void add_vnni(const struct q8_addk *k, size_t n, const int8_t *a, const int8_t *b, int8_t *y)
{
	const __m512i za = _mm512_set1_epi32(k->za), zb = _mm512_set1_epi32(k->zb), zo = _mm512_set1_epi32(k->o.zp);
	const __m512 ra = _mm512_set1_ps(k->ra), rb = _mm512_set1_ps(k->rb);
	const __m512 lo = _mm512_set1_ps(k->o.lo_f), hi = _mm512_set1_ps(k->o.hi_f);
	for (size_t i = 0; i < n; i += 16) {
		const __mmask16 mask = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		const __m512i av = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, a + i));
		const __m512i bv = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, b + i));
		const __m512 bb = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(bv, zb)), rb);
		__m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(av, za)), ra, bb);
		v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
		_mm_mask_storeu_epi8(y + i, mask, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(v), zo)));
	}
}

/* The table op with VBMI: 64 bytes per lookup, a masked tail. */
Q8_VNNI_FN static void lut_vbmi(const int8_t *lut, const int8_t *x, size_t n, int8_t *y)
{
	const struct q8_tab tb = q8_tab_load(lut);
	size_t i = 0;
	for (; i + 64 <= n; i += 64)
		_mm512_storeu_si512(y + i, q8_lookup64(_mm512_loadu_si512(x + i), &tb));
	if (i < n) {
		const __mmask64 mask = ((__mmask64)1 << (n - i)) - 1;
		_mm512_mask_storeu_epi8(y + i, mask, q8_lookup64(_mm512_maskz_loadu_epi8(mask, x + i), &tb));
	}
}

/* Eight int32 lanes in [-128, 127] to eight bytes (the packs only narrow). */
Q8_AVX2_INLINE int64_t avx2_narrow8(__m256i q)
{
	const __m256i w16 = _mm256_packs_epi32(q, q);
	const __m256i b8 = _mm256_packs_epi16(w16, w16);
	return _mm_cvtsi128_si64(_mm_unpacklo_epi32(_mm256_castsi256_si128(b8), _mm256_extracti128_si256(b8, 1)));
}

Q8_AVX2_INLINE __m256 avx2_load8_i8_ps(const int8_t *p, size_t nc, int32_t z)
{
	int64_t bytes = 0;
	if (nc >= 8)
		memcpy(&bytes, p, 8);
	else
		memcpy(&bytes, p, nc);
	const __m256i v = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
	return _mm256_cvtepi32_ps(_mm256_sub_epi32(v, _mm256_set1_epi32(z)));
}

Q8_AVX2_INLINE void mul_avx2_8(const int8_t *a, __m256 g, const struct q8_mulk *k, size_t nc, int8_t *y)
{
	const __m256 d = avx2_load8_i8_ps(a, nc, k->za);
	__m256 v = _mm256_mul_ps(_mm256_mul_ps(d, g), _mm256_set1_ps(k->m));
	v = _mm256_min_ps(_mm256_set1_ps(k->o.hi_f), _mm256_max_ps(_mm256_set1_ps(k->o.lo_f), v));
	const int64_t out = avx2_narrow8(_mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(k->o.zp)));
	memcpy(y, &out, nc);
}

Q8_AVX2_FN static void mul_avx2_rows(const int8_t *a, const float *g, size_t rows, size_t c, const struct q8_mulk *k,
				     int8_t *y)
{
	for (size_t r = 0; r < rows; r++, a += c, y += c) {
		size_t ch = 0;
		for (; ch + 8 <= c; ch += 8)
			mul_avx2_8(a + ch, _mm256_loadu_ps(g + ch), k, 8, y + ch);
		if (ch < c) {
			float t[8] = {0};
			memcpy(t, g + ch, (c - ch) * sizeof(float));
			mul_avx2_8(a + ch, _mm256_loadu_ps(t), k, c - ch, y + ch);
		}
	}
}

Q8_AVX2_FN static void mul_avx2_pairs(const int8_t *a, const int8_t *b, size_t n, const struct q8_mulk *k, int8_t *y)
{
	for (size_t i = 0; i < n; i += 8) {
		const size_t nc = n - i < 8 ? n - i : 8;
		mul_avx2_8(a + i, avx2_load8_i8_ps(b + i, nc, k->zb), k, nc, y + i);
	}
}

Q8_AVX2_FN static void add_avx2(const struct q8_addk *k, size_t n, const int8_t *a, const int8_t *b, int8_t *y)
{
	const __m256 ra = _mm256_set1_ps(k->ra), rb = _mm256_set1_ps(k->rb);
	const __m256 lo = _mm256_set1_ps(k->o.lo_f), hi = _mm256_set1_ps(k->o.hi_f);
	for (size_t i = 0; i < n; i += 8) {
		const size_t nc = n - i < 8 ? n - i : 8;
		const __m256 bb = _mm256_mul_ps(avx2_load8_i8_ps(b + i, nc, k->zb), rb);
		__m256 v = _mm256_fmadd_ps(avx2_load8_i8_ps(a + i, nc, k->za), ra, bb);
		v = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
		const int64_t out = avx2_narrow8(_mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(k->o.zp)));
		memcpy(y + i, &out, nc);
	}
}

/* Quantize: the true division, NaN lanes zeroed (cvtps2dq would give INT32_MIN), then the
 * reference's clamp, round half to even (the default MXCSR mode) and zero point. */
Q8_VNNI_FN static void quant_vnni(const float *x, size_t n, float scale, const struct q8_out *o, int8_t *y)
{
	const __m512 s = _mm512_set1_ps(scale), lo = _mm512_set1_ps(o->lo_f), hi = _mm512_set1_ps(o->hi_f);
	const __m512i zp = _mm512_set1_epi32(o->zp);
	for (size_t i = 0; i < n; i += 16) {
		const __mmask16 mask = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		__m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(mask, x + i), s);
		v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
		v = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
		const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
		_mm_mask_storeu_epi8(y + i, mask, _mm512_cvtepi32_epi8(q));
	}
}

Q8_AVX2_FN static void quant_avx2(const float *x, size_t n, float scale, const struct q8_out *o, int8_t *y)
{
	const __m256 s = _mm256_set1_ps(scale), lo = _mm256_set1_ps(o->lo_f), hi = _mm256_set1_ps(o->hi_f);
	const __m256i zp = _mm256_set1_epi32(o->zp);
	for (size_t i = 0; i < n; i += 8) {
		const size_t nc = n - i < 8 ? n - i : 8;
		__m256 xv;
		if (nc == 8) {
			xv = _mm256_loadu_ps(x + i);
		} else {
			float t[8] = {0};
			memcpy(t, x + i, nc * sizeof(float));
			xv = _mm256_loadu_ps(t);
		}
		__m256 v = _mm256_div_ps(xv, s);
		v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
		v = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
		const int64_t out = avx2_narrow8(_mm256_add_epi32(_mm256_cvtps_epi32(v), zp));
		memcpy(y + i, &out, nc);
	}
}

Q8_VNNI_FN static void dequant_vnni(const int8_t *x, size_t n, struct effc_rt_q8_quant q, float *y)
{
	const __m512i zp = _mm512_set1_epi32(q.zero_point);
	const __m512 s = _mm512_set1_ps(q.scale);
	for (size_t i = 0; i < n; i += 16) {
		const __mmask16 mask = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
		const __m512i xv = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, x + i));
		_mm512_mask_storeu_ps(y + i, mask, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(xv, zp)), s));
	}
}

Q8_AVX2_FN static void dequant_avx2(const int8_t *x, size_t n, struct effc_rt_q8_quant q, float *y)
{
	const __m256 s = _mm256_set1_ps(q.scale);
	for (size_t i = 0; i < n; i += 8) {
		const size_t nc = n - i < 8 ? n - i : 8;
		const __m256 v = _mm256_mul_ps(avx2_load8_i8_ps(x + i, nc, q.zero_point), s);
		if (nc == 8) {
			_mm256_storeu_ps(y + i, v);
		} else {
			float t[8];
			_mm256_storeu_ps(t, v);
			memcpy(y + i, t, nc * sizeof(float));
		}
	}
}
#endif

/* Tasks of the multiply: ELEM_TILE elements, or for the broadcast whole rows of one batch entry. */
#define ELEM_TILE 4096 /* elements per task of the elementwise ops */

static size_t mul_rows_per_task(const struct effc_rt_q8_mul *p)
{
	return p->c >= ELEM_TILE ? 1 : ELEM_TILE / p->c;
}

static size_t mul_tasks(const struct effc_rt_q8_mul *p)
{
	if (!p->broadcast)
		return (p->batch * p->rows * p->c + ELEM_TILE - 1) / ELEM_TILE;
	const size_t rpt = mul_rows_per_task(p);
	return p->batch * ((p->rows + rpt - 1) / rpt);
}

static void mul_task(const struct effc_rt_q8_op *op, size_t t)
{
	const struct effc_rt_q8_mul *p = &op->p.mul;
	const struct q8_mulk k = mul_consts(p);
	if (!p->broadcast) {
		const size_t total = p->batch * p->rows * p->c, i0 = t * ELEM_TILE;
		const size_t n = total - i0 < ELEM_TILE ? total - i0 : ELEM_TILE;
		const int8_t *a = op->in + i0, *b = op->in2 + i0;
		int8_t *y = op->out + i0;
		switch (op->path) {
#ifdef Q8_X86
		case EFFC_RT_Q8_VNNI:
			mul_vnni_pairs(a, b, n, &k, y);
			return;
		case EFFC_RT_Q8_AVX2:
			mul_avx2_pairs(a, b, n, &k, y);
			return;
#endif
		default:
			for (size_t i = 0; i < n; i++)
				y[i] = (int8_t)mul1(a[i], b[i], &k);
		}
		return;
	}
	const size_t rpt = mul_rows_per_task(p), tiles = (p->rows + rpt - 1) / rpt;
	const size_t bt = t / tiles, r0 = t % tiles * rpt, rows = p->rows - r0 < rpt ? p->rows - r0 : rpt;
	const size_t off = (bt * p->rows + r0) * p->c;
	const int8_t *a = op->in + off, *b = op->in2 + bt * p->c;
	int8_t *y = op->out + off;
	switch (op->path) {
#ifdef Q8_X86
	case EFFC_RT_Q8_VNNI:
		mul_vnni_rows(a, op->mult + bt * p->c, rows, p->c, &k, y);
		return;
	case EFFC_RT_Q8_AVX2:
		mul_avx2_rows(a, op->mult + bt * p->c, rows, p->c, &k, y);
		return;
#endif
	default:
		for (size_t r = 0; r < rows; r++)
			for (size_t ch = 0; ch < p->c; ch++)
				y[r * p->c + ch] = (int8_t)mul1(a[r * p->c + ch], b[ch], &k);
	}
}

static void quant_task(const struct effc_rt_q8_op *op, size_t t)
{
	const size_t i0 = t * ELEM_TILE, n = op->n - i0 < ELEM_TILE ? op->n - i0 : ELEM_TILE;
#ifdef Q8_X86
	const struct q8_out o = out_consts(op->q.zero_point, -128, 127);
#endif
	switch (op->path) {
#ifdef Q8_X86
	case EFFC_RT_Q8_VNNI:
		quant_vnni(op->fin + i0, n, op->q.scale, &o, op->out + i0);
		return;
	case EFFC_RT_Q8_AVX2:
		quant_avx2(op->fin + i0, n, op->q.scale, &o, op->out + i0);
		return;
#endif
	default:
		effc_rt_q8_quantize_ref(op->q, n, op->fin + i0, op->out + i0);
	}
}

static void dequant_task(const struct effc_rt_q8_op *op, size_t t)
{
	const size_t i0 = t * ELEM_TILE, n = op->n - i0 < ELEM_TILE ? op->n - i0 : ELEM_TILE;
	switch (op->path) {
#ifdef Q8_X86
	case EFFC_RT_Q8_VNNI:
		dequant_vnni(op->in + i0, n, op->q, op->fout + i0);
		return;
	case EFFC_RT_Q8_AVX2:
		dequant_avx2(op->in + i0, n, op->q, op->fout + i0);
		return;
#endif
	default:
		effc_rt_q8_dequantize_ref(op->q, n, op->in + i0, op->fout + i0);
	}
}

#define GAP_CB 64 /* channels per task of the global average pooling */

/* Sums over hw pixels of channels [c0, c1) of x ([hw][c]) into sums[0, c1 - c0), by path. */
static void channel_sums(enum effc_rt_q8_path path, const int8_t *x, size_t hw, size_t c, size_t c0, size_t c1,
			 int32_t *sums)
{
	switch (path) {
#ifdef Q8_X86
	case EFFC_RT_Q8_VNNI:
		gap_vnni_sums(x, hw, c, c0, c1, sums);
		break;
	case EFFC_RT_Q8_AVX2:
		gap_avx2_sums(x, hw, c, c0, c1, sums);
		break;
#endif
	default:
		for (size_t ch = c0; ch < c1; ch++) {
			int32_t acc = 0;
			for (size_t i = 0; i < hw; i++)
				acc += x[i * c + ch];
			sums[ch - c0] = acc;
		}
	}
}

/* GAP task t: batch entry t / blocks, channels of block t % blocks; sums by the chosen path (or
 * from the depthwise's row sums), then the reference's requantization per channel. */
static void gap_task(const struct effc_rt_q8_op *op, size_t t)
{
	const struct effc_rt_q8_gap *p = &op->p.gap;
	const size_t blocks = (p->c + GAP_CB - 1) / GAP_CB, b = t / blocks, c0 = t % blocks * GAP_CB;
	const size_t c1 = c0 + GAP_CB < p->c ? c0 + GAP_CB : p->c;
	int32_t sums[GAP_CB];
	const struct effc_rt_q8_op *dw = op->sums_from;
	if (dw && dw->row_sums && dw->path != EFFC_RT_Q8_XNN) {
		const size_t rows = (size_t)dw->p.dw.out_h;
		const int32_t *rs = dw->row_sums + b * rows * p->c;
		for (size_t ch = c0; ch < c1; ch++)
			sums[ch - c0] = 0;
		for (size_t r = 0; r < rows; r++, rs += p->c)
			for (size_t ch = c0; ch < c1; ch++)
				sums[ch - c0] += rs[ch];
	} else {
		channel_sums(op->path, op->in + b * p->hw * p->c, p->hw, p->c, c0, c1, sums);
	}
	const struct q8_out o = out_consts(p->out.zero_point, p->out_min, p->out_max);
	const float mult = gap_multiplier(p);
	const int32_t zsum = (int32_t)p->hw * p->in.zero_point; /* |hw * zi| <= 2^23 * 128 */
	for (size_t ch = c0; ch < c1; ch++)
		op->out[b * p->c + ch] = (int8_t)requant(sums[ch - c0] - zsum, mult, &o);
}

/* ---- Creates ------------------------------------------------------------------------------- */

static int quant_ok(struct effc_rt_q8_quant q)
{
	return isnormal(q.scale) && q.scale > 0 && q.zero_point >= -128 && q.zero_point <= 127;
}

static int act_ok(enum effc_rt_q8_act act)
{
	return (unsigned)act <= EFFC_RT_Q8_ACT_HARDSWISH;
}

static int range_ok(int32_t lo, int32_t hi) { return lo >= -128 && lo <= hi && hi <= 127; }

static int mult_ok(float m) { return isnormal(m) && m > 0 && m < 1e30f; }

static int add_ok(const struct effc_rt_q8_add *p)
{
	return quant_ok(p->a) && quant_ok(p->b) && quant_ok(p->out) && range_ok(p->out_min, p->out_max);
}

static void *alloc_zero(size_t bytes)
{
	void *p = effc_rt_alloc(64, bytes ? bytes : 1);
	if (p)
		memset(p, 0, bytes ? bytes : 1);
	return p;
}

void effc_rt_q8_op_destroy(struct effc_rt_q8_op *op)
{
	if (!op)
		return;
	if (op->kind == EFFC_RT_Q8_GEMM || op->kind == EFFC_RT_Q8_DW || op->kind == EFFC_RT_Q8_CONV)
		effc_rt_free((void *)op->packed); /* the kernel struct; the weights are the caller's */
	if (op->mult)
		effc_rt_free(op->mult);
	if (op->bias)
		effc_rt_free(op->bias);
	if (op->zrow)
		effc_rt_free(op->zrow);
	if (op->row_sums)
		effc_rt_free(op->row_sums);
	effc_rt_q8_xnn_destroy(op);
	memset(op, 0, sizeof *op);
}

/* Multipliers (padded with 1) and the bias with the zero-point corrections of the chosen path:
 * -(za + 128) * wsum for VNNI's unsigned activations, -za * wsum otherwise. sum_bound bounds the
 * magnitude of the kernels' integer sums; a bias that could make a partial sum overflow int32 on
 * either correction is refused, so whether a model is accepted does not depend on the CPU. */
static int make_channel_consts(struct effc_rt_q8_op *op, size_t n, size_t np, float s_in, const float *w_scale,
			       float s_out, const int32_t *pbias, const int32_t *wsum, int32_t za, int vnni,
			       int64_t sum_bound)
{
	op->mult = effc_rt_alloc(64, np * sizeof(float));
	op->bias = effc_rt_alloc(64, np * sizeof(int32_t));
	if (!op->mult || !op->bias)
		return EFFC_RT_ERR_NOMEM;
	for (size_t j = 0; j < np; j++) {
		op->mult[j] = 1.0f;
		op->bias[j] = 0;
	}
	for (size_t j = 0; j < n; j++) {
		if (!(isfinite(w_scale[j]) && w_scale[j] > 0))
			return EFFC_RT_ERR_ARGS;
		op->mult[j] = multiplier(s_in, w_scale[j], s_out);
		if (!mult_ok(op->mult[j]))
			return EFFC_RT_ERR_ARGS;
		const int64_t b_plain = (int64_t)pbias[j] - (int64_t)za * wsum[j];
		const int64_t b_vnni = (int64_t)pbias[j] - (int64_t)(za + 128) * wsum[j];
		const int64_t lim = (int64_t)INT32_MAX - sum_bound;
		if (b_plain < -lim || b_plain > lim || b_vnni < -lim || b_vnni > lim)
			return EFFC_RT_ERR_ARGS;
		op->bias[j] = (int32_t)(vnni ? b_vnni : b_plain);
	}
	return EFFC_RT_OK;
}

/* The store step's integer clamp: where no |acc * mult| can reach 2^30 (acc within the folded
 * bias plus sum_bound), rounding first and saturating after gives the float clamp's result. */
static void store_clamp_consts(struct q8_store *s, size_t n, int64_t sum_bound, int32_t lo, int32_t hi)
{
	s->lo8 = lo, s->hi8 = hi;
	s->int_clamp = 1;
	for (size_t j = 0; j < n; j++)
		if ((fabs((double)s->bias[j]) + (double)sum_bound) * (double)s->mult[j] >= 1073741824.0)
			s->int_clamp = 0;
}

/* The store step of a GEMM, depthwise or dense convolution, after make_channel_consts: the
 * multipliers and biases, the output clamp, the table and the residual add (either may be NULL). */
static void store_init(struct effc_rt_q8_op *op, struct q8_store *s, int path, size_t n, int64_t sum_bound,
		       struct effc_rt_q8_quant out, int32_t lo, int32_t hi, enum effc_rt_q8_act act, const int8_t *lut,
		       const struct effc_rt_q8_add *res_p, const int8_t *residual)
{
	s->mult = op->mult, s->bias = op->bias;
	s->o = out_consts_act(out.zero_point, lo, hi, act, out.scale);
	store_clamp_consts(s, n, sum_bound, lo, hi);
	if (act)
		s->int_clamp = 0; /* the activation comes between the multiply and the clamp */
	if (lut) {
		memcpy(op->lut, lut, 256);
		op->has_lut = 1;
		s->lut = op->lut;
		s->vbmi = path == EFFC_RT_Q8_VNNI && effc_rt_q8_vbmi_available();
	}
	if (res_p) {
		op->add = *res_p;
		op->has_residual = 1;
		s->res = residual;
		s->add = add_consts(res_p);
	}
}

int effc_rt_q8_gemm_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_gemm *p,
			   const void *packed, const int8_t *a, const int8_t *residual, int8_t *c)
{
	(void)rt;
	if (!op)
		return EFFC_RT_ERR_ARGS;
	memset(op, 0, sizeof *op);
	if (!p || !packed || !a || !c || !p->w_scale || p->m == 0 || p->n == 0 || p->k == 0 ||
	    p->k > (1u << 16) || !quant_ok(p->in) || !quant_ok(p->out) || !range_ok(p->out_min, p->out_max) ||
	    !act_ok(p->act) ||
	    (p->residual && (!residual || !add_ok(p->residual))))
		return EFFC_RT_ERR_ARGS;
	const int xnn = want_xnn(p->path);
	const int path = choose_path(xnn ? EFFC_RT_Q8_AUTO : p->path);
	if (path < 0 || xnn < 0)
		return EFFC_RT_ERR_BACKEND;
	op->kind = EFFC_RT_Q8_GEMM;
	op->path = (enum effc_rt_q8_path)path;
	op->p.gemm = *p;
	op->in = a;
	op->in2 = residual;
	op->out = c;
	struct q8_gemm_k *g = alloc_zero(sizeof *g);
	op->packed = g;
	if (!g)
		return EFFC_RT_ERR_NOMEM;
	g->m = p->m, g->n = p->n, g->k = p->k, g->np = round_up(p->n, 16), g->kg = round_up(p->k, 4) / 4;
	const int32_t *pb = packed, *wsum = pb + g->np;
	g->panels = (const int8_t *)(wsum + g->np);
	g->a = a, g->c = c;
	int st = make_channel_consts(op, p->n, g->np, p->in.scale, p->w_scale, p->out.scale, pb, wsum,
				     p->in.zero_point, path == EFFC_RT_Q8_VNNI, (int64_t)p->k * 255 * 128);
	if (st != EFFC_RT_OK) {
		effc_rt_q8_op_destroy(op);
		return st;
	}
	store_init(op, &g->s, path, p->n, (int64_t)p->k * 255 * 128, p->out, p->out_min, p->out_max, p->act, p->lut,
		   p->residual, residual);
	if (xnn && (st = xnn_hook(effc_rt_q8_xnn_gemm_create(rt, op, p, packed))) != EFFC_RT_OK) {
		effc_rt_q8_op_destroy(op);
		return st;
	}
	op->p.gemm.lut = NULL, op->p.gemm.residual = NULL, op->p.gemm.w_scale = NULL; /* not kept */
	return EFFC_RT_OK;
}

int effc_rt_q8_dw_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_dw *p,
			 const void *packed, const int8_t *x, int8_t *y)
{
	(void)rt;
	if (!op)
		return EFFC_RT_ERR_ARGS;
	memset(op, 0, sizeof *op);
	if (!p || !packed || !x || !y || !p->w_scale || p->batch <= 0 || p->c <= 0 || p->in_h <= 0 || p->in_w <= 0 ||
	    p->out_h <= 0 || p->out_w <= 0 || p->kh <= 0 || p->kw <= 0 || p->kh * p->kw > 1024 || p->sh <= 0 ||
	    p->sw <= 0 || p->pad_top < 0 || p->pad_left < 0 || !quant_ok(p->in) || !quant_ok(p->out) ||
	    !range_ok(p->out_min, p->out_max) || !act_ok(p->act))
		return EFFC_RT_ERR_ARGS;
	const int xnn = want_xnn(p->path);
	const int path = choose_path(xnn ? EFFC_RT_Q8_AUTO : p->path);
	if (path < 0 || xnn < 0)
		return EFFC_RT_ERR_BACKEND;
	op->kind = EFFC_RT_Q8_DW;
	op->path = (enum effc_rt_q8_path)path;
	op->p.dw = *p;
	op->in = x, op->out = y;
	struct q8_dw_k *d = alloc_zero(sizeof *d);
	op->packed = d;
	if (!d)
		return EFFC_RT_ERR_NOMEM;
	d->p = *p;
	d->cp = round_up((size_t)p->c, 16);
	/* Channel groups (VNNI) where the map has few rows for the threads: at most DW_CG channels
	 * each, as even as whole 16-channel blocks allow. */
	d->cgroups = 1;
	if (path == EFFC_RT_Q8_VNNI && p->kh * p->kw <= DW_MAX_TAPS && (size_t)p->batch * p->out_h < DW_SPLIT_ROWS)
		d->cgroups = ((size_t)p->c + DW_CG - 1) / DW_CG;
	d->cgsize = round_up(((size_t)p->c + d->cgroups - 1) / d->cgroups, 16);
	d->cgroups = ((size_t)p->c + d->cgsize - 1) / d->cgsize;
	const int32_t *pb = packed, *wsum = pb + d->cp;
	d->w = wsum + d->cp;
	d->x = x, d->y = y;
	op->zrow = effc_rt_alloc(64, d->cp);
	int st = op->zrow ? EFFC_RT_OK : EFFC_RT_ERR_NOMEM;
	if (st == EFFC_RT_OK) {
		memset(op->zrow, (int)(int8_t)p->in.zero_point, d->cp);
		d->zrow = op->zrow;
		st = make_channel_consts(op, (size_t)p->c, d->cp, p->in.scale, p->w_scale, p->out.scale, pb, wsum,
					 p->in.zero_point, 0, (int64_t)p->kh * p->kw * 128 * 128);
	}
	if (st != EFFC_RT_OK) {
		effc_rt_q8_op_destroy(op);
		return st;
	}
	store_init(op, &d->s, path, (size_t)p->c, (int64_t)p->kh * p->kw * 128 * 128, p->out, p->out_min, p->out_max,
		   p->act, p->lut, NULL, NULL);
	if (xnn && (st = xnn_hook(effc_rt_q8_xnn_dw_create(rt, op, p, packed))) != EFFC_RT_OK) {
		effc_rt_q8_op_destroy(op);
		return st;
	}
	d->p.lut = NULL, d->p.w_scale = NULL, op->p.dw.lut = NULL, op->p.dw.w_scale = NULL;
	return EFFC_RT_OK;
}

int effc_rt_q8_gap_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_gap *p,
			  const int8_t *x, int8_t *y)
{
	(void)rt;
	if (!op)
		return EFFC_RT_ERR_ARGS;
	memset(op, 0, sizeof *op);
	if (!p || !x || !y || p->batch == 0 || p->hw == 0 || p->c == 0 || p->hw > (1u << 23) || !quant_ok(p->in) ||
	    !quant_ok(p->out) || !range_ok(p->out_min, p->out_max) || !mult_ok(gap_multiplier(p)))
		return EFFC_RT_ERR_ARGS;
	op->kind = EFFC_RT_Q8_GAP;
	op->path = (enum effc_rt_q8_path)choose_path(EFFC_RT_Q8_AUTO);
	op->p.gap = *p;
	op->in = x, op->out = y;
	return want_xnn(EFFC_RT_Q8_AUTO) ? xnn_hook(effc_rt_q8_xnn_elem_create(rt, op)) : EFFC_RT_OK;
}

int effc_rt_q8_gap_from_dw(struct effc_rt *rt, struct effc_rt_q8_op *gap, struct effc_rt_q8_op *dw)
{
	(void)rt;
	if (!gap || !dw || gap->kind != EFFC_RT_Q8_GAP || dw->kind != EFFC_RT_Q8_DW || gap->in != dw->out)
		return EFFC_RT_ERR_ARGS;
	const struct effc_rt_q8_dw *d = &dw->p.dw;
	const struct effc_rt_q8_gap *p = &gap->p.gap;
	if (p->batch != (size_t)d->batch || p->c != (size_t)d->c || p->hw != (size_t)d->out_h * (size_t)d->out_w)
		return EFFC_RT_ERR_ARGS;
	if (dw->path == EFFC_RT_Q8_XNN || gap->path == EFFC_RT_Q8_XNN || dw->row_sums)
		return EFFC_RT_OK; /* XNNPACK's kernels: the GAP reads the tensor; already fused: keep it */
	dw->row_sums = effc_rt_alloc(64, (size_t)d->batch * (size_t)d->out_h * (size_t)d->c * sizeof(int32_t));
	if (!dw->row_sums)
		return EFFC_RT_ERR_NOMEM;
	gap->sums_from = dw;
	return EFFC_RT_OK;
}

int effc_rt_q8_add_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_add *p, size_t n,
			  const int8_t *a, const int8_t *b, int8_t *y)
{
	(void)rt;
	if (!op)
		return EFFC_RT_ERR_ARGS;
	memset(op, 0, sizeof *op);
	if (!p || !a || !b || !y || !add_ok(p) || !mult_ok(add_consts(p).ra) || !mult_ok(add_consts(p).rb))
		return EFFC_RT_ERR_ARGS;
	op->kind = EFFC_RT_Q8_ADD;
	op->path = (enum effc_rt_q8_path)choose_path(EFFC_RT_Q8_AUTO);
	op->add = *p;
	op->n = n;
	op->in = a, op->in2 = b, op->out = y;
	return want_xnn(EFFC_RT_Q8_AUTO) ? xnn_hook(effc_rt_q8_xnn_elem_create(rt, op)) : EFFC_RT_OK;
}

int effc_rt_q8_lut_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const int8_t lut[256], size_t n,
			  const int8_t *x, int8_t *y)
{
	(void)rt;
	if (!op)
		return EFFC_RT_ERR_ARGS;
	memset(op, 0, sizeof *op);
	if (!lut || !x || !y)
		return EFFC_RT_ERR_ARGS;
	op->kind = EFFC_RT_Q8_LUT;
	op->path = effc_rt_q8_vbmi_available() ? EFFC_RT_Q8_VNNI : EFFC_RT_Q8_REF; /* VNNI here: with VBMI */
	memcpy(op->lut, lut, 256);
	op->has_lut = 1;
	op->n = n;
	op->in = x, op->out = y;
	return EFFC_RT_OK;
}

int effc_rt_q8_mul_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_mul *p,
			  const int8_t *a, const int8_t *b, int8_t *y)
{
	(void)rt;
	if (!op)
		return EFFC_RT_ERR_ARGS;
	memset(op, 0, sizeof *op);
	if (!p || !a || !b || !y || p->batch == 0 || p->rows == 0 || p->c == 0 || !quant_ok(p->a) || !quant_ok(p->b) ||
	    !quant_ok(p->out) || !range_ok(p->out_min, p->out_max) || !mult_ok(mul_consts(p).m))
		return EFFC_RT_ERR_ARGS;
	op->kind = EFFC_RT_Q8_MUL;
	op->path = (enum effc_rt_q8_path)choose_path(EFFC_RT_Q8_AUTO);
	op->p.mul = *p;
	op->p.mul.broadcast = p->broadcast != 0;
	op->in = a, op->in2 = b, op->out = y;
	op->n = p->batch * p->rows * p->c;
	if (p->broadcast) {
		/* The gates (b - zb) as floats, converted once per run before the tasks. */
		op->mult = effc_rt_alloc(64, p->batch * p->c * sizeof(float));
		if (!op->mult) {
			effc_rt_q8_op_destroy(op);
			return EFFC_RT_ERR_NOMEM;
		}
	}
	const int st = want_xnn(EFFC_RT_Q8_AUTO) ? xnn_hook(effc_rt_q8_xnn_elem_create(rt, op)) : EFFC_RT_OK;
	if (st != EFFC_RT_OK)
		effc_rt_q8_op_destroy(op);
	return st;
}

int effc_rt_q8_conv_create(struct effc_rt *rt, struct effc_rt_q8_op *op, const struct effc_rt_q8_conv *p,
			   const void *packed, const int8_t *x, const int8_t *residual, int8_t *y)
{
	(void)rt;
	if (!op)
		return EFFC_RT_ERR_ARGS;
	memset(op, 0, sizeof *op);
	if (!p || !packed || !x || !y || !p->w_scale || p->batch <= 0 || p->in_h <= 0 || p->in_w <= 0 || p->in_c <= 0 ||
	    p->out_h <= 0 || p->out_w <= 0 || p->out_c <= 0 || p->kh <= 0 || p->kw <= 0 || p->sh <= 0 || p->sw <= 0 ||
	    p->dh <= 0 || p->dw <= 0 || p->pad_top < 0 || p->pad_left < 0 || p->kh > 1024 || p->kw > 1024 ||
	    p->in_c > CONV_BAND_BYTES || !quant_ok(p->in) || !quant_ok(p->out) || !range_ok(p->out_min, p->out_max) ||
	    !act_ok(p->act) ||
	    (p->residual && (!residual || !add_ok(p->residual))))
		return EFFC_RT_ERR_ARGS;
	const size_t K = (size_t)p->kh * (size_t)p->kw * (size_t)p->in_c;
	if (round_up(K, 4) > CONV_BAND_BYTES)
		return EFFC_RT_ERR_ARGS; /* one im2col row must fit the task's buffer */
	const int xnn = want_xnn(p->path);
	const int path = choose_path(xnn ? EFFC_RT_Q8_AUTO : p->path);
	if (path < 0 || xnn < 0)
		return EFFC_RT_ERR_BACKEND;
	op->kind = EFFC_RT_Q8_CONV;
	op->path = (enum effc_rt_q8_path)path;
	op->p.conv = *p;
	op->in = x, op->in2 = residual, op->out = y;
	struct q8_conv_k *cv = alloc_zero(sizeof *cv);
	op->packed = cv;
	if (!cv)
		return EFFC_RT_ERR_NOMEM;
	cv->p = *p;
	cv->K = K, cv->kp = round_up(K, 4);
	cv->M = (size_t)p->batch * (size_t)p->out_h * (size_t)p->out_w;
	cv->band = CONV_BAND_BYTES / cv->kp < CONV_BAND_ROWS ? CONV_BAND_BYTES / cv->kp : CONV_BAND_ROWS;
	if (cv->band > 8)
		cv->band -= cv->band % 8; /* whole 8-row VNNI tiles */
	cv->x = x;
	cv->x_end = x + (size_t)p->batch * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
	struct q8_gemm_k *g = &cv->g;
	g->n = (size_t)p->out_c, g->k = cv->kp, g->np = round_up(g->n, 16), g->kg = cv->kp / 4;
	const int32_t *pb = packed, *wsum = pb + g->np;
	g->panels = (const int8_t *)(wsum + g->np);
	g->c = y;
	int st = make_channel_consts(op, g->n, g->np, p->in.scale, p->w_scale, p->out.scale, pb, wsum, p->in.zero_point,
				     path == EFFC_RT_Q8_VNNI, (int64_t)K * 255 * 128);
	if (st != EFFC_RT_OK) {
		effc_rt_q8_op_destroy(op);
		return st;
	}
	store_init(op, &g->s, path, g->n, (int64_t)K * 255 * 128, p->out, p->out_min, p->out_max, p->act, p->lut,
		   p->residual, residual);
	if (xnn && (st = xnn_hook(effc_rt_q8_xnn_conv_create(rt, op, p, packed))) != EFFC_RT_OK) {
		effc_rt_q8_op_destroy(op);
		return st;
	}
	cv->p.lut = NULL, cv->p.residual = NULL, cv->p.w_scale = NULL;
	op->p.conv.lut = NULL, op->p.conv.residual = NULL, op->p.conv.w_scale = NULL; /* not kept */
	return EFFC_RT_OK;
}

int effc_rt_q8_quantize_create(struct effc_rt *rt, struct effc_rt_q8_op *op, struct effc_rt_q8_quant q, size_t n,
			       const float *x, int8_t *y)
{
	(void)rt;
	if (!op)
		return EFFC_RT_ERR_ARGS;
	memset(op, 0, sizeof *op);
	if (!x || !y || !quant_ok(q))
		return EFFC_RT_ERR_ARGS;
	op->kind = EFFC_RT_Q8_QUANTIZE;
	op->path = (enum effc_rt_q8_path)choose_path(EFFC_RT_Q8_AUTO);
	op->q = q;
	op->n = n;
	op->fin = x, op->out = y;
	return EFFC_RT_OK;
}

int effc_rt_q8_dequantize_create(struct effc_rt *rt, struct effc_rt_q8_op *op, struct effc_rt_q8_quant q,
				 size_t n, const int8_t *x, float *y)
{
	(void)rt;
	if (!op)
		return EFFC_RT_ERR_ARGS;
	memset(op, 0, sizeof *op);
	if (!x || !y || !quant_ok(q))
		return EFFC_RT_ERR_ARGS;
	op->kind = EFFC_RT_Q8_DEQUANTIZE;
	op->path = (enum effc_rt_q8_path)choose_path(EFFC_RT_Q8_AUTO);
	op->q = q;
	op->n = n;
	op->in = x, op->fout = y;
	return EFFC_RT_OK;
}

/* ---- Run ----------------------------------------------------------------------------------- */

static void op_task(void *arg, size_t t)
{
	const struct effc_rt_q8_op *op = arg;
	switch (op->kind) {
	case EFFC_RT_Q8_GEMM:
		gemm_task(op, t);
		break;
	case EFFC_RT_Q8_DW:
		dw_task(op, t);
		break;
	case EFFC_RT_Q8_ADD: {
		const size_t i0 = t * ELEM_TILE, n = op->n - i0 < ELEM_TILE ? op->n - i0 : ELEM_TILE;
#ifdef Q8_X86
		if (op->path == EFFC_RT_Q8_VNNI || op->path == EFFC_RT_Q8_AVX2) {
			const struct q8_addk k = add_consts(&op->add);
			if (op->path == EFFC_RT_Q8_VNNI)
				add_vnni(&k, n, op->in + i0, op->in2 + i0, op->out + i0);
			else
				add_avx2(&k, n, op->in + i0, op->in2 + i0, op->out + i0);
			break;
		}
#endif
		effc_rt_q8_add_ref(&op->add, n, op->in + i0, op->in2 + i0, op->out + i0);
		break;
	}
	case EFFC_RT_Q8_LUT: {
		const size_t i0 = t * ELEM_TILE, n = op->n - i0 < ELEM_TILE ? op->n - i0 : ELEM_TILE;
#ifdef Q8_X86
		if (op->path == EFFC_RT_Q8_VNNI) {
			lut_vbmi(op->lut, op->in + i0, n, op->out + i0);
			break;
		}
#endif
		for (size_t i = i0; i < i0 + n; i++)
			op->out[i] = op->lut[(uint8_t)op->in[i]];
		break;
	}
	case EFFC_RT_Q8_CONV:
		conv_task(op, t);
		break;
	case EFFC_RT_Q8_MUL:
		mul_task(op, t);
		break;
	case EFFC_RT_Q8_QUANTIZE:
		quant_task(op, t);
		break;
	case EFFC_RT_Q8_DEQUANTIZE:
		dequant_task(op, t);
		break;
	case EFFC_RT_Q8_GAP:
		gap_task(op, t);
		break;
	default:
		break;
	}
}

int effc_rt_q8_run(struct effc_rt *rt, const struct effc_rt_q8_op *op)
{
	if (!rt || !op)
		return EFFC_RT_ERR_ARGS;
	if (op->path == EFFC_RT_Q8_XNN && op->xnn)
		return effc_rt_q8_xnn_run(rt, op);
	size_t tasks = 0;
	switch (op->kind) {
	case EFFC_RT_Q8_GEMM:
		tasks = gemm_tasks(op->packed);
		break;
	case EFFC_RT_Q8_DW:
		tasks = (size_t)op->p.dw.batch * (size_t)op->p.dw.out_h * ((const struct q8_dw_k *)op->packed)->cgroups;
		break;
	case EFFC_RT_Q8_ADD:
	case EFFC_RT_Q8_LUT:
		tasks = (op->n + ELEM_TILE - 1) / ELEM_TILE;
		break;
	case EFFC_RT_Q8_GAP:
		tasks = op->p.gap.batch * ((op->p.gap.c + GAP_CB - 1) / GAP_CB);
		break;
	case EFFC_RT_Q8_CONV: {
		const struct q8_conv_k *cv = op->packed;
		tasks = (cv->M + cv->band - 1) / cv->band;
		break;
	}
	case EFFC_RT_Q8_MUL:
		tasks = mul_tasks(&op->p.mul);
		if (op->p.mul.broadcast) /* the gates for every task, once */
			for (size_t i = 0; i < op->p.mul.batch * op->p.mul.c; i++)
				op->mult[i] = (float)(op->in2[i] - op->p.mul.b.zero_point);
		break;
	case EFFC_RT_Q8_QUANTIZE:
	case EFFC_RT_Q8_DEQUANTIZE:
		tasks = (op->n + ELEM_TILE - 1) / ELEM_TILE;
		break;
	default:
		return EFFC_RT_ERR_ARGS;
	}
#if !defined(EFFC_RT_PORTABLE)
	if (tasks > 1 && rt->pool) {
		pthreadpool_parallelize_1d(rt->pool, op_task, (void *)op, tasks, 0);
		return EFFC_RT_OK;
	}
#endif
	for (size_t t = 0; t < tasks; t++)
		op_task((void *)op, t);
	return EFFC_RT_OK;
}
