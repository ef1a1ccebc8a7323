#!/usr/bin/env python3
"""jsoncmp -- do two NDJSON files hold the same events?

    jsoncmp.py EXPECTED ACTUAL [--max-lines N] [--show K]

Compares line by line as JSON values, keys in order (DESIGN.md: map keys
appear in the order of the CBOR), so formatting (escapes, spacing) may
differ but content and order may not.  Prints a one-line summary and the
first K differences; exit 0 when equal, 1 when not, 2 on usage errors.
"""
import json
import sys


def parse(line):
    return json.loads(line, object_pairs_hook=lambda pairs: ("{}", pairs))


def first_diff(a, b, path="$"):
    if type(a) is not type(b):
        return path, a, b
    if isinstance(a, tuple):  # object: ("{}", [(k, v), ...])
        ka, kb = [k for k, _ in a[1]], [k for k, _ in b[1]]
        if ka != kb:
            return path + " (keys)", ka, kb
        for (k, va), (_, vb) in zip(a[1], b[1]):
            d = first_diff(va, vb, "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return path + " (length)", len(a), len(b)
        for i, (va, vb) in enumerate(zip(a, b)):
            d = first_diff(va, vb, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    return None if a == b else (path, a, b)


def main(argv):
    args, max_lines, show = [], None, 5
    it = iter(argv)
    for a in it:
        if a == "--max-lines":
            max_lines = int(next(it))
        elif a == "--show":
            show = int(next(it))
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        else:
            args.append(a)
    if len(args) != 2:
        sys.stderr.write("usage: jsoncmp.py EXPECTED ACTUAL [--max-lines N] [--show K]\n")
        return 2
    n = bad = 0
    with open(args[0], encoding="utf-8") as fa, open(args[1], encoding="utf-8") as fb:
        while max_lines is None or n < max_lines:
            la, lb = fa.readline(), fb.readline()
            if not la and not lb:
                break
            n += 1
            if not la or not lb:
                bad += 1
                print("line %d: only in %s" % (n, args[0] if la else args[1]))
                break
            try:
                va = parse(la)
            except ValueError as e:
                bad += 1
                print("line %d: %s: invalid JSON: %s" % (n, args[0], e))
                continue
            try:
                vb = parse(lb)
            except ValueError as e:
                bad += 1
                print("line %d: %s: invalid JSON: %s" % (n, args[1], e))
                continue
            d = first_diff(va, vb)
            if d:
                bad += 1
                if bad <= show:
                    print("line %d: %s: %.200r != %.200r" % (n, d[0], d[1], d[2]))
    print("jsoncmp: %d lines compared, %d differ" % (n, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
