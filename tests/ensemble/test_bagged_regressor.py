"""BaggedMLPRegressor: mean and spread, eq. 7.50, OOB, seeds, weights, bad input."""

import threading
import warnings

import numpy as np
import pytest
import sklearn
from joblib import parallel_config
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.preprocessing import scale
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.fixes import parse_version

from skreg.ensemble import BaggedMLPRegressor
from skreg.neural_network import DropoutMLPRegressor, MLPClassifier, MLPRegressor
from skreg.neural_network._engine import (
    EngineConfig,
    Layout,
    Output,
    glorot_init,
    loss_and_gradient,
)

from .._instances import STRICT_XFAIL
from ..test_contracts import assert_same_fitted_state

# scikit-learn 1.8 made bagging draw rows with probabilities proportional to
# sample_weight; skreg follows 1.8, so comparisons of those draws need it.
_DRAWS_LIKE_SKLEARN = parse_version(sklearn.__version__) >= parse_version("1.8")
_NEEDS_18 = "scikit-learn < 1.8 draws bagging samples differently"

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:.*no out-of-bag prediction:UserWarning"),
]


def make_data(n=90, d=6, n_outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    W = rng.standard_normal((d, n_outputs))
    Y = np.tanh(X @ W) + 0.1 * rng.standard_normal((n, n_outputs))
    return X, (Y[:, 0] if n_outputs == 1 else Y)


def small(**kw):
    member = kw.pop(
        "estimator",
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=15, learning_rate_init=0.02),
    )
    return BaggedMLPRegressor(member, **{"n_estimators": 4, "random_state": 0, **kw})


def sk_mlp(**kw):
    from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

    return SklearnMLPRegressor(
        **{"hidden_layer_sizes": (8,), "max_iter": 15, "learning_rate_init": 0.02, **kw}
    )


def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return scale(X), scale(y)


# --- predict: the mean and the spread of the members --------------------------
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_predict_is_the_mean_and_std_of_the_members(seed, n_outputs):
    X, y = make_data(n_outputs=n_outputs, seed=seed)
    bag = small(random_state=seed).fit(X, y)
    preds = np.stack([m.predict(X) for m in bag.estimators_])
    shape = (90,) if n_outputs == 1 else (90, n_outputs)
    assert preds.shape[1:] == shape and bag.n_outputs_ == n_outputs
    mean = bag.predict(X)
    assert isinstance(mean, np.ndarray) and mean.shape == shape
    np.testing.assert_allclose(mean, preds.mean(axis=0), rtol=1e-12, atol=1e-15)
    mean2, std = bag.predict(X, return_std=True)
    assert mean2.shape == std.shape == shape
    np.testing.assert_array_equal(mean2, mean)
    np.testing.assert_allclose(std, preds.std(axis=0, ddof=0), rtol=1e-10, atol=1e-15)
    assert np.all(std >= 0)
    assert bag.score(X, y) == pytest.approx(r2_score(y, mean))


def test_one_member_has_zero_spread():
    X, y = make_data()
    bag = small(n_estimators=1).fit(X, y)
    mean, std = bag.predict(X, return_std=True)
    np.testing.assert_array_equal(mean, bag.estimators_[0].predict(X))
    np.testing.assert_array_equal(std, np.zeros(90))


def _sine(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    return x[:, None], np.sin(3 * x) + 0.1 * rng.standard_normal(n)


def test_spread_grows_outside_the_training_range(seed):
    """Trained on x in [-1, 1]: the members agree inside and part ways
    outside, so the spread is much larger there.  The band mean ± 2 std is
    about the fitted mean function, not a prediction interval: it covers
    the noise-free function more often than noisy held-out observations."""
    X, y = _sine(seed, 200)
    member = MLPRegressor(
        hidden_layer_sizes=(32,), solver="lbfgs", alpha=1e-3, max_iter=300
    )
    bag = BaggedMLPRegressor(member, n_estimators=10, random_state=seed).fit(X, y)
    outside = np.r_[np.linspace(-3, -1.5, 50), np.linspace(1.5, 3, 50)][:, None]
    _, std_out = bag.predict(outside, return_std=True)
    X_new, y_new = _sine(seed + 100, 400)  # held out, inside the range
    mean_in, std_in = bag.predict(X_new, return_std=True)
    ratio = np.median(std_out) / np.median(std_in)
    assert ratio > 5, ratio
    covers_y = np.mean(np.abs(y_new - mean_in) <= 2 * std_in)
    covers_f = np.mean(np.abs(np.sin(3 * X_new[:, 0]) - mean_in) <= 2 * std_in)
    assert covers_y < covers_f


# --- eq. 7.50 ------------------------------------------------------------------
def test_error_decomposition_is_eq_7_50_on_diabetes(seed):
    X, y = diabetes()
    member = MLPRegressor(
        hidden_layer_sizes=(16,), max_iter=40, learning_rate_init=0.01
    )
    bag = BaggedMLPRegressor(member, n_estimators=5, random_state=seed)
    bag.fit(X[:300], y[:300])
    X_te, y_te = X[300:], y[300:]
    d = bag.error_decomposition(X_te, y_te)
    assert type(d.k) is int and d.k == 5
    assert all(type(v) is float for v in (d.v, d.c, d.eq4, d.ensemble_error))
    assert d.eq4 == pytest.approx(d.ensemble_error, rel=1e-12)
    assert d.eq4 == pytest.approx(d.v / 5 + 4 * d.c / 5, rel=1e-12)
    # by hand: e_i = f_i(x) - y, E over samples
    errs = [m.predict(X_te) - y_te for m in bag.estimators_]
    assert d.v == pytest.approx(np.mean([np.mean(e * e) for e in errs]), rel=1e-12)
    pairs = [np.mean(errs[i] * errs[j]) for i in range(5) for j in range(5) if i != j]
    assert d.c == pytest.approx(np.mean(pairs), rel=1e-10)
    assert d.c <= d.v + 1e-12  # Cauchy-Schwarz on the mean
    # ensemble_error is the MSE of predict, v the members' mean MSE
    assert d.ensemble_error == pytest.approx(
        mean_squared_error(y_te, bag.predict(X_te)), rel=1e-12
    )
    assert d.v == pytest.approx(
        np.mean([mean_squared_error(y_te, m.predict(X_te)) for m in bag.estimators_]),
        rel=1e-12,
    )
    assert d.ensemble_error < d.v  # bagging helps: the members disagree

    one = BaggedMLPRegressor(member, n_estimators=1, random_state=seed).fit(X, y)
    one = one.error_decomposition(X, y)
    assert one.k == 1 and np.isnan(one.c) and one.eq4 == one.v
    assert one.ensemble_error == pytest.approx(one.v, rel=1e-12)


def test_error_decomposition_averages_over_outputs_and_checks_y():
    X, Y = make_data(n_outputs=2)
    bag = small(n_estimators=3, max_features=0.5).fit(X, Y)
    d = bag.error_decomposition(X, Y)
    assert d.eq4 == pytest.approx(d.ensemble_error, rel=1e-12)
    errs = [
        m.predict(X[:, f]) - Y
        for m, f in zip(bag.estimators_, bag.estimators_features_, strict=True)
    ]
    assert d.v == pytest.approx(np.mean([np.mean(e * e) for e in errs]), rel=1e-12)
    assert d.ensemble_error == pytest.approx(
        mean_squared_error(Y, bag.predict(X)), rel=1e-12
    )
    with pytest.raises(ValueError, match=r"2 output\(s\), got shape \(90,\)"):
        bag.error_decomposition(X, Y[:, 0])
    with pytest.raises(ValueError, match="one row per row of X"):
        bag.error_decomposition(X, Y[:80])
    with pytest.raises(ValueError, match="(?i)nan"):
        bag.error_decomposition(X, np.full((90, 2), np.nan))
    one = small(n_estimators=2).fit(X, Y[:, 0])
    d1 = one.error_decomposition(X, Y[:, 0])
    assert one.error_decomposition(X, Y[:, :1]) == d1  # a column is fine here


# --- out of bag ----------------------------------------------------------------
def _oob_by_hand(bag, X):
    n = X.shape[0]
    acc, votes = np.zeros((n, bag.n_outputs_)), np.zeros(n)
    members = zip(
        bag.estimators_, bag.estimators_samples_, bag.estimators_features_, strict=True
    )
    for m, s, f in members:
        oob = np.setdiff1d(np.arange(n), s)
        acc[oob] += m.predict(X[oob][:, f]).reshape(oob.shape[0], -1)
        votes[oob] += 1
    return acc, votes


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_oob_leaves_out_samples_without_prediction_and_warns(n_outputs):
    X, y = make_data(n=60, n_outputs=n_outputs)
    with pytest.warns(UserWarning, match="no out-of-bag prediction"):
        bag = small(n_estimators=2, oob_score=True).fit(X, y)
    acc, votes = _oob_by_hand(bag, X)
    has = votes > 0
    assert 0 < has.sum() < 60
    pred = bag.oob_prediction_
    assert pred.shape == y.shape
    pred = pred.reshape(60, -1)
    assert np.isnan(pred[~has]).all()
    np.testing.assert_allclose(pred[has], acc[has] / votes[has, None], rtol=1e-12)
    # R² over the samples with an out-of-bag prediction only
    expected = r2_score(y[has], bag.oob_prediction_[has])
    assert bag.oob_score_ == pytest.approx(expected, rel=1e-12)


def test_oob_without_missing_samples_has_no_warning(seed):
    X, y = make_data(n=60, seed=seed)
    member = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=50)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*out-of-bag")
        bag = small(estimator=member, n_estimators=12, oob_score=True).fit(X, y)
    assert np.isfinite(bag.oob_prediction_).all()
    assert bag.oob_score_ == pytest.approx(r2_score(y, bag.oob_prediction_))
    assert 0.3 < bag.oob_score_ < 1.0
    # a refit without oob_score removes the oob attributes
    bag.set_params(oob_score=False).fit(X, y)
    assert not hasattr(bag, "oob_score_") and not hasattr(bag, "oob_prediction_")


# --- seeds, threads, warm start ------------------------------------------------
def test_same_result_for_any_n_jobs_and_the_threading_backend():
    X, y = make_data()
    kw = dict(n_estimators=5, oob_score=True, max_features=0.5)
    ref = small(**kw).fit(X, y)
    ref_mean, ref_std = ref.predict(X, return_std=True)
    fits = [small(n_jobs=n_jobs, **kw).fit(X, y) for n_jobs in (2, -1)]
    with parallel_config(backend="threading", n_jobs=2):
        fits.append(small(**kw).fit(X, y))
    for bag in fits:
        assert_same_fitted_state(ref, bag)
        mean, std = bag.predict(X, return_std=True)
        np.testing.assert_array_equal(mean, ref_mean)
        np.testing.assert_array_equal(std, ref_std)
        assert bag.oob_score_ == ref.oob_score_
        assert bag.error_decomposition(X, y) == ref.error_decomposition(X, y)
    out = [None, None]

    def work(i):
        out[i] = small(n_jobs=2, **kw).fit(X, y)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in out:
        assert_same_fitted_state(ref, o)


def test_warm_start_grows_to_the_same_ensemble():
    X, y = make_data(n_outputs=2)
    full = small(n_estimators=5, oob_score=True).fit(X, y)
    grown = small(n_estimators=2, oob_score=True, warm_start=True).fit(X, y)
    first = grown.estimators_[:2]
    grown.set_params(n_estimators=5).fit(X, y)
    assert grown.estimators_[:2] == first  # kept, not refitted
    assert_same_fitted_state(full, grown)
    np.testing.assert_array_equal(grown.predict(X), full.predict(X))
    with pytest.warns(UserWarning, match="does not fit new members"):
        grown.fit(X, y)
    with pytest.raises(ValueError, match="as many outputs"):
        grown.set_params(n_estimators=6).fit(X, y[:, 0])
    with pytest.raises(ValueError, match="same data"):
        grown.set_params(n_estimators=6).fit(X[:50], y[:50])
    assert len(grown.estimators_) == 5  # the failed fits changed nothing
    assert_same_fitted_state(full, grown)


# --- training on distinct rows -------------------------------------------------
def test_distinct_rows_with_multiplicities_is_the_bootstrap_objective(seed):
    # The premise of the fast path, for the squared-error output.
    X, y = make_data(n_outputs=2, seed=seed)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, X.shape[0], X.shape[0])
    counts = np.bincount(idx, minlength=X.shape[0])
    rows = np.flatnonzero(counts)
    layout = Layout([X.shape[1], 7, 2])
    coefs, intercepts = glorot_init(
        layout.units, "relu", np.random.RandomState(seed), np.float64
    )
    theta = layout.pack(coefs, intercepts, np.float64)
    for cfg in (EngineConfig(alpha=0.1), EngineConfig(alpha=0.0, max_norm=None)):
        loss_rep, grad_rep = loss_and_gradient(
            theta, layout, X[idx], y[idx], None, cfg, Output.IDENTITY
        )
        loss_w, grad_w = loss_and_gradient(
            theta, layout, X[rows], y[rows], counts[rows].astype(float), cfg,
            Output.IDENTITY,
        )  # fmt: skip
        np.testing.assert_allclose(loss_w, loss_rep, rtol=1e-12)
        np.testing.assert_allclose(grad_w, grad_rep, rtol=1e-10, atol=1e-14)


def test_members_train_on_their_weighted_rows_and_columns(seed):
    X, y = make_data(seed=seed)
    bag = small(n_estimators=3, max_features=0.5, random_state=seed).fit(X, y)
    f, s = bag.estimators_features_[0], bag.estimators_samples_[0]
    counts = np.bincount(s, minlength=X.shape[0])
    rows = np.flatnonzero(counts)
    m = bag.estimators_[0]
    assert m.n_features_in_ == 3
    alone = clone(m).fit(X[rows][:, f], y[rows], sample_weight=counts[rows])
    np.testing.assert_array_equal(alone.predict(X[:, f]), m.predict(X[:, f]))


def test_dropout_members_and_column_vector_y():
    X, y = make_data()
    member = DropoutMLPRegressor(
        hidden_layer_sizes=(16,), max_iter=20, hidden_dropout=0.3, input_dropout=0.1
    )
    bag = small(estimator=member, n_estimators=3).fit(X, y)
    assert all(type(m) is DropoutMLPRegressor for m in bag.estimators_)
    assert bag.predict(X).shape == (90,)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        col = small(n_estimators=2).fit(X, y[:, None])
    ref = small(n_estimators=2).fit(X, y)
    assert col.n_outputs_ == 1
    np.testing.assert_array_equal(col.predict(X), ref.predict(X))


# --- sample weights ------------------------------------------------------------
def test_sample_weight_is_the_probability_of_the_draw():
    X, y = make_data(n=40)
    w = np.random.default_rng(0).integers(0, 4, size=40).astype(float)
    w[:3] = [0, 1, 3]
    for bootstrap in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            bag = small(n_estimators=5, bootstrap=bootstrap).fit(X, y, sample_weight=w)
        for s in bag.estimators_samples_:
            assert not np.isin(np.flatnonzero(w == 0), s).any()
    # weights are not handed to the members: a member is fitted on its drawn
    # rows with their multiplicities only
    bag = small(n_estimators=2).fit(X, y, sample_weight=w)
    s = bag.estimators_samples_[0]
    counts = np.bincount(s, minlength=40)
    rows = np.flatnonzero(counts)
    alone = clone(bag.estimators_[0]).fit(X[rows], y[rows], sample_weight=counts[rows])
    np.testing.assert_array_equal(alone.predict(X), bag.estimators_[0].predict(X))
    # equal weights draw as no weights
    ref = small(n_estimators=3, oob_score=True).fit(X, y)
    ones = small(n_estimators=3, oob_score=True).fit(X, y, sample_weight=np.ones(40))
    assert_same_fitted_state(ref, ones)


@pytest.mark.skipif(not _DRAWS_LIKE_SKLEARN, reason=_NEEDS_18)
def test_rows_and_columns_are_baggingregressors(seed):
    from sklearn.ensemble import BaggingRegressor

    X, y = make_data(seed=seed)
    w = np.random.default_rng(seed).uniform(0.0, 2.0, size=90)
    cases = [
        (dict(), None),
        (dict(max_features=0.5, bootstrap_features=True), None),
        (dict(max_samples=0.8, max_features=0.5), w),
    ]
    for params, sw in cases:
        bag = small(n_estimators=4, random_state=seed, **params)
        bag.fit(X, y, sample_weight=sw)
        ref = BaggingRegressor(
            Ridge(), n_estimators=4, random_state=seed, **params
        ).fit(X, y, sample_weight=sw)
        for a, b in zip(bag.estimators_samples_, ref.estimators_samples_, strict=True):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(
            bag.estimators_features_, ref.estimators_features_, strict=True
        ):
            np.testing.assert_array_equal(a, b)


def test_bad_sample_weight_leaves_no_fitted_model():
    X, y = make_data()
    unfitted = small()
    with pytest.raises(ValueError, match="Negative values"):
        unfitted.fit(X, y, sample_weight=-np.ones(90))
    with pytest.raises(ValueError, match="sums to 0|at least one non-zero"):
        unfitted.fit(X, y, sample_weight=np.zeros(90))
    assert not hasattr(unfitted, "n_features_in_")  # failed fits change nothing
    assert not [k for k in vars(unfitted) if k.endswith("_") or k.startswith("_")]
    with pytest.raises(NotFittedError):
        unfitted.predict(X)


# --- the template --------------------------------------------------------------
@pytest.mark.parametrize(
    "estimator, match",
    [
        (
            Ridge(),
            "skreg neural regressor .* or scikit-learn's .*MLPRegressor, got Ridge. "
            r"To bag any other estimator, use sklearn.ensemble.BaggingRegressor",
        ),
        (MLPClassifier(), "got MLPClassifier"),
        (MLPRegressor, "instance"),
    ],
)
def test_bad_estimator_gives_a_clear_error(estimator, match):
    X, y = make_data()
    bag = small(estimator=estimator)
    with pytest.raises(TypeError, match=match):
        bag.fit(X, y)
    assert not hasattr(bag, "n_features_in_")


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_estimators=0), "n_estimators"),
        (dict(max_samples=1.5), "max_samples"),
        (dict(max_features=7), "max_features=7 must be <= n_features=6"),
        (dict(oob_score=True, bootstrap=False), "bootstrap=True"),
        (dict(voting="soft"), "voting"),
    ],
)
def test_bad_parameters_give_clear_errors(params, match):
    X, y = make_data()
    with pytest.raises((ValueError, TypeError), match=match):
        clone(small()).set_params(**params).fit(X, y)


def test_template_is_left_untouched_and_default_is_mlp():
    X, y = make_data()
    member = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5)
    params = member.get_params()
    bag = small(estimator=member, n_estimators=2).fit(X, y)
    assert member.get_params() == params and not hasattr(member, "coefs_")
    assert all(m is not member for m in bag.estimators_)
    assert "voting" not in BaggedMLPRegressor().get_params()
    default = BaggedMLPRegressor(n_estimators=1, random_state=0).fit(X[:30], y[:30])
    assert type(default.estimators_[0]) is MLPRegressor
    assert default.estimators_[0].hidden_layer_sizes == (100,)


# --- interrupted fits ----------------------------------------------------------
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ctrl_c_stops_every_member_and_leaves_no_fitted_model(n_jobs):
    import _thread
    import time

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 16))
    y = X.sum(axis=1)
    member = MLPRegressor(
        hidden_layer_sizes=(16,), max_iter=10**6, tol=0.0, n_iter_no_change=10**9
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        BaggedMLPRegressor(clone(member).set_params(max_iter=1), n_estimators=2).fit(
            X, y
        )  # compile first
    bag = BaggedMLPRegressor(member, n_estimators=6, n_jobs=n_jobs, random_state=0)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    with (
        pytest.raises(KeyboardInterrupt),
        pytest.warns(UserWarning, match="interrupted"),
    ):
        bag.fit(X, y)
    assert time.perf_counter() - t0 < 3.5  # interrupted at 1 s
    time.sleep(0.2)
    cpu = time.process_time()
    time.sleep(0.5)
    assert time.process_time() - cpu < 0.25  # no member still training
    assert not [k for k in vars(bag) if k.endswith("_") or k.startswith("_")]
    with pytest.raises(NotFittedError):
        bag.predict(X)


# --- scikit-learn members ------------------------------------------------------
def test_sklearn_mlp_members_fit_as_in_baggingregressor():
    from sklearn.ensemble import BaggingRegressor
    from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

    X, y = make_data()
    w = np.random.default_rng(0).uniform(0.0, 2.0, size=90)
    cases = [(dict(), None), (dict(max_features=0.5), w)]
    for params, sw in cases[: 2 if _DRAWS_LIKE_SKLEARN else 1]:
        bag = small(estimator=sk_mlp(), n_estimators=3, **params)
        bag.fit(X, y, sample_weight=sw)
        ref = BaggingRegressor(sk_mlp(), n_estimators=3, random_state=0, **params)
        ref.fit(X, y, sample_weight=sw)
        assert all(type(m) is SklearnMLPRegressor for m in bag.estimators_)
        np.testing.assert_array_equal(bag.predict(X), ref.predict(X))
    par = small(estimator=sk_mlp(), n_estimators=3, n_jobs=2, **params)
    par.fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(par.predict(X), bag.predict(X))
    # the rest of the surface works with them too, multi-output included
    X, Y = make_data(n_outputs=2)
    bag = small(estimator=sk_mlp(), n_estimators=4, oob_score=True).fit(X, Y)
    acc, votes = _oob_by_hand(bag, X)
    has = votes > 0
    np.testing.assert_allclose(bag.oob_prediction_[has], acc[has] / votes[has, None])
    mean, std = bag.predict(X, return_std=True)
    assert mean.shape == std.shape == (90, 2)
    d = bag.error_decomposition(X, Y)
    assert d.eq4 == pytest.approx(d.ensemble_error, rel=1e-12)


@parametrize_with_checks(
    [
        BaggedMLPRegressor(
            sk_mlp(hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=0.001),
            n_estimators=3,
        )
    ],
    expected_failed_checks=lambda est: {
        # scikit-learn's reason for its own BaggingRegressor
        "check_sample_weight_equivalence_on_dense_data": (
            "sample_weight is not equivalent to removing/repeating samples."
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "sample_weight is not equivalent to removing/repeating samples."
        ),
    },
    **STRICT_XFAIL,
)
def test_sklearn_mlp_members_pass_the_estimator_checks(estimator, check):
    check(estimator)
