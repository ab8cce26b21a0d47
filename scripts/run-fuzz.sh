#!/usr/bin/env bash
# Builds the libFuzzer targets (CMake preset "fuzz": clang, -fsanitize=fuzzer,address,undefined)
# and runs each for a bounded time from its committed seed corpus.
#
#   scripts/run-fuzz.sh [seconds-per-target]   (default 30)
#
# The seed corpus is copied to a temporary directory first, so the run never rewrites the
# committed seeds. Exits non-zero if any target finds a crash, a sanitizer report or a failed
# invariant; the reproducer is kept under build/fuzz/findings/.
set -euo pipefail

seconds="${1:-30}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

targets=(
  "safetensors_fuzz:src/engine/io/fuzz_corpus"
  "tokenizer_fuzz:src/engine/tokenizer/fuzz_corpus"
  "request_parser_fuzz:src/gateway/fuzz_corpus"
  "sse_parser_fuzz:src/http/fuzz_corpus"
)

cmake --preset fuzz >/dev/null
names=()
for t in "${targets[@]}"; do names+=("${t%%:*}"); done
cmake --build --preset fuzz --target "${names[@]}" -- -j2

findings="$root/build/fuzz/findings"
mkdir -p "$findings"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
for t in "${targets[@]}"; do
  name="${t%%:*}"
  seeds="${t#*:}"
  binary="$(find build/fuzz -type f -name "$name" -perm -u+x | head -n 1)"
  if [[ -z "$binary" ]]; then
    echo "run-fuzz: $name was not built" >&2
    exit 1
  fi
  corpus="$work/$name"
  mkdir -p "$corpus"
  cp -r "$seeds"/. "$corpus"/
  echo "== $name: ${seconds}s from $(ls "$corpus" | wc -l) seeds"
  if ! "$binary" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$findings/$name-" 2>"$work/$name.log"; then
    tail -n 60 "$work/$name.log" >&2
    echo "run-fuzz: $name found a problem; reproducer in $findings/" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/$name.log" || true
  fi
done
exit "$status"
