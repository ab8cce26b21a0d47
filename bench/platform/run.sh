#!/usr/bin/env bash
# Platform benchmarks, in one run on one machine:
#  1. accepted asynchronous requests per second: wrk POSTing /v1/requests (auth, validation,
#     exact prompt token count, quota reservation over every window, the SQLite record and
#     queue message in one transaction, the `queued` event) against `inferline serve` with the
#     worker off (worker.enabled=false, so that only admission is measured), next to nginx
#     serving a small static file with the same number of workers;
#  2. the median latency a synchronous completion adds over calling the engine directly
#     (bench_platform_latency: the same greedy request, in process vs POST /v1/completions).
#
#   bench/platform/run.sh [build-dir]      (default build/release; built if missing)
#
# Env: DURATION (10s), CONNECTIONS (64), WRK_THREADS (2), SERVER_THREADS (2: HTTP io threads and
# nginx workers), RUNS (200 sync requests), MAX_TOKENS (8), ENGINE_THREADS (1), PIN (1: the
# server's engine thread and the sync bench on one CPU, PIN_CPU, default the last).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD="${1:-$ROOT/build/release}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
WRK_THREADS="${WRK_THREADS:-2}"
SERVER_THREADS="${SERVER_THREADS:-2}"
RUNS="${RUNS:-200}"
MAX_TOKENS="${MAX_TOKENS:-8}"
ENGINE_THREADS="${ENGINE_THREADS:-1}"

if [[ ! -x "$BUILD/bin/inferline" || ! -x "$BUILD/bin/bench_platform_latency" ]]; then
  cmake --preset release -S "$ROOT" >/dev/null
  ninja -C "$BUILD" -j2 inferline bench_platform_latency >/dev/null
fi
BIN="$BUILD/bin/inferline"
for tool in nginx wrk python3 curl; do
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

# --- nginx: a small static file (the same setup as bench/http).
NGINX_PORT="$(free_port)"
mkdir -p "$TMP/www" "$TMP/temp"
printf '{"request_id":"req_0123456789abcdefghijklmn","status":"queued"}' >"$TMP/www/ticket"
# Started as root, nginx's workers run as an unprivileged user: let them read the file.
chmod 755 "$TMP" "$TMP/www"
chmod 644 "$TMP/www/ticket"
cat >"$TMP/nginx.conf" <<CONF
worker_processes $SERVER_THREADS;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/temp/body;
  proxy_temp_path $TMP/temp/proxy;
  fastcgi_temp_path $TMP/temp/fastcgi;
  uwsgi_temp_path $TMP/temp/uwsgi;
  scgi_temp_path $TMP/temp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $TMP/www;
    default_type application/json;
  }
}
CONF
"$(command -v nginx)" -c "$TMP/nginx.conf" -p "$TMP" &
PIDS+=($!)
wait_for_port "$NGINX_PORT"

# --- inferline serve (start_serve and bench_key: bench/lib.sh).
ADMIT_PORT="$(free_port)"
start_serve "$TMP/admit" "$ADMIT_PORT" --worker-enabled=false
KEY="$(bench_key "$TMP/admit")"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$ADMIT_PORT/v1/requests" \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"model":"kjv-small","prompt":"x","max_tokens":1}')
[[ "$code" == 202 ]] || { echo "admission probe answered $code" >&2; cat "$TMP/admit.log" >&2; exit 1; }

rps() { awk '/^Requests\/sec:/ {print $2}'; }
echo "== nginx, $SERVER_THREADS workers, static file" >&2
NGINX_OUT="$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$NGINX_PORT/ticket")"
echo "$NGINX_OUT" >&2
NGINX_RPS="$(rps <<<"$NGINX_OUT")"
echo "== inferline POST /v1/requests, $SERVER_THREADS io threads, worker off" >&2
SERVER_ACCEPTED_BEFORE="$(server_accepted "$ADMIT_PORT")"
OURS_OUT="$(INFERLINE_BENCH_KEY="$KEY" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" \
  -s "$ROOT/bench/platform/post_request.lua" "http://127.0.0.1:$ADMIT_PORT")"
echo "$OURS_OUT" >&2
read -r ACCEPTED OTHER SECONDS_RUN < <(wrk_accepted <<<"$OURS_OUT")
SERVER_ACCEPTED=$(( $(server_accepted "$ADMIT_PORT") - SERVER_ACCEPTED_BEFORE ))
# The server counts an admission when it answers; wrk, when it reads the answer: at most one
# answer per connection can be in flight when wrk stops.
if (( SERVER_ACCEPTED < ACCEPTED || SERVER_ACCEPTED > ACCEPTED + CONNECTIONS )); then
  echo "wrk counted $ACCEPTED accepted requests, the server $SERVER_ACCEPTED" >&2
  exit 1
fi
ACCEPTED_RPS="$(python3 -c "print(f'{$ACCEPTED/$SECONDS_RUN:.0f}')")"
OURS_P50="$(awk '/^ +Latency/ {print $2; exit}' <<<"$OURS_OUT")"

# --- Sync latency: a second server with its worker on.
SYNC_PORT="$(free_port)"
start_serve "$TMP/sync" "$SYNC_PORT"
SYNC_KEY="$(bench_key "$TMP/sync")"
# Both engines on one CPU. The in-process engine runs in the bench's process, the server's in
# the server's; left to the scheduler they often sit on different vCPUs, whose speed differs
# on this VM from run to run, and the "added" figure then measured that difference
# (0.2-2.6 ms for the same build). Pinned, the server's engine thread ("engine") and the bench
# alternate on the same CPU; the server's other threads stay free. PIN=0 turns it off.
PIN_PREFIX=()
PIN_NOTE="unpinned"
if [[ "${PIN:-1}" == 1 && "$ENGINE_THREADS" == 1 ]] && command -v taskset >/dev/null; then
  pin_cpu="${PIN_CPU:-$(($(nproc) - 1))}"
  sync_pid="${PIDS[-1]}"
  for task in /proc/"$sync_pid"/task/*; do
    if [[ "$(cat "$task/comm" 2>/dev/null)" == engine ]]; then
      taskset -p -c "$pin_cpu" "${task##*/}" >/dev/null
      PIN_PREFIX=(taskset -c "$pin_cpu")
      PIN_NOTE="both engines pinned to CPU $pin_cpu"
    fi
  done
fi
LAT_OUT="$("${PIN_PREFIX[@]}" "$BUILD/bin/bench_platform_latency" --port "$SYNC_PORT" \
  --key "$SYNC_KEY" --model "$ROOT/models/kjv-small" --runs "$RUNS" --max-tokens "$MAX_TOKENS" \
  --threads "$ENGINE_THREADS" --slots 4)"
echo "$LAT_OUT" >&2

echo
echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION; $(nproc) cores; $(date -u +%Y-%m-%d)"
printf '%-44s %12s %8s\n' "" "requests/s" "ratio"
printf '%-44s %12s %8s\n' "nginx static file" "$NGINX_RPS" "1.00"
printf '%-44s %12s %8s\n' "inferline POST /v1/requests (202 accepted)" "$ACCEPTED_RPS" \
  "$(python3 -c "print(f'{$ACCEPTED_RPS/$NGINX_RPS:.3f}')")"
echo "refused or failed during the run: $OTHER; mean admission latency (wrk): $OURS_P50"
echo
echo "sync latency: $PIN_NOTE"
echo "$LAT_OUT"
