/*
 * replay.c — see replay.h.
 */
#include "replay.h"
#include "cli.h"
#include "input.h"
#include "stats.h"

#include <stdio.h>

static void flush_hook(void *arg)
{
	struct atfh_firehose *f = arg;
	if (f->idle)
		f->idle(f);
}

int atfh_replay_run(struct atfh_firehose *f, const char *path, double speed, size_t max_frame,
		    volatile uint64_t *raw_read)
{
	struct atfh_input in;
	char *files[1] = { (char *)path };
	atfh_input_init(&in, files, 1, max_frame);
	in.before_block = flush_hook;
	in.before_block_arg = f;
	int status = ATFH_EXIT_OK;
	int r = atfh_input_next_file(&in);
	if (r < 0) {
		atfh_err("%s: %s", in.name, in.err);
		atfh_input_free(&in);
		return ATFH_EXIT_FAIL;
	}
	switch (atfh_input_detect(&in)) {
	case ATFH_IN_EMPTY:
		atfh_input_free(&in);
		return ATFH_EXIT_OK;
	case ATFH_IN_FRAMES:
		break;
	case ATFH_IN_NDJSON:
		atfh_err("%s: NDJSON; --replay takes a capture of frames", in.name);
		atfh_input_free(&in);
		return ATFH_EXIT_FAIL;
	default:
		atfh_err("%s: %s", in.name,
			 in.err[0] ? in.err : "not a capture of frames (nor zstd-compressed frames)");
		atfh_input_free(&in);
		return ATFH_EXIT_FAIL;
	}
	bool anchored = false;
	int64_t t0 = 0;
	double w0 = 0;
	/* Resuming (a cursor), a frame without a seq (#info, an error frame)
	 * is placed by the seq before it in the capture: written when that
	 * one is after the cursor, skipped when the capture has shown no seq
	 * yet or only earlier ones.  Those right after the cursor's own frame
	 * are skipped as far as the -o FILE already holds them
	 * (f->start_after); without one, they are written again. */
	bool has_start = f->has_last;
	int64_t start = f->last;
	uint64_t skip_after = f->start_after;
	f->clock_speed = speed;
	for (;;) {
		const uint8_t *p;
		size_t n;
		if (f->stop_flag && *f->stop_flag)
			break;
		r = atfh_input_frame(&in, &p, &n);
		if (raw_read)
			*raw_read = in.raw_total;
		if (r == 0)
			break;
		if (r < 0) {
			if (in.fatal) {
				atfh_err("%s: %s", in.name, in.err);
				status = ATFH_EXIT_FAIL;
				break;
			}
			f->malformed++;
			atfh_input_error(&in, false, "%s", in.err);
			if (f->strict) {
				status = ATFH_EXIT_MALFORMED;
				break;
			}
			continue;
		}
		f->messages++;
		f->rx_bytes += n;
		struct atfh_msg *m = &f->msg;
		if (atfh_msg_parse(m, p, n)) {
			f->malformed++;
			atfh_input_error(&in, false, "%s", m->err);
			if (f->strict) {
				status = ATFH_EXIT_MALFORMED;
				break;
			}
			continue;
		}
		struct atfh_fh_item it = {
			.p = p, .n = n,
			.has_pos = m->has_seq, .pos = m->seq,
			.has_time = m->has_time, .time_us = m->time_us,
		};
		if (!it.has_pos && has_start &&
		    (!(f->have_prev && f->prev >= start) || (f->prev == start && skip_after))) {
			if (f->prev == start && skip_after)
				skip_after--;
			f->duplicates++;
			continue;
		}
		if (!atfh_fh_accept(f, &it, false))
			continue;
		if (speed > 0 && it.has_time) {
			if (!anchored) {
				anchored = true;
				t0 = it.time_us;
				w0 = atfh_now();
				f->clock = true; /* the replay clock, for the lag */
				f->clock_t0 = t0;
				f->clock_w0 = w0;
				f->clock_speed = speed;
			} else {
				double wait = w0 + (double)(it.time_us - t0) / 1e6 / speed - atfh_now();
				if (wait > 0.001 && !atfh_fh_pause(f, wait * 1000))
					break;
			}
		}
		if (f->write(f, &it) == ATFH_FH_STOP)
			break;
	}
	atfh_input_free(&in);
	return status;
}
