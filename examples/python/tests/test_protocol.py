"""The Python client's codec against the golden messages in protocol/golden (byte for byte)."""
import json
import os
import struct

import numpy as np
import pytest

from rest_shaper_client import protocol
from rest_shaper_client.digest import WeightDigest, matches as digest_matches, row_digests
from rest_shaper_client.errors import RestShaperError, ShapeError, error_for
from rest_shaper_client.check import env_to_flags, weights_ok, component_ok

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "..", "protocol", "golden")


def frames(name):
    blob = open(os.path.join(GOLDEN, name), "rb").read()
    (n,) = struct.unpack_from("<I", blob, 0)
    at, out = 4, []
    for _ in range(n):
        (ln,) = struct.unpack_from("<Q", blob, at)
        at += 8
        out.append(blob[at:at + ln])
        at += ln
    assert at == len(blob)
    return out


def manifest():
    with open(os.path.join(GOLDEN, "manifest.json")) as fh:
        return json.load(fh)["messages"]


def test_simple_requests_match_golden():
    assert protocol.encode_simple_request("ping", 1) == frames("ping_request.bin")
    assert protocol.encode_simple_request("stats", 2) == frames("stats_request.bin")


def test_applied_request_matches_golden():
    weights = np.array([[1.5, 0.75, 1.0, 0.75], [1.0, 1.0, 0.0, 0.0]], dtype=np.float32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.float32)
    assert protocol.encode_applied_request(11, 3, WeightDigest.of(weights, mask)) == frames("applied_request.bin")


def test_weight_digest_definition():
    # Ordinals restart in every row and skip masked positions; values on masked positions do not count.
    w = np.array([[2.0, 9.0, 0.5, 0.0], [0.25, 4.0, 4.0, 7.0]], dtype=np.float32)
    m = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], dtype=np.uint8)
    d = WeightDigest.of(w, m)
    assert (d.rows, d.tokens, d.weight_sum) == (2, 5, 2.0 + 0.5 + 0.0 + 4.0 + 4.0)
    assert d.digest == 2.0 * 1 + 0.5 * 2 + 0.0 * 3 + 4.0 * 1 + 4.0 * 2
    # Row order does not matter; per-row parts add up to the whole.
    assert WeightDigest.of(w[::-1], m[::-1]) == d
    tok, ws, dg = row_digests(w, m)
    assert WeightDigest().add_rows(tok[1:], ws[1:], dg[1:]).add_rows(tok[:1], ws[:1], dg[:1]) == d
    # Ignoring the weights (w = 1 on valid tokens) or shifting them by one token is a mismatch.
    assert not digest_matches(d, WeightDigest.of(m.astype(np.float32), m))
    assert not digest_matches(d, WeightDigest.of(np.roll(w, 1, axis=1), m))
    assert digest_matches(d, WeightDigest.of(w.astype(np.float64) * (1 + 1e-12), m))


def test_shape_request_matches_golden():
    ids = np.array([[151667, 198, 151668, 151645], [785, 1196, 151643, 151643]], dtype=np.int32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.float32)
    got = [bytes(f) for f in protocol.encode_shape_request(3, ids, mask, ["gt one", "gt two"], 0)]
    assert got == frames("shape_request_min.bin")


def test_multiturn_request_matches_golden():
    ids = np.array([[151667, 198, 151645, 198, 151644, 872, 151667, 151645, 151643, 151643],
                    [785, 1196, 6801, 279, 1482, 151645, 151643, 151643, 151643, 151643]], dtype=np.int32)
    mask = np.array([[1, 1, 1, 0, 0, 0, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]], dtype=np.uint8)
    got = [bytes(f) for f in protocol.encode_shape_request(
        7, ids, mask, ["gt last", "gt single"], 12, turn_ground_truth=[["gt first", None], ["gt single"]],
        options={"turn_reward": "sum", "profile": "aligned"})]
    assert got == frames("shape_request_multiturn.bin")
    header, tensors = protocol.decode_reply(frames("shape_reply_multiturn.bin"))
    assert tensors["turn_rewards"].shape == (2, 2) and tensors["turn_ends"].tolist() == [[2, 7], [5, -1]]
    assert tensors["categories"][0, 3:6].tolist() == [10, 10, 10]


@pytest.mark.parametrize("entry", [m for m in manifest() if m["kind"] == "reply"], ids=lambda m: m["file"])
def test_replies_decode(entry):
    f = frames(entry["file"])
    header = protocol.decode_header(f[0])
    assert protocol.canonical_json(header) == f[0]  # canonical: re-encodes byte for byte
    if header["status"] == "error":
        with pytest.raises(RestShaperError) as e:
            protocol.decode_reply(f)
        assert e.value.code == header["error"]["code"]
        return
    h, t = protocol.decode_reply(f)
    if h["op"] == "shape":
        assert t["weights"].dtype == np.float32 and t["weights"].shape[0] == 2
        assert t["categories"].dtype == np.uint8 and t["categories"].shape == t["weights"].shape
        assert t["components"].shape == (2, 4)
        np.testing.assert_array_equal(t["components"][:, 3], t["rewards"])


def test_chunked_reply_concatenates():
    h, t = protocol.decode_reply(frames("shape_reply_entropy_chunked.bin"))
    assert any(len(d["frames"]) > 1 for d in h["tensors"])
    np.testing.assert_array_equal(t["entropy"], [[0.5, 1.25, 0.0, 2.0], [0.125, 3.0, 0.0, 0.0]])


def test_chunking_splits_large_tensors():
    b = protocol.MessageBuilder(max_frame_bytes=10)
    b.add("x", np.arange(7, dtype=np.int32))
    assert b.tensors[0]["frames"] == [1, 2, 3, 4] and [len(f) for f in b.frames] == [8, 8, 8, 4]


def test_error_classes():
    e = error_for("shape", "bad")
    assert isinstance(e, ShapeError) and e.code == "shape"
    assert error_for("new_code", "x").code == "new_code"


def test_check_rules():
    assert env_to_flags({"SCHEDULEREWARD": "1", "WITHLENGTH": "0", "EXPERIMENT_NAME": "qwen3-1.7B"}) == \
        {"SCHEDULEREWARD": True, "WITHLENGTH": False, "LLAMA_TEMPLATE": False}
    assert weights_ok([1.0, 0.0, 2.0], np.float32([1.0000005, 0.0, 2.0]), None) is None
    assert weights_ok([1.0, 0.0], np.float32([1.0, 1e-9]), None) is not None
    assert weights_ok([1.0], np.float32([1.00001]), None) is not None
    assert component_ok(1.6, np.float32(1.6)) and component_ok(4.0, 4.0) and not component_ok(1.6, 1.7)


def test_golden_headers_match_schemas():
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    sdir = os.path.join(GOLDEN, "..", "schemas")
    schemas = {}
    for name in ("tensor", "request", "reply"):
        with open(os.path.join(sdir, f"{name}.schema.json")) as fh:
            schemas[name] = json.load(fh)
    registry = Registry().with_resources(
        [(s["$id"], Resource.from_contents(s)) for s in schemas.values()]
        + [("tensor.schema.json", Resource.from_contents(schemas["tensor"]))])
    for entry in manifest():
        header = json.loads(frames(entry["file"])[0])
        v = jsonschema.Draft202012Validator(schemas[entry["kind"]], registry=registry)
        errors = list(v.iter_errors(header))
        assert not errors, (entry["file"], errors[0].message)
    request = jsonschema.Draft202012Validator(schemas["request"], registry=registry)
    assert list(request.iter_errors({"v": 1, "op": "shape", "id": 1}))  # shape needs step, ground_truth, tensors
    bad_tensor = {"v": 1, "op": "shape", "id": 1, "step": 0, "ground_truth": [],
                  "tensors": [{"name": "input_ids", "dtype": "complex64", "shape": [1], "frames": [1]}]}
    assert list(request.iter_errors(bad_tensor))
