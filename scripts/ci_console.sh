#!/usr/bin/env bash
# A person's view of long work (issue 18), end to end through the release binary:
#   1. `top --once` against a running sidecar: the counters move by exactly the requests sent and
#      match the server's own `stats`;
#   2. `train` on a pseudo-terminal draws a progress bar and report lines on stderr, `--quiet`
#      draws nothing, and with stderr in a file the lines are plain (no carriage returns).
#   scripts/ci_console.sh [PATH/TO/rest-shaper]
# Ends with one line `N passed, M failed`; exits non-zero when anything failed.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN="${1:-}"
if [ -z "$BIN" ]; then
  swift build -c release --product rest-shaper || exit 1
  BIN="$(swift build -c release --show-bin-path)/rest-shaper"
fi
TOKENIZER="$ROOT/Tests/TestSupport/Fixtures/qwen.tiktoken"
WORK="$(mktemp -d /tmp/rest-shaper-console.XXXXXX)"
ENDPOINT="ipc://$WORK/console.sock"
PASSED=0; FAILED=0; SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
check() {  # check NAME COMMAND...: one passed or failed check
  local name=$1; shift
  if "$@"; then PASSED=$((PASSED + 1)); echo "ok: $name"; else FAILED=$((FAILED + 1)); echo "FAILED: $name"; fi
}

PY="$ROOT/.venv/bin/python"
if ! [ -x "$PY" ] || ! "$PY" -c "import numpy, zmq" 2>/dev/null; then
  python3 -m venv "$WORK/venv" && PY="$WORK/venv/bin/python" && "$PY" -m pip install -q numpy pyzmq || { echo "cannot create the venv"; exit 1; }
fi
if ! "$PY" -c "import rest_shaper_client" 2>/dev/null; then
  cp -r "$ROOT/examples/python" "$WORK/client-src"
  "$PY" -m pip install -q "$WORK/client-src" || { echo "cannot install rest_shaper_client"; exit 1; }
fi

echo "== top --once against a running sidecar"
"$BIN" serve --bind "$ENDPOINT" --tokenizer "$TOKENIZER" --workers 2 --log-level warning >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
up=0  # `top --once` is the readiness probe: it fails until the server answers
for _ in $(seq 1 120); do
  "$BIN" top --once --endpoint "$ENDPOINT" --timeout-ms 500 >/dev/null 2>&1 && { up=1; break; }
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.5
done
if [ "$up" != 1 ]; then cat "$WORK/server.log"; echo "server did not start"; echo "0 passed, 1 failed"; exit 1; fi

"$BIN" top --once --endpoint "$ENDPOINT" >"$WORK/top0.txt" 2>&1; RC=$?
cat "$WORK/top0.txt"
check "top --once exits 0" test "$RC" = 0
check "top --once before any shape request: 0 shape requests, no batch yet" \
  bash -c "grep -qE '^requests/s .* 0 shape ' '$WORK/top0.txt' && grep -q 'no shape batch yet' '$WORK/top0.txt'"

# Exactly 7 shape requests of 3 rollouts each (the first golden case, tiled), then the server's own stats.
"$PY" - "$ENDPOINT" "$ROOT/Tests/TestSupport/Fixtures/rest_vectors_visible.json" >"$WORK/sent.json" <<'PYEOF'
import json, sys, numpy as np
from rest_shaper_client import Client
case = json.load(open(sys.argv[2]))["cases"][0]
ids = np.tile(np.array(case["token_ids"], dtype=np.int32), (3, 1))
mask = np.tile(np.array(case["loss_mask"], dtype=np.float32), (3, 1))
ent = np.linspace(0.1, 2.0, ids.size, dtype=np.float32).reshape(ids.shape)
c = Client(sys.argv[1], timeout=30)
for step in range(1, 8):
    c.shape(ids, mask, [case["ground_truth"]] * 3, step, entropy=ent)
print(json.dumps({"tokens": int(ids.size) * 7, "stats": c.stats()["stats"]}))
PYEOF
check "7 shape requests sent" test -s "$WORK/sent.json"
"$BIN" top --once --endpoint "$ENDPOINT" >"$WORK/top1.txt" 2>&1; RC=$?
cat "$WORK/top1.txt"
check "top --once exits 0 after the requests" test "$RC" = 0
"$PY" - "$WORK/sent.json" "$WORK/top1.txt" <<'PYEOF'
import json, re, sys
sent = json.load(open(sys.argv[1])); s = sent["stats"]; top = open(sys.argv[2]).read()
ok = True
def need(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok = ok and cond
need(s["requests_shape"] == 7 and s["rollouts_total"] == 21 and s["tokens_total"] == sent["tokens"], "server stats counted 7 requests / 21 rollouts")
need(re.search(r"^requests/s .* 7 shape · ", top, re.M) is not None, "top shows 7 shape requests")
need(re.search(r"^tokens/s .* %d tokens · 21 rollouts" % s["tokens_total"], top, re.M) is not None, "top's tokens and rollouts equal stats")
need("errors 0" in top and all(s[k] == 0 for k in s if k.startswith("errors_")), "no errors on either side")
need(re.search(r"^\s+think\s+\d+\.\d%\s+\d+\.\d{3}\s+\d+\.\d{3}", top, re.M) is not None, "per-region share / weight / entropy for think")
need("(last 7 batches)" in top and re.search(r"^curriculum\s+.*γ think", top, re.M) is not None, "last batches and γ's shown")
need(re.search(r"^compute\s+p50 \S+ \S*\s+p99 ", top, re.M) is not None and "(last 7 shape requests" in top, "compute p50/p99 over the 7 requests")
sys.exit(0 if ok else 1)
PYEOF
check "top --once counters match stats" test $? = 0
kill -TERM "$SERVER_PID"; wait "$SERVER_PID"; SERVER_PID=""
"$BIN" top --once --endpoint "$ENDPOINT" --timeout-ms 300 >"$WORK/top2.txt" 2>&1; RC=$?
check "top --once against no server fails with a message" bash -c "[ $RC != 0 ] && grep -q 'no reply' '$WORK/top2.txt'"

echo "== train progress on a pseudo-terminal, with --quiet, and into a log file"
sed -e 's/"warmupSteps": 60/"warmupSteps": 4/' -e 's/"steps": 250/"steps": 12/' -e 's/"checkpointEvery": 50/"checkpointEvery": 0/' \
  -e "s#\"outputDir\": \"runs/synthetic-aligned\"#\"outputDir\": \"$WORK/run\"#" examples/train/synthetic.json >"$WORK/train.json"
"$PY" - "$BIN" "$WORK" <<'PYEOF'
import os, pty, subprocess, sys, json
bin_, work = sys.argv[1], sys.argv[2]
def on_pty(extra):
    """Runs train with stderr on a pseudo-terminal; returns (terminal bytes, stdout bytes, exit code)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([bin_, "train", "--config", f"{work}/train.json", "--log-every", "5"] + extra,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    out = p.stdout.read(); rc = p.wait()
    os.close(master)
    return seen.decode("utf-8", "replace"), out.decode(), rc
ok = True
def need(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok = ok and cond
term, out, rc = on_pty([])
need(rc == 0, "train exits 0")
need("\rtrain [" in term and "steps/s" in term and "ETA" in term and "16/16 100%" in term, "bar with count, rate and ETA redrawn in place")
need("step 5/12 · reward" in term and "step 10/12 · reward" in term and "profile aligned" in term and "weighted " in term and "tok/s" in term,
     "report lines every 5 steps")
need(json.loads(out)["steps"] == 12 and "\r" not in out, "results on stdout, untouched")
term, out, rc = on_pty(["--quiet"])
need(rc == 0 and term.strip() == "" and json.loads(out)["steps"] == 12, "--quiet: nothing on the terminal, results on stdout")
term, out, rc = on_pty(["--profile", "uniform", "--steps", "5"])
need("profile UNIFORM (baseline" in term, "uniform is loud")
with open(f"{work}/train.log", "w") as log:
    rc = subprocess.run([bin_, "train", "--config", f"{work}/train.json", "--log-every", "5"], stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=log).returncode
text = open(f"{work}/train.log").read()
need(rc == 0 and "step 10/12 · reward" in text and "\r" not in text and "\x1b" not in text, "a log gets plain lines")
sys.exit(0 if ok else 1)
PYEOF
check "train progress (terminal, --quiet, log)" test $? = 0

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
