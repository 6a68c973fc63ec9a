/* fold_constants.c: evaluate nodes whose inputs are all constants.
 *
 * Pattern: a node of an elementwise, reshape-like, Transpose or BatchNormalization op whose
 * present inputs are all initializers (or earlier folded results).
 * Result: its output becomes a constant computed with the runtime's reference kernels (the
 * same code the portable runtime path runs), and the node dies. Int64 shape arithmetic is not
 * folded: effc reads shapes as constants already.
 * Preconditions: shapes inferred, before layout (everything in ONNX order). */
#include "../effc.h"
#include "effc_rt.h"

#include <math.h>
#include <string.h>

static void pad_shape(const struct effc_tensor *t, int rank, size_t *out)
{
	for (int i = 0; i < rank; i++)
		out[i] = i < rank - t->rank ? 1 : (size_t)t->dims[i - (rank - t->rank)];
}

static int foldable(const struct effc_graph *g, const struct effc_node *n)
{
	switch (n->op) {
	case EFFC_OP_ADD: case EFFC_OP_SUB: case EFFC_OP_MUL: case EFFC_OP_DIV:
	case EFFC_OP_SIGMOID: case EFFC_OP_RELU: case EFFC_OP_CLIP: case EFFC_OP_HARDSIGMOID:
	case EFFC_OP_HARDSWISH: case EFFC_OP_TRANSPOSE: case EFFC_OP_BATCHNORM: case EFFC_OP_FLATTEN:
	case EFFC_OP_RESHAPE: case EFFC_OP_SQUEEZE: case EFFC_OP_UNSQUEEZE: case EFFC_OP_IDENTITY:
	case EFFC_OP_DROPOUT:
		break;
	default:
		return 0;
	}
	for (int k = 0; k < n->n_in; k++)
		if (n->in[k] >= 0 && !g->t[n->in[k]].data)
			return 0;
	return g->t[n->in[0]].dtype == EFFC_F32 && g->t[n->out[0]].rank <= EFFC_RT_MAX_RANK;
}

enum effc_status effc_pass_fold_constants(struct effc_graph *g, struct effc_diag *d)
{
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead || !foldable(g, n))
			continue;
		struct effc_tensor *y = &g->t[n->out[0]], *x = &g->t[n->in[0]];
		float *out = effc_arena_alloc(g->arena, effc_tensor_bytes(y));
		if (!out)
			return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory folding '%s'", g->path, n->name);
		const float *in = x->data;
		size_t numel = (size_t)effc_tensor_numel(y);
		switch (n->op) {
		case EFFC_OP_ADD: case EFFC_OP_SUB: case EFFC_OP_MUL: case EFFC_OP_DIV: {
			struct effc_rt_binary p = {.op = n->op == EFFC_OP_ADD ? EFFC_RT_ADD : n->op == EFFC_OP_SUB ? EFFC_RT_SUB
							 : n->op == EFFC_OP_MUL ? EFFC_RT_MUL : EFFC_RT_DIV,
						   .rank = y->rank ? y->rank : 1, .out_min = -INFINITY, .out_max = INFINITY};
			pad_shape(x, p.rank, p.a_shape);
			pad_shape(&g->t[n->in[1]], p.rank, p.b_shape);
			effc_rt_ref_binary(&p, in, g->t[n->in[1]].data, out);
			break;
		}
		case EFFC_OP_SIGMOID: case EFFC_OP_RELU: case EFFC_OP_CLIP: case EFFC_OP_HARDSIGMOID: case EFFC_OP_HARDSWISH: {
			struct effc_rt_unary p = {.rows = 1, .channels = numel, .alpha = n->a.alpha, .beta = n->a.beta,
						  .min = n->op == EFFC_OP_RELU ? 0.0f : -INFINITY, .max = INFINITY};
			p.op = n->op == EFFC_OP_SIGMOID ? EFFC_RT_SIGMOID : n->op == EFFC_OP_HARDSIGMOID ? EFFC_RT_HARDSIGMOID
			     : n->op == EFFC_OP_HARDSWISH ? EFFC_RT_HARDSWISH : n->op == EFFC_OP_CLIP ? EFFC_RT_CLAMP_DYN
			     : EFFC_RT_CLAMP;
			float lo = n->a.clip_min, hi = n->a.clip_max;
			effc_rt_ref_unary(&p, in, out, &lo, &hi);
			break;
		}
		case EFFC_OP_TRANSPOSE: {
			struct effc_rt_shape s = {.rank = x->rank};
			int perm[EFFC_RT_MAX_RANK];
			for (int k = 0; k < x->rank; k++)
				s.dims[k] = (size_t)x->dims[k], perm[k] = (int)n->a.perm[k];
			effc_rt_ref_transpose(&s, perm, in, out);
			break;
		}
		case EFFC_OP_BATCHNORM: {
			size_t inner = 1;
			for (int k = 2; k < x->rank; k++)
				inner *= (size_t)x->dims[k];
			effc_rt_ref_channel_affine((size_t)x->dims[0], (size_t)x->dims[1], inner, g->t[n->in[1]].data,
						   g->t[n->in[2]].data, g->t[n->in[3]].data, g->t[n->in[4]].data, n->a.epsilon,
						   in, out);
			break;
		}
		default: /* reshape-like: same bytes */
			memcpy(out, in, effc_tensor_bytes(y));
			break;
		}
		y->data = out;
		y->producer = -1;
		n->dead = 1;
		g->rewrites++;
	}
	return EFFC_OK;
}
