/*
 * fuzz_handle.c — what handle resolution reads from the wire: the first
 * byte picks the parser, the rest is its input.  'd': a DNS answer to a
 * TXT query (c-ares parses it, lib/dnstxt joins each record's strings,
 * lib/handle picks the "did=" record); 'w': a body of
 * /.well-known/atproto-did; 'x': a com.atproto.identity.resolveHandle
 * answer; anything else: a handle's syntax.  Any bytes are refused or
 * give a DID that is valid, NUL-terminated and inside its buffer; a
 * valid handle has no character outside letters, digits, '-' and '.'.
 */
#include "fuzz.h"
#include "didset.h"
#include "diddoc.h"
#include "dnstxt.h"
#include "handle.h"

#include <string.h>

static int count_txt(void *arg, const char *txt, size_t n)
{
	size_t *k = arg;
	if (n && !txt)
		abort();
	for (size_t i = 0; i < n; i++) /* every byte readable */
		*k += (unsigned char)txt[i];
	(*k)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	char did[ATFH_DID_MAX + 1];
	int res = ATFH_HR_FAILED;
	switch (data[0]) {
	case 'd': {
		size_t k = 0;
		atfh_dnstxt_records(p, n, count_txt, &k);
		res = atfh_handle_txt_did(p, n, did);
		break;
	}
	case 'w':
		res = atfh_handle_wk_did((const char *)p, n, did);
		break;
	case 'x':
		res = atfh_handle_xrpc_did((const char *)p, n, did);
		break;
	default: {
		const char *s = (const char *)p;
		if (atfh_handle_valid(s, n)) {
			char h[ATFH_HANDLE_MAX + 1];
			if (n > ATFH_HANDLE_MAX)
				abort();
			for (size_t i = 0; i < n; i++)
				if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
				      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
					abort();
			memcpy(h, s, n);
			h[n] = '\0';
			(void)atfh_handle_allowed_tld(h);
			(void)atfh_handle_skip_dns(h);
		}
		return 0;
	}
	}
	if (res == ATFH_HR_DID) {
		size_t dn = strnlen(did, sizeof did);
		if (dn == sizeof did || !atfh_did_valid(did, dn))
			abort();
	}
	return 0;
}
