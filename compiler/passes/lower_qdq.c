/* lower_qdq.c: a quantized model in the QDQ format (ONNX Runtime's quantize_static, effc
 * quantize) as float ops with ONNX's quantization rounding, so it compiles and runs.
 *
 * (QOperator ops arrive here already split into Dequantize -> float op -> Quantize by the loader.)
 * Pattern: DequantizeLinear of a constant: int8/uint8 weights (per tensor, or per channel along
 *          `axis`) or int32 biases; QuantizeLinear of an activation read only by
 *          DequantizeLinear nodes with the same scale and zero point (every activation of a QDQ
 *          model); QuantizeLinear of a float constant, then DequantizeLinear.
 * Result:  a constant's DequantizeLinear is folded: its output becomes the float constant
 *          (x - zp) * scale. An activation pair becomes one QuantizeDequantize op (FAKE_QUANT:
 *          (clamp(round half to even(x / scale) + zp, qmin, qmax) - zp) * scale) writing the
 *          Dequantize's output, which every later pass sees as an ordinary float tensor. The
 *          float ops between the pairs then compute, up to float rounding, what ONNX Runtime's
 *          integer kernels do on the same model: the values are exactly the dequantized 8-bit
 *          ones. This is the reference form of a quantized model, not the fast one (the int8
 *          kernels of issue 25 are the fast one): the compile summary says so.
 * Checks:  every QuantizeLinear and DequantizeLinear, with the node named: scale and zero point
 *          constants; every scale finite and > 0; a zero point int8 or uint8 (the 8-bit
 *          tensor's type; int32 with zero value for an int32 input) with the scale's element
 *          count; per-channel scales only along an axis within the rank and as long as that
 *          dimension; int32 values within int32. Byte-moving ops (Flatten, Reshape, ...) on an
 *          8-bit tensor first trade places with the DequantizeLinear after them (hoist_dq). An
 *          8-bit tensor used any other way (a graph output, read by a float op, an
 *          activation's per-channel quantization) is refused.
 * Runs first and always (no other pass knows these ops), after shape inference. */
#include "../effc.h"

#include <math.h>
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

struct qp {
	const float *scale, *zp; /* zp NULL: zero */
	int64_t n;               /* 1 (per tensor) or the axis' length */
	int axis;                /* for n > 1 */
	int qtype;               /* 2 uint8, 3 int8, 6 int32 (Dequantize of an int32 constant) */
};

static float qmin_of(int qtype) { return qtype == 2 ? 0.0f : qtype == 3 ? -128.0f : (float)INT32_MIN; }
static float qmax_of(int qtype) { return qtype == 2 ? 255.0f : qtype == 3 ? 127.0f : (float)INT32_MAX; }

/* Scale and zero point of node n, whose quantized side is a tensor of type qtype (0: from the
 * zero point, QuantizeLinear's case) and shape x. */
static enum effc_status get_qp(struct effc_graph *g, struct effc_node *n, const struct effc_tensor *x, int qtype,
			       struct qp *q, struct effc_diag *d)
{
	memset(q, 0, sizeof *q);
	if (n->n_in < 2 || n->in[1] < 0)
		return effc_node_fail(d, g, n, EFFC_ERR_INVALID, "has no scale input");
	const struct effc_tensor *s = &g->t[n->in[1]], *z = n->n_in > 2 && n->in[2] >= 0 ? &g->t[n->in[2]] : NULL;
	if (!s->data || s->dtype != EFFC_F32 || s->qtype)
		return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED,
				      "scale '%s' must be a float32 constant (run-time scales are not supported)", s->name);
	q->n = effc_tensor_numel(s);
	if (s->rank > 1 || q->n < 1)
		return effc_node_fail(d, g, n, EFFC_ERR_INVALID, "scale '%s' must be a scalar or 1-D, has rank %d and %" PRId64 " elements",
				      s->name, s->rank, q->n);
	q->scale = s->data;
	if (q->n > 1 || s->rank == 1) {
		int64_t axis = n->a.axis < 0 ? n->a.axis + x->rank : n->a.axis;
		if (axis < 0 || axis >= x->rank)
			return effc_node_fail(d, g, n, EFFC_ERR_INVALID, "axis %" PRId64 " is out of range for rank %d", n->a.axis,
					      x->rank);
		if (q->n > 1 && x->dims[axis] != q->n)
			return effc_node_fail(d, g, n, EFFC_ERR_INVALID,
					      "scale '%s' has %" PRId64 " elements; axis %" PRId64 " of '%s' has %" PRId64, s->name,
					      q->n, axis, x->name, x->dims[axis]);
		q->axis = (int)axis;
	}
	for (int64_t i = 0; i < q->n; i++)
		if (!isfinite(q->scale[i]) || !(q->scale[i] > 0.0f))
			return effc_node_fail(d, g, n, EFFC_ERR_INVALID,
					      "scale '%s' element %" PRId64 " is %g; a scale must be finite and positive", s->name, i,
					      (double)q->scale[i]);
	if (z) {
		if (!z->data)
			return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "zero point '%s' must be a constant", z->name);
		if (effc_tensor_numel(z) != q->n || z->rank != s->rank)
			return effc_node_fail(d, g, n, EFFC_ERR_INVALID, "zero point '%s' has %" PRId64 " elements, its scale %" PRId64,
					      z->name, effc_tensor_numel(z), q->n);
		if (qtype == 6) { /* an int32 input: ONNX requires a zero zero point */
			for (int64_t i = 0; i < q->n; i++)
				if (z->dtype != EFFC_I64 || ((const int64_t *)z->data)[i] != 0)
					return effc_node_fail(d, g, n, EFFC_ERR_INVALID,
							      "zero point '%s' of an int32 input must be int32 zeros", z->name);
		} else if (!z->qtype) {
			return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "zero point '%s' must be int8 or uint8", z->name);
		} else if (qtype && z->qtype != qtype) {
			return effc_node_fail(d, g, n, EFFC_ERR_INVALID, "zero point '%s' is %s but '%s' is %s", z->name,
					      z->qtype == 2 ? "uint8" : "int8", x->name, qtype == 2 ? "uint8" : "int8");
		} else {
			q->zp = z->data;
		}
		if (!qtype)
			qtype = z->qtype;
	}
	q->qtype = qtype ? qtype : 2; /* QuantizeLinear without a zero point: uint8 */
	return EFFC_OK;
}

static int same_qp(const struct qp *a, const struct qp *b)
{
	if (a->n != b->n || a->qtype != b->qtype || (a->n > 1 && a->axis != b->axis))
		return 0;
	for (int64_t i = 0; i < a->n; i++)
		if (a->scale[i] != b->scale[i] || (a->zp ? a->zp[i] : 0.0f) != (b->zp ? b->zp[i] : 0.0f))
			return 0;
	return 1;
}

/* The index along q's axis of element i of a tensor of shape x. */
static int64_t chan(const struct effc_tensor *x, const struct qp *q, int64_t i)
{
	if (q->n == 1)
		return 0;
	int64_t inner = 1;
	for (int k = q->axis + 1; k < x->rank; k++)
		inner *= x->dims[k];
	return i / inner % x->dims[q->axis];
}

/* The node reading tensor t's dequantized value through DequantizeLinear node dq: t becomes
 * a float constant holding it, dq dies. */
static enum effc_status fold_dq(struct effc_graph *g, int dq, const float *vals_or_null, struct effc_diag *d)
{
	struct effc_node *n = &g->n[dq];
	const struct effc_tensor *x = &g->t[n->in[0]];
	const int qtype = x->qtype ? x->qtype : x->dtype == EFFC_I64 ? 6 : 0;
	if (!qtype && !vals_or_null)
		return effc_node_fail(d, g, n, EFFC_ERR_INVALID, "input '%s' is float; DequantizeLinear reads 8-bit or int32 data",
				      x->name);
	struct qp q;
	enum effc_status st = get_qp(g, n, x, qtype, &q, d);
	if (st)
		return st;
	struct effc_tensor *y = &g->t[n->out[0]];
	const int64_t numel = effc_tensor_numel(x);
	float *out = effc_arena_alloc(g->arena, (size_t)numel * sizeof(float));
	int32_t *ints = effc_arena_alloc(g->arena, (size_t)numel * sizeof(int32_t));
	struct effc_qconst *qc = effc_arena_alloc(g->arena, sizeof *qc);
	if (!out || !ints || !qc)
		return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory dequantizing '%s'", g->path, x->name);
	for (int64_t i = 0; i < numel; i++) {
		const int64_t c = chan(x, &q, i);
		const float zp = q.zp ? q.zp[c] : 0.0f;
		double v;
		if (vals_or_null) {
			v = vals_or_null[i];
		} else if (qtype == 6) {
			const int64_t w = ((const int64_t *)x->data)[i];
			if (w < INT32_MIN || w > INT32_MAX)
				return effc_node_fail(d, g, n, EFFC_ERR_INVALID, "'%s' element %" PRId64 " (%" PRId64 ") is outside int32",
						      x->name, i, w);
			v = (double)w;
		} else {
			v = ((const float *)x->data)[i];
		}
		out[i] = (float)(v - zp) * q.scale[c];
		ints[i] = (int32_t)v;
	}
	/* What the int8 pass packs: the integers and their quantization. */
	*qc = (struct effc_qconst){.v = ints, .scale = q.scale, .zp = q.zp, .n = q.n, .axis = q.axis,
				   .qtype = vals_or_null ? q.qtype : qtype};
	y->qc = qc;
	y->data = out;
	y->dtype = EFFC_F32;
	y->qtype = 0;
	y->producer = -1;
	n->dead = 1;
	g->rewrites++;
	return EFFC_OK;
}

/* Ops that move bytes without reading them: on an 8-bit tensor they commute with
 * DequantizeLinear (a QOperator model flattens the pooled uint8 vector before its QLinearMatMul). */
static int moves_bytes(enum effc_op op)
{
	return op == EFFC_OP_FLATTEN || op == EFFC_OP_RESHAPE || op == EFFC_OP_SQUEEZE || op == EFFC_OP_UNSQUEEZE ||
	       op == EFFC_OP_IDENTITY || op == EFFC_OP_TRANSPOSE;
}

static int is_8bit(const struct effc_graph *g, int t)
{
	for (int depth = 0; t >= 0 && depth < 64; depth++) {
		const int p = g->t[t].producer;
		if (g->t[t].qtype || (p >= 0 && g->n[p].op == EFFC_OP_QUANTIZELINEAR))
			return 1;
		if (p < 0 || g->n[p].dead || !moves_bytes(g->n[p].op))
			return 0;
		t = g->n[p].in[0];
	}
	return 0;
}

/* A byte-moving op m on an 8-bit tensor, read only by DequantizeLinear nodes: the first of them
 * moves above m (it dequantizes m's input; m moves floats), the others' readers read m's output.
 * Returns 1 if it rewrote. Repeated, a chain Quantize -> Flatten -> Reshape -> Dequantize
 * becomes Quantize -> Dequantize -> Flatten -> Reshape. */
static int hoist_dq(struct effc_graph *g, int m)
{
	const int a8 = g->n[m].out[0];
	int first = -1;
	for (int j = 0; j < g->n_n; j++) {
		const struct effc_node *r = &g->n[j];
		for (int k = 0; !r->dead && k < r->n_in; k++) {
			if (r->in[k] != a8)
				continue;
			if (r->op != EFFC_OP_DEQUANTIZELINEAR || k != 0 || g->t[r->out[0]].is_output)
				return 0;
			if (first < 0)
				first = j;
		}
	}
	if (first < 0 || g->t[a8].is_output)
		return 0;
	const struct effc_node dq = g->n[first];
	const char *name = effc_arena_printf(g->arena, "%s/moved", dq.name);
	const int t = name ? effc_graph_add_tensor(g, name) : -1;
	const int id = t >= 0 ? effc_graph_insert_node(g, m, EFFC_OP_DEQUANTIZELINEAR, name) : -1;
	if (id < 0)
		return -1;
	m = id + 1; /* shifted by the insertion */
	struct effc_node *n = &g->n[id];
	n->n_in = dq.n_in;
	memcpy(n->in, dq.in, sizeof n->in);
	n->in[0] = g->n[m].in[0];
	n->a.axis = dq.a.axis;
	n->n_out = 1;
	n->out[0] = t;
	g->t[t].producer = id;
	g->t[t].rank = g->t[n->in[0]].rank;
	memcpy(g->t[t].dims, g->t[n->in[0]].dims, sizeof g->t[t].dims);
	g->t[t].dtype = EFFC_F32;
	g->n[m].in[0] = t;
	for (int j = 0; j < g->n_n; j++) {
		struct effc_node *r = &g->n[j];
		if (r->dead || r->op != EFFC_OP_DEQUANTIZELINEAR || r->in[0] != a8 || j == id)
			continue;
		effc_graph_replace_uses(g, r->out[0], a8);
		g->t[r->out[0]].producer = -1;
		r->dead = 1;
	}
	g->t[a8].qtype = 0;
	return 1;
}

enum effc_status effc_pass_lower_qdq(struct effc_graph *g, struct effc_diag *d)
{
	enum effc_status st;
	int any = 0;
	for (int again = 1; again;) {
		again = 0;
		effc_graph_count_uses(g);
		for (int i = g->n_n - 1; i >= 0 && !again; i--) {
			if (g->n[i].dead || !moves_bytes(g->n[i].op) || !is_8bit(g, g->n[i].in[0]))
				continue;
			const int r = hoist_dq(g, i);
			if (r < 0)
				return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory", g->path);
			again = r;
			g->rewrites += r;
		}
	}
	effc_graph_count_uses(g);
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead || (n->op != EFFC_OP_QUANTIZELINEAR && n->op != EFFC_OP_DEQUANTIZELINEAR))
			continue;
		any = 1;
		if (n->op == EFFC_OP_DEQUANTIZELINEAR) {
			if (g->t[n->in[0]].data && (st = fold_dq(g, i, NULL, d)))
				return st;
			continue; /* one of an activation's is taken with its QuantizeLinear below */
		}
		const int x = n->in[0], yq = n->out[0];
		struct qp q;
		if ((st = get_qp(g, n, &g->t[x], 0, &q, d)))
			return st;
		if (g->t[x].qtype || g->t[x].dtype != EFFC_F32)
			return effc_node_fail(d, g, n, EFFC_ERR_INVALID, "input '%s' is not float", g->t[x].name);
		if (g->t[yq].is_output) {
			/* An 8-bit graph output: floats holding the integers (QuantizeValues); its
			 * DequantizeLinear readers, if any, read those (DequantizeValues). */
			if (q.n > 1)
				return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED,
						      "quantizes the graph output '%s' per channel; only per-tensor 8-bit outputs are "
						      "supported", g->t[yq].name);
			n->op = EFFC_OP_QUANT_VALUES;
			n->n_in = 1;
			n->a.alpha = q.scale[0];
			n->a.beta = q.zp ? q.zp[0] : 0.0f;
			n->a.clip_min = qmin_of(q.qtype);
			n->a.clip_max = qmax_of(q.qtype);
			g->rewrites++;
			continue; /* readers: the graph-input case below */
		}
		/* Every reader must be a DequantizeLinear with the same parameters. */
		int first = -1, outs = 0;
		for (int j = 0; j < g->n_n; j++) {
			struct effc_node *r = &g->n[j];
			int reads = 0;
			for (int k = 0; !r->dead && k < r->n_in; k++)
				reads |= r->in[k] == yq;
			if (!reads)
				continue;
			struct qp rq;
			if (r->op != EFFC_OP_DEQUANTIZELINEAR || r->in[0] != yq)
				return effc_node_fail(d, g, r, EFFC_ERR_UNSUPPORTED,
						      "reads the 8-bit tensor '%s' directly; only DequantizeLinear may (integer "
						      "operators are not supported yet)",
						      g->t[yq].name);
			if ((st = get_qp(g, r, &g->t[yq], q.qtype, &rq, d)))
				return st;
			if (!same_qp(&q, &rq))
				return effc_node_fail(d, g, r, EFFC_ERR_UNSUPPORTED,
						      "dequantizes '%s' with another scale or zero point than its QuantizeLinear '%s'",
						      g->t[yq].name, n->name);
			if (first < 0 || (g->t[r->out[0]].is_output && !g->t[g->n[first].out[0]].is_output))
				first = j;
			outs += g->t[r->out[0]].is_output;
		}
		if (first < 0) {
			n->dead = 1; /* read by nothing */
			continue;
		}
		if (outs > 1)
			return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "its value is dequantized into %d graph outputs", outs);
		if (g->t[x].data) { /* a float constant quantized and dequantized: fold both */
			struct effc_tensor *xt = &g->t[x];
			const int64_t numel = effc_tensor_numel(xt);
			float *v = effc_arena_alloc(g->arena, (size_t)numel * sizeof(float));
			if (!v)
				return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory quantizing '%s'", g->path, xt->name);
			for (int64_t e = 0; e < numel; e++) {
				const int64_t c = chan(xt, &q, e);
				float r = nearbyintf(((const float *)xt->data)[e] / q.scale[c]) + (q.zp ? q.zp[c] : 0.0f);
				r = r < qmin_of(q.qtype) ? qmin_of(q.qtype) : r > qmax_of(q.qtype) ? qmax_of(q.qtype) : r;
				v[e] = r; /* the 8-bit value; fold_dq dequantizes it */
			}
			for (int j = 0; j < g->n_n; j++)
				if (!g->n[j].dead && g->n[j].op == EFFC_OP_DEQUANTIZELINEAR && g->n[j].in[0] == yq &&
				    (st = fold_dq(g, j, v, d)))
					return st;
			n->dead = 1;
			g->t[yq].producer = -1;
			continue;
		}
		if (q.n > 1)
			return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED,
					      "quantizes the activation '%s' per channel; only per-tensor activations are supported",
					      g->t[x].name);
		/* n becomes the pair: it writes the first Dequantize's output; the others' readers read it */
		const int y = g->n[first].out[0];
		for (int j = 0; j < g->n_n; j++) {
			struct effc_node *r = &g->n[j];
			if (r->dead || r->op != EFFC_OP_DEQUANTIZELINEAR || r->in[0] != yq)
				continue;
			if (j != first) {
				effc_graph_replace_uses(g, r->out[0], y);
				g->t[r->out[0]].producer = -1;
			}
			r->dead = 1;
		}
		n->op = EFFC_OP_FAKE_QUANT;
		n->n_in = 1;
		n->out[0] = y;
		n->a.alpha = q.scale[0];
		n->a.beta = q.zp ? q.zp[0] : 0.0f;
		n->a.clip_min = qmin_of(q.qtype);
		n->a.clip_max = qmax_of(q.qtype);
		g->t[y].producer = i;
		g->t[yq].producer = -1;
		g->rewrites++;
	}
	/* Left: DequantizeLinear of an 8-bit graph input or output (floats holding the integers):
	 * DequantizeValues. Any other is of an activation no QuantizeLinear wrote. */
	for (int i = 0; any && i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead || n->op != EFFC_OP_DEQUANTIZELINEAR)
			continue;
		const int x = n->in[0], p = g->t[x].producer;
		const int io = g->t[x].is_input || (p >= 0 && g->n[p].op == EFFC_OP_QUANT_VALUES);
		if (!io)
			return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED,
					      "dequantizes '%s', which no QuantizeLinear of this model writes", g->t[x].name);
		struct qp q;
		const int qtype = g->t[x].is_input ? g->t[x].qtype : (int)(g->n[p].a.clip_min == 0.0f ? 2 : 3);
		if ((st = get_qp(g, n, &g->t[x], qtype, &q, d)))
			return st;
		if (q.n > 1)
			return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED,
					      "dequantizes the 8-bit graph input or output '%s' per channel; only per tensor is "
					      "supported", g->t[x].name);
		n->op = EFFC_OP_DEQUANT_VALUES;
		n->n_in = 1;
		n->a.alpha = q.scale[0];
		n->a.beta = q.zp ? q.zp[0] : 0.0f;
		n->a.clip_min = qmin_of(q.qtype);
		n->a.clip_max = qmax_of(q.qtype);
		g->t[n->out[0]].dtype = EFFC_F32;
		g->t[n->out[0]].qtype = 0;
		g->rewrites++;
	}
	/* An 8-bit graph input read by anything but a DequantizeLinear. */
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		for (int k = 0; !n->dead && n->op != EFFC_OP_DEQUANT_VALUES && k < n->n_in; k++)
			if (n->in[k] >= 0 && g->t[n->in[k]].is_input && g->t[n->in[k]].qtype)
				return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED,
						      "reads the 8-bit graph input '%s' directly; only DequantizeLinear may",
						      g->t[n->in[k]].name);
	}
	effc_graph_count_uses(g);
	return EFFC_OK;
}
