/* effc_rt_simd.h: AVX2+FMA building blocks shared by our kernels (internal to the runtime).
 * Only compiled on x86-64 with GCC or Clang; callers check the CPU at run time and keep a
 * portable path. Everything is static inline so each kernel's epilogue stays in registers. */
#ifndef EFFC_RT_SIMD_H
#define EFFC_RT_SIMD_H

/* EFFC_RT_NO_SIMD leaves the portable C paths only, as on a CPU without AVX2+FMA: the unit
 * tests build the runtime that way too, so those paths are tested on this machine. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(EFFC_RT_NO_SIMD)
#define EFFC_RT_HAVE_AVX2 1
#include <immintrin.h>

#define EFFC_RT_AVX2_FN __attribute__((target("avx2,fma")))
#define EFFC_RT_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/* 1 + e^-x on 8 lanes, the denominator of Swish x * sigmoid(x) = x / (1 + e^-x) and of the
 * sigmoid. e^-x by range reduction (n rounded by the 1.5*2^23 trick, whose low mantissa bits,
 * biased by 127, become 2^n after a shift; one-constant ln2, which costs at most 2.4e-7
 * relative at |n| = 127) and a degree-5 polynomial (least-squares minimax on [-ln2/2, ln2/2]).
 * Max relative error of swish 4e-7. The function is throughput-bound on the FMA ports (each op
 * removed is ~5% of it), hence one division and no select, x's sign folded into the constants
 * (t = x + n*ln2 is minus the reduced argument) and 1 + 2^n * p(-t) as one FMA. x is clamped to
 * [-88.8, 88]. At 88, n = -127 gives biased exponent 0, so 2^n and e^-x are exactly 0 and
 * swish(x) = x for x >= 88 (+inf stays +inf). Below -88.38, n = 128 gives exponent 255, so
 * e^-x = +inf and swish(x) = -0 for x <= -88.4 (true value below 4e-37), and
 * swish(-inf) = -inf / inf = NaN, as ONNX's x * Sigmoid(x) gives. A NaN stays NaN. */
EFFC_RT_AVX2_INLINE __m256 effc_rt_one_plus_exp_neg8(__m256 x)
{
	const __m256 magic = _mm256_set1_ps(12583039.0f); /* 1.5 * 2^23 + 127 */
	const __m256 one = _mm256_set1_ps(1.0f);
	/* Constant first: max/min return their second operand, x, for a NaN. */
	const __m256 xc = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-88.8f), x));
	__m256 n = _mm256_fmadd_ps(xc, _mm256_set1_ps(-1.44269504f), magic);
	const __m256 s = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(n), 23)); /* 2^n */
	n = _mm256_sub_ps(n, magic);
	const __m256 t = _mm256_fmadd_ps(n, _mm256_set1_ps(0.69314718f), xc);
	/* Estrin's scheme: two short chains instead of one long one; odd coefficients negated. */
	const __m256 t2 = _mm256_mul_ps(t, t);
	const __m256 p01 = _mm256_fmadd_ps(_mm256_set1_ps(-1.666711420e-1f), t, _mm256_set1_ps(4.999923110e-1f));
	const __m256 p23 = _mm256_fmadd_ps(_mm256_set1_ps(-8.312525228e-3f), t, _mm256_set1_ps(4.189011455e-2f));
	const __m256 q = _mm256_fmadd_ps(_mm256_fmadd_ps(p23, t2, p01), t2, _mm256_sub_ps(one, t)); /* e^-t > 0 */
	return _mm256_fmadd_ps(q, s, one); /* s = +inf gives +inf, s = 0 gives 1 */
}

EFFC_RT_AVX2_INLINE __m256 effc_rt_swish8(__m256 x) { return _mm256_div_ps(x, effc_rt_one_plus_exp_neg8(x)); }

/* sigmoid(x) = 1 / (1 + e^-x) by the same exponential: 0 for x <= -88.4 and -inf, 1 for +inf,
 * NaN for NaN, the same relative error. */
EFFC_RT_AVX2_INLINE __m256 effc_rt_sigmoid8(__m256 x)
{
	return _mm256_div_ps(_mm256_set1_ps(1.0f), effc_rt_one_plus_exp_neg8(x));
}
/* The same on 16 lanes, for the AVX-512 kernels (Zen 4 runs a 512-bit op as two 256-bit halves:
 * the gain is half the instructions, not more FLOPs). Same constants, same edge cases. */
#define EFFC_RT_AVX512_FN __attribute__((target("avx512f,avx2,fma")))
#define EFFC_RT_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx2,fma")))

EFFC_RT_AVX512_INLINE __m512 effc_rt_one_plus_exp_neg16(__m512 x)
{
	const __m512 magic = _mm512_set1_ps(12583039.0f);
	const __m512 one = _mm512_set1_ps(1.0f);
	const __m512 xc = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-88.8f), x));
	__m512 n = _mm512_fmadd_ps(xc, _mm512_set1_ps(-1.44269504f), magic);
	const __m512 s = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(n), 23));
	n = _mm512_sub_ps(n, magic);
	const __m512 t = _mm512_fmadd_ps(n, _mm512_set1_ps(0.69314718f), xc);
	const __m512 t2 = _mm512_mul_ps(t, t);
	const __m512 p01 = _mm512_fmadd_ps(_mm512_set1_ps(-1.666711420e-1f), t, _mm512_set1_ps(4.999923110e-1f));
	const __m512 p23 = _mm512_fmadd_ps(_mm512_set1_ps(-8.312525228e-3f), t, _mm512_set1_ps(4.189011455e-2f));
	const __m512 q = _mm512_fmadd_ps(_mm512_fmadd_ps(p23, t2, p01), t2, _mm512_sub_ps(one, t));
	return _mm512_fmadd_ps(q, s, one);
}

EFFC_RT_AVX512_INLINE __m512 effc_rt_swish16(__m512 x) { return _mm512_div_ps(x, effc_rt_one_plus_exp_neg16(x)); }
#endif
#endif
