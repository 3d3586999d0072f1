"""Tour row of skreg.ensemble: bagged MLPs vs scikit-learn's BaggingClassifier."""

import warnings

from sklearn.exceptions import ConvergenceWarning

from .._tour import TourRow, timed


def bagged_mlp(data):
    """5 members, hidden (64,), 40 epochs each (kept small for the tour)."""
    from sklearn.ensemble import BaggingClassifier
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from ..neural_network import MLPClassifier
    from ._bagging import BaggedMLPClassifier

    params = dict(hidden_layer_sizes=(64,), max_iter=40)
    ours = BaggedMLPClassifier(MLPClassifier(**params), n_estimators=5,
                               random_state=data.random_state)
    theirs = BaggingClassifier(SkMLPClassifier(**params), n_estimators=5,
                               random_state=data.random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, t_ours = timed(ours.fit, data.X_train, data.y_train)
        _, t_theirs = timed(theirs.fit, data.X_train, data.y_train)
    return TourRow(
        estimator="BaggedMLPClassifier",
        technique="bagging: 5 bootstrap MLP(64) x 40 epochs, soft vote "
        "(small for the tour)",
        baseline="BaggingClassifier(MLPClassifier)",
        metric="accuracy",
        score=float(ours.score(data.X_test, data.y_test)),
        baseline_score=float(theirs.score(data.X_test, data.y_test)),
        fit_time=t_ours,
        baseline_fit_time=t_theirs,
    )


TOUR_ROWS = [bagged_mlp]
