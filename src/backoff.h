#ifndef BACKOFF_H
#define BACKOFF_H

#include <stdint.h>

/* Exponential backoff: base, 2·base, 4·base … capped at max (milliseconds). */
struct backoff {
	uint32_t	base_ms;
	uint32_t	max_ms;
	uint32_t	attempt;
};

void		backoff_init(struct backoff *, uint32_t base_ms, uint32_t max_ms);
uint32_t	backoff_next(struct backoff *);	/* delay before the next try */
void		backoff_reset(struct backoff *);

#endif
