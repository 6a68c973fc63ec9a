/* difftest.c: `effc difftest`. Compiles the model, builds the generated directory with CMake,
 * runs it and ONNX Runtime (tools/ort_run.js on onnxruntime-node) on seeded random inputs and
 * compares every output: it passes when max|a - b| <= tol * max(1, max|ref|) for all of them.
 * It also reports how much the reference outputs of two seeds differ, in units of that
 * tolerance: a model that ignores its input would pass any diff test, so that figure is part of
 * the verdict when --min-sensitivity is given. */
#define _POSIX_C_SOURCE 200809L
#include "driver.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef EFFC_SOURCE_DIR
#define EFFC_SOURCE_DIR "."
#endif

struct dt_opts {
	const char *model, *work;
	int seeds, threads, bench, keep;
	double tol, min_sens;
	int64_t batch;
};

/* Single-quotes a word for /bin/sh. */
static void shq(char *dst, size_t cap, const char *s)
{
	size_t k = 0;
	if (k < cap - 1)
		dst[k++] = '\'';
	for (; *s && k + 5 < cap; s++) {
		if (*s == '\'') {
			memcpy(dst + k, "'\\''", 4);
			k += 4;
		} else {
			dst[k++] = *s;
		}
	}
	dst[k++] = '\'';
	dst[k] = 0;
}

/* Runs a shell command; stdout is captured into out (if given), stderr goes to the log. */
static int run_sh(const char *cmd, const char *log, char *out, size_t out_cap)
{
	char full[16384];
	char lq[4200];
	shq(lq, sizeof lq, log);
	snprintf(full, sizeof full, "%s 2>>%s%s%s", cmd, lq, out ? "" : " >>", out ? "" : lq);
	FILE *p = popen(full, "r");
	if (!p)
		return -1;
	size_t k = 0;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		if (out && k + n < out_cap) {
			memcpy(out + k, buf, n);
			k += n;
		}
	if (out)
		out[k] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void show_log_tail(const char *log)
{
	FILE *f = fopen(log, "r");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, size > 3000 ? size - 3000 : 0, SEEK_SET);
	char buf[3001];
	size_t n = fread(buf, 1, 3000, f);
	buf[n] = 0;
	fclose(f);
	fprintf(stderr, "--- end of %s ---\n%s\n---\n", log, buf);
}

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

static int parse_args(int argc, char **argv, struct dt_opts *o)
{
	*o = (struct dt_opts){.seeds = 3, .threads = 1, .tol = 1e-4, .batch = 1};
	for (int i = 0; i < argc; i++) {
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
		else if (!strcmp(a, "--batch") && v)
			o->batch = strtoll(v, &end, 10), i++;
		else if (!strcmp(a, "--work") && v)
			o->work = v, i++;
		else if (!strcmp(a, "--keep"))
			o->keep = 1;
		else if (a[0] == '-' && a[1])
			return fprintf(stderr, "effc: difftest: unknown option %s\n", a), -1;
		else if (!o->model)
			o->model = a;
		else
			return fprintf(stderr, "effc: difftest: more than one model given\n"), -1;
		if (end && *end)
			return fprintf(stderr, "effc: difftest: bad value '%s' for %s\n", v, a), -1;
	}
	if (!o->model)
		return fprintf(stderr, "effc: difftest needs MODEL.onnx\n"), -1;
	if (o->seeds < 1 || o->seeds > 1000 || o->threads < 1 || o->threads > 256 || o->bench < 0 || !(o->tol > 0) ||
	    o->batch < 1 || o->batch > 65536)
		return fprintf(stderr, "effc: difftest: --seeds 1..1000, --threads 1..256, --tol > 0, --batch >= 1\n"), -1;
	return 0;
}

static int parse_ms(const char *out, const char *key, double *v)
{
	const char *p = strstr(out, key);
	return p ? (sscanf(p + strlen(key), "%lf", v) == 1 ? 0 : -1) : -1;
}

static int difftest(struct dt_opts *o, const char *work, struct effc_graph *g)
{
	char log[4200], cmd[16384], q1[4200], q2[4200], path[4300];
	snprintf(log, sizeof log, "%s/difftest.log", work);
	/* Build the generated directory. */
	snprintf(path, sizeof path, "%s/gen", work);
	shq(q1, sizeof q1, path);
	snprintf(cmd, sizeof cmd, "cmake -S %s -B %s/build -DCMAKE_BUILD_TYPE=Release && cmake --build %s/build -j 2", q1, q1, q1);
	if (run_sh(cmd, log, NULL, 0) != 0) {
		fprintf(stderr, "effc: %s: building the generated code failed\n", o->model);
		show_log_tail(log);
		return 1;
	}
	const char *script = getenv("EFFC_ORT_RUN") ? getenv("EFFC_ORT_RUN") : EFFC_SOURCE_DIR "/tools/ort_run.js";
	const char *node = getenv("EFFC_NODE") ? getenv("EFFC_NODE") : "node";
	float **refs0 = calloc((size_t)g->n_outputs, sizeof(float *));
	double worst = 0, sens = INFINITY;
	int failed = 0;
	for (int s = 0; s < o->seeds && refs0; s++) {
		/* Inputs. */
		char runner_args[8192] = "", ort_args[8192] = "";
		size_t ra = 0, oa = 0;
		for (int k = 0; k < g->n_inputs; k++) {
			const struct effc_tensor *t = &g->t[g->inputs[k]];
			float *x = random_input(effc_tensor_numel(t), (uint64_t)s * 1000003u + (uint64_t)k);
			snprintf(path, sizeof path, "%s/in%d_%d.f32", work, s, k);
			struct effc_diag d;
			if (!x || effc_write_file(path, x, (size_t)effc_tensor_numel(t) * 4, &d)) {
				free(x);
				fprintf(stderr, "effc: %s: cannot write %s\n", o->model, path);
				failed = 1;
				goto done;
			}
			free(x);
			shq(q1, sizeof q1, path);
			ra += (size_t)snprintf(runner_args + ra, sizeof runner_args - ra, " %s", q1);
			char spec[4600];
			int sk = snprintf(spec, sizeof spec, "%s=%s:", t->name, path);
			for (int i = 0; i < t->rank; i++)
				sk += snprintf(spec + sk, sizeof spec - (size_t)sk, "%s%" PRId64, i ? "," : "", t->dims[i]);
			shq(q2, sizeof q2, spec);
			oa += (size_t)snprintf(ort_args + oa, sizeof ort_args - oa, " --input %s", q2);
		}
		for (int k = 0; k < g->n_outputs; k++) {
			snprintf(path, sizeof path, "%s/out%d_%d.f32", work, s, k);
			shq(q1, sizeof q1, path);
			ra += (size_t)snprintf(runner_args + ra, sizeof runner_args - ra, " %s", q1);
			char spec[4600];
			snprintf(spec, sizeof spec, "%s=%s/ref%d_%d.f32", g->t[g->outputs[k]].name, work, s, k);
			shq(q2, sizeof q2, spec);
			oa += (size_t)snprintf(ort_args + oa, sizeof ort_args - oa, " --output %s", q2);
		}
		snprintf(path, sizeof path, "%s/gen/build/model_runner", work);
		shq(q1, sizeof q1, path);
		snprintf(cmd, sizeof cmd, "%s --threads %d%s", q1, o->threads, runner_args);
		if (run_sh(cmd, log, NULL, 0) != 0) {
			fprintf(stderr, "effc: %s: the generated runner failed (seed %d)\n", o->model, s);
			show_log_tail(log);
			failed = 1;
			goto done;
		}
		shq(q1, sizeof q1, node);
		shq(q2, sizeof q2, script);
		char mq[4200];
		shq(mq, sizeof mq, o->model);
		snprintf(cmd, sizeof cmd, "%s %s --model %s --threads %d%s", q1, q2, mq, o->threads, ort_args);
		char ort_out[4096];
		if (run_sh(cmd, log, ort_out, sizeof ort_out) != 0) {
			fprintf(stderr, "effc: %s: ONNX Runtime failed (seed %d); is onnxruntime-node installed (scripts/setup.sh)?\n",
				o->model, s);
			show_log_tail(log);
			failed = 1;
			goto done;
		}
		for (int k = 0; k < g->n_outputs; k++) {
			const struct effc_tensor *t = &g->t[g->outputs[k]];
			int64_t n = effc_tensor_numel(t);
			char p2[4300];
			snprintf(path, sizeof path, "%s/out%d_%d.f32", work, s, k);
			snprintf(p2, sizeof p2, "%s/ref%d_%d.f32", work, s, k);
			float *a = read_floats(path, n), *b = read_floats(p2, n);
			if (!a || !b) {
				fprintf(stderr, "effc: %s: output '%s' missing or of the wrong size (seed %d)\n", o->model, t->name, s);
				free(a), free(b);
				failed = 1;
				goto done;
			}
			double max_abs = 0, max_rel = 0, max_ref = 0;
			int nan = 0;
			for (int64_t i = 0; i < n; i++) {
				double diff = fabs((double)a[i] - b[i]);
				if (isnan(a[i]) != isnan(b[i]))
					nan = 1;
				if (diff > max_abs)
					max_abs = diff;
				double rel = diff / (fabs(b[i]) > 1e-6 ? fabs(b[i]) : 1e-6);
				if (rel > max_rel)
					max_rel = rel;
				if (fabs(b[i]) > max_ref)
					max_ref = fabs(b[i]);
			}
			double bound = o->tol * (max_ref > 1 ? max_ref : 1);
			int ok = !nan && max_abs <= bound;
			printf("seed %d output '%s': max_abs_err=%.3g max_rel_err=%.3g max_ref=%.4g bound=%.3g %s\n", s, t->name,
			       max_abs, max_rel, max_ref, bound, ok ? "ok" : "MISMATCH");
			if (!ok)
				failed = 1;
			if (max_abs / bound > worst)
				worst = max_abs / bound;
			if (s == 0) {
				refs0[k] = b;
				b = NULL;
			} else if (s == 1) {
				double d = 0;
				for (int64_t i = 0; i < n; i++)
					if (fabs((double)refs0[k][i] - b[i]) > d)
						d = fabs((double)refs0[k][i] - b[i]);
				double sk = d / bound;
				printf("sensitivity output '%s': references of seeds 0 and 1 differ by %.4g = %.1fx the tolerance\n",
				       t->name, d, sk);
				if (sk < sens)
					sens = sk;
			}
			free(a);
			free(b);
		}
	}
	printf("difftest %s: %d seed(s), worst error %.3f of tolerance %g -> %s\n", o->model, o->seeds, worst, o->tol,
	       failed ? "FAIL" : "PASS");
	if (!failed && o->min_sens > 0) {
		if (o->seeds < 2) {
			fprintf(stderr, "effc: %s: --min-sensitivity needs --seeds >= 2\n", o->model);
			failed = 1;
		} else if (!(sens >= o->min_sens)) {
			fprintf(stderr, "effc: %s: outputs are input-insensitive: seeds 0 and 1 differ by %.1fx the tolerance, "
					"less than the required %.1fx\n", o->model, sens, o->min_sens);
			failed = 1;
		}
	}
	if (!failed && o->bench > 0) {
		/* Alternate effc and ORT so machine drift hits both alike. */
		snprintf(path, sizeof path, "%s/gen/build/model_runner", work);
		shq(q1, sizeof q1, path);
		char runner_cmd[8192], ort_cmd[16384], p1[4300], p2[4300], mq[4200], nq[4200], sq[4200];
		snprintf(p1, sizeof p1, "%s/in0_0.f32", work);
		snprintf(p2, sizeof p2, "%s/bench_out.f32", work);
		char in_q[4400], out_q[4400];
		shq(in_q, sizeof in_q, p1);
		shq(out_q, sizeof out_q, p2);
		snprintf(runner_cmd, sizeof runner_cmd, "%s --threads %d --repeat %d", q1, o->threads, o->bench);
		for (int k = 0; k < g->n_inputs; k++) {
			snprintf(p1, sizeof p1, "%s/in0_%d.f32", work, k);
			shq(in_q, sizeof in_q, p1);
			strncat(runner_cmd, " ", sizeof runner_cmd - strlen(runner_cmd) - 1);
			strncat(runner_cmd, in_q, sizeof runner_cmd - strlen(runner_cmd) - 1);
		}
		for (int k = 0; k < g->n_outputs; k++) {
			strncat(runner_cmd, " ", sizeof runner_cmd - strlen(runner_cmd) - 1);
			strncat(runner_cmd, out_q, sizeof runner_cmd - strlen(runner_cmd) - 1);
		}
		shq(mq, sizeof mq, o->model);
		shq(nq, sizeof nq, node);
		shq(sq, sizeof sq, script);
		size_t ol = (size_t)snprintf(ort_cmd, sizeof ort_cmd, "%s %s --model %s --threads %d --repeat %d --bench-only", nq,
					     sq, mq, o->threads, o->bench);
		for (int k = 0; k < g->n_inputs; k++) {
			const struct effc_tensor *t = &g->t[g->inputs[k]];
			char spec[4600];
			int sk = snprintf(spec, sizeof spec, "%s=%s/in0_%d.f32:", t->name, work, k);
			for (int i = 0; i < t->rank; i++)
				sk += snprintf(spec + sk, sizeof spec - (size_t)sk, "%s%" PRId64, i ? "," : "", t->dims[i]);
			shq(q2, sizeof q2, spec);
			ol += (size_t)snprintf(ort_cmd + ol, sizeof ort_cmd - ol, " --input %s", q2);
		}
		for (int k = 0; k < g->n_outputs; k++) {
			shq(q2, sizeof q2, g->t[g->outputs[k]].name);
			ol += (size_t)snprintf(ort_cmd + ol, sizeof ort_cmd - ol, " --output %s", q2);
		}
		double em[2] = {INFINITY, INFINITY}, om[2] = {INFINITY, INFINITY};
		for (int round = 0; round < 2; round++) {
			char out[4096];
			double med, mn;
			if (run_sh(runner_cmd, log, out, sizeof out) || parse_ms(out, "median_ms=", &med) || parse_ms(out, "min_ms=", &mn)) {
				fprintf(stderr, "effc: %s: benchmark of the generated code failed\n", o->model);
				show_log_tail(log);
				failed = 1;
				break;
			}
			em[0] = med < em[0] ? med : em[0], em[1] = mn < em[1] ? mn : em[1];
			if (run_sh(ort_cmd, log, out, sizeof out) || parse_ms(out, "median_ms=", &med) || parse_ms(out, "min_ms=", &mn)) {
				fprintf(stderr, "effc: %s: benchmark of ONNX Runtime failed\n", o->model);
				show_log_tail(log);
				failed = 1;
				break;
			}
			om[0] = med < om[0] ? med : om[0], om[1] = mn < om[1] ? mn : om[1];
		}
		if (!failed)
			printf("latency threads=%d: effc median_ms=%.3f min_ms=%.3f | onnxruntime median_ms=%.3f min_ms=%.3f | "
			       "effc/ort=%.2f\n",
			       o->threads, em[0], em[1], om[0], om[1], em[0] / om[0]);
	}
done:
	for (int k = 0; refs0 && k < g->n_outputs; k++)
		free(refs0[k]);
	free(refs0);
	return failed;
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
	char gen[4200];
	snprintf(gen, sizeof gen, "%s/gen", work);
	struct effc_emit_options eo = {.name = "model", .out_dir = gen, .cmdline = "effc difftest"};
	int rc;
	if (effc_build_graph(o.model, o.batch, arena, &g, &d) || effc_emit(g, &eo, &d))
		rc = effc_report(&d);
	else
		rc = difftest(&o, work, g);
	if (!o.work && !o.keep)
		effc_rm_rf(work);
	else
		printf("difftest: work directory kept at %s\n", work);
	effc_arena_free(arena);
	return rc;
}
