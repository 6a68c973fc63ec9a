/* gen_cmd.c: the generator's commands. `gen` writes one model (ONNX or C), `scale` tabulates
 * the family (and times it with --bench), `fit` searches phi (or, with --family v2, the V2
 * variant and resolution) for the largest model whose generated code meets a latency budget on
 * this machine. */
#define _POSIX_C_SOURCE 200809L
#include "driver.h"
#include "gen.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void gen_defaults(struct effc_gen_options *o)
{
	memset(o, 0, sizeof *o);
	o->variant = -1;
	o->alpha = 1.2, o->beta = 1.1, o->gamma = 1.15;
	o->classes = 1000;
}

static int num(const char *s, double *v)
{
	char *end;
	*v = strtod(s, &end);
	return *s && !*end ? 0 : -1;
}

/* Generator flags shared by gen and fit; 1 consumed, 0 not ours, -1 bad value, -2 bad value
 * already reported. */
static int parse_gen_flag(struct effc_gen_options *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	static const char *const names[] = {"--phi", "--alpha", "--beta", "--gamma", "--width", "--depth",
					    "--resolution", "--classes", "--seed", "--variant"};
	int which = -1;
	for (int k = 0; k < 10; k++)
		if (!strcmp(a, names[k]))
			which = k;
	if (which < 0)
		return 0;
	if (*i + 1 >= argc)
		return -1;
	const char *v = argv[++*i];
	double x;
	if (which == 9) {
		if ((o->variant = effc_gen_parse_variant(v)) >= 0)
			return 1;
		fprintf(stderr, "effc: --variant '%s': no such variant (known: " EFFC_GEN_VARIANT_NAMES ")\n", v);
		return -2;
	}
	if (num(v, &x))
		return -1;
	switch (which) {
	case 0: o->phi = x; break;
	case 1: o->alpha = x; break;
	case 2: o->beta = x; break;
	case 3: o->gamma = x; break;
	case 4: o->width = x; break;
	case 5: o->depth = x; break;
	case 6: o->resolution = (int)x; break;
	case 7: o->classes = (int)x; break;
	default:
		if (x < 0 || x > 1e18)
			return -1;
		o->seed = (uint64_t)x;
		break;
	}
	return 1;
}

static int64_t graph_macs(const struct effc_graph *g)
{
	struct effc_stats s;
	effc_graph_stats(g, &s);
	return s.macs;
}

/* Generates into a fresh graph. */
static enum effc_status generate(struct effc_arena *arena, struct effc_gen_options *o, struct effc_graph **g,
				 struct effc_gen_info *info, struct effc_diag *d)
{
	enum effc_status st = effc_gen_resolve(o, d);
	if (st)
		return st;
	const char *what = "(generated)";
	if (o->variant >= 0)
		what = effc_gen_is_v2(o->variant) ? "(generated V2)" : "(generated bK)";
	*g = effc_graph_new(arena, what);
	if (!*g)
		return effc_fail(d, EFFC_ERR_NOMEM, "out of memory");
	return effc_gen_graph(*g, o, info, d);
}

static void describe(const struct effc_gen_options *o, const struct effc_gen_info *info, int64_t macs)
{
	if (o->variant >= 0)
		printf("efficientnet-%s", effc_gen_variant_name(o->variant));
	else
		printf("efficientnet phi=%g (alpha %g, beta %g, gamma %g)", o->phi, o->alpha, o->beta, o->gamma);
	printf(": width x%.4g, depth x%.4g, resolution %d, %d blocks, %" PRId64 " parameters, %" PRId64 " MACs\n",
	       o->res_width, o->res_depth, o->res_resolution, info->blocks, info->params, macs);
}

int effc_cmd_gen(int argc, char **argv, const char *cmdline)
{
	struct effc_gen_options o;
	struct effc_common_options co;
	const char *onnx_out = NULL, *c_out = NULL, *name = "efficientnet";
	struct effc_emit_options eo;
	int image_opts = 0;
	gen_defaults(&o);
	effc_common_init(&co);
	effc_emit_cli_init(&eo);
	int have_phi = 0;
	for (int i = 0; i < argc; i++) {
		int r = parse_gen_flag(&o, argc, argv, &i);
		if (!r)
			r = effc_common_parse(&co, argc, argv, &i);
		if (!r && (r = effc_emit_cli_parse(&eo, argc, argv, &i, &image_opts)) < 0)
			return 2;
		if (r == -2)
			return 2;
		if (r < 0)
			return fprintf(stderr, "effc: gen: bad or missing value for %s\n", argv[i]), 2;
		if (r) {
			have_phi |= !strcmp(argv[i - 1], "--phi");
			continue;
		}
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			onnx_out = argv[++i];
		else if (!strcmp(argv[i], "--emit-c") && i + 1 < argc)
			c_out = argv[++i];
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else
			return fprintf(stderr, "effc: gen: unknown argument %s\n", argv[i]), 2;
	}
	if (o.variant >= 0 && have_phi)
		return fprintf(stderr, "effc: gen: give --variant or --phi, not both\n"), 2;
	if (!onnx_out && !c_out)
		return fprintf(stderr, "effc: gen needs -o MODEL.onnx or --emit-c DIR\n"), 2;
	if (effc_emit_cli_check(&eo, image_opts))
		return 2;
	if (!c_out && (eo.weights || eo.image))
		return fprintf(stderr, "effc: gen: --weights and --image-input shape the C output: give --emit-c DIR\n"), 2;
	if (!effc_c_ident_ok(name))
		return fprintf(stderr, "effc: gen: --name must be a C identifier\n"), 2;
	struct effc_arena *arena = effc_arena_new();
	struct effc_diag d = {{0}, EFFC_OK};
	struct effc_graph *g = NULL;
	struct effc_gen_info info;
	int rc = 0;
	if (!arena)
		return fprintf(stderr, "effc: out of memory\n"), 1;
	if (generate(arena, &o, &g, &info, &d)) {
		rc = effc_report(&d);
		goto done;
	}
	describe(&o, &info, graph_macs(g));
	if (onnx_out) {
		if (effc_write_onnx(g, onnx_out, &d)) {
			rc = effc_report(&d);
			goto done;
		}
		printf("wrote %s\n", onnx_out);
	}
	if (c_out) {
		char report[4096];
		eo.name = name, eo.out_dir = c_out, eo.cmdline = cmdline;
		if (effc_optimize_graph(g, &co, report, sizeof report, &d) || effc_emit(g, &eo, &d)) {
			rc = effc_report(&d);
			goto done;
		}
		if (co.verbose)
			printf("%s", report);
		printf("wrote %s/%s.c (arena %zu bytes, weights %zu bytes)\n", c_out, name, g->arena_bytes, g->weights_bytes);
	}
done:
	effc_arena_free(arena);
	return rc;
}

/* Generates, compiles, builds and times one model; returns 0 and the median latency. */
static int bench_point(struct effc_gen_options *o, int threads, int repeat, const char *work, double *ms,
		       double *create_ms)
{
	struct effc_arena *arena = effc_arena_new();
	struct effc_diag d = {{0}, EFFC_OK};
	struct effc_graph *g = NULL;
	struct effc_gen_info info;
	struct effc_common_options co;
	effc_common_init(&co);
	char dir[4200], build[4300], log[4300], runner[4400];
	snprintf(dir, sizeof dir, "%s/gen", work);
	snprintf(build, sizeof build, "%s/gen/build", work);
	snprintf(log, sizeof log, "%s/bench.log", work);
	snprintf(runner, sizeof runner, "%s/model_runner", build);
	struct effc_emit_options eo = {.name = "model", .out_dir = dir, .cmdline = "effc bench"};
	int rc = 1;
	o->no_calibrate = 0; /* uncalibrated weights overflow into slow denormal and inf arithmetic */
	if (!arena || generate(arena, o, &g, &info, &d) || effc_optimize_graph(g, &co, NULL, 0, &d) || effc_emit(g, &eo, &d))
		rc = arena ? effc_report(&d) : 1;
	else if (effc_build_generated(dir, build, 0, NULL, log))
		fprintf(stderr, "effc: building the generated code failed (see %s)\n", log);
	else
		rc = effc_bench_runner(runner, g, work, threads, repeat, ms, create_ms, log);
	effc_arena_free(arena);
	return rc;
}

static int make_work(char *work, size_t cap)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(work, cap, "%s/effc-bench-XXXXXX", tmp);
	return mkdtemp(work) ? 0 : -1;
}

/* "A..B" (A not after B in the order b0..b7, v2-s..v2-l) or one variant "A". */
static int parse_variant_range(const char *s, int *lo, int *hi)
{
	const char *dots = strstr(s, "..");
	char first[16];
	if (!dots) {
		*lo = *hi = effc_gen_parse_variant(s);
		return *lo < 0 ? -1 : 0;
	}
	if (dots - s >= (ptrdiff_t)sizeof first)
		return -1;
	memcpy(first, s, (size_t)(dots - s));
	first[dots - s] = 0;
	*lo = effc_gen_parse_variant(first);
	*hi = effc_gen_parse_variant(dots + 2);
	return *lo < 0 || *hi < 0 || *lo > *hi ? -1 : 0;
}

struct row {
	char label[32];
	double phi, w, dm;
	int res;
	int64_t params, macs;
	double ms;
};

static void write_svg(const char *path, const struct row *r, int n, int bench)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return;
	const double W = 640, H = 400, L = 70, R = 70, T = 30, B = 50;
	double maxm = 1, maxl = 1e-9;
	for (int i = 0; i < n; i++) {
		maxm = fmax(maxm, (double)r[i].macs / 1e9);
		maxl = fmax(maxl, r[i].ms);
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%g\" y=\"18\">EfficientNet scaling: GMACs (blue, left)%s</text>\n", L,
		bench ? " and latency ms (red, right)" : "");
	fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
	fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n", L, T, L, H - B);
	for (int s = 0; s <= 1; s++) {
		if (s == 1 && !bench)
			break;
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", s ? "#c0392b" : "#2e86c1");
		for (int i = 0; i < n; i++) {
			double x = L + (n > 1 ? (W - L - R) * i / (n - 1) : 0);
			double v = s ? r[i].ms / maxl : (double)r[i].macs / 1e9 / maxm;
			fprintf(f, "%.1f,%.1f ", x, H - B - v * (H - T - B));
		}
		fprintf(f, "\"/>\n");
	}
	for (int i = 0; i < n; i++) {
		double x = L + (n > 1 ? (W - L - R) * i / (n - 1) : 0);
		fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", x, H - B + 18, r[i].label);
	}
	fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.2f</text>\n", L - 4, T + 4, maxm);
	fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">0</text>\n", L - 4, H - B);
	if (bench)
		fprintf(f, "<text x=\"%g\" y=\"%g\">%.1f ms</text>\n", W - R + 4, T + 4, maxl);
	fprintf(f, "</svg>\n");
	fclose(f);
}

int effc_cmd_scale(int argc, char **argv)
{
	double a = 0, b = 7, step = 1;
	int variants = 0, bench = 0, threads = 1, repeat = 20;
	const char *csv = NULL, *svg = NULL;
	struct effc_gen_options base;
	gen_defaults(&base);
	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--phi") && v) {
			if (sscanf(v, "%lf:%lf:%lf", &a, &b, &step) != 3 || step <= 0 || b < a || (b - a) / step > 100)
				return fprintf(stderr, "effc: scale: --phi wants A:B:STEP with A <= B, at most 100 steps\n"), 2;
			variants = 0, i++;
		} else if (!strcmp(argv[i], "--variants") && v) {
			int lo, hi;
			if (parse_variant_range(v, &lo, &hi))
				return fprintf(stderr, "effc: scale: --variants wants A..B or one variant, in the order "
						       EFFC_GEN_VARIANT_NAMES " (e.g. b0..b7, v2-s..v2-l)\n"), 2;
			a = lo, b = hi, step = 1, variants = 1, i++;
		} else if (!strcmp(argv[i], "--bench")) {
			bench = 1;
		} else if (!strcmp(argv[i], "--threads") && v) {
			threads = atoi(v), i++;
		} else if (!strcmp(argv[i], "--repeat") && v) {
			repeat = atoi(v), i++;
		} else if (!strcmp(argv[i], "--csv") && v) {
			csv = v, i++;
		} else if (!strcmp(argv[i], "--svg") && v) {
			svg = v, i++;
		} else {
			int k = i, r = parse_gen_flag(&base, argc, argv, &k);
			if (r <= 0 || !strcmp(argv[i], "--phi") || !strcmp(argv[i], "--variant"))
				return fprintf(stderr, "effc: scale: unknown or bad argument %s\n", argv[i]), 2;
			i = k;
		}
	}
	if (threads < 1 || repeat < 1)
		return fprintf(stderr, "effc: scale: --threads and --repeat must be >= 1\n"), 2;
	int n = (int)floor((b - a) / step + 1e-9) + 1;
	struct row *rows = calloc((size_t)n, sizeof *rows);
	char work[4096] = "";
	if (!rows || (bench && make_work(work, sizeof work)))
		return fprintf(stderr, "effc: out of memory or no temporary directory\n"), 1;
	int64_t b0_macs = 0;
	int rc = 0;
	printf("| %-8s | %6s | %6s | %6s | %5s | %12s | %14s | %9s | %9s |%s\n", variants ? "variant" : "phi", "d", "w", "r",
	       "res", "params", "MACs", "FLOPs/B0", "2^phi", bench ? " latency ms |" : "");
	printf("|----------|--------|--------|--------|-------|--------------|----------------|-----------|-----------|%s\n",
	       bench ? "------------|" : "");
	for (int i = 0; i < n && !rc; i++) {
		struct effc_gen_options o = base;
		double phi = a + step * i;
		if (variants)
			o.variant = (int)phi;
		else
			o.phi = phi;
		o.no_calibrate = 1;
		struct effc_arena *arena = effc_arena_new();
		struct effc_graph *g = NULL;
		struct effc_gen_info info;
		struct effc_diag d = {{0}, EFFC_OK};
		if (!arena || generate(arena, &o, &g, &info, &d)) {
			rc = arena ? effc_report(&d) : 1;
			effc_arena_free(arena);
			break;
		}
		struct row *r = &rows[i];
		if (variants)
			snprintf(r->label, sizeof r->label, "%s", effc_gen_variant_name(o.variant));
		else
			snprintf(r->label, sizeof r->label, "%g", phi);
		r->phi = phi, r->w = o.res_width, r->dm = o.res_depth, r->res = o.res_resolution;
		r->params = info.params, r->macs = graph_macs(g);
		effc_arena_free(arena);
		if (i == 0 || !b0_macs) {
			struct effc_gen_options z = base;
			z.variant = 0;
			z.no_calibrate = 1;
			struct effc_arena *a0 = effc_arena_new();
			struct effc_graph *g0 = NULL;
			if (a0 && !generate(a0, &z, &g0, &info, &d))
				b0_macs = graph_macs(g0);
			effc_arena_free(a0);
		}
		if (bench) {
			double cr;
			if (bench_point(&o, threads, repeat, work, &r->ms, &cr)) {
				rc = 1;
				break;
			}
		}
		char pred[32];
		snprintf(pred, sizeof pred, "%.3g", pow(2.0, phi));
		printf("| %-8s | %6.3f | %6.3f | %6.3f | %5d | %12" PRId64 " | %14" PRId64 " | %9.3f | %9s |", r->label, r->dm,
		       r->w, r->res / 224.0, r->res, r->params, r->macs, b0_macs ? (double)r->macs / b0_macs : 0.0,
		       variants ? "-" : pred);
		if (bench)
			printf(" %10.3f |", r->ms);
		printf("\n");
		fflush(stdout);
	}
	if (!rc && csv) {
		FILE *f = fopen(csv, "w");
		if (!f) {
			fprintf(stderr, "effc: %s: cannot write\n", csv);
			rc = 1;
		} else {
			fprintf(f, "%s,depth,width,resolution_mult,resolution,params,macs,flops_ratio_b0,pow2_phi%s\n",
				variants ? "variant" : "phi", bench ? ",latency_ms,threads" : "");
			for (int i = 0; i < n; i++) {
				fprintf(f, "%s,%.4f,%.4f,%.4f,%d,%" PRId64 ",%" PRId64 ",%.4f,%s", rows[i].label, rows[i].dm, rows[i].w,
					rows[i].res / 224.0, rows[i].res, rows[i].params, rows[i].macs,
					b0_macs ? (double)rows[i].macs / b0_macs : 0.0, variants ? "" : "");
				if (!variants)
					fprintf(f, "%.4f", pow(2.0, rows[i].phi));
				if (bench)
					fprintf(f, ",%.3f,%d", rows[i].ms, threads);
				fprintf(f, "\n");
			}
			fclose(f);
		}
	}
	if (!rc && svg)
		write_svg(svg, rows, n, bench);
	if (bench && !rc)
		effc_rm_rf(work);
	free(rows);
	return rc;
}

/* Times the model o (phi or a V2 variant at a resolution) and reports it against the budget. */
static int fit_probe(const struct effc_gen_options *o, int threads, int repeat, const char *work, double budget,
		     double *ms)
{
	struct effc_gen_options p = *o;
	double create_ms;
	if (bench_point(&p, threads, repeat, work, ms, &create_ms))
		return 1;
	if (p.variant >= 0)
		printf("%-6s resolution %4d: %.3f ms %s\n", effc_gen_variant_name(p.variant), p.res_resolution, *ms,
		       *ms <= budget ? "fits" : "over budget");
	else
		printf("phi=%-6g resolution %4d: %.3f ms %s\n", p.phi, p.res_resolution, *ms,
		       *ms <= budget ? "fits" : "over budget");
	fflush(stdout);
	return 0;
}

/* V1: latency grows with phi; walk up in whole steps, then bisect on the --step grid. Returns 0
 * and the chosen options in *best, 1 on an error, 2 when even phi=0 is over budget. */
static int fit_phi(const struct effc_gen_options *base, double step, double max_phi, int threads, int repeat,
		   const char *work, double budget, struct effc_gen_options *best, double *best_ms)
{
	int lo = -1, hi = -1;
	const int kmax = (int)floor(max_phi / step + 1e-9);
	const int stride = (int)fmax(1, floor(1.0 / step + 1e-9));
	struct effc_gen_options o = *base;
	for (int k = 0; k <= kmax; k += stride) {
		double ms;
		o.phi = k * step;
		if (fit_probe(&o, threads, repeat, work, budget, &ms))
			return 1;
		if (ms <= budget) {
			lo = k, *best_ms = ms;
		} else {
			hi = k;
			break;
		}
	}
	if (lo < 0) {
		fprintf(stderr, "effc: fit: even phi=0 needs more than %.3f ms at %d thread(s)\n", budget, threads);
		return 2;
	}
	while (hi >= 0 && hi - lo > 1) {
		int mid = (lo + hi) / 2;
		double ms;
		o.phi = mid * step;
		if (fit_probe(&o, threads, repeat, work, budget, &ms))
			return 1;
		if (ms <= budget)
			lo = mid, *best_ms = ms;
		else
			hi = mid;
	}
	*best = *base;
	best->phi = lo * step;
	return 0;
}

/* V2: the largest variant (s < m < l) that meets the budget at 224, then the largest resolution
 * for it, a multiple of 32 from 224 up to the variant's own (384 or 480); latency grows with
 * both, so the variants are walked up at 224 and the resolution bisected. Returns as fit_phi. */
static int fit_v2(const struct effc_gen_options *base, int threads, int repeat, const char *work, double budget,
		  struct effc_gen_options *best, double *best_ms)
{
	struct effc_gen_options o = *base;
	int variant = -1;
	for (int v = EFFC_GEN_V2_S; v <= EFFC_GEN_V2_L; v++) {
		double ms;
		o.variant = v, o.resolution = 224;
		if (fit_probe(&o, threads, repeat, work, budget, &ms))
			return 1;
		if (ms > budget)
			break;
		variant = v, *best_ms = ms;
	}
	if (variant < 0) {
		fprintf(stderr, "effc: fit: even v2-s at 224 needs more than %.3f ms at %d thread(s)\n", budget,
			threads);
		return 2;
	}
	struct effc_gen_options def = *base;
	struct effc_diag d = {{0}, EFFC_OK};
	def.variant = variant, def.resolution = 0;
	if (effc_gen_resolve(&def, &d))
		return effc_report(&d);
	/* Resolutions 224 + 32 k, k = 0 (fits) .. kmax: try the variant's own first, then bisect. */
	int lo = 0, hi = (def.res_resolution - 224) / 32 + 1;
	o.variant = variant;
	while (hi - lo > 1) {
		int k = hi == (def.res_resolution - 224) / 32 + 1 ? hi - 1 : (lo + hi) / 2;
		double ms;
		o.resolution = 224 + 32 * k;
		if (fit_probe(&o, threads, repeat, work, budget, &ms))
			return 1;
		if (ms <= budget)
			lo = k, *best_ms = ms;
		else
			hi = k;
	}
	*best = *base;
	best->variant = variant;
	best->resolution = 224 + 32 * lo;
	return 0;
}

int effc_cmd_fit(int argc, char **argv, const char *cmdline)
{
	double budget = -1, step = 0.25, max_phi = 8;
	int threads = 1, repeat = 20, v2 = 0;
	const char *onnx_out = NULL, *c_out = NULL;
	struct effc_gen_options base;
	gen_defaults(&base);
	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--budget-ms") && v)
			budget = atof(v), i++;
		else if (!strcmp(argv[i], "--threads") && v)
			threads = atoi(v), i++;
		else if (!strcmp(argv[i], "--repeat") && v)
			repeat = atoi(v), i++;
		else if (!strcmp(argv[i], "--step") && v)
			step = atof(v), i++;
		else if (!strcmp(argv[i], "--max-phi") && v)
			max_phi = atof(v), i++;
		else if (!strcmp(argv[i], "--family") && v && (!strcmp(v, "v1") || !strcmp(v, "v2")))
			v2 = v[1] == '2', i++;
		else if (!strcmp(argv[i], "-o") && v)
			onnx_out = v, i++;
		else if (!strcmp(argv[i], "--emit-c") && v)
			c_out = v, i++;
		else {
			int k = i, r = parse_gen_flag(&base, argc, argv, &k);
			if (r <= 0 || !strcmp(argv[i], "--phi") || !strcmp(argv[i], "--variant"))
				return fprintf(stderr, "effc: fit: unknown or bad argument %s\n", argv[i]), 2;
			i = k;
		}
	}
	if (!(budget > 0) || !(step > 0) || max_phi < 0 || max_phi > 20 || threads < 1 || repeat < 1)
		return fprintf(stderr, "effc: fit needs --budget-ms X > 0 (and --step > 0, --max-phi 0..20)\n"), 2;
	if (v2 && (base.width > 0 || base.depth > 0 || base.resolution > 0))
		return fprintf(stderr, "effc: fit: --family v2 chooses the variant and resolution itself: "
				       "--width, --depth and --resolution apply to v1\n"), 2;
	char work[4096];
	if (make_work(work, sizeof work))
		return fprintf(stderr, "effc: no temporary directory\n"), 1;
	struct effc_gen_options o;
	double ms_best = 0;
	int found = v2 ? fit_v2(&base, threads, repeat, work, budget, &o, &ms_best)
		       : fit_phi(&base, step, max_phi, threads, repeat, work, budget, &o, &ms_best);
	effc_rm_rf(work);
	if (found)
		return 1;
	struct effc_arena *arena = effc_arena_new();
	struct effc_graph *g = NULL;
	struct effc_gen_info info;
	struct effc_diag d = {{0}, EFFC_OK};
	int rc = 0;
	if (!arena || generate(arena, &o, &g, &info, &d)) {
		rc = arena ? effc_report(&d) : 1;
	} else {
		printf("chosen: ");
		describe(&o, &info, graph_macs(g));
		printf("chosen: median latency %.3f ms at %d thread(s), budget %.3f ms\n", ms_best, threads, budget);
		if (onnx_out && effc_write_onnx(g, onnx_out, &d))
			rc = effc_report(&d);
		else if (onnx_out)
			printf("wrote %s\n", onnx_out);
		if (!rc && c_out) {
			struct effc_common_options co;
			effc_common_init(&co);
			struct effc_emit_options eo = {.name = "efficientnet", .out_dir = c_out, .cmdline = cmdline};
			if (effc_optimize_graph(g, &co, NULL, 0, &d) || effc_emit(g, &eo, &d))
				rc = effc_report(&d);
			else
				printf("wrote %s/efficientnet.c\n", c_out);
		}
	}
	effc_arena_free(arena);
	return rc;
}
