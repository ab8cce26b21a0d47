#!/usr/bin/env bash
# Where an accepted asynchronous request's CPU goes, per thread of `inferline serve`: the same
# admission load as run.sh (wrk POSTing /v1/requests, worker off), with the CPU time of each
# named thread (http-io-N, sqlite-writer, sqlite-ckpt, ...) from /proc/<pid>/task/*/stat,
# divided by the admissions the server counted; plus the SQLite writer's operations per
# transaction and bytes written per admission (its WAL). On a VM whose speed moves from run
# to run these per-admission figures are steadier than requests per second: compare two
# builds in interleaved pairs.
#
#   bench/platform/cpu_per_admission.sh [build-dir]     (default build/release; built if missing)
#
# Env: DURATION (8s), CONNECTIONS (64), SERVER_THREADS (2 HTTP io threads), WARMUP (2s).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD="${1:-$ROOT/build/release}"
DURATION="${DURATION:-8s}"
CONNECTIONS="${CONNECTIONS:-64}"
SERVER_THREADS="${SERVER_THREADS:-2}"
WARMUP="${WARMUP:-2s}"

if [[ ! -x "$BUILD/bin/inferline" ]]; then
  cmake --preset release -S "$ROOT" >/dev/null
  ninja -C "$BUILD" -j2 inferline >/dev/null
fi
BIN="$BUILD/bin/inferline"
for tool in wrk python3 curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

ENGINE_THREADS=1
PORT="$(free_port)"
start_serve "$TMP/data" "$PORT" --worker-enabled=false
SERVER_PID="${PIDS[-1]}"
KEY="$(bench_key "$TMP/data")"

run_wrk() {  # <duration>
  INFERLINE_BENCH_KEY="$KEY" wrk -t2 -c"$CONNECTIONS" -d"$1" \
    -s "$ROOT/bench/platform/post_request.lua" "http://127.0.0.1:$PORT"
}
# Per thread name: CPU ticks (user + system) summed over threads of that name; the writer's
# bytes written (wchar); the group-commit histogram's sum and count.
snapshot() {
  python3 - "$SERVER_PID" <<'PY'
import os, sys
pid = sys.argv[1]
ticks, wchar = {}, 0
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
        stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        fields = stat[stat.rindex(")") + 2:].split()
        ticks[name] = ticks.get(name, 0) + int(fields[11]) + int(fields[12])
        if name == "sqlite-writer":
            for line in open(f"/proc/{pid}/task/{tid}/io"):
                if line.startswith("wchar:"):
                    wchar += int(line.split()[1])
    except OSError:
        pass  # a thread that ended meanwhile
for name, t in ticks.items():
    print(f"ticks {name} {t}")
print(f"wchar {wchar}")
PY
  curl -s "http://127.0.0.1:$PORT/metrics" |
    awk '/^inferline_store_write_batch_size_(sum|count) / {print "batch", $1, $2}'
  echo "accepted $(server_accepted "$PORT")"
}

run_wrk "$WARMUP" >/dev/null
BEFORE="$(snapshot)"
WRK_OUT="$(run_wrk "$DURATION")"
AFTER="$(snapshot)"

python3 - "$BEFORE" "$AFTER" "$(getconf CLK_TCK)" "$DURATION" <<'PY'
import sys
def parse(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if parts[0] == "ticks":
            out[("ticks", parts[1])] = int(parts[2])
        elif parts[0] == "batch":
            out[parts[1]] = float(parts[2])
        else:
            out[parts[0]] = float(parts[1])
    return out
a, b = parse(sys.argv[1]), parse(sys.argv[2])
hz = int(sys.argv[3])
n = b["accepted"] - a["accepted"]
if n <= 0:
    sys.exit("no admission was accepted during the run")
seconds = float(sys.argv[4].rstrip("s"))
print(f"accepted {n:.0f} in {seconds:g} s: {n / seconds:,.0f}/s")
print("CPU per accepted request, by thread:")
total = 0.0
for key in sorted(k for k in b if isinstance(k, tuple)):
    us = (b[key] - a.get(key, 0)) / hz / n * 1e6
    total += us
    if us >= 0.05:
        print(f"  {key[1]:16s} {us:7.2f} us")
print(f"  {'total':16s} {total:7.2f} us")
ops = b["inferline_store_write_batch_size_sum"] - a["inferline_store_write_batch_size_sum"]
tx = b["inferline_store_write_batch_size_count"] - a["inferline_store_write_batch_size_count"]
print(f"SQLite writer: {ops / tx:.1f} operations per transaction, {(b['wchar'] - a['wchar']) / n:,.0f} bytes written per admission")
PY
