"""TRL 1.16 GRPOTrainer with rest-shaper rewards and ResT token weights.

* :class:`RestShaperReward` (``reward.py``) is a reward function (``reward_funcs=[...]``) that
  sends the local completions to the sidecar and returns its ToolRL reward; it keeps the reply so
  the weights of the same call can be reused.
* :class:`RestGRPOTrainer` puts the per-token weights w into the batch after generation and makes
  TRL's loss ResT's: TRL forms ``mask = completion_mask * tool_mask``; the trainer passes
  ``tool_mask * w`` there, so ``bnpo`` computes sum(l*m*w)/sum(m*w) per micro-batch (the released
  ResT normaliser) and ``dapo``, with ``num_items_in_batch`` set to the global sum(m*w),
  computes sum(l*m*w)/sum(m*w) over the generation batch.
"""

from __future__ import annotations

import numpy as np
import torch
from trl import GRPOTrainer

from . import core
from .reward import RestShaperReward


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
        if rest_reward.pad_token_id == 0 and getattr(self._tokenizer, "pad_token_id", None) is not None:
            rest_reward.pad_token_id = int(self._tokenizer.pad_token_id)

    # ---------------------------------------------------------------- after generation

    def _rest_weights(self, completion_ids: torch.Tensor, completion_mask: torch.Tensor,
                      loss_mask: torch.Tensor, inputs: list[dict]) -> np.ndarray:
        ids = completion_ids.detach().cpu().numpy()
        lmask = (loss_mask.detach().cpu().numpy() != 0).astype(np.uint8)
        lengths = completion_mask.detach().cpu().numpy().sum(axis=1)
        reward = self.rest_reward
        step = reward.step_of(self.state)
        if reward.last_step == step:
            w = core.reuse_weights(reward.last_reply, ids, lmask, lengths)
            if w is not None:
                return w
        # The loss mask differs from what the reward call saw (truncation masking) or the reward
        # came from elsewhere: ask for weights under the exact loss mask (its zero runs are turns).
        gts = [x[reward.ground_truth_column] for x in inputs]
        reply = core.call_sidecar(reward.client, ids, lmask, gts, step, reward.options)
        return reply.weights

    # ---------------------------------------------------------------- generation

    def _generate(self, prompts):
        # TRL builds tool_mask here and does not hand it to reward functions: give it to the
        # rest-shaper reward so multi-turn completions are scored and weighted turn by turn.
        out = super()._generate(prompts)
        completion_ids, tool_mask = out[1], out[2]
        self.rest_reward.pending_tool_masks = None if tool_mask is None else [list(m) for m in tool_mask]
        if tool_mask is not None and len(tool_mask) != len(completion_ids):
            raise core.RestTrlError(f"{len(tool_mask)} tool masks for {len(completion_ids)} completions")
        return out

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        completion_mask = output["completion_mask"]
        tool_mask = output.get("tool_mask")
        loss_mask = completion_mask if tool_mask is None else completion_mask * tool_mask
        w = self._rest_weights(output["completion_ids"], completion_mask, loss_mask, inputs)
        weights = torch.as_tensor(w, dtype=torch.float32, device=completion_mask.device)
        output["rest_weights"] = weights
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
        tool_mask = inputs.get("tool_mask")
        inputs["tool_mask"] = weights if tool_mask is None else tool_mask.to(weights.dtype) * weights
        return super()._compute_loss(model, inputs)
