/*
 * fuzz_jetstream.c — the Jetstream wire (lib/jetstream.c).  The first byte
 * picks the parser, the rest is its input:
 *   'x'  a pre-upgrade XRPC error body: the name and message come out
 *        NUL-terminated, printable, within their buffers;
 *   'l'  a v1 line: its position, and an identity that does not change
 *        when white space between tokens is dropped;
 *   'c'  a collection filter value: anything valid is an NSID or a
 *        prefix of domain segments ending in ".*";
 *   'n'  the last number of a message;
 *   'v'  a v2 frame (xrpc.v1.json): an event becomes a v1 line that reads
 *        back with a cursor; info and error names come out printable;
 *   'z'  a compressed v2 message (lib/jszstd.c): two bytes (big-endian)
 *        give the length of a zstd dictionary, which follows, then the
 *        message.  A dictionary taken has an ID; a message decompresses
 *        to at most the limit, NUL-terminated, within an allocation bound,
 *        and its text goes on to the v2 frame reader; the message as text,
 *        compressed with the dictionary by libzstd, decompresses back to
 *        the same bytes.
 */
#include "fuzz.h"
#include "jetstream.h"
#include "jszstd.h"

#include <string.h>
#include <zstd.h>

#define Z_MAX 65536

static void zstd_case(const uint8_t *p, size_t n)
{
	if (n < 2)
		return;
	size_t dl = (size_t)p[0] << 8 | p[1];
	if (dl > n - 2)
		dl = n - 2;
	const uint8_t *d = p + 2, *m = d + dl;
	size_t mn = n - 2 - dl;
	struct atfh_jsz z;
	atfh_jsz_init(&z);
	fuzz_alloc_start();
	if (atfh_jsz_load(&z, d, dl)) {
		if (!z.err[0] || z.id || z.ddict) {
			fprintf(stderr, "a refused dictionary without a reason, or kept\n");
			abort();
		}
		atfh_jsz_free(&z);
		return;
	}
	if (!z.id) {
		fprintf(stderr, "a dictionary taken without an ID\n");
		abort();
	}
	if (atfh_jsz_decompress(&z, m, mn, Z_MAX) == 0) {
		if (z.len > Z_MAX || z.out[z.len] != '\0') {
			fprintf(stderr, "decompressed %zu bytes past the limit or unterminated\n", z.len);
			abort();
		}
		struct atfh_js_v2 v = { 0 };
		const char *err = NULL;
		if (atfh_js_v2_frame((const char *)z.out, z.len, &v, &err) && !err)
			abort();
		atfh_js_v2_free(&v);
	} else if (!z.err[0] || z.len) {
		fprintf(stderr, "a refused message without a reason, or with output\n");
		abort();
	}
	fuzz_alloc_check(n, 16, 2u << 20);
	/* the round trip: libzstd compresses with the dictionary, we decompress */
	if (mn <= Z_MAX) {
		ZSTD_CDict *cd = ZSTD_createCDict(d, dl, 3);
		size_t cap = ZSTD_compressBound(mn);
		uint8_t *c = malloc(cap ? cap : 1);
		ZSTD_CCtx *cc = ZSTD_createCCtx();
		size_t cn = cd && cc ? ZSTD_compress_usingCDict(cc, c, cap, m, mn, cd) : 0;
		if (cd && cc && !ZSTD_isError(cn)) {
			if (atfh_jsz_decompress(&z, c, cn, Z_MAX) || z.len != mn ||
			    (mn && memcmp(z.out, m, mn))) {
				fprintf(stderr, "libzstd's frame with the dictionary did not come back: %s\n",
					z.err);
				abort();
			}
			if (mn && atfh_jsz_decompress(&z, c, cn, mn - 1) == 0) {
				fprintf(stderr, "%zu bytes decompressed under a limit of %zu\n", z.len, mn - 1);
				abort();
			}
		}
		ZSTD_freeCCtx(cc);
		ZSTD_freeCDict(cd);
		free(c);
	}
	atfh_jsz_free(&z);
}

static void printable(const char *s, size_t cap)
{
	const char *nul = memchr(s, '\0', cap);
	if (!nul) {
		fprintf(stderr, "not NUL-terminated within its buffer\n");
		abort();
	}
	for (const char *p = s; p < nul; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			fprintf(stderr, "a control character in the output\n");
			abort();
		}
}

/* P without the white space outside strings (the JSON is valid). */
static size_t squeeze(const char *p, size_t n, char *out)
{
	size_t k = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (in_str) {
			out[k++] = c;
			if (c == '\\' && i + 1 < n)
				out[k++] = p[++i];
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
			out[k++] = c;
		} else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			out[k++] = c;
		}
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	char *buf = malloc(n + 1);
	memcpy(buf, p, n);
	buf[n] = '\0';
	switch (data[0]) {
	case 'x': {
		char name[64], msg[200];
		if (atfh_js_xrpc_error(p, n, name, sizeof name, msg, sizeof msg)) {
			printable(name, sizeof name);
			printable(msg, sizeof msg);
			if (!name[0]) {
				fprintf(stderr, "an XRPC error without a name\n");
				abort();
			}
		}
		break;
	}
	case 'l': {
		struct atfh_js_pos pos;
		const char *err;
		if (atfh_js_line_pos(p, n, &pos, &err) == 0) {
			if (pos.has_cursor && pos.cursor < 0)
				abort();
			char *sq = malloc(n + 1);
			size_t k = squeeze(p, n, sq);
			if (atfh_js_identity(sq, k) != pos.id) {
				fprintf(stderr, "the identity depends on white space\n");
				abort();
			}
			free(sq);
		} else if (!err) {
			abort();
		}
		break;
	}
	case 'c':
		if (atfh_js_collection_valid(buf, strlen(buf))) {
			size_t m = strlen(buf);
			bool prefix = m >= 2 && buf[m - 2] == '.' && buf[m - 1] == '*';
			if (m > 317 || (!prefix && !atfh_js_nsid_valid(buf, m)) ||
			    (prefix && strchr(buf, '*') != buf + m - 1)) {
				fprintf(stderr, "'%s' taken as a collection\n", buf);
				abort();
			}
		}
		break;
	case 'v': {
		struct atfh_js_v2 v = { 0 };
		const char *err = NULL;
		if (atfh_js_v2_frame(p, n, &v, &err) == 0) {
			printable(v.name, sizeof v.name);
			printable(v.message, sizeof v.message);
			struct atfh_js_pos pos;
			if (v.type == ATFH_JS_EVENT &&
			    (atfh_js_line_pos(v.line, v.len, &pos, &err) || !pos.has_cursor ||
			     pos.cursor < 0 || strlen(v.line) != v.len)) {
				fprintf(stderr, "a v2 event made a bad v1 line: %s\n", v.line);
				abort();
			}
		} else if (!err) {
			abort();
		}
		atfh_js_v2_free(&v);
		break;
	}
	case 'z':
		zstd_case(data + 1, size - 1);
		break;
	case 'n': {
		int64_t v;
		if (atfh_js_last_number(buf, &v) && v < 0)
			abort();
		break;
	}
	}
	free(buf);
	return 0;
}
