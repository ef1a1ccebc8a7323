/*
 * fuzz_car.c — the CAR reader: any bytes load or fail with a message;
 * every loaded block is found again by its CID and lies inside the input.
 */
#include "fuzz.h"
#include "car.h"

/* Allocation bound (fuzz.h): the block index grows with the number of
 * blocks, and each takes a few bytes of input at least. */
enum { ALLOC_PER_BYTE = 64, ALLOC_FIXED = 1 << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct atfh_car car;
	fuzz_alloc_start();
	int r = atfh_car_load(&car, data, size);
	fuzz_alloc_check(size, ALLOC_PER_BYTE, ALLOC_FIXED);
	if (r) {
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
