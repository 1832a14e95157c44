"""The rest-shaper reward function for TRL (numpy only: testable without torch or trl).

:class:`RestShaperReward` sends the local completions to the sidecar and returns its ToolRL reward;
it keeps the reply so the weights of the same call can be reused by ``RestGRPOTrainer``. With the
tool mask the trainer hands it (multi-turn completions: tool results are mask 0), every turn is
categorised, weighted and scored as the sidecar's multi-turn protocol says.
"""

from __future__ import annotations

from typing import Any, Callable

from . import core

ClientFactory = Callable[[str], Any]


def _default_client(endpoint: str) -> Any:
    from rest_shaper_client import Client  # imported late: pyzmq only where the sidecar is called

    return Client(endpoint)


class RestShaperReward:
    """Reward function: the sidecar's ToolRL score of each completion.

    ground_truth_column: dataset column with the ground truth (TRL passes every column as a kwarg).
    turn_ground_truth_column: optional dataset column with per-turn ground truths (per sample a
        list, one entry or None per turn of the completion); without it the ground truth scores the
        last turn of a multi-turn completion.
    step_offset: ResT's step is the trainer's global step plus this (1: the first update is step 1,
        as in the released code).
    options: keyword options for ``Client.shape`` (profile, schedule, reward flags).
    """

    __name__ = "rest_shaper"

    def __init__(self, endpoint: str = "ipc:///tmp/rest-shaper.sock", ground_truth_column: str = "ground_truth",
                 step_offset: int = 1, options: dict | None = None, pad_token_id: int = 0,
                 client_factory: ClientFactory | None = None, turn_ground_truth_column: str | None = None):
        self.endpoint = endpoint
        self.ground_truth_column = ground_truth_column
        self.turn_ground_truth_column = turn_ground_truth_column
        # Set by RestGRPOTrainer right after generation: TRL's tool_mask of the completions the next
        # call scores (TRL does not pass it to reward functions). Used once, then cleared.
        self.pending_tool_masks: list | None = None
        self.step_offset = int(step_offset)
        self.options = dict(options or {})
        self.pad_token_id = int(pad_token_id)
        self._factory = client_factory or _default_client
        self._client = None
        self.last_reply: core.ShapeReply | None = None
        self.last_ground_truths: list | None = None
        self.last_turn_ground_truths: list | None = None
        self.last_step: int | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._factory(self.endpoint)
        return self._client

    def step_of(self, trainer_state: Any) -> int:
        return int(getattr(trainer_state, "global_step", 0) or 0) + self.step_offset

    def __call__(self, prompts=None, completions=None, completion_ids=None, trainer_state=None, log_metric=None,
                 **kwargs) -> list[float]:
        if completion_ids is None:
            raise core.RestTrlError("RestShaperReward needs completion_ids (TRL >= 1.0 passes them)")
        if self.ground_truth_column not in kwargs:
            raise core.RestTrlError(
                f"dataset has no {self.ground_truth_column!r} column (columns: {sorted(kwargs)})"
            )
        gts = list(kwargs[self.ground_truth_column])
        tool_masks, self.pending_tool_masks = self.pending_tool_masks, None
        rows = [list(map(int, c)) for c in completion_ids]
        if tool_masks is not None and [len(m) for m in tool_masks] != [len(r) for r in rows]:
            tool_masks = None  # not the completions the trainer generated last: score them whole
        ids, mask, lengths = core.tool_mask_rows(rows, tool_masks, self.pad_token_id)
        turn_gts = None
        if self.turn_ground_truth_column is not None:
            if self.turn_ground_truth_column not in kwargs:
                raise core.RestTrlError(f"dataset has no {self.turn_ground_truth_column!r} column (columns: {sorted(kwargs)})")
            turn_gts = [list(t) for t in kwargs[self.turn_ground_truth_column]]
        step = self.step_of(trainer_state)
        reply = core.call_sidecar(self.client, ids, mask, gts, step, self.options, turn_ground_truths=turn_gts)
        reply.lengths = lengths
        self.last_reply, self.last_ground_truths, self.last_step = reply, gts, step
        self.last_turn_ground_truths = turn_gts
        if log_metric is not None:
            for name, value in core.reply_metrics(reply).items():
                log_metric(name, value)
        return [float(r) for r in reply.rewards]
