/*
 * zframe.c — see zframe.h.
 */
#include "zframe.h"

#include <errno.h>
#include <unistd.h>

#define ZFRAME_MAGIC 0xFD2FB528u
#define ZSKIP_MAGIC 0x184D2A50u /* the low four bits are free */
#define ZBLOCK_MAX (128u << 10)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* N bytes at OFF, all of them, or false. */
static bool read_at(int fd, off_t base, uint64_t off, uint64_t size, uint8_t *b, size_t n)
{
	if (off > size || size - off < n)
		return false;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, b + got, n - got, base + (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

uint64_t atfh_zframe_end(int fd, off_t base, uint64_t off, uint64_t size, uint64_t *content)
{
	uint8_t h[18];
	*content = UINT64_MAX;
	if (!read_at(fd, base, off, size, h, 5))
		return 0;
	uint32_t magic = le32(h);
	if ((magic & ~0xFu) == ZSKIP_MAGIC) {
		if (!read_at(fd, base, off, size, h, 8))
			return 0;
		uint64_t end = off + 8 + le32(h + 4);
		*content = 0;
		return end <= size ? end : 0;
	}
	if (magic != ZFRAME_MAGIC)
		return 0;
	/* the frame header descriptor: what follows it */
	uint8_t d = h[4];
	static const uint8_t dict_bytes[4] = { 0, 1, 2, 4 };
	static const uint8_t fcs_bytes[4] = { 0, 2, 4, 8 };
	bool single_segment = d >> 5 & 1, checksum = d >> 2 & 1;
	if (d >> 3 & 1)
		return 0; /* the reserved bit */
	unsigned fcs = fcs_bytes[d >> 6];
	if (d >> 6 == 0 && single_segment)
		fcs = 1;
	uint64_t pos = off + 5 + (single_segment ? 0 : 1) + dict_bytes[d & 3] + fcs;
	if (fcs) {
		if (!read_at(fd, base, pos - fcs, size, h, fcs))
			return 0;
		uint64_t v = 0;
		for (unsigned i = fcs; i-- > 0;)
			v = v << 8 | h[i];
		*content = fcs == 2 ? v + 256 : v; /* two bytes count from 256 */
	}
	for (;;) {
		uint8_t b[3];
		if (!read_at(fd, base, pos, size, b, 3))
			return 0;
		uint32_t bh = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
		unsigned type = bh >> 1 & 3;
		uint32_t bsize = bh >> 3;
		if (type == 3 || bsize > ZBLOCK_MAX)
			return 0;
		pos += 3 + (type == 1 ? 1 : bsize); /* an RLE block is one byte */
		if (bh & 1)
			break;
	}
	if (checksum)
		pos += 4;
	return pos <= size ? pos : 0;
}
