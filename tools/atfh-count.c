/*
 * atfh-count — counts, top-N and live tallies of events by key.
 *
 * Each event (a jetstream NDJSON line, or one op of a frame's commit) gives
 * a key: the canonical JSON values of the --by paths and --by-jq outputs,
 * joined by NUL bytes (compact JSON never holds one).  Keys are counted
 * exactly (lib/counter) or with Space-Saving (lib/topk, --approx); per key
 * a HyperLogLog (lib/hll) can estimate distinct values of another path.
 * Results go out at the end, every --every, per --window or per event
 * (--live), as NDJSON, TSV, an aligned table or a template.
 */
#include "cli.h"
#include "counter.h"
#include "event.h"
#include "evpath.h"
#include "hll.h"
#include "jqexpr.h"
#include "json.h"
#include "loop.h"
#include "outfile.h"
#include "topk.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

enum {
	OPT_BY_JQ = ATFH_OPT_TOOL_FIRST,
	OPT_MIN,
	OPT_APPROX,
	OPT_EVERY,
	OPT_RESET,
	OPT_FORMAT,
	OPT_TSV,
	OPT_NDJSON,
	OPT_DISTINCT, /* no -d: atfh-grep and atfh-subscribe use it for --did */
};

static const struct atfh_option options[] = {
	{ 'b', "by", "[NAME=]PATH", ATFH_ARG_STRING, NULL,
	  "count by the value at PATH (repeatable): did, kind, commit.collection, "
	  "commit.record.langs[0], ...; missing counts as null; NAME names the "
	  "field in the output" },
	{ OPT_BY_JQ, "by-jq", "[NAME=]EXPR", ATFH_ARG_STRING, NULL,
	  "count by each output of the jq expression EXPR (repeatable)" },
	{ 'n', "top", "N", ATFH_ARG_NUMBER, NULL, "only the N largest counts" },
	{ OPT_MIN, "min", "N", ATFH_ARG_NUMBER, NULL, "only keys counted at least N times" },
	{ OPT_DISTINCT, "distinct", "PATH", ATFH_ARG_STRING, NULL,
	  "also estimate the distinct values of PATH per key (HyperLogLog, "
	  "relative error under 2%)" },
	{ OPT_APPROX, "approx", "N", ATFH_ARG_NUMBER, NULL,
	  "bounded memory: keep N counters (Space-Saving); each count comes "
	  "with its error bound" },
	{ OPT_EVERY, "every", "DUR", ATFH_ARG_DURATION, NULL,
	  "print a snapshot every DUR of wall-clock time while reading" },
	{ OPT_RESET, "reset", NULL, ATFH_ARG_NONE, NULL,
	  "start again from zero after each snapshot" },
	{ 'w', "window", "DUR", ATFH_ARG_DURATION, NULL,
	  "tumbling windows of DUR by event time, each printed when it closes" },
	{ 'l', "live", NULL, ATFH_ARG_NONE, NULL,
	  "one line per event with the running count of its key" },
	{ OPT_FORMAT, "format", "TEMPLATE", ATFH_ARG_STRING, NULL,
	  "write each line from TEMPLATE: {PATH}, {count}, {distinct}, ..." },
	{ 't', "table", NULL, ATFH_ARG_NONE, NULL,
	  "aligned table (the default when stdout is a terminal)" },
	{ OPT_TSV, "tsv", NULL, ATFH_ARG_NONE, NULL, "tab-separated values with a header line" },
	{ OPT_NDJSON, "ndjson", NULL, ATFH_ARG_NONE, NULL,
	  "one JSON object per key (the default when stdout is not a terminal)" },
	{ 'o', "output", "FILE", ATFH_ARG_FILE, NULL,
	  "write to FILE (completed atomically; with --every, replaced by each "
	  "snapshot)" },
	ATFH_OPTS_COMMON_INPUT,
	ATFH_OPTS_COMMON_STATS,
	ATFH_OPTS_COMMON_END,
};

static const struct atfh_program program = {
	.name = "atfh-count",
	.args = "[FILE]...",
	.summary = "Count events by key: totals, top-N, distinct values, snapshots, windows\n"
		   "or live running counts.  FILE may be frames, jetstream NDJSON or either\n"
		   "zstd-compressed; none or - reads stdin.",
	.options = options,
	.epilog = "Examples:\n"
		  "  atfh-count --by commit.collection --top 10 capture.atfh.zst\n"
		  "  atfh-count --by commit.collection --distinct did capture.atfh\n"
		  "  atfh-subscribe | atfh-count --by did --top 20 --every 5s\n"
		  "  atfh-subscribe | atfh-count --live --by did \\\n"
		  "      --format '{did} has posted {count} times since startup'\n"
		  "SIGUSR1 prints a snapshot; SIGINT, SIGTERM or the end of the input the\n"
		  "final result.\n"
		  "Exit status: 0 ok, 2 usage or I/O error (or a jq error), 3 malformed\n"
		  "records skipped.\n",
};

enum outfmt { FMT_AUTO, FMT_NDJSON, FMT_TABLE, FMT_TSV };

struct keypart {
	const char *name;   /* NAME of NAME=PATH, else the path as given */
	char *alloc_name;
	bool is_jq;
	struct atfh_evpath path;
	struct atfh_jqexpr jq;
};

/* template pieces */
enum tkind { T_LIT, T_PART, T_COUNT, T_ERROR, T_DISTINCT, T_WSTART, T_WEND, T_LATE,
	     T_SNAPSHOT, T_PATH };

struct tpiece {
	enum tkind kind;
	char *lit;
	size_t lit_len;
	size_t part;
	struct atfh_evpath path;
};

/* what an output line says beyond the key */
struct rowctx {
	const char *key;
	size_t klen;
	uint64_t count, error, distinct;
	struct atfh_ev *ev;   /* --live: the event */
};

struct count {
	struct atfh_loop loop;
	struct atfh_out out;
	const char *output;

	struct keypart *parts;
	size_t nparts, parts_cap;
	bool has_jq;
	struct atfh_evpath distinct;
	bool has_distinct;
	uint64_t top, min, approx, every_ms, window_ms;
	bool reset, live;
	enum outfmt fmt;
	const char *tmpl_src;
	struct tpiece *tmpl;
	size_t ntmpl;
	int need_render;      /* frames: 0 cheap fields only, 1 JSON, 2 with records */

	/* counting */
	struct atfh_msg msg;
	struct atfh_ev ev;
	struct atfh_counter exact;
	struct atfh_hll *hll;
	size_t hll_cap;
	struct atfh_topk ss;
	struct atfh_out key, vals, scratch;
	size_t *val_off, *val_cnt, *val_idx;
	size_t val_off_cap;

	/* windows */
	bool win_open;
	int64_t win_start, win_end;
	uint64_t late;

	/* output state */
	bool snapfile;        /* --every -o FILE: each snapshot replaces FILE */
	bool redraw;          /* a terminal: snapshots redraw the screen */
	bool header_done;     /* TSV header written */
	bool block_done;      /* something printed before (blank line between) */
	const char *snapshot; /* the current block is a snapshot taken then */
	char snapbuf[40];
	bool in_window;       /* the current block is a window */
	double next_every;
	uint64_t jq_errors;
	bool write_failed;
};

static volatile sig_atomic_t usr1;

/* ---- options -------------------------------------------------------------- */

static int number(const char *opt, const char *arg, uint64_t lo, uint64_t hi, uint64_t *v)
{
	if (atfh_parse_uint(arg, v) || *v < lo || *v > hi) {
		if (hi == UINT64_MAX)
			atfh_err("%s: '%s' is not a whole number of at least %llu", opt, arg,
				 (unsigned long long)lo);
		else
			atfh_err("%s: '%s' is not a whole number from %llu to %llu", opt, arg,
				 (unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	return 0;
}

static int duration(const char *opt, const char *arg, uint64_t *ms)
{
	if (atfh_parse_duration_ms(arg, ms) || *ms == 0 || *ms > 366ull * 86400000) {
		atfh_err("%s: '%s' is not a duration (e.g. 10s, 500ms, 5m, 1h)", opt, arg);
		return -1;
	}
	return 0;
}

static int on_option(int id, const char *arg, void *ctx)
{
	struct count *c = ctx;
	char err[600];
	int r = atfh_loop_option(&c->loop, id, arg);
	if (r)
		return r < 0 ? -1 : 0;
	switch (id) {
	case 'b':
	case OPT_BY_JQ: {
		atfh_grow_array((void **)&c->parts, &c->parts_cap, c->nparts + 1, sizeof *c->parts);
		struct keypart *k = &c->parts[c->nparts];
		memset(k, 0, sizeof *k);
		k->is_jq = id == OPT_BY_JQ;
		k->name = arg;
		/* NAME=PATH, NAME=EXPR: NAME is the field name in the output */
		size_t nl = 0;
		if ((arg[0] >= 'A' && arg[0] <= 'Z') || (arg[0] >= 'a' && arg[0] <= 'z') ||
		    arg[0] == '_')
			nl = strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789_-");
		if (nl && arg[nl] == '=' && arg[nl + 1] != '=' && arg[nl + 1]) {
			k->name = k->alloc_name = atfh_xmalloc(nl + 1);
			memcpy(k->alloc_name, arg, nl);
			k->alloc_name[nl] = '\0';
			arg += nl + 1;
		}
		if (k->is_jq ? atfh_jqexpr_compile(&k->jq, arg, err, sizeof err)
			     : atfh_evpath_parse(&k->path, arg, err, sizeof err)) {
			atfh_err("%s: %s", k->is_jq ? "--by-jq" : "--by", err);
			return -1;
		}
		c->has_jq |= k->is_jq;
		c->nparts++;
		return 0;
	}
	case OPT_DISTINCT:
		if (c->has_distinct) {
			atfh_err("--distinct: give it once");
			return -1;
		}
		if (atfh_evpath_parse(&c->distinct, arg, err, sizeof err)) {
			atfh_err("--distinct: %s", err);
			return -1;
		}
		c->has_distinct = true;
		return 0;
	case 'n':
		return number("--top", arg, 1, UINT64_MAX, &c->top);
	case OPT_MIN:
		return number("--min", arg, 0, UINT64_MAX, &c->min);
	case OPT_APPROX:
		return number("--approx", arg, 1, 10000000, &c->approx);
	case OPT_EVERY:
		return duration("--every", arg, &c->every_ms);
	case 'w':
		return duration("--window", arg, &c->window_ms);
	case OPT_RESET:
		c->reset = true;
		return 0;
	case 'l':
		c->live = true;
		return 0;
	case OPT_FORMAT:
		c->tmpl_src = arg;
		return 0;
	case 't':
		c->fmt = FMT_TABLE;
		return 0;
	case OPT_TSV:
		c->fmt = FMT_TSV;
		return 0;
	case OPT_NDJSON:
		c->fmt = FMT_NDJSON;
		return 0;
	case 'o':
		c->output = arg;
		return 0;
	}
	return -1;
}

/* ---- templates ------------------------------------------------------------ */

static void tmpl_add(struct count *c, size_t *cap, struct tpiece p)
{
	atfh_grow_array((void **)&c->tmpl, cap, c->ntmpl + 1, sizeof *c->tmpl);
	c->tmpl[c->ntmpl++] = p;
}

static void tmpl_lit(struct count *c, size_t *cap, struct atfh_out *lit)
{
	if (!lit->len)
		return;
	char *s = atfh_xmalloc(lit->len);
	memcpy(s, lit->buf, lit->len);
	tmpl_add(c, cap, (struct tpiece){ .kind = T_LIT, .lit = s, .lit_len = lit->len });
	lit->len = 0;
}

static void tmpl_parse(struct count *c)
{
	static const struct {
		const char *name;
		enum tkind kind;
	} fields[] = {
		{ "count", T_COUNT },          { "error", T_ERROR },
		{ "distinct", T_DISTINCT },    { "window_start", T_WSTART },
		{ "window_end", T_WEND },      { "late", T_LATE },
		{ "snapshot", T_SNAPSHOT },
	};
	const char *s = c->tmpl_src;
	struct atfh_out lit = { .fd = -1 };
	size_t cap = 0;
	while (*s) {
		if (*s == '\\' && s[1]) {
			char e = s[1];
			atfh_out_c(&lit, e == 'n' ? '\n' : e == 't' ? '\t' : e == '\\' ? '\\' : e);
			if (!strchr("nt\\", e)) { /* not an escape: keep it as written */
				lit.buf[lit.len - 1] = '\\';
				atfh_out_c(&lit, e);
			}
			s += 2;
			continue;
		}
		if ((*s == '{' && s[1] == '{') || (*s == '}' && s[1] == '}')) {
			atfh_out_c(&lit, *s);
			s += 2;
			continue;
		}
		if (*s == '}')
			atfh_usage_error("--format: unmatched '}' (write '}}' for a brace)");
		if (*s != '{') {
			atfh_out_c(&lit, *s++);
			continue;
		}
		const char *e = strchr(s + 1, '}');
		/* a name may hold ["..."] with braces in it: find the real end */
		while (e) {
			size_t quotes = 0;
			for (const char *q = s + 1; q < e; q++)
				if (*q == '"' && q[-1] != '\\')
					quotes++;
			if (quotes % 2 == 0)
				break;
			e = strchr(e + 1, '}');
		}
		if (!e)
			atfh_usage_error("--format: '{' without its '}' (write '{{' for a brace)");
		size_t n = (size_t)(e - s - 1);
		char *name = atfh_xmalloc(n + 1);
		memcpy(name, s + 1, n);
		name[n] = '\0';
		tmpl_lit(c, &cap, &lit);
		struct tpiece p = { .kind = T_PATH };
		bool found = false;
		for (size_t i = 0; i < c->nparts && !found; i++)
			if (strcmp(name, c->parts[i].name) == 0) {
				p.kind = T_PART;
				p.part = i;
				found = true;
			}
		for (size_t i = 0; i < sizeof fields / sizeof fields[0] && !found; i++)
			if (strcmp(name, fields[i].name) == 0) {
				p.kind = fields[i].kind;
				found = true;
			}
		if (!found) {
			char err[600];
			if (!c->live)
				atfh_usage_error("--format: {%s} is neither a --by key nor a result field "
						 "(event fields need --live)", name);
			if (atfh_evpath_parse(&p.path, name, err, sizeof err))
				atfh_usage_error("--format: {%s}: %s", name, err);
		}
		if (p.kind == T_ERROR && !c->approx)
			atfh_usage_error("--format: {error} needs --approx");
		if (p.kind == T_DISTINCT && !c->has_distinct)
			atfh_usage_error("--format: {distinct} needs --distinct");
		if ((p.kind == T_WSTART || p.kind == T_WEND || p.kind == T_LATE) && !c->window_ms)
			atfh_usage_error("--format: {%s} needs --window", name);
		free(name);
		tmpl_add(c, &cap, p);
		s = e + 1;
	}
	tmpl_lit(c, &cap, &lit);
	atfh_out_free(&lit);
}

/* ---- values and cells ----------------------------------------------------- */

/* Part I of KEY (the values joined by NUL). */
static const char *key_part(const char *key, size_t klen, size_t i, size_t *n)
{
	const char *p = key, *end = key + klen;
	for (; i > 0; i--) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		p = z ? z + 1 : end;
	}
	const char *z = memchr(p, '\0', (size_t)(end - p));
	*n = (size_t)((z ? z : end) - p);
	return p;
}

/* JSON text → text: a string without quotes and escapes. */
static void put_text(struct atfh_out *o, const char *p, size_t n)
{
	if (n >= 2 && p[0] == '"')
		atfh_json_unescape(o, p + 1, n - 2);
	else
		atfh_out_put(o, p, n);
}

/* JSON text → a TSV cell: text with \t \n \r \\ escaped. */
static void put_tsv(struct atfh_out *o, const char *p, size_t n)
{
	size_t mark = o->len;
	put_text(o, p, n);
	size_t extra = 0;
	for (size_t i = mark; i < o->len; i++) {
		char ch = o->buf[i];
		extra += ch == '\t' || ch == '\n' || ch == '\r' || ch == '\\';
	}
	if (!extra)
		return;
	atfh_out_reserve(o, extra);
	char *b = o->buf + mark;
	size_t len = o->len - mark, w = len + extra;
	for (size_t i = len; i-- > 0;) {
		char ch = b[i];
		const char *esc = ch == '\t' ? "\\t" : ch == '\n' ? "\\n" : ch == '\r' ? "\\r"
			      : ch == '\\' ? "\\\\" : NULL;
		if (esc) {
			b[--w] = esc[1];
			b[--w] = '\\';
		} else {
			b[--w] = ch;
		}
	}
	o->len += extra;
}

/* JSON text → a table cell: strings without quotes (escapes kept, so
 * control characters never reach the terminal). */
static void put_cell(struct atfh_out *o, const char *p, size_t n)
{
	if (n >= 2 && p[0] == '"')
		atfh_out_put(o, p + 1, n - 2);
	else
		atfh_out_put(o, p, n);
}

static size_t width(const char *p, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)p[i] & 0xC0) != 0x80;
	return w;
}

static void put_u64(struct atfh_out *o, uint64_t v)
{
	atfh_json_u64(o, v);
}

/* ---- output lines --------------------------------------------------------- */

static void put_tmpl(struct count *c, struct atfh_out *o, const struct rowctx *r)
{
	for (size_t i = 0; i < c->ntmpl; i++) {
		const struct tpiece *p = &c->tmpl[i];
		size_t n;
		const char *v;
		switch (p->kind) {
		case T_LIT:
			atfh_out_put(o, p->lit, p->lit_len);
			break;
		case T_PART:
			v = key_part(r->key, r->klen, p->part, &n);
			put_text(o, v, n);
			break;
		case T_COUNT: put_u64(o, r->count); break;
		case T_ERROR: put_u64(o, r->error); break;
		case T_DISTINCT: put_u64(o, r->distinct); break;
		case T_WSTART:
		case T_WEND:
			if (c->in_window && c->win_open)
				atfh_json_i64(o, p->kind == T_WSTART ? c->win_start : c->win_end);
			else
				atfh_out_lit(o, "null");
			break;
		case T_LATE: put_u64(o, c->late); break;
		case T_SNAPSHOT:
			if (c->snapshot)
				atfh_out_put(o, c->snapshot, strlen(c->snapshot));
			break;
		case T_PATH: {
			struct atfh_evval ev = { .type = ATFH_EV_MISSING };
			const char *err;
			if (r->ev)
				atfh_evpath_eval(&p->path, r->ev, &ev, &err);
			atfh_evval_text(o, &ev);
			break;
		}
		}
	}
	atfh_out_c(o, '\n');
}

static void put_ndjson(struct count *c, struct atfh_out *o, const struct rowctx *r)
{
	char sep = '{';
	if (c->in_window) {
		atfh_out_lit(o, "{\"window_start\":");
		if (c->win_open)
			atfh_json_i64(o, c->win_start);
		else
			atfh_out_lit(o, "null");
		atfh_out_lit(o, ",\"window_end\":");
		if (c->win_open)
			atfh_json_i64(o, c->win_end);
		else
			atfh_out_lit(o, "null");
		sep = ',';
	}
	if (c->snapshot) {
		atfh_out_c(o, sep);
		atfh_out_lit(o, "\"snapshot\":\"");
		atfh_out_put(o, c->snapshot, strlen(c->snapshot));
		atfh_out_c(o, '"');
		sep = ',';
	}
	for (size_t i = 0; i < c->nparts; i++) {
		size_t n;
		const char *v = key_part(r->key, r->klen, i, &n);
		atfh_out_c(o, sep);
		atfh_json_str(o, c->parts[i].name, strlen(c->parts[i].name));
		atfh_out_c(o, ':');
		atfh_out_put(o, v, n);
		sep = ',';
	}
	atfh_out_c(o, sep);
	atfh_out_lit(o, "\"count\":");
	put_u64(o, r->count);
	if (c->approx) {
		atfh_out_lit(o, ",\"error\":");
		put_u64(o, r->error);
	}
	if (c->has_distinct) {
		atfh_out_lit(o, ",\"distinct\":");
		put_u64(o, r->distinct);
	}
	if (c->in_window) {
		atfh_out_lit(o, ",\"late\":");
		put_u64(o, c->late);
	}
	atfh_out_lit(o, "}\n");
}

static void tsv_header(struct count *c, struct atfh_out *o)
{
	const char *sep = "";
	if (c->window_ms) {
		atfh_out_lit(o, "window_start\twindow_end");
		sep = "\t";
	}
	if (c->every_ms) {
		atfh_out_put(o, sep, strlen(sep));
		atfh_out_lit(o, "snapshot");
		sep = "\t";
	}
	for (size_t i = 0; i < c->nparts; i++) {
		struct atfh_out tmp = { .fd = -1 };
		atfh_out_put(o, sep, strlen(sep));
		atfh_json_str(&tmp, c->parts[i].name, strlen(c->parts[i].name));
		put_tsv(o, tmp.buf, tmp.len);
		atfh_out_free(&tmp);
		sep = "\t";
	}
	atfh_out_put(o, sep, strlen(sep));
	atfh_out_lit(o, "count");
	if (c->approx)
		atfh_out_lit(o, "\terror");
	if (c->has_distinct)
		atfh_out_lit(o, "\tdistinct");
	if (c->window_ms)
		atfh_out_lit(o, "\tlate");
	atfh_out_c(o, '\n');
}

static void put_tsv_row(struct count *c, struct atfh_out *o, const struct rowctx *r)
{
	const char *sep = "";
	if (!c->header_done) {
		tsv_header(c, o);
		c->header_done = true;
	}
	if (c->window_ms) {
		if (c->in_window && c->win_open) {
			atfh_json_i64(o, c->win_start);
			atfh_out_c(o, '\t');
			atfh_json_i64(o, c->win_end);
		} else {
			atfh_out_lit(o, "null\tnull");
		}
		sep = "\t";
	}
	if (c->every_ms) {
		atfh_out_put(o, sep, strlen(sep));
		if (c->snapshot)
			atfh_out_put(o, c->snapshot, strlen(c->snapshot));
		sep = "\t";
	}
	for (size_t i = 0; i < c->nparts; i++) {
		size_t n;
		const char *v = key_part(r->key, r->klen, i, &n);
		atfh_out_put(o, sep, strlen(sep));
		put_tsv(o, v, n);
		sep = "\t";
	}
	atfh_out_put(o, sep, strlen(sep));
	put_u64(o, r->count);
	if (c->approx) {
		atfh_out_c(o, '\t');
		put_u64(o, r->error);
	}
	if (c->has_distinct) {
		atfh_out_c(o, '\t');
		put_u64(o, r->distinct);
	}
	if (c->window_ms) {
		atfh_out_c(o, '\t');
		put_u64(o, c->late);
	}
	atfh_out_c(o, '\n');
}

static void put_line(struct count *c, struct atfh_out *o, const struct rowctx *r)
{
	if (c->tmpl)
		put_tmpl(c, o, r);
	else if (c->fmt == FMT_TSV)
		put_tsv_row(c, o, r);
	else
		put_ndjson(c, o, r);
}

/* ---- result sets ---------------------------------------------------------- */

struct row {
	const char *key;
	size_t klen;
	uint64_t count, error;
	size_t id;
};

/* a before b: larger count first, then the key bytewise */
static int row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int r = n ? memcmp(a->key, b->key, n) : 0;
	if (r)
		return r;
	return a->klen < b->klen ? -1 : a->klen > b->klen;
}

/* keep the K best of ROWS[0..n) in ROWS[0..k): a heap with the worst on top */
static void heap_down(struct row *h, size_t k, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < k && row_cmp(&h[l], &h[m]) > 0)
			m = l;
		if (r < k && row_cmp(&h[r], &h[m]) > 0)
			m = r;
		if (m == i)
			return;
		struct row t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static size_t select_top(struct row *rows, size_t n, size_t k)
{
	if (k >= n)
		return n;
	for (size_t i = k / 2 + 1; i-- > 0;)
		heap_down(rows, k, i);
	for (size_t i = k; i < n; i++) {
		if (row_cmp(&rows[i], &rows[0]) < 0) {
			rows[0] = rows[i];
			heap_down(rows, k, 0);
		}
	}
	return k;
}

static uint64_t distinct_of(struct count *c, const struct row *r)
{
	if (!c->has_distinct || c->approx)
		return 0;
	return atfh_hll_estimate(&c->hll[r->id]);
}

/* The rows to print, sorted, --min and --top applied.  *more: how many
 * were left out by --top. */
static struct row *collect(struct count *c, size_t *nrows, size_t limit, size_t *more)
{
	size_t n = c->approx ? c->ss.n : c->exact.n;
	struct row *rows = atfh_xcalloc(n + 1, sizeof *rows);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct row r = { .id = i };
		if (c->approx) {
			const struct atfh_topk_slot *s = &c->ss.slot[i];
			r.key = s->key;
			r.klen = s->len;
			r.count = s->count;
			r.error = s->error;
		} else {
			r.key = atfh_counter_key(&c->exact, i, &r.klen);
			r.count = c->exact.count[i];
		}
		if (r.count >= c->min)
			rows[k++] = r;
	}
	/* counting events: one row, even when there is nothing to count */
	if (c->nparts == 0 && n == 0 && c->min == 0 && !c->in_window) {
		rows[0] = (struct row){ .key = "", .klen = 0, .id = SIZE_MAX };
		k = 1;
	}
	if (c->top && c->top < k)
		k = select_top(rows, k, (size_t)c->top);
	size_t before = k;
	if (limit && limit < k)
		k = select_top(rows, k, limit);
	qsort(rows, k, sizeof *rows, row_cmp);
	*more = before - k;
	*nrows = k;
	return rows;
}

static void fmt_time(char *buf, size_t size, int64_t us)
{
	if (us < -(INT64_MAX / 2)) { /* far outside what gmtime can show */
		snprintf(buf, size, "%lld", (long long)us);
		return;
	}
	time_t t = (time_t)(us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
	int64_t frac = us - (int64_t)t * 1000000;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, size, "%lld", (long long)us);
		return;
	}
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac % 1000)
		snprintf(buf + n, size - n, ".%06dZ", (int)frac);
	else if (frac)
		snprintf(buf + n, size - n, ".%03dZ", (int)(frac / 1000));
	else
		snprintf(buf + n, size - n, "Z");
}

/* The aligned table of ROWS, with a title line for snapshots and windows. */
static void put_table(struct count *c, struct atfh_out *o, struct row *rows, size_t n,
		      size_t more)
{
	size_t ncols = c->nparts + 1 + (c->approx != 0) + c->has_distinct;
	size_t nkeys = c->nparts;
	struct atfh_out cells = { .fd = -1 };
	size_t *off = atfh_xcalloc((n + 1) * ncols + 1, sizeof *off);
	size_t *w = atfh_xcalloc(ncols, sizeof *w);
	/* header */
	size_t ci = 0;
	for (size_t k = 0; k < nkeys; k++) {
		off[ci++] = cells.len;
		atfh_out_put(&cells, c->parts[k].name, strlen(c->parts[k].name));
	}
	off[ci++] = cells.len;
	atfh_out_lit(&cells, "count");
	if (c->approx) {
		off[ci++] = cells.len;
		atfh_out_lit(&cells, "error");
	}
	if (c->has_distinct) {
		off[ci++] = cells.len;
		atfh_out_lit(&cells, "distinct");
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < nkeys; k++) {
			size_t vn;
			const char *v = key_part(rows[i].key, rows[i].klen, k, &vn);
			off[ci++] = cells.len;
			put_cell(&cells, v, vn);
		}
		off[ci++] = cells.len;
		put_u64(&cells, rows[i].count);
		if (c->approx) {
			off[ci++] = cells.len;
			put_u64(&cells, rows[i].error);
		}
		if (c->has_distinct) {
			off[ci++] = cells.len;
			put_u64(&cells, distinct_of(c, &rows[i]));
		}
	}
	off[ci] = cells.len;
	for (size_t i = 0; i < ci; i++) {
		size_t cw = width(cells.buf + off[i], off[i + 1] - off[i]);
		if (cw > w[i % ncols])
			w[i % ncols] = cw;
	}
	if (c->snapshot || c->in_window) {
		if (c->in_window && c->win_open) {
			char a[48], b[48];
			fmt_time(a, sizeof a, c->win_start);
			fmt_time(b, sizeof b, c->win_end);
			atfh_out_lit(o, "window ");
			atfh_out_put(o, a, strlen(a));
			atfh_out_lit(o, " .. ");
			atfh_out_put(o, b, strlen(b));
			if (c->late) {
				char l[48];
				snprintf(l, sizeof l, "  (%llu late)", (unsigned long long)c->late);
				atfh_out_put(o, l, strlen(l));
			}
		} else if (c->in_window) {
			atfh_out_lit(o, "events without time_us");
		}
		if (c->snapshot) {
			if (c->in_window)
				atfh_out_lit(o, "  ");
			atfh_out_lit(o, "snapshot ");
			atfh_out_put(o, c->snapshot, strlen(c->snapshot));
			char ev[64];
			snprintf(ev, sizeof ev, "  %llu events",
				 (unsigned long long)c->loop.stats.events);
			atfh_out_put(o, ev, strlen(ev));
		}
		atfh_out_c(o, '\n');
	}
	for (size_t r = 0; r <= n; r++) {
		for (size_t k = 0; k < ncols; k++) {
			size_t i = r * ncols + k;
			const char *v = cells.buf + off[i];
			size_t vn = off[i + 1] - off[i], cw = width(v, vn);
			bool right = k >= nkeys;
			if (k)
				atfh_out_lit(o, "  ");
			if (right)
				for (size_t s = cw; s < w[k]; s++)
					atfh_out_c(o, ' ');
			atfh_out_put(o, v, vn);
			if (!right && k + 1 < ncols)
				for (size_t s = cw; s < w[k]; s++)
					atfh_out_c(o, ' ');
		}
		atfh_out_c(o, '\n');
	}
	if (more) {
		char m[64];
		snprintf(m, sizeof m, "... %zu more\n", more);
		atfh_out_put(o, m, strlen(m));
	}
	atfh_out_free(&cells);
	free(off);
	free(w);
}

static bool out_gone(struct count *c)
{
	return c->out.broken_pipe || c->out.error;
}

/* Print the current counts (a snapshot, a window or the final result). */
static void emit(struct count *c)
{
	struct atfh_out mem = { .fd = -1 };
	struct atfh_out *o = c->snapfile ? &mem : &c->out;
	if (out_gone(c))
		return;
	size_t limit = 0;
	if (c->redraw) {
		struct winsize ws;
		atfh_out_lit(o, "\033[H\033[2J");
		if (ioctl(c->out.fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 4)
			limit = ws.ws_row - 4; /* title, header, "more", the prompt */
	} else if (c->fmt == FMT_TABLE && c->block_done && !c->snapfile) {
		atfh_out_c(o, '\n');
	}
	size_t n, more;
	struct row *rows = collect(c, &n, limit, &more);
	if (c->snapfile)
		c->header_done = false;
	if (c->fmt == FMT_TABLE && !c->tmpl) {
		put_table(c, o, rows, n, more);
	} else {
		for (size_t i = 0; i < n; i++) {
			struct rowctx r = { rows[i].key, rows[i].klen, rows[i].count, rows[i].error,
					    distinct_of(c, &rows[i]), NULL };
			put_line(c, o, &r);
			if (!c->snapfile && (atfh_out_event_done(o), out_gone(c)))
				break; /* big results go out in blocks; nobody reads */
		}
	}
	free(rows);
	c->block_done = true;
	if (c->snapfile) {
		if (atfh_write_atomic(c->output, mem.buf ? mem.buf : "", mem.len) < 0 &&
		    !c->write_failed) {
			atfh_err("%s: %s", c->output, strerror(errno));
			c->write_failed = true;
		}
		atfh_out_free(&mem);
	}
}

static void clear_counts(struct count *c)
{
	if (c->approx) {
		atfh_topk_reset(&c->ss);
	} else {
		if (c->has_distinct)
			for (size_t i = 0; i < c->exact.n; i++)
				atfh_hll_free(&c->hll[i]);
		atfh_counter_reset(&c->exact);
	}
	c->late = 0;
}

static void snapshot(struct count *c)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	fmt_time(c->snapbuf, sizeof c->snapbuf,
		 (int64_t)ts.tv_sec * 1000000 + (ts.tv_nsec / 1000000) * 1000);
	c->snapshot = c->snapbuf;
	emit(c);
	c->snapshot = NULL;
	if (!c->snapfile && !out_gone(c))
		atfh_out_flush(&c->out);
	if (c->reset)
		clear_counts(c);
}

static void on_tick(void *arg)
{
	struct count *c = arg;
	if (usr1) {
		usr1 = 0;
		if (!c->live)
			snapshot(c);
	}
	if (c->every_ms) {
		double now = atfh_now();
		if (now >= c->next_every) {
			snapshot(c);
			while (c->next_every <= now)
				c->next_every += (double)c->every_ms / 1000;
		}
	}
	if (out_gone(c))
		atfh_interrupted = 1; /* nobody reads: stop waiting for input */
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1 = 1;
	atfh_stats_tick_flag = 1;
}

/* ---- counting ------------------------------------------------------------- */

static void jq_error(struct count *c, const char *err)
{
	if (c->jq_errors++ < 5)
		atfh_input_error(&c->loop.in, c->loop.in_lines, "%s", err);
	else if (c->jq_errors == 6)
		atfh_err("further jq errors are not shown");
}

/* Count KEY once; returns its count (and error/distinct for --live). */
static void count_key(struct count *c, const char *key, size_t klen, uint64_t dhash,
		      struct rowctx *r)
{
	r->key = key;
	r->klen = klen;
	if (c->approx) {
		size_t s = atfh_topk_add(&c->ss, key, klen);
		r->count = c->ss.slot[s].count;
		r->error = c->ss.slot[s].error;
		return;
	}
	bool added;
	size_t i = atfh_counter_index(&c->exact, key, klen, &added);
	c->exact.count[i]++;
	c->exact.total++;
	r->count = c->exact.count[i];
	if (c->has_distinct) {
		if (i >= c->hll_cap) {
			size_t old = c->hll_cap;
			atfh_grow_array((void **)&c->hll, &c->hll_cap, i + 1, sizeof *c->hll);
			memset(c->hll + old, 0, (c->hll_cap - old) * sizeof *c->hll);
		}
		if (added)
			atfh_hll_init(&c->hll[i]);
		atfh_hll_add_hash(&c->hll[i], dhash);
		if (c->live)
			r->distinct = atfh_hll_estimate(&c->hll[i]);
	}
}

/* Window bookkeeping for an event at time T: false if it is late. */
static bool window_admit(struct count *c, int64_t t)
{
	int64_t d = (int64_t)c->window_ms * 1000;
	if (c->win_open && t >= c->win_start && t < c->win_end)
		return true;
	if (c->win_open && t < c->win_start) {
		c->late++;
		return false;
	}
	if (c->win_open) { /* t is past the window: it closes */
		emit(c);
		clear_counts(c);
	}
	int64_t r = t % d;
	if (r < 0)
		r += d;
	if (__builtin_sub_overflow(t, r, &c->win_start))
		c->win_start = INT64_MIN;
	if (__builtin_add_overflow(c->win_start, d, &c->win_end))
		c->win_end = INT64_MAX;
	c->win_open = true;
	return true;
}

/* Count the current event (c->ev).  0, or -1 with *err when a frame
 * cannot be decoded as far as the keys need. */
static int count_event(struct count *c, const char **err)
{
	struct atfh_ev *e = &c->ev;
	c->loop.stats.events++;
	if (c->window_ms) {
		int64_t t;
		if (atfh_ev_time_us(e, &t) && !window_admit(c, t))
			return 0;
	}
	/* the values of every part: paths give one, jq expressions 0..n */
	c->vals.len = 0;
	size_t ncombo = 1;
	for (size_t k = 0; k < c->nparts; k++) {
		struct keypart *p = &c->parts[k];
		c->val_off[k] = c->vals.len;
		if (!p->is_jq) {
			struct atfh_evval v;
			if (atfh_evpath_eval(&p->path, e, &v, err))
				return -1;
			atfh_evval_json(&c->vals, &v);
			atfh_out_c(&c->vals, '\0');
			c->val_cnt[k] = 1;
			continue;
		}
		const char *js;
		size_t jn;
		const char *jerr;
		if (atfh_ev_json(e, &js, &jn, err))
			return -1;
		if (atfh_jqexpr_start(&p->jq, js, jn, &jerr)) {
			jq_error(c, jerr);
			return 0;
		}
		size_t cnt = 0;
		int r;
		while ((r = atfh_jqexpr_next(&p->jq, &c->vals, false, &jerr)) == 1) {
			atfh_out_c(&c->vals, '\0');
			cnt++;
		}
		if (r < 0) {
			jq_error(c, jerr);
			return 0;
		}
		c->val_cnt[k] = cnt;
		ncombo *= cnt;
	}
	if (ncombo == 0)
		return 0;
	uint64_t dhash = 0;
	if (c->has_distinct && !c->approx) {
		struct atfh_evval v;
		if (atfh_evpath_eval(&c->distinct, e, &v, err))
			return -1;
		c->scratch.len = 0;
		atfh_evval_json(&c->scratch, &v);
		dhash = XXH3_64bits(c->scratch.buf, c->scratch.len);
	}
	/* every combination of the parts' values (one, without jq) */
	for (size_t k = 0; k < c->nparts; k++)
		c->val_idx[k] = 0;
	for (;;) {
		c->key.len = 0;
		for (size_t k = 0; k < c->nparts; k++) {
			const char *v = c->vals.buf + c->val_off[k];
			for (size_t j = 0; j < c->val_idx[k]; j++)
				v += strlen(v) + 1;
			if (k)
				atfh_out_c(&c->key, '\0');
			atfh_out_put(&c->key, v, strlen(v));
		}
		struct rowctx r = { .ev = e };
		count_key(c, c->key.buf ? c->key.buf : "", c->key.len, dhash, &r);
		if (c->live) {
			put_line(c, &c->out, &r);
			atfh_out_event_done(&c->out);
		}
		/* the next combination */
		size_t k = c->nparts;
		for (;;) {
			if (k == 0)
				return 0;
			k--;
			if (++c->val_idx[k] < c->val_cnt[k])
				break;
			c->val_idx[k] = 0;
		}
	}
}

static int on_line(struct atfh_loop *l, const char *p, size_t n, const char **err)
{
	struct count *c = l->ctx;
	if (atfh_ev_set_line(&c->ev, p, n, err) || count_event(c, err))
		return ATFH_REC_BAD;
	return ATFH_REC_OK;
}

static int on_frame(struct atfh_loop *l, const uint8_t *p, size_t n, const char **err)
{
	struct count *c = l->ctx;
	if (atfh_msg_parse(&c->msg, p, n)) {
		*err = c->msg.err;
		return ATFH_REC_BAD;
	}
	atfh_ev_set_frame(&c->ev, &c->msg);
	size_t nev = atfh_ev_frame_events(&c->msg);
	if (nev && c->need_render) {
		/* decode what the keys need before anything is counted, so a
		 * bad frame counts nothing */
		const char *js;
		size_t jn;
		if (c->need_render == 2 ? atfh_ev_json(&c->ev, &js, &jn, err)
					: atfh_ev_prepare(&c->ev, false, err))
			return ATFH_REC_BAD;
	}
	for (size_t i = 0; i < nev; i++) {
		atfh_ev_set_op(&c->ev, i);
		if (count_event(c, err))
			return ATFH_REC_BAD; /* not reached: decoded above */
	}
	return ATFH_REC_OK;
}

/* ---- main ----------------------------------------------------------------- */

static void need(struct count *c, const struct atfh_evpath *p)
{
	int n = p->record ? 2 : p->cheap ? 0 : 1;
	if (n > c->need_render)
		c->need_render = n;
}

static void check_usage(struct count *c)
{
	if (c->live && (c->every_ms || c->window_ms))
		atfh_usage_error("--live prints every event: it takes neither --every nor --window");
	if (c->every_ms && c->window_ms)
		atfh_usage_error("--every and --window cannot be combined");
	if (c->reset && c->window_ms)
		atfh_usage_error("--reset is for snapshots; windows always start from zero");
	if (c->approx && c->has_distinct)
		atfh_usage_error("--distinct needs exact counts: it cannot be combined with --approx");
	if (c->live && c->fmt == FMT_TABLE)
		atfh_usage_error("--live writes a line per event: use --ndjson, --tsv or --format");
	if (c->tmpl_src && (c->fmt == FMT_TABLE || c->fmt == FMT_TSV))
		atfh_usage_error("--format replaces --table and --tsv");
	if (c->live && (c->top || c->min))
		atfh_usage_error("--top and --min choose among final counts: not with --live");
}

int main(int argc, char **argv)
{
	static struct count c;
	atfh_cli_signals();
	struct sigaction sa = { .sa_handler = on_usr1 }; /* no SA_RESTART: wake reads */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	atfh_loop_init(&c.loop, "atfh_count");
	int first = atfh_cli_parse(&program, argc, argv, on_option, &c);
	check_usage(&c);
	if (c.tmpl_src)
		tmpl_parse(&c);

	int out_fd_tty = c.output && strcmp(c.output, "-") ? 0 : isatty(STDOUT_FILENO);
	if (c.fmt == FMT_AUTO)
		c.fmt = out_fd_tty && !c.live && !c.tmpl_src ? FMT_TABLE : FMT_NDJSON;
	c.snapfile = c.every_ms && c.output && strcmp(c.output, "-");
	c.in_window = c.window_ms != 0;
	c.redraw = c.every_ms && out_fd_tty && c.fmt == FMT_TABLE && !c.tmpl;
	if (c.redraw)
		c.loop.quiet = true; /* the table owns the terminal */

	for (size_t k = 0; k < c.nparts; k++) {
		if (c.parts[k].is_jq)
			c.need_render = 2;
		else
			need(&c, &c.parts[k].path);
	}
	if (c.has_distinct)
		need(&c, &c.distinct);
	for (size_t i = 0; i < c.ntmpl; i++)
		if (c.tmpl[i].kind == T_PATH)
			need(&c, &c.tmpl[i].path);

	struct atfh_outfile of = { 0 };
	if (c.snapfile) {
		atfh_out_init(&c.out, -1, c.output);
	} else if (atfh_outfile_open(&of, &c.out, c.output)) {
		return ATFH_EXIT_FAIL;
	}
	atfh_msg_init(&c.msg);
	atfh_ev_init(&c.ev);
	atfh_counter_init(&c.exact);
	if (c.approx)
		atfh_topk_init(&c.ss, (size_t)c.approx);
	c.key.fd = c.vals.fd = c.scratch.fd = -1;
	size_t np = c.nparts ? c.nparts : 1;
	c.val_off = atfh_xcalloc(np, sizeof *c.val_off);
	c.val_cnt = atfh_xcalloc(np, sizeof *c.val_cnt);
	c.val_idx = atfh_xcalloc(np, sizeof *c.val_idx);

	c.loop.out = c.snapfile ? NULL : &c.out;
	c.loop.ctx = &c;
	c.loop.on_frame = on_frame;
	c.loop.on_line = on_line;
	c.loop.stats.on_tick = on_tick;
	c.loop.stats.on_tick_arg = &c;
	if (c.every_ms) {
		c.loop.stats.timer = true;
		c.loop.stats.wake = true;
		/* snapshots land within a tenth of the period (10 ms at best) */
		c.loop.stats.tick_ms = (unsigned)(c.every_ms / 10 < 10 ? 10 : c.every_ms / 10);
		c.next_every = atfh_now() + (double)c.every_ms / 1000;
	}
	int status = atfh_loop_run(&c.loop, argv + first, (size_t)(argc - first));

	/* the final result */
	if (!c.live && !(c.out.broken_pipe)) {
		if (c.window_ms) {
			if (c.win_open || c.exact.n || c.ss.n)
				emit(&c);
		} else {
			emit(&c);
		}
	}
	if (c.snapfile) {
		if (c.write_failed && status != ATFH_EXIT_FAIL)
			status = ATFH_EXIT_FAIL;
	} else if (atfh_outfile_close(&of, &c.out) && status != ATFH_EXIT_FAIL) {
		status = ATFH_EXIT_FAIL;
	}
	if (c.jq_errors) {
		atfh_err("%llu event%s not counted: the jq expression failed on %s",
			 (unsigned long long)c.jq_errors, c.jq_errors == 1 ? "" : "s",
			 c.jq_errors == 1 ? "it" : "them");
		status = ATFH_EXIT_FAIL;
	}

	for (size_t k = 0; k < c.nparts; k++) {
		if (c.parts[k].is_jq)
			atfh_jqexpr_free(&c.parts[k].jq);
		else
			atfh_evpath_free(&c.parts[k].path);
		free(c.parts[k].alloc_name);
	}
	free(c.parts);
	if (c.has_distinct) {
		for (size_t i = 0; i < c.exact.n; i++)
			atfh_hll_free(&c.hll[i]);
		atfh_evpath_free(&c.distinct);
	}
	free(c.hll);
	for (size_t i = 0; i < c.ntmpl; i++) {
		free(c.tmpl[i].lit);
		if (c.tmpl[i].kind == T_PATH)
			atfh_evpath_free(&c.tmpl[i].path);
	}
	free(c.tmpl);
	atfh_counter_free(&c.exact);
	if (c.approx)
		atfh_topk_free(&c.ss);
	atfh_ev_free(&c.ev);
	atfh_msg_free(&c.msg);
	atfh_out_free(&c.key);
	atfh_out_free(&c.vals);
	atfh_out_free(&c.scratch);
	atfh_out_free(&c.out);
	free(c.val_off);
	free(c.val_cnt);
	free(c.val_idx);
	return status;
}
