"""Input checks shared by several subpackages."""

from contextlib import contextmanager

import numpy as np

__all__ = ["check_clip", "restore_state_on_error"]


def check_clip(clip):
    """``clip`` as a float pair ``(min, max)`` with finite ``min < max``, or None.

    Used by adversarial training (``skreg.neural_network``) and the attacks
    of ``skreg.metrics``; raises ``ValueError`` naming the problem.
    """
    if clip is None:
        return None
    try:
        lo, hi = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise ValueError(
            f"clip must be None or a pair (min, max) of numbers; got {clip!r}."
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo >= hi:
        raise ValueError(f"clip=(min, max) needs finite min < max; got ({lo}, {hi}).")
    return lo, hi


@contextmanager
def restore_state_on_error(estimator):
    """Undo every attribute change of ``estimator`` if the block raises.

    ``validate_data(..., reset=True)`` sets ``n_features_in_`` before any
    work is done, and ``check_is_fitted`` takes any trailing-underscore
    attribute as proof of a fit.  A fit that fails or is interrupted
    (``KeyboardInterrupt``, ``MemoryError``) half-way would otherwise leave
    a model that looks fitted (``transform`` then fails with an
    ``AttributeError`` instead of ``NotFittedError``) or mixes two fits.
    Restoring the instance ``__dict__`` keeps the previous fit, or no fit;
    arrays and lists get their old contents back too (the same objects),
    since a warm-started fit updates some in place (optimizer moments, the
    loss curve).
    """
    previous = dict(vars(estimator))
    # fitted and private state only: constructor parameters are never
    # changed by a fit (and may be large or read-only)
    contents = {
        k: v.copy()
        for k, v in previous.items()
        if (k.endswith("_") or k.startswith("_"))
        and (isinstance(v, list) or (isinstance(v, np.ndarray) and v.flags.writeable))
    }
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(previous)
        for k, saved in contents.items():  # the same objects, their old contents
            if isinstance(saved, np.ndarray):
                previous[k][...] = saved
            else:
                previous[k][:] = saved
        raise
