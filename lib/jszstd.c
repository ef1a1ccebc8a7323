/*
 * jszstd.c — see jszstd.h.
 */
#include "jszstd.h"
#include "jetstream.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define ZSTD_FRAME_MAGIC 0xFD2FB528u
#define ZSTD_DICT_MAGIC 0xEC30A437u

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_err(struct atfh_jsz *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(struct atfh_jsz *z, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(z->err, sizeof z->err, fmt, ap);
	va_end(ap);
}

void atfh_jsz_init(struct atfh_jsz *z)
{
	memset(z, 0, sizeof *z);
}

void atfh_jsz_drop(struct atfh_jsz *z)
{
	ZSTD_freeDDict(z->ddict);
	z->ddict = NULL;
	z->id = 0;
}

void atfh_jsz_free(struct atfh_jsz *z)
{
	atfh_jsz_drop(z);
	ZSTD_freeDCtx(z->dctx);
	free(z->out);
	memset(z, 0, sizeof *z);
}

int atfh_jsz_load(struct atfh_jsz *z, const uint8_t *d, size_t n)
{
	z->err[0] = '\0';
	if (n < 8 || le32(d) != ZSTD_DICT_MAGIC) {
		if (n >= 4)
			set_err(z, "not a zstd dictionary (%zu bytes starting %02x %02x %02x %02x, "
				"not the magic 37 a4 30 ec)", n, d[0], d[1], d[2], d[3]);
		else
			set_err(z, "not a zstd dictionary (%zu bytes)", n);
		return -1;
	}
	if (n > ATFH_JSZ_DICT_MAX) {
		set_err(z, "a zstd dictionary of %zu bytes is over the limit of %u", n,
			ATFH_JSZ_DICT_MAX);
		return -1;
	}
	uint32_t id = le32(d + 4);
	if (id == 0) {
		set_err(z, "a zstd dictionary without an ID (0)");
		return -1;
	}
	/* a dictionary with the magic is read as a whole: its entropy tables
	 * must be sound, else ZSTD_createDDict fails */
	ZSTD_DDict *dd = ZSTD_createDDict(d, n);
	if (!dd) {
		set_err(z, "a damaged zstd dictionary (libzstd refuses its tables)");
		return -1;
	}
	if (!z->dctx && !(z->dctx = ZSTD_createDCtx())) {
		ZSTD_freeDDict(dd);
		set_err(z, "cannot make a zstd decompression context");
		return -1;
	}
	ZSTD_freeDDict(z->ddict);
	z->ddict = dd;
	z->id = id;
	return 0;
}

/* Room for NEED bytes and a NUL (always a buffer, even for none). */
static void reserve(struct atfh_jsz *z, size_t need)
{
	if (need <= z->cap && z->out)
		return;
	z->out = atfh_xrealloc(z->out, need + 1);
	z->cap = need;
}

/*
 * Decompressed in one go into z->out, which is the window: no window
 * buffer is allocated, whatever size the frame header declares.  A frame
 * that says how big it is gets that room; one that does not gets the room
 * already there (at least 64 KiB, or 8 times its size), four times as much
 * each time that is too small, up to one byte past MAX, which tells a
 * frame that is too big.
 */
int atfh_jsz_decompress(struct atfh_jsz *z, const uint8_t *p, size_t n, size_t max)
{
	z->len = 0;
	z->err[0] = '\0';
	if (!z->ddict || !z->dctx) {
		set_err(z, "no zstd dictionary loaded");
		return -1;
	}
	if (n < 4 || le32(p) != ZSTD_FRAME_MAGIC) {
		set_err(z, "not a zstd frame (%zu bytes%s)", n,
			n < 4 ? "" : ", without the magic 28 b5 2f fd");
		return -1;
	}
	size_t fsz = ZSTD_findFrameCompressedSize(p, n);
	if (ZSTD_isError(fsz)) {
		set_err(z, "a corrupt or truncated zstd frame (%s)", ZSTD_getErrorName(fsz));
		return -1;
	}
	if (fsz != n) {
		set_err(z, "%zu bytes after the zstd frame of %zu (one frame a message)", n - fsz,
			fsz);
		return -1;
	}
	unsigned did = ZSTD_getDictID_fromFrame(p, n);
	if (did && did != z->id) {
		set_err(z, "compressed with zstd dictionary %u, not %u (the one fetched)", did,
			(unsigned)z->id);
		return -1;
	}
	unsigned long long cs = ZSTD_getFrameContentSize(p, n);
	if (cs == ZSTD_CONTENTSIZE_ERROR) {
		set_err(z, "a corrupt zstd frame header");
		return -1;
	}
	if (cs != ZSTD_CONTENTSIZE_UNKNOWN && cs > max) {
		set_err(z, "a zstd frame of %llu bytes decompressed, over the limit of %zu "
			"(--max-frame)", cs, max);
		return -1;
	}
	size_t limit = max + 1;
	if (cs != ZSTD_CONTENTSIZE_UNKNOWN) {
		reserve(z, (size_t)cs);
	} else {
		size_t first = n > SIZE_MAX / 8 ? limit : 8 * n;
		if (first < 65536)
			first = 65536;
		reserve(z, first < limit ? first : limit);
	}
	for (;;) {
		size_t cap = z->cap < limit ? z->cap : limit;
		size_t r = ZSTD_decompress_usingDDict(z->dctx, z->out, cap, p, n, z->ddict);
		if (!ZSTD_isError(r)) {
			if (cs != ZSTD_CONTENTSIZE_UNKNOWN && r != cs) {
				set_err(z, "a corrupt zstd frame (%zu bytes, its header says %llu)", r, cs);
				return -1;
			}
			if (r > max)
				break;
			z->len = r;
			z->out[r] = '\0';
			return 0;
		}
		if (ZSTD_getErrorCode(r) != ZSTD_error_dstSize_tooSmall ||
		    cs != ZSTD_CONTENTSIZE_UNKNOWN) {
			set_err(z, "a corrupt zstd frame (%s)", ZSTD_getErrorName(r));
			return -1;
		}
		if (cap >= limit)
			break;
		reserve(z, cap > limit / 4 ? limit : cap * 4);
	}
	set_err(z, "a zstd frame that decompresses to more than %zu bytes (--max-frame)", max);
	return -1;
}

char *atfh_jsz_url(const char *stream)
{
	const char *scheme = "https";
	const char *rest = strstr(stream, "://");
	if (rest && (size_t)(rest - stream) == 2)
		scheme = "http";
	rest = rest ? rest + 3 : stream;
	size_t hl = strcspn(rest, "/?#");
	size_t n = strlen(scheme) + 3 + hl + sizeof ATFH_JSZ_PATH;
	char *u = atfh_xmalloc(n);
	snprintf(u, n, "%s://%.*s%s", scheme, (int)hl, rest, ATFH_JSZ_PATH);
	return u;
}

/* ---- fetching ---------------------------------------------------------------- */

struct body {
	uint8_t *p;
	size_t n, cap;
	bool too_big;
};

static size_t body_write(char *p, size_t size, size_t nm, void *ctx)
{
	struct body *b = ctx;
	size_t n = size * nm;
	if (b->n + n > ATFH_JSZ_DICT_MAX) {
		b->too_big = true;
		return 0;
	}
	if (b->n + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 65536;
		while (c < b->n + n + 1)
			c *= 2;
		b->p = atfh_xrealloc(b->p, c);
		b->cap = c;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = 0;
	return n;
}

static int progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	volatile sig_atomic_t *stop = ctx;
	return stop && *stop ? 1 : 0;
}

/* The first line of BODY, printable, into BUF. */
static void first_line(const struct body *b, char *buf, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < b->n && k + 1 < n && b->p[i] != '\n' && b->p[i] != '\r'; i++)
		buf[k++] = b->p[i] < 0x20 || b->p[i] == 0x7f ? '?' : (char)b->p[i];
	buf[k] = '\0';
}

int atfh_jsz_fetch(struct atfh_jsz *z, const char *url, const struct atfh_ws *w,
		   long timeout_ms, volatile sig_atomic_t *stop, bool *transient)
{
	*transient = false;
	z->err[0] = '\0';
	CURL *c = curl_easy_init();
	if (!c) {
		set_err(z, "%s: cannot initialise libcurl", url);
		*transient = true;
		return -1;
	}
	char cerr[CURL_ERROR_SIZE] = "";
	struct body b = { 0 };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)stop);
	atfh_ws_http_options(w, c);
	CURLcode cr = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	int rc = -1;
	if (b.too_big) {
		set_err(z, "%s: the dictionary is over the limit of %u bytes", url,
			ATFH_JSZ_DICT_MAX);
	} else if (cr != CURLE_OK) {
		set_err(z, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(cr));
		*transient = cr != CURLE_SSL_CACERT_BADFILE && cr != CURLE_PEER_FAILED_VERIFICATION &&
			     cr != CURLE_UNSUPPORTED_PROTOCOL && cr != CURLE_TOO_MANY_REDIRECTS;
	} else if (code < 200 || code > 299) {
		char name[64], msg[160], line[160];
		if (b.n && atfh_js_xrpc_error((const char *)b.p, b.n, name, sizeof name, msg,
					      sizeof msg)) {
			set_err(z, "%s: HTTP %ld: %s%s%s", url, code, name, *msg ? ": " : "", msg);
		} else {
			first_line(&b, line, sizeof line);
			set_err(z, "%s: HTTP %ld%s%s", url, code, *line ? ": " : "", line);
		}
		*transient = code == 408 || code == 429 || code >= 500;
	} else if (atfh_jsz_load(z, b.p, b.n) < 0) {
		char why[sizeof z->err];
		memcpy(why, z->err, sizeof why);
		set_err(z, "%s: %s", url, why);
	} else {
		rc = 0;
	}
	free(b.p);
	return rc;
}
