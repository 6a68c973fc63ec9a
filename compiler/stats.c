/* stats.c: parameter and multiply-accumulate counts of the graph as it will be emitted. */
#include "effc.h"

#include <string.h>

void effc_graph_stats(const struct effc_graph *g, struct effc_stats *s)
{
	memset(s, 0, sizeof *s);
	unsigned char *seen = effc_arena_alloc(g->arena, (size_t)g->n_t + 1);
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead || effc_node_is_alias(g, n))
			continue;
		s->op_count[n->op]++;
		for (int k = 0; k < n->n_in; k++) {
			const struct effc_tensor *t = n->in[k] >= 0 ? &g->t[n->in[k]] : NULL;
			if (t && t->data && t->dtype == EFFC_F32 && seen && !seen[n->in[k]]) {
				seen[n->in[k]] = 1;
				/* Packed pointwise and fully connected weights carry zero padding up to 16
				 * columns. */
				const struct effc_tensor *x0 = &g->t[n->in[0]], *y0 = &g->t[n->out[0]];
				s->params += n->op == EFFC_OP_CONV && n->a.packed == 1 && k == 1
						     ? y0->dims[1] * x0->dims[1]
						     : n->op == EFFC_OP_FULLY_CONNECTED && n->a.packed == 1 && k == 1
							       ? y0->dims[y0->rank - 1] * x0->dims[x0->rank - 1]
							       : effc_tensor_numel(t);
			}
		}
		const struct effc_tensor *y = &g->t[n->out[0]], *x = &g->t[n->in[0]];
		switch (n->op) {
		case EFFC_OP_CONV:
			s->macs += effc_tensor_numel(y) * (x->dims[1] / n->a.group) * n->a.kernel[0] * n->a.kernel[1];
			break;
		case EFFC_OP_FULLY_CONNECTED:
			s->macs += effc_tensor_numel(y) * x->dims[x->rank - 1];
			break;
		case EFFC_OP_GEMM:
			s->macs += effc_tensor_numel(y) * (n->a.trans_a ? x->dims[0] : x->dims[1]);
			break;
		case EFFC_OP_MATMUL:
			s->macs += effc_tensor_numel(y) * x->dims[x->rank - 1];
			break;
		case EFFC_OP_EXPAND_DW: /* the expansion, then the depthwise */
			s->macs += effc_tensor_numel(x) * y->dims[1] + effc_tensor_numel(y) * n->a.kernel[0] * n->a.kernel[1];
			break;
		case EFFC_OP_CONV_PROJECT: /* the kxk convolution, then the projection */
			s->macs += effc_tensor_numel(y) / y->dims[1] * g->t[n->in[1]].dims[0] *
				   (g->t[n->in[1]].dims[1] * g->t[n->in[1]].dims[2] * g->t[n->in[1]].dims[3] + y->dims[1]);
			break;
		case EFFC_OP_SE: /* two 1x1 convs on the pooled vector */
		case EFFC_OP_SE_GATE:
			s->macs += 2 * x->dims[0] * x->dims[1] * g->t[n->in[1]].dims[0];
			break;
		default:
			break;
		}
	}
}

size_t effc_weights_file_bytes(const struct effc_graph *g) { return (size_t)EFFC_WEIGHTS_HEADER + g->weights_bytes; }
