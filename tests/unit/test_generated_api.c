/* test_generated_api.c: the API of a generated model (generated/efficientnet_tiny, built here
 * from the committed sources): NULL and argument checks, two contexts running at once on two
 * threads with results equal to one context's, create failing cleanly (status NOMEM, no
 * leak) when the runtime's allocation hook refuses memory, and efficientnet_tiny_context_bytes
 * against an independent count: the runtime's allocation hook and XNNPACK's live bytes. */
#include "efficientnet_tiny.h"
#include "effc_rt.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	ok ? passed++ : failed++;
}

static float input[EFFICIENTNET_TINY_INPUT_SIZE];
static float expect[EFFICIENTNET_TINY_OUTPUT_SIZE];

struct job {
	int threads, status, same;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	efficientnet_tiny *ctx;
	float out[EFFICIENTNET_TINY_OUTPUT_SIZE];
	const float *in[] = {input};
	float *outs[] = {out};
	j->status = efficientnet_tiny_create(&ctx, j->threads);
	j->same = 1;
	for (int r = 0; !j->status && r < 50; r++) {
		j->status = efficientnet_tiny_run(ctx, in, outs);
		for (int i = 0; i < EFFICIENTNET_TINY_OUTPUT_SIZE; i++)
			j->same &= fabsf(out[i] - expect[i]) <= 1e-5f * fmaxf(1.0f, fabsf(expect[i]));
	}
	efficientnet_tiny_destroy(ctx);
	return NULL;
}

static int fail_after;
static void *failing_alloc(size_t align, size_t size)
{
	if (fail_after-- <= 0)
		return NULL;
	return aligned_alloc(align, (size + align - 1) / align * align);
}

/* An allocation hook that tracks live bytes (as the default hook requests them: whole 64-byte
 * lines), so a context's memory can be counted outside the runtime's own accounting. */
#define MAX_BLOCKS 4096
static struct {
	void *p;
	size_t bytes;
} blocks[MAX_BLOCKS];
static size_t hook_live;
static int hook_overflow;
static void *tracking_alloc(size_t align, size_t size)
{
	size_t bytes = (size + align - 1) / align * align;
	void *p = aligned_alloc(align, bytes);
	for (int i = 0; p && i < MAX_BLOCKS; i++)
		if (!blocks[i].p) {
			blocks[i].p = p, blocks[i].bytes = bytes, hook_live += bytes;
			return p;
		}
	hook_overflow = 1;
	return p;
}
static void tracking_free(void *p)
{
	for (int i = 0; p && i < MAX_BLOCKS; i++)
		if (blocks[i].p == p) {
			hook_live -= blocks[i].bytes, blocks[i].p = NULL;
			break;
		}
	free(p);
}

/* One context on threads: its context_bytes, and what the hook and XNNPACK saw it keep. */
struct measure {
	size_t reported, hook, xnn, xnn_after_destroy, xnn_before;
	int ok;
};
static struct measure measure_context(int threads)
{
	struct measure m = {0};
	void *(*saved_alloc)(size_t, size_t) = effc_rt_alloc;
	void (*saved_free)(void *) = effc_rt_free;
	effc_rt_alloc = tracking_alloc, effc_rt_free = tracking_free;
	size_t hook0 = hook_live;
	m.xnn_before = effc_rt_backend_live_bytes();
	efficientnet_tiny *ctx = NULL;
	m.ok = efficientnet_tiny_create(&ctx, threads) == EFFICIENTNET_TINY_OK;
	m.reported = efficientnet_tiny_context_bytes(ctx);
	m.hook = hook_live - hook0;
	m.xnn = effc_rt_backend_live_bytes() - m.xnn_before;
	efficientnet_tiny_destroy(ctx);
	m.xnn_after_destroy = effc_rt_backend_live_bytes();
	m.ok &= hook_live == hook0 && !hook_overflow;
	effc_rt_alloc = saved_alloc, effc_rt_free = saved_free;
	return m;
}

int main(void)
{
	for (int i = 0; i < EFFICIENTNET_TINY_INPUT_SIZE; i++)
		input[i] = sinf(0.37f * (float)i);
	efficientnet_tiny *ctx = NULL;
	const float *in[] = {input};
	float *outs[] = {expect};
	check(efficientnet_tiny_create(NULL, 1) == EFFICIENTNET_TINY_ERR_ARGS, "create(NULL) is ERR_ARGS");
	check(efficientnet_tiny_create(&ctx, -1) == EFFICIENTNET_TINY_ERR_ARGS && ctx == NULL, "negative threads is ERR_ARGS");
	check(efficientnet_tiny_create(&ctx, 1) == EFFICIENTNET_TINY_OK && ctx, "create");
	check(efficientnet_tiny_run(NULL, in, outs) == EFFICIENTNET_TINY_ERR_ARGS, "run(NULL ctx) is ERR_ARGS");
	check(efficientnet_tiny_run(ctx, NULL, outs) == EFFICIENTNET_TINY_ERR_ARGS, "run(NULL inputs) is ERR_ARGS");
	check(efficientnet_tiny_run(ctx, in, NULL) == EFFICIENTNET_TINY_ERR_ARGS, "run(NULL outputs) is ERR_ARGS");
	const float *in_null[] = {NULL};
	check(efficientnet_tiny_run(ctx, in_null, outs) == EFFICIENTNET_TINY_ERR_ARGS, "run(inputs[0] NULL) is ERR_ARGS");
	check(efficientnet_tiny_run(ctx, in, outs) == EFFICIENTNET_TINY_OK, "run");
	int finite = 1;
	for (int i = 0; i < EFFICIENTNET_TINY_OUTPUT_SIZE; i++)
		finite &= isfinite(expect[i]);
	check(finite, "outputs are finite");

	/* The input is read in place (bound per run, not copied into the arena): runs on another
	 * buffer, then on the first again, must each give what a fresh context gives. */
	static float input2[EFFICIENTNET_TINY_INPUT_SIZE];
	float out2[EFFICIENTNET_TINY_OUTPUT_SIZE], fresh2[EFFICIENTNET_TINY_OUTPUT_SIZE];
	float again[EFFICIENTNET_TINY_OUTPUT_SIZE];
	for (int i = 0; i < EFFICIENTNET_TINY_INPUT_SIZE; i++)
		input2[i] = cosf(0.11f * (float)i);
	const float *in2[] = {input2};
	float *outs2[] = {out2}, *outs_again[] = {again}, *outs_fresh2[] = {fresh2};
	efficientnet_tiny *ctx2 = NULL;
	int st2 = efficientnet_tiny_run(ctx, in2, outs2);
	st2 |= efficientnet_tiny_run(ctx, in, outs_again);
	st2 |= efficientnet_tiny_create(&ctx2, 1);
	st2 |= ctx2 ? efficientnet_tiny_run(ctx2, in2, outs_fresh2) : 1;
	int same2 = !st2, same_again = !st2, differs = 0;
	for (int i = 0; i < EFFICIENTNET_TINY_OUTPUT_SIZE; i++) {
		same2 &= out2[i] == fresh2[i];
		same_again &= again[i] == expect[i];
		differs |= out2[i] != expect[i];
	}
	check(same2 && differs, "a run on another input buffer equals a fresh context's (and differs from the first)");
	check(same_again, "the first buffer again gives the first result");
	efficientnet_tiny_destroy(ctx2);
	efficientnet_tiny_destroy(ctx);
	efficientnet_tiny_destroy(NULL);

	/* Two contexts at once, one on 1 thread and one on a 2-thread pool. */
	pthread_t t[2];
	struct job jobs[2] = {{.threads = 1}, {.threads = 2}};
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, &jobs[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	check(!jobs[0].status && !jobs[1].status, "two contexts run concurrently");
	check(jobs[0].same && jobs[1].same, "concurrent results equal the single-context result");

	/* Allocation failure at each of the runtime's allocations during create. */
	void *(*saved)(size_t, size_t) = effc_rt_alloc;
	effc_rt_alloc = failing_alloc;
	int clean = 1, tried = 0;
	for (int k = 0; k < 64; k++) {
		fail_after = k;
		ctx = (efficientnet_tiny *)1;
		int st = efficientnet_tiny_create(&ctx, 1);
		tried++;
		if (st == EFFICIENTNET_TINY_OK) {
			efficientnet_tiny_destroy(ctx);
			break;
		}
		clean &= st == EFFICIENTNET_TINY_ERR_NOMEM && ctx == NULL;
	}
	effc_rt_alloc = saved;
	char what[96];
	snprintf(what, sizeof what, "create fails with ERR_NOMEM and no context at each of %d allocation points", tried - 1);
	check(clean && tried > 1, what);

	/* Memory: every block of a context but XNNPACK's goes through the runtime's hook (the
	 * struct, the arena, the runtime's buffers), so context_bytes must be exactly the bytes the
	 * hook saw kept plus XNNPACK's; a second thread adds per-thread buffers (im2col rows, MBConv
	 * bands), which must show in both counts alike. */
	check(efficientnet_tiny_context_bytes(NULL) == 0, "context_bytes(NULL) is 0");
	struct measure m1 = measure_context(1), m2 = measure_context(2);
	printf("context_bytes: 1 thread %zu (hook %zu, XNNPACK %zu); 2 threads %zu (hook %zu, XNNPACK %zu)\n", m1.reported,
	       m1.hook, m1.xnn, m2.reported, m2.hook, m2.xnn);
	check(m1.ok && m2.ok, "contexts created and destroyed under the tracking hook, every block freed");
	check(m1.reported >= (size_t)EFFICIENTNET_TINY_ARENA_BYTES + m1.xnn && m1.hook >= EFFICIENTNET_TINY_ARENA_BYTES,
	      "context_bytes and the hook's count include the arena");
	check(m1.reported == m1.hook + m1.xnn && m2.reported == m2.hook + m2.xnn,
	      "context_bytes = the hook's bytes + XNNPACK's, at 1 and 2 threads");
	/* Whether a second thread adds buffers depends on the kernels create picks (none where
	 * XNNPACK runs every op), so only "never fewer" is checked; the line above shows which. */
	check(m2.reported >= m1.reported, "a second thread adds per-thread buffers, if any, and frees none");
	check(m1.xnn_after_destroy == m1.xnn_before && m2.xnn_after_destroy == m2.xnn_before,
	      "XNNPACK's live bytes return to their level after destroy");
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
