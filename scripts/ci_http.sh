#!/usr/bin/env bash
# HTTP reward front end to end (issue 14): the OpenRLHF and slime client tests (each against its
# own `rest-shaper serve --http`), then load (64 clients x 200 requests), malformed requests and
# the SIGTERM drain (examples/testing/http_e2e.py).
#   scripts/ci_http.sh [PATH/TO/rest-shaper]     (builds the release binary when no path is given)
# Env: HTTP_LOAD_CLIENTS (64), HTTP_LOAD_REQUESTS (200).
# Ends with one line `N passed, M failed`; exits non-zero when anything failed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

BIN="${1:-}"
if [ -z "$BIN" ]; then
  swift build -c release --product rest-shaper
  BIN="$(swift build -c release --show-bin-path)/rest-shaper"
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"   # the tests run from other folders
export REST_SHAPER_BIN="$BIN"
PASSED=0; FAILED=0
WORK="$(mktemp -d /tmp/rest-shaper-ci-http.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# pytest for the tests; numpy and pyzmq for the Python client, which reads the ZeroMQ side's stats.
PY="$ROOT/.venv/bin/python"
if ! { [ -x "$PY" ] && "$PY" -c "import pytest, numpy, zmq" 2>/dev/null; }; then
  python3 -m venv "$WORK/venv" && PY="$WORK/venv/bin/python" && "$PY" -m pip install -q numpy pyzmq pytest \
    || { echo "cannot create the venv"; exit 1; }
fi
export PYTHONPATH="$ROOT/examples/python${PYTHONPATH:+:$PYTHONPATH}"   # rest_shaper_client

# pytest's summary line `N passed[, M failed]`; a run that collected nothing or crashed counts as failed.
run_pytest() {
  local name=$1 dir=$2 rc=0
  echo "== $name"
  (cd "$ROOT/examples" && "$PY" -m pytest -q -p no:cacheprovider -s "$dir") >"$WORK/$name.log" 2>&1 || rc=$?
  grep -E "through|passed|failed|error" "$WORK/$name.log" | tail -8 || true
  local p f
  p="$( (grep -Eo '[0-9]+ passed' "$WORK/$name.log" || true) | tail -1 | awk '{print $1}')"
  f="$( (grep -Eo '[0-9]+ (failed|error)' "$WORK/$name.log" || true) | awk '{s+=$1} END {print s+0}')"
  PASSED=$((PASSED + ${p:-0}))
  if [ "$rc" -ne 0 ] || [ -z "$p" ]; then FAILED=$((FAILED + (f > 0 ? f : 1))); tail -40 "$WORK/$name.log"; fi
}
run_pytest openrlhf openrlhf/tests
run_pytest slime slime/tests

echo "== load, malformed requests, SIGTERM drain"
rc=0
(cd "$ROOT/examples/testing" && "$PY" http_e2e.py --clients "${HTTP_LOAD_CLIENTS:-64}" --requests "${HTTP_LOAD_REQUESTS:-200}") \
  | tee "$WORK/e2e.log" || rc=$?
line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$WORK/e2e.log" | tail -1 || true)"
if [ -z "$line" ]; then FAILED=$((FAILED + 1)); echo "FAILED: http_e2e.py printed no summary"
else
  PASSED=$((PASSED + $(echo "$line" | awk '{print $1}'))); FAILED=$((FAILED + $(echo "$line" | awk '{print $3}')))
  [ "$rc" -ne 0 ] && [ "$(echo "$line" | awk '{print $3}')" = 0 ] && FAILED=$((FAILED + 1))
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
