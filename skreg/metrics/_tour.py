"""Tour rows for adversarial training and the robustness metric: an
FGSM-trained network next to scikit-learn's MLPClassifier, scored by
accuracy under an FGSM attack of radius 0.15 (pixels in [0, 1])."""

import warnings

from skreg._tour import TourRow, compare

_HIDDEN = (100,)
_EPOCHS = 200
_EPS = 0.15
_FITTED = {}


def _models(data):
    """Both networks, fitted once per tour and timed by :func:`compare`."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from skreg.metrics import adversarial_accuracy
    from skreg.neural_network import AdversarialMLPClassifier

    if id(data) in _FITTED:
        return _FITTED[id(data)]

    def ours(max_iter):
        return AdversarialMLPClassifier(
            _HIDDEN,
            adversarial_epsilon=_EPS,
            clip=(0, 1),
            max_iter=max_iter,
            random_state=data.random_state,
        )

    def theirs(max_iter):
        return MLPClassifier(_HIDDEN, max_iter=max_iter, random_state=data.random_state)

    X, y = data.X_train, data.y_train

    def warm_ours():
        model = ours(2).fit(X[:50], y[:50])
        adversarial_accuracy(model, X[:20], y[:20], _EPS, clip=(0, 1))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, b, timing = compare(
            lambda: ours(_EPOCHS).fit(X, y),
            lambda: theirs(_EPOCHS).fit(X, y),
            warm_ours,
            lambda: theirs(2).fit(X[:50], y[:50]).score(X, y),
        )
    _FITTED.clear()
    _FITTED[id(data)] = (a, b, timing)
    return _FITTED[id(data)]


_SETUP = (
    f"FGSM adversarial training (eps {_EPS}, inputs clipped to [0, 1]), "
    f"MLP{_HIDDEN}, adam, {_EPOCHS} epochs, vs the same net trained plainly"
)


def fgsm_accuracy_row(data):
    """FGSM accuracy at eps = 0.15 of the FGSM-trained net vs the plain one."""
    from skreg.metrics import adversarial_accuracy

    a, b, timing = _models(data)
    score = [
        adversarial_accuracy(m, data.X_test, data.y_test, _EPS, clip=(0, 1))
        for m in (a, b)
    ]
    return TourRow(
        "AdversarialMLPClassifier", "FGSM acc", score[0], "MLP(100)", score[1],
        "fit", timing,
        f"{_SETUP}; score: skreg.metrics.adversarial_accuracy, the accuracy on "
        f"test digits each moved by an FGSM step of {_EPS} against the scored "
        "model itself. Each step trains on clean and perturbed digits, so a fit "
        "costs about two plain ones.",
    )  # fmt: skip


def clean_accuracy_row(data):
    """The price of robustness: clean test accuracy of the same two fits."""
    a, b, timing = _models(data)
    ours = float(a.score(data.X_test, data.y_test))
    theirs = float(b.score(data.X_test, data.y_test))
    price = (
        f"here it costs {theirs - ours:.2%} of the test digits"
        if ours < theirs
        else "here it costs nothing"
    )
    return TourRow(
        "AdversarialMLPClassifier", "accuracy", ours, "MLP(100)", theirs, "fit",
        timing,
        "The same two fits, on the clean test digits. Robustness can cost clean "
        "accuracy: the adversarial objective spends capacity on digits moved "
        f"by {_EPS}, pushing decision boundaries away from the training "
        f"digits; {price}.",
    )  # fmt: skip


TOUR_ROWS = [fgsm_accuracy_row, clean_accuracy_row]
