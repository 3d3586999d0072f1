"""tangent_distance and TangentDistanceKNN against references and promises."""

import numpy as np
import pytest
from scipy import ndimage
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsClassifier

from skreg.neighbors import TangentDistanceKNN, tangent_distance
from skreg.neighbors._kernels import orthonormal_planes, tangent_distance_all
from skreg.neighbors._tangent_distance import _PIVOT_TOL
from skreg.utils import image_tangents, signal_tangents
from skreg.utils._tangent_vectors import smooth_images, smooth_signals

from .._reference import tangent_distance_reference


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _reference_matrix(S_x, S_y, T_x, T_y, sided):
    out = np.empty((len(S_x), len(S_y)))
    for i in range(len(S_x)):
        for j in range(len(S_y)):
            Ty = T_y[j] if sided == "two" else None
            out[i, j] = tangent_distance_reference(S_x[i], S_y[j], T_x[i], Ty)
    return out


@pytest.mark.parametrize("sided", ["two", "one"])
@pytest.mark.parametrize("shape", [(5, 6), (6, 6)])
def test_images_match_lstsq_reference(rng, sided, shape):
    n_features = shape[0] * shape[1]
    X = rng.random((7, n_features))
    Y = rng.random((5, n_features))
    sigma = float(rng.uniform(0.4, 1.2))
    D = tangent_distance(X, Y, image_shape=shape, sided=sided, sigma=sigma)
    R = _reference_matrix(
        smooth_images(X, shape, sigma),
        smooth_images(Y, shape, sigma),
        image_tangents(X, shape, sigma=sigma),
        image_tangents(Y, shape, sigma=sigma),
        sided,
    )
    np.testing.assert_allclose(D, R, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("sided", ["two", "one"])
def test_signals_and_transform_subsets_match_reference(rng, sided):
    X, Y = rng.standard_normal((6, 23)), rng.standard_normal((4, 23))
    names = ["shift", "thickening"]
    D = tangent_distance(X, Y, transforms=names, sided=sided, sigma=1.3)
    R = _reference_matrix(
        smooth_signals(X, 1.3),
        smooth_signals(Y, 1.3),
        signal_tangents(X, names, 1.3),
        signal_tangents(Y, names, 1.3),
        sided,
    )
    np.testing.assert_allclose(D, R, rtol=1e-9, atol=1e-12)


def test_float32_distances(rng):
    X = rng.random((6, 36))
    D64 = tangent_distance(X)
    D32 = tangent_distance(X.astype(np.float32))
    assert D32.dtype == np.float32
    np.testing.assert_allclose(D32, D64, rtol=2e-3, atol=1e-4)


def test_rank_deficient_and_overlapping_tangent_sets(rng):
    """Kernel on hand-made tangent sets: a repeated tangent, a zero tangent,
    and a direction shared by both planes -- still the lstsq answer."""
    n = 12
    x, y = rng.standard_normal((2, 1, n))
    shared = rng.standard_normal(n)
    Tx = np.stack([shared, rng.standard_normal(n), shared * 2.0, np.zeros(n)])[None]
    Ty = np.stack(
        [rng.standard_normal(n), -shared, np.zeros(n), rng.standard_normal(n)]
    )[None]
    Q, r = {}, {}
    for name, T in (("x", Tx), ("y", Ty)):
        Q[name], r[name] = np.empty_like(T), np.empty(1, np.int64)
        orthonormal_planes(T, 1e-12, Q[name], r[name])
    assert r["x"][0] == 2 and r["y"][0] == 3
    out = np.empty((1, 1))
    tol = _PIVOT_TOL[np.dtype(np.float64)]
    tangent_distance_all(x, Q["x"], r["x"], y, Q["y"], r["y"], tol, out)
    expected = tangent_distance_reference(x[0], y[0], Tx[0], Ty[0])
    np.testing.assert_allclose(out[0, 0], expected, rtol=1e-9)


def test_two_sided_is_symmetric_and_zero_on_diagonal(digits):
    X = digits[0][:40]
    D = tangent_distance(X)
    np.testing.assert_allclose(D, D.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(np.diag(D), 0.0)
    assert np.all(D <= tangent_distance(X, sided="one") + 1e-12)


def test_one_pixel_shift_is_close_in_tangent_distance(digits):
    """A digit shifted by one pixel: Euclidean distance is large, tangent
    distance small (and smaller than to any digit of another class)."""
    X, y = digits[0][:60], digits[1][:60]
    for i in range(10):
        for shift in ((0, 1), (1, 0), (0, -1)):
            moved = ndimage.shift(X[i].reshape(8, 8), shift, order=0).ravel()
            td = tangent_distance(X[i : i + 1], moved[None])[0, 0]
            ed = np.linalg.norm(X[i] - moved)
            assert td < 0.4 * ed
            others = tangent_distance(moved[None], X[y != y[i]])
            assert td < others.min()


def test_blank_image(digits):
    X, y = digits
    Xb = np.vstack([np.zeros((1, 64)), X[:30]])
    D = tangent_distance(Xb)
    assert np.isfinite(D).all()
    # a blank image has no tangent plane: its distances are those between
    # the other image's plane and the origin
    np.testing.assert_allclose(
        D[0, 1:], tangent_distance(Xb[1:], Xb[:1], sided="one")[:, 0]
    )
    for n_candidates in (20, None):
        clf = TangentDistanceKNN(n_neighbors=1, n_candidates=n_candidates)
        clf.fit(Xb, np.r_[0, y[:30]])
        assert clf.tangent_rank_[0] == 0 and np.all(clf.tangents_[0] == 0)
        proba = clf.predict_proba(np.zeros((2, 64)))
        assert np.isfinite(proba).all()
        assert clf.predict(np.zeros((1, 64)))[0] == 0
        dist, ind = clf.kneighbors(Xb[:5], n_neighbors=31)
        np.testing.assert_allclose(dist, np.take_along_axis(D[:5], ind, 1), atol=1e-12)


@pytest.mark.parametrize("sided", ["two", "one"])
def test_kneighbors_matches_distance_matrix(digits, sided):
    X, y = digits
    Xtr, Xte = X[:300], X[300:340]
    clf = TangentDistanceKNN(n_neighbors=3, sided=sided, n_candidates=None).fit(
        Xtr, y[:300]
    )
    dist, ind = clf.kneighbors(Xte)
    if sided == "two":
        D = tangent_distance(Xte, Xtr)
    else:  # one-sided kNN uses the training samples' tangents
        D = tangent_distance(Xtr, Xte, sided="one").T
    order = np.argsort(D, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(ind, order)
    np.testing.assert_allclose(dist, np.take_along_axis(D, order, 1), rtol=1e-12)


def test_preselection_with_enough_candidates_equals_exact(digits):
    X, y = digits
    Xtr, ytr, Xte = X[:500], y[:500], X[500:700]
    exact = TangentDistanceKNN(n_neighbors=3, n_candidates=None).fit(Xtr, ytr)
    for m in (100, 499):
        pre = TangentDistanceKNN(n_neighbors=3, n_candidates=m).fit(Xtr, ytr)
        np.testing.assert_array_equal(pre.predict(Xte), exact.predict(Xte))
    d_pre, i_pre = pre.kneighbors(Xte)
    d_ex, i_ex = exact.kneighbors(Xte)
    np.testing.assert_array_equal(i_pre, i_ex)
    # exact search takes its inner products from BLAS: same values up to
    # rounding
    np.testing.assert_allclose(d_pre, d_ex, rtol=1e-12)


def test_kneighbors_without_X_excludes_self(digits):
    X, y = digits
    clf = TangentDistanceKNN(n_neighbors=2).fit(X[:100], y[:100])
    dist, ind = clf.kneighbors()
    assert ind.shape == (100, 2)
    assert not np.any(ind == np.arange(100)[:, None])
    assert np.all(np.diff(dist, axis=1) >= 0)
    assert clf.kneighbors(X[:5], n_neighbors=4, return_distance=False).shape == (5, 4)


def test_n_jobs_invariance(digits):
    X, y = digits
    outs = []
    for n_jobs in (1, 2, -1):
        clf = TangentDistanceKNN(n_neighbors=3, weights="distance", n_jobs=n_jobs)
        clf.fit(X[:400], y[:400])
        outs.append((clf.kneighbors(X[400:500]), clf.predict_proba(X[400:500])))
        outs[-1] += (tangent_distance(X[:30], X[30:50], n_jobs=n_jobs),)
    for kn, proba, D in outs[1:]:
        np.testing.assert_array_equal(kn[0], outs[0][0][0])
        np.testing.assert_array_equal(kn[1], outs[0][0][1])
        np.testing.assert_array_equal(proba, outs[0][1])
        np.testing.assert_array_equal(D, outs[0][2])


def test_weights_labels_and_proba(digits):
    X, y = digits
    labels = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )[y]
    for weights in ("uniform", "distance", lambda d: np.exp(-d)):
        clf = TangentDistanceKNN(n_neighbors=5, weights=weights).fit(
            X[:300], labels[:300]
        )
        proba = clf.predict_proba(X[300:400])
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        pred = clf.predict(X[300:400])
        np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
        assert np.mean(pred == labels[300:400]) > 0.9
    # a query identical to a training sample gets all the weight there
    clf = TangentDistanceKNN(n_neighbors=3, weights="distance").fit(X[:50], y[:50])
    np.testing.assert_array_equal(clf.predict(X[:50]), y[:50])


def test_tiny_widths_and_transform_cap():
    rng = np.random.default_rng(0)
    y = np.arange(30) % 3
    for n_features in (1, 2, 3, 4, 5, 7):
        X = rng.random((30, n_features)) + y[:, None]
        clf = TangentDistanceKNN(n_neighbors=3).fit(X, y)
        assert len(clf.transforms_) == max((n_features - 1) // 2, 0)
        assert np.mean(clf.predict(X) == y) >= 0.85
    with pytest.warns(UserWarning, match="Only 1 of the 3 requested"):
        TangentDistanceKNN(transforms=["shift", "dilation", "thickening"]).fit(
            rng.random((5, 3)), [0, 1, 0, 1, 0]
        )
    # image_shape=None: perfect squares are images, the rest signals
    assert TangentDistanceKNN().fit(rng.random((4, 16)), [0, 1, 0, 1]).image_shape_ == (
        4,
        4,
    )
    assert (
        TangentDistanceKNN().fit(rng.random((4, 15)), [0, 1, 0, 1]).image_shape_ is None
    )
    clf = TangentDistanceKNN(image_shape=(3, 5)).fit(rng.random((4, 15)), [0, 1, 0, 1])
    assert clf.image_shape_ == (3, 5) and len(clf.transforms_) == 7


def test_bad_input(digits):
    X, y = digits
    X, y = X[:40], y[:40]
    with pytest.raises(ValueError, match="product must equal n_features"):
        TangentDistanceKNN(image_shape=(8, 7)).fit(X, y)
    with pytest.raises(ValueError, match="product must equal n_features"):
        tangent_distance(X, image_shape=(4, 4))
    with pytest.raises(ValueError, match="Unknown image transform 'shear'"):
        TangentDistanceKNN(transforms=["rotate", "shear"]).fit(X, y)
    with pytest.raises(ValueError, match="Unknown image transform"):
        tangent_distance(X, transforms="twist")
    with pytest.raises(
        ValueError, match="image transforms but the data are treated as 1-D"
    ):
        TangentDistanceKNN(transforms=["rotate"]).fit(X[:, :10], y)
    for sigma in (0, -0.5):
        with pytest.raises(ValueError, match="'sigma' parameter"):
            TangentDistanceKNN(sigma=sigma).fit(X, y)
        with pytest.raises(ValueError, match="'sigma' parameter"):
            tangent_distance(X, sigma=sigma)
    with pytest.raises(ValueError, match="'sided' parameter"):
        tangent_distance(X, sided="three")
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit"):
        TangentDistanceKNN(n_neighbors=50, n_candidates=None).fit(X, y).predict(X)
    with pytest.raises(ValueError, match="X has 64 features but Y has 63"):
        tangent_distance(X, X[:, :63])
    bad = X.copy()
    bad[1, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tangent_distance(bad)
    with pytest.raises(ValueError, match="NaN"):
        tangent_distance(X, bad)
    bad[1, 5] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        TangentDistanceKNN().fit(bad, y)
    with pytest.raises(ValueError, match="infinity"):
        TangentDistanceKNN().fit(X, y).kneighbors(bad)


@pytest.mark.slow
def test_digits_error_well_below_euclidean(digits):
    """5-fold unshuffled KFold on load_digits, 1-NN: tangent distance errs at
    most 0.7x as often as Euclidean distance (measured: 1.9% vs 3.5%)."""
    X, y = digits
    errors = {"euclid": [], "td": [], "td_exact": []}
    for train, test in KFold(5).split(X):
        models = {
            "euclid": KNeighborsClassifier(1),
            "td": TangentDistanceKNN(n_neighbors=1, n_jobs=-1),
            "td_exact": TangentDistanceKNN(n_neighbors=1, n_candidates=None, n_jobs=-1),
        }
        for name, model in models.items():
            model.fit(X[train], y[train])
            errors[name].append(np.mean(model.predict(X[test]) != y[test]))
    err = {name: np.mean(e) for name, e in errors.items()}
    assert 0.03 < err["euclid"] < 0.04
    assert err["td"] <= 0.7 * err["euclid"], err
    assert err["td_exact"] <= 0.7 * err["euclid"], err


def test_concurrent_predictions_restore_blas_threads(digits):
    """Searches limit BLAS to one thread; overlapping searches from several
    Python threads must leave the original limits behind."""
    import threading

    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    X, y = digits
    before = blas_threads()
    clf = TangentDistanceKNN(n_jobs=2).fit(X[:300], y[:300])
    exact = TangentDistanceKNN(n_candidates=None, n_jobs=2).fit(X[:300], y[:300])
    expected = clf.predict(X[300:400]), exact.predict(X[300:400])
    results = []

    def work():
        for _ in range(5):
            results.append((clf.predict(X[300:400]), exact.predict(X[300:400])))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 15
    for pred, pred_exact in results:
        np.testing.assert_array_equal(pred, expected[0])
        np.testing.assert_array_equal(pred_exact, expected[1])
    assert blas_threads() == before


# --- KNeighborsClassifier's surface --------------------------------------------


def test_defaults_are_kneighborsclassifiers():
    assert TangentDistanceKNN().n_neighbors == KNeighborsClassifier().n_neighbors == 5
    assert TangentDistanceKNN().weights == KNeighborsClassifier().weights


def test_too_many_neighbours_name_the_sample_count_as_sklearn_does(digits):
    """Fitting succeeds (n_candidates is a lower bound, not a limit); asking
    for more neighbours than training samples fails at query time with
    KNeighborsClassifier's message."""
    X, y = digits
    ours = TangentDistanceKNN(n_neighbors=6, n_candidates=3).fit(X[:5], y[:5])
    theirs = KNeighborsClassifier(n_neighbors=6).fit(X[:5], y[:5])
    calls = [
        lambda e: e.predict(X[5:8]),
        lambda e: e.predict_proba(X[5:8]),
        lambda e: e.kneighbors(X[5:8]),
        lambda e: e.kneighbors(),
        lambda e: e.kneighbors(n_neighbors=5),
        lambda e: e.kneighbors_graph(X[5:8]),
    ]
    for call in calls:
        with pytest.raises(ValueError) as want:
            call(theirs)
        with pytest.raises(ValueError, match="n_samples_fit = 5") as got:
            call(ours)
        assert str(got.value) == str(want.value)
    assert "n_candidates" not in str(got.value)
    assert ours.kneighbors(X[5:8], n_neighbors=5)[1].shape == (3, 5)


def test_fewer_candidates_than_neighbours_examines_the_neighbours(digits):
    X, y = digits
    few = TangentDistanceKNN(n_neighbors=7, n_candidates=2).fit(X[:200], y[:200])
    enough = TangentDistanceKNN(n_neighbors=7, n_candidates=7).fit(X[:200], y[:200])
    for a, b in zip(few.kneighbors(X[200:230]), enough.kneighbors(X[200:230]),
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_candidates", [20, None])
def test_kneighbors_graph_matches_sklearn_where_the_distance_is_euclidean(
    rng, n_candidates
):
    """With no transforms the tangent distance is the Euclidean distance
    between the smoothed samples: the graph is KNeighborsClassifier's on
    them, entry for entry."""
    X, Q = rng.random((60, 16)), rng.random((7, 16))
    y = np.arange(60) % 3
    ours = TangentDistanceKNN(n_neighbors=4, transforms=[], n_candidates=n_candidates)
    ours.fit(X, y)
    assert ours.transforms_ == ()
    smooth = lambda A: smooth_images(A, (4, 4), 0.5)  # noqa: E731
    theirs = KNeighborsClassifier(n_neighbors=4).fit(smooth(X), y)
    for query, ref_query in ((Q, smooth(Q)), (None, None)):
        for mode in ("connectivity", "distance"):
            A = ours.kneighbors_graph(query, mode=mode)
            B = theirs.kneighbors_graph(ref_query, mode=mode)
            assert type(A) is type(B) and A.format == "csr"
            assert A.shape == B.shape == (60 if query is None else 7, 60)
            np.testing.assert_array_equal(A.indptr, B.indptr)
            np.testing.assert_array_equal(A.indices, B.indices)
            np.testing.assert_allclose(A.data, B.data, rtol=1e-10)
    A = ours.kneighbors_graph(Q, n_neighbors=2)
    np.testing.assert_array_equal(A.sum(axis=1), 2.0)
    with pytest.raises(ValueError, match='Unsupported mode, must be one of "conn'):
        ours.kneighbors_graph(Q, mode="weights")


def test_kneighbors_graph_holds_the_tangent_distances(digits):
    X, y = digits
    clf = TangentDistanceKNN(n_neighbors=3).fit(X[:100], y[:100])
    dist, ind = clf.kneighbors(X[100:110])
    A = clf.kneighbors_graph(X[100:110], mode="distance")
    rows = np.repeat(np.arange(10), 3)
    entries = np.asarray(A[rows, ind.ravel()]).ravel()
    np.testing.assert_array_equal(entries, dist.ravel())
    assert A.nnz == 30 and A.dtype == dist.dtype
    C = clf.kneighbors_graph()  # training samples, each without itself
    assert C.shape == (100, 100) and C.diagonal().sum() == 0
    np.testing.assert_array_equal(C.sum(axis=1), 3.0)


def test_kneighbors_graph_follows_the_sparse_interface_setting(digits):
    import scipy.sparse as sp
    import sklearn

    if "sparse_interface" not in sklearn.get_config():
        pytest.skip("scikit-learn < 1.9 returns scipy.sparse matrices only")
    X, y = digits
    clf = TangentDistanceKNN(n_neighbors=2).fit(X[:30], y[:30])
    with sklearn.config_context(sparse_interface="sparray"):
        assert isinstance(clf.kneighbors_graph(), sp.csr_array)
    assert isinstance(clf.kneighbors_graph(), sp.csr_matrix)


# --- serving: query tangents without scipy's overhead, lean validation ---------------

from sklearn.exceptions import NotFittedError  # noqa: E402

from skreg.neighbors import _classification as _clf  # noqa: E402
from skreg.neighbors import _tangent_distance as _td  # noqa: E402
from skreg.utils._tangent_vectors import (  # noqa: E402
    IMAGE_TRANSFORMS,
    SIGNAL_TRANSFORMS,
)


def _scipy_query_space(X, image_shape, transforms, sigma, with_tangents):
    """The query path as it was: scipy.ndimage for every block."""
    xb = _td._distance_space(X, image_shape, sigma)
    if not with_tangents:
        return xb, None
    return xb, _td._raw_tangents(X, image_shape, transforms, sigma)


_GEOMETRIES = [
    ((8, 8), IMAGE_TRANSFORMS),
    ((5, 7), ("rotate", "thickening", "translate_y")),
    ((1, 6), IMAGE_TRANSFORMS),
    ((9, 1), ("scale", "translate_x")),
    ((2, 3), ("diagonal_hyperbolic", "parallel_hyperbolic")),
    (None, SIGNAL_TRANSFORMS),
    (None, ("thickening", "shift")),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.3, 3.0, 1])
@pytest.mark.parametrize("geometry", _GEOMETRIES, ids=lambda g: str(g[0]))
def test_query_tangents_are_scipys_bit_for_bit(rng, dtype, sigma, geometry):
    """The numba smoothing/tangent kernels give scipy.ndimage's numbers:
    within rounding of the float64 sums anywhere, bit for bit where the
    probe found them to (x86-64 scipy wheels: every case here)."""
    image_shape, names = geometry
    n_features = 11 if image_shape is None else image_shape[0] * image_shape[1]
    X = rng.standard_normal((6, n_features)) * rng.choice([1e-3, 1.0, 1e3], (6, 1))
    X[0] = 0.0
    X = X.astype(dtype)
    want_S, want_T = _scipy_query_space(X, image_shape, names, sigma, True)
    filters = _td._build_filters(sigma, image_shape, n_features, names, dtype)
    S, T = _td._apply_filters(filters, X, image_shape)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    scale = np.abs(X).max()
    np.testing.assert_allclose(S, want_S, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(T, want_T, rtol=rtol, atol=rtol * scale**2)
    assert _td._filters(sigma, image_shape, n_features, names, np.dtype(dtype))
    for with_tangents in (True, False):
        S, T = _td._query_space(X, image_shape, names, sigma, with_tangents)
        np.testing.assert_array_equal(S, want_S, strict=True)
        if with_tangents:
            np.testing.assert_array_equal(T, want_T, strict=True)
        else:
            assert T is None


def test_query_tangents_fall_back_to_scipy_where_they_differ(monkeypatch, rng):
    """A sigma scipy treats as zero, a numpy float32 sigma (scipy derives
    other weights from it) and a platform where the probe disagrees all
    take scipy itself."""
    X = rng.random((3, 64))
    for sigma in (1e-16, np.float32(0.5)):
        want = _scipy_query_space(X, (8, 8), IMAGE_TRANSFORMS, sigma, True)
        got = _td._query_space(X, (8, 8), IMAGE_TRANSFORMS, sigma, True)
        np.testing.assert_array_equal(got[0], want[0], strict=True)
        np.testing.assert_array_equal(got[1], want[1], strict=True)
    assert _td._build_filters(1e-16, (8, 8), 64, IMAGE_TRANSFORMS, np.float64) is None
    # a kernel that disagrees with scipy on the probe is never used
    _td._filters.cache_clear()
    real = _td._apply_filters

    def off_by_one_ulp(filters, X, image_shape):
        S, T = real(filters, X, image_shape)
        return np.nextafter(S, np.inf), T

    monkeypatch.setattr(_td, "_apply_filters", off_by_one_ulp)
    try:
        assert _td._filters(0.7, (8, 8), 64, IMAGE_TRANSFORMS, np.float64) is None
        S, _ = _td._query_space(X, (8, 8), IMAGE_TRANSFORMS, 0.7, True)
        np.testing.assert_array_equal(S, _td._distance_space(X, (8, 8), 0.7))
    finally:
        _td._filters.cache_clear()


def _outputs(clf, Xq):
    out = {"proba": clf.predict_proba(Xq), "pred": clf.predict(Xq)}
    out["dist"], out["ind"] = clf.kneighbors(Xq)
    out["rows"] = np.vstack([clf.predict_proba(Xq[i : i + 1]) for i in range(25)])
    return out


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(n_neighbors=1),
        dict(sided="one"),
        dict(n_candidates=None, n_neighbors=3),
        dict(weights="distance"),
    ],
    ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default",
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_digits_answers_are_the_scipy_paths_bit_for_bit(digits, params, dtype,
                                                         monkeypatch):  # fmt: skip
    """Predictions, probabilities and neighbour distances on load_digits
    are those of the previous query path (scipy tangents, full validation,
    products of the training set recomputed per call), bit for bit, for
    whole batches and for one row at a time."""
    X, y = digits
    X = X.astype(dtype)
    Xq = np.vstack([X[1200:1400], X[:20]])  # unseen digits and training digits
    clf = TangentDistanceKNN(**params).fit(X[:1200], y[:1200])
    fast = _outputs(clf, Xq)
    monkeypatch.setattr(_clf, "_query_space", _scipy_query_space)
    monkeypatch.setattr(_clf, "fitted_dense_rows", lambda est, X: None)
    del clf._fit_sq_norms, clf._fit_ty  # as a model pickled before them
    slow = _outputs(clf, Xq)
    for key in fast:
        np.testing.assert_array_equal(fast[key], slow[key], err_msg=key, strict=True)


def test_signal_answers_are_the_scipy_paths_bit_for_bit(rng, monkeypatch):
    X = rng.standard_normal((150, 30))
    y = (X[:, :5].sum(axis=1) > 0).astype(int)
    clf = TangentDistanceKNN(sigma=0.8).fit(X[:120], y[:120])
    fast = _outputs(clf, X[120:])
    monkeypatch.setattr(_clf, "_query_space", _scipy_query_space)
    slow = _outputs(clf, X[120:])
    for key in fast:
        np.testing.assert_array_equal(fast[key], slow[key], err_msg=key, strict=True)


def test_bad_queries_get_the_same_errors_as_the_full_path(digits, monkeypatch):
    import pandas as pd

    X, y = digits
    clf = TangentDistanceKNN(n_neighbors=3).fit(X[:100], y[:100])
    nan = X[:3].copy()
    nan[1, 7] = np.nan
    bad = {
        "nan": nan,
        "inf": np.where(nan != nan, np.inf, nan),
        "narrow": X[:3, :63],
        "empty": X[:0],
        "1-D": X[0],
        "3-D": X[None, :3],
        "strings": np.array([["a"] * 64]),
        "complex": X[:2].astype(complex),
        "list": X[:2].tolist(),
        "float16": X[:2].astype(np.float16),
        "float32": X[:2].astype(np.float32),
        "frame": pd.DataFrame(X[:2]),
    }

    def outcome(call):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - compared, not swallowed
            return type(exc), str(exc)

    fast = {k: outcome(lambda v=v: clf.predict_proba(v)) for k, v in bad.items()}
    fast_kn = {k: outcome(lambda v=v: clf.kneighbors(v)) for k, v in bad.items()}
    monkeypatch.setattr(_clf, "fitted_dense_rows", lambda est, X: None)
    for k, v in bad.items():
        slow = outcome(lambda v=v: clf.predict_proba(v))
        if isinstance(slow, tuple):
            assert fast[k] == slow, k
        else:
            np.testing.assert_array_equal(fast[k], slow, err_msg=k)
        slow = outcome(lambda v=v: clf.kneighbors(v))
        if isinstance(slow[0], type):
            assert fast_kn[k] == slow, k
        else:
            np.testing.assert_array_equal(fast_kn[k][0], slow[0], err_msg=k)
    assert fast["nan"][0] is ValueError and "NaN" in fast["nan"][1]
    with pytest.raises(NotFittedError):
        TangentDistanceKNN().predict_proba(X[:1])
    # fitted on a DataFrame: arrays warn, on the fast path too
    frame = pd.DataFrame(X[:100], columns=[f"p{i}" for i in range(64)])
    clf = TangentDistanceKNN(n_neighbors=3).fit(frame, y[:100])
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X[:1])


def test_query_path_leaves_the_model_unchanged(digits):
    """predict adds nothing to the instance (the kernels' arguments are
    cached per geometry, outside it) and a pickled model answers alike."""
    import pickle

    X, y = digits
    clf = TangentDistanceKNN().fit(X[:200], y[:200])
    before = dict(vars(clf))
    proba = clf.predict_proba(X[200:230])
    assert vars(clf).keys() == before.keys()
    assert all(vars(clf)[k] is v for k, v in before.items())
    again = pickle.loads(pickle.dumps(clf)).predict_proba(X[200:230])
    np.testing.assert_array_equal(again, proba, strict=True)
