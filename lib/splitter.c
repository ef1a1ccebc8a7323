/*
 * splitter.c — see splitter.h.
 */
#include "splitter.h"
#include "cli.h"
#include "event.h"
#include "jsonscan.h"
#include "util.h"

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
	struct atfh_sfile *next;
};

void atfh_splitter_init(struct atfh_splitter *s)
{
	memset(s, 0, sizeof *s);
	s->level = 3;
	s->max_open = 512;
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

static int zflush(struct atfh_sfile *f, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { NULL, 0, 0 };
	for (;;) {
		atfh_out_reserve(&f->out, ZSTD_CStreamOutSize());
		ZSTD_outBuffer ob = { f->out.buf + f->out.len, f->out.cap - f->out.len, 0 };
		size_t r = ZSTD_compressStream2(f->zc, &ob, &in, mode);
		if (ZSTD_isError(r))
			return -1;
		f->out.len += ob.pos;
		if (r == 0)
			return 0;
		if (atfh_out_flush(&f->out))
			return -1;
	}
}

static void put(struct atfh_sfile *f, const void *p, size_t n)
{
	if (!f->zc) {
		atfh_out_put(&f->out, p, n);
		return;
	}
	ZSTD_inBuffer in = { p, n, 0 };
	while (in.pos < in.size) {
		atfh_out_reserve(&f->out, ZSTD_CStreamOutSize());
		ZSTD_outBuffer ob = { f->out.buf + f->out.len, f->out.cap - f->out.len, 0 };
		size_t r = ZSTD_compressStream2(f->zc, &ob, &in, ZSTD_e_continue);
		if (ZSTD_isError(r))
			return; /* cannot happen with valid parameters */
		f->out.len += ob.pos;
		if (f->out.len >= f->out.flush_at)
			atfh_out_flush(&f->out);
	}
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
}

static void free_file(struct atfh_sfile *f)
{
	if (f->out.fd >= 0)
		close(f->out.fd);
	atfh_out_free(&f->out);
	ZSTD_freeCCtx(f->zc);
	free(f->key);
	free(f->path);
	free(f->part);
	free(f);
}

/* Rename FROM to a name of KEY's parts that does not exist yet, starting at
 * *PATH (replaced when taken).  0, or -1 with errno. */
static int rename_noreplace(const char *from, char **path, const char *key)
{
	unsigned k = 0;
	for (;;) {
		if (renameat2(AT_FDCWD, from, AT_FDCWD, *path, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS) {
			/* a file system without RENAME_NOREPLACE: link refuses
			 * to replace too */
			if (link(from, *path) == 0) {
				unlink(from);
				return 0;
			}
		}
		if (errno != EEXIST || ++k > MAX_PARTS)
			return -1;
		free(*path);
		*path = part_name(key, k);
	}
}

/* Flush, fsync, rename, fsync the directory, report.  Frees F. */
static int complete(struct atfh_splitter *s, struct atfh_sfile *f)
{
	unlink_file(s, f);
	int rc = 0;
	if (f->zc && zflush(f, ZSTD_e_end))
		rc = fail(s, "write error", f->part, f->out.error ? f->out.error : EIO);
	else if (atfh_out_flush(&f->out))
		rc = fail(s, "write error", f->part, f->out.error ? f->out.error : EIO);
	else if (fsync(f->out.fd) < 0)
		rc = fail(s, "fsync", f->part, errno);
	else if (close(f->out.fd) < 0) {
		f->out.fd = -1;
		rc = fail(s, "close", f->part, errno);
	} else {
		f->out.fd = -1;
		if (s->before_rename && s->before_rename(s, s->arg)) {
			s->failed = true;
			rc = -1;
		} else if (rename_noreplace(f->part, &f->path, f->key))
			rc = fail(s, "rename", f->part, errno);
		else {
			fsync_dir_of(f->path);
			s->completed++;
			fprintf(s->done, "%s\n", f->path);
			fflush(s->done);
		}
	}
	free_file(f);
	return rc;
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
		if (complete(s, lru))
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
		free_file(f);
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
	}
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
	struct atfh_sfile *f = lookup(s, name);
	size_t rec = n + (frames ? 4 : 1);
	/* a file that is full, or holds the other format, is completed first;
	 * --max-bytes is a limit: a record that would cross it starts a new
	 * file (unless the file is empty) */
	if (f && (f->frames != frames ||
		  (!same_group && (full(s, f, now_ms) ||
				   (s->max_bytes && f->events && f->bytes + rec > s->max_bytes))))) {
		if (complete(s, f))
			return -1;
		f = NULL;
	}
	if (!f && !(f = open_file(s, name, frames, now_ms)))
		return -1;
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
		return complete(s, f);
	return 0;
}

int64_t atfh_splitter_expire(struct atfh_splitter *s, uint64_t now_ms)
{
	if (!s->max_age_ms)
		return -1;
	int64_t next = -1;
	for (size_t i = 0; i < s->nopen;) {
		struct atfh_sfile *f = s->open[i];
		uint64_t age = now_ms - f->opened_ms;
		if (age >= s->max_age_ms) {
			if (complete(s, f))
				return -2;
			continue; /* open[i] is another file now */
		}
		int64_t left = (int64_t)(s->max_age_ms - age);
		if (next < 0 || left < next)
			next = left;
		i++;
	}
	return next;
}

int atfh_splitter_checkpoint(struct atfh_splitter *s)
{
	if (s->failed)
		return -1;
	for (size_t i = 0; i < s->nopen; i++) {
		struct atfh_sfile *f = s->open[i];
		if (f->zc && zflush(f, ZSTD_e_flush))
			return fail(s, "write error", f->part, f->out.error ? f->out.error : EIO);
		if (atfh_out_flush(&f->out))
			return fail(s, "write error", f->part, f->out.error ? f->out.error : EIO);
		if (fsync(f->out.fd) < 0)
			return fail(s, "fsync", f->part, errno);
	}
	s->dirty = false;
	return 0;
}

int atfh_splitter_complete_all(struct atfh_splitter *s)
{
	int rc = 0;
	while (s->nopen)
		if (complete(s, s->open[s->nopen - 1]))
			rc = -1;
	if (!rc)
		s->dirty = false;
	return rc;
}

void atfh_splitter_free(struct atfh_splitter *s)
{
	/* what is left was not completed (a failure): the .part files stay
	 * for --recover */
	while (s->nopen) {
		struct atfh_sfile *f = s->open[s->nopen - 1];
		unlink_file(s, f);
		free_file(f);
	}
	free(s->open);
	free(s->bucket);
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

static int read_all(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t cap = 1 << 16, n = 0;
	uint8_t *b = atfh_xmalloc(cap);
	for (;;) {
		if (n == cap)
			b = atfh_xrealloc(b, cap *= 2);
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			free(b);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
}

/* Decompress as much of a (possibly torn) zstd stream as decodes. */
static void unzstd(const uint8_t *p, size_t n, uint8_t **out, size_t *outn)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (!d)
		atfh_die_oom();
	size_t cap = 1 << 16, len = 0;
	uint8_t *b = atfh_xmalloc(cap);
	ZSTD_inBuffer in = { p, n, 0 };
	for (;;) {
		if (cap - len < ZSTD_DStreamOutSize())
			b = atfh_xrealloc(b, cap *= 2);
		ZSTD_outBuffer ob = { b + len, cap - len, 0 };
		size_t r = ZSTD_decompressStream(d, &ob, &in);
		len += ob.pos;
		if (ZSTD_isError(r) || (in.pos == in.size && ob.pos < ob.size))
			break;
	}
	ZSTD_freeDCtx(d);
	*out = b;
	*outn = len;
}

/* Where to cut P: after its last complete record, and with HAS_CURSOR
 * after the last record whose position is at most CURSOR. */
static size_t cut_point(const uint8_t *p, size_t n, bool has_cursor, int64_t cursor)
{
	bool frames = n && p[0] == 0;
	size_t off = 0, complete_end = 0, cursor_end = 0;
	while (off < n) {
		const uint8_t *rec;
		size_t rn, next;
		if (frames) {
			if (n - off < 4)
				break;
			rn = (size_t)p[off] << 24 | (size_t)p[off + 1] << 16 | (size_t)p[off + 2] << 8 |
			     p[off + 3];
			if (rn > n - off - 4)
				break;
			rec = p + off + 4;
			next = off + 4 + rn;
		} else {
			const uint8_t *nl = memchr(p + off, '\n', n - off);
			if (!nl)
				break;
			rec = p + off;
			rn = (size_t)(nl - rec);
			next = off + rn + 1;
		}
		int64_t pos;
		if (has_cursor && atfh_record_pos(frames, rec, rn, &pos) && pos <= cursor)
			cursor_end = next;
		complete_end = off = next;
	}
	return has_cursor ? cursor_end : complete_end;
}

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

/* Complete one left-over NAME.part. */
static int recover_one(struct atfh_splitter *s, const char *name, bool has_cursor, int64_t cursor)
{
	size_t n = strlen(name) + 6;
	char *part = atfh_xmalloc(n), *path = atfh_xstrdup(name);
	snprintf(part, n, "%s.part", name);
	uint8_t *raw = NULL, *data = NULL;
	size_t rawn = 0, len = 0;
	int rc = -1;
	bool zst = is_zst(name);
	if (read_all(part, &raw, &rawn)) {
		fail(s, "cannot read", part, errno);
		goto out;
	}
	if (zst)
		unzstd(raw, rawn, &data, &len);
	else {
		data = raw;
		len = rawn;
		raw = NULL;
	}
	size_t cut = cut_point(data, len, has_cursor, cursor);
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
		atfh_err("%s: left by an earlier run: %zu byte%s cut (%s)", part, len - cut,
			 len - cut == 1 ? "" : "s",
			 has_cursor ? "past the cursor, or a torn last record" : "a torn last record");
	else
		atfh_err("%s: left by an earlier run: completed", part);
	char *tmp = NULL;
	if (zst) {
		/* re-encode what is kept as a whole zstd frame */
		size_t tn = strlen(part) + 5;
		tmp = atfh_xmalloc(tn);
		snprintf(tmp, tn, "%s.tmp", part);
		unlink(tmp);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		size_t zcap = ZSTD_compressBound(cut);
		uint8_t *z = atfh_xmalloc(zcap);
		size_t zn = ZSTD_compress(z, zcap, data, cut, s->level);
		if (fd < 0 || ZSTD_isError(zn) || write_all(fd, z, zn) || fsync(fd) < 0) {
			int e = fd < 0 || !ZSTD_isError(zn) ? errno : EIO;
			if (fd >= 0)
				close(fd);
			unlink(tmp);
			free(z);
			free(tmp);
			fail(s, "cannot write", part, e);
			goto out;
		}
		free(z);
		close(fd);
		/* the cut copy replaces the .part first, so a crash from here
		 * on finds one .part to complete, never a completed file and
		 * a .part holding the same events */
		if (rename(tmp, part) < 0) {
			int e = errno;
			unlink(tmp);
			fail(s, "rename", tmp, e);
			free(tmp);
			goto out;
		}
		free(tmp);
		tmp = NULL;
	} else {
		int fd = open(part, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || (cut < len && ftruncate(fd, (off_t)cut) < 0) || fsync(fd) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			fail(s, "cannot complete", part, e);
			goto out;
		}
		close(fd);
	}
	if (rename_noreplace(part, &path, name)) {
		fail(s, "rename", part, errno);
		goto out;
	}
	fsync_dir_of(path);
	fprintf(s->done, "%s\n", path);
	fflush(s->done);
	s->completed++;
	rc = 0;
out:
	free(raw);
	free(data);
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
