#!/bin/sh
# `inferline pull` end to end against fake_hub_server: output, exit codes, HF_ENDPOINT/HF_TOKEN,
# a second pull that skips everything, and the errors a user sees.
#   pull_cli_test.sh <inferline> <fake_hub_server>
set -eu
bin=$1
fake=$2
src=${INFERLINE_SOURCE_DIR:-.}
tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/out "$tmp"/err; do [ -f "$f" ] && sed 's/^/  | /' "$f" >&2; done
  exit 1
}

"$fake" "$src" 120 hf_cli_token > "$tmp/endpoint" &
pid=$!
i=0
while [ ! -s "$tmp/endpoint" ]; do
  i=$((i + 1))
  [ $i -le 100 ] || fail "fake_hub_server did not start"
  sleep 0.1
done
endpoint=$(head -n 1 "$tmp/endpoint")
export HF_ENDPOINT="$endpoint"
unset HF_TOKEN || true

# No token: the model is private here, and the message says what to do.
set +e
"$bin" pull test-org/tiny-gpt2 --dir "$tmp/m" > "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "pull without a token exited $rc, want 1"
grep -q "pass --token" "$tmp/err" || fail "no --token hint"

# Token from the environment, plain progress lines on a non-terminal.
HF_TOKEN=hf_cli_token "$bin" pull test-org/tiny-gpt2 --dir "$tmp/m" > "$tmp/out" 2> "$tmp/err" \
  || fail "pull failed"
grep -q "^Pulled test-org/tiny-gpt2 (revision main, commit [0-9a-f]\{12\}) into $tmp/m: 5 files" \
  "$tmp/out" || fail "no Pulled line"
grep -q "^Model: GPT2LMHeadModel (gpt2), 125K parameters, F32, 2 layers" "$tmp/out" \
  || fail "no Model line"
grep -q "inferline generate --model $tmp/m" "$tmp/out" || fail "no usage line"
grep -q "model.safetensors: done" "$tmp/err" || fail "no progress line"
[ -f "$tmp/m/model.safetensors" ] || fail "no weights"
[ ! -f "$tmp/m/pytorch_model.bin" ] || fail ".bin was downloaded"

# Again: nothing to download.
HF_TOKEN=hf_cli_token "$bin" pull test-org/tiny-gpt2 --dir "$tmp/m" > "$tmp/out" 2> "$tmp/err" \
  || fail "second pull failed"
grep -q "(5 already there)" "$tmp/out" || fail "second pull downloaded again"

# The pulled folder generates text.
"$bin" generate --model "$tmp/m" --prompt "ab" --max-tokens 3 --temperature 0 > "$tmp/out" \
  2> "$tmp/err" || fail "generate could not use the pulled folder"

# Usage errors exit 2, unknown models 1 with a clear message.
set +e
"$bin" pull "not a/repo/id" > "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "a bad model id exited $rc, want 2"
set +e
HF_TOKEN=hf_cli_token "$bin" pull test-org/missing --dir "$tmp/x" > "$tmp/out" 2> "$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "a missing model exited $rc, want 1"
grep -q "no such model or revision" "$tmp/err" || fail "no 'no such model' message"
echo "cli_pull: ok"
