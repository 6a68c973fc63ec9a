/* test_passes.c: unit tests of the IR passes (layout, lower, fuse-mbconv, fuse-se-scale) and the
 * memory plan on small graphs built by hand, each with a case the pass must match and one it must
 * leave alone.
 *
 * Graphs are built the way the loader builds them: tensors and nodes added through the IR
 * helpers, attributes set as load_attrs() would default them, then the pipeline is run up to the
 * phase under test (infer_shapes -> layout -> lower -> plan, as in main.c). Besides the specific
 * expectations every graph is checked for structural sanity after each pass: producers point at
 * the node that writes the tensor and every input is available before it is read.
 *
 * Output: one line per check, `ok NAME` or `FAIL NAME: why`, then `N passed, M failed`.
 * Adding a case: a test_<pass>_<case>() building its graph with the helpers of testing.h and a call
 * in main(). */
#include "effc.h"
#include "effc_rt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "testing.h"

static int run_passes(struct fixture *f, const char *name, int layout, int lower, int plan)
{
	enum effc_status st = effc_infer_shapes(f->g, &f->d);
	if (!st && layout)
		st = effc_pass_layout(f->g, &f->d);
	if (!st && lower)
		st = effc_pass_lower(f->g, &f->d);
	if (!st && plan)
		st = effc_plan_memory(f->g, &f->d);
	char full[160];
	snprintf(full, sizeof full, "%s: passes succeed", name);
	check(st == EFFC_OK, full, "status %d: %s", (int)st, f->d.msg);
	return st == EFFC_OK;
}

/* ---- generic graph checks --------------------------------------------------------------- */

/* Producers match, every input of a live node is a constant, a graph input or the output of an
 * earlier live node, and graph outputs are produced (or constant/input). */
static void check_structure(struct effc_graph *g, const char *name)
{
	char full[160], why[256] = "";
	int ok = nodes_ordered(g, why, sizeof why);
	for (int k = 0; k < g->n_outputs && ok; k++) {
		const struct effc_tensor *t = &g->t[g->outputs[k]];
		if (!t->data && !t->is_input && t->producer < 0) {
			snprintf(why, sizeof why, "graph output '%s' has no producer", t->name);
			ok = 0;
		}
		if (ok && !t->is_output) {
			snprintf(why, sizeof why, "graph output '%s' lacks is_output", t->name);
			ok = 0;
		}
	}
	snprintf(full, sizeof full, "%s: graph structure valid", name);
	check(ok, full, "%s", why);
}

static const char *layout_name(enum effc_layout l) { return l == EFFC_LAYOUT_NHWC ? "NHWC" : "ONNX"; }

static void expect_layout(struct effc_graph *g, const char *name, const char *what, int t, enum effc_layout want)
{
	char full[200];
	snprintf(full, sizeof full, "%s: %s is %s", name, what, layout_name(want));
	check(t >= 0 && g->t[t].layout == want, full, "tensor %d ('%s') is %s", t, t >= 0 ? g->t[t].name : "-",
	      t >= 0 ? layout_name(g->t[t].layout) : "-");
}

/* A constant operand of an NHWC elementwise op is usable when its bytes, read as the NHWC
 * tensor of shape dims4 (as the emitter reads it), give the original ONNX values. */
static int const_reads_as_nhwc(const struct effc_graph *g, int t, const float *onnx, const int64_t *d4)
{
	const struct effc_tensor *x = &g->t[t];
	if (!x->data || effc_tensor_numel(x) != d4[0] * d4[1] * d4[2] * d4[3])
		return 0;
	const float *p = x->data;
	for (int64_t n = 0; n < d4[0]; n++)
		for (int64_t c = 0; c < d4[1]; c++)
			for (int64_t h = 0; h < d4[2]; h++)
				for (int64_t w = 0; w < d4[3]; w++)
					if (p[((n * d4[2] + h) * d4[3] + w) * d4[1] + c] != onnx[((n * d4[1] + c) * d4[2] + h) * d4[3] + w])
						return 0;
	return 1;
}

static void check_plan(struct effc_graph *g, const char *name, int expect_reuse); /* memory plan section */

/* ---- layout ----------------------------------------------------------------------------- */

/* X[1,3,8,8] -> Conv(W const, pads 1) -> Sigmoid -> GAP -> Flatten -> Gemm(B const, transB) -> Y */
static int build_classifier(struct effc_graph *g)
{
	int x = input(g, "X", 4, DIMS(1, 3, 8, 8));
	int w = constant(g, "W", 4, DIMS(4, 3, 3, 3), -0.5f, 0.01f);
	int b = constant(g, "Bconv", 1, DIMS(4), 0.1f, 0.1f);
	int c = tensor(g, "conv_out", 0, NULL), s = tensor(g, "sig_out", 0, NULL), p = tensor(g, "gap_out", 0, NULL);
	int fl = tensor(g, "flat_out", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int gb = constant(g, "fc.B", 2, DIMS(10, 4), 1.0f, 0.5f), gc = constant(g, "fc.C", 1, DIMS(10), -1.0f, 0.25f);
	int conv = node(g, EFFC_OP_CONV, "conv", 3, INS(x, w, b), c);
	for (int i = 0; i < 4; i++)
		g->n[conv].a.pads[i] = 1;
	node(g, EFFC_OP_SIGMOID, "sig", 1, INS(c), s);
	node(g, EFFC_OP_GLOBALAVGPOOL, "gap", 1, INS(s), p);
	node(g, EFFC_OP_FLATTEN, "flatten", 1, INS(p), fl);
	int gemm = node(g, EFFC_OP_GEMM, "fc", 3, INS(fl, gb, gc), y);
	g->n[gemm].a.trans_b = 1;
	output(g, y);
	return x;
}

static void test_layout_classifier(void)
{
	const char *name = "layout conv-sigmoid-gap-flatten-gemm";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = build_classifier(g);
	int conv_t = effc_graph_find_tensor(g, "conv_out"), sig_t = effc_graph_find_tensor(g, "sig_out");
	int gap_t = effc_graph_find_tensor(g, "gap_out"), flat_t = effc_graph_find_tensor(g, "flat_out");
	if (!run_passes(&f, name, 1, 0, 0)) {
		fixture_free(&f);
		return;
	}
	char full[200];
	check_structure(g, name);
	snprintf(full, sizeof full, "%s: exactly one LayoutToNHWC", name);
	check(count_op(g, EFFC_OP_TO_NHWC) == 1, full, "found %d", count_op(g, EFFC_OP_TO_NHWC));
	int to_nhwc = find_op(g, EFFC_OP_TO_NHWC, 0), conv = find_op(g, EFFC_OP_CONV, 0);
	snprintf(full, sizeof full, "%s: LayoutToNHWC converts X right before the conv", name);
	check(to_nhwc >= 0 && conv >= 0 && to_nhwc < conv && g->n[to_nhwc].in[0] == x &&
		      g->n[conv].in[0] == g->n[to_nhwc].out[0],
	      full, "to_nhwc at %d (input %d), conv at %d reads %d", to_nhwc, to_nhwc >= 0 ? g->n[to_nhwc].in[0] : -1, conv,
	      conv >= 0 ? g->n[conv].in[0] : -1);
	snprintf(full, sizeof full, "%s: X -> NHWC is a real conversion (not an alias)", name);
	check(to_nhwc >= 0 && !effc_node_is_alias(g, &g->n[to_nhwc]), full, "treated as alias");
	expect_layout(g, name, "graph input X", x, EFFC_LAYOUT_ONNX);
	expect_layout(g, name, "conv output", conv_t, EFFC_LAYOUT_NHWC);
	expect_layout(g, name, "sigmoid output", sig_t, EFFC_LAYOUT_NHWC);
	expect_layout(g, name, "GAP output", gap_t, EFFC_LAYOUT_NHWC);
	expect_layout(g, name, "flatten output", flat_t, EFFC_LAYOUT_ONNX);

	int to_nchw = find_op(g, EFFC_OP_TO_NCHW, 0), flatten = find_op(g, EFFC_OP_FLATTEN, 0);
	snprintf(full, sizeof full, "%s: one LayoutToNCHW, between GAP and Flatten", name);
	check(count_op(g, EFFC_OP_TO_NCHW) == 1 && to_nchw >= 0 && flatten >= 0 && g->n[to_nchw].in[0] == gap_t &&
		      g->n[flatten].in[0] == g->n[to_nchw].out[0] && to_nchw < flatten,
	      full, "%d LayoutToNCHW; first at %d, flatten at %d", count_op(g, EFFC_OP_TO_NCHW), to_nchw, flatten);
	snprintf(full, sizeof full, "%s: LayoutToNCHW of N x C x 1 x 1 is an alias", name);
	check(to_nchw >= 0 && effc_node_is_alias(g, &g->n[to_nchw]), full, "not an alias");
	if (to_nchw >= 0)
		expect_layout(g, name, "LayoutToNCHW output", g->n[to_nchw].out[0], EFFC_LAYOUT_ONNX);

	snprintf(full, sizeof full, "%s: graph output keeps its name and ONNX layout", name);
	int y = g->outputs[0];
	check(g->n_outputs == 1 && g->t[y].layout == EFFC_LAYOUT_ONNX && strcmp(g->t[y].name, "Y") == 0 &&
		      g->t[y].is_output && g->t[y].rank == 2 && g->t[y].dims[0] == 1 && g->t[y].dims[1] == 10,
	      full, "output '%s' %s rank %d", g->t[y].name, layout_name(g->t[y].layout), g->t[y].rank);
	snprintf(full, sizeof full, "%s: 5 nodes + 2 conversions", name);
	check(g->n_n == 7, full, "%d nodes", g->n_n);
	fixture_free(&f);
}

/* A 4-D graph output computed in NHWC: the conversion back takes over the ONNX name and the
 * ONNX-tensor mark (what the debug dump of difftest --layers lists), the NHWC tensor neither. */
static void test_layout_4d_output(void)
{
	const char *name = "layout conv with a 4-D graph output";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 3, 8, 8));
	int w = constant(g, "W", 4, DIMS(4, 3, 3, 3), -0.5f, 0.01f);
	int y = tensor(g, "Y", 0, NULL);
	int conv = node(g, EFFC_OP_CONV, "conv", 2, INS(x, w), y);
	for (int i = 0; i < 4; i++)
		g->n[conv].a.pads[i] = 1;
	output(g, y);
	g->t[y].from_onnx = 1;
	if (run_passes(&f, name, 1, 0, 0)) {
		char full[200];
		check_structure(g, name);
		const int out = g->outputs[0], inner = g->n[find_op(g, EFFC_OP_CONV, 0)].out[0];
		snprintf(full, sizeof full, "%s: output 'Y' is the conversion's, marked ONNX; the conv's is not", name);
		check(out != inner && !strcmp(g->t[out].name, "Y") && g->t[out].from_onnx && !g->t[inner].from_onnx &&
			      g->t[inner].layout == EFFC_LAYOUT_NHWC && g->t[out].layout == EFFC_LAYOUT_ONNX,
		      full, "output '%s' from_onnx %d, conv output '%s' from_onnx %d", g->t[out].name, g->t[out].from_onnx,
		      g->t[inner].name, g->t[inner].from_onnx);
	}
	fixture_free(&f);
}

/* Non-match: a Conv whose W is a runtime graph input stays in ONNX layout. */
static void test_layout_runtime_weights(void)
{
	const char *name = "layout conv with runtime W stays ONNX";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 3, 8, 8));
	int w = input(g, "W", 4, DIMS(4, 3, 3, 3));
	int c = tensor(g, "conv_out", 0, NULL), s = tensor(g, "sig_out", 0, NULL);
	int conv = node(g, EFFC_OP_CONV, "conv", 2, INS(x, w), c);
	for (int i = 0; i < 4; i++)
		g->n[conv].a.pads[i] = 1;
	node(g, EFFC_OP_SIGMOID, "sig", 1, INS(c), s);
	output(g, s);
	if (run_passes(&f, name, 1, 1, 0)) {
		char full[200];
		check_structure(g, name);
		snprintf(full, sizeof full, "%s: no conversions inserted", name);
		check(count_op(g, EFFC_OP_TO_NHWC) == 0 && count_op(g, EFFC_OP_TO_NCHW) == 0 && g->n_n == 2, full,
		      "%d nodes, %d to NHWC, %d to NCHW", g->n_n, count_op(g, EFFC_OP_TO_NHWC), count_op(g, EFFC_OP_TO_NCHW));
		expect_layout(g, name, "conv output", c, EFFC_LAYOUT_ONNX);
		expect_layout(g, name, "sigmoid output", s, EFFC_LAYOUT_ONNX);
		snprintf(full, sizeof full, "%s: lower leaves the run-time W alone", name);
		check(g->n[find_op(g, EFFC_OP_CONV, 0)].in[1] == w, full, "conv reads tensor %d", g->n[find_op(g, EFFC_OP_CONV, 0)].in[1]);
	}
	fixture_free(&f);
}

/* Conv (NHWC) then Add with `other`; returns the Add node's output tensor. */
static int build_conv_add(struct effc_graph *g, int *x_out, int *conv_out)
{
	int x = input(g, "X", 4, DIMS(1, 3, 8, 8));
	int w = constant(g, "W", 4, DIMS(4, 3, 3, 3), -0.5f, 0.01f);
	int c = tensor(g, "conv_out", 0, NULL);
	int conv = node(g, EFFC_OP_CONV, "conv", 2, INS(x, w), c);
	for (int i = 0; i < 4; i++)
		g->n[conv].a.pads[i] = 1;
	*x_out = x;
	*conv_out = c;
	return c;
}

static void test_layout_add_const(const char *name, const int64_t *kdims, int krank)
{
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	build_conv_add(g, &x, &c);
	int k = constant(g, "K", krank, kdims, 1.0f, 0.5f);
	const int64_t numel = effc_tensor_numel(&g->t[k]);
	float *orig = malloc((size_t)numel * sizeof(float));
	memcpy(orig, g->t[k].data, (size_t)numel * sizeof(float));
	int64_t d4[4];
	for (int i = 0; i < 4; i++)
		d4[i] = i < 4 - krank ? 1 : kdims[i - (4 - krank)];
	int a = tensor(g, "add_out", 0, NULL);
	node(g, EFFC_OP_ADD, "add", 2, INS(c, k), a);
	output(g, a);
	if (run_passes(&f, name, 1, 0, 0)) {
		char full[200];
		check_structure(g, name);
		int add = find_op(g, EFFC_OP_ADD, 0);
		expect_layout(g, name, "add output", a, EFFC_LAYOUT_NHWC);
		snprintf(full, sizeof full, "%s: add reads the conv output directly", name);
		check(g->n[add].in[0] == c, full, "reads tensor %d", g->n[add].in[0]);
		snprintf(full, sizeof full, "%s: only X is converted to NHWC", name);
		check(count_op(g, EFFC_OP_TO_NHWC) == 1, full, "%d LayoutToNHWC nodes", count_op(g, EFFC_OP_TO_NHWC));
		snprintf(full, sizeof full, "%s: constant operand reads correctly as NHWC", name);
		check(const_reads_as_nhwc(g, g->n[add].in[1], orig, d4), full, "tensor '%s' bytes do not match",
		      g->t[g->n[add].in[1]].name);
		snprintf(full, sizeof full, "%s: original constant untouched", name);
		check(memcmp(g->t[k].data, orig, (size_t)numel * sizeof(float)) == 0, full, "bytes of K changed");
		snprintf(full, sizeof full, "%s: graph output converted back to ONNX under its name", name);
		int y = g->outputs[0];
		check(g->t[y].layout == EFFC_LAYOUT_ONNX && strcmp(g->t[y].name, "add_out") == 0 && g->t[y].producer >= 0 &&
			      g->n[g->t[y].producer].op == EFFC_OP_TO_NCHW && !g->t[a].is_output,
		      full, "output '%s' is %s", g->t[y].name, layout_name(g->t[y].layout));
	}
	free(orig);
	fixture_free(&f);
}

/* Add of the NHWC conv output with a runtime ONNX [1,4,8,8] input: the input gets converted. */
static void test_layout_add_runtime(void)
{
	const char *name = "layout add nhwc + runtime [1,4,8,8]";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	build_conv_add(g, &x, &c);
	int r = input(g, "R", 4, DIMS(1, 4, 8, 8));
	int a = tensor(g, "add_out", 0, NULL);
	node(g, EFFC_OP_ADD, "add", 2, INS(c, r), a);
	output(g, a);
	if (run_passes(&f, name, 1, 0, 0)) {
		char full[200];
		check_structure(g, name);
		int add = find_op(g, EFFC_OP_ADD, 0);
		snprintf(full, sizeof full, "%s: two LayoutToNHWC (X and R)", name);
		check(count_op(g, EFFC_OP_TO_NHWC) == 2, full, "%d", count_op(g, EFFC_OP_TO_NHWC));
		int cv = add >= 0 ? g->n[add].in[1] : -1, p = cv >= 0 ? g->t[cv].producer : -1;
		snprintf(full, sizeof full, "%s: R reaches the add through a real LayoutToNHWC", name);
		check(p >= 0 && p < add && g->n[p].op == EFFC_OP_TO_NHWC && g->n[p].in[0] == r && !effc_node_is_alias(g, &g->n[p]),
		      full, "add input 1 is tensor %d, produced by %d", cv, p);
		expect_layout(g, name, "converted R", cv, EFFC_LAYOUT_NHWC);
		expect_layout(g, name, "graph input R", r, EFFC_LAYOUT_ONNX);
		expect_layout(g, name, "add output", a, EFFC_LAYOUT_NHWC);
		expect_layout(g, name, "graph output", g->outputs[0], EFFC_LAYOUT_ONNX);
	}
	fixture_free(&f);
}

/* Non-match for the elementwise rule: both operands ONNX, nothing converted. */
static void test_layout_add_onnx(void)
{
	const char *name = "layout add of two ONNX inputs stays ONNX";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int p = input(g, "P", 4, DIMS(1, 4, 8, 8)), q = input(g, "Q", 4, DIMS(1, 4, 8, 8));
	int a = tensor(g, "add_out", 0, NULL);
	node(g, EFFC_OP_ADD, "add", 2, INS(p, q), a);
	output(g, a);
	if (run_passes(&f, name, 1, 0, 0)) {
		char full[200];
		snprintf(full, sizeof full, "%s: no conversions", name);
		check(g->n_n == 1, full, "%d nodes", g->n_n);
		expect_layout(g, name, "add output", a, EFFC_LAYOUT_ONNX);
	}
	fixture_free(&f);
}

/* Squeeze-and-excitation: conv -> GAP -> conv1x1 -> sigmoid -> Mul with the conv output. All of
 * it stays NHWC: X is converted once and the output once, nothing in between. */
static void test_layout_se_block(void)
{
	const char *name = "layout squeeze-excitation stays NHWC";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	build_conv_add(g, &x, &c);
	int w2 = constant(g, "W2", 4, DIMS(4, 4, 1, 1), 0.1f, 0.05f);
	int p = tensor(g, "gap_out", 0, NULL), q = tensor(g, "se_conv", 0, NULL), s = tensor(g, "se_sig", 0, NULL);
	int m = tensor(g, "scaled", 0, NULL);
	node(g, EFFC_OP_GLOBALAVGPOOL, "gap", 1, INS(c), p);
	node(g, EFFC_OP_CONV, "se.conv", 2, INS(p, w2), q);
	node(g, EFFC_OP_SIGMOID, "se.sig", 1, INS(q), s);
	node(g, EFFC_OP_MUL, "se.mul", 2, INS(c, s), m);
	output(g, m);
	if (run_passes(&f, name, 1, 1, 1)) {
		char full[200];
		check_structure(g, name);
		snprintf(full, sizeof full, "%s: one conversion in, one out", name);
		check(count_op(g, EFFC_OP_TO_NHWC) == 1 && count_op(g, EFFC_OP_TO_NCHW) == 1 &&
			      g->n[g->n_n - 1].op == EFFC_OP_TO_NCHW,
		      full, "%d to NHWC, %d to NCHW", count_op(g, EFFC_OP_TO_NHWC), count_op(g, EFFC_OP_TO_NCHW));
		expect_layout(g, name, "GAP output", p, EFFC_LAYOUT_NHWC);
		expect_layout(g, name, "SE conv output", q, EFFC_LAYOUT_NHWC);
		expect_layout(g, name, "SE sigmoid output", s, EFFC_LAYOUT_NHWC);
		expect_layout(g, name, "Mul output", m, EFFC_LAYOUT_NHWC);
		int mul = find_op(g, EFFC_OP_MUL, 0);
		snprintf(full, sizeof full, "%s: Mul reads both NHWC tensors directly", name);
		check(mul >= 0 && g->n[mul].in[0] == c && g->n[mul].in[1] == s, full, "inputs %d, %d",
		      mul >= 0 ? g->n[mul].in[0] : -1, mul >= 0 ? g->n[mul].in[1] : -1);
		check_plan(g, name, 0);
	}
	fixture_free(&f);
}

/* A graph input read by two convolutions is converted once. */
static void test_layout_shared_input(void)
{
	const char *name = "layout input shared by two convs converted once";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x, c1;
	build_conv_add(g, &x, &c1);
	int w2 = constant(g, "W2", 4, DIMS(4, 3, 1, 1), 0.1f, 0.05f);
	int c2 = tensor(g, "conv2_out", 0, NULL), a = tensor(g, "sum", 0, NULL);
	node(g, EFFC_OP_CONV, "conv2", 2, INS(x, w2), c2);
	node(g, EFFC_OP_ADD, "add", 2, INS(c1, c2), a);
	output(g, a);
	if (run_passes(&f, name, 1, 0, 0)) {
		char full[200];
		check_structure(g, name);
		int conv1 = find_op(g, EFFC_OP_CONV, 0), conv2 = find_op(g, EFFC_OP_CONV, 1);
		snprintf(full, sizeof full, "%s: one LayoutToNHWC feeding both convs", name);
		check(count_op(g, EFFC_OP_TO_NHWC) == 1 && conv1 >= 0 && conv2 >= 0 && g->n[conv1].in[0] == g->n[conv2].in[0] &&
			      g->n[conv1].in[0] != x,
		      full, "%d LayoutToNHWC", count_op(g, EFFC_OP_TO_NHWC));
		expect_layout(g, name, "sum", a, EFFC_LAYOUT_NHWC);
	}
	fixture_free(&f);
}

/* ReduceMean over H,W without keepdims gives [N,C], whose bytes are the same in both layouts:
 * no conversion before the Gemm. Axes are given negative to exercise normalisation. */
static void test_layout_reducemean_hw(void)
{
	const char *name = "layout ReduceMean(H,W) keepdims=0 needs no conversion";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x, c;
	build_conv_add(g, &x, &c);
	int r = tensor(g, "mean", 0, NULL), y = tensor(g, "Y", 0, NULL);
	int gb = constant(g, "fc.B", 2, DIMS(4, 3), 1.0f, 0.5f);
	int rm = node(g, EFFC_OP_REDUCEMEAN, "mean", 1, INS(c), r);
	g->n[rm].a.keepdims = 0;
	g->n[rm].a.axes[0] = -1, g->n[rm].a.axes[1] = -2, g->n[rm].a.n_axes = 2, g->n[rm].a.has_axes = 1;
	node(g, EFFC_OP_GEMM, "fc", 2, INS(r, gb), y);
	output(g, y);
	if (run_passes(&f, name, 1, 1, 1)) {
		char full[200];
		check_structure(g, name);
		snprintf(full, sizeof full, "%s: no LayoutToNCHW", name);
		check(count_op(g, EFFC_OP_TO_NCHW) == 0, full, "%d", count_op(g, EFFC_OP_TO_NCHW));
		snprintf(full, sizeof full, "%s: mean is [1,4]", name);
		check(g->t[r].rank == 2 && g->t[r].dims[0] == 1 && g->t[r].dims[1] == 4, full, "rank %d", g->t[r].rank);
		expect_layout(g, name, "mean", r, EFFC_LAYOUT_ONNX);
		snprintf(full, sizeof full, "%s: Gemm became FullyConnected", name);
		check(count_op(g, EFFC_OP_FULLY_CONNECTED) == 1, full, "no FullyConnected");
	}
	fixture_free(&f);
}

/* ---- lower ------------------------------------------------------------------------------ */

static void test_lower_conv_weights(void)
{
	const char *name = "lower conv weights OIHW -> OHWI";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	/* Distinct extents (O=5, I=2, KH=3, KW=4) so a swapped axis cannot go unnoticed. */
	enum { O = 5, CI = 2, KH = 3, KW = 4 };
	int x = input(g, "X", 4, DIMS(1, CI, 7, 9));
	int w = constant(g, "W", 4, DIMS(O, CI, KH, KW), 0.0f, 1.0f); /* value = OIHW linear index */
	int c = tensor(g, "conv_out", 0, NULL);
	int conv = node(g, EFFC_OP_CONV, "conv", 2, INS(x, w), c);
	g->n[conv].a.pads[0] = 1, g->n[conv].a.pads[1] = 2, g->n[conv].a.pads[2] = 1, g->n[conv].a.pads[3] = 1;
	output(g, c);
	if (run_passes(&f, name, 1, 1, 0)) {
		char full[200];
		check_structure(g, name);
		conv = find_op(g, EFFC_OP_CONV, 0);
		const struct effc_tensor *nw = &g->t[g->n[conv].in[1]];
		snprintf(full, sizeof full, "%s: new constant [5,3,4,2]", name);
		check(g->n[conv].in[1] != w && nw->data && nw->rank == 4 && nw->dims[0] == O && nw->dims[1] == KH &&
			      nw->dims[2] == KW && nw->dims[3] == CI,
		      full, "conv reads '%s' rank %d", nw->name, nw->rank);
		if (nw->data && nw->rank == 4) {
			const float *p = nw->data;
			/* (o,c,y,x) = (3,1,2,1): OIHW index ((3*2+1)*3+2)*4+1 = 93, OHWI ((3*3+2)*4+1)*2+1 = 91 */
			snprintf(full, sizeof full, "%s: element (o=3,c=1,y=2,x=1)", name);
			check(p[((3 * KH + 2) * KW + 1) * CI + 1] == (float)(((3 * CI + 1) * KH + 2) * KW + 1), full,
			      "OHWI[3][2][1][1] = %g, want %d", (double)p[((3 * KH + 2) * KW + 1) * CI + 1],
			      ((3 * CI + 1) * KH + 2) * KW + 1);
			int bad = -1;
			for (int o = 0; o < O; o++)
				for (int ci = 0; ci < CI; ci++)
					for (int y = 0; y < KH; y++)
						for (int xx = 0; xx < KW; xx++)
							if (p[((o * KH + y) * KW + xx) * CI + ci] != (float)(((o * CI + ci) * KH + y) * KW + xx) &&
							    bad < 0)
								bad = ((o * KH + y) * KW + xx) * CI + ci;
			snprintf(full, sizeof full, "%s: every element", name);
			check(bad < 0, full, "OHWI element %d wrong", bad);
		}
		snprintf(full, sizeof full, "%s: original OIHW constant untouched", name);
		check(((const float *)g->t[w].data)[93] == 93.0f && g->t[w].dims[1] == CI, full, "W changed");
	}
	fixture_free(&f);
}

/* A [M,K] -> Gemm(B const, C) -> [M,N]. */
static int build_gemm(struct effc_graph *g, int trans_a, int trans_b, float alpha, float beta, int crank,
		      const int64_t *cdims, int *b_out, int *c_out)
{
	enum { M = 3, K = 4, N = 5 };
	int a = trans_a ? input(g, "A", 2, DIMS(K, M)) : input(g, "A", 2, DIMS(M, K));
	int b = trans_b ? constant(g, "B", 2, DIMS(N, K), 1.0f, 1.0f) : constant(g, "B", 2, DIMS(K, N), 1.0f, 1.0f);
	int c = crank ? constant(g, "C", crank, cdims, 10.0f, 1.0f) : -1;
	int y = tensor(g, "Y", 0, NULL);
	int id = node(g, EFFC_OP_GEMM, "gemm", c >= 0 ? 3 : 2, INS(a, b, c), y);
	g->n[id].a.trans_a = trans_a, g->n[id].a.trans_b = trans_b;
	g->n[id].a.alpha = alpha, g->n[id].a.beta = beta;
	output(g, y);
	*b_out = b, *c_out = c;
	return id;
}

static void test_lower_gemm(const char *name, int trans_b, int crank, const int64_t *cdims)
{
	enum { K = 4, N = 5 };
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int b, c;
	build_gemm(g, 0, trans_b, 0.5f, 2.0f, crank, cdims, &b, &c);
	if (run_passes(&f, name, 1, 1, 0)) {
		char full[200];
		check_structure(g, name);
		int n = find_op(g, EFFC_OP_FULLY_CONNECTED, 0);
		snprintf(full, sizeof full, "%s: becomes FullyConnected", name);
		check(n >= 0 && count_op(g, EFFC_OP_GEMM) == 0, full, "no FullyConnected node");
		if (n >= 0) {
			/* the weights are in the GEMM's 16-column panels: unpacked, [N][K] */
			const struct effc_tensor *w = &g->t[g->n[n].in[1]];
			const float *bsrc = g->t[b].data;
			float nk[N * K];
			const int packed = g->n[n].a.packed == 1 && w->data && effc_tensor_numel(w) == (N + 15) / 16 * 16 * K;
			snprintf(full, sizeof full, "%s: weights packed in 16-column panels", name);
			check(packed, full, "packed %d, %lld weights", g->n[n].a.packed, (long long)effc_tensor_numel(w));
			if (packed)
				effc_rt_unpack_b(N, K, w->data, nk);
			int bad = packed ? -1 : 0;
			for (int j = 0; j < N && packed; j++)
				for (int k = 0; k < K; k++) {
					/* B[k][j] of the Gemm, whichever way it is stored */
					const float bkj = trans_b ? bsrc[j * K + k] : bsrc[k * N + j];
					if (nk[j * K + k] != 0.5f * bkj && bad < 0)
						bad = j * K + k;
				}
			snprintf(full, sizeof full, "%s: weights are alpha * B^T as [N][K]", name);
			check(bad < 0, full, "'%s' unpacked: element %d wrong", w->name, bad);
			int bi = g->n[n].n_in > 2 ? g->n[n].in[2] : -1;
			if (c >= 0) {
				const struct effc_tensor *bt = bi >= 0 ? &g->t[bi] : NULL;
				const float *csrc = g->t[c].data;
				const int64_t cn = effc_tensor_numel(&g->t[c]);
				bad = bt && bt->data && effc_tensor_numel(bt) == N ? -1 : 0;
				for (int j = 0; j < N && bad < 0; j++)
					if (((const float *)bt->data)[j] != 2.0f * csrc[cn == 1 ? 0 : j])
						bad = j;
				snprintf(full, sizeof full, "%s: bias is beta * C per column", name);
				check(bad < 0, full, "bias element %d wrong", bad);
			} else {
				snprintf(full, sizeof full, "%s: no bias", name);
				check(bi < 0, full, "bias tensor %d", bi);
			}
			snprintf(full, sizeof full, "%s: output shape [3,5] ONNX", name);
			const struct effc_tensor *y = &g->t[g->n[n].out[0]];
			check(y->rank == 2 && y->dims[0] == 3 && y->dims[1] == N && y->layout == EFFC_LAYOUT_ONNX, full,
			      "rank %d", y->rank);
		}
	}
	fixture_free(&f);
}

/* Non-match: transA=1, and a bias that is a full [M,N] matrix. */
static void test_lower_gemm_not_lowered(const char *name, int trans_a, int crank, const int64_t *cdims)
{
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int b, c;
	int id = build_gemm(g, trans_a, 1, 1.0f, 1.0f, crank, cdims, &b, &c);
	if (run_passes(&f, name, 1, 1, 0)) {
		char full[200];
		snprintf(full, sizeof full, "%s: stays Gemm with its original B", name);
		check(g->n[id].op == EFFC_OP_GEMM && g->n[id].in[1] == b && g->n[id].in[2] == c &&
			      count_op(g, EFFC_OP_FULLY_CONNECTED) == 0,
		      full, "op %s, B tensor %d", effc_op_name(g->n[id].op), g->n[id].in[1]);
	}
	fixture_free(&f);
}

static void test_lower_matmul(const char *name, int const_b)
{
	enum { K = 4, N = 6 };
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int a = input(g, "A", 3, DIMS(2, 3, K));
	int b = const_b ? constant(g, "B", 2, DIMS(K, N), 0.0f, 1.0f) : input(g, "B", 2, DIMS(K, N));
	int y = tensor(g, "Y", 0, NULL);
	int id = node(g, EFFC_OP_MATMUL, "matmul", 2, INS(a, b), y);
	output(g, y);
	if (run_passes(&f, name, 1, 1, 0)) {
		char full[200];
		check_structure(g, name);
		if (!const_b) {
			snprintf(full, sizeof full, "%s: stays MatMul", name);
			check(g->n[id].op == EFFC_OP_MATMUL && g->n[id].in[1] == b, full, "op %s", effc_op_name(g->n[id].op));
		} else {
			const struct effc_tensor *w = &g->t[g->n[id].in[1]];
			float nk[N * K];
			int bad = g->n[id].a.packed == 1 && w->data && effc_tensor_numel(w) == (N + 15) / 16 * 16 * K ? -1 : 0;
			if (bad < 0)
				effc_rt_unpack_b(N, K, w->data, nk);
			for (int j = 0; j < N && bad < 0; j++)
				for (int k = 0; k < K; k++)
					if (nk[j * K + k] != (float)(k * N + j) && bad < 0)
						bad = j * K + k;
			snprintf(full, sizeof full, "%s: FullyConnected with B^T, no bias", name);
			check(g->n[id].op == EFFC_OP_FULLY_CONNECTED && bad < 0 && (g->n[id].n_in < 3 || g->n[id].in[2] < 0), full,
			      "op %s, element %d", effc_op_name(g->n[id].op), bad);
		}
	}
	fixture_free(&f);
}

/* ---- memory plan ------------------------------------------------------------------------ */

/* ---- fuse-mbconv, fuse-se-scale -------------------------------------------------------- */

/* An MBConv block as an exporter writes it: X [1,8,S,S] -> expansion 1x1 (8 -> E) -> depthwise 3x3
 * (pads 1) -> squeeze-excitation (GAP, 1x1 E -> 4, 1x1 4 -> E, Sigmoid, Mul) -> projection 1x1
 * (E -> 8) -> Y. `share` makes the expansion output (1) or the SE output (2) a graph output too. */
struct mb_ids {
	int x, we, t, wd, d, y_se, proj, y;
};
static struct mb_ids build_mbconv(struct effc_graph *g, int64_t S, int64_t E, int share, int64_t K)
{
	struct mb_ids m;
	m.x = input(g, "X", 4, DIMS(1, K, S, S));
	m.we = constant(g, "We", 4, DIMS(E, K, 1, 1), -0.5f, 0.001f);
	m.wd = constant(g, "Wd", 4, DIMS(E, 1, 3, 3), -0.3f, 0.0007f);
	int w1 = constant(g, "W1", 4, DIMS(4, E, 1, 1), -0.2f, 0.002f), w2 = constant(g, "W2", 4, DIMS(E, 4, 1, 1), 0.1f, 0.003f);
	int wp = constant(g, "Wp", 4, DIMS(K, E, 1, 1), -0.1f, 0.0005f);
	m.t = tensor(g, "expanded", 0, NULL), m.d = tensor(g, "dw_out", 0, NULL);
	int p = tensor(g, "pooled", 0, NULL), h = tensor(g, "se_h", 0, NULL), q = tensor(g, "se_q", 0, NULL);
	int s = tensor(g, "se_gate", 0, NULL);
	m.y_se = tensor(g, "se_out", 0, NULL), m.y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_CONV, "expand", 2, INS(m.x, m.we), m.t);
	int dw = node(g, EFFC_OP_CONV, "dw", 2, INS(m.t, m.wd), m.d);
	g->n[dw].a.group = E;
	for (int i = 0; i < 4; i++)
		g->n[dw].a.pads[i] = 1;
	node(g, EFFC_OP_GLOBALAVGPOOL, "se.pool", 1, INS(m.d), p);
	node(g, EFFC_OP_CONV, "se.reduce", 2, INS(p, w1), h);
	node(g, EFFC_OP_CONV, "se.expand", 2, INS(h, w2), q);
	node(g, EFFC_OP_SIGMOID, "se.sigmoid", 1, INS(q), s);
	node(g, EFFC_OP_MUL, "se.mul", 2, INS(m.d, s), m.y_se);
	m.proj = node(g, EFFC_OP_CONV, "project", 2, INS(m.y_se, wp), m.y);
	output(g, m.y);
	if (share == 1)
		output(g, m.t);
	if (share == 2)
		output(g, m.y_se);
	return m;
}

/* The whole pipeline and the memory plan, with up to two passes switched off (pass2 < 0: one). */
static int run_pipeline_off(struct fixture *f, const char *name, int pass, int off, int pass2, int off2)
{
	struct effc_pipeline_options o;
	memset(&o, 0, sizeof o);
	effc_pipeline_set_level(&o, 1);
	o.disabled[pass] = off;
	if (pass2 >= 0)
		o.disabled[pass2] = off2;
	enum effc_status st = effc_infer_shapes(f->g, &f->d);
	if (!st)
		st = effc_pipeline_run(f->g, &o, NULL, 0, &f->d);
	if (!st)
		st = effc_plan_memory(f->g, &f->d);
	char full[160];
	snprintf(full, sizeof full, "%s: pipeline and plan succeed", name);
	check(st == EFFC_OK, full, "status %d: %s", (int)st, f->d.msg);
	return st == EFFC_OK;
}

static int run_pipeline(struct fixture *f, const char *name, int no_mbconv, int no_se_scale)
{
	return run_pipeline_off(f, name, EFFC_PASS_FUSE_MBCONV, no_mbconv, EFFC_PASS_FUSE_SE_SCALE, no_se_scale);
}

/* With one pass switched off when `off`. */
static int run_pipeline_pass(struct fixture *f, const char *name, enum effc_pass_id pass, int off)
{
	return run_pipeline_off(f, name, (int)pass, off, -1, 0);
}

/* The live node writing tensor t, or -1. */
static int writer(const struct effc_graph *g, int t)
{
	int p = g->t[t].producer;
	return p >= 0 && !g->n[p].dead ? p : -1;
}

/* 112 x 112 x 64 floats is 3.2 MB: over fuse-mbconv's threshold. */
static void test_fuse_mbconv_match(void)
{
	const char *name = "fuse-mbconv expansion + depthwise fused, SE folded into the projection";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	const int64_t S = 112, E = 64;
	struct mb_ids m = build_mbconv(g, S, E, 0, 8);
	const float *wd_onnx = g->t[m.wd].data;
	if (run_pipeline(&f, name, 0, 0)) {
		char full[200];
		check_structure(g, name);
		const int fused = writer(g, m.d), gate = find_op(g, EFFC_OP_SE_GATE, 0);
		const struct effc_node *fn = fused >= 0 ? &g->n[fused] : NULL;
		const int xin = fn ? writer(g, fn->in[0]) : -1; /* X converted to NHWC */
		snprintf(full, sizeof full, "%s: one ExpandDepthwise reads X and writes the depthwise output", name);
		check(fn && fn->op == EFFC_OP_EXPAND_DW && xin >= 0 && g->n[xin].op == EFFC_OP_TO_NHWC && g->n[xin].in[0] == m.x &&
			      count_op(g, EFFC_OP_EXPAND_DW) == 1 &&
			      count_op(g, EFFC_OP_CONV) == 1,
		      full, "writer op %s, %d fused, %d convs left", fn ? effc_op_name(fn->op) : "none",
		      count_op(g, EFFC_OP_EXPAND_DW), count_op(g, EFFC_OP_CONV));
		snprintf(full, sizeof full, "%s: the expansion output is never written", name);
		check(writer(g, m.t) < 0, full, "written by node %d", writer(g, m.t));
		if (fn && fn->op == EFFC_OP_EXPAND_DW) {
			/* Wd' [ky][kx][c] = Wd [c][0][ky][kx] */
			const float *hwc = g->t[fn->in[3]].data;
			int bad = -1;
			for (int c = 0; c < E && bad < 0; c++)
				for (int k = 0; k < 9 && bad < 0; k++)
					if (hwc[k * E + c] != wd_onnx[c * 9 + k])
						bad = k * (int)E + c;
			snprintf(full, sizeof full, "%s: depthwise weights laid out [kh][kw][C]", name);
			check(g->t[fn->in[3]].rank == 3 && bad < 0, full, "first wrong element %d", bad);
			snprintf(full, sizeof full, "%s: the expansion's weights are the packed panels", name);
			check(g->n[fused].in[1] >= 0 && g->t[fn->in[1]].data && effc_tensor_numel(&g->t[fn->in[1]]) == E * 8,
			      full, "in[1] has %" PRId64 " elements", effc_tensor_numel(&g->t[fn->in[1]]));
		}
		snprintf(full, sizeof full, "%s: the SE is a gate pooling the fused op's row sums", name);
		check(gate >= 0 && count_op(g, EFFC_OP_SE) == 0 && fn && fn->n_out == 2 && g->n[gate].n_in == 6 &&
			      g->n[gate].in[5] == fn->out[1] && g->t[fn->out[1]].dims[0] == S && g->t[fn->out[1]].dims[1] == E,
		      full, "gate %d, fused n_out %d", gate, fn ? fn->n_out : -1);
		const struct effc_node *pn = writer(g, m.y) >= 0 ? &g->n[writer(g, m.y)] : NULL;
		snprintf(full, sizeof full, "%s: the projection reads the depthwise output scaled by the gate", name);
		check(pn && gate >= 0 && pn->op == EFFC_OP_CONV && pn->a.packed == 1 && pn->in[0] == m.d && pn->n_in == 5 &&
			      pn->in[4] == g->n[gate].out[0] && g->t[pn->in[4]].dims[0] == 1 && g->t[pn->in[4]].dims[1] == E,
		      full, "projection in[0] %d (want %d), in[4] %d", pn ? pn->in[0] : -1, m.d, pn && pn->n_in > 4 ? pn->in[4] : -1);
		snprintf(full, sizeof full, "%s: the SE output is never written", name);
		check(writer(g, m.y_se) < 0, full, "written by node %d", writer(g, m.y_se));
		check_plan(g, name, 1);
	}
	fixture_free(&f);
}

/* The shape test_fuse_mbconv_kept keeps apart for its weights, with weights that stay in L2. */
static void test_fuse_mbconv_big_small_weights(void)
{
	const char *name = "fuse-mbconv 20x20x2048 from 8 channels fused";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	struct mb_ids m = build_mbconv(g, 20, 2048, 0, 8);
	if (run_pipeline(&f, name, 0, 0)) {
		char full[200];
		snprintf(full, sizeof full, "%s: one ExpandDepthwise writes the depthwise output", name);
		check(count_op(g, EFFC_OP_EXPAND_DW) == 1 && writer(g, m.d) >= 0 && g->n[writer(g, m.d)].op == EFFC_OP_EXPAND_DW,
		      full, "%d fused", count_op(g, EFFC_OP_EXPAND_DW));
	}
	fixture_free(&f);
}

/* Left alone: a small expansion (stays in cache between the ops), an expansion output read
 * elsewhere, and both passes switched off. The SE still pools the depthwise conv's row sums. */
static void test_fuse_mbconv_kept(const char *name, int64_t S, int64_t E, int64_t K, int share, int no_mbconv)
{
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	struct mb_ids m = build_mbconv(g, S, E, share, K);
	if (run_pipeline(&f, name, no_mbconv, 0)) {
		char full[200];
		check_structure(g, name);
		snprintf(full, sizeof full, "%s: no ExpandDepthwise", name);
		check(count_op(g, EFFC_OP_EXPAND_DW) == 0 && writer(g, m.t) >= 0 && g->n[writer(g, m.t)].op == EFFC_OP_CONV,
		      full, "%d fused", count_op(g, EFFC_OP_EXPAND_DW));
		const int dw = writer(g, m.d), gate = find_op(g, EFFC_OP_SE_GATE, 0);
		snprintf(full, sizeof full, "%s: the depthwise conv writes row sums the SE gate pools", name);
		check(dw >= 0 && gate >= 0 && g->n[dw].n_out == 2 && g->n[gate].in[5] == g->n[dw].out[1], full,
		      "dw %d, gate %d", dw, gate);
		check_plan(g, name, 1);
	}
	fixture_free(&f);
}

/* ---- fuse-mbconv-proj ------------------------------------------------------------------- */

/* An MBConv block without SE as a Lite export writes it: X [1,8,S,S] -> expansion 1x1 (8 -> 48)
 * -> Clip(0, 6) -> depthwise 3x3 (pads 1) -> Clip(0, 6) -> projection 1x1 (48 -> 8) -> Add X
 * -> Y. */
struct mbp_ids {
	int x, t, d, p, y;
};
static struct mbp_ids build_mbconv_lite(struct effc_graph *g, int64_t S)
{
	struct mbp_ids m;
	const int64_t K = 8, E = 48;
	m.x = input(g, "X", 4, DIMS(1, K, S, S));
	int we = constant(g, "We", 4, DIMS(E, K, 1, 1), -0.5f, 0.001f);
	int wd = constant(g, "Wd", 4, DIMS(E, 1, 3, 3), -0.3f, 0.0007f);
	int wp = constant(g, "Wp", 4, DIMS(K, E, 1, 1), -0.1f, 0.0005f);
	int te = tensor(g, "expanded_pre", 0, NULL), de = tensor(g, "dw_pre", 0, NULL);
	m.t = tensor(g, "expanded", 0, NULL), m.d = tensor(g, "dw_out", 0, NULL), m.p = tensor(g, "proj", 0, NULL);
	m.y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_CONV, "expand", 2, INS(m.x, we), te);
	int c1 = node(g, EFFC_OP_CLIP, "expand.relu6", 1, INS(te), m.t);
	int dw = node(g, EFFC_OP_CONV, "dw", 2, INS(m.t, wd), de);
	g->n[dw].a.group = E;
	for (int i = 0; i < 4; i++)
		g->n[dw].a.pads[i] = 1;
	int c2 = node(g, EFFC_OP_CLIP, "dw.relu6", 1, INS(de), m.d);
	g->n[c1].a.clip_min = g->n[c2].a.clip_min = 0.0f;
	g->n[c1].a.clip_max = g->n[c2].a.clip_max = 6.0f;
	node(g, EFFC_OP_CONV, "project", 2, INS(m.d, wp), m.p);
	node(g, EFFC_OP_ADD, "residual", 2, INS(m.p, m.x), m.y);
	output(g, m.y);
	return m;
}


/* 28 wide: the expansion (a 150 KB tensor, far under fuse-mbconv's size threshold), the
 * depthwise, the projection and the residual add become one MBConv op. */
static void test_fuse_mbconv_proj_match(void)
{
	const char *name = "fuse-mbconv-proj Lite block 28x28 fused into one MBConv";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	struct mbp_ids m = build_mbconv_lite(g, 28);
	if (run_pipeline_pass(&f, name, EFFC_PASS_FUSE_MBCONV_PROJECT, 0)) {
		char full[200];
		check_structure(g, name);
		const int fused = find_op(g, EFFC_OP_MBCONV_PROJECT, 0);
		const struct effc_node *fn = fused >= 0 ? &g->n[fused] : NULL;
		const int xin = fn ? writer(g, fn->in[0]) : -1, yout = writer(g, m.y);
		const int to_y = yout >= 0 && fn && (yout == fused || (g->n[yout].op == EFFC_OP_TO_NCHW && g->n[yout].in[0] == fn->out[0]));
		snprintf(full, sizeof full, "%s: one MBConv from X (NHWC) to Y, no Conv, Clip or Add left", name);
		check(fn && count_op(g, EFFC_OP_MBCONV_PROJECT) == 1 && count_op(g, EFFC_OP_CONV) == 0 &&
			      count_op(g, EFFC_OP_EXPAND_DW) == 0 && count_op(g, EFFC_OP_ADD) == 0 &&
			      count_op(g, EFFC_OP_CLIP) == 0 && xin >= 0 && g->n[xin].op == EFFC_OP_TO_NHWC &&
			      g->n[xin].in[0] == m.x && to_y,
		      full, "%d fused, %d convs, %d adds", count_op(g, EFFC_OP_MBCONV_PROJECT), count_op(g, EFFC_OP_CONV),
		      count_op(g, EFFC_OP_ADD));
		if (fn) {
			snprintf(full, sizeof full, "%s: Relu6 on the expansion and the depthwise, residual X, weights packed", name);
			check(fn->n_in == 8 && fn->in[7] == fn->in[0] && fn->a.pre_act == EFFC_ACT_CLAMP && fn->a.pre_max == 6.0f &&
				      fn->a.act == EFFC_ACT_CLAMP && fn->a.act_max == 6.0f && fn->a.post_act == EFFC_ACT_NONE &&
				      g->t[fn->in[1]].data && g->t[fn->in[3]].data && g->t[fn->in[3]].rank == 3 &&
				      g->t[fn->in[3]].dims[2] == 48 && g->t[fn->in[5]].data && g->t[fn->out[0]].dims[1] == 8,
			      full, "n_in %d, residual %d, pre_act %d, act %d, post_act %d", fn->n_in, fn->n_in > 7 ? fn->in[7] : -1,
			      (int)fn->a.pre_act, (int)fn->a.act, (int)fn->a.post_act);
		}
		snprintf(full, sizeof full, "%s: neither the expanded tensor nor the depthwise output is written", name);
		check(writer(g, m.t) < 0 && writer(g, m.d) < 0, full, "written by nodes %d, %d", writer(g, m.t), writer(g, m.d));
		check_plan(g, name, 1);
	}
	fixture_free(&f);
}

/* Left alone: rows of 14 (the expansion's per-row GEMMs too small), and the pass switched off
 * (then fuse-mbconv still fuses nothing of this small block). */
static void test_fuse_mbconv_proj_kept(const char *name, int64_t S, int off)
{
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	struct mbp_ids m = build_mbconv_lite(g, S);
	if (run_pipeline_pass(&f, name, EFFC_PASS_FUSE_MBCONV_PROJECT, off)) {
		char full[200];
		check_structure(g, name);
		snprintf(full, sizeof full, "%s: no MBConv; the three convs and the projection's output stay", name);
		check(count_op(g, EFFC_OP_MBCONV_PROJECT) == 0 && count_op(g, EFFC_OP_CONV) == 3 && writer(g, m.d) >= 0,
		      full, "%d fused, %d convs", count_op(g, EFFC_OP_MBCONV_PROJECT), count_op(g, EFFC_OP_CONV));
		check_plan(g, name, 1);
	}
	fixture_free(&f);
}

/* ---- fuse-conv-proj --------------------------------------------------------------------- */

/* A Fused-MBConv block as torchvision's EfficientNetV2 exports it (BN folded): X [1,C,12,12] ->
 * 3x3 conv (pads 1, C -> E, groups `group`) -> Sigmoid, Mul (SiLU) -> 1x1 projection (E -> C)
 * -> Add X -> Y. `share` makes the SiLU output a graph output too. */
struct fmb_ids {
	int x, silu, y;
};
static struct fmb_ids build_fused_mbconv(struct effc_graph *g, int64_t C, int64_t E, int64_t group, int share)
{
	struct fmb_ids m;
	m.x = input(g, "X", 4, DIMS(1, C, 12, 12));
	int we = constant(g, "We", 4, DIMS(E, C / group, 3, 3), -0.5f, 0.001f);
	int be = constant(g, "Be", 1, DIMS(E), 0.1f, 0.01f);
	int wp = constant(g, "Wp", 4, DIMS(C, E, 1, 1), -0.1f, 0.0005f);
	int t = tensor(g, "conv_out", 0, NULL), s = tensor(g, "sig", 0, NULL), p = tensor(g, "proj", 0, NULL);
	m.silu = tensor(g, "silu", 0, NULL), m.y = tensor(g, "Y", 0, NULL);
	int c = node(g, EFFC_OP_CONV, "expand", 3, INS(m.x, we, be), t);
	g->n[c].a.group = group;
	for (int i = 0; i < 4; i++)
		g->n[c].a.pads[i] = 1;
	node(g, EFFC_OP_SIGMOID, "sigmoid", 1, INS(t), s);
	node(g, EFFC_OP_MUL, "silu", 2, INS(t, s), m.silu);
	node(g, EFFC_OP_CONV, "project", 2, INS(m.silu, wp), p);
	node(g, EFFC_OP_ADD, "residual", 2, INS(p, m.x), m.y);
	output(g, m.y);
	if (share)
		output(g, m.silu);
	return m;
}

static void test_fuse_conv_proj_match(void)
{
	const char *name = "fuse-conv-proj 3x3 expansion + projection + residual fused";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	const int64_t C = 8, E = 32;
	struct fmb_ids m = build_fused_mbconv(g, C, E, 1, 0);
	if (run_pipeline_pass(&f, name, EFFC_PASS_FUSE_CONV_PROJECT, 0)) {
		char full[200];
		check_structure(g, name);
		const int fused = find_op(g, EFFC_OP_CONV_PROJECT, 0);
		const struct effc_node *fn = fused >= 0 ? &g->n[fused] : NULL;
		const int xin = fn ? writer(g, fn->in[0]) : -1, yout = writer(g, m.y);
		/* Y: the fused op's output, or the layout change after it */
		const int to_y = yout >= 0 && fn && (yout == fused || (g->n[yout].op == EFFC_OP_TO_NCHW && g->n[yout].in[0] == fn->out[0]));
		snprintf(full, sizeof full, "%s: one FusedMBConv from X (NHWC) to Y, no Conv or Add left", name);
		check(fn && count_op(g, EFFC_OP_CONV_PROJECT) == 1 && count_op(g, EFFC_OP_CONV) == 0 &&
			      count_op(g, EFFC_OP_ADD) == 0 && xin >= 0 && g->n[xin].op == EFFC_OP_TO_NHWC &&
			      g->n[xin].in[0] == m.x && to_y,
		      full, "%d fused, %d convs, %d adds", count_op(g, EFFC_OP_CONV_PROJECT), count_op(g, EFFC_OP_CONV),
		      count_op(g, EFFC_OP_ADD));
		if (fn) {
			snprintf(full, sizeof full, "%s: the residual is X, SiLU on the conv, none on the projection", name);
			check(fn->n_in == 6 && fn->in[5] == fn->in[0] && fn->a.act == EFFC_ACT_SWISH &&
				      fn->a.post_act == EFFC_ACT_NONE && fn->a.kernel[0] == 3 && fn->a.pads[0] == 1,
			      full, "n_in %d, residual %d, act %d, post_act %d", fn->n_in, fn->n_in > 5 ? fn->in[5] : -1,
			      (int)fn->a.act, (int)fn->a.post_act);
			snprintf(full, sizeof full, "%s: the expansion's weights OHWI and bias, the projection's packed", name);
			check(g->t[fn->in[1]].data && g->t[fn->in[1]].dims[0] == E && g->t[fn->in[1]].dims[3] == C &&
				      fn->in[2] >= 0 && g->t[fn->in[2]].data && fn->in[3] >= 0 && g->t[fn->in[3]].data &&
				      fn->in[4] < 0,
			      full, "W dims [%" PRId64 ",..,%" PRId64 "]", g->t[fn->in[1]].dims[0], g->t[fn->in[1]].dims[3]);
		}
		snprintf(full, sizeof full, "%s: the expanded tensor is never written", name);
		check(writer(g, m.silu) < 0, full, "written by node %d", writer(g, m.silu));
		check_plan(g, name, 1);
	}
	fixture_free(&f);
}

/* Left alone: the expanded tensor is also a graph output, a grouped convolution, K past the
 * runtime's im2col limit (3 x 3 x 300), the pass switched off. */
static void test_fuse_conv_proj_kept(const char *name, int64_t C, int64_t group, int share, int off)
{
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	build_fused_mbconv(g, C, 16, group, share);
	if (run_pipeline_pass(&f, name, EFFC_PASS_FUSE_CONV_PROJECT, off)) {
		char full[200];
		check_structure(g, name);
		snprintf(full, sizeof full, "%s: no FusedMBConv, both convs left", name);
		check(count_op(g, EFFC_OP_CONV_PROJECT) == 0 && count_op(g, EFFC_OP_CONV) == 2, full, "%d fused, %d convs",
		      count_op(g, EFFC_OP_CONV_PROJECT), count_op(g, EFFC_OP_CONV));
		check_plan(g, name, 1);
	}
	fixture_free(&f);
}

/* ---- lower-qdq ---------------------------------------------------------------------------- */

/* X -> QuantizeLinear (uint8, scale 0.05, zero point 3) -> DequantizeLinear -> Conv with int8
 * weights per output channel (axis 0) and an int32 bias, both through DequantizeLinear -> Y. */
static void test_lower_qdq(void)
{
	const char *name = "lower-qdq pair -> QuantizeDequantize, weights and bias dequantized";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	const int x = input(g, "X", 4, DIMS(1, 2, 5, 5));
	const int s = constant(g, "s", 0, NULL, 0.05f, 0.0f), zp = constant(g, "zp", 0, NULL, 3.0f, 0.0f);
	g->t[zp].qtype = 2;
	const int wq = constant(g, "Wq", 4, DIMS(3, 2, 1, 1), -3.0f, 1.0f), ws = constant(g, "ws", 1, DIMS(3), 0.5f, 0.25f);
	const int wz = constant(g, "wz", 1, DIMS(3), 0.0f, 0.0f);
	g->t[wq].qtype = 3, g->t[wz].qtype = 3;
	const int bq = tensor(g, "Bq", 1, DIMS(3)), bs = constant(g, "bs", 1, DIMS(3), 0.025f, 0.0125f);
	int64_t *b = effc_arena_alloc(g->arena, 3 * sizeof(int64_t));
	b[0] = -7, b[1] = 0, b[2] = 2000000000;
	g->t[bq].data = b, g->t[bq].dtype = EFFC_I64;
	const int xq = tensor(g, "xq", 0, NULL), xd = tensor(g, "xd", 0, NULL), w = tensor(g, "W", 0, NULL);
	const int bias = tensor(g, "B", 0, NULL), y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_QUANTIZELINEAR, "q", 3, INS(x, s, zp), xq);
	node(g, EFFC_OP_DEQUANTIZELINEAR, "dq", 3, INS(xq, s, zp), xd);
	int dw = node(g, EFFC_OP_DEQUANTIZELINEAR, "dq_w", 3, INS(wq, ws, wz), w);
	g->n[dw].a.axis = 0;
	int db = node(g, EFFC_OP_DEQUANTIZELINEAR, "dq_b", 2, INS(bq, bs), bias);
	g->n[db].a.axis = 0;
	node(g, EFFC_OP_CONV, "conv", 3, INS(xd, w, bias), y);
	output(g, y);
	if (run_pipeline_pass(&f, name, EFFC_PASS_FUSE_CONV_PROJECT, 0)) {
		char full[200];
		check_structure(g, name);
		const int fq = find_op(g, EFFC_OP_FAKE_QUANT, 0);
		snprintf(full, sizeof full, "%s: one QuantizeDequantize, no QuantizeLinear or DequantizeLinear left", name);
		check(fq >= 0 && count_op(g, EFFC_OP_FAKE_QUANT) == 1 && count_op(g, EFFC_OP_QUANTIZELINEAR) == 0 &&
			      count_op(g, EFFC_OP_DEQUANTIZELINEAR) == 0,
		      full, "%d fake-quant, %d Q, %d DQ", count_op(g, EFFC_OP_FAKE_QUANT), count_op(g, EFFC_OP_QUANTIZELINEAR),
		      count_op(g, EFFC_OP_DEQUANTIZELINEAR));
		if (fq >= 0) {
			const struct effc_attrs *a = &g->n[fq].a;
			snprintf(full, sizeof full, "%s: scale 0.05, zero point 3, range [0, 255], reads X (or X in NHWC)", name);
			/* X itself, or (lower-int8 quantizes after the layout conversion) X in NHWC */
			const int src = g->n[fq].in[0], p = g->t[src].producer;
			check(a->alpha == 0.05f && a->beta == 3.0f && a->clip_min == 0.0f && a->clip_max == 255.0f &&
				      (src == x || (p >= 0 && g->n[p].op == EFFC_OP_TO_NHWC && g->n[p].in[0] == x)),
			      full, "scale %g zp %g [%g, %g]", (double)a->alpha, (double)a->beta, (double)a->clip_min,
			      (double)a->clip_max);
		}
		/* W[o][c] = (-3 + 2o + c) * (0.5 + 0.25 o); B = Bq * (0.025 + 0.0125 o), before lowering
		 * re-lays W out: compare the float values the folded tensors got, by their names. */
		const float *wf = g->t[w].data, *bf = g->t[bias].data;
		int bad = -1;
		for (int o = 0; o < 3 && wf && bad < 0; o++)
			for (int c = 0; c < 2; c++)
				if (g->t[w].dtype != EFFC_F32 || (wf[o * 2 + c] != (float)(-3 + 2 * o + c) * (0.5f + 0.25f * (float)o) && bad < 0))
					bad = o * 2 + c;
		snprintf(full, sizeof full, "%s: weights (Wq - 0) * ws[o] per output channel", name);
		check(wf && bad < 0, full, "element %d", bad);
		snprintf(full, sizeof full, "%s: bias Bq * bs[o], 2e9 within int32", name);
		check(bf && bf[0] == -7.0f * 0.025f && bf[1] == 0.0f && bf[2] == (float)2000000000.0 * 0.05f, full,
		      "got %g %g %g", bf ? (double)bf[0] : 0.0, bf ? (double)bf[1] : 0.0, bf ? (double)bf[2] : 0.0);
	}
	fixture_free(&f);
}

/* ---- lower-int8 --------------------------------------------------------------------------- */

/* Quantize -> Dequantize of activation a (int8 at scale s, zero point zp) into a new tensor. */
static int qdq(struct effc_graph *g, const char *name, int a, float s, float zp)
{
	char n1[64], n2[64];
	snprintf(n1, sizeof n1, "%s.s", name);
	const int st = constant(g, n1, 0, NULL, s, 0.0f);
	snprintf(n1, sizeof n1, "%s.zp", name);
	const int zt = constant(g, n1, 0, NULL, zp, 0.0f);
	g->t[zt].qtype = 3;
	snprintf(n1, sizeof n1, "%s.q", name);
	snprintf(n2, sizeof n2, "%s.dq", name);
	const int q = tensor(g, n1, 0, NULL), d = tensor(g, n2, 0, NULL);
	node(g, EFFC_OP_QUANTIZELINEAR, n1, 3, INS(a, st, zt), q);
	node(g, EFFC_OP_DEQUANTIZELINEAR, n2, 3, INS(q, st, zt), d);
	return d;
}

/* A 1x1 conv with int8 weights (per output channel, through DequantizeLinear) and no bias. */
static int qconv1x1(struct effc_graph *g, const char *name, int x, int64_t ci, int64_t co)
{
	char n[64];
	snprintf(n, sizeof n, "%s.wq", name);
	const int wq = constant(g, n, 4, DIMS(co, ci, 1, 1), -7.0f, 1.0f);
	snprintf(n, sizeof n, "%s.ws", name);
	const int ws = constant(g, n, 1, DIMS(co), 0.02f, 0.005f);
	snprintf(n, sizeof n, "%s.wz", name);
	const int wz = constant(g, n, 1, DIMS(co), 0.0f, 0.0f);
	float *wv = g->t[wq].data;
	for (int64_t i = 0; i < co * ci; i++)
		wv[i] = (float)((i * 37 + 11) % 31 - 15); /* int8 values of both signs */
	g->t[wq].qtype = 3, g->t[wz].qtype = 3;
	snprintf(n, sizeof n, "%s.w", name);
	const int w = tensor(g, n, 0, NULL);
	const int dq = node(g, EFFC_OP_DEQUANTIZELINEAR, n, 3, INS(wq, ws, wz), w);
	g->n[dq].a.axis = 0;
	snprintf(n, sizeof n, "%s.y", name);
	const int y = tensor(g, n, 0, NULL);
	node(g, EFFC_OP_CONV, name, 2, INS(x, w), y);
	return y;
}

/* X -> Q/DQ -> conv1x1 -> Q/DQ -> Swish as Sigmoid (Q/DQ at 1/256, -128) and Mul (Q/DQ) -> conv1x1
 * -> Q/DQ -> Add with the block input -> Q/DQ -> Softmax (no int8 form) -> Y. Expected: one
 * Quantize, the first conv with the Swish table in its store step, the second with the residual
 * in it, a Dequantize before the float Softmax; the table equals Swish computed the unfused way. */
static void test_lower_int8(void)
{
	const char *name = "lower-int8 QDQ block -> int8 convs with table and residual";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	const int x = input(g, "X", 4, DIMS(1, 8, 3, 3));
	const int xd = qdq(g, "x", x, 0.03f, -5.0f);
	const int c1 = qdq(g, "c1", qconv1x1(g, "conv1", xd, 8, 16), 0.05f, 10.0f);
	const int sg = tensor(g, "sig", 0, NULL), m = tensor(g, "swish", 0, NULL);
	node(g, EFFC_OP_SIGMOID, "sig", 1, INS(c1), sg);
	const int sgd = qdq(g, "sigq", sg, 1.0f / 256, -128.0f);
	node(g, EFFC_OP_MUL, "mul", 2, INS(c1, sgd), m);
	const int md = qdq(g, "m", m, 0.03f, -100.0f);
	const int c2 = qdq(g, "c2", qconv1x1(g, "conv2", md, 16, 8), 0.04f, 3.0f);
	const int add = tensor(g, "add", 0, NULL);
	node(g, EFFC_OP_ADD, "add", 2, INS(c2, xd), add);
	const int addd = qdq(g, "addq", add, 0.06f, 0.0f);
	const int y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_SOFTMAX, "softmax", 1, INS(addd), y);
	output(g, y);
	if (run_pipeline_pass(&f, name, EFFC_PASS_FUSE_CONV_PROJECT, 0)) {
		char full[200];
		check_structure(g, name);
		const int k1 = find_op(g, EFFC_OP_Q8_CONV, 0), k2 = find_op(g, EFFC_OP_Q8_CONV, 1);
		snprintf(full, sizeof full, "%s: Quantize, 2 QConv, Dequantize, float Softmax; no Mul, Add, table op", name);
		check(count_op(g, EFFC_OP_Q8_QUANTIZE) == 1 && count_op(g, EFFC_OP_Q8_CONV) == 2 &&
			      count_op(g, EFFC_OP_Q8_DEQUANTIZE) == 1 && count_op(g, EFFC_OP_SOFTMAX) == 1 &&
			      count_op(g, EFFC_OP_Q8_MUL) + count_op(g, EFFC_OP_Q8_ADD) + count_op(g, EFFC_OP_Q8_LUT) == 0 &&
			      count_op(g, EFFC_OP_FAKE_QUANT) == 0,
		      full, "%d Q, %d QConv, %d DQ, %d QMul, %d QAdd, %d QTable, %d fake-quant",
		      count_op(g, EFFC_OP_Q8_QUANTIZE), count_op(g, EFFC_OP_Q8_CONV), count_op(g, EFFC_OP_Q8_DEQUANTIZE),
		      count_op(g, EFFC_OP_Q8_MUL), count_op(g, EFFC_OP_Q8_ADD), count_op(g, EFFC_OP_Q8_LUT),
		      count_op(g, EFFC_OP_FAKE_QUANT));
		if (k1 >= 0 && k2 >= 0) {
			const struct effc_node *n1 = &g->n[k1], *n2 = &g->n[k2];
			snprintf(full, sizeof full, "%s: conv1 requantizes onto c1's grid (0.05, 10), its table writes Swish's", name);
			check(n1->a.q_kind == EFFC_Q8_GEMM && n1->a.qo_scale == 0.05f && n1->a.qo_zp == 10 && n1->in[4] >= 0 &&
				      g->t[n1->out[0]].qscale == 0.03f && g->t[n1->out[0]].qzp == -100,
			      full, "kind %d, own (%g, %d), table %d, out (%g, %d)", (int)n1->a.q_kind, (double)n1->a.qo_scale,
			      (int)n1->a.qo_zp, n1->in[4], (double)g->t[n1->out[0]].qscale, (int)g->t[n1->out[0]].qzp);
			/* The table the unfused graph computes: dequantize, sigmoid, onto 1/256, times x, onto (0.03, -100). */
			int bad = -1;
			const int8_t *lut = n1->in[4] >= 0 ? g->t[n1->in[4]].data : NULL;
			for (int q = -128; q < 128 && lut && bad < 0; q++) {
				const float v = (float)(q - 10) * 0.05f;
				double sq = nearbyint((double)(1.0f / (1.0f + expf(-v))) * 256.0) - 128;
				sq = sq > 127 ? 127 : sq;
				const float sv = (float)(sq + 128) * (1.0f / 256);
				double mq = nearbyint((double)((v * sv) / 0.03f)) - 100;
				mq = mq < -128 ? -128 : mq > 127 ? 127 : mq;
				if (lut[(uint8_t)q] != (int8_t)mq)
					bad = q;
			}
			check(lut && bad < 0,
			      "lower-int8: the Swish table equals the unfused Q/DQ computation", "differs at q = %d", bad);
			snprintf(full, sizeof full, "%s: conv2 takes the residual (X's int8 tensor) and writes the add's grid", name);
			check(n2->in[3] >= 0 && n2->in[3] == n1->in[0] && n2->a.qo_scale == 0.04f && n2->a.qa_scale == 0.04f &&
				      g->t[n2->out[0]].qscale == 0.06f,
			      full, "residual %d (x %d), own %g, a %g, out %g", n2->in[3], n1->in[0], (double)n2->a.qo_scale,
			      (double)n2->a.qa_scale, (double)g->t[n2->out[0]].qscale);
		}
	}
	fixture_free(&f);
}

/* Left alone: a conv whose output float ops read (not only a Quantize) stays float, and the
 * report names it. */
static void test_lower_int8_kept(void)
{
	const char *name = "lower-int8 conv read by a float op stays float";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	const int x = input(g, "X", 4, DIMS(1, 4, 2, 2));
	const int xd = qdq(g, "x", x, 0.02f, 0.0f);
	const int c = qconv1x1(g, "conv", xd, 4, 4);
	const int y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_RELU, "relu", 1, INS(c), y);
	output(g, y);
	struct effc_pipeline_options o;
	memset(&o, 0, sizeof o);
	effc_pipeline_set_level(&o, 1);
	o.disabled[EFFC_PASS_FUSE_SWISH] = 1; /* keep Relu apart from the conv */
	char report[2048] = "";
	enum effc_status st = effc_infer_shapes(g, &f.d);
	if (!st)
		st = effc_pipeline_run(g, &o, report, sizeof report, &f.d);
	char full[200];
	snprintf(full, sizeof full, "%s: pipeline succeeds", name);
	check(st == EFFC_OK, full, "status %d: %s", (int)st, f.d.msg);
	if (!st) {
		snprintf(full, sizeof full, "%s: float Conv, no int8 conv", name);
		check(count_op(g, EFFC_OP_CONV) == 1 && count_op(g, EFFC_OP_Q8_CONV) == 0, full, "%d Conv, %d QConv",
		      count_op(g, EFFC_OP_CONV), count_op(g, EFFC_OP_Q8_CONV));
		snprintf(full, sizeof full, "%s: the report names it", name);
		check(strstr(report, "float: 'conv' (Conv): its output is not quantized") != NULL, full, "report:\n%s", report);
	}
	fixture_free(&f);
}

/* Left alone by fuse-se-scale: the SE output is also a graph output, or the pass is off. */
static void test_fuse_se_scale_kept(const char *name, int share, int no_se_scale)
{
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	struct mb_ids m = build_mbconv(g, 16, 16, share, 8);
	if (run_pipeline(&f, name, 0, no_se_scale)) {
		char full[200];
		check_structure(g, name);
		const int se = writer(g, m.y_se), pj = writer(g, m.y);
		snprintf(full, sizeof full, "%s: SqueezeExcite kept, writing its output", name);
		check(se >= 0 && g->n[se].op == EFFC_OP_SE && count_op(g, EFFC_OP_SE_GATE) == 0, full, "writer %s",
		      se >= 0 ? effc_op_name(g->n[se].op) : "none");
		snprintf(full, sizeof full, "%s: the projection reads the SE output, no input scale", name);
		check(pj >= 0 && g->n[pj].in[0] == m.y_se && (g->n[pj].n_in < 5 || g->n[pj].in[4] < 0), full,
		      "projection in[0] %d", pj >= 0 ? g->n[pj].in[0] : -1);
		snprintf(full, sizeof full, "%s: the depthwise conv writes no row sums", name);
		check(writer(g, m.d) >= 0 && g->n[writer(g, m.d)].n_out == 1, full, "n_out %d",
		      writer(g, m.d) >= 0 ? g->n[writer(g, m.d)].n_out : -1);
	}
	fixture_free(&f);
}

static void check_plan(struct effc_graph *g, const char *name, int expect_reuse)
{
	char full[200], why[300] = "";
	int ok = 1;
	size_t sum = 0, max_end = 0;
	for (int i = 0; i < g->n_t; i++) {
		if (!is_activation(g, i))
			continue;
		const struct effc_tensor *r = &g->t[root_of(g, i)];
		if (g->t[i].alias_of < 0)
			sum += effc_tensor_bytes(&g->t[i]);
		size_t end = g->t[i].offset + effc_tensor_bytes(&g->t[i]);
		if (end > max_end)
			max_end = end;
		if (r->live_first > r->live_last && ok) {
			snprintf(why, sizeof why, "'%s' lives from %d to %d", r->name, r->live_first, r->live_last);
			ok = 0;
		}
		if (g->t[i].alias_of >= 0 && g->t[i].offset != r->offset && ok) {
			snprintf(why, sizeof why, "alias '%s' at %zu, its root '%s' at %zu", g->t[i].name, g->t[i].offset,
				 r->name, r->offset);
			ok = 0;
		}
	}
	snprintf(full, sizeof full, "%s: live ranges ordered and aliases share their root's offset", name);
	check(ok, full, "%s", why);

	/* Every pair of distinct roots alive at the same step: disjoint bytes. */
	ok = live_disjoint(g, why, sizeof why);
	snprintf(full, sizeof full, "%s: tensors alive together do not overlap", name);
	check(ok, full, "%s", why);

	snprintf(full, sizeof full, "%s: arena >= peak live bytes and holds every tensor", name);
	check(g->arena_bytes >= g->peak_live_bytes && g->arena_bytes >= max_end && g->peak_live_bytes > 0, full,
	      "arena %zu, peak %zu, furthest end %zu", g->arena_bytes, g->peak_live_bytes, max_end);
	if (expect_reuse) {
		snprintf(full, sizeof full, "%s: arena smaller than the sum of tensors (reuse)", name);
		check(g->arena_bytes < sum, full, "arena %zu, sum %zu", g->arena_bytes, sum);
	}

	/* Weights: emitted constants 64-byte aligned, disjoint, inside the blob. */
	ok = 1;
	for (int i = 0; i < g->n_t && ok; i++) {
		const struct effc_tensor *t = &g->t[i];
		if (!t->data || !t->emitted)
			continue;
		if (t->offset % 64 || t->offset + effc_tensor_bytes(t) > g->weights_bytes) {
			snprintf(why, sizeof why, "'%s' at %zu (%zu bytes), blob %zu", t->name, t->offset, effc_tensor_bytes(t),
				 g->weights_bytes);
			ok = 0;
		}
		for (int j = i + 1; j < g->n_t && ok; j++) {
			const struct effc_tensor *u = &g->t[j];
			if (!u->data || !u->emitted)
				continue;
			if (t->offset < u->offset + effc_tensor_bytes(u) && u->offset < t->offset + effc_tensor_bytes(t)) {
				snprintf(why, sizeof why, "'%s' and '%s' overlap in the blob", t->name, u->name);
				ok = 0;
			}
		}
	}
	snprintf(full, sizeof full, "%s: weight offsets 64-byte aligned and disjoint", name);
	check(ok, full, "%s", why);
}

/* X -> Sigmoid -> Relu -> Add(.., X) -> Mul(.., K) -> HardSwish -> Y, all [1,4,8,8] ONNX. */
static void test_plan_chain(void)
{
	const char *name = "plan chain of 5 elementwise ops";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 4, DIMS(1, 4, 8, 8));
	int k = constant(g, "K", 4, DIMS(1, 4, 1, 1), 0.5f, 0.25f);
	int t1 = tensor(g, "t1", 0, NULL), t2 = tensor(g, "t2", 0, NULL), t3 = tensor(g, "t3", 0, NULL);
	int t4 = tensor(g, "t4", 0, NULL), y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_SIGMOID, "sig", 1, INS(x), t1);
	node(g, EFFC_OP_RELU, "relu", 1, INS(t1), t2);
	node(g, EFFC_OP_ADD, "add", 2, INS(t2, x), t3);
	node(g, EFFC_OP_MUL, "mul", 2, INS(t3, k), t4);
	node(g, EFFC_OP_HARDSWISH, "hswish", 1, INS(t4), y);
	output(g, y);
	if (run_passes(&f, name, 1, 1, 1)) {
		char full[200];
		check_structure(g, name);
		check_plan(g, name, 1);
		snprintf(full, sizeof full, "%s: X lives from the start until the add", name);
		check(g->t[x].live_first == -1 && g->t[x].live_last == 2, full, "X lives %d..%d", g->t[x].live_first,
		      g->t[x].live_last);
		snprintf(full, sizeof full, "%s: Y lives to the end", name);
		check(g->t[y].live_first == 4 && g->t[y].live_last >= 5, full, "Y lives %d..%d", g->t[y].live_first,
		      g->t[y].live_last);
		snprintf(full, sizeof full, "%s: K is an emitted constant, not in the arena", name);
		check(g->t[k].emitted && g->t[k].offset % 64 == 0, full, "emitted %d offset %zu", g->t[k].emitted, g->t[k].offset);
	}
	fixture_free(&f);
}

/* Non-match for reuse: X fans out to three branches that are all alive at once. */
static void test_plan_fanout(void)
{
	const char *name = "plan fan-out keeps branches apart";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	int x = input(g, "X", 2, DIMS(16, 16));
	int a = tensor(g, "a", 0, NULL), b = tensor(g, "b", 0, NULL), c = tensor(g, "c", 0, NULL);
	int d = tensor(g, "d", 0, NULL), y = tensor(g, "Y", 0, NULL);
	node(g, EFFC_OP_SIGMOID, "sa", 1, INS(x), a);
	node(g, EFFC_OP_RELU, "rb", 1, INS(x), b);
	node(g, EFFC_OP_HARDSWISH, "hc", 1, INS(x), c);
	node(g, EFFC_OP_ADD, "add1", 2, INS(a, b), d);
	node(g, EFFC_OP_MUL, "mul2", 2, INS(d, c), y);
	output(g, y);
	if (run_passes(&f, name, 1, 1, 1)) {
		char full[200];
		check_plan(g, name, 0);
		/* X, a, b and c are all alive at step 2: four distinct 1 KiB buffers at least. */
		snprintf(full, sizeof full, "%s: arena holds X, a, b, c at once", name);
		check(g->arena_bytes >= 4 * 1024 && g->peak_live_bytes >= 4 * 1024, full, "arena %zu, peak %zu",
		      g->arena_bytes, g->peak_live_bytes);
	}
	fixture_free(&f);
}

/* The classifier graph through the whole pipeline: aliases (LayoutToNCHW, Flatten) and lowered
 * weights in the plan. */
static void test_plan_classifier(void)
{
	const char *name = "plan classifier with aliases";
	struct fixture f;
	if (!fixture_init(&f, name))
		return;
	struct effc_graph *g = f.g;
	build_classifier(g);
	int w = effc_graph_find_tensor(g, "W");
	int gap_t = effc_graph_find_tensor(g, "gap_out"), flat_t = effc_graph_find_tensor(g, "flat_out");
	if (run_passes(&f, name, 1, 1, 1)) {
		char full[200];
		check_structure(g, name);
		check_plan(g, name, 0);
		snprintf(full, sizeof full, "%s: Flatten output shares the GAP output's bytes", name);
		check(root_of(g, flat_t) == gap_t && g->t[flat_t].offset == g->t[gap_t].offset, full,
		      "root of flat_out is %d, gap_out is %d", root_of(g, flat_t), gap_t);
		snprintf(full, sizeof full, "%s: the replaced OIHW weights are not emitted", name);
		check(!g->t[w].emitted, full, "W is emitted");
		int conv = find_op(g, EFFC_OP_CONV, 0), fc = find_op(g, EFFC_OP_FULLY_CONNECTED, 0);
		snprintf(full, sizeof full, "%s: lowered conv and FC weights are emitted", name);
		check(conv >= 0 && fc >= 0 && g->t[g->n[conv].in[1]].emitted && g->t[g->n[fc].in[1]].emitted &&
			      g->t[g->n[fc].in[2]].emitted,
		      full, "conv %d fc %d", conv, fc);
	}
	fixture_free(&f);
}

int main(void)
{
	test_layout_classifier();
	test_layout_runtime_weights();
	test_layout_4d_output();
	test_layout_add_const("layout add nhwc + const [1,4,1,1]", DIMS(1, 4, 1, 1), 4);
	test_layout_add_const("layout add nhwc + const [4,1,1]", DIMS(4, 1, 1), 3);
	test_layout_add_const("layout add nhwc + const [1,4,8,8] permuted", DIMS(1, 4, 8, 8), 4);
	test_layout_add_runtime();
	test_layout_add_onnx();
	test_layout_se_block();
	test_layout_shared_input();
	test_layout_reducemean_hw();

	test_lower_conv_weights();
	test_lower_gemm("lower gemm transB=0 bias [5]", 0, 1, DIMS(5));
	test_lower_gemm("lower gemm transB=1 bias [1,5]", 1, 2, DIMS(1, 5));
	test_lower_gemm("lower gemm transB=0 scalar bias", 0, 1, DIMS(1));
	test_lower_gemm("lower gemm transB=1 no bias", 1, 0, NULL);
	test_lower_gemm_not_lowered("lower gemm transA=1 not lowered", 1, 1, DIMS(5));
	test_lower_gemm_not_lowered("lower gemm bias [3,5] not lowered", 0, 2, DIMS(3, 5));
	test_lower_matmul("lower matmul runtime B not lowered", 0);
	test_lower_matmul("lower matmul const B", 1);

	test_plan_chain();
	test_plan_fanout();
	test_plan_classifier();

	test_fuse_mbconv_match();
	test_fuse_mbconv_kept("fuse-mbconv small expansion kept", 16, 16, 8, 0, 0);
	test_fuse_mbconv_kept("fuse-mbconv expansion output read elsewhere kept", 112, 16, 8, 1, 0);
	test_fuse_mbconv_kept("fuse-mbconv switched off", 112, 16, 8, 0, 1);
	/* 20x20x2048 (3.3 MB) from 64 channels: 512 KB of expansion weights, streamed by each of 7
	 * bands of 3 rows (3.6 MB), more than the tensor: kept apart. From 8 channels (64 KB), fused. */
	test_fuse_mbconv_kept("fuse-mbconv large expansion weights kept", 20, 2048, 64, 0, 0);
	test_fuse_mbconv_big_small_weights();
	test_fuse_se_scale_kept("fuse-se-scale SE output also a graph output kept", 2, 0);
	test_fuse_se_scale_kept("fuse-se-scale switched off", 0, 1);
	test_fuse_mbconv_proj_match();
	test_fuse_mbconv_proj_kept("fuse-mbconv-proj Lite block 14x14 kept apart", 14, 0);
	test_fuse_mbconv_proj_kept("fuse-mbconv-proj switched off", 28, 1);
	test_fuse_conv_proj_match();
	test_lower_qdq();
	test_lower_int8();
	test_lower_int8_kept();
	test_fuse_conv_proj_kept("fuse-conv-proj expanded tensor also an output kept", 8, 1, 1, 0);
	test_fuse_conv_proj_kept("fuse-conv-proj grouped conv kept", 8, 2, 0, 0);
	test_fuse_conv_proj_kept("fuse-conv-proj K over the im2col limit kept", 300, 1, 0, 0);
	test_fuse_conv_proj_kept("fuse-conv-proj switched off", 8, 1, 0, 1);

	return test_summary();
}
