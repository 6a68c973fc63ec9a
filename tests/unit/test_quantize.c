/* test_quantize.c: the arithmetic of `effc quantize` (compiler/qparams.c): activation scales and
 * zero points, per-channel weight quantization, int32 biases and their overflow, bias correction, and the
 * histogram calibration methods on synthetic distributions whose answers are known. */
#include "quantize.h"
#include "testing.h"

#include <float.h>

/* 0 must be exact, and lo and hi must be representable within half a step. */
static int range_ok(float lo, float hi, struct effc_qparams q, enum effc_qtype t)
{
	if (!(q.scale > 0) || effc_fake_quantize(0.0f, q, t) != 0.0f)
		return 0;
	return fabsf(effc_fake_quantize(lo, q, t) - lo) <= q.scale * 0.5001f &&
	       fabsf(effc_fake_quantize(hi, q, t) - hi) <= q.scale * 0.5001f;
}

static void test_affine(void)
{
	struct effc_qparams q = effc_qparams_from_range(0.0f, 6.0f, EFFC_QTYPE_INT8);
	expect(q.zero_point == -128 && fabsf(q.scale - 6.0f / 255) < 1e-7f, "all-positive", "zero point at qmin",
	       "scale %g zp %d", q.scale, q.zero_point);
	expect(range_ok(0, 6, q, EFFC_QTYPE_INT8), "all-positive", "range", "0 or 6 not representable");
	q = effc_qparams_from_range(1.0f, 3.0f, EFFC_QTYPE_INT8); /* widened to hold 0 */
	expect(q.zero_point == -128 && fabsf(q.scale - 3.0f / 255) < 1e-7f, "positive-away-from-zero", "widened to 0",
	       "scale %g zp %d", q.scale, q.zero_point);
	q = effc_qparams_from_range(-4.0f, -1.0f, EFFC_QTYPE_INT8);
	expect(q.zero_point == 127 && fabsf(q.scale - 4.0f / 255) < 1e-7f, "all-negative", "zero point at qmax",
	       "scale %g zp %d", q.scale, q.zero_point);
	expect(range_ok(-4, 0, q, EFFC_QTYPE_INT8), "all-negative", "range", "-4 or 0 not representable");
	q = effc_qparams_from_range(-1.0f, 3.0f, EFFC_QTYPE_INT8);
	expect(fabsf(q.scale - 4.0f / 255) < 1e-7f && q.zero_point == -64, "straddling", "scale and zero point",
	       "scale %g zp %d (want 4/255, -64)", q.scale, q.zero_point);
	expect(range_ok(-1, 3, q, EFFC_QTYPE_INT8), "straddling", "range", "-1 or 3 not representable");
	q = effc_qparams_from_range(-1.0f, 3.0f, EFFC_QTYPE_UINT8);
	expect(q.zero_point == 64 && range_ok(-1, 3, q, EFFC_QTYPE_UINT8), "straddling-uint8", "zero point 64",
	       "scale %g zp %d", q.scale, q.zero_point);
	q = effc_qparams_from_range(0.0f, 0.0f, EFFC_QTYPE_INT8);
	expect(q.scale == 1.0f && effc_fake_quantize(0, q, EFFC_QTYPE_INT8) == 0, "constant-zero", "scale 1",
	       "scale %g zp %d", q.scale, q.zero_point);
	q = effc_qparams_from_range(2.5f, 2.5f, EFFC_QTYPE_INT8); /* constant 2.5: [0, 2.5] */
	expect(range_ok(0, 2.5f, q, EFFC_QTYPE_INT8), "constant-positive", "range", "scale %g zp %d", q.scale,
	       q.zero_point);
	/* Saturation and round half to even, as QuantizeLinear. */
	struct effc_qparams u = {1.0f, 0};
	expect(effc_quantize_value(1000, u, EFFC_QTYPE_INT8) == 127 && effc_quantize_value(-1000, u, EFFC_QTYPE_INT8) == -128,
	       "saturate", "int8 ends", "no saturation");
	expect(effc_quantize_value(2.5f, u, EFFC_QTYPE_INT8) == 2 && effc_quantize_value(3.5f, u, EFFC_QTYPE_INT8) == 4 &&
		       effc_quantize_value(-2.5f, u, EFFC_QTYPE_INT8) == -2,
	       "round", "half to even", "2.5 -> %d, 3.5 -> %d", effc_quantize_value(2.5f, u, EFFC_QTYPE_INT8),
	       effc_quantize_value(3.5f, u, EFFC_QTYPE_INT8));
}

static void test_weights(void)
{
	/* Three rows: ordinary, zeros, a single large value. */
	const float w[3][4] = {{0.5f, -1.0f, 0.25f, 0.0f}, {0, 0, 0, 0}, {0.01f, 0.0f, 0.0f, 2.54f}};
	int8_t q[12];
	float s[3];
	effc_quantize_weights(&w[0][0], 3, 4, 1, q, s);
	expect(fabsf(s[0] - 1.0f / 127) < 1e-9f && q[1] == -127 && q[0] == 64, "per-channel", "row 0",
	       "scale %g q %d %d", s[0], q[0], q[1]);
	expect(s[1] == s[2] && q[4] == 0 && q[5] == 0 && q[6] == 0 && q[7] == 0, "per-channel", "zero row",
	       "zero row scale %g (want the largest, %g), q %d", s[1], s[2], q[4]);
	expect(fabsf(s[2] - 0.02f) < 1e-7f && q[11] == 127 && q[8] == 0 /* 0.01/0.02 = 0.5 -> 0 */, "per-channel",
	       "row 2", "scale %g q %d %d", s[2], q[8], q[11]);
	int bounded = 1;
	for (int i = 0; i < 12; i++)
		bounded &= q[i] != -128;
	expect(bounded, "per-channel", "symmetric range", "a value outside [-127, 127]");
	effc_quantize_weights(&w[0][0], 3, 4, 0, q, s);
	expect(fabsf(s[0] - 2.54f / 127) < 1e-7f && q[1] == -50, "per-tensor", "one scale", "scale %g q %d", s[0], q[1]);
	const float zeros[4] = {0};
	effc_quantize_weights(zeros, 2, 2, 1, q, s);
	expect(s[0] == 1.0f && s[1] == 1.0f, "all-zero", "scale 1", "scales %g %g", s[0], s[1]);
}

static void test_bias(void)
{
	const float w[2][2] = {{1.0f, -0.5f}, {0.001f, 0.002f}};
	int8_t q[4];
	float s[2];
	int32_t qb[2];
	effc_quantize_weights(&w[0][0], 2, 2, 1, q, s);
	const float bias[2] = {0.25f, -0.125f}, s_in = 0.01f;
	int adj = effc_quantize_bias(bias, 2, s_in, s, 2, &w[0][0], 2, q, qb);
	expect(adj == 0 && qb[0] == (int32_t)lrintf(0.25f / (0.01f * s[0])), "bias", "int32 at s_in*s_w", "adj %d qb %d",
	       adj, qb[0]);
	/* A bias that needs more than int32 at s_in * s_w: channel 1's weight scale is raised. */
	const float big[2] = {0.25f, 1.0e3f};
	const float s1_before = s[1];
	adj = effc_quantize_bias(big, 2, 1e-6f, s, 2, &w[0][0], 2, q, qb);
	double back = (double)qb[1] * 1e-6f * s[1];
	expect(adj == 1 && s[1] > s1_before && fabs(back - 1000.0) < 1e-3 * 1000, "bias-overflow", "scale raised",
	       "adjusted %d, scale %g -> %g, bias back %g", adj, s1_before, s[1], back);
	expect(qb[1] > 2000000000, "bias-overflow", "fits int32", "qb %d", qb[1]);
	expect(q[2] == (int8_t)lrintf(0.001f / s[1]) && q[3] == (int8_t)lrintf(0.002f / s[1]), "bias-overflow",
	       "weights requantized", "q %d %d at scale %g", q[2], q[3], s[1]);
	expect(fabsf(s[0] - 1.0f / 127) < 1e-9f, "bias-overflow", "other channel untouched", "scale %g", s[0]);
	/* Per tensor: the one scale is raised and every row requantized. */
	float s1;
	effc_quantize_weights(&w[0][0], 2, 2, 0, q, &s1);
	adj = effc_quantize_bias(big, 2, 1e-6f, &s1, 1, &w[0][0], 2, q, qb);
	expect(adj == 2 && (double)qb[1] * 1e-6f * s1 > 999.0 && q[0] == (int8_t)lrintf(1.0f / s1), "bias-overflow",
	       "per-tensor", "adj %d scale %g q0 %d", adj, s1, q[0]);
}

/* Bias correction on a 1x1 conv (3 outputs, 4 inputs, 64 positions) whose inputs have nonzero
 * means: the correction must equal the known shift sum_k (W - Wq)[c][k] * mean(x_k), and the
 * corrected quantized layer's output means must equal the float layer's. */
static void test_bias_correction(void)
{
	enum { CO = 3, CI = 4, HW = 64 };
	const float w[CO][CI] = {{0.9f, -0.33f, 0.07f, 0.51f}, {0.013f, 0.5f, -0.29f, 0.011f}, {1.0f, 1.0f, 1.0f, 1.0f}};
	const float b[CO] = {0.1f, -0.2f, 0.0f}, mean[CI] = {1.5f, -2.0f, 0.75f, 3.0f};
	int8_t q[CO * CI];
	float s[CO], wq[CO][CI], x[CI][HW], yf[CO][HW], yq[CO][HW];
	effc_quantize_weights(&w[0][0], CO, CI, 1, q, s);
	for (int c = 0; c < CO; c++)
		for (int k = 0; k < CI; k++)
			wq[c][k] = q[c * CI + k] * s[c];
	for (int k = 0; k < CI; k++)
		for (int e = 0; e < HW; e++)
			x[k][e] = mean[k] + ((e * 37 + k * 11) % 17 - 8) / 8.0f; /* zero-mean pattern on top */
	double mx[CI] = {0};
	for (int k = 0; k < CI; k++)
		for (int e = 0; e < HW; e++)
			mx[k] += x[k][e] / (double)HW;
	float corr[CO] = {0};
	for (int pass = 0; pass < 2; pass++) {
		for (int c = 0; c < CO; c++)
			for (int e = 0; e < HW; e++) {
				double f = b[c], qq = b[c] + corr[c];
				for (int k = 0; k < CI; k++)
					f += (double)w[c][k] * x[k][e], qq += (double)wq[c][k] * x[k][e];
				yf[c][e] = (float)f, yq[c][e] = (float)qq;
			}
		double sf[CO] = {0}, sq[CO] = {0};
		effc_channel_sums(&yf[0][0], CO, HW, sf);
		effc_channel_sums(&yq[0][0], CO, HW, sq);
		if (pass == 1) {
			double worst = 0;
			for (int c = 0; c < CO; c++)
				worst = fmax(worst, fabs(sf[c] - sq[c]) / HW);
			expect(worst < 1e-5, "bias-correction", "means equal after", "largest mean difference %g", worst);
			break;
		}
		effc_bias_correct(sf, sq, CO, HW, corr);
		for (int c = 0; c < CO; c++) {
			double want = 0;
			for (int k = 0; k < CI; k++)
				want += ((double)w[c][k] - wq[c][k]) * mx[k];
			expect(fabs(corr[c] - want) < 1e-5, "bias-correction", "known shift", "channel %d: %g, want %g", c,
			       corr[c], want);
		}
	}
	expect(corr[2] == 0.0f, "bias-correction", "exact weights need none", "corr %g", corr[2]);
	double sum[2] = {1, 0};
	const float v[2][3] = {{1, 2, 3}, {-1, 0.5f, 0}};
	effc_channel_sums(&v[0][0], 2, 3, sum);
	expect(sum[0] == 7 && sum[1] == -0.5, "bias-correction", "channel sums add", "%g %g", sum[0], sum[1]);
}

static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}
static float gauss(void)
{
	return (float)(sqrt(-2 * log(uniform() + 1e-300)) * cos(6.283185307179586 * uniform()));
}

static void test_histograms(void)
{
	enum { N = 400000 };
	float *v = malloc(sizeof(float) * N);
	if (!v)
		testing_oom();
	static struct effc_hist h;
	/* Uniform on [0, 1): the 99th percentile of a one-sided distribution is 0.99. */
	for (int i = 0; i < N; i++)
		v[i] = (float)uniform();
	effc_hist_init(&h, 0, 1);
	effc_hist_add(&h, v, N);
	float lo, hi;
	effc_hist_percentile(&h, 99.0, &lo, &hi);
	expect(lo == 0 && fabsf(hi - 0.99f) < 0.002f, "percentile", "uniform 99%", "range [%g, %g], want [0, 0.99]", lo, hi);
	/* Normal(0, 1): the central 99.9% lies within +-3.29. */
	float mn = 0, mx = 0;
	for (int i = 0; i < N; i++) {
		v[i] = gauss();
		mn = fminf(mn, v[i]), mx = fmaxf(mx, v[i]);
	}
	effc_hist_init(&h, mn, mx);
	effc_hist_add(&h, v, N);
	effc_hist_percentile(&h, 99.9, &lo, &hi);
	expect(fabsf(lo + 3.29f) < 0.06f && fabsf(hi - 3.29f) < 0.06f, "percentile", "normal 99.9%",
	       "range [%g, %g], want +-3.29", lo, hi);
	/* MSE on a normal: 8-bit optimum clips near +-4 sigma (known: ~3.9-4.3 for 256 levels), well
	 * inside the sample's extremes, and beats both the full range and a tight clip. */
	effc_hist_mse(&h, EFFC_QTYPE_INT8, &lo, &hi);
	expect(hi > 3.3f && hi < 4.6f && hi < mx, "mse", "normal clip", "range [%g, %g] (extremes %g, %g)", lo, hi, mn, mx);
	/* A uniform distribution has no tails: MSE keeps the whole range. */
	for (int i = 0; i < N; i++)
		v[i] = (float)(uniform() * 2 - 1);
	effc_hist_init(&h, -1, 1);
	effc_hist_add(&h, v, N);
	effc_hist_mse(&h, EFFC_QTYPE_INT8, &lo, &hi);
	expect(hi > 0.98f && lo < -0.98f, "mse", "uniform full range", "range [%g, %g], want [-1, 1]", lo, hi);
	/* Laplace(0, 1): the known 8-bit MSE-optimal clip is about 9.9 (Banner et al., ACIQ),
	 * inside the sample's extremes (about +-12 for this many samples). */
	mn = 0, mx = 0;
	for (int i = 0; i < N; i++) {
		double u = uniform() - 0.5;
		v[i] = (float)(u < 0 ? log(1 + 2 * u + 1e-300) : -log(1 - 2 * u + 1e-300));
		mn = fminf(mn, v[i]), mx = fmaxf(mx, v[i]);
	}
	effc_hist_init(&h, mn, mx);
	effc_hist_add(&h, v, N);
	effc_hist_mse(&h, EFFC_QTYPE_INT8, &lo, &hi);
	expect(hi > 8.0f && hi < 11.5f && hi < mx, "mse", "laplace clip", "range [%g, %g] (extremes %g, %g), want ~9.9",
	       lo, hi, mn, mx);
	free(v);
	expect(fabs(effc_sqnr_db(100.0, 1.0) - 20.0) < 1e-12 && effc_sqnr_db(1, 0) == 200.0, "sqnr", "dB", "wrong");
}

int main(void)
{
	test_affine();
	test_weights();
	test_bias();
	test_bias_correction();
	test_histograms();
	return test_summary();
}
