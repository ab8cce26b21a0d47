#!/usr/bin/env python3
"""Byte-level BPE in the style of GPT-2: trainer, reference encoder/decoder,
and a writer for the Hugging Face `tokenizers` JSON format.

Scheme
  * Every UTF-8 byte is mapped to a printable unicode character with GPT-2's
    bytes_to_unicode table (printable Latin-1 bytes map to themselves, the
    other 68 bytes to U+0100.. in increasing byte order).  The 256 byte
    symbols are ids 0..255 in the table's order ("!" = 0, ..., "Ġ" (space) = 220).
  * Text is first split on the special token <|endoftext|> (matched before
    anything else, becomes its own id), then each part is pre-tokenized with a
    regex (GPT-2's by default), each piece is turned into byte symbols and the
    merges are applied by rank (lowest rank first, leftmost first on ties).
  * Merge k (0-based) creates the token with id 256 + (number of distinct
    tokens created so far); a merge whose result string already exists reuses
    that id (the trainer avoids this, but encoders must not assume it).

Usage
  python3 bpe.py train --input train.txt --vocab-size 4096 --out tokenizer.json
  python3 bpe.py encode --tokenizer tokenizer.json "And God said"
"""
import argparse
import heapq
import json
import sys
from collections import defaultdict

import regex

GPT2_PATTERN = (r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"
                r"|\s+(?!\S)|\s+")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
EOT = "<|endoftext|>"


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table, in id order.

    Returns a list of (byte, char) pairs: first the bytes that are printable
    in Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') mapped to themselves, then the
    remaining bytes in increasing order mapped to chr(256), chr(257), ...
    """
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
            + list(range(ord("®"), ord("ÿ") + 1)))
    table = [(b, chr(b)) for b in keep]
    extra = 0
    for b in range(256):
        if b not in keep:
            table.append((b, chr(256 + extra)))
            extra += 1
    return table


BYTE_TABLE = bytes_to_unicode()
BYTE_TO_CHAR = {b: c for b, c in BYTE_TABLE}
CHAR_TO_BYTE = {c: b for b, c in BYTE_TABLE}


def pretokenize(text, pattern=GPT2_PATTERN):
    """Split text into pieces: regex matches, plus any unmatched gaps
    (HF's Split behaviour "Isolated"; the patterns used here cover all text)."""
    rx = regex.compile(pattern) if isinstance(pattern, str) else pattern
    out, pos = [], 0
    for m in rx.finditer(text):
        if m.start() > pos:
            out.append(text[pos:m.start()])
        if m.end() > m.start():
            out.append(m.group(0))
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


def to_byte_chars(piece):
    return "".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))


# ----------------------------------------------------------------- training

def train(text, vocab_size=4096, special=(EOT,), pattern=GPT2_PATTERN, verbose=True):
    """Train byte-level BPE.  Returns (vocab: dict str->id, merges: list[(a, b)]).

    Word-frequency table + incremental pair counts: for each merge only the
    words containing the merged pair are rewritten and their pair counts
    updated.  The best pair is the one with the highest count; ties broken by
    the lexicographically smallest (a, b) string pair (deterministic).
    """
    n_merges_target = vocab_size - 256 - len(special)
    counts = defaultdict(int)
    for piece in pretokenize(text, pattern):
        counts[piece] += 1
    id_of = {c: i for i, (_b, c) in enumerate(BYTE_TABLE)}
    strs = [c for _b, c in BYTE_TABLE]  # id -> token string
    words = []  # list of [symbols(list of ids), freq]
    for piece, f in counts.items():
        words.append([[id_of[c] for c in to_byte_chars(piece)], f])

    pair_count = defaultdict(int)
    pair_words = defaultdict(set)
    for wi, (syms, f) in enumerate(words):
        for a, b in zip(syms, syms[1:]):
            pair_count[(a, b)] += f
            pair_words[(a, b)].add(wi)

    def key(p):  # heap key: max count, then smallest strings
        return (-pair_count[p], strs[p[0]], strs[p[1]], p)

    heap = [key(p) for p in pair_count]
    heapq.heapify(heap)
    merges = []
    while len(merges) < n_merges_target and heap:
        negc, _sa, _sb, p = heapq.heappop(heap)
        if -negc <= 0 or pair_count.get(p, 0) != -negc:
            continue  # stale heap entry (a fresher one was pushed)
        a, b = p
        new_str = strs[a] + strs[b]
        if new_str in id_of:
            # Would duplicate an existing token: drop the pair for good.
            pair_count[p] = 0
            continue
        new_id = len(strs)
        strs.append(new_str)
        id_of[new_str] = new_id
        merges.append((strs[a], strs[b]))
        changed = set()
        for wi in list(pair_words[p]):
            syms, f = words[wi]
            # remove old pair counts of this word
            for x, y in zip(syms, syms[1:]):
                pair_count[(x, y)] -= f
                pair_words[(x, y)].discard(wi)
                changed.add((x, y))
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[wi][0] = out
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += f
                pair_words[(x, y)].add(wi)
                changed.add((x, y))
        for q in changed:
            if pair_count[q] > 0:
                heapq.heappush(heap, key(q))
        if verbose and len(merges) % 500 == 0:
            print(f"  {len(merges)} merges, last {new_str!r} "
                  f"(count {-negc})", file=sys.stderr)
    vocab = {s: i for i, s in enumerate(strs)}
    for s in special:
        vocab[s] = len(vocab)
    return vocab, merges


def tokenizer_json(vocab, merges, special=(EOT,), pre_tokenizer=None):
    """The HF `tokenizers` JSON document (as a dict)."""
    added = [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": True, "special": True} for s in special]
    if pre_tokenizer is None:
        pre_tokenizer = {"type": "ByteLevel", "add_prefix_space": False,
                         "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True,
                           "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True,
                    "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "byte_fallback": False,
                  "vocab": dict(sorted(vocab.items(), key=lambda kv: kv[1])),
                  "merges": [f"{a} {b}" for a, b in merges]},
    }


def write_tokenizer(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


# ----------------------------------------------------------------- encoding

class Tokenizer:
    """Reference byte-level BPE encoder/decoder over a vocab + merges."""

    def __init__(self, vocab, merges, special=(EOT,), pattern=GPT2_PATTERN):
        self.vocab = dict(vocab)
        self.inv = {i: s for s, i in self.vocab.items()}
        self.ranks = {}
        for r, (a, b) in enumerate(merges):
            self.ranks.setdefault((a, b), r)
        self.special = list(special)
        self.special_rx = (regex.compile("|".join(regex.escape(s) for s in special))
                           if special else None)
        self.rx = regex.compile(pattern)
        self.cache = {}

    @classmethod
    def from_file(cls, path):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        m = doc["model"]
        merges = [tuple(x.split(" ")) if isinstance(x, str) else tuple(x)
                  for x in m["merges"]]
        special = [t["content"] for t in doc.get("added_tokens", [])]
        pt = doc["pre_tokenizer"]
        pattern = GPT2_PATTERN
        if pt and pt.get("type") == "Sequence":
            for p in pt["pretokenizers"]:
                if p["type"] == "Split":
                    pattern = p["pattern"]["Regex"]
        return cls(m["vocab"], merges, special, pattern)

    def bpe(self, piece):
        """Byte-level BPE of one pre-token (str) -> list of token strings."""
        if piece in self.cache:
            return self.cache[piece]
        syms = list(to_byte_chars(piece))
        while len(syms) > 1:
            best, best_rank = None, None
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            a, b = syms[best], syms[best + 1]
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        self.cache[piece] = syms
        return syms

    def encode_ordinary(self, text):
        ids = []
        for piece in pretokenize(text, self.rx):
            ids.extend(self.vocab[s] for s in self.bpe(piece))
        return ids

    def encode(self, text, allow_special=True):
        """Special tokens in the text are matched first (like HF added tokens)."""
        if not allow_special or self.special_rx is None:
            return self.encode_ordinary(text)
        ids, pos = [], 0
        for m in self.special_rx.finditer(text):
            ids.extend(self.encode_ordinary(text[pos:m.start()]))
            ids.append(self.vocab[m.group(0)])
            pos = m.end()
        ids.extend(self.encode_ordinary(text[pos:]))
        return ids

    def decode(self, ids):
        parts, buf = [], bytearray()
        for i in ids:
            s = self.inv[i]
            if s in self.special:
                parts.append(buf.decode("utf-8", errors="replace"))
                buf = bytearray()
                parts.append(s)
            else:
                buf.extend(CHAR_TO_BYTE[c] for c in s)
        parts.append(buf.decode("utf-8", errors="replace"))
        return "".join(parts)


_default = None


def _tok():
    global _default
    if _default is None:
        import os
        here = os.path.dirname(os.path.abspath(__file__))
        _default = Tokenizer.from_file(os.path.join(here, "..", "kjv-small", "tokenizer.json"))
    return _default


def encode(text):
    """Encode with the shipped models/kjv-small tokenizer."""
    return _tok().encode(text)


def decode(ids):
    return _tok().decode(ids)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--input", default="/tmp/kjv-data/train.txt")
    t.add_argument("--vocab-size", type=int, default=4096)
    t.add_argument("--out", required=True)
    e = sub.add_parser("encode")
    e.add_argument("--tokenizer", required=True)
    e.add_argument("text")
    args = ap.parse_args()
    if args.cmd == "train":
        import time
        t0 = time.time()
        with open(args.input, encoding="utf-8") as f:
            text = f.read()
        vocab, merges = train(text, args.vocab_size)
        write_tokenizer(args.out, tokenizer_json(vocab, merges))
        print(f"vocab {len(vocab)}, merges {len(merges)}, {time.time() - t0:.1f}s",
              file=sys.stderr)
    else:
        tok = Tokenizer.from_file(args.tokenizer)
        ids = tok.encode(args.text)
        print(ids)
        print([tok.inv[i] for i in ids])
        assert tok.decode(ids) == args.text


if __name__ == "__main__":
    main()
