/* driver.h: what the CLI files share (main.c, difftest.c). */
#ifndef EFFC_DRIVER_H
#define EFFC_DRIVER_H
#include "effc.h"

/* Options every command that compiles takes: --batch, -O0/-O1, --no-<pass>, --verbose. */
struct effc_common_options {
	int64_t batch;
	struct effc_pipeline_options pipeline;
	int verbose;
	const char *perturb; /* testing aid: an initializer effc alters in its own copy */
	uint64_t max_weight_bytes;
};
void effc_common_init(struct effc_common_options *c);
/* Consumes argv[*i] (and its value) if it is a common option: 1 handled, 0 not, -1 bad value. */
int effc_common_parse(struct effc_common_options *c, int argc, char **argv, int *i);
extern const char effc_common_usage[];

/* Options of the commands that write C (compile, gen --emit-c): --weights embed|file,
 * --image-input FORMAT, --mean R,G,B, --std R,G,B, --scale S. init sets the defaults (embed; no
 * image input; scale 1/255, mean 0, std 1). parse consumes argv[*i] (and its value) if it is one
 * of them: 1 handled, 0 not, -1 a bad value (said on stderr). check, after the last argument:
 * 0, or -1 after saying on stderr what does not fit together. */
void effc_emit_cli_init(struct effc_emit_options *o);
int effc_emit_cli_parse(struct effc_emit_options *o, int argc, char **argv, int *i, int *image_opts);
int effc_emit_cli_check(const struct effc_emit_options *o, int image_opts);
extern const char effc_emit_usage[];

/* Load, infer shapes, run the pass pipeline and plan memory; report gets the pass summary. */
enum effc_status effc_build_graph(const char *path, const struct effc_common_options *c, struct effc_arena *arena,
				  struct effc_graph **out, char *report, size_t report_cap, struct effc_diag *d);
/* Shape inference, passes and memory plan on a loaded or generated graph. */
enum effc_status effc_optimize_graph(struct effc_graph *g, const struct effc_common_options *c, char *report,
				     size_t report_cap, struct effc_diag *d);
int effc_report(const struct effc_diag *d);
void effc_progress(const struct effc_common_options *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int effc_cmd_difftest(int argc, char **argv);
int effc_cmd_gen(int argc, char **argv, const char *cmdline);
int effc_cmd_scale(int argc, char **argv);
int effc_cmd_fit(int argc, char **argv, const char *cmdline);

/* shell.c: a command line built word by word; effc_cmd_run resets it. */
struct effc_cmd {
	char *s;
	size_t len, cap;
};
void effc_cmd_raw(struct effc_cmd *c, const char *s);
void effc_cmd_arg(struct effc_cmd *c, const char *s); /* one quoted word, with a leading space */
void effc_cmd_argf(struct effc_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs c: stdout into out (when given), the rest appended to log. Returns the exit status. */
int effc_cmd_run(struct effc_cmd *c, const char *log, char *out, size_t out_cap);
void effc_show_log_tail(const char *log);
/* Configures and builds a generated directory into builddir (Release); 0 on success. */
/* runtime_options: CMake -D flags for the runtime, NULL for the default (our GEMM + XNNPACK). */
int effc_build_generated(const char *dir, const char *builddir, int debug_tensors, const char *runtime_options,
			 const char *log);
/* Runs NAME_runner --repeat K on a random input; fills the median and create time in ms. */
int effc_bench_runner(const char *runner, const struct effc_graph *g, const char *work, int threads, int repeat,
		      double *median_ms, double *create_ms, const char *log);
#endif
