# Shell helpers shared by the benchmark scripts (source it; bash only).

# A free TCP port on the loopback interface.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until something accepts connections on 127.0.0.1:$1, for up to $2 seconds (default 30).
wait_for_port() {
  local deadline=$((SECONDS + ${2:-30}))
  while ((SECONDS < deadline)); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  echo "nothing listening on port $1" >&2
  return 1
}

# CPU time (user + system, seconds) used so far by each process name among the named ones,
# summed over their processes and threads, one "name seconds" line each: cpu_snapshot NAME...
cpu_snapshot() {
  python3 - "$@" <<'PY'
import os, sys
want = set(sys.argv[1:])
ticks = {n: 0 for n in want}
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        stat = open(f'/proc/{pid}/stat').read()
    except OSError:
        continue
    name = stat[stat.index('(') + 1:stat.rindex(')')]
    if name in want:
        fields = stat[stat.rindex(')') + 2:].split()
        ticks[name] += int(fields[11]) + int(fields[12])
hz = os.sysconf('SC_CLK_TCK')
for name in sorted(want):
    print(name, ticks[name] / hz)
PY
}

# Microseconds of CPU per unit of work, per process name, between two cpu_snapshot outputs:
# cpu_per_unit BEFORE AFTER UNITS
cpu_per_unit() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
before = dict(l.split() for l in sys.argv[1].splitlines())
after = dict(l.split() for l in sys.argv[2].splitlines())
units = float(sys.argv[3])
total = 0.0
for name in sorted(after):
    us = (float(after[name]) - float(before.get(name, 0))) / units * 1e6
    total += us
    print(f'  {name:14s} {us:7.0f} us')
print(f'  {"total":14s} {total:7.0f} us')
PY
}

# wrk's summary of a run with bench/platform/post_request.lua, as "ACCEPTED OTHER SECONDS":
# responses minus the non-2xx ones (202 is the only 2xx of POST /v1/requests), the non-2xx
# responses plus socket errors, and the run's length. Reads wrk's output on stdin.
wrk_accepted() {
  python3 -c '
import re, sys
out = sys.stdin.read()
m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", out)
if not m:
    sys.exit("no wrk summary in:\n" + out)
n = int(m.group(1))
scale = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[m.group(3)]
seconds = float(m.group(2)) * scale
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
non2xx = int(non2xx.group(1)) if non2xx else 0
errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
errors = sum(int(x) for x in errors.groups()) if errors else 0
print(n - non2xx, non2xx + errors, seconds)
'
}

# The server's count of admissions answered 202 (inferline_admissions_total with result
# "accepted", or "unmetered" when the ledger fails open) at http://127.0.0.1:$1/metrics.
server_accepted() {
  curl -s "http://127.0.0.1:$1/metrics" |
    awk '/^inferline_admissions_total\{result="(accepted|unmetered)"\}/ {n += $NF}
         END {printf "%d", n}'
}

# The plan "bench": every window limited (so that the quota ledger does its full work), none
# reachable in a run.
BENCH_PLANS='{bench: {requests_per_minute: 1000000000, tokens_per_minute: 1000000000000, requests_per_day: 1000000000, tokens_per_day: 1000000000000, requests_per_month: 1000000000, tokens_per_month: 1000000000000, max_concurrent: 1000000000}}'

# `inferline serve` for the platform benches: start_serve <data dir> <port> <extra args...>.
# Listens on 127.0.0.1:<port>, logs to <data dir>.log, appends its pid to PIDS and returns once
# it accepts connections. Reads BIN, SERVER_THREADS (HTTP io threads) and ENGINE_THREADS.
start_serve() {
  local dir=$1 port=$2
  shift 2
  "$BIN" serve --host 127.0.0.1 --port "$port" --data-dir "$dir" --quota-plans "$BENCH_PLANS" \
    --http-io-threads "$SERVER_THREADS" --http-access-log=false --log-level warn \
    --engine-threads "$ENGINE_THREADS" --engine-max-slots 4 "$@" >"$dir.log" 2>&1 &
  PIDS+=($!)
  wait_for_port "$port"
}

# A new API key of the user "bench" on the plan "bench", printed: bench_key <data dir>.
bench_key() {
  "$BIN" keys create --user bench --plan bench --json --data-dir "$1" --quota-plans "$BENCH_PLANS" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
