/*
 * fhstats.h — a subscription's counters as --stats, --stats-interval and
 * --metrics show them: what was written (messages, bytes, their rates, the
 * position, the lag behind the event time) from the sink, and what the
 * feed did (reconnects, gaps, duplicates, malformed messages) from the
 * firehose, and for Tap its acks and redeliveries.  While running, rates are over the last interval, so a
 * stalled relay shows as a stall rather than a slowly falling average.
 */
#ifndef ATFH_FHSTATS_H
#define ATFH_FHSTATS_H

#include "firehose.h"
#include "sink.h"
#include "stats.h"
#include "tap.h"

struct atfh_fhstats {
	const struct atfh_firehose *f;
	const struct atfh_sink *k;
	bool replay;     /* event times are the capture's: lag behind the replay clock */
	const struct atfh_tap *tap; /* a Tap's events, acks and redeliveries, or NULL */

	/* internal: at the last --stats-interval line */
	double t_prev;
	uint64_t frames_prev, bytes_prev;
};

/* Make R the report of ST (its print and metrics callbacks); the first
 * interval starts now. */
void atfh_fhstats_attach(struct atfh_fhstats *r, struct atfh_stats *st);

#endif
