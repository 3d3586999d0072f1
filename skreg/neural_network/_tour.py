"""Tour rows for the MLP engine and its thin estimators.

Plain, dropout and fast-dropout networks train on the whole tour split;
tangent propagation and the manifold tangent classifier on 20 digits per
class, where built-in invariances matter most; VAT on 10 labelled digits
per class plus the rest of the split without labels.  Each row sits next to
scikit-learn's MLPClassifier with the same architecture, epochs, batch size
and labelled rows.
"""

import warnings

from skreg._tour import TourRow, compare, per_class_subset

_HIDDEN, _EPOCHS = (256,), 60  # full split
_SMALL_HIDDEN, _SMALL_EPOCHS, _PER_CLASS = (64,), 150, 20  # tangent rows
_VAT_HIDDEN, _VAT_EPOCHS, _VAT_PER_CLASS, _VAT_BATCH = (256, 128), 100, 10, 64


def _mlp(hidden):
    return f"MLP({','.join(str(h) for h in hidden)})"


def _fit_pair(make_ours, make_theirs, X, y, epochs, warm_rows=40):
    """Fit skreg's and scikit-learn's net on the same rows, timed by
    :func:`compare`; ``make_*(max_iter)`` builds each model, and the
    warm-up fits it for 2 epochs on ``warm_rows`` rows (2 epochs reach the
    per-epoch paths: validation, convergence check)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return compare(
            lambda: make_ours(epochs).fit(X, y),
            lambda: make_theirs(epochs).fit(X, y),
            lambda: make_ours(2).fit(X[:warm_rows], y[:warm_rows]).score(X, y),
            lambda: make_theirs(2).fit(X[:warm_rows], y[:warm_rows]).score(X, y),
        )


def _sklearn(hidden, data, **params):
    from sklearn.neural_network import MLPClassifier

    return lambda max_iter: MLPClassifier(
        hidden, max_iter=max_iter, random_state=data.random_state, **params
    )


def _scores(data, a, b):
    return float(a.score(data.X_test, data.y_test)), float(
        b.score(data.X_test, data.y_test)
    )


def mlp_row(data):
    """skreg's plain MLPClassifier (the engine, no regularizer beyond L2)."""
    from skreg.neural_network import MLPClassifier

    a, b, timing = _fit_pair(
        lambda max_iter: MLPClassifier(
            _HIDDEN, max_iter=max_iter, random_state=data.random_state
        ),
        _sklearn(_HIDDEN, data),
        data.X_train,
        data.y_train,
        _EPOCHS,
    )
    score, base = _scores(data, a, b)
    return TourRow(
        "MLPClassifier", "accuracy", score, _mlp(_HIDDEN), base, "fit", timing,
        f"The engine alone: MLP{_HIDDEN}, adam, batch 200, alpha 1e-4, "
        f"{_EPOCHS} epochs on all 1,437 training digits, the same random_state "
        "on both sides; skreg's training run equals scikit-learn's to rounding, "
        "so the row is about speed.",
    )  # fmt: skip


def dropout_rows(data):
    """Dropout (Bernoulli masks, weight scaling) and fast dropout."""
    from skreg.neural_network import DropoutMLPClassifier

    def note(method, score, base):
        if method == "fast":
            return (
                "Fast dropout (Wang & Manning 2013): the same rates, with the "
                "Gaussian approximation of the masks' effect instead of sampled "
                "masks, so each step is deterministic and trains on the average "
                "over masks; dearer per epoch (a variance pass through every "
                f"layer), and {'already ahead of' if score > base else 'level with'}"
                f" the plain net after its {_EPOCHS} epochs."
            )
        trade = (
            "It trades accuracy here: digits give a net this size little to "
            "overfit, so the masks' noise costs more than it saves (with 150 "
            "or 300 epochs it still trails, 0.969 vs 0.978 and 0.981)."
            if score < base
            else "It does not cost accuracy here."
        )
        return (
            "Bernoulli dropout (input 0.2, hidden 0.5), max-norm 3, weight-scaling "
            f"inference, MLP{_HIDDEN}, {_EPOCHS} epochs, vs the same plain net. "
            f"{trade} What it buys is a net that cannot rely on any one unit, "
            "and Monte Carlo predictions over masks (inference='mc_arithmetic', "
            "predict_proba_samples) for uncertainty."
        )

    rows = []
    for method in ("bernoulli", "fast"):
        a, b, timing = _fit_pair(
            lambda max_iter, method=method: DropoutMLPClassifier(
                _HIDDEN,
                dropout_method=method,
                max_iter=max_iter,
                random_state=data.random_state,
            ),
            _sklearn(_HIDDEN, data),
            data.X_train,
            data.y_train,
            _EPOCHS,
        )
        score, base = _scores(data, a, b)
        rows.append(
            TourRow(
                "DropoutMLPClassifier",
                "accuracy",
                score,
                _mlp(_HIDDEN),
                base,
                "fit",
                timing,
                note(method, score, base),
            )  # fmt: skip
        )
    return rows


def _few_labels_row(data, cls, note, **params):
    """``cls`` and scikit-learn's MLP(64) on 20 training digits per class."""
    rows = per_class_subset(data, _PER_CLASS)
    a, b, timing = _fit_pair(
        lambda max_iter: cls(
            _SMALL_HIDDEN,
            batch_size=32,
            max_iter=max_iter,
            random_state=data.random_state,
            **params,
        ),
        _sklearn(_SMALL_HIDDEN, data, batch_size=32),
        data.X_train[rows],
        data.y_train[rows],
        _SMALL_EPOCHS,
    )
    score, base = _scores(data, a, b)
    return TourRow(
        cls.__name__, "accuracy", score, _mlp(_SMALL_HIDDEN), base, "fit", timing,
        f"{note}, MLP{_SMALL_HIDDEN}, batch 32, {_SMALL_EPOCHS} epochs; both "
        "trained on 20 digits per class (200 rows), where invariances that the "
        "labels cannot teach matter most.",
    )  # fmt: skip


def tangent_prop_row(data):
    """TangentPropMLPClassifier with image tangents of the 8x8 digits."""
    from skreg.neural_network import TangentPropMLPClassifier

    return _few_labels_row(
        data,
        TangentPropMLPClassifier,
        "Tangent propagation with 7 image tangents per digit (2 shifts, "
        "rotation, scaling, 2 hyperbolic, thickening)",
        image_shape=data.image_shape,
    )


def manifold_tangent_row(data):
    """ManifoldTangentClassifier: CAE-learned tangents, then tangent prop."""
    from skreg.neural_network import ManifoldTangentClassifier

    return _few_labels_row(
        data,
        ManifoldTangentClassifier,
        "Manifold tangent classifier: a contractive autoencoder learns the "
        "digits' tangent directions (no image prior), then tangent propagation "
        "trains on them; the time includes the autoencoder",
    )


def vat_row(data):
    """Virtual adversarial training on 10 labelled digits per class."""
    import numpy as np

    from skreg.neural_network import AdversarialMLPClassifier

    labelled = per_class_subset(data, _VAT_PER_CLASS)
    y_semi = np.full_like(data.y_train, -1)
    y_semi[labelled] = data.y_train[labelled]
    X_lab, y_lab = data.X_train[labelled], data.y_train[labelled]
    # the warm-up keeps a few unlabeled rows beside the labelled ones
    warm = np.concatenate([labelled[:30], np.setdiff1d(np.arange(80), labelled)])

    def ours(max_iter):
        return AdversarialMLPClassifier(
            _VAT_HIDDEN, method="vat", batch_size=_VAT_BATCH, max_iter=max_iter,
            random_state=data.random_state,
        )  # fmt: skip

    theirs = _sklearn(_VAT_HIDDEN, data, batch_size=_VAT_BATCH)
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, b, timing = compare(
            lambda: ours(_VAT_EPOCHS).fit(data.X_train, y_semi),
            lambda: theirs(_VAT_EPOCHS).fit(X_lab, y_lab),
            lambda: ours(2).fit(data.X_train[warm], y_semi[warm]).score(X_lab, y_lab),
            lambda: theirs(2).fit(X_lab, y_lab).score(X_lab, y_lab),
        )
    score, base = _scores(data, a, b)
    n_unl = int((y_semi == -1).sum())
    return TourRow(
        "AdversarialMLPClassifier", "accuracy", score, _mlp(_VAT_HIDDEN), base,
        "fit", timing,
        f"Virtual adversarial training (method='vat', default radius) on "
        f"{_VAT_PER_CLASS} labelled digits per class plus the other {n_unl:,} "
        f"training digits without labels (y=-1), MLP{_VAT_HIDDEN}, batch "
        f"{_VAT_BATCH} labelled + {_VAT_BATCH} unlabeled, {_VAT_EPOCHS} epochs "
        "(passes over the unlabeled rows); the baseline is the same net on the "
        f"{len(labelled)} labelled digits alone, so its epochs are far shorter.",
    )  # fmt: skip


TOUR_ROWS = [mlp_row, dropout_rows, tangent_prop_row, manifold_tangent_row, vat_row]
