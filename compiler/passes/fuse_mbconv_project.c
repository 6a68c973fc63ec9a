/* fuse_mbconv_project.c: an MBConv block without squeeze-excitation (EfficientNet-Lite,
 * MobileNetV2/V3's plain blocks) as one op: expansion, depthwise and projection.
 *
 * Pattern: y = Conv1x1(t) (packed, maybe with a residual from fuse-residual, no input scale),
 *          where t = ExpandDepthwise(x) (fuse-mbconv's op, no row sums) is read only by it, and
 *          the depthwise's input rows are at least EFFC_MBCONV_PROJECT_MIN_W pixels wide.
 *          (A block with SE has the SE op between the depthwise and the projection.)
 * Result:  y = MBConv(x, We, Be, Wd, Bd, Wp, Bp, residual): the node keeps the depthwise's
 *          attributes, the expansion's activation in pre_act and takes the projection's in
 *          post_act; the projection dies and t is never materialised. The runtime projects each
 *          band of depthwise output rows from a per-thread buffer in L2
 *          (effc_rt_mbconv_project_create), so a block's only tensors in memory are its input
 *          and its output.
 *          Why the width: the expansion runs one GEMM per input row; on rows of 14 or 7 pixels
 *          those are too small to pay (one thread, kernel microbenchmark with cold caches:
 *          56x56 blocks 0.72-0.76x the three ops' time, 28x28 0.86-0.92x, 14x14x672 1.05x,
 *          7x7x1152 1.09x). Two threads gain little at any size: each core's share of the
 *          unfused tensors then fits its own L2.
 * Preconditions: fuse-mbconv done (and its effc_mbconv_projects() consulted there, so that the
 *          expansion of a block this pass takes is fused whatever its size). */
#include "../effc.h"

#define EFFC_MBCONV_PROJECT_MIN_W 28

/* The projection that would take depthwise node dw's output into one op (its sole reader, a
 * packed 1x1 conv without an input scale, on rows of EFFC_MBCONV_PROJECT_MIN_W or more), or -1.
 * dw's input has the block input's width: the expanded tensor (a depthwise conv) or x itself
 * (an ExpandDepthwise). */
static int projection_of(const struct effc_graph *g, const struct effc_node *dw)
{
	const struct effc_tensor *x = &g->t[dw->in[0]];
	if (dw->n_out != 1 || x->rank != 4 || x->dims[3] < EFFC_MBCONV_PROJECT_MIN_W)
		return -1;
	const int t = dw->out[0], pj = effc_graph_sole_consumer(g, t);
	if (pj < 0)
		return -1;
	const struct effc_node *p = &g->n[pj];
	if (p->dead || p->op != EFFC_OP_CONV || p->a.packed != 1 || p->n_out != 1 || p->in[0] != t ||
	    (p->n_in > 4 && p->in[4] >= 0) || g->t[p->out[0]].layout != EFFC_LAYOUT_NHWC)
		return -1;
	return pj;
}

int effc_mbconv_projects(const struct effc_graph *g, const struct effc_node *dw)
{
	return g->mbconv_proj && projection_of(g, dw) >= 0;
}

enum effc_status effc_pass_fuse_mbconv_project(struct effc_graph *g, struct effc_diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *dw = &g->n[i];
		if (dw->dead || dw->op != EFFC_OP_EXPAND_DW || dw->n_in != 5)
			continue;
		const int pj = projection_of(g, dw);
		if (pj < 0)
			continue;
		struct effc_node *p = &g->n[pj];
		const int t = dw->out[0];
		dw->op = EFFC_OP_MBCONV_PROJECT;
		dw->n_in = 8;
		dw->in[5] = p->in[1];
		dw->in[6] = p->n_in > 2 ? p->in[2] : -1;
		dw->in[7] = p->n_in > 3 ? p->in[3] : -1;
		dw->out[0] = p->out[0];
		dw->a.post_act = p->a.act;
		dw->a.post_min = p->a.act_min;
		dw->a.post_max = p->a.act_max;
		g->t[p->out[0]].producer = i;
		g->t[t].producer = -1;
		p->dead = 1;
		g->rewrites++;
	}
	effc_graph_count_uses(g);
	return EFFC_OK;
}
