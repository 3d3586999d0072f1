"""The tour: every skreg estimator next to the scikit-learn baseline it improves on.

``python -m skreg`` loads scikit-learn's built-in digits (1,797 8x8 images),
runs every row that the subpackages contribute, and prints one table of at
most 100 columns, with a legend and one numbered note per row below it.

Each subpackage may define a private ``_tour.py`` with ``TOUR_ROWS``: a list
of callables ``row(data) -> TourRow`` (or a list of them).  The tour
discovers them, so adding an estimator's row touches only its own
subpackage.  Rows must stay small: the whole tour has to finish in
about two and a half minutes on two cores, numba's compilation included
(136 s cold on a quiet machine with the convolutional row, whose first
fit compiles the engine for convolutional networks: 23 s).

How rows are timed
------------------
Both sides the same way (:func:`compare`): one untimed warm-up call of the
same code on a few rows, then the timed step, repeated (interleaved, skreg
then scikit-learn) while the pair is short, keeping each side's fastest run,
as :mod:`timeit` does, so that a busy moment on a shared machine does not
decide the row.  skreg's warm-up is where numba compiles its kernels (or
loads them from the on-disk cache): its wall time is the JIT column, and
the tour checks that the timed step itself loaded no new kernel variant.
"""

import argparse
import importlib
import textwrap
import time
import traceback
from dataclasses import dataclass

import numpy as np

_SUBPACKAGES = ("decomposition", "neural_network", "ensemble", "neighbors", "metrics")

#: the table and notes never exceed this many columns
WIDTH = 100

# Timing policy (see the module docstring): further interleaved pairs only
# while a pair is short, and never beyond this many seconds per row.
_REPEAT_BUDGET = 1.0
_MAX_PAIRS = 3


@dataclass(frozen=True)
class TourData:
    """Digits split once for every row (80/20, stratified, fixed seed).

    ``X_*`` are pixel intensities scaled to [0, 1] (float64), one row per
    image; ``image_shape`` is (8, 8).
    """

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    image_shape: tuple
    random_state: int


@dataclass(frozen=True)
class Timing:
    """Seconds of one comparison, timed by :func:`compare`.

    ``ours`` and ``theirs`` are the fastest timed runs of the step;
    ``jit`` is skreg's warm-up (compilation or cache load); ``repeats``
    the number of timed runs per side; ``compiled`` whether a timed skreg
    run still loaded a kernel variant (then its time includes JIT).
    """

    ours: float
    theirs: float
    jit: float
    repeats: int = 1
    compiled: bool = False


@dataclass(frozen=True)
class TourRow:
    """One line of the tour table, and its note.

    Parameters
    ----------
    estimator : str
        The skreg estimator.
    metric : str
        Short name of the score (at most 9 characters); the note says more.
    score, baseline_score : float
        skreg's and the baseline's score.
    baseline : str
        Short name of the scikit-learn baseline (at most 13 characters),
        distinct for distinct baselines, e.g. ``"MLP(256)"``.
    step : str
        What the times cover: ``"fit"``, ``"transform"``, ``"fit+pred"``,
        ``"5 folds"``.
    timing : Timing
        Seconds from :func:`compare`.
    note : str
        The configuration, the baseline's, and why a row that trades
        accuracy does so.
    lower_is_better : bool, default=False
        For error metrics.
    """

    estimator: str
    metric: str
    score: float
    baseline: str
    baseline_score: float
    step: str
    timing: Timing
    note: str
    lower_is_better: bool = False


def progress(message):
    """Say what a row does next, on the row's progress line."""
    print(f" {message}", end="", flush=True)


def _timed(func):
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def compare(ours, theirs, warm_ours, warm_theirs=None):
    """Time skreg's and the baseline's step the same way.

    Parameters
    ----------
    ours, theirs : callable
        The timed step of each side, without arguments; each returns its
        result (a fitted model, predictions...).
    warm_ours, warm_theirs : callable
        The same code on a few rows, untimed for the baseline; skreg's is
        timed as the JIT column.  It must reach every kernel the step uses.

    Returns
    -------
    ours_result, theirs_result, timing : object, object, Timing
    """
    from .utils._numba import loaded_variants

    progress("warm-up...")
    _, jit = _timed(warm_ours)
    if warm_theirs is not None:
        warm_theirs()
    before = loaded_variants()
    best_ours = best_theirs = np.inf
    pairs, spent = 0, 0.0
    while True:
        if pairs == 0:
            progress("skreg...")
        a, t_ours = _timed(ours)
        if pairs == 0:
            progress("sklearn...")
        b, t_theirs = _timed(theirs)
        best_ours, best_theirs = min(best_ours, t_ours), min(best_theirs, t_theirs)
        pairs += 1
        spent += t_ours + t_theirs
        # another pair only if it fits in the budget (pairs take alike)
        if pairs == _MAX_PAIRS or spent * (pairs + 1) / pairs > _REPEAT_BUDGET:
            break
    compiled = loaded_variants() != before
    return a, b, Timing(best_ours, best_theirs, jit, pairs, compiled)


def load_tour_data(random_state=0):
    """Digits scaled to [0, 1], split 80/20 stratified."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=random_state
    )
    return TourData(X_train, X_test, y_train, y_test, (8, 8), random_state)


def per_class_subset(data, per_class, random_state=None):
    """Indices of ``per_class`` training digits of each class."""
    rng = np.random.RandomState(
        data.random_state if random_state is None else random_state
    )
    y = data.y_train
    return np.concatenate(
        [
            rng.choice(np.where(y == c)[0], min(per_class, int((y == c).sum())), False)
            for c in np.unique(y)
        ]
    )


def collect_rows():
    """All tour rows contributed by the subpackages, in subpackage order."""
    rows = []
    for sub in _SUBPACKAGES:
        try:
            module = importlib.import_module(f"skreg.{sub}._tour")
        except ModuleNotFoundError as exc:
            if exc.name != f"skreg.{sub}._tour":
                raise
            continue
        rows.extend(module.TOUR_ROWS)
    return rows


_HEADER = (
    "#", "estimator", "metric", "baseline", "skreg", "base", "timed", "skreg s",
    "base s", "JIT s",
)  # fmt: skip
_RIGHT = {0, 4, 5, 7, 8, 9}

LEGEND = (
    "skreg / base: skreg's and the scikit-learn baseline's score on the held-"
    "out rows: the 360 test digits, or the test split its note names (higher "
    "is better{lower}). "
    "skreg s / base s: wall seconds of the step in 'timed', the fastest of up "
    f"to {_MAX_PAIRS} interleaved runs per side, each side warmed up first "
    "by the same code on a few rows. JIT s: skreg's warm-up, where numba "
    "compiles its kernels (or loads them from its cache); it is not in "
    "skreg s. MLP(h): scikit-learn's MLPClassifier(hidden_layer_sizes=h), or "
    "its MLPRegressor in a regressor's row."
)


def _cells(i, r):
    t = r.timing

    def seconds(x):
        return f"{x:.3f}" if x < 0.1 else f"{x:.2f}"

    star = "*" if t.compiled else ""
    return (
        str(i), r.estimator, r.metric, r.baseline, f"{r.score:.4f}",
        f"{r.baseline_score:.4f}", r.step, seconds(t.ours) + star,
        seconds(t.theirs), f"{t.jit:.1f}",
    )  # fmt: skip


def _wrap(text, prefix=""):
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=prefix,
        subsequent_indent=" " * len(prefix),
        break_on_hyphens=False,
    )


def format_table(rows):
    """Render tour rows as a table of at most :data:`WIDTH` columns, then the
    legend and one note per row."""
    body = [_cells(i, r) for i, r in enumerate(rows, 1)]
    widths = [max(len(c) for c in col) for col in zip(_HEADER, *body, strict=True)]

    def line(cells):
        return " ".join(
            c.rjust(w) if j in _RIGHT else c.ljust(w)
            for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(_HEADER), " ".join("-" * w for w in widths)]
    out += [line(b) for b in body]
    lower = sorted({r.metric for r in rows if r.lower_is_better})
    legend = LEGEND.format(lower=f", except {', '.join(lower)}" if lower else "")
    out += [""] + _wrap(legend)
    if any(r.timing.compiled for r in rows):
        out += _wrap(
            "*: the timed skreg step still loaded kernels its warm-up had not "
            "(its time includes JIT)."
        )
    out.append("")
    for i, r in enumerate(rows, 1):
        prefix = f"[{i}] "
        out += _wrap(r.note, prefix)
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skreg",
        description="Fit every skreg estimator on scikit-learn's digits next to "
        "its scikit-learn baseline and print a comparison table.",
    )
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "-k",
        dest="only",
        default=None,
        help="only rows whose function name contains this",
    )
    args = parser.parse_args(argv)

    from . import __version__

    start = time.perf_counter()
    data = load_tour_data(args.random_state)
    intro = (
        f"skreg {__version__} tour on load_digits: {len(data.y_train)} train / "
        f"{len(data.y_test)} test images, pixels scaled to [0, 1] (the "
        "regression rows: load_diabetes and a 1-D curve). The first run "
        "compiles numba kernels (about 90 s, in the JIT column); later runs "
        "load them from the cache."
    )
    print("\n".join(_wrap(intro)) + "\n", flush=True)
    row_fns = [fn for fn in collect_rows() if not args.only or args.only in fn.__name__]
    rows, failed = [], 0
    for i, row_fn in enumerate(row_fns, 1):
        print(f"[{i}/{len(row_fns)}] {row_fn.__name__}:", end="", flush=True)
        row_start = time.perf_counter()
        try:
            result = row_fn(data)
        except Exception:  # a broken row must not hide the others
            failed += 1
            print(" failed", flush=True)
            traceback.print_exc()
            continue
        rows.extend(result if isinstance(result, list) else [result])
        print(f" done ({time.perf_counter() - row_start:.1f} s)", flush=True)
    print()
    print(format_table(rows))
    print(f"\ntotal {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0
