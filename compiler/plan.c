/* plan.c: static memory plan. Activations share one arena: each tensor's live range runs from
 * the step that writes it to the last step that reads it (graph inputs from the start, graph
 * outputs to the end), reshape-like aliases extend their source's range, and tensors are placed
 * greedily, largest first, at the lowest offset that no overlapping-in-time tensor occupies.
 * Greedy by size is not optimal in general; effc inspect reports the plan next to the peak of
 * live bytes (the lower bound of any plan) so the gap stays visible. Constants referenced by the
 * emitted code get 64-byte aligned offsets in the weight blob. */
#include "effc.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN 64

static size_t align_up(size_t x) { return (x + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

static int root_of(const struct effc_graph *g, int t)
{
	while (g->t[t].alias_of >= 0)
		t = g->t[t].alias_of;
	return t;
}

struct placed {
	size_t off, size;
	int first, last;
};

static int cmp_size_desc(const void *a, const void *b, void *ctx)
{
	const struct effc_graph *g = ctx;
	size_t sa = effc_tensor_bytes(&g->t[*(const int *)a]), sb = effc_tensor_bytes(&g->t[*(const int *)b]);
	if (sa != sb)
		return sa < sb ? 1 : -1;
	return *(const int *)a - *(const int *)b; /* deterministic */
}

/* qsort has no context argument in C11; insertion sort is plenty for a few thousand tensors. */
static void sort_ids(int *ids, int n, struct effc_graph *g)
{
	for (int i = 1; i < n; i++) {
		int v = ids[i], j = i - 1;
		while (j >= 0 && cmp_size_desc(&ids[j], &v, g) > 0) {
			ids[j + 1] = ids[j];
			j--;
		}
		ids[j + 1] = v;
	}
}

/* Input index an elementwise node may overwrite with its output, or -1. */
static int inplace_candidate(const struct effc_graph *g, const struct effc_node *n)
{
	const struct effc_tensor *y = &g->t[n->out[0]];
	int last = 1;
	switch (n->op) {
	case EFFC_OP_ADD:
	case EFFC_OP_SUB:
	case EFFC_OP_MUL:
	case EFFC_OP_DIV:
		last = 2;
		break;
	case EFFC_OP_SIGMOID:
	case EFFC_OP_RELU:
	case EFFC_OP_CLIP:
	case EFFC_OP_HARDSIGMOID:
	case EFFC_OP_HARDSWISH:
	case EFFC_OP_SWISH:
	case EFFC_OP_SCALE_BIAS:
	case EFFC_OP_BATCHNORM:
	case EFFC_OP_SE:
		break;
	default:
		return -1;
	}
	for (int k = 0; k < last; k++) {
		const struct effc_tensor *x = &g->t[n->in[k]];
		if (!x->data && x->layout == y->layout && effc_tensor_bytes(x) == effc_tensor_bytes(y))
			return k;
	}
	return -1;
}

enum effc_status effc_plan_memory(struct effc_graph *g, struct effc_diag *d)
{
	int steps = 0;
	for (int i = 0; i < g->n_t; i++) {
		struct effc_tensor *t = &g->t[i];
		t->alias_of = -1;
		t->live_first = t->live_last = -2;
		t->emitted = 0;
	}
	for (int i = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		if (effc_node_is_alias(g, n) && !g->t[n->in[0]].data)
			g->t[n->out[0]].alias_of = n->in[0];
		steps++;
	}
	if (g->inplace) {
		/* An elementwise op may write over its input when nothing reads that input's bytes
		 * (through any alias) afterwards. last[] is the last step reading each tensor. */
		int *last = malloc(sizeof(int) * (size_t)(g->n_t + 1));
		if (!last)
			return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory planning memory", g->path);
		for (int i = 0; i < g->n_t; i++)
			last[i] = g->t[i].is_output ? steps : -1;
		for (int i = 0, s = 0; i < g->n_n; i++) {
			const struct effc_node *n = &g->n[i];
			if (n->dead)
				continue;
			for (int k = 0; k < n->n_in; k++)
				if (n->in[k] >= 0 && last[n->in[k]] < s)
					last[n->in[k]] = s;
			s++;
		}
		/* Fold onto roots: group_last[r] = max over the tensors sharing r's bytes. */
		for (int i = 0; i < g->n_t; i++) {
			int r = root_of(g, i);
			if (r != i && last[i] > last[r])
				last[r] = last[i];
		}
		for (int i = 0, s = 0; i < g->n_n; i++) {
			struct effc_node *n = &g->n[i];
			if (n->dead)
				continue;
			int k = inplace_candidate(g, n);
			int y = n->out[0];
			if (k >= 0 && !g->t[y].data && g->t[y].alias_of < 0) {
				int r = root_of(g, n->in[k]);
				if (last[r] == s && !g->t[r].data) {
					g->t[y].alias_of = n->in[k];
					if (last[y] > last[r])
						last[r] = last[y];
				}
			}
			s++;
		}
		free(last);
	}
	/* Live ranges, accumulated on roots. */
	for (int k = 0; k < g->n_inputs; k++) {
		struct effc_tensor *t = &g->t[g->inputs[k]];
		t->live_first = -1;
		t->live_last = -1;
	}
	for (int i = 0, s = 0; i < g->n_n; i++) {
		struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		for (int k = 0; k < n->n_out; k++) {
			if (n->out[k] < 0)
				continue;
			struct effc_tensor *r = &g->t[root_of(g, n->out[k])];
			if (r->data)
				continue;
			if (r->live_first == -2)
				r->live_first = s;
			if (r->live_last < s)
				r->live_last = s;
		}
		for (int k = 0; k < n->n_in; k++) {
			if (n->in[k] < 0)
				continue;
			struct effc_tensor *in = &g->t[n->in[k]];
			if (in->data) {
				in->emitted |= (in->dtype == EFFC_F32 || in->dtype == EFFC_I8) && !effc_node_is_alias(g, n);
				continue;
			}
			struct effc_tensor *r = &g->t[root_of(g, n->in[k])];
			if (r->live_last < s)
				r->live_last = s;
		}
		s++;
	}
	for (int k = 0; k < g->n_outputs; k++) {
		struct effc_tensor *o = &g->t[g->outputs[k]];
		if (o->data) {
			o->emitted = 1;
			continue;
		}
		struct effc_tensor *r = &g->t[root_of(g, g->outputs[k])];
		r->live_last = steps;
		if (r->live_first == -2)
			r->live_first = steps;
	}
	/* Place roots. */
	int *ids = malloc(sizeof(int) * (size_t)(g->n_t + 1));
	struct placed *pl = malloc(sizeof(struct placed) * (size_t)(g->n_t + 1));
	if (!ids || !pl) {
		free(ids);
		free(pl);
		return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory planning memory", g->path);
	}
	int n_ids = 0;
	for (int i = 0; i < g->n_t; i++)
		if (!g->t[i].data && g->t[i].alias_of < 0 && g->t[i].live_first != -2)
			ids[n_ids++] = i;
	sort_ids(ids, n_ids, g);
	size_t arena = 0;
	int n_pl = 0;
	for (int k = 0; k < n_ids; k++) {
		struct effc_tensor *t = &g->t[ids[k]];
		size_t size = align_up(effc_tensor_bytes(t)), off = 0;
		/* Lowest gap among placed tensors that overlap in time; restart after each bump. */
		for (int moved = 1; moved;) {
			moved = 0;
			for (int j = 0; j < n_pl; j++) {
				if (pl[j].last < t->live_first || pl[j].first > t->live_last)
					continue;
				if (off < pl[j].off + pl[j].size && pl[j].off < off + size) {
					off = pl[j].off + pl[j].size;
					moved = 1;
				}
			}
		}
		t->offset = off;
		pl[n_pl++] = (struct placed){off, size, t->live_first, t->live_last};
		if (off + size > arena)
			arena = off + size;
	}
	size_t peak = 0;
	for (int s = -1; s <= steps; s++) {
		size_t live = 0;
		for (int j = 0; j < n_pl; j++)
			if (pl[j].first <= s && s <= pl[j].last)
				live += pl[j].size;
		if (live > peak)
			peak = live;
	}
	free(ids);
	free(pl);
	for (int i = 0; i < g->n_t; i++)
		if (g->t[i].alias_of >= 0)
			g->t[i].offset = g->t[root_of(g, i)].offset;
	g->arena_bytes = arena;
	g->peak_live_bytes = peak;
	/* Weight blob. */
	size_t w = 0;
	for (int i = 0; i < g->n_t; i++) {
		struct effc_tensor *t = &g->t[i];
		if (!t->data || !t->emitted)
			continue;
		t->offset = w;
		w = align_up(w + effc_tensor_bytes(t));
	}
	g->weights_bytes = w;
	return EFFC_OK;
}
