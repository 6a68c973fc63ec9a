/* pipeline.c: the order of the passes, in one place.
 *
 *   lower-qdq (quantized models only) -> cleanup -> fold-constants -> fold-input-norm -> fold-pad -> fold-bn -> fuse-swish
 *   -> fuse-se -> dce -> layout -> lower-int8 (quantized models only) -> fuse-residual -> lower -> fuse-mbconv -> fuse-conv-proj
 *   -> fuse-se-scale (then the memory plan, with in-place if enabled)
 *
 * Every pass but layout and lower can be switched off (--no-<flag>); -O0 switches them all off
 * and still gives correct code. BN folding precedes activation fusion (Conv -> BN -> Swish must
 * become Conv+Swish), and activation fusion precedes SE fusion (whose inner Swish it places on
 * the first 1x1 conv). */
#include "effc.h"

#include <string.h>

typedef enum effc_status (*pass_fn)(struct effc_graph *, struct effc_diag *);

static const struct {
	enum effc_pass_id id;
	const char *flag;
	pass_fn fn;
	const char *what;
} passes[] = {
	{EFFC_PASS_CLEANUP, "cleanup", effc_pass_cleanup, "Identity/Dropout removed"},
	{EFFC_PASS_FOLD_CONSTANTS, "fold-constants", effc_pass_fold_constants, "nodes evaluated at compile time"},
	{EFFC_PASS_FOLD_INPUT_NORM, "fold-input-norm", effc_pass_fold_input_norm, "normalisations folded into convs"},
	{EFFC_PASS_FOLD_PAD, "fold-pad", effc_pass_fold_pad, "Pads folded into convs"},
	{EFFC_PASS_FOLD_BN, "fold-bn", effc_pass_fold_bn, "BatchNormalizations folded or made scale+bias"},
	{EFFC_PASS_FUSE_SWISH, "fuse-swish", effc_pass_fuse_activation, "activations fused"},
	{EFFC_PASS_FUSE_SE, "fuse-se", effc_pass_fuse_se, "squeeze-excitation blocks fused"},
	{EFFC_PASS_DCE, "dce", effc_pass_dce, "dead nodes removed"},
	{EFFC_PASS_FUSE_RESIDUAL, "fuse-residual", effc_pass_fuse_residual, "residual adds fused into 1x1 convs"},
	{EFFC_PASS_FUSE_MBCONV, "fuse-mbconv", effc_pass_fuse_mbconv, "expansion + depthwise convs fused"},
	{EFFC_PASS_FUSE_MBCONV_PROJECT, "fuse-mbconv-proj", effc_pass_fuse_mbconv_project,
	 "MBConv blocks without SE fused with their projection"},
	{EFFC_PASS_FUSE_CONV_PROJECT, "fuse-conv-proj", effc_pass_fuse_conv_project,
	 "Fused-MBConv expansion + projection convs fused"},
	{EFFC_PASS_FUSE_SE_SCALE, "fuse-se-scale", effc_pass_fuse_se_scale, "SE scales applied in the next 1x1 conv"},
	{EFFC_PASS_INPLACE, "inplace", NULL, "in-place execution in the memory plan"},
};

const char *effc_pass_flag(enum effc_pass_id p)
{
	for (size_t i = 0; i < sizeof passes / sizeof *passes; i++)
		if (passes[i].id == p)
			return passes[i].flag;
	return "?";
}

void effc_pipeline_set_level(struct effc_pipeline_options *o, int level)
{
	for (int i = 0; i < EFFC_PASS_COUNT; i++)
		o->disabled[i] = level == 0;
}

static int live_nodes(const struct effc_graph *g)
{
	int n = 0;
	for (int i = 0; i < g->n_n; i++)
		n += !g->n[i].dead && !effc_node_is_alias(g, &g->n[i]);
	return n;
}

enum effc_status effc_pipeline_run(struct effc_graph *g, const struct effc_pipeline_options *o, char *report,
				   size_t report_cap, struct effc_diag *d)
{
	size_t k = report ? strlen(report) : 0;
	enum effc_status st;
	/* Always, first: the other passes know no QuantizeLinear or DequantizeLinear. */
	g->rewrites = 0;
	if ((st = effc_pass_lower_qdq(g, d)))
		return st;
	if (g->rewrites && report && k < report_cap)
		k += (size_t)snprintf(report + k, report_cap - k,
				      "  %-16s %d quantization nodes lowered into quantize/dequantize pairs on float tensors "
				      "(lower-int8 below makes int8 ops of them)\n",
				      "lower-qdq", g->rewrites);
	for (size_t i = 0; i < sizeof passes / sizeof *passes; i++) {
		if (!passes[i].fn || passes[i].id == EFFC_PASS_FUSE_RESIDUAL || passes[i].id == EFFC_PASS_FUSE_MBCONV ||
		    passes[i].id == EFFC_PASS_FUSE_CONV_PROJECT || passes[i].id == EFFC_PASS_FUSE_MBCONV_PROJECT ||
		    passes[i].id == EFFC_PASS_FUSE_SE_SCALE)
			continue; /* they run after layout and lowering, below */
		if (o->disabled[passes[i].id]) {
			if (report && k < report_cap)
				k += (size_t)snprintf(report + k, report_cap - k, "  %-16s off\n", passes[i].flag);
			continue;
		}
		g->rewrites = 0;
		if ((st = passes[i].fn(g, d)))
			return st;
		if (report && k < report_cap)
			k += (size_t)snprintf(report + k, report_cap - k, "  %-16s %d %s\n", passes[i].flag, g->rewrites,
					      passes[i].what);
	}
	g->inplace = !o->disabled[EFFC_PASS_INPLACE];
	g->mbconv_proj = !o->disabled[EFFC_PASS_FUSE_MBCONV] && !o->disabled[EFFC_PASS_FUSE_MBCONV_PROJECT];
	if ((st = effc_pass_layout(g, d)))
		return st;
	/* Always, on a quantized model: its ops on int8 tensors, before lower packs float weights. */
	for (int i = 0; i < g->n_n; i++)
		if (!g->n[i].dead && g->n[i].op == EFFC_OP_FAKE_QUANT) {
			if (report && k < report_cap)
				k += (size_t)snprintf(report + k, report_cap - k, "  %-16s int8 ops from the quantize/dequantize pairs\n",
						      "lower-int8");
			if ((st = effc_pass_lower_int8(g, report, report_cap, d)))
				return st;
			k = report ? strlen(report) : 0;
			break;
		}
	g->rewrites = 0;
	if (!o->disabled[EFFC_PASS_FUSE_RESIDUAL] && (st = effc_pass_fuse_residual(g, d)))
		return st;
	if (report && k < report_cap)
		k += (size_t)snprintf(report + k, report_cap - k, o->disabled[EFFC_PASS_FUSE_RESIDUAL] ? "  %-16s off\n" : "  %-16s %d residual adds fused into 1x1 convs\n",
				      "fuse-residual", g->rewrites);
	if ((st = effc_pass_lower(g, d)))
		return st;
	g->rewrites = 0;
	if (!o->disabled[EFFC_PASS_FUSE_MBCONV] && (st = effc_pass_fuse_mbconv(g, d)))
		return st;
	if (report && k < report_cap)
		k += (size_t)snprintf(report + k, report_cap - k, o->disabled[EFFC_PASS_FUSE_MBCONV] ? "  %-16s off\n" : "  %-16s %d expansion + depthwise convs fused\n",
				      "fuse-mbconv", g->rewrites);
	g->rewrites = 0;
	if (!o->disabled[EFFC_PASS_FUSE_MBCONV] && !o->disabled[EFFC_PASS_FUSE_MBCONV_PROJECT] &&
	    (st = effc_pass_fuse_mbconv_project(g, d)))
		return st;
	if (report && k < report_cap)
		k += (size_t)snprintf(report + k, report_cap - k,
				      o->disabled[EFFC_PASS_FUSE_MBCONV] || o->disabled[EFFC_PASS_FUSE_MBCONV_PROJECT]
					      ? "  %-16s off\n"
					      : "  %-16s %d MBConv blocks without SE fused with their projection\n",
				      "fuse-mbconv-proj", g->rewrites);
	g->rewrites = 0;
	if (!o->disabled[EFFC_PASS_FUSE_CONV_PROJECT] && (st = effc_pass_fuse_conv_project(g, d)))
		return st;
	if (report && k < report_cap)
		k += (size_t)snprintf(report + k, report_cap - k, o->disabled[EFFC_PASS_FUSE_CONV_PROJECT] ? "  %-16s off\n" : "  %-16s %d Fused-MBConv expansion + projection convs fused\n",
				      "fuse-conv-proj", g->rewrites);
	g->rewrites = 0;
	if (!o->disabled[EFFC_PASS_FUSE_SE_SCALE] && (st = effc_pass_fuse_se_scale(g, d)))
		return st;
	if (report && k < report_cap)
		k += (size_t)snprintf(report + k, report_cap - k, o->disabled[EFFC_PASS_FUSE_SE_SCALE] ? "  %-16s off\n" : "  %-16s %d SE scales applied in the next 1x1 conv\n",
				      "fuse-se-scale", g->rewrites);
	if (report && k < report_cap)
		snprintf(report + k, report_cap - k, "  %d ops after layout and lowering\n", live_nodes(g));
	return EFFC_OK;
}
