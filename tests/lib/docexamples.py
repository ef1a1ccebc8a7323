#!/usr/bin/env python3
"""docexamples.py — the examples of README.md and of the man pages' EXAMPLES
sections, extracted mechanically, one JSON object a line:

    {"where": "man/atfh-grep.1:512", "cmd": "...", "output": ["..."]}

Usage: docexamples.py FILE...   (README.md, man/*.1, man/*.7)

README.md: every indented code block (four spaces after a blank line).
Man pages: every .Bd -literal ... .Ed display inside .Sh EXAMPLES, with the
roff escapes a reader sees rendered (\\e, \\-, \\&, \\(aq ...) undone.

A block holds one or more examples.  In a block with "$ " prompts an
example starts at a prompt and the lines that are not its continuation (the
previous line ends in | or \\) are its shown output.  In a block without
prompts an example starts at a line at the block's own indentation; more
indented lines, and lines after one ending in | or \\, continue it; a blank
line ends it; "# ..." comment lines belong to no example.  A block that
starts with "[" (a systemd unit) is one example as a whole.

"cmd" is the example's text as written (its lines joined with newlines,
the block's indentation removed); docs.test keys its checks by that text
with runs of white space made one space.
"""
import json
import re
import sys

ROFF = [(r'\e', '\\'), (r'\-', '-'), (r'\&', ''), (r'\(aq', "'"),
        (r'\(ti', '~'), (r'\(ha', '^'), (r'\(dq', '"'), (r'\(ga', '`'),
        (r'\ ', ' ')]


def unroff(line):
    out, i = [], 0
    while i < len(line):
        for k, v in ROFF:
            if line.startswith(k, i):
                out.append(v)
                i += len(k)
                break
        else:
            out.append(line[i])
            i += 1
    return ''.join(out)


def readme_blocks(path):
    """(first line number, [lines]) of each indented code block."""
    lines = open(path, encoding='utf-8').read().split('\n')
    blocks, cur, start, prev_blank, fence = [], None, 0, True, False
    for n, line in enumerate(lines, 1):
        if line.startswith('```'):
            fence = not fence
            if not fence and cur:
                blocks.append((start, cur))
                cur = None
            elif fence:
                cur, start = [], n + 1
            continue
        if fence:
            cur.append('    ' + line)
            continue
        if line.startswith('    ') and (cur is not None or prev_blank):
            if cur is None:
                cur, start = [], n
            cur.append(line)
        elif line.strip() == '' and cur is not None:
            cur.append('')
        else:
            if cur is not None:
                blocks.append((start, cur))
                cur = None
        prev_blank = line.strip() == ''
    if cur is not None:
        blocks.append((start, cur))
    out = []
    for start, b in blocks:
        while b and b[-1] == '':
            b.pop()
        out.append((start, [l[4:] for l in b]))
    return out


def man_blocks(path):
    lines = open(path, encoding='utf-8').read().split('\n')
    blocks, cur, start, in_ex = [], None, 0, False
    for n, line in enumerate(lines, 1):
        if line.startswith('.Sh '):
            in_ex = line.split(None, 1)[1].strip() == 'EXAMPLES'
            continue
        if not in_ex:
            continue
        if line.startswith('.Bd') and '-literal' in line:
            cur, start = [], n + 1
        elif line.startswith('.Ed') and cur is not None:
            blocks.append((start, cur))
            cur = None
        elif cur is not None:
            if line.startswith('.') or line.startswith("'"):
                continue  # a request inside the display (.Pp, .sp)
            cur.append(unroff(line))
    return blocks


def indent(line):
    return len(line) - len(line.lstrip(' '))


def open_quote(text):
    """True when the shell text leaves a quote open."""
    q = None
    i = 0
    while i < len(text):
        c = text[i]
        if q is None:
            if c == '\\':
                i += 1
            elif c in '\'"':
                q = c
        elif c == q:
            q = None
        elif q == '"' and c == '\\':
            i += 1
        i += 1
    return q is not None


def continues(cmd):
    """True when the next line continues the command lines CMD."""
    s = cmd[-1].rstrip()
    return (s.endswith('|') or s.endswith('\\') or s.endswith('&&') or
            open_quote('\n'.join(cmd)))


def split(start, lines):
    """Examples of one block: (line number, [command lines], [output])."""
    body = [l for l in lines if l.strip()]
    if not body:
        return []
    if body[0].lstrip().startswith('['):
        return [(start, [l for l in lines], [])]
    prompt = any(l.lstrip().startswith('$ ') for l in body)
    base = min(indent(l) for l in body)
    ex = []
    cur = None
    for i, line in enumerate(lines):
        n = start + i
        if not line.strip():
            cur = None
            continue
        s = line[base:] if indent(line) >= base else line.lstrip()
        if prompt:
            if s.startswith('$ '):
                cur = (n, [s[2:]], [])
                ex.append(cur)
            elif cur is not None and not cur[2] and (continues(cur[1]) or indent(line) > base):
                cur[1].append(s)
            elif cur is not None:
                cur[2].append(s)
            continue
        if s.startswith('#'):
            cur = None
            continue
        if cur is not None and (indent(line) > base or continues(cur[1])):
            cur[1].append(s)
        else:
            cur = (n, [s], [])
            ex.append(cur)
    return ex


def main():
    for path in sys.argv[1:]:
        name = path.split('/')[-1]
        rel = name if name.endswith('.md') else 'man/' + name
        blocks = readme_blocks(path) if path.endswith('.md') else man_blocks(path)
        for start, lines in blocks:
            for n, cmd, output in split(start, lines):
                print(json.dumps({'where': f'{rel}:{n}', 'cmd': '\n'.join(cmd),
                                  'output': output}, ensure_ascii=False))


if __name__ == '__main__':
    main()
