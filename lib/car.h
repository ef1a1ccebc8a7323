/*
 * car.h — CAR v1 archives as carried in a commit's `blocks` field: the
 * varint-framed header and blocks, and lookup of a block by CID through a
 * small xxhash table that is reused from frame to frame.
 */
#ifndef ATFH_CAR_H
#define ATFH_CAR_H

#include "atfh.h"
#include "cid.h"

struct atfh_block {
	struct atfh_cid cid;
	const uint8_t *data;
	size_t len;
	uint64_t hash;
};

struct atfh_car {
	struct atfh_block *blocks;
	size_t n, cap;
	uint32_t *table; /* index + 1 into blocks; 0 = empty */
	size_t table_cap;
	const char *err;
	char errbuf[80];
};

/* Read the CAR at P (the bytes stay owned by the caller and must outlive
 * the lookups).  Returns 0, or -1 with car->err set. */
int atfh_car_load(struct atfh_car *car, const uint8_t *p, size_t n);
/* The block whose CID is the binary CID C, or NULL. */
const struct atfh_block *atfh_car_get(const struct atfh_car *car,
				      const uint8_t *c, size_t n);
/* Check every block's sha256 against its CID; -1 with car->err on the first
 * mismatch. */
int atfh_car_verify(struct atfh_car *car);
void atfh_car_free(struct atfh_car *car);

#endif
