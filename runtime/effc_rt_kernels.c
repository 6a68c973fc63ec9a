/* effc_rt_kernels.c: the runtime's own kernels in plain C. They are the path for what XNNPACK
 * lacks (HardSigmoid, run-time BatchNormalization, generic transposes and reductions, convolution
 * and matmul with run-time weights) and the reference the XNNPACK paths are tested against.
 * Written for clarity first; loops are ordered so the compiler can vectorise the inner one. */
#include "effc_rt.h"

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

void effc_rt_ref_transpose(const struct effc_rt_shape *s, const int *perm, const float *in, float *out)
{
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
