/* effc_rt_image.c: 8-bit camera frames to the float tensor a model reads (NAME_run_image of a
 * model compiled with --image-input). One pass over the frame does the byte-to-float
 * conversion, the channel order (RGB or BGR, with or without a fourth byte that is skipped),
 * the normalisation and the layout: NHWC straight into the buffer the first convolution reads,
 * or NCHW planes.
 *
 * The normalisation is a table per channel, filled once at init with the exact float formula
 * (byte * scale - mean) / std for all 256 byte values: run does no arithmetic, and the floats
 * are bit for bit what a caller computing that formula in float gets (no fused or reassociated
 * scale-and-bias to differ by an ulp). Portable C, no allocation; the frame is read row by row
 * through its stride, so padded rows and cropped views work.
 * Adding a pixel format: one entry in formats[] (bytes per pixel and where R, G and B sit). */
#include "effc_rt.h"

#include <math.h>

static const struct {
	int bytes_per_pixel, r, g, b;
} formats[] = {
	[EFFC_RT_PIXELS_RGB8] = {3, 0, 1, 2},
	[EFFC_RT_PIXELS_RGBA8] = {4, 0, 1, 2},
	[EFFC_RT_PIXELS_BGR8] = {3, 2, 1, 0},
	[EFFC_RT_PIXELS_BGRA8] = {4, 2, 1, 0},
};

int effc_rt_image_bytes_per_pixel(enum effc_rt_pixel_format format)
{
	return (unsigned)format < sizeof formats / sizeof formats[0] ? formats[format].bytes_per_pixel : 0;
}

int effc_rt_image_init(struct effc_rt_image *im, enum effc_rt_pixel_format format, int width, int height,
		       float scale, const float mean[3], const float std[3], int nhwc)
{
	if (!im || !mean || !std || !effc_rt_image_bytes_per_pixel(format) || width < 1 || height < 1 ||
	    !isfinite(scale))
		return EFFC_RT_ERR_ARGS;
	for (int c = 0; c < 3; c++)
		if (!isfinite(mean[c]) || !isfinite(std[c]) || std[c] == 0.0f)
			return EFFC_RT_ERR_ARGS;
	im->width = width;
	im->height = height;
	im->bytes_per_pixel = formats[format].bytes_per_pixel;
	im->src[0] = formats[format].r;
	im->src[1] = formats[format].g;
	im->src[2] = formats[format].b;
	im->nhwc = nhwc;
	for (int c = 0; c < 3; c++)
		for (int v = 0; v < 256; v++)
			im->lut[c][v] = ((float)v * scale - mean[c]) / std[c];
	return EFFC_RT_OK;
}

int effc_rt_image_convert(const struct effc_rt_image *im, const unsigned char *pixels, size_t stride_bytes,
			  float *out)
{
	if (!im || !pixels || !out || stride_bytes < (size_t)im->width * (size_t)im->bytes_per_pixel)
		return EFFC_RT_ERR_ARGS;
	const size_t w = (size_t)im->width, h = (size_t)im->height, bpp = (size_t)im->bytes_per_pixel;
	const float *lr = im->lut[0], *lg = im->lut[1], *lb = im->lut[2];
	const int sr = im->src[0], sg = im->src[1], sb = im->src[2];
	for (size_t y = 0; y < h; y++) {
		const unsigned char *row = pixels + y * stride_bytes;
		if (im->nhwc) {
			float *o = out + y * w * 3;
			for (size_t x = 0; x < w; x++, row += bpp, o += 3) {
				o[0] = lr[row[sr]];
				o[1] = lg[row[sg]];
				o[2] = lb[row[sb]];
			}
		} else {
			/* Three planes written side by side, so the frame is still read once. */
			float *r = out + y * w, *g = r + w * h, *b = g + w * h;
			for (size_t x = 0; x < w; x++, row += bpp) {
				r[x] = lr[row[sr]];
				g[x] = lg[row[sg]];
				b[x] = lb[row[sb]];
			}
		}
	}
	return EFFC_RT_OK;
}
