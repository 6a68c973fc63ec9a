/* fuse_activation.c: attach activations to the op that produces their input.
 *
 * Patterns (the activation's input read by nothing else):
 *   Mul(x, Sigmoid(x)) or Mul(Sigmoid(x), x)      -> Swish
 *   HardSwish(x)                                  -> HardSwish
 *   Mul(x, HardSigmoid(x)) either order, alpha 1/6, beta 1/2 -> HardSwish (torch writes
 *     HardSwish this way below opset 14; MobileNetV3 has one per block)
 *   Relu(x), Clip(x, lo, hi) with constant bounds  -> clamp
 * Result: when x comes from a Conv (Swish, HardSwish or clamp) or a FullyConnected-to-be
 * Gemm/MatMul or an Add/Sub/Mul/Div (clamp only, which XNNPACK applies in its store step),
 * that op gets the activation and writes the activation's output tensor. Otherwise a Swish
 * pair becomes one standalone Swish op (which the memory plan may run in place).
 * Preconditions: shapes inferred; BN folding done (so Conv -> BN -> Swish is Conv -> Swish). */
#include "../effc.h"

#include <math.h>

static int takes_clamp(enum effc_op op)
{
	return op == EFFC_OP_CONV || op == EFFC_OP_GEMM || op == EFFC_OP_MATMUL || op == EFFC_OP_ADD ||
	       op == EFFC_OP_SUB || op == EFFC_OP_MUL || op == EFFC_OP_DIV;
}

/* Moves activation node `an` (reading x, writing y) onto x's producer if allowed. */
static int attach(struct effc_graph *g, int an, enum effc_act act, float lo, float hi)
{
	struct effc_node *n = &g->n[an];
	int x = n->in[0], y = n->out[0], p = g->t[x].producer;
	if (p < 0 || g->t[x].is_output || effc_graph_count_readers(g, x) != 1)
		return 0;
	struct effc_node *pn = &g->n[p];
	if (pn->dead || pn->a.act != EFFC_ACT_NONE || pn->n_out != 1)
		return 0;
	if (act == EFFC_ACT_CLAMP ? !takes_clamp(pn->op) : pn->op != EFFC_OP_CONV)
		return 0;
	pn->a.act = act;
	pn->a.act_min = lo;
	pn->a.act_max = hi;
	pn->out[0] = y;
	g->t[y].producer = p;
	g->t[x].producer = -1;
	n->dead = 1;
	return 1;
}

enum effc_status effc_pass_fuse_activation(struct effc_graph *g, struct effc_diag *d)
{
	(void)d;
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		if (n->op == EFFC_OP_MUL && n->n_in == 2) {
			/* Which operand is Sigmoid(other) or HardSigmoid_{1/6,1/2}(other)? */
			for (int k = 0; k < 2; k++) {
				int s = n->in[k], x = n->in[1 - k];
				int sp = s >= 0 ? g->t[s].producer : -1;
				if (sp < 0 || x < 0 || g->n[sp].dead || g->n[sp].in[0] != x || g->t[s].is_output ||
				    effc_graph_sole_consumer(g, s) != i || g->t[x].data)
					continue;
				const struct effc_node *sn = &g->n[sp];
				int hard = sn->op == EFFC_OP_HARDSIGMOID;
				/* Only HardSwish's own constants: the fused kernels compute x * clamp(x/6 + 1/2). */
				if (hard ? !effc_is_hardswish_gate(sn) : sn->op != EFFC_OP_SIGMOID)
					continue;
				g->n[sp].dead = 1; /* the (Hard)Sigmoid */
				n->in[0] = x;
				n->in[1] = -1;
				n->n_in = 1;
				/* standalone unless the producer takes it */
				n->op = hard ? EFFC_OP_HARDSWISH : EFFC_OP_SWISH;
				attach(g, i, hard ? EFFC_ACT_HARDSWISH : EFFC_ACT_SWISH, -INFINITY, INFINITY);
				g->rewrites++;
				break;
			}
			continue;
		}
		if (n->op == EFFC_OP_HARDSWISH) {
			g->rewrites += attach(g, i, EFFC_ACT_HARDSWISH, -INFINITY, INFINITY);
		} else if (n->op == EFFC_OP_RELU) {
			g->rewrites += attach(g, i, EFFC_ACT_CLAMP, 0.0f, INFINITY);
		} else if (n->op == EFFC_OP_CLIP) {
			int lo = n->n_in > 1 ? n->in[1] : -1, hi = n->n_in > 2 ? n->in[2] : -1;
			if ((lo >= 0 && !g->t[lo].data) || (hi >= 0 && !g->t[hi].data) || !(n->a.clip_min < n->a.clip_max))
				continue;
			g->rewrites += attach(g, i, EFFC_ACT_CLAMP, n->a.clip_min, n->a.clip_max);
		}
	}
	return EFFC_OK;
}
