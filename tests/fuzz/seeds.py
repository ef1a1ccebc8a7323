#!/usr/bin/env python3
"""seeds.py OUTDIR — seed corpora for every fuzz harness, cut from the
bundled sample capture and the hand-built fixtures (valid and malformed):
whole streams for `input`, single messages for `event`, record blocks for
`dagcbor`, CAR archives for `car`, binary CIDs for `cid`, jetstream lines
for `ndjson`."""
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
for s in streams:
    put("input", s)
    put("input", subprocess.run(["zstd", "-qc"], input=s, capture_output=True).stdout)
for s in streams:
    try:
        for m in A.parse_frames(s):
            put("event", m)
    except ValueError:
        pass
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
put("ndjson", b'{"did":"d","time_us":1,"kind":"commit","seq":1,"commit":{"rev":"r","operation":"create","collection":"c","rkey":"k","record":{"a":[1,2,{"b":null}]},"cid":"bafy"}}')
