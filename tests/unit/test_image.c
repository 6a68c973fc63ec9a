/* test_image.c: the camera-frame conversion of effc_rt_image.c against a reference written
 * here from the formula (byte * scale - mean[c]) / std[c]: every pixel format, NHWC and NCHW,
 * widths 1, 7 and 33 (odd, so no row is a multiple of a vector), rows padded past
 * width * bytes_per_pixel with bytes that must not be read as pixels, and two normalisations
 * (torchvision's ImageNet and TF's [-1, 1]). Then init's and convert's refusals. */
#include "effc_rt.h"
#include "testing.h"

#include <stdint.h>

/* Where R, G and B sit in a pixel of each format: written out here, not taken from the runtime. */
static const struct {
	enum effc_rt_pixel_format format;
	const char *name;
	int bpp, r, g, b;
} formats[] = {
	{EFFC_RT_PIXELS_RGB8, "rgb8", 3, 0, 1, 2},
	{EFFC_RT_PIXELS_RGBA8, "rgba8", 4, 0, 1, 2},
	{EFFC_RT_PIXELS_BGR8, "bgr8", 3, 2, 1, 0},
	{EFFC_RT_PIXELS_BGRA8, "bgra8", 4, 2, 1, 0},
};

static uint32_t rng = 12345;
static unsigned char next_byte(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (unsigned char)(rng >> 24);
}

static float reference(unsigned char v, float scale, float mean, float std)
{
	return ((float)v * scale - mean) / std;
}

struct norm {
	const char *name;
	float scale;
	const float *mean, *std;
};

/* One conversion of a random w x h frame with rows of w * bpp + pad bytes. */
static void check_one(size_t f, const struct norm *n, int w, int h, int pad, int nhwc)
{
	const int bpp = formats[f].bpp;
	const size_t stride = (size_t)(w * bpp + pad), count = (size_t)(3 * w * h);
	char name[128];
	snprintf(name, sizeof name, "%s %s %dx%d stride %zu %s", formats[f].name, n->name, w, h, stride,
		 nhwc ? "nhwc" : "nchw");
	unsigned char *px = malloc(stride * (size_t)h);
	float *out = malloc(sizeof(float) * (count + 2)); /* a guard float on each side of the tensor */
	if (!px || !out)
		abort();
	for (size_t i = 0; i < stride * (size_t)h; i++)
		px[i] = next_byte();
	out[0] = out[count + 1] = 1234.5f;
	struct effc_rt_image im;
	int st = effc_rt_image_init(&im, formats[f].format, w, h, n->scale, n->mean, n->std, nhwc);
	st = st ? st : effc_rt_image_convert(&im, px, stride, out + 1);
	double worst = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int c = 0; c < 3; c++) {
				const int off = c == 0 ? formats[f].r : c == 1 ? formats[f].g : formats[f].b;
				const unsigned char v = px[(size_t)y * stride + (size_t)(x * bpp + off)];
				const float want = reference(v, n->scale, n->mean[c], n->std[c]);
				const size_t at = nhwc ? (size_t)((y * w + x) * 3 + c) : (size_t)((c * h + y) * w + x);
				worst = fmax(worst, fabs((double)out[1 + at] - want) / fmax(1.0, fabs(want)));
			}
	check(!st && worst <= 1e-6 && out[0] == 1234.5f && out[count + 1] == 1234.5f, name,
	      "status %d, worst relative error %g, guards %g %g", st, worst, (double)out[0], (double)out[count + 1]);
	free(px);
	free(out);
}

static void test_conversions(void)
{
	static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
	static const float tf_mean[3] = {1, 1, 1}, tf_std[3] = {1, 1, 1};
	const struct norm norms[] = {{"imagenet", 1.0f / 255.0f, imagenet_mean, imagenet_std},
				     {"tf", 1.0f / 127.5f, tf_mean, tf_std}};
	const int widths[] = {1, 7, 33}, heights[] = {1, 5, 4};
	for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++)
		for (size_t n = 0; n < 2; n++)
			for (int i = 0; i < 3; i++)
				for (int pad = 0; pad <= 5; pad += 5) {
					check_one(f, &norms[n], widths[i], heights[i], pad, 1);
					check_one(f, &norms[n], widths[i], heights[i], pad, 0);
				}
}

static void test_refusals(void)
{
	static const float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1}, std0[3] = {1, 0, 1}, mean_nan[3] = {0, NAN, 0};
	struct effc_rt_image im;
	check(effc_rt_image_init(&im, (enum effc_rt_pixel_format)99, 4, 4, 1.0f, mean, std, 1) == EFFC_RT_ERR_ARGS,
	      "init refuses an unknown format", "accepted");
	check(effc_rt_image_bytes_per_pixel((enum effc_rt_pixel_format)99) == 0 &&
		      effc_rt_image_bytes_per_pixel(EFFC_RT_PIXELS_BGRA8) == 4 && effc_rt_image_bytes_per_pixel(EFFC_RT_PIXELS_RGB8) == 3,
	      "bytes per pixel", "wrong");
	check(effc_rt_image_init(&im, EFFC_RT_PIXELS_RGB8, 0, 4, 1.0f, mean, std, 1) == EFFC_RT_ERR_ARGS,
	      "init refuses width 0", "accepted");
	check(effc_rt_image_init(&im, EFFC_RT_PIXELS_RGB8, 4, 4, 1.0f, mean, std0, 1) == EFFC_RT_ERR_ARGS,
	      "init refuses a std of 0", "accepted");
	check(effc_rt_image_init(&im, EFFC_RT_PIXELS_RGB8, 4, 4, 1.0f, mean_nan, std, 1) == EFFC_RT_ERR_ARGS,
	      "init refuses a NaN mean", "accepted");
	check(effc_rt_image_init(&im, EFFC_RT_PIXELS_RGB8, 4, 4, INFINITY, mean, std, 1) == EFFC_RT_ERR_ARGS,
	      "init refuses an infinite scale", "accepted");
	check(effc_rt_image_init(NULL, EFFC_RT_PIXELS_RGB8, 4, 4, 1.0f, mean, std, 1) == EFFC_RT_ERR_ARGS,
	      "init refuses NULL", "accepted");
	unsigned char px[4 * 4 * 4] = {0};
	float out[3 * 16];
	int st = effc_rt_image_init(&im, EFFC_RT_PIXELS_RGBA8, 4, 4, 1.0f, mean, std, 0);
	check(!st && effc_rt_image_convert(&im, px, 15, out) == EFFC_RT_ERR_ARGS, "convert refuses a stride shorter than a row",
	      "init %d", st);
	check(!st && effc_rt_image_convert(&im, NULL, 16, out) == EFFC_RT_ERR_ARGS &&
		      effc_rt_image_convert(&im, px, 16, NULL) == EFFC_RT_ERR_ARGS,
	      "convert refuses NULL", "accepted");
}

int main(void)
{
	test_conversions();
	test_refusals();
	return test_summary();
}
