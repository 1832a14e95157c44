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


def tool_mask_rows(rows: Sequence[Sequence[int]], tool_masks: Sequence[Sequence[int]] | None,
                   pad_token_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`pad_id_rows`, with the mask taken from TRL's ``tool_mask`` (1 on model tokens, 0 on
    tool-result tokens): the sidecar then reads each completion's turns from it (multi-turn).

    Each tool mask must have exactly its completion's length: a mask built from a re-tokenisation
    that does not match the ids (TRL #5144) would misplace every later turn, so it is refused.
    """
    ids, mask, lengths = pad_id_rows(rows, pad_token_id)
    if tool_masks is None:
        return ids, mask, lengths
    if len(tool_masks) != len(rows):
        raise RestTrlError(f"{len(tool_masks)} tool masks for {len(rows)} completions")
    for i, (r, tm) in enumerate(zip(rows, tool_masks)):
        tm = np.asarray(tm).reshape(-1)
        if tm.shape[0] != len(r):
            raise RestTrlError(f"completion {i}: tool mask has {tm.shape[0]} entries for {len(r)} tokens")
        mask[i, : len(r)] = (tm != 0).astype(np.uint8)
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
    turn_rewards: np.ndarray | None = None  # float32 [B, K] when some completion has several turns
    turn_ends: np.ndarray | None = None  # int32 [B, K]: last token of each turn, -1: no such turn
    lengths: np.ndarray | None = None  # completion lengths (tool tokens included) when the caller knows them
    #: The reply's id (what an ``applied`` acknowledgement refers to); None from clients without ids.
    reply_id: int | None = None


def call_sidecar(client: Any, ids: np.ndarray, mask: np.ndarray, ground_truths: Sequence[Any], step: int,
                 options: dict | None = None, turn_ground_truths: Sequence[Sequence[Any]] | None = None) -> ShapeReply:
    """One ``Client.shape`` call on a padded batch, with the reply's shapes and values checked.

    ``turn_ground_truths``: optional, per completion one ground truth (or None) per turn."""
    ids = np.ascontiguousarray(ids)
    mask = (np.asarray(mask) != 0).astype(np.uint8)
    if ids.ndim != 2 or mask.shape != ids.shape:
        raise RestTrlError(f"ids {ids.shape} and mask {mask.shape} must be the same [B,T]")
    gts = [ground_truth_text(g) for g in ground_truths]
    if len(gts) != ids.shape[0]:
        raise RestTrlError(f"{len(gts)} ground truths for {ids.shape[0]} rollouts")
    kwargs = dict(options or {})
    if turn_ground_truths is not None:
        kwargs["turn_ground_truth"] = [[None if g is None else ground_truth_text(g) for g in row] for row in turn_ground_truths]
    reply = client.shape(ids, mask, gts, int(step), **kwargs)
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
    turn_rewards, turn_ends = getattr(reply, "turn_rewards", None), getattr(reply, "turn_ends", None)
    if turn_rewards is not None:
        turn_rewards = np.asarray(turn_rewards, dtype=np.float32)
        turn_ends = np.asarray(turn_ends, dtype=np.int32)
        if turn_rewards.ndim != 2 or turn_rewards.shape[0] != B or turn_ends.shape != turn_rewards.shape:
            raise RestTrlError(f"sidecar turn_rewards {turn_rewards.shape} / turn_ends {turn_ends.shape} do not fit B = {B}")
    reply_id = getattr(reply, "id", None)
    return ShapeReply(ids=ids, mask=mask, weights=weights * mask, rewards=rewards, components=components,
                      status=status, metrics=dict(getattr(reply, "metrics", None) or {}),
                      turn_rewards=turn_rewards, turn_ends=turn_ends,
                      reply_id=None if reply_id is None else int(reply_id))


def reuse_weights(cached: ShapeReply | None, ids: np.ndarray, loss_mask: np.ndarray, lengths: np.ndarray) -> np.ndarray | None:
    """The cached reward-call weights laid out as [B, T] if that call saw exactly these rows and masks.

    The reward function sends each completion with its tool mask (all ones without tools); the
    trainer's loss mask can still differ (``mask_truncated_completions`` zeroes a row), and ResT's
    per-row normalisation and turns depend on the mask, so anything but an exact match returns
    None and the caller asks again.
    """
    if cached is None or cached.ids.shape[0] != ids.shape[0]:
        return None
    B, T = ids.shape
    out = np.zeros((B, T), dtype=np.float32)
    cached_len = cached.lengths if cached.lengths is not None else cached.mask.sum(axis=1)
    for i in range(B):
        n = int(lengths[i])
        if int(cached_len[i]) != n or n > T:
            return None
        if not np.array_equal(cached.ids[i, :n].astype(np.int64), ids[i, :n].astype(np.int64)):
            return None
        if not np.array_equal(cached.mask[i, :n] != 0, loss_mask[i, :n] != 0) or np.any(loss_mask[i, n:] != 0):
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
    turns = [count_turns(m) for m in reply.mask]
    out[prefix + "turns_mean"] = float(np.mean(turns)) if turns else 0.0
    out[prefix + "multi_turn_fraction"] = float(np.mean([t > 1 for t in turns])) if turns else 0.0
    return out


def count_turns(mask_row: Any) -> int:
    """Turns of one row as the sidecar reads them: maximal runs of mask != 0."""
    valid = (np.asarray(mask_row).reshape(-1) != 0).astype(np.int8)
    return int(np.count_nonzero(np.diff(np.concatenate([[0], valid])) == 1))


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
