/*
 * input.c — see input.h.
 */
#include "input.h"
#include "dagcbor.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define READ_CHUNK (256u << 10)

volatile sig_atomic_t atfh_interrupted;

static const char *const stdin_only[] = { "-" };

void atfh_input_init(struct atfh_input *in, char *const *files, size_t nfiles,
		     size_t max_frame)
{
	memset(in, 0, sizeof *in);
	if (nfiles == 0) {
		files = (char *const *)stdin_only;
		nfiles = 1;
	}
	in->files = files;
	in->nfiles = nfiles;
	in->fd = -1;
	in->max_frame = max_frame;
	in->cap = READ_CHUNK * 2;
	in->buf = atfh_xmalloc(in->cap);
}

static void close_current(struct atfh_input *in)
{
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	in->fd = -1;
}

/* Files are read(2) into one buffer that is used again and again, never
 * mapped: mapping a file costs page-table work for every page, which
 * measured two to three times the CPU of read(2)'s copy (most of all in a
 * virtual machine), and the buffer stays in the cache. */

void atfh_input_free(struct atfh_input *in)
{
	close_current(in);
	free(in->buf);
	free(in->raw);
	if (in->zd)
		ZSTD_freeDCtx(in->zd);
	in->buf = in->raw = NULL;
	in->zd = NULL;
}

static int fail(struct atfh_input *in, bool fatal, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct atfh_input *in, bool fatal, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(in->err, sizeof in->err, fmt, ap);
	va_end(ap);
	in->fatal = fatal;
	return -1;
}

int atfh_input_next_file(struct atfh_input *in)
{
	close_current(in);
	if (in->next_file >= in->nfiles)
		return 0;
	const char *path = in->files[in->next_file++];
	struct stat st;
	in->start = in->end = 0;
	in->raw_pos = in->raw_end = 0;
	in->eof = false;
	in->zstd = false;
	in->zerr = NULL;
	in->offset = in->next_offset = 0;
	in->index = 0;
	in->raw_read = 0;
	if (strcmp(path, "-") == 0) {
		in->fd = STDIN_FILENO;
		in->name = "stdin";
	} else {
		in->name = path;
		/* a FIFO waits for its writer: a handled signal (count's
		 * SIGUSR1, the stats timer) must not end that wait */
		while ((in->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR) {
			if (atfh_interrupted)
				return 0; /* SIGINT/SIGTERM: no more input */
			if (in->on_idle)
				in->on_idle(in->on_idle_arg);
		}
		if (in->fd < 0)
			return fail(in, true, "%s", strerror(errno));
	}
	in->is_reg = fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode);
	in->size = in->is_reg ? st.st_size : -1;
	in->base = 0;
	if (in->is_reg) {
		off_t at = lseek(in->fd, 0, SEEK_CUR);
		in->base = at > 0 ? at : 0;
	}
	if (!in->is_reg && fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close_current(in);
		return fail(in, true, "is a directory");
	}
#ifdef HAVE_POSIX_FADVISE
	if (in->is_reg)
		posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	return 1;
}

/* read(2) with the flush-before-blocking policy; a pipe or terminal is
 * waited for in poll(2), in steps the on_idle hook sets. */
static ssize_t read_some(struct atfh_input *in, void *dst, size_t n)
{
	for (;;) {
		if (atfh_interrupted)
			return 0;
		if (!in->is_reg && (in->before_block || in->on_idle)) {
			struct pollfd pfd = { .fd = in->fd, .events = POLLIN };
			int r = poll(&pfd, 1, 0);
			if (r == 0) {
				/* again after each wake-up: a tick may have written */
				if (in->before_block)
					in->before_block(in->before_block_arg);
				int ms = in->on_idle ? in->on_idle(in->on_idle_arg) : -1;
				if (atfh_interrupted)
					return 0;
				r = poll(&pfd, 1, ms);
			}
			if (r == 0 || (r < 0 && errno == EINTR))
				continue; /* a deadline or a signal: see what is due */
		}
		ssize_t r = read(in->fd, dst, n);
		if (r < 0 && errno == EINTR) {
			if (in->on_idle)
				in->on_idle(in->on_idle_arg);
			continue;
		}
		if (r > 0) {
			in->raw_read += (uint64_t)r;
			in->raw_total += (uint64_t)r;
		}
		return r;
	}
}

/* Make room for at least N more decoded bytes after `end`. */
static void make_room(struct atfh_input *in, size_t n)
{
	if (in->start > 0 && (in->cap - in->end < n || in->start == in->end)) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	if (in->cap - in->end < n) {
		size_t cap = in->cap;
		while (cap - in->end < n)
			cap *= 2;
		in->buf = atfh_xrealloc(in->buf, cap);
		in->cap = cap;
	}
}

/* Decode more bytes into buf.  1: got some; 0: end of file; -1: error. */
static int refill(struct atfh_input *in)
{
	if (in->eof) {
		if (in->zerr) { /* said once the bytes before it are read */
			const char *e = in->zerr;
			in->zerr = NULL;
			return fail(in, false, "zstd: %s", e);
		}
		return 0;
	}
	make_room(in, READ_CHUNK);
	if (!in->zstd) {
		ssize_t r = read_some(in, in->buf + in->end, in->cap - in->end);
		if (r < 0)
			return fail(in, true, "read error: %s", strerror(errno));
		if (r == 0) {
			in->eof = true;
			return 0;
		}
		in->end += (size_t)r;
		return 1;
	}
	for (;;) {
		if (in->raw_pos == in->raw_end) {
			ssize_t r = read_some(in, in->raw, in->raw_cap);
			if (r < 0)
				return fail(in, true, "read error: %s", strerror(errno));
			if (r == 0) {
				in->eof = true;
				/* reported once, by whoever meets the end: the record
				 * it cuts, or the end of the stream */
				if (in->zstd_mid && !atfh_interrupted)
					in->ztrunc = true;
				return 0;
			}
			in->raw_pos = 0;
			in->raw_end = (size_t)r;
		}
		ZSTD_inBuffer zi = { in->raw, in->raw_end, in->raw_pos };
		ZSTD_outBuffer zo = { in->buf + in->end, in->cap - in->end, 0 };
		size_t ret = ZSTD_decompressStream(in->zd, &zo, &zi);
		in->raw_pos = zi.pos;
		in->end += zo.pos;
		if (ZSTD_isError(ret)) {
			/* what decoded before the error is read first, the
			 * error said when more is wanted: the report comes at
			 * the record it cuts, not at whichever record the read
			 * was for.  (How much decodes first still depends on
			 * the reads: libzstd decodes a frame whole, and gives
			 * none of it, when all of it is at hand.) */
			in->eof = true;
			if (zo.pos > 0) {
				in->zerr = ZSTD_getErrorName(ret);
				return 1;
			}
			return fail(in, false, "zstd: %s", ZSTD_getErrorName(ret));
		}
		in->zstd_mid = ret != 0;
		if (zo.pos > 0)
			return 1;
	}
}

/* Ensure N bytes are buffered from start.  1 yes, 0 EOF first, -1 error. */
static int want(struct atfh_input *in, size_t n)
{
	/* the buffer grows only as bytes arrive: a length prefix that lies
	 * about a huge record costs nothing until the bytes exist */
	while (in->end - in->start < n) {
		int r = refill(in);
		if (r <= 0)
			return r;
	}
	return 1;
}

enum atfh_informat atfh_input_detect(struct atfh_input *in)
{
	static const uint8_t zmagic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	int r = want(in, 4);
	if (r < 0)
		return ATFH_IN_UNKNOWN;
	/* a zstd frame, or a skippable frame first (pzstd writes one) */
	const uint8_t *m = in->buf + in->start;
	if (!in->zstd && in->end - in->start >= 4 &&
	    (memcmp(m, zmagic, 4) == 0 ||
	     ((m[0] & 0xf0) == 0x50 && m[1] == 0x2a && m[2] == 0x4d && m[3] == 0x18))) {
		/* hand the bytes read so far to the decompressor */
		size_t have = in->end - in->start;
		if (!in->zd)
			in->zd = ZSTD_createDCtx();
		else
			ZSTD_DCtx_reset(in->zd, ZSTD_reset_session_only);
		if (!in->zd)
			atfh_die_oom();
		if (!in->raw) {
			in->raw_cap = READ_CHUNK;
			in->raw = atfh_xmalloc(in->raw_cap);
		}
		if (have > in->raw_cap) {
			in->raw_cap = have;
			in->raw = atfh_xrealloc(in->raw, have);
		}
		memcpy(in->raw, in->buf + in->start, have);
		in->raw_pos = 0;
		in->raw_end = have;
		in->start = in->end = 0;
		in->zstd = true;
		in->zstd_mid = true;
		in->eof = false;
		return atfh_input_detect(in);
	}
	/* skip leading white space for NDJSON detection without consuming it */
	for (size_t rel = 0;; rel++) {
		if (in->start + rel == in->end) {
			if (refill(in) <= 0) {
				if (in->ztrunc) {
					in->ztrunc = false;
					fail(in, false, "zstd stream truncated");
					return ATFH_IN_UNKNOWN;
				}
				return ATFH_IN_EMPTY; /* nothing, or only white space */
			}
			rel--;
			continue;
		}
		uint8_t c = in->buf[in->start + rel];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '{')
			return ATFH_IN_NDJSON;
		/* a frame starts with its big-endian length: 0x00 under the
		 * default 16 MiB limit; a larger --max-frame allows more */
		if (rel == 0 && (c == 0x00 || (in->end - in->start >= 4 &&
					       ((uint32_t)c << 24 | (uint32_t)in->buf[in->start + 1] << 16 |
						(uint32_t)in->buf[in->start + 2] << 8 |
						in->buf[in->start + 3]) <= in->max_frame)))
			return ATFH_IN_FRAMES;
		return ATFH_IN_UNKNOWN;
	}
}

/* Throw away N bytes that are not buffered yet (an oversized record);
 * *DONE says how many there were before the end.  1, 0 (end), -1. */
static int discard(struct atfh_input *in, uint64_t n, uint64_t *done)
{
	*done = 0;
	while (n > 0) {
		size_t have = in->end - in->start;
		if (have == 0) {
			int r = refill(in);
			if (r <= 0)
				return r;
			continue;
		}
		size_t k = have < n ? have : (size_t)n;
		in->start += k;
		n -= k;
		*done += k;
	}
	return 1;
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* How far ahead of a length prefix resynchronisation looks: a firehose
 * header ({"op":1,"t":"#identity"}) is about 20 bytes. */
#define PEEK 64

/* Could P (N bytes, at most the record) be the start of a frame's
 * payload: a DAG-CBOR header map of one to four entries with an `op` of 1
 * (and a `t` naming a message type, `#…`) or -1, followed by a map (the
 * body), as far as N shows it?  Checked by parsing, so that junk after a
 * corrupt length prefix is not taken for a frame. */
static bool plausible_header(const uint8_t *p, size_t n)
{
	struct atfh_cbor c;
	struct atfh_cbor_item it;
	atfh_cbor_init(&c, p, n);
	if (atfh_cbor_next(&c, &it) || it.kind != ATFH_CB_MAP || it.count < 1 || it.count > 4)
		return false;
	int64_t op = 0;
	bool has_op = false, has_t = false;
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str key;
		if (atfh_cbor_text(&c, &key, "key"))
			return false;
		if (ATFH_STR_IS(key, "op")) {
			if (atfh_cbor_int(&c, &op, "op"))
				return false;
			has_op = true;
		} else if (ATFH_STR_IS(key, "t")) {
			struct atfh_str t;
			if (atfh_cbor_text(&c, &t, "t") || t.n < 2 || t.n > 32 || t.p[0] != '#')
				return false;
			has_t = true;
		} else if (atfh_cbor_skip(&c)) {
			return false;
		}
	}
	if (!has_op || (op != 1 && op != -1) || (op == 1 && !has_t))
		return false;
	/* the body, when its first byte is in view, is a map too */
	return c.p == c.end || (*c.p & 0xe0) == 0xa0;
}

/* A frame at P (AVAIL bytes in view): a length within bounds, then a
 * plausible header. */
static bool plausible_frame(const uint8_t *p, size_t avail, size_t max_frame)
{
	if (avail < 4)
		return false;
	uint32_t len = be32(p);
	if (len < 4 || len > max_frame)
		return false;
	size_t n = avail - 4 < len ? avail - 4 : len;
	return plausible_header(p + 4, n);
}

static void consume(struct atfh_input *in, size_t k)
{
	in->start += k;
	in->next_offset += k;
}

/* The record at `start` is not a frame (a corrupt length prefix): scan
 * forward, from its second byte, for the next plausible frame and leave
 * `start` there.  *SKIPPED counts the bytes passed over (the buffer holds
 * only what is still to be scanned, however long the junk).  1 a frame
 * was found, 0 the input ended first (everything skipped), -1 error. */
static int resync(struct atfh_input *in, uint64_t *skipped)
{
	size_t i = 1;
	*skipped = 0;
	for (;;) {
		size_t have = in->end - in->start;
		for (; i + 4 <= have; i++) {
			size_t avail = have - i;
			if (avail < 4 + PEEK && !in->eof)
				break; /* decide when more is in view */
			if (plausible_frame(in->buf + in->start + i, avail, in->max_frame)) {
				consume(in, i);
				*skipped += i;
				return 1;
			}
		}
		if (in->eof && i + 4 > have) {
			consume(in, have);
			*skipped += have;
			return 0;
		}
		consume(in, i); /* drop what is scanned, keep the rest */
		*skipped += i;
		i = 0;
		int r = refill(in);
		if (r < 0)
			return -1;
	}
}

/* The end of the stream, with nothing left of a record: a truncated zstd
 * stream is reported here, once. */
static int at_end(struct atfh_input *in)
{
	if (!in->ztrunc)
		return 0;
	in->ztrunc = false;
	in->index++;
	return fail(in, false, "zstd stream truncated");
}

static const char *ztrunc_note(struct atfh_input *in)
{
	bool t = in->ztrunc;
	in->ztrunc = false;
	return t ? " (the zstd stream is truncated)" : "";
}

int atfh_input_frame(struct atfh_input *in, const uint8_t **p, size_t *n)
{
	in->offset = in->next_offset;
	int r = want(in, 4);
	if (r < 0)
		return -1;
	size_t have = in->end - in->start;
	if (r == 0) {
		if (have == 0)
			return at_end(in);
		if (atfh_interrupted) { /* cut short by SIGINT: not malformed */
			in->start = in->end;
			return 0;
		}
		in->index++;
		consume(in, have);
		return fail(in, false, "truncated frame: %zu byte%s of a 4-byte length prefix%s",
			    have, have == 1 ? "" : "s", ztrunc_note(in));
	}
	const uint8_t *b = in->buf + in->start;
	uint32_t len = be32(b);
	in->index++;
	if (len > in->max_frame || len < 4) {
		uint64_t skipped;
		char why[100];
		if (len < 4) /* zeros, say: not even room for a header */
			snprintf(why, sizeof why, "frame length %u is too small for a frame", len);
		else
			snprintf(why, sizeof why,
				 "frame length %u exceeds the maximum frame size %zu (--max-frame)",
				 len, in->max_frame);
		if (b[0] == '{') {
			/* NDJSON after frames (cat a.atfh b.ndjson): the caller
			 * goes on reading lines from here */
			in->to_lines = true;
			return fail(in, false, "the input changes format here: NDJSON follows the frames");
		}
		r = want(in, 4 + PEEK);
		if (r < 0)
			return -1;
		have = in->end - in->start;
		b = in->buf + in->start;
		if (len >= 4 && len <= ATFH_MAX_FRAME_LIMIT &&
		    plausible_header(b + 4, have - 4 < len ? have - 4 : len)) {
			/* a real record, only larger than allowed: step over it */
			consume(in, 4);
			r = discard(in, len, &skipped);
			in->next_offset += skipped; /* only what was there */
			if (r < 0)
				return -1;
			return fail(in, false,
				    "frame length %u exceeds the maximum frame size %zu (--max-frame)%s",
				    len, in->max_frame, r == 0 ? "; the input ends inside it" : "");
		}
		/* a corrupt length prefix: find the next frame */
		r = resync(in, &skipped);
		if (r < 0)
			return -1;
		if (r == 0)
			return fail(in, false, "%s and no frame follows: %llu bytes skipped to the end%s",
				    why, (unsigned long long)skipped, ztrunc_note(in));
		return fail(in, false, "%s: %llu bytes skipped to the next frame at byte %llu", why,
			    (unsigned long long)skipped, (unsigned long long)in->next_offset);
	}
	r = want(in, 4 + (size_t)len);
	if (r < 0)
		return -1;
	if (r == 0) {
		have = in->end - in->start;
		if (atfh_interrupted) {
			in->start = in->end;
			return 0;
		}
		/* the length runs past the end: a frame cut short, or a corrupt
		 * length with frames after it in the bytes that are left */
		uint64_t skipped;
		if (!in->ztrunc && resync(in, &skipped) == 1)
			return fail(in, false,
				    "frame length %u runs past the end of the input: %llu bytes "
				    "skipped to the next frame at byte %llu",
				    len, (unsigned long long)skipped, (unsigned long long)in->next_offset);
		consume(in, in->end - in->start);
		return fail(in, false, "truncated frame: length %u, only %zu bytes left%s",
			    len, have - 4, ztrunc_note(in));
	}
	*p = in->buf + in->start + 4;
	*n = len;
	consume(in, 4 + (size_t)len);
	return 1;
}

int atfh_input_line(struct atfh_input *in, const char **p, size_t *n)
{
	size_t scanned = 0;
	for (;;) {
		in->offset = in->next_offset;
		uint8_t *b = in->buf + in->start;
		size_t have = in->end - in->start;
		uint8_t *nl = scanned < have ? memchr(b + scanned, '\n', have - scanned) : NULL;
		if (!nl && in->eof && have > 0 && atfh_interrupted) {
			in->start = in->end; /* cut short by SIGINT: not malformed */
			return 0;
		}
		if (!nl && in->eof && have > 0 && in->ztrunc) {
			/* the last line is cut by the end of the zstd stream:
			 * one error, not a JSON error and then another */
			in->index++;
			consume(in, have);
			return fail(in, false, "truncated line%s", ztrunc_note(in));
		}
		if (nl || (in->eof && have > 0)) {
			size_t len = nl ? (size_t)(nl - b) : have;
			size_t used = nl ? len + 1 : len;
			in->start += used;
			in->next_offset += used;
			scanned = 0;
			if (len && b[len - 1] == '\r')
				len--;
			size_t i = 0;
			in->index++; /* physical line number, as editors show it */
			while (i < len && (b[i] == ' ' || b[i] == '\t'))
				i++;
			if (i == len)
				continue; /* blank line */
			if (len > in->max_frame)
				return fail(in, false, "line longer than the maximum frame size %zu",
					    in->max_frame);
			*p = (const char *)b;
			*n = len;
			return 1;
		}
		if (have > in->max_frame) {
			/* an endless line: drop what we have and skip to its end */
			in->index++;
			in->next_offset += have;
			in->start = in->end;
			for (;;) {
				int r = refill(in);
				if (r < 0)
					return -1;
				if (r == 0)
					break;
				uint8_t *e = memchr(in->buf + in->start, '\n', in->end - in->start);
				size_t k = e ? (size_t)(e - (in->buf + in->start)) + 1
					     : in->end - in->start;
				in->start += k;
				in->next_offset += k;
				if (e)
					break;
			}
			return fail(in, false, "line longer than the maximum frame size %zu",
				    in->max_frame);
		}
		scanned = have;
		int r = refill(in);
		if (r < 0)
			return -1;
		if (r == 0 && in->end == in->start)
			return at_end(in);
	}
}

/* The newlines in P: sixteen bytes at a time with SSE2. */
uint64_t atfh_input_count_newlines(const uint8_t *p, size_t n)
{
	uint64_t k = 0;
	size_t i = 0;
#ifdef __SSE2__
	/* each match subtracts -1 from a byte of ACC; summed up (psadbw)
	 * before a byte can wrap */
	const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
	while (i + 16 <= n) {
		__m128i acc = zero;
		for (int j = 0; j < 255 && i + 16 <= n; j++, i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, nl));
		}
		__m128i s = _mm_sad_epu8(acc, zero);
		k += (uint64_t)_mm_cvtsi128_si32(s) + (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(s, 8));
	}
#endif
	for (; i < n; i++)
		k += p[i] == '\n';
	return k;
}

int atfh_input_lines_block(struct atfh_input *in, const uint8_t **p, size_t *n, size_t want_n)
{
	in->offset = in->next_offset;
	if (!want_n)
		want_n = 1;
	int r = want(in, want_n);
	size_t have = in->end - in->start;
	if (r < 0)
		return have ? 2 : -1; /* the lines before the error first */
	if (r == 0 && !have)
		return 0;
	uint8_t *b = in->buf + in->start;
	size_t len = have;
	if (r == 1) {
		/* whole lines, about WANT bytes: to the first newline from
		 * there, else the last one (a line longer than what is
		 * here: line by line, with its own limits) */
		uint8_t *nl = memchr(b + want_n - 1, '\n', have - (want_n - 1));
		if (!nl)
			nl = memrchr(b, '\n', have);
		if (nl)
			len = (size_t)(nl - b) + 1;
		else if (!in->eof)
			return 2;
	}
	/* the physical lines in it, as atfh_input_line counts them */
	uint64_t lines = atfh_input_count_newlines(b, len);
	if (len && b[len - 1] != '\n')
		lines++; /* the last one, at the end of the input */
	*p = b;
	*n = len;
	consume(in, len);
	in->index += lines;
	return 1;
}

int atfh_input_frames_block(struct atfh_input *in, const uint8_t **p, size_t *n, size_t want_n)
{
	in->offset = in->next_offset;
	int r = want(in, want_n ? want_n : 4);
	size_t have = in->end - in->start;
	if (r < 0)
		return have ? 2 : -1; /* the frames before the error first */
	if (r == 0 && !have)
		return 0;
	const uint8_t *b = in->buf + in->start;
	size_t pos = 0;
	uint64_t count = 0;
	/* whole frames of a size allowed, about WANT bytes of them; anything
	 * else is for atfh_input_frame to read and report */
	while (have - pos >= 4 && pos < want_n) {
		uint32_t len = be32(b + pos);
		if (len < 4 || len > in->max_frame || have - pos - 4 < len)
			break;
		pos += 4 + (size_t)len;
		count++;
	}
	if (!count)
		return 2;
	*p = b;
	*n = pos;
	consume(in, pos);
	in->index += count;
	return 1;
}

/* Read the file on from its byte RAW (compressed, for zstd), nothing
 * buffered: what was read counts as read up to RAW, as if read in order. */
static int seek_raw(struct atfh_input *in, uint64_t raw)
{
	if (lseek(in->fd, in->base + (off_t)raw, SEEK_SET) < 0)
		return fail(in, true, "seek: %s", strerror(errno));
	in->raw_total = in->raw_total - in->raw_read + raw;
	in->raw_read = raw;
	in->start = in->end = 0;
	in->eof = false;
	return 0;
}

int atfh_input_reposition(struct atfh_input *in, uint64_t off, uint64_t index)
{
	if (!in->is_reg || in->zstd)
		return fail(in, true, "cannot reposition a pipe or a zstd stream");
	if (seek_raw(in, off))
		return -1;
	in->offset = in->next_offset = off;
	in->index = index;
	return 0;
}

int atfh_input_reposition_zstd(struct atfh_input *in, uint64_t zoff, uint64_t uoff,
			       uint64_t off, uint64_t index)
{
	if (!in->is_reg || !in->zstd || off < uoff)
		return fail(in, true, "cannot reposition a pipe or a zstd stream");
	if (seek_raw(in, zoff))
		return -1;
	in->raw_pos = in->raw_end = 0;
	in->zstd_mid = in->ztrunc = false;
	in->zerr = NULL;
	ZSTD_DCtx_reset(in->zd, ZSTD_reset_session_only);
	in->next_offset = uoff;
	/* from the frame's start to OFF: decoded once before, so all there */
	while (in->next_offset < off) {
		if (in->start == in->end && refill(in) <= 0)
			return fail(in, true, "the file changed while it was read");
		uint64_t k = in->end - in->start;
		consume(in, (size_t)(k < off - in->next_offset ? k : off - in->next_offset));
	}
	in->offset = off;
	in->index = index;
	return 0;
}

uint8_t *atfh_input_swap_buf(struct atfh_input *in, uint8_t *buf, size_t cap, size_t *old_cap)
{
	size_t rest = in->end - in->start;
	if (!buf || cap < in->cap || cap - rest < READ_CHUNK) {
		free(buf);
		cap = in->cap > rest + READ_CHUNK ? in->cap : rest + READ_CHUNK;
		buf = atfh_xmalloc(cap);
	}
	if (rest)
		memcpy(buf, in->buf + in->start, rest);
	uint8_t *old = in->buf;
	*old_cap = in->cap;
	in->buf = buf;
	in->cap = cap;
	in->start = 0;
	in->end = rest;
	return old;
}

int atfh_input_split_line(const uint8_t *b, size_t n, size_t *pos, size_t max,
			  const uint8_t **line, size_t *len)
{
	const uint8_t *p = b + *pos;
	size_t have = n - *pos;
	const uint8_t *nl = memchr(p, '\n', have);
	size_t l = nl ? (size_t)(nl - p) : have;
	*pos += nl ? l + 1 : l;
	if (l && p[l - 1] == '\r')
		l--;
	size_t i = 0;
	while (i < l && (p[i] == ' ' || p[i] == '\t'))
		i++;
	*line = p;
	*len = l;
	if (i == l)
		return 0;
	return l > max ? -1 : 1;
}

int64_t atfh_input_total_size(char *const *files, size_t nfiles)
{
	int64_t total = 0;
	struct stat st;
	if (nfiles == 0)
		return fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
	for (size_t i = 0; i < nfiles; i++) {
		if (strcmp(files[i], "-") == 0 ? fstat(STDIN_FILENO, &st) : stat(files[i], &st))
			return -1;
		if (!S_ISREG(st.st_mode))
			return -1;
		total += st.st_size;
	}
	return total;
}
