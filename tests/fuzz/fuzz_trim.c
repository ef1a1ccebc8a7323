/*
 * fuzz_trim.c — trimming a commit to some of its ops (lib/trim.c), as
 * atfh-grep does on frames.  Input: one byte choosing the ops to keep,
 * then one message.  A trimmed frame is a valid frame whose length prefix
 * is right, whose header is the original's, whose ops are the kept ones
 * in order and whose CAR loads; decoding it gives exactly the kept ops'
 * lines of the original's decoding (what selecting on NDJSON gives).
 * Trimming fails only on a body the data-model check rejects too.
 */
#include "fuzz.h"
#include "dagcbor.h"
#include "event.h"
#include "format.h"
#include "trim.h"

/* Allocation bound (fuzz.h): the decodings of the original and the
 * trimmed frame (as fuzz_event), the sorted map entries (a few dozen
 * bytes per two bytes of input), the new CAR and frame. */
enum { ALLOC_PER_BYTE = 800, ALLOC_FIXED = 8 << 20 };

static bool same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct atfh_msg m, t;
	static struct atfh_trim tr;
	static bool keep[ATFH_MAX_OPS + 1];
	struct atfh_format_opts opt = { .format = ATFH_FMT_JETSTREAM };
	if (size < 2)
		return 0;
	uint32_t x = data[0] * 2654435761u + 1;
	data++, size--;
	fuzz_alloc_start();
	if (atfh_msg_parse(&m, data, size) || m.kind != ATFH_K_COMMIT || !m.ops_cbor)
		return 0;
	for (size_t i = 0; i < m.nops; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		keep[i] = data[-1] == 0xff || (x & 1);
	}

	struct atfh_out o1 = fuzz_out(), o2 = fuzz_out(), o3 = fuzz_out(), body = fuzz_out();
	const char *err = NULL;
	int r1 = atfh_format_msg(&o1, &m, &opt, &err);
	if (atfh_trim_commit(&tr, &m, keep, &o2, &err)) {
		struct atfh_cbor c;
		atfh_cbor_init(&c, m.body, m.body_len);
		m.car_loaded = false;
		if (!err || o2.len || (atfh_cbor_skip(&c) == 0 && atfh_msg_load_blocks(&m, false) == 0)) {
			fprintf(stderr, "trim failed (%s) on a sound body\n", err ? err : "no message");
			abort();
		}
		goto out;
	}
	/* a frame record: the length, then a message the parser takes */
	if (o2.len < 4 ||
	    ((size_t)(uint8_t)o2.buf[0] << 24 | (size_t)(uint8_t)o2.buf[1] << 16 |
	     (size_t)(uint8_t)o2.buf[2] << 8 | (uint8_t)o2.buf[3]) != o2.len - 4 || o2.len - 4 > size) {
		fprintf(stderr, "trimmed frame: bad length prefix\n");
		abort();
	}
	const uint8_t *p = (const uint8_t *)o2.buf + 4;
	if (atfh_msg_parse(&t, p, o2.len - 4)) {
		fprintf(stderr, "trimmed frame does not parse: %s\n", t.err);
		abort();
	}
	size_t kept = 0;
	for (size_t i = 0; i < m.nops; i++) {
		if (!keep[i])
			continue;
		if (kept >= t.nops) {
			fprintf(stderr, "trimmed frame has too few ops\n");
			abort();
		}
		const struct atfh_op *a = &m.ops[i], *b = &t.ops[kept++];
		if (!same_bytes((const uint8_t *)a->action.p, a->action.n, (const uint8_t *)b->action.p, b->action.n) ||
		    !same_bytes((const uint8_t *)a->path.p, a->path.n, (const uint8_t *)b->path.p, b->path.n) ||
		    !same_bytes(a->cid, a->cid_len, b->cid, b->cid_len) || !a->cid != !b->cid) {
			fprintf(stderr, "trimmed op %zu differs from op %zu\n", kept, i + 1);
			abort();
		}
	}
	if (kept != t.nops || t.kind != ATFH_K_COMMIT ||
	    !same_bytes(t.header, t.header_len, m.header, m.header_len) || t.seq != m.seq ||
	    !same_bytes((const uint8_t *)t.did.p, t.did.n, (const uint8_t *)m.did.p, m.did.n)) {
		fprintf(stderr, "trimmed frame: other ops, header or fields\n");
		abort();
	}
	if (t.blocks && atfh_msg_load_blocks(&t, false)) {
		fprintf(stderr, "trimmed frame: CAR does not load: %s\n", t.err);
		abort();
	}
	t.car_loaded = false;
	if (r1 == 0) {
		/* the kept ops' lines of the original's decoding */
		size_t start = 0, op = 0;
		for (size_t i = 0; i < o1.len; i++) {
			if (o1.buf[i] != '\n')
				continue;
			if (op < m.nops && keep[op])
				atfh_out_put(&body, o1.buf + start, i + 1 - start);
			op++;
			start = i + 1;
		}
		if (atfh_format_msg(&o3, &t, &opt, &err)) {
			if (!strstr(err, "times its size")) {
				fprintf(stderr, "trimmed frame does not decode: %s\n", err);
				abort();
			}
		} else if (!same_bytes((const uint8_t *)o3.buf, o3.len, (const uint8_t *)body.buf, body.len)) {
			fprintf(stderr, "decoding the trimmed frame:\n%.*s\nthe original's kept ops:\n%.*s\n",
				(int)(o3.len > 2000 ? 2000 : o3.len), o3.buf,
				(int)(body.len > 2000 ? 2000 : body.len), body.buf);
			abort();
		}
	}
out:
	fuzz_alloc_check(size, ALLOC_PER_BYTE, ALLOC_FIXED);
	atfh_out_free(&o1);
	atfh_out_free(&o2);
	atfh_out_free(&o3);
	atfh_out_free(&body);
	return 0;
}
