"""Structure-aware fuzzer for a running rest-shaper sidecar (issue 11).

Sends N messages built from valid requests (golden-vector rollouts with entropies, full logits,
top-k logits, prompts, options; ping; stats) and mutated in three families:

  header   the JSON header: keys dropped or retyped, integers at their edges (id, step, vocab, v,
           shape dimensions, frame indices, `applied` counts), `turn_ground_truth` and `turn_reward`
           (issue 12), temperatures 0/−1/1e30/1e-50/NaN,
           schedules with huge numbers, unknown names, duplicate tensors, raw byte damage, deep
           nesting, bad UTF-8
  frames   frame counts and sizes: frames dropped, duplicated, split, truncated, extended, added,
           an empty header, a message over the server's size limit, many tiny frames
  payload  tensor contents with a valid header: ids at int32/int64 edges, masks, entropies, logits,
           top-k logits and log-sum-exps with NaN/±inf/huge/negative/denormal values, prompt lengths
           at int64 edges (2^63−1, 2^62 pairs, negatives, off by one), rows of only −inf

Every `--control-every` messages a valid control (a golden-vector case at one of its steps, the
`released` profile) is sent and its weights and reward components are checked against the
vectors. Requests cover every op (ping, stats, shape, applied). Each of `--sockets` DEALER sockets has one request outstanding at a time, so every reply
is matched to its request: exactly one reply per request, whose id is the request's (or absent
when the header was unreadable). At the end `stats` must show no worker crash.

  python fuzz_sidecar.py --endpoint E --messages N [--seed S] [--families header,frames,payload]
                         [--server-pid PID] [--max-message-mb M] [--json]
Prints a JSON summary and `N passed, M failed` (1 check: the whole run); exits 1 on any failure.
"""
import argparse
import json
import math
import os
import random
import re
import struct
import sys
import time

import numpy as np
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from rest_shaper_client import protocol  # noqa: E402
from rest_shaper_client.check import component_ok, weights_ok  # noqa: E402

VECTORS = os.path.join(HERE, "..", "..", "Tests", "TestSupport", "Fixtures", "rest_vectors_visible.json")
CODES = {"bad_header", "version", "dtype", "shape", "limit", "token_id", "utf8", "value", "busy", "timeout", "internal"}
COMPONENTS = ("format", "correctness", "length", "score")

INT_EDGES = [0, 1, -1, 2, 3, 255, 256, 65535, 2**31 - 1, 2**31, -2**31, 2**32, 2**40, 2**40 + 1, 2**53, 2**53 + 1,
             2**62, 2**63 - 1, -2**63, 2**64, 10**30]
FLOAT_EDGES = [float("nan"), float("inf"), float("-inf"), 1e38, -1e38, 3.4028235e38, 1e-45, -0.0, 0.0, 1e30, -1e30, 1.0]
JSON_EDGES = [0, -1, 1.5, 2**31, 2**40, 2**53, 2**63, 1e300, -1e300, "x", "", None, True, [], {}, [1], {"a": 1}]


def load_vectors(path):
    with open(path, encoding="utf-8") as fh:
        d = json.load(fh)
    return d


class Corpus:
    """Valid base requests: a message is a list of byte strings (header first)."""

    def __init__(self, vectors, vocab, rng):
        self.vocab = vocab
        self.cases = vectors["cases"]
        self.pad = int(vectors.get("pad_token_id", 151643))
        self.rng = rng

    def rows(self, b):
        rng = self.rng
        cs = [self.cases[rng.randrange(len(self.cases))] for _ in range(b)]
        t = max(len(c["token_ids"]) for c in cs)
        t = min(t, rng.choice([t, 8, 16, 33, 64, t]))
        ids = np.full((b, t), self.pad, dtype=np.int32)
        mask = np.zeros((b, t), dtype=np.float32)
        for i, c in enumerate(cs):
            n = min(len(c["token_ids"]), t)
            ids[i, :n] = c["token_ids"][:n]
            mask[i, :n] = c["loss_mask"][:n]
        return ids, mask, [c["ground_truth"] for c in cs]

    def shape(self, rid):
        """A valid shape request with a random entropy source, prompts and options."""
        rng = self.rng
        b = rng.choice([1, 1, 2, 3])
        ids, mask, gts = self.rows(b)
        if rng.random() < 0.3:
            ids = ids.astype(np.int64)
        if rng.random() < 0.2:
            mask = (mask != 0).astype(rng.choice([np.uint8, np.bool_, np.int32, np.int64]))
        t = ids.shape[1]
        kind = rng.choice(["none", "entropy", "logits", "topk"])
        kw = {}
        if kind == "entropy":
            kw["entropy"] = np.asarray(np.random.default_rng(rng.randrange(1 << 30)).random((b, t)) * 3, dtype=np.float32)
        elif kind == "logits":
            v = rng.choice([1, 2, 7, 32, 33, 100])
            kw["logits"] = np.asarray(np.random.default_rng(rng.randrange(1 << 30)).standard_normal((b, t, v)) * 3,
                                      dtype=rng.choice([np.float32, np.float16]))
        elif kind == "topk":
            k = rng.choice([1, 2, 5])
            g = np.random.default_rng(rng.randrange(1 << 30))
            top = -np.sort(-g.standard_normal((b, t, k)).astype(np.float32), axis=-1)
            lse = (np.log(np.exp(top).sum(-1) + 1.0)).astype(np.float32)
            kw["topk"] = (top, lse, rng.choice([k + 1, 1000, self.vocab]))
        if rng.random() < 0.2:
            kw["prompt_ids"] = [np.asarray(ids[i, :rng.randrange(0, 6)], dtype=np.int32) for i in range(b)]
        options = {}
        if rng.random() < 0.5:
            options["profile"] = rng.choice(["aligned", "released", "uniform"])
        if rng.random() < 0.2:
            options["reward"] = rng.choice(["rest", "toolrl"])
        if rng.random() < 0.1:
            options["reward_flags"] = {"SCHEDULEREWARD": True}
        if rng.random() < 0.1:
            options["temperature"] = rng.choice([0.5, 1.0, 2.0])
        if rng.random() < 0.05:
            options["schedule"] = json.dumps({"gammas": {"think": {"kind": "entropy", "start": 0.6, "end": 1.0}}})
        if rng.random() < 0.1:
            # Multi-turn (issue 12): one ground truth (or None) per turn; the rows here have one turn.
            kw["turn_ground_truth"] = [[rng.choice([g, None])] for g in gts]
            options["turn_reward"] = rng.choice(["mean", "last", "sum"])
        frames = protocol.encode_shape_request(rid, ids, mask, gts, rng.choice([0, 1, 50, 300]), options=options,
                                               max_frame_bytes=rng.choice([protocol.MAX_FRAME_BYTES, 64, 1000]), **kw)
        return [bytes(f) for f in frames]

    def simple(self, rid):
        """ping, stats, or applied (issue 13: the trainer reports the weights it applied)."""
        op = self.rng.choice(["ping", "stats", "applied"])
        if op == "applied":
            rng = self.rng
            digest = {"rows": rng.choice([0, 1, 3]), "tokens": rng.choice([0, 5, 300]),
                      "weight_sum": rng.random() * 100, "digest": rng.random()}
            return [bytes(f) for f in protocol.encode_applied_request(rid, rng.randrange(1 << 40), digest)]
        return [bytes(f) for f in protocol.encode_simple_request(op, rid)]


# ── mutations ──

def mutate_header(msg, rng, rid):
    frames = list(msg)
    try:
        h = json.loads(frames[0])
    except ValueError:
        h = None
    choice = rng.randrange(14)
    if h is None or choice >= 11:
        raw = bytearray(frames[0])
        k = rng.randrange(6)
        if k == 0 and raw:
            del raw[rng.randrange(len(raw)):]
        elif k == 1 and raw:
            for _ in range(rng.randint(1, 4)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
        elif k == 2:
            depth = rng.choice([50, 1000, 5000])
            raw = bytearray(b'{"v":1,"op":"ping","id":%d,"x":' % rid + b"[" * depth + b"]" * depth + b"}")
        elif k == 3:
            raw = bytearray(raw.replace(b'"op"', b'"op":"ping","op"', 1))
        elif k == 4:
            raw = bytearray(raw + rng.choice([b"x", b" ", b"\x00", b"}", b"\xff"]))
        else:
            raw = bytearray(raw.replace(b'"', b"\xc3\x28", 1) if rng.random() < 0.5 else b"\xef\xbb\xbf" + raw)
        frames[0] = bytes(raw)
        return frames
    keys = list(h.keys())
    if choice == 0 and keys:
        del h[rng.choice(keys)]
    elif choice == 1 and keys:
        h[rng.choice(keys)] = rng.choice(JSON_EDGES)
    elif choice == 2:
        h[rng.choice(["id", "step", "vocab", "v"])] = rng.choice(INT_EDGES + [1.5, -0.5, 1e300])
    elif choice == 3:
        opts = h.setdefault("options", {})
        opts["temperature"] = rng.choice([0, -1, 1e30, 1e-50, 1e-30, 1e-7, None, 3.5e38, "hot", 1e308])
    elif choice == 4:
        opts = h.setdefault("options", {})
        k = rng.choice(["profile", "reward", "reward_flags", "schedule", "compute_rewards", "compute_weights"])
        opts[k] = rng.choice(JSON_EDGES + ["nope", json.dumps({"gammas": {"think": 1e308}}),
                                           json.dumps({"gammas": {"think": {"kind": "cosine", "start": 0, "end": 1, "steps": 0}}}),
                                           json.dumps({"clamp": {"min": 1e-300, "max": 1e300}}), "{", "[]"])
    elif choice in (5, 6, 7) and h.get("tensors"):
        t = rng.choice(h["tensors"])
        if choice == 5:
            dims = list(t["shape"])
            if dims:
                dims[rng.randrange(len(dims))] = rng.choice(INT_EDGES + [1.5, "2"])
            else:
                dims = [rng.choice(INT_EDGES)]
            if rng.random() < 0.2:
                dims = dims + [rng.choice([1, 2, 0])] if rng.random() < 0.5 else dims[:-1]
            t["shape"] = dims
        elif choice == 6:
            fr = list(t["frames"])
            k = rng.randrange(4)
            if k == 0:
                fr[rng.randrange(len(fr))] = rng.choice([0, -1, 2**20, 2**20 + 1, 2**31, len(frames), 1, 1.5])
            elif k == 1:
                fr = fr + fr
            elif k == 2:
                fr = []
            else:
                fr = list(reversed(fr))
            t["frames"] = fr
        else:
            k = rng.randrange(3)
            if k == 0:
                t["dtype"] = rng.choice(["int32", "int64", "uint8", "bool", "float32", "float16", "bfloat16", "complex64", ""])
            elif k == 1:
                t["name"] = rng.choice(["input_ids", "mask", "entropy", "logits", "topk_logits", "logsumexp", "prompt_ids",
                                        "prompt_lengths", "weights", "", "x" * 300])
            else:
                h["tensors"].append(dict(t))
    elif choice == 8 and rng.random() < 0.3:
        h["turn_ground_truth"] = rng.choice([[], [[]], [[None]], [["a", "b"]] * 3, [[1]], "x", None, [[None, None]] * 2])
        if rng.random() < 0.5:
            h.setdefault("options", {})["turn_reward"] = rng.choice(["mean", "last", "sum", "median", 3, None])
    elif choice == 8:
        gt = h.get("ground_truth")
        h["ground_truth"] = rng.choice([[], ["a"] * 5, [1, 2], "x", None, [""] * len(gt or [0]), ["\u0000\ud7ff"] * len(gt or [0])])
    elif choice == 9:
        h["op"] = rng.choice(["ping", "stats", "shape", "Shape", "", "applied", 7, None])
        if "applied" in h and rng.random() < 0.5:
            a = h["applied"] if isinstance(h["applied"], dict) else {}
            a[rng.choice(["reply_id", "rows", "tokens", "weight_sum", "digest"])] = rng.choice(INT_EDGES + [None, "x", 1e308, -1.5])
            h["applied"] = a
    else:
        h["tensors"] = rng.choice([[], None, {}, "x", [1], [{}]])
    frames[0] = json.dumps(h, separators=(",", ":"), ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    return frames


def mutate_frames(msg, rng, max_message_bytes):
    frames = list(msg)
    k = rng.randrange(11)
    if k == 0 and len(frames) > 1:
        del frames[rng.randrange(1, len(frames))]
    elif k == 1 and len(frames) > 1:
        i = rng.randrange(1, len(frames))
        frames.insert(i, frames[i])
    elif k == 2:
        frames.append(bytes(rng.randrange(0, 9)))
    elif k == 3 and len(frames) > 1:
        i = rng.randrange(1, len(frames))
        f = frames[i]
        cut = rng.randrange(0, len(f) + 1)
        frames[i:i + 1] = [f[:cut], f[cut:]]
    elif k == 4 and len(frames) > 1:
        i = rng.randrange(1, len(frames))
        frames[i] = frames[i][:max(0, len(frames[i]) - rng.choice([1, 2, 3, 4, 8]))]
    elif k == 5 and len(frames) > 1:
        i = rng.randrange(1, len(frames))
        frames[i] = frames[i] + bytes(rng.choice([1, 2, 4, 8]))
    elif k == 6:
        frames[0] = b""
    elif k == 7:
        frames = frames[:1]
    elif k == 8:
        frames = frames + [b"\x00" * 4] * rng.choice([10, 500])
    elif k == 9 and rng.random() < 0.02:
        # Over the server's total size limit, in frames each below the per-frame limit: a `limit` reply.
        chunk = max(1, min(1 << 20, max_message_bytes // 4))
        n = max_message_bytes // chunk + 2
        frames = frames + [bytes(chunk)] * n
    elif k == 9 and rng.random() < 0.003:
        # One frame above ZMQ_MAXMSGSIZE: the server's ZeroMQ drops the connection (no reply).
        frames = frames + [bytes(max_message_bytes + 1)]
    else:
        frames = [frames[0], b""] + frames[1:]
    return frames


def _edge_ints(n, dtype, vocab, rng):
    edges = {np.int32: [0, -1, 1, vocab - 1, vocab, vocab + 1, 2**31 - 1, -2**31, 2**16],
             np.int64: [0, -1, vocab - 1, vocab, 2**31 - 1, 2**31, 2**32 + 5, 2**62, 2**63 - 1, -2**63, -2**62]}[dtype]
    a = np.asarray([rng.choice(edges) for _ in range(n)], dtype=dtype)
    return a


def _edge_floats(n, rng, dtype=np.float32):
    a = np.asarray([rng.choice(FLOAT_EDGES) if rng.random() < 0.5 else rng.random() * 3 for _ in range(n)], dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return a.astype(dtype)


def mutate_payload(msg, rng, vocab):
    """Rewrites one tensor's bytes (same size, so the header stays valid) or the numbers that the
    header and tensors must agree on (prompt lengths, vocab with top-k)."""
    frames = list(msg)
    try:
        h = json.loads(frames[0])
    except ValueError:
        return frames
    tensors = h.get("tensors") or []
    if not tensors:
        return frames
    byname = {t["name"]: t for t in tensors}
    if "prompt_lengths" in byname and rng.random() < 0.3:
        t = byname["prompt_lengths"]
        b = t["shape"][0]
        n = byname["prompt_ids"]["shape"][0]
        pat = rng.randrange(6)
        if pat == 0:
            lens = [2**63 - 1] + [0] * (b - 1)
        elif pat == 1:
            lens = [2**62] * b
        elif pat == 2:
            lens = [-1] + [n + 1] + [0] * (b - 2) if b >= 2 else [-1]
        elif pat == 3:
            lens = [n + 1] + [0] * (b - 1)
        elif pat == 4:
            lens = [-2**63] + [0] * (b - 1)
        else:
            lens = [rng.choice(INT_EDGES[:19]) for _ in range(b)]
        data = np.asarray([x if -2**63 <= x < 2**63 else 0 for x in lens][:b], dtype=np.int64)
        if t["dtype"] == "int32":
            data = data.astype(np.int32)
        _put(frames, t, data.tobytes())
        return frames
    if "topk_logits" in byname and rng.random() < 0.3:
        h["vocab"] = rng.choice([1, 2, byname["topk_logits"]["shape"][-1], byname["topk_logits"]["shape"][-1] - 1,
                                 2**20, 2**20 + 1, 2**40, vocab])
        frames[0] = json.dumps(h, separators=(",", ":")).encode()
        return frames
    t = rng.choice(tensors)
    n = 1
    for d in t["shape"]:
        n *= d
    if n == 0:
        return frames
    dt = t["dtype"]
    if dt in ("int32", "int64"):
        data = _edge_ints(n, np.int32 if dt == "int32" else np.int64, vocab, rng)
    elif dt in ("uint8", "bool"):
        data = np.asarray([rng.choice([0, 1, 2, 255]) for _ in range(n)], dtype=np.uint8)
    elif dt == "float16":
        data = _edge_floats(n, rng, np.float16)
    elif dt == "bfloat16":
        data = (_edge_floats(n, rng).view(np.uint32) >> 16).astype(np.uint16)
    else:
        data = _edge_floats(n, rng)
        if t["name"] in ("logits", "topk_logits") and rng.random() < 0.3:
            v = t["shape"][-1]
            data = data.reshape(-1, v)
            data[rng.randrange(data.shape[0])] = -np.inf  # a row with no distribution
            data = data.reshape(-1)
    if rng.random() < 0.5:
        # Keep most values valid: damage a few positions only.
        orig = np.frombuffer(_tensor_bytes(frames, t), dtype=data.dtype).copy()
        idx = [rng.randrange(n) for _ in range(rng.randint(1, 3))]
        orig[idx] = data[idx]
        data = orig
    _put(frames, t, data.tobytes())
    if "options" in h and rng.random() < 0.2:
        h["options"]["temperature"] = rng.choice([1e-30, 1e-7, 1e30, 3e38])
        frames[0] = json.dumps(h, separators=(",", ":")).encode()
    return frames


def _tensor_bytes(frames, t):
    return b"".join(frames[i] for i in t["frames"])


def _put(frames, t, raw):
    at = 0
    for i in t["frames"]:
        n = len(frames[i])
        frames[i] = raw[at:at + n]
        at += n


# ── the run ──

class Slot:
    __slots__ = ("sock", "rid", "kind", "ids", "sent_at", "control", "expect_silence")

    def __init__(self, sock):
        self.sock = sock
        self.rid = None


def candidate_ids(frame0, rid):
    """The ids a reply may carry: the one sent, or one the mutated header now spells. cJSON skips
    every byte <= 0x20 as whitespace, so a digit replaced by a control byte shortens the id."""
    ids = {rid}
    for m in re.finditer(rb'"id"[\x00-\x20]*:[\x00-\x20]*(-?[0-9]+)', frame0[:100000]):
        try:
            ids.add(int(m.group(1)))
        except ValueError:
            pass
    return ids


def make_socket(ctx, endpoint):
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SNDHWM, 0)
    s.connect(endpoint)
    return s


def run(a):
    rng = random.Random(a.seed)
    vectors = load_vectors(a.vectors)
    ctx = zmq.Context()
    probe = make_socket(ctx, a.endpoint)

    def simple(op, rid):
        probe.send_multipart([b""] + protocol.encode_simple_request(op, rid))
        if not probe.poll(a.timeout * 1000):
            raise SystemExit(f"no reply to {op}: is the server running at {a.endpoint}?")
        fr = probe.recv_multipart()
        return json.loads(fr[1] if fr[0] == b"" else fr[0])

    ping = simple("ping", 1)
    vocab = int(ping["server"]["vocab"])
    max_message_bytes = int(ping["server"]["limits"]["max_message_bytes"])
    corpus = Corpus(vectors, vocab, rng)
    families = [f for f in a.families.split(",") if f]
    cases = [c for c in vectors["cases"]]
    steps = [int(s) for s in vectors["weight_steps"]]

    stats = {"messages": 0, "replies": 0, "lost": 0, "id_mismatch": 0, "extra_replies": 0, "bad_replies": 0,
             "controls": 0, "controls_ok": 0, "controls_failed": 0, "ok": 0, "internal": 0, "busy": 0,
             "expected_silence": 0, "codes": {}, "families": {f: 0 for f in families}}
    problems = []
    slots = [Slot(make_socket(ctx, a.endpoint)) for _ in range(a.sockets)]
    poller = zmq.Poller()
    for s in slots:
        poller.register(s.sock, zmq.POLLIN)
    next_id = 1000
    t0 = time.time()
    last_report = t0

    def problem(msg):
        if len(problems) < 50:
            problems.append(msg)

    def send(slot):
        nonlocal next_id
        next_id += 1
        rid = next_id
        stats["messages"] += 1
        slot.control = None
        slot.expect_silence = False
        if a.control_every and stats["messages"] % a.control_every == 0:
            c = cases[rng.randrange(len(cases))]
            step = rng.choice(steps)
            ids = np.asarray([c["token_ids"]], dtype=np.int32)
            mask = np.asarray([c["loss_mask"]], dtype=np.float32)
            frames = [bytes(f) for f in protocol.encode_shape_request(rid, ids, mask, [c["ground_truth"]], step,
                                                                        options={"profile": "released"})]
            slot.control = (c, step)
            slot.kind = "control"
            stats["controls"] += 1
        else:
            base = corpus.shape(rid) if rng.random() < 0.85 else corpus.simple(rid)
            fam = rng.choice(families) if families else "none"
            if fam == "header":
                frames = mutate_header(base, rng, rid)
            elif fam == "frames":
                frames = mutate_frames(base, rng, max_message_bytes)
                # One frame above ZMQ_MAXMSGSIZE gets the connection dropped, not a reply.
                slot.expect_silence = any(len(f) > max_message_bytes for f in frames)
            elif fam == "payload":
                frames = mutate_payload(base, rng, vocab)
            else:
                frames = base
            stats["families"][fam] = stats["families"].get(fam, 0) + 1
            slot.kind = fam
        slot.rid = rid
        slot.ids = candidate_ids(frames[0], rid)
        slot.sent_at = time.time()
        slot.sock.send_multipart([b""] + frames, copy=False)

    def check_control(slot, header, frames):
        c, step = slot.control
        try:
            tensors = protocol.decode_tensors(header, frames)
        except Exception as e:  # noqa: BLE001
            return f"tensors do not decode: {e}"
        if header.get("status") != "ok":
            return f"error {header.get('error')}"
        why = weights_ok(c["weights_by_step"][str(step)], tensors["weights"][0], c["loss_mask"])
        if why:
            return f"weights: {why}"
        exp = c["rewards"]["default"]
        for i, name in enumerate(COMPONENTS):
            if not component_ok(exp[name], tensors["components"][0, i]):
                return f"{name}: expected {exp[name]}, got {tensors['components'][0, i]}"
        return None

    def receive(slot):
        fr = slot.sock.recv_multipart(copy=True)
        if fr and fr[0] == b"":
            fr = fr[1:]
        if slot.rid is None:
            stats["extra_replies"] += 1
            problem(f"a reply arrived on a socket with nothing outstanding: {fr[:1]!r}")
            return
        stats["replies"] += 1
        try:
            header = json.loads(fr[0])
            assert isinstance(header, dict) and header.get("v") == 1 and header.get("status") in ("ok", "error")
        except Exception:  # noqa: BLE001
            stats["bad_replies"] += 1
            problem(f"request {slot.rid} ({slot.kind}): unreadable reply {fr[0][:200]!r}")
            slot.rid = None
            return
        rid = header.get("id")
        if rid is not None and rid not in slot.ids:
            stats["id_mismatch"] += 1
            problem(f"request {slot.rid} ({slot.kind}): reply carries id {rid}")
        if header["status"] == "error":
            code = (header.get("error") or {}).get("code")
            stats["codes"][code] = stats["codes"].get(code, 0) + 1
            if code not in CODES:
                stats["bad_replies"] += 1
                problem(f"request {slot.rid}: unknown error code {code}")
            if code == "internal":
                stats["internal"] += 1
                problem(f"request {slot.rid} ({slot.kind}): internal error {header['error'].get('message')}")
            if code == "busy":
                stats["busy"] += 1
        else:
            stats["ok"] += 1
        if slot.control is not None:
            why = check_control(slot, header, fr)
            if why:
                stats["controls_failed"] += 1
                problem(f"control {slot.control[0]['id']} step {slot.control[1]}: {why}")
            else:
                stats["controls_ok"] += 1
        slot.rid = None

    def server_alive():
        if not a.server_pid:
            return True
        try:
            os.kill(a.server_pid, 0)
            return True
        except OSError:
            return False

    for s in slots:
        send(s)
    while True:
        events = dict(poller.poll(100))
        for s in slots:
            if s.sock in events:
                while s.sock.poll(0):
                    receive(s)
        now = time.time()
        for i, s in enumerate(slots):
            if s.rid is not None:
                limit = a.silence_wait if s.expect_silence else a.timeout
                if now - s.sent_at > limit:
                    if s.expect_silence:
                        stats["expected_silence"] += 1
                    else:
                        stats["lost"] += 1
                        problem(f"request {s.rid} ({s.kind}): no reply within {limit} s")
                    poller.unregister(s.sock)
                    s.sock.close(0)
                    slots[i] = Slot(make_socket(ctx, a.endpoint))
                    poller.register(slots[i].sock, zmq.POLLIN)
        if not server_alive():
            problem("the server process exited")
            break
        if stats["messages"] >= a.messages and all(s.rid is None for s in slots):
            break
        for s in slots:
            if s.rid is None and stats["messages"] < a.messages:
                send(s)
        if a.progress and now - last_report > a.progress:
            last_report = now
            print(f"... {stats['messages']} sent, {stats['replies']} replies, {stats['lost']} lost, "
                  f"{stats['messages'] / (now - t0):.0f}/s", file=sys.stderr, flush=True)
    # Late replies (to requests already counted as lost) are extras too.
    time.sleep(0.2)
    for s in slots:
        while s.sock.poll(0):
            receive(s)
    stats["seconds"] = round(time.time() - t0, 1)
    stats["server_alive"] = server_alive()
    final = {}
    if stats["server_alive"]:
        try:
            final = simple("stats", 2).get("stats", {})
        except SystemExit as e:
            stats["server_alive"] = False
            problem(str(e))
    stats["server_stats"] = {k: final.get(k) for k in ("requests_total", "replies_ok", "worker_crashes",
                                                         "worker_restarts", "errors_internal", "errors_value")}
    crashes = final.get("worker_crashes", 0) or 0
    ok = (stats["server_alive"] and stats["lost"] == 0 and stats["id_mismatch"] == 0 and stats["extra_replies"] == 0
          and stats["bad_replies"] == 0 and stats["internal"] == 0 and stats["controls_failed"] == 0
          and stats["controls_ok"] == stats["controls"] and crashes == 0
          and stats["replies"] + stats["expected_silence"] == stats["messages"])
    stats["passed"] = ok
    print(json.dumps(stats, sort_keys=True))
    for p in problems[:30]:
        print("PROBLEM", p)
    print(f"{1 if ok else 0} passed, {0 if ok else 1} failed")
    for s in slots:
        s.sock.close(0)
    probe.close(0)
    ctx.term()
    return 0 if ok else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", default=os.environ.get("REST_SHAPER_ENDPOINT", "ipc:///tmp/rest-shaper.sock"))
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--families", default="header,frames,payload")
    p.add_argument("--sockets", type=int, default=4)
    p.add_argument("--control-every", type=int, default=50)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a reply")
    p.add_argument("--silence-wait", type=float, default=2.0, help="seconds to wait where no reply is expected")
    p.add_argument("--server-pid", type=int, default=0)
    p.add_argument("--vectors", default=VECTORS)
    p.add_argument("--progress", type=float, default=0, help="print progress every this many seconds")
    a = p.parse_args(argv)
    return run(a)


if __name__ == "__main__":
    sys.exit(main())
