const { startNetwork } = require('./lib/network');
const { startRecorder } = require('./lib/recorder');
const { captureToLines } = require('./lib/refdecode');
const path = require('path'), url = require('url'), fs = require('fs');
(async()=>{
 const n = await startNetwork();
 const rec = startRecorder({url: n.wsUrl, out: '/tmp/t.atfh'}); await rec.opened;
 const { AtpAgent } = require('@atproto/api');
 const a = new AtpAgent({service: n.pdsUrl});
 await a.createAccount({handle:'bob.test', email:'b@x.com', password:'pw'});
 const did = a.session.did;
 const tries = {
   nul: {s:'a\u0000b'},
   big: {n: 9007199254740991, m: -9007199254740991},
   bytes: {b: {$bytes: 'AAEC/w'}, e: {$bytes: ''}},
   link: {l: {$link: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm'}},
   keys: {'10':1,'2':2,'a':3,'':4,'ключ':5,'"q"':6, '\u0001':7},
   float: {f: 1.5},
   tooBig: {n: 9007199254740993},
 };
 for (const [k, v] of Object.entries(tries)) {
   try { const r = await a.com.atproto.repo.createRecord({repo: did, collection: 'com.example.t', rkey: k, record: v, validate: false}); console.error(k, 'ok', r.data.cid); }
   catch (e) { console.error(k, 'ERR', e.message); }
 }
 // post with NUL
 try { await a.post({text: 'x\u0000y\u0001', createdAt: new Date().toISOString()}); console.error('post nul ok'); } catch (e) { console.error('post nul ERR', e.message); }
 // internal BigInt write
 const pdsDist = path.dirname(require.resolve('@atproto/pds'));
 const { prepareCreate } = await import(url.pathToFileURL(path.join(pdsDist, 'repo/prepare.js')).href);
 const ctx = n.network.pds.ctx;
 const w = await prepareCreate({did, collection: 'com.example.t', rkey: 'bigint', validate: false, record: {max: 9223372036854775807n, min: -9223372036854775808n, p53: 9007199254740992n, small: 5n}});
 const commit = await ctx.actorStore.transact(did, async (txn) => { const c = await txn.repo.processWrites([w]); await ctx.sequencer.sequenceCommit(did, c); return c; });
 await ctx.accountManager.updateRepoRoot(did, commit.cid, commit.rev);
 console.error('bigint ok');
 const got = await a.com.atproto.repo.getRecord({repo: did, collection:'com.example.t', rkey:'bigint'}).catch(e=>e.message);
 console.error('getRecord', JSON.stringify(got.data ?? got, (k,v)=>typeof v==='bigint'?v.toString()+'n':v));
 const cur = await ctx.sequencer.curr();
 await rec.waitForSeq(cur); await rec.stop();
 await n.close();
 const lines = await captureToLines(fs.readFileSync('/tmp/t.atfh'));
 console.log(lines.join('\n'));
})().catch(e=>{console.error(e); process.exit(1)});
