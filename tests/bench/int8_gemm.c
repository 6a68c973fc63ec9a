/* int8_gemm.c: GOP/s of the int8 1x1 GEMM (runtime/effc_rt_int8.c) on EfficientNet-B0-like
 * shapes, per path, one thread; and the depthwise kernel. Not part of ctest. Build against the
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
	effc_rt_fini(&rt);
	return 0;
}
