/* test_fold_shapes.c: unit tests of the compile-time evaluation of shape subgraphs
 * (effc_fold_shape_node in passes/fold_constants.c, run by shape inference) on graphs built by
 * hand: every op it folds (Shape, Size, Gather, Concat, Slice, Cast, ConstantOfShape, Range,
 * Expand, Equal, Where, the comparisons, Not, Neg, Abs, Floor, Ceil, ReduceProd, int64 and
 * shape-float arithmetic, Squeeze/Unsqueeze on shape values), the view-head chain a
 * PyTorch x.view(x.size(0), -1) exports, and the cases that must stay refused because a value
 * depends on run-time data (the error must name the node and its op).
 *
 * Expected values come from the ONNX operator specs; Slice and Gather are also checked against
 * brute-force references written here (membership of each index instead of the count formula).
 *
 * Output: one line per check, `ok NAME` or `FAIL NAME: why`, then `N passed, M failed`.
 *
 * `test_fold_shapes --dump MODEL.onnx` instead loads a model, runs shape inference and the
 * fold-constants pass, and prints
 * each graph output as `NAME DTYPE RANK DIMS... : VALUES...` (DTYPE f32 or i64; status and
 * message on stderr and a non-zero exit when effc refuses it): tests/node/check_fold_shapes.py
 * feeds it ONNX's own node tests with their inputs made initializers, and compares. */
#include "effc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "testing.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static int iconst(struct effc_graph *g, const char *name, int rank, const int64_t *dims, const int64_t *v)
{
	int t = tensor(g, name, rank, dims);
	g->t[t].dtype = EFFC_I64;
	int64_t *p = effc_arena_alloc(g->arena, effc_tensor_bytes(&g->t[t]) + 8);
	if (!p)
		testing_oom();
	memcpy(p, v, effc_tensor_bytes(&g->t[t]));
	g->t[t].data = p;
	return t;
}

static int fconst(struct effc_graph *g, const char *name, int rank, const int64_t *dims, const float *v)
{
	int t = tensor(g, name, rank, dims);
	float *p = const_alloc(g, t);
	memcpy(p, v, effc_tensor_bytes(&g->t[t]));
	return t;
}

/* A one-output node with the attribute defaults the loader gives the shape-value ops. */
static int snode(struct effc_graph *g, enum effc_op op, const char *name, int n_in, const int *in, int out)
{
	int id = node(g, op, name, n_in, in, out);
	g->n[id].a.axis = 0;
	return id;
}

static int infer(struct fixture *f, const char *name)
{
	enum effc_status st = effc_infer_shapes(f->g, &f->d);
	expect(st == EFFC_OK, name, "shape inference succeeds", "status %d: %s", (int)st, f->d.msg);
	return st == EFFC_OK;
}

/* The node was evaluated: dead, its output an int64 (or float) constant of the given dims and values. */
static void expect_ints(struct fixture *f, const char *name, int nd, int t, int rank, const int64_t *dims,
			const int64_t *want)
{
	const struct effc_tensor *x = &f->g->t[t];
	char what[200];
	snprintf(what, sizeof what, "'%s' folded to an int64 constant of rank %d", x->name, rank);
	int ok = f->g->n[nd].dead && x->data && x->dtype == EFFC_I64 && x->rank == rank;
	for (int i = 0; ok && i < rank; i++)
		ok = x->dims[i] == dims[i];
	expect(ok, name, what, "dead %d, data %p, dtype %d, dims %s", f->g->n[nd].dead, x->data, (int)x->dtype,
	       effc_shape_str(f->g->arena, x));
	if (!ok)
		return;
	int64_t k = effc_tensor_numel(x), bad = -1;
	for (int64_t i = 0; i < k && bad < 0; i++)
		if (((const int64_t *)x->data)[i] != want[i])
			bad = i;
	snprintf(what, sizeof what, "'%s' has the spec's values", x->name);
	expect(bad < 0, name, what, "element %" PRId64 " is %" PRId64 ", want %" PRId64, bad,
	       bad >= 0 ? ((const int64_t *)x->data)[bad] : 0, bad >= 0 ? want[bad] : 0);
}

static void expect_floats(struct fixture *f, const char *name, int nd, int t, int rank, const int64_t *dims,
			  const float *want)
{
	const struct effc_tensor *x = &f->g->t[t];
	char what[200];
	snprintf(what, sizeof what, "'%s' folded to a float constant of rank %d", x->name, rank);
	int ok = f->g->n[nd].dead && x->data && x->dtype == EFFC_F32 && x->rank == rank;
	for (int i = 0; ok && i < rank; i++)
		ok = x->dims[i] == dims[i];
	expect(ok, name, what, "dead %d, dtype %d, dims %s", f->g->n[nd].dead, (int)x->dtype, effc_shape_str(f->g->arena, x));
	if (!ok)
		return;
	int64_t k = effc_tensor_numel(x), bad = -1;
	for (int64_t i = 0; i < k && bad < 0; i++)
		if (((const float *)x->data)[i] != want[i])
			bad = i;
	snprintf(what, sizeof what, "'%s' has the spec's values", x->name);
	expect(bad < 0, name, what, "element %" PRId64 " is %g, want %g", bad, bad >= 0 ? ((const float *)x->data)[bad] : 0.0,
	       bad >= 0 ? want[bad] : 0.0);
}

/* Shape inference must fail with the given status, naming node 'node' and its op, and saying why. */
static void expect_refused(struct fixture *f, const char *name, enum effc_status want, const char *node_name,
			   const char *op, const char *why)
{
	enum effc_status st = effc_infer_shapes(f->g, &f->d);
	char ref[160];
	snprintf(ref, sizeof ref, "node '%s' (%s)", node_name, op);
	expect(st == want, name, "refused with the right status", "status %d (want %d): %s", (int)st, (int)want, f->d.msg);
	expect(st != EFFC_OK && strstr(f->d.msg, ref) && strstr(f->d.msg, why) && strstr(f->d.msg, f->g->path), name,
	       "message names the file, the node and the reason", "'%s' (want '%s' and '%s')", f->d.msg, ref, why);
}

/* ---- the view head ---------------------------------------------------------------------- */

/* X[N,C,1,1] -> Shape -> Gather(0) -> Unsqueeze(0) -> Concat(_, [-1]) -> Reshape(X, _) -> Gemm -> Y,
 * as torch exports x.view(x.size(0), -1) with a dynamic batch (N fixed by --batch here). Opset
 * 13 gives Unsqueeze its axes as an input, opset 11 as an attribute. */
static void test_view_head(int opset, int64_t batch)
{
	char name[80];
	snprintf(name, sizeof name, "view head, opset %d, batch %" PRId64, opset, batch);
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	g->opset = opset;
	int x = input(g, "X", 4, DIMS(batch, 8, 1, 1));
	int sh = tensor(g, "shape", 0, NULL), g0 = tensor(g, "n", 0, NULL), un = tensor(g, "n1", 0, NULL);
	int cat = tensor(g, "newshape", 0, NULL), flat = tensor(g, "flat", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int zero = iconst(g, "zero", 0, NULL, (const int64_t[]){0}), minus1 = iconst(g, "m1", 1, DIMS(1), (const int64_t[]){-1});
	int ns = snode(g, EFFC_OP_SHAPE, "/Shape", 1, INS(x), sh);
	int ng = snode(g, EFFC_OP_GATHER, "/Gather", 2, INS(sh, zero), g0);
	int nu;
	if (opset >= 13) {
		int axes = iconst(g, "axes", 1, DIMS(1), (const int64_t[]){0});
		nu = snode(g, EFFC_OP_UNSQUEEZE, "/Unsqueeze", 2, INS(g0, axes), un);
	} else {
		nu = snode(g, EFFC_OP_UNSQUEEZE, "/Unsqueeze", 1, INS(g0), un);
		g->n[nu].a.axes[0] = 0, g->n[nu].a.n_axes = 1, g->n[nu].a.has_axes = 1;
	}
	int nc = snode(g, EFFC_OP_CONCAT, "/Concat", 2, INS(un, minus1), cat);
	snode(g, EFFC_OP_RESHAPE, "/Reshape", 2, INS(x, cat), flat);
	int w = constant(g, "W", 2, DIMS(4, 8), 0.1f, 0.01f);
	int gemm = node(g, EFFC_OP_GEMM, "fc", 2, INS(flat, w), y);
	g->n[gemm].a.trans_b = 1;
	output(g, y);
	if (infer(&f, name)) {
		expect_ints(&f, name, ns, sh, 1, DIMS(4), (const int64_t[]){batch, 8, 1, 1});
		expect_ints(&f, name, ng, g0, 0, NULL, (const int64_t[]){batch});
		expect_ints(&f, name, nu, un, 1, DIMS(1), (const int64_t[]){batch});
		expect_ints(&f, name, nc, cat, 1, DIMS(2), (const int64_t[]){batch, -1});
		const struct effc_tensor *t = &g->t[flat];
		expect(t->rank == 2 && t->dims[0] == batch && t->dims[1] == 8 && g->t[y].dims[0] == batch, name,
		       "Reshape and Gemm see the batch", "flat %s, Y %s", effc_shape_str(g->arena, t), effc_shape_str(g->arena, &g->t[y]));
		expect(g->t[x].n_consumers == 1, name, "X is read at run time by the Reshape only", "%d readers",
		       g->t[x].n_consumers);
		/* The rest of the compiler takes the graph as if the shape had been an initializer. */
		struct effc_pipeline_options o;
		memset(&o, 0, sizeof o);
		effc_pipeline_set_level(&o, 1);
		enum effc_status st = effc_pipeline_run(g, &o, NULL, 0, &f.d);
		if (!st)
			st = effc_plan_memory(g, &f.d);
		expect(st == EFFC_OK, name, "pipeline and memory plan succeed", "status %d: %s", (int)st, f.d.msg);
		int live_shape_ops = count_op(g, EFFC_OP_SHAPE) + count_op(g, EFFC_OP_GATHER) + count_op(g, EFFC_OP_CONCAT);
		expect(live_shape_ops == 0, name, "no shape op reaches the emitter", "%d live", live_shape_ops);
	}
	fixture_free(&f);
}

/* ---- one op at a time ------------------------------------------------------------------- */

static void test_shape_start_end(void)
{
	/* Opset 15: start/end count from the back when negative and clamp to [0, rank]. */
	static const struct {
		int64_t start, end;
		int has_end;
		int n;
		int64_t want[4];
	} cases[] = {
		{0, 0, 0, 4, {2, 3, 5, 7}}, {1, 0, 0, 3, {3, 5, 7}},  {-1, 0, 0, 1, {7}}, {-10, 2, 1, 2, {2, 3}},
		{2, 100, 1, 2, {5, 7}},    {1, -1, 1, 2, {3, 5}},     {3, 1, 1, 0, {0}},  {0, -10, 1, 0, {0}},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		char name[96];
		snprintf(name, sizeof name, "Shape start=%" PRId64 " end=%s%" PRId64, cases[c].start, cases[c].has_end ? "" : "none/",
			 cases[c].end);
		struct fixture f;
		if (!fixture_init(&f, name))
			continue;
		struct effc_graph *g = f.g;
		g->opset = 15;
		int x = input(g, "X", 4, DIMS(2, 3, 5, 7)), s = tensor(g, "s", 0, NULL);
		int n = snode(g, EFFC_OP_SHAPE, "shape", 1, INS(x), s);
		g->n[n].a.start = cases[c].start, g->n[n].a.end = cases[c].end, g->n[n].a.has_end = cases[c].has_end;
		int y = tensor(g, "Y", 0, NULL);
		node(g, EFFC_OP_RELU, "relu", 1, INS(x), y);
		output(g, y);
		if (infer(&f, name))
			expect_ints(&f, name, n, s, 1, DIMS(cases[c].n), cases[c].want);
		fixture_free(&f);
	}
	const char *name = "Size";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	int x = input(f.g, "X", 3, DIMS(2, 3, 5)), s = tensor(f.g, "s", 0, NULL);
	int n = snode(f.g, EFFC_OP_SIZE, "size", 1, INS(x), s);
	if (infer(&f, name))
		expect_ints(&f, name, n, s, 0, NULL, (const int64_t[]){30});
	fixture_free(&f);
}

/* Gather against a reference: out[o][j][i] = data[o][idx[j] (+dim if < 0)][i]. */
static void test_gather(int64_t axis, int float_data)
{
	char name[80];
	snprintf(name, sizeof name, "Gather axis %" PRId64 " on %s data", axis, float_data ? "float" : "int64");
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int64_t data[3 * 4];
	float fdata[3 * 4];
	for (int i = 0; i < 12; i++)
		data[i] = 10 * (i / 4) + i % 4, fdata[i] = (float)data[i] + 0.5f;
	const int64_t idx[4] = {-1, 0, 1, -2};
	int x = float_data ? fconst(g, "data", 2, DIMS(3, 4), fdata) : iconst(g, "data", 2, DIMS(3, 4), data);
	int ix = iconst(g, "idx", 2, DIMS(2, 2), idx), y = tensor(g, "g", 0, NULL);
	int n = snode(g, EFFC_OP_GATHER, "gather", 2, INS(x, ix), y);
	g->n[n].a.axis = axis;
	if (infer(&f, name)) {
		int64_t ax = axis < 0 ? axis + 2 : axis, dims[3], want[24];
		float fwant[24];
		int k = 0;
		if (ax == 0)
			dims[0] = 2, dims[1] = 2, dims[2] = 4;
		else
			dims[0] = 3, dims[1] = 2, dims[2] = 2;
		for (int64_t a = 0; a < dims[0]; a++)
			for (int64_t b = 0; b < dims[1]; b++)
				for (int64_t c = 0; c < dims[2]; c++) {
					int64_t j = ax == 0 ? idx[a * 2 + b] : idx[b * 2 + c];
					int64_t row = ax == 0 ? (j < 0 ? j + 3 : j) : a, col = ax == 0 ? c : (j < 0 ? j + 4 : j);
					want[k] = data[row * 4 + col], fwant[k++] = fdata[row * 4 + col];
				}
		if (float_data)
			expect_floats(&f, name, n, y, 3, dims, fwant);
		else
			expect_ints(&f, name, n, y, 3, dims, want);
	}
	fixture_free(&f);
}

static void test_gather_out_of_range(void)
{
	const char *name = "Gather index out of range";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	int x = input(f.g, "X", 2, DIMS(1, 5)), s = tensor(f.g, "s", 0, NULL), y = tensor(f.g, "y", 0, NULL);
	snode(f.g, EFFC_OP_SHAPE, "shape", 1, INS(x), s);
	snode(f.g, EFFC_OP_GATHER, "pick", 2, INS(s, iconst(f.g, "i", 0, NULL, (const int64_t[]){-3})), y);
	expect_refused(&f, name, EFFC_ERR_INVALID, "pick", "Gather", "index -3 out of range");
	fixture_free(&f);
}

static void test_concat(int64_t axis)
{
	char name[64];
	snprintf(name, sizeof name, "Concat axis %" PRId64, axis);
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	/* A [2,1], B [2,3], C [2,2] along the last axis, or A' [1,2], B' [3,2] along the first. */
	int64_t av[2] = {1, 2}, bv[6] = {3, 4, 5, 6, 7, 8}, cv[4] = {9, 10, 11, 12};
	int last = axis == 1 || axis == -1, y = tensor(g, "y", 0, NULL), n;
	if (last) {
		int a = iconst(g, "a", 2, DIMS(2, 1), av), b = iconst(g, "b", 2, DIMS(2, 3), bv), c = iconst(g, "c", 2, DIMS(2, 2), cv);
		n = snode(g, EFFC_OP_CONCAT, "cat", 3, INS(a, b, c), y);
	} else {
		int a = iconst(g, "a", 2, DIMS(1, 2), av), b = iconst(g, "b", 2, DIMS(3, 2), bv);
		n = snode(g, EFFC_OP_CONCAT, "cat", 2, INS(a, b), y);
	}
	g->n[n].a.axis = axis;
	if (infer(&f, name)) {
		if (last)
			expect_ints(&f, name, n, y, 2, DIMS(2, 6), (const int64_t[]){1, 3, 4, 5, 9, 10, 2, 6, 7, 8, 11, 12});
		else
			expect_ints(&f, name, n, y, 2, DIMS(4, 2), (const int64_t[]){1, 2, 3, 4, 5, 6, 7, 8});
	}
	fixture_free(&f);
}

/* Slice of a 1-D [0..L) against membership: index j is taken iff it lies between the clamped
 * start and end and is a whole number of steps from the start. Every start/end of the list with
 * every step, extremes (INT64_MIN/MAX, as exporters write "to the end") included. */
static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static int slice_reference(int64_t len, int64_t s, int64_t e, int64_t st, int64_t *out)
{
	/* The spec, not Python: a start before the front clamps to 0 for either direction. */
	if (s < 0)
		s = s < -len ? -1 : s + len;
	if (e < 0)
		e = e < -len ? -1 : e + len;
	s = st > 0 ? clamp64(s, 0, len) : clamp64(s, 0, len - 1);
	e = st > 0 ? clamp64(e, 0, len) : clamp64(e, -1, len - 1);
	int k = 0;
	if (st > 0) {
		for (int64_t j = 0; j < len; j++)
			if (j >= s && j < e && (j - s) % st == 0)
				out[k++] = j;
	} else {
		for (int64_t j = len - 1; j >= 0; j--)
			if (j <= s && j > e && (s - j) % st == 0) /* not -st: st may be INT64_MIN */
				out[k++] = j;
	}
	return k;
}

static void test_slice_1d(void)
{
	const int64_t len = 7, vals[] = {INT64_MIN, -10, -8, -7, -3, -1, 0, 2, 6, 7, 9, INT64_MAX};
	const int64_t steps[] = {INT64_MIN, -3, -1, 1, 2, 5, INT64_MAX};
	int64_t data[7];
	for (int i = 0; i < len; i++)
		data[i] = i;
	int n_cases = 0, n_bad = 0;
	char first_bad[2400] = "";
	for (size_t a = 0; a < sizeof vals / sizeof *vals; a++)
		for (size_t b = 0; b < sizeof vals / sizeof *vals; b++)
			for (size_t c = 0; c < sizeof steps / sizeof *steps; c++) {
				struct fixture f;
				if (!fixture_init(&f, "slice 1-D"))
					continue;
				struct effc_graph *g = f.g;
				int x = iconst(g, "x", 1, DIMS(len), data), y = tensor(g, "y", 0, NULL);
				int s = iconst(g, "s", 1, DIMS(1), &vals[a]), e = iconst(g, "e", 1, DIMS(1), &vals[b]);
				int ax = iconst(g, "ax", 1, DIMS(1), (const int64_t[]){-1}), st = iconst(g, "st", 1, DIMS(1), &steps[c]);
				int n = snode(g, EFFC_OP_SLICE, "slice", 5, INS(x, s, e, ax, st), y);
				enum effc_status r = effc_infer_shapes(g, &f.d);
				int64_t want[8];
				int k = slice_reference(len, vals[a], vals[b], steps[c], want);
				const struct effc_tensor *t = &g->t[y];
				int ok = r == EFFC_OK && g->n[n].dead && t->rank == 1 && t->dims[0] == k;
				for (int i = 0; ok && i < k; i++)
					ok = ((const int64_t *)t->data)[i] == want[i];
				n_cases++;
				if (!ok && !n_bad++)
					snprintf(first_bad, sizeof first_bad,
						 "start %" PRId64 " end %" PRId64 " step %" PRId64 ": status %d, %s, %" PRId64 " values (want %d)",
						 vals[a], vals[b], steps[c], (int)r, f.d.msg, t->rank == 1 ? t->dims[0] : -1, k);
				fixture_free(&f);
			}
	char name[64];
	snprintf(name, sizeof name, "Slice 1-D: %d start/end/step cases", n_cases);
	check(n_bad == 0, name, "%d differ from the reference, first: %s", n_bad, first_bad);
}

/* 2-D data [3,5] = 10*r + c: axes given negative and out of order, a step on one of them; then the
 * same as Slice-1 attributes (opset 9, no steps); then defaults (no axes, no steps). */
static void test_slice_2d(int form)
{
	const char *names[] = {"Slice 2-D axes [-1, 0], steps [-2, 1]", "Slice-1 (opset 9) attributes",
			       "Slice 2-D default axes and steps"};
	const char *name = names[form];
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int64_t data[15];
	for (int i = 0; i < 15; i++)
		data[i] = 10 * (i / 5) + i % 5;
	int x = iconst(g, "x", 2, DIMS(3, 5), data), y = tensor(g, "y", 0, NULL), n;
	if (form == 0) {
		int s = iconst(g, "s", 1, DIMS(2), (const int64_t[]){-1, 1}), e = iconst(g, "e", 1, DIMS(2), (const int64_t[]){0, 100});
		int ax = iconst(g, "ax", 1, DIMS(2), (const int64_t[]){-1, 0}), st = iconst(g, "st", 1, DIMS(2), (const int64_t[]){-2, 1});
		n = snode(g, EFFC_OP_SLICE, "slice", 5, INS(x, s, e, ax, st), y);
	} else if (form == 1) {
		g->opset = 9;
		n = snode(g, EFFC_OP_SLICE, "slice", 1, INS(x), y);
		struct effc_attrs *a = &g->n[n].a;
		a->starts[0] = 1, a->starts[1] = -4, a->n_starts = 2;
		a->ends[0] = INT64_MAX, a->ends[1] = -1, a->n_ends = 2;
		a->axes[0] = 0, a->axes[1] = 1, a->n_axes = 2, a->has_axes = 1;
	} else {
		int s = iconst(g, "s", 1, DIMS(2), (const int64_t[]){2, 0}), e = iconst(g, "e", 1, DIMS(2), (const int64_t[]){3, 2});
		n = snode(g, EFFC_OP_SLICE, "slice", 3, INS(x, s, e), y);
	}
	if (infer(&f, name)) {
		if (form == 0) /* rows 1..2, columns 4, 2 */
			expect_ints(&f, name, n, y, 2, DIMS(2, 2), (const int64_t[]){14, 12, 24, 22});
		else if (form == 1) /* rows 1..2, columns 1..3 */
			expect_ints(&f, name, n, y, 2, DIMS(2, 3), (const int64_t[]){11, 12, 13, 21, 22, 23});
		else /* row 2, columns 0..1 */
			expect_ints(&f, name, n, y, 2, DIMS(1, 2), (const int64_t[]){20, 21});
	}
	fixture_free(&f);
}

static void test_cast(void)
{
	static const float src[5] = {-2.7f, -0.5f, 0.0f, 1.9f, 3e9f};
	static const struct {
		int to;
		const char *what;
		int64_t want[5];
	} cases[] = {
		{7, "int64 (truncated toward zero)", {-2, 0, 0, 1, 3000000000}},
		{6, "int32 (low 32 bits)", {-2, 0, 0, 1, 3000000000LL - 4294967296LL}},
		{9, "bool", {1, 1, 0, 1, 1}},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		char name[80];
		snprintf(name, sizeof name, "Cast float to %s", cases[c].what);
		struct fixture f;
		if (!fixture_init(&f, name))
			continue;
		int x = fconst(f.g, "x", 1, DIMS(5), src), y = tensor(f.g, "y", 0, NULL);
		int n = snode(f.g, EFFC_OP_CAST, "cast", 1, INS(x), y);
		f.g->n[n].a.to = cases[c].to;
		if (infer(&f, name))
			expect_ints(&f, name, n, y, 1, DIMS(5), cases[c].want);
		fixture_free(&f);
	}
	const char *name = "Cast int64 to float and back";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = iconst(g, "x", 1, DIMS(3), (const int64_t[]){-3, 0, 1 << 20}), y = tensor(g, "y", 0, NULL), z = tensor(g, "z", 0, NULL);
	int n1 = snode(g, EFFC_OP_CAST, "to_float", 1, INS(x), y), n2 = snode(g, EFFC_OP_CAST, "to_int", 1, INS(y), z);
	g->n[n1].a.to = 1, g->n[n2].a.to = 7;
	if (infer(&f, name)) {
		expect_floats(&f, name, n1, y, 1, DIMS(3), (const float[]){-3.0f, 0.0f, 1048576.0f});
		expect_ints(&f, name, n2, z, 1, DIMS(3), (const int64_t[]){-3, 0, 1 << 20});
	}
	fixture_free(&f);
}

/* Cast of a run-time float tensor to float is the identity; to an integer type it is refused. */
static void test_cast_runtime(int to)
{
	char name[64];
	snprintf(name, sizeof name, "Cast of a run-time tensor to type %d", to);
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 2, DIMS(1, 6)), c = tensor(g, "c", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int n = snode(g, EFFC_OP_CAST, "cast_x", 1, INS(x), c);
	g->n[n].a.to = to;
	if (to == 1) {
		node(g, EFFC_OP_RELU, "relu", 1, INS(c), y);
		output(g, y);
		if (infer(&f, name))
			expect(g->n[n].op == EFFC_OP_IDENTITY && !g->n[n].dead && g->t[c].dims[1] == 6, name,
			       "became a live Identity", "op %s, dead %d", effc_op_name(g->n[n].op), g->n[n].dead);
	} else {
		/* Reshape(X, Cast(X)): a shape that depends on data. */
		snode(g, EFFC_OP_RESHAPE, "reshape", 2, INS(x, c), y);
		output(g, y);
		expect_refused(&f, name, EFFC_ERR_UNSUPPORTED, "cast_x", "Cast", "computed at run time");
	}
	fixture_free(&f);
}

static void test_constant_of_shape(int with_value, int empty)
{
	char name[80];
	snprintf(name, sizeof name, "ConstantOfShape %s%s", with_value ? "int64 7" : "default float 0", empty ? ", empty" : "");
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int sh = iconst(g, "shape", 1, DIMS(2), (const int64_t[]){2, empty ? 0 : 3}), y = tensor(g, "y", 0, NULL), n;
	if (with_value)
		n = snode(g, EFFC_OP_CONSTANTOFSHAPE, "cos", 2, INS(sh, iconst(g, "cos.value", 1, DIMS(1), (const int64_t[]){7})), y);
	else
		n = snode(g, EFFC_OP_CONSTANTOFSHAPE, "cos", 1, INS(sh), y);
	if (infer(&f, name)) {
		int64_t d1 = empty ? 0 : 3;
		if (with_value)
			expect_ints(&f, name, n, y, 2, DIMS(2, d1), (const int64_t[]){7, 7, 7, 7, 7, 7});
		else
			expect_floats(&f, name, n, y, 2, DIMS(2, d1), (const float[]){0, 0, 0, 0, 0, 0});
	}
	fixture_free(&f);
}

static void test_range(void)
{
	static const struct {
		int64_t s, l, d;
		int n;
		int64_t want[4];
	} cases[] = {{1, 10, 3, 3, {1, 4, 7}}, {10, 1, -4, 3, {10, 6, 2}}, {0, 0, 1, 0, {0}}, {5, 1, 2, 0, {0}}, {-2, 2, 1, 4, {-2, -1, 0, 1}},
		     /* extremes: the distance overflows int64, the values do not */
		     {INT64_MIN, INT64_MAX, (int64_t)1 << 62, 4, {INT64_MIN, -((int64_t)1 << 62), 0, (int64_t)1 << 62}},
		     {INT64_MAX, INT64_MIN, INT64_MIN, 2, {INT64_MAX, -1}}};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		char name[80];
		snprintf(name, sizeof name, "Range(%" PRId64 ", %" PRId64 ", %" PRId64 ")", cases[c].s, cases[c].l, cases[c].d);
		struct fixture f;
		if (!fixture_init(&f, name))
			continue;
		struct effc_graph *g = f.g;
		int s = iconst(g, "s", 0, NULL, &cases[c].s), l = iconst(g, "l", 0, NULL, &cases[c].l), d = iconst(g, "d", 0, NULL, &cases[c].d);
		int y = tensor(g, "y", 0, NULL), n = snode(g, EFFC_OP_RANGE, "range", 3, INS(s, l, d), y);
		if (infer(&f, name))
			expect_ints(&f, name, n, y, 1, DIMS(cases[c].n), cases[c].want);
		fixture_free(&f);
	}
	const char *name = "Range(0.5, 2.0, 0.5) in float";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int s = fconst(g, "s", 0, NULL, (const float[]){0.5f}), l = fconst(g, "l", 0, NULL, (const float[]){2.0f});
	int d = fconst(g, "d", 0, NULL, (const float[]){0.5f}), y = tensor(g, "y", 0, NULL);
	int n = snode(g, EFFC_OP_RANGE, "range", 3, INS(s, l, d), y);
	if (infer(&f, name))
		expect_floats(&f, name, n, y, 1, DIMS(3), (const float[]){0.5f, 1.0f, 1.5f});
	fixture_free(&f);
}

static void test_expand(void)
{
	const char *name = "Expand [3,1] to [2,1,4]";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = iconst(g, "x", 2, DIMS(3, 1), (const int64_t[]){1, 2, 3}), sh = iconst(g, "sh", 1, DIMS(3), (const int64_t[]){2, 1, 4});
	int y = tensor(g, "y", 0, NULL), n = snode(g, EFFC_OP_EXPAND, "expand", 2, INS(x, sh), y);
	if (infer(&f, name)) {
		int64_t want[24];
		for (int i = 0; i < 24; i++)
			want[i] = 1 + (i / 4) % 3;
		expect_ints(&f, name, n, y, 3, DIMS(2, 3, 4), want);
	}
	fixture_free(&f);
	/* On run-time data: the identity when the shape does not grow, refused when it does. */
	for (int grow = 0; grow < 2; grow++) {
		name = grow ? "Expand of a run-time tensor that grows" : "Expand of a run-time tensor to its own shape";
		if (!fixture_init(&f, name))
			return;
		g = f.g;
		x = input(g, "X", 2, DIMS(1, 4));
		sh = iconst(g, "sh", 1, DIMS(2), (const int64_t[]){grow ? 3 : 1, 1});
		y = tensor(g, "y", 0, NULL);
		int z = tensor(g, "Y", 0, NULL);
		n = snode(g, EFFC_OP_EXPAND, "expand_x", 2, INS(x, sh), y);
		node(g, EFFC_OP_RELU, "relu", 1, INS(y), z);
		output(g, z);
		if (grow)
			expect_refused(&f, name, EFFC_ERR_UNSUPPORTED, "expand_x", "Expand", "computed at run time");
		else if (infer(&f, name))
			expect(g->n[n].op == EFFC_OP_IDENTITY && !g->n[n].dead, name, "became a live Identity", "op %s",
			       effc_op_name(g->n[n].op));
		fixture_free(&f);
	}
}

/* Equal and Where on a shape (as exporters write "0 means copy the dim"), and int64 arithmetic:
 * s = Shape(X[2,3,1]); eq = Equal(s, [1]); w = Where(eq, [5], s); m = Mul(s[0], s[1]);
 * q = Div(Sub(0, 7), 2) (truncated toward zero); a = Add(s, 1) -> Reshape(X, [m, -1]). */
static void test_equal_where_arith(void)
{
	const char *name = "Equal, Where, Add, Sub, Mul, Div on shapes";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 3, DIMS(2, 3, 1));
	int s = tensor(g, "s", 0, NULL), eq = tensor(g, "eq", 0, NULL), w = tensor(g, "w", 0, NULL), s0 = tensor(g, "s0", 0, NULL);
	int s1 = tensor(g, "s1", 0, NULL), m = tensor(g, "m", 0, NULL), neg = tensor(g, "neg", 0, NULL), q = tensor(g, "q", 0, NULL);
	int ad = tensor(g, "ad", 0, NULL), mu = tensor(g, "mu", 0, NULL), shp = tensor(g, "shp", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int one = iconst(g, "one", 1, DIMS(1), (const int64_t[]){1}), five = iconst(g, "five", 1, DIMS(1), (const int64_t[]){5});
	int i0 = iconst(g, "i0", 0, NULL, (const int64_t[]){0}), i1 = iconst(g, "i1", 0, NULL, (const int64_t[]){1});
	int seven = iconst(g, "seven", 0, NULL, (const int64_t[]){7}), two = iconst(g, "two", 0, NULL, (const int64_t[]){2});
	int m1 = iconst(g, "m1", 1, DIMS(1), (const int64_t[]){-1});
	int ns = snode(g, EFFC_OP_SHAPE, "shape", 1, INS(x), s);
	int ne = snode(g, EFFC_OP_EQUAL, "equal", 2, INS(s, one), eq);
	int nw = snode(g, EFFC_OP_WHERE, "where", 3, INS(eq, five, s), w);
	snode(g, EFFC_OP_GATHER, "g0", 2, INS(s, i0), s0);
	snode(g, EFFC_OP_GATHER, "g1", 2, INS(s, i1), s1);
	int nm = snode(g, EFFC_OP_MUL, "mul", 2, INS(s0, s1), m);
	int nsub = snode(g, EFFC_OP_SUB, "sub", 2, INS(i0, seven), neg);
	int nd = snode(g, EFFC_OP_DIV, "div", 2, INS(neg, two), q);
	int na = snode(g, EFFC_OP_ADD, "add", 2, INS(s, i1), ad);
	int axes = iconst(g, "axes", 1, DIMS(1), (const int64_t[]){0});
	int nu = snode(g, EFFC_OP_UNSQUEEZE, "unsq", 2, INS(m, axes), mu);
	snode(g, EFFC_OP_CONCAT, "cat", 2, INS(mu, m1), shp);
	snode(g, EFFC_OP_RESHAPE, "reshape", 2, INS(x, shp), y);
	output(g, y);
	if (infer(&f, name)) {
		expect_ints(&f, name, ns, s, 1, DIMS(3), (const int64_t[]){2, 3, 1});
		expect_ints(&f, name, ne, eq, 1, DIMS(3), (const int64_t[]){0, 0, 1});
		expect_ints(&f, name, nw, w, 1, DIMS(3), (const int64_t[]){2, 3, 5});
		expect_ints(&f, name, nm, m, 0, NULL, (const int64_t[]){6});
		expect_ints(&f, name, nsub, neg, 0, NULL, (const int64_t[]){-7});
		expect_ints(&f, name, nd, q, 0, NULL, (const int64_t[]){-3});
		expect_ints(&f, name, na, ad, 1, DIMS(3), (const int64_t[]){3, 4, 2});
		expect_ints(&f, name, nu, mu, 1, DIMS(1), (const int64_t[]){6});
		expect(g->t[y].rank == 2 && g->t[y].dims[0] == 6 && g->t[y].dims[1] == 1, name, "Reshape reads [6, -1]",
		       "Y is %s", effc_shape_str(g->arena, &g->t[y]));
	}
	fixture_free(&f);
}

/* Float arithmetic on a shape: Reshape(X[2,6,1], Concat(Cast<int64>(Unsqueeze(Cast<float>(Shape(X)[1])
 * * 0.5)), [-1])) gives [3, 4]. Float arithmetic on initializers alone stays for the fold-constants pass. */
static void test_float_shape_arith(void)
{
	const char *name = "float arithmetic on a shape value";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 3, DIMS(2, 6, 1));
	int s = tensor(g, "s", 0, NULL), c = tensor(g, "c", 0, NULL), cf = tensor(g, "cf", 0, NULL), h = tensor(g, "h", 0, NULL);
	int hu = tensor(g, "hu", 0, NULL), hi = tensor(g, "hi", 0, NULL), shp = tensor(g, "shp", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int k = tensor(g, "k", 0, NULL), y2 = tensor(g, "Y2", 0, NULL);
	int half = fconst(g, "half", 0, NULL, (const float[]){0.5f}), two = fconst(g, "two", 1, DIMS(1), (const float[]){2.0f});
	int s2 = snode(g, EFFC_OP_SHAPE, "shape", 1, INS(x), s);
	int ng = snode(g, EFFC_OP_GATHER, "gather", 2, INS(s, iconst(g, "i1", 0, NULL, (const int64_t[]){1})), c);
	int ncf = snode(g, EFFC_OP_CAST, "to_float", 1, INS(c), cf);
	int nm = snode(g, EFFC_OP_MUL, "halve", 2, INS(cf, half), h);
	int nu = snode(g, EFFC_OP_UNSQUEEZE, "unsqueeze", 2, INS(h, iconst(g, "axes", 1, DIMS(1), (const int64_t[]){0})), hu);
	int nci = snode(g, EFFC_OP_CAST, "to_int", 1, INS(hu), hi);
	g->n[ncf].a.to = 1, g->n[nci].a.to = 7;
	snode(g, EFFC_OP_CONCAT, "cat", 2, INS(hi, iconst(g, "m1", 1, DIMS(1), (const int64_t[]){-1})), shp);
	snode(g, EFFC_OP_RESHAPE, "reshape", 2, INS(x, shp), y);
	int nk = node(g, EFFC_OP_MUL, "consts", 2, INS(half, two), k);
	node(g, EFFC_OP_ADD, "add", 2, INS(y, k), y2);
	for (int t = 0; t < g->n_t; t++) /* node outputs, as the loader marks them */
		g->t[t].from_onnx = g->t[t].producer >= 0;
	output(g, y2);
	if (infer(&f, name)) {
		expect_ints(&f, name, s2, s, 1, DIMS(3), (const int64_t[]){2, 6, 1});
		expect_ints(&f, name, ng, c, 0, NULL, (const int64_t[]){6});
		expect_floats(&f, name, nm, h, 0, NULL, (const float[]){3.0f});
		expect_floats(&f, name, nu, hu, 1, DIMS(1), (const float[]){3.0f});
		expect(g->t[y].rank == 2 && g->t[y].dims[0] == 3 && g->t[y].dims[1] == 4, name, "Reshape reads [3, -1]", "Y is %s",
		       effc_shape_str(g->arena, &g->t[y]));
		expect(!g->n[nk].dead && !g->t[k].data, name, "Mul of two initializers is left to the pass",
		       "dead %d", g->n[nk].dead);
	}
	fixture_free(&f);
}

/* What TF-converted models compute shapes with: s = Shape(X[2,3,4,5]); the comparisons against
 * [3] (broadcast), Not, Neg, Abs; Floor and Ceil of s / 2 in float; ReduceProd of s[1:] as a
 * flatten (keepdims 1, no axes: all), and over axis -1 without keepdims. */
static void test_compare_unary_reduce(void)
{
	const char *name = "comparisons, Not, Neg, Abs, Floor, Ceil, ReduceProd on a shape";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(2, 3, 4, 5)), s = tensor(g, "s", 0, NULL);
	int three = iconst(g, "three", 1, DIMS(1), (const int64_t[]){3});
	snode(g, EFFC_OP_SHAPE, "shape", 1, INS(x), s);
	static const enum effc_op cmp[4] = {EFFC_OP_LESS, EFFC_OP_GREATER, EFFC_OP_LESSOREQUAL, EFFC_OP_GREATEROREQUAL};
	static const int64_t want_cmp[4][4] = {{1, 0, 0, 0}, {0, 0, 1, 1}, {1, 1, 0, 0}, {0, 1, 1, 1}};
	int nc[4], tc[4];
	for (int i = 0; i < 4; i++)
		tc[i] = tensor(g, effc_op_name(cmp[i]), 0, NULL), nc[i] = snode(g, cmp[i], effc_op_name(cmp[i]), 2, INS(s, three), tc[i]);
	int tn = tensor(g, "not", 0, NULL), nn = snode(g, EFFC_OP_NOT, "not", 1, INS(tc[0]), tn);
	int tneg = tensor(g, "neg", 0, NULL), nneg = snode(g, EFFC_OP_NEG, "neg", 1, INS(s), tneg);
	int tabs = tensor(g, "abs", 0, NULL), nabs = snode(g, EFFC_OP_ABS, "abs", 1, INS(tneg), tabs);
	int sf = tensor(g, "sf", 0, NULL), half = tensor(g, "half", 0, NULL);
	int ncast = snode(g, EFFC_OP_CAST, "to_float", 1, INS(s), sf);
	g->n[ncast].a.to = 1;
	snode(g, EFFC_OP_DIV, "halve", 2, INS(sf, fconst(g, "two", 0, NULL, (const float[]){2.0f})), half);
	int tfl = tensor(g, "floor", 0, NULL), nfl = snode(g, EFFC_OP_FLOOR, "floor", 1, INS(half), tfl);
	int tce = tensor(g, "ceil", 0, NULL), nce = snode(g, EFFC_OP_CEIL, "ceil", 1, INS(half), tce);
	int tail = tensor(g, "tail", 0, NULL);
	snode(g, EFFC_OP_SLICE, "tail", 3, INS(s, iconst(g, "b", 1, DIMS(1), (const int64_t[]){1}),
					       iconst(g, "e", 1, DIMS(1), (const int64_t[]){INT64_MAX})), tail);
	int tp = tensor(g, "prod", 0, NULL), np = snode(g, EFFC_OP_REDUCEPROD, "prod", 1, INS(tail), tp);
	g->n[np].a.keepdims = 1, g->n[np].a.n_axes = 0;
	int m = iconst(g, "m", 2, DIMS(2, 3), (const int64_t[]){1, 2, 3, -4, 5, 6});
	int tp2 = tensor(g, "prod_rows", 0, NULL), np2 = snode(g, EFFC_OP_REDUCEPROD, "prod_rows", 1, INS(m), tp2);
	g->n[np2].a.keepdims = 0, g->n[np2].a.axes[0] = -1, g->n[np2].a.n_axes = 1;
	for (int t = 0; t < g->n_t; t++) /* node outputs, as the loader marks them */
		g->t[t].from_onnx = g->t[t].producer >= 0;
	if (infer(&f, name)) {
		for (int i = 0; i < 4; i++)
			expect_ints(&f, name, nc[i], tc[i], 1, DIMS(4), want_cmp[i]);
		expect_ints(&f, name, nn, tn, 1, DIMS(4), (const int64_t[]){0, 1, 1, 1});
		expect_ints(&f, name, nneg, tneg, 1, DIMS(4), (const int64_t[]){-2, -3, -4, -5});
		expect_ints(&f, name, nabs, tabs, 1, DIMS(4), (const int64_t[]){2, 3, 4, 5});
		expect_floats(&f, name, nfl, tfl, 1, DIMS(4), (const float[]){1, 1, 2, 2});
		expect_floats(&f, name, nce, tce, 1, DIMS(4), (const float[]){1, 2, 2, 3});
		expect_ints(&f, name, np, tp, 1, DIMS(1), (const int64_t[]){60});
		expect_ints(&f, name, np2, tp2, 1, DIMS(2), (const int64_t[]){6, -120});
	}
	fixture_free(&f);
}

/* Float comparisons follow IEEE: NaN compares false, even to itself. */
static void test_compare_nan(void)
{
	const char *name = "float comparisons with NaN";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int a = fconst(g, "a", 1, DIMS(3), (const float[]){1.0f, NAN, 3.0f}), b = fconst(g, "b", 1, DIMS(3), (const float[]){2.0f, NAN, 3.0f});
	static const enum effc_op ops[3] = {EFFC_OP_LESS, EFFC_OP_EQUAL, EFFC_OP_GREATEROREQUAL};
	static const int64_t want[3][3] = {{1, 0, 0}, {0, 0, 1}, {0, 0, 1}};
	int nd[3], t[3];
	for (int i = 0; i < 3; i++)
		t[i] = tensor(g, effc_op_name(ops[i]), 0, NULL), nd[i] = snode(g, ops[i], effc_op_name(ops[i]), 2, INS(a, b), t[i]);
	if (infer(&f, name))
		for (int i = 0; i < 3; i++)
			expect_ints(&f, name, nd[i], t[i], 1, DIMS(3), want[i]);
	fixture_free(&f);
}

static void test_div_by_zero(void)
{
	const char *name = "int64 Div by zero";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	int a = iconst(f.g, "a", 0, NULL, (const int64_t[]){4}), b = iconst(f.g, "b", 0, NULL, (const int64_t[]){0});
	snode(f.g, EFFC_OP_DIV, "divz", 2, INS(a, b), tensor(f.g, "q", 0, NULL));
	expect_refused(&f, name, EFFC_ERR_INVALID, "divz", "Div", "undefined");
	fixture_free(&f);
}

/* Squeeze of an int64 constant: axes as an input (opset 13) or attribute (opset 11). */
static void test_squeeze_int(int opset)
{
	char name[64];
	snprintf(name, sizeof name, "Squeeze int64, opset %d", opset);
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	g->opset = opset;
	int x = iconst(g, "x", 2, DIMS(1, 3), (const int64_t[]){4, 5, 6}), y = tensor(g, "y", 0, NULL), n;
	if (opset >= 13) {
		n = snode(g, EFFC_OP_SQUEEZE, "squeeze", 2, INS(x, iconst(g, "axes", 1, DIMS(1), (const int64_t[]){-2})), y);
	} else {
		n = snode(g, EFFC_OP_SQUEEZE, "squeeze", 1, INS(x), y);
		g->n[n].a.axes[0] = -2, g->n[n].a.n_axes = 1, g->n[n].a.has_axes = 1;
	}
	if (infer(&f, name))
		expect_ints(&f, name, n, y, 1, DIMS(3), (const int64_t[]){4, 5, 6});
	fixture_free(&f);
}

/* ---- what must stay refused ------------------------------------------------------------- */

/* Gather from, and Concat of, values computed at run time: Reshape(X, Concat(Gather(Flatten(X)), ..)) */
static void test_refused_data_dependent(int which)
{
	const char *name = which == 0 ? "refused: Gather of run-time data" : which == 1 ? "refused: Concat of a run-time tensor"
					  : "refused: Slice of run-time data";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 2, DIMS(1, 4)), v = tensor(g, "v", 0, NULL), y = tensor(g, "Y", 0, NULL);
	if (which == 0) {
		snode(g, EFFC_OP_GATHER, "gather_data", 2, INS(x, iconst(g, "i", 1, DIMS(1), (const int64_t[]){0})), v);
		snode(g, EFFC_OP_RESHAPE, "reshape", 2, INS(x, v), y);
		output(g, y);
		expect_refused(&f, name, EFFC_ERR_UNSUPPORTED, "gather_data", "Gather", "'X' is computed at run time");
	} else if (which == 1) {
		int n = snode(g, EFFC_OP_CONCAT, "concat_x", 2, INS(iconst(g, "c", 2, DIMS(1, 4), (const int64_t[]){1, 2, 3, 4}), x), v);
		g->n[n].a.axis = 0;
		output(g, v);
		expect_refused(&f, name, EFFC_ERR_UNSUPPORTED, "concat_x", "Concat", "'X' is computed at run time");
	} else {
		int s = iconst(g, "s", 1, DIMS(1), (const int64_t[]){1}), e = iconst(g, "e", 1, DIMS(1), (const int64_t[]){3});
		snode(g, EFFC_OP_SLICE, "slice_x", 3, INS(x, s, e), v);
		output(g, v);
		expect_refused(&f, name, EFFC_ERR_UNSUPPORTED, "slice_x", "Slice", "'X' is computed at run time");
	}
	fixture_free(&f);
}

static int dump_model(const char *path)
{
	struct effc_arena *arena = effc_arena_new();
	struct effc_graph *g = arena ? effc_graph_new(arena, path) : NULL;
	struct effc_diag d = {{0}, EFFC_OK};
	struct effc_load_options o = {.batch = 1};
	if (!g)
		testing_oom();
	enum effc_status st = effc_load_onnx(g, path, &o, &d);
	if (!st)
		st = effc_infer_shapes(g, &d);
	if (!st) /* float Squeeze/Unsqueeze of constants are the fold-constants pass's */
		st = effc_pass_fold_constants(g, &d);
	for (int k = 0; !st && k < g->n_outputs; k++) {
		const struct effc_tensor *t = &g->t[g->outputs[k]];
		if (!t->data) {
			st = effc_fail(&d, EFFC_ERR_UNSUPPORTED, "output '%s' was not evaluated at compile time", t->name);
			break;
		}
		printf("%s %s %d", t->name, t->dtype == EFFC_I64 ? "i64" : "f32", t->rank);
		for (int i = 0; i < t->rank; i++)
			printf(" %" PRId64, t->dims[i]);
		printf(" :");
		for (int64_t i = 0; i < effc_tensor_numel(t); i++)
			if (t->dtype == EFFC_I64)
				printf(" %" PRId64, ((const int64_t *)t->data)[i]);
			else
				printf(" %.9g", (double)((const float *)t->data)[i]);
		printf("\n");
	}
	if (st)
		fprintf(stderr, "status %d: %s\n", (int)st, d.msg);
	effc_arena_free(arena);
	return st != EFFC_OK;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump"))
		return dump_model(argv[2]);
	test_view_head(13, 1);
	test_view_head(13, 3);
	test_view_head(11, 2);
	test_shape_start_end();
	test_gather(0, 0);
	test_gather(1, 0);
	test_gather(-1, 1);
	test_gather_out_of_range();
	test_concat(-1);
	test_concat(0);
	test_slice_1d();
	for (int form = 0; form < 3; form++)
		test_slice_2d(form);
	test_cast();
	test_cast_runtime(1);
	test_cast_runtime(7);
	test_constant_of_shape(1, 0);
	test_constant_of_shape(0, 0);
	test_constant_of_shape(1, 1);
	test_range();
	test_expand();
	test_equal_where_arith();
	test_float_shape_arith();
	test_compare_unary_reduce();
	test_compare_nan();
	test_div_by_zero();
	test_squeeze_int(13);
	test_squeeze_int(11);
	for (int which = 0; which < 3; which++)
		test_refused_data_dependent(which);
	return test_summary();
}
