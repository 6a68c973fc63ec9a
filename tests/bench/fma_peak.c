/* fma_peak.c: this core's single-precision FMA peak in GFLOP/s, the ceiling the benchmark
 * compares effc's achieved GFLOP/s against. Ten independent 8-wide FMA chains (enough to hide
 * the latency) on one thread; the best of several runs. */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

__attribute__((target("avx2,fma"))) static double run(long iters)
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
	double sec = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	return tmp[0] == 12345.0f ? 0 : 2.0 * 8 * 10 * iters / sec / 1e9;
}

int main(void)
{
	double best = 0;
	for (int r = 0; r < 7; r++) {
		double g = run(20000000);
		best = g > best ? g : best;
	}
	printf("fma_peak_gflops=%.1f\n", best);
	return 0;
}
