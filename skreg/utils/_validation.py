"""Input checks shared by several subpackages."""

import numpy as np

__all__ = ["check_clip"]


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
