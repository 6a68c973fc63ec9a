/* fuse_se.c: collapse squeeze-excitation into one op.
 *
 * Pattern:  p = GlobalAveragePool(x) | ReduceMean(x, axes={2,3}, keepdims=1)
 *           h = act(Conv1x1(p, W1, B1))   act: fused Swish/HardSwish/clamp, or none
 *           g = Sigmoid | HardSigmoid (Conv1x1(h, W2, B2))
 *           y = Mul(x, g) | Mul(g, x)
 * with constant 1x1, stride-1, unpadded, ungrouped convolutions and every intermediate read
 * only by the next step. Result: y = SqueezeExcite(x, W1 [Cr][C], B1, W2 [C][Cr], B2) with the
 * inner activation and gate kind in the node's attributes; the five nodes die.
 * Preconditions: activation fusion done (the inner Swish sits on the first conv). */
#include "../effc.h"

#include <string.h>

static int producer_op(const struct effc_graph *g, int t, enum effc_op op)
{
	if (t < 0 || g->t[t].data)
		return -1;
	int p = g->t[t].producer;
	return p >= 0 && !g->n[p].dead && g->n[p].op == op ? p : -1;
}

static int is_pointwise(const struct effc_graph *g, const struct effc_node *c)
{
	const struct effc_attrs *a = &c->a;
	return g->t[c->in[1]].data && (c->n_in < 3 || c->in[2] < 0 || g->t[c->in[2]].data) && a->group == 1 &&
	       a->kernel[0] == 1 && a->kernel[1] == 1 && a->strides[0] == 1 && a->strides[1] == 1 && !a->pads[0] &&
	       !a->pads[1] && !a->pads[2] && !a->pads[3];
}

static int sole(const struct effc_graph *g, int t, int node) { return effc_graph_sole_consumer(g, t) == node; }

enum effc_status effc_pass_fuse_se(struct effc_graph *g, struct effc_diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *mul = &g->n[i];
		if (mul->dead || mul->op != EFFC_OP_MUL || mul->n_in != 2)
			continue;
		for (int k = 0; k < 2; k++) {
			int x = mul->in[1 - k], gt = mul->in[k];
			const struct effc_tensor *xt = &g->t[x];
			if (xt->rank != 4 || xt->data)
				continue;
			int gate = producer_op(g, gt, EFFC_OP_SIGMOID), gate_kind = 0;
			if (gate < 0 && (gate = producer_op(g, gt, EFFC_OP_HARDSIGMOID)) >= 0)
				gate_kind = 1;
			if (gate < 0 || !sole(g, gt, i))
				continue;
			int t2 = g->n[gate].in[0];
			int c2 = producer_op(g, t2, EFFC_OP_CONV);
			if (c2 < 0 || !sole(g, t2, gate) || !is_pointwise(g, &g->n[c2]) || g->n[c2].a.act != EFFC_ACT_NONE)
				continue;
			int t1 = g->n[c2].in[0];
			int c1 = producer_op(g, t1, EFFC_OP_CONV);
			if (c1 < 0 || !sole(g, t1, c2) || !is_pointwise(g, &g->n[c1]))
				continue;
			int tp = g->n[c1].in[0];
			int pool = producer_op(g, tp, EFFC_OP_GLOBALAVGPOOL);
			if (pool < 0) {
				pool = producer_op(g, tp, EFFC_OP_REDUCEMEAN);
				const struct effc_attrs *ra = pool >= 0 ? &g->n[pool].a : NULL;
				if (!ra || !ra->keepdims || ra->n_axes != 2 || ra->axes[0] + ra->axes[1] != 5 || ra->axes[0] == ra->axes[1])
					continue;
			}
			if (!sole(g, tp, c1) || g->n[pool].in[0] != x)
				continue;
			const int64_t C = xt->dims[1], Cr = g->t[g->n[c1].in[1]].dims[0];
			if (g->t[tp].dims[1] != C || g->t[g->n[c2].in[1]].dims[0] != C || g->t[gt].rank != 4 ||
			    g->t[gt].dims[2] != 1 || g->t[gt].dims[3] != 1)
				continue;
			/* 1x1 conv weights [Cr][C][1][1] are already [Cr][C] row-major. */
			struct effc_node *c1n = &g->n[c1], *c2n = &g->n[c2];
			mul->op = EFFC_OP_SE;
			mul->n_in = 5;
			mul->in[0] = x;
			mul->in[1] = c1n->in[1];
			mul->in[2] = c1n->n_in > 2 ? c1n->in[2] : -1;
			mul->in[3] = c2n->in[1];
			mul->in[4] = c2n->n_in > 2 ? c2n->in[2] : -1;
			mul->a.act = c1n->a.act;
			mul->a.act_min = c1n->a.act_min;
			mul->a.act_max = c1n->a.act_max;
			mul->a.gate = gate_kind;
			mul->a.alpha = g->n[gate].a.alpha;
			mul->a.beta = g->n[gate].a.beta;
			mul->a.kernel[0] = Cr; /* reduced width, for readers of the IR */
			g->n[pool].dead = c1n->dead = c2n->dead = g->n[gate].dead = 1;
			g->rewrites++;
			break;
		}
	}
	return EFFC_OK;
}
