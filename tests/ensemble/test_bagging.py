"""BaggedMLPClassifier: voting, classes, OOB, seeds, eq. 4, bad input."""

import threading
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.fixes import parse_version

from skreg.ensemble import BaggedMLPClassifier
from skreg.neural_network import DropoutMLPClassifier, MLPClassifier
from skreg.neural_network._engine import (
    EngineConfig,
    Layout,
    glorot_init,
    loss_and_gradient,
)

from .._instances import STRICT_XFAIL
from ..test_contracts import assert_same_fitted_state

# scikit-learn 1.8 made BaggingClassifier draw rows with probabilities
# proportional to sample_weight (before, it passed the weights to the
# members) and accept max_samples > n_samples with bootstrap; skreg follows
# 1.8, so comparisons of those draws need it.
_DRAWS_LIKE_SKLEARN = parse_version(sklearn.__version__) >= parse_version("1.8")
_NEEDS_18 = "scikit-learn < 1.8 draws bagging samples differently"

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:.*no out-of-bag prediction:UserWarning"),
]


def make_data(n=90, d=12, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0.0, 1.0, size=(n_classes, d))
    y = np.arange(n) % n_classes
    X = centers[y] + 0.25 * rng.standard_normal((n, d))
    return X, y


def small(**kw):
    member = kw.pop(
        "estimator",
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=15, learning_rate_init=0.02),
    )
    return BaggedMLPClassifier(member, **{"n_estimators": 4, "random_state": 0, **kw})


def test_soft_voting_is_the_mean_of_member_probabilities(seed):
    X, y = make_data(seed=seed)
    bag = small(random_state=seed).fit(X, y)
    mean = np.mean([m.predict_proba(X) for m in bag.estimators_], axis=0)
    np.testing.assert_allclose(bag.predict_proba(X), mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(bag.predict(X), bag.classes_[mean.argmax(1)])


def test_hard_voting_is_the_majority_label_and_proba_the_vote_fractions(seed):
    X, y = make_data(seed=seed)
    bag = small(voting="hard", n_estimators=5, random_state=seed).fit(X, y)
    votes = np.stack([m.predict(X) for m in bag.estimators_])  # (k, n) labels
    frac = np.stack([(votes == c).mean(axis=0) for c in bag.classes_], axis=1)
    proba = bag.predict_proba(X)
    np.testing.assert_allclose(proba, frac)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    majority = bag.classes_[frac.argmax(axis=1)]  # ties: first class
    np.testing.assert_array_equal(bag.predict(X), majority)


def test_every_member_has_the_ensembles_classes_when_a_bootstrap_misses_one():
    X, y = make_data(n=60)
    y = np.array(["a", "b", "c"], dtype=object)[y]
    y[0] = "rare"  # one sample: a 60-draw bootstrap misses it with p ~ 0.37
    bag = small(n_estimators=8, random_state=3).fit(X, y)
    missed = [i for i, s in enumerate(bag.estimators_samples_) if not np.isin(0, s)]
    assert missed, "the seed should give at least one member without 'rare'"
    for m in bag.estimators_:
        np.testing.assert_array_equal(m.classes_, bag.classes_)
    proba = bag.predict_proba(X)
    assert proba.shape == (60, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(bag.predict(X)) <= set(bag.classes_)
    # a member that never saw 'rare' with positive weight gives it little mass
    rare = list(bag.classes_).index("rare")
    p_missed = bag.estimators_[missed[0]].predict_proba(X)[:, rare]
    assert p_missed.mean() < 1.0 / 4


def test_distinct_rows_with_multiplicities_is_the_bootstrap_objective(seed):
    # The premise of the fast path: the engine's weighted objective on the
    # distinct rows equals its objective on the bootstrap sample with repeats.
    X, y = make_data(seed=seed)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, X.shape[0], X.shape[0])
    counts = np.bincount(idx, minlength=X.shape[0])
    rows = np.flatnonzero(counts)
    layout = Layout([X.shape[1], 7, 3])
    coefs, intercepts = glorot_init(
        layout.units, "relu", np.random.RandomState(seed), np.float64
    )
    theta = layout.pack(coefs, intercepts, np.float64)
    l1 = EngineConfig(alpha=0.0, activation_penalty="l1", activation_penalty_alpha=0.01)
    for cfg in (EngineConfig(alpha=0.1), l1):
        loss_rep, grad_rep = loss_and_gradient(
            theta, layout, X[idx], y[idx], None, cfg, 1
        )
        loss_w, grad_w = loss_and_gradient(
            theta, layout, X[rows], y[rows], counts[rows].astype(float), cfg, 1
        )
        np.testing.assert_allclose(loss_w, loss_rep, rtol=1e-12)
        np.testing.assert_allclose(grad_w, grad_rep, rtol=1e-10, atol=1e-14)


def test_member_batch_size_carries_the_template_batch_weight():
    X, y = make_data(n=300)
    bag = small(n_estimators=3).fit(X, y)
    for m, s in zip(bag.estimators_, bag.estimators_samples_, strict=True):
        n_distinct = np.unique(s).shape[0]
        assert m.batch_size == round(200 * n_distinct / 300)
    bag = small(n_estimators=2, bootstrap=False, max_samples=0.5).fit(X, y)
    assert all(m.batch_size == "auto" for m in bag.estimators_)


def test_sampling_without_replacement():
    X, y = make_data(n=80)
    bag = small(bootstrap=False, max_samples=0.5).fit(X, y)
    for s in bag.estimators_samples_:
        assert s.shape == (40,)
        assert np.unique(s).shape == (40,)
    bag = small(bootstrap=True, max_samples=30).fit(X, y)
    assert all(s.shape == (30,) for s in bag.estimators_samples_)


def test_same_result_for_any_n_jobs_and_threads():
    X, y = make_data()
    ref = small(n_estimators=5, oob_score=True).fit(X, y)
    par = small(n_estimators=5, oob_score=True, n_jobs=2).fit(X, y)
    assert_same_fitted_state(ref, par)
    np.testing.assert_array_equal(ref.predict_proba(X), par.predict_proba(X))
    assert ref.oob_score_ == par.oob_score_
    out = [None, None]

    def work(i):
        out[i] = small(n_estimators=5, oob_score=True, n_jobs=2).fit(X, y)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in out:
        assert_same_fitted_state(ref, o)


def test_dask_backend_is_bit_identical_to_n_jobs_1():
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_backend

    X, y = make_data()
    ref = small(n_estimators=4, oob_score=True).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dask's own start-up chatter
        cluster = distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",
            scheduler_port=0,
            dashboard_address=None,
        )
        client = distributed.Client(cluster)
    try:
        with parallel_backend("dask"):
            bag = small(n_estimators=4, oob_score=True).fit(X, y)
    finally:
        client.close()
        cluster.close()
    assert_same_fitted_state(ref, bag)
    np.testing.assert_array_equal(ref.predict_proba(X), bag.predict_proba(X))


def test_warm_start_grows_to_the_same_ensemble():
    X, y = make_data()
    full = small(n_estimators=5, oob_score=True).fit(X, y)
    grown = small(n_estimators=2, oob_score=True, warm_start=True).fit(X, y)
    first = grown.estimators_[:2]
    grown.set_params(n_estimators=5).fit(X, y)
    assert grown.estimators_[:2] == first  # kept, not refitted
    assert_same_fitted_state(full, grown)
    with pytest.warns(UserWarning, match="does not fit new members"):
        grown.fit(X, y)
    with pytest.raises(ValueError, match="n_estimators=3 must be larger or equal"):
        grown.set_params(n_estimators=3).fit(X, y)
    with pytest.raises(ValueError, match="same data"):
        grown.set_params(n_estimators=6).fit(X[:50], y[:50])


def _oob_by_hand(bag, X, y):
    n, C = X.shape[0], bag.classes_.shape[0]
    acc, votes = np.zeros((n, C)), np.zeros(n)
    members = zip(
        bag.estimators_, bag.estimators_samples_, bag.estimators_features_, strict=True
    )
    for m, s, f in members:
        oob = np.setdiff1d(np.arange(n), s)
        p = m.predict_proba(X[oob][:, f])
        if bag.voting == "soft":
            acc[oob] += p
        else:
            acc[oob, p.argmax(1)] += 1
        votes[oob] += 1
    return acc, votes


@pytest.mark.parametrize("voting", ["soft", "hard"])
def test_oob_leaves_out_samples_without_vote_and_warns(voting):
    X, y = make_data(n=60)
    with pytest.warns(UserWarning, match="no out-of-bag prediction"):
        bag = small(n_estimators=2, oob_score=True, voting=voting).fit(X, y)
    acc, votes = _oob_by_hand(bag, X, y)
    has = votes > 0
    assert 0 < has.sum() < 60
    dec = bag.oob_decision_function_
    assert np.isnan(dec[~has]).all()
    np.testing.assert_allclose(dec[has], acc[has] / votes[has, None], rtol=1e-12)
    expected = np.mean(bag.classes_[dec[has].argmax(1)] == y[has])
    assert bag.oob_score_ == pytest.approx(expected)


def test_oob_without_missing_samples_has_no_warning():
    X, y = make_data(n=60)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*out-of-bag")
        bag = small(n_estimators=12, oob_score=True).fit(X, y)
    assert np.isfinite(bag.oob_decision_function_).all()
    assert 0.5 < bag.oob_score_ <= 1.0


def test_error_decomposition_is_eq4(seed):
    X, y = make_data(seed=seed)
    bag = small(n_estimators=5, random_state=seed).fit(X[:60], y[:60])
    d = bag.error_decomposition(X[60:], y[60:])
    assert type(d.k) is int and d.k == 5
    assert all(type(v) is float for v in (d.v, d.c, d.eq4, d.ensemble_error))
    assert d.eq4 == pytest.approx(d.ensemble_error, rel=1e-12)
    assert d.eq4 == pytest.approx(d.v / 5 + 4 * d.c / 5, rel=1e-12)
    # by hand: E[.] over samples and classes
    onehot = (y[60:, None] == bag.classes_[None, :]).astype(float)
    errs = [m.predict_proba(X[60:]) - onehot for m in bag.estimators_]
    assert d.v == pytest.approx(np.mean([np.mean(e * e) for e in errs]), rel=1e-12)
    pairs = [np.mean(errs[i] * errs[j]) for i in range(5) for j in range(5) if i != j]
    assert d.c == pytest.approx(np.mean(pairs), rel=1e-10)
    assert d.c <= d.v + 1e-12  # Cauchy-Schwarz on the mean
    assert d._asdict()["k"] == 5

    one = small(n_estimators=1).fit(X, y).error_decomposition(X, y)
    assert one.k == 1 and np.isnan(one.c) and one.eq4 == one.v
    assert one.ensemble_error == pytest.approx(one.v, rel=1e-12)
    with pytest.raises(ValueError, match="not in classes_"):
        bag.error_decomposition(X[:5], np.array([0, 1, 2, 7, 0]))
    with pytest.raises(ValueError, match="one label per row"):
        bag.error_decomposition(X[:5], y[:4])


def test_float32_members_and_outputs():
    X, y = make_data()
    bag = small(oob_score=True, n_estimators=6).fit(X.astype(np.float32), y)
    assert all(m.coefs_[0].dtype == np.float32 for m in bag.estimators_)
    assert bag.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert bag.predict_proba(X).dtype == np.float32
    assert bag.oob_decision_function_.dtype == np.float32
    d = bag.error_decomposition(X, y)
    assert d.eq4 == pytest.approx(d.ensemble_error, rel=1e-12)


def test_any_engine_regularizer_works_inside():
    X, y = make_data()
    member = DropoutMLPClassifier(
        hidden_layer_sizes=(16,),
        max_iter=30,
        learning_rate_init=0.01,
        hidden_dropout=0.3,
        input_dropout=0.1,
    )
    bag = small(estimator=member, n_estimators=3).fit(X, y)
    assert all(type(m) is DropoutMLPClassifier for m in bag.estimators_)
    assert bag.score(X, y) > 0.5
    ref = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0).fit(X, y)
    tied = MLPClassifier(
        hidden_layer_sizes=(8,),
        max_iter=10,
        tie_to=ref,
        tie_alpha=0.1,
        activation_penalty="l1",
        max_norm=2.0,
    )
    bag = small(estimator=tied, n_estimators=2).fit(X, y)
    assert all(m.tie_to is ref for m in bag.estimators_)  # shared, not cloned


def test_template_is_left_untouched_and_default_is_mlp():
    X, y = make_data()
    member = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5)
    params = member.get_params()
    bag = small(estimator=member, n_estimators=2).fit(X, y)
    assert member.get_params() == params and not hasattr(member, "coefs_")
    assert all(m is not member for m in bag.estimators_)
    default = BaggedMLPClassifier(n_estimators=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        default.set_params(estimator=None).fit(X[:30], y[:30])
    assert type(default.estimators_[0]) is MLPClassifier
    assert default.estimators_[0].hidden_layer_sizes == (100,)


@pytest.mark.parametrize(
    "params, err, match",
    [
        (dict(n_estimators=0), ValueError, "n_estimators"),
        (dict(max_samples=0.0), ValueError, "max_samples"),
        (dict(max_samples=1.5), ValueError, "max_samples"),
        (dict(max_samples=0), ValueError, "max_samples"),
        (
            dict(max_samples=1000, bootstrap=False),
            ValueError,
            "Effective max_samples=1000 must be <= n_samples=90",
        ),
        (dict(max_features=13), ValueError, "max_features=13 must be <= n_features=12"),
        (dict(max_features=1.5), ValueError, "max_features"),
        (dict(max_features=0), ValueError, "max_features"),
        (
            dict(estimator=LogisticRegression()),
            TypeError,
            "skreg neural classifier .* or scikit-learn's .*MLPClassifier, got "
            "LogisticRegression. To bag any other estimator, use "
            r"sklearn.ensemble.BaggingClassifier",
        ),
        (dict(estimator=MLPClassifier), TypeError, "instance"),
        (dict(oob_score=True, bootstrap=False), ValueError, "bootstrap=True"),
        (dict(voting="mean"), ValueError, "voting"),
    ],
)
def test_bad_input_gives_clear_errors(params, err, match):
    X, y = make_data()
    with pytest.raises(err, match=match):
        clone(small()).set_params(**params).fit(X, y)


def test_single_class_and_unfitted():
    X, y = make_data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        small().fit(X, np.zeros(len(y)))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        small().predict(X)
    with pytest.raises(NotFittedError):
        small().error_decomposition(X, y)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ctrl_c_stops_every_member(n_jobs):
    """One Ctrl-C stops the whole ensemble within a couple of seconds (not
    only the member training at that moment), warns, and leaves it unfitted."""
    import _thread
    import time

    from sklearn.exceptions import NotFittedError

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 16))
    y = np.arange(300) % 3
    member = MLPClassifier(
        hidden_layer_sizes=(16,), max_iter=10**6, tol=0.0, n_iter_no_change=10**9
    )
    _quiet_fit = BaggedMLPClassifier(
        clone(member).set_params(max_iter=1), n_estimators=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _quiet_fit.fit(X, y)  # compile first
    bag = BaggedMLPClassifier(member, n_estimators=6, n_jobs=n_jobs, random_state=0)
    threads_before = threading.active_count()
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    with (
        pytest.raises(KeyboardInterrupt),
        pytest.warns(UserWarning, match="interrupted"),
    ):
        bag.fit(X, y)
    elapsed = time.perf_counter() - t0
    assert elapsed < 3.5, elapsed  # interrupted at 1 s
    deadline = time.perf_counter() + 3.0
    while threading.active_count() > threads_before and time.perf_counter() < deadline:
        time.sleep(0.05)
    # every member's thread has stopped (joblib may keep idle pool threads,
    # which do no work: check that none is still training by CPU time)
    cpu = time.process_time()
    time.sleep(0.5)
    assert time.process_time() - cpu < 0.25
    with pytest.raises(NotFittedError):
        bag.predict(X)


# --- BaggingClassifier's surface: columns, sample weights, routing, members ---


def sk_mlp(**kw):
    from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

    return SklearnMLPClassifier(
        **{"hidden_layer_sizes": (8,), "max_iter": 15, "learning_rate_init": 0.02, **kw}
    )


_DRAWS = [
    dict(),
    dict(max_features=0.5),
    dict(max_features=5, bootstrap_features=True),
    dict(bootstrap=False, max_samples=0.7),
    dict(max_samples=120, max_features=0.75),
]


@pytest.mark.parametrize("params", _DRAWS)
def test_columns_and_rows_are_baggingclassifiers(seed, params):
    """Same random_state, same data: the members see the rows and columns a
    BaggingClassifier's members see (its draws do not depend on the
    estimator, so a stump keeps this fast)."""
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    if params.get("max_samples", 0) == 120 and not _DRAWS_LIKE_SKLEARN:
        pytest.skip(_NEEDS_18)
    X, y = make_data(seed=seed)
    bag = small(n_estimators=5, random_state=seed, **params).fit(X, y)
    ref = BaggingClassifier(
        DecisionTreeClassifier(max_depth=1), n_estimators=5, random_state=seed, **params
    ).fit(X, y)
    assert len(bag.estimators_features_) == 5
    for ours, theirs in zip(bag.estimators_features_, ref.estimators_features_,
                            strict=True):  # fmt: skip
        np.testing.assert_array_equal(ours, theirs)
    for ours, theirs in zip(bag.estimators_samples_, ref.estimators_samples_,
                            strict=True):  # fmt: skip
        np.testing.assert_array_equal(ours, theirs)
    assert bag.n_classes_ == ref.n_classes_ == 3 and type(bag.n_classes_) is int
    n_cols = {1.0: 12, 0.5: 6, 5: 5, 0.75: 9}[params.get("max_features", 1.0)]
    for f, m in zip(bag.estimators_features_, bag.estimators_, strict=True):
        assert f.shape == (n_cols,) and m.n_features_in_ == n_cols
        if not params.get("bootstrap_features"):
            assert np.unique(f).shape == f.shape


def test_members_train_on_and_predict_from_their_columns(seed):
    X, y = make_data(seed=seed)
    bag = small(n_estimators=5, max_features=0.5, random_state=seed).fit(X, y)
    mean = np.mean(
        [m.predict_proba(X[:, f]) for m, f in
         zip(bag.estimators_, bag.estimators_features_, strict=True)],
        axis=0,
    )  # fmt: skip
    np.testing.assert_allclose(bag.predict_proba(X), mean, rtol=1e-12, atol=1e-15)
    # a member is the network fitted on its columns (and its weighted rows)
    f, s = bag.estimators_features_[0], bag.estimators_samples_[0]
    counts = np.bincount(s, minlength=X.shape[0])
    rows = np.flatnonzero(counts)
    m = bag.estimators_[0]
    alone = clone(m).fit(X[rows][:, f], y[rows], sample_weight=counts[rows])
    np.testing.assert_array_equal(
        alone.predict_proba(X[:, f]), m.predict_proba(X[:, f])
    )
    # columns drawn with replacement: repeated columns are fine
    bag = small(n_estimators=4, bootstrap_features=True, random_state=seed).fit(X, y)
    assert any(np.unique(f).shape[0] < 12 for f in bag.estimators_features_)
    assert bag.predict_proba(X).shape == (90, 3)


@pytest.mark.parametrize("voting", ["soft", "hard"])
def test_oob_and_error_decomposition_use_the_members_columns(voting):
    X, y = make_data(n=60)
    bag = small(n_estimators=6, max_features=0.5, oob_score=True, voting=voting)
    bag.fit(X, y)
    acc, votes = _oob_by_hand(bag, X, y)
    has = votes > 0
    np.testing.assert_allclose(
        bag.oob_decision_function_[has], acc[has] / votes[has, None], rtol=1e-12
    )
    d = bag.error_decomposition(X, y)
    assert d.eq4 == pytest.approx(d.ensemble_error, rel=1e-12)
    onehot = (y[:, None] == bag.classes_[None, :]).astype(float)
    errs = [
        m.predict_proba(X[:, f]) - onehot
        for m, f in zip(bag.estimators_, bag.estimators_features_, strict=True)
    ]
    assert d.v == pytest.approx(np.mean([np.mean(e * e) for e in errs]), rel=1e-12)


def test_max_samples_means_what_scikit_learn_means():
    X, y = make_data()  # 90 rows
    w = np.r_[np.full(45, 2.0), np.full(45, 1.0)]  # sum 135
    assert BaggedMLPClassifier().max_samples is None
    draws = lambda bag: {s.shape[0] for s in bag.estimators_samples_}  # noqa: E731
    assert draws(small(n_estimators=2).fit(X, y)) == {90}
    assert draws(small(n_estimators=2).fit(X, y, sample_weight=w)) == {90}
    assert draws(small(n_estimators=2, max_samples=1.0).fit(X, y)) == {90}
    # a float is a fraction of the weight sum, truncated (0.55 * 90 = 49.5)
    bag = small(n_estimators=2, max_samples=1.0).fit(X, y, sample_weight=w)
    assert draws(bag) == {135}
    assert draws(small(n_estimators=2, max_samples=0.55).fit(X, y)) == {49}
    assert draws(small(n_estimators=2, max_samples=150).fit(X, y)) == {150}
    with pytest.warns(UserWarning, match="draws only 4 rows per member"):
        small(n_estimators=2, max_samples=0.05).fit(X, y)


def test_sample_weight_is_the_probability_of_the_draw(seed):
    """Rows of weight 0 are never drawn; an integer weight m counts as m
    copies of the row in distribution (in-bag counts of a weighted row and of
    its m duplicates have the same mean), as in scikit-learn >= 1.8."""
    rng = np.random.default_rng(seed)
    X, y = make_data(n=30, seed=seed)
    w = rng.integers(0, 4, size=30)
    w[:3] = [0, 1, 3]  # every weight occurs
    member = MLPClassifier(hidden_layer_sizes=(2,), max_iter=1)
    k = 300
    kw = dict(estimator=member, n_estimators=k, max_samples=1.0, random_state=seed)
    weighted = small(**kw).fit(X, y, sample_weight=w)
    X_dup, y_dup = np.repeat(X, w, axis=0), np.repeat(y, w)
    origin = np.repeat(np.arange(30), w)
    duplicated = small(**kw).fit(X_dup, y_dup)
    c_w = np.mean([np.bincount(s, minlength=30) for s in weighted.estimators_samples_],
                  axis=0)  # fmt: skip
    c_d = np.mean(
        [np.bincount(origin[s], minlength=30) for s in duplicated.estimators_samples_],
        axis=0,
    )
    assert np.all(c_w[w == 0] == 0) and np.all(c_d[w == 0] == 0)
    # count of row i ~ Binomial(sum w, w_i / sum w): mean w_i, variance < w_i
    tol = 5 * np.sqrt(np.maximum(w, 1) / k)
    assert np.all(np.abs(c_w - w) < tol), (c_w, w)
    assert np.all(np.abs(c_d - w) < tol), (c_d, w)
    for bootstrap in (True, False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            bag = small(n_estimators=5, bootstrap=bootstrap).fit(X, y, sample_weight=w)
        for s in bag.estimators_samples_:
            assert not np.isin(np.flatnonzero(w == 0), s).any()


@pytest.mark.skipif(not _DRAWS_LIKE_SKLEARN, reason=_NEEDS_18)
def test_sample_weight_draws_match_baggingclassifier(seed):
    from sklearn.ensemble import BaggingClassifier
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_data(seed=seed)
    w = np.random.default_rng(seed).uniform(0.0, 2.0, size=90)
    for params in (dict(), dict(max_samples=0.8, max_features=0.5)):
        bag = small(n_estimators=4, random_state=seed, **params)
        bag.fit(X, y, sample_weight=w)
        ref = BaggingClassifier(
            DecisionTreeClassifier(max_depth=1), n_estimators=4, random_state=seed,
            **params,
        ).fit(X, y, sample_weight=w)  # fmt: skip
        for a, b in zip(bag.estimators_samples_, ref.estimators_samples_, strict=True):
            np.testing.assert_array_equal(a, b)


def test_unit_sample_weight_is_no_sample_weight():
    X, y = make_data()
    ref = small(n_estimators=3, oob_score=True).fit(X, y)
    ones = small(n_estimators=3, oob_score=True).fit(X, y, sample_weight=np.ones(90))
    assert_same_fitted_state(ref, ones)
    np.testing.assert_array_equal(ref.predict_proba(X), ones.predict_proba(X))


def test_bad_sample_weight():
    X, y = make_data()
    with pytest.raises(ValueError, match="Negative values"):
        small().fit(X, y, sample_weight=np.r_[-1.0, np.ones(89)])
    with pytest.raises(ValueError, match="sums to 0|at least one non-zero"):
        small().fit(X, y, sample_weight=np.zeros(90))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\)"):
        small().fit(X, y, sample_weight=np.ones(3))
    with pytest.warns(UserWarning, match="recommended to use bootstrap=True"):
        small(n_estimators=2, bootstrap=False).fit(X, y, sample_weight=np.ones(90))
    unfitted = small()
    with pytest.raises(ValueError, match="Negative values"):
        unfitted.fit(X, y, sample_weight=-np.ones(90))
    assert not hasattr(unfitted, "n_features_in_")  # failed fits change nothing


def test_warm_start_with_columns_and_weights_grows_to_the_same_ensemble():
    X, y = make_data()
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=90)
    kw = dict(max_features=0.5, oob_score=True)
    full = small(n_estimators=5, **kw).fit(X, y, sample_weight=w)
    grown = small(n_estimators=2, warm_start=True, **kw).fit(X, y, sample_weight=w)
    grown.set_params(n_estimators=5).fit(X, y, sample_weight=w)
    assert_same_fitted_state(full, grown)
    with pytest.raises(ValueError, match="other sample weights"):
        grown.set_params(n_estimators=6).fit(X, y)
    with pytest.raises(ValueError, match="max_features -> 9"):
        grown.set_params(max_features=0.75).fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="bootstrap_features must not change"):
        grown.set_params(max_features=0.5, bootstrap_features=True).fit(
            X, y, sample_weight=w
        )
    assert len(grown.estimators_) == 5  # the failed fits changed nothing


def test_sample_weight_and_fit_params_are_routed():
    """With metadata routing, the ensemble consumes sample_weight when asked
    to (set_fit_request) and routes other fit parameters (here the tangents of
    TangentPropMLPClassifier) to the members, by row and by column."""
    import sklearn
    from sklearn.exceptions import UnsetMetadataPassedError
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from skreg.neural_network import TangentPropMLPClassifier

    class Spy(TangentPropMLPClassifier):
        def fit(self, X, y, sample_weight=None, tangents=None):
            self.seen_ = (X.copy(), None if tangents is None else tangents.copy())
            return super().fit(X, y, sample_weight)

    X, y = make_data()
    w = np.ones(90)
    w[:10] = 0.0
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        small().fit(X, y, tangents=np.zeros((90, 1, 12)))
    with sklearn.config_context(enable_metadata_routing=True):
        bag = small(n_estimators=3).set_fit_request(sample_weight=True)
        pipe = make_pipeline(FunctionTransformer(), bag).fit(X, y, sample_weight=w)
        for s in pipe[-1].estimators_samples_:
            assert s.min() >= 10
        with pytest.raises(UnsetMetadataPassedError):
            make_pipeline(FunctionTransformer(), small()).fit(X, y, sample_weight=w)

        # tangents[i, t, j] = i + j / 100: the member's rows and columns
        T = np.arange(90.0)[:, None, None] + np.arange(12.0)[None, None, :] / 100
        spy = Spy(hidden_layer_sizes=(4,), max_iter=2).set_fit_request(tangents=True)
        bag = small(estimator=spy, n_estimators=3, max_features=0.5)
        bag.fit(X, y, tangents=T)
        for m, f in zip(bag.estimators_, bag.estimators_features_, strict=True):
            X_seen, T_seen = m.seen_
            rows = np.floor(T_seen[:, 0, 0]).astype(int)
            np.testing.assert_array_equal(T_seen, T[rows][..., f])
            np.testing.assert_array_equal(X_seen, X[rows][:, f])
            assert T_seen.shape[1:] == (1, 6)
        routing = bag.get_metadata_routing()
        assert routing.consumes("fit", ["tangents"]) == {"tangents"}


def test_sklearn_mlp_members_fit_as_in_baggingclassifier():
    """A scikit-learn MLPClassifier template: members trained through its own
    fit, with BaggingClassifier's rows, columns and seeds, hence the same
    predictions -- for any n_jobs."""
    from sklearn.ensemble import BaggingClassifier
    from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

    X, y = make_data()
    w = np.random.default_rng(0).uniform(0.0, 2.0, size=90)
    cases = [(dict(), None), (dict(max_features=0.5), w)]
    for params, sw in cases[: 2 if _DRAWS_LIKE_SKLEARN else 1]:
        bag = small(estimator=sk_mlp(), n_estimators=3, **params)
        bag.fit(X, y, sample_weight=sw)
        ref = BaggingClassifier(sk_mlp(), n_estimators=3, random_state=0, **params)
        ref.fit(X, y, sample_weight=sw)
        assert all(type(m) is SklearnMLPClassifier for m in bag.estimators_)
        np.testing.assert_array_equal(bag.predict_proba(X), ref.predict_proba(X))
        np.testing.assert_array_equal(bag.predict(X), ref.predict(X))
    par = small(estimator=sk_mlp(), n_estimators=3, n_jobs=2, **params)
    par.fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(par.predict_proba(X), bag.predict_proba(X))
    # the rest of the surface works with them too
    bag = small(estimator=sk_mlp(), n_estimators=4, oob_score=True, voting="hard")
    bag.fit(X, y)
    acc, votes = _oob_by_hand(bag, X, y)
    has = votes > 0
    np.testing.assert_allclose(
        bag.oob_decision_function_[has], acc[has] / votes[has, None]
    )
    d = bag.error_decomposition(X, y)
    assert d.eq4 == pytest.approx(d.ensemble_error, rel=1e-12)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ctrl_c_stops_sklearn_mlp_members(n_jobs):
    """scikit-learn's MLP catches KeyboardInterrupt and returns its partial
    fit; the ensemble still stops every member, warns, and stays unfitted."""
    import _thread
    import time

    from sklearn.exceptions import NotFittedError

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 16))
    y = np.arange(300) % 3
    member = sk_mlp(
        hidden_layer_sizes=(16,), max_iter=10**6, tol=0.0, n_iter_no_change=10**9
    )
    bag = BaggedMLPClassifier(member, n_estimators=6, n_jobs=n_jobs, random_state=0)
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    with (
        pytest.raises(KeyboardInterrupt),
        pytest.warns(UserWarning, match="interrupted"),
    ):
        bag.fit(X, y)
    assert time.perf_counter() - t0 < 3.5
    time.sleep(0.2)
    cpu = time.process_time()
    time.sleep(0.5)
    assert time.process_time() - cpu < 0.25  # no member still training
    with pytest.raises(NotFittedError):
        bag.predict(X)
    for name in ("_update_no_improvement_count", "_loss_grad_lbfgs"):
        assert name not in vars(member)


def test_without_replacement_a_float_max_samples_is_a_fraction_of_the_rows():
    # scikit-learn takes the weight sum (3 * 90 here) and raises; a row can be
    # drawn once only, so the fraction is of the rows
    X, y = make_data()
    with pytest.warns(UserWarning, match="recommended to use bootstrap=True"):
        bag = small(n_estimators=2, bootstrap=False, max_samples=0.8).fit(
            X, y, sample_weight=np.full(90, 3.0)
        )
    assert {s.shape[0] for s in bag.estimators_samples_} == {72}


def _sklearn_member_ensemble():
    return BaggedMLPClassifier(
        sk_mlp(hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=0.001),
        n_estimators=3,
    )


@parametrize_with_checks(
    [_sklearn_member_ensemble()],
    expected_failed_checks=lambda est: {
        # scikit-learn's reason for its own BaggingClassifier
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


def test_sklearn_mlp_members_survive_joblib_and_skops(tmp_path):
    import joblib

    sio = pytest.importorskip("skops.io")
    X, y = make_data()
    bag = small(estimator=sk_mlp(), max_features=0.5).fit(X, y)
    joblib.dump(bag, tmp_path / "bag.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "bag.joblib").predict_proba(X), bag.predict_proba(X)
    )
    dumped = sio.dumps(bag)
    untrusted = sio.get_untrusted_types(data=dumped)
    # the members' own optimizer state, as for BaggingClassifier(MLPClassifier())
    assert all(t.startswith(("skreg.", "sklearn.neural_network.")) for t in untrusted)
    loaded = sio.loads(dumped, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), bag.predict_proba(X))
