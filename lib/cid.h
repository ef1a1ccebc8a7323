/*
 * cid.h — content identifiers: parsing the binary form (CIDv1 and the
 * legacy CIDv0), the string forms (base32 multibase "b…" for v1, base58btc
 * for v0) and sha256 verification of a block against its CID.
 */
#ifndef ATFH_CID_H
#define ATFH_CID_H

#include "atfh.h"

#define ATFH_CODEC_DAG_CBOR 0x71
#define ATFH_CODEC_RAW      0x55
#define ATFH_MH_SHA256      0x12

struct atfh_cid {
	const uint8_t *p; /* whole binary CID */
	size_t n;
	uint64_t version, codec, mh_code;
	const uint8_t *digest;
	size_t digest_len;
};

/* Parse the binary CID at the start of P.  Returns the number of bytes it
 * takes, or 0 if P does not start with a valid CID. */
size_t atfh_cid_parse(const uint8_t *p, size_t n, struct atfh_cid *cid);

/* Longest string form of a CID of N bytes, NUL included. */
#define ATFH_CID_STRMAX(n) (2 + ((n) * 8 + 4) / 5 + (n) / 2 + 2)
/* Write the string form into DST (room for ATFH_CID_STRMAX(cid->n));
 * returns its length. */
size_t atfh_cid_str(const struct atfh_cid *cid, char *dst);

/* Does sha256(DATA) match the CID's digest?  -1 if the CID's hash is not
 * sha2-256 (cannot be checked). */
int atfh_cid_verify(const struct atfh_cid *cid, const uint8_t *data, size_t n);

#endif
