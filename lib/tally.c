/*
 * tally.c — see tally.h.
 */
#include "tally.h"
#include "util.h"

#include <stdlib.h>
#include <time.h>
#include <xxhash.h>

static void flush_pending(struct atfh_tally *t);

int atfh_tally_add_part(struct atfh_tally *t, bool jq, const char *arg, char *err,
			size_t errlen)
{
	atfh_grow_array((void **)&t->parts, &t->parts_cap, t->nparts + 1, sizeof *t->parts);
	struct atfh_tally_part *k = &t->parts[t->nparts];
	memset(k, 0, sizeof *k);
	k->is_jq = jq;
	k->name = arg;
	/* NAME=PATH, NAME=EXPR: NAME is the field name in the output */
	size_t nl = 0;
	if ((arg[0] >= 'A' && arg[0] <= 'Z') || (arg[0] >= 'a' && arg[0] <= 'z') || arg[0] == '_')
		nl = strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789_-");
	if (nl && arg[nl] == '=' && arg[nl + 1] != '=' && arg[nl + 1]) {
		k->name = k->alloc_name = atfh_xmalloc(nl + 1);
		memcpy(k->alloc_name, arg, nl);
		k->alloc_name[nl] = '\0';
		arg += nl + 1;
	}
	if (jq ? atfh_jqexpr_compile(&k->jq, arg, err, errlen)
	       : atfh_evpath_parse(&k->path, arg, err, errlen))
		return -1;
	t->nparts++;
	return 0;
}

void atfh_tally_start(struct atfh_tally *t)
{
	atfh_counter_init(&t->exact);
	if (t->approx)
		atfh_topk_init(&t->ss, (size_t)t->approx);
	t->key.fd = t->vals.fd = t->scratch.fd = t->pend_keys.fd = -1;
	size_t np = t->nparts ? t->nparts : 1;
	t->val_off = atfh_xcalloc(np, sizeof *t->val_off);
	t->val_cnt = atfh_xcalloc(np, sizeof *t->val_cnt);
	t->val_idx = atfh_xcalloc(np, sizeof *t->val_idx);
}

void atfh_tally_free(struct atfh_tally *t)
{
	for (size_t k = 0; k < t->nparts; k++) {
		if (t->parts[k].is_jq)
			atfh_jqexpr_free(&t->parts[k].jq);
		else
			atfh_evpath_free(&t->parts[k].path);
		free(t->parts[k].alloc_name);
	}
	free(t->parts);
	if (t->has_distinct) {
		for (size_t i = 0; i < t->exact.n; i++)
			atfh_hll_free(&t->hll[i]);
		atfh_evpath_free(&t->distinct);
	}
	free(t->hll);
	atfh_counter_free(&t->exact);
	if (t->approx)
		atfh_topk_free(&t->ss);
	atfh_out_free(&t->key);
	atfh_out_free(&t->vals);
	atfh_out_free(&t->scratch);
	atfh_out_free(&t->pend_keys);
	free(t->val_off);
	free(t->val_cnt);
	free(t->val_idx);
}

int atfh_tally_depth(const struct atfh_tally *t)
{
	int d = 0;
	for (size_t k = 0; k < t->nparts; k++) {
		int n = t->parts[k].is_jq ? 2 : atfh_evpath_depth(&t->parts[k].path);
		if (n > d)
			d = n;
	}
	if (t->has_distinct && atfh_evpath_depth(&t->distinct) > d)
		d = atfh_evpath_depth(&t->distinct);
	return d;
}

void atfh_tally_clear(struct atfh_tally *t)
{
	t->npend = 0; /* counted, then forgotten with the rest */
	t->pend_keys.len = 0;
	if (t->approx) {
		atfh_topk_reset(&t->ss);
	} else {
		if (t->has_distinct)
			for (size_t i = 0; i < t->exact.n; i++)
				atfh_hll_free(&t->hll[i]);
		atfh_counter_reset(&t->exact);
	}
	t->late = t->future = 0;
}

bool atfh_tally_any(const struct atfh_tally *t)
{
	return t->win_open || t->exact.n || t->npend || t->ss.n;
}

/* The HyperLogLog of exact key I (new: ADDED). */
static struct atfh_hll *hll_of(struct atfh_tally *t, size_t i, bool added)
{
	if (i >= t->hll_cap) {
		size_t old = t->hll_cap;
		atfh_grow_array((void **)&t->hll, &t->hll_cap, i + 1, sizeof *t->hll);
		memset(t->hll + old, 0, (t->hll_cap - old) * sizeof *t->hll);
	}
	if (added)
		atfh_hll_init(&t->hll[i]);
	return &t->hll[i];
}

void atfh_tally_start_like(struct atfh_tally *t, const struct atfh_tally *like)
{
	char err[256];
	memset(t, 0, sizeof *t);
	for (size_t k = 0; k < like->nparts; k++) {
		const struct atfh_tally_part *lp = &like->parts[k];
		atfh_grow_array((void **)&t->parts, &t->parts_cap, t->nparts + 1, sizeof *t->parts);
		struct atfh_tally_part *p = &t->parts[t->nparts++];
		memset(p, 0, sizeof *p);
		p->name = lp->name;
		if (atfh_evpath_parse(&p->path, lp->path.src, err, sizeof err))
			abort(); /* parsed once already */
	}
	if (like->has_distinct) {
		if (atfh_evpath_parse(&t->distinct, like->distinct.src, err, sizeof err))
			abort();
		t->has_distinct = true;
	}
	t->approx = like->approx;
	t->max_future_ms = like->max_future_ms;
	atfh_tally_start(t);
}

void atfh_tally_merge(struct atfh_tally *t, struct atfh_tally *from)
{
	if (t->approx) {
		atfh_topk_merge(&t->ss, &from->ss);
	} else {
		flush_pending(t);
		flush_pending(from);
		/* the smaller table into the larger: the keys of the larger
		 * one are not hashed and copied again (the first worker's
		 * counts become the result as they are) */
		if (from->exact.n > t->exact.n) {
			struct atfh_counter x = t->exact;
			t->exact = from->exact;
			from->exact = x;
			struct atfh_hll *h = t->hll;
			size_t hc = t->hll_cap;
			t->hll = from->hll;
			t->hll_cap = from->hll_cap;
			from->hll = h;
			from->hll_cap = hc;
		}
		/* the keys' slots are fetched 16 keys ahead and the keys
		 * they point to 8 ahead: with large tables each lookup
		 * would otherwise miss the cache twice */
		enum { SLOT_AHEAD = 16, KEY_AHEAD = 8 };
		for (size_t i = 0; i < from->exact.n; i++) {
			if (i + SLOT_AHEAD < from->exact.n)
				atfh_counter_prefetch(&t->exact,
						      atfh_counter_rec(&from->exact, i + SLOT_AHEAD)->hash);
			if (i + KEY_AHEAD < from->exact.n)
				atfh_counter_prefetch_key(&t->exact,
							  atfh_counter_rec(&from->exact, i + KEY_AHEAD)->hash);
			const struct atfh_counter_rec *r = atfh_counter_rec(&from->exact, i);
			bool added;
			size_t j = atfh_counter_index_hashed(&t->exact, r + 1, (size_t)r->len, r->hash,
							     &added);
			*atfh_counter_count(&t->exact, j) += r->count;
			if (t->has_distinct)
				atfh_hll_merge(hll_of(t, j, added), &from->hll[i]);
		}
		t->exact.total += from->exact.total;
	}
	t->late += from->late;
	t->future += from->future;
	atfh_tally_clear(from);
}

/* Count the keys waiting in the batch: their keys into the cache (their
 * slots are there since they came in), then counted. */
static void flush_pending(struct atfh_tally *t)
{
	if (!t->npend)
		return;
	for (size_t k = 0; k < t->npend; k++)
		atfh_counter_prefetch_key(&t->exact, t->pend[k].hash);
	for (size_t k = 0; k < t->npend; k++) {
		bool added;
		const char *key = t->pend[k].len ? t->pend_keys.buf + t->pend[k].off : "";
		size_t i = atfh_counter_index_hashed(&t->exact, key, t->pend[k].len, t->pend[k].hash,
						     &added);
		++*atfh_counter_count(&t->exact, i);
		t->exact.total++;
		if (t->has_distinct)
			atfh_hll_add_hash(hll_of(t, i, added), t->pend[k].dhash);
	}
	t->npend = 0;
	t->pend_keys.len = 0;
}

/* Count KEY once, into R (its count and error only with --live or
 * --approx: exact keys are counted in batches otherwise). */
static void count_key(struct atfh_tally *t, const char *key, size_t klen, uint64_t dhash,
		      struct atfh_tally_row *r)
{
	r->key = key;
	r->klen = klen;
	if (!t->approx && !t->on_key) {
		uint64_t h = XXH3_64bits(key, klen);
		atfh_counter_prefetch(&t->exact, h);
		t->pend[t->npend].hash = h;
		t->pend[t->npend].dhash = dhash;
		t->pend[t->npend].off = t->pend_keys.len;
		t->pend[t->npend].len = klen;
		atfh_out_put(&t->pend_keys, key, klen);
		if (++t->npend == ATFH_TALLY_BATCH)
			flush_pending(t);
		return;
	}
	if (t->approx) {
		size_t s = atfh_topk_add(&t->ss, key, klen);
		r->count = t->ss.slot[s].count;
		r->error = t->ss.slot[s].error;
		return;
	}
	bool added;
	size_t i = atfh_counter_index(&t->exact, key, klen, &added);
	r->count = ++*atfh_counter_count(&t->exact, i);
	t->exact.total++;
	if (t->has_distinct) {
		atfh_hll_add_hash(hll_of(t, i, added), dhash);
		if (t->on_key) /* an estimate costs: only for --live */
			r->distinct = atfh_hll_estimate(&t->hll[i]);
	}
}

static int64_t wall_clock_us(void)
{
	struct timespec ts;
#ifdef CLOCK_REALTIME_COARSE
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
#else
	clock_gettime(CLOCK_REALTIME, &ts);
#endif
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* The watermark rule: an event more than --max-future ahead of the
 * watermark is not taken as the time of the stream.  Reading a file, the
 * watermark is the latest event time accepted (the first event sets it);
 * reading live it also moves on with the clock while nothing newer comes,
 * and before the first event it is the clock.  False for a future event. */
static bool watermark_admit(struct atfh_tally *t, int64_t time)
{
	int64_t mf = (int64_t)t->max_future_ms * 1000;
	if (t->have_wm && time <= sat_add(t->wm, mf)) {
		if (time > t->wm) {
			t->wm = time;
			if (t->live)
				t->wm_clock = wall_clock_us();
		}
		return true;
	}
	int64_t now = t->live ? wall_clock_us() : 0, ref;
	if (t->have_wm)
		ref = t->live ? sat_add(t->wm, now - t->wm_clock) : t->wm;
	else if (t->live)
		ref = now;
	else
		ref = time; /* nothing to compare with yet */
	if (time > sat_add(ref, mf)) {
		t->future++;
		if (t->on_future)
			t->on_future(t->ctx, time, ref);
		return false;
	}
	if (!t->have_wm || time > t->wm) {
		t->wm = time;
		t->wm_clock = now;
		t->have_wm = true;
	}
	return true;
}

/* Window bookkeeping for an event at time T: false if it is late or
 * future.  The watermark closes a window: an event at or past its end. */
static bool window_admit(struct atfh_tally *t, int64_t time)
{
	int64_t d = (int64_t)t->window_ms * 1000;
	if (t->win_open && time < t->win_start) {
		t->late++;
		return false;
	}
	if (!watermark_admit(t, time))
		return false;
	if (t->win_open && time < t->win_end)
		return true;
	if (t->win_open) { /* the watermark is past the window: it closes */
		t->on_window_end(t->ctx);
		atfh_tally_clear(t);
	}
	int64_t r = time % d;
	if (r < 0)
		r += d;
	if (__builtin_sub_overflow(time, r, &t->win_start))
		t->win_start = INT64_MIN;
	if (__builtin_add_overflow(t->win_start, d, &t->win_end))
		t->win_end = INT64_MAX;
	t->win_open = true;
	return true;
}

int atfh_tally_event(struct atfh_tally *t, struct atfh_ev *e, const char **err)
{
	if (t->window_ms) {
		int64_t time;
		int has = atfh_ev_time_us(e, &time, err);
		if (has < 0)
			return -1;
		if (has && !window_admit(t, time))
			return 0;
	}
	/* the values of every part: paths give one, jq expressions 0..n */
	t->vals.len = 0;
	size_t ncombo = 1;
	for (size_t k = 0; k < t->nparts; k++) {
		struct atfh_tally_part *p = &t->parts[k];
		t->val_off[k] = t->vals.len;
		if (!p->is_jq) {
			struct atfh_evval v;
			if (atfh_evpath_eval(&p->path, e, &v, err))
				return -1;
			atfh_evval_json(&t->vals, &v);
			atfh_out_c(&t->vals, '\0');
			t->val_cnt[k] = 1;
			continue;
		}
		const char *js;
		size_t jn;
		const char *jerr;
		if (atfh_ev_json(e, &js, &jn, err))
			return -1;
		if (atfh_jqexpr_start(&p->jq, js, jn, &jerr)) {
			t->on_jq_error(t->ctx, jerr);
			return 0;
		}
		size_t cnt = 0;
		int r;
		while ((r = atfh_jqexpr_next(&p->jq, &t->vals, false, &jerr)) == 1) {
			atfh_out_c(&t->vals, '\0');
			cnt++;
		}
		if (r < 0) {
			t->on_jq_error(t->ctx, jerr);
			return 0;
		}
		t->val_cnt[k] = cnt;
		ncombo *= cnt;
	}
	if (ncombo == 0)
		return 0;
	uint64_t dhash = 0;
	if (t->has_distinct && !t->approx) {
		struct atfh_evval v;
		if (atfh_evpath_eval(&t->distinct, e, &v, err))
			return -1;
		t->scratch.len = 0;
		atfh_evval_json(&t->scratch, &v);
		dhash = XXH3_64bits(t->scratch.buf, t->scratch.len);
	}
	/* every combination of the parts' values (one, without jq) */
	for (size_t k = 0; k < t->nparts; k++)
		t->val_idx[k] = 0;
	for (;;) {
		t->key.len = 0;
		for (size_t k = 0; k < t->nparts; k++) {
			const char *v = t->vals.buf + t->val_off[k];
			for (size_t j = 0; j < t->val_idx[k]; j++)
				v += strlen(v) + 1;
			if (k)
				atfh_out_c(&t->key, '\0');
			atfh_out_put(&t->key, v, strlen(v));
		}
		struct atfh_tally_row r = { 0 };
		count_key(t, t->key.buf ? t->key.buf : "", t->key.len, dhash, &r);
		if (t->on_key)
			t->on_key(t->ctx, &r);
		/* the next combination */
		size_t k = t->nparts;
		for (;;) {
			if (k == 0)
				return 0;
			k--;
			if (++t->val_idx[k] < t->val_cnt[k])
				break;
			t->val_idx[k] = 0;
		}
	}
}

/* ---- result sets ---------------------------------------------------------- */

/* a before b: larger count first, then the key bytewise */
static int row_cmp(const void *pa, const void *pb)
{
	const struct atfh_tally_row *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int r = n ? memcmp(a->key, b->key, n) : 0;
	if (r)
		return r;
	return a->klen < b->klen ? -1 : a->klen > b->klen;
}

/* keep the K best of ROWS[0..n) in ROWS[0..k): a heap with the worst on top */
static void heap_down(struct atfh_tally_row *h, size_t k, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < k && row_cmp(&h[l], &h[m]) > 0)
			m = l;
		if (r < k && row_cmp(&h[r], &h[m]) > 0)
			m = r;
		if (m == i)
			return;
		struct atfh_tally_row t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static size_t select_top(struct atfh_tally_row *rows, size_t n, size_t k)
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

struct atfh_tally_row *atfh_tally_rows(struct atfh_tally *t, size_t limit, size_t *nrows,
				       size_t *more)
{
	flush_pending(t);
	size_t n = t->approx ? t->ss.n : t->exact.n;
	/* --top or the limit below the keys: the best so far in a heap of
	 * that size as the keys go by, not a row for each of them */
	size_t want = t->top && t->top < SIZE_MAX ? (size_t)t->top : 0;
	if (limit && (!want || limit < want))
		want = limit;
	size_t room = want && want < n ? want : n;
	struct atfh_tally_row *rows = atfh_xcalloc(room + 1, sizeof *rows);
	size_t k = 0, qualified = 0;
	for (size_t i = 0; i < n; i++) {
		struct atfh_tally_row r = { .id = i };
		if (t->approx) {
			const struct atfh_topk_slot *s = &t->ss.slot[i];
			r.key = s->key;
			r.klen = s->len;
			r.count = s->count;
			r.error = s->error;
		} else {
			r.key = atfh_counter_key(&t->exact, i, &r.klen);
			r.count = *atfh_counter_count(&t->exact, i);
		}
		if (r.count < t->min)
			continue;
		qualified++;
		if (k < room) {
			rows[k++] = r;
			if (k == room && room < n)
				for (size_t j = room / 2 + 1; j-- > 0;)
					heap_down(rows, room, j);
		} else if (row_cmp(&r, &rows[0]) < 0) {
			rows[0] = r;
			heap_down(rows, room, 0);
		}
	}
	if (room < n) {
		/* the rows --top keeps, of which the best LIMIT are here */
		size_t before = t->top && t->top < qualified ? (size_t)t->top : qualified;
		qsort(rows, k, sizeof *rows, row_cmp);
		if (t->has_distinct && !t->approx)
			for (size_t i = 0; i < k; i++)
				rows[i].distinct = atfh_hll_estimate(&t->hll[rows[i].id]);
		*more = before - k;
		*nrows = k;
		return rows;
	}
	/* counting events: one row, even when there is nothing to count */
	if (t->nparts == 0 && n == 0 && t->min == 0 && !t->window_ms) {
		rows[0] = (struct atfh_tally_row){ .key = "", .klen = 0, .id = SIZE_MAX };
		k = 1;
	}
	if (t->top && t->top < k)
		k = select_top(rows, k, (size_t)t->top);
	size_t before = k;
	if (limit && limit < k)
		k = select_top(rows, k, limit);
	qsort(rows, k, sizeof *rows, row_cmp);
	/* estimates cost: only for the rows that are printed */
	if (t->has_distinct && !t->approx)
		for (size_t i = 0; i < k; i++) /* the empty row counted nothing */
			rows[i].distinct = rows[i].id == SIZE_MAX ? 0
							          : atfh_hll_estimate(&t->hll[rows[i].id]);
	*more = before - k;
	*nrows = k;
	return rows;
}

const char *atfh_tally_key_part(const char *key, size_t klen, size_t i, size_t *n)
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
