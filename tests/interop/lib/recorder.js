'use strict';
// Record a subscribeRepos websocket into a frames capture: every binary
// message as a 4-byte big-endian length followed by the message bytes,
// unchanged.
//
//   const rec = startRecorder({ url, out: 'cap.atfh', cursor: 0 });
//   ...; await rec.waitForSeq(n); await rec.stop();
//   // or: await rec.done  (resolves when the server closes or idleMs passes)

const fs = require('node:fs');
const WebSocket = require('ws');
const { frame, peek, load } = require('./refdecode');

function withCursor(url, cursor) {
  if (cursor === undefined || cursor === null) return url;
  const u = new URL(url);
  u.searchParams.set('cursor', String(cursor));
  return u.toString();
}

// opts: url, out (path or '-' or a file descriptor), cursor (default 0; null
// for none), untilSeq, idleMs (stop after this long without a message),
// timeoutMs (give up), onMessage(bytes, info).
function startRecorder(opts) {
  const { url, cursor = 0, untilSeq, idleMs, timeoutMs, onMessage } = opts;
  let fd;
  let ownFd = false;
  if (typeof opts.out === 'number') fd = opts.out;
  else if (opts.out === '-' || opts.out === undefined) fd = 1;
  else {
    fd = fs.openSync(opts.out, 'w');
    ownFd = true;
  }

  const state = {
    frames: 0,
    bytes: 0,
    lastSeq: -1n,
    reason: null,
    error: null,
  };
  const seqWaiters = [];
  let idleTimer = null;
  let timeoutTimer = null;
  let finished = false;
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });

  let ws = null;
  const pending = [];
  const on = (ev, fn) => pending.push([ev, fn]);
  // the decoder (ESM) loads first, so that each message is handled at once
  load().then(() => {
    if (finished) return;
    ws = new WebSocket(withCursor(url, cursor), { perMessageDeflate: false });
    for (const [ev, fn] of pending) ws.on(ev, fn);
  }, (err) => finish('error', err));

  const armIdle = () => {
    if (!idleMs) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => finish('idle'), idleMs);
  };

  function finish(reason, err) {
    if (finished) return;
    finished = true;
    state.reason = reason;
    if (err) state.error = err;
    clearTimeout(idleTimer);
    clearTimeout(timeoutTimer);
    try { if (ws) ws.terminate(); } catch {}
    if (ownFd) fs.closeSync(fd);
    for (const w of seqWaiters.splice(0)) w.reject(new Error(`recorder stopped (${reason}) at seq ${state.lastSeq}`));
    resolveDone(state);
  }

  on('open', armIdle);
  on('message', (data, isBinary) => {
    if (finished) return;
    const bytes = Buffer.isBuffer(data) ? data : Buffer.concat([].concat(data));
    if (!isBinary) {
      process.stderr.write(`recorder: ignoring a text message of ${bytes.length} bytes\n`);
      return;
    }
    // written synchronously, in arrival order, unchanged
    const rec = frame(bytes);
    let off = 0;
    while (off < rec.length) off += fs.writeSync(fd, rec, off);
    state.frames++;
    state.bytes += rec.length;
    armIdle();
    let info = {};
    try {
      info = peek(bytes);
    } catch (err) {
      process.stderr.write(`recorder: frame ${state.frames}: ${err.message}\n`);
    }
    if (info.seq !== undefined && info.seq > state.lastSeq) state.lastSeq = info.seq;
    if (onMessage) onMessage(bytes, info);
    for (let i = seqWaiters.length - 1; i >= 0; i--) {
      if (state.lastSeq >= seqWaiters[i].seq) seqWaiters.splice(i, 1)[0].resolve();
    }
    if (untilSeq !== undefined && state.lastSeq >= BigInt(untilSeq)) finish('until-seq');
  });
  on('close', () => finish('closed'));
  on('error', (err) => finish('error', err));
  if (timeoutMs) timeoutTimer = setTimeout(() => finish('timeout'), timeoutMs);

  const opened = new Promise((resolve, reject) => {
    on('open', resolve);
    on('error', reject);
    on('close', () => reject(new Error('websocket closed before opening')));
    done.then((st) => reject(new Error(`recorder stopped (${st.reason}) before opening`)));
  });
  opened.catch(() => {});

  return {
    state,
    done,
    opened,
    // resolves once a message with seq >= n has been written
    waitForSeq(n) {
      const seq = BigInt(n);
      if (state.lastSeq >= seq) return Promise.resolve();
      if (finished) return Promise.reject(new Error(`recorder stopped (${state.reason}) at seq ${state.lastSeq}`));
      return new Promise((resolve, reject) => seqWaiters.push({ seq, resolve, reject }));
    },
    stop() {
      finish('stopped');
      return done;
    },
  };
}

module.exports = { startRecorder, withCursor };
