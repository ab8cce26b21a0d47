#!/usr/bin/env python3
"""Turn the Debian `bible-kjv` dump into plain training / validation text.

Input: the output of `bible -f gen1:1-rev22:21`, one verse per line, e.g.
    Ge1:1 In the beginning God created the heaven and the earth.
Output (in --out, default /tmp/kjv-data):
    train.txt  validation.txt
Each file holds plain verse text, one verse per line; chapters are
separated by one empty line, so the model learns prose without verse
references.

Split (deterministic): chapters are numbered 0..1188 in canonical order
across the whole Bible; every chapter whose index is 19 mod 20 (about 5%)
goes to validation, the rest to training.  This spreads the held-out text
over all books and styles (law, poetry, prophecy, gospels, letters).
"""
import argparse
import os
import re
import subprocess
import sys

REF = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$")


def parse(lines):
    """Yield (book, chapter, verse, text) for every verse line."""
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        m = REF.match(line)
        if not m:
            raise ValueError(f"line {n}: unexpected format: {line[:60]!r}")
        book, ch, vs, text = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
        text = " ".join(text.split())  # normalise whitespace
        yield book, ch, vs, text


def split_chapters(verses, every=20, offset=19):
    """Group verses into chapters; return (train_chapters, val_chapters)."""
    chapters = []
    key = None
    for book, ch, _vs, text in verses:
        if (book, ch) != key:
            chapters.append([])
            key = (book, ch)
        chapters[-1].append(text)
    train, val = [], []
    for i, c in enumerate(chapters):
        (val if i % every == offset else train).append(c)
    return train, val


def render(chapters):
    return "\n\n".join("\n".join(c) for c in chapters) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", help="raw dump (default: run `bible -f gen1:1-rev22:21`)")
    ap.add_argument("--out", default="/tmp/kjv-data")
    args = ap.parse_args()

    if args.input:
        with open(args.input, encoding="utf-8") as f:
            raw = f.read()
    else:
        raw = subprocess.run(["bible", "-f", "gen1:1-rev22:21"], check=True,
                             capture_output=True, text=True).stdout
    verses = list(parse(raw.splitlines()))
    train, val = split_chapters(verses)
    os.makedirs(args.out, exist_ok=True)
    for name, chs in (("train.txt", train), ("validation.txt", val)):
        text = render(chs)
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write(text)
        nv = sum(len(c) for c in chs)
        print(f"{name}: {len(chs)} chapters, {nv} verses, {len(text)} chars",
              file=sys.stderr)
    print(f"total verses: {len(verses)}", file=sys.stderr)


if __name__ == "__main__":
    main()
