'use strict';
// Deterministic driver for the reference PDS: creates accounts and makes
// every kind of event a relay carries. The same {seed, size} performs the
// same actions with the same record contents in the same order; only what the
// stack generates itself (DIDs, CIDs, revs, TIDs, times) differs between runs.
//
//   const counts = await runScenario(network, { seed: 'x', size: 10 });
//
// size scales the number of accounts and of random actions; every kind of
// event is produced once in a fixed "coverage" phase whatever the size.

const path = require('node:path');
const url = require('node:url');
const zlib = require('node:zlib');
const { AtpAgent } = require('@atproto/api');

// --- seeded PRNG (sfc32 seeded with cyrb128) ------------------------------------

function makeRng(seed) {
  const str = String(seed);
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  let a = (h1 ^ h2 ^ h3 ^ h4) >>> 0, b = (h2 ^ h1) >>> 0, c = (h3 ^ h1) >>> 0, d = (h4 ^ h1) >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  const rng = {
    next,
    int: (n) => Math.floor(next() * n), // 0 .. n-1
    range: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    bytes: (n) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    },
    hex: (n) => Array.from({ length: n }, () => Math.floor(next() * 16).toString(16)).join(''),
    uuid: () => {
      const h = rng.hex(32);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
    },
    weighted: (table) => {
      const total = table.reduce((s, [w]) => s + w, 0);
      let r = next() * total;
      for (const [w, v] of table) {
        if ((r -= w) < 0) return v;
      }
      return table[table.length - 1][1];
    },
  };
  return rng;
}

// --- content ------------------------------------------------------------------

const SPECIAL_TEXTS = [
  ['', ['en']],
  ['Hello, world!', ['en']],
  ['Emoji 👋🏽 family 👨‍👩‍👧‍👦 flags 🇩🇰🇺🇦 keycap 1️⃣ ZWJ 🏳️‍🌈', ['en']],
  ['مرحبا بالعالم — שלום עולם (RTL with ‏marks‎ mixed LTR)', ['ar', 'he']],
  ['zero\u200Bwidth\u200Cnon\u200Djoiner\u2060word\uFEFFbom', ['en']],
  ['controls \u0001\u0002\u0007\b\f\u000B\u001B\u001F\u007F tab\there newline\nCR\r\nend', ['en']],
  ['nul byte \u0000 inside', ['en']],
  ['quotes "double" \'single\' back\\slash /slash </script> & <b>', ['en']],
  ['line\u2028separator paragraph\u2029separator', ['en']],
  ['日本語のテキストです。中文文本。한국어 텍스트.', ['ja', 'zh-Hant', 'ko']],
  ['नमस्ते दुनिया · สวัสดีชาวโลก · Привет, мир · Γειά σου Κόσμε', ['hi', 'th', 'ru']],
  ['combining e\u0301 n\u0303 a\u030A; math 𝕳𝖊𝖑𝖑𝖔 𝄞; replacement \uFFFD nonchar \uFFFF', ['und']],
  ['Hyggeligt at møde dig — æ ø å Æ Ø Å', ['da']],
  ['Olá, tudo bem? Ação, coração', ['pt-BR']],
  [('The quick brown fox jumps over the lazy dog. ').repeat(7).slice(0, 300), ['en']],
  ['😀'.repeat(300), []],
];

const WORDS = [
  'hello', 'world', 'atproto', 'firehose', 'relay', 'ørsted', 'æblegrød', 'Grüße', 'naïve',
  '日本語', '中文', '한국어', 'русский', 'ελληνικά', 'עברית', 'العربية', 'हिन्दी', 'ไทย',
  '😀', '👍🏽', '👨‍👩‍👧', '🇩🇰', '🦋', 'e\u0301', '"quoted"', 'back\\slash', '<tag>', '&amp;',
  '𝓤𝓷𝓲', 'tab\there', 'new\nline', 'ctl\u0001x', 'zw\u200Bsp', 'del\u007F', 'x\u2028y',
];
const LANGS = ['en', 'da', 'de', 'ja', 'ar', 'he', 'zh-Hant', 'pt-BR', 'hi', 'th', 'ko', 'ru', 'el', 'fr', 'es'];

function randomText(rng, maxWords = 25) {
  const n = rng.int(maxWords + 1);
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(rng.pick(WORDS));
  return parts.join(rng.chance(0.9) ? ' ' : '');
}

const utf8len = (s) => Buffer.byteLength(s, 'utf8');

// facets for "@handle", "https://..." and "#tag" parts of a text
function facetsFor(text, mentions) {
  const facets = [];
  for (const [handle, did] of mentions) {
    const at = text.indexOf(`@${handle}`);
    if (at < 0) continue;
    const start = utf8len(text.slice(0, at));
    facets.push({
      index: { byteStart: start, byteEnd: start + utf8len(`@${handle}`) },
      features: [{ $type: 'app.bsky.richtext.facet#mention', did }],
    });
  }
  const re = /https:\/\/\S+|#[a-z0-9]+/g;
  let m;
  while ((m = re.exec(text))) {
    const start = utf8len(text.slice(0, m.index));
    const feature = m[0][0] === '#'
      ? { $type: 'app.bsky.richtext.facet#tag', tag: m[0].slice(1) }
      : { $type: 'app.bsky.richtext.facet#link', uri: m[0] };
    facets.push({ index: { byteStart: start, byteEnd: start + utf8len(m[0]) }, features: [feature] });
  }
  return facets;
}

// --- tiny deterministic PNG ------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function makePng(rng) {
  const w = rng.range(4, 24);
  const h = rng.range(4, 24);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const [r, g, b] = rng.bytes(3);
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (r + x * 9) & 255;
      raw[o + 1] = (g + y * 7) & 255;
      raw[o + 2] = (b + x * y) & 255;
    }
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
  return { bytes: png, width: w, height: h };
}

// --- the driver ------------------------------------------------------------------

const b64 = (bytes) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

async function runScenario(net, opts = {}) {
  const network = net.network || net; // accept startNetwork()'s result too
  const { seed = 1, size = 1, log = () => {} } = opts;
  const rng = makeRng(`atfh:${seed}`);
  const pds = network.pds;
  const ctx = pds.ctx;
  const service = `http://127.0.0.1:${pds.port}`;
  const admin = { headers: pds.adminAuthHeaders(), encoding: 'application/json' };
  const tag = String(seed).toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 6) || 'x';
  const counts = {};
  const count = (k, n = 1) => { counts[k] = (counts[k] || 0) + n; };

  // wait until every sequenced event went out to live subscribers (needed
  // before an account deletion, which deletes that account's older events)
  const barrier = opts.barrier || (async () => {
    const curr = (await ctx.sequencer.curr()) ?? 0;
    for (let i = 0; i < 500 && ctx.sequencer.lastSeen < curr; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  let clock = Date.UTC(2024, 0, 1) + rng.int(86400) * 1000;
  const createdAt = () => {
    clock += 1000 + rng.int(60000);
    return new Date(clock).toISOString();
  };

  const accounts = [];
  const posts = []; // {uri, cid, by}
  const follows = []; // {uri, by, subject}
  const likes = [];
  const reposts = [];
  const blocks = [];
  const lists = []; // {uri, cid, by, items: [uri]}
  const customs = []; // {by, collection, rkey}
  let handleSerial = 0;

  const strongRef = (p) => ({ uri: p.uri, cid: p.cid });

  async function createAccount(i) {
    const handle = `u${i}-${tag}.test`;
    const agent = new AtpAgent({ service });
    await agent.createAccount({ handle, email: `${handle}@example.com`, password: 'password' });
    const acct = { i, handle, did: agent.session.did, agent, profile: 0 };
    accounts.push(acct);
    count('account.create');
    return acct;
  }

  const repo = (acct) => acct.agent.com.atproto.repo;

  async function create(acct, collection, record, extra = {}) {
    const res = await repo(acct).createRecord({ repo: acct.did, collection, record, ...extra });
    count(`create ${collection}`);
    return { uri: res.data.uri, cid: res.data.cid, by: acct };
  }
  async function put(acct, collection, rkey, record, extra = {}) {
    const res = await repo(acct).putRecord({ repo: acct.did, collection, rkey, record, ...extra });
    count(`put ${collection}`);
    return { uri: res.data.uri, cid: res.data.cid, by: acct };
  }
  async function del(acct, uri) {
    const [, collection, rkey] = uri.slice('at://'.length).split('/');
    await repo(acct).deleteRecord({ repo: acct.did, collection, rkey });
    count(`delete ${collection}`);
  }
  const rkeyOf = (uri) => uri.slice(uri.lastIndexOf('/') + 1);

  async function uploadImage(acct) {
    const img = makePng(rng);
    const res = await repo(acct).uploadBlob(img.bytes, { encoding: 'image/png' });
    count('blob');
    return { blob: res.data.blob, width: img.width, height: img.height };
  }
  async function imagesEmbed(acct, n) {
    const images = [];
    for (let k = 0; k < n; k++) {
      const img = await uploadImage(acct);
      const image = { image: img.blob, alt: rng.chance(0.5) ? randomText(rng, 6) : '' };
      if (rng.chance(0.7)) image.aspectRatio = { width: img.width, height: img.height };
      images.push(image);
    }
    return { $type: 'app.bsky.embed.images', images };
  }

  async function post(acct, text, extra = {}) {
    const record = { $type: 'app.bsky.feed.post', text, createdAt: createdAt(), ...extra };
    const p = await create(acct, 'app.bsky.feed.post', record);
    posts.push(p);
    return p;
  }
  const other = (acct) => rng.pick(accounts.filter((a) => a !== acct && !a.gone));
  const active = () => rng.pick(accounts.filter((a) => !a.gone));

  // --- actions -----------------------------------------------------------------

  const A = {
    async post(acct) {
      const extra = {};
      let text = randomText(rng);
      if (rng.chance(0.3)) {
        const o = other(acct);
        text = `@${o.handle} ${text} #atfh https://example.com/${rng.hex(6)}`;
        extra.facets = facetsFor(text, [[o.handle, o.did]]);
      }
      if (rng.chance(0.6)) extra.langs = Array.from({ length: rng.range(1, 3) }, () => rng.pick(LANGS));
      if (rng.chance(0.1)) extra.tags = ['atfh', rng.pick(['test', 'interop', 'ünïcode'])];
      if (rng.chance(0.05)) {
        extra.labels = { $type: 'com.atproto.label.defs#selfLabels', values: [{ val: rng.pick(['nudity', 'graphic-media', 'porn']) }] };
      }
      return post(acct, text, extra);
    },
    async reply(acct) {
      if (!posts.length) return A.post(acct);
      const parent = rng.pick(posts);
      const root = parent.root || parent;
      const p = await post(acct, randomText(rng, 10), {
        reply: { root: strongRef(root), parent: strongRef(parent) },
      });
      p.root = root;
      return p;
    },
    async quote(acct) {
      if (!posts.length) return A.post(acct);
      return post(acct, randomText(rng, 8), {
        embed: { $type: 'app.bsky.embed.record', record: strongRef(rng.pick(posts)) },
      });
    },
    async images(acct) {
      return post(acct, randomText(rng, 6), { embed: await imagesEmbed(acct, rng.range(1, 4)) });
    },
    async external(acct) {
      const external = {
        uri: `https://example.com/article/${rng.hex(8)}?q=${encodeURIComponent('ø&x')}`,
        title: randomText(rng, 5),
        description: randomText(rng, 12),
      };
      if (rng.chance(0.5)) external.thumb = (await uploadImage(acct)).blob;
      return post(acct, randomText(rng, 5), { embed: { $type: 'app.bsky.embed.external', external } });
    },
    async recordWithMedia(acct) {
      if (!posts.length) return A.images(acct);
      return post(acct, randomText(rng, 5), {
        embed: {
          $type: 'app.bsky.embed.recordWithMedia',
          record: { $type: 'app.bsky.embed.record', record: strongRef(rng.pick(posts)) },
          media: await imagesEmbed(acct, 1),
        },
      });
    },
    async like(acct) {
      if (!posts.length) return A.post(acct);
      const l = await create(acct, 'app.bsky.feed.like', {
        $type: 'app.bsky.feed.like', subject: strongRef(rng.pick(posts)), createdAt: createdAt(),
      });
      likes.push(l);
    },
    async unlike() {
      if (!likes.length) return;
      const l = likes.splice(rng.int(likes.length), 1)[0];
      if (!l.by.gone) await del(l.by, l.uri);
    },
    async repost(acct) {
      if (!posts.length) return A.post(acct);
      const r = await create(acct, 'app.bsky.feed.repost', {
        $type: 'app.bsky.feed.repost', subject: strongRef(rng.pick(posts)), createdAt: createdAt(),
      });
      reposts.push(r);
    },
    async unrepost() {
      if (!reposts.length) return;
      const r = reposts.splice(rng.int(reposts.length), 1)[0];
      if (!r.by.gone) await del(r.by, r.uri);
    },
    async follow(acct) {
      const o = other(acct);
      const f = await create(acct, 'app.bsky.graph.follow', {
        $type: 'app.bsky.graph.follow', subject: o.did, createdAt: createdAt(),
      });
      follows.push(f);
    },
    async unfollow() {
      if (!follows.length) return;
      const f = follows.splice(rng.int(follows.length), 1)[0];
      if (!f.by.gone) await del(f.by, f.uri);
    },
    async block(acct) {
      const b = await create(acct, 'app.bsky.graph.block', {
        $type: 'app.bsky.graph.block', subject: other(acct).did, createdAt: createdAt(),
      });
      blocks.push(b);
    },
    async unblock() {
      if (!blocks.length) return;
      const b = blocks.splice(rng.int(blocks.length), 1)[0];
      if (!b.by.gone) await del(b.by, b.uri);
    },
    async list(acct) {
      const purpose = rng.pick(['app.bsky.graph.defs#curatelist', 'app.bsky.graph.defs#modlist', 'app.bsky.graph.defs#referencelist']);
      const l = await create(acct, 'app.bsky.graph.list', {
        $type: 'app.bsky.graph.list', purpose, name: randomText(rng, 3).slice(0, 60) || 'list',
        description: randomText(rng, 10), createdAt: createdAt(),
      });
      l.items = [];
      l.purpose = purpose;
      lists.push(l);
      return l;
    },
    async listitem(acct) {
      const mine = lists.filter((l) => l.by === acct);
      const l = mine.length ? rng.pick(mine) : await A.list(acct);
      const it = await create(acct, 'app.bsky.graph.listitem', {
        $type: 'app.bsky.graph.listitem', subject: other(acct).did, list: l.uri, createdAt: createdAt(),
      });
      l.items.push(it.uri);
    },
    async unlistitem(acct) {
      const l = lists.find((x) => x.by === acct && x.items.length);
      if (!l) return A.listitem(acct);
      await del(acct, l.items.splice(rng.int(l.items.length), 1)[0]);
    },
    async profile(acct) {
      const record = {
        $type: 'app.bsky.actor.profile',
        displayName: `${randomText(rng, 3)}`.slice(0, 60),
        description: randomText(rng, 20),
      };
      if (acct.profile === 0 || rng.chance(0.3)) record.avatar = (await uploadImage(acct)).blob;
      const mine = posts.filter((p) => p.by === acct);
      if (mine.length && rng.chance(0.5)) record.pinnedPost = strongRef(rng.pick(mine));
      if (rng.chance(0.2)) {
        record.labels = { $type: 'com.atproto.label.defs#selfLabels', values: [{ val: '!no-unauthenticated' }] };
      }
      record.createdAt = createdAt();
      await put(acct, 'app.bsky.actor.profile', 'self', record);
      acct.profile++;
    },
    async edit(acct) {
      const mine = posts.filter((p) => p.by === acct);
      if (!mine.length) return A.post(acct);
      const p = rng.pick(mine);
      const res = await put(acct, 'app.bsky.feed.post', rkeyOf(p.uri), {
        $type: 'app.bsky.feed.post', text: `edited: ${randomText(rng, 8)}`, createdAt: createdAt(),
      });
      p.cid = res.cid;
    },
    async deletePost(acct) {
      const mine = posts.filter((p) => p.by === acct);
      if (!mine.length) return A.post(acct);
      const p = mine[rng.int(mine.length)];
      posts.splice(posts.indexOf(p), 1);
      await del(acct, p.uri);
    },
    async batch(acct) {
      const writes = [];
      const n = rng.range(2, 6);
      for (let k = 0; k < n; k++) {
        writes.push({
          $type: 'com.atproto.repo.applyWrites#create',
          collection: 'app.bsky.feed.post',
          value: { $type: 'app.bsky.feed.post', text: `batch ${k}: ${randomText(rng, 6)}`, createdAt: createdAt() },
        });
      }
      if (posts.length) {
        writes.push({
          $type: 'com.atproto.repo.applyWrites#create',
          collection: 'app.bsky.feed.like',
          value: { $type: 'app.bsky.feed.like', subject: strongRef(rng.pick(posts)), createdAt: createdAt() },
        });
      }
      writes.push({
        $type: 'com.atproto.repo.applyWrites#update',
        collection: 'app.bsky.actor.profile',
        rkey: 'self',
        value: { $type: 'app.bsky.actor.profile', displayName: `batch ${randomText(rng, 2)}`.slice(0, 60) },
      });
      const mine = posts.filter((p) => p.by === acct);
      if (mine.length) {
        const p = mine[rng.int(mine.length)];
        posts.splice(posts.indexOf(p), 1);
        writes.push({ $type: 'com.atproto.repo.applyWrites#delete', collection: 'app.bsky.feed.post', rkey: rkeyOf(p.uri) });
      }
      writes.push({
        $type: 'com.atproto.repo.applyWrites#create',
        collection: 'fm.teal.alpha.feed.play',
        value: tealPlay(),
      });
      const res = await repo(acct).applyWrites({ repo: acct.did, writes, validate: false });
      count('applyWrites');
      count('applyWrites.ops', writes.length);
      res.data.results.forEach((r, k) => {
        if (r.uri && writes[k].collection === 'app.bsky.feed.post') posts.push({ uri: r.uri, cid: r.cid, by: acct });
      });
    },
    async teal(acct) {
      const r = await create(acct, 'fm.teal.alpha.feed.play', tealPlay(), { validate: false });
      customs.push({ by: acct, collection: 'fm.teal.alpha.feed.play', rkey: rkeyOf(r.uri) });
    },
    async custom(acct) {
      const collection = rng.pick(['com.example.atfh.thing', 'com.whtwnd.blog.entry', 'sh.tangled.feed.star', 'blue.flashes.feed.post']);
      const rkey = `${rng.pick(['k', 'self', 'x:y', 'a~b', 'c_d', 'e-f', 'g.h'])}${rng.hex(4)}`;
      await put(acct, collection, rkey, {
        $type: collection,
        n: rng.range(-1000000, 1000000),
        s: randomText(rng, 8),
        b: { $bytes: b64(rng.bytes(rng.int(9))) },
        list: Array.from({ length: rng.int(5) }, () => rng.int(100)),
        ok: rng.chance(0.5),
        none: null,
      }, { validate: false });
      customs.push({ by: acct, collection, rkey });
    },
    async customUpdate(acct) {
      const mine = customs.filter((c) => c.by === acct);
      if (!mine.length) return A.custom(acct);
      const c = rng.pick(mine);
      await put(acct, c.collection, c.rkey, { $type: c.collection, updated: true, n: rng.int(1000) }, { validate: false });
    },
    async customDelete(acct) {
      const mine = customs.filter((c) => c.by === acct);
      if (!mine.length) return A.custom(acct);
      const c = mine[rng.int(mine.length)];
      customs.splice(customs.indexOf(c), 1);
      await repo(acct).deleteRecord({ repo: acct.did, collection: c.collection, rkey: c.rkey });
      count(`delete ${c.collection}`);
    },
    async handle(acct) {
      acct.handle = `h${++handleSerial}-${tag}.test`;
      await acct.agent.com.atproto.identity.updateHandle({ handle: acct.handle });
      count('identity.handle');
    },
    async deactivate(acct) {
      await acct.agent.com.atproto.server.deactivateAccount({});
      count('account.deactivate');
      await acct.agent.com.atproto.server.activateAccount();
      count('account.activate');
    },
    async takedown(acct) {
      const subject = { $type: 'com.atproto.admin.defs#repoRef', did: acct.did };
      const ag = acct.agent.com.atproto.admin;
      await ag.updateSubjectStatus({ subject, takedown: { applied: true, ref: `case-${rng.hex(4)}` } }, admin);
      count('account.takedown');
      await ag.updateSubjectStatus({ subject, takedown: { applied: false } }, admin);
      count('account.restore');
    },
  };

  function tealPlay() {
    const artists = Array.from({ length: rng.range(1, 3) }, () => ({
      artistName: randomText(rng, 2) || 'Ø',
      artistMbId: rng.uuid(),
    }));
    const play = {
      $type: 'fm.teal.alpha.feed.play',
      trackName: randomText(rng, 4) || 'untitled',
      trackMbId: rng.uuid(),
      recordingMbId: rng.uuid(),
      duration: rng.range(30, 900),
      artists,
      releaseName: randomText(rng, 3),
      releaseMbId: rng.uuid(),
      isrc: `US${rng.hex(3).toUpperCase()}${rng.range(10, 99)}${rng.range(10000, 99999)}`,
      originUrl: `https://open.spotify.com/track/${rng.hex(22)}`,
      musicServiceBaseDomain: rng.pick(['spotify.com', 'music.apple.com', 'tidal.com']),
      submissionClientAgent: 'atfh-interop/1.0.0 (+https://example.com)',
      playedTime: createdAt(),
    };
    if (rng.chance(0.3)) delete play.releaseMbId;
    return play;
  }

  // Every value type of the data model, over HTTP (JSON) with validate:false.
  function kitchenSink(linkCid, blobRef) {
    let deep = { leaf: true };
    for (let k = 0; k < 40; k++) deep = { d: deep };
    const controls = Array.from({ length: 32 }, (_, k) => String.fromCharCode(k)).join('') + '\u007f';
    const bigMap = {};
    for (let k = 0; k < 30; k++) bigMap[`k${String(k).padStart(2, '0')}`] = k;
    return {
      $type: 'com.example.atfh.kitchenSink',
      ints: [0, 1, -1, 23, 24, -24, -25, 255, 256, -256, -257, 65535, 65536, -65536, -65537,
        4294967295, 4294967296, -4294967296, -4294967297, 9007199254740991, -9007199254740991],
      yes: true,
      no: false,
      nothing: null,
      empty: { arr: [], map: {}, str: '', bytes: { $bytes: '' }, nested: [[], {}, [[]], [{}], { a: {} }, [[[]]]] },
      bytes: { $bytes: b64(Uint8Array.from({ length: 256 }, (_, k) => k)) },
      bytes1: { $bytes: 'AA' },
      bytes2: { $bytes: '//8' },
      bytes3: { $bytes: '+/+/' },
      link: { $link: linkCid },
      links: [{ $link: linkCid }, { $link: blobRef.ref.toString() }],
      blob: blobRef,
      keys: {
        '': 0, a: 1, 10: 2, 2: 3, B: 4, 'ключ': 5, '日本': 6, '🔑': 7, '"quoted"': 8, 'back\\slash': 9,
        'tab\tkey': 10, 'nl\nkey': 11, '\u0001': 12, 'a.b': 13, '$type2': 14, ['x'.repeat(100)]: 15,
        ' ': 16, '\u00e9': 17, 'e\u0301': 18,
      },
      strings: {
        controls,
        unicode: 'æøå ÆØÅ 日本 🦋 👨‍👩‍👧 \u2028\u2029 \uFEFF \uFFFD \uFFFF 𝄞',
        long: 'x'.repeat(300),
        escapes: '"\\/\b\f\n\r\t',
      },
      deep,
      bigArray: Array.from({ length: 300 }, (_, k) => k - 150),
      bigMap,
      typed: { $type: 'com.example.atfh.defs#thing', value: 1 },
    };
  }

  // Integers outside the JSON-safe range cannot be sent over HTTP (the PDS
  // answers 500); write them as BigInt through the PDS's own write path.
  async function writeBigInts(acct) {
    let prepareCreate;
    try {
      const dir = path.dirname(require.resolve('@atproto/pds'));
      ({ prepareCreate } = await import(url.pathToFileURL(path.join(dir, 'repo/prepare.js')).href));
    } catch (err) {
      log(`scenario: BigInt records skipped: ${err.message}`);
      return;
    }
    const record = {
      $type: 'com.example.atfh.bigInts',
      int64Max: 9223372036854775807n,
      int64Min: -9223372036854775808n,
      twoTo53: 9007199254740992n,
      minusTwoTo53: -9007199254740992n,
      twoTo53Plus1: 9007199254740993n,
      twoTo63Minus2: 9223372036854775806n,
      minusTwoTo63Plus1: -9223372036854775807n,
      uint32Max: 4294967295n,
      list: [9007199254740993n, -9007199254740993n, 1n, 0n, -1n, 1152921504606846976n],
    };
    const write = await prepareCreate({ did: acct.did, collection: record.$type, rkey: 'int64', record, validate: false });
    const commit = await ctx.actorStore.transact(acct.did, async (txn) => {
      const c = await txn.repo.processWrites([write]);
      await ctx.sequencer.sequenceCommit(acct.did, c);
      return c;
    });
    await ctx.accountManager.updateRepoRoot(acct.did, commit.cid, commit.rev);
    count('create com.example.atfh.bigInts');
  }

  // --- coverage phase -----------------------------------------------------------

  const nAccounts = Math.max(4, Math.min(200, 3 + Math.ceil(size / 4)));
  log(`scenario: seed ${seed}, size ${size}: ${nAccounts} accounts`);
  for (let i = 0; i < nAccounts; i++) await createAccount(i);
  const [a0, a1, a2, a3] = accounts;

  for (const acct of accounts) await A.profile(acct);
  const special = [];
  for (const [text, langs] of SPECIAL_TEXTS) {
    const extra = { langs };
    special.push(await post(a0, text, extra));
  }
  const mentionText = `hi @${a1.handle} see https://example.com/x?a=1&b=ø #atfh #testing 🦋`;
  await post(a0, mentionText, { facets: facetsFor(mentionText, [[a1.handle, a1.did]]), langs: ['en'] });
  const root = await post(a1, 'thread root');
  const r1 = await post(a2, 'first reply', { reply: { root: strongRef(root), parent: strongRef(root) } });
  r1.root = root;
  const r2 = await post(a1, 'reply to the reply', { reply: { root: strongRef(root), parent: strongRef(r1) } });
  r2.root = root;
  await post(a3, 'quoting', { embed: { $type: 'app.bsky.embed.record', record: strongRef(special[2]) } });
  await post(a0, 'one image', { embed: await imagesEmbed(a0, 1) });
  await post(a1, 'four images', { embed: await imagesEmbed(a1, 4) });
  await A.external(a2);
  await A.recordWithMedia(a3);
  await A.like(a1);
  await A.repost(a2);
  await A.follow(a0);
  await A.follow(a1);
  await A.follow(a2);
  await A.unfollow();
  await A.block(a3);
  await A.unblock();
  await A.block(a2);
  const curate = await create(a0, 'app.bsky.graph.list', {
    $type: 'app.bsky.graph.list', purpose: 'app.bsky.graph.defs#curatelist', name: 'Friends 🦋',
    description: 'a curated list', createdAt: createdAt(),
  });
  curate.items = [];
  lists.push(curate);
  await A.listitem(a0);
  await A.listitem(a0);
  await A.unlistitem(a0);
  const modlist = await create(a1, 'app.bsky.graph.list', {
    $type: 'app.bsky.graph.list', purpose: 'app.bsky.graph.defs#modlist', name: 'Mods',
    createdAt: createdAt(),
  });
  modlist.items = [];
  lists.push(modlist);
  await create(a2, 'app.bsky.graph.listblock', { $type: 'app.bsky.graph.listblock', subject: modlist.uri, createdAt: createdAt() });
  await create(a0, 'app.bsky.graph.starterpack', {
    $type: 'app.bsky.graph.starterpack', name: 'Starter ✨', list: curate.uri, createdAt: createdAt(),
  });
  await put(a1, 'app.bsky.feed.threadgate', rkeyOf(root.uri), {
    $type: 'app.bsky.feed.threadgate', post: root.uri, createdAt: createdAt(),
    allow: [{ $type: 'app.bsky.feed.threadgate#mentionRule' }, { $type: 'app.bsky.feed.threadgate#followingRule' }],
  });
  await put(a1, 'app.bsky.feed.postgate', rkeyOf(root.uri), {
    $type: 'app.bsky.feed.postgate', post: root.uri, createdAt: createdAt(),
    embeddingRules: [{ $type: 'app.bsky.feed.postgate#disableRule' }], detachedEmbeddingUris: [],
  });
  await put(a0, 'chat.bsky.actor.declaration', 'self', { $type: 'chat.bsky.actor.declaration', allowIncoming: 'following' });
  await A.profile(a0); // update
  await A.edit(a0);
  await A.deletePost(a0);
  await A.batch(a1);
  await A.teal(a2);
  await A.custom(a3);
  await A.customUpdate(a3);
  await A.customDelete(a3);
  const blob = (await uploadImage(a0)).blob;
  await put(a0, 'com.example.atfh.kitchenSink', 'all-types', kitchenSink(special[0].cid, blob), { validate: false });
  await put(a0, 'com.example.atfh.longString', 'long', {
    $type: 'com.example.atfh.longString', s: 'ab'.repeat(35000), n: 70000,
  }, { validate: false });
  await put(a0, 'com.example.atfh.rkeys', 'a'.repeat(512), { $type: 'com.example.atfh.rkeys', len: 512 }, { validate: false });
  await put(a0, 'com.example.atfh.rkeys', 'A-Za-z0-9._:~', { $type: 'com.example.atfh.rkeys', chars: true }, { validate: false });
  await put(a0, `com.example.atfh.${'n'.repeat(40)}.${'m'.repeat(40)}.record`, 'self', { v: 1 }, { validate: false });
  await writeBigInts(a0);
  await A.handle(a1);
  await A.deactivate(a2);
  await A.takedown(a3);

  // --- random phase -------------------------------------------------------------

  const table = [
    [30, 'post'], [10, 'reply'], [4, 'quote'], [3, 'images'], [1, 'external'], [1, 'recordWithMedia'],
    [15, 'like'], [3, 'unlike'], [6, 'repost'], [2, 'unrepost'], [8, 'follow'], [3, 'unfollow'],
    [2, 'block'], [2, 'unblock'], [1, 'list'], [3, 'listitem'], [1, 'unlistitem'], [2, 'profile'],
    [3, 'edit'], [4, 'deletePost'], [3, 'batch'], [5, 'teal'], [2, 'custom'], [1, 'customUpdate'],
    [1, 'customDelete'], [0.6, 'handle'], [0.4, 'deactivate'], [0.3, 'takedown'],
  ];
  const nActions = size * 10;
  for (let k = 0; k < nActions; k++) {
    const what = rng.weighted(table);
    await A[what](active());
    if (k % 500 === 499) log(`scenario: ${k + 1}/${nActions} actions`);
  }

  // --- account deletion (last: it removes the account's older events) -----------

  const doomed = await createAccount(accounts.length);
  await A.profile(doomed);
  await A.post(doomed);
  await A.like(doomed);
  await barrier();
  await doomed.agent.com.atproto.admin.deleteAccount({ did: doomed.did }, admin);
  doomed.gone = true;
  count('account.delete');
  return counts;
}

module.exports = { runScenario, makeRng, SPECIAL_TEXTS };
