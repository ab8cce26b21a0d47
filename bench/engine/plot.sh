#!/usr/bin/env bash
# Plots the decode throughput of bench/engine/run.sh's CSV: aggregate tokens/s against the number
# of concurrent sequences, one line per model and weight precision, the one-sequence roofline of
# each GPT-2 precision as a dashed line, and PyTorch's one-sequence rate when torch.txt is given.
#
#   bench/engine/plot.sh engine.csv out.png [torch.txt]
set -euo pipefail
CSV="$1"
PNG="$2"
TORCH="${3:-}"
DATA="$(mktemp -d)"
trap 'rm -rf "$DATA"' EXIT

python3 - "$CSV" "$DATA" "$TORCH" <<'PY'
import csv, os, sys
rows = list(csv.DictReader(open(sys.argv[1])))
out = sys.argv[2]
series, roof = {}, {}
for r in rows:
    key = f"{r['model']} {r['dtype']}"
    if r["metric"] == "decode_tokens_per_s":
        series.setdefault(key, []).append((int(r["concurrency"]), float(r["value"])))
    if r["metric"] == "roofline_tokens_per_s" and r["model"] == "gpt2-124m":
        roof[key] = float(r["value"])
with open(os.path.join(out, "series.txt"), "w") as f:
    for key, pts in series.items():
        f.write(f"# {key}\n")
        for c, v in sorted(pts):
            f.write(f"{c} {v}\n")
        f.write("\n\n")
plot = []
for i, key in enumerate(series):
    plot.append(f"'{out}/series.txt' index {i} with linespoints lw 2 pt 7 title '{key}'")
for key, v in roof.items():
    plot.append(f"{v} with lines dt 2 lw 1 title 'roofline, 1 seq, {key.split()[1]}'")
if sys.argv[3]:
    torch = dict(l.split() for l in open(sys.argv[3]) if l.strip())
    plot.append(f"'-' using 1:2 with points pt 5 ps 1.5 title 'PyTorch f32, 1 seq'")
    with open(os.path.join(out, "torch.txt"), "w") as f:
        f.write(f"1 {torch['decode_tokens_per_s_1']}\ne\n")
with open(os.path.join(out, "plot.txt"), "w") as f:
    f.write(", \\\n  ".join(plot))
PY

{
  echo "set terminal pngcairo size 900,560 font ',11'"
  echo "set output '$PNG'"
  echo "set title 'inferline engine: decode throughput (2 threads)'"
  echo "set xlabel 'concurrent sequences'"
  echo "set ylabel 'aggregate decode tokens/s'"
  echo "set logscale xy 2"
  echo "set xrange [0.8:80]"
  echo "set grid"
  echo "set key outside right"
  echo "plot $(cat "$DATA/plot.txt")"
  [[ -f "$DATA/torch.txt" ]] && cat "$DATA/torch.txt"
} | gnuplot
echo "wrote $PNG"
