"""Load test for a running rest-shaper sidecar: P client processes × N batches of random sizes,
with malformed requests mixed in. Asserts 0 lost and 0 mismatched replies and that every
malformed request got its typed error. Prints a JSON summary and `N passed, M failed`.

  python load_test.py --endpoint ipc:///tmp/rest-shaper.sock [--processes 8] [--batches 200]
                      [--oversize-mb 40]   (send one oversized message per process; needs a server
                                            started with a smaller max message size)
                      [--outstanding K]    (K > 1: valid batches only, K outstanding per client
                                            through Client.shape_many; every reply is compared with
                                            the reference reply of its batch, `busy` replies are
                                            retried by the client and counted; --require-busy
                                            fails the run unless some were)
"""
import argparse
import hashlib
import json
import multiprocessing as mp
import os
import random
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rest_shaper_client import Client, RestShaperError, protocol  # noqa: E402
from rest_shaper_client.errors import ClientTimeoutError  # noqa: E402

VECTORS = os.path.join(HERE, "..", "..", "Tests", "TestSupport", "Fixtures", "rest_vectors_visible.json")
VOCAB = 151669
MALFORMED = ["bad_json", "version", "dtype", "shape", "token_id", "utf8", "unknown_op", "missing_frame"]
EXPECTED_CODE = {"bad_json": "bad_header", "version": "version", "dtype": "dtype", "shape": "shape",
                 "token_id": "token_id", "utf8": "utf8", "unknown_op": "bad_header", "missing_frame": "bad_header",
                 "oversize": "limit"}


def load_rows():
    with open(VECTORS, encoding="utf-8") as fh:
        d = json.load(fh)
    return [(c["token_ids"], c["loss_mask"], c["ground_truth"]) for c in d["cases"]]


def make_batch(rng, rows):
    """A random batch: rows from the golden cases (real tool-call text) or random ids, random lengths."""
    b = rng.randint(1, 12)
    t = rng.choice([8, 16, 33, 64, 100, 128, 257, 512])
    ids = np.full((b, t), 151643, dtype=rng.choice([np.int32, np.int64]))
    mask = np.zeros((b, t), dtype=np.float32)
    gts = []
    for i in range(b):
        if rng.random() < 0.7:
            tok, m, gt = rows[rng.randrange(len(rows))]
            n = min(len(tok), t)
            ids[i, :n] = tok[:n]
            mask[i, :n] = m[:n]
        else:
            n = rng.randint(1, t)
            ids[i, :n] = [rng.randrange(0, VOCAB) for _ in range(n)]
            mask[i, :n] = 1
            gt = rows[rng.randrange(len(rows))][2]
        gts.append(gt)
    entropy = None
    if rng.random() < 0.5:
        entropy = np.asarray([[rng.random() * 3 for _ in range(t)] for _ in range(b)], dtype=np.float32)
    return ids, mask, gts, entropy


def malformed_frames(kind, rid):
    ids = np.array([[151667, 198, 151668]], dtype=np.int32)
    mask = np.ones((1, 3), dtype=np.float32)
    frames = [bytes(f) for f in protocol.encode_shape_request(rid, ids, mask, ["gt"], 0)]
    header = json.loads(frames[0])
    if kind == "bad_json":
        return [b'{"v":1,"op":"shape","id":%d,"tensors":[' % rid] + frames[1:]
    if kind == "version":
        header["v"] = 2
    elif kind == "dtype":
        header["tensors"][0]["dtype"] = "float32"
    elif kind == "shape":
        header["tensors"][1]["shape"] = [1, 4]
    elif kind == "token_id":
        frames[1] = np.array([[151667, VOCAB + 5, 1]], dtype=np.int32).tobytes()
    elif kind == "utf8":
        raw = protocol.canonical_json(header).replace(b'"gt"', b'"g\xff\xfet"')
        return [raw] + frames[1:]
    elif kind == "unknown_op":
        header["op"] = "reshape"
    elif kind == "missing_frame":
        return frames[:2]
    return [protocol.canonical_json(header)] + frames[1:]


def digest(res):
    h = hashlib.sha256()
    for a in (res.weights, res.rewards, res.components, res.categories):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def worker(args):
    endpoint, index, batches, seed, oversize_mb, timeout = args
    rng = random.Random(seed * 1000 + index)
    rows = load_rows()
    out = {"sent": 0, "ok": 0, "typed_errors": 0, "lost": 0, "mismatched": 0, "unexpected_errors": 0,
           "problems": [], "canary": None}
    client = Client(endpoint, timeout=timeout)
    canary = make_batch(random.Random(12345), rows)  # same in every process
    reference = {}

    def problem(msg):
        out["problems"].append(f"proc {index}: {msg}")

    for n in range(batches):
        kind = "valid"
        r = rng.random()
        if n == 0 or n % 25 == 24:
            kind = "canary"
        elif r < 0.12:
            kind = rng.choice(MALFORMED)
        elif oversize_mb and n == batches // 2:
            kind = "oversize"
        out["sent"] += 1
        try:
            if kind in ("valid", "canary"):
                ids, mask, gts, ent = canary if kind == "canary" else make_batch(rng, rows)
                step = 0 if kind == "canary" else rng.choice([0, 1, 50, 150, 300])
                profile = "released" if kind == "canary" else rng.choice(["released", "aligned", "uniform"])
                res = client.shape(ids, mask, gts, step, entropy=ent, profile=profile)
                b, t = ids.shape
                bad = []
                if res.weights.shape != (b, t) or res.categories.shape != (b, t):
                    bad.append(f"shape {res.weights.shape} for {(b, t)}")
                elif np.any(res.weights[mask == 0] != 0):
                    bad.append("non-zero weight where mask is 0")
                elif not np.all(np.isfinite(res.weights)) or np.any(res.weights < 0):
                    bad.append("weights not finite/non-negative")
                elif np.any(res.categories > 9):
                    bad.append("category out of range")
                if res.rewards.shape != (b,) or res.components.shape != (b, 4) or len(res.status) != b:
                    bad.append("reward/status shape")
                key = (kind, ids.tobytes(), mask.tobytes(), tuple(gts), step, profile)
                d = digest(res)
                if kind == "canary":
                    if out["canary"] is None:
                        out["canary"] = d
                    elif out["canary"] != d:
                        bad.append("canary reply differs from this process's first one")
                reference.setdefault(key, d)
                if reference[key] != d:
                    bad.append("not deterministic")
                if bad:
                    out["mismatched"] += 1
                    problem(f"batch {n}: {'; '.join(bad)}")
                else:
                    out["ok"] += 1
            elif kind == "oversize":
                big = np.zeros(oversize_mb << 18, dtype=np.float32)  # oversize_mb MiB
                rid = 10**9 + index
                frames = malformed_frames("shape", rid)
                header = json.loads(frames[0])
                # Chunked like every sender does (frames ≤ 16 MiB): the total is over the limit, no
                # frame is over ZMQ_MAXMSGSIZE (a larger frame would get the connection dropped).
                chunk = protocol.MAX_FRAME_BYTES // 4
                parts = [big[i:i + chunk] for i in range(0, big.size, chunk)]
                header["tensors"].append({"name": "entropy", "dtype": "float32", "shape": [int(big.size)],
                                          "frames": list(range(3, 3 + len(parts)))})
                reply = client.request([protocol.canonical_json(header)] + frames[1:] + parts, rid)
                _expect_error(reply, "limit", out, problem, n)
            else:
                rid = 10**8 + index * 10**5 + n
                reply = client.request(malformed_frames(kind, rid), rid)
                _expect_error(reply, EXPECTED_CODE[kind], out, problem, n)
        except ClientTimeoutError as e:
            out["lost"] += 1
            problem(f"batch {n} ({kind}): {e}")
        except RestShaperError as e:
            out["unexpected_errors"] += 1
            problem(f"batch {n} ({kind}): unexpected error {e}")
    client.close()
    return out


def pipelined_worker(args):
    """Valid batches only, `outstanding` in flight: each reply must equal the reference reply of
    its batch (computed one at a time first), so a reply matched to the wrong request is caught."""
    endpoint, index, batches, seed, outstanding, timeout = args
    rng = random.Random(seed * 1000 + index)
    rows = load_rows()
    out = {"sent": 0, "ok": 0, "typed_errors": 0, "lost": 0, "mismatched": 0, "unexpected_errors": 0,
           "busy_retried": 0, "problems": [], "canary": None}
    client = Client(endpoint, timeout=timeout, busy_retries=200, busy_backoff=0.002)
    distinct = []
    for _ in range(24):
        ids, mask, gts, ent = make_batch(rng, rows)
        kw = {"input_ids": ids, "mask": mask, "ground_truth": gts, "step": rng.choice([0, 1, 50, 300]),
              "entropy": ent, "profile": rng.choice(["released", "aligned", "uniform"])}
        distinct.append((kw, digest(client.shape(**kw))))
    plan = [rng.randrange(len(distinct)) for _ in range(batches)]
    for n, res in client.shape_many((distinct[i][0] for i in plan), window=outstanding):
        out["sent"] += 1
        if isinstance(res, ClientTimeoutError):
            out["lost"] += 1
            out["problems"].append(f"proc {index}: batch {n}: {res}")
        elif isinstance(res, RestShaperError):
            out["unexpected_errors"] += 1
            out["problems"].append(f"proc {index}: batch {n}: {res}")
        elif digest(res) != distinct[plan[n]][1]:
            out["mismatched"] += 1
            out["problems"].append(f"proc {index}: batch {n}: reply differs from its batch's reference")
        else:
            out["ok"] += 1
    out["busy_retried"] = client.busy_retried
    client.close()
    return out


def _expect_error(reply, code, out, problem, n):
    header = protocol.decode_header(reply[0])
    got = (header.get("error") or {}).get("code")
    if header.get("status") == "error" and got == code:
        out["typed_errors"] += 1
    else:
        out["mismatched"] += 1
        problem(f"batch {n}: expected error {code}, got {header.get('status')} {got}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", default=os.environ.get("REST_SHAPER_ENDPOINT", "ipc:///tmp/rest-shaper.sock"))
    p.add_argument("--processes", type=int, default=8)
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--oversize-mb", type=int, default=0)
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--outstanding", type=int, default=1)
    p.add_argument("--require-busy", action="store_true")
    a = p.parse_args(argv)
    t0 = time.time()
    ctx = mp.get_context("spawn")
    with ctx.Pool(a.processes) as pool:
        if a.outstanding > 1:
            results = pool.map(pipelined_worker, [(a.endpoint, i, a.batches, a.seed, a.outstanding, a.timeout)
                                                  for i in range(a.processes)])
        else:
            results = pool.map(worker, [(a.endpoint, i, a.batches, a.seed, a.oversize_mb, a.timeout) for i in range(a.processes)])
    total = {k: sum(r.get(k, 0) for r in results)
             for k in ("sent", "ok", "typed_errors", "lost", "mismatched", "unexpected_errors", "busy_retried")}
    canaries = {r["canary"] for r in results if r["canary"]}
    problems = [m for r in results for m in r["problems"]]
    if len(canaries) > 1:
        total["mismatched"] += 1
        problems.append("canary replies differ between processes")
    total["replied"] = total["ok"] + total["typed_errors"] + total["mismatched"] + total["unexpected_errors"]
    total["seconds"] = round(time.time() - t0, 2)
    total["processes"] = a.processes
    total["batches_per_process"] = a.batches
    total["outstanding"] = a.outstanding
    print(json.dumps(total))
    for m in problems[:30]:
        print("PROBLEM", m)
    ok = total["lost"] == 0 and total["mismatched"] == 0 and total["unexpected_errors"] == 0 and \
        total["replied"] == total["sent"] and total["sent"] == a.processes * a.batches
    if a.outstanding > 1:
        ok = ok and total["ok"] == total["sent"] and (total["busy_retried"] > 0 or not a.require_busy)
    else:
        ok = ok and total["typed_errors"] > 0
    print(f"{1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
