/* main.c: the effc command line. Parses flags, runs the pipeline (load -> shape inference ->
 * passes -> memory plan -> emit) and alone decides exit codes: 0 success, 1 a model, file or
 * tool error (the message names file, node and op), 2 a usage error. */
#define _POSIX_C_SOURCE 200809L
#include "effc.h"
#include "driver.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: effc <command> [options]\n"
	"\n"
	"commands:\n"
	"  compile MODEL.onnx -o DIR [--name NAME] [--batch N]\n"
	"      write DIR/NAME.{h,c,weights}, NAME_weights.c, NAME_runner.c, runtime/ and CMakeLists.txt\n"
	"  inspect MODEL.onnx [--json] [--batch N]\n"
	"      op counts, tensor shapes, parameters and multiply-accumulates of the graph as emitted\n"
	"  difftest MODEL.onnx [--seeds N] [--threads T] [--tol X] [--min-sensitivity S] [--bench K]\n"
	"           [--work DIR] [--keep] [--batch N]\n"
	"      compile, build, run the generated code and ONNX Runtime on N seeded random inputs, compare\n"
	"  --version, help\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "effc: %s\n", msg);
	fputs(usage_text, stderr);
	return 2;
}

int effc_report(const struct effc_diag *d)
{
	fprintf(stderr, "effc: %s\n", d->msg);
	return 1;
}

enum effc_status effc_build_graph(const char *path, int64_t batch, struct effc_arena *arena, struct effc_graph **out,
				  struct effc_diag *d)
{
	struct effc_graph *g = effc_graph_new(arena, path);
	if (!g)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	struct effc_load_options lo = {.batch = batch};
	enum effc_status st;
	if ((st = effc_load_onnx(g, path, &lo, d)) || (st = effc_infer_shapes(g, d)) || (st = effc_pass_layout(g, d)) ||
	    (st = effc_pass_lower(g, d)) || (st = effc_plan_memory(g, d)))
		return st;
	*out = g;
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

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int cmd_compile(int argc, char **argv, const char *cmdline)
{
	const char *model = NULL, *out = NULL, *name = NULL;
	int64_t batch = 1;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
			if (parse_i64(argv[++i], 1, 65536, &batch))
				return usage("--batch needs an integer in 1..65536");
		} else if (argv[i][0] == '-' && argv[i][1])
			return usage("compile: unknown option");
		else if (!model)
			model = argv[i];
		else
			return usage("compile: more than one model given");
	}
	if (!model || !out || !*out)
		return usage("compile needs MODEL.onnx and -o DIR");
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
	struct effc_emit_options eo = {.name = name, .out_dir = out, .cmdline = cmdline};
	if (effc_build_graph(model, batch, arena, &g, &d) || effc_emit(g, &eo, &d)) {
		rc = effc_report(&d);
	} else {
		struct effc_stats s;
		effc_graph_stats(g, &s);
		int ops = 0;
		for (int i = 0; i < EFFC_OP_COUNT; i++)
			ops += s.op_count[i];
		printf("effc: %s -> %s/%s.c: %d ops, %" PRId64 " parameters, %" PRId64 " MACs, arena %zu bytes, weights %zu bytes\n",
		       model, out, name, ops, s.params, s.macs, g->arena_bytes, g->weights_bytes);
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
	int64_t batch = 1;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
			if (parse_i64(argv[++i], 1, 65536, &batch))
				return usage("--batch needs an integer in 1..65536");
		} else if (argv[i][0] == '-' && argv[i][1])
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
	if (!arena)
		return fprintf(stderr, "effc: out of memory\n"), 1;
	if (effc_build_graph(model, batch, arena, &g, &d)) {
		effc_arena_free(arena);
		return effc_report(&d);
	}
	struct effc_stats s;
	effc_graph_stats(g, &s);
	if (json) {
		printf("{\"model\": ");
		json_str(model);
		printf(", \"producer\": ");
		json_str(g->producer ? g->producer : "");
		printf(", \"opset\": %d, \"params\": %" PRId64 ", \"macs\": %" PRId64 ", \"arena_bytes\": %zu, "
		       "\"peak_live_bytes\": %zu, \"weights_bytes\": %zu, \"ops\": {",
		       g->opset, s.params, s.macs, g->arena_bytes, g->peak_live_bytes, g->weights_bytes);
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
			printf(", \"shape\": [");
			const struct effc_tensor *t = &g->t[n->out[0]];
			for (int k = 0; k < t->rank; k++)
				printf("%s%" PRId64, k ? ", " : "", t->dims[k]);
			printf("]}");
			first = 0;
		}
		printf("]}\n");
	} else {
		printf("model      %s\nproducer   %s %s, opset %d\n", model, g->producer, g->producer_version, g->opset);
		printf("params     %" PRId64 "\nMACs       %" PRId64 "\narena      %zu bytes (peak live %zu)\nweights    %zu bytes\n",
		       s.params, s.macs, g->arena_bytes, g->peak_live_bytes, g->weights_bytes);
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
			printf("  %-40s %-18s %s%s%s\n", n->name, effc_op_name(n->op), effc_shape_str(arena, t),
			       t->layout == EFFC_LAYOUT_NHWC ? " (NHWC)" : "", effc_node_is_alias(g, n) ? " alias" : "");
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
		fputs(usage_text, stdout);
		return 0;
	}
	/* The command line goes into the generated banner; paths as the user typed them. */
	char cmdline[1024];
	size_t k = 0;
	cmdline[0] = 0;
	for (int i = 0; i < argc && k < sizeof cmdline - 1; i++)
		k += (size_t)snprintf(cmdline + k, sizeof cmdline - k, "%s%s", i ? " " : "", i ? argv[i] : "effc");
	if (!strcmp(cmd, "compile"))
		return cmd_compile(argc - 2, argv + 2, cmdline);
	if (!strcmp(cmd, "inspect"))
		return cmd_inspect(argc - 2, argv + 2);
	if (!strcmp(cmd, "difftest"))
		return effc_cmd_difftest(argc - 2, argv + 2);
	return usage("unknown command");
}
