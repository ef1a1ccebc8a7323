/*
 * unit.c — TAP unit tests for libatfh modules that are easier to reach from
 * C than through a program: JSON escaping and UTF-8 validation, base64,
 * varints, CIDs, time parsing, the JSON scanner and the DAG-CBOR walker on
 * hand-written bytes, canonical DAG-CBOR writing, the DID set (did:plc: DIDs
 * packed, others as text; the two-thread load of a big file); and the commit fast path against the general parser
 * on every frame of the bundled sample (real PDS output).
 */
#include "atfh.h"
#include "car.h"
#include "cborenc.h"
#include "cid.h"
#include "connstr.h"
#include "kafka.h"
#include "dagcbor.h"
#include "didset.h"
#include "event.h"
#include "input.h"
#include "jqhint.h"
#include "json.h"
#include "msgscan.h"
#include "jsonscan.h"
#include "jsonscan_scalar.h"
#include "util.h"
#include "seqwin.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>

static int n_test, n_fail;

static void ok(bool cond, const char *what)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n_test, what);
}

static void is_str(const char *got, size_t got_n, const char *want, const char *what)
{
	bool same = got_n == strlen(want) && memcmp(got, want, got_n) == 0;
	ok(same, what);
	if (!same)
		printf("#   got:      %.*s\n#   expected: %s\n", (int)got_n, got, want);
}

static struct atfh_out mem(void)
{
	struct atfh_out o = { .fd = -1 };
	return o;
}

static void test_json_str(void)
{
	struct atfh_out o = mem();
	size_t bad = atfh_json_str(&o, "a\"b\\c\n\t\x01\x7f", 9);
	is_str(o.buf, o.len, "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\"", "json_str escapes quote, backslash, controls");
	ok(bad == 0, "json_str: valid input reports no bad bytes");
	o.len = 0;
	bad = atfh_json_str(&o, "x\xff" "y\xc3", 4);
	is_str(o.buf, o.len, "\"x\\ufffdy\\ufffd\"", "json_str replaces invalid UTF-8 with U+FFFD");
	ok(bad == 2, "json_str counts invalid sequences");
	o.len = 0;
	atfh_json_str(&o, "\xf0\x9f\x98\x80", 4);
	is_str(o.buf, o.len, "\"\xf0\x9f\x98\x80\"", "json_str keeps 4-byte UTF-8");
	atfh_out_free(&o);

	ok(atfh_utf8_valid("caf\xc3\xa9", 5), "utf8: é valid");
	ok(!atfh_utf8_valid("\xc0\xaf", 2), "utf8: overlong rejected");
	ok(!atfh_utf8_valid("\xed\xa0\x80", 3), "utf8: surrogate rejected");
	ok(!atfh_utf8_valid("\xf4\x90\x80\x80", 4), "utf8: > U+10FFFF rejected");
	ok(!atfh_utf8_valid("\xe2\x82", 2), "utf8: truncated rejected");
}

static void test_numbers(void)
{
	struct atfh_out o = mem();
	atfh_json_i64(&o, INT64_MIN);
	atfh_out_c(&o, ' ');
	atfh_json_i64(&o, INT64_MAX);
	atfh_out_c(&o, ' ');
	atfh_json_i64(&o, 0);
	is_str(o.buf, o.len, "-9223372036854775808 9223372036854775807 0", "i64 extremes exact");
	o.len = 0;
	atfh_json_base64(&o, (const uint8_t *)"\x00\xff\x10", 3);
	atfh_out_c(&o, ' ');
	atfh_json_base64(&o, (const uint8_t *)"ab", 2);
	atfh_out_c(&o, ' ');
	atfh_json_base64(&o, (const uint8_t *)"a", 1);
	is_str(o.buf, o.len, "AP8Q YWI YQ", "base64 without padding");
	atfh_out_free(&o);

	uint64_t v;
	ok(atfh_uvarint((const uint8_t *)"\xac\x02", 2, &v) == 2 && v == 300, "varint 300");
	ok(atfh_uvarint((const uint8_t *)"\x80\x00", 2, &v) == 0, "varint not minimal rejected");
	ok(atfh_uvarint((const uint8_t *)"\x80", 1, &v) == 0, "varint truncated rejected");
}

static void test_cid(void)
{
	/* bafyreidykglsfhoixmivffc5uwhcgshx4j465xwqntbmu43nb2dzqwfvae is the
	 * CIDv1 dag-cbor sha256 of {"hello":"world"}, as @ipld/dag-cbor and
	 * multiformats compute it */
	const uint8_t block[] = { 0xa1, 0x65, 'h', 'e', 'l', 'l', 'o', 0x65, 'w', 'o', 'r', 'l', 'd' };
	uint8_t bin[36] = { 0x01, 0x71, 0x12, 0x20 };
	struct atfh_cid cid;
	char str[ATFH_CID_STRMAX(36)];

	/* build the CID by hashing, then check the string form round-trips */
	SHA256(block, sizeof block, bin + 4);
	ok(atfh_cid_parse(bin, sizeof bin, &cid) == 36, "cid parse v1");
	ok(cid.codec == 0x71 && cid.mh_code == 0x12 && cid.digest_len == 32, "cid fields");
	size_t n = atfh_cid_str(&cid, str);
	is_str(str, n, "bafyreidykglsfhoixmivffc5uwhcgshx4j465xwqntbmu43nb2dzqwfvae",
	       "cid string form (base32 multibase)");
	ok(atfh_cid_verify(&cid, block, sizeof block) == 1, "cid verify ok");
	ok(atfh_cid_verify(&cid, block, sizeof block - 1) == 0, "cid verify mismatch");
	ok(atfh_cid_parse(bin, 20, &cid) == 0, "cid truncated digest rejected");
	bin[0] = 2;
	ok(atfh_cid_parse(bin, sizeof bin, &cid) == 0, "cid version 2 rejected");
	/* CIDv0: base58btc */
	uint8_t v0[34] = { 0x12, 0x20 };
	memset(v0 + 2, 0, 32);
	ok(atfh_cid_parse(v0, 34, &cid) == 34 && cid.version == 0, "cidv0 parse");
	n = atfh_cid_str(&cid, str);
	is_str(str, n, "QmNLei78zWmzUdbeRB3CiUfAizWUrbeeZh5K1rhAQKCh51", "cidv0 base58btc");
}

static void test_time(void)
{
	int64_t us;
	ok(atfh_parse_time_us("1970-01-01T00:00:00Z", 20, &us) == 0 && us == 0, "epoch");
	ok(atfh_parse_time_us("2024-11-19T12:34:56.789Z", 24, &us) == 0 && us == 1732019696789000,
	   "millisecond time");
	ok(atfh_parse_time_us("2024-11-19T12:34:56.789123456Z", 30, &us) == 0 &&
	   us == 1732019696789123, "nanoseconds truncate to µs");
	ok(atfh_parse_time_us("2024-11-19T13:34:56+01:00", 25, &us) == 0 && us == 1732019696000000,
	   "offset");
	ok(atfh_parse_time_us("1969-12-31T23:59:59Z", 20, &us) == 0 && us == -1000000, "before epoch");
	ok(atfh_parse_time_us("2024-13-01T00:00:00Z", 20, &us) < 0, "month 13 rejected");
	ok(atfh_parse_time_us("2024-11-19T12:34:56", 19, &us) < 0, "no zone rejected");
	ok(atfh_parse_time_us("2024-11-19T12:34:56.Z", 21, &us) < 0, "empty fraction rejected");
}

static void test_jsonscan(void)
{
	struct atfh_jobj o;
	const char *err;
	const char *s = "{\"a\":1,\"b\":\"x\\\"y\",\"c\":[1,{\"d\":null}],\"e\":true,\"n\":-9223372036854775808}";
	ok(atfh_jobj_parse(&o, s, strlen(s), &err) == 0 && o.n == 5, "object fields");
	const struct atfh_jval *v = atfh_jobj_get(&o, "b");
	ok(v && v->type == ATFH_J_STR && v->n == 4, "string span inside quotes");
	int64_t i;
	ok(atfh_jval_i64(atfh_jobj_get(&o, "n"), &i) && i == INT64_MIN, "int64 min");
	ok(atfh_jobj_get(&o, "c")->type == ATFH_J_ARR, "array value");
	const char *bad[] = {
		"{\"a\":}", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":\"\x01\"}",
		"{\"a\":\"\xff\"}", "{\"a\":\"\\x\"}", "{\"a\":1} x", "[1]", "{\"a\":tru}",
		"{\"a\":\"\\u12\"}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":[1,2}",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char what[80];
		snprintf(what, sizeof what, "invalid JSON rejected: %.40s", bad[k]);
		ok(atfh_jobj_parse(&o, bad[k], strlen(bad[k]), &err) < 0, what);
	}
	/* depth bound */
	char deep[700];
	size_t d = 0;
	deep[d++] = '{';
	deep[d++] = '"'; deep[d++] = 'a'; deep[d++] = '"'; deep[d++] = ':';
	for (int k = 0; k < 250; k++)
		deep[d++] = '[';
	for (int k = 0; k < 250; k++)
		deep[d++] = ']';
	deep[d++] = '}';
	ok(atfh_jobj_parse(&o, deep, d, &err) < 0 && strstr(err, "deep"), "JSON nesting bound");

	/* numbers: digits are passed eight at a time, so a byte next to the
	 * digits' range ('/' and ':'), a letter, a fraction or an exponent at
	 * every place of up to 24 digits, the line ending right after */
	static const char after[] = "/:a.e0";
	size_t wrong = 0;
	for (size_t len = 1; len <= 24; len++)
		for (size_t at = 1; at <= len; at++)
			for (const char *c = after; *c; c++) {
				char num[64];
				size_t n = 0;
				num[n++] = '[';
				for (size_t k = 0; k < len; k++)
					num[n++] = (char)('1' + k % 9);
				num[at] = *c;
				num[n++] = ']';
				/* digits, *c, digits: valid when *c is a digit (a
				 * leading 0 only alone), or a '.' or 'e' between
				 * digits */
				bool valid = (*c == '0' && (at > 1 || len == 1)) ||
					     ((*c == '.' || *c == 'e') && at > 1 && at < len);
				char *b = atfh_xmalloc(n);
				memcpy(b, num, n); /* ending at its allocation's end */
				if ((atfh_json_check(b, n, &err) == 0) != valid)
					wrong++;
				free(b);
			}
	ok(wrong == 0, "JSON numbers of up to 24 digits, a byte of every kind at every place");
}

/* The SSE2 string scanner against the scalar build of lib/jsonscan.c and
 * against the expected verdict: one special byte sequence at every place in
 * strings of every length up to three sixteen-byte blocks, the line at every
 * alignment, ending exactly at the end of its allocation (ASan sees a read
 * past it), and every prefix of it (strings cut at every place). */
static void test_jsonscan_simd(void)
{
	static const struct { const char *s; bool valid; } sp[] = {
		{ "\"", false }, { "\\n", true }, { "\\\\", true }, { "\\\"", true },
		{ "\\x", false }, { "\\u0041", true }, { "\\u00g1", false }, { "\x01", false },
		{ "\x1f", false }, { "\t", false }, { " ", true }, { "\x7f", true },
		{ "\x80", false }, { "\xc3\xa9", true }, { "\xe2\x82", false },
		{ "\xf0\x9f\x98\x80", true }, { "\xed\xa0\x80", false }, { "\xc0\xaf", false },
		{ "\xff", false }, { "\xe2\x82\xac", true }, { "!", true }, { "~", true },
	};
	size_t cases = 0, wrong = 0, differ = 0;
	const char *why = "", *first = NULL;
	char line[128];
	for (size_t k = 0; k < sizeof sp / sizeof sp[0]; k++) {
		size_t sl = strlen(sp[k].s);
		for (size_t len = 0; len <= 48; len++) {
			for (size_t at = 0; at <= len; at++) {
				size_t n = 0;
				memcpy(line + n, "{\"k\":\"", 6);
				n += 6;
				for (size_t i = 0; i < at; i++)
					line[n++] = (char)('a' + i % 26);
				memcpy(line + n, sp[k].s, sl);
				n += sl;
				for (size_t i = at; i < len; i++)
					line[n++] = (char)('A' + i % 26);
				memcpy(line + n, "\",\"z\":1}", 8);
				n += 8;
				for (size_t align = 0; align < 16; align++) {
					char *buf = atfh_xmalloc(align + n);
					memcpy(buf + align, line, n);
					for (size_t cut = (align < 2 ? 0 : n); cut <= n; cut++) {
						char *b = buf + align + n - cut;
						if (cut < n)
							memmove(b, buf + align, cut); /* a prefix, at the end */
						else
							b = buf + align;
						struct atfh_jobj o;
						const char *err;
						int r = atfh_jobj_parse(&o, b, cut, &err);
						cases++;
						if (cut == n && (r == 0) != sp[k].valid) {
							wrong++;
							first = first ? first : sp[k].s;
						}
						if (!atfh_jsonscan_builds_agree(b, cut, &why)) {
							differ++;
							first = first ? first : sp[k].s;
						}
						if (cut < n)
							memcpy(buf + align, line, n);
					}
					free(buf);
				}
			}
		}
	}
	char what[160];
	snprintf(what, sizeof what, "jsonscan: SSE2 and scalar builds agree (%zu lines; %zu differ: %s)",
		 cases, differ, differ ? why : "none");
	ok(differ == 0, what);
	snprintf(what, sizeof what, "jsonscan: special bytes at every place and alignment (%zu wrong%s%s)",
		 wrong, first ? ", first with " : "", first ? "a special sequence" : "");
	ok(wrong == 0, what);
}

static int cbor_json(const uint8_t *p, size_t n, struct atfh_out *o, const char **err)
{
	static struct atfh_cbor c; /* *err may point into it after the return */
	atfh_cbor_init(&c, p, n);
	o->len = 0;
	int r = atfh_cbor_to_json(&c, o);
	*err = c.err;
	return r;
}

static void test_cbor(void)
{
	struct atfh_out o = mem();
	const char *err;
	/* {"a": [1, -1, h'00', true, null], "b": "é"} */
	const uint8_t m[] = { 0xa2, 0x61, 'a', 0x85, 0x01, 0x20, 0x41, 0x00, 0xf5, 0xf6,
			      0x61, 'b', 0x62, 0xc3, 0xa9 };
	ok(cbor_json(m, sizeof m, &o, &err) == 0, "cbor map to json");
	is_str(o.buf, o.len, "{\"a\":[1,-1,{\"$bytes\":\"AA\"},true,null],\"b\":\"é\"}", "cbor json shape");
	const uint8_t imin[] = { 0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	ok(cbor_json(imin, sizeof imin, &o, &err) == 0, "cbor int64 min accepted");
	is_str(o.buf, o.len, "-9223372036854775808", "cbor int64 min exact");
	const uint8_t toobig[] = { 0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	ok(cbor_json(toobig, sizeof toobig, &o, &err) < 0, "cbor below int64 min rejected");
	const uint8_t hugestr[] = { 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 'a' };
	ok(cbor_json(hugestr, sizeof hugestr, &o, &err) < 0 && strstr(err, "beyond"),
	   "cbor huge string length rejected");
	const uint8_t hugearr[] = { 0x9b, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	ok(cbor_json(hugearr, sizeof hugearr, &o, &err) < 0, "cbor huge array count rejected");
	const uint8_t fl[] = { 0xf9, 0x3c, 0x00 };
	ok(cbor_json(fl, sizeof fl, &o, &err) < 0 && strstr(err, "floating"), "cbor half float rejected");
	const uint8_t undef[] = { 0xf7 };
	ok(cbor_json(undef, sizeof undef, &o, &err) < 0, "cbor undefined rejected");
	const uint8_t simple[] = { 0xf0 };
	ok(cbor_json(simple, sizeof simple, &o, &err) < 0, "cbor simple value rejected");
	const uint8_t trunc[] = { 0xa1, 0x61, 'a' };
	ok(cbor_json(trunc, sizeof trunc, &o, &err) < 0, "cbor truncated map rejected");
	const uint8_t link_bad[] = { 0xd8, 0x2a, 0x42, 0x00, 0x01 };
	ok(cbor_json(link_bad, sizeof link_bad, &o, &err) < 0, "cbor tag 42 without a CID rejected");
	const uint8_t link_noprefix[] = { 0xd8, 0x2a, 0x41, 0x01 };
	ok(cbor_json(link_noprefix, sizeof link_noprefix, &o, &err) < 0,
	   "cbor tag 42 without the 0x00 prefix rejected");
	/* 129 nested arrays */
	uint8_t deep[130];
	memset(deep, 0x81, 129);
	deep[129] = 0x00;
	ok(cbor_json(deep, sizeof deep, &o, &err) < 0 && strstr(err, "deeper"), "cbor depth limit");
	memset(deep, 0x81, 127);
	deep[127] = 0x00;
	ok(cbor_json(deep, 128, &o, &err) == 0, "cbor 127 levels fine");
	atfh_out_free(&o);
}

static void test_cborenc(void)
{
	struct atfh_out o = mem();
	struct atfh_cbenc e = { 0 };
	static const struct { uint64_t v; size_t len; uint8_t first; } heads[] = {
		{ 0, 1, 0x00 }, { 23, 1, 0x17 }, { 24, 2, 0x18 }, { 255, 2, 0x18 },
		{ 256, 3, 0x19 }, { 65535, 3, 0x19 }, { 65536, 5, 0x1a },
		{ 0xffffffffu, 5, 0x1a }, { 0x100000000u, 9, 0x1b }, { UINT64_MAX, 9, 0x1b },
	};
	bool good = true;
	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
		o.len = 0;
		atfh_cbe_head(&o, 0, heads[i].v);
		uint64_t back = 0;
		for (size_t j = 1; j < o.len; j++)
			back = back << 8 | (uint8_t)o.buf[j];
		if (o.len == 1)
			back = (uint8_t)o.buf[0] & 31;
		good &= o.len == heads[i].len && (uint8_t)o.buf[0] == heads[i].first && back == heads[i].v;
	}
	ok(good, "cbe: shortest heads at every width boundary");
	o.len = 0;
	atfh_cbe_int(&o, -1);
	atfh_cbe_int(&o, INT64_MIN);
	ok(o.len == 10 && (uint8_t)o.buf[0] == 0x20 && (uint8_t)o.buf[1] == 0x3b &&
	   (uint8_t)o.buf[2] == 0x7f, "cbe: negative integers");
	/* {"bb": 1, "a": [h'', {"ccc": 24 (overlong), "dd": null, "dd": true}], "b": false}:
	 * keys length-first, then bytewise, repeated keys in their order,
	 * shortest heads */
	const uint8_t in[] = { 0xa3, 0x62, 'b', 'b', 0x01, 0x61, 'a', 0x82, 0x40, 0xa3, 0x63, 'c',
			       'c', 'c', 0x19, 0x00, 0x18, 0x62, 'd', 'd', 0xf6, 0x62, 'd', 'd', 0xf5,
			       0x61, 'b', 0xf4 };
	const uint8_t want[] = { 0xa3, 0x61, 'a', 0x82, 0x40, 0xa3, 0x62, 'd', 'd', 0xf6, 0x62, 'd',
				 'd', 0xf5, 0x63, 'c', 'c', 'c', 0x18, 0x18, 0x61, 'b', 0xf4, 0x62,
				 'b', 'b', 0x01 };
	struct atfh_cbor c;
	atfh_cbor_init(&c, in, sizeof in);
	o.len = 0;
	ok(atfh_cbe_canon(&e, &c, &o) == 0 && c.p == c.end && o.len == sizeof want &&
	   memcmp(o.buf, want, sizeof want) == 0, "cbe: a map re-encoded canonically");
	const uint8_t badkey[] = { 0xa1, 0x01, 0x02 };
	atfh_cbor_init(&c, badkey, sizeof badkey);
	ok(atfh_cbe_canon(&e, &c, &o) < 0 && strstr(c.err, "key"), "cbe: a non-text key is refused");
	atfh_cbe_free(&e);
	atfh_out_free(&o);
}

/* Every frame of the sample: the fast path (msgscan.c) and the general
 * parser agree, and the fast path takes the PDS's commits, or it is dead
 * code that only looks fast. */
static void test_fast_path(const char *sample)
{
	char *files[] = { (char *)sample };
	struct atfh_input in;
	static struct atfh_msg a, b, c;
	size_t frames = 0, commits = 0, fast = 0, differ = 0;
	const uint8_t *p;
	size_t n;
	atfh_input_init(&in, files, 1, 16u << 20);
	ok(atfh_input_next_file(&in) == 1 && atfh_input_detect(&in) == ATFH_IN_FRAMES,
	   "sample opens: frames");
	a.lazy_ops = b.lazy_ops = true;
	while (atfh_input_frame(&in, &p, &n) == 1) {
		frames++;
		memset(&c, 0, sizeof c);
		c.frame = p;
		c.frame_len = n;
		bool took = atfh_msg_scan_commit(&c);
		int rf = atfh_msg_parse(&a, p, n), rg = atfh_msg_parse_general(&b, p, n);
		if (rf || rg || a.kind != b.kind || a.seq != b.seq || a.time_us != b.time_us ||
		    a.did.p != b.did.p || a.did.n != b.did.n || a.rev.p != b.rev.p ||
		    a.since.p != b.since.p || a.blocks != b.blocks || a.ops_cbor != b.ops_cbor ||
		    a.ops_len != b.ops_len || a.body_len != b.body_len || a.too_big != b.too_big)
			differ++;
		if (b.kind == ATFH_K_COMMIT) {
			commits++;
			fast += took;
		}
	}
	atfh_input_free(&in);
	printf("# %zu frames, %zu commits, %zu on the fast path\n", frames, commits, fast);
	ok(frames > 1000, "sample: frames read");
	ok(differ == 0, "sample: fast path and general parser read the same fields");
	ok(commits > 0 && fast == commits, "sample: every commit of the PDS takes the fast path");
}

/* Which jq programs get a pre-check (lib/jqhint.c), and which must not. */
static void test_jqhint(void)
{
	static const struct { const char *src; bool active; } cases[] = {
		{ ".kind == \"identity\"", true },
		{ " .commit.collection==\"app.bsky.feed.post\" and (.commit.record.langs // [] | index(\"en\"))", true },
		{ ".a == \"x\" and .b == 1 and (.c | length > 2)", true },
		{ ".a == \"x\" and .or == 1", true },
		{ ".a == \"x\" and $as == 1", true },
		{ ".a == \"x\" and \"a|b,c//d\" == .b", true },
		{ ".a == \"x\" and .b | not", false },
		{ ".a == \"x\" or .b", false },
		{ ".a == \"x\" and .b // true", false },
		{ ".a == \"x\", true", false },
		{ ".a == \"x\" and .b as $v | $v", false },
		{ ".a == \"x\" and .b = 1", false },
		{ ".a == \"x\" and .b |= 1", false },
		{ ".a == \"x\" and .b += 1", false },
		{ ".a == \"x\" and .b # comment", false },
		{ ".a == \"x\" and \"\\(.b)\" == \"c\"", false },
		{ ".a == \"x\\u0041\"", false },
		{ ".a == \"x\" + \"y\"", false },
		{ ".a != \"x\"", false },
		{ ".a == 1", false },
		{ ". == \"x\"", false },
		{ ".a? == \"x\"", false },
		{ ".a == \"x\" and (.b", false },
		{ ".a == \"x\" and \"unterminated", false },
		{ ".a == \"x\" and \"ends in \\", false },
		{ "def f: 1; .a == \"x\"", false },
		{ ".a == \"x/y\"", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct atfh_jqhint h;
		char what[200];
		atfh_jqhint_init(&h, cases[i].src);
		snprintf(what, sizeof what, "jqhint: %s %s", cases[i].src,
			 cases[i].active ? "pre-checked" : "left to jq");
		ok(h.active == cases[i].active, what);
		atfh_jqhint_free(&h);
	}
	/* on NDJSON text: left out only when the string is nowhere */
	static const struct { const char *line; bool may; } lines[] = {
		{ "{\"kind\":\"commit\"}", false },
		{ "{\"kind\":\"identity\"}", true },
		{ "{\"kind\":\"x\",\"kind\":\"identity\"}", true },
		{ "{\"k\\u0069nd\":\"identity\"}", true },
		{ "{\"kind\":\"\\u0069dentity\"}", true },
		{ "{\"kind\":\"identityx\"}", false },
	};
	struct atfh_jqhint h;
	atfh_jqhint_init(&h, ".kind == \"identity\"");
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		char what[200];
		snprintf(what, sizeof what, "jqhint on %s: %s", lines[i].line,
			 lines[i].may ? "to jq" : "left out");
		ok(atfh_jqhint_line_may_match(&h, lines[i].line, strlen(lines[i].line)) ==
			   lines[i].may, what);
	}
	atfh_jqhint_free(&h);
}

/* the window of seqs written: late ones, duplicates, jumps past the window */
static void test_seqwin(void)
{
	static struct atfh_seqwin w;
	atfh_seqwin_init(&w, true, 100);
	ok(atfh_seqwin_has(&w, 100) && atfh_seqwin_has(&w, 1) && !atfh_seqwin_has(&w, 101),
	   "seqwin: the start cursor and below count as written");
	atfh_seqwin_mark(&w, 103);
	ok(!atfh_seqwin_has(&w, 101) && !atfh_seqwin_has(&w, 102) && atfh_seqwin_has(&w, 103),
	   "seqwin: a gap is not written");
	atfh_seqwin_mark(&w, 101);
	ok(atfh_seqwin_has(&w, 101) && !atfh_seqwin_has(&w, 102) && w.top == 103,
	   "seqwin: a late seq marked, the top unchanged");
	atfh_seqwin_mark(&w, 103 + ATFH_SEQWIN - 1);
	ok(atfh_seqwin_has(&w, 103) && !atfh_seqwin_has(&w, 104),
	   "seqwin: the window slides, the slots of skipped seqs cleared");
	ok(atfh_seqwin_has(&w, 103 + ATFH_SEQWIN - 1 - ATFH_SEQWIN),
	   "seqwin: a seq below the window counts as written");
	atfh_seqwin_mark(&w, INT64_C(1) << 40);
	ok(!atfh_seqwin_has(&w, (INT64_C(1) << 40) - 1) && atfh_seqwin_has(&w, INT64_C(1) << 40),
	   "seqwin: a jump past the window clears it");
	atfh_seqwin_init(&w, false, 0);
	ok(!atfh_seqwin_has(&w, 0) && !atfh_seqwin_has(&w, -5), "seqwin: empty at first");
	atfh_seqwin_mark(&w, 7);
	ok(atfh_seqwin_has(&w, 7) && !atfh_seqwin_has(&w, 6), "seqwin: the first mark");
}

static const char *conf_get(rd_kafka_conf_t *c, const char *name)
{
	static char v[1024];
	size_t n = sizeof v;
	if (rd_kafka_conf_get(c, name, v, &n) != RD_KAFKA_CONF_OK)
		return "(unset)";
	return v;
}

static void test_connstr(void)
{
	static const char good[] = "Endpoint=sb://myns.servicebus.windows.net/;"
				   "SharedAccessKeyName=send;SharedAccessKey=abc/def+g=;EntityPath=bsky";
	struct atfh_connstr c;
	char err[256];
	ok(atfh_connstr_parse(&c, good, strlen(good), err, sizeof err) == 0, "connstr: a hub string parses");
	ok(!strcmp(c.bootstrap, "myns.servicebus.windows.net:9093"), "connstr: bootstrap NS:9093");
	ok(!strcmp(c.topic, "bsky"), "connstr: EntityPath is the topic");
	ok(!strcmp(c.keyname, "send"), "connstr: the key name");
	static const char ns[] = "endpoint=SB://a-b.servicebus.windows.net:443/ ; SharedAccessKeyName=k;"
				 "SharedAccessKey=s==;";
	ok(atfh_connstr_parse(&c, ns, strlen(ns), err, sizeof err) == 0 &&
		   !strcmp(c.bootstrap, "a-b.servicebus.windows.net:9093") && !c.topic[0],
	   "connstr: a namespace string (no EntityPath), keys in any case, port dropped");
	static const struct { const char *s, *msg; } bad[] = {
		{ "SharedAccessKeyName=k;SharedAccessKey=s", "no Endpoint" },
		{ "Endpoint=https://x/;SharedAccessKeyName=k;SharedAccessKey=s", "must start with sb://" },
		{ "Endpoint=sb:///;SharedAccessKeyName=k;SharedAccessKey=s", "no host name" },
		{ "Endpoint=sb://x y/;SharedAccessKeyName=k;SharedAccessKey=s", "bad character" },
		{ "Endpoint=sb://x/;SharedAccessKey=s", "no SharedAccessKeyName" },
		{ "Endpoint=sb://x/;SharedAccessKeyName=k", "no SharedAccessKey" },
		{ "Endpoint=sb://x/;SharedAccessKeyName=k;SharedAccessKey=", "no SharedAccessKey" },
		{ "Endpoint=sb://x/;junk;SharedAccessKeyName=k;SharedAccessKey=s", "junk has no '='" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char what[300];
		snprintf(what, sizeof what, "connstr: '%s' refused: %s", bad[i].s, bad[i].msg);
		err[0] = 0;
		ok(atfh_connstr_parse(&c, bad[i].s, strlen(bad[i].s), err, sizeof err) == -1 &&
			   strstr(err, bad[i].msg), what);
	}
	/* the configuration a connection string gives */
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	atfh_connstr_parse(&c, good, strlen(good), err, sizeof err);
	ok(atfh_kafka_sasl(conf, "$ConnectionString", good) == 0, "connstr: SASL settings apply");
	ok(!strcmp(conf_get(conf, "security.protocol"), "sasl_ssl"), "connstr: SASL_SSL");
	ok(!strcmp(conf_get(conf, "sasl.mechanisms"), "PLAIN"), "connstr: PLAIN");
	ok(!strcmp(conf_get(conf, "sasl.username"), "$ConnectionString"), "connstr: user $ConnectionString");
	ok(!strcmp(conf_get(conf, "sasl.password"), good), "connstr: the whole string as password");
	rd_kafka_conf_destroy(conf);
	conf = rd_kafka_conf_new();
	atfh_kafka_set(conf, "sasl.mechanisms", "SCRAM-SHA-512");
	atfh_kafka_sasl(conf, "u", "p");
	ok(!strcmp(conf_get(conf, "sasl.mechanisms"), "SCRAM-SHA-512"), "sasl: a mechanism from -X is kept");
	rd_kafka_conf_destroy(conf);
}

/* The cursor may only name a seq whose message and all before it were
 * acknowledged, whatever order the reports come in. */
static void test_ackwin(void)
{
	struct atfh_ackwin w = { 0 };
	for (int i = 0; i < 5000; i++)
		atfh_ackwin_push(&w, 100 + i);
	atfh_ackwin_done(&w, 1, true);
	atfh_ackwin_done(&w, 2, true);
	ok(!w.acked_any, "ackwin: nothing while the first is outstanding");
	atfh_ackwin_done(&w, 0, true);
	ok(w.acked_any && w.acked_seq == 102, "ackwin: the first three once the first is in");
	for (int i = 4999; i >= 4; i--)
		atfh_ackwin_done(&w, (uint64_t)i, true);
	ok(w.acked_seq == 102, "ackwin: reports in reverse order: still waits for message 3");
	atfh_ackwin_done(&w, 3, true);
	ok(w.acked_seq == 5098, "ackwin: all in: the seq before the last (more of it may come)");
	atfh_ackwin_finish(&w);
	ok(w.acked_seq == 5099, "ackwin: all in and the input ended: the last seq");
	/* the ring keeps working after compaction, and a failure blocks */
	for (int i = 0; i < 3000; i++)
		atfh_ackwin_push(&w, 6000 + i);
	atfh_ackwin_done(&w, 5000, true);
	atfh_ackwin_done(&w, 5001, false);
	for (int i = 5002; i < 8000; i++)
		atfh_ackwin_done(&w, (uint64_t)i, true);
	ok(w.acked_seq == 6000, "ackwin: a failed delivery stops the cursor before it");
	/* events without a seq (INT64_MIN) do not move it */
	struct atfh_ackwin v = { 0 };
	atfh_ackwin_push(&v, 7);
	atfh_ackwin_push(&v, INT64_MIN);
	atfh_ackwin_done(&v, 1, true);
	atfh_ackwin_done(&v, 0, true);
	ok(v.acked_seq == 7, "ackwin: an event without seq passes without moving the cursor");
	/* the ops of one commit share a seq: it counts once all are in */
	struct atfh_ackwin c = { 0 };
	atfh_ackwin_push(&c, 10);
	atfh_ackwin_push(&c, 10);
	atfh_ackwin_push(&c, 11);
	atfh_ackwin_done(&c, 0, true);
	ok(!c.acked_any, "ackwin: one op of seq 10 in, the other outstanding: not 10");
	atfh_ackwin_done(&c, 1, true);
	ok(c.acked_any && c.acked_seq == 10, "ackwin: both ops of seq 10 in: 10");
	atfh_ackwin_done(&c, 2, true);
	atfh_ackwin_push(&c, 11);
	ok(c.acked_seq == 10, "ackwin: a later op of 11 sent: still 10");
	atfh_ackwin_done(&c, 3, true);
	atfh_ackwin_push(&c, 12);
	ok(c.acked_seq == 11, "ackwin: both ops of 11 in and 12 begun: 11");
	atfh_ackwin_free(&c);
	atfh_ackwin_free(&w);
	atfh_ackwin_free(&v);
}

static size_t didset_warned;

static void didset_warn(void *ctx, const char *path, size_t line, const char *why)
{
	(void)ctx, (void)path, (void)line, (void)why;
	didset_warned++;
}

/* The did:plc: DID number I (24 base32 characters from I's bits). */
static void plc_did(char *out, uint64_t i)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint64_t x = i * UINT64_C(0x9e3779b97f4a7c15) ^ i;
	memcpy(out, "did:plc:", 8);
	for (int k = 0; k < 24; k++) {
		out[8 + k] = b32[x & 31];
		x = k == 11 ? x ^ (i * UINT64_C(0xc2b2ae3d27d4eb4f)) : x >> 5 | x << 59;
	}
	out[32] = 0;
}

static void test_didset(void)
{
	struct atfh_didset s;
	atfh_didset_init(&s);
	const char *plc = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
	ok(atfh_didset_add(&s, plc, strlen(plc)), "didset: add a did:plc");
	ok(atfh_didset_has(&s, plc, strlen(plc)), "didset: a did:plc is found");
	/* packed whole: every other character at every position is another DID */
	bool none = true;
	char v[40];
	for (size_t i = 8; i < 32; i++)
		for (const char *c = "abcdefghijklmnopqrstuvwxyz234567018ABZ._-:"; *c; c++) {
			if (*c == plc[i])
				continue;
			memcpy(v, plc, 33);
			v[i] = *c;
			if (atfh_didset_has(&s, v, 32))
				none = false;
		}
	ok(none, "didset: no DID one character from a did:plc is found");
	ok(!atfh_didset_has(&s, plc, 31) && !atfh_didset_has(&s, "did:plc:ewvi7nxzyoun6zhxrhs64oiza", 33),
	   "didset: nor one shorter or longer");
	/* did:plc: not of the base32 form, and other methods: kept as text */
	const char *text[] = { "did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ", "did:plc:ewvi7nxzyoun6zhxrhs64oi8",
			       "did:plc:short", "did:web:example.com", "did:web:example.con" };
	for (size_t i = 0; i < 5; i++)
		atfh_didset_add(&s, text[i], strlen(text[i]));
	bool all = true;
	for (size_t i = 0; i < 5; i++)
		all = all && atfh_didset_has(&s, text[i], strlen(text[i]));
	ok(all && s.n == 6, "didset: DIDs of other shapes are found");
	ok(!atfh_didset_has(&s, "did:plc:ewvi7nxzyoun6zhxrhs64oi7", 32) &&
	   !atfh_didset_has(&s, "did:web:example.org", 19), "didset: and others are not");
	atfh_didset_add(&s, plc, strlen(plc));
	ok(s.n == 6, "didset: a DID added twice is there once");
	/* growth: added one by one past every size */
	for (uint64_t i = 0; i < 50000; i++) {
		plc_did(v, i);
		atfh_didset_add(&s, v, 32);
	}
	all = true;
	for (uint64_t i = 0; i < 50000; i++) {
		plc_did(v, i);
		all = all && atfh_didset_has(&s, v, 32);
	}
	ok(all && atfh_didset_has(&s, plc, strlen(plc)) && atfh_didset_has(&s, text[3], strlen(text[3])),
	   "didset: 50000 added one by one are all found");
	atfh_didset_free(&s);

	/* a file big enough to be loaded by two threads: did:plc, did:web,
	 * repeats, bad lines, and its last line without a newline */
	char path[] = "/tmp/atfh-unit-dids.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		ok(false, "didset: a temporary file");
		return;
	}
	enum { N = 60000 };
	size_t bad = 0;
	for (uint64_t i = 0; i < N; i++) {
		plc_did(v, i);
		fprintf(f, "%s\n", v);
		if (i % 1000 == 0)
			fprintf(f, "did:web:host%llu.example # a comment\n", (unsigned long long)i);
		if (i % 5000 == 0)
			fprintf(f, "not a did %llu\n", (unsigned long long)i), bad++;
		if (i % 7 == 0)
			fprintf(f, "%s\n", v); /* a repeat */
	}
	fprintf(f, "did:web:last.example");
	fclose(f);
	atfh_didset_init(&s);
	didset_warned = 0;
	int rc = atfh_didset_load(&s, path, didset_warn, NULL);
	unlink(path);
	ok(rc == 0 && didset_warned == bad, "didset: a 2 MB file loads, its bad lines reported");
	all = true;
	for (uint64_t i = 0; i < N; i++) {
		plc_did(v, i);
		all = all && atfh_didset_has(&s, v, 32);
		if (i % 1000 == 0) {
			char w[64];
			int n = snprintf(w, sizeof w, "did:web:host%llu.example", (unsigned long long)i);
			all = all && atfh_didset_has(&s, w, (size_t)n);
		}
	}
	ok(all && atfh_didset_has(&s, "did:web:last.example", 20), "didset: every DID of the file is found");
	ok(s.n == N + N / 1000 + 1, "didset: each once");
	plc_did(v, N);
	ok(!atfh_didset_has(&s, v, 32) && !atfh_didset_has(&s, "did:web:host1.example", 21),
	   "didset: a DID not in the file is not found");
	atfh_didset_free(&s);
}

int main(int argc, char **argv)
{
	test_seqwin();

	test_connstr();
	test_ackwin();
	test_json_str();
	test_numbers();
	test_cid();
	test_time();
	test_jsonscan();
	test_jsonscan_simd();
	test_cbor();
	test_cborenc();
	test_jqhint();
	test_didset();
	if (argc > 1)
		test_fast_path(argv[1]);
	printf("1..%d\n", n_test);
	return n_fail != 0;
}
