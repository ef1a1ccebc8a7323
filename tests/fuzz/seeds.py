#!/usr/bin/env python3
"""seeds.py OUTDIR — seed corpora for every fuzz harness, cut from the
bundled sample capture and the hand-built fixtures (valid and malformed):
whole streams for `input`, single messages for `event`, record blocks for
`dagcbor`, CAR archives for `car`, binary CIDs for `cid`, jetstream lines
for `ndjson`, DID lists for `didset`, a path and an event for `evpath`,
collection globs and names for `glob`, a jq program and an event for
`jqhint`, a keep-mask byte and a commit of several ops for `trim`; signing
keys for `pubkey` and signed commits for `commitsig` (tests/data/sigcases.txt)."""
import hashlib, os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
top = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.join(top, "tests", "lib"))
import atfhframes as A

out = sys.argv[1]
def put(h, data):
    d = os.path.join(out, h)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

streams = []
names = subprocess.run([sys.executable, os.path.join(top, "tests/lib/mkfixture.py"), "--list"],
                       capture_output=True, text=True, check=True).stdout.split()
for name in names:
    args = [name, "5"] if name == "many" else [name]
    data = subprocess.run([sys.executable, os.path.join(top, "tests/lib/mkfixture.py")] + args,
                          capture_output=True, check=True).stdout
    streams.append(data)
sample = subprocess.run(["zstd", "-dcq", os.path.join(top, "tests/data/sample.atfh.zst")],
                        capture_output=True, check=True).stdout
msgs = A.parse_frames(sample)
step = max(1, len(msgs) // 150)
picked = msgs[::step]
streams.append(A.frames(picked[:20]))
# a corrupt length prefix and junk between good frames (resync)
streams.append(streams[0][:600] + b"\xff\xff\xff\xff" + bytes(range(7, 250)) + streams[0][600:])
def zstd(b):
    return subprocess.run(["zstd", "-qc"], input=b, capture_output=True).stdout
for s in streams:
    put("input", s)
    put("input", zstd(s))
    # frames of zstd cut mid-record, a skippable frame among them (the
    # workers decompress frames each; lib/zframe finds them)
    cuts = [0, 3, 50, 51, 400, len(s) // 2, len(s)]
    put("input", b"".join(zstd(s[a:b]) for a, b in zip(cuts, cuts[1:]) if b > a)
        + b"\x50\x2a\x4d\x18\x02\x00\x00\x00ok" + zstd(s[:100]))
for s in streams:
    try:
        for m in A.parse_frames(s):
            put("event", m)
    except ValueError:
        pass
fixture_msgs = []
for s in streams:
    try:
        fixture_msgs += A.parse_frames(s)
    except ValueError:
        pass
for m in msgs + fixture_msgs:
    try:
        h, b = A.parse_message(m, strict=False)
    except Exception:
        continue
    if isinstance(b, dict) and isinstance(b.get("ops"), list) and len(b["ops"]) > 1:
        for mask in (0x00, 0x5a, 0xff):
            put("trim", bytes([mask]) + m)
for m in picked:
    put("event", m)
    try:
        h, b = A.parse_message(m, strict=False)
    except Exception:
        continue
    if isinstance(b, dict) and isinstance(b.get("blocks"), bytes):
        put("car", b["blocks"])
        try:
            roots, blocks = A.parse_car(b["blocks"], verify=False)
        except Exception:
            continue
        for c, d in blocks[:4]:
            put("cid", c.bytes)
            put("dagcbor", d)
js = subprocess.run([os.path.join(os.environ.get("top_builddir", top), "tools/atfh-decode"), "-"],
                    input=A.frames(picked), capture_output=True).stdout
for line in js.splitlines()[:200]:
    put("ndjson", line)
put("ndjson", b'{"kind":"info","info":{"name":"x"}}')
# the cloudevents payloads read the record: langs, reply, embeds, facets
put("ndjson", '{"did":"d","time_us":1,"kind":"commit","seq":1,"commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"k","record":{"text":"t","langs":[" EN ","",1],"reply":{"parent":{"uri":"at://p"},"root":"x"},"embed":{"$type":"app.bsky.embed.recordWithMedia","record":{"record":{"uri":"at://q"}}},"facets":[{"features":[{"tag":"\\u00e9\\ud83d\\ude00 \\"\\n"}],"index":{"byteStart":0}}],"tags":["a"]},"cid":"bafy"}}'.encode())
put("ndjson", b'{"did":"d","time_us":1,"kind":"commit","seq":1,"commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.like","rkey":"k","record":{"subject":{"uri":"u","cid":"c"}},"cid":"bafy"}}')
put("ndjson", b'{"did":"d","time_us":1,"kind":"commit","seq":1,"commit":{"rev":"r","operation":"update","collection":"app.bsky.actor.profile","rkey":"self","record":{"displayName":"n","avatar":{"ref":{"$link":"bafy"}}},"cid":"bafy"}}')
put("ndjson", b'{"did":"d","time_us":1,"kind":"commit","seq":1,"commit":{"rev":"r","operation":"create","collection":"c","rkey":"k","record":{"a":[1,2,{"b":null}]},"cid":"bafy"}}')

# didset: DID lists as users write them (comments, blanks, CRLF, junk)
events = [l for l in js.splitlines() if l.startswith(b'{"did":"')]
dids = sorted({l.split(b'"')[3] for l in events})
put("didset", b"\n".join(dids[:50]) + b"\n")
put("didset", b"# danish accounts\n\n" + b"\r\n".join(b"  " + d + b"  # x" for d in dids[:20]))
put("didset", b"did:plc:\ndid:web:example.com\nnot-a-did\ndid:key:z6Mk\n")
# 0x01 stretches into 40,000 spaces (fuzz_didset.c): a DID behind a comment
# longer than the 64 KiB start buffer, and a line past the 1 MiB limit
put("didset", b"#" + b"\x01\x01" + dids[0] + b"\n" + dids[1] + b"\n")
put("didset", dids[0] + b"\n# " + b"\x01" * 27 + dids[2] + b"\n" + dids[1] + b"\x01")
# evpath: a path line, then one event
for path in [b"did", b"commit.collection", b"commit.record.text", b"commit.record.langs[0]",
             b"commit.record.embed.images[1].alt", b"commit.record", b'commit.record["$type"]',
             b"identity.handle", b"time_us"]:
    for l in events[:40:8]:
        put("evpath", path + b"\n" + l)
# glob: PATTERN NUL NAME NUL NAME ... with the sample's collections as names
cols = sorted({c for c in (l.split(b'"collection":"')[1].split(b'"')[0]
                           for l in events if b'"collection":"' in l)})
for pat in [b"app.bsky.feed.*", b"*.like", b"fm.teal.*", b"app.bsky.graph.follow",
            b"app.bsky.*.[lp]*", b"[!a]*", b"*[[:digit:]]*", b"a?p.*", b"\\*"]:
    put("glob", pat + b"\0" + b"\0".join(cols))
# jqhint: a jq program NUL an event line
for expr in [b'.kind == "identity"', b'.commit.collection == "app.bsky.feed.post" and .commit.operation == "create"',
             b'.commit.operation == "delete" and (.commit.rkey | length > 3)', b'.did == "did:plc:x" and .kind == "commit" | not']:
    for l in events[:60:6]:
        put("jqhint", expr + b"\0" + l)
# template: TEMPLATE NUL COLLECTION NUL DID NUL KIND NUL ACTION, with real
# values and hostile ones (path traversal, separators, control bytes)
hostile = [b"../../etc/passwd", b"..", b".", b"-rf", b"a/b", b"/abs", b"x\x00y", b"\x1b[31m",
           b"\xff\xfe", b"did:plc:../..", b"...", b".hidden", b"a" * 300, b""]
for tpl in [b"posts/%Y-%m-%d/%H.ndjson.zst", b"out/{collection}/{did}.ndjson", b"{did}",
            b"x/{kind}/{action}/%s.atfh", b"{{lit}}/{collection}.{did}", b"%", b"{bad}", b"a/{did"]:
    for c in cols[:3] + hostile[:7]:
        for d in dids[:2] + hostile[7:]:
            put("template", tpl + b"\0" + c + b"\0" + d + b"\0commit\0create")
# connstr: Event Hubs connection strings, good and each kind of bad
for cs in [b"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc=;EntityPath=hub",
           b"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s",
           b"endpoint=SB://a-b.x.fabric.microsoft.com:443/; SharedAccessKeyName = k ;SharedAccessKey=s==;EntityPath=es_1;",
           b"Endpoint=http://ns/;SharedAccessKeyName=k;SharedAccessKey=s",
           b"Endpoint=sb:///;SharedAccessKeyName=k;SharedAccessKey=s",
           b"SharedAccessKeyName=k;SharedAccessKey=s;EntityPath=h",
           b"Endpoint=sb://ns/;SharedAccessKey=s", b"Endpoint=sb://ns/;SharedAccessKeyName=k",
           b"Endpoint=sb://n s/;SharedAccessKeyName=k;SharedAccessKey=s", b"garbage", b";;;=;", b""]:
    put("connstr", cs)
# tap: Tap's /channel events (indigo cmd/tap) made from the sample's
# jetstream lines, as tests/subscribe/tapserver.js makes them, and the
# shapes a Tap may send: early "user" events, deletes, odd white space
import json
for i, line in enumerate(js.splitlines()[:120]):
    e = json.loads(line)
    if e.get("kind") == "commit":
        c = e["commit"]
        r = {"live": i % 3 != 0, "did": e["did"], "rev": c["rev"], "collection": c["collection"],
             "rkey": c["rkey"], "action": c["operation"]}
        for k in ("record", "cid"):
            if k in c:
                r[k] = c[k]
        put("tap", json.dumps({"id": i + 1, "type": "record", "record": r}).encode())
    elif e.get("kind") in ("identity", "account"):
        b = e[e["kind"]]
        put("tap", json.dumps({"id": i + 1, "type": "identity", "identity": {
            "did": e["did"], "handle": b.get("handle", ""), "is_active": b.get("active", True),
            "status": b.get("status", "active")}}).encode())
for t in [b'{"id":7,"type":"user","user":{"did":"did:plc:abc","handle":"a.test","isActive":false,"status":"deactivated"}}',
          b'{"id":8,"type":"record","record":{"live":true,"did":"did:plc:abc","rev":"3kb3fge5lm32x","collection":"app.bsky.feed.post","rkey":"3kb3fge5lm32x","action":"delete"}}',
          b'{ "id" : 9 ,\n "type":"record", "record":{"live":false,"did":"did:web:x.test","rev":"r","collection":"a.b","rkey":"k","action":"create","cid":"bafy","record":{\r\n"text":"a\\nb",\n"n":[1,2.5e3]}}}',
          b'{"id":-1,"type":"record"}', b'{"id":1,"type":"nope","nope":{}}', b'{"type":"identity"}',
          b'{"id":2,"type":"record","record":{"live":1,"did":"did:plc:a"}}', b'[]', b'']:
    put("tap", t)
# pubkey: a type selector byte (0 Multikey, 1 legacy secp256k1, 2 legacy
# P-256, 3 none, 4 did:key, 5 unsupported) and the text; commitsig: a
# length byte + did:key, a length byte + repo DID, the commit block.  Both
# from tests/data/sigcases.txt (keys and commits made by @atproto/crypto).
sel = {"Multikey": 0, "EcdsaSecp256k1VerificationKey2019": 1,
       "EcdsaSecp256r1VerificationKey2019": 2, "JsonWebKey2020": 5}
didkeys = {}
for line in open(os.path.join(top, "tests/data/sigcases.txt"), encoding="ascii"):
    w = line.split()
    if not w:
        continue
    if w[0] == "key":
        put("pubkey", bytes([sel.get(w[2], 0)]) + w[3].encode())
        if w[2] == "Multikey":
            didkeys[w[1]] = b"did:key:" + w[3].encode()
    elif w[0] == "didkey":
        put("pubkey", b"\x04" + w[2].encode())
        didkeys[w[1]] = w[2].encode()
    elif w[0] == "badkey":
        put("pubkey", bytes([sel.get(w[1], 0)]) + w[2].encode())
    elif w[0] == "verify":
        dk = didkeys.get(w[1].split("-")[0], b"")
        did = w[2].encode()
        put("commitsig", bytes([len(dk)]) + dk + bytes([len(did)]) + did + bytes.fromhex(w[3]))

# diddoc: a DID, a newline, its document (did:plc as plc.directory serves
# it, the legacy key form of the reference PLC, did:web, broken ones)
def diddoc_seeds():
    plc = b"did:plc:ewvi7nxzyoun6zhxrhs64oiz"
    web = b"did:web:example.com"
    good = (b'{"@context":["https://www.w3.org/ns/did/v1"],"id":"' + plc + b'",'
            b'"alsoKnownAs":["at://alice.example.com"],'
            b'"verificationMethod":[{"id":"' + plc + b'#atproto","type":"Multikey","controller":"' + plc + b'",'
            b'"publicKeyMultibase":"zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"}],'
            b'"service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"https://pds.example.com:8443/"}]}')
    legacy = (b'{"id":"' + plc + b'","alsoKnownAs":["at://bob.test"],"verificationMethod":[{"id":"#atproto",'
              b'"type":"EcdsaSecp256k1VerificationKey2019","controller":"' + plc + b'","publicKeyMultibase":"zQYEBzXeuTM9UR3rfvNag6L3RNAs5pQZyYPsomTsgQhsxLdEgCrPTLgFna8yqCnxPpNT7DBk6Ym3dgPKNu86vt9GR"}],'
              b'"service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"http://localhost:2583"}]}')
    webdoc = (b'{"id":"' + web + b'","service":[{"id":"' + web + b'#atproto_pds","type":"AtprotoPersonalDataServer",'
              b'"serviceEndpoint":"https://user@[::1]:443/x"}]}')
    head = b'{"v":2,"did":"' + plc + b'","fetched":1700000000,"pds":"pds.example.com","len":'
    cache = [head + str(len(good) + 1).encode() + b',"doc":' + good + b'}',
             head + str(len(good) + 1).encode() + b',"doc":' + good + b'}\n' + head + b'5,"doc":{}}',
             head + b'99,"doc":' + good + b'}', head + b'2,"doc":{}']
    return [plc + b"\n" + good, plc + b"\n" + legacy, web + b"\n" + webdoc,
            plc + b"\n" + good.replace(b"ewvi", b"xxxx", 1), plc + b"\n" + good[:200],
            b"https://Host.Example:1/p\n{}", plc + b'\n{"id":"' + plc + b'","service":[1,"x",{"id":"#atproto_pds"}],"alsoKnownAs":"at://x"}',
            plc + b'\n{"id":"did:plc:\\u0065wvi7nxzyoun6zhxrhs64oiz","alsoKnownAs":["at:\\/\\/e.x"]}'] + cache
for s in diddoc_seeds():
    put("diddoc", s)
# jetstream: 'x' XRPC error bodies, 'l' v1 lines, 'c' collection values, 'n' numbers
for body in [b'{"error":"CursorTooOld","message":"cursor 5 is below the retention floor; the oldest seq is 5000"}',
             b'{"error":"UnknownZstdDictionary","message":"unknown zstd dictionary 7; the current one is 4242"}',
             b'{"error":"InvalidRequest"}', b'{"error":"X","message":"a\\u0000b\\n\\"c\\"\\\\"}',
             b'{"error":"","message":"m"}', b'{"message":"no name"}', b'{"error":1}', b'subscribe: invalid options', b'']:
    put("jetstream", b"x" + body)
for l in events[:30:3]:
    put("jetstream", b"l" + l)
    put("jetstream", b"l" + l.replace(b'"time_us":', b'"cursor":12345,  "time_us" :'))
put("jetstream", b'l{"did":"did:plc:a","time_us":1,"cursor":-1}')
put("jetstream", b'l{\n "did" : "did:plc:a",\t"time_us": 1732000000000000 ,"x":"a b\\" c"}')
for c in [b"app.bsky.feed.post", b"app.bsky.*", b"app.bsky.feed-post", b"a.b", b"app.bsky.fo*", b"*",
          b"app.*.post", b"a-.b.c", b"app.bsky.feed.post1", b"app.bsky.1feed", b"x" * 320 + b".a.b", b"a..b.c"]:
    put("jetstream", b"c" + c)
# 'v': v2 frames (lexicon network.bsky.jetstream.subscribeEvents, xrpc.v1.json)
P = b'{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#'
for f in [P + b'commit","seq":12345,"did":"did:plc:a","time":"2024-09-09T19:46:02.329308Z","rev":"3l3qo2vutsw2b","operation":"create","collection":"app.bsky.feed.like","rkey":"3l3q","cid":"bafyrei","record":{"$type":"app.bsky.feed.like","t":"a\\"b\\u2028"}}}',
          P + b'commit","seq":7,"did":"did:plc:a","time":"2024-09-09T19:46:02.329308Z","rev":"r","operation":"delete","collection":"a.b.c","rkey":"k"}}',
          P + b'identity","seq":8,"did":"did:plc:a","time":"2024-09-09T19:46:02.000001Z","identity":{"did":"did:plc:a","handle":"a.test","seq":1,"time":"2024-09-09T19:46:02Z"}}}',
          P + b'account","seq":9,"did":"did:plc:a","time":"2024-09-09T19:46:02.000001Z","account":{"active":false,"status":"deleted"}}}',
          P + b'sync","seq":10,"did":"did:plc:a","time":"2024-09-09T19:46:02.000001Z","sync":{"rev":"r"}}}',
          P + b'info","name":"OutdatedCursor","message":"resumed from seq 5000"}}',
          P + b'info","message":"no name"}}', P + b'bogus","seq":1}}',
          P + b'commit","seq":-1,"did":"did:plc:a","time":"2024-09-09T19:46:02Z"}}',
          P + b'commit","seq":1,"did":"did:plc:a","time":"2024-02-30T00:00:00Z"}}',
          P + b'account","seq":1,"did":"did:plc:a","time":"2024-09-09T19:46:02Z","account":1}}',
          b'{"$type":"error","error":"ConsumerTooSlow","message":"reading below the floor rate"}',
          b'{"$type":"error","message":"x"}', b'{"$type":"message"}', b'{"$type":"message","payload":[]}',
          b'{"payload":{}}', b'{\n "$type" : "message" , "payload" : {"$type":"network.bsky.jetstream.subscribeEvents#commit",\n"seq":1,"did":"d","time":"2024-09-09T19:46:02Z","record":{ "a" : [ 1 , 2 ] }}}']:
    put("jetstream", b"v" + f)
for m in [b"the oldest seq is 5000", b"99999999999999999999999", b"no digits", b"1 2 3"]:
    put("jetstream", b"n" + m)
# 'z': compressed v2 messages: a dictionary trained here on v2 frames (its
# length in two bytes, then it), then a message compressed with it, with
# none, cut short, damaged, followed by junk, or with another dictionary
import tempfile
def zseeds():
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for i in range(300):
            f = os.path.join(tmp, "s%d" % i)
            with open(f, "wb") as fh:
                fh.write(P + b'commit","seq":%d,"did":"did:plc:a%d","time":"2024-09-09T19:46:%02d.329308Z","rev":"3l3qo2vutsw2b","operation":"create","collection":"app.bsky.feed.%s","rkey":"3l%d","cid":"bafyrei","record":{"$type":"app.bsky.feed.like","text":"post %d"}}}' % (5000 + i, i % 7, i % 60, [b"post", b"like", b"repost"][i % 3], i, i))
            names.append(f)
        dicts = []
        for ident in (77, 78):
            d = os.path.join(tmp, "d%d" % ident)
            r = subprocess.run(["zstd", "--train", "-q", "--maxdict=2048", "--dictID=%d" % ident, "-o", d] + names,
                               capture_output=True)
            if r.returncode != 0 or not os.path.exists(d):
                return []
            dicts.append(open(d, "rb").read())
        frames = [open(names[i], "rb").read() for i in (3, 150)]
        frames.append(b'{"$type":"error","error":"ConsumerTooSlow","message":"reading below the floor rate"}')
        def comp(text, *args):
            return subprocess.run(["zstd", "-qc", "--no-check"] + list(args), input=text,
                                  capture_output=True, check=True).stdout
        dpath = os.path.join(tmp, "d77")
        dpath2 = os.path.join(tmp, "d78")
        d = dicts[0]
        head = len(d).to_bytes(2, "big") + d
        out = []
        for fr in frames:
            z = comp(fr, "-D", dpath)
            out += [head + z, head + z[:-4], head + z + b"junk", head + z + z,
                    head + z[:len(z) // 2] + bytes([z[len(z) // 2] ^ 0x55]) + z[len(z) // 2 + 1:]]
        out.append(head + comp(frames[0]))                       # no dictionary
        out.append(head + comp(frames[0], "-D", dpath2))         # another dictionary
        out.append(head + comp(frames[0], "--check", "-D", dpath))
        out.append(head + comp(b"x" * 70000, "-D", dpath))      # over the limit
        out.append(head + b'{"$type":"message"}')                 # not zstd
        out.append(head + b"\x50\x2a\x4d\x18\x04\x00\x00\x00abcd")  # a skippable frame
        out.append(b"\x00\x20<html>no dictionary here</html>\n" + comp(frames[0], "-D", dpath))
        out.append(len(d).to_bytes(2, "big") + d[:8] + b"\x00" * (len(d) - 8) + comp(frames[0], "-D", dpath))
        out.append(len(d).to_bytes(2, "big") + d[:4] + b"\0\0\0\0" + d[8:] + comp(frames[0], "-D", dpath))
        return out
for z in zseeds():
    put("jetstream", b"z" + z)
# handle: 'd' DNS answers to TXT queries of _atproto.HANDLE (several
# records, a record of several strings, NXDOMAIN, truncated, a compression
# loop), 'w' well-known bodies, 'x' resolveHandle answers, handles
def dns_answer(name, records, rcode=0, qtype=16, cut=None, loop=False):
    q = b"".join(bytes([len(l)]) + l for l in name.split(b".")) + b"\0"
    hdr = bytes([0x12, 0x34, 0x81, 0x80 | rcode, 0, 1, 0, len(records), 0, 0, 0, 0])
    body = q + qtype.to_bytes(2, "big") + b"\0\1"
    for strings in records:
        rd = b"".join(bytes([len(s)]) + s for s in strings)
        owner = b"\xc0\x0c" if not loop else b"\xc0\x1c"
        body += owner + qtype.to_bytes(2, "big") + b"\0\1" + b"\0\0\1\x2c" + len(rd).to_bytes(2, "big") + rd
    m = hdr + body
    return m[:cut] if cut else m
plc = b"did:plc:ewvi7nxzyoun6zhxrhs64oiz"
hname = b"_atproto.alice.example.com"
for a in [dns_answer(hname, [[b"did=" + plc]]),
          dns_answer(hname, [[b"v=spf1 -all"], [b"did=", plc], [b"did=did:plc:other"]]),
          dns_answer(hname, [[b"did=not a did"]]), dns_answer(hname, []),
          dns_answer(hname, [], rcode=3), dns_answer(hname, [[b"did=" + plc]], cut=40),
          dns_answer(hname, [[b"did=" + plc]], loop=True), dns_answer(hname, [[b"x" * 255] * 3]),
          dns_answer(hname, [[b"did=" + plc]], qtype=1), dns_answer(hname, [[b""]])]:
    put("handle", b"d" + a)
for body in [plc, b"  " + plc + b"\r\n", b"did:web:example.com\n", b"<html>not found</html>",
             b"did:plc:" + b"a" * 3000, b"", b"did=" + plc]:
    put("handle", b"w" + body)
for body in [b'{"did":"' + plc + b'"}', b'{"error":"InvalidRequest","message":"Unable to resolve handle"}',
             b'{"did":"did:plc:\\u0065wvi7nxzyoun6zhxrhs64oiz"}', b'{"did":1}', b'[]', b'{"did":"x"', b'']:
    put("handle", b"x" + body)
for h in [b"alice.example.com", b"Alice.Bsky.Social", b"a.test", b"xn--ls8h.test", b"-a.com", b"a-.com",
          b"a..com", b"a.1com", b"localhost", b"a" * 64 + b".com", (b"a" * 63 + b".") * 4 + b"com",
          b"handle.invalid", b"a.b_c.com", b"john.local"]:
    put("handle", b"h" + h)
