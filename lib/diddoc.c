/*
 * diddoc.c — see diddoc.h.
 */
#include "diddoc.h"
#include "handle.h"
#include "json.h"
#include "jsonscan.h"
#include "out.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

int atfh_url_host(const char *url, char *host, size_t cap)
{
	const char *p;
	if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return -1;
	size_t auth = strcspn(p, "/?#");
	const char *at = memchr(p, '@', auth);
	if (at) {
		auth -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	size_t hn;
	if (auth && p[0] == '[') { /* [v6]:port */
		const char *rb = memchr(p, ']', auth);
		if (!rb)
			return -1;
		hn = (size_t)(rb + 1 - p);
	} else {
		const char *colon = memchr(p, ':', auth);
		hn = colon ? (size_t)(colon - p) : auth;
	}
	if (hn == 0 || hn >= cap)
		return -1;
	for (size_t i = 0; i < hn; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= ' ' || c >= 0x7f)
			return -1;
		host[i] = (char)tolower(c);
	}
	host[hn] = '\0';
	return 0;
}

/* FIELD of object O as a string into DST; false when missing, not a
 * string or too long. */
static bool get_str(const struct atfh_jobj *o, const char *field, char *dst, size_t cap)
{
	const struct atfh_jval *v = atfh_jobj_get(o, field);
	return v && v->type == ATFH_J_STR && atfh_jval_unescape(v, dst, cap) >= 0;
}

/* Is ID the fragment FRAG, alone ("#atproto") or after the DID? */
static bool is_frag(const char *id, const char *did, size_t dn, const char *frag)
{
	if (id[0] == '#')
		return strcmp(id + 1, frag) == 0;
	return strncmp(id, did, dn) == 0 && id[dn] == '#' && strcmp(id + dn + 1, frag) == 0;
}

static void put_cstr(struct atfh_out *o, const char *s)
{
	atfh_json_str(o, s, strlen(s));
}

int atfh_diddoc_parse(struct atfh_diddoc *d, const char *json, size_t n,
		      const char *did, size_t dn, const char **why)
{
	return atfh_diddoc_parse_opt(d, json, n, did, dn, true, why);
}

int atfh_diddoc_parse_opt(struct atfh_diddoc *d, const char *json, size_t n,
			  const char *did, size_t dn, bool indigo, const char **why)
{
	struct atfh_jobj doc, o;
	const struct atfh_jval *arr;
	struct atfh_jval e;
	const char *pos;
	char id[ATFH_DID_MAX + 64], type[128], buf[512];
	/* the at-kafka form is built in a scratch buffer kept from call to
	 * call, and copied out only when wanted */
	static struct atfh_out w = { .fd = -1 };
	w.len = 0;

	memset(d, 0, sizeof *d);
	if (n > ATFH_DIDDOC_MAX) {
		*why = "DID document too large";
		return -1;
	}
	if (dn > ATFH_DID_MAX || atfh_jobj_parse(&doc, json, n, why))
		return *why = dn > ATFH_DID_MAX ? "DID too long" : *why, -1;
	if (!get_str(&doc, "id", id, sizeof id) || strlen(id) != dn || memcmp(id, did, dn)) {
		*why = "DID document is not the DID's (its id differs)";
		return -1;
	}
	atfh_out_lit(&w, "{\"id\":");
	atfh_json_str(&w, did, dn);

	/* alsoKnownAs: the handle */
	if ((arr = atfh_jobj_get(&doc, "alsoKnownAs")) && arr->type == ATFH_J_ARR) {
		bool first = true;
		pos = NULL;
		while (atfh_jarr_next(arr, &pos, &e)) {
			if (e.type != ATFH_J_STR || atfh_jval_unescape(&e, buf, sizeof buf) < 0)
				continue;
			if (first)
				atfh_out_lit(&w, ",\"alsoKnownAs\":[");
			else
				atfh_out_c(&w, ',');
			first = false;
			put_cstr(&w, buf);
			if (!d->handle[0] && strncmp(buf, "at://", 5) == 0 &&
			    atfh_handle_valid(buf + 5, strlen(buf + 5))) {
				/* normalised: lowercase (< sizeof d->handle: valid) */
				size_t k = 0;
				for (const char *c = buf + 5; *c; c++)
					d->handle[k++] = (*c >= 'A' && *c <= 'Z') ? (char)(*c + 32) : *c;
				d->handle[k] = '\0';
			}
		}
		if (!first)
			atfh_out_c(&w, ']');
	}

	/* verificationMethod: #atproto */
	if ((arr = atfh_jobj_get(&doc, "verificationMethod")) && arr->type == ATFH_J_ARR) {
		bool first = true;
		pos = NULL;
		while (atfh_jarr_next(arr, &pos, &e)) {
			char ctl[ATFH_DID_MAX + 1];
			if (e.type != ATFH_J_OBJ || atfh_jobj_parse(&o, e.p, e.n, why) ||
			    !get_str(&o, "id", id, sizeof id) || !get_str(&o, "type", type, sizeof type) ||
			    !get_str(&o, "publicKeyMultibase", buf, sizeof buf))
				continue;
			if (!get_str(&o, "controller", ctl, sizeof ctl))
				ctl[0] = '\0';
			if (first)
				atfh_out_lit(&w, ",\"verificationMethod\":[");
			else
				atfh_out_c(&w, ',');
			first = false;
			atfh_out_lit(&w, "{\"id\":");
			if (id[0] == '#') {
				char full[sizeof id + ATFH_DID_MAX];
				snprintf(full, sizeof full, "%.*s%s", (int)dn, did, id);
				put_cstr(&w, full);
			} else {
				put_cstr(&w, id);
			}
			atfh_out_lit(&w, ",\"type\":");
			put_cstr(&w, type);
			atfh_out_lit(&w, ",\"controller\":");
			put_cstr(&w, ctl);
			atfh_out_lit(&w, ",\"publicKeyMultibase\":");
			put_cstr(&w, buf);
			atfh_out_c(&w, '}');
			/* a key needs a type and a value (an empty type would
			 * read as no key taken, and a later method would
			 * replace the value alone) */
			if (!d->key_type[0] && is_frag(id, did, dn, "atproto") && type[0] && buf[0] &&
			    strlen(type) < sizeof d->key_type && strlen(buf) < sizeof d->key_mb) {
				strcpy(d->key_type, type);
				strcpy(d->key_mb, buf);
			}
		}
		if (!first)
			atfh_out_c(&w, ']');
	}

	/* service: #atproto_pds */
	if ((arr = atfh_jobj_get(&doc, "service")) && arr->type == ATFH_J_ARR) {
		bool first = true;
		pos = NULL;
		while (atfh_jarr_next(arr, &pos, &e)) {
			if (e.type != ATFH_J_OBJ || atfh_jobj_parse(&o, e.p, e.n, why) ||
			    !get_str(&o, "id", id, sizeof id) || !get_str(&o, "type", type, sizeof type) ||
			    !get_str(&o, "serviceEndpoint", buf, sizeof buf))
				continue;
			if (first)
				atfh_out_lit(&w, ",\"service\":[");
			else
				atfh_out_c(&w, ',');
			first = false;
			atfh_out_lit(&w, "{\"id\":");
			put_cstr(&w, id);
			atfh_out_lit(&w, ",\"type\":");
			put_cstr(&w, type);
			atfh_out_lit(&w, ",\"serviceEndpoint\":");
			put_cstr(&w, buf);
			atfh_out_c(&w, '}');
			char host[sizeof d->pds_host];
			if (!d->pds[0] && is_frag(id, did, dn, "atproto_pds") &&
			    strcmp(type, "AtprotoPersonalDataServer") == 0 &&
			    strlen(buf) < sizeof d->pds &&
			    atfh_url_host(buf, host, sizeof host) == 0) {
				strcpy(d->pds, buf);
				strcpy(d->pds_host, host);
			}
		}
		if (!first)
			atfh_out_c(&w, ']');
	}
	atfh_out_c(&w, '}');
	if (indigo) {
		d->indigo = atfh_xmalloc(w.len + 1);
		memcpy(d->indigo, w.buf, w.len);
		d->indigo[w.len] = '\0';
		d->indigo_len = w.len;
	}
	*why = NULL;
	return 0;
}

void atfh_diddoc_free(struct atfh_diddoc *d)
{
	free(d->indigo);
	d->indigo = NULL;
}
