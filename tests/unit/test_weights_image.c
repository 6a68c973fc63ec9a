/* test_weights_image.c: weights loaded at run time and camera-frame input, on tiny_file: the
 * model of generated/efficientnet_tiny (same generator arguments) compiled at build time by
 * this tree's effc with --weights file --image-input rgba8 and ImageNet's mean and std.
 *
 *   test_weights_image TINY_FILE.weights SEED8.weights CLASSES5.weights SAMPLE.weights
 *
 * The blob is mapped read-only (a runtime that wrote into the weights would fault): outputs
 * equal the sample's, which embeds the same weights, bit for bit; NAME_create without weights,
 * a truncated blob, a misaligned one, each corrupted header field, a blob of the same
 * architecture with other weights and one of another model give NAME_ERR_WEIGHTS and no
 * context; two contexts on one blob run at once on two threads with the one-context result.
 * run_image on a frame with padded rows equals run on the floats this file converts from the
 * same bytes, and refuses other sizes and short strides. */
#define _POSIX_C_SOURCE 200809L
#include "efficientnet_tiny.h"
#include "tiny_file.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int passed, failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	ok ? passed++ : failed++;
}

struct blob {
	void *data;
	size_t size;
};

static struct blob map_file(const char *path)
{
	struct blob b = {NULL, 0};
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
		b.size = (size_t)st.st_size;
		b.data = mmap(NULL, b.size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (b.data == MAP_FAILED)
			b.data = NULL;
	}
	if (fd >= 0)
		close(fd);
	if (!b.data) {
		fprintf(stderr, "test_weights_image: %s: cannot map\n", path);
		exit(1);
	}
	return b;
}

static float input[TINY_FILE_INPUT_SIZE];
static float expect[TINY_FILE_OUTPUT_SIZE];

/* tiny_file on the given blob; the status, and the outputs in out. */
static int run_blob(const void *weights, size_t size, int threads, float *out)
{
	tiny_file *ctx = (tiny_file *)1;
	int st = tiny_file_create_with_weights(&ctx, threads, weights, size);
	if (st)
		return ctx == NULL ? st : -1; /* a failed create must leave no context */
	const float *in[] = {input};
	float *outs[] = {out};
	st = tiny_file_run(ctx, in, outs);
	tiny_file_destroy(ctx);
	return st;
}

/* A copy of blob at `shift` bytes past a 64-byte boundary, with `flip` xor-ed into byte `at`. */
static unsigned char *copy_blob(const struct blob *b, size_t shift, size_t at, unsigned char flip)
{
	unsigned char *p = aligned_alloc(64, (b->size + shift + 63) / 64 * 64);
	if (!p)
		exit(1);
	memcpy(p + shift, b->data, b->size);
	if (at < b->size)
		p[shift + at] ^= flip;
	return p;
}

static void test_weights(const struct blob *own, const struct blob *seed8, const struct blob *classes5,
			 const struct blob *sample)
{
	float got[TINY_FILE_OUTPUT_SIZE], sample_out[TINY_FILE_OUTPUT_SIZE];
	char what[160];
	check(tiny_file_check_weights(own->data, own->size) == NULL && own->size == TINY_FILE_WEIGHTS_SIZE,
	      "the emitted blob passes check_weights and has TINY_FILE_WEIGHTS_SIZE bytes");
	check(run_blob(own->data, own->size, 1, expect) == TINY_FILE_OK, "create_with_weights and run on the mapped blob");

	/* The embedded build of the same model, bit for bit. */
	efficientnet_tiny *ref;
	const float *in[] = {input};
	float *outs[] = {sample_out};
	int st = efficientnet_tiny_create(&ref, 1);
	st = st ? st : efficientnet_tiny_run(ref, in, outs);
	if (!st)
		efficientnet_tiny_destroy(ref);
	check(!st && !memcmp(expect, sample_out, sizeof expect), "outputs equal the embedded sample's bit for bit");
	check(run_blob(sample->data, sample->size, 1, got) == TINY_FILE_OK && !memcmp(got, expect, sizeof got),
	      "the sample's own NAME.weights (same model, another name) is accepted, same outputs");
	efficientnet_tiny *ctx_e = NULL;
	st = efficientnet_tiny_create_with_weights(&ctx_e, 1, own->data, own->size);
	efficientnet_tiny_destroy(ctx_e);
	check(st == EFFICIENTNET_TINY_OK, "the embedding build takes a blob at run time too");

	tiny_file *ctx = (tiny_file *)1;
	check(tiny_file_create(&ctx, 1) == TINY_FILE_ERR_WEIGHTS && ctx == NULL &&
		      strstr(tiny_file_status_message(TINY_FILE_ERR_WEIGHTS), "--weights file"),
	      "create without weights in a --weights file build: ERR_WEIGHTS, and the message says why");
	check(tiny_file_create_with_weights(&ctx, 1, NULL, own->size) == TINY_FILE_ERR_ARGS && ctx == NULL,
	      "NULL weights: ERR_ARGS");

	const size_t sizes[] = {own->size - 1, own->size / 2, 64, 63, 1, 0};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		snprintf(what, sizeof what, "truncated to %zu bytes: ERR_WEIGHTS", sizes[i]);
		check(run_blob(own->data, sizes[i], 1, got) == TINY_FILE_ERR_WEIGHTS, what);
	}
	const size_t shifts[] = {4, 16, 32};
	for (size_t i = 0; i < 3; i++) {
		unsigned char *p = copy_blob(own, shifts[i], SIZE_MAX, 0);
		snprintf(what, sizeof what, "misaligned by %zu bytes: ERR_WEIGHTS (%s)", shifts[i],
			 tiny_file_check_weights(p + shifts[i], own->size));
		check(run_blob(p + shifts[i], own->size, 1, got) == TINY_FILE_ERR_WEIGHTS, what);
		free(p);
	}
	/* Each header field: magic, version, header size, byte count, hash. */
	const size_t fields[] = {0, 7, 8, 12, 16, 23, 24, 31};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		unsigned char *p = copy_blob(own, 0, fields[i], 0x10);
		snprintf(what, sizeof what, "header byte %zu corrupted: ERR_WEIGHTS (%s)", fields[i],
			 tiny_file_check_weights(p, own->size));
		check(run_blob(p, own->size, 1, got) == TINY_FILE_ERR_WEIGHTS, what);
		free(p);
	}
	snprintf(what, sizeof what, "same architecture, other weights (seed 8): ERR_WEIGHTS (%s)",
		 tiny_file_check_weights(seed8->data, seed8->size));
	check(seed8->size == own->size && run_blob(seed8->data, seed8->size, 1, got) == TINY_FILE_ERR_WEIGHTS, what);
	snprintf(what, sizeof what, "another model (5 classes): ERR_WEIGHTS (%s)",
		 tiny_file_check_weights(classes5->data, classes5->size));
	check(run_blob(classes5->data, classes5->size, 1, got) == TINY_FILE_ERR_WEIGHTS, what);
	check(run_blob(own->data, own->size, 1, got) == TINY_FILE_OK && !memcmp(got, expect, sizeof got),
	      "the blob is unchanged and still gives the same outputs after all that");
}

struct job {
	const struct blob *b;
	int threads, status, same;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	tiny_file *ctx;
	float out[TINY_FILE_OUTPUT_SIZE];
	const float *in[] = {input};
	float *outs[] = {out};
	j->status = tiny_file_create_with_weights(&ctx, j->threads, j->b->data, j->b->size);
	j->same = 1;
	for (int r = 0; !j->status && r < 30; r++) {
		j->status = tiny_file_run(ctx, in, outs);
		for (int i = 0; i < TINY_FILE_OUTPUT_SIZE; i++)
			j->same &= j->threads == 1 ? out[i] == expect[i]
						   : fabsf(out[i] - expect[i]) <= 1e-5f * fmaxf(1.0f, fabsf(expect[i]));
	}
	if (!j->status)
		tiny_file_destroy(ctx);
	return NULL;
}

static void test_shared_blob(const struct blob *own)
{
	pthread_t t[3];
	struct job jobs[3] = {{own, 1, 0, 0}, {own, 1, 0, 0}, {own, 2, 0, 0}};
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, worker, &jobs[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	check(!jobs[0].status && !jobs[1].status && !jobs[2].status, "three contexts on one blob run at once");
	check(jobs[0].same && jobs[1].same && jobs[2].same,
	      "their outputs equal one context's (bit for bit on 1 thread, 1e-5 on 2)");
}

static void test_image(const struct blob *own)
{
	enum { W = TINY_FILE_IMAGE_WIDTH, H = TINY_FILE_IMAGE_HEIGHT, BPP = TINY_FILE_IMAGE_BYTES_PER_PIXEL, PAD = 12 };
	static unsigned char frame[H][W * BPP + PAD], packed[H * W * BPP];
	static float nchw[3 * H * W];
	const float mean[3] = TINY_FILE_IMAGE_MEAN, std[3] = TINY_FILE_IMAGE_STD;
	check(TINY_FILE_INPUT_SIZE == 3 * W * H && BPP == 4 && !strcmp(TINY_FILE_IMAGE_FORMAT, "rgba8"),
	      "the header describes an RGBA frame of the input's size");
	/* A synthetic frame: smooth colour ramps plus noise; the alpha byte and the row padding
	 * are noise that must not reach the model. */
	uint32_t r = 7;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W * BPP + PAD; x++) {
			r = r * 1664525u + 1013904223u;
			const int c = x % BPP;
			frame[y][x] = x < W * BPP && c < 3 ? (unsigned char)((x / BPP * (c + 2) + y * (3 - c) * 3 + (r >> 29)) & 255)
							   : (unsigned char)(r >> 24);
			if (x < W * BPP)
				packed[(y * W) * BPP + x] = frame[y][x];
		}
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++)
				nchw[(c * H + y) * W + x] = ((float)frame[y][x * BPP + c] * TINY_FILE_IMAGE_SCALE - mean[c]) / std[c];
	tiny_file *ctx = NULL;
	float want[TINY_FILE_OUTPUT_SIZE], got[TINY_FILE_OUTPUT_SIZE], got2[TINY_FILE_OUTPUT_SIZE];
	const float *in[] = {nchw};
	float *outs[] = {want}, *outs_got[] = {got}, *outs_got2[] = {got2};
	int st = tiny_file_create_with_weights(&ctx, 1, own->data, own->size);
	st = st ? st : tiny_file_run(ctx, in, outs);
	int st_img = st ? st : tiny_file_run_image(ctx, &frame[0][0], W, H, sizeof frame[0], outs_got);
	int st_packed = st ? st : tiny_file_run_image(ctx, packed, W, H, 0, outs_got2);
	double worst = 0, scale = 0;
	int differs = 0;
	for (int i = 0; i < TINY_FILE_OUTPUT_SIZE; i++) {
		scale = fmax(scale, fabs(want[i]));
		differs |= want[i] != expect[i];
	}
	for (int i = 0; i < TINY_FILE_OUTPUT_SIZE; i++)
		worst = fmax(worst, fabs((double)got[i] - want[i]) / fmax(scale, 1e-6));
	char what[160];
	snprintf(what, sizeof what, "run_image on rows padded to %d bytes equals run on the converted floats (worst %.2g of max |logit|)",
		 (int)sizeof frame[0], worst);
	check(!st && !st_img && worst <= 1e-5 && differs, what);
	check(!st_packed && !memcmp(got, got2, sizeof got), "stride 0 (packed rows) gives the same outputs");
	/* run() after run_image() and run_image() after run(): each starts from its own input. */
	st = tiny_file_run(ctx, in, outs_got2);
	check(!st && !memcmp(got2, want, sizeof got2), "run after run_image is unaffected");
	check(tiny_file_run_image(ctx, &frame[0][0], W - 1, H, sizeof frame[0], outs_got) == TINY_FILE_ERR_IMAGE &&
		      tiny_file_run_image(ctx, &frame[0][0], W, H + 1, sizeof frame[0], outs_got) == TINY_FILE_ERR_IMAGE &&
		      tiny_file_run_image(ctx, &frame[0][0], W, H, W * BPP - 1, outs_got) == TINY_FILE_ERR_IMAGE,
	      "another width or height, or a stride shorter than a row: ERR_IMAGE");
	check(tiny_file_run_image(ctx, NULL, W, H, 0, outs_got) == TINY_FILE_ERR_ARGS &&
		      tiny_file_run_image(ctx, packed, W, H, 0, NULL) == TINY_FILE_ERR_ARGS &&
		      tiny_file_run_image(NULL, packed, W, H, 0, outs_got) == TINY_FILE_ERR_ARGS,
	      "NULL frame, outputs or context: ERR_ARGS");
	tiny_file_destroy(ctx);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: test_weights_image TINY_FILE.weights SEED8.weights CLASSES5.weights SAMPLE.weights\n");
		return 2;
	}
	for (int i = 0; i < TINY_FILE_INPUT_SIZE; i++)
		input[i] = sinf(0.37f * (float)i);
	struct blob own = map_file(argv[1]), seed8 = map_file(argv[2]), classes5 = map_file(argv[3]),
		    sample = map_file(argv[4]);
	test_weights(&own, &seed8, &classes5, &sample);
	test_shared_blob(&own);
	test_image(&own);
	munmap(own.data, own.size);
	munmap(seed8.data, seed8.size);
	munmap(classes5.data, classes5.size);
	munmap(sample.data, sample.size);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
