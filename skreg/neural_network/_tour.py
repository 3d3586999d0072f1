"""Tour rows for the MLP engine and its thin estimators.

Plain, dropout and fast-dropout networks train on the whole tour split;
tangent propagation and the manifold tangent classifier train on a small
subset (20 digits per class, where invariances matter most).  Each row sits
next to scikit-learn's MLPClassifier with the same architecture, epochs and
training rows; each baseline is fitted once per tour.
"""

import warnings

import numpy as np

from skreg._tour import TourRow, timed

_HIDDEN, _EPOCHS = (256,), 60  # full split
_SMALL_HIDDEN, _SMALL_EPOCHS, _PER_CLASS = (64,), 150, 20  # tangent rows


def _small_subset(data):
    rng = np.random.RandomState(data.random_state)
    y = data.y_train
    rows = np.concatenate(
        [
            rng.choice(np.where(y == c)[0], min(_PER_CLASS, int((y == c).sum())), False)
            for c in np.unique(y)
        ]
    )
    return data.X_train[rows], y[rows]


def _fit_score(make, data, small=False):
    """Warm the JIT on a few rows, then time one fit; test accuracy.

    ``make(max_iter)`` builds the model; ``small`` trains on the subset.
    """
    from sklearn.exceptions import ConvergenceWarning

    X, y = _small_subset(data) if small else (data.X_train, data.y_train)
    epochs = _SMALL_EPOCHS if small else _EPOCHS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        make(max_iter=1).fit(X[:40], y[:40])  # warm-up
        model, seconds = timed(make(max_iter=epochs).fit, X, y)
    return float(model.score(data.X_test, data.y_test)), seconds


_BASELINES = {}


def _sklearn_baseline(data, small=False):
    """scikit-learn's MLPClassifier on the same rows (fitted once per tour)."""
    from sklearn.neural_network import MLPClassifier

    key = (id(data), small)
    if key not in _BASELINES:
        params = dict(batch_size=32) if small else {}
        hidden = _SMALL_HIDDEN if small else _HIDDEN
        _BASELINES[key] = _fit_score(
            lambda max_iter: MLPClassifier(
                hidden, max_iter=max_iter, random_state=data.random_state, **params
            ),
            data,
            small,
        )
    return _BASELINES[key]


def _row(estimator, technique, data, ours, small=False):
    theirs, theirs_s = _sklearn_baseline(data, small)
    return TourRow(
        estimator,
        technique,
        "MLPClassifier",
        "test accuracy",
        ours[0],
        theirs,
        ours[1],
        theirs_s,
    )


def mlp_row(data):
    """skreg's plain MLPClassifier (the engine, no regularizer beyond L2)."""
    from skreg.neural_network import MLPClassifier

    ours = _fit_score(
        lambda max_iter: MLPClassifier(
            _HIDDEN, max_iter=max_iter, random_state=data.random_state
        ),
        data,
    )
    return _row(
        "MLPClassifier", f"plain MLP {_HIDDEN}, adam, {_EPOCHS} epochs", data, ours
    )


def dropout_rows(data):
    """Dropout (Bernoulli masks, weight scaling) and fast dropout."""
    from skreg.neural_network import DropoutMLPClassifier

    rows = []
    for method, label in (("bernoulli", "dropout 0.2/0.5"), ("fast", "fast dropout")):
        ours = _fit_score(
            lambda max_iter, method=method: DropoutMLPClassifier(
                _HIDDEN,
                dropout_method=method,
                max_iter=max_iter,
                random_state=data.random_state,
            ),
            data,
        )
        rows.append(
            _row(
                "DropoutMLPClassifier",
                f"{label}, max-norm 3, {_EPOCHS} epochs",
                data,
                ours,
            )
        )
    return rows


def tangent_prop_row(data):
    """TangentPropMLPClassifier with image tangents of the 8x8 digits."""
    from skreg.neural_network import TangentPropMLPClassifier

    ours = _fit_score(
        lambda max_iter: TangentPropMLPClassifier(
            _SMALL_HIDDEN,
            batch_size=32,
            max_iter=max_iter,
            image_shape=data.image_shape,
            random_state=data.random_state,
        ),
        data,
        small=True,
    )
    return _row(
        "TangentPropMLPClassifier",
        f"tangent prop, 7 image tangents, {_PER_CLASS}/class",
        data,
        ours,
        small=True,
    )


def manifold_tangent_row(data):
    """ManifoldTangentClassifier: CAE-learned tangents, then tangent prop."""
    from skreg.neural_network import ManifoldTangentClassifier

    ours = _fit_score(
        lambda max_iter: ManifoldTangentClassifier(
            _SMALL_HIDDEN,
            batch_size=32,
            max_iter=max_iter,
            random_state=data.random_state,
        ),
        data,
        small=True,
    )
    return _row(
        "ManifoldTangentClassifier",
        f"CAE tangents + tangent prop, {_PER_CLASS}/class",
        data,
        ours,
        small=True,
    )


TOUR_ROWS = [mlp_row, dropout_rows, tangent_prop_row, manifold_tangent_row]
