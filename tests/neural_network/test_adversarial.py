"""AdversarialMLPClassifier: FGSM / PGD / VAT training inside the numba step."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skreg.metrics import adversarial_accuracy, fgsm_attack
from skreg.neural_network import AdversarialMLPClassifier, MLPClassifier
from skreg.neural_network._engine import Engine

from .._reference import _mlp_act, mlp_objective


def _quiet(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def _data(n_classes, n=24, d=5, seed=0):
    X, y = make_classification(
        n_samples=n,
        n_features=d,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return (X - X.min()) / (X.max() - X.min()), y


def _proba(coefs, intercepts, X, activation):
    a = X
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        a = _mlp_act(a @ W + b, activation)
    z = a @ coefs[-1] + intercepts[-1]
    if z.shape[1] == 1:
        p = 1 / (1 + np.exp(-z))
        return np.hstack([1 - p, p])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _engine_step(est, X, y_idx, sw, theta=None, seed=3, step=5):
    """Objective, gradient and x_adv of one full batch through the kernels."""
    layout = est._layout()
    if theta is None:
        theta = layout.pack(est.coefs_, est.intercepts_, np.float64)
    cfg = est._engine_config()
    n = X.shape[0]
    engine = Engine(cfg, layout, est._out_kind(), np.float64, n)
    state = engine.state(theta.copy())
    data = engine.data(X, y_idx, sw)
    loss = engine.objective(state, data, np.arange(n), seed, step)
    aws = engine.extra[1]
    x_adv = aws.x_adv[: n * X.shape[1]].reshape(X.shape).copy()
    grad = state.grad
    return loss, grad, x_adv


def _fitted(method, n_classes, activation="tanh", **kw):
    X, y = _data(n_classes)
    est = AdversarialMLPClassifier(
        (4,),
        activation=activation,
        method=method,
        max_iter=5,
        random_state=0,
        alpha=0.01,
        **kw,
    )
    return _quiet(est, X, y), X, y


@pytest.mark.parametrize("method", ["fgsm", "pgd", "pgd_random", "vat"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_gradient_central_differences(method, n_classes):
    """Kernel gradient = d/dtheta of the documented objective, x_adv fixed
    (FGSM/PGD, Goodfellow et al.) or p(.|x) and r fixed (VAT)."""
    kw = dict(adversarial_epsilon=0.2, adversarial_weight=0.3, clip=(0, 1))
    if method.startswith("pgd"):
        kw.update(pgd_steps=3, pgd_random_start=method == "pgd_random")
        method = "pgd"
    if method == "vat":
        kw.update(adversarial_epsilon=0.5, clip=None)
    est, X, y = _fitted(method, n_classes, **kw)
    y_idx = np.searchsorted(est.classes_, y)
    sw = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    if method == "vat":
        y_idx[::3] = -1  # unlabeled rows
    layout = est._layout()
    theta0 = layout.pack(est.coefs_, est.intercepts_, np.float64)
    loss, grad, x_adv = _engine_step(est, X, y_idx, sw)
    a = 0.3
    lab = y_idx >= 0
    p0 = _proba(est.coefs_, est.intercepts_, X, "tanh")

    def objective(theta):
        coefs, intercepts = layout.unpack(theta)
        if method != "vat":
            return a * mlp_objective(
                coefs, intercepts, X, y_idx, sw, "tanh", alpha=0.01
            ) + (1 - a) * mlp_objective(
                coefs, intercepts, x_adv, y_idx, sw, "tanh", alpha=0.01
            )
        ce = mlp_objective(coefs, intercepts, X[lab], y_idx[lab], sw[lab], "tanh")
        q = _proba(coefs, intercepts, x_adv, "tanh")
        kl = np.sum(p0 * (np.log(p0) - np.log(q)), axis=1)
        l2 = 0.5 * 0.01 * sum(np.sum(W * W) for W in coefs) / sw.sum()
        return a * ce + (1 - a) * (sw @ kl) / sw.sum() + l2

    assert loss == pytest.approx(objective(theta0), rel=1e-10)
    h = 1e-6
    num = np.array(
        [
            (objective(theta0 + e) - objective(theta0 - e)) / (2 * h)
            for e in np.eye(theta0.size) * h
        ]
    )
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)
    # the perturbation's size and range
    if method == "vat":
        np.testing.assert_allclose(np.linalg.norm(x_adv - X, axis=1), 0.5, rtol=1e-10)
    else:
        assert np.abs(x_adv - X).max() <= 0.2 + 1e-12
        assert x_adv.min() >= 0 and x_adv.max() <= 1


@pytest.mark.parametrize("n_classes", [2, 3])
def test_fgsm_and_pgd_points_match_numpy(n_classes):
    """x_adv inside the step = the attack computed from input_gradient."""
    est, X, y = _fitted("fgsm", n_classes, adversarial_epsilon=0.1, clip=(0, 1))
    y_idx = np.searchsorted(est.classes_, y)
    ones = np.ones(len(y))
    _, _, x_adv = _engine_step(est, X, y_idx, ones)
    np.testing.assert_allclose(
        x_adv, fgsm_attack(est, X, y, 0.1, clip=(0, 1)), atol=1e-12
    )
    est.set_params(method="pgd", pgd_steps=3, pgd_random_start=False)
    _, _, x_pgd = _engine_step(est, X, y_idx, ones)
    ref = X.copy()
    step = 2.5 * 0.1 / 3
    for _ in range(3):
        ref = ref + step * np.sign(est.input_gradient(ref, y))
        ref = np.clip(np.clip(ref, X - 0.1, X + 0.1), 0, 1)
    np.testing.assert_allclose(x_pgd, ref, atol=1e-12)


def test_vat_direction_is_the_top_eigenvector():
    """Power iteration finds the top eigenvector of the Hessian of
    r -> KL(p(.|x) || p(.|x + r)) at 0 (Miyato et al.), up to sign."""
    est, X, y = _fitted("vat", 3, adversarial_epsilon=0.3, vat_power_iterations=5)
    y_idx = np.searchsorted(est.classes_, y)
    _, _, x_adv = _engine_step(est, X, y_idx, np.ones(len(y)))
    p = est.predict_proba(X)
    d, h = X.shape[1], 1e-4
    E = np.eye(d) * h
    for i in range(4):

        def kl(x, i=i):
            q = est.predict_proba(x[None])[0]
            return np.sum(p[i] * np.log(p[i] / q))

        x = X[i]
        hess = np.array(
            [
                [
                    kl(x + E[a] + E[b])
                    - kl(x + E[a] - E[b])
                    - kl(x - E[a] + E[b])
                    + kl(x - E[a] - E[b])
                    for b in range(d)
                ]
                for a in range(d)
            ]
        ) / (4 * h * h)
        top = np.linalg.eigh(hess)[1][:, -1]
        assert abs(top @ (x_adv[i] - x)) / 0.3 > 0.99


def test_default_equals_mlp_at_zero_epsilon_weight_one():
    """alpha = 1: the adversarial term has no weight, so the fit is the
    plain MLPClassifier's (same init, shuffling and updates)."""
    X, y = _data(3, n=60)
    kw = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    adv = _quiet(AdversarialMLPClassifier(adversarial_weight=1.0, **kw), X, y)
    plain = _quiet(MLPClassifier(**kw), X, y)
    for a, b in zip(adv.coefs_, plain.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "params", [dict(method="pgd"), dict(method="vat", adversarial_epsilon=0.5)]
)
def test_random_streams_reproducible(params):
    X, y = _data(3, n=60)
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, **params)
    a = _quiet(AdversarialMLPClassifier(random_state=1, **kw), X, y)
    b = _quiet(AdversarialMLPClassifier(random_state=1, **kw), X, y)
    c = _quiet(AdversarialMLPClassifier(random_state=2, **kw), X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_semi_supervised_labels():
    X, y = _data(3, n=60)
    y_semi = y.copy()
    y_semi[::2] = -1
    vat = _quiet(
        AdversarialMLPClassifier((8,), method="vat", max_iter=5, random_state=0),
        X,
        y_semi,
    )
    np.testing.assert_array_equal(vat.classes_, [0, 1, 2])
    assert vat.predict_proba(X).shape == (60, 3)
    assert not hasattr(vat, "_unlabeled_rows")
    # warm start and partial_fit see the labelled classes only
    _quiet(vat.set_params(warm_start=True), X, y_semi)
    np.testing.assert_array_equal(vat.classes_, [0, 1, 2])
    pf = AdversarialMLPClassifier((8,), method="vat", random_state=0)
    pf.partial_fit(X, y_semi, classes=[0, 1, 2]).partial_fit(X, y_semi)
    np.testing.assert_array_equal(pf.classes_, [0, 1, 2])
    # fgsm with an explicit marker: unlabeled rows are dropped with a
    # warning = fit on the labelled
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, unlabeled_marker=-1)
    with pytest.warns(UserWarning, match="unlabeled samples .* are ignored"):
        dropped = _quiet(AdversarialMLPClassifier(**kw), X, y_semi)
    ref = _quiet(AdversarialMLPClassifier(**kw), X[1::2], y[1::2])
    np.testing.assert_array_equal(dropped.coefs_[0], ref.coefs_[0])
    # virtual labels: every row trains, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        virt = _quiet(AdversarialMLPClassifier(virtual_labels=True, **kw), X, y_semi)
    np.testing.assert_array_equal(virt.classes_, [0, 1, 2])
    assert not np.array_equal(virt.coefs_[0], ref.coefs_[0])
    # unlabeled_marker=None, and fgsm/pgd by default: -1 is a class
    y_pm = np.where(y == 0, -1, 1)
    pm = _quiet(AdversarialMLPClassifier(**{**kw, "unlabeled_marker": None}), X, y_pm)
    np.testing.assert_array_equal(pm.classes_, [-1, 1])
    for method in ("fgsm", "pgd"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            est = AdversarialMLPClassifier(method=method, hidden_layer_sizes=(8,))
            est = _quiet(est.set_params(max_iter=5, random_state=0), X, y_pm)
        np.testing.assert_array_equal(est.classes_, [-1, 1])
        assert est.score(X, y_pm) > 0.5
    # sample weights of the unlabeled rows enter the KL term only
    sw = np.ones(60)
    sw[::2] = 0.0
    sup = _quiet(
        AdversarialMLPClassifier(method="vat", adversarial_weight=1.0, **kw),
        X,
        y_semi,
        sample_weight=sw,
    )
    ref = _quiet(
        AdversarialMLPClassifier(method="vat", adversarial_weight=1.0, **kw),
        X[1::2],
        y[1::2],
    )
    np.testing.assert_allclose(sup.coefs_[0], ref.coefs_[0], rtol=1e-10, atol=1e-12)


def test_bad_input():
    X, y = _data(3, n=30)
    with pytest.raises(ValueError, match="adversarial_epsilon"):
        AdversarialMLPClassifier(adversarial_epsilon=-0.1).fit(X, y)
    with pytest.raises(ValueError, match="adversarial_weight"):
        AdversarialMLPClassifier(adversarial_weight=1.5).fit(X, y)
    for clip in [(1, 0), (0, 0), (0, 1, 2), "ab", (0, np.inf)]:
        with pytest.raises(ValueError, match="clip"):
            AdversarialMLPClassifier(clip=clip).fit(X, y)
    with pytest.raises(ValueError, match="Every sample is unlabeled"):
        AdversarialMLPClassifier(method="vat").fit(X, np.full(30, -1))
    y1 = np.full(30, -1)
    y1[:5] = 2
    with pytest.raises(ValueError, match="at least 2 classes"):
        AdversarialMLPClassifier(method="vat").fit(X, y1)
    with pytest.raises(ValueError, match="method"):
        AdversarialMLPClassifier(method="cw").fit(X, y)
    with pytest.raises(ValueError, match="pgd_steps"):
        AdversarialMLPClassifier(method="pgd", pgd_steps=0).fit(X, y)
    X_out = X.copy()
    X_out[0, 0] = 2.0
    kw = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0, clip=(0, 1))
    with pytest.warns(UserWarning, match="outside clip"):
        a = _quiet(AdversarialMLPClassifier(**kw), X_out, y)
    X_in = X.copy()
    X_in[0, 0] = 1.0
    b = _quiet(AdversarialMLPClassifier(**kw), X_in, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert X_out[0, 0] == 2.0


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.3, stratify=y, random_state=0)


def test_fgsm_training_makes_the_model_robust(digits_split):
    """Quick version of the issue's evidence (digits, eps = 0.15)."""
    Xtr, Xte, ytr, yte = digits_split
    kw = dict(hidden_layer_sizes=(64,), max_iter=60, random_state=0)
    plain = _quiet(MLPClassifier(**kw), Xtr, ytr)
    adv = _quiet(
        AdversarialMLPClassifier(adversarial_epsilon=0.15, clip=(0, 1), **kw), Xtr, ytr
    )
    acc = {
        name: adversarial_accuracy(m, Xte, yte, 0.15, clip=(0, 1))
        for name, m in (("plain", plain), ("adv", adv))
    }
    assert acc["plain"] < 0.35
    assert acc["adv"] > 0.55
    assert adv.score(Xte, yte) >= plain.score(Xte, yte) - 0.03


def _label_draw(y, seed, per_class=10):
    rng = np.random.RandomState(seed)
    lab = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == c), per_class, replace=False)
            for c in range(10)
        ]
    )
    y_semi = np.full_like(y, -1)
    y_semi[lab] = y[lab]
    return lab, y_semi


def test_vat_uses_unlabeled_digits(seed):
    """Quick version of benchmarks/bench_vat.py: 10 labelled digits per
    class, the rest unlabeled, the default radius; VAT cuts the error of the
    same net trained on the labelled digits alone well below it (the full
    300-epoch run halves it on every draw; 100 epochs here)."""
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(
        X / 16, y, test_size=0.2, stratify=y, random_state=0
    )
    lab, y_semi = _label_draw(ytr, seed)
    kw = dict(
        hidden_layer_sizes=(256, 128), batch_size=64, max_iter=100,
        n_iter_no_change=100, random_state=seed,
    )  # fmt: skip
    sup = _quiet(MLPClassifier(**kw), Xtr[lab], ytr[lab])
    vat = _quiet(AdversarialMLPClassifier(method="vat", **kw), Xtr, y_semi)
    assert 1 - vat.score(Xte, yte) < 0.65 * (1 - sup.score(Xte, yte))


def test_vat_minibatches_hold_a_labelled_and_an_unlabeled_stream():
    """Each step sees n_lab labelled rows, then up to n_unl unlabeled ones;
    an epoch passes once over the unlabeled rows; the labelled rows cycle
    through permutations that carry over between epochs."""
    from skreg.neural_network._adversarial import _TwoStreams

    rng = np.random.RandomState(0)
    lab_rows = np.arange(0, 70, 7)  # 10 labelled rows
    unl_rows = np.setdiff1d(np.arange(70), lab_rows)  # 60 unlabeled rows
    streams = _TwoStreams(lab_rows, unl_rows, 4, 25)
    assert streams.batch_rows == 29
    seen_lab = []
    for _ in range(3):
        order = streams.epoch(rng, True)
        batches = [order[o : o + 29] for o in range(0, order.shape[0], 29)]
        assert [b.shape[0] for b in batches] == [29, 29, 14]  # 60 = 25 + 25 + 10
        for b in batches:
            assert np.isin(b[:4], lab_rows).all()
            assert np.isin(b[4:], unl_rows).all()
            seen_lab.extend(b[:4])
        np.testing.assert_array_equal(
            np.sort(np.concatenate([b[4:] for b in batches])), unl_rows
        )
    # 36 labelled draws: three full passes over the 10 labelled rows, then 6
    seen_lab = np.array(seen_lab)
    for k in range(3):
        np.testing.assert_array_equal(np.sort(seen_lab[10 * k : 10 * k + 10]), lab_rows)
    assert len(set(seen_lab[30:])) == 6
    # no shuffling: the rows in their given order
    fixed = _TwoStreams(lab_rows, unl_rows, 10, 60).epoch(rng, False)
    np.testing.assert_array_equal(fixed, np.concatenate([lab_rows, unl_rows]))


def test_vat_auto_radius():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, y[:200]
    vat = _quiet(AdversarialMLPClassifier((8,), method="vat", max_iter=2), X, y)
    assert vat._epsilon() == pytest.approx(0.8)  # 0.1 * sqrt(64)
    fgsm = _quiet(AdversarialMLPClassifier((8,), max_iter=2), X, y)
    assert fgsm._epsilon() == 0.1
