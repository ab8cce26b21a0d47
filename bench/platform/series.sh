#!/usr/bin/env bash
# Runs bench/platform/run.sh N times in a row and prints one Markdown row per run, then the
# medians, and how many runs met each target (at least 0.3 of nginx's requests per second; at
# most 1 ms added to a sync request). A single run on a small VM moves by 10-20%, so the
# median of a series is the figure to compare (docs/benchmarks.md).
#
#   bench/platform/series.sh [N] [build-dir]     (default 6 runs, build/release)
#
# The environment of run.sh applies to every run (DURATION, RUNS, CONNECTIONS, ...). Each
# run's full output is kept in $OUT_DIR (default: a temporary folder, printed at the end).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
N="${1:-6}"
BUILD="${2:-$ROOT/build/release}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [runs >= 1] [build-dir]" >&2; exit 2; }
OUT_DIR="${OUT_DIR:-$(mktemp -d)}"
mkdir -p "$OUT_DIR"

for ((i = 1; i <= N; i++)); do
  echo "== run $i of $N" >&2
  if ! "$ROOT/bench/platform/run.sh" "$BUILD" >"$OUT_DIR/run$i.out" 2>"$OUT_DIR/run$i.err"; then
    echo "run $i failed; its output:" >&2
    tail -20 "$OUT_DIR/run$i.err" >&2
    exit 1
  fi
done

python3 - "$OUT_DIR" "$N" <<'PY'
import re, statistics, sys
out_dir, n = sys.argv[1], int(sys.argv[2])
rows = []
for i in range(1, n + 1):
    text = open(f"{out_dir}/run{i}.out").read()
    nginx = float(re.search(r"^nginx static file\s+([\d.]+)", text, re.M).group(1))
    ours = re.search(r"^inferline POST /v1/requests \(202 accepted\)\s+([\d.]+)\s+([\d.]+)", text, re.M)
    added = float(re.search(r"^added median ms ([\d.]+)", text, re.M).group(1))
    rows.append((nginx, float(ours.group(1)), float(ours.group(2)), added))
print("| run | nginx /s | accepted /s | ratio | sync added, median ms |")
print("|---|---:|---:|---:|---:|")
for i, (nginx, ours, ratio, added) in enumerate(rows, 1):
    print(f"| {i} | {nginx:,.0f} | {ours:,.0f} | {ratio:.3f} | {added:.2f} |")
ratios = [r[2] for r in rows]
added = [r[3] for r in rows]
print()
print(f"median ratio {statistics.median(ratios):.3f} (at least 0.3 in {sum(r >= 0.3 for r in ratios)} of {n} runs); "
      f"median sync added {statistics.median(added):.2f} ms (at most 1 ms in {sum(a <= 1.0 for a in added)} of {n} runs)")
PY
echo "full outputs: $OUT_DIR" >&2
