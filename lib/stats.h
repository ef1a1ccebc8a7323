/*
 * stats.h — run counters and how they are shown: --stats (stderr at the
 * end), --stats-interval (stderr while running), --metrics FILE (Prometheus
 * text, replaced atomically) and the progress bar on a terminal.  A
 * SIGALRM timer raises a flag; the main loop polls it once per record, so
 * nothing is done per event but a load and a branch.
 */
#ifndef ATFH_STATS_H
#define ATFH_STATS_H

#include "atfh.h"
#include <signal.h>

struct atfh_stats {
	const char *prefix;       /* metric name prefix: "atfh_decode" */
	uint64_t records;         /* input frames or lines */
	uint64_t events;          /* output events */
	uint64_t bytes;           /* input bytes (decompressed) */
	uint64_t malformed;       /* records skipped */
	uint64_t raw_bytes;       /* bytes read from files, for progress */

	bool print_at_end;
	uint64_t interval_ms;     /* --stats-interval, 0 = off */
	const char *metrics_path; /* --metrics */
	bool progress;            /* draw a bar */
	int64_t total_size;       /* of the input, for the bar */

	double t_start, t_last_print, t_last_metrics;
	bool bar_drawn;
};

extern volatile sig_atomic_t atfh_stats_tick_flag;

/* Start the timer if anything periodic is on.  PROGRESS_OK: the caller
 * allows a bar (not -q); it is drawn only on a terminal with known size. */
void atfh_stats_start(struct atfh_stats *s, bool progress_ok, int64_t total_size);
/* Called when atfh_stats_tick_flag is set. */
void atfh_stats_tick(struct atfh_stats *s);
/* Final report: clears the bar, prints --stats, writes metrics. */
void atfh_stats_finish(struct atfh_stats *s);
double atfh_now(void);
/* Write FILE atomically: temp file in the same directory, fsync, rename. */
int atfh_write_atomic(const char *path, const char *data, size_t n);

static inline void atfh_stats_poll(struct atfh_stats *s)
{
	if (atfh_stats_tick_flag)
		atfh_stats_tick(s);
}

#endif
