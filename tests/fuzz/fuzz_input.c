/*
 * fuzz_input.c — the stream reader: detection (zstd, frames, NDJSON),
 * framing with a small --max-frame, line splitting, positions.  Every
 * record handed out lies inside the decoded stream and positions only
 * grow.  Then resynchronisation: the input, made into junk that cannot
 * hold a frame start (no two zero bytes in a row, no `{` first), is put
 * between two good frames: both are found, whole, with one error between,
 * and the bytes counted are exactly the stream's.  Last, the read loop in
 * threads (-T 3, chunks of one and of three records) hands every record
 * to its callback with the same position and bytes, in the same order,
 * with the same malformed count, as the loop in one thread (a zstd file of
 * several frames is read by the workers, whole frames each).  And where
 * lib/zframe finds each zstd frame's end, libzstd finds it too.
 */
#include "fuzz.h"
#include "input.h"
#include "loop.h"
#include "zframe.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

/* A few KB of zstd can stand for gigabytes (RLE blocks): the reader
 * streams those fine, but walking them costs seconds an input.  Inputs
 * that inflate past this are left out (rejected from the corpus). */
#define INFLATE_MAX (640u << 10) /* past the 512 KiB read buffer */

static bool inflates_too_far(const uint8_t *data, size_t size)
{
	static const uint8_t zmagic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	if (size < 4 || memcmp(data, zmagic, 4) != 0)
		return false;
	static ZSTD_DCtx *z;
	static uint8_t out[64 << 10];
	if (!z && !(z = ZSTD_createDCtx()))
		abort();
	ZSTD_DCtx_reset(z, ZSTD_reset_session_only);
	ZSTD_inBuffer in = { data, size, 0 };
	size_t total = 0;
	for (;;) {
		/* frames follow one another: the decoder starts the next itself */
		size_t before = in.pos;
		ZSTD_outBuffer o = { out, sizeof out, 0 };
		size_t r = ZSTD_decompressStream(z, &o, &in);
		if (ZSTD_isError(r))
			return false;
		total += o.pos;
		if (total > INFLATE_MAX)
			return true;
		if (o.pos < o.size && (in.pos == in.size || in.pos == before))
			return false;
	}
}

/* {"op":1,"t":"#info"} {"name":"x"} */
static const uint8_t info_frame[] = {
	0, 0, 0, 21, 0xa2, 0x62, 'o', 'p', 0x01, 0x61, 't', 0x65, '#', 'i', 'n', 'f', 'o',
	0xa1, 0x64, 'n', 'a', 'm', 'e', 0x61, 'x',
};

static void resync_check(int fd, const char *path, const uint8_t *data, size_t size)
{
	if (size == 0 || size > 60000)
		return;
	size_t flen = 2 * sizeof info_frame + size;
	uint8_t *file = malloc(flen);
	if (!file)
		abort();
	memcpy(file, info_frame, sizeof info_frame);
	uint8_t *junk = file + sizeof info_frame;
	for (size_t i = 0; i < size; i++)
		junk[i] = data[i] ? data[i] : 0xff; /* no length <= 4096 can start inside */
	if (junk[0] == '{' || junk[0] < 0x80)
		junk[0] |= 0x80; /* nor NDJSON, nor a record just over the limit */
	memcpy(junk + size, info_frame, sizeof info_frame);
	if (ftruncate(fd, 0) || pwrite(fd, file, flen, 0) != (ssize_t)flen)
		abort();
	char *files[] = { (char *)path };
	struct atfh_input in;
	atfh_input_init(&in, files, 1, 4096);
	if (atfh_input_next_file(&in) != 1 || atfh_input_detect(&in) != ATFH_IN_FRAMES)
		abort();
	const uint8_t *p;
	size_t n;
	int got[3];
	for (int i = 0; i < 3; i++) {
		got[i] = atfh_input_frame(&in, &p, &n);
		if (got[i] == 1 && (n != sizeof info_frame - 4 || memcmp(p, info_frame + 4, n) != 0))
			abort(); /* a frame is handed out whole */
	}
	/* frame, one error for the junk, the frame after it, the end */
	if (got[0] != 1 || got[1] != -1 || in.fatal || got[2] != 1)
		abort();
	if (atfh_input_frame(&in, &p, &n) != 0 || in.next_offset != flen)
		abort();
	atfh_input_free(&in);
	free(file);
}

/* ---- the loop in threads ---- */

struct rec_ctx {
	struct atfh_loop loop;
	struct atfh_out out;
};

/* one line per record: kind, index, offset, length, hash of the bytes;
 * records whose hash is odd are called malformed, to mix reports in */
static int on_rec(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err, char kind)
{
	struct rec_ctx *c = l->ctx;
	uint64_t h = XXH3_64bits(p, n);
	char line[128];
	int k = snprintf(line, sizeof line, "%c %llu %llu %zu %016llx\n", kind,
			 (unsigned long long)l->in.index, (unsigned long long)l->in.offset, n,
			 (unsigned long long)h);
	atfh_out_put(&c->out, line, (size_t)k);
	if (h & 1) {
		*err = "odd hash";
		return ATFH_REC_BAD;
	}
	l->stats.events++;
	return ATFH_REC_OK;
}

static int on_frame(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err)
{
	return on_rec(l, p, n, err, 'f');
}

static int on_line(struct atfh_loop *l, const char *p, size_t n, const char **err)
{
	return on_rec(l, (const uint8_t *)p, n, err, 'l');
}

static struct atfh_loop *rec_worker(struct atfh_loop *l)
{
	struct rec_ctx *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	atfh_loop_worker_init(&w->loop, l, w, &w->out);
	return &w->loop;
}

static void rec_free(struct atfh_loop *l)
{
	struct rec_ctx *w = l->ctx;
	atfh_out_free(&w->out);
	free(w);
}

/* Run the loop over PATH in THREADS; the records seen (and the malformed
 * count, the events) into a malloc'ed text, its length in *N. */
static char *loop_records(const char *path, unsigned threads, size_t *len, uint64_t *bad,
			  uint64_t *events)
{
	int ofd = memfd_create("fuzz-input-out", 0);
	if (ofd < 0)
		abort();
	struct rec_ctx c;
	atfh_loop_init(&c.loop, "fuzz");
	atfh_out_init(&c.out, ofd, "(out)");
	c.loop.quiet = true;
	c.loop.max_frame = 4096;
	c.loop.out = &c.out;
	c.loop.ctx = &c;
	c.loop.on_frame = on_frame;
	c.loop.on_line = on_line;
	c.loop.threads = threads;
	c.loop.worker_new = rec_worker;
	c.loop.worker_free = rec_free;
	char *files[] = { (char *)path };
	atfh_loop_run(&c.loop, files, 1);
	atfh_out_flush(&c.out);
	*bad = c.loop.stats.malformed;
	*events = c.loop.stats.events;
	off_t sz = lseek(ofd, 0, SEEK_END);
	char *text = malloc((size_t)sz + 1);
	if (!text || pread(ofd, text, (size_t)sz, 0) != (ssize_t)sz)
		abort();
	*len = (size_t)sz;
	atfh_out_free(&c.out);
	close(ofd);
	return text;
}

static void threads_check(const char *path)
{
	/* the reports of malformed records go to stderr: not here */
	fflush(stderr);
	int saved = dup(2), null = open("/dev/null", O_WRONLY);
	if (saved < 0 || null < 0 || dup2(null, 2) < 0)
		abort();
	size_t n1, n3;
	uint64_t bad1, bad3, ev1, ev3;
	char *one = loop_records(path, 1, &n1, &bad1, &ev1);
	for (int recs = 1; recs <= 3; recs += 2) {
		setenv("ATFH_TEST_CHUNK_RECORDS", recs == 1 ? "1" : "3", 1);
		char *three = loop_records(path, 3, &n3, &bad3, &ev3);
		if (n1 != n3 || memcmp(one, three, n1) != 0 || bad1 != bad3 || ev1 != ev3)
			abort(); /* threads changed what the callbacks saw */
		free(three);
	}
	unsetenv("ATFH_TEST_CHUNK_RECORDS");
	free(one);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(null);
}

/* Where lib/zframe says each zstd frame ends, from the headers alone,
 * libzstd says too, having walked the frame whole; and what it says the
 * frame holds is what the frame decompresses to. */
static void zframes_check(int fd, const uint8_t *data, size_t size)
{
	uint64_t off = 0;
	while (off < size) {
		uint64_t content, end = atfh_zframe_end(fd, 0, off, size, &content);
		size_t z = ZSTD_findFrameCompressedSize(data + off, size - off);
		if (!end) {
			/* libzstd may take a frame it could not decode (a
			 * block past the window); never the other way round */
			break;
		}
		if (ZSTD_isError(z) || off + z != end)
			abort();
		unsigned long long cs = ZSTD_getFrameContentSize(data + off, size - off);
		if (content != UINT64_MAX && cs != ZSTD_CONTENTSIZE_UNKNOWN &&
		    cs != ZSTD_CONTENTSIZE_ERROR && cs != content)
			abort();
		off = end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (inflates_too_far(data, size))
		return -1;
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("fuzz-input", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	char *files[] = { path };
	struct atfh_input in;
	atfh_input_init(&in, files, 1, 4096);
	if (atfh_input_next_file(&in) != 1)
		abort();
	enum atfh_informat f = atfh_input_detect(&in);
	uint64_t last = 0, records = 0;
	for (int guard = 0; guard < 100000; guard++) {
		int r;
		const uint8_t *p;
		size_t n;
		if (f == ATFH_IN_FRAMES)
			r = atfh_input_frame(&in, &p, &n);
		else if (f == ATFH_IN_NDJSON)
			r = atfh_input_line(&in, (const char **)&p, &n);
		else
			break;
		if (r == 0)
			break;
		if (in.next_offset < last)
			abort(); /* positions never go back */
		last = in.next_offset;
		if (r < 0) {
			if (!in.err[0])
				abort();
			if (in.fatal)
				break;
			continue;
		}
		if (n > 4096)
			abort(); /* the limit holds */
		if (n && (p < in.buf || p + n > in.buf + in.end))
			abort();
		records++;
	}
	atfh_input_free(&in);
	(void)records;
	zframes_check(fd, data, size);
	threads_check(path);
	resync_check(fd, path, data, size);
	return 0;
}
