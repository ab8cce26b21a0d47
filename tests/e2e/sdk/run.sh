#!/usr/bin/env bash
# Runs sdk_test.mjs (the official OpenAI Node SDK against `inferline serve`).
# Usage: run.sh <path-to-inferline>. Installs the pinned SDK (npm ci) when node_modules is missing.
set -euo pipefail
bin=$(realpath "${1:?usage: $0 <inferline binary>}")
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [ ! -d node_modules/openai ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
INFERLINE_BIN="$bin" exec node sdk_test.mjs
