/* write_onnx.c: IR -> ONNX ModelProto through protobuf-c (the generator's `-o model.onnx`).
 * Writes ONNX-level graphs only (before any pass): the ops the generator makes, with their
 * attributes, float initializers as raw_data, and shaped inputs and outputs. Everything the
 * message points to lives in the graph's arena. */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"
#include "onnx_writer.h"

#include <string.h>

static Onnx__NodeProto *node_proto(struct effc_pbw *w, const struct effc_graph *g, const struct effc_node *n)
{
	Onnx__NodeProto *np = effc_pbw_alloc(w, sizeof *np);
	char **in = effc_pbw_alloc(w, sizeof(char *) * (size_t)(n->n_in + 1));
	char **out = effc_pbw_alloc(w, sizeof(char *) * 2);
	Onnx__AttributeProto **at = effc_pbw_alloc(w, sizeof(*at) * 6);
	if (w->oom)
		return NULL;
	onnx__node_proto__init(np);
	np->name = (char *)n->name;
	np->op_type = (char *)effc_op_name(n->op);
	for (int k = 0; k < n->n_in; k++)
		in[k] = (char *)(n->in[k] >= 0 ? g->t[n->in[k]].name : "");
	np->n_input = (size_t)n->n_in;
	np->input = in;
	out[0] = (char *)g->t[n->out[0]].name;
	np->n_output = 1;
	np->output = out;
	size_t na = 0;
	const struct effc_attrs *a = &n->a;
	switch (n->op) {
	case EFFC_OP_CONV:
		at[na++] = effc_pbw_attr_ints(w, "kernel_shape", a->kernel, 2);
		at[na++] = effc_pbw_attr_ints(w, "strides", a->strides, 2);
		at[na++] = effc_pbw_attr_ints(w, "dilations", a->dilations, 2);
		at[na++] = effc_pbw_attr_ints(w, "pads", a->pads, 4);
		at[na++] = effc_pbw_attr_int(w, "group", a->group);
		break;
	case EFFC_OP_BATCHNORM:
		at[na++] = effc_pbw_attr_float(w, "epsilon", a->epsilon);
		at[na++] = effc_pbw_attr_float(w, "momentum", 0.9f);
		break;
	case EFFC_OP_GEMM:
		at[na++] = effc_pbw_attr_float(w, "alpha", a->alpha);
		at[na++] = effc_pbw_attr_float(w, "beta", a->beta);
		at[na++] = effc_pbw_attr_int(w, "transA", a->trans_a);
		at[na++] = effc_pbw_attr_int(w, "transB", a->trans_b);
		break;
	case EFFC_OP_FLATTEN:
		at[na++] = effc_pbw_attr_int(w, "axis", a->axis);
		break;
	default:
		break;
	}
	np->n_attribute = na;
	np->attribute = at;
	return w->oom ? NULL : np;
}

enum effc_status effc_write_onnx(const struct effc_graph *g, const char *path, struct effc_diag *d)
{
	struct effc_pbw w = {g->arena, 0};
	Onnx__ModelProto m;
	Onnx__GraphProto gp;
	Onnx__OperatorSetIdProto os, *osp;
	effc_pbw_model_init(&m, &gp, &os, &osp, g->opset, "effc", "efficientnet");
	Onnx__NodeProto **nodes = effc_pbw_alloc(&w, sizeof(*nodes) * (size_t)g->n_n);
	Onnx__TensorProto **inits = effc_pbw_alloc(&w, sizeof(*inits) * (size_t)g->n_t);
	if (w.oom)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory writing %s", path);
	unsigned char *used = effc_pbw_alloc(&w, (size_t)g->n_t);
	for (int i = 0; i < g->n_n && !w.oom; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		if (n->op >= EFFC_OP_FULLY_CONNECTED)
			return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "only ONNX-level graphs can be written");
		nodes[gp.n_node++] = node_proto(&w, g, n);
		for (int k = 0; k < n->n_in; k++)
			if (n->in[k] >= 0 && g->t[n->in[k]].data && !used[n->in[k]]) {
				const struct effc_tensor *t = &g->t[n->in[k]];
				Onnx__TensorProto *tp = effc_pbw_alloc(&w, sizeof *tp);
				if (!tp)
					break;
				onnx__tensor_proto__init(tp);
				tp->name = (char *)t->name;
				tp->n_dims = (size_t)t->rank;
				tp->dims = (int64_t *)t->dims;
				tp->has_data_type = 1;
				tp->data_type = t->dtype == EFFC_I64 ? ONNX__TENSOR_PROTO__DATA_TYPE__INT64 : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
				tp->has_raw_data = 1;
				tp->raw_data.len = effc_tensor_bytes(t); /* little-endian hosts only, as ONNX itself */
				tp->raw_data.data = t->data;
				inits[gp.n_initializer++] = tp;
				used[n->in[k]] = 1;
			}
	}
	gp.node = nodes;
	gp.initializer = inits;
	enum effc_status st = effc_pbw_graph_io(&w, g, &gp, path, d);
	return st ? st : effc_pbw_save(&m, path, d);
}
