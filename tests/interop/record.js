#!/usr/bin/env node
'use strict';
// Record a com.atproto.sync.subscribeRepos stream as a frames capture.
const { parseArgs } = require('./lib/args');
const { startRecorder } = require('./lib/recorder');

const usage = `usage: node record.js --url WSURL --out FILE [--cursor N | --no-cursor]
                      [--until-seq N] [--idle-ms MS] [--timeout-ms MS]
Subscribes to WSURL (?cursor=0 unless told otherwise) and writes every binary
message as a frame: 4-byte big-endian length + the message bytes, unchanged.
Stops when the server closes, once a message with seq >= N was written
(--until-seq), after MS without a message (--idle-ms, default 1500 unless
--until-seq is given), or after --timeout-ms. FILE "-" is stdout.
`;
const { opts } = parseArgs(process.argv.slice(2), {
  url: 'string', out: 'string', cursor: 'number', 'no-cursor': 'bool',
  'until-seq': 'number', 'idle-ms': 'number', 'timeout-ms': 'number',
}, usage);
if (!opts.url || !opts.out) {
  process.stderr.write(usage);
  process.exit(2);
}
const idleMs = opts['idle-ms'] ?? (opts['until-seq'] === undefined ? 1500 : undefined);
const rec = startRecorder({
  url: opts.url,
  out: opts.out,
  cursor: opts['no-cursor'] ? null : (opts.cursor ?? 0),
  untilSeq: opts['until-seq'],
  idleMs,
  timeoutMs: opts['timeout-ms'],
});
rec.done.then((st) => {
  process.stderr.write(`record: ${st.frames} frames, ${st.bytes} bytes, last seq ${st.lastSeq}, ${st.reason}\n`);
  if (st.error) process.stderr.write(`record: ${st.error.message}\n`);
  const ok = st.reason !== 'error' && st.reason !== 'timeout';
  process.exit(ok ? 0 : 2);
});
