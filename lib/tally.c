/*
 * tally.c — see tally.h.
 */
#include "tally.h"
#include "util.h"

#include <pthread.h>
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

/* The sketches of set S's keys (the array is kept). */
static void set_free_sketches(const struct atfh_tally *t, struct atfh_tally_set *s)
{
	if (t->has_distinct)
		for (size_t i = 0; i < s->c.n; i++)
			atfh_hll_free(&s->hll[i]);
}

static void set_free(const struct atfh_tally *t, struct atfh_tally_set *s)
{
	set_free_sketches(t, s);
	free(s->hll);
	atfh_counter_free(&s->c);
	memset(s, 0, sizeof *s);
}

void atfh_tally_start(struct atfh_tally *t)
{
	memset(t->set, 0, sizeof t->set);
	atfh_counter_init(&t->set[0].c);
	t->nsets = 1;
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
	if (t->has_distinct)
		atfh_evpath_free(&t->distinct);
	for (size_t k = 0; k < t->nsets; k++)
		set_free(t, &t->set[k]);
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
		set_free_sketches(t, &t->set[0]);
		atfh_counter_reset(&t->set[0].c);
		for (; t->nsets > 1; t->nsets--)
			set_free(t, &t->set[t->nsets - 1]);
	}
	t->late = t->future = 0;
}

bool atfh_tally_any(const struct atfh_tally *t)
{
	return t->win_open || t->set[0].c.n || t->nsets > 1 || t->npend || t->ss.n;
}

/* The HyperLogLog of key I of set S (new: ADDED). */
static struct atfh_hll *hll_of(struct atfh_tally_set *s, size_t i, bool added)
{
	if (i >= s->hll_cap) {
		size_t old = s->hll_cap;
		atfh_grow_array((void **)&s->hll, &s->hll_cap, i + 1, sizeof *s->hll);
		memset(s->hll + old, 0, (s->hll_cap - old) * sizeof *s->hll);
	}
	if (added)
		atfh_hll_init(&s->hll[i]);
	return &s->hll[i];
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

/* Add set FROM's counts to set TO key by key; FROM is left to be freed. */
static void set_merge(const struct atfh_tally *t, struct atfh_tally_set *to,
		      struct atfh_tally_set *from)
{
	/* the smaller set into the larger: the keys of the larger one are
	 * not hashed and copied again */
	if (from->c.n > to->c.n) {
		struct atfh_tally_set x = *to;
		*to = *from;
		*from = x;
	}
	/* the keys' slots are fetched 16 keys ahead and the keys they point
	 * to 8 ahead: with large tables each lookup would otherwise miss the
	 * cache twice */
	enum { SLOT_AHEAD = 16, KEY_AHEAD = 8 };
	for (size_t i = 0; i < from->c.n; i++) {
		if (i + SLOT_AHEAD < from->c.n)
			atfh_counter_prefetch(&to->c, atfh_counter_rec(&from->c, i + SLOT_AHEAD)->hash);
		if (i + KEY_AHEAD < from->c.n)
			atfh_counter_prefetch_key(&to->c, atfh_counter_rec(&from->c, i + KEY_AHEAD)->hash);
		const struct atfh_counter_rec *r = atfh_counter_rec(&from->c, i);
		bool added;
		size_t j = atfh_counter_index_hashed(&to->c, r + 1, (size_t)r->len, r->hash, &added);
		*atfh_counter_count(&to->c, j) += r->count;
		if (t->has_distinct)
			atfh_hll_merge(hll_of(to, j, added), &from->hll[i]);
	}
	to->c.total += from->c.total;
}

void atfh_tally_merge(struct atfh_tally *t, struct atfh_tally *from)
{
	if (t->approx) {
		atfh_topk_merge(&t->ss, &from->ss);
	} else {
		flush_pending(t);
		flush_pending(from);
		for (size_t k = 0; k < from->nsets; k++) {
			struct atfh_tally_set *s = &from->set[k];
			if (!s->c.n)
				continue;
			if (t->nsets == 1 && !t->set[0].c.n) {
				/* the first counts become T's as they are */
				struct atfh_tally_set x = t->set[0];
				t->set[0] = *s;
				*s = x;
			} else if (t->nsets < ATFH_TALLY_SETS) {
				t->set[t->nsets++] = *s;
				memset(s, 0, sizeof *s); /* an empty counter */
			} else {
				set_merge(t, &t->set[t->nsets - 1], s);
			}
		}
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
		atfh_counter_prefetch_key(&t->set[0].c, t->pend[k].hash);
	for (size_t k = 0; k < t->npend; k++) {
		bool added;
		const char *key = t->pend[k].len ? t->pend_keys.buf + t->pend[k].off : "";
		size_t i = atfh_counter_index_hashed(&t->set[0].c, key, t->pend[k].len, t->pend[k].hash,
						     &added);
		++*atfh_counter_count(&t->set[0].c, i);
		t->set[0].c.total++;
		if (t->has_distinct)
			atfh_hll_add_hash(hll_of(&t->set[0], i, added), t->pend[k].dhash);
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
		atfh_counter_prefetch(&t->set[0].c, h);
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
	size_t i = atfh_counter_index(&t->set[0].c, key, klen, &added);
	r->count = ++*atfh_counter_count(&t->set[0].c, i);
	t->set[0].c.total++;
	if (t->has_distinct) {
		atfh_hll_add_hash(hll_of(&t->set[0], i, added), dhash);
		if (t->on_key) /* an estimate costs: only for --live */
			r->distinct = atfh_hll_estimate(&t->set[0].hll[i]);
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

/* The count of key I of set K summed over every set, into *COUNT; false
 * when a set before K has the key THR times or more (its row comes from
 * there; THR 0: at all). */
static bool summed_at(const struct atfh_tally *t, size_t k, size_t i, uint64_t thr,
		      uint64_t *count)
{
	const struct atfh_counter_rec *r = atfh_counter_rec(&t->set[k].c, i);
	uint64_t sum = r->count;
	for (size_t j = 0; j < t->nsets; j++) {
		if (j == k)
			continue;
		size_t x = atfh_counter_find(&t->set[j].c, r + 1, (size_t)r->len, r->hash);
		if (x == SIZE_MAX)
			continue;
		uint64_t n = *atfh_counter_count(&t->set[j].c, x);
		if (j < k && n >= thr)
			return false;
		sum += n;
	}
	*count = sum;
	return true;
}

/* The same going through every key of set K in turn: the keys a few
 * ahead are fetched from the other sets meanwhile. */
static bool summed(const struct atfh_tally *t, size_t k, size_t i, uint64_t *count)
{
	enum { SLOT_AHEAD = 16, KEY_AHEAD = 8 };
	const struct atfh_counter *c = &t->set[k].c;
	for (size_t j = 0; j < t->nsets; j++) {
		if (j == k)
			continue;
		if (i + SLOT_AHEAD < c->n)
			atfh_counter_prefetch(&t->set[j].c, atfh_counter_rec(c, i + SLOT_AHEAD)->hash);
		if (i + KEY_AHEAD < c->n)
			atfh_counter_prefetch_key(&t->set[j].c, atfh_counter_rec(c, i + KEY_AHEAD)->hash);
	}
	return summed_at(t, k, i, 0, count);
}

/* The distinct estimate of row R: its sketches in every set merged. */
static uint64_t row_distinct(const struct atfh_tally *t, const struct atfh_tally_row *r)
{
	const struct atfh_tally_set *s = &t->set[r->set];
	if (t->nsets == 1)
		return atfh_hll_estimate(&s->hll[r->id]);
	struct atfh_hll h;
	atfh_hll_init(&h);
	atfh_hll_merge(&h, &s->hll[r->id]);
	const struct atfh_counter_rec *rec = atfh_counter_rec(&s->c, r->id);
	for (size_t j = 0; j < t->nsets; j++) {
		if (j == r->set)
			continue;
		size_t x = atfh_counter_find(&t->set[j].c, rec + 1, (size_t)rec->len, rec->hash);
		if (x != SIZE_MAX)
			atfh_hll_merge(&h, &t->set[j].hll[x]);
	}
	uint64_t e = atfh_hll_estimate(&h);
	atfh_hll_free(&h);
	return e;
}

/* Rows being picked: every one, or the best ROOM of up to N in a heap
 * with the worst on top. */
struct pick {
	const struct atfh_tally *t;
	struct atfh_tally_row *rows;
	size_t cap; /* rows has room for: grown as rows come, up to ROOM + 1 */
	size_t room, n, k, qualified;
	size_t src; /* the set whose keys it goes through */
	pthread_t tid;
};

static void pick_init(struct pick *p, const struct atfh_tally *t, size_t room, size_t n)
{
	/* ROOM counts a key once per set: the rows a key of several sets
	 * would take are not taken before they are needed */
	*p = (struct pick){ .t = t, .room = room, .n = n };
	p->cap = (room < 4096 ? room : 4096) + 1;
	p->rows = atfh_xcalloc(p->cap, sizeof *p->rows);
}

static void pick_offer(struct pick *p, const struct atfh_tally_row *r)
{
	if (r->count < p->t->min)
		return;
	p->qualified++;
	if (p->k < p->room) {
		if (p->k + 1 >= p->cap) {
			size_t cap = p->cap * 2 < p->room + 1 ? p->cap * 2 : p->room + 1;
			p->rows = atfh_xrealloc(p->rows, cap * sizeof *p->rows);
			p->cap = cap;
		}
		p->rows[p->k++] = *r;
		if (p->k == p->room && p->room < p->n)
			for (size_t j = p->room / 2 + 1; j-- > 0;)
				heap_down(p->rows, p->room, j);
	} else if (row_cmp(r, &p->rows[0]) < 0) {
		p->rows[0] = *r;
		heap_down(p->rows, p->room, 0);
	}
}

/* The keys of set P->src, each counted over every set. */
static void pick_set(struct pick *p)
{
	const struct atfh_tally *t = p->t;
	const struct atfh_counter *c = &t->set[p->src].c;
	for (size_t i = 0; i < c->n; i++) {
		struct atfh_tally_row r = { .id = i, .set = p->src };
		if (t->nsets == 1)
			r.count = *atfh_counter_count(c, i);
		else if (!summed(t, p->src, i, &r.count))
			continue;
		r.key = atfh_counter_key(c, i, &r.klen);
		pick_offer(p, &r);
	}
}

static void *pick_main(void *arg)
{
	pick_set(arg);
	return NULL;
}

/* --top K over several sets without adding up every key (T->top is K,
 * P->room too, fewer than the keys): the K keys of the biggest set
 * counted most there are K keys whose totals reach the least of theirs,
 * L, so the K best totals reach L too; a key with L or more in all has
 * L / nsets or more in one set at least (rounded up): only such keys are
 * added up, each once, in the first set where it has that many.  The
 * rest cannot be among the K.  False when it does not apply (K too big
 * for it to pay, or fewer than K keys of the biggest set reach --min there:
 * then how many keys reach it in all must be known). */
static bool pick_top(struct pick *p)
{
	const struct atfh_tally *t = p->t;
	size_t big = 0, k = p->room;
	for (size_t j = 1; j < t->nsets; j++)
		if (t->set[j].c.n > t->set[big].c.n)
			big = j;
	const struct atfh_counter *c = &t->set[big].c;
	if (k == 0 || k > c->n / 8)
		return false;
	/* the K keys counted most in the biggest set, by their own counts
	 * (at least --min each, so their totals are too) */
	struct pick cand;
	pick_init(&cand, t, k, c->n);
	for (size_t i = 0; i < c->n; i++) {
		struct atfh_tally_row r = { .id = i, .set = big, .count = *atfh_counter_count(c, i) };
		r.key = atfh_counter_key(c, i, &r.klen);
		pick_offer(&cand, &r);
	}
	uint64_t least = UINT64_MAX;
	for (size_t j = 0; j < cand.k; j++) {
		uint64_t total;
		/* true whatever the other sets hold (no count reaches UINT64_MAX):
		 * every set's count of the key */
		(void)summed_at(t, big, cand.rows[j].id, UINT64_MAX, &total);
		if (total < least)
			least = total;
	}
	bool enough = cand.k == k;
	free(cand.rows);
	if (!enough)
		return false;
	uint64_t thr = least / t->nsets + (least % t->nsets != 0);
	for (size_t s = 0; s < t->nsets; s++) {
		const struct atfh_counter *sc = &t->set[s].c;
		for (size_t i = 0; i < sc->n; i++) {
			if (atfh_counter_rec(sc, i)->count < thr)
				continue;
			struct atfh_tally_row r = { .id = i, .set = s };
			if (!summed_at(t, s, i, thr, &r.count))
				continue;
			r.key = atfh_counter_key(sc, i, &r.klen);
			pick_offer(p, &r);
		}
	}
	if (p->qualified < k) /* the K keys above qualify at least */
		p->qualified = k;
	return true;
}

/* Sets of at least this many keys are added up in a thread each: the
 * lookups in the other sets miss the cache (tens of ns each). */
#define PICK_THREAD_MIN 16384

struct atfh_tally_row *atfh_tally_rows(struct atfh_tally *t, size_t limit, size_t *nrows,
				       size_t *more)
{
	flush_pending(t);
	size_t n = t->approx ? t->ss.n : 0;
	for (size_t k = 0; !t->approx && k < t->nsets; k++)
		n += t->set[k].c.n; /* keys in several sets counted again */
	/* --top or the limit below the keys: the best so far in a heap of
	 * that size as the keys go by, not a row for each of them */
	size_t want = t->top && t->top < SIZE_MAX ? (size_t)t->top : 0;
	if (limit && (!want || limit < want))
		want = limit;
	size_t room = want && want < n ? want : n;
	struct pick res;
	pick_init(&res, t, room, n);
	if (t->approx) {
		for (size_t i = 0; i < t->ss.n; i++) {
			const struct atfh_topk_slot *s = &t->ss.slot[i];
			struct atfh_tally_row r = { .key = s->key, .klen = s->len, .count = s->count,
						    .error = s->error, .id = i };
			pick_offer(&res, &r);
		}
	} else if (t->nsets > 1 && room < n && t->top == room && (!limit || limit >= room) &&
		   pick_top(&res)) {
		/* the best --top rows, from the few keys that can be among them */
	} else {
		struct pick other[ATFH_TALLY_SETS];
		bool threaded[ATFH_TALLY_SETS] = { false };
		for (size_t k = 1; k < t->nsets; k++) {
			size_t m = t->set[k].c.n;
			pick_init(&other[k], t, room < m ? room : m, m);
			other[k].src = k;
			threaded[k] = m >= PICK_THREAD_MIN &&
				      atfh_thread_start(&other[k].tid, pick_main, &other[k]) == 0;
		}
		pick_set(&res);
		for (size_t k = 1; k < t->nsets; k++) {
			if (threaded[k])
				pthread_join(other[k].tid, NULL);
			else
				pick_set(&other[k]);
			size_t q = res.qualified + other[k].qualified;
			for (size_t i = 0; i < other[k].k; i++)
				pick_offer(&res, &other[k].rows[i]);
			res.qualified = q;
			free(other[k].rows);
		}
	}
	struct atfh_tally_row *rows = res.rows;
	size_t k = res.k;
	if (room < n) {
		/* the rows --top keeps, of which the best LIMIT are here */
		size_t before = t->top && t->top < res.qualified ? (size_t)t->top : res.qualified;
		qsort(rows, k, sizeof *rows, row_cmp);
		if (t->has_distinct && !t->approx)
			for (size_t i = 0; i < k; i++)
				rows[i].distinct = row_distinct(t, &rows[i]);
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
							          : row_distinct(t, &rows[i]);
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
