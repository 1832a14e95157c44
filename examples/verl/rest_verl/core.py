"""Trainer-independent logic of the VERL integration (numpy only).

Everything here works on plain numpy arrays / Python lists so that it can be
tested in CI without verl or torch installed. ``plugin.py`` is the thin layer
that moves verl's tensors in and out of these functions.

ResT recap (see the project's issue 3): per rollout the sidecar returns
token weights w >= 0 whose positive entries average 1 over the valid tokens
(zero elsewhere), and the policy-gradient loss is

    L = sum(l * m * w) / (sum(m * w) + 1e-8)

where l is the per-token loss and m the response (loss) mask. The released
ResT code applies that normaliser per *micro-batch* and averages micro-batch
losses over gradient accumulation and data-parallel ranks.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

#: Denominator guard used by the released ResT loss.
REST_EPS = 1e-8

#: Component order of the sidecar's ``components`` array.
COMPONENT_NAMES = ("format", "correctness", "length", "score")

#: How the sidecar reward enters verl's reward path.
REWARD_MODES = ("replace", "add", "keep")

#: Where rewards go in the token-level reward row (``rm_scores``): ``sequence`` = the row's reward
#: on its last response position (verl's own placement); ``turn_ends`` = each turn's reward on the
#: last token of that turn (multi-turn rows; single-turn rows are the same either way).
TURN_REWARD_PLACEMENTS = ("sequence", "turn_ends")

#: Registered policy-loss names and the normaliser each one implements.
LOSS_MODE_MICRO = "rest"
LOSS_MODE_GLOBAL = "rest_global"


class RestIntegrationError(RuntimeError):
    """A configuration or data problem detected by the integration (not by the sidecar)."""


# --------------------------------------------------------------------------- settings


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass
class RestSettings:
    """User settings, from the Hydra group ``rest_shaper`` with ``REST_SHAPER_*`` env fallbacks.

    endpoint: ZeroMQ endpoint of ``rest-shaper serve``.
    reward_mode: ``replace`` (sidecar reward is the reward), ``add`` (added to the reward
        verl already computed) or ``keep`` (weights only; verl's reward is untouched).
    send_entropy: send the old-policy entropies (``entropy`` field) with each request.
    ground_truth_key: key of the dataset's ``reward_model`` dict holding the ground truth.
    pad_token_id: id used to pad responses to a rectangle (None: the tokenizer's pad id).
    options: extra keyword options passed to ``Client.shape`` (profile, schedule, reward flags,
        turn_reward).
    turn_ground_truth_key: key of the ``reward_model`` dict holding per-turn ground truths (a list,
        one entry or None per turn); rows without it score only their last turn.
    turn_reward_placement: ``sequence`` (default) or ``turn_ends`` (see TURN_REWARD_PLACEMENTS).
    """

    endpoint: str = "ipc:///tmp/rest-shaper.sock"
    reward_mode: str = "replace"
    send_entropy: bool = True
    ground_truth_key: str = "ground_truth"
    pad_token_id: int | None = None
    options: dict = field(default_factory=dict)
    turn_ground_truth_key: str = "turn_ground_truth"
    turn_reward_placement: str = "sequence"

    @classmethod
    def from_mapping(cls, cfg: Mapping | None, env: Mapping[str, str] | None = None) -> "RestSettings":
        """Build settings from a (possibly OmegaConf) mapping, then environment fallbacks."""
        env = os.environ if env is None else env
        cfg = dict(cfg or {})
        known = {"endpoint", "reward_mode", "send_entropy", "ground_truth_key", "pad_token_id", "options",
                 "turn_ground_truth_key", "turn_reward_placement"}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise RestIntegrationError(f"unknown rest_shaper settings: {unknown}; known: {sorted(known)}")
        s = cls()
        s.endpoint = str(cfg.get("endpoint") or env.get("REST_SHAPER_ENDPOINT") or s.endpoint)
        s.reward_mode = str(cfg.get("reward_mode") or env.get("REST_SHAPER_REWARD_MODE") or s.reward_mode)
        if "send_entropy" in cfg and cfg["send_entropy"] is not None:
            s.send_entropy = _as_bool(cfg["send_entropy"])
        elif "REST_SHAPER_SEND_ENTROPY" in env:
            s.send_entropy = _as_bool(env["REST_SHAPER_SEND_ENTROPY"])
        s.ground_truth_key = str(cfg.get("ground_truth_key") or s.ground_truth_key)
        s.turn_ground_truth_key = str(cfg.get("turn_ground_truth_key") or s.turn_ground_truth_key)
        s.turn_reward_placement = str(cfg.get("turn_reward_placement") or s.turn_reward_placement)
        if s.turn_reward_placement not in TURN_REWARD_PLACEMENTS:
            raise RestIntegrationError(
                f"rest_shaper.turn_reward_placement must be one of {TURN_REWARD_PLACEMENTS}, got {s.turn_reward_placement!r}"
            )
        if cfg.get("pad_token_id") is not None:
            s.pad_token_id = int(cfg["pad_token_id"])
        opts = cfg.get("options")
        if opts is None and env.get("REST_SHAPER_OPTIONS"):
            opts = json.loads(env["REST_SHAPER_OPTIONS"])
        s.options = dict(opts or {})
        if env.get("REST_SHAPER_PROFILE") and "profile" not in s.options:
            s.options["profile"] = env["REST_SHAPER_PROFILE"]
        if s.reward_mode not in REWARD_MODES:
            raise RestIntegrationError(f"rest_shaper.reward_mode must be one of {REWARD_MODES}, got {s.reward_mode!r}")
        return s


# --------------------------------------------------------------------------- ragged <-> padded


def pad_rows(rows: Sequence[Any], pad_value: float = 0, dtype: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad a list of 1-D sequences to a [B, T] array; returns (array, lengths)."""
    arrays = [np.asarray(r).reshape(-1) for r in rows]
    if not arrays:
        raise RestIntegrationError("empty batch")
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    width = max(int(lengths.max()), 1)
    dtype = dtype if dtype is not None else np.result_type(*[a.dtype for a in arrays])
    out = np.full((len(arrays), width), pad_value, dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a
    return out, lengths


def unpad_rows(padded: np.ndarray, lengths: Iterable[int]) -> list[np.ndarray]:
    """Inverse of :func:`pad_rows`: the first ``lengths[i]`` entries of every row."""
    return [np.array(padded[i, : int(n)]) for i, n in enumerate(lengths)]


def place_sequence_rewards(rewards: Sequence[float], lengths: Sequence[int], width: int | None = None) -> np.ndarray:
    """Token-level reward matrix with each rollout's reward on its last response position.

    This is where verl itself puts a sequence reward (``rm_scores[len-1] = score``), so GRPO
    (which sums over tokens) and GAE (which reads the last token) both see it.
    """
    rewards = np.asarray(rewards, dtype=np.float32).reshape(-1)
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if rewards.shape[0] != lengths.shape[0]:
        raise RestIntegrationError(f"{rewards.shape[0]} rewards for {lengths.shape[0]} rollouts")
    width = int(lengths.max()) if width is None else int(width)
    out = np.zeros((lengths.shape[0], max(width, 1)), dtype=np.float32)
    for i, n in enumerate(lengths):
        if n <= 0:
            raise RestIntegrationError(f"rollout {i} has an empty response: nowhere to put its reward")
        out[i, n - 1] = rewards[i]
    return out


def turn_spans(mask_row: Any) -> list[tuple[int, int]]:
    """The turns of one row as the sidecar reads them: (start, end) of each maximal run of mask != 0.

    In verl's agent loop the response is model tokens (mask 1) and tool-response tokens (mask 0)
    interleaved; the zero runs between two turns are observations.
    """
    valid = np.asarray(mask_row).reshape(-1) != 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2])]


def place_turn_rewards(turn_rewards: Sequence[Sequence[float]], turn_ends: Sequence[Sequence[int]],
                       lengths: Sequence[int], width: int | None = None) -> np.ndarray:
    """Token-level reward matrix with each turn's reward on the last token of that turn.

    ``turn_rewards`` / ``turn_ends`` are the sidecar's [B, K] tensors (end -1: no such turn).
    verl's GRPO sums a row's token rewards (it then sees the sum of the turn rewards); GAE
    discounts each one from where it sits, so every turn is credited at its own end.
    """
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    rewards = np.asarray(turn_rewards, dtype=np.float32)
    ends = np.asarray(turn_ends, dtype=np.int64)
    if rewards.ndim != 2 or rewards.shape != ends.shape or rewards.shape[0] != lengths.shape[0]:
        raise RestIntegrationError(f"turn rewards {rewards.shape} / ends {ends.shape} do not fit {lengths.shape[0]} rollouts")
    width = int(lengths.max()) if width is None else int(width)
    out = np.zeros((lengths.shape[0], max(width, 1)), dtype=np.float32)
    for i in range(lengths.shape[0]):
        for k in range(rewards.shape[1]):
            e = int(ends[i, k])
            if e < 0:
                continue
            if e >= lengths[i]:
                raise RestIntegrationError(f"rollout {i}: turn {k} ends at {e}, past its {int(lengths[i])} tokens")
            out[i, e] += rewards[i, k]
    return out


def combine_token_rewards(existing: np.ndarray | None, placed: np.ndarray, mode: str) -> np.ndarray:
    """Merge the sidecar's placed rewards with verl's token scores according to ``reward_mode``."""
    if mode not in REWARD_MODES:
        raise RestIntegrationError(f"unknown reward mode {mode!r}")
    if mode == "replace":
        return placed
    if existing is None:
        raise RestIntegrationError(f"reward_mode={mode} but verl produced no rm_scores")
    existing = np.asarray(existing, dtype=np.float32)
    if existing.shape != placed.shape:
        raise RestIntegrationError(f"rm_scores shape {existing.shape} != sidecar rewards shape {placed.shape}")
    return existing + placed if mode == "add" else existing


# --------------------------------------------------------------------------- batch fields


def _to_list(values: Any) -> list:
    if hasattr(values, "tolist") and not isinstance(values, (str, bytes, dict)):
        return list(values.tolist())
    return list(values)


def ground_truth_text(value: Any) -> str:
    """The ground truth of one rollout as the string the sidecar expects."""
    if value is None:
        raise RestIntegrationError("ground truth is missing")
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return json.dumps(value, ensure_ascii=False)


def extract_ground_truths(reward_model_entries: Any, key: str = "ground_truth") -> list[str]:
    """Ground truths from verl's per-sample ``reward_model`` field (dicts with ``ground_truth``)."""
    out = []
    for i, entry in enumerate(_to_list(reward_model_entries)):
        if isinstance(entry, Mapping):
            if key not in entry:
                raise RestIntegrationError(f"sample {i}: reward_model has no {key!r} (keys: {sorted(entry)})")
            out.append(ground_truth_text(entry[key]))
        else:
            # Datasets that store the ground truth directly instead of a reward_model dict.
            out.append(ground_truth_text(entry))
    return out


def extract_turn_ground_truths(reward_model_entries: Any, masks: Sequence[Any], key: str = "turn_ground_truth",
                               gt_key: str = "ground_truth") -> list[list[str | None]] | None:
    """Per-turn ground truths (``turn_ground_truth`` of the request), or None when no row has any.

    A row whose ``reward_model`` dict has ``key`` (a list, one entry or None per turn of that row)
    uses it; a row without gets its ground truth on the last turn only, which is what the sidecar
    does for every row when the request has no per-turn ground truths.
    """
    entries = _to_list(reward_model_entries)
    if not any(isinstance(e, Mapping) and e.get(key) is not None for e in entries):
        return None
    out: list[list[str | None]] = []
    for i, (entry, mask) in enumerate(zip(entries, masks)):
        n = len(turn_spans(mask))
        value = entry.get(key) if isinstance(entry, Mapping) else None
        if value is None:
            row: list[str | None] = [None] * n
            if n:
                row[-1] = extract_ground_truths([entry], gt_key)[0]
        else:
            row = [None if g is None else ground_truth_text(g) for g in _to_list(value)]
            if len(row) != n:
                raise RestIntegrationError(f"sample {i}: {key} has {len(row)} entries but the response has {n} turns")
        out.append(row)
    return out


def status_ok(entry: Any) -> bool:
    """True when a per-rollout status from the client means success."""
    if entry is None or entry is True:
        return True
    if isinstance(entry, (int, np.integer)) and not isinstance(entry, bool):
        return int(entry) == 0
    if isinstance(entry, str):
        return entry.lower() == "ok"
    if isinstance(entry, Mapping):
        return str(entry.get("status", entry.get("code", "ok"))).lower() in ("ok", "0")
    return False


# --------------------------------------------------------------------------- sidecar call


@dataclass
class ShapedBatch:
    """What one sidecar call gives back, cut back to each rollout's response length."""

    weights: list[np.ndarray]  # per rollout, float32, zero where the mask is zero
    rewards: np.ndarray  # float32 [B]
    components: np.ndarray  # float32 [B, 4]
    lengths: np.ndarray  # int64 [B]
    status: list
    metrics: dict
    turn_rewards: np.ndarray | None = None  # float32 [B, K] when some rollout has several turns
    turn_ends: np.ndarray | None = None  # int32 [B, K]: last token of each turn, -1: no such turn
    reply_id: int | None = None  # what the ``applied`` acknowledgement refers to

    @property
    def failed(self) -> int:
        return sum(0 if status_ok(s) else 1 for s in self.status)


def shape_rollouts(
    client: Any,
    response_ids: Sequence[Any],
    response_masks: Sequence[Any],
    ground_truths: Sequence[str],
    step: int,
    entropies: Sequence[Any] | None = None,
    pad_token_id: int = 0,
    options: Mapping | None = None,
    turn_ground_truths: Sequence[Sequence[str | None]] | None = None,
) -> ShapedBatch:
    """Send one batch of rollouts (ragged per-rollout arrays) to the sidecar and unpad the reply.

    The masks go as they are: interior zero runs (tool responses) make multi-turn rows, whose
    per-turn rewards come back in ``turn_rewards`` / ``turn_ends`` (checked against the turns
    read here from the same masks).
    """
    ids, lengths = pad_rows(response_ids, pad_value=pad_token_id, dtype=np.int64)
    if int(ids.max(initial=0)) < 2**31 and int(ids.min(initial=0)) >= 0:
        ids = ids.astype(np.int32)  # halves the bytes on the wire; every vocabulary fits
    mask, mlen = pad_rows(response_masks, pad_value=0, dtype=np.uint8)
    if not np.array_equal(mlen, lengths):
        raise RestIntegrationError("response ids and response mask lengths differ")
    mask = (mask != 0).astype(np.uint8)
    if len(ground_truths) != ids.shape[0]:
        raise RestIntegrationError(f"{len(ground_truths)} ground truths for {ids.shape[0]} rollouts")
    ent = None
    if entropies is not None:
        ent, elen = pad_rows(entropies, pad_value=0.0, dtype=np.float32)
        if not np.array_equal(elen, lengths):
            raise RestIntegrationError("entropy and response lengths differ")
    kwargs = dict(options or {})
    if ent is not None:
        kwargs["entropy"] = ent
    if turn_ground_truths is not None:
        kwargs["turn_ground_truth"] = [list(t) for t in turn_ground_truths]
    reply = client.shape(ids, mask, list(ground_truths), int(step), **kwargs)

    B, T = ids.shape
    weights = np.asarray(reply.weights, dtype=np.float32)
    rewards = np.asarray(reply.rewards, dtype=np.float32).reshape(-1)
    components = np.asarray(reply.components, dtype=np.float32)
    if weights.shape != (B, T):
        raise RestIntegrationError(f"sidecar weights have shape {weights.shape}, expected {(B, T)}")
    if rewards.shape != (B,):
        raise RestIntegrationError(f"sidecar rewards have shape {rewards.shape}, expected {(B,)}")
    if components.shape != (B, len(COMPONENT_NAMES)):
        raise RestIntegrationError(f"sidecar components have shape {components.shape}, expected {(B, 4)}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise RestIntegrationError("sidecar weights must be finite and non-negative")
    weights = weights * mask  # the loss never sees padding, whatever the sidecar sent there
    status = list(reply.status) if getattr(reply, "status", None) is not None else [None] * B
    turn_rewards, turn_ends = _checked_turns(reply, mask)
    return ShapedBatch(
        weights=unpad_rows(weights, lengths),
        rewards=rewards,
        components=components,
        lengths=lengths,
        status=status,
        metrics=dict(getattr(reply, "metrics", None) or {}),
        turn_rewards=turn_rewards,
        turn_ends=turn_ends,
        reply_id=None if getattr(reply, "id", None) is None else int(reply.id),
    )


def _checked_turns(reply: Any, mask: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The reply's per-turn tensors, checked to name exactly the turns of ``mask`` (token alignment)."""
    tr, te = getattr(reply, "turn_rewards", None), getattr(reply, "turn_ends", None)
    spans = [turn_spans(m) for m in mask]
    k = max(len(s) for s in spans)
    if tr is None and te is None:
        if k > 1:
            raise RestIntegrationError("the batch has multi-turn rollouts but the sidecar sent no turn_rewards")
        return None, None
    tr = np.asarray(tr, dtype=np.float32)
    te = np.asarray(te, dtype=np.int64)
    if tr.shape != (mask.shape[0], k) or te.shape != tr.shape:
        raise RestIntegrationError(f"turn_rewards {tr.shape} / turn_ends {te.shape}, expected {(mask.shape[0], k)}")
    for i, row in enumerate(spans):
        want = [b - 1 for _, b in row] + [-1] * (k - len(row))
        if te[i].tolist() != want:
            raise RestIntegrationError(f"rollout {i}: the sidecar's turn ends {te[i].tolist()} differ from the mask's {want}")
    if not np.all(np.isfinite(tr)):
        raise RestIntegrationError("sidecar turn rewards must be finite")
    return tr, te.astype(np.int32)


# --------------------------------------------------------------------------- loss normalisation


def micro_batch_scale(rows: int, dp_size: int = 1, global_batch_size: int | None = None) -> float:
    """Factor that turns a micro-batch's ResT ratio into its share of the mini-batch loss.

    verl 0.9.1 sums the losses of a rank's micro-batches (each ``backward()`` accumulates) and
    FSDP averages gradients over the ``dp_size`` ranks. The released ResT trainer took the
    mean of micro-batch ratios (``loss / gradient_accumulation``, or ``* rows / mini_batch`` with
    dynamic batch sizes). ``dp_size * rows / global_batch_size`` reproduces exactly that mean:
    summed over a rank's micro-batches it is ``dp_size * rows_on_rank / global``, and averaged over
    ranks the micro-batch ratios are weighted by their row count over the global mini-batch.
    """
    if global_batch_size is None:
        if dp_size > 1:
            raise RestIntegrationError("global_batch_size is required when dp_size > 1")
        return 1.0
    if global_batch_size <= 0:
        raise RestIntegrationError(f"global_batch_size must be positive, got {global_batch_size}")
    return float(dp_size) * float(rows) / float(global_batch_size)


def rest_ratio(weighted_loss_sum: Any, weight_sum: Any, scale: float = 1.0, eps: float = REST_EPS) -> Any:
    """ResT's aggregation  sum(l*m*w) / (sum(m*w) + eps), times the micro-batch scale.

    Works on numpy scalars and on torch tensors alike (only ``+``, ``/`` and ``*``).
    """
    return weighted_loss_sum / (weight_sum + eps) * scale


def rest_micro_loss(loss_mat: Any, mask: Any, weights: Any, dp_size: int = 1, global_batch_size: int | None = None):
    """ResT loss of one micro-batch ([B,T] arrays or tensors): the released normaliser."""
    mw = mask * weights
    rows = loss_mat.shape[0]
    return rest_ratio((loss_mat * mw).sum(), mw.sum(), micro_batch_scale(rows, dp_size, global_batch_size))


def global_weight_scale(mask_rows: Sequence[Any], weight_rows: Sequence[Any]) -> float:
    """c = sum(m) / sum(m*w) over the whole step batch, for the ``rest_global`` loss.

    With weights multiplied by c, verl's token-mean (sum(l*m*w*c) / sum(m) over the global
    mini-batch) equals sum(l*m*w) / sum(m*w) over the mini-batch whenever its c equals the
    batch's, in particular exactly when each step has one mini-batch (ppo_mini_batch_size equal
    to train_batch_size). Rows with no positive weight keep contributing zero.
    """
    m_sum = 0.0
    mw_sum = 0.0
    for m, w in zip(mask_rows, weight_rows):
        m = np.asarray(m, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        m_sum += float((m != 0).sum())
        mw_sum += float(((m != 0) * w).sum())
    if mw_sum <= 0.0:
        return 1.0  # nothing is weighted: the loss is zero either way
    return m_sum / mw_sum


# --------------------------------------------------------------------------- the trainer step


@dataclass
class StepOutput:
    """Per-rollout rows to write back into verl's batch, plus logger metrics."""

    rm_scores: list[np.ndarray]  # token-level rewards, float32, one row per rollout
    weights: list[np.ndarray]  # ResT weights for rollout_is_weights, float32
    metrics: dict[str, float]
    reply_id: int | None = None  # the sidecar reply the weights came from
    rows: int = 0  # rollouts in that reply
    weight_scale: float = 1.0  # c the weights were multiplied by (rest_global), divided out of the ack


def shape_step(rows: Mapping[str, Sequence[Any]], client: Any, settings: RestSettings, step: int, loss_mode: str) -> StepOutput:
    """What the ``rest_*`` trainers do after the old-policy pass, on per-rollout rows.

    ``rows`` holds verl's fields as lists, one entry per rollout: ``responses`` (ids),
    ``response_mask``, ``reward_model`` (dicts with the ground truth), optionally ``entropy``
    (old-policy entropies) and ``rm_scores`` (the reward verl's reward loop computed).
    """
    for key in ("responses", "response_mask", "reward_model"):
        if key not in rows:
            raise RestIntegrationError(f"batch has no {key!r} field")
    masks = list(rows["response_mask"])  # verl's response_mask as is: 0 on tool-response tokens
    entropy = rows.get("entropy") if settings.send_entropy else None
    shaped = shape_rollouts(
        client,
        rows["responses"],
        masks,
        extract_ground_truths(rows["reward_model"], settings.ground_truth_key),
        step,
        entropies=entropy,
        pad_token_id=settings.pad_token_id or 0,
        options=settings.options,
        turn_ground_truths=extract_turn_ground_truths(
            rows["reward_model"], masks, settings.turn_ground_truth_key, settings.ground_truth_key
        ),
    )
    metrics = batch_metrics(shaped, masks)

    weights = shaped.weights
    c = 1.0
    if loss_mode == LOSS_MODE_GLOBAL:
        c = global_weight_scale(masks, weights)
        weights = [(w * c).astype(np.float32) for w in weights]
        metrics["rest/weights/global_scale"] = float(c)

    if settings.turn_reward_placement == "turn_ends" and shaped.turn_rewards is not None:
        placed = place_turn_rewards(shaped.turn_rewards, shaped.turn_ends, shaped.lengths)
    else:
        placed = place_sequence_rewards(shaped.rewards, shaped.lengths)
    existing = None
    if settings.reward_mode != "replace":
        if rows.get("rm_scores") is None:
            raise RestIntegrationError(f"reward_mode={settings.reward_mode} needs verl's rm_scores in the batch")
        existing, _ = pad_rows(rows["rm_scores"], pad_value=0.0, dtype=np.float32)
    scores = combine_token_rewards(existing, placed, settings.reward_mode)
    return StepOutput(rm_scores=unpad_rows(scores, shaped.lengths), weights=weights, metrics=metrics,
                      reply_id=shaped.reply_id, rows=len(masks), weight_scale=float(c))


# --------------------------------------------------------------------------- weights-applied acknowledgement

#: Metrics each ``rest`` / ``rest_global`` loss call reports: the digest parts (protocol op
#: ``applied``) of the weights it multiplied into the loss, summed over its micro-batch.
APPLIED_KEYS = ("rest/applied_rows", "rest/applied_tokens", "rest/applied_weight_sum", "rest/applied_digest")


def applied_loss_metrics(weights: np.ndarray, response_mask: np.ndarray) -> dict[str, float]:
    """The digest parts of one micro-batch's weights [b, T] as the loss multiplies them."""
    from rest_shaper_client.digest import row_digests

    tokens, wsum, digest = row_digests(weights, response_mask)
    return dict(zip(APPLIED_KEYS, (float(len(tokens)), float(tokens.sum()), float(wsum.sum()), float(digest.sum()))))


def applied_from_loss_means(means: Mapping[str, float], rows: int, weight_scale: float = 1.0) -> dict:
    """The ``applied`` digest of a whole step from verl's aggregated loss metrics.

    verl 0.9.1 reports a policy-loss metric as the mean over micro-batches (over data-parallel
    ranks, mini-batches and epochs). Every micro-batch reports its rows next to its sums, so
    mean(sum) / mean(rows) is the per-row average over everything the loss saw, and times the
    step's ``rows`` the step's totals: exact when every mini-batch has the same number of
    micro-batches (fixed micro-batch size; with ``use_dynamic_bsz`` the mean weights mini-batches
    unequally and the acknowledgement can report a false mismatch). ``weight_scale`` (c of
    ``rest_global``) is divided out of the sums.
    """
    missing = [k for k in APPLIED_KEYS if k not in means]
    if missing:
        raise RestIntegrationError(f"the policy loss reported no {missing}: is loss_mode rest or rest_global?")
    per_row = float(rows) / float(means["rest/applied_rows"])
    return {"rows": int(rows), "tokens": int(round(float(means["rest/applied_tokens"]) * per_row)),
            "weight_sum": float(means["rest/applied_weight_sum"]) * per_row / weight_scale,
            "digest": float(means["rest/applied_digest"]) * per_row / weight_scale}


# --------------------------------------------------------------------------- metrics


def batch_metrics(shaped: ShapedBatch, mask_rows: Sequence[Any], prefix: str = "rest/") -> dict[str, float]:
    """Scalar metrics for the trainer's logger."""
    out: dict[str, float] = {}
    B = len(shaped.weights)
    out[prefix + "rollouts"] = float(B)
    out[prefix + "failed_rollouts"] = float(shaped.failed)
    out[prefix + "reward/mean"] = float(np.mean(shaped.rewards)) if B else 0.0
    for j, name in enumerate(COMPONENT_NAMES):
        out[prefix + f"reward/{name}_mean"] = float(np.mean(shaped.components[:, j])) if B else 0.0
    valid = 0
    weighted = 0
    wsum = 0.0
    for m, w in zip(mask_rows, shaped.weights):
        m = np.asarray(m) != 0
        valid += int(m.sum())
        weighted += int(((w > 0) & m).sum())
        wsum += float(w[m].sum())
    out[prefix + "weights/valid_tokens"] = float(valid)
    out[prefix + "weights/weighted_fraction"] = weighted / valid if valid else 0.0
    out[prefix + "weights/mean_over_valid"] = wsum / valid if valid else 0.0
    turns = [len(turn_spans(m)) for m in mask_rows]
    out[prefix + "turns/mean"] = float(np.mean(turns)) if turns else 0.0
    out[prefix + "turns/max"] = float(max(turns)) if turns else 0.0
    out[prefix + "turns/multi_turn_fraction"] = float(np.mean([t > 1 for t in turns])) if turns else 0.0
    _flatten_numbers(shaped.metrics, prefix + "sidecar/", out)
    return out


def _flatten_numbers(tree: Mapping, prefix: str, out: dict[str, float]) -> None:
    """Copy the finite numbers of a nested metrics dict as ``prefix/a/b`` keys."""
    for k, v in tree.items():
        if isinstance(v, Mapping):
            _flatten_numbers(v, f"{prefix}{k}/", out)
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            if math.isfinite(float(v)):
                out[f"{prefix}{k}"] = float(v)
