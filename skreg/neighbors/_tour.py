"""Tour rows for tangent distance: TangentDistanceKNN vs Euclidean 1-NN."""

from skreg._tour import TourRow, compare

# The warm-up fits this many training digits and predicts a tenth as many:
# enough that the search takes the same paths as the timed step (candidate
# pruning by Euclidean distance needs more training rows than candidates).
_WARM_ROWS = 300


def _warm(make, X, y):
    n = min(_WARM_ROWS, len(X) - 1)
    return lambda: make().fit(X[:n], y[:n]).predict(X[n : n + max(1, n // 10)])


def tangent_distance_knn_row(data):
    """1-NN under two-sided tangent distance vs scikit-learn's Euclidean 1-NN.

    Score: test accuracy.  Timed: ``fit`` plus ``predict`` on the test set
    (for nearest neighbours the work is in ``predict``).
    """
    from sklearn.neighbors import KNeighborsClassifier

    from skreg.neighbors import TangentDistanceKNN

    def ours():
        return TangentDistanceKNN(n_neighbors=1, image_shape=data.image_shape)

    def theirs():
        return KNeighborsClassifier(n_neighbors=1)

    X, y = data.X_train, data.y_train
    a, b, timing = compare(
        lambda: ours().fit(X, y).predict(data.X_test),
        lambda: theirs().fit(X, y).predict(data.X_test),
        _warm(ours, X, y),
        _warm(theirs, X, y),
    )
    return TourRow(
        "TangentDistanceKNN", "accuracy", float((a == data.y_test).mean()),
        "KNN(1)", float((b == data.y_test).mean()), "fit+pred", timing,
        "1-NN under the two-sided tangent distance (Simard et al. 1993; 7 image "
        "tangents on each side) vs scikit-learn's Euclidean "
        "KNeighborsClassifier(n_neighbors=1); timed: fit and predict of the 360 "
        "test digits. Each tangent distance solves a small least-squares "
        "problem, far dearer than a Euclidean distance, so only each query's "
        "20 Euclidean nearest digits (n_candidates) are re-ranked by it.",
    )  # fmt: skip


def tangent_distance_knn_cv_row(data):
    """1-NN error on all of load_digits, 5-fold unshuffled ``KFold``
    (pixels / 16), tangent distance vs Euclidean.

    Score: cross-validated accuracy (1 - error).  Timed: all five fits and
    predictions.
    """
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import KFold
    from sklearn.neighbors import KNeighborsClassifier

    from skreg.neighbors import TangentDistanceKNN

    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    def cv(make):
        def run():
            pred = np.empty_like(y)
            for train, test in KFold(5).split(X):
                pred[test] = make().fit(X[train], y[train]).predict(X[test])
            return pred

        return run

    def ours():
        return TangentDistanceKNN(n_neighbors=1)

    def theirs():
        return KNeighborsClassifier(n_neighbors=1)

    a, b, timing = compare(cv(ours), cv(theirs), _warm(ours, X, y), _warm(theirs, X, y))
    return TourRow(
        "TangentDistanceKNN", "CV acc", float(np.mean(a == y)), "KNN(1)",
        float(np.mean(b == y)), "5 folds", timing,
        "The same comparison on all 1,797 digits by 5-fold unshuffled KFold "
        "(the image shape inferred as 8x8); score: cross-validated accuracy; "
        "timed: all five fits and predictions.",
    )  # fmt: skip


TOUR_ROWS = [tangent_distance_knn_row, tangent_distance_knn_cv_row]
