"""Trainer-independent logic of the TRL integration (numpy only, testable without torch/trl).

ResT recap: the sidecar returns per-token weights w (positive ones average 1 over a rollout's
valid tokens, zero elsewhere) and a ToolRL reward per rollout; the policy loss is
sum(l * m * w) / (sum(m * w) + 1e-8).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

#: Component order of the sidecar's ``components`` array.
COMPONENT_NAMES = ("format", "correctness", "length", "score")

#: TRL loss types whose aggregation becomes ResT's normaliser once the mask carries w:
#: bnpo -> sum(l*m*w)/sum(m*w) per micro-batch (the released ResT trainer's choice);
#: dapo -> sum(l*m*w)/sum(m*w) over the whole generation batch (num_items_in_batch = global sum(m*w)).
SUPPORTED_LOSS_TYPES = ("bnpo", "dapo")


class RestTrlError(RuntimeError):
    """A configuration or data problem detected by the TRL integration."""


def check_loss_type(loss_type: str) -> None:
    """Reject loss types whose normaliser cannot be made ResT's."""
    if loss_type not in SUPPORTED_LOSS_TYPES:
        raise RestTrlError(
            f"RestGRPOTrainer needs loss_type in {SUPPORTED_LOSS_TYPES} (got {loss_type!r}): 'grpo' and 'sapo' "
            "normalise per sequence, 'dr_grpo' by a constant, 'cispo'/'vespo'/'luspo' change the objective"
        )


def ground_truth_text(value: Any) -> str:
    """The ground truth of one rollout as the string the sidecar expects."""
    if value is None:
        raise RestTrlError("ground truth is missing")
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def pad_id_rows(rows: Sequence[Sequence[int]], pad_token_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right-pad token id lists; returns (ids int32/int64 [B,T], mask uint8 [B,T], lengths [B])."""
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    if lengths.size == 0:
        raise RestTrlError("empty batch")
    width = max(int(lengths.max()), 1)
    ids = np.full((len(rows), width), pad_token_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.uint8)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = np.asarray(r, dtype=np.int64)
        mask[i, : len(r)] = 1
    if ids.size and 0 <= ids.min() and ids.max() < 2**31:
        ids = ids.astype(np.int32)
    return ids, mask, lengths


@dataclass
class ShapeReply:
    """A validated sidecar reply; weights are zero wherever the request mask is zero."""

    ids: np.ndarray
    mask: np.ndarray
    weights: np.ndarray
    rewards: np.ndarray
    components: np.ndarray
    status: list
    metrics: dict = field(default_factory=dict)
    #: The reply's id (what an ``applied`` acknowledgement refers to); None from clients without ids.
    reply_id: int | None = None


def call_sidecar(client: Any, ids: np.ndarray, mask: np.ndarray, ground_truths: Sequence[Any], step: int,
                 options: dict | None = None) -> ShapeReply:
    """One ``Client.shape`` call on a padded batch, with the reply's shapes and values checked."""
    ids = np.ascontiguousarray(ids)
    mask = (np.asarray(mask) != 0).astype(np.uint8)
    if ids.ndim != 2 or mask.shape != ids.shape:
        raise RestTrlError(f"ids {ids.shape} and mask {mask.shape} must be the same [B,T]")
    gts = [ground_truth_text(g) for g in ground_truths]
    if len(gts) != ids.shape[0]:
        raise RestTrlError(f"{len(gts)} ground truths for {ids.shape[0]} rollouts")
    reply = client.shape(ids, mask, gts, int(step), **dict(options or {}))
    B, T = ids.shape
    weights = np.asarray(reply.weights, dtype=np.float32)
    rewards = np.asarray(reply.rewards, dtype=np.float32).reshape(-1)
    components = np.asarray(reply.components, dtype=np.float32)
    if weights.shape != (B, T) or rewards.shape != (B,) or components.shape != (B, len(COMPONENT_NAMES)):
        raise RestTrlError(
            f"sidecar reply shapes weights {weights.shape}, rewards {rewards.shape}, components {components.shape} "
            f"do not fit a {B}x{T} request"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise RestTrlError("sidecar weights must be finite and non-negative")
    status = list(reply.status) if getattr(reply, "status", None) is not None else [None] * B
    reply_id = getattr(reply, "id", None)
    return ShapeReply(ids=ids, mask=mask, weights=weights * mask, rewards=rewards, components=components,
                      status=status, metrics=dict(getattr(reply, "metrics", None) or {}),
                      reply_id=None if reply_id is None else int(reply_id))


def reuse_weights(cached: ShapeReply | None, ids: np.ndarray, loss_mask: np.ndarray, lengths: np.ndarray) -> np.ndarray | None:
    """The cached reward-call weights laid out as [B, T] if that call saw exactly these rows and masks.

    The reward function sends each completion with an all-ones mask; the trainer's loss mask can
    differ (tool-response tokens, masked truncated completions), and ResT's per-row normalisation
    depends on the mask, so anything but an exact match returns None and the caller asks again.
    """
    if cached is None or cached.ids.shape[0] != ids.shape[0]:
        return None
    B, T = ids.shape
    out = np.zeros((B, T), dtype=np.float32)
    cached_len = cached.mask.sum(axis=1)
    for i in range(B):
        n = int(lengths[i])
        if int(cached_len[i]) != n or n > T:
            return None
        if not np.array_equal(cached.ids[i, :n].astype(np.int64), ids[i, :n].astype(np.int64)):
            return None
        if not (np.all(loss_mask[i, :n] != 0) and not np.any(loss_mask[i, n:] != 0)):
            return None
        out[i, :n] = cached.weights[i, :n]
    return out


def rest_loss_reference(per_token_loss: np.ndarray, mask: np.ndarray, weights: np.ndarray) -> float:
    """ResT's loss on one batch, for tests: sum(l*m*w) / (sum(m*w) + 1e-8)."""
    mw = np.asarray(mask, dtype=np.float64) * np.asarray(weights, dtype=np.float64)
    return float((np.asarray(per_token_loss, dtype=np.float64) * mw).sum() / (mw.sum() + 1e-8))


def reply_metrics(reply: ShapeReply, prefix: str = "rest/") -> dict[str, float]:
    """Scalar metrics of one call: mean reward components, weighted fraction, failed rollouts."""
    out = {prefix + f"{n}_mean": float(reply.components[:, j].mean()) for j, n in enumerate(COMPONENT_NAMES)}
    valid = reply.mask != 0
    n_valid = int(valid.sum())
    out[prefix + "weighted_fraction"] = float(((reply.weights > 0) & valid).sum()) / n_valid if n_valid else 0.0
    out[prefix + "failed_rollouts"] = float(sum(0 if status_ok(s) else 1 for s in reply.status))
    return out


def status_ok(entry: Any) -> bool:
    """True when a per-rollout status from the client means success (``{"code": "ok"}``)."""
    if entry is None or entry is True:
        return True
    if isinstance(entry, (int, np.integer)) and not isinstance(entry, bool):
        return int(entry) == 0
    if isinstance(entry, str):
        return entry.lower() == "ok"
    if isinstance(entry, dict):
        return str(entry.get("status", entry.get("code", "ok"))).lower() in ("ok", "0")
    return False


class AckLedger:
    """Collects, from inside the loss, the digest of the weights each micro-batch multiplied in,
    and says when every row of a sidecar reply has been applied once (then the trainer sends
    ``applied``). TRL shuffles rows and splits them over micro-batches, optimizer steps and
    ``num_iterations`` passes: rows are identified by (reply id, row), and only their first
    application counts. Digest parts per row come from ``rest_shaper_client.digest.row_digests``.
    """

    def __init__(self):
        self._open: dict[int, dict] = {}
        #: Verdicts of the acknowledgements sent so far ("ok", "mismatch", "unknown", "error").
        self.verdicts: dict[str, int] = {}

    def expect(self, reply_id: int, rows: int) -> None:
        """A reply whose ``rows`` rows the loss is going to weight."""
        if reply_id in self._open:
            return
        self._open[int(reply_id)] = {"rows": int(rows), "seen": set(), "tokens": 0, "weight_sum": 0.0, "digest": 0.0}

    @property
    def pending(self) -> list[int]:
        return list(self._open)

    def add(self, reply_ids: Sequence[int], rows: Sequence[int], tokens: Sequence[int], weight_sum: Sequence[float],
            digest: Sequence[float]) -> list[tuple[int, dict]]:
        """Per-row parts of one micro-batch; returns ``[(reply_id, digest dict)]`` for replies now complete."""
        done = []
        for rid, row, n, ws, d in zip(reply_ids, rows, tokens, weight_sum, digest):
            entry = self._open.get(int(rid))
            if entry is None or int(row) in entry["seen"]:
                continue  # acknowledged already, or a later pass over the same row
            entry["seen"].add(int(row))
            entry["tokens"] += int(n)
            entry["weight_sum"] += float(ws)
            entry["digest"] += float(d)
            if len(entry["seen"]) == entry["rows"]:
                del self._open[int(rid)]
                done.append((int(rid), {"rows": entry["rows"], "tokens": entry["tokens"],
                                        "weight_sum": entry["weight_sum"], "digest": entry["digest"]}))
        return done

    def record(self, verdict: dict | None) -> str:
        result = str((verdict or {}).get("result", "error"))
        self.verdicts[result] = self.verdicts.get(result, 0) + 1
        return result
