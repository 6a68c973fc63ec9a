/* fuse_residual.c: add the residual in the store step of the projection convolution.
 *
 * Pattern: z = Add(y, x) | Add(x, y) where y is the only-read output of a 1x1, stride-1,
 * unpadded, ungrouped NHWC Conv with constant weights (the MBConv projection), x a same-shape
 * NHWC activation, and the Add carries no activation of its own.
 * Result: the Conv takes x as a fourth input (the residual) and writes z; the Add dies. The
 * runtime adds the residual while the GEMM's output rows are still in cache, which saves a
 * full pass over the block's output.
 * Preconditions: layout pass done (NHWC known); runs before lowering, which packs the weights. */
#include "../effc.h"

static int pointwise_nhwc(const struct effc_graph *g, const struct effc_node *c)
{
	const struct effc_attrs *a = &c->a;
	return c->op == EFFC_OP_CONV && g->t[c->out[0]].layout == EFFC_LAYOUT_NHWC && g->t[c->in[1]].data &&
	       a->kernel[0] == 1 && a->kernel[1] == 1 && a->strides[0] == 1 && a->strides[1] == 1 && a->group == 1 &&
	       !a->pads[0] && !a->pads[1] && !a->pads[2] && !a->pads[3] && (c->n_in < 4 || c->in[3] < 0);
}

enum effc_status effc_pass_fuse_residual(struct effc_graph *g, struct effc_diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *add = &g->n[i];
		if (add->dead || add->op != EFFC_OP_ADD || add->a.act != EFFC_ACT_NONE)
			continue;
		for (int k = 0; k < 2; k++) {
			int y = add->in[k], x = add->in[1 - k];
			int p = g->t[y].producer;
			if (p < 0 || g->n[p].dead || !pointwise_nhwc(g, &g->n[p]) || effc_graph_sole_consumer(g, y) != i ||
			    g->t[x].data || g->t[x].layout != EFFC_LAYOUT_NHWC || g->t[x].rank != 4 ||
			    effc_tensor_numel(&g->t[x]) != effc_tensor_numel(&g->t[y]) || x == y)
				continue;
			struct effc_node *c = &g->n[p];
			if (c->n_in < 3)
				c->in[2] = -1;
			c->n_in = 4;
			c->in[3] = x;
			c->out[0] = add->out[0];
			g->t[add->out[0]].producer = p;
			g->t[y].producer = -1;
			add->dead = 1;
			g->rewrites++;
			break;
		}
	}
	return EFFC_OK;
}
