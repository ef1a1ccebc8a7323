/*
 * fuzz_input.c — the stream reader: detection (zstd, frames, NDJSON),
 * framing with a small --max-frame, line splitting, positions.  Every
 * record handed out lies inside the decoded stream and positions only
 * grow.  Then resynchronisation: the input, made into junk that cannot
 * hold a frame start (no two zero bytes in a row, no `{` first), is put
 * between two good frames: both are found, whole, with one error between,
 * and the bytes counted are exactly the stream's.
 */
#include "fuzz.h"
#include "input.h"

#include <sys/mman.h>
#include <unistd.h>
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
	resync_check(fd, path, data, size);
	return 0;
}
