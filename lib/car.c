/*
 * car.c — see car.h.
 */
#include "car.h"
#include "dagcbor.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

static int car_fail(struct atfh_car *car, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int car_fail(struct atfh_car *car, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(car->errbuf, sizeof car->errbuf, fmt, ap);
	va_end(ap);
	car->err = car->errbuf;
	return -1;
}

static int check_header(struct atfh_car *car, const uint8_t *p, size_t n)
{
	struct atfh_cbor c;
	struct atfh_cbor_item it;
	int64_t version = -1;
	atfh_cbor_init(&c, p, n);
	if (atfh_cbor_next(&c, &it) || it.kind != ATFH_CB_MAP)
		return car_fail(car, "CAR header is not a map");
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str key;
		if (atfh_cbor_text(&c, &key, "CAR header key"))
			return car_fail(car, "CAR header: %s", c.err);
		if (ATFH_STR_IS(key, "version")) {
			if (atfh_cbor_int(&c, &version, "CAR version"))
				return car_fail(car, "CAR header: %s", c.err);
		} else if (atfh_cbor_skip(&c)) {
			return car_fail(car, "CAR header: %s", c.err);
		}
	}
	if (c.p != c.end)
		return car_fail(car, "CAR header has trailing bytes");
	if (version != 1)
		return car_fail(car, "CAR version is not 1");
	return 0;
}

static void index_blocks(struct atfh_car *car)
{
	size_t want = 16;
	while (want < car->n * 2)
		want *= 2;
	if (car->table_cap < want) {
		free(car->table);
		car->table = atfh_xcalloc(want, sizeof *car->table);
		car->table_cap = want;
	} else {
		memset(car->table, 0, car->table_cap * sizeof *car->table);
	}
	size_t mask = car->table_cap - 1;
	for (size_t i = 0; i < car->n; i++) {
		size_t h = (size_t)car->blocks[i].hash & mask;
		while (car->table[h])
			h = (h + 1) & mask;
		car->table[h] = (uint32_t)(i + 1);
	}
}

int atfh_car_load(struct atfh_car *car, const uint8_t *p, size_t n)
{
	size_t off = 0, k;
	uint64_t len;
	car->n = 0;
	car->err = NULL;
	if (!(k = atfh_uvarint(p, n, &len)) || len > n - k)
		return car_fail(car, "CAR header length beyond the end of the blocks");
	if (check_header(car, p + k, (size_t)len))
		return -1;
	car->header = p + k;
	car->header_len = (size_t)len;
	off = k + (size_t)len;
	while (off < n) {
		if (!(k = atfh_uvarint(p + off, n - off, &len)) || len > n - off - k)
			return car_fail(car, "CAR block %zu: length beyond the end of the blocks",
					car->n + 1);
		off += k;
		if (car->n >= ATFH_MAX_CAR_BLOCKS)
			return car_fail(car, "CAR holds more than %d blocks", ATFH_MAX_CAR_BLOCKS);
		atfh_grow_array((void **)&car->blocks, &car->cap, car->n + 1, sizeof *car->blocks);
		struct atfh_block *b = &car->blocks[car->n];
		size_t cl = atfh_cid_parse(p + off, (size_t)len, &b->cid);
		if (!cl)
			return car_fail(car, "CAR block %zu: invalid CID", car->n + 1);
		b->data = p + off + cl;
		b->len = (size_t)len - cl;
		b->hash = XXH3_64bits(b->cid.p, b->cid.n);
		car->n++;
		off += (size_t)len;
	}
	index_blocks(car);
	return 0;
}

const struct atfh_block *atfh_car_get(const struct atfh_car *car,
				      const uint8_t *c, size_t n)
{
	if (!car->n)
		return NULL;
	uint64_t hash = XXH3_64bits(c, n);
	size_t mask = car->table_cap - 1;
	for (size_t h = (size_t)hash & mask; car->table[h]; h = (h + 1) & mask) {
		const struct atfh_block *b = &car->blocks[car->table[h] - 1];
		if (b->hash == hash && b->cid.n == n && memcmp(b->cid.p, c, n) == 0)
			return b;
	}
	return NULL;
}

int atfh_car_verify(struct atfh_car *car)
{
	for (size_t i = 0; i < car->n; i++) {
		int ok = atfh_cid_verify(&car->blocks[i].cid, car->blocks[i].data,
					 car->blocks[i].len);
		if (ok < 0)
			return car_fail(car, "CAR block %zu: hash is not sha2-256, cannot verify",
					i + 1);
		if (!ok)
			return car_fail(car, "CAR block %zu: sha256 does not match its CID", i + 1);
	}
	return 0;
}

void atfh_car_free(struct atfh_car *car)
{
	free(car->blocks);
	free(car->table);
	memset(car, 0, sizeof *car);
}

void atfh_car_mark_roots(const struct atfh_car *car, uint8_t *keep)
{
	/* the header passed check_header: every value in it is well formed */
	struct atfh_cbor c;
	struct atfh_cbor_item it;
	atfh_cbor_init(&c, car->header, car->header_len);
	if (atfh_cbor_next(&c, &it) || it.kind != ATFH_CB_MAP)
		return;
	for (uint64_t i = 0; i < it.count; i++) {
		struct atfh_str key;
		if (atfh_cbor_text(&c, &key, "CAR header key"))
			return;
		const uint8_t *save = c.p;
		struct atfh_cbor_item v;
		if (ATFH_STR_IS(key, "roots") && atfh_cbor_next(&c, &v) == 0 &&
		    v.kind == ATFH_CB_ARRAY) {
			for (uint64_t j = 0; j < v.count; j++) {
				struct atfh_cbor_item r;
				const uint8_t *rs = c.p;
				if (atfh_cbor_next(&c, &r))
					return;
				if (r.kind != ATFH_CB_LINK) {
					c.p = rs;
					if (atfh_cbor_skip(&c))
						return;
					continue;
				}
				const struct atfh_block *b = atfh_car_get(car, r.p, r.n);
				if (b)
					keep[b - car->blocks] = 1;
			}
			continue;
		}
		c.p = save;
		if (atfh_cbor_skip(&c))
			return;
	}
}

static void put_uvarint(struct atfh_out *o, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	atfh_out_put(o, b, n);
}

void atfh_car_write(const struct atfh_car *car, const uint8_t *keep, struct atfh_out *o)
{
	put_uvarint(o, car->header_len);
	atfh_out_put(o, car->header, car->header_len);
	for (size_t i = 0; i < car->n; i++) {
		const struct atfh_block *b = &car->blocks[i];
		if (!keep[i])
			continue;
		put_uvarint(o, (uint64_t)b->cid.n + b->len);
		atfh_out_put(o, b->cid.p, b->cid.n);
		atfh_out_put(o, b->data, b->len);
	}
}
