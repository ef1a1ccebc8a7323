#!/usr/bin/env node
'use strict';
// References for the DID-filter benchmark: what a JS service does today.
//   refgrep.js DIDFILE CAPTURE > OUT
//     lean: split the capture into frames, decode header and body with the
//     reference CBOR codec (cborg with @ipld/dag-cbor's options), look the
//     repo/did up in a Set, write the frames that match;
//   refgrep.js --decode DIDFILE CAPTURE > OUT
//     the reference decoder (tests/interop/lib/refdecode.js: every frame to
//     its events, records read from the CAR) and a Set lookup of each
//     event's did; a frame is written when any of its events matches.
const fs = require('fs');
const path = require('path');
const iop = path.join(__dirname, '..', 'interop');
module.paths.unshift(path.join(iop, 'node_modules'));
const ref = require(path.join(iop, 'lib', 'refdecode.js'));

(async () => {
  const args = process.argv.slice(2);
  const full = args[0] === '--decode';
  if (full) args.shift();
  const [didFile, capture] = args;
  const { cborg, opts } = await ref.load();
  const set = new Set(fs.readFileSync(didFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  // stream the capture in chunks, as a service reading a socket would
  const fd = fs.openSync(capture, 'r');
  let buf = Buffer.alloc(0);
  let kept = 0;
  const chunk = Buffer.allocUnsafe(1 << 22);
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, null);
    buf = buf.length ? Buffer.concat([buf, chunk.subarray(0, n)]) : Buffer.from(chunk.subarray(0, n));
    let off = 0;
    const out = [];
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (buf.length - off - 4 < len) break;
      const bytes = buf.subarray(off + 4, off + 4 + len);
      let hit;
      if (full) {
        // the events as the reference decoder gives them; an event line
        // starts with {"did":"…" (the did only needs to be read out)
        hit = (await ref.messageToLines(bytes)).some((l) => {
          const m = /^\{"did":"([^"]*)"/.exec(l);
          return m !== null && set.has(m[1]);
        });
      } else {
        const [, rest] = cborg.decodeFirst(bytes, opts);
        const body = cborg.decode(rest, opts);
        hit = set.has(body.get('repo') ?? body.get('did'));
      }
      if (hit) {
        out.push(ref.frame(bytes));
        kept++;
      }
      off += 4 + len;
    }
    if (out.length) fs.writeSync(1, Buffer.concat(out));
    buf = buf.subarray(off);
    if (n === 0) break;
  }
  process.stderr.write(`refgrep: kept ${kept}\n`);
})().catch((e) => { process.stderr.write(`refgrep: ${e.message}\n`); process.exit(2); });
