"""Tour rows for the MLP engine and its thin estimators.

Plain, convolutional, dropout and fast-dropout networks train on the whole
tour split (the convolutional row is judged against the plain MLP(256), on
the test digits and on them shifted by one pixel);
tangent propagation and the manifold tangent classifier on 20 digits per
class, where built-in invariances matter most; VAT on 10 labelled digits
per class plus the rest of the split without labels.  Each row sits next to
scikit-learn's MLPClassifier with the same architecture, epochs, batch size
and labelled rows.  The multilabel row asks four yes/no questions of each
digit; the regression rows use load_diabetes and a 1-D curve whose test
range extends past the training inputs (for the predictive uncertainty).
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
    per-epoch paths: validation, convergence check).  ``epochs``: both
    sides', or a dict of ``"ours"`` and ``"theirs"``."""
    from sklearn.exceptions import ConvergenceWarning

    if not isinstance(epochs, dict):
        epochs = {"ours": epochs, "theirs": epochs}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return compare(
            lambda: make_ours(epochs["ours"]).fit(X, y),
            lambda: make_theirs(epochs["theirs"]).fit(X, y),
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


#: Four yes/no questions about a digit: even, at least 5, prime, drawn with
#: a closed loop.
_LABELS = ("even", ">=5", "prime", "loop")
_ML_EPOCHS = 30  # the tour's time budget: half the plain row's epochs


def digit_labels(y):
    """The multilabel indicator of :data:`_LABELS` for digit classes ``y``."""
    import numpy as np

    return np.stack(
        [y % 2 == 0, y >= 5, np.isin(y, (2, 3, 5, 7)), np.isin(y, (0, 6, 8, 9))],
        axis=1,
    ).astype(int)


def multilabel_row(data):
    """MLPClassifier on a multilabel indicator y (one logistic unit per label)."""
    from skreg.neural_network import MLPClassifier

    Y_train, Y_test = digit_labels(data.y_train), digit_labels(data.y_test)
    a, b, timing = _fit_pair(
        lambda max_iter: MLPClassifier(
            _HIDDEN, max_iter=max_iter, random_state=data.random_state
        ),
        _sklearn(_HIDDEN, data),
        data.X_train,
        Y_train,
        _ML_EPOCHS,
    )
    score = float(a.score(data.X_test, Y_test))
    base = float(b.score(data.X_test, Y_test))
    return TourRow(
        "MLPClassifier", "exact acc", score, _mlp(_HIDDEN), base,
        "fit", timing,
        f"Multilabel y: four yes/no labels per digit ({', '.join(_LABELS)}), one "
        f"logistic output each; MLP{_HIDDEN}, {_ML_EPOCHS} epochs. The score is the "
        "fraction of test digits with all four labels right (scikit-learn's "
        "multilabel accuracy); the training run equals scikit-learn's to "
        "rounding.",
    )  # fmt: skip


def _diabetes(random_state):
    """load_diabetes split 80/20; X and y standardised on the training rows."""
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.2, random_state=random_state
    )
    scaler = StandardScaler().fit(X_tr)
    mu, sd = y_tr.mean(), y_tr.std()
    return (
        scaler.transform(X_tr), scaler.transform(X_te), (y_tr - mu) / sd,
        (y_te - mu) / sd,
    )  # fmt: skip


_REG_HIDDEN, _REG_EPOCHS, _REG_BATCH, _REG_ALPHA = (64,), 200, 32, 1.0


def _sklearn_regressor(hidden, random_state, **params):
    from sklearn.neural_network import MLPRegressor

    return lambda max_iter: MLPRegressor(
        hidden_layer_sizes=hidden, max_iter=max_iter, random_state=random_state,
        **params,
    )  # fmt: skip


def mlp_regressor_row(data):
    """MLPRegressor against scikit-learn's on load_diabetes."""
    from skreg.neural_network import MLPRegressor

    X_tr, X_te, y_tr, y_te = _diabetes(data.random_state)
    params = dict(batch_size=_REG_BATCH, alpha=_REG_ALPHA)
    a, b, timing = _fit_pair(
        lambda max_iter: MLPRegressor(
            hidden_layer_sizes=_REG_HIDDEN, max_iter=max_iter,
            random_state=data.random_state, **params,
        ),
        _sklearn_regressor(_REG_HIDDEN, data.random_state, **params),
        X_tr, y_tr, _REG_EPOCHS,
    )  # fmt: skip
    return TourRow(
        "MLPRegressor", "R²", float(a.score(X_te, y_te)), _mlp(_REG_HIDDEN),
        float(b.score(X_te, y_te)), "fit", timing,
        f"load_diabetes (353 training rows, 10 features, standardised), "
        f"MLP{_REG_HIDDEN}, adam, batch {_REG_BATCH}, alpha {_REG_ALPHA}, "
        f"{_REG_EPOCHS} epochs, the same random_state on both sides: the same "
        "training run to rounding (a noisy target: a linear model reaches "
        "about the same R² here), so the row is about speed.",
    )  # fmt: skip


def curve_data(random_state=0):
    """1-D regression: ``sin(3x)`` plus noise 0.1 on x in [-1, 1] for
    training and testing; ``x_far`` outside the training range."""
    import numpy as np

    rng = np.random.RandomState(random_state)
    X_tr = rng.uniform(-1, 1, (300, 1))
    X_te = rng.uniform(-1, 1, (300, 1))
    y_tr = np.sin(3 * X_tr[:, 0]) + 0.1 * rng.randn(300)
    y_te = np.sin(3 * X_te[:, 0]) + 0.1 * rng.randn(300)
    x_far = np.r_[np.linspace(-3, -1.5, 100), np.linspace(1.5, 3, 100)][:, None]
    return X_tr, X_te, y_tr, y_te, x_far


_CURVE_HIDDEN, _CURVE_EPOCHS, _CURVE_DROP, _CURVE_MC = (128, 128), 300, 0.1, 100


def dropout_regressor_row(data):
    """DropoutMLPRegressor's MC-dropout uncertainty on a 1-D curve."""
    import numpy as np

    from skreg.neural_network import DropoutMLPRegressor

    X_tr, X_te, y_tr, y_te, x_far = curve_data(data.random_state)
    a, b, timing = _fit_pair(
        lambda max_iter: DropoutMLPRegressor(
            _CURVE_HIDDEN, hidden_dropout=_CURVE_DROP, n_mc_samples=_CURVE_MC,
            max_iter=max_iter, random_state=data.random_state,
        ),
        _sklearn_regressor(_CURVE_HIDDEN, data.random_state),
        X_tr, y_tr, _CURVE_EPOCHS,
    )  # fmt: skip
    mean, std = a.predict(X_te, return_std=True)
    _, std_far = a.predict(x_far, return_std=True)
    ratio = float(np.median(std_far) / np.median(std))
    cover = float(np.mean(np.abs(y_te - mean) <= 2 * std))
    return TourRow(
        "DropoutMLPRegressor", "R²", float(a.score(X_te, y_te)),
        _mlp(_CURVE_HIDDEN), float(b.score(X_te, y_te)), "fit", timing,
        f"sin(3x) plus noise 0.1, 300 training points on [-1, 1]; "
        f"MLP{_CURVE_HIDDEN}, hidden dropout {_CURVE_DROP}, {_CURVE_EPOCHS} "
        f"epochs. predict(X, return_std=True) over {_CURVE_MC} masks: the "
        f"median std on 1.5 <= |x| <= 3, where there was no training data, is "
        f"{ratio:.1f}x that on [-1, 1]. Mean +- 2 std covers {cover:.0%} of the "
        "test points on [-1, 1]: the masks' spread is the model's uncertainty, "
        "not the noise of y around the curve, which it leaves out.",
    )  # fmt: skip


#: The convolutional row's network: 8 filters 3x3 ('same') with 2x2 max
#: pooling, then 24 filters 3x3 with 4x4 max pooling (one position per
#: filter left: 24 features), then the softmax; 2,082 parameters against
#: the MLP(256)'s 19,210.
CNN_LAYERS = [
    dict(filters=8, kernel_size=3, padding="same", pool=2),
    dict(filters=24, kernel_size=3, padding="same", pool=4),
]
_CNN_EPOCHS, _CNN_BATCH = 100, 64
#: One-pixel shifts of the test digits (right, left, down, up).
SHIFTS = ((0, 1), (0, -1), (1, 0), (-1, 0))


def shifted_digits(X, dy, dx, side=8):
    """Rows of ``X`` (``side x side`` images) moved by ``(dy, dx)`` pixels,
    blank where they leave the frame (``scipy.ndimage.shift``, order 0)."""
    import numpy as np
    from scipy.ndimage import shift

    images = np.asarray(X).reshape(-1, side, side)
    moved = [shift(im, (dy, dx), order=0, mode="constant") for im in images]
    return np.stack(moved).reshape(len(images), -1)


def shifted_error(model, X, y):
    """Mean test error over the four one-pixel shifts of ``X``."""
    return sum(1.0 - model.score(shifted_digits(X, *s), y) for s in SHIFTS) / len(
        SHIFTS
    )


def n_parameters(model):
    return int(
        sum(c.size for c in model.coefs_) + sum(b.size for b in model.intercepts_)
    )


def cnn_row(data):
    """Parameter sharing: a small CNN against scikit-learn's MLP(256)."""
    from skreg.neural_network import MLPClassifier

    a, b, timing = _fit_pair(
        lambda max_iter: MLPClassifier(
            (), conv_layers=CNN_LAYERS, batch_size=_CNN_BATCH, max_iter=max_iter,
            random_state=data.random_state,
        ),
        _sklearn(_HIDDEN, data),
        data.X_train,
        data.y_train,
        {"ours": _CNN_EPOCHS, "theirs": _EPOCHS},
        warm_rows=_CNN_BATCH,  # a smaller warm-up set would clip the batch
    )  # fmt: skip
    score, base = _scores(data, a, b)
    moved = [shifted_error(m, data.X_test, data.y_test) for m in (a, b)]
    return TourRow(
        "MLPClassifier", "accuracy", score, _mlp(_HIDDEN), base, "fit", timing,
        "conv_layers: 8 filters 3x3 + 2x2 max pool, 24 filters 3x3 + 4x4 max "
        f"pool, softmax: {n_parameters(a):,} parameters against the "
        f"MLP(256)'s {n_parameters(b):,} ({_CNN_EPOCHS} epochs, batch "
        f"{_CNN_BATCH}; the MLP as in row 1). Test error {1 - score:.3f} vs "
        f"{1 - base:.3f}; on the test digits shifted by one pixel (mean of "
        f"the four directions) {moved[0]:.3f} vs {moved[1]:.3f}: the filters "
        "are the same at every position and the pooling forgets where, so a "
        "moved digit changes the CNN's features less.",
    )  # fmt: skip


TOUR_ROWS = [
    mlp_row,
    cnn_row,
    dropout_rows,
    tangent_prop_row,
    manifold_tangent_row,
    vat_row,
    multilabel_row,
    mlp_regressor_row,
    dropout_regressor_row,
]
