/* fold_input_norm.c: fold input normalisation into the first convolution.
 *
 * Pattern: c = Conv(z, W, B) with constant W, where z = x * s, x / s, x - m or x + m, with s, m
 * constants per input channel (shape [C,1,1], [1,C,1,1], [1] or scalar) and z read only by the
 * Conv. Result, applied repeatedly from the conv backwards:
 *   x * s:  W'[o][c] = W[o][c] * s[c]            (exact: zero padding stays zero)
 *   x - m:  B'[o] = B[o] - sum_{c,k} W[o][c][k] * m[c]   only when the Conv has no padding,
 *           since a padded border would see -m instead of 0 (so not exact otherwise).
 * Preconditions: shapes inferred, before layout. */
#include "../effc.h"

#include <string.h>

/* Per-channel value of constant t for channel c of a C-channel NCHW tensor, or -1 if t is not
 * per-channel. */
static int per_channel(const struct effc_tensor *t, int64_t C)
{
	int64_t n = effc_tensor_numel(t);
	if (n == 1)
		return 1;
	if (n != C || t->rank < 3)
		return 0;
	return t->dims[t->rank - 3] == C; /* [.., C, 1, 1] */
}

enum effc_status effc_pass_fold_input_norm(struct effc_graph *g, struct effc_diag *d)
{
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *c = &g->n[i];
		if (c->dead || c->op != EFFC_OP_CONV || !g->t[c->in[1]].data || c->a.group != 1)
			continue;
		for (;;) {
			int z = c->in[0], p = g->t[z].producer;
			if (p < 0 || g->n[p].dead || effc_graph_sole_consumer(g, z) != i)
				break;
			struct effc_node *e = &g->n[p];
			if (e->op != EFFC_OP_MUL && e->op != EFFC_OP_DIV && e->op != EFFC_OP_SUB && e->op != EFFC_OP_ADD)
				break;
			int k = g->t[e->in[1]].data ? 1 : (e->op == EFFC_OP_MUL || e->op == EFFC_OP_ADD) && g->t[e->in[0]].data ? 0 : -1;
			if (k < 0)
				break;
			int x = e->in[1 - k];
			const struct effc_tensor *cst = &g->t[e->in[k]], *w = &g->t[c->in[1]];
			const int64_t C = w->dims[1], O = w->dims[0], K = w->dims[2] * w->dims[3];
			if (g->t[x].data || g->t[x].rank != 4 || g->t[x].dims[1] != C || !per_channel(cst, C) ||
			    effc_tensor_numel(&g->t[x]) != effc_tensor_numel(&g->t[z]))
				break;
			int additive = e->op == EFFC_OP_SUB || e->op == EFFC_OP_ADD;
			if (additive && (c->a.pads[0] || c->a.pads[1] || c->a.pads[2] || c->a.pads[3]))
				break;
			int nw = effc_graph_new_const(g, w->name, "norm", 4, w->dims);
			int nb = nw >= 0 ? effc_graph_new_const(g, c->name, "normbias", 1, &O) : -1;
			if (nb < 0)
				return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory folding into '%s'", g->path, c->name);
			c = &g->n[i], e = &g->n[p], cst = &g->t[e->in[k]], w = &g->t[c->in[1]];
			const float *wd = w->data, *cv = cst->data;
			const float *ob = c->n_in > 2 && c->in[2] >= 0 ? g->t[c->in[2]].data : NULL;
			float *nwd = g->t[nw].data, *nbd = g->t[nb].data;
			int scalar = effc_tensor_numel(cst) == 1;
			for (int64_t o = 0; o < O; o++) {
				double b = ob ? ob[o] : 0.0;
				for (int64_t ch = 0; ch < C; ch++) {
					float v = cv[scalar ? 0 : ch];
					for (int64_t q = 0; q < K; q++) {
						int64_t idx = (o * C + ch) * K + q;
						if (e->op == EFFC_OP_MUL)
							nwd[idx] = wd[idx] * v;
						else if (e->op == EFFC_OP_DIV)
							nwd[idx] = wd[idx] / v;
						else {
							nwd[idx] = wd[idx];
							b += (double)wd[idx] * (e->op == EFFC_OP_SUB ? -v : v);
						}
					}
				}
				nbd[o] = (float)b;
			}
			c->in[0] = x;
			c->in[1] = nw;
			c->in[2] = nb;
			c->n_in = 3;
			e->dead = 1;
			g->rewrites++;
		}
	}
	return EFFC_OK;
}
