/* main.c: the effc command line. Parses flags, runs the pipeline (load -> shape inference ->
 * passes -> memory plan -> emit) and alone decides exit codes: 0 success, 1 a model, file or
 * tool error (the message names file, node and op), 2 a usage error. */
#define _POSIX_C_SOURCE 200809L
#include "effc.h"
#include "driver.h"
#include "quantize.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: effc <command> [options]\n"
	"\n"
	"commands:\n"
	"  compile MODEL.onnx -o DIR [--name NAME] [C output options] [common options]\n"
	"      write DIR/NAME.{h,c,weights}, NAME_weights.c (not with --weights file), NAME_runner.c, runtime/\n"
	"      and CMakeLists.txt\n"
	"  inspect MODEL.onnx [--json] [common options]\n"
	"      op counts, tensor shapes, parameters and multiply-accumulates of the graph as emitted\n"
	"  difftest MODEL.onnx [--seeds N] [--threads T] [--tol X] [--min-sensitivity S] [--min-rel-sensitivity F]\n"
	"           [--bench K]\n"
	"           [--layers] [--force-xnnpack | --portable | --no-avx512] [--work DIR] [--keep]\n"
	"           [--prebuilt-runtime DIR] [--ref-cache DIR] [common options]\n"
	"      compile, build, run the generated code and ONNX Runtime on N seeded random inputs, compare;\n"
	"      --prebuilt-runtime links a runtime built before (DIR/effc_rt-CONFIG.cmake, as an effc\n"
	"      build tree's runtime-exports/ holds), --ref-cache reuses ONNX Runtime's outputs from DIR\n"
	"  gen (--variant b0..b7|v2-s|v2-m|v2-l | --phi F [--alpha A --beta B --gamma G]) [--width W] [--depth D]\n"
	"      [--resolution R] [--classes N] [--seed S] (-o MODEL.onnx | --emit-c DIR [--name NAME] [C output options])\n"
	"      build an EfficientNet from the compound-scaling coefficients, as ONNX or straight to C;\n"
	"      --int8 [--calib-random N] with -o: calibrated and quantized into a QDQ model (effc quantize)\n"
	"  scale [--phi A:B:STEP | --variants b0..b7|v2-s..v2-l] [--bench] [--threads N] [--csv FILE] [--svg FILE]\n"
	"      the family's dimensions, parameters, MACs and (with --bench) measured latency\n"
	"  fit --budget-ms X [--family v1|v2] [--threads N] [--step S] [--max-phi P] [-o MODEL.onnx | --emit-c DIR]\n"
	"      the largest phi (v2: variant, then resolution) whose generated code meets the latency budget here\n"
	"  quantize MODEL.onnx -o OUT.onnx (--calib IN.f32 ... | --calib-random N [--seed S]) [--method minmax|percentile|mse]\n"
	"      [--per-tensor] [--activations int8|uint8] [--float-nodes NAME,...] [--target-sqnr DB] [--eval IN.f32 ...]\n"
	"      post-training int8 quantization into a QDQ model ONNX Runtime runs; prints SQNR and top-1 against float\n"
	"  --version, help\n";

/* `effc help [COMMAND]`: the usage lines of one command (with the common options), or all. */
static int help(const char *command)
{
	if (!command) {
		fputs(usage_text, stdout);
		fputs(effc_emit_usage, stdout);
		fputs(effc_common_usage, stdout);
		return 0;
	}
	char key[64];
	snprintf(key, sizeof key, "  %s ", command);
	const char *p = strstr(usage_text, key);
	if (!p || strlen(command) > 32) {
		fprintf(stderr, "effc: help: no command '%s' (commands: compile inspect difftest gen scale fit quantize)\n",
			command);
		return 2;
	}
	/* The entry runs until the next line that starts a command (two spaces and a letter). */
	const char *end = p + 1;
	while ((end = strchr(end, '\n')) && end[1] == ' ' && end[2] == ' ' && (end[3] == ' ' || end[3] == '['))
		end++;
	printf("usage: effc%.*s\n", end ? (int)(end - p - 1) : (int)strlen(p), p + 1);
	if (!strcmp(command, "compile") || !strcmp(command, "gen"))
		fputs(effc_emit_usage, stdout);
	/* quantize takes no pass switches: it folds BatchNorm and fuses nothing */
	if (!strcmp(command, "quantize"))
		fputs("common options: --max-weights-mb N (refuse models with more initializer data, default 4096)\n", stdout);
	else
		fputs(effc_common_usage, stdout);
	return 0;
}

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "effc: %s\n", msg);
	fputs(usage_text, stderr);
	fputs(effc_emit_usage, stderr);
	fputs(effc_common_usage, stderr);
	return 2;
}

void effc_progress(const struct effc_common_options *c, const char *fmt, ...)
{
	/* Long steps say what they are doing on a terminal (or with --verbose), never in logs. */
	if (!c->verbose && !isatty(STDERR_FILENO))
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("effc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int effc_report(const struct effc_diag *d)
{
	fprintf(stderr, "effc: %s\n", d->msg);
	return 1;
}

const char effc_common_usage[] =
	"common options: --batch N (symbolic batch, default 1), -O0 (no optimisation) | -O1 (default),\n"
	"  --no-cleanup --no-fold-constants --no-fold-input-norm --no-fold-pad --no-fold-bn --no-fuse-swish\n"
	"  --no-fuse-se --no-dce --no-fuse-residual --no-fuse-mbconv --no-fuse-mbconv-proj\n"
	"  --no-fuse-conv-proj --no-fuse-se-scale\n"
	"  --no-inplace (one pass off), --verbose,\n"
	"  --max-weights-mb N (refuse models with more initializer data, default 4096)\n";

void effc_common_init(struct effc_common_options *c)
{
	memset(c, 0, sizeof *c);
	c->batch = 1;
	c->max_weight_bytes = (uint64_t)4 << 30;
	effc_pipeline_set_level(&c->pipeline, 1);
}

int effc_common_parse(struct effc_common_options *c, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	if (!strcmp(a, "-O0") || !strcmp(a, "-O1")) {
		effc_pipeline_set_level(&c->pipeline, a[2] - '0');
		return 1;
	}
	if (!strcmp(a, "--verbose")) {
		c->verbose = 1;
		return 1;
	}
	if (!strncmp(a, "--no-", 5)) {
		for (int p = 0; p < EFFC_PASS_COUNT; p++)
			if (!strcmp(a + 5, effc_pass_flag((enum effc_pass_id)p))) {
				c->pipeline.disabled[p] = 1;
				return 1;
			}
		return 0;
	}
	if (!strcmp(a, "--batch")) {
		char *end;
		if (*i + 1 >= argc)
			return -1;
		long long v = strtoll(argv[++*i], &end, 10);
		if (*end || end == argv[*i] || v < 1 || v > 65536)
			return -1;
		c->batch = v;
		return 1;
	}
	if (!strcmp(a, "--max-weights-mb")) {
		char *end;
		if (*i + 1 >= argc)
			return -1;
		long long v = strtoll(argv[++*i], &end, 10);
		if (*end || end == argv[*i] || v < 1 || v > ((long long)1 << 40))
			return -1;
		c->max_weight_bytes = (uint64_t)v << 20;
		return 1;
	}
	if (!strcmp(a, "--perturb-initializer")) {
		if (*i + 1 >= argc)
			return -1;
		c->perturb = argv[++*i];
		return 1;
	}
	return 0;
}

const char effc_emit_usage[] =
	"C output options: --weights embed|file (file: NAME.weights is loaded at run time and handed to\n"
	"  NAME_create_with_weights instead of being linked in; default embed),\n"
	"  --image-input rgb8|rgba8|bgr8|bgra8 (adds NAME_run_image for 8-bit frames of the input's size)\n"
	"  with --scale S --mean R,G,B --std R,G,B: the model reads (byte * S - mean) / std\n"
	"  (default S 1/255, mean 0, std 1; numbers may be written A/B, e.g. --scale 1/127.5)\n";

void effc_emit_cli_init(struct effc_emit_options *o)
{
	memset(o, 0, sizeof *o);
	o->image_scale = 1.0f / 255.0f;
	for (int c = 0; c < 3; c++)
		o->image_std[c] = 1.0f;
}

/* A finite number, or A/B; advances *s past it. */
static int parse_number(const char **s, float *v)
{
	char *end;
	double x = strtod(*s, &end);
	if (end == *s)
		return -1;
	if (*end == '/') {
		const char *b = end + 1;
		double y = strtod(b, &end);
		if (end == b || y == 0)
			return -1;
		x /= y;
	}
	if (!isfinite(x) || !isfinite((float)x))
		return -1;
	*v = (float)x;
	*s = end;
	return 0;
}

int effc_emit_cli_parse(struct effc_emit_options *o, int argc, char **argv, int *i, int *image_opts)
{
	static const char *const formats[] = {[EFFC_PIXELS_RGB8] = "rgb8", [EFFC_PIXELS_RGBA8] = "rgba8",
					      [EFFC_PIXELS_BGR8] = "bgr8", [EFFC_PIXELS_BGRA8] = "bgra8"};
	const char *a = argv[*i];
	int w = !strcmp(a, "--weights"), im = !strcmp(a, "--image-input"), mean = !strcmp(a, "--mean"),
	    std = !strcmp(a, "--std"), scale = !strcmp(a, "--scale");
	if (!(w || im || mean || std || scale))
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "effc: %s needs a value\n", a);
		return -1;
	}
	const char *v = argv[++*i];
	if (w) {
		if (strcmp(v, "embed") && strcmp(v, "file")) {
			fprintf(stderr, "effc: --weights '%s': give embed or file\n", v);
			return -1;
		}
		o->weights = !strcmp(v, "file") ? EFFC_WEIGHTS_FILE : EFFC_WEIGHTS_EMBED;
		return 1;
	}
	if (im) {
		for (int f = EFFC_PIXELS_RGB8; f <= EFFC_PIXELS_BGRA8; f++)
			if (!strcmp(v, formats[f])) {
				o->image = (enum effc_pixel_format)f;
				return 1;
			}
		fprintf(stderr, "effc: --image-input '%s': give rgb8, rgba8, bgr8 or bgra8\n", v);
		return -1;
	}
	*image_opts = 1;
	if (scale) {
		const char *p = v;
		if (parse_number(&p, &o->image_scale) || *p) {
			fprintf(stderr, "effc: --scale '%s': give a finite number such as 0.00392 or 1/255\n", v);
			return -1;
		}
		return 1;
	}
	float *dst = mean ? o->image_mean : o->image_std, tmp[3];
	const char *p = v;
	for (int c = 0; c < 3; c++) {
		if (parse_number(&p, &tmp[c]) || *p != (c < 2 ? ',' : 0) || (std && tmp[c] == 0.0f)) {
			fprintf(stderr, "effc: %s '%s': give three finite numbers R,G,B%s\n", a, v, std ? ", none of them 0" : "");
			return -1;
		}
		p += c < 2;
	}
	memcpy(dst, tmp, sizeof tmp);
	return 1;
}

int effc_emit_cli_check(const struct effc_emit_options *o, int image_opts)
{
	if (image_opts && !o->image) {
		fprintf(stderr, "effc: --mean, --std and --scale describe --image-input's conversion: give --image-input too\n");
		return -1;
	}
	return 0;
}

enum effc_status effc_build_graph(const char *path, const struct effc_common_options *c, struct effc_arena *arena,
				  struct effc_graph **out, char *report, size_t report_cap, struct effc_diag *d)
{
	struct effc_graph *g = effc_graph_new(arena, path);
	if (!g)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	struct effc_load_options lo = {.batch = c->batch, .max_weight_bytes = c->max_weight_bytes};
	enum effc_status st;
	struct stat sb;
	if (stat(path, &sb) == 0 && sb.st_size > (64 << 20))
		effc_progress(c, "loading %s (%lld MB)", path, (long long)(sb.st_size >> 20));
	if ((st = effc_load_onnx(g, path, &lo, d)))
		return st;
	if (c->perturb) {
		/* Testing aid for difftest --layers: a wrong weight that only effc's copy has. */
		int t = effc_graph_find_tensor(g, c->perturb);
		if (t < 0 || !g->t[t].data || g->t[t].dtype != EFFC_F32)
			return effc_fail(d, EFFC_ERR_INVALID, "%s: --perturb-initializer: no float initializer '%s'", path,
					 c->perturb);
		float *w = g->t[t].data;
		for (int64_t i = 0; i < effc_tensor_numel(&g->t[t]); i++)
			w[i] = w[i] * 1.5f + 0.05f;
	}
	if ((st = effc_optimize_graph(g, c, report, report_cap, d)))
		return st;
	*out = g;
	return EFFC_OK;
}

enum effc_status effc_optimize_graph(struct effc_graph *g, const struct effc_common_options *c, char *report,
				     size_t report_cap, struct effc_diag *d)
{
	enum effc_status st;
	if (report)
		report[0] = 0;
	if ((st = effc_infer_shapes(g, d)) || (st = effc_pipeline_run(g, &c->pipeline, report, report_cap, d)) ||
	    (st = effc_plan_memory(g, d)))
		return st;
	return EFFC_OK;
}

/* Default model name: the file's base name made into a C identifier. */
static const char *default_name(struct effc_arena *a, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char *s = effc_arena_printf(a, "%s%s", (*base >= '0' && *base <= '9') ? "m_" : "", base);
	if (!s)
		return "model";
	char *dot = strrchr(s, '.');
	if (dot && dot != s)
		*dot = 0;
	for (char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '_';
	return *s ? s : "model";
}

static int cmd_compile(int argc, char **argv, const char *cmdline)
{
	const char *model = NULL, *out = NULL, *name = NULL;
	struct effc_common_options co;
	struct effc_emit_options eo;
	int image_opts = 0;
	effc_common_init(&co);
	effc_emit_cli_init(&eo);
	for (int i = 0; i < argc; i++) {
		int r = effc_common_parse(&co, argc, argv, &i);
		if (r < 0)
			return usage("bad value for --batch (1..65536) or missing value");
		if (!r && (r = effc_emit_cli_parse(&eo, argc, argv, &i, &image_opts)) < 0)
			return usage(NULL);
		if (r)
			continue;
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1])
			return usage("compile: unknown option");
		else if (!model)
			model = argv[i];
		else
			return usage("compile: more than one model given");
	}
	if (!model || !out || !*out)
		return usage("compile needs MODEL.onnx and -o DIR");
	if (effc_emit_cli_check(&eo, image_opts))
		return usage(NULL);
	struct effc_arena *arena = effc_arena_new();
	if (!arena)
		return fprintf(stderr, "effc: out of memory\n"), 1;
	struct effc_diag d = {{0}, EFFC_OK};
	struct effc_graph *g = NULL;
	if (!name)
		name = default_name(arena, model);
	int rc = 0;
	if (!effc_c_ident_ok(name)) {
		effc_arena_free(arena);
		return usage("--name must be a C identifier");
	}
	char report[4096];
	eo.name = name, eo.out_dir = out, eo.cmdline = cmdline;
	if (effc_build_graph(model, &co, arena, &g, report, sizeof report, &d) ||
	    (effc_progress(&co, "writing %s", out), effc_emit(g, &eo, &d))) {
		rc = effc_report(&d);
	} else {
		struct effc_stats s;
		effc_graph_stats(g, &s);
		int ops = 0;
		for (int i = 0; i < EFFC_OP_COUNT; i++)
			ops += s.op_count[i];
		printf("effc: %s -> %s/%s.c\n", model, out, name);
		printf("%s", report);
		printf("  nodes %d -> ops %d; %" PRId64 " parameters, %" PRId64 " MACs; arena %zu bytes (peak live %zu), "
		       "weights %zu bytes\n",
		       g->onnx_nodes, ops, s.params, s.macs, g->arena_bytes, g->peak_live_bytes, g->weights_bytes);
		/* What an application budgets; code and per-context runtime memory need a build and a
		 * create, which effc difftest and the runner's --memory measure. */
		printf("  read-only: %s.weights %zu bytes + code (measured after a build: effc difftest)\n"
		       "  per context: arena %zu bytes + runtime buffers "
		       "(measured at create: %s_context_bytes, runner --memory)\n",
		       name, effc_weights_file_bytes(g), g->arena_bytes, name);
		/* Say so when an op will run on a scalar single-threaded reference kernel: one such op
		 * on a hot path (MobileNetV3's 21 HardSigmoids were 10% of its time) is easy to miss. */
		int n_ref = 0;
		for (int i = 0; i < g->n_n; i++) {
			const struct effc_node *n = &g->n[i];
			const char *k = effc_node_ref_kernel(g, n);
			if (k && n_ref++ < 20)
				fprintf(stderr, "effc: warning: node '%s' (%s) runs on the scalar reference kernel %s\n", n->name,
					effc_op_name(n->op), k);
		}
		if (n_ref > 20)
			fprintf(stderr, "effc: warning: ... and %d more nodes on reference kernels\n", n_ref - 20);
		if (n_ref)
			fprintf(stderr, "effc: warning: %d node%s on scalar reference kernels (slow; see above)\n", n_ref,
				n_ref == 1 ? "" : "s");
	}
	effc_arena_free(arena);
	return rc;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 32)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static int cmd_inspect(int argc, char **argv)
{
	const char *model = NULL;
	int json = 0;
	struct effc_common_options co;
	effc_common_init(&co);
	for (int i = 0; i < argc; i++) {
		int r = effc_common_parse(&co, argc, argv, &i);
		if (r < 0)
			return usage("bad value for --batch (1..65536) or missing value");
		if (r)
			continue;
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] == '-' && argv[i][1])
			return usage("inspect: unknown option");
		else if (!model)
			model = argv[i];
		else
			return usage("inspect: more than one model given");
	}
	if (!model)
		return usage("inspect needs MODEL.onnx");
	struct effc_arena *arena = effc_arena_new();
	struct effc_diag d = {{0}, EFFC_OK};
	struct effc_graph *g = NULL;
	char report[4096];
	if (!arena)
		return fprintf(stderr, "effc: out of memory\n"), 1;
	if (effc_build_graph(model, &co, arena, &g, report, sizeof report, &d)) {
		effc_arena_free(arena);
		return effc_report(&d);
	}
	if (co.verbose && !json)
		printf("passes:\n%s", report);
	struct effc_stats s;
	effc_graph_stats(g, &s);
	if (json) {
		printf("{\"model\": ");
		json_str(model);
		printf(", \"producer\": ");
		json_str(g->producer ? g->producer : "");
		printf(", \"opset\": %d, \"params\": %" PRId64 ", \"macs\": %" PRId64 ", \"arena_bytes\": %zu, "
		       "\"peak_live_bytes\": %zu, \"weights_bytes\": %zu, \"weights_file_bytes\": %zu, "
		       "\"int8_ops\": %d, \"float_ops\": %d, \"weights_int8_bytes\": %zu, \"weights_float_bytes\": %zu, \"ops\": {",
		       g->opset, s.params, s.macs, g->arena_bytes, g->peak_live_bytes, g->weights_bytes,
		       effc_weights_file_bytes(g), s.int8_ops, s.float_ops, s.weight_bytes_i8, s.weight_bytes_f32);
		for (int i = 0, first = 1; i < EFFC_OP_COUNT; i++) {
			if (!s.op_count[i])
				continue;
			printf("%s", first ? "" : ", ");
			json_str(effc_op_name((enum effc_op)i));
			printf(": %d", s.op_count[i]);
			first = 0;
		}
		printf("}, \"inputs\": [");
		for (int k = 0; k < g->n_inputs + g->n_outputs; k++) {
			if (k == g->n_inputs)
				printf("], \"outputs\": [");
			const struct effc_tensor *t = &g->t[k < g->n_inputs ? g->inputs[k] : g->outputs[k - g->n_inputs]];
			printf("%s{\"name\": ", (k && k != g->n_inputs) ? ", " : "");
			json_str(t->name);
			printf(", \"shape\": [");
			for (int i = 0; i < t->rank; i++)
				printf("%s%" PRId64, i ? ", " : "", t->dims[i]);
			printf("]}");
		}
		printf("], \"nodes\": [");
		for (int i = 0, first = 1; i < g->n_n; i++) {
			const struct effc_node *n = &g->n[i];
			if (n->dead || effc_node_is_alias(g, n))
				continue;
			printf("%s{\"name\": ", first ? "" : ", ");
			json_str(n->name);
			printf(", \"op\": ");
			json_str(effc_op_name(n->op));
			printf(", \"precision\": ");
			json_str(effc_node_precision(n));
			printf(", \"weight_bytes\": %zu, \"shape\": [", effc_node_weight_bytes(g, n));
			const struct effc_tensor *t = &g->t[n->out[0]];
			for (int k = 0; k < t->rank; k++)
				printf("%s%" PRId64, k ? ", " : "", t->dims[k]);
			printf("]}");
			first = 0;
		}
		printf("]}\n");
	} else {
		printf("model      %s\nproducer   %s %s, opset %d\n", model, g->producer, g->producer_version, g->opset);
		printf("params     %" PRId64 "\nMACs       %" PRId64 "\n"
		       "arena      %zu bytes (peak live %zu) per context\n"
		       "weights    %zu bytes (NAME.weights %zu bytes, read-only, shared by contexts)\n"
		       "measured   code size: effc difftest; context bytes: NAME_context_bytes, runner --memory\n",
		       s.params, s.macs, g->arena_bytes, g->peak_live_bytes, g->weights_bytes,
		       effc_weights_file_bytes(g));
		if (s.int8_ops)
			printf("precision  %d int8 ops, %d float ops; weights %zu bytes int8 (packed, with int32 biases), %zu bytes float\n",
			       s.int8_ops, s.float_ops, s.weight_bytes_i8, s.weight_bytes_f32);
		for (int k = 0; k < g->n_inputs; k++)
			printf("input      %s %s\n", g->t[g->inputs[k]].name, effc_shape_str(arena, &g->t[g->inputs[k]]));
		for (int k = 0; k < g->n_outputs; k++)
			printf("output     %s %s\n", g->t[g->outputs[k]].name, effc_shape_str(arena, &g->t[g->outputs[k]]));
		printf("ops:\n");
		for (int i = 0; i < EFFC_OP_COUNT; i++)
			if (s.op_count[i])
				printf("  %-20s %d\n", effc_op_name((enum effc_op)i), s.op_count[i]);
		printf("nodes (as emitted):\n");
		for (int i = 0; i < g->n_n; i++) {
			const struct effc_node *n = &g->n[i];
			if (n->dead)
				continue;
			const struct effc_tensor *t = &g->t[n->out[0]];
			const size_t wb = effc_node_weight_bytes(g, n);
			printf("  %-40s %-18s %s%s%s%s%s", n->name, effc_op_name(n->op), effc_shape_str(arena, t),
			       t->layout == EFFC_LAYOUT_NHWC ? " (NHWC)" : "", effc_node_is_alias(g, n) ? " alias" : "",
			       s.int8_ops ? "  " : "", s.int8_ops ? effc_node_precision(n) : "");
			if (wb)
				printf("  %zu weight bytes", wb);
			printf("\n");
		}
	}
	effc_arena_free(arena);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage("no command given");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("effc %s\n", EFFC_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		return help(argc > 2 ? argv[2] : NULL);
	}
	/* The command line goes into the generated banner; paths as the user typed them. */
	char cmdline[1024];
	size_t k = 0;
	cmdline[0] = 0;
	for (int i = 0; i < argc && k < sizeof cmdline - 1; i++) {
		/* Output directories by base name only, so regenerating elsewhere is byte-identical. */
		const char *w = i ? argv[i] : "effc";
		if (i > 1 && (!strcmp(argv[i - 1], "-o") || !strcmp(argv[i - 1], "--emit-c")) && strrchr(w, '/') && strrchr(w, '/')[1])
			w = strrchr(w, '/') + 1;
		k += (size_t)snprintf(cmdline + k, sizeof cmdline - k, "%s%s", i ? " " : "", w);
	}
	if (!strcmp(cmd, "compile"))
		return cmd_compile(argc - 2, argv + 2, cmdline);
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc - 2, argv + 2);
	if (!strcmp(cmd, "difftest"))
		return effc_cmd_difftest(argc - 2, argv + 2);
	if (!strcmp(cmd, "gen")) {
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--int8"))
				return effc_cmd_gen_int8(argc - 2, argv + 2, cmdline);
		return effc_cmd_gen(argc - 2, argv + 2, cmdline);
	}
	if (!strcmp(cmd, "scale"))
		return effc_cmd_scale(argc - 2, argv + 2);
	if (!strcmp(cmd, "fit"))
		return effc_cmd_fit(argc - 2, argv + 2, cmdline);
	if (!strcmp(cmd, "quantize"))
		return effc_cmd_quantize(argc - 2, argv + 2);
	return usage("unknown command");
}
