/*
 * fuzz_didset.c — DID files: any bytes load (malformed lines reported, not
 * fatal), and every line the loader accepted is then found in the set,
 * while a DID never added is not; read as a list, the same file gives the
 * same DIDs, repeats kept.
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
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	struct atfh_didset s;
	atfh_didset_init(&s);
	if (atfh_didset_load(&s, path, warn, NULL))
		abort();
	/* every valid line is in the set */
	size_t found = 0;
	const char *p = (const char *)data, *end = p + size;
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
		if (b > a && (size_t)(e - p) < 60000 && atfh_did_valid(a, (size_t)(b - a))) {
			if (!atfh_didset_has(&s, a, (size_t)(b - a)))
				abort();
			found++;
		}
		p = e + (nl ? 1 : 0);
	}
	if (found > 0 && s.n == 0)
		abort();
	if (atfh_didset_has(&s, "did:x:never-in-any-input-\x01", 26))
		abort();
	struct atfh_strv l = { 0 };
	if (atfh_didlist_load(&l, path, warn, NULL) || l.n < s.n)
		abort();
	for (size_t i = 0; i < l.n; i++)
		if (!atfh_didset_has(&s, l.v[i], strlen(l.v[i])))
			abort();
	atfh_strv_free(&l);
	atfh_didset_free(&s);
	return 0;
}
