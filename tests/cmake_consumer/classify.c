/* A user's program: runs the model added with effc_add_model on a fixed input and prints the
 * arg-max class and a checksum of the logits. */
#include "efficientnet_b0.h"

#include <math.h>
#include <stdio.h>

static float in[EFFICIENTNET_B0_INPUT_SIZE], out[EFFICIENTNET_B0_OUTPUT_SIZE];

int main(void)
{
	for (int i = 0; i < EFFICIENTNET_B0_INPUT_SIZE; i++)
		in[i] = sinf(0.01f * (float)i);
	efficientnet_b0 *net;
	if (efficientnet_b0_create(&net, 2) != EFFICIENTNET_B0_OK)
		return 1;
	const float *inputs[] = {in};
	float *outputs[] = {out};
	int st = efficientnet_b0_run(net, inputs, outputs);
	efficientnet_b0_destroy(net);
	int best = 0;
	double sum = 0;
	for (int i = 0; i < EFFICIENTNET_B0_OUTPUT_SIZE; i++) {
		if (!isfinite(out[i]))
			return 2;
		sum += out[i];
		if (out[i] > out[best])
			best = i;
	}
	printf("status=%d class=%d logit_sum=%.6f\n", st, best, sum);
	return st;
}
