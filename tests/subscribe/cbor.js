'use strict';
// Just enough CBOR for the test servers: find the top-level fields of a
// firehose message (header map + body map) without decoding the rest, and
// encode the small header/body maps of info and error frames.

function head(buf, pos) {
  const ib = buf[pos];
  const major = ib >> 5;
  const ai = ib & 31;
  let n;
  let len = 1;
  if (ai < 24) n = ai;
  else if (ai === 24) { n = buf[pos + 1]; len = 2; }
  else if (ai === 25) { n = buf.readUInt16BE(pos + 1); len = 3; }
  else if (ai === 26) { n = buf.readUInt32BE(pos + 1); len = 5; }
  else if (ai === 27) { n = Number(buf.readBigUInt64BE(pos + 1)); len = 9; }
  else throw new Error(`unsupported CBOR additional info ${ai} at ${pos}`);
  if (pos + len > buf.length) throw new Error('truncated CBOR');
  return { major, n, len };
}

// position after the item at pos
function skip(buf, pos) {
  const h = head(buf, pos);
  let p = pos + h.len;
  switch (h.major) {
    case 0: case 1: case 7: return p;
    case 2: case 3: return p + h.n;
    case 4: for (let i = 0; i < h.n; i++) p = skip(buf, p); return p;
    case 5: for (let i = 0; i < 2 * h.n; i++) p = skip(buf, p); return p;
    case 6: return skip(buf, p);
    default: throw new Error('bad CBOR');
  }
}

function value(buf, pos) {
  const h = head(buf, pos);
  const p = pos + h.len;
  if (h.major === 0) return h.n;
  if (h.major === 1) return -1 - h.n;
  if (h.major === 3) return buf.toString('utf8', p, p + h.n);
  return undefined;
}

// top-level scalar fields of a map at pos: { fields, end }
function mapFields(buf, pos) {
  const h = head(buf, pos);
  if (h.major !== 5) throw new Error('not a map');
  let p = pos + h.len;
  const fields = {};
  for (let i = 0; i < h.n; i++) {
    const k = value(buf, p);
    p = skip(buf, p);
    fields[k] = value(buf, p);
    p = skip(buf, p);
  }
  return { fields, end: p };
}

// { op, t, seq, time } of a message
function peek(msg) {
  const hd = mapFields(msg, 0);
  const body = mapFields(msg, hd.end);
  return { op: hd.fields.op, t: hd.fields.t, seq: body.fields.seq, time: body.fields.time };
}

function encText(s) {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([encHead(3, b.length), b]);
}
function encHead(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  const b = Buffer.alloc(3);
  b[0] = (major << 5) | 25;
  b.writeUInt16BE(n, 1);
  return b;
}
function encInt(v) {
  return v >= 0 ? encHead(0, v) : encHead(1, -1 - v);
}
// a map of string -> string|int, keys in DAG-CBOR order (length, then bytes)
function encMap(obj) {
  const keys = Object.keys(obj).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  const parts = [encHead(5, keys.length)];
  for (const k of keys) {
    parts.push(encText(k));
    parts.push(typeof obj[k] === 'number' ? encInt(obj[k]) : encText(obj[k]));
  }
  return Buffer.concat(parts);
}

function errorFrame(error, message) {
  return Buffer.concat([encMap({ op: -1 }), encMap(message ? { error, message } : { error })]);
}
function infoFrame(name, message) {
  return Buffer.concat([encMap({ op: 1, t: '#info' }), encMap(message ? { name, message } : { name })]);
}

// the records of a frames capture
function readFrames(buf) {
  const out = [];
  let p = 0;
  while (p + 4 <= buf.length) {
    const n = buf.readUInt32BE(p);
    if (p + 4 + n > buf.length) throw new Error(`truncated frame at byte ${p}`);
    out.push(buf.subarray(p + 4, p + 4 + n));
    p += 4 + n;
  }
  return out;
}

module.exports = { peek, errorFrame, infoFrame, readFrames };
