"""Functional Llama forward (float64 reference) over Hugging Face tensor names.

  W: dict name -> tensor ("model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", ...)
     nn.Linear layout [out_features, in_features]; y = x @ W.T
  cfg: the HF config.json dict (hidden_size, num_attention_heads, num_key_value_heads,
       rms_norm_eps, rope_theta, rope_scaling, tie_word_embeddings, ...)

RoPE uses HF's "rotate_half" convention: the head dimension is split in a first
and a second half, x' = x*cos + rotate_half(x)*sin with
rotate_half(x) = cat(-x[D/2:], x[:D/2]) and cos/sin = cat(freqs, freqs),
freqs[p, j] = p * inv_freq[j], inv_freq[j] = theta^(-2j/D), j < D/2.
"""
import math

import torch


def rope_inv_freq(cfg, dtype=torch.float64):
    H = cfg["num_attention_heads"]
    D = cfg.get("head_dim") or cfg["hidden_size"] // H
    theta = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=dtype) / D))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor = rs["factor"]
        low, high = rs["low_freq_factor"], rs["high_freq_factor"]
        orig = rs["original_max_position_embeddings"]
        low_wl, high_wl = orig / low, orig / high
        out = []
        for f in inv.tolist():
            wl = 2 * math.pi / f
            if wl < high_wl:          # high frequency: unchanged
                out.append(f)
            elif wl > low_wl:         # low frequency: divided by factor
                out.append(f / factor)
            else:                     # in between: smooth interpolation
                smooth = (orig / wl - low) / (high - low)
                out.append((1 - smooth) * f / factor + smooth * f)
        inv = torch.tensor(out, dtype=dtype)
    elif rs:
        raise NotImplementedError(rs)
    return inv


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def llama_forward(W, cfg, ids, cache=None, dtype=torch.float64):
    """ids: list[int] new tokens; cache: None or per-layer (K, V) [kv_heads, past, D]
    (K stored after RoPE).  Returns (logits [T, vocab], cache)."""
    g = lambda n: W[n].to(dtype)  # noqa: E731
    C = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    D = cfg.get("head_dim") or C // H
    eps = cfg["rms_norm_eps"]
    past = 0 if cache is None else cache[0][0].shape[1]
    T = len(ids)
    pos = torch.arange(past, past + T, dtype=dtype)
    freqs = pos[:, None] * rope_inv_freq(cfg, dtype)[None, :]       # [T, D/2]
    emb = torch.cat([freqs, freqs], dim=-1)                          # [T, D]
    cos, sin = emb.cos(), emb.sin()
    x = g("model.embed_tokens.weight")[torch.tensor(ids, dtype=torch.long)]
    new_cache = []
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, g(p + "input_layernorm.weight"), eps)
        q = (h @ g(p + "self_attn.q_proj.weight").t()).view(T, H, D).transpose(0, 1)
        k = (h @ g(p + "self_attn.k_proj.weight").t()).view(T, KV, D).transpose(0, 1)
        v = (h @ g(p + "self_attn.v_proj.weight").t()).view(T, KV, D).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            k = torch.cat([cache[i][0], k], dim=1)
            v = torch.cat([cache[i][1], v], dim=1)
        new_cache.append((k, v))
        S = k.shape[1]
        rep = H // KV  # query head j uses kv head j // rep
        kk = k.repeat_interleave(rep, dim=0)
        vv = v.repeat_interleave(rep, dim=0)
        att = (q @ kk.transpose(1, 2)) / math.sqrt(D)
        mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ vv).transpose(0, 1).reshape(T, H * D)
        x = x + y @ g(p + "self_attn.o_proj.weight").t()
        h = rms_norm(x, g(p + "post_attention_layernorm.weight"), eps)
        gate = h @ g(p + "mlp.gate_proj.weight").t()
        up = h @ g(p + "mlp.up_proj.weight").t()
        x = x + (torch.nn.functional.silu(gate) * up) @ g(p + "mlp.down_proj.weight").t()
    x = rms_norm(x, g("model.norm.weight"), eps)
    head = W["lm_head.weight"] if "lm_head.weight" in W else W["model.embed_tokens.weight"]
    return x @ head.to(dtype).t(), new_cache
