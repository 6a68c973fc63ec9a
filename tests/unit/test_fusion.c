/* test_fusion.c: unit tests of the rewrite passes (cleanup, fold-constants, fold-input-norm,
 * fold-pad, fold-bn, fuse-activation, fuse-se, dce) and of in-place execution in the memory plan,
 * on small graphs built by hand.
 *
 * Every pass gets cases it must match and cases it must leave alone. A case builds its graph with
 * the helpers of testing.h (the way the loader builds one), infers shapes and runs the single pass under
 * test (fuse-se first runs fuse-activation, its stated precondition). It then checks the
 * structure (which nodes died, who reads and writes what) and the numbers: rewritten weights
 * against the formula in the pass's header comment, and, where a fold changes the arithmetic, the
 * subgraph's result computed with the runtime's reference kernels before and after the pass
 * (XNNPACK's with-and-without idea). Every graph is also checked for structural sanity: producers
 * point at the node that writes the tensor and every input is available before it is read.
 *
 * Output: one line per check, `ok NAME` or `FAIL NAME: why`, then `N passed, M failed`.
 * Adding a case: a test_<pass>_<case>() building its graph with the helpers of testing.h and a call
 * in main(). */
#include "effc.h"
#include "effc_rt.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

/* max over i of |got - want| / max(1, |want|) <= tol; NaN anywhere fails. */
static void expect_floats(const char *cname, const char *what, const float *got, const double *want, size_t n,
			  double tol)
{
	double worst = 0.0;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		double err = fabs((double)got[i] - want[i]) / (fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0);
		if (isnan(err))
			err = INFINITY;
		if (err > worst)
			worst = err, at = i;
	}
	expect(worst <= tol, cname, what, "relative error %g > %g at element %zu of %zu (got %.9g, want %.9g)", worst, tol,
	       at, n, n ? (double)got[at] : 0.0, n ? want[at] : 0.0);
}

/* Same against a float reference. */
static void expect_close(const char *cname, const char *what, const float *got, const float *want, size_t n, double tol)
{
	double *w = malloc(sizeof(double) * (n ? n : 1));
	if (!w)
		abort();
	for (size_t i = 0; i < n; i++)
		w[i] = want[i];
	expect_floats(cname, what, got, w, n, tol);
	free(w);
}

/* ---- graph building (beyond testing.h) -------------------------------------------------- */

static void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p) {
		fprintf(stderr, "test_fusion: out of memory\n");
		abort();
	}
	return p;
}

/* Seeded values in [lo, hi): a fixed LCG, identical on every platform. */
static uint32_t lcg_state = 12345u;
static float lcg_uniform(float lo, float hi)
{
	lcg_state = lcg_state * 1664525u + 1013904223u;
	return lo + (hi - lo) * (float)(lcg_state >> 8) / 16777216.0f;
}

static void fill(float *p, size_t n, float lo, float hi)
{
	for (size_t i = 0; i < n; i++)
		p[i] = lcg_uniform(lo, hi);
}

static int random_const(struct effc_graph *g, const char *name, int rank, const int64_t *dims, float lo, float hi)
{
	int t = tensor(g, name, rank, dims);
	fill(const_alloc(g, t), (size_t)effc_tensor_numel(&g->t[t]), lo, hi);
	return t;
}

/* A 1-D int64 constant (Pad's pads). */
static int i64_const(struct effc_graph *g, const char *name, int n, const int64_t *vals)
{
	int t = tensor(g, name, 1, (const int64_t[]){n});
	g->t[t].dtype = EFFC_I64;
	int64_t *p = effc_arena_alloc(g->arena, effc_tensor_bytes(&g->t[t]));
	if (!p)
		abort();
	memcpy(p, vals, sizeof(int64_t) * (size_t)n);
	g->t[t].data = p;
	return t;
}

static int conv(struct effc_graph *g, const char *name, int x, int w, int b, int pad, int out)
{
	int id = b >= 0 ? node(g, EFFC_OP_CONV, name, 3, INS(x, w, b), out) : node(g, EFFC_OP_CONV, name, 2, INS(x, w), out);
	for (int i = 0; i < 4; i++)
		g->n[id].a.pads[i] = pad;
	return id;
}

static int infer(struct fixture *f, const char *cname)
{
	enum effc_status st = effc_infer_shapes(f->g, &f->d);
	expect(st == EFFC_OK, cname, "shapes inferred", "status %d: %s", (int)st, f->d.msg);
	return st == EFFC_OK;
}

static int apply(struct fixture *f, const char *cname, const char *pass_name,
		 enum effc_status (*pass)(struct effc_graph *, struct effc_diag *))
{
	char what[96];
	f->g->rewrites = 0;
	enum effc_status st = pass(f->g, &f->d);
	snprintf(what, sizeof what, "%s succeeds", pass_name);
	expect(st == EFFC_OK, cname, what, "status %d: %s", (int)st, f->d.msg);
	return st == EFFC_OK;
}

/* ---- generic graph checks --------------------------------------------------------------- */

/* Producers match, every input of a live node is a constant, a graph input or the output of an
 * earlier live node, and graph outputs are produced (or constant/input). */
static void check_structure(struct effc_graph *g, const char *cname)
{
	char why[256] = "";
	int ok = nodes_ordered(g, why, sizeof why);
	for (int k = 0; k < g->n_outputs && ok; k++) {
		const struct effc_tensor *t = &g->t[g->outputs[k]];
		if (!t->data && !t->is_input && (t->producer < 0 || g->n[t->producer].dead)) {
			snprintf(why, sizeof why, "graph output '%s' has no live producer", t->name);
			ok = 0;
		}
	}
	expect(ok, cname, "graph structure valid", "%s", why);
}

static const float *fdata(const struct effc_graph *g, int t) { return t >= 0 ? g->t[t].data : NULL; }

/* ONNX Conv of node n (NCHW, OIHW, its current weights, bias and pads) with the reference kernel. */
static void conv_ref(const struct effc_graph *g, int id, const float *x, float *y)
{
	const struct effc_node *n = &g->n[id];
	const struct effc_tensor *xt = &g->t[n->in[0]], *w = &g->t[n->in[1]], *yt = &g->t[n->out[0]];
	const struct effc_attrs *a = &n->a;
	struct effc_rt_conv2d p = {
		.batch = (int)xt->dims[0], .in_h = (int)xt->dims[2], .in_w = (int)xt->dims[3], .in_c = (int)xt->dims[1],
		.out_h = (int)yt->dims[2], .out_w = (int)yt->dims[3], .out_c = (int)w->dims[0], .groups = (int)a->group,
		.kh = (int)w->dims[2], .kw = (int)w->dims[3], .sh = (int)a->strides[0], .sw = (int)a->strides[1],
		.dh = (int)a->dilations[0], .dw = (int)a->dilations[1], .pad_top = (int)a->pads[0], .pad_left = (int)a->pads[1],
		.pad_bottom = (int)a->pads[2], .pad_right = (int)a->pads[3], .out_min = -INFINITY, .out_max = INFINITY};
	effc_rt_ref_conv2d(&p, w->data, n->n_in > 2 ? fdata(g, n->in[2]) : NULL, x, y);
}

static size_t numel(const struct effc_graph *g, int t) { return (size_t)effc_tensor_numel(&g->t[t]); }

/* ---- cleanup ---------------------------------------------------------------------------- */

/* X -> Identity -> Sigmoid -> Dropout(ratio) -> Relu -> Y: both no-ops go, readers rewired. */
static void test_cleanup_removes(void)
{
	const char *cn = "cleanup Identity and Dropout removed";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 4, 3, 3));
	int ratio = constant(g, "ratio", 0, NULL, 0.5f, 0.0f);
	int a = tensor(g, "a", 0, NULL), b = tensor(g, "b", 0, NULL), c = tensor(g, "c", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int idn = node(g, EFFC_OP_IDENTITY, "id", 1, INS(x), a);
	int sig = node(g, EFFC_OP_SIGMOID, "sig", 1, INS(a), b);
	int drop = node(g, EFFC_OP_DROPOUT, "drop", 2, INS(b, ratio), c);
	int relu = node(g, EFFC_OP_RELU, "relu", 1, INS(c), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "cleanup", effc_pass_cleanup)) {
		expect(g->n[idn].dead && g->n[drop].dead, cn, "Identity and Dropout dead", "identity dead %d, dropout dead %d",
		       g->n[idn].dead, g->n[drop].dead);
		expect(!g->n[sig].dead && g->n[sig].in[0] == x, cn, "Sigmoid reads X", "reads tensor %d", g->n[sig].in[0]);
		expect(!g->n[relu].dead && g->n[relu].in[0] == b, cn, "Relu reads the Sigmoid output", "reads tensor %d",
		       g->n[relu].in[0]);
		expect(g->rewrites == 2, cn, "2 rewrites counted", "%d", g->rewrites);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* Non-match: an Identity whose output is a graph output stays (the output keeps its name). */
static void test_cleanup_output_kept(void)
{
	const char *cn = "cleanup Identity writing a graph output kept";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 2, DIMS(3, 5));
	int s = tensor(g, "s", 0, NULL), y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_SIGMOID, "sig", 1, INS(x), s);
	int idn = node(g, EFFC_OP_IDENTITY, "id", 1, INS(s), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "cleanup", effc_pass_cleanup)) {
		expect(!g->n[idn].dead && g->n[idn].in[0] == s && g->t[y].producer == idn, cn, "Identity alive, writes Y",
		       "dead %d, Y producer %d", g->n[idn].dead, g->t[y].producer);
		expect(g->rewrites == 0, cn, "no rewrites", "%d", g->rewrites);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* ---- fold_constants --------------------------------------------------------------------- */

/* R = Relu(Add(A, B) - 16) from constants only, then Y = X + R: the chain folds (including the
 * results of earlier folds), the Add with the run-time X does not. */
static void test_fold_constants_add(void)
{
	const char *cn = "fold-constants Add/Sub/Relu chain of constants";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 2, DIMS(2, 3));
	int a = constant(g, "A", 2, DIMS(2, 3), 1.0f, 1.0f);  /* 1..6 */
	int b = constant(g, "B", 1, DIMS(3), 10.0f, 5.0f);    /* 10, 15, 20 */
	int k = constant(g, "K", 0, NULL, 16.0f, 0.0f);
	int s = tensor(g, "S", 0, NULL), t = tensor(g, "T", 0, NULL), r = tensor(g, "R", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int add = node(g, EFFC_OP_ADD, "add", 2, INS(a, b), s);
	int sub = node(g, EFFC_OP_SUB, "sub", 2, INS(s, k), t);
	int relu = node(g, EFFC_OP_RELU, "relu", 1, INS(t), r);
	int add2 = node(g, EFFC_OP_ADD, "add_x", 2, INS(x, r), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fold_constants", effc_pass_fold_constants)) {
		static const double want_s[6] = {11, 17, 23, 14, 20, 26}, want_r[6] = {0, 1, 7, 0, 4, 10};
		expect(g->n[add].dead && g->n[sub].dead && g->n[relu].dead, cn, "Add, Sub, Relu dead", "dead %d %d %d",
		       g->n[add].dead, g->n[sub].dead, g->n[relu].dead);
		expect(g->t[s].data && g->t[r].data && g->t[s].producer < 0 && g->t[r].producer < 0, cn,
		       "S and R are constants", "S data %p, R data %p", g->t[s].data, g->t[r].data);
		if (g->t[s].data && g->t[r].data) {
			expect_floats(cn, "S = A + B (broadcast over rows)", g->t[s].data, want_s, 6, 0.0);
			expect_floats(cn, "R = max(S - 16, 0)", g->t[r].data, want_r, 6, 0.0);
		}
		expect(!g->n[add2].dead && g->n[add2].in[0] == x && g->n[add2].in[1] == r && !g->t[y].data, cn,
		       "Add with run-time X not folded", "dead %d, Y data %p", g->n[add2].dead, g->t[y].data);
		expect(g->rewrites == 3, cn, "3 rewrites counted", "%d", g->rewrites);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* T = Transpose(C, perm 2,0,1) of a [2,3,4] constant: T[i][j][k] = C[j][k][i]. */
static void test_fold_constants_transpose(void)
{
	const char *cn = "fold-constants Transpose of a constant";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 3, DIMS(4, 2, 3));
	int c = constant(g, "C", 3, DIMS(2, 3, 4), 0.0f, 1.0f); /* value = linear index */
	int t = tensor(g, "T", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int tr = node(g, EFFC_OP_TRANSPOSE, "tr", 1, INS(c), t);
	g->n[tr].a.perm[0] = 2, g->n[tr].a.perm[1] = 0, g->n[tr].a.perm[2] = 1, g->n[tr].a.n_perm = 3;
	int mul = node(g, EFFC_OP_MUL, "mul", 2, INS(x, t), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fold_constants", effc_pass_fold_constants)) {
		const struct effc_tensor *tt = &g->t[t];
		expect(g->n[tr].dead && tt->data && tt->rank == 3 && tt->dims[0] == 4 && tt->dims[1] == 2 && tt->dims[2] == 3, cn,
		       "T is a [4,2,3] constant", "dead %d, data %p, rank %d", g->n[tr].dead, tt->data, tt->rank);
		if (tt->data) {
			const float *p = tt->data;
			int bad = -1;
			for (int i = 0; i < 4; i++)
				for (int j = 0; j < 2; j++)
					for (int k = 0; k < 3; k++)
						if (p[(i * 2 + j) * 3 + k] != (float)(j * 12 + k * 4 + i) && bad < 0)
							bad = (i * 2 + j) * 3 + k;
			expect(bad < 0, cn, "T[i][j][k] = C[j][k][i] for every element", "element %d is %g", bad,
			       bad >= 0 ? (double)p[bad] : 0.0);
			expect(p[(3 * 2 + 1) * 3 + 2] == 23.0f, cn, "T[3][1][2] = C[1][2][3] = 23", "got %g",
			       (double)p[(3 * 2 + 1) * 3 + 2]);
		}
		expect(!g->n[mul].dead && !g->t[y].data, cn, "Mul with run-time X kept", "dead %d", g->n[mul].dead);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* Non-match: every node reads a run-time value somewhere. */
static void test_fold_constants_runtime(void)
{
	const char *cn = "fold-constants nodes with run-time inputs kept";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 2, DIMS(2, 3));
	int k = constant(g, "K", 1, DIMS(3), 1.0f, 1.0f);
	int s = tensor(g, "s", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int sig = node(g, EFFC_OP_SIGMOID, "sig", 1, INS(x), s);
	int add = node(g, EFFC_OP_ADD, "add", 2, INS(k, s), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fold_constants", effc_pass_fold_constants)) {
		expect(!g->n[sig].dead && !g->n[add].dead && !g->t[s].data && !g->t[y].data, cn, "Sigmoid and Add kept",
		       "sig dead %d, add dead %d", g->n[sig].dead, g->n[add].dead);
		expect(g->rewrites == 0, cn, "no rewrites", "%d", g->rewrites);
	}
	fixture_free(&f);
}

/* ---- fold_input_norm -------------------------------------------------------------------- */

/* Applies z = x op c per channel (c of C values or a scalar) to NCHW data in the test. */
static void per_channel_op(enum effc_op op, const float *x, const float *c, int scalar, int C, int hw, float *z)
{
	for (int ch = 0; ch < C; ch++)
		for (int i = 0; i < hw; i++) {
			float v = c[scalar ? 0 : ch], in = x[ch * hw + i];
			z[ch * hw + i] = op == EFFC_OP_MUL ? in * v : op == EFFC_OP_DIV ? in / v : op == EFFC_OP_SUB ? in - v : in + v;
		}
}

/* X[1,3,5,5] -> Mul by s[1,3,1,1] -> Conv(pads 1): W'[o][c] = W[o][c] * s[c], bias kept. The
 * constant may come first (Mul is commutative). */
static void test_fold_input_norm_mul(const char *cn, int const_first)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 3, 5, 5));
	int s = constant(g, "scale", 4, DIMS(1, 3, 1, 1), 0.5f, 1.0f); /* 0.5, 1.5, 2.5 */
	int w = random_const(g, "W", 4, DIMS(4, 3, 3, 3), -1.0f, 1.0f);
	int b = random_const(g, "B", 1, DIMS(4), -1.0f, 1.0f);
	int z = tensor(g, "z", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int mul = const_first ? node(g, EFFC_OP_MUL, "norm", 2, INS(s, x), z) : node(g, EFFC_OP_MUL, "norm", 2, INS(x, s), z);
	int cv = conv(g, "conv", z, w, b, 1, y);
	output(g, y);
	float *xd = xmalloc(sizeof(float) * 75), *zd = xmalloc(sizeof(float) * 75);
	float *before = xmalloc(sizeof(float) * 100), *after = xmalloc(sizeof(float) * 100);
	fill(xd, 75, -2.0f, 2.0f);
	float w_orig[108];
	memcpy(w_orig, fdata(g, w), sizeof w_orig);
	if (infer(&f, cn)) {
		per_channel_op(EFFC_OP_MUL, xd, fdata(g, s), 0, 3, 25, zd);
		conv_ref(g, cv, zd, before);
		if (apply(&f, cn, "fold_input_norm", effc_pass_fold_input_norm)) {
			const struct effc_node *c = &g->n[cv];
			expect(g->n[mul].dead && c->in[0] == x, cn, "Mul dead, conv reads X", "mul dead %d, conv reads %d",
			       g->n[mul].dead, c->in[0]);
			expect(c->in[1] != w && fdata(g, c->in[1]) && numel(g, c->in[1]) == 108, cn, "conv has new weights",
			       "weights tensor %d", c->in[1]);
			if (c->in[1] != w && fdata(g, c->in[1])) {
				double want[108];
				for (int i = 0; i < 108; i++)
					want[i] = (double)(fdata(g, w)[i] * fdata(g, s)[(i / 9) % 3]);
				expect_floats(cn, "W'[o][c][k] = W[o][c][k] * s[c]", fdata(g, c->in[1]), want, 108, 0.0);
			}
			int bi = c->n_in > 2 ? c->in[2] : -1;
			double wb[4];
			for (int o = 0; o < 4; o++)
				wb[o] = fdata(g, b)[o];
			if (bi >= 0 && fdata(g, bi))
				expect_floats(cn, "bias unchanged", fdata(g, bi), wb, 4, 0.0);
			else
				expect(0, cn, "bias unchanged", "conv lost its bias");
			expect(memcmp(fdata(g, w), w_orig, sizeof w_orig) == 0, cn, "original W untouched", "W changed");
			conv_ref(g, cv, xd, after);
			expect_close(cn, "conv(X) after == conv(X * s) before", after, before, 100, 1e-5);
			check_structure(g, cn);
		}
	}
	free(xd), free(zd), free(before), free(after);
	fixture_free(&f);
}

/* X -> Sub(m) [-> Div(s)] -> Conv(W, B, pads 0): B'[o] = B[o] - sum_{c,k} W'[o][c][k] m[c]. */
static void test_fold_input_norm_sub(const char *cn, int with_div)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 3, 5, 5));
	int m = constant(g, "mean", 4, DIMS(1, 3, 1, 1), 0.485f, 0.02f);
	int s = constant(g, "std", 3, DIMS(3, 1, 1), 0.229f, 0.03f);
	int w = random_const(g, "W", 4, DIMS(4, 3, 3, 3), -1.0f, 1.0f);
	int b = random_const(g, "B", 1, DIMS(4), -1.0f, 1.0f);
	int z = tensor(g, "z", 0, NULL), zz = with_div ? tensor(g, "zz", 0, NULL) : z, y = tensor(g, "Y", 0, NULL);
	int sub = node(g, EFFC_OP_SUB, "sub_mean", 2, INS(x, m), z);
	int div = with_div ? node(g, EFFC_OP_DIV, "div_std", 2, INS(z, s), zz) : -1;
	int cv = conv(g, "conv", zz, w, b, 0, y);
	output(g, y);
	float *xd = xmalloc(sizeof(float) * 75), *zd = xmalloc(sizeof(float) * 75), *zzd = xmalloc(sizeof(float) * 75);
	float *before = xmalloc(sizeof(float) * 36), *after = xmalloc(sizeof(float) * 36);
	fill(xd, 75, 0.0f, 1.0f);
	if (infer(&f, cn)) {
		per_channel_op(EFFC_OP_SUB, xd, fdata(g, m), 0, 3, 25, zd);
		if (with_div)
			per_channel_op(EFFC_OP_DIV, zd, fdata(g, s), 0, 3, 25, zzd);
		conv_ref(g, cv, with_div ? zzd : zd, before);
		if (apply(&f, cn, "fold_input_norm", effc_pass_fold_input_norm)) {
			const struct effc_node *c = &g->n[cv];
			expect(g->n[sub].dead && (div < 0 || g->n[div].dead) && c->in[0] == x, cn, "normalisation dead, conv reads X",
			       "sub dead %d, conv reads %d", g->n[sub].dead, c->in[0]);
			expect(g->rewrites == (with_div ? 2 : 1), cn, "rewrites counted", "%d", g->rewrites);
			/* Expected weights and bias in double from the originals. */
			double ww[108], wb[4];
			for (int i = 0; i < 108; i++)
				ww[i] = with_div ? (double)(fdata(g, w)[i] / fdata(g, s)[(i / 9) % 3]) : (double)fdata(g, w)[i];
			for (int o = 0; o < 4; o++) {
				wb[o] = fdata(g, b)[o];
				for (int i = 0; i < 27; i++)
					wb[o] -= ww[o * 27 + i] * fdata(g, m)[i / 9];
			}
			if (fdata(g, c->in[1]))
				expect_floats(cn, with_div ? "W' = W / s" : "weights keep their values", fdata(g, c->in[1]), ww, 108, 1e-7);
			int bi = c->n_in > 2 ? c->in[2] : -1;
			if (bi >= 0 && fdata(g, bi))
				expect_floats(cn, "B' = B - sum W' * m", fdata(g, bi), wb, 4, 1e-6);
			else
				expect(0, cn, "B' = B - sum W' * m", "conv has no bias");
			conv_ref(g, cv, xd, after);
			expect_close(cn, "conv(X) after == conv(normalised X) before", after, before, 36, 1e-5);
			check_structure(g, cn);
		}
	}
	free(xd), free(zd), free(zzd), free(before), free(after);
	fixture_free(&f);
}

/* Non-match: Sub before a padded conv (the border would see -m, not 0), and a Mul by a constant
 * that is not per channel. */
static void test_fold_input_norm_kept(const char *cn, enum effc_op op, const int64_t *cdims, int crank, int pad)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 3, 5, 5));
	int k = constant(g, "K", crank, cdims, 0.5f, 0.01f);
	int w = random_const(g, "W", 4, DIMS(4, 3, 3, 3), -1.0f, 1.0f);
	int b = random_const(g, "B", 1, DIMS(4), -1.0f, 1.0f);
	int z = tensor(g, "z", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int e = node(g, op, "norm", 2, INS(x, k), z);
	int cv = conv(g, "conv", z, w, b, pad, y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fold_input_norm", effc_pass_fold_input_norm)) {
		expect(!g->n[e].dead && g->n[cv].in[0] == z && g->n[cv].in[1] == w && g->n[cv].in[2] == b, cn,
		       "normalisation kept, conv untouched", "%s dead %d, conv reads %d, %d, %d", effc_op_name(op), g->n[e].dead,
		       g->n[cv].in[0], g->n[cv].in[1], g->n[cv].in[2]);
		expect(g->rewrites == 0, cn, "no rewrites", "%d", g->rewrites);
	}
	fixture_free(&f);
}

/* ---- fold_pad --------------------------------------------------------------------------- */

/* X[1,3,6,6] -> Pad(top 1, left 2, bottom 3, right 0) -> Conv(pads 1, stride 2): conv pads
 * become 2,3,4,1 and the output is the same. */
static void test_fold_pad_match(void)
{
	const char *cn = "fold-pad spatial zero Pad folded into conv pads";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	static const int64_t pads[8] = {0, 0, 1, 2, 0, 0, 3, 0};
	int x = input(g, "X", 4, DIMS(1, 3, 6, 6));
	int pt = i64_const(g, "pads", 8, pads);
	int w = random_const(g, "W", 4, DIMS(4, 3, 3, 3), -1.0f, 1.0f);
	int b = random_const(g, "B", 1, DIMS(4), -1.0f, 1.0f);
	int p = tensor(g, "padded", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int pad = node(g, EFFC_OP_PAD, "pad", 2, INS(x, pt), p);
	int cv = conv(g, "conv", p, w, b, 1, y);
	g->n[cv].a.strides[0] = g->n[cv].a.strides[1] = 2;
	output(g, y);
	float *xd = xmalloc(sizeof(float) * 108), *pd = xmalloc(sizeof(float) * 3 * 10 * 8);
	float *before = xmalloc(sizeof(float) * 80), *after = xmalloc(sizeof(float) * 80);
	fill(xd, 108, -1.0f, 1.0f);
	if (infer(&f, cn)) {
		const int64_t oh = g->t[y].dims[2], ow = g->t[y].dims[3];
		struct effc_rt_shape s = {4, {1, 3, 6, 6}};
		effc_rt_ref_pad(&s, pads, pads + 4, 0.0f, xd, pd);
		conv_ref(g, cv, pd, before);
		if (apply(&f, cn, "fold_pad", effc_pass_fold_pad)) {
			const struct effc_attrs *a = &g->n[cv].a;
			expect(g->n[pad].dead && g->n[cv].in[0] == x, cn, "Pad dead, conv reads X", "pad dead %d, conv reads %d",
			       g->n[pad].dead, g->n[cv].in[0]);
			expect(a->pads[0] == 2 && a->pads[1] == 3 && a->pads[2] == 4 && a->pads[3] == 1, cn,
			       "conv pads (t,l,b,r) = 2,3,4,1", "pads %" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64, a->pads[0],
			       a->pads[1], a->pads[2], a->pads[3]);
			/* The output size the new pads give equals the inferred one. */
			int64_t nh = (6 + a->pads[0] + a->pads[2] - 3) / 2 + 1, nw = (6 + a->pads[1] + a->pads[3] - 3) / 2 + 1;
			expect(nh == oh && nw == ow && oh == 5 && ow == 4, cn, "output stays 5x4", "new pads give %" PRId64 "x%" PRId64,
			       nh, nw);
			conv_ref(g, cv, xd, after);
			expect_close(cn, "conv(X, grown pads) == conv(Pad(X))", after, before, 80, 1e-6);
			check_structure(g, cn);
		}
	}
	free(xd), free(pd), free(before), free(after);
	fixture_free(&f);
}

/* Non-matches: pad value 1, a pad on the channel axis, a Pad read by two convs. */
static void test_fold_pad_kept(const char *cn, float value, int channel_pad, int shared)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	const int64_t pads[8] = {0, channel_pad ? 1 : 0, channel_pad ? 0 : 1, channel_pad ? 0 : 1,
				 0, 0, channel_pad ? 0 : 1, channel_pad ? 0 : 1};
	int x = input(g, "X", 4, DIMS(1, 3, 6, 6));
	int pt = i64_const(g, "pads", 8, pads);
	int vt = constant(g, "value", 0, NULL, value, 0.0f);
	int cin = channel_pad ? 4 : 3;
	int w = random_const(g, "W", 4, DIMS(4, cin, 3, 3), -1.0f, 1.0f);
	int p = tensor(g, "padded", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int pad = node(g, EFFC_OP_PAD, "pad", 3, INS(x, pt, vt), p);
	int cv = conv(g, "conv", p, w, -1, 1, y);
	output(g, y);
	int cv2 = -1;
	if (shared) {
		int y2 = tensor(g, "Y2", 0, NULL);
		cv2 = conv(g, "conv2", p, w, -1, 0, y2);
		output(g, y2);
	}
	if (infer(&f, cn) && apply(&f, cn, "fold_pad", effc_pass_fold_pad)) {
		const struct effc_attrs *a = &g->n[cv].a;
		expect(!g->n[pad].dead && g->n[cv].in[0] == p && (cv2 < 0 || g->n[cv2].in[0] == p), cn, "Pad kept, conv reads it",
		       "pad dead %d, conv reads %d", g->n[pad].dead, g->n[cv].in[0]);
		expect(a->pads[0] == 1 && a->pads[1] == 1 && a->pads[2] == 1 && a->pads[3] == 1, cn, "conv pads unchanged",
		       "pads %" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64, a->pads[0], a->pads[1], a->pads[2], a->pads[3]);
		expect(g->rewrites == 0, cn, "no rewrites", "%d", g->rewrites);
	}
	fixture_free(&f);
}

/* ---- fold_bn ---------------------------------------------------------------------------- */

struct bn_params {
	int gamma, beta, mean, var;
	float eps;
};

static struct bn_params bn_consts(struct effc_graph *g, int64_t C)
{
	struct bn_params p;
	p.gamma = random_const(g, "bn.gamma", 1, &C, 0.5f, 1.5f);
	p.beta = random_const(g, "bn.beta", 1, &C, -0.5f, 0.5f);
	p.mean = random_const(g, "bn.mean", 1, &C, -0.3f, 0.3f);
	p.var = random_const(g, "bn.var", 1, &C, 0.1f, 2.0f);
	p.eps = 1e-3f;
	return p;
}

static int bn_node(struct effc_graph *g, int x, const struct bn_params *p, int y)
{
	int id = node(g, EFFC_OP_BATCHNORM, "bn", 5, INS(x, p->gamma, p->beta, p->mean, p->var), y);
	g->n[id].a.epsilon = p->eps;
	return id;
}

/* s = gamma / sqrt(var + eps), in double. */
static double bn_scale(const struct effc_graph *g, const struct bn_params *p, int c)
{
	return fdata(g, p->gamma)[c] / sqrt((double)fdata(g, p->var)[c] + p->eps);
}

/* X -> Conv(W[, B], pads 1) -> BN -> Y: W' = W * s, b' = (b - mean) * s + beta. */
static void test_fold_bn_conv(const char *cn, int with_bias)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 3, 5, 5));
	int w = random_const(g, "W", 4, DIMS(4, 3, 3, 3), -1.0f, 1.0f);
	int b = with_bias ? random_const(g, "B", 1, DIMS(4), -1.0f, 1.0f) : -1;
	struct bn_params bp = bn_consts(g, 4);
	int c = tensor(g, "c", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int cv = conv(g, "conv", x, w, b, 1, c);
	int bn = bn_node(g, c, &bp, y);
	output(g, y);
	float *xd = xmalloc(sizeof(float) * 75), *cd = xmalloc(sizeof(float) * 100);
	float *before = xmalloc(sizeof(float) * 100), *after = xmalloc(sizeof(float) * 100);
	fill(xd, 75, -1.0f, 1.0f);
	if (infer(&f, cn)) {
		conv_ref(g, cv, xd, cd);
		effc_rt_ref_channel_affine(1, 4, 25, fdata(g, bp.gamma), fdata(g, bp.beta), fdata(g, bp.mean), fdata(g, bp.var),
					   bp.eps, cd, before);
		if (apply(&f, cn, "fold_bn", effc_pass_fold_bn)) {
			const struct effc_node *n = &g->n[cv];
			expect(g->n[bn].dead && n->out[0] == y && g->t[y].producer == cv, cn, "BN dead, conv writes Y",
			       "bn dead %d, conv writes %d, Y producer %d", g->n[bn].dead, n->out[0], g->t[y].producer);
			expect(n->in[1] != w && fdata(g, n->in[1]) && n->n_in == 3 && fdata(g, n->in[2]), cn,
			       "conv has new weights and a bias", "weights %d, n_in %d", n->in[1], n->n_in);
			if (n->in[1] != w && fdata(g, n->in[1]) && n->n_in == 3 && fdata(g, n->in[2])) {
				double ww[108], wb[4];
				for (int i = 0; i < 108; i++)
					ww[i] = fdata(g, w)[i] * bn_scale(g, &bp, i / 27);
				for (int o = 0; o < 4; o++)
					wb[o] = ((b >= 0 ? fdata(g, b)[o] : 0.0) - fdata(g, bp.mean)[o]) * bn_scale(g, &bp, o) +
						fdata(g, bp.beta)[o];
				expect_floats(cn, "W' = W * gamma / sqrt(var + eps)", fdata(g, n->in[1]), ww, 108, 1e-6);
				expect_floats(cn, "b' = (b - mean) * s + beta", fdata(g, n->in[2]), wb, 4, 1e-6);
				conv_ref(g, cv, xd, after);
				expect_close(cn, "conv' == BN(conv) numerically", after, before, 100, 1e-5);
			}
			check_structure(g, cn);
		}
	}
	free(xd), free(cd), free(before), free(after);
	fixture_free(&f);
}

/* Non-match for folding: the conv output is read by the BN and by a Sigmoid, so the conv stays
 * and the BN becomes ChannelScaleBias(x, s, beta - mean * s). */
static void test_fold_bn_shared(void)
{
	const char *cn = "fold-bn conv output read twice: BN becomes scale+bias";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 3, 5, 5));
	int w = random_const(g, "W", 4, DIMS(4, 3, 3, 3), -1.0f, 1.0f);
	int b = random_const(g, "B", 1, DIMS(4), -1.0f, 1.0f);
	struct bn_params bp = bn_consts(g, 4);
	int c = tensor(g, "c", 0, NULL), y = tensor(g, "Y", 0, NULL), y2 = tensor(g, "Y2", 0, NULL);
	int cv = conv(g, "conv", x, w, b, 1, c);
	int bn = bn_node(g, c, &bp, y);
	node(g, EFFC_OP_SIGMOID, "sig", 1, INS(c), y2);
	output(g, y);
	output(g, y2);
	if (infer(&f, cn) && apply(&f, cn, "fold_bn", effc_pass_fold_bn)) {
		const struct effc_node *n = &g->n[bn];
		expect(g->n[cv].in[1] == w && g->n[cv].in[2] == b && g->n[cv].out[0] == c && g->t[c].producer == cv, cn,
		       "conv untouched", "conv reads W %d B %d, writes %d", g->n[cv].in[1], g->n[cv].in[2], g->n[cv].out[0]);
		expect(!n->dead && n->op == EFFC_OP_SCALE_BIAS && n->n_in == 3 && n->in[0] == c && n->out[0] == y, cn,
		       "BN is ChannelScaleBias(c) -> Y", "op %s, n_in %d, in[0] %d", effc_op_name(n->op), n->n_in, n->in[0]);
		if (n->op == EFFC_OP_SCALE_BIAS && fdata(g, n->in[1]) && fdata(g, n->in[2])) {
			double ws[4], wt[4];
			for (int ch = 0; ch < 4; ch++) {
				ws[ch] = bn_scale(g, &bp, ch);
				wt[ch] = fdata(g, bp.beta)[ch] - fdata(g, bp.mean)[ch] * ws[ch];
			}
			expect_floats(cn, "scale = gamma / sqrt(var + eps)", fdata(g, n->in[1]), ws, 4, 1e-6);
			expect_floats(cn, "shift = beta - mean * scale", fdata(g, n->in[2]), wt, 4, 1e-6);
		}
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* A[2,5] -> Gemm(B const, C[4], alpha 0.5, beta 2) -> BN over the 4 columns: B' = B * s per
 * output column, C' = (beta * C - mean) * s + bn_beta, Gemm beta becomes 1. With matmul set,
 * A -> MatMul(B[5,4]) -> BN instead, which becomes a Gemm with C' = bn_beta - mean * s. */
static void test_fold_bn_gemm(const char *cn, int trans_b, int matmul)
{
	enum { M = 2, K = 5, N = 4 };
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int a = input(g, "A", 2, DIMS(M, K));
	int b = trans_b ? random_const(g, "B", 2, DIMS(N, K), -1.0f, 1.0f) : random_const(g, "B", 2, DIMS(K, N), -1.0f, 1.0f);
	int c = random_const(g, "C", 1, DIMS(N), -1.0f, 1.0f);
	struct bn_params bp = bn_consts(g, N);
	int gy = tensor(g, "gemm_out", 0, NULL), y = tensor(g, "Y", 0, NULL);
	const double alpha = matmul ? 1.0 : 0.5, beta = matmul ? 0.0 : 2.0;
	int gm = matmul ? node(g, EFFC_OP_MATMUL, "matmul", 2, INS(a, b), gy) : node(g, EFFC_OP_GEMM, "gemm", 3, INS(a, b, c), gy);
	if (!matmul)
		g->n[gm].a.trans_b = trans_b, g->n[gm].a.alpha = 0.5f, g->n[gm].a.beta = 2.0f;
	int bn = bn_node(g, gy, &bp, y);
	output(g, y);
	float ad[M * K];
	double before[M * N];
	fill(ad, M * K, -1.0f, 1.0f);
	if (infer(&f, cn)) {
		const float *bd = fdata(g, b), *cd = fdata(g, c);
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++) {
				double acc = 0.0;
				for (int k = 0; k < K; k++)
					acc += (double)ad[i * K + k] * (trans_b ? bd[j * K + k] : bd[k * N + j]);
				double v = alpha * acc + beta * cd[j];
				before[i * N + j] = (v - fdata(g, bp.mean)[j]) * bn_scale(g, &bp, j) + fdata(g, bp.beta)[j];
			}
		if (apply(&f, cn, "fold_bn", effc_pass_fold_bn)) {
			const struct effc_node *n = &g->n[gm];
			expect(g->n[bn].dead && n->op == EFFC_OP_GEMM && n->out[0] == y && g->t[y].producer == gm, cn,
			       "BN dead, Gemm writes Y", "bn dead %d, gemm writes %d", g->n[bn].dead, n->out[0]);
			expect(n->a.beta == 1.0f && n->a.alpha == (float)alpha && n->a.trans_b == trans_b && !n->a.trans_a, cn,
			       matmul ? "MatMul became Gemm(alpha 1, beta 1)" : "Gemm keeps alpha and transB, beta becomes 1",
			       "alpha %g beta %g transB %" PRId64, (double)n->a.alpha, (double)n->a.beta, n->a.trans_b);
			const float *nb = fdata(g, n->in[1]), *nc = n->n_in > 2 ? fdata(g, n->in[2]) : NULL;
			expect(n->in[1] != b && nb && nc && numel(g, n->in[2]) == N, cn, "new B and C", "B %d C %d", n->in[1],
			       n->n_in > 2 ? n->in[2] : -1);
			if (n->in[1] != b && nb && nc) {
				double wb[N * K], wc[N];
				for (int e = 0; e < N * K; e++)
					wb[e] = bd[e] * bn_scale(g, &bp, trans_b ? e / K : e % N);
				for (int j = 0; j < N; j++)
					wc[j] = (beta * cd[j] - fdata(g, bp.mean)[j]) * bn_scale(g, &bp, j) + fdata(g, bp.beta)[j];
				expect_floats(cn, trans_b ? "B'[n][k] = B[n][k] * s[n]" : "B'[k][n] = B[k][n] * s[n]", nb, wb, N * K, 1e-6);
				expect_floats(cn, matmul ? "C' = bn_beta - mean * s" : "C' = (beta * C - mean) * s + bn_beta", nc, wc, N,
					      1e-6);
				float after[M * N];
				for (int i = 0; i < M; i++)
					for (int j = 0; j < N; j++) {
						double acc = 0.0;
						for (int k = 0; k < K; k++)
							acc += (double)ad[i * K + k] * (trans_b ? nb[j * K + k] : nb[k * N + j]);
						after[i * N + j] = (float)(n->a.alpha * acc + n->a.beta * nc[j]);
					}
				expect_floats(cn, "Gemm' == BN(Gemm) numerically", after, before, M * N, 1e-5);
			}
			check_structure(g, cn);
		}
	}
	fixture_free(&f);
}

/* Non-match: the BN's mean is a graph input, so nothing is known at compile time. */
static void test_fold_bn_runtime_mean(void)
{
	const char *cn = "fold-bn BN with run-time mean stays BatchNormalization";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 3, 5, 5));
	int w = random_const(g, "W", 4, DIMS(4, 3, 3, 3), -1.0f, 1.0f);
	struct bn_params bp = bn_consts(g, 4);
	bp.mean = input(g, "mean", 1, DIMS(4));
	int c = tensor(g, "c", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int cv = conv(g, "conv", x, w, -1, 1, c);
	int bn = bn_node(g, c, &bp, y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fold_bn", effc_pass_fold_bn)) {
		const struct effc_node *n = &g->n[bn];
		expect(!n->dead && n->op == EFFC_OP_BATCHNORM && n->n_in == 5 && n->in[0] == c && n->in[3] == bp.mean, cn,
		       "BN stays BatchNormalization(c, ..., mean input)", "op %s, dead %d", effc_op_name(n->op), n->dead);
		expect(g->n[cv].in[1] == w && g->n[cv].out[0] == c, cn, "conv untouched", "reads %d writes %d", g->n[cv].in[1],
		       g->n[cv].out[0]);
		expect(g->rewrites == 0, cn, "no rewrites", "%d", g->rewrites);
	}
	fixture_free(&f);
}

/* ---- fuse_activation -------------------------------------------------------------------- */

/* X[1,3,6,6] -> Conv(W[4,3,3,3], pads 1) -> c */
static int build_conv(struct effc_graph *g, int *x_out, int *c_out)
{
	int x = input(g, "X", 4, DIMS(1, 3, 6, 6));
	int w = random_const(g, "W", 4, DIMS(4, 3, 3, 3), -1.0f, 1.0f);
	int b = random_const(g, "B", 1, DIMS(4), -1.0f, 1.0f);
	int c = tensor(g, "c", 0, NULL);
	*x_out = x;
	*c_out = c;
	return conv(g, "conv", x, w, b, 1, c);
}

/* Conv -> Sigmoid + Mul(c, sig) or Mul(sig, c): the conv gets Swish and writes the Mul's output. */
static void test_fuse_swish_conv(const char *cn, int sig_first)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	int cv = build_conv(g, &x, &c);
	int s = tensor(g, "sig", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int sig = node(g, EFFC_OP_SIGMOID, "sigmoid", 1, INS(c), s);
	int mul = sig_first ? node(g, EFFC_OP_MUL, "mul", 2, INS(s, c), y) : node(g, EFFC_OP_MUL, "mul", 2, INS(c, s), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fuse_activation", effc_pass_fuse_activation)) {
		const struct effc_node *n = &g->n[cv];
		expect(n->a.act == EFFC_ACT_SWISH && isinf(n->a.act_min) && isinf(n->a.act_max), cn, "conv act is SWISH",
		       "act %d [%g, %g]", (int)n->a.act, (double)n->a.act_min, (double)n->a.act_max);
		expect(n->out[0] == y && g->t[y].producer == cv && g->t[c].producer < 0, cn, "conv writes the Mul's output Y",
		       "conv writes %d, Y producer %d", n->out[0], g->t[y].producer);
		expect(g->n[sig].dead && g->n[mul].dead && count_op(g, EFFC_OP_SWISH) == 0, cn,
		       "Sigmoid and Mul dead, no standalone Swish", "sig dead %d, mul dead %d (op %s), %d Swish", g->n[sig].dead,
		       g->n[mul].dead, effc_op_name(g->n[mul].op), count_op(g, EFFC_OP_SWISH));
		expect(g->rewrites == 1, cn, "1 rewrite", "%d", g->rewrites);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* Conv -> Relu -> CLAMP [0, inf); Conv -> Clip(0, 6) -> CLAMP [0, 6]; Conv -> HardSwish. */
enum fused_act { FUSE_RELU, FUSE_CLIP, FUSE_HARDSWISH };

static void test_fuse_clamp_conv(const char *cn, enum fused_act kind)
{
	const int clip = kind == FUSE_CLIP;
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	int cv = build_conv(g, &x, &c);
	int y = tensor(g, "Y", 0, NULL), act;
	if (clip) {
		int lo = constant(g, "lo", 0, NULL, 0.0f, 0.0f), hi = constant(g, "hi", 0, NULL, 6.0f, 0.0f);
		act = node(g, EFFC_OP_CLIP, "clip", 3, INS(c, lo, hi), y);
	} else if (kind == FUSE_HARDSWISH) {
		act = node(g, EFFC_OP_HARDSWISH, "hardswish", 1, INS(c), y);
	} else {
		act = node(g, EFFC_OP_RELU, "relu", 1, INS(c), y);
	}
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fuse_activation", effc_pass_fuse_activation)) {
		const struct effc_node *n = &g->n[cv];
		if (kind == FUSE_HARDSWISH) {
			expect(n->a.act == EFFC_ACT_HARDSWISH, cn, "conv act HARDSWISH", "act %d", (int)n->a.act);
		} else {
			int range_ok = n->a.act_min == 0.0f && (clip ? n->a.act_max == 6.0f : isinf(n->a.act_max) && n->a.act_max > 0);
			expect(n->a.act == EFFC_ACT_CLAMP && range_ok, cn, clip ? "conv act CLAMP [0, 6]" : "conv act CLAMP [0, inf)",
			       "act %d [%g, %g]", (int)n->a.act, (double)n->a.act_min, (double)n->a.act_max);
		}
		expect(g->n[act].dead && n->out[0] == y && g->t[y].producer == cv, cn, "activation dead, conv writes Y",
		       "act dead %d, conv writes %d", g->n[act].dead, n->out[0]);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* Swish of a graph input: no producer to take it, so one standalone Swish node. */
static void test_fuse_swish_input(void)
{
	const char *cn = "fuse-activation Swish of a graph input stays standalone";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 4, 3, 3));
	int s = tensor(g, "sig", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int sig = node(g, EFFC_OP_SIGMOID, "sigmoid", 1, INS(x), s);
	node(g, EFFC_OP_MUL, "mul", 2, INS(x, s), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fuse_activation", effc_pass_fuse_activation)) {
		int sw = find_op(g, EFFC_OP_SWISH, 0);
		expect(count_op(g, EFFC_OP_SWISH) == 1 && sw >= 0 && g->n[sw].n_in == 1 && g->n[sw].in[0] == x &&
			       g->n[sw].out[0] == y && g->t[y].producer == sw,
		       cn, "one Swish(X) -> Y", "%d Swish nodes", count_op(g, EFFC_OP_SWISH));
		expect(g->n[sig].dead && count_op(g, EFFC_OP_MUL) == 0, cn, "Sigmoid and Mul gone", "sig dead %d, %d Mul",
		       g->n[sig].dead, count_op(g, EFFC_OP_MUL));
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* Non-match for the conv: its output c is also read by a residual Add, so the conv must keep
 * writing c and the Swish stays a node of its own. */
static void test_fuse_swish_shared_conv(void)
{
	const char *cn = "fuse-activation conv output read twice: Swish standalone";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	int cv = build_conv(g, &x, &c);
	int s = tensor(g, "sig", 0, NULL), sw = tensor(g, "swish", 0, NULL), y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_SIGMOID, "sigmoid", 1, INS(c), s);
	int mul = node(g, EFFC_OP_MUL, "mul", 2, INS(c, s), sw);
	int add = node(g, EFFC_OP_ADD, "add", 2, INS(sw, c), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fuse_activation", effc_pass_fuse_activation)) {
		expect(g->n[cv].a.act == EFFC_ACT_NONE && g->n[cv].out[0] == c && g->t[c].producer == cv, cn,
		       "conv keeps no activation and writes c", "act %d, writes %d", (int)g->n[cv].a.act, g->n[cv].out[0]);
		expect(!g->n[mul].dead && g->n[mul].op == EFFC_OP_SWISH && g->n[mul].n_in == 1 && g->n[mul].in[0] == c &&
			       g->n[mul].out[0] == sw,
		       cn, "Swish(c) -> swish standalone", "op %s, dead %d", effc_op_name(g->n[mul].op), g->n[mul].dead);
		expect(g->n[add].in[0] == sw && g->n[add].in[1] == c, cn, "Add still reads swish and c", "reads %d, %d",
		       g->n[add].in[0], g->n[add].in[1]);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* Non-match: Mul(R, Sigmoid(c)) with R != c is a gate, not a Swish. */
static void test_fuse_mul_not_swish(void)
{
	const char *cn = "fuse-activation Mul(other, Sigmoid(c)) is not Swish";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	int cv = build_conv(g, &x, &c);
	int r = input(g, "R", 4, DIMS(1, 4, 6, 6));
	int s = tensor(g, "sig", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int sig = node(g, EFFC_OP_SIGMOID, "sigmoid", 1, INS(c), s);
	int mul = node(g, EFFC_OP_MUL, "mul", 2, INS(r, s), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fuse_activation", effc_pass_fuse_activation)) {
		expect(!g->n[sig].dead && !g->n[mul].dead && g->n[mul].op == EFFC_OP_MUL && g->n[cv].a.act == EFFC_ACT_NONE, cn,
		       "Sigmoid and Mul kept, conv plain", "sig dead %d, mul op %s, conv act %d", g->n[sig].dead,
		       effc_op_name(g->n[mul].op), (int)g->n[cv].a.act);
		expect(g->rewrites == 0, cn, "no rewrites", "%d", g->rewrites);
	}
	fixture_free(&f);
}

/* Conv -> HardSigmoid(alpha 1/6, beta 1/2) + Mul(c, hs) or Mul(hs, c), torch's HardSwish below
 * opset 14: the conv gets HardSwish and writes the Mul's output. The numbers: the unfused pair
 * by the reference kernels against the HardSwish the fused conv applies, over [-8, 8] (both
 * clamp ends) plus the infinities and a NaN. */
static void test_fuse_hardswish_pair(const char *cn, int hs_first)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	int cv = build_conv(g, &x, &c);
	int s = tensor(g, "hs", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int hs = node(g, EFFC_OP_HARDSIGMOID, "hardsigmoid", 1, INS(c), s);
	g->n[hs].a.alpha = 0.1666666716337204f; /* as torch writes 1/6 */
	g->n[hs].a.beta = 0.5f;
	int mul = hs_first ? node(g, EFFC_OP_MUL, "mul", 2, INS(s, c), y) : node(g, EFFC_OP_MUL, "mul", 2, INS(c, s), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fuse_activation", effc_pass_fuse_activation)) {
		const struct effc_node *n = &g->n[cv];
		expect(n->a.act == EFFC_ACT_HARDSWISH, cn, "conv act is HARDSWISH", "act %d", (int)n->a.act);
		expect(n->out[0] == y && g->t[y].producer == cv && g->t[c].producer < 0, cn, "conv writes the Mul's output Y",
		       "conv writes %d, Y producer %d", n->out[0], g->t[y].producer);
		expect(g->n[hs].dead && g->n[mul].dead && count_op(g, EFFC_OP_HARDSWISH) == 0, cn,
		       "HardSigmoid and Mul dead, no standalone HardSwish", "hs dead %d, mul dead %d (op %s)", g->n[hs].dead,
		       g->n[mul].dead, effc_op_name(g->n[mul].op));
		expect(g->rewrites == 1, cn, "1 rewrite", "%d", g->rewrites);
		check_structure(g, cn);
	}
	enum { N = 203 };
	float in[N], hsig[N], before[N], after[N], ref_after[N];
	for (int i = 0; i < N - 3; i++)
		in[i] = -8.0f + 16.0f * (float)i / (float)(N - 4);
	in[N - 3] = INFINITY, in[N - 2] = -INFINITY, in[N - 1] = NAN;
	const struct effc_rt_unary ph = {.op = EFFC_RT_HARDSIGMOID, .rows = 1, .channels = N, .alpha = 0.1666666716337204f,
					 .beta = 0.5f};
	const struct effc_rt_unary pw = {.op = EFFC_RT_HARDSWISH, .rows = 1, .channels = N};
	effc_rt_ref_unary(&ph, in, hsig, NULL, NULL);
	for (int i = 0; i < N; i++)
		before[i] = in[i] * hsig[i];
	effc_rt_hardswish(N, in, after);
	effc_rt_ref_unary(&pw, in, ref_after, NULL, NULL);
	/* inf * 1 = inf, -inf * 0 = NaN and NaN in both forms; compare the finite part by value */
	int special_ok = after[N - 3] == INFINITY && isnan(after[N - 2]) && isnan(after[N - 1]) &&
			 before[N - 3] == INFINITY && isnan(before[N - 2]) && isnan(before[N - 1]);
	expect(special_ok, cn, "inf, -inf, NaN the same before and after", "after %g %g %g, before %g %g %g",
	       (double)after[N - 3], (double)after[N - 2], (double)after[N - 1], (double)before[N - 3],
	       (double)before[N - 2], (double)before[N - 1]);
	expect_close(cn, "x * HardSigmoid(x) = fused HardSwish kernel", after, before, N - 3, 1e-6);
	expect_close(cn, "x * HardSigmoid(x) = reference HardSwish", ref_after, before, N - 3, 1e-6);
	fixture_free(&f);
}

/* x * HardSigmoid(x) of a graph input: no producer to take it, so one standalone HardSwish. */
static void test_fuse_hardswish_pair_input(void)
{
	const char *cn = "fuse-activation Mul(X, HardSigmoid(X)) of a graph input: standalone HardSwish";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 4, 3, 3));
	int s = tensor(g, "hs", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int hs = node(g, EFFC_OP_HARDSIGMOID, "hardsigmoid", 1, INS(x), s);
	g->n[hs].a.alpha = 1.0f / 6.0f;
	g->n[hs].a.beta = 0.5f;
	node(g, EFFC_OP_MUL, "mul", 2, INS(x, s), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fuse_activation", effc_pass_fuse_activation)) {
		int hw = find_op(g, EFFC_OP_HARDSWISH, 0);
		expect(count_op(g, EFFC_OP_HARDSWISH) == 1 && hw >= 0 && g->n[hw].n_in == 1 && g->n[hw].in[0] == x &&
			       g->n[hw].out[0] == y && g->t[y].producer == hw,
		       cn, "one HardSwish(X) -> Y", "%d HardSwish nodes", count_op(g, EFFC_OP_HARDSWISH));
		expect(g->n[hs].dead && count_op(g, EFFC_OP_MUL) == 0, cn, "HardSigmoid and Mul gone", "hs dead %d, %d Mul",
		       g->n[hs].dead, count_op(g, EFFC_OP_MUL));
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* Non-matches: HardSigmoid with ONNX's default alpha 0.2 (not HardSwish's 1/6); with beta 0.4;
 * HardSigmoid of c times another tensor R (a gate); its output also a graph output. */
enum hs_nonmatch { HS_ALPHA, HS_BETA, HS_OTHER_TENSOR, HS_OUTPUT_USED };
static void test_fuse_hardsigmoid_not_hardswish(const char *cn, enum hs_nonmatch kind)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	int cv = build_conv(g, &x, &c);
	int r = kind == HS_OTHER_TENSOR ? input(g, "R", 4, DIMS(1, 4, 6, 6)) : c;
	int s = tensor(g, "hs", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int hs = node(g, EFFC_OP_HARDSIGMOID, "hardsigmoid", 1, INS(c), s);
	g->n[hs].a.alpha = kind == HS_ALPHA ? 0.2f : 1.0f / 6.0f;
	g->n[hs].a.beta = kind == HS_BETA ? 0.4f : 0.5f;
	int mul = node(g, EFFC_OP_MUL, "mul", 2, INS(r, s), y);
	output(g, y);
	if (kind == HS_OUTPUT_USED)
		output(g, s);
	if (infer(&f, cn) && apply(&f, cn, "fuse_activation", effc_pass_fuse_activation)) {
		expect(!g->n[hs].dead && g->n[hs].op == EFFC_OP_HARDSIGMOID && !g->n[mul].dead && g->n[mul].op == EFFC_OP_MUL &&
			       g->n[mul].n_in == 2 && g->n[cv].a.act == EFFC_ACT_NONE,
		       cn, "HardSigmoid and Mul kept, conv plain", "hs dead %d, mul op %s, conv act %d", g->n[hs].dead,
		       effc_op_name(g->n[mul].op), (int)g->n[cv].a.act);
		expect(g->rewrites == 0, cn, "no rewrites", "%d", g->rewrites);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* effc_node_ref_kernel, behind `effc compile`'s warning: which nodes run on a scalar reference
 * kernel. Softmax and a Clip with a bound computed at run time do; HardSigmoid (vectorised now)
 * and a Clip with constant bounds do not; a conv does in NCHW, not in NHWC. */
static void ref_is(const struct effc_graph *g, const char *cn, int node, const char *want)
{
	const char *k = effc_node_ref_kernel(g, &g->n[node]);
	char what[160];
	snprintf(what, sizeof what, "node '%s' (%s%s) -> %s", g->n[node].name, effc_op_name(g->n[node].op),
		 g->t[g->n[node].out[0]].layout == EFFC_LAYOUT_NHWC ? ", NHWC" : "", want ? want : "none");
	expect(want ? k && !strcmp(k, want) : !k, cn, what, "got %s", k ? k : "none");
}

static void test_ref_kernel_report(void)
{
	const char *cn = "effc_node_ref_kernel names the reference kernels";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	int cv = build_conv(g, &x, &c);
	int lo = input(g, "LO", 0, NULL), hi = constant(g, "hi", 0, NULL, 6.0f, 0.0f);
	int clo = constant(g, "clo", 0, NULL, 0.0f, 0.0f);
	int t1 = tensor(g, "t1", 0, NULL), t2 = tensor(g, "t2", 0, NULL), t3 = tensor(g, "t3", 0, NULL),
	    t4 = tensor(g, "t4", 0, NULL);
	int sm = node(g, EFFC_OP_SOFTMAX, "softmax", 1, INS(c), t1);
	g->n[sm].a.axis = 1;
	g->n[sm].a.opset = 13;
	int dyn = node(g, EFFC_OP_CLIP, "clip_dyn", 3, INS(t1, lo, hi), t2);
	int cst = node(g, EFFC_OP_CLIP, "clip_const", 3, INS(t2, clo, hi), t3);
	g->n[cst].a.clip_min = 0.0f, g->n[cst].a.clip_max = 6.0f;
	int hs = node(g, EFFC_OP_HARDSIGMOID, "hardsigmoid", 1, INS(t3), t4);
	g->n[hs].a.alpha = 0.2f, g->n[hs].a.beta = 0.5f;
	output(g, t4);
	if (infer(&f, cn)) {
		ref_is(g, cn, sm, "effc_rt_ref_softmax");
		ref_is(g, cn, dyn, "effc_rt_ref_unary");
		ref_is(g, cn, cst, NULL);
		ref_is(g, cn, hs, NULL);
		ref_is(g, cn, cv, "effc_rt_ref_conv2d");
		g->t[g->n[cv].out[0]].layout = EFFC_LAYOUT_NHWC;
		ref_is(g, cn, cv, NULL);
	}
	fixture_free(&f);
}

/* The pipeline's reason for its order: Conv -> BN -> Swish becomes one conv with Swish once
 * fold-bn has run. */
static void test_fuse_after_fold_bn(void)
{
	const char *cn = "fuse-activation after fold-bn: Conv->BN->Swish is one conv";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	int cv = build_conv(g, &x, &c);
	struct bn_params bp = bn_consts(g, 4);
	int bo = tensor(g, "bn_out", 0, NULL), s = tensor(g, "sig", 0, NULL), y = tensor(g, "Y", 0, NULL);
	bn_node(g, c, &bp, bo);
	node(g, EFFC_OP_SIGMOID, "sigmoid", 1, INS(bo), s);
	node(g, EFFC_OP_MUL, "mul", 2, INS(bo, s), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "fold_bn", effc_pass_fold_bn) &&
	    apply(&f, cn, "fuse_activation", effc_pass_fuse_activation)) {
		int live = 0;
		for (int i = 0; i < g->n_n; i++)
			live += !g->n[i].dead;
		expect(live == 1 && !g->n[cv].dead && g->n[cv].a.act == EFFC_ACT_SWISH && g->n[cv].out[0] == y, cn,
		       "one conv with Swish writing Y", "%d live nodes, conv act %d", live, (int)g->n[cv].a.act);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* ---- fuse_se ---------------------------------------------------------------------------- */

struct se_variant {
	int hard_gate;   /* HardSigmoid(alpha 0.2, beta 0.5) instead of Sigmoid */
	int reduce_mean; /* ReduceMean(axes -1,-2, keepdims) instead of GlobalAveragePool */
	int gate_first;  /* Mul(gate, x) instead of Mul(x, gate) */
	int relu;        /* Relu after the first conv instead of Swish */
	int conv2_3x3;   /* second conv 3x3 with pads 1: not pointwise */
	int pool_shared; /* the pooled tensor is also read by another node */
	int x_read_later; /* x is read again after the block (by a residual Add) */
};

struct se_graph {
	int x, c, p, y; /* graph input, block input, pooled, block output */
	int pool, c1, c2, gate, mul;
	int w1, b1, w2, b2;
};

enum { SE_C = 8, SE_CR = 2, SE_H = 5, SE_W = 5 };

/* X -> Conv -> c; c -> pool -> Conv1x1(W1,B1) -> act -> Conv(W2,B2) -> gate -> Mul with c. */
static void build_se(struct effc_graph *g, const struct se_variant *v, struct se_graph *s)
{
	s->x = input(g, "X", 4, DIMS(1, SE_C, SE_H, SE_W));
	int w0 = random_const(g, "W0", 4, DIMS(SE_C, SE_C, 3, 3), -0.5f, 0.5f);
	s->c = tensor(g, "c", 0, NULL);
	conv(g, "conv0", s->x, w0, -1, 1, s->c);
	s->p = tensor(g, "pooled", 0, NULL);
	if (v->reduce_mean) {
		s->pool = node(g, EFFC_OP_REDUCEMEAN, "se.mean", 1, INS(s->c), s->p);
		struct effc_attrs *a = &g->n[s->pool].a;
		a->axes[0] = -1, a->axes[1] = -2, a->n_axes = 2, a->has_axes = 1, a->keepdims = 1;
	} else {
		s->pool = node(g, EFFC_OP_GLOBALAVGPOOL, "se.gap", 1, INS(s->c), s->p);
	}
	s->w1 = random_const(g, "se.W1", 4, DIMS(SE_CR, SE_C, 1, 1), -1.0f, 1.0f);
	s->b1 = random_const(g, "se.B1", 1, DIMS(SE_CR), -0.5f, 0.5f);
	s->w2 = v->conv2_3x3 ? random_const(g, "se.W2", 4, DIMS(SE_C, SE_CR, 3, 3), -1.0f, 1.0f)
			     : random_const(g, "se.W2", 4, DIMS(SE_C, SE_CR, 1, 1), -1.0f, 1.0f);
	s->b2 = random_const(g, "se.B2", 1, DIMS(SE_C), -0.5f, 0.5f);
	int h = tensor(g, "se.h", 0, NULL), ha = tensor(g, "se.h_act", 0, NULL), t2 = tensor(g, "se.t2", 0, NULL);
	int gt = tensor(g, "se.gate", 0, NULL);
	s->c1 = conv(g, "se.conv1", s->p, s->w1, s->b1, 0, h);
	if (v->relu) {
		node(g, EFFC_OP_RELU, "se.relu", 1, INS(h), ha);
	} else {
		int hs = tensor(g, "se.h_sig", 0, NULL);
		node(g, EFFC_OP_SIGMOID, "se.sig1", 1, INS(h), hs);
		node(g, EFFC_OP_MUL, "se.swish", 2, INS(h, hs), ha);
	}
	s->c2 = conv(g, "se.conv2", ha, s->w2, s->b2, v->conv2_3x3 ? 1 : 0, t2);
	s->gate = node(g, v->hard_gate ? EFFC_OP_HARDSIGMOID : EFFC_OP_SIGMOID, "se.gate", 1, INS(t2), gt);
	if (v->hard_gate)
		g->n[s->gate].a.alpha = 0.2f, g->n[s->gate].a.beta = 0.5f;
	s->y = tensor(g, "se.out", 0, NULL);
	s->mul = v->gate_first ? node(g, EFFC_OP_MUL, "se.mul", 2, INS(gt, s->c), s->y)
			       : node(g, EFFC_OP_MUL, "se.mul", 2, INS(s->c, gt), s->y);
	if (v->x_read_later) {
		int r = tensor(g, "Y", 0, NULL);
		node(g, EFFC_OP_ADD, "residual", 2, INS(s->y, s->c), r);
		output(g, r);
	} else {
		output(g, s->y);
	}
	if (v->pool_shared) {
		int y2 = tensor(g, "Y2", 0, NULL);
		node(g, EFFC_OP_SIGMOID, "pool_reader", 1, INS(s->p), y2);
		output(g, y2);
	}
}

static double clamp_unit(double v) { return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v; }

/* The block by its ONNX definition, in double, on NCHW x[C][H*W]. */
static void naive_se(const struct effc_graph *g, const struct se_graph *s, const struct se_variant *v, const float *x,
		     double *y)
{
	const float *w1 = fdata(g, s->w1), *b1 = fdata(g, s->b1), *w2 = fdata(g, s->w2), *b2 = fdata(g, s->b2);
	double pooled[SE_C], h[SE_CR];
	for (int c = 0; c < SE_C; c++) {
		pooled[c] = 0.0;
		for (int i = 0; i < SE_H * SE_W; i++)
			pooled[c] += x[c * SE_H * SE_W + i];
		pooled[c] /= SE_H * SE_W;
	}
	for (int j = 0; j < SE_CR; j++) {
		double a = b1[j];
		for (int c = 0; c < SE_C; c++)
			a += (double)w1[j * SE_C + c] * pooled[c];
		h[j] = v->relu ? (a > 0 ? a : 0) : a / (1.0 + exp(-a));
	}
	for (int c = 0; c < SE_C; c++) {
		double a = b2[c];
		for (int j = 0; j < SE_CR; j++)
			a += (double)w2[c * SE_CR + j] * h[j];
		double gate = v->hard_gate ? clamp_unit(0.2 * a + 0.5) : 1.0 / (1.0 + exp(-a));
		for (int i = 0; i < SE_H * SE_W; i++)
			y[c * SE_H * SE_W + i] = x[c * SE_H * SE_W + i] * gate;
	}
}

static void test_fuse_se(const char *cn, const struct se_variant *v, int expect_match)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	struct se_graph s;
	build_se(g, v, &s);
	if (!infer(&f, cn) || !apply(&f, cn, "fuse_activation", effc_pass_fuse_activation) ||
	    !apply(&f, cn, "fuse_se", effc_pass_fuse_se)) {
		fixture_free(&f);
		return;
	}
	const struct effc_node *m = &g->n[s.mul];
	if (!expect_match) {
		expect(count_op(g, EFFC_OP_SE) == 0 && m->op == EFFC_OP_MUL && !m->dead, cn, "no SqueezeExcite, Mul kept",
		       "%d SE nodes, mul op %s", count_op(g, EFFC_OP_SE), effc_op_name(m->op));
		expect(!g->n[s.pool].dead && !g->n[s.c1].dead && !g->n[s.c2].dead && !g->n[s.gate].dead, cn,
		       "pool, convs and gate kept", "pool %d conv1 %d conv2 %d gate %d dead", g->n[s.pool].dead, g->n[s.c1].dead,
		       g->n[s.c2].dead, g->n[s.gate].dead);
		expect(g->rewrites == 0, cn, "no rewrites", "%d", g->rewrites);
		check_structure(g, cn);
		fixture_free(&f);
		return;
	}
	expect(count_op(g, EFFC_OP_SE) == 1 && m->op == EFFC_OP_SE && !m->dead && m->out[0] == s.y &&
		       g->t[s.y].producer == s.mul,
	       cn, "exactly one SqueezeExcite writing the Mul's output", "%d SE nodes, mul op %s", count_op(g, EFFC_OP_SE),
	       effc_op_name(m->op));
	expect(m->n_in == 5 && m->in[0] == s.c && m->in[1] == s.w1 && m->in[2] == s.b1 && m->in[3] == s.w2 && m->in[4] == s.b2,
	       cn, "inputs x, W1, B1, W2, B2", "n_in %d, in %d %d %d %d %d", m->n_in, m->in[0], m->in[1], m->in[2], m->in[3],
	       m->in[4]);
	if (v->relu)
		expect(m->a.act == EFFC_ACT_CLAMP && m->a.act_min == 0.0f && isinf(m->a.act_max), cn, "inner act CLAMP [0, inf)",
		       "act %d [%g, %g]", (int)m->a.act, (double)m->a.act_min, (double)m->a.act_max);
	else
		expect(m->a.act == EFFC_ACT_SWISH, cn, "inner act SWISH", "act %d", (int)m->a.act);
	expect(m->a.gate == v->hard_gate && (!v->hard_gate || (m->a.alpha == 0.2f && m->a.beta == 0.5f)), cn,
	       v->hard_gate ? "gate 1 (hard sigmoid 0.2, 0.5)" : "gate 0 (sigmoid)", "gate %d alpha %g beta %g", m->a.gate,
	       (double)m->a.alpha, (double)m->a.beta);
	expect(g->n[s.pool].dead && g->n[s.c1].dead && g->n[s.c2].dead && g->n[s.gate].dead && count_op(g, EFFC_OP_CONV) == 1 &&
		       count_op(g, EFFC_OP_SIGMOID) == 0 && count_op(g, EFFC_OP_MUL) == 0,
	       cn, "pool, both convs, gate and inner Swish dead", "%d convs, %d sigmoids, %d muls left", count_op(g, EFFC_OP_CONV),
	       count_op(g, EFFC_OP_SIGMOID), count_op(g, EFFC_OP_MUL));
	expect(g->rewrites == 1, cn, "1 rewrite", "%d", g->rewrites);
	check_structure(g, cn);

	/* With and without: the fused node's attributes, read the way the emitter reads them, run
	 * through the runtime's reference SE must equal the unfused block by its definition. */
	enum { HW = SE_H * SE_W, NX = SE_C * HW };
	float x[NX], x_nhwc[NX], out_nhwc[NX], got[NX], scratch[2 * SE_C + SE_CR];
	double want[NX];
	fill(x, NX, -2.0f, 2.0f);
	for (int c = 0; c < SE_C; c++)
		for (int i = 0; i < HW; i++)
			x_nhwc[i * SE_C + c] = x[c * HW + i];
	struct effc_rt_se p = {.batch = 1, .hw = HW, .channels = SE_C, .reduced = (size_t)g->t[m->in[1]].dims[0],
			       .act = m->a.act == EFFC_ACT_SWISH       ? EFFC_RT_ACT_SWISH
				      : m->a.act == EFFC_ACT_HARDSWISH ? EFFC_RT_ACT_HARDSWISH
								       : EFFC_RT_ACT_NONE,
			       .act_min = m->a.act == EFFC_ACT_CLAMP ? m->a.act_min : -INFINITY,
			       .act_max = m->a.act == EFFC_ACT_CLAMP ? m->a.act_max : INFINITY,
			       .gate = m->a.gate ? EFFC_RT_GATE_HARDSIGMOID : EFFC_RT_GATE_SIGMOID,
			       .gate_alpha = m->a.alpha,
			       .gate_beta = m->a.beta};
	effc_rt_ref_se(&p, fdata(g, m->in[1]), fdata(g, m->in[2]), fdata(g, m->in[3]), fdata(g, m->in[4]), x_nhwc, out_nhwc,
		       scratch);
	for (int c = 0; c < SE_C; c++)
		for (int i = 0; i < HW; i++)
			got[c * HW + i] = out_nhwc[i * SE_C + c];
	naive_se(g, &s, v, x, want);
	expect_floats(cn, "fused SE == unfused block numerically", got, want, NX, 1e-5);
	fixture_free(&f);
}

/* ---- dce -------------------------------------------------------------------------------- */

/* X -> Sigmoid -> Relu (unread: dead chain); X -> HardSwish -> Y (output, also read by the Add);
 * X -> Relu -> Add(., Y) -> Y2 (output); Y -> Sigmoid (unread: dead). */
static void test_dce(void)
{
	const char *cn = "dce dead chains removed, output producers kept";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 2, DIMS(4, 4));
	int a = tensor(g, "a", 0, NULL), b = tensor(g, "b", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int e = tensor(g, "e", 0, NULL), y2 = tensor(g, "Y2", 0, NULL), d = tensor(g, "d", 0, NULL);
	int sa = node(g, EFFC_OP_SIGMOID, "dead.sig", 1, INS(x), a);
	int rb = node(g, EFFC_OP_RELU, "dead.relu", 1, INS(a), b);
	int hs = node(g, EFFC_OP_HARDSWISH, "hswish", 1, INS(x), y);
	int re = node(g, EFFC_OP_RELU, "relu", 1, INS(x), e);
	int ad = node(g, EFFC_OP_ADD, "add", 2, INS(e, y), y2);
	int sd = node(g, EFFC_OP_SIGMOID, "dead.tail", 1, INS(y), d);
	output(g, y);
	output(g, y2);
	if (infer(&f, cn) && apply(&f, cn, "dce", effc_pass_dce)) {
		expect(g->n[sa].dead && g->n[rb].dead, cn, "unread chain Sigmoid -> Relu dead", "sig %d relu %d", g->n[sa].dead,
		       g->n[rb].dead);
		expect(g->n[sd].dead, cn, "unread tail after an output dead", "dead %d", g->n[sd].dead);
		expect(!g->n[hs].dead && !g->n[re].dead && !g->n[ad].dead, cn, "producers of both outputs kept",
		       "hswish %d relu %d add %d dead", g->n[hs].dead, g->n[re].dead, g->n[ad].dead);
		expect(g->rewrites == 3, cn, "3 rewrites", "%d", g->rewrites);
		expect(g->t[x].n_consumers == 2 && g->t[y].n_consumers == 1, cn, "consumer counts recomputed",
		       "X read %d times, Y %d", g->t[x].n_consumers, g->t[y].n_consumers);
		check_structure(g, cn);
	}
	fixture_free(&f);
}

/* Non-match: nothing dead. */
static void test_dce_nothing(void)
{
	const char *cn = "dce live graph untouched";
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 2, DIMS(4, 4));
	int a = tensor(g, "a", 0, NULL), y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_SIGMOID, "sig", 1, INS(x), a);
	node(g, EFFC_OP_RELU, "relu", 1, INS(a), y);
	output(g, y);
	if (infer(&f, cn) && apply(&f, cn, "dce", effc_pass_dce))
		expect(g->rewrites == 0 && count_op(g, EFFC_OP_SIGMOID) == 1 && count_op(g, EFFC_OP_RELU) == 1, cn,
		       "both nodes kept", "%d rewrites", g->rewrites);
	fixture_free(&f);
}

/* ---- in-place memory plan --------------------------------------------------------------- */

/* Aliases sit at their root's offset, and distinct roots alive at the same step do not share a
 * byte (live_disjoint(), the checker test_passes.c uses too). */
static void check_overlap(struct effc_graph *g, const char *cn)
{
	char why[300] = "";
	int ok = 1;
	for (int i = 0; i < g->n_t && ok; i++)
		if (is_activation(g, i) && g->t[i].alias_of >= 0 && g->t[i].offset != g->t[root_of(g, i)].offset) {
			snprintf(why, sizeof why, "alias '%s' at %zu, its root at %zu", g->t[i].name, g->t[i].offset,
				 g->t[root_of(g, i)].offset);
			ok = 0;
		}
	ok = ok && live_disjoint(g, why, sizeof why);
	expect(ok, cn, "tensors alive together do not overlap", "%s", why);
}

/* No node writes bytes that an earlier tensor sharing them still needs: for every computing node
 * at step s writing y, every other tensor with y's root made before s is read at s at the latest. */
static void check_no_clobber(struct effc_graph *g, const char *cn)
{
	int *step = xmalloc(sizeof(int) * (size_t)g->n_n), *last = xmalloc(sizeof(int) * (size_t)g->n_t);
	int *made = xmalloc(sizeof(int) * (size_t)g->n_t);
	int steps = 0;
	for (int i = 0; i < g->n_n; i++)
		step[i] = g->n[i].dead ? -1 : steps++;
	for (int t = 0; t < g->n_t; t++) {
		last[t] = g->t[t].is_output ? steps : -1;
		made[t] = g->t[t].is_input ? -1 : -2;
	}
	for (int i = 0; i < g->n_n; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead)
			continue;
		for (int k = 0; k < n->n_in; k++)
			if (n->in[k] >= 0 && last[n->in[k]] < step[i])
				last[n->in[k]] = step[i];
		for (int k = 0; k < n->n_out; k++)
			if (n->out[k] >= 0)
				made[n->out[k]] = step[i];
	}
	char why[300] = "";
	int ok = 1;
	for (int i = 0; i < g->n_n && ok; i++) {
		const struct effc_node *n = &g->n[i];
		if (n->dead || effc_node_is_alias(g, n))
			continue;
		int y = n->out[0], r = root_of(g, y);
		for (int u = 0; u < g->n_t && ok; u++) {
			if (u == y || g->t[u].data || made[u] == -2 || made[u] >= step[i] || root_of(g, u) != r)
				continue;
			if (last[u] > step[i]) {
				snprintf(why, sizeof why, "node '%s' (step %d) writes '%s' over '%s', which step %d still reads", n->name,
					 step[i], g->t[y].name, g->t[u].name, last[u]);
				ok = 0;
			}
		}
	}
	expect(ok, cn, "no tensor overwritten while still needed", "%s", why);
	free(step), free(last), free(made);
}

static int run_to_plan(struct fixture *f, const char *cn, int inplace)
{
	if (!infer(f, cn) || !apply(f, cn, "fuse_activation", effc_pass_fuse_activation) ||
	    !apply(f, cn, "layout", effc_pass_layout) || !apply(f, cn, "lower", effc_pass_lower))
		return 0;
	f->g->inplace = inplace;
	return apply(f, cn, "plan_memory", effc_plan_memory);
}

/* X -> conv0 -> c0 -> conv1+Relu -> r -> Swish (standalone: the conv already has a clamp) -> sw
 * -> Add(sw, residual) -> Y, where residual is c0 (earlier tensor) or r (the Swish's input). */
static void build_inplace_chain(struct effc_graph *g, int residual_is_r, int *r_out, int *sw_out, int *add_out)
{
	int x = input(g, "X", 4, DIMS(1, 4, 6, 6));
	int w0 = random_const(g, "W0", 4, DIMS(4, 4, 3, 3), -0.5f, 0.5f);
	int w1 = random_const(g, "W1", 4, DIMS(4, 4, 3, 3), -0.5f, 0.5f);
	int c0 = tensor(g, "c0", 0, NULL), c1 = tensor(g, "c1", 0, NULL), r = tensor(g, "r", 0, NULL);
	int s = tensor(g, "sig", 0, NULL), sw = tensor(g, "sw", 0, NULL), y = tensor(g, "Y", 0, NULL);
	conv(g, "conv0", x, w0, -1, 1, c0);
	conv(g, "conv1", c0, w1, -1, 1, c1);
	node(g, EFFC_OP_RELU, "relu", 1, INS(c1), r);
	node(g, EFFC_OP_SIGMOID, "sigmoid", 1, INS(r), s);
	node(g, EFFC_OP_MUL, "swish", 2, INS(r, s), sw);
	*add_out = node(g, EFFC_OP_ADD, "add", 2, INS(sw, residual_is_r ? r : c0), y);
	output(g, y);
	*r_out = r, *sw_out = sw;
}

static void test_inplace_chain(const char *cn, int inplace, int residual_is_r)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	int r, sw, add;
	build_inplace_chain(g, residual_is_r, &r, &sw, &add);
	if (run_to_plan(&f, cn, inplace)) {
		int swn = find_op(g, EFFC_OP_SWISH, 0);
		expect(count_op(g, EFFC_OP_SWISH) == 1 && swn >= 0 && g->n[swn].in[0] == r && g->n[swn].out[0] == sw, cn,
		       "setup: one standalone Swish(r) -> sw", "%d Swish nodes", count_op(g, EFFC_OP_SWISH));
		check_structure(g, cn);
		check_overlap(g, cn);
		check_no_clobber(g, cn);
		/* layout inserted conversions, so node ids moved: find the Add again. */
		add = find_op(g, EFFC_OP_ADD, 0);
		int ya = add >= 0 ? g->n[add].out[0] : -1;
		expect(ya >= 0 && g->n[add].in[0] == sw, cn, "setup: Add reads sw", "add node %d", add);
		if (ya < 0) {
			fixture_free(&f);
			return;
		}
		if (!inplace) {
			int aliased = 0;
			for (int i = 0; i < g->n_n; i++)
				if (!g->n[i].dead && !effc_node_is_alias(g, &g->n[i]) && g->t[g->n[i].out[0]].alias_of >= 0)
					aliased++;
			expect(aliased == 0, cn, "no output of a computing node is an alias", "%d aliased", aliased);
			expect(g->t[sw].offset != g->t[r].offset, cn, "sw and r at different offsets", "both at %zu", g->t[sw].offset);
		} else if (!residual_is_r) {
			expect(g->t[sw].alias_of == r && g->t[sw].offset == g->t[r].offset, cn, "Swish runs in place (sw aliases r)",
			       "alias_of %d, offsets %zu and %zu", g->t[sw].alias_of, g->t[sw].offset, g->t[r].offset);
			expect(root_of(g, ya) == root_of(g, r), cn, "the Add runs in place over sw too", "root of add output %d, of r %d",
			       root_of(g, ya), root_of(g, r));
		} else {
			expect(g->t[sw].alias_of < 0 && root_of(g, sw) != root_of(g, r), cn,
			       "Swish not in place: r is read again by the Add", "sw alias_of %d", g->t[sw].alias_of);
		}
	}
	fixture_free(&f);
}

/* The SE block through layout and the plan: in place over its input when nothing reads the input
 * afterwards, out of place when a residual Add still needs it. */
static void test_inplace_se(const char *cn, int x_read_later)
{
	struct fixture f;
	if (!fixture_init(&f, cn))
		return;
	struct effc_graph *g = f.g;
	struct se_variant v = {0};
	v.x_read_later = x_read_later;
	struct se_graph s;
	build_se(g, &v, &s);
	if (!infer(&f, cn) || !apply(&f, cn, "fuse_activation", effc_pass_fuse_activation) ||
	    !apply(&f, cn, "fuse_se", effc_pass_fuse_se) || !apply(&f, cn, "layout", effc_pass_layout) ||
	    !apply(&f, cn, "lower", effc_pass_lower)) {
		fixture_free(&f);
		return;
	}
	g->inplace = 1;
	if (apply(&f, cn, "plan_memory", effc_plan_memory)) {
		int se = find_op(g, EFFC_OP_SE, 0); /* layout moved node ids */
		expect(count_op(g, EFFC_OP_SE) == 1 && g->n[se].in[0] == s.c && g->n[se].out[0] == s.y, cn,
		       "setup: SqueezeExcite(c) -> se.out", "%d SE nodes", count_op(g, EFFC_OP_SE));
		check_structure(g, cn);
		check_overlap(g, cn);
		check_no_clobber(g, cn);
		if (x_read_later)
			expect(root_of(g, s.y) != root_of(g, s.c), cn, "SE not in place: c is read again", "SE output shares c's bytes");
		else
			expect(g->t[s.y].alias_of == s.c && g->t[s.y].offset == g->t[s.c].offset, cn, "SE runs in place over c",
			       "alias_of %d", g->t[s.y].alias_of);
	}
	fixture_free(&f);
}

int main(void)
{
	test_cleanup_removes();
	test_cleanup_output_kept();

	test_fold_constants_add();
	test_fold_constants_transpose();
	test_fold_constants_runtime();

	test_fold_input_norm_mul("fold-input-norm Mul(X, s) scales conv weights", 0);
	test_fold_input_norm_mul("fold-input-norm Mul(s, X) scales conv weights", 1);
	test_fold_input_norm_sub("fold-input-norm Sub(X, m) into bias, pads 0", 0);
	test_fold_input_norm_sub("fold-input-norm Sub then Div, pads 0", 1);
	test_fold_input_norm_kept("fold-input-norm Sub before padded conv kept", EFFC_OP_SUB, DIMS(1, 3, 1, 1), 4, 1);
	test_fold_input_norm_kept("fold-input-norm Mul by spatial [1,1,5,5] kept", EFFC_OP_MUL, DIMS(1, 1, 5, 5), 4, 0);

	test_fold_pad_match();
	test_fold_pad_kept("fold-pad Pad value 1 kept", 1.0f, 0, 0);
	test_fold_pad_kept("fold-pad Pad on channels kept", 0.0f, 1, 0);
	test_fold_pad_kept("fold-pad Pad read by two convs kept", 0.0f, 0, 1);

	test_fold_bn_conv("fold-bn Conv(bias)->BN folded", 1);
	test_fold_bn_conv("fold-bn Conv(no bias)->BN folded", 0);
	test_fold_bn_shared();
	test_fold_bn_gemm("fold-bn Gemm(transB=1)->BN folded", 1, 0);
	test_fold_bn_gemm("fold-bn Gemm(transB=0)->BN folded", 0, 0);
	test_fold_bn_gemm("fold-bn MatMul->BN folded into a Gemm", 0, 1);
	test_fold_bn_runtime_mean();

	test_fuse_swish_conv("fuse-activation Conv->Mul(c, Sigmoid(c))", 0);
	test_fuse_swish_conv("fuse-activation Conv->Mul(Sigmoid(c), c)", 1);
	test_fuse_clamp_conv("fuse-activation Conv->Relu", FUSE_RELU);
	test_fuse_clamp_conv("fuse-activation Conv->Clip(0, 6)", FUSE_CLIP);
	test_fuse_clamp_conv("fuse-activation Conv->HardSwish", FUSE_HARDSWISH);
	test_fuse_swish_input();
	test_fuse_swish_shared_conv();
	test_fuse_mul_not_swish();
	test_fuse_hardswish_pair("fuse-activation Conv->Mul(c, HardSigmoid(c)) is HardSwish", 0);
	test_fuse_hardswish_pair("fuse-activation Conv->Mul(HardSigmoid(c), c) is HardSwish", 1);
	test_fuse_hardswish_pair_input();
	test_ref_kernel_report();
	test_fuse_hardsigmoid_not_hardswish("fuse-activation HardSigmoid alpha 0.2 is not HardSwish", HS_ALPHA);
	test_fuse_hardsigmoid_not_hardswish("fuse-activation HardSigmoid beta 0.4 is not HardSwish", HS_BETA);
	test_fuse_hardsigmoid_not_hardswish("fuse-activation Mul(R, HardSigmoid(c)) is not HardSwish", HS_OTHER_TENSOR);
	test_fuse_hardsigmoid_not_hardswish("fuse-activation HardSigmoid output also a graph output", HS_OUTPUT_USED);
	test_fuse_after_fold_bn();

	static const struct se_variant se_plain = {0}, se_hard = {.hard_gate = 1}, se_mean = {.reduce_mean = 1, .gate_first = 1},
				       se_relu = {.relu = 1}, se_3x3 = {.conv2_3x3 = 1}, se_shared = {.pool_shared = 1};
	test_fuse_se("fuse-se GAP, Swish, Sigmoid gate", &se_plain, 1);
	test_fuse_se("fuse-se HardSigmoid gate", &se_hard, 1);
	test_fuse_se("fuse-se ReduceMean(-1,-2) and Mul(gate, x)", &se_mean, 1);
	test_fuse_se("fuse-se Relu inner act", &se_relu, 1);
	test_fuse_se("fuse-se 3x3 second conv not fused", &se_3x3, 0);
	test_fuse_se("fuse-se pooled tensor read elsewhere not fused", &se_shared, 0);

	test_dce();
	test_dce_nothing();

	test_inplace_chain("inplace chain conv->swish->add(c0), inplace on", 1, 0);
	test_inplace_chain("inplace chain conv->swish->add(c0), inplace off", 0, 0);
	test_inplace_chain("inplace swish input read later by add", 1, 1);
	test_inplace_se("inplace SE over its input", 0);
	test_inplace_se("inplace SE input read later", 1);

	return test_summary();
}
