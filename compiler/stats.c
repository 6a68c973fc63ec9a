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
		if (n->op == EFFC_OP_Q8_CONV || n->op == EFFC_OP_Q8_LUT || n->op == EFFC_OP_Q8_ADD || n->op == EFFC_OP_Q8_MUL ||
		    n->op == EFFC_OP_Q8_GAP)
			s->int8_ops++;
		else if (n->op != EFFC_OP_Q8_QUANTIZE && n->op != EFFC_OP_Q8_DEQUANTIZE)
			s->float_ops++;
		for (int k = 0; k < n->n_in && seen; k++) {
			const struct effc_tensor *t = n->in[k] >= 0 ? &g->t[n->in[k]] : NULL;
			if (t && t->data && t->emitted && !(seen[n->in[k]] & 2)) {
				seen[n->in[k]] |= 2;
				*(t->dtype == EFFC_I8 ? &s->weight_bytes_i8 : &s->weight_bytes_f32) += effc_tensor_bytes(t);
			}
		}
		if (n->op == EFFC_OP_Q8_CONV) { /* weights packed with padding; one bias per channel */
			const struct effc_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];
			const int64_t O = effc_tensor_numel(&g->t[n->in[2]]);
			const int64_t kin = n->a.q_kind == EFFC_Q8_DW ? 1 : x->rank == 4 ? x->dims[1] : x->dims[x->rank - 1];
			const int64_t taps = n->a.q_kind == EFFC_Q8_GEMM ? 1 : n->a.kernel[0] * n->a.kernel[1];
			s->params += O * kin * taps + O;
			s->macs += effc_tensor_numel(y) * kin * taps;
			continue;
		}
		for (int k = 0; k < n->n_in; k++) {
			const struct effc_tensor *t = n->in[k] >= 0 ? &g->t[n->in[k]] : NULL;
			if (t && t->data && t->dtype == EFFC_F32 && seen && !(seen[n->in[k]] & 1)) {
				seen[n->in[k]] |= 1;
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
		case EFFC_OP_MBCONV_PROJECT: /* the expansion, the depthwise, the projection */
			s->macs += effc_tensor_numel(x) * g->t[n->in[3]].dims[2] +
				   effc_tensor_numel(y) / y->dims[1] * g->t[n->in[3]].dims[2] *
					   (n->a.kernel[0] * n->a.kernel[1] + y->dims[1]);
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

const char *effc_node_precision(const struct effc_node *n)
{
	switch (n->op) {
	case EFFC_OP_Q8_QUANTIZE:
		return "float->int8";
	case EFFC_OP_Q8_DEQUANTIZE:
		return "int8->float";
	case EFFC_OP_Q8_CONV:
	case EFFC_OP_Q8_LUT:
	case EFFC_OP_Q8_ADD:
	case EFFC_OP_Q8_MUL:
	case EFFC_OP_Q8_GAP:
		return "int8";
	case EFFC_OP_FAKE_QUANT:
		return "float (quantize-dequantize)";
	default:
		return "float";
	}
}

size_t effc_node_weight_bytes(const struct effc_graph *g, const struct effc_node *n)
{
	size_t b = 0;
	for (int k = 0; k < n->n_in; k++)
		if (n->in[k] >= 0 && g->t[n->in[k]].data && g->t[n->in[k]].emitted)
			b += effc_tensor_bytes(&g->t[n->in[k]]);
	return b;
}
