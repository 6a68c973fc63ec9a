/* onnx_writer.h: what write_onnx.c (`effc gen -o`) and write_qdq.c (`effc quantize`) share when
 * they build an ONNX ModelProto through protobuf-c: arena allocation that remembers running out,
 * attributes, float value_infos, the graph's inputs and outputs, and the atomic save. Everything
 * the message points to lives in the arena. */
#ifndef EFFC_ONNX_WRITER_H
#define EFFC_ONNX_WRITER_H
#include "effc.h"
#include "onnx.pb-c.h"

struct effc_pbw {
	struct effc_arena *a;
	int oom; /* set by any allocation that failed */
};
void *effc_pbw_alloc(struct effc_pbw *w, size_t n);
/* Attributes; NULL (and w->oom) when out of memory. */
Onnx__AttributeProto *effc_pbw_attr_int(struct effc_pbw *w, const char *name, int64_t v);
Onnx__AttributeProto *effc_pbw_attr_float(struct effc_pbw *w, const char *name, float v);
Onnx__AttributeProto *effc_pbw_attr_ints(struct effc_pbw *w, const char *name, const int64_t *v, size_t n);
/* A float tensor's value_info with its static shape. */
Onnx__ValueInfoProto *effc_pbw_value_info(struct effc_pbw *w, const struct effc_tensor *t);
/* A model of one graph gp under the default domain at `opset`, IR version 7. os is the opset
 * entry and osp the one-element list that m points to (the caller owns all four). */
void effc_pbw_model_init(Onnx__ModelProto *m, Onnx__GraphProto *gp, Onnx__OperatorSetIdProto *os,
			 Onnx__OperatorSetIdProto **osp, int64_t opset, const char *producer, const char *graph_name);
/* gp's inputs and outputs: the graph's, as float value_infos. */
enum effc_status effc_pbw_graph_io(struct effc_pbw *w, const struct effc_graph *g, Onnx__GraphProto *gp,
				   const char *path, struct effc_diag *d);
/* Packs m and writes it to path through a temporary sibling renamed into place, so the file is
 * either complete or untouched. */
enum effc_status effc_pbw_save(const Onnx__ModelProto *m, const char *path, struct effc_diag *d);

#endif
