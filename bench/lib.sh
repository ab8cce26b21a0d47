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
