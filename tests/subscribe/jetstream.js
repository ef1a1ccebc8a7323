#!/usr/bin/env node
'use strict';
// A small Jetstream for tests/subscribe-jetstream.test, on 127.0.0.1.
//
//   node jetstream.js --events N [--log FILE] [--dump FILE] [--drop-after K]
//
// It holds N synthetic events (commits of a few collections by a few DIDs,
// identity and account events) with increasing time_us, and serves
// GET /subscribe like Jetstream: wantedCollections (repeatable, NSIDs or
// prefixes ending in ".*"), wantedDids (repeatable), cursor (events with
// time_us >= cursor), requireHello=true (wait for an options_update text
// message carrying the filters).  A bad parameter gets HTTP 400, as from
// Jetstream.  Every connection is logged as one JSON line (path, the
// parameters as received, the hello's filters); --dump writes all N events
// as NDJSON; --drop-after K drops the first connection after K events.
// Prints "ready PORT"; exits on stdin EOF or SIGTERM.
const fs = require('node:fs');
const http = require('node:http');
const { WebSocketServer, parseArgs, listen } = require('./testserver');

const args = parseArgs(process.argv);
const N = Number(args.events || 100);
const dropAfter = args['drop-after'] === undefined ? -1 : Number(args['drop-after']);
const log = (o) => { if (args.log) fs.appendFileSync(args.log, `${JSON.stringify(o)}\n`); };

const DIDS = ['did:plc:alice0000000000000000000', 'did:plc:bob00000000000000000000000',
  'did:plc:carol000000000000000000000', 'did:web:dave.example.com'];
const COLLECTIONS = ['app.bsky.feed.post', 'app.bsky.feed.like', 'app.bsky.graph.follow',
  'app.bsky.graph.block', 'app.bsky.feed.repost'];
const T0 = 1732000000000000;
const events = [];
for (let i = 0; i < N; i++) {
  const did = DIDS[(i * 7) % DIDS.length];
  const time_us = T0 + i * 1000 + (i % 3);
  if (i % 17 === 5) {
    events.push({ did, time_us, kind: 'identity', identity: { did, handle: `h${i}.test`, seq: 100 + i, time: new Date(time_us / 1000).toISOString() } });
    continue;
  }
  if (i % 23 === 7) {
    events.push({ did, time_us, kind: 'account', account: { active: true, did, seq: 100 + i, time: new Date(time_us / 1000).toISOString() } });
    continue;
  }
  const collection = COLLECTIONS[i % COLLECTIONS.length];
  events.push({
    did, time_us, kind: 'commit',
    commit: {
      rev: `3l${String(i).padStart(11, '0')}`, operation: 'create', collection, rkey: `r${i}`,
      record: { $type: collection, text: `event ${i} ✓ "quoted" \\ back\u2028`, createdAt: new Date(time_us / 1000).toISOString() },
      cid: 'bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5pxhmlrtsk7pqe4',
    },
  });
}
if (args.dump) fs.writeFileSync(args.dump, events.map((e) => `${JSON.stringify(e)}\n`).join(''));
// one event goes out pretty-printed: line breaks between tokens are legal JSON
const wire = (e, i) => (i === 3 ? JSON.stringify(e, null, 2) : JSON.stringify(e));

const NSID = /^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+(\.\*)?$|^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*\.\*$/;
const DID = /^did:[a-z]+:[a-zA-Z0-9._:%-]+$/;

function wanted(e, cols, dids) {
  if (dids.length && !dids.includes(e.did)) return false;
  if (!cols.length || e.kind !== 'commit') return true;
  return cols.some((c) => (c.endsWith('.*') ? e.commit.collection.startsWith(c.slice(0, -1)) : e.commit.collection === c));
}

let attempt = 0;
const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const badRequest = (socket, why) => {
  socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${why.length}\r\nConnection: close\r\n\r\n${why}`);
};

server.on('upgrade', (req, socket, head) => {
  const conn = attempt++;
  const url = new URL(req.url, 'http://x');
  const p = url.searchParams;
  const entry = {
    conn, path: url.pathname, query: url.search,
    wantedCollections: p.getAll('wantedCollections'), wantedDids: p.getAll('wantedDids'),
    cursor: p.get('cursor'), requireHello: p.get('requireHello'),
    userAgent: req.headers['user-agent'],
  };
  const known = new Set(['wantedCollections', 'wantedDids', 'cursor', 'requireHello', 'compress', 'maxMessageSizeBytes']);
  const unknown = [...p.keys()].filter((k) => !known.has(k));
  let why = null;
  if (url.pathname !== '/subscribe') why = `no such endpoint ${url.pathname}`;
  else if (unknown.length) why = `unknown parameter ${unknown[0]}`;
  else if (entry.wantedCollections.some((c) => !NSID.test(c))) why = 'bad wantedCollections';
  else if (entry.wantedDids.some((d) => !DID.test(d))) why = 'bad wantedDids';
  else if (entry.cursor !== null && !/^\d+$/.test(entry.cursor)) why = 'bad cursor';
  if (why) {
    log({ ...entry, refused: why });
    badRequest(socket, why);
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    const start = (cols, dids, hello) => {
      log({ ...entry, hello });
      const cursor = entry.cursor === null ? null : Number(entry.cursor);
      let sent = 0;
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        if (cursor !== null && e.time_us < cursor) continue;
        if (!wanted(e, cols, dids)) continue;
        if (conn === 0 && sent === dropAfter) {
          ws._socket.destroy();
          return;
        }
        ws.send(wire(e, i));
        sent++;
      }
    };
    if (entry.requireHello === 'true') {
      ws.once('message', (data, isBinary) => {
        let msg;
        try { msg = JSON.parse(data.toString()); } catch { msg = null; }
        if (isBinary || !msg || msg.type !== 'options_update' || !msg.payload) {
          log({ ...entry, badHello: String(data).slice(0, 200) });
          ws.close(1008, 'bad hello');
          return;
        }
        const pl = msg.payload;
        start(pl.wantedCollections || [], pl.wantedDids || [],
          { collections: pl.wantedCollections, dids: (pl.wantedDids || []).length, firstDid: (pl.wantedDids || [])[0] });
      });
    } else {
      start(entry.wantedCollections, entry.wantedDids, null);
    }
  });
});

listen(server, 100000);
