#!/usr/bin/env bash
# Fuzzes a fresh sidecar with N messages (issue 11): header, frame and tensor-payload mutations at
# numeric edges, with checked controls in between (examples/python/fuzz_sidecar.py), then stops
# the server with SIGTERM and requires a clean exit.
#   scripts/fuzz_sidecar.sh N [PATH/TO/rest-shaper]     (builds the release binary when no path is given)
# Env: FUZZ_SEED (1), FUZZ_FAMILIES (header,frames,payload), FUZZ_WORKERS (2),
#      REST_SHAPER_TOKENIZER (default Tests/TestSupport/Fixtures/qwen.tiktoken).
# Ends with `N passed, M failed`; exits non-zero on any crash, lost or mismatched reply or wrong control.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/sidecar_lib.sh"

N="${1:?usage: scripts/fuzz_sidecar.sh N [rest-shaper binary]}"
BIN="${2:-}"
if [ -z "$BIN" ]; then
  swift build -c release --product rest-shaper
  BIN="$(swift build -c release --show-bin-path)/rest-shaper"
fi
TOKENIZER="${REST_SHAPER_TOKENIZER:-$ROOT/Tests/TestSupport/Fixtures/qwen.tiktoken}"
WORK="$(mktemp -d /tmp/rest-shaper-fuzz.XXXXXX)"
ENDPOINT="ipc://$WORK/sidecar.sock"
SERVER_PID=""
cleanup() { if [ -n "$SERVER_PID" ]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi; rm -rf "$WORK"; }
trap cleanup EXIT
PASSED=0; FAILED=0
pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAILED: $1"; }

PY="$(sidecar_python "$WORK")"
# A small message limit so that the over-limit mutations stay cheap.
"$BIN" serve --bind "$ENDPOINT" --tokenizer "$TOKENIZER" --workers "${FUZZ_WORKERS:-2}" --max-message-mb 4 \
  --timeout-ms 60000 --log-level notice >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
if ! sidecar_wait "$PY" "$ENDPOINT" "$SERVER_PID"; then cat "$WORK/server.log"; echo "0 passed, 1 failed"; exit 1; fi

echo "== fuzzing with $N messages (seed ${FUZZ_SEED:-1}, families ${FUZZ_FAMILIES:-header,frames,payload})"
RC=0
"$PY" "$ROOT/examples/python/fuzz_sidecar.py" --endpoint "$ENDPOINT" --messages "$N" --seed "${FUZZ_SEED:-1}" \
  --families "${FUZZ_FAMILIES:-header,frames,payload}" --server-pid "$SERVER_PID" --progress 60 >"$WORK/fuzz.log" 2>&1 || RC=$?
cat "$WORK/fuzz.log"
if [ "$RC" = 0 ] && grep -q '^1 passed, 0 failed' "$WORK/fuzz.log"; then pass; else fail "fuzzer (exit $RC)"; fi

echo "== SIGTERM after the fuzz"
if kill -TERM "$SERVER_PID" 2>/dev/null; then
  SRC=0; wait "$SERVER_PID" || SRC=$?
  if [ "$SRC" = 0 ]; then pass; else fail "server exited $SRC"; fi
else
  fail "the server was gone before SIGTERM"
fi
SERVER_PID=""
if grep -Eqi 'worker .*(crashed|died)|Fatal error|Illegal instruction' "$WORK/server.log"; then
  grep -Ei 'worker .*(crashed|died)|Fatal error|Illegal instruction' "$WORK/server.log" | head -20
  fail "the server log reports a crash"
else
  pass
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
