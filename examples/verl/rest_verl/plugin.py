"""verl 0.9.1 registrations for rest-shaper (imported through VERL_USE_EXTERNAL_MODULES=rest_verl).

Registers, without modifying verl:
  * policy losses ``rest`` (released ResT normaliser, per micro-batch) and ``rest_global``
    (sum(l*m*w)/sum(m*w) over the step batch) in ``core_algos.POLICY_LOSS_REGISTRY``;
  * V1 trainers ``rest_sync``, ``rest_colocate_async`` and ``rest_separate_async``: the stock
    trainers plus one step after the old-policy pass that sends the batch to the sidecar, writes
    the rewards into ``rm_scores`` and the weights into ``rollout_is_weights``;
  * reward manager ``rest`` for verl's reward loop (one sidecar call per rollout), which gives
    validation and streaming (e.g. DAPO filter_groups) the same reward.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Any, Callable

import numpy as np
import torch
import transfer_queue as tq
from tensordict import TensorDict

from verl.experimental.reward_loop.reward_manager import register as register_reward_manager
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase
from verl.trainer.ppo.core_algos import compute_policy_loss_vanilla, register_policy_loss
from verl.trainer.ppo.v1 import PPOTrainerColocateAsync, PPOTrainerSeparateAsync, PPOTrainerSync, register_trainer
from verl.utils.debug import marked_timer

from . import core

logger = logging.getLogger(__name__)
logger.setLevel(os.getenv("VERL_LOGGING_LEVEL", "WARN"))

# --------------------------------------------------------------------------- sidecar client

_client_factory: Callable[[core.RestSettings], Any] | None = None


def set_client_factory(factory: Callable[[core.RestSettings], Any] | None) -> None:
    """Replace how clients are made (tests and verl-check use an in-process fake)."""
    global _client_factory
    _client_factory = factory


def make_client(settings: core.RestSettings) -> Any:
    """A sidecar client for ``settings.endpoint`` (``rest_shaper_client.Client`` by default)."""
    if _client_factory is not None:
        return _client_factory(settings)
    from rest_shaper_client import Client  # imported late: only processes that call the sidecar need pyzmq

    return Client(settings.endpoint)


# --------------------------------------------------------------------------- tensor glue


def _rows(value: Any) -> list[np.ndarray]:
    """Per-sample numpy rows of a TransferQueue field (jagged nested tensor or padded [B,T])."""
    if isinstance(value, torch.Tensor):
        if value.is_nested:
            return [t.detach().cpu().numpy() for t in value.unbind()]
        return [t.detach().cpu().numpy() for t in value]
    return [np.asarray(v) for v in value]


def _nested(rows: list[np.ndarray], dtype: torch.dtype) -> torch.Tensor:
    return torch.nested.as_nested_tensor([torch.as_tensor(r, dtype=dtype) for r in rows], layout=torch.jagged)


def _non_tensor(value: Any) -> list:
    return list(value.tolist()) if hasattr(value, "tolist") else list(value)


def settings_from_config(config: Any) -> core.RestSettings:
    """``core.RestSettings`` from the ``rest_shaper`` group of a verl (OmegaConf) config."""
    from omegaconf import DictConfig, OmegaConf

    group = config.get("rest_shaper", None) if config is not None else None
    if isinstance(group, DictConfig):
        group = OmegaConf.to_container(group, resolve=True)
    return core.RestSettings.from_mapping(group)


def _require_weights(rollout_is_weights: torch.Tensor | None, response_mask: torch.Tensor) -> torch.Tensor:
    if rollout_is_weights is None:
        raise core.RestIntegrationError(
            "policy loss 'rest' needs the ResT weights in rollout_is_weights: run with "
            "trainer.v1.trainer_mode=rest_sync (or rest_colocate_async / rest_separate_async)"
        )
    if rollout_is_weights.shape != response_mask.shape:
        raise core.RestIntegrationError(
            f"ResT weights shape {tuple(rollout_is_weights.shape)} != response mask {tuple(response_mask.shape)}"
        )
    return rollout_is_weights.detach()


def _applied_metrics(w: torch.Tensor, response_mask: torch.Tensor) -> dict[str, float]:
    """Digest parts of ``w``, the very tensor handed to verl's vanilla loss as the per-token factor."""
    return core.applied_loss_metrics(w.detach().to("cpu", torch.float64).numpy(), response_mask.detach().cpu().numpy())


# --------------------------------------------------------------------------- policy losses


@register_policy_loss(core.LOSS_MODE_MICRO)
def compute_policy_loss_rest(
    old_log_prob: torch.Tensor,
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    loss_agg_mode: str = "token-mean",
    config=None,
    rollout_is_weights: torch.Tensor | None = None,
):
    """PPO-clip loss weighted per token and normalised as the released ResT trainer does.

    The per-token clipped loss is verl's own ``vanilla`` one (dual clip included); it is
    multiplied by w and aggregated as sum(l*m*w)/(sum(m*w)+1e-8) over this micro-batch, scaled
    by ``core.micro_batch_scale`` so that verl's summation over micro-batches and FSDP's mean
    over ranks give the mean of micro-batch ratios, as in ResT. ``loss_agg_mode`` is ignored.
    """
    w = _require_weights(rollout_is_weights, response_mask)
    # token-sum with the weights = dp_size * sum(l * m * w) on this micro-batch.
    token_sum, metrics = compute_policy_loss_vanilla(
        old_log_prob, log_prob, advantages, response_mask, "token-sum", config, w
    )
    info = dict(getattr(config, "global_batch_info", None) or {})
    dp_size = int(info.get("dp_size") or 1)
    weight_sum = (response_mask.to(w.dtype) * w).sum()
    scale = core.micro_batch_scale(response_mask.shape[0], dp_size, info.get("global_batch_size"))
    loss = core.rest_ratio(token_sum / dp_size, weight_sum, scale)
    metrics["actor/rest_weight_sum"] = float(weight_sum.detach().item())
    metrics.update(_applied_metrics(w, response_mask))
    return loss, metrics


@register_policy_loss(core.LOSS_MODE_GLOBAL)
def compute_policy_loss_rest_global(
    old_log_prob: torch.Tensor,
    log_prob: torch.Tensor,
    advantages: torch.Tensor,
    response_mask: torch.Tensor,
    loss_agg_mode: str = "token-mean",
    config=None,
    rollout_is_weights: torch.Tensor | None = None,
):
    """PPO-clip loss weighted per token, token-mean over the global mini-batch.

    The trainer has already multiplied the weights by c = sum(m)/sum(m*w) of the step batch
    (``core.global_weight_scale``), so verl's token-mean sum(l*m*w*c)/sum(m) is ResT's
    sum(l*m*w)/sum(m*w) over the batch, invariant to micro-batching and data parallelism.
    """
    w = _require_weights(rollout_is_weights, response_mask)
    loss, metrics = compute_policy_loss_vanilla(old_log_prob, log_prob, advantages, response_mask, "token-mean", config, w)
    metrics.update(_applied_metrics(w, response_mask))
    return loss, metrics


# --------------------------------------------------------------------------- trainer step


class RestShapingMixin:
    """Adds the sidecar call between the old-policy pass and the advantage computation."""

    _rest_settings: core.RestSettings | None = None
    _rest_client: Any = None
    _rest_pending: tuple | None = None  # (reply id, rows, weight scale) of the step's shape reply
    _rest_verdicts: dict | None = None

    def _rest_setup(self) -> None:
        if self._rest_settings is not None:
            return
        settings = settings_from_config(self.config)
        corr = self.config.algorithm.get("rollout_correction", None)
        if corr is not None and corr.get("rollout_is", None) is not None:
            raise core.RestIntegrationError(
                "algorithm.rollout_correction.rollout_is would overwrite the ResT weights in "
                "rollout_is_weights; set it to null when training with rest-shaper"
            )
        if settings.pad_token_id is None:
            settings.pad_token_id = int(getattr(self.tokenizer, "pad_token_id", None) or 0)
        loss_mode = self.config.actor_rollout_ref.actor.policy_loss.get("loss_mode", "vanilla")
        if loss_mode not in (core.LOSS_MODE_MICRO, core.LOSS_MODE_GLOBAL):
            logger.warning(
                "rest-shaper: policy_loss.loss_mode=%s multiplies the per-token loss by the ResT weights "
                "(rollout_is_weights) but keeps its own normaliser; use 'rest' or 'rest_global' for ResT's "
                "sum(l*m*w)/sum(m*w)",
                loss_mode,
            )
        self._rest_loss_mode = loss_mode
        self._rest_settings = settings
        self._rest_client = make_client(settings)

    def _compute_advantage(self, batch, metrics: dict):
        self._rest_setup()
        with marked_timer("rest_shaper", getattr(self, "timing_raw", {}), color="green"):
            metrics.update(self._rest_shape(batch))
        return super()._compute_advantage(batch, metrics)

    def _rest_shape(self, batch) -> dict[str, float]:
        """Fetch the batch from TransferQueue, call the sidecar, write rm_scores and weights back."""
        settings = self._rest_settings
        corr = self.config.algorithm.get("rollout_correction", None)
        bypass = bool(corr and corr.get("bypass_mode", False))
        fields = ["responses", "response_mask", "reward_model"]
        if settings.send_entropy and not bypass:  # in bypass mode no old-policy pass computed entropies
            fields.append("entropy")
        if settings.reward_mode != "replace":
            fields.append("rm_scores")
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=fields)
        fetched, metrics, step_out = shape_fetched_batch(
            data, self._rest_client, settings, step=int(self.global_steps), loss_mode=self._rest_loss_mode
        )
        tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id, fields=fetched)
        self._rest_pending = (step_out.reply_id, step_out.rows, step_out.weight_scale)
        return metrics

    def _update_actor(self, batch, metrics: dict):
        out = super()._update_actor(batch, metrics)
        metrics.update(self._rest_acknowledge(metrics))
        return out

    def _rest_acknowledge(self, metrics: dict) -> dict[str, float]:
        """Sends ``applied`` for the step's shape reply, with the digest the policy loss computed
        from the weights it multiplied in (reported through verl's actor metrics)."""
        pending, self._rest_pending = self._rest_pending, None
        if pending is None or pending[0] is None:
            return {}
        reply_id, rows, scale = pending
        means = {k: float(v) for key, v in metrics.items() for k in core.APPLIED_KEYS if key.endswith(k)}
        verdicts = self._rest_verdicts = self._rest_verdicts or {"ok": 0, "mismatch": 0, "unknown": 0, "missing": 0}
        try:
            digest = core.applied_from_loss_means(means, rows, scale)
        except core.RestIntegrationError as e:
            logger.warning("rest-shaper: not acknowledging reply %s: %s", reply_id, e)
            verdicts["missing"] += 1
        else:
            verdict = self._rest_client.applied(reply_id, digest=digest)
            result = str((verdict or {}).get("result", "unknown"))
            verdicts[result] = verdicts.get(result, 0) + 1
            if result != "ok":
                logger.warning("rest-shaper: sidecar answered %s to applied(%s): %s", result, reply_id,
                               (verdict or {}).get("message", ""))
        return {f"rest/applied_{k}": float(v) for k, v in verdicts.items()}


def shape_fetched_batch(
    data: Any, client: Any, settings: core.RestSettings, step: int, loss_mode: str
) -> tuple[TensorDict, dict[str, float], core.StepOutput]:
    """The trainer step on a TransferQueue TensorDict; returns the fields to write back."""
    rows = {
        "responses": _rows(data["responses"]),
        "response_mask": _rows(data["response_mask"]),
        "reward_model": _non_tensor(data["reward_model"]),
    }
    if "entropy" in data.keys():
        rows["entropy"] = _rows(data["entropy"])
    if "rm_scores" in data.keys():
        rows["rm_scores"] = _rows(data["rm_scores"])
    step_out = core.shape_step(rows, client, settings, step, loss_mode)
    out = TensorDict(
        {
            "rm_scores": _nested(step_out.rm_scores, torch.float32),
            "rollout_is_weights": _nested(step_out.weights, torch.float32),
        },
        batch_size=len(rows["responses"]),
    )
    return out, step_out.metrics, step_out


@register_trainer("rest_sync")
class RestPPOTrainerSync(RestShapingMixin, PPOTrainerSync):
    """verl's ``sync`` V1 trainer with rest-shaper rewards and ResT weights."""


@register_trainer("rest_colocate_async")
class RestPPOTrainerColocateAsync(RestShapingMixin, PPOTrainerColocateAsync):
    """verl's ``colocate_async`` V1 trainer with rest-shaper rewards and ResT weights."""


@register_trainer("rest_separate_async")
class RestPPOTrainerSeparateAsync(RestShapingMixin, PPOTrainerSeparateAsync):
    """verl's ``separate_async`` V1 trainer with rest-shaper rewards and ResT weights."""


# --------------------------------------------------------------------------- reward loop


@register_reward_manager("rest")
class RestRewardManager(RewardManagerBase):
    """Reward loop manager: the sidecar's ToolRL reward for one rollout (validation, streaming).

    The weights of these single-rollout calls are not used; training weights come from the
    batched call in the ``rest_*`` trainers, whose rewards (identical for the same step) then
    replace these unless ``rest_shaper.reward_mode`` says otherwise.
    """

    def __init__(self, config, tokenizer, compute_score, reward_router_address=None, reward_model_tokenizer=None):
        super().__init__(config, tokenizer, compute_score)
        self.settings = settings_from_config(config)
        if self.settings.pad_token_id is None:
            self.settings.pad_token_id = int(getattr(tokenizer, "pad_token_id", None) or 0)
        self._local = threading.local()

    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:  # one client per executor thread: ZeroMQ sockets are not thread-safe
            client = self._local.client = make_client(self.settings)
        return client

    def score_item(self, data_item) -> dict:
        response_ids = data_item.batch["responses"]
        length = response_ids.shape[-1]
        valid = int(data_item.batch["attention_mask"][-length:].sum())
        ids = response_ids[:valid].detach().cpu().numpy()
        # The agent loop's response_mask as is (0 on tool-response tokens: a multi-turn rollout).
        if "response_mask" in data_item.batch.keys():
            mask = data_item.batch["response_mask"][:valid].detach().cpu().numpy()
        else:
            mask = np.ones_like(ids, dtype=np.uint8)
        reward_model = data_item.non_tensor_batch["reward_model"]
        gt = core.extract_ground_truths([reward_model], self.settings.ground_truth_key)
        step = data_item.non_tensor_batch.get("global_steps", 0)
        shaped = core.shape_rollouts(
            self._client(),
            [ids],
            [mask],
            gt,
            int(step or 0),
            pad_token_id=self.settings.pad_token_id or 0,
            # these single-rollout weights are never used: not computed, and not awaited by the sidecar
            options={**self.settings.options, "compute_weights": False},
            turn_ground_truths=core.extract_turn_ground_truths(
                [reward_model], [mask], self.settings.turn_ground_truth_key, self.settings.ground_truth_key
            ),
        )
        extra = {f"rest_{n}": float(v) for n, v in zip(core.COMPONENT_NAMES, shaped.components[0])}
        extra["rest_ok"] = float(shaped.failed == 0)
        return {"reward_score": float(shaped.rewards[0]), "reward_extra_info": extra}

    async def run_single(self, data) -> dict:
        item = data[-1:][0]  # multi-sequence outputs: the last sequence carries the reward, as in verl
        # the running loop, not self.loop: the call must be awaited on the loop that runs it
        return await asyncio.get_running_loop().run_in_executor(None, lambda: self.score_item(item))
