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

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(EFFC_RT_FORCE_XNNPACK)
#define EFFC_RT_AVX2 1
#include <immintrin.h>
#endif

int effc_rt_gemm_fast_available(void)
{
#ifdef EFFC_RT_AVX2
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return 0;
#endif
}

/* The AVX2 kernel where the CPU has it, else the portable loop. */
static int use_avx2(void)
{
	static int cached = -1;
	if (cached < 0)
		cached = effc_rt_gemm_fast_available();
	return cached;
}

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

static void epilogue(const struct effc_rt_gemm *g, size_t m0, size_t m1)
{
	float *c = g->c + m0 * g->n;
	const size_t count = (m1 - m0) * g->n;
	if (g->out_min > -__builtin_inff() || g->out_max < __builtin_inff())
		for (size_t i = 0; i < count; i++)
			c[i] = c[i] < g->out_min ? g->out_min : c[i] > g->out_max ? g->out_max : c[i];
	if (g->act == EFFC_RT_ACT_SWISH)
		effc_rt_swish(count, c, c);
	else if (g->act == EFFC_RT_ACT_HARDSWISH)
		effc_rt_hardswish(count, c, c);
	if (g->residual) {
		const float *r = g->residual + m0 * g->n;
		for (size_t i = 0; i < count; i++)
			c[i] += r[i];
	}
}

static void gemm_ref_rows(const struct effc_rt_gemm *g, size_t m0, size_t m1)
{
	const size_t k = g->k;
	for (size_t i = m0; i < m1; i++) {
		const float *a = g->a + i * k;
		for (size_t col = 0; col < g->n; col++) {
			const float *b = g->packed + (col / 16) * k * 16 + col % 16;
			float acc = g->bias ? g->bias[col] : 0.0f;
			for (size_t kk = 0; kk < k; kk++)
				acc += (g->a_scale ? a[kk] * g->a_scale[kk] : a[kk]) * b[kk * 16];
			g->c[i * g->n + col] = acc;
		}
	}
}

void effc_rt_gemm_ref(const struct effc_rt_gemm *g, size_t m0, size_t m1)
{
	gemm_ref_rows(g, m0, m1);
	epilogue(g, m0, m1);
}

#ifdef EFFC_RT_AVX2
/* 6 rows x 16 columns, all of k: twelve accumulators, two B loads and six broadcasts per step. */
__attribute__((target("avx2,fma"))) static void kernel_6x16(size_t k, const float *a, size_t lda, const float *b,
							       const float *bias, float *c, size_t ldc, size_t mr, size_t nr)
{
	__m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
	float bb[16] = {0};
	if (bias)
		memcpy(bb, bias, nr * sizeof(float));
	c00 = c10 = c20 = c30 = c40 = c50 = _mm256_loadu_ps(bb);
	c01 = c11 = c21 = c31 = c41 = c51 = _mm256_loadu_ps(bb + 8);
	/* Rows past mr read row 0 again (results discarded): no branches in the loop. */
	const float *a0 = a, *a1 = mr > 1 ? a + lda : a, *a2 = mr > 2 ? a + 2 * lda : a, *a3 = mr > 3 ? a + 3 * lda : a,
		    *a4 = mr > 4 ? a + 4 * lda : a, *a5 = mr > 5 ? a + 5 * lda : a;
	for (size_t kk = 0; kk < k; kk++, b += 16) {
		const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
		__m256 x;
		x = _mm256_broadcast_ss(a0 + kk);
		c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
		x = _mm256_broadcast_ss(a1 + kk);
		c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
		x = _mm256_broadcast_ss(a2 + kk);
		c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
		x = _mm256_broadcast_ss(a3 + kk);
		c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
		x = _mm256_broadcast_ss(a4 + kk);
		c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
		x = _mm256_broadcast_ss(a5 + kk);
		c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
	}
	if (nr == 16) {
		__m256 r0[6] = {c00, c10, c20, c30, c40, c50}, r1[6] = {c01, c11, c21, c31, c41, c51};
		for (size_t i = 0; i < mr; i++) {
			_mm256_storeu_ps(c + i * ldc, r0[i]);
			_mm256_storeu_ps(c + i * ldc + 8, r1[i]);
		}
		return;
	}
	float t[6][16];
	_mm256_storeu_ps(t[0], c00), _mm256_storeu_ps(t[0] + 8, c01);
	_mm256_storeu_ps(t[1], c10), _mm256_storeu_ps(t[1] + 8, c11);
	_mm256_storeu_ps(t[2], c20), _mm256_storeu_ps(t[2] + 8, c21);
	_mm256_storeu_ps(t[3], c30), _mm256_storeu_ps(t[3] + 8, c31);
	_mm256_storeu_ps(t[4], c40), _mm256_storeu_ps(t[4] + 8, c41);
	_mm256_storeu_ps(t[5], c50), _mm256_storeu_ps(t[5] + 8, c51);
	for (size_t i = 0; i < mr; i++)
		memcpy(c + i * ldc, t[i], nr * sizeof(float));
}
#endif

void effc_rt_gemm_fast(const struct effc_rt_gemm *g, size_t m0, size_t m1)
{
#ifdef EFFC_RT_AVX2
	const size_t k = g->k, panels = (g->n + 15) / 16;
	if (g->a_scale || !use_avx2()) { /* not used by the compiler yet: keep it correct, not fast */
		effc_rt_gemm_ref(g, m0, m1);
		return;
	}
	/* Blocks of 24 rows: the epilogue runs while they are still in cache. */
	for (size_t b0 = m0; b0 < m1; b0 += 24) {
		const size_t b1 = m1 - b0 < 24 ? m1 : b0 + 24;
		for (size_t p = 0; p < panels; p++) {
			const size_t nr = g->n - p * 16 < 16 ? g->n - p * 16 : 16;
			for (size_t i = b0; i < b1; i += 6)
				kernel_6x16(k, g->a + i * k, k, g->packed + p * k * 16, g->bias ? g->bias + p * 16 : NULL,
					    g->c + i * g->n + p * 16, g->n, b1 - i < 6 ? b1 - i : 6, nr);
		}
		epilogue(g, b0, b1);
	}
#else
	effc_rt_gemm_ref(g, m0, m1);
#endif
}
