/*
 * fhstats.c — see fhstats.h.
 */
#include "fhstats.h"
#include "cli.h"

#include <stdio.h>
#include <time.h>

static double wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Now minus the event time of the last message written; for a replay,
 * the replay clock's now (none at --speed 0: no lag). */
static bool lag_of(const struct atfh_fhstats *r, double *lag)
{
	if (!r->k->has_time)
		return false;
	if (r->replay) {
		const struct atfh_firehose *f = r->f;
		if (!f->clock)
			return false;
		double now_us = (double)f->clock_t0 + (atfh_now() - f->clock_w0) * f->clock_speed * 1e6;
		*lag = (now_us - (double)r->k->last_time_us) / 1e6;
		return true;
	}
	*lag = (wall_us() - (double)r->k->last_time_us) / 1e6;
	return true;
}

static void print_stats(struct atfh_stats *st, double now, bool final)
{
	struct atfh_fhstats *r = st->ctx;
	const struct atfh_firehose *f = r->f;
	const struct atfh_sink *k = r->k;
	double el = now - st->t_start;
	double span = final ? el : now - r->t_prev;
	uint64_t fr = final ? k->frames : k->frames - r->frames_prev;
	uint64_t by = final ? k->bytes : k->bytes - r->bytes_prev;
	char pos[48] = "", lag[32] = "";
	double l;
	if (k->has_buffered)
		snprintf(pos, sizeof pos, ", %s %lld",
			 f->source == ATFH_FH_JETSTREAM ? "time_us" : "seq", (long long)k->buffered);
	if (lag_of(r, &l))
		snprintf(lag, sizeof lag, ", lag %.1f s", l);
	else if (r->replay && f->clock_speed == 0)
		snprintf(lag, sizeof lag, ", no lag (--speed 0)");
	fprintf(stderr,
		"%s: %s%llu messages, %.1f MB in %.1f s (%.0f/s, %.2f MB/s)%s%s, "
		"%llu reconnect%s, %llu gap%s, %llu duplicate%s dropped, %llu malformed\n",
		atfh_progname, final ? "" : "so far: ", (unsigned long long)k->frames,
		(double)k->bytes / 1e6, el, span > 0 ? (double)fr / span : 0,
		span > 0 ? (double)by / 1e6 / span : 0, pos, lag,
		(unsigned long long)f->reconnects, f->reconnects == 1 ? "" : "s",
		(unsigned long long)f->gaps, f->gaps == 1 ? "" : "s",
		(unsigned long long)f->duplicates, f->duplicates == 1 ? "" : "s",
		(unsigned long long)f->malformed);
	if (r->tap)
		fprintf(stderr, "%s: Tap: %llu events, %llu acks sent, %llu redeliveries, "
			"%llu DIDs added, %llu removed\n", atfh_progname,
			(unsigned long long)r->tap->events, (unsigned long long)r->tap->acks,
			(unsigned long long)r->tap->redeliveries,
			(unsigned long long)r->tap->dids_added,
			(unsigned long long)r->tap->dids_removed);
	r->t_prev = now;
	r->frames_prev = k->frames;
	r->bytes_prev = k->bytes;
}

static int metrics_text(struct atfh_stats *st, char *buf, size_t cap)
{
	const struct atfh_fhstats *r = st->ctx;
	const struct atfh_firehose *f = r->f;
	const struct atfh_sink *k = r->k;
	struct atfh_metrics_buf m = { .p = buf, .cap = cap, .prefix = st->prefix };
	atfh_metric(&m, "counter", "frames_total", "Messages written.", "%llu",
		    (unsigned long long)k->frames);
	atfh_metric(&m, "counter", "bytes_total", "Bytes of the messages written.", "%llu",
		    (unsigned long long)k->bytes);
	atfh_metric(&m, "counter", "reconnects_total", "Connections after the first.", "%llu",
		    (unsigned long long)f->reconnects);
	double lag;
	if (lag_of(r, &lag))
		atfh_metric(&m, "gauge", "lag_seconds",
			    r->replay ? "The replay clock minus the event time of the last message written."
				      : "Now minus the event time of the last message written.",
			    "%.3f", lag);
	if (k->has_flushed)
		atfh_metric(&m, "gauge", "cursor",
			    "Position (seq, or time_us) of the last message flushed.", "%lld",
			    (long long)k->flushed);
	atfh_metric(&m, "counter", "gaps_total", "Seq gaps seen.", "%llu",
		    (unsigned long long)f->gaps);
	atfh_metric(&m, "counter", "missing_total", "Seqs skipped by the gaps.", "%llu",
		    (unsigned long long)f->missing);
	atfh_metric(&m, "counter", "duplicates_total", "Messages dropped as already written.",
		    "%llu", (unsigned long long)f->duplicates);
	atfh_metric(&m, "counter", "malformed_total", "Malformed messages skipped.", "%llu",
		    (unsigned long long)f->malformed);
	if (r->tap) {
		atfh_metric(&m, "counter", "tap_events_total", "Tap events written.", "%llu",
			    (unsigned long long)r->tap->events);
		atfh_metric(&m, "counter", "tap_acks_total", "Acks sent to Tap.", "%llu",
			    (unsigned long long)r->tap->acks);
		atfh_metric(&m, "counter", "tap_redeliveries_total",
			    "Tap events received again (an id seen before).", "%llu",
			    (unsigned long long)r->tap->redeliveries);
		atfh_metric(&m, "counter", "tap_dids_added_total", "DIDs added with /repos/add.",
			    "%llu", (unsigned long long)r->tap->dids_added);
		atfh_metric(&m, "counter", "tap_dids_removed_total",
			    "DIDs removed with /repos/remove.", "%llu",
			    (unsigned long long)r->tap->dids_removed);
	}
	atfh_metric(&m, "gauge", "connected", "1 while connected.", "%d", f->connected ? 1 : 0);
	atfh_metric(&m, "gauge", "elapsed_seconds", "Seconds since start.", "%.3f",
		    atfh_now() - st->t_start);
	return m.full ? -1 : (int)m.n;
}

void atfh_fhstats_attach(struct atfh_fhstats *r, struct atfh_stats *st)
{
	st->print = print_stats;
	st->metrics = metrics_text;
	st->ctx = r;
	r->t_prev = atfh_now();
}
