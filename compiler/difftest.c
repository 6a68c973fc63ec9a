/* difftest.c: `effc difftest`. Compiles the model, builds the generated directory with CMake,
 * runs it and ONNX Runtime (tools/ort_run.js on onnxruntime-node) on seeded random inputs and
 * compares every output: it passes when max|a - b| <= tol * max(1, max|ref|) for all of them.
 * It also reports how much the reference outputs of two seeds differ, in units of that
 * tolerance: a model that ignores its input would pass any diff test, so that figure is part of
 * the verdict when --min-sensitivity is given. A passing diff is followed by the memory report:
 * the build's read-only bytes (text+rodata of the model's and the runtime's archives, from
 * binutils' size) and one context's bytes at create (the runner's --memory).
 * --layers builds with EFFC_DEBUG_TENSORS, dumps every ONNX-named tensor the generated code
 * computes, asks ONNX Runtime for the same tensors (as extra outputs of a temporary copy of the
 * model) and names the first node whose output diverges. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "driver.h"
#include <dirent.h>

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef EFFC_SOURCE_DIR
#define EFFC_SOURCE_DIR "."
#endif

struct dt_opts {
	const char *model, *work, *prebuilt_runtime, *ref_cache;
	const char *float_model; /* --float: the float model a quantized one came from */
	int seeds, threads, bench, keep, layers, force_xnnpack, portable, no_avx512;
	double tol, min_sens, min_rel_sens;
	double tol_steps, max_ratio; /* quantized models: see quant_verdict */
	struct effc_common_options common;
};

/* ---- data ------------------------------------------------------------------------------ */

/* splitmix64 + Box-Muller: the same inputs for the same seed on every machine. */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static float *random_input(int64_t n, uint64_t seed)
{
	float *x = malloc((size_t)n * sizeof(float) + 4);
	uint64_t s = seed;
	for (int64_t i = 0; x && i < n; i += 2) {
		double u1 = ((mix(&s) >> 11) + 1.0) / 9007199254740993.0, u2 = (mix(&s) >> 11) / 9007199254740992.0;
		double r = sqrt(-2.0 * log(u1));
		x[i] = (float)(r * cos(2 * 3.14159265358979323846 * u2));
		if (i + 1 < n)
			x[i + 1] = (float)(r * sin(2 * 3.14159265358979323846 * u2));
	}
	return x;
}

static float *read_floats(const char *path, int64_t n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	float *x = malloc((size_t)n * sizeof(float) + 4);
	size_t got = x ? fread(x, sizeof(float), (size_t)n, f) : 0;
	int extra = fgetc(f) != EOF;
	fclose(f);
	if (!x || got != (size_t)n || extra) {
		free(x);
		return NULL;
	}
	return x;
}

struct cmp {
	double max_abs, max_rel, max_ref, bound;
	int nan;
};

static struct cmp compare(const float *a, const float *b, int64_t n, double tol)
{
	struct cmp c = {0};
	for (int64_t i = 0; i < n; i++) {
		double diff = fabs((double)a[i] - b[i]);
		if (isnan(a[i]) != isnan(b[i]))
			c.nan = 1;
		if (diff > c.max_abs)
			c.max_abs = diff;
		double rel = diff / (fabs(b[i]) > 1e-6 ? fabs(b[i]) : 1e-6);
		if (rel > c.max_rel)
			c.max_rel = rel;
		if (fabs(b[i]) > c.max_ref)
			c.max_ref = fabs(b[i]);
	}
	c.bound = tol * (c.max_ref > 1 ? c.max_ref : 1);
	return c;
}

static int parse_args(int argc, char **argv, struct dt_opts *o)
{
	*o = (struct dt_opts){.seeds = 3, .threads = 1, .tol = 1e-4, .tol_steps = 4, .max_ratio = 0.25};
	effc_common_init(&o->common);
	for (int i = 0; i < argc; i++) {
		int r = effc_common_parse(&o->common, argc, argv, &i);
		if (r < 0)
			return fprintf(stderr, "effc: difftest: bad or missing value for %s\n", argv[i]), -1;
		if (r)
			continue;
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!strcmp(a, "--seeds") && v)
			o->seeds = (int)strtol(v, &end, 10), i++;
		else if (!strcmp(a, "--threads") && v)
			o->threads = (int)strtol(v, &end, 10), i++;
		else if (!strcmp(a, "--bench") && v)
			o->bench = (int)strtol(v, &end, 10), i++;
		else if (!strcmp(a, "--tol") && v)
			o->tol = strtod(v, &end), i++;
		else if (!strcmp(a, "--min-sensitivity") && v)
			o->min_sens = strtod(v, &end), i++;
		else if (!strcmp(a, "--min-rel-sensitivity") && v)
			o->min_rel_sens = strtod(v, &end), i++;
		else if (!strcmp(a, "--work") && v)
			o->work = v, i++;
		else if (!strcmp(a, "--float") && v)
			o->float_model = v, i++;
		else if (!strcmp(a, "--tol-steps") && v)
			o->tol_steps = strtod(v, &end), i++;
		else if (!strcmp(a, "--max-ratio") && v)
			o->max_ratio = strtod(v, &end), i++;
		else if (!strcmp(a, "--prebuilt-runtime") && v)
			o->prebuilt_runtime = v, i++;
		else if (!strcmp(a, "--ref-cache") && v)
			o->ref_cache = v, i++;
		else if (!strcmp(a, "--keep"))
			o->keep = 1;
		else if (!strcmp(a, "--layers"))
			o->layers = 1;
		else if (!strcmp(a, "--force-xnnpack"))
			o->force_xnnpack = 1;
		else if (!strcmp(a, "--portable"))
			o->portable = 1;
		else if (!strcmp(a, "--no-avx512"))
			o->no_avx512 = 1;
		else if (a[0] == '-' && a[1])
			return fprintf(stderr, "effc: difftest: unknown option %s\n", a), -1;
		else if (!o->model)
			o->model = a;
		else
			return fprintf(stderr, "effc: difftest: more than one model given\n"), -1;
		if (end && (*end || end == v))
			return fprintf(stderr, "effc: difftest: bad value '%s' for %s\n", v, a), -1;
	}
	if (!o->model)
		return fprintf(stderr, "effc: difftest needs MODEL.onnx\n"), -1;
	if (o->seeds < 1 || o->seeds > 1000 || o->threads < 1 || o->threads > 256 || o->bench < 0 || !(o->tol > 0) ||
	    !(o->tol_steps > 0) || !(o->max_ratio > 0))
		return fprintf(stderr, "effc: difftest: --seeds 1..1000, --threads 1..256, --tol, --tol-steps, --max-ratio > 0\n"), -1;
	return 0;
}

static int parse_ms(const char *out, const char *key, double *v)
{
	const char *p = strstr(out, key);
	return p ? (sscanf(p + strlen(key), "%lf", v) == 1 ? 0 : -1) : -1;
}

struct dt {
	const struct dt_opts *o;
	const struct effc_graph *g;
	const char *work, *script, *node;
	char log[4200], runner[4300];
	char rt_lib[4200]; /* the runtime's archive the build linked, for the memory report */
	char ref_key[40]; /* --ref-cache: what ONNX Runtime's outputs depend on, hashed; "" without */
};

static void add_inputs(struct dt *t, struct effc_cmd *c, int seed, int for_ort)
{
	for (int k = 0; k < t->g->n_inputs; k++) {
		const struct effc_tensor *x = &t->g->t[t->g->inputs[k]];
		if (!for_ort) {
			effc_cmd_argf(c, "%s/in%d_%d.f32", t->work, seed, k);
			continue;
		}
		char spec[8192];
		int sk = snprintf(spec, sizeof spec, "%s=%s/in%d_%d.f32:", x->name, t->work, seed, k);
		for (int i = 0; i < x->rank && sk < (int)sizeof spec - 24; i++)
			sk += snprintf(spec + sk, sizeof spec - (size_t)sk, "%s%" PRId64, i ? "," : "", x->dims[i]);
		effc_cmd_raw(c, " --input");
		effc_cmd_arg(c, spec);
	}
}

static void ort_cmd(struct dt *t, struct effc_cmd *c, const char *model)
{
	effc_cmd_arg(c, t->node);
	effc_cmd_arg(c, t->script);
	effc_cmd_raw(c, " --model");
	effc_cmd_arg(c, model);
	effc_cmd_raw(c, " --threads");
	effc_cmd_argf(c, "%d", t->o->threads);
}

/* The archive an exported runtime target names: CMake's export file sets
 * IMPORTED_LOCATION_<CONFIG> "path". "" when there is none. */
static void prebuilt_archive(const char *export_file, char *out, size_t cap)
{
	out[0] = 0;
	static char text[65536]; /* an export file is a few KB */
	FILE *f = fopen(export_file, "r");
	if (!f)
		return;
	text[fread(text, 1, sizeof text - 1, f)] = 0;
	fclose(f);
	const char *p = strstr(text, "IMPORTED_LOCATION"), *q = p ? strchr(p, '"') : NULL;
	const char *e = q ? strchr(q + 1, '"') : NULL;
	if (e && (size_t)(e - q - 1) < cap)
		snprintf(out, cap, "%.*s", (int)(e - q - 1), q + 1);
}

static int build(struct dt *t, const char *builddir, int debug)
{
	char dir[4300];
	snprintf(dir, sizeof dir, "%s/gen", t->work);
	/* --portable wins over --force-xnnpack, which wins over --no-avx512 */
	const int portable = t->o->portable, force = !portable && t->o->force_xnnpack,
		  no_avx512 = !portable && !force && t->o->no_avx512;
	char rt[4400];
	int n = snprintf(rt, sizeof rt, " -DEFFC_RT_PORTABLE=%s -DEFFC_RT_FORCE_XNNPACK=%s -DEFFC_RT_NO_AVX512=%s",
			 portable ? "ON" : "OFF", force ? "ON" : "OFF", no_avx512 ? "ON" : "OFF");
	if (t->o->prebuilt_runtime) {
		/* CMake includes this file in the generated project() call: it imports a built effc_rt
		 * of the same configuration, and the generated CMakeLists then builds no runtime. */
		const char *config = portable ? "portable" : force ? "force-xnnpack" : no_avx512 ? "no-avx512" : "default";
		char file[4200], abs[4096];
		snprintf(file, sizeof file, "%s/effc_rt-%s.cmake", t->o->prebuilt_runtime, config);
		if (!realpath(file, abs)) {
			fprintf(stderr, "effc: %s: --prebuilt-runtime: no runtime for this configuration at %s\n", t->o->model, file);
			return 1;
		}
		snprintf(rt + n, sizeof rt - (size_t)n, " -DCMAKE_PROJECT_INCLUDE=%s", abs);
		prebuilt_archive(abs, t->rt_lib, sizeof t->rt_lib);
	} else {
		snprintf(t->rt_lib, sizeof t->rt_lib, "%s/libeffc_rt.a", builddir);
	}
	if (effc_build_generated(dir, builddir, debug, rt, t->log)) {
		fprintf(stderr, "effc: %s: building the generated code failed\n", t->o->model);
		return 1;
	}
	return 0;
}

/* ---- the memory report -------------------------------------------------------------------- */

/* Text (code and rodata) and data+bss of the archives, from the TOTALS line of binutils'
 * `size -t` (Berkeley format, where text includes .rodata). */
static int archive_sizes(struct dt *t, struct effc_cmd *c, const char *files, size_t *text, size_t *data)
{
	char out[16384];
	effc_cmd_raw(c, "size -t");
	effc_cmd_raw(c, files);
	if (effc_cmd_run(c, t->log, out, sizeof out))
		return -1;
	char *end = strstr(out, "(TOTALS)"), *line = end;
	while (line && line > out && line[-1] != '\n')
		line--;
	size_t bss;
	return line && sscanf(line, "%zu %zu %zu", text, data, &bss) == 3 ? (*data += bss, 0) : -1;
}

/* What an application budgets, measured on the build: read-only bytes (the archives' text and
 * rodata, the embedded weights among them) and one context's bytes at create (runner
 * --memory, that is NAME_context_bytes). Informative: a missing `size` only says so. */
static int memory_report(struct dt *t)
{
	struct effc_cmd c = {0};
	char out[4096], files[9000];
	double arena, context, weights;
	effc_cmd_arg(&c, t->runner);
	effc_cmd_raw(&c, " --memory --threads");
	effc_cmd_argf(&c, "%d", t->o->threads);
	add_inputs(t, &c, 0, 0);
	for (int k = 0; k < t->g->n_outputs; k++)
		effc_cmd_argf(&c, "%s/bench_out%d.f32", t->work, k);
	if (effc_cmd_run(&c, t->log, out, sizeof out) || parse_ms(out, "arena_bytes=", &arena) ||
	    parse_ms(out, "context_bytes=", &context) || parse_ms(out, "weights_bytes=", &weights)) {
		fprintf(stderr, "effc: %s: the runner's --memory failed\n", t->o->model);
		effc_show_log_tail(t->log);
		free(c.s);
		return 1;
	}
	const int have_rt = t->rt_lib[0] && access(t->rt_lib, R_OK) == 0;
	struct effc_cmd f = {0};
	effc_cmd_argf(&f, "%s/gen/build/libmodel.a", t->work);
	if (have_rt)
		effc_cmd_arg(&f, t->rt_lib);
	snprintf(files, sizeof files, "%s", f.s ? f.s : "");
	free(f.s);
	size_t text, data;
	if (archive_sizes(t, &c, files, &text, &data))
		printf("memory: code size not measured (binutils' size failed, see the log)\n");
	else
		printf("memory: read-only %zu bytes = weights %.0f + code %zu (text+rodata of libmodel.a%s; XNNPACK, "
		       "pthreadpool and libc are shared libraries, not counted), data+bss %zu\n",
		       text, weights, text > (size_t)weights ? text - (size_t)weights : 0,
		       have_rt ? " and the runtime's archive" : "; the runtime's archive not found, not counted", data);
	printf("memory: per context at threads=%d: context_bytes=%.0f (arena %.0f + runtime buffers and XNNPACK "
	       "operators %.0f)\n",
	       t->o->threads, context, arena, context - arena);
	free(c.s);
	return 0;
}

/* ---- the reference cache (--ref-cache) ---------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001B3ull;
	return h;
}

struct key_hash {
	uint64_t h;
	struct effc_diag d;
};

/* One external data file of the model: its path and bytes (mapped, not copied). */
static int hash_external(void *arg, const char *file)
{
	struct key_hash *k = arg;
	const void *data;
	size_t size;
	if (effc_map_file(file, &data, &size, &k->d))
		return -1;
	k->h = fnv1a(k->h, file, strlen(file) + 1);
	k->h = fnv1a(k->h, data, size);
	k->h = fnv1a(k->h, &size, sizeof size);
	effc_unmap_file(data, size);
	return 0;
}

/* ONNX Runtime's outputs for a seed depend on the model file, its external data files (weights
 * saved beside it), the script that runs it, the inputs (seed and shapes: --batch changes them),
 * the outputs asked for and the thread count; the key hashes all of them, so an edited model,
 * retrained weights or an edited script never meet a stale entry. */
static int ref_cache_key(struct dt *t)
{
	struct effc_diag d;
	uint64_t h = 0xCBF29CE484222325ull;
	const char *files[] = {t->o->model, t->script};
	for (int i = 0; i < 2; i++) {
		void *data;
		size_t size;
		if (effc_read_file(files[i], &data, &size, &d))
			return effc_report(&d);
		h = fnv1a(h, data, size);
		h = fnv1a(h, &size, sizeof size);
		free(data);
	}
	struct key_hash kh = {h, {{0}, EFFC_OK}};
	if (effc_onnx_external_files(t->o->model, hash_external, &kh, &d))
		return effc_report(kh.d.status ? &kh.d : &d);
	h = kh.h;
	for (int k = 0; k < t->g->n_inputs; k++) {
		const struct effc_tensor *x = &t->g->t[t->g->inputs[k]];
		h = fnv1a(h, x->name, strlen(x->name) + 1);
		h = fnv1a(h, x->dims, sizeof x->dims[0] * (size_t)x->rank);
	}
	for (int k = 0; k < t->g->n_outputs; k++)
		h = fnv1a(h, t->g->t[t->g->outputs[k]].name, strlen(t->g->t[t->g->outputs[k]].name) + 1);
	h = fnv1a(h, &t->o->threads, sizeof t->o->threads);
	snprintf(t->ref_key, sizeof t->ref_key, "%016" PRIx64, h);
	return 0;
}

/* Where the reference of output k for seed s is read: the cache entry when there is one. */
static void ref_path(const struct dt *t, int s, int k, int cached, char *path, size_t cap)
{
	if (cached)
		snprintf(path, cap, "%s/%s_s%d_%d.f32", t->o->ref_cache, t->ref_key, s, k);
	else
		snprintf(path, cap, "%s/ref%d_%d.f32", t->work, s, k);
}

static int refs_cached(const struct dt *t, int s)
{
	char path[4300];
	for (int k = 0; t->ref_key[0] && k < t->g->n_outputs; k++) {
		ref_path(t, s, k, 1, path, sizeof path);
		if (access(path, R_OK) != 0)
			return 0;
	}
	return t->ref_key[0] != 0;
}

/* Copies seed s's fresh references into the cache, each through a temporary file and a rename,
 * so a test running beside this one never reads half an entry. A failure only costs reuse. */
static void cache_refs(const struct dt *t, int s)
{
	char from[4300], to[4300], tmp[4400];
	struct effc_diag d;
	for (int k = 0; t->ref_key[0] && k < t->g->n_outputs; k++) {
		void *data;
		size_t size;
		ref_path(t, s, k, 0, from, sizeof from);
		ref_path(t, s, k, 1, to, sizeof to);
		snprintf(tmp, sizeof tmp, "%s.%ld.tmp", to, (long)getpid());
		if (effc_read_file(from, &data, &size, &d))
			return;
		int bad = effc_write_file(tmp, data, size, &d) != EFFC_OK || rename(tmp, to) != 0;
		free(data);
		if (bad) {
			remove(tmp);
			return;
		}
	}
}

/* ---- quantized models --------------------------------------------------------------------- */

/* Whether g came from a quantized model (int8 ops or quantize/dequantize pairs). */
static int is_quantized(const struct effc_graph *g)
{
	for (int i = 0; i < g->n_n; i++)
		if (!g->n[i].dead && (g->n[i].op == EFFC_OP_FAKE_QUANT || g->n[i].op >= EFFC_OP_Q8_QUANTIZE))
			return 1;
	return 0;
}

/* The quantization step of output t (the scale of the int8 tensor it dequantizes, through
 * byte-moving ops), or 0 when a float op writes it (a classifier left in float). */
static double output_step(const struct effc_graph *g, int t)
{
	for (int depth = 0; t >= 0 && depth < 16; depth++) {
		const int p = g->t[t].producer;
		if (p < 0)
			return 0;
		const struct effc_node *n = &g->n[p];
		if (n->op == EFFC_OP_Q8_DEQUANTIZE)
			return g->t[n->in[0]].qscale;
		if (n->op == EFFC_OP_FAKE_QUANT)
			return n->a.alpha;
		if (!effc_node_is_alias(g, n) && n->op != EFFC_OP_TO_NCHW && n->op != EFFC_OP_TO_NHWC)
			return 0;
		t = n->in[0];
	}
	return 0;
}

static double rms_diff(const float *a, const float *b, int64_t n)
{
	double s = 0;
	for (int64_t i = 0; i < n; i++)
		s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return sqrt(s / (double)(n ? n : 1));
}

/* 10 log10(sum f^2 / sum (x - f)^2): x's signal-to-quantization-noise ratio against float f. */
static double sqnr_db(const float *x, const float *f, int64_t n)
{
	double sig = 0, noise = 0;
	for (int64_t i = 0; i < n; i++) {
		sig += (double)f[i] * f[i];
		noise += ((double)x[i] - f[i]) * ((double)x[i] - f[i]);
	}
	return noise > 0 ? 10 * log10(sig / noise) : INFINITY;
}

static int64_t argmax(const float *x, int64_t n)
{
	int64_t k = 0;
	for (int64_t i = 1; i < n; i++)
		if (x[i] > x[k])
			k = i;
	return k;
}

/* Per output of a quantized model, summed over seeds. */
struct qstats {
	double sq_diff, sq_qerr, sq_sig, sq_enoise, sq_onoise; /* sums of squares */
	int64_t count;
	int top1_effc, top1_ort, top1_same, seeds;
	double max_steps;
};

/* Runs ONNX Runtime on --float's model for seed s; its outputs are read as fref<s>_<k>.f32. */
static int run_float_ref(struct dt *t, struct effc_cmd *c, int s)
{
	const struct effc_graph *g = t->g;
	effc_progress(&t->o->common, "seed %d: ONNX Runtime on the float model", s);
	ort_cmd(t, c, t->o->float_model);
	add_inputs(t, c, s, 1);
	for (int k = 0; k < g->n_outputs; k++) {
		effc_cmd_raw(c, " --output");
		effc_cmd_argf(c, "%s=%s/fref%d_%d.f32", g->t[g->outputs[k]].name, t->work, s, k);
	}
	char out[4096];
	if (effc_cmd_run(c, t->log, out, sizeof out) != 0) {
		fprintf(stderr, "effc: %s: ONNX Runtime failed on the float model %s (seed %d); it must have the quantized "
				"model's inputs and outputs\n", t->o->model, t->o->float_model, s);
		effc_show_log_tail(t->log);
		return 1;
	}
	return 0;
}

static int run_seeds(struct dt *t)
{
	const struct effc_graph *g = t->g;
	const struct dt_opts *o = t->o;
	char path[4300], p2[4300];
	float **refs0 = calloc((size_t)g->n_outputs + 1, sizeof(float *));
	double worst = 0, sens = INFINITY, rel_sens = INFINITY;
	int failed = 0;
	struct effc_cmd c = {0};
	const int quant = is_quantized(g);
	struct qstats *qs = calloc((size_t)g->n_outputs + 1, sizeof *qs);
	if (!qs) {
		free(refs0);
		return 1;
	}
	for (int s = 0; s < o->seeds && refs0 && !failed; s++) {
		for (int k = 0; k < g->n_inputs; k++) {
			const struct effc_tensor *x = &g->t[g->inputs[k]];
			float *v = random_input(effc_tensor_numel(x), (uint64_t)s * 1000003u + (uint64_t)k);
			struct effc_diag d;
			snprintf(path, sizeof path, "%s/in%d_%d.f32", t->work, s, k);
			if (!v || effc_write_file(path, v, (size_t)effc_tensor_numel(x) * 4, &d)) {
				fprintf(stderr, "effc: %s: cannot write %s\n", o->model, path);
				failed = 1;
			}
			free(v);
		}
		if (failed)
			break;
		effc_cmd_arg(&c, t->runner);
		effc_cmd_raw(&c, " --threads");
		effc_cmd_argf(&c, "%d", o->threads);
		add_inputs(t, &c, s, 0);
		for (int k = 0; k < g->n_outputs; k++)
			effc_cmd_argf(&c, "%s/out%d_%d.f32", t->work, s, k);
		if (effc_cmd_run(&c, t->log, NULL, 0) != 0) {
			fprintf(stderr, "effc: %s: the generated runner failed (seed %d)\n", o->model, s);
			effc_show_log_tail(t->log);
			failed = 1;
			break;
		}
		const int cached = refs_cached(t, s);
		if (cached) {
			printf("seed %d: ONNX Runtime's outputs from the reference cache (%s)\n", s, t->ref_key);
		} else {
			effc_progress(&o->common, "seed %d: ONNX Runtime", s);
			ort_cmd(t, &c, o->model);
			add_inputs(t, &c, s, 1);
			for (int k = 0; k < g->n_outputs; k++) {
				effc_cmd_raw(&c, " --output");
				effc_cmd_argf(&c, "%s=%s/ref%d_%d.f32", g->t[g->outputs[k]].name, t->work, s, k);
			}
			char out[4096];
			if (effc_cmd_run(&c, t->log, out, sizeof out) != 0) {
				fprintf(stderr, "effc: %s: ONNX Runtime failed (seed %d); is onnxruntime-node installed (scripts/setup.sh)?\n",
					o->model, s);
				effc_show_log_tail(t->log);
				failed = 1;
				break;
			}
			cache_refs(t, s);
		}
		for (int k = 0; k < g->n_outputs; k++) {
			const struct effc_tensor *y = &g->t[g->outputs[k]];
			int64_t n = effc_tensor_numel(y);
			snprintf(path, sizeof path, "%s/out%d_%d.f32", t->work, s, k);
			ref_path(t, s, k, cached, p2, sizeof p2);
			float *a = read_floats(path, n), *b = read_floats(p2, n);
			if (!a || !b) {
				fprintf(stderr, "effc: %s: output '%s' missing or of the wrong size (seed %d)\n", o->model, y->name, s);
				free(a), free(b);
				failed = 1;
				break;
			}
			struct cmp r = compare(a, b, n, o->tol);
			if (quant) {
				/* Integer rounding differs from ONNX Runtime's float evaluation at ties, and a
				 * flipped step propagates: the verdict is in quantization terms, below. */
				const double step = output_step(g, g->outputs[k]), rms = rms_diff(a, b, n);
				struct qstats *q = &qs[k];
				q->sq_diff += rms * rms * (double)n;
				q->count += n;
				q->seeds++;
				if (step > 0 && r.max_abs / step > q->max_steps)
					q->max_steps = r.max_abs / step;
				if (step > 0)
					printf("seed %d output '%s': max_abs_err=%.3g (%.1f steps of %.3g) rms_err=%.3g (%.2f steps) max_ref=%.4g\n",
					       s, y->name, r.max_abs, r.max_abs / step, step, rms, rms / step, r.max_ref);
				else
					printf("seed %d output '%s': max_abs_err=%.3g rms_err=%.3g max_ref=%.4g (a float output: no step)\n", s,
					       y->name, r.max_abs, rms, r.max_ref);
				failed |= r.nan;
				if (o->float_model) {
					char fp[4300];
					if (k == 0 && run_float_ref(t, &c, s)) {
						free(a), free(b);
						failed = 1;
						break;
					}
					snprintf(fp, sizeof fp, "%s/fref%d_%d.f32", t->work, s, k);
					float *f = read_floats(fp, n);
					if (!f) {
						fprintf(stderr, "effc: %s: the float model's output '%s' is missing or of another size\n", o->model,
							y->name);
						free(a), free(b);
						failed = 1;
						break;
					}
					const double qe = rms_diff(b, f, n);
					q->sq_qerr += qe * qe * (double)n;
					for (int64_t i = 0; i < n; i++) {
						q->sq_sig += (double)f[i] * f[i];
						q->sq_enoise += ((double)a[i] - f[i]) * ((double)a[i] - f[i]);
						q->sq_onoise += ((double)b[i] - f[i]) * ((double)b[i] - f[i]);
					}
					const int64_t ka = argmax(a, n), kb = argmax(b, n), kf = argmax(f, n);
					q->top1_effc += ka == kf, q->top1_ort += kb == kf, q->top1_same += ka == kb;
					printf("seed %d output '%s' against the float model: SQNR effc %.2f dB, ONNX Runtime %.2f dB; "
					       "effc - ONNX Runtime is %.3f of ONNX Runtime's quantization error (rms)\n",
					       s, y->name, sqnr_db(a, f, n), sqnr_db(b, f, n), qe > 0 ? rms / qe : 0.0);
					free(f);
				}
			} else {
				int ok = !r.nan && r.max_abs <= r.bound;
				printf("seed %d output '%s': max_abs_err=%.3g max_rel_err=%.3g max_ref=%.4g bound=%.3g %s\n", s, y->name,
				       r.max_abs, r.max_rel, r.max_ref, r.bound, ok ? "ok" : "MISMATCH");
				failed |= !ok;
				if (r.max_abs / r.bound > worst)
					worst = r.max_abs / r.bound;
			}
			if (s == 0) {
				refs0[k] = b;
				b = NULL;
			} else if (s == 1) {
				double dmax = 0;
				for (int64_t i = 0; i < n; i++)
					if (fabs((double)refs0[k][i] - b[i]) > dmax)
						dmax = fabs((double)refs0[k][i] - b[i]);
				double sk = dmax / r.bound;
				double rel = dmax / (r.max_ref > 0 ? r.max_ref : 1);
				printf("sensitivity output '%s': references of seeds 0 and 1 differ by %.4g = %.1fx the tolerance "
				       "(%.2f%% of the output's magnitude)\n",
				       y->name, dmax, sk, 100 * rel);
				if (sk < sens)
					sens = sk;
				if (rel < rel_sens)
					rel_sens = rel;
			}
			free(a);
			free(b);
		}
	}
	free(c.s);
	if (quant) {
		/* With the float model: effc's deviation from ONNX Runtime must be small next to the
		 * quantization error itself (rms ratio <= --max-ratio). Without: within --tol-steps
		 * output steps (rms), or --tol relative for an output a float op writes. */
		for (int k = 0; k < g->n_outputs && !failed; k++) {
			const struct qstats *q = &qs[k];
			const double rms = sqrt(q->sq_diff / (double)(q->count ? q->count : 1));
			const double step = output_step(g, g->outputs[k]);
			const char *name = g->t[g->outputs[k]].name;
			if (o->float_model) {
				const double qe = sqrt(q->sq_qerr / (double)(q->count ? q->count : 1)), ratio = qe > 0 ? rms / qe : 0;
				printf("quantized '%s' over %d seed(s): SQNR effc %.2f dB, ONNX Runtime %.2f dB; top-1 against float: effc %d/%d, "
				       "ONNX Runtime %d/%d; effc and ONNX Runtime agree on %d/%d; rms(effc - ORT) = %.3f x rms(ORT - float) "
				       "(at most %g)\n",
				       name, q->seeds, 10 * log10(q->sq_sig / q->sq_enoise), 10 * log10(q->sq_sig / q->sq_onoise),
				       q->top1_effc, q->seeds, q->top1_ort, q->seeds, q->top1_same, q->seeds, ratio, o->max_ratio);
				failed |= !(ratio <= o->max_ratio);
				if (ratio > worst)
					worst = ratio / o->max_ratio;
			} else if (step > 0) {
				printf("quantized '%s' over %d seed(s): rms error %.2f output steps (at most %g), largest %.1f\n", name,
				       q->seeds, rms / step, o->tol_steps, q->max_steps);
				failed |= !(rms / step <= o->tol_steps);
				if (rms / step / o->tol_steps > worst)
					worst = rms / step / o->tol_steps;
			} else {
				failed |= !(rms <= o->tol);
				if (rms / o->tol > worst)
					worst = rms / o->tol;
			}
		}
	}
	printf("difftest %s: %d seed(s), worst error %.3f of tolerance %g -> %s\n", o->model, o->seeds, worst, o->tol,
	       failed ? "FAIL" : "PASS");
	if (!failed && (o->min_sens > 0 || o->min_rel_sens > 0)) {
		if (o->seeds < 2) {
			fprintf(stderr, "effc: %s: --min-sensitivity needs --seeds >= 2\n", o->model);
			failed = 1;
		} else if (!(rel_sens >= o->min_rel_sens)) {
			fprintf(stderr, "effc: %s: outputs are input-insensitive: seeds 0 and 1 differ by %.3f%% of the output's "
					"magnitude, less than the required %.3f%%\n", o->model, 100 * rel_sens, 100 * o->min_rel_sens);
			failed = 1;
		} else if (!(sens >= o->min_sens)) {
			fprintf(stderr, "effc: %s: outputs are input-insensitive: seeds 0 and 1 differ by %.1fx the tolerance, "
					"less than the required %.1fx\n", o->model, sens, o->min_sens);
			failed = 1;
		}
	}
	for (int k = 0; refs0 && k < g->n_outputs; k++)
		free(refs0[k]);
	free(refs0);
	free(qs);
	return failed;
}

static int bench(struct dt *t)
{
	const struct effc_graph *g = t->g;
	const struct dt_opts *o = t->o;
	double em[2] = {INFINITY, INFINITY}, om[2] = {INFINITY, INFINITY}, create = INFINITY, session = INFINITY;
	struct effc_cmd c = {0};
	int failed = 0;
	/* Alternate effc and ORT so machine drift hits both alike. */
	for (int round = 0; round < 2 && !failed; round++) {
		char out[4096];
		double med, mn, cr;
		effc_cmd_arg(&c, t->runner);
		effc_cmd_raw(&c, " --create-ms --threads");
		effc_cmd_argf(&c, "%d", o->threads);
		effc_cmd_raw(&c, " --repeat");
		effc_cmd_argf(&c, "%d", o->bench);
		add_inputs(t, &c, 0, 0);
		for (int k = 0; k < g->n_outputs; k++)
			effc_cmd_argf(&c, "%s/bench_out%d.f32", t->work, k);
		if (effc_cmd_run(&c, t->log, out, sizeof out) || parse_ms(out, "median_ms=", &med) || parse_ms(out, "min_ms=", &mn) ||
		    parse_ms(out, "create_ms=", &cr)) {
			fprintf(stderr, "effc: %s: benchmark of the generated code failed\n", o->model);
			effc_show_log_tail(t->log);
			failed = 1;
			break;
		}
		em[0] = fmin(em[0], med), em[1] = fmin(em[1], mn), create = fmin(create, cr);
		ort_cmd(t, &c, o->model);
		effc_cmd_raw(&c, " --bench-only --repeat");
		effc_cmd_argf(&c, "%d", o->bench);
		add_inputs(t, &c, 0, 1);
		for (int k = 0; k < g->n_outputs; k++) {
			effc_cmd_raw(&c, " --output");
			effc_cmd_arg(&c, g->t[g->outputs[k]].name);
		}
		if (effc_cmd_run(&c, t->log, out, sizeof out) || parse_ms(out, "median_ms=", &med) || parse_ms(out, "min_ms=", &mn) ||
		    parse_ms(out, "session_ms=", &cr)) {
			fprintf(stderr, "effc: %s: benchmark of ONNX Runtime failed\n", o->model);
			effc_show_log_tail(t->log);
			failed = 1;
			break;
		}
		om[0] = fmin(om[0], med), om[1] = fmin(om[1], mn), session = fmin(session, cr);
	}
	free(c.s);
	if (!failed)
		printf("latency threads=%d: effc median_ms=%.3f min_ms=%.3f create_ms=%.1f | onnxruntime median_ms=%.3f "
		       "min_ms=%.3f session_ms=%.1f | effc/ort=%.2f\n",
		       o->threads, em[0], em[1], create, om[0], om[1], session, em[0] / om[0]);
	return failed;
}

/* --layers: every ONNX-named tensor effc computes, against ONNX Runtime's value. */
static int layers(struct dt *t)
{
	const struct dt_opts *o = t->o;
	char dir[4300], path[4400], dbg_build[4300], model2[4300];
	struct effc_cmd c = {0};
	snprintf(dbg_build, sizeof dbg_build, "%s/gen/build-debug", t->work);
	if (build(t, dbg_build, 1))
		return 1;
	snprintf(dir, sizeof dir, "%s/layers", t->work);
	effc_rm_rf(dir);
	struct effc_diag d;
	if (effc_mkdir_p(dir, &d))
		return effc_report(&d);
	/* Seed 0's inputs exist from the output comparison. */
	snprintf(path, sizeof path, "%s/model_runner", dbg_build);
	effc_cmd_arg(&c, path);
	effc_cmd_raw(&c, " --threads");
	effc_cmd_argf(&c, "%d", o->threads);
	effc_cmd_raw(&c, " --dump");
	effc_cmd_arg(&c, dir);
	add_inputs(t, &c, 0, 0);
	for (int k = 0; k < t->g->n_outputs; k++)
		effc_cmd_argf(&c, "%s/layers_out%d.f32", t->work, k);
	if (effc_cmd_run(&c, t->log, NULL, 0)) {
		fprintf(stderr, "effc: %s: the debug runner failed\n", o->model);
		effc_show_log_tail(t->log);
		free(c.s);
		return 1;
	}
	/* index.txt: file, tensor, node, op per line. */
	snprintf(path, sizeof path, "%s/index.txt", dir);
	FILE *f = fopen(path, "r");
	int n = 0, cap = 0, rc = 0;
	struct entry {
		char file[64], tensor[512], node[512], op[64];
	} *ents = NULL;
	char line[2048];
	while (f && fgets(line, sizeof line, f)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			struct entry *ne = realloc(ents, (size_t)cap * sizeof *ents);
			if (!ne)
				break;
			ents = ne;
		}
		line[strcspn(line, "\n")] = 0;
		char *a = strtok(line, "\t"), *b = strtok(NULL, "\t"), *cc = strtok(NULL, "\t"), *dd = strtok(NULL, "\t");
		if (!a || !b || !cc || !dd)
			continue;
		int is_output = 0; /* compared already, and ORT mishandles it requested again */
		for (int k = 0; k < t->g->n_outputs; k++)
			is_output |= !strcmp(t->g->t[t->g->outputs[k]].name, b);
		if (is_output)
			continue;
		snprintf(ents[n].file, sizeof ents[n].file, "%s", a);
		snprintf(ents[n].tensor, sizeof ents[n].tensor, "%s", b);
		snprintf(ents[n].node, sizeof ents[n].node, "%s", cc);
		snprintf(ents[n].op, sizeof ents[n].op, "%s", dd);
		n++;
	}
	if (f)
		fclose(f);
	if (n == 0) {
		fprintf(stderr, "effc: %s: the debug runner dumped no tensors\n", o->model);
		free(ents);
		free(c.s);
		return 1;
	}
	const char **names = malloc(sizeof(char *) * (size_t)n);
	for (int i = 0; names && i < n; i++)
		names[i] = ents[i].tensor;
	snprintf(model2, sizeof model2, "%s/layers.onnx", t->work);
	if (!names || effc_onnx_add_outputs(o->model, model2, names, n, &d)) {
		free(names);
		free(ents);
		free(c.s);
		return names ? effc_report(&d) : 1;
	}
	free(names);
	/* Hundreds of outputs: listed in a file rather than on the command line. */
	snprintf(path, sizeof path, "%s/ort_args.txt", t->work);
	FILE *af = fopen(path, "w");
	for (int i = 0; af && i < n; i++)
		fprintf(af, "--output\n%s=%s/ref_%s\n", ents[i].tensor, dir, ents[i].file);
	if (!af || fclose(af) != 0) {
		fprintf(stderr, "effc: %s: cannot write\n", path);
		free(ents);
		free(c.s);
		return 1;
	}
	ort_cmd(t, &c, model2);
	add_inputs(t, &c, 0, 1);
	effc_cmd_raw(&c, " --args-file");
	effc_cmd_arg(&c, path);
	char out[4096];
	if (effc_cmd_run(&c, t->log, out, sizeof out)) {
		fprintf(stderr, "effc: %s: ONNX Runtime failed on the model with extra outputs\n", o->model);
		effc_show_log_tail(t->log);
		free(ents);
		free(c.s);
		return 1;
	}
	free(c.s);
	int first_bad = -1, compared = 0;
	double worst = 0;
	for (int i = 0; i < n; i++) {
		char pa[4500], pb[4500];
		snprintf(pa, sizeof pa, "%s/%s", dir, ents[i].file);
		snprintf(pb, sizeof pb, "%s/ref_%s", dir, ents[i].file);
		/* Sizes come from the files themselves: both sides wrote the tensor in ONNX layout. */
		FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
		long sa = -1, sb = -2;
		if (fa && fb) {
			fseek(fa, 0, SEEK_END), fseek(fb, 0, SEEK_END);
			sa = ftell(fa), sb = ftell(fb);
		}
		if (fa)
			fclose(fa);
		if (fb)
			fclose(fb);
		float *a = sa == sb && sa > 0 ? read_floats(pa, sa / 4) : NULL, *b = a ? read_floats(pb, sb / 4) : NULL;
		if (!a || !b) {
			printf("layer '%s' (node '%s' (%s)): sizes differ or missing (effc %ld bytes, onnxruntime %ld)\n",
			       ents[i].tensor, ents[i].node, ents[i].op, sa, sb);
			if (first_bad < 0)
				first_bad = i;
			free(a), free(b);
			continue;
		}
		struct cmp r = compare(a, b, sa / 4, o->tol);
		int ok = !r.nan && r.max_abs <= r.bound;
		compared++;
		if (r.max_abs / r.bound > worst)
			worst = r.max_abs / r.bound;
		if (!ok && first_bad < 0)
			first_bad = i;
		if (!ok || o->common.verbose)
			printf("layer %3d '%s' (node '%s' (%s)): max_abs_err=%.3g bound=%.3g %s\n", i, ents[i].tensor,
			       ents[i].node, ents[i].op, r.max_abs, r.bound, ok ? "ok" : "DIVERGES");
		free(a), free(b);
	}
	if (first_bad >= 0) {
		printf("layers: first divergence at node '%s' (%s), tensor '%s' (%d of %d tensors compared)\n",
		       ents[first_bad].node, ents[first_bad].op, ents[first_bad].tensor, compared, n);
		rc = 1;
	} else {
		printf("layers: all %d tensors match (worst error %.3f of tolerance)\n", n, worst);
	}
	free(ents);
	return rc;
}

static int difftest(struct dt_opts *o, const char *work, struct effc_graph *g)
{
	struct dt t = {.o = o, .g = g, .work = work};
	t.script = getenv("EFFC_ORT_RUN") ? getenv("EFFC_ORT_RUN") : EFFC_SOURCE_DIR "/tools/ort_run.js";
	t.node = getenv("EFFC_NODE") ? getenv("EFFC_NODE") : "node";
	snprintf(t.log, sizeof t.log, "%s/difftest.log", work);
	snprintf(t.runner, sizeof t.runner, "%s/gen/build/model_runner", work);
	char builddir[4300];
	snprintf(builddir, sizeof builddir, "%s/gen/build", work);
	struct effc_diag d;
	if (o->ref_cache && (effc_mkdir_p(o->ref_cache, &d) ? effc_report(&d) : ref_cache_key(&t)))
		return 1;
	if (build(&t, builddir, 0))
		return 1;
	int failed = run_seeds(&t);
	if (!failed)
		failed = memory_report(&t);
	if (o->layers)
		failed |= layers(&t);
	if (!failed && o->bench > 0)
		failed = bench(&t);
	return failed;
}

/* A passing run with --work keeps only its log: the generated code, its two builds and the
 * tensor dumps are ~150 MB for B0, and a suite of dozens of runs would fill a CI disk. Only
 * what difftest itself writes goes, since DIR may be the user's. */
static void clean_work(const char *work)
{
	static const char *const made[] = {"gen", "layers", "layers.onnx", "ort_args.txt"};
	char path[4400];
	for (size_t i = 0; i < sizeof made / sizeof *made; i++) {
		snprintf(path, sizeof path, "%s/%s", work, made[i]);
		effc_rm_rf(path);
	}
	DIR *dir = opendir(work);
	if (!dir)
		return;
	for (struct dirent *e; (e = readdir(dir));) {
		size_t n = strlen(e->d_name);
		if (n > 4 && !strcmp(e->d_name + n - 4, ".f32") &&
		    (!strncmp(e->d_name, "in", 2) || !strncmp(e->d_name, "out", 3) ||
		     !strncmp(e->d_name, "ref", 3) || !strncmp(e->d_name, "fref", 4) || !strncmp(e->d_name, "layers_out", 10) ||
		     !strncmp(e->d_name, "bench_out", 9))) {
			snprintf(path, sizeof path, "%s/%s", work, e->d_name);
			remove(path);
		}
	}
	closedir(dir);
}

int effc_cmd_difftest(int argc, char **argv)
{
	struct dt_opts o;
	if (parse_args(argc, argv, &o))
		return 2;
	struct effc_arena *arena = effc_arena_new();
	struct effc_diag d = {{0}, EFFC_OK};
	struct effc_graph *g = NULL;
	char work[4096];
	if (!arena)
		return fprintf(stderr, "effc: out of memory\n"), 1;
	if (o.work) {
		snprintf(work, sizeof work, "%s", o.work);
		if (effc_mkdir_p(work, &d)) {
			effc_arena_free(arena);
			return effc_report(&d);
		}
	} else {
		const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
		snprintf(work, sizeof work, "%s/effc-difftest-XXXXXX", tmp);
		if (!mkdtemp(work)) {
			effc_arena_free(arena);
			return fprintf(stderr, "effc: cannot create a work directory in %s\n", tmp), 1;
		}
	}
	char gen[4200], report[4096];
	snprintf(gen, sizeof gen, "%s/gen", work);
	struct effc_emit_options eo = {.name = "model", .out_dir = gen, .cmdline = "effc difftest"};
	int rc;
	if (effc_build_graph(o.model, &o.common, arena, &g, report, sizeof report, &d) || effc_emit(g, &eo, &d))
		rc = effc_report(&d);
	else
		rc = difftest(&o, work, g);
	if (o.keep || rc)
		printf("difftest: work directory kept at %s\n", work);
	else if (!o.work)
		effc_rm_rf(work);
	else
		clean_work(work);
	effc_arena_free(arena);
	return rc;
}
