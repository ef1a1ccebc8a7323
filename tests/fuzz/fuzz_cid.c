/*
 * fuzz_cid.c — CID parsing and the string form: a parsed CID's string
 * decodes back (base32 / base58btc) to exactly the same bytes.
 */
#include "fuzz.h"
#include "cid.h"

#include <string.h>

static size_t unbase32(const char *s, size_t n, uint8_t *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = strchr("abcdefghijklmnopqrstuvwxyz234567", s[i]);
		if (!p || !s[i])
			abort();
		acc = (acc << 5) | (uint32_t)(p - "abcdefghijklmnopqrstuvwxyz234567");
		bits += 5;
		if (bits >= 8) {
			out[k++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return k;
}

static size_t unbase58(const char *s, size_t n, uint8_t *out, size_t cap)
{
	static const char tab[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
	uint8_t num[128] = { 0 };
	size_t len = 0, zeros = 0;
	while (zeros < n && s[zeros] == '1')
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		const char *p = strchr(tab, s[i]);
		if (!p || !s[i])
			abort();
		unsigned carry = (unsigned)(p - tab);
		for (size_t j = 0; j < len; j++) {
			carry += num[j] * 58u;
			num[j] = (uint8_t)carry;
			carry >>= 8;
		}
		while (carry) {
			num[len++] = (uint8_t)carry;
			carry >>= 8;
		}
	}
	if (zeros + len > cap)
		abort();
	memset(out, 0, zeros);
	for (size_t j = 0; j < len; j++)
		out[zeros + j] = num[len - 1 - j];
	return zeros + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atfh_cid cid;
	size_t n = atfh_cid_parse(data, size, &cid);
	if (!n)
		return 0;
	if (n > size || cid.p != data || cid.n != n || cid.digest + cid.digest_len != data + n)
		abort();
	char *str = malloc(ATFH_CID_STRMAX(n));
	uint8_t back[256];
	size_t sl = atfh_cid_str(&cid, str);
	if (sl + 1 > ATFH_CID_STRMAX(n) || strlen(str) != sl)
		abort();
	size_t bl = cid.version == 0 ? unbase58(str, sl, back, sizeof back)
				     : (str[0] == 'b' ? unbase32(str + 1, sl - 1, back) : (abort(), 0));
	if (bl != n || memcmp(back, data, n) != 0) {
		fprintf(stderr, "CID string %s does not round-trip\n", str);
		abort();
	}
	free(str);
	return 0;
}
