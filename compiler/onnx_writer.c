/* onnx_writer.c: the parts of an ONNX writer that write_onnx.c and write_qdq.c share. */
#define _POSIX_C_SOURCE 200809L
#include "onnx_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *effc_pbw_alloc(struct effc_pbw *w, size_t n)
{
	void *p = effc_arena_alloc(w->a, n ? n : 1);
	if (!p)
		w->oom = 1;
	return p;
}

static Onnx__AttributeProto *attr(struct effc_pbw *w, const char *name, int type)
{
	Onnx__AttributeProto *a = effc_pbw_alloc(w, sizeof *a);
	if (!a)
		return NULL;
	onnx__attribute_proto__init(a);
	a->name = (char *)name;
	a->has_type = 1;
	a->type = type;
	return a;
}

Onnx__AttributeProto *effc_pbw_attr_int(struct effc_pbw *w, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
	if (a)
		a->has_i = 1, a->i = v;
	return a;
}

Onnx__AttributeProto *effc_pbw_attr_float(struct effc_pbw *w, const char *name, float v)
{
	Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
	if (a)
		a->has_f = 1, a->f = v;
	return a;
}

Onnx__AttributeProto *effc_pbw_attr_ints(struct effc_pbw *w, const char *name, const int64_t *v, size_t n)
{
	Onnx__AttributeProto *a = attr(w, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
	int64_t *c = effc_pbw_alloc(w, n * sizeof *c);
	if (!a || !c)
		return NULL;
	memcpy(c, v, n * sizeof *c);
	a->n_ints = n, a->ints = c;
	return a;
}

Onnx__ValueInfoProto *effc_pbw_value_info(struct effc_pbw *w, const struct effc_tensor *t)
{
	Onnx__ValueInfoProto *vi = effc_pbw_alloc(w, sizeof *vi);
	Onnx__TypeProto *tp = effc_pbw_alloc(w, sizeof *tp);
	Onnx__TypeProto__Tensor *tt = effc_pbw_alloc(w, sizeof *tt);
	Onnx__TensorShapeProto *sp = effc_pbw_alloc(w, sizeof *sp);
	Onnx__TensorShapeProto__Dimension **dims = effc_pbw_alloc(w, sizeof(*dims) * (size_t)(t->rank + 1));
	if (w->oom)
		return NULL;
	onnx__value_info_proto__init(vi);
	onnx__type_proto__init(tp);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(sp);
	for (int i = 0; i < t->rank; i++) {
		if (!(dims[i] = effc_pbw_alloc(w, sizeof **dims)))
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

void effc_pbw_model_init(Onnx__ModelProto *m, Onnx__GraphProto *gp, Onnx__OperatorSetIdProto *os,
			 Onnx__OperatorSetIdProto **osp, int64_t opset, const char *producer, const char *graph_name)
{
	onnx__model_proto__init(m);
	onnx__graph_proto__init(gp);
	onnx__operator_set_id_proto__init(os);
	os->domain = "";
	os->has_version = 1;
	os->version = opset;
	*osp = os;
	m->has_ir_version = 1;
	m->ir_version = 7;
	m->producer_name = (char *)producer;
	m->producer_version = EFFC_VERSION;
	m->n_opset_import = 1;
	m->opset_import = osp;
	m->graph = gp;
	gp->name = (char *)graph_name;
}

enum effc_status effc_pbw_graph_io(struct effc_pbw *w, const struct effc_graph *g, Onnx__GraphProto *gp,
				   const char *path, struct effc_diag *d)
{
	Onnx__ValueInfoProto **ins = effc_pbw_alloc(w, sizeof(*ins) * (size_t)(g->n_inputs + 1));
	Onnx__ValueInfoProto **outs = effc_pbw_alloc(w, sizeof(*outs) * (size_t)(g->n_outputs + 1));
	for (int k = 0; !w->oom && k < g->n_inputs; k++)
		ins[k] = effc_pbw_value_info(w, &g->t[g->inputs[k]]);
	for (int k = 0; !w->oom && k < g->n_outputs; k++)
		outs[k] = effc_pbw_value_info(w, &g->t[g->outputs[k]]);
	if (w->oom)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory writing %s", path);
	gp->n_input = (size_t)g->n_inputs;
	gp->input = ins;
	gp->n_output = (size_t)g->n_outputs;
	gp->output = outs;
	return EFFC_OK;
}

enum effc_status effc_pbw_save(const Onnx__ModelProto *m, const char *path, struct effc_diag *d)
{
	size_t size = onnx__model_proto__get_packed_size(m);
	unsigned char *buf = malloc(size ? size : 1);
	if (!buf)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory writing %s (%zu bytes)", path, size);
	onnx__model_proto__pack(m, buf);
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
