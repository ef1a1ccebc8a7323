/*
 * fuzz_pubkey.c — signing keys as DID documents and did:keys carry them
 * (lib/sigverify).  Input: one selector byte (the verification method
 * type, or a did:key), then the publicKeyMultibase / did:key text.  A
 * parsed key is a 33-byte compressed point whose did:key reads back as
 * the same key, and whose Multikey parses to it too; a refused one says
 * why and leaves the key empty.  Allocation stays bounded.
 */
#include "fuzz.h"
#include "sigverify.h"

#include <string.h>

static const char *const types[] = {
	"Multikey", "EcdsaSecp256k1VerificationKey2019", "EcdsaSecp256r1VerificationKey2019",
	NULL, "did:key", "JsonWebKey2020",
};

static void same(const struct atfh_pubkey *a, const struct atfh_pubkey *b, const char *what)
{
	if (a->type != b->type || a->len != b->len || memcmp(a->point, b->point, a->len) != 0) {
		fprintf(stderr, "%s: not the same key\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int warm;
	struct atfh_pubkey k, back;
	const char *why = NULL;
	char text[512], dk[100];

	if (!warm) { /* OpenSSL's one-time set-up is not the input's doing */
		warm = atfh_pubkey_from_didkey("did:key:zDnaefteb3k4D1iurKH5dgmSKX1vqRC9fCqW144u9QdSfok9t",
					       &k, &why) == 0;
		atfh_pubkey_free(&k);
	}
	if (size < 1 || size - 1 >= sizeof text)
		return 0;
	const char *type = types[data[0] % (sizeof types / sizeof types[0])];
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	fuzz_alloc_start();
	int r = type && strcmp(type, "did:key") == 0
			? atfh_pubkey_from_didkey(text, &k, &why)
			: atfh_pubkey_parse(type, (const char *)data + 1, size - 1, &k, &why);
	if (r < 0) {
		if (!why || k.type != ATFH_KEY_NONE || k.p256) {
			fprintf(stderr, "refused without a reason, or with a key left over\n");
			abort();
		}
		fuzz_alloc_check(size, 16, 1 << 16);
		return 0;
	}
	if ((k.type != ATFH_KEY_K256 && k.type != ATFH_KEY_P256) || k.len != 33 ||
	    (k.point[0] != 2 && k.point[0] != 3) || (k.type == ATFH_KEY_P256) != (k.p256 != NULL)) {
		fprintf(stderr, "a parsed key that is not a compressed point\n");
		abort();
	}
	size_t n = atfh_pubkey_didkey(&k, dk, sizeof dk);
	if (!n || strlen(dk) != n || strncmp(dk, "did:key:z", 9) != 0) {
		fprintf(stderr, "no did:key for a parsed key\n");
		abort();
	}
	if (atfh_pubkey_from_didkey(dk, &back, &why) < 0) {
		fprintf(stderr, "own did:key %s refused: %s\n", dk, why);
		abort();
	}
	same(&k, &back, "did:key round trip");
	atfh_pubkey_free(&back);
	if (atfh_pubkey_parse("Multikey", dk + 8, n - 8, &back, &why) < 0) {
		fprintf(stderr, "own Multikey %s refused: %s\n", dk + 8, why);
		abort();
	}
	same(&k, &back, "Multikey round trip");
	struct atfh_pubkey copy;
	if (atfh_pubkey_copy(&copy, &k) < 0)
		abort();
	atfh_pubkey_free(&k);
	same(&copy, &back, "copy outlives the original");
	atfh_pubkey_free(&back);
	atfh_pubkey_free(&copy);
	fuzz_alloc_check(size, 16, 1 << 16);
	return 0;
}
