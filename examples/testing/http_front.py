"""A real ``rest-shaper serve --http`` for the OpenRLHF and slime tests (stdlib only).

``RestShaperHTTP`` starts the release binary on a free loopback port (``--http 127.0.0.1:0``; the
bound port is read from its log), waits for ``/healthz``, and stops it with SIGTERM (a drain),
returning the exit status. The binary is ``$REST_SHAPER_BIN`` or the package's release build.

The fixtures helpers read the vendored reference files: the ToolRL repository's
``reward_refs_test.jsonl`` (its ``rlla.compute_score`` outputs, all flags off: the ``toolrl``
variant) and the golden ResT vectors (``rewards`` per reward config: the ``rest`` variant).
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKENIZER = os.path.join(ROOT, "Tests", "TestSupport", "Fixtures", "qwen.tiktoken")
REWARD_REFS = os.path.join(ROOT, "Tests", "RewardsTests", "Fixtures", "reward_refs_test.jsonl")
VECTORS = os.path.join(ROOT, "Tests", "TestSupport", "Fixtures", "rest_vectors_visible.json")
ASSISTANT = "<|im_start|>assistant\n"
TOLERANCE = 1e-9  # what `rest-shaper conformance` allows


def binary():
    path = os.environ.get("REST_SHAPER_BIN") or os.path.join(ROOT, ".build", "release", "rest-shaper")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no rest-shaper binary at {path}: run `swift build -c release --product rest-shaper` "
                           "or set REST_SHAPER_BIN")
    return path


class RestShaperHTTP:
    """``with RestShaperHTTP("--http-workers", "2") as server: server.url("/healthz")``."""

    def __init__(self, *extra_args, token=None, startup_timeout=180):
        self.extra_args = list(extra_args) + (["--http-token", token] if token else [])
        self.token = token
        self.startup_timeout = startup_timeout
        self.proc = None
        self.port = None
        self.workdir = tempfile.mkdtemp(prefix="rest-shaper-http-")
        self.log_path = os.path.join(self.workdir, "server.log")

    def start(self):
        self.endpoint = endpoint = f"ipc://{self.workdir}/sidecar.sock"
        args = [binary(), "serve", "--bind", endpoint, "--tokenizer", TOKENIZER, "--http", "127.0.0.1:0"] + self.extra_args
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + self.startup_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rest-shaper serve exited {self.proc.returncode}:\n{self.read_log()}")
            m = re.search(r"http front listening.*?port=(\d+)|port=(\d+).*?http front listening", self.read_log())
            if m:
                self.port = int(m.group(1) or m.group(2))
                break
            time.sleep(0.1)
        if self.port is None:
            self.proc.kill()
            raise RuntimeError(f"the HTTP front did not start:\n{self.read_log()}")
        status, body = get(self.url("/healthz"), headers={"Authorization": f"Bearer {self.token}"} if self.token else None)
        if status != 200 or json.loads(body)["status"] != "ok":
            raise RuntimeError(f"/healthz answered {status}: {body!r}")
        return self

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, timeout=120):
        """SIGTERM (a graceful drain); returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"rest-shaper did not exit within {timeout} s of SIGTERM:\n{self.read_log()}")
        finally:
            self.log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def post_json(url, payload, timeout=180, headers=None):
    """One POST with ``json.dumps(payload)`` (what requests' and aiohttp's ``json=`` send).
    Returns (status, body bytes); HTTP errors are returned, not raised."""
    data = json.dumps(payload).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})},
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get(url, timeout=30, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def split_prompt(solution):
    """The chat-templated prompt (through the last assistant header) and the response after it."""
    i = solution.rfind(ASSISTANT)
    if i < 0:
        return "", solution
    return solution[: i + len(ASSISTANT)], solution[i + len(ASSISTANT):]


def reward_refs():
    """Rows of reward_refs_test.jsonl: solution_str, ground_truth and the reference's values
    (score, format_score, correctness_score, length_score) or {"error": Type}."""
    with open(REWARD_REFS) as f:
        return [json.loads(line) for line in f if line.strip()]


def vectors():
    with open(VECTORS) as f:
        return json.load(f)


def config_query(config):
    """URL query selecting a vectors reward config: the rest variant, its flags and step."""
    q = f"reward=rest&step={config.get('step', 0)}&flag=none"
    for name, value in config.get("env", {}).items():
        if value == "1":
            q += f"&flag={name}"
    return q


def close(got, want):
    return abs(got - want) <= TOLERANCE * max(1.0, abs(want))


def reference_error(row):
    """The exception type the reference raised for this row, or None."""
    err = row.get("error")
    return err if isinstance(err, str) else None
