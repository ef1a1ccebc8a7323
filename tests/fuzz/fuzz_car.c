/*
 * fuzz_car.c — the CAR reader: any bytes load or fail with a message;
 * every loaded block is found again by its CID and lies inside the input.
 */
#include "fuzz.h"
#include "car.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct atfh_car car;
	if (atfh_car_load(&car, data, size)) {
		if (!car.err)
			abort();
		return 0;
	}
	for (size_t i = 0; i < car.n; i++) {
		const struct atfh_block *b = &car.blocks[i];
		if (b->data < data || b->data + b->len > data + size)
			abort();
		const struct atfh_block *g = atfh_car_get(&car, b->cid.p, b->cid.n);
		if (!g || g->cid.n != b->cid.n || memcmp(g->cid.p, b->cid.p, b->cid.n))
			abort();
	}
	atfh_car_verify(&car);
	return 0;
}
