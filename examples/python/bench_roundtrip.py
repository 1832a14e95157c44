"""Round-trip benchmark: a 512×2048 batch (ids int32, mask float32, entropies float32 in;
weights, rewards, components, categories out) through a running sidecar, against a pyzmq echo of
the same request bytes measured in the same run. Prints JSON:

  roundtrip_ms   median client round trip through the sidecar
  echo_ms        median round trip of the same frames through a pyzmq ROUTER echo (another process)
  compute_ms     median server-side compute time (reply header `compute_us`)
  ratio          roundtrip / (echo + compute)        goal: ≤ 1.5

  python bench_roundtrip.py --endpoint ipc:///tmp/rest-shaper.sock [--batch 512] [--length 2048] [--repeat 7]
"""
import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rest_shaper_client import Client, protocol  # noqa: E402
from rest_shaper_client.client import SOCKET_BUFFER  # noqa: E402

VECTORS = os.path.join(HERE, "..", "..", "Tests", "TestSupport", "Fixtures", "rest_vectors_visible.json")


def echo_server(endpoint, ready):
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    s.setsockopt(zmq.SNDBUF, SOCKET_BUFFER)
    s.setsockopt(zmq.RCVBUF, SOCKET_BUFFER)
    s.bind(endpoint)
    ready.set()
    while True:
        frames = s.recv_multipart(copy=False)
        if len(frames) == 3 and frames[2].bytes == b"stop":
            s.send_multipart(frames)
            break
        s.send_multipart(frames, copy=False)
    s.close(0)
    ctx.term()


def make_batch(b, t):
    """Real rollouts from the golden vectors, tiled to fill [b, t]."""
    with open(VECTORS, encoding="utf-8") as fh:
        cases = json.load(fh)["cases"]
    ids = np.full((b, t), 151643, dtype=np.int32)
    mask = np.zeros((b, t), dtype=np.float32)
    gts = []
    for i in range(b):
        c = cases[i % len(cases)]
        row, m = [], []
        while len(row) < t:  # several copies of a response fill the row, as long rollouts would
            row += c["token_ids"][:-3]
            m += c["loss_mask"][:-3]
        ids[i] = row[:t]
        mask[i] = m[:t]
        mask[i, -16:] = 0  # padding tail
        gts.append(c["ground_truth"])
    rng = np.random.default_rng(0)
    entropy = rng.random((b, t), dtype=np.float32) * 3
    return ids, mask, gts, entropy


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", default=os.environ.get("REST_SHAPER_ENDPOINT", "ipc:///tmp/rest-shaper.sock"))
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--length", type=int, default=2048)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--profile", default="aligned")
    a = p.parse_args(argv)

    ids, mask, gts, entropy = make_batch(a.batch, a.length)
    client = Client(a.endpoint, timeout=600)
    client.shape(ids[:2], mask[:2], gts[:2], 1, entropy=entropy[:2], profile=a.profile)  # warm up

    # Echo of the very same request frames through a pyzmq ROUTER in another process.
    tmp = tempfile.mkdtemp(prefix="rs-echo-")
    echo_ep = f"ipc://{tmp}/echo.sock"
    ready = mp.get_context("spawn").Event()
    proc = mp.get_context("spawn").Process(target=echo_server, args=(echo_ep, ready), daemon=True)
    proc.start()
    ready.wait(30)
    echo = Client(echo_ep, timeout=600)
    frames = protocol.encode_shape_request(1, ids, mask, gts, 1, entropy=entropy, options={"profile": a.profile})
    request_bytes = sum(len(memoryview(f).cast("B")) for f in frames)

    rt, ec, comp = [], [], []
    reply_bytes = 0
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        echo.send_frames(frames)
        echo.recv_frames()
        ec.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        res = client.shape(ids, mask, gts, 1, entropy=entropy, profile=a.profile)
        rt.append(time.perf_counter() - t0)
        comp.append(res.compute_us / 1e6)
        reply_bytes = sum(x.nbytes for x in (res.weights, res.rewards, res.components, res.categories))

    echo.send_frames([b"stop"])
    echo.recv_frames()
    echo.close()
    proc.join(10)
    client.close()

    roundtrip, echo_s, compute = statistics.median(rt), statistics.median(ec), statistics.median(comp)
    ratio = roundtrip / (echo_s + compute)
    print(json.dumps({
        "batch": [a.batch, a.length], "repeat": a.repeat, "profile": a.profile,
        "request_bytes": request_bytes, "reply_tensor_bytes": reply_bytes,
        "roundtrip_ms": round(roundtrip * 1e3, 3), "echo_ms": round(echo_s * 1e3, 3),
        "compute_ms": round(compute * 1e3, 3), "overhead_ms": round((roundtrip - compute) * 1e3, 3),
        "ratio": round(ratio, 3), "goal": 1.5, "met": ratio <= 1.5,
        "roundtrip_ms_all": [round(x * 1e3, 2) for x in rt], "echo_ms_all": [round(x * 1e3, 2) for x in ec],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
