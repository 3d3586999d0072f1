"""Tour rows for adversarial training and the robustness metric: an
FGSM-trained network next to scikit-learn's MLPClassifier, scored by
accuracy under an FGSM attack of radius 0.15 (pixels in [0, 1])."""

import warnings

from skreg._tour import TourRow, timed

_HIDDEN = (100,)
_EPOCHS = 200
_EPS = 0.15
_FITTED = {}


def _models(data):
    """Both networks, fitted once per tour (JIT warmed on a few rows first)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

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

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours(1).fit(data.X_train[:50], data.y_train[:50])  # JIT warm-up
        a, a_s = timed(ours(_EPOCHS).fit, data.X_train, data.y_train)
        b, b_s = timed(theirs(_EPOCHS).fit, data.X_train, data.y_train)
    _FITTED.clear()
    _FITTED[id(data)] = (a, a_s, b, b_s)
    return _FITTED[id(data)]


def fgsm_accuracy_row(data):
    """FGSM accuracy at eps = 0.15 of the FGSM-trained net vs the plain one."""
    from skreg.metrics import adversarial_accuracy

    a, a_s, b, b_s = _models(data)
    score = [
        adversarial_accuracy(m, data.X_test, data.y_test, _EPS, clip=(0, 1))
        for m in (a, b)
    ]
    return TourRow(
        "AdversarialMLPClassifier",
        f"FGSM training eps {_EPS}, MLP {_HIDDEN}, {_EPOCHS} epochs",
        "MLPClassifier",
        f"FGSM accuracy eps {_EPS}",
        score[0],
        score[1],
        a_s,
        b_s,
    )


def clean_accuracy_row(data):
    """The price of robustness: clean test accuracy of the same two fits."""
    a, a_s, b, b_s = _models(data)
    return TourRow(
        "AdversarialMLPClassifier",
        f"FGSM training eps {_EPS} (same fit)",
        "MLPClassifier",
        "test accuracy",
        float(a.score(data.X_test, data.y_test)),
        float(b.score(data.X_test, data.y_test)),
        a_s,
        b_s,
    )


TOUR_ROWS = [fgsm_accuracy_row, clean_accuracy_row]
