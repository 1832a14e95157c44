"""A numpy stand-in for ``rest_shaper_client.Client`` (same ``shape`` signature and reply fields).

Weights follow ResT's recipe on a toy category rule (id % 3 == 0 -> gamma 1.2, id % 3 == 1 ->
gamma 0.6, else 0): positive weights on valid tokens are clamped to [0.001, 8], divided by
their row mean and multiplied by the mask. Padding positions deliberately get a non-zero value
so that callers are tested for masking it. The reward is a deterministic function of the
ground truth, the valid length and the step.

Multi-turn rows (interior runs of mask 0, as the real server reads them) are scored turn by turn
with the same rule on each turn's tokens: the ground truth of a turn is ``turn_ground_truth[b][k]``
when given, else the row's ground truth for its last turn and none for the others; the row's
reward aggregates the turns per ``turn_reward`` (mean, last, sum), and the reply carries
``turn_rewards`` / ``turn_ends`` [B, K] when some row has more than one turn (None otherwise).

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


def turn_spans(mask_row):
    """(start, end) of every maximal run of non-zero mask (the turns of a row)."""
    valid = np.asarray(mask_row) != 0
    spans, i, n = [], 0, valid.shape[0]
    while i < n:
        if not valid[i]:
            i += 1
            continue
        j = i
        while j < n and valid[j]:
            j += 1
        spans.append((i, j))
        i = j
    return spans


def _score(ids, gt, step):
    fmt = 1.0 if "<tool_call>" in gt else 0.0
    corr = float((len(ids) + int(np.sum(ids))) % 7) / 7.0 * 3.0 - 1.0
    return np.array([fmt, corr, 0.0, fmt + corr + 0.001 * float(step)], dtype=np.float64)


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
        turn_gts = options.get("turn_ground_truth")
        mode = options.get("turn_reward", "mean")
        if turn_gts is not None and len(turn_gts) != input_ids.shape[0]:
            raise FakeShaperError("shape", "turn_ground_truth: one list per rollout")
        spans = [turn_spans(m) for m in mask]
        comps = np.zeros((input_ids.shape[0], 4), dtype=np.float64)
        K = max(len(s) for s in spans)
        turn_rewards = np.zeros((input_ids.shape[0], max(K, 1)), dtype=np.float32)
        turn_ends = np.full((input_ids.shape[0], max(K, 1)), -1, dtype=np.int32)
        for i, row_spans in enumerate(spans):
            if turn_gts is None and len(row_spans) <= 1:
                comps[i] = _score(input_ids[i][valid[i]], ground_truth[i], step)
                if row_spans:
                    turn_rewards[i, 0], turn_ends[i, 0] = comps[i, 3], row_spans[0][1] - 1
                continue
            gts = turn_gts[i] if turn_gts is not None else [None] * (len(row_spans) - 1) + [ground_truth[i]]
            if len(gts) != len(row_spans):
                raise FakeShaperError("shape", f"turn_ground_truth[{i}] has {len(gts)} entries, row {i} has {len(row_spans)} turns")
            scored = []
            for k, (a, b) in enumerate(row_spans):
                turn_ends[i, k] = b - 1
                if gts[k] is None:
                    scored.append(None)
                    continue
                c = _score(input_ids[i, a:b], gts[k], step)
                turn_rewards[i, k] = c[3]
                scored.append(c)
            if mode == "last":
                comps[i] = scored[-1] if scored and scored[-1] is not None else 0.0
            else:
                got = [c for c in scored if c is not None]
                if got:
                    comps[i] = np.sum(got, axis=0) / (len(got) if mode == "mean" else 1)
        fmt, corr, length, score = (comps[:, j].astype(np.float32) for j in range(4))
        multi = K > 1
        categories = np.zeros(input_ids.shape, dtype=np.uint8)
        for i, row_spans in enumerate(spans):
            for (_, a), (b, _) in zip(row_spans, row_spans[1:]):
                categories[i, a:b] = 10  # observation
        return SimpleNamespace(
            weights=w.astype(np.float32),
            rewards=score.astype(np.float32),
            components=np.stack([fmt, corr, length, score], axis=1).astype(np.float32),
            categories=categories,
            status=status,
            turn_rewards=turn_rewards if multi else None,
            turn_ends=turn_ends if multi else None,
            id=reply_id,
            metrics={"tokens": {"think": 3, "args": 4}, "weight_mean": 1.0, "label": "x"},
        )
