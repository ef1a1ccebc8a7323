/*
 * sigverify.c — commit signatures; see sigverify.h.
 */
#include "sigverify.h"
#include "atfh.h"
#include "cborenc.h"
#include "dagcbor.h"
#include "json.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <secp256k1.h>
#include <stdlib.h>
#include <string.h>

#define MB_MAX 128   /* publicKeyMultibase characters we accept */
#define RAW_MAX 96   /* their decoded bytes: 128 base58 digits < 94 bytes */

/* ---- base58btc ------------------------------------------------------------ */

static const char b58_alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static int b58_digit(unsigned char ch)
{
	const char *p = ch ? strchr(b58_alphabet, ch) : NULL;
	return p ? (int)(p - b58_alphabet) : -1;
}

/* Decode S (N characters) into OUT (at most CAP bytes); the length, or -1. */
static int b58_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
	unsigned char buf[RAW_MAX]; /* big-endian number, buf[RAW_MAX - used ..] */
	size_t used = 0, zeros = 0;

	if (n > MB_MAX)
		return -1;
	while (zeros < n && s[zeros] == '1')
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		int d = b58_digit((unsigned char)s[i]);
		if (d < 0)
			return -1;
		unsigned carry = (unsigned)d;
		for (size_t j = 0; j < used; j++) {
			carry += 58u * buf[RAW_MAX - 1 - j];
			buf[RAW_MAX - 1 - j] = (unsigned char)carry;
			carry >>= 8;
		}
		while (carry) {
			if (used == RAW_MAX)
				return -1;
			buf[RAW_MAX - 1 - used++] = (unsigned char)carry;
			carry >>= 8;
		}
	}
	if (zeros + used > cap)
		return -1;
	memset(out, 0, zeros);
	memcpy(out + zeros, buf + RAW_MAX - used, used);
	return (int)(zeros + used);
}

/* Encode IN (N bytes) into DST (SIZE bytes, terminated); the length or 0. */
static size_t b58_encode(const unsigned char *in, size_t n, char *dst, size_t size)
{
	unsigned char digits[RAW_MAX * 138 / 100 + 2];
	size_t used = 0, zeros = 0;

	if (n > RAW_MAX)
		return 0;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = in[i];
		for (size_t j = 0; j < used; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (unsigned char)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			digits[used++] = (unsigned char)(carry % 58);
			carry /= 58;
		}
	}
	if (zeros + used + 1 > size)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < zeros; i++)
		dst[k++] = '1';
	for (size_t i = used; i-- > 0;)
		dst[k++] = b58_alphabet[digits[i]];
	dst[k] = 0;
	return k;
}

/* ---- keys ------------------------------------------------------------------ */

static pthread_once_t k256_once = PTHREAD_ONCE_INIT;
static void k256_selftest(void) { secp256k1_selftest(); }

static int fail(const char **why, const char *msg)
{
	if (why)
		*why = msg;
	return -1;
}

/* Fill KEY from a point (33 compressed or 65 uncompressed bytes). */
static int key_from_point(enum atfh_keytype type, const unsigned char *pt, size_t n,
			  struct atfh_pubkey *key, const char **why)
{
	if (!((n == 33 && (pt[0] == 2 || pt[0] == 3)) || (n == 65 && pt[0] == 4)))
		return fail(why, "public key is not an encoded curve point");
	if (type == ATFH_KEY_K256) {
		secp256k1_pubkey pk;
		size_t outlen = 33;
		pthread_once(&k256_once, k256_selftest);
		if (!secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, pt, n))
			return fail(why, "secp256k1 public key is not on the curve");
		secp256k1_ec_pubkey_serialize(secp256k1_context_static, key->point, &outlen, &pk,
					      SECP256K1_EC_COMPRESSED);
		memcpy(key->k256, pk.data, sizeof key->k256);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		EVP_PKEY *pkey = NULL;
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
							 (char *)"prime256v1", 0),
			OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
							  (void *)pt, n),
			OSSL_PARAM_construct_end(),
		};
		int good = ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
			   EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) > 0;
		EVP_PKEY_CTX_free(ctx);
		if (good) {
			/* the point on the curve, not at infinity, in the group */
			ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
			good = ctx && EVP_PKEY_public_check(ctx) > 0;
			EVP_PKEY_CTX_free(ctx);
		}
		if (!good) {
			EVP_PKEY_free(pkey);
			return fail(why, "P-256 public key is not on the curve");
		}
		key->p256 = pkey;
		if (n == 33) {
			memcpy(key->point, pt, 33);
		} else {
			key->point[0] = (unsigned char)(2 | (pt[64] & 1));
			memcpy(key->point + 1, pt + 1, 32);
		}
	}
	key->type = type;
	key->len = 33;
	return 0;
}

static void key_clear(struct atfh_pubkey *key)
{
	memset(key, 0, sizeof *key);
	key->type = ATFH_KEY_NONE;
	key->p256 = NULL;
}

/* base58btc multibase ('z' + digits) into RAW; the length or -1. */
static int multibase(const char *mb, size_t n, unsigned char *raw, const char **why)
{
	if (n < 2 || mb[0] != 'z') {
		fail(why, "publicKeyMultibase is not base58btc (does not start with z)");
		return -1;
	}
	int len = b58_decode(mb + 1, n - 1, raw, RAW_MAX);
	if (len < 0)
		fail(why, "publicKeyMultibase is not valid base58btc");
	return len;
}

static int parse_multikey(const char *mb, size_t n, struct atfh_pubkey *out, const char **why)
{
	unsigned char raw[RAW_MAX];
	int len = multibase(mb, n, raw, why);
	if (len < 0)
		return -1;
	/* multicodec varints: secp256k1-pub 0xe7 = e7 01, p256-pub 0x1200 = 80 24 */
	enum atfh_keytype type;
	if (len >= 2 && raw[0] == 0xe7 && raw[1] == 0x01)
		type = ATFH_KEY_K256;
	else if (len >= 2 && raw[0] == 0x80 && raw[1] == 0x24)
		type = ATFH_KEY_P256;
	else
		return fail(why, "Multikey is neither secp256k1-pub (0xe7) nor p256-pub (0x1200)");
	if (len != 2 + 33)
		return fail(why, "Multikey is not a 33-byte compressed point");
	return key_from_point(type, raw + 2, 33, out, why);
}

int atfh_pubkey_parse(const char *type, const char *mb, size_t mblen,
		      struct atfh_pubkey *out, const char **why)
{
	key_clear(out);
	if (!mb)
		return fail(why, "no publicKeyMultibase");
	if (!type || strcmp(type, "Multikey") == 0)
		return parse_multikey(mb, mblen, out, why);
	enum atfh_keytype kt;
	if (strcmp(type, "EcdsaSecp256k1VerificationKey2019") == 0)
		kt = ATFH_KEY_K256;
	else if (strcmp(type, "EcdsaSecp256r1VerificationKey2019") == 0)
		kt = ATFH_KEY_P256;
	else
		return fail(why, "unsupported verification method type");
	unsigned char raw[RAW_MAX];
	int len = multibase(mb, mblen, raw, why);
	if (len < 0)
		return -1;
	return key_from_point(kt, raw, (size_t)len, out, why);
}

int atfh_pubkey_from_didkey(const char *didkey, struct atfh_pubkey *out, const char **why)
{
	static const char pre[] = "did:key:";
	key_clear(out);
	if (!didkey || strncmp(didkey, pre, sizeof pre - 1) != 0)
		return fail(why, "not a did:key");
	const char *mb = didkey + sizeof pre - 1;
	return parse_multikey(mb, strlen(mb), out, why);
}

size_t atfh_pubkey_didkey(const struct atfh_pubkey *key, char *dst, size_t size)
{
	static const char pre[] = "did:key:z";
	unsigned char raw[2 + 33];
	if (key->type == ATFH_KEY_NONE || key->len != 33 || size < sizeof pre)
		return 0;
	raw[0] = key->type == ATFH_KEY_K256 ? 0xe7 : 0x80;
	raw[1] = key->type == ATFH_KEY_K256 ? 0x01 : 0x24;
	memcpy(raw + 2, key->point, 33);
	size_t n = b58_encode(raw, sizeof raw, dst + sizeof pre - 1, size - (sizeof pre - 1));
	if (!n)
		return 0;
	memcpy(dst, pre, sizeof pre - 1);
	return n + sizeof pre - 1;
}

int atfh_pubkey_copy(struct atfh_pubkey *dst, const struct atfh_pubkey *src)
{
	if (src->p256 && !EVP_PKEY_up_ref((EVP_PKEY *)src->p256))
		return -1;
	*dst = *src;
	return 0;
}

void atfh_pubkey_free(struct atfh_pubkey *key)
{
	if (!key)
		return;
	EVP_PKEY_free((EVP_PKEY *)key->p256);
	key_clear(key);
}

/* ---- the commit block ------------------------------------------------------ */

/* Is the head at P (before END) in its shortest form?  DAG-CBOR requires
 * it; the reader accepts longer ones. */
static bool head_minimal(const uint8_t *p, const uint8_t *end)
{
	if (p >= end)
		return false;
	unsigned ai = p[0] & 31;
	if (p[0] >> 5 == 7 || ai < 24)
		return true;
	if (ai > 27)
		return false;
	size_t hl = (size_t)1 << (ai - 24);
	if ((size_t)(end - p) < 1 + hl)
		return false;
	uint64_t v = 0;
	for (size_t i = 1; i <= hl; i++)
		v = v << 8 | p[i];
	static const uint64_t least[] = { 24, 0x100, 0x10000, 0x100000000u };
	return v >= least[ai - 24];
}

struct commit_fields {
	struct atfh_str did;
	const uint8_t *sig;
	size_t sig_len;
	const uint8_t *sig_entry, *sig_end; /* the `sig` key and value */
	const uint8_t *entries;             /* after the map head */
	uint64_t pairs;
	bool has_did, has_version, has_data, has_sig;
	int64_t version;
};

struct walk_level {
	uint64_t left;      /* items still to read (a map counts 2 per pair) */
	bool map;
	const uint8_t *key; /* the last key read (maps) */
	size_t key_len;
};

static bool is_key(const struct atfh_str *k, const char *lit)
{
	size_t n = strlen(lit);
	return k->n == n && memcmp(k->p, lit, n) == 0;
}

/* Read the whole block, checking that it is canonical DAG-CBOR (shortest
 * heads, map keys in canonical order without repeats, UTF-8 text) and
 * picking the commit's fields from the top-level map.  No allocation. */
static int read_commit(const uint8_t *p, size_t n, struct commit_fields *f, const char **why)
{
	struct walk_level st[ATFH_MAX_DEPTH + 1];
	size_t depth = 0;
	struct atfh_cbor c;
	struct atfh_cbor_item it;
	struct atfh_str top_key = { 0 };

	memset(f, 0, sizeof *f);
	atfh_cbor_init(&c, p, n);
	if (atfh_cbor_next(&c, &it) < 0)
		return fail(why, "commit block is not DAG-CBOR");
	if (!head_minimal(p, c.end))
		return fail(why, "commit block is not canonical DAG-CBOR (a head longer than needed)");
	if (it.kind != ATFH_CB_MAP)
		return fail(why, "commit block is not a map");
	if (it.count > n)
		return fail(why, "commit block is not DAG-CBOR");
	f->entries = c.p;
	f->pairs = it.count;
	st[0] = (struct walk_level){ .left = it.count * 2, .map = true };
	depth = 1;
	while (depth) {
		struct walk_level *top = &st[depth - 1];
		if (!top->left) {
			depth--;
			continue;
		}
		bool is_key_pos = top->map && top->left % 2 == 0;
		top->left--;
		const uint8_t *start = c.p;
		if (atfh_cbor_next(&c, &it) < 0)
			return fail(why, "commit block is not DAG-CBOR");
		if (!head_minimal(start, c.end) ||
		    (it.kind == ATFH_CB_LINK && !head_minimal(start + 2, c.end)))
			return fail(why, "commit block is not canonical DAG-CBOR (a head longer than needed)");
		if (it.kind == ATFH_CB_TEXT && !atfh_utf8_valid((const char *)it.p, it.n))
			return fail(why, "commit block has text that is not UTF-8");
		if (is_key_pos) {
			if (it.kind != ATFH_CB_TEXT)
				return fail(why, "commit block has a map key that is not text");
			if (top->key && atfh_cbe_key_cmp(top->key, top->key_len, it.p, it.n) >= 0)
				return fail(why, "commit block is not canonical DAG-CBOR (map keys out of order or repeated)");
			top->key = it.p;
			top->key_len = it.n;
			if (depth == 1) {
				top_key.p = (const char *)it.p;
				top_key.n = it.n;
				if (is_key(&top_key, "sig"))
					f->sig_entry = start;
			}
			continue;
		}
		if (depth == 1) {
			if (is_key(&top_key, "did")) {
				if (it.kind != ATFH_CB_TEXT)
					return fail(why, "commit did is not text");
				f->did.p = (const char *)it.p;
				f->did.n = it.n;
				f->has_did = true;
			} else if (is_key(&top_key, "version")) {
				if (it.kind != ATFH_CB_INT)
					return fail(why, "commit version is not an integer");
				f->version = it.i;
				f->has_version = true;
			} else if (is_key(&top_key, "data")) {
				if (it.kind != ATFH_CB_LINK)
					return fail(why, "commit data is not a link");
				f->has_data = true;
			} else if (is_key(&top_key, "sig")) {
				if (it.kind != ATFH_CB_BYTES)
					return fail(why, "commit sig is not bytes");
				f->sig = it.p;
				f->sig_len = it.n;
				f->sig_end = c.p;
				f->has_sig = true;
			}
		}
		if ((it.kind == ATFH_CB_ARRAY || it.kind == ATFH_CB_MAP) && it.count) {
			/* its items would be at this depth: as deep as
			 * lib/cborenc's canonical check goes, no deeper */
			if (depth + 1 >= ATFH_MAX_DEPTH)
				return fail(why, "commit block nests too deeply");
			uint64_t items = it.kind == ATFH_CB_MAP ? it.count * 2 : it.count;
			if (it.count > (uint64_t)(c.end - c.p))
				return fail(why, "commit block is not DAG-CBOR");
			st[depth++] = (struct walk_level){ .left = items, .map = it.kind == ATFH_CB_MAP };
		}
	}
	if (c.p != c.end)
		return fail(why, "commit block has bytes after its map");
	if (!f->has_did || !f->has_version || !f->has_data)
		return fail(why, "block is not a commit (no did, version or data)");
	if (f->version != 2 && f->version != 3)
		return fail(why, "commit version is not 2 or 3");
	if (!f->has_sig)
		return fail(why, "commit has no sig");
	return 0;
}

/* s <= n/2 for a 32-byte big-endian S and half order HALF. */
static bool low_s(const uint8_t *s, const uint8_t *half)
{
	return memcmp(s, half, 32) <= 0;
}

static const uint8_t k256_half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};
static const uint8_t p256_half_n[32] = {
	0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
};

/* A CBOR head of major type MAJOR with argument V, shortest form; its length. */
static size_t cbor_head(uint8_t *o, unsigned major, uint64_t v)
{
	unsigned m = major << 5;
	size_t w;
	if (v < 24) {
		o[0] = (uint8_t)(m | v);
		return 1;
	}
	if (v <= 0xff) {
		o[0] = (uint8_t)(m | 24);
		w = 1;
	} else if (v <= 0xffff) {
		o[0] = (uint8_t)(m | 25);
		w = 2;
	} else if (v <= 0xffffffffu) {
		o[0] = (uint8_t)(m | 26);
		w = 4;
	} else {
		o[0] = (uint8_t)(m | 27);
		w = 8;
	}
	for (size_t i = 0; i < w; i++)
		o[1 + i] = (uint8_t)(v >> (8 * (w - 1 - i)));
	return 1 + w;
}

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static void md_fetch(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

/* SHA-256 of three spans.  The digest is fetched once (a one-shot
 * SHA256() looks it up on every call) and each thread keeps its context. */
static int sha256_3(const void *a, size_t an, const void *b, size_t bn, const void *c,
		    size_t cn, uint8_t out[32])
{
	static _Thread_local EVP_MD_CTX *ctx;
	unsigned len = 0;
	pthread_once(&md_once, md_fetch);
	if (!sha256_md || (!ctx && !(ctx = EVP_MD_CTX_new())))
		return -1;
	if (!EVP_DigestInit_ex(ctx, sha256_md, NULL) || !EVP_DigestUpdate(ctx, a, an) ||
	    !EVP_DigestUpdate(ctx, b, bn) || !EVP_DigestUpdate(ctx, c, cn) ||
	    !EVP_DigestFinal_ex(ctx, out, &len) || len != 32)
		return -1;
	return 0;
}

/* One DER INTEGER from a 32-byte big-endian unsigned V; its length. */
static size_t der_int(uint8_t *o, const uint8_t *v)
{
	size_t i = 0;
	while (i < 31 && v[i] == 0)
		i++;
	size_t pad = v[i] & 0x80 ? 1 : 0, len = 32 - i + pad;
	o[0] = 0x02;
	o[1] = (uint8_t)len;
	if (pad)
		o[2] = 0;
	memcpy(o + 2 + pad, v + i, 32 - i);
	return 2 + len;
}

static int verify_p256(EVP_PKEY *pkey, const uint8_t *sig, const uint8_t *hash)
{
	uint8_t der[2 + 2 * 35];
	size_t r = der_int(der + 2, sig);
	size_t s = der_int(der + 2 + r, sig + 32);
	der[0] = 0x30;
	der[1] = (uint8_t)(r + s);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int good = ctx && EVP_PKEY_verify_init(ctx) > 0 &&
		   EVP_PKEY_verify(ctx, der, 2 + r + s, hash, 32) == 1;
	EVP_PKEY_CTX_free(ctx);
	return good ? 0 : -1;
}

int atfh_commit_verify_n(const unsigned char *commit, size_t len, const char *did,
			 size_t didlen, const struct atfh_pubkey *key, const char **why)
{
	struct commit_fields f;

	if (!key || key->type == ATFH_KEY_NONE)
		return fail(why, "no signing key");
	if (!did || !didlen)
		return fail(why, "no repo DID to check the commit against");
	if (read_commit(commit, len, &f, why) < 0)
		return -1;
	if (f.did.n != didlen || memcmp(f.did.p, did, didlen) != 0)
		return fail(why, "commit did does not match the repo");
	if (f.sig_len != 64)
		return fail(why, "signature is not 64 bytes");
	if (!low_s(f.sig + 32, key->type == ATFH_KEY_K256 ? k256_half_n : p256_half_n))
		return fail(why, "high-S signature");

	/* What was signed: the canonical encoding of the commit without `sig`.
	 * The block has just been checked to be canonical, so that is the
	 * block with the `sig` entry cut out and the map head one pair
	 * shorter: removing an entry keeps the others in canonical order and
	 * every other byte as it is.  Hashing those spans costs no re-encoding
	 * and signs exactly the bytes a canonical re-encoder (the reference
	 * implementation's) would produce. */
	uint8_t head[9], hash[32];
	size_t hl = cbor_head(head, 5, f.pairs - 1);
	if (sha256_3(head, hl, f.entries, (size_t)(f.sig_entry - f.entries), f.sig_end,
		     (size_t)(commit + len - f.sig_end), hash) < 0)
		return fail(why, "SHA-256 failed (out of memory?)");

	if (key->type == ATFH_KEY_K256) {
		secp256k1_ecdsa_signature sig;
		secp256k1_pubkey pk;
		memcpy(pk.data, key->k256, sizeof pk.data);
		if (!secp256k1_ecdsa_signature_parse_compact(secp256k1_context_static, &sig, f.sig) ||
		    !secp256k1_ecdsa_verify(secp256k1_context_static, &sig, hash, &pk))
			return fail(why, "signature does not verify");
		return 0;
	}
	if (!key->p256 || verify_p256((EVP_PKEY *)key->p256, f.sig, hash) < 0)
		return fail(why, "signature does not verify");
	return 0;
}

int atfh_commit_verify(const unsigned char *commit, size_t len, const char *did,
		       const struct atfh_pubkey *key, const char **why)
{
	return atfh_commit_verify_n(commit, len, did, did ? strlen(did) : 0, key, why);
}
