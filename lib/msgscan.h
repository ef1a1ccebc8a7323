/*
 * msgscan.h — the fast path of atfh_msg_parse for canonical #commit
 * messages (see msgscan.c); only event.c calls it.
 */
#ifndef ATFH_MSGSCAN_H
#define ATFH_MSGSCAN_H

#include "event.h"

/* M has been reset and holds frame/frame_len.  1: the message is parsed
 * (every field atfh_msg_parse would set is set, ops left unparsed);
 * 0: not sure — reset M and use the general parser. */
int atfh_msg_scan_commit(struct atfh_msg *m);
/* atfh_msg_parse without the fast path: what the fast path must agree
 * with (tests/fuzz/fuzz_event.c compares the two). */
int atfh_msg_parse_general(struct atfh_msg *m, const uint8_t *p, size_t n);

#endif
