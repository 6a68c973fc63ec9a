/* shape.c: static shape inference and the shape rules of every op, in node order (ONNX graphs
 * are topologically sorted; the loader already refused inputs used before being produced).
 * Inputs that must be compile-time constants (Reshape's shape, Pad's pads, ...) are read here
 * into the node's attributes so later phases never look at int64 tensors again.
 * Shape-value ops (Shape, Gather, Concat, ...; int64 arithmetic) are evaluated as they are
 * reached, by effc_fold_shape_node() in passes/fold_constants.c, so that a Reshape fed by
 * Shape -> Gather -> Unsqueeze -> Concat finds a constant like any other; reshape-like ops on
 * shape values are evaluated here (a copy of the bytes).
 * Adding an op: one case in infer_node(). */
#include "effc.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define FAIL(...) effc_node_fail(d, g, n, EFFC_ERR_INVALID, __VA_ARGS__)
#define UNSUP(...) effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, __VA_ARGS__)

static struct effc_tensor *in_t(struct effc_graph *g, const struct effc_node *n, int i)
{
	return i < n->n_in && n->in[i] >= 0 ? &g->t[n->in[i]] : NULL;
}

static void set_out(struct effc_graph *g, struct effc_node *n, int rank, const int64_t *dims)
{
	struct effc_tensor *o = &g->t[n->out[0]];
	o->rank = rank;
	for (int i = 0; i < rank; i++)
		o->dims[i] = dims[i];
	o->dtype = EFFC_F32;
}

int effc_node_const_ints(struct effc_graph *g, struct effc_node *n, int idx, int64_t *out, int max, struct effc_diag *d,
			 const char *what)
{
	struct effc_tensor *t = in_t(g, n, idx);
	if (!t)
		return 0;
	if (!t->data) {
		UNSUP("%s '%s' is computed at run time; effc needs it constant", what, t->name);
		return -1;
	}
	if (t->dtype != EFFC_I64 || t->rank > 1) {
		FAIL("%s '%s' must be a 1-D int64 tensor", what, t->name);
		return -1;
	}
	int64_t cnt = effc_tensor_numel(t);
	if (cnt > max) {
		UNSUP("%s '%s' has %" PRId64 " values; at most %d supported", what, t->name, cnt, max);
		return -1;
	}
	memcpy(out, t->data, (size_t)cnt * 8);
	return (int)cnt;
}

static int broadcast(const struct effc_tensor *a, const struct effc_tensor *b, int64_t *dims, int *rank)
{
	int r = a->rank > b->rank ? a->rank : b->rank;
	for (int i = 0; i < r; i++) {
		int ia = i - (r - a->rank), ib = i - (r - b->rank);
		int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
		if (da != db && da != 1 && db != 1)
			return -1;
		dims[i] = da == 1 ? db : da;
	}
	*rank = r;
	return 0;
}

static int norm_axis(int64_t axis, int rank, int64_t *out)
{
	if (axis < -rank || axis >= rank)
		return -1;
	*out = axis < 0 ? axis + rank : axis;
	return 0;
}

static enum effc_status infer_conv(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	struct effc_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 1), *b = in_t(g, n, 2);
	struct effc_attrs *a = &n->a;
	if (!x || !w)
		return FAIL("needs inputs X and W");
	if (x->rank != 4 || w->rank != 4)
		return UNSUP("only 2-D convolution is supported (X is %s, W is %s)", effc_shape_str(g->arena, x),
			     effc_shape_str(g->arena, w));
	if (a->group < 1 || x->dims[1] % a->group || w->dims[0] % a->group)
		return FAIL("group %" PRId64 " does not divide input channels %" PRId64 " and output channels %" PRId64,
			    a->group, x->dims[1], w->dims[0]);
	if (w->dims[1] != x->dims[1] / a->group)
		return FAIL("W is %s but input has %" PRId64 " channels in %" PRId64 " groups", effc_shape_str(g->arena, w),
			    x->dims[1], a->group);
	if (a->kernel[0] == 0)
		a->kernel[0] = w->dims[2], a->kernel[1] = w->dims[3];
	if (a->kernel[0] != w->dims[2] || a->kernel[1] != w->dims[3])
		return FAIL("kernel_shape %" PRId64 "x%" PRId64 " does not match W %s", a->kernel[0], a->kernel[1],
			    effc_shape_str(g->arena, w));
	if (b && (b->rank != 1 || b->dims[0] != w->dims[0]))
		return FAIL("bias is %s, expected %" PRId64, effc_shape_str(g->arena, b), w->dims[0]);
	int64_t out[4] = {x->dims[0], w->dims[0], 0, 0};
	for (int i = 0; i < 2; i++) {
		if (a->strides[i] < 1 || a->dilations[i] < 1 || a->strides[i] > 1024 || a->dilations[i] > 1024)
			return FAIL("strides and dilations must be in 1..1024");
		if (a->kernel[i] < 1 || a->kernel[i] > 1024)
			return FAIL("kernel size must be in 1..1024");
		int64_t in = x->dims[2 + i], k = (a->kernel[i] - 1) * a->dilations[i] + 1, s = a->strides[i];
		if (a->auto_pad == 1 || a->auto_pad == 2) {
			int64_t o = (in + s - 1) / s;
			int64_t total = (o - 1) * s + k - in;
			if (total < 0)
				total = 0;
			int64_t small = total / 2, big = total - small;
			a->pads[i] = a->auto_pad == 1 ? small : big;
			a->pads[i + 2] = a->auto_pad == 1 ? big : small;
		} else if (a->auto_pad == 3) {
			a->pads[i] = a->pads[i + 2] = 0;
		}
		if (a->pads[i] < 0 || a->pads[i + 2] < 0 || a->pads[i] > 4096 || a->pads[i + 2] > 4096)
			return FAIL("pads must be in 0..4096");
		int64_t padded = in + a->pads[i] + a->pads[i + 2];
		if (padded < k)
			return FAIL("kernel %" PRId64 " (dilated) is larger than the padded input %" PRId64, k, padded);
		out[2 + i] = (padded - k) / s + 1;
	}
	set_out(g, n, 4, out);
	return EFFC_OK;
}

/* Ops that only relabel their input's bytes: on a shape value they are evaluated here. */
static int reshape_like(enum effc_op op)
{
	return op == EFFC_OP_RESHAPE || op == EFFC_OP_FLATTEN || op == EFFC_OP_SQUEEZE || op == EFFC_OP_UNSQUEEZE ||
	       op == EFFC_OP_IDENTITY || op == EFFC_OP_DROPOUT;
}

/* A shape value: an int64 constant, or a float one that shape inference itself computed (during
 * shape inference the only ONNX node outputs holding data are those; see effc_fold_shape_node).
 * Float initializers are left to the fold-constants pass. */
static int shape_value(const struct effc_tensor *t)
{
	return t->data && (t->dtype == EFFC_I64 || (t->from_onnx && t->producer < 0));
}

static enum effc_status infer_node(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	struct effc_tensor *x = in_t(g, n, 0);
	struct effc_attrs *a = &n->a;
	int64_t dims[EFFC_MAX_RANK];
	int rank;
	if (!x)
		return FAIL("first input is missing");
	if (x->dtype != EFFC_F32 && n->op != EFFC_OP_RESHAPE && !(reshape_like(n->op) && x->data) &&
	    !(n->op == EFFC_OP_DEQUANTIZELINEAR && x->data)) /* an int32 bias, dequantized by lower-qdq */
		return UNSUP("input '%s' is int64; effc computes in float32 only", x->name);
	for (int i = 1; i < n->n_out; i++) {
		/* Extra outputs exist only in training mode (BatchNormalization) or as Dropout's mask. */
		int o = n->out[i];
		if (o >= 0 && (g->t[o].is_output || g->t[o].n_consumers))
			return UNSUP("output %d ('%s') is a training-mode or mask output", i, g->t[o].name);
	}
	switch (n->op) {
	case EFFC_OP_CONV:
		return infer_conv(g, n, d);
	case EFFC_OP_BATCHNORM:
		if (a->training)
			return UNSUP("training_mode=1 is not supported (inference only)");
		if (x->rank < 2)
			return FAIL("input must have a channel dimension");
		if (n->n_in != 5)
			return FAIL("needs 5 inputs (X, scale, B, mean, var), has %d", n->n_in);
		for (int i = 1; i < 5; i++) {
			struct effc_tensor *p = in_t(g, n, i);
			if (!p || p->rank != 1 || p->dims[0] != x->dims[1])
				return FAIL("input %d must have shape [%" PRId64 "]", i, x->dims[1]);
		}
		set_out(g, n, x->rank, x->dims);
		return EFFC_OK;
	case EFFC_OP_QUANTIZELINEAR:
	case EFFC_OP_DEQUANTIZELINEAR:
		/* Checked and lowered by lower-qdq; the output has x's shape. QuantizeLinear's is
		 * 8-bit, of its zero point's type (uint8 without one). */
		set_out(g, n, x->rank, x->dims);
		if (n->op == EFFC_OP_QUANTIZELINEAR) {
			const struct effc_tensor *zp = n->n_in > 2 && n->in[2] >= 0 ? &g->t[n->in[2]] : NULL;
			g->t[n->out[0]].qtype = zp && zp->qtype ? zp->qtype : 2;
		}
		return EFFC_OK;
	case EFFC_OP_FAKE_QUANT:
	case EFFC_OP_QUANT_VALUES:
	case EFFC_OP_DEQUANT_VALUES:
		set_out(g, n, x->rank, x->dims);
		return EFFC_OK;
	case EFFC_OP_SIGMOID:
	case EFFC_OP_RELU:
	case EFFC_OP_HARDSIGMOID:
	case EFFC_OP_HARDSWISH:
	case EFFC_OP_IDENTITY:
	case EFFC_OP_DROPOUT:
		if (n->op == EFFC_OP_DROPOUT && a->training)
			return UNSUP("training-mode Dropout is not supported");
		if (n->op == EFFC_OP_DROPOUT && n->n_in > 2 && n->in[2] >= 0) {
			struct effc_tensor *tm = in_t(g, n, 2);
			return UNSUP("training_mode input '%s' is given; inference only", tm->name);
		}
		set_out(g, n, x->rank, x->dims);
		return EFFC_OK;
	case EFFC_OP_CLIP:
		for (int i = 1; i < 3 && i < n->n_in; i++) {
			struct effc_tensor *m = in_t(g, n, i);
			if (!m)
				continue;
			if (effc_tensor_numel(m) != 1 || m->dtype != EFFC_F32)
				return FAIL("%s '%s' must be a float scalar", i == 1 ? "min" : "max", m->name);
			if (m->data)
				*(i == 1 ? &a->clip_min : &a->clip_max) = *(const float *)m->data;
		}
		set_out(g, n, x->rank, x->dims);
		return EFFC_OK;
	case EFFC_OP_SOFTMAX:
		if (norm_axis(a->axis, x->rank, &a->axis))
			return FAIL("axis out of range for rank %d", x->rank);
		set_out(g, n, x->rank, x->dims);
		return EFFC_OK;
	case EFFC_OP_MUL:
	case EFFC_OP_ADD:
	case EFFC_OP_SUB:
	case EFFC_OP_DIV: {
		struct effc_tensor *y = in_t(g, n, 1);
		if (!y || n->n_in != 2)
			return FAIL("needs two inputs");
		if (y->dtype != EFFC_F32)
			return UNSUP("input '%s' is int64; effc computes in float32 only", y->name);
		if (broadcast(x, y, dims, &rank))
			return FAIL("shapes %s and %s do not broadcast", effc_shape_str(g->arena, x), effc_shape_str(g->arena, y));
		set_out(g, n, rank, dims);
		return EFFC_OK;
	}
	case EFFC_OP_GLOBALAVGPOOL:
		if (x->rank < 3)
			return FAIL("input must be N x C x spatial, is %s", effc_shape_str(g->arena, x));
		memcpy(dims, x->dims, sizeof dims);
		for (int i = 2; i < x->rank; i++)
			dims[i] = 1;
		set_out(g, n, x->rank, dims);
		return EFFC_OK;
	case EFFC_OP_REDUCEMEAN: {
		if (n->n_in > 1 && n->in[1] >= 0) {
			int k = effc_node_const_ints(g, n, 1, a->axes, EFFC_MAX_RANK, d, "axes");
			if (k < 0)
				return d->status;
			a->n_axes = k;
			a->has_axes = 1;
		}
		int mask[EFFC_MAX_RANK] = {0};
		if (a->n_axes == 0 && a->allowzero) {
			set_out(g, n, x->rank, x->dims);
			return EFFC_OK; /* noop_with_empty_axes */
		}
		for (int i = 0; i < a->n_axes; i++) {
			if (norm_axis(a->axes[i], x->rank, &a->axes[i]))
				return FAIL("axis %" PRId64 " out of range for rank %d", a->axes[i], x->rank);
			if (mask[a->axes[i]]++)
				return FAIL("axis %" PRId64 " is listed twice", a->axes[i]);
		}
		if (a->n_axes == 0)
			for (int i = 0; i < x->rank; i++)
				mask[i] = 1, a->axes[a->n_axes++] = i;
		rank = 0;
		for (int i = 0; i < x->rank; i++)
			if (!mask[i])
				dims[rank++] = x->dims[i];
			else if (a->keepdims)
				dims[rank++] = 1;
		set_out(g, n, rank, dims);
		return EFFC_OK;
	}
	case EFFC_OP_FLATTEN: {
		int64_t ax;
		if (a->axis < -x->rank || a->axis > x->rank)
			return FAIL("axis %" PRId64 " out of range for rank %d", a->axis, x->rank);
		ax = a->axis < 0 ? a->axis + x->rank : a->axis;
		dims[0] = dims[1] = 1;
		for (int i = 0; i < x->rank; i++)
			dims[i < ax ? 0 : 1] *= x->dims[i];
		set_out(g, n, 2, dims);
		return EFFC_OK;
	}
	case EFFC_OP_RESHAPE: {
		int64_t shape[EFFC_MAX_RANK];
		int k = a->n_axes;
		if (n->n_in >= 2 && n->in[1] >= 0) {
			if ((k = effc_node_const_ints(g, n, 1, shape, EFFC_MAX_RANK, d, "shape")) < 0)
				return d->status;
		} else if (k >= 0) {
			memcpy(shape, a->axes, sizeof shape);
		} else {
			return FAIL("needs a shape input");
		}
		int64_t known = 1, numel = effc_tensor_numel(x);
		int infer = -1;
		for (int i = 0; i < k; i++) {
			if (shape[i] == 0 && !a->allowzero) {
				if (i >= x->rank)
					return FAIL("shape[%d] is 0 but the input has rank %d", i, x->rank);
				shape[i] = x->dims[i];
			}
			if (shape[i] == -1) {
				if (infer >= 0)
					return FAIL("shape has more than one -1");
				infer = i;
			} else if (shape[i] < 0) {
				return FAIL("shape[%d] is %" PRId64, i, shape[i]);
			} else {
				if (shape[i] > 0 && known > ((int64_t)1 << 40) / shape[i])
					return FAIL("shape[%d]=%" PRId64 " is too large", i, shape[i]);
				known *= shape[i];
			}
		}
		if (infer >= 0) {
			if (known == 0 || numel % known)
				return FAIL("cannot infer -1: %" PRId64 " elements into %" PRId64, numel, known);
			shape[infer] = numel / known;
		} else if (known != numel) {
			return FAIL("shape has %" PRId64 " elements, input %s has %" PRId64, known, effc_shape_str(g->arena, x), numel);
		}
		set_out(g, n, k, shape);
		return EFFC_OK;
	}
	case EFFC_OP_SQUEEZE:
	case EFFC_OP_UNSQUEEZE: {
		if (n->n_in > 1 && n->in[1] >= 0) {
			int k = effc_node_const_ints(g, n, 1, a->axes, EFFC_MAX_RANK, d, "axes");
			if (k < 0)
				return d->status;
			a->n_axes = k;
		}
		int mask[EFFC_MAX_RANK] = {0};
		if (n->op == EFFC_OP_SQUEEZE) {
			for (int i = 0; i < a->n_axes; i++) {
				if (norm_axis(a->axes[i], x->rank, &a->axes[i]) || x->dims[a->axes[i]] != 1)
					return FAIL("cannot squeeze axis %" PRId64, a->axes[i]);
				mask[a->axes[i]] = 1;
			}
			rank = 0;
			for (int i = 0; i < x->rank; i++)
				if (!(a->n_axes ? mask[i] : x->dims[i] == 1))
					dims[rank++] = x->dims[i];
		} else {
			rank = x->rank + a->n_axes;
			if (rank > EFFC_MAX_RANK)
				return UNSUP("result rank %d exceeds %d", rank, EFFC_MAX_RANK);
			for (int i = 0; i < a->n_axes; i++) {
				if (norm_axis(a->axes[i], rank, &a->axes[i]) || mask[a->axes[i]])
					return FAIL("bad axis %" PRId64, a->axes[i]);
				mask[a->axes[i]] = 1;
			}
			for (int i = 0, j = 0; i < rank; i++)
				dims[i] = mask[i] ? 1 : x->dims[j++];
		}
		set_out(g, n, rank, dims);
		return EFFC_OK;
	}
	case EFFC_OP_GEMM: {
		struct effc_tensor *b = in_t(g, n, 1), *c = in_t(g, n, 2);
		if (!b || x->rank != 2 || b->rank != 2)
			return FAIL("A and B must be 2-D (A is %s)", effc_shape_str(g->arena, x));
		int64_t m = a->trans_a ? x->dims[1] : x->dims[0], k = a->trans_a ? x->dims[0] : x->dims[1];
		int64_t kb = a->trans_b ? b->dims[1] : b->dims[0], nn = a->trans_b ? b->dims[0] : b->dims[1];
		if (k != kb)
			return FAIL("inner dimensions differ: A %s, B %s", effc_shape_str(g->arena, x), effc_shape_str(g->arena, b));
		dims[0] = m, dims[1] = nn;
		if (c) {
			struct effc_tensor mn = {.rank = 2, .dims = {m, nn}};
			int64_t bd[EFFC_MAX_RANK];
			int br;
			if (c->rank > 2 || broadcast(&mn, c, bd, &br) || bd[0] != m || bd[1] != nn)
				return FAIL("C %s does not broadcast to %" PRId64 "x%" PRId64, effc_shape_str(g->arena, c), m, nn);
		}
		set_out(g, n, 2, dims);
		return EFFC_OK;
	}
	case EFFC_OP_MATMUL: {
		struct effc_tensor *b = in_t(g, n, 1);
		if (!b)
			return FAIL("needs two inputs");
		if (x->rank < 1 || b->rank < 1)
			return FAIL("inputs must have rank >= 1");
		struct effc_tensor ab = *x, bb = *b;
		if (ab.rank == 1)
			ab.rank = 2, ab.dims[1] = ab.dims[0], ab.dims[0] = 1;
		if (bb.rank == 1)
			bb.rank = 2, bb.dims[1] = 1;
		if (ab.dims[ab.rank - 1] != bb.dims[bb.rank - 2])
			return FAIL("inner dimensions differ: %s x %s", effc_shape_str(g->arena, x), effc_shape_str(g->arena, b));
		struct effc_tensor ba = ab, bbb = bb;
		ba.rank -= 2, bbb.rank -= 2;
		if (broadcast(&ba, &bbb, dims, &rank))
			return FAIL("batch dimensions do not broadcast");
		if (x->rank > 1)
			dims[rank++] = ab.dims[ab.rank - 2];
		if (b->rank > 1)
			dims[rank++] = bb.dims[bb.rank - 1];
		set_out(g, n, rank, dims);
		return EFFC_OK;
	}
	case EFFC_OP_TRANSPOSE: {
		int seen[EFFC_MAX_RANK] = {0};
		if (a->n_perm < 0) {
			a->n_perm = x->rank;
			for (int i = 0; i < x->rank; i++)
				a->perm[i] = x->rank - 1 - i;
		}
		if (a->n_perm != x->rank)
			return FAIL("perm has %d entries for rank %d", a->n_perm, x->rank);
		for (int i = 0; i < x->rank; i++) {
			if (a->perm[i] < 0 || a->perm[i] >= x->rank || seen[a->perm[i]]++)
				return FAIL("perm is not a permutation");
			dims[i] = x->dims[a->perm[i]];
		}
		set_out(g, n, x->rank, dims);
		return EFFC_OK;
	}
	case EFFC_OP_PAD: {
		int k = a->n_perm; /* attribute form */
		if (n->n_in > 1 && n->in[1] >= 0) {
			k = effc_node_const_ints(g, n, 1, a->pad_pads, 2 * EFFC_MAX_RANK, d, "pads");
			if (k < 0)
				return d->status;
		}
		if (n->n_in > 2 && n->in[2] >= 0) {
			struct effc_tensor *cv = in_t(g, n, 2);
			if (!cv->data || cv->dtype != EFFC_F32 || effc_tensor_numel(cv) != 1)
				return UNSUP("constant_value '%s' must be a constant float scalar", cv->name);
			a->pad_value = *(const float *)cv->data;
		}
		if (n->n_in > 3 && n->in[3] >= 0)
			return UNSUP("the axes input of Pad is not supported");
		if (k != 2 * x->rank)
			return FAIL("pads has %d values for rank %d", k, x->rank);
		for (int i = 0; i < x->rank; i++) {
			const int64_t b = a->pad_pads[i], e = a->pad_pads[i + x->rank];
			if (b < -65536 || b > 65536 || e < -65536 || e > 65536)
				return FAIL("pads %" PRId64 ", %" PRId64 " on axis %d are outside -65536..65536", b, e, i);
			dims[i] = x->dims[i] + b + e;
			if (dims[i] < 0)
				return FAIL("pads give a negative size on axis %d", i);
		}
		set_out(g, n, x->rank, dims);
		return EFFC_OK;
	}
	case EFFC_OP_SHAPE: /* evaluated by effc_fold_shape_node() before this */
	case EFFC_OP_SIZE:
	case EFFC_OP_GATHER:
	case EFFC_OP_CONCAT:
	case EFFC_OP_SLICE:
	case EFFC_OP_CAST:
	case EFFC_OP_CONSTANTOFSHAPE:
	case EFFC_OP_RANGE:
	case EFFC_OP_EXPAND:
	case EFFC_OP_EQUAL:
	case EFFC_OP_LESS:
	case EFFC_OP_GREATER:
	case EFFC_OP_LESSOREQUAL:
	case EFFC_OP_GREATEROREQUAL:
	case EFFC_OP_NOT:
	case EFFC_OP_WHERE:
	case EFFC_OP_NEG:
	case EFFC_OP_ABS:
	case EFFC_OP_FLOOR:
	case EFFC_OP_CEIL:
	case EFFC_OP_REDUCEPROD:
	case EFFC_OP_FULLY_CONNECTED:
	case EFFC_OP_SWISH:
	case EFFC_OP_SCALE_BIAS:
	case EFFC_OP_SE:
	case EFFC_OP_SE_GATE:
	case EFFC_OP_EXPAND_DW:
	case EFFC_OP_CONV_PROJECT:
	case EFFC_OP_MBCONV_PROJECT:
	case EFFC_OP_Q8_QUANTIZE:
	case EFFC_OP_Q8_DEQUANTIZE:
	case EFFC_OP_Q8_CONV:
	case EFFC_OP_Q8_LUT:
	case EFFC_OP_Q8_ADD:
	case EFFC_OP_Q8_MUL:
	case EFFC_OP_Q8_GAP:
	case EFFC_OP_TO_NHWC:
	case EFFC_OP_TO_NCHW:
	case EFFC_OP_COUNT:
		break;
	}
	return FAIL("no shape rule");
}

enum effc_status effc_infer_shapes(struct effc_graph *g, struct effc_diag *d)
{
	int n_folded = 0;
	effc_graph_count_uses(g);
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		int folded;
		enum effc_status st = effc_fold_shape_node(g, n, &folded, d);
		if (st)
			return st;
		if (folded) {
			n_folded++;
			continue; /* a compile-time value; it may be empty (a Shape of a scalar, say) */
		}
		if ((st = infer_node(g, n, d)))
			return st;
		struct effc_tensor *o = &g->t[n->out[0]], *x = &g->t[n->in[0]];
		if (reshape_like(n->op) && shape_value(x)) {
			o->dtype = x->dtype;
			if (!(o->data = effc_arena_alloc(g->arena, effc_tensor_bytes(o) + 8)))
				return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
			memcpy(o->data, x->data, effc_tensor_bytes(o));
			o->producer = -1;
			n->dead = 1;
			n_folded++;
			continue;
		}
		int64_t numel = 1;
		for (int k = 0; k < o->rank; k++) {
			if (o->dims[k] <= 0)
				return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "output '%s' has an empty dimension (%s)",
						      o->name, effc_shape_str(g->arena, o));
			if (numel > ((int64_t)1 << 40) / o->dims[k])
				return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "output '%s' is too large", o->name);
			numel *= o->dims[k];
		}
	}
	if (n_folded)
		effc_graph_count_uses(g); /* the evaluated nodes read nothing at run time */
	return EFFC_OK;
}
