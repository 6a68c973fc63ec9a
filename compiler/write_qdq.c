/* write_qdq.c: the quantized model as standard ONNX QDQ, through protobuf-c.
 *
 * The layout is the one ONNX Runtime's quantize_static(QuantFormat.QDQ, per_channel=True)
 * writes: each quantized activation T gets T_QuantizeLinear (T -> T_quantized) and
 * T_DequantizeLinear (-> T_dequantized) right after its producer, and every reader reads
 * T_dequantized; a quantized node's weights are int8 initializers (W_quantized, per-channel
 * W_scale, zero W_zero_point) behind a DequantizeLinear with `axis`, its bias int32 at
 * s_in * s_w behind another. Inputs and outputs stay float (a quantized graph output is
 * dequantized back into its own name). Nodes are written in opset-13 form whatever the source
 * opset: reshape-like ops as Reshape to their inferred shape, Clip's bounds as inputs. */
#define _POSIX_C_SOURCE 200809L
#include "quantize.h"
#include "onnx_writer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct w {
	const struct effc_qplan *p;
	struct effc_pbw pb;
	Onnx__NodeProto **nodes;
	size_t n_nodes, cap_nodes;
	Onnx__TensorProto **inits;
	size_t n_inits, cap_inits;
	size_t bytes;
};

static void *alloc(struct w *w, size_t n)
{
	return effc_pbw_alloc(&w->pb, n);
}

static char *pf(struct w *w, const char *a, const char *b)
{
	char *s = effc_arena_printf(w->pb.a, "%s%s", a, b);
	if (!s)
		w->pb.oom = 1;
	return s;
}

static int grow(struct w *w, void ***arr, size_t n, size_t *cap)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 256;
	void **na = alloc(w, nc * sizeof(void *));
	if (!na)
		return -1;
	if (*arr)
		memcpy(na, *arr, n * sizeof(void *));
	*arr = na, *cap = nc;
	return 0;
}

/* An initializer; data is copied into the arena (little-endian hosts, as ONNX itself). */
static const char *init(struct w *w, const char *name, int type, int rank, const int64_t *dims, const void *data,
			size_t elem)
{
	Onnx__TensorProto *t = alloc(w, sizeof *t);
	int64_t *d = alloc(w, sizeof(int64_t) * (size_t)(rank + 1));
	size_t n = 1;
	for (int i = 0; i < rank; i++)
		n *= (size_t)dims[i];
	void *copy = alloc(w, n * elem);
	if (w->pb.oom || grow(w, (void ***)&w->inits, w->n_inits, &w->cap_inits))
		return name;
	onnx__tensor_proto__init(t);
	if (rank)
		memcpy(d, dims, sizeof(int64_t) * (size_t)rank);
	memcpy(copy, data, n * elem);
	t->name = (char *)name;
	t->n_dims = (size_t)rank;
	t->dims = d;
	t->has_data_type = 1;
	t->data_type = type;
	t->has_raw_data = 1;
	t->raw_data.len = n * elem;
	t->raw_data.data = copy;
	w->inits[w->n_inits++] = t;
	w->bytes += n * elem;
	return name;
}


static Onnx__NodeProto *node(struct w *w, const char *name, const char *op, int n_in, const char *const *in,
			     const char *out)
{
	Onnx__NodeProto *np = alloc(w, sizeof *np);
	char **i = alloc(w, sizeof(char *) * (size_t)(n_in + 1));
	char **o = alloc(w, sizeof(char *));
	Onnx__AttributeProto **at = alloc(w, sizeof(*at) * 6);
	if (w->pb.oom || grow(w, (void ***)&w->nodes, w->n_nodes, &w->cap_nodes))
		return NULL;
	onnx__node_proto__init(np);
	np->name = (char *)name;
	np->op_type = (char *)op;
	for (int k = 0; k < n_in; k++)
		i[k] = (char *)in[k];
	np->n_input = (size_t)n_in;
	np->input = i;
	o[0] = (char *)out;
	np->n_output = 1;
	np->output = o;
	np->attribute = at;
	w->nodes[w->n_nodes++] = np;
	return np;
}

static void add_attr(Onnx__NodeProto *np, Onnx__AttributeProto *a)
{
	if (np && a)
		np->attribute[np->n_attribute++] = a;
}

static int qtype(const struct effc_qplan *p)
{
	return p->type == EFFC_QTYPE_UINT8 ? ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 : ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
}

/* The name a tensor is produced under, and the name its readers read. */
static const char *produced_name(struct w *w, int t)
{
	const struct effc_tensor *x = &w->p->g->t[t];
	return w->p->act_on[t] && x->is_output ? pf(w, x->name, "_float") : x->name;
}
static const char *read_name(struct w *w, int t)
{
	const struct effc_tensor *x = &w->p->g->t[t];
	if (!w->p->act_on[t] || x->data)
		return x->name;
	return x->is_output ? x->name : pf(w, x->name, "_dequantized");
}

static void qdq_pair(struct w *w, int t)
{
	const struct effc_qplan *p = w->p;
	const struct effc_tensor *x = &p->g->t[t];
	const char *s = init(w, pf(w, x->name, "_scale"), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL,
			     &p->act[t].scale, sizeof(float));
	const char *z;
	if (p->type == EFFC_QTYPE_UINT8) {
		uint8_t v = (uint8_t)p->act[t].zero_point;
		z = init(w, pf(w, x->name, "_zero_point"), qtype(p), 0, NULL, &v, 1);
	} else {
		int8_t v = (int8_t)p->act[t].zero_point;
		z = init(w, pf(w, x->name, "_zero_point"), qtype(p), 0, NULL, &v, 1);
	}
	const char *q = pf(w, x->name, "_quantized");
	node(w, pf(w, x->name, "_QuantizeLinear"), "QuantizeLinear", 3, (const char *[]){produced_name(w, t), s, z}, q);
	node(w, pf(w, x->name, "_DequantizeLinear"), "DequantizeLinear", 3, (const char *[]){q, s, z}, read_name(w, t));
}

/* DequantizeLinear of a quantized weight or bias; returns the name the node reads. */
static const char *weight_dq(struct w *w, const char *base, const struct effc_tensor *t, int type, const void *q,
			     size_t elem, const float *scale, int n_scale, int axis)
{
	int64_t ns = n_scale;
	const char *qn = init(w, pf(w, base, "_quantized"), type, t->rank, t->dims, q, elem);
	const char *sn = init(w, pf(w, base, "_scale"), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, n_scale > 1, &ns, scale,
			      sizeof(float));
	void *zeros = alloc(w, (size_t)n_scale * elem);
	if (!zeros)
		return base;
	const char *zn = init(w, pf(w, base, "_zero_point"), type, n_scale > 1, &ns, zeros, elem);
	const char *out = pf(w, base, "_dequantized");
	Onnx__NodeProto *np =
		node(w, pf(w, base, "_DequantizeLinear"), "DequantizeLinear", 3, (const char *[]){qn, sn, zn}, out);
	if (n_scale > 1)
		add_attr(np, effc_pbw_attr_int(&w->pb, "axis", axis));
	return out;
}

static enum effc_status write_node(struct w *w, int i, unsigned char *inited, struct effc_diag *d)
{
	const struct effc_qplan *p = w->p;
	const struct effc_graph *g = p->g;
	const struct effc_node *n = &g->n[i];
	const struct effc_qweights *qw = p->w[i];
	const char *in[8];
	int n_in = n->n_in;
	const char *op = effc_op_name(n->op);
	for (int k = 0; k < n->n_in; k++) {
		int t = n->in[k];
		if (t < 0) {
			in[k] = "";
			continue;
		}
		const struct effc_tensor *x = &g->t[t];
		if (qw && k == 1) {
			in[k] = weight_dq(w, pf(w, n->name, ".weight"), x, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, qw->q, 1,
					  qw->scale, qw->n_scale, qw->axis);
		} else if (qw && k == 2 && qw->qbias) {
			in[k] = weight_dq(w, pf(w, n->name, ".bias"), x, ONNX__TENSOR_PROTO__DATA_TYPE__INT32, qw->qbias, 4,
					  qw->bias_scale, (int)x->dims[0], 0);
		} else if (x->data) {
			if (!inited[t]) {
				inited[t] = 1;
				init(w, x->name, x->dtype == EFFC_I64 ? ONNX__TENSOR_PROTO__DATA_TYPE__INT64 : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
				     x->rank, x->dims, x->data, x->dtype == EFFC_I64 ? 8 : 4);
			}
			in[k] = x->name;
		} else {
			in[k] = read_name(w, t);
		}
	}
	const struct effc_tensor *y = &g->t[n->out[0]];
	const char *out = produced_name(w, n->out[0]);
	const struct effc_attrs *a = &n->a;
	Onnx__NodeProto *np = NULL;
	switch (n->op) {
	case EFFC_OP_CONV:
		np = node(w, n->name, op, n_in, in, out);
		add_attr(np, effc_pbw_attr_ints(&w->pb, "kernel_shape", a->kernel, 2));
		add_attr(np, effc_pbw_attr_ints(&w->pb, "strides", a->strides, 2));
		add_attr(np, effc_pbw_attr_ints(&w->pb, "dilations", a->dilations, 2));
		add_attr(np, effc_pbw_attr_ints(&w->pb, "pads", a->pads, 4));
		add_attr(np, effc_pbw_attr_int(&w->pb, "group", a->group));
		break;
	case EFFC_OP_GEMM:
		np = node(w, n->name, op, n_in, in, out);
		add_attr(np, effc_pbw_attr_float(&w->pb, "alpha", a->alpha));
		add_attr(np, effc_pbw_attr_float(&w->pb, "beta", a->beta));
		add_attr(np, effc_pbw_attr_int(&w->pb, "transA", a->trans_a));
		add_attr(np, effc_pbw_attr_int(&w->pb, "transB", a->trans_b));
		break;
	case EFFC_OP_HARDSIGMOID:
		np = node(w, n->name, op, 1, in, out);
		add_attr(np, effc_pbw_attr_float(&w->pb, "alpha", a->alpha));
		add_attr(np, effc_pbw_attr_float(&w->pb, "beta", a->beta));
		break;
	case EFFC_OP_CLIP: {
		/* Opset 13: bounds are inputs. */
		const char *b[3] = {in[0], "", ""};
		for (int k = 0; k < 2; k++) {
			float v = k ? a->clip_max : a->clip_min;
			if (isfinite(v))
				b[k + 1] = init(w, pf(w, n->name, k ? "_max" : "_min"), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0,
						NULL, &v, 4);
		}
		np = node(w, n->name, op, b[2][0] ? 3 : b[1][0] ? 2 : 1, b, out);
		break;
	}
	case EFFC_OP_REDUCEMEAN:
		np = node(w, n->name, op, 1, in, out);
		if (a->n_axes)
			add_attr(np, effc_pbw_attr_ints(&w->pb, "axes", a->axes, (size_t)a->n_axes));
		add_attr(np, effc_pbw_attr_int(&w->pb, "keepdims", a->keepdims));
		break;
	case EFFC_OP_SOFTMAX:
		if (a->opset < 13 && a->axis != g->t[n->in[0]].rank - 1)
			return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "Softmax before opset 13 over axis %d of %d",
					      (int)a->axis, g->t[n->in[0]].rank);
		np = node(w, n->name, op, 1, in, out);
		add_attr(np, effc_pbw_attr_int(&w->pb, "axis", a->axis));
		break;
	case EFFC_OP_TRANSPOSE:
		np = node(w, n->name, op, 1, in, out);
		if (a->n_perm)
			add_attr(np, effc_pbw_attr_ints(&w->pb, "perm", a->perm, (size_t)a->n_perm));
		break;
	case EFFC_OP_FLATTEN:
	case EFFC_OP_RESHAPE:
	case EFFC_OP_SQUEEZE:
	case EFFC_OP_UNSQUEEZE:
	case EFFC_OP_IDENTITY:
	case EFFC_OP_DROPOUT: {
		int64_t r = y->rank;
		const char *s = init(w, pf(w, n->name, "_shape"), ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, &r, y->dims, 8);
		np = node(w, n->name, "Reshape", 2, (const char *[]){in[0], s}, out);
		break;
	}
	case EFFC_OP_ADD:
	case EFFC_OP_SUB:
	case EFFC_OP_MUL:
	case EFFC_OP_DIV:
	case EFFC_OP_MATMUL:
	case EFFC_OP_SIGMOID:
	case EFFC_OP_RELU:
	case EFFC_OP_HARDSWISH:
	case EFFC_OP_GLOBALAVGPOOL:
		np = node(w, n->name, op, n_in, in, out);
		break;
	default:
		return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "effc quantize cannot write this op");
	}
	return w->pb.oom ? effc_fail(d, EFFC_ERR_NOMEM, "out of memory writing the QDQ model") : EFFC_OK;
}

enum effc_status effc_write_qdq(const struct effc_qplan *p, const char *path, size_t *bytes, struct effc_diag *d)
{
	const struct effc_graph *g = p->g;
	struct w w = {.p = p, .pb = {g->arena, 0}};
	enum effc_status st = EFFC_OK;
	unsigned char *inited = calloc((size_t)g->n_t + 1, 1);
	if (!inited)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory writing %s", path);
	for (int k = 0; k < g->n_inputs; k++)
		if (p->act_on[g->inputs[k]])
			qdq_pair(&w, g->inputs[k]);
	for (int i = 0; i < g->n_n && !st; i++) {
		if (g->n[i].dead)
			continue;
		st = write_node(&w, i, inited, d);
		if (!st && p->act_on[g->n[i].out[0]])
			qdq_pair(&w, g->n[i].out[0]);
	}
	free(inited);
	if (st)
		return st;
	Onnx__ModelProto m;
	Onnx__GraphProto gp;
	Onnx__OperatorSetIdProto os, *osp;
	effc_pbw_model_init(&m, &gp, &os, &osp, 13, "effc quantize", "quantized");
	gp.node = w.nodes;
	gp.n_node = w.n_nodes;
	gp.initializer = w.inits;
	gp.n_initializer = w.n_inits;
	if ((st = effc_pbw_graph_io(&w.pb, g, &gp, path, d)) || (st = effc_pbw_save(&m, path, d)))
		return st;
	*bytes = w.bytes;
	return EFFC_OK;
}
