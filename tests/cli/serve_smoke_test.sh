#!/usr/bin/env bash
# The binary as a user meets it: `inferline serve` starts, answers /healthz, exposes metrics
# that promtool accepts, refuses bad configuration naming the key, and on SIGTERM lets a slow
# request finish, then exits 0; `inferline version` names the malloc the build chose.
# Usage: serve_smoke_test.sh <path-to-inferline> [jemalloc|glibc]
set -uo pipefail
bin=$(realpath "${1:?usage: $0 <inferline binary>}")
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
failures=0
cd "$work"  # anything serve writes by default (its data folder) stays in the temp folder
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# --- The build's malloc (CMake's INFERLINE_MALLOC) is the one the binary runs on.
if [ -n "${2:-}" ]; then
  out=$("$bin" version 2>&1)
  if grep -q "malloc: $2" <<<"$out"; then pass "malloc is $2"; else fail "malloc: expected $2: $out"; fi
fi

# --- Configuration errors name the key (and the file line), exit code 2.
expect_config_error() {  # <description> <expected text> <args...>
  local what=$1 text=$2; shift 2
  local out rc
  out=$("$bin" serve "$@" 2>&1 </dev/null); rc=$?
  if [ $rc -eq 2 ] && grep -q -- "$text" <<<"$out"; then pass "$what"; else
    fail "$what: rc=$rc output: $out"; fi
}
printf 'http:\n  port: 8080\n  prot: 1\n' >"$work/unknown.yaml"
printf 'http:\n  port: eighty\n' >"$work/type.yaml"
printf 'http:\n  port: 70000\n' >"$work/range.yaml"
expect_config_error "unknown key in file" "unknown.yaml:3: unknown key 'http.prot'" --config "$work/unknown.yaml"
expect_config_error "bad type in file" "'http.port' expects an integer" --config "$work/type.yaml"
expect_config_error "out of range in file" "'http.port' must be between 0 and 65535" --config "$work/range.yaml"
out=$(INFERLINE_HTTP_IO_THREADS=zero "$bin" serve 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "INFERLINE_HTTP_IO_THREADS" <<<"$out"; then pass "bad environment variable"; else fail "bad env: rc=$rc $out"; fi
out=$("$bin" serve --port -1 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q "http.port" <<<"$out"; then pass "bad flag value"; else fail "bad flag: rc=$rc $out"; fi

# --- --print-config masks nothing it shouldn't and shows sources.
out=$(INFERLINE_HTTP_PORT=9999 "$bin" serve --print-config 2>&1)
grep -q "port: 9999  # env INFERLINE_HTTP_PORT" <<<"$out" && pass "print-config shows env source" || fail "print-config: $out"

# --- Start on a free port, probe, scrape, stop.
"$bin" serve --port 0 --host 127.0.0.1 --log-format text >"$work/log" 2>&1 &
pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/log" | head -1 | sed 's/.*://')
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then fail "server did not start: $(cat "$work/log")"; exit 1; fi
code=$(curl -s -o "$work/health" -w '%{http_code}' "http://127.0.0.1:$port/healthz")
[ "$code" = 200 ] && grep -q '"ok"' "$work/health" && pass "/healthz 200" || fail "/healthz: $code"
code=$(curl -s -o "$work/nf" -w '%{http_code}' "http://127.0.0.1:$port/no/such/route")
[ "$code" = 404 ] && grep -q '"error"' "$work/nf" && pass "unknown route JSON 404" || fail "404: $code $(cat "$work/nf")"
curl -s "http://127.0.0.1:$port/metrics" >"$work/metrics"
if command -v promtool >/dev/null; then
  if promtool check metrics <"$work/metrics" >"$work/promtool" 2>&1; then pass "promtool check metrics"; else
    fail "promtool: $(cat "$work/promtool")"; fi
else
  fail "promtool not installed (scripts/setup.sh installs prometheus)"
fi
grep -q '^http_requests_total{route="/healthz",code="200"} 1' "$work/metrics" && pass "request counted" ||
  fail "http_requests_total missing: $(grep http_requests_total "$work/metrics")"

# --- SIGTERM during a slow request: the request finishes, then the server exits 0. The client
# uploads its body at 2 kB/s (a valid completion padded with JSON whitespace: ~3 s), and the
# signal comes a second into the upload.
ADMIN=$(cat "$work/data/admin.key" 2>/dev/null)
{ printf '{"model": "kjv-small", "prompt": "In the beginning", "max_tokens": 5}'
  printf '%6000s' ''; } >"$work/slow-body"
curl -s -o "$work/slow-out" -w '%{http_code}' --limit-rate 2000 \
  -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  --data-binary @"$work/slow-body" "http://127.0.0.1:$port/v1/completions" >"$work/slow-code" &
curl_pid=$!
sleep 1
kill -TERM "$pid"
wait "$curl_pid"
code=$(cat "$work/slow-code")
[ "$code" = 200 ] && grep -q '"text_completion"' "$work/slow-out" && pass "slow request finished after SIGTERM" ||
  fail "slow request during shutdown: $code $(cat "$work/slow-out")"
wait "$pid"; rc=$?
pid=""
[ $rc -eq 0 ] && pass "SIGTERM exits 0" || fail "SIGTERM exit code $rc: $(tail -5 "$work/log")"

[ $failures -eq 0 ] && echo "all passed" || { echo "$failures failed"; exit 1; }
