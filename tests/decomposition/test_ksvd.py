"""K-SVD: planted-dictionary recovery, the fitted surface, degenerate and bad input."""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import skreg.decomposition._ksvd as ksvd_module
from skreg.decomposition import KSVD, sparse_encode
from skreg.decomposition._kernels import ksvd_update

from .._reference import ksvd_sweep_reference


def planted(seed, n_samples=1000, n_features=20, n_atoms=40, k=3, noise=0.01):
    """Signals from a random unit-norm dictionary, k-sparse Gaussian codes."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = np.zeros((n_samples, n_atoms))
    for i in range(n_samples):
        C[i, rng.choice(n_atoms, k, replace=False)] = rng.standard_normal(k)
    return C @ D + noise * rng.standard_normal((n_samples, n_features)), D


def fit_quietly(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


def recovered(D_true, D_learned, cos=0.99):
    return np.mean(np.abs(D_true @ D_learned.T).max(axis=1) > cos)


def test_recovers_planted_dictionary(seed):
    """40 planted atoms in R^20, 1000 signals, k=3, noise 0.01, max_iter=40.

    Measured recovery (|cos| > 0.99) over data seeds 0-9: 0.875-0.975, mean
    0.92 (seeds 0, 1, 2: 0.925 each); 0.775-0.925 before rarely used atoms
    were replaced too.  Threshold: 85%.
    """
    X, D = planted(seed)
    est = fit_quietly(
        KSVD(40, transform_n_nonzero_coefs=3, max_iter=40, random_state=0), X
    )
    assert recovered(D, est.components_) >= 0.85
    # measured final / initial rms error: 0.22-0.39
    assert est.error_[-1] < 0.5 * est.error_[0]


def test_fitted_attributes(rng):
    X = rng.standard_normal((120, 10))
    est = fit_quietly(
        KSVD(15, transform_n_nonzero_coefs=2, max_iter=6, random_state=0), X
    )
    assert est.components_.shape == (15, 10)
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0, rtol=1e-10)
    assert est.error_.shape == (est.n_iter_,) and est.error_.dtype == np.float64
    assert 1 <= est.n_iter_ <= 6
    assert est.error_[-1] < est.error_[0]
    assert est.n_components_ == 15 and est.n_features_in_ == 10
    code = est.transform(X)
    assert code.shape == (120, 15)
    assert (code != 0).sum(axis=1).max() <= 2
    np.testing.assert_allclose(
        code, sparse_encode(X, est.components_, n_nonzero_coefs=2), rtol=1e-12
    )
    np.testing.assert_allclose(est.inverse_transform(code), code @ est.components_)
    assert list(est.get_feature_names_out()[:2]) == ["ksvd0", "ksvd1"]


def test_default_n_components_and_k(rng):
    X = rng.standard_normal((50, 12))
    est = fit_quietly(KSVD(max_iter=2, random_state=0), X)
    assert est.components_.shape == (12, 12)
    assert (est.transform(X) != 0).sum(axis=1).max() == 1  # int(12 / 10)


def test_error_history_follows_the_residual(rng):
    X, _ = planted(1, n_samples=300)
    est = fit_quietly(
        KSVD(40, transform_n_nonzero_coefs=3, max_iter=5, tol=0, random_state=0), X
    )
    assert est.n_iter_ == 5
    code = est.transform(X)
    rms = np.sqrt(np.mean((X - code @ est.components_) ** 2))
    # a final OMP pass can only be as good as (or better than) the last sweep
    # up to the greedy nature of OMP; it stays close to the recorded error
    assert rms < 1.5 * est.error_[-1]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_n_jobs_and_refit_bit_identical(rng, dtype):
    X = rng.standard_normal((200, 12)).astype(dtype)
    params = dict(
        n_components=20, transform_n_nonzero_coefs=3, max_iter=4, random_state=3
    )
    a = fit_quietly(KSVD(n_jobs=1, **params), X)
    b = fit_quietly(KSVD(n_jobs=2, **params), X)
    c = fit_quietly(KSVD(n_jobs=2, **params), X)
    for other in (b, c):
        np.testing.assert_array_equal(a.components_, other.components_)
        np.testing.assert_array_equal(a.error_, other.error_)
    assert a.components_.dtype == dtype
    assert a.transform(X).dtype == dtype


def test_unused_and_duplicate_atoms_are_replaced(rng):
    X = rng.standard_normal((100, 8))
    init = rng.standard_normal((10, 8))
    init[5] = init[2]  # duplicate
    init[7] = -init[1]  # duplicate up to sign
    est = fit_quietly(
        KSVD(
            10, transform_n_nonzero_coefs=2, max_iter=3, dict_init=init, random_state=0
        ),
        X,
    )
    D = est.components_
    assert np.isfinite(D).all()
    cos = np.abs(D @ D.T)
    np.fill_diagonal(cos, 0)
    assert cos.max() <= 0.99 + 1e-12


def test_rarely_used_atoms_are_replaced(rng):
    X = rng.standard_normal((30, 6))
    D = np.eye(6)[:4].copy()
    R = X.copy()
    n_used = np.array([40, 3, 40, 40])  # 3 < 10% of the mean use (30.75)
    assert KSVD._replace_atoms(D, X, R, n_used, rng) == 1
    worst = np.argmax(np.sum(R * R, axis=1))
    np.testing.assert_allclose(D[1], X[worst] / np.linalg.norm(X[worst]))


def test_replacement_uses_the_worst_represented_signal(rng):
    X = rng.standard_normal((30, 6))
    D = rng.standard_normal((4, 6))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    R = X.copy()
    R[17] *= 10  # the worst represented signal
    n_used = np.array([3, 0, 2, 5])
    KSVD._replace_atoms(D, X, R, n_used, rng)
    np.testing.assert_allclose(D[1], X[17] / np.linalg.norm(X[17]))


def test_ksvd_update_keeps_residual_consistent(rng):
    X = rng.standard_normal((60, 7))
    D = rng.standard_normal((9, 7))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    code = sparse_encode(X, D, n_nonzero_coefs=2)
    code[:, 4] = 0  # atom 4 unused
    R = X - code @ D
    before = np.sum(R * R)
    used = ksvd_update(R, code, D)
    assert used[4] == 0
    np.testing.assert_allclose(R, X - code @ D, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-12)
    assert np.sum(R * R) <= before + 1e-12  # each rank-1 step is optimal


def _perturbed_sweep_problem(rng, n_samples, n_features, n_atoms, k):
    """Residual, codes and atoms one K-SVD sweep away from a planted model.

    Signals are k-sparse in a random unit dictionary (|coef| in [1, 2]); the
    starting atoms and codes are perturbed copies of the planted ones, so
    every atom's restricted residual has a clear leading singular value.
    """
    D_true = rng.standard_normal((n_atoms, n_features))
    D_true /= np.linalg.norm(D_true, axis=1, keepdims=True)
    code = np.zeros((n_samples, n_atoms))
    for i in range(n_samples):
        support = rng.choice(n_atoms, k, replace=False)
        code[i, support] = rng.choice([-1.0, 1.0], k) * (1 + rng.random(k))
    X = code @ D_true + 0.01 * rng.standard_normal((n_samples, n_features))
    D = D_true + 0.1 * rng.standard_normal(D_true.shape) / np.sqrt(n_features)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    code = code * (1 + 0.05 * rng.standard_normal(code.shape))
    return X, code, D


@pytest.mark.parametrize(
    "shape",
    [(5, 5000, 3, 2), (300, 12, 20, 3), (40, 40, 6, 2)],
    ids=["wide", "tall", "square"],
)
def test_ksvd_update_matches_numpy_svd(rng, shape):
    """Atoms = leading right singular vectors (numpy SVD), wide data included."""
    X, code, D = _perturbed_sweep_problem(rng, *shape)
    R = X - code @ D
    R_ref, code_ref, D_ref, used_ref = ksvd_sweep_reference(R, code, D)
    used = ksvd_update(R, code, D)
    np.testing.assert_array_equal(used, used_ref)
    # the kernel keeps each atom's sign (power iteration from the old atom)
    np.testing.assert_allclose(D, D_ref, atol=1e-9)
    np.testing.assert_allclose(code, code_ref, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(R, R_ref, atol=1e-8)
    np.testing.assert_allclose(R, X - code @ D, atol=1e-10)


def test_wide_fit(rng):
    """5 signals x 5,000 features: the fit runs and every sweep is optimal."""
    X = rng.standard_normal((5, 5000))
    est = fit_quietly(
        KSVD(3, transform_n_nonzero_coefs=2, max_iter=5, tol=0, random_state=0), X
    )
    assert est.components_.shape == (3, 5000)
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0, rtol=1e-10)
    assert est.error_[-1] <= est.error_[0]
    # a last sweep from the fitted state reproduces numpy's SVD atom by atom
    D = est.components_.copy()
    code = sparse_encode(X, D, n_nonzero_coefs=2)
    R = X - code @ D
    _, _, D_ref, _ = ksvd_sweep_reference(R, code, D)
    ksvd_update(R, code, D)
    np.testing.assert_allclose(np.abs(D @ D_ref.T).diagonal(), 1.0, atol=1e-9)


def test_wide_fit_memory_is_linear_in_n_features():
    """Under a 3 GB address-space cap, 5 x 30,000 data fits.

    An ``n_features x n_features`` float64 matrix (the Gram ``E^T E`` of an
    atom's residual) would need 7.2 GB here; the data and every per-atom
    work array take a few MB.  Run in a child process, where the cap cannot
    disturb the test session.
    """
    pytest.importorskip("resource")  # POSIX only
    script = textwrap.dedent(
        """
        import resource, warnings
        import numpy as np
        from skreg.decomposition import KSVD
        cap = 3 * 1024**3
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        warnings.simplefilter("ignore")
        X = np.random.default_rng(0).standard_normal((5, 30_000))
        est = KSVD(3, transform_n_nonzero_coefs=2, max_iter=2, random_state=0).fit(X)
        assert np.isfinite(est.components_).all()
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_negative_coefficients_count_as_use():
    X = np.array([[-2.0, 0.0], [-1.0, 0.0], [0.0, 3.0]])
    D = np.array([[1.0, 0.0], [0.0, 1.0]])
    code = np.array([[-2.0, 0.0], [-1.0, 0.0], [0.0, 3.0]])
    R = X - code @ D
    used = ksvd_update(R, code, D)
    np.testing.assert_array_equal(used, [2, 1])
    np.testing.assert_allclose(np.abs(D), np.eye(2), atol=1e-12)


def test_convergence_warning_and_tol(rng):
    X = rng.standard_normal((80, 6))
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        KSVD(8, max_iter=2, tol=1e-12, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        KSVD(8, max_iter=2, tol=0, random_state=0).fit(X)  # tol=0: no criterion
        est = KSVD(8, max_iter=200, tol=0.5, random_state=0).fit(X)
    assert est.n_iter_ < 200


def test_degenerate_data_no_nan(rng):
    X = np.zeros((20, 5))
    X[:3] = rng.standard_normal((3, 5))
    est = fit_quietly(KSVD(6, max_iter=3, random_state=0), X)
    assert np.isfinite(est.components_).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isfinite(est.transform(X)).all()
    one_feature = fit_quietly(
        KSVD(3, max_iter=2, random_state=0), rng.standard_normal((10, 1))
    )
    assert np.isfinite(one_feature.components_).all()


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(rng, bad):
    X = rng.standard_normal((20, 4))
    X[3, 1] = bad
    with pytest.raises(ValueError, match=r"(?i)nan|inf"):
        KSVD(3).fit(X)


def test_bad_dict_init(rng):
    X = rng.standard_normal((20, 4))
    with pytest.raises(ValueError, match=r"dict_init has shape \(3, 5\)"):
        KSVD(3, dict_init=np.ones((3, 5))).fit(X)
    with pytest.raises(ValueError, match="dict_init has a zero atom"):
        KSVD(3, dict_init=np.zeros((3, 4))).fit(X)
    with pytest.raises(ValueError, match="dict_init contains NaN"):
        KSVD(3, dict_init=np.full((3, 4), np.nan)).fit(X)


def test_bad_parameters(rng):
    X = rng.standard_normal((20, 4))
    with pytest.raises(ValueError, match=r"transform_n_nonzero_coefs=5 exceeds"):
        KSVD(3, transform_n_nonzero_coefs=5).fit(X)
    with pytest.raises(ValueError, match="n_components"):
        KSVD(0).fit(X)
    with pytest.raises(ValueError, match="max_iter"):
        KSVD(3, max_iter=0).fit(X)
    with pytest.raises(ValueError, match="0 sample"):
        KSVD(3).fit(X[:0])
    est = fit_quietly(KSVD(3, max_iter=2, random_state=0), X)
    with pytest.raises(ValueError, match="3 features.*expecting 4"):
        est.transform(X[:, :3])
    with pytest.raises(ValueError, match="X has 2 columns.*3 atoms"):
        est.inverse_transform(np.ones((2, 2)))


# --- interrupted and failed fits ----------------------------------------------------


def _interrupt_after(monkeypatch, n_calls, exc=KeyboardInterrupt):
    """Make the K-SVD atom sweep raise ``exc`` on its call number ``n_calls + 1``."""
    calls = []

    def sweep(R, code, D):
        if len(calls) == n_calls:
            raise exc()
        calls.append(1)
        return ksvd_update(R, code, D)

    monkeypatch.setattr(ksvd_module, "ksvd_update", sweep)
    return calls


def test_interrupted_first_fit_is_not_fitted(monkeypatch, rng):
    X = rng.standard_normal((60, 6))
    est = KSVD(8, max_iter=10, tol=0, random_state=0)
    calls = _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X)
    assert len(calls) == 2  # interrupted mid-fit, not before it started
    for name in ("n_features_in_", "components_", "error_", "n_iter_"):
        assert not hasattr(est, name)
    with pytest.raises(NotFittedError):
        est.transform(X)
    with pytest.raises(NotFittedError):
        est.inverse_transform(np.ones((2, 8)))
    monkeypatch.undo()
    fit_quietly(est, X).transform(X)  # and it can still be fitted


@pytest.mark.parametrize("exc", [KeyboardInterrupt, MemoryError])
def test_interrupted_refit_keeps_the_previous_model(monkeypatch, rng, exc):
    """A refit that does not finish leaves the previous fit untouched."""
    X = rng.standard_normal((60, 6))
    est = fit_quietly(KSVD(8, max_iter=3, tol=0, random_state=0), X)
    before = {k: v for k, v in vars(est).items() if k.endswith("_")}
    code = est.transform(X)
    _interrupt_after(monkeypatch, 1, exc)
    with pytest.raises(exc):
        est.fit(rng.standard_normal((30, 9)))  # other width: n_features_in_ too
    assert {k for k in vars(est) if k.endswith("_")} == set(before)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(est, name), value)
    np.testing.assert_array_equal(est.transform(X), code)


def test_failed_validation_keeps_the_previous_model(rng):
    X = rng.standard_normal((20, 4))
    est = fit_quietly(KSVD(3, max_iter=2, random_state=0), X)
    components = est.components_
    with pytest.raises(ValueError, match="dict_init has shape"):
        est.set_params(dict_init=np.ones((3, 5))).fit(rng.standard_normal((20, 6)))
    assert est.n_features_in_ == 4 and est.components_ is components
    est.transform(X)


def test_read_only_input_reuses_the_compiled_kernels(tmp_path):
    """A joblib-style read-only memmap fits to the same dictionary without a
    second compiled variant of the coding kernel."""
    from skreg.decomposition import _kernels

    X = np.random.default_rng(0).standard_normal((40, 8))
    ref = KSVD(n_components=5, max_iter=3, random_state=0).fit(X)
    np.testing.assert_array_equal(ref.transform(X), ref.transform(X))

    def n_variants():  # small requests run the serial twin of batch_omp
        kernels = (_kernels.batch_omp, _kernels.batch_omp_serial)
        return sum(len(k.signatures) for k in kernels)

    before = n_variants()
    np.save(tmp_path / "X.npy", X)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    got = KSVD(n_components=5, max_iter=3, random_state=0).fit(Xm)
    np.testing.assert_array_equal(got.components_, ref.components_)
    np.testing.assert_array_equal(got.transform(Xm), ref.transform(X))
    assert n_variants() == before
