"""Discovery of skreg's public estimators (mirrors ``sklearn.utils.discovery``)."""

import importlib
import inspect

from sklearn.base import BaseEstimator

__all__ = ["all_estimators", "skops_trusted_types"]

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


def skops_trusted_types():
    """The types to trust when loading a skreg model with ``skops.io.load``.

    A fitted skreg estimator holds numpy arrays, scikit-learn objects that
    skops trusts by default, and itself; so the only types
    ``skops.io.get_untrusted_types`` reports are skreg's estimator classes,
    under the module where each is defined.  A model that holds something
    else (a callable given as ``tangents``, a user's own member estimator)
    reports that too, and skops leaves trusting it to you.

    Returns
    -------
    types : list of str
        ``module.ClassName`` of every public estimator, sorted, in the form
        ``skops.io.load(path, trusted=types)`` takes.

    Examples
    --------
    >>> from skreg.utils import skops_trusted_types
    >>> "skreg.neural_network._mlp.MLPClassifier" in skops_trusted_types()
    True
    """
    return sorted(f"{cls.__module__}.{cls.__qualname__}" for _, cls in all_estimators())
