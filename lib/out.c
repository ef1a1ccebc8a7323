/*
 * out.c — buffered output; see out.h.
 */
#include "out.h"
#include "util.h"
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#define OUT_BUFSIZE (256u << 10)

void atfh_out_init(struct atfh_out *o, int fd, const char *name)
{
	memset(o, 0, sizeof *o);
	o->fd = fd;
	o->cap = OUT_BUFSIZE + (64u << 10);
	o->buf = atfh_xmalloc(o->cap);
	o->flush_at = OUT_BUFSIZE;
	o->name = name;
}

void atfh_out_free(struct atfh_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}

void atfh_out_grow(struct atfh_out *o, size_t need)
{
	size_t cap = o->cap ? o->cap : 4096;
	while (cap - o->len < need) {
		if (cap > SIZE_MAX / 2)
			atfh_die_oom();
		cap *= 2;
	}
	o->buf = atfh_xrealloc(o->buf, cap);
	o->cap = cap;
}

/* A write failed with errno: true to try again (EINTR), else noted. */
static bool write_again(struct atfh_out *o)
{
	if (errno == EINTR)
		return true;
	if (errno == EPIPE)
		o->broken_pipe = true;
	else
		o->error = errno;
	return false;
}

/* Write P (N bytes) to the descriptor: 0, or -1 with the error noted. */
static int write_all(struct atfh_out *o, const char *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(o->fd, p + done, n - done);
		if (w < 0) {
			if (write_again(o))
				continue;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

static int synced(struct atfh_out *o)
{
	if (o->sync && fsync(o->fd) < 0 && errno != EINVAL && errno != EROFS) {
		o->error = errno;
		return -1;
	}
	return 0;
}

int atfh_out_flush(struct atfh_out *o)
{
	if (o->broken_pipe || o->error) {
		o->len = 0;
		return -1;
	}
	int r = write_all(o, o->buf, o->len);
	o->len = 0;
	return r < 0 ? -1 : synced(o);
}

int atfh_out_put_events(struct atfh_out *o, const char *p, size_t n)
{
	if (o->len + n < o->flush_at || o->fd < 0) {
		atfh_out_put(o, p, n);
		return atfh_out_event_done(o);
	}
	if (atfh_out_flush(o) < 0)
		return -1;
	return write_all(o, p, n) < 0 ? -1 : synced(o);
}

int atfh_out_put_eventsv(struct atfh_out *o, struct iovec *iov, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (o->len + total < o->flush_at || o->fd < 0) {
		for (size_t i = 0; i < n; i++)
			atfh_out_put(o, iov[i].iov_base, iov[i].iov_len);
		return atfh_out_event_done(o);
	}
	if (atfh_out_flush(o) < 0)
		return -1;
	while (n) {
		ssize_t w = writev(o->fd, iov, n > IOV_MAX ? IOV_MAX : (int)n);
		if (w < 0) {
			if (write_again(o))
				continue;
			return -1;
		}
		size_t done = (size_t)w;
		while (n && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) { /* a short write: the rest of this piece next */
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return synced(o);
}

int atfh_out_close(struct atfh_out *o)
{
	int rc = atfh_out_flush(o);
	if (o->fd > STDERR_FILENO && close(o->fd) < 0 && !o->error) {
		o->error = errno;
		rc = -1;
	}
	o->fd = -1;
	return o->broken_pipe ? 0 : rc;
}

bool atfh_out_report(struct atfh_out *o)
{
	if (!o->error)
		return false;
	if (!o->reported)
		atfh_err("%s: write error: %s", o->name, strerror(o->error));
	o->reported = true;
	return true;
}
