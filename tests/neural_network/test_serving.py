"""The serving path: a request validates cheaply, packs nothing and runs one
kernel call, and still answers exactly as the full path and scikit-learn's
checks do."""

import copy
import pickle
import threading
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.datasets import load_digits

from skreg.ensemble import BaggedMLPClassifier, BaggedMLPRegressor
from skreg.neural_network import (
    DropoutMLPClassifier,
    MLPClassifier,
    MLPRegressor,
)
from skreg.neural_network._engine import Layout, Predictor
from skreg.utils._validation import fitted_dense_rows


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of short fits
        return est.fit(X, y)


@pytest.fixture(scope="module")
def mlp(digits):
    return _fit(MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0),
                *digits)  # fmt: skip


@pytest.fixture(scope="module")
def conv(digits):
    est = MLPClassifier(conv_layers=[{"filters": 4, "kernel_size": 3, "pool": 2}],
                        image_shape=(8, 8), hidden_layer_sizes=(8,), max_iter=3,
                        random_state=0)  # fmt: skip
    return _fit(est, *digits)


def _packed_proba(est, X):
    """The outputs of the weights as the arrays hold them, by a predictor
    built from copies (what a request computed before serving was cached)."""
    layout = est._layout()
    p = Predictor.from_arrays(
        [c.copy() for c in est.coefs_], [b.copy() for b in est.intercepts_],
        layout, est.activation, est._out_kind(), est.coefs_[0].dtype,
    )  # fmt: skip
    return est._to_two_columns(p.proba(np.ascontiguousarray(X)))


def test_fit_leaves_coefs_as_views_of_the_served_vector(mlp):
    p, _ = mlp._serving
    for c in [*mlp.coefs_, *mlp.intercepts_]:
        assert np.shares_memory(c, p.theta)
    assert mlp._predictor() is p


def test_in_place_changes_of_the_weights_are_served(digits):
    X, y = digits
    est = _fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
               X, y)  # fmt: skip
    before = est.predict_proba(X[:5])
    est.coefs_[0] *= 3.0
    est.intercepts_[-1][:] = 0.5
    after = est.predict_proba(X[:5])
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(after, _packed_proba(est, X[:5]))


def test_replaced_weights_are_served(digits, mlp):
    X, _ = digits
    est = copy.deepcopy(mlp)
    est.coefs_ = [c * 2.0 for c in est.coefs_]  # new arrays, not views
    assert est._predictor() is not est._serving[0]
    np.testing.assert_array_equal(est.predict_proba(X[:7]), _packed_proba(est, X[:7]))
    est.activation = "tanh"  # set_params after the fit, as scikit-learn reads it
    np.testing.assert_array_equal(est.predict_proba(X[:7]), _packed_proba(est, X[:7]))


@pytest.mark.parametrize("make", ["mlp", "conv"])
def test_pickle_and_deepcopy_rebuild_the_serving_state(digits, make, request):
    est = request.getfixturevalue(make)
    X, _ = digits
    want = est.predict_proba(X)
    for other in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        assert "_serving" in vars(other)
        assert other._predictor() is other._serving[0]
        np.testing.assert_array_equal(other.predict_proba(X), want)
    state = est.__getstate__()
    assert "_serving" not in state and "_serving" in vars(est)


def test_one_row_equals_the_batch(digits, mlp, conv):
    X, _ = digits
    for est in (mlp, conv):
        batch = est.predict_proba(X[:20])
        rows = np.vstack([est.predict_proba(X[i : i + 1]) for i in range(20)])
        np.testing.assert_allclose(rows, batch, rtol=1e-12, atol=1e-15)


def test_fast_validation_takes_only_arrays_it_can_pass_unchanged(mlp, digits):
    X, _ = digits
    x = X[:3].copy()
    assert fitted_dense_rows(mlp, x) is x
    assert fitted_dense_rows(mlp, x.astype(np.float32)) is not None
    assert fitted_dense_rows(mlp, x.astype(np.int64)) is None  # converted
    assert fitted_dense_rows(mlp, x[:, :10]) is None  # wrong width
    assert fitted_dense_rows(mlp, x[0]) is None  # 1-D
    assert fitted_dense_rows(mlp, x.tolist()) is None
    assert fitted_dense_rows(mlp, x[:0]) is None  # no rows
    bad = x.copy()
    bad[1, 2] = np.nan
    assert fitted_dense_rows(mlp, bad) is None
    big = np.tile(x, (2000, 1))
    assert fitted_dense_rows(mlp, big) is big
    big[-1, -1] = np.inf
    assert fitted_dense_rows(mlp, big) is None
    huge = np.full((2000, x.shape[1]), 1e308)  # a sum that overflows
    assert fitted_dense_rows(mlp, huge) is huge


def test_fast_finiteness_check_agrees_with_isfinite_in_every_layout(mlp):
    # the aggregate test must reject exactly the arrays holding a NaN or an
    # infinity, whatever the layout, dtype and magnitude of the rest
    rng = np.random.default_rng(0)
    d = mlp.n_features_in_
    for trial in range(200):
        n = int(rng.integers(1, 6))
        dtype = (np.float32, np.float64)[trial % 2]
        scales = (1.0, 1e20, 1e200) if dtype == np.float64 else (1.0, 1e20)
        scale = scales[trial % len(scales)]
        X = (rng.standard_normal((n, d)) * scale).astype(dtype)
        if trial % 4:
            X.flat[rng.integers(X.size)] = (np.nan, np.inf, -np.inf)[trial % 3]
        for view in (X, np.asfortranarray(X), np.repeat(X, 2, axis=1)[:, ::2]):
            got = fitted_dense_rows(mlp, view)
            assert (got is None) == (not np.isfinite(view).all()), (trial, view.flags)


def test_bad_input_at_predict_gets_scikit_learns_errors(mlp, digits):
    X, _ = digits
    bad = X[:2].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        mlp.predict_proba(bad)
    with pytest.raises(ValueError, match="expecting 64 features"):
        mlp.predict(X[:2, :5])
    with pytest.raises(ValueError, match="Expected 2D array"):
        mlp.predict(X[0])
    with pytest.raises(ValueError, match="minimum of 1 is required"):
        mlp.predict(X[:0])
    # assume_finite skips the finiteness check, as it does in scikit-learn
    with sklearn.config_context(assume_finite=True):
        out = mlp.predict_proba(bad)
    assert out.shape == (2, 10)


def test_feature_names_are_still_checked(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    df = pd.DataFrame(X, columns=[f"p{i}" for i in range(X.shape[1])])
    est = _fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
               df, y)  # fmt: skip
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        est.predict(X[:2])
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df[df.columns[::-1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the array has no names
        from_array = est.predict_proba(X[:4])
    np.testing.assert_array_equal(est.predict_proba(df[:4]), from_array)


def test_predict_changes_nothing_on_the_estimator(mlp, digits):
    X, _ = digits
    before = dict(vars(mlp))
    mlp.predict_proba(X[:1])
    mlp.predict(X[:50])
    assert vars(mlp).keys() == before.keys()
    assert all(vars(mlp)[k] is v for k, v in before.items())


@pytest.mark.parametrize("make", ["mlp", "conv"])
def test_threads_serving_one_model_get_sequential_results(digits, make, request):
    est = request.getfixturevalue(make)
    X, _ = digits
    rows = [X[i : i + 1] for i in range(40)] + [X[:37], X[100:300]]
    want = [est.predict_proba(r) for r in rows]
    got = {}
    start = threading.Barrier(8)

    def serve(t):
        start.wait()
        for _ in range(3):
            for i, r in enumerate(rows):
                p = est.predict_proba(r)
                if not np.array_equal(p, want[i]):
                    got[t] = i
                    return
        got.setdefault(t, None)

    threads = [threading.Thread(target=serve, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == dict.fromkeys(range(8))


def test_mc_dropout_serving_is_reproducible(digits):
    X, y = digits
    est = _fit(DropoutMLPClassifier(hidden_layer_sizes=(8,), max_iter=3,
                                    inference="mc_arithmetic", random_state=0),
               X, y)  # fmt: skip
    assert not est._serves_deterministically()
    a = est.predict_proba(X[:9])
    b = np.vstack([est.predict_proba(X[i : i + 1]) for i in range(9)])
    np.testing.assert_allclose(a, b, rtol=1e-12)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict_proba(X[:9]), a)


def _member_by_member(est, X):
    serving = est._serving
    est._serving = None
    try:
        return est.predict_proba(X) if hasattr(est, "classes_") else est.predict(X)
    finally:
        est._serving = serving


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("max_features", [1.0, 0.5])
def test_bagged_members_run_in_one_call_with_the_same_result(
    digits, max_features, dtype
):
    X, y = digits
    X = X.astype(dtype)
    member = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3)
    # nine members: more than numpy's pairwise summation block (eight), so
    # a mean taken in another order than member by member would show
    est = _fit(BaggedMLPClassifier(member, n_estimators=9, max_features=max_features,
                                   random_state=0), X, y)  # fmt: skip
    assert est._serving.ok and len(est._serving.groups) == 1
    # the mean is taken in the kernel call
    assert est._serving.mean_proba(est.estimators_, X, est.classes_) is not None
    fused = est.predict_proba(X)
    assert fused.dtype == dtype
    np.testing.assert_array_equal(fused, _member_by_member(est, X))
    for i in range(3):  # one-row requests (the members' one-row products)
        row = X[i : i + 1]
        np.testing.assert_array_equal(
            est.predict_proba(row), _member_by_member(est, row)
        )
    est.set_params(voting="hard")
    np.testing.assert_array_equal(est.predict_proba(X), _member_by_member(est, X))
    est.set_params(voting="soft")
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded._serving.ok
    np.testing.assert_array_equal(loaded.predict_proba(X), fused)
    # a member changed after the fit: the ensemble asks each member
    est.estimators_[1].coefs_ = [c * 0.5 for c in est.estimators_[1].coefs_]
    assert est._serving.outputs(est.estimators_, X, est.classes_) is None
    assert est._serving.mean_proba(est.estimators_, X, est.classes_) is None
    np.testing.assert_array_equal(est.predict_proba(X), _member_by_member(est, X))


def test_bagged_regressor_and_foreign_members(digits):
    X, y = digits
    yr = np.c_[y, X.sum(axis=1)].astype(float)
    est = _fit(BaggedMLPRegressor(MLPRegressor(hidden_layer_sizes=(8,), max_iter=3),
                                  n_estimators=3, random_state=0), X, yr)  # fmt: skip
    assert est._serving.ok
    mean, std = est.predict(X, return_std=True)
    serving = est._serving
    est._serving = None
    want_mean, want_std = est.predict(X, return_std=True)
    est._serving = serving
    np.testing.assert_array_equal(mean, want_mean)
    np.testing.assert_array_equal(std, want_std)
    # MC-dropout members are not the deterministic pass: not stacked
    mc = _fit(BaggedMLPClassifier(DropoutMLPClassifier(hidden_layer_sizes=(4,),
              max_iter=2, inference="mc_arithmetic"), n_estimators=2,
              random_state=0), X, y)  # fmt: skip
    assert not mc._serving.ok
    assert mc.predict_proba(X[:3]).shape == (3, 10)


def test_layout_views_share_memory_with_theta():
    layout = Layout([5, 4, 3])
    theta = np.arange(layout.n_params, dtype=np.float64)
    coefs, intercepts = layout.views(theta)
    c2, b2 = layout.unpack(theta)
    for a, b in zip([*coefs, *intercepts], [*c2, *b2], strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.shares_memory(a, theta)
