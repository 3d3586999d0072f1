"""Numba decorator presets and thread control shared by every skreg kernel.

Every jitted function in skreg is decorated with :func:`jit` or
:func:`jit_parallel` from this module, at module level, so that caching,
GIL release and floating-point flags are set in one place.

Why these choices
-----------------
* ``cache=True``: compiled kernels are written next to the sources, so a
  fresh process with a warm cache pays no compilation.
* ``nogil=True``: kernels release the GIL, so joblib's threading backend
  gives real parallelism (bagging members, concurrent ``fit`` calls).
* ``fastmath``: only flags that keep NaN and inf observable (no ``nnan`` /
  ``ninf``); ``reassoc`` and ``contract`` let LLVM vectorise reductions and
  fuse multiply-adds.  umap removed unsafe flags after they hid NaNs.
* no eager signatures: they reject read-only (memmapped) and Fortran
  ordered arrays with a raw numba ``TypeError``.  Callers normalise layout,
  dtype and writeability in Python instead (:func:`as_kernel_array`),
  which also bounds the number of variants: numba types a read-only array
  apart from a writable one and would compile every kernel twice.

Where compiled kernels are cached
---------------------------------
numba invalidates a cached function only when its own source file
changes, so after an edit to a callee in another module a cached caller
would run stale code.  skreg's kernels are therefore cached under a
directory (:data:`CACHE_DIR`) named by a hash of every source a kernel can
depend on (:data:`KERNEL_SOURCES`), chosen at import from, in order:
``$NUMBA_CACHE_DIR/skreg-<hash>``, the
package's own ``__pycache__``, the user cache directory
(``$XDG_CACHE_HOME`` or ``~/.cache``), a per-user temporary directory
(with a warning; private to the user, since cache files are pickles), and
no cache at all (with a warning) when nothing is writable, as on a
read-only install with an unwritable home, or in a container where not
even a temporary directory is usable.  Kernels compiled without a cache
need nothing writable, so import and fit still work there.
"""

import ctypes
import hashlib
import inspect
import os
import pathlib
import stat
import tempfile
import threading
import warnings
from contextlib import contextmanager

import numba
import numpy as np
from joblib import effective_n_jobs

__all__ = [
    "CACHE_DIR",
    "dispatch_on_types",
    "SAFE_FASTMATH",
    "as_kernel_array",
    "jit",
    "jit_parallel",
    "loaded_variants",
    "numba_threads",
    "will_compile",
]

#: LLVM fast-math flags that never assume the absence of NaN or inf.
SAFE_FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

_SERIAL = dict(cache=True, nogil=True, fastmath=SAFE_FASTMATH, error_model="numpy")
_PARALLEL = dict(_SERIAL, parallel=True)
# an overload's implementation is compiled into each caller (whose cache
# holds it), with the callers' floating-point flags
_OVERLOAD = dict(fastmath=set(SAFE_FASTMATH), error_model="numpy")


_PACKAGE = pathlib.Path(__file__).resolve().parent.parent


#: The sources a compiled kernel can depend on, relative to the package: each
#: module that defines a kernel or an overload, and each skreg module those
#: import from (numba freezes an imported global, such as an output-kind
#: constant, into the machine code).  Only these are hashed into the cache
#: directory's name, so editing an estimator's Python, a tour or a docstring
#: keeps the compiled kernels.  tests/utils/test_numba.py derives the set from
#: the dispatchers and the imports and checks that it is exactly this one.
KERNEL_SOURCES = (
    "decomposition/_kernels.py",
    "neighbors/_kernels.py",
    "neural_network/_cae.py",
    "neural_network/_engine/_adversarial.py",
    "neural_network/_engine/_conv.py",
    "neural_network/_engine/_elementwise.py",
    "neural_network/_engine/_fast_dropout.py",
    "neural_network/_engine/_inference.py",
    "neural_network/_engine/_layers.py",
    "neural_network/_engine/_losses.py",
    "neural_network/_engine/_optimizers.py",
    "neural_network/_engine/_passes.py",
    "neural_network/_engine/_penalties.py",
    "neural_network/_engine/_plain.py",
    "neural_network/_engine/_products.py",
    "neural_network/_engine/_random.py",
    "neural_network/_engine/_records.py",
    "neural_network/_engine/_tangent.py",
    "utils/_numba.py",
)


def source_hash(sources=KERNEL_SOURCES):
    """A short hash of the kernel sources' names and contents."""
    h = hashlib.sha256()
    for rel in sorted(sources):
        h.update(rel.encode())
        h.update((_PACKAGE / rel).read_bytes())
    return h.hexdigest()[:16]


def _writable(path):
    """Create ``path`` if needed and check a file can be written in it."""
    try:
        os.makedirs(path, exist_ok=True)
        # writing a file is the only test that holds for root (who passes
        # os.access everywhere) and on read-only mounts; with dir= given,
        # NamedTemporaryFile never looks for the system temporary directory
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError:
        return False
    return True


def _private_dir(path):
    """Make ``path`` (mode 0700) if needed; whether it is a directory of
    ours that no one else can write.

    numba's cache files are pickles, loaded as code: a directory in a
    shared temporary directory that another user made, or can write, could
    plant them.
    """
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        st = os.lstat(path)  # a symlink is not ours to follow
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_mode & 0o022:
        return False
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def _cache_candidates(key, environ=os.environ):
    """(directory, warning or None) in order of preference."""
    out = []
    user = environ.get("NUMBA_CACHE_DIR")
    if user:
        out.append((os.path.join(user, f"skreg-{key}"), None))
    out.append((str(_PACKAGE / "__pycache__" / f"numba-{key}"), None))
    xdg = environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    # with no HOME and no passwd entry (an arbitrary container uid),
    # expanduser leaves "~": a relative path would cache in the working
    # directory
    if os.path.isabs(xdg):
        out.append((os.path.join(xdg, "skreg", f"numba-{key}"), None))
    try:
        uid = os.getuid()
    except AttributeError:  # pragma: no cover - Windows
        uid = "user"
    try:
        # raises FileNotFoundError when no temporary directory is usable
        # (a read-only container): then caching is off, not import broken
        tmp_root = tempfile.gettempdir()
    except OSError:
        return out
    tmp = os.path.join(tmp_root, f"skreg-numba-{uid}", key)
    out.append(
        (
            tmp,
            "skreg could not write its numba cache next to the package or in "
            f"the user cache directory; compiled kernels are cached in {tmp}, "
            "which the system may clean. Set NUMBA_CACHE_DIR to a writable "
            "directory to keep them.",
        )
    )
    return out


def choose_cache_dir(key, environ=os.environ):
    """The first writable cache directory, or None (caching off), warning
    at most once about a fallback."""
    for path, note in _cache_candidates(key, environ):
        # the temporary fallback is shared with other users
        if note is not None and not _private_dir(os.path.dirname(path)):
            continue
        if _writable(path):
            if note is not None:
                warnings.warn(note, RuntimeWarning, stacklevel=2)
            return path
    warnings.warn(
        "skreg found no writable directory for its numba cache (the package "
        "directory, the user cache directory and the temporary directory are "
        "not writable): kernels are compiled again in every process. Set "
        "NUMBA_CACHE_DIR to a writable directory to cache them.",
        RuntimeWarning,
        stacklevel=2,
    )
    return None


#: Where skreg's compiled kernels are cached (None: caching is off).
CACHE_DIR = choose_cache_dir(source_hash())


#: Every dispatcher the presets made, so a caller can tell whether a step
#: compiled (or loaded from the cache) a kernel variant: the tour uses it to
#: check that its untimed warm-up covered the code paths it then times.
_DISPATCHERS = []
#: Every function :func:`dispatch_on_types` made an overload of (its module's
#: source is compiled into its callers, so it belongs in KERNEL_SOURCES).
_OVERLOADED = []


def loaded_variants():
    """Number of skreg kernel variants in memory (compiled or loaded)."""
    return sum(len(d.overloads) for d in _DISPATCHERS)


def _preset(options, func=None, **overrides):
    if overrides.get("fastmath") is True:  # pragma: no cover - developer guard
        raise ValueError("fastmath=True hides NaN/inf; use SAFE_FASTMATH")
    kwargs = {**options, **overrides}
    if isinstance(kwargs.get("fastmath"), frozenset):
        # numba accepts bool, dict or set -- not frozenset
        kwargs["fastmath"] = set(kwargs["fastmath"])
    if CACHE_DIR is None:
        kwargs["cache"] = False

    def decorate(f):
        if not kwargs.get("cache"):
            dispatcher = numba.njit(**kwargs)(f)
            _DISPATCHERS.append(dispatcher)
            return dispatcher
        # numba picks a cached function's directory when it is decorated,
        # from config.CACHE_DIR (NUMBA_CACHE_DIR): point it at ours for
        # this decoration only, so the user's own numba code is unaffected.
        previous = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = CACHE_DIR
        try:
            dispatcher = numba.njit(**kwargs)(f)
        finally:
            numba.config.CACHE_DIR = previous
        _DISPATCHERS.append(dispatcher)
        return dispatcher

    if func is None:
        return decorate
    return decorate(func)


def jit(func=None, **overrides):
    """Serial kernel preset: ``njit(cache=True, nogil=True, safe fastmath)``.

    Use as ``@jit`` or ``@jit(inline="always")``.
    """
    return _preset(_SERIAL, func, **overrides)


def dispatch_on_types(choose):
    """Decorate a Python function whose implementation a kernel picks by
    its arguments' types while it compiles.

    ``choose(*args)`` returns one of several jitted (``inline="always"``)
    implementations with the function's signature; numba calls it with the
    arguments' numba types, so a caller is compiled with the chosen
    implementation only (numba's ``@overload``).  Called from Python, the
    decorated function calls ``choose`` with the values themselves.  This
    keeps, e.g., the convolution code out of every dense kernel: a branch
    on a runtime value would compile both sides into each caller.
    """
    from numba.extending import overload

    def wrap(func):
        def typing(*types):
            return choose(*types).py_func

        # numba binds the argument types by the typing function's signature
        typing.__signature__ = inspect.signature(func)
        overload(func, jit_options=_OVERLOAD)(typing)
        _OVERLOADED.append(func)
        return func

    return wrap


def jit_parallel(func=None, **overrides):
    """Data-parallel kernel preset: :func:`jit` plus ``parallel=True``.

    Only for loops (``numba.prange``) where each iteration writes its own
    output; reductions use per-thread buffers.  Call it inside
    :func:`numba_threads` so ``n_jobs`` is honoured.
    """
    return _preset(_PARALLEL, func, **overrides)


# numba's "workqueue" threading layer aborts the process when two threads
# launch parallel regions at once.  OpenMP and TBB are thread-safe.  Until
# we know which layer was picked (it is chosen at the first parallel launch)
# and whenever it is workqueue, parallel sections are serialised by a lock.
_WORKQUEUE_LOCK = threading.RLock()


def _layer_is_threadsafe():
    try:
        return numba.threading_layer() in ("omp", "tbb")
    except ValueError:  # no parallel region has run yet
        return False


def _n_threads(n_jobs):
    n = effective_n_jobs(n_jobs)
    return max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))


@contextmanager
def numba_threads(n_jobs=None):
    """Run the enclosed numba parallel kernels on ``n_jobs`` threads.

    ``n_jobs`` follows joblib's convention (``None`` means 1 unless inside a
    :func:`joblib.parallel_config` context, ``-1`` means all cores).  The
    previous count is restored on exit.  numba's thread count is
    thread-local, so concurrent sections in different Python threads do not
    interfere.

    Yields
    ------
    n_threads : int
        The number of threads the section runs on.
    """
    n = _n_threads(n_jobs)
    previous = numba.get_num_threads()
    lock = None if _layer_is_threadsafe() else _WORKQUEUE_LOCK
    if lock is not None:
        lock.acquire()
    try:
        numba.set_num_threads(n)
        yield n
    finally:
        numba.set_num_threads(previous)
        if lock is not None:
            lock.release()


def as_kernel_array(a, dtype):
    """``a`` as a C-contiguous, writable array of ``dtype`` for a kernel.

    Copies only when the dtype or the layout differ.  A read-only array
    (a joblib memmap, say) of the right dtype and layout is not copied: the
    kernel gets a writable alias of the same memory, so it reuses the
    variant compiled for writable arrays.  Kernels never write their inputs,
    so the alias is never written through.
    """
    a = np.asarray(a)
    if a.dtype != dtype or not a.flags.c_contiguous:
        return np.ascontiguousarray(a, dtype=dtype)
    if a.flags.writeable or a.size == 0:
        return a if a.flags.writeable else a.copy()
    buf = (ctypes.c_char * a.nbytes).from_address(a.ctypes.data)
    buf._skreg_owner = a  # keep the memory alive as long as the alias
    return np.frombuffer(buf, dtype=a.dtype).reshape(a.shape)


def will_compile(dispatcher, args):
    """Whether calling ``dispatcher(*args)`` compiles: no variant for these
    argument types in memory or in the on-disk cache.  None if unknown."""
    try:
        sig = tuple(numba.typeof(a) for a in args)
        if sig in dispatcher.overloads:
            return False
        cache = getattr(dispatcher, "_cache", None)
        index = cache._cache_file._load_index()
        return not any(key[0] == sig for key in index)
    except Exception:  # numba internals differ between versions
        return None
