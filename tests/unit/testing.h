/* testing.h: helpers shared by the unit tests (header-only; every helper is static inline, so a
 * test that does not use one gets no warning).
 *
 * Always:
 *   check(ok, name, fmt, ...)          one line `ok NAME` or `FAIL NAME: why`, counted in n_pass/n_fail
 *   expect(ok, case, what, fmt, ...)   check() named "CASE: WHAT"
 *   test_summary()                     prints `N passed, M failed`; the exit status for main()
 *
 * When effc.h is included before this header (the compiler's IR), also:
 *   struct fixture, fixture_init(), fixture_free()   an arena and an opset-13 graph
 *   tensor(), input(), output(), const_alloc(), constant()   tensors, built the way the loader does
 *   node()                             a one-output node with the loader's attribute defaults
 *   DIMS(...), INS(...)                compound literals for dims and node inputs
 *   count_op(), find_op()              live nodes by op
 *   nodes_ordered()                    producers match and every input is ready before it is read
 *   root_of(), is_activation()         the memory plan: alias roots, tensors that live in the arena
 *   live_disjoint()                    distinct roots alive at the same step share no byte
 *
 * Allocation failures abort: a test cannot go on without memory. */
#ifndef EFFC_TESTING_H
#define EFFC_TESTING_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass, n_fail;

static inline void check(int ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static inline void check(int ok, const char *name, const char *fmt, ...)
{
	if (ok) {
		n_pass++;
		printf("ok %s\n", name);
		return;
	}
	n_fail++;
	printf("FAIL %s: ", name);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* check() named "CASE: WHAT". */
static inline void expect(int ok, const char *cname, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline void expect(int ok, const char *cname, const char *what, const char *fmt, ...)
{
	char full[256], why[512];
	snprintf(full, sizeof full, "%s: %s", cname, what);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	check(ok, full, "%s", why);
}

/* The last line of every test program; main() returns it. */
static inline int test_summary(void)
{
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail > 0;
}

static inline void testing_oom(void)
{
	fprintf(stderr, "unit test: out of memory\n");
	abort();
}

#ifdef EFFC_H

/* ---- graph building --------------------------------------------------------------------- */

struct fixture {
	struct effc_arena *arena;
	struct effc_graph *g;
	struct effc_diag d;
};

/* Checks "NAME: setup"; returns 0 (nothing to free) when the arena or graph could not be made. */
static inline int fixture_init(struct fixture *f, const char *name)
{
	memset(f, 0, sizeof *f);
	f->arena = effc_arena_new();
	f->g = f->arena ? effc_graph_new(f->arena, name) : NULL;
	if (f->g)
		f->g->opset = 13;
	expect(f->g != NULL, name, "setup", "could not create arena/graph");
	return f->g != NULL;
}

static inline void fixture_free(struct fixture *f) { effc_arena_free(f->arena); }

static inline int tensor(struct effc_graph *g, const char *name, int rank, const int64_t *dims)
{
	int t = effc_graph_add_tensor(g, name);
	if (t < 0)
		testing_oom();
	g->t[t].rank = rank;
	for (int i = 0; i < rank; i++)
		g->t[t].dims[i] = dims[i];
	return t;
}

static inline int input(struct effc_graph *g, const char *name, int rank, const int64_t *dims)
{
	int t = tensor(g, name, rank, dims);
	g->t[t].is_input = 1;
	g->inputs[g->n_inputs++] = t;
	return t;
}

static inline void output(struct effc_graph *g, int t)
{
	g->t[t].is_output = 1;
	g->outputs[g->n_outputs++] = t;
}

/* Arena storage for tensor t's data (its dims and dtype already set); makes t a constant. */
static inline float *const_alloc(struct effc_graph *g, int t)
{
	float *p = effc_arena_alloc(g->arena, effc_tensor_bytes(&g->t[t]));
	if (!p)
		testing_oom();
	g->t[t].data = p;
	return p;
}

/* A float constant whose element i is base + step * i, so every element is distinct. */
static inline int constant(struct effc_graph *g, const char *name, int rank, const int64_t *dims, float base,
			   float step)
{
	int t = tensor(g, name, rank, dims);
	float *p = const_alloc(g, t);
	for (int64_t i = 0; i < effc_tensor_numel(&g->t[t]); i++)
		p[i] = base + step * (float)i;
	return t;
}

/* A node with one output; returns its id. Attributes get the loader's defaults for its op. */
static inline int node(struct effc_graph *g, enum effc_op op, const char *name, int n_in, const int *in, int out)
{
	int id = effc_graph_add_node(g, op, name);
	if (id < 0)
		testing_oom();
	struct effc_node *n = &g->n[id];
	n->n_in = n_in;
	for (int i = 0; i < n_in; i++)
		n->in[i] = in[i];
	n->n_out = 1;
	n->out[0] = out;
	g->t[out].producer = id;
	struct effc_attrs *a = &n->a;
	a->strides[0] = a->strides[1] = a->dilations[0] = a->dilations[1] = 1;
	a->group = 1;
	a->alpha = a->beta = 1.0f;
	a->epsilon = 1e-5f;
	a->clip_min = -INFINITY, a->clip_max = INFINITY;
	a->axis = 1;
	a->keepdims = 1;
	a->n_perm = -1;
	a->mode = "constant";
	return id;
}

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define INS(...) ((const int[]){__VA_ARGS__})

/* ---- graph queries and checks ----------------------------------------------------------- */

static inline int count_op(const struct effc_graph *g, enum effc_op op)
{
	int c = 0;
	for (int i = 0; i < g->n_n; i++)
		c += !g->n[i].dead && g->n[i].op == op;
	return c;
}

/* The nth (from 0) live node with this op, or -1. */
static inline int find_op(const struct effc_graph *g, enum effc_op op, int nth)
{
	for (int i = 0; i < g->n_n; i++)
		if (!g->n[i].dead && g->n[i].op == op && nth-- == 0)
			return i;
	return -1;
}

/* Producers match and every input of a live node is a constant, a graph input or the output of an
 * earlier live node. Returns 1 when so; otherwise 0, with the first offence in why. */
static inline int nodes_ordered(const struct effc_graph *g, char *why, size_t why_size)
{
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		for (int k = 0; k < n->n_out; k++)
			if (n->out[k] >= 0 && g->t[n->out[k]].producer != i) {
				snprintf(why, why_size, "tensor '%s' made by node %d ('%s') says producer %d", g->t[n->out[k]].name,
					 i, n->name, g->t[n->out[k]].producer);
				return 0;
			}
		for (int k = 0; k < n->n_in; k++) {
			int t = n->in[k];
			if (t < 0 || g->t[t].data || g->t[t].is_input)
				continue;
			int p = g->t[t].producer;
			if (p < 0 || p >= i || g->n[p].dead) {
				snprintf(why, why_size, "node %d ('%s') reads '%s' produced by %d", i, n->name, g->t[t].name, p);
				return 0;
			}
		}
	}
	return 1;
}

/* ---- memory plan ------------------------------------------------------------------------ */

/* The tensor whose storage t aliases (t itself when it is no alias). */
static inline int root_of(const struct effc_graph *g, int t)
{
	for (int hops = 0; g->t[t].alias_of >= 0 && hops <= g->n_t; hops++)
		t = g->t[t].alias_of;
	return t;
}

/* Tensors that live in the arena: activations with a live range. */
static inline int is_activation(const struct effc_graph *g, int t)
{
	return !g->t[t].data && g->t[root_of(g, t)].live_first != -2;
}

/* Every pair of distinct roots alive at the same step occupies disjoint bytes of the arena.
 * Returns 1 when so; otherwise 0, with the first overlapping pair in why. */
static inline int live_disjoint(const struct effc_graph *g, char *why, size_t why_size)
{
	for (int i = 0; i < g->n_t; i++)
		for (int j = i + 1; j < g->n_t; j++) {
			if (!is_activation(g, i) || !is_activation(g, j))
				continue;
			int ri = root_of(g, i), rj = root_of(g, j);
			if (ri == rj)
				continue;
			const struct effc_tensor *a = &g->t[ri], *b = &g->t[rj];
			if (a->live_last < b->live_first || b->live_last < a->live_first)
				continue;
			size_t ai = g->t[i].offset, ae = ai + effc_tensor_bytes(&g->t[i]);
			size_t bi = g->t[j].offset, be = bi + effc_tensor_bytes(&g->t[j]);
			if (ai < be && bi < ae) {
				snprintf(why, why_size, "'%s' [%zu,%zu) live %d..%d overlaps '%s' [%zu,%zu) live %d..%d", g->t[i].name,
					 ai, ae, a->live_first, a->live_last, g->t[j].name, bi, be, b->live_first, b->live_last);
				return 0;
			}
		}
	return 1;
}

#endif /* EFFC_H */

#endif /* EFFC_TESTING_H */
