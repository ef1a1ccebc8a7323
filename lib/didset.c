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
	free(s->bloom);
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
	if (++i >= n || s[n - 1] == ':' || s[n - 1] == '%') /* the DID spec's last character */
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

/* The blocked ("split block") Bloom filter of Parquet and Impala: the
 * high half of the hash picks a 256-bit block, the low half times eight
 * odd constants one bit in each of its eight 32-bit words. */
static const uint32_t bloom_salt[8] = {
	0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
	0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u,
};

static void bloom_add(struct atfh_didset *s, uint64_t h)
{
	uint32_t *b = s->bloom[(h >> 32) & s->bloom_mask];
	for (int i = 0; i < 8; i++)
		b[i] |= 1u << (((uint32_t)h * bloom_salt[i]) >> 27);
}

static bool bloom_maybe(const struct atfh_didset *s, uint64_t h)
{
	const uint32_t *b = s->bloom[(h >> 32) & s->bloom_mask];
	uint32_t miss = 0;
	for (int i = 0; i < 8; i++)
		miss |= ~b[i] & (1u << (((uint32_t)h * bloom_salt[i]) >> 27));
	return miss == 0;
}

/* A million-DID table is tens of MB of random access: huge pages spare
 * a TLB miss on nearly every probe and most of the page faults of
 * filling it (a hint; ignored where unsupported). */
static void huge_pages(void *p, size_t bytes)
{
	if (bytes < (4u << 20))
		return;
	uintptr_t a = ((uintptr_t)p + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
	uintptr_t e = ((uintptr_t)p + bytes) & ~(uintptr_t)((2u << 20) - 1);
	if (e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE);
}

/* Room for CAP slots (a power of two, more than there are). */
static void resize(struct atfh_didset *s, size_t cap)
{
	uint64_t *hash = atfh_xcalloc(cap, sizeof *hash);
	huge_pages(hash, cap * sizeof *hash);
	uint32_t *off = atfh_xmalloc(cap * sizeof *off);
	huge_pages(off, cap * sizeof *off);
	/* at most cap/2 DIDs: 16 to 32 filter bits each */
	size_t blocks = cap / 32;
	free(s->bloom);
	s->bloom = atfh_xcalloc(blocks, sizeof *s->bloom);
	s->bloom_mask = blocks - 1;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->hash[i])
			continue;
		size_t j = (size_t)s->hash[i] & (cap - 1);
		while (hash[j])
			j = (j + 1) & (cap - 1);
		hash[j] = s->hash[i];
		off[j] = s->off[i];
		bloom_add(s, s->hash[i]);
	}
	free(s->hash);
	free(s->off);
	s->hash = hash;
	s->off = off;
	s->cap = cap;
}

static void grow(struct atfh_didset *s)
{
	resize(s, s->cap ? s->cap * 2 : 1024);
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
	if (!bloom_maybe(s, h))
		return false;
	size_t mask = s->cap - 1;
	for (size_t i = (size_t)h & mask; s->hash[i]; i = (i + 1) & mask)
		if (s->hash[i] == h && slot_is(s, i, did, n))
			return true;
	return false;
}

void atfh_didset_prefetch(const struct atfh_didset *s, const char *did, size_t n)
{
	if (s->n)
		__builtin_prefetch(s->bloom[(did_hash(did, n) >> 32) & s->bloom_mask]);
}

/* Add a valid DID whose hash is H; the table has room. */
static void insert(struct atfh_didset *s, const char *did, size_t n, uint64_t h)
{
	/* one probe sequence finds either the DID or the slot it goes in */
	size_t mask = s->cap - 1, i = (size_t)h & mask;
	for (; s->hash[i]; i = (i + 1) & mask)
		if (s->hash[i] == h && slot_is(s, i, did, n))
			return;
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
	bloom_add(s, h);
}

bool atfh_didset_add(struct atfh_didset *s, const char *did, size_t n)
{
	if (!atfh_did_valid(did, n))
		return false;
	if ((s->n + 1) * 2 > s->cap)
		grow(s);
	insert(s, did, n, did_hash(did, n));
	return true;
}

/* Loading inserts in batches: hash a batch, prefetch its slots, then
 * insert, so the cache misses of a million random slots overlap instead
 * of coming one at a time. */
enum { BATCH = 16 };

struct batch {
	struct { const char *p; size_t n; uint64_t h; } v[BATCH];
	size_t n;
};

static void batch_flush(struct atfh_didset *s, struct batch *b)
{
	if ((s->n + b->n) * 2 > s->cap)
		grow(s);
	for (size_t i = 0; i < b->n; i++)
		insert(s, b->v[i].p, b->v[i].n, b->v[i].h);
	b->n = 0;
}

static void batch_add(struct atfh_didset *s, struct batch *b, const char *did, size_t n)
{
	uint64_t h = did_hash(did, n);
	if (s->cap) {
		__builtin_prefetch(&s->hash[h & (s->cap - 1)], 1);
		__builtin_prefetch(&s->off[h & (s->cap - 1)], 1);
		__builtin_prefetch(&s->bloom[(h >> 32) & s->bloom_mask], 1);
	}
	b->v[b->n].p = did;
	b->v[b->n].n = n;
	b->v[b->n].h = h;
	if (++b->n == BATCH)
		batch_flush(s, b);
}

/* A DID file is read in chunks, so a million DIDs never sit in memory
 * twice: each valid DID goes to put, pointing into the chunk, and
 * end_chunk runs before the chunk is reused. */
struct did_reader {
	void (*put)(void *arg, const char *did, size_t n);
	void (*end_chunk)(void *arg);
	void *arg;
	const char *path;
	void (*warn)(void *ctx, const char *path, size_t line, const char *why);
	void *ctx;
};

static void take_line(const struct did_reader *rd, size_t line, char *a, char *e)
{
	while (a < e && (*a == ' ' || *a == '\t'))
		a++;
	char *hash = e > a ? memchr(a, '#', (size_t)(e - a)) : NULL;
	if (hash)
		e = hash;
	while (e > a && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	if (e == a)
		return;
	if (atfh_did_valid(a, (size_t)(e - a))) {
		rd->put(rd->arg, a, (size_t)(e - a));
	} else if (rd->warn) {
		char why[120];
		int shown = e - a > 80 ? 80 : (int)(e - a);
		snprintf(why, sizeof why, "not a DID: %.*s", shown, a);
		rd->warn(rd->ctx, rd->path, line, why);
	}
}

/* 0, or -1 with errno set; FD stays open.  The buffer starts at 64 KiB
 * and grows for a long line (a comment, say) up to ATFH_DIDFILE_LINE_MAX;
 * a longer line is reported by its number and skipped whole, never cut
 * into pieces that would be read as lines of their own. */
static int read_dids(int fd, const struct did_reader *rd)
{
	size_t cap = 1 << 16, have = 0, line = 0;
	char *buf = atfh_xmalloc(cap);
	bool skipping = false; /* inside an over-long line, up to its newline */
	for (;;) {
		if (have == cap) { /* one unfinished line fills the buffer */
			if (cap < ATFH_DIDFILE_LINE_MAX) {
				cap = cap * 2 < ATFH_DIDFILE_LINE_MAX ? cap * 2 : ATFH_DIDFILE_LINE_MAX;
				buf = atfh_xrealloc(buf, cap);
			} else {
				if (rd->warn) {
					char why[80];
					snprintf(why, sizeof why, "longer than %u MiB",
						 ATFH_DIDFILE_LINE_MAX >> 20);
					rd->warn(rd->ctx, rd->path, line + 1, why);
				}
				line++;
				skipping = true;
				have = 0;
			}
		}
		ssize_t r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		have += (size_t)r;
		char *p = buf, *end = buf + have, *nl;
		if (skipping) {
			nl = memchr(p, '\n', have);
			if (!nl) {
				have = 0;
				if (r == 0)
					break;
				continue;
			}
			p = nl + 1;
			skipping = false;
		}
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			take_line(rd, ++line, p, nl);
			p = nl + 1;
		}
		if (r == 0) {
			if (p < end) /* the last line, without a newline */
				take_line(rd, ++line, p, end);
			rd->end_chunk(rd->arg);
			break;
		}
		rd->end_chunk(rd->arg); /* before the lines' bytes move */
		have = (size_t)(end - p);
		memmove(buf, p, have);
	}
	free(buf);
	return 0;
}

struct set_loader {
	struct atfh_didset *s;
	struct batch b;
};

static void set_put(void *arg, const char *did, size_t n)
{
	struct set_loader *l = arg;
	batch_add(l->s, &l->b, did, n);
}

static void set_end_chunk(void *arg)
{
	struct set_loader *l = arg; /* its DIDs point into the chunk */
	batch_flush(l->s, &l->b);
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
	/* size table and arena once from the file size (about 33 bytes a DID) */
	if (st.st_size > 0) {
		size_t guess = (size_t)st.st_size / 33 + 16, cap = 1024;
		while (cap < guess * 2)
			cap *= 2;
		if (cap > s->cap)
			resize(s, cap); /* at once, not through every smaller size */
		atfh_grow_array((void **)&s->arena, &s->arena_cap,
				s->arena_len + (size_t)st.st_size + guess, 1);
		huge_pages(s->arena, s->arena_cap);
	}
	struct set_loader l = { .s = s, .b = { .n = 0 } };
	struct did_reader rd = { set_put, set_end_chunk, &l, path, warn, ctx };
	int rc = read_dids(fd, &rd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

static void list_put(void *arg, const char *did, size_t n)
{
	atfh_strv_push(arg, did, n);
}

static void list_end_chunk(void *arg)
{
	(void)arg; /* the list holds copies */
}

int atfh_didlist_load(struct atfh_strv *l, const char *path,
		      void (*warn)(void *ctx, const char *path, size_t line, const char *why),
		      void *ctx)
{
	bool std = strcmp(path, "-") == 0;
	int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct did_reader rd = { list_put, list_end_chunk, l, path, warn, ctx };
	int rc = read_dids(fd, &rd);
	int e = errno;
	if (!std)
		close(fd);
	errno = e;
	return rc;
}
