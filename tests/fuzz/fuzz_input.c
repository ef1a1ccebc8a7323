/*
 * fuzz_input.c — the stream reader: detection (zstd, frames, NDJSON),
 * framing with a small --max-frame, line splitting, positions.  Every
 * record handed out lies inside the decoded stream and positions only
 * grow.
 */
#include "fuzz.h"
#include "input.h"

#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
	return 0;
}
