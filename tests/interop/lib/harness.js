'use strict';
// One-call helpers for interop tests.
//
//   const { withNetwork, scenario } = require('./lib/harness');
//
//   await withNetwork(async ({ wsUrl, pdsUrl, network }) => { ... });
//       starts PLC + PDS on 127.0.0.1, runs the callback, always shuts down.
//
//   const r = await scenario({ seed: 1, size: 5, capture: 'cap.atfh',
//                              ref: 'cap.ndjson', extras: true, check: true });
//       fresh network; records ?cursor=0 live while the seeded scenario runs;
//       writes the frames capture and (optionally) the reference NDJSON;
//       shuts down. extras: also capture an #info (OutdatedCursor) frame
//       before the events and an error (FutureCursor) frame after them.
//       check: fail unless every kind of event is in the capture.
//       keys: FILE gets one line per account of the capture, "DID TYPE
//       MULTIBASE PRIVHEX": its #atproto verification method as the PLC
//       directory serves it, and the PDS's private signing key (hex, "-"
//       when the PDS no longer has it) for forging tests.
//       Returns { frames, bytes, lastSeq, lines, counts, ms }.

const fs = require('node:fs');
const { startNetwork } = require('./network');
const { startRecorder } = require('./recorder');
const { runScenario } = require('./scenario');
const { captureToLines } = require('./refdecode');

async function withNetwork(fn, opts = {}) {
  const env = await startNetwork(opts);
  try {
    return await fn(env);
  } finally {
    await env.close();
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withTimeout(promise, ms, what) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// capture what the server sends for one subscription, until it closes or
// goes quiet; returns the recorder state
async function recordOnce(env, file, { cursor = 0, idleMs = 400, timeoutMs = 10000 } = {}) {
  const rec = startRecorder({ url: env.wsUrl, out: file, cursor, idleMs, timeoutMs });
  const st = await rec.done;
  if (st.error) throw st.error;
  return st;
}

// What a scenario capture must contain, as "kind" or "kind operation".
const REQUIRED = ['identity', 'account', 'sync', 'commit create', 'commit update', 'commit delete'];
const REQUIRED_EXTRAS = ['info', 'error'];

// the names of REQUIRED (and REQUIRED_EXTRAS) that no line has
function missingKinds(lines, extras = false) {
  const seen = new Set();
  for (const l of lines) {
    const o = JSON.parse(l);
    seen.add(o.kind);
    if (o.commit) seen.add(`${o.kind} ${o.commit.operation}`);
  }
  return [...REQUIRED, ...(extras ? REQUIRED_EXTRAS : [])].filter((k) => !seen.has(k));
}

// The signing keys of the accounts of CAPTURE, from the live network.
async function writeKeys(env, capture, file) {
  const lines = await captureToLines(fs.readFileSync(capture));
  const dids = [...new Set(lines.map((l) => JSON.parse(l).did).filter(Boolean))];
  const out = [];
  for (const did of dids) {
    const res = await fetch(`${env.plcUrl}/${encodeURIComponent(did)}`);
    if (!res.ok) continue; // not (or no longer) in the directory
    const doc = await res.json();
    const vm = (doc.verificationMethod || []).find((m) => m.id === '#atproto' || m.id === `${did}#atproto`);
    if (!vm) continue;
    let priv = '-';
    try {
      // the PDS's keypair() is not exportable: read the key file it loads
      const store = env.network.pds.ctx.actorStore;
      const { keyLocation } = await store.getLocation(did);
      priv = fs.readFileSync(keyLocation).toString('hex');
    } catch { /* account deleted */ }
    out.push(`${did} ${vm.type} ${vm.publicKeyMultibase} ${priv}`);
  }
  fs.writeFileSync(file, out.length ? out.join('\n') + '\n' : '');
}

async function scenario(opts = {}) {
  const { seed = 1, size = 1, capture, ref, extras = false, check = false, keys,
    log = () => {} } = opts;
  if (!capture) throw new Error('scenario: capture file required');
  const t0 = Date.now();
  const tmp = (what) => `${capture}.${what}.tmp`;
  const parts = extras ? [tmp('info'), tmp('main'), tmp('error')] : [capture];
  const mainFile = extras ? tmp('main') : capture;

  const recorded = await withNetwork(async (env) => {
    const seq = env.network.pds.ctx.sequencer;
    const rec = startRecorder({ url: env.wsUrl, out: mainFile, cursor: 0 });
    await rec.opened;
    // until the recorder has written every event sequenced so far
    const caughtUp = async () => {
      const curr = (await seq.curr()) ?? 0;
      await withTimeout(rec.waitForSeq(curr), 30000, `recorder at seq ${curr}`);
    };
    let st;
    try {
      const counts = await runScenario(env, { seed, size, log, barrier: caughtUp });
      await caughtUp();
      st = await rec.stop();
      if (st.error) throw st.error;
      log(`recorded ${st.frames} frames, last seq ${st.lastSeq}`);
      if (keys) await writeKeys(env, mainFile, keys);
      let extraFrames = 0;
      if (extras) {
        // every event is now "too old": the server says OutdatedCursor first
        const subCfg = env.network.pds.ctx.cfg.subscription;
        const saved = subCfg.repoBackfillLimitMs;
        subCfg.repoBackfillLimitMs = 1;
        await sleep(20);
        try {
          extraFrames += (await recordOnce(env, tmp('info'), { cursor: 0 })).frames;
        } finally {
          subCfg.repoBackfillLimitMs = saved;
        }
        const curr = (await seq.curr()) ?? 0;
        extraFrames += (await recordOnce(env, tmp('error'), { cursor: curr + 1000000 })).frames;
      }
      return { st, counts, extraFrames };
    } finally {
      if (!st) await rec.stop();
    }
  }).catch((err) => {
    if (extras) for (const f of parts) fs.rmSync(f, { force: true });
    throw err;
  });

  if (extras) {
    try {
      fs.writeFileSync(capture, Buffer.concat(parts.map((f) => fs.readFileSync(f))));
    } finally {
      for (const f of parts) fs.rmSync(f, { force: true });
    }
  }
  const buf = fs.readFileSync(capture);
  let lines;
  if (ref || check) {
    lines = await captureToLines(buf);
    if (ref) fs.writeFileSync(ref, lines.length ? lines.join('\n') + '\n' : '');
    if (check) {
      const missing = missingKinds(lines, extras);
      if (missing.length) throw new Error(`the capture has no ${missing.join(', ')} event`);
    }
  }
  return {
    frames: recorded.st.frames + recorded.extraFrames,
    bytes: buf.length,
    lastSeq: recorded.st.lastSeq,
    lines: lines ? lines.length : undefined,
    counts: recorded.counts,
    ms: Date.now() - t0,
  };
}

module.exports = { withNetwork, scenario, startNetwork, runScenario, recordOnce, missingKinds, writeKeys };
