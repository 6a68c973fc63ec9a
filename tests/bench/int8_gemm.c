/* int8_gemm.c: GOP/s of the int8 1x1 GEMM (runtime/effc_rt_int8.c) on EfficientNet-B0-like
 * shapes, per path, one thread; the depthwise kernel, the dense convolution (stem, fused
 * convs) and the elementwise multiply, quantize and dequantize. Not part of ctest. Build against the
 * runtime of a build tree, e.g.:
 *   cc -O2 -std=c11 -Iruntime tests/bench/int8_gemm.c build/libeffc_rt.a -lXNNPACK -lpthreadpool -lm
 * Prints the median of 15 timed runs after 3 warm-ups (one op = 2 * m * n * k). */
#define _POSIX_C_SOURCE 199309L
#include "effc_rt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_run(struct effc_rt *rt, const struct effc_rt_q8_op *op)
{
	double t[15];
	for (int i = 0; i < 3; i++)
		effc_rt_q8_run(rt, op);
	for (int i = 0; i < 15; i++) {
		const double t0 = now_s();
		effc_rt_q8_run(rt, op);
		t[i] = now_s() - t0;
	}
	qsort(t, 15, sizeof t[0], cmp_d);
	return t[7];
}

int main(void)
{
	struct effc_rt rt;
	if (effc_rt_init(&rt, 1) != EFFC_RT_OK)
		return 1;
	/* B0 pointwise shapes: (hw, in, out). */
	const size_t shapes[][3] = {{112 * 112, 16, 96}, {56 * 56, 24, 144}, {56 * 56, 144, 24}, {28 * 28, 240, 40},
				    {14 * 14, 480, 80}, {14 * 14, 80, 480},  {7 * 7, 1152, 192}, {7 * 7, 320, 1280}};
	const enum effc_rt_q8_path paths[] = {EFFC_RT_Q8_REF, EFFC_RT_Q8_AVX2, EFFC_RT_Q8_VNNI};
	const char *names[] = {"ref", "avx2", "vnni"};
	printf("%-20s %10s %10s %10s  (GOP/s, 1 thread)\n", "m x k -> n", names[0], names[1], names[2]);
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		const size_t m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
		int8_t *a = malloc(m * k), *w = malloc(n * k), *c = malloc(m * n);
		int32_t *bias = calloc(n, sizeof *bias);
		float *ws = malloc(n * sizeof *ws);
		void *packed = malloc(effc_rt_q8_gemm_packed_bytes(n, k));
		for (size_t i = 0; i < m * k; i++)
			a[i] = (int8_t)(i * 37 + 11);
		for (size_t i = 0; i < n * k; i++)
			w[i] = (int8_t)(i * 53 + 7);
		for (size_t j = 0; j < n; j++)
			ws[j] = 0.001f;
		effc_rt_q8_gemm_pack(n, k, w, bias, packed);
		printf("%6zu x %4zu -> %4zu", m, k, n);
		for (int p = 0; p < 3; p++) {
			struct effc_rt_q8_gemm g = {.m = m, .n = n, .k = k, .in = {0.02f, 3}, .out = {0.05f, -2},
						    .w_scale = ws, .out_min = -128, .out_max = 127, .path = paths[p]};
			struct effc_rt_q8_op op;
			if (p == 0 && m * n * k > 40000000) {
				printf(" %10s", "-");
				continue;
			}
			if (effc_rt_q8_gemm_create(&rt, &op, &g, packed, a, NULL, c) != EFFC_RT_OK) {
				printf(" %10s", "n/a");
				continue;
			}
			printf(" %10.1f", 2e-9 * (double)(m * n * k) / median_run(&rt, &op));
			effc_rt_q8_op_destroy(&op);
		}
		printf("\n");
		free(a), free(w), free(c), free(bias), free(ws), free(packed);
	}
	/* Depthwise 5x5 stride 1 on 28x28x240 and 3x3 on 56x56x144. */
	const int dws[][4] = {{28, 240, 5, 1}, {56, 144, 3, 1}, {14, 672, 5, 2}};
	for (size_t s = 0; s < 3; s++) {
		const int h = dws[s][0], c = dws[s][1], k = dws[s][2], st = dws[s][3], pad = k / 2;
		const int oh = (h + 2 * pad - k) / st + 1;
		int8_t *x = malloc((size_t)h * h * c), *w = malloc((size_t)c * k * k), *y = malloc((size_t)oh * oh * c);
		float *ws = malloc((size_t)c * sizeof *ws);
		void *packed = malloc(effc_rt_q8_dw_packed_bytes((size_t)c, k, k));
		memset(x, 5, (size_t)h * h * c), memset(w, 3, (size_t)c * k * k);
		for (int j = 0; j < c; j++)
			ws[j] = 0.001f;
		effc_rt_q8_dw_pack((size_t)c, k, k, w, NULL, packed);
		printf("dw %3dx%3dx%4d k%d s%d", h, h, c, k, st);
		for (int p = 0; p < 3; p++) {
			struct effc_rt_q8_dw d = {1, h, h, c, oh, oh, k, k, st, st, pad, pad, {0.02f, 3}, {0.05f, -2}, ws, -128, 127,
						  NULL, paths[p]};
			struct effc_rt_q8_op op;
			if (effc_rt_q8_dw_create(&rt, &op, &d, packed, x, y) != EFFC_RT_OK) {
				printf(" %10s", "n/a");
				continue;
			}
			printf(" %10.1f", 2e-9 * (double)oh * oh * c * k * k / median_run(&rt, &op));
			effc_rt_q8_op_destroy(&op);
		}
		printf("\n");
		free(x), free(w), free(y), free(ws), free(packed);
	}
	/* Dense convolutions: the B0 stem and EfficientNetV2-like fused convs (h, in_c, out_c, k, stride). */
	const int convs[][5] = {{224, 3, 32, 3, 2}, {112, 24, 24, 3, 1}, {112, 24, 96, 3, 2}, {56, 48, 192, 3, 2}, {56, 64, 256, 3, 1}};
	for (size_t s = 0; s < sizeof convs / sizeof convs[0]; s++) {
		const int h = convs[s][0], ci = convs[s][1], co = convs[s][2], k = convs[s][3], st = convs[s][4];
		const int pad = k / 2, oh = (h + 2 * pad - k) / st + 1;
		int8_t *x = malloc((size_t)h * h * ci), *w = malloc((size_t)co * k * k * ci), *y = malloc((size_t)oh * oh * co);
		float *ws = malloc((size_t)co * sizeof *ws);
		void *packed = malloc(effc_rt_q8_conv_packed_bytes(co, k, k, ci));
		for (size_t i = 0; i < (size_t)h * h * ci; i++)
			x[i] = (int8_t)(i * 37 + 11);
		for (size_t i = 0; i < (size_t)co * k * k * ci; i++)
			w[i] = (int8_t)(i * 53 + 7);
		for (int j = 0; j < co; j++)
			ws[j] = 0.001f;
		effc_rt_q8_conv_pack(co, k, k, ci, w, NULL, packed);
		printf("conv %3dx%3dx%2d->%3d k%d s%d", h, h, ci, co, k, st);
		const double ops = 2.0 * oh * oh * co * k * k * ci;
		for (int p = 0; p < 3; p++) {
			struct effc_rt_q8_conv c = {.batch = 1, .in_h = h, .in_w = h, .in_c = ci, .out_h = oh, .out_w = oh, .out_c = co,
						    .kh = k, .kw = k, .sh = st, .sw = st, .dh = 1, .dw = 1, .pad_top = pad,
						    .pad_left = pad, .in = {0.02f, 3}, .out = {0.05f, -2}, .w_scale = ws,
						    .out_min = -128, .out_max = 127, .path = paths[p]};
			struct effc_rt_q8_op op;
			if ((p == 0 && ops > 1e9) || effc_rt_q8_conv_create(&rt, &op, &c, packed, x, NULL, y) != EFFC_RT_OK) {
				printf(" %10s", p == 0 ? "-" : "n/a");
				continue;
			}
			printf(" %10.1f", 1e-9 * ops / median_run(&rt, &op));
			effc_rt_q8_op_destroy(&op);
		}
		printf("\n");
		free(x), free(w), free(y), free(ws), free(packed);
	}
	/* Elementwise ops on AUTO, G elements/s: the SE scale (broadcast multiply) on 112x112x96, and
	 * quantize / dequantize of 224x224x3 and 112x112x96. */
	{
		const size_t hw = 112 * 112, c = 96, n = hw * c;
		int8_t *a = malloc(n), *g = malloc(c), *y = malloc(n);
		float *f = malloc(n * sizeof *f);
		for (size_t i = 0; i < n; i++)
			a[i] = (int8_t)(i * 37 + 11), f[i] = (float)(i % 1000) * 0.01f - 5;
		memset(g, 7, c);
		struct effc_rt_q8_mul m = {.batch = 1, .rows = hw, .c = c, .broadcast = 1, .a = {0.03f, 1}, .b = {1.0f / 256, -128},
					   .out = {0.02f, 0}, .out_min = -128, .out_max = 127};
		struct effc_rt_q8_op op;
		if (effc_rt_q8_mul_create(&rt, &op, &m, a, g, y) == EFFC_RT_OK)
			printf("mul 112x112x96 * [96] (%s): %.2f G elements/s\n", names[op.path - 1], 1e-9 * n / median_run(&rt, &op));
		effc_rt_q8_op_destroy(&op);
		const struct effc_rt_q8_quant q = {0.02f, 3};
		const size_t ns[] = {224 * 224 * 3, n};
		for (int i = 0; i < 2; i++) {
			if (effc_rt_q8_quantize_create(&rt, &op, q, ns[i], f, y) == EFFC_RT_OK)
				printf("quantize %zu (%s): %.2f G elements/s\n", ns[i], names[op.path - 1], 1e-9 * ns[i] / median_run(&rt, &op));
			effc_rt_q8_op_destroy(&op);
			if (effc_rt_q8_dequantize_create(&rt, &op, q, ns[i], a, f) == EFFC_RT_OK)
				printf("dequantize %zu (%s): %.2f G elements/s\n", ns[i], names[op.path - 1], 1e-9 * ns[i] / median_run(&rt, &op));
			effc_rt_q8_op_destroy(&op);
		}
		free(a), free(g), free(y), free(f);
	}
	effc_rt_fini(&rt);
	return 0;
}
