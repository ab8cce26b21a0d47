#!/usr/bin/env bash
# `inferline tokenize`: many texts in one run, and exact round trips of awkward text.
# Usage: tokenize_test.sh <path-to-inferline>
set -uo pipefail
bin=$(realpath "${1:?usage: $0 <inferline binary>}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# Awkward texts, one JSON string per line.
python3 - "$work/texts.jsonl" <<'PY'
import json, sys
texts = [
    "And God said, Let there be light: and there was light.",
    "emoji \U0001F600\U0001F44D\U0001F3FD and flags \U0001F1EB\U0001F1F7",
    "combining: e\u0301 a\u0308 n\u0303 \u0915\u094D\u0937",
    "tabs\tand\t\ttabs", "newline runs\n\n\n\nend", "  leading and trailing spaces  ",
    "digits 1234567890 3.14159 1,000,000", "CJK \u4E2D\u6587\u5B57 \u65E5\u672C\u8A9E",
    "", " ", "\n", "<|endoftext|> inside text", "mixed\r\nline endings\r",
    "zero width\u200Bjoiner\u200D here", "Ελληνικά και русский",
]
with open(sys.argv[1], "w") as f:
    for t in texts:
        f.write(json.dumps(t) + "\n")
PY
n_texts=$(wc -l <"$work/texts.jsonl")
if "$bin" tokenize --jsonl <"$work/texts.jsonl" >"$work/ids.txt" 2>"$work/err"; then
  [ "$(wc -l <"$work/ids.txt")" -eq "$n_texts" ] && pass "one line of ids per text" || fail "line count"
else fail "encode: $(cat "$work/err")"; fi
sed -n 9p "$work/ids.txt" | grep -q '^$' && pass "empty string gives an empty line" || fail "empty line: '$(sed -n 9p "$work/ids.txt")'"
"$bin" tokenize --jsonl --decode <"$work/ids.txt" >"$work/decoded.jsonl" 2>"$work/err" || fail "decode: $(cat "$work/err")"
if python3 - "$work/texts.jsonl" "$work/decoded.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
bad = [(x, y) for x, y in zip(a, b) if x != y]
sys.exit(1 if bad or len(a) != len(b) else 0)
PY
then pass "every text round-trips exactly"; else fail "round trip differs: $(diff "$work/texts.jsonl" "$work/decoded.jsonl" | head -5)"; fi

# 10,000 lines in one run.
python3 -c '
import json
for i in range(10000): print(json.dumps(f"verse {i}: and the LORD spake unto Moses \u00e9 {i*7}"))' >"$work/big.jsonl"
"$bin" tokenize --jsonl <"$work/big.jsonl" >"$work/big.ids" 2>"$work/err" || fail "10k: $(cat "$work/err")"
[ "$(wc -l <"$work/big.ids")" -eq 10000 ] && [ "$(grep -c '^$' "$work/big.ids")" -eq 0 ] && pass "10,000 lines in one run" || fail "10k output lines: $(wc -l <"$work/big.ids")"

# Single text from arguments matches the same text through --jsonl.
one=$("$bin" tokenize "And God said")
[ -n "$one" ] && [ "$one" = "$(echo '"And God said"' | "$bin" tokenize --jsonl)" ] && pass "argument and jsonl agree" || fail "argument vs jsonl"
[ "$("$bin" tokenize --decode "$one")" = "And God said" ] && pass "decode of argument ids" || fail "decode argument"

# Bad input: a clear error with the line number, non-zero exit.
printf '"ok"\nnot json\n' | "$bin" tokenize --jsonl >/dev/null 2>"$work/err"; rc=$?
[ $rc -ne 0 ] && grep -q "line 2" "$work/err" && pass "bad JSON line named" || fail "bad line: rc=$rc $(cat "$work/err")"
"$bin" tokenize --decode "1 2 99999999" >/dev/null 2>"$work/err"; rc=$?
[ $rc -ne 0 ] && grep -q "99999999" "$work/err" && pass "out-of-vocabulary id named" || fail "bad id: rc=$rc"

[ $failures -eq 0 ] && echo "all passed" || { echo "$failures failed"; exit 1; }
