/*
 * tap.c — Bluesky's Tap as a source; see tap.h.
 */
#include "tap.h"
#include "cli.h"
#include "didset.h"
#include "json.h"
#include "jsonscan.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ACK_BATCH_MAX 4096     /* ids waiting for an ack before a sync is forced */
#define IDS_SLOTS (1u << 20)   /* per generation; half of them filled at most */
#define DIDS_PER_POST 1000     /* DIDs in one /repos/add or /repos/remove */
#define RETRY_MAX_S 60.0

/* ---- ids seen ------------------------------------------------------------ */

static size_t slot_of(uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 44) & (IDS_SLOTS - 1);
}

static bool ids_in(const uint64_t *t, uint64_t id)
{
	if (!t)
		return false;
	for (size_t i = slot_of(id);; i = (i + 1) & (IDS_SLOTS - 1)) {
		if (t[i] == 0)
			return false;
		if (t[i] == id + 1)
			return true;
	}
}

static bool ids_has(const struct atfh_tap_ids *s, int64_t id)
{
	return ids_in(s->t[0], (uint64_t)id) || ids_in(s->t[1], (uint64_t)id);
}

static void ids_add(struct atfh_tap_ids *s, int64_t id)
{
	if (ids_has(s, id))
		return;
	if (s->n[0] >= IDS_SLOTS / 2) { /* the newer is full: forget the older */
		uint64_t *old = s->t[1];
		s->t[1] = s->t[0];
		s->n[1] = s->n[0];
		s->t[0] = old;
		s->n[0] = 0;
		if (old)
			memset(old, 0, IDS_SLOTS * sizeof *old);
	}
	if (!s->t[0])
		s->t[0] = atfh_xcalloc(IDS_SLOTS, sizeof *s->t[0]);
	size_t i = slot_of((uint64_t)id);
	while (s->t[0][i])
		i = (i + 1) & (IDS_SLOTS - 1);
	s->t[0][i] = (uint64_t)id + 1;
	s->n[0]++;
}

/* ---- acks ------------------------------------------------------------------ */

static void queue_ack(struct atfh_tap *t, int64_t id)
{
	if (t->no_ack)
		return;
	if (t->npending == t->cappending) {
		t->cappending = t->cappending ? t->cappending * 2 : 256;
		t->pending = atfh_xrealloc(t->pending, t->cappending * sizeof *t->pending);
	}
	t->pending[t->npending++] = id;
}

/* Make the lines written durable, then ack them on the connection there
 * is.  false if the output failed (the run ends); acks that cannot be
 * sent now wait for the next connection. */
static bool send_acks(struct atfh_tap *t)
{
	struct atfh_firehose *f = t->f;
	if (!t->npending || !f->connected)
		return true;
	if (!atfh_sink_sync(t->k))
		return false;
	size_t i = 0;
	for (; i < t->npending; i++) {
		char buf[64];
		int n = snprintf(buf, sizeof buf, "{\"type\":\"ack\",\"id\":%lld}",
				 (long long)t->pending[i]);
		if (atfh_ws_send_text(&f->ws, buf, (size_t)n, 5000) < 0)
			break; /* the session learns of it when it reads */
		t->acks++;
	}
	memmove(t->pending, t->pending + i, (t->npending - i) * sizeof *t->pending);
	t->npending -= i;
	return true;
}

/* ---- messages -------------------------------------------------------------- */

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int on_message(struct atfh_firehose *f, uint8_t *p, size_t n, bool text)
{
	struct atfh_tap *t = f->hook_ctx;
	if (!text)
		return atfh_fh_malformed(f, "a binary message of %zu bytes where Tap sends JSON", n);
	struct atfh_tap_event ev;
	const char *err = NULL;
	int64_t now = wall_us();
	t->line.len = 0;
	int rc = atfh_tap_convert(&t->line, (const char *)p, n, now, &ev, &err);
	if (ev.has_id && ids_has(&t->ids, ev.id)) {
		/* written (or skipped) before: its ack was lost or late */
		t->redeliveries++;
		queue_ack(t, ev.id);
		return ATFH_FH_GO_ON;
	}
	if (rc < 0) {
		int r;
		if (ev.has_id) {
			/* skipped for good: unacked, Tap would send it forever
			 * and hold the repo's later events behind it */
			r = atfh_fh_malformed(f, "Tap event %lld: %s; skipped and acked",
					      (long long)ev.id, err);
			ids_add(&t->ids, ev.id);
			queue_ack(t, ev.id);
		} else {
			r = atfh_fh_malformed(f, "not a Tap event (%zu bytes): %s", n, err);
		}
		return r;
	}
	ids_add(&t->ids, ev.id);
	t->events++;
	f->advanced++; /* a connection that brings events is a success */
	struct atfh_fh_item it = {
		.p = (const uint8_t *)t->line.buf, .n = t->line.len, .text = true,
		.has_time = true, .time_us = now,
	};
	int r = f->write(f, &it);
	queue_ack(t, ev.id);
	if (t->npending >= ACK_BATCH_MAX && !send_acks(t))
		return ATFH_FH_STOP;
	return r;
}

/* ---- the DID list ------------------------------------------------------------ */

volatile sig_atomic_t atfh_tap_hup;

static void on_hup(int sig)
{
	(void)sig;
	atfh_tap_hup = 1;
}

void atfh_tap_signals(void)
{
	struct sigaction sa = { .sa_handler = on_hup };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
}

static bool bad_line_seen;

static void strict_line(void *ctx, const char *path, size_t line, const char *why)
{
	(void)ctx;
	if (!bad_line_seen)
		atfh_err("%s: line %zu: %s", path, line, why);
	bad_line_seen = true;
}

static void warn_line(void *ctx, const char *path, size_t line, const char *why)
{
	(void)ctx;
	atfh_err("%s: line %zu: %s (skipped)", path, line, why);
}

/* The --did args and every file's DIDs, without repeats, into OUT (empty);
 * each file's state noted.  0, or -1 after reporting. */
static int read_list(struct atfh_tap *t, struct atfh_strv *out, bool strict)
{
	struct atfh_strv all = { 0 };
	int rc = 0;
	for (size_t i = 0; i < t->did_args.n; i++)
		atfh_strv_push(&all, t->did_args.v[i], strlen(t->did_args.v[i]));
	bad_line_seen = false;
	for (size_t i = 0; i < t->nfiles; i++) {
		struct atfh_tap_file *fl = &t->files[i];
		atfh_filestamp_take(&fl->stamp, fl->path);
		if (rc == 0 && atfh_didlist_load(&all, fl->path, strict ? strict_line : warn_line,
						 t) < 0) {
			atfh_err("%s: %s", fl->path, strerror(errno));
			rc = -1;
		}
	}
	if (strict && bad_line_seen)
		rc = -1;
	if (rc == 0) {
		struct atfh_didset seen;
		atfh_didset_init(&seen);
		for (size_t i = 0; i < all.n; i++) {
			size_t len = strlen(all.v[i]);
			if (!atfh_didset_has(&seen, all.v[i], len)) {
				atfh_didset_add(&seen, all.v[i], len);
				atfh_strv_push(out, all.v[i], len);
			}
		}
		atfh_didset_free(&seen);
	}
	atfh_strv_free(&all);
	return rc;
}

static bool files_changed(struct atfh_tap *t)
{
	for (size_t i = 0; i < t->nfiles; i++)
		if (strcmp(t->files[i].path, "-") && atfh_filestamp_changed(&t->files[i].stamp, t->files[i].path))
			return true;
	return false;
}

static void reload(struct atfh_tap *t, const char *why)
{
	struct atfh_strv fresh = { 0 };
	if (read_list(t, &fresh, false) < 0) {
		atfh_err("reload (%s) failed: keeping the previous %zu DIDs", why, t->want.n);
		atfh_strv_free(&fresh);
		return;
	}
	atfh_strv_free(&t->want);
	t->want = fresh;
	t->dirty = true;
	t->next_try = 0;
	t->retry_s = 1;
	atfh_err("reloaded %zu DIDs (%s)", t->want.n, why);
}

struct body {
	char text[160];
	size_t n;
};

static size_t body_write(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
	size_t n = size * nmemb;
	size_t room = sizeof b->text - 1 - b->n;
	size_t k = n < room ? n : room;
	memcpy(b->text + b->n, p, k);
	b->n += k;
	b->text[b->n] = '\0';
	return n;
}

/* POST {"dids":[…]} to Tap's /repos/WHAT.  0; -1 failed (try again later);
 * -2 the password was refused. */
static int post_dids(struct atfh_tap *t, const char *what, char *const *dids, size_t n)
{
	struct atfh_out b;
	atfh_out_init(&b, -1, "body");
	atfh_out_lit(&b, "{\"dids\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			atfh_out_c(&b, ',');
		atfh_json_str(&b, dids[i], strlen(dids[i]));
	}
	atfh_out_lit(&b, "]}");
	char url[2048];
	snprintf(url, sizeof url, "%s/repos/%s", t->http_base, what);
	int rc = -1;
	struct body resp = { .n = 0 };
	char cerr[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	if (!c) {
		atfh_err("%s: cannot initialise libcurl", url);
		atfh_out_free(&b);
		return -1;
	}
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, b.buf);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b.len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)t->http_timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	atfh_ws_http_options(&t->f->ws, c);
	CURLcode cr = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	for (char *q = resp.text; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	if (cr != CURLE_OK) {
		atfh_err("%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(cr));
	} else if (code == 401) {
		atfh_err("%s: HTTP 401: Tap refused the admin password (--tap-password, "
			 "TAP_ADMIN_PASSWORD)%s%s", url, resp.n ? ": " : "", resp.text);
		rc = -2;
	} else if (code < 200 || code > 299) {
		atfh_err("%s: HTTP %ld%s%s", url, code, resp.n ? ": " : "", resp.text);
	} else {
		rc = 0;
	}
	curl_slist_free_all(hd);
	curl_easy_cleanup(c);
	atfh_out_free(&b);
	return rc;
}

/* Tell Tap what changed in the list.  0; -1 try again later; -2 fatal. */
static int sync_dids(struct atfh_tap *t)
{
	struct atfh_didset want, told, gone;
	struct atfh_strv add = { 0 }, del = { 0 }, kept = { 0 };
	atfh_didset_init(&want);
	atfh_didset_init(&told);
	atfh_didset_init(&gone);
	for (size_t i = 0; i < t->want.n; i++)
		atfh_didset_add(&want, t->want.v[i], strlen(t->want.v[i]));
	for (size_t i = 0; i < t->told.n; i++)
		atfh_didset_add(&told, t->told.v[i], strlen(t->told.v[i]));
	for (size_t i = 0; i < t->want.n; i++)
		if (!atfh_didset_has(&told, t->want.v[i], strlen(t->want.v[i])))
			atfh_strv_push(&add, t->want.v[i], strlen(t->want.v[i]));
	for (size_t i = 0; i < t->told.n; i++)
		if (!atfh_didset_has(&want, t->told.v[i], strlen(t->told.v[i])))
			atfh_strv_push(&del, t->told.v[i], strlen(t->told.v[i]));
	int rc = 0;
	size_t added = 0, removed = 0;
	for (size_t i = 0; i < add.n && rc == 0; i += DIDS_PER_POST) {
		size_t k = add.n - i < DIDS_PER_POST ? add.n - i : DIDS_PER_POST;
		rc = post_dids(t, "add", add.v + i, k);
		if (rc == 0) {
			for (size_t j = i; j < i + k; j++)
				atfh_strv_push(&t->told, add.v[j], strlen(add.v[j]));
			added += k;
		}
	}
	for (size_t i = 0; i < del.n && rc == 0; i += DIDS_PER_POST) {
		size_t k = del.n - i < DIDS_PER_POST ? del.n - i : DIDS_PER_POST;
		rc = post_dids(t, "remove", del.v + i, k);
		if (rc == 0) {
			for (size_t j = i; j < i + k; j++)
				atfh_didset_add(&gone, del.v[j], strlen(del.v[j]));
			removed += k;
		}
	}
	if (removed) {
		for (size_t i = 0; i < t->told.n; i++)
			if (!atfh_didset_has(&gone, t->told.v[i], strlen(t->told.v[i])))
				atfh_strv_push(&kept, t->told.v[i], strlen(t->told.v[i]));
		atfh_strv_free(&t->told);
		t->told = kept;
	}
	t->dids_added += added;
	t->dids_removed += removed;
	if (added || removed)
		atfh_err("Tap: %zu DID%s added (/repos/add), %zu removed (/repos/remove)", added,
			 added == 1 ? "" : "s", removed);
	atfh_strv_free(&add);
	atfh_strv_free(&del);
	atfh_didset_free(&want);
	atfh_didset_free(&told);
	atfh_didset_free(&gone);
	return rc;
}

/* Between messages: SIGHUP, a changed file (looked at once a second), and
 * a list Tap has not been told yet.  false: the run ends (fatal set). */
static bool manage_dids(struct atfh_tap *t, double now)
{
	if (atfh_tap_hup) {
		atfh_tap_hup = 0;
		if (t->managing)
			reload(t, "SIGHUP");
		t->next_check = now + 1;
	}
	if (!t->managing)
		return true;
	if (t->nfiles && now >= t->next_check) {
		t->next_check = now + 1;
		if (files_changed(t))
			reload(t, "file changed");
	}
	if (!t->dirty || now < t->next_try)
		return true;
	int rc = sync_dids(t);
	if (rc == -2) {
		t->fatal = true;
		return false;
	}
	if (rc < 0) {
		atfh_err("Tap's DID list not updated; trying again in %.0f s", t->retry_s);
		t->next_try = atfh_now() + t->retry_s;
		t->retry_s = t->retry_s * 2 > RETRY_MAX_S ? RETRY_MAX_S : t->retry_s * 2;
		return true;
	}
	t->dirty = false;
	t->retry_s = 1;
	return true;
}

static int ms_until(double now, double at)
{
	double d = (at - now) * 1000;
	return d <= 0 ? 0 : d > 1e9 ? 1000000000 : (int)d + 1;
}

static int on_idle(struct atfh_firehose *f)
{
	struct atfh_tap *t = f->hook_ctx;
	int lim = t->inner_idle(f);
	if (lim == ATFH_FH_IDLE_STOP)
		return lim;
	if (!send_acks(t))
		return ATFH_FH_IDLE_STOP;
	double now = atfh_now();
	if (!manage_dids(t, now))
		return ATFH_FH_IDLE_STOP;
	int mine = -1;
	if (t->managing && t->nfiles)
		mine = ms_until(now, t->next_check);
	if (t->managing && t->dirty) {
		int u = ms_until(now, t->next_try);
		mine = mine < 0 || u < mine ? u : mine;
	}
	if (mine >= 0 && (lim < 0 || mine < lim))
		lim = mine;
	return lim;
}

static void on_closing(struct atfh_firehose *f)
{
	struct atfh_tap *t = f->hook_ctx;
	send_acks(t);
}

/* ---- set-up ------------------------------------------------------------------ */

void atfh_tap_init(struct atfh_tap *t, const char *ws_url)
{
	memset(t, 0, sizeof *t);
	t->http_timeout_ms = 30000;
	t->retry_s = 1;
	atfh_out_init(&t->line, -1, "line");
	/* ws://host[:port][/prefix]/channel[?…] → http://host[:port][/prefix] */
	const char *scheme = "http";
	const char *rest = ws_url;
	if (strncasecmp(ws_url, "wss://", 6) == 0) {
		scheme = "https";
		rest = ws_url + 6;
	} else if (strncasecmp(ws_url, "ws://", 5) == 0) {
		rest = ws_url + 5;
	}
	size_t n = strcspn(rest, "?#");
	static const char ch[] = "/channel";
	if (n >= sizeof ch - 1 && strncmp(rest + n - (sizeof ch - 1), ch, sizeof ch - 1) == 0)
		n -= sizeof ch - 1;
	while (n && rest[n - 1] == '/')
		n--;
	size_t cap = strlen(scheme) + 3 + n + 1;
	t->http_base = atfh_xmalloc(cap);
	snprintf(t->http_base, cap, "%s://%.*s", scheme, (int)n, rest);
}

void atfh_tap_add_did(struct atfh_tap *t, const char *did)
{
	atfh_strv_push(&t->did_args, did, strlen(did));
	t->managing = true;
}

int atfh_tap_add_file(struct atfh_tap *t, const char *path)
{
	t->files = atfh_xrealloc(t->files, (t->nfiles + 1) * sizeof *t->files);
	memset(&t->files[t->nfiles], 0, sizeof *t->files);
	t->files[t->nfiles++].path = path;
	t->managing = true;
	return 0;
}

void atfh_tap_attach(struct atfh_tap *t, struct atfh_firehose *f, struct atfh_sink *k)
{
	t->f = f;
	t->k = k;
	t->inner_idle = f->idle;
	f->idle = on_idle;
	f->message = on_message;
	f->closing = on_closing;
	f->hook_ctx = t;
	if (t->managing) {
		t->dirty = true;
		t->next_check = atfh_now() + 1;
	}
}

int atfh_tap_load(struct atfh_tap *t)
{
	if (!t->managing)
		return 0;
	atfh_strv_free(&t->want);
	return read_list(t, &t->want, true);
}

void atfh_tap_free(struct atfh_tap *t)
{
	free(t->ids.t[0]);
	free(t->ids.t[1]);
	free(t->pending);
	free(t->http_base);
	free(t->files);
	atfh_out_free(&t->line);
	atfh_strv_free(&t->did_args);
	atfh_strv_free(&t->want);
	atfh_strv_free(&t->told);
	memset(t, 0, sizeof *t);
}
