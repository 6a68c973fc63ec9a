/* effc_rt_int8_pack.c: the int8 functions the compiler calls at compile time (weight packing,
 * tables, the requantization step for constant folding), declared in effc_rt_int8.h. Pure C with
 * no thread pool, so this file is one of the kernel sources linked into both the compiler and the
 * runtime (EFFC_KERNEL_SOURCES), while effc_rt_int8.c, which needs pthreadpool, is runtime only. */
#include "effc_rt_int8.h"

#include <math.h>
#include <string.h>

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* ---- Requantization ------------------------------------------------------------------------ */

float effc_rt_q8_multiplier(double s_in, double s_w, double s_out)
{
	/* In float, s_in * s_w first: ONNX Runtime's QLinearConv builds its per-channel scales so, and an
	 * accumulator whose exact product lies within an ulp of a .5 tie rounds by those bits. */
	const float m = (float)s_in * (float)s_w;
	return m / (float)s_out;
}

/* The same float steps as effc_rt_int8.c's requant (the store step of every kernel); the unit
 * test checks the kernels against references built on the same formula, and this function
 * against ties and saturation directly. */
int8_t effc_rt_q8_requant(int32_t acc, float mult, int32_t zp, int32_t lo, int32_t hi)
{
	float v = (float)acc * mult;
	v = fminf(fmaxf(v, (float)(lo - zp)), (float)(hi - zp));
	return (int8_t)((int32_t)lrintf(v) + zp);
}

/* ---- Table activations --------------------------------------------------------------------- */

int effc_rt_q8_lut_build(int8_t lut[256], enum effc_rt_q8_fn fn, float alpha, float beta,
			 struct effc_rt_q8_quant in, struct effc_rt_q8_quant out)
{
	if (!lut || !(in.scale > 0) || !isfinite(in.scale) || !(out.scale > 0) || !isfinite(out.scale) ||
	    in.zero_point < -128 || in.zero_point > 127 || out.zero_point < -128 || out.zero_point > 127)
		return EFFC_RT_ERR_ARGS;
	for (int q = -128; q < 128; q++) {
		const double x = (double)(q - in.zero_point) * in.scale;
		double f;
		switch (fn) {
		case EFFC_RT_Q8_FN_SIGMOID:
			f = 1.0 / (1.0 + exp(-x));
			break;
		case EFFC_RT_Q8_FN_SWISH:
			f = x / (1.0 + exp(-x));
			break;
		case EFFC_RT_Q8_FN_HARDSWISH:
			f = x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5));
			break;
		case EFFC_RT_Q8_FN_HARDSIGMOID:
			f = fmax(0.0, fmin(1.0, (double)alpha * x + beta));
			break;
		case EFFC_RT_Q8_FN_CLIP:
			f = fmin(fmax(x, alpha), beta);
			break;
		default:
			return EFFC_RT_ERR_ARGS;
		}
		double v = nearbyint(fmin(fmax(f / out.scale, -1024.0), 1024.0)) + out.zero_point;
		lut[(uint8_t)(int8_t)q] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
	}
	return EFFC_RT_OK;
}

/* ---- Packing ------------------------------------------------------------------------------- */

size_t effc_rt_q8_gemm_packed_bytes(size_t n, size_t k)
{
	const size_t np = round_up(n, 16);
	return 2 * np * sizeof(int32_t) + np * round_up(k, 4);
}

void effc_rt_q8_gemm_pack(size_t n, size_t k, const int8_t *w, const int32_t *bias, void *packed)
{
	const size_t np = round_up(n, 16), kg = round_up(k, 4) / 4;
	int32_t *b = packed, *wsum = b + np;
	int8_t *panels = (int8_t *)(wsum + np);
	memset(packed, 0, effc_rt_q8_gemm_packed_bytes(n, k));
	for (size_t c = 0; c < n; c++) {
		int32_t s = 0;
		for (size_t q = 0; q < k; q++) {
			s += w[c * k + q];
			panels[((c / 16) * kg + q / 4) * 64 + (c % 16) * 4 + q % 4] = w[c * k + q];
		}
		b[c] = bias ? bias[c] : 0;
		wsum[c] = s;
	}
}

size_t effc_rt_q8_dw_packed_bytes(size_t c, int kh, int kw)
{
	const size_t cp = round_up(c, 16);
	return (2 + (size_t)kh * (size_t)kw) * cp * sizeof(int32_t);
}

void effc_rt_q8_dw_pack(size_t c, int kh, int kw, const int8_t *w, const int32_t *bias, void *packed)
{
	const size_t cp = round_up(c, 16), taps = (size_t)kh * (size_t)kw;
	int32_t *b = packed, *wsum = b + cp, *pw = wsum + cp;
	memset(packed, 0, effc_rt_q8_dw_packed_bytes(c, kh, kw));
	for (size_t ch = 0; ch < c; ch++) {
		int32_t s = 0;
		for (size_t t = 0; t < taps; t++) {
			s += w[ch * taps + t];
			pw[t * cp + ch] = (int32_t)(uint16_t)(int16_t)w[ch * taps + t];
		}
		b[ch] = bias ? bias[ch] : 0;
		wsum[ch] = s;
	}
}

size_t effc_rt_q8_conv_packed_bytes(int out_c, int kh, int kw, int in_c)
{
	if (out_c <= 0 || kh <= 0 || kw <= 0 || in_c <= 0)
		return 0;
	return effc_rt_q8_gemm_packed_bytes((size_t)out_c, (size_t)kh * (size_t)kw * (size_t)in_c);
}

/* OHWI rows are the GEMM's [n][k] with k in (ky, kx, ci) order, the order of the runtime's
 * im2col rows. */
void effc_rt_q8_conv_pack(int out_c, int kh, int kw, int in_c, const int8_t *w, const int32_t *bias, void *packed)
{
	if (out_c <= 0 || kh <= 0 || kw <= 0 || in_c <= 0)
		return;
	effc_rt_q8_gemm_pack((size_t)out_c, (size_t)kh * (size_t)kw * (size_t)in_c, w, bias, packed);
}
