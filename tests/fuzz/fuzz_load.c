/* fuzz_load.c: libFuzzer target for the loader, its validation and shape inference: any bytes
 * must give EFFC_OK or an error status with a message, never a crash, hang or leak. */
#include "effc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct effc_arena *arena = effc_arena_new();
	struct effc_graph *g = arena ? effc_graph_new(arena, "fuzz.onnx") : NULL;
	struct effc_diag d = {{0}, EFFC_OK};
	/* External data resolves in EFFC_FUZZ_DATA_DIR, where run_fuzz.sh leaves a small data file
	 * the seeds point at; without it every external tensor is refused (also fuzzed). */
	struct effc_load_options o = {.batch = 1, .external_dir = getenv("EFFC_FUZZ_DATA_DIR")};
	if (g && effc_load_onnx_buffer(g, data, size, &o, &d) == EFFC_OK)
		(void)effc_infer_shapes(g, &d);
	if (d.status != EFFC_OK && !d.msg[0])
		__builtin_trap(); /* every failure carries a message */
	effc_arena_free(arena);
	return 0;
}
