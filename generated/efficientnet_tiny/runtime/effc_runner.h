/* effc_runner.h: the body of every generated NAME_runner.c, which defines EFFC_MODEL (the C
 * prefix) and EFFC_MODEL_UPPER, includes NAME.h, then this file.
 *
 *   NAME_runner [--weights FILE] [--threads N] [--repeat K] [--dump DIR] INPUT.f32... OUTPUT.f32...
 *
 * Inputs and outputs are raw little-endian float32 in ONNX layout, one file per graph input
 * then per graph output. --repeat K runs K timed iterations after the first run and prints
 * `median_ms=<x> min_ms=<y> threads=<n>`; --create-ms also prints `create_ms=<x>`; --memory prints
 * `arena_bytes=<a> context_bytes=<c> weights_bytes=<w>` (NAME_context_bytes: everything create
 * allocated, arena included; the weights are NAME.weights' size, shared by contexts). --dump DIR
 * (builds with EFFC_DEBUG_TENSORS only) writes every ONNX-named intermediate tensor of the
 * first run as DIR/t<i>.f32 in ONNX layout, listed in DIR/index.txt. --profile and
 * --profile-ops (builds with EFFC_PROFILE) print the time per op class, or per op too, over the
 * repeats. --serve, for a benchmark that gives this and another engine short turns: after
 * the first run, prints `ready`, then runs once per line read from stdin and prints
 * `ms=<x>`, until end of input. --weights FILE maps NAME.weights read-only and runs on it
 * (NAME_create_with_weights); a build compiled with --weights file needs it. Any error (a
 * file that cannot be read, weights of another model) exits with status 1 and a message;
 * usage errors with status 2. --image FRAME (models compiled with --image-input, which define
 * EFFC_IMAGE_ENABLED here) takes the input from a file of raw 8-bit pixels, packed rows of the
 * model's width and height, through NAME_run_image; no input .f32 file is given then. */
#ifndef EFFC_RUNNER_H
#define EFFC_RUNNER_H
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EFFC_CAT_(a, b) a##b
#define EFFC_CAT(a, b) EFFC_CAT_(a, b)
#define M(x) EFFC_CAT(EFFC_MODEL, x)
#define MU(x) EFFC_CAT(EFFC_MODEL_UPPER, x)
#define EFFC_STR_(x) #x
#define EFFC_STR(x) EFFC_STR_(x)

static const size_t in_sizes[] = MU(_INPUT_SIZES), out_sizes[] = MU(_OUTPUT_SIZES);
static const char *prog = "runner";

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static float *read_f32(const char *path, size_t count)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s: cannot open\n", prog, path);
		return NULL;
	}
	float *buf = malloc(count * sizeof(float) + 1);
	size_t got = buf ? fread(buf, sizeof(float), count, f) : 0;
	int extra = fgetc(f) != EOF;
	fclose(f);
	if (!buf || got != count || extra) {
		fprintf(stderr, "%s: %s: expected %zu float32 values (%zu bytes), the file is %s\n", prog, path, count,
			count * sizeof(float), got != count ? "shorter" : "longer");
		free(buf);
		return NULL;
	}
	return buf;
}

/* --weights FILE, mapped read-only (the model only reads it, and the kernel shares the pages
 * between processes); NULL after a message when it cannot be used. */
static void *map_weights(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: %s: cannot open the weights: %s\n", prog, path, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*size = (size_t)st.st_size;
	void *p = *size ? mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	int err = errno;
	close(fd);
	if (p == MAP_FAILED) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, *size ? strerror(err) : "not this model's weights: the file is empty");
		return NULL;
	}
	const char *why = M(_check_weights)(p, *size);
	if (why) {
		fprintf(stderr, "%s: %s: not this model's weights: %s\n", prog, path, why);
		munmap(p, *size);
		return NULL;
	}
	return p;
}

#ifdef EFFC_IMAGE_ENABLED
/* A file of exactly `size` bytes; NULL after a message otherwise. */
static unsigned char *read_bytes(const char *path, size_t size)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s: cannot open\n", prog, path);
		return NULL;
	}
	unsigned char *buf = malloc(size + 1);
	size_t got = buf ? fread(buf, 1, size, f) : 0;
	int extra = fgetc(f) != EOF;
	fclose(f);
	if (!buf || got != size || extra) {
		fprintf(stderr, "%s: %s: expected %zu bytes of pixels, the file is %s\n", prog, path, size,
			got != size ? "shorter" : "longer");
		free(buf);
		return NULL;
	}
	return buf;
}
#endif

/* One run, on the float inputs or on the frame. */
static int run_once(M() *ctx, const float *const inputs[], const unsigned char *frame, float *const outputs[])
{
#ifdef EFFC_IMAGE_ENABLED
	if (frame)
		return M(_run_image)(ctx, frame, MU(_IMAGE_WIDTH), MU(_IMAGE_HEIGHT), 0, outputs);
#else
	(void)frame;
#endif
	return M(_run)(ctx, inputs, outputs);
}

#ifdef EFFC_DEBUG_ENABLED
static const char *dump_dir;
static int dump_count, dump_failed;

static void dump_tensor(void *user, const struct M(_debug_tensor) *t, const float *data)
{
	(void)user;
	size_t n = 1;
	for (int i = 0; i < t->rank; i++)
		n *= (size_t)t->dims[i];
	float *buf = malloc(n * sizeof(float) + 4);
	char path[4096];
	if (!buf) {
		dump_failed = 1;
		return;
	}
	/* An int8 tensor is dumped dequantized, as the float tensor of the same name. */
	float *deq = t->int8 ? malloc(n * sizeof(float) + 4) : NULL;
	if (t->int8 && !deq) {
		free(buf);
		dump_failed = 1;
		return;
	}
	if (deq) {
		const signed char *q = (const void *)data;
		for (size_t i = 0; i < n; i++)
			deq[i] = (float)(q[i] - t->zero_point) * t->scale;
		data = deq;
	}
	if (t->nhwc && t->rank == 4) {
		const size_t B = (size_t)t->dims[0], C = (size_t)t->dims[1], H = (size_t)t->dims[2], W = (size_t)t->dims[3];
		for (size_t b = 0; b < B; b++)
			for (size_t c = 0; c < C; c++)
				for (size_t y = 0; y < H; y++)
					for (size_t x = 0; x < W; x++)
						buf[((b * C + c) * H + y) * W + x] = data[((b * H + y) * W + x) * C + c];
	} else {
		memcpy(buf, data, n * sizeof(float));
	}
	free(deq);
	snprintf(path, sizeof path, "%s/t%d.f32", dump_dir, dump_count);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, sizeof(float), n, f) != n || fclose(f) != 0)
		dump_failed = 1;
	snprintf(path, sizeof path, "%s/index.txt", dump_dir);
	f = fopen(path, dump_count ? "a" : "w");
	if (!f || fprintf(f, "t%d.f32\t%s\t%s\t%s\n", dump_count, t->name, t->node, t->op) < 0 || fclose(f) != 0)
		dump_failed = 1;
	dump_count++;
	free(buf);
}
#endif

int main(int argc, char **argv)
{
	int threads = 1, repeat = 0, show_create = 0, show_memory = 0, profile = 0, profile_ops = 0, serve = 0, a = 1;
	const char *dump = NULL, *weights_path = NULL, *image_path = NULL;
	unsigned char *frame = NULL;
	void *weights = NULL;
	size_t weights_size = 0;
	prog = argv[0];
	for (; a < argc && strncmp(argv[a], "--", 2) == 0; a++) {
		if (!strcmp(argv[a], "--threads") && a + 1 < argc)
			threads = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--repeat") && a + 1 < argc)
			repeat = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--dump") && a + 1 < argc)
			dump = argv[++a];
		else if (!strcmp(argv[a], "--weights") && a + 1 < argc)
			weights_path = argv[++a];
		else if (!strcmp(argv[a], "--image") && a + 1 < argc)
			image_path = argv[++a];
		else if (!strcmp(argv[a], "--create-ms"))
			show_create = 1;
		else if (!strcmp(argv[a], "--memory"))
			show_memory = 1;
		else if (!strcmp(argv[a], "--profile"))
			profile = 1;
		else if (!strcmp(argv[a], "--profile-ops"))
			profile = profile_ops = 1;
		else if (!strcmp(argv[a], "--serve"))
			serve = 1;
		else
			break;
	}
	const int n_in = image_path ? 0 : MU(_NUM_INPUTS);
	if (argc - a != n_in + MU(_NUM_OUTPUTS) || threads < 1 || repeat < 0) {
		fprintf(stderr, "usage: %s [--weights FILE] [--image FRAME] [--threads N] [--repeat K] [--create-ms] [--memory] [--profile | --profile-ops] [--serve] [--dump DIR] %d input file(s) (none with --image) then %d output file(s), raw float32\n",
			argv[0], MU(_NUM_INPUTS), MU(_NUM_OUTPUTS));
		return 2;
	}
#ifndef EFFC_IMAGE_ENABLED
	if (image_path) {
		fprintf(stderr, "%s: --image needs a model compiled with --image-input\n", prog);
		return 2;
	}
#endif
#ifndef EFFC_DEBUG_ENABLED
	if (dump) {
		fprintf(stderr, "%s: --dump needs a build with -DEFFC_DEBUG_TENSORS=ON\n", prog);
		return 2;
	}
#endif
	const float *inputs[MU(_NUM_INPUTS) + 1] = {0};
	float *outputs[MU(_NUM_OUTPUTS) + 1] = {0};
	int rc = 1;
	if (!weights_path && !MU(_WEIGHTS_EMBEDDED)) {
		fprintf(stderr, "%s: this build embeds no weights (compiled with --weights file): give --weights %s.weights\n", prog,
			EFFC_STR(EFFC_MODEL));
		goto out;
	}
	if (weights_path && !(weights = map_weights(weights_path, &weights_size)))
		goto out;
	for (int i = 0; i < n_in; i++)
		if (!(inputs[i] = read_f32(argv[a + i], in_sizes[i])))
			goto out;
#ifdef EFFC_IMAGE_ENABLED
	if (image_path &&
	    !(frame = read_bytes(image_path, (size_t)MU(_IMAGE_WIDTH) * MU(_IMAGE_HEIGHT) * MU(_IMAGE_BYTES_PER_PIXEL))))
		goto out;
#endif
	for (int i = 0; i < MU(_NUM_OUTPUTS); i++)
		if (!(outputs[i] = malloc(out_sizes[i] * sizeof(float))))
			goto out;
	M() *ctx;
	double t0 = now_ms();
	int st = weights ? M(_create_with_weights)(&ctx, threads, weights, weights_size) : M(_create)(&ctx, threads);
	double create_ms = now_ms() - t0;
	if (st) {
		fprintf(stderr, "%s: create failed with status %d: %s\n", prog, st, M(_status_message)(st));
		goto out;
	}
	if (show_create)
		printf("create_ms=%.3f\n", create_ms);
	if (show_memory)
		printf("arena_bytes=%zu context_bytes=%zu weights_bytes=%zu\n", (size_t)MU(_ARENA_BYTES),
		       M(_context_bytes)(ctx), (size_t)MU(_WEIGHTS_SIZE));
#ifdef EFFC_DEBUG_ENABLED
	if (dump) {
		dump_dir = dump;
		M(_set_debug)(ctx, dump_tensor, NULL);
	}
#endif
	if ((st = run_once(ctx, inputs, frame, outputs))) {
		fprintf(stderr, "%s: run failed with status %d: %s\n", prog, st, M(_status_message)(st));
		M(_destroy)(ctx);
		goto out;
	}
#ifdef EFFC_DEBUG_ENABLED
	M(_set_debug)(ctx, NULL, NULL);
	if (dump && dump_failed) {
		fprintf(stderr, "%s: %s: cannot write the dumped tensors\n", prog, dump);
		M(_destroy)(ctx);
		goto out;
	}
#endif
	if (serve) {
		char line[64];
		printf("ready\n");
		fflush(stdout);
		while (fgets(line, sizeof line, stdin)) {
			double r0 = now_ms();
			if ((st = run_once(ctx, inputs, frame, outputs))) {
				fprintf(stderr, "%s: run failed with status %d\n", prog, st);
				break;
			}
			printf("ms=%.3f\n", now_ms() - r0);
			fflush(stdout);
		}
		if (st) {
			M(_destroy)(ctx);
			goto out;
		}
	}
#ifdef EFFC_PROFILE_ENABLED
	/* The first run pays the page faults of the weights and the arena: profile the repeats only. */
	static double first[MU(_NUM_OPS) + 1];
	if (profile && repeat > 0)
		M(_profile)(ctx, first);
#endif
	if (repeat > 0) {
		double *t = malloc(sizeof(double) * (size_t)repeat);
		for (int r = 0; t && r < repeat; r++) {
			double r0 = now_ms();
			run_once(ctx, inputs, frame, outputs);
			t[r] = now_ms() - r0;
		}
		if (t) {
			qsort(t, (size_t)repeat, sizeof *t, cmp_double);
			double med = repeat % 2 ? t[repeat / 2] : 0.5 * (t[repeat / 2 - 1] + t[repeat / 2]);
			printf("median_ms=%.3f min_ms=%.3f threads=%d\n", med, t[0], threads);
			free(t);
		}
	}
#ifdef EFFC_PROFILE_ENABLED
	if (profile) {
		/* Per op class, averaged over the repeats (or the one run if there were none). */
		static double ms[MU(_NUM_OPS) + 1];
		const int runs = repeat > 0 ? repeat : 1;
		const char *names[16] = {0};
		double sum[16] = {0}, total = 0;
		M(_profile)(ctx, ms);
		for (int i = 0; i < MU(_NUM_OPS); i++) {
			ms[i] = (ms[i] - first[i]) / runs;
			int c = 0;
			while (c < 15 && names[c] && strcmp(names[c], M(_op_class)[i]))
				c++;
			names[c] = M(_op_class)[i];
			sum[c] += ms[i];
			total += ms[i];
			if (profile_ops)
				printf("op %4d %-10s %8.3f ms\n", i, M(_op_class)[i], ms[i]);
		}
		for (int c = 0; c < 16 && names[c]; c++)
			printf("profile %-10s %8.3f ms %5.1f%%\n", names[c], sum[c], 100 * sum[c] / total);
	}
#else
	if (profile)
		fprintf(stderr, "%s: --profile needs a build with -DEFFC_PROFILE=ON\n", prog);
#endif
	M(_destroy)(ctx);
	for (int i = 0; i < MU(_NUM_OUTPUTS); i++) {
		const char *path = argv[a + n_in + i];
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(outputs[i], sizeof(float), out_sizes[i], f) != out_sizes[i] || fclose(f) != 0) {
			fprintf(stderr, "%s: %s: write error\n", prog, path);
			goto out;
		}
	}
	rc = 0;
out:
	for (int i = 0; i < MU(_NUM_INPUTS); i++)
		free((void *)inputs[i]);
	for (int i = 0; i < MU(_NUM_OUTPUTS); i++)
		free(outputs[i]);
	free(frame);
	if (weights)
		munmap(weights, weights_size);
	return rc;
}
#endif
