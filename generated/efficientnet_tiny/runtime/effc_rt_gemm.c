/* effc_rt_gemm.c: our pointwise (1x1) convolution, a GEMM C[m][n] = A[m][k] B[k][n] + bias
 * with the activation and an optional residual applied while the rows are still in cache.
 *
 * Why ours: Debian's gcc-built XNNPACK keeps one accumulator of its 5x16 FMA3 kernel on the
 * stack (about 35 GFLOP/s here); a 6x16 AVX2/FMA kernel with all twelve accumulators in
 * registers runs about twice as fast on EfficientNet's shapes (see ../shared notes and the
 * benchmark). B is pre-packed by the compiler in 16-column panels, [ceil(n/16)][k][16], zero
 * padded, so create does no repacking. The portable path (any CPU, and the unit tests'
 * reference) reads the same packed layout in plain C. On CPUs without AVX2+FMA, or with
 * EFFC_RT_FORCE_XNNPACK, create hands the unpacked weights to XNNPACK instead (effc_rt.c). */
#include "effc_rt.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(EFFC_RT_FORCE_XNNPACK) && !defined(EFFC_RT_NO_SIMD)
#define EFFC_RT_AVX2 1
#include "effc_rt_simd.h"
#endif

/* Checked once: the GEMM and the depthwise kernel ask per call (per band). */
int effc_rt_gemm_fast_available(void)
{
#ifdef EFFC_RT_AVX2
	static int cached = -1;
	if (cached < 0) {
		__builtin_cpu_init();
		cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	}
	return cached;
#else
	return 0;
#endif
}

void effc_rt_pack_b(size_t n, size_t k, const float *w, float *packed)
{
	/* w is [n][k] (a 1x1 conv's OIHW weights); panel p holds columns 16p..16p+15. */
	const size_t panels = (n + 15) / 16;
	for (size_t p = 0; p < panels; p++)
		for (size_t kk = 0; kk < k; kk++)
			for (size_t j = 0; j < 16; j++) {
				size_t col = p * 16 + j;
				packed[(p * k + kk) * 16 + j] = col < n ? w[col * k + kk] : 0.0f;
			}
}

void effc_rt_unpack_b(size_t n, size_t k, const float *packed, float *w)
{
	for (size_t col = 0; col < n; col++)
		for (size_t kk = 0; kk < k; kk++)
			w[col * k + kk] = packed[((col / 16) * k + kk) * 16 + col % 16];
}

/* Clamp, activation and residual on rows [m0, m1), columns [c0, c1) of C. */
static void epilogue(const struct effc_rt_gemm *g, size_t m0, size_t m1, size_t c0, size_t c1)
{
	size_t w = c1 - c0;
	if (w == g->n) /* whole rows: one contiguous span */
		w *= m1 - m0, m1 = m0 + 1;
	for (size_t i = m0; i < m1; i++) {
		float *c = g->c + i * g->n + c0;
		if (g->out_min > -__builtin_inff() || g->out_max < __builtin_inff())
			for (size_t j = 0; j < w; j++)
				c[j] = c[j] < g->out_min ? g->out_min : c[j] > g->out_max ? g->out_max : c[j];
		if (g->act == EFFC_RT_ACT_SWISH)
			effc_rt_swish(w, c, c);
		else if (g->act == EFFC_RT_ACT_HARDSWISH)
			effc_rt_hardswish(w, c, c);
		if (g->residual) {
			const float *r = g->residual + i * g->n + c0;
			for (size_t j = 0; j < w; j++)
				c[j] += r[j];
		}
	}
}

static void gemm_ref_rect(const struct effc_rt_gemm *g, size_t m0, size_t m1, size_t c0, size_t c1)
{
	const size_t k = g->k;
	for (size_t i = m0; i < m1; i++) {
		const float *a = g->a + i * k;
		for (size_t col = c0; col < c1; col++) {
			const float *b = g->packed + (col / 16) * k * 16 + col % 16;
			float acc = g->bias ? g->bias[col] : 0.0f;
			for (size_t kk = 0; kk < k; kk++)
				acc += (g->a_scale ? a[kk] * g->a_scale[kk] : a[kk]) * b[kk * 16];
			g->c[i * g->n + col] = acc;
		}
	}
	epilogue(g, m0, m1, c0, c1);
}

void effc_rt_gemm_ref(const struct effc_rt_gemm *g, size_t m0, size_t m1)
{
	gemm_ref_rect(g, m0, m1, 0, g->n);
}

#ifdef EFFC_RT_AVX2
/* MR rows (1..6) x NR columns (8 or 16), all of k, accumulators in registers: per step one or two
 * B loads, MR broadcasts, MR * NR / 8 FMAs. Instances for the row and column remainders, so a
 * 49-row map or a 24-column output does not pay for a full 6 x 16 tile. The accumulators start
 * from the bias (first) or from C (a later slice of k, see gemm_stream); with g, the tile is
 * clamped, takes Swish and adds the residual in registers, twelve independent chains, before
 * its one store (the last slice of gemm_stream; row blocks run the epilogue over the block). */
static inline __attribute__((always_inline, target("avx2,fma"))) void
kernel(const int MR, const int NR, size_t k, const float *a, size_t lda, const float *b, const float *bias, float *c,
       size_t ldc, size_t nr, int first, const struct effc_rt_gemm *g, const float *res)
{
	__m256 acc0[6], acc1[6];
	float t[16] = {0};
	if (!first) {
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			if (nr == (size_t)NR) {
				acc0[i] = _mm256_loadu_ps(c + (size_t)i * ldc);
				acc1[i] = NR == 16 ? _mm256_loadu_ps(c + (size_t)i * ldc + 8) : acc0[i];
			} else {
				memcpy(t, c + (size_t)i * ldc, nr * sizeof(float));
				acc0[i] = _mm256_loadu_ps(t);
				acc1[i] = _mm256_loadu_ps(t + 8);
			}
		}
	} else {
		if (bias)
			memcpy(t, bias, nr * sizeof(float));
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			acc0[i] = _mm256_loadu_ps(t);
			acc1[i] = _mm256_loadu_ps(t + 8);
		}
	}
	for (size_t kk = 0; kk < k; kk++, b += 16) {
		const __m256 b0 = _mm256_load_ps(b);
		const __m256 b1 = NR == 16 ? _mm256_load_ps(b + 8) : b0;
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			const __m256 x = _mm256_broadcast_ss(a + (size_t)i * lda + kk);
			acc0[i] = _mm256_fmadd_ps(x, b0, acc0[i]);
			if (NR == 16)
				acc1[i] = _mm256_fmadd_ps(x, b1, acc1[i]);
		}
	}
	if (g) {
		const __m256 lo = _mm256_set1_ps(g->out_min), hi = _mm256_set1_ps(g->out_max);
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			acc0[i] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc0[i]));
			acc1[i] = _mm256_min_ps(hi, _mm256_max_ps(lo, acc1[i]));
		}
		if (g->act == EFFC_RT_ACT_SWISH) {
#pragma GCC unroll 6
			for (int i = 0; i < MR; i++) {
				acc0[i] = effc_rt_swish8(acc0[i]);
				if (NR == 16)
					acc1[i] = effc_rt_swish8(acc1[i]);
			}
		}
		if (res && nr == (size_t)NR) {
#pragma GCC unroll 6
			for (int i = 0; i < MR; i++) {
				acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(res + (size_t)i * ldc));
				if (NR == 16)
					acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(res + (size_t)i * ldc + 8));
			}
		} else if (res) {
#pragma GCC unroll 6
			for (int i = 0; i < MR; i++) {
				float r[16] = {0};
				memcpy(r, res + (size_t)i * ldc, nr * sizeof(float));
				acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(r));
				acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(r + 8));
			}
		}
	}
	if (nr == (size_t)NR) {
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			_mm256_storeu_ps(c + (size_t)i * ldc, acc0[i]);
			if (NR == 16)
				_mm256_storeu_ps(c + (size_t)i * ldc + 8, acc1[i]);
		}
		return;
	}
#pragma GCC unroll 6
	for (int i = 0; i < MR; i++) {
		_mm256_storeu_ps(t, acc0[i]);
		_mm256_storeu_ps(t + 8, acc1[i]);
		memcpy(c + (size_t)i * ldc, t, nr * sizeof(float));
	}
}

/* Two instances of each: the row blocks' (bias start, no epilogue: constants, folded away) and
 * gemm_stream's. */
#define KERNEL_FN(MR, NR)                                                                                      \
	__attribute__((target("avx2,fma"))) static void kernel_##MR##x##NR(                                    \
	    size_t k, const float *a, size_t lda, const float *b, const float *bias, float *c, size_t ldc, size_t nr) \
	{                                                                                                      \
		kernel(MR, NR, k, a, lda, b, bias, c, ldc, nr, 1, NULL, NULL);                                 \
	}                                                                                                      \
	__attribute__((target("avx2,fma"))) static void kernel_s_##MR##x##NR(                                  \
	    size_t k, const float *a, size_t lda, const float *b, const float *bias, float *c, size_t ldc, size_t nr, \
	    int first, const struct effc_rt_gemm *g, const float *res)                                         \
	{                                                                                                      \
		kernel(MR, NR, k, a, lda, b, bias, c, ldc, nr, first, g, res);                                 \
	}
KERNEL_FN(6, 16)
KERNEL_FN(5, 16)
KERNEL_FN(4, 16)
KERNEL_FN(3, 16)
KERNEL_FN(2, 16)
KERNEL_FN(1, 16)
KERNEL_FN(6, 8)
KERNEL_FN(5, 8)
KERNEL_FN(4, 8)
KERNEL_FN(3, 8)
KERNEL_FN(2, 8)
KERNEL_FN(1, 8)
typedef void (*kernel_fn)(size_t, const float *, size_t, const float *, const float *, float *, size_t, size_t);
static const kernel_fn kernels16[7] = {0, kernel_1x16, kernel_2x16, kernel_3x16, kernel_4x16, kernel_5x16, kernel_6x16};
static const kernel_fn kernels8[7] = {0, kernel_1x8, kernel_2x8, kernel_3x8, kernel_4x8, kernel_5x8, kernel_6x8};
typedef void (*kernel_s_fn)(size_t, const float *, size_t, const float *, const float *, float *, size_t, size_t, int,
			    const struct effc_rt_gemm *, const float *);
static const kernel_s_fn kernels_s16[7] = {
    0, kernel_s_1x16, kernel_s_2x16, kernel_s_3x16, kernel_s_4x16, kernel_s_5x16, kernel_s_6x16};
static const kernel_s_fn kernels_s8[7] = {
    0, kernel_s_1x8, kernel_s_2x8, kernel_s_3x8, kernel_s_4x8, kernel_s_5x8, kernel_s_6x8};
#endif

#ifdef EFFC_RT_AVX2
/* Row blocks: every panel of B passes over a block's rows, so a block's A rows (re-read once
 * per panel) should stay in L2, and so should its C rectangle for the epilogue that follows;
 * within those bounds, as few blocks as possible (balanced, in whole 6-row tiles), as each
 * block streams all of B again. The bounds are a quarter of this L2 (512 KB) each. Against half
 * of it, which made 7x7 maps one block, they stream B two or three times there (k = 1152: 24
 * rows of A per block) and still measured 0.994x on B0 and on B3, in the quiet and the loaded
 * quarters of the pairs alike (in-process A/B, 1 thread; 64 to 192 KB for either bound measured
 * within 0.5% of that): A and C leave room in L2 for B's panels and the next op's data.
 * Tried and dropped: prefetching the next weight panel from the kernel (neutral when the host
 * leaves this VM's caches alone, up to 20% slower on B1 when it does not: the prefetches hold
 * the miss buffers the tile's own loads need), and blocks of up to 192 rows with k sliced and
 * the epilogue per tile for weights over 256 KB (at best 2% faster). */
#define GEMM_A_BLOCK_BYTES (128u << 10)
#define GEMM_C_BLOCK_BYTES (128u << 10)

static size_t row_block(const struct effc_rt_gemm *g, size_t rows, size_t cols)
{
	size_t lim = GEMM_A_BLOCK_BYTES / (g->k * sizeof(float));
	const size_t lim_c = GEMM_C_BLOCK_BYTES / (cols * sizeof(float));
	lim = lim < lim_c ? lim : lim_c;
	lim = lim < 6 ? 6 : lim / 6 * 6;
	const size_t blocks = (rows + lim - 1) / lim, per = (rows + blocks - 1) / blocks;
	return (per + 5) / 6 * 6; /* balanced, in whole 6-row tiles */
}
#endif

#ifdef EFFC_RT_AVX2
/* Weights over GEMM_B_STREAM_BYTES (the late stages': 0.8-3.5 MB on B3's 10x10 maps, B0's and
 * B1's 7x7 and 8x8, the classifier) do not stay in cache between inferences, and row blocks
 * would stream them from memory once per block: 6-9 times on B3's 10x10 maps, 175 MB per
 * inference. Here they are read once. Where a block's A rows do not fit GEMM_AS_BYTES, k is cut
 * into slices of at most GEMM_KC_MAX (a panel's slice, 16 KB, stays in L1 while every row tile
 * uses it; a later slice continues from C, in L2). The epilogue runs in registers on the last
 * slice. With GEMM_PF_MIN_TILES tiles or more, each tile prefetches its share of the next
 * panel's slice, or a panel's first tile waits on memory; the classifier's one row, fetching a
 * whole panel ahead at once, measured 1.3x slower than the hardware prefetcher alone.
 * Cold-weight microbenchmark of those shapes: 0.89-0.95x the row-block order, the classifier
 * 0.97-0.99x. In-process A/B at 1 thread: B0 0.980x, B1 0.969x, B3 0.991x (0.982x in an earlier
 * run), every quarter of the pairs below 1.00. The same order for smaller weights (19x19 maps:
 * 0.3-0.45 MB, which mostly stay in cache) measured 1-10% slower. */
#define GEMM_B_STREAM_BYTES (512u << 10)
#define GEMM_KC_MAX 256
#define GEMM_AS_BYTES (192u << 10)
#define GEMM_PF_MIN_TILES 4

static void gemm_stream(const struct effc_rt_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1)
{
	const size_t k = g->k;
	const int a_fits = (m1 - m0) * k * sizeof(float) <= GEMM_AS_BYTES;
	const size_t slices = a_fits ? 1 : (k + GEMM_KC_MAX - 1) / GEMM_KC_MAX, kc = (k + slices - 1) / slices;
	size_t lim = GEMM_AS_BYTES / (kc * sizeof(float));
	lim = lim < 6 ? 6 : lim / 6 * 6;
	const size_t blocks = (m1 - m0 + lim - 1) / lim, per = (m1 - m0 + blocks - 1) / blocks;
	const size_t block = (per + 5) / 6 * 6;
	for (size_t b0 = m0; b0 < m1; b0 += block) {
		const size_t b1 = m1 - b0 < block ? m1 : b0 + block, tiles = (b1 - b0 + 5) / 6;
		for (size_t k0 = 0; k0 < k; k0 += kc) {
			const size_t kn = k - k0 < kc ? k - k0 : kc, share = (kn + tiles - 1) / tiles;
			const int first = k0 == 0, last = k0 + kn == k;
			for (size_t p = p0; p < p1 && p * 16 < g->n; p++) {
				const size_t nr = g->n - p * 16 < 16 ? g->n - p * 16 : 16;
				const kernel_s_fn *kf = nr <= 8 ? kernels_s8 : kernels_s16;
				/* next: the following panel's slice, or the first panel's next slice */
				const float *next = NULL;
				if (tiles >= GEMM_PF_MIN_TILES && p + 1 < p1 && (p + 1) * 16 < g->n)
					next = g->packed + ((p + 1) * k + k0) * 16;
				else if (tiles >= GEMM_PF_MIN_TILES && !last)
					next = g->packed + (p0 * k + k0 + kn) * 16;
				size_t t = 0;
				for (size_t i = b0, mr; i < b1; i += mr, t++) {
					const size_t rem = b1 - i; /* tiles as in effc_rt_gemm_fast_rect */
					mr = rem == 7 || rem == 8 ? 4 : rem < 6 ? rem : 6;
					for (size_t l = t * share; next && l < (t + 1) * share && l < kn; l++)
						_mm_prefetch((const char *)(next + l * 16), _MM_HINT_T0);
					kf[mr](kn, g->a + i * k + k0, k, g->packed + (p * k + k0) * 16,
					       g->bias ? g->bias + p * 16 : NULL, g->c + i * g->n + p * 16, g->n, nr,
					       first, last ? g : NULL,
					       last && g->residual ? g->residual + i * g->n + p * 16 : NULL);
				}
			}
		}
	}
}
#endif

void effc_rt_gemm_fast_rect(const struct effc_rt_gemm *g, size_t m0, size_t m1, size_t p0, size_t p1)
{
	const size_t c0 = p0 * 16, c1 = p1 * 16 < g->n ? p1 * 16 : g->n;
	if (m0 >= m1 || c0 >= c1)
		return;
#ifdef EFFC_RT_AVX2
	const size_t k = g->k;
	if (g->a_scale || !effc_rt_gemm_fast_available()) { /* not used by the compiler yet: keep it correct, not fast */
		gemm_ref_rect(g, m0, m1, c0, c1);
		return;
	}
	/* All of B counts: threads that split the panels (n > m) each stream their share. */
	if (k * g->n * sizeof(float) > GEMM_B_STREAM_BYTES &&
	    (g->act == EFFC_RT_ACT_NONE || g->act == EFFC_RT_ACT_SWISH)) {
		gemm_stream(g, m0, m1, p0, p1);
		return;
	}
	const size_t block = row_block(g, m1 - m0, c1 - c0);
	for (size_t b0 = m0; b0 < m1; b0 += block) {
		const size_t b1 = m1 - b0 < block ? m1 : b0 + block;
		for (size_t p = p0; p < p1 && p * 16 < g->n; p++) {
			const size_t nr = g->n - p * 16 < 16 ? g->n - p * 16 : 16;
			const kernel_fn *kf = nr <= 8 ? kernels8 : kernels16;
			for (size_t i = b0, mr; i < b1; i += mr) {
				/* 6-row tiles; a remainder of 7 or 8 rows as 4 + 3 or 4 + 4, not 6 + 1 or
				 * 6 + 2: a 1-row tile is load-bound (two B loads per two FMAs) and costs
				 * nearly what a full one does (49-row maps: 8 x 6 + 1). */
				const size_t rem = b1 - i;
				mr = rem == 7 || rem == 8 ? 4 : rem < 6 ? rem : 6;
				kf[mr](k, g->a + i * k, k, g->packed + p * k * 16, g->bias ? g->bias + p * 16 : NULL,
				       g->c + i * g->n + p * 16, g->n, nr);
			}
		}
		epilogue(g, b0, b1, c0, c1);
	}
#else
	gemm_ref_rect(g, m0, m1, c0, c1);
#endif
}

void effc_rt_gemm_fast(const struct effc_rt_gemm *g, size_t m0, size_t m1)
{
	effc_rt_gemm_fast_rect(g, m0, m1, 0, (g->n + 15) / 16);
}

/* The runs are short (the stem's are 9 floats), and a loop GCC turns back into a call to
 * memmove costs more than the copy: fixed-size pieces compile to plain vector moves. */
static inline void copy_floats(float *restrict dst, const float *restrict src, size_t n)
{
	for (; n >= 8; n -= 8, dst += 8, src += 8)
		memcpy(dst, src, 8 * sizeof(float));
	if (n >= 4)
		memcpy(dst, src, 4 * sizeof(float)), n -= 4, dst += 4, src += 4;
	if (n >= 2)
		memcpy(dst, src, 2 * sizeof(float)), n -= 2, dst += 2, src += 2;
	if (n)
		*dst = *src;
}

void effc_rt_im2col_task(const struct effc_rt_im2col *c, size_t t)
{
	const struct effc_rt_conv2d *p = &c->p;
	const size_t OH = (size_t)p->out_h, OW = (size_t)p->out_w, H = (size_t)p->in_h, W = (size_t)p->in_w;
	const size_t C = (size_t)p->in_c, K = c->k, rows = (size_t)p->batch * OH;
	const size_t chunk = (rows + c->tasks - 1) / c->tasks, r0 = t * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
	float *buf = c->bufs + t * c->buf_floats;
	for (size_t r = r0; r < r1; r++) {
		const float *img = c->in + r / OH * H * W * C;
		const int oy = (int)(r % OH);
		for (size_t ox = 0; ox < OW; ox++) {
			float *dst = buf + ox * K;
			const int ix0 = (int)ox * p->sw - p->pad_left;
			/* With dilation 1 and every tap of the row inside, a kernel row is one run of kw * C. */
			const int whole = p->dw == 1 && ix0 >= 0 && ix0 + p->kw <= (int)W;
			for (int ky = 0; ky < p->kh; ky++, dst += (size_t)p->kw * C) {
				const int iy = oy * p->sh - p->pad_top + ky * p->dh;
				if (iy < 0 || iy >= (int)H) {
					memset(dst, 0, (size_t)p->kw * C * sizeof(float));
					continue;
				}
				const float *row = img + (size_t)iy * W * C;
				if (whole) {
					copy_floats(dst, row + (size_t)ix0 * C, (size_t)p->kw * C);
					continue;
				}
				for (int kx = 0; kx < p->kw; kx++) {
					const int ix = ix0 + kx * p->dw;
					if (ix < 0 || ix >= (int)W)
						memset(dst + (size_t)kx * C, 0, C * sizeof(float));
					else
						copy_floats(dst + (size_t)kx * C, row + (size_t)ix * C, C);
				}
			}
		}
		const struct effc_rt_gemm g = {.m = OW, .n = (size_t)p->out_c, .k = K, .a = buf, .packed = c->packed,
					       .bias = c->bias, .c = c->out + r * OW * (size_t)p->out_c,
					       .out_min = p->out_min, .out_max = p->out_max, .act = p->act};
		effc_rt_gemm_fast(&g, 0, OW);
	}
}
