/* calibrate.c: runs an ONNX-level graph (after BatchNorm folding, before fusion) in float on the
 * runtime's reference kernels (effc_rt_ref_*, the code the portable runtime runs), one input at
 * a time, in ONNX's NCHW layout. Two hooks make it the quantizer's measuring instrument:
 *   - an observer sees every activation as it is produced (calibration: ranges, histograms);
 *   - a simulation replaces constants by their dequantized values and quantizes and dequantizes
 *     chosen activations where they are produced, as the QDQ model's QuantizeLinear /
 *     DequantizeLinear pairs do, so the quantizer can predict ONNX Runtime's output.
 * Extending: one case in run_node() and one in effc_calib_supports(). Scalar, single-threaded
 * and simple on purpose; a B0 at 224 pixels takes about a second per input. */
#include "quantize.h"

#include "effc_rt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int effc_calib_supports(const struct effc_graph *g, const struct effc_node *n)
{
	const struct effc_tensor *x = n->n_in > 0 && n->in[0] >= 0 ? &g->t[n->in[0]] : NULL;
	switch (n->op) {
	case EFFC_OP_CONV:
		return x && x->rank == 4 && g->t[n->in[1]].data && (n->n_in < 3 || n->in[2] < 0 || g->t[n->in[2]].data);
	case EFFC_OP_GEMM:
	case EFFC_OP_MATMUL:
		return x && g->t[n->in[1]].data && g->t[n->in[1]].rank == 2 &&
		       (n->op == EFFC_OP_MATMUL || (x->rank == 2 && (n->n_in < 3 || n->in[2] < 0 || g->t[n->in[2]].data)));
	case EFFC_OP_CLIP:
		return (n->n_in < 2 || n->in[1] < 0 || g->t[n->in[1]].data) && (n->n_in < 3 || n->in[2] < 0 || g->t[n->in[2]].data);
	case EFFC_OP_ADD:
	case EFFC_OP_SUB:
	case EFFC_OP_MUL:
	case EFFC_OP_DIV:
	case EFFC_OP_SIGMOID:
	case EFFC_OP_RELU:
	case EFFC_OP_HARDSIGMOID:
	case EFFC_OP_HARDSWISH:
	case EFFC_OP_GLOBALAVGPOOL:
	case EFFC_OP_REDUCEMEAN:
	case EFFC_OP_FLATTEN:
	case EFFC_OP_RESHAPE:
	case EFFC_OP_SQUEEZE:
	case EFFC_OP_UNSQUEEZE:
	case EFFC_OP_IDENTITY:
	case EFFC_OP_DROPOUT:
	case EFFC_OP_SOFTMAX:
	case EFFC_OP_TRANSPOSE:
		return x != NULL;
	default:
		return 0;
	}
}

static const float *cdata(const struct effc_graph *g, const struct effc_qsim *sim, int t)
{
	if (t < 0)
		return NULL;
	if (sim && sim->data && sim->data[t])
		return sim->data[t];
	return g->t[t].data;
}

static void shape_of(const struct effc_tensor *t, struct effc_rt_shape *s)
{
	s->rank = t->rank;
	for (int i = 0; i < t->rank; i++)
		s->dims[i] = (size_t)t->dims[i];
}

static void run_node(const struct effc_graph *g, const struct effc_node *n, const struct effc_qsim *sim,
		     float *const *val, float *y)
{
	const struct effc_tensor *xt = &g->t[n->in[0]], *yt = &g->t[n->out[0]];
	const struct effc_attrs *a = &n->a;
	const float *x = val[n->in[0]] ? val[n->in[0]] : cdata(g, sim, n->in[0]);
	const size_t ny = (size_t)effc_tensor_numel(yt);
	switch (n->op) {
	case EFFC_OP_CONV: {
		const struct effc_tensor *w = &g->t[n->in[1]];
		struct effc_rt_conv2d p = {.batch = (int)xt->dims[0], .in_h = (int)xt->dims[2], .in_w = (int)xt->dims[3],
					   .in_c = (int)xt->dims[1], .out_h = (int)yt->dims[2], .out_w = (int)yt->dims[3],
					   .out_c = (int)yt->dims[1], .groups = (int)a->group, .kh = (int)w->dims[2],
					   .kw = (int)w->dims[3], .sh = (int)a->strides[0], .sw = (int)a->strides[1],
					   .dh = (int)a->dilations[0], .dw = (int)a->dilations[1], .pad_top = (int)a->pads[0],
					   .pad_left = (int)a->pads[1], .pad_bottom = (int)a->pads[2], .pad_right = (int)a->pads[3],
					   .out_min = -INFINITY, .out_max = INFINITY};
		effc_rt_ref_conv2d(&p, cdata(g, sim, n->in[1]), n->n_in > 2 ? cdata(g, sim, n->in[2]) : NULL, x, y);
		break;
	}
	case EFFC_OP_GEMM:
	case EFFC_OP_MATMUL: {
		const struct effc_tensor *w = &g->t[n->in[1]];
		const int gemm = n->op == EFFC_OP_GEMM, tb = gemm && a->trans_b, ta = gemm && a->trans_a;
		const int64_t K = tb ? w->dims[1] : w->dims[0], N = tb ? w->dims[0] : w->dims[1];
		const int64_t M = (int64_t)ny / N;
		struct effc_rt_matmul p = {.m = (int)M, .n = (int)N, .k = (int)K, .a_sm = ta ? 1 : K, .a_sk = ta ? M : 1,
					   .b_sk = tb ? 1 : N, .b_sn = tb ? K : 1, .alpha = gemm ? a->alpha : 1.0f,
					   .beta = gemm ? a->beta : 0.0f, .out_min = -INFINITY, .out_max = INFINITY};
		const float *bias = gemm && n->n_in > 2 ? cdata(g, sim, n->in[2]) : NULL;
		if (bias) {
			/* C broadcasts to [M][N]: a scalar, a row [N], a column [M][1] or the full [M][N]. */
			const struct effc_tensor *c = &g->t[n->in[2]];
			int64_t cn = c->rank ? c->dims[c->rank - 1] : 1, cm = c->rank > 1 ? c->dims[c->rank - 2] : 1;
			p.bias_sn = cn == 1 ? 0 : 1;
			p.bias_sm = cm == 1 ? 0 : cn;
		}
		effc_rt_ref_matmul(&p, x, cdata(g, sim, n->in[1]), bias, y);
		break;
	}
	case EFFC_OP_ADD:
	case EFFC_OP_SUB:
	case EFFC_OP_MUL:
	case EFFC_OP_DIV: {
		const struct effc_tensor *bt = &g->t[n->in[1]];
		const float *b = val[n->in[1]] ? val[n->in[1]] : cdata(g, sim, n->in[1]);
		struct effc_rt_binary p = {.op = n->op == EFFC_OP_ADD   ? EFFC_RT_ADD
						 : n->op == EFFC_OP_SUB ? EFFC_RT_SUB
						 : n->op == EFFC_OP_MUL ? EFFC_RT_MUL
									: EFFC_RT_DIV,
					   .rank = yt->rank ? yt->rank : 1, .out_min = -INFINITY, .out_max = INFINITY};
		for (int i = 0; i < p.rank; i++) {
			int ia = i - (p.rank - xt->rank), ib = i - (p.rank - bt->rank);
			p.a_shape[i] = ia >= 0 ? (size_t)xt->dims[ia] : 1;
			p.b_shape[i] = ib >= 0 ? (size_t)bt->dims[ib] : 1;
		}
		effc_rt_ref_binary(&p, x, b, y);
		break;
	}
	case EFFC_OP_SIGMOID:
	case EFFC_OP_RELU:
	case EFFC_OP_CLIP:
	case EFFC_OP_HARDSIGMOID:
	case EFFC_OP_HARDSWISH: {
		struct effc_rt_unary p = {.rows = 1, .channels = ny, .alpha = a->alpha, .beta = a->beta};
		p.op = n->op == EFFC_OP_SIGMOID ? EFFC_RT_SIGMOID
		     : n->op == EFFC_OP_HARDSIGMOID ? EFFC_RT_HARDSIGMOID
		     : n->op == EFFC_OP_HARDSWISH ? EFFC_RT_HARDSWISH
						   : EFFC_RT_CLAMP_DYN;
		float lo = n->op == EFFC_OP_RELU ? 0.0f : a->clip_min, hi = n->op == EFFC_OP_RELU ? INFINITY : a->clip_max;
		effc_rt_ref_unary(&p, x, y, &lo, &hi);
		break;
	}
	case EFFC_OP_GLOBALAVGPOOL:
	case EFFC_OP_REDUCEMEAN: {
		struct effc_rt_shape s;
		int mask[EFFC_RT_MAX_RANK] = {0};
		shape_of(xt, &s);
		for (int i = 0; i < xt->rank; i++)
			mask[i] = n->op == EFFC_OP_GLOBALAVGPOOL ? i >= 2 : 0;
		if (n->op == EFFC_OP_REDUCEMEAN) {
			for (int k = 0; k < a->n_axes; k++)
				mask[a->axes[k] < 0 ? a->axes[k] + xt->rank : a->axes[k]] = 1;
			if (!a->n_axes)
				for (int i = 0; i < xt->rank; i++)
					mask[i] = 1;
		}
		effc_rt_ref_reduce_mean(&s, mask, x, y);
		break;
	}
	case EFFC_OP_SOFTMAX: {
		size_t outer = 1, mid = 1, inner = 1;
		for (int i = 0; i < xt->rank; i++) {
			size_t dd = (size_t)xt->dims[i];
			if (i < a->axis)
				outer *= dd;
			else if (i == a->axis || a->opset < 13)
				mid *= dd;
			else
				inner *= dd;
		}
		effc_rt_ref_softmax(outer, mid, inner, x, y);
		break;
	}
	case EFFC_OP_TRANSPOSE: {
		struct effc_rt_shape s;
		int perm[EFFC_RT_MAX_RANK];
		shape_of(xt, &s);
		for (int i = 0; i < xt->rank; i++)
			perm[i] = a->n_perm ? (int)a->perm[i] : xt->rank - 1 - i;
		effc_rt_ref_transpose(&s, perm, x, y);
		break;
	}
	default: /* reshape-like: the same bytes */
		memcpy(y, x, ny * sizeof(float));
		break;
	}
}

static void fake_quant(const struct effc_qsim *sim, int t, float *v, size_t n)
{
	if (!sim || !sim->act_on || !sim->act_on[t])
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = effc_fake_quantize(v[i], sim->act[t], sim->type);
}

enum effc_status effc_calib_run(const struct effc_graph *g, const float *input, const struct effc_qsim *sim,
				effc_observer fn, void *arg, float *out, struct effc_diag *d)
{
	enum effc_status st = EFFC_OK;
	float **val = calloc((size_t)g->n_t, sizeof(float *));
	int *uses = calloc((size_t)g->n_t, sizeof(int));
	if (!val || !uses) {
		st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory calibrating");
		goto done;
	}
	for (int i = 0; i < g->n_n; i++)
		if (!g->n[i].dead)
			for (int k = 0; k < g->n[i].n_in; k++)
				if (g->n[i].in[k] >= 0)
					uses[g->n[i].in[k]]++;
	const int in = g->inputs[0];
	const size_t n_in = (size_t)effc_tensor_numel(&g->t[in]);
	if (!(val[in] = malloc(n_in * sizeof(float)))) {
		st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory calibrating");
		goto done;
	}
	memcpy(val[in], input, n_in * sizeof(float));
	if (fn)
		fn(arg, in, val[in], n_in);
	fake_quant(sim, in, val[in], n_in);
	for (int i = 0; i < g->n_n && !st; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		if (!effc_calib_supports(g, n)) {
			st = effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "effc quantize cannot run this op in float");
			break;
		}
		const int y = n->out[0];
		const size_t ny = (size_t)effc_tensor_numel(&g->t[y]);
		float *yv = malloc(ny * sizeof(float) + 4);
		if (!yv || (!val[n->in[0]] && !g->t[n->in[0]].data)) {
			free(yv);
			st = yv ? effc_node_fail(d, g, n, EFFC_ERR_INVALID, "input '%s' not computed", g->t[n->in[0]].name)
				: effc_fail(d, EFFC_ERR_NOMEM, "out of memory calibrating");
			break;
		}
		run_node(g, n, sim, val, yv);
		if (fn)
			fn(arg, y, yv, ny);
		fake_quant(sim, y, yv, ny);
		free(val[y]);
		val[y] = yv;
		for (int k = 0; k < n->n_in; k++) {
			int t = n->in[k];
			if (t >= 0 && --uses[t] == 0 && !g->t[t].is_output) {
				free(val[t]);
				val[t] = NULL;
			}
		}
	}
	if (!st && out) {
		const int o = g->outputs[0];
		if (!val[o])
			st = effc_fail(d, EFFC_ERR_INVALID, "%s: output '%s' not computed", g->path, g->t[o].name);
		else
			memcpy(out, val[o], (size_t)effc_tensor_numel(&g->t[o]) * sizeof(float));
	}
done:
	for (int i = 0; val && i < g->n_t; i++)
		free(val[i]);
	free(val);
	free(uses);
	return st;
}
