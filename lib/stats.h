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

	uint64_t metrics_writes, metrics_failures; /* the first failure is reported */
	double t_start, t_last_print, t_last_metrics;
	bool bar_drawn;

	/* A program's own periodic work (atfh-count --every, SIGUSR1):
	 * called from atfh_stats_tick, that is when the timer — or the
	 * program's own signal handler — sets atfh_stats_tick_flag. */
	void (*on_tick)(void *arg);
	void *on_tick_arg;
	bool timer;               /* run the timer even if nothing above needs it */
	bool wake;                /* the timer interrupts blocking reads (no SA_RESTART) */
	unsigned tick_ms;         /* a finer tick than the default 200 ms, 0 = default */

	/* A program with counters of its own replaces the default report:
	 * print writes its lines to stderr (--stats, --stats-interval);
	 * metrics writes the --metrics text into BUF and returns its length
	 * (-1 if it does not fit).  ctx is theirs. */
	void (*print)(struct atfh_stats *s, double now, bool final);
	int (*metrics)(struct atfh_stats *s, char *buf, size_t cap);
	void *ctx;
};

extern volatile sig_atomic_t atfh_stats_tick_flag;

/* The --metrics text being built: a metrics callback's BUF and CAP. */
struct atfh_metrics_buf {
	char *p;
	size_t cap, n;
	const char *prefix;       /* the atfh_stats prefix */
	bool full;                /* something did not fit */
};

/* Append one metric, PREFIX_NAME, with its HELP and TYPE lines. */
void atfh_metric(struct atfh_metrics_buf *m, const char *type, const char *name,
		 const char *help, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Start the timer if anything periodic is on.  PROGRESS_OK: the caller
 * allows a bar (not -q); it is drawn only on a terminal with known size. */
void atfh_stats_start(struct atfh_stats *s, bool progress_ok, int64_t total_size);
/* Called when atfh_stats_tick_flag is set. */
void atfh_stats_tick(struct atfh_stats *s);
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
