/* fuse_mbconv.c: an MBConv block's expansion and depthwise convolution as one op.
 *
 * Pattern: t = Conv1x1(x) (packed, no residual or input scale), read only by a depthwise Conv
 *          (groups = in = out channels, constant weights, NHWC) as its input, and t at least
 *          EFFC_MBCONV_MIN_BYTES large. Below that, t stays in cache between the two ops anyway,
 *          and XNNPACK's depthwise kernel (the unfused path) was faster than ours here: on B0,
 *          fusing the 4.8 MB block saved 0.2 ms, fusing the 1.8 MB ones cost 0.1-0.2 ms each.
 * Result:  y = ExpandDepthwise(x, We, Be, Wd, Bd) with the expansion's activation in pre_act
 *          and the depthwise weights re-laid out as [kh][kw][C]; the 1x1 conv dies and t is
 *          never materialised. The runtime expands, per band of output rows, only the rows the
 *          band needs into a buffer that stays in L2: the block's largest tensor no longer goes
 *          through memory (B0's first one is 4.8 MB).
 *          Unless the expansion's weights are both out of L2's reach (over EFFC_MBCONV_WEIGHTS_L2)
 *          and, streamed once per band, more bytes than t: each band runs the expansion over all
 *          of them. B7's 19x19 blocks expand 640 -> 3840 channels with 9.8 MB of weights in 19
 *          bands of one row: 186 MB per block from memory against t's 5.5 MB, 11 ms at one
 *          thread, and no faster at two (both cores stream all of them).
 *          Any size where fuse-mbconv-project will also take the block's projection
 *          (effc_mbconv_projects): the three convs then run as one op.
 * Preconditions: lowering done (the 1x1 conv is packed, the depthwise weights are OHWI). */
#include "../effc.h"
#include "effc_rt.h"

#define EFFC_MBCONV_MIN_BYTES (3u << 20)
#define EFFC_MBCONV_WEIGHTS_L2 (256u << 10)

/* Bytes of expansion weights that node e's bands stream, against t's bytes (see above). */
static int weights_pay(const struct effc_graph *g, const struct effc_node *dw, const struct effc_node *e)
{
	const struct effc_tensor *t = &g->t[dw->in[0]], *y = &g->t[dw->out[0]];
	const size_t wbytes = effc_tensor_bytes(&g->t[e->in[1]]);
	if (wbytes <= EFFC_MBCONV_WEIGHTS_L2)
		return 1;
	const size_t band = effc_rt_mbconv_band((size_t)t->dims[3], (size_t)(dw->a.pads[1] + dw->a.pads[3]),
						(size_t)t->dims[1], (size_t)dw->a.kernel[0], (size_t)dw->a.dilations[0],
						(size_t)dw->a.strides[0]);
	const size_t bands = (size_t)t->dims[0] * (((size_t)y->dims[2] + band - 1) / band);
	return bands * wbytes <= effc_tensor_bytes(t);
}

enum effc_status effc_pass_fuse_mbconv(struct effc_graph *g, struct effc_diag *d)
{
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *dw = &g->n[i];
		if (dw->dead || dw->op != EFFC_OP_CONV || dw->a.packed || dw->n_out != 1)
			continue;
		const int t = dw->in[0];
		const struct effc_tensor *tt = &g->t[t], *w = &g->t[dw->in[1]];
		const int64_t C = tt->dims[1];
		if (tt->layout != EFFC_LAYOUT_NHWC || tt->rank != 4 || dw->a.group != C || g->t[dw->out[0]].dims[1] != C ||
		    (effc_tensor_bytes(tt) < EFFC_MBCONV_MIN_BYTES && !effc_mbconv_projects(g, dw)) ||
		    !w->data || w->rank != 4 || w->dims[0] != C || w->dims[3] != 1 ||
		    (dw->n_in > 2 && dw->in[2] >= 0 && !g->t[dw->in[2]].data))
			continue;
		const int e = tt->producer;
		if (e < 0 || g->n[e].dead || g->n[e].op != EFFC_OP_CONV || g->n[e].a.packed != 1 ||
		    (g->n[e].n_in > 3 && g->n[e].in[3] >= 0) || (g->n[e].n_in > 4 && g->n[e].in[4] >= 0) ||
		    effc_graph_sole_consumer(g, t) != i || !weights_pay(g, dw, &g->n[e]))
			continue;
		const int64_t kh = w->dims[1], kw = w->dims[2], hwc[3] = {kh, kw, C};
		int wd = effc_graph_new_const(g, w->name, "hwc", 3, hwc);
		if (wd < 0)
			return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory fusing '%s'", g->path, dw->name);
		dw = &g->n[i];
		effc_rt_pack_dw((size_t)C, (size_t)kh, (size_t)kw, g->t[dw->in[1]].data, g->t[wd].data);
		struct effc_node *ex = &g->n[e];
		const int bd = dw->n_in > 2 ? dw->in[2] : -1;
		dw->op = EFFC_OP_EXPAND_DW;
		dw->n_in = 5;
		dw->in[0] = ex->in[0];
		dw->in[1] = ex->in[1];
		dw->in[2] = ex->n_in > 2 ? ex->in[2] : -1;
		dw->in[3] = wd;
		dw->in[4] = bd;
		dw->a.pre_act = ex->a.act;
		dw->a.pre_min = ex->a.act_min;
		dw->a.pre_max = ex->a.act_max;
		g->t[t].producer = -1;
		ex->dead = 1;
		g->rewrites++;
	}
	effc_graph_count_uses(g);
	return EFFC_OK;
}
