"""rest-shaper integration for TRL 1.16's GRPOTrainer.

``RestGRPOTrainer`` and ``RestShaperReward`` (``trainer.py``) need torch and trl; ``core`` is
numpy-only and is what the CI tests exercise without them.
"""

import importlib.util as _util

if _util.find_spec("trl") is not None and _util.find_spec("torch") is not None:
    from .trainer import RestGRPOTrainer, RestShaperReward  # noqa: F401
