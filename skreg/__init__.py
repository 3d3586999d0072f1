"""skreg: scikit-learn-compatible regularizers from *Deep Learning*, chapter 7.

Every public estimator lives in a scikit-learn-named subpackage
(``skreg.decomposition``, ``skreg.neural_network``, ``skreg.ensemble``,
``skreg.neighbors``) and is also importable from ``skreg`` itself.
Run ``python -m skreg`` for a tour on built-in data.
"""

from . import decomposition, ensemble, metrics, neighbors, neural_network, utils
from ._version import __version__
from .utils.discovery import all_estimators as _all_estimators

# Re-export every estimator the subpackages declare in their ``__all__``, so
# a new estimator is importable from ``skreg`` without editing this file.
_ESTIMATORS = dict(_all_estimators())
globals().update(_ESTIMATORS)

__all__ = [
    "__version__",
    "decomposition",
    "ensemble",
    "metrics",
    "neighbors",
    "neural_network",
    "utils",
    *sorted(_ESTIMATORS),
]
