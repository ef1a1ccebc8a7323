/*
 * tapevent.h — one event of Bluesky's Tap (indigo cmd/tap, its /channel
 * JSON) into one line of the jetstream shape of DESIGN.md, plus
 * "tap":{"id":N,"live":B}: "record" → kind commit (action → operation;
 * record and cid as Tap sent them); "identity" (called "user" by early Tap)
 * → kind identity, or kind account when it says the account is not active
 * (Tap sends one event type for both), with did, handle, active, status;
 * "live" only on record events, which carry it.  time_us is the caller's
 * (the time of receipt: Tap's events carry none).  A pure function: no
 * state, no I/O; every field it copies is checked (DIDs, NSIDs, record
 * keys, revs, CIDs by their characters; the record a JSON object, kept on
 * one line).
 */
#ifndef ATFH_TAPEVENT_H
#define ATFH_TAPEVENT_H

#include "atfh.h"
#include "out.h"

enum atfh_tap_type { ATFH_TAP_RECORD, ATFH_TAP_IDENTITY, ATFH_TAP_OTHER };

/* What atfh_tap_convert learnt of a message, also when it is malformed. */
struct atfh_tap_event {
	bool has_id;
	int64_t id;
	enum atfh_tap_type type;
	bool has_live, live;
};

/* Convert one Tap message (MSG, N bytes of JSON) into one jetstream line,
 * appended to O without its newline; NOW_US becomes its time_us.  0, or
 * -1 with *ERR (a static message) and O as it was; EV says what was
 * understood (the id, when there is one, even then). */
int atfh_tap_convert(struct atfh_out *o, const char *msg, size_t n, int64_t now_us,
		     struct atfh_tap_event *ev, const char **err);

#endif
