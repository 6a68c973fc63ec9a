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
};
void effc_common_init(struct effc_common_options *c);
/* Consumes argv[*i] (and its value) if it is a common option: 1 handled, 0 not, -1 bad value. */
int effc_common_parse(struct effc_common_options *c, int argc, char **argv, int *i);
extern const char effc_common_usage[];

/* Load, infer shapes, run the pass pipeline and plan memory; report gets the pass summary. */
enum effc_status effc_build_graph(const char *path, const struct effc_common_options *c, struct effc_arena *arena,
				  struct effc_graph **out, char *report, size_t report_cap, struct effc_diag *d);
int effc_report(const struct effc_diag *d);
int effc_cmd_difftest(int argc, char **argv);
#endif
