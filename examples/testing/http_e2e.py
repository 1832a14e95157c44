"""End-to-end checks of ``rest-shaper serve --http`` (stdlib only; run by scripts/ci_http.sh).

  python http_e2e.py [--clients 64] [--requests 200]

1. load: N clients x M requests of 1-4 ToolRL reference rows each, half on one keep-alive
   connection per client (slime's shared aiohttp session), half on a new connection per request
   (OpenRLHF >= 0.10 opens a session per request); every reply must be 200 with the reference
   rewards of its own rows: 0 errors, 0 lost.
2. malformed: broken JSON, wrong types, invalid UTF-8, an unknown route, a body over the limit
   (refused from its Content-Length, before it is sent), a client that hangs up mid-body; each
   gets its 4xx (or nothing, for the hang-up) and a valid request right after is served.
3. metrics: `/metrics` is the sidecar's `stats` Prometheus text (the same families, the same
   ZeroMQ counts), with the HTTP requests counted in it.
4. auth: a non-loopback `--http` without a token is refused at start; with `--http-token`, no or a
   wrong token gets 401, `Authorization: Bearer TOKEN` and the Basic auth that requests and aiohttp
   derive from `http://user:TOKEN@host/` are served.
5. drain: SIGTERM while a slow batch is being scored: it is answered in full, `/healthz` said it
   was in flight before the signal, and the process exits 0.

Ends with `N passed, M failed`; exits non-zero when anything failed.
"""

import argparse
import base64
import http.client
import json
import re
import socket
import sys
import threading
import time

from http_front import RestShaperHTTP, binary, close, get, post_json, reward_refs

PASSED = 0
FAILED = 0


def check(ok, what):
    global PASSED, FAILED
    if ok:
        PASSED += 1
    else:
        FAILED += 1
        print(f"FAILED: {what}", flush=True)


def load(server, clients, per_client):
    rows = reward_refs()
    results = [None] * clients

    def client(k):
        ok, bad = 0, []
        conn = None
        for i in range(per_client):
            picked = [rows[(k * 31 + i * 7 + j) % len(rows)] for j in range(1 + (k + i) % 4)]
            body = json.dumps({"query": [r["solution_str"] for r in picked], "prompts": ["" for _ in picked],
                               "labels": [r["ground_truth"] for r in picked]})
            try:
                if conn is None or k % 2 == 1:
                    if conn is not None:
                        conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=180)
                conn.request("POST", "/openrlhf/get_reward?reward=toolrl", body=body,
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                reply = json.loads(data) if r.status == 200 else None
                if reply and len(reply["rewards"]) == len(picked) and all(
                        close(g, p["score"]) for g, p in zip(reply["rewards"], picked)):
                    ok += 1
                else:
                    bad.append(f"{r.status} {data[:200]!r}")
            except Exception as e:  # a lost reply or a broken connection: counted, the loop goes on
                bad.append(f"{type(e).__name__}: {e}")
                conn = None
        if conn is not None:
            conn.close()
        results[k] = (ok, bad)

    t0 = time.time()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    ok = sum(r[0] for r in results if r)
    bad = [b for r in results if r for b in r[1]]
    lost = clients * per_client - ok - len(bad)
    print(f"load: {clients} clients x {per_client} requests in {elapsed:.1f} s ({clients * per_client / elapsed:.0f} req/s): "
          f"{ok} ok, {len(bad)} errors, {lost} lost", flush=True)
    for b in bad[:5]:
        print("  ", b)
    check(ok == clients * per_client and not bad and lost == 0, f"load: {len(bad)} errors, {lost} lost")


def raw_exchange(port, data, read=True, timeout=30):
    """Sends raw bytes on a new connection; returns the reply bytes (until the server closes or 2 s idle)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        s.settimeout(2)
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if length and len(body) >= length[0]:
                    break
        return out
    finally:
        s.close()


def malformed(server):
    url = server.url("/openrlhf/get_reward")
    valid = {"query": ["<|im_start|>assistant\n<think>a</think>\n<response>b</response>"], "labels": ["<response>b</response>"]}

    def still_serving(after):
        status, body = post_json(url, valid)
        check(status == 200 and len(json.loads(body)["rewards"]) == 1, f"a valid request after {after}")

    def expect(status, body, want_status, want_code, what):
        try:
            code = json.loads(body)["error"]["code"]
        except Exception:
            code = None
        check(status == want_status and code == want_code, f"{what}: {status} {body[:200]!r}")

    for raw, code, what in [(b'{"query": ["a"], ', "bad_header", "truncated JSON"),
                            (b'{"query": [1], "labels": ["x"]}', "bad_header", "a number as a query"),
                            (b'{"query": ["\xff"], "labels": ["x"]}', "utf8", "invalid UTF-8"),
                            (b'{"query": ["a"], "labels": []}', "shape", "labels count"),
                            (b'', "bad_header", "empty body")]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("POST", "/openrlhf/get_reward", body=raw, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        expect(r.status, r.read(), 400, code, what)
        conn.close()
        still_serving(what)

    status, body = post_json(server.url("/openrlhf/get_rewards"), valid)
    expect(status, body, 404, "not_found", "unknown route")

    # Over --http-max-body-mb: refused from the Content-Length before the body is sent.
    head = (f"POST /openrlhf/get_reward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {200 << 20}\r\n\r\n").encode()
    reply = raw_exchange(server.port, head + b'{"query": [')
    check(reply.startswith(b"HTTP/1.1 413") and b'"limit"' in reply, f"oversized body: {reply[:300]!r}")
    still_serving("an oversized body")

    # A client that hangs up in the middle of its body.
    head = (f"POST /openrlhf/get_reward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: 1000\r\n\r\n").encode()
    raw_exchange(server.port, head + b'{"query": ["abc', read=False)
    still_serving("a client that hung up mid-body")


def metrics(server, clients, per_client):
    """/metrics against the ZeroMQ side's own stats reply."""
    from rest_shaper_client import Client  # scripts/setup.sh installs it into .venv
    zmq_text = Client(server.endpoint, timeout=30).stats()["prometheus"]
    status, body = get(server.url("/metrics"))
    text = body.decode()
    families = lambda t: sorted(l.split()[2] for l in t.splitlines() if l.startswith("# TYPE"))
    check(status == 200 and families(text) == families(zmq_text) and len(families(text)) > 10,
          f"/metrics has the stats text's metric families: {families(text)} vs {families(zmq_text)}")
    line = re.compile(r'^rest_shaper_requests_total\{op="stats"\} (\d+)', re.M)
    check(line.search(text) and line.search(text).group(1) == "1", "/metrics shows the ZeroMQ stats request")
    m = re.search(r'^rest_shaper_http_requests_total\{route="openrlhf"\} (\d+)', text, re.M)
    check(m is not None and int(m.group(1)) >= clients * per_client, f"/metrics counts the HTTP requests: {m.group(0) if m else text[:300]!r}")


def auth():
    import subprocess
    refused = subprocess.run([binary(), "serve", "--bind", "inproc://x", "--tokenizer", "x", "--http", "0.0.0.0:0"],
                             capture_output=True, text=True, timeout=60)
    check(refused.returncode != 0 and "--http-token" in refused.stderr, f"non-loopback without a token: {refused.returncode} {refused.stderr[-300:]!r}")
    with RestShaperHTTP(token="s3cret") as server:
        url = server.url("/slime/reward")
        sample = {"prompt": "", "response": "x", "label": "y"}
        basic = "Basic " + base64.b64encode(b"rs:s3cret").decode()
        for headers, want in [({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": "Bearer s3cret"}, 200),
                              ({"Authorization": basic}, 200)]:
            status, body = post_json(url, sample, headers=headers)
            check(status == want, f"auth {headers}: {status} {body[:200]!r}")


def slow_batch(rows):
    """A small body that takes seconds to score: 400 same-name calls a row, each ground-truth call
    compared with every predicted one (about 0.15 s a row on one core)."""
    def calls(shift):
        return "\n".join(json.dumps({"name": "f", "parameters": {"a": i + shift, "b": i}}) for i in range(400))
    query = "<|im_start|>assistant\n<think>p</think>\n<tool_call>\n" + calls(0) + "\n</tool_call><|im_end|>"
    label = "<think>p</think>\n<tool_call>\n" + calls(1) + "\n</tool_call>"
    return {"query": [query] * rows, "labels": [label] * rows}


def drain():
    server = RestShaperHTTP("--http-workers", "1").start()
    rows = 16
    result = {}

    def slow():
        result["reply"] = post_json(server.url("/openrlhf/get_reward"), slow_batch(rows), timeout=600)

    t = threading.Thread(target=slow)
    t.start()
    in_flight = False
    for _ in range(3000):
        status, body = get(server.url("/healthz"))
        if status == 200 and json.loads(body)["in_flight"] >= 1:
            in_flight = True
            break
        time.sleep(0.01)
    check(in_flight, "drain: /healthz never showed the slow request in flight")
    rc = server.stop()
    t.join(600)
    status, body = result.get("reply", (None, b""))
    check(status == 200 and len(json.loads(body)["rewards"]) == rows, f"drain: the request in flight got {status} {body[:200]!r}")
    check(rc == 0, f"drain: exit status {rc}")
    log = server.read_log()
    check("draining" in log and "http front stopped" in log, "drain: the log shows no drain")
    print("drain: in flight at SIGTERM:", in_flight, "| reply:", status, "| exit:", rc, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    with RestShaperHTTP("--http-workers", "2", "--http-queue", "1024") as server:
        load(server, args.clients, args.requests)
        malformed(server)
        metrics(server, args.clients, args.requests)
    auth()
    drain()
    print(f"{PASSED} passed, {FAILED} failed")
    return 0 if FAILED == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
