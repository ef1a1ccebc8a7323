#!/usr/bin/env node
'use strict';
// Reference "jetstream" NDJSON for a frames capture (see lib/refdecode.js).
const fs = require('node:fs');
const { captureToLines } = require('./lib/refdecode');

const usage = `usage: node refdecode.js CAPTURE|-
Reads a frames capture (uncompressed; pipe a .zst through "zstd -dc" and
pass "-") and prints the expected atfh-decode (jetstream) NDJSON.
Exit status 3 if any frame could not be decoded (it is reported and skipped).
`;
const args = process.argv.slice(2);
if (args.length !== 1 || args[0] === '-h' || args[0] === '--help') {
  (args.length === 1 ? process.stdout : process.stderr).write(usage);
  process.exit(args.length === 1 ? 0 : 2);
}
let buf;
try {
  buf = fs.readFileSync(args[0] === '-' ? 0 : args[0]);
} catch (err) {
  process.stderr.write(`refdecode: ${args[0]}: ${err.message}\n`);
  process.exit(2);
}
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 2));
let bad = 0;
captureToLines(buf, (m) => {
  bad++;
  process.stderr.write(`refdecode: ${args[0]}: ${m}\n`);
}).then((lines) => {
  const text = lines.length ? lines.join('\n') + '\n' : '';
  process.stdout.write(text, () => process.exit(bad ? 3 : 0));
}).catch((err) => {
  process.stderr.write(`refdecode: ${args[0]}: ${err.message}\n`);
  process.exit(3);
});
