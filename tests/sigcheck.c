/*
 * sigcheck.c — test driver for lib/sigverify.
 *
 *   sigcheck CASES
 *       TAP over the lines of CASES (tests/interop/sigfixtures.js output):
 *       key / didkey / samekey / badkey / verify (see that script).
 *   sigcheck --capture CAPTURE KEYS
 *       every #commit and #sync frame of CAPTURE: its commit block (the
 *       CAR's root) verified against the key of its repo.  KEYS has one
 *       "DID TYPE MULTIBASE" or "DID did:key:z..." line per account.
 *       Prints "verified N failed M unknown U" (and each failure); exit 0
 *       only if N > 0 and M = U = 0.
 *   sigcheck --bench CAPTURE KEYS [SECONDS]
 *       the same commits verified over and over for SECONDS (default 3)
 *       with the keys parsed once; prints verifications per second (per
 *       CPU second, and per wall second).
 *   sigcheck --bench-cases CASES k256|p256|all [SECONDS]
 *       the same for the commits of a cases file that verify, with keys of
 *       that type.
 */
#include "atfh.h"
#include "car.h"
#include "event.h"
#include "input.h"
#include "sigverify.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int n_test, n_fail;

static void ok(bool cond, const char *what, const char *detail)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n_test, what);
	if (!cond && detail)
		printf("#   %s\n", detail);
}

struct named_key {
	char name[160];
	struct atfh_pubkey key;
};

static struct named_key *keys;
static size_t nkeys, keys_cap;

static struct atfh_pubkey *find_key(const char *name, size_t n)
{
	for (size_t i = 0; i < nkeys; i++)
		if (strlen(keys[i].name) == n && memcmp(keys[i].name, name, n) == 0)
			return &keys[i].key;
	return NULL;
}

static struct named_key *new_key(const char *name)
{
	if (nkeys == keys_cap) {
		keys_cap = keys_cap ? keys_cap * 2 : 16;
		keys = atfh_xrealloc(keys, keys_cap * sizeof *keys);
	}
	struct named_key *k = &keys[nkeys];
	snprintf(k->name, sizeof k->name, "%s", name);
	return k;
}

static size_t unhex(const char *s, unsigned char *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	if (n > cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return 0;
		out[i] = (unsigned char)v;
	}
	return n;
}

static int run_cases(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[8192], label[300];
	static unsigned char block[4096];
	if (!f) {
		perror(path);
		return 2;
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *save = NULL, *w = strtok_r(line, " ", &save);
		const char *why = NULL;
		if (!w)
			continue;
		if (strcmp(w, "key") == 0 || strcmp(w, "didkey") == 0) {
			char *name = strtok_r(NULL, " ", &save);
			char *a = strtok_r(NULL, " ", &save);
			char *b = strcmp(w, "key") == 0 ? strtok_r(NULL, " ", &save) : NULL;
			if (!name || !a)
				continue;
			struct named_key *k = new_key(name);
			int r = b ? atfh_pubkey_parse(a, b, strlen(b), &k->key, &why)
				  : atfh_pubkey_from_didkey(a, &k->key, &why);
			snprintf(label, sizeof label, "%s %s parses (%s)", w, name, b ? a : "did:key");
			ok(r == 0, label, why);
			if (r == 0) {
				nkeys++;
				/* the did:key written back reads as the same key */
				char dk[100];
				struct atfh_pubkey back;
				bool same = atfh_pubkey_didkey(&k->key, dk, sizeof dk) > 0 &&
					    atfh_pubkey_from_didkey(dk, &back, &why) == 0 &&
					    back.type == k->key.type &&
					    memcmp(back.point, k->key.point, 33) == 0;
				atfh_pubkey_free(&back);
				snprintf(label, sizeof label, "%s: did:key round trip", name);
				ok(same, label, dk);
			}
		} else if (strcmp(w, "samekey") == 0) {
			char *a = strtok_r(NULL, " ", &save), *b = strtok_r(NULL, " ", &save);
			struct atfh_pubkey *ka = a ? find_key(a, strlen(a)) : NULL;
			struct atfh_pubkey *kb = b ? find_key(b, strlen(b)) : NULL;
			snprintf(label, sizeof label, "%s and %s are the same key", a ? a : "?",
				 b ? b : "?");
			ok(ka && kb && ka->type == kb->type && ka->len == kb->len &&
			   memcmp(ka->point, kb->point, ka->len) == 0, label, NULL);
		} else if (strcmp(w, "badkey") == 0) {
			char *type = strtok_r(NULL, " ", &save), *mb = strtok_r(NULL, " ", &save);
			char *want = strtok_r(NULL, "", &save);
			struct atfh_pubkey k;
			if (!type || !mb || !want)
				continue;
			int r = atfh_pubkey_parse(type, mb, strlen(mb), &k, &why);
			snprintf(label, sizeof label, "bad key refused: %s (%s)", want, type);
			ok(r < 0 && why && strstr(why, want), label, why ? why : "accepted");
			if (r == 0)
				atfh_pubkey_free(&k);
		} else if (strcmp(w, "verify") == 0) {
			char *name = strtok_r(NULL, " ", &save), *did = strtok_r(NULL, " ", &save);
			char *hex = strtok_r(NULL, " ", &save), *want = strtok_r(NULL, "", &save);
			if (!name || !did || !hex || !want)
				continue;
			struct atfh_pubkey *k = find_key(name, strlen(name));
			size_t n = unhex(hex, block, sizeof block);
			int r = atfh_commit_verify(block, n, did, k, &why);
			bool good = strcmp(want, "ok") == 0 ? r == 0
							    : r < 0 && why && strstr(why, want);
			snprintf(label, sizeof label, "verify with %s: %s%s", name,
				 strcmp(want, "ok") == 0 ? "" : "refused: ", want);
			ok(k && n && good, label, r ? why : "verified");
		}
	}
	fclose(f);
	printf("1..%d\n", n_test);
	return n_fail != 0;
}

/* ---- captures ---------------------------------------------------------- */

static int load_keys(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *save = NULL, *did = strtok_r(line, " ", &save);
		char *a = strtok_r(NULL, " ", &save), *b = strtok_r(NULL, " ", &save);
		const char *why = NULL;
		if (!did || !a)
			continue;
		struct named_key *k = new_key(did);
		int r = b ? atfh_pubkey_parse(a, b, strlen(b), &k->key, &why)
			  : atfh_pubkey_from_didkey(a, &k->key, &why);
		if (r < 0) {
			fprintf(stderr, "sigcheck: %s: key of %s: %s\n", path, did, why);
			fclose(f);
			return -1;
		}
		nkeys++;
	}
	fclose(f);
	return 0;
}

struct commit_ref {
	unsigned char *block;
	size_t len;
	char *did;
	const struct atfh_pubkey *key;
};

/* The commit blocks of CAPTURE with their repo's key. */
static int read_capture(const char *path, struct commit_ref **out, size_t *nout, size_t *unknown)
{
	char *files[] = { (char *)path };
	struct atfh_input in;
	struct atfh_msg m;
	const uint8_t *p;
	size_t n, cap = 0;
	int rc = 0;

	atfh_input_init(&in, files, 1, 16u << 20);
	atfh_msg_init(&m);
	if (atfh_input_next_file(&in) != 1 || atfh_input_detect(&in) != ATFH_IN_FRAMES) {
		fprintf(stderr, "sigcheck: %s: not a frames capture\n", path);
		atfh_msg_free(&m);
		atfh_input_free(&in);
		return -1;
	}
	while (atfh_input_frame(&in, &p, &n) == 1) {
		if (atfh_msg_parse(&m, p, n) < 0) {
			fprintf(stderr, "sigcheck: %s: frame %llu: %s\n", path,
				(unsigned long long)in.index, m.err);
			rc = -1;
			continue;
		}
		if ((m.kind != ATFH_K_COMMIT && m.kind != ATFH_K_SYNC) || !m.blocks_len)
			continue;
		if (atfh_msg_load_blocks(&m, true) < 0) {
			fprintf(stderr, "sigcheck: %s: frame %llu: %s\n", path,
				(unsigned long long)in.index, m.err);
			rc = -1;
			continue;
		}
		uint8_t *keep = atfh_xcalloc(m.car.n ? m.car.n : 1, 1);
		atfh_car_mark_roots(&m.car, keep);
		const struct atfh_block *root = NULL;
		for (size_t i = 0; i < m.car.n && !root; i++)
			if (keep[i])
				root = &m.car.blocks[i];
		free(keep);
		if (!root) {
			fprintf(stderr, "sigcheck: %s: frame %llu: no commit block\n", path,
				(unsigned long long)in.index);
			rc = -1;
			continue;
		}
		const struct atfh_pubkey *key = find_key(m.did.p, m.did.n);
		if (!key) {
			fprintf(stderr, "sigcheck: %s: frame %llu: no key for %.*s\n", path,
				(unsigned long long)in.index, (int)m.did.n, m.did.p);
			++*unknown;
			continue;
		}
		if (*nout == cap) {
			cap = cap ? cap * 2 : 256;
			*out = atfh_xrealloc(*out, cap * sizeof **out);
		}
		struct commit_ref *c = &(*out)[(*nout)++];
		c->block = atfh_xmalloc(root->len ? root->len : 1);
		memcpy(c->block, root->data, root->len);
		c->len = root->len;
		c->did = atfh_xmalloc(m.did.n + 1);
		memcpy(c->did, m.did.p, m.did.n);
		c->did[m.did.n] = 0;
		c->key = key;
	}
	atfh_msg_free(&m);
	atfh_input_free(&in);
	return rc;
}

static void free_refs(struct commit_ref *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].block);
		free(c[i].did);
	}
	free(c);
}

static double now_s(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Verify C[0..N) over and over for SECONDS; print the rate. */
static int bench_loop(const struct commit_ref *c, size_t n, double seconds)
{
	size_t k256 = 0, failed = 0;
	for (size_t i = 0; i < n; i++)
		k256 += c[i].key->type == ATFH_KEY_K256;
	if (!n) {
		fprintf(stderr, "sigcheck: no commits to verify\n");
		return 2;
	}
	uint64_t done = 0;
	double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID), t;
	do {
		for (size_t i = 0; i < n; i++) {
			const char *why;
			if (atfh_commit_verify(c[i].block, c[i].len, c[i].did, c[i].key, &why) < 0)
				failed++;
		}
		done += n;
	} while ((t = now_s(CLOCK_MONOTONIC) - t0) < seconds);
	double cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	/* per CPU second: one core's throughput even on a busy machine */
	printf("%.0f verifications/s per core (%llu in %.2f s CPU, %.2f s wall: %.0f/s; "
	       "%zu commits, %zu by secp256k1 keys, %zu by P-256; %zu failed)\n",
	       done / cpu, (unsigned long long)done, cpu, t, done / t, n, k256, n - k256, failed);
	return failed != 0;
}

/* The "verify ... ok" commits of a cases file whose key is of TYPE. */
static int bench_cases(const char *path, const char *type, double seconds)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	struct commit_ref *c = NULL;
	size_t n = 0, cap = 0;
	enum atfh_keytype want = strcmp(type, "k256") == 0   ? ATFH_KEY_K256
				 : strcmp(type, "p256") == 0 ? ATFH_KEY_P256
							     : ATFH_KEY_NONE;
	if (!f) {
		perror(path);
		return 2;
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *save = NULL, *w = strtok_r(line, " ", &save);
		const char *why;
		if (!w)
			continue;
		if (strcmp(w, "key") == 0 || strcmp(w, "didkey") == 0) {
			char *name = strtok_r(NULL, " ", &save), *a = strtok_r(NULL, " ", &save);
			char *b = strcmp(w, "key") == 0 ? strtok_r(NULL, " ", &save) : NULL;
			if (!name || !a)
				continue;
			struct named_key *k = new_key(name);
			if ((b ? atfh_pubkey_parse(a, b, strlen(b), &k->key, &why)
			       : atfh_pubkey_from_didkey(a, &k->key, &why)) == 0)
				nkeys++;
		} else if (strcmp(w, "verify") == 0) {
			char *name = strtok_r(NULL, " ", &save), *did = strtok_r(NULL, " ", &save);
			char *hex = strtok_r(NULL, " ", &save), *want_s = strtok_r(NULL, "", &save);
			const struct atfh_pubkey *k = name ? find_key(name, strlen(name)) : NULL;
			if (!k || !did || !hex || !want_s || strcmp(want_s, "ok") != 0 ||
			    (want != ATFH_KEY_NONE && k->type != want))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				c = atfh_xrealloc(c, cap * sizeof *c);
			}
			c[n].block = atfh_xmalloc(strlen(hex) / 2 + 1);
			c[n].len = unhex(hex, c[n].block, strlen(hex) / 2);
			c[n].did = atfh_xstrdup(did);
			c[n].key = k; /* index stays valid: keys come first in the file */
			n++;
		}
	}
	fclose(f);
	int rc = bench_loop(c, n, seconds);
	free_refs(c, n);
	return rc;
}

static int run_capture(const char *capture, const char *keyfile, double bench)
{
	struct commit_ref *c = NULL;
	size_t n = 0, unknown = 0, failed = 0;
	if (load_keys(keyfile) < 0)
		return 2;
	if (read_capture(capture, &c, &n, &unknown) < 0)
		return 2;
	if (bench > 0) {
		int rc = bench_loop(c, n, bench);
		free_refs(c, n);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why;
		if (atfh_commit_verify(c[i].block, c[i].len, c[i].did, c[i].key, &why) < 0) {
			failed++;
			printf("fail %s: %s\n", c[i].did, why);
		}
	}
	printf("verified %zu failed %zu unknown %zu\n", n - failed, failed, unknown);
	free_refs(c, n);
	return n && !failed && !unknown ? 0 : 1;
}

int main(int argc, char **argv)
{
	int rc;
	if (argc == 2)
		rc = run_cases(argv[1]);
	else if (argc == 4 && strcmp(argv[1], "--capture") == 0)
		rc = run_capture(argv[2], argv[3], 0);
	else if ((argc == 4 || argc == 5) && strcmp(argv[1], "--bench-cases") == 0)
		rc = bench_cases(argv[2], argv[3], argc == 5 ? atof(argv[4]) : 3);
	else if ((argc == 4 || argc == 5) && strcmp(argv[1], "--bench") == 0)
		rc = run_capture(argv[2], argv[3], argc == 5 ? atof(argv[4]) : 3);
	else {
		fprintf(stderr, "usage: sigcheck CASES | --capture CAPTURE KEYS | "
				"--bench CAPTURE KEYS [SECONDS] | "
				"--bench-cases CASES k256|p256|all [SECONDS]\n");
		return 2;
	}
	for (size_t i = 0; i < nkeys; i++)
		atfh_pubkey_free(&keys[i].key);
	free(keys);
	return rc;
}
