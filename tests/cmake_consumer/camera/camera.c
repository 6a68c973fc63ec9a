/* A user's camera program: reads tiny.weights into aligned memory (the build compiled the model
 * with --weights file), classifies a synthetic RGBA frame with tiny_run_image, and checks the
 * result against the float path (the frame converted here, then tiny_run). Prints the class of
 * each; exits 0 only when both agree. Optional argument: another weights file. */
#include "tiny.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { W = TINY_IMAGE_WIDTH, H = TINY_IMAGE_HEIGHT, BPP = TINY_IMAGE_BYTES_PER_PIXEL };
static unsigned char frame[H * W * BPP];
static float floats[TINY_INPUT_SIZE], from_frame[TINY_OUTPUT_SIZE], from_floats[TINY_OUTPUT_SIZE];

static void *load(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *p = NULL;
	long n = -1;
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		p = aligned_alloc(TINY_WEIGHTS_ALIGN, ((size_t)n + TINY_WEIGHTS_ALIGN - 1) / TINY_WEIGHTS_ALIGN * TINY_WEIGHTS_ALIGN);
		if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
			free(p);
			p = NULL;
		}
	}
	if (f)
		fclose(f);
	*size = n > 0 ? (size_t)n : 0;
	return p;
}

static int argmax(const float *v)
{
	int best = 0;
	for (int i = 1; i < TINY_OUTPUT_SIZE; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : TINY_WEIGHTS_PATH;
	size_t size;
	void *weights = load(path, &size);
	if (!weights) {
		fprintf(stderr, "camera: %s: cannot read\n", path);
		return 1;
	}
	tiny *net;
	int st = tiny_create_with_weights(&net, 2, weights, size);
	if (st) {
		const char *why = tiny_check_weights(weights, size);
		fprintf(stderr, "camera: %s: %s%s%s\n", path, tiny_status_message(st), why ? ": " : "", why ? why : "");
		free(weights);
		return 1;
	}
	/* A synthetic frame: a colour gradient with a bright square; the alpha byte varies too. */
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			unsigned char *p = frame + (y * W + x) * BPP;
			const int in_square = x > W / 4 && x < W / 2 && y > H / 3 && y < 2 * H / 3;
			p[0] = (unsigned char)(in_square ? 250 : x * 255 / W);
			p[1] = (unsigned char)(in_square ? 240 : y * 255 / H);
			p[2] = (unsigned char)((x + y) * 2);
			p[3] = (unsigned char)(x * 7 + y);
		}
	const float mean[3] = TINY_IMAGE_MEAN, std[3] = TINY_IMAGE_STD;
	for (int c = 0; c < 3; c++)
		for (int i = 0; i < H * W; i++)
			floats[c * H * W + i] = ((float)frame[i * BPP + c] * TINY_IMAGE_SCALE - mean[c]) / std[c];
	const float *in[] = {floats};
	float *out_frame[] = {from_frame}, *out_floats[] = {from_floats};
	st = tiny_run_image(net, frame, W, H, 0, out_frame);
	int st2 = tiny_run(net, in, out_floats);
	tiny_destroy(net);
	free(weights);
	double worst = 0, scale = 1e-6;
	for (int i = 0; i < TINY_OUTPUT_SIZE; i++)
		scale = fmax(scale, fabs(from_floats[i]));
	for (int i = 0; i < TINY_OUTPUT_SIZE; i++) {
		if (!isfinite(from_frame[i]))
			return 2;
		worst = fmax(worst, fabs((double)from_frame[i] - from_floats[i]) / scale);
	}
	printf("status=%d class=%d float_status=%d float_class=%d worst_rel_diff=%.3g\n", st, argmax(from_frame), st2,
	       argmax(from_floats), worst);
	return st || st2 || argmax(from_frame) != argmax(from_floats) || worst > 1e-5;
}
