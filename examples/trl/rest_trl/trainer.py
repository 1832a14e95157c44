"""TRL 1.16 GRPOTrainer with rest-shaper rewards and ResT token weights.

* :class:`RestShaperReward` (``reward.py``) is a reward function (``reward_funcs=[...]``) that
  sends the local completions to the sidecar and returns its ToolRL reward; it keeps the reply so
  the weights of the same call can be reused.
* :class:`RestGRPOTrainer` puts the per-token weights w into the batch after generation and makes
  TRL's loss ResT's: TRL forms ``mask = completion_mask * tool_mask``; the trainer passes
  ``tool_mask * w`` there, so ``bnpo`` computes sum(l*m*w)/sum(m*w) per micro-batch (the released
  ResT normaliser) and ``dapo``, with ``num_items_in_batch`` set to the global sum(m*w),
  computes sum(l*m*w)/sum(m*w) over the generation batch.
* Inside the loss, the trainer computes the digest of ``completion_mask * tool_mask`` (the tensor
  TRL multiplies the per-token loss by, which carries w) per row, and once every row of a sidecar
  reply has been applied it sends ``applied`` (protocol/PROTOCOL.md) so the sidecar can tell the
  weights were used.
"""

from __future__ import annotations

import inspect
import logging

import numpy as np
import torch
from trl import GRPOTrainer

from . import core
from .reward import RestShaperReward

logger = logging.getLogger(__name__)

#: What RestGRPOTrainer relies on in TRL's ``_compute_loss``: the loss mask is formed from
#: ``tool_mask`` (where the weights ride) and multiplies the per-token loss.
_TRL_LOSS_MARKERS = ('completion_mask * inputs["tool_mask"]', "per_token_loss * mask")

class RestGRPOTrainer(GRPOTrainer):
    """GRPOTrainer whose policy loss is ResT's token-weighted sum(l*m*w)/sum(m*w).

    Pass ``rest_reward`` (a :class:`RestShaperReward`); unless ``reward_funcs`` is given it is
    also the reward. ``args.loss_type`` must be ``bnpo`` (released ResT, per micro-batch) or
    ``dapo`` (over the generation batch).
    """

    def __init__(self, *args, rest_reward: RestShaperReward | None = None, **kwargs):
        if rest_reward is None:
            raise core.RestTrlError("RestGRPOTrainer needs rest_reward=RestShaperReward(...)")
        if kwargs.get("reward_funcs") is None and (len(args) < 2 or args[1] is None):
            kwargs["reward_funcs"] = [rest_reward]
        super().__init__(*args, **kwargs)
        core.check_loss_type(self.loss_type)
        self.rest_reward = rest_reward
        self.rest_acks = core.AckLedger()
        self._check_trl_loss()
        if rest_reward.pad_token_id == 0 and getattr(self._tokenizer, "pad_token_id", None) is not None:
            rest_reward.pad_token_id = int(self._tokenizer.pad_token_id)

    @staticmethod
    def _check_trl_loss() -> None:
        """Refuses a TRL whose loss no longer multiplies by completion_mask * tool_mask: the weights
        would be dropped silently, and the acknowledgement computed here would be wrong."""
        try:
            source = inspect.getsource(GRPOTrainer._compute_loss)
        except (OSError, TypeError):
            return
        missing = [m for m in _TRL_LOSS_MARKERS if m not in source]
        if missing:
            raise core.RestTrlError(
                f"this TRL's GRPOTrainer._compute_loss does not contain {missing}: RestGRPOTrainer passes the ResT "
                "weights through tool_mask and cannot tell whether they are applied"
            )

    # ---------------------------------------------------------------- after generation

    def _rest_weights(self, completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                      loss_mask: torch.Tensor, inputs: list[dict]) -> tuple[np.ndarray, int | None]:
        ids = completion_ids.detach().cpu().numpy()
        lmask = (loss_mask.detach().cpu().numpy() != 0).astype(np.uint8)
        lengths = completion_mask.detach().cpu().numpy().sum(axis=1)
        reward = self.rest_reward
        step = reward.step_of(self.state)
        if reward.last_step == step:
            w = core.reuse_weights(reward.last_reply, ids, lmask, lengths)
            if w is not None:
                return w, reward.last_reply.reply_id
        # The loss mask differs from what the reward call saw (truncation masking) or the reward
        # came from elsewhere: ask for weights under the exact loss mask (its zero runs are turns).
        gts = [x[reward.ground_truth_column] for x in inputs]
        reply = core.call_sidecar(reward.client, ids, lmask, gts, step, reward.options)
        return reply.weights, reply.reply_id

    # ---------------------------------------------------------------- generation

    def _generate(self, prompts):
        # TRL builds tool_mask here and does not hand it to reward functions: give it to the
        # rest-shaper reward so multi-turn completions are scored and weighted turn by turn.
        out = super()._generate(prompts)
        completion_ids, tool_mask = out[1], out[2]
        if tool_mask is not None and len(tool_mask) != len(completion_ids):
            raise core.RestTrlError(f"{len(tool_mask)} tool masks for {len(completion_ids)} completions")
        self.rest_reward.pending_tool_masks = None if tool_mask is None else [list(m) for m in tool_mask]
        return out

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        completion_mask = output["completion_mask"]
        tool_mask = output.get("tool_mask")
        loss_mask = completion_mask if tool_mask is None else completion_mask * tool_mask
        w, reply_id = self._rest_weights(output["completion_ids"], completion_mask, loss_mask, inputs)
        weights = torch.as_tensor(w, dtype=torch.float32, device=completion_mask.device)
        output["rest_weights"] = weights
        if reply_id is not None:
            # rows travel with the batch through TRL's shuffling and splitting: the loss reports them
            B = weights.shape[0]
            output["rest_reply_id"] = torch.full((B,), int(reply_id), dtype=torch.int64, device=weights.device)
            output["rest_row"] = torch.arange(B, dtype=torch.int64, device=weights.device)
            self.rest_acks.expect(int(reply_id), B)
        if self.loss_type == "dapo":
            # TRL divides by num_items_in_batch (the global sum of the mask); with the mask carrying w
            # the ResT denominator is the global sum(m*w).
            local = (loss_mask.to(weights.dtype) * weights).sum()
            output["num_items_in_batch"] = self.accelerator.gather(local).sum()
        return output

    # ---------------------------------------------------------------- loss

    def _compute_loss(self, model, inputs):
        inputs = dict(inputs)  # the buffered batch is reused across iterations: never mutate it
        weights = inputs.pop("rest_weights", None)
        if weights is None:
            raise core.RestTrlError("batch has no rest_weights: it did not come from RestGRPOTrainer")
        reply_ids = inputs.pop("rest_reply_id", None)
        rows = inputs.pop("rest_row", None)
        tool_mask = inputs.get("tool_mask")
        inputs["tool_mask"] = weights if tool_mask is None else tool_mask.to(weights.dtype) * weights
        if reply_ids is not None and rows is not None:
            completion_mask = inputs["completion_mask"]
            valid = completion_mask if tool_mask is None else completion_mask * tool_mask  # the mask the sidecar saw
            applied = completion_mask * inputs["tool_mask"]  # what TRL's _compute_loss multiplies the loss by
            self._acknowledge(reply_ids, rows, applied, valid)
        return super()._compute_loss(model, inputs)

    def _acknowledge(self, reply_ids: torch.Tensor, rows: torch.Tensor, applied: torch.Tensor,
                     valid: torch.Tensor) -> None:
        """Adds this micro-batch's per-row digests; sends ``applied`` for every reply now complete."""
        from rest_shaper_client.digest import row_digests

        tokens, wsum, digest = row_digests(applied.detach().to("cpu", torch.float64).numpy(),
                                           valid.detach().cpu().numpy())
        done = self.rest_acks.add(reply_ids.tolist(), rows.tolist(), tokens, wsum, digest)
        for reply_id, d in done:
            try:
                verdict = self.rest_reward.client.applied(reply_id, digest=d)
            except Exception as e:  # noqa: BLE001 - an acknowledgement must not stop training
                logger.warning("rest-shaper: applied(%s) failed: %s", reply_id, e)
                verdict = None
            result = self.rest_acks.record(verdict)
            if result != "ok":
                logger.warning("rest-shaper: the sidecar answered %s to applied(%s): %s", result, reply_id,
                               (verdict or {}).get("message", ""))
            mode = "train" if self.model.training else "eval"
            for name in ("ok", "mismatch", "unknown"):
                self._metrics[mode][f"rest/applied_{name}"].append(float(self.rest_acks.verdicts.get(name, 0)))
