/*
 * stats.c — see stats.h.
 */
#include "stats.h"
#include "cli.h"
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t atfh_stats_tick_flag;

#define BAR_PERIOD 0.2     /* seconds between progress bar redraws */
#define METRICS_PERIOD 1.0 /* seconds between --metrics rewrites */
#define BACKSTOP_US 100000 /* the timer again after a deadline nobody saw */

double atfh_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_alarm(int sig)
{
	(void)sig;
	atfh_stats_tick_flag = 1;
}

/* The earliest deadline, 0 if there is none. */
static double next_deadline(const struct atfh_stats *s)
{
	const double d[] = { s->next_print, s->next_metrics, s->next_bar, s->due };
	double m = 0;
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
		if (d[i] > 0 && (m == 0 || d[i] < m))
			m = d[i];
	return m;
}

/* Arm the timer for the earliest deadline (or stop it). */
static void arm(struct atfh_stats *s, double now)
{
	double d = next_deadline(s);
	if (d == 0 && !s->armed)
		return;
	struct itimerval it = { { 0, 0 }, { 0, 0 } };
	if (d > 0) {
		double left = d - now;
		if (left < 1e-6)
			left = 1e-6; /* 0 would stop the timer */
		if (left > 1e8)
			left = 1e8;
		it.it_value.tv_sec = (time_t)left;
		it.it_value.tv_usec = (suseconds_t)((left - (double)(time_t)left) * 1e6);
		if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
			it.it_value.tv_usec = 1;
		/* a backstop: should the flag be missed (raised just before a
		 * wait that does not look at it), it is raised again; each tick
		 * arms the timer afresh, so this costs nothing otherwise */
		it.it_interval.tv_usec = BACKSTOP_US;
	}
	setitimer(ITIMER_REAL, &it, NULL);
	s->armed = d > 0;
}

/* Move deadline *D on by whole periods P past NOW: missed periods are
 * skipped, never caught up in a burst, and the phase stays that of the
 * start. */
static void advance(double *d, double p, double now)
{
	if (*d > now)
		return;
	double k = (double)(uint64_t)((now - *d) / p) + 1; /* now >= *d */
	*d += k * p;
	if (*d <= now) /* rounding */
		*d += p;
}

void atfh_stats_start(struct atfh_stats *s, bool progress_ok, int64_t total_size)
{
	double now = atfh_now();
	s->t_start = now;
	s->total_size = total_size;
	s->progress = progress_ok && total_size > 0 && isatty(STDERR_FILENO);
	s->next_print = s->interval_ms ? now + (double)s->interval_ms / 1000 : 0;
	s->next_metrics = s->metrics_path ? now + METRICS_PERIOD : 0;
	s->next_bar = s->progress ? now + BAR_PERIOD : 0;
	if (!next_deadline(s))
		return;
	/* SA_RESTART: a blocked write goes on; readers wait in poll(2),
	 * which the signal interrupts anyway */
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	arm(s, now);
}

static void human_bytes(char *buf, size_t n, double v)
{
	static const char *const unit[] = { "B", "KB", "MB", "GB", "TB" };
	int u = 0;
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void clear_bar(struct atfh_stats *s)
{
	if (s->bar_drawn) {
		fputs("\r\033[K", stderr);
		s->bar_drawn = false;
	}
}

static void draw_bar(struct atfh_stats *s, double now)
{
	double frac = s->total_size > 0 ? (double)s->raw_bytes / (double)s->total_size : 0;
	if (frac > 1)
		frac = 1;
	double el = now - s->t_start;
	char rate[32];
	human_bytes(rate, sizeof rate, el > 0 ? (double)s->bytes / el : 0);
	int width = 30, fill = (int)(frac * width);
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	fprintf(stderr, "\r%s [%s] %3.0f%%  %llu events  %s/s", atfh_progname, bar,
		frac * 100, (unsigned long long)s->events, rate);
	if (s->malformed)
		fprintf(stderr, "  %llu malformed", (unsigned long long)s->malformed);
	fputs("\033[K", stderr);
	s->bar_drawn = true;
}

static void print_stats(struct atfh_stats *s, double now, bool final)
{
	if (s->print) {
		clear_bar(s);
		s->print(s, now, final);
		return;
	}
	double el = now - s->t_start;
	char bytes[32], rate[32];
	human_bytes(bytes, sizeof bytes, (double)s->bytes);
	human_bytes(rate, sizeof rate, el > 0 ? (double)s->bytes / el : 0);
	clear_bar(s);
	fprintf(stderr,
		"%s: %s%llu records, %llu events, %s in %.2fs (%.0f records/s, %s/s), %llu malformed\n",
		atfh_progname, final ? "" : "so far: ", (unsigned long long)s->records,
		(unsigned long long)s->events, bytes, el,
		el > 0 ? (double)s->records / el : 0, rate, (unsigned long long)s->malformed);
	if (s->print_more)
		s->print_more(s);
}

void atfh_metric(struct atfh_metrics_buf *m, const char *type, const char *name,
		 const char *help, const char *fmt, ...)
{
	if (m->full)
		return;
	const char *p = m->prefix;
	int k = snprintf(m->p + m->n, m->cap - m->n, "# HELP %s_%s %s\n# TYPE %s_%s %s\n%s_%s ",
			 p, name, help, p, name, type, p, name);
	if (k < 0 || (size_t)k >= m->cap - m->n) {
		m->full = true;
		return;
	}
	m->n += (size_t)k;
	va_list ap;
	va_start(ap, fmt);
	k = vsnprintf(m->p + m->n, m->cap - m->n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k + 1 >= m->cap - m->n) {
		m->full = true;
		return;
	}
	m->n += (size_t)k;
	m->p[m->n++] = '\n';
	m->p[m->n] = '\0';
}

static int default_metrics(struct atfh_stats *s, char *buf, size_t cap)
{
	struct atfh_metrics_buf m = { .p = buf, .cap = cap, .prefix = s->prefix };
	atfh_metric(&m, "counter", "records_total", "Input records (frames or lines) read.",
		    "%llu", (unsigned long long)s->records);
	atfh_metric(&m, "counter", "events_total", "Events written.", "%llu",
		    (unsigned long long)s->events);
	atfh_metric(&m, "counter", "bytes_total", "Input bytes read (decompressed).", "%llu",
		    (unsigned long long)s->bytes);
	atfh_metric(&m, "counter", "malformed_total", "Malformed records skipped.", "%llu",
		    (unsigned long long)s->malformed);
	atfh_metric(&m, "gauge", "elapsed_seconds", "Seconds since start.", "%.3f",
		    atfh_now() - s->t_start);
	if (s->metrics_more)
		s->metrics_more(s, &m);
	return m.full ? -1 : (int)m.n;
}

static void write_metrics(struct atfh_stats *s)
{
	char buf[8192];
	int n = (s->metrics ? s->metrics : default_metrics)(s, buf, sizeof buf);
	if (n < 0 || (size_t)n >= sizeof buf)
		return;
	s->metrics_writes++;
	if (atfh_write_atomic(s->metrics_path, buf, (size_t)n) < 0 &&
	    s->metrics_failures++ == 0)
		atfh_err("%s: cannot write metrics: %s", s->metrics_path, strerror(errno));
}

void atfh_stats_tick(struct atfh_stats *s)
{
	atfh_stats_tick_flag = 0;
	double now = atfh_now();
	if (s->next_print && now >= s->next_print) {
		advance(&s->next_print, (double)s->interval_ms / 1000, now);
		print_stats(s, now, false);
	}
	if (s->next_metrics && now >= s->next_metrics) {
		advance(&s->next_metrics, METRICS_PERIOD, now);
		write_metrics(s);
	}
	if (s->next_bar && now >= s->next_bar) {
		advance(&s->next_bar, BAR_PERIOD, now);
		draw_bar(s, now);
	}
	if (s->on_tick)
		s->on_tick(s->on_tick_arg);
	if (s->armed || next_deadline(s))
		arm(s, atfh_now());
}

int atfh_stats_wait_ms(struct atfh_stats *s)
{
	double d = next_deadline(s);
	if (atfh_stats_tick_flag || (d > 0 && atfh_now() >= d)) {
		atfh_stats_tick(s);
		d = next_deadline(s);
	}
	if (d == 0)
		return -1;
	double left = (d - atfh_now()) * 1000;
	if (left <= 0)
		return 0;
	if (left > 86400000)
		return 86400000;
	int ms = (int)left;
	return (double)ms < left ? ms + 1 : ms;
}

int atfh_stats_finish(struct atfh_stats *s)
{
	s->next_print = s->next_metrics = s->next_bar = s->due = 0;
	arm(s, atfh_now());
	clear_bar(s);
	if (s->print_at_end)
		print_stats(s, atfh_now(), true);
	if (s->metrics_path)
		write_metrics(s);
	if (!s->metrics_failures)
		return 0;
	atfh_err("%s: %llu of %llu metrics writes failed", s->metrics_path,
		 (unsigned long long)s->metrics_failures, (unsigned long long)s->metrics_writes);
	return -1;
}
