#!/usr/bin/env node
'use strict';
// An https host for handles (tests/identity.test): node https on
// 127.0.0.1:--port (443: the well-known step has no port) with the given
// certificate, answering GET /.well-known/atproto-did with the DID that
// --map (lines "HANDLE DID") gives the request's Host; 404 otherwise.
// Every request is logged in --log as "HOST PATH".
//
//   node wellknown.js --cert PEM --key PEM --map FILE [--port N] [--log FILE]
//
// Prints "ready PORT" (exits 1 when it cannot listen); exits on stdin EOF
// or SIGTERM.
const fs = require('node:fs');
const https = require('node:https');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const map = new Map();
for (const line of fs.readFileSync(args.map, 'utf8').split('\n')) {
  const [h, did] = line.trim().split(/\s+/);
  if (h && did) map.set(h.toLowerCase(), did);
}
const server = https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) },
  (req, res) => {
    const host = (req.headers.host || '').replace(/:\d+$/, '').toLowerCase();
    if (args.log) fs.appendFileSync(args.log, `${host} ${req.url}\n`);
    if (req.url !== '/.well-known/atproto-did' || !map.has(host)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${map.get(host)}\n`);
  });
server.on('error', (err) => {
  process.stderr.write(`wellknown: ${err.message}\n`);
  process.exit(1);
});
server.listen(Number(args.port || 0), '127.0.0.1', () => process.stdout.write(`ready ${server.address().port}\n`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
