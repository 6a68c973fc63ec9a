/* arena.c: one bump allocator per compilation. Everything the IR points to lives here and is
 * freed at once by effc_arena_free; large blocks (weights) get a chunk of their own. */
#include "effc.h"

#include <stdlib.h>
#include <string.h>

#define EFFC_ARENA_CHUNK (1u << 20)

struct effc_chunk {
	struct effc_chunk *next;
	size_t used, size;
	_Alignas(64) unsigned char data[];
};

struct effc_arena {
	struct effc_chunk *head;
};

struct effc_arena *effc_arena_new(void) { return calloc(1, sizeof(struct effc_arena)); }

void effc_arena_free(struct effc_arena *a)
{
	if (!a)
		return;
	for (struct effc_chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *effc_arena_alloc(struct effc_arena *a, size_t size)
{
	if (size > SIZE_MAX - 63)
		return NULL;
	size = (size + 63) & ~(size_t)63;
	if (size == 0)
		size = 64;
	struct effc_chunk *c = a->head;
	if (!c || c->size - c->used < size) {
		size_t cap = size > EFFC_ARENA_CHUNK / 4 ? size : EFFC_ARENA_CHUNK;
		if (cap > SIZE_MAX - sizeof(struct effc_chunk) - 64)
			return NULL;
		struct effc_chunk *n = aligned_alloc(64, (sizeof(struct effc_chunk) + cap + 63) & ~(size_t)63);
		if (!n)
			return NULL;
		n->used = 0;
		n->size = cap;
		/* A dedicated big chunk goes behind the current one so small allocations keep filling it. */
		if (c && cap != EFFC_ARENA_CHUNK) {
			n->next = c->next;
			c->next = n;
		} else {
			n->next = c;
			a->head = n;
		}
		c = n;
	}
	void *p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *effc_arena_strdup(struct effc_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = effc_arena_alloc(a, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

char *effc_arena_printf(struct effc_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = effc_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
