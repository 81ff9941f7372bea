#include "config.h"

#include <stdint.h>

#include "backoff.h"

/*
 * base << 32 exceeds any uint32_t cap, so there is no point counting
 * further; stopping here keeps the shift defined however long we retry.
 */
#define BACKOFF_MAX_SHIFT	32

void
backoff_init(struct backoff *b, uint32_t base_ms, uint32_t max_ms)
{
	b->base_ms = base_ms;
	b->max_ms = max_ms;
	b->attempt = 0;
}

uint32_t
backoff_next(struct backoff *b)
{
	uint64_t	delay;

	if (b->attempt >= BACKOFF_MAX_SHIFT)
		delay = b->base_ms == 0 ? 0 : b->max_ms;
	else
		delay = (uint64_t)b->base_ms << b->attempt;
	if (delay > b->max_ms)
		delay = b->max_ms;
	if (b->attempt < BACKOFF_MAX_SHIFT)
		b->attempt++;
	return (uint32_t)delay;
}

void
backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
