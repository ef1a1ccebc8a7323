/*
 * car.h — CAR v1 archives as carried in a commit's `blocks` field: the
 * varint-framed header and blocks, and lookup of a block by CID through a
 * small xxhash table that is reused from frame to frame; and writing a CAR
 * that holds some of a loaded CAR's blocks (a trimmed commit's).
 */
#ifndef ATFH_CAR_H
#define ATFH_CAR_H

#include "atfh.h"
#include "cid.h"
#include "out.h"

struct atfh_block {
	struct atfh_cid cid;
	const uint8_t *data;
	size_t len;
	uint64_t hash;
};

struct atfh_car {
	const uint8_t *header; /* the header's CBOR (after its length) */
	size_t header_len;
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
/* Set KEEP[i] for every block named in the header's roots. */
void atfh_car_mark_roots(const struct atfh_car *car, uint8_t *keep);
/* Write a CAR v1 with the loaded CAR's header, unchanged, and the blocks
 * I with KEEP[i] set, in their order, each as it was. */
void atfh_car_write(const struct atfh_car *car, const uint8_t *keep, struct atfh_out *o);

#endif
