/*
 * count-unit.c — TAP unit tests for the modules behind atfh-count:
 * lib/counter (exact counts, growth, reset), lib/hll (exact while sparse,
 * relative error at 10^3..10^6 distinct values, merge), lib/topk
 * (Space-Saving guarantees against exact counts), lib/evpath (syntax,
 * evaluation on NDJSON text, canonical values) and lib/jqexpr.
 */
#include "counter.h"
#include "evpath.h"
#include "hll.h"
#include "jqexpr.h"
#include "jsonscan.h"
#include "tally.h"
#include "topk.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int n_test, n_fail;

static void ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	n_test++;
	if (!cond)
		n_fail++;
	printf("%sok %d - ", cond ? "" : "not ", n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_counter(void)
{
	struct atfh_counter c;
	atfh_counter_init(&c);
	char k[32];
	bool all = true;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 200000; i++) {
			int n = snprintf(k, sizeof k, "did:plc:%d", i);
			atfh_counter_add(&c, k, (size_t)n, (uint64_t)(i % 7) + 1);
		}
	ok(c.n == 200000, "counter: 200000 distinct keys (got %zu)", c.n);
	for (int i = 0; i < 200000 && all; i++) {
		int n = snprintf(k, sizeof k, "did:plc:%d", i);
		bool added;
		size_t idx = atfh_counter_index(&c, k, (size_t)n, &added);
		size_t kn;
		const char *kp = atfh_counter_key(&c, idx, &kn);
		all = !added && *atfh_counter_count(&c, idx) == 3 * ((uint64_t)(i % 7) + 1) &&
		      kn == (size_t)n && memcmp(kp, k, kn) == 0;
	}
	ok(all, "counter: every count and key exact after growth");
	atfh_counter_add(&c, "", 0, 5);
	bool added;
	size_t e = atfh_counter_index(&c, "", 0, &added);
	ok(!added && *atfh_counter_count(&c, e) == 5, "counter: the empty key is a key");
	atfh_counter_reset(&c);
	ok(c.n == 0 && c.total == 0, "counter: reset forgets everything");
	atfh_counter_index(&c, "x", 1, &added);
	ok(added && c.n == 1, "counter: usable after reset");
	atfh_counter_free(&c);
}

/* --top and the row limit kept in a heap as the keys go by: the same rows,
 * order and "more" as every row sorted and cut.  A tally merged from
 * several (-T workers': kept as sets of their own up to ATFH_TALLY_SETS,
 * merged key by key beyond; added up when the rows are made, for --top
 * only the keys that can be among them) gives the rows of one tally that
 * counted everything. */
static void test_tally_rows(void)
{
	enum { PARTS = 6 };
	struct atfh_tally m = { 0 }, part[PARTS], one = { 0 };
	atfh_tally_start(&m);
	atfh_tally_start(&one);
	for (int p = 0; p < PARTS; p++) {
		memset(&part[p], 0, sizeof part[p]);
		atfh_tally_start(&part[p]);
	}
	char k[32];
	for (int i = 0; i < 12000; i++) {
		int n = snprintf(k, sizeof k, "k%d", (int)(next_rand() % 3000));
		uint64_t inc = next_rand() % 4 + 1;
		atfh_counter_add(&part[i % PARTS].set[0].c, k, (size_t)n, inc);
		atfh_counter_add(&one.set[0].c, k, (size_t)n, inc);
	}
	for (int p = 0; p < PARTS; p++)
		atfh_tally_merge(&m, &part[p]);
	ok(m.nsets == ATFH_TALLY_SETS && part[0].set[0].c.n == 0 && part[PARTS - 1].set[0].c.n == 0,
	   "tally: merged tallies kept as sets, the merged ones emptied");
	size_t nall, more;
	struct atfh_tally_row *all = atfh_tally_rows(&one, 0, &nall, &more);
	bool good = true, same = true;
	static const uint64_t tops[] = { 0, 1, 7, 100, 2999, 3000, 5000 };
	static const size_t limits[] = { 0, 1, 5, 100, 4000 };
	static const uint64_t mins[] = { 0, 3, 9, 60 };
	for (size_t x = 0; x < 7; x++)
		for (size_t y = 0; y < 5; y++)
			for (size_t z = 0; z < 4; z++) {
				one.top = m.top = tops[x];
				one.min = m.min = mins[z];
				size_t nq = 0; /* rows at or above --min, best first */
				for (size_t i = 0; i < nall; i++)
					nq += all[i].count >= one.min;
				size_t kept = one.top && one.top < nq ? (size_t)one.top : nq;
				size_t want = limits[y] && limits[y] < kept ? limits[y] : kept;
				size_t n, mn, mmore;
				struct atfh_tally_row *r = atfh_tally_rows(&one, limits[y], &n, &more);
				struct atfh_tally_row *mr = atfh_tally_rows(&m, limits[y], &mn, &mmore);
				good = good && n == want && more == kept - want;
				for (size_t i = 0, j = 0; i < n && good; j++) {
					if (all[j].count < one.min)
						continue;
					good = r[i].klen == all[j].klen && r[i].count == all[j].count &&
					       memcmp(r[i].key, all[j].key, r[i].klen) == 0;
					i++;
				}
				same = same && mn == n && mmore == more;
				for (size_t i = 0; i < n && same; i++)
					same = mr[i].klen == r[i].klen && mr[i].count == r[i].count &&
					       memcmp(mr[i].key, r[i].key, r[i].klen) == 0;
				free(r);
				free(mr);
			}
	ok(good, "tally: --top, --min and the limit pick the rows a full sort would");
	ok(same, "tally: merged tallies give the rows of one, for every --top, --min and limit");
	free(all);
	atfh_tally_free(&m);
	for (int p = 0; p < PARTS; p++)
		atfh_tally_free(&part[p]);
	atfh_tally_free(&one);
}

static void test_hll(void)
{
	struct atfh_hll h;
	atfh_hll_init(&h);
	ok(atfh_hll_estimate(&h) == 0, "hll: empty is 0");
	char k[32];
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(k, sizeof k, "v%d", i);
		atfh_hll_add(&h, k, (size_t)n);
		atfh_hll_add(&h, k, (size_t)n);
	}
	ok(atfh_hll_estimate(&h) == 1000, "hll: exact while sparse (1000 distinct, each twice)");
	atfh_hll_add_hash(&h, 0);
	ok(atfh_hll_estimate(&h) == 1001, "hll: the hash 0 counts once");
	atfh_hll_free(&h);
	/* full, a value seen again keeps it exact, whatever the order (-T
	 * workers merge sketches that saw the values in another order) */
	for (int i = 0; i < 1536; i++) {
		int n = snprintf(k, sizeof k, "w%d", i);
		atfh_hll_add(&h, k, (size_t)n);
	}
	atfh_hll_add(&h, "w0", 2);
	ok(!h.reg && atfh_hll_estimate(&h) == 1536,
	   "hll: 1536 distinct, one seen again: still exact");
	atfh_hll_add(&h, "w1536", 5);
	ok(h.reg != NULL, "hll: the 1537th distinct value: registers");
	atfh_hll_free(&h);

	static const uint64_t sizes[] = { 2000, 5000, 20000, 50000, 200000, 1000000 };
	double worst = 0;
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		for (int trial = 0; trial < 3; trial++) {
			atfh_hll_init(&h);
			for (uint64_t i = 0; i < sizes[s]; i++) {
				int n = snprintf(k, sizeof k, "t%d-%llu", trial, (unsigned long long)i);
				atfh_hll_add(&h, k, (size_t)n);
			}
			double e = (double)atfh_hll_estimate(&h);
			double rel = fabs(e - (double)sizes[s]) / (double)sizes[s];
			if (rel > worst)
				worst = rel;
			ok(rel <= 0.02, "hll: %llu distinct (trial %d): estimate %.0f, error %.2f%%",
			   (unsigned long long)sizes[s], trial, e, rel * 100);
			atfh_hll_free(&h);
		}
	}
	printf("# hll: worst relative error %.3f%%\n", worst * 100);

	struct atfh_hll a, b;
	atfh_hll_init(&a);
	atfh_hll_init(&b);
	for (int i = 0; i < 30000; i++) {
		int n = snprintf(k, sizeof k, "m%d", i);
		atfh_hll_add(i < 20000 ? &a : &b, k, (size_t)n);
		if (i >= 10000 && i < 20000)
			atfh_hll_add(&b, k, (size_t)n);
	}
	atfh_hll_merge(&a, &b);
	double e = (double)atfh_hll_estimate(&a);
	ok(fabs(e - 30000) / 30000 <= 0.02, "hll: merge of overlapping sketches (%.0f of 30000)", e);
	atfh_hll_free(&a);
	atfh_hll_free(&b);
}

static void test_topk(void)
{
	/* zipf-ish stream over 5000 keys; 100 counters */
	enum { KEYS = 5000, N = 200000, CAP = 100 };
	static uint64_t truth[KEYS];
	struct atfh_topk t;
	atfh_topk_init(&t, CAP);
	char k[32];
	for (int i = 0; i < N; i++) {
		double u = (double)(next_rand() >> 11) / 9007199254740992.0;
		int key = (int)(pow(u, 3) * KEYS);
		truth[key]++;
		int n = snprintf(k, sizeof k, "key%d", key);
		atfh_topk_add(&t, k, (size_t)n);
	}
	ok(t.n == CAP && t.total == N, "topk: full, total %llu", (unsigned long long)t.total);
	bool bounds = true;
	uint64_t sum = 0;
	for (size_t i = 0; i < t.n; i++) {
		const struct atfh_topk_slot *s = &t.slot[i];
		char kb[32];
		snprintf(kb, sizeof kb, "%.*s", (int)s->len, s->key);
		int key = atoi(kb + 3);
		uint64_t tr = truth[key];
		sum += s->count;
		if (!(s->count >= tr && s->count - s->error <= tr))
			bounds = false;
	}
	ok(bounds, "topk: count - error <= true count <= count for every counter");
	ok(sum == N, "topk: the counters sum to the stream length");
	bool heavy = true;
	for (int key = 0; key < KEYS; key++) {
		if (truth[key] * CAP <= N)
			continue;
		int n = snprintf(k, sizeof k, "key%d", key);
		bool found = false;
		for (size_t i = 0; i < t.n; i++)
			if (t.slot[i].len == (size_t)n && memcmp(t.slot[i].key, k, (size_t)n) == 0)
				found = true;
		heavy &= found;
	}
	ok(heavy, "topk: every key above total/capacity is monitored");
	atfh_topk_reset(&t);
	atfh_topk_add(&t, "a", 1);
	size_t s = atfh_topk_add(&t, "a", 1);
	ok(t.n == 1 && t.slot[s].count == 2 && t.slot[s].error == 0, "topk: reset, then exact while not full");
	atfh_topk_free(&t);
}

static void str_is(struct atfh_out *o, const char *want, const char *what)
{
	bool same = o->len == strlen(want) && (!o->len || memcmp(o->buf, want, o->len) == 0);
	ok(same, "%s", what);
	if (!same)
		printf("#   got:      %.*s\n#   expected: %s\n", (int)o->len, o->buf ? o->buf : "", want);
	o->len = 0;
}

static void eval_is(const char *line, const char *path, const char *want)
{
	struct atfh_ev e;
	struct atfh_evpath p;
	struct atfh_out o = { .fd = -1 };
	char err[200], what[300];
	const char *e2;
	atfh_ev_init(&e);
	snprintf(what, sizeof what, "evpath: %s -> %s", path, want);
	if (atfh_evpath_parse(&p, path, err, sizeof err)) {
		ok(false, "%s (%s)", what, err);
		return;
	}
	if (atfh_ev_set_line(&e, line, strlen(line), &e2)) {
		ok(false, "%s (line: %s)", what, e2);
		atfh_evpath_free(&p);
		return;
	}
	struct atfh_evval v;
	atfh_evpath_eval(&p, &e, &v, &e2);
	if (v.type == ATFH_EV_MISSING)
		atfh_out_lit(&o, "MISSING");
	else
		atfh_evval_json(&o, &v);
	str_is(&o, want, what);
	atfh_out_free(&o);
	atfh_evpath_free(&p);
	atfh_ev_free(&e);
}

static void test_evpath(void)
{
	static const char *const bad[] = { "", ".", "a..b", "a.", "a[", "a[x]", "a[1", "a b",
					   "[\"x", "a]", "a[-0]", "..a", NULL };
	for (int i = 0; bad[i]; i++) {
		struct atfh_evpath p;
		char err[200];
		ok(atfh_evpath_parse(&p, bad[i], err, sizeof err) == -1, "evpath: '%s' is rejected (%s)",
		   bad[i], err);
	}
	const char *line =
	    "{\"did\":\"did:plc:a\",\"time_us\":1732000000123000,\"kind\":\"commit\",\"seq\":42,"
	    "\"commit\":{\"rev\":\"r\",\"operation\":\"create\",\"collection\":\"app.bsky.feed.post\","
	    "\"rkey\":\"3l\",\"record\":{\"$type\":\"app.bsky.feed.post\",\"langs\":[\"da\", \"en\"],"
	    "\"text\":\"caf\\u00e9 \\/ \\\"q\\\"\",\"reply\":{\"parent\":{\"uri\":\"at://x\"}},"
	    "\"a.b\":{ \"c\" : [1, {\"d\" : true}] },\"nul\":null,\"esc\\u0041\":1},\"cid\":\"bafy\"}}";
	eval_is(line, "did", "\"did:plc:a\"");
	eval_is(line, ".did", "\"did:plc:a\"");
	eval_is(line, "time_us", "1732000000123000");
	eval_is(line, "commit.collection", "\"app.bsky.feed.post\"");
	eval_is(line, "commit.record.langs[0]", "\"da\"");
	eval_is(line, "commit.record.langs[1]", "\"en\"");
	eval_is(line, "commit.record.langs[-1]", "\"en\"");
	eval_is(line, "commit.record.langs[-2]", "\"da\"");
	eval_is(line, "commit.record.langs[2]", "MISSING");
	eval_is(line, "commit.record.langs[-3]", "MISSING");
	eval_is(line, "commit.record.langs", "[\"da\",\"en\"]");
	eval_is(line, "commit.record.reply.parent.uri", "\"at://x\"");
	eval_is(line, "commit.record.text", "\"café / \\\"q\\\"\"");
	eval_is(line, "commit.record[\"$type\"]", "\"app.bsky.feed.post\"");
	eval_is(line, "commit.record.$type", "\"app.bsky.feed.post\"");
	eval_is(line, "commit.record[\"a.b\"].c[1].d", "true");
	eval_is(line, "commit.record[\"a.b\"]", "{\"c\":[1,{\"d\":true}]}");
	eval_is(line, "commit.record.nul", "null");
	eval_is(line, "commit.record.escA", "1");
	eval_is(line, "commit.record.missing.deeper", "MISSING");
	eval_is(line, "did.x", "MISSING");
	eval_is(line, "commit[0]", "MISSING");
	eval_is(line, "identity.handle", "MISSING");
	/* member names compared without undoing escapes when they cannot hold
	 * any: a name as long as the wanted one matches only byte for byte and
	 * without escapes (the escaped \n is a newline, not the path's
	 * backslash and n), a longer one may be escaped */
	eval_is("{\"k\\n\":2,\"k\\\\n\":1}", "[\"k\\\\n\"]", "1");
	eval_is("{\"k\\n\":2,\"k\\\\n\":1}", "[\"k\\\\n\"].x", "MISSING");
	eval_is("{\"\\u0064id\":\"x\",\"di\":1}", "did", "\"x\"");
	eval_is("{\"di\\\"\":1,\"did\":2}", "did", "2");

	struct atfh_out o = { .fd = -1 };
	const char *js = "{ \"a\" : [ 1 , \"x\\u0000\\u001f\\u00e9\\ud83d\\ude00\\/\" ] }";
	atfh_json_canonical(&o, js, strlen(js));
	str_is(&o, "{\"a\":[1,\"x\\u0000\\u001f\xc3\xa9\xf0\x9f\x98\x80/\"]}", "canonical: compact, minimal escapes");
	atfh_json_unescape(&o, "a\\nb\\ud800c", 11);
	str_is(&o, "a\nb\xef\xbf\xbd" "c", "unescape: lone surrogate becomes U+FFFD");
	atfh_out_free(&o);
}

/* the JSON scanner's eight-bytes-at-a-time string loop, at every
 * position of a special byte around the word boundaries */
static void test_scan_positions(void)
{
	static const struct {
		const char *x;
		bool valid;
	} cases[] = {
		{ "\\\"", true }, { "\\\\", true }, { "\\u00e9", true }, { "\xc3\xa9", true },
		{ "\xf0\x9f\x98\x80", true }, { "\x01", false }, { "\x1f", false },
		{ "\xff", false }, { "\xc3", false }, { "\x7f", true }, { " ", true },
	};
	bool all = true;
	char line[128], what[64];
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (int i = 0; i < 20; i++)
			for (int j = 0; j < 12; j++) {
				int n = snprintf(line, sizeof line, "{\"k\":\"%.*s%s%.*s\",\"z\":1}", i,
						 "aaaaaaaaaaaaaaaaaaaa", cases[c].x, j, "bbbbbbbbbbbb");
				struct atfh_jobj o;
				const char *err;
				int r = atfh_jobj_parse(&o, line, (size_t)n, &err);
				bool good = r == 0 && o.n == 2 &&
					    o.f[0].val.n == (size_t)i + strlen(cases[c].x) + (size_t)j;
				if (good != cases[c].valid) {
					snprintf(what, sizeof what, "case %zu at %d+%d", c, i, j);
					all = false;
				}
			}
	ok(all, "jsonscan: special bytes at every position of a string%s%s", all ? "" : ": ",
	   all ? "" : what);
	/* a raw quote ends the string wherever it is */
	all = true;
	for (int i = 0; i < 20; i++) {
		int n = snprintf(line, sizeof line, "{\"k\":\"%.*s\"}", i, "aaaaaaaaaaaaaaaaaaaa");
		struct atfh_jobj o;
		const char *err;
		all &= atfh_jobj_parse(&o, line, (size_t)n, &err) == 0 && o.f[0].val.n == (size_t)i;
	}
	ok(all, "jsonscan: the closing quote at every position");
}

static void test_jq(void)
{
	struct atfh_jqexpr x;
	struct atfh_out o = { .fd = -1 };
	char err[600];
	const char *e;
	ok(atfh_jqexpr_compile(&x, ".did |", err, sizeof err) == -1, "jq: syntax error (%s)", err);
	ok(atfh_jqexpr_compile(&x, ".a[]", err, sizeof err) == 0, "jq: compiles");
	const char *in = "{\"a\":[\"x\\u007f\",2,{\"b\" : null}]}";
	ok(atfh_jqexpr_start(&x, in, strlen(in), &e) == 0, "jq: starts");
	int n = 0, r;
	while ((r = atfh_jqexpr_next(&x, &o, false, &e)) == 1) {
		atfh_out_c(&o, ' ');
		n++;
	}
	ok(r == 0 && n == 3, "jq: three outputs, then the end");
	str_is(&o, "\"x\x7f\" 2 {\"b\":null} ", "jq: outputs in canonical JSON");
	atfh_jqexpr_start(&x, "{\"a\":5}", 7, &e);
	r = atfh_jqexpr_next(&x, &o, false, &e);
	ok(r == -1, "jq: runtime error (%s)", r == -1 ? e : "none");
	o.len = 0;
	ok(atfh_jqexpr_start(&x, "{", 1, &e) == -1, "jq: unparsable input is an error");
	atfh_jqexpr_free(&x);
	atfh_jqexpr_compile(&x, ".k == \"v\"", err, sizeof err);
	ok(atfh_jqexpr_test(&x, "{\"k\":\"v\"}", 9, &e) == 1, "jq: test true");
	ok(atfh_jqexpr_test(&x, "{\"k\":\"w\"}", 9, &e) == 0, "jq: test false");
	atfh_jqexpr_free(&x);
	atfh_jqexpr_compile(&x, ".s", err, sizeof err);
	atfh_jqexpr_start(&x, "{\"s\":\"a\\tb\"}", 12, &e);
	atfh_jqexpr_next(&x, &o, true, &e);
	str_is(&o, "a\tb", "jq: raw string output");
	atfh_jqexpr_free(&x);
	atfh_out_free(&o);
}

int main(void)
{
	test_counter();
	test_tally_rows();
	test_hll();
	test_topk();
	test_evpath();
	test_scan_positions();
	test_jq();
	printf("1..%d\n", n_test);
	return n_fail ? 1 : 0;
}
