/* layout.c: choose NHWC or ONNX (NCHW) storage for every activation.
 *
 * Pattern: XNNPACK convolutions and pooling want NHWC; ONNX semantics (Flatten, Gemm, Softmax,
 * Transpose, ...) are defined on NCHW. Convolution with constant weights, GlobalAveragePool and
 * ReduceMean over H,W make their output NHWC; elementwise ops follow their input; everything
 * else wants ONNX order. A LayoutToNHWC/LayoutToNCHW node is inserted where a tensor crosses
 * between the two, once per tensor, and graph outputs are converted back to ONNX order. Such a
 * conversion that moves only size-1 axes (e.g. N x C x 1 x 1 before the classifier) is free: it
 * becomes an alias. Constant operands of NHWC elementwise ops are permuted here at compile time.
 * Preconditions: shapes inferred. Result: every tensor's `layout` set; no op sees a layout it
 * cannot handle. */
#include "../effc.h"

#include <string.h>

struct layout_state {
	struct effc_graph *g;
	struct effc_diag *d;
	int *to_nhwc, *to_nchw; /* converted copy of a tensor, per tensor id, or -1 */
	int cap;
};

/* Pads dims to rank 4 with leading ones. */
static void dims4(const struct effc_tensor *t, int64_t *d)
{
	for (int i = 0; i < 4; i++)
		d[i] = i < 4 - t->rank ? 1 : t->dims[i - (4 - t->rank)];
}

/* Whether an ONNX-layout tensor of rank <= 4 can be read as NHWC without moving bytes. */
static int nhwc_free(const struct effc_tensor *t)
{
	int64_t d[4];
	if (t->rank > 4)
		return 0;
	dims4(t, d);
	return effc_perm_is_trivial(d, 4, effc_perm_to_nhwc);
}

static int grow_maps(struct layout_state *s)
{
	if (s->g->n_t < s->cap)
		return 0;
	int nc = s->g->n_t * 2 + 16;
	int *a = effc_arena_alloc(s->g->arena, (size_t)nc * sizeof(int));
	int *b = effc_arena_alloc(s->g->arena, (size_t)nc * sizeof(int));
	if (!a || !b)
		return -1;
	for (int i = 0; i < nc; i++) {
		a[i] = i < s->cap ? s->to_nhwc[i] : -1;
		b[i] = i < s->cap ? s->to_nchw[i] : -1;
	}
	s->to_nhwc = a, s->to_nchw = b, s->cap = nc;
	return 0;
}

/* Returns the id of tensor `t` in layout `want`, inserting a conversion before node *pos. */
static int convert(struct layout_state *s, int t, enum effc_layout want, int *pos)
{
	struct effc_graph *g = s->g;
	if (g->t[t].layout == want || g->t[t].data)
		return t;
	if (grow_maps(s))
		return -1;
	int *map = want == EFFC_LAYOUT_NHWC ? s->to_nhwc : s->to_nchw;
	if (map[t] >= 0)
		return map[t];
	const char *name = effc_arena_printf(g->arena, "%s.%s", g->t[t].name, want == EFFC_LAYOUT_NHWC ? "nhwc" : "nchw");
	int nt = name ? effc_graph_add_tensor(g, name) : -1;
	if (nt < 0 || grow_maps(s))
		return -1;
	struct effc_tensor *src = &g->t[t], *dst = &g->t[nt];
	dst->rank = src->rank;
	memcpy(dst->dims, src->dims, sizeof dst->dims);
	dst->layout = want;
	int id = effc_graph_insert_node(g, *pos, want == EFFC_LAYOUT_NHWC ? EFFC_OP_TO_NHWC : EFFC_OP_TO_NCHW, name);
	if (id < 0)
		return -1;
	g->n[id].n_in = g->n[id].n_out = 1;
	g->n[id].in[0] = t;
	g->n[id].out[0] = nt;
	g->t[nt].producer = id;
	(*pos)++;
	(want == EFFC_LAYOUT_NHWC ? s->to_nhwc : s->to_nchw)[t] = nt;
	return nt;
}

/* A constant operand of an NHWC elementwise op, padded to rank 4 and permuted. */
static int nhwc_const(struct effc_graph *g, int t)
{
	const struct effc_tensor *src = &g->t[t];
	int64_t d[4];
	dims4(src, d);
	if (effc_perm_is_trivial(d, 4, effc_perm_to_nhwc))
		return t; /* same bytes: the emitter reads the shape through dims4 */
	const char *name = effc_arena_printf(g->arena, "%s.nhwc", src->name);
	int nt = name ? effc_graph_add_tensor(g, name) : -1;
	if (nt < 0)
		return -1;
	src = &g->t[t];
	struct effc_tensor *dst = &g->t[nt];
	float *data = effc_arena_alloc(g->arena, effc_tensor_bytes(src));
	if (!data)
		return -1;
	const float *in = src->data;
	for (int64_t n = 0; n < d[0]; n++)
		for (int64_t c = 0; c < d[1]; c++)
			for (int64_t h = 0; h < d[2]; h++)
				for (int64_t w = 0; w < d[3]; w++)
					data[((n * d[2] + h) * d[3] + w) * d[1] + c] = in[((n * d[1] + c) * d[2] + h) * d[3] + w];
	dst->rank = 4;
	memcpy(dst->dims, d, sizeof d);
	dst->data = data;
	dst->layout = EFFC_LAYOUT_NHWC;
	return nt;
}

static int reduces_hw(const struct effc_node *n, const struct effc_tensor *x)
{
	if (n->op != EFFC_OP_REDUCEMEAN || x->rank != 4 || n->a.n_axes != 2)
		return 0;
	int64_t a0 = n->a.axes[0] < n->a.axes[1] ? n->a.axes[0] : n->a.axes[1];
	int64_t a1 = n->a.axes[0] < n->a.axes[1] ? n->a.axes[1] : n->a.axes[0];
	return a0 == 2 && a1 == 3;
}

static enum effc_status place_node(struct layout_state *s, int *pos)
{
	struct effc_graph *g = s->g;
	struct effc_node *n = &g->n[*pos];
	const char *name = n->name;
	struct effc_tensor *x = &g->t[n->in[0]];
	enum effc_layout in_want = EFFC_LAYOUT_ONNX, out = EFFC_LAYOUT_ONNX;
	int follow = 0; /* only input 0 is converted; the others are parameters */
	switch (n->op) {
	case EFFC_OP_CONV:
		if (g->t[n->in[1]].data && (n->in[2] < 0 || g->t[n->in[2]].data))
			in_want = out = EFFC_LAYOUT_NHWC;
		follow = 1;
		break;
	case EFFC_OP_GLOBALAVGPOOL:
	case EFFC_OP_SE:
		if (x->rank == 4)
			in_want = out = EFFC_LAYOUT_NHWC;
		follow = 1;
		break;
	case EFFC_OP_REDUCEMEAN:
		if (reduces_hw(n, x)) {
			in_want = EFFC_LAYOUT_NHWC;
			out = n->a.keepdims ? EFFC_LAYOUT_NHWC : EFFC_LAYOUT_ONNX;
		}
		follow = 1;
		break;
	case EFFC_OP_BATCHNORM:
	case EFFC_OP_SCALE_BIAS:
	case EFFC_OP_SWISH:
	case EFFC_OP_SIGMOID:
	case EFFC_OP_RELU:
	case EFFC_OP_CLIP:
	case EFFC_OP_HARDSIGMOID:
	case EFFC_OP_HARDSWISH:
	case EFFC_OP_FAKE_QUANT: /* a quantized model's every activation: must not pin NCHW */
		in_want = out = x->layout;
		follow = 1;
		break;
	case EFFC_OP_ADD:
	case EFFC_OP_SUB:
	case EFFC_OP_MUL:
	case EFFC_OP_DIV: {
		struct effc_tensor *o = &g->t[n->out[0]];
		int any_nhwc = 0, ok = o->rank == 4;
		for (int k = 0; k < 2; k++) {
			const struct effc_tensor *t = &g->t[n->in[k]];
			any_nhwc |= t->layout == EFFC_LAYOUT_NHWC;
			if (!t->data && t->layout != EFFC_LAYOUT_NHWC && !nhwc_free(t) && t->rank != 4)
				ok = 0;
		}
		enum effc_layout want = any_nhwc && ok ? EFFC_LAYOUT_NHWC : EFFC_LAYOUT_ONNX;
		for (int k = 0; k < 2; k++) {
			int t = n->in[k];
			int nt = g->t[t].data ? (want == EFFC_LAYOUT_NHWC ? nhwc_const(g, t) : t)
			       : (want == EFFC_LAYOUT_NHWC && g->t[t].layout == EFFC_LAYOUT_ONNX && g->t[t].rank != 4) ? t
			       : convert(s, t, want, pos);
			if (nt < 0)
				return effc_fail(s->d, EFFC_ERR_NOMEM, "%s: out of memory in layout pass", g->path);
			g->n[*pos].in[k] = nt;
		}
		g->t[g->n[*pos].out[0]].layout = want;
		return EFFC_OK;
	}
	default:
		break;
	}
	int last = follow ? 1 : n->n_in;
	for (int k = 0; k < last; k++) {
		int t = g->n[*pos].in[k];
		if (t < 0)
			continue;
		enum effc_layout want = k == 0 ? in_want : EFFC_LAYOUT_ONNX;
		int nt = convert(s, t, want, pos);
		if (nt < 0)
			return effc_fail(s->d, EFFC_ERR_NOMEM, "%s: out of memory in layout pass (node '%s')", g->path, name);
		g->n[*pos].in[k] = nt;
	}
	n = &g->n[*pos];
	for (int k = 0; k < n->n_out; k++)
		if (n->out[k] >= 0)
			g->t[n->out[k]].layout = k == 0 ? out : EFFC_LAYOUT_ONNX;
	return EFFC_OK;
}

enum effc_status effc_pass_layout(struct effc_graph *g, struct effc_diag *d)
{
	struct layout_state s = {g, d, NULL, NULL, 0};
	if (grow_maps(&s))
		return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory in layout pass", g->path);
	for (int i = 0; i < g->n_n; i++) {
		if (g->n[i].dead)
			continue;
		enum effc_status st = place_node(&s, &i);
		if (st)
			return st;
	}
	/* Graph outputs leave in ONNX order: the converted tensor takes over the ONNX name. */
	for (int k = 0; k < g->n_outputs; k++) {
		int t = g->outputs[k];
		if (g->t[t].layout == EFFC_LAYOUT_ONNX)
			continue;
		int pos = g->n_n;
		int nt = convert(&s, t, EFFC_LAYOUT_ONNX, &pos);
		if (nt < 0)
			return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory in layout pass", g->path);
		const char *onnx_name = g->t[t].name;
		g->t[t].name = g->t[nt].name;
		g->t[nt].name = onnx_name;
		/* The ONNX tensor is now nt: the internal one must not be dumped (difftest --layers
		 * would ask ONNX Runtime for a tensor named 'Y.nchw' and fail). */
		g->t[nt].from_onnx = g->t[t].from_onnx;
		g->t[t].from_onnx = 0;
		g->t[t].is_output = 0;
		g->t[nt].is_output = 1;
		g->outputs[k] = nt;
	}
	return EFFC_OK;
}
