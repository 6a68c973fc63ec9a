/* fold_constants.c: evaluate nodes whose inputs are all constants.
 *
 * Pattern: a node of an elementwise, reshape-like, Transpose or BatchNormalization op whose
 * present inputs are all initializers (or earlier folded results).
 * Result: its output becomes a constant computed with the runtime's reference kernels (the
 * same code the portable runtime path runs), and the node dies.
 * Preconditions: shapes inferred, before layout (everything in ONNX order).
 *
 * Shape subgraphs (Shape, Gather, Concat, ... on int64 values) are not this pass's: shape
 * inference evaluates them with effc_fold_shape_node(), at the end of this file, because the
 * shape rules after them need their values. */
#include "../effc.h"
#include "effc_rt.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static void pad_shape(const struct effc_tensor *t, int rank, size_t *out)
{
	for (int i = 0; i < rank; i++)
		out[i] = i < rank - t->rank ? 1 : (size_t)t->dims[i - (rank - t->rank)];
}

static int foldable(const struct effc_graph *g, const struct effc_node *n)
{
	switch (n->op) {
	case EFFC_OP_ADD: case EFFC_OP_SUB: case EFFC_OP_MUL: case EFFC_OP_DIV:
	case EFFC_OP_SIGMOID: case EFFC_OP_RELU: case EFFC_OP_CLIP: case EFFC_OP_HARDSIGMOID:
	case EFFC_OP_HARDSWISH: case EFFC_OP_TRANSPOSE: case EFFC_OP_BATCHNORM: case EFFC_OP_FLATTEN:
	case EFFC_OP_RESHAPE: case EFFC_OP_SQUEEZE: case EFFC_OP_UNSQUEEZE: case EFFC_OP_IDENTITY:
	case EFFC_OP_DROPOUT:
		break;
	default:
		return 0;
	}
	for (int k = 0; k < n->n_in; k++)
		if (n->in[k] >= 0 && !g->t[n->in[k]].data)
			return 0;
	return g->t[n->in[0]].dtype == EFFC_F32 && g->t[n->out[0]].rank <= EFFC_RT_MAX_RANK;
}

enum effc_status effc_pass_fold_constants(struct effc_graph *g, struct effc_diag *d)
{
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead || !foldable(g, n))
			continue;
		struct effc_tensor *y = &g->t[n->out[0]], *x = &g->t[n->in[0]];
		float *out = effc_arena_alloc(g->arena, effc_tensor_bytes(y));
		if (!out)
			return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory folding '%s'", g->path, n->name);
		const float *in = x->data;
		size_t numel = (size_t)effc_tensor_numel(y);
		switch (n->op) {
		case EFFC_OP_ADD: case EFFC_OP_SUB: case EFFC_OP_MUL: case EFFC_OP_DIV: {
			struct effc_rt_binary p = {.op = n->op == EFFC_OP_ADD ? EFFC_RT_ADD : n->op == EFFC_OP_SUB ? EFFC_RT_SUB
							 : n->op == EFFC_OP_MUL ? EFFC_RT_MUL : EFFC_RT_DIV,
						   .rank = y->rank ? y->rank : 1, .out_min = -INFINITY, .out_max = INFINITY};
			pad_shape(x, p.rank, p.a_shape);
			pad_shape(&g->t[n->in[1]], p.rank, p.b_shape);
			effc_rt_ref_binary(&p, in, g->t[n->in[1]].data, out);
			break;
		}
		case EFFC_OP_SIGMOID: case EFFC_OP_RELU: case EFFC_OP_CLIP: case EFFC_OP_HARDSIGMOID: case EFFC_OP_HARDSWISH: {
			struct effc_rt_unary p = {.rows = 1, .channels = numel, .alpha = n->a.alpha, .beta = n->a.beta,
						  .min = n->op == EFFC_OP_RELU ? 0.0f : -INFINITY, .max = INFINITY};
			p.op = n->op == EFFC_OP_SIGMOID ? EFFC_RT_SIGMOID : n->op == EFFC_OP_HARDSIGMOID ? EFFC_RT_HARDSIGMOID
			     : n->op == EFFC_OP_HARDSWISH ? EFFC_RT_HARDSWISH : n->op == EFFC_OP_CLIP ? EFFC_RT_CLAMP_DYN
			     : EFFC_RT_CLAMP;
			float lo = n->a.clip_min, hi = n->a.clip_max;
			effc_rt_ref_unary(&p, in, out, &lo, &hi);
			break;
		}
		case EFFC_OP_TRANSPOSE: {
			struct effc_rt_shape s = {.rank = x->rank};
			int perm[EFFC_RT_MAX_RANK];
			for (int k = 0; k < x->rank; k++)
				s.dims[k] = (size_t)x->dims[k], perm[k] = (int)n->a.perm[k];
			effc_rt_ref_transpose(&s, perm, in, out);
			break;
		}
		case EFFC_OP_BATCHNORM: {
			size_t inner = 1;
			for (int k = 2; k < x->rank; k++)
				inner *= (size_t)x->dims[k];
			effc_rt_ref_channel_affine((size_t)x->dims[0], (size_t)x->dims[1], inner, g->t[n->in[1]].data,
						   g->t[n->in[2]].data, g->t[n->in[3]].data, g->t[n->in[4]].data, n->a.epsilon,
						   in, out);
			break;
		}
		default: /* reshape-like: same bytes */
			memcpy(out, in, effc_tensor_bytes(y));
			break;
		}
		y->data = out;
		y->producer = -1;
		n->dead = 1;
		g->rewrites++;
	}
	return EFFC_OK;
}

/* ---- shape-value ops, during shape inference ------------------------------------------------
 *
 * A PyTorch head written x.view(x.size(0), -1), or almost any TF-converted model, computes the
 * shape a Reshape (Expand, Pad, ...) reads: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
 * With the input shape fixed (--batch), every value there is known at compile time, so these
 * ops are evaluated as shape inference reaches them (it needs the results for the shape rules
 * downstream; they cannot wait for the fold-constants pass, which runs after it and can be
 * switched off). They follow the ONNX operator specs; what still depends on run-time data is
 * refused with the node's name.
 *
 * Also evaluated: the comparisons (Less, Greater, ...), Not, Neg, Abs, Floor, Ceil and
 * ReduceProd that TF-converted models compute shapes with (a flatten as ReduceProd of a Slice of
 * the Shape, say); none of them has a run-time kernel.
 *
 * Values: int64, int32 and bool results are all held as int64 (int32 wrapped to its range,
 * bool as 0/1), as the loader holds int32 initializers; float and double as float32. No result
 * is ever emitted: Reshape and the like read them into their attributes. */

#define SFAIL(...) effc_node_fail(d, g, n, EFFC_ERR_INVALID, __VA_ARGS__)
#define SUNSUP(...) effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, __VA_ARGS__)
/* Shape values are small; this bounds what ConstantOfShape, Range or Expand may materialise. */
#define SHAPE_MAX_ELEMS ((int64_t)1 << 24)

static const struct effc_tensor *sin_t(const struct effc_graph *g, const struct effc_node *n, int i)
{
	return i < n->n_in && n->in[i] >= 0 ? &g->t[n->in[i]] : NULL;
}

static size_t elem_size(enum effc_dtype t) { return t == EFFC_I64 ? 8 : 4; }

static int64_t get_i(const struct effc_tensor *t, int64_t i)
{
	return t->dtype == EFFC_I64 ? ((const int64_t *)t->data)[i] : (int64_t)((const float *)t->data)[i];
}

static double get_f(const struct effc_tensor *t, int64_t i)
{
	return t->dtype == EFFC_I64 ? (double)((const int64_t *)t->data)[i] : ((const float *)t->data)[i];
}

/* Sets the output's type and dims and gives it zeroed data (never NULL, even when empty). */
static void *set_value(struct effc_graph *g, struct effc_node *n, enum effc_dtype dt, int rank, const int64_t *dims)
{
	struct effc_tensor *y = &g->t[n->out[0]];
	y->dtype = dt;
	y->rank = rank;
	for (int i = 0; i < rank; i++)
		y->dims[i] = dims[i];
	size_t bytes = effc_tensor_bytes(y);
	return y->data = effc_arena_alloc(g->arena, bytes ? bytes : 8);
}

/* Multidirectional (numpy) broadcast of up to three shapes; -1 when they do not broadcast. */
static int bcast_dims(const struct effc_tensor *const *ts, int k, int64_t *dims, int *rank)
{
	int r = 0;
	for (int i = 0; i < k; i++)
		r = ts[i]->rank > r ? ts[i]->rank : r;
	for (int i = 0; i < r; i++) {
		int64_t v = 1; /* a 1 stretches to the other size (0 included); other sizes must agree */
		for (int j = 0; j < k; j++) {
			int ij = i - (r - ts[j]->rank);
			int64_t dj = ij >= 0 ? ts[j]->dims[ij] : 1;
			if (dj == 1)
				continue;
			if (v != 1 && v != dj)
				return -1;
			v = dj;
		}
		dims[i] = v;
	}
	*rank = r;
	return 0;
}

/* Linear index into t (broadcast to out dims of rank r) of the output element at linear index o. */
static int64_t bcast_index(const struct effc_tensor *t, const int64_t *dims, int r, int64_t o)
{
	int64_t idx = 0, stride = 1;
	for (int i = r - 1; i >= 0; i--) {
		int64_t c = o % dims[i];
		o /= dims[i];
		int it = i - (r - t->rank);
		if (it < 0)
			continue;
		if (t->dims[it] != 1)
			idx += c * stride;
		stride *= t->dims[it];
	}
	return idx;
}

static int64_t dims_numel(const int64_t *dims, int rank)
{
	int64_t k = 1;
	for (int i = 0; i < rank; i++) {
		if (dims[i] && k > SHAPE_MAX_ELEMS / dims[i])
			return SHAPE_MAX_ELEMS + 1;
		k *= dims[i];
	}
	return k;
}

static int same_dims(const struct effc_tensor *a, const int64_t *dims, int rank)
{
	if (a->rank != rank)
		return 0;
	for (int i = 0; i < rank; i++)
		if (a->dims[i] != dims[i])
			return 0;
	return 1;
}

static enum effc_status eval_shape(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *x = sin_t(g, n, 0);
	int64_t r = x->rank, dims[1];
	if (n->op == EFFC_OP_SIZE) {
		int64_t *p = set_value(g, n, EFFC_I64, 0, dims);
		if (!p)
			return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
		*p = effc_tensor_numel(x);
		return EFFC_OK;
	}
	/* Opset 15: negative start/end count from the back, then both clamp to [0, rank]. */
	int64_t s = n->a.start, e = n->a.has_end ? n->a.end : r;
	s = s < 0 ? s + r : s;
	e = e < 0 ? e + r : e;
	s = s < 0 ? 0 : s > r ? r : s;
	e = e < 0 ? 0 : e > r ? r : e;
	dims[0] = e > s ? e - s : 0;
	int64_t *p = set_value(g, n, EFFC_I64, 1, dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	for (int64_t i = 0; i < dims[0]; i++)
		p[i] = x->dims[s + i];
	return EFFC_OK;
}

static enum effc_status eval_gather(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *x = sin_t(g, n, 0), *ix = sin_t(g, n, 1);
	if (!ix)
		return SFAIL("needs inputs data and indices");
	if (!x->data)
		return SUNSUP("data '%s' is computed at run time; effc gathers from compile-time values only", x->name);
	if (!ix->data)
		return SUNSUP("indices '%s' are computed at run time; effc needs them constant", ix->name);
	if (ix->dtype != EFFC_I64)
		return SFAIL("indices '%s' must be int64 or int32", ix->name);
	if (x->rank < 1)
		return SFAIL("data '%s' must have rank >= 1", x->name);
	int64_t ax = n->a.axis < 0 ? n->a.axis + x->rank : n->a.axis;
	if (ax < 0 || ax >= x->rank)
		return SFAIL("axis %" PRId64 " out of range for rank %d", n->a.axis, x->rank);
	int rank = x->rank - 1 + ix->rank;
	if (rank > EFFC_MAX_RANK)
		return SUNSUP("result rank %d exceeds %d", rank, EFFC_MAX_RANK);
	int64_t dims[EFFC_MAX_RANK], outer = 1, inner = 1, k = 0;
	for (int i = 0; i < ax; i++)
		dims[k++] = x->dims[i], outer *= x->dims[i];
	for (int i = 0; i < ix->rank; i++)
		dims[k++] = ix->dims[i];
	for (int i = (int)ax + 1; i < x->rank; i++)
		dims[k++] = x->dims[i], inner *= x->dims[i];
	if (dims_numel(dims, rank) > SHAPE_MAX_ELEMS)
		return SUNSUP("result is too large to compute at compile time");
	int64_t n_ix = effc_tensor_numel(ix), dim = x->dims[ax];
	const int64_t *idx = ix->data;
	for (int64_t j = 0; j < n_ix; j++)
		if (idx[j] < -dim || idx[j] >= dim)
			return SFAIL("index %" PRId64 " out of range for axis %" PRId64 " of size %" PRId64, idx[j], ax, dim);
	char *p = set_value(g, n, x->dtype, rank, dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	size_t es = elem_size(x->dtype), row = (size_t)inner * es;
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < n_ix; j++) {
			int64_t i = idx[j] < 0 ? idx[j] + dim : idx[j];
			memcpy(p + (size_t)(o * n_ix + j) * row, (const char *)x->data + (size_t)(o * dim + i) * row, row);
		}
	return EFFC_OK;
}

static enum effc_status eval_concat(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *x = sin_t(g, n, 0);
	int64_t ax = n->a.axis < 0 ? n->a.axis + x->rank : n->a.axis;
	if (x->rank < 1 || ax < 0 || ax >= x->rank)
		return SFAIL("axis %" PRId64 " out of range for rank %d", n->a.axis, x->rank);
	int64_t dims[EFFC_MAX_RANK], outer = 1, inner = 1;
	memcpy(dims, x->dims, sizeof dims);
	dims[ax] = 0;
	for (int k = 0; k < n->n_in; k++) {
		const struct effc_tensor *t = sin_t(g, n, k);
		if (!t)
			return SFAIL("input %d is missing", k);
		if (!t->data)
			return SUNSUP("input '%s' is computed at run time; effc concatenates compile-time values only", t->name);
		if (t->dtype != x->dtype || t->rank != x->rank)
			return SFAIL("input '%s' (%s) differs in type or rank from '%s' (%s)", t->name,
				     effc_shape_str(g->arena, t), x->name, effc_shape_str(g->arena, x));
		for (int i = 0; i < x->rank; i++)
			if (i != ax && t->dims[i] != x->dims[i])
				return SFAIL("input '%s' is %s, '%s' is %s: only axis %" PRId64 " may differ", t->name,
					     effc_shape_str(g->arena, t), x->name, effc_shape_str(g->arena, x), ax);
		dims[ax] += t->dims[ax];
	}
	if (dims_numel(dims, x->rank) > SHAPE_MAX_ELEMS)
		return SUNSUP("result is too large to compute at compile time");
	for (int i = 0; i < ax; i++)
		outer *= dims[i];
	for (int i = (int)ax + 1; i < x->rank; i++)
		inner *= dims[i];
	char *p = set_value(g, n, x->dtype, x->rank, dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	size_t es = elem_size(x->dtype);
	for (int64_t o = 0; o < outer; o++)
		for (int k = 0; k < n->n_in; k++) {
			const struct effc_tensor *t = sin_t(g, n, k);
			size_t row = (size_t)(t->dims[ax] * inner) * es;
			memcpy(p, (const char *)t->data + (size_t)o * row, row);
			p += row;
		}
	return EFFC_OK;
}

static enum effc_status eval_slice(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *x = sin_t(g, n, 0);
	int64_t starts[EFFC_MAX_RANK], ends[EFFC_MAX_RANK], axes[EFFC_MAX_RANK], steps[EFFC_MAX_RANK];
	int ns, ne, na = -1, nst = -1, r = x->rank;
	if (n->a.opset < 10) { /* Slice-1: attributes */
		ns = n->a.n_starts, ne = n->a.n_ends;
		memcpy(starts, n->a.starts, sizeof starts);
		memcpy(ends, n->a.ends, sizeof ends);
		if (n->a.has_axes)
			na = n->a.n_axes, memcpy(axes, n->a.axes, sizeof axes);
	} else {
		if (n->n_in < 3 || n->in[1] < 0 || n->in[2] < 0)
			return SFAIL("needs inputs data, starts and ends");
		if ((ns = effc_node_const_ints(g, n, 1, starts, EFFC_MAX_RANK, d, "starts")) < 0 ||
		    (ne = effc_node_const_ints(g, n, 2, ends, EFFC_MAX_RANK, d, "ends")) < 0)
			return d->status;
		if (sin_t(g, n, 3) && (na = effc_node_const_ints(g, n, 3, axes, EFFC_MAX_RANK, d, "axes")) < 0)
			return d->status;
		if (sin_t(g, n, 4) && (nst = effc_node_const_ints(g, n, 4, steps, EFFC_MAX_RANK, d, "steps")) < 0)
			return d->status;
	}
	if (ns < 0 || ne < 0 || ns != ne)
		return SFAIL("starts and ends must have the same length (%d and %d)", ns, ne);
	if (na < 0)
		for (int i = 0; i < ns; i++)
			axes[i] = i;
	else if (na != ns)
		return SFAIL("axes has %d values, starts %d", na, ns);
	if (nst < 0)
		for (int i = 0; i < ns; i++)
			steps[i] = 1;
	else if (nst != ns)
		return SFAIL("steps has %d values, starts %d", nst, ns);
	/* Per axis: first element, step and count (the whole axis when not sliced). */
	int64_t first[EFFC_MAX_RANK] = {0}, step[EFFC_MAX_RANK], dims[EFFC_MAX_RANK];
	int seen[EFFC_MAX_RANK] = {0};
	for (int i = 0; i < r; i++)
		step[i] = 1, dims[i] = x->dims[i];
	for (int i = 0; i < ns; i++) {
		int64_t a = axes[i] < 0 ? axes[i] + r : axes[i];
		if (a < 0 || a >= r || seen[a]++)
			return SFAIL("axis %" PRId64 " is out of range for rank %d or repeated", axes[i], r);
		int64_t dim = x->dims[a], s = starts[i], e = ends[i], st = steps[i];
		if (st == 0)
			return SFAIL("step on axis %" PRId64 " is 0", a);
		/* A step longer than the axis takes one element at most: bounding it keeps -st and
		 * the index arithmetic below from overflowing. */
		st = st > dim ? dim + 1 : st < -dim - 1 ? -dim - 1 : st;
		/* Negative values count from the back; then clamp to [0, dim] for positive steps and
		 * to [-1, dim - 1] (start [0, dim - 1]) for negative ones, as the spec says. */
		s = s < 0 ? (s < -dim ? -1 : s + dim) : s;
		e = e < 0 ? (e < -dim ? -1 : e + dim) : e;
		if (st > 0) {
			s = s < 0 ? 0 : s > dim ? dim : s;
			e = e < 0 ? 0 : e > dim ? dim : e;
			dims[a] = e > s ? (e - s - 1) / st + 1 : 0;
		} else {
			s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
			e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
			dims[a] = s > e ? (s - e - 1) / -st + 1 : 0;
		}
		first[a] = s, step[a] = st;
	}
	if (!x->data) {
		if (same_dims(x, dims, r)) { /* slices nothing off: the identity */
			n->op = EFFC_OP_IDENTITY, n->n_in = 1;
			return EFFC_OK;
		}
		return SUNSUP("input '%s' is computed at run time; effc slices compile-time values only", x->name);
	}
	char *p = set_value(g, n, x->dtype, r, dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	size_t es = elem_size(x->dtype);
	int64_t total = effc_tensor_numel(&g->t[n->out[0]]);
	for (int64_t o = 0; o < total; o++) {
		int64_t rest = o, src = 0, stride = 1;
		for (int i = r - 1; i >= 0; i--) {
			int64_t c = rest % dims[i];
			rest /= dims[i];
			src += (first[i] + c * step[i]) * stride;
			stride *= x->dims[i];
		}
		memcpy(p + (size_t)o * es, (const char *)x->data + (size_t)src * es, es);
	}
	return EFFC_OK;
}

static enum effc_status eval_cast(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *x = sin_t(g, n, 0);
	int to = n->a.to; /* 1 float, 6 int32, 7 int64, 9 bool, 11 double */
	if (to != 1 && to != 6 && to != 7 && to != 9 && to != 11)
		return SUNSUP("Cast to type %d is not supported (float, double, int32, int64 and bool are)", to);
	int to_float = to == 1 || to == 11;
	if (!x->data) {
		if (to_float && x->dtype == EFFC_F32) { /* float to float (or double, computed as float) */
			n->op = EFFC_OP_IDENTITY, n->n_in = 1;
			return EFFC_OK;
		}
		return SUNSUP("input '%s' is computed at run time; effc casts it to integers only at compile time", x->name);
	}
	void *p = set_value(g, n, to_float ? EFFC_F32 : EFFC_I64, x->rank, x->dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	int64_t k = effc_tensor_numel(x);
	for (int64_t i = 0; i < k; i++) {
		if (to_float) {
			((float *)p)[i] = (float)get_f(x, i);
			continue;
		}
		int64_t v;
		if (x->dtype == EFFC_F32) {
			double f = get_f(x, i);
			if (to == 9) {
				v = f != 0; /* NaN is true */
			} else if (!(f > -9.2e18 && f < 9.2e18)) {
				return SFAIL("element %" PRId64 " of '%s' is %g, which has no integer value", i, x->name, f);
			} else {
				v = (int64_t)f; /* truncated toward zero */
			}
		} else {
			v = get_i(x, i);
			if (to == 9)
				v = v != 0;
		}
		if (to == 6)
			v = (int32_t)(uint32_t)(uint64_t)v; /* int32 keeps the low 32 bits */
		((int64_t *)p)[i] = v;
	}
	return EFFC_OK;
}

static enum effc_status eval_constant_of_shape(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	int64_t dims[EFFC_MAX_RANK];
	const struct effc_tensor *v = sin_t(g, n, 1); /* the value attribute, as the loader passes it */
	int r = effc_node_const_ints(g, n, 0, dims, EFFC_MAX_RANK, d, "shape");
	if (r < 0)
		return d->status;
	for (int i = 0; i < r; i++)
		if (dims[i] < 0)
			return SFAIL("shape[%d] is %" PRId64 "; dims must be >= 0", i, dims[i]);
	if (dims_numel(dims, r) > SHAPE_MAX_ELEMS)
		return SUNSUP("result is too large to compute at compile time");
	if (v && (!v->data || effc_tensor_numel(v) != 1))
		return SFAIL("value must be a one-element tensor");
	void *p = set_value(g, n, v ? v->dtype : EFFC_F32, r, dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	int64_t k = dims_numel(dims, r);
	for (int64_t i = 0; v && i < k; i++) /* without a value: float 0, as allocated */
		memcpy((char *)p + (size_t)i * elem_size(v->dtype), v->data, elem_size(v->dtype));
	return EFFC_OK;
}

static enum effc_status eval_range(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *t[3];
	for (int i = 0; i < 3; i++) {
		t[i] = sin_t(g, n, i);
		if (!t[i])
			return SFAIL("needs inputs start, limit and delta");
		if (!t[i]->data)
			return SUNSUP("input '%s' is computed at run time; effc needs it constant", t[i]->name);
		if (effc_tensor_numel(t[i]) != 1 || t[i]->dtype != t[0]->dtype)
			return SFAIL("start, limit and delta must be scalars of one type");
	}
	int64_t count;
	if (t[0]->dtype == EFFC_I64) {
		int64_t s = get_i(t[0], 0), l = get_i(t[1], 0), dl = get_i(t[2], 0);
		if (dl == 0)
			return SFAIL("delta is 0");
		/* ceil((limit - start) / delta), at least 0, in unsigned arithmetic: exact for any
		 * int64 values (the distance of two int64 fits in a uint64). */
		uint64_t dist = dl > 0 ? (l > s ? (uint64_t)l - (uint64_t)s : 0) : (s > l ? (uint64_t)s - (uint64_t)l : 0);
		uint64_t step = dl > 0 ? (uint64_t)dl : (uint64_t)-(dl + 1) + 1;
		uint64_t c = dist / step + (dist % step != 0);
		count = c > (uint64_t)SHAPE_MAX_ELEMS ? SHAPE_MAX_ELEMS + 1 : (int64_t)c;
	} else {
		double s = get_f(t[0], 0), l = get_f(t[1], 0), dl = get_f(t[2], 0);
		if (dl == 0 || !isfinite(s) || !isfinite(l) || !isfinite(dl))
			return SFAIL("start, limit and delta must be finite and delta nonzero");
		double c = ceil((l - s) / dl);
		count = c > 0 ? (c > (double)SHAPE_MAX_ELEMS ? SHAPE_MAX_ELEMS + 1 : (int64_t)c) : 0;
	}
	if (count > SHAPE_MAX_ELEMS)
		return SUNSUP("result is too large to compute at compile time");
	void *p = set_value(g, n, t[0]->dtype, 1, &count);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	if (t[0]->dtype == EFFC_I64) {
		for (int64_t i = 0; i < count; i++) /* between start and limit, so in range; wrapped meanwhile */
			((int64_t *)p)[i] = (int64_t)((uint64_t)get_i(t[0], 0) + (uint64_t)i * (uint64_t)get_i(t[2], 0));
	} else {
		/* float32 accumulation, as ONNX Runtime computes it */
		float v = (float)get_f(t[0], 0), dl = (float)get_f(t[2], 0);
		for (int64_t i = 0; i < count; i++, v += dl)
			((float *)p)[i] = v;
	}
	return EFFC_OK;
}

static enum effc_status eval_expand(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *x = sin_t(g, n, 0);
	if (!sin_t(g, n, 1))
		return SFAIL("needs inputs input and shape");
	struct effc_tensor sh = {.rank = 0};
	int r = effc_node_const_ints(g, n, 1, sh.dims, EFFC_MAX_RANK, d, "shape");
	if (r < 0)
		return d->status;
	sh.rank = r;
	for (int i = 0; i < r; i++)
		if (sh.dims[i] < 0)
			return SFAIL("shape[%d] is %" PRId64, i, sh.dims[i]);
	const struct effc_tensor *ts[2] = {x, &sh};
	int64_t dims[EFFC_MAX_RANK];
	int rank;
	if (bcast_dims(ts, 2, dims, &rank))
		return SFAIL("input %s does not broadcast to shape %s", effc_shape_str(g->arena, x), effc_shape_str(g->arena, &sh));
	if (!x->data) {
		if (same_dims(x, dims, rank)) { /* expands nothing: the identity */
			n->op = EFFC_OP_IDENTITY, n->n_in = 1;
			return EFFC_OK;
		}
		return SUNSUP("input '%s' is computed at run time and would grow from %s; effc expands compile-time values only",
			      x->name, effc_shape_str(g->arena, x));
	}
	if (dims_numel(dims, rank) > SHAPE_MAX_ELEMS)
		return SUNSUP("result is too large to compute at compile time");
	char *p = set_value(g, n, x->dtype, rank, dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	size_t es = elem_size(x->dtype);
	int64_t total = dims_numel(dims, rank);
	for (int64_t o = 0; o < total; o++)
		memcpy(p + (size_t)o * es, (const char *)x->data + (size_t)bcast_index(x, dims, rank, o) * es, es);
	return EFFC_OK;
}

static int is_comparison(enum effc_op op)
{
	return op == EFFC_OP_EQUAL || op == EFFC_OP_LESS || op == EFFC_OP_GREATER || op == EFFC_OP_LESSOREQUAL ||
	       op == EFFC_OP_GREATEROREQUAL;
}

/* Not (on bools, held as int64 0/1), Neg, Abs (either type; int64 wraps as two's complement),
 * Floor, Ceil (float). */
static enum effc_status eval_unary(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *x = sin_t(g, n, 0);
	if (!x->data)
		return SUNSUP("input '%s' is computed at run time; effc evaluates %s on compile-time values only", x->name,
			      effc_op_name(n->op));
	if ((n->op == EFFC_OP_FLOOR || n->op == EFFC_OP_CEIL) && x->dtype != EFFC_F32)
		return SFAIL("input '%s' must be a float tensor", x->name);
	if (n->op == EFFC_OP_NOT && x->dtype != EFFC_I64)
		return SFAIL("input '%s' must be a bool tensor", x->name);
	void *p = set_value(g, n, x->dtype, x->rank, x->dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	int64_t k = effc_tensor_numel(x);
	for (int64_t i = 0; i < k; i++) {
		if (x->dtype == EFFC_I64) {
			uint64_t v = (uint64_t)get_i(x, i);
			((int64_t *)p)[i] = n->op == EFFC_OP_NOT ? v == 0 : (int64_t)(n->op == EFFC_OP_NEG || (int64_t)v < 0 ? 0 - v : v);
			continue;
		}
		float v = ((const float *)x->data)[i];
		((float *)p)[i] = n->op == EFFC_OP_NEG ? -v : n->op == EFFC_OP_ABS ? fabsf(v) : n->op == EFFC_OP_FLOOR ? floorf(v) : ceilf(v);
	}
	return EFFC_OK;
}

/* ReduceProd over the axes (attribute, or input from opset 18; none: all, unless
 * noop_with_empty_axes), keepdims as the attribute says. */
static enum effc_status eval_reduce_prod(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	const struct effc_tensor *x = sin_t(g, n, 0);
	int64_t axes[EFFC_MAX_RANK], dims[EFFC_MAX_RANK];
	int na = n->a.n_axes, mask[EFFC_MAX_RANK] = {0}, rank = 0;
	memcpy(axes, n->a.axes, sizeof axes);
	if (sin_t(g, n, 1) && (na = effc_node_const_ints(g, n, 1, axes, EFFC_MAX_RANK, d, "axes")) < 0)
		return d->status;
	if (!x->data)
		return SUNSUP("input '%s' is computed at run time; effc evaluates ReduceProd on compile-time values only", x->name);
	for (int i = 0; i < na; i++) {
		int64_t ax = axes[i] < 0 ? axes[i] + x->rank : axes[i];
		if (ax < 0 || ax >= x->rank || mask[ax]++)
			return SFAIL("axis %" PRId64 " is out of range for rank %d or repeated", axes[i], x->rank);
	}
	for (int i = 0; i < x->rank; i++) {
		if (na == 0 && !n->a.allowzero) /* no axes: all of them (noop_with_empty_axes keeps none) */
			mask[i] = 1;
		if (!mask[i])
			dims[rank++] = x->dims[i];
		else if (n->a.keepdims)
			dims[rank++] = 1;
	}
	void *p = set_value(g, n, x->dtype, rank, dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	const struct effc_tensor *y = &g->t[n->out[0]];
	int64_t m = effc_tensor_numel(y), k = effc_tensor_numel(x);
	for (int64_t o = 0; o < m; o++) /* products start at 1 */
		if (x->dtype == EFFC_I64)
			((int64_t *)p)[o] = 1;
		else
			((float *)p)[o] = 1.0f;
	for (int64_t i = 0; i < k; i++) {
		/* The output index of element i: its coordinates with the reduced axes dropped (or 0). */
		int64_t rest = i, o = 0, stride = 1;
		for (int ax = x->rank - 1; ax >= 0; ax--) {
			int64_t c = rest % x->dims[ax];
			rest /= x->dims[ax];
			if (mask[ax])
				continue;
			o += c * stride;
			stride *= x->dims[ax];
		}
		if (x->dtype == EFFC_I64)
			((int64_t *)p)[o] = (int64_t)((uint64_t)((int64_t *)p)[o] * (uint64_t)get_i(x, i));
		else
			((float *)p)[o] *= ((const float *)x->data)[i];
	}
	return EFFC_OK;
}

/* A comparison's bool result from lt/eq/gt, all 0 when a NaN is compared. */
static int64_t compare(enum effc_op op, int lt, int eq, int gt)
{
	return op == EFFC_OP_EQUAL ? eq : op == EFFC_OP_LESS ? lt : op == EFFC_OP_GREATER ? gt
	     : op == EFFC_OP_LESSOREQUAL ? lt || eq : gt || eq;
}

/* Add, Sub, Mul, Div on int64 (C semantics: Div truncates toward zero, as ONNX Runtime) or on
 * float shape values (float32 arithmetic); the comparisons on either type (a bool result, held
 * as int64 0/1); Where. */
static enum effc_status eval_elementwise(struct effc_graph *g, struct effc_node *n, struct effc_diag *d)
{
	int k = n->op == EFFC_OP_WHERE ? 3 : 2;
	const struct effc_tensor *ts[3];
	for (int i = 0; i < k; i++) {
		ts[i] = sin_t(g, n, i);
		if (!ts[i] || n->n_in != k)
			return SFAIL("needs %d inputs", k);
		if (!ts[i]->data)
			return SUNSUP("input '%s' is computed at run time; effc evaluates %s on compile-time values only",
				      ts[i]->name, effc_op_name(n->op));
	}
	const struct effc_tensor *a = ts[k - 2], *b = ts[k - 1]; /* Where: X and Y */
	if (a->dtype != b->dtype)
		return SFAIL("inputs '%s' and '%s' have different types", a->name, b->name);
	int64_t dims[EFFC_MAX_RANK];
	int rank;
	if (bcast_dims(ts, k, dims, &rank))
		return SFAIL("input shapes do not broadcast");
	if (dims_numel(dims, rank) > SHAPE_MAX_ELEMS)
		return SUNSUP("result is too large to compute at compile time");
	enum effc_dtype dt = is_comparison(n->op) ? EFFC_I64 : a->dtype;
	char *p = set_value(g, n, dt, rank, dims);
	if (!p)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	int64_t total = dims_numel(dims, rank);
	for (int64_t o = 0; o < total; o++) {
		int64_t ia = bcast_index(a, dims, rank, o), ib = bcast_index(b, dims, rank, o);
		if (n->op == EFFC_OP_WHERE) {
			const struct effc_tensor *pick = get_f(ts[0], bcast_index(ts[0], dims, rank, o)) != 0 ? a : b;
			size_t es = elem_size(dt);
			memcpy(p + (size_t)o * es, (const char *)pick->data + (size_t)(pick == a ? ia : ib) * es, es);
			continue;
		}
		if (is_comparison(n->op) && a->dtype == EFFC_F32) {
			double x = get_f(a, ia), y = get_f(b, ib);
			((int64_t *)p)[o] = compare(n->op, x < y, x == y, x > y);
			continue;
		}
		if (is_comparison(n->op)) {
			int64_t x = get_i(a, ia), y = get_i(b, ib);
			((int64_t *)p)[o] = compare(n->op, x < y, x == y, x > y);
			continue;
		}
		if (dt == EFFC_F32) { /* float32 arithmetic, as at run time */
			float x = (float)get_f(a, ia), y = (float)get_f(b, ib);
			((float *)p)[o] = n->op == EFFC_OP_ADD ? x + y : n->op == EFFC_OP_SUB ? x - y : n->op == EFFC_OP_MUL ? x * y : x / y;
			continue;
		}
		int64_t x = get_i(a, ia), y = get_i(b, ib), v;
		switch (n->op) {
		case EFFC_OP_ADD: v = (int64_t)((uint64_t)x + (uint64_t)y); break;
		case EFFC_OP_SUB: v = (int64_t)((uint64_t)x - (uint64_t)y); break;
		case EFFC_OP_MUL: v = (int64_t)((uint64_t)x * (uint64_t)y); break;
		default:
			if (y == 0 || (x == INT64_MIN && y == -1))
				return SFAIL("integer division %" PRId64 " / %" PRId64 " is undefined", x, y);
			v = x / y;
			break;
		}
		((int64_t *)p)[o] = v;
	}
	return EFFC_OK;
}

enum effc_status effc_fold_shape_node(struct effc_graph *g, struct effc_node *n, int *folded, struct effc_diag *d)
{
	enum effc_status st;
	*folded = 0;
	if (n->n_in < 1 || n->in[0] < 0)
		return EFFC_OK; /* the shape rule reports it */
	switch (n->op) {
	case EFFC_OP_SHAPE: case EFFC_OP_SIZE:
		st = eval_shape(g, n, d);
		break;
	case EFFC_OP_GATHER:
		st = eval_gather(g, n, d);
		break;
	case EFFC_OP_CONCAT:
		st = eval_concat(g, n, d);
		break;
	case EFFC_OP_SLICE:
		st = eval_slice(g, n, d);
		break;
	case EFFC_OP_CAST:
		st = eval_cast(g, n, d);
		break;
	case EFFC_OP_CONSTANTOFSHAPE:
		st = eval_constant_of_shape(g, n, d);
		break;
	case EFFC_OP_RANGE:
		st = eval_range(g, n, d);
		break;
	case EFFC_OP_EXPAND:
		st = eval_expand(g, n, d);
		break;
	case EFFC_OP_EQUAL: case EFFC_OP_LESS: case EFFC_OP_GREATER: case EFFC_OP_LESSOREQUAL: case EFFC_OP_GREATEROREQUAL:
	case EFFC_OP_WHERE:
		st = eval_elementwise(g, n, d);
		break;
	case EFFC_OP_NOT: case EFFC_OP_NEG: case EFFC_OP_ABS: case EFFC_OP_FLOOR: case EFFC_OP_CEIL:
		st = eval_unary(g, n, d);
		break;
	case EFFC_OP_REDUCEPROD:
		st = eval_reduce_prod(g, n, d);
		break;
	case EFFC_OP_ADD: case EFFC_OP_SUB: case EFFC_OP_MUL: case EFFC_OP_DIV: {
		/* Integer arithmetic is shape arithmetic. So is float arithmetic on a value this
		 * evaluation made (a Shape cast to float and scaled, say): during shape inference the
		 * only ONNX node outputs that hold data are ours. Other float arithmetic stays with the
		 * ordinary rule and the fold-constants pass. */
		const struct effc_tensor *a = &g->t[n->in[0]], *b = n->n_in > 1 && n->in[1] >= 0 ? &g->t[n->in[1]] : a;
		int shape_float = a->data && b->data && ((a->from_onnx && a->producer < 0) || (b->from_onnx && b->producer < 0));
		if (a->dtype != EFFC_I64 && b->dtype != EFFC_I64 && !shape_float)
			return EFFC_OK;
		st = eval_elementwise(g, n, d);
		break;
	}
	default:
		return EFFC_OK;
	}
	if (st || n->op == EFFC_OP_IDENTITY)
		return st; /* an error, or rewritten to Identity for the shape rule */
	g->t[n->out[0]].producer = -1;
	n->dead = 1;
	*folded = 1;
	return EFFC_OK;
}
