"""Functional GPT-2 forward over Hugging Face-named tensors (Conv1D layout).

Independent of model.py: it reads the exported tensor dict directly, so it
checks the names and the Conv1D (input-major) layout of an export.  Used by
export.py and by tests/reference/make_golden.py (in float64).

  W: dict name -> tensor, HF GPT-2 names ("transformer.h.0.attn.c_attn.weight" ...)
  cfg: dict with n_layer, n_head, n_embd, layer_norm_epsilon
"""
import math

import torch


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2_forward(W, cfg, ids, cache=None, dtype=torch.float64):
    """ids: list[int] (new tokens).  cache: None or list of per-layer (K, V)
    with shape [n_head, past, head_dim].  Returns (logits [T, vocab], cache)."""
    g = lambda n: W[n].to(dtype)  # noqa: E731
    C, H = cfg["n_embd"], cfg["n_head"]
    D = C // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    past = 0 if cache is None else cache[0][0].shape[1]
    T = len(ids)
    idx = torch.tensor(ids, dtype=torch.long)
    x = g("transformer.wte.weight")[idx] + g("transformer.wpe.weight")[past:past + T]
    new_cache = []
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        h = layer_norm(x, g(p + "ln_1.weight"), g(p + "ln_1.bias"), eps)
        qkv = h @ g(p + "attn.c_attn.weight") + g(p + "attn.c_attn.bias")  # [T, 3C]
        q, k, v = qkv.split(C, dim=1)
        q = q.view(T, H, D).transpose(0, 1)
        k = k.view(T, H, D).transpose(0, 1)
        v = v.view(T, H, D).transpose(0, 1)
        if cache is not None:
            k = torch.cat([cache[i][0], k], dim=1)
            v = torch.cat([cache[i][1], v], dim=1)
        new_cache.append((k, v))
        S = k.shape[1]
        att = (q @ k.transpose(1, 2)) / math.sqrt(D)  # [H, T, S]
        mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(0, 1).reshape(T, C)
        x = x + y @ g(p + "attn.c_proj.weight") + g(p + "attn.c_proj.bias")
        h = layer_norm(x, g(p + "ln_2.weight"), g(p + "ln_2.bias"), eps)
        h = gelu_new(h @ g(p + "mlp.c_fc.weight") + g(p + "mlp.c_fc.bias"))
        x = x + h @ g(p + "mlp.c_proj.weight") + g(p + "mlp.c_proj.bias")
    x = layer_norm(x, g("transformer.ln_f.weight"), g("transformer.ln_f.bias"), eps)
    head = W["lm_head.weight"] if "lm_head.weight" in W else W["transformer.wte.weight"]
    return x @ head.to(dtype).t(), new_cache


def greedy(W, cfg, ids, n, forward=gpt2_forward, dtype=torch.float64):
    """KV-cached greedy continuation: prefill the prompt, then one token at a time."""
    logits, cache = forward(W, cfg, ids, None, dtype)
    out = []
    for _ in range(n):
        nxt = int(torch.argmax(logits[-1]))
        out.append(nxt)
        logits, cache = forward(W, cfg, [nxt], cache, dtype)
    return out
