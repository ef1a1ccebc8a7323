/*
 * out.h — buffered output to a file descriptor.  Owns the flushing policy
 * (big buffers for batch runs, a flush before the program blocks on input),
 * per-event rollback (an event that turns out malformed half way through is
 * erased, so no partial line is ever written) and quiet EPIPE handling.
 */
#ifndef ATFH_OUT_H
#define ATFH_OUT_H

#include "atfh.h"
#include <string.h>

struct atfh_out {
	int fd;
	char *buf;
	size_t len, cap;
	size_t flush_at;   /* flush at an event boundary once len reaches it */
	bool broken_pipe;  /* reader went away: stop quietly */
	int error;         /* errno of a failed write, 0 if none */
	bool reported;     /* the error has been reported (once per output) */
	bool sync;         /* fsync after each flush (durable outputs) */
	const char *name;  /* for messages: "stdout" or the path */
};

void atfh_out_init(struct atfh_out *o, int fd, const char *name);
void atfh_out_free(struct atfh_out *o);
/* Write everything buffered.  Returns 0, or -1 (error / broken_pipe set). */
int atfh_out_flush(struct atfh_out *o);
/* Append N bytes of whole events at P (another buffer's output); when the
 * buffer would reach its flush size they are written from P itself, after
 * what is buffered, instead of copied.  0, or -1 as atfh_out_flush. */
int atfh_out_put_events(struct atfh_out *o, const char *p, size_t n);
/* The same for whole events in N pieces at IOV (which this changes): with
 * enough bytes they are written from where they are by writev(2). */
struct iovec;
int atfh_out_put_eventsv(struct atfh_out *o, struct iovec *iov, size_t n);
/* Close the descriptor after flushing; returns -1 on a write error. */
int atfh_out_close(struct atfh_out *o);
void atfh_out_grow(struct atfh_out *o, size_t need);
/* Report a write error ("NAME: write error: why") the first time only;
 * true if there is one. */
bool atfh_out_report(struct atfh_out *o);

static inline void atfh_out_reserve(struct atfh_out *o, size_t n)
{
	if (o->cap - o->len < n)
		atfh_out_grow(o, n);
}

static inline void atfh_out_put(struct atfh_out *o, const void *p, size_t n)
{
	if (!n)
		return; /* memcpy with a NULL pointer is undefined even for 0 bytes */
	atfh_out_reserve(o, n);
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static inline void atfh_out_c(struct atfh_out *o, char c)
{
	atfh_out_reserve(o, 1);
	o->buf[o->len++] = c;
}

#define atfh_out_lit(o, s) atfh_out_put((o), (s), sizeof(s) - 1)

/* An event is complete: flush if the buffer is full enough. */
static inline int atfh_out_event_done(struct atfh_out *o)
{
	if (o->len >= o->flush_at)
		return atfh_out_flush(o);
	return 0;
}

#endif
