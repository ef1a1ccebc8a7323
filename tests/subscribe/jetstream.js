#!/usr/bin/env node
'use strict';
// A small Jetstream for the atfh-subscribe --jetstream tests, on 127.0.0.1,
// behaving like bluesky-social/jetstream (docs/README.md 5.1-5.2, lexicons/).
//
//   node jetstream.js --events N [--log FILE] [--dump FILE] [--legacy 1]
//        [--drop-every K] [--drops M] [--drop-after K] [--interval MS]
//        [--v2 1] [--floor SEQ] [--too-slow K] [--dict FILE]
//        [--retire-first K] [--dict-answer 404|garbage] [--corrupt I]
//        [--samples DIR] [--max-collections K] [--max-dids K]
//
// It holds N synthetic events: commits of one to three ops (the ops of a
// commit share one time_us, and now and then two commits share one too),
// identity and account events (and, on v2 only, sync events).  Each has
// Jetstream's own seq, sent as "cursor" on v1 lines (not with --legacy 1,
// a jetstream-legacy server that has only time_us).
//
// v1, GET /subscribe: wantedCollections (NSIDs as indigo's ParseNSID takes
// them, or any prefix ending in ".*"), wantedDids (ParseDID), counted
// after removing repeats (100, 10000, or --max-collections, --max-dids),
// maxMessageSizeBytes, cursor
// (inclusive: below 1e15 a seq, else a time_us; --legacy: always time_us),
// requireHello=true; options_update text messages read at any time (bad
// JSON: close 1007; a bad filter: close 1008 with the reason).  A bad query
// is HTTP 400 with the reason as text, like the real server.
//
// v2 (--v2 1), GET /xrpc/network.bsky.jetstream.subscribeEvents: kinds,
// dids, collections, cursor (seq; below --floor: HTTP 400 CursorTooOld),
// maxMessageSizeBytes, zstdDictionary; xrpc.v1.json frames
// {"$type":"message","payload":{...}}; --too-slow K: the first connection
// gets a ConsumerTooSlow error frame after K events; a client data frame
// closes with 1008.  Pre-upgrade errors are XRPC JSON envelopes.
// GET /xrpc/network.bsky.jetstream.getZstdDictionary serves --dict (raw
// bytes; ?id= another ID: 404 DictionaryNotFound), or with --dict-answer a
// 404 DictionaryNotFound or 200 with bytes that are no dictionary.  With
// ?zstdDictionary=ID every frame (message and error alike) is one zstd
// frame with the dictionary, sent as a binary message; --corrupt I sends
// event I's cut short.  --dict-old FILE is a dictionary the server has
// retired (retrained): a subscription with its ID is refused with
// UnknownZstdDictionary naming the current one; --retire-first K: the
// first K fetches still get it (it was current when fetched: 1, the
// client's re-fetch gets the current one; 2, it gets the old one again).
// --samples DIR writes every v2 frame as a file (for zstd --train) and exits.
//
// --drop-every K: each of the first --drops M connections (default 1) is
// cut after K events (--drop-after K: the same, M = 1).  --interval MS:
// one event every MS milliseconds (a live stream).  Every connection, every
// options_update and every refusal is logged as a JSON line; --dump writes
// all events as the v1 lines of --legacy 0 (with cursor) for comparison.
// Prints "ready PORT"; exits on stdin EOF or SIGTERM.
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { execFileSync } = require('node:child_process');
const { WebSocketServer, parseArgs, listen } = require('./testserver');

const args = parseArgs(process.argv);
const N = Number(args.events || 100);
const legacy = args.legacy === '1';
const V2 = args.v2 === '1';
const dropEvery = Number(args['drop-every'] || args['drop-after'] || -1);
const drops = args['drop-after'] !== undefined ? 1 : Number(args.drops || 1);
const interval = Number(args.interval || 0);
const floor = Number(args.floor || 0);
const tooSlow = Number(args['too-slow'] || -1);
const log = (o) => { if (args.log) fs.appendFileSync(args.log, `${JSON.stringify(o)}\n`); };

const DIDS = ['did:plc:alice0000000000000000000', 'did:plc:bob00000000000000000000000',
  'did:plc:carol000000000000000000000', 'did:web:dave.example.com'];
const COLLECTIONS = ['app.bsky.feed.post', 'app.bsky.feed.like', 'app.bsky.graph.follow',
  'app.bsky.graph.block', 'app.bsky.feed.repost'];
const T0 = 1732000000000000;
const SEQ0 = 5000;
const iso = (us) => `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1000000).padStart(6, '0')}Z`;

// events in the v1 shape with cursor; kind "sync" only on v2
const events = [];
let time = T0;
for (let c = 0; events.length < N; c++) {
  if (c % 7 !== 6) time += 1000 + (c % 3); // every 7th commit shares the previous stamp
  const did = DIDS[(c * 7) % DIDS.length];
  const seq = () => SEQ0 + events.length;
  if (c % 17 === 5) {
    events.push({ did, time_us: time, cursor: seq(), kind: 'identity', identity: { did, handle: `h${c}.test`, seq: 100 + c, time: iso(time) } });
    continue;
  }
  if (c % 23 === 7) {
    events.push({ did, time_us: time, cursor: seq(), kind: 'account', account: { active: true, did, seq: 100 + c, time: iso(time) } });
    continue;
  }
  if (V2 && c % 29 === 11) {
    events.push({ did, time_us: time, cursor: seq(), kind: 'sync', sync: { did, rev: `3l${String(c).padStart(11, '0')}`, seq: 100 + c, time: iso(time) } });
    continue;
  }
  const ops = 1 + (c % 3);
  for (let k = 0; k < ops && events.length < N; k++) {
    const i = events.length;
    const collection = COLLECTIONS[(c + k) % COLLECTIONS.length];
    const del = k === 2;
    const commit = { rev: `3l${String(c).padStart(11, '0')}`, operation: del ? 'delete' : 'create', collection, rkey: `r${c}x${k}` };
    if (!del) {
      commit.record = { $type: collection, text: `event ${i} ✓ "quoted" \\ back\u2028`, createdAt: iso(time) };
      commit.cid = 'bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5pxhmlrtsk7pqe4';
    }
    events.push({ did, time_us: time, cursor: seq(), kind: 'commit', commit });
  }
}
if (args.dump) fs.writeFileSync(args.dump, events.filter((e) => V2 || e.kind !== 'sync').map((e) => `${JSON.stringify(e)}\n`).join(''));

// the wire form of event I
function v1Line(e, i) {
  const o = legacy ? { did: e.did, time_us: e.time_us, kind: e.kind, [e.kind]: e[e.kind] } : e;
  return i === 3 ? JSON.stringify(o, null, 2) : JSON.stringify(o); // line breaks between tokens are legal
}
function v2Frame(e) {
  const p = { $type: `network.bsky.jetstream.subscribeEvents#${e.kind}`, seq: e.cursor, did: e.did, time: iso(e.time_us) };
  if (e.kind === 'commit') Object.assign(p, e.commit);
  else p[e.kind] = e[e.kind];
  return JSON.stringify({ $type: 'message', payload: p });
}

if (args.samples) {
  fs.mkdirSync(args.samples, { recursive: true });
  events.forEach((e, i) => fs.writeFileSync(path.join(args.samples, `f${i}`), v2Frame(e)));
  process.exit(0);
}

// the zstd dictionary: its ID is in its header (magic EC30A437, then LE u32)
let dict = null;
let dictId = 0;
if (args.dict) {
  dict = fs.readFileSync(args.dict);
  dictId = dict.readUInt32LE(4);
}
let retired = Number(args['retire-first'] || 0);
const old = args['dict-old'] ? fs.readFileSync(args['dict-old']) : null;
const corrupt = Number(args.corrupt ?? -1);
// every frame compressed at start, by one zstd run over a directory
const zcache = new Map();
const TOO_SLOW = JSON.stringify({ $type: 'error', error: 'ConsumerTooSlow', message: 'reading below the floor rate' });
if (dict) {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'jsz-'));
  const texts = events.map((e) => v2Frame(e));
  texts.push(TOO_SLOW);
  texts.forEach((t, i) => fs.writeFileSync(path.join(dir, `f${i}`), t));
  fs.mkdirSync(path.join(dir, 'z'));
  // every other frame without its size in the header, as a streaming
  // encoder writes it
  for (const odd of [0, 1]) {
    execFileSync('zstd', ['-q', '-f', '-D', args.dict, '--no-check', ...(odd ? ['--no-content-size'] : []),
      '--output-dir-flat', path.join(dir, 'z'),
      ...texts.map((t, i) => path.join(dir, `f${i}`)).filter((f, i) => i % 2 === odd)]);
  }
  texts.forEach((t, i) => zcache.set(i, fs.readFileSync(path.join(dir, 'z', `f${i}.zst`))));
  zcache.set(-1, zcache.get(texts.length - 1));
  fs.rmSync(dir, { recursive: true, force: true });
  if (corrupt >= 0) zcache.set(corrupt, zcache.get(corrupt).subarray(0, zcache.get(corrupt).length - 5));
}
const compress = (text, i) => zcache.get(i);

// the validation of bluesky-social/jetstream (atmos.ParseNSID, ParseDID)
const NSID = /^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+(\.[a-zA-Z]([a-zA-Z0-9]{0,62})?)$/;
const maxCols = Number(args['max-collections'] || 100); // a server configured
const maxDids = Number(args['max-dids'] || 10000); // with lower caps than bsky's
const DID = /^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$/;
function parseFilter(cols, dids) {
  const uc = new Set();
  for (const c of cols) {
    if (!c.endsWith('.*') && (c.length > 317 || !NSID.test(c))) throw new Error(`subscribe: invalid options: invalid collection: ${c}`);
    uc.add(c);
    if (uc.size > maxCols) throw new Error(`subscribe: invalid options: too many wanted collections: > ${maxCols}`);
  }
  const ud = new Set();
  for (const d of dids) {
    if (d.length > 2048 || !DID.test(d)) throw new Error(`subscribe: invalid options: invalid DID: ${d}`);
    ud.add(d);
  }
  if (ud.size > maxDids) throw new Error(`subscribe: invalid options: too many wanted DIDs: ${ud.size} > ${maxDids}`);
  return { cols: [...uc], dids: ud };
}
function wanted(e, f) {
  if (f.kinds && f.kinds.length && !f.kinds.includes(e.kind)) return false;
  if (f.dids.size && !f.dids.has(e.did)) return false;
  if (!f.cols.length || e.kind !== 'commit') return true;
  return f.cols.some((c) => (c.endsWith('.*') ? e.commit.collection.startsWith(c.slice(0, -1)) : e.commit.collection === c));
}

let attempt = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (V2 && url.pathname === '/xrpc/network.bsky.jetstream.getZstdDictionary' && dict) {
    const id = url.searchParams.get('id');
    if (args['dict-answer'] === '404' || (id !== null && Number(id) !== dictId)) { // retired IDs 404 too
      log({ getZstdDictionary: url.search, served: 404 });
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'DictionaryNotFound', message: `no dictionary with id ${id ?? 0}; current dictionary id is ${dictId}` }));
      return;
    }
    const serveOld = old && retired > 0 && id === null;
    if (serveOld) retired--;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Zstd-Dictionary-Id': String((serveOld ? old : dict).readUInt32LE(4)) });
    log({ getZstdDictionary: url.search, served: serveOld ? 'old' : 'current' });
    res.end(args['dict-answer'] === 'garbage' ? Buffer.from('<html>no dictionary here</html>\n') : serveOld ? old : dict);
    return;
  }
  // a refused upgrade's body, as a client that asks again without
  // upgrading sees it (libcurl does)
  const { why } = validate(req, -1);
  if (why) {
    res.writeHead(400, { 'Content-Type': V2 ? 'application/json' : 'text/plain' });
    res.end(V2 ? JSON.stringify(why) : why.message);
    return;
  }
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const refuse = (socket, why) => {
  const body = V2 ? JSON.stringify(why) : why;
  socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: ${V2 ? 'application/json' : 'text/plain'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
};

function validate(req, conn) {
  const url = new URL(req.url, 'http://x');
  const p = url.searchParams;
  const entry = {
    conn, path: url.pathname, query: url.search,
    wantedCollections: p.getAll(V2 ? 'collections' : 'wantedCollections'),
    wantedDids: p.getAll(V2 ? 'dids' : 'wantedDids'), kinds: p.getAll('kinds'),
    cursor: p.get('cursor'), requireHello: p.get('requireHello'),
    maxMessageSizeBytes: p.get('maxMessageSizeBytes'), zstdDictionary: p.get('zstdDictionary'),
    userAgent: req.headers['user-agent'],
  };
  let why = null;
  let filter = null;
  const known = new Set(V2 ? ['collections', 'dids', 'kinds', 'cursor', 'maxMessageSizeBytes', 'zstdDictionary', 'compress']
    : ['wantedCollections', 'wantedDids', 'cursor', 'requireHello', 'compress', 'maxMessageSizeBytes']);
  const unknown = [...p.keys()].filter((k) => !known.has(k));
  const want = V2 ? '/xrpc/network.bsky.jetstream.subscribeEvents' : '/subscribe';
  if (url.pathname !== want) why = { error: 'InvalidRequest', message: `no such endpoint ${url.pathname}` };
  else if (V2 && (p.has('wantedCollections') || p.has('wantedDids'))) why = { error: 'InvalidRequest', message: `${p.has('wantedCollections') ? 'wantedCollections' : 'wantedDids'} is a v1 parameter; use ${p.has('wantedCollections') ? 'collections' : 'dids'}` };
  else if (unknown.length) why = { error: 'InvalidRequest', message: `unknown parameter ${unknown[0]}` };
  else if (entry.cursor !== null && !/^\d+$/.test(entry.cursor)) why = { error: 'InvalidRequest', message: 'bad cursor' };
  else if (V2 && entry.kinds.some((k) => !['commit', 'identity', 'account', 'sync'].includes(k))) why = { error: 'InvalidRequest', message: 'unknown kind' };
  else if (V2 && entry.kinds.length && entry.wantedCollections.length && !entry.kinds.includes('commit')) why = { error: 'InvalidRequest', message: 'collections set while kinds excludes commit' };
  else if (V2 && entry.cursor !== null && Number(entry.cursor) < 1e15 && Number(entry.cursor) < floor) why = { error: 'CursorTooOld', message: `cursor ${entry.cursor} is below the retention floor; the oldest seq is ${floor}` };
  else if (V2 && (p.has('compress') || String(req.headers['socket-encoding'] || '').includes('zstd'))) why = { error: 'InvalidRequest', message: 'compress=true / Socket-Encoding: zstd is the /subscribe (v1) opt-in; this endpoint uses zstdDictionary=<id> with the dictionary from getZstdDictionary' };
  else if (V2 && entry.zstdDictionary !== null && !/^[1-9]\d*$/.test(entry.zstdDictionary)) why = { error: 'InvalidRequest', message: 'zstdDictionary must be a positive integer zstd dictionary ID' };
  else if (V2 && entry.zstdDictionary !== null && Number(entry.zstdDictionary) !== dictId) {
    why = { error: 'UnknownZstdDictionary', message: `unknown zstd dictionary id ${entry.zstdDictionary}; current dictionary id is ${dictId} (fetch it via getZstdDictionary and reconnect)` };
  } else {
    try {
      filter = parseFilter(entry.wantedCollections, entry.wantedDids);
      filter.kinds = entry.kinds;
    } catch (err) {
      why = { error: 'InvalidRequest', message: err.message };
    }
  }
  return { entry, why, filter };
}

server.on('upgrade', (req, socket, head) => {
  const conn = attempt++;
  const { entry, why, filter: f0 } = validate(req, conn);
  let filter = f0;
  if (why) {
    log({ ...entry, refused: why });
    refuse(socket, V2 ? why : why.message);
    return;
  }
  const maxSize = Number(entry.maxMessageSizeBytes || 0);
  filter.max = maxSize;
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    let closed = false;
    ws.on('close', () => { closed = true; });
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      log({ ...entry, filter: { cols: filter.cols, dids: filter.dids.size, firstDid: [...filter.dids][0], max: filter.max } });
      const cursor = entry.cursor === null ? null : Number(entry.cursor);
      let i = 0;
      if (cursor !== null) {
        const byTime = legacy || cursor >= 1e15;
        while (i < events.length && (byTime ? events[i].time_us : events[i].cursor) < cursor) i++;
      }
      let sent = 0;
      const step = () => {
        for (let burst = 0; !closed && i < events.length; i++) {
          const e = events[i];
          if (!V2 && e.kind === 'sync') continue;
          if (!wanted(e, filter)) continue;
          const text = V2 ? v2Frame(e) : v1Line(e, i);
          if (filter.max && Buffer.byteLength(text) > filter.max) continue;
          if (conn < drops && sent === dropEvery) {
            log({ conn, dropped: e.cursor });
            ws._socket.destroy();
            return;
          }
          if (conn === 0 && sent === tooSlow) {
            ws.send(entry.zstdDictionary ? compress(TOO_SLOW, -1) : TOO_SLOW);
            ws.close(1008, 'ConsumerTooSlow');
            return;
          }
          ws.send(V2 && entry.zstdDictionary ? compress(text, i) : text);
          sent++;
          if (interval) { i++; setTimeout(step, interval); return; }
          if (++burst === 50) { i++; setImmediate(step); return; }
        }
      };
      step();
    };
    ws.on('message', (data, isBinary) => {
      if (V2) { ws.close(1008, 'client data frames are not allowed'); return; }
      if (isBinary) return;
      let msg;
      try { msg = JSON.parse(data.toString()); } catch { msg = null; }
      if (!msg || typeof msg !== 'object') {
        log({ conn, badUpdate: String(data).slice(0, 200) });
        ws.close(1007, 'bad SubscriberSourcedMessage envelope');
        return;
      }
      if (msg.type !== 'options_update') return; // unknown types are ignored
      const pl = msg.payload;
      try {
        if (!pl || typeof pl !== 'object') throw new Error('bad options_update payload');
        const f = parseFilter(pl.wantedCollections || [], pl.wantedDids || []);
        f.max = Number(pl.maxMessageSizeBytes || 0);
        filter = f;
        log({ conn, update: { cols: f.cols, dids: f.dids.size, firstDid: [...f.dids][0], max: f.max } });
        start();
      } catch (err) {
        log({ conn, badUpdate: err.message });
        ws.close(1008, err.message.slice(0, 123));
      }
    });
    if (entry.requireHello !== 'true') start();
  });
});

listen(server, 100000);
