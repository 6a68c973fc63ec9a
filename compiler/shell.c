/* shell.c: building shell command lines word by word (every word single-quoted) and running
 * them with output captured or logged. Used by difftest, scale and fit to drive CMake, the
 * generated runner and ONNX Runtime. */
#define _POSIX_C_SOURCE 200809L
#include "driver.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>


void effc_cmd_raw(struct effc_cmd *c, const char *s)
{
	size_t n = strlen(s);
	if (c->len + n + 1 > c->cap) {
		size_t nc = (c->cap + n) * 2 + 256;
		char *p = realloc(c->s, nc);
		if (!p)
			abort(); /* a few kilobytes: nothing sensible to do without them */
		c->s = p, c->cap = nc;
	}
	memcpy(c->s + c->len, s, n + 1);
	c->len += n;
}

/* Appends one single-quoted shell word (with a leading space). */
void effc_cmd_arg(struct effc_cmd *c, const char *s)
{
	effc_cmd_raw(c, " '");
	for (const char *p = s; *p; p++) {
		char ch[2] = {*p, 0};
		effc_cmd_raw(c, *p == '\'' ? "'\\''" : ch);
	}
	effc_cmd_raw(c, "'");
}

void effc_cmd_argf(struct effc_cmd *c, const char *fmt, ...)
{
	char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	effc_cmd_arg(c, buf);
}

/* Runs c; stdout is captured into out (if given), everything else goes to the log. */
int effc_cmd_run(struct effc_cmd *c, const char *log, char *out, size_t out_cap)
{
	struct effc_cmd full = {0};
	effc_cmd_raw(&full, c->s);
	effc_cmd_raw(&full, " 2>>");
	effc_cmd_arg(&full, log);
	if (!out) {
		effc_cmd_raw(&full, " >>");
		effc_cmd_arg(&full, log);
	}
	if (getenv("EFFC_DIFFTEST_TRACE"))
		fprintf(stderr, "+ %s\n", full.s);
	FILE *p = popen(full.s, "r");
	free(full.s);
	c->len = 0;
	if (c->s)
		c->s[0] = 0;
	if (!p)
		return -1;
	size_t k = 0, n;
	char buf[4096];
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

void effc_show_log_tail(const char *log)
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


int effc_build_generated(const char *dir, const char *builddir, int debug_tensors, const char *runtime_options, const char *log)
{
	struct effc_cmd c = {0};
	effc_cmd_raw(&c, "cmake -S");
	effc_cmd_arg(&c, dir);
	effc_cmd_raw(&c, " -B");
	effc_cmd_arg(&c, builddir);
	effc_cmd_raw(&c, debug_tensors ? " -DCMAKE_BUILD_TYPE=Release -DEFFC_DEBUG_TENSORS=ON"
				       : " -DCMAKE_BUILD_TYPE=Release -DEFFC_DEBUG_TENSORS=OFF");
	effc_cmd_raw(&c, runtime_options ? runtime_options : " -DEFFC_RT_FORCE_XNNPACK=OFF -DEFFC_RT_PORTABLE=OFF -DEFFC_RT_NO_AVX512=OFF");
	effc_cmd_raw(&c, " && cmake --build");
	effc_cmd_arg(&c, builddir);
	effc_cmd_raw(&c, " -j 2");
	int rc = effc_cmd_run(&c, log, NULL, 0);
	free(c.s);
	if (rc)
		effc_show_log_tail(log);
	return rc ? 1 : 0;
}

int effc_bench_runner(const char *runner, const struct effc_graph *g, const char *work, int threads, int repeat,
		      double *median_ms, double *create_ms, const char *log)
{
	char path[4300], out[4096];
	struct effc_diag d;
	struct effc_cmd c = {0};
	effc_cmd_arg(&c, runner);
	effc_cmd_raw(&c, " --create-ms --threads");
	effc_cmd_argf(&c, "%d", threads);
	effc_cmd_raw(&c, " --repeat");
	effc_cmd_argf(&c, "%d", repeat);
	/* Timing does not depend on values: a constant input is enough. */
	for (int k = 0; k < g->n_inputs; k++) {
		size_t n = (size_t)effc_tensor_numel(&g->t[g->inputs[k]]);
		float *x = malloc(n * sizeof(float) + 4);
		for (size_t i = 0; x && i < n; i++)
			x[i] = (float)((i * 7919) % 255) / 127.0f - 1.0f;
		snprintf(path, sizeof path, "%s/bench_in%d.f32", work, k);
		int bad = !x || effc_write_file(path, x, n * sizeof(float), &d);
		free(x);
		if (bad) {
			free(c.s);
			return 1;
		}
		effc_cmd_arg(&c, path);
	}
	for (int k = 0; k < g->n_outputs; k++)
		effc_cmd_argf(&c, "%s/bench_out%d.f32", work, k);
	int rc = effc_cmd_run(&c, log, out, sizeof out);
	free(c.s);
	const char *m = strstr(out, "median_ms="), *cr = strstr(out, "create_ms=");
	if (rc || !m || !cr || sscanf(m + 10, "%lf", median_ms) != 1 || sscanf(cr + 10, "%lf", create_ms) != 1) {
		effc_show_log_tail(log);
		return 1;
	}
	return 0;
}
