#!/usr/bin/env node
'use strict';
// A did:web host for tests/identity.test: node https on 127.0.0.1 with the
// given certificate, serving /.well-known/did.json for
// did:web:localhost%3APORT (its own port): an #atproto_pds service at
// https://pds.example.com and an #atproto Multikey.  Every request is
// counted in --log.
//
//   node didweb.js --cert PEM --key PEM [--log FILE]
//
// Prints "ready PORT"; exits on stdin EOF or SIGTERM.
const fs = require('node:fs');
const https = require('node:https');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const server = https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) },
  (req, res) => {
    if (args.log) fs.appendFileSync(args.log, `${req.method} ${req.url}\n`);
    const did = `did:web:localhost%3A${server.address().port}`;
    if (req.url !== '/.well-known/did.json') {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      '@context': ['https://www.w3.org/ns/did/v1'],
      id: did,
      alsoKnownAs: ['at://web.example.com'],
      verificationMethod: [{
        id: `${did}#atproto`, type: 'Multikey', controller: did,
        publicKeyMultibase: 'zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF',
      }],
      service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://pds.example.com' }],
    }, null, 2));
  });
server.listen(0, '127.0.0.1', () => process.stdout.write(`ready ${server.address().port}\n`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
