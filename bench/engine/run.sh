#!/usr/bin/env bash
# The engine benchmark and its PyTorch baseline in one go, on the same random GPT-2 124M
# weights and the same thread count, then the ratios.
#
#   bench/engine/run.sh [path/to/inferline or bench_engine] [extra bench flags...]
#
# Env: THREADS (2), PROMPT (32), GEN (32), SERIAL (32), OUT (/tmp/inferline-bench).
# Without a binary it builds bench_engine in build/bench-engine (-O2 like the release preset,
# engine only).
# Writes $OUT/engine.csv, $OUT/torch.txt and prints the table and the ratios.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
THREADS="${THREADS:-2}"
PROMPT="${PROMPT:-32}"
GEN="${GEN:-32}"
SERIAL="${SERIAL:-32}"
OUT="${OUT:-/tmp/inferline-bench}"
BIN="${1:-}"
[[ $# -gt 0 ]] && shift

if [[ -z "$BIN" ]]; then
  cmake -S "$ROOT" -B "$ROOT/build/bench-engine" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DINFERLINE_COMPONENTS="common;engine" >/dev/null
  ninja -C "$ROOT/build/bench-engine" -j2 bench_engine >/dev/null
  BIN="$ROOT/build/bench-engine/bin/bench_engine"
fi
CMD=("$BIN")
[[ "$(basename "$BIN")" == "inferline" ]] && CMD=("$BIN" bench engine)

mkdir -p "$OUT"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
cd "$ROOT"
"${CMD[@]}" --threads "$THREADS" --prompt-tokens "$PROMPT" --gen-tokens "$GEN" \
  --random-model-dir "$OUT/gpt2-124m" --csv "$OUT/engine.csv" "$@"
echo
echo "PyTorch baseline (f32, $THREADS threads):"
/usr/bin/python3 "$ROOT/bench/engine/torch_baseline.py" --model "$OUT/gpt2-124m" \
  --threads "$THREADS" --prompt-tokens "$PROMPT" --gen-tokens "$GEN" --serial "$SERIAL" \
  | tee "$OUT/torch.txt"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# Ratios against the baseline (f32 rows of the engine's CSV).
python3 - "$OUT/engine.csv" "$OUT/torch.txt" "$SERIAL" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
torch = dict(line.split() for line in open(sys.argv[2]) if line.strip())
serial = sys.argv[3]
def ours(dtype, metric, c):
    for r in rows:
        if r["model"] == "gpt2-124m" and r["dtype"] == dtype and r["metric"] == metric \
                and r["concurrency"] == c:
            return float(r["value"])
    return None
t1 = float(torch["decode_tokens_per_s_1"])
ts = float(torch["serial_end_to_end_tokens_per_s"])
print()
print(f"{'':44} {'ours':>9} {'torch':>9} {'ratio':>7}")
for dtype in ("f32", "bf16", "int8"):
    one = ours(dtype, "decode_tokens_per_s", "1")
    if one is not None:
        print(f"{'decode, 1 sequence, ' + dtype:44} {one:9.1f} {t1:9.1f} {one / t1:6.2f}x")
for dtype in ("f32", "bf16", "int8"):
    e2e = ours(dtype, "end_to_end_tokens_per_s", serial)
    if e2e is not None:
        label = f"{serial} requests, {dtype} (ours at once, torch serially)"
        print(f"{label:44} {e2e:9.1f} {ts:9.1f} {e2e / ts:6.2f}x")
PY

if command -v gnuplot >/dev/null; then
  "$ROOT/bench/engine/plot.sh" "$OUT/engine.csv" "$OUT/engine.png" "$OUT/torch.txt"
fi
