/*
 * fuzz.h — what the libFuzzer harnesses share: the entry point, and the
 * property checks every harness applies to what it produced (output is
 * valid JSON, one value per line).
 */
#ifndef ATFH_FUZZ_H
#define ATFH_FUZZ_H

#include "jsonscan.h"
#include "out.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort (a finding) unless BUF holds newline-terminated valid JSON lines. */
static inline void fuzz_check_json_lines(const char *buf, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n')
			continue;
		const char *err = NULL;
		if (atfh_json_check(buf + start, i - start, &err)) {
			fprintf(stderr, "invalid JSON output (%s): %.*s\n", err,
				(int)(i - start > 300 ? 300 : i - start), buf + start);
			abort();
		}
		start = i + 1;
	}
	if (start != n) {
		fprintf(stderr, "output does not end with a newline\n");
		abort();
	}
}

static inline void fuzz_check_json(const char *buf, size_t n)
{
	const char *err = NULL;
	if (atfh_json_check(buf, n, &err)) {
		fprintf(stderr, "invalid JSON output (%s): %.*s\n", err, (int)(n > 300 ? 300 : n), buf);
		abort();
	}
}

/* An output buffer that never touches a descriptor. */
static inline struct atfh_out fuzz_out(void)
{
	struct atfh_out o = { .fd = -1, .flush_at = (size_t)-1 };
	return o;
}

#endif
