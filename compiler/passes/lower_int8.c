/* lower_int8.c: a quantized model's ops on int8 tensors.
 *
 * Input:   the graph after lower-qdq, the float passes and layout: every activation of a
 *          quantized model is written by a QuantizeDequantize (FAKE_QUANT) op, its weights and
 *          biases are float constants that remember their integers (tensor.qc).
 * Pattern: an op whose activation inputs are all QuantizeDequantize outputs and whose output is
 *          read only by one QuantizeDequantize: Conv (pointwise, depthwise, dense; Relu/Clip
 *          fused), GlobalAveragePool, Add, Mul (same shape or one value per channel), the
 *          elementwise activations (Sigmoid, Relu, Clip, HardSigmoid, HardSwish, Swish), and
 *          Gemm/MatMul with constant weights. These are the "DQ -> op -> Q" patterns of a QDQ
 *          model.
 * Result:  each becomes an int8 op (Q8*) reading and writing int8 tensors (dtype EFFC_I8, with
 *          qscale/qzp; uint8 tensors are held as int8 with the zero point shifted by 128), with
 *          the requantization folded: scales and zero points become per-channel multipliers at
 *          create, weights are packed here for the runtime's kernels (effc_rt_int8.h). Then:
 *          - a chain of elementwise ops on one tensor becomes one 256-entry table (Swish, x *
 *            sigmoid(x) with its own Q/DQ pairs, is one table, computed here in float as the
 *            unfused graph computes it);
 *          - a table after a convolution goes into the convolution's store step;
 *          - a residual Add goes into the store step of the convolution that writes one of its
 *            inputs.
 *          Where an op has no int8 form the graph switches explicitly: Dequantize (int8 ->
 *          float) before it, Quantize (float -> int8) after it; the report lists those ops and
 *          why. A QuantizeDequantize between two float ops stays one.
 * Runs after layout (every int8 tensor is NHWC or rank 2) and before lower (which would pack
 * the float weights). */
#include "../effc.h"
#include "effc_rt.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct q8_state {
	struct effc_graph *g;
	struct effc_diag *d;
	int *twin; /* per tensor: the int8 tensor holding a QuantizeDequantize output, or -1 */
	int *flt;  /* per tensor: the float tensor whose twin it is, or -1 */
	int cap;
	char *report;
	size_t report_cap, k;
	int n_float, n_int8, n_fused;
	int oom;
};

/* The output range of QuantizeDequantize node f in int8 terms. */
static void fq_range(const struct effc_node *f, int32_t *lo, int32_t *hi, int32_t *zp)
{
	const int32_t off = f->a.clip_min >= 0.0f ? 128 : 0; /* uint8: shifted into int8 */
	*lo = (int32_t)f->a.clip_min - off;
	*hi = (int32_t)f->a.clip_max - off;
	*zp = (int32_t)f->a.beta - off;
}

static int grow(struct q8_state *s)
{
	if (s->g->n_t < s->cap)
		return 0;
	int nc = s->g->n_t * 2 + 64;
	int *t = realloc(s->twin, (size_t)nc * sizeof *t);
	if (t)
		s->twin = t;
	int *f = t ? realloc(s->flt, (size_t)nc * sizeof *f) : NULL;
	if (!f) {
		s->oom = 1;
		return -1;
	}
	s->flt = f;
	for (int i = s->cap; i < nc; i++)
		t[i] = f[i] = -1;
	s->cap = nc;
	return 0;
}

static int twin(const struct q8_state *s, int t) { return t >= 0 && t < s->cap ? s->twin[t] : -1; }

/* Readers of int8 tensor t8, counting those of its float twin (each will read a Dequantize). */
static int readers8(const struct q8_state *s, int t8)
{
	const struct effc_graph *g = s->g;
	const int f = t8 >= 0 && t8 < s->cap ? s->flt[t8] : -1;
	return g->t[t8].n_consumers + g->t[t8].is_output + (f >= 0 ? g->t[f].n_consumers + g->t[f].is_output : 0);
}

/* A new int8 tensor shaped like t. */
static int new_i8(struct q8_state *s, int t, const char *suffix, float scale, int32_t zp)
{
	struct effc_graph *g = s->g;
	const char *name = effc_arena_printf(g->arena, "%s.%s", g->t[t].name, suffix);
	const int n = name ? effc_graph_add_tensor(g, name) : -1;
	if (n < 0 || grow(s)) {
		s->oom = 1;
		return -1;
	}
	struct effc_tensor *x = &g->t[n], *src = &g->t[t];
	x->rank = src->rank;
	memcpy(x->dims, src->dims, sizeof x->dims);
	x->layout = src->layout;
	x->dtype = EFFC_I8;
	x->qscale = scale;
	x->qzp = zp;
	if (src->from_onnx) { /* holds that tensor's values, quantized: debug dumps name it so */
		x->from_onnx = 1;
		x->onnx_name = src->name;
	}
	return n;
}

/* A new constant of `bytes` bytes (dtype EFFC_I8, rank 1) or `count` floats. */
static int new_const(struct q8_state *s, const char *base, const char *suffix, int dtype, int64_t count)
{
	struct effc_graph *g = s->g;
	const char *name = effc_arena_printf(g->arena, "%s.%s", base, suffix);
	const int n = name ? effc_graph_add_tensor(g, name) : -1;
	if (n < 0 || grow(s)) {
		s->oom = 1;
		return -1;
	}
	struct effc_tensor *x = &g->t[n];
	x->rank = 1;
	x->dims[0] = count;
	x->dtype = dtype;
	x->producer = -1;
	x->data = effc_arena_alloc(g->arena, effc_tensor_bytes(x) ? effc_tensor_bytes(x) : 1);
	if (!x->data) {
		s->oom = 1;
		return -1;
	}
	return n;
}

static void note_float(struct q8_state *s, const struct effc_node *n, const char *why)
{
	s->n_float++;
	if (!s->report || s->k >= s->report_cap)
		return;
	if (s->n_float <= 12)
		s->k += (size_t)snprintf(s->report + s->k, s->report_cap - s->k, "    float: '%s' (%s): %s\n", n->name,
					 effc_op_name(n->op), why);
	else if (s->n_float == 13)
		s->k += (size_t)snprintf(s->report + s->k, s->report_cap - s->k, "    float: ... (more)\n");
}

/* The QuantizeDequantize node that alone reads node n's output, or -1. */
static int sole_fq(const struct effc_graph *g, const struct effc_node *n)
{
	if (n->n_out < 1 || n->out[0] < 0 || g->t[n->out[0]].is_output)
		return -1;
	for (int k = 1; k < n->n_out; k++)
		if (n->out[k] >= 0)
			return -1;
	const int c = effc_graph_sole_consumer(g, n->out[0]);
	return c >= 0 && g->n[c].op == EFFC_OP_FAKE_QUANT && g->n[c].in[0] == n->out[0] ? c : -1;
}

/* QuantizeLinear of v onto int8 tensor t's grid, clamped to [lo, hi], as ONNX: v / scale
 * rounded half to even. */
static int32_t quant(const struct effc_tensor *t, double v, int32_t lo, int32_t hi)
{
	const double q = nearbyint(fmin(fmax((double)(float)((float)v / t->qscale), -1e9), 1e9)) + t->qzp;
	return q < lo ? lo : q > hi ? hi : (int32_t)q;
}

static float deq(const struct effc_tensor *t, int32_t q) { return (float)(q - t->qzp) * t->qscale; }

static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

/* An elementwise activation's float function (what the runtime's float kernels compute). */
static int unary_fn(const struct effc_node *n, float x, float *y)
{
	const struct effc_attrs *a = &n->a;
	switch (n->op) {
	case EFFC_OP_SIGMOID:
		*y = sigm(x);
		return 1;
	case EFFC_OP_RELU:
		*y = x > 0.0f ? x : 0.0f;
		return 1;
	case EFFC_OP_CLIP:
		*y = fminf(fmaxf(x, a->clip_min), a->clip_max);
		return 1;
	case EFFC_OP_HARDSIGMOID:
		*y = fmaxf(0.0f, fminf(1.0f, a->alpha * x + a->beta));
		return 1;
	case EFFC_OP_HARDSWISH:
		*y = x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f));
		return 1;
	case EFFC_OP_SWISH:
		*y = x * sigm(x);
		return 1;
	default:
		return 0;
	}
}

/* The integers of weight constant w as int8 (zero point taken out), checked against its float
 * values; per-channel scales along axis `axis` (length `chans`) into scale[]. 0 if w is not an
 * int8-exact constant of that form; *why says why. */
static int weights_i8(const struct effc_tensor *w, int axis, int64_t chans, int8_t *out, float *scale,
		      const char **why)
{
	const struct effc_qconst *qc = w->qc;
	if (!qc || (qc->qtype != 2 && qc->qtype != 3)) {
		*why = "its weights are float, not dequantized 8-bit integers";
		return 0;
	}
	if (qc->n != 1 && (qc->axis != axis || qc->n != chans)) {
		*why = "its weights are quantized per channel along another axis than the output channels";
		return 0;
	}
	int64_t inner = 1;
	for (int k = axis + 1; k < w->rank; k++)
		inner *= w->dims[k];
	const int64_t numel = effc_tensor_numel(w);
	const float *f = w->data;
	for (int64_t i = 0; i < numel; i++) {
		const int64_t c = qc->n == 1 ? 0 : i / inner % chans;
		const float zp = qc->zp ? qc->zp[c] : 0.0f;
		const double v = (double)qc->v[i] - zp;
		if (v < -128 || v > 127) {
			*why = "a weight minus its zero point leaves int8";
			return 0;
		}
		if ((float)v * qc->scale[c] != f[i]) {
			*why = "its weights were changed after dequantization";
			return 0;
		}
		out[i] = (int8_t)v;
	}
	for (int64_t c = 0; c < chans; c++)
		scale[c] = qc->scale[qc->n == 1 ? 0 : c];
	return 1;
}

/* The int32 bias at scale s_in * s_w[c]: the model's own integers when it has them at that
 * scale (QDQ biases are), else the float bias rounded onto that grid. */
static int bias_i32(const struct effc_tensor *b, int64_t chans, float s_in, const float *s_w, int32_t *out,
		    const char **why)
{
	for (int64_t c = 0; c < chans; c++) {
		const double s = (double)s_in * s_w[c];
		if (!b) {
			out[c] = 0;
			continue;
		}
		const int64_t i = effc_tensor_numel(b) == 1 ? 0 : c;
		const struct effc_qconst *qc = b->qc;
		if (qc && qc->qtype == 6 && !qc->zp && fabs(qc->scale[qc->n == 1 ? 0 : i] - s) <= 1e-6 * s) {
			out[c] = qc->v[i];
			continue;
		}
		const double v = nearbyint(((const float *)b->data)[i] / s);
		if (!(fabs(v) < 2147483647.0)) {
			*why = "its bias does not fit int32 at scale s_in * s_w";
			return 0;
		}
		out[c] = (int32_t)v;
	}
	return 1;
}

/* Conv -> Q8Conv. */
static int conv_q8(struct q8_state *s, struct effc_node *n, int x8, int y8, const struct effc_node *f,
		   const char **why)
{
	struct effc_graph *g = s->g;
	const struct effc_tensor *x = &g->t[n->in[0]], *w = &g->t[n->in[1]];
	const struct effc_tensor *b = n->n_in > 2 && n->in[2] >= 0 ? &g->t[n->in[2]] : NULL;
	const struct effc_attrs *a = &n->a;
	if (x->layout != EFFC_LAYOUT_NHWC || !w->data || (b && !b->data) || w->rank != 4) {
		*why = "not an NHWC convolution with constant weights";
		return 0;
	}
	/* A Swish/HardSwish fused into it reads its float output (no QuantizeLinear between them):
	 * the runtime applies it in the store step, before the requantization. */
	const enum effc_act q_act = a->act == EFFC_ACT_SWISH || a->act == EFFC_ACT_HARDSWISH ? a->act : EFFC_ACT_NONE;
	const int64_t O = w->dims[0], I = w->dims[1], kh = w->dims[2], kw = w->dims[3], C = x->dims[1];
	enum effc_q8_kind kind;
	if (a->group == 1 && kh == 1 && kw == 1 && a->strides[0] == 1 && a->strides[1] == 1 && !a->pads[0] &&
	    !a->pads[1] && !a->pads[2] && !a->pads[3])
		kind = EFFC_Q8_GEMM;
	else if (a->group == C && I == 1 && O == C)
		kind = EFFC_Q8_DW;
	else if (a->group == 1)
		kind = EFFC_Q8_CONV;
	else {
		*why = "a grouped convolution that is not depthwise";
		return 0;
	}
	if (kind == EFFC_Q8_DW && (a->dilations[0] != 1 || a->dilations[1] != 1)) {
		*why = "a dilated depthwise convolution";
		return 0;
	}
	int8_t *wq = malloc((size_t)effc_tensor_numel(w));
	float *ws = malloc((size_t)O * sizeof *ws);
	int32_t *bq = malloc((size_t)O * sizeof *bq);
	int8_t *ohwi = kind == EFFC_Q8_CONV ? malloc((size_t)effc_tensor_numel(w)) : NULL;
	int ok = 0;
	if (!wq || !ws || !bq || (kind == EFFC_Q8_CONV && !ohwi)) {
		s->oom = 1;
		goto out;
	}
	if (!weights_i8(w, 0, O, wq, ws, why) || !bias_i32(b, O, g->t[x8].qscale, ws, bq, why))
		goto out;
	size_t bytes;
	if (kind == EFFC_Q8_GEMM)
		bytes = effc_rt_q8_gemm_packed_bytes((size_t)O, (size_t)I);
	else if (kind == EFFC_Q8_DW)
		bytes = effc_rt_q8_dw_packed_bytes((size_t)O, (int)kh, (int)kw);
	else
		bytes = effc_rt_q8_conv_packed_bytes((int)O, (int)kh, (int)kw, (int)I);
	const int pt = new_const(s, w->name, "q8", EFFC_I8, (int64_t)bytes);
	const int st = new_const(s, w->name, "qscale", EFFC_F32, O);
	if (pt < 0 || st < 0)
		goto out;
	void *packed = g->t[pt].data;
	if (kind == EFFC_Q8_GEMM) {
		effc_rt_q8_gemm_pack((size_t)O, (size_t)I, wq, bq, packed);
	} else if (kind == EFFC_Q8_DW) {
		effc_rt_q8_dw_pack((size_t)O, (int)kh, (int)kw, wq, bq, packed);
	} else {
		for (int64_t o = 0; o < O; o++)
			for (int64_t c = 0; c < I; c++)
				for (int64_t y = 0; y < kh; y++)
					for (int64_t xx = 0; xx < kw; xx++)
						ohwi[((o * kh + y) * kw + xx) * I + c] = wq[((o * I + c) * kh + y) * kw + xx];
		effc_rt_q8_conv_pack((int)O, (int)kh, (int)kw, (int)I, ohwi, bq, packed);
	}
	memcpy(g->t[st].data, ws, (size_t)O * sizeof *ws);
	int32_t lo, hi, zp;
	fq_range(f, &lo, &hi, &zp);
	if (a->act == EFFC_ACT_CLAMP) {
		const struct effc_tensor *yt = &g->t[y8];
		if (isfinite(a->act_min))
			lo = quant(yt, a->act_min, lo, hi);
		if (isfinite(a->act_max))
			hi = quant(yt, a->act_max, lo, hi);
	}
	n->op = EFFC_OP_Q8_CONV;
	n->n_in = 5;
	n->in[0] = x8, n->in[1] = pt, n->in[2] = st, n->in[3] = -1, n->in[4] = -1;
	n->out[0] = y8;
	n->a.q_kind = kind;
	n->a.q_lo = lo, n->a.q_hi = hi;
	n->a.qo_scale = g->t[y8].qscale, n->a.qo_zp = g->t[y8].qzp;
	n->a.q_act = q_act;
	n->a.act = EFFC_ACT_NONE;
	ok = 1;
out:
	free(wq), free(ws), free(bq), free(ohwi);
	return ok;
}

/* Gemm / MatMul with constant B (the classifier) -> Q8Conv of kind GEMM over rows. */
static int fc_q8(struct q8_state *s, struct effc_node *n, int x8, int y8, const struct effc_node *f, const char **why)
{
	struct effc_graph *g = s->g;
	const struct effc_tensor *x = &g->t[n->in[0]], *bw = &g->t[n->in[1]];
	const struct effc_tensor *c = n->op == EFFC_OP_GEMM && n->n_in > 2 && n->in[2] >= 0 ? &g->t[n->in[2]] : NULL;
	if (!bw->data || bw->rank != 2 || x->rank != 2 ||
	    (n->op == EFFC_OP_GEMM && (n->a.trans_a || n->a.alpha != 1.0f || n->a.beta != 1.0f))) {
		*why = "not a matrix product with constant 2-D weights (alpha, beta 1)";
		return 0;
	}
	const int tb = n->op == EFFC_OP_GEMM && n->a.trans_b;
	const int64_t K = tb ? bw->dims[1] : bw->dims[0], N = tb ? bw->dims[0] : bw->dims[1];
	if (c && (!c->data || (effc_tensor_numel(c) != 1 && effc_tensor_numel(c) != N))) {
		*why = "its bias is not one value per output column";
		return 0;
	}
	int8_t *wq = malloc((size_t)(K * N)), *nk = malloc((size_t)(K * N));
	float *ws = malloc((size_t)N * sizeof *ws);
	int32_t *bq = malloc((size_t)N * sizeof *bq);
	int ok = 0;
	if (!wq || !nk || !ws || !bq) {
		s->oom = 1;
		goto out;
	}
	if (!weights_i8(bw, tb ? 0 : 1, N, wq, ws, why) || !bias_i32(c, N, g->t[x8].qscale, ws, bq, why))
		goto out;
	for (int64_t j = 0; j < N; j++)
		for (int64_t k = 0; k < K; k++)
			nk[j * K + k] = tb ? wq[j * K + k] : wq[k * N + j];
	const int pt = new_const(s, bw->name, "q8", EFFC_I8, (int64_t)effc_rt_q8_gemm_packed_bytes((size_t)N, (size_t)K));
	const int st = new_const(s, bw->name, "qscale", EFFC_F32, N);
	if (pt < 0 || st < 0)
		goto out;
	effc_rt_q8_gemm_pack((size_t)N, (size_t)K, nk, bq, g->t[pt].data);
	memcpy(g->t[st].data, ws, (size_t)N * sizeof *ws);
	int32_t lo, hi, zp;
	fq_range(f, &lo, &hi, &zp);
	n->op = EFFC_OP_Q8_CONV;
	n->n_in = 5;
	n->in[0] = x8, n->in[1] = pt, n->in[2] = st, n->in[3] = -1, n->in[4] = -1;
	n->out[0] = y8;
	n->a.q_kind = EFFC_Q8_GEMM;
	n->a.q_lo = lo, n->a.q_hi = hi;
	n->a.qo_scale = g->t[y8].qscale, n->a.qo_zp = g->t[y8].qzp;
	memset(n->a.kernel, 0, sizeof n->a.kernel);
	ok = 1;
out:
	free(wq), free(nk), free(ws), free(bq);
	return ok;
}

/* The table of unary node n from int8 tensor x8 to y8 (range [lo, hi]). */
static int unary_table(struct q8_state *s, const struct effc_node *n, int x8, int y8, int32_t lo, int32_t hi)
{
	const int lt = new_const(s, n->name, "table", EFFC_I8, 256);
	if (lt < 0)
		return -1;
	int8_t *lut = s->g->t[lt].data;
	for (int q = -128; q < 128; q++) {
		float v;
		unary_fn(n, deq(&s->g->t[x8], q), &v);
		lut[(uint8_t)q] = (int8_t)quant(&s->g->t[y8], v, lo, hi);
	}
	return lt;
}

/* Node n (not a QuantizeDequantize) on int8 tensors where it can be; 1 if rewritten. */
static int convert(struct q8_state *s, int i)
{
	struct effc_graph *g = s->g;
	struct effc_node *n = &g->n[i];
	const int fi = sole_fq(g, n);
	int x8[2] = {-1, -1}, nact = 0, all = 1;
	for (int k = 0; k < n->n_in; k++) {
		const int t = n->in[k];
		if (t < 0 || g->t[t].data)
			continue;
		if (nact < 2)
			x8[nact] = twin(s, t);
		all &= twin(s, t) >= 0;
		nact++;
	}
	if (!nact || !all)
		return 0; /* not between quantized tensors: nothing to say */
	const char *why = NULL;
	if (fi < 0) {
		note_float(s, n, "its output is not quantized (read by a float op or a graph output)");
		return 0;
	}
	const struct effc_node *f = &g->n[fi];
	const int y8 = twin(s, f->out[0]);
	int32_t lo, hi, zp;
	fq_range(f, &lo, &hi, &zp);
	int ok = 0;
	switch (n->op) {
	case EFFC_OP_CONV:
		ok = nact == 1 && conv_q8(s, n, x8[0], y8, f, &why);
		if (nact != 1)
			why = "run-time weights";
		break;
	case EFFC_OP_GEMM:
	case EFFC_OP_MATMUL:
		ok = nact == 1 && fc_q8(s, n, x8[0], y8, f, &why);
		if (nact != 1)
			why = "run-time weights";
		break;
	case EFFC_OP_GLOBALAVGPOOL:
		if (g->t[n->in[0]].layout != EFFC_LAYOUT_NHWC || g->t[n->in[0]].rank != 4) {
			why = "not an NHWC pooling";
			break;
		}
		n->op = EFFC_OP_Q8_GAP;
		n->in[0] = x8[0];
		n->out[0] = y8;
		n->a.q_lo = lo, n->a.q_hi = hi;
		ok = 1;
		break;
	case EFFC_OP_ADD:
	case EFFC_OP_MUL: {
		if (nact != 2 || n->n_in != 2) {
			why = "a constant operand";
			break;
		}
		if (effc_tensor_numel(&g->t[x8[0]]) < effc_tensor_numel(&g->t[x8[1]])) { /* Mul(gate, x) */
			const int t = x8[0];
			x8[0] = x8[1], x8[1] = t;
		}
		const struct effc_tensor *a = &g->t[x8[0]], *b = &g->t[x8[1]], *y = &g->t[y8];
		const int64_t na = effc_tensor_numel(a), nb = effc_tensor_numel(b);
		int same = na == nb && na == effc_tensor_numel(y);
		/* One value per channel and batch: [N, C, 1, 1] against an NHWC [N, C, H, W]. */
		int per_chan = a->rank == 4 && b->rank == 4 && a->layout == EFFC_LAYOUT_NHWC && b->dims[0] == a->dims[0] &&
			       b->dims[1] == a->dims[1] && b->dims[2] == 1 && b->dims[3] == 1 && na == effc_tensor_numel(y);
		if (!same && !(n->op == EFFC_OP_MUL && per_chan)) {
			why = "a broadcast other than one value per channel";
			break;
		}
		if (same && a->layout != b->layout) {
			why = "operands in different layouts";
			break;
		}
		n->op = n->op == EFFC_OP_ADD ? EFFC_OP_Q8_ADD : EFFC_OP_Q8_MUL;
		n->in[0] = x8[0], n->in[1] = x8[1];
		n->out[0] = y8;
		n->a.q_lo = lo, n->a.q_hi = hi;
		ok = 1;
		break;
	}
	default: {
		float v;
		if (nact != 1 || !unary_fn(n, 0.0f, &v)) {
			why = "no int8 form";
			break;
		}
		const int lt = unary_table(s, n, x8[0], y8, lo, hi);
		if (lt < 0)
			return 0;
		n->op = EFFC_OP_Q8_LUT;
		n->n_in = 2;
		n->in[0] = x8[0], n->in[1] = lt;
		n->out[0] = y8;
		ok = 1;
		break;
	}
	}
	if (!ok) {
		if (!s->oom)
			note_float(s, n, why ? why : "no int8 form");
		return 0;
	}
	g->n[fi].dead = 1;
	g->t[y8].producer = i;
	s->n_int8++;
	return 1;
}

/* The node writing tensor t, if it is a live int8 op of kind op (any Q8 op for op < 0). */
static struct effc_node *producer(struct effc_graph *g, int t, int op)
{
	const int p = t >= 0 ? g->t[t].producer : -1;
	if (p < 0 || g->n[p].dead || g->n[p].out[0] != t)
		return NULL;
	return op < 0 || g->n[p].op == (enum effc_op)op ? &g->n[p] : NULL;
}

static void unread(struct effc_graph *g, int t)
{
	if (t >= 0)
		g->t[t].n_consumers--;
}

/* Marks int8 op m dead if nothing reads its output, and so on up its inputs. */
static void drop_if_unread(const struct q8_state *s, struct effc_node *m)
{
	struct effc_graph *g = s->g;
	if (!m || m->dead || m->op < EFFC_OP_Q8_QUANTIZE || readers8(s, m->out[0]))
		return;
	m->dead = 1;
	for (int k = 0; k < m->n_in; k++) {
		unread(g, m->in[k]);
		if (m->in[k] >= 0 && !g->t[m->in[k]].data)
			drop_if_unread(s, producer(g, m->in[k], -1));
	}
}

/* Mul(a, b) where each of a and b is r or a table of r: one table of r (Swish: x * sigmoid(x)
 * with its Q/DQ pairs). Returns 1 if rewritten. */
static int merge_mul_table(struct q8_state *s, struct effc_node *m)
{
	struct effc_graph *g = s->g;
	const int a = m->in[0], b = m->in[1];
	if (effc_tensor_numel(&g->t[a]) != effc_tensor_numel(&g->t[b]))
		return 0;
	struct effc_node *la = producer(g, a, EFFC_OP_Q8_LUT), *lb = producer(g, b, EFFC_OP_Q8_LUT);
	const int ra[2] = {la ? la->in[0] : -2, a}, rb[2] = {lb ? lb->in[0] : -2, b};
	int ia = -1, ib = -1;
	for (int i = 0; i < 2 && ia < 0; i++)
		for (int j = 0; j < 2 && ia < 0; j++)
			if (ra[i] >= 0 && ra[i] == rb[j])
				ia = i, ib = j;
	if (ia < 0)
		return 0;
	const int r = ra[ia];
	const int lt = new_const(s, m->name, "table", EFFC_I8, 256);
	if (lt < 0)
		return 0;
	const int8_t *ta = ia == 0 ? g->t[la->in[1]].data : NULL, *tb = ib == 0 ? g->t[lb->in[1]].data : NULL;
	int8_t *lut = g->t[lt].data;
	const struct effc_tensor *A = &g->t[a], *B = &g->t[b], *Y = &g->t[m->out[0]];
	for (int q = -128; q < 128; q++) {
		const int32_t qa = ta ? ta[(uint8_t)q] : q, qb = tb ? tb[(uint8_t)q] : q;
		lut[(uint8_t)q] = (int8_t)quant(Y, deq(A, qa) * deq(B, qb), m->a.q_lo, m->a.q_hi);
	}
	m->op = EFFC_OP_Q8_LUT;
	m->in[0] = r, m->in[1] = lt;
	m->n_in = 2;
	unread(g, a), unread(g, b);
	g->t[r].n_consumers++;
	drop_if_unread(s, la);
	drop_if_unread(s, lb);
	s->n_fused++;
	return 1;
}

/* Table node l after a convolution or another table whose output only l reads: composed into it. */
static int fuse_table(struct q8_state *s, struct effc_node *l)
{
	struct effc_graph *g = s->g;
	struct effc_node *p = producer(g, l->in[0], -1);
	if (!p || (p->op != EFFC_OP_Q8_CONV && p->op != EFFC_OP_Q8_LUT) || readers8(s, l->in[0]) != 1 ||
	    (p->op == EFFC_OP_Q8_CONV && p->in[3] >= 0))
		return 0;
	const int slot = p->op == EFFC_OP_Q8_CONV ? 4 : 1;
	const int8_t *t2 = g->t[l->in[1]].data;
	if (p->in[slot] >= 0) {
		int8_t *t1 = g->t[p->in[slot]].data;
		for (int q = 0; q < 256; q++)
			t1[q] = t2[(uint8_t)t1[q]];
	} else {
		p->in[slot] = l->in[1];
	}
	unread(g, l->in[0]);
	const int y = l->out[0];
	p->out[0] = y;
	g->t[y].producer = (int)(p - g->n);
	l->dead = 1;
	s->n_fused++;
	return 1;
}

/* Add(a, b) where a pointwise or dense convolution writes a (or b) for the add alone: the add
 * goes into the convolution's store step. */
static int fuse_residual(struct q8_state *s, struct effc_node *add)
{
	struct effc_graph *g = s->g;
	for (int k = 0; k < 2; k++) {
		struct effc_node *p = producer(g, add->in[k], EFFC_OP_Q8_CONV);
		if (!p || p->a.q_kind == EFFC_Q8_DW || p->in[3] >= 0 || readers8(s, add->in[k]) != 1 ||
		    add->in[k] == add->in[1 - k])
			continue;
		const struct effc_tensor *a = &g->t[add->in[k]];
		p->a.qa_scale = a->qscale;
		p->a.qa_zp = a->qzp;
		p->a.q_lo_res = add->a.q_lo, p->a.q_hi_res = add->a.q_hi;
		p->in[3] = add->in[1 - k];
		unread(g, add->in[k]);
		p->out[0] = add->out[0];
		g->t[add->out[0]].producer = (int)(p - g->n);
		add->dead = 1;
		s->n_fused++;
		return 1;
	}
	return 0;
}

/* Node id of a new node at position pos (later nodes shift), or -1. */
static int insert(struct q8_state *s, int pos, enum effc_op op, const char *name, int in, int out)
{
	struct effc_graph *g = s->g;
	const int id = effc_graph_insert_node(g, pos, op, name);
	if (id < 0) {
		s->oom = 1;
		return -1;
	}
	g->n[id].n_in = g->n[id].n_out = 1;
	g->n[id].in[0] = in;
	g->n[id].out[0] = out;
	g->t[out].producer = id;
	return id;
}

static int is_fq(const struct effc_node *n) { return !n->dead && n->op == EFFC_OP_FAKE_QUANT; }

/* Float nodes nobody reads any more (a Flatten whose int8 twin took its readers) and int8 ops
 * nobody reads; a QuantizeDequantize is settled by the switches. -1 on OOM. */
static int dce(struct q8_state *s)
{
	struct effc_graph *g = s->g;
	char *needed = calloc((size_t)g->n_t + 1, 1); /* read, or its float twin read (a Dequantize to come) */
	if (!needed)
		return -1;
	for (int changed = 1; changed;) {
		changed = 0;
		effc_graph_count_uses(g);
		memset(needed, 0, (size_t)g->n_t);
		for (int t = 0; t < g->n_t; t++)
			if (g->t[t].n_consumers || g->t[t].is_output) {
				needed[t] = 1;
				if (twin(s, t) >= 0)
					needed[twin(s, t)] = 1;
			}
		for (int i = g->n_n - 1; i >= 0; i--) {
			struct effc_node *n = &g->n[i];
			int used = 0;
			for (int k = 0; k < n->n_out; k++)
				used |= n->out[k] >= 0 && needed[n->out[k]];
			if (!n->dead && !used && !is_fq(n)) {
				n->dead = 1;
				changed = 1;
			}
		}
	}
	free(needed);
	return 0;
}


enum effc_status effc_pass_lower_int8(struct effc_graph *g, char *report, size_t report_cap, struct effc_diag *d)
{
	int any = 0;
	for (int i = 0; i < g->n_n; i++)
		any |= is_fq(&g->n[i]);
	if (!any)
		return EFFC_OK;
	struct q8_state s = {.g = g, .d = d, .report = report, .report_cap = report_cap,
			     .k = report ? strlen(report) : 0};
	effc_graph_count_uses(g);
	/* A conversion into NHWC of a quantized float (a graph input, a float op's output) converts
	 * the float before it is quantized: Quantize(x) -> ToNHWC becomes ToNHWC(x) -> Quantize, so
	 * the int8 ops read NHWC int8. (A conversion out of NHWC reads a Dequantize instead.) */
	for (int i = 0; i + 1 < g->n_n; i++) {
		struct effc_node *f = &g->n[i];
		if (!is_fq(f) || g->t[f->out[0]].is_output || g->t[f->out[0]].n_consumers != 1)
			continue;
		const int c = effc_graph_sole_consumer(g, f->out[0]);
		struct effc_node *t = c >= 0 ? &g->n[c] : NULL;
		if (!t || t->op != EFFC_OP_TO_NHWC || effc_node_is_alias(g, t))
			continue;
		const int x = f->in[0], y = f->out[0], z = t->out[0];
		/* t: x -> y' (converted float); f, moved after t: y' -> z. y is reused as y'. */
		g->t[y].layout = g->t[z].layout;
		t->in[0] = x;
		t->out[0] = y;
		f->in[0] = y;
		f->out[0] = z;
		const struct effc_node tn = *t;
		*t = *f;
		*f = tn;
		g->t[y].producer = i;
		g->t[z].producer = c;
		/* z now holds the quantized values: it takes the ONNX name (difftest --layers). */
		const char *nm = g->t[y].name;
		const int fo = g->t[y].from_onnx;
		g->t[y].name = g->t[z].name, g->t[y].from_onnx = g->t[z].from_onnx;
		g->t[z].name = nm, g->t[z].from_onnx = fo;
	}
	/* Every QuantizeDequantize output gets its int8 twin; byte-moving ops pass twins on. */
	if (grow(&s))
		goto oom;
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (is_fq(n)) {
			int32_t lo, hi, zp;
			fq_range(n, &lo, &hi, &zp);
			const int t8 = new_i8(&s, n->out[0], "i8", n->a.alpha, zp);
			if (t8 < 0)
				goto oom;
			s.twin[g->n[i].out[0]] = t8;
			s.flt[t8] = g->n[i].out[0];
		} else if (!n->dead && effc_node_is_alias(g, n) && twin(&s, n->in[0]) >= 0) {
			const int x8 = twin(&s, n->in[0]);
			const int y8 = new_i8(&s, n->out[0], "i8", g->t[x8].qscale, g->t[x8].qzp);
			if (y8 < 0)
				goto oom;
			s.twin[g->n[i].out[0]] = y8;
			s.flt[y8] = g->n[i].out[0];
			struct effc_node copy = g->n[i];
			const int id = insert(&s, i + 1, copy.op, effc_arena_printf(g->arena, "%s.i8", copy.name), x8, y8);
			if (id < 0)
				goto oom;
			g->n[id].a = copy.a;
			i++;
		}
	}
	effc_graph_count_uses(g);
	/* Ops between quantized tensors on their int8 twins. */
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead || is_fq(n) || effc_node_is_alias(g, n) || n->op >= EFFC_OP_Q8_QUANTIZE)
			continue;
		convert(&s, i);
		if (s.oom)
			goto oom;
	}
	/* Fusions on the int8 ops, to a fixed point (reader counts kept up to date by each). */
	if (dce(&s))
		goto oom;
	for (int again = 1; again;) {
		again = 0;
		for (int i = 0; i < g->n_n; i++) {
			struct effc_node *n = &g->n[i];
			if (n->dead)
				continue;
			if (n->op == EFFC_OP_Q8_MUL)
				again |= merge_mul_table(&s, n);
			else if (n->op == EFFC_OP_Q8_LUT)
				again |= fuse_table(&s, n);
			else if (n->op == EFFC_OP_Q8_ADD)
				again |= fuse_residual(&s, n);
			if (s.oom)
				goto oom;
		}
	}
	if (dce(&s))
		goto oom;
	/* The switches between int8 and float. */
	effc_graph_count_uses(g);
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		if (is_fq(n)) {
			const int y = n->out[0], y8 = twin(&s, y);
			if (!g->t[y8].n_consumers)
				continue; /* between float ops: stays a QuantizeDequantize */
			n->op = EFFC_OP_Q8_QUANTIZE;
			n->out[0] = y8;
			g->t[y8].producer = i;
			g->t[y].producer = -1;
			if (g->t[y].n_consumers || g->t[y].is_output) {
				if (insert(&s, i + 1, EFFC_OP_Q8_DEQUANTIZE, effc_arena_printf(g->arena, "%s.float", n->name), y8, y) < 0)
					goto oom;
				i++;
			}
			continue;
		}
		if (n->op < EFFC_OP_Q8_QUANTIZE || n->op == EFFC_OP_Q8_DEQUANTIZE)
			continue;
		/* An int8 op's output whose float twin someone reads. */
		const int y8 = n->out[0], t = y8 < s.cap ? s.flt[y8] : -1;
		if (t < 0 || (!g->t[t].n_consumers && !g->t[t].is_output))
			continue;
		if (insert(&s, i + 1, EFFC_OP_Q8_DEQUANTIZE, effc_arena_printf(g->arena, "%s.float", n->name), y8, t) < 0)
			goto oom;
		i++;
	}
	/* Int8 byte-moving copies nobody reads. */
	effc_graph_count_uses(g);
	for (int i = g->n_n - 1; i >= 0; i--) {
		struct effc_node *n = &g->n[i];
		if (!n->dead && effc_node_is_alias(g, n) && g->t[n->out[0]].dtype == EFFC_I8 && !g->t[n->out[0]].n_consumers) {
			n->dead = 1;
			g->t[n->in[0]].n_consumers--;
		}
	}
	effc_graph_count_uses(g);
	g->rewrites = s.n_int8;
	if (report && s.k < report_cap)
		snprintf(report + s.k, report_cap - s.k, "    %d ops int8, %d fused into others, %d float between int8 tensors\n",
			 s.n_int8, s.n_fused, s.n_float);
	free(s.twin), free(s.flt);
	return EFFC_OK;
oom:
	free(s.twin), free(s.flt);
	return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory in the int8 pass", g->path);
}
