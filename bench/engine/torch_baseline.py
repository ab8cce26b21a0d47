#!/usr/bin/env python3
"""PyTorch baseline for `inferline bench engine`: a plain KV-cached GPT-2 greedy generation loop
in float32 over the very same weights (the random GPT-2 124M folder the engine benchmark wrote:
config.json + model.safetensors with HF GPT2LMHeadModel names).

Measures, with torch.set_num_threads(--threads):
  - decode tokens/s of one sequence (prompt --prompt-tokens, --gen-tokens generated);
  - --serial requests served one after another (prefill + decode each): completion tokens per
    second of wall time, and the decode-only rate.
Prints `key value` lines (bench/engine/run.sh reads them).

Run with Debian's interpreter: /usr/bin/python3 bench/engine/torch_baseline.py --model DIR
"""
import argparse
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        base = 8 + n
        data = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{name}: only F32 files are supported, got {info['dtype']}")
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[base + begin : base + end], dtype=np.float32).reshape(info["shape"])
        out[name.removeprefix("transformer.")] = torch.from_numpy(arr.copy())
    return out


class Gpt2:
    """GPT-2 forward with a preallocated KV cache per layer: [batch, heads, context, head_dim]."""

    def __init__(self, w, cfg):
        self.w, self.layers = w, cfg["n_layer"]
        self.d, self.heads = cfg["n_embd"], cfg["n_head"]
        self.hd = self.d // self.heads
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)

    def new_cache(self, context):
        shape = (1, self.heads, context, self.hd)
        return [(torch.zeros(shape), torch.zeros(shape)) for _ in range(self.layers)]

    def forward(self, ids, pos, cache):
        """ids: [T] new tokens at positions pos..pos+T-1; returns the last token's logits."""
        w, d, H, hd = self.w, self.d, self.heads, self.hd
        T = ids.shape[0]
        x = w["wte.weight"][ids] + w["wpe.weight"][pos : pos + T]  # [T, d]
        for i in range(self.layers):
            p = f"h.{i}."
            h = F.layer_norm(x, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], self.eps)
            qkv = torch.addmm(w[p + "attn.c_attn.bias"], h, w[p + "attn.c_attn.weight"])
            q, k, v = qkv.split(d, dim=1)
            q = q.view(T, H, hd).transpose(0, 1).unsqueeze(0)  # [1, H, T, hd]
            kc, vc = cache[i]
            kc[0, :, pos : pos + T] = k.view(T, H, hd).transpose(0, 1)
            vc[0, :, pos : pos + T] = v.view(T, H, hd).transpose(0, 1)
            keys, values = kc[:, :, : pos + T], vc[:, :, : pos + T]
            att = (q @ keys.transpose(-1, -2)) / math.sqrt(hd)  # [1, H, T, pos+T]
            if T > 1:
                mask = torch.ones(T, pos + T, dtype=torch.bool).tril(diagonal=pos)
                att = att.masked_fill(~mask, float("-inf"))
            y = (att.softmax(-1) @ values).squeeze(0).transpose(0, 1).reshape(T, d)
            x = x + torch.addmm(w[p + "attn.c_proj.bias"], y, w[p + "attn.c_proj.weight"])
            h = F.layer_norm(x, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], self.eps)
            h = F.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], h, w[p + "mlp.c_fc.weight"]),
                       approximate="tanh")
            x = x + torch.addmm(w[p + "mlp.c_proj.bias"], h, w[p + "mlp.c_proj.weight"])
        last = F.layer_norm(x[-1:], (d,), w["ln_f.weight"], w["ln_f.bias"], self.eps)
        return (last @ w["wte.weight"].T)[0]


def generate(model, prompt, gen, context):
    """Greedy generation; returns (tokens, seconds to first token, seconds of the decode steps)."""
    cache = model.new_cache(context)
    t0 = time.perf_counter()
    logits = model.forward(prompt, 0, cache)
    tok = int(logits.argmax())
    t1 = time.perf_counter()
    out, pos = [tok], prompt.shape[0]
    for _ in range(gen - 1):
        logits = model.forward(torch.tensor([tok]), pos, cache)
        tok = int(logits.argmax())
        out.append(tok)
        pos += 1
    return out, t1 - t0, time.perf_counter() - t1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="/tmp/inferline-bench/gpt2-124m")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--gen-tokens", type=int, default=32)
    ap.add_argument("--serial", type=int, default=32, help="requests served one after another")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = json.load(open(os.path.join(args.model, "config.json")))
    model = Gpt2(load_safetensors(os.path.join(args.model, "model.safetensors")), cfg)
    context = args.prompt_tokens + args.gen_tokens
    gen = torch.Generator().manual_seed(0)
    prompts = [torch.randint(0, 4096, (args.prompt_tokens,), generator=gen)
               for _ in range(args.serial)]
    with torch.inference_mode():
        generate(model, prompts[0], 4, context)  # warm-up
        _, ttft, dec = generate(model, prompts[0], args.gen_tokens, context)
        one = (args.gen_tokens - 1) / dec
        t0 = time.perf_counter()
        decode_time = 0.0
        for p in prompts:
            _, _, d = generate(model, p, args.gen_tokens, context)
            decode_time += d
        wall = time.perf_counter() - t0
    print(f"torch_version {torch.__version__}")
    print(f"threads {args.threads}")
    print(f"ttft_seconds {ttft:.6f}")
    print(f"decode_tokens_per_s_1 {one:.3f}")
    print(f"serial_requests {args.serial}")
    print(f"serial_end_to_end_tokens_per_s {args.serial * args.gen_tokens / wall:.3f}")
    print(f"serial_decode_tokens_per_s {args.serial * (args.gen_tokens - 1) / decode_time:.3f}")


if __name__ == "__main__":
    main()
