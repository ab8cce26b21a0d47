#!/usr/bin/env python3
"""Train the kjv-small GPT-2 on CPU for a fixed wall-clock budget.

  nice -n 10 nohup /usr/bin/python3 models/train/train.py --minutes 65 \
      > /tmp/kjv-train.log 2>&1 &
  # after an interruption:
  nice -n 10 nohup /usr/bin/python3 models/train/train.py --minutes 65 --resume \
      >> /tmp/kjv-train.log 2>&1 &

Data: /tmp/kjv-data/{train,validation}.txt from prepare_data.py, tokenized
with models/kjv-small/tokenizer.json (bpe.py).  Chapters are separated by
blank lines in the text files; in the token stream each chapter is encoded on
its own and followed by <|endoftext|>, so the model learns to stop.

Schedule: AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), linear warmup
over --warmup steps, then cosine decay to 10% of the peak LR as a function of
the fraction of the wall-clock budget used (the budget is the step count).
Batches are random windows of n_positions+1 tokens.  Checkpoints (model,
optimizer, RNG, step, elapsed time) go to models/kjv-small/checkpoints/
(last.pt every --ckpt-minutes, best.pt on each held-out improvement).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bpe import Tokenizer, EOT  # noqa: E402
from model import GPT, GPTConfig  # noqa: E402

MODEL_DIR = os.path.normpath(os.path.join(HERE, "..", "kjv-small"))


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def tokenize_file(tok, path):
    cache = path + ".ids.npy"
    tok_path = os.path.join(MODEL_DIR, "tokenizer.json")
    if os.path.exists(cache) and os.path.getmtime(cache) > max(
            os.path.getmtime(path), os.path.getmtime(tok_path)):
        return np.load(cache)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    eot = tok.vocab[EOT]
    ids = []
    for chapter in text.split("\n\n"):
        chapter = chapter.strip("\n")
        if chapter:
            ids.extend(tok.encode_ordinary(chapter))
            ids.append(eot)
    arr = np.array(ids, dtype=np.int16)
    np.save(cache, arr)
    return arr


@torch.no_grad()
def evaluate(model, data, T, max_windows=None):
    """Mean CE over non-overlapping windows (fixed, deterministic)."""
    model.eval()
    n = (len(data) - 1) // T
    starts = list(range(0, n * T, T))
    if max_windows and len(starts) > max_windows:
        step = len(starts) / max_windows
        starts = [starts[int(i * step)] for i in range(max_windows)]
    total, count = 0.0, 0
    for i in range(0, len(starts), 16):
        chunk = starts[i:i + 16]
        x = torch.stack([torch.from_numpy(data[s:s + T].astype(np.int64)) for s in chunk])
        y = torch.stack([torch.from_numpy(data[s + 1:s + T + 1].astype(np.int64)) for s in chunk])
        _, loss, _ = model(x, y)
        total += loss.item() * y.numel()
        count += y.numel()
    model.train()
    return total / count


def lr_at(step, frac, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    frac = min(max(frac, 0.0), 1.0)
    lo = args.lr * args.min_lr_ratio
    return lo + 0.5 * (args.lr - lo) * (1 + math.cos(math.pi * frac))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/tmp/kjv-data")
    ap.add_argument("--minutes", type=float, default=65.0)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-minutes", type=float, default=5.0)
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-positions", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--ckpt-dir", default=os.path.join(MODEL_DIR, "checkpoints"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.ckpt_dir, exist_ok=True)

    tok = Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
    train = tokenize_file(tok, os.path.join(args.data, "train.txt"))
    val = tokenize_file(tok, os.path.join(args.data, "validation.txt"))
    log(f"train tokens {len(train)}, validation tokens {len(val)}")

    cfg = GPTConfig(vocab_size=len(tok.vocab), n_positions=args.n_positions,
                    n_embd=args.n_embd, n_layer=args.n_layer, n_head=args.n_head)
    model = GPT(cfg)
    log(f"config {cfg.to_dict()}, parameters {model.num_params()}")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "wpe" not in n
             and "wte" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "wpe"
                not in n and "wte" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    rng = np.random.default_rng(args.seed)
    step, elapsed, tokens_seen, best_val = 0, 0.0, 0, float("inf")
    history = []
    last_path = os.path.join(args.ckpt_dir, "last.pt")
    best_path = os.path.join(args.ckpt_dir, "best.pt")
    if args.resume and os.path.exists(last_path):
        ck = torch.load(last_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, elapsed, tokens_seen = ck["step"], ck["elapsed"], ck["tokens_seen"]
        best_val, history = ck["best_val"], ck["history"]
        rng.bit_generator.state = ck["np_rng"]
        torch.set_rng_state(ck["torch_rng"])
        log(f"resumed at step {step}, {elapsed / 60:.1f} min, best val {best_val:.4f}")

    def save(path, val_loss=None):
        ck = {"model": model.state_dict(), "optimizer": opt.state_dict(), "config":
              cfg.to_dict(), "step": step, "elapsed": elapsed, "tokens_seen": tokens_seen,
              "best_val": best_val, "history": history, "np_rng": rng.bit_generator.state,
              "torch_rng": torch.get_rng_state(), "val_loss": val_loss, "args": vars(args)}
        torch.save(ck, path + ".tmp")
        os.replace(path + ".tmp", path)

    budget = args.minutes * 60.0
    T, B = cfg.n_positions, args.batch
    seg_start = time.time()
    seg_elapsed0 = elapsed
    last_eval = last_ckpt = time.time()
    ema = None
    rate_t0, rate_tok0 = time.time(), tokens_seen
    model.train()
    while True:
        elapsed = seg_elapsed0 + (time.time() - seg_start)
        if elapsed >= budget:
            break
        lr = lr_at(step, elapsed / budget, args)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = rng.integers(0, len(train) - T - 1, size=B)
        x = torch.from_numpy(np.stack([train[s:s + T] for s in starts]).astype(np.int64))
        y = torch.from_numpy(np.stack([train[s + 1:s + T + 1] for s in starts]).astype(np.int64))
        _, loss, _ = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += B * T
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % 20 == 0:
            now = time.time()
            rate = (tokens_seen - rate_tok0) / (now - rate_t0)
            rate_t0, rate_tok0 = now, tokens_seen
            log(f"step {step} loss {loss.item():.4f} ema {ema:.4f} lr {lr:.2e} "
                f"tok/s {rate:.0f} tokens {tokens_seen} elapsed {elapsed / 60:.1f}m")
        if time.time() - last_eval >= args.eval_minutes * 60:
            v = evaluate(model, val, T, max_windows=64)
            history.append({"step": step, "elapsed": elapsed, "tokens": tokens_seen,
                            "train_ema": ema, "val": v})
            log(f"EVAL step {step} val {v:.4f} (ppl {math.exp(v):.2f}) train_ema {ema:.4f}")
            if v < best_val:
                best_val = v
                save(best_path, v)
            last_eval = time.time()
        if time.time() - last_ckpt >= args.ckpt_minutes * 60:
            save(last_path)
            last_ckpt = time.time()

    log("budget reached; final evaluation on the full held-out split")
    v_sub = evaluate(model, val, T, max_windows=64)  # same metric as periodic evals
    v = evaluate(model, val, T)
    tr = evaluate(model, train, T, max_windows=len(val) // T)
    history.append({"step": step, "elapsed": elapsed, "tokens": tokens_seen,
                    "train_ema": ema, "val": v_sub, "val_full": v, "train_eval": tr,
                    "final": True})
    log(f"FINAL step {step} tokens {tokens_seen} val {v:.4f} (ppl {math.exp(v):.2f}) "
        f"train {tr:.4f} (ppl {math.exp(tr):.2f}) elapsed {elapsed / 60:.1f}m "
        f"avg tok/s {tokens_seen / max(elapsed, 1):.0f}")
    save(last_path, v_sub)
    if v_sub <= best_val:
        best_val = v_sub
        save(best_path, v_sub)
    with open(os.path.join(args.ckpt_dir, "summary.json"), "w") as f:
        json.dump({"step": step, "tokens_seen": tokens_seen, "elapsed_s": elapsed,
                   "val_loss": v, "val_loss_subset": v_sub, "train_loss": tr, "best_val": best_val,
                   "params": model.num_params(), "history": history}, f, indent=1)
    log("done")


if __name__ == "__main__":
    main()
