"""Synchronous ZeroMQ client for the rest-shaper sidecar."""
import itertools
import os
import random
import time

import numpy as np
import zmq

from . import protocol
from .digest import WeightDigest
from .errors import BusyError, ClientTimeoutError, RestShaperError

SOCKET_BUFFER = 4 << 20  # 4 MiB SNDBUF/RCVBUF: ~10× faster round trips for small messages


class ShapeResult:
    """What `Client.shape` returns. Arrays are read-only views of the reply frames (zero-copy);
    call ``.copy()`` before writing into them."""

    __slots__ = ("weights", "rewards", "components", "categories", "status", "metrics", "entropy",
                 "turn_rewards", "turn_ends", "compute_us", "header", "id")

    def __init__(self, header, tensors):
        self.header = header
        self.weights = tensors["weights"]          # float32 [B,T]
        self.rewards = tensors["rewards"]          # float32 [B]
        self.components = tensors["components"]    # float32 [B,4]: format, correctness, length, score
        self.categories = tensors["categories"]    # uint8 [B,T]
        self.entropy = tensors.get("entropy")      # float32 [B,T] when logits were sent
        # Multi-turn rows (interior mask-0 runs): float32 [B,K] per-turn rewards and int32 [B,K]
        # index of each turn's last token (-1: no such turn); None when every row has one turn.
        self.turn_rewards = tensors.get("turn_rewards")
        self.turn_ends = tensors.get("turn_ends")
        self.status = header.get("rollouts", [])   # per rollout: {"code": "ok"} or {"code", "message"}
        self.metrics = header.get("metrics", {})
        self.compute_us = header.get("compute_us")
        self.id = header.get("id")                 # what Client.applied(reply_id=...) refers to

    def __repr__(self):
        return f"ShapeResult(B={self.weights.shape[0]}, T={self.weights.shape[1]}, reward_mean={self.metrics.get('reward_mean')})"


class Client:
    """One DEALER connection to a sidecar. Not thread-safe: use one Client per thread/process.

    ``Client("ipc:///tmp/rest-shaper.sock").shape(ids, mask, ground_truth, step)``

    CURVE (a server started with ``--curve-secret-key`` and ``--curve-allow``): pass the server's
    public key and this client's own keypair (``rest-shaper keygen``; the public half must be on
    the server's allow-list), each as 40 Z85 characters (str or bytes) or ``"@FILE"``. A server
    that refuses the key sends nothing: requests time out (ClientTimeoutError).

    ``busy`` replies (the server's queue or in-flight byte budget is full) are retried up to
    ``busy_retries`` times with exponential backoff from ``busy_backoff`` seconds (capped at 1 s);
    ``self.busy_retried`` counts the retries.
    """

    def __init__(self, endpoint=None, timeout=120.0, context=None, curve_server_key=None, curve_public_key=None,
                 curve_secret_key=None, busy_retries=50, busy_backoff=0.005):
        self.endpoint = endpoint or os.environ.get("REST_SHAPER_ENDPOINT", "ipc:///tmp/rest-shaper.sock")
        self.timeout_ms = int(timeout * 1000) if timeout else -1
        self._ctx = context or zmq.Context.instance()
        # A random start: the server keeps shape replies for acknowledgement by id, and ids from
        # different clients (processes, threads) should not collide.
        self._ids = itertools.count(1 + random.getrandbits(40))
        self._curve_server_key = _key(curve_server_key)
        self._curve_public_key = _key(curve_public_key)
        self._curve_secret_key = _key(curve_secret_key)
        if (self._curve_public_key is None) != (self._curve_secret_key is None):
            raise ValueError("give both curve_public_key and curve_secret_key, or neither")
        if self._curve_public_key is not None and self._curve_server_key is None:
            raise ValueError("curve_public_key/curve_secret_key need curve_server_key")
        self.busy_retries = busy_retries
        self.busy_backoff = busy_backoff
        self.busy_retried = 0
        self._sock = None
        self._connect()

    def _connect(self):
        s = self._ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.SNDBUF, SOCKET_BUFFER)
        s.setsockopt(zmq.RCVBUF, SOCKET_BUFFER)
        s.setsockopt(zmq.LINGER, 0)
        if self._curve_server_key:
            if self._curve_public_key is not None:
                pub, sec = self._curve_public_key, self._curve_secret_key
            else:
                pub, sec = zmq.curve_keypair()  # encryption only: a server with an allow-list refuses it
            s.curve_serverkey = self._curve_server_key
            s.curve_publickey = pub
            s.curve_secretkey = sec
        s.connect(self.endpoint)
        self._sock = s

    def close(self):
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ── raw exchange ──
    def send_frames(self, frames):
        """Sends one request (list of header bytes + buffers); tensor frames are not copied."""
        self._sock.send(b"", zmq.SNDMORE)
        last = len(frames) - 1
        for i, f in enumerate(frames):
            self._sock.send(f, zmq.SNDMORE if i < last else 0, copy=i == 0)

    def recv_frames(self, timeout_ms=None):
        """Receives one reply (envelope removed) as zmq.Frame objects."""
        t = self.timeout_ms if timeout_ms is None else timeout_ms
        if t >= 0 and not self._sock.poll(t):
            # The socket may hold a late reply now: drop it so later calls stay in step.
            self.close()
            self._connect()
            raise ClientTimeoutError(f"no reply from {self.endpoint} within {t} ms")
        frames = self._sock.recv_multipart(copy=False)
        if frames and len(frames[0].bytes) == 0:
            frames = frames[1:]
        return frames

    def request(self, frames, request_id):
        """Sends frames and waits for the reply with the same id (stale replies are skipped)."""
        self.send_frames(frames)
        while True:
            reply = self.recv_frames()
            header = protocol.decode_header(reply[0])
            if header.get("id") in (request_id, None):
                return reply

    # ── operations ──
    def ping(self):
        rid = next(self._ids)
        return protocol.decode_reply(self.request(protocol.encode_simple_request("ping", rid), rid))[0]

    def stats(self):
        rid = next(self._ids)
        return protocol.decode_reply(self.request(protocol.encode_simple_request("stats", rid), rid))[0]

    def applied(self, reply_id, weights=None, mask=None, digest=None):
        """Tells the server the weights of shape reply ``reply_id`` were multiplied into the loss.

        Pass the applied weights and the mask they were applied under ([B, T]; the digest is
        computed here) or a precomputed ``digest`` (:class:`WeightDigest` or its dict). Compute
        them from the tensor that multiplies the loss. Returns the server's verdict
        ``{"result": "ok" | "mismatch" | "unknown", "message": ...}``.
        """
        if digest is None:
            if weights is None or mask is None:
                raise ValueError("applied() needs weights and mask, or digest")
            digest = WeightDigest.of(weights, mask)
        rid = next(self._ids)
        header = protocol.decode_reply(self.request(protocol.encode_applied_request(rid, reply_id, digest), rid))[0]
        return header.get("applied", {"result": "unknown", "message": "the server sent no verdict"})

    def shape(self, input_ids, mask, ground_truth, step, entropy=None, logits=None, topk=None, **options):
        """ResT weights and ToolRL rewards for a batch.

        input_ids: int32/int64 [B,T]; mask: [B,T] (bool, uint8, int32/64 or float32; non-zero = valid);
        ground_truth: B strings; step: global step. At most one of entropy (float32 [B,T]),
        logits (float32/float16 [B,T,V]; bfloat16 as a uint16 array with logits_dtype="bfloat16"),
        topk ((topk_logits float32 [B,T,K], logsumexp float32 [B,T], vocab)).
        options: profile, reward, reward_flags, schedule, temperature, compute_rewards,
        compute_weights, turn_reward ("mean", "last", "sum"), prompt_ids (list of B id arrays),
        logits_dtype, turn_ground_truth (per row, one ground truth or None per turn).
        Raises a RestShaperError subclass (``.code``) on an error reply (``busy`` only after
        ``busy_retries`` retries).
        """
        rid = next(self._ids)
        frames = _shape_frames(rid, dict(options, input_ids=input_ids, mask=mask, ground_truth=ground_truth, step=step,
                                         entropy=entropy, logits=logits, topk=topk))
        for attempt in range(self.busy_retries + 1):
            try:
                header, tensors = protocol.decode_reply(self.request(frames, rid))
                return ShapeResult(header, tensors)
            except BusyError:
                if attempt == self.busy_retries:
                    raise
                self.busy_retried += 1
                time.sleep(min(1.0, self.busy_backoff * 2 ** attempt))

    def shape_many(self, batches, window=4):
        """Pipelined ``shape``: keeps up to ``window`` requests outstanding and yields
        ``(index, ShapeResult or RestShaperError)`` in the order replies arrive. ``batches`` is an
        iterable of dicts of ``shape``'s arguments. ``busy`` replies are resent after a backoff
        (counted in ``busy_retried``); a request without a reply within the timeout yields a
        ClientTimeoutError."""
        it = iter(enumerate(batches))
        pending = {}   # id → [index, frames, busy attempts, sent at]
        retry = []     # (due time, id)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                try:
                    index, kw = next(it)
                except StopIteration:
                    exhausted = True
                    break
                rid = next(self._ids)
                frames = _shape_frames(rid, dict(kw))
                pending[rid] = [index, frames, 0, time.monotonic()]
                self.send_frames(frames)
            if not pending:
                return
            now = time.monotonic()
            for due, rid in [r for r in retry if r[0] <= now]:
                retry.remove((due, rid))
                pending[rid][3] = now
                self.send_frames(pending[rid][1])
            waiting = [rid for rid in pending if all(rid != r[1] for r in retry)]
            wait_ms = 50 if retry else (self.timeout_ms if self.timeout_ms >= 0 else 1000)
            if not self._sock.poll(wait_ms):
                oldest = min((pending[r][3] for r in waiting), default=now)
                if not retry and self.timeout_ms >= 0 and (time.monotonic() - oldest) * 1000 >= self.timeout_ms:
                    for rid in waiting:
                        yield pending.pop(rid)[0], ClientTimeoutError(f"no reply from {self.endpoint} within {self.timeout_ms} ms")
                    self.close()
                    self._connect()
                continue
            reply = self._sock.recv_multipart(copy=False)
            if reply and len(reply[0].bytes) == 0:
                reply = reply[1:]
            header = protocol.decode_header(reply[0])
            rid = header.get("id")
            if rid not in pending:
                continue  # a stale reply (an earlier timeout)
            try:
                yield pending[rid][0], ShapeResult(*protocol.decode_reply(reply))
                del pending[rid]
            except BusyError as e:
                entry = pending[rid]
                if entry[2] >= self.busy_retries:
                    del pending[rid]
                    yield entry[0], e
                else:
                    self.busy_retried += 1
                    retry.append((time.monotonic() + min(1.0, self.busy_backoff * 2 ** entry[2]), rid))
                    entry[2] += 1
            except RestShaperError as e:
                yield pending.pop(rid)[0], e


def _key(k):
    """A Z85 key from str/bytes or "@FILE" (None stays None)."""
    if k is None:
        return None
    if isinstance(k, bytes):
        k = k.decode("ascii")
    if k.startswith("@"):
        with open(k[1:], encoding="ascii") as fh:
            k = fh.read()
    k = k.strip()
    if len(k) != 40:
        raise ValueError("a CURVE key is 40 Z85 characters")
    return k.encode("ascii")


def _shape_frames(rid, kw):
    """Frames of a shape request from ``Client.shape``'s keyword arguments."""
    input_ids = np.asarray(kw.pop("input_ids"))
    if input_ids.dtype not in (np.int32, np.int64):
        input_ids = input_ids.astype(np.int64)
    mask = np.asarray(kw.pop("mask"))
    if mask.dtype not in (np.float32, np.uint8, np.bool_, np.int32, np.int64):
        mask = mask.astype(np.float32)
    entropy = kw.pop("entropy", None)
    if entropy is not None:
        entropy = np.asarray(entropy, dtype=np.float32)
    return protocol.encode_shape_request(rid, input_ids, mask, list(kw.pop("ground_truth")), kw.pop("step"), entropy=entropy,
                                         logits=kw.pop("logits", None), topk=kw.pop("topk", None),
                                         prompt_ids=kw.pop("prompt_ids", None), logits_dtype=kw.pop("logits_dtype", None),
                                         turn_ground_truth=kw.pop("turn_ground_truth", None), options=kw)
