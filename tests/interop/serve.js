#!/usr/bin/env node
'use strict';
// Keep a reference network up for a shell test (e.g. against atfh-subscribe).
//
//   node tests/interop/serve.js --seed S --size N [--live-size M] > info &
//
// Starts PLC + PDS on 127.0.0.1, runs the seeded scenario (size 0: none), then
// prints one line on stdout and flushes it:
//   ready WSURL LASTSEQ
// With --live-size M it then runs a second scenario (seed "S-live", size M)
// while clients are connected and prints:
//   live-done LASTSEQ
// It stays up until stdin reaches EOF, SIGTERM/SIGINT, or --timeout-s
// (default 300) passes; then it shuts the network down and exits 0 (2 on
// error or timeout). Logs go to stderr.
const { parseArgs } = require('./lib/args');

const usage = `usage: node serve.js [--seed S] [--size N] [--live-size M] [--live-delay-ms MS]
                       [--timeout-s SEC] [--no-stdin]
Prints "ready WSURL LASTSEQ" once the scenario ran, "live-done LASTSEQ" after
the live phase; exits when stdin closes (unless --no-stdin), on SIGTERM, or
after SEC seconds (default 300).
`;
const { opts } = parseArgs(process.argv.slice(2), {
  seed: 'string', size: 'number', 'live-size': 'number', 'live-delay-ms': 'number',
  'timeout-s': 'number', 'no-stdin': 'bool', verbose: 'bool',
}, usage);

const { startNetwork } = require('./lib/network');
const { runScenario } = require('./lib/scenario');

const log = opts.verbose ? (m) => process.stderr.write(`serve: ${m}\n`) : () => {};
let env;
let stopping = false;
async function stop(code, msg) {
  if (stopping) return;
  stopping = true;
  if (msg) process.stderr.write(`serve: ${msg}\n`);
  try {
    if (env) await env.close();
  } catch (err) {
    process.stderr.write(`serve: close: ${err.message}\n`);
  }
  process.exit(code);
}
setTimeout(() => stop(2, `timed out after ${opts['timeout-s'] ?? 300} s`), (opts['timeout-s'] ?? 300) * 1000).unref();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => stop(0));
if (!opts['no-stdin']) {
  process.stdin.on('end', () => stop(0));
  process.stdin.on('error', () => stop(0));
  process.stdin.resume();
}
const say = (line) => new Promise((r) => process.stdout.write(`${line}\n`, r));

(async () => {
  env = await startNetwork();
  const seq = env.network.pds.ctx.sequencer;
  const seed = opts.seed ?? '1';
  if ((opts.size ?? 1) > 0) await runScenario(env, { seed, size: opts.size ?? 1, log });
  await say(`ready ${env.wsUrl} ${(await seq.curr()) ?? 0}`);
  if (opts['live-size']) {
    if (opts['live-delay-ms']) await new Promise((r) => setTimeout(r, opts['live-delay-ms']));
    await runScenario(env, { seed: `${seed}-live`, size: opts['live-size'], log });
    await say(`live-done ${(await seq.curr()) ?? 0}`);
  }
})().catch((err) => stop(2, err && err.stack ? err.stack : String(err)));
