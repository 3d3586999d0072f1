"""Discovery of skreg's public estimators (mirrors ``sklearn.utils.discovery``)."""

import importlib
import inspect

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]

_SUBPACKAGES = ("decomposition", "neural_network", "ensemble", "neighbors", "metrics")


def all_estimators():
    """List every public estimator class that skreg exports.

    Walks the ``__all__`` of each public subpackage, so an estimator added to
    a subpackage is found without being listed anywhere else.

    Returns
    -------
    estimators : list of (name, class) tuples
        Sorted by name; each class appears once.
    """
    found = {}
    for sub in _SUBPACKAGES:
        module = importlib.import_module(f"skreg.{sub}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
                and not name.startswith("_")
            ):
                found[name] = obj
    return sorted(found.items())
