"""Tour rows of skreg.ensemble: bagged MLPs vs scikit-learn's BaggingClassifier
and BaggingRegressor."""

import warnings

from sklearn.exceptions import ConvergenceWarning

from .._tour import TourRow, compare

_MEMBERS, _HIDDEN, _EPOCHS = 5, (64,), 40


def bagged_mlp(data):
    """5 members, hidden (64,), 40 epochs each (kept small for the tour)."""
    from sklearn.ensemble import BaggingClassifier
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from ..neural_network import MLPClassifier
    from ._bagging import BaggedMLPClassifier

    def ours(max_iter):
        member = MLPClassifier(hidden_layer_sizes=_HIDDEN, max_iter=max_iter)
        return BaggedMLPClassifier(
            member, n_estimators=_MEMBERS, random_state=data.random_state
        )

    def theirs(max_iter):
        member = SkMLPClassifier(hidden_layer_sizes=_HIDDEN, max_iter=max_iter)
        return BaggingClassifier(
            member, n_estimators=_MEMBERS, random_state=data.random_state
        )

    X, y = data.X_train, data.y_train
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, b, timing = compare(
            lambda: ours(_EPOCHS).fit(X, y),
            lambda: theirs(_EPOCHS).fit(X, y),
            lambda: ours(2).fit(X[:60], y[:60]).score(X, y),
            lambda: theirs(2).fit(X[:60], y[:60]).score(X, y),
        )
    return TourRow(
        "BaggedMLPClassifier", "accuracy", float(a.score(data.X_test, data.y_test)),
        "Bagging(MLP)", float(b.score(data.X_test, data.y_test)), "fit", timing,
        f"Bagging (book section 7.11): {_MEMBERS} bootstrap members, each "
        f"MLP({_HIDDEN[0]}) for {_EPOCHS} epochs, soft vote, vs scikit-learn's "
        "BaggingClassifier of its MLPClassifier, both on one job; skreg "
        "trains each member on its bootstrap's distinct rows, weighted by "
        "multiplicity (about 63% of the rows per epoch). Small for the "
        "tour: members and epochs are far below what a real ensemble uses.",
    )  # fmt: skip


_REG_MEMBERS, _REG_HIDDEN, _REG_EPOCHS = 10, (64,), 200


def bagged_mlp_regressor(data):
    """10 members on load_diabetes; eq. 7.50 measured on the test split."""
    from sklearn.ensemble import BaggingRegressor
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    from ..neural_network import MLPRegressor
    from ..neural_network._tour import _diabetes
    from ._regressor import BaggedMLPRegressor

    X, X_te, y, y_te = _diabetes(data.random_state)
    # batches of 100 rows: scikit-learn gives out-of-bag rows weight 0,
    # and its MLPRegressor fails on a minibatch of weight 0
    member = dict(hidden_layer_sizes=_REG_HIDDEN, alpha=1.0, batch_size=100)

    def ours(max_iter):
        return BaggedMLPRegressor(
            MLPRegressor(max_iter=max_iter, **member), n_estimators=_REG_MEMBERS,
            random_state=data.random_state,
        )  # fmt: skip

    def theirs(max_iter):
        return BaggingRegressor(
            SkMLPRegressor(max_iter=max_iter, **member), n_estimators=_REG_MEMBERS,
            random_state=data.random_state,
        )  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, b, timing = compare(
            lambda: ours(_REG_EPOCHS).fit(X, y),
            lambda: theirs(_REG_EPOCHS).fit(X, y),
            lambda: ours(2).fit(X[:150], y[:150]).error_decomposition(X_te, y_te),
            lambda: theirs(2).fit(X[:150], y[:150]).score(X, y),
        )
    d = a.error_decomposition(X_te, y_te)
    return TourRow(
        "BaggedMLPRegressor", "R²", float(a.score(X_te, y_te)), "Bagging(MLP)",
        float(b.score(X_te, y_te)), "fit", timing,
        f"Bagging regressors on load_diabetes (standardised): {_REG_MEMBERS} "
        f"bootstrap members, each MLP({_REG_HIDDEN[0]}), alpha 1, batch 100, "
        f"{_REG_EPOCHS} epochs, vs scikit-learn's BaggingRegressor of its "
        "MLPRegressor. Eq. 7.50 on the test split (error_decomposition): the "
        f"members' mean squared error v = {d.v:.3f} and mean error covariance "
        f"c = {d.c:.3f} give v/k + (k-1)c/k = {d.eq4:.4f}, the ensemble's "
        f"MSE {d.ensemble_error:.4f}: averaging removes the (v - c)/k part.",
    )  # fmt: skip


TOUR_ROWS = [bagged_mlp, bagged_mlp_regressor]
