/* dce.c: dead-node elimination.
 *
 * Pattern: a node none of whose outputs is read by a live node or is a graph output.
 * Result: the node is marked dead; repeated until nothing changes, so whole dead chains go.
 * Dead nodes are skipped by every later phase (marked here, never compacted: ids stay valid). */
#include "../effc.h"

enum effc_status effc_pass_dce(struct effc_graph *g, struct effc_diag *d)
{
	(void)d;
	for (int changed = 1; changed;) {
		changed = 0;
		effc_graph_count_uses(g);
		for (int i = g->n_n - 1; i >= 0; i--) {
			struct effc_node *n = &g->n[i];
			if (n->dead)
				continue;
			int used = 0;
			for (int k = 0; k < n->n_out; k++)
				if (n->out[k] >= 0 && (g->t[n->out[k]].n_consumers || g->t[n->out[k]].is_output))
					used = 1;
			if (!used) {
				n->dead = 1;
				changed = 1;
				g->rewrites++;
			}
		}
	}
	effc_graph_count_uses(g);
	return EFFC_OK;
}
