/*
 * fuzz_commitsig.c — commit signature verification input (lib/sigverify).
 * Input: a length byte and a did:key, a length byte and the repo DID, then
 * the commit block.  No crash on any block; a refusal says why; and a
 * block that gets past the canonical-form check (refused for a reason
 * given after it, or verified) is canonical DAG-CBOR by lib/cborenc's measure:
 * re-encoding it gives the same bytes.  A verified commit must also fail
 * with a byte of its signature changed.  Allocation stays bounded.
 */
#include "fuzz.h"
#include "cborenc.h"
#include "dagcbor.h"
#include "sigverify.h"

#include <string.h>

/* Reasons given only once the whole block has been read and found
 * canonical (field types are checked on the way, so earlier refusals say
 * nothing about the rest of the block). */
static bool after_canon(const char *why)
{
	static const char *const late[] = { "is not a commit", "not 2 or 3", "has no sig",
					    "does not match", "64 bytes", "high-S",
					    "does not verify" };
	for (size_t i = 0; i < sizeof late / sizeof late[0]; i++)
		if (strstr(why, late[i]))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int warm;
	struct atfh_pubkey key;
	const char *why = NULL;
	char dk[256], did[256];

	if (!warm) { /* OpenSSL's one-time set-up is not the input's doing */
		/* {did: "x", sig: 64 zero bytes, data: a link, version: 3} */
		uint8_t commit[160], *p = commit;
		static const uint8_t head[] = { 0xa4, 0x63, 'd', 'i', 'd', 0x61, 'x', 0x63, 's',
						'i', 'g', 0x58, 0x40 };
		static const uint8_t data[] = { 0x64, 'd', 'a', 't', 'a', 0xd8, 0x2a, 0x58, 0x25,
						0x00, 0x01, 0x71, 0x12, 0x20 };
		static const uint8_t version[] = { 0x67, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x03 };
		memcpy(p, head, sizeof head), p += sizeof head;
		memset(p, 0, 64), p += 64;
		memcpy(p, data, sizeof data), p += sizeof data;
		memset(p, 7, 32), p += 32;
		memcpy(p, version, sizeof version), p += sizeof version;
		warm = atfh_pubkey_from_didkey("did:key:zDnaefteb3k4D1iurKH5dgmSKX1vqRC9fCqW144u9QdSfok9t",
					       &key, &why) == 0;
		atfh_commit_verify(commit, (size_t)(p - commit), "x", &key, &why);
		atfh_pubkey_free(&key);
	}
	if (size < 1 || (size_t)data[0] + 2 > size)
		return 0;
	size_t kl = data[0], dl = data[1 + kl];
	if (2 + kl + dl > size)
		return 0;
	memcpy(dk, data + 1, kl);
	dk[kl] = 0;
	memcpy(did, data + 2 + kl, dl);
	did[dl] = 0;
	const uint8_t *block = data + 2 + kl + dl;
	size_t n = size - 2 - kl - dl;
	if (atfh_pubkey_from_didkey(dk, &key, &why) < 0)
		key.type = ATFH_KEY_NONE; /* still walk the block: "no signing key" */
	fuzz_alloc_start();
	int r = atfh_commit_verify_n(block, n, did, dl, &key, &why);
	/* a P-256 verification allocates OpenSSL contexts (about 7 KB) each
	 * time, secp256k1 nothing: a constant, never a length from the input */
	fuzz_alloc_check(n, 4, 16384);
	if (r < 0 && !why) {
		fprintf(stderr, "refused without a reason\n");
		abort();
	}
	if (r == 0 || after_canon(why)) {
		struct atfh_cbenc e = { 0 };
		struct atfh_out o = fuzz_out();
		struct atfh_cbor c;
		atfh_cbor_init(&c, block, n);
		if (atfh_cbe_canon(&e, &c, &o) < 0 || c.p != c.end || o.len != n ||
		    memcmp(o.buf, block, n) != 0) {
			fprintf(stderr, "taken as canonical (%s) but re-encodes differently\n",
				r == 0 ? "verified" : why);
			abort();
		}
		atfh_cbe_free(&e);
		atfh_out_free(&o);
	}
	/* "sig": 64 bytes: a verified commit no longer verifies with one of
	 * them changed */
	const uint8_t *s = r == 0 ? memmem(block, n, "csigX@", 6) : NULL;
	if (s && s + 6 + 64 <= block + n) {
		uint8_t *copy = malloc(n);
		memcpy(copy, block, n);
		copy[s + 6 + 63 - block] ^= 1;
		if (atfh_commit_verify_n(copy, n, did, dl, &key, &why) == 0) {
			fprintf(stderr, "verified with a changed signature\n");
			abort();
		}
		free(copy);
	}
	atfh_pubkey_free(&key);
	return 0;
}
