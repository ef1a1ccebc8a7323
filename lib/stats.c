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

#define TICK_MS 200

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

void atfh_stats_start(struct atfh_stats *s, bool progress_ok, int64_t total_size)
{
	s->t_start = s->t_last_print = s->t_last_metrics = atfh_now();
	s->total_size = total_size;
	s->progress = progress_ok && total_size > 0 && isatty(STDERR_FILENO);
	if (!s->progress && !s->interval_ms && !s->metrics_path && !s->timer)
		return;
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = s->wake ? 0 : SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	unsigned ms = s->tick_ms && s->tick_ms < TICK_MS ? s->tick_ms : TICK_MS;
	struct itimerval it = { { 0, (suseconds_t)ms * 1000 }, { 0, (suseconds_t)ms * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
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
	return m.full ? -1 : (int)m.n;
}

static void write_metrics(struct atfh_stats *s)
{
	char buf[4096];
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
	if (s->interval_ms && (now - s->t_last_print) * 1000 >= (double)s->interval_ms) {
		s->t_last_print = now;
		print_stats(s, now, false);
	}
	if (s->metrics_path && (now - s->t_last_metrics) >= 1.0) {
		s->t_last_metrics = now;
		write_metrics(s);
	}
	if (s->progress)
		draw_bar(s, now);
	if (s->on_tick)
		s->on_tick(s->on_tick_arg);
}

int atfh_stats_finish(struct atfh_stats *s)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
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
