/* emit.c: IR -> a standalone C directory.
 *
 * Output: NAME.h (the API), NAME.c (create = one runtime create per op with its parameters
 * spelled out, run = one effc_rt_run per op, the ONNX node name and shapes in a comment),
 * NAME.weights (the constants, 64-byte aligned, referenced by offset), NAME_weights.c (embeds
 * the blob with the assembler's .incbin, so even B7's 260 MB never pass through the C
 * compiler), NAME_runner.c, runtime/ and CMakeLists.txt. Everything is written to a temporary
 * sibling directory that replaces DIR only when complete. Output is byte-for-byte
 * deterministic for the same model and command line.
 * Adding an op: one case in emit_op(). */
#define _POSIX_C_SOURCE 200809L
#include "effc.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct effc_runtime_file {
	const char *name;
	const unsigned char *data;
	size_t size;
};
extern const struct effc_runtime_file effc_runtime_files[];
extern const size_t effc_runtime_file_count;

/* ---- string builder -------------------------------------------------------------------- */
struct sb {
	char *buf;
	size_t len, cap;
	int oom;
};

static void sb_printf(struct sb *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || s->oom)
		return;
	if (s->len + (size_t)n + 1 > s->cap) {
		size_t nc = (s->cap ? s->cap * 2 : 4096) + (size_t)n;
		char *p = realloc(s->buf, nc);
		if (!p) {
			s->oom = 1;
			return;
		}
		s->buf = p, s->cap = nc;
	}
	va_start(ap, fmt);
	vsnprintf(s->buf + s->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->len += (size_t)n;
}

/* ---- helpers --------------------------------------------------------------------------- */
struct emitter {
	struct effc_graph *g;
	const struct effc_emit_options *o;
	struct sb create, run, debug, classes;
	int n_ops, n_debug;
	int n_q8; /* int8 ops: each has a struct effc_rt_q8_op in the context, bound to its op */
	int dw_out, dw_q8; /* the last int8 depthwise's output tensor and its q8[] slot (-1: none) */
	int *bind; /* per graph input: the transpose op reading it alone (bound per run, not copied), or -1 */
	int first_to_nhwc; /* the output of op 0 when op 0 is a ToNHWC, else -1 */
	size_t run_split;  /* length of run's text for op 0 */
	uint64_t weights_hash;
	char upper[256];
};

/* A string safe inside a C comment. */
static const char *cmt(struct effc_graph *g, const char *s)
{
	char *r = effc_arena_alloc(g->arena, strlen(s) * 2 + 1);
	if (!r)
		return "?";
	char *p = r;
	for (; *s; s++) {
		if ((unsigned char)*s < 32 || *s == 127)
			*p++ = ' ';
		else if (s[0] == '*' && s[1] == '/')
			*p++ = '*', *p++ = ' ';
		else
			*p++ = *s;
	}
	*p = 0;
	return r;
}

static const char *ptr(struct emitter *e, int t)
{
	if (t < 0)
		return "NULL";
	const struct effc_tensor *x = &e->g->t[t];
	return effc_arena_printf(e->g->arena, "%s%s(%zu)", x->data ? "W" : "A", x->dtype == EFFC_I8 ? "8" : "", x->offset);
}

static const char *fl(struct effc_graph *g, float v)
{
	if (isinf(v))
		return v < 0 ? "-INFINITY" : "INFINITY";
	if (isnan(v))
		return "NAN";
	char buf[64];
	snprintf(buf, sizeof buf, "%.9g", (double)v);
	return effc_arena_printf(g->arena, "%s%sf", buf, strpbrk(buf, ".e") ? "" : ".0");
}

static void dims4(const struct effc_tensor *t, int64_t *d)
{
	for (int i = 0; i < 4; i++)
		d[i] = i < 4 - t->rank ? 1 : t->dims[i - (4 - t->rank)];
}

/* Physical dims (the order bytes are laid out in). */
static int phys_dims(const struct effc_tensor *t, int64_t *d)
{
	if (t->layout == EFFC_LAYOUT_NHWC) {
		d[0] = t->dims[0], d[1] = t->dims[2], d[2] = t->dims[3], d[3] = t->dims[1];
		return 4;
	}
	memcpy(d, t->dims, sizeof(int64_t) * (size_t)t->rank);
	return t->rank;
}

static const char *shape_list(struct effc_graph *g, const int64_t *d, int rank)
{
	struct sb s = {0};
	sb_printf(&s, "{");
	for (int i = 0; i < rank; i++)
		sb_printf(&s, "%s%" PRId64, i ? ", " : "", d[i]);
	sb_printf(&s, "}");
	const char *r = s.buf ? effc_arena_strdup(g->arena, s.buf) : "{}";
	free(s.buf);
	return r;
}

static void begin_op(struct emitter *e, const struct effc_node *n)
{
	struct effc_graph *g = e->g;
	const struct effc_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];
	sb_printf(&e->create, "\t{ /* node '%s' (%s): %s%s -> %s%s */\n", cmt(g, n->name), effc_op_name(n->op),
		  effc_shape_str(g->arena, x), x->layout == EFFC_LAYOUT_NHWC ? " nhwc" : "",
		  effc_shape_str(g->arena, y), y->layout == EFFC_LAYOUT_NHWC ? " nhwc" : "");
	if (e->n_ops == 1)
		e->run_split = e->run.len;
	sb_printf(&e->run, "\tRUN(%d); /* %s (%s) */\n", e->n_ops, cmt(g, n->name),
		  effc_op_name(n->op));
}

/* What the benchmark's per-op profile groups an op under. */
static const char *op_class(const struct effc_graph *g, const struct effc_node *n)
{
	switch (n->op) {
	case EFFC_OP_CONV:
		if (n->a.packed == 1)
			return "pointwise";
		if (n->a.group > 1 && n->a.group == g->t[n->in[0]].dims[1])
			return "depthwise";
		return g->t[n->in[0]].dims[1] <= 4 ? "stem" : "conv";
	case EFFC_OP_SE:
	case EFFC_OP_SE_GATE:
		return "se";
	case EFFC_OP_EXPAND_DW:
		return "expand+dw";
	case EFFC_OP_CONV_PROJECT:
		return "fused-mbconv";
	case EFFC_OP_MBCONV_PROJECT:
		return "mbconv";
	case EFFC_OP_SWISH:
	case EFFC_OP_SIGMOID:
	case EFFC_OP_MUL:
		return "swish";
	case EFFC_OP_FAKE_QUANT:
	case EFFC_OP_QUANT_VALUES:
	case EFFC_OP_DEQUANT_VALUES:
	case EFFC_OP_Q8_QUANTIZE:
	case EFFC_OP_Q8_DEQUANTIZE:
		return "quant";
	case EFFC_OP_Q8_CONV:
		return n->a.q_kind == EFFC_Q8_GEMM ? "pointwise" : n->a.q_kind == EFFC_Q8_DW ? "depthwise"
		       : g->t[n->in[0]].dims[1] <= 4 ? "stem" : "conv";
	case EFFC_OP_Q8_LUT:
		return "swish";
	case EFFC_OP_Q8_MUL:
	case EFFC_OP_Q8_GAP:
		return "se";
	default:
		return "rest";
	}
}

/* A C string literal for s. */
static const char *cstr(struct effc_graph *g, const char *s)
{
	char *r = effc_arena_alloc(g->arena, strlen(s) * 4 + 3);
	if (!r)
		return "\"?\"";
	char *p = r;
	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			*p++ = '\\', *p++ = (char)c;
		else if (c < 32 || c >= 127)
			p += sprintf(p, "\\%03o", c);
		else
			*p++ = (char)c;
	}
	*p++ = '"';
	*p = 0;
	return r;
}

/* Closes an op; its ONNX-named output gets a debug-table entry (used by difftest --layers). */
static void end_op(struct emitter *e, const struct effc_node *n)
{
	struct effc_graph *g = e->g;
	const struct effc_tensor *y = &g->t[n->out[0]];
	sb_printf(&e->create, "\t}\n");
	sb_printf(&e->classes, "\t\"%s\",\n", op_class(g, n));
	e->n_ops++;
	if (!y->from_onnx)
		return;
	/* An int8 tensor is dumped under the ONNX name of the dequantized tensor it holds. */
	sb_printf(&e->debug, "\t{%s, %s, %s, %zu, %d, %s, %d, %d, %s, %d},\n", cstr(g, y->onnx_name ? y->onnx_name : y->name),
		  cstr(g, n->name), cstr(g, effc_op_name(n->op)), y->offset, y->rank, shape_list(g, y->dims, y->rank),
		  y->layout == EFFC_LAYOUT_NHWC, y->dtype == EFFC_I8, fl(g, y->dtype == EFFC_I8 ? y->qscale : 0.0f),
		  y->dtype == EFFC_I8 ? (int)y->qzp : 0);
	sb_printf(&e->run, "\tDEBUG_TENSOR(%d);\n", e->n_debug++);
}

static void emit_unary(struct emitter *e, const struct effc_node *n, const char *op, float alpha, float beta,
		       float mn, float mx, int lo, int hi)
{
	struct effc_graph *g = e->g;
	const struct effc_tensor *x = &g->t[n->in[0]];
	int64_t d[EFFC_MAX_RANK];
	int r = phys_dims(x, d);
	int64_t ch = r ? d[r - 1] : 1, rows = effc_tensor_numel(x) / ch;
	begin_op(e, n);
	sb_printf(&e->create,
		  "\t\tstatic const struct effc_rt_unary p = {.op = %s, .rows = %" PRId64 ", .channels = %" PRId64
		  ", .alpha = %s, .beta = %s, .min = %s, .max = %s};\n",
		  op, rows, ch, fl(g, alpha), fl(g, beta), fl(g, mn), fl(g, mx));
	sb_printf(&e->create, "\t\tCHECK(effc_rt_unary_create(&ctx->rt, &ctx->op[%d], &p, %s, %s, %s, %s));\n", e->n_ops,
		  ptr(e, n->in[0]), ptr(e, n->out[0]), ptr(e, lo), ptr(e, hi));
	end_op(e, n);
}

static void emit_shape(struct emitter *e, const char *var, const int64_t *d, int rank)
{
	sb_printf(&e->create, "\t\tstatic const struct effc_rt_shape %s = {%d, %s};\n", var, rank,
		  shape_list(e->g, d, rank));
}

static void emit_transpose(struct emitter *e, const struct effc_node *n, const int64_t *d, int rank, const int64_t *perm)
{
	begin_op(e, n);
	emit_shape(e, "s", d, rank);
	sb_printf(&e->create, "\t\tstatic const int perm[] = %s;\n", shape_list(e->g, perm, rank));
	sb_printf(&e->create, "\t\tCHECK(effc_rt_transpose_create(&ctx->rt, &ctx->op[%d], &s, perm, %s, %s));\n", e->n_ops,
		  ptr(e, n->in[0]), ptr(e, n->out[0]));
	if (e->n_ops == 0 && n->op == EFFC_OP_TO_NHWC)
		e->first_to_nhwc = n->out[0];
	/* A graph input read by this transpose alone need not be copied into the arena first. */
	const struct effc_graph *g = e->g;
	for (int k = 0; e->bind && k < g->n_inputs; k++)
		if (n->in[0] == g->inputs[k] && !g->t[n->in[0]].is_output &&
		    effc_graph_sole_consumer(g, n->in[0]) == (int)(n - g->n))
			e->bind[k] = e->n_ops;
	end_op(e, n);
}

static void emit_reduce(struct emitter *e, const struct effc_node *n, const int *mask)
{
	const struct effc_tensor *x = &e->g->t[n->in[0]];
	int64_t m[EFFC_MAX_RANK];
	for (int i = 0; i < x->rank; i++)
		m[i] = mask[i];
	begin_op(e, n);
	emit_shape(e, "s", x->dims, x->rank);
	sb_printf(&e->create, "\t\tstatic const int mask[] = %s;\n", shape_list(e->g, m, x->rank));
	sb_printf(&e->create, "\t\tCHECK(effc_rt_reduce_mean_create(&ctx->rt, &ctx->op[%d], &s, mask, %s, %s));\n",
		  e->n_ops, ptr(e, n->in[0]), ptr(e, n->out[0]));
	end_op(e, n);
}

static void emit_copy(struct emitter *e, const struct effc_node *n)
{
	begin_op(e, n);
	sb_printf(&e->create, "\t\tCHECK(effc_rt_copy_create(&ctx->rt, &ctx->op[%d], %zu, %s, %s));\n", e->n_ops,
		  effc_tensor_bytes(&e->g->t[n->out[0]]), ptr(e, n->in[0]), ptr(e, n->out[0]));
	end_op(e, n);
}

static enum effc_status emit_matmul(struct emitter *e, const struct effc_node *n, struct effc_diag *d)
{
	struct effc_graph *g = e->g;
	const struct effc_tensor *a = &g->t[n->in[0]], *b = &g->t[n->in[1]];
	int64_t M, N, K, a_sm, a_sk, b_sk, b_sn, bias_sm = 0, bias_sn = 0;
	int64_t batch[4] = {0}, ab[4] = {0}, bb[4] = {0}, cb[4] = {0};
	int br = 0, bias = -1;
	float alpha = 1.0f, beta = 0.0f;
	if (n->op == EFFC_OP_GEMM) {
		M = n->a.trans_a ? a->dims[1] : a->dims[0];
		K = n->a.trans_a ? a->dims[0] : a->dims[1];
		N = n->a.trans_b ? b->dims[0] : b->dims[1];
		a_sm = n->a.trans_a ? 1 : K, a_sk = n->a.trans_a ? M : 1;
		b_sk = n->a.trans_b ? 1 : N, b_sn = n->a.trans_b ? K : 1;
		alpha = n->a.alpha;
		if (n->n_in > 2 && n->in[2] >= 0) {
			const struct effc_tensor *c = &g->t[n->in[2]];
			int64_t c0 = c->rank == 2 ? c->dims[0] : 1, c1 = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
			bias_sm = c0 == 1 ? 0 : c1, bias_sn = c1 == 1 ? 0 : 1;
			bias = n->in[2];
			beta = n->a.beta;
		}
	} else {
		int ra = a->rank < 2 ? 2 : a->rank, rb = b->rank < 2 ? 2 : b->rank;
		int64_t ad[EFFC_MAX_RANK + 1], bd[EFFC_MAX_RANK + 1];
		if (a->rank == 1)
			ad[0] = 1, ad[1] = a->dims[0];
		else
			memcpy(ad, a->dims, sizeof(int64_t) * (size_t)ra);
		if (b->rank == 1)
			bd[0] = b->dims[0], bd[1] = 1;
		else
			memcpy(bd, b->dims, sizeof(int64_t) * (size_t)rb);
		M = ad[ra - 2], K = ad[ra - 1], N = bd[rb - 1];
		a_sm = K, a_sk = 1, b_sk = N, b_sn = 1;
		br = (ra > rb ? ra : rb) - 2;
		if (br > 4)
			return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "more than 4 batch dimensions");
		int64_t sa = M * K, sbb = K * N;
		for (int i = br - 1; i >= 0; i--) {
			int ia = i - (br - (ra - 2)), ib = i - (br - (rb - 2));
			int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
			batch[i] = da > db ? da : db;
			ab[i] = da == 1 ? 0 : sa;
			bb[i] = db == 1 ? 0 : sbb;
			sa *= da, sbb *= db;
		}
	}
	begin_op(e, n);
	sb_printf(&e->create,
		  "\t\tstatic const struct effc_rt_matmul p = {.m = %" PRId64 ", .n = %" PRId64 ", .k = %" PRId64
		  ", .batch_rank = %d, .batch = %s, .a_bstride = %s, .b_bstride = %s, .bias_bstride = %s,\n"
		  "\t\t\t.a_sm = %" PRId64 ", .a_sk = %" PRId64 ", .b_sk = %" PRId64 ", .b_sn = %" PRId64
		  ", .bias_sm = %" PRId64 ", .bias_sn = %" PRId64 ", .alpha = %s, .beta = %s, .out_min = %s, .out_max = %s};\n",
		  M, N, K, br, shape_list(g, batch, 4), shape_list(g, ab, 4), shape_list(g, bb, 4), shape_list(g, cb, 4), a_sm,
		  a_sk, b_sk, b_sn, bias_sm, bias_sn, fl(g, alpha), fl(g, beta),
		  fl(g, n->a.act == EFFC_ACT_CLAMP ? n->a.act_min : -INFINITY), fl(g, n->a.act == EFFC_ACT_CLAMP ? n->a.act_max : INFINITY));
	sb_printf(&e->create, "\t\tCHECK(effc_rt_matmul_create(&ctx->rt, &ctx->op[%d], &p, %s, %s, %s, %s));\n", e->n_ops,
		  ptr(e, n->in[0]), ptr(e, n->in[1]), ptr(e, bias), ptr(e, n->out[0]));
	end_op(e, n);
	return EFFC_OK;
}

/* The effc_rt_conv2d `p` of a convolution reading a tensor of x's batch and size with in_c
 * channels and writing y. */
static void emit_conv_params(struct emitter *e, const struct effc_attrs *a, const struct effc_tensor *x, int64_t in_c,
			     const struct effc_tensor *y, int nhwc)
{
	struct effc_graph *g = e->g;
	sb_printf(&e->create,
		  "\t\tstatic const struct effc_rt_conv2d p = {.batch = %" PRId64 ", .in_h = %" PRId64 ", .in_w = %" PRId64
		  ", .in_c = %" PRId64 ", .out_h = %" PRId64 ", .out_w = %" PRId64 ", .out_c = %" PRId64 ", .groups = %" PRId64 ",\n"
		  "\t\t\t.kh = %" PRId64 ", .kw = %" PRId64 ", .sh = %" PRId64 ", .sw = %" PRId64 ", .dh = %" PRId64
		  ", .dw = %" PRId64 ", .pad_top = %" PRId64 ", .pad_left = %" PRId64 ", .pad_bottom = %" PRId64
		  ", .pad_right = %" PRId64 ", .out_min = %s, .out_max = %s, .nhwc = %d%s%s};\n",
		  x->dims[0], x->dims[2], x->dims[3], in_c, y->dims[2], y->dims[3], y->dims[1], a->group, a->kernel[0],
		  a->kernel[1], a->strides[0], a->strides[1], a->dilations[0], a->dilations[1], a->pads[0], a->pads[1],
		  a->pads[2], a->pads[3], fl(g, a->act == EFFC_ACT_CLAMP ? a->act_min : -INFINITY),
		  fl(g, a->act == EFFC_ACT_CLAMP ? a->act_max : INFINITY), nhwc,
		  a->act == EFFC_ACT_SWISH ? ", .act = EFFC_RT_ACT_SWISH" : a->act == EFFC_ACT_HARDSWISH ? ", .act = EFFC_RT_ACT_HARDSWISH" : "",
		  a->packed ? ", .packed = 1" : "");
}

/* The 1x1 stage an op runs before or after its own (struct effc_rt_expand ex: the expansion,
 * struct effc_rt_project q: the projection): its channel count, activation and clamp. */
static void emit_stage(struct emitter *e, const char *decl, const char *field, int64_t channels, enum effc_act act,
		       float lo, float hi)
{
	struct effc_graph *g = e->g;
	sb_printf(&e->create, "\t\tstatic const struct %s = {%s = %" PRId64 ", .act = %s, .out_min = %s, .out_max = %s};\n",
		  decl, field, channels,
		  act == EFFC_ACT_SWISH ? "EFFC_RT_ACT_SWISH" : act == EFFC_ACT_HARDSWISH ? "EFFC_RT_ACT_HARDSWISH" : "EFFC_RT_ACT_NONE",
		  fl(g, act == EFFC_ACT_CLAMP ? lo : -INFINITY), fl(g, act == EFFC_ACT_CLAMP ? hi : INFINITY));
}

/* An int8 tensor's quantization as a struct effc_rt_q8_quant initializer. */
static const char *q8q(struct emitter *e, int t)
{
	const struct effc_tensor *x = &e->g->t[t];
	return effc_arena_printf(e->g->arena, "{%s, %d}", fl(e->g, x->qscale), (int)x->qzp);
}

/* An int8 op: its parameters, then create into ctx->q8[j], bound to ctx->op[i] so run() runs it
 * like any other op. */
static void emit_q8(struct emitter *e, const struct effc_node *n)
{
	struct effc_graph *g = e->g;
	const struct effc_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];
	const struct effc_attrs *a = &n->a;
	const int j = e->n_q8++;
	const char *op = effc_arena_printf(g->arena, "&ctx->q8[%d]", j);
	begin_op(e, n);
	sb_printf(&e->create, "\t\teffc_rt_q8_bind(&ctx->op[%d], %s);\n", e->n_ops, op);
	switch (n->op) {
	case EFFC_OP_Q8_QUANTIZE:
		sb_printf(&e->create, "\t\tstatic const struct effc_rt_q8_quant q = %s;\n", q8q(e, n->out[0]));
		sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_quantize_create(&ctx->rt, %s, q, %" PRId64 ", %s, %s));\n", op,
			  effc_tensor_numel(y), ptr(e, n->in[0]), ptr(e, n->out[0]));
		break;
	case EFFC_OP_Q8_DEQUANTIZE:
		sb_printf(&e->create, "\t\tstatic const struct effc_rt_q8_quant q = %s;\n", q8q(e, n->in[0]));
		sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_dequantize_create(&ctx->rt, %s, q, %" PRId64 ", %s, %s));\n", op,
			  effc_tensor_numel(y), ptr(e, n->in[0]), ptr(e, n->out[0]));
		break;
	case EFFC_OP_Q8_LUT:
		sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_lut_create(&ctx->rt, %s, %s, %" PRId64 ", %s, %s));\n", op,
			  ptr(e, n->in[1]), effc_tensor_numel(y), ptr(e, n->in[0]), ptr(e, n->out[0]));
		break;
	case EFFC_OP_Q8_ADD:
		sb_printf(&e->create, "\t\tstatic const struct effc_rt_q8_add p = {.a = %s, .b = %s, .out = %s, .out_min = %d, .out_max = %d};\n",
			  q8q(e, n->in[0]), q8q(e, n->in[1]), q8q(e, n->out[0]), (int)a->q_lo, (int)a->q_hi);
		sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_add_create(&ctx->rt, %s, &p, %" PRId64 ", %s, %s, %s));\n", op,
			  effc_tensor_numel(y), ptr(e, n->in[0]), ptr(e, n->in[1]), ptr(e, n->out[0]));
		break;
	case EFFC_OP_Q8_MUL: {
		const int64_t c = x->rank == 4 ? x->dims[1] : x->dims[x->rank - 1], b = x->dims[0];
		const int bc = effc_tensor_numel(&g->t[n->in[1]]) != effc_tensor_numel(x);
		sb_printf(&e->create, "\t\tstatic const struct effc_rt_q8_mul p = {.batch = %" PRId64 ", .rows = %" PRId64
			  ", .c = %" PRId64 ", .broadcast = %d,\n\t\t\t.a = %s, .b = %s, .out = %s, .out_min = %d, .out_max = %d};\n",
			  b, effc_tensor_numel(x) / (b * c), c, bc, q8q(e, n->in[0]), q8q(e, n->in[1]), q8q(e, n->out[0]),
			  (int)a->q_lo, (int)a->q_hi);
		sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_mul_create(&ctx->rt, %s, &p, %s, %s, %s));\n", op, ptr(e, n->in[0]),
			  ptr(e, n->in[1]), ptr(e, n->out[0]));
		break;
	}
	case EFFC_OP_Q8_GAP:
		sb_printf(&e->create, "\t\tstatic const struct effc_rt_q8_gap p = {.batch = %" PRId64 ", .hw = %" PRId64
			  ", .c = %" PRId64 ", .in = %s, .out = %s, .out_min = %d, .out_max = %d};\n",
			  x->dims[0], x->dims[2] * x->dims[3], x->dims[1], q8q(e, n->in[0]), q8q(e, n->out[0]), (int)a->q_lo,
			  (int)a->q_hi);
		sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_gap_create(&ctx->rt, %s, &p, %s, %s));\n", op, ptr(e, n->in[0]),
			  ptr(e, n->out[0]));
		if (n->in[0] == e->dw_out) /* the depthwise before sums its rows as it writes them */
			sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_gap_from_dw(&ctx->rt, %s, &ctx->q8[%d]));\n", op, e->dw_q8);
		break;
	case EFFC_OP_Q8_CONV: {
		/* requantized onto its own output's grid, then the table and the residual */
		const char *qo = effc_arena_printf(g->arena, "{%s, %d}", fl(g, a->qo_scale), (int)a->qo_zp);
		const int64_t oc = effc_tensor_numel(&g->t[n->in[2]]);
		if (n->in[3] >= 0)
			sb_printf(&e->create, "\t\tstatic const struct effc_rt_q8_add r = {.a = {%s, %d}, .b = %s, .out = %s, "
				  ".out_min = %d, .out_max = %d};\n",
				  fl(g, a->qa_scale), (int)a->qa_zp, q8q(e, n->in[3]), q8q(e, n->out[0]), (int)a->q_lo_res,
				  (int)a->q_hi_res);
		const char *res = n->in[3] >= 0 ? ", .residual = &r" : "";
		const char *act = a->q_act == EFFC_ACT_SWISH       ? ", .act = EFFC_RT_Q8_ACT_SWISH"
				  : a->q_act == EFFC_ACT_HARDSWISH ? ", .act = EFFC_RT_Q8_ACT_HARDSWISH"
								   : "";
		if (a->q_kind == EFFC_Q8_GEMM) {
			const int64_t k = x->rank == 4 ? x->dims[1] : x->dims[x->rank - 1];
			sb_printf(&e->create, "\t\tconst struct effc_rt_q8_gemm p = {.m = %" PRId64 ", .n = %" PRId64 ", .k = %" PRId64
				  ", .in = %s, .out = %s,\n\t\t\t.w_scale = %s, .out_min = %d, .out_max = %d%s, .lut = %s%s};\n",
				  effc_tensor_numel(x) / k, oc, k, q8q(e, n->in[0]), qo, ptr(e, n->in[2]), (int)a->q_lo,
				  (int)a->q_hi, act, n->in[4] >= 0 ? ptr(e, n->in[4]) : "NULL", res);
			sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_gemm_create(&ctx->rt, %s, &p, %s, %s, %s, %s));\n", op,
				  ptr(e, n->in[1]), ptr(e, n->in[0]), ptr(e, n->in[3]), ptr(e, n->out[0]));
		} else if (a->q_kind == EFFC_Q8_DW) {
			sb_printf(&e->create, "\t\tconst struct effc_rt_q8_dw p = {.batch = %" PRId64 ", .in_h = %" PRId64 ", .in_w = %" PRId64
				  ", .c = %" PRId64 ", .out_h = %" PRId64 ", .out_w = %" PRId64 ",\n\t\t\t.kh = %" PRId64 ", .kw = %" PRId64
				  ", .sh = %" PRId64 ", .sw = %" PRId64 ", .pad_top = %" PRId64 ", .pad_left = %" PRId64
				  ", .in = %s, .out = %s,\n\t\t\t.w_scale = %s, .out_min = %d, .out_max = %d%s, .lut = %s};\n",
				  x->dims[0], x->dims[2], x->dims[3], x->dims[1], y->dims[2], y->dims[3], a->kernel[0], a->kernel[1],
				  a->strides[0], a->strides[1], a->pads[0], a->pads[1], q8q(e, n->in[0]), qo,
				  ptr(e, n->in[2]), (int)a->q_lo, (int)a->q_hi, act, n->in[4] >= 0 ? ptr(e, n->in[4]) : "NULL");
			sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_dw_create(&ctx->rt, %s, &p, %s, %s, %s));\n", op, ptr(e, n->in[1]),
				  ptr(e, n->in[0]), ptr(e, n->out[0]));
			e->dw_out = n->out[0], e->dw_q8 = j;
		} else {
			sb_printf(&e->create, "\t\tconst struct effc_rt_q8_conv p = {.batch = %" PRId64 ", .in_h = %" PRId64 ", .in_w = %" PRId64
				  ", .in_c = %" PRId64 ", .out_h = %" PRId64 ", .out_w = %" PRId64 ", .out_c = %" PRId64 ",\n\t\t\t.kh = %" PRId64
				  ", .kw = %" PRId64 ", .sh = %" PRId64 ", .sw = %" PRId64 ", .dh = %" PRId64 ", .dw = %" PRId64
				  ", .pad_top = %" PRId64 ", .pad_left = %" PRId64 ", .in = %s, .out = %s,\n\t\t\t.w_scale = %s, .out_min = %d, "
				  ".out_max = %d%s, .lut = %s%s};\n",
				  x->dims[0], x->dims[2], x->dims[3], x->dims[1], y->dims[2], y->dims[3], y->dims[1], a->kernel[0], a->kernel[1],
				  a->strides[0], a->strides[1], a->dilations[0], a->dilations[1], a->pads[0], a->pads[1], q8q(e, n->in[0]),
				  qo, ptr(e, n->in[2]), (int)a->q_lo, (int)a->q_hi, act, n->in[4] >= 0 ? ptr(e, n->in[4]) : "NULL",
				  res);
			sb_printf(&e->create, "\t\tCHECK(effc_rt_q8_conv_create(&ctx->rt, %s, &p, %s, %s, %s, %s));\n", op,
				  ptr(e, n->in[1]), ptr(e, n->in[0]), ptr(e, n->in[3]), ptr(e, n->out[0]));
		}
		break;
	}
	default:
		break;
	}
	end_op(e, n);
}

static enum effc_status emit_op(struct emitter *e, const struct effc_node *n, struct effc_diag *d)
{
	struct effc_graph *g = e->g;
	const struct effc_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];
	const struct effc_attrs *a = &n->a;
	int nhwc = y->layout == EFFC_LAYOUT_NHWC;
	if (effc_node_is_alias(g, n)) {
		sb_printf(&e->create, "\t/* node '%s' (%s): %s -> %s reuses the bytes of '%s' */\n", cmt(g, n->name),
			  effc_op_name(n->op), effc_shape_str(g->arena, x), effc_shape_str(g->arena, y), cmt(g, x->name));
		return EFFC_OK;
	}
	switch (n->op) {
	case EFFC_OP_CONV: {
		begin_op(e, n);
		emit_conv_params(e, a, x, x->dims[1], y, nhwc);
		if (a->packed == 1)
			sb_printf(&e->create, "\t\tCHECK(effc_rt_conv1x1_create(&ctx->rt, &ctx->op[%d], &p, %s, %s, %s, %s, %s, %s));\n",
				  e->n_ops, ptr(e, n->in[1]), ptr(e, n->n_in > 2 ? n->in[2] : -1), ptr(e, n->n_in > 3 ? n->in[3] : -1),
				  ptr(e, n->n_in > 4 ? n->in[4] : -1), ptr(e, n->in[0]), ptr(e, n->out[0]));
		else if (n->n_out > 1 && n->out[1] >= 0)
			sb_printf(&e->create, "\t\tCHECK(effc_rt_dwconv_create(&ctx->rt, &ctx->op[%d], &p, %s, %s, %s, %s, %s));\n",
				  e->n_ops, ptr(e, n->in[1]), ptr(e, n->n_in > 2 ? n->in[2] : -1), ptr(e, n->in[0]), ptr(e, n->out[0]),
				  ptr(e, n->out[1]));
		else
			sb_printf(&e->create, "\t\tCHECK(effc_rt_conv2d_create(&ctx->rt, &ctx->op[%d], &p, %s, %s, %s, %s));\n",
				  e->n_ops, ptr(e, n->in[1]), ptr(e, n->n_in > 2 ? n->in[2] : -1), ptr(e, n->in[0]), ptr(e, n->out[0]));
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_EXPAND_DW: {
		/* The depthwise over the expanded tensor, which has x's size and y's channels. */
		begin_op(e, n);
		emit_conv_params(e, a, x, y->dims[1], y, 1);
		emit_stage(e, "effc_rt_expand ex", ".in_c", x->dims[1], a->pre_act, a->pre_min, a->pre_max);
		sb_printf(&e->create, "\t\tCHECK(effc_rt_mbconv_create(&ctx->rt, &ctx->op[%d], &p, &ex, %s, %s, %s, %s, %s, %s, %s));\n",
			  e->n_ops, ptr(e, n->in[1]), ptr(e, n->in[2]), ptr(e, n->in[3]), ptr(e, n->in[4]), ptr(e, n->in[0]),
			  ptr(e, n->out[0]), ptr(e, n->n_out > 1 ? n->out[1] : -1));
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_MBCONV_PROJECT: {
		/* The depthwise over the expanded tensor (x's size, Wd's channels), writing y's pixels
		 * with the expanded channel count; then the projection into y. */
		struct effc_tensor mid = *y;
		mid.dims[1] = g->t[n->in[3]].dims[2];
		begin_op(e, n);
		emit_conv_params(e, a, x, mid.dims[1], &mid, 1);
		emit_stage(e, "effc_rt_expand ex", ".in_c", x->dims[1], a->pre_act, a->pre_min, a->pre_max);
		emit_stage(e, "effc_rt_project q", ".out_c", y->dims[1], a->post_act, a->post_min, a->post_max);
		sb_printf(&e->create,
			  "\t\tCHECK(effc_rt_mbconv_project_create(&ctx->rt, &ctx->op[%d], &p, &ex, %s, %s, %s, %s, &q, %s, %s, %s, %s, %s));\n",
			  e->n_ops, ptr(e, n->in[1]), ptr(e, n->in[2]), ptr(e, n->in[3]), ptr(e, n->in[4]), ptr(e, n->in[5]),
			  ptr(e, n->in[6]), ptr(e, n->in[7]), ptr(e, n->in[0]), ptr(e, n->out[0]));
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_CONV_PROJECT: {
		/* The kxk convolution writes y's pixels with the expanded channel count. */
		struct effc_tensor mid = *y;
		mid.dims[1] = g->t[n->in[1]].dims[0];
		begin_op(e, n);
		emit_conv_params(e, a, x, x->dims[1], &mid, 1);
		emit_stage(e, "effc_rt_project q", ".out_c", y->dims[1], a->post_act, a->post_min, a->post_max);
		sb_printf(&e->create, "\t\tCHECK(effc_rt_conv_project_create(&ctx->rt, &ctx->op[%d], &p, &q, %s, %s, %s, %s, %s, %s, %s));\n",
			  e->n_ops, ptr(e, n->in[1]), ptr(e, n->in[2]), ptr(e, n->in[3]), ptr(e, n->in[4]), ptr(e, n->in[5]),
			  ptr(e, n->in[0]), ptr(e, n->out[0]));
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_BATCHNORM: {
		int64_t outer = x->dims[0], ch = x->dims[1], inner = 1;
		for (int i = 2; i < x->rank; i++)
			*(x->layout == EFFC_LAYOUT_NHWC ? &outer : &inner) *= x->dims[i];
		begin_op(e, n);
		sb_printf(&e->create,
			  "\t\tCHECK(effc_rt_batchnorm_create(&ctx->rt, &ctx->op[%d], %" PRId64 ", %" PRId64 ", %" PRId64
			  ", %s, %s, %s, %s, %s, %s, %s));\n",
			  e->n_ops, outer, ch, inner, ptr(e, n->in[1]), ptr(e, n->in[2]), ptr(e, n->in[3]), ptr(e, n->in[4]),
			  fl(g, a->epsilon), ptr(e, n->in[0]), ptr(e, n->out[0]));
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_SCALE_BIAS: {
		int64_t outer = x->dims[0], ch = x->dims[1], inner = 1;
		for (int i = 2; i < x->rank; i++)
			*(x->layout == EFFC_LAYOUT_NHWC ? &outer : &inner) *= x->dims[i];
		begin_op(e, n);
		sb_printf(&e->create,
			  "\t\tCHECK(effc_rt_scale_bias_create(&ctx->rt, &ctx->op[%d], %" PRId64 ", %" PRId64 ", %" PRId64
			  ", %s, %s, %s, %s));\n",
			  e->n_ops, outer, ch, inner, ptr(e, n->in[1]), ptr(e, n->in[2]), ptr(e, n->in[0]), ptr(e, n->out[0]));
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_SE:
	case EFFC_OP_SE_GATE: {
		begin_op(e, n);
		sb_printf(&e->create,
			  "\t\tstatic const struct effc_rt_se p = {.batch = %" PRId64 ", .hw = %" PRId64 ", .channels = %" PRId64
			  ", .reduced = %" PRId64 ", .act = %s,\n\t\t\t.act_min = %s, .act_max = %s, .gate = %s, .gate_alpha = %s, .gate_beta = %s};\n",
			  x->dims[0], x->dims[2] * x->dims[3], x->dims[1], g->t[n->in[1]].dims[0],
			  a->act == EFFC_ACT_SWISH ? "EFFC_RT_ACT_SWISH" : a->act == EFFC_ACT_HARDSWISH ? "EFFC_RT_ACT_HARDSWISH" : "EFFC_RT_ACT_NONE",
			  fl(g, a->act == EFFC_ACT_CLAMP ? a->act_min : -INFINITY), fl(g, a->act == EFFC_ACT_CLAMP ? a->act_max : INFINITY),
			  a->gate ? "EFFC_RT_GATE_HARDSIGMOID" : "EFFC_RT_GATE_SIGMOID", fl(g, a->alpha), fl(g, a->beta));
		if (n->op == EFFC_OP_SE) {
			sb_printf(&e->create, "\t\tCHECK(effc_rt_se_create(&ctx->rt, &ctx->op[%d], &p, %s, %s, %s, %s, %s, %s));\n",
				  e->n_ops, ptr(e, n->in[1]), ptr(e, n->in[2]), ptr(e, n->in[3]), ptr(e, n->in[4]),
				  ptr(e, n->in[0]), ptr(e, n->out[0]));
		} else {
			/* Gate only; the pooled sums come from the depthwise conv's store step when it
			 * provides them (in[5], [batch * rows][C]). */
			const int rs = n->n_in > 5 ? n->in[5] : -1;
			sb_printf(&e->create,
				  "\t\tCHECK(effc_rt_se_gate_create(&ctx->rt, &ctx->op[%d], &p, %" PRId64 ", %s, %s, %s, %s, %s, %s, %s));\n",
				  e->n_ops, rs >= 0 ? g->t[rs].dims[0] / x->dims[0] : 0, ptr(e, n->in[1]), ptr(e, n->in[2]),
				  ptr(e, n->in[3]), ptr(e, n->in[4]), ptr(e, n->in[0]), ptr(e, rs), ptr(e, n->out[0]));
		}
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_SWISH:
		emit_unary(e, n, "EFFC_RT_SWISH_OP", 0, 0, -INFINITY, INFINITY, -1, -1);
		return EFFC_OK;
	case EFFC_OP_FAKE_QUANT: /* scale, zero point, the integer range */
		emit_unary(e, n, "EFFC_RT_FAKE_QUANT", a->alpha, a->beta, a->clip_min, a->clip_max, -1, -1);
		return EFFC_OK;
	case EFFC_OP_QUANT_VALUES:
		emit_unary(e, n, "EFFC_RT_QUANT_VALUES", a->alpha, a->beta, a->clip_min, a->clip_max, -1, -1);
		return EFFC_OK;
	case EFFC_OP_DEQUANT_VALUES:
		emit_unary(e, n, "EFFC_RT_DEQUANT_VALUES", a->alpha, a->beta, a->clip_min, a->clip_max, -1, -1);
		return EFFC_OK;
	case EFFC_OP_SIGMOID:
		emit_unary(e, n, "EFFC_RT_SIGMOID", 0, 0, -INFINITY, INFINITY, -1, -1);
		return EFFC_OK;
	case EFFC_OP_HARDSWISH:
		emit_unary(e, n, "EFFC_RT_HARDSWISH", 0, 0, -INFINITY, INFINITY, -1, -1);
		return EFFC_OK;
	case EFFC_OP_HARDSIGMOID:
		emit_unary(e, n, "EFFC_RT_HARDSIGMOID", a->alpha, a->beta, -INFINITY, INFINITY, -1, -1);
		return EFFC_OK;
	case EFFC_OP_RELU:
		emit_unary(e, n, "EFFC_RT_CLAMP", 0, 0, 0.0f, INFINITY, -1, -1);
		return EFFC_OK;
	case EFFC_OP_CLIP: {
		int lo = n->n_in > 1 ? n->in[1] : -1, hi = n->n_in > 2 ? n->in[2] : -1;
		int dyn = (lo >= 0 && !g->t[lo].data) || (hi >= 0 && !g->t[hi].data) || !(a->clip_min < a->clip_max);
		if (dyn)
			emit_unary(e, n, "EFFC_RT_CLAMP_DYN", 0, 0, -INFINITY, INFINITY, lo, hi);
		else
			emit_unary(e, n, "EFFC_RT_CLAMP", 0, 0, a->clip_min, a->clip_max, -1, -1);
		return EFFC_OK;
	}
	case EFFC_OP_ADD:
	case EFFC_OP_SUB:
	case EFFC_OP_MUL:
	case EFFC_OP_DIV: {
		static const char *const ops[] = {[EFFC_OP_ADD] = "EFFC_RT_ADD", [EFFC_OP_SUB] = "EFFC_RT_SUB",
						  [EFFC_OP_MUL] = "EFFC_RT_MUL", [EFFC_OP_DIV] = "EFFC_RT_DIV"};
		int64_t sd[2][EFFC_MAX_RANK];
		int r = y->rank ? y->rank : 1;
		for (int k = 0; k < 2; k++) {
			const struct effc_tensor *t = &g->t[n->in[k]];
			if (nhwc) {
				int64_t d4[4];
				dims4(t, d4);
				sd[k][0] = d4[0], sd[k][1] = d4[2], sd[k][2] = d4[3], sd[k][3] = d4[1];
			} else {
				for (int i = 0; i < r; i++)
					sd[k][i] = i < r - t->rank ? 1 : t->dims[i - (r - t->rank)];
			}
		}
		begin_op(e, n);
		sb_printf(&e->create,
			  "\t\tstatic const struct effc_rt_binary p = {.op = %s, .rank = %d, .a_shape = %s, .b_shape = %s, "
			  ".out_min = %s, .out_max = %s};\n",
			  ops[n->op], r, shape_list(g, sd[0], r), shape_list(g, sd[1], r),
			  fl(g, a->act == EFFC_ACT_CLAMP ? a->act_min : -INFINITY), fl(g, a->act == EFFC_ACT_CLAMP ? a->act_max : INFINITY));
		sb_printf(&e->create, "\t\tCHECK(effc_rt_binary_create(&ctx->rt, &ctx->op[%d], &p, %s, %s, %s));\n", e->n_ops,
			  ptr(e, n->in[0]), ptr(e, n->in[1]), ptr(e, n->out[0]));
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_GLOBALAVGPOOL:
	case EFFC_OP_REDUCEMEAN: {
		if (x->layout == EFFC_LAYOUT_NHWC) {
			begin_op(e, n);
			sb_printf(&e->create,
				  "\t\tCHECK(effc_rt_gap_create(&ctx->rt, &ctx->op[%d], %" PRId64 ", %" PRId64 ", %" PRId64
				  ", %s, %s));\n",
				  e->n_ops, x->dims[0], x->dims[2] * x->dims[3], x->dims[1], ptr(e, n->in[0]), ptr(e, n->out[0]));
			end_op(e, n);
			return EFFC_OK;
		}
		int mask[EFFC_MAX_RANK] = {0};
		if (n->op == EFFC_OP_GLOBALAVGPOOL) {
			for (int i = 2; i < x->rank; i++)
				mask[i] = 1;
		} else {
			if (a->n_axes == 0 && a->allowzero) {
				emit_copy(e, n);
				return EFFC_OK;
			}
			for (int i = 0; i < a->n_axes; i++)
				mask[a->axes[i]] = 1;
		}
		emit_reduce(e, n, mask);
		return EFFC_OK;
	}
	case EFFC_OP_GEMM:
	case EFFC_OP_MATMUL:
		return emit_matmul(e, n, d);
	case EFFC_OP_FULLY_CONNECTED: {
		const int64_t N = y->dims[y->rank - 1], K = x->dims[x->rank - 1];
		begin_op(e, n);
		if (a->packed == 1) {
			/* Weights in the GEMM's panels: a 1x1 convolution over rows x 1 x 1. */
			sb_printf(&e->create,
				  "\t\tstatic const struct effc_rt_conv2d p = {.batch = %" PRId64 ", .in_h = 1, .in_w = 1, .in_c = %" PRId64
				  ", .out_h = 1, .out_w = 1, .out_c = %" PRId64 ", .groups = 1,\n"
				  "\t\t\t.kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .out_min = %s, .out_max = %s, "
				  ".nhwc = 1, .packed = 1};\n",
				  effc_tensor_numel(x) / K, K, N, fl(g, a->act == EFFC_ACT_CLAMP ? a->act_min : -INFINITY),
				  fl(g, a->act == EFFC_ACT_CLAMP ? a->act_max : INFINITY));
			sb_printf(&e->create, "\t\tCHECK(effc_rt_conv1x1_create(&ctx->rt, &ctx->op[%d], &p, %s, %s, NULL, NULL, %s, %s));\n",
				  e->n_ops, ptr(e, n->in[1]), ptr(e, n->in[2]), ptr(e, n->in[0]), ptr(e, n->out[0]));
			end_op(e, n);
			return EFFC_OK;
		}
		sb_printf(&e->create,
			  "\t\tCHECK(effc_rt_fc_create(&ctx->rt, &ctx->op[%d], %" PRId64 ", %" PRId64 ", %" PRId64
			  ", %s, %s, %s, %s, %s, %s));\n",
			  e->n_ops, effc_tensor_numel(x) / K, K, N, ptr(e, n->in[1]), ptr(e, n->in[2]),
			  fl(g, a->act == EFFC_ACT_CLAMP ? a->act_min : -INFINITY),
			  fl(g, a->act == EFFC_ACT_CLAMP ? a->act_max : INFINITY), ptr(e, n->in[0]), ptr(e, n->out[0]));
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_SOFTMAX: {
		int64_t outer = 1, mid = 1, inner = 1;
		for (int i = 0; i < x->rank; i++) {
			if (i < a->axis)
				outer *= x->dims[i];
			else if (i == a->axis || a->opset < 13)
				mid *= x->dims[i];
			else
				inner *= x->dims[i];
		}
		begin_op(e, n);
		sb_printf(&e->create,
			  "\t\tCHECK(effc_rt_softmax_create(&ctx->rt, &ctx->op[%d], %" PRId64 ", %" PRId64 ", %" PRId64
			  ", %s, %s));\n",
			  e->n_ops, outer, mid, inner, ptr(e, n->in[0]), ptr(e, n->out[0]));
		end_op(e, n);
		return EFFC_OK;
	}
	case EFFC_OP_Q8_QUANTIZE:
	case EFFC_OP_Q8_DEQUANTIZE:
	case EFFC_OP_Q8_CONV:
	case EFFC_OP_Q8_LUT:
	case EFFC_OP_Q8_ADD:
	case EFFC_OP_Q8_MUL:
	case EFFC_OP_Q8_GAP:
		emit_q8(e, n);
		return EFFC_OK;
	case EFFC_OP_TRANSPOSE:
		emit_transpose(e, n, x->dims, x->rank, a->perm);
		return EFFC_OK;
	case EFFC_OP_TO_NHWC:
		emit_transpose(e, n, x->dims, 4, effc_perm_to_nhwc);
		return EFFC_OK;
	case EFFC_OP_TO_NCHW: {
		int64_t pd[4];
		phys_dims(x, pd);
		emit_transpose(e, n, pd, 4, effc_perm_to_nchw);
		return EFFC_OK;
	}
	case EFFC_OP_PAD:
		begin_op(e, n);
		emit_shape(e, "s", x->dims, x->rank);
		sb_printf(&e->create, "\t\tstatic const int64_t pad_begin[] = %s, pad_end[] = %s;\n",
			  shape_list(g, a->pad_pads, x->rank), shape_list(g, a->pad_pads + x->rank, x->rank));
		sb_printf(&e->create,
			  "\t\tCHECK(effc_rt_pad_create(&ctx->rt, &ctx->op[%d], &s, pad_begin, pad_end, %s, %s, %s));\n",
			  e->n_ops, fl(g, a->pad_value), ptr(e, n->in[0]), ptr(e, n->out[0]));
		end_op(e, n);
		return EFFC_OK;
	default:
		break;
	}
	return effc_node_fail(d, g, n, EFFC_ERR_UNSUPPORTED, "no emitter for this op");
}

/* ---- files ----------------------------------------------------------------------------- */

static void banner(struct emitter *e, struct sb *s, const char *what)
{
	const struct effc_graph *g = e->g;
	sb_printf(s, "/* %s\n *\n * Generated by effc %s, do not edit.\n * Command: %s\n * Model: producer %s %s, opset %d\n */\n",
		  what, EFFC_VERSION, cmt(e->g, e->o->cmdline ? e->o->cmdline : "effc"),
		  cmt(e->g, g->producer && *g->producer ? g->producer : "(unknown)"), cmt(e->g, g->producer_version ? g->producer_version : ""),
		  g->opset);
}

static void io_macros(struct emitter *e, struct sb *s, const char *kind, const int *ids, int count)
{
	const struct effc_graph *g = e->g;
	sb_printf(s, "#define %s_NUM_%sS %d\n", e->upper, kind, count);
	sb_printf(s, "#define %s_%s_SIZES {", e->upper, kind);
	for (int k = 0; k < count; k++)
		sb_printf(s, "%s%" PRId64, k ? ", " : "", effc_tensor_numel(&g->t[ids[k]]));
	sb_printf(s, "%s}\n", count ? "" : "0");
	if (count)
		sb_printf(s, "#define %s_%s_SIZE %" PRId64 " /* floats in the first %s */\n", e->upper, kind,
			  effc_tensor_numel(&g->t[ids[0]]), kind[0] == 'I' ? "input" : "output");
	else
		sb_printf(s, "#define %s_%s_SIZE 0\n", e->upper, kind);
	for (int k = 0; k < count; k++) {
		const struct effc_tensor *t = &g->t[ids[k]];
		sb_printf(s, "/* %s %d: '%s', %s */\n", kind[0] == 'I' ? "input" : "output", k, cmt(e->g, t->name),
			  effc_shape_str(e->g->arena, t));
		sb_printf(s, "#define %s_%s%d_RANK %d\n", e->upper, kind, k, t->rank);
		sb_printf(s, "#define %s_%s%d_SHAPE %s\n", e->upper, kind, k, shape_list(e->g, t->dims, t->rank ? t->rank : 0));
		sb_printf(s, "#define %s_%s%d_SIZE %" PRId64 "\n", e->upper, kind, k, effc_tensor_numel(t));
	}
}

/* NAME.weights: a header of EFFC_WEIGHTS_HEADER bytes (so the constants after it keep their
 * 64-byte alignment), little-endian: magic, format version, header size, the constants' byte
 * count, and an FNV-1a hash of the constants and of the create code, which says where each op
 * reads them. A blob of another model, seed or compile fails the hash, and create refuses it.
 * EFFC_WEIGHTS_HEADER is in effc.h: the summaries report the file's size. */
#define EFFC_WEIGHTS_VERSION 1
static const char effc_weights_magic[8] = {'E', 'F', 'F', 'C', 'W', 'G', 'T', 'S'};

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (data ? p[i] : 0)) * 0x100000001b3ull;
	return h;
}

/* Calls fn on the constants' bytes in blob order, NULL for the zero padding between them. */
static int walk_weights(const struct effc_graph *g, int (*fn)(void *user, const void *data, size_t n), void *user)
{
	size_t at = 0;
	for (int i = 0; i < g->n_t; i++) {
		const struct effc_tensor *t = &g->t[i];
		if (!t->data || !t->emitted)
			continue;
		size_t n = effc_tensor_bytes(t);
		if ((t->offset > at && fn(user, NULL, t->offset - at)) || fn(user, t->data, n))
			return -1;
		at = t->offset + n;
	}
	return g->weights_bytes > at ? fn(user, NULL, g->weights_bytes - at) : 0;
}

static int hash_step(void *user, const void *data, size_t n)
{
	*(uint64_t *)user = fnv1a(*(uint64_t *)user, data, n);
	return 0;
}

static uint64_t weights_hash(const struct emitter *e)
{
	uint64_t h = 0xcbf29ce484222325ull;
	walk_weights(e->g, hash_step, &h);
	return fnv1a(h, e->create.buf ? e->create.buf : "", e->create.len);
}

static const char *const pixel_names[] = {[EFFC_PIXELS_RGB8] = "rgb8", [EFFC_PIXELS_RGBA8] = "rgba8",
					  [EFFC_PIXELS_BGR8] = "bgr8", [EFFC_PIXELS_BGRA8] = "bgra8"};
static const char *const pixel_enums[] = {
	[EFFC_PIXELS_RGB8] = "EFFC_RT_PIXELS_RGB8", [EFFC_PIXELS_RGBA8] = "EFFC_RT_PIXELS_RGBA8",
	[EFFC_PIXELS_BGR8] = "EFFC_RT_PIXELS_BGR8", [EFFC_PIXELS_BGRA8] = "EFFC_RT_PIXELS_BGRA8"};
static const int pixel_bytes[] = {[EFFC_PIXELS_RGB8] = 3, [EFFC_PIXELS_RGBA8] = 4, [EFFC_PIXELS_BGR8] = 3,
				  [EFFC_PIXELS_BGRA8] = 4};

/* NAME_run_image writes op 0's output (the input's ToNHWC) itself and runs the rest; without
 * that op it converts into an NCHW buffer of the context and calls NAME_run. */
static int image_fast(const struct emitter *e)
{
	return e->n_ops > 1 && e->bind && e->bind[0] == 0 && e->first_to_nhwc >= 0 &&
	       e->g->t[e->first_to_nhwc].layout == EFFC_LAYOUT_NHWC;
}

static void make_header(struct emitter *e, struct sb *s)
{
	const char *N = e->o->name, *U = e->upper;
	const struct effc_emit_options *o = e->o;
	const int file = o->weights == EFFC_WEIGHTS_FILE;
	banner(e, s, "Model API.");
	sb_printf(s, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", U, U);
	sb_printf(s,
		  "/* Status codes returned by the calls below (%s_status_message describes each). */\n"
		  "#define %s_OK 0\n"
		  "#define %s_ERR_ARGS 1    /* NULL pointer or bad argument */\n"
		  "#define %s_ERR_NOMEM 2   /* an allocation failed in create */\n"
		  "#define %s_ERR_BACKEND 3 /* XNNPACK refused an operator (unsupported CPU or parameters) */\n"
		  "#define %s_ERR_WEIGHTS 4 /* weight blob not this model's, truncated or misaligned; or none embedded */\n",
		  N, U, U, U, U, U);
	if (o->image)
		sb_printf(s, "#define %s_ERR_IMAGE 5   /* %s_run_image: not the model's width or height, or stride < a row */\n", U, N);
	sb_printf(s, "\n");
	io_macros(e, s, "INPUT", e->g->inputs, e->g->n_inputs);
	sb_printf(s, "\n");
	io_macros(e, s, "OUTPUT", e->g->outputs, e->g->n_outputs);
	sb_printf(s,
		  "\n/* Weights: %s.weights is a %d-byte header (magic, format version, sizes and a hash of the\n"
		  " * weights and of the code that reads them) then the constants. ",
		  N, EFFC_WEIGHTS_HEADER);
	if (file)
		sb_printf(s, "This build embeds none (compiled with\n"
			     " * --weights file): load the file (into aligned memory, or mmap it) and pass it to\n"
			     " * %s_create_with_weights. */\n", N);
	else
		sb_printf(s, "This build embeds it (%s_create);\n"
			     " * %s_create_with_weights takes a copy loaded at run time instead. */\n", N, N);
	sb_printf(s,
		  "#define %s_WEIGHTS_EMBEDDED %d\n"
		  "#define %s_WEIGHTS_SIZE %zu /* bytes of %s.weights */\n"
		  "#define %s_WEIGHTS_ALIGN 64 /* a blob's address must be a multiple of this (the kernels' aligned loads) */\n"
		  "#define %s_ARENA_BYTES %zu /* the activations of one context (see %s_context_bytes) */\n",
		  U, !file, U, (size_t)EFFC_WEIGHTS_HEADER + e->g->weights_bytes, N, U, U, e->g->arena_bytes, N);
	sb_printf(s,
		  "\n/* Opaque context: weights are shared (read-only), everything else is per context, so two\n"
		  " * contexts may run at the same time on different threads. */\n"
		  "typedef struct %s %s;\n\n", N, N);
	if (file)
		sb_printf(s, "/* Returns %s_ERR_WEIGHTS: this build has no embedded weights (see above). */\n", U);
	else
		sb_printf(s, "/* Creates a context on the embedded weights that runs on num_threads threads (0 or 1: the\n"
			     " * calling thread only). All memory is allocated here. Returns %s_OK and sets *ctx, or a\n"
			     " * status code. */\n", U);
	sb_printf(s,
		  "int %s_create(%s **ctx, int num_threads);\n\n"
		  "/* Creates a context on the caller's copy of %s.weights (size bytes at weights) that runs on\n"
		  " * num_threads threads (0 or 1: the calling thread only). The blob is used in place, never\n"
		  " * copied or written: it must be %s_WEIGHTS_ALIGN-byte aligned (mmap and aligned_alloc are),\n"
		  " * stay unchanged and outlive every context created on it; any number of contexts may share\n"
		  " * it. All other memory is allocated here. Returns %s_OK and sets *ctx, %s_ERR_WEIGHTS for a\n"
		  " * blob that is not this model's, is truncated or is misaligned (%s_check_weights says\n"
		  " * which), or another status code. */\n"
		  "int %s_create_with_weights(%s **ctx, int num_threads, const void *weights, size_t size);\n\n"
		  "/* NULL if create_with_weights would accept the blob, else why not (a static string). Only\n"
		  " * the header is checked, so bytes damaged after it go unnoticed. */\n"
		  "const char *%s_check_weights(const void *weights, size_t size);\n\n"
		  "/* A static description of a status code. */\n"
		  "const char *%s_status_message(int status);\n\n"
		  "/* Runs the model. inputs[i] and outputs[i] hold %s_INPUT<i>_SIZE / %s_OUTPUT<i>_SIZE floats in\n"
		  " * the ONNX layout and shape. No allocation and no I/O happen here. */\n"
		  "int %s_run(%s *ctx, const float *const inputs[], float *const outputs[]);\n\n",
		  N, N, N, U, U, U, N, N, N, N, N, U, U, N, N);
	if (o->image) {
		const struct effc_tensor *x = &e->g->t[e->g->inputs[0]];
		const char *f = pixel_names[o->image];
		sb_printf(s,
			  "/* Camera frames (compiled with --image-input %s): runs the model on an 8-bit frame of exactly\n"
			  " * %s_IMAGE_WIDTH x %s_IMAGE_HEIGHT pixels of %s_IMAGE_BYTES_PER_PIXEL bytes (%s%s), rows\n"
			  " * stride_bytes apart (0: packed). Input channel c (R, G, B) gets\n"
			  " * (byte * %s_IMAGE_SCALE - %s_IMAGE_MEAN[c]) / %s_IMAGE_STD[c], converted in this call in one\n"
			  " * pass into the layout the first op reads; no allocation. Common presets (effc options):\n"
			  " *   torchvision ImageNet: --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 (scale 1/255)\n"
			  " *   TF-style [-1, 1]:     --scale 1/127.5 --mean 1,1,1 --std 1,1,1 (x / 127.5 - 1)\n"
			  " * Returns %s_ERR_IMAGE for another width or height or a stride shorter than a row. */\n",
			  f, U, U, U, f[0] == 'r' ? "R, G, B" : "B, G, R", pixel_bytes[o->image] == 4 ? ", a byte that is ignored" : "",
			  U, U, U, U);
		sb_printf(s, "#define %s_IMAGE_FORMAT \"%s\"\n#define %s_IMAGE_WIDTH %" PRId64 "\n#define %s_IMAGE_HEIGHT %" PRId64
			     "\n#define %s_IMAGE_BYTES_PER_PIXEL %d\n",
			  U, f, U, x->dims[3], U, x->dims[2], U, pixel_bytes[o->image]);
		sb_printf(s, "#define %s_IMAGE_SCALE %s\n#define %s_IMAGE_MEAN {%s, %s, %s}\n#define %s_IMAGE_STD {%s, %s, %s}\n", U,
			  fl(e->g, o->image_scale), U, fl(e->g, o->image_mean[0]), fl(e->g, o->image_mean[1]),
			  fl(e->g, o->image_mean[2]), U, fl(e->g, o->image_std[0]), fl(e->g, o->image_std[1]),
			  fl(e->g, o->image_std[2]));
		sb_printf(s, "int %s_run_image(%s *ctx, const unsigned char *pixels, int width, int height, size_t stride_bytes,\n"
			     "\t\tfloat *const outputs[]);\n\n", N, N);
	}
	sb_printf(s,
		  "/* Bytes that create allocated for ctx and that stay allocated until destroy: the context\n"
		  " * struct, the arena (%s_ARENA_BYTES plus 64 bytes of slack) and the runtime's per-op memory\n"
		  " * (re-laid-out weight copies, per-thread buffers, scratch, XNNPACK's operators with their\n"
		  " * repacked weights), counted as create requested them (the runtime's blocks in whole 64-byte\n"
		  " * lines). Not included: the weights (read-only,\n"
		  " * shared by contexts), the thread pool's threads and stacks, allocator overhead, and\n"
		  " * XNNPACK's blocks if the application called xnn_initialize itself before the first create.\n"
		  " * It depends on num_threads and on the CPU (which kernels were chosen). 0 for NULL. */\n"
		  "size_t %s_context_bytes(const %s *ctx);\n\n",
		  U, N, N);
	sb_printf(s, "void %s_destroy(%s *ctx);\n\n", N, N);
	sb_printf(s,
		  "#ifdef %s_DEBUG_TENSORS\n"
		  "/* Debug builds only (cmake -DEFFC_DEBUG_TENSORS=ON): run() hands every tensor that has an ONNX\n"
		  " * name to fn right after computing it (data in the layout given by nhwc). */\n"
		  "struct %s_debug_tensor {\n\tconst char *name, *node, *op;\n\tunsigned long offset;\n\tint rank;\n"
		  "\tlong long dims[6];\n\tint nhwc;\n"
		  "\tint int8; /* 1: data is int8, its real value (q - zero_point) * scale */\n\tfloat scale;\n\tint zero_point;\n};\n"
		  "typedef void (*%s_debug_fn)(void *user, const struct %s_debug_tensor *t, const float *data);\n"
		  "void %s_set_debug(%s *ctx, %s_debug_fn fn, void *user);\n#endif\n\n"
		  "#ifdef %s_PROFILE\n/* Profiling builds only (cmake -DEFFC_PROFILE=ON): milliseconds spent in each op so far, and\n"
		  " * each op's class (pointwise, depthwise, stem, se, swish, conv, rest). */\n"
		  "#define %s_NUM_OPS %d\nextern const char *const %s_op_class[];\nvoid %s_profile(const %s *ctx, double *ms_per_op);\n#endif\n\n"
		  "#ifdef __cplusplus\n}\n#endif\n#endif\n",
		  U, N, N, N, N, N, N, U, U, e->n_ops, N, N, N);
}

/* The output copies and the end of a run function. */
static void run_tail(struct emitter *e, struct sb *s)
{
	const struct effc_graph *g = e->g;
	for (int k = 0; k < g->n_outputs; k++) {
		const struct effc_tensor *t = &g->t[g->outputs[k]];
		sb_printf(s, "\tif (!outputs[%d])\n\t\treturn %s_ERR_ARGS;\n", k, e->upper);
		sb_printf(s, "\tmemcpy(outputs[%d], %s(%zu), %zu); /* '%s' */\n", k, t->data ? "W" : "A", t->offset,
			  effc_tensor_bytes(t), cmt(e->g, t->name));
	}
	sb_printf(s, "\treturn %s_OK;\nfail:\n\treturn st;\n}\n\n", e->upper);
}

static void make_source(struct emitter *e, struct sb *s)
{
	const char *N = e->o->name, *U = e->upper;
	const struct effc_emit_options *o = e->o;
	const struct effc_graph *g = e->g;
	const int file = o->weights == EFFC_WEIGHTS_FILE, fast = o->image && image_fast(e);
	banner(e, s, "Model implementation: one runtime op per line of run().");
	sb_printf(s, "#include \"%s.h\"\n\n#include \"effc_rt.h\"\n\n#include <math.h>\n#include <stdint.h>\n#include <stdlib.h>\n#include <string.h>\n\n", N);
	if (!file)
		sb_printf(s, "extern const unsigned char %s_weights[]; /* %s.weights, embedded by %s_weights.c */\n\n", N, N, N);
	sb_printf(s, "#define %s_WEIGHTS_BYTES %zu /* after the header */\n"
		     "#define %s_WEIGHTS_HASH UINT64_C(0x%016" PRIx64 ")\n#ifndef %s_NUM_OPS\n#define %s_NUM_OPS %d\n#endif\n\n",
		  U, g->weights_bytes, U, e->weights_hash, U, U, e->n_ops);
	sb_printf(s, "struct %s {\n\tstruct effc_rt rt;\n\tconst unsigned char *weights; /* the constants: the blob past its header */\n"
		     "\tunsigned char *arena;\n\tstruct effc_rt_op op[%s_NUM_OPS + 1];\n", N, U);
	if (e->n_q8)
		sb_printf(s, "\tstruct effc_rt_q8_op q8[%d]; /* the int8 ops, each bound to its op[] */\n", e->n_q8);
	if (o->image)
		sb_printf(s, "\tstruct effc_rt_image image; /* run_image's conversion */\n");
	if (o->image && !fast)
		sb_printf(s, "\tfloat *image_input; /* run_image's NCHW input */\n");
	sb_printf(s, "#ifdef %s_DEBUG_TENSORS\n\t%s_debug_fn debug;\n\tvoid *debug_user;\n#endif\n"
		     "#ifdef %s_PROFILE\n\tdouble prof_ms[%s_NUM_OPS + 1];\n#endif\n};\n\n",
		  U, N, U, U);
	sb_printf(s, "#ifdef %s_DEBUG_TENSORS\nstatic const struct %s_debug_tensor debug_tensors[] = {\n%s\t{0, 0, 0, 0, 0, {0}, 0, 0, 0.0f, 0},\n};\n"
		     "#define DEBUG_TENSOR(i) do { if (ctx->debug) ctx->debug(ctx->debug_user, &debug_tensors[i], (const float *)(const void *)(ctx->arena + debug_tensors[i].offset)); } while (0)\n"
		     "void %s_set_debug(%s *ctx, %s_debug_fn fn, void *user)\n{\n\tctx->debug = fn;\n\tctx->debug_user = user;\n}\n"
		     "#else\n#define DEBUG_TENSOR(i) ((void)0)\n#endif\n\n",
		  U, N, e->debug.buf ? e->debug.buf : "", N, N, N);
	sb_printf(s, "#ifdef %s_PROFILE\n#include <time.h>\nconst char *const %s_op_class[%s_NUM_OPS + 1] = {\n%s\t0,\n};\n"
		     "static double now_ms(void)\n{\n\tstruct timespec t;\n\tclock_gettime(CLOCK_MONOTONIC, &t);\n"
		     "\treturn t.tv_sec * 1e3 + t.tv_nsec / 1e6;\n}\n"
		     "void %s_profile(const %s *ctx, double *ms_per_op)\n{\n\tmemcpy(ms_per_op, ctx->prof_ms, sizeof ctx->prof_ms);\n}\n"
		     "#define RUN(i) do { double t0_ = now_ms(); CHECK(effc_rt_run(&ctx->rt, &ctx->op[i])); ctx->prof_ms[i] += now_ms() - t0_; } while (0)\n"
		     "#else\n#define RUN(i) CHECK(effc_rt_run(&ctx->rt, &ctx->op[i]))\n#endif\n\n",
		  U, N, U, e->classes.buf ? e->classes.buf : "", N, N);
	sb_printf(s, "#define W(off) ((const float *)(ctx->weights + (off)))\n#define A(off) ((float *)(ctx->arena + (off)))\n");
	if (e->n_q8)
		sb_printf(s, "#define W8(off) ((const int8_t *)(ctx->weights + (off)))\n#define A8(off) ((int8_t *)(ctx->arena + (off)))\n");
	sb_printf(s, "#define CHECK(x) do { if ((st = (x)) != 0) goto fail; } while (0)\n\n");

	/* The blob's header, then create. */
	sb_printf(s, "static uint64_t le64(const unsigned char *p)\n{\n\tuint64_t v = 0;\n\tfor (int i = 7; i >= 0; i--)\n"
		     "\t\tv = v << 8 | p[i];\n\treturn v;\n}\n\n");
	sb_printf(s,
		  "/* The header (%d bytes, little-endian): magic \"%.8s\", format version (32 bits), header size\n"
		  " * (32 bits), the constants' byte count and the hash of the constants and of the create code\n"
		  " * below (64 bits each), zeros. */\n"
		  "const char *%s_check_weights(const void *weights, size_t size)\n{\n"
		  "\tconst unsigned char *b = weights;\n"
		  "\tif (!b)\n\t\treturn \"no weight blob (NULL)\";\n"
		  "\tif ((uintptr_t)b %% %s_WEIGHTS_ALIGN)\n\t\treturn \"misaligned: the blob's address is not a multiple of 64\";\n"
		  "\tif (size < %d)\n\t\treturn \"truncated: shorter than the %d-byte header\";\n"
		  "\tif (memcmp(b, \"%.8s\", 8) != 0)\n\t\treturn \"not an effc weight blob (wrong magic)\";\n"
		  "\tif (le64(b + 8) != (UINT64_C(%d) << 32 | %d))\n\t\treturn \"format version or header size not %d and %d\";\n"
		  "\tif (le64(b + 16) != %s_WEIGHTS_BYTES)\n\t\treturn \"another model's weights (another byte count)\";\n"
		  "\tif (le64(b + 24) != %s_WEIGHTS_HASH)\n\t\treturn \"another model's or compile's weights (another hash of weights and layout)\";\n"
		  "\tif (size < %s_WEIGHTS_SIZE)\n\t\treturn \"truncated: shorter than its header says\";\n"
		  "\treturn NULL;\n}\n\n",
		  EFFC_WEIGHTS_HEADER, effc_weights_magic, N, U, EFFC_WEIGHTS_HEADER, EFFC_WEIGHTS_HEADER, effc_weights_magic,
		  EFFC_WEIGHTS_HEADER, EFFC_WEIGHTS_VERSION, EFFC_WEIGHTS_VERSION, EFFC_WEIGHTS_HEADER, U, U, U);
	sb_printf(s, "int %s_create_with_weights(%s **out, int num_threads, const void *weights, size_t size)\n{\n\tint st;\n", N, N);
	sb_printf(s, "\tif (!out || num_threads < 0 || !weights)\n\t\treturn %s_ERR_ARGS;\n\t*out = NULL;\n", U);
	sb_printf(s, "\tif (%s_check_weights(weights, size))\n\t\treturn %s_ERR_WEIGHTS;\n", N, U);
	/* Through the runtime's hook like every block of a context, so a test's hook sees it all. */
	sb_printf(s, "\t%s *ctx = effc_rt_alloc(64, sizeof *ctx);\n\tif (!ctx)\n\t\treturn %s_ERR_NOMEM;\n"
		     "\tmemset(ctx, 0, sizeof *ctx);\n", N, U);
	sb_printf(s, "\tctx->weights = (const unsigned char *)weights + %d;\n", EFFC_WEIGHTS_HEADER);
	sb_printf(s, "\tCHECK(effc_rt_init(&ctx->rt, num_threads));\n");
	/* XNNPACK may read a few bytes past a tensor's end, hence the slack. */
	sb_printf(s, "\tctx->arena = effc_rt_alloc(64, %s_ARENA_BYTES + 64);\n", U);
	sb_printf(s, "\tif (!ctx->arena) {\n\t\tst = %s_ERR_NOMEM;\n\t\tgoto fail;\n\t}\n", U);
	sb_printf(s, "%s", e->create.buf ? e->create.buf : "");
	if (o->image) {
		const struct effc_tensor *x = &g->t[g->inputs[0]];
		sb_printf(s, "\t{ /* run_image: %s frames to input '%s' %s */\n", pixel_names[o->image], cmt(e->g, x->name),
			  fast ? "as op 0 writes it (NHWC)" : "(NCHW)");
		sb_printf(s, "\t\tstatic const float mean[3] = %s_IMAGE_MEAN, std[3] = %s_IMAGE_STD;\n", U, U);
		sb_printf(s, "\t\tCHECK(effc_rt_image_init(&ctx->image, %s, %s_IMAGE_WIDTH, %s_IMAGE_HEIGHT, %s_IMAGE_SCALE,\n"
			     "\t\t\t\t\t mean, std, %d));\n", pixel_enums[o->image], U, U, U, fast);
		if (!fast) {
			sb_printf(s, "\t\tctx->image_input = effc_rt_alloc(64, %zu);\n", effc_tensor_bytes(x));
			sb_printf(s, "\t\tif (!ctx->image_input) {\n\t\t\tst = %s_ERR_NOMEM;\n\t\t\tgoto fail;\n\t\t}\n", U);
		}
		sb_printf(s, "\t}\n");
	}
	sb_printf(s, "\teffc_rt_init_done(&ctx->rt);\n");
	sb_printf(s, "\t*out = ctx;\n\treturn %s_OK;\nfail:\n\t%s_destroy(ctx);\n\treturn st;\n}\n\n", U, N);
	/* The caller-side blocks are known sizes; the runtime measured its own and XNNPACK's. */
	sb_printf(s, "/* In whole 64-byte lines, as effc_rt_alloc's default requests them. */\n"
		     "#define LINES(n) (((size_t)(n) + 63) / 64 * 64)\n");
	sb_printf(s, "size_t %s_context_bytes(const %s *ctx)\n{\n\tif (!ctx)\n\t\treturn 0;\n"
		     "\treturn LINES(sizeof *ctx) + LINES(%s_ARENA_BYTES + 64) + ctx->rt.created_bytes", N, N, U);
	if (o->image && !fast)
		sb_printf(s, " + LINES(%zu)", effc_tensor_bytes(&g->t[g->inputs[0]]));
	sb_printf(s, ";\n}\n\n");
	if (file)
		sb_printf(s, "int %s_create(%s **out, int num_threads)\n{\n\tif (!out || num_threads < 0)\n\t\treturn %s_ERR_ARGS;\n"
			     "\t*out = NULL;\n\treturn %s_ERR_WEIGHTS; /* compiled with --weights file: none embedded */\n}\n\n",
			  N, N, U, U);
	else
		sb_printf(s, "int %s_create(%s **out, int num_threads)\n{\n"
			     "\treturn %s_create_with_weights(out, num_threads, %s_weights, %s_WEIGHTS_SIZE);\n}\n\n",
			  N, N, N, N, U);
	sb_printf(s, "const char *%s_status_message(int status)\n{\n\tswitch (status) {\n", N);
	sb_printf(s, "\tcase %s_OK:\n\t\treturn \"ok\";\n", U);
	sb_printf(s, "\tcase %s_ERR_ARGS:\n\t\treturn \"a NULL pointer or a bad argument\";\n", U);
	sb_printf(s, "\tcase %s_ERR_NOMEM:\n\t\treturn \"out of memory in create\";\n", U);
	sb_printf(s, "\tcase %s_ERR_BACKEND:\n\t\treturn \"XNNPACK refused an operator (unsupported CPU or parameters)\";\n", U);
	if (file)
		sb_printf(s, "\tcase %s_ERR_WEIGHTS:\n\t\treturn \"the weight blob is not this model's, is truncated or is misaligned \"\n"
			     "\t\t       \"(%s_check_weights says which), or none was given: this build embeds none \"\n"
			     "\t\t       \"(compiled with --weights file; %s_create_with_weights takes %s.weights)\";\n", U, N, N, N);
	else
		sb_printf(s, "\tcase %s_ERR_WEIGHTS:\n\t\treturn \"the weight blob is not this model's, is truncated or is misaligned \"\n"
			     "\t\t       \"(%s_check_weights says which)\";\n", U, N);
	if (o->image) {
		const struct effc_tensor *x = &g->t[g->inputs[0]];
		sb_printf(s, "\tcase %s_ERR_IMAGE:\n\t\treturn \"the frame is not %" PRId64 " x %" PRId64
			     " pixels, or its stride is shorter than a row\";\n", U, x->dims[3], x->dims[2]);
	}
	sb_printf(s, "\tdefault:\n\t\treturn \"unknown status\";\n\t}\n}\n\n");

	/* run, and run_image */
	const char *run = e->run.buf ? e->run.buf : "";
	size_t split = fast ? e->run_split : e->run.len;
	if (fast) {
		sb_printf(s, "/* Ops 1 on and the outputs: op 0 changes the input's layout, which run_image does itself. */\n");
		sb_printf(s, "static int run_rest(%s *ctx, float *const outputs[])\n{\n\tint st;\n%s", N, run + split);
		run_tail(e, s);
	}
	sb_printf(s, "int %s_run(%s *ctx, const float *const inputs[], float *const outputs[])\n{\n\tint st;\n", N, N);
	sb_printf(s, "\tif (!ctx || (!inputs && %s_NUM_INPUTS) || !outputs)\n\t\treturn %s_ERR_ARGS;\n", U, U);
	for (int k = 0; k < g->n_inputs; k++) {
		const struct effc_tensor *t = &g->t[g->inputs[k]];
		sb_printf(s, "\tif (!inputs[%d])\n\t\treturn %s_ERR_ARGS;\n", k, U);
		if (e->bind && e->bind[k] >= 0)
			sb_printf(s, "\tCHECK(effc_rt_bind_input(&ctx->op[%d], inputs[%d])); /* '%s', in place */\n",
				  e->bind[k], k, cmt(e->g, t->name));
		else
			sb_printf(s, "\tmemcpy(A(%zu), inputs[%d], %zu); /* '%s' */\n", t->offset, k,
				  effc_tensor_bytes(t), cmt(e->g, t->name));
	}
	sb_printf(s, "%.*s", (int)split, run);
	if (fast)
		sb_printf(s, "\treturn run_rest(ctx, outputs);\nfail:\n\treturn st;\n}\n\n");
	else
		run_tail(e, s);
	if (o->image) {
		sb_printf(s, "int %s_run_image(%s *ctx, const unsigned char *pixels, int width, int height, size_t stride_bytes,\n"
			     "\t\tfloat *const outputs[])\n{\n", N, N);
		sb_printf(s, "\tif (!ctx || !pixels || !outputs)\n\t\treturn %s_ERR_ARGS;\n", U);
		sb_printf(s, "\tconst size_t row = (size_t)%s_IMAGE_WIDTH * %s_IMAGE_BYTES_PER_PIXEL;\n", U, U);
		sb_printf(s, "\tif (width != %s_IMAGE_WIDTH || height != %s_IMAGE_HEIGHT || (stride_bytes && stride_bytes < row))\n"
			     "\t\treturn %s_ERR_IMAGE;\n", U, U, U);
		if (fast) {
			sb_printf(s, "\t/* Straight into op 0's output, the NHWC tensor the first convolution reads. */\n");
			sb_printf(s, "\tint st = effc_rt_image_convert(&ctx->image, pixels, stride_bytes ? stride_bytes : row, A(%zu));\n",
				  g->t[e->first_to_nhwc].offset);
			sb_printf(s, "\treturn st ? st : run_rest(ctx, outputs);\n}\n\n");
		} else {
			sb_printf(s, "\tint st = effc_rt_image_convert(&ctx->image, pixels, stride_bytes ? stride_bytes : row, ctx->image_input);\n");
			sb_printf(s, "\tconst float *const inputs[1] = {ctx->image_input};\n");
			sb_printf(s, "\treturn st ? st : %s_run(ctx, inputs, outputs);\n}\n\n", N);
		}
	}
	sb_printf(s, "void %s_destroy(%s *ctx)\n{\n\tif (!ctx)\n\t\treturn;\n", N, N);
	sb_printf(s, "\tfor (int i = 0; i < %s_NUM_OPS; i++)\n\t\teffc_rt_op_destroy(&ctx->op[i]);\n", U);
	if (o->image && !fast)
		sb_printf(s, "\tif (ctx->image_input)\n\t\teffc_rt_free(ctx->image_input);\n");
	sb_printf(s, "\tif (ctx->arena)\n\t\teffc_rt_free(ctx->arena);\n\teffc_rt_fini(&ctx->rt);\n"
		     "\teffc_rt_free(ctx);\n}\n");
}

static void make_weights_c(struct emitter *e, struct sb *s)
{
	const char *N = e->o->name;
	banner(e, s, "Weight blob: embeds NAME.weights with the assembler, which is fast for any size.");
	sb_printf(s,
		  "#ifndef %s_WEIGHTS_FILE\n#error \"define %s_WEIGHTS_FILE as the path of %s.weights (the CMakeLists does)\"\n#endif\n",
		  e->upper, e->upper, N);
	sb_printf(s,
		  "#if defined(__APPLE__)\n#define EFFC_SYM \"_%s_weights\"\n#define EFFC_SECTION \".const\"\n"
		  "#else\n#define EFFC_SYM \"%s_weights\"\n#define EFFC_SECTION \".section .rodata\"\n#endif\n",
		  N, N);
	sb_printf(s, "__asm__(EFFC_SECTION \"\\n\"\n\t\".balign 64\\n\"\n\t\".globl \" EFFC_SYM \"\\n\"\n\tEFFC_SYM \":\\n\"\n"
		     "\t\".incbin \\\"\" %s_WEIGHTS_FILE \"\\\"\\n\"\n\t\".byte 0\\n\"\n\t\".text\\n\");\n",
		  e->upper);
}

static void make_runner(struct emitter *e, struct sb *s)
{
	banner(e, s, "Runner: NAME_runner [--weights NAME.weights] [--threads N] [--repeat K] [--create-ms] INPUT.f32... OUTPUT.f32...\n"
		     " * (see runtime/effc_runner.h for all options)");
	sb_printf(s, "#define EFFC_MODEL %s\n#define EFFC_MODEL_UPPER %s\n#include \"%s.h\"\n", e->o->name, e->upper, e->o->name);
	sb_printf(s, "#ifdef %s_DEBUG_TENSORS\n#define EFFC_DEBUG_ENABLED\n#endif\n", e->upper);
	if (e->o->image)
		sb_printf(s, "#define EFFC_IMAGE_ENABLED /* --image FRAME */\n");
	sb_printf(s, "#ifdef %s_PROFILE\n#define EFFC_PROFILE_ENABLED\n#endif\n#include \"effc_runner.h\"\n", e->upper);
}

static void make_cmake(struct emitter *e, struct sb *s)
{
	const char *N = e->o->name;
	sb_printf(s, "# Generated by effc %s, do not edit. Builds lib%s.a and %s_runner.\n", EFFC_VERSION, N, N);
	sb_printf(s, "# Standalone: cmake -S . -B build && cmake --build build; or add_subdirectory() it.\n");
	sb_printf(s, "cmake_minimum_required(VERSION 3.16)\nproject(%s C)\n\n", N);
	sb_printf(s, "if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)\n  set(CMAKE_BUILD_TYPE Release)\nendif()\n\n");
	sb_printf(s,
		  "# The runtime is shared by every model of a build. EFFC_RT_PORTABLE builds it without\n"
		  "# XNNPACK and pthreadpool (plain C kernels, one thread) for targets that lack them.\n"
		  "if(NOT TARGET effc_rt)\n"
		  "  option(EFFC_RT_PORTABLE \"Runtime without XNNPACK: plain C kernels only\" OFF)\n"
		  "  option(EFFC_RT_FORCE_XNNPACK \"Pointwise convolutions on XNNPACK even where our AVX2 kernel runs\" OFF)\n"
		  "  option(EFFC_RT_NO_AVX512 \"Our kernels on their AVX2 paths on CPUs with AVX-512 too\" OFF)\n"
		  "  add_library(effc_rt STATIC runtime/effc_rt.c runtime/effc_rt_kernels.c runtime/effc_rt_gemm.c\n"
		  "    runtime/effc_rt_mbconv.c runtime/effc_rt_image.c runtime/effc_rt_int8.c runtime/effc_rt_int8_pack.c\n"
		  "    runtime/effc_rt_int8_xnn.c)\n"
		  "  set_target_properties(effc_rt PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON POSITION_INDEPENDENT_CODE ON)\n"
		  "  target_include_directories(effc_rt PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/runtime)\n"
		  "  if(EFFC_RT_PORTABLE)\n"
		  "    target_compile_definitions(effc_rt PRIVATE EFFC_RT_PORTABLE)\n"
		  "  else()\n"
		  "    find_path(EFFC_XNNPACK_INCLUDE xnnpack.h REQUIRED)\n"
		  "    find_library(EFFC_XNNPACK_LIB XNNPACK REQUIRED)\n"
		  "    find_library(EFFC_PTHREADPOOL_LIB pthreadpool REQUIRED)\n"
		  "    target_include_directories(effc_rt PRIVATE ${EFFC_XNNPACK_INCLUDE})\n"
		  "    target_link_libraries(effc_rt PUBLIC ${EFFC_XNNPACK_LIB} ${EFFC_PTHREADPOOL_LIB})\n"
		  "  endif()\n"
		  "  if(EFFC_RT_FORCE_XNNPACK)\n    target_compile_definitions(effc_rt PRIVATE EFFC_RT_FORCE_XNNPACK)\n  endif()\n"
		  "  if(EFFC_RT_NO_AVX512)\n    target_compile_definitions(effc_rt PRIVATE EFFC_RT_NO_AVX512)\n  endif()\n"
		  "  if(NOT WIN32 AND NOT APPLE)\n    target_link_libraries(effc_rt PUBLIC -lm) # a flag, not a name a model target could shadow\n  endif()\n"
		  "  # Our kernels select instead of branching; without trapping math the compiler vectorises them.\n"
		  "  set_source_files_properties(runtime/effc_rt_kernels.c runtime/effc_rt_mbconv.c PROPERTIES COMPILE_OPTIONS\n"
		  "    \"$<$<OR:$<C_COMPILER_ID:GNU>,$<C_COMPILER_ID:Clang>,$<C_COMPILER_ID:AppleClang>>:-O3;-fno-trapping-math>\")\n"
		  "endif()\n\n");
	if (e->o->weights == EFFC_WEIGHTS_FILE) {
		sb_printf(s, "# Compiled with --weights file: %s.weights is loaded at run time (%s_runner --weights %s.weights).\n", N, N, N);
		sb_printf(s, "add_library(%s STATIC %s.c)\n", N, N);
	} else {
		sb_printf(s, "add_library(%s STATIC %s.c %s_weights.c)\n", N, N, N);
	}
	sb_printf(s, "set_target_properties(%s PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON POSITION_INDEPENDENT_CODE ON)\n", N);
	sb_printf(s, "target_include_directories(%s PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})\n", N);
	sb_printf(s, "target_link_libraries(%s PUBLIC effc_rt)\n", N);
	if (e->o->weights == EFFC_WEIGHTS_FILE)
		sb_printf(s, "\n");
	else
		sb_printf(s, "set_source_files_properties(%s_weights.c PROPERTIES\n"
			     "  COMPILE_DEFINITIONS \"%s_WEIGHTS_FILE=\\\"${CMAKE_CURRENT_SOURCE_DIR}/%s.weights\\\"\"\n"
			     "  OBJECT_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/%s.weights)\n\n",
			  N, e->upper, N, N);
	sb_printf(s, "option(EFFC_PROFILE \"Time every op of run() (for the benchmark's per-op profile)\" OFF)\n"
		     "if(EFFC_PROFILE)\n  target_compile_definitions(%s PUBLIC %s_PROFILE)\nendif()\n", N, e->upper);
	sb_printf(s, "option(EFFC_DEBUG_TENSORS \"Let run() hand out every intermediate tensor (for effc difftest --layers)\" OFF)\n"
		     "if(EFFC_DEBUG_TENSORS)\n  target_compile_definitions(%s PUBLIC %s_DEBUG_TENSORS)\nendif()\n\n",
		  N, e->upper);
	sb_printf(s, "add_executable(%s_runner %s_runner.c)\n", N, N);
	sb_printf(s, "set_target_properties(%s_runner PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)\n", N);
	sb_printf(s, "target_link_libraries(%s_runner PRIVATE %s)\n", N, N);
}

static enum effc_status write_sb(const char *dir, const char *file, struct sb *s, struct effc_diag *d)
{
	char path[4096];
	if (effc_pathf(path, sizeof path, "%s/%s", dir, file))
		return effc_fail(d, EFFC_ERR_IO, "%s: path too long", dir);
	if (s->oom)
		return effc_fail(d, EFFC_ERR_NOMEM, "%s: out of memory", path);
	return effc_write_file(path, s->buf ? s->buf : "", s->len, d);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

static int write_step(void *user, const void *data, size_t n)
{
	static const unsigned char zeros[4096];
	while (!data && n > sizeof zeros) {
		if (fwrite(zeros, 1, sizeof zeros, user) != sizeof zeros)
			return -1;
		n -= sizeof zeros;
	}
	return fwrite(data ? data : zeros, 1, n, user) == n ? 0 : -1;
}

static enum effc_status write_all(struct emitter *e, const char *dir, struct effc_diag *d)
{
	struct effc_graph *g = e->g;
	const char *N = e->o->name;
	enum effc_status st = EFFC_OK;
	char path[4096], file[512];
	struct sb files[5] = {{0}};
	make_header(e, &files[0]);
	make_source(e, &files[1]);
	if (e->o->weights != EFFC_WEIGHTS_FILE)
		make_weights_c(e, &files[2]);
	make_runner(e, &files[3]);
	make_cmake(e, &files[4]);
	const char *names[5] = {".h", ".c", "_weights.c", "_runner.c", NULL};
	for (int i = 0; i < 5 && !st; i++) {
		if (i == 2 && e->o->weights == EFFC_WEIGHTS_FILE)
			continue; /* nothing to embed */
		if (names[i])
			snprintf(file, sizeof file, "%s%s", N, names[i]);
		else
			snprintf(file, sizeof file, "CMakeLists.txt");
		st = write_sb(dir, file, &files[i], d);
	}
	for (int i = 0; i < 5; i++)
		free(files[i].buf);
	if (st)
		return st;
	/* The blob. */
	if (effc_pathf(path, sizeof path, "%s/%s.weights", dir, N))
		return effc_fail(d, EFFC_ERR_IO, "%s: path too long", dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		return effc_fail(d, EFFC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
	unsigned char header[EFFC_WEIGHTS_HEADER] = {0};
	memcpy(header, effc_weights_magic, sizeof effc_weights_magic);
	put_le64(header + 8, (uint64_t)EFFC_WEIGHTS_HEADER << 32 | EFFC_WEIGHTS_VERSION);
	put_le64(header + 16, g->weights_bytes);
	put_le64(header + 24, e->weights_hash);
	if (fwrite(header, 1, sizeof header, f) != sizeof header || walk_weights(g, write_step, f))
		st = EFFC_ERR_IO;
	if ((fclose(f) != 0) | (st != EFFC_OK))
		return effc_fail(d, EFFC_ERR_IO, "%s: write error: %s", path, strerror(errno));
	/* The runtime sources. */
	if (effc_pathf(path, sizeof path, "%s/runtime", dir))
		return effc_fail(d, EFFC_ERR_IO, "%s: path too long", dir);
	if ((st = effc_mkdir_p(path, d)))
		return st;
	for (size_t i = 0; i < effc_runtime_file_count; i++) {
		if (effc_pathf(path, sizeof path, "%s/runtime/%s", dir, effc_runtime_files[i].name))
			return effc_fail(d, EFFC_ERR_IO, "%s: path too long", dir);
		if ((st = effc_write_file(path, effc_runtime_files[i].data, effc_runtime_files[i].size, d)))
			return st;
	}
	return EFFC_OK;
}

static enum effc_status check_out_dir(const char *dir, struct effc_diag *d);

/* --image-input feeds one frame: the model must take a single float [1, 3, H, W] input. */
static enum effc_status check_image_input(const struct effc_graph *g, const struct effc_emit_options *o,
					  struct effc_diag *d)
{
	if (!o->image)
		return EFFC_OK;
	if (o->image > EFFC_PIXELS_BGRA8)
		return effc_fail(d, EFFC_ERR_INVALID, "--image-input: unknown pixel format %d", (int)o->image);
	if (g->n_inputs != 1)
		return effc_fail(d, EFFC_ERR_INVALID, "%s: --image-input needs a model with one input, this one has %d", g->path,
				 g->n_inputs);
	const struct effc_tensor *x = &g->t[g->inputs[0]];
	if (x->dtype != EFFC_F32 || x->rank != 4 || x->dims[1] != 3 || x->dims[0] != 1)
		return effc_fail(d, EFFC_ERR_INVALID,
				 "%s: --image-input needs a float input of shape [1, 3, H, W] (one RGB frame); input '%s' is %s %s%s",
				 g->path, x->name, x->dtype == EFFC_F32 ? "float" : "int64", effc_shape_str(g->arena, x),
				 x->rank == 4 && x->dims[1] == 3 && x->dims[0] != 1 ? " (one frame: batch 1)" : "");
	for (int c = 0; c < 3; c++)
		if (!isfinite(o->image_mean[c]) || !isfinite(o->image_std[c]) || o->image_std[c] == 0.0f)
			return effc_fail(d, EFFC_ERR_INVALID, "--mean and --std must be finite and --std non-zero");
	if (!isfinite(o->image_scale))
		return effc_fail(d, EFFC_ERR_INVALID, "--scale must be finite");
	return EFFC_OK;
}

/* Mirrors emit_op's choices and the runtime's create functions (effc_rt.c: the begin() kinds
 * that run an effc_rt_ref_* function): what `effc compile` warns about, since a scalar kernel
 * on a hot path costs far more than its share of the MACs. */
const char *effc_node_ref_kernel(const struct effc_graph *g, const struct effc_node *n)
{
	if (n->dead || effc_node_is_alias(g, n))
		return NULL;
	const struct effc_attrs *a = &n->a;
	const struct effc_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];
	switch (n->op) {
	case EFFC_OP_CONV:
		/* conv1x1 and dwconv are ours; conv2d_create takes NCHW to the reference */
		return a->packed != 1 && !(n->n_out > 1 && n->out[1] >= 0) && y->layout != EFFC_LAYOUT_NHWC
			       ? "effc_rt_ref_conv2d"
			       : NULL;
	case EFFC_OP_CLIP: {
		int lo = n->n_in > 1 ? n->in[1] : -1, hi = n->n_in > 2 ? n->in[2] : -1;
		int dyn = (lo >= 0 && !g->t[lo].data) || (hi >= 0 && !g->t[hi].data) || !(a->clip_min < a->clip_max);
		return dyn ? "effc_rt_ref_unary" : NULL;
	}
	case EFFC_OP_GEMM: /* what lower did not make a FullyConnected */
	case EFFC_OP_MATMUL:
		return "effc_rt_ref_matmul";
	case EFFC_OP_BATCHNORM:
		return "effc_rt_ref_channel_affine";
	case EFFC_OP_GLOBALAVGPOOL:
	case EFFC_OP_REDUCEMEAN:
		return x->layout == EFFC_LAYOUT_NHWC ? NULL : "effc_rt_ref_reduce_mean";
	case EFFC_OP_SOFTMAX:
		return "effc_rt_ref_softmax";
	case EFFC_OP_TRANSPOSE:
		return "effc_rt_ref_transpose";
	case EFFC_OP_PAD:
		return "effc_rt_ref_pad";
	default:
		return NULL;
	}
}

enum effc_status effc_emit(struct effc_graph *g, const struct effc_emit_options *o, struct effc_diag *d)
{
	struct emitter e = {.g = g, .o = o, .first_to_nhwc = -1, .dw_out = -1, .dw_q8 = -1};
	enum effc_status st = EFFC_OK;
	if (!effc_c_ident_ok(o->name) || strlen(o->name) > 64)
		return effc_fail(d, EFFC_ERR_INVALID, "model name '%s' is not a C identifier of at most 64 characters", o->name);
	if ((st = check_image_input(g, o, d)))
		return st;
	for (size_t i = 0; o->name[i]; i++)
		e.upper[i] = (char)(o->name[i] >= 'a' && o->name[i] <= 'z' ? o->name[i] - 32 : o->name[i]);
	st = check_out_dir(o->out_dir, d);
	e.bind = effc_arena_alloc(g->arena, sizeof(int) * (size_t)(g->n_inputs + 1));
	if (!st && !e.bind)
		st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory emitting code");
	for (int k = 0; e.bind && k < g->n_inputs; k++)
		e.bind[k] = -1;
	for (int i = 0; i < g->n_n && !st; i++)
		if (!g->n[i].dead)
			st = emit_op(&e, &g->n[i], d);
	if (!st && (e.create.oom || e.run.oom || e.debug.oom))
		st = effc_fail(d, EFFC_ERR_NOMEM, "out of memory emitting code");
	e.weights_hash = weights_hash(&e);
	/* Write into a temporary sibling, then swap it in: DIR is never half written. */
	char tmp[4096], old[4096];
	size_t len = strlen(o->out_dir);
	while (len > 1 && o->out_dir[len - 1] == '/')
		len--;
	if (!st && len + 32 >= sizeof tmp)
		st = effc_fail(d, EFFC_ERR_IO, "%s: path too long", o->out_dir);
	if (!st) {
		/* The parent must exist for the temporary sibling. */
		snprintf(tmp, sizeof tmp, "%.*s", (int)len, o->out_dir);
		char *slash = strrchr(tmp, '/');
		if (slash && slash != tmp) {
			*slash = 0;
			st = effc_mkdir_p(tmp, d);
		}
	}
	if (!st) {
		snprintf(tmp, sizeof tmp, "%.*s.effc-tmp-XXXXXX", (int)len, o->out_dir);
		if (!mkdtemp(tmp))
			st = effc_fail(d, EFFC_ERR_IO, "%s: cannot create a temporary directory next to it: %s", tmp, strerror(errno));
		else if ((st = write_all(&e, tmp, d)))
			effc_rm_rf(tmp);
	}
	free(e.create.buf);
	free(e.run.buf);
	free(e.debug.buf);
	free(e.classes.buf);
	if (st)
		return st;
	chmod(tmp, 0755);
	struct stat sst;
	snprintf(old, sizeof old, "%.*s", (int)len, o->out_dir);
	if (stat(old, &sst) != 0) {
		if (rename(tmp, o->out_dir) != 0) {
			int err = errno;
			effc_rm_rf(tmp);
			return effc_fail(d, EFFC_ERR_IO, "%s: cannot move the output into place: %s", o->out_dir, strerror(err));
		}
		return EFFC_OK;
	}
	/* Swap: move DIR aside, carry its build tree over (so rebuilding stays incremental), move
	 * the new one in; any failure puts everything back as it was. */
	char b_old[4200], b_new[4200];
	snprintf(old, sizeof old, "%.*s.effc-old-XXXXXX", (int)len, o->out_dir);
	if (!mkdtemp(old) || rmdir(old) != 0 || rename(o->out_dir, old) != 0) {
		int err = errno;
		effc_rm_rf(tmp);
		return effc_fail(d, EFFC_ERR_IO, "%s: cannot replace the existing directory: %s", o->out_dir, strerror(err));
	}
	snprintf(b_old, sizeof b_old, "%s/build", old);
	snprintf(b_new, sizeof b_new, "%s/build", tmp);
	int moved = stat(b_old, &sst) == 0 && S_ISDIR(sst.st_mode) && rename(b_old, b_new) == 0;
	if (rename(tmp, o->out_dir) != 0) {
		int err = errno;
		if (moved)
			(void)rename(b_new, b_old);
		(void)rename(old, o->out_dir);
		effc_rm_rf(tmp);
		return effc_fail(d, EFFC_ERR_IO, "%s: cannot move the new output into place: %s", o->out_dir, strerror(err));
	}
	effc_rm_rf(old);
	return EFFC_OK;
}

/* DIR must be new, empty, or an earlier effc output: effc never deletes anything else. */
static enum effc_status check_out_dir(const char *dir, struct effc_diag *d)
{
	const char *base = strrchr(dir, '/');
	base = base ? base + 1 : dir;
	if (!*dir || !strcmp(base, ".") || !strcmp(base, "..") || !strcmp(dir, "/"))
		return effc_fail(d, EFFC_ERR_IO, "'%s': choose a new directory name for -o", dir);
	struct stat st;
	if (stat(dir, &st) != 0)
		return EFFC_OK;
	if (!S_ISDIR(st.st_mode))
		return effc_fail(d, EFFC_ERR_IO, "%s: exists and is not a directory", dir);
	char path[4200];
	if (effc_pathf(path, sizeof path, "%s/CMakeLists.txt", dir))
		return effc_fail(d, EFFC_ERR_IO, "%s: path too long", dir);
	FILE *f = fopen(path, "r");
	char line[64] = "";
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = 0;
		fclose(f);
		if (!strncmp(line, "# Generated by effc", 19))
			return EFFC_OK;
	}
	DIR *dd = opendir(dir);
	int empty = 1;
	for (struct dirent *e; dd && (e = readdir(dd));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	if (dd)
		closedir(dd);
	if (!empty)
		return effc_fail(d, EFFC_ERR_IO, "%s: exists and is not an effc output directory; remove it or choose another -o", dir);
	return EFFC_OK;
}
