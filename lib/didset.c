/*
 * didset.c — see didset.h.
 */
#include "didset.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <pthread.h>
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
	free(s->slot);
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
	return XXH3_64bits(did, n);
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

/* A slot's key.  Nearly every DID is did:plc: with 24 base32 characters:
 * those are kept whole in the slot, 5 bits a character, so a million of
 * them need no arena (whose pages, like every fresh page, the kernel must
 * clear: that was half of loading).  Any other DID is its hash beside the
 * offset of its text in the arena. */
enum { KEY_EMPTY = 0, KEY_PLC = 1, KEY_TEXT = 2 };
#define KIND_SHIFT 60
#define LOW60 ((UINT64_C(1) << KIND_SHIFT) - 1)
#define PLC_PREFIX "did:plc:"
#define PLC_LEN 32 /* did:plc: and 24 characters */

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* A base32 character's 5-bit value plus one; 0 for any other byte. */
static const uint8_t b32_val[256] = {
	['a'] = 1, ['b'] = 2, ['c'] = 3, ['d'] = 4, ['e'] = 5, ['f'] = 6, ['g'] = 7, ['h'] = 8,
	['i'] = 9, ['j'] = 10, ['k'] = 11, ['l'] = 12, ['m'] = 13, ['n'] = 14, ['o'] = 15, ['p'] = 16,
	['q'] = 17, ['r'] = 18, ['s'] = 19, ['t'] = 20, ['u'] = 21, ['v'] = 22, ['w'] = 23, ['x'] = 24,
	['y'] = 25, ['z'] = 26, ['2'] = 27, ['3'] = 28, ['4'] = 29, ['5'] = 30, ['6'] = 31, ['7'] = 32,
};

/* Twelve base32 characters into 60 bits; false if one is not base32. */
static bool pack12(const char *p, uint64_t *v)
{
	uint64_t x = 0;
	unsigned ok = 1;
	for (int i = 0; i < 12; i++) {
		unsigned d = b32_val[(unsigned char)p[i]];
		ok &= d != 0;
		x = x << 5 | ((d - 1) & 31);
	}
	*v = x;
	return ok;
}

bool atfh_did_plc_pack(const char *did, size_t n, uint64_t *hi, uint64_t *lo)
{
	/* & not &&: the two halves are independent chains, run together */
	return n == PLC_LEN && memcmp(did, PLC_PREFIX, 8) == 0 &&
	       (pack12(did + 8, hi) & pack12(did + 20, lo));
}

static struct atfh_didslot key_of(const char *did, size_t n, uint64_t h)
{
	uint64_t a, b;
	if (atfh_did_plc_pack(did, n, &a, &b))
		return (struct atfh_didslot){ (uint64_t)KEY_PLC << KIND_SHIFT | a, b };
	return (struct atfh_didslot){ (uint64_t)KEY_TEXT << KIND_SHIFT | (h & LOW60), 0 };
}

/* The DID of a did:plc: slot, written to OUT (PLC_LEN bytes). */
static void unpack_plc(const struct atfh_didslot *k, char *out)
{
	memcpy(out, PLC_PREFIX, 8);
	for (int i = 0; i < 12; i++) {
		out[8 + 11 - i] = b32[(k->a >> (5 * i)) & 31];
		out[20 + 11 - i] = b32[(k->b >> (5 * i)) & 31];
	}
}

static const char *text_of(const struct atfh_didset *s, const struct atfh_didslot *k, size_t *n)
{
	const char *e = s->arena + k->b;
	*n = (size_t)(uint8_t)e[0] | (size_t)(uint8_t)e[1] << 8;
	return e + 2;
}

/* The slot a hash starts probing at: the high bits scaled to the table
 * (whose size need not be a power of two, so that it can be 1.6 slots a
 * DID rather than 2 to 4). */
static size_t home(const struct atfh_didset *s, uint64_t h)
{
	return (size_t)(((unsigned __int128)h * s->cap) >> 64);
}

static size_t next_slot(const struct atfh_didset *s, size_t i)
{
	return i + 1 == s->cap ? 0 : i + 1;
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

static bool slot_is(const struct atfh_didset *s, const struct atfh_didslot *k,
		    const struct atfh_didslot *want, const char *did, size_t n)
{
	if (k->a != want->a || (k->a >> KIND_SHIFT == KEY_PLC && k->b != want->b))
		return false;
	if (k->a >> KIND_SHIFT == KEY_PLC)
		return true;
	size_t len;
	const char *t = text_of(s, k, &len);
	return len == n && memcmp(t, did, n) == 0;
}

/* The hash of a slot's DID (for a table being rebuilt). */
static uint64_t slot_hash(const struct atfh_didset *s, const struct atfh_didslot *k)
{
	size_t n;
	const char *t;
	char plc[PLC_LEN];
	if (k->a >> KIND_SHIFT == KEY_PLC) {
		unpack_plc(k, plc);
		t = plc;
		n = PLC_LEN;
	} else {
		t = text_of(s, k, &n);
	}
	return did_hash(t, n);
}

/* Room for at least WANT DIDs: 1.6 slots each, 16 to 32 filter bits. */
static void resize(struct atfh_didset *s, size_t want)
{
	struct atfh_didset old = *s;
	size_t cap = want + want / 2 + want / 8 + 16, blocks = 64;
	while (blocks * 16 < want)
		blocks *= 2;
	s->slot = atfh_xcalloc(cap, sizeof *s->slot);
	huge_pages(s->slot, cap * sizeof *s->slot);
	s->cap = cap;
	s->bloom = atfh_xcalloc(blocks, sizeof *s->bloom);
	s->bloom_mask = blocks - 1;
	s->room = want;
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.slot[i].a)
			continue;
		uint64_t h = slot_hash(&old, &old.slot[i]);
		size_t j = home(s, h);
		while (s->slot[j].a)
			j = next_slot(s, j);
		s->slot[j] = old.slot[i];
		bloom_add(s, h);
	}
	free(old.slot);
	free(old.bloom);
}

bool atfh_didset_has(const struct atfh_didset *s, const char *did, size_t n)
{
	if (!s->n)
		return false;
	uint64_t h = did_hash(did, n);
	if (!bloom_maybe(s, h))
		return false;
	struct atfh_didslot want = key_of(did, n, h);
	for (size_t i = home(s, h); s->slot[i].a; i = next_slot(s, i))
		if (slot_is(s, &s->slot[i], &want, did, n))
			return true;
	return false;
}

void atfh_didset_prefetch(const struct atfh_didset *s, const char *did, size_t n)
{
	if (s->n)
		__builtin_prefetch(s->bloom[(did_hash(did, n) >> 32) & s->bloom_mask]);
}

/* Add a valid DID whose hash is H and key WANT; the table has room. */
static void insert(struct atfh_didset *s, const char *did, size_t n, uint64_t h,
		   struct atfh_didslot want)
{
	/* one probe sequence finds either the DID or the slot it goes in */
	size_t i = home(s, h);
	for (; s->slot[i].a; i = next_slot(s, i))
		if (slot_is(s, &s->slot[i], &want, did, n))
			return;
	if (want.a >> KIND_SHIFT == KEY_TEXT) {
		if (s->arena_len + n + 2 > UINT32_MAX)
			atfh_die_oom(); /* 4 GB of DIDs: far beyond any real list */
		atfh_grow_array((void **)&s->arena, &s->arena_cap, s->arena_len + n + 2, 1);
		want.b = s->arena_len;
		s->arena[s->arena_len++] = (char)(n & 0xff);
		s->arena[s->arena_len++] = (char)(n >> 8);
		memcpy(s->arena + s->arena_len, did, n);
		s->arena_len += n;
	}
	s->slot[i] = want;
	s->n++;
	bloom_add(s, h);
}

static void make_room(struct atfh_didset *s, size_t more)
{
	if (s->n + more > s->room)
		resize(s, s->room * 2 > s->n + more ? s->room * 2 : s->n + more);
}

bool atfh_didset_add(struct atfh_didset *s, const char *did, size_t n)
{
	if (!atfh_did_valid(did, n))
		return false;
	make_room(s, 1);
	uint64_t h = did_hash(did, n);
	insert(s, did, n, h, key_of(did, n, h));
	return true;
}

/* A DID file is read in chunks, so a million DIDs never sit in memory
 * twice: each valid DID goes to put, pointing into the chunk, which put
 * copies what it keeps of (the chunk is reused). */
struct did_reader {
	void (*put)(void *arg, const char *did, size_t n);
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
			break;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
	}
	free(buf);
	return 0;
}

/* Loading a big file takes two threads: one reads it and parses its lines
 * (checks, hashes and packs each DID), the other inserts them, each about
 * half the work; they hand each other batches of parsed DIDs, few enough
 * to stay in the cache.  A small file is loaded by the caller alone. */
enum { LOAD_BATCH = 4096, LOAD_RING = 4, LOAD_THREADED = 1 << 20 };

struct parsed {
	uint64_t h;
	struct atfh_didslot k;
	size_t text, n; /* a DID kept as text: its bytes in the batch's text */
};

struct load_batch {
	struct parsed v[LOAD_BATCH];
	size_t n;
	char *text;
	size_t tlen, tcap;
};

struct set_loader {
	struct atfh_didset *s;
	struct load_batch *ring; /* LOAD_RING batches; one when alone */
	size_t nring;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t filled, taken; /* batches */
	bool done;
	int fd, rc, err;
	struct did_reader rd;
};

/* Insert batch B (in the inserting thread), prefetching a few DIDs ahead
 * so that the cache misses of a million random slots overlap. */
static void insert_batch(struct atfh_didset *s, const struct load_batch *b)
{
	enum { AHEAD = 8 };
	make_room(s, b->n);
	for (size_t i = 0; i < b->n; i++) {
		if (i + AHEAD < b->n) {
			uint64_t h = b->v[i + AHEAD].h;
			__builtin_prefetch(&s->slot[home(s, h)], 1);
			__builtin_prefetch(&s->bloom[(h >> 32) & s->bloom_mask], 1);
		}
		const struct parsed *d = &b->v[i];
		/* a did:plc: key is the whole DID: no text */
		const char *t = d->k.a >> KIND_SHIFT == KEY_TEXT ? b->text + d->text : NULL;
		insert(s, t, d->n, d->h, d->k);
	}
}

static void hand_on(struct set_loader *l, bool done)
{
	if (l->nring == 1) {
		insert_batch(l->s, &l->ring[0]);
		l->ring[0].n = l->ring[0].tlen = 0;
		return;
	}
	pthread_mutex_lock(&l->mu);
	l->filled++;
	l->done = done;
	pthread_cond_broadcast(&l->cv); /* no system call when none waits */
	/* the next batch to fill must have been inserted */
	while (!done && l->filled - l->taken >= l->nring) {
		pthread_cond_wait(&l->cv, &l->mu);
	}
	pthread_mutex_unlock(&l->mu);
}

static void set_put(void *arg, const char *did, size_t n)
{
	struct set_loader *l = arg;
	struct load_batch *b = &l->ring[l->filled % l->nring];
	struct parsed *d = &b->v[b->n++];
	d->h = did_hash(did, n);
	/* tested in a register, not read back from D (a load right after
	 * the store to the same place stalled the loading thread) */
	struct atfh_didslot k = key_of(did, n, d->h);
	d->k = k;
	d->n = n;
	d->text = b->tlen;
	if (k.a >> KIND_SHIFT == KEY_TEXT) { /* rare: kept until inserted */
		atfh_grow_array((void **)&b->text, &b->tcap, b->tlen + n, 1);
		memcpy(b->text + b->tlen, did, n);
		b->tlen += n;
	}
	if (b->n == LOAD_BATCH)
		hand_on(l, false);
}

static void *parse_main(void *arg)
{
	struct set_loader *l = arg;
	l->rc = read_dids(l->fd, &l->rd);
	l->err = errno;
	hand_on(l, true);
	return NULL;
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
	/* size the table once from the file size (about 33 bytes a DID),
	 * not through every smaller size */
	if (st.st_size > 0 && (uint64_t)st.st_size / 33 + 16 > s->room - s->n)
		resize(s, s->n + (size_t)st.st_size / 33 + 16);
	struct set_loader l = { .s = s, .fd = fd };
	l.rd = (struct did_reader){ set_put, &l, path, warn, ctx };
	pthread_t tid;
	bool threaded = S_ISREG(st.st_mode) && st.st_size >= LOAD_THREADED;
	l.nring = threaded ? LOAD_RING : 1;
	l.ring = atfh_xcalloc(l.nring, sizeof *l.ring);
	if (threaded) {
		pthread_mutex_init(&l.mu, NULL);
		pthread_cond_init(&l.cv, NULL);
		threaded = atfh_thread_start(&tid, parse_main, &l) == 0;
		if (!threaded)
			l.nring = 1;
	}
	if (!threaded) {
		parse_main(&l);
	} else {
		pthread_mutex_lock(&l.mu);
		for (;;) {
			while (l.taken == l.filled && !l.done) {
				pthread_cond_wait(&l.cv, &l.mu);
			}
			if (l.taken == l.filled)
				break;
			pthread_mutex_unlock(&l.mu);
			struct load_batch *b = &l.ring[l.taken % l.nring];
			insert_batch(s, b);
			b->n = b->tlen = 0;
			pthread_mutex_lock(&l.mu);
			l.taken++;
			pthread_cond_broadcast(&l.cv);
		}
		pthread_mutex_unlock(&l.mu);
		pthread_join(tid, NULL);
		pthread_mutex_destroy(&l.mu);
		pthread_cond_destroy(&l.cv);
	}
	for (size_t i = 0; i < l.nring; i++)
		free(l.ring[i].text);
	free(l.ring);
	close(fd);
	errno = l.err;
	return l.rc;
}

static void list_put(void *arg, const char *did, size_t n)
{
	atfh_strv_push(arg, did, n);
}

int atfh_didlist_load(struct atfh_strv *l, const char *path,
		      void (*warn)(void *ctx, const char *path, size_t line, const char *why),
		      void *ctx)
{
	bool std = strcmp(path, "-") == 0;
	int fd = std ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct did_reader rd = { list_put, l, path, warn, ctx };
	int rc = read_dids(fd, &rd);
	int e = errno;
	if (!std)
		close(fd);
	errno = e;
	return rc;
}
