/*
 * sink.c — see sink.h.
 */
#include "sink.h"
#include "cli.h"
#include "cursor.h"
#include "outfile.h"
#include "resume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static bool flush_out(struct atfh_sink *k)
{
	if (atfh_out_flush(&k->out) < 0 || k->out.broken_pipe || k->out.error)
		return false;
	k->has_flushed = k->has_buffered;
	k->flushed = k->buffered;
	return true;
}

/* Make everything written so far durable (flushed, and fsynced when the
 * output is a file), then name it in the cursor file.  After a broken pipe
 * that is what reached the pipe.  false if the output failed. */
static bool save_cursor(struct atfh_sink *k)
{
	k->last_save = atfh_now();
	bool ok = flush_out(k);
	if (ok && k->sync && fdatasync(k->out.fd) < 0 && errno != EINVAL && errno != EROFS) {
		k->out.error = errno;
		ok = false;
	}
	if (!ok && !k->out.broken_pipe)
		return false;
	if (!k->cursor_file || !k->has_flushed || (k->has_saved && k->saved == k->flushed))
		return ok;
	if (atfh_cursor_write(k->cursor_file, k->flushed) < 0) {
		if (!k->cursor_failing)
			atfh_err("%s: cannot write the cursor file: %s", k->cursor_file,
				 strerror(errno));
		k->cursor_failing = true;
		return ok;
	}
	if (k->cursor_failing)
		atfh_err("%s: the cursor file is written again", k->cursor_file);
	k->cursor_failing = false;
	k->has_saved = true;
	k->saved = k->flushed;
	return ok;
}

bool atfh_sink_sync(struct atfh_sink *k)
{
	return save_cursor(k) && !k->out.broken_pipe;
}

/* The run's clock: --duration and the cursor interval.  -1 to stop, else
 * the ms until it wants to be looked at again (or INT32_MAX). */
static int64_t timers(struct atfh_sink *k, double now)
{
	int64_t lim = INT32_MAX;
	if (k->deadline) {
		if (now >= k->deadline)
			return -1;
		lim = (int64_t)((k->deadline - now) * 1000) + 1;
	}
	if (k->cursor_file && k->has_buffered && !(k->has_saved && k->saved == k->buffered)) {
		double due = k->last_save + (double)k->cursor_interval_ms / 1000;
		if (now >= due) {
			if (!save_cursor(k))
				return -1;
		} else if ((int64_t)((due - now) * 1000) + 1 < lim) {
			lim = (int64_t)((due - now) * 1000) + 1;
		}
	}
	return lim;
}

static int on_write(struct atfh_firehose *f, const struct atfh_fh_item *it)
{
	struct atfh_sink *k = f->ctx;
	struct atfh_out *o = &k->out;
	if (it->text) {
		atfh_out_reserve(o, it->n + 1);
		memcpy(o->buf + o->len, it->p, it->n);
		o->buf[o->len + it->n] = '\n';
		o->len += it->n + 1;
	} else {
		atfh_out_reserve(o, it->n + 4);
		uint8_t *q = (uint8_t *)o->buf + o->len;
		q[0] = (uint8_t)(it->n >> 24);
		q[1] = (uint8_t)(it->n >> 16);
		q[2] = (uint8_t)(it->n >> 8);
		q[3] = (uint8_t)it->n;
		memcpy(q + 4, it->p, it->n);
		o->len += it->n + 4;
	}
	k->frames++;
	k->bytes += it->n;
	k->stats->events = k->frames; /* for the progress bar */
	k->stats->bytes = k->bytes;
	if (it->has_pos && (!k->has_buffered || it->pos > k->buffered || it->rebase)) {
		/* the highest written: a late seq below it does not move it back */
		k->has_buffered = true;
		k->buffered = it->pos;
	}
	if (it->has_time) {
		k->has_time = true;
		k->last_time_us = it->time_us;
	}
	if (o->len >= o->flush_at && !flush_out(k))
		return ATFH_FH_STOP;
	if (k->limit && k->frames >= k->limit)
		return ATFH_FH_STOP;
	if ((k->frames & 255) == 0 && timers(k, atfh_now()) < 0)
		return ATFH_FH_STOP;
	atfh_stats_poll(k->stats);
	return ATFH_FH_GO_ON;
}

static int on_idle(struct atfh_firehose *f)
{
	struct atfh_sink *k = f->ctx;
	if (!flush_out(k))
		return ATFH_FH_IDLE_STOP;
	k->stats->raw_bytes = k->raw_read;
	atfh_stats_poll(k->stats);
	int64_t lim = timers(k, atfh_now());
	if (lim < 0)
		return ATFH_FH_IDLE_STOP;
	return lim >= INT32_MAX ? -1 : (int)lim;
}

/* Open -o FILE for appending and pick up where an earlier run left it. */
static int open_output(struct atfh_sink *k, bool lines, size_t max_frame, bool *has_pos,
		       int64_t *pos, uint64_t *after)
{
	*after = 0;
	*has_pos = false;
	if (!k->path || strcmp(k->path, "-") == 0) {
		atfh_out_init(&k->out, STDOUT_FILENO, "stdout");
		if (!lines)
			atfh_refuse_tty(STDOUT_FILENO,
					"pipe it into atfh-decode, or write to a file with -o");
	} else {
		/* k->created: made by this run, removed again if the run fails
		 * before writing anything (atfh_sink_finish) */
		bool regular; /* a FIFO or device is opened write-only, written in place */
		int fd = atfh_outfile_append(k->path, &regular, &k->created);
		if (fd < 0) {
			atfh_err("%s: %s", k->path, strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
			atfh_err("%s: another program is appending to it", k->path);
			close(fd);
			return -1;
		}
		struct atfh_resume r = { 0 };
		char err[200];
		struct stat st;
		int rc = 0;
		if (regular && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			rc = lines ? atfh_resume_lines(fd, &r, err, sizeof err)
				   : atfh_resume_frames(fd, max_frame, ATFH_RESUME_FORWARD_MAX, &r,
							err, sizeof err);
		if (rc < 0) {
			atfh_err("%s: %s; not appending to it", k->path, err);
			close(fd);
			return -1;
		}
		if (r.end < r.size) {
			if (ftruncate(fd, (off_t)r.end) < 0 || fsync(fd) < 0) {
				atfh_err("%s: cannot cut off the partial %s at its end: %s", k->path,
					 lines ? "line" : "frame", strerror(errno));
				close(fd);
				return -1;
			}
			atfh_err("%s: cut off a partial %s (%llu bytes) that an interrupted run left "
				 "at the end", k->path, lines ? "line" : "frame",
				 (unsigned long long)(r.size - r.end));
		}
		*has_pos = r.has_pos;
		*pos = r.pos;
		*after = r.after_pos;
		free(k->start_ids);
		k->start_ids = r.ids;
		k->nstart_ids = r.nids;
		atfh_out_init(&k->out, fd, k->path);
	}
	struct stat st;
	k->sync = fstat(k->out.fd, &st) == 0 && S_ISREG(st.st_mode);
	return 0;
}

/* What a Jetstream position is: its cursor seq, or a time_us. */
static const char *pos_name(int64_t pos)
{
	return pos < ATFH_JS_TIME_MIN ? "cursor" : "time_us";
}

int atfh_sink_open(struct atfh_sink *k, bool lines, size_t max_frame, bool *has_start,
		   int64_t *start)
{
	if (k->cursor_file) {
		int64_t v;
		char err[300];
		int r = atfh_cursor_read(k->cursor_file, &v, err, sizeof err);
		if (r < 0) {
			atfh_err("%s: %s", k->cursor_file, err);
			return -1;
		}
		if (r > 0) { /* what the file says now: rewritten only if it changes */
			k->has_saved = true;
			k->saved = v;
			*has_start = true;
			*start = v;
		}
	}
	bool out_has_pos;
	int64_t out_pos;
	uint64_t out_after;
	if (open_output(k, lines, max_frame, &out_has_pos, &out_pos, &out_after) < 0)
		return -1;
	if (out_has_pos && k->cursor_file && !k->has_saved && (!*has_start || out_pos > *start)) {
		/* an earlier run was killed before it first wrote the cursor file */
		atfh_err("%s: holds messages up to %s %lld, and %s does not exist yet; resuming "
			 "after them", k->path, lines ? pos_name(out_pos) : "seq", (long long)out_pos,
			 k->cursor_file);
		*has_start = true;
		*start = out_pos;
	} else if (out_has_pos && k->cursor_file && *has_start && out_pos > *start) {
		/* written after the cursor file was last updated: not again */
		atfh_err("%s: holds messages up to %s %lld, past the cursor %lld; resuming after "
			 "them", k->path, lines ? pos_name(out_pos) : "seq", (long long)out_pos,
			 (long long)*start);
		*start = out_pos;
	}
	if (out_has_pos && *has_start && out_pos == *start) {
		k->start_after = out_after;
	} else {
		free(k->start_ids); /* the output's last lines are not at the start */
		k->start_ids = NULL;
		k->nstart_ids = 0;
	}
	if (*has_start) { /* written (and durable) before this run */
		k->has_buffered = k->has_flushed = true;
		k->buffered = k->flushed = *start;
	}
	return 0;
}

void atfh_sink_attach(struct atfh_sink *k, struct atfh_firehose *f)
{
	f->write = on_write;
	f->idle = on_idle;
	f->ctx = k;
	k->last_save = atfh_now();
	if (k->duration_ms)
		k->deadline = k->last_save + (double)k->duration_ms / 1000;
}

int atfh_sink_finish(struct atfh_sink *k, int status)
{
	bool saved = save_cursor(k);
	if (atfh_out_report(&k->out)) {
		status = ATFH_EXIT_FAIL;
	} else if (!saved && !k->out.broken_pipe) {
		status = ATFH_EXIT_FAIL;
	}
	if (k->cursor_failing) {
		atfh_err("%s: the cursor file could not be updated", k->cursor_file);
		status = ATFH_EXIT_FAIL;
	}
	k->stats->events = k->frames;
	k->stats->bytes = k->bytes;
	struct stat st;
	if (status == ATFH_EXIT_FAIL && k->created && k->frames == 0 &&
	    fstat(k->out.fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
		unlink(k->path); /* a failed run leaves no empty FILE behind */
	return status;
}

void atfh_sink_free(struct atfh_sink *k)
{
	if (k->out.fd > STDERR_FILENO)
		close(k->out.fd);
	atfh_out_free(&k->out);
	free(k->start_ids);
	k->start_ids = NULL;
}
