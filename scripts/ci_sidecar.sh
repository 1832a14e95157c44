#!/usr/bin/env bash
# Sidecar end-to-end check (issue 4): Python client codec tests, golden vectors through a running
# server, the `applied` acknowledgement, the load test, SIGTERM drain (exit 0) and replay of the capture it wrote.
#   scripts/ci_sidecar.sh [PATH/TO/rest-shaper]     (builds the release binary when no path is given)
# Env: REST_SHAPER_TOKENIZER (default Tests/TestSupport/Fixtures/qwen.tiktoken),
#      SIDECAR_LOAD_PROCESSES (8), SIDECAR_LOAD_BATCHES (200), SIDECAR_PIPELINED_BATCHES (1000).
# Ends with one line `N passed, M failed`; exits non-zero when anything failed. Every check counts
# the exit code of its command, not only the summary line it prints.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/sidecar_lib.sh"

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
# Adds the counts of the last `N passed, M failed` line of a log, and a failure when the command
# exited non-zero ($3) even though its summary says otherwise (or when it printed none).
count() {
  local line; line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1 || true)"
  if [ -z "$line" ]; then fail 1 "$2 printed no summary (exit ${3:-?})"; return 0; fi
  local p f; p="$(echo "$line" | awk '{print $1}')"; f="$(echo "$line" | awk '{print $3}')"
  pass "$p"
  if [ "$f" -gt 0 ]; then fail "$f" "$2 ($line)"; fi
  if [ "${3:-0}" != 0 ] && [ "$f" = 0 ]; then fail 1 "$2 exited $3"; fi
  return 0
}
# Runs a command with its output in a log (and its tail on the terminal); sets RC to its exit code.
run_logged() {
  local log=$1 lines=$2; shift 2
  RC=0; "$@" >"$log" 2>&1 || RC=$?
  tail -"$lines" "$log"
}

echo "== python venv (numpy, pyzmq, pytest, rest_shaper_client)"
PY="$(sidecar_python "$WORK")"
"$PY" -m pip install -q jsonschema || echo "(jsonschema unavailable: the schema test will skip)"

echo "== golden copy in Tests/SidecarTests is in sync with protocol/golden"
if diff -r -x make_golden.py "$ROOT/protocol/golden" "$ROOT/Tests/SidecarTests/Fixtures/golden" >/dev/null; then pass 1; else fail 1 "golden copies differ"; fi

echo "== python client tests"
run_logged "$WORK/pytest.log" 3 bash -c 'cd "$1/examples/python" && "$2" -m pytest -q tests' _ "$ROOT" "$PY"
PYT="$(grep -Eo '[0-9]+ passed' "$WORK/pytest.log" | tail -1 | awk '{print $1}' || true)"
PYF="$(grep -Eo '[0-9]+ failed' "$WORK/pytest.log" | tail -1 | awk '{print $1}' || true)"
pass "${PYT:-0}"
if [ -n "$PYF" ]; then fail "$PYF" "pytest"; fi
if [ -z "$PYT" ]; then fail 1 "pytest ran nothing"; fi
if [ "$RC" != 0 ] && [ -z "$PYF" ]; then fail 1 "pytest exited $RC (collection error?)"; fi

echo "== starting the sidecar on $ENDPOINT"
"$BIN" serve --bind "$ENDPOINT" --tokenizer "$TOKENIZER" --capture "$WORK/capture" --workers 2 --queue 16 \
  --max-message-mb 32 --metrics-file "$WORK/metrics.prom" --log-level info >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
if ! sidecar_wait "$PY" "$ENDPOINT" "$SERVER_PID"; then cat "$WORK/server.log"; fail 1 "server did not start"; echo "$PASSED passed, $FAILED failed"; exit 1; fi

echo "== golden vectors through the sidecar"
run_logged "$WORK/check.log" 15 "$PY" -m rest_shaper_client check "$VECTORS" --endpoint "$ENDPOINT"
count "$WORK/check.log" "vectors check" "$RC"

echo "== weights-applied acknowledgement (op applied)"
run_logged "$WORK/ack.log" 8 "$PY" "$ROOT/examples/python/ack_check.py" "$VECTORS" --endpoint "$ENDPOINT"
count "$WORK/ack.log" "ack check" "$RC"

echo "== multi-turn rows through the sidecar (each turn as its case alone; observations 10 / weight 0)"
run_logged "$WORK/multiturn.log" 5 "$PY" -m rest_shaper_client check "$VECTORS" --endpoint "$ENDPOINT" --multi-turn
count "$WORK/multiturn.log" "multi-turn check" "$RC"

echo "== load test"
run_logged "$WORK/load.log" 12 "$PY" "$ROOT/examples/python/load_test.py" --endpoint "$ENDPOINT" \
  --processes "${SIDECAR_LOAD_PROCESSES:-8}" --batches "${SIDECAR_LOAD_BATCHES:-200}" --oversize-mb 40
count "$WORK/load.log" "load test" "$RC"

echo "== pipelined load: ${SIDECAR_LOAD_PROCESSES:-8} clients × ${SIDECAR_PIPELINED_BATCHES:-1000} valid batches, 4 outstanding each"
# 32 requests outstanding against --queue 16: some are answered busy, and the client must retry them.
run_logged "$WORK/pipelined.log" 6 "$PY" "$ROOT/examples/python/load_test.py" --endpoint "$ENDPOINT" \
  --processes "${SIDECAR_LOAD_PROCESSES:-8}" --batches "${SIDECAR_PIPELINED_BATCHES:-1000}" --outstanding 4 --require-busy
count "$WORK/pipelined.log" "pipelined load test" "$RC"

echo "== SIGTERM drain"
# Requests queued or running when the signal arrives must still be answered. One 512-row request
# takes only ~30 ms, so a dozen are queued behind the two workers and the client itself sends
# SIGTERM the moment the server reports holding them: no shell polling in the race window.
"$PY" - "$ENDPOINT" "$VECTORS" "$SERVER_PID" >"$WORK/inflight.log" 2>&1 <<'PYEOF' &
import json, os, signal, sys, numpy as np
from rest_shaper_client import Client, protocol
c = json.load(open(sys.argv[2]))["cases"][17]  # the long-thinking case, 512 times
ids = np.tile(np.array(c["token_ids"], dtype=np.int32), (512, 1)); mask = np.tile(np.array(c["loss_mask"], dtype=np.float32), (512, 1))
N = 12                                          # under --queue 16: every one is admitted
client = Client(sys.argv[1], timeout=300)
probe = Client(sys.argv[1], timeout=30)
before = probe.stats()["stats"]["requests_shape"]
for k in range(N):
    client.send_frames(protocol.encode_shape_request(100 + k, ids, mask, [c["ground_truth"]] * 512, 1, options={"profile": "released"}))
for _ in range(20000):  # signal once the server has received all N and still holds some
    s = probe.stats()["stats"]
    if s["requests_shape"] >= before + N and s["in_flight"] >= 1:
        os.kill(int(sys.argv[3]), signal.SIGTERM)
        print(f"in flight {s['in_flight']} at SIGTERM", flush=True)
        break
    if s["requests_shape"] >= before + N:
        print("all requests finished before SIGTERM could be sent", flush=True); sys.exit(3)
else:
    print("the requests never showed up", flush=True); sys.exit(3)
seen = set()
for _ in range(N):
    h, t = protocol.decode_reply(client.recv_frames())
    assert h.get("status") == "ok" and t["weights"].shape == ids.shape, h
    seen.add(h["id"])
assert seen == set(range(100, 100 + N)), seen
print("in-flight replies ok:", N, flush=True)
PYEOF
INFLIGHT=$!
IRC=0; wait "$INFLIGHT" || IRC=$?
RC=0; wait "$SERVER_PID" || RC=$?
SERVER_PID=""
cat "$WORK/inflight.log"; grep -E "draining|stopped" "$WORK/server.log" || true
# The drain is only tested if requests really were in flight when SIGTERM was sent.
if grep -q "at SIGTERM" "$WORK/inflight.log"; then pass 1; else fail 1 "no request was in flight when SIGTERM was sent"; fi
if grep -Eq 'in_flight=[1-9]' "$WORK/server.log"; then pass 1; else fail 1 "the server did not log a request in flight when it started draining"; fi
if [ "$RC" = 0 ]; then pass 1; else fail 1 "server exited $RC after SIGTERM"; fi
if [ "$IRC" = 0 ] && grep -q "in-flight replies ok" "$WORK/inflight.log"; then pass 1; else fail 1 "a request in flight at SIGTERM was not answered"; fi
if grep -q "rest_shaper_replies_ok_total" "$WORK/metrics.prom"; then pass 1; else fail 1 "no Prometheus metrics file"; fi

echo "== CURVE with an allow-list (loopback tcp, Python client)"
"$BIN" keygen --out "$WORK/server" >/dev/null && "$BIN" keygen --out "$WORK/alice" >/dev/null && "$BIN" keygen --out "$WORK/mallory" >/dev/null
printf '# clients allowed to connect\n%s\n' "$(cat "$WORK/alice.pub")" >"$WORK/allowed.txt"
PORT="$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")"
if "$BIN" serve --bind "tcp://0.0.0.0:$PORT" --tokenizer "$TOKENIZER" --curve-secret-key "@$WORK/server.key" >"$WORK/open.log" 2>&1; then
  fail 1 "a network bind with CURVE but no allow-list was accepted"
elif grep -q "refusing to bind" "$WORK/open.log"; then pass 1; else cat "$WORK/open.log"; fail 1 "the refused network bind did not say why"; fi
"$BIN" serve --bind "tcp://127.0.0.1:$PORT" --tokenizer "$TOKENIZER" --workers 1 --curve-secret-key "@$WORK/server.key" \
  --curve-allow "$WORK/allowed.txt" >"$WORK/curve.log" 2>&1 &
SERVER_PID=$!
run_logged "$WORK/curve-client.log" 6 "$PY" - "tcp://127.0.0.1:$PORT" "$WORK" <<'PYEOF'
import sys, time, numpy as np
from rest_shaper_client import Client, ClientTimeoutError
ep, work = sys.argv[1], sys.argv[2]
alice = Client(ep, timeout=2, curve_server_key=f"@{work}/server.pub", curve_public_key=f"@{work}/alice.pub", curve_secret_key=f"@{work}/alice.key")
for _ in range(60):
    try:
        alice.ping(); break
    except ClientTimeoutError:
        time.sleep(0.5)
r = alice.shape(np.array([[151667, 198, 151668]], dtype=np.int32), np.ones((1, 3), np.float32), ["x"], 0)
assert r.weights.shape == (1, 3), r
mallory = Client(ep, timeout=2, curve_server_key=f"@{work}/server.pub", curve_public_key=f"@{work}/mallory.pub", curve_secret_key=f"@{work}/mallory.key")
try:
    mallory.ping(); sys.exit("a key not on the allow-list was served")
except ClientTimeoutError:
    pass
refused = alice.stats()["stats"]["auth_refused"]
assert refused >= 1, refused
print(f"curve ok: allowed key served, other key refused ({refused} refusals counted)")
PYEOF
if [ "$RC" = 0 ] && grep -q "curve ok" "$WORK/curve-client.log"; then pass 1; else cat "$WORK/curve.log"; fail 1 "CURVE allow-list round trip"; fi
if grep -q "refused a client whose key is not on the allow-list" "$WORK/curve.log"; then pass 1; else fail 1 "the refusal was not logged"; fi
kill -TERM "$SERVER_PID"; RC=0; wait "$SERVER_PID" || RC=$?; SERVER_PID=""
if [ "$RC" = 0 ]; then pass 1; else fail 1 "the CURVE server exited $RC"; fi

echo "== replay the capture"
CAP="$(ls "$WORK"/capture/*.rscap 2>/dev/null | head -1 || true)"
if [ -z "$CAP" ]; then
  fail 1 "no capture file"
elif "$BIN" replay "$CAP" --tokenizer "$TOKENIZER" --diff --require-intact --html "$WORK/heatmap.html" >"$WORK/replay.log" 2>&1; then
  head -20 "$WORK/replay.log"; pass 1
else
  head -40 "$WORK/replay.log"; fail 1 "replay found differences or a damaged capture"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
