"""How the generic test modules build and configure every discovered estimator.

``tests/test_common.py`` (scikit-learn's estimator checks) and
``tests/test_contracts.py`` (skreg's own promises) run over
:func:`skreg.utils.all_estimators`, so a new estimator is tested as soon as
its subpackage exports it.  This module only says how to make each one
small and fast, and lists the few deviations scikit-learn itself accepts.

* ``FAST_PARAMS``: constructor arguments (by class name) that keep the
  checks fast, and required arguments (e.g. ``dictionary``).  A class with a
  required argument and no entry fails loudly, as it should.
* ``VARIANTS``: further configurations of a class that must pass the checks
  too (e.g. a deterministic solver), by class name.
* ``CHECK_ADAPTERS``: by class name, ``adapt(estimator, check) -> estimator``
  for estimators whose shape is fixed at construction (``SparseCoder``).
* ``expected_failed_checks``: only checks that scikit-learn marks
  expected-to-fail for its own twin estimator, each with that reason.
"""

import inspect
import os

import numpy as np
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skreg.utils import all_estimators

#: ``parametrize_with_checks`` keywords that make an expected failure which
#: passes an error (a stale excuse).  scikit-learn >= 1.7 can say so; on 1.6,
#: the oldest supported version, the marks are not strict.
STRICT_XFAIL = (
    {"xfail_strict": True}
    if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters
    else {}
)

#: Width of the contract-test data; a perfect square so image estimators
#: see 4x4 images.
CONTRACT_N_FEATURES = 16

FAST_PARAMS: dict[str, dict] = {}

VARIANTS: dict[str, list[dict]] = {}

CHECK_ADAPTERS: dict = {}

#: By class name, ``reasons(estimator) -> {check_name: reason}``.
EXPECTED_FAILED: dict = {}


def make_instances(variants=None):
    """One instance per discovered estimator and per registered variant.

    ``variants=False`` gives the one base instance per estimator.  None reads
    ``SKREG_CHECK_VARIANTS`` (``0``: base instances only), which .ci/run's
    oldest-versions leg sets: there the checks are about scikit-learn's,
    numpy's and numba's APIs at their lower bounds, which every estimator's
    base instance reaches, while each variant (a solver, a layer kind, a
    mode) mostly adds kernel variants to compile, the leg's cost; the main
    leg checks every variant on the current versions.
    """
    if variants is None:
        variants = os.environ.get("SKREG_CHECK_VARIANTS", "1") != "0"
    instances = []
    for name, cls in all_estimators():
        base = FAST_PARAMS.get(name, {})
        instances.append(cls(**base))
        for variant in VARIANTS.get(name, []) if variants else ():
            instances.append(cls(**{**base, **variant}))
    return instances


def expected_failed_checks(estimator):
    """Checks expected to fail for ``estimator``, with scikit-learn's reason.

    Only a check that scikit-learn itself marks expected-to-fail for the
    twin estimator may appear here (see
    ``sklearn/utils/_test_common/instance_generator.py``).
    """
    reasons = EXPECTED_FAILED.get(type(estimator).__name__)
    return dict(reasons(estimator)) if reasons is not None else {}


def contract_data(n_samples=60, n_features=CONTRACT_N_FEATURES, seed=0):
    """Small 3-class data in [0, 1] for the contract tests."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0.2, 0.8, size=(3, n_features))
    y = np.arange(n_samples) % 3
    X = centers[y] + 0.1 * rng.standard_normal((n_samples, n_features))
    return np.clip(X, 0.0, 1.0), y


# --- decomposition ---
# scikit-learn gives its own SparseCoder a private dictionary per check
# (instance_generator.PER_ESTIMATOR_CHECK_PARAMS); the adapter below learns
# the width each check feeds and builds the coder for it.

FAST_PARAMS["SparseCoder"] = dict(
    dictionary=np.random.default_rng(42).standard_normal((5, CONTRACT_N_FEATURES))
)
FAST_PARAMS["KSVD"] = dict(n_components=6, max_iter=5)


class _WidthFound(BaseException):
    """Raised by the probe; a BaseException so checks' ``except`` skip it."""


def _sparse_coder_adapter(estimator, check):
    """Run ``check`` on a probe first to learn the width of its data.

    The probe is a SparseCoder (same tags and parameters) whose ``fit`` /
    ``transform`` report the width of the first 2-D ``X`` they receive.  The
    check then runs on a clone of ``estimator`` whose dictionary has that
    width: 5 random atoms, the dtype of the original dictionary.
    """

    from skreg.decomposition import SparseCoder

    widths = []

    def _report(X):
        shape = getattr(X, "shape", None)
        if shape is None:  # lists, _NotAnArray
            try:
                shape = np.asarray(X).shape
            except Exception:
                return
        if len(shape) == 2:
            widths.append(int(shape[1]))  # kept even if a check wraps the raise
            raise _WidthFound(int(shape[1]))

    class _Probe(SparseCoder):
        def fit(self, X, y=None):
            _report(X)
            return super().fit(X, y)

        def transform(self, X, y=None):
            _report(X)
            return super().transform(X, y)

        def fit_transform(self, X, y=None, **params):
            _report(X)
            return super().fit_transform(X, y, **params)

    probe = _Probe(**estimator.get_params())
    try:
        check(probe)
    except _WidthFound:
        pass
    except Exception:  # the probe only has to reach fit/transform
        pass
    if not widths:
        return estimator
    width = widths[0]
    dictionary = np.asarray(estimator.dictionary)
    rng = np.random.default_rng(width)
    new = rng.standard_normal((dictionary.shape[0], width)).astype(dictionary.dtype)
    return clone(estimator).set_params(dictionary=new)


CHECK_ADAPTERS["SparseCoder"] = _sparse_coder_adapter


# --- neural_network ---
# As scikit-learn's own test setting for MLPClassifier (max_iter=100), with a
# small hidden layer to keep the checks fast.
_SW_NOT_EQUIVALENT = "sample_weight is not equivalent to removing/repeating samples."


def _mlp_expected_failed(estimator):
    # scikit-learn marks these checks xfail for SGDClassifier: with sampled
    # noise in every step, weighting a sample is not the same as repeating
    # it.  Only Bernoulli dropout samples noise here; adam, sgd and fast
    # dropout (an expectation, no sampling) pass the check, so they are not
    # marked.
    sampled = (
        getattr(estimator, "dropout_method", None) == "bernoulli"
        and max(estimator.input_dropout, estimator.hidden_dropout) > 0
    )
    if not sampled:
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": _SW_NOT_EQUIVALENT,
        "check_sample_weight_equivalence_on_sparse_data": _SW_NOT_EQUIVALENT,
    }


FAST_PARAMS["MLPClassifier"] = dict(hidden_layer_sizes=(32,), max_iter=100)
#: A small convolutional front: 'same' padding fits any n_features the
#: checks use (1-D signals, or square images when n_features is a square).
_CONV = dict(conv_layers=[dict(filters=4, kernel_size=2, padding="same")])
VARIANTS["MLPClassifier"] = [dict(solver="lbfgs"), _CONV]
EXPECTED_FAILED["MLPClassifier"] = _mlp_expected_failed
FAST_PARAMS["MLPRegressor"] = dict(hidden_layer_sizes=(32,), max_iter=100)
VARIANTS["MLPRegressor"] = [dict(solver="lbfgs"), _CONV]
EXPECTED_FAILED["MLPRegressor"] = _mlp_expected_failed
FAST_PARAMS["DropoutMLPClassifier"] = dict(hidden_layer_sizes=(32,), max_iter=100)
VARIANTS["DropoutMLPClassifier"] = [
    dict(dropout_method="fast"),
    # dropout thins the conv units too: more filters keep the checks' 2-D
    # blobs learnable (four fail check_classifiers_train's 0.83)
    dict(conv_layers=[dict(filters=16, kernel_size=2, padding="same")]),
]
EXPECTED_FAILED["DropoutMLPClassifier"] = _mlp_expected_failed
FAST_PARAMS["DropoutMLPRegressor"] = dict(hidden_layer_sizes=(32,), max_iter=100)
VARIANTS["DropoutMLPRegressor"] = [dict(dropout_method="fast")]
EXPECTED_FAILED["DropoutMLPRegressor"] = _mlp_expected_failed


# Tangent propagation: tiny non-square widths use 1-D signal tangents.
# Exact tangent propagation samples no noise (no expected failure); random
# tangent combinations ('rademacher') do, in every step: scikit-learn's
# SGDClassifier reason.
def _tangent_expected_failed(estimator):
    if estimator.tangent_sampling != "rademacher":
        return {}
    return {"check_sample_weight_equivalence_on_dense_data": _SW_NOT_EQUIVALENT}


FAST_PARAMS["TangentPropMLPClassifier"] = dict(hidden_layer_sizes=(32,), max_iter=100)
VARIANTS["TangentPropMLPClassifier"] = [
    dict(solver="lbfgs"),
    dict(tangent_output="logits", tangent_alpha=0.1),
    dict(tangent_sampling="rademacher"),
]
EXPECTED_FAILED["TangentPropMLPClassifier"] = _tangent_expected_failed
FAST_PARAMS["TangentPropMLPRegressor"] = dict(hidden_layer_sizes=(32,), max_iter=100)
VARIANTS["TangentPropMLPRegressor"] = [dict(solver="lbfgs")]
EXPECTED_FAILED["TangentPropMLPRegressor"] = _tangent_expected_failed


def _mlp_regressor_sample_weight_adapter(estimator, check):
    # scikit-learn runs this check on its MLPRegressor with
    # solver="sgd", tol=1e-2, random_state=42 (PER_ESTIMATOR_CHECK_PARAMS):
    # L-BFGS on a regression loss carries rounding differences (a weighted
    # sum against a repeated one, 1e-16 after one iteration) into 5e-8 to
    # 6e-7 of the predictions within 15 iterations, above the check's
    # rtol of 1e-7.  The objective itself is the same to rounding.
    name = getattr(check, "func", check).__name__
    if name == "check_sample_weight_equivalence_on_dense_data":
        # a copy: the instance is shared by all of its checks
        return clone(estimator).set_params(solver="sgd", tol=1e-2, random_state=42)
    return estimator


CHECK_ADAPTERS["TangentPropMLPRegressor"] = _mlp_regressor_sample_weight_adapter
FAST_PARAMS["ManifoldTangentClassifier"] = dict(
    hidden_layer_sizes=(32,), max_iter=100, cae_hidden=8, n_tangents=3, cae_max_iter=5
)


def _adversarial_expected_failed(estimator):
    # The same scikit-learn SGDClassifier reason, where noise is sampled in
    # every step: PGD's random starts and VAT's random directions.
    sampled = estimator.method == "vat" or (
        estimator.method == "pgd" and estimator.pgd_random_start
    )
    if not sampled:
        return {}
    return {"check_sample_weight_equivalence_on_dense_data": _SW_NOT_EQUIVALENT}


def _adversarial_adapter(estimator, check):
    # scikit-learn feeds {-1, 1} labels to this check, except to its own
    # semi-supervised classifiers (picked by name in
    # _choose_check_classifiers_labels), for which -1 means "unlabeled".
    # VAT (semi-supervised, -1 unlabeled by default) gets the same
    # treatment; fgsm/pgd take -1 as a class by default and need none.
    name = getattr(check, "func", check).__name__
    if name == "check_classifiers_classes" and estimator.method == "vat":
        return clone(estimator).set_params(unlabeled_marker=None)
    return estimator


FAST_PARAMS["AdversarialMLPClassifier"] = dict(hidden_layer_sizes=(32,), max_iter=100)
VARIANTS["AdversarialMLPClassifier"] = [
    dict(method="vat", adversarial_epsilon=0.5),
    _CONV,
]
EXPECTED_FAILED["AdversarialMLPClassifier"] = _adversarial_expected_failed
CHECK_ADAPTERS["AdversarialMLPClassifier"] = _adversarial_adapter
FAST_PARAMS["AdversarialMLPRegressor"] = dict(hidden_layer_sizes=(32,), max_iter=100)
VARIANTS["AdversarialMLPRegressor"] = [dict(method="pgd", pgd_steps=2)]
EXPECTED_FAILED["AdversarialMLPRegressor"] = _adversarial_expected_failed


# --- ensemble ---
# A small template with few epochs; three members keep the checks fast.
def _bagged_fast_params():
    from skreg.neural_network import MLPClassifier

    return dict(
        estimator=MLPClassifier(hidden_layer_sizes=(32,), max_iter=100),
        n_estimators=3,
    )


FAST_PARAMS["BaggedMLPClassifier"] = _bagged_fast_params()
VARIANTS["BaggedMLPClassifier"] = [
    dict(voting="hard", bootstrap=False, max_samples=0.8),
    dict(oob_score=True, n_estimators=4),
    dict(max_features=0.6, bootstrap_features=True),
]
# (scikit-learn MLPClassifier members: checked in tests/ensemble/test_bagging.py,
# since skops needs to be told to trust their optimizer, as for scikit-learn's
# own BaggingClassifier(MLPClassifier()))
# scikit-learn marks this check xfail for its BaggingClassifier: sample
# weights are the probabilities of the bootstrap draw, so weighting a row
# equals repeating it only in distribution, not draw for draw.
EXPECTED_FAILED["BaggedMLPClassifier"] = lambda estimator: {
    "check_sample_weight_equivalence_on_dense_data": _SW_NOT_EQUIVALENT,
    "check_sample_weight_equivalence_on_sparse_data": _SW_NOT_EQUIVALENT,
}


# The regression twin: the same small template and members.  No columns
# variant: check_regressors_train's data have one informative feature of
# ten, which a member without it cannot fit (its R^2 bar is 0.5).
def _bagged_regressor_fast_params():
    from skreg.neural_network import MLPRegressor

    return dict(
        estimator=MLPRegressor(hidden_layer_sizes=(32,), max_iter=100),
        n_estimators=3,
    )


FAST_PARAMS["BaggedMLPRegressor"] = _bagged_regressor_fast_params()
VARIANTS["BaggedMLPRegressor"] = [
    dict(bootstrap=False, max_samples=0.8),
    dict(oob_score=True, n_estimators=4),
]
# scikit-learn marks this check xfail for its BaggingRegressor, for the
# same reason as for its BaggingClassifier (see above).
EXPECTED_FAILED["BaggedMLPRegressor"] = lambda estimator: {
    "check_sample_weight_equivalence_on_dense_data": _SW_NOT_EQUIVALENT,
    "check_sample_weight_equivalence_on_sparse_data": _SW_NOT_EQUIVALENT,
}
