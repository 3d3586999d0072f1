"""Cooperative stop of training spread over several threads (ensembles).

Ctrl-C raises ``KeyboardInterrupt`` in the main thread only; members
training on joblib's worker threads would carry on.  A training loop that
holds a stop event checks it between epochs and stops when it is set, and
sets it itself when it is interrupted, so one Ctrl-C stops every member.
"""

import itertools
import threading
import warnings
import weakref
from contextlib import contextmanager

__all__ = ["stop_event", "stop_token"]

# token -> Event; tokens (plain ints) travel to the workers, which look the
# event up: a worker in another process finds none and relies on its
# backend to stop it (loky terminates its workers on an interrupt).
_EVENTS = weakref.WeakValueDictionary()
_COUNTER = itertools.count(1)
_LOCK = threading.Lock()


@contextmanager
def stop_token():
    """Yield a token naming a new stop event, set if the block is interrupted.

    The interrupt is re-raised after a warning.
    """
    event = threading.Event()
    with _LOCK:
        token = next(_COUNTER)
        _EVENTS[token] = event
    try:
        yield token
    except KeyboardInterrupt:
        event.set()
        warnings.warn(
            "Training interrupted by user: every member was stopped.", stacklevel=3
        )
        raise


def stop_event(token):
    """The stop event of ``token`` in this process, or None."""
    if token is None:
        return None
    with _LOCK:
        return _EVENTS.get(token)
