#!/usr/bin/env bash
# Installs the Debian 12 packages inferline needs to build, test and serve. Idempotent: when
# everything is present it only runs one dpkg-query and exits. Uses sudo when not root.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make git curl ca-certificates python3
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libfmt-dev libspdlog-dev libyaml-cpp-dev libcli11-dev libssl-dev libsqlite3-dev
  libopenblas-dev libhwy-dev libjemalloc-dev
  # distributed mode: client libraries, and the servers its integration tests start privately
  librabbitmq-dev libpqxx-dev libpq-dev libhiredis-dev
  rabbitmq-server postgresql redis-server
  # tests, fuzzing and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev clang libclang-rt-14-dev
  prometheus nginx-light wrk gnuplot-nox
)
# Node.js and npm (for the OpenAI SDK compatibility test) may come from elsewhere; only ask
# Debian for them when the commands are missing.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

# One dpkg-query for all; packages it has never heard of are simply absent from its output.
installed=" $(dpkg-query -W -f='${Package}:${db:Status-Status} ' "${packages[@]}" 2>/dev/null || true) "
missing=()
for p in "${packages[@]}"; do
  [[ "$installed" == *" $p:installed "* ]] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# Some packages start system services we do not need: tests start private instances on free
# loopback ports.
if command -v systemctl >/dev/null; then
  for service in prometheus rabbitmq-server redis-server postgresql; do
    if systemctl is-active --quiet "$service" 2>/dev/null; then
      "${sudo[@]}" systemctl stop "$service" || true
    fi
  done
fi
