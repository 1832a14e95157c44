"""rest-shaper integration for TRL 1.16's GRPOTrainer.

``RestGRPOTrainer`` (``trainer.py``) needs torch and trl; ``core`` and ``RestShaperReward``
(``reward.py``) are numpy-only and are what the CI tests exercise without them.
"""

import importlib.util as _util

from .reward import RestShaperReward  # noqa: F401

if _util.find_spec("trl") is not None and _util.find_spec("torch") is not None:
    from .trainer import RestGRPOTrainer  # noqa: F401
