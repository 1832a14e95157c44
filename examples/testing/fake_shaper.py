"""A numpy stand-in for ``rest_shaper_client.Client`` (same ``shape`` signature and reply fields).

Weights follow ResT's recipe on a toy category rule (id % 3 == 0 -> gamma 1.2, id % 3 == 1 ->
gamma 0.6, else 0): positive weights on valid tokens are clamped to [0.001, 8], divided by
their row mean and multiplied by the mask. Padding positions deliberately get a non-zero value
so that callers are tested for masking it. The reward is a deterministic function of the
ground truth, the valid length and the step.
"""

from types import SimpleNamespace

import numpy as np


class FakeShaperError(RuntimeError):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class FakeShaperClient:
    def __init__(self, endpoint="inproc://fake", fail_rows=()):
        self.endpoint = endpoint
        self.calls = []
        self.fail_rows = set(fail_rows)

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
            metrics={"tokens": {"think": 3, "args": 4}, "weight_mean": 1.0, "label": "x"},
        )
