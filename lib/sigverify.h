/*
 * sigverify.h — commit signatures: an account's signing key as DID
 * documents carry it (Multikey, the legacy Ecdsa*VerificationKey2019
 * types, did:key), parsed once into a form that verifies fast, and the
 * check of one commit block against it: the block is canonical DAG-CBOR,
 * a commit object, for the expected repo, with a 64-byte low-S ECDSA
 * signature (secp256k1 through libsecp256k1, P-256 through libcrypto)
 * over SHA-256 of the commit's encoding without its `sig` entry.
 * Owns no I/O and no resolution: callers bring the key (see issue 15).
 */
#ifndef ATFH_SIGVERIFY_H
#define ATFH_SIGVERIFY_H

#include <stddef.h>

enum atfh_keytype { ATFH_KEY_NONE, ATFH_KEY_K256, ATFH_KEY_P256 };

/* A parsed public key.  POINT is always the 33-byte compressed point
 * (LEN 33), whatever form it was given in, so two keys are the same key
 * iff type, len and point are equal.  K256 / P256 hold the form the
 * verifier uses (libsecp256k1's parsed key; an OpenSSL EVP_PKEY): a key
 * owns that handle, so release it with atfh_pubkey_free and duplicate it
 * with atfh_pubkey_copy, never with a struct assignment.  A parsed key may
 * be used by several threads at once. */
struct atfh_pubkey {
	enum atfh_keytype type;
	unsigned char point[65];
	size_t len;
	unsigned char k256[64]; /* secp256k1_pubkey */
	void *p256;             /* EVP_PKEY *, or NULL */
};

/* TYPE is a verification method's "type" ("Multikey",
 * "EcdsaSecp256k1VerificationKey2019", "EcdsaSecp256r1VerificationKey2019";
 * NULL means Multikey), MB (MBLEN bytes, not necessarily terminated) its
 * publicKeyMultibase: base58btc ('z').  Multikey: a multicodec varint
 * (0xe7 secp256k1-pub, 0x1200 p256-pub) and a 33-byte compressed point.
 * Legacy types: the point alone, 65 bytes uncompressed (33 compressed is
 * accepted too, as the reference implementation does).  The point must
 * be on the curve.  0 ok (*OUT filled; free it), -1 with *WHY set (static
 * text) and *OUT empty. */
int atfh_pubkey_parse(const char *type, const char *mb, size_t mblen,
		      struct atfh_pubkey *out, const char **why);
/* The same from a did:key ("did:key:z..."): a Multikey. */
int atfh_pubkey_from_didkey(const char *didkey, struct atfh_pubkey *out, const char **why);
/* Write KEY as did:key into DST (SIZE bytes, terminated).  Returns the
 * length, or 0 when it does not fit or KEY is empty.  64 bytes suffice. */
size_t atfh_pubkey_didkey(const struct atfh_pubkey *key, char *dst, size_t size);
/* DST becomes an independent copy of SRC (0, or -1 out of memory). */
int atfh_pubkey_copy(struct atfh_pubkey *dst, const struct atfh_pubkey *src);
void atfh_pubkey_free(struct atfh_pubkey *key);

/* COMMIT = the DAG-CBOR bytes of a commit block, DID the repo DID of its
 * frame (NUL-terminated).  Checks that the block is canonical DAG-CBOR (a
 * non-canonical block is refused, never re-encoded: its CID and what was
 * signed would differ), a map with `did` (text), `version` (2 or 3),
 * `data` (link) and `sig` (bytes); that `did` equals DID; that `sig` is 64
 * bytes r||s, low-S; and that it is an ECDSA signature by KEY over SHA-256
 * of the commit's encoding without `sig`.  0 ok; -1 with *WHY set (static
 * text: "signature does not verify", "high-S signature", "commit did does
 * not match the repo", ...). */
int atfh_commit_verify(const unsigned char *commit, size_t len, const char *did,
		       const struct atfh_pubkey *key, const char **why);

/* The same with the DID as a span (DIDLEN bytes). */
int atfh_commit_verify_n(const unsigned char *commit, size_t len, const char *did,
			 size_t didlen, const struct atfh_pubkey *key, const char **why);

#endif
