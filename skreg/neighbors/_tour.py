"""Tour row for tangent distance: TangentDistanceKNN vs Euclidean 1-NN."""

from skreg._tour import TourRow, timed


def tangent_distance_knn_row(data):
    """1-NN under two-sided tangent distance vs scikit-learn's Euclidean 1-NN.

    Score: test accuracy.  Time: ``fit`` plus ``predict`` on the test set
    (for nearest neighbours the work is in ``predict``); the JIT warm-up is
    excluded.
    """
    from sklearn.neighbors import KNeighborsClassifier

    from skreg.neighbors import TangentDistanceKNN

    def run(make):
        make().fit(data.X_train[:20], data.y_train[:20]).predict(
            data.X_test[:2]
        )  # warm-up
        pred, seconds = timed(
            lambda: make().fit(data.X_train, data.y_train).predict(data.X_test)
        )
        return (pred == data.y_test).mean(), seconds

    ours, ours_s = run(
        lambda: TangentDistanceKNN(n_neighbors=1, image_shape=data.image_shape)
    )
    theirs, theirs_s = run(lambda: KNeighborsClassifier(n_neighbors=1))
    return TourRow(
        "TangentDistanceKNN",
        "1-NN, two-sided tangent distance (fit+predict s)",
        "KNeighborsClassifier(1)",
        "test accuracy",
        float(ours),
        float(theirs),
        ours_s,
        theirs_s,
    )


def tangent_distance_knn_cv_row(data):
    """The issue's evidence: 1-NN error on all of load_digits, 5-fold
    unshuffled ``KFold`` (pixels / 16), tangent distance vs Euclidean.

    Score: cross-validated accuracy (1 - error).  Time: all five fits and
    predictions.
    """
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import KFold
    from sklearn.neighbors import KNeighborsClassifier

    from skreg.neighbors import TangentDistanceKNN

    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    def run(make):
        def cv():
            pred = np.empty_like(y)
            for train, test in KFold(5).split(X):
                pred[test] = make().fit(X[train], y[train]).predict(X[test])
            return pred

        pred, seconds = timed(cv)
        return float(np.mean(pred == y)), seconds

    ours, ours_s = run(lambda: TangentDistanceKNN(n_neighbors=1))
    theirs, theirs_s = run(lambda: KNeighborsClassifier(n_neighbors=1))
    return TourRow(
        "TangentDistanceKNN",
        "same, 5-fold unshuffled CV on all digits",
        "KNeighborsClassifier(1)",
        "CV accuracy",
        ours,
        theirs,
        ours_s,
        theirs_s,
    )


TOUR_ROWS = [tangent_distance_knn_row, tangent_distance_knn_cv_row]
