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
#include <stdint.h>

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
/* The output clamp and HardSwish x * min(max(x/6 + 1/2, 0), 1) that the kernels apply in
 * registers before their store. The constant goes first: max and min return their second
 * operand, x, for a NaN, so a NaN passes through as ONNX's Clip and HardSwish give it. One FMA
 * for x/6 + 1/2, the same in every kernel on either instruction set, so their bits agree;
 * hardswish(-inf) is -inf * 0 = NaN, as ONNX's definition gives. */
EFFC_RT_AVX2_INLINE __m256 effc_rt_clamp8(__m256 x, __m256 lo, __m256 hi)
{
	return _mm256_min_ps(hi, _mm256_max_ps(lo, x));
}

/* The mask of the first n lanes (n <= 8) for maskload/maskstore: a loop's tail, a channel rest. */
EFFC_RT_AVX2_INLINE __m256i effc_rt_first_lanes8(size_t n)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

EFFC_RT_AVX2_INLINE __m256 effc_rt_hardswish8(__m256 x)
{
	const __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
	return _mm256_mul_ps(x, effc_rt_clamp8(t, _mm256_setzero_ps(), _mm256_set1_ps(1.0f)));
}

/* The AVX-512 kernels' own exponential (Zen 4 runs a 512-bit op as two 256-bit halves, so
 * the gain of 16 lanes is half the instructions, not more FLOPs). vpermt2d looks up 32 table
 * entries in one instruction, which the AVX2 form has no match for: e^-x = 2^(m/32) * e^-t with
 * m = round(-32 x log2(e)) and t = x + m ln2/32, |t| <= ln2/64, where a degree-2 polynomial is
 * enough (5.4e-8 relative). Five FMAs instead of eight: Swish costs 0.155 ns per element on
 * Zen 4 against 0.188 with the AVX2 form on 16 lanes. Max relative error of swish 4.4e-7 (the
 * one-constant ln2/32 again costs up to 2.4e-7 at the ends of the range), so its bits differ
 * from the AVX2 form's. The magic number's low bits are m + 127*32: shifted left by 18 they
 * give the exponent k + 127 (k = floor(m/32)) and j = m mod 32 in the mantissa's top 5 bits,
 * which the table entry, bits(2^(j/32)) - (127 << 23) - (j << 18), replaces by 2^(j/32)'s
 * mantissa. x is clamped to [-88.7, 88], so the exponent stays in [0, 254]: at 88 it is 0 and
 * 2^(m/32) a subnormal under 1.2e-38, so swish(x) = x for x >= 88; at -88.7 it is 254 and
 * e^-x about 3.3e38. The numerator is max(x, -88.7) too: swish(x) is -2.6e-37 for every
 * x <= -88.7, -inf included (the limit is 0; ONNX's x * Sigmoid(x) gives NaN there), and
 * sigmoid(x) 3e-39. A NaN stays NaN (max and min return their second operand, x, for one). */
#define EFFC_RT_AVX512_FN __attribute__((target("avx512f,avx2,fma")))
#define EFFC_RT_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx2,fma")))
/* bits(2^(j/32)) - (127 << 23) - (j << 18), j = 0..31, 2^(j/32) rounded to nearest (unit test) */
#define EFFC_RT_EXP2_32THS_LO                                                                                    \
	0, -78457, -152893, -223217, -289342, -351174, -408621, -461584, -509968, -553670, -592590, -626621, -655657, \
		-679589, -698305, -711690
#define EFFC_RT_EXP2_32THS_HI                                                                                   \
	-719629, -722001, -718684, -709555, -694486, -673346, -646004, -612322, -572163, -525384, -471841, -411385, \
		-343865, -269126, -187011, -97357

EFFC_RT_AVX512_INLINE __m512 effc_rt_exp_lo16(__m512 x) { return _mm512_max_ps(_mm512_set1_ps(-88.7f), x); }

/* 1 + e^-x for x already through effc_rt_exp_lo16 */
EFFC_RT_AVX512_INLINE __m512 effc_rt_one_plus_exp_neg16(__m512 xl)
{
	const __m512 magic = _mm512_set1_ps(12586976.0f); /* 1.5 * 2^23 + 127 * 32 */
	const __m512 one = _mm512_set1_ps(1.0f);
	static const int32_t tab[32] = {EFFC_RT_EXP2_32THS_LO, EFFC_RT_EXP2_32THS_HI};
	const __m512i tab_lo = _mm512_loadu_si512(tab), tab_hi = _mm512_loadu_si512(tab + 16);
	const __m512 xc = _mm512_min_ps(_mm512_set1_ps(88.0f), xl);
	const __m512 n = _mm512_fmadd_ps(xc, _mm512_set1_ps(-46.16624130844683f), magic); /* -32 log2(e) */
	const __m512i tj = _mm512_permutex2var_epi32(tab_lo, _mm512_castps_si512(n), tab_hi); /* index: low 5 bits */
	const __m512 s = _mm512_castsi512_ps(_mm512_add_epi32(_mm512_slli_epi32(_mm512_castps_si512(n), 18), tj));
	const __m512 t = _mm512_fmadd_ps(_mm512_sub_ps(n, magic), _mm512_set1_ps(0.021660849392498290f), xc);
	const __m512 p = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0.4999963343143463f), t,
							 _mm512_set1_ps(-1.0000146627426147f)), t, one); /* e^-t */
	return _mm512_fmadd_ps(s, p, one);
}

EFFC_RT_AVX512_INLINE __m512 effc_rt_swish16(__m512 x)
{
	const __m512 xl = effc_rt_exp_lo16(x);
	return _mm512_div_ps(xl, effc_rt_one_plus_exp_neg16(xl));
}

EFFC_RT_AVX512_INLINE __m512 effc_rt_sigmoid16(__m512 x)
{
	return _mm512_div_ps(_mm512_set1_ps(1.0f), effc_rt_one_plus_exp_neg16(effc_rt_exp_lo16(x)));
}

EFFC_RT_AVX512_INLINE __m512 effc_rt_clamp16(__m512 x, __m512 lo, __m512 hi)
{
	return _mm512_min_ps(hi, _mm512_max_ps(lo, x));
}

/* effc_rt_hardswish8's 16 lanes: the same operations, so the same bits */
EFFC_RT_AVX512_INLINE __m512 effc_rt_hardswish16(__m512 x)
{
	const __m512 t = _mm512_fmadd_ps(x, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
	return _mm512_mul_ps(x, effc_rt_clamp16(t, _mm512_setzero_ps(), _mm512_set1_ps(1.0f)));
}

/* 8 lanes in an AVX-512 kernel (a 24-wide GEMM tile's last 8 columns) take the 16-lane form,
 * so a value's Swish does not depend on the tile it falls in. */
EFFC_RT_AVX512_INLINE __m256 effc_rt_swish16_lo8(__m256 x)
{
	return _mm512_castps512_ps256(effc_rt_swish16(_mm512_zextps256_ps512(x)));
}
#endif
#endif
