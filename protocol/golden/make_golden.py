"""Writes the golden protocol messages of this folder (run from the repository root:
`python protocol/golden/make_golden.py`, with examples/python on PYTHONPATH or the client installed).

Each `.bin` file is one multipart message: u32 frame count, then per frame u64 length + bytes
(little-endian; the same frame encoding as capture records). `manifest.json` lists them.
Requests are encoded by the Python client; replies by the reference encoder below, which follows
PROTOCOL.md. The Swift test decodes and re-encodes every file byte for byte."""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "python"))
from rest_shaper_client import protocol  # noqa: E402
from rest_shaper_client.digest import WeightDigest  # noqa: E402


def write(name, frames, manifest, **info):
    blob = bytearray(struct.pack("<I", len(frames)))
    for f in frames:
        f = bytes(f)
        blob += struct.pack("<Q", len(f)) + f
    with open(os.path.join(HERE, name + ".bin"), "wb") as fh:
        fh.write(blob)
    manifest.append({"file": name + ".bin", "frames": len(frames), **info})


def reply(header_items, tensors=(), max_frame_bytes=protocol.MAX_FRAME_BYTES):
    b = protocol.MessageBuilder(max_frame_bytes)
    for name, arr in tensors:
        b.add(name, arr)
    header = dict(header_items)
    if b.tensors:
        header["tensors"] = b.tensors
    return [protocol.canonical_json(header)] + b.frames


def main():
    m = []
    write("ping_request", protocol.encode_simple_request("ping", 1), m, kind="request", op="ping")
    write("stats_request", protocol.encode_simple_request("stats", 2), m, kind="request", op="stats")

    ids = np.array([[151667, 198, 151668, 151645], [785, 1196, 151643, 151643]], dtype=np.int32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.float32)
    write("shape_request_min", protocol.encode_shape_request(3, ids, mask, ["gt one", "gt two"], 0), m,
          kind="request", op="shape", ids_dtype="int32", mask_dtype="float32", max_frame_bytes=protocol.MAX_FRAME_BYTES)

    ent = np.array([[0.5, 1.25, 0.0, 2.0], [0.125, 3.0, 0.0, 0.0]], dtype=np.float32)
    gt = ['<think> ... </think>\n<tool_call>\n{"name": "get_weather", "parameters": {"city": "Zürich \\ 東京"}}\n</tool_call>',
          "tab\there \u0001 ctrl, emoji \U0001F600"]
    opts = {"profile": "released", "reward": "rest", "reward_flags": {"SCHEDULEREWARD": True, "WITHLENGTH": False},
            "temperature": 0.7}
    write("shape_request_entropy_options",
          protocol.encode_shape_request(4, ids.astype(np.int64), mask.astype(np.uint8), gt, 150, entropy=ent, options=opts),
          m, kind="request", op="shape", ids_dtype="int64", mask_dtype="uint8", max_frame_bytes=protocol.MAX_FRAME_BYTES)

    rng = np.random.default_rng(7)
    topk = rng.standard_normal((2, 4, 3)).astype(np.float32)
    lse = rng.standard_normal((2, 4)).astype(np.float32) + 5
    write("shape_request_topk_prompt",
          protocol.encode_shape_request(5, ids, mask.astype(bool), ["a", "b"], 1, topk=(topk, lse, 151669),
                                        prompt_ids=[np.array([151644, 77091, 198]), np.array([151644])],
                                        options={"profile": "aligned"}),
          m, kind="request", op="shape", ids_dtype="int32", mask_dtype="bool", max_frame_bytes=protocol.MAX_FRAME_BYTES)

    logits = rng.standard_normal((2, 4, 5)).astype(np.float32)
    bf16 = (logits.view(np.uint32) >> 16).astype(np.uint16)
    write("shape_request_logits_chunked",
          protocol.encode_shape_request(6, ids, mask, ["x", "y"], 2, logits=bf16, logits_dtype="bfloat16",
                                        max_frame_bytes=24),
          m, kind="request", op="shape", ids_dtype="int32", mask_dtype="float32", max_frame_bytes=24)

    # Multi-turn: row 0 = turn (3 tokens), observation (3, mask 0), turn (2), padding (2);
    # row 1 = one turn. One ground truth per turn (None: that turn gets no reward).
    mt_ids = np.array([[151667, 198, 151645, 198, 151644, 872, 151667, 151645, 151643, 151643],
                       [785, 1196, 6801, 279, 1482, 151645, 151643, 151643, 151643, 151643]], dtype=np.int32)
    mt_mask = np.array([[1, 1, 1, 0, 0, 0, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]], dtype=np.uint8)
    write("shape_request_multiturn",
          protocol.encode_shape_request(7, mt_ids, mt_mask, ["gt last", "gt single"], 12,
                                        turn_ground_truth=[["gt first", None], ["gt single"]],
                                        options={"profile": "aligned", "turn_reward": "sum"}),
          m, kind="request", op="shape", ids_dtype="int32", mask_dtype="uint8", max_frame_bytes=protocol.MAX_FRAME_BYTES)
    mt_weights = np.array([[1.25, 0.5, 1.25, 0, 0, 0, 1.25, 0.75, 0, 0], [0, 1.0, 1.0, 1.0, 1.0, 0, 0, 0, 0, 0]], dtype=np.float32)
    mt_cats = np.array([[1, 2, 9, 10, 10, 10, 1, 9, 9, 9], [0, 8, 8, 8, 8, 9, 9, 9, 9, 9]], dtype=np.uint8)
    mt_rewards = np.array([-1.0, 0.5], dtype=np.float32)
    mt_comps = np.array([[0.0, -1.0, 0.0, -1.0], [0.0, 0.5, 0.0, 0.5]], dtype=np.float32)
    mt_metrics = {"reward_mean": -0.25,
                  "token_counts": {"outside": 1, "response": 4, "special": 3, "think": 1, "think_tag": 2},
                  "weight_means": {"outside": 0.0, "response": 1.0, "special": 0.6666666666666666, "think": 0.5,
                                   "think_tag": 1.25},
                  "entropy_means": {},
                  "gammas": {"response_tag": 1.0, "think": float(np.float32(0.624)), "think_tag": 1.0,
                             "tool_args": float(np.float32(0.624)), "tool_call_tag": 1.0, "tool_name": float(np.float32(1.2))}}
    write("shape_reply_multiturn",
          reply([("v", 1), ("op", "shape"), ("id", 7), ("status", "ok"), ("compute_us", 321),
                 ("rollouts", [{"code": "ok"}, {"code": "ok"}]), ("metrics", mt_metrics)],
                [("weights", mt_weights), ("rewards", mt_rewards), ("components", mt_comps), ("categories", mt_cats),
                 ("turn_rewards", np.array([[-1.0, 0.0], [0.5, 0.0]], dtype=np.float32)),
                 ("turn_ends", np.array([[2, 7], [5, -1]], dtype=np.int32))]),
          m, kind="reply", op="shape", max_frame_bytes=protocol.MAX_FRAME_BYTES)

    weights = np.array([[1.5, 0.75, 1.0, 0.75], [1.0, 1.0, 0.0, 0.0]], dtype=np.float32)
    rewards = np.array([4.0, -1.5], dtype=np.float32)
    comps = np.array([[1.0, 3.0, 0.0, 4.0], [0.0, -1.5, 0.0, -1.5]], dtype=np.float32)
    cats = np.array([[1, 2, 1, 9], [8, 8, 9, 9]], dtype=np.uint8)
    metrics = {"reward_mean": 1.25,
               "token_counts": {"response": 2, "special": 1, "think": 1, "think_tag": 2},
               "weight_means": {"response": 1.0, "special": 0.75, "think": 0.75, "think_tag": 1.25},
               "entropy_means": {}}
    head = [("v", 1), ("op", "shape"), ("id", 3), ("status", "ok"), ("compute_us", 1234),
            ("rollouts", [{"code": "ok"}, {"code": "fallback", "message": "no tool block; weights = mask"}]),
            ("metrics", metrics)]
    write("shape_reply_ok", reply(head, [("weights", weights), ("rewards", rewards), ("components", comps),
                                         ("categories", cats)]), m, kind="reply", op="shape", max_frame_bytes=protocol.MAX_FRAME_BYTES)
    metrics2 = dict(metrics, entropy_means={"response": 0.0625, "think": 1e-05, "think_tag": 1.5})
    head2 = [("v", 1), ("op", "shape"), ("id", 6), ("status", "ok"), ("compute_us", 99),
             ("rollouts", [{"code": "ok"}, {"code": "ok"}]), ("metrics", metrics2)]
    write("shape_reply_entropy_chunked",
          reply(head2, [("weights", weights), ("rewards", rewards), ("components", comps), ("categories", cats),
                        ("entropy", ent)], max_frame_bytes=16),
          m, kind="reply", op="shape", max_frame_bytes=16)
    write("error_reply_shape",
          reply([("v", 1), ("op", "shape"), ("id", 9), ("status", "error"),
                 ("error", {"code": "shape", "message": "mask must be [2,4], got [2,3]"})]), m, kind="reply", op="shape")
    write("error_reply_unreadable",
          reply([("v", 1), ("op", "unknown"), ("status", "error"),
                 ("error", {"code": "bad_header", "message": "header is not valid JSON near byte 7"})]), m, kind="reply", op="unknown")
    server = {"version": "rest-shaper 0.1.0", "protocols": [1],
              "dtypes": {"input_ids": ["int32", "int64"], "mask": ["float32", "uint8", "bool", "int32", "int64"],
                         "entropy": ["float32"], "logits": ["float32", "bfloat16", "float16"], "topk_logits": ["float32"],
                         "logsumexp": ["float32"], "prompt_ids": ["int32", "int64"], "prompt_lengths": ["int32", "int64"]},
              "limits": {"max_message_bytes": 2147483648, "max_frame_bytes": 16777216, "max_tokens": 8388608,
                         "max_vocab": 1048576, "max_batch": 65536, "timeout_ms": 120000},
              "vocab": 151669}
    write("ping_reply", reply([("v", 1), ("op", "ping"), ("id", 1), ("status", "ok"), ("server", server)]), m,
          kind="reply", op="ping")
    stats = {"requests_total": 10, "replies_ok": 8, "errors_shape": 2, "in_flight": 0}
    prom = ("# TYPE rest_shaper_requests_total counter\nrest_shaper_requests_total 10\n"
            "rest_shaper_errors_total{code=\"shape\"} 2\n")
    write("stats_reply", reply([("v", 1), ("op", "stats"), ("id", 2), ("status", "ok"), ("stats", stats),
                                ("prometheus", prom)]), m, kind="reply", op="stats")

    # The acknowledgement of shape_reply_ok's weights under shape_request_min's mask (id 3):
    # rows 2, tokens 6, weight_sum 6.0, digest 1.5·1 + 0.75·2 + 1·3 + 0.75·4 + 1·1 + 1·2 = 12.0.
    digest = WeightDigest.of(weights, mask)
    assert digest.as_dict() == {"rows": 2, "tokens": 6, "weight_sum": 6.0, "digest": 12.0}
    write("applied_request", protocol.encode_applied_request(11, 3, digest), m, kind="request", op="applied")
    write("applied_reply_ok", reply([("v", 1), ("op", "applied"), ("id", 11), ("status", "ok"),
                                     ("applied", {"result": "ok"})]), m, kind="reply", op="applied")
    write("applied_reply_mismatch",
          reply([("v", 1), ("op", "applied"), ("id", 12), ("status", "ok"),
                 ("applied", {"result": "mismatch", "message": "reply 3: digest 21.0 != 12.0 sent"})]),
          m, kind="reply", op="applied")

    with open(os.path.join(HERE, "manifest.json"), "w") as fh:
        json.dump({"kind": "rest-shaper-golden", "protocol": 1, "messages": m}, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
