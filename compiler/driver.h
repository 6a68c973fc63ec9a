/* driver.h: what the CLI files share (main.c, difftest.c). */
#ifndef EFFC_DRIVER_H
#define EFFC_DRIVER_H
#include "effc.h"

/* Load, infer shapes, run the passes and plan memory. */
enum effc_status effc_build_graph(const char *path, int64_t batch, struct effc_arena *arena, struct effc_graph **out,
				  struct effc_diag *d);
int effc_report(const struct effc_diag *d);
int effc_cmd_difftest(int argc, char **argv);
#endif
