#!/usr/bin/env node
'use strict';
// A subscribeRepos server over wss:// on 127.0.0.1, for
// tests/subscribe-tls.test: node https + ws with the given certificate,
// serving the frames of a capture that have a seq (those after ?cursor=).
// The websocket frames are written as one byte stream cut in pieces of
// an odd size, each its own TLS record, so frames straddle records.
//
//   node tlsserver.js --capture FILE --cert PEM --key PEM [--log FILE]
//
// Prints "ready PORT"; exits on stdin EOF or SIGTERM.
const fs = require('node:fs');
const https = require('node:https');
const { peek, readFrames } = require('./cbor');
const { WebSocketServer, parseArgs, listen } = require('./testserver');

const args = parseArgs(process.argv);
const frames = readFrames(fs.readFileSync(args.capture)).filter((f) => peek(f).seq !== undefined);
const log = (line) => {
  if (args.log) fs.appendFileSync(args.log, `${line}\n`);
};

function wsFrame(payload) {
  const len = payload.length;
  let h;
  if (len < 126) h = Buffer.from([0x82, len]);
  else if (len < 65536) { h = Buffer.alloc(4); h[0] = 0x82; h[1] = 126; h.writeUInt16BE(len, 2); }
  else { h = Buffer.alloc(10); h[0] = 0x82; h[1] = 127; h.writeBigUInt64BE(BigInt(len), 2); }
  return Buffer.concat([h, payload]);
}

const server = https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) },
  (req, res) => { res.writeHead(426); res.end(); });
server.on('tlsClientError', (err) => log(`tls error: ${err.message}`));
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
let conn = 0;
server.on('upgrade', (req, socket, head) => {
  const c = conn++;
  const url = new URL(req.url, 'https://x');
  const cur = url.searchParams.get('cursor');
  log(`conn ${c}: ${url.pathname} cursor=${cur === null ? '-' : cur}`);
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    const from = cur === null ? 0 : frames.findIndex((f) => peek(f).seq > Number(cur));
    const stream = Buffer.concat(frames.slice(from < 0 ? frames.length : from).map(wsFrame));
    const piece = 7919; // odd, and not a divisor of anything in particular
    for (let p = 0; p < stream.length; p += piece)
      ws._socket.write(stream.subarray(p, p + piece));
    log(`conn ${c}: sent ${stream.length} bytes in pieces of ${piece}`);
  });
});
listen(server, 120000);
