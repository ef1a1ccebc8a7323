/*
 * backoff.h — how long to wait before the next attempt to reconnect:
 * exponential backoff (doubling from an initial delay up to a cap) with
 * jitter, so that many clients dropped at once do not come back at once.
 * Each delay is drawn uniformly from [d/2, d] where d is the current step.
 */
#ifndef ATFH_BACKOFF_H
#define ATFH_BACKOFF_H

#include "atfh.h"

struct atfh_backoff {
	double initial, cap;  /* seconds */
	double step;          /* the next delay's upper bound */
	uint64_t failures;    /* attempts since the last reset */
	uint64_t rng;
};

void atfh_backoff_init(struct atfh_backoff *b, double initial, double cap);
/* The delay before the next attempt, in seconds; counts a failure. */
double atfh_backoff_next(struct atfh_backoff *b);
/* A connection worked: start again from the initial delay. */
void atfh_backoff_reset(struct atfh_backoff *b);

#endif
