#!/usr/bin/env node
'use strict';
// Reference for the DID-filter benchmark: what a JS service does today —
// split the capture into frames, decode header and body with the reference
// CBOR codec (cborg with @ipld/dag-cbor's options), look the repo/did up in
// a Set, write the frames that match.  usage: refgrep.js DIDFILE CAPTURE > OUT
const fs = require('fs');
const path = require('path');
const iop = path.join(__dirname, '..', 'interop');
module.paths.unshift(path.join(iop, 'node_modules'));
const ref = require(path.join(iop, 'lib', 'refdecode.js'));

(async () => {
  const [didFile, capture] = process.argv.slice(2);
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
      const [, rest] = cborg.decodeFirst(bytes, opts);
      const body = cborg.decode(rest, opts);
      const did = body.get('repo') ?? body.get('did');
      if (set.has(did)) {
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
