"""atfhframes -- hand-built AT Protocol firehose test data for atfh's tests.

This module owns the Python side of atfh's test data: it builds, byte by
byte, the "frames" capture format of DESIGN.md (4-byte big-endian length,
then one websocket message = DAG-CBOR header + DAG-CBOR body) so tests can
produce exactly the input they need, good or deliberately broken.  Python 3
standard library only.

Contents
  encode(obj)              DAG-CBOR encoder (dict keys in insertion order!)
  dagcbor_canonical(obj)   copy with map keys in DAG-CBOR canonical order
  CID, cid_for, cid_str, cid_parse     CIDv1 / sha2-256, base32 'b…' strings
  Raw, Float, Tag, Pairs, RawText, LenLie, Overlong, Simple,
  IndefList, IndefMap, IndefBytes, IndefText      malformed-CBOR escape hatches
  decode, decode_prefix, CBORError     small decoder (lenient or strict)
  car, parse_car                       CAR v1
  commit, identity, account, sync, info, error, message, header
                                       message (websocket payload) builders
  frame, frames, parse_frames          the length-prefixed capture format
  flip_block_byte, truncated_frame, huge_len, garbage, truncate
                                       corruption helpers
  jetstream(msg)                       reference "jetstream" events (dicts)
  tid, ts, time_us, did_for            deterministic identifiers and times

Conventions that matter to decoders:
  * Headers and bodies built here are canonical DAG-CBOR, exactly as the
    reference implementation (@atproto/xrpc-server, indigo) sends them: the
    header is {"t": "#commit", "op": 1} (t first: canonical order is
    length-first), error frames have header {"op": -1}.  Use
    message(..., canonical=False) for other key orders.
  * Record blocks are encoded in the caller's dict order (use
    dagcbor_canonical() for real-world order).
  * Message builders return Msg, a bytes subclass with an .info dict
    (CIDs, blocks, body...).
"""

import base64
import datetime
import hashlib
import json
import struct

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
CBOR_MIN = -(1 << 64)
CBOR_MAX = (1 << 64) - 1

CODEC_DAG_CBOR = 0x71
CODEC_RAW = 0x55


# ---------------------------------------------------------------------------
# CIDs

def varint(n):
    """Unsigned LEB128 (multiformats varint)."""
    if n < 0:
        raise ValueError("varint of negative number")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(buf, pos):
    """Return (value, new_pos); ValueError when truncated or > 9 bytes."""
    n = shift = 0
    for i in range(pos, min(len(buf), pos + 9)):
        b = buf[i]
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i + 1
    raise ValueError("bad varint at offset %d" % pos)


class CID:
    """A CID given by its binary form (no multibase prefix, no 0x00)."""
    __slots__ = ("bytes",)

    def __init__(self, b):
        if isinstance(b, str):
            b = cid_parse(b).bytes
        self.bytes = bytes(b)

    def __str__(self):
        return cid_str(self)

    def __repr__(self):
        return "CID(%r)" % str(self)

    def __eq__(self, other):
        return isinstance(other, CID) and other.bytes == self.bytes

    def __hash__(self):
        return hash(self.bytes)


def cid_for(block, codec=CODEC_DAG_CBOR):
    """CIDv1, sha2-256, for the given block bytes (codec 0x71 or 0x55)."""
    digest = hashlib.sha256(block).digest()
    return CID(b"\x01" + varint(codec) + b"\x12\x20" + digest)


def cid_str(cid):
    """'b' + lowercase RFC 4648 base32 without padding (bafyrei…/bafkrei…)."""
    b = cid.bytes if isinstance(cid, CID) else bytes(cid)
    return "b" + base64.b32encode(b).decode("ascii").lower().rstrip("=")


def cid_parse(s):
    """Inverse of cid_str (base32 'b' multibase only)."""
    if not s.startswith("b"):
        raise ValueError("only base32 ('b') CIDs are supported: %r" % s)
    body = s[1:].upper()
    body += "=" * (-len(body) % 8)
    return CID(base64.b32decode(body))


def cid_check(b):
    """Raise ValueError unless b is a well-formed binary CIDv1 (sha256 or
    any hash with consistent digest length)."""
    pos = 0
    ver, pos = read_varint(b, pos)
    if ver != 1:
        raise ValueError("CID version %d" % ver)
    _codec, pos = read_varint(b, pos)
    _hcode, pos = read_varint(b, pos)
    hlen, pos = read_varint(b, pos)
    if len(b) - pos != hlen:
        raise ValueError("CID digest length %d, have %d" % (hlen, len(b) - pos))


# ---------------------------------------------------------------------------
# CBOR escape hatches (values that encode() emits verbatim or malformed)

class Raw:
    """Bytes inserted verbatim where a value is expected."""
    def __init__(self, data):
        self.data = bytes(data)


class Float:
    """A float (not allowed by the atproto data model). width 16/32/64."""
    def __init__(self, value, width=64):
        self.value, self.width = value, width


class Tag:
    """An arbitrary tag (tag 42 over non-CID bytes, tag 1, ...)."""
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


class Pairs:
    """A definite map given as (key, value) pairs: any key types,
    duplicates allowed, order kept."""
    def __init__(self, pairs):
        self.pairs = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)


class RawText:
    """A text string (major type 3) with arbitrary, e.g. invalid UTF-8, bytes."""
    def __init__(self, data):
        self.data = bytes(data)


class LenLie:
    """Head of major type `major` claiming `length` but followed by only
    `payload` (use for 'length beyond the buffer')."""
    def __init__(self, major, length, payload=b""):
        self.major, self.length, self.payload = major, length, bytes(payload)


class Overlong:
    """value with its top-level head (int value or length) encoded in
    `width` extra bytes (1, 2, 4 or 8) instead of the shortest form."""
    def __init__(self, value, width):
        self.value, self.width = value, width


class Simple:
    """Simple value n (major 7): 23 is undefined, 20-22 false/true/null."""
    def __init__(self, n):
        self.n = n


UNDEFINED = Simple(23)


class _Indef:
    def __init__(self, items):
        self.items = items


class IndefList(_Indef):
    """Indefinite-length array (0x9f … 0xff)."""


class IndefMap(_Indef):
    """Indefinite-length map (0xbf … 0xff); dict or (k, v) pairs."""


class IndefBytes(_Indef):
    """Indefinite-length byte string made of the given chunks."""


class IndefText(_Indef):
    """Indefinite-length text string made of the given chunks."""


# ---------------------------------------------------------------------------
# Encoder

def head(major, n, width=None):
    """CBOR initial byte + argument; shortest form unless width (0 = inline,
    1, 2, 4, 8) is given."""
    if n < 0 or n > CBOR_MAX:
        raise ValueError("CBOR argument out of range: %d" % n)
    if width is None:
        if n < 24:
            width = 0
        elif n < 0x100:
            width = 1
        elif n < 0x10000:
            width = 2
        elif n < 0x100000000:
            width = 4
        else:
            width = 8
    m = major << 5
    if width == 0:
        if n >= 24:
            raise ValueError("%d does not fit inline" % n)
        return bytes([m | n])
    ai = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([m | ai]) + n.to_bytes(width, "big")


def _int_head(v, width=None):
    if v >= 0:
        return head(0, v, width)
    return head(1, -1 - v, width)


def encode(obj):
    """DAG-CBOR encode.  Maps keep insertion order (see dagcbor_canonical).
    Ints anywhere in CBOR's range [-2^64, 2^64-1] are encoded (shortest),
    so out-of-int64 values can be produced on purpose."""
    out = bytearray()
    _enc(obj, out)
    return bytes(out)


def _enc(o, out):
    tp = type(o)
    if tp is str:
        b = o.encode("utf-8", "surrogatepass")
        n = len(b)
        if n < 24:
            out.append(0x60 | n)
        else:
            out += head(3, n)
        out += b
    elif tp is int:
        if 0 <= o < 24:
            out.append(o)
        elif o < CBOR_MIN or o > CBOR_MAX:
            raise ValueError("int outside CBOR range: %d" % o)
        else:
            out += _int_head(o)
    elif tp is dict:
        out += head(5, len(o))
        for k, v in o.items():
            _enc(k, out)
            _enc(v, out)
    elif tp is list:
        out += head(4, len(o))
        for x in o:
            _enc(x, out)
    elif tp is bytes:
        out += head(2, len(o))
        out += o
    elif tp is CID:
        out += b"\xd8\x2a"
        out += head(2, len(o.bytes) + 1)
        out.append(0)
        out += o.bytes
    else:
        _enc_other(o, out)


def _enc_other(o, out):
    if o is None:
        out.append(0xF6)
    elif o is True:
        out.append(0xF5)
    elif o is False:
        out.append(0xF4)
    elif isinstance(o, int):
        if o < CBOR_MIN or o > CBOR_MAX:
            raise ValueError("int outside CBOR range: %d" % o)
        out += _int_head(o)
    elif isinstance(o, str):
        b = o.encode("utf-8", "surrogatepass")
        out += head(3, len(b))
        out += b
    elif isinstance(o, (bytes, bytearray, memoryview)):
        b = bytes(o)
        out += head(2, len(b))
        out += b
    elif isinstance(o, (list, tuple)):
        out += head(4, len(o))
        for x in o:
            _enc(x, out)
    elif isinstance(o, dict):
        out += head(5, len(o))
        for k, v in o.items():
            _enc(k, out)
            _enc(v, out)
    elif isinstance(o, CID):
        out += b"\xd8\x2a"
        _enc(b"\x00" + o.bytes, out)
    elif isinstance(o, Raw):
        out += o.data
    elif isinstance(o, Float):
        if o.width == 16:
            out += b"\xf9" + struct.pack(">e", o.value)
        elif o.width == 32:
            out += b"\xfa" + struct.pack(">f", o.value)
        else:
            out += b"\xfb" + struct.pack(">d", o.value)
    elif isinstance(o, float):
        out += b"\xfb" + struct.pack(">d", o)
    elif isinstance(o, Tag):
        out += head(6, o.tag)
        _enc(o.value, out)
    elif isinstance(o, Pairs):
        out += head(5, len(o.pairs))
        for k, v in o.pairs:
            _enc(k, out)
            _enc(v, out)
    elif isinstance(o, RawText):
        out += head(3, len(o.data))
        out += o.data
    elif isinstance(o, LenLie):
        out += head(o.major, o.length)
        out += o.payload
    elif isinstance(o, Simple):
        if o.n < 24:
            out.append(0xE0 | o.n)
        else:
            out += b"\xf8" + bytes([o.n])
    elif isinstance(o, Overlong):
        v, w = o.value, o.width
        if isinstance(v, bool) or v is None:
            raise TypeError("Overlong needs int/str/bytes/list/dict")
        if isinstance(v, int):
            out += _int_head(v, w)
        elif isinstance(v, str):
            b = v.encode("utf-8")
            out += head(3, len(b), w) + b
        elif isinstance(v, (bytes, bytearray)):
            out += head(2, len(v), w) + bytes(v)
        elif isinstance(v, (list, tuple)):
            out += head(4, len(v), w)
            for x in v:
                _enc(x, out)
        elif isinstance(v, dict):
            out += head(5, len(v), w)
            for k, x in v.items():
                _enc(k, out)
                _enc(x, out)
        else:
            raise TypeError("Overlong of %r" % type(v))
    elif isinstance(o, _Indef):
        if isinstance(o, IndefList):
            out.append(0x9F)
            for x in o.items:
                _enc(x, out)
        elif isinstance(o, IndefMap):
            out.append(0xBF)
            items = o.items.items() if isinstance(o.items, dict) else o.items
            for k, v in items:
                _enc(k, out)
                _enc(v, out)
        elif isinstance(o, IndefBytes):
            out.append(0x5F)
            for c in o.items:
                _enc(bytes(c), out)
        else:
            out.append(0x7F)
            for c in o.items:
                _enc(str(c), out)
        out.append(0xFF)
    else:
        raise TypeError("cannot DAG-CBOR encode %r" % type(o))


def _key_sort(k):
    b = k.encode("utf-8") if isinstance(k, str) else encode(k)
    return (len(b), b)


def canonical_keys(keys):
    """Keys in DAG-CBOR canonical order: shorter first, then bytewise."""
    return sorted(keys, key=_key_sort)


def dagcbor_canonical(o):
    """Deep copy of o with every dict's keys in DAG-CBOR canonical order
    (what @ipld/dag-cbor, @atproto/lex-cbor and cbor-gen emit)."""
    if isinstance(o, dict):
        return {k: dagcbor_canonical(o[k]) for k in canonical_keys(o.keys())}
    if isinstance(o, (list, tuple)):
        return [dagcbor_canonical(x) for x in o]
    return o


# ---------------------------------------------------------------------------
# Decoder

class CBORError(ValueError):
    def __init__(self, msg, pos):
        ValueError.__init__(self, "%s at byte %d" % (msg, pos))
        self.pos = pos


class _Dec:
    def __init__(self, buf, strict, max_depth, spans, canonical=None):
        self.buf, self.strict, self.max_depth, self.spans = buf, strict, max_depth, spans
        self.canonical = strict if canonical is None else canonical

    def need(self, pos, n):
        if n > len(self.buf) - pos:
            raise CBORError("need %d bytes, %d left" % (n, len(self.buf) - pos), pos)

    def arg(self, pos):
        self.need(pos, 1)
        ib = self.buf[pos]
        major, ai = ib >> 5, ib & 31
        if ai < 24:
            return major, ai, ai, pos + 1
        if ai in (24, 25, 26, 27):
            w = 1 << (ai - 24)
            self.need(pos + 1, w)
            n = int.from_bytes(self.buf[pos + 1:pos + 1 + w], "big")
            if self.strict and major != 7:
                lim = {1: 24, 2: 0x100, 4: 0x10000, 8: 0x100000000}[w]
                if n < lim:
                    raise CBORError("non-shortest integer/length", pos)
            return major, ai, n, pos + 1 + w
        if ai == 31:
            return major, ai, None, pos + 1
        raise CBORError("reserved additional info %d" % ai, pos)

    def item(self, pos, depth):
        if depth > self.max_depth:
            raise CBORError("nesting deeper than %d" % self.max_depth, pos)
        start = pos
        major, ai, n, pos = self.arg(pos)
        st = self.strict
        if n is None and (st or major in (0, 1, 6)):
            raise CBORError("indefinite length", start)
        if major == 0:
            if st and n > INT64_MAX:
                raise CBORError("integer outside int64", start)
            return n, pos
        if major == 1:
            if st and n > INT64_MAX:
                raise CBORError("integer outside int64", start)
            return -1 - n, pos
        if major in (2, 3):
            if n is None:
                chunks = []
                while True:
                    self.need(pos, 1)
                    if self.buf[pos] == 0xFF:
                        pos += 1
                        break
                    if self.buf[pos] >> 5 != major:
                        raise CBORError("bad chunk in indefinite string", pos)
                    c, pos = self.item(pos, depth + 1)
                    chunks.append(c)
                return (b"" if major == 2 else "").join(chunks), pos
            self.need(pos, n)
            raw = bytes(self.buf[pos:pos + n])
            if major == 2:
                return raw, pos + n
            try:
                s = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CBORError("invalid UTF-8 in text string", start)
            if self.spans is not None:
                self.spans.append((pos, pos + n))
            return s, pos + n
        if major == 4:
            out = []
            if n is None:
                while True:
                    self.need(pos, 1)
                    if self.buf[pos] == 0xFF:
                        return out, pos + 1
                    v, pos = self.item(pos, depth + 1)
                    out.append(v)
            # don't trust n for preallocation
            for _ in range(n):
                v, pos = self.item(pos, depth + 1)
                out.append(v)
            return out, pos
        if major == 5:
            out = {}
            prev = None
            i = 0
            while n is None or i < n:
                if n is None:
                    self.need(pos, 1)
                    if self.buf[pos] == 0xFF:
                        return out, pos + 1
                kpos = pos
                k, pos = self.item(pos, depth + 1)
                if st:
                    if not isinstance(k, str):
                        raise CBORError("map key is not a text string", kpos)
                    kk = _key_sort(k)
                    if self.canonical and prev is not None and kk <= prev:
                        raise CBORError("map keys not in canonical order or duplicated", kpos)
                    prev = kk
                elif isinstance(k, (list, dict)):
                    k = repr(k)
                if k in out:
                    raise CBORError("duplicate map key %r" % (k,), kpos)
                v, pos = self.item(pos, depth + 1)
                out[k] = v
                i += 1
            return out, pos
        if major == 6:
            if n == 42:
                v, pos = self.item(pos, depth + 1)
                if not isinstance(v, bytes) or not v or v[0] != 0:
                    raise CBORError("tag 42 not over 0x00-prefixed bytes", start)
                try:
                    cid_check(v[1:])
                except ValueError as e:
                    raise CBORError("invalid CID: %s" % e, start)
                return CID(v[1:]), pos
            if st:
                raise CBORError("tag %d not allowed" % n, start)
            v, pos = self.item(pos, depth + 1)
            return Tag(n, v), pos
        # major 7
        if ai == 20:
            return False, pos
        if ai == 21:
            return True, pos
        if ai == 22:
            return None, pos
        if ai in (25, 26, 27):
            if st:
                raise CBORError("float not allowed", start)
            fmt = {25: ">e", 26: ">f", 27: ">d"}[ai]
            return struct.unpack(fmt, self.buf[start + 1:pos])[0], pos
        if ai == 31:
            raise CBORError("unexpected break", start)
        raise CBORError("simple value %d" % (n if n is not None else ai), start)


def decode_prefix(buf, pos=0, strict=False, max_depth=400, spans=None,
                  canonical=None):
    """Decode one item at pos; return (value, end_pos).  strict=True
    enforces the atproto DAG-CBOR rules (shortest ints and lengths, int64,
    text keys, no dups, no floats/indefinite/tags but 42, valid CIDs) and,
    unless canonical=False, canonical map key order.
    If spans is a list, (start, end) of every text string's content is
    appended to it."""
    return _Dec(buf, strict, max_depth, spans, canonical).item(pos, 0)


def decode(buf, strict=False, max_depth=400, canonical=None):
    """Decode exactly one item filling buf."""
    v, end = decode_prefix(buf, 0, strict, max_depth, None, canonical)
    if end != len(buf):
        raise CBORError("%d trailing bytes" % (len(buf) - end), end)
    return v


# ---------------------------------------------------------------------------
# CAR v1

def car(roots, blocks):
    """CAR v1: varint-framed header {roots, version: 1} (canonical order, as
    @atproto/repo writes it) then varint(len(cid)+len(data)) cid data per
    block.  blocks: iterable of (CID, bytes)."""
    hdr = encode({"roots": list(roots), "version": 1})
    out = bytearray(varint(len(hdr)) + hdr)
    for cid, data in blocks:
        cb = cid.bytes if isinstance(cid, CID) else bytes(cid)
        out += varint(len(cb) + len(data)) + cb + bytes(data)
    return bytes(out)


def parse_car(b, verify=True):
    """Return (roots, [(CID, block_bytes)]); ValueError on any problem,
    including (verify=True) a block whose sha256 does not match its CID."""
    hlen, pos = read_varint(b, 0)
    if hlen > len(b) - pos:
        raise ValueError("CAR header truncated")
    hdr = decode(b[pos:pos + hlen])
    if not isinstance(hdr, dict) or hdr.get("version") != 1:
        raise ValueError("bad CAR header")
    pos += hlen
    blocks = []
    while pos < len(b):
        blen, pos = read_varint(b, pos)
        if blen > len(b) - pos:
            raise ValueError("CAR block truncated")
        sec = b[pos:pos + blen]
        p = 0
        _ver, p = read_varint(sec, p)
        codec, p = read_varint(sec, p)
        _h, p = read_varint(sec, p)
        dl, p = read_varint(sec, p)
        cid = CID(sec[:p + dl])
        data = bytes(sec[p + dl:])
        if verify and hashlib.sha256(data).digest() != sec[p:p + dl]:
            raise ValueError("block %s: sha256 mismatch" % cid)
        blocks.append((cid, data))
        pos += blen
    return hdr["roots"], blocks


# ---------------------------------------------------------------------------
# Deterministic identifiers and times

B32_SORT = "234567abcdefghijklmnopqrstuvwxyz"
BASE_TIME = datetime.datetime(2024, 11, 19, 12, 34, 56, 789000,
                              tzinfo=datetime.timezone.utc)


def tid(us, clock=0):
    """atproto TID: 13 chars of sortable base32 of (us << 10 | clock)."""
    n = ((us & ((1 << 53) - 1)) << 10) | (clock & 1023)
    s = ""
    for _ in range(13):
        s = B32_SORT[n & 31] + s
        n >>= 5
    return s


def ts(i=0, us=False):
    """The i-th fixture time: 2024-11-19T12:34:56.789Z plus i seconds
    (us=True: six fractional digits, …56.789000Z plus i seconds + i µs)."""
    t = BASE_TIME + datetime.timedelta(seconds=i, microseconds=(i if us else 0))
    if us:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % t.microsecond
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def time_us(s):
    """RFC 3339 time string -> integer microseconds since the epoch."""
    t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    delta = t - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def did_for(name):
    """Deterministic did:plc (24 base32 chars) for a test account name."""
    h = hashlib.sha256(name.encode()).digest()
    return "did:plc:" + base64.b32encode(h[:15]).decode().lower()


def fake_sig(*parts):
    """64 deterministic bytes standing in for a secp256k1 signature."""
    h = hashlib.sha256(repr(parts).encode()).digest()
    return h + hashlib.sha256(h).digest()


# ---------------------------------------------------------------------------
# Messages

class Msg(bytes):
    """A websocket message (header CBOR + body CBOR); .info has the parts."""
    info = None


def _msg(b, **info):
    m = Msg(b)
    m.info = info
    return m


def header(t=None, op=1):
    """Message header as the reference sends it: {"t": t, "op": op}
    (canonical order); without t when t is None."""
    h = {}
    if t is not None:
        h["t"] = t
    h["op"] = op
    return h


def message(hdr, body, canonical=True, trailing=b""):
    """header + body (+ trailing).  dicts are encoded (canonicalised unless
    canonical=False); bytes/Raw are inserted verbatim."""
    def enc(x):
        if isinstance(x, (bytes, bytearray)):
            return bytes(x)
        return encode(dagcbor_canonical(x) if canonical else x)
    return _msg(enc(hdr) + enc(body) + bytes(trailing), header=hdr, body=body)


def _mst_node(entries):
    """A flat MST-ish node {e: [{k, p, t, v}], l: null} over sorted
    (path, CID) entries, with real key-prefix compression."""
    es = []
    prev = b""
    for path, cid in sorted(entries, key=lambda e: e[0].encode()):
        k = path.encode()
        p = 0
        while p < min(len(k), len(prev)) and k[p] == prev[p]:
            p += 1
        es.append({"k": k[p:], "p": p, "t": None, "v": cid})
        prev = k
    return {"e": es, "l": None}


def signed_commit(did, rev, data, prev=None):
    """Repo commit object v3, canonical key order."""
    return dagcbor_canonical({"did": did, "version": 3, "data": data,
                              "rev": rev, "prev": prev,
                              "sig": fake_sig(did, rev)})


def record_block(record):
    """Block bytes for a record: dict/list -> encode() (caller's key order);
    bytes/Raw -> verbatim."""
    if isinstance(record, (bytes, bytearray)):
        return bytes(record)
    if isinstance(record, Raw):
        return record.data
    return encode(record)


def commit(seq, repo, rev, time, ops=(), since=None, too_big=False, blobs=(),
           prev_data=None, extra_blocks=(), rebase=False, blocks=None,
           t="#commit"):
    """A #commit message.

    ops: (action, path, record) tuples, or dicts with keys action, path,
    record and optionally prev (CID), cid (CID or None: overrides the op
    CID, e.g. to point at a block missing from the CAR), block (bytes:
    the block put in the CAR instead of encode(record); the op CID is
    still computed over it).  record may be a dict (encoded in its key
    order), bytes or Raw (block verbatim) or None.
    action "create": cid = CID of the record block.
    action "update": cid as create, plus prev = CID of the old record
                     (a deterministic fake unless given).
    action "delete": cid = None, prev as for update, no block.
    blocks: bytes to use verbatim as the body's blocks field (e.g. garbage);
    by default a CAR with root = commit: the commit block, an MST node,
    then the record blocks in op order, then extra_blocks ((CID, bytes)).
    too_big=True leaves blocks empty (legacy tooBig commits).
    Body keys come out canonical: ops rev seq repo time blobs since blocks
    commit rebase tooBig [prevData]."""
    body_ops = []
    rec_blocks = []
    op_cids = {}
    for op in ops:
        if not isinstance(op, dict):
            op = {"action": op[0], "path": op[1],
                  "record": op[2] if len(op) > 2 else None}
        action, path = op["action"], op["path"]
        o = {"action": action, "path": path}
        if action == "delete":
            cid = op.get("cid")
        else:
            blk = op["block"] if "block" in op else record_block(op.get("record"))
            cid = cid_for(blk)
            rec_blocks.append((cid, blk))
            if "cid" in op:
                cid = op["cid"]
        o["cid"] = cid
        if action in ("update", "delete"):
            prev = op.get("prev")
            if prev is None:
                prev = cid_for(encode({"$type": "atfh.test.prev", "path": path}))
            o["prev"] = prev
        body_ops.append(dagcbor_canonical(o))
        op_cids[path] = cid
    mst = encode(_mst_node([(p, c) for p, c in op_cids.items() if c is not None]))
    mst_cid = cid_for(mst)
    cblock = encode(signed_commit(repo, rev, mst_cid))
    ccid = cid_for(cblock)
    all_blocks = [(ccid, cblock), (mst_cid, mst)] + rec_blocks + list(extra_blocks)
    if blocks is None:
        blocks = b"" if too_big else car([ccid], all_blocks)
    body = {"seq": seq, "rebase": rebase, "tooBig": too_big, "repo": repo,
            "commit": ccid, "rev": rev, "since": since, "blocks": blocks,
            "ops": body_ops, "blobs": list(blobs), "time": time}
    if prev_data is not None:
        body["prevData"] = prev_data
    m = message(header(t), body)
    m.info.update(commit_cid=ccid, op_cids=op_cids, record_blocks=rec_blocks,
                  car=blocks)
    return m


def identity(seq, did, time, handle=None):
    """#identity {seq, did, time[, handle]} (handle omitted when None)."""
    body = {"seq": seq, "did": did, "time": time}
    if handle is not None:
        body["handle"] = handle
    return message(header("#identity"), body)


def account(seq, did, time, active, status=None):
    """#account {seq, did, time, active[, status]}."""
    body = {"seq": seq, "did": did, "time": time, "active": active}
    if status is not None:
        body["status"] = status
    return message(header("#account"), body)


def sync(seq, did, rev, time, blocks=None):
    """#sync {seq, did, blocks, rev, time}.  blocks=None builds a CAR whose
    root and only block is a signed commit for rev; bytes are verbatim."""
    if blocks is None:
        data = cid_for(encode(_mst_node([])))
        cb = encode(signed_commit(did, rev, data))
        blocks = car([cid_for(cb)], [(cid_for(cb), cb)])
    return message(header("#sync"), {"seq": seq, "did": did, "blocks": blocks,
                                     "rev": rev, "time": time})


def info(name, message_=None):
    """#info {name[, message]}."""
    body = {"name": name}
    if message_ is not None:
        body["message"] = message_
    return message(header("#info"), body)


def error(error_, message_=None):
    """Error frame: header {op: -1}, body {error[, message]}."""
    body = {"error": error_}
    if message_ is not None:
        body["message"] = message_
    return message(header(None, -1), body)


# ---------------------------------------------------------------------------
# Frame streams

def frame(msg, claimed=None):
    """One capture record: 4-byte big-endian length (or `claimed`) + msg."""
    n = len(msg) if claimed is None else claimed
    return struct.pack(">I", n) + bytes(msg)


def frames(msgs):
    """Concatenated capture records, one per message; an item wrapped in
    Raw is copied into the stream as is (no length prefix)."""
    out = bytearray()
    for m in msgs:
        out += m.data if isinstance(m, Raw) else frame(m)
    return bytes(out)


def frame_offsets(msgs):
    """[(frame_number_from_1, byte_offset_of_length_prefix, len)] for the
    list given to frames() (a Raw counts as one unit)."""
    res, off = [], 0
    for i, m in enumerate(msgs, 1):
        n = len(m.data) if isinstance(m, Raw) else 4 + len(m)
        res.append((i, off, n))
        off += n
    return res


def parse_frames(data):
    """Split a capture into messages; ValueError on a truncated record."""
    out, pos = [], 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise ValueError("truncated length prefix at byte %d" % pos)
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        if n > len(data) - pos - 4:
            raise ValueError("frame at byte %d claims %d bytes, %d present"
                             % (pos, n, len(data) - pos - 4))
        out.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def parse_message(msg, strict=True, canonical=None):
    """(header, body) of one message; CBORError if malformed/trailing."""
    h, pos = decode_prefix(msg, 0, strict, canonical=canonical)
    b, pos = decode_prefix(msg, pos, strict, canonical=canonical)
    if pos != len(msg):
        raise CBORError("%d trailing bytes after body" % (len(msg) - pos), pos)
    return h, b


# ---------------------------------------------------------------------------
# Corruption helpers

def flip_block_byte(msg, which, offset=None, mask=0x20):
    """Return a copy of message msg (a commit/sync Msg) with one byte of a
    CAR block changed, so its sha256 no longer matches its CID while its
    CBOR stays valid.  which: CID, op path, or index into
    msg.info['record_blocks'].  By default the byte is an ASCII letter in
    the last text string of the block, XORed with 0x20 (case flip);
    offset: flip that byte (block-relative) with mask instead."""
    rbs = msg.info["record_blocks"]
    if isinstance(which, int):
        cid, blk = rbs[which]
    else:
        if isinstance(which, str):
            which = msg.info["op_cids"][which]
        cid, blk = next((c, b) for c, b in rbs if c == which)
    if offset is None:
        spans = []
        decode_prefix(blk, 0, False, 100000, spans)
        for s, e in reversed(spans):
            for i in range(s, e):
                if 0x41 <= blk[i] <= 0x5A or 0x61 <= blk[i] <= 0x7A:
                    offset = i
                    break
            if offset is not None:
                break
        if offset is None:
            raise ValueError("no ASCII letter in a text string of the block")
    at = bytes(msg).find(cid.bytes + blk)
    if at < 0 or bytes(msg).find(cid.bytes + blk, at + 1) >= 0:
        raise ValueError("block not found exactly once in message")
    pos = at + len(cid.bytes) + offset
    b = bytearray(msg)
    b[pos] ^= mask
    m = Msg(bytes(b))
    m.info = dict(msg.info, flipped_at=pos)
    return m


def truncate(data, keep):
    """The first `keep` bytes of data (stream or message)."""
    return bytes(data)[:keep]


def truncated_frame(claimed=100, present=10, fill=None):
    """Raw stream bytes: a length prefix claiming `claimed` bytes followed by
    only `present` bytes (default: the start of a valid message)."""
    if fill is None:
        fill = bytes(info("Truncated", "x" * claimed))
    return Raw(struct.pack(">I", claimed) + bytes(fill)[:present])


def huge_len(length=0xFFFFFFF0, tail=b"\xa2\x61\x74\x67#commit\x62op\x01"):
    """Raw stream bytes: an absurd length prefix followed by a few bytes."""
    return Raw(struct.pack(">I", length) + tail)


def garbage(n=64, seed="atfh"):
    """n deterministic pseudo-random bytes, never starting with 0x00, '{',
    ASCII whitespace or the zstd magic byte 0x28."""
    out = bytearray()
    h = seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    out = out[:n]
    if out and (out[0] in b"\x00{ \t\r\n(\x28" or out[0] < 0x20):
        out[0] = 0x89
    return Raw(bytes(out))


# ---------------------------------------------------------------------------
# Reference "jetstream" events (DESIGN.md), as Python objects

def to_json_model(v):
    """atproto data model -> JSON-able Python: CID -> {"$link"},
    bytes -> {"$bytes": base64 without padding}."""
    if isinstance(v, CID):
        return {"$link": str(v)}
    if isinstance(v, bytes):
        return {"$bytes": base64.b64encode(v).decode().rstrip("=")}
    if isinstance(v, list):
        return [to_json_model(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json_model(x) for k, x in v.items()}
    return v


def jetstream(msg, verify=True, canonical=False):
    """Events (dicts, key order as DESIGN.md) that atfh-decode should print
    for one good message; raises on malformed input (strict atproto
    DAG-CBOR; map key order is only checked with canonical=True)."""
    h, b = parse_message(msg, True, canonical)
    if not isinstance(h, dict):
        raise ValueError("header is not a map")
    if h.get("op") == -1:
        return [{"kind": "error", "error": to_json_model(b)}]
    t = h.get("t")
    if t == "#info":
        return [{"kind": "info", "info": to_json_model(b)}]
    if t not in ("#commit", "#identity", "#account", "#sync"):
        raise ValueError("unknown message type %r" % (t,))
    base = {"did": None, "time_us": time_us(b["time"])}
    if t == "#commit":
        base["did"] = b["repo"]
        blocks = dict(parse_car(b["blocks"], verify)[1]) if b["blocks"] else {}
        out = []
        for op in b["ops"]:
            coll, _, rkey = op["path"].partition("/")
            c = {"rev": b["rev"], "operation": op["action"],
                 "collection": coll, "rkey": rkey}
            if op["action"] != "delete":
                c["record"] = to_json_model(decode(blocks[op["cid"]], True, 400, canonical))
                c["cid"] = str(op["cid"])
            out.append(dict(base, kind="commit", seq=b["seq"], commit=c))
        return out
    base["did"] = b["did"]
    if t == "#identity":
        return [dict(base, kind="identity", seq=b["seq"], identity=to_json_model(b))]
    if t == "#account":
        return [dict(base, kind="account", seq=b["seq"], account=to_json_model(b))]
    if t == "#sync":
        body = {k: v for k, v in b.items() if k != "blocks"}
        return [dict(base, kind="sync", seq=b["seq"], sync=to_json_model(body))]
    raise ValueError("unknown message type %r" % (t,))


def jetstream_lines(msg, canonical=False):
    """jetstream(msg) as compact JSON lines (Python's escaping, not
    necessarily atfh's byte for byte: compare parsed, not textually)."""
    return [json.dumps(e, ensure_ascii=False, separators=(",", ":"))
            for e in jetstream(msg, True, canonical)]
