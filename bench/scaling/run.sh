#!/usr/bin/env bash
# Replays trace.csv.gz against the worker model under KEDA's algorithm: the base manifests'
# targets for queue length only, token backlog only and both (as deployed), then a sweep of each
# target; writes $OUT/summary.jsonl, $OUT/table.md and the plots (docs/scaling.png and
# docs/scaling-tradeoff.png unless PLOTS says otherwise). About a minute per run on one core.
#   bench/scaling/run.sh            OUT=/tmp/inferline-scaling  PLOTS=docs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
OUT=${OUT:-/tmp/inferline-scaling}
PLOTS=${PLOTS:-$root/docs}
mkdir -p "$OUT"
: >"$OUT/summary.jsonl"
sim() { python3 "$here/simulate.py" --trace "$here/trace.csv.gz" --params "$here/worker-params.json" "$@"; }

# The base manifests (deploy/kubernetes/base/autoscaling.yaml): both triggers, 32 messages and
# 2000 tokens per worker, 1-20 replicas; then each trigger alone over a range of targets.
sim --policy both --queue-target 32 --backlog-target 2000 --timeline "$OUT/timeline-both.csv" |
  tee -a "$OUT/summary.jsonl"
for q in 2 4 8 16 32; do
  timeline=(); [ "$q" = 8 ] && timeline=(--timeline "$OUT/timeline-queue.csv")
  sim --policy queue --queue-target "$q" "${timeline[@]}" | tee -a "$OUT/summary.jsonl"
done
for b in 1000 2000 4000 6000 10000 16000; do
  timeline=(); [ "$b" = 2000 ] && timeline=(--timeline "$OUT/timeline-backlog.csv")
  sim --policy backlog --backlog-target "$b" "${timeline[@]}" | tee -a "$OUT/summary.jsonl"
done

python3 - "$OUT/summary.jsonl" >"$OUT/table.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| scaling on | target per worker | p95 queue wait (s) | p99 queue wait (s) | p95 wait, long generations (s) | p95 wait, tiny requests (s) | worker-minutes | peak replicas |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    what = {"queue": "queue length", "backlog": "token backlog", "both": "both (deployed)"}[r["policy"]]
    target = " + ".join(x for x in [
        f"{r['queue_target']:g} messages" if r["queue_target"] is not None else "",
        f"{r['backlog_target']:g} tokens" if r["backlog_target"] is not None else ""] if x)
    k = r["p95_wait_by_kind_s"]
    print(f"| {what} | {target} | {r['p95_wait_s']:.2f} | {r['p99_wait_s']:.2f} | {k['long']:.2f} | "
          f"{k['tiny']:.2f} | {r['worker_minutes']:.0f} | {r['peak_replicas']} |")
PY
cat "$OUT/table.md"
# Sweep points for the trade-off plot: worker-minutes, p95 wait, policy.
python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    t = {"queue": "%g" % (r["queue_target"] or 0), "backlog": "%g" % (r["backlog_target"] or 0),
         "both": "deployed"}[r["policy"]]
    print(r["policy"], r["worker_minutes"], r["p95_wait_s"], t)
' "$OUT/summary.jsonl" >"$OUT/tradeoff.dat"
gnuplot -e "out='$OUT'; plots='$PLOTS'" "$here/plot.gp"
echo "plots: $PLOTS/scaling.png $PLOTS/scaling-tradeoff.png"
