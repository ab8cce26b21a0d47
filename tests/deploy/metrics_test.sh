#!/usr/bin/env bash
# The monitoring configuration against a running `inferline serve`:
#   (a) every metric that the alert rules and the Grafana dashboard read appears in a live
#       /metrics scrape (after a completion, so that histograms and per-model series have
#       samples), except the few that other exporters provide (the allow-list below);
#   (b) a real Prometheus (Debian's package) scrapes the server with the project's alert rules
#       loaded, answers a query on ml_tokens_processed_total with a value above zero, and
#       evaluates every rule without error.
# Usage: metrics_test.sh <path-to-inferline>
set -uo pipefail
bin=$(realpath "${1:?usage: $0 <inferline binary>}")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
server_pid=""
prom_pid=""
cleanup() {
  [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
rules=$root/deploy/monitoring/prometheus/inferline-alerts.yml
dashboard=$root/deploy/monitoring/grafana/inferline-dashboard.json

# Metrics that inferline does not export itself, and where they come from.
declare -A elsewhere=(
  # RabbitMQ's rabbitmq_prometheus plugin, per-object endpoint (/metrics/per-object, port
  # 15692): messages ready per queue, used for the dead-letter queues.
  [rabbitmq_queue_messages_ready]="RabbitMQ rabbitmq_prometheus plugin"
)

"$root/deploy/tools/install.sh" >/dev/null || { echo "FAIL: deploy/tools/install.sh"; exit 1; }
names=$(cd "$root/deploy/tools" && node monitoring.mjs metric-names "$rules" "$dashboard") ||
  { echo "FAIL: could not list the metric names"; exit 1; }
[ "$(wc -l <<<"$names")" -ge 10 ] && pass "rules and dashboard read $(wc -l <<<"$names") metrics" ||
  fail "too few metric names found: $names"

# --- Start inferline serve on a free port with its own data folder.
cd "$work"
"$bin" serve --port 0 --host 127.0.0.1 --data-dir "$work/data" --log-format text >"$work/serve.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/serve.log" | head -1 | sed 's/.*://')
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: inferline serve did not start: $(cat "$work/serve.log")"; exit 1; }
base=http://127.0.0.1:$port
admin=$(cat "$work/data/admin.key")
key=$(curl -s "$base/v1/admin/keys" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
        -d '{"user_id": "metrics-test", "plan": "unlimited"}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') || { echo "FAIL: no API key"; exit 1; }
code=$(curl -s -o "$work/completion" -w '%{http_code}' "$base/v1/completions" \
         -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
         -d '{"model": "kjv-small", "prompt": "And God said", "max_tokens": 8, "seed": 1}')
[ "$code" = 200 ] && pass "one completion (200)" || fail "completion: $code $(cat "$work/completion")"

# --- (a) every metric name in a live scrape. Counters settle just after the answer: retry.
missing=""
for _ in $(seq 1 50); do
  curl -s "$base/metrics" >"$work/metrics"
  missing=""
  for n in $names; do
    [ -n "${elsewhere[$n]:-}" ] && continue
    grep -qE "^$n(\{| )" "$work/metrics" || missing="$missing $n"
  done
  [ -z "$missing" ] && break
  sleep 0.1
done
for n in $names; do
  if [ -n "${elsewhere[$n]:-}" ]; then pass "$n comes from ${elsewhere[$n]}"
  elif [[ " $missing " == *" $n "* ]]; then fail "$n is read by the rules or dashboard but not exported"
  else pass "$n is exported"; fi
done
for n in "${!elsewhere[@]}"; do
  grep -qx "$n" <<<"$names" || fail "allow-list entry $n is read by no rule or panel (stale)"
done
tokens=$(awk '/^ml_tokens_processed_total\{/ {s += $2} END {print s + 0}' "$work/metrics")
awk -v t="$tokens" 'BEGIN {exit !(t > 0)}' && pass "ml_tokens_processed_total counts $tokens tokens" ||
  fail "ml_tokens_processed_total is $tokens after a completion"

# --- (b) a real Prometheus scrapes the server with the alert rules loaded.
prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $rules
scrape_configs:
  - job_name: gateway
    static_configs:
      - targets: ["127.0.0.1:$port"]
EOF
promtool check config "$work/prometheus.yml" >/dev/null 2>&1 || fail "test's Prometheus config: $(promtool check config "$work/prometheus.yml" 2>&1)"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
prom=http://127.0.0.1:$prom_port
value=""
for _ in $(seq 1 600); do  # up to 60 s: start, first scrape, query
  kill -0 "$prom_pid" 2>/dev/null || break
  value=$(curl -s "$prom/api/v1/query" --data-urlencode 'query=ml_tokens_processed_total' | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)
except ValueError:
    sys.exit(1)
vals = [float(s["value"][1]) for s in r.get("data", {}).get("result", [])]
print(max(vals)) if vals and max(vals) > 0 else sys.exit(1)' 2>/dev/null) && break
  value=""
  sleep 0.1
done
if [ -n "$value" ]; then pass "Prometheus answers ml_tokens_processed_total = $value"; else
  fail "Prometheus gave no ml_tokens_processed_total > 0: $(tail -5 "$work/prometheus.log")"; fi

# Every rule evaluated at least once, without error.
report=""
for _ in $(seq 1 100); do
  report=$(curl -s "$prom/api/v1/rules" | python3 -c '
import json, sys
rules = [r for g in json.load(sys.stdin)["data"]["groups"] for r in g["rules"]]
bad = [r["name"] + ": " + r.get("lastError", "") for r in rules if r.get("health") != "ok"]
print(len(rules), "rules;", "; ".join(bad) if bad else "all ok")
sys.exit(1 if bad or not rules else 0)' 2>/dev/null) && break
  sleep 0.1
done
expected=$(grep -c -- '- alert:' "$rules")
if [[ "$report" == "$expected rules; all ok" ]]; then pass "Prometheus evaluates all $expected alert rules"; else
  fail "rule evaluation: ${report:-no answer} (expected $expected rules, all ok)"; fi

[ $failures -eq 0 ] && echo "all passed" || { echo "$failures failed"; exit 1; }
