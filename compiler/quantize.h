/* quantize.h: post-training int8 quantization (`effc quantize`), one section per file:
 *   qparams.c    scales and zero points, weight and bias quantization, histogram ranges
 *   calibrate.c  the float graph run on the reference kernels, with observers and fake quantization
 *   quantize.c   the command: calibration, the choices, the QDQ model writer and the report
 * The graph quantized is the ONNX-level IR after BatchNorm folding and before any fusion. */
#ifndef EFFC_QUANTIZE_H
#define EFFC_QUANTIZE_H
#include "effc.h"

/* ---- qparams.c --------------------------------------------------------------------------- */
enum effc_qtype { EFFC_QTYPE_INT8 = 0, EFFC_QTYPE_UINT8 };
struct effc_qparams {
	float scale;
	int32_t zero_point;
};
/* The integer range of a type: int8 [-128, 127], uint8 [0, 255]. */
void effc_qtype_range(enum effc_qtype t, int32_t *qmin, int32_t *qmax);
/* Asymmetric parameters for a real range [lo, hi], widened to contain 0 so that 0 is exact (as
 * ONNX Runtime's quantizer does). A zero-width range (a constant zero tensor) gets scale 1. */
struct effc_qparams effc_qparams_from_range(float lo, float hi, enum effc_qtype t);
/* round(x / scale) + zero_point, saturated to the type's range (round half to even, as
 * QuantizeLinear). */
int32_t effc_quantize_value(float x, struct effc_qparams q, enum effc_qtype t);
/* x quantized and dequantized. */
float effc_fake_quantize(float x, struct effc_qparams q, enum effc_qtype t);
/* Symmetric int8 weights in [-127, 127], zero point 0: `channels` rows of `per` elements, one
 * scale per row (per_channel) or one for all (scale[0]). A row of zeros takes the largest row
 * scale of the tensor (1 when all are zero), so its bias stays representable. */
void effc_quantize_weights(const float *w, int64_t channels, int64_t per, int per_channel, int8_t *q,
			   float *scale);
/* Bias at scale s_in * s_w[c] as int32. Where a bias would not fit in int32, that channel's
 * weight scale s_w[c] is raised until it fits and its weights w (rows of per) requantized into
 * q; returns the number of channels so adjusted. s_w has `channels` entries, or 1 (per tensor:
 * then an overflow raises the one scale and requantizes every row). */
int effc_quantize_bias(const float *bias, int64_t channels, float s_in, float *s_w, int n_sw, const float *w,
		       int64_t per, int8_t *q, int32_t *qbias);

/* Histogram of |x| or x over [lo, hi], for the percentile and MSE methods. */
#define EFFC_HIST_BINS 2048
struct effc_hist {
	double lo, hi;
	double count[EFFC_HIST_BINS];
	double total;
};
void effc_hist_init(struct effc_hist *h, double lo, double hi);
void effc_hist_add(struct effc_hist *h, const float *v, size_t n);
/* Range [lo', hi'] holding the central `percentile` percent of the mass (the tails split evenly
 * when lo < 0 < hi, else the upper tail only). */
void effc_hist_percentile(const struct effc_hist *h, double percentile, float *lo, float *hi);
/* The clipping range minimising the expected squared error of quantizing the histogram's values
 * (rounding noise inside, clipping error outside), searched over ranges [lo·f, hi·f]. */
void effc_hist_mse(const struct effc_hist *h, enum effc_qtype t, float *lo, float *hi);

/* Bias correction. effc_channel_sums adds to sum[c] the sum of channel c of `channels` x `per`
 * values (NCHW at batch 1, or [1][C] with per 1). effc_bias_correct adds to corr[c] the mean
 * shift of a layer's output channel c that quantization causes, (sum_float[c] - sum_quant[c]) / n,
 * from sums of n values each over the same inputs: added to the layer's bias, it makes the
 * quantized layer's output mean equal the float one's on those inputs. */
void effc_channel_sums(const float *v, int64_t channels, int64_t per, double *sum);
void effc_bias_correct(const double *sum_float, const double *sum_quant, int64_t channels, double n, float *corr);

/* Output SQNR in dB: 10 log10(sum ref^2 / sum (ref - x)^2); 200 when equal. */
double effc_sqnr_db(double signal, double noise);

/* ---- quantize.c / write_qdq.c --------------------------------------------------------------- */
/* Quantized weights of one Conv, Gemm or MatMul: int8 in the tensor's own layout, symmetric,
 * one scale per output channel (axis) or one in all; the bias (if any) int32 at s_in * s_w. */
struct effc_qweights {
	int8_t *q;
	float *scale;
	int n_scale, axis;
	int32_t *qbias; /* NULL: no bias, or a bias left float (Gemm with alpha or beta != 1) */
	float *bias_scale;
};
/* The quantization decided for a graph: what write_qdq.c writes and calibrate.c simulates. */
struct effc_qplan {
	struct effc_graph *g;
	enum effc_qtype type;
	unsigned char *node_q;     /* per node: runs quantized (inputs dequantized, output quantized) */
	unsigned char *act_on;     /* per tensor: a QuantizeLinear/DequantizeLinear pair */
	struct effc_qparams *act;  /* per tensor */
	struct effc_qweights **w;  /* per node: its quantized weights, or NULL */
	const float **data;        /* per tensor: dequantized constants (the simulation's weights) */
	float **bias_corr;         /* per node: added to its float bias before quantization, or NULL */
};
/* Writes the QDQ model atomically (a temporary sibling renamed into place); *bytes gets the
 * initializer bytes written. */
enum effc_status effc_write_qdq(const struct effc_qplan *p, const char *path, size_t *bytes, struct effc_diag *d);
int effc_cmd_quantize(int argc, char **argv);
/* `effc gen ... --int8`: gen into a temporary file, then quantize into -o. */
int effc_cmd_gen_int8(int argc, char **argv, const char *cmdline);

/* ---- calibrate.c ------------------------------------------------------------------------- */
/* What a run simulates of the quantized model; NULL members leave that part float. */
struct effc_qsim {
	enum effc_qtype type;
	const unsigned char *act_on;     /* per tensor: quantized and dequantized where produced (or read, inputs) */
	const struct effc_qparams *act;  /* per tensor: its parameters */
	const float *const *data;        /* per tensor: constant data to use instead (dequantized weights) */
};
/* Called for each activation as it is produced (graph inputs first), before any fake quantization. */
typedef void (*effc_observer)(void *arg, int tensor, const float *v, size_t n);
/* Runs the graph (ONNX-level ops, shapes inferred) on one input with the runtime's reference
 * kernels; out (when given) gets the first output's values. Refuses, naming the node, an op it
 * has no rule for. */
enum effc_status effc_calib_run(const struct effc_graph *g, const float *input, const struct effc_qsim *sim,
				effc_observer fn, void *arg, float *out, struct effc_diag *d);
/* Whether effc_calib_run can run node n (ops and constant-parameter conditions). */
int effc_calib_supports(const struct effc_graph *g, const struct effc_node *n);

#endif
