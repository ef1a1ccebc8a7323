/*
 * stats.h — run counters and how they are shown: --stats (stderr at the
 * end), --stats-interval (stderr while running), --metrics FILE (Prometheus
 * text, replaced atomically) and the progress bar on a terminal, and when
 * each is due.  Every periodic job has an absolute deadline on the
 * monotonic clock that moves on by whole periods, so a period is kept
 * exactly and never drifts.  A SIGALRM timer, armed for the
 * earliest deadline, raises a flag; the main loop polls it once per
 * record, so nothing is done per event but a load and a branch.  A reader
 * that would block asks atfh_stats_wait_ms how long it may sleep, so the
 * jobs run on time while the input is quiet too.
 */
#ifndef ATFH_STATS_H
#define ATFH_STATS_H

#include "atfh.h"
#include <signal.h>

/* The --metrics text being built: a metrics callback's BUF and CAP. */
struct atfh_metrics_buf {
	char *p;
	size_t cap, n;
	const char *prefix;       /* the atfh_stats prefix */
	bool full;                /* something did not fit */
};

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

	uint64_t metrics_writes, metrics_failures; /* the first failure is reported */
	double t_start;
	/* deadlines on the atfh_now() clock, 0 = none */
	double next_print, next_metrics, next_bar;
	bool bar_drawn, armed;

	/* A program's own periodic work (atfh-count --every, SIGUSR1):
	 * called from atfh_stats_tick, that is when a deadline passes or the
	 * program's own signal handler sets atfh_stats_tick_flag.  due is
	 * its next deadline (atfh_now() clock, 0 = none); on_tick moves it. */
	void (*on_tick)(void *arg);
	void *on_tick_arg;
	double due;

	/* A program with counters of its own replaces the default report:
	 * print writes its lines to stderr (--stats, --stats-interval);
	 * metrics writes the --metrics text into BUF and returns its length
	 * (-1 if it does not fit).  ctx is theirs. */
	void (*print)(struct atfh_stats *s, double now, bool final);
	/* Or it adds to the default report: more lines after the default
	 * one, more metrics after the default ones. */
	void (*print_more)(struct atfh_stats *s);
	void (*metrics_more)(struct atfh_stats *s, struct atfh_metrics_buf *m);
	int (*metrics)(struct atfh_stats *s, char *buf, size_t cap);
	void *ctx;
};


extern volatile sig_atomic_t atfh_stats_tick_flag;

/* Append one metric, PREFIX_NAME, with its HELP and TYPE lines. */
void atfh_metric(struct atfh_metrics_buf *m, const char *type, const char *name,
		 const char *help, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Set the deadlines and start the timer if anything periodic is on.  PROGRESS_OK: the caller
 * allows a bar (not -q); it is drawn only on a terminal with known size. */
void atfh_stats_start(struct atfh_stats *s, bool progress_ok, int64_t total_size);
/* Run what is due (called when atfh_stats_tick_flag is set) and arm the
 * timer for the next deadline. */
void atfh_stats_tick(struct atfh_stats *s);
/* For a reader about to block: run what is due, then return how many
 * milliseconds it may wait for input before the next deadline (-1: no
 * deadline, wait as long as it takes). */
int atfh_stats_wait_ms(struct atfh_stats *s);
/* Final report: clears the bar, prints --stats, writes metrics.  -1 if
 * any write of the metrics file failed (reported, with the count), else 0. */
int atfh_stats_finish(struct atfh_stats *s);
double atfh_now(void);

static inline void atfh_stats_poll(struct atfh_stats *s)
{
	if (atfh_stats_tick_flag)
		atfh_stats_tick(s);
}

#endif
