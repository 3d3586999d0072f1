"""Tour rows for the MLP engine: plain, dropout and fast-dropout networks
next to scikit-learn's MLPClassifier with the same architecture and epochs."""

import warnings

from skreg._tour import TourRow, timed

_HIDDEN = (256,)
_EPOCHS = 60


def _fit_score(make, data):
    """Warm the JIT on a few rows, then time a full fit; test accuracy."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        make(max_iter=1).fit(data.X_train[:50], data.y_train[:50])  # warm-up
        model, seconds = timed(make(max_iter=_EPOCHS).fit, data.X_train, data.y_train)
    return float(model.score(data.X_test, data.y_test)), seconds


_BASELINE = {}


def _sklearn_baseline(data):
    """scikit-learn's MLPClassifier on the same split (fitted once per tour)."""
    from sklearn.neural_network import MLPClassifier

    if id(data) not in _BASELINE:
        _BASELINE.clear()
        _BASELINE[id(data)] = _fit_score(
            lambda max_iter: MLPClassifier(
                _HIDDEN, max_iter=max_iter, random_state=data.random_state
            ),
            data,
        )
    return _BASELINE[id(data)]


def mlp_row(data):
    """skreg's plain MLPClassifier (the engine, no regularizer beyond L2)."""
    from skreg.neural_network import MLPClassifier

    ours, ours_s = _fit_score(
        lambda max_iter: MLPClassifier(
            _HIDDEN, max_iter=max_iter, random_state=data.random_state
        ),
        data,
    )
    theirs, theirs_s = _sklearn_baseline(data)
    return TourRow(
        "MLPClassifier",
        f"plain MLP {_HIDDEN}, adam, {_EPOCHS} epochs",
        "MLPClassifier",
        "test accuracy",
        ours,
        theirs,
        ours_s,
        theirs_s,
    )


def dropout_rows(data):
    """Dropout (Bernoulli masks, weight scaling) and fast dropout."""
    from skreg.neural_network import DropoutMLPClassifier

    theirs, theirs_s = _sklearn_baseline(data)
    rows = []
    for method, label in (("bernoulli", "dropout 0.2/0.5"), ("fast", "fast dropout")):
        ours, ours_s = _fit_score(
            lambda max_iter, method=method: DropoutMLPClassifier(
                _HIDDEN,
                dropout_method=method,
                max_iter=max_iter,
                random_state=data.random_state,
            ),
            data,
        )
        rows.append(
            TourRow(
                "DropoutMLPClassifier",
                f"{label}, max-norm 3, {_EPOCHS} epochs",
                "MLPClassifier",
                "test accuracy",
                ours,
                theirs,
                ours_s,
                theirs_s,
            )
        )
    return rows


# Tangent propagation rows train on a small subset, so they live apart.
from ._tour_tangent import TOUR_ROWS as _TANGENT_ROWS  # noqa: E402

TOUR_ROWS = [mlp_row, dropout_rows, *_TANGENT_ROWS]
