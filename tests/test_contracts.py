"""skreg's own promises (SPEC section 0), over every discovered estimator.

These go beyond scikit-learn's checks: persistence with skops and joblib,
read-only and Fortran-ordered input, float32 end to end, bit-identical
refits under the same ``random_state`` (also from two threads at once),
and clear errors on NaN/inf.
"""

import threading

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone

from skreg.utils import skops_trusted_types

from ._instances import contract_data, make_instances

_OUTPUT_METHODS = ("predict", "predict_proba", "decision_function", "transform")


INSTANCES = make_instances()
ids = [f"{type(e).__name__}-{i}" for i, e in enumerate(INSTANCES)]


def _fit(est, X, y):
    est = clone(est)
    if "random_state" in est.get_params():
        est.set_params(random_state=0)
    return est.fit(X, y)


def _outputs(est, X):
    out = {}
    for name in _OUTPUT_METHODS:
        if hasattr(est, name):
            out[name] = np.asarray(getattr(est, name)(X))
    assert out, f"{type(est).__name__} has no output method"
    return out


def _fitted_state(obj, prefix=""):
    """Flatten every fitted attribute (name ends in '_') to {path: value}."""
    state = {}
    for key, value in sorted(vars(obj).items()):
        if not key.endswith("_") or key.startswith("_"):
            continue
        state.update(_flatten(value, prefix + key))
    return state


def _flatten(value, path):
    if isinstance(value, BaseEstimator):
        return _fitted_state(value, path + ".")
    if isinstance(value, list | tuple):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{path}[{i}]"))
        return out
    return {path: value}


def assert_same_fitted_state(a, b):
    sa, sb = _fitted_state(a), _fitted_state(b)
    assert sa.keys() == sb.keys()
    for key in sa:
        va, vb = sa[key], sb[key]
        if isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype, key
            np.testing.assert_array_equal(va, vb, err_msg=key, strict=True)
        elif isinstance(va, float) and np.isnan(va):
            assert np.isnan(vb), key
        else:
            assert va == vb, key


def _assert_same_outputs(oa, ob):
    assert oa.keys() == ob.keys()
    for name in oa:
        np.testing.assert_array_equal(oa[name], ob[name], err_msg=name)


@pytest.fixture(scope="module")
def data():
    return contract_data()


@pytest.mark.parametrize("estimator", INSTANCES, ids=ids)
def test_joblib_round_trip(estimator, data, tmp_path):
    X, y = data
    est = _fit(estimator, X, y)
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    _assert_same_outputs(_outputs(est, X), _outputs(loaded, X))


@pytest.mark.parametrize("estimator", INSTANCES, ids=ids)
def test_skops_round_trip(estimator, data):
    sio = pytest.importorskip("skops.io")
    X, y = data
    est = _fit(estimator, X, y)
    dumped = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=dumped)
    # the documented list (docs/user_guide/serving.rst) covers every model
    foreign = sorted(set(untrusted) - set(skops_trusted_types()))
    assert not foreign, f"skops must not need to trust these types: {foreign}"
    loaded = sio.loads(dumped, trusted=skops_trusted_types())
    _assert_same_outputs(_outputs(est, X), _outputs(loaded, X))


@pytest.mark.parametrize("estimator", INSTANCES, ids=ids)
def test_readonly_memmap_and_fortran_input(estimator, data, tmp_path):
    X, y = data
    reference = _outputs(_fit(estimator, X, y), X)

    path = tmp_path / "X.joblib"
    joblib.dump(X, path)
    X_mm = joblib.load(path, mmap_mode="r")
    assert not X_mm.flags.writeable
    _assert_same_outputs(reference, _outputs(_fit(estimator, X_mm, y), X_mm))

    X_f = np.asfortranarray(X)
    _assert_same_outputs(reference, _outputs(_fit(estimator, X_f, y), X_f))

    X_strided = np.repeat(X, 2, axis=1)[:, ::2]
    assert not X_strided.flags.c_contiguous
    _assert_same_outputs(reference, _outputs(_fit(estimator, X_strided, y), X_strided))


@pytest.mark.parametrize("estimator", INSTANCES, ids=ids)
def test_float32_stays_float32(estimator, data):
    X, y = data
    X32 = X.astype(np.float32)
    est = _fit(estimator, X32, y)
    for path, value in _fitted_state(est).items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            if path.startswith(("loss_curve", "validation_scores", "error_")):
                continue  # scalar histories, as scikit-learn keeps them
            assert value.dtype == np.float32, f"{path} is {value.dtype}"
    for name, out in _outputs(est, X32).items():
        if out.dtype.kind == "f":
            assert out.dtype == np.float32, f"{name} returned {out.dtype}"


@pytest.mark.parametrize("estimator", INSTANCES, ids=ids)
def test_same_random_state_is_bit_identical_also_in_threads(estimator, data):
    X, y = data
    first = _fit(estimator, X, y)
    second = _fit(estimator, X, y)
    assert_same_fitted_state(first, second)

    results = [None, None]

    def work(i):
        results[i] = _fit(estimator, X, y)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert r is not None
        assert_same_fitted_state(first, r)


@pytest.mark.parametrize("estimator", INSTANCES, ids=ids)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises_clear_error(estimator, data, bad):
    X, y = data
    X_bad = X.copy()
    X_bad[3, 2] = bad
    with pytest.raises(ValueError, match=r"(?i)nan|inf"):
        _fit(estimator, X_bad, y)
    est = _fit(estimator, X, y)
    for name in _OUTPUT_METHODS:
        if hasattr(est, name):
            with pytest.raises(ValueError, match=r"(?i)nan|inf"):
                getattr(est, name)(X_bad)
    assert np.isfinite(X).all(), "input was modified"
