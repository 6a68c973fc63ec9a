/* fuse_se_scale.c: apply the squeeze-excitation's channel scale inside the next 1x1 conv.
 *
 * Pattern: y = SqueezeExcite(x, W1, B1, W2, B2) read only by a packed 1x1 Conv as its input,
 *          the conv having no input scale yet (the MBConv projection).
 * Result:  the SE becomes g = SqueezeExciteGate(x, ...) with g [N][C], and the conv reads x with
 *          g as its input scale (in[4]): conv(x * g) = x (diag(g) W), so the runtime scales the
 *          smaller GEMM operand (the k x n weights, or the hw x k rows of a small map) instead of
 *          writing the whole scaled tensor. y is never materialised.
 *          When x comes from a depthwise conv (fused with its expansion or not) and nothing
 *          else reads it, that conv also writes
 *          its output's per-row channel sums (out[1], [N*H][C]) in the pass that applies its
 *          activation, and the gate pools those instead of reading x again.
 * Preconditions: lowering done (packed convs are final). */
#include "../effc.h"

static int new_activation(struct effc_graph *g, const char *base, const char *suffix, int producer, int64_t d0,
			  int64_t d1)
{
	const char *name = effc_arena_printf(g->arena, "%s.%s", base, suffix);
	int t = name ? effc_graph_add_tensor(g, name) : -1;
	if (t < 0)
		return -1;
	g->t[t].rank = 2;
	g->t[t].dims[0] = d0;
	g->t[t].dims[1] = d1;
	g->t[t].producer = producer;
	return t;
}

enum effc_status effc_pass_fuse_se_scale(struct effc_graph *g, struct effc_diag *d)
{
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *se = &g->n[i];
		if (se->dead || se->op != EFFC_OP_SE)
			continue;
		const int x = se->in[0], y = se->out[0];
		const int c = effc_graph_sole_consumer(g, y);
		if (c < 0 || g->n[c].op != EFFC_OP_CONV || g->n[c].a.packed != 1 || g->n[c].in[0] != y ||
		    (g->n[c].n_in > 4 && g->n[c].in[4] >= 0) || g->t[x].layout != EFFC_LAYOUT_NHWC || g->t[x].rank != 4)
			continue;
		const int64_t N = g->t[x].dims[0], C = g->t[x].dims[1];
		int gate = new_activation(g, se->name, "gate", i, N, C);
		if (gate < 0)
			return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory fusing '%s'", g->path, se->name);
		int p = g->t[x].producer;
		const int dw = p >= 0 && !g->n[p].dead &&
			       ((g->n[p].op == EFFC_OP_CONV && g->n[p].a.group == C && g->t[g->n[p].in[0]].dims[1] == C &&
				 g->t[g->n[p].in[1]].data) ||
				g->n[p].op == EFFC_OP_EXPAND_DW);
		if (dw && g->n[p].n_out == 1 && effc_graph_sole_consumer(g, x) == i) {
			int rs = new_activation(g, g->t[x].name, "rowsums", p, N * g->t[x].dims[2], C);
			if (rs < 0)
				return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory fusing '%s'", g->path, se->name);
			g->n[p].n_out = 2;
			g->n[p].out[1] = rs;
			se->n_in = 6;
			se->in[5] = rs;
		}
		se->op = EFFC_OP_SE_GATE;
		se->out[0] = gate;
		g->t[y].producer = -1;
		struct effc_node *conv = &g->n[c];
		for (int k = conv->n_in; k < 5; k++)
			conv->in[k] = -1;
		conv->n_in = 5;
		conv->in[0] = x;
		conv->in[4] = gate;
		g->rewrites++;
	}
	effc_graph_count_uses(g);
	return EFFC_OK;
}
