/* effc_rt_kernels.c: the runtime's own kernels in plain C. They are the path for what XNNPACK
 * lacks (HardSigmoid, run-time BatchNormalization, generic transposes and reductions, convolution
 * and matmul with run-time weights) and the reference the XNNPACK paths are tested against.
 * Written for clarity first; loops are ordered so the compiler can vectorise the inner one. */
#include "effc_rt.h"
#include "effc_rt_simd.h"

#include <math.h>
#include <string.h>

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void effc_rt_ref_conv2d(const struct effc_rt_conv2d *p, const float *w, const float *bias, const float *in,
			float *out)
{
	const int gin = p->in_c / p->groups, gout = p->out_c / p->groups;
	/* Element strides of activations and weights in the two layouts. */
	ptrdiff_t is_n, is_c, is_h, is_w, os_n, os_c, os_h, os_w, ws_o, ws_i, ws_h, ws_w;
	if (p->nhwc) {
		is_c = 1, is_w = p->in_c, is_h = (ptrdiff_t)p->in_w * p->in_c, is_n = is_h * p->in_h;
		os_c = 1, os_w = p->out_c, os_h = (ptrdiff_t)p->out_w * p->out_c, os_n = os_h * p->out_h;
		ws_i = 1, ws_w = gin, ws_h = (ptrdiff_t)p->kw * gin, ws_o = ws_h * p->kh;
	} else {
		is_w = 1, is_h = p->in_w, is_c = (ptrdiff_t)p->in_h * p->in_w, is_n = is_c * p->in_c;
		os_w = 1, os_h = p->out_w, os_c = (ptrdiff_t)p->out_h * p->out_w, os_n = os_c * p->out_c;
		ws_w = 1, ws_h = p->kw, ws_i = (ptrdiff_t)p->kh * p->kw, ws_o = ws_i * gin;
	}
	for (int n = 0; n < p->batch; n++)
		for (int oc = 0; oc < p->out_c; oc++) {
			const int g = oc / gout;
			for (int oy = 0; oy < p->out_h; oy++)
				for (int ox = 0; ox < p->out_w; ox++) {
					float acc = bias ? bias[oc] : 0.0f;
					for (int ky = 0; ky < p->kh; ky++) {
						const int iy = oy * p->sh - p->pad_top + ky * p->dh;
						if (iy < 0 || iy >= p->in_h)
							continue;
						for (int kx = 0; kx < p->kw; kx++) {
							const int ix = ox * p->sw - p->pad_left + kx * p->dw;
							if (ix < 0 || ix >= p->in_w)
								continue;
							const float *ip = in + n * is_n + iy * is_h + ix * is_w + (ptrdiff_t)g * gin * is_c;
							const float *wp = w + oc * ws_o + ky * ws_h + kx * ws_w;
							for (int ic = 0; ic < gin; ic++)
								acc += ip[ic * is_c] * wp[ic * ws_i];
						}
					}
					out[n * os_n + oc * os_c + oy * os_h + ox * os_w] = clampf(acc, p->out_min, p->out_max);
				}
		}
}

void effc_rt_ref_matmul(const struct effc_rt_matmul *p, const float *a, const float *b, const float *bias,
			float *out)
{
	int total = 1;
	for (int i = 0; i < p->batch_rank; i++)
		total *= p->batch[i];
	for (int bi = 0; bi < total; bi++) {
		ptrdiff_t ao = 0, bo = 0, co = 0;
		for (int i = p->batch_rank - 1, rem = bi; i >= 0; i--) {
			int idx = rem % p->batch[i];
			rem /= p->batch[i];
			ao += idx * p->a_bstride[i], bo += idx * p->b_bstride[i], co += idx * p->bias_bstride[i];
		}
		float *o = out + (ptrdiff_t)bi * p->m * p->n;
		for (int i = 0; i < p->m; i++)
			for (int j = 0; j < p->n; j++) {
				float acc = 0.0f;
				for (int k = 0; k < p->k; k++)
					acc += a[ao + i * p->a_sm + k * p->a_sk] * b[bo + k * p->b_sk + j * p->b_sn];
				float v = p->alpha * acc;
				if (bias)
					v += p->beta * bias[co + i * p->bias_sm + j * p->bias_sn];
				o[i * p->n + j] = clampf(v, p->out_min, p->out_max);
			}
	}
}

void effc_rt_ref_binary(const struct effc_rt_binary *p, const float *a, const float *b, float *out)
{
	size_t od[EFFC_RT_MAX_RANK], as[EFFC_RT_MAX_RANK], bs[EFFC_RT_MAX_RANK], total = 1;
	size_t sa = 1, sb = 1;
	for (int i = p->rank - 1; i >= 0; i--) {
		od[i] = p->a_shape[i] > p->b_shape[i] ? p->a_shape[i] : p->b_shape[i];
		as[i] = p->a_shape[i] == 1 ? 0 : sa;
		bs[i] = p->b_shape[i] == 1 ? 0 : sb;
		sa *= p->a_shape[i], sb *= p->b_shape[i], total *= od[i];
	}
	for (size_t e = 0; e < total; e++) {
		size_t rem = e, ao = 0, bo = 0;
		for (int i = p->rank - 1; i >= 0; i--) {
			size_t idx = rem % od[i];
			rem /= od[i];
			ao += idx * as[i], bo += idx * bs[i];
		}
		float x = a[ao], y = b[bo], v;
		switch (p->op) {
		case EFFC_RT_ADD: v = x + y; break;
		case EFFC_RT_SUB: v = x - y; break;
		case EFFC_RT_MUL: v = x * y; break;
		default: v = x / y; break;
		}
		out[e] = clampf(v, p->out_min, p->out_max);
	}
}

/* QuantizeLinear alone: the integer as a float (an 8-bit graph output, and fake_quant1's first half). */
static inline float quant_value1(float x, float scale, float zp, float qmin, float qmax)
{
	float q = nearbyintf(x / scale) + zp;
	q = q < qmin ? qmin : q;
	return q > qmax ? qmax : q;
}

/* QuantizeLinear then DequantizeLinear in float (a QDQ model's activation pair, lower_qdq.c):
 * y = (clamp(rne(x / scale) + zp, qmin, qmax) - zp) * scale, rne rounding half to even as ONNX
 * specifies (nearbyintf in the default rounding mode; the vector forms' round to nearest).
 * Division, not a multiplication by 1 / scale: that is what ONNX and ONNX Runtime compute, and a
 * reciprocal could move a value across a rounding boundary. NaN stays NaN on every path. */
static inline float fake_quant1(float x, float scale, float zp, float qmin, float qmax)
{
	return (quant_value1(x, scale, zp, qmin, qmax) - zp) * scale;
}

void effc_rt_quant_values(size_t n, float scale, float zp, float qmin, float qmax, const float *in, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = quant_value1(in[i], scale, zp, qmin, qmax);
}

void effc_rt_dequant_values(size_t n, float scale, float zp, const float *in, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (in[i] - zp) * scale;
}

void effc_rt_ref_unary(const struct effc_rt_unary *p, const float *in, float *out, const float *lo, const float *hi)
{
	const size_t n = p->rows * p->channels;
	switch (p->op) {
	case EFFC_RT_SIGMOID:
		for (size_t i = 0; i < n; i++)
			out[i] = 1.0f / (1.0f + expf(-in[i]));
		break;
	case EFFC_RT_CLAMP:
		for (size_t i = 0; i < n; i++)
			out[i] = clampf(in[i], p->min, p->max);
		break;
	case EFFC_RT_CLAMP_DYN: {
		const float l = lo ? *lo : -INFINITY, h = hi ? *hi : INFINITY;
		/* ONNX Clip: min is applied first, then max, so min > max yields max. */
		for (size_t i = 0; i < n; i++) {
			float v = in[i] < l ? l : in[i];
			out[i] = v > h ? h : v;
		}
		break;
	}
	case EFFC_RT_HARDSWISH:
		for (size_t i = 0; i < n; i++)
			out[i] = in[i] * clampf(in[i] / 6.0f + 0.5f, 0.0f, 1.0f);
		break;
	case EFFC_RT_HARDSIGMOID:
		for (size_t i = 0; i < n; i++)
			out[i] = clampf(p->alpha * in[i] + p->beta, 0.0f, 1.0f);
		break;
	case EFFC_RT_FAKE_QUANT:
		for (size_t i = 0; i < n; i++)
			out[i] = fake_quant1(in[i], p->alpha, p->beta, p->min, p->max);
		break;
	case EFFC_RT_SWISH_OP:
		effc_rt_ref_swish(n, in, out);
		break;
	case EFFC_RT_QUANT_VALUES:
		effc_rt_quant_values(n, p->alpha, p->beta, p->min, p->max, in, out);
		break;
	case EFFC_RT_DEQUANT_VALUES:
		effc_rt_dequant_values(n, p->alpha, p->beta, in, out);
		break;
	}
}

void effc_rt_ref_channel_affine(size_t outer, size_t channels, size_t inner, const float *scale, const float *bias,
				const float *mean, const float *var, float eps, const float *in, float *out)
{
	for (size_t o = 0; o < outer; o++)
		for (size_t c = 0; c < channels; c++) {
			const float s = scale[c] / sqrtf(var[c] + eps), t = bias[c] - mean[c] * s;
			const float *x = in + (o * channels + c) * inner;
			float *y = out + (o * channels + c) * inner;
			for (size_t i = 0; i < inner; i++)
				y[i] = x[i] * s + t;
		}
}

void effc_rt_ref_reduce_mean(const struct effc_rt_shape *s, const int *mask, const float *in, float *out)
{
	size_t total = 1, out_total = 1, count = 1;
	size_t ostride[EFFC_RT_MAX_RANK];
	for (int i = s->rank - 1; i >= 0; i--) {
		total *= s->dims[i];
		ostride[i] = mask[i] ? 0 : out_total;
		if (mask[i])
			count *= s->dims[i];
		else
			out_total *= s->dims[i];
	}
	for (size_t i = 0; i < out_total; i++)
		out[i] = 0.0f;
	for (size_t e = 0; e < total; e++) {
		size_t rem = e, oo = 0;
		for (int i = s->rank - 1; i >= 0; i--) {
			oo += (rem % s->dims[i]) * ostride[i];
			rem /= s->dims[i];
		}
		out[oo] += in[e];
	}
	for (size_t i = 0; i < out_total; i++)
		out[i] /= (float)count;
}

void effc_rt_ref_softmax(size_t outer, size_t n, size_t inner, const float *in, float *out)
{
	for (size_t o = 0; o < outer; o++)
		for (size_t j = 0; j < inner; j++) {
			const float *x = in + o * n * inner + j;
			float *y = out + o * n * inner + j;
			float mx = -INFINITY, sum = 0.0f;
			for (size_t i = 0; i < n; i++)
				mx = x[i * inner] > mx ? x[i * inner] : mx;
			for (size_t i = 0; i < n; i++)
				sum += (y[i * inner] = expf(x[i * inner] - mx));
			for (size_t i = 0; i < n; i++)
				y[i * inner] /= sum;
		}
}

/* out[b][j][i] = in[b][i][j] for an R x C matrix per batch, in cache-sized tiles. */
static void transpose_2d(size_t batch, size_t R, size_t C, const float *in, float *out)
{
	for (size_t b = 0; b < batch; b++, in += R * C, out += R * C)
		for (size_t i0 = 0; i0 < R; i0 += 32)
			for (size_t j0 = 0; j0 < C; j0 += 32)
				for (size_t i = i0; i < R && i < i0 + 32; i++)
					for (size_t j = j0; j < C && j < j0 + 32; j++)
						out[j * R + i] = in[i * C + j];
}

/* Multiversioned where the toolchain supports it: the AVX2+FMA clone is picked at load time on
 * CPUs that have it, the baseline elsewhere. Same source, same results within rounding. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__APPLE__) && !defined(EFFC_RT_NO_CLONES)
#define EFFC_RT_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define EFFC_RT_CLONES
#endif

/* Three planes into RGB pixels, the model input's usual conversion: with the channel count a
 * constant the compiler turns the loop into vector loads and shuffles (224x224x3: 0.013 ms
 * where the general tiled loop's stride-3 scalar stores took 0.10, 2% of a Lite-B0). */
EFFC_RT_CLONES static void interleave3(size_t HW, size_t q0, size_t q1, const float *restrict src, float *restrict dst)
{
	const float *s0 = src, *s1 = src + HW, *s2 = src + 2 * HW;
	for (size_t j = q0; j < q1; j++) {
		dst[3 * j] = s0[j];
		dst[3 * j + 1] = s1[j];
		dst[3 * j + 2] = s2[j];
	}
}

void effc_rt_nchw_to_nhwc_rows(size_t C, size_t HW, size_t p0, size_t p1, const float *in, float *out)
{
	/* Pixels [p0, p1) of the batch: one image's part at a time, as a 2-D transpose of its
	 * [C][pixels] block (row stride HW) into [pixels][C]. */
	while (p0 < p1) {
		const size_t b = p0 / HW, q0 = p0 % HW, q1 = p1 - b * HW < HW ? p1 - b * HW : HW;
		const float *src = in + b * C * HW;
		float *dst = out + (b * HW) * C;
		if (C == 3) {
			interleave3(HW, q0, q1, src, dst);
			p0 = b * HW + q1;
			continue;
		}
		for (size_t j0 = q0; j0 < q1; j0 += 32)
			for (size_t i = 0; i < C; i++)
				for (size_t j = j0; j < q1 && j < j0 + 32; j++)
					dst[j * C + i] = src[i * HW + j];
		p0 = b * HW + q1;
	}
}

void effc_rt_ref_transpose(const struct effc_rt_shape *s, const int *perm, const float *in, float *out)
{
	/* The layout conversions NCHW <-> NHWC are batched 2-D transposes; NCHW -> NHWC over all
	 * pixels is what the threads split in pieces (effc_rt_run). */
	if (s->rank == 4 && perm[0] == 0 && perm[1] == 2 && perm[2] == 3 && perm[3] == 1) {
		const size_t hw = (size_t)(s->dims[2] * s->dims[3]);
		effc_rt_nchw_to_nhwc_rows((size_t)s->dims[1], hw, 0, (size_t)s->dims[0] * hw, in, out);
		return;
	}
	if (s->rank == 4 && perm[0] == 0 && perm[1] == 3 && perm[2] == 1 && perm[3] == 2) {
		transpose_2d(s->dims[0], s->dims[1] * s->dims[2], s->dims[3], in, out);
		return;
	}
	size_t istride[EFFC_RT_MAX_RANK], od[EFFC_RT_MAX_RANK], total = 1;
	for (int i = s->rank - 1, st = 1; i >= 0; i--) {
		istride[i] = (size_t)st;
		st *= (int)s->dims[i];
	}
	for (int i = 0; i < s->rank; i++)
		od[i] = s->dims[perm[i]], total *= od[i];
	for (size_t e = 0; e < total; e++) {
		size_t rem = e, io = 0;
		for (int i = s->rank - 1; i >= 0; i--) {
			io += (rem % od[i]) * istride[perm[i]];
			rem /= od[i];
		}
		out[e] = in[io];
	}
}

void effc_rt_ref_pad(const struct effc_rt_shape *s, const int64_t *begin, const int64_t *end, float value,
		     const float *in, float *out)
{
	size_t od[EFFC_RT_MAX_RANK], istride[EFFC_RT_MAX_RANK], total = 1;
	for (int i = s->rank - 1, st = 1; i >= 0; i--) {
		istride[i] = (size_t)st;
		st *= (int)s->dims[i];
		od[i] = (size_t)((int64_t)s->dims[i] + begin[i] + end[i]);
		total *= od[i];
	}
	for (size_t e = 0; e < total; e++) {
		size_t rem = e, io = 0;
		int inside = 1;
		for (int i = s->rank - 1; i >= 0; i--) {
			int64_t idx = (int64_t)(rem % od[i]) - begin[i];
			rem /= od[i];
			if (idx < 0 || idx >= (int64_t)s->dims[i])
				inside = 0;
			else
				io += (size_t)idx * istride[i];
		}
		out[e] = inside ? in[io] : value;
	}
}

void effc_rt_ref_gap(size_t batch, size_t hw, size_t channels, const float *in, float *out)
{
	for (size_t b = 0; b < batch; b++) {
		float *o = out + b * channels;
		for (size_t c = 0; c < channels; c++)
			o[c] = 0.0f;
		for (size_t i = 0; i < hw; i++)
			for (size_t c = 0; c < channels; c++)
				o[c] += in[(b * hw + i) * channels + c];
		for (size_t c = 0; c < channels; c++)
			o[c] /= (float)hw;
	}
}

void effc_rt_ref_scale_bias(size_t outer, size_t channels, size_t inner, const float *scale, const float *bias,
			    const float *in, float *out)
{
	for (size_t o = 0; o < outer; o++)
		for (size_t c = 0; c < channels; c++) {
			const float *x = in + (o * channels + c) * inner;
			float *y = out + (o * channels + c) * inner;
			for (size_t i = 0; i < inner; i++)
				y[i] = x[i] * scale[c] + bias[c];
		}
}

void effc_rt_ref_swish(size_t n, const float *in, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] / (1.0f + expf(-in[i]));
}


/* exp(x) for x <= 0 by range reduction x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial for
 * e^r and the exponent bits for 2^n; branch-free so the loop vectorises. */
static inline float exp_neg(float x0)
{
	const float x = x0 > -87.3365f ? x0 : -87.3365f;
	/* Round to nearest by the 1.5 * 2^23 trick: no libm call, vectorises without SSE4.1. */
	const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
	const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
	float p = 1.38888889e-3f;
	p = p * r + 8.33333333e-3f;
	p = p * r + 4.16666667e-2f;
	p = p * r + 1.66666667e-1f;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	union {
		float f;
		int32_t i;
	} u = {.i = ((int32_t)n + 127) << 23};
	/* Below ln(FLT_MIN) = -87.34, 2^n would need a subnormal exponent: 0 there (error under
	 * FLT_MIN), so swish(-inf) is -inf * 0 = NaN as in ONNX. */
	return x0 > -87.3365f ? p * u.f : 0.0f;
}

/* Portable Swish: the compiler vectorises this for any target. */
static void swish_portable(size_t n, const float *in, float *out)
{
	/* sigmoid(x) = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below: e = e^-|x| never
	 * overflows. Selects, not branches, and one division, so the loop vectorises. */
	for (size_t i = 0; i < n; i++) {
		const float x = in[i];
		const float ax = x < 0 ? -x : x;
		const float e = exp_neg(-ax);
		const float num = x < 0 ? e : 1.0f;
		out[i] = x * num / (1.0f + e);
	}
}

#ifdef EFFC_RT_HAVE_AVX2
/* The same function in AVX2+FMA (effc_rt_simd.h), used where the CPU has it. */
EFFC_RT_AVX2_FN static void swish_avx2(size_t n, const float *in, float *out)
{
	size_t i = 0;
	/* Four independent chains per step: one is a long dependency chain the core cannot hide. */
	for (; i + 32 <= n; i += 32) {
		const __m256 a = effc_rt_swish8(_mm256_loadu_ps(in + i)), b = effc_rt_swish8(_mm256_loadu_ps(in + i + 8));
		const __m256 c = effc_rt_swish8(_mm256_loadu_ps(in + i + 16)), d = effc_rt_swish8(_mm256_loadu_ps(in + i + 24));
		_mm256_storeu_ps(out + i, a), _mm256_storeu_ps(out + i + 8, b);
		_mm256_storeu_ps(out + i + 16, c), _mm256_storeu_ps(out + i + 24, d);
	}
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, effc_rt_swish8(_mm256_loadu_ps(in + i)));
	if (i < n) { /* the rest masked: the same bits as in the vector body */
		const __m256i m = effc_rt_first_lanes8(n - i);
		_mm256_maskstore_ps(out + i, m, effc_rt_swish8(_mm256_maskload_ps(in + i, m)));
	}
}

/* AVX-512, with its table exponential: 0.155 ns per element on Zen 4 against 0.22 for the AVX2
 * form on 8 lanes; the tail is a masked step. */
EFFC_RT_AVX512_FN static void swish_avx512(size_t n, const float *in, float *out)
{
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		const __m512 a = effc_rt_swish16(_mm512_loadu_ps(in + i)), b = effc_rt_swish16(_mm512_loadu_ps(in + i + 16));
		_mm512_storeu_ps(out + i, a), _mm512_storeu_ps(out + i + 16, b);
	}
	for (; i < n; i += 16) {
		const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
		_mm512_mask_storeu_ps(out + i, m, effc_rt_swish16(_mm512_maskz_loadu_ps(m, in + i)));
	}
}
#endif

/* Portable sigmoid: e = e^-|x| never overflows; selects, so the loop vectorises. */
static void sigmoid_portable(size_t n, const float *in, float *out)
{
	for (size_t i = 0; i < n; i++) {
		const float x = in[i], e = exp_neg(x < 0 ? x : -x);
		out[i] = x != x ? x : (x < 0 ? e : 1.0f) / (1.0f + e); /* NaN stays NaN */
	}
}

#ifdef EFFC_RT_HAVE_AVX2
EFFC_RT_AVX2_FN static void sigmoid_avx2(size_t n, const float *in, float *out)
{
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		const __m256 a = effc_rt_sigmoid8(_mm256_loadu_ps(in + i));
		const __m256 b = effc_rt_sigmoid8(_mm256_loadu_ps(in + i + 8));
		_mm256_storeu_ps(out + i, a), _mm256_storeu_ps(out + i + 8, b);
	}
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, effc_rt_sigmoid8(_mm256_loadu_ps(in + i)));
	if (i < n) {
		const __m256i m = effc_rt_first_lanes8(n - i);
		_mm256_maskstore_ps(out + i, m, effc_rt_sigmoid8(_mm256_maskload_ps(in + i, m)));
	}
}

EFFC_RT_AVX512_FN static void sigmoid_avx512(size_t n, const float *in, float *out)
{
	for (size_t i = 0; i < n; i += 16) {
		const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
		_mm512_mask_storeu_ps(out + i, m, effc_rt_sigmoid16(_mm512_maskz_loadu_ps(m, in + i)));
	}
}
#endif

void effc_rt_sigmoid(size_t n, const float *in, float *out)
{
#ifdef EFFC_RT_HAVE_AVX2
	if (effc_rt_use_avx512()) {
		sigmoid_avx512(n, in, out);
		return;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		sigmoid_avx2(n, in, out);
		return;
	}
#endif
	sigmoid_portable(n, in, out);
}

void effc_rt_swish(size_t n, const float *in, float *out)
{
#ifdef EFFC_RT_HAVE_AVX2
	if (effc_rt_use_avx512()) {
		swish_avx512(n, in, out);
		return;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		swish_avx2(n, in, out);
		return;
	}
#endif
	swish_portable(n, in, out);
}

/* ---- Winograd F(2x2, 3x3) transforms (Lavin and Gray, 2015) ----
 * G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 * A^T = [1 1 1 0; 0 1 -1 -1]. Each transform runs over the channels, contiguous in NHWC, so the
 * compiler vectorises the channel loop; GCC is told the rows do not overlap what it writes. */
void effc_rt_wino_weights(size_t n, size_t c, const float *w, float *u)
{
	static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
	for (size_t o = 0; o < n; o++)
		for (size_t i = 0; i < c; i++) {
			double gw[4][3]; /* G g */
			for (int a = 0; a < 4; a++)
				for (int x = 0; x < 3; x++) {
					gw[a][x] = 0.0;
					for (int y = 0; y < 3; y++)
						gw[a][x] += G[a][y] * (double)w[((o * 3 + (size_t)y) * 3 + (size_t)x) * c + i];
				}
			for (int a = 0; a < 4; a++)
				for (int b = 0; b < 4; b++) {
					double v = 0.0;
					for (int x = 0; x < 3; x++)
						v += gw[a][x] * G[b][x];
					u[((size_t)(a * 4 + b) * n + o) * c + i] = (float)v;
				}
		}
}

#if defined(__GNUC__) && !defined(__clang__)
#define EFFC_RT_IVDEP _Pragma("GCC ivdep")
#else
#define EFFC_RT_IVDEP
#endif

EFFC_RT_CLONES void effc_rt_wino_in(size_t c, const float *const d[16], float *v, size_t v_stride)
{
	EFFC_RT_IVDEP
	for (size_t k = 0; k < c; k++) {
		float t[4][4];
		for (int j = 0; j < 4; j++) { /* B^T d: rows */
			const float d0 = d[j][k], d1 = d[4 + j][k], d2 = d[8 + j][k], d3 = d[12 + j][k];
			t[0][j] = d0 - d2, t[1][j] = d1 + d2, t[2][j] = d2 - d1, t[3][j] = d1 - d3;
		}
		for (int i = 0; i < 4; i++) { /* (B^T d) B: columns */
			float *o = v + (size_t)(4 * i) * v_stride + k;
			o[0] = t[i][0] - t[i][2];
			o[v_stride] = t[i][1] + t[i][2];
			o[2 * v_stride] = t[i][2] - t[i][1];
			o[3 * v_stride] = t[i][1] - t[i][3];
		}
	}
}

EFFC_RT_CLONES void effc_rt_wino_out(size_t n, const float *m, size_t m_stride, const float *bias, float lo, float hi,
				     float *y0, float *y1, size_t cols)
{
	EFFC_RT_IVDEP
	for (size_t k = 0; k < n; k++) {
		float s[2][4];
		for (int j = 0; j < 4; j++) { /* A^T m: rows */
			const float m0 = m[(size_t)j * m_stride + k], m1 = m[(size_t)(4 + j) * m_stride + k];
			const float m2 = m[(size_t)(8 + j) * m_stride + k], m3 = m[(size_t)(12 + j) * m_stride + k];
			s[0][j] = m0 + m1 + m2, s[1][j] = m1 - m2 - m3;
		}
		const float b = bias ? bias[k] : 0.0f;
		float y[2][2];
		for (int i = 0; i < 2; i++) { /* (A^T m) A: columns; then the bias and the clamp */
			y[i][0] = s[i][0] + s[i][1] + s[i][2] + b;
			y[i][1] = s[i][1] - s[i][2] - s[i][3] + b;
			for (int j = 0; j < 2; j++) {
				y[i][j] = y[i][j] < lo ? lo : y[i][j];
				y[i][j] = y[i][j] > hi ? hi : y[i][j];
			}
		}
		y0[k] = y[0][0];
		if (cols > 1)
			y0[n + k] = y[0][1];
		if (y1) {
			y1[k] = y[1][0];
			if (cols > 1)
				y1[n + k] = y[1][1];
		}
	}
}

EFFC_RT_CLONES static void hardswish_portable(size_t n, const float *in, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] * clampf(in[i] * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f);
}

#ifdef EFFC_RT_HAVE_AVX2
/* The kernels' in-register form (effc_rt_simd.h), so a sweep gives the bits they give. */
EFFC_RT_AVX2_FN static void hardswish_avx2(size_t n, const float *in, float *out)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, effc_rt_hardswish8(_mm256_loadu_ps(in + i)));
	if (i < n) {
		const __m256i m = effc_rt_first_lanes8(n - i);
		_mm256_maskstore_ps(out + i, m, effc_rt_hardswish8(_mm256_maskload_ps(in + i, m)));
	}
}

EFFC_RT_AVX512_FN static void hardswish_avx512(size_t n, const float *in, float *out)
{
	for (size_t i = 0; i < n; i += 16) {
		const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
		_mm512_mask_storeu_ps(out + i, m, effc_rt_hardswish16(_mm512_maskz_loadu_ps(m, in + i)));
	}
}
#endif

void effc_rt_hardswish(size_t n, const float *in, float *out)
{
#ifdef EFFC_RT_HAVE_AVX2
	if (effc_rt_use_avx512()) {
		hardswish_avx512(n, in, out);
		return;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		hardswish_avx2(n, in, out);
		return;
	}
#endif
	hardswish_portable(n, in, out);
}

/* HardSigmoid clamp(alpha x + beta, 0, 1): the standalone op that is left when a HardSigmoid is
 * not HardSwish's half (fuse_activation) nor an SE gate (fuse_se). One FMA then the clamp with
 * the constant first, so a NaN passes through as the reference's clampf passes it; the FMA's
 * single rounding may differ from the reference's two by an ulp. */
EFFC_RT_CLONES static void hardsigmoid_portable(size_t n, float alpha, float beta, const float *in, float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = clampf(alpha * in[i] + beta, 0.0f, 1.0f);
}

#ifdef EFFC_RT_HAVE_AVX2
EFFC_RT_AVX2_FN static void hardsigmoid_avx2(size_t n, float alpha, float beta, const float *in, float *out)
{
	const __m256 a = _mm256_set1_ps(alpha), b = _mm256_set1_ps(beta);
	const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, effc_rt_clamp8(_mm256_fmadd_ps(_mm256_loadu_ps(in + i), a, b), zero, one));
	if (i < n) {
		const __m256i m = effc_rt_first_lanes8(n - i);
		_mm256_maskstore_ps(out + i, m, effc_rt_clamp8(_mm256_fmadd_ps(_mm256_maskload_ps(in + i, m), a, b), zero, one));
	}
}

EFFC_RT_AVX512_FN static void hardsigmoid_avx512(size_t n, float alpha, float beta, const float *in, float *out)
{
	const __m512 a = _mm512_set1_ps(alpha), b = _mm512_set1_ps(beta);
	const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
	for (size_t i = 0; i < n; i += 16) {
		const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
		const __m512 t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, in + i), a, b);
		_mm512_mask_storeu_ps(out + i, m, effc_rt_clamp16(t, zero, one));
	}
}
#endif

void effc_rt_hardsigmoid(size_t n, float alpha, float beta, const float *in, float *out)
{
#ifdef EFFC_RT_HAVE_AVX2
	if (effc_rt_use_avx512()) {
		hardsigmoid_avx512(n, alpha, beta, in, out);
		return;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		hardsigmoid_avx2(n, alpha, beta, in, out);
		return;
	}
#endif
	hardsigmoid_portable(n, alpha, beta, in, out);
}


EFFC_RT_CLONES static void fake_quant_portable(size_t n, float scale, float zp, float qmin, float qmax, const float *in,
					       float *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = fake_quant1(in[i], scale, zp, qmin, qmax);
}

#ifdef EFFC_RT_HAVE_AVX2
EFFC_RT_AVX2_FN static __m256 fake_quant8(__m256 x, __m256 s, __m256 z, __m256 lo, __m256 hi)
{
	__m256 q = _mm256_round_ps(_mm256_div_ps(x, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	q = _mm256_min_ps(hi, _mm256_max_ps(lo, _mm256_add_ps(q, z)));
	return _mm256_mul_ps(_mm256_sub_ps(q, z), s);
}

EFFC_RT_AVX2_FN static void fake_quant_avx2(size_t n, float scale, float zp, float qmin, float qmax, const float *in,
					    float *out)
{
	const __m256 s = _mm256_set1_ps(scale), z = _mm256_set1_ps(zp), lo = _mm256_set1_ps(qmin), hi = _mm256_set1_ps(qmax);
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, fake_quant8(_mm256_loadu_ps(in + i), s, z, lo, hi));
	for (; i < n; i++)
		out[i] = fake_quant1(in[i], scale, zp, qmin, qmax);
}

EFFC_RT_AVX512_FN static void fake_quant_avx512(size_t n, float scale, float zp, float qmin, float qmax,
						const float *in, float *out)
{
	const __m512 s = _mm512_set1_ps(scale), z = _mm512_set1_ps(zp), lo = _mm512_set1_ps(qmin), hi = _mm512_set1_ps(qmax);
	for (size_t i = 0; i < n; i += 16) {
		const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
		__m512 q = _mm512_roundscale_ps(_mm512_div_ps(_mm512_maskz_loadu_ps(m, in + i), s),
						_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		q = _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_add_ps(q, z)));
		_mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_sub_ps(q, z), s));
	}
}
#endif

void effc_rt_fake_quant(size_t n, float scale, float zp, float qmin, float qmax, const float *in, float *out)
{
#ifdef EFFC_RT_HAVE_AVX2
	if (effc_rt_use_avx512()) {
		fake_quant_avx512(n, scale, zp, qmin, qmax, in, out);
		return;
	}
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		fake_quant_avx2(n, scale, zp, qmin, qmax, in, out);
		return;
	}
#endif
	fake_quant_portable(n, scale, zp, qmin, qmax, in, out);
}

/* sum a[i] * b[i] in eight independent partial sums, so the loop vectorises without
 * reassociation (these dot products are the SE's whole cost once it is fused). */
static float dot_portable(size_t n, const float *a, const float *b)
{
	float acc[8] = {0};
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (size_t l = 0; l < 8; l++)
			acc[l] += a[i + l] * b[i + l];
	float s = 0.0f;
	for (; i < n; i++)
		s += a[i] * b[i];
	for (size_t l = 0; l < 8; l++)
		s += acc[l];
	return s;
}

typedef float (*dot_fn)(size_t n, const float *a, const float *b);

#ifdef EFFC_RT_HAVE_AVX2
/* Four chains of 8-lane FMAs, the rest masked. The SE's second layer is dots of R = C/24 or so
 * (58 in B3's late blocks), where the baseline build's 4-lane multiply-adds and scalar rest
 * left the gate compute-bound: B3's 10x10x1392 gate took 30 us with its weights in cache or
 * not; now 11 us in cache, and from DRAM (B3: 48 MB of weights) still about 30, the time to
 * read its 646 KB. Fetching them during the depthwise before it measured no faster in the
 * model (A/B 1.002). */
EFFC_RT_AVX2_FN static float dot_avx2(size_t n, const float *a, const float *b)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
	}
	for (int q = 0; i + 8 <= n; i += 8, q++) {
		const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		if (q == 0)
			s1 = _mm256_add_ps(s1, v);
		else if (q == 1)
			s2 = _mm256_add_ps(s2, v);
		else
			s3 = _mm256_add_ps(s3, v);
	}
	if (i < n) {
		const __m256i m = effc_rt_first_lanes8(n - i);
		s0 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s0);
	}
	const __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
	__m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}
#endif

static dot_fn pick_dot(void)
{
#ifdef EFFC_RT_HAVE_AVX2
	if (effc_rt_gemm_fast_available())
		return dot_avx2;
#endif
	return dot_portable;
}

void effc_rt_se_hidden(const struct effc_rt_se *p, const float *const w[4], const float *pooled, float *hidden,
		       size_t j0, size_t j1)
{
	const float *w1 = w[0], *b1 = w[1];
	const dot_fn dot = pick_dot();
	for (size_t j = j0; j < j1; j++)
		hidden[j] = clampf((b1 ? b1[j] : 0.0f) + dot(p->channels, w1 + j * p->channels, pooled), p->act_min, p->act_max);
	if (p->act == EFFC_RT_ACT_SWISH)
		effc_rt_swish(j1 - j0, hidden + j0, hidden + j0);
	else if (p->act == EFFC_RT_ACT_HARDSWISH)
		effc_rt_hardswish(j1 - j0, hidden + j0, hidden + j0);
}

void effc_rt_se_gate_out(const struct effc_rt_se *p, const float *const w[4], const float *hidden, float *gate,
			 size_t c0, size_t c1)
{
	const float *w2 = w[2], *b2 = w[3];
	const dot_fn dot = pick_dot();
	for (size_t c = c0; c < c1; c++)
		gate[c] = (b2 ? b2[c] : 0.0f) + dot(p->reduced, w2 + c * p->reduced, hidden);
	if (p->gate == EFFC_RT_GATE_SIGMOID) {
		effc_rt_sigmoid(c1 - c0, gate + c0, gate + c0); /* vectorised: expf per channel was a quarter of the op */
	} else {
		for (size_t c = c0; c < c1; c++)
			gate[c] = clampf(p->gate_alpha * gate[c] + p->gate_beta, 0.0f, 1.0f);
	}
}

void effc_rt_se_gate_vec(const struct effc_rt_se *p, const float *const w[4], const float *pooled, float *hidden,
			 float *gate)
{
	effc_rt_se_hidden(p, w, pooled, hidden, 0, p->reduced);
	effc_rt_se_gate_out(p, w, hidden, gate, 0, p->channels);
}

static void act_row_sums_portable(size_t r0, size_t r1, size_t width, size_t channels, enum effc_rt_act act,
				  float *data, float *sums)
{
	for (size_t r = r0; r < r1; r++) {
		float *s = sums + r * channels, *row = data + r * width * channels;
		if (act == EFFC_RT_ACT_SWISH)
			effc_rt_swish(width * channels, row, row);
		else if (act == EFFC_RT_ACT_HARDSWISH)
			effc_rt_hardswish(width * channels, row, row);
		for (size_t c = 0; c < channels; c++)
			s[c] = row[c];
		for (size_t x = 1; x < width; x++)
			for (size_t c = 0; c < channels; c++)
				s[c] += row[x * channels + c];
	}
}

#ifdef EFFC_RT_HAVE_AVX2
/* Swish and the sums in one sweep, nearly as fast as Swish alone: 32 channels at a time down
 * the row (four independent vectors per step), their sums in registers. */
EFFC_RT_AVX2_FN static void swish_row_sums_avx2(size_t r0, size_t r1, size_t width, size_t channels, float *data,
						float *sums)
{
	for (size_t r = r0; r < r1; r++) {
		float *row = data + r * width * channels, *s = sums + r * channels;
		size_t c = 0;
		for (; c + 32 <= channels; c += 32) {
			__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
			for (size_t x = 0; x < width; x++) {
				float *y = row + x * channels + c;
				const __m256 v0 = effc_rt_swish8(_mm256_loadu_ps(y)), v1 = effc_rt_swish8(_mm256_loadu_ps(y + 8));
				const __m256 v2 = effc_rt_swish8(_mm256_loadu_ps(y + 16)), v3 = effc_rt_swish8(_mm256_loadu_ps(y + 24));
				_mm256_storeu_ps(y, v0), _mm256_storeu_ps(y + 8, v1);
				_mm256_storeu_ps(y + 16, v2), _mm256_storeu_ps(y + 24, v3);
				a0 = _mm256_add_ps(a0, v0), a1 = _mm256_add_ps(a1, v1);
				a2 = _mm256_add_ps(a2, v2), a3 = _mm256_add_ps(a3, v3);
			}
			_mm256_storeu_ps(s + c, a0), _mm256_storeu_ps(s + c + 8, a1);
			_mm256_storeu_ps(s + c + 16, a2), _mm256_storeu_ps(s + c + 24, a3);
		}
		for (; c + 8 <= channels; c += 8) {
			__m256 a0 = _mm256_setzero_ps();
			for (size_t x = 0; x < width; x++) {
				float *y = row + x * channels + c;
				const __m256 v = effc_rt_swish8(_mm256_loadu_ps(y));
				_mm256_storeu_ps(y, v);
				a0 = _mm256_add_ps(a0, v);
			}
			_mm256_storeu_ps(s + c, a0);
		}
		if (c < channels) { /* channels not a multiple of 8 */
			const size_t c0 = c;
			for (; c < channels; c++)
				s[c] = 0.0f;
			for (size_t x = 0; x < width; x++) {
				float *y = row + x * channels;
				effc_rt_swish(channels - c0, y + c0, y + c0);
				for (c = c0; c < channels; c++)
					s[c] += y[c];
			}
		}
	}
}
#endif

#ifdef EFFC_RT_HAVE_AVX2
EFFC_RT_AVX512_FN static void swish_row_sums_avx512(size_t r0, size_t r1, size_t width, size_t channels, float *data,
						  float *sums)
{
	for (size_t r = r0; r < r1; r++) {
		float *row = data + r * width * channels, *s = sums + r * channels;
		size_t c = 0;
		for (; c + 32 <= channels; c += 32) {
			__m512 a0 = _mm512_setzero_ps(), a1 = a0;
			for (size_t x = 0; x < width; x++) {
				float *y = row + x * channels + c;
				const __m512 v0 = effc_rt_swish16(_mm512_loadu_ps(y)), v1 = effc_rt_swish16(_mm512_loadu_ps(y + 16));
				_mm512_storeu_ps(y, v0), _mm512_storeu_ps(y + 16, v1);
				a0 = _mm512_add_ps(a0, v0), a1 = _mm512_add_ps(a1, v1);
			}
			_mm512_storeu_ps(s + c, a0), _mm512_storeu_ps(s + c + 16, a1);
		}
		for (; c < channels; c += 16) {
			const __mmask16 m = channels - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (channels - c)) - 1);
			__m512 a0 = _mm512_setzero_ps();
			for (size_t x = 0; x < width; x++) {
				float *y = row + x * channels + c;
				const __m512 v = effc_rt_swish16(_mm512_maskz_loadu_ps(m, y));
				_mm512_mask_storeu_ps(y, m, v);
				a0 = _mm512_add_ps(a0, v);
			}
			_mm512_mask_storeu_ps(s + c, m, a0);
		}
	}
}
#endif

void effc_rt_act_row_sums(size_t r0, size_t r1, size_t width, size_t channels, enum effc_rt_act act, float *data,
			  float *sums)
{
#ifdef EFFC_RT_HAVE_AVX2
	if (act == EFFC_RT_ACT_SWISH && effc_rt_use_avx512()) {
		swish_row_sums_avx512(r0, r1, width, channels, data, sums);
		return;
	}
	if (act == EFFC_RT_ACT_SWISH && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		swish_row_sums_avx2(r0, r1, width, channels, data, sums);
		return;
	}
#endif
	act_row_sums_portable(r0, r1, width, channels, act, data, sums);
}

EFFC_RT_CLONES void effc_rt_scale_panels(size_t r0, size_t r1, size_t k, const float *s, const float *in, float *out)
{
	for (size_t r = r0; r < r1; r++) {
		const float v = s[r % k];
		for (size_t j = 0; j < 16; j++)
			out[r * 16 + j] = in[r * 16 + j] * v;
	}
}

EFFC_RT_CLONES void effc_rt_scale_rows(size_t r0, size_t r1, size_t channels, const float *s, const float *in, float *out)
{
	for (size_t r = r0; r < r1; r++)
		for (size_t c = 0; c < channels; c++)
			out[r * channels + c] = in[r * channels + c] * s[c];
}

void effc_rt_ref_se(const struct effc_rt_se *p, const float *w1, const float *b1, const float *w2, const float *b2,
		    const float *in, float *out, float *scratch)
{
	float *pooled = scratch, *hidden = scratch + p->channels, *gate = hidden + p->reduced;
	for (size_t b = 0; b < p->batch; b++) {
		const float *x = in + b * p->hw * p->channels;
		float *y = out + b * p->hw * p->channels;
		effc_rt_ref_gap(1, p->hw, p->channels, x, pooled);
		for (size_t j = 0; j < p->reduced; j++) {
			float h = b1 ? b1[j] : 0.0f;
			for (size_t k = 0; k < p->channels; k++)
				h += w1[j * p->channels + k] * pooled[k];
			h = clampf(h, p->act_min, p->act_max);
			if (p->act == EFFC_RT_ACT_SWISH)
				h = h / (1.0f + expf(-h));
			else if (p->act == EFFC_RT_ACT_HARDSWISH)
				h = h * clampf(h / 6.0f + 0.5f, 0.0f, 1.0f);
			hidden[j] = h;
		}
		for (size_t c = 0; c < p->channels; c++) {
			float a = b2 ? b2[c] : 0.0f;
			for (size_t j = 0; j < p->reduced; j++)
				a += w2[c * p->reduced + j] * hidden[j];
			gate[c] = p->gate == EFFC_RT_GATE_SIGMOID ? 1.0f / (1.0f + expf(-a))
								  : clampf(p->gate_alpha * a + p->gate_beta, 0.0f, 1.0f);
		}
		effc_rt_scale_rows(0, p->hw, p->channels, gate, x, y);
	}
}
