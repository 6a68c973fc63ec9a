/* gen.h: the EfficientNet generator (gen.c), the ONNX writer (write_onnx.c) and the commands
 * built on them (gen_cmd.c: gen, scale, fit). */
#ifndef EFFC_GEN_H
#define EFFC_GEN_H
#include "effc.h"

/* --variant: 0..7 are b0..b7 (the B0 table scaled), then torchvision's EfficientNetV2-S/M/L (their
 * own stage tables of Fused-MBConv and MBConv blocks, not scaled). */
enum { EFFC_GEN_V2_S = 8, EFFC_GEN_V2_M, EFFC_GEN_V2_L, EFFC_GEN_N_VARIANTS };
#define EFFC_GEN_VARIANT_NAMES "b0..b7, v2-s, v2-m, v2-l"
int effc_gen_parse_variant(const char *s); /* b0..b7, v2-s, v2-m, v2-l (any case); -1 if none */
const char *effc_gen_variant_name(int variant); /* "b0".."b7", "v2-s", "v2-m", "v2-l" */
int effc_gen_is_v2(int variant);

struct effc_gen_options {
	int variant;                  /* 0..EFFC_GEN_N_VARIANTS-1, -1 to scale by phi */
	double phi, alpha, beta, gamma;
	double width, depth;          /* overrides when > 0 */
	int resolution;               /* override when > 0 */
	int classes;
	uint64_t seed;
	int no_calibrate; /* skip BN calibration: only for shapes, counts and timing */
	/* filled by effc_gen_resolve */
	double res_width, res_depth;
	int res_resolution;
	float res_eps;
};
struct effc_gen_info {
	int64_t params; /* counted as torchvision does (BN weight and bias, no running statistics) */
	int blocks, head_channels;
};
int effc_gen_make_divisible(double v, int divisor);
enum effc_status effc_gen_resolve(struct effc_gen_options *o, struct effc_diag *d);
/* Builds, shape-infers and calibrates the graph into the empty graph g. */
enum effc_status effc_gen_graph(struct effc_graph *g, const struct effc_gen_options *o, struct effc_gen_info *info,
				struct effc_diag *d);
/* Writes an ONNX-level graph (before any pass) as an ONNX model, atomically. */
enum effc_status effc_write_onnx(const struct effc_graph *g, const char *path, struct effc_diag *d);
#endif
