/* fuse_conv_project.c: a Fused-MBConv block's expansion and projection convolutions as one op.
 *
 * Pattern: t = Conv(x) dense (groups 1), kxk with kh x kw x C_in <= EFFC_RT_IM2COL_MAX_K, NHWC,
 *          constant weights, not packed (EfficientNetV2's expansion, with its activation), read
 *          only by a packed 1x1 Conv (the projection, maybe with a residual from fuse-residual,
 *          without an input scale).
 * Result:  y = FusedMBConv(x, W, B, Wp, Bp, residual): the node keeps the kxk convolution's
 *          attributes (act is its activation) and takes the projection's activation in
 *          post_act; the projection dies and t is never materialised. The runtime computes the
 *          expansion a band of output rows at a time into a buffer in L2 and projects each band
 *          there (effc_rt_conv_project_create): at V2-S's 384x384 the expanded tensors of the
 *          second stage are 7 MB each, written and read back through memory unfused.
 * Preconditions: lowering done (the 1x1 conv is packed, the kxk weights are OHWI);
 *          fuse-residual done (the residual is the projection's in[3]). */
#include "../effc.h"
#include "effc_rt.h"

enum effc_status effc_pass_fuse_conv_project(struct effc_graph *g, struct effc_diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *pj = &g->n[i];
		if (pj->dead || pj->op != EFFC_OP_CONV || pj->a.packed != 1 || pj->n_out != 1 ||
		    (pj->n_in > 4 && pj->in[4] >= 0) || g->t[pj->out[0]].layout != EFFC_LAYOUT_NHWC)
			continue;
		const int t = pj->in[0], e = g->t[t].producer;
		if (e < 0 || g->n[e].dead || effc_graph_sole_consumer(g, t) != i)
			continue;
		const struct effc_node *ex = &g->n[e];
		const struct effc_tensor *x = &g->t[ex->in[0]], *w = &g->t[ex->in[1]], *tt = &g->t[t];
		if (ex->op != EFFC_OP_CONV || ex->a.packed || ex->a.group != 1 || ex->n_out != 1 || ex->n_in > 3 ||
		    tt->layout != EFFC_LAYOUT_NHWC || tt->rank != 4 || x->rank != 4 || !w->data || w->rank != 4 ||
		    (ex->n_in > 2 && ex->in[2] >= 0 && !g->t[ex->in[2]].data) ||
		    ex->a.kernel[0] * ex->a.kernel[1] * x->dims[1] > EFFC_RT_IM2COL_MAX_K ||
		    (ex->a.kernel[0] == 1 && ex->a.kernel[1] == 1))
			continue;
		const int bias = ex->n_in > 2 ? ex->in[2] : -1, pb = pj->n_in > 2 ? pj->in[2] : -1;
		const int res = pj->n_in > 3 ? pj->in[3] : -1, wp = pj->in[1], y = pj->out[0];
		const enum effc_act post = pj->a.act;
		const float post_min = pj->a.act_min, post_max = pj->a.act_max;
		/* The fused node takes the expansion's place in the node order (its inputs are ready
		 * there; the projection's residual is older still) and writes the projection's output. */
		struct effc_node *f = &g->n[e];
		f->op = EFFC_OP_CONV_PROJECT;
		f->n_in = 6;
		f->in[2] = bias;
		f->in[3] = wp;
		f->in[4] = pb;
		f->in[5] = res;
		f->out[0] = y;
		f->a.post_act = post;
		f->a.post_min = post_min;
		f->a.post_max = post_max;
		g->t[y].producer = e;
		g->t[t].producer = -1;
		g->n[i].dead = 1;
		g->rewrites++;
	}
	effc_graph_count_uses(g);
	return EFFC_OK;
}
