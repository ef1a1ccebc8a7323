#!/usr/bin/env node
'use strict';
// A small Tap (bluesky-social/indigo cmd/tap) for tests/subscribe-tap.test,
// on 127.0.0.1, speaking its protocol:
//
//   node tapserver.js --events FILE [--log FILE] [--password P]
//        [--retry-ms MS] [--check-file PATH] [--require-add 1] [--drop-after K]
//        [--open-channel 1] [--bad-every K]
//
// FILE is jetstream NDJSON (atfh-decode of a capture).  Each commit op
// becomes a Tap "record" event, each identity or account event a Tap
// "identity" event; other kinds are left out (Tap sends none).  Ids are
// 1, 2, ... in file order; --dump-tap FILE writes them as Tap sends them.
// Every third record event (and every identity event) is historical
// (live false), the others live.  Delivery is Tap's: per repo, historical
// events go out together, a live event only when nothing of its repo is in
// flight, and nothing more of the repo until it is acked; an event not
// acked ({"type":"ack","id":N}) within --retry-ms (default 1000) is sent
// again, also across connections.  With --password every request needs
// Basic auth as admin (else HTTP 401); with --open-channel 1 all but
// /channel do.  --bad-every K: every K-th record event lacks its rkey (a
// malformed event the client must skip, and ack).  POST /repos/add and /repos/remove
// take {"dids":[...]}; with --require-add a repo's events flow only once it
// is added.  --check-file PATH: when an ack arrives, PATH must already hold
// a complete line with that event's "tap":{"id":N (the test mode of "acks
// only after the line is durable").  --drop-after K closes each
// connection after K events sent on it.  The log gets one JSON line per
// connection, /repos call, redelivery, early or unknown ack, and
// {"ev":"all-acked"} once every event is acked.
// Prints "ready PORT"; exits on stdin EOF or SIGTERM.
const fs = require('node:fs');
const http = require('node:http');
const { WebSocketServer, parseArgs, listen } = require('./testserver');

const args = parseArgs(process.argv);
const retryMs = Number(args['retry-ms'] || 1000);
const dropAfter = args['drop-after'] === undefined ? -1 : Number(args['drop-after']);
const log = (o) => { if (args.log) fs.appendFileSync(args.log, `${JSON.stringify(o)}\n`); };

// ---- the events --------------------------------------------------------------
const events = [null]; // by id
let records = 0;
for (const line of fs.readFileSync(args.events, 'utf8').split('\n')) {
  if (!line) continue;
  const e = JSON.parse(line);
  const id = events.length;
  let tap;
  if (e.kind === 'commit') {
    const c = e.commit;
    const live = records++ % 3 !== 0;
    const r = { live, did: e.did, rev: c.rev, collection: c.collection, rkey: c.rkey, action: c.operation };
    if (c.record !== undefined) r.record = c.record;
    if (c.cid !== undefined) r.cid = c.cid;
    if (args['bad-every'] && records % Number(args['bad-every']) === 0) delete r.rkey;
    tap = { id, type: 'record', record: r };
  } else if (e.kind === 'identity') {
    tap = { id, type: 'identity', identity: { did: e.did, handle: e.identity.handle || '', is_active: true, status: 'active' } };
  } else if (e.kind === 'account') {
    const a = e.account;
    tap = { id, type: 'identity', identity: { did: e.did, handle: '', is_active: !!a.active, status: a.status || (a.active ? 'active' : 'deactivated') } };
  } else {
    continue;
  }
  events.push({ id, did: e.did, live: tap.type === 'record' && tap.record.live, json: JSON.stringify(tap) });
}
const N = events.length - 1;
if (args['dump-tap']) fs.writeFileSync(args['dump-tap'], events.slice(1).map((e) => `${e.json}\n`).join(''));

// ---- per-repo delivery, as Tap's outbox does it ----------------------------------
const repos = new Map(); // did -> { queue, inflight: Map(id -> sentAt), blockedLive, added }
for (const e of events.slice(1)) {
  if (!repos.has(e.did)) repos.set(e.did, { queue: [], inflight: new Map(), blockedLive: false, added: !args['require-add'] });
  repos.get(e.did).queue.push(e.id);
}
const acked = new Set();
let sock = null;
let sentHere = 0; // on this connection
let conns = 0;

function send(e) {
  if (!sock || sock.readyState !== 1) return; // stays in flight: sent again after retryMs
  sock.send(e.json);
  sentHere++;
  if (dropAfter >= 0 && sentHere === dropAfter) {
    log({ ev: 'drop', conn: conns });
    sock.terminate();
    sock = null;
  }
}

function pumpRepo(r) {
  if (!r.added) return;
  while (r.queue.length && !r.blockedLive) {
    const e = events[r.queue[0]];
    if (e.live) {
      if (r.inflight.size) return; // a live event waits for everything before it
      r.blockedLive = true;
    }
    r.queue.shift();
    r.inflight.set(e.id, Date.now());
    send(e);
  }
}
let pumping = false;
function pumpAll() {
  if (pumping) return;
  pumping = true;
  setImmediate(() => { pumping = false; for (const r of repos.values()) pumpRepo(r); });
}

setInterval(() => {
  const now = Date.now();
  for (const r of repos.values()) {
    for (const [id, at] of r.inflight) {
      if (now - at < retryMs) continue;
      r.inflight.set(id, now);
      log({ ev: 'redeliver', id });
      send(events[id]);
    }
  }
}, Math.max(50, retryMs / 4)).unref();

// ---- the -o file, for --check-file ---------------------------------------------------
const durable = new Set();
let checkedTo = 0;
function readDurable() {
  let st;
  try { st = fs.statSync(args['check-file']); } catch { return; }
  if (st.size < checkedTo) checkedTo = 0; // a partial line was cut off
  if (st.size === checkedTo) return;
  const fd = fs.openSync(args['check-file'], 'r');
  const buf = Buffer.alloc(st.size - checkedTo);
  fs.readSync(fd, buf, 0, buf.length, checkedTo);
  fs.closeSync(fd);
  const end = buf.lastIndexOf(10);
  if (end < 0) return;
  for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
    const m = /"tap":\{"id":(\d+)/.exec(line);
    if (m) durable.add(Number(m[1]));
  }
  checkedTo += end + 1;
}

function onAck(id) {
  const e = events[id];
  if (!e) { log({ ev: 'bad-ack', id }); return; }
  if (args['check-file']) {
    if (!durable.has(id)) readDurable();
    if (!durable.has(id)) log({ ev: 'early-ack', id });
  }
  const r = repos.get(e.did);
  r.inflight.delete(id);
  if (!r.inflight.size) r.blockedLive = false;
  if (!acked.has(id)) {
    acked.add(id);
    if (acked.size === N) log({ ev: 'all-acked', n: N });
  }
  pumpAll();
}

// ---- HTTP: auth, /repos/add, /repos/remove, /channel -------------------------------
function authorized(req) {
  if (!args.password) return true;
  return req.headers.authorization === `Basic ${Buffer.from(`admin:${args.password}`).toString('base64')}`;
}

const server = http.createServer((req, res) => {
  if (!authorized(req)) {
    log({ ev: 'unauthorized', path: req.url });
    res.writeHead(401, { 'Content-Type': 'application/json' });
    res.end('{"message":"Unauthorized"}');
    return;
  }
  const m = /^\/repos\/(add|remove)$/.exec(req.url);
  if (req.method !== 'POST' || !m) { res.writeHead(404); res.end(); return; }
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    let dids;
    try { dids = JSON.parse(body).dids; } catch { dids = null; }
    if (!Array.isArray(dids) || req.headers['content-type'] !== 'application/json') {
      log({ ev: 'bad-request', path: req.url, body });
      res.writeHead(400); res.end(); return;
    }
    log({ ev: m[1], dids });
    for (const d of dids) {
      const r = repos.get(d);
      if (r) r.added = m[1] === 'add';
    }
    pumpAll();
    res.writeHead(200); res.end();
  });
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on('upgrade', (req, socket, head) => {
  const ok = args['open-channel'] ? true : authorized(req);
  log({ ev: 'conn', path: req.url, auth: !!req.headers.authorization, ok, userAgent: req.headers['user-agent'] });
  if (!ok) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 26\r\nConnection: close\r\n\r\n{"message":"Unauthorized"}');
    return;
  }
  if (new URL(req.url, 'http://x').pathname !== '/channel') {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    conns++;
    if (sock) sock.terminate(); // one consumer at a time
    sock = ws;
    sentHere = 0;
    ws.on('message', (data, isBinary) => {
      let m;
      try { m = JSON.parse(data.toString()); } catch { m = null; }
      if (isBinary || !m || m.type !== 'ack' || !Number.isInteger(m.id)) {
        log({ ev: 'bad-message', text: data.toString().slice(0, 100) });
        return;
      }
      onAck(m.id);
    });
    ws.on('close', () => { if (sock === ws) sock = null; });
    ws.on('error', () => {});
    pumpAll();
  });
});
listen(server, 300000);
