/*
 * backoff.c — see backoff.h.
 */
#include "backoff.h"

#include <time.h>
#include <unistd.h>

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void atfh_backoff_init(struct atfh_backoff *b, double initial, double cap)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	b->initial = initial;
	b->cap = cap;
	b->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40);
	atfh_backoff_reset(b);
}

void atfh_backoff_reset(struct atfh_backoff *b)
{
	b->step = b->initial;
	b->failures = 0;
}

double atfh_backoff_next(struct atfh_backoff *b)
{
	double d = b->step;
	double u = (double)(splitmix(&b->rng) >> 11) / (double)(1ull << 53);
	b->failures++;
	b->step = b->step * 2 > b->cap ? b->cap : b->step * 2;
	return d / 2 + u * d / 2;
}
