'use strict';
// Node 20 compatibility shims for the reference AT Protocol stack.
//
// @atproto/dev-env 0.6.x and its dependencies target Node >= 22: they use
// iterator helpers (walk(...).filter), Set methods, and undici 8, which needs
// zlib's zstd streams and worker_threads.markAsUncloneable at load time.
// The shims below are loaded before the stack and only fill what is missing,
// so on Node 22+ they do nothing.  Must be required before any @atproto module.

const zlib = require('node:zlib');
const missing = (what) => () => {
  throw new Error(`${what} is not available on Node ${process.version}`);
};
if (!zlib.createZstdDecompress) zlib.createZstdDecompress = missing('zlib.createZstdDecompress');
if (!zlib.createZstdCompress) zlib.createZstdCompress = missing('zlib.createZstdCompress');

const wt = require('node:worker_threads');
if (!wt.markAsUncloneable) wt.markAsUncloneable = () => {};

// core-js only installs what the engine lacks.
require('core-js/actual/iterator');
require('core-js/actual/set');
require('core-js/actual/promise/with-resolvers');
require('core-js/actual/array/from-async');
require('core-js/actual/object/group-by');
require('core-js/actual/map/group-by');
