/*
 * fuzz_diddoc.c — DID documents: the input is a DID, a newline, and the
 * document's JSON.  Any bytes parse or are refused without a crash; an
 * accepted document's at-kafka form is valid JSON that starts with the
 * DID as its id; the PDS has a host exactly when it has an endpoint, and
 * that host is what atfh_url_host reads from the endpoint; every field is
 * a NUL-terminated string inside its array; memory stays proportional to
 * the input.  The first line also goes through atfh_url_host on its own,
 * and the whole input through atfh_idcache_head (a disk cache line's
 * head): the spans it returns lie inside the input, the line it measures
 * ends with '}' followed by a newline or the end of the input.
 */
#include "fuzz.h"
#include "diddoc.h"
#include "identity.h"

#include <string.h>

static void check_field(const char *f, size_t cap)
{
	if (!memchr(f, '\0', cap))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl = memchr(p, '\n', size);
	size_t dn = nl ? (size_t)(nl - p) : size;
	char host[256], did[ATFH_DID_MAX + 1];
	if (dn < sizeof did) {
		memcpy(did, p, dn);
		did[dn] = '\0';
		if (atfh_url_host(did, host, sizeof host) == 0)
			check_field(host, sizeof host);
	}
	struct atfh_idcache_head h;
	if (atfh_idcache_head(p, size, &h) == 0) {
		const char *end = p + size;
		if (h.did < p || h.did + h.did_len > end || h.host < p || h.host + h.host_len > end ||
		    h.doc < p || h.doc >= end || *h.doc != '{' || h.line_len > size ||
		    h.line_len < 2 || p[h.line_len - 1] != '}' || h.fetched < 0 ||
		    (h.line_len < size && p[h.line_len] != '\n') || memchr(h.did, '"', h.did_len) ||
		    memchr(h.host, '\\', h.host_len))
			abort();
	}
	if (!nl)
		return 0;
	const char *json = nl + 1;
	size_t jn = size - dn - 1;
	struct atfh_diddoc d;
	const char *why = NULL;
	fuzz_alloc_start();
	int rc = atfh_diddoc_parse(&d, json, jn, p, dn, &why);
	fuzz_alloc_check(size, 16, 1 << 16);
	if (rc) {
		if (!why)
			abort();
		return 0;
	}
	check_field(d.pds, sizeof d.pds);
	check_field(d.pds_host, sizeof d.pds_host);
	check_field(d.handle, sizeof d.handle);
	check_field(d.key_type, sizeof d.key_type);
	check_field(d.key_mb, sizeof d.key_mb);
	if (!d.pds[0] != !d.pds_host[0])
		abort();
	if (d.pds[0] && (atfh_url_host(d.pds, host, sizeof host) || strcmp(host, d.pds_host)))
		abort();
	if (!d.key_type[0] != !d.key_mb[0])
		abort();
	fuzz_check_json(d.indigo, d.indigo_len);
	if (d.indigo_len < 7 + dn || memcmp(d.indigo, "{\"id\":\"", 7))
		abort();
	atfh_diddoc_free(&d);
	return 0;
}
