/* ir.c: graph construction helpers and the op name table generated from ops.def. */
#include "effc.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[] = {
#define EFFC_OP(e, name, kind) name,
#include "ops.def"
#undef EFFC_OP
};

const char *effc_op_name(enum effc_op op) { return (unsigned)op < EFFC_OP_COUNT ? op_names[op] : "?"; }

int effc_op_from_onnx(const char *op_type)
{
	static const int is_onnx[] = {
#define EFFC_OP(e, name, kind) [EFFC_OP_##e] = sizeof(#kind) == sizeof("ONNX"),
#include "ops.def"
#undef EFFC_OP
	};
	for (int i = 0; i < EFFC_OP_COUNT; i++)
		if (is_onnx[i] && strcmp(op_names[i], op_type) == 0)
			return i;
	return -1;
}

enum effc_status effc_fail(struct effc_diag *d, enum effc_status st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof d->msg, fmt, ap);
	va_end(ap);
	d->status = st;
	return st;
}

enum effc_status effc_node_fail(struct effc_diag *d, const struct effc_graph *g, const struct effc_node *n,
				enum effc_status st, const char *fmt, ...)
{
	char what[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return effc_fail(d, st, "%s: node '%s' (%s): %s", g->path, n->name, effc_op_name(n->op), what);
}

struct effc_graph *effc_graph_new(struct effc_arena *arena, const char *path)
{
	struct effc_graph *g = effc_arena_alloc(arena, sizeof *g);
	if (!g)
		return NULL;
	g->arena = arena;
	g->path = effc_arena_strdup(arena, path);
	return g;
}

/* Arrays grow by doubling inside the arena; the old copy is simply abandoned. */
static void *grow(struct effc_arena *a, void *old, int n, int *cap, size_t elem)
{
	if (n < *cap)
		return old;
	int nc = *cap ? *cap * 2 : 64;
	void *p = effc_arena_alloc(a, (size_t)nc * elem);
	if (!p)
		return NULL;
	if (old)
		memcpy(p, old, (size_t)n * elem);
	*cap = nc;
	return p;
}

int effc_graph_add_tensor(struct effc_graph *g, const char *name)
{
	struct effc_tensor *t = grow(g->arena, g->t, g->n_t, &g->cap_t, sizeof *t);
	if (!t)
		return -1;
	g->t = t;
	struct effc_tensor *x = &g->t[g->n_t];
	memset(x, 0, sizeof *x);
	x->name = effc_arena_strdup(g->arena, name);
	if (!x->name)
		return -1;
	x->dtype = EFFC_F32;
	x->producer = -1;
	x->alias_of = -1;
	return g->n_t++;
}

int effc_graph_find_tensor(const struct effc_graph *g, const char *name)
{
	/* Linear and newest-first: graphs here have a few thousand tensors at most. */
	for (int i = g->n_t - 1; i >= 0; i--)
		if (strcmp(g->t[i].name, name) == 0)
			return i;
	return -1;
}

int effc_graph_add_node(struct effc_graph *g, enum effc_op op, const char *name)
{
	struct effc_node *n = grow(g->arena, g->n, g->n_n, &g->cap_n, sizeof *n);
	if (!n)
		return -1;
	g->n = n;
	struct effc_node *x = &g->n[g->n_n];
	memset(x, 0, sizeof *x);
	x->op = op;
	x->name = effc_arena_strdup(g->arena, name);
	if (!x->name)
		return -1;
	for (int i = 0; i < EFFC_MAX_IO; i++)
		x->in[i] = x->out[i] = -1;
	x->a.opset = g->opset;
	x->a.act_min = -INFINITY;
	x->a.act_max = INFINITY;
	return g->n_n++;
}

int64_t effc_tensor_numel(const struct effc_tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->rank; i++)
		n *= t->dims[i];
	return n;
}

size_t effc_tensor_bytes(const struct effc_tensor *t)
{
	return (size_t)effc_tensor_numel(t) * (t->dtype == EFFC_I64 ? 8 : t->dtype == EFFC_I8 ? 1 : 4);
}

int effc_tensor_is_const(const struct effc_tensor *t) { return t->data != NULL; }

const char *effc_shape_str(struct effc_arena *a, const struct effc_tensor *t)
{
	char buf[256];
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < t->rank && k < sizeof buf - 24; i++)
		k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%" PRId64, i ? "x" : "", t->dims[i]);
	if (t->rank == 0)
		snprintf(buf, sizeof buf, "scalar");
	return effc_arena_strdup(a, buf);
}

void effc_graph_count_uses(struct effc_graph *g)
{
	for (int i = 0; i < g->n_t; i++)
		g->t[i].n_consumers = 0;
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		for (int k = 0; k < n->n_in; k++)
			if (n->in[k] >= 0)
				g->t[n->in[k]].n_consumers++;
	}
}

int effc_graph_insert_node(struct effc_graph *g, int pos, enum effc_op op, const char *name)
{
	int id = effc_graph_add_node(g, op, name);
	if (id < 0)
		return -1;
	struct effc_node tmp = g->n[id];
	memmove(&g->n[pos + 1], &g->n[pos], (size_t)(id - pos) * sizeof tmp);
	g->n[pos] = tmp;
	/* Producer ids of tensors made by the shifted nodes move by one. */
	for (int i = 0; i < g->n_t; i++)
		if (g->t[i].producer >= pos)
			g->t[i].producer++;
	return pos;
}

int effc_perm_is_trivial(const int64_t *dims, int rank, const int64_t *perm)
{
	/* A permutation that moves only size-1 axes leaves the bytes where they are. */
	int last = -1;
	for (int i = 0; i < rank; i++) {
		if (dims[perm[i]] == 1)
			continue;
		if (perm[i] < last)
			return 0;
		last = (int)perm[i];
	}
	return 1;
}

const int64_t effc_perm_to_nhwc[4] = {0, 2, 3, 1}, effc_perm_to_nchw[4] = {0, 3, 1, 2};

int effc_node_is_alias(const struct effc_graph *g, const struct effc_node *n)
{
	switch (n->op) {
	case EFFC_OP_FLATTEN:
	case EFFC_OP_RESHAPE:
	case EFFC_OP_IDENTITY:
	case EFFC_OP_DROPOUT:
	case EFFC_OP_SQUEEZE:
	case EFFC_OP_UNSQUEEZE:
		return 1;
	case EFFC_OP_TRANSPOSE: {
		const struct effc_tensor *x = &g->t[n->in[0]];
		return effc_perm_is_trivial(x->dims, x->rank, n->a.perm);
	}
	case EFFC_OP_TO_NHWC:
		return effc_perm_is_trivial(g->t[n->in[0]].dims, 4, effc_perm_to_nhwc);
	case EFFC_OP_TO_NCHW: {
		const int64_t *d = g->t[n->in[0]].dims, phys[4] = {d[0], d[2], d[3], d[1]};
		return effc_perm_is_trivial(phys, 4, effc_perm_to_nchw);
	}
	default:
		return 0;
	}
}

int effc_graph_count_readers(const struct effc_graph *g, int t)
{
	int count = 0;
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		for (int k = 0; k < n->n_in; k++)
			count += n->in[k] == t;
	}
	return count + g->t[t].is_output;
}

int effc_is_hardswish_gate(const struct effc_node *n)
{
	return n->op == EFFC_OP_HARDSIGMOID && fabsf(n->a.alpha - 1.0f / 6.0f) <= 1e-7f && n->a.beta == 0.5f;
}

int effc_graph_sole_consumer(const struct effc_graph *g, int t)
{
	int found = -1;
	if (g->t[t].is_output)
		return -1;
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		for (int k = 0; k < n->n_in; k++) {
			if (n->in[k] != t)
				continue;
			if (found >= 0 && found != i)
				return -1;
			if (found == i)
				return -1; /* read twice by the same node */
			found = i;
		}
	}
	return found;
}

void effc_graph_replace_uses(struct effc_graph *g, int from, int to)
{
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		for (int k = 0; k < n->n_in; k++)
			if (n->in[k] == from)
				n->in[k] = to;
	}
}

int effc_graph_new_const(struct effc_graph *g, const char *base, const char *suffix, int rank, const int64_t *dims)
{
	const char *name = effc_arena_printf(g->arena, "%s.%s", base, suffix);
	int t = name ? effc_graph_add_tensor(g, name) : -1;
	if (t < 0)
		return -1;
	g->t[t].rank = rank;
	memcpy(g->t[t].dims, dims, sizeof(int64_t) * (size_t)rank);
	g->t[t].data = effc_arena_alloc(g->arena, effc_tensor_bytes(&g->t[t]));
	return g->t[t].data ? t : -1;
}
