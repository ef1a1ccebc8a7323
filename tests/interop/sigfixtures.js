#!/usr/bin/env node
'use strict';
// Commit-signature cases for tests/sigcheck (tests/sigverify.test), made
// with fresh keys by the reference libraries (@atproto/crypto keypairs,
// @ipld/dag-cbor), so atfh's verifier is checked against signatures it did
// not make.  Every expected verdict is also asked of the reference
// verifier (@atproto/crypto verifySignature, strict low-S), and the script
// fails if the two expectations differ.
//
//   node sigfixtures.js > cases.txt
//
// Output lines (hex = lowercase hex of the DAG-CBOR block):
//   key NAME TYPE MULTIBASE          a verification method to parse
//   didkey NAME did:key:z...         the same from a did:key
//   samekey NAME1 NAME2              both parse to the same key
//   badkey TYPE MULTIBASE WHY...     parsing fails, the message contains WHY
//   verify NAME DID HEX ok           the commit verifies with key NAME
//   verify NAME DID HEX WHY...       it fails, the message contains WHY
const crypto = require('@atproto/crypto');
const dagCbor = require('@ipld/dag-cbor');
const { base58btc } = require('multiformats/bases/base58');
const { CID } = require('multiformats/cid');
const { sha256 } = require('multiformats/hashes/sha2');
const { secp256k1 } = require('@noble/curves/secp256k1');
const { p256 } = require('@noble/curves/p256');

const out = [];
const hex = (b) => Buffer.from(b).toString('hex');
const fail = (m) => { process.stderr.write(`sigfixtures: ${m}\n`); process.exit(1); };

const uncompressed = (curve, compressed) =>
  curve.ProjectivePoint.fromHex(compressed).toRawBytes(false);
const multikeyOf = (kp) => kp.did().slice('did:key:'.length);

async function cid(obj) {
  const bytes = dagCbor.encode(obj);
  return CID.createV1(dagCbor.code, await sha256.digest(bytes));
}

async function signed(kp, commit) {
  const unsigned = dagCbor.encode(commit);
  const sig = await kp.sign(unsigned);
  return { unsigned, sig, block: dagCbor.encode({ ...commit, sig }) };
}

// The reference's verdict on a block: decode, drop sig, re-encode, verify.
async function reference(didKey, did, block) {
  let obj;
  try { obj = dagCbor.decode(block); } catch { return false; }
  if (!obj || obj.did !== did || !(obj.sig instanceof Uint8Array)) return false;
  const { sig, ...rest } = obj;
  try { return await crypto.verifySignature(didKey, dagCbor.encode(rest), sig); } catch { return false; }
}

async function main() {
  const k = await crypto.Secp256k1Keypair.create({ exportable: true });
  const k2 = await crypto.Secp256k1Keypair.create({ exportable: true });
  const p = await crypto.P256Keypair.create({ exportable: true });
  const keys = { k, k2, p };
  const curve = { k: secp256k1, k2: secp256k1, p: p256 };

  // Key forms: Multikey (did:key's multibase), did:key, legacy uncompressed.
  for (const [name, kp] of Object.entries(keys)) {
    out.push(`key ${name} Multikey ${multikeyOf(kp)}`);
    out.push(`didkey ${name}-dk ${kp.did()}`);
    out.push(`samekey ${name} ${name}-dk`);
    const raw = uncompressed(curve[name], kp.publicKeyBytes());
    const legacyType = name === 'p' ? 'EcdsaSecp256r1VerificationKey2019'
      : 'EcdsaSecp256k1VerificationKey2019';
    out.push(`key ${name}-legacy ${legacyType} ${base58btc.encode(raw)}`);
    out.push(`samekey ${name} ${name}-legacy`);
    // the reference reads the legacy form to the same did:key
    const back = crypto.formatDidKey(kp.jwtAlg, crypto.multibaseToBytes(base58btc.encode(raw)));
    if (back !== kp.did()) fail(`legacy form of ${name} reads back as ${back}`);
  }
  // Bad keys
  const kRaw = crypto.multibaseToBytes(multikeyOf(k));
  const off = Uint8Array.from(kRaw); off[2] = 0x05; // not 02/03
  out.push(`badkey Multikey ${base58btc.encode(off)} point`);
  out.push(`badkey Multikey ${base58btc.encode(kRaw.slice(0, 30))} 33-byte`);
  out.push(`badkey Multikey ${base58btc.encode(Uint8Array.from([0xed, 0x01, ...kRaw.slice(2)]))} neither`);
  out.push(`badkey Multikey u${Buffer.from(kRaw).toString('base64url')} base58btc`);
  out.push(`badkey Multikey z0OIl base58btc`);
  out.push(`badkey JsonWebKey2020 ${multikeyOf(k)} unsupported`);
  // x with no point on secp256k1: x = 5 has no square root (y^2 = 132)
  const noPoint = new Uint8Array(35); noPoint.set([0xe7, 0x01, 0x02]); noPoint[34] = 5;
  out.push(`badkey Multikey ${base58btc.encode(noPoint)} curve`);

  const did = 'did:plc:' + crypto.randomStr(12, 'base32').slice(0, 24);
  const data = await cid({ e: [], l: null });
  const commit = { did, version: 3, data, rev: '3lacjlgcv3k2a', prev: null };
  const cases = [];
  const add = (name, keyName, d, block, expect) => cases.push({ name, keyName, d, block, expect });

  for (const name of ['k', 'p']) {
    const s = await signed(keys[name], commit);
    add(`${name} signed`, name, did, s.block, 'ok');
    add(`${name} legacy key`, `${name}-legacy`, did, s.block, 'ok');
    add(`${name} did:key`, `${name}-dk`, did, s.block, 'ok');
    // high-S twin of a valid signature: same (r, n - s), which plain ECDSA accepts
    const n = curve[name].CURVE.n;
    const sBig = BigInt('0x' + hex(s.sig.slice(32)));
    const hi = Uint8Array.from(s.sig);
    hi.set(Buffer.from((n - sBig).toString(16).padStart(64, '0'), 'hex'), 32);
    add(`${name} high-S`, name, did, dagCbor.encode({ ...commit, sig: hi }), 'high-S');
    // signed by another key
    add(`${name} wrong key`, name === 'k' ? 'k2' : 'k', did, s.block, 'does not verify');
    // altered after signing
    add(`${name} altered rev`, name, did, dagCbor.encode({ ...commit, rev: '3lacjlgcv3k2b', sig: s.sig }), 'does not verify');
    const data2 = await cid({ e: [], l: data });
    add(`${name} altered data`, name, did, dagCbor.encode({ ...commit, data: data2, sig: s.sig }), 'does not verify');
    // right signature, wrong repo
    add(`${name} other repo`, name, 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', s.block, 'does not match');
    // one bit of the signature flipped
    const flip = Uint8Array.from(s.sig); flip[5] ^= 1;
    add(`${name} flipped sig bit`, name, did, dagCbor.encode({ ...commit, sig: flip }), 'does not verify');
  }
  // v2 commit (prev is a link) and a commit with an extra field: both signed
  {
    const c2 = { did, version: 2, data, rev: '3lacjlgcv3k2a', prev: data };
    add('k v2 commit', 'k', did, (await signed(k, c2)).block, 'ok');
    const cx = { ...commit, zextra: { b: 1, a: [true, 'x'] } };
    add('k extra field', 'k', did, (await signed(k, cx)).block, 'ok');
  }
  // not canonical: the version head written long (0x18 0x03 for 3)
  {
    const s = await signed(k, commit);
    const b = Buffer.from(s.block);
    const i = b.indexOf(Buffer.from('version'));
    const nc = Buffer.concat([b.slice(0, i + 7), Buffer.from([0x18, 0x03]), b.slice(i + 8)]);
    add('k long head', 'k', did, nc, 'canonical');
    // keys out of order: swap nothing but re-emit the map with did last
    const entries = [['data', data], ['prev', null], ['rev', commit.rev], ['sig', s.sig], ['version', 3]];
    const parts = [Buffer.from([0xa6])];
    for (const [kk, vv] of entries) parts.push(Buffer.from(dagCbor.encode(kk)), Buffer.from(dagCbor.encode(vv)));
    parts.push(Buffer.from(dagCbor.encode('did')), Buffer.from(dagCbor.encode(did)));
    add('k keys out of order', 'k', did, Buffer.concat(parts), 'canonical');
    // 63-byte and missing sig
    add('k short sig', 'k', did, dagCbor.encode({ ...commit, sig: s.sig.slice(0, 63) }), '64 bytes');
    add('k no sig', 'k', did, dagCbor.encode(commit), 'no sig');
    add('k not a map', 'k', did, dagCbor.encode([1, 2]), 'not a map');
    add('k trailing byte', 'k', did, Buffer.concat([Buffer.from(s.block), Buffer.from([0])]), 'after');
    add('k no did', 'k', did, dagCbor.encode({ version: 3, data, rev: 'x', sig: s.sig }), 'not a commit');
  }

  for (const c of cases) {
    const didKey = keys[c.keyName.replace(/-.*/, '')].did();
    const ref = await reference(didKey, c.d, c.block);
    // The reference re-encodes what it decoded: it has no notion of a
    // non-canonical block and accepts the long head; atfh refuses those
    // (the bytes do not hash to the CID a canonical writer gives).
    const refExpect = c.expect === 'ok';
    if (ref !== refExpect && c.expect !== 'canonical')
      fail(`${c.name}: reference says ${ref}, expected ${c.expect}`);
    out.push(`verify ${c.keyName} ${c.d} ${hex(c.block)} ${c.expect}`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((e) => fail(e.stack || String(e)));
