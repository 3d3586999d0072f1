"""ONNX export (skreg.utils.onnx): the graphs onnxruntime runs give the
estimators' own ``predict_proba`` / ``predict``, and what cannot be exported
says so."""

import copy
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip("skl2onnx")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from skreg.decomposition import KSVD, SparseCoder  # noqa: E402
from skreg.ensemble import BaggedMLPClassifier, BaggedMLPRegressor  # noqa: E402
from skreg.neighbors import TangentDistanceKNN  # noqa: E402
from skreg.neural_network import (  # noqa: E402
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
from skreg.utils.onnx import OnnxExportError, register_converters, to_onnx  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

ATOL = 1e-5
N, SIDE = 48, 4  # rows of 4x4 one-channel images
FAST = dict(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
# Tangent propagation's training mode costs 16 s of numba compiling; its
# strength does not change what the fitted network is (a plain network), so
# the tangent estimators train without the penalty here (the penalty itself
# is tested in tests/neural_network).
NO_TANGENTS = dict(tangent_alpha=0.0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(N, SIDE * SIDE).astype(np.float32)
    return dict(
        X=X,
        # string labels: the label output holds text
        y3=np.array(["ant", "bee", "cat"])[rng.randint(0, 3, N)],
        y2=np.array([3, 7])[rng.randint(0, 2, N)],  # labels that are not indices
        Y=(rng.rand(N, 3) > 0.5).astype(np.int64),
        yr=rng.randn(N).astype(np.float32),
        Yr=rng.randn(N, 2).astype(np.float32),
        counts=rng.poisson(2.0, N).astype(np.float32),
    )


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _run(onx, X):
    onnx.checker.check_model(onx, full_check=True)  # valid, shapes consistent
    sess = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return sess.run(None, {sess.get_inputs()[0].name: X})


# --- the estimators, fitted once per module (numba compiles dominate) ------
CLASSIFIERS = {
    "mlp-multiclass": lambda: MLPClassifier(activation="tanh", **FAST),
    "mlp-binary": lambda: MLPClassifier(activation="logistic", **FAST),
    "mlp-multilabel": lambda: MLPClassifier(**FAST),
    "dropout": lambda: DropoutMLPClassifier(**FAST),
    "adversarial": lambda: AdversarialMLPClassifier(adversarial_epsilon=0.05, **FAST),
    "tangent-prop": lambda: TangentPropMLPClassifier(**NO_TANGENTS, **FAST),
    "manifold-tangent": lambda: ManifoldTangentClassifier(
        cae_hidden=4, n_tangents=2, cae_max_iter=2, **NO_TANGENTS, **FAST
    ),
    "conv-max": lambda: MLPClassifier(
        conv_layers=[dict(filters=3, kernel_size=3, padding="same", pool=2), (2, 2)],
        **FAST,
    ),
    "conv-avg": lambda: MLPClassifier(
        conv_layers=[
            dict(
                filters=2,
                kernel_size=(2, 3),
                stride=2,
                padding=1,
                pool=(1, 2),
                pool_type="avg",
            ),
        ],  # fmt: skip
        **FAST,
    ),
    "conv-binary": lambda: MLPClassifier(
        conv_layers=[dict(filters=2, kernel_size=3, stride=2, padding="same")],
        **FAST,
    ),
}
TARGETS = {"mlp-binary": "y2", "mlp-multilabel": "Y", "conv-binary": "y2"}

REGRESSORS = {
    "mlp": lambda: MLPRegressor(activation="identity", **FAST),
    "mlp-multioutput": lambda: MLPRegressor(**FAST),
    "mlp-poisson": lambda: MLPRegressor(loss="poisson", **FAST),
    "dropout": lambda: DropoutMLPRegressor(**FAST),
    "adversarial": lambda: AdversarialMLPRegressor(adversarial_epsilon=0.05, **FAST),
    "tangent-prop": lambda: TangentPropMLPRegressor(**NO_TANGENTS, **FAST),
    "conv-multioutput": lambda: MLPRegressor(
        conv_layers=[dict(filters=2, kernel_size=3, pool=2, pool_type="avg")],
        **FAST,
    ),
}
REG_TARGETS = {
    "mlp-multioutput": "Yr",
    "mlp-poisson": "counts",
    "conv-multioutput": "Yr",
}


@pytest.fixture(scope="module")
def classifiers(data):
    return {
        name: _fit(make(), data["X"], data[TARGETS.get(name, "y3")])
        for name, make in CLASSIFIERS.items()
    }


@pytest.fixture(scope="module")
def regressors(data):
    return {
        name: _fit(make(), data["X"], data[REG_TARGETS.get(name, "yr")])
        for name, make in REGRESSORS.items()
    }


@pytest.fixture(scope="module")
def bagged(data):
    X = data["X"]
    member = MLPClassifier(**FAST)
    return dict(
        soft=_fit(
            BaggedMLPClassifier(member, n_estimators=3, max_features=0.5,
                                random_state=0),
            X, data["y3"],
        ),
        hard=_fit(
            BaggedMLPClassifier(member, n_estimators=3, max_features=0.75,
                                voting="hard", random_state=1),
            X, data["y2"],
        ),
        sklearn=_fit(
            BaggedMLPClassifier(
                SklearnMLPClassifier(hidden_layer_sizes=(4,), max_iter=5,
                                     random_state=0),
                n_estimators=2, max_features=0.5, random_state=0,
            ),
            X, data["y3"],
        ),
        regressor=_fit(
            BaggedMLPRegressor(MLPRegressor(**FAST), n_estimators=3,
                               max_features=0.5, random_state=0),
            X, data["Yr"],
        ),
    )  # fmt: skip


def _check_classifier(est, X, onx=None, dtype=np.float32):
    if onx is None:
        onx = to_onnx(est, X[:1], options={"zipmap": False}, dtype=dtype)
    label, proba = _run(onx, X.astype(dtype))
    want = est.predict_proba(X)
    assert proba.shape == want.shape
    np.testing.assert_allclose(proba, want, rtol=0, atol=ATOL)
    np.testing.assert_array_equal(label, est.predict(X))
    return np.abs(proba - want).max()


def _check_regressor(est, X, dtype=np.float32):
    (pred,) = _run(to_onnx(est, X[:1], dtype=dtype), X.astype(dtype))
    want = est.predict(X).reshape(X.shape[0], -1)
    assert pred.shape == want.shape  # (N, n_outputs): (N, 1) for one output
    np.testing.assert_allclose(pred, want, rtol=0, atol=ATOL)
    return np.abs(pred - want).max()


# --- outputs equal the estimators' -------------------------------------------
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier_graph_gives_predict_proba_and_predict(classifiers, data, name):
    _check_classifier(classifiers[name], data["X"])


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_regressor_graph_gives_predict(regressors, data, name):
    _check_regressor(regressors[name], data["X"])


def test_output_shapes_of_binary_multilabel_and_multioutput(
    classifiers, regressors, data
):
    X = data["X"]
    label, proba = _run(to_onnx(classifiers["mlp-binary"], X[:1],
                                options={"zipmap": False}), X)  # fmt: skip
    assert proba.shape == (N, 2) and label.dtype == np.int64
    assert set(label) <= {3, 7}
    label, proba = _run(to_onnx(classifiers["mlp-multilabel"], X[:1],
                                options={"zipmap": False}), X)  # fmt: skip
    assert label.shape == (N, 3) and label.dtype == np.int64
    assert proba.shape == (N, 3)
    (pred,) = _run(to_onnx(regressors["mlp-multioutput"], X[:1]), X)
    assert pred.shape == (N, 2)
    label, _ = _run(to_onnx(classifiers["mlp-multiclass"], X[:1],
                            options={"zipmap": False}), X)  # fmt: skip
    assert label.dtype == object and set(label) <= {"ant", "bee", "cat"}


@pytest.mark.parametrize("name", ["soft", "hard", "sklearn"])
def test_bagged_classifier_graph(bagged, data, name):
    bag = bagged[name]
    assert any(len(f) < data["X"].shape[1] for f in bag.estimators_features_)
    _check_classifier(bag, data["X"])


def test_bagged_regressor_graph(bagged, data):
    bag = bagged["regressor"]
    assert all(len(f) < data["X"].shape[1] for f in bag.estimators_features_)
    _check_regressor(bag, data["X"])


def test_bagged_member_with_fewer_classes(bagged, data):
    """A member that saw a subset of the classes (possible for
    scikit-learn members) contributes zeros to the other columns."""
    bag = copy.deepcopy(bagged["sklearn"])
    X, y = data["X"], data["y3"]
    keep = y != "cat"
    features = bag.estimators_features_[0]
    member = clone(bag.estimators_[0])
    bag.estimators_[0] = _fit(member, X[keep][:, features], y[keep])
    assert list(bag.estimators_[0].classes_) == ["ant", "bee"]
    bag._stack_members()
    _check_classifier(bag, X)


def test_pipeline_with_scaler_is_one_graph(classifiers, data):
    X, y = data["X"] * 10 + 3, data["y3"]
    pipe = _fit(make_pipeline(StandardScaler(), MLPClassifier(**FAST)), X, y)
    import skl2onnx

    register_converters()
    onx = skl2onnx.to_onnx(pipe, X[:1], options={"mlpclassifier__zipmap": False})
    assert {"Gemm", "Softmax"} <= {n.op_type for n in onx.graph.node}
    _check_classifier(pipe, X, onx=onx)


def test_zipmap_output(classifiers, data):
    est, X = classifiers["mlp-multiclass"], data["X"]
    label, dicts = _run(to_onnx(est, X[:1]), X)
    want = est.predict_proba(X)
    got = np.array([[d[c] for c in est.classes_] for d in dicts])
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
    np.testing.assert_array_equal(label, est.predict(X))


def test_nocl_gives_class_indices(classifiers, data):
    est, X = classifiers["mlp-binary"], data["X"]
    label, _ = _run(to_onnx(est, X[:1], options={"zipmap": False, "nocl": True}), X)
    np.testing.assert_array_equal(label, np.searchsorted(est.classes_, est.predict(X)))


@pytest.mark.parametrize(
    "name", ["mlp-multiclass", "conv-max", "conv-avg", "conv-binary"]
)
def test_float64_classifier_graph(classifiers, data, name):
    """A double graph (convolutions and pooling as gathers and products:
    onnxruntime has no double Conv) of the float32 models."""
    X = data["X"]
    onx = to_onnx(classifiers[name], X[:1], options={"zipmap": False},
                  dtype=np.float64)  # fmt: skip
    assert onx.graph.input[0].type.tensor_type.elem_type == 11  # DOUBLE
    _, proba = _run(onx, X.astype(np.float64))
    assert proba.dtype == np.float64
    _check_classifier(classifiers[name], X, onx=onx, dtype=np.float64)


@pytest.mark.parametrize("name", ["mlp-multioutput", "conv-multioutput"])
def test_float64_regressor_graph(regressors, data, name):
    _check_regressor(regressors[name], data["X"], dtype=np.float64)


def test_graphs_must_match_the_weights(classifiers, data):
    """The comparison can fail: a graph of other weights differs."""
    est = copy.deepcopy(classifiers["mlp-multiclass"])
    onx = to_onnx(est, data["X"][:1], options={"zipmap": False})
    est.coefs_[0] = est.coefs_[0] + np.float32(0.5)
    with pytest.raises(AssertionError):
        _check_classifier(est, data["X"], onx=onx)


# --- what cannot be exported ----------------------------------------------
def test_mc_dropout_inference_raises(classifiers, regressors, data):
    X = data["X"]
    clf = copy.deepcopy(classifiers["dropout"]).set_params(inference="mc_arithmetic")
    with pytest.raises(OnnxExportError, match="inference='mc_arithmetic'"):
        to_onnx(clf, X[:1])
    reg = copy.deepcopy(regressors["dropout"]).set_params(inference="mc")
    with pytest.raises(OnnxExportError, match="weight_scaling"):
        to_onnx(reg, X[:1])
    bag = BaggedMLPClassifier(copy.deepcopy(clf), n_estimators=2)
    bag.estimators_ = [clf, clf]
    bag.estimators_features_ = [np.arange(X.shape[1])] * 2
    bag.classes_ = clf.classes_
    bag.n_features_in_ = X.shape[1]
    with pytest.raises(OnnxExportError, match="member 0 .*inference"):
        to_onnx(bag, X[:1])


def test_tangent_distance_knn_raises(data):
    """Refused before anything else is looked at (fitted or not)."""
    X = data["X"]
    with pytest.raises(OnnxExportError, match="TangentDistanceKNN cannot be exported"):
        to_onnx(TangentDistanceKNN(), X[:1])
    pipe = make_pipeline(StandardScaler().fit(X), TangentDistanceKNN())
    with pytest.raises(OnnxExportError, match="TangentDistanceKNN"):
        to_onnx(pipe, X[:1])


@pytest.mark.parametrize(
    "est",
    [SparseCoder(dictionary=np.eye(SIDE * SIDE)), KSVD()],
    ids=lambda e: type(e).__name__,
)
def test_sparse_coders_raise(est, data):
    with pytest.raises(OnnxExportError, match="matching pursuit"):
        to_onnx(est, data["X"][:1])


@pytest.mark.parametrize(
    "est",
    [MLPClassifier(), MLPRegressor(), BaggedMLPClassifier(), BaggedMLPRegressor()],
    ids=lambda e: type(e).__name__,
)
def test_unfitted_raises(est, data):
    with pytest.raises(NotFittedError):
        to_onnx(est, data["X"][:1])
    with pytest.raises(NotFittedError):
        to_onnx(est)


def test_multilabel_zipmap_raises(classifiers, data):
    with pytest.raises(OnnxExportError, match="multilabel"):
        to_onnx(classifiers["mlp-multilabel"], data["X"][:1], options={"zipmap": True})


def test_wrong_width_raises(classifiers, data):
    with pytest.raises(ValueError, match="16 features"):
        to_onnx(classifiers["mlp-multiclass"], data["X"][:1, :5])


def test_register_converters_is_idempotent(classifiers, data):
    register_converters()
    register_converters()
    _check_classifier(classifiers["mlp-multiclass"], data["X"])


def test_missing_skl2onnx_says_how_to_install(monkeypatch, data):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install skreg\[onnx\]"):
        to_onnx(MLPClassifier(), data["X"][:1])
