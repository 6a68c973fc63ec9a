/* cleanup.c: remove Identity and inference-mode Dropout.
 *
 * Pattern: y = Identity(x) or y = Dropout(x[, ratio]) whose mask output nobody reads.
 * Result: readers of y read x; the node is dead. When y is a graph output the node stays (it
 * costs nothing: reshape-like nodes are emitted as aliases). Flatten/Reshape before the
 * classifier need no pass: they are aliases of the bytes already, as are Squeeze/Unsqueeze.
 * Preconditions: shapes inferred. */
#include "../effc.h"

enum effc_status effc_pass_cleanup(struct effc_graph *g, struct effc_diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead || (n->op != EFFC_OP_IDENTITY && n->op != EFFC_OP_DROPOUT))
			continue;
		int x = n->in[0], y = n->out[0];
		if (g->t[y].is_output)
			continue;
		effc_graph_replace_uses(g, y, x);
		n->dead = 1;
		g->rewrites++;
	}
	return EFFC_OK;
}
