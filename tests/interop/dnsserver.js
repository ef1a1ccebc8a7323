#!/usr/bin/env node
'use strict';
// A DNS server for tests/identity.test: node dgram on 127.0.0.1 answering
// handle resolution's queries.  --map FILE has lines "HANDLE DID": TXT
// _atproto.HANDLE is "did=DID" (with a "v=spf1" record before it, as real
// zones have), A HANDLE is --addr (default 127.0.0.1); any other name is
// NXDOMAIN.  --no-txt 1 answers only the A queries (TXT: NXDOMAIN).
// --silent never answers.  Every query is logged in --log as
// "TYPE NAME".
//
//   node dnsserver.js [--map FILE] [--addr IP] [--no-txt 1] [--silent 1] [--log FILE]
//
// Prints "ready PORT"; exits on stdin EOF or SIGTERM.
const dgram = require('node:dgram');
const fs = require('node:fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const map = new Map();
if (args.map) {
  for (const line of fs.readFileSync(args.map, 'utf8').split('\n')) {
    const [h, did] = line.trim().split(/\s+/);
    if (h && did) map.set(h.toLowerCase(), did);
  }
}
const addr = (args.addr || '127.0.0.1').split('.').map(Number);

function readName(buf, off) {
  const labels = [];
  while (off < buf.length && buf[off] !== 0) {
    const n = buf[off];
    labels.push(buf.subarray(off + 1, off + 1 + n).toString('latin1'));
    off += 1 + n;
  }
  return [labels.join('.').toLowerCase(), off + 1];
}

function rr(type, rdata) {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0xc00c, 0); // the question's name
  h.writeUInt16BE(type, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt32BE(300, 6);
  h.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([h, rdata]);
}

function txt(s) {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

const sock = dgram.createSocket('udp4');
sock.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  const [name, end] = readName(msg, 12);
  const qtype = msg.readUInt16BE(end);
  if (args.log) fs.appendFileSync(args.log, `${qtype === 16 ? 'TXT' : qtype === 1 ? 'A' : qtype} ${name}\n`);
  if (args.silent) return;
  const answers = [];
  let found = false;
  if (qtype === 16 && name.startsWith('_atproto.') && map.has(name.slice(9)) && !args['no-txt']) {
    found = true;
    answers.push(rr(16, txt('v=spf1 -all')), rr(16, txt(`did=${map.get(name.slice(9))}`)));
  } else if (map.has(name)) {
    found = true;
    if (qtype === 1) answers.push(rr(1, Buffer.from(addr)));
  }
  const h = Buffer.alloc(12);
  msg.copy(h, 0, 0, 2);
  h.writeUInt16BE(0x8180 | (found ? 0 : 3), 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers.length, 6);
  sock.send(Buffer.concat([h, msg.subarray(12, end + 4), ...answers]), rinfo.port, rinfo.address);
});
sock.bind(0, '127.0.0.1', () => process.stdout.write(`ready ${sock.address().port}\n`));
const stop = () => sock.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
