/* fuzz_compile.c: libFuzzer target for the whole compile pipeline short of writing files and
 * building: load, shape inference, every pass, the memory plan and the statistics. */
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
	struct effc_pipeline_options po;
	/* A checksum of the input picks the pass switches, so every combination gets fuzzed without
	 * spending input bytes on it (seeds stay valid models). */
	unsigned sum = 0;
	for (size_t i = 0; i < size; i++)
		sum = sum * 31 + data[i];
	effc_pipeline_set_level(&po, 1);
	po.verbose = 0;
	for (int p = 0; p < EFFC_PASS_COUNT; p++)
		po.disabled[p] = (sum >> (p + 3)) & 1;
	if (g && effc_load_onnx_buffer(g, data, size, &o, &d) == EFFC_OK && effc_infer_shapes(g, &d) == EFFC_OK &&
	    effc_pipeline_run(g, &po, NULL, 0, &d) == EFFC_OK && effc_plan_memory(g, &d) == EFFC_OK) {
		struct effc_stats s;
		effc_graph_stats(g, &s);
		if (g->arena_bytes < g->peak_live_bytes)
			__builtin_trap(); /* no plan can beat the live-bytes bound */
	}
	if (d.status != EFFC_OK && !d.msg[0])
		__builtin_trap();
	effc_arena_free(arena);
	return 0;
}
