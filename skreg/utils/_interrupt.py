"""Cooperative stop of training spread over several threads (ensembles).

Ctrl-C raises ``KeyboardInterrupt`` in the main thread only; members
training on joblib's worker threads would carry on.  A training loop that
holds a stop event checks it between epochs and stops when it is set, and
sets it itself when it is interrupted, so one Ctrl-C stops every member.

A member that cannot be handed the event (scikit-learn's ``MLPClassifier``,
which catches ``KeyboardInterrupt`` in its epoch loop, warns and returns its
partial fit) would swallow the Ctrl-C when it trains in the main thread.
While a token is open in the main thread, SIGINT therefore also sets the
event before Python's usual handler raises ``KeyboardInterrupt``, so the
ensemble still sees the request once that member returns.
"""

import itertools
import signal
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
    restore = _chain_sigint(event)
    try:
        yield token
    except KeyboardInterrupt:
        event.set()
        warnings.warn(
            "Training interrupted by user: every member was stopped.", stacklevel=3
        )
        raise
    finally:
        restore()


def _chain_sigint(event):
    """Make SIGINT set ``event``, then run the previous handler.

    Only the main thread may install handlers, and only a Python handler
    (by default ``signal.default_int_handler``, which raises
    ``KeyboardInterrupt``) is chained: with SIG_IGN or SIG_DFL Ctrl-C never
    reaches Python code anyway.  Returns the function that undoes it.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        return lambda: None

    def handler(signum, frame):
        event.set()
        previous(signum, frame)

    signal.signal(signal.SIGINT, handler)

    def restore():
        # leave a handler installed by someone else meanwhile alone
        if signal.getsignal(signal.SIGINT) is handler:
            signal.signal(signal.SIGINT, previous)

    return restore


def stop_event(token):
    """The stop event of ``token`` in this process, or None."""
    if token is None:
        return None
    with _LOCK:
        return _EVENTS.get(token)
