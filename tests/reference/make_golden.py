#!/usr/bin/env python3
"""Generate the golden references under tests/golden/ for the C++ engine.

  /usr/bin/python3 tests/reference/make_golden.py            # everything
  /usr/bin/python3 tests/reference/make_golden.py --models   # only tiny models
  /usr/bin/python3 tests/reference/make_golden.py --tokenizers

Needs torch + numpy + regex (Debian: python3-torch python3-numpy python3-regex).
Not run by CI: its outputs are committed.  Deterministic (seeded); re-running
should reproduce the committed files (up to the last ulp of printed floats if
the torch build differs).

Models (tests/golden/models/<name>/{config.json, model.safetensors, golden.json}):
  gpt2-tiny, gpt2-tiny-f16, llama-tiny, llama-tiny-bf16, llama3-tiny
Tokenizers (tests/golden/tokenizer/):
  kjv-cases.json                  ids for models/kjv-small/tokenizer.json
  llama3-style/{tokenizer.json, cases.json}
  sp-bpe/{tokenizer.json, cases.json}
"""
import argparse
import hashlib
import json
import os
import sys

import torch

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "models", "train"))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import bpe  # noqa: E402
from hf_gpt2 import gpt2_forward  # noqa: E402
from llama_ref import llama_forward, rope_inv_freq  # noqa: E402
from safetensors_io import save_file, load_file  # noqa: E402
import sp_bpe  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "golden")
DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


def write_json(path, obj, indent=1):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def rnd(x, digits=7):
    return [round(float(v), digits) for v in x]


# ------------------------------------------------------------------ models

def gpt2_weights(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    n = lambda *s, std=0.15: torch.randn(*s, generator=g) * std  # noqa: E731
    C, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    W = {"transformer.wte.weight": n(V, C, std=0.2),
         "transformer.wpe.weight": n(P, C, std=0.1),
         "transformer.ln_f.weight": 1 + n(C, std=0.1),
         "transformer.ln_f.bias": n(C, std=0.1)}
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        W[p + "ln_1.weight"] = 1 + n(C, std=0.1)
        W[p + "ln_1.bias"] = n(C, std=0.1)
        W[p + "attn.c_attn.weight"] = n(C, 3 * C)      # Conv1D: [in, out]
        W[p + "attn.c_attn.bias"] = n(3 * C, std=0.1)
        W[p + "attn.c_proj.weight"] = n(C, C)
        W[p + "attn.c_proj.bias"] = n(C, std=0.1)
        W[p + "ln_2.weight"] = 1 + n(C, std=0.1)
        W[p + "ln_2.bias"] = n(C, std=0.1)
        W[p + "mlp.c_fc.weight"] = n(C, 4 * C)
        W[p + "mlp.c_fc.bias"] = n(4 * C, std=0.1)
        W[p + "mlp.c_proj.weight"] = n(4 * C, C, std=0.1)
        W[p + "mlp.c_proj.bias"] = n(C, std=0.1)
    return W


def llama_weights(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    n = lambda *s, std=0.15: torch.randn(*s, generator=g) * std  # noqa: E731
    C, V, I = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = C // H
    W = {"model.embed_tokens.weight": n(V, C, std=0.5),
         "model.norm.weight": 1 + n(C, std=0.1)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        W[p + "input_layernorm.weight"] = 1 + n(C, std=0.1)
        W[p + "self_attn.q_proj.weight"] = n(H * D, C, std=0.25)   # nn.Linear: [out, in]
        W[p + "self_attn.k_proj.weight"] = n(KV * D, C, std=0.25)
        W[p + "self_attn.v_proj.weight"] = n(KV * D, C)
        W[p + "self_attn.o_proj.weight"] = n(C, H * D)
        W[p + "post_attention_layernorm.weight"] = 1 + n(C, std=0.1)
        W[p + "mlp.gate_proj.weight"] = n(I, C)
        W[p + "mlp.up_proj.weight"] = n(I, C)
        W[p + "mlp.down_proj.weight"] = n(C, I, std=0.1)
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = n(V, C, std=0.2)
    return W


def gpt2_config(dtype):
    return {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 320,
            "n_positions": 64, "n_ctx": 64, "n_embd": 64, "n_layer": 2, "n_head": 4,
            "n_inner": None, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
            "bos_token_id": 319, "eos_token_id": 319, "tie_word_embeddings": True,
            "torch_dtype": DTYPE_NAMES[dtype]}


def llama_config(dtype, llama3=False):
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 320,
           "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
           "hidden_act": "silu", "max_position_embeddings": 128, "rms_norm_eps": 1e-5,
           "rope_theta": 10000.0, "rope_scaling": None, "attention_bias": False,
           "mlp_bias": False, "tie_word_embeddings": False, "bos_token_id": 1,
           "eos_token_id": 2, "torch_dtype": DTYPE_NAMES[dtype]}
    if llama3:
        # original_max_position_embeddings = 64 (not 32) so that, with head_dim 16 and
        # theta 500000, the 8 frequencies hit all three branches of the llama3 rule
        # (wavelengths 6.3 < 16: kept; 32.4 in [16, 64]: smoothed; >= 167 > 64: / factor).
        cfg.update({"rope_theta": 500000.0, "tie_word_embeddings": True,
                    "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
                                     "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                     "original_max_position_embeddings": 64}})
    return cfg


def pick_prompt(forward, W, cfg, seed, vocab, n_prompt=12, n_gen=20, min_margin=0.05):
    """Seeded prompt whose greedy continuation never has a near-tie (top1-top2 gap
    >= min_margin at every step), so float32 engines reproduce it exactly."""
    for attempt in range(100):
        g = torch.Generator().manual_seed(seed + attempt)
        prompt = torch.randint(0, vocab - 1, (n_prompt,), generator=g).tolist()
        logits, cache = forward(W, cfg, prompt, None)
        all_logits = logits
        out, margins = [], []
        for _ in range(n_gen):
            top = torch.topk(logits[-1], 2).values
            margins.append(float(top[0] - top[1]))
            nxt = int(torch.argmax(logits[-1]))
            out.append(nxt)
            logits, cache = forward(W, cfg, [nxt], cache)
        if min(margins) >= min_margin:
            return prompt, all_logits, out, min(margins)
    raise RuntimeError("no prompt without near-ties")


def check_cache_consistency(forward, W, cfg, prompt, greedy_ids):
    """Full recompute over prompt+greedy must give the same argmaxes and logits."""
    seq = prompt + greedy_ids
    full, _ = forward(W, cfg, seq, None)
    # chunked prefill through the cache (5 + 7 tokens, then 1 by 1) must agree
    a, cache = forward(W, cfg, prompt[:5], None)
    b, cache = forward(W, cfg, prompt[5:], cache)
    assert torch.allclose(torch.cat([a, b]), full[:len(prompt)], atol=1e-10)
    for t in range(len(prompt) - 1, len(seq) - 1):
        assert int(torch.argmax(full[t])) == seq[t + 1]


def make_model(name, cfg, W, forward, tol, seed, notes):
    out_dir = os.path.join(GOLDEN, "models", name)
    os.makedirs(out_dir, exist_ok=True)
    write_json(os.path.join(out_dir, "config.json"), cfg, indent=2)
    st = os.path.join(out_dir, "model.safetensors")
    save_file(W, st, {"format": "pt"})
    W2, _ = load_file(st)  # golden computed from exactly what was stored (upcast)
    for k in W:
        assert torch.equal(W2[k], W[k].contiguous()), k
    fwd = lambda W_, c, ids, cache, dtype=torch.float64: forward(W_, c, ids, cache, dtype)  # noqa
    prompt, logits, greedy_ids, margin = pick_prompt(fwd, W2, cfg, seed, cfg["vocab_size"])
    check_cache_consistency(fwd, W2, cfg, prompt, greedy_ids)
    # float32 self-check: a straightforward f32 evaluation stays within tolerance
    l32, _ = forward(W2, cfg, prompt, None, torch.float32)
    err32 = float((l32.double() - logits).abs().max())
    assert err32 < tol / 4, (name, err32)
    gold = {
        "model": name,
        "notes": notes,
        "prompt_ids": prompt,
        "logits_last": rnd(logits[-1]),
        "logits_all_first8": [rnd(row[:8]) for row in logits],
        "greedy_ids": greedy_ids,
        "tolerance": tol,
        "tolerance_kind": "abs(got - ref) <= tolerance * max(1, abs(ref)) for every logit",
        "greedy_min_top2_margin": round(margin, 4),
        "float32_reference_max_abs_err": float(f"{err32:.3g}"),
    }
    if cfg.get("model_type") == "llama":
        gold["rope_inv_freq"] = [float(f"{v:.17g}") for v in rope_inv_freq(cfg).tolist()]
    write_json(os.path.join(out_dir, "golden.json"), gold)
    print(f"{name}: prompt {prompt}\n  greedy {greedy_ids}\n  min margin {margin:.3f}, "
          f"f32 err {err32:.2e}, safetensors {os.path.getsize(st)} B")


def make_models():
    cfg = gpt2_config(torch.float32)
    W = gpt2_weights(cfg, 1001)
    make_model("gpt2-tiny", cfg, W, gpt2_forward, 1e-4, 11,
               "GPT-2, Conv1D weights [in,out], tied head, gelu_new, F32")
    W16 = {k: v.to(torch.float16) for k, v in W.items()}
    make_model("gpt2-tiny-f16", gpt2_config(torch.float16), W16, gpt2_forward, 1e-3, 11,
               "gpt2-tiny weights rounded to F16; golden from the F16 values upcast "
               "exactly, compute in f32/f64")

    cfg = llama_config(torch.float32)
    W = llama_weights(cfg, 2002)
    make_model("llama-tiny", cfg, W, llama_forward, 1e-4, 22,
               "Llama, GQA 4 heads / 2 kv heads, rotate_half RoPE theta 1e4, SwiGLU, "
               "RMSNorm, separate lm_head, F32")
    Wb = {k: v.to(torch.bfloat16) for k, v in W.items()}
    make_model("llama-tiny-bf16", llama_config(torch.bfloat16), Wb, llama_forward, 1e-3, 22,
               "llama-tiny weights rounded to BF16; golden from the BF16 values upcast "
               "exactly, compute in f32/f64")

    cfg = llama_config(torch.float32, llama3=True)
    W = llama_weights(cfg, 3003)
    make_model("llama3-tiny", cfg, W, llama_forward, 1e-4, 33,
               "Llama-3 rope_scaling (llama3 inv_freq rule), theta 5e5, tied embeddings "
               "(no lm_head tensor), F32")


# -------------------------------------------------------------- tokenizers

TEXTS = [
    "",
    " ",
    "And God said",
    "And God said, Let there be light: and there was light.",
    "In the beginning God created the heaven and the earth.",
    "And the LORD spake unto Moses, saying,",
    "Jesus wept.",
    "Blessed are the meek: for they shall inherit the earth.",
    "For God so loved the world, that he gave his only begotten Son, that whosoever "
    "believeth in him should not perish, but have everlasting life.",
    "The LORD is my shepherd; I shall not want.\nHe maketh me to lie down in green pastures:",
    "AND GOD SAID",
    "and god said",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure you're right; we'll see, they've gone, she'd know, it's his, don't.",
    "I'M SURE YOU'RE RIGHT, WE'LL SEE",
    "O'Brien's dog",
    "rock 'n' roll",
    "  two leading spaces",
    "trailing spaces   ",
    "a     b",
    "tab\tseparated\tvalues",
    "\t\tindented with tabs",
    "line one\nline two\n\nline four",
    "\n",
    "\n\n\n",
    "windows\r\nline endings\r\n",
    "   \n   \n",
    "mixed \t \n whitespace",
    "0",
    "42",
    "1234567890",
    "3.14159265358979",
    "1,000,000 and 2,500.75",
    "call 555-0123 or +1 (800) 123-4567",
    "v1.2.3-rc4",
    "2024-01-31T12:34:56Z",
    "$100 €200 £300 ¥400",
    "50% off!!! ???",
    "email: someone@example.com",
    "https://example.com/path/to/page?q=1&r=two#frag",
    "int main() { return 0; }",
    "x = a*b + c/d - (e^f) % g;",
    "def f(x):\n    return x ** 2\n",
    "<html><body>&amp;</body></html>",
    "naïve café résumé",
    "e\u0301 (combining acute) vs \u00e9 (precomposed)",
    "Ångström Ölfass Übermut straße",
    "Ελληνικά: Ἐν ἀρχῇ ἦν ὁ λόγος",
    "Русский текст: В начале было Слово",
    "עברית: בְּרֵאשִׁית בָּרָא",
    "العربية: في البدء",
    "日本語のテキストです。",
    "中文：起初，神创造天地。",
    "한국어 텍스트",
    "हिन्दी पाठ",
    "emoji 🙂 👍🏽 ❤️ 🎉",
    "family 👨‍👩‍👧‍👦 flag 🇺🇸",
    "non\u00a0breaking\u00a0space and ideographic\u3000space",
    "zero\u200bwidth\u200bspace",
    "<|endoftext|>",
    "first<|endoftext|>second",
    "end of text <|endoftext|> next document",
    "<|endoftext|><|endoftext|>",
    "<|endoftext",
    "<s>hello</s> <unk>",
    "’curly quotes’ and “double” — dash – en…",
    "ALLCAPS lowercase MiXeD CamelCaseWords snake_case_words",
    "Thou shalt not kill.\n\nThou shalt not commit adultery.",
    "¡Hola! ¿Qué tal?",
    "the LORD'S house and the LORD's word",
    "(God) said x(God",
    "chapter 1234567890 verse 12 and 3456",
    "abc123def 7 77 777 7777",
    "Amen.\n\nThe end.\nNext",
]

# Llama-3-style variant: the last merges of the KJV vocab are replaced by these,
# whose pairs only meet inside a piece under the Llama-3 regex (or only under
# GPT-2's), so the pre-tokenizer difference is visible in the ids.
LLAMA3_EXTRA_MERGES = [("Ċ", "Ċ"), ("3", "4"), ("1", "2"), ("12", "3"), ("'", "S"),
                       (".", "Ċ"), ("(", "God")]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def byte_level_cases(tok, texts):
    cases = []
    for t in texts:
        ids = tok.encode(t)
        dec = tok.decode(ids)
        assert dec == t, (t, dec)
        cases.append({"text": t, "ids": ids, "tokens": [tok.inv[i] for i in ids]})
    return cases


def make_tokenizers():
    kjv_path = os.path.join(ROOT, "models", "kjv-small", "tokenizer.json")
    tok = bpe.Tokenizer.from_file(kjv_path)
    out = os.path.join(GOLDEN, "tokenizer")
    write_json(os.path.join(out, "kjv-cases.json"), {
        "tokenizer": "models/kjv-small/tokenizer.json",
        "tokenizer_sha256": sha256(kjv_path),
        "pre_tokenizer": "ByteLevel (GPT-2 regex)",
        "add_special_tokens": False,
        "notes": "ids as HF tokenizers' encode(text, add_special_tokens=False); "
                 "<|endoftext|> in the text is matched first (id 4095); "
                 "decode(ids) == text for every case",
        "cases": byte_level_cases(tok, TEXTS)})

    # Llama-3 style: same vocab/merges, Split(regex, Isolated) + ByteLevel(use_regex=false)
    with open(kjv_path, encoding="utf-8") as f:
        doc = json.load(f)
    model = doc["model"]
    k = len(LLAMA3_EXTRA_MERGES)
    dropped = [tuple(m.split(" ")) for m in model["merges"][-k:]]
    vocab = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    eot_entry = vocab[-1]
    # the dropped merges created exactly the last k regular tokens, used by no other merge
    assert [t for t, _ in vocab[-1 - k:-1]] == [a + b for a, b in dropped]
    kept = model["merges"][:-k]
    assert not any(p in {a + b for a, b in dropped} for m in kept for p in m.split(" "))
    first_id = vocab[-1 - k][1]
    model["merges"] = kept + [f"{a} {b}" for a, b in LLAMA3_EXTRA_MERGES]
    vocab = vocab[:-1 - k] + [(a + b, first_id + j) for j, (a, b) in
                              enumerate(LLAMA3_EXTRA_MERGES)] + [eot_entry]
    model["vocab"] = dict(vocab)
    assert len(model["vocab"]) == len(vocab)
    doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": bpe.LLAMA3_PATTERN}, "behavior": "Isolated",
         "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
         "use_regex": False}]}
    l3_path = os.path.join(out, "llama3-style", "tokenizer.json")
    os.makedirs(os.path.dirname(l3_path), exist_ok=True)
    bpe.write_tokenizer(l3_path, doc)
    tok3 = bpe.Tokenizer.from_file(l3_path)
    assert tok3.rx.pattern == bpe.LLAMA3_PATTERN
    write_json(os.path.join(out, "llama3-style", "cases.json"), {
        "tokenizer": "tests/golden/tokenizer/llama3-style/tokenizer.json",
        "tokenizer_sha256": sha256(l3_path),
        "pre_tokenizer": "Split(Llama-3 regex, Isolated) + ByteLevel(use_regex=false)",
        "add_special_tokens": False,
        "notes": "vocab and merges of models/kjv-small except that the last "
                 f"{len(LLAMA3_EXTRA_MERGES)} merges (ids {4095 - len(LLAMA3_EXTRA_MERGES)}"
                 "..4094) are replaced by merges that make the Llama-3 pre-tokenizer "
                 "visible (digits in 1-3 groups, case-insensitive contractions, "
                 "punctuation+newlines, newline runs, punctuation+letters)",
        "cases": byte_level_cases(tok3, TEXTS)})

    # SentencePiece-style BPE with byte fallback (Llama-2 / TinyLlama format)
    with open("/tmp/kjv-data/train.txt", encoding="utf-8") as f:
        lines = [ln for ln in f.read().split("\n") if ln][:3000]
    vocab, merges = sp_bpe.train(lines, vocab_size=640)
    sp_path = os.path.join(out, "sp-bpe", "tokenizer.json")
    os.makedirs(os.path.dirname(sp_path), exist_ok=True)
    with open(sp_path, "w", encoding="utf-8") as f:
        json.dump(sp_bpe.tokenizer_json(vocab, merges), f, ensure_ascii=False)
        f.write("\n")
    sp = sp_bpe.SPTokenizer.from_file(sp_path)
    cases = []
    for t in TEXTS:
        ids = sp.encode(t)
        dec = sp.decode(ids)
        assert dec == t or (t.startswith(" ") and dec == t[1:]) or "<" in t, (t, dec)
        cases.append({"text": t, "ids": ids, "ids_with_bos": [vocab["<s>"]] + ids,
                      "tokens": [sp.inv[i] for i in ids], "decoded": dec})
    write_json(os.path.join(out, "sp-bpe", "cases.json"), {
        "tokenizer": "tests/golden/tokenizer/sp-bpe/tokenizer.json",
        "tokenizer_sha256": sha256(sp_path),
        "notes": "ids: encode(text, add_special_tokens=False); ids_with_bos: with the "
                 "TemplateProcessing post-processor (<s> prepended). decoded: "
                 "decode(ids, skip_special_tokens=False)",
        "cases": cases})
    print(f"tokenizers: {len(TEXTS)} texts; sp-bpe vocab {len(vocab)}, merges {len(merges)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", action="store_true")
    ap.add_argument("--tokenizers", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    both = not (args.models or args.tokenizers)
    if args.models or both:
        make_models()
    if args.tokenizers or both:
        make_tokenizers()


if __name__ == "__main__":
    main()
