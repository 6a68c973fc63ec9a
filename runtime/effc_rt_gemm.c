/* effc_rt_gemm.c: our pointwise (1x1) convolution, a GEMM C[m][n] = A[m][k] B[k][n] + bias
 * with the activation and an optional residual applied while the rows are still in cache.
 *
 * Why ours: Debian's gcc-built XNNPACK keeps one accumulator of its 5x16 FMA3 kernel on the
 * stack (about 35 GFLOP/s here); a 6x16 AVX2/FMA kernel with all twelve accumulators in
 * registers runs about twice as fast on EfficientNet's shapes (see ../shared notes and the
 * benchmark). B is pre-packed by the compiler in 16-column panels, [ceil(n/16)][k][16], zero
 * padded, so create does no repacking. The portable path (any CPU, and the unit tests'
 * reference) reads the same packed layout in plain C. On CPUs without AVX2+FMA, or with
 * EFFC_RT_FORCE_XNNPACK, create hands the unpacked weights to XNNPACK instead (effc_rt.c). */
#include "effc_rt.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(EFFC_RT_FORCE_XNNPACK) && !defined(EFFC_RT_NO_SIMD)
#define EFFC_RT_AVX2 1
#include "effc_rt_simd.h"
#endif

/* Checked once: the GEMM and the depthwise kernel ask per call (per band). */
int effc_rt_gemm_fast_available(void)
{
#ifdef EFFC_RT_AVX2
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

/* EFFC_RT_NO_AVX512 (a build option) keeps the AVX2 tiles on CPUs with AVX-512 too: for parts
 * that lower their clock under AVX-512 load, or to compare the two. Without Swish the kernels
 * give the same bits (with it, within 1e-6: its AVX-512 exponential is a table form); a whole
 * model differs slightly, as some depthwise layers then run on XNNPACK. */
int effc_rt_avx512_available(void)
{
#if defined(EFFC_RT_AVX2) && !defined(EFFC_RT_NO_AVX512)
	static int cached = -1;
	if (cached < 0) {
		__builtin_cpu_init();
		cached = effc_rt_gemm_fast_available() && __builtin_cpu_supports("avx512f") &&
			 __builtin_cpu_supports("avx512vl");
	}
	return cached;
#else
	return 0;
#endif
}

static int allow_avx512 = 1;
int effc_rt_allow_avx512(int allow)
{
	const int was = allow_avx512;
	allow_avx512 = allow;
	return was;
}

int effc_rt_use_avx512(void) { return allow_avx512 && effc_rt_avx512_available(); }

void effc_rt_pack_b(size_t n, size_t k, const float *w, float *packed)
{
	/* w is [n][k] (a 1x1 conv's OIHW weights); panel p holds columns 16p..16p+15. */
	const size_t panels = (n + 15) / 16;
	for (size_t p = 0; p < panels; p++)
		for (size_t kk = 0; kk < k; kk++)
			for (size_t j = 0; j < 16; j++) {
				size_t col = p * 16 + j;
				packed[(p * k + kk) * 16 + j] = col < n ? w[col * k + kk] : 0.0f;
			}
}

void effc_rt_unpack_b(size_t n, size_t k, const float *packed, float *w)
{
	for (size_t col = 0; col < n; col++)
		for (size_t kk = 0; kk < k; kk++)
			w[col * k + kk] = packed[((col / 16) * k + kk) * 16 + col % 16];
}

/* The portable path, and the unit tests' reference: each output clamped (two selects, the bound
 * first, so a NaN passes through as ONNX's Clip gives it and the compiler can use min/max
 * instructions; a nested ?: had compiled to a branch per element that mispredicts on
 * activations around zero) and, with HardSwish, activated as it is stored. Swish goes through
 * effc_rt_swish over the row while it is in L1 (a vectorisable exponential), then the residual. */
static void gemm_ref_rect(const struct effc_rt_gemm *g, size_t m0, size_t m1, size_t c0, size_t c1)
{
	const size_t k = g->k;
	const float lo = g->out_min, hi = g->out_max;
	const int hswish = g->act == EFFC_RT_ACT_HARDSWISH;
	for (size_t i = m0; i < m1; i++) {
		const float *a = g->a + i * k;
		float *c = g->c + i * g->n;
		for (size_t col = c0; col < c1; col++) {
			const float *b = g->packed + (col / 16) * k * 16 + col % 16;
			float acc = g->bias ? g->bias[col] : 0.0f;
			for (size_t kk = 0; kk < k; kk++)
				acc += (g->a_scale ? a[kk] * g->a_scale[kk] : a[kk]) * b[kk * 16];
			acc = lo > acc ? lo : acc;
			acc = hi < acc ? hi : acc;
			if (hswish) {
				float t = acc * (1.0f / 6.0f) + 0.5f;
				t = 0.0f > t ? 0.0f : t;
				acc *= 1.0f < t ? 1.0f : t;
			}
			c[col] = acc;
		}
		if (g->act == EFFC_RT_ACT_SWISH)
			effc_rt_swish(c1 - c0, c + c0, c + c0);
		for (size_t col = c0; g->residual && col < c1; col++)
			c[col] += g->residual[i * g->n + col];
	}
}

/* g with B's panels [p0, p1) scaled into b_work beforehand, for the paths that do not fuse it */
static struct effc_rt_gemm prescaled(const struct effc_rt_gemm *g, size_t p0, size_t p1)
{
	const size_t pn = (g->n + 15) / 16;
	effc_rt_scale_panels(p0 * g->k, (p1 < pn ? p1 : pn) * g->k, g->k, g->b_scale, g->packed, g->b_work);
	struct effc_rt_gemm h = *g;
	h.packed = g->b_work, h.b_scale = NULL;
	return h;
}

void effc_rt_gemm_ref(const struct effc_rt_gemm *g, size_t m0, size_t m1)
{
	if (g->b_scale) {
		const struct effc_rt_gemm h = prescaled(g, 0, (g->n + 15) / 16);
		gemm_ref_rect(&h, m0, m1, 0, g->n);
		return;
	}
	gemm_ref_rect(g, m0, m1, 0, g->n);
}

#ifdef EFFC_RT_AVX2
/* MR rows (1..6) x NR columns (8 or 16), all of k, accumulators in registers: per step one or two
 * B loads, MR broadcasts, MR * NR / 8 FMAs. Instances for the row and column remainders, so a
 * 49-row map or a 24-column output does not pay for a full 6 x 16 tile. The accumulators start
 * from the bias (first) or from C (a later slice of k, see gemm_stream); with g, the tile is
 * clamped, takes Swish or HardSwish and adds the residual in registers, twelve independent
 * chains, before its one store (the last slice of gemm_stream; the row blocks' tiles, whose
 * Swish alone is swept over the block: see effc_rt_gemm_fast_rect). */
static inline __attribute__((always_inline, target("avx2,fma"))) void
kernel(const int MR, const int NR, size_t k, const float *a, size_t lda, const float *b, const float *bias, float *c,
       size_t ldc, size_t nr, int first, const struct effc_rt_gemm *g, const float *res)
{
	__m256 acc0[6], acc1[6];
	float t[16] = {0};
	if (!first) {
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			if (nr == (size_t)NR) {
				acc0[i] = _mm256_loadu_ps(c + (size_t)i * ldc);
				acc1[i] = NR == 16 ? _mm256_loadu_ps(c + (size_t)i * ldc + 8) : acc0[i];
			} else {
				memcpy(t, c + (size_t)i * ldc, nr * sizeof(float));
				acc0[i] = _mm256_loadu_ps(t);
				acc1[i] = _mm256_loadu_ps(t + 8);
			}
		}
	} else {
		if (bias)
			memcpy(t, bias, nr * sizeof(float));
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			acc0[i] = _mm256_loadu_ps(t);
			acc1[i] = _mm256_loadu_ps(t + 8);
		}
	}
	for (size_t kk = 0; kk < k; kk++, b += 16) {
		const __m256 b0 = _mm256_load_ps(b);
		const __m256 b1 = NR == 16 ? _mm256_load_ps(b + 8) : b0;
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			const __m256 x = _mm256_broadcast_ss(a + (size_t)i * lda + kk);
			acc0[i] = _mm256_fmadd_ps(x, b0, acc0[i]);
			if (NR == 16)
				acc1[i] = _mm256_fmadd_ps(x, b1, acc1[i]);
		}
	}
	if (g) {
		const __m256 lo = _mm256_set1_ps(g->out_min), hi = _mm256_set1_ps(g->out_max);
		if (effc_rt_clamps(g->out_min, g->out_max)) {
#pragma GCC unroll 6
			for (int i = 0; i < MR; i++) {
				acc0[i] = effc_rt_clamp8(acc0[i], lo, hi);
				acc1[i] = effc_rt_clamp8(acc1[i], lo, hi);
			}
		}
		if (g->act == EFFC_RT_ACT_SWISH) {
#pragma GCC unroll 6
			for (int i = 0; i < MR; i++) {
				acc0[i] = effc_rt_swish8(acc0[i]);
				if (NR == 16)
					acc1[i] = effc_rt_swish8(acc1[i]);
			}
		} else if (g->act == EFFC_RT_ACT_HARDSWISH) {
#pragma GCC unroll 6
			for (int i = 0; i < MR; i++) {
				acc0[i] = effc_rt_hardswish8(acc0[i]);
				if (NR == 16)
					acc1[i] = effc_rt_hardswish8(acc1[i]);
			}
		}
		if (res && nr == (size_t)NR) {
#pragma GCC unroll 6
			for (int i = 0; i < MR; i++) {
				acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(res + (size_t)i * ldc));
				if (NR == 16)
					acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(res + (size_t)i * ldc + 8));
			}
		} else if (res) {
#pragma GCC unroll 6
			for (int i = 0; i < MR; i++) {
				float r[16] = {0};
				memcpy(r, res + (size_t)i * ldc, nr * sizeof(float));
				acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(r));
				acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(r + 8));
			}
		}
	}
	if (nr == (size_t)NR) {
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			_mm256_storeu_ps(c + (size_t)i * ldc, acc0[i]);
			if (NR == 16)
				_mm256_storeu_ps(c + (size_t)i * ldc + 8, acc1[i]);
		}
		return;
	}
#pragma GCC unroll 6
	for (int i = 0; i < MR; i++) {
		_mm256_storeu_ps(t, acc0[i]);
		_mm256_storeu_ps(t + 8, acc1[i]);
		memcpy(c + (size_t)i * ldc, t, nr * sizeof(float));
	}
}

/* One instance per tile shape, for the row blocks and gemm_stream alike. bs, the distance
 * between panels, is for the AVX-512 kernels' two-panel tiles. */
#define KERNEL_FN(MR, NR)                                                                                      \
	__attribute__((target("avx2,fma"))) static void kernel_s_##MR##x##NR(                                  \
	    size_t k, const float *a, size_t lda, const float *b, size_t bs, const float *bias, float *c, size_t ldc, \
	    size_t nr, int first, const struct effc_rt_gemm *g, const float *res)                              \
	{                                                                                                      \
		(void)bs;                                                                                      \
		kernel(MR, NR, k, a, lda, b, bias, c, ldc, nr, first, g, res);                                 \
	}
KERNEL_FN(6, 16)
KERNEL_FN(5, 16)
KERNEL_FN(4, 16)
KERNEL_FN(3, 16)
KERNEL_FN(2, 16)
KERNEL_FN(1, 16)
KERNEL_FN(6, 8)
KERNEL_FN(5, 8)
KERNEL_FN(4, 8)
KERNEL_FN(3, 8)
KERNEL_FN(2, 8)
KERNEL_FN(1, 8)

/* AVX-512 (Zen 4, Ice Lake and later): MR rows (1..MR512) x W columns, W = 16 (one panel), 24
 * (a panel and the first half of the next, in a ymm: the last panel of 24, 40, 136 or 232
 * columns has 8) or 32 (two panels); one register per row and panel, the broadcast of A folded
 * into the FMA. On Zen 4 a 512-bit FMA is two 256-bit halves, so the peak is AVX2's; what pays
 * is fewer instructions and loads per FLOP (the AVX2 6x16 tile issues 20 per 12 FMAs) and 32
 * registers for taller tiles, which read each panel of B from L2 once per MR rows. Column
 * remainders are masked loads and stores. */
#define MR512 12
#define GEMM_PF_STEPS 32 /* gemm_stream's first row tile of a panel: prefetch distance in k steps */
#define AVX512_TARGET target("avx512f,avx512vl,avx2,fma")
/* A tile's accumulators: one zmm per row and panel, or a zmm and a ymm (W = 24). The kernel is
 * split in three inlined parts so the segmented variant (effc_rt_gemm_segments) shares them; the
 * struct never leaves registers. */
struct acc512 {
	__m512 a0[MR512], a1[MR512];
	__m256 h[MR512];
};

struct masks512 {
	__mmask16 m0, m1;
	__mmask8 mh;
};

static inline __attribute__((always_inline, AVX512_TARGET)) struct masks512 masks512(const int W, size_t nr)
{
	struct masks512 m;
	m.m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
	m.m1 = W != 32 ? 0 : nr >= 32 ? (__mmask16)0xffff : (__mmask16)((1u << (nr - 16)) - 1);
	m.mh = W != 24 ? 0 : (__mmask8)((1u << (nr - 16)) - 1);
	return m;
}

/* Start from the bias (first) or from C (a later slice of k). */
static inline __attribute__((always_inline, AVX512_TARGET)) void
k512_start(const int MR, const int W, struct acc512 *r, struct masks512 m, const float *bias, const float *c,
	   size_t ldc, int first)
{
	if (!first) {
#pragma GCC unroll 12
		for (int i = 0; i < MR; i++) {
			r->a0[i] = _mm512_maskz_loadu_ps(m.m0, c + (size_t)i * ldc);
			if (W == 32)
				r->a1[i] = _mm512_maskz_loadu_ps(m.m1, c + (size_t)i * ldc + 16);
			if (W == 24)
				r->h[i] = _mm256_maskz_loadu_ps(m.mh, c + (size_t)i * ldc + 16);
		}
	} else {
		const __m512 z0 = bias ? _mm512_maskz_loadu_ps(m.m0, bias) : _mm512_setzero_ps();
		const __m512 z1 = bias && W == 32 ? _mm512_maskz_loadu_ps(m.m1, bias + 16) : _mm512_setzero_ps();
		const __m256 zh = bias && W == 24 ? _mm256_maskz_loadu_ps(m.mh, bias + 16) : _mm256_setzero_ps();
#pragma GCC unroll 12
		for (int i = 0; i < MR; i++)
			r->a0[i] = z0, r->a1[i] = z1, r->h[i] = zh;
	}
}

/* k steps: one or two panel rows of B, a broadcast of A per row folded into the FMAs. */
static inline __attribute__((always_inline, AVX512_TARGET)) void
k512_steps(const int MR, const int W, struct acc512 *r, size_t k, const float *a, size_t lda, const float *b, size_t bs,
	   const int PF, const float *s, float *d)
{
	const float *b1 = b + bs;
	for (size_t kk = 0; kk < k; kk++) {
		if (PF) { /* PF steps ahead in each panel; past its end, the head of the one after it */
			_mm_prefetch((const char *)(b + (kk + PF) * 16), _MM_HINT_T0);
			if (W != 16)
				_mm_prefetch((const char *)(b1 + (kk + PF) * 16), _MM_HINT_T0);
		}
		__m512 w0 = _mm512_loadu_ps(b + kk * 16);
		__m512 w1 = W == 32 ? _mm512_loadu_ps(b1 + kk * 16) : w0;
		__m256 wh = W == 24 ? _mm256_loadu_ps(b1 + kk * 16) : _mm512_castps512_ps256(w0);
		if (s) { /* B's row kk times s[kk], kept in d for the row tiles after this one */
			const __m512 v = _mm512_set1_ps(s[kk]);
			w0 = _mm512_mul_ps(w0, v), _mm512_storeu_ps(d + kk * 16, w0);
			if (W == 32)
				w1 = _mm512_mul_ps(w1, v), _mm512_storeu_ps(d + bs + kk * 16, w1);
			if (W == 24)
				wh = _mm256_mul_ps(wh, _mm512_castps512_ps256(v)), _mm256_storeu_ps(d + bs + kk * 16, wh);
		}
#pragma GCC unroll 12
		for (int i = 0; i < MR; i++) {
			const __m512 x = _mm512_set1_ps(a[(size_t)i * lda + kk]);
			r->a0[i] = _mm512_fmadd_ps(x, w0, r->a0[i]);
			if (W == 32)
				r->a1[i] = _mm512_fmadd_ps(x, w1, r->a1[i]);
			if (W == 24)
				r->h[i] = _mm256_fmadd_ps(_mm512_castps512_ps256(x), wh, r->h[i]);
		}
	}
}

/* With g: clamp, Swish or HardSwish, and the residual in registers; then the one store. */
static inline __attribute__((always_inline, AVX512_TARGET)) void
k512_finish(const int MR, const int W, struct acc512 *r, struct masks512 m, float *c, size_t ldc,
	    const struct effc_rt_gemm *g, const float *res)
{
	if (g) {
		const __m512 lo = _mm512_set1_ps(g->out_min), hi = _mm512_set1_ps(g->out_max);
		if (effc_rt_clamps(g->out_min, g->out_max)) {
#pragma GCC unroll 12
			for (int i = 0; i < MR; i++) {
				r->a0[i] = effc_rt_clamp16(r->a0[i], lo, hi);
				if (W == 32)
					r->a1[i] = effc_rt_clamp16(r->a1[i], lo, hi);
				if (W == 24)
					r->h[i] = effc_rt_clamp8(r->h[i], _mm512_castps512_ps256(lo),
								 _mm512_castps512_ps256(hi));
			}
		}
		if (g->act == EFFC_RT_ACT_SWISH) {
#pragma GCC unroll 12
			for (int i = 0; i < MR; i++) {
				r->a0[i] = effc_rt_swish16(r->a0[i]);
				if (W == 32)
					r->a1[i] = effc_rt_swish16(r->a1[i]);
				if (W == 24)
					r->h[i] = effc_rt_swish16_lo8(r->h[i]);
			}
		} else if (g->act == EFFC_RT_ACT_HARDSWISH) {
#pragma GCC unroll 12
			for (int i = 0; i < MR; i++) {
				r->a0[i] = effc_rt_hardswish16(r->a0[i]);
				if (W == 32)
					r->a1[i] = effc_rt_hardswish16(r->a1[i]);
				if (W == 24)
					r->h[i] = effc_rt_hardswish8(r->h[i]);
			}
		}
		if (res) {
#pragma GCC unroll 12
			for (int i = 0; i < MR; i++) {
				r->a0[i] = _mm512_add_ps(r->a0[i], _mm512_maskz_loadu_ps(m.m0, res + (size_t)i * ldc));
				if (W == 32)
					r->a1[i] = _mm512_add_ps(r->a1[i], _mm512_maskz_loadu_ps(m.m1, res + (size_t)i * ldc + 16));
				if (W == 24)
					r->h[i] = _mm256_add_ps(r->h[i], _mm256_maskz_loadu_ps(m.mh, res + (size_t)i * ldc + 16));
			}
		}
	}
#pragma GCC unroll 12
	for (int i = 0; i < MR; i++) {
		_mm512_mask_storeu_ps(c + (size_t)i * ldc, m.m0, r->a0[i]);
		if (W == 32)
			_mm512_mask_storeu_ps(c + (size_t)i * ldc + 16, m.m1, r->a1[i]);
		if (W == 24)
			_mm256_mask_storeu_ps(c + (size_t)i * ldc + 16, m.mh, r->h[i]);
	}
}

static inline __attribute__((always_inline, AVX512_TARGET)) void
kernel512(const int MR, const int W, size_t k, const float *a, size_t lda, const float *b, size_t bs,
	  const float *bias, float *c, size_t ldc, size_t nr, int first, const struct effc_rt_gemm *g,
	  const float *res, const int PF)
{
	struct acc512 r;
	const struct masks512 m = masks512(W, nr);
	k512_start(MR, W, &r, m, bias, c, ldc, first);
	k512_steps(MR, W, &r, k, a, lda, b, bs, PF, NULL, NULL);
	k512_finish(MR, W, &r, m, c, ldc, g, res);
}

/* A row block's first tile of a panel with g->b_scale: B scaled as it is read, and written to
 * g->b_work for the tiles after it; the epilogue from e, as the other tiles (g's copy, see
 * effc_rt_gemm_fast_rect). */
static inline __attribute__((always_inline, AVX512_TARGET)) void
kernel512_scale(const int MR, const int W, size_t k, const float *a, size_t lda, const float *b, size_t bs,
		const float *bias, float *c, size_t ldc, size_t nr, const struct effc_rt_gemm *e, const float *res)
{
	struct acc512 r;
	const struct masks512 m = masks512(W, nr);
	k512_start(MR, W, &r, m, bias, c, ldc, 1);
	k512_steps(MR, W, &r, k, a, lda, b, bs, GEMM_PF_STEPS, e->b_scale, e->b_work + (b - e->packed));
	k512_finish(MR, W, &r, m, c, ldc, e, res);
}

/* k in segments: segment s reads A rows from sa[s] and B rows from soff[s] (see
 * effc_rt_gemm_segments), all into the same accumulators. */
static inline __attribute__((always_inline, AVX512_TARGET)) void
kernel512_seg(const int MR, const int W, size_t k, size_t nseg, const float *const *sa, const size_t *soff,
	      size_t lda, const float *b, size_t bs, const float *bias, float *c, size_t ldc, size_t nr,
	      const struct effc_rt_gemm *g)
{
	struct acc512 r;
	const struct masks512 m = masks512(W, nr);
	k512_start(MR, W, &r, m, bias, c, ldc, 1);
	for (size_t sg = 0; sg < nseg; sg++)
		k512_steps(MR, W, &r, k, sa[sg], lda, b + soff[sg] * 16, bs, 0, NULL, NULL);
	k512_finish(MR, W, &r, m, c, ldc, g, NULL);
}

#define KERNEL512_FN(MR, W)                                                                                    \
	__attribute__((AVX512_TARGET)) static void kernel512_s_##MR##x##W(                                     \
	    size_t k, const float *a, size_t lda, const float *b, size_t bs, const float *bias, float *c, size_t ldc, \
	    size_t nr, int first, const struct effc_rt_gemm *g, const float *res)                              \
	{                                                                                                      \
		kernel512(MR, W, k, a, lda, b, bs, bias, c, ldc, nr, first, g, res, 0);                        \
	}                                                                                                      \
	__attribute__((AVX512_TARGET)) static void kernel512_p_##MR##x##W(                                     \
	    size_t k, const float *a, size_t lda, const float *b, size_t bs, const float *bias, float *c, size_t ldc, \
	    size_t nr, int first, const struct effc_rt_gemm *g, const float *res)                              \
	{                                                                                                      \
		kernel512(MR, W, k, a, lda, b, bs, bias, c, ldc, nr, first, g, res, GEMM_PF_STEPS);            \
	}                                                                                                      \
	__attribute__((AVX512_TARGET)) static void kernel512_c_##MR##x##W(                                     \
	    size_t k, const float *a, size_t lda, const float *b, size_t bs, const float *bias, float *c, size_t ldc, \
	    size_t nr, int first, const struct effc_rt_gemm *g, const float *res)                              \
	{                                                                                                      \
		(void)first;                                                                                   \
		kernel512_scale(MR, W, k, a, lda, b, bs, bias, c, ldc, nr, g, res);                            \
	}                                                                                                      \
	__attribute__((AVX512_TARGET)) static void kernel512_g_##MR##x##W(                                     \
	    size_t k, size_t nseg, const float *const *sa, const size_t *soff, size_t lda, const float *b, size_t bs, \
	    const float *bias, float *c, size_t ldc, size_t nr, const struct effc_rt_gemm *g)                  \
	{                                                                                                      \
		kernel512_seg(MR, W, k, nseg, sa, soff, lda, b, bs, bias, c, ldc, nr, g);                       \
	}
#define KERNEL512_ROWS(MR) KERNEL512_FN(MR, 16) KERNEL512_FN(MR, 24) KERNEL512_FN(MR, 32)
KERNEL512_ROWS(1)
KERNEL512_ROWS(2)
KERNEL512_ROWS(3)
KERNEL512_ROWS(4)
KERNEL512_ROWS(5)
KERNEL512_ROWS(6)
KERNEL512_ROWS(7)
KERNEL512_ROWS(8)
KERNEL512_ROWS(9)
KERNEL512_ROWS(10)
KERNEL512_ROWS(11)
KERNEL512_ROWS(12)

/* gemm_stream's bound on a block's A rows, past which k is sliced, and the row tiles from which
 * it prefetches the next weight panel (see there) */
#define GEMM_AS_BYTES (192u << 10)
#define GEMM_AS_BYTES_AVX512 (1024u << 10)
#define GEMM_PF_MIN_TILES 4
typedef void (*kernel_s_fn)(size_t, const float *, size_t, const float *, size_t, const float *, float *, size_t, size_t,
			    int, const struct effc_rt_gemm *, const float *);
/* One instruction set's tiles, [width][rows]: AVX2 8 and 16 columns, AVX-512 16, 24 and 32. */
struct isa {
	size_t mr_max, panels;
	size_t as_bytes, pf_min_tiles; /* gemm_stream's bound on a block's A rows, and when it prefetches */
	kernel_s_fn s[3][MR512 + 1];
	kernel_s_fn p[3][MR512 + 1]; /* gemm_stream's first row tile of a panel, or NULL */
};
static const struct isa isa_avx2 = {
    6, 1, GEMM_AS_BYTES, GEMM_PF_MIN_TILES,
    {{0, kernel_s_1x8, kernel_s_2x8, kernel_s_3x8, kernel_s_4x8, kernel_s_5x8, kernel_s_6x8},
     {0, kernel_s_1x16, kernel_s_2x16, kernel_s_3x16, kernel_s_4x16, kernel_s_5x16, kernel_s_6x16}},
    {{0}}};
#define K512_ROW(W, P)                                                                                         \
	{0, P##1x##W, P##2x##W, P##3x##W, P##4x##W, P##5x##W, P##6x##W, P##7x##W, P##8x##W, P##9x##W, P##10x##W,    \
	 P##11x##W, P##12x##W}
static const struct isa isa_avx512 = {
    MR512, 2, GEMM_AS_BYTES_AVX512, (size_t)-1,
    {K512_ROW(16, kernel512_s_), K512_ROW(24, kernel512_s_), K512_ROW(32, kernel512_s_)},
    {K512_ROW(16, kernel512_p_), K512_ROW(24, kernel512_p_), K512_ROW(32, kernel512_p_)}};

static const kernel_s_fn kernels512_c[3][MR512 + 1] = {K512_ROW(16, kernel512_c_), K512_ROW(24, kernel512_c_),
						       K512_ROW(32, kernel512_c_)};
typedef void (*kernel_g_fn)(size_t, size_t, const float *const *, const size_t *, size_t, const float *, size_t,
			    const float *, float *, size_t, size_t, const struct effc_rt_gemm *);
static const kernel_g_fn kernels512_g[3][MR512 + 1] = {K512_ROW(16, kernel512_g_), K512_ROW(24, kernel512_g_),
						       K512_ROW(32, kernel512_g_)};

/* The tile at panel p of [p0, p1): how many panels it spans (*np), its valid columns (*nr) and
 * the width instance. AVX-512 pairs panels; with an odd count the single one comes first, so a
 * last panel of 8 columns joins the pair before it as a 24-wide tile. */
static inline int tile_cols(const struct isa *x, const struct effc_rt_gemm *g, size_t p, size_t p0, size_t p1,
			    size_t *np, size_t *nr)
{
	*np = x->panels == 1 || (p == p0 && (p1 - p0) % 2) ? 1 : 2;
	*nr = g->n - p * 16 < *np * 16 ? g->n - p * 16 : *np * 16;
	if (x->panels == 1)
		return *nr > 8;
	return *np == 1 ? 0 : *nr <= 24 ? 1 : 2;
}

static const struct isa *pick_isa(void)
{
	return effc_rt_use_avx512() ? &isa_avx512 : &isa_avx2;
}

/* Rows of the next tile: whole tiles of mr_max, and a remainder between one and two tiles as two
 * even tiles (7 rows as 4 + 3, not 6 + 1: a 1-row tile is load-bound and costs nearly what a
 * full one does; 49-row maps are 8 x 6 + 1). */
static inline size_t tile_rows(size_t rem, size_t mr_max)
{
	return rem > mr_max && rem < 2 * mr_max ? (rem + 1) / 2 : rem < mr_max ? rem : mr_max;
}
#endif

#ifdef EFFC_RT_AVX2
/* Row blocks: every panel of B passes over a block's rows, so a block's A rows (re-read once
 * per panel) should stay in L2, and so should its C rectangle for a Swish sweep that follows;
 * within those bounds, as few blocks as possible (balanced, in whole 6-row tiles), as each
 * block streams all of B again. The bounds are a quarter of this L2 (512 KB) each. Against half
 * of it, which made 7x7 maps one block, they stream B two or three times there (k = 1152: 24
 * rows of A per block) and still measured 0.994x on B0 and on B3, in the quiet and the loaded
 * quarters of the pairs alike (in-process A/B, 1 thread; 64 to 192 KB for either bound measured
 * within 0.5% of that): A and C leave room in L2 for B's panels and the next op's data.
 * Tried and dropped: prefetching the next weight panel from the kernel (neutral when the host
 * leaves this VM's caches alone, up to 20% slower on B1 when it does not: the prefetches hold
 * the miss buffers the tile's own loads need), and blocks of up to 192 rows with k sliced and
 * the epilogue per tile for weights over 256 KB (at best 2% faster). */
#define GEMM_A_BLOCK_BYTES (128u << 10)
#define GEMM_C_BLOCK_BYTES (128u << 10)

static size_t row_block(const struct effc_rt_gemm *g, size_t rows, size_t cols, size_t mr)
{
	size_t lim = GEMM_A_BLOCK_BYTES / (g->k * sizeof(float));
	const size_t lim_c = GEMM_C_BLOCK_BYTES / (cols * sizeof(float));
	lim = lim < lim_c ? lim : lim_c;
	lim = lim < mr ? mr : lim / mr * mr;
	const size_t blocks = (rows + lim - 1) / lim, per = (rows + blocks - 1) / blocks;
	return (per + mr - 1) / mr * mr; /* balanced, in whole tiles */
}
#endif

#ifdef EFFC_RT_AVX2
/* Swish and the residual over rows [m0, m1), columns [c0, c1) of C, which the row blocks' tiles
 * stored clamped (see effc_rt_gemm_fast_rect). */
static void swish_sweep(const struct effc_rt_gemm *g, size_t m0, size_t m1, size_t c0, size_t c1)
{
	size_t w = c1 - c0;
	if (w == g->n) /* whole rows: one contiguous span */
		w *= m1 - m0, m1 = m0 + 1;
	for (size_t i = m0; i < m1; i++) {
		float *c = g->c + i * g->n + c0;
		const float *r = g->residual ? g->residual + i * g->n + c0 : NULL;
		effc_rt_swish(w, c, c);
		for (size_t j = 0; r && j < w; j++)
			c[j] += r[j];
	}
}

/* Weights over GEMM_B_STREAM_BYTES (the late stages': 0.8-3.5 MB on B3's 10x10 maps, B0's and
 * B1's 7x7 and 8x8, the classifier) do not stay in cache between inferences, and row blocks
 * would stream them from memory once per block: 6-9 times on B3's 10x10 maps, 175 MB per
 * inference. Here they are read once. Where a block's A rows do not fit GEMM_AS_BYTES, k is cut
 * into slices of at most GEMM_KC_MAX (a panel's slice, 16 KB, stays in L1 while every row tile
 * uses it; a later slice continues from C, in L2). The clamp, activation and residual run in
 * registers on the last slice. With GEMM_PF_MIN_TILES tiles or more, each tile prefetches its
 * share of the next panel's slice, or a panel's first tile waits on memory; the classifier's one row, fetching a
 * whole panel ahead at once, measured 1.3x slower than the hardware prefetcher alone.
 * Cold-weight microbenchmark of those shapes: 0.89-0.95x the row-block order, the classifier
 * 0.97-0.99x. In-process A/B at 1 thread: B0 0.980x, B1 0.969x, B3 0.991x (0.982x in an earlier
 * run), every quarter of the pairs below 1.00. The same order for smaller weights (19x19 maps:
 * 0.3-0.45 MB, which mostly stay in cache) measured 1-10% slower. The AVX-512 tiles leave k
 * whole up to 1 MB of A rows (CPUs with AVX-512 have L2s of 1 MB or more): cold-weight
 * microbenchmark on Zen 4, 1.04-1.10x faster on the shapes that had been sliced (49 x 1152 x 192
 * and x 320, 100 x 1392 x 232, 100 x 2304 x 384), the same on the others. They do not prefetch
 * the next panel's share per tile: that measured 3-10% slower than the hardware prefetcher
 * alone on every such shape (their tiles span two panels, and a prefetch waits when the miss
 * buffers are full). Only a panel's first row tile, the one that waits on memory, prefetches
 * GEMM_PF_STEPS ahead in its two panels, which carries the stream across page boundaries and,
 * at a panel's end, into the head of the next one: cold-weight microbenchmark 0.93-0.97x on
 * 100 x 232 x 1392, 0.97-0.99x on 100 x 384 x 1536, the same on the projections (a classifier,
 * whose one tile per panel would only wait on its own prefetches, measured 1.06x: not there). */
#define GEMM_B_STREAM_BYTES (512u << 10)
#define GEMM_KC_MAX 256

static void gemm_stream(const struct isa *x, const struct effc_rt_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1)
{
	const size_t k = g->k, mrx = x->mr_max, pn = (g->n + 15) / 16;
	const int a_fits = (m1 - m0) * k * sizeof(float) <= x->as_bytes;
	const size_t slices = a_fits ? 1 : (k + GEMM_KC_MAX - 1) / GEMM_KC_MAX, kc = (k + slices - 1) / slices;
	size_t lim = x->as_bytes / (kc * sizeof(float));
	lim = lim < mrx ? mrx : lim / mrx * mrx;
	const size_t blocks = (m1 - m0 + lim - 1) / lim, per = (m1 - m0 + blocks - 1) / blocks;
	const size_t block = (per + mrx - 1) / mrx * mrx;
	p1 = p1 < pn ? p1 : pn;
	for (size_t b0 = m0; b0 < m1; b0 += block) {
		const size_t b1 = m1 - b0 < block ? m1 : b0 + block, tiles = (b1 - b0 + mrx - 1) / mrx;
		for (size_t k0 = 0; k0 < k; k0 += kc) {
			const size_t kn = k - k0 < kc ? k - k0 : kc, share = (kn + tiles - 1) / tiles;
			const int first = k0 == 0, last = k0 + kn == k;
			for (size_t p = p0, np; p < p1; p += np) {
				size_t nr;
				const int w = tile_cols(x, g, p, p0, p1, &np, &nr);
				/* next: the following panel's slice, or the first panel's next slice (only
				 * the one-panel AVX2 tiles prefetch) */
				const float *next = NULL;
				if (tiles >= x->pf_min_tiles && p + np < p1)
					next = g->packed + ((p + np) * k + k0) * 16;
				else if (tiles >= x->pf_min_tiles && !last)
					next = g->packed + (p0 * k + k0 + kn) * 16;
				size_t t = 0;
				for (size_t i = b0, mr; i < b1; i += mr, t++) {
					mr = tile_rows(b1 - i, mrx);
					for (size_t l = t * share; next && l < (t + 1) * share && l < kn; l++)
						_mm_prefetch((const char *)(next + l * 16), _MM_HINT_T0);
					const kernel_s_fn *kf = t == 0 && tiles > 1 && x->p[w][1] ? x->p[w] : x->s[w];
					kf[mr](kn, g->a + i * k + k0, k, g->packed + (p * k + k0) * 16, k * 16,
					       g->bias ? g->bias + p * 16 : NULL, g->c + i * g->n + p * 16, g->n, nr,
					       first, last ? g : NULL,
					       last && g->residual ? g->residual + i * g->n + p * 16 : NULL);
				}
			}
		}
	}
}
#endif

void effc_rt_gemm_fast_rect(const struct effc_rt_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1)
{
	const size_t c0 = p0 * 16, c1 = p1 * 16 < g->n ? p1 * 16 : g->n;
	if (m0 >= m1 || c0 >= c1)
		return;
#ifdef EFFC_RT_AVX2
	const size_t k = g->k;
	const struct isa *x = pick_isa();
	/* b_scale is fused into the AVX-512 row blocks only (the streaming order's weights are read
	 * once anyway; AVX2 and the portable loop are the paths of other CPUs) */
	if (g->b_scale && (x != &isa_avx512 || k * g->n * sizeof(float) > GEMM_B_STREAM_BYTES ||
			   !effc_rt_gemm_fast_available() || g->a_scale)) {
		const struct effc_rt_gemm h = prescaled(g, p0, p1);
		effc_rt_gemm_fast_rect(&h, m0, m1, p0, p1);
		return;
	}
	if (g->a_scale || !effc_rt_gemm_fast_available()) { /* not used by the compiler yet: keep it correct, not fast */
		gemm_ref_rect(g, m0, m1, c0, c1);
		return;
	}
	/* All of B counts: threads that split the panels (n > m) each stream their share. */
	if (k * g->n * sizeof(float) > GEMM_B_STREAM_BYTES) {
		gemm_stream(x, g, m0, m1, p0, p1);
		return;
	}
	/* e: what the tiles apply in registers before their one store: the clamp, HardSwish and
	 * the residual. Swish alone is swept over the block afterwards (vectorised, the block in
	 * L2): in the tiles' registers it measured 0.99-1.04x that on B0's expansion shapes
	 * (Zen 4, GEMM microbenchmark, alternating), as 24 accumulators leave its exponential no
	 * room; HardSwish in registers measured 0.87-0.99x a sweep, the clamp's old scalar pass had
	 * been 60-68% of an EfficientNet-Lite's time (a branch per element, mispredicted). */
	const int sweep = g->act == EFFC_RT_ACT_SWISH;
	struct effc_rt_gemm e = *g;
	if (sweep)
		e.act = EFFC_RT_ACT_NONE, e.residual = NULL;
	const size_t block = row_block(g, m1 - m0, c1 - c0, x->mr_max), pn = (g->n + 15) / 16;
	p1 = p1 < pn ? p1 : pn;
	for (size_t b0 = m0; b0 < m1; b0 += block) {
		const size_t b1 = m1 - b0 < block ? m1 : b0 + block;
		for (size_t p = p0, np; p < p1; p += np) {
			size_t nr;
			const int w = tile_cols(x, g, p, p0, p1, &np, &nr);
			for (size_t i = b0, mr; i < b1; i += mr) {
				mr = tile_rows(b1 - i, x->mr_max);
				const float *res = e.residual ? e.residual + i * g->n + p * 16 : NULL;
				if (g->b_scale && i == m0) /* scales the panel into b_work, which the others read */
					kernels512_c[w][mr](k, g->a + i * k, k, g->packed + p * k * 16, k * 16,
							    g->bias ? g->bias + p * 16 : NULL, g->c + i * g->n + p * 16,
							    g->n, nr, 1, &e, res);
				else
					x->s[w][mr](k, g->a + i * k, k,
						    (g->b_scale ? g->b_work : g->packed) + p * k * 16, k * 16,
						    g->bias ? g->bias + p * 16 : NULL, g->c + i * g->n + p * 16,
						    g->n, nr, 1, &e, res);
			}
		}
		if (sweep)
			swish_sweep(g, b0, b1, c0, c1);
	}
#else
	if (g->b_scale) {
		const struct effc_rt_gemm h = prescaled(g, p0, p1);
		gemm_ref_rect(&h, m0, m1, c0, c1);
		return;
	}
	gemm_ref_rect(g, m0, m1, c0, c1);
#endif
}

void effc_rt_gemm_fast(const struct effc_rt_gemm *g, size_t m0, size_t m1)
{
	effc_rt_gemm_fast_rect(g, m0, m1, 0, (g->n + 15) / 16);
}

int effc_rt_gemm_segments(const struct effc_rt_gemm *g, const float *const *a, const size_t *b_off, size_t segs,
			  size_t ks, size_t lda)
{
#ifdef EFFC_RT_AVX2
	if (!effc_rt_use_avx512() || !segs)
		return 0;
	const struct isa *x = &isa_avx512;
	const size_t k = g->k, pn = (g->n + 15) / 16;
	for (size_t p = 0, np; p < pn; p += np) {
		size_t nr;
		const int w = tile_cols(x, g, p, 0, pn, &np, &nr);
		for (size_t i = 0, mr; i < g->m; i += mr) {
			const float *ai[16];
			mr = tile_rows(g->m - i, x->mr_max);
			for (size_t sg = 0; sg < segs; sg++)
				ai[sg] = a[sg] + i * lda;
			kernels512_g[w][mr](ks, segs, ai, b_off, lda, g->packed + p * k * 16, k * 16,
					    g->bias ? g->bias + p * 16 : NULL, g->c + i * g->n + p * 16, g->n, nr, g);
		}
	}
	return 1;
#else
	(void)g, (void)a, (void)b_off, (void)segs, (void)ks, (void)lda;
	return 0;
#endif
}

/* The runs are short (the stem's are 9 floats), and a loop GCC turns back into a call to
 * memmove costs more than the copy: fixed-size pieces compile to plain vector moves. */
static inline void copy_floats(float *restrict dst, const float *restrict src, size_t n)
{
	for (; n >= 8; n -= 8, dst += 8, src += 8)
		memcpy(dst, src, 8 * sizeof(float));
	if (n >= 4)
		memcpy(dst, src, 4 * sizeof(float)), n -= 4, dst += 4, src += 4;
	if (n >= 2)
		memcpy(dst, src, 2 * sizeof(float)), n -= 2, dst += 2, src += 2;
	if (n)
		*dst = *src;
}

/* The patch of output pixel (oy, ox) of one image, kh x kw x C in the packed B's k order. */
static void gather(const struct effc_rt_im2col *c, const float *img, int oy, int ox, float *dst)
{
	const struct effc_rt_conv2d *p = &c->p;
	const size_t W = (size_t)p->in_w, C = (size_t)p->in_c;
	const int ix0 = ox * p->sw - p->pad_left;
	/* With dilation 1 and every tap of the row inside, a kernel row is one run of kw * C. */
	const int whole = p->dw == 1 && ix0 >= 0 && ix0 + p->kw <= (int)W;
	for (int ky = 0; ky < p->kh; ky++, dst += (size_t)p->kw * C) {
		const int iy = oy * p->sh - p->pad_top + ky * p->dh;
		if (iy < 0 || iy >= p->in_h) {
			memset(dst, 0, (size_t)p->kw * C * sizeof(float));
			continue;
		}
		const float *row = img + (size_t)iy * W * C;
		if (whole) {
			copy_floats(dst, row + (size_t)ix0 * C, (size_t)p->kw * C);
			continue;
		}
		for (int kx = 0; kx < p->kw; kx++) {
			const int ix = ix0 + kx * p->dw;
			if (ix < 0 || ix >= (int)W)
				memset(dst + (size_t)kx * C, 0, C * sizeof(float));
			else
				copy_floats(dst + (size_t)kx * C, row + (size_t)ix * C, C);
		}
	}
}

/* Output pixels [ox0, ox1) of row r through the im2col buffer; dst: the row's pixel 0. */
static void im2col_pixels(const struct effc_rt_im2col *c, float *buf, size_t r, int ox0, int ox1, float *dst)
{
	const struct effc_rt_conv2d *p = &c->p;
	const size_t OH = (size_t)p->out_h, N = (size_t)p->out_c;
	const float *img = c->in + r / OH * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
	if (ox0 >= ox1)
		return;
	for (int ox = ox0; ox < ox1; ox++)
		gather(c, img, (int)(r % OH), ox, buf + (size_t)(ox - ox0) * c->k);
	const struct effc_rt_gemm g = {.m = (size_t)(ox1 - ox0), .n = N, .k = c->k, .a = buf, .packed = c->packed,
				       .bias = c->bias, .c = dst + (size_t)ox0 * N,
				       .out_min = p->out_min, .out_max = p->out_max, .act = p->act};
	effc_rt_gemm_fast(&g, 0, g.m);
}

/* Output row r (of batch x out_h) into dst. With the AVX-512 tiles and dilation 1, the pixels
 * [ox_lo, ox_hi) whose taps are all inside the row read the image in place, one segment of k
 * per tap row inside the image (effc_rt_gemm_segments), and only the border pixels go through
 * the buffer. The gather had been about a third of the stem's time (B0: 0.31 ms for a GEMM
 * that runs in 0.2 alone). */
static void im2col_row(const struct effc_rt_im2col *c, float *buf, size_t r, int ox_lo, int ox_hi, float *dst)
{
	const struct effc_rt_conv2d *p = &c->p;
	const size_t OH = (size_t)p->out_h, OW = (size_t)p->out_w, H = (size_t)p->in_h, W = (size_t)p->in_w;
	const size_t C = (size_t)p->in_c, N = (size_t)p->out_c;
	const int direct = p->dw == 1 && p->kh <= 16 && ox_hi > ox_lo;
	const float *img = c->in + r / OH * H * W * C;
	const int oy = (int)(r % OH);
	const float *a[16];
	size_t off[16], segs = 0;
	for (int ky = 0; direct && ky < p->kh; ky++) {
		const int iy = oy * p->sh - p->pad_top + ky * p->dh;
		if (iy >= 0 && iy < (int)H) {
			a[segs] = img + ((size_t)iy * W + (size_t)(ox_lo * p->sw - p->pad_left)) * C;
			off[segs++] = (size_t)ky * (size_t)p->kw * C;
		}
	}
	const struct effc_rt_gemm g = {.m = (size_t)(ox_hi - ox_lo), .n = N, .k = c->k, .packed = c->packed,
				       .bias = c->bias, .c = dst + (size_t)ox_lo * N,
				       .out_min = p->out_min, .out_max = p->out_max, .act = p->act};
	if (segs && effc_rt_gemm_segments(&g, a, off, segs, (size_t)p->kw * C, (size_t)p->sw * C)) {
		im2col_pixels(c, buf, r, 0, ox_lo, dst);
		im2col_pixels(c, buf, r, ox_hi, (int)OW, dst);
	} else {
		im2col_pixels(c, buf, r, 0, (int)OW, dst);
	}
}

/* Tile row u of Winograd's batch x ceil(oh / 2): its first output row (of batch x oh) and how
 * many it has (the last one of an odd-height image has one). */
static inline size_t wino_row0(size_t oh, size_t u) { return u / ((oh + 1) / 2) * oh + 2 * (u % ((oh + 1) / 2)); }
static inline size_t wino_rows(size_t oh, size_t u) { return 2 * (u % ((oh + 1) / 2)) + 1 < oh ? 2 : 1; }

/* Winograd F(2x2, 3x3): tile row u (of batch x ceil(out_h / 2)), output rows 2(u % TH) and the
 * one after it (if inside the image) written from dst on. The 3x3 convolution's 9 multiplies
 * per output become 16 per 2x2 tile, 2.25x fewer, as 16 GEMMs M[xi] = V[xi] U[xi] over wino_t
 * tiles at a time (k = in_c, n = out_c); transforms around them in the channel loop. At
 * EfficientNetV2's sizes (in_c 24-64, out_c 24-256) the GEMMs run at the rate of the im2col
 * ones and the transforms cost little next to the MACs saved (see docs/performance.md). */
static void wino_tile_row(const struct effc_rt_im2col *c, float *ws, size_t u, float *dst)
{
	const struct effc_rt_conv2d *p = &c->p;
	const size_t OH = (size_t)p->out_h, OW = (size_t)p->out_w, H = (size_t)p->in_h, W = (size_t)p->in_w;
	const size_t C = (size_t)p->in_c, N = (size_t)p->out_c, np = (N + 15) / 16 * 16;
	const size_t TH = (OH + 1) / 2, TW = (OW + 1) / 2, T = c->wino_t;
	const size_t b = u / TH, oy = 2 * (u % TH), rows = wino_rows(OH, u);
	const float *img = c->in + b * H * W * C;
	float *V = ws, *M = ws + 16 * T * C;
	for (size_t t0 = 0; t0 < TW; t0 += T) {
		const size_t nt = TW - t0 < T ? TW - t0 : T;
		for (size_t t = 0; t < nt; t++) {
			const float *d[16];
			const long iy0 = (long)oy - p->pad_top, ix0 = (long)(2 * (t0 + t)) - p->pad_left;
			for (int i = 0; i < 4; i++)
				for (int j = 0; j < 4; j++) {
					const long iy = iy0 + i, ix = ix0 + j;
					d[i * 4 + j] = iy >= 0 && iy < (long)H && ix >= 0 && ix < (long)W ?
							       img + ((size_t)iy * W + (size_t)ix) * C : c->zeros;
				}
			effc_rt_wino_in(C, d, V + t * C, T * C);
		}
		for (size_t xi = 0; xi < 16; xi++) {
			const struct effc_rt_gemm g = {.m = nt, .n = N, .k = C, .a = V + xi * T * C,
						       .packed = c->packed + xi * np * C, .c = M + xi * T * N,
						       .out_min = -INFINITY, .out_max = INFINITY};
			effc_rt_gemm_fast(&g, 0, nt);
		}
		for (size_t t = 0; t < nt; t++) {
			const size_t ox = 2 * (t0 + t);
			float *y0 = dst + ox * N;
			effc_rt_wino_out(N, M + t * N, T * N, c->bias, p->out_min, p->out_max, y0,
					 rows > 1 ? y0 + OW * N : NULL, OW - ox < 2 ? 1 : 2);
		}
	}
	if (p->act == EFFC_RT_ACT_SWISH)
		effc_rt_swish(rows * OW * N, dst, dst);
	else if (p->act == EFFC_RT_ACT_HARDSWISH)
		effc_rt_hardswish(rows * OW * N, dst, dst);
}

/* The Winograd form of effc_rt_im2col_task: tasks split tile rows (two output rows each), and a
 * Fused-MBConv's bands are whole tile rows (c->band is even). */
static void wino_task(const struct effc_rt_im2col *c, size_t t)
{
	const size_t OH = (size_t)c->p.out_h, OW = (size_t)c->p.out_w, N = (size_t)c->p.out_c;
	const size_t units = (size_t)c->p.batch * ((OH + 1) / 2), chunk = (units + c->tasks - 1) / c->tasks;
	const size_t u0 = t * chunk, u1 = u0 + chunk < units ? u0 + chunk : units;
	float *ws = c->bufs + t * c->buf_floats;
	if (!c->proj.packed) {
		for (size_t u = u0; u < u1; u++)
			wino_tile_row(c, ws, u, c->out + wino_row0(OH, u) * OW * N);
		return;
	}
	float *band = c->bands + t * c->band_floats;
	const size_t n2 = c->proj.n, per = c->band / 2;
	for (size_t v0 = u0; v0 < u1; v0 += per) {
		const size_t v1 = u1 - v0 < per ? u1 : v0 + per;
		const size_t r0 = wino_row0(OH, v0), r1 = wino_row0(OH, v1 - 1) + wino_rows(OH, v1 - 1);
		for (size_t u = v0; u < v1; u++)
			wino_tile_row(c, ws, u, band + (wino_row0(OH, u) - r0) * OW * N);
		struct effc_rt_gemm g = c->proj;
		g.m = (r1 - r0) * OW;
		g.a = band;
		g.c = c->proj.c + r0 * OW * n2;
		g.residual = c->proj.residual ? c->proj.residual + r0 * OW * n2 : NULL;
		effc_rt_gemm_fast(&g, 0, g.m);
	}
}

/* Task t's share of the output rows. A Fused-MBConv (c->proj.packed set) writes them `band`
 * rows at a time to the task's band buffer and projects each band while it is in L2, the
 * residual added in the projection's store step: the expanded tensor (V2-S: 7 MB at 96x96x192)
 * never goes to memory. */
void effc_rt_im2col_task(const struct effc_rt_im2col *c, size_t t)
{
	const struct effc_rt_conv2d *p = &c->p;
	const size_t OH = (size_t)p->out_h, OW = (size_t)p->out_w, W = (size_t)p->in_w;
	const size_t N = (size_t)p->out_c, rows = (size_t)p->batch * OH;
	const size_t chunk = (rows + c->tasks - 1) / c->tasks, r0 = t * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
	if (c->wino) {
		wino_task(c, t);
		return;
	}
	float *buf = c->bufs + t * c->buf_floats;
	int ox_lo = 0, ox_hi = (int)OW;
	while (ox_lo < (int)OW && ox_lo * p->sw - p->pad_left < 0)
		ox_lo++;
	while (ox_hi > ox_lo && (ox_hi - 1) * p->sw - p->pad_left + p->kw > (int)W)
		ox_hi--;
	if (!c->proj.packed) {
		for (size_t r = r0; r < r1; r++)
			im2col_row(c, buf, r, ox_lo, ox_hi, c->out + r * OW * N);
		return;
	}
	float *band = c->bands + t * c->band_floats;
	const size_t n2 = c->proj.n;
	for (size_t b0 = r0; b0 < r1; b0 += c->band) {
		const size_t b1 = r1 - b0 < c->band ? r1 : b0 + c->band;
		for (size_t r = b0; r < b1; r++)
			im2col_row(c, buf, r, ox_lo, ox_hi, band + (r - b0) * OW * N);
		struct effc_rt_gemm g = c->proj;
		g.m = (b1 - b0) * OW;
		g.a = band;
		g.c = c->proj.c + b0 * OW * n2;
		g.residual = c->proj.residual ? c->proj.residual + b0 * OW * n2 : NULL;
		effc_rt_gemm_fast(&g, 0, g.m);
	}
}
