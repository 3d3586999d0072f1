"""Batch-OMP: sparse_encode and SparseCoder against references and scikit-learn."""

import warnings

import numpy as np
import pytest
import sklearn.decomposition as skd
from sklearn.linear_model import orthogonal_mp_gram

from skreg.decomposition import SparseCoder, sparse_encode
from skreg.decomposition._sparse_coder import PREMATURE, _batch_omp

from .._reference import omp_reference

# Seed example (SPEC section 2): columns of B are the atoms.
B = np.array(
    [
        [3, -1, 2, -5, 4, 1],
        [4, 2, -3, -1, 1, 3],
        [-1, 5, 4, 2, -3, -2],
        [3, 1, 2, -3, 0, -3],
        [-5, 4, -2, 2, -5, -1],
    ],
    dtype=float,
)
Y = np.array([-14, 1, 19, 2, 23], dtype=float)
H = np.array([0, 2, 0, 0, -3, 0], dtype=float)

RTOL = {np.float64: 1e-9, np.float32: 2e-4}


def unit_dictionary(rng, n_atoms, n_features, dtype=np.float64):
    D = rng.standard_normal((n_atoms, n_features))
    return (D / np.linalg.norm(D, axis=1, keepdims=True)).astype(dtype)


def planted(rng, n_samples, D, k, noise=0.01):
    """Exactly k-sparse codes (|coef| in [1, 2]) plus small Gaussian noise."""
    n_atoms, n_features = D.shape
    C = np.zeros((n_samples, n_atoms))
    for i in range(n_samples):
        support = rng.choice(n_atoms, k, replace=False)
        C[i, support] = rng.choice([-1.0, 1.0], k) * (1 + rng.random(k))
    X = C @ D.astype(np.float64) + noise * rng.standard_normal((n_samples, n_features))
    return X.astype(D.dtype), C


def sklearn_gram_omp(X, D, k=None, tol=None):
    X64, D64 = X.astype(D.dtype), D
    return orthogonal_mp_gram(
        D64 @ D64.T,
        D64 @ X64.T,
        n_nonzero_coefs=k,
        tol=tol,
        norms_squared=np.einsum("ij,ij->i", X64, X64),
    ).T.reshape(X.shape[0], D.shape[0])


def assert_codes_match(code, ref, dtype, scale=1.0):
    np.testing.assert_array_equal(code != 0, ref != 0)
    np.testing.assert_allclose(code, ref, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


# --- the worked example --------------------------------------------------------


def test_seed_worked_example_atoms_as_rows():
    """B's columns are the atoms; ours are rows, so the dictionary is B.T."""
    code = sparse_encode(Y[None], B.T, n_nonzero_coefs=2)
    np.testing.assert_allclose(code[0], H, atol=1e-12)
    coder = SparseCoder(B.T, transform_n_nonzero_coefs=2)
    np.testing.assert_allclose(coder.fit_transform(Y[None])[0], H, atol=1e-12)
    np.testing.assert_allclose(coder.inverse_transform(code)[0], Y, atol=1e-12)


def test_seed_worked_example_unit_norm_atoms():
    """With unit-norm atoms (scikit-learn's assumption) h is rescaled by the norms."""
    norms = np.linalg.norm(B, axis=0)
    D = (B / norms).T
    code = sparse_encode(Y[None], D, n_nonzero_coefs=2)[0]
    np.testing.assert_allclose(code / norms, H, atol=1e-12)
    np.testing.assert_allclose(code @ D, Y, atol=1e-12)


def test_seed_worked_example_matches_sklearn():
    D = B.T
    ours = SparseCoder(D, transform_n_nonzero_coefs=2).transform(Y[None])
    theirs = skd.SparseCoder(D, transform_n_nonzero_coefs=2).transform(Y[None])
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


# --- against the slow reference and scikit-learn --------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(40, 20, 3), (80, 40, 4), (30, 12, 1)])
def test_k_mode_matches_reference(rng, dtype, shape):
    n_atoms, n_features, k = shape
    D = unit_dictionary(rng, n_atoms, n_features, dtype)
    X, C = planted(rng, 50, D, k)
    code = sparse_encode(X, D, n_nonzero_coefs=k)
    assert code.dtype == dtype
    ref = np.array([omp_reference(x, D, n_nonzero_coefs=k)[0] for x in X])
    assert_codes_match(code, ref, dtype, scale=2.0)
    # well-posed problems: OMP finds the planted supports
    assert np.mean(np.all((code != 0) == (C != 0), axis=1)) > 0.9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tol_mode_matches_reference(rng, dtype):
    D = unit_dictionary(rng, 40, 20, dtype)
    X, _ = planted(rng, 50, D, 4, noise=0.05)
    tol = 20 * 0.05**2 * 2.0  # twice the expected noise energy
    code = sparse_encode(X, D, tol=tol)
    for x, c in zip(X, code, strict=True):
        ref, _ = omp_reference(x, D, tol=tol)
        np.testing.assert_array_equal(c != 0, ref != 0)
        np.testing.assert_allclose(c, ref, rtol=RTOL[dtype], atol=2 * RTOL[dtype])
        r = x.astype(np.float64) - c.astype(np.float64) @ D.astype(np.float64)
        assert r @ r <= tol * (1 + 1e-3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_k_mode_matches_sklearn_orthogonal_mp_gram(rng, dtype, k):
    """Random (not sparse) signals: the greedy path has no planted answer."""
    D = unit_dictionary(rng, 60, 24, dtype)
    X = rng.standard_normal((100, 24)).astype(dtype)
    code = sparse_encode(X, D, n_nonzero_coefs=k)
    assert_codes_match(code, sklearn_gram_omp(X, D, k=k), dtype, scale=3.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tol_mode_matches_sklearn_orthogonal_mp_gram(rng, dtype):
    D = unit_dictionary(rng, 60, 24, dtype)
    X, _ = planted(rng, 100, D, 5, noise=0.05)
    tol = 24 * 0.05**2 * 2.0
    # scikit-learn always selects a first atom; we return 0 when ||x||^2 <= tol
    assert np.all(np.einsum("ij,ij->i", X, X) > tol)
    code = sparse_encode(X, D, tol=tol)
    ref = sklearn_gram_omp(X, D, tol=tol)
    assert_codes_match(code, ref, dtype, scale=2.0)
    coder = SparseCoder(D, transform_alpha=tol)
    np.testing.assert_array_equal(coder.transform(X), code)


def test_sparse_coder_matches_sklearn_sparse_coder(rng):
    D = unit_dictionary(rng, 50, 30, np.float64)
    X = rng.standard_normal((40, 30))
    for k in (None, 2, 7):
        ours = SparseCoder(D, transform_n_nonzero_coefs=k).fit_transform(X)
        theirs = skd.SparseCoder(D, transform_n_nonzero_coefs=k).fit_transform(X)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


def test_default_k_is_sklearns(rng):
    """int(min(max(n_features / 10, 1), n_atoms)) -- 4 for 45 features."""
    D = unit_dictionary(rng, 20, 45, np.float64)
    X = rng.standard_normal((10, 45))
    code = sparse_encode(X, D)
    assert np.all((code != 0).sum(axis=1) == 4)
    np.testing.assert_allclose(
        code, skd.sparse_encode(X, D, algorithm="omp"), rtol=1e-9, atol=1e-10
    )


def test_non_unit_atoms_are_not_normalised(rng):
    """Like scikit-learn: selection by |<r, d_j>| on the atoms as given."""
    D = unit_dictionary(rng, 30, 16, np.float64) * rng.uniform(0.2, 5.0, (30, 1))
    X = rng.standard_normal((40, 16))
    ours = sparse_encode(X, D, n_nonzero_coefs=4)
    theirs = skd.sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=4)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


def test_transform_alpha_is_the_omp_tolerance(rng):
    """Documented by scikit-learn, ignored by its SparseCoder; honoured here."""
    D = unit_dictionary(rng, 40, 20, np.float64)
    X, _ = planted(rng, 60, D, 6, noise=0.02)
    for tol in (0.5, 2.0, 8.0):
        code = SparseCoder(D, transform_alpha=tol).transform(X)
        residual = X - code @ D
        assert np.all(np.einsum("ij,ij->i", residual, residual) <= tol * (1 + 1e-9))
        counts = (code != 0).sum(axis=1)
        assert counts.max() > 2  # not the default k=2 of 20 features
    looser = (SparseCoder(D, transform_alpha=8.0).transform(X) != 0).sum()
    tighter = (SparseCoder(D, transform_alpha=0.5).transform(X) != 0).sum()
    assert looser < tighter


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_n_jobs_gives_bit_identical_codes(rng, dtype):
    D = unit_dictionary(rng, 64, 32, dtype)
    X, _ = planted(rng, 301, D, 5)
    one = sparse_encode(X, D, n_nonzero_coefs=5, n_jobs=1)
    two = sparse_encode(X, D, n_nonzero_coefs=5, n_jobs=2)
    np.testing.assert_array_equal(one, two)
    tol_one = SparseCoder(D, transform_alpha=0.1, n_jobs=1).transform(X)
    tol_two = SparseCoder(D, transform_alpha=0.1, n_jobs=2).transform(X)
    np.testing.assert_array_equal(tol_one, tol_two)


def test_float32_stays_float32(rng):
    D = unit_dictionary(rng, 30, 16, np.float64)
    X = rng.standard_normal((20, 16)).astype(np.float32)
    coder = SparseCoder(D, transform_n_nonzero_coefs=3).fit(X)
    code = coder.transform(X)
    assert code.dtype == np.float32
    assert coder.inverse_transform(code).dtype == np.float32
    assert sparse_encode(X, D).dtype == np.float32
    assert coder.dictionary is D  # stored unchanged


# --- degenerate problems: stop cleanly, no NaN, scikit-learn's warning ----------


def _encode_recording(X, D, **kwargs):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        code = sparse_encode(X, D, **kwargs)
    messages = [str(w.message) for w in record if w.category is RuntimeWarning]
    assert np.isfinite(code).all()
    return code, messages


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zero_signal(rng, dtype):
    D = unit_dictionary(rng, 10, 8, dtype)
    X = np.zeros((3, 8), dtype=dtype)
    code, messages = _encode_recording(X, D, n_nonzero_coefs=3)
    np.testing.assert_array_equal(code, 0)
    assert messages == [PREMATURE]  # as scikit-learn
    # in tolerance mode a zero signal has already reached any tol: no warning
    code, messages = _encode_recording(X, D, tol=0.0)
    np.testing.assert_array_equal(code, 0)
    assert messages == []


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_duplicate_atoms(rng, dtype):
    D = unit_dictionary(rng, 6, 10, dtype)
    D_dup = np.vstack([D, D, -D])
    X = rng.standard_normal((30, 10)).astype(dtype)
    code, messages = _encode_recording(X, D_dup, n_nonzero_coefs=6)
    code_plain = sparse_encode(X, D, n_nonzero_coefs=6)
    # the duplicates add nothing: same reconstruction as the plain dictionary
    np.testing.assert_allclose(
        code @ D_dup, code_plain @ D, rtol=RTOL[dtype] * 10, atol=RTOL[dtype] * 10
    )
    assert (code != 0).sum(axis=1).max() <= 6


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_collinear_atom_stops_with_warning(rng, dtype):
    D = unit_dictionary(rng, 2, 6, np.float64)
    third = D[0] + D[1]
    D3 = np.vstack([D, third / np.linalg.norm(third)]).astype(dtype)
    X = rng.standard_normal((20, 6)).astype(dtype)
    code, messages = _encode_recording(X, D3, n_nonzero_coefs=3)
    assert messages == [PREMATURE]
    assert (code != 0).sum(axis=1).max() == 2  # the span is 2-dimensional
    _, _, status = _batch_omp(X, D3, 3, None, 1)
    assert np.all(status > 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_k_at_least_rank(rng, dtype):
    """12 atoms spanning a 4-dimensional subspace of R^9, k = 7 >= rank."""
    basis = np.linalg.qr(rng.standard_normal((9, 4)))[0].T
    D = rng.standard_normal((12, 4)) @ basis
    D = (D / np.linalg.norm(D, axis=1, keepdims=True)).astype(dtype)
    X = (rng.standard_normal((25, 4)) @ basis).astype(dtype)  # in the span
    code, messages = _encode_recording(X, D, n_nonzero_coefs=7)
    assert messages == [PREMATURE]
    assert (code != 0).sum(axis=1).max() == 4
    np.testing.assert_allclose(code @ D, X, atol=50 * RTOL[dtype])
    # and more atoms than features: at most n_features can be independent
    D_wide = unit_dictionary(rng, 12, 5, dtype)
    code, messages = _encode_recording(X[:, :5], D_wide, n_nonzero_coefs=12)
    assert (code != 0).sum(axis=1).max() <= 5
    assert messages == [PREMATURE]


def test_tolerance_reached_at_step_zero(rng):
    D = unit_dictionary(rng, 10, 8, np.float64)
    X = 0.01 * rng.standard_normal((5, 8))
    code, messages = _encode_recording(X, D, tol=1.0)
    np.testing.assert_array_equal(code, 0)
    assert messages == []
    n_active = _batch_omp(X, D, 2, 1.0, 1)[1]
    np.testing.assert_array_equal(n_active, 0)


def test_well_posed_problem_does_not_warn(rng):
    D = unit_dictionary(rng, 40, 20, np.float64)
    X, _ = planted(rng, 30, D, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sparse_encode(X, D, n_nonzero_coefs=3)


# --- the transformer surface -----------------------------------------------------


def test_split_sign_and_inverse_transform(rng):
    D = unit_dictionary(rng, 12, 8, np.float64)
    X = rng.standard_normal((10, 8))
    plain = SparseCoder(D, transform_n_nonzero_coefs=3).fit(X)
    split = SparseCoder(D, transform_n_nonzero_coefs=3, split_sign=True).fit(X)
    code, code_split = plain.transform(X), split.transform(X)
    assert code_split.shape == (10, 24)
    assert (code_split >= 0).all()
    np.testing.assert_array_equal(code_split[:, :12] - code_split[:, 12:], code)
    np.testing.assert_allclose(split.inverse_transform(code_split), code @ D)
    ours = split.transform(X)
    theirs = skd.SparseCoder(D, transform_n_nonzero_coefs=3, split_sign=True).transform(
        X
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-10)
    assert len(split.get_feature_names_out()) == 24
    with pytest.raises(ValueError, match="number of components"):
        plain.inverse_transform(code_split)


def test_feature_names_and_attributes(rng):
    D = unit_dictionary(rng, 7, 5, np.float64)
    coder = SparseCoder(D).fit(rng.standard_normal((4, 5)))
    assert coder.n_components_ == 7
    assert coder.n_features_in_ == 5
    assert list(coder.get_feature_names_out()) == [f"sparsecoder{i}" for i in range(7)]


def test_transform_without_fit_is_stateless(rng):
    D = unit_dictionary(rng, 7, 5, np.float64)
    X = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(
        SparseCoder(D).transform(X), SparseCoder(D).fit(X).transform(X)
    )


def test_failed_fit_keeps_the_previous_state(rng):
    """A fit that raises leaves the coder as it was (no half-set n_features_in_)."""
    D = unit_dictionary(rng, 7, 5, np.float64)
    X = rng.standard_normal((4, 5))
    coder = SparseCoder(D)
    with pytest.raises(ValueError, match="X has 6 features"):
        coder.fit(rng.standard_normal((4, 6)))
    assert not hasattr(coder, "n_features_in_")
    coder.fit(X)
    with pytest.raises(ValueError, match="X has 6 features"):
        coder.fit(rng.standard_normal((4, 6)))
    assert coder.n_features_in_ == 5 and coder.n_components_ == 7
    np.testing.assert_array_equal(coder.transform(X), SparseCoder(D).transform(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("algorithm", ["lasso_lars", "lasso_cd", "lars", "threshold"])
def test_other_algorithms_are_delegated_to_sklearn(rng, algorithm):
    D = unit_dictionary(rng, 12, 8, np.float64)
    X = rng.standard_normal((10, 8))
    params = dict(transform_algorithm=algorithm, transform_alpha=0.1)
    ours = SparseCoder(D, **params).fit_transform(X)
    theirs = skd.SparseCoder(D, **params).fit_transform(X)
    np.testing.assert_allclose(ours, theirs)
    positive = SparseCoder(D, positive_code=True, **params)
    if algorithm != "lars":
        assert (positive.fit_transform(X) >= 0).all()


# --- bad input ----------------------------------------------------------------------


@pytest.fixture
def problem(rng):
    return rng.standard_normal((6, 5)), unit_dictionary(rng, 8, 5)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(problem, bad):
    X, D = problem
    X[2, 1] = bad
    with pytest.raises(ValueError, match=r"(?i)nan|inf"):
        sparse_encode(X, D)
    with pytest.raises(ValueError, match=r"(?i)nan|inf"):
        SparseCoder(D).fit(X)
    with pytest.raises(ValueError, match=r"(?i)nan|inf"):
        SparseCoder(D).transform(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_atom(problem, bad):
    X, D = problem
    D[3, 0] = bad
    with pytest.raises(ValueError, match=r"dictionary contains (NaN|infinity)"):
        sparse_encode(X, D)
    with pytest.raises(ValueError, match=r"dictionary contains (NaN|infinity)"):
        SparseCoder(D).fit(X)


def test_zero_atom(problem):
    X, D = problem
    D[4] = 0
    with pytest.raises(ValueError, match=r"zero atom.*row 4"):
        sparse_encode(X, D)
    with pytest.raises(ValueError, match=r"zero atom"):
        SparseCoder(D).fit(X)


def test_n_features_mismatch(problem):
    X, D = problem
    with pytest.raises(ValueError, match=r"X has 4 features.*atoms have 5"):
        sparse_encode(X[:, :4], D)
    with pytest.raises(ValueError, match=r"X has 4 features.*atoms have 5"):
        SparseCoder(D).fit(X[:, :4])
    coder = SparseCoder(D).fit(X)
    with pytest.raises(ValueError, match=r"4 features.*expecting 5"):
        coder.transform(X[:, :4])


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one(problem, k):
    X, D = problem
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        sparse_encode(X, D, n_nonzero_coefs=k)
    with pytest.raises(ValueError, match="transform_n_nonzero_coefs"):
        SparseCoder(D, transform_n_nonzero_coefs=k).fit(X)


def test_k_above_n_atoms(problem):
    X, D = problem
    with pytest.raises(ValueError, match=r"n_nonzero_coefs=9 exceeds .* atoms .*\(8\)"):
        sparse_encode(X, D, n_nonzero_coefs=9)
    with pytest.raises(ValueError, match=r"transform_n_nonzero_coefs=9 exceeds"):
        SparseCoder(D, transform_n_nonzero_coefs=9).fit(X)
    with pytest.raises(ValueError, match=r"transform_n_nonzero_coefs=9 exceeds"):
        SparseCoder(D, transform_n_nonzero_coefs=9).transform(X)


def test_negative_tol(problem):
    X, D = problem
    with pytest.raises(ValueError, match="tol"):
        sparse_encode(X, D, tol=-1.0)
    with pytest.raises(ValueError, match="transform_alpha"):
        SparseCoder(D, transform_alpha=-1.0).fit(X)


def test_non_numeric_input(problem):
    X, D = problem
    X_str = np.array([["a", "b", "c", "d", "e"]] * 3)
    with pytest.raises(ValueError, match=r"(?i)convert|numeric|string"):
        sparse_encode(X_str, D)
    with pytest.raises(ValueError, match=r"(?i)convert|numeric|string"):
        SparseCoder(D).fit(X_str)
    with pytest.raises(ValueError, match=r"(?i)convert|numeric|string"):
        sparse_encode(X, np.array([["x"] * 5] * 8))


def test_empty_X(problem):
    X, D = problem
    with pytest.raises(ValueError, match="0 sample"):
        sparse_encode(X[:0], D)
    with pytest.raises(ValueError, match="0 sample"):
        SparseCoder(D).fit(X[:0])
    with pytest.raises(ValueError, match="0 feature"):
        sparse_encode(X[:, :0], D[:, :0])


def test_positive_code_rejected_for_omp(problem):
    X, D = problem
    with pytest.raises(ValueError, match="positive_code=True is not supported"):
        SparseCoder(D, positive_code=True).fit(X)
    with pytest.raises(ValueError, match="positive_code=True is not supported"):
        SparseCoder(D, positive_code=True).transform(X)


def test_bad_transform_algorithm(problem):
    X, D = problem
    with pytest.raises(ValueError, match="transform_algorithm"):
        SparseCoder(D, transform_algorithm="nope").fit(X)


def test_atom_overflowing_the_working_dtype(problem):
    X, D = problem
    D[2] = 1e30  # finite in float64, its squared norm overflows float32
    with pytest.raises(ValueError, match="overflows float32"):
        sparse_encode(X.astype(np.float32), D)


def test_float32_overflow_is_an_error_not_nan(rng):
    D = np.full((3, 8), np.sqrt(1 / 8), dtype=np.float32)
    D[1, :4] *= -1
    D[2, ::2] *= -1
    X = np.full((2, 8), 2e38, dtype=np.float32)  # X D^T overflows float32
    with pytest.raises(ValueError, match="overflow the working float dtype"):
        sparse_encode(X, D, n_nonzero_coefs=2)
    code = sparse_encode(X.astype(np.float64), D, n_nonzero_coefs=1)
    assert np.isfinite(code).all()
    # large but representable float32 data codes fine (norms in float64)
    X_big = np.full((2, 8), 3e19, dtype=np.float32)
    np.testing.assert_allclose(
        sparse_encode(X_big, D, n_nonzero_coefs=1)[:, 0], 3e19 * np.sqrt(8), rtol=1e-6
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("m", [1, 7, 16, 33, 256])
def test_argmax_abs_first_maximum(rng, dtype, m):
    """The sign-bit integer argmax equals np.argmax(np.abs(.)), ties included."""
    from skreg.decomposition._kernels import _argmax_abs

    int_type = np.int64 if dtype == np.float64 else np.int32
    mask = int_type(np.iinfo(int_type).max)
    for trial in range(50):
        a = rng.standard_normal(m).astype(dtype)
        if trial % 2 and m > 1:  # a tie of opposite sign later in the array
            j = int(np.argmax(np.abs(a)))
            a[rng.integers(j, m)] = -a[j]
        assert _argmax_abs(a.view(int_type), mask) == np.argmax(np.abs(a))


# --- extreme magnitudes: the coding is scale-invariant -----------------------------


@pytest.mark.parametrize("factor", [1e300, 1e-300, 2.0**1000, 1e200, 1e-200])
def test_codes_scale_with_the_signal(rng, factor):
    """codes(c X) = c codes(X), same supports as scikit-learn, no warning.

    ``||x||^2`` overflows (or underflows) float64 for these factors; the
    kernel codes each signal rescaled by a power of two of its max-abs.
    """
    D = unit_dictionary(rng, 30, 16)
    X, _ = planted(rng, 25, D, 3)
    ref = sparse_encode(X, D, n_nonzero_coefs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = SparseCoder(D, transform_n_nonzero_coefs=3).transform(X * factor)
    assert np.isfinite(code).all()
    np.testing.assert_array_equal(code != 0, ref != 0)
    np.testing.assert_allclose(code, ref * factor, rtol=1e-9, atol=0)
    if factor == 1e300:  # scikit-learn returns zeros for 1e-300 (underflow)
        theirs = skd.SparseCoder(
            D, transform_algorithm="omp", transform_n_nonzero_coefs=3
        ).transform(X * factor)
        np.testing.assert_array_equal(code != 0, theirs != 0)
        np.testing.assert_allclose(code, theirs, rtol=1e-8)


def test_power_of_two_scaling_is_exact(rng):
    D = unit_dictionary(rng, 30, 16)
    X, _ = planted(rng, 25, D, 3)
    ref = sparse_encode(X, D, n_nonzero_coefs=4)
    for e in (-1000, -3, 5, 1000):
        np.testing.assert_array_equal(
            sparse_encode(np.ldexp(X, e), D, n_nonzero_coefs=4), np.ldexp(ref, e)
        )


@pytest.mark.parametrize("e", [511, -530])
def test_tolerance_scales_with_the_square(rng, e):
    """tol is a squared residual norm: tol * c^2 for signals c X.

    With ``c = 2^511``, ``||c x||^2`` overflows float64 while ``c^2 tol`` is
    still representable (``2^-530``: both are tiny, ``c^2 tol`` a denormal);
    powers of two make the expected codes exact.
    """
    D = unit_dictionary(rng, 30, 16)
    X, _ = planted(rng, 25, D, 3, noise=0.1)
    tol = 0.5
    ref = sparse_encode(X, D, tol=tol)
    assert len(set((ref != 0).sum(axis=1))) > 1  # tol, not k, decides
    if e > 0:
        assert not np.isfinite(np.sum(np.ldexp(X, e) ** 2))
    code = sparse_encode(np.ldexp(X, e), D, tol=float(np.ldexp(tol, 2 * e)))
    np.testing.assert_array_equal(code, np.ldexp(ref, e))


@pytest.mark.parametrize("factor", [1e30, 1e-30, 1e36])
def test_float32_large_and_tiny_values(rng, factor):
    D = unit_dictionary(rng, 30, 16, np.float32)
    X, _ = planted(rng, 25, D, 3)
    ref = sparse_encode(X, D, n_nonzero_coefs=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = sparse_encode(X * np.float32(factor), D, n_nonzero_coefs=3)
    assert code.dtype == np.float32 and np.isfinite(code).all()
    np.testing.assert_array_equal(code != 0, ref != 0)
    np.testing.assert_allclose(code, ref * np.float32(factor), rtol=1e-5)


def test_non_finite_intermediates_have_their_own_status_and_message(rng):
    """A non-finite signal reaching the kernel gets status 4 and a zero code;
    the caller names the cause instead of blaming the dictionary."""
    from skreg.decomposition._sparse_coder import _warn_premature

    D = unit_dictionary(rng, 10, 8)
    X = rng.standard_normal((4, 8))
    X[2, 3] = np.inf
    X[3, 0] = np.nan
    code, n_active, status = _batch_omp(X, D, 2, None, 1)
    np.testing.assert_array_equal(status, [0, 0, 4, 4])
    np.testing.assert_array_equal(code[2:], 0)
    np.testing.assert_array_equal(n_active[2:], 0)
    with pytest.raises(
        ValueError, match=r"(?i)non-finite values.*2 signal\(s\).*row 2"
    ):
        _warn_premature(status)


# --- serving: the cached dictionary and the lean request path ------------------------

from skreg.decomposition import _sparse_coder as _sc  # noqa: E402
from skreg.decomposition._kernels import (  # noqa: E402
    batch_omp,
    batch_omp_serial,
    gram_matrix,
)


def _kernel_args(X, D, k, tol):
    D = np.ascontiguousarray(D)
    DT = np.array(D.T, order="C")
    gram = gram_matrix(D, DT, 64)
    mask, eps = _sc._MASK_EPS[X.dtype]
    if tol is None:
        return (X, DT, gram, k, 0.0, False, eps, mask, _sc._BLOCK)
    return (X, DT, gram, min(D.shape), tol, True, eps, mask, _sc._BLOCK)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 5, 128, 129, 300])
@pytest.mark.parametrize("tol", [None, 0.05])
def test_serial_kernel_is_the_parallel_kernel_bit_for_bit(rng, dtype, n, tol):
    """Small requests run batch_omp_serial: the same blocks through the same
    block code as the parallel kernel, hence the same codes, counts and
    statuses (zero signals and duplicate atoms included)."""
    D = unit_dictionary(rng, 40, 16, dtype)
    D[7] = D[3]  # a duplicate atom: status 2 somewhere
    X, _ = planted(rng, n, D, 4)
    X[0] = 0  # a zero signal: status 1
    args = _kernel_args(np.ascontiguousarray(X), D, 4, tol)
    for a, b in zip(batch_omp(*args), batch_omp_serial(*args), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b, strict=True)


def _fresh_codes(D, X, **params):
    """The codes of a coder that has never run (full validation, new Gram)."""
    return SparseCoder(D, **params).transform(X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "params",
    [
        dict(transform_n_nonzero_coefs=3),
        dict(transform_alpha=0.05),
        dict(transform_n_nonzero_coefs=2, split_sign=True),
        dict(transform_n_nonzero_coefs=3, n_jobs=2),
    ],
)
def test_cached_requests_match_the_full_path_bit_for_bit(
    rng, dtype, params, monkeypatch
):
    """Requests after the first skip validation and reuse the Gram matrix,
    with the codes of a coder that has never run, request by request.

    (Like-sized requests are compared: a row coded alone can differ in the
    last bit from the same row coded among 128, as it always has, since
    BLAS computes ``X D^T`` for one row with another kernel.)
    """
    D = unit_dictionary(rng, 24, 10, np.float64)
    X, _ = planted(rng, 300, D, 3)
    X = X.astype(dtype)
    ro = X[:7].copy()
    ro.flags.writeable = False
    requests = [X[:1], X[3:4], X[:10], X, ro, np.asfortranarray(X[:7])]
    expected = [_fresh_codes(D, r, **params) for r in requests]
    coder = SparseCoder(D, **params)
    np.testing.assert_array_equal(coder.transform(X), expected[3], strict=True)
    if dtype == np.float64:  # lists become float64
        # a list (full validation) on the warm coder: its cached Gram
        np.testing.assert_array_equal(coder.transform(X.tolist()), expected[3])
    # from now on plain arrays skip scikit-learn's validation entirely
    monkeypatch.setattr(_sc, "validate_data", _fail("validate_data"))
    monkeypatch.setattr(_sc, "_prepare_dictionary", _fail("a new Gram matrix"))
    for r, want in zip(requests, expected, strict=True):
        np.testing.assert_array_equal(coder.transform(r), want, strict=True)


def _fail(what):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} on a cached request")

    return fail


def test_cache_follows_the_dictionary_and_the_parameters(rng):
    D = unit_dictionary(rng, 20, 8, np.float64)
    X = rng.standard_normal((6, 8))
    coder = SparseCoder(D, transform_n_nonzero_coefs=2)
    coder.transform(X)
    # the dictionary edited in place: new bits, new Gram
    D[3] *= -1
    D[5, 0] += 0.25
    np.testing.assert_array_equal(coder.transform(X), _fresh_codes(D.copy(), X,
                                  transform_n_nonzero_coefs=2))  # fmt: skip
    # a signed zero is another dictionary, bit for bit
    D[2, 1] = 0.0
    coder.transform(X)
    D[2, 1] = -0.0
    np.testing.assert_array_equal(coder.transform(X), _fresh_codes(D.copy(), X,
                                  transform_n_nonzero_coefs=2))  # fmt: skip
    # another dictionary object, other parameters
    D2 = unit_dictionary(rng, 20, 8, np.float64)
    coder.set_params(dictionary=D2)
    np.testing.assert_array_equal(coder.transform(X), _fresh_codes(D2, X,
                                  transform_n_nonzero_coefs=2))  # fmt: skip
    coder.set_params(transform_n_nonzero_coefs=4, split_sign=True)
    np.testing.assert_array_equal(
        coder.transform(X),
        _fresh_codes(D2, X, transform_n_nonzero_coefs=4, split_sign=True),
    )
    coder.transform_alpha = 0.5  # plain assignment, no set_params
    np.testing.assert_array_equal(
        coder.transform(X),
        _fresh_codes(D2, X, transform_n_nonzero_coefs=4, split_sign=True,
                     transform_alpha=0.5),
    )  # fmt: skip
    # a dictionary of another width, after a fit on the old one
    coder = SparseCoder(D2, transform_n_nonzero_coefs=2).fit(X)
    coder.transform(X)
    coder.set_params(dictionary=unit_dictionary(rng, 20, 9, np.float64))
    with pytest.raises(ValueError, match=r"9 features.*expecting 8"):
        coder.transform(rng.standard_normal((2, 9)))


def test_cache_is_not_part_of_the_estimator(rng):
    import copy
    import pickle

    from sklearn.base import clone

    D = unit_dictionary(rng, 20, 8, np.float64)
    X = rng.standard_normal((5, 8))
    coder = SparseCoder(D, transform_n_nonzero_coefs=2).fit(X)
    before = dict(vars(coder))
    code = coder.transform(X)
    code_again = coder.transform(X)
    assert vars(coder).keys() == before.keys()
    assert all(vars(coder)[k] is v for k, v in before.items())
    assert coder.get_params()["dictionary"] is D
    assert coder in _sc._PREPARED
    for other in (
        pickle.loads(pickle.dumps(coder)),
        copy.deepcopy(coder),
        clone(coder),
    ):
        assert other not in _sc._PREPARED
        np.testing.assert_array_equal(other.transform(X), code, strict=True)
    np.testing.assert_array_equal(code_again, code, strict=True)
    del coder
    import gc

    gc.collect()
    assert len([k for k in _sc._PREPARED.keys() if k.dictionary is D]) == 0


def _error(call):
    """``(type, message)`` of what ``call()`` raises, or None."""
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - compared, not swallowed
        return type(exc), str(exc)
    return None


def test_bad_requests_get_the_same_errors_after_a_cached_one(rng):
    import pandas as pd
    from sklearn import config_context

    D = unit_dictionary(rng, 12, 6, np.float64)
    X = rng.standard_normal((4, 6))
    nan = X.copy()
    nan[1, 2] = np.nan
    inf = X.copy()
    inf[0, 0] = np.inf
    bad = {
        "nan": nan,
        "inf": inf,
        "inf float32": inf.astype(np.float32),
        "narrow": X[:, :5],
        "wide": np.hstack([X, X]),
        "empty": X[:0],
        "1-D": X[0],
        "3-D": X[None],
        "strings": np.array([["a"] * 6]),
        "complex": X.astype(complex),
        "object": X.astype(object),
        "list": X.tolist(),
        "float16": X.astype(np.float16),
        "int": (X * 10).astype(int),
        "big float32 row": np.full((1, 6), 3e38, dtype=np.float32),
    }
    for fitted in (False, True):
        warm = SparseCoder(D, transform_n_nonzero_coefs=2)
        if fitted:
            warm.fit(X)
        warm.transform(X)
        warm.transform(X.astype(np.float32))
        for name, value in bad.items():
            cold = SparseCoder(D, transform_n_nonzero_coefs=2)
            if fitted:
                cold.fit(X)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # warnings compared as errors
                expected = _error(lambda c=cold, v=value: c.transform(v))
                got = _error(lambda w=warm, v=value: w.transform(v))
                assert got == expected, name
        # NaN passed through by assume_finite reaches the kernel either way
        with config_context(assume_finite=True):
            cold = SparseCoder(D, transform_n_nonzero_coefs=2)
            expected = _error(lambda c=cold: c.transform(nan))
            assert expected is not None
            assert _error(lambda w=warm: w.transform(nan)) == expected
    # a coder fitted on a DataFrame warns on arrays, cached or not
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    warm = SparseCoder(D, transform_n_nonzero_coefs=2).fit(frame)
    warm.transform(frame)
    with pytest.warns(UserWarning, match="feature names"):
        warm.transform(X)
    # invalid parameters set after a cached request
    for attr, value in [
        ("transform_n_nonzero_coefs", 0),
        ("transform_n_nonzero_coefs", 13),
        ("positive_code", True),
        ("transform_algorithm", "nope"),
        ("split_sign", 1),
        ("dictionary", np.zeros((3, 6))),
    ]:
        warm = SparseCoder(D, transform_n_nonzero_coefs=2)
        warm.transform(X)
        setattr(warm, attr, value)
        cold = SparseCoder(D, transform_n_nonzero_coefs=2)
        setattr(cold, attr, value)
        expected = _error(lambda c=cold: c.transform(X))
        assert expected is not None, attr
        assert _error(lambda w=warm: w.transform(X)) == expected, attr
    # a dictionary edited in place into an invalid one
    D2 = D.copy()
    warm = SparseCoder(D2, transform_n_nonzero_coefs=2)
    warm.transform(X)
    D2[4] = 0.0
    with pytest.raises(ValueError, match=r"zero atom.*row 4"):
        warm.transform(X)
    D2[4] = np.nan
    with pytest.raises(ValueError, match=r"dictionary contains NaN"):
        warm.transform(X)


def test_premature_warning_on_a_cached_request(rng):
    D = unit_dictionary(rng, 10, 6, np.float64)
    coder = SparseCoder(D, transform_n_nonzero_coefs=2)
    coder.transform(rng.standard_normal((3, 6)))
    with pytest.warns(RuntimeWarning, match="ended prematurely"):
        code = coder.transform(np.zeros((1, 6)))
    np.testing.assert_array_equal(code, 0)


def test_concurrent_cached_requests_match_sequential_ones(rng):
    import threading

    D = unit_dictionary(rng, 30, 12, np.float64)
    X, _ = planted(rng, 64, D, 3)
    coder = SparseCoder(D, transform_n_nonzero_coefs=3)
    want = [SparseCoder(D, transform_n_nonzero_coefs=3).transform(X[i : i + 1])
            for i in range(len(X))]  # fmt: skip
    got = [None] * len(X)
    barrier = threading.Barrier(4)

    def worker(t):
        barrier.wait()  # the first requests race to fill the cache
        for i in range(t, len(X), 4):
            got[i] = coder.transform(X[i : i + 1])

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b, strict=True)
