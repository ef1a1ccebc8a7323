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

/* Allocation bound.  In builds with ASan (make fuzz, check-sanitize) its
 * malloc hook sums every byte allocated between fuzz_alloc_start() and
 * fuzz_alloc_check(), frees not subtracted (so the sum bounds the peak
 * too), and a sum past PER_BYTE * input + FIXED is a finding: a length
 * read off the wire must never turn into an allocation of that length.
 * Elsewhere both are no-ops. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ALLOC_HOOKS 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FUZZ_ALLOC_HOOKS)
#define FUZZ_ALLOC_HOOKS 1
#endif

#ifdef FUZZ_ALLOC_HOOKS
/* <sanitizer/allocator_interface.h>, which gcc does not ship */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));

static size_t fuzz_allocated;
static int fuzz_alloc_trace; /* FUZZ_ALLOC_TRACE set: print every sum */

static void fuzz_on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	fuzz_allocated += n;
}

static void fuzz_on_free(const volatile void *p)
{
	(void)p;
}

static inline void fuzz_alloc_start(void)
{
	static int installed;
	if (!installed) {
		if (!(installed = __sanitizer_install_malloc_and_free_hooks(fuzz_on_malloc,
									    fuzz_on_free)))
			abort();
		fuzz_alloc_trace = getenv("FUZZ_ALLOC_TRACE") != NULL;
	}
	fuzz_allocated = 0;
}

static inline void fuzz_alloc_check(size_t input, size_t per_byte, size_t fixed)
{
	size_t bound = per_byte * input + fixed;
	if (fuzz_alloc_trace)
		fprintf(stderr, "alloc %zu input %zu\n", fuzz_allocated, input);
	if (fuzz_allocated > bound) {
		fprintf(stderr, "allocated %zu bytes for %zu bytes of input (bound %zu)\n",
			fuzz_allocated, input, bound);
		abort();
	}
}
#else
static inline void fuzz_alloc_start(void) {}
static inline void fuzz_alloc_check(size_t input, size_t per_byte, size_t fixed)
{
	(void)input, (void)per_byte, (void)fixed;
}
#endif

/* An output buffer that never touches a descriptor. */
static inline struct atfh_out fuzz_out(void)
{
	struct atfh_out o = { .fd = -1, .flush_at = (size_t)-1 };
	return o;
}

#endif
