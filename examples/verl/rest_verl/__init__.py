"""rest-shaper integration for verl 0.9.1.

``VERL_USE_EXTERNAL_MODULES=rest_verl`` makes every verl process import this package, which
registers the ``rest`` / ``rest_global`` policy losses, the ``rest_*`` V1 trainers and the
``rest`` reward manager (see ``plugin.py``). Without verl installed only ``rest_verl.core``
(numpy) is usable, which is what the CI tests exercise.
"""

import importlib.util as _util

if _util.find_spec("verl") is not None and _util.find_spec("torch") is not None:
    from . import plugin  # noqa: F401  (registration side effects)
