/*
 * splitter.c — see splitter.h.
 */
#include "splitter.h"
#include "cli.h"
#include "event.h"
#include "jsonscan.h"
#include "util.h"
#include "zpool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define FILE_BUF (64u << 10)
#define MAX_PARTS 100000
#define BATCH 64        /* finished files completed in one round */
#define MAX_MT 2        /* .zst files compressed by a worker thread at once */
#define ZIN (128u << 10) /* input staged for the compressor (a zstd block) */
/* A .zst file is a run of zstd frames, each about this many bytes of
 * records and ending where a record ends: a reader decompresses them on
 * several threads (lib/zparts), any zstd reads them as one stream, and
 * the splitter's threads compress them at once (lib/zpool). */
#define ZFRAME (1u << 20)

struct atfh_sfile {
	char *key;      /* the rendered name */
	char *path;     /* this part's final name */
	char *part;     /* path + ".part" */
	bool frames;
	struct atfh_out out;
	ZSTD_CCtx *zc;
	uint64_t bytes, events;
	uint64_t opened_ms, used;
	size_t idx;     /* in s->open */
	bool synced;    /* nothing written since the last fsync */
	bool mt;        /* counted in s->nmt */
	bool pooled;    /* its frames compressed by s->zpool */
	struct atfh_zstream zs;
	bool linked;    /* NAME is a second link: the .part name still goes */
	uint8_t *zin;   /* input staged for the compressor */
	size_t zinlen, zincap;
	uint64_t zframe; /* bytes of records in the frame being written */
	struct atfh_sfile *next;
};

void atfh_splitter_init(struct atfh_splitter *s)
{
	memset(s, 0, sizeof *s);
	s->level = 3;
	s->max_open = 512;
	s->max_record = ATFH_MAX_FRAME_DEFAULT;
	s->done = stdout;
}

static uint64_t hash(const char *k)
{
	uint64_t h = 1469598103934665603ull;
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ull;
	return h;
}

static bool is_zst(const char *path)
{
	size_t n = strlen(path);
	return n > 4 && !strcmp(path + n - 4, ".zst");
}

/* ---- directories ------------------------------------------------------- */

static void fsync_dir_of(const char *path)
{
	char *d = atfh_xstrdup(path);
	char *slash = strrchr(d, '/');
	const char *dir = ".";
	if (slash == d)
		dir = "/";
	else if (slash) {
		*slash = '\0';
		dir = d;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(d);
}

/* mkdir -p of PATH's directory; each new directory's parent is fsynced. */
static int make_dirs(const char *path)
{
	char *d = atfh_xstrdup(path);
	int rc = 0;
	for (char *p = d + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(d, 0777) == 0)
			fsync_dir_of(d);
		else if (errno != EEXIST) {
			rc = -1;
			break;
		}
		*p = '/';
	}
	free(d);
	return rc;
}

/* ---- part names -------------------------------------------------------- */

/* KEY with part number K before the extension: the extension starts at the
 * first '.' of the last component that is not its first byte. */
static char *part_name(const char *key, unsigned k)
{
	if (k == 0)
		return atfh_xstrdup(key);
	const char *base = strrchr(key, '/');
	base = base ? base + 1 : key;
	const char *dot = strchr(base + 1 > key + strlen(key) ? base : base + 1, '.');
	size_t stem = dot ? (size_t)(dot - key) : strlen(key);
	size_t n = strlen(key) + 24;
	char *r = atfh_xmalloc(n);
	snprintf(r, n, "%.*s.%u%s", (int)stem, key, k, dot ? dot : "");
	return r;
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* ---- errors ------------------------------------------------------------ */

static int fail(struct atfh_splitter *s, const char *what, const char *path, int err)
{
	if (!s->failed)
		atfh_err("%s: %s: %s", path, what, strerror(err));
	s->failed = true;
	return -1;
}

/* ---- one file ---------------------------------------------------------- */

/* P (N bytes) through the compressor with MODE; the output buffered, and
 * written once the buffer is full.  0, or -1 on an error. */
static int zcompress(struct atfh_sfile *f, const void *p, size_t n, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { p, n, 0 };
	for (;;) {
		atfh_out_reserve(&f->out, ZSTD_CStreamOutSize());
		ZSTD_outBuffer ob = { f->out.buf + f->out.len, f->out.cap - f->out.len, 0 };
		size_t r = ZSTD_compressStream2(f->zc, &ob, &in, mode);
		if (ZSTD_isError(r))
			return -1;
		f->out.len += ob.pos;
		if (f->out.len >= f->out.flush_at && atfh_out_flush(&f->out))
			return -1;
		if (mode == ZSTD_e_continue ? in.pos == in.size : r == 0)
			return 0;
	}
}

/* A frame from the pool, written to F. */
static int write_frame(void *arg, const void *p, size_t n)
{
	struct atfh_sfile *f = arg;
	atfh_out_put(&f->out, p, n);
	if (f->out.len >= f->out.flush_at && atfh_out_flush(&f->out))
		return -1;
	return f->out.error ? -1 : 0;
}

/* The staged records handed to the pool as a frame of their own. */
static int zpool_frame(struct atfh_splitter *s, struct atfh_sfile *f)
{
	f->zframe = 0;
	if (!f->zinlen)
		return 0;
	return atfh_zstream_put(s->zpool, &f->zs, &f->zin, &f->zinlen, &f->zincap,
				write_frame, f);
}

/* The staged input compressed, then MODE (flush, end) carried out. */
static int zflush(struct atfh_splitter *s, struct atfh_sfile *f, ZSTD_EndDirective mode)
{
	if (f->pooled) /* every frame ends: written whole, in order */
		return zpool_frame(s, f) || atfh_zstream_flush(s->zpool, &f->zs, write_frame, f);
	size_t n = f->zinlen;
	f->zinlen = 0;
	return zcompress(f, f->zin, n, mode);
}

/* Records reach the compressor in big pieces: one call per record costs
 * more than the copy (much more with a worker thread). */
static void put(struct atfh_sfile *f, const void *p, size_t n)
{
	if (!f->zc) {
		atfh_out_put(&f->out, p, n);
		return;
	}
	if (f->pooled) { /* a frame's records held whole */
		atfh_grow_array((void **)&f->zin, &f->zincap, f->zinlen + n, 1);
		memcpy(f->zin + f->zinlen, p, n);
		f->zinlen += n;
		return;
	}
	if (f->zinlen + n > f->zincap) {
		if (zflush(NULL, f, ZSTD_e_continue))
			return; /* f->out.error says why */
		if (n >= f->zincap) {
			zcompress(f, p, n, ZSTD_e_continue);
			return;
		}
	}
	memcpy(f->zin + f->zinlen, p, n);
	f->zinlen += n;
}

static void unlink_file(struct atfh_splitter *s, struct atfh_sfile *f)
{
	struct atfh_sfile **pp = &s->bucket[hash(f->key) & (s->nbucket - 1)];
	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
	s->open[f->idx] = s->open[--s->nopen];
	s->open[f->idx]->idx = f->idx;
	if (s->last == f)
		s->last = NULL;
	if (f->mt)
		s->nmt--;
	f->mt = false;
}

static void free_file(struct atfh_splitter *s, struct atfh_sfile *f)
{
	if (f->pooled)
		atfh_zstream_free(s->zpool, &f->zs);
	if (f->out.fd >= 0)
		close(f->out.fd);
	atfh_out_free(&f->out);
	ZSTD_freeCCtx(f->zc);
	free(f->zin);
	free(f->key);
	free(f->path);
	free(f->part);
	free(f);
}

/* Give FROM a name of KEY's parts that does not exist yet, starting at
 * *PATH (replaced when taken): a hard link, so FROM's name stays until the
 * caller removes it (*LINKED); where the file system has no hard links, a
 * rename that refuses to replace.  0, or -1 with errno. */
static int name_noreplace(const char *from, char **path, const char *key, bool *linked)
{
	unsigned k = 0;
	for (;;) {
		*linked = false;
		if (link(from, *path) == 0) {
			*linked = true;
			return 0;
		}
		if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP || errno == EMLINK ||
		    errno == ENOSYS) {
			if (renameat2(AT_FDCWD, from, AT_FDCWD, *path, RENAME_NOREPLACE) == 0)
				return 0;
		}
		if (errno != EEXIST || ++k > MAX_PARTS)
			return -1;
		free(*path);
		*path = part_name(key, k);
	}
}

/* F leaves the open files: its zstd frame ended, its data written and its
 * writeback started; it waits in s->closing for the next round. */
static int finish(struct atfh_splitter *s, struct atfh_sfile *f)
{
	unlink_file(s, f);
	int rc = 0;
	if (f->zc || f->out.len)
		f->synced = false; /* the frame's end, or what is buffered */
	if (f->zc && zflush(s, f, ZSTD_e_end))
		rc = fail(s, "write error", f->part, f->out.error ? f->out.error : EIO);
	else if (atfh_out_flush(&f->out))
		rc = fail(s, "write error", f->part, f->out.error ? f->out.error : EIO);
	if (rc) {
		free_file(s, f); /* it stays a .part for --recover */
		return -1;
	}
	ZSTD_freeCCtx(f->zc);
	f->zc = NULL;
	free(f->zin);
	f->zin = NULL;
	if (f->pooled)
		atfh_zstream_free(s->zpool, &f->zs);
	f->pooled = false;
	atfh_out_free(&f->out);
#ifdef SYNC_FILE_RANGE_WRITE
	if (!f->synced)
		sync_file_range(f->out.fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
	if (!s->closing)
		s->closing = atfh_xcalloc(BATCH, sizeof *s->closing);
	if (!s->nclosing)
		s->closing_ms = s->now_ms;
	s->closing[s->nclosing++] = f;
	if (s->nclosing == BATCH)
		return atfh_splitter_settle(s);
	return 0;
}

static int sync_closing(struct atfh_splitter *s)
{
	for (size_t i = 0; i < s->nclosing; i++) {
		struct atfh_sfile *f = s->closing[i];
		if (!f->synced && fsync(f->out.fd) < 0)
			return fail(s, "fsync", f->part, errno);
		f->synced = true;
	}
	return 0;
}

static void free_closing(struct atfh_splitter *s)
{
	for (size_t i = 0; i < s->nclosing; i++)
		free_file(s, s->closing[i]);
	s->nclosing = 0;
}

static bool same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	size_t na = sa ? (size_t)(sa - a) : 0, nb = sb ? (size_t)(sb - b) : 0;
	return na == nb && !memcmp(a, b, na);
}

/* The finished files, fsynced, get their names; each directory is fsynced
 * once; then the names are printed and the .part names removed. */
static int complete_closing(struct atfh_splitter *s)
{
	if (s->failed) {
		free_closing(s);
		return -1;
	}
	if (sync_closing(s)) {
		free_closing(s);
		return -1;
	}
	size_t named = 0;
	int rc = 0;
	for (; named < s->nclosing; named++) {
		struct atfh_sfile *f = s->closing[named];
		int fd = f->out.fd;
		f->out.fd = -1;
		if (close(fd) < 0) {
			rc = fail(s, "close", f->part, errno);
			break;
		}
		if (name_noreplace(f->part, &f->path, f->key, &f->linked)) {
			rc = fail(s, "rename", f->part, errno);
			break;
		}
	}
	for (size_t i = 0; i < named; i++) {
		size_t j = 0;
		while (j < i && !same_dir(s->closing[j]->path, s->closing[i]->path))
			j++;
		if (j == i)
			fsync_dir_of(s->closing[i]->path);
	}
	for (size_t i = 0; i < named; i++)
		fprintf(s->done, "%s\n", s->closing[i]->path);
	fflush(s->done);
	/* printed: the .part names go (a crash before this prints again) */
	for (size_t i = 0; i < named; i++)
		if (s->closing[i]->linked)
			unlink(s->closing[i]->part);
	s->completed += named;
	free_closing(s);
	return rc;
}

int atfh_splitter_settle(struct atfh_splitter *s)
{
	if (s->failed) {
		free_closing(s);
		return -1;
	}
	if (!s->nclosing)
		return 0;
	if (s->durable)
		return atfh_splitter_checkpoint(s);
	return complete_closing(s);
}

static struct atfh_sfile *lookup(struct atfh_splitter *s, const char *name)
{
	if (s->last && !strcmp(s->last->key, name))
		return s->last;
	if (!s->nbucket)
		return NULL;
	for (struct atfh_sfile *f = s->bucket[hash(name) & (s->nbucket - 1)]; f; f = f->next)
		if (!strcmp(f->key, name))
			return f;
	return NULL;
}

static struct atfh_sfile *open_file(struct atfh_splitter *s, const char *name, bool frames,
				    uint64_t now_ms)
{
	if (!s->nbucket) {
		s->nbucket = 64;
		while (s->nbucket < 2 * s->max_open && s->nbucket < (1u << 20))
			s->nbucket *= 2;
		s->bucket = atfh_xcalloc(s->nbucket, sizeof *s->bucket);
		s->open = atfh_xcalloc(s->max_open, sizeof *s->open);
	}
	if (s->nopen >= s->max_open) {
		/* make room: the least recently used file is completed */
		struct atfh_sfile *lru = s->open[0];
		for (size_t i = 1; i < s->nopen; i++)
			if (s->open[i]->used < lru->used)
				lru = s->open[i];
		if (finish(s, lru))
			return NULL;
	}
	struct atfh_sfile *f = atfh_xcalloc(1, sizeof *f);
	f->key = atfh_xstrdup(name);
	f->frames = frames;
	f->out.fd = -1;
	int fd = -1;
	for (unsigned k = 0; k <= MAX_PARTS; k++) {
		free(f->path);
		free(f->part);
		f->path = part_name(name, k);
		size_t n = strlen(f->path) + 6;
		f->part = atfh_xmalloc(n);
		snprintf(f->part, n, "%s.part", f->path);
		if (exists(f->path))
			continue;
		fd = open(f->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0 && errno == ENOENT && make_dirs(f->part) == 0)
			fd = open(f->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		fail(s, "cannot create", f->part, errno);
		free_file(s, f);
		return NULL;
	}
	atfh_out_init(&f->out, fd, f->part);
	f->out.buf = atfh_xrealloc(f->out.buf, FILE_BUF + (16u << 10));
	f->out.cap = FILE_BUF + (16u << 10);
	f->out.flush_at = FILE_BUF;
	if (is_zst(name)) {
		f->zc = ZSTD_createCCtx();
		if (!f->zc)
			atfh_die_oom();
		ZSTD_CCtx_setParameter(f->zc, ZSTD_c_compressionLevel, s->level);
		ZSTD_CCtx_setParameter(f->zc, ZSTD_c_checksumFlag, 1);
		/* worker threads compress while this one reads and parses,
		 * for few files at once (their memory); the others compress
		 * here, streamed: their frames hold the same data but do not
		 * record its size, so the bytes differ */
		if (!s->zworkers) {
			long n = sysconf(_SC_NPROCESSORS_ONLN);
			s->zworkers = n >= 2 ? 2 : 1;
			if (n >= 2)
				s->zpool = atfh_zpool_new((unsigned)s->zworkers, s->level);
		}
		if (s->nmt < MAX_MT && s->zpool) {
			f->mt = f->pooled = true;
			s->nmt++;
		}
		f->zincap = f->pooled ? ZFRAME + (64u << 10) : ZIN;
		f->zin = atfh_xmalloc(f->zincap);
	}
	f->synced = true;
	f->opened_ms = now_ms;
	size_t b = hash(name) & (s->nbucket - 1);
	f->next = s->bucket[b];
	s->bucket[b] = f;
	f->idx = s->nopen;
	s->open[s->nopen++] = f;
	return f;
}

static bool full(const struct atfh_splitter *s, const struct atfh_sfile *f, uint64_t now_ms)
{
	return (s->max_events && f->events >= s->max_events) ||
	       (s->max_bytes && f->bytes >= s->max_bytes) ||
	       (s->max_age_ms && now_ms - f->opened_ms >= s->max_age_ms);
}

int atfh_splitter_write(struct atfh_splitter *s, const char *name, bool frames,
			const void *p, size_t n, uint64_t now_ms, bool same_group)
{
	if (s->failed)
		return -1;
	s->now_ms = now_ms;
	struct atfh_sfile *f = lookup(s, name);
	size_t rec = n + (frames ? 4 : 1);
	/* a file that is full, or holds the other format, is completed first;
	 * --max-bytes is a limit: a record that would cross it starts a new
	 * file (unless the file is empty) */
	if (f && (f->frames != frames ||
		  (!same_group && (full(s, f, now_ms) ||
				   (s->max_bytes && f->events && f->bytes + rec > s->max_bytes))))) {
		if (finish(s, f))
			return -1;
		f = NULL;
	}
	if (!f && !(f = open_file(s, name, frames, now_ms)))
		return -1;
	if (f->zc && f->zframe >= ZFRAME) {
		f->zframe = 0;
		if (f->pooled ? zpool_frame(s, f) : zflush(s, f, ZSTD_e_end))
			return fail(s, "write error", f->part, f->out.error ? f->out.error : EIO);
	}
	if (f->zc)
		f->zframe += rec;
	if (frames) {
		uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
		put(f, len, 4);
		put(f, p, n);
	} else {
		put(f, p, n);
		put(f, "\n", 1);
	}
	f->bytes += rec;
	f->events++;
	f->used = ++s->tick;
	f->synced = false;
	s->last = f;
	s->dirty = true;
	if (!f->zc)
		atfh_out_event_done(&f->out);
	if (f->out.error)
		return fail(s, "write error", f->part, f->out.error);
	return 0;
}

int atfh_splitter_rotate(struct atfh_splitter *s)
{
	struct atfh_sfile *f = s->last;
	if (s->failed)
		return -1;
	if (f && ((s->max_events && f->events >= s->max_events) ||
		  (s->max_bytes && f->bytes >= s->max_bytes)))
		return finish(s, f);
	return 0;
}

void atfh_splitter_hold(struct atfh_splitter *s, const char *name, const void *p, size_t n)
{
	size_t nl = strlen(name) + 1, need = sizeof n + nl + n;
	if (s->hcap - s->hlen < need) {
		s->hcap = (s->hlen + need) * 2;
		s->hbuf = atfh_xrealloc(s->hbuf, s->hcap);
	}
	memcpy(s->hbuf + s->hlen, &n, sizeof n);
	memcpy(s->hbuf + s->hlen + sizeof n, name, nl);
	if (n)
		memcpy(s->hbuf + s->hlen + sizeof n + nl, p, n);
	s->hlen += need;
	s->nheld++;
}

int atfh_splitter_release(struct atfh_splitter *s, uint64_t now_ms)
{
	int rc = 0;
	size_t off = 0;
	for (size_t i = 0; i < s->nheld && !rc; i++) {
		size_t n;
		memcpy(&n, s->hbuf + off, sizeof n);
		const char *name = s->hbuf + off + sizeof n;
		size_t nl = strlen(name) + 1;
		rc = atfh_splitter_write(s, name, false, name + nl, n, now_ms, i > 0);
		off += sizeof n + nl + n;
	}
	atfh_splitter_drop(s);
	return rc;
}

void atfh_splitter_drop(struct atfh_splitter *s)
{
	s->hlen = s->nheld = 0;
}

int64_t atfh_splitter_expire(struct atfh_splitter *s, uint64_t now_ms)
{
	if (!s->max_age_ms)
		return -1;
	int64_t next = -1;
	bool any = false;
	s->now_ms = now_ms;
	for (size_t i = 0; i < s->nopen;) {
		struct atfh_sfile *f = s->open[i];
		uint64_t age = now_ms - f->opened_ms;
		if (age >= s->max_age_ms) {
			if (finish(s, f))
				return -2;
			any = true;
			continue; /* open[i] is another file now */
		}
		int64_t left = (int64_t)(s->max_age_ms - age);
		if (next < 0 || left < next)
			next = left;
		i++;
	}
	if (any && atfh_splitter_settle(s))
		return -2;
	return next;
}

int atfh_splitter_checkpoint(struct atfh_splitter *s)
{
	if (s->failed) {
		free_closing(s);
		return -1;
	}
	for (size_t i = 0; i < s->nopen; i++) {
		struct atfh_sfile *f = s->open[i];
		if (f->synced)
			continue;
		if (f->zc && zflush(s, f, ZSTD_e_flush))
			return fail(s, "write error", f->part, f->out.error ? f->out.error : EIO);
		if (atfh_out_flush(&f->out))
			return fail(s, "write error", f->part, f->out.error ? f->out.error : EIO);
		if (fsync(f->out.fd) < 0)
			return fail(s, "fsync", f->part, errno);
		f->synced = true;
	}
	if (sync_closing(s)) {
		free_closing(s);
		return -1;
	}
	s->dirty = false;
	if (s->durable && s->durable(s, s->arg)) {
		s->failed = true;
		free_closing(s);
		return -1;
	}
	return complete_closing(s);
}

int atfh_splitter_complete_all(struct atfh_splitter *s)
{
	while (s->nopen)
		if (finish(s, s->open[s->nopen - 1]))
			return -1;
	if (atfh_splitter_settle(s))
		return -1;
	s->dirty = false;
	return 0;
}

void atfh_splitter_free(struct atfh_splitter *s)
{
	/* what is left was not completed (a failure): the .part files stay
	 * for --recover */
	while (s->nopen) {
		struct atfh_sfile *f = s->open[s->nopen - 1];
		unlink_file(s, f);
		free_file(s, f);
	}
	free_closing(s);
	atfh_zpool_free(s->zpool);
	s->zpool = NULL;
	s->zworkers = 0;
	free(s->closing);
	free(s->open);
	free(s->bucket);
	free(s->hbuf);
	s->closing = NULL;
	s->hbuf = NULL;
	s->hlen = s->hcap = s->nheld = 0;
	s->open = NULL;
	s->bucket = NULL;
	s->nbucket = 0;
}

/* ---- positions --------------------------------------------------------- */

bool atfh_record_pos(bool frames, const void *p, size_t n, int64_t *pos)
{
	if (frames) {
		struct atfh_msg m;
		atfh_msg_init(&m);
		m.lazy_ops = true;
		bool ok = atfh_msg_parse(&m, p, n) == 0 && m.has_seq;
		if (ok)
			*pos = m.seq;
		atfh_msg_free(&m);
		return ok;
	}
	struct atfh_jobj o;
	const char *err;
	if (atfh_jobj_parse(&o, p, n, &err))
		return false;
	static const char *const keys[] = { "seq", "cursor", "time_us" };
	for (size_t i = 0; i < 3; i++) {
		const struct atfh_jval *v = atfh_jobj_get(&o, keys[i]);
		if (v && atfh_jval_i64(v, pos))
			return true;
	}
	return false;
}

/* ---- recovery of .part files ------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Records read in pieces (a .part's data, possibly torn): where the last
 * complete one ends, and the last one at or before the cursor.  Only the
 * unfinished record is kept, and a record longer than MAX ends the scan
 * (nothing after it is kept), so memory stays below MAX + one piece. */
struct recscan {
	uint8_t *buf;
	size_t len, cap, seen; /* seen: bytes of buf searched for a newline */
	uint64_t off;          /* stream offset of buf[0] */
	uint64_t total;        /* bytes fed */
	int frames;            /* -1 until the first byte */
	bool stopped;
	size_t max;
	bool has_cursor;
	int64_t cursor;
	uint64_t complete_end, cursor_end;
};

static void scan_feed(struct recscan *r, const uint8_t *p, size_t n)
{
	r->total += n;
	if (r->stopped || !n)
		return;
	if (r->cap - r->len < n) {
		r->cap = r->len + n + (r->len + n) / 2;
		r->buf = atfh_xrealloc(r->buf, r->cap);
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	if (r->frames < 0)
		r->frames = r->buf[0] == 0;
	size_t at = 0;
	for (;;) {
		const uint8_t *q = r->buf + at, *rec = q;
		size_t left = r->len - at, rn, next;
		if (r->frames) {
			if (left < 4)
				break;
			rn = (size_t)q[0] << 24 | (size_t)q[1] << 16 | (size_t)q[2] << 8 | q[3];
			if (rn > r->max) {
				r->stopped = true;
				break;
			}
			if (rn > left - 4)
				break;
			rec = q + 4;
			next = 4 + rn;
		} else {
			size_t from = r->seen > at ? r->seen - at : 0;
			const uint8_t *nl = memchr(q + from, '\n', left - from);
			if (!nl) {
				r->seen = r->len;
				if (left > r->max)
					r->stopped = true;
				break;
			}
			rn = (size_t)(nl - q);
			next = rn + 1;
			if (rn > r->max) {
				r->stopped = true;
				break;
			}
		}
		int64_t pos;
		if (r->has_cursor && atfh_record_pos(r->frames, rec, rn, &pos) && pos <= r->cursor)
			r->cursor_end = r->off + at + next;
		at += next;
		r->complete_end = r->off + at;
	}
	if (r->stopped) {
		free(r->buf);
		r->buf = NULL;
		r->len = r->cap = r->seen = 0;
		return;
	}
	memmove(r->buf, r->buf + at, r->len - at);
	r->len -= at;
	r->seen = r->seen > at ? r->seen - at : 0;
	r->off += at;
}

/* The data of the .part open as FD, in pieces, to FN (plain or zstd; a
 * torn zstd stream gives what decodes).  Stops once FN returns true or
 * LIMIT bytes were given.  0, or -1 with errno on a read error. */
static int read_data(int fd, bool zst, uint64_t limit,
		     bool (*fn)(void *arg, const uint8_t *p, size_t n), void *arg)
{
	size_t inn = 1u << 16, outn = ZSTD_DStreamOutSize();
	uint8_t *in = atfh_xmalloc(inn), *out = zst ? atfh_xmalloc(outn) : NULL;
	ZSTD_DCtx *d = NULL;
	if (zst && !(d = ZSTD_createDCtx()))
		atfh_die_oom();
	uint64_t given = 0;
	int rc = 0, e = 0;
	bool stop = false, zerr = false;
	while (!stop && !zerr && given < limit) {
		ssize_t r = read(fd, in, inn);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		if (!zst) {
			size_t k = (uint64_t)r > limit - given ? (size_t)(limit - given) : (size_t)r;
			given += k;
			stop = fn(arg, in, k);
			continue;
		}
		ZSTD_inBuffer ib = { in, (size_t)r, 0 };
		bool more = true; /* the decoder may hold output without input */
		while (!stop && !zerr && given < limit && (ib.pos < ib.size || more)) {
			ZSTD_outBuffer ob = { out, outn, 0 };
			size_t z = ZSTD_decompressStream(d, &ob, &ib);
			if (ZSTD_isError(z))
				zerr = true;
			size_t k = ob.pos > limit - given ? (size_t)(limit - given) : ob.pos;
			given += k;
			if (k)
				stop = fn(arg, out, k);
			more = ob.pos == ob.size;
		}
	}
	ZSTD_freeDCtx(d);
	free(in);
	free(out);
	errno = e;
	return rc;
}

static bool scan_piece(void *arg, const uint8_t *p, size_t n)
{
	scan_feed(arg, p, n);
	return false;
}

/* Re-encoding the kept data of a .zst part as one whole frame. */
struct rezst {
	ZSTD_CCtx *c;
	int fd;
	uint8_t *out;
	size_t outn;
	bool err;
};

static bool rezst_piece(void *arg, const uint8_t *p, size_t n)
{
	struct rezst *z = arg;
	ZSTD_inBuffer ib = { p, n, 0 };
	while (!z->err && ib.pos < ib.size) {
		ZSTD_outBuffer ob = { z->out, z->outn, 0 };
		if (ZSTD_isError(ZSTD_compressStream2(z->c, &ob, &ib, ZSTD_e_continue)) ||
		    write_all(z->fd, z->out, ob.pos))
			z->err = true;
	}
	return z->err;
}

static int rezst_end(struct rezst *z)
{
	ZSTD_inBuffer none = { NULL, 0, 0 };
	for (size_t r = 1; !z->err && r;) {
		ZSTD_outBuffer ob = { z->out, z->outn, 0 };
		r = ZSTD_compressStream2(z->c, &ob, &none, ZSTD_e_end);
		if (ZSTD_isError(r) || write_all(z->fd, z->out, ob.pos))
			z->err = true;
	}
	return z->err ? -1 : 0;
}

/* NAME (a final path) with its part number taken out, for matching. */
static void strip_part_number(char *name)
{
	char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	for (char *d = strchr(base + (*base ? 1 : 0), '.'); d; d = strchr(d + 1, '.')) {
		char *e = d + 1;
		while (*e >= '0' && *e <= '9')
			e++;
		if (e > d + 1 && (*e == '.' || *e == '\0')) {
			memmove(d, e, strlen(e) + 1);
			return;
		}
	}
}

static bool matches(const struct atfh_template *t, const char *final)
{
	if (fnmatch(t->glob, final, 0) == 0)
		return true;
	char *c = atfh_xstrdup(final);
	strip_part_number(c);
	bool ok = fnmatch(t->glob, c, 0) == 0;
	free(c);
	return ok;
}

static void walk(const struct atfh_template *t, const char *dir, const char *prefix, int depth,
		 struct atfh_strv *found)
{
	if (depth > 32)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t n = strlen(prefix) + strlen(e->d_name) + 2;
		char *rel = atfh_xmalloc(n);
		snprintf(rel, n, "%s%s", prefix, e->d_name);
		struct stat st;
		if (lstat(rel, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *sub = atfh_xmalloc(n + 1);
			snprintf(sub, n + 1, "%s/", rel);
			walk(t, rel, sub, depth + 1, found);
			free(sub);
		} else if (S_ISREG(st.st_mode)) {
			size_t l = strlen(rel);
			if (l > 5 && !strcmp(rel + l - 5, ".part")) {
				rel[l - 5] = '\0';
				if (matches(t, rel))
					atfh_strv_push(found, rel, l - 5);
			}
		}
		free(rel);
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The completed name PART (stat PST) is also linked to: NAME, or another
 * part of NAME's key (a taken name moved on).  NULL if none. */
static char *linked_name(const char *name, const struct stat *pst)
{
	struct stat st;
	if (lstat(name, &st) == 0 && st.st_dev == pst->st_dev && st.st_ino == pst->st_ino)
		return atfh_xstrdup(name);
	char *key = atfh_xstrdup(name);
	strip_part_number(key);
	for (unsigned k = 0; k <= MAX_PARTS; k++) {
		char *p = part_name(key, k);
		if (lstat(p, &st) < 0) {
			free(p);
			if (k)
				break;
			continue;
		}
		if (st.st_dev == pst->st_dev && st.st_ino == pst->st_ino) {
			free(key);
			return p;
		}
		free(p);
	}
	free(key);
	return NULL;
}

/* Complete one left-over NAME.part. */
static int recover_one(struct atfh_splitter *s, const char *name, bool has_cursor, int64_t cursor)
{
	size_t n = strlen(name) + 6;
	char *part = atfh_xmalloc(n), *path = atfh_xstrdup(name), *tmp = NULL;
	snprintf(part, n, "%s.part", name);
	int rc = -1, fd = -1;
	bool zst = is_zst(name), linked;
	struct recscan r = { .frames = -1, .max = s->max_record, .has_cursor = has_cursor,
			     .cursor = cursor };
	struct stat pst;
	if (lstat(part, &pst) == 0 && pst.st_nlink > 1) {
		/* completed, then killed before its name was printed (or
		 * before the .part name went): print the name again */
		char *done = linked_name(name, &pst);
		if (done) {
			atfh_err("%s: completed by an earlier run that may not have printed it: "
				 "printed again", done);
			unlink(part);
			fprintf(s->done, "%s\n", done);
			fflush(s->done);
			s->completed++;
			free(done);
			rc = 0;
			goto out;
		}
	}
	if ((fd = open(part, O_RDONLY | O_CLOEXEC)) < 0 ||
	    read_data(fd, zst, UINT64_MAX, scan_piece, &r) < 0) {
		fail(s, "cannot read", part, errno);
		goto out;
	}
	uint64_t len = r.total, cut = has_cursor ? r.cursor_end : r.complete_end;
	if (cut == 0) {
		if (unlink(part) < 0) {
			fail(s, "cannot remove", part, errno);
			goto out;
		}
		fsync_dir_of(part);
		atfh_err("%s: left by an earlier run, nothing in it to keep: removed", part);
		rc = 0;
		goto out;
	}
	if (cut < len)
		atfh_err("%s: left by an earlier run: %llu byte%s cut (%s)", part,
			 (unsigned long long)(len - cut), len - cut == 1 ? "" : "s",
			 has_cursor ? "past the cursor, or a torn last record" : "a torn last record");
	else
		atfh_err("%s: left by an earlier run: completed", part);
	if (zst) {
		/* re-encode what is kept as a whole zstd frame, read again */
		size_t tn = strlen(part) + 5;
		tmp = atfh_xmalloc(tn);
		snprintf(tmp, tn, "%s.tmp", part);
		unlink(tmp);
		struct rezst z = { ZSTD_createCCtx(), -1, NULL, ZSTD_CStreamOutSize(), false };
		if (!z.c)
			atfh_die_oom();
		z.out = atfh_xmalloc(z.outn);
		ZSTD_CCtx_setParameter(z.c, ZSTD_c_compressionLevel, s->level);
		ZSTD_CCtx_setParameter(z.c, ZSTD_c_checksumFlag, 1);
		z.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		int e = 0;
		errno = 0;
		if (z.fd < 0 || lseek(fd, 0, SEEK_SET) < 0 ||
		    read_data(fd, true, cut, rezst_piece, &z) < 0 || z.err || rezst_end(&z) ||
		    fsync(z.fd) < 0)
			e = errno ? errno : EIO;
		ZSTD_freeCCtx(z.c);
		free(z.out);
		if (z.fd >= 0)
			close(z.fd);
		if (e) {
			unlink(tmp);
			fail(s, "cannot write", tmp, e);
			goto out;
		}
		/* the cut copy replaces the .part first, so a crash from here
		 * on finds one .part to complete, never a completed file and
		 * a .part holding the same events */
		if (rename(tmp, part) < 0) {
			e = errno;
			unlink(tmp);
			fail(s, "rename", tmp, e);
			goto out;
		}
	} else {
		close(fd);
		fd = open(part, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || (cut < len && ftruncate(fd, (off_t)cut) < 0) || fsync(fd) < 0) {
			fail(s, "cannot complete", part, errno);
			goto out;
		}
	}
	if (name_noreplace(part, &path, name, &linked)) {
		fail(s, "rename", part, errno);
		goto out;
	}
	fsync_dir_of(path);
	fprintf(s->done, "%s\n", path);
	fflush(s->done);
	if (linked)
		unlink(part);
	s->completed++;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(r.buf);
	free(tmp);
	free(part);
	free(path);
	return rc;
}

long atfh_splitter_recover(struct atfh_splitter *s, bool act, bool has_cursor, int64_t cursor)
{
	const struct atfh_template *t = s->tpl;
	struct atfh_strv found = { 0 };
	bool implicit = !strcmp(t->dir, ".") && strncmp(t->glob, "./", 2) != 0;
	size_t pn = strlen(t->dir) + 2;
	char *prefix = atfh_xmalloc(pn);
	snprintf(prefix, pn, "%s%s", implicit ? "" : t->dir,
		 implicit || !strcmp(t->dir, "/") ? "" : "/");
	walk(t, t->dir, prefix, 0, &found);
	free(prefix);
	if (found.n)
		qsort(found.v, found.n, sizeof *found.v, cmp_str);
	long rc = (long)found.n;
	for (size_t i = 0; i < found.n; i++) {
		if (!act) {
			atfh_err("%s.part: left by an earlier run (--recover completes it)", found.v[i]);
			continue;
		}
		if (recover_one(s, found.v[i], has_cursor, cursor))
			rc = -1;
	}
	atfh_strv_free(&found);
	return rc;
}
