#!/usr/bin/env python3
"""mkfixture -- print a named firehose fixture capture (frames format).

This script owns atfh's named test captures, built with atfhframes.py
(Python 3 standard library only).  Output is deterministic.

    mkfixture.py NAME [N] > file.atfh   the capture, binary, on stdout
    mkfixture.py --list                 fixture names and what they hold
    mkfixture.py --describe NAME [N]    one line per frame: number (from 1),
                                        byte offset of its length prefix,
                                        record length incl. prefix, note
    mkfixture.py --expect NAME [N]      reference jetstream NDJSON for the
                                        good frames (compare parsed JSON,
                                        not bytes: escaping may differ)
    mkfixture.py --check NAME [N]       self-check: which frames parse as
                                        strict atproto DAG-CBOR with
                                        verified CIDs

Every bad-* fixture is three frames: good commit A (seq 1), the bad frame
(seq 2 where it has one), good commit B (seq 3).  Frame times are
2024-11-19T12:34:56.789Z plus (seq - 1) seconds.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atfhframes as af  # noqa: E402
from atfhframes import CID, Raw, Float, Tag, Pairs, RawText, LenLie  # noqa: E402,F401

ALICE = af.did_for("alice")
BOB = af.did_for("bob")
CAROL = af.did_for("carol")


def t(seq, us=False):
    return af.ts(seq - 1, us)


def rev(seq):
    return af.tid(af.time_us(t(seq)), 0)


def rkey(seq, n=0):
    return af.tid(af.time_us(t(seq)) - 1000 * (n + 1), 7)


def post(text, seq):
    return af.dagcbor_canonical({"$type": "app.bsky.feed.post", "text": text,
                                 "createdAt": t(seq), "langs": ["en"]})


def simple_commit(seq, did=ALICE, text=None):
    text = text or "post %d" % seq
    return af.commit(seq, did, rev(seq), t(seq),
                     [("create", "app.bsky.feed.post/" + rkey(seq), post(text, seq))],
                     since=af.tid(af.time_us(t(seq)) - 60000000))


def good_a():
    return simple_commit(1, ALICE, "good frame A")


def good_b():
    return simple_commit(3, BOB, "good frame B")


def bad_record_commit(value, key="bad", seq=2):
    """A commit (seq 2, carol) creating one post whose record is canonical
    {bad: value, text, $type, createdAt}: only `value` is wrong."""
    path = "app.bsky.feed.post/" + rkey(seq)
    rec = af.dagcbor_canonical({"$type": "app.bsky.feed.post", "text": "bad frame",
                                "createdAt": t(seq), key: value})
    return af.commit(seq, CAROL, rev(seq), t(seq), [("create", path, rec)])


# ---------------------------------------------------------------------------

def datamodel_record():
    """fm.teal.alpha.feed.play record with every data-model type; keys
    canonical (valid strict DAG-CBOR)."""
    blob_cid = af.cid_for(b"\xff\xd8\xff\xe0 fake jpeg", af.CODEC_RAW)
    link = af.cid_for(af.encode(post("linked", 1)))
    rec = {
        "$type": "fm.teal.alpha.feed.play",
        "trackName": "Ünïcødé ♪ 🎵",
        "artistNames": ["Sigur Rós", "Björk", "坂本龍一"],
        "playedTime": t(5),
        "duration": 245,
        "zero": 0,
        "minusOne": -1,
        "twoPow53": 2 ** 53,
        "minusTwoPow53": -(2 ** 53),
        "int64Max": 9223372036854775807,
        "int64Min": -9223372036854775808,
        "boundaries": [23, 24, 255, 256, 65535, 65536, 4294967295,
                       4294967296, -24, -25, -256, -257, -65536, -65537,
                       -4294967296, -4294967297],
        "yes": True,
        "no": False,
        "nothing": None,
        "empty": "",
        "emptyList": [],
        "emptyMap": {},
        "nested": [[], {}, [[{}]], {"a": {"b": [1, [2, {"c": None}]]}}],
        "bytes": b"\x00\xff\x10",
        "emptyBytes": b"",
        "link": link,
        "rawLink": blob_cid,
        "blob": {"$type": "blob", "ref": blob_cid, "mimeType": "image/jpeg",
                 "size": 12345},
        "ключ": "значение",
        'q"b\\': 'quote " and backslash \\ and slash /',
        "control": "\u0001\t\n\r\u001f\u007f\u2028\u2029 end",
        "nul": "a\u0000b",
        "emoji": "😀👍🏽👨‍👩‍👧 \U0001F1E9\U0001F1F0",
        "rtl": "שלום עולם مرحبا بالعالم",
        "keyOrder": {"zz": 1, "a": 2, "bb": 3, "$type": 4},
    }
    return af.dagcbor_canonical(rec), blob_cid


def fx_all_types():
    out = []
    out.append((af.info("OutdatedCursor", "Requested cursor exceeded limit. Possibly missing events"),
                "info OutdatedCursor"))
    out.append((simple_commit(1, ALICE, "hello world"), "commit seq 1: 1 create app.bsky.feed.post"))
    did = BOB
    p2 = af.tid(af.time_us(t(2)) - 5000, 3)
    ops2 = [
        ("create", "app.bsky.feed.like/" + rkey(2, 0),
         af.dagcbor_canonical({"$type": "app.bsky.feed.like", "createdAt": t(2),
                               "subject": {"uri": "at://%s/app.bsky.feed.post/%s" % (ALICE, rkey(1)),
                                           "cid": str(af.cid_for(af.encode(post("hello world", 1))))}})),
        ("create", "app.bsky.graph.follow/" + rkey(2, 1),
         af.dagcbor_canonical({"$type": "app.bsky.graph.follow", "subject": ALICE,
                               "createdAt": t(2)})),
        ("update", "app.bsky.actor.profile/self",
         af.dagcbor_canonical({"$type": "app.bsky.actor.profile", "displayName": "Bob",
                               "description": "line one\nline two"})),
        ("delete", "app.bsky.feed.post/" + p2, None),
    ]
    out.append((af.commit(2, did, rev(2), t(2), ops2, since=rev(1),
                          prev_data=af.cid_for(af.encode({"prev": "mst"}))),
                "commit seq 2: 4 ops create like, create follow, update profile/self, delete post"))
    out.append((af.commit(3, ALICE, rev(3), t(3),
                          [("update", "app.bsky.actor.profile/self",
                            af.dagcbor_canonical({"$type": "app.bsky.actor.profile",
                                                  "displayName": "Alice ✨"}))],
                          since=rev(1)),
                "commit seq 3: 1 update app.bsky.actor.profile/self"))
    out.append((af.commit(4, ALICE, rev(4), t(4),
                          [("delete", "app.bsky.feed.post/" + rkey(1), None)], since=rev(3)),
                "commit seq 4: 1 delete app.bsky.feed.post"))
    rec, blob = datamodel_record()
    out.append((af.commit(5, CAROL, rev(5), t(5),
                          [("create", "fm.teal.alpha.feed.play/" + rkey(5), rec)],
                          blobs=[blob]),
                "commit seq 5: 1 create fm.teal.alpha.feed.play (data-model record)"))
    out.append((af.identity(6, ALICE, t(6), "alice.test"), "identity seq 6 handle alice.test"))
    out.append((af.account(7, BOB, t(7), True), "account seq 7 active"))
    out.append((af.account(8, CAROL, t(8), False, "takendown"),
                "account seq 8 inactive status takendown"))
    out.append((af.sync(9, BOB, rev(9), t(9)), "sync seq 9"))
    out.append((af.error("FutureCursor", "Cursor in the future."), "error FutureCursor (header op -1)"))
    return out


def fx_edge():
    out = []
    out.append((af.commit(1, ALICE, rev(1), t(1), [], since=None),
                "commit seq 1 with zero ops (valid; no jetstream line)"))
    out.append((af.identity(2, BOB, t(2)), "identity seq 2 without handle"))
    out.append((af.account(3, CAROL, t(3), False), "account seq 3 inactive, no status"))
    out.append((af.message({"op": 1, "t": "#identity"},
                           {"seq": 4, "did": ALICE, "time": t(4), "handle": "alice.test"},
                           canonical=False),
                "identity seq 4 with header key order op,t (non-canonical)"))
    rec = {"zebra": 1, "a": 2, "$type": "app.bsky.feed.post", "text": "keys out of order",
           "createdAt": t(5)}
    out.append((af.commit(5, ALICE, rev(5), t(5),
                          [("create", "app.bsky.feed.post/" + rkey(5), rec)]),
                "commit seq 5 record keys zebra,a,$type,text,createdAt (not canonical)"))
    out.append((af.identity(6, ALICE, t(6, us=True), "alice.test"),
                "identity seq 6 time with microseconds %s" % t(6, us=True)))
    out.append((af.message(af.header("#labels"), {"seq": 7, "labels": []}),
                "unknown message type #labels (op 1)"))
    return out


def bad_frames():
    """name -> (bad Msg/Raw, note)."""
    path = "app.bsky.feed.post/" + rkey(2)
    d = {}
    d["bad-float"] = (bad_record_commit(Float(1.5)), "record has float64 1.5")
    d["bad-indef"] = (bad_record_commit(af.IndefMap([("k", "v")])),
                      "record has indefinite-length map")
    d["bad-tag"] = (bad_record_commit(Tag(1, 1732000000)), "record has tag 1")
    d["bad-mapkey"] = (bad_record_commit(Pairs([(1, "one")])),
                       "record has nested map with integer key 1")
    a = simple_commit(2, CAROL, "trailing")
    d["bad-trailing"] = (af.Msg(bytes(a) + b"\x01\x02\x03"),
                         "3 bytes (01 02 03) after the body CBOR")
    d["bad-utf8"] = (bad_record_commit(RawText(b"caf\xc3\x28 \xff\xfe bad")),
                     "record text string with invalid UTF-8")
    d["bad-deep"] = (bad_record_commit(Raw(b"\x81" * 9999 + b"\x80")),
                     "record value nested 10000 arrays deep")
    # identity body whose last value (handle) claims 2^64-16 bytes
    strlen_body = Pairs([("did", CAROL), ("seq", 2), ("time", t(2)),
                         ("handle", LenLie(3, 0xFFFFFFFFFFFFFFF0, b"x.te"))])
    d["bad-strlen"] = (af.message(af.header("#identity"), strlen_body),
                       "identity body: handle text length 0xFFFFFFFFFFFFFFF0, 4 bytes present")
    d["bad-strlen-record"] = (bad_record_commit(LenLie(3, 100, b"short")),
                              "record text claims 100 bytes; 81 remain in the block (the CAR and body go on)")
    d["bad-cid"] = (bad_record_commit(Tag(42, b"\x00\x01\x71\x12\x20" + b"\xaa" * 10)),
                    "record tag 42 over CID with 10-byte digest claiming 32")
    d["bad-uint64"] = (bad_record_commit(2 ** 64 - 1), "record int 2^64-1 (outside int64)")
    d["bad-negint"] = (bad_record_commit(-(2 ** 64)), "record int -2^64 (outside int64)")
    d["bad-header"] = (af.message([1, "#commit"], {"seq": 2, "repo": CAROL}),
                       "header is array [1, \"#commit\"]")
    d["bad-car"] = (af.commit(2, CAROL, rev(2), t(2),
                              [("create", path, post("bad car", 2))],
                              blocks=af.garbage(40, "car").data),
                    "commit blocks field is 40 garbage bytes")
    v = bad_record_commit("verify me")
    blk = v.info["record_blocks"][0][1]
    d["bad-verify"] = (af.flip_block_byte(v, 0, blk.index(b"verify me")),
                       "record block: 'v' of \"verify me\" flipped to 'V': sha256 != op CID")
    d["trunc-frame"] = (af.truncated_frame(100, 10),
                        "length prefix 100, only 10 bytes before EOF")
    d["huge-len"] = (af.huge_len(0xFFFFFFF0), "length prefix 0xFFFFFFF0 then 15 bytes, EOF")
    return d


STREAM_LEVEL = ("trunc-frame", "huge-len")


def fixture(name, arg=None):
    """[(item, note)] where item is a Msg (framed) or Raw (stream bytes)."""
    if name == "all-types":
        return fx_all_types()
    if name == "edge":
        return fx_edge()
    if name == "garbage":
        g = af.garbage(256, "garbage")
        return [(g, "256 pseudo-random bytes, first byte 0x%02x" % g.data[0])]
    if name == "many":
        n = int(arg) if arg is not None else 1000
        return [(simple_commit(i, (ALICE, BOB, CAROL)[i % 3]), "commit seq %d" % i)
                for i in range(1, n + 1)]
    if name == "good":
        return [(good_a(), "good A seq 1"), (good_b(), "good B seq 3")]
    bf = bad_frames()
    if name in bf:
        item, note = bf[name]
        res = [(good_a(), "good A seq 1"), (item, "BAD: " + note)]
        if name not in STREAM_LEVEL:
            res.append((good_b(), "good B seq 3"))
        return res
    raise KeyError(name)


def names():
    return ["all-types", "edge", "good", "many"] + sorted(bad_frames()) + ["garbage"]


def stream(items):
    return af.frames([i for i, _ in items])


def main(argv):
    mode = "emit"
    if argv and argv[0] in ("--list", "--describe", "--expect", "--check", "-h", "--help"):
        mode = argv.pop(0)
    if mode in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if mode == "--list":
        for n in names():
            print(n)
        return 0
    if not argv:
        print("usage: mkfixture.py [--describe|--expect|--check] NAME [N]", file=sys.stderr)
        return 2
    try:
        items = fixture(argv[0], argv[1] if len(argv) > 1 else None)
    except KeyError:
        print("mkfixture.py: unknown fixture %r (try --list)" % argv[0], file=sys.stderr)
        return 2
    if mode == "emit":
        if sys.stdout.isatty():
            print("mkfixture.py: refusing to write binary to a terminal", file=sys.stderr)
            return 2
        out = sys.stdout.buffer
        buf = bytearray()
        for i, _ in items:
            buf += i.data if isinstance(i, Raw) else af.frame(i)
            if len(buf) > 1 << 20:
                out.write(buf)
                buf.clear()
        out.write(buf)
        out.flush()
        return 0
    offs = af.frame_offsets([i for i, _ in items])
    if mode == "--describe":
        for (n, off, ln), (_, note) in zip(offs, items):
            print("frame %d\tbyte %d\tlen %d\t%s" % (n, off, ln, note))
        return 0
    if mode == "--expect":
        for item, _ in items:
            if isinstance(item, Raw):
                continue
            try:
                for line in af.jetstream_lines(item):
                    print(line)
            except Exception:
                pass
        return 0
    # --check
    for (n, off, ln), (item, note) in zip(offs, items):
        if isinstance(item, Raw):
            res = "raw stream bytes"
        else:
            try:
                af.jetstream(item, canonical=True)
                res = "ok"
            except Exception as e:
                res = "FAIL %s: %s" % (type(e).__name__, e)
                try:
                    af.jetstream(item, canonical=False)
                    res = "ok except key order: " + res
                except Exception:
                    pass
        print("frame %d\tbyte %d\t%s\t%s" % (n, off, res, note))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        sys.exit(0)
