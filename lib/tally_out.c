/*
 * tally_out.c — see tally_out.h.
 */
#include "tally_out.h"
#include "cli.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- templates ------------------------------------------------------------ */

static void tmpl_add(struct atfh_tally_out *w, size_t *cap, struct atfh_tally_tpiece p)
{
	atfh_grow_array((void **)&w->tmpl, cap, w->ntmpl + 1, sizeof *w->tmpl);
	w->tmpl[w->ntmpl++] = p;
}

static void tmpl_lit(struct atfh_tally_out *w, size_t *cap, struct atfh_out *lit)
{
	if (!lit->len)
		return;
	char *s = atfh_xmalloc(lit->len);
	memcpy(s, lit->buf, lit->len);
	tmpl_add(w, cap, (struct atfh_tally_tpiece){ .kind = ATFH_T_LIT, .lit = s,
						     .lit_len = lit->len });
	lit->len = 0;
}

/* The piece for {NAME}: a --by key, a result field or (LIVE) an event path. */
static struct atfh_tally_tpiece tmpl_field(const struct atfh_tally *t, const char *name,
					   bool live)
{
	static const struct {
		const char *name;
		enum atfh_tally_tkind kind;
	} fields[] = {
		{ "count", ATFH_T_COUNT },          { "error", ATFH_T_ERROR },
		{ "distinct", ATFH_T_DISTINCT },    { "window_start", ATFH_T_WSTART },
		{ "window_end", ATFH_T_WEND },      { "late", ATFH_T_LATE },
		{ "future", ATFH_T_FUTURE },        { "snapshot", ATFH_T_SNAPSHOT },
	};
	struct atfh_tally_tpiece p = { .kind = ATFH_T_PATH };
	bool found = false;
	for (size_t i = 0; i < t->nparts && !found; i++)
		if (strcmp(name, t->parts[i].name) == 0) {
			p.kind = ATFH_T_PART;
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
		if (!live)
			atfh_usage_error("--format: {%s} is neither a --by key nor a result field "
					 "(event fields need --live)", name);
		if (atfh_evpath_parse(&p.path, name, err, sizeof err))
			atfh_usage_error("--format: {%s}: %s", name, err);
	}
	if (p.kind == ATFH_T_ERROR && !t->approx)
		atfh_usage_error("--format: {error} needs --approx");
	if (p.kind == ATFH_T_DISTINCT && !t->has_distinct)
		atfh_usage_error("--format: {distinct} needs --distinct");
	if ((p.kind == ATFH_T_WSTART || p.kind == ATFH_T_WEND || p.kind == ATFH_T_LATE ||
	     p.kind == ATFH_T_FUTURE) &&
	    !t->window_ms)
		atfh_usage_error("--format: {%s} needs --window", name);
	return p;
}

void atfh_tally_tmpl_parse(struct atfh_tally_out *w, const char *src, bool live)
{
	const char *s = src;
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
		tmpl_lit(w, &cap, &lit);
		struct atfh_tally_tpiece p = tmpl_field(w->t, name, live);
		free(name);
		tmpl_add(w, &cap, p);
		s = e + 1;
	}
	tmpl_lit(w, &cap, &lit);
	atfh_out_free(&lit);
}

int atfh_tally_out_depth(const struct atfh_tally_out *w)
{
	int d = 0;
	for (size_t i = 0; i < w->ntmpl; i++)
		if (w->tmpl[i].kind == ATFH_T_PATH && atfh_evpath_depth(&w->tmpl[i].path) > d)
			d = atfh_evpath_depth(&w->tmpl[i].path);
	return d;
}

void atfh_tally_out_free(struct atfh_tally_out *w)
{
	for (size_t i = 0; i < w->ntmpl; i++) {
		free(w->tmpl[i].lit);
		if (w->tmpl[i].kind == ATFH_T_PATH)
			atfh_evpath_free(&w->tmpl[i].path);
	}
	free(w->tmpl);
	w->tmpl = NULL;
	w->ntmpl = 0;
}

/* ---- values and cells ----------------------------------------------------- */

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

/* Columns a cell takes on the screen: one per UTF-8 character. */
static size_t width(const char *p, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)p[i] & 0xC0) != 0x80;
	return w;
}

static void put_str(struct atfh_out *o, const char *s)
{
	atfh_out_put(o, s, strlen(s));
}

/* The window's bound, or null outside one. */
static void put_bound(struct atfh_out *o, const struct atfh_tally *t, int64_t v)
{
	if (t->window_ms && t->win_open)
		atfh_json_i64(o, v);
	else
		atfh_out_lit(o, "null");
}

/* ---- lines ---------------------------------------------------------------- */

enum numfmt { NUM_MEMBERS, NUM_CELLS, NUM_NAMES };

/* What follows a row's key, the same in every line format: count, then
 * error, distinct, late and future where the run has them.  SEP goes first. */
static void put_numbers(struct atfh_out *o, const struct atfh_tally *t,
			const struct atfh_tally_row *r, const char *sep, enum numfmt f)
{
	const struct {
		const char *name;
		bool on;
		uint64_t v;
	} num[] = {
		{ "count", true, r ? r->count : 0 },
		{ "error", t->approx != 0, r ? r->error : 0 },
		{ "distinct", t->has_distinct, r ? r->distinct : 0 },
		{ "late", t->window_ms != 0, t->late },
		{ "future", t->window_ms != 0, t->future },
	};
	for (size_t i = 0; i < sizeof num / sizeof num[0]; i++) {
		if (!num[i].on)
			continue;
		put_str(o, sep);
		sep = f == NUM_MEMBERS ? "," : "\t";
		if (f == NUM_NAMES) {
			put_str(o, num[i].name);
			continue;
		}
		if (f == NUM_MEMBERS) {
			atfh_out_c(o, '"');
			put_str(o, num[i].name);
			atfh_out_lit(o, "\":");
		}
		atfh_json_u64(o, num[i].v);
	}
}

static void put_tmpl(struct atfh_tally_out *w, struct atfh_out *o, const struct atfh_tally_row *r,
		     struct atfh_ev *ev)
{
	const struct atfh_tally *t = w->t;
	for (size_t i = 0; i < w->ntmpl; i++) {
		const struct atfh_tally_tpiece *p = &w->tmpl[i];
		size_t n;
		const char *v;
		switch (p->kind) {
		case ATFH_T_LIT:
			atfh_out_put(o, p->lit, p->lit_len);
			break;
		case ATFH_T_PART:
			v = atfh_tally_key_part(r->key, r->klen, p->part, &n);
			put_text(o, v, n);
			break;
		case ATFH_T_COUNT: atfh_json_u64(o, r->count); break;
		case ATFH_T_ERROR: atfh_json_u64(o, r->error); break;
		case ATFH_T_DISTINCT: atfh_json_u64(o, r->distinct); break;
		case ATFH_T_WSTART: put_bound(o, t, t->win_start); break;
		case ATFH_T_WEND: put_bound(o, t, t->win_end); break;
		case ATFH_T_LATE: atfh_json_u64(o, t->late); break;
		case ATFH_T_FUTURE: atfh_json_u64(o, t->future); break;
		case ATFH_T_SNAPSHOT:
			if (w->snapshot)
				put_str(o, w->snapshot);
			break;
		case ATFH_T_PATH: {
			struct atfh_evval val = { .type = ATFH_EV_MISSING };
			const char *err;
			if (ev)
				atfh_evpath_eval(&p->path, ev, &val, &err);
			atfh_evval_text(o, &val);
			break;
		}
		}
	}
	atfh_out_c(o, '\n');
}

static void put_ndjson(struct atfh_tally_out *w, struct atfh_out *o,
		       const struct atfh_tally_row *r)
{
	const struct atfh_tally *t = w->t;
	const char *sep = "{";
	if (t->window_ms) {
		atfh_out_lit(o, "{\"window_start\":");
		put_bound(o, t, t->win_start);
		atfh_out_lit(o, ",\"window_end\":");
		put_bound(o, t, t->win_end);
		sep = ",";
	}
	if (w->snapshot) {
		put_str(o, sep);
		atfh_out_lit(o, "\"snapshot\":\"");
		put_str(o, w->snapshot);
		atfh_out_c(o, '"');
		sep = ",";
	}
	for (size_t i = 0; i < t->nparts; i++) {
		size_t n;
		const char *v = atfh_tally_key_part(r->key, r->klen, i, &n);
		put_str(o, sep);
		atfh_json_str(o, t->parts[i].name, strlen(t->parts[i].name));
		atfh_out_c(o, ':');
		atfh_out_put(o, v, n);
		sep = ",";
	}
	put_numbers(o, t, r, sep, NUM_MEMBERS);
	atfh_out_lit(o, "}\n");
}

static void tsv_header(struct atfh_tally_out *w, struct atfh_out *o)
{
	const struct atfh_tally *t = w->t;
	const char *sep = "";
	if (t->window_ms) {
		atfh_out_lit(o, "window_start\twindow_end");
		sep = "\t";
	}
	if (w->every) {
		put_str(o, sep);
		atfh_out_lit(o, "snapshot");
		sep = "\t";
	}
	for (size_t i = 0; i < t->nparts; i++) {
		struct atfh_out tmp = { .fd = -1 };
		put_str(o, sep);
		atfh_json_str(&tmp, t->parts[i].name, strlen(t->parts[i].name));
		put_tsv(o, tmp.buf, tmp.len);
		atfh_out_free(&tmp);
		sep = "\t";
	}
	put_numbers(o, t, NULL, sep, NUM_NAMES);
	atfh_out_c(o, '\n');
}

static void put_tsv_row(struct atfh_tally_out *w, struct atfh_out *o,
			const struct atfh_tally_row *r)
{
	const struct atfh_tally *t = w->t;
	const char *sep = "";
	if (!w->header_done) {
		tsv_header(w, o);
		w->header_done = true;
	}
	if (t->window_ms) {
		if (t->win_open) {
			atfh_json_i64(o, t->win_start);
			atfh_out_c(o, '\t');
			atfh_json_i64(o, t->win_end);
		} else {
			atfh_out_lit(o, "null\tnull");
		}
		sep = "\t";
	}
	if (w->every) {
		put_str(o, sep);
		if (w->snapshot)
			put_str(o, w->snapshot);
		sep = "\t";
	}
	for (size_t i = 0; i < t->nparts; i++) {
		size_t n;
		const char *v = atfh_tally_key_part(r->key, r->klen, i, &n);
		put_str(o, sep);
		put_tsv(o, v, n);
		sep = "\t";
	}
	put_numbers(o, t, r, sep, NUM_CELLS);
	atfh_out_c(o, '\n');
}

void atfh_tally_line(struct atfh_tally_out *w, struct atfh_out *o, const struct atfh_tally_row *r,
		     struct atfh_ev *ev)
{
	if (w->tmpl)
		put_tmpl(w, o, r, ev);
	else if (w->fmt == ATFH_TALLY_TSV)
		put_tsv_row(w, o, r);
	else
		put_ndjson(w, o, r);
}

/* ---- tables --------------------------------------------------------------- */

void atfh_tally_fmt_time(char *buf, size_t size, int64_t us)
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

/* The line above a table: which window, which snapshot. */
static void put_title(struct atfh_tally_out *w, struct atfh_out *o, uint64_t events)
{
	const struct atfh_tally *t = w->t;
	if (!w->snapshot && !t->window_ms)
		return;
	if (t->window_ms && t->win_open) {
		char a[48], b[48];
		atfh_tally_fmt_time(a, sizeof a, t->win_start);
		atfh_tally_fmt_time(b, sizeof b, t->win_end);
		atfh_out_lit(o, "window ");
		put_str(o, a);
		atfh_out_lit(o, " .. ");
		put_str(o, b);
		if (t->late || t->future) {
			char l[80];
			if (t->late && t->future)
				snprintf(l, sizeof l, "  (%llu late, %llu future)",
					 (unsigned long long)t->late, (unsigned long long)t->future);
			else
				snprintf(l, sizeof l, "  (%llu %s)",
					 (unsigned long long)(t->late ? t->late : t->future),
					 t->late ? "late" : "future");
			put_str(o, l);
		}
	} else if (t->window_ms) {
		atfh_out_lit(o, "events without time_us");
	}
	if (w->snapshot) {
		if (t->window_ms)
			atfh_out_lit(o, "  ");
		atfh_out_lit(o, "snapshot ");
		put_str(o, w->snapshot);
		char ev[64];
		snprintf(ev, sizeof ev, "  %llu events", (unsigned long long)events);
		put_str(o, ev);
	}
	atfh_out_c(o, '\n');
}

/* The aligned table of ROWS, with a title line for snapshots and windows. */
static void put_table(struct atfh_tally_out *w, struct atfh_out *o,
		      const struct atfh_tally_row *rows, size_t n, size_t more, uint64_t events)
{
	const struct atfh_tally *t = w->t;
	size_t ncols = t->nparts + 1 + (t->approx != 0) + t->has_distinct;
	size_t nkeys = t->nparts;
	struct atfh_out cells = { .fd = -1 };
	size_t *off = atfh_xcalloc((n + 1) * ncols + 1, sizeof *off);
	size_t *cw = atfh_xcalloc(ncols, sizeof *cw);
	/* header */
	size_t ci = 0;
	for (size_t k = 0; k < nkeys; k++) {
		off[ci++] = cells.len;
		put_str(&cells, t->parts[k].name);
	}
	off[ci++] = cells.len;
	atfh_out_lit(&cells, "count");
	if (t->approx) {
		off[ci++] = cells.len;
		atfh_out_lit(&cells, "error");
	}
	if (t->has_distinct) {
		off[ci++] = cells.len;
		atfh_out_lit(&cells, "distinct");
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < nkeys; k++) {
			size_t vn;
			const char *v = atfh_tally_key_part(rows[i].key, rows[i].klen, k, &vn);
			off[ci++] = cells.len;
			put_cell(&cells, v, vn);
		}
		off[ci++] = cells.len;
		atfh_json_u64(&cells, rows[i].count);
		if (t->approx) {
			off[ci++] = cells.len;
			atfh_json_u64(&cells, rows[i].error);
		}
		if (t->has_distinct) {
			off[ci++] = cells.len;
			atfh_json_u64(&cells, rows[i].distinct);
		}
	}
	off[ci] = cells.len;
	for (size_t i = 0; i < ci; i++) {
		size_t vw = width(cells.buf + off[i], off[i + 1] - off[i]);
		if (vw > cw[i % ncols])
			cw[i % ncols] = vw;
	}
	put_title(w, o, events);
	for (size_t r = 0; r <= n; r++) {
		for (size_t k = 0; k < ncols; k++) {
			size_t i = r * ncols + k;
			const char *v = cells.buf + off[i];
			size_t vn = off[i + 1] - off[i], vw = width(v, vn);
			bool right = k >= nkeys;
			if (k)
				atfh_out_lit(o, "  ");
			if (right)
				for (size_t s = vw; s < cw[k]; s++)
					atfh_out_c(o, ' ');
			atfh_out_put(o, v, vn);
			if (!right && k + 1 < ncols)
				for (size_t s = vw; s < cw[k]; s++)
					atfh_out_c(o, ' ');
		}
		atfh_out_c(o, '\n');
	}
	if (more) {
		char m[64];
		snprintf(m, sizeof m, "... %zu more\n", more);
		put_str(o, m);
	}
	atfh_out_free(&cells);
	free(off);
	free(cw);
}

void atfh_tally_block(struct atfh_tally_out *w, struct atfh_out *o,
		      const struct atfh_tally_row *rows, size_t n, size_t more, uint64_t events)
{
	bool table = w->fmt == ATFH_TALLY_TABLE && !w->tmpl;
	if (w->fmt == ATFH_TALLY_TABLE && w->block_done && !w->redraw && !w->snapfile)
		atfh_out_c(o, '\n');
	if (w->snapfile)
		w->header_done = false;
	if (table) {
		put_table(w, o, rows, n, more, events);
	} else {
		for (size_t i = 0; i < n; i++) {
			atfh_tally_line(w, o, &rows[i], NULL);
			/* big results go out in blocks; stop when nobody reads */
			if (!w->snapfile && (atfh_out_event_done(o), o->broken_pipe || o->error))
				break;
		}
	}
	w->block_done = true;
}
