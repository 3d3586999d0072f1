"""The tour: every skreg estimator next to the scikit-learn baseline it improves on.

``python -m skreg`` loads scikit-learn's built-in digits (1,797 8x8 images),
runs every row that the subpackages contribute, and prints one table.

Each subpackage may define a private ``_tour.py`` with ``TOUR_ROWS``: a list
of callables ``row(data) -> TourRow``.  The tour discovers them, so adding an
estimator's row touches only its own subpackage.  Rows must stay small: the
whole tour has to finish in under two minutes on two cores.
"""

import argparse
import importlib
import sys
import time
import traceback
from dataclasses import dataclass

import numpy as np

_SUBPACKAGES = ("decomposition", "neural_network", "ensemble", "neighbors", "metrics")


@dataclass(frozen=True)
class TourData:
    """Digits split once for every row (80/20, stratified, fixed seed).

    ``X_*`` are pixel intensities scaled to [0, 1] (float64); ``images_*``
    the same as (n, 8, 8); ``image_shape`` is (8, 8).
    """

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    image_shape: tuple
    random_state: int


@dataclass(frozen=True)
class TourRow:
    """One line of the tour table."""

    estimator: str
    technique: str
    baseline: str
    metric: str
    score: float
    baseline_score: float
    fit_time: float
    baseline_fit_time: float


def timed(func, *args, **kwargs):
    """Return ``(result, seconds)`` of one call."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


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


def format_table(rows):
    """Render tour rows as a fixed-width text table."""
    header = (
        "estimator",
        "technique",
        "baseline",
        "metric",
        "skreg",
        "baseline",
        "fit s",
        "base fit s",
    )
    body = [
        (
            r.estimator,
            r.technique,
            r.baseline,
            r.metric,
            f"{r.score:.4f}",
            f"{r.baseline_score:.4f}",
            f"{r.fit_time:.2f}",
            f"{r.baseline_fit_time:.2f}",
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body, strict=True)]
    line = "  ".join("-" * w for w in widths)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), line]
    out += [fmt.format(*b) for b in body]
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
    print(
        f"skreg {__version__} tour on load_digits: {len(data.y_train)} train / "
        f"{len(data.y_test)} test images, pixels scaled to [0, 1]\n",
        flush=True,
    )
    rows, failed = [], 0
    for row_fn in collect_rows():
        if args.only and args.only not in row_fn.__name__:
            continue
        try:
            result = row_fn(data)
        except Exception:  # a broken row must not hide the others
            failed += 1
            print(f"row {row_fn.__name__} failed:", file=sys.stderr)
            traceback.print_exc()
            continue
        rows.extend(result if isinstance(result, list) else [result])
        print(f"  done: {rows[-1].estimator} ({rows[-1].technique})", flush=True)
    print()
    print(format_table(rows))
    print(f"\ntotal {time.perf_counter() - start:.1f} s")
    return 1 if failed else 0
