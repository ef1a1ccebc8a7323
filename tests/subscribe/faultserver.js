#!/usr/bin/env node
'use strict';
// A subscribeRepos server that misbehaves on purpose, for
// tests/subscribe-faults.test.  It serves the frames of a capture that have
// a seq on 127.0.0.1 (those with seq > ?cursor=, like a relay; --expect
// FILE writes them all, as frames, for comparison), and each connection
// follows the next entry of a script:
//
//   node faultserver.js --capture FILE --script JSON [--log FILE] [--expect FILE]
//
// The script is a JSON array, one entry per connection attempt (after it
// runs out, connections get [{"sendAll":true}]):
//   "refuse"          answer the upgrade with HTTP 503
//   "hang"            never answer the upgrade (the socket stays open)
//   {"status":N, "headers":{...}, "body":S}
//                     answer the upgrade with HTTP N (no upgrade); "{PORT}"
//                     in a header value is this server's port
//   [action, ...]     a websocket connection doing these in turn:
//     {"send":N}              the next N frames
//     {"sendAll":true}        all the rest, then stay open (answering pings)
//     {"fragment":N}          the next N frames, each in 3 fragments
//     {"midFrame":true}       half of the next frame's bytes, then drop TCP
//     {"drop":true}           drop TCP between frames (no close frame)
//     {"close":CODE}          a close frame, then the end
//     {"error":NAME,"message":M}  an error frame (op -1), then close
//     {"info":NAME,"message":M}   an #info frame
//     {"junk":N}              a binary message of N bytes that is not CBOR
//     {"text":S}              a text message
//     {"ping":S}              a ping; "pong S" is logged when answered
//     {"stall":true}          send nothing more, answer no pings
//     {"quiet":true}          send nothing more, but answer pings (a stuck
//                             relay behind a healthy socket)
//     {"drip":MS}             start the next frame as a fragmented message
//                             and send one more byte of it every MS ms,
//                             never finishing it (pings answered)
//     {"hugeLen":true}        a frame header claiming 2^63 + 1 bytes
//     {"seek":I}              go on from the I-th frame (a gap, or back)
//     {"sendIdx":[I,...]}     these frames (by index), pos unchanged
//     {"swap":true}           the next two frames in reverse order
//     {"fromStart":true}      ignore the cursor: go on from the first frame
//     {"replay":K}            resend the K frames up to the cursor
//     {"down":MS}             stop listening for MS ms (connections are
//                             refused) and drop this connection
//     {"waitMs":MS}           pause
// A cursor past the capture's last seq gets a FutureCursor error frame; a
// path that is not /xrpc/com.atproto.* gets HTTP 404.
// Prints "ready PORT"; logs what happens to --log (one line each); exits on
// stdin EOF or SIGTERM.
const fs = require('node:fs');
const http = require('node:http');
const { peek, errorFrame, infoFrame, readFrames } = require('./cbor');
const { WebSocketServer, parseArgs, listen } = require('./testserver');

const args = parseArgs(process.argv);
const frames = readFrames(fs.readFileSync(args.capture)).filter((f) => peek(f).seq !== undefined);
const seqs = frames.map((f) => peek(f).seq);
if (args.expect) {
  fs.writeFileSync(args.expect, Buffer.concat(frames.map((f) => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(f.length);
    return Buffer.concat([h, f]);
  })));
}
const lastSeq = seqs.reduce((a, s) => (s !== undefined && s > a ? s : a), -1);
const script = JSON.parse(args.script || '[]');
const log = (line) => {
  if (args.log) fs.appendFileSync(args.log, `${line}\n`);
};

let attempt = 0;
const server = http.createServer((req, res) => { res.writeHead(426); res.end(); });
const wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// a raw websocket frame header (server to client: not masked)
function wsHeader(opcode, len, fin = true) {
  const b0 = (fin ? 0x80 : 0) | opcode;
  if (len < 126) return Buffer.from([b0, len]);
  if (len < 65536) { const b = Buffer.alloc(4); b[0] = b0; b[1] = 126; b.writeUInt16BE(len, 2); return b; }
  const b = Buffer.alloc(10); b[0] = b0; b[1] = 127; b.writeBigUInt64BE(BigInt(len), 2); return b;
}

function drained(ws) {
  if (ws.bufferedAmount === 0) return Promise.resolve();
  return new Promise((r) => {
    const t = setInterval(() => { if (ws.bufferedAmount === 0 || ws.readyState !== 1) { clearInterval(t); r(); } }, 2);
  });
}

async function run(ws, actions, conn, cursor) {
  let pos = cursor === undefined ? 0 : seqs.findIndex((s) => s !== undefined && s > cursor);
  if (pos < 0) pos = frames.length;
  let stalled = false;
  ws.on('ping', (d) => {
    log(`conn ${conn}: ping from the client`);
    if (!stalled) ws.pong(d);
  });
  ws.on('pong', (d) => log(`conn ${conn}: pong ${d.toString()}`));
  ws.on('error', () => {});
  for (const a of actions) {
    if (ws.readyState !== 1) return;
    if (a.send !== undefined || a.sendAll) {
      const end = a.sendAll ? frames.length : Math.min(frames.length, pos + a.send);
      for (; pos < end; pos++) ws.send(frames[pos]);
      await drained(ws);
      if (a.sendAll) log(`conn ${conn}: sent all`);
    } else if (a.fragment !== undefined) {
      const end = Math.min(frames.length, pos + a.fragment);
      for (; pos < end; pos++) {
        const f = frames[pos];
        const c1 = Math.floor(f.length / 3), c2 = Math.floor((2 * f.length) / 3);
        ws.send(f.subarray(0, c1), { binary: true, fin: false });
        ws.send(f.subarray(c1, c2), { binary: true, fin: false });
        ws.send(f.subarray(c2), { binary: true, fin: true });
      }
      await drained(ws);
      log(`conn ${conn}: sent ${a.fragment} fragmented`);
    } else if (a.midFrame) {
      await drained(ws);
      const f = frames[pos];
      ws._socket.write(Buffer.concat([wsHeader(2, f.length), f.subarray(0, Math.floor(f.length / 2))]));
      await sleep(50);
      ws._socket.destroy();
      log(`conn ${conn}: dropped mid-frame at seq ${seqs[pos]}`);
      return;
    } else if (a.drop) {
      await drained(ws);
      ws._socket.destroy();
      log(`conn ${conn}: dropped`);
      return;
    } else if (a.close !== undefined) {
      ws.close(a.close, a.reason || '');
      log(`conn ${conn}: closed ${a.close}`);
      return;
    } else if (a.error) {
      ws.send(errorFrame(a.error, a.message));
      ws.close(1000, '');
      log(`conn ${conn}: error ${a.error}`);
      return;
    } else if (a.info) {
      ws.send(infoFrame(a.info, a.message));
      log(`conn ${conn}: info ${a.info}`);
    } else if (a.junk !== undefined) {
      ws.send(Buffer.alloc(a.junk, 0xff));
      log(`conn ${conn}: junk ${a.junk}`);
    } else if (a.text !== undefined) {
      ws.send(a.text);
      log(`conn ${conn}: text`);
    } else if (a.ping !== undefined) {
      ws.ping(a.ping);
      log(`conn ${conn}: ping ${a.ping}`);
    } else if (a.stall) {
      stalled = true;
      log(`conn ${conn}: stalled`);
      return; // keep the socket open, say nothing
    } else if (a.quiet) {
      log(`conn ${conn}: quiet`);
      return; // keep the socket open, answer pings, send no message
    } else if (a.drip !== undefined) {
      const f = frames[pos];
      ws.send(f.subarray(0, 1), { binary: true, fin: false });
      log(`conn ${conn}: dripping seq ${seqs[pos]}`);
      let i = 1;
      const t = setInterval(() => {
        if (ws.readyState !== 1 || i >= f.length - 1) { clearInterval(t); return; }
        ws.send(f.subarray(i, i + 1), { binary: true, fin: false });
        i++;
      }, a.drip);
      ws.on('close', () => clearInterval(t));
      return;
    } else if (a.hugeLen) {
      await drained(ws);
      const h = Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1]);
      ws._socket.write(h);
      log(`conn ${conn}: huge length`);
    } else if (a.seek !== undefined) {
      pos = a.seek;
      log(`conn ${conn}: seek ${a.seek}`);
    } else if (a.sendIdx !== undefined) {
      for (const i of a.sendIdx) ws.send(frames[i]);
      await drained(ws);
      log(`conn ${conn}: sent ${a.sendIdx.join(',')}`);
    } else if (a.swap) {
      ws.send(frames[pos + 1]);
      ws.send(frames[pos]);
      pos += 2;
      await drained(ws);
      log(`conn ${conn}: swapped`);
    } else if (a.fromStart) {
      pos = 0;
      log(`conn ${conn}: from the start`);
    } else if (a.replay !== undefined) {
      for (let i = Math.max(0, pos - a.replay); i < pos; i++) ws.send(frames[i]);
      await drained(ws);
      log(`conn ${conn}: replayed ${a.replay}`);
    } else if (a.down !== undefined) {
      await drained(ws);
      goDown(a.down);
      ws._socket.destroy();
      log(`conn ${conn}: down ${a.down} ms`);
      return;
    } else if (a.waitMs !== undefined) {
      await sleep(a.waitMs);
    }
  }
}

let port = 0;
function goDown(ms) {
  server.close();
  setTimeout(() => server.listen(port, '127.0.0.1', () => log('up again')), ms);
}

server.on('upgrade', (req, socket, head) => {
  const conn = attempt++;
  const entry = conn < script.length ? script[conn] : [{ sendAll: true }];
  const url = new URL(req.url, 'http://x');
  const c = url.searchParams.get('cursor');
  const cursor = c === null ? undefined : Number(c);
  log(`conn ${conn}: ${url.pathname} cursor=${c === null ? '-' : c}`);
  if (!url.pathname.startsWith('/xrpc/com.atproto.')) {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    log(`conn ${conn}: 404`);
    return;
  }
  if (entry === 'hang') {
    log(`conn ${conn}: hanging`);
    socket.on('error', () => {});
    return;
  }
  if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
    const hs = Object.entries(entry.headers || {})
      .map(([k, v]) => `${k}: ${String(v).replace('{PORT}', port)}\r\n`).join('');
    const body = entry.body || '';
    socket.end(`HTTP/1.1 ${entry.status} X\r\n${hs}Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`);
    log(`conn ${conn}: answered ${entry.status}`);
    return;
  }
  if (entry === 'refuse') {
    socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    log(`conn ${conn}: refused 503`);
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    if (cursor !== undefined && cursor > lastSeq) {
      ws.send(errorFrame('FutureCursor', 'Cursor in the future.'));
      ws.close(1000, '');
      log(`conn ${conn}: error FutureCursor`);
      return;
    }
    run(ws, entry, conn, cursor).catch((err) => log(`conn ${conn}: ${err.message}`));
  });
});

listen(server, 150000, (p) => { port = p; });
