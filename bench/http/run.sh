#!/usr/bin/env bash
# HTTP server throughput: wrk against nginx serving a small static file and against our
# bench_http_server serving /healthz, in the same run, on the same machine.
#
#   bench/http/run.sh [path/to/bench_http_server]
#
# Env: DURATION (10s), ROUNDS (3), CONNECTIONS (64), WRK_THREADS (2), SERVER_THREADS (2, also the
# nginx worker count).
# Builds the server in build/release if no binary is given. Prints requests/s for nginx, ours with
# the access log off, ours with the access log on (to /dev/null), and the ratios to nginx.
# On a shared machine the numbers move with other people's load: compare ratios within one run.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
WRK_THREADS="${WRK_THREADS:-2}"
SERVER_THREADS="${SERVER_THREADS:-2}"
SERVER_BIN="${1:-}"

if [[ -z "$SERVER_BIN" ]]; then
  cmake --preset release -S "$ROOT" >/dev/null
  ninja -C "$ROOT/build/release" -j2 bench_http_server >/dev/null
  SERVER_BIN="$ROOT/build/release/bin/bench_http_server"
fi
for tool in nginx wrk python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
NGINX="$(command -v nginx)"

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# Requests/s reported by one wrk run against $1; fails if any response was not 2xx.
bench() {
  local out
  out="$(wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1")"
  echo "$out" >&2
  if grep -q "Non-2xx" <<<"$out"; then
    echo "non-2xx responses from $1" >&2
    exit 1
  fi
  echo "$out" | awk '/^Requests\/sec:/ {print $2}'
}

# --- nginx: a small static file, as nginx serves it best (sendfile off for a 16-byte file).
NGINX_PORT="$(free_port)"
mkdir -p "$TMP/www" "$TMP/temp"
printf '{"status":"ok"}' >"$TMP/www/healthz"
# Started as root, nginx's workers run as an unprivileged user: let them read the file.
chmod 755 "$TMP" "$TMP/www"
chmod 644 "$TMP/www/healthz"
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
"$NGINX" -c "$TMP/nginx.conf" -p "$TMP" &
PIDS+=($!)
wait_for_port "$NGINX_PORT"

# --- ours, access log off and on. Not called as $(...): the PID must reach PIDS in this shell.
start_ours() {
  STARTED_PORT="$(free_port)"
  "$SERVER_BIN" --port "$STARTED_PORT" --threads "$SERVER_THREADS" "$@" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_for_port "$STARTED_PORT"
}
start_ours
OURS_PORT="$STARTED_PORT"
start_ours --access-log
OURS_LOG_PORT="$STARTED_PORT"

# Both must answer 200 with the same body, or the comparison means nothing.
for port in "$NGINX_PORT" "$OURS_PORT" "$OURS_LOG_PORT"; do
  python3 - "$port" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=5) as r:
    body = r.read()
    assert r.status == 200 and body == b'{"status":"ok"}', (r.status, body)
PY
done

# Rounds alternate the order so that background load on a shared machine hits all three alike;
# the medians are reported.
NGINX_ALL=(); OURS_ALL=(); OURS_LOG_ALL=()
for round in $(seq 1 "$ROUNDS"); do
  for i in 0 1 2; do
    case $(( (i + round) % 3 )) in
      0) echo "== round $round: nginx $(nginx -v 2>&1 | sed 's/.*\///'), $SERVER_THREADS workers, static file" >&2
         NGINX_ALL+=("$(bench "http://127.0.0.1:$NGINX_PORT/healthz")") ;;
      1) echo "== round $round: inferline, $SERVER_THREADS io threads, access log off" >&2
         OURS_ALL+=("$(bench "http://127.0.0.1:$OURS_PORT/healthz")") ;;
      2) echo "== round $round: inferline, $SERVER_THREADS io threads, access log on (to /dev/null)" >&2
         OURS_LOG_ALL+=("$(bench "http://127.0.0.1:$OURS_LOG_PORT/healthz")") ;;
    esac
  done
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
NGINX_RPS="$(median "${NGINX_ALL[@]}")"
OURS_RPS="$(median "${OURS_ALL[@]}")"
OURS_LOG_RPS="$(median "${OURS_LOG_ALL[@]}")"
echo
echo "command: wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION, median of $ROUNDS rounds; $(nproc) cores;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%d)"
printf '%-30s %12s %8s   %s\n' "server" "requests/s" "ratio" "all rounds"
printf '%-30s %12s %8s   %s\n' "nginx (static file)" "$NGINX_RPS" "1.00" "${NGINX_ALL[*]}"
printf '%-30s %12s %8s   %s\n' "inferline (access log off)" "$OURS_RPS" \
  "$(ratio "$OURS_RPS" "$NGINX_RPS")" "${OURS_ALL[*]}"
printf '%-30s %12s %8s   %s\n' "inferline (access log on)" "$OURS_LOG_RPS" \
  "$(ratio "$OURS_LOG_RPS" "$NGINX_RPS")" "${OURS_LOG_ALL[*]}"
