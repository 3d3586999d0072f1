"""MLPClassifier: scikit-learn parity, solvers, fitted attributes, bad input."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP

from skreg.neural_network import MLPClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _quiet(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("binary", [False, True])
def test_same_trajectory_as_sklearn(digits, solver, binary):
    """Same random_state: same init, same shuffles, same updates as sklearn."""
    X, y = digits
    X, y = X[:300], y[:300]
    if binary:
        y = (y > 4).astype(int)
    kw = dict(
        hidden_layer_sizes=(16,),
        max_iter=4,
        random_state=0,
        solver=solver,
        batch_size=64,
        alpha=1e-3,
    )
    ours = _quiet(MLPClassifier(**kw), X, y)
    ref = _quiet(SkMLP(**kw), X, y)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_, strict=False
    ):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)
    assert ours.n_outputs_ == ref.n_outputs_
    assert ours.out_activation_ == ref.out_activation_
    assert ours.t_ == ref.t_ and ours.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("binary", [False, True])
def test_sklearn_predicts_our_weights(digits, binary):
    X, y = digits
    if binary:
        y = np.where(y > 4, "big", "small")
    ours = _quiet(
        MLPClassifier(
            hidden_layer_sizes=(20, 10), activation="tanh", max_iter=20, random_state=1
        ),
        X,
        y,
    )
    sk = _quiet(
        SkMLP(
            hidden_layer_sizes=(20, 10), activation="tanh", max_iter=1, random_state=1
        ),
        X,
        y,
    )
    sk.coefs_ = [c.copy() for c in ours.coefs_]
    sk.intercepts_ = [b.copy() for b in ours.intercepts_]
    np.testing.assert_array_equal(sk.predict(X), ours.predict(X))
    np.testing.assert_allclose(
        sk.predict_proba(X), ours.predict_proba(X), rtol=1e-10, atol=1e-12
    )


def test_partial_fit_follows_sklearn(digits):
    X, y = digits
    X, y = X[:200], y[:200]
    ours = MLPClassifier(hidden_layer_sizes=(8,), random_state=3, batch_size=50)
    ref = SkMLP(hidden_layer_sizes=(8,), random_state=3, batch_size=50)
    for _ in range(3):
        ours.partial_fit(X, y, classes=np.arange(10))
        ref.partial_fit(X, y, classes=np.arange(10))
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    for a, b in zip(ours.coefs_, ref.coefs_, strict=False):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12)


def test_partial_fit_errors(digits):
    X, y = digits
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X[:20], y[:20])
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(
            X[:50], y[:50], classes=range(10)
        )


def test_lbfgs_matches_sklearn(digits):
    X, y = digits
    X, y = X[:300], y[:300]
    kw = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=30, random_state=0)
    ours = _quiet(MLPClassifier(**kw), X, y)
    ref = _quiet(SkMLP(**kw), X, y)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.loss_, ref.loss_, rtol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


def test_early_stopping_restores_best_weights(digits):
    X, y = digits
    clf = _quiet(
        MLPClassifier(
            hidden_layer_sizes=(16,),
            early_stopping=True,
            n_iter_no_change=3,
            max_iter=60,
            random_state=0,
            learning_rate_init=0.05,
        ),
        X,
        y,
    )
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    ref = _quiet(
        SkMLP(
            hidden_layer_sizes=(16,),
            early_stopping=True,
            n_iter_no_change=3,
            max_iter=60,
            random_state=0,
            learning_rate_init=0.05,
        ),
        X,
        y,
    )
    # same split, trajectory and best-weight restore as scikit-learn
    np.testing.assert_allclose(clf.validation_scores_, ref.validation_scores_)
    np.testing.assert_array_equal(clf.predict(X), ref.predict(X))


def test_warm_start_continues(digits):
    X, y = digits
    clf = _quiet(
        MLPClassifier(
            hidden_layer_sizes=(16,), max_iter=3, warm_start=True, random_state=0
        ),
        X,
        y,
    )
    first = [c.copy() for c in clf.coefs_]
    loss_before = clf.loss_
    _quiet(clf, X, y)
    assert clf.loss_ < loss_before
    assert not np.allclose(first[0], clf.coefs_[0])
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 5], y[y < 5])


def test_verbose_prints_one_line_per_epoch(digits, capsys):
    X, y = digits
    _quiet(
        MLPClassifier(
            hidden_layer_sizes=(8,),
            max_iter=3,
            verbose=True,
            early_stopping=True,
            random_state=0,
        ),
        X,
        y,
    )
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Iter")]
    assert len(lines) == 3
    assert "loss =" in lines[0] and "validation score" in lines[0]
    assert "elapsed" in lines[0]


def test_sample_weight_weights_the_loss(digits):
    """Integer weights = repeated rows, for the deterministic full-batch solver."""
    X, y = digits
    X, y = X[:120], y[:120]
    w = np.random.default_rng(0).integers(0, 3, len(y))
    kw = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=40, random_state=0)
    a = _quiet(MLPClassifier(**kw), X, y, sample_weight=w)
    b = _quiet(MLPClassifier(**kw), np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-5, atol=1e-7)


def test_digits_accuracy_matches_sklearn():
    """Same settings, several seeds: accuracy within 1 point of scikit-learn."""
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(
        X / 16, y, test_size=0.25, random_state=0, stratify=y
    )
    ours, ref = [], []
    for seed in range(3):
        kw = dict(hidden_layer_sizes=(64,), max_iter=40, random_state=seed)
        ours.append(_quiet(MLPClassifier(**kw), Xtr, ytr).score(Xte, yte))
        ref.append(_quiet(SkMLP(**kw), Xtr, ytr).score(Xte, yte))
    assert abs(np.mean(ours) - np.mean(ref)) <= 0.01
    assert np.mean(ours) > 0.95


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("binary", [False, True])
def test_input_gradient_finite_differences(activation, binary):
    X, y = make_classification(
        n_samples=30,
        n_features=6,
        n_informative=4,
        n_classes=2 if binary else 3,
        random_state=0,
    )
    clf = _quiet(
        MLPClassifier(
            hidden_layer_sizes=(7, 5),
            activation=activation,
            max_iter=30,
            random_state=0,
        ),
        X,
        y,
    )
    G = clf.input_gradient(X[:5], y[:5])
    assert G.shape == (5, 6)

    def loss(x, k):
        p = clf.predict_proba(x[None])[0]
        return -np.log(p[np.searchsorted(clf.classes_, y[k])])

    eps = 1e-5
    for k in range(5):
        num = np.array(
            [
                (loss(X[k] + e, k) - loss(X[k] - e, k)) / (2 * eps)
                for e in np.eye(6) * eps
            ]
        )
        np.testing.assert_allclose(G[k], num, rtol=1e-4, atol=1e-7)


def test_activation_penalties_sparsify(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(32,), max_iter=30, random_state=0)
    plain = _quiet(MLPClassifier(**kw), X, y)
    sparse = _quiet(
        MLPClassifier(activation_penalty="l1", activation_penalty_alpha=0.05, **kw),
        X,
        y,
    )

    def mean_act(clf):
        return np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0).mean()

    assert mean_act(sparse) < 0.5 * mean_act(plain)
    kl = _quiet(
        MLPClassifier(
            activation="logistic",
            activation_penalty="kl",
            activation_penalty_alpha=0.5,
            sparsity_target=0.05,
            **kw,
        ),
        X,
        y,
    )
    h = 1 / (1 + np.exp(-(X @ kl.coefs_[0] + kl.intercepts_[0])))
    assert h.mean() < 0.2


def test_tie_to_estimators_and_pairs(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
    big = _quiet(SkMLP(**kw), X, y)  # a scikit-learn reference
    kw2 = {
        **kw,
        "random_state": 5,
        "max_iter": 60,
        "batch_size": 20,
        "learning_rate_init": 0.01,
    }
    tied = _quiet(MLPClassifier(tie_to=big, tie_alpha=10.0, **kw2), X[:100], y[:100])
    free = _quiet(MLPClassifier(**kw2), X[:100], y[:100])
    dist = lambda m: np.linalg.norm(m.coefs_[0] - big.coefs_[0])  # noqa: E731
    assert dist(tied) < 0.2 * dist(free)
    pair = _quiet(
        MLPClassifier(tie_to=(big.coefs_, big.intercepts_), tie_alpha=10.0, **kw2),
        X[:100],
        y[:100],
    )
    np.testing.assert_allclose(pair.coefs_[0], tied.coefs_[0])


def test_bad_input_errors(digits):
    X, y = digits
    with pytest.raises(ValueError, match="another architecture"):
        MLPClassifier(
            hidden_layer_sizes=(8,),
            tie_to=MLPClassifier(hidden_layer_sizes=(9,), max_iter=2).fit(X, y),
            max_iter=2,
        ).fit(X, y)
    with pytest.raises(ValueError, match="unfitted"):
        MLPClassifier(tie_to=MLPClassifier(), max_iter=2).fit(X, y)
    with pytest.raises(TypeError, match="tie_to"):
        MLPClassifier(tie_to="nope", max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="only one class"):
        MLPClassifier().fit(X[:10], np.zeros(10))
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier().fit(X_bad, y)
    with pytest.raises(ValueError):
        MLPClassifier(activation_penalty="l2").fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_divergence_raises_naming_learning_rate_init(digits, dtype):
    X, y = digits
    clf = MLPClassifier(
        solver="sgd", learning_rate_init=1e8, momentum=0.9, max_iter=50, random_state=0
    )
    with pytest.raises(ValueError, match="learning_rate_init"):
        _quiet(clf, (X * 16).astype(dtype), y)


def test_partial_fit_after_switching_solver(digits):
    X, y = digits
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", random_state=0)
    clf.partial_fit(X, y, classes=np.arange(10))
    clf.set_params(solver="adam").partial_fit(X, y)
    clf.set_params(solver="sgd").partial_fit(X.astype(np.float32), y)
    assert np.isfinite(clf.loss_)


def test_sample_weight_trajectory_as_sklearn(digits):
    import inspect

    if "sample_weight" not in inspect.signature(SkMLP.fit).parameters:
        pytest.skip("scikit-learn's MLPClassifier takes sample_weight from 1.7 on")
    X, y = digits
    X, y = X[:300], y[:300]
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    kw = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0, batch_size=64)
    ours = _quiet(MLPClassifier(**kw), X, y, sample_weight=w)
    ref = _quiet(SkMLP(**kw), X, y, sample_weight=w)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(ours.coefs_[0], ref.coefs_[0], rtol=1e-8, atol=1e-12)


def test_small_fits_run_blas_on_one_thread():
    """Digits-sized minibatch products fit with BLAS on one thread (faster,
    and immune to spinning BLAS threads on a busy machine); large ones keep
    the user's setting.  The choice depends on shapes only."""
    import contextlib

    from threadpoolctl import threadpool_info

    def section(est, n, d):
        return est._blas_section(n, est._new_layout(d, 10)[0])

    small = section(MLPClassifier((256,)), 1437, 64)
    assert not isinstance(small, contextlib.nullcontext)
    with small:
        blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
        assert blas and all(i["num_threads"] == 1 for i in blas)
    few = section(MLPClassifier((256,), batch_size=128), 10, 784)
    assert not isinstance(few, contextlib.nullcontext)  # 10-row batches: small
    large = section(MLPClassifier((256,), batch_size=128), 4000, 784)
    assert isinstance(large, contextlib.nullcontext)
    lbfgs = section(MLPClassifier((256,), solver="lbfgs"), 1437, 64)
    assert isinstance(lbfgs, contextlib.nullcontext)  # one batch of every row
    # a convolution's product counts every position: 28x28 images through
    # 32 filters 3x3 are large even in batches of 64
    conv = MLPClassifier((), conv_layers=[(32, 3)], batch_size=64)
    assert isinstance(section(conv, 4000, 784), contextlib.nullcontext)


def test_fit_trains_inside_the_blas_section(monkeypatch):
    """fit enters the section chosen from the validated shape, also for
    inputs that refuse np.shape before validation (list of lists)."""
    from skreg.neural_network import _base

    seen = []
    real = _base.single_threaded_blas

    def recording():
        seen.append(True)
        return real()

    monkeypatch.setattr(_base, "single_threaded_blas", recording)
    X, y = load_digits(return_X_y=True)
    MLPClassifier((16,), max_iter=2).fit(X[:60].tolist(), y[:60])
    assert seen == [True]
