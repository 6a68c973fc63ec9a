/* quantize.c: `effc quantize`, post-training int8 quantization into a standard QDQ model.
 *
 *   load -> shapes -> cleanup, fold-constants, fold-pad, fold-bn, dce (no fusion: the QDQ model
 *   stays ONNX) -> calibration (calibrate.c on the user's or seeded random inputs: each
 *   activation's range, and a histogram for percentile/mse) -> the plan (which nodes run
 *   quantized, each activation's scale and zero point, the int8 weights and int32 biases) ->
 *   simulation of the plan (the report's SQNR and top-1, per-layer sensitivity, --target-sqnr)
 *   -> write_qdq.c.
 *
 * The choices beyond ONNX Runtime's defaults (`--ort-default` turns them all off: MinMax ranges,
 * every op quantized, the baseline the docs compare against) are made in plan_ranges():
 * sigmoid outputs on the fixed scale 1/256 with zero point -128 (what XNNPACK's qs8 sigmoid
 * requires), HardSigmoid on [0, 1], Swish and HardSwish ranges from their real minimum,
 * Relu/Clip from their bound, a residual add's inputs on the add's own scale where their range
 * nearly fills it, and the classifier (Gemm/MatMul) kept in float; and MinMax's range is the
 * mean over the calibration inputs of each input's extremes (the extremes over all of them grow
 * with the number of inputs, as extreme values do; ORT's and PyTorch's moving-average MinMax
 * observers do the same). And (in replan()) a Swish or HardSwish right after a convolution reads
 * the convolution's float output: no QuantizeLinear between them, one rounding instead of three
 * (effc's int8 runtime applies the Swish to the accumulator; `--requantize-before-swish` keeps
 * ONNX Runtime's integer form). `--check-choices` keeps each choice only where it raises the SQNR
 * on the calibration inputs (check_choices()). */
#include "quantize.h"

#include "driver.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum method { METHOD_MINMAX, METHOD_PERCENTILE, METHOD_MSE };
static const char *const method_names[] = {"minmax", "percentile", "mse"};

/* The choices beyond ONNX Runtime's defaults, each a bit of qopts.choices (see the top). */
enum {
	CHOICE_GATE = 1u << 0,       /* sigmoid on 1/256 (zero point -128), HardSigmoid on [0, 1] */
	CHOICE_FLOOR = 1u << 1,      /* Swish/HardSwish from their real minimum, Relu/Clip from their bound */
	CHOICE_READERS = 1u << 2,    /* ranges cut to what the readers can tell apart */
	CHOICE_RESIDUAL = 1u << 3,   /* a residual add's input on the add's own parameters */
	CHOICE_CLASSIFIER = 1u << 4, /* Gemm/MatMul in float */
	CHOICE_MEAN = 1u << 5,       /* minmax: the mean over the inputs of each input's extremes */
	CHOICE_ACC_SWISH = 1u << 6,  /* a conv's Swish/HardSwish reads its float output (see acc_swish) */
	CHOICE_ALL = (1u << 7) - 1
};
#define N_CHOICES 7
static const char *const choice_names[N_CHOICES] = {"fixed gate scales", "activation floors", "readers' range cuts",
						     "residual scale sharing", "float classifier", "mean extremes",
						     "Swish on the accumulator"};

#define TARGET_MARGIN_DB 0.3 /* --target-sqnr: the simulation aims this much higher (see its use) */

struct qopts {
	const char *model, *out;
	const char *calib[256];
	int n_calib, calib_random;
	const char *eval[256];
	int n_eval, eval_random;
	uint64_t seed;
	enum method method;
	double percentile;
	int per_tensor, ort_default, sensitivity, bias_correction, check_choices, requant_swish;
	unsigned choices; /* CHOICE_* in force (0 with --ort-default) */
	enum effc_qtype type;
	const char *float_nodes;
	double target_sqnr; /* NAN: none */
	uint64_t max_weight_bytes;
};

/* ---- inputs -------------------------------------------------------------------------------- */

/* Seeded normal(0, 1) values: xorshift64* and Box-Muller, the same on every platform. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}
static void rng_normal(uint64_t *s, float *v, size_t n)
{
	for (size_t i = 0; i < n; i += 2) {
		double u1 = ((double)(rng_next(s) >> 11) + 1.0) / 9007199254740993.0;
		double u2 = (double)(rng_next(s) >> 11) / 9007199254740992.0;
		double r = sqrt(-2.0 * log(u1));
		v[i] = (float)(r * cos(6.283185307179586 * u2));
		if (i + 1 < n)
			v[i + 1] = (float)(r * sin(6.283185307179586 * u2));
	}
}

struct inputs {
	float *v; /* n inputs of per floats */
	size_t n, per;
};

/* Each file holds one or more whole inputs of the model's input shape, raw float32. */
static enum effc_status read_inputs(const char *const *files, int n_files, size_t per, struct inputs *in,
				    const char *what, struct effc_diag *d)
{
	for (int i = 0; i < n_files; i++) {
		void *data = NULL;
		size_t size = 0;
		enum effc_status st = effc_read_file(files[i], &data, &size, d);
		if (st)
			return st;
		if (size == 0 || size % (per * sizeof(float))) {
			free(data);
			return effc_fail(d, EFFC_ERR_INVALID,
					 "%s: %s file has %zu bytes, not a multiple of the input's %zu (%zu float32 values)",
					 files[i], what, size, per * sizeof(float), per);
		}
		size_t k = size / (per * sizeof(float));
		float *nv = realloc(in->v, (in->n + k) * per * sizeof(float));
		if (!nv) {
			free(data);
			return effc_fail(d, EFFC_ERR_NOMEM, "out of memory reading %s", files[i]);
		}
		in->v = nv;
		memcpy(in->v + in->n * per, data, size);
		in->n += k;
		free(data);
		for (size_t e = 0; e < k * per; e++)
			if (!isfinite(in->v[(in->n - k) * per + e])) {
				return effc_fail(d, EFFC_ERR_INVALID, "%s: %s file holds a NaN or infinity at value %zu", files[i],
						 what, e);
			}
	}
	return EFFC_OK;
}

static enum effc_status random_inputs(uint64_t *rng, size_t n, size_t per, struct inputs *in, struct effc_diag *d)
{
	float *nv = realloc(in->v, (in->n + n) * per * sizeof(float));
	if (!nv)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory for random inputs");
	in->v = nv;
	for (size_t i = 0; i < n; i++)
		rng_normal(rng, in->v + (in->n + i) * per, per);
	in->n += n;
	return EFFC_OK;
}

/* ---- calibration ----------------------------------------------------------------------------- */

struct ranges {
	float *lo, *hi;          /* extremes over all calibration inputs */
	double *sum_lo, *sum_hi; /* sums over the inputs of each input's extremes */
	size_t runs;             /* inputs observed */
	struct effc_hist **hist; /* second pass, percentile and mse only */
};

static void observe_range(void *arg, int t, const float *v, size_t n)
{
	struct ranges *r = arg;
	float lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		lo = fminf(lo, v[i]);
		hi = fmaxf(hi, v[i]);
	}
	r->lo[t] = fminf(r->lo[t], lo);
	r->hi[t] = fmaxf(r->hi[t], hi);
	r->sum_lo[t] += lo;
	r->sum_hi[t] += hi;
}

static void observe_hist(void *arg, int t, const float *v, size_t n)
{
	struct ranges *r = arg;
	if (r->hist[t])
		effc_hist_add(r->hist[t], v, n);
}

/* ---- the plan -------------------------------------------------------------------------------- */

static int is_weighted(const struct effc_node *n)
{
	return n->op == EFFC_OP_CONV || n->op == EFFC_OP_GEMM || n->op == EFFC_OP_MATMUL;
}

/* Ops that run quantized in the QDQ model (ONNX Runtime has int8 kernels or QDQ fusions for
 * them); reshape-like ops and the rest stay float and read dequantized values. */
static int quantizable(const struct effc_node *n)
{
	switch (n->op) {
	case EFFC_OP_CONV:
	case EFFC_OP_GEMM:
	case EFFC_OP_MATMUL:
	case EFFC_OP_ADD:
	case EFFC_OP_MUL:
	case EFFC_OP_SIGMOID:
	case EFFC_OP_GLOBALAVGPOOL:
	case EFFC_OP_RELU:
	case EFFC_OP_CLIP:
	case EFFC_OP_HARDSIGMOID:
	case EFFC_OP_HARDSWISH:
		return 1;
	default:
		return 0;
	}
}

static int producer_op(const struct effc_graph *g, int t)
{
	int p = t >= 0 ? g->t[t].producer : -1;
	return p >= 0 ? (int)g->n[p].op : -1;
}

/* Mul(x, Sigmoid(x)) or Mul(x, HardSigmoid(x)) (either order): 1 Swish, 2 HardSwish, with x and
 * the gate's tensor in *x and *gate; a HardSwish node: 2, its input, gate -1. */
static int swish_parts(const struct effc_graph *g, const struct effc_node *n, int *x, int *gate)
{
	*x = *gate = -1;
	if (n->op == EFFC_OP_HARDSWISH) {
		*x = n->in[0];
		return 2;
	}
	if (n->op != EFFC_OP_MUL || n->n_in != 2)
		return 0;
	for (int k = 0; k < 2; k++) {
		int s = n->in[k], other = n->in[1 - k];
		int op = producer_op(g, s);
		if ((op == EFFC_OP_SIGMOID || op == EFFC_OP_HARDSIGMOID) && g->n[g->t[s].producer].in[0] == other) {
			*x = other, *gate = s;
			return op == EFFC_OP_SIGMOID ? 1 : 2;
		}
	}
	return 0;
}

static int swish_kind(const struct effc_graph *g, const struct effc_node *n)
{
	int x, gate;
	return swish_parts(g, n, &x, &gate);
}

/* The activation range one tensor gets from the calibration method. */
static void method_range(const struct qopts *o, const struct ranges *r, int t, float *lo, float *hi)
{
	*lo = r->lo[t], *hi = r->hi[t];
	if (o->method == METHOD_MINMAX && (o->choices & CHOICE_MEAN) && r->runs && r->lo[t] <= r->hi[t])
		*lo = (float)(r->sum_lo[t] / (double)r->runs), *hi = (float)(r->sum_hi[t] / (double)r->runs);
	else if (o->method == METHOD_PERCENTILE && r->hist[t])
		effc_hist_percentile(r->hist[t], o->percentile, lo, hi);
	else if (o->method == METHOD_MSE && r->hist[t])
		effc_hist_mse(r->hist[t], o->type, lo, hi);
}

/* The values of tensor t that its readers can tell apart: a Relu or Clip cuts below its bound, a
 * sigmoid saturates (beyond +-8 it moves by less than a step of its 1/256 output), HardSigmoid
 * and HardSwish are flat below -3, and Swish x * sigmoid(x) below -8 stays within 0.003 of 0.
 * The hull over all readers; a graph output or a reader of another kind keeps everything. */
static void readers_range(const struct effc_graph *g, int t, float *lo, float *hi)
{
	*lo = INFINITY, *hi = -INFINITY;
	if (g->t[t].is_output) {
		*lo = -INFINITY, *hi = INFINITY;
		return;
	}
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		int reads = 0;
		for (int k = 0; k < n->n_in; k++)
			reads |= n->in[k] == t;
		if (n->dead || !reads)
			continue;
		float a = -INFINITY, b = INFINITY;
		int sw = swish_kind(g, n);
		if (n->op == EFFC_OP_RELU)
			a = 0;
		else if (n->op == EFFC_OP_CLIP)
			a = n->a.clip_min, b = n->a.clip_max;
		else if (n->op == EFFC_OP_SIGMOID)
			a = -8, b = 8;
		else if (n->op == EFFC_OP_HARDSIGMOID && n->a.alpha > 0)
			a = -n->a.beta / n->a.alpha, b = (1 - n->a.beta) / n->a.alpha;
		else if (n->op == EFFC_OP_HARDSWISH || sw == 2)
			a = -3;
		else if (sw == 1)
			a = -8;
		*lo = fminf(*lo, a), *hi = fmaxf(*hi, b);
	}
}

static void plan_ranges(struct effc_qplan *p, const struct qopts *o, const struct ranges *r)
{
	struct effc_graph *g = p->g;
	for (int t = 0; t < g->n_t; t++) {
		if (!p->act_on[t])
			continue;
		float lo, hi;
		method_range(o, r, t, &lo, &hi);
		int pr = g->t[t].producer;
		const struct effc_node *n = pr >= 0 ? &g->n[pr] : NULL;
		if ((o->choices & CHOICE_GATE) && n && n->op == EFFC_OP_SIGMOID) {
			/* XNNPACK's qs8 sigmoid requires exactly this: [0, 1) in 256 steps. */
			p->act[t].scale = 1.0f / 256.0f;
			p->act[t].zero_point = o->type == EFFC_QTYPE_UINT8 ? 0 : -128;
			continue;
		}
		if ((o->choices & CHOICE_GATE) && n && n->op == EFFC_OP_HARDSIGMOID)
			lo = 0, hi = r->hi[t] > 0 ? fminf(1.0f, r->hi[t]) : 1.0f;
		if ((o->choices & CHOICE_FLOOR) && n) {
			int sw = swish_kind(g, n);
			if (sw == 1)
				lo = -0.27846455f; /* min of x * sigmoid(x), at x = -1.2785 */
			else if (sw == 2)
				lo = -0.375f; /* min of x * relu6(x + 3) / 6, at x = -1.5 */
			else if (n->op == EFFC_OP_RELU)
				lo = 0;
			else if (n->op == EFFC_OP_CLIP) {
				lo = fmaxf(lo, n->a.clip_min);
				/* ReLU6 saturates often: its bound is the range when calibration reached it. */
				if (r->hi[t] >= n->a.clip_max)
					hi = n->a.clip_max;
			}
		}
		if (o->choices & CHOICE_READERS) {
			float ra, rb;
			readers_range(g, t, &ra, &rb);
			if (ra < rb && ra < hi && rb > lo)
				lo = fmaxf(lo, ra), hi = fminf(hi, rb);
		}
		p->act[t] = effc_qparams_from_range(lo, hi, o->type);
	}
	if (!(o->choices & CHOICE_RESIDUAL))
		return;
	/* Residual adds: an input read only by the add, whose range nearly fills the add's, shares
	 * the add's scale and zero point, so the add needs no requantization of that input. */
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead || n->op != EFFC_OP_ADD || !p->node_q[i] || !p->act_on[n->out[0]])
			continue;
		const int y = n->out[0];
		const float wy = r->hi[y] - r->lo[y];
		for (int k = 0; k < 2; k++) {
			int x = n->in[k];
			if (g->t[x].data || !p->act_on[x] || effc_graph_count_readers(g, x) != 1 || g->t[x].is_input ||
			    g->t[x].is_output || producer_op(g, x) != EFFC_OP_CONV)
				continue;
			if (r->lo[x] >= r->lo[y] && r->hi[x] <= r->hi[y] && r->hi[x] - r->lo[x] >= 0.8f * wy)
				p->act[x] = p->act[y];
		}
	}
}

/* A Swish or HardSwish (Mul node i: x * Sigmoid(x), x * HardSigmoid_{1/6,1/2}(x), or a HardSwish
 * node) on the output x of a quantized Conv that nothing else reads: x into *x, the gate's tensor
 * into *gate (-1 for a HardSwish node). effc's int8 runtime applies these in the convolution's
 * store step, on the float accumulator, before the one requantization (compiler/passes/
 * lower_int8.c); ONNX Runtime runs the Conv on dequantized operands in float there, which
 * computes the same. */
static int acc_swish(const struct effc_qplan *p, int i, int *x, int *gate)
{
	const struct effc_graph *g = p->g;
	const struct effc_node *n = &g->n[i];
	if (n->dead || !p->node_q[i] || !swish_parts(g, n, x, gate))
		return 0;
	if (*gate >= 0) {
		/* HardSigmoid only with HardSwish's constants: what the compiler's fusion takes */
		const struct effc_node *sn = &g->n[g->t[*gate].producer];
		if ((sn->op == EFFC_OP_HARDSIGMOID && !effc_is_hardswish_gate(sn)) || effc_graph_count_readers(g, *gate) != 1 ||
		    g->t[*gate].is_output)
			return 0;
	}
	const int c = g->t[*x].producer;
	return effc_graph_count_readers(g, *x) == (*gate >= 0 ? 2 : 1) && c >= 0 && g->n[c].op == EFFC_OP_CONV &&
	       p->node_q[c] && !g->t[*x].is_output;
}

/* Transposes a [r][c] float matrix into out [c][r]. */
static void transpose2(const float *in, int64_t r, int64_t c, float *out)
{
	for (int64_t i = 0; i < r; i++)
		for (int64_t j = 0; j < c; j++)
			out[j * r + i] = in[i * c + j];
}

/* Quantizes node i's weights (and bias, at its input's scale); fills p->data with their
 * dequantized values. Returns channels whose weight scale a bias overflow raised, or -1 on OOM. */
static int plan_weights(struct effc_qplan *p, int i, int per_tensor)
{
	struct effc_graph *g = p->g;
	const struct effc_node *n = &g->n[i];
	const struct effc_tensor *w = &g->t[n->in[1]];
	struct effc_qweights *qw = effc_arena_alloc(g->arena, sizeof *qw);
	const int64_t numel = effc_tensor_numel(w);
	/* Output channels: conv dim 0; Gemm B [N][K] with transB, else [K][N]; MatMul [K][N]. */
	int axis = n->op == EFFC_OP_CONV ? 0 : (n->op == EFFC_OP_GEMM && n->a.trans_b) ? 0 : 1;
	const int64_t C = w->dims[axis], per = numel / C;
	if (!qw)
		return -1;
	qw->axis = axis;
	qw->n_scale = per_tensor ? 1 : (int)C;
	qw->q = effc_arena_alloc(g->arena, (size_t)numel);
	qw->scale = effc_arena_alloc(g->arena, sizeof(float) * (size_t)C);
	float *rows = malloc(sizeof(float) * (size_t)numel), *deq = effc_arena_alloc(g->arena, sizeof(float) * (size_t)numel);
	int8_t *qrows = malloc((size_t)numel);
	if (!qw->q || !qw->scale || !rows || !deq || !qrows) {
		free(rows), free(qrows);
		return -1;
	}
	const float *wd = w->data;
	if (axis == 1)
		transpose2(wd, w->dims[0], C, rows);
	else
		memcpy(rows, wd, sizeof(float) * (size_t)numel);
	effc_quantize_weights(rows, C, per, !per_tensor, qrows, qw->scale);
	int adjusted = 0;
	const int has_bias = n->op != EFFC_OP_MATMUL && n->n_in > 2 && n->in[2] >= 0;
	/* An int32 bias needs its input's scale: a layer reading float (see plan_tensors) keeps it float. */
	const int int_bias = has_bias && p->act_on[n->in[0]] && effc_tensor_numel(&g->t[n->in[2]]) == C &&
			     (n->op == EFFC_OP_CONV || (n->a.alpha == 1.0f && n->a.beta == 1.0f));
	if (int_bias) {
		const float s_in = p->act[n->in[0]].scale;
		qw->qbias = effc_arena_alloc(g->arena, sizeof(int32_t) * (size_t)C);
		qw->bias_scale = effc_arena_alloc(g->arena, sizeof(float) * (size_t)C);
		float *bdeq = effc_arena_alloc(g->arena, sizeof(float) * (size_t)C);
		if (!qw->qbias || !qw->bias_scale || !bdeq) {
			free(rows), free(qrows);
			return -1;
		}
		const float *bias = g->t[n->in[2]].data;
		float *corrected = NULL;
		if (p->bias_corr && p->bias_corr[i] && (corrected = malloc(sizeof(float) * (size_t)C))) {
			for (int64_t c = 0; c < C; c++)
				corrected[c] = bias[c] + p->bias_corr[i][c];
			bias = corrected;
		}
		adjusted = effc_quantize_bias(bias, C, s_in, qw->scale, qw->n_scale, rows, per, qrows, qw->qbias);
		free(corrected);
		for (int64_t c = 0; c < C; c++) {
			qw->bias_scale[c] = s_in * qw->scale[per_tensor ? 0 : c];
			bdeq[c] = (float)qw->qbias[c] * qw->bias_scale[c];
		}
		p->data[n->in[2]] = bdeq;
	}
	/* Dequantized rows, back in the tensor's layout. */
	for (int64_t c = 0; c < C; c++)
		for (int64_t e = 0; e < per; e++)
			rows[c * per + e] = (float)qrows[c * per + e] * qw->scale[per_tensor ? 0 : c];
	if (axis == 1) {
		transpose2(rows, C, w->dims[0], deq);
		for (int64_t k = 0; k < w->dims[0]; k++)
			for (int64_t c = 0; c < C; c++)
				qw->q[k * C + c] = qrows[c * per + k];
	} else {
		memcpy(deq, rows, sizeof(float) * (size_t)numel);
		memcpy(qw->q, qrows, (size_t)numel);
	}
	p->data[n->in[1]] = deq;
	p->w[i] = qw;
	free(rows), free(qrows);
	return adjusted;
}

/* Which tensors get Q/DQ pairs: every activation a quantized node reads or writes. */
static void plan_tensors(struct effc_qplan *p)
{
	struct effc_graph *g = p->g;
	memset(p->act_on, 0, (size_t)g->n_t);
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead || !p->node_q[i])
			continue;
		for (int k = 0; k < n->n_in; k++)
			if (n->in[k] >= 0 && !g->t[n->in[k]].data)
				p->act_on[n->in[k]] = 1;
		p->act_on[n->out[0]] = 1;
	}
	/* A float Conv or Gemm that reads a dequantized input and whose output reaches a
	 * QuantizeLinear through nothing but single-reader Relu/Clip nodes is what ONNX Runtime's
	 * WeightBiasQuantization (a basic-level optimisation) quantizes on its own, with per-tensor
	 * weights: the layer kept in float would run int8 after all, and less accurately than
	 * effc's own int8. Every tensor of that chain goes unquantized instead; its readers read
	 * float, and ONNX Runtime runs them in float on dequantized weights, as the simulation does. */
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead || p->node_q[i] || (n->op != EFFC_OP_CONV && n->op != EFFC_OP_GEMM) || !p->act_on[n->in[0]])
			continue;
		for (int t = n->out[0]; t >= 0;) {
			p->act_on[t] = 0;
			int next = -1;
			for (int j = 0; j < g->n_n && next < 0 && !g->t[t].is_output && effc_graph_count_readers(g, t) == 1; j++) {
				const struct effc_node *m = &g->n[j];
				if (!m->dead && m->n_in > 0 && m->in[0] == t && (m->op == EFFC_OP_RELU || m->op == EFFC_OP_CLIP))
					next = m->out[0];
			}
			t = next;
		}
	}
}

/* ---- simulation and report ------------------------------------------------------------------- */

struct score {
	double signal, noise;
	int agree, rows;
};

static void score_add(struct score *s, const float *ref, const float *x, size_t n, size_t classes)
{
	for (size_t i = 0; i < n; i++) {
		double e = (double)ref[i] - x[i];
		s->signal += (double)ref[i] * ref[i];
		s->noise += e * e;
	}
	for (size_t r = 0; r + classes <= n; r += classes) {
		size_t a = 0, b = 0;
		for (size_t c = 1; c < classes; c++) {
			if (ref[r + c] > ref[r + a])
				a = c;
			if (x[r + c] > x[r + b])
				b = c;
		}
		s->agree += a == b;
		s->rows++;
	}
}

static enum effc_status simulate(const struct effc_qplan *p, const struct inputs *in, size_t n_use, const float *ref,
				 struct score *s, struct effc_diag *d)
{
	const struct effc_graph *g = p->g;
	const struct effc_tensor *o = &g->t[g->outputs[0]];
	const size_t no = (size_t)effc_tensor_numel(o), classes = (size_t)(o->rank ? o->dims[o->rank - 1] : 1);
	struct effc_qsim sim = {p->type, p->act_on, p->act, p->data};
	float *out = malloc(no * sizeof(float));
	if (!out)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory simulating");
	memset(s, 0, sizeof *s);
	enum effc_status st = EFFC_OK;
	for (size_t i = 0; i < n_use && !st; i++)
		if (!(st = effc_calib_run(g, in->v + i * in->per, &sim, NULL, NULL, out, d)))
			score_add(s, ref + i * no, out, no, classes);
	free(out);
	return st;
}

static enum effc_status reference(const struct effc_graph *g, const struct inputs *in, struct ranges *r,
				  effc_observer fn, float **ref, struct effc_diag *d)
{
	const size_t no = (size_t)effc_tensor_numel(&g->t[g->outputs[0]]);
	float *out = ref ? malloc((in->n ? in->n : 1) * no * sizeof(float)) : NULL;
	if (ref && !out)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory calibrating");
	enum effc_status st = EFFC_OK;
	for (size_t i = 0; i < in->n && !st; i++)
		st = effc_calib_run(g, in->v + i * in->per, NULL, fn, r, out ? out + i * no : NULL, d);
	if (ref)
		*ref = out;
	return st;
}

struct sens {
	int node;
	double db;
};
static int sens_cmp(const void *a, const void *b)
{
	const struct sens *x = a, *y = b;
	return x->db < y->db ? -1 : x->db > y->db ? 1 : x->node - y->node;
}

static enum effc_status replan(struct effc_qplan *p, const struct qopts *o, const struct ranges *r, int *bias_adj,
			       struct effc_diag *d);

/* ---- bias correction ------------------------------------------------------------------------ */

struct chsums {
	const struct effc_graph *g;
	double **sum; /* per tensor: channel sums, or NULL (not observed) */
	double *count; /* per tensor: values summed per channel */
};

static void observe_channels(void *arg, int t, const float *v, size_t n)
{
	struct chsums *c = arg;
	if (!c->sum[t])
		return;
	const int64_t C = c->g->t[t].dims[1];
	effc_channel_sums(v, C, (int64_t)n / C, c->sum[t]);
	c->count[t] += (double)n / (double)C;
}

/* Empirical bias correction (--bias-correction): each quantized Conv's bias is corrected by the
 * mean shift of its output channels (before their own quantization) between the float run and
 * the simulation on the calibration inputs, all layers from one simulation. Layers with fewer
 * than 32 output values per channel over all inputs (the squeeze-excite convs on 1x1 maps) are
 * left alone: there the "shift" is mostly the inputs' own noise. Off by default: on the
 * random-weight test networks it lowers the output SQNR (docs/quantize.md), and further rounds
 * diverge; n_layers gets the layers corrected. */
static enum effc_status bias_correct(struct effc_qplan *p, const struct qopts *o, const struct ranges *r,
				     const struct inputs *cal, int *bias_adj, int *n_layers, struct effc_diag *d)
{
	struct effc_graph *g = p->g;
	const int n_t = g->n_t, n_n = g->n_n;
	struct chsums f = {g, calloc((size_t)n_t + 1, sizeof(double *)), calloc((size_t)n_t + 1, sizeof(double))};
	struct chsums q = {g, calloc((size_t)n_t + 1, sizeof(double *)), calloc((size_t)n_t + 1, sizeof(double))};
	enum effc_status st = EFFC_OK;
	*n_layers = 0;
	if (!f.sum || !f.count || !q.sum || !q.count)
		st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory for bias correction");
	for (int i = 0; !st && i < n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead || n->op != EFFC_OP_CONV || !p->w[i] || !p->w[i]->qbias)
			continue;
		const struct effc_tensor *y = &g->t[n->out[0]];
		const int64_t C = y->dims[1];
		if ((double)(effc_tensor_numel(y) / C) * (double)cal->n < 32 || f.sum[n->out[0]])
			continue;
		f.sum[n->out[0]] = calloc((size_t)C, sizeof(double));
		q.sum[n->out[0]] = calloc((size_t)C, sizeof(double));
		p->bias_corr[i] = effc_arena_alloc(g->arena, sizeof(float) * (size_t)C);
		if (!f.sum[n->out[0]] || !q.sum[n->out[0]] || !p->bias_corr[i])
			st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory for bias correction");
		else
			memset(p->bias_corr[i], 0, sizeof(float) * (size_t)C), ++*n_layers;
	}
	for (size_t k = 0; !st && k < cal->n; k++)
		st = effc_calib_run(g, cal->v + k * cal->per, NULL, observe_channels, &f, NULL, d);
	struct effc_qsim sim = {p->type, p->act_on, p->act, p->data};
	for (size_t k = 0; !st && k < cal->n; k++)
		st = effc_calib_run(g, cal->v + k * cal->per, &sim, observe_channels, &q, NULL, d);
	for (int i = 0; !st && i < n_n; i++)
		if (p->bias_corr[i]) {
			const int t = g->n[i].out[0];
			effc_bias_correct(f.sum[t], q.sum[t], g->t[t].dims[1], q.count[t], p->bias_corr[i]);
		}
	if (!st)
		st = replan(p, o, r, bias_adj, d);
	for (int t = 0; t < n_t; t++) {
		if (f.sum)
			free(f.sum[t]);
		if (q.sum)
			free(q.sum[t]);
	}
	free(f.sum), free(f.count), free(q.sum), free(q.count);
	return st;
}

/* ---- the command ----------------------------------------------------------------------------- */

static const char usage_quantize[] =
	"usage: effc quantize MODEL.onnx -o OUT.onnx (--calib IN.f32 ... | --calib-random N [--seed S])\n"
	"                     [--method minmax|percentile|mse] [--percentile P] [--per-tensor]\n"
	"                     [--activations int8|uint8] [--float-nodes NAME,...] [--target-sqnr DB]\n"
	"                     [--eval IN.f32 ... | --eval-random N] [--no-sensitivity] [--bias-correction]\n"
	"                     [--check-choices | --ort-default] [--requantize-before-swish]\n";

static int qusage(const char *msg)
{
	if (msg)
		fprintf(stderr, "effc: %s\n", msg);
	fputs(usage_quantize, stderr);
	return 2;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || !*s || *end || *s == '-')
		return -1;
	*v = x;
	return 0;
}

static int parse_args(int argc, char **argv, struct qopts *o)
{
	memset(o, 0, sizeof *o);
	o->seed = 1;
	o->percentile = 99.999; /* ONNX Runtime's PercentileCalibrater default */
	o->target_sqnr = NAN;
	o->sensitivity = 1;
	o->max_weight_bytes = 4096ull << 20;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t u;
		if (!strcmp(a, "-o") && v)
			o->out = v, i++;
		else if (!strcmp(a, "--calib") || !strcmp(a, "--eval")) {
			int ev = a[2] == 'e', k = 0;
			while (i + 1 < argc && (argv[i + 1][0] != '-' || !argv[i + 1][1])) {
				if ((ev ? o->n_eval : o->n_calib) >= 256)
					return qusage("at most 256 input files");
				if (ev)
					o->eval[o->n_eval++] = argv[++i];
				else
					o->calib[o->n_calib++] = argv[++i];
				k++;
			}
			if (!k)
				return qusage(ev ? "--eval needs at least one file" : "--calib needs at least one file");
		} else if ((!strcmp(a, "--calib-random") || !strcmp(a, "--eval-random")) && v) {
			if (parse_u64(v, &u) || u > 4096 || (u == 0 && a[2] == 'c'))
				return qusage("--calib-random takes 1..4096 and --eval-random 0..4096");
			*(a[2] == 'c' ? &o->calib_random : &o->eval_random) = (int)u;
			i++;
		} else if (!strcmp(a, "--seed") && v) {
			if (parse_u64(v, &o->seed))
				return qusage("--seed takes a non-negative integer");
			i++;
		} else if (!strcmp(a, "--method") && v) {
			int m = -1;
			for (int k = 0; k < 3; k++)
				if (!strcmp(v, method_names[k]))
					m = k;
			if (m < 0) {
				fprintf(stderr, "effc: unknown --method '%s' (minmax, percentile or mse)\n", v);
				return 2;
			}
			o->method = (enum method)m;
			i++;
		} else if (!strcmp(a, "--percentile") && v) {
			char *end;
			o->percentile = strtod(v, &end);
			if (*end || !(o->percentile > 50 && o->percentile <= 100))
				return qusage("--percentile takes a number in (50, 100]");
			i++;
		} else if (!strcmp(a, "--activations") && v) {
			if (!strcmp(v, "int8"))
				o->type = EFFC_QTYPE_INT8;
			else if (!strcmp(v, "uint8"))
				o->type = EFFC_QTYPE_UINT8;
			else
				return qusage("--activations takes int8 or uint8");
			i++;
		} else if (!strcmp(a, "--float-nodes") && v) {
			o->float_nodes = v, i++;
		} else if (!strcmp(a, "--target-sqnr") && v) {
			char *end;
			o->target_sqnr = strtod(v, &end);
			if (*end || !(o->target_sqnr > 0 && o->target_sqnr < 200))
				return qusage("--target-sqnr takes a number of dB in (0, 200)");
			i++;
		} else if (!strcmp(a, "--max-weights-mb") && v) {
			if (parse_u64(v, &u) || !u || u > (1u << 20))
				return qusage("bad value for --max-weights-mb");
			o->max_weight_bytes = u << 20;
			i++;
		} else if (!strcmp(a, "--per-tensor"))
			o->per_tensor = 1;
		else if (!strcmp(a, "--ort-default"))
			o->ort_default = 1;
		else if (!strcmp(a, "--check-choices"))
			o->check_choices = 1;
		else if (!strcmp(a, "--requantize-before-swish"))
			o->requant_swish = 1;
		else if (!strcmp(a, "--no-sensitivity"))
			o->sensitivity = 0;
		else if (!strcmp(a, "--bias-correction"))
			o->bias_correction = 1;
		else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "effc: quantize: unknown option or missing value: %s\n", a);
			return qusage(NULL);
		} else if (!o->model)
			o->model = a;
		else
			return qusage("quantize: more than one model given");
	}
	if (!o->model || !o->out || !*o->out)
		return qusage("quantize needs MODEL.onnx and -o OUT.onnx");
	if (!o->n_calib == !o->calib_random)
		return qusage("quantize needs exactly one of --calib FILE... and --calib-random N");
	if (o->n_eval && o->eval_random)
		return qusage("--eval and --eval-random do not go together");
	if (o->ort_default && (o->method != METHOD_MINMAX || o->float_nodes || !isnan(o->target_sqnr) || o->check_choices))
		return qusage("--ort-default is the MinMax baseline: no --method, --float-nodes, --target-sqnr or --check-choices with it");
	o->choices = o->ort_default ? 0 : CHOICE_ALL;
	/* Every Conv -> Swish as ONNX Runtime's integer kernels run it (QLinearConv, then the Swish on
	 * int8): what an int8 runtime compared bit for bit with ONNX Runtime needs. */
	if (o->requant_swish)
		o->choices &= ~CHOICE_ACC_SWISH;
	/* Near a high target most layers are float and the rest must be nearly exact: a value
	 * clipped by the mean extremes then costs more than their finer step saves (B0 at 30 dB:
	 * 218 float layers with them, 137 without). */
	if (!isnan(o->target_sqnr))
		o->choices &= ~CHOICE_MEAN;
	return 0;
}

/* Marks the nodes --float-nodes names; refuses a name that is no node of the graph. */
static enum effc_status mark_float_nodes(const struct effc_graph *g, const char *list, unsigned char *keep,
					 struct effc_diag *d)
{
	const char *s = list;
	while (s && *s) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		int found = 0;
		for (int i = 0; i < g->n_n; i++)
			if (!strncmp(g->n[i].name, s, len) && !g->n[i].name[len]) {
				found = 1;
				if (!g->n[i].dead)
					keep[i] = 1;
			}
		if (!found || !len)
			return effc_fail(d, EFFC_ERR_INVALID, "%s: --float-nodes: no node named '%.*s' in the model", g->path,
					 (int)len, s);
		s = e ? e + 1 : NULL;
	}
	return EFFC_OK;
}

static int live_layers(const struct effc_qplan *p)
{
	int k = 0;
	for (int i = 0; i < p->g->n_n; i++)
		k += p->node_q[i];
	return k;
}

/* Rebuilds everything that depends on which nodes run quantized. */
static enum effc_status replan(struct effc_qplan *p, const struct qopts *o, const struct ranges *r, int *bias_adj,
			       struct effc_diag *d)
{
	struct effc_graph *g = p->g;
	plan_tensors(p);
	/* A Swish after a convolution reads the convolution's float output: one rounding (the
	 * Swish's output) instead of three (the conv output, the sigmoid, the product). On B0 the conv
	 * outputs before a Swish carried 37% of the output's quantization noise (docs/quantize.md). */
	for (int i = 0; (o->choices & CHOICE_ACC_SWISH) && i < g->n_n; i++) {
		int x, gate;
		if (acc_swish(p, i, &x, &gate)) {
			p->act_on[x] = 0;
			if (gate >= 0)
				p->act_on[gate] = 0;
		}
	}
	plan_ranges(p, o, r);
	memset(p->data, 0, sizeof(*p->data) * (size_t)g->n_t);
	memset(p->w, 0, sizeof(*p->w) * (size_t)g->n_n);
	*bias_adj = 0;
	for (int i = 0; i < g->n_n; i++) {
		if (!p->node_q[i] || !is_weighted(&g->n[i]))
			continue;
		int a = plan_weights(p, i, o->per_tensor);
		if (a < 0)
			return effc_fail(d, EFFC_ERR_NOMEM, "out of memory quantizing weights");
		*bias_adj += a;
	}
	return EFFC_OK;
}

static enum effc_status prepare_graph(struct effc_graph *g, const struct qopts *o, struct effc_diag *d)
{
	struct effc_load_options lo = {.batch = 1, .max_weight_bytes = o->max_weight_bytes};
	enum effc_status st;
	if ((st = effc_load_onnx(g, o->model, &lo, d)) || (st = effc_infer_shapes(g, d)) ||
	    (st = effc_pass_cleanup(g, d)) || (st = effc_pass_fold_constants(g, d)) || (st = effc_pass_fold_pad(g, d)) ||
	    (st = effc_pass_fold_bn(g, d)) || (st = effc_pass_dce(g, d)))
		return st;
	if (g->n_inputs != 1 || g->t[g->inputs[0]].dtype != EFFC_F32)
		return effc_fail(d, EFFC_ERR_UNSUPPORTED, "%s: effc quantize needs a model with one float input, it has %d",
				 o->model, g->n_inputs);
	for (int i = 0; i < g->n_n; i++)
		if (!g->n[i].dead && !effc_calib_supports(g, &g->n[i]))
			return effc_node_fail(d, g, &g->n[i], EFFC_ERR_UNSUPPORTED,
					      "effc quantize does not handle this op (after BatchNorm folding)");
	return EFFC_OK;
}

/* node_q from keep (--float-nodes) and the classifier choice; keep[i] = 2 marks the classifier.
 * Returns the number of classifier nodes kept float. */
static int select_nodes(struct effc_qplan *p, const struct qopts *o, unsigned char *keep)
{
	const struct effc_graph *g = p->g;
	int classifier = 0;
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (keep[i] == 2)
			keep[i] = 0;
		p->node_q[i] = 0;
		if (n->dead || !quantizable(n) || keep[i])
			continue;
		if ((o->choices & CHOICE_CLASSIFIER) && (n->op == EFFC_OP_GEMM || n->op == EFFC_OP_MATMUL)) {
			keep[i] = 2;
			classifier++;
			continue;
		}
		p->node_q[i] = 1;
	}
	return classifier;
}

/* Each choice is a rule of thumb; on a given network one can cost accuracy (on these random-
 * weight ones, any change moves the output by a few tenths of a dB either way). So each is
 * switched off in turn and stays off if that raises the calibration SQNR; last, all of them
 * off (ONNX Runtime's default with this method) is tried too. *sc is the kept plan's score,
 * *dropped the choices switched off. */
static enum effc_status check_choices(struct effc_qplan *p, struct qopts *o, const struct ranges *r,
				      const struct inputs *cal, const float *ref, unsigned char *keep, struct score *sc,
				      int *classifier, int *dropped, int *bias_adj, struct effc_diag *d)
{
	enum effc_status st = EFFC_OK;
	double best = effc_sqnr_db(sc->signal, sc->noise);
	const unsigned all = o->choices;
	for (int k = 0; k <= N_CHOICES && !st; k++) {
		const unsigned was = o->choices, trial = k < N_CHOICES ? was & ~(1u << k) : 0;
		if (trial == was || (k == N_CHOICES && was == 0))
			continue;
		o->choices = trial;
		select_nodes(p, o, keep);
		struct score s1;
		if ((st = replan(p, o, r, bias_adj, d)) || (st = simulate(p, cal, cal->n, ref, &s1, d)))
			break;
		const double db = effc_sqnr_db(s1.signal, s1.noise);
		if (db > best)
			best = db, *sc = s1;
		else
			o->choices = was;
	}
	if (!st) {
		*classifier = select_nodes(p, o, keep);
		st = replan(p, o, r, bias_adj, d);
	}
	*dropped = (int)(all & ~o->choices);
	return st;
}

static void print_score(const char *what, const struct score *s)
{
	printf("  %-22s SQNR %.2f dB, top-1 agreement %d/%d (%.1f%%)\n", what, effc_sqnr_db(s->signal, s->noise), s->agree,
	       s->rows, s->rows ? 100.0 * s->agree / s->rows : 0.0);
}

int effc_cmd_quantize(int argc, char **argv)
{
	struct qopts o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	struct effc_arena *arena = effc_arena_new();
	struct effc_graph *g = arena ? effc_graph_new(arena, o.model) : NULL;
	if (!g) {
		effc_arena_free(arena);
		return fprintf(stderr, "effc: out of memory\n"), 1;
	}
	struct effc_diag d = {{0}, EFFC_OK};
	struct inputs cal = {0}, ev = {0};
	struct ranges r = {0};
	float *ref = NULL, *ev_ref = NULL;
	struct sens *sens = NULL;
	enum effc_status st = prepare_graph(g, &o, &d);
	const int n_t = g->n_t, n_n = g->n_n;
	struct effc_qplan p = {.g = g, .type = o.type};
	unsigned char *keep = calloc((size_t)n_n + 1, 1);
	p.node_q = calloc((size_t)n_n + 1, 1);
	p.act_on = calloc((size_t)n_t + 1, 1);
	p.act = calloc((size_t)n_t + 1, sizeof *p.act);
	p.w = calloc((size_t)n_n + 1, sizeof *p.w);
	p.data = calloc((size_t)n_t + 1, sizeof *p.data);
	p.bias_corr = calloc((size_t)n_n + 1, sizeof *p.bias_corr);
	r.lo = malloc(sizeof(float) * ((size_t)n_t + 1));
	r.hi = malloc(sizeof(float) * ((size_t)n_t + 1));
	r.sum_lo = calloc((size_t)n_t + 1, sizeof(double));
	r.sum_hi = calloc((size_t)n_t + 1, sizeof(double));
	r.hist = calloc((size_t)n_t + 1, sizeof *r.hist);
	if (!st && (!keep || !p.node_q || !p.act_on || !p.act || !p.w || !p.data || !p.bias_corr || !r.lo || !r.hi || !r.sum_lo || !r.sum_hi || !r.hist))
		st = effc_fail(&d, EFFC_ERR_NOMEM, "out of memory");
	if (!st && o.float_nodes)
		st = mark_float_nodes(g, o.float_nodes, keep, &d);
	const size_t per = st ? 0 : (size_t)effc_tensor_numel(&g->t[g->inputs[0]]);
	uint64_t rng = o.seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
	cal.per = ev.per = per;
	if (!st)
		st = o.n_calib ? read_inputs(o.calib, o.n_calib, per, &cal, "calibration", &d)
			       : random_inputs(&rng, (size_t)o.calib_random, per, &cal, &d);
	if (!st && o.n_eval)
		st = read_inputs(o.eval, o.n_eval, per, &ev, "evaluation", &d);
	else if (!st && o.eval_random)
		st = random_inputs(&rng, (size_t)o.eval_random, per, &ev, &d);
	/* Calibration: ranges (and float outputs), then histograms over those ranges. */
	for (int t = 0; !st && t < n_t; t++)
		r.lo[t] = INFINITY, r.hi[t] = -INFINITY;
	if (!st)
		st = reference(g, &cal, &r, observe_range, &ref, &d);
	r.runs = cal.n;
	if (!st && o.method != METHOD_MINMAX) {
		for (int t = 0; t < n_t && !st; t++)
			if (r.lo[t] <= r.hi[t] && !g->t[t].data) {
				if (!(r.hist[t] = malloc(sizeof **r.hist)))
					st = effc_fail(&d, EFFC_ERR_NOMEM, "out of memory for histograms");
				else
					effc_hist_init(r.hist[t], r.lo[t], r.hi[t]);
			}
		if (!st)
			st = reference(g, &cal, &r, observe_hist, NULL, &d);
	}
	if (!st && ev.n)
		st = reference(g, &ev, NULL, NULL, &ev_ref, &d);
	/* Which nodes run quantized; then each choice checked on the calibration inputs. */
	int classifier = 0, dropped = 0;
	if (!st)
		classifier = select_nodes(&p, &o, keep);
	int bias_adj = 0;
	if (!st)
		st = replan(&p, &o, &r, &bias_adj, &d);
	struct score sc = {0}, se = {0};
	if (!st)
		st = simulate(&p, &cal, cal.n, ref, &sc, &d);
	if (!st && o.choices && o.check_choices)
		st = check_choices(&p, &o, &r, &cal, ref, keep, &sc, &classifier, &dropped, &bias_adj, &d);
	/* Sensitivity: the output's SQNR with only one layer quantized, on up to 2 calibration inputs. */
	int n_sens = 0, n_float_target = 0;
	if (!st && (o.sensitivity || !isnan(o.target_sqnr))) {
		unsigned char *all = malloc((size_t)n_n + 1);
		sens = calloc((size_t)n_n + 1, sizeof *sens);
		if (!all || !sens)
			st = effc_fail(&d, EFFC_ERR_NOMEM, "out of memory");
		else
			memcpy(all, p.node_q, (size_t)n_n);
		const size_t n_use = cal.n > 2 ? 2 : cal.n;
		for (int i = 0; !st && i < n_n; i++) {
			if (!all[i])
				continue;
			memset(p.node_q, 0, (size_t)n_n);
			p.node_q[i] = 1;
			int adj;
			struct score s1;
			if (!(st = replan(&p, &o, &r, &adj, &d)) && !(st = simulate(&p, &cal, n_use, ref, &s1, &d)))
				sens[n_sens++] = (struct sens){i, effc_sqnr_db(s1.signal, s1.noise)};
		}
		if (!st)
			qsort(sens, (size_t)n_sens, sizeof *sens, sens_cmp);
		if (all)
			memcpy(p.node_q, all, (size_t)n_n);
		free(all);
		if (!st)
			st = replan(&p, &o, &r, &bias_adj, &d);
		/* --target-sqnr: the fewest most sensitive layers in float that meet the target, by
		 * bisection on their count (the SQNR grows, nearly monotonically, as layers go float).
		 * The target is sought TARGET_MARGIN_DB above the user's in the simulation: ONNX Runtime
		 * (and effc's int8 code) compute in another float order, which moved the four test
		 * models' SQNR at 30 dB by up to 0.25 dB either way (docs/quantize.md). */
		const double aim = o.target_sqnr + TARGET_MARGIN_DB;
		if (!st && !isnan(o.target_sqnr) && effc_sqnr_db(sc.signal, sc.noise) < aim) {
			unsigned char *base = malloc((size_t)n_n + 1);
			if (!base)
				st = effc_fail(&d, EFFC_ERR_NOMEM, "out of memory");
			else
				memcpy(base, p.node_q, (size_t)n_n);
			int lo = 0, hi = n_sens; /* lo fails; hi (everything float) meets any target */
			while (!st && hi - lo > 1) {
				int mid = (lo + hi) / 2;
				memcpy(p.node_q, base, (size_t)n_n);
				for (int k = 0; k < mid; k++)
					p.node_q[sens[k].node] = 0;
				struct score s1;
				if (!(st = replan(&p, &o, &r, &bias_adj, &d)) && !(st = simulate(&p, &cal, cal.n, ref, &s1, &d))) {
					if (effc_sqnr_db(s1.signal, s1.noise) >= aim)
						hi = mid;
					else
						lo = mid;
				}
			}
			if (!st) {
				memcpy(p.node_q, base, (size_t)n_n);
				for (int k = 0; k < hi; k++)
					p.node_q[sens[k].node] = 0, keep[sens[k].node] = 3;
				n_float_target = hi;
				if (!(st = replan(&p, &o, &r, &bias_adj, &d)))
					st = simulate(&p, &cal, cal.n, ref, &sc, &d);
			}
			free(base);
		}
	}
	/* --bias-correction on the final plan; kept only where it helps on the calibration inputs. */
	int n_corrected = 0;
	if (!st && !o.ort_default && o.bias_correction) {
		const struct score before = sc;
		const int adj_before = bias_adj;
		if (!(st = bias_correct(&p, &o, &r, &cal, &bias_adj, &n_corrected, &d)))
			st = simulate(&p, &cal, cal.n, ref, &sc, &d);
		if (!st && effc_sqnr_db(sc.signal, sc.noise) < effc_sqnr_db(before.signal, before.noise)) {
			memset(p.bias_corr, 0, sizeof *p.bias_corr * (size_t)n_n);
			n_corrected = -n_corrected;
			sc = before;
			st = replan(&p, &o, &r, &bias_adj, &d);
			bias_adj = adj_before;
		}
	}
	if (!st && ev.n)
		st = simulate(&p, &ev, ev.n, ev_ref, &se, &d);
	size_t bytes_after = 0;
	if (!st)
		st = effc_write_qdq(&p, o.out, &bytes_after, &d);
	if (st) {
		rc = effc_report(&d);
	} else {
		size_t before = 0;
		unsigned char *seen = calloc((size_t)n_t + 1, 1);
		for (int i = 0; seen && i < n_n; i++)
			for (int k = 0; !g->n[i].dead && k < g->n[i].n_in; k++) {
				int t = g->n[i].in[k];
				if (t >= 0 && g->t[t].data && !seen[t])
					seen[t] = 1, before += effc_tensor_bytes(&g->t[t]);
			}
		free(seen);
		printf("effc: %s -> %s (QDQ: %s activations, %s weights, %s%s)\n", o.model, o.out,
		       o.type == EFFC_QTYPE_UINT8 ? "uint8" : "int8", o.per_tensor ? "per-tensor" : "per-channel int8",
		       method_names[o.method], o.ort_default ? ", ONNX Runtime's default choices" : "");
		if (o.n_calib)
			printf("  calibration: %zu inputs from %d file%s\n", cal.n, o.n_calib, o.n_calib == 1 ? "" : "s");
		else
			printf("  calibration: %zu random normal(0,1) inputs, seed %" PRIu64 "\n", cal.n, o.seed);
		int n_float = 0;
		for (int i = 0; i < n_n; i++)
			n_float += keep[i] && !g->n[i].dead;
		printf("  nodes: %d quantized, %d float (%d classifier, %d listed, %d for the target SQNR)\n", live_layers(&p),
		       n_float, classifier, n_float - classifier - n_float_target, n_float_target);
		for (int i = 0; i < n_n; i++)
			if (keep[i] && !g->n[i].dead)
				printf("    float: %s (%s)%s\n", g->n[i].name, effc_op_name(g->n[i].op),
				       keep[i] == 2 ? " classifier" : keep[i] == 3 ? " sensitive" : "");
		if (dropped) {
			printf("  choices dropped (they lowered the calibration SQNR):");
			for (int k = 0, first = 1; k < N_CHOICES; k++)
				if (dropped & (1 << k))
					printf("%s %s", first ? "" : ",", choice_names[k]), first = 0;
			printf("\n");
		}
		if (bias_adj)
			printf("  bias overflow: %d channel weight scales raised so their int32 bias fits\n", bias_adj);
		if (n_corrected > 0)
			printf("  bias correction: %d conv layers\n", n_corrected);
		else if (n_corrected < 0)
			printf("  bias correction: not applied (it lowered the calibration SQNR)\n");
		printf("  weights: %zu bytes float -> %zu bytes\n", before, bytes_after);
		print_score("calibration inputs:", &sc);
		if (ev.n)
			print_score("held-out inputs:", &se);
		if (n_sens) {
			printf("  most sensitive layers (output SQNR with only that layer quantized):\n");
			for (int k = 0; k < n_sens && k < 10; k++)
				printf("    %2d. %-40s %-18s %6.2f dB\n", k + 1, g->n[sens[k].node].name,
				       effc_op_name(g->n[sens[k].node].op), sens[k].db);
		}
	}
	for (int t = 0; r.hist && t < n_t; t++)
		free(r.hist[t]);
	free(r.hist), free(r.lo), free(r.hi), free(r.sum_lo), free(r.sum_hi);
	free(cal.v), free(ev.v), free(ref), free(ev_ref), free(sens);
	free(keep), free(p.node_q), free(p.act_on), free(p.act), free(p.w), free(p.data), free(p.bias_corr);
	effc_arena_free(arena);
	return rc;
}

/* `effc gen ... --int8 [--calib-random N] -o OUT.onnx`: generates the float model into a
 * temporary sibling, quantizes it into OUT.onnx (calibrated on N random inputs, default 8, from
 * the generator's --seed) and removes the float file. Until effc compiles int8 models (the next
 * issue), --emit-c is refused with --int8. */
int effc_cmd_gen_int8(int argc, char **argv, const char *cmdline)
{
	char **gargv = calloc((size_t)argc + 1, sizeof(char *));
	const char *out = NULL, *calib = "8", *seed = "0";
	int gargc = 0, o_at = -1;
	if (!gargv)
		return fprintf(stderr, "effc: out of memory\n"), 1;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--int8"))
			continue;
		if (!strcmp(argv[i], "--calib-random") && i + 1 < argc) {
			calib = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "--emit-c")) {
			free(gargv);
			return qusage("gen --int8 writes a QDQ model (-o OUT.onnx); int8 C is not there yet");
		}
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = argv[i + 1];
		if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[i + 1];
			o_at = gargc + 1;
		}
		gargv[gargc++] = argv[i];
	}
	if (!out || !*out) {
		free(gargv);
		return qusage("gen --int8 needs -o OUT.onnx");
	}
	char tmp[4200];
	if (effc_pathf(tmp, sizeof tmp, "%s.effc-float.onnx", out)) {
		free(gargv);
		return fprintf(stderr, "effc: %s: path too long\n", out), 1;
	}
	gargv[o_at] = tmp;
	int rc = effc_cmd_gen(gargc, gargv, cmdline);
	free(gargv);
	if (rc) {
		remove(tmp);
		return rc;
	}
	char *qargv[] = {tmp, "-o", (char *)out, "--calib-random", (char *)calib, "--seed", (char *)seed, "--no-sensitivity"};
	rc = effc_cmd_quantize((int)(sizeof qargv / sizeof *qargv), qargv);
	remove(tmp);
	return rc;
}
