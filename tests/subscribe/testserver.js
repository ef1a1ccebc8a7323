'use strict';
// testserver.js — what the websocket test servers (faultserver.js,
// jetstream.js) share: their "--name value" arguments, the ws module of
// tests/interop, and their life: "ready PORT" on stdout once listening on
// 127.0.0.1; gone on SIGTERM, SIGINT or EOF on stdin (the test holds the
// other end), and after lifetimeMs in any case, so a test that died never
// leaves one behind.
const path = require('node:path');
const { WebSocketServer } = require(path.join(__dirname, '../interop/node_modules/ws'));

function parseArgs(argv) {
  const args = {};
  for (let i = 2; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
  return args;
}

// Listen on an ephemeral port; onPort (optional) learns it before "ready".
function listen(server, lifetimeMs, onPort) {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    if (onPort) onPort(port);
    process.stdout.write(`ready ${port}\n`);
  });
  const quit = () => process.exit(0);
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  process.stdin.on('end', quit);
  process.stdin.on('error', quit);
  process.stdin.resume();
  setTimeout(() => process.exit(2), lifetimeMs).unref();
}

module.exports = { WebSocketServer, parseArgs, listen };
