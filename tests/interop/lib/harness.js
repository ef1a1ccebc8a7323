'use strict';
// One-call helpers for interop tests.
//
//   const { withNetwork, scenario } = require('./lib/harness');
//
//   await withNetwork(async ({ wsUrl, pdsUrl, network }) => { ... });
//       starts PLC + PDS on 127.0.0.1, runs the callback, always shuts down.
//
//   const r = await scenario({ seed: 1, size: 5, capture: 'cap.atfh',
//                              ref: 'cap.ndjson', extras: true });
//       fresh network; records ?cursor=0 live while the seeded scenario runs;
//       writes the frames capture and (optionally) the reference NDJSON;
//       shuts down. extras: also capture an #info (OutdatedCursor) frame
//       before the events and an error (FutureCursor) frame after them.
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

async function recordAll(env, file, extraOpts) {
  const rec = startRecorder({ url: env.wsUrl, out: file, cursor: 0, ...extraOpts });
  await rec.opened;
  return rec;
}

// capture the messages the server sends for one subscription, then stop
async function recordOnce(env, file, { cursor, idleMs = 400, timeoutMs = 10000 } = {}) {
  const rec = startRecorder({ url: env.wsUrl, out: file, cursor, idleMs, timeoutMs });
  const st = await rec.done;
  if (st.error) throw st.error;
  return st;
}

async function scenario(opts = {}) {
  const { seed = 1, size = 1, capture, ref, extras = false, log = () => {} } = opts;
  if (!capture) throw new Error('scenario: capture file required');
  const t0 = Date.now();
  return withNetwork(async (env) => {
    const seq = env.network.pds.ctx.sequencer;
    const mainFile = extras ? `${capture}.main.tmp` : capture;
    try {
      return await recordScenario();
    } finally {
      if (extras) fs.rmSync(mainFile, { force: true });
    }

    async function recordScenario() {
      const rec = await recordAll(env, mainFile);
      const caughtUp = async () => {
        const curr = (await seq.curr()) ?? 0;
        await Promise.race([
          rec.waitForSeq(curr),
          sleep(30000).then(() => { throw new Error(`recorder did not reach seq ${curr}`); }),
        ]);
      };
      const counts = await runScenario(env, { seed, size, log, barrier: caughtUp });
      await caughtUp();
      const st = await rec.stop();
      if (st.error) throw st.error;
      log(`recorded ${st.frames} frames, last seq ${st.lastSeq}`);

      let extraFrames = 0;
      if (extras) {
        const subCfg = env.network.pds.ctx.cfg.subscription;
        const infoFile = `${capture}.info.tmp`;
        const errFile = `${capture}.error.tmp`;
        try {
          // every event is now "too old": the server says OutdatedCursor
          const saved = subCfg.repoBackfillLimitMs;
          subCfg.repoBackfillLimitMs = 1;
          await sleep(20);
          try {
            extraFrames += (await recordOnce(env, infoFile, { cursor: 0 })).frames;
          } finally {
            subCfg.repoBackfillLimitMs = saved;
          }
          const curr = (await seq.curr()) ?? 0;
          extraFrames += (await recordOnce(env, errFile, { cursor: curr + 1000000 })).frames;
          fs.writeFileSync(capture, Buffer.concat([infoFile, mainFile, errFile].map((f) => fs.readFileSync(f))));
        } finally {
          for (const f of [infoFile, mainFile, errFile]) fs.rmSync(f, { force: true });
        }
      }
      const buf = fs.readFileSync(capture);
      let lines;
      if (ref) {
        lines = await captureToLines(buf);
        fs.writeFileSync(ref, lines.length ? lines.join('\n') + '\n' : '');
      }
      return {
        frames: st.frames + extraFrames,
        bytes: buf.length,
        lastSeq: st.lastSeq,
        lines: lines ? lines.length : undefined,
        counts,
        ms: Date.now() - t0,
      };
    }
  });
}

module.exports = { withNetwork, scenario, startNetwork, runScenario, recordOnce };
