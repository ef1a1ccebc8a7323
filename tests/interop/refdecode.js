#!/usr/bin/env node
'use strict';
// Reference "jetstream" NDJSON for a frames capture (see lib/refdecode.js).
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { captureToLines } = require('./lib/refdecode');

const usage = `usage: node refdecode.js CAPTURE|-
Reads a frames capture ("-": stdin; zstd-compressed input is decompressed
with the zstd program) and prints the expected atfh-decode (jetstream) NDJSON.
Undecodable frames are reported on stderr and skipped: exit status 3.
`;
const args = process.argv.slice(2);
if (args.length !== 1 || args[0] === '-h' || args[0] === '--help') {
  (args.length === 1 ? process.stdout : process.stderr).write(usage);
  process.exit(args.length === 1 ? 0 : 2);
}
const name = args[0];
let buf;
try {
  buf = fs.readFileSync(name === '-' ? 0 : name);
} catch (err) {
  process.stderr.write(`refdecode: ${name}: ${err.message}\n`);
  process.exit(2);
}
if (buf.length >= 4 && buf.readUInt32BE(0) === 0x28b52ffd) {
  const z = spawnSync('zstd', ['-dcq'], { input: buf, maxBuffer: 1 << 30 });
  if (z.error || z.status !== 0) {
    process.stderr.write(`refdecode: ${name}: zstd -dc failed: ${z.error ? z.error.message : z.stderr}\n`);
    process.exit(2);
  }
  buf = z.stdout;
}
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 2));
let bad = 0;
captureToLines(buf, (m, malformed) => {
  if (malformed) bad++;
  process.stderr.write(`refdecode: ${name}: ${m}\n`);
}).then((lines) => {
  const text = lines.length ? lines.join('\n') + '\n' : '';
  process.stdout.write(text, () => process.exit(bad ? 3 : 0));
}).catch((err) => {
  process.stderr.write(`refdecode: ${name}: ${err.message}\n`);
  process.exit(3);
});
