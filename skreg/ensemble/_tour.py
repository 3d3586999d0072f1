"""Tour row of skreg.ensemble: bagged MLPs vs scikit-learn's BaggingClassifier."""

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


TOUR_ROWS = [bagged_mlp]
