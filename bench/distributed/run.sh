#!/usr/bin/env bash
# Distributed-mode benchmarks, with RabbitMQ, PostgreSQL and Redis on this machine (private
# servers on free loopback ports in a temporary folder, stopped at the end):
#  1. accepted asynchronous requests per second: wrk POSTing /v1/requests to one
#     `inferline gateway` (auth, validation, exact prompt token count, the Redis reservation
#     over every window, the PostgreSQL record and outbox row in one group-committed
#     transaction, the relay's confirmed publish to RabbitMQ), with no worker running, so that
#     only admission is measured; with the CPU each server process spent per accepted request;
#  2. the median latency a synchronous completion adds over calling the engine directly:
#     bench_platform_latency against the gateway once one worker and one collector run.
#
#   bench/distributed/run.sh [build-dir]      (default build/release; built if missing)
#
# Env: DURATION (10s), CONNECTIONS (64), WRK_THREADS (2), SERVER_THREADS (2: the gateway's HTTP
# io threads), RUNS (100 sync requests), MAX_TOKENS (8), ENGINE_THREADS (1),
# PG_FSYNC (1: PostgreSQL with fsync and synchronous_commit on; 0: off, as the tests run it),
# PG_SETTINGS (extra PostgreSQL settings, space-separated NAME=VALUE), PG_STATEMENTS (1: print
# PostgreSQL's time per statement over the admission run, from pg_stat_statements).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BUILD="${1:-$ROOT/build/release}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
WRK_THREADS="${WRK_THREADS:-2}"
SERVER_THREADS="${SERVER_THREADS:-2}"
RUNS="${RUNS:-100}"
MAX_TOKENS="${MAX_TOKENS:-8}"
ENGINE_THREADS="${ENGINE_THREADS:-1}"
PG_FSYNC="${PG_FSYNC:-1}"

TOOLS=(inferline bench_platform_latency inferline_postgres_server rabbitmq_test_server)
missing=0
for t in "${TOOLS[@]}"; do [[ -x "$BUILD/bin/$t" ]] || missing=1; done
if [[ $missing == 1 ]]; then
  cmake --preset release -S "$ROOT" >/dev/null
  ninja -C "$BUILD" -j2 "${TOOLS[@]}" >/dev/null
fi
BIN="$BUILD/bin/inferline"
for tool in wrk python3 curl redis-server; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/setup.sh installs it)" >&2; exit 1; }
done

TMP="$(mktemp -d)"
chmod 755 "$TMP"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -f "$TMP/rabbitmq.state" ]] && "$BUILD/bin/rabbitmq_test_server" stop "$TMP/rabbitmq.state" >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT

wait_for_file() {
  for _ in $(seq 1 1200); do [[ -s "$1" ]] && return 0; sleep 0.1; done
  echo "$1 never appeared" >&2
  return 1
}

echo "== starting RabbitMQ, PostgreSQL (fsync=$PG_FSYNC) and Redis" >&2
"$BUILD/bin/rabbitmq_test_server" start "$TMP/rabbitmq.state" >&2
RABBITMQ_URL="$(sed -n 's/^url=//p' "$TMP/rabbitmq.state")"
PG_ARGS=(--url-file "$TMP/pg.url")
[[ "$PG_FSYNC" == 1 ]] && PG_ARGS+=(--fsync)
for setting in ${PG_SETTINGS:-}; do PG_ARGS+=(--set "$setting"); done
[[ "${PG_STATEMENTS:-0}" == 1 ]] && PG_ARGS+=(--set shared_preload_libraries=pg_stat_statements)
"$BUILD/bin/inferline_postgres_server" "${PG_ARGS[@]}" >"$TMP/pg.log" 2>&1 &
PIDS+=($!)
wait_for_file "$TMP/pg.url"
POSTGRES_URL="$(cat "$TMP/pg.url")"
REDIS_PORT="$(free_port)"
mkdir -p "$TMP/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP/redis" --save "" \
  --appendonly no --daemonize no --logfile "$TMP/redis.log" &
PIDS+=($!)
wait_for_port "$REDIS_PORT"

ADMIN_KEY="sk-il-$(python3 -c 'import secrets,string; a=string.digits+string.ascii_letters; print("".join(secrets.choice(a) for _ in range(40)))')"
COMMON=(--rabbitmq-url "$RABBITMQ_URL" --rabbitmq-queue-prefix bench. --rabbitmq-max-length 100000000
        --postgres-url "$POSTGRES_URL" --redis-url "redis://127.0.0.1:$REDIS_PORT"
        --admin-key "$ADMIN_KEY" --quota-plans "$BENCH_PLANS" --engine-threads "$ENGINE_THREADS"
        --log-level warn)
"$BIN" migrate "${COMMON[@]}" >"$TMP/migrate.log" 2>&1

GATEWAY_PORT="$(free_port)"
"$BIN" gateway "${COMMON[@]}" --host 127.0.0.1 --port "$GATEWAY_PORT" \
  --http-io-threads "$SERVER_THREADS" --http-access-log=false ${GATEWAY_ARGS:-} >"$TMP/gateway.log" 2>&1 &
PIDS+=($!)
wait_for_port "$GATEWAY_PORT" 60
KEY="$(curl -sf -X POST "http://127.0.0.1:$GATEWAY_PORT/v1/admin/keys" \
  -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' \
  -d '{"user":"bench","plan":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$GATEWAY_PORT/v1/requests" \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"model":"kjv-small","prompt":"x","max_tokens":1}')
[[ "$code" == 202 ]] || { echo "admission probe answered $code" >&2; cat "$TMP/gateway.log" >&2; exit 1; }

echo "== inferline gateway POST /v1/requests, $SERVER_THREADS io threads, no worker" >&2
# CPU of the servers over the run (wrk's own is not counted: it exits before the second read).
SERVERS=(inferline postgres beam.smp redis-server)
if [[ "${PG_STATEMENTS:-0}" == 1 ]]; then
  psql -q "$POSTGRES_URL" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' \
    -c 'SELECT pg_stat_statements_reset()' >/dev/null
fi
CPU_BEFORE="$(cpu_snapshot "${SERVERS[@]}")"
SERVER_ACCEPTED_BEFORE="$(server_accepted "$GATEWAY_PORT")"
OURS_OUT="$(INFERLINE_BENCH_KEY="$KEY" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" \
  -s "$ROOT/bench/platform/post_request.lua" "http://127.0.0.1:$GATEWAY_PORT")"
CPU_AFTER="$(cpu_snapshot "${SERVERS[@]}")"
echo "$OURS_OUT" >&2
read -r ACCEPTED OTHER SECONDS_RUN < <(wrk_accepted <<<"$OURS_OUT")
SERVER_ACCEPTED=$(( $(server_accepted "$GATEWAY_PORT") - SERVER_ACCEPTED_BEFORE ))
# The server counts an admission when it answers; wrk, when it reads the answer: at most one
# answer per connection can be in flight when wrk stops.
if (( SERVER_ACCEPTED < ACCEPTED || SERVER_ACCEPTED > ACCEPTED + CONNECTIONS )); then
  echo "wrk counted $ACCEPTED accepted requests, the server $SERVER_ACCEPTED" >&2
  exit 1
fi
ACCEPTED_RPS="$(python3 -c "print(f'{$ACCEPTED/$SECONDS_RUN:.0f}')")"
OURS_MEAN="$(awk '/^ +Latency/ {print $2; exit}' <<<"$OURS_OUT")"
# Everything accepted must reach RabbitMQ: wait for the relay to have published every row
# (the accepted requests and the probe).
published=0
for _ in $(seq 1 600); do
  published="$(curl -s "http://127.0.0.1:$GATEWAY_PORT/metrics" |
    awk '/^inferline_store_outbox_published_total[ {]/ {s += $NF} END {printf "%d", s}')"
  (( published >= SERVER_ACCEPTED + 1 )) && break
  sleep 0.5
done
echo "outbox rows published: $published of $((SERVER_ACCEPTED + 1))" >&2
if [[ "${PG_STATEMENTS:-0}" == 1 ]]; then
  echo "== PostgreSQL statements over the run (us per accepted request)"
  psql -q "$POSTGRES_URL" -P pager=off -c "SELECT round((total_exec_time * 1000 / $ACCEPTED)::numeric, 1) AS us_per_request, calls, round((total_exec_time * 1000 / calls)::numeric, 1) AS us_per_call, left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"
fi

# --- Sync latency: one worker and one collector join. The queue still holds the requests
# accepted above; the test drains it first (they are 8-token requests) by waiting for the
# worker to catch up, so that the sync requests do not queue behind them.
"$BIN" collector "${COMMON[@]}" --host 127.0.0.1 --port "$(free_port)" >"$TMP/collector.log" 2>&1 &
PIDS+=($!)
"$BIN" worker "${COMMON[@]}" --host 127.0.0.1 --port "$(free_port)" --engine-max-slots 4 \
  >"$TMP/worker.log" 2>&1 &
PIDS+=($!)
SYNC_OUT=""
if [[ "${SKIP_SYNC:-0}" != 1 ]]; then
  echo "== draining the accepted requests before the sync runs" >&2
  for _ in $(seq 1 3600); do
    ready="$(curl -s "http://127.0.0.1:$GATEWAY_PORT/metrics" |
      awk '/^inferline_queue_depth[ {]/ {s += $NF} END {printf "%d", s}')"
    [[ "$ready" == 0 ]] && break
    sleep 1
  done
  SYNC_OUT="$("$BUILD/bin/bench_platform_latency" --port "$GATEWAY_PORT" --key "$KEY" \
    --model "$ROOT/models/kjv-small" --runs "$RUNS" --max-tokens "$MAX_TOKENS" \
    --threads "$ENGINE_THREADS" --slots 4)"
  echo "$SYNC_OUT" >&2
fi

echo
echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION; $(nproc) cores; RabbitMQ, PostgreSQL (fsync=$PG_FSYNC) and Redis on this machine; $(date -u +%Y-%m-%d)"
printf '%-52s %12s\n' "" "requests/s"
printf '%-52s %12s\n' "inferline gateway POST /v1/requests (202 accepted)" "$ACCEPTED_RPS"
echo "refused or failed during the run: $OTHER; mean admission latency (wrk): $OURS_MEAN"
echo "CPU per accepted request (inferline is the gateway with its relay; beam.smp is RabbitMQ):"
cpu_per_unit "$CPU_BEFORE" "$CPU_AFTER" "$((ACCEPTED > 0 ? ACCEPTED : 1))"
echo
echo "$SYNC_OUT"
