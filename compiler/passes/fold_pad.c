/* fold_pad.c: fold a zero Pad into the convolution that reads it.
 *
 * Pattern: y = Pad(x, pads) in constant mode with value 0, non-negative pads on the two
 * spatial axes only, y read only by a Conv (as its input) with explicit or resolved pads.
 * Result: the Conv reads x and its pads grow by the Pad's; the Pad dies. TensorFlow-style
 * exports put asymmetric padding in a Pad before stride-2 convolutions: XNNPACK takes four
 * independent pads, so this costs nothing at run time.
 * Preconditions: shapes inferred (Conv pads resolved from auto_pad). */
#include "../effc.h"

#include <string.h>

enum effc_status effc_pass_fold_pad(struct effc_graph *g, struct effc_diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *c = &g->n[i];
		if (c->dead || c->op != EFFC_OP_CONV)
			continue;
		int y = c->in[0], p = g->t[y].producer;
		if (p < 0 || g->n[p].dead || g->n[p].op != EFFC_OP_PAD || effc_graph_sole_consumer(g, y) != i)
			continue;
		const struct effc_node *pad = &g->n[p];
		const int64_t *pp = pad->a.pad_pads; /* [begin per axis..., end per axis...] of a rank-4 tensor */
		if (g->t[pad->in[0]].rank != 4 || strcmp(pad->a.mode, "constant") != 0 || pad->a.pad_value != 0.0f || pp[0] || pp[1] || pp[4] || pp[5] || pp[2] < 0 ||
		    pp[3] < 0 || pp[6] < 0 || pp[7] < 0)
			continue;
		c->a.pads[0] += pp[2]; /* top */
		c->a.pads[1] += pp[3]; /* left */
		c->a.pads[2] += pp[6]; /* bottom */
		c->a.pads[3] += pp[7]; /* right */
		c->in[0] = pad->in[0];
		g->n[p].dead = 1;
		g->rewrites++;
	}
	return EFFC_OK;
}
