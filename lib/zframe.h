/*
 * zframe.h — where the frames of a zstd file lie, from their headers
 * alone (RFC 8878 section 3.1): the frame header, then each block's
 * three-byte header, which gives the block's size, read with pread(2)
 * without decompressing anything.  lib/zparts uses it to hand whole
 * frames to the threads that decompress them.
 */
#ifndef ATFH_ZFRAME_H
#define ATFH_ZFRAME_H

#include "atfh.h"
#include <sys/types.h>

/* The end of the frame (a zstd frame, or a skippable one) that starts at
 * OFF in FD, whose bytes end at SIZE (offsets from BASE, the file's
 * position of offset 0): 0 when no whole frame starts there (other bytes,
 * a frame cut short, a reserved block type, a block over 128 KiB, a read
 * error), which the reader then meets in order and reports.  *CONTENT:
 * the size of its data where the header says (0 for a skippable frame),
 * else UINT64_MAX. */
uint64_t atfh_zframe_end(int fd, off_t base, uint64_t off, uint64_t size, uint64_t *content);

#endif
