/*
 * cid.c — see cid.h.
 */
#include "cid.h"
#include "util.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>

size_t atfh_cid_parse(const uint8_t *p, size_t n, struct atfh_cid *cid)
{
	memset(cid, 0, sizeof *cid);
	/* CIDv0: a bare sha2-256 multihash */
	if (n >= 34 && p[0] == 0x12 && p[1] == 0x20) {
		cid->p = p;
		cid->n = 34;
		cid->version = 0;
		cid->codec = 0x70; /* dag-pb */
		cid->mh_code = ATFH_MH_SHA256;
		cid->digest = p + 2;
		cid->digest_len = 32;
		return 34;
	}
	size_t off = 0, k;
	uint64_t len;
	if (!(k = atfh_uvarint(p, n, &cid->version)) || cid->version != 1)
		return 0;
	off += k;
	if (!(k = atfh_uvarint(p + off, n - off, &cid->codec)))
		return 0;
	off += k;
	if (!(k = atfh_uvarint(p + off, n - off, &cid->mh_code)))
		return 0;
	off += k;
	if (!(k = atfh_uvarint(p + off, n - off, &len)))
		return 0;
	off += k;
	if (len > 128 || len > n - off)
		return 0;
	cid->digest = p + off;
	cid->digest_len = (size_t)len;
	cid->p = p;
	cid->n = off + (size_t)len;
	return cid->n;
}

static size_t base32_lower(const uint8_t *p, size_t n, char *dst)
{
	static const char tab[] = "abcdefghijklmnopqrstuvwxyz234567";
	char *d = dst;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			*d++ = tab[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		*d++ = tab[(acc << (5 - bits)) & 31];
	return (size_t)(d - dst);
}

static size_t base58btc(const uint8_t *p, size_t n, char *dst)
{
	static const char tab[] =
	    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	uint8_t digits[64] = { 0 }; /* base58 digits, little endian; n <= 34 */
	size_t nd = 0, zeros = 0;
	while (zeros < n && p[zeros] == 0)
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = p[i];
		for (size_t j = 0; j < nd; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry && nd < sizeof digits) {
			digits[nd++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	char *d = dst;
	for (size_t i = 0; i < zeros; i++)
		*d++ = '1';
	while (nd)
		*d++ = tab[digits[--nd]];
	return (size_t)(d - dst);
}

size_t atfh_cid_str(const struct atfh_cid *cid, char *dst)
{
	size_t len;
	if (cid->version == 0) {
		len = base58btc(cid->p, cid->n, dst);
	} else {
		dst[0] = 'b';
		len = 1 + base32_lower(cid->p, cid->n, dst + 1);
	}
	dst[len] = '\0';
	return len;
}

/* One fetched digest for the whole run and one context per thread (-T):
 * OpenSSL 3's one-shot SHA256() looks the algorithm up on every call,
 * which doubles the cost of --verify.  A thread's context goes with it. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md;
static pthread_key_t ctx_key;

static void ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void md_init(void)
{
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (pthread_key_create(&ctx_key, ctx_free))
		atfh_die_oom();
}

int atfh_cid_verify(const struct atfh_cid *cid, const uint8_t *data, size_t n)
{
	uint8_t out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (cid->mh_code != ATFH_MH_SHA256 || cid->digest_len != 32)
		return -1;
	pthread_once(&md_once, md_init);
	if (!md)
		return -1;
	EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
	if (!ctx) {
		if (!(ctx = EVP_MD_CTX_new()))
			return -1;
		pthread_setspecific(ctx_key, ctx);
	}
	if (!EVP_DigestInit_ex(ctx, md, NULL) || !EVP_DigestUpdate(ctx, data, n) ||
	    !EVP_DigestFinal_ex(ctx, out, &len) || len != 32)
		return -1;
	return memcmp(out, cid->digest, 32) == 0;
}
