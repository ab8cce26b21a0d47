"""SentencePiece-style BPE with byte fallback, in the Hugging Face
`tokenizers` JSON format used by Llama-2 / TinyLlama.

Vocab: <unk>=0, <s>=1, </s>=2, <0x00>..<0xFF>=3..258, then the base
characters seen in training (sorted by code point), then one token per merge.

Encoding (HF semantics, add_special_tokens=False):
  1. the added tokens <unk>, <s>, </s> (normalized=false) are matched in the raw
     text first; they become their ids and split the text into segments;
  2. each non-empty segment is normalized on its own: prepend "▁", then
     replace every " " with "▁" (so "a</s>b" -> "▁a", </s>, "▁b");
  3. no pre-tokenizer: the whole segment is one BPE word; each character is a
     symbol if it is in the vocab, otherwise its UTF-8 bytes become <0xNN>
     symbols (byte fallback, upper-case hex);
  4. merges are applied by rank, lowest rank first, leftmost first.
Decoding: token strings, "▁" -> " ", runs of <0xNN> tokens -> UTF-8 (each
byte of an invalid run -> U+FFFD), concatenate, strip one leading space.
"""
import json
import re
from collections import Counter

SPACE = "\u2581"  # ▁
SPECIALS = ["<unk>", "<s>", "</s>"]


def byte_token(b):
    return f"<0x{b:02X}>"


def train(lines, vocab_size, min_char_count=1):
    """lines: training sentences.  Each becomes "▁" + line.replace(" ", "▁");
    words are split before every "▁" so pieces never contain an inner ▁.
    Newlines and characters outside the training text are left to byte fallback."""
    words = Counter()
    chars = Counter()
    for line in lines:
        s = SPACE + line.replace(" ", SPACE)
        for w in re.findall(f"{SPACE}[^{SPACE}]*|[^{SPACE}]+", s):
            words[w] += 1
            chars.update(w)
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for b in range(256):
        vocab[byte_token(b)] = len(vocab)
    for c in sorted(c for c, n in chars.items() if n >= min_char_count):
        vocab[c] = len(vocab)
    seqs = [(list(w), n) for w, n in words.items()]
    merges = []
    while len(vocab) < vocab_size:
        pairs = Counter()
        for syms, n in seqs:
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] += n
        best = None
        for p, n in pairs.items():  # max count, then smallest strings
            if p[0] + p[1] in vocab:
                continue
            if best is None or n > pairs[best] or (n == pairs[best] and p < best):
                best = p
        if best is None:
            break
        a, b = best
        merges.append(best)
        vocab[a + b] = len(vocab)
        for k, (syms, n) in enumerate(seqs):
            if len(syms) < 2:
                continue
            out, i = [], 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            seqs[k] = (out, n)
    return vocab, merges


def tokenizer_json(vocab, merges):
    added = [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True} for s in SPECIALS]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [vocab["<s>"]],
                                       "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


class SPTokenizer:
    def __init__(self, vocab, merges):
        self.vocab = dict(vocab)
        self.inv = {i: t for t, i in self.vocab.items()}
        self.ranks = {}
        for r, (a, b) in enumerate(merges):
            self.ranks.setdefault((a, b), r)
        self.special_rx = re.compile("|".join(re.escape(s) for s in SPECIALS))

    @classmethod
    def from_file(cls, path):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        m = doc["model"]
        return cls(m["vocab"], [tuple(x.split(" ")) for x in m["merges"]])

    def bpe_word(self, word):
        syms = []
        for c in word:
            if c in self.vocab:
                syms.append(c)
            else:
                syms.extend(byte_token(b) for b in c.encode("utf-8"))
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
        return syms

    def encode_segment(self, text):
        if not text:
            return []
        norm = SPACE + text.replace(" ", SPACE)
        return [self.vocab[t] for t in self.bpe_word(norm)]

    def encode(self, text):
        ids, pos = [], 0
        for m in self.special_rx.finditer(text):
            ids.extend(self.encode_segment(text[pos:m.start()]))
            ids.append(self.vocab[m.group(0)])
            pos = m.end()
        ids.extend(self.encode_segment(text[pos:]))
        return ids

    def decode(self, ids):
        out, buf = [], bytearray()

        def flush():
            if buf:
                try:
                    out.append(buf.decode("utf-8"))
                except UnicodeDecodeError:
                    out.append("\ufffd" * len(buf))
                buf.clear()

        for i in ids:
            t = self.inv[i].replace(SPACE, " ")
            if re.fullmatch(r"<0x[0-9A-F]{2}>", t):
                buf.append(int(t[3:5], 16))
            else:
                flush()
                out.append(t)
        flush()
        s = "".join(out)
        return s[1:] if s.startswith(" ") else s
