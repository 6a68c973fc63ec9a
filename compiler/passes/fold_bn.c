/* fold_bn.c: fold BatchNormalization into the op that produces its input.
 *
 * Pattern: y = BatchNormalization(c, gamma, beta, mean, var) with constant parameters, where c
 * is the only-read output of a Conv with constant weights (and bias), or of a Gemm (no transA)
 * or MatMul with a constant 2-D B whose output channel is the BN channel (dim 1 of a 2-D
 * output). With s = gamma / sqrt(var + eps): W'[o] = W[o] * s[o], b' = (b - mean) * s + beta.
 * A BN with constant parameters and nothing to fold into becomes ChannelScaleBias (scale s,
 * bias beta - mean * s); one with run-time parameters stays as it is.
 * Folding respects other readers: a producer whose output is also read elsewhere is left
 * alone (its un-normalised value is still needed), and the BN becomes ChannelScaleBias.
 * Preconditions: shapes inferred, before layout and lowering. */
#include "../effc.h"

#include <math.h>
#include <string.h>

static int all_const(const struct effc_graph *g, const struct effc_node *n)
{
	for (int k = 1; k < 5; k++)
		if (n->in[k] < 0 || !g->t[n->in[k]].data)
			return 0;
	return 1;
}

enum effc_status effc_pass_fold_bn(struct effc_graph *g, struct effc_diag *d)
{
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *bn = &g->n[i];
		if (bn->dead || bn->op != EFFC_OP_BATCHNORM || !all_const(g, bn))
			continue;
		const int64_t C = g->t[bn->in[0]].dims[1];
		/* Scale and shift, computed in double for the division. */
		int st = effc_graph_new_const(g, bn->name, "scale", 1, &C);
		int sh = st >= 0 ? effc_graph_new_const(g, bn->name, "shift", 1, &C) : -1;
		if (sh < 0)
			return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory folding '%s'", g->path, bn->name);
		bn = &g->n[i];
		const float *gam = g->t[bn->in[1]].data, *bet = g->t[bn->in[2]].data, *mean = g->t[bn->in[3]].data,
			    *var = g->t[bn->in[4]].data;
		float *s = g->t[st].data, *t = g->t[sh].data;
		for (int64_t c = 0; c < C; c++) {
			s[c] = (float)(gam[c] / sqrt((double)var[c] + bn->a.epsilon));
			t[c] = (float)(bet[c] - (double)mean[c] * s[c]);
		}
		int x = bn->in[0];
		int p = g->t[x].producer;
		struct effc_node *pn = p >= 0 ? &g->n[p] : NULL;
		int sole = effc_graph_sole_consumer(g, x) == i;
		int conv_ok = pn && sole && pn->op == EFFC_OP_CONV && g->t[pn->in[1]].data &&
			      (pn->n_in < 3 || pn->in[2] < 0 || g->t[pn->in[2]].data) && pn->a.act == EFFC_ACT_NONE;
		int fc_ok = pn && sole && g->t[x].rank == 2 && pn->a.act == EFFC_ACT_NONE &&
			    ((pn->op == EFFC_OP_GEMM && !pn->a.trans_a && g->t[pn->in[1]].data &&
			      (pn->n_in < 3 || pn->in[2] < 0 || (g->t[pn->in[2]].data && (effc_tensor_numel(&g->t[pn->in[2]]) ==
											       C || effc_tensor_numel(&g->t[pn->in[2]]) == 1)))) ||
			     (pn->op == EFFC_OP_MATMUL && g->t[pn->in[1]].data && g->t[pn->in[1]].rank == 2));
		if (!conv_ok && !fc_ok) {
			/* Nothing to fold into: y = x * s + t per channel. */
			bn->op = EFFC_OP_SCALE_BIAS;
			bn->n_in = 3;
			bn->in[1] = st, bn->in[2] = sh, bn->in[3] = bn->in[4] = -1;
			g->rewrites++;
			continue;
		}
		/* New weights and bias (the originals may be shared with other nodes). */
		const struct effc_tensor *w = &g->t[pn->in[1]];
		int nw = effc_graph_new_const(g, w->name, "bnfold", w->rank, w->dims);
		int nb = nw >= 0 ? effc_graph_new_const(g, bn->name, "bias", 1, &C) : -1;
		if (nb < 0)
			return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory folding '%s'", g->path, bn->name);
		bn = &g->n[i], pn = &g->n[p], w = &g->t[pn->in[1]];
		s = g->t[st].data, t = g->t[sh].data;
		const float *wd = w->data, *old_b = pn->n_in > 2 && pn->in[2] >= 0 ? g->t[pn->in[2]].data : NULL;
		float *nwd = g->t[nw].data, *nbd = g->t[nb].data;
		int64_t numel = effc_tensor_numel(w);
		int trans_b = pn->op == EFFC_OP_GEMM && pn->a.trans_b;
		for (int64_t e = 0; e < numel; e++) {
			/* Output channel of weight element e: conv [O][...], Gemm B [K][N] or [N][K]. */
			int64_t o = pn->op == EFFC_OP_CONV ? e / (numel / C) : trans_b ? e / w->dims[1] : e % w->dims[1];
			nwd[e] = wd[e] * s[o];
		}
		for (int64_t c = 0; c < C; c++) {
			float b0 = old_b ? (effc_tensor_numel(&g->t[pn->in[2]]) == 1 ? old_b[0] : old_b[c]) : 0.0f;
			if (pn->op == EFFC_OP_GEMM)
				b0 *= pn->a.beta; /* Gemm adds beta * C; the new bias takes beta = 1 */
			nbd[c] = b0 * s[c] + t[c];
		}
		if (pn->op == EFFC_OP_GEMM)
			pn->a.beta = 1.0f;
		if (pn->op == EFFC_OP_MATMUL) {
			/* MatMul has no bias input: becomes Gemm (its output, hence A, is 2-D). */
			pn->op = EFFC_OP_GEMM;
			pn->a.alpha = pn->a.beta = 1.0f;
			pn->a.trans_a = pn->a.trans_b = 0;
		}
		pn->in[1] = nw;
		pn->in[2] = nb;
		pn->n_in = 3;
		/* The producer now writes the BN's output tensor. */
		g->t[bn->out[0]].producer = p;
		pn->out[0] = bn->out[0];
		g->t[x].producer = -1;
		bn->dead = 1;
		g->rewrites++;
	}
	return EFFC_OK;
}
