#!/usr/bin/env bash
# Sidecar end-to-end check (issue 4): Python client codec tests, golden vectors through a running
# server, the `applied` acknowledgement, the load test, SIGTERM drain (exit 0) and replay of the capture it wrote.
#   scripts/ci_sidecar.sh [PATH/TO/rest-shaper]     (builds the release binary when no path is given)
# Env: REST_SHAPER_TOKENIZER (default Tests/TestSupport/Fixtures/qwen.tiktoken),
#      SIDECAR_LOAD_PROCESSES (8), SIDECAR_LOAD_BATCHES (200).
# Ends with one line `N passed, M failed`; exits non-zero when anything failed.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

BIN="${1:-}"
if [ -z "$BIN" ]; then
  echo "== building rest-shaper (release)"
  swift build -c release --product rest-shaper || exit 1
  BIN="$(swift build -c release --show-bin-path)/rest-shaper"
fi
TOKENIZER="${REST_SHAPER_TOKENIZER:-$ROOT/Tests/TestSupport/Fixtures/qwen.tiktoken}"
VECTORS="$ROOT/Tests/TestSupport/Fixtures/rest_vectors_visible.json"
WORK="$(mktemp -d /tmp/rest-shaper-ci.XXXXXX)"
ENDPOINT="ipc://$WORK/sidecar.sock"
PASSED=0; FAILED=0
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
pass() { PASSED=$((PASSED + $1)); }
fail() { FAILED=$((FAILED + $1)); echo "FAILED: $2"; }
# Adds the counts of the last `N passed, M failed` line of a log.
count() {
  local line; line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)"
  if [ -z "$line" ]; then fail 1 "$2 printed no summary"; return; fi
  local p f; p="$(echo "$line" | awk '{print $1}')"; f="$(echo "$line" | awk '{print $3}')"
  pass "$p"; [ "$f" -gt 0 ] && fail "$f" "$2 ($line)"
  return 0
}

echo "== python venv (numpy, pyzmq, pytest, rest_shaper_client)"
PY="$WORK/venv/bin/python"
if [ -x "$ROOT/.venv/bin/python" ] && "$ROOT/.venv/bin/python" -c "import numpy, zmq, pytest" 2>/dev/null; then
  PY="$ROOT/.venv/bin/python"   # scripts/setup.sh made it
else
  python3 -m venv "$WORK/venv" && "$PY" -m pip install -q numpy pyzmq pytest || { echo "cannot create the venv"; exit 1; }
fi
if ! "$PY" -c "import rest_shaper_client" 2>/dev/null; then
  cp -r "$ROOT/examples/python" "$WORK/client-src"   # a copy: pip's build/ output stays out of the tree
  "$PY" -m pip install -q "$WORK/client-src" || { echo "cannot install rest_shaper_client"; exit 1; }
fi
"$PY" -m pip install -q jsonschema || echo "(jsonschema unavailable: the schema test will skip)"

echo "== golden copy in Tests/SidecarTests is in sync with protocol/golden"
if diff -r -x make_golden.py "$ROOT/protocol/golden" "$ROOT/Tests/SidecarTests/Fixtures/golden" >/dev/null; then pass 1; else fail 1 "golden copies differ"; fi

echo "== python client tests"
(cd "$ROOT/examples/python" && "$PY" -m pytest -q tests 2>&1) | tee "$WORK/pytest.log" | tail -3
PYT="$(grep -Eo '[0-9]+ passed' "$WORK/pytest.log" | tail -1 | awk '{print $1}')"
PYF="$(grep -Eo '[0-9]+ failed' "$WORK/pytest.log" | tail -1 | awk '{print $1}')"
pass "${PYT:-0}"; [ -n "$PYF" ] && fail "$PYF" "pytest"; [ -z "$PYT" ] && fail 1 "pytest ran nothing"

echo "== starting the sidecar on $ENDPOINT"
"$BIN" serve --bind "$ENDPOINT" --tokenizer "$TOKENIZER" --capture "$WORK/capture" --workers 2 \
  --max-message-mb 32 --metrics-file "$WORK/metrics.prom" --log-level info >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
up=0
for _ in $(seq 1 120); do
  if "$PY" -c "import sys; from rest_shaper_client import Client; Client(sys.argv[1], timeout=1).ping()" "$ENDPOINT" 2>/dev/null; then up=1; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.5
done
if [ "$up" != 1 ]; then cat "$WORK/server.log"; fail 1 "server did not start"; echo "$PASSED passed, $FAILED failed"; exit 1; fi

echo "== golden vectors through the sidecar"
"$PY" -m rest_shaper_client check "$VECTORS" --endpoint "$ENDPOINT" 2>&1 | tee "$WORK/check.log" | tail -15
count "$WORK/check.log" "vectors check"

echo "== weights-applied acknowledgement (op applied)"
"$PY" "$ROOT/examples/python/ack_check.py" "$VECTORS" --endpoint "$ENDPOINT" 2>&1 | tee "$WORK/ack.log" | tail -8
count "$WORK/ack.log" "ack check"

echo "== multi-turn rows through the sidecar (each turn as its case alone; observations 10 / weight 0)"
"$PY" -m rest_shaper_client check "$VECTORS" --endpoint "$ENDPOINT" --multi-turn 2>&1 | tee "$WORK/multiturn.log" | tail -5
count "$WORK/multiturn.log" "multi-turn check"

echo "== load test"
"$PY" "$ROOT/examples/python/load_test.py" --endpoint "$ENDPOINT" --processes "${SIDECAR_LOAD_PROCESSES:-8}" \
  --batches "${SIDECAR_LOAD_BATCHES:-200}" --oversize-mb 40 2>&1 | tee "$WORK/load.log" | tail -12
count "$WORK/load.log" "load test"

echo "== SIGTERM drain"
# A slow request in flight while the signal arrives must still be answered.
"$PY" - "$ENDPOINT" "$VECTORS" >"$WORK/inflight.log" 2>&1 <<'PYEOF' &
import json, sys, numpy as np
from rest_shaper_client import Client, protocol
c = json.load(open(sys.argv[2]))["cases"][17]  # the long-thinking case, 512 times: a request that takes a while
ids = np.tile(np.array(c["token_ids"], dtype=np.int32), (512, 1)); mask = np.tile(np.array(c["loss_mask"], dtype=np.float32), (512, 1))
client = Client(sys.argv[1], timeout=300)
client.send_frames(protocol.encode_shape_request(77, ids, mask, [c["ground_truth"]] * 512, 1, options={"profile": "released"}))
probe = Client(sys.argv[1], timeout=30)
for _ in range(2000):  # tell the shell once the server holds the request
    if probe.stats()["stats"]["in_flight"] >= 1:
        break
print("sent", flush=True)
h, t = protocol.decode_reply(client.recv_frames())
assert h["id"] == 77 and t["weights"].shape == ids.shape
print("in-flight reply ok", t["weights"].shape, h.get("compute_us"), "us", flush=True)
PYEOF
INFLIGHT=$!
for _ in $(seq 1 1000); do grep -q sent "$WORK/inflight.log" 2>/dev/null && break; sleep 0.01; done
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"; RC=$?
SERVER_PID=""
wait "$INFLIGHT"; IRC=$?
cat "$WORK/inflight.log"; grep -E "draining|stopped" "$WORK/server.log"
if [ "$RC" = 0 ]; then pass 1; else fail 1 "server exited $RC after SIGTERM"; fi
if [ "$IRC" = 0 ] && grep -q "in-flight reply ok" "$WORK/inflight.log"; then pass 1; else cat "$WORK/inflight.log"; fail 1 "request in flight at SIGTERM was not answered"; fi
grep -q "rest_shaper_replies_ok_total" "$WORK/metrics.prom" && pass 1 || fail 1 "no Prometheus metrics file"

echo "== replay the capture"
CAP="$(ls "$WORK"/capture/*.rscap 2>/dev/null | head -1)"
if [ -z "$CAP" ]; then
  fail 1 "no capture file"
elif "$BIN" replay "$CAP" --tokenizer "$TOKENIZER" --diff --require-intact --html "$WORK/heatmap.html" >"$WORK/replay.log" 2>&1; then
  head -20 "$WORK/replay.log"; pass 1
else
  head -40 "$WORK/replay.log"; fail 1 "replay found differences or a damaged capture"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
