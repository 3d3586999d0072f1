"""Tour rows for tangent propagation and the manifold tangent classifier:
each fits on a small training subset of the tour split (20 digits per
class, where invariances matter most) next to scikit-learn's
MLPClassifier with the same architecture and epochs on the same subset."""

import warnings

import numpy as np

from skreg._tour import TourRow, timed

_HIDDEN = (64,)
_EPOCHS = 150
_PER_CLASS = 20


def _subset(data):
    rng = np.random.RandomState(data.random_state)
    y = data.y_train
    rows = np.concatenate(
        [
            rng.choice(np.where(y == c)[0], min(_PER_CLASS, int((y == c).sum())), False)
            for c in np.unique(y)
        ]
    )
    return data.X_train[rows], y[rows]


def _fit_score(make, data):
    """Warm the JIT on a few rows, then time a fit on the subset."""
    from sklearn.exceptions import ConvergenceWarning

    X, y = _subset(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        make(max_iter=1).fit(X[:40], y[:40])  # warm-up
        model, seconds = timed(make(max_iter=_EPOCHS).fit, X, y)
    return float(model.score(data.X_test, data.y_test)), seconds


def _baseline(data):
    from sklearn.neural_network import MLPClassifier

    return _fit_score(
        lambda max_iter: MLPClassifier(
            _HIDDEN, batch_size=32, max_iter=max_iter, random_state=data.random_state
        ),
        data,
    )


def tangent_prop_row(data):
    """TangentPropMLPClassifier with image tangents of the 8x8 digits."""
    from skreg.neural_network import TangentPropMLPClassifier

    ours, ours_s = _fit_score(
        lambda max_iter: TangentPropMLPClassifier(
            _HIDDEN,
            batch_size=32,
            max_iter=max_iter,
            image_shape=data.image_shape,
            random_state=data.random_state,
        ),
        data,
    )
    theirs, theirs_s = _baseline(data)
    return TourRow(
        "TangentPropMLPClassifier",
        f"tangent prop, 7 image tangents, {_PER_CLASS}/class",
        "MLPClassifier",
        "test accuracy",
        ours,
        theirs,
        ours_s,
        theirs_s,
    )


def manifold_tangent_row(data):
    """ManifoldTangentClassifier: CAE-learned tangents, then tangent prop."""
    from skreg.neural_network import ManifoldTangentClassifier

    ours, ours_s = _fit_score(
        lambda max_iter: ManifoldTangentClassifier(
            _HIDDEN,
            batch_size=32,
            max_iter=max_iter,
            random_state=data.random_state,
        ),
        data,
    )
    theirs, theirs_s = _baseline(data)
    return TourRow(
        "ManifoldTangentClassifier",
        f"CAE tangents + tangent prop, {_PER_CLASS}/class",
        "MLPClassifier",
        "test accuracy",
        ours,
        theirs,
        ours_s,
        theirs_s,
    )


TOUR_ROWS = [tangent_prop_row, manifold_tangent_row]
