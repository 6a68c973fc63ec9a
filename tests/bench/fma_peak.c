/* fma_peak.c: this core's single-precision FMA peak in GFLOP/s, the ceiling the benchmark
 * compares effc's achieved GFLOP/s against. Ten independent FMA chains (enough to hide the
 * latency) on one thread; the best of several runs. Measured twice: with 256-bit FMAs (AVX2)
 * and, where the CPU has AVX-512F (checked at run time), with 512-bit ones. The two differ by
 * the core: full-width AVX-512 parts (Xeon with two FMA units) do twice the work per 512-bit
 * FMA, while Zen 4 splits one into two 256-bit halves and peaks where AVX2 does.
 *
 * Output (one key=value per line, what tests/bench/run_bench.py parses):
 *   fma_peak_avx2_gflops=X
 *   fma_peak_avx512_gflops=Y        (or "n/a" without AVX-512F)
 *   fma_peak_gflops=Z fma_peak_isa=avx512|avx2
 *   int8_peak_gops=W                (vpdpbusd, 512-bit, 4 multiply-adds per 32-bit lane; "n/a"
 *                                    without AVX-512 VNNI): the int8 kernels' ceiling
 * The last is the peak of the widest FMA effc's runtime uses here: its AVX-512 kernels run when
 * the CPU has AVX2, FMA, AVX-512F and AVX-512VL (runtime/effc_rt_gemm.c), unless the runtime is
 * built with EFFC_RT_NO_AVX512; pass --no-avx512 to report the AVX2 peak as for such a build. */
#include <immintrin.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double seconds(const struct timespec *t0, const struct timespec *t1)
{
	return (t1->tv_sec - t0->tv_sec) + (t1->tv_nsec - t0->tv_nsec) / 1e9;
}

__attribute__((target("avx2,fma"))) static double run256(long iters)
{
	const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-4f);
	__m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3),
	       a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7),
	       a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long k = 0; k < iters; k++) {
		a0 = _mm256_fmadd_ps(a0, x, y), a1 = _mm256_fmadd_ps(a1, x, y), a2 = _mm256_fmadd_ps(a2, x, y);
		a3 = _mm256_fmadd_ps(a3, x, y), a4 = _mm256_fmadd_ps(a4, x, y), a5 = _mm256_fmadd_ps(a5, x, y);
		a6 = _mm256_fmadd_ps(a6, x, y), a7 = _mm256_fmadd_ps(a7, x, y), a8 = _mm256_fmadd_ps(a8, x, y);
		a9 = _mm256_fmadd_ps(a9, x, y);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	__m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
				 _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(_mm256_add_ps(a6, a7), _mm256_add_ps(a8, a9))));
	float tmp[8];
	_mm256_storeu_ps(tmp, s);
	/* The sum is used, so the compiler cannot drop the chains. */
	return tmp[0] == 12345.0f ? 0 : 2.0 * 8 * 10 * iters / seconds(&t0, &t1) / 1e9;
}

/* The same ten chains, 16 floats wide. Ten independent accumulators cover two FMA units at a
 * 4-cycle latency (8 in flight), as they do for 256 bits. */
__attribute__((target("avx512f"))) static double run512(long iters)
{
	const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-4f);
	__m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3),
	       a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5), a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7),
	       a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long k = 0; k < iters; k++) {
		a0 = _mm512_fmadd_ps(a0, x, y), a1 = _mm512_fmadd_ps(a1, x, y), a2 = _mm512_fmadd_ps(a2, x, y);
		a3 = _mm512_fmadd_ps(a3, x, y), a4 = _mm512_fmadd_ps(a4, x, y), a5 = _mm512_fmadd_ps(a5, x, y);
		a6 = _mm512_fmadd_ps(a6, x, y), a7 = _mm512_fmadd_ps(a7, x, y), a8 = _mm512_fmadd_ps(a8, x, y);
		a9 = _mm512_fmadd_ps(a9, x, y);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	__m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
				 _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(_mm512_add_ps(a6, a7), _mm512_add_ps(a8, a9))));
	float tmp[16];
	_mm512_storeu_ps(tmp, s);
	return tmp[0] == 12345.0f ? 0 : 2.0 * 16 * 10 * iters / seconds(&t0, &t1) / 1e9;
}

/* The int8 dot product of the VNNI kernels: ten vpdpbusd chains, 64 multiply-adds each. */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static double run_vnni(long iters)
{
	const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-2);
	__m512i a0 = _mm512_set1_epi32(0), a1 = _mm512_set1_epi32(1), a2 = _mm512_set1_epi32(2), a3 = _mm512_set1_epi32(3),
		a4 = _mm512_set1_epi32(4), a5 = _mm512_set1_epi32(5), a6 = _mm512_set1_epi32(6), a7 = _mm512_set1_epi32(7),
		a8 = _mm512_set1_epi32(8), a9 = _mm512_set1_epi32(9);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long k = 0; k < iters; k++) {
		a0 = _mm512_dpbusd_epi32(a0, x, y), a1 = _mm512_dpbusd_epi32(a1, x, y), a2 = _mm512_dpbusd_epi32(a2, x, y);
		a3 = _mm512_dpbusd_epi32(a3, x, y), a4 = _mm512_dpbusd_epi32(a4, x, y), a5 = _mm512_dpbusd_epi32(a5, x, y);
		a6 = _mm512_dpbusd_epi32(a6, x, y), a7 = _mm512_dpbusd_epi32(a7, x, y), a8 = _mm512_dpbusd_epi32(a8, x, y);
		a9 = _mm512_dpbusd_epi32(a9, x, y);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	__m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
				     _mm512_add_epi32(_mm512_add_epi32(a4, a5),
						      _mm512_add_epi32(_mm512_add_epi32(a6, a7), _mm512_add_epi32(a8, a9))));
	int tmp[16];
	_mm512_storeu_si512(tmp, s);
	/* 64 int8 multiply-adds per instruction = 128 operations */
	return tmp[0] == 12345 ? 0 : 2.0 * 64 * 10 * iters / seconds(&t0, &t1) / 1e9;
}

static double best_of(double (*run)(long), long iters)
{
	double best = 0;
	for (int r = 0; r < 7; r++) {
		double g = run(iters);
		best = g > best ? g : best;
	}
	return best;
}

int main(int argc, char **argv)
{
	const int no_avx512 = argc > 1 && !strcmp(argv[1], "--no-avx512");
	__builtin_cpu_init();
	const int has512 = __builtin_cpu_supports("avx512f");
	/* What effc_rt_avx512_available() asks for, so the reported ISA is the one the runtime runs. */
	const int rt512 = !no_avx512 && has512 && __builtin_cpu_supports("avx512vl") &&
			  __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	const double p256 = best_of(run256, 20000000);
	/* Half the iterations: each does twice the FLOPs, so both runs take about as long. */
	const double p512 = has512 ? best_of(run512, 10000000) : 0;
	printf("fma_peak_avx2_gflops=%.1f\n", p256);
	if (has512)
		printf("fma_peak_avx512_gflops=%.1f\n", p512);
	else
		printf("fma_peak_avx512_gflops=n/a\n");
	printf("fma_peak_gflops=%.1f fma_peak_isa=%s\n", rt512 ? p512 : p256, rt512 ? "avx512" : "avx2");
	if (!no_avx512 && has512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni"))
		printf("int8_peak_gops=%.1f\n", best_of(run_vnni, 5000000));
	else
		printf("int8_peak_gops=n/a\n");
	return 0;
}
