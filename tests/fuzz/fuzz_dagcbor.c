/*
 * fuzz_dagcbor.c — the DAG-CBOR reader: any bytes either convert to valid
 * JSON or fail with a message; skip and to_json agree on validity.
 */
#include "fuzz.h"
#include "dagcbor.h"

/* Allocation bound (fuzz.h): the JSON is at most 16 times the CBOR (an
 * empty byte string, 1 byte, becomes {"$bytes":""}) and the output buffer
 * doubles as it grows: 4 times that. */
enum { ALLOC_PER_BYTE = 64, ALLOC_FIXED = 64 << 10 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_alloc_start();
	struct atfh_out o = fuzz_out();
	struct atfh_cbor a, b;
	atfh_cbor_init(&a, data, size);
	atfh_cbor_init(&b, data, size);
	int r1 = atfh_cbor_to_json(&a, &o);
	int r2 = atfh_cbor_skip(&b);
	if (r1 != r2 || (r1 == 0 && a.p != b.p)) {
		fprintf(stderr, "to_json (%d) and skip (%d) disagree\n", r1, r2);
		abort();
	}
	if (r1 == 0)
		fuzz_check_json(o.buf, o.len);
	else if (!a.err)
		abort(); /* every failure says why */
	fuzz_alloc_check(size, ALLOC_PER_BYTE, ALLOC_FIXED);
	atfh_out_free(&o);
	return 0;
}
