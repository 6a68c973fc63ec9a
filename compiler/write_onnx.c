/* write_onnx.c: IR -> ONNX ModelProto through protobuf-c (the generator's `-o model.onnx`).
 * Writes ONNX-level graphs only (before any pass): the ops the generator makes, with their
 * attributes, float initializers as raw_data, and shaped inputs and outputs. Everything the
 * message points to lives in the graph's arena. */
#define _POSIX_C_SOURCE 200809L
#include "gen.h"
#include "onnx.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct w {
	struct effc_arena *a;
	int oom;
};

static void *alloc(struct w *w, size_t n)
{
	void *p = effc_arena_alloc(w->a, n ? n : 1);
	if (!p)
		w->oom = 1;
	return p;
}

static Onnx__AttributeProto *attr_ints(struct w *w, const char *name, const int64_t *v, size_t n)
{
	Onnx__AttributeProto *a = alloc(w, sizeof *a);
	int64_t *copy = alloc(w, n * sizeof *copy);
	if (!a || !copy)
		return NULL;
	onnx__attribute_proto__init(a);
	a->name = (char *)name;
	a->has_type = 1;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
	memcpy(copy, v, n * sizeof *copy);
	a->n_ints = n;
	a->ints = copy;
	return a;
}

static Onnx__AttributeProto *attr_int(struct w *w, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = alloc(w, sizeof *a);
	if (!a)
		return NULL;
	onnx__attribute_proto__init(a);
	a->name = (char *)name;
	a->has_type = 1;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
	a->has_i = 1;
	a->i = v;
	return a;
}

static Onnx__AttributeProto *attr_float(struct w *w, const char *name, float v)
{
	Onnx__AttributeProto *a = alloc(w, sizeof *a);
	if (!a)
		return NULL;
	onnx__attribute_proto__init(a);
	a->name = (char *)name;
	a->has_type = 1;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
	a->has_f = 1;
	a->f = v;
	return a;
}

static Onnx__ValueInfoProto *value_info(struct w *w, const struct effc_tensor *t)
{
	Onnx__ValueInfoProto *vi = alloc(w, sizeof *vi);
	Onnx__TypeProto *tp = alloc(w, sizeof *tp);
	Onnx__TypeProto__Tensor *tt = alloc(w, sizeof *tt);
	Onnx__TensorShapeProto *sp = alloc(w, sizeof *sp);
	Onnx__TensorShapeProto__Dimension **dims = alloc(w, sizeof(*dims) * (size_t)(t->rank + 1));
	if (w->oom)
		return NULL;
	onnx__value_info_proto__init(vi);
	onnx__type_proto__init(tp);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(sp);
	for (int i = 0; i < t->rank; i++) {
		dims[i] = alloc(w, sizeof **dims);
		if (!dims[i])
			return NULL;
		onnx__tensor_shape_proto__dimension__init(dims[i]);
		dims[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
		dims[i]->dim_value = t->dims[i];
	}
	sp->n_dim = (size_t)t->rank;
	sp->dim = dims;
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	tt->shape = sp;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	vi->name = (char *)t->name;
	vi->type = tp;
	return vi;
}

static Onnx__NodeProto *node_proto(struct w *w, const struct effc_graph *g, const struct effc_node *n)
{
	Onnx__NodeProto *np = alloc(w, sizeof *np);
	char **in = alloc(w, sizeof(char *) * (size_t)(n->n_in + 1));
	char **out = alloc(w, sizeof(char *) * 2);
	Onnx__AttributeProto **at = alloc(w, sizeof(*at) * 6);
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
		at[na++] = attr_ints(w, "kernel_shape", a->kernel, 2);
		at[na++] = attr_ints(w, "strides", a->strides, 2);
		at[na++] = attr_ints(w, "dilations", a->dilations, 2);
		at[na++] = attr_ints(w, "pads", a->pads, 4);
		at[na++] = attr_int(w, "group", a->group);
		break;
	case EFFC_OP_BATCHNORM:
		at[na++] = attr_float(w, "epsilon", a->epsilon);
		at[na++] = attr_float(w, "momentum", 0.9f);
		break;
	case EFFC_OP_GEMM:
		at[na++] = attr_float(w, "alpha", a->alpha);
		at[na++] = attr_float(w, "beta", a->beta);
		at[na++] = attr_int(w, "transA", a->trans_a);
		at[na++] = attr_int(w, "transB", a->trans_b);
		break;
	case EFFC_OP_FLATTEN:
		at[na++] = attr_int(w, "axis", a->axis);
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
	struct w w = {g->arena, 0};
	Onnx__ModelProto m;
	Onnx__GraphProto gp;
	Onnx__OperatorSetIdProto os;
	Onnx__OperatorSetIdProto *osp = &os;
	onnx__model_proto__init(&m);
	onnx__graph_proto__init(&gp);
	onnx__operator_set_id_proto__init(&os);
	os.domain = "";
	os.has_version = 1;
	os.version = g->opset;
	m.has_ir_version = 1;
	m.ir_version = 7;
	m.producer_name = "effc";
	m.producer_version = EFFC_VERSION;
	m.n_opset_import = 1;
	m.opset_import = &osp;
	m.graph = &gp;
	gp.name = "efficientnet";
	Onnx__NodeProto **nodes = alloc(&w, sizeof(*nodes) * (size_t)g->n_n);
	Onnx__TensorProto **inits = alloc(&w, sizeof(*inits) * (size_t)g->n_t);
	if (w.oom)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory writing %s", path);
	unsigned char *used = alloc(&w, (size_t)g->n_t);
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
				Onnx__TensorProto *tp = alloc(&w, sizeof *tp);
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
	Onnx__ValueInfoProto **ins = alloc(&w, sizeof(*ins) * (size_t)(g->n_inputs + 1));
	Onnx__ValueInfoProto **outs = alloc(&w, sizeof(*outs) * (size_t)(g->n_outputs + 1));
	for (int k = 0; !w.oom && k < g->n_inputs; k++)
		ins[k] = value_info(&w, &g->t[g->inputs[k]]);
	for (int k = 0; !w.oom && k < g->n_outputs; k++)
		outs[k] = value_info(&w, &g->t[g->outputs[k]]);
	if (w.oom)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory writing %s", path);
	gp.n_input = (size_t)g->n_inputs;
	gp.input = ins;
	gp.n_output = (size_t)g->n_outputs;
	gp.output = outs;
	size_t size = onnx__model_proto__get_packed_size(&m);
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory writing %s (%zu bytes)", path, size);
	onnx__model_proto__pack(&m, buf);
	/* Temporary sibling, then rename: the file is either complete or untouched. */
	char tmp[4200];
	if (effc_pathf(tmp, sizeof tmp, "%s.effc-tmp", path)) {
		free(buf);
		return effc_fail(d, EFFC_ERR_IO, "%s: path too long", path);
	}
	enum effc_status st = effc_write_file(tmp, buf, size, d);
	free(buf);
	if (st) {
		unlink(tmp);
		return st;
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return effc_fail(d, EFFC_ERR_IO, "%s: cannot move the model into place", path);
	}
	return EFFC_OK;
}
