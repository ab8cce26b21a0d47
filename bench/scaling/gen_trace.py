#!/usr/bin/env python3
"""Writes trace.csv.gz: two bursty hours of requests for one model (seeded: reproducible).

Phases (seconds from the start):
  0-7200     steady chat traffic: 8 requests/s, prompts of 20-300 tokens, max_tokens 64, 128 or
             256, the answer stopping at 30-100% of max_tokens (EOS);
  1200-2100  a chat burst: 60 more requests/s of the same mix;
  3000-3900  long generations: 4 more requests/s with 400-800-token prompts and max_tokens 1024,
             answering 60-100% of it: few messages, much work;
  4800-5700  tiny requests: 150 more requests/s, 10-40-token prompts, max_tokens 16: many
             messages, little work.
Each burst's rate ramps up linearly over its first 120 s and down over its last 120 s (arrivals
are a Poisson process with that rate, drawn by thinning). Columns: arrival_s, prompt_tokens, max_tokens,
completion_tokens, kind.
Usage: gen_trace.py [out.csv.gz]
"""
import gzip
import io
import random
import sys

SEED = 7
DURATION = 7200.0


def chat(rng):
    max_tokens = rng.choice([64, 128, 256])
    return rng.randint(20, 300), max_tokens, max(1, round(max_tokens * rng.uniform(0.3, 1.0)))


def long_generation(rng):
    return rng.randint(400, 800), 1024, round(1024 * rng.uniform(0.6, 1.0))


def tiny(rng):
    return rng.randint(10, 40), 16, rng.randint(4, 16)


PHASES = [  # (start, end, requests per second, kind, request maker)
    (0.0, DURATION, 8.0, "chat", chat),
    (1200.0, 2100.0, 60.0, "chat-burst", chat),
    (3000.0, 3900.0, 4.0, "long", long_generation),
    (4800.0, 5700.0, 150.0, "tiny", tiny),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "trace.csv.gz"
    rng = random.Random(SEED)
    rows = []
    for start, end, rate, kind, make in PHASES:
        ramp = 0.0 if kind == "chat" else 120.0
        t = start + rng.expovariate(rate)
        while t < end:
            share = 1.0 if ramp == 0 else min(1.0, (t - start) / ramp, (end - t) / ramp)
            if rng.random() < share:
                prompt, max_tokens, completion = make(rng)
                rows.append((t, prompt, max_tokens, completion, kind))
            t += rng.expovariate(rate)
    rows.sort()
    # mtime=0: the same seed gives the same bytes.
    raw = gzip.GzipFile(out, "wb", mtime=0) if out.endswith(".gz") else open(out, "wb")
    with io.TextIOWrapper(raw, encoding="ascii") as f:
        f.write("arrival_s,prompt_tokens,max_tokens,completion_tokens,kind\n")
        for t, p, m, c, k in rows:
            f.write(f"{t:.3f},{p},{m},{c},{k}\n")
    print(f"{out}: {len(rows)} requests over {DURATION:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
