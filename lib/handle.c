/*
 * handle.c — see handle.h.
 */
#include "handle.h"
#include "didset.h"
#include "diddoc.h"
#include "dnstxt.h"
#include "jsonscan.h"

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool atfh_handle_valid(const char *s, size_t n)
{
	if (n < 3 || n > ATFH_HANDLE_MAX)
		return false;
	size_t labels = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!alnum(s[i]) && s[i] != '-')
				return false;
			continue;
		}
		size_t len = i - start;
		if (len < 1 || len > 63 || !alnum(s[start]) || !alnum(s[i - 1]))
			return false;
		labels++;
		if (i == n) { /* the TLD starts with a letter */
			char c = s[start];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
				return false;
		}
		start = i + 1;
	}
	return labels >= 2;
}

bool atfh_handle_allowed_tld(const char *h)
{
	static const char *const refused[] = { "local", "arpa", "invalid", "localhost", "internal",
					       "example", "onion", "alt" };
	const char *dot = strrchr(h, '.'), *tld = dot ? dot + 1 : h;
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
		if (strcmp(tld, refused[i]) == 0)
			return false;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool atfh_handle_skip_dns(const char *h)
{
	return ends_with(h, ".bsky.social") || ends_with(h, ".staging.bsky.dev");
}

static int set_did(const char *s, size_t n, char *did)
{
	if (n > ATFH_DID_MAX || !atfh_did_valid(s, n))
		return ATFH_HR_FAILED;
	memcpy(did, s, n);
	did[n] = '\0';
	return ATFH_HR_DID;
}

struct txt_ctx {
	char *did;
	int res;
};

static int on_txt(void *arg, const char *txt, size_t n)
{
	struct txt_ctx *c = arg;
	if (n < 4 || memcmp(txt, "did=", 4) != 0)
		return 0;
	c->res = set_did(txt + 4, n - 4, c->did);
	return 1; /* the first "did=" record decides */
}

int atfh_handle_txt_did(const unsigned char *abuf, size_t alen, char *did)
{
	struct txt_ctx c = { did, ATFH_HR_NOTFOUND };
	int rc = atfh_dnstxt_records(abuf, alen, on_txt, &c);
	if (rc < 0)
		return ATFH_HR_FAILED;
	return c.res;
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int atfh_handle_wk_did(const char *body, size_t n, char *did)
{
	if (n > ATFH_HANDLE_WK_MAX)
		return ATFH_HR_FAILED;
	while (n && space(*body))
		body++, n--;
	while (n && space(body[n - 1]))
		n--;
	return set_did(body, n, did);
}

int atfh_handle_xrpc_did(const char *body, size_t n, char *did)
{
	struct atfh_jobj o;
	const char *err;
	char buf[ATFH_DID_MAX + 1];
	while (n && space(*body))
		body++, n--;
	while (n && space(body[n - 1]))
		n--;
	if (!n || *body != '{' || atfh_jobj_parse(&o, body, n, &err))
		return ATFH_HR_FAILED;
	const struct atfh_jval *v = atfh_jobj_get(&o, "did");
	long k;
	if (!v || v->type != ATFH_J_STR || (k = atfh_jval_unescape(v, buf, sizeof buf)) < 0)
		return ATFH_HR_FAILED;
	return set_did(buf, (size_t)k, did);
}
