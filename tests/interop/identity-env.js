#!/usr/bin/env node
'use strict';
// Keep a reference network up for the identity tests (tests/identity.test):
//
//   node tests/interop/identity-env.js --capture C.atfh [--keys K] [--seed S] [--size N] > info &
//
// Starts PLC + PDS on 127.0.0.1, records the seeded scenario live into the
// capture (frames), with --keys writes the accounts' signing keys as
// run-scenario.js --keys does (for forge.js), then prints one line and
// flushes it:
//   ready PLCURL PDSURL LASTSEQ
// Then it stays up, answering the PLC directory's and the PDS's requests,
// until stdin reaches EOF, SIGTERM/SIGINT, or --timeout-s (default 300).
const { parseArgs } = require('./lib/args');
const { startNetwork } = require('./lib/network');
const { runScenario } = require('./lib/scenario');
const { startRecorder } = require('./lib/recorder');
const { writeKeys } = require('./lib/harness');

const usage = `usage: node identity-env.js --capture FILE [--keys FILE] [--seed S] [--size N] [--timeout-s SEC]\n`;
const { opts } = parseArgs(process.argv.slice(2), {
  capture: 'string', keys: 'string', seed: 'string', size: 'number', 'timeout-s': 'number',
}, usage);
if (!opts.capture) {
  process.stderr.write(usage);
  process.exit(2);
}

let env;
let stopping = false;
async function stop(code, msg) {
  if (stopping) return;
  stopping = true;
  if (msg) process.stderr.write(`identity-env: ${msg}\n`);
  try {
    if (env) await env.close();
  } catch (err) {
    process.stderr.write(`identity-env: close: ${err.message}\n`);
  }
  process.exit(code);
}
setTimeout(() => stop(2, 'timed out'), (opts['timeout-s'] ?? 300) * 1000).unref();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

(async () => {
  env = await startNetwork();
  const seq = env.network.pds.ctx.sequencer;
  const rec = startRecorder({ url: env.wsUrl, out: opts.capture, cursor: 0 });
  await rec.opened;
  const caughtUp = async () => rec.waitForSeq((await seq.curr()) ?? 0);
  await runScenario(env, { seed: opts.seed ?? '1', size: opts.size ?? 1, barrier: caughtUp });
  await caughtUp();
  const st = await rec.stop();
  if (st.error) throw st.error;
  if (opts.keys) await writeKeys(env, opts.capture, opts.keys);
  process.stdout.write(`ready ${env.plcUrl} ${env.pdsUrl} ${st.lastSeq}\n`);
})().catch((err) => stop(2, err && err.stack ? err.stack : String(err)));
