/* effc_rt_mbconv.c: an MBConv block's expansion (1x1 GEMM + activation) and depthwise
 * convolution (+ activation, + per-row channel sums for the SE) as one op, band by band.
 *
 * Why: a core of this VM class streams memory at about 8-9 GB/s, and the expansion output is
 * the largest tensor of each block (B0: 4.8 MB at 112x112): one op wrote it, the next read it
 * back. Here each thread expands only the input rows that its band of output rows needs, into a
 * buffer sized for L2 (sliding: rows shared by consecutive bands are kept, not recomputed), and
 * runs the depthwise kernel on it, so the expanded tensor never goes to memory.
 *
 * The depthwise kernel (AVX2) computes tiles of up to 4 output pixels x 16 channels in
 * registers, pixels whose taps reach into the padding through a checked one-pixel tile (5x5
 * rows of 7 or 8 pixels: the whole row at once). The clamp and HardSwish are applied in
 * registers as each tile is stored; Swish and the row sums follow in a sweep over each output
 * row, or over each channel block of it, while it is in L1. Weights are
 * [kh][kw][C], laid out by the compiler. The portable path computes the same pixel by pixel
 * and is the unit tests' reference. Where our GEMM has no fast path (no AVX2+FMA, or
 * EFFC_RT_FORCE_XNNPACK), create builds the two ops unfused on XNNPACK instead. */
#include "effc_rt.h"
#include "effc_rt_simd.h"

#include <string.h>

size_t effc_rt_mbconv_band(size_t in_w, size_t pad_w, size_t channels, size_t kh, size_t dh, size_t sh)
{
	/* About 192 KB of expanded rows (L2 is 512 KB on the parts this was tuned on, shared with
	 * the input rows, the output rows and the weights), but at least 48 new pixels per band:
	 * the expansion GEMM is inefficient on fewer rows than that. */
	const size_t row_bytes = (in_w + pad_w) * channels * sizeof(float), span = (kh - 1) * dh + 1;
	const size_t fit = (192u << 10) / (row_bytes ? row_bytes : 1), min_band = (48 + in_w * sh - 1) / (in_w * sh);
	size_t band = fit > span ? (fit - span) / sh + 1 : 1;
	return band < min_band ? min_band : band;
}

void effc_rt_pack_dw(size_t channels, size_t kh, size_t kw, const float *w, float *packed)
{
	for (size_t c = 0; c < channels; c++)
		for (size_t t = 0; t < kh * kw; t++)
			packed[t * channels + c] = w[c * kh * kw + t];
}

void effc_rt_unpack_dw(size_t channels, size_t kh, size_t kw, const float *packed, float *w)
{
	for (size_t c = 0; c < channels; c++)
		for (size_t t = 0; t < kh * kw; t++)
			w[c * kh * kw + t] = packed[t * channels + c];
}

/* Output row oy -> its first input row, the taps that fall inside the image, and pointers. */
struct row_geom {
	float *out; /* the output row */
	int iy0, ky0, ky1;
	const float *rows[16]; /* the input row of each valid tap row ky (kh <= 16) */
};

static const float *in_row(const struct effc_rt_dw *d, int iy)
{
	const size_t slot = d->in_ring ? (size_t)iy % (size_t)d->in_ring : (size_t)(iy - d->in_row0);
	return d->in + slot * (size_t)d->p.in_w * (size_t)d->p.in_c;
}

/* The first of the sh input rows that output row r reads and row r - 1 does not (what the
 * kernels prefetch ahead of r; may be negative or past the image). */
static inline int first_added_row(const struct effc_rt_conv2d *p, size_t r)
{
	return (int)r * p->sh - p->pad_top + (p->kh - 1) * p->dh - p->sh + 1;
}

/* Inlined: out of line it returned the struct through memory, and column order calls it once per
 * row and channel block (7x7x1152: 1.6x slower). */
#ifdef __GNUC__
__attribute__((always_inline))
#endif
static inline struct row_geom row_geom(const struct effc_rt_dw *d, size_t oy)
{
	const struct effc_rt_conv2d *p = &d->p;
	struct row_geom g;
	g.out = d->out + (oy - d->out_row0) * (size_t)p->out_w * (size_t)p->out_c;
	g.iy0 = (int)oy * p->sh - p->pad_top;
	g.ky0 = 0;
	while (g.ky0 < p->kh && g.iy0 + g.ky0 * p->dh < 0)
		g.ky0++;
	g.ky1 = p->kh;
	while (g.ky1 > g.ky0 && g.iy0 + (g.ky1 - 1) * p->dh >= p->in_h)
		g.ky1--;
	for (int ky = g.ky0; ky < g.ky1 && ky < 16; ky++)
		g.rows[ky] = in_row(d, g.iy0 + ky * p->dh);
	return g;
}

/* Channels [c0, c1) of output rows [oy0, oy1). */
static void dw_tile_ref(const struct effc_rt_dw *d, size_t oy0, size_t oy1, size_t c0, size_t c1)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c;
	for (size_t oy = oy0; oy < oy1; oy++) {
		const struct row_geom g = row_geom(d, oy);
		float *sums = d->row_sums ? d->row_sums + oy * C : NULL;
		if (sums)
			memset(sums + c0, 0, (c1 - c0) * sizeof(float));
		for (int ox = 0; ox < p->out_w; ox++) {
			float *y = g.out + (size_t)ox * C;
			for (size_t c = c0; c < c1; c++)
				y[c] = d->bias ? d->bias[c] : 0.0f;
			for (int ky = g.ky0; ky < g.ky1; ky++) {
				const float *row = in_row(d, g.iy0 + ky * p->dh);
				for (int kx = 0; kx < p->kw; kx++) {
					const int ix = ox * p->sw - p->pad_left + kx * p->dw;
					if (ix < 0 || ix >= p->in_w)
						continue;
					const float *x = row + (size_t)ix * C, *w = d->w + (size_t)(ky * p->kw + kx) * C;
					for (size_t c = c0; c < c1; c++)
						y[c] += x[c] * w[c];
				}
			}
			for (size_t c = c0; c < c1; c++)
				y[c] = y[c] < p->out_min ? p->out_min : y[c] > p->out_max ? p->out_max : y[c];
			if (p->act == EFFC_RT_ACT_SWISH)
				effc_rt_swish(c1 - c0, y + c0, y + c0);
			else if (p->act == EFFC_RT_ACT_HARDSWISH)
				effc_rt_hardswish(c1 - c0, y + c0, y + c0);
			for (size_t c = c0; sums && c < c1; c++)
				sums[c] += y[c];
		}
	}
}

void effc_rt_dw_rows_ref(const struct effc_rt_dw *d, size_t oy0, size_t oy1)
{
	dw_tile_ref(d, oy0, oy1, 0, (size_t)d->p.out_c);
}

#ifdef EFFC_RT_HAVE_AVX2
/* One tile: T pixels from ox, channels [c, c+8) (lanes past `mask` neither read nor written),
 * stored clamped and, with HardSwish, activated. CHECKED tiles test every tap against the row
 * ends; the others are inside. */
EFFC_RT_AVX2_INLINE void dw_tile(const struct effc_rt_dw *d, const struct row_geom *g, int ox, size_t c, const int T,
				 const int CHECKED, const int MASKED, __m256i mask, const int KW, const int SW)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c;
	/* KW, SW: compile-time kernel width and stride (dilation 1), 0 = read them from p. */
	const int kw = KW ? KW : p->kw, sw = SW ? SW : p->sw, dil = KW ? 1 : p->dw;
#define LOAD(ptr) (MASKED ? _mm256_maskload_ps((ptr), mask) : _mm256_loadu_ps(ptr))
	__m256 acc[4];
	const __m256 b = d->bias ? LOAD(d->bias + c) : _mm256_setzero_ps();
#pragma GCC unroll 4
	for (int t = 0; t < T; t++)
		acc[t] = b;
	for (int ky = g->ky0; ky < g->ky1; ky++) {
		const float *row = g->rows[ky] + c;
		const float *wrow = d->w + (size_t)ky * (size_t)kw * C + c;
#pragma GCC unroll 8
		for (int kx = 0; kx < kw; kx++) {
			const __m256 w = LOAD(wrow + (size_t)kx * C);
			const int ix0 = ox * sw - p->pad_left + kx * dil;
#pragma GCC unroll 8
			for (int t = 0; t < T; t++) {
				const int ix = ix0 + t * sw;
				if (!CHECKED || (ix >= 0 && ix < p->in_w))
					acc[t] = _mm256_fmadd_ps(LOAD(row + (size_t)ix * C), w, acc[t]);
			}
		}
	}
	const __m256 lo = _mm256_set1_ps(p->out_min), hi = _mm256_set1_ps(p->out_max);
	const int clamp = effc_rt_clamps(p->out_min, p->out_max), hswish = p->act == EFFC_RT_ACT_HARDSWISH;
#pragma GCC unroll 4
	for (int t = 0; t < T; t++) {
		__m256 v = clamp ? effc_rt_clamp8(acc[t], lo, hi) : acc[t];
		v = hswish ? effc_rt_hardswish8(v) : v;
		float *y = g->out + (size_t)(ox + t) * C + c;
		if (MASKED)
			_mm256_maskstore_ps(y, mask, v);
		else
			_mm256_storeu_ps(y, v);
	}
#undef LOAD
}

/* T pixels from ox, channels [c, c+16): eight accumulator chains. Four (one 8-channel block)
 * leave the FMA units half idle, waiting on each chain's latency (measured 1.6-2x slower than
 * ONNX Runtime's depthwise on B1's shapes). */
EFFC_RT_AVX2_INLINE void dw_tile16(const struct effc_rt_dw *d, const struct row_geom *g, int ox, size_t c, const int T,
				   const int CHECKED, const int KW, const int SW)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c;
	const int kw = KW ? KW : p->kw, sw = SW ? SW : p->sw, dil = KW ? 1 : p->dw;
	__m256 a0[4], a1[4];
	const __m256 b0 = d->bias ? _mm256_loadu_ps(d->bias + c) : _mm256_setzero_ps();
	const __m256 b1 = d->bias ? _mm256_loadu_ps(d->bias + c + 8) : _mm256_setzero_ps();
#pragma GCC unroll 4
	for (int t = 0; t < T; t++)
		a0[t] = b0, a1[t] = b1;
	for (int ky = g->ky0; ky < g->ky1; ky++) {
		const float *row = g->rows[ky] + c;
		const float *wrow = d->w + (size_t)ky * (size_t)kw * C + c;
#pragma GCC unroll 8
		for (int kx = 0; kx < kw; kx++) {
			const __m256 w0 = _mm256_loadu_ps(wrow + (size_t)kx * C), w1 = _mm256_loadu_ps(wrow + (size_t)kx * C + 8);
			const int ix0 = ox * sw - p->pad_left + kx * dil;
#pragma GCC unroll 4
			for (int t = 0; t < T; t++) {
				const int ix = ix0 + t * sw;
				if (!CHECKED || (ix >= 0 && ix < p->in_w)) {
					const float *x = row + (size_t)ix * C;
					a0[t] = _mm256_fmadd_ps(_mm256_loadu_ps(x), w0, a0[t]);
					a1[t] = _mm256_fmadd_ps(_mm256_loadu_ps(x + 8), w1, a1[t]);
				}
			}
		}
	}
	const __m256 lo = _mm256_set1_ps(p->out_min), hi = _mm256_set1_ps(p->out_max);
	const int clamp = effc_rt_clamps(p->out_min, p->out_max), hswish = p->act == EFFC_RT_ACT_HARDSWISH;
#pragma GCC unroll 4
	for (int t = 0; t < T; t++) {
		float *y = g->out + (size_t)(ox + t) * C + c;
		__m256 v0 = clamp ? effc_rt_clamp8(a0[t], lo, hi) : a0[t];
		__m256 v1 = clamp ? effc_rt_clamp8(a1[t], lo, hi) : a1[t];
		if (hswish)
			v0 = effc_rt_hardswish8(v0), v1 = effc_rt_hardswish8(v1);
		_mm256_storeu_ps(y, v0);
		_mm256_storeu_ps(y + 8, v1);
	}
}

/* T pixels from ox across all channels: the order for 3x3 kernels, whose tile inputs (3 rows
 * x 6 pixels x C) mostly stay in L1 while the channel blocks go by. */
EFFC_RT_AVX2_INLINE void dw_pixels(const struct effc_rt_dw *d, const struct row_geom *g, int ox, const int T,
				   const int CHECKED, __m256i mask, const int KW, const int SW)
{
	const size_t C = (size_t)d->p.out_c;
	size_t c = 0;
	for (; c + 16 <= C; c += 16)
		dw_tile16(d, g, ox, c, T, CHECKED, KW, SW);
	for (; c + 8 <= C; c += 8)
		dw_tile(d, g, ox, c, T, CHECKED, 0, mask, KW, SW);
	if (c < C)
		dw_tile(d, g, ox, c, T, CHECKED, 1, mask, KW, SW);
}

/* One output row, left border, 4-pixel tiles, a 2- and a 1-pixel rest, right border, over
 * all channels (DW_ALL: pixel-major, the order for 3x3) or over one channel block: [c, c+16)
 * (DW_WIDE), [c, c+8) (DW_EIGHT) or the masked rest (DW_MASKED). The block order is the one for
 * 5x5 and wider kernels (see dw_column): the block's input rows (kh x in_w x 64 B) stay in L1
 * across the row's tiles, where pixel-major order re-read kh x 8 pixels x C per tile from L2
 * (107 KB at 15x15x672): 7-14% faster on B1's 5x5 shapes, 2-7% slower on 3x3. `pf`: the input
 * rows the next output row adds, fetched a tile's worth (the walked channels of its pixels) at a
 * time. */
enum { DW_ALL, DW_WIDE, DW_EIGHT, DW_MASKED };
EFFC_RT_AVX2_INLINE void dw_walk(const struct effc_rt_dw *d, const struct row_geom *g, size_t c, const int KIND,
				 __m256i mask, const int KW, const int SW, int ox_lo, int ox_hi, const float *pf)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c, row_len = (size_t)p->in_w * C, span = KIND == DW_ALL ? C : 1;
	const int OW = p->out_w;
#define TILE(ox, T, CHECKED)                                                                                        \
	(KIND == DW_ALL    ? dw_pixels(d, g, ox, T, CHECKED, mask, KW, SW)                                            \
	 : KIND == DW_WIDE ? dw_tile16(d, g, ox, c, T, CHECKED, KW, SW)                                              \
			   : dw_tile(d, g, ox, c, T, CHECKED, KIND == DW_MASKED, mask, KW, SW))
	int ox = 0;
	for (; ox < ox_lo && ox < OW; ox++)
		TILE(ox, 1, 1);
	for (; ox + 4 <= ox_hi; ox += 4) {
		TILE(ox, 4, 0);
		for (int j = 0; pf && j < p->sh; j++)
			for (int x = ox * p->sw; x < (ox + 4) * p->sw && x < p->in_w; x++)
				for (size_t o = 0; o < span; o += 16)
					_mm_prefetch((const char *)(pf + (size_t)j * row_len + (size_t)x * C + c + o), _MM_HINT_T0);
	}
	if (ox + 2 <= ox_hi)
		TILE(ox, 2, 0), ox += 2;
	if (ox < ox_hi)
		TILE(ox, 1, 0), ox++;
	for (; ox < OW; ox++)
		TILE(ox, 1, 1);
#undef TILE
}

/* Swish and the row sums of channels [c, c+n) of one output row, n <= 16, while the slice is
 * in L1 (column order). The tiles applied the clamp and HardSwish in registers already. */
EFFC_RT_AVX2_INLINE void dw_slice_post(const struct effc_rt_dw *d, float *y, size_t c, size_t n, float *sums)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c, OW = (size_t)p->out_w;
	if (n != 16 && n != 8) {
		for (size_t j = 0; sums && j < n; j++)
			sums[c + j] = 0.0f;
		for (size_t x = 0; x < OW; x++) {
			float *v = y + x * C + c;
			if (p->act == EFFC_RT_ACT_SWISH)
				effc_rt_swish(n, v, v);
			for (size_t j = 0; sums && j < n; j++)
				sums[c + j] += v[j];
		}
		return;
	}
	__m256 s0 = _mm256_setzero_ps(), s1 = s0;
	for (size_t x = 0; x < OW; x++) {
		float *v = y + x * C + c;
		__m256 v0 = _mm256_loadu_ps(v), v1 = n == 16 ? _mm256_loadu_ps(v + 8) : _mm256_setzero_ps();
		if (p->act == EFFC_RT_ACT_SWISH) {
			v0 = effc_rt_swish8(v0), _mm256_storeu_ps(v, v0);
			if (n == 16)
				v1 = effc_rt_swish8(v1), _mm256_storeu_ps(v + 8, v1);
		}
		s0 = _mm256_add_ps(s0, v0), s1 = _mm256_add_ps(s1, v1);
	}
	if (sums) {
		_mm256_storeu_ps(sums + c, s0);
		if (n == 16)
			_mm256_storeu_ps(sums + c + 8, s1);
	}
}

/* Output rows [r0, r1) of channels [c, c+n) (column order, for 5x5 and wider kernels): the
 * block's input rows (kh x in_w x 64 B) stay in L1 from one output row to the next, which
 * only adds one input row to them. Row by row over all channels, each input row came back
 * from L2 for every output row it feeds (kh times; at 19x19x816 those rows are 310 KB).
 * Kernel microbenchmark: 0.73-0.89x on B0's and B3's 5x5 stride-1 shapes from 10 to 38 wide,
 * 0.82x on 5x5 stride 2; 3x3 (pixel-major) measured 0.9-1.16x and stays row by row. */
EFFC_RT_AVX2_INLINE void dw_column(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c, size_t n,
				   const int KIND, __m256i mask, const int KW, const int SW, int ox_lo, int ox_hi)
{
	const size_t C = (size_t)d->p.out_c;
	for (size_t r = r0; r < r1; r++) {
		const struct row_geom g = row_geom(d, r);
		dw_walk(d, &g, c, KIND, mask, KW, SW, ox_lo, ox_hi, NULL);
		if (d->row_sums || d->p.act == EFFC_RT_ACT_SWISH)
			dw_slice_post(d, g.out, c, n, d->row_sums ? d->row_sums + r * C : NULL);
	}
}

/* One output row of channels [c, c+8) (5x5, stride 1, rows of T = 7 or 8 pixels), the whole
 * row in registers: each input pixel is loaded once per tap row and feeds the up to five
 * outputs it touches, with the tap row's five weights in registers; then the activation and the
 * row sums, also in registers. On 7x7x1152 1.8x faster than 16-channel tiles, which need five
 * tiles per row there, four of them one-pixel border tiles whose two chains wait on latency. */
EFFC_RT_AVX2_INLINE void dw_row5x5(const struct effc_rt_dw *d, const struct row_geom *g, size_t c, const int T,
				   const int MASKED, __m256i mask, float *sums)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c;
#define LOAD(ptr) (MASKED ? _mm256_maskload_ps((ptr), mask) : _mm256_loadu_ps(ptr))
	__m256 acc[8];
	const __m256 b = d->bias ? LOAD(d->bias + c) : _mm256_setzero_ps();
#pragma GCC unroll 8
	for (int t = 0; t < T; t++)
		acc[t] = b;
	for (int ky = g->ky0; ky < g->ky1; ky++) {
		const float *row = g->rows[ky] + c, *wrow = d->w + (size_t)ky * 5 * C + c;
		__m256 w[5];
#pragma GCC unroll 5
		for (int k = 0; k < 5; k++)
			w[k] = LOAD(wrow + (size_t)k * C);
#pragma GCC unroll 12
		for (int j = 0; j < T + 4; j++) { /* input pixel j - pad_left feeds outputs j-4..j */
			const int ix = j - p->pad_left;
			if (ix < 0 || ix >= p->in_w)
				continue;
			const __m256 x = LOAD(row + (size_t)ix * C);
#pragma GCC unroll 8
			for (int t = 0; t < T; t++)
				if (j - t >= 0 && j - t < 5)
					acc[t] = _mm256_fmadd_ps(x, w[j - t], acc[t]);
		}
	}
	const __m256 lo = _mm256_set1_ps(p->out_min), hi = _mm256_set1_ps(p->out_max);
	const int clamp = effc_rt_clamps(p->out_min, p->out_max);
	__m256 sum = _mm256_setzero_ps();
#pragma GCC unroll 8
	for (int t = 0; t < T; t++) {
		__m256 v = clamp ? effc_rt_clamp8(acc[t], lo, hi) : acc[t];
		if (p->act == EFFC_RT_ACT_SWISH)
			v = effc_rt_swish8(v);
		else if (p->act == EFFC_RT_ACT_HARDSWISH)
			v = effc_rt_hardswish8(v);
		sum = _mm256_add_ps(sum, v);
		if (MASKED)
			_mm256_maskstore_ps(g->out + (size_t)t * C + c, mask, v);
		else
			_mm256_storeu_ps(g->out + (size_t)t * C + c, v);
	}
	if (sums && MASKED)
		_mm256_maskstore_ps(sums + c, mask, sum);
	else if (sums)
		_mm256_storeu_ps(sums + c, sum);
#undef LOAD
}

EFFC_RT_AVX2_INLINE void dw_rows5x5_narrow(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1,
					   const int T, __m256i mask)
{
	const size_t C = (size_t)d->p.out_c;
	for (size_t c = c0; c < c1; c += 8)
		for (size_t r = r0; r < r1; r++) {
			const struct row_geom g = row_geom(d, r);
			float *sums = d->row_sums ? d->row_sums + r * C : NULL;
			if (c + 8 <= C)
				dw_row5x5(d, &g, c, T, 0, mask, sums);
			else
				dw_row5x5(d, &g, c, T, 1, mask, sums);
		}
}

/* Output pixels [*ox_lo, *ox_hi) of a row read only inside the input row for every tap. */
static inline void dw_interior(const struct effc_rt_conv2d *p, int *ox_lo, int *ox_hi)
{
	int lo = 0, hi = p->out_w;
	while (lo < p->out_w && lo * p->sw - p->pad_left < 0)
		lo++;
	while (hi > lo && (hi - 1) * p->sw - p->pad_left + (p->kw - 1) * p->dw >= p->in_w)
		hi--;
	*ox_lo = lo, *ox_hi = hi;
}

/* Swish and the row sums once output row r is done (row by row over all channels), while it is
 * still in L1: one sweep along the row keeps the sums in registers and four independent chains
 * in flight, where a sweep per tile of four pixels measured slower than XNNPACK's depthwise
 * followed by a separate pass over the whole tensor. The clamp and HardSwish (a few ops) the
 * tiles apply in registers. */
static inline void dw_row_post(const struct effc_rt_dw *d, float *out, size_t r)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c, OW = (size_t)p->out_w;
	const enum effc_rt_act act = p->act == EFFC_RT_ACT_SWISH ? p->act : EFFC_RT_ACT_NONE;
	if (d->row_sums)
		effc_rt_act_row_sums(0, 1, OW, C, act, out, d->row_sums + r * C);
	else if (act == EFFC_RT_ACT_SWISH)
		effc_rt_swish(OW * C, out, out);
}

/* Output rows [r0, r1), channels [c0, c1): all of them (c0 = 0, c1 = C) for 3x3, or for 5x5
 * and wider (column order) any range whose ends are multiples of 16 or C. */
EFFC_RT_AVX2_INLINE void dw_rows_avx2(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1,
				      const int KW, const int SW)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c;
	const int OW = p->out_w;
	int ox_lo, ox_hi;
	dw_interior(p, &ox_lo, &ox_hi);
	const __m256i mask = effc_rt_first_lanes8(C % 8);
	if (KW == 5 && SW == 1 && (OW == 7 || OW == 8)) {
		if (OW == 7)
			dw_rows5x5_narrow(d, r0, r1, c0, c1, 7, mask);
		else
			dw_rows5x5_narrow(d, r0, r1, c0, c1, 8, mask);
		return;
	}
	if ((KW ? KW : p->kw) >= 5) {
		size_t c = c0;
		for (; c + 16 <= c1; c += 16)
			dw_column(d, r0, r1, c, 16, DW_WIDE, mask, KW, SW, ox_lo, ox_hi);
		for (; c + 8 <= c1; c += 8)
			dw_column(d, r0, r1, c, 8, DW_EIGHT, mask, KW, SW, ox_lo, ox_hi);
		if (c < c1)
			dw_column(d, r0, r1, c, c1 - c, DW_MASKED, mask, KW, SW, ox_lo, ox_hi);
		return;
	}
	(void)c0, (void)c1; /* 3x3: all channels (effc_rt_dw_channel_step) */
	for (size_t r = r0; r < r1; r++) {
		const struct row_geom g = row_geom(d, r);
		/* The rows the next output row reads first, fetched a tile's worth at a time. */
		const int add = first_added_row(p, r + 1);
		const float *pf = d->prefetch && add + p->sh <= p->in_h ? in_row(d, add) : NULL;
		dw_walk(d, &g, 0, DW_ALL, mask, KW, SW, ox_lo, ox_hi, pf);
		dw_row_post(d, g.out, r);
	}
}

/* The shapes EfficientNet uses get instances with the tap loops unrolled. */
EFFC_RT_AVX2_FN static void dw_3x3s1(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1) { dw_rows_avx2(d, r0, r1, c0, c1, 3, 1); }
EFFC_RT_AVX2_FN static void dw_3x3s2(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1) { dw_rows_avx2(d, r0, r1, c0, c1, 3, 2); }
EFFC_RT_AVX2_FN static void dw_5x5s1(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1) { dw_rows_avx2(d, r0, r1, c0, c1, 5, 1); }
EFFC_RT_AVX2_FN static void dw_5x5s2(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1) { dw_rows_avx2(d, r0, r1, c0, c1, 5, 2); }
EFFC_RT_AVX2_FN static void dw_any(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1) { dw_rows_avx2(d, r0, r1, c0, c1, 0, 0); }
#endif

#ifdef EFFC_RT_HAVE_AVX2
/* AVX-512, for channel counts that are multiples of 16 (every depthwise of B0-B7 but the
 * 24- and 40-channel ones on 112-150 wide maps, where AVX2's 8-wide rest tiles and its
 * prefetching order measured 4-9% faster than masked 16-channel tiles; those at 3x3 stride 1
 * run the flat-row kernel below), or of 64 and more with a masked last block (MobileNetV3's
 * 72, 88, 120, 184 and 200, where 16-channel tiles carry most channels). T output pixels from
 * ox, channels [c, c+16) (MASKED: the lanes of m), the
 * tap row's KW weights in registers and each input pixel loaded once per tap row for every
 * output it feeds: AVX2 has too few registers for that at 16 channels, so its tiles load an
 * input per FMA and are bound by the load ports. Kernel microbenchmark, Zen 4: 0.63-0.76x on
 * the 5x5 and the late 3x3 shapes, 0.84-0.96x on wide 3x3 maps. The sums are in the AVX2
 * tiles' order (bias, then ky, kx), so the outputs are the same bits (up to Swish, whose
 * AVX-512 exponential is a table form: within 1e-6 of the AVX2 one). CHECKED skips input
 * pixels outside the row (borders, short rows); the others are inside. */
EFFC_RT_AVX512_INLINE void dw512_tile(const struct effc_rt_dw *d, const struct row_geom *g, int ox, size_t c,
				      const int T, const int CHECKED, const int KW, const int SW, const int ACT,
				      const int MASKED, __mmask16 m, __m512 *sum)
{
#define LOAD512(ptr) (MASKED ? _mm512_maskz_loadu_ps(m, (ptr)) : _mm512_loadu_ps(ptr))
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c;
	__m512 acc[10];
	const __m512 b = d->bias ? LOAD512(d->bias + c) : _mm512_setzero_ps();
#pragma GCC unroll 10
	for (int t = 0; t < T; t++)
		acc[t] = b;
	const int ix0 = ox * SW - p->pad_left;
	for (int ky = g->ky0; ky < g->ky1; ky++) {
		const float *row = g->rows[ky] + c, *wrow = d->w + (size_t)ky * (size_t)KW * C + c;
		__m512 w[5];
#pragma GCC unroll 5
		for (int kx = 0; kx < KW; kx++)
			w[kx] = LOAD512(wrow + (size_t)kx * C);
#pragma GCC unroll 32
		for (int j = 0; j < (T - 1) * SW + KW; j++) { /* input pixel ix0 + j feeds outputs t with j - t*SW in [0, KW) */
			const int ix = ix0 + j;
			if (CHECKED && (ix < 0 || ix >= p->in_w))
				continue;
			const __m512 x = LOAD512(row + (size_t)ix * C);
#pragma GCC unroll 10
			for (int t = 0; t < T; t++)
				if (j - t * SW >= 0 && j - t * SW < KW)
					acc[t] = _mm512_fmadd_ps(x, w[j - t * SW], acc[t]);
		}
	}
	const __m512 lo = _mm512_set1_ps(p->out_min), hi = _mm512_set1_ps(p->out_max);
	const int clamp = effc_rt_clamps(p->out_min, p->out_max);
#pragma GCC unroll 10
	for (int t = 0; t < T; t++) {
		__m512 v = clamp ? effc_rt_clamp16(acc[t], lo, hi) : acc[t];
		if (ACT == EFFC_RT_ACT_SWISH)
			v = effc_rt_swish16(v);
		else if (ACT == EFFC_RT_ACT_HARDSWISH)
			v = effc_rt_hardswish16(v);
		*sum = _mm512_add_ps(*sum, v); /* pixel by pixel: the order of effc_rt_act_row_sums */
		if (MASKED)
			_mm512_mask_storeu_ps(g->out + (size_t)(ox + t) * C + c, m, v);
		else
			_mm512_storeu_ps(g->out + (size_t)(ox + t) * C + c, v);
	}
#undef LOAD512
}

/* A checked tile of n = 8, 9 or 10 pixels. */
EFFC_RT_AVX512_INLINE void dw512_tile_8to10(const struct effc_rt_dw *d, const struct row_geom *g, int ox, size_t c,
					    int n, const int KW, const int SW, const int ACT, const int MASKED,
					    __mmask16 m, __m512 *sum)
{
	if (n == 10)
		dw512_tile(d, g, ox, c, 10, 1, KW, SW, ACT, MASKED, m, sum);
	else if (n == 9)
		dw512_tile(d, g, ox, c, 9, 1, KW, SW, ACT, MASKED, m, sum);
	else
		dw512_tile(d, g, ox, c, 8, 1, KW, SW, ACT, MASKED, m, sum);
}

/* One output row of channels [c, c+16): tiles of 8 pixels, unchecked where every tap of the
 * tile is inside the row, then the rest as one checked tile. Rows of 9-10 pixels (B2's and
 * B3's last stages) as one checked tile and of 17-20 as two of 8-10, which load each tap row's
 * weights once or twice and leave no short tile with too few FMA chains: kernel
 * microbenchmark 0.81-0.89x the 8 + rest split on B3's 10-wide shapes, 0.87-0.94x on its
 * 19-wide ones; B3's eight 10-wide layers 0.12 ms less in the per-op profile. Returns the
 * row's sum of outputs (after the activation ACT). (Prefetching the next rows here, as the
 * AVX2 walk does, measured slower.) */
EFFC_RT_AVX512_INLINE __m512 dw512_walk(const struct effc_rt_dw *d, const struct row_geom *g, size_t c, const int KW,
					const int SW, int ox_lo, int ox_hi, const int ACT, const int MASKED, __mmask16 m)
{
	const int OW = d->p.out_w;
	__m512 sum = _mm512_setzero_ps();
	int ox = 0;
	if ((OW >= 9 && OW <= 10) || (OW >= 17 && OW <= 20)) {
		const int first = OW <= 10 ? OW : (OW + 1) / 2;
		dw512_tile_8to10(d, g, 0, c, first, KW, SW, ACT, MASKED, m, &sum);
		if (first < OW)
			dw512_tile_8to10(d, g, first, c, OW - first, KW, SW, ACT, MASKED, m, &sum);
		return sum;
	}
	for (; ox + 8 <= OW; ox += 8) {
		if (ox >= ox_lo && ox + 8 <= ox_hi)
			dw512_tile(d, g, ox, c, 8, 0, KW, SW, ACT, MASKED, m, &sum);
		else
			dw512_tile(d, g, ox, c, 8, 1, KW, SW, ACT, MASKED, m, &sum);
	}
	switch (OW - ox) {
	case 7: dw512_tile(d, g, ox, c, 7, 1, KW, SW, ACT, MASKED, m, &sum); break;
	case 6: dw512_tile(d, g, ox, c, 6, 1, KW, SW, ACT, MASKED, m, &sum); break;
	case 5: dw512_tile(d, g, ox, c, 5, 1, KW, SW, ACT, MASKED, m, &sum); break;
	case 4: dw512_tile(d, g, ox, c, 4, 1, KW, SW, ACT, MASKED, m, &sum); break;
	case 3: dw512_tile(d, g, ox, c, 3, 1, KW, SW, ACT, MASKED, m, &sum); break;
	case 2: dw512_tile(d, g, ox, c, 2, 1, KW, SW, ACT, MASKED, m, &sum); break;
	case 1: dw512_tile(d, g, ox, c, 1, 1, KW, SW, ACT, MASKED, m, &sum); break;
	default: break;
	}
	return sum;
}

/* With d->prefetch (a whole image, out of cache): channels [c, c+16) of the input rows that
 * output row r adds to those of row r - 1, one line per pixel. */
EFFC_RT_AVX512_INLINE void dw512_prefetch(const struct effc_rt_dw *d, size_t r, size_t c)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c;
	if (!d->prefetch || r >= (size_t)p->out_h)
		return;
	const int first = first_added_row(p, r);
	for (int iy = first < 0 ? 0 : first; iy < first + p->sh && iy < p->in_h; iy++) {
		const float *row = in_row(d, iy) + c;
		for (int x = 0; x < p->in_w; x++)
			_mm_prefetch((const char *)(row + (size_t)x * C), _MM_HINT_T0);
	}
}

/* 3x3: row by row, the channel blocks one after another along the row; 5x5: column order (one
 * block over all the rows, as dw_column: the block's input rows stay in L1). The clamp, the
 * activation (Swish or HardSwish) and the row sums are applied in registers as each tile is
 * stored, the sums pixel by pixel as effc_rt_act_row_sums adds them, in the order of the AVX2
 * path's sweep after each row. */
EFFC_RT_AVX512_INLINE void dw_rows_avx512(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1,
					const int KW, const int SW)
{
	const struct effc_rt_conv2d *p = &d->p;
	const size_t C = (size_t)p->out_c;
	const int act = (int)p->act;
	int ox_lo, ox_hi;
	dw_interior(p, &ox_lo, &ox_hi);
	/* full blocks up to c_full, then (at c1 = C, C not a multiple of 16) a masked one */
	const size_t c_full = c1 - (c1 == C ? C % 16 : 0);
	const __mmask16 m = (__mmask16)((1u << (C % 16)) - 1u);
	if (KW >= 5) {
		for (size_t c = c0; c < c1; c += 16)
			for (size_t r = r0; r < r1; r++) {
				const struct row_geom g = row_geom(d, r);
				if (c < c_full) {
					const __m512 s = dw512_walk(d, &g, c, KW, SW, ox_lo, ox_hi, act, 0, 0);
					if (d->row_sums)
						_mm512_storeu_ps(d->row_sums + r * C + c, s);
				} else {
					const __m512 s = dw512_walk(d, &g, c, KW, SW, ox_lo, ox_hi, act, 1, m);
					if (d->row_sums)
						_mm512_mask_storeu_ps(d->row_sums + r * C + c, m, s);
				}
				dw512_prefetch(d, r + 2, c); /* r + 1 is next: its rows were fetched one row ago */
			}
		return;
	}
	for (size_t r = r0; r < r1; r++) {
		const struct row_geom g = row_geom(d, r);
		float *sums = d->row_sums ? d->row_sums + r * C : NULL;
		size_t c = c0;
		for (; c < c_full; c += 16) {
			const __m512 s = dw512_walk(d, &g, c, KW, SW, ox_lo, ox_hi, act, 0, 0);
			if (sums)
				_mm512_storeu_ps(sums + c, s);
			dw512_prefetch(d, r + 1, c);
		}
		if (c < c1) {
			const __m512 s = dw512_walk(d, &g, c, KW, SW, ox_lo, ox_hi, act, 1, m);
			if (sums)
				_mm512_mask_storeu_ps(sums + c, m, s);
		}
	}
}

EFFC_RT_AVX512_FN static void dw512_3x3s1(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1) { dw_rows_avx512(d, r0, r1, c0, c1, 3, 1); }
EFFC_RT_AVX512_FN static void dw512_3x3s2(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1) { dw_rows_avx512(d, r0, r1, c0, c1, 3, 2); }
EFFC_RT_AVX512_FN static void dw512_5x5s1(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1) { dw_rows_avx512(d, r0, r1, c0, c1, 5, 1); }
EFFC_RT_AVX512_FN static void dw512_5x5s2(const struct effc_rt_dw *d, size_t r0, size_t r1, size_t c0, size_t c1) { dw_rows_avx512(d, r0, r1, c0, c1, 5, 2); }

/* 3x3 stride 1 with C = 8, 24 or 40 channels (B3's first two blocks: 40 and 24 at 150x150;
 * B4's and B5's 24), where 16-channel tiles leave a half-empty vector per pixel: the output row
 * as one flat run of OW * C floats. Input pixel ox + kx - 1 sits (kx - 1) * C floats from output
 * pixel ox, so each output vector takes its nine taps from nine unaligned loads, and the weights
 * repeat every lcm(16, C) floats: P = C / 8 vectors per tap, R such periods per block (5 x 1 for
 * 40 channels, 3 x 4 for 24: 0.79x and 0.68x the AVX2 tiles with their Swish sweep in the kernel
 * microbenchmark at 150x150; R = 2 for 40 measured 0.90x, R = 2 and 6 for 24 0.72x and 0.80x).
 * B3 at 1 thread: those two layers 0.652 -> 0.514 and 0.354 -> 0.239 ms (per-op profile), whole
 * runner 0.7% faster (five alternating runs). Same FMAs in the same order as the 16-channel tiles
 * (an input outside the row is a zero, not a skipped tap); the row sums come out of P lane-wise
 * partial sums, added in another order than the tiles' pixel-by-pixel one. */
#define DWF_MAXP 5
EFFC_RT_AVX512_INLINE __mmask16 dwf_mask(ptrdiff_t o, ptrdiff_t hi)
{
	/* lanes l with 0 <= o + l < hi */
	unsigned m = 0xffffu;
	if (o < 0)
		m = -o >= 16 ? 0 : m & (0xffffu << -o);
	if (o + 16 > hi)
		m = hi - o <= 0 ? 0 : m & (0xffffu >> (16 - (hi - o)));
	return (__mmask16)m;
}

EFFC_RT_AVX512_INLINE void dwf_block(const struct row_geom *g, const float *w, const float *b, ptrdiff_t o0,
				     ptrdiff_t L, ptrdiff_t Lin, ptrdiff_t C, ptrdiff_t pl, const int P, const int R,
				     const int CHECKED, int clamp, __m512 lo, __m512 hi, int act, __m512 *sum)
{
	__m512 acc[DWF_MAXP * 8];
#pragma GCC unroll 40
	for (int v = 0; v < R * P; v++)
		acc[v] = _mm512_loadu_ps(b + (v % P) * 16);
#pragma GCC unroll 3
	for (int ky = 0; ky < 3; ky++) {
		if (ky < g->ky0 || ky >= g->ky1)
			continue;
		const float *row = g->rows[ky];
#pragma GCC unroll 3
		for (int kx = 0; kx < 3; kx++) {
			const ptrdiff_t sh = (kx - pl) * C;
#pragma GCC unroll 5
			for (int j = 0; j < P; j++) {
				const __m512 wv = _mm512_loadu_ps(w + ((size_t)ky * 3 + (size_t)kx) * 16 * (size_t)P + (size_t)j * 16);
#pragma GCC unroll 8
				for (int r = 0; r < R; r++) {
					const int v = r * P + j;
					const ptrdiff_t o = o0 + 16 * v + sh;
					const __m512 x = CHECKED ? _mm512_maskz_loadu_ps(dwf_mask(o, Lin), row + o)
								 : _mm512_loadu_ps(row + o);
					acc[v] = _mm512_fmadd_ps(x, wv, acc[v]);
				}
			}
		}
	}
#pragma GCC unroll 40
	for (int v = 0; v < R * P; v++) {
		__m512 y = clamp ? effc_rt_clamp16(acc[v], lo, hi) : acc[v];
		if (act == EFFC_RT_ACT_SWISH)
			y = effc_rt_swish16(y);
		else if (act == EFFC_RT_ACT_HARDSWISH)
			y = effc_rt_hardswish16(y);
		const ptrdiff_t o = o0 + 16 * v;
		if (CHECKED) {
			const __mmask16 m = dwf_mask(o, L);
			sum[v % P] = _mm512_add_ps(sum[v % P], _mm512_maskz_mov_ps(m, y));
			_mm512_mask_storeu_ps(g->out + o, m, y);
		} else {
			sum[v % P] = _mm512_add_ps(sum[v % P], y);
			_mm512_storeu_ps(g->out + o, y);
		}
	}
}

EFFC_RT_AVX512_INLINE void dw512_flat(const struct effc_rt_dw *d, size_t r0, size_t r1, const int P, const int R)
{
	const struct effc_rt_conv2d *p = &d->p;
	const ptrdiff_t C = p->out_c, L = (ptrdiff_t)p->out_w * C, Lin = (ptrdiff_t)p->in_w * C, pl = p->pad_left;
	const ptrdiff_t span = 16 * P * R;
	/* the weights and bias repeated over a period: w[(ky * 3 + kx) * 16P + i] = tap's [i % C] */
	float w[9 * 16 * DWF_MAXP], b[16 * DWF_MAXP], part[16 * DWF_MAXP];
	for (int t = 0; t < 9; t++)
		for (int i = 0; i < 16 * P; i++)
			w[t * 16 * P + i] = d->w[(size_t)t * (size_t)C + (size_t)(i % C)];
	for (int i = 0; i < 16 * P; i++)
		b[i] = d->bias ? d->bias[i % C] : 0.0f;
	const int clamp = effc_rt_clamps(p->out_min, p->out_max);
	const __m512 lo = _mm512_set1_ps(p->out_min), hi = _mm512_set1_ps(p->out_max);
	const int act = (int)p->act;
	/* blocks whose every load and store is inside the rows: [o_lo, o_hi) */
	const ptrdiff_t o_lo = (pl * C + span - 1) / span * span;
	const ptrdiff_t o_hi = (L < Lin - (2 - pl) * C ? L : Lin - (2 - pl) * C) - span;
	for (size_t r = r0; r < r1; r++) {
		const struct row_geom g = row_geom(d, r);
		__m512 sum[DWF_MAXP];
		for (int j = 0; j < P; j++)
			sum[j] = _mm512_setzero_ps();
		for (ptrdiff_t o0 = 0; o0 < L; o0 += span) {
			if (o0 >= o_lo && o0 <= o_hi)
				dwf_block(&g, w, b, o0, L, Lin, C, pl, P, R, 0, clamp, lo, hi, act, sum);
			else
				dwf_block(&g, w, b, o0, L, Lin, C, pl, P, R, 1, clamp, lo, hi, act, sum);
		}
		if (d->row_sums) {
			for (int j = 0; j < P; j++)
				_mm512_storeu_ps(part + 16 * j, sum[j]);
			float *sums = d->row_sums + r * (size_t)C;
			for (ptrdiff_t c = 0; c < C; c++) {
				float t = 0.0f;
				for (ptrdiff_t i = c; i < 16 * P; i += C)
					t += part[i];
				sums[c] = t;
			}
		}
	}
}

EFFC_RT_AVX512_FN static void dw512_flat8(const struct effc_rt_dw *d, size_t r0, size_t r1) { dw512_flat(d, r0, r1, 1, 8); }
EFFC_RT_AVX512_FN static void dw512_flat24(const struct effc_rt_dw *d, size_t r0, size_t r1) { dw512_flat(d, r0, r1, 3, 4); }
EFFC_RT_AVX512_FN static void dw512_flat40(const struct effc_rt_dw *d, size_t r0, size_t r1) { dw512_flat(d, r0, r1, 5, 1); }

/* The flat-row kernel's shapes (see dw512_flat) */
static int dw_flat(const struct effc_rt_conv2d *p)
{
	return (p->out_c == 8 || p->out_c == 24 || p->out_c == 40) && p->kh == 3 && p->kw == 3 && p->sh == 1 &&
	       p->sw == 1 && p->dh == 1 && p->dw == 1 && p->pad_left <= 2;
}

/* The unrolled instances: 10 * kernel size + stride, or 0 for any other shape. */
static int dw_instance(const struct effc_rt_conv2d *p)
{
	const int k = p->kw == p->kh && p->dw == 1 && p->dh == 1 && p->sw == p->sh ? p->kw * 10 + p->sw : 0;
	return k == 31 || k == 32 || k == 51 || k == 52 ? k : 0;
}
#endif

int effc_rt_dw_avx512(const struct effc_rt_conv2d *p)
{
#ifdef EFFC_RT_HAVE_AVX2
	return effc_rt_gemm_fast_available() && effc_rt_use_avx512() && p->kh <= 16 &&
	       (((p->out_c % 16 == 0 || p->out_c >= 64) && dw_instance(p) != 0) || dw_flat(p));
#else
	(void)p;
	return 0;
#endif
}

size_t effc_rt_dw_channel_step(const struct effc_rt_conv2d *p)
{
#ifdef EFFC_RT_HAVE_AVX2
	/* The AVX-512 tiles (not the flat rows) and AVX2's column order (5x5 and wider) */
	if (!effc_rt_gemm_fast_available() || p->kh > 16)
		return 0;
	if (effc_rt_dw_avx512(p))
		return dw_flat(p) ? 0 : 16;
	return p->kw >= 5 ? 16 : 0;
#else
	(void)p;
	return 0;
#endif
}

void effc_rt_dw_tile(const struct effc_rt_dw *d, size_t oy0, size_t oy1, size_t c0, size_t c1)
{
	const size_t C = (size_t)d->p.out_c;
	if ((c0 != 0 || c1 != C) && !effc_rt_dw_channel_step(&d->p)) {
		dw_tile_ref(d, oy0, oy1, c0, c1); /* a range the fast kernels do not take (the runtime never asks) */
		return;
	}
#ifdef EFFC_RT_HAVE_AVX2
	if (effc_rt_gemm_fast_available() && d->p.kh <= 16) {
		const int k = dw_instance(&d->p);
		if (effc_rt_dw_avx512(&d->p) && dw_flat(&d->p))
			switch (d->p.out_c) {
			case 8: dw512_flat8(d, oy0, oy1); return;
			case 24: dw512_flat24(d, oy0, oy1); return;
			default: dw512_flat40(d, oy0, oy1); return;
			}
		if (effc_rt_dw_avx512(&d->p))
			switch (k) {
			case 31: dw512_3x3s1(d, oy0, oy1, c0, c1); return;
			case 32: dw512_3x3s2(d, oy0, oy1, c0, c1); return;
			case 51: dw512_5x5s1(d, oy0, oy1, c0, c1); return;
			case 52: dw512_5x5s2(d, oy0, oy1, c0, c1); return;
			default: break;
			}
		switch (k) {
		case 31: dw_3x3s1(d, oy0, oy1, c0, c1); return;
		case 32: dw_3x3s2(d, oy0, oy1, c0, c1); return;
		case 51: dw_5x5s1(d, oy0, oy1, c0, c1); return;
		case 52: dw_5x5s2(d, oy0, oy1, c0, c1); return;
		default: dw_any(d, oy0, oy1, c0, c1); return;
		}
	}
#endif
	dw_tile_ref(d, oy0, oy1, c0, c1);
}

void effc_rt_dw_rows(const struct effc_rt_dw *d, size_t oy0, size_t oy1)
{
	effc_rt_dw_tile(d, oy0, oy1, 0, (size_t)d->p.out_c);
}

/* One task: output rows [r0, r1) of batch * out_h, band by band, through its own buffer: a
 * ring of buf_rows expanded rows (row y in slot y % buf_rows), so the rows a band shares with
 * the last one stay where they are. (Moving them to the front instead copied up to 180 KB per
 * output row: 31 MB per B3 inference.) The rows carry the depthwise's left and right zero
 * padding (the expansion never writes there), so the depthwise reads every tap without a
 * bounds check. Without an expansion the depthwise reads x in place. With a projection, each
 * band goes to obuf and is projected from there. */
static void mbconv_rows(const struct effc_rt_mbconv *m, size_t r0, size_t r1, float *buf, float *obuf)
{
	const struct effc_rt_conv2d *p = &m->dw;
	const size_t H = (size_t)p->in_h, W = (size_t)p->in_w, N = (size_t)p->out_c, OH = (size_t)p->out_h;
	const size_t OW = (size_t)p->out_w, pl = (size_t)p->pad_left, Wp = W + pl + (size_t)p->pad_right;
	struct effc_rt_conv2d q = *p; /* the depthwise as it sees the padded buffer */
	q.in_w = (int)Wp, q.pad_left = q.pad_right = 0;
	size_t have_b = (size_t)-1;
	int have_lo = 0, have_hi = 0; /* expanded rows [have_lo, have_hi) of image have_b are in buf */
	for (size_t r = r0; r < r1;) {
		const size_t b = r / OH, oy0 = r % OH;
		size_t oy1 = oy0 + m->band;
		if (oy1 > OH)
			oy1 = OH;
		if (oy1 - oy0 > r1 - r)
			oy1 = oy0 + (r1 - r);
		struct effc_rt_dw d = {.p = *p, .w = m->wd, .bias = m->bd, .in = m->x + b * H * W * N,
				       .out = m->out + b * OH * OW * N,
				       .row_sums = m->row_sums ? m->row_sums + b * OH * N : NULL};
		if (m->we) {
			int lo = (int)oy0 * p->sh - p->pad_top;
			int hi = (int)(oy1 - 1) * p->sh - p->pad_top + (p->kh - 1) * p->dh + 1;
			lo = lo < 0 ? 0 : lo > (int)H ? (int)H : lo;
			hi = hi < lo ? lo : hi > (int)H ? (int)H : hi;
			/* keep the rows this band shares with the last one */
			const int from = b == have_b && lo >= have_lo && lo < have_hi ? have_hi : lo;
			for (int y = from; y < hi; y++) {
				struct effc_rt_gemm g = {.m = W, .n = N, .k = m->k, .a = m->x + (b * H + (size_t)y) * W * m->k,
							 .packed = m->we, .bias = m->be,
							 .c = buf + ((size_t)y % m->buf_rows * Wp + pl) * N, .out_min = m->e_min,
							 .out_max = m->e_max, .act = m->e_act};
				effc_rt_gemm_fast(&g, 0, g.m);
			}
			have_b = b, have_lo = lo, have_hi = hi > from ? hi : from;
			d.p = q, d.in = buf, d.in_ring = (int)m->buf_rows;
		}
		if (m->proj.packed)
			d.out = obuf, d.out_row0 = oy0, d.row_sums = NULL;
		effc_rt_dw_rows(&d, oy0, oy1);
		if (m->proj.packed) {
			struct effc_rt_gemm g = m->proj;
			const size_t at = (b * OH + oy0) * OW * g.n;
			g.m = (oy1 - oy0) * OW, g.a = obuf, g.c += at;
			g.residual = g.residual ? g.residual + at : NULL;
			effc_rt_gemm_fast(&g, 0, g.m);
		}
		r += oy1 - oy0;
	}
}

void effc_rt_mbconv_task(const struct effc_rt_mbconv *m, size_t t)
{
	const size_t rows = (size_t)m->dw.batch * (size_t)m->dw.out_h, chunk = (rows + m->tasks - 1) / m->tasks;
	const size_t r0 = t * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
	float *buf = m->bufs + t * (m->buf_floats + m->out_floats);
	if (r0 < r1)
		mbconv_rows(m, r0, r1, buf, buf + m->buf_floats);
}
