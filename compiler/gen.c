/* gen.c: EfficientNet graphs built from the compound-scaling coefficients, without Python.
 *
 * Depth d = alpha^phi, width w = beta^phi, resolution r = 224 * gamma^phi (alpha 1.2, beta 1.1,
 * gamma 1.15 by default), applied to the B0 stage table exactly as torchvision does: channels
 * rounded to multiples of 8 (never down by more than 10%), repeats rounded up, squeeze width a
 * quarter of the block input, SiLU everywhere, head 4 x the last stage width. --variant bK uses
 * the published (w, d, r) of B0..B7, so the parameter count equals torchvision's.
 *
 * --variant v2-s/m/l builds torchvision's efficientnet_v2_s/m/l from their own stage tables (not
 * scaled): Fused-MBConv stages first (a k x k conv in place of the 1x1 expansion + depthwise, no
 * SE), then MBConv stages as in V1, BatchNorm eps 1e-3 and a 1280-wide head. To add a V2-style
 * variant, add its table and a row of v2_variants.
 *
 * The graph is plain ONNX-level IR (Conv without bias, BatchNormalization, Sigmoid + Mul as
 * SiLU, GlobalAveragePool, Gemm), so it goes through the same passes as an import, or out as an
 * ONNX file. Weights are seeded random; BatchNormalization statistics are then calibrated by
 * running the network once on a random input with the runtime's reference kernels (the conv's
 * loops reordered, same bits; what a train-mode pass with momentum=None does in PyTorch), so the
 * outputs depend on the input. */
#include "gen.h"

#include "effc_rt.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	int expand, kernel, stride, in, out, layers;
} b0_stages[7] = {
	{1, 3, 1, 32, 16, 1}, {6, 3, 2, 16, 24, 2},  {6, 5, 2, 24, 40, 2},   {6, 3, 2, 40, 80, 3},
	{6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1},
};

static const struct {
	double width, depth;
	int resolution;
	float eps;
} variants[8] = {
	{1.0, 1.0, 224, 1e-5f}, {1.0, 1.1, 240, 1e-5f}, {1.1, 1.2, 260, 1e-5f}, {1.2, 1.4, 300, 1e-5f},
	{1.4, 1.8, 380, 1e-5f}, {1.6, 2.2, 456, 1e-3f}, {1.8, 2.6, 528, 1e-3f}, {2.0, 3.1, 600, 1e-3f},
};

/* EfficientNetV2 (torchvision's _efficientnet_conf): FusedMBConvConfig rows (fused 1) and
 * MBConvConfig rows, with no width or depth multiplier. */
struct v2_stage {
	int fused, expand, kernel, stride, in, out, layers;
};
static const struct v2_stage v2_s_stages[] = {
	{1, 1, 3, 1, 24, 24, 2},   {1, 4, 3, 2, 24, 48, 4},   {1, 4, 3, 2, 48, 64, 4},
	{0, 4, 3, 2, 64, 128, 6},  {0, 6, 3, 1, 128, 160, 9}, {0, 6, 3, 2, 160, 256, 15},
};
static const struct v2_stage v2_m_stages[] = {
	{1, 1, 3, 1, 24, 24, 3},    {1, 4, 3, 2, 24, 48, 5},    {1, 4, 3, 2, 48, 80, 5},  {0, 4, 3, 2, 80, 160, 7},
	{0, 6, 3, 1, 160, 176, 14}, {0, 6, 3, 2, 176, 304, 18}, {0, 6, 3, 1, 304, 512, 5},
};
static const struct v2_stage v2_l_stages[] = {
	{1, 1, 3, 1, 32, 32, 4},     {1, 4, 3, 2, 32, 64, 7},     {1, 4, 3, 2, 64, 96, 7},  {0, 4, 3, 2, 96, 192, 10},
	{0, 6, 3, 1, 192, 224, 19}, {0, 6, 3, 2, 224, 384, 25}, {0, 6, 3, 1, 384, 640, 7},
};
#define V2_HEAD 1280
static const struct {
	const char *name;
	const struct v2_stage *stages;
	int n_stages, resolution; /* torchvision's evaluation size */
} v2_variants[3] = {
	{"v2-s", v2_s_stages, 6, 384},
	{"v2-m", v2_m_stages, 7, 480},
	{"v2-l", v2_l_stages, 7, 480},
};

int effc_gen_is_v2(int variant) { return variant >= EFFC_GEN_V2_S && variant <= EFFC_GEN_V2_L; }

const char *effc_gen_variant_name(int variant)
{
	static const char *const b[8] = {"b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"};
	if (variant >= 0 && variant < 8)
		return b[variant];
	return effc_gen_is_v2(variant) ? v2_variants[variant - EFFC_GEN_V2_S].name : "?";
}

int effc_gen_parse_variant(const char *s)
{
	for (int v = 0; v < EFFC_GEN_N_VARIANTS; v++) {
		const char *n = effc_gen_variant_name(v);
		size_t k = 0;
		while (n[k] && tolower((unsigned char)s[k]) == n[k])
			k++;
		if (!n[k] && !s[k])
			return v;
	}
	return -1;
}

int effc_gen_make_divisible(double v, int divisor)
{
	int nv = (int)(v + divisor / 2.0) / divisor * divisor;
	if (nv < divisor)
		nv = divisor;
	if (nv < 0.9 * v)
		nv += divisor;
	return nv;
}

enum effc_status effc_gen_resolve(struct effc_gen_options *o, struct effc_diag *d)
{
	if (effc_gen_is_v2(o->variant)) {
		if (o->width > 0 || o->depth > 0)
			return effc_fail(d, EFFC_ERR_INVALID,
					 "--width and --depth scale the B0 table: %s has a table of its own (give "
					 "--resolution or --classes)",
					 effc_gen_variant_name(o->variant));
		o->res_width = o->res_depth = 1.0;
		o->res_resolution = v2_variants[o->variant - EFFC_GEN_V2_S].resolution;
		o->res_eps = 1e-3f; /* torchvision: partial(nn.BatchNorm2d, eps=1e-03) */
	} else if (o->variant >= 0) {
		if (o->variant > 7)
			return effc_fail(d, EFFC_ERR_INVALID, "--variant must be one of " EFFC_GEN_VARIANT_NAMES);
		o->res_width = variants[o->variant].width;
		o->res_depth = variants[o->variant].depth;
		o->res_resolution = variants[o->variant].resolution;
		o->res_eps = variants[o->variant].eps;
	} else {
		if (!(o->phi >= 0) || o->phi > 20 || !(o->alpha >= 1) || !(o->beta >= 1) || !(o->gamma >= 1))
			return effc_fail(d, EFFC_ERR_INVALID, "--phi must be in 0..20 and alpha, beta, gamma >= 1");
		o->res_width = pow(o->beta, o->phi);
		o->res_depth = pow(o->alpha, o->phi);
		/* Nearest multiple of 8, as the published resolutions are. */
		o->res_resolution = (int)(224.0 * pow(o->gamma, o->phi) / 8.0 + 0.5) * 8;
		o->res_eps = 1e-5f;
	}
	if (o->width > 0)
		o->res_width = o->width;
	if (o->depth > 0)
		o->res_depth = o->depth;
	if (o->resolution > 0)
		o->res_resolution = o->resolution;
	if (o->res_width > 16 || o->res_depth > 16 || o->res_resolution < 32 || o->res_resolution > 2048 ||
	    o->res_width < 0.05 || o->res_depth < 0.05)
		return effc_fail(d, EFFC_ERR_INVALID,
				 "scaled model out of range (width %.3g, depth %.3g, resolution %d): width and depth 0.05..16, "
				 "resolution 32..2048",
				 o->res_width, o->res_depth, o->res_resolution);
	if (o->classes < 1 || o->classes > 100000)
		return effc_fail(d, EFFC_ERR_INVALID, "--classes must be in 1..100000");
	return EFFC_OK;
}

/* ---- building ------------------------------------------------------------------------- */

struct builder {
	struct effc_graph *g;
	uint64_t rng;
	int64_t params; /* as torchvision counts them: BN weight and bias, not running stats */
	int fail;
};

static uint64_t next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double uniform(struct builder *b) { return (next_u64(&b->rng) >> 11) / 9007199254740992.0; }

static double normal(struct builder *b)
{
	double u1 = ((next_u64(&b->rng) >> 11) + 1.0) / 9007199254740993.0, u2 = uniform(b);
	return sqrt(-2.0 * log(u1)) * cos(2 * 3.14159265358979323846 * u2);
}

enum init { INIT_NORMAL, INIT_UNIFORM, INIT_CONST };

static int tensor(struct builder *b, const char *name, int rank, const int64_t *dims, enum init init, double p0,
		  double p1, int count_params)
{
	struct effc_graph *g = b->g;
	int t = effc_graph_add_tensor(g, name);
	if (t < 0) {
		b->fail = 1;
		return -1;
	}
	g->t[t].rank = rank;
	memcpy(g->t[t].dims, dims, sizeof(int64_t) * (size_t)rank);
	g->t[t].from_onnx = 1;
	int64_t n = effc_tensor_numel(&g->t[t]);
	float *data = effc_arena_alloc(g->arena, (size_t)n * sizeof(float));
	if (!data) {
		b->fail = 1;
		return -1;
	}
	for (int64_t i = 0; i < n; i++)
		data[i] = (float)(init == INIT_NORMAL ? p0 + p1 * normal(b) : init == INIT_UNIFORM ? p0 + (p1 - p0) * uniform(b) : p0);
	g->t[t].data = data;
	if (count_params)
		b->params += n;
	return t;
}

static int node(struct builder *b, enum effc_op op, const char *name, int n_in, const int *in, const char *out_name)
{
	struct effc_graph *g = b->g;
	if (b->fail)
		return -1;
	int id = effc_graph_add_node(g, op, name);
	int t = id >= 0 ? effc_graph_add_tensor(g, out_name) : -1;
	if (t < 0) {
		b->fail = 1;
		return -1;
	}
	struct effc_node *n = &g->n[id];
	n->n_in = n_in;
	memcpy(n->in, in, sizeof(int) * (size_t)n_in);
	n->n_out = 1;
	n->out[0] = t;
	g->t[t].producer = id;
	g->t[t].from_onnx = 1;
	return t;
}

static const char *nm(struct builder *b, const char *prefix, const char *suffix)
{
	const char *s = effc_arena_printf(b->g->arena, "%s%s", prefix, suffix);
	if (!s)
		b->fail = 1;
	return s ? s : "";
}

/* Conv (no bias) -> BatchNormalization [-> SiLU]; returns the output tensor. */
static int conv_bn(struct builder *b, const char *p, int x, int cin, int cout, int k, int stride, int groups, int silu,
		   float eps)
{
	int64_t wd[4] = {cout, cin / groups, k, k}, c1 = cout;
	double fan_in = (double)(cin / groups) * k * k;
	int w = tensor(b, nm(b, p, ".conv.weight"), 4, wd, INIT_NORMAL, 0.0, sqrt(2.0 / fan_in), 1);
	int y = node(b, EFFC_OP_CONV, nm(b, p, ".conv"), 2, (int[]){x, w}, nm(b, p, ".conv.out"));
	if (b->fail)
		return -1;
	struct effc_attrs *a = &b->g->n[b->g->t[y].producer].a;
	a->kernel[0] = a->kernel[1] = k;
	a->strides[0] = a->strides[1] = stride;
	a->dilations[0] = a->dilations[1] = 1;
	a->pads[0] = a->pads[1] = a->pads[2] = a->pads[3] = (k - 1) / 2;
	a->group = groups;
	int gam = tensor(b, nm(b, p, ".bn.weight"), 1, &c1, INIT_UNIFORM, 0.5, 1.5, 1);
	int bet = tensor(b, nm(b, p, ".bn.bias"), 1, &c1, INIT_NORMAL, 0.0, 0.1, 1);
	int mean = tensor(b, nm(b, p, ".bn.running_mean"), 1, &c1, INIT_CONST, 0.0, 0, 0);
	int var = tensor(b, nm(b, p, ".bn.running_var"), 1, &c1, INIT_CONST, 1.0, 0, 0);
	y = node(b, EFFC_OP_BATCHNORM, nm(b, p, ".bn"), 5, (int[]){y, gam, bet, mean, var}, nm(b, p, ".bn.out"));
	if (b->fail)
		return -1;
	b->g->n[b->g->t[y].producer].a.epsilon = eps;
	if (!silu)
		return y;
	int s = node(b, EFFC_OP_SIGMOID, nm(b, p, ".act.sigmoid"), 1, (int[]){y}, nm(b, p, ".act.sigmoid.out"));
	return node(b, EFFC_OP_MUL, nm(b, p, ".act"), 2, (int[]){y, s}, nm(b, p, ".act.out"));
}

static int squeeze_excite(struct builder *b, const char *p, int x, int c, int sq)
{
	int64_t w1d[4] = {sq, c, 1, 1}, w2d[4] = {c, sq, 1, 1}, sqd = sq, cd = c;
	int pool = node(b, EFFC_OP_GLOBALAVGPOOL, nm(b, p, ".avgpool"), 1, (int[]){x}, nm(b, p, ".avgpool.out"));
	int w1 = tensor(b, nm(b, p, ".fc1.weight"), 4, w1d, INIT_NORMAL, 0.0, sqrt(2.0 / c), 1);
	int b1 = tensor(b, nm(b, p, ".fc1.bias"), 1, &sqd, INIT_NORMAL, 0.0, 0.1, 1);
	int h = node(b, EFFC_OP_CONV, nm(b, p, ".fc1"), 3, (int[]){pool, w1, b1}, nm(b, p, ".fc1.out"));
	int s1 = node(b, EFFC_OP_SIGMOID, nm(b, p, ".act.sigmoid"), 1, (int[]){h}, nm(b, p, ".act.sigmoid.out"));
	int a = node(b, EFFC_OP_MUL, nm(b, p, ".act"), 2, (int[]){h, s1}, nm(b, p, ".act.out"));
	int w2 = tensor(b, nm(b, p, ".fc2.weight"), 4, w2d, INIT_NORMAL, 0.0, sqrt(2.0 / sq), 1);
	int b2 = tensor(b, nm(b, p, ".fc2.bias"), 1, &cd, INIT_NORMAL, 0.0, 0.1, 1);
	int e = node(b, EFFC_OP_CONV, nm(b, p, ".fc2"), 3, (int[]){a, w2, b2}, nm(b, p, ".fc2.out"));
	int gate = node(b, EFFC_OP_SIGMOID, nm(b, p, ".scale_activation"), 1, (int[]){e}, nm(b, p, ".scale_activation.out"));
	if (b->fail)
		return -1;
	for (int k = 0; k < 2; k++) {
		struct effc_attrs *at = &b->g->n[b->g->t[k ? e : h].producer].a;
		at->kernel[0] = at->kernel[1] = 1;
		at->strides[0] = at->strides[1] = at->dilations[0] = at->dilations[1] = 1;
		at->group = 1;
	}
	return node(b, EFFC_OP_MUL, nm(b, p, ".scale"), 2, (int[]){x, gate}, nm(b, p, ".out"));
}

/* ---- calibration ---------------------------------------------------------------------- */

/* ---- the calibration's convolution ---------------------------------------------------
 *
 * effc_rt_ref_conv2d's arithmetic (NCHW, OIHW weights, no clamp) in a faster order: every output
 * still starts from its bias (or +0) and adds its taps one at a time in (ky, kx, ic) order, each
 * a rounded product then a rounded sum, so the result is the reference's bit for bit (the
 * generator's output, generated/ included, does not depend on which one runs). Taps the
 * reference skips (outside the input) add 0 * w here, which leaves a sum that is never -0
 * unchanged. What changes is the order of the outputs: 4 output channels x 8 pixels accumulate
 * together in vector registers (a GEMM over im2col rows for dense k x k convs), where the
 * reference computes one output at a time reading its inputs H*W floats apart. */
typedef float cal_v4 __attribute__((vector_size(16)));

static cal_v4 cal_load(const float *p)
{
	cal_v4 v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* out[m][p] = bias[m] + sum over k in order of w[m][k] * a[k][p]; m < M, k < K, p < P. */
static void cal_gemm(int M, int K, size_t P, const float *w, const float *a, const float *bias, float *out)
{
	enum { MB = 4, PB = 8, PC = 64 };
	for (size_t p0 = 0; p0 < P; p0 += PC) {
		const size_t p1 = P - p0 < PC ? P : p0 + PC;
		for (int m = 0; m < M; m += MB) {
			const int mb = M - m < MB ? M - m : MB;
			size_t p = p0;
			for (; mb == MB && p + PB <= p1; p += PB) {
				cal_v4 acc[MB][2];
				for (int r = 0; r < MB; r++) {
					const float b0 = bias ? bias[m + r] : 0.0f;
					acc[r][0] = acc[r][1] = (cal_v4){b0, b0, b0, b0};
				}
				const float *ak = a + p;
				for (int k = 0; k < K; k++, ak += P) {
					const cal_v4 x0 = cal_load(ak), x1 = cal_load(ak + 4);
					for (int r = 0; r < MB; r++) {
						const float wv = w[(size_t)(m + r) * K + k];
						acc[r][0] += x0 * wv;
						acc[r][1] += x1 * wv;
					}
				}
				for (int r = 0; r < MB; r++) {
					memcpy(out + (size_t)(m + r) * P + p, &acc[r][0], sizeof acc[r][0]);
					memcpy(out + (size_t)(m + r) * P + p + 4, &acc[r][1], sizeof acc[r][1]);
				}
			}
			for (; p < p1; p++) /* the tail of the chunk, and the last channels when M % 4 */
				for (int r = 0; r < mb; r++) {
					float acc = bias ? bias[m + r] : 0.0f;
					const float *wr = w + (size_t)(m + r) * K;
					for (int k = 0; k < K; k++)
						acc += a[(size_t)k * P + p] * wr[k];
					out[(size_t)(m + r) * P + p] = acc;
				}
		}
	}
}

/* Grouped convs (depthwise): one row of outputs at a time, taps in (ky, kx, ic) order. */
static void cal_conv_rows(const struct effc_rt_conv2d *p, const float *w, const float *bias, const float *in,
			  float *out)
{
	const int gin = p->in_c / p->groups, gout = p->out_c / p->groups;
	const size_t ihw = (size_t)p->in_h * p->in_w, ohw = (size_t)p->out_h * p->out_w, khw = (size_t)p->kh * p->kw;
	for (int n = 0; n < p->batch; n++)
		for (int oc = 0; oc < p->out_c; oc++) {
			const float *plane = in + ((size_t)n * p->in_c + (size_t)(oc / gout) * gin) * ihw;
			for (int oy = 0; oy < p->out_h; oy++) {
				float *row = out + ((size_t)n * p->out_c + oc) * ohw + (size_t)oy * p->out_w;
				for (int ox = 0; ox < p->out_w; ox++)
					row[ox] = bias ? bias[oc] : 0.0f;
				for (int ky = 0; ky < p->kh; ky++) {
					const int iy = oy * p->sh - p->pad_top + ky * p->dh;
					if (iy < 0 || iy >= p->in_h)
						continue;
					for (int kx = 0; kx < p->kw; kx++) {
						const int off = kx * p->dw - p->pad_left; /* ix = ox * sw + off */
						int x0 = 0, x1 = p->out_w;
						while (x0 < x1 && x0 * p->sw + off < 0)
							x0++;
						while (x1 > x0 && (x1 - 1) * p->sw + off >= p->in_w)
							x1--;
						const float *ip = plane + (size_t)iy * p->in_w;
						const float *wp = w + (size_t)oc * gin * khw + (size_t)ky * p->kw + kx;
						for (int ic = 0; ic < gin; ic++, ip += ihw) {
							const float wv = wp[(size_t)ic * khw];
							for (int ox = x0; ox < x1; ox++)
								row[ox] += ip[ox * p->sw + off] * wv;
						}
					}
				}
			}
		}
}

/* Returns -1 when out of memory (nothing written). */
static int calibrate_conv(const struct effc_rt_conv2d *p, const float *w, const float *bias, const float *in,
			  float *out)
{
	if (p->groups != 1) {
		cal_conv_rows(p, w, bias, in, out);
		return 0;
	}
	const size_t ihw = (size_t)p->in_h * p->in_w, ohw = (size_t)p->out_h * p->out_w;
	const int K = p->in_c * p->kh * p->kw;
	if (p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->pad_top == 0 && p->pad_left == 0 &&
	    p->pad_bottom == 0 && p->pad_right == 0) {
		for (size_t n = 0; n < (size_t)p->batch; n++)
			cal_gemm(p->out_c, K, ohw, w, in + n * p->in_c * ihw, bias, out + n * p->out_c * ohw);
		return 0;
	}
	/* Dense k x k: im2col rows in (ky, kx, ic) order, the weights reordered to match. */
	float *col = malloc((size_t)K * ohw * sizeof(float)), *wt = malloc((size_t)p->out_c * K * sizeof(float));
	if (!col || !wt) {
		free(col);
		free(wt);
		return -1;
	}
	const size_t khw = (size_t)p->kh * p->kw;
	for (int oc = 0; oc < p->out_c; oc++)
		for (int ky = 0, k = 0; ky < p->kh; ky++)
			for (int kx = 0; kx < p->kw; kx++)
				for (int ic = 0; ic < p->in_c; ic++, k++) {
					const size_t src = ((size_t)oc * p->in_c + ic) * khw + (size_t)ky * p->kw + kx;
					wt[(size_t)oc * K + k] = w[src];
				}
	for (int n = 0; n < p->batch; n++) {
		float *c = col;
		for (int ky = 0; ky < p->kh; ky++)
			for (int kx = 0; kx < p->kw; kx++)
				for (int ic = 0; ic < p->in_c; ic++) {
					const float *plane = in + ((size_t)n * p->in_c + ic) * ihw;
					for (int oy = 0; oy < p->out_h; oy++) {
						const int iy = oy * p->sh - p->pad_top + ky * p->dh;
						const int y_in = iy >= 0 && iy < p->in_h;
						const float *row = plane + (y_in ? (size_t)iy * p->in_w : 0);
						for (int ox = 0; ox < p->out_w; ox++, c++) {
							const int ix = ox * p->sw - p->pad_left + kx * p->dw;
							*c = y_in && ix >= 0 && ix < p->in_w ? row[ix] : 0.0f;
						}
					}
				}
		cal_gemm(p->out_c, K, ohw, wt, col, bias, out + (size_t)n * p->out_c * ohw);
	}
	free(col);
	free(wt);
	return 0;
}

/* Runs the graph on input x (batch n, resolution r) with the reference kernels; each
 * BatchNormalization first takes its input's per-channel mean and variance as statistics. */
static enum effc_status calibrate(struct effc_graph *g, int batch, int res, uint64_t seed, struct effc_diag *d)
{
	enum effc_status st = EFFC_OK;
	float **val = calloc((size_t)g->n_t, sizeof(float *));
	int64_t(*dims)[4] = calloc((size_t)g->n_t, sizeof *dims);
	int *uses = calloc((size_t)g->n_t, sizeof(int));
	if (!val || !dims || !uses) {
		st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory calibrating");
		goto done;
	}
	for (int i = 0; i < g->n_n; i++)
		for (int k = 0; k < g->n[i].n_in; k++)
			uses[g->n[i].in[k]]++;
	int in = g->inputs[0];
	dims[in][0] = batch, dims[in][1] = 3, dims[in][2] = dims[in][3] = res;
	int64_t n_in = (int64_t)batch * 3 * res * res;
	val[in] = malloc((size_t)n_in * sizeof(float));
	struct builder rb = {.rng = seed ^ 0xC0FFEEull};
	for (int64_t i = 0; val[in] && i < n_in; i++)
		val[in][i] = (float)normal(&rb);
	for (int i = 0; i < g->n_n && !st; i++) {
		struct effc_node *n = &g->n[i];
		int x = n->in[0], y = n->out[0];
		const int64_t *xd = dims[x];
		int64_t *yd = dims[y];
		const float *xv = val[x];
		memcpy(yd, xd, sizeof *dims);
		if (n->op == EFFC_OP_CONV) {
			const struct effc_tensor *w = &g->t[n->in[1]];
			const struct effc_attrs *a = &n->a;
			yd[1] = w->dims[0];
			yd[2] = (xd[2] + a->pads[0] + a->pads[2] - a->kernel[0]) / a->strides[0] + 1;
			yd[3] = (xd[3] + a->pads[1] + a->pads[3] - a->kernel[1]) / a->strides[1] + 1;
		} else if (n->op == EFFC_OP_GLOBALAVGPOOL) {
			yd[2] = yd[3] = 1;
		} else if (n->op == EFFC_OP_FLATTEN) {
			yd[1] = xd[1] * xd[2] * xd[3], yd[2] = yd[3] = 1;
		} else if (n->op == EFFC_OP_GEMM) {
			yd[1] = g->t[n->in[1]].dims[0], yd[2] = yd[3] = 1;
		} else if (n->op == EFFC_OP_MUL || n->op == EFFC_OP_ADD) {
			for (int k = 1; k < 4; k++)
				if (dims[n->in[1]][k] > yd[k])
					yd[k] = dims[n->in[1]][k];
		}
		size_t ny = (size_t)(yd[0] * yd[1] * yd[2] * yd[3]);
		float *yv = malloc(ny * sizeof(float) + 4);
		if (!yv || !xv) {
			free(yv);
			st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory calibrating");
			break;
		}
		switch (n->op) {
		case EFFC_OP_CONV: {
			const struct effc_attrs *a = &n->a;
			struct effc_rt_conv2d p = {.batch = (int)xd[0], .in_h = (int)xd[2], .in_w = (int)xd[3], .in_c = (int)xd[1],
						   .out_h = (int)yd[2], .out_w = (int)yd[3], .out_c = (int)yd[1], .groups = (int)a->group,
						   .kh = (int)a->kernel[0], .kw = (int)a->kernel[1], .sh = (int)a->strides[0],
						   .sw = (int)a->strides[1], .dh = 1, .dw = 1, .pad_top = (int)a->pads[0],
						   .pad_left = (int)a->pads[1], .pad_bottom = (int)a->pads[2], .pad_right = (int)a->pads[3],
						   .out_min = -INFINITY, .out_max = INFINITY};
			if (calibrate_conv(&p, g->t[n->in[1]].data, n->n_in > 2 ? g->t[n->in[2]].data : NULL, xv, yv)) {
				free(yv);
				st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory calibrating");
				continue;
			}
			break;
		}
		case EFFC_OP_BATCHNORM: {
			const int64_t C = xd[1], hw = xd[2] * xd[3];
			float *mean = g->t[n->in[3]].data, *var = g->t[n->in[4]].data;
			for (int64_t c = 0; c < C; c++) {
				double s = 0, s2 = 0;
				for (int64_t b = 0; b < xd[0]; b++)
					for (int64_t i2 = 0; i2 < hw; i2++) {
						double v = xv[(b * C + c) * hw + i2];
						s += v, s2 += v * v;
					}
				double cnt = (double)(xd[0] * hw), m = s / cnt;
				mean[c] = (float)m;
				var[c] = (float)fmax(s2 / cnt - m * m, 1e-6);
			}
			effc_rt_ref_channel_affine((size_t)xd[0], (size_t)C, (size_t)hw, g->t[n->in[1]].data, g->t[n->in[2]].data,
						   mean, var, n->a.epsilon, xv, yv);
			break;
		}
		case EFFC_OP_SIGMOID: {
			struct effc_rt_unary p = {.op = EFFC_RT_SIGMOID, .rows = 1, .channels = ny};
			effc_rt_ref_unary(&p, xv, yv, NULL, NULL);
			break;
		}
		case EFFC_OP_MUL:
		case EFFC_OP_ADD: {
			struct effc_rt_binary p = {.op = n->op == EFFC_OP_MUL ? EFFC_RT_MUL : EFFC_RT_ADD, .rank = 4,
						   .out_min = -INFINITY, .out_max = INFINITY};
			for (int k = 0; k < 4; k++)
				p.a_shape[k] = (size_t)xd[k], p.b_shape[k] = (size_t)dims[n->in[1]][k];
			effc_rt_ref_binary(&p, xv, val[n->in[1]], yv);
			break;
		}
		case EFFC_OP_GLOBALAVGPOOL: {
			struct effc_rt_shape s = {4, {(size_t)xd[0], (size_t)xd[1], (size_t)xd[2], (size_t)xd[3]}};
			effc_rt_ref_reduce_mean(&s, (const int[]){0, 0, 1, 1}, xv, yv);
			break;
		}
		case EFFC_OP_FLATTEN:
			memcpy(yv, xv, ny * sizeof(float));
			break;
		case EFFC_OP_GEMM: {
			const struct effc_tensor *w = &g->t[n->in[1]];
			struct effc_rt_matmul p = {.m = (int)xd[0], .n = (int)w->dims[0], .k = (int)w->dims[1], .a_sm = w->dims[1],
						   .a_sk = 1, .b_sk = 1, .b_sn = w->dims[1], .bias_sn = 1, .alpha = 1, .beta = 1,
						   .out_min = -INFINITY, .out_max = INFINITY};
			effc_rt_ref_matmul(&p, xv, w->data, g->t[n->in[2]].data, yv);
			break;
		}
		default:
			free(yv);
			st = effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "no calibration rule");
			continue;
		}
		val[y] = yv;
		for (int k = 0; k < n->n_in; k++)
			if (--uses[n->in[k]] == 0 && !g->t[n->in[k]].data) {
				free(val[n->in[k]]);
				val[n->in[k]] = NULL;
			}
	}
done:
	for (int i = 0; val && i < g->n_t; i++)
		free(val[i]);
	free(val);
	free(dims);
	free(uses);
	return st;
}

/* MBConv (p = "features.S.L.block"): [1x1 expansion + SiLU] -> depthwise k x k + SiLU -> SE with
 * a squeeze width of a quarter of the block's input channels -> 1x1 projection. */
static int mbconv(struct builder *b, const char *p, int x, int cin, int cout, int expand, int kernel, int stride,
		  float eps)
{
	const int exp = effc_gen_make_divisible((double)cin * expand, 8);
	int y = x, k = 0;
	char q[96];
	if (exp != cin) {
		snprintf(q, sizeof q, "%s.%d", p, k++);
		y = conv_bn(b, q, y, cin, exp, 1, 1, 1, 1, eps);
	}
	snprintf(q, sizeof q, "%s.%d", p, k++);
	y = conv_bn(b, q, y, exp, exp, kernel, stride, exp, 1, eps);
	snprintf(q, sizeof q, "%s.%d", p, k++);
	y = squeeze_excite(b, q, y, exp, cin / 4 > 1 ? cin / 4 : 1);
	snprintf(q, sizeof q, "%s.%d", p, k++);
	return conv_bn(b, q, y, exp, cout, 1, 1, 1, 0, eps);
}

/* Fused-MBConv (torchvision's FusedMBConv): with an expansion, a k x k (possibly strided) conv to
 * the expanded width + SiLU, then a 1x1 projection without activation; with expand ratio 1, one
 * k x k conv + SiLU. No SE. */
static int fused_mbconv(struct builder *b, const char *p, int x, int cin, int cout, int expand, int kernel,
			int stride, float eps)
{
	const int exp = effc_gen_make_divisible((double)cin * expand, 8);
	char q[96];
	snprintf(q, sizeof q, "%s.0", p);
	if (exp == cin)
		return conv_bn(b, q, x, cin, cout, kernel, stride, 1, 1, eps);
	int y = conv_bn(b, q, x, cin, exp, kernel, stride, 1, 1, eps);
	snprintf(q, sizeof q, "%s.1", p);
	return conv_bn(b, q, y, exp, cout, 1, 1, 1, 0, eps);
}

/* One block of stage s (1-based), layer l; the residual Add where torchvision has one (stride 1,
 * equal channels; stochastic depth is the identity at inference). */
static int block(struct builder *b, int s, int l, int fused, int x, int cin, int cout, int expand, int kernel,
		 int stride, float eps)
{
	char p[64], q[96];
	snprintf(p, sizeof p, "features.%d.%d.block", s, l);
	int y = fused ? fused_mbconv(b, p, x, cin, cout, expand, kernel, stride, eps)
		      : mbconv(b, p, x, cin, cout, expand, kernel, stride, eps);
	if (stride == 1 && cin == cout) {
		snprintf(q, sizeof q, "features.%d.%d.add", s, l);
		y = node(b, EFFC_OP_ADD, q, 2, (int[]){y, x}, nm(b, q, ".out"));
	}
	return y;
}

enum effc_status effc_gen_graph(struct effc_graph *g, const struct effc_gen_options *o, struct effc_gen_info *info,
				struct effc_diag *d)
{
	struct builder b = {.g = g, .rng = o->seed * 0x2545F4914F6CDD1Dull + 1};
	const double w = o->res_width, dm = o->res_depth;
	const int r = o->res_resolution;
	const float eps = o->res_eps;
	g->opset = 13;
	g->producer = "effc";
	g->producer_version = EFFC_VERSION;
	int x = effc_graph_add_tensor(g, "input");
	if (x < 0)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	g->t[x].rank = 4;
	g->t[x].dims[0] = 1, g->t[x].dims[1] = 3, g->t[x].dims[2] = g->t[x].dims[3] = r;
	g->t[x].is_input = 1;
	g->t[x].from_onnx = 1;
	g->inputs[g->n_inputs++] = x;
	int cin, blocks = 0, head;
	if (effc_gen_is_v2(o->variant)) {
		const struct v2_stage *st = v2_variants[o->variant - EFFC_GEN_V2_S].stages;
		const int n_st = v2_variants[o->variant - EFFC_GEN_V2_S].n_stages;
		cin = st[0].in;
		x = conv_bn(&b, "features.0", x, 3, cin, 3, 2, 1, 1, eps);
		for (int s = 0; s < n_st; s++)
			for (int l = 0; l < st[s].layers; l++, blocks++) {
				x = block(&b, s + 1, l, st[s].fused, x, cin, st[s].out, st[s].expand, st[s].kernel,
					  l == 0 ? st[s].stride : 1, eps);
				cin = st[s].out;
			}
		char hp[32];
		snprintf(hp, sizeof hp, "features.%d", n_st + 1);
		head = V2_HEAD;
		x = conv_bn(&b, hp, x, cin, head, 1, 1, 1, 1, eps);
	} else {
		cin = effc_gen_make_divisible(b0_stages[0].in * w, 8);
		x = conv_bn(&b, "features.0", x, 3, cin, 3, 2, 1, 1, eps);
		for (int s = 0; s < 7; s++) {
			const int cout = effc_gen_make_divisible(b0_stages[s].out * w, 8);
			const int layers = (int)ceil(b0_stages[s].layers * dm - 1e-9);
			for (int l = 0; l < layers; l++, blocks++) {
				x = block(&b, s + 1, l, 0, x, cin, cout, b0_stages[s].expand, b0_stages[s].kernel,
					  l == 0 ? b0_stages[s].stride : 1, eps);
				cin = cout;
			}
		}
		head = 4 * cin;
		x = conv_bn(&b, "features.8", x, cin, head, 1, 1, 1, 1, eps);
	}
	x = node(&b, EFFC_OP_GLOBALAVGPOOL, "avgpool", 1, (int[]){x}, "avgpool.out");
	x = node(&b, EFFC_OP_FLATTEN, "flatten", 1, (int[]){x}, "flatten.out");
	int64_t fcd[2] = {o->classes, head}, nc = o->classes;
	int fw = tensor(&b, "classifier.1.weight", 2, fcd, INIT_NORMAL, 0.0, sqrt(1.0 / head), 1);
	int fb = tensor(&b, "classifier.1.bias", 1, &nc, INIT_NORMAL, 0.0, 0.1, 1);
	x = node(&b, EFFC_OP_GEMM, "classifier.1", 3, (int[]){x, fw, fb}, "logits");
	if (b.fail)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory building the graph");
	struct effc_node *fc = &g->n[g->t[x].producer];
	fc->a.alpha = fc->a.beta = 1.0f;
	fc->a.trans_b = 1;
	g->n[g->t[g->n[g->t[x].producer].in[0]].producer].a.axis = 1; /* Flatten */
	g->t[x].is_output = 1;
	g->outputs[g->n_outputs++] = x;
	g->onnx_nodes = g->n_n;
	for (int i = 0; i < g->n_n; i++)
		g->n[i].a.opset = 13;
	enum effc_status st = effc_infer_shapes(g, d);
	if (st)
		return st;
	/* Two images at up to 160 pixels: enough samples per channel, seconds even for B7. V2 runs
	 * 15 to 25 residual blocks in its last stages, where that is not enough: the statistics
	 * differ from those at the model's own resolution, and with few pixels per channel (r/32
	 * squared per image) each BatchNorm is fitted to its few samples; the residual stream then
	 * grows block by block on any other input (V2-S at 128 px from two images: logits of 270
	 * and 2e-4 relative error against ONNX Runtime; V2-M at 480 from eight images at 160 px:
	 * logits of 300, a failed diff). V2 calibrates at its own resolution, on enough images for
	 * 128 pixels per channel at the last stage (eight at 128 px, two from 384 up): logits of
	 * about 1 and 1e-5 against ONNX Runtime at 128, 384 and 480. */
	int cal_batch = 2, cal_res = r < 160 ? r : 160;
	if (effc_gen_is_v2(o->variant)) {
		const int last = (r + 31) / 32;
		cal_res = r;
		cal_batch = (128 + last * last - 1) / (last * last);
		if (cal_batch < 2)
			cal_batch = 2;
	}
	if (!o->no_calibrate && (st = calibrate(g, cal_batch, cal_res, o->seed, d)))
		return st;
	info->params = b.params;
	info->blocks = blocks;
	info->head_channels = head;
	return EFFC_OK;
}
