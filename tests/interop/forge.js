#!/usr/bin/env node
'use strict';
// Forged commits for the --verify-sig tests: a copy of a capture with one
// #commit frame replaced by a forgery that is consistent everywhere except
// in its signature, so only a signature check can tell.
//
//   node forge.js --capture IN --keys KEYS [--record OUT] [--resign OUT]
//                 [--did DID]
//
//   IN      a frames capture (run-scenario.js --capture)
//   KEYS    "DID TYPE MULTIBASE PRIVHEX" lines (run-scenario.js --keys)
//   --record OUT   the first #commit with a create whose record is in its
//                  CAR (of DID, if given): the record changed ("text" gets
//                  " [forged]", or a field "forged": true is added), its
//                  CID, the MST nodes above it, the commit's `data`, the
//                  commit CID, the op's `cid` and the CAR recomputed; the
//                  commit keeps its old signature
//   --resign OUT   the first #commit with ops (of DID, if given) re-signed with the
//                  private key of another account of KEYS (a valid
//                  signature, by the wrong key); commit CID and CAR
//                  recomputed
// Every other frame is copied byte for byte, so OUT passes
// `atfh-decode --verify` (block hashes) and fails a signature check on
// exactly that frame.  For each OUT, one line on stdout:
//   {"mode":"record","frame":N,"seq":S,"did":"did:plc:…","signer":"did:…"}
// (frame is 1-based; signer only for --resign).  Exit 2 on bad usage or
// when no frame qualifies.
const fs = require('node:fs');
const { parseArgs } = require('./lib/args');

const usage = `usage: node forge.js --capture IN --keys KEYS [--record OUT] [--resign OUT] [--did DID]
`;
const { opts } = parseArgs(process.argv.slice(2), {
  capture: 'string', keys: 'string', record: 'string', resign: 'string', did: 'string',
}, usage);
const die = (m) => { process.stderr.write(`forge: ${m}\n`); process.exit(2); };
if (!opts.capture || !opts.keys || (!opts.record && !opts.resign)) {
  process.stderr.write(usage);
  process.exit(2);
}

async function main() {
  const [cborg, dagCbor, { CID }, { sha256 }, repo, crypto] = await Promise.all([
    import('cborg'), import('@ipld/dag-cbor'), import('multiformats/cid'),
    import('multiformats/hashes/sha2'), import('@atproto/repo'), import('@atproto/crypto'),
  ]);

  const buf = fs.readFileSync(opts.capture);
  const frames = [];
  for (let off = 0; off < buf.length;) {
    if (off + 4 > buf.length) die(`${opts.capture}: truncated frame`);
    const n = buf.readUInt32BE(off);
    frames.push(buf.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  const keys = new Map();
  for (const l of fs.readFileSync(opts.keys, 'utf8').split('\n')) {
    const [did, type, mb, priv] = l.split(' ');
    if (did) keys.set(did, { type, mb, priv });
  }

  const decode = (msg) => {
    const [header, rest] = cborg.decodeFirst(msg, dagCbor.decodeOptions);
    return { header, body: dagCbor.decode(rest) };
  };
  const encode = (header, body) =>
    Buffer.concat([dagCbor.encode(header), dagCbor.encode(body)]);
  const cidOf = async (bytes) => CID.createV1(dagCbor.code, await sha256.digest(bytes));

  // the commits to consider, in order
  const commits = [];
  for (let i = 0; i < frames.length; i++) {
    let m;
    try { m = decode(frames[i]); } catch { continue; }
    if (m.header.op !== 1 || m.header.t !== '#commit' || !m.body.blocks?.length) continue;
    if (opts.did && m.body.repo !== opts.did) continue;
    commits.push({ i, ...m });
  }

  const write = (file, i, msg, info) => {
    const parts = [];
    for (let j = 0; j < frames.length; j++) {
      const f = j === i ? msg : frames[j];
      const len = Buffer.alloc(4);
      len.writeUInt32BE(f.length);
      parts.push(len, f);
    }
    fs.writeFileSync(file, Buffer.concat(parts));
    process.stdout.write(JSON.stringify({ frame: i + 1, ...info }) + '\n');
  };

  // Replace the commit block of CAR (root) with COMMIT (an object); returns
  // the new CAR bytes and commit CID.
  const withCommit = async (car, commit) => {
    const bytes = dagCbor.encode(commit);
    const cid = await cidOf(bytes);
    car.blocks.delete(car.root);
    car.blocks.set(cid, bytes);
    return { bytes: await repo.blocksToCarFile(cid, car.blocks), cid };
  };

  if (opts.record) {
    let done = false;
    for (const c of commits) {
      const car = await repo.readCarWithRoot(c.body.blocks);
      const opIdx = c.body.ops.findIndex((o) => o.action === 'create' && o.cid && car.blocks.has(o.cid));
      if (opIdx < 0) continue;
      const op = c.body.ops[opIdx];
      const record = dagCbor.decode(car.blocks.get(op.cid));
      if (typeof record.text === 'string') record.text += ' [forged]';
      else record.forged = true;
      const recBytes = dagCbor.encode(record);
      const recCid = await cidOf(recBytes);
      car.blocks.set(recCid, recBytes);
      // every MST node that links to a replaced block is replaced, up to
      // the root (a node's entries: v record, t subtree; l its left subtree)
      const moved = new Map([[op.cid.toString(), recCid]]);
      const swap = (x) => (x && moved.get(x.toString())) || x;
      for (let changed = true; changed;) {
        changed = false;
        for (const [cidStr, bytes] of [...car.blocks.entries()].map((e) => [e.cid.toString(), e.bytes])) {
          if (moved.has(cidStr) || cidStr === car.root.toString()) continue;
          let node;
          try { node = dagCbor.decode(bytes); } catch { continue; }
          if (!node || !Array.isArray(node.e) || !('l' in node)) continue;
          const next = { l: swap(node.l), e: node.e.map((e) => ({ ...e, v: swap(e.v), t: swap(e.t) })) };
          const nb = dagCbor.encode(next);
          if (Buffer.compare(Buffer.from(nb), Buffer.from(bytes)) === 0) continue;
          const nc = await cidOf(nb);
          car.blocks.set(nc, nb);
          moved.set(cidStr, nc);
          changed = true;
        }
      }
      const commit = dagCbor.decode(car.blocks.get(car.root));
      const data = swap(commit.data);
      if (data.equals(commit.data)) die('the MST root did not change');
      for (const old of moved.keys()) car.blocks.delete(CID.parse(old));
      const next = await withCommit(car, { ...commit, data }); // old sig kept
      const ops = c.body.ops.map((o, k) => (k === opIdx ? { ...o, cid: recCid } : o));
      write(opts.record, c.i, encode(c.header, { ...c.body, ops, blocks: next.bytes, commit: next.cid }),
        { mode: 'record', seq: c.body.seq, did: c.body.repo });
      done = true;
      break;
    }
    if (!done) die('no #commit with a created record in its CAR');
  }

  if (opts.resign) {
    let done = false;
    for (const c of commits) {
      if (!c.body.ops?.length) continue; // an account's first, empty commit
      const other = [...keys].find(([d, k]) => d !== c.body.repo && k.priv && k.priv !== '-');
      if (!other) continue;
      const kp = await crypto.Secp256k1Keypair.import(other[1].priv);
      const car = await repo.readCarWithRoot(c.body.blocks);
      const { sig, ...unsigned } = dagCbor.decode(car.blocks.get(car.root));
      const next = await withCommit(car, { ...unsigned, sig: await kp.sign(dagCbor.encode(unsigned)) });
      write(opts.resign, c.i, encode(c.header, { ...c.body, blocks: next.bytes, commit: next.cid }),
        { mode: 'resign', seq: c.body.seq, did: c.body.repo, signer: other[0] });
      done = true;
      break;
    }
    if (!done) die('no #commit, or no other account with a private key');
  }
}

main().catch((e) => die(e.stack || String(e)));
