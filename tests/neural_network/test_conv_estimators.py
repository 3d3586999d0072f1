"""``conv_layers`` on the neural estimators: the fitted network is the
documented one (its ``predict_proba`` equals a numpy composition of the
loop references from ``coefs_``), and every technique trains it through
the estimators, fast dropout and tangent propagation included."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import ndimage
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skreg.ensemble import BaggedMLPClassifier, BaggedMLPRegressor
from skreg.metrics import fgsm_attack
from skreg.neural_network import (
    AdversarialMLPClassifier,
    AdversarialMLPRegressor,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
    ManifoldTangentClassifier,
    MLPClassifier,
    MLPRegressor,
    TangentPropMLPClassifier,
    TangentPropMLPRegressor,
)

from .. import _reference as ref

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

CONV = [
    dict(filters=4, kernel_size=3, padding="same", pool=2),
    (3, 2),
]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:240] / 16.0, y[:240]


def _reference_output(est, X):
    """The network's last pre-activation from the loop references and the
    fitted ``coefs_`` / ``intercepts_``."""
    return ref.conv_net_logits(
        X, est.image_shape_, est.conv_layers_, est.coefs_, est.intercepts_,
        est.activation,
    )  # fmt: skip


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --- the fitted network ---------------------------------------------------------
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_fitted_conv_net_is_the_documented_one(digits, activation):
    X, y = digits
    clf = MLPClassifier(
        hidden_layer_sizes=(8,), conv_layers=CONV, activation=activation,
        max_iter=5, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert clf.image_shape_ == (8, 8, 1)
    assert [c.shape for c in clf.coefs_] == [
        (3, 3, 1, 4),
        (2, 2, 4, 3),
        (27, 8),
        (8, 10),
    ]
    assert [b.shape for b in clf.intercepts_] == [(4,), (3,), (8,), (10,)]
    assert clf.n_layers_ == 5
    assert clf.conv_layers_[1] == dict(
        filters=3, kernel_size=(2, 2), stride=1, padding="valid", pool=0,
        pool_type="max",
    )  # fmt: skip
    expected = _softmax(_reference_output(clf, X[:20]))
    np.testing.assert_allclose(
        clf.predict_proba(X[:20]), expected, rtol=1e-10, atol=1e-13
    )


def test_conv_layers_give_the_keras_output_sizes():
    X = np.random.default_rng(0).uniform(size=(30, 12 * 10 * 2))
    y = np.arange(30) % 2
    conv = [
        dict(filters=5, kernel_size=(3, 5), stride=2, padding="same", pool=2,
             pool_type="avg"),
        dict(filters=2, kernel_size=2, padding=1),
    ]  # fmt: skip
    clf = MLPClassifier(
        hidden_layer_sizes=(), conv_layers=conv, image_shape=(12, 10, 2),
        max_iter=2, random_state=0,
    ).fit(X, y)  # fmt: skip
    # 'same', stride 2: ceil(12/2) x ceil(10/2) = 6x5, pooled 3x2; padding 1,
    # kernel 2: 4x3 (Keras' Conv2D / PyTorch's Conv2d output sizes)
    assert [c.shape for c in clf.coefs_] == [(3, 5, 2, 5), (2, 2, 5, 2), (4 * 3 * 2, 1)]
    expected = _reference_output(clf, X[:5])[:, 0]
    p1 = 1 / (1 + np.exp(-expected))
    np.testing.assert_allclose(clf.predict_proba(X[:5])[:, 1], p1, rtol=1e-10)


def test_receptive_field_glorot_initialisation(digits):
    X, y = digits
    clf = MLPClassifier(
        hidden_layer_sizes=(8,), conv_layers=[(16, 3)], max_iter=1, random_state=0,
        learning_rate_init=1e-12,
    ).fit(X, y)  # fmt: skip
    W = clf.coefs_[0]
    bound = np.sqrt(6.0 / (3 * 3 * 1 + 3 * 3 * 16))  # fans of the receptive field
    assert np.abs(W).max() <= bound
    assert np.abs(W).max() > 0.9 * bound


def test_one_dimensional_signals():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 30))
    y = (X[:, 10:13].sum(axis=1) > 0).astype(int)
    clf = MLPClassifier(
        hidden_layer_sizes=(4,), max_iter=3, random_state=0,
        conv_layers=[dict(filters=3, kernel_size=5, pool=2, pool_type="avg")],
    ).fit(X, y)  # fmt: skip
    assert clf.image_shape_ == (1, 30, 1)
    assert clf.conv_layers_[0]["kernel_size"] == (1, 5)
    assert clf.conv_layers_[0]["pool"] == (1, 2)
    assert clf.coefs_[1].shape == (13 * 3, 4)  # (30 - 5 + 1) // 2 positions
    z = _reference_output(clf, X[:6])[:, 0]
    np.testing.assert_allclose(
        clf.predict_proba(X[:6])[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-10
    )


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(image_shape=(7, 9)), "holds 63 values but X has 64"),
        (dict(image_shape=(8, 8, 0)), "positive integers"),
        (dict(conv_layers=[(4, 9)]), "do not fit the image"),
        (dict(conv_layers=[dict(filters=4, kernel_size=3, pool=9)]), "do not fit"),
        (dict(conv_layers=[dict(filters=4, kernel=3)]), "unknown keys"),
        (dict(conv_layers=[(0, 3)]), "filters must be a positive integer"),
        (dict(conv_layers=[dict(filters=2, kernel_size=3, padding="full")]), "padding"),
        (
            dict(conv_layers=[dict(filters=2, kernel_size=3, pool_type="l2")]),
            "pool_type",
        ),
    ],
)
def test_bad_architectures_raise_and_leave_no_fit(digits, params, match):
    X, y = digits
    clf = MLPClassifier(conv_layers=params.pop("conv_layers", [(4, 3)]), **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "n_features_in_")


def test_sparse_input_is_refused_for_conv_layers(digits):
    X, y = digits
    clf = MLPClassifier(conv_layers=[(2, 3)], max_iter=2)
    assert not clf.__sklearn_tags__().input_tags.sparse
    assert MLPClassifier().__sklearn_tags__().input_tags.sparse
    with pytest.raises(TypeError, match="convolutional layers"):
        clf.fit(sp.csr_matrix(X), y)
    clf.fit(X, y)
    with pytest.raises(TypeError, match="convolutional layers"):
        clf.predict(sp.csr_matrix(X))


def test_round_trips_and_warm_start(digits, tmp_path):
    X, y = digits
    clf = MLPClassifier(
        hidden_layer_sizes=(8,), conv_layers=CONV, max_iter=3, random_state=0,
        warm_start=True,
    ).fit(X, y)  # fmt: skip
    p = clf.predict_proba(X)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), p)
    assert all(type(c) is np.ndarray for c in back.coefs_)
    # warm start continues from the fitted filters
    last = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert clf.loss_curve_[-1] < last
    last = clf.loss_curve_[-1]
    clf.partial_fit(X, y)
    assert clf.loss_curve_[-1] < last
    # another architecture is refused, and the fit is kept
    coefs = [c.copy() for c in clf.coefs_]
    clf.set_params(
        conv_layers=[dict(filters=4, kernel_size=3, padding="same")] + CONV[1:]
    )
    with pytest.raises(ValueError, match="differ from the fitted"):
        clf.fit(X, y)
    for a, b in zip(coefs, clf.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_float32_trains_in_float32(digits):
    X, y = digits
    kw = dict(hidden_layer_sizes=(8,), conv_layers=CONV, max_iter=20, random_state=0)
    c64 = MLPClassifier(**kw).fit(X, y)
    c32 = MLPClassifier(**kw).fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float32 for c in c32.coefs_ + c32.intercepts_)
    assert c32.predict_proba(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(c32.loss_curve_, c64.loss_curve_, rtol=2e-3)


# --- techniques -----------------------------------------------------------------
def _lbfgs_loss(est, X, y, sw=None):
    """The L-BFGS objective at the fitted weights from the references."""
    n = len(X)
    sw = np.ones(n) if sw is None else sw
    p = _softmax(_reference_output(est, X))
    data = -(sw * np.log(p[np.arange(n), np.searchsorted(est.classes_, y)])).sum()
    l2 = 0.5 * est.alpha * sum((W**2).sum() for W in est.coefs_)
    return (data + l2) / sw.sum()


def test_l2_objective_on_a_conv_net(digits):
    X, y = digits
    clf = MLPClassifier(
        solver="lbfgs", alpha=0.5, hidden_layer_sizes=(8,), conv_layers=CONV,
        max_iter=15, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert clf.loss_ == pytest.approx(_lbfgs_loss(clf, X, y), rel=1e-9)
    weak = clone(clf).set_params(alpha=1e-5).fit(X, y)
    norm = [sum((W**2).sum() for W in m.coefs_) for m in (clf, weak)]
    assert norm[0] < norm[1]


def test_activation_penalty_makes_conv_codes_sparser(digits):
    X, y = digits
    kw = dict(
        hidden_layer_sizes=(16,), conv_layers=[(4, 3)], max_iter=40, random_state=0,
    )  # fmt: skip
    plain = MLPClassifier(**kw).fit(X, y)
    sparse = MLPClassifier(
        activation_penalty="l1", activation_penalty_alpha=0.05, **kw
    ).fit(X, y)

    def mean_activity(est):
        Z = ref.conv2d_reference(
            X, est.coefs_[0], est.intercepts_[0], (8, 8, 1), 1, "valid"
        )
        return np.maximum(Z, 0).mean()

    assert mean_activity(sparse) < 0.5 * mean_activity(plain)


def test_tying_pulls_filters_to_the_reference(digits):
    X, y = digits
    kw = dict(
        hidden_layer_sizes=(8,), conv_layers=CONV, solver="lbfgs", max_iter=30,
        random_state=0,
    )  # fmt: skip
    teacher = MLPClassifier(**kw).fit(X, y)
    kw["random_state"] = 1
    free = MLPClassifier(**kw).fit(X, y)
    tied = MLPClassifier(tie_to=teacher, tie_alpha=10.0, **kw).fit(X, y)

    def dist(est):
        return sum(
            ((a - b) ** 2).sum()
            for a, b in zip(est.coefs_, teacher.coefs_, strict=True)
        )

    assert dist(tied) < 0.05 * dist(free)
    dense = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="another architecture"):
        MLPClassifier(tie_to=dense, **kw).fit(X, y)


def test_max_norm_bounds_each_filter(digits):
    X, y = digits
    clf = MLPClassifier(
        hidden_layer_sizes=(8,), conv_layers=CONV, max_norm=0.5, max_iter=30,
        learning_rate_init=0.05, random_state=0,
    ).fit(X, y)  # fmt: skip
    for W in clf.coefs_:
        incoming = W.reshape(-1, W.shape[-1])  # a filter's incoming weights
        assert np.linalg.norm(incoming, axis=0).max() <= 0.5 * (1 + 1e-9)
    free = clone(clf).set_params(max_norm=None).fit(X, y)
    assert (
        max(
            np.linalg.norm(W.reshape(-1, W.shape[-1]), axis=0).max()
            for W in free.coefs_
        )
        > 0.5
    )


def test_bernoulli_dropout_and_mc_inference(digits):
    X, y = digits
    kw = dict(
        hidden_layer_sizes=(16,), conv_layers=CONV, max_iter=30, random_state=0,
        input_dropout=0.1, hidden_dropout=0.2,
    )  # fmt: skip
    clf = DropoutMLPClassifier(**kw).fit(X, y)
    again = DropoutMLPClassifier(**kw).fit(X, y)
    np.testing.assert_array_equal(clf.coefs_[0], again.coefs_[0])  # seeded masks
    plain = MLPClassifier(**{k: v for k, v in kw.items() if "dropout" not in k}).fit(
        X, y
    )
    assert not np.allclose(clf.coefs_[0], plain.coefs_[0])
    ws = clf.predict_proba(X)
    mc = clf.set_params(inference="mc_arithmetic", n_mc_samples=8).predict_proba(X)
    np.testing.assert_allclose(mc.sum(axis=1), 1.0)
    assert 0 < np.abs(mc - ws).max() < 0.5
    samples = clf.predict_proba_samples(X[:5], n_samples=8)
    np.testing.assert_allclose(samples.mean(axis=0), mc[:5], rtol=1e-12)
    reg = DropoutMLPRegressor(**kw).fit(X, y.astype(float))
    mean, std = reg.set_params(inference="mc_arithmetic").predict(
        X[:5], return_std=True
    )
    assert mean.shape == std.shape == (5,) and (std > 0).all()


def test_fast_dropout_on_conv_layers(digits):
    # Wang & Manning's moment propagation through convolutions and pooling
    # (max pooling: the winner by mean): it trains, differs from the plain
    # fit, and gives the regressor a predictive spread in one pass
    X, y = digits
    kw = dict(
        hidden_layer_sizes=(16,), conv_layers=CONV, max_iter=30, random_state=0,
        learning_rate_init=0.01, batch_size=32, input_dropout=0.1,
        hidden_dropout=0.2, dropout_method="fast",
    )  # fmt: skip
    clf = DropoutMLPClassifier(**kw).fit(X, y)
    assert [c.shape for c in clf.coefs_][:2] == [(3, 3, 1, 4), (2, 2, 4, 3)]
    assert clf.predict(X).shape == y.shape and clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    plain = MLPClassifier(**{k: v for k, v in kw.items() if "dropout" not in k}).fit(
        X, y
    )
    assert not np.allclose(clf.coefs_[0], plain.coefs_[0])
    reg = DropoutMLPRegressor(**kw).fit(X, y.astype(float))
    mean, std = reg.predict(X[:5], return_std=True)
    assert mean.shape == std.shape == (5,)
    assert np.isfinite(mean).all() and (std > 0).all()
    np.testing.assert_allclose(mean, reg.predict(X[:5]), rtol=1e-12)


@pytest.mark.parametrize("method", ["fgsm", "pgd", "vat"])
def test_adversarial_training_on_conv_layers(digits, method):
    X, y = digits
    kw = dict(
        hidden_layer_sizes=(16,), conv_layers=CONV, max_iter=30, random_state=0,
        learning_rate_init=0.01, batch_size=32,
    )  # fmt: skip
    adv = AdversarialMLPClassifier(
        method=method, adversarial_epsilon=0.1, pgd_steps=3, **kw
    ).fit(X, y)
    plain = MLPClassifier(**kw).fit(X, y)
    assert not np.allclose(adv.coefs_[0], plain.coefs_[0])
    assert adv.score(X, y) > 0.9
    if method != "vat":
        # trained against the attack, it keeps more accuracy under it
        hit = [
            (m.predict(fgsm_attack(m, X, y, epsilon=0.1)) == y).mean()
            for m in (adv, plain)
        ]
        assert hit[0] > hit[1]


def test_input_gradient_of_a_conv_net_by_finite_differences(digits):
    X, y = digits
    clf = MLPClassifier(
        hidden_layer_sizes=(8,), conv_layers=CONV, activation="tanh", max_iter=5,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    rng = np.random.default_rng(0)
    # noise breaks the ties of blank pixels, where max pooling has a kink
    x, t = X[:3] + rng.uniform(0, 0.05, X[:3].shape), y[:3]
    grad = clf.input_gradient(x, t)
    for _ in range(3):
        d = rng.standard_normal(x.shape)
        h = 1e-5

        def loss(z):
            p = clf.predict_proba(z)
            return -np.log(p[np.arange(3), t]).sum()

        fd = (loss(x + h * d) - loss(x - h * d)) / (2 * h)
        assert np.sum(grad * d) == pytest.approx(fd, rel=1e-6)


def test_adversarial_regressor_on_conv_layers(digits):
    X, y = digits
    reg = AdversarialMLPRegressor(
        hidden_layer_sizes=(8,), conv_layers=CONV, max_iter=30, random_state=0,
        adversarial_epsilon=0.05, learning_rate_init=0.01, batch_size=32,
        activation="tanh",
    )  # fmt: skip
    target = 10 * X[:, :32].mean(axis=1)  # ink in the top half: a smooth target
    reg.fit(X, target)
    assert reg.coefs_[0].shape == (3, 3, 1, 4)
    assert reg.loss_curve_[-1] < 0.25 * reg.loss_curve_[0]
    assert reg.score(X, target) > 0.3


@pytest.mark.parametrize(
    "Est",
    [TangentPropMLPClassifier, TangentPropMLPRegressor, ManifoldTangentClassifier],
)
def test_tangent_propagation_on_conv_layers(digits, Est):
    X, y = digits
    kw = dict(
        hidden_layer_sizes=(8,), conv_layers=CONV, activation="tanh", max_iter=5,
        random_state=0,
    )  # fmt: skip
    if Est is ManifoldTangentClassifier:
        kw.update(cae_hidden=16, cae_max_iter=3, n_tangents=3)
    else:
        kw.update(image_shape=(8, 8))  # image tangents, the default transforms
    target = y.astype(float) if Est is TangentPropMLPRegressor else y
    est = Est(**kw).fit(X, target)
    assert est.coefs_[0].shape == (3, 3, 1, 4)
    assert est.predict(X).shape == (len(X),)
    if Est is not TangentPropMLPRegressor:
        np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)
    # the penalty is on: not the plain network of the same seed
    plain = Est(**{**kw, "tangent_alpha": 0.0}).fit(X, target)
    assert not np.allclose(est.coefs_[0], plain.coefs_[0])
    # the penalised directional derivatives are those of the fitted network
    x = X[:3] + np.random.default_rng(0).uniform(0, 0.05, X[:3].shape)  # no ties
    T = np.random.default_rng(1).standard_normal((3, 2, X.shape[1]))
    jvp = est.directional_derivatives(x, T)
    h = 1e-6
    if Est is TangentPropMLPRegressor:

        def out(z):
            return est.predict(z).reshape(len(z), -1)

    else:
        out = est.predict_proba
    num = np.stack(
        [(out(x + h * T[:, t]) - out(x - h * T[:, t])) / (2 * h) for t in range(2)],
        axis=1,
    )
    np.testing.assert_allclose(jvp, num, rtol=1e-5, atol=1e-8)


def test_tangent_propagation_flattens_a_conv_net_along_a_translation(digits):
    # Simard et al. 1992: penalising the derivative along the translation
    # tangents makes the classifier change less when the digit moves a pixel
    X, y = digits
    kw = dict(
        hidden_layer_sizes=(16,), conv_layers=CONV, image_shape=(8, 8), max_iter=30,
        random_state=0, learning_rate_init=0.01, batch_size=32,
    )  # fmt: skip
    fits = [
        TangentPropMLPClassifier(tangent_alpha=a, **kw).fit(X, y) for a in (0.0, 10.0)
    ]
    images = X.reshape(-1, 8, 8)

    def change(est):
        p = est.predict_proba(X)
        total = 0.0
        for d in [(0, 1), (1, 0), (0, -1), (-1, 0)]:
            moved = ndimage.shift(images, (0, *d), order=1, mode="constant")
            q = est.predict_proba(moved.reshape(len(X), -1))
            total += np.mean(np.sum((q - p) ** 2, axis=1))
        return total

    assert fits[1].score(X, y) > 0.85
    assert change(fits[1]) < 0.6 * change(fits[0])


def test_bagged_conv_members(digits):
    X, y = digits
    member = MLPClassifier(hidden_layer_sizes=(8,), conv_layers=CONV, max_iter=10)
    bag = BaggedMLPClassifier(member, n_estimators=3, random_state=0).fit(X, y)
    assert all(m.coefs_[0].shape == (3, 3, 1, 4) for m in bag.estimators_)
    mean = np.mean([m.predict_proba(X) for m in bag.estimators_], axis=0)
    np.testing.assert_allclose(bag.predict_proba(X), mean, rtol=1e-12)
    for bad in [dict(max_features=0.5), dict(bootstrap_features=True)]:
        with pytest.raises(ValueError, match="every feature in place"):
            clone(bag).set_params(**bad).fit(X, y)
    reg = BaggedMLPRegressor(
        MLPRegressor(hidden_layer_sizes=(8,), conv_layers=CONV, max_iter=10),
        n_estimators=2, random_state=0,
    ).fit(X, y.astype(float))  # fmt: skip
    assert reg.predict(X).shape == (len(X),)
