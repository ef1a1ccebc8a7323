/*
 * resume.c — see resume.h.
 */
#include "resume.h"
#include "jetstream.h"
#include "event.h"
#include "jsonscan.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errn, fmt, ap);
	va_end(ap);
	return -1;
}

static int read_at(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, buf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The first byte of a message: its header is a CBOR map of 1 or 2 pairs. */
static bool header_start(uint8_t b)
{
	return b == 0xa1 || b == 0xa2;
}

static int file_size(int fd, uint64_t *size, char *err, size_t errn)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail(err, errn, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errn, "not a regular file");
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Every frame from the start. */
static int frames_forward(int fd, size_t max_frame, struct atfh_resume *r, char *err,
			  size_t errn)
{
	struct atfh_msg m;
	atfh_msg_init(&m);
	uint8_t *buf = NULL;
	size_t cap = 0;
	uint64_t off = 0;
	int rc = 0;
	while (off < r->size) {
		uint8_t h[4];
		if (r->size - off < 4)
			break; /* a partial length prefix */
		if (read_at(fd, h, 4, off) < 0) {
			rc = fail(err, errn, "read error: %s", strerror(errno));
			break;
		}
		uint32_t n = be32(h);
		if (n > max_frame) {
			rc = fail(err, errn, "not a frames stream (a record of %u bytes at byte %llu)",
				  n, (unsigned long long)off);
			break;
		}
		if (r->size - off - 4 < n)
			break; /* a partial frame */
		if (n > cap) {
			cap = n;
			buf = atfh_xrealloc(buf, cap);
		}
		if (n && read_at(fd, buf, n, off + 4) < 0) {
			rc = fail(err, errn, "read error: %s", strerror(errno));
			break;
		}
		if (atfh_msg_parse(&m, buf, n) == 0) {
			if (m.has_seq) {
				/* the highest: a late seq written after it is lower */
				if (!r->has_pos || m.seq > r->pos)
					r->pos = m.seq;
				r->has_pos = true;
				r->after_pos = 0;
			} else {
				r->after_pos++;
			}
		}
		off += 4 + (uint64_t)n;
		r->end = off;
	}
	atfh_msg_free(&m);
	free(buf);
	return rc;
}

/* Is the message at P (N bytes) a valid one?  Sets *seq when it has one. */
static bool valid_msg(struct atfh_msg *m, const uint8_t *p, size_t n, bool *has_seq, int64_t *seq)
{
	if (n < 2 || !header_start(p[0]) || atfh_msg_parse(m, p, n) != 0)
		return false;
	*has_seq = m->has_seq;
	*seq = m->seq;
	return true;
}

/* Search the last WIN bytes backwards; 1 found, 0 not in this window. */
static int frames_backward(const uint8_t *buf, uint64_t base, uint64_t size, size_t max_frame,
			   struct atfh_resume *r)
{
	struct atfh_msg m;
	atfh_msg_init(&m);
	int found = 0;
	uint64_t frame_at = 0;
	bool has_seq = false;
	int64_t seq = 0;
	for (uint64_t p = size - 4 + 1; p-- > base;) {
		const uint8_t *q = buf + (p - base);
		uint32_t n = be32(q);
		if (n < 2 || n > max_frame || p + 4 + n > size || !header_start(q[4]))
			continue;
		uint64_t e = p + 4 + n; /* the tail after it must be a partial frame */
		if (e < size && size - e >= 4) {
			const uint8_t *t = buf + (e - base);
			uint32_t tn = be32(t);
			if (tn > max_frame || (uint64_t)tn + 4 <= size - e ||
			    (size - e > 4 && !header_start(t[4])))
				continue;
		}
		if (!valid_msg(&m, q + 4, n, &has_seq, &seq))
			continue;
		found = 1;
		frame_at = p;
		r->end = e;
		break;
	}
	/* the last one with a seq: walk back over frames that end where the
	 * one found begins (info and error frames have none) */
	uint64_t after = found && !has_seq;
	while (found && !has_seq) {
		bool prev = false;
		if (frame_at < base + 6)
			break;
		for (uint64_t p = frame_at - 6 + 1; !prev && p-- > base;) {
			const uint8_t *q = buf + (p - base);
			uint32_t n = be32(q);
			if (p + 4 + n != frame_at)
				continue;
			if (valid_msg(&m, q + 4, n, &has_seq, &seq)) {
				prev = true;
				frame_at = p;
				after += !has_seq;
			}
		}
		if (!prev)
			break;
	}
	if (found && has_seq) {
		r->has_pos = true;
		r->pos = seq;
		r->after_pos = after;
	}
	atfh_msg_free(&m);
	return found;
}

/* The file's size and first byte.  1: read; 0: the file is empty (nothing
 * to resume after); -1 with ERR. */
static int first_byte(int fd, struct atfh_resume *r, uint8_t *first, char *err, size_t errn)
{
	memset(r, 0, sizeof *r);
	if (file_size(fd, &r->size, err, errn) < 0)
		return -1;
	if (r->size == 0)
		return 0;
	if (read_at(fd, first, 1, 0) < 0)
		return fail(err, errn, "read error: %s", strerror(errno));
	return 1;
}

int atfh_resume_frames(int fd, size_t max_frame, uint64_t forward_max, struct atfh_resume *r,
		       char *err, size_t errn)
{
	uint8_t first;
	int k = first_byte(fd, r, &first, err, errn);
	if (k <= 0)
		return k;
	if (first != 0)
		return fail(err, errn, "not a frames stream (it does not start with a 0x00 byte)");
	if (r->size <= forward_max)
		return frames_forward(fd, max_frame, r, err, errn);
	uint64_t win = 8u << 20;
	if (win < (uint64_t)max_frame * 2 + 8)
		win = (uint64_t)max_frame * 2 + 8;
	while (win < r->size) {
		uint8_t *buf = malloc((size_t)win);
		if (!buf)
			break;
		uint64_t base = r->size - win;
		if (read_at(fd, buf, (size_t)win, base) < 0) {
			free(buf);
			return fail(err, errn, "read error: %s", strerror(errno));
		}
		int found = frames_backward(buf, base, r->size, max_frame, r);
		free(buf);
		if (found)
			return 0;
		win *= 4;
	}
	return frames_forward(fd, max_frame, r, err, errn);
}

/* The identities of the lines sharing the last line's time_us (which starts
 * at BUF + J), back to the start of BUF (a whole line when FROM_START). */
static void boundary_ids(const char *buf, size_t j, bool from_start, struct atfh_js_pos last,
			 struct atfh_resume *r)
{
	size_t cap = 0;
	atfh_grow_array((void **)&r->ids, &cap, 1, sizeof *r->ids);
	r->ids[r->nids++] = last.id;
	while (j > 0) {
		size_t stop = j - 1, i = stop; /* buf[stop] is the newline ending the line */
		while (i > 0 && buf[i - 1] != '\n')
			i--;
		if (i == 0 && !from_start)
			break; /* cut by the window: not a whole line */
		struct atfh_js_pos p;
		const char *e;
		if (atfh_js_line_pos(buf + i, stop - i, &p, &e) || p.has_cursor ||
		    p.time_us != last.time_us)
			break;
		atfh_grow_array((void **)&r->ids, &cap, r->nids + 1, sizeof *r->ids);
		r->ids[r->nids++] = p.id;
		j = i;
	}
}

int atfh_resume_lines(int fd, struct atfh_resume *r, char *err, size_t errn)
{
	uint8_t first;
	int k = first_byte(fd, r, &first, err, errn);
	if (k <= 0)
		return k;
	if (first != '{' && first != ' ' && first != '\n' && first != '\t' && first != '\r')
		return fail(err, errn, "not an NDJSON file (it does not start with '{')");
	/* the last two newlines: the last complete line lies between them */
	uint64_t win = 1u << 16;
	for (;;) {
		if (win > r->size)
			win = r->size;
		uint64_t base = r->size - win;
		char *buf = malloc((size_t)win);
		if (!buf)
			return fail(err, errn, "out of memory");
		if (read_at(fd, (uint8_t *)buf, (size_t)win, base) < 0) {
			free(buf);
			return fail(err, errn, "read error: %s", strerror(errno));
		}
		size_t i = (size_t)win;
		while (i > 0 && buf[i - 1] != '\n')
			i--;
		if (i == 0 && base > 0) { /* no newline yet: look further back */
			free(buf);
			win *= 4;
			continue;
		}
		r->end = base + i;
		if (i == 0) { /* no complete line at all */
			free(buf);
			return 0;
		}
		size_t stop = i - 1, j = stop;
		while (j > 0 && buf[j - 1] != '\n')
			j--;
		if (j == 0 && base > 0) {
			free(buf);
			win *= 4;
			continue;
		}
		struct atfh_js_pos p;
		const char *e;
		if (atfh_js_line_pos(buf + j, stop - j, &p, &e) == 0) {
			r->has_pos = true;
			r->pos = p.has_cursor ? p.cursor : p.time_us;
			if (!p.has_cursor)
				boundary_ids(buf, j, base == 0, p, r);
		}
		free(buf);
		return 0;
	}
}
