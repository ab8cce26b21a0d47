"""GPT-2 in plain PyTorch (same maths as Hugging Face's GPT2LMHeadModel).

Learned absolute position embeddings, pre-LayerNorm blocks, causal
multi-head attention, MLP with GELU tanh approximation ("gelu_new"),
final LayerNorm, lm_head tied to the token embedding.  nn.Linear weights are
[out, in]; the HF Conv1D tensors are their transposes (see export.py).
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    vocab_size: int = 4096
    n_positions: int = 256
    n_embd: int = 256
    n_layer: int = 4
    n_head: int = 4
    layer_norm_epsilon: float = 1e-5

    def to_dict(self):
        return asdict(self)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        mask = torch.tril(torch.ones(cfg.n_positions, cfg.n_positions, dtype=torch.bool))
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x, past=None):
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, H, C // H).transpose(1, 2)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
        att = att.masked_fill(~self.mask[S - T:S, :S], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y), (k, v)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x):
        # gelu_new: 0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3)))
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg)

    def forward(self, x, past=None):
        a, present = self.attn(self.ln_1(x), past)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, present


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2's residual scaling
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def num_params(self):
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None, past=None):
        """idx [B, T] -> logits [B, T, V]; with targets also the mean CE loss.
        past: list of per-layer (k, v) caches; returns (logits, loss, presents)."""
        B, T = idx.shape
        start = 0 if past is None else past[0][0].shape[2]
        pos = torch.arange(start, start + T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)[None]
        presents = []
        for i, blk in enumerate(self.h):
            x, pr = blk(x, None if past is None else past[i])
            presents.append(pr)
        x = self.ln_f(x)
        logits = x @ self.wte.weight.t()
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss, presents

    @torch.no_grad()
    def generate(self, ids, max_new_tokens, temperature=0.0, top_k=0, eos=None,
                 generator=None):
        """KV-cached generation; temperature 0 = greedy."""
        self.eval()
        idx = torch.tensor([ids], dtype=torch.long)
        logits, _, past = self(idx)
        out = list(ids)
        for _ in range(max_new_tokens):
            last = logits[0, -1]
            if temperature <= 0:
                nxt = int(torch.argmax(last))
            else:
                last = last / temperature
                if top_k:
                    v, _ = torch.topk(last, top_k)
                    last = last.masked_fill(last < v[-1], float("-inf"))
                probs = F.softmax(last, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=generator))
            out.append(nxt)
            if eos is not None and nxt == eos:
                break
            if len(out) >= self.cfg.n_positions:
                break
            logits, _, past = self(torch.tensor([[nxt]]), past=past)
        return out
