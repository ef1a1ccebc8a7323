/*
 * fuzz_didset.c — DID files: any bytes load (malformed lines reported, not
 * fatal), and every line the loader accepted is then found in the set,
 * while a DID never added is not, nor one a byte away from an accepted one
 * unless that is accepted too (did:plc: DIDs are packed); read as a list, the same file gives the
 * same DIDs, repeats kept, in order, and nothing else: no piece of a long
 * line is ever read as a line of its own.  Lines reach past the reader's
 * 64 KiB start buffer and its ATFH_DIDFILE_LINE_MAX limit through a byte
 * 0x01, which the harness stretches into 40,000 spaces.
 */
#include "fuzz.h"
#include "didset.h"

#include <sys/mman.h>
#include <unistd.h>

static size_t warnings;

static void warn(void *ctx, const char *path, size_t line, const char *why)
{
	(void)ctx, (void)path, (void)line, (void)why;
	warnings++;
}

enum { STRETCH = 40000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("fuzz-didset", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	size_t ones = 0;
	for (size_t i = 0; i < size; i++)
		ones += data[i] == 0x01;
	if (ones > 200)
		return 0; /* 8 MB is plenty to cross every limit */
	size_t flen = size + ones * (STRETCH - 1);
	char *file = malloc(flen ? flen : 1);
	if (!file)
		abort();
	for (size_t i = 0, j = 0; i < size; i++) {
		if (data[i] == 0x01) {
			memset(file + j, ' ', STRETCH);
			j += STRETCH;
		} else {
			file[j++] = (char)data[i];
		}
	}
	if (ftruncate(fd, 0) || pwrite(fd, file, flen, 0) != (ssize_t)flen)
		abort();
	struct atfh_didset s;
	atfh_didset_init(&s);
	if (atfh_didset_load(&s, path, warn, NULL))
		abort();
	struct atfh_strv l = { 0 };
	if (atfh_didlist_load(&l, path, warn, NULL))
		abort();
	/* the oracle: every line shorter than the limit, whole */
	size_t found = 0;
	const char *p = file, *end = p + flen;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *a = p, *b = e;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		const char *hash = b > a ? memchr(a, '#', (size_t)(b - a)) : NULL;
		if (hash)
			b = hash;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
			b--;
		if (b > a && (size_t)(e - p) < ATFH_DIDFILE_LINE_MAX &&
		    atfh_did_valid(a, (size_t)(b - a))) {
			if (!atfh_didset_has(&s, a, (size_t)(b - a)))
				abort();
			/* the list holds exactly these, in file order */
			if (found >= l.n || strlen(l.v[found]) != (size_t)(b - a) ||
			    memcmp(l.v[found], a, (size_t)(b - a)) != 0)
				abort();
			found++;
		}
		p = e + (nl ? 1 : 0);
	}
	if (found != l.n)
		abort();
	if (found > 0 && s.n == 0)
		abort();
	if (atfh_didset_has(&s, "did:x:never-in-any-input-\x01", 26))
		abort();
	for (size_t i = 0; i < l.n; i++)
		if (!atfh_didset_has(&s, l.v[i], strlen(l.v[i])))
			abort();
	/* and a DID one byte from one of them only if the list has it too
	 * (did:plc: DIDs are kept packed: nothing may be lost in packing) */
	for (size_t i = 0; i < l.n && i < 64; i++) {
		size_t n = strlen(l.v[i]);
		char *v = strdup(l.v[i]);
		v[n - 1] = v[n - 1] == 'a' ? 'b' : 'a';
		bool listed = false;
		for (size_t j = 0; j < l.n && !listed; j++)
			listed = strcmp(l.v[j], v) == 0;
		if (atfh_didset_has(&s, v, n) != listed)
			abort();
		free(v);
	}
	atfh_strv_free(&l);
	atfh_didset_free(&s);
	free(file);
	return 0;
}
