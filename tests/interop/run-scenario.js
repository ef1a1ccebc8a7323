#!/usr/bin/env node
'use strict';
// Fresh reference network -> seeded scenario -> frames capture (+ reference
// NDJSON) -> shut down. Used by the shell tests of `make check`.
const { parseArgs } = require('./lib/args');

const usage = `usage: node run-scenario.js --capture OUT [--ref OUT.ndjson] [--seed S] [--size N]
                            [--extras] [--check] [--keys FILE] [--timeout-s SEC] [--verbose]
Starts PLC + PDS on 127.0.0.1, records ?cursor=0 live while the seeded
scenario runs, writes the frames capture OUT and, with --ref, the expected
jetstream NDJSON; then shuts everything down and exits.
  --seed S       PRNG seed (default 1)      --size N   scale (default 1)
  --extras       add an #info (OutdatedCursor) frame first and an error
                 (FutureCursor) frame last
  --check        fail unless the capture has identity, account, sync and
                 commit create/update/delete events (+ info, error with --extras)
  --keys FILE    write each account's signing key: "DID TYPE MULTIBASE PRIVHEX"
                 (the PLC directory's #atproto method, the PDS's private key)
  --timeout-s    give up (exit 2) after SEC seconds (default 110)
A summary goes to stderr; stdout stays empty.
`;
const { opts } = parseArgs(process.argv.slice(2), {
  seed: 'string', size: 'number', capture: 'string', ref: 'string',
  extras: 'bool', check: 'bool', keys: 'string', 'timeout-s': 'number', verbose: 'bool',
}, usage);
if (!opts.capture) {
  process.stderr.write(usage);
  process.exit(2);
}
const log = opts.verbose ? (m) => process.stderr.write(`run-scenario: ${m}\n`) : () => {};
const fail = (msg) => {
  process.stderr.write(`run-scenario: ${msg}\n`);
  process.exit(2);
};
setTimeout(() => fail(`timed out after ${opts['timeout-s'] ?? 110} s`), (opts['timeout-s'] ?? 110) * 1000).unref();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => fail(`killed by ${sig}`));

const { scenario } = require('./lib/harness');
scenario({
  seed: opts.seed ?? '1',
  size: opts.size ?? 1,
  capture: opts.capture,
  ref: opts.ref,
  extras: !!opts.extras,
  check: !!opts.check,
  keys: opts.keys,
  log,
}).then((r) => {
  process.stderr.write(`run-scenario: ${r.frames} frames, ${r.bytes} bytes, last seq ${r.lastSeq}` +
    `${r.lines !== undefined ? `, ${r.lines} reference lines` : ''}, ${(r.ms / 1000).toFixed(1)} s\n`);
  process.exit(0);
}, (err) => fail(err && err.stack ? err.stack : String(err)));
