/*
 * fuzz_dagcbor.c — the DAG-CBOR reader: any bytes either convert to valid
 * JSON or fail with a message; skip and to_json agree on validity.
 */
#include "fuzz.h"
#include "dagcbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
	atfh_out_free(&o);
	return 0;
}
