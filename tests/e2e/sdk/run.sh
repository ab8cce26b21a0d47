#!/usr/bin/env bash
# Runs sdk_test.mjs (the official OpenAI Node SDK against `inferline serve`).
# Usage: run.sh <path-to-inferline>, or run.sh with INFERLINE_SDK_BASE_URL (http://host:port) and
# INFERLINE_SDK_ADMIN_KEY set to test a server that is already running (e.g. a distributed
# gateway). Installs the pinned SDK (npm ci) when node_modules is missing.
set -euo pipefail
if [ -n "${INFERLINE_SDK_BASE_URL:-}" ]; then
  bin=${1:+$(realpath "$1")}
else
  bin=$(realpath "${1:?usage: $0 <inferline binary> (or set INFERLINE_SDK_BASE_URL)}")
fi
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [ ! -d node_modules/openai ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
INFERLINE_BIN="$bin" exec node sdk_test.mjs
