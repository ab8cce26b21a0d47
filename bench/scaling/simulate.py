#!/usr/bin/env python3
"""Replays a request trace against a model of inferline workers scaled by KEDA's algorithm.

What is modelled (docs/scaling.md explains the choices):
  * Workers: `slots` sequences at once (engine.max_slots), continuous batching. Each tick a
    worker has `dt` seconds of compute: prompts waiting for prefill go first (prefill_tokens_per_s),
    the rest advances every decoding sequence by one token per step, a step of b sequences taking
    b / decode_tokens_per_s(b) seconds (the engine's measured aggregate rate, interpolated).
    A worker takes messages from the queue (FIFO) whenever it has a free slot. A new worker is
    Ready `startup_s` after the scale-up decision; a removed worker stops taking messages and
    leaves once its sequences are done. Worker-minutes count pods from creation to exit.
  * Metrics, as inferline exports them: queue length = messages ready (KEDA's rabbitmq trigger,
    QueueLength over AMQP: unacknowledged messages held by workers are not counted); token
    backlog = prompt + max_tokens of queued and running requests (GET /v1/admin/scaling).
  * Scaling, as KEDA's ScaledObject drives the HPA: every `sync_s` (the HPA's 15 s sync; KEDA's
    metrics server reads the scaler then) each trigger proposes ceil(metric / target) replicas
    (AverageValue), the largest proposal wins, a change within the 10 % tolerance is ignored;
    scale-up at most max(100 %, 4 pods) per 15 s; scale-down only to the highest proposal of the
    last `down_window_s` (stabilization window), at most 50 % per 60 s; min and max replicas.
Usage: simulate.py --trace trace.csv.gz --params worker-params.json --policy queue|backlog|both
                   [--queue-target N] [--backlog-target N] [--timeline out.csv]
Prints one JSON line: the policy, its targets, p50/p95/p99 queue wait, p95 end-to-end latency,
worker-minutes, peak replicas, requests.
"""
import argparse
import collections
import csv
import gzip
import json
import math
import sys


class Request:
    __slots__ = ("arrival", "prompt", "max_tokens", "completion", "kind", "start",
                 "prefill_left", "decode_left", "end")

    def __init__(self, arrival, prompt, max_tokens, completion, kind):
        self.arrival, self.prompt, self.kind = arrival, prompt, kind
        self.max_tokens, self.completion = max_tokens, completion
        self.start = self.end = None
        self.prefill_left = float(prompt)
        self.decode_left = float(completion)


class Worker:
    __slots__ = ("ready_at", "created", "active", "draining", "gone")

    def __init__(self, now, startup):
        self.created, self.ready_at = now, now + startup
        self.active, self.draining, self.gone = [], False, None


def decode_rate(params, b):
    """Aggregate decode tokens/s with b sequences, interpolated between measured points."""
    pts = sorted((int(k), v) for k, v in params["decode_tokens_per_s"].items())
    if b <= pts[0][0]:
        return pts[0][1] * b / pts[0][0]
    for (b0, r0), (b1, r1) in zip(pts, pts[1:]):
        if b <= b1:
            return r0 + (r1 - r0) * (b - b0) / (b1 - b0)
    return pts[-1][1]


def run_worker(w, params, rates, dt, now, done):
    budget = dt
    for r in w.active:  # prefill first, in arrival order
        if r.prefill_left > 0 and budget > 0:
            t = min(budget, r.prefill_left / params["prefill_tokens_per_s"])
            r.prefill_left -= t * params["prefill_tokens_per_s"]
            budget -= t
    decoding = [r for r in w.active if r.prefill_left <= 1e-9]
    if decoding and budget > 0:
        per_seq = budget * rates[len(decoding)] / len(decoding)  # tokens each sequence gets
        for r in decoding:
            r.decode_left -= per_seq
    still = []
    for r in w.active:
        if r.prefill_left <= 1e-9 and r.decode_left <= 1e-9:
            r.end = now + dt
            done.append(r)
        else:
            still.append(r)
    w.active = still


class Autoscaler:
    """The HPA as KEDA configures it (base manifests' behavior section)."""

    def __init__(self, a):
        self.a = a
        self.history = collections.deque()  # (time, recommendation) for the down window
        self.changes = collections.deque()  # (time, replicas before, replicas after)

    def desired(self, now, current, metrics):
        a = self.a
        proposals = []
        for value, target in metrics:
            ratio = value / (target * current) if current else math.inf
            if current and abs(ratio - 1.0) <= a.tolerance:
                proposals.append(current)
            else:
                proposals.append(math.ceil(value / target))
        rec = max(a.min_replicas, min(a.max_replicas, max(proposals)))
        self.history.append((now, rec))
        while self.history and self.history[0][0] < now - a.down_window_s:
            self.history.popleft()
        if rec < current:  # scale down to the highest recommendation of the window
            rec = min(current, max(r for _, r in self.history))
        while self.changes and self.changes[0][0] < now - 60.0:
            self.changes.popleft()
        if rec > current:
            rec = min(rec, max(2 * current, current + 4))
        elif rec < current:
            start = current + sum(b - c for _, b, c in self.changes if c < b)
            rec = max(rec, math.ceil(start * 0.5))
        if rec != current:
            self.changes.append((now, current, rec))
        return rec


def simulate(args, trace, params):
    dt = args.dt
    rates = [0.0] + [decode_rate(params, b) for b in range(1, params["slots"] + 1)]
    queue = collections.deque()
    workers = [Worker(-1e9, 0.0) for _ in range(args.min_replicas)]
    every_worker = list(workers)
    scaler = Autoscaler(args)
    done, timeline = [], []
    i, now, next_sync = 0, 0.0, 0.0
    end_of_trace = trace[-1].arrival if trace else 0.0
    while i < len(trace) or queue or any(w.active for w in workers):
        while i < len(trace) and trace[i].arrival <= now:
            queue.append(trace[i])
            i += 1
        for w in workers:  # free slots take messages, FIFO
            if w.ready_at <= now and not w.draining:
                while queue and len(w.active) < params["slots"]:
                    r = queue.popleft()
                    r.start = now
                    w.active.append(r)
        if now >= next_sync:
            live = [w for w in workers if not w.draining]
            running = [r for w in workers for r in w.active]
            backlog = sum(r.prompt + r.max_tokens for r in queue) + \
                sum(r.prompt + r.max_tokens for r in running)
            metrics = []
            if args.policy in ("queue", "both"):
                metrics.append((len(queue), args.queue_target))
            if args.policy in ("backlog", "both"):
                metrics.append((backlog, args.backlog_target))
            want = scaler.desired(now, len(live), metrics)
            if want > len(live):
                new = [Worker(now, params["startup_s"]) for _ in range(want - len(live))]
                workers += new
                every_worker += new
            elif want < len(live):  # the HPA removes the newest pods first
                for w in sorted(live, key=lambda w: -w.created)[: len(live) - want]:
                    w.draining = True
            timeline.append((now, len(queue), backlog, len(live),
                             sum(1 for w in live if w.ready_at <= now)))
            next_sync += args.sync_s
        for w in workers:
            run_worker(w, params, rates, dt, now, done)
            if w.draining and not w.active and w.gone is None:
                w.gone = now + dt
        workers = [w for w in workers if w.gone is None]
        now += dt
        if now > end_of_trace + 7200:
            sys.exit("simulate.py: the queue did not drain two hours after the last arrival")
    # Worker-seconds: every pod from creation (or t=0) to exit (or the last completion).
    finish = max(r.end for r in done)
    worker_s = sum((w.gone if w.gone is not None else finish) - max(0.0, w.created)
                   for w in every_worker)
    return done, timeline, worker_s


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(math.ceil(p / 100.0 * len(s))) - 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trace", required=True)
    ap.add_argument("--params", required=True)
    ap.add_argument("--policy", choices=["queue", "backlog", "both"], required=True)
    ap.add_argument("--queue-target", type=float, default=8)
    ap.add_argument("--backlog-target", type=float, default=6000)
    ap.add_argument("--min-replicas", type=int, default=1)
    ap.add_argument("--max-replicas", type=int, default=20)
    ap.add_argument("--sync-s", type=float, default=15.0)
    ap.add_argument("--down-window-s", type=float, default=300.0)
    ap.add_argument("--tolerance", type=float, default=0.1)
    ap.add_argument("--dt", type=float, default=0.05)
    ap.add_argument("--timeline", help="write time, queue, backlog, replicas, ready (CSV)")
    args = ap.parse_args()
    with open(args.params) as f:
        params = json.load(f)
    opener = gzip.open if args.trace.endswith(".gz") else open
    with opener(args.trace, "rt") as f:
        trace = [Request(float(r["arrival_s"]), int(r["prompt_tokens"]), int(r["max_tokens"]),
                         int(r["completion_tokens"]), r["kind"]) for r in csv.DictReader(f)]
    trace.sort(key=lambda r: r.arrival)
    done, timeline, worker_s = simulate(args, trace, params)
    waits = [r.start - r.arrival for r in done]
    latency = [r.end - r.arrival for r in done]
    if args.timeline:
        with open(args.timeline, "w") as f:
            f.write("time_s,queue_ready,backlog_tokens,replicas,ready\n")
            for row in timeline:
                f.write("%.1f,%d,%d,%d,%d\n" % row)
        with open(args.timeline.replace(".csv", "-wait.csv"), "w") as f:
            f.write("minute,p95_queue_wait_s\n")
            by_minute = collections.defaultdict(list)
            for r in done:
                by_minute[int(r.arrival // 60)].append(r.start - r.arrival)
            for m in sorted(by_minute):
                f.write("%d,%.3f\n" % (m, percentile(by_minute[m], 95)))
    print(json.dumps({
        "policy": args.policy,
        "queue_target": args.queue_target if args.policy != "backlog" else None,
        "backlog_target": args.backlog_target if args.policy != "queue" else None,
        "requests": len(done),
        "p50_wait_s": round(percentile(waits, 50), 3),
        "p95_wait_s": round(percentile(waits, 95), 3),
        "p99_wait_s": round(percentile(waits, 99), 3),
        "p95_latency_s": round(percentile(latency, 95), 3),
        "worker_minutes": round(worker_s / 60.0, 1),
        "peak_replicas": max(row[3] for row in timeline),
        "p95_wait_by_kind_s": {k: round(percentile([r.start - r.arrival for r in done
                                                     if r.kind == k], 95), 3)
                               for k in sorted({r.kind for r in done})},
    }))


if __name__ == "__main__":
    main()
