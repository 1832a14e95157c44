"""A numpy stand-in for ``rest_shaper_client.Client`` (same ``shape`` signature and reply fields).

Weights follow ResT's recipe on a toy category rule (id % 3 == 0 -> gamma 1.2, id % 3 == 1 ->
gamma 0.6, else 0): positive weights on valid tokens are clamped to [0.001, 8], divided by
their row mean and multiplied by the mask. Padding positions deliberately get a non-zero value
so that callers are tested for masking it. The reward is a deterministic function of the
ground truth, the valid length and the step.

Like the sidecar it keeps the digest of every reply's weights and answers ``applied`` with
``ok``/``mismatch``/``unknown`` by the rule of protocol/PROTOCOL.md (counted in ``acks``).
"""
import itertools

from types import SimpleNamespace

import numpy as np

try:  # the digest rule itself lives in the client package (numpy only)
    from rest_shaper_client.digest import WeightDigest, matches
except ImportError:  # pragma: no cover - callers put examples/python on the path
    WeightDigest = matches = None


class FakeShaperError(RuntimeError):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class FakeShaperClient:
    def __init__(self, endpoint="inproc://fake", fail_rows=()):
        self.endpoint = endpoint
        self.calls = []
        self.fail_rows = set(fail_rows)
        self._ids = itertools.count(1)
        self.sent = {}  # reply id -> WeightDigest of the weights sent (valid positions only)
        self.acks = {"ok": 0, "mismatch": 0, "unknown": 0}

    def applied(self, reply_id, weights=None, mask=None, digest=None):
        if digest is None:
            digest = WeightDigest.of(weights, mask)
        d = digest if isinstance(digest, WeightDigest) else WeightDigest(**digest)
        sent = self.sent.pop(int(reply_id), None)
        if sent is None:
            result = {"result": "unknown", "message": f"no open reply {reply_id}"}
        elif matches(sent, d):
            result = {"result": "ok"}
        else:
            result = {"result": "mismatch", "message": f"reply {reply_id}: {d} != {sent} sent"}
        self.acks[result["result"]] += 1
        return result

    def shape(self, input_ids, mask, ground_truth, step, entropy=None, logits=None, topk=None, **options):
        input_ids = np.asarray(input_ids)
        mask = np.asarray(mask)
        if input_ids.ndim != 2 or mask.shape != input_ids.shape:
            raise FakeShaperError("shape", f"bad shapes {input_ids.shape} {mask.shape}")
        if len(ground_truth) != input_ids.shape[0]:
            raise FakeShaperError("shape", "one ground truth per rollout")
        if entropy is not None and np.asarray(entropy).shape != input_ids.shape:
            raise FakeShaperError("shape", "entropy shape")
        self.calls.append(
            dict(input_ids=input_ids.copy(), mask=mask.copy(), ground_truth=list(ground_truth), step=step,
                 entropy=None if entropy is None else np.asarray(entropy).copy(), options=dict(options))
        )
        valid = mask != 0
        gamma = np.where(input_ids % 3 == 0, 1.2, np.where(input_ids % 3 == 1, 0.6, 0.0)).astype(np.float32)
        w = np.where(valid & (gamma > 0), np.clip(gamma, 0.001, 8.0), 0.0).astype(np.float32)
        status = []
        for i in range(w.shape[0]):
            pos = w[i] > 0
            if i in self.fail_rows:
                w[i] = valid[i].astype(np.float32)  # the sidecar's documented fallback: weights = mask
                status.append("error:token_id")
                continue
            if pos.any():
                w[i, pos] /= max(float(w[i, pos].mean()), 1e-8)
            status.append("ok")
        w = w * valid
        reply_id = next(self._ids)
        if WeightDigest is not None and options.get("compute_weights", True):
            self.sent[reply_id] = WeightDigest.of(w, valid)
        w[~valid] = 5.0  # garbage on padding: the integration must zero it
        lengths = valid.sum(axis=1)
        fmt = np.array([1.0 if "<tool_call>" in gt else 0.0 for gt in ground_truth], dtype=np.float32)
        id_sum = np.where(valid, input_ids, 0).sum(axis=1)
        corr = ((lengths + id_sum) % 7).astype(np.float32) / 7.0 * 3.0 - 1.0
        length = np.zeros_like(fmt)
        score = fmt + corr + 0.001 * float(step)
        return SimpleNamespace(
            weights=w.astype(np.float32),
            rewards=score.astype(np.float32),
            components=np.stack([fmt, corr, length, score], axis=1).astype(np.float32),
            categories=np.zeros(input_ids.shape, dtype=np.uint8),
            status=status,
            id=reply_id,
            metrics={"tokens": {"think": 3, "args": 4}, "weight_mean": 1.0, "label": "x"},
        )
