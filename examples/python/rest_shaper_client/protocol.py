"""Pure encoding/decoding of protocol v1 messages (no sockets). See protocol/PROTOCOL.md."""
import json

import numpy as np

from .errors import RestShaperError, error_for

VERSION = 1
MAX_FRAME_BYTES = 16 << 20

_NP_TO_WIRE = {
    np.dtype("int32"): "int32",
    np.dtype("int64"): "int64",
    np.dtype("uint8"): "uint8",
    np.dtype("bool"): "bool",
    np.dtype("float32"): "float32",
    np.dtype("float16"): "float16",
}
_WIRE_TO_NP = {
    "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"),
    "uint8": np.dtype("u1"),
    "bool": np.dtype("bool"),
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
    "bfloat16": np.dtype("<u2"),  # raw bits; numpy has no bfloat16
}

CATEGORY_NAMES = ["outside", "think_tag", "think", "tool_call_tag", "tool_name", "tool_args",
                  "tool_json", "response_tag", "response", "special"]


def canonical_json(obj):
    """Compact JSON exactly as the server writes it (keys in insertion order)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def wire_dtype(array, override=None):
    if override is not None:
        return override
    try:
        return _NP_TO_WIRE[array.dtype]
    except KeyError:
        raise RestShaperError(f"dtype {array.dtype} cannot be sent", code="dtype") from None


class MessageBuilder:
    """Collects tensor frames (each ≤ MAX_FRAME_BYTES, whole elements) and their descriptors."""

    def __init__(self, max_frame_bytes=MAX_FRAME_BYTES):
        self.max_frame_bytes = max_frame_bytes
        self.frames = []
        self.tensors = []

    def add(self, name, array, dtype=None):
        array = np.ascontiguousarray(array)
        if array.dtype.byteorder == ">":
            array = array.astype(array.dtype.newbyteorder("<"))
        wd = wire_dtype(array, dtype)
        raw = memoryview(array).cast("B") if array.size else memoryview(b"")
        width = array.dtype.itemsize
        chunk = max(width, self.max_frame_bytes - self.max_frame_bytes % width)
        indices = []
        offset = 0
        while True:
            self.frames.append(raw[offset:offset + chunk])
            indices.append(len(self.frames))  # frame 0 is the header
            offset += chunk
            if offset >= len(raw):
                break
        self.tensors.append({"name": name, "dtype": wd, "shape": [int(d) for d in array.shape], "frames": indices})


def encode_shape_request(request_id, input_ids, mask, ground_truth, step, entropy=None, logits=None,
                         topk=None, prompt_ids=None, options=None, logits_dtype=None,
                         max_frame_bytes=MAX_FRAME_BYTES, turn_ground_truth=None):
    """Frames of a shape request: [header bytes, tensor buffers...] (buffers are zero-copy views).

    turn_ground_truth: optional, per rollout a list with one ground truth (str, or None for no
    reward) per turn of that row (turns = runs of mask != 0; see PROTOCOL.md "Multi-turn rollouts").
    """
    b = MessageBuilder(max_frame_bytes)
    b.add("input_ids", input_ids)
    b.add("mask", mask)
    vocab = None
    if entropy is not None:
        b.add("entropy", entropy)
    if logits is not None:
        b.add("logits", logits, logits_dtype)
    if topk is not None:
        topk_logits, logsumexp, vocab = topk
        b.add("topk_logits", topk_logits)
        b.add("logsumexp", logsumexp)
        vocab = int(vocab)
    if prompt_ids is not None:
        flat = np.concatenate([np.asarray(p, dtype=np.int32).reshape(-1) for p in prompt_ids]) if len(prompt_ids) else np.zeros(0, np.int32)
        b.add("prompt_ids", flat.astype(np.int32, copy=False))
        b.add("prompt_lengths", np.array([len(p) for p in prompt_ids], dtype=np.int64))
    header = {"v": VERSION, "op": "shape", "id": int(request_id), "step": int(step)}
    if vocab is not None:
        header["vocab"] = vocab
    header["ground_truth"] = [str(g) for g in ground_truth]
    if turn_ground_truth is not None:
        header["turn_ground_truth"] = [[None if g is None else str(g) for g in row] for row in turn_ground_truth]
    if options:
        header["options"] = _options(options)
    header["tensors"] = b.tensors
    return [canonical_json(header)] + b.frames


_OPTION_ORDER = ("profile", "reward", "reward_flags", "schedule", "temperature", "compute_rewards", "compute_weights",
                 "turn_reward")


def _options(options):
    unknown = set(options) - set(_OPTION_ORDER)
    if unknown:
        raise RestShaperError(f"unknown options {sorted(unknown)}", code="bad_header")
    out = {}
    for k in _OPTION_ORDER:
        if options.get(k) is None:
            continue
        v = options[k]
        if k == "reward_flags":
            v = {str(n): bool(f) for n, f in v.items()}
        elif k == "temperature":
            v = float(v)
        elif k in ("compute_rewards", "compute_weights"):
            v = bool(v)
        elif k == "schedule" and not isinstance(v, str):
            v = json.dumps(v)
        out[k] = v
    return out


def encode_applied_request(request_id, reply_id, digest):
    """Frames of an ``applied`` request: the trainer applied the weights of shape reply ``reply_id``;
    ``digest`` is a :class:`rest_shaper_client.digest.WeightDigest` (or its ``as_dict()``)."""
    d = digest.as_dict() if hasattr(digest, "as_dict") else dict(digest)
    applied = {"reply_id": int(reply_id), "rows": int(d["rows"]), "tokens": int(d["tokens"]),
               "weight_sum": float(d["weight_sum"]), "digest": float(d["digest"])}
    return [canonical_json({"v": VERSION, "op": "applied", "id": int(request_id), "applied": applied})]


def encode_simple_request(op, request_id):
    """Frames of a ping or stats request."""
    return [canonical_json({"v": VERSION, "op": op, "id": int(request_id)})]


def _buffer(frame):
    return frame.buffer if hasattr(frame, "buffer") else memoryview(frame)


def decode_header(frame):
    try:
        header = json.loads(bytes(_buffer(frame)).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise RestShaperError(f"reply header is not JSON: {e}", code="bad_header") from None
    if not isinstance(header, dict) or header.get("v") != VERSION:
        raise RestShaperError("reply header is not a v1 object", code="version")
    return header


def decode_tensors(header, frames):
    """name → numpy array. Single-frame tensors are zero-copy read-only views of the frame."""
    out = {}
    for t in header.get("tensors", []):
        dt = _WIRE_TO_NP[t["dtype"]]
        parts = [_buffer(frames[i]) for i in t["frames"]]
        if len(parts) == 1:
            arr = np.frombuffer(parts[0], dtype=dt)
        else:
            arr = np.frombuffer(b"".join(bytes(p) for p in parts), dtype=dt)
        out[t["name"]] = arr.reshape(t["shape"])
    return out


def decode_reply(frames):
    """(header, tensors) of a reply; raises the RestShaperError subclass of an error reply."""
    header = decode_header(frames[0])
    if header.get("status") != "ok":
        err = header.get("error") or {}
        raise error_for(err.get("code", "internal"), err.get("message", ""))
    return header, decode_tensors(header, frames)
