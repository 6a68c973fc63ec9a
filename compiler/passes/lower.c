/* lower.c: rewrite ONNX ops into the forms the runtime executes.
 *
 * - Conv in NHWC with constant weights: weights re-laid out from ONNX OIHW to XNNPACK's
 *   [out][kh][kw][in/groups] at compile time, so the runtime never transposes; pointwise
 *   convolutions go further, into the 16-column panels of the runtime's own GEMM.
 * - Gemm with constant B (and a bias that is per output column) and MatMul with a constant 2-D
 *   B become FullyConnected with alpha and beta folded in, B in the same GEMM panels.
 * - Reshape-like ops on constants are evaluated here (their output becomes a constant).
 * Preconditions: shapes inferred, layout pass run. Result: nodes the emitter maps 1:1 onto
 * runtime creates. Anything not matched is left for the generic runtime kernels. */
#include "../effc.h"
#include "effc_rt.h"

#include <string.h>

static enum effc_status lower_conv(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	if (g->t[n->out[0]].layout != EFFC_LAYOUT_NHWC)
		return EFFC_OK; /* run-time weights: the reference kernel reads OIHW */
	const struct effc_tensor *w = &g->t[n->in[1]];
	const int64_t o = w->dims[0], ci = w->dims[1], kh = w->dims[2], kw = w->dims[3];
	int64_t dims[4] = {o, kh, kw, ci};
	int t = effc_graph_new_const(g, g->t[n->in[1]].name, "ohwi", 4, dims);
	if (t < 0)
		return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory lowering '%s'", g->path, n->name);
	const float *src = g->t[n->in[1]].data;
	float *dst = g->t[t].data;
	for (int64_t a = 0; a < o; a++)
		for (int64_t c = 0; c < ci; c++)
			for (int64_t y = 0; y < kh; y++)
				for (int64_t x = 0; x < kw; x++)
					dst[((a * kh + y) * kw + x) * ci + c] = src[((a * ci + c) * kh + y) * kw + x];
	n->in[1] = t;
	const struct effc_attrs *a = &n->a;
	if (kh == 1 && kw == 1 && a->strides[0] == 1 && a->strides[1] == 1 && a->group == 1 && !a->pads[0] && !a->pads[1] &&
	    !a->pads[2] && !a->pads[3]) {
		/* Pointwise: the runtime's GEMM panel layout, so create never repacks. */
		int64_t pd = (o + 15) / 16 * 16 * ci;
		int pt = effc_graph_new_const(g, g->t[n->in[1]].name, "panels", 1, &pd);
		if (pt < 0)
			return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory lowering '%s'", g->path, n->name);
		effc_rt_pack_b((size_t)o, (size_t)ci, g->t[t].data, g->t[pt].data);
		n->in[1] = pt;
		n->a.packed = 1;
	}
	return EFFC_OK;
}

/* Gemm/MatMul -> FullyConnected when B is constant. */
static enum effc_status lower_fc(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *a = &g->t[n->in[0]], *b = &g->t[n->in[1]];
	if (!b->data || b->rank != 2 || a->rank < 2)
		return EFFC_OK;
	int trans_b = 0;
	float alpha = 1.0f, beta = 1.0f;
	int64_t K = b->dims[0], N = b->dims[1];
	int bias = -1;
	if (n->op == EFFC_OP_GEMM) {
		if (n->a.trans_a)
			return EFFC_OK;
		trans_b = (int)n->a.trans_b;
		alpha = n->a.alpha, beta = n->a.beta;
		if (trans_b)
			K = b->dims[1], N = b->dims[0];
		if (n->n_in > 2 && n->in[2] >= 0) {
			const struct effc_tensor *c = &g->t[n->in[2]];
			int64_t numel = effc_tensor_numel(c);
			int per_col = c->data && (numel == 1 || (numel == N && c->dims[c->rank - 1] == N));
			if (!per_col)
				return EFFC_OK;
			bias = n->in[2];
		}
	}
	int64_t wd[2] = {N, K};
	int w = effc_graph_new_const(g, g->t[n->in[1]].name, "nk", 2, wd);
	int bt = bias >= 0 ? effc_graph_new_const(g, g->t[bias].name, "bias", 1, &N) : -1;
	if (w < 0 || (bias >= 0 && bt < 0))
		return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory lowering '%s'", g->path, n->name);
	const float *src = g->t[n->in[1]].data;
	float *dst = g->t[w].data;
	for (int64_t j = 0; j < N; j++)
		for (int64_t k = 0; k < K; k++)
			dst[j * K + k] = alpha * (trans_b ? src[j * K + k] : src[k * N + j]);
	if (bt >= 0) {
		const float *c = g->t[bias].data;
		int64_t numel = effc_tensor_numel(&g->t[bias]);
		for (int64_t j = 0; j < N; j++)
			((float *)g->t[bt].data)[j] = beta * c[numel == 1 ? 0 : j];
	}
	/* Into the GEMM's panels too: the runtime runs it as a 1x1 convolution over rows x 1 x 1,
	 * so create neither copies nor repacks B0's 5 MB classifier (XNNPACK's fully connected
	 * op repacked it at every create), and two threads each stream half of it. */
	int64_t pd = (N + 15) / 16 * 16 * K;
	int pt = effc_graph_new_const(g, g->t[n->in[1]].name, "panels", 1, &pd);
	if (pt < 0)
		return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory lowering '%s'", g->path, n->name);
	effc_rt_pack_b((size_t)N, (size_t)K, g->t[w].data, g->t[pt].data);
	n->op = EFFC_OP_FULLY_CONNECTED;
	n->n_in = 3;
	n->in[1] = pt;
	n->in[2] = bt;
	n->a.packed = 1;
	return EFFC_OK;
}

enum effc_status effc_pass_lower(struct effc_graph *g, struct effc_diag *d)
{
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		enum effc_status st = EFFC_OK;
		if (n->dead)
			continue;
		if (effc_node_is_alias(g, n) && g->t[n->in[0]].data) {
			/* Same bytes, new dims: the output simply is a constant now. A Transpose is an alias
			 * only when it moves size-1 axes, so the data needs no reordering. */
			g->t[n->out[0]].data = g->t[n->in[0]].data;
			g->t[n->out[0]].dtype = g->t[n->in[0]].dtype;
			g->t[n->out[0]].producer = -1;
			n->dead = 1;
			continue;
		}
		if (n->op == EFFC_OP_CONV)
			st = lower_conv(g, n, d);
		else if (n->op == EFFC_OP_GEMM || n->op == EFFC_OP_MATMUL)
			st = lower_fc(g, n, d);
		if (st)
			return st;
	}
	return EFFC_OK;
}
