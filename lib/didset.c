/*
 * didset.c — see didset.h.
 */
#include "didset.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

void atfh_didset_init(struct atfh_didset *s)
{
	memset(s, 0, sizeof *s);
}

void atfh_didset_free(struct atfh_didset *s)
{
	free(s->hash);
	free(s->off);
	free(s->arena);
	memset(s, 0, sizeof *s);
}

/* The characters the DID syntax allows after "did:method:". */
static bool did_char(unsigned char c)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789._:%-";
	static bool table[256], ready;
	if (!ready) {
		for (const char *p = ok; *p; p++)
			table[(unsigned char)*p] = true;
		ready = true;
	}
	return table[c];
}

bool atfh_did_valid(const char *s, size_t n)
{
	if (n < 7 || n > 2048 || memcmp(s, "did:", 4) != 0)
		return false;
	size_t i = 4;
	while (i < n && s[i] >= 'a' && s[i] <= 'z')
		i++;
	if (i == 4 || i >= n || s[i] != ':')
		return false;
	if (++i >= n || s[n - 1] == ':')
		return false;
	for (; i < n; i++)
		if (!did_char((unsigned char)s[i]))
			return false;
	return true;
}

static uint64_t did_hash(const char *did, size_t n)
{
	uint64_t h = XXH3_64bits(did, n);
	return h ? h : 1;
}

static void grow(struct atfh_didset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	uint64_t *hash = atfh_xcalloc(cap, sizeof *hash);
	/* a million-DID table is 16 MB of random lookups: huge pages spare a
	 * TLB miss on nearly every one (a hint; ignored where unsupported) */
	if (cap * sizeof *hash >= (4u << 20)) {
		uintptr_t a = ((uintptr_t)hash + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
		uintptr_t e = ((uintptr_t)(hash + cap)) & ~(uintptr_t)((2u << 20) - 1);
		if (e > a)
			madvise((void *)a, e - a, MADV_HUGEPAGE);
	}
	uint32_t *off = atfh_xmalloc(cap * sizeof *off);
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->hash[i])
			continue;
		size_t j = (size_t)s->hash[i] & (cap - 1);
		while (hash[j])
			j = (j + 1) & (cap - 1);
		hash[j] = s->hash[i];
		off[j] = s->off[i];
	}
	free(s->hash);
	free(s->off);
	s->hash = hash;
	s->off = off;
	s->cap = cap;
}

static bool slot_is(const struct atfh_didset *s, size_t i, const char *did, size_t n)
{
	const char *e = s->arena + s->off[i];
	size_t len = (size_t)(uint8_t)e[0] | (size_t)(uint8_t)e[1] << 8;
	return len == n && memcmp(e + 2, did, n) == 0;
}

bool atfh_didset_has(const struct atfh_didset *s, const char *did, size_t n)
{
	if (!s->n)
		return false;
	uint64_t h = did_hash(did, n);
	size_t mask = s->cap - 1;
	for (size_t i = (size_t)h & mask; s->hash[i]; i = (i + 1) & mask)
		if (s->hash[i] == h && slot_is(s, i, did, n))
			return true;
	return false;
}

bool atfh_didset_add(struct atfh_didset *s, const char *did, size_t n)
{
	if (!atfh_did_valid(did, n))
		return false;
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	/* one probe sequence finds either the DID or the slot it goes in */
	uint64_t h = did_hash(did, n);
	size_t mask = s->cap - 1, i = (size_t)h & mask;
	for (; s->hash[i]; i = (i + 1) & mask)
		if (s->hash[i] == h && slot_is(s, i, did, n))
			return true;
	if (s->arena_len + n + 2 > UINT32_MAX)
		atfh_die_oom(); /* 4 GB of DIDs: far beyond any real list */
	atfh_grow_array((void **)&s->arena, &s->arena_cap, s->arena_len + n + 2, 1);
	s->hash[i] = h;
	s->off[i] = (uint32_t)s->arena_len;
	s->arena[s->arena_len++] = (char)(n & 0xff);
	s->arena[s->arena_len++] = (char)(n >> 8);
	memcpy(s->arena + s->arena_len, did, n);
	s->arena_len += n;
	s->n++;
	return true;
}

static void add_line(struct atfh_didset *s, const char *path, size_t line, char *a, char *b,
		     void (*warn)(void *, const char *, size_t, const char *), void *ctx)
{
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	char *hash = b > a ? memchr(a, '#', (size_t)(b - a)) : NULL;
	if (hash)
		b = hash;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
		b--;
	if (b > a && !atfh_didset_add(s, a, (size_t)(b - a)) && warn) {
		char why[120];
		int shown = b - a > 80 ? 80 : (int)(b - a);
		snprintf(why, sizeof why, "not a DID: %.*s", shown, a);
		warn(ctx, path, line, why);
	}
}

int atfh_didset_load(struct atfh_didset *s, const char *path,
		     void (*warn)(void *ctx, const char *path, size_t line, const char *why),
		     void *ctx)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		errno = e;
		return -1;
	}
	/* size table and arena once from the file size (about 33 bytes a DID),
	 * and read in chunks: a million DIDs never exist twice in memory */
	if (st.st_size > 0) {
		size_t guess = (size_t)st.st_size / 33 + 16;
		while (s->cap < guess * 2)
			grow(s);
		atfh_grow_array((void **)&s->arena, &s->arena_cap,
				s->arena_len + (size_t)st.st_size + guess, 1);
	}
	enum { CHUNK = 1 << 16 };
	char *buf = atfh_xmalloc(CHUNK);
	size_t have = 0, line = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, CHUNK - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return -1;
		}
		have += (size_t)r;
		char *p = buf, *end = buf + have, *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			add_line(s, path, ++line, p, nl, warn, ctx);
			p = nl + 1;
		}
		if (r == 0 || (p == buf && have == CHUNK)) {
			/* the end, or a line longer than a chunk: take what there is */
			if (p < end)
				add_line(s, path, ++line, p, end, warn, ctx);
			have = 0;
			if (r == 0)
				break;
			continue;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
	}
	free(buf);
	close(fd);
	return 0;
}
