"""BaggedMLPClassifier: voting, classes, OOB, seeds, eq. 4, bad input."""

import inspect
import threading
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skreg.ensemble import BaggedMLPClassifier
from skreg.neural_network import DropoutMLPClassifier, MLPClassifier
from skreg.neural_network._engine import (
    EngineConfig,
    Layout,
    glorot_init,
    loss_and_gradient,
)

from ..test_contracts import assert_same_fitted_state

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
    for m, s in zip(bag.estimators_, bag.estimators_samples_, strict=True):
        oob = np.setdiff1d(np.arange(n), s)
        p = m.predict_proba(X[oob])
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


def test_fit_takes_no_sample_weight():
    assert "sample_weight" not in inspect.signature(BaggedMLPClassifier.fit).parameters
    X, y = make_data()
    with pytest.raises(TypeError):
        small().fit(X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize(
    "params, err, match",
    [
        (dict(n_estimators=0), ValueError, "n_estimators"),
        (dict(max_samples=0.0), ValueError, "max_samples"),
        (dict(max_samples=1.5), ValueError, "max_samples"),
        (dict(max_samples=0), ValueError, "max_samples"),
        (dict(max_samples=1000), ValueError, "max_samples=1000 must be at most"),
        (dict(estimator=LogisticRegression()), TypeError, "skreg neural classifier"),
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
