/* qparams.c: the arithmetic of quantization, with no graph in sight, so unit tests can pin it.
 *
 * Activations are asymmetric (scale, zero point) over a range widened to hold 0; weights are
 * symmetric int8 in [-127, 127] with zero point 0, per output channel or per tensor; biases are
 * int32 at s_in * s_w, the scale a quantized convolution accumulates at. The histogram
 * methods (percentile, MSE) pick a clipping range from a fixed-bin histogram: both are
 * approximate to a bin's width, which the tests allow for. */
#include "quantize.h"

#include <float.h>
#include <math.h>
#include <string.h>

void effc_qtype_range(enum effc_qtype t, int32_t *qmin, int32_t *qmax)
{
	*qmin = t == EFFC_QTYPE_UINT8 ? 0 : -128;
	*qmax = t == EFFC_QTYPE_UINT8 ? 255 : 127;
}

struct effc_qparams effc_qparams_from_range(float lo, float hi, enum effc_qtype t)
{
	int32_t qmin, qmax;
	effc_qtype_range(t, &qmin, &qmax);
	double a = lo < 0 ? lo : 0, b = hi > 0 ? hi : 0;
	if (!isfinite(a) || !isfinite(b))
		a = isfinite(a) ? a : -FLT_MAX / 512, b = isfinite(b) ? b : FLT_MAX / 512;
	double scale = (b - a) / (double)(qmax - qmin);
	struct effc_qparams q;
	if (!(scale >= FLT_MIN)) {
		/* A constant zero tensor (or a denormal range): any scale represents it exactly. */
		q.scale = 1.0f;
		q.zero_point = 0;
		return q;
	}
	q.scale = (float)scale;
	double zp = nearbyint((double)qmin - a / (double)q.scale);
	q.zero_point = (int32_t)(zp < qmin ? qmin : zp > qmax ? qmax : zp);
	return q;
}

int32_t effc_quantize_value(float x, struct effc_qparams q, enum effc_qtype t)
{
	int32_t qmin, qmax;
	effc_qtype_range(t, &qmin, &qmax);
	/* QuantizeLinear: saturate(round_half_even(x / scale) + zero_point), computed in float. */
	float r = nearbyintf(x / q.scale);
	double v = (double)r + q.zero_point;
	if (!(v >= qmin)) /* NaN too */
		return isnan(x) ? q.zero_point : qmin;
	return v > qmax ? qmax : (int32_t)v;
}

float effc_fake_quantize(float x, struct effc_qparams q, enum effc_qtype t)
{
	return (float)(effc_quantize_value(x, q, t) - q.zero_point) * q.scale;
}

static float sym_scale(const float *w, int64_t n)
{
	float m = 0;
	for (int64_t i = 0; i < n; i++)
		m = fmaxf(m, fabsf(w[i]));
	return m / 127.0f;
}

static void quant_row(const float *w, int64_t n, float s, int8_t *q)
{
	for (int64_t i = 0; i < n; i++) {
		float r = nearbyintf(w[i] / s);
		q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
	}
}

void effc_quantize_weights(const float *w, int64_t channels, int64_t per, int per_channel, int8_t *q,
			   float *scale)
{
	float maxs = 0;
	int64_t rows = per_channel ? channels : 1, len = per_channel ? per : channels * per;
	for (int64_t c = 0; c < rows; c++) {
		scale[c] = sym_scale(w + c * len, len);
		maxs = fmaxf(maxs, scale[c]);
	}
	for (int64_t c = 0; c < rows; c++) {
		if (!(scale[c] >= FLT_MIN))
			scale[c] = maxs >= FLT_MIN ? maxs : 1.0f;
		quant_row(w + c * len, len, scale[c], q + c * len);
	}
}

int effc_quantize_bias(const float *bias, int64_t channels, float s_in, float *s_w, int n_sw, const float *w,
		       int64_t per, int8_t *q, int32_t *qbias)
{
	const double lim = 2147483647.0;
	int adjusted = 0;
	/* Per tensor: raise the one scale to what the largest bias needs, once. */
	if (n_sw == 1) {
		double need = 0;
		for (int64_t c = 0; c < channels; c++)
			need = fmax(need, fabs((double)bias[c]) / ((double)s_in * lim));
		if (need > s_w[0]) {
			s_w[0] = (float)(need * (1 + 1e-6));
			quant_row(w, channels * per, s_w[0], q);
			adjusted = (int)channels;
		}
	}
	for (int64_t c = 0; c < channels; c++) {
		float *sw = &s_w[n_sw == 1 ? 0 : c];
		double s = (double)s_in * *sw;
		if (n_sw != 1 && fabs((double)bias[c]) / s > lim) {
			*sw = (float)(fabs((double)bias[c]) / ((double)s_in * lim) * (1 + 1e-6));
			quant_row(w + c * per, per, *sw, q + c * per);
			s = (double)s_in * *sw;
			adjusted++;
		}
		/* The scale ONNX Runtime dequantizes with is the float product. */
		float sf = s_in * *sw;
		double r = nearbyint((double)bias[c] / sf);
		qbias[c] = (int32_t)(r > lim ? lim : r < -lim ? -lim : r);
	}
	return adjusted;
}

void effc_hist_init(struct effc_hist *h, double lo, double hi)
{
	memset(h, 0, sizeof *h);
	h->lo = lo;
	h->hi = hi > lo ? hi : lo + 1e-30;
}

void effc_hist_add(struct effc_hist *h, const float *v, size_t n)
{
	const double w = (h->hi - h->lo) / EFFC_HIST_BINS;
	for (size_t i = 0; i < n; i++) {
		double b = (v[i] - h->lo) / w;
		if (!(b >= 0))
			b = 0;
		if (b > EFFC_HIST_BINS - 1)
			b = EFFC_HIST_BINS - 1;
		h->count[(int)b] += 1;
	}
	h->total += (double)n;
}

void effc_hist_percentile(const struct effc_hist *h, double percentile, float *lo, float *hi)
{
	const double w = (h->hi - h->lo) / EFFC_HIST_BINS;
	double tail = h->total * (1 - percentile / 100.0);
	int two = h->lo < 0 && h->hi > 0, lo_only = h->hi <= 0;
	double cut_lo = two ? tail / 2 : lo_only ? tail : 0, cut_hi = two ? tail / 2 : lo_only ? 0 : tail;
	int a = 0, b = EFFC_HIST_BINS - 1;
	double acc = 0;
	while (a < b && acc + h->count[a] <= cut_lo)
		acc += h->count[a++];
	acc = 0;
	while (b > a && acc + h->count[b] <= cut_hi)
		acc += h->count[b--];
	*lo = (float)(h->lo + a * w);
	*hi = (float)(h->lo + (b + 1) * w);
	if (!two && !lo_only)
		*lo = (float)h->lo;
	if (lo_only)
		*hi = (float)h->hi;
}

/* Expected squared error of quantizing the histogram with range [a, b]. */
static double hist_error(const struct effc_hist *h, double a, double b, enum effc_qtype t)
{
	struct effc_qparams q = effc_qparams_from_range((float)a, (float)b, t);
	int32_t qmin, qmax;
	effc_qtype_range(t, &qmin, &qmax);
	const double w = (h->hi - h->lo) / EFFC_HIST_BINS, s = q.scale;
	const double rlo = (qmin - q.zero_point) * s, rhi = (qmax - q.zero_point) * s;
	double e = 0;
	for (int i = 0; i < EFFC_HIST_BINS; i++) {
		if (!h->count[i])
			continue;
		double x = h->lo + (i + 0.5) * w;
		if (x < rlo)
			e += h->count[i] * (rlo - x) * (rlo - x);
		else if (x > rhi)
			e += h->count[i] * (x - rhi) * (x - rhi);
		else
			e += h->count[i] * s * s / 12.0;
	}
	return e;
}

void effc_hist_mse(const struct effc_hist *h, enum effc_qtype t, float *lo, float *hi)
{
	double best = INFINITY, blo = h->lo, bhi = h->hi;
	for (int k = 1; k <= 200; k++) {
		double f = k / 200.0;
		double a = h->lo * f, b = h->hi * f;
		if (h->lo > 0)
			a = h->lo; /* one-sided distributions: clip the far end only */
		if (h->hi < 0)
			b = h->hi;
		double e = hist_error(h, a, b, t);
		if (e < best)
			best = e, blo = a, bhi = b;
	}
	*lo = (float)blo;
	*hi = (float)bhi;
}

double effc_sqnr_db(double signal, double noise)
{
	if (noise <= 0)
		return 200.0;
	if (signal <= 0)
		return -200.0;
	return 10.0 * log10(signal / noise);
}

void effc_channel_sums(const float *v, int64_t channels, int64_t per, double *sum)
{
	for (int64_t c = 0; c < channels; c++) {
		double acc = 0;
		for (int64_t e = 0; e < per; e++)
			acc += v[c * per + e];
		sum[c] += acc;
	}
}

void effc_bias_correct(const double *sum_float, const double *sum_quant, int64_t channels, double n, float *corr)
{
	for (int64_t c = 0; n > 0 && c < channels; c++)
		corr[c] += (float)((sum_float[c] - sum_quant[c]) / n);
}
