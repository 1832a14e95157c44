"""The weights digest of protocol op ``applied`` (numpy only; see protocol/PROTOCOL.md §applied).

Over the valid positions (mask != 0) of [B, T] weights, with k the ordinal of a valid position
inside its row (0, 1, 2, ... left to right, padding skipped):

    tokens = number of valid positions,  weight_sum = Σ w,  digest = Σ w·(k+1)     (float64)

Compute it from the tensor that multiplies the loss, not from the sidecar's reply: that is the
point of the acknowledgement. Per-row parts add up in any order, so a trainer that shuffles rows
over micro-batches sums :func:`row_digests` of each micro-batch.
"""
from dataclasses import dataclass

import numpy as np


def row_digests(weights, mask):
    """Per-row (tokens int64 [B], weight_sum float64 [B], digest float64 [B]) of [B, T] weights."""
    w = np.asarray(weights, dtype=np.float64)
    valid = np.asarray(mask) != 0
    if w.ndim != 2 or valid.shape != w.shape:
        raise ValueError(f"weights {w.shape} and mask {valid.shape} must be the same [B, T]")
    wv = np.where(valid, w, 0.0)
    ordinal = np.cumsum(valid, axis=1, dtype=np.int64)  # k + 1 at valid positions
    return valid.sum(axis=1, dtype=np.int64), wv.sum(axis=1), (wv * ordinal).sum(axis=1)


@dataclass
class WeightDigest:
    """What an ``applied`` request reports: rows, tokens, Σw and Σw·(k+1) of the applied weights."""

    rows: int = 0
    tokens: int = 0
    weight_sum: float = 0.0
    digest: float = 0.0

    @classmethod
    def of(cls, weights, mask):
        tokens, wsum, dig = row_digests(weights, mask)
        return cls(rows=int(tokens.shape[0]), tokens=int(tokens.sum()), weight_sum=float(wsum.sum()),
                   digest=float(dig.sum()))

    def add_rows(self, tokens, weight_sum, digest):
        """Adds per-row parts (arrays from :func:`row_digests`, or a subset of them)."""
        tokens = np.asarray(tokens).reshape(-1)
        self.rows += int(tokens.shape[0])
        self.tokens += int(tokens.sum())
        self.weight_sum += float(np.asarray(weight_sum, dtype=np.float64).sum())
        self.digest += float(np.asarray(digest, dtype=np.float64).sum())
        return self

    def as_dict(self):
        return {"rows": int(self.rows), "tokens": int(self.tokens), "weight_sum": float(self.weight_sum),
                "digest": float(self.digest)}


#: Relative tolerance the server applies to weight_sum and digest (see PROTOCOL.md).
RELATIVE_TOLERANCE = 1e-8


def matches(sent, reported, rel=RELATIVE_TOLERANCE):
    """The server's rule: rows and tokens equal, Σw and digest within ``rel`` (floor 1)."""
    def close(a, b):
        return np.isfinite(a) and abs(a - b) <= rel * max(abs(a), abs(b), 1.0)

    return (sent.rows == reported.rows and sent.tokens == reported.tokens
            and close(reported.weight_sum, sent.weight_sum) and close(reported.digest, sent.digest))
