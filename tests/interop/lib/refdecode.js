'use strict';
// Reference decoder: event-stream messages (frames) -> "jetstream" NDJSON as
// fixed by DESIGN.md, built only on the reference libraries:
//   cborg (the CBOR codec under @ipld/dag-cbor) with @ipld/dag-cbor's own
//     decode options, for decodeFirst (header and body are two concatenated
//     CBOR objects) and useMaps (JSON keys in the order of the CBOR);
//   @ipld/dag-cbor, which must accept every body and record as DAG-CBOR;
//   multiformats CID for links, @atproto/repo readCar for the blocks (it
//   checks every block against its CID).

let libs;
async function load() {
  if (libs) return libs;
  const [cborg, dagCbor, { CID }, { base64 }, repo] = await Promise.all([
    import('cborg'),
    import('@ipld/dag-cbor'),
    import('multiformats/cid'),
    import('multiformats/bases/base64'),
    import('@atproto/repo'),
  ]);
  const opts = {
    // @ipld/dag-cbor's decodeOptions (strict, no indefinite lengths, no
    // NaN/Infinity, BigInt outside the safe range, duplicate keys rejected),
    // with maps kept as Map so key order survives.
    ...dagCbor.decodeOptions,
    useMaps: true,
    tags: [],
  };
  opts.tags[42] = (bytes) => {
    if (!(bytes instanceof Uint8Array) || bytes[0] !== 0) {
      throw new Error('invalid CID in CBOR tag 42: expected bytes with a leading 0x00');
    }
    return CID.decode(bytes.subarray(1));
  };
  libs = { cborg, dagCbor, CID, base64, repo, opts };
  return libs;
}

// --- atproto data model -> JSON ---------------------------------------------

function toJSON(v) {
  const { CID, base64 } = libs;
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      if (Number.isSafeInteger(v)) return String(v);
      // not in the atproto data model; dag-cbor would decode a float
      return JSON.stringify(v);
    case 'string':
      return JSON.stringify(v);
  }
  if (v instanceof Uint8Array) return `{"$bytes":${JSON.stringify(base64.baseEncode(v))}}`;
  const cid = CID.asCID(v);
  if (cid) return `{"$link":${JSON.stringify(cid.toString())}}`;
  if (Array.isArray(v)) return `[${v.map(toJSON).join(',')}]`;
  if (v instanceof Map) {
    const parts = [];
    for (const [k, val] of v) parts.push(`${JSON.stringify(String(k))}:${toJSON(val)}`);
    return `{${parts.join(',')}}`;
  }
  if (typeof v === 'object') {
    return toJSON(new Map(Object.entries(v)));
  }
  throw new Error(`cannot represent ${typeof v} in JSON`);
}

// "2024-11-23T18:53:00.123Z" -> 1732387980123000n (microseconds, exact;
// digits beyond the microsecond are dropped). undefined when not RFC 3339.
function timeToMicros(s) {
  if (typeof s !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac = '', tz] = m;
  let ms = Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec);
  if (Number.isNaN(ms)) return undefined;
  if (tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1 : 1;
    ms -= sign * (+tz.slice(1, 3) * 60 + +tz.slice(4, 6)) * 60000;
  }
  return BigInt(ms) * 1000n + BigInt((frac + '000000').slice(0, 6));
}

// --- one message -> lines -----------------------------------------------------

function decodeMessage(bytes) {
  const { cborg, dagCbor, opts } = libs;
  const [header, rest] = cborg.decodeFirst(bytes, opts);
  if (!(header instanceof Map)) throw new Error('header is not a map');
  if (rest.length === 0) throw new Error('no body after the header');
  const body = cborg.decode(rest, opts); // exactly one object must remain
  if (!(body instanceof Map)) throw new Error('body is not a map');
  dagCbor.decode(rest); // and it must be valid DAG-CBOR for the reference codec
  return { header, body };
}

const line = (entries) => toJSON(new Map(entries.filter((e) => e[1] !== undefined)));

function common(body, kind) {
  return [
    ['did', body.get('did')],
    ['time_us', timeToMicros(body.get('time'))],
    ['kind', kind],
    ['seq', body.get('seq')],
  ];
}

async function messageToLines(bytes, warn = () => {}) {
  const { CID, repo, cborg, dagCbor, opts } = await load();
  const { header, body } = decodeMessage(bytes);
  const op = header.get('op');
  const t = header.get('t');
  if (op === -1) return [line([['kind', 'error'], ['error', body]])];
  if (op !== 1) {
    warn(`unknown header op ${op}`);
    return [];
  }
  switch (t) {
    case '#info':
      return [line([['kind', 'info'], ['info', body]])];
    case '#identity':
    case '#account': {
      const kind = t.slice(1);
      return [line([...common(body, kind), [kind, body]])];
    }
    case '#sync': {
      const sync = new Map([...body].filter(([k]) => k !== 'blocks'));
      return [line([...common(body, 'sync'), ['sync', sync]])];
    }
    case '#commit':
      break;
    default:
      warn(`unknown message type ${JSON.stringify(t)}`);
      return [];
  }

  let blocks = null;
  const car = body.get('blocks');
  if (car instanceof Uint8Array && car.length > 0) {
    try {
      blocks = (await repo.readCar(car)).blocks;
    } catch (err) {
      warn(`seq ${body.get('seq')}: unreadable CAR: ${err.message}`);
    }
  }
  const head = [
    ['did', body.get('repo')],
    ['time_us', timeToMicros(body.get('time'))],
    ['kind', 'commit'],
    ['seq', body.get('seq')],
  ];
  const lines = [];
  for (const o of body.get('ops') || []) {
    const action = o.get('action');
    const path = String(o.get('path'));
    const slash = path.indexOf('/');
    const commit = [
      ['rev', body.get('rev')],
      ['operation', action],
      ['collection', slash < 0 ? path : path.slice(0, slash)],
      ['rkey', slash < 0 ? '' : path.slice(slash + 1)],
    ];
    const cid = CID.asCID(o.get('cid'));
    if (action !== 'delete' && cid) {
      const block = blocks && blocks.get(cid);
      if (block) {
        commit.push(['record', cborg.decode(block, opts)]);
        dagCbor.decode(block);
      }
      commit.push(['cid', (cid.version === 0 ? cid.toV1() : cid).toString()]);
    }
    lines.push(line([...head, ['commit', new Map(commit.filter((e) => e[1] !== undefined))]]));
  }
  return lines;
}

// --- frames -------------------------------------------------------------------

// Yields { index, offset, bytes } for each record of a frames buffer; throws on
// a truncated record.
function* frames(buf) {
  let off = 0;
  let index = 0;
  while (off < buf.length) {
    if (buf.length - off < 4) throw new Error(`frame ${index + 1} (byte ${off}): truncated length`);
    const len = buf.readUInt32BE(off);
    if (buf.length - off - 4 < len) throw new Error(`frame ${index + 1} (byte ${off}): truncated body`);
    index++;
    yield { index, offset: off, bytes: buf.subarray(off + 4, off + 4 + len) };
    off += 4 + len;
  }
}

function frame(bytes) {
  const b = Buffer.allocUnsafe(4 + bytes.length);
  b.writeUInt32BE(bytes.length, 0);
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).copy(b, 4);
  return b;
}

// Whole capture -> array of NDJSON lines (without newlines).
// report(message, malformed): malformed is true for a frame that could not be
// decoded (it is skipped) or a truncated capture (reading stops), false for a
// notice (unknown message type, unreadable CAR: the event is still handled).
async function captureToLines(buf, report = (m) => process.stderr.write(`refdecode: ${m}\n`)) {
  await load();
  const out = [];
  const it = frames(buf);
  for (;;) {
    let f;
    try {
      const r = it.next();
      if (r.done) break;
      f = r.value;
    } catch (err) {
      report(err.message, true); // truncated: nothing more to read
      break;
    }
    const where = `frame ${f.index} (byte ${f.offset})`;
    try {
      out.push(...(await messageToLines(f.bytes, (m) => report(`${where}: ${m}`, false))));
    } catch (err) {
      report(`${where}: ${err.message}`, true);
    }
  }
  return out;
}

// seq (as a BigInt) and type of a message; load() must have resolved.
function peek(bytes) {
  if (!libs) throw new Error('refdecode: load() first');
  const { header, body } = decodeMessage(bytes);
  const seq = body.get('seq');
  return {
    op: header.get('op'),
    t: header.get('t'),
    seq: typeof seq === 'number' || typeof seq === 'bigint' ? BigInt(seq) : undefined,
  };
}

module.exports = { load, toJSON, timeToMicros, messageToLines, captureToLines, frames, frame, peek };
