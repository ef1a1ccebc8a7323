'use strict';
// Start the reference AT Protocol stack (PLC directory + PDS) from
// @atproto/dev-env, in this process, on 127.0.0.1 only.
//
//   const { startNetwork } = require('./lib/network');
//   const { network, pdsUrl, wsUrl, close } = await startNetwork();
//
// Nothing is printed on stdout: the stack's logger stays disabled unless the
// caller set LOG_ENABLED (its logs then go to LOG_DESTINATION or stderr).

if (process.env.LOG_ENABLED === undefined) process.env.LOG_ENABLED = 'false';
require('./compat');

const dns = require('node:dns');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const url = require('node:url');

const LOOPBACK = '127.0.0.1';

// The PDS and PLC servers call listen(port) without a host, i.e. on every
// interface. While the network starts, default the host to loopback.
function withLoopbackListen(fn) {
  const orig = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
      if (typeof args[1] !== 'string') args.splice(1, 0, LOOPBACK);
    } else if (args[0] && typeof args[0] === 'object' && args[0].path === undefined &&
               args[0].host === undefined) {
      args[0] = { ...args[0], host: LOOPBACK };
    }
    return orig.apply(this, args);
  };
  return Promise.resolve()
    .then(fn)
    .finally(() => { net.Server.prototype.listen = orig; });
}

let devEnvPromise;
function loadDevEnv() {
  // dev-env's index pulls in the AppView, Ozone, ... (3 s more to load);
  // the no-AppView network module is all we need.
  devEnvPromise ??= (async () => {
    try {
      const dir = path.dirname(require.resolve('@atproto/dev-env'));
      const file = path.join(dir, 'network-no-appview.js');
      return await import(url.pathToFileURL(file).href);
    } catch {
      return import('@atproto/dev-env');
    }
  })();
  return devEnvPromise;
}

// The PDS keeps its SQLite databases and blobs in fresh directories under
// os.tmpdir(), which dev-env never removes: point TMPDIR at a private
// directory while the network starts, and remove that directory on close().
async function withPrivateTmp(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atfh-interop-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return { dir, result: await fn() };
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

async function startNetwork(opts = {}) {
  dns.setDefaultResultOrder('ipv4first'); // URLs say "localhost"
  const { TestNetworkNoAppView } = await loadDevEnv();
  const { dir, result: network } = await withPrivateTmp(() =>
    withLoopbackListen(() =>
      TestNetworkNoAppView.create({
        ...opts,
        pds: {
          // the recorder shares this event loop: never drop it as too slow
          maxSubscriptionBuffer: 1_000_000,
          ...(opts.pds || {}),
        },
      }),
    ),
  );
  const port = network.pds.port;
  const pdsUrl = `http://${LOOPBACK}:${port}`;
  const wsUrl = `ws://${LOOPBACK}:${port}/xrpc/com.atproto.sync.subscribeRepos`;
  let closing;
  const close = () => {
    closing ??= network.close().finally(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return closing;
  };
  return { network, pdsUrl, wsUrl, plcUrl: network.plc.url, tmpDir: dir, close };
}

module.exports = { startNetwork, LOOPBACK };
