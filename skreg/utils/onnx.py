"""ONNX export of skreg's networks through skl2onnx (the ``onnx`` extra).

``pip install skreg[onnx]`` installs `skl2onnx
<https://onnx.ai/sklearn-onnx/>`_ and onnxruntime.  :func:`register_converters`
teaches skl2onnx skreg's estimators, so that ``skl2onnx.to_onnx`` converts a
scikit-learn :class:`~sklearn.pipeline.Pipeline` of scikit-learn
preprocessing and a skreg network as one ONNX graph; :func:`to_onnx` does
both in one call.

What is exported
----------------
* Every dense or convolutional network of :mod:`skreg.neural_network`, at
  its deterministic inference: the trained weights as they are (dropout is
  inverted during training, so the deterministic pass *is* weight-scaling
  inference; adversarial training, tangent propagation and the manifold
  tangent classifier change only how the weights were learned).
* Binary, multiclass and multilabel classifiers, single- and multi-output
  regressors (squared-error or Poisson loss).
* :class:`~skreg.ensemble.BaggedMLPClassifier` (soft or hard voting) and
  :class:`~skreg.ensemble.BaggedMLPRegressor`, including members trained on
  a subset of the columns (``estimators_features_``) and members that are
  scikit-learn MLPs.

The graph computes in the dtype of its input: float32 by default, float64
when the input is declared double (``dtype=np.float64`` in :func:`to_onnx`).

Outputs follow skl2onnx's conventions: a classifier gives ``label`` (shape
``(N,)``; ``(N, n_labels)`` int64 for a multilabel fit) and
``probabilities`` (``(N, n_classes)``, two columns for a binary problem, as
``predict_proba``), the latter as a list of dicts unless the option
``zipmap=False`` is given; a regressor gives ``variable`` of shape
``(N, n_outputs)`` (``(N, 1)`` for one output).

What raises
-----------
:class:`OnnxExportError` for what has no ONNX graph: Monte Carlo dropout
inference (``inference`` other than ``'weight_scaling'``), a multilabel
classifier asked for ZipMap output, skreg's estimators that are not
networks (:class:`~skreg.neighbors.TangentDistanceKNN`, the sparse coders),
and ensemble members other than networks.  An unfitted estimator raises
scikit-learn's :class:`~sklearn.exceptions.NotFittedError`.
"""

import numpy as np

__all__ = ["OnnxExportError", "register_converters", "to_onnx"]

_INSTALL_HINT = (
    "ONNX export needs skl2onnx (and onnxruntime to run the graphs): "
    "pip install skreg[onnx]"
)

#: Options of every skreg classifier (skl2onnx's names and values): ZipMap
#: output or plain tensors, class indices instead of labels, and a separate
#: output holding the class labels.
_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}

_REGISTERED = False


class OnnxExportError(NotImplementedError):
    """An estimator, or a setting of one, that has no ONNX graph.

    Raised by the converters :func:`register_converters` installs (so by
    ``skl2onnx.to_onnx`` and :func:`to_onnx`) before any graph is built.
    """


def _skl2onnx():
    try:
        import skl2onnx
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return skl2onnx


# --------------------------------------------------------------------------
# What an estimator's network is
# --------------------------------------------------------------------------
# One description for skreg's engine networks and for scikit-learn's MLPs
# (which can be members of a bagged ensemble).  skreg's modules are imported
# inside the functions: skreg.utils is imported by the subpackages it serves.

#: ONNX operator of each hidden activation (None: the identity).
_ACTIVATIONS = {"identity": None, "logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}


def _is_sklearn_mlp(est):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    return isinstance(est, MLPClassifier | MLPRegressor)


def _out_kind(est):
    """The output unit of a fitted network, an engine ``Output``: one
    logistic unit (binary), softmax, identity, one logistic unit per label
    (multilabel) or exp (Poisson)."""
    from ..neural_network._engine import Output

    if not _is_sklearn_mlp(est):
        return Output(est._out_kind())
    out = est.out_activation_
    if out == "softmax":
        return Output.SOFTMAX
    if out == "logistic":
        return Output.LOGISTIC if est.n_outputs_ == 1 else Output.MULTILABEL
    if out == "identity":
        return Output.IDENTITY
    raise OnnxExportError(
        f"{type(est).__name__} has the output activation {out!r}, which this "
        "exporter does not know."
    )


def _check_network(est, where=""):
    """Raise if the fitted network ``est`` cannot be exported as it predicts."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    name = where or type(est).__name__
    inference = getattr(est, "inference", "weight_scaling")
    if inference != "weight_scaling":
        # Monte Carlo inference averages outputs under masks sampled from a
        # stream keyed by each query's content; a static graph has no such
        # stream, and a graph with fresh random masks would not reproduce
        # predict_proba.
        raise OnnxExportError(
            f"{name} predicts with Monte Carlo dropout (inference="
            f"{inference!r}), which has no deterministic ONNX graph. Export it "
            "with inference='weight_scaling' (set_params(inference="
            "'weight_scaling'): the same weights, the deterministic pass)."
        )
    if est.activation not in _ACTIVATIONS:
        raise OnnxExportError(
            f"{name} uses activation={est.activation!r}, which has no ONNX "
            f"operator here (supported: {sorted(_ACTIVATIONS)})."
        )
    _out_kind(est)  # raises for an unknown output unit


def _check_bagged(est):
    from sklearn.utils.validation import check_is_fitted

    from ..neural_network._base import BaseMultilayerPerceptron

    check_is_fitted(est)
    for i, member in enumerate(est.estimators_):
        where = f"member {i} of {type(est).__name__} ({type(member).__name__})"
        if not isinstance(member, BaseMultilayerPerceptron) and not _is_sklearn_mlp(
            member
        ):
            raise OnnxExportError(
                f"{where} is not a neural network of skreg or scikit-learn; "
                "only those can be exported."
            )
        _check_network(member, where)
        if est._output_classes() is not None and member.classes_.shape[0] < 2:
            raise OnnxExportError(f"{where} saw a single class; it cannot be exported.")


def _layers(est):
    """The layers of a fitted network, in order: dicts with ``kind``
    ('dense' or 'conv'), the weights ``W`` and ``b``, and for a
    convolution or a pooled input their geometry.

    The weights are the public ``coefs_`` / ``intercepts_`` (a convolution's
    filters ``(KH, KW, Cin, Cout)``); the geometry of convolutions and
    pooling is the engine's own layout, so the graph uses exactly the
    padding and output sizes the kernels use.
    """
    coefs, intercepts = est.coefs_, est.intercepts_
    if _is_sklearn_mlp(est) or not hasattr(est, "conv_layers_"):
        return [
            dict(kind="dense", W=np.asarray(W), b=np.asarray(b), pool=None)
            for W, b in zip(coefs, intercepts, strict=True)
        ]
    from ..neural_network._engine._records import LayerKind, PoolKind

    layout = est._layout()
    layers = []
    for l in range(layout.n_layers):
        W = np.asarray(coefs[l])
        if W.shape != tuple(layout.coef_shapes[l]):
            raise ValueError(
                f"coefs_[{l}] has shape {W.shape}, but the fitted architecture "
                f"needs {tuple(layout.coef_shapes[l])}."
            )
        q = layout.pool[l]
        pool = None
        if q[0] != PoolKind.NONE:
            # pool row: [kind, H, W, C, ph, OH, OW, pw, offset]
            pool = dict(max=q[0] == PoolKind.MAX, window=(int(q[4]), int(q[7])))
        conv = layout.kind[l] == LayerKind.CONV
        layer = dict(
            kind="conv" if conv else "dense",
            W=W,
            b=np.asarray(intercepts[l]),
            pool=pool,
        )
        if conv:
            # [H, W, Cin, KH, KW, stride, pad_top, pad_left, OH, OW, Cout]
            layer["geom"] = [int(v) for v in layout.geom[l]]
        layers.append(layer)
    return layers


def _label_constant(classes):
    """``(values, is_string)`` of ``classes_`` as the label output holds
    them: int64 for integer (and integer-valued float or bool) labels,
    UTF-8 strings for text, as skl2onnx's own classifiers."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return classes.astype(np.int64), False
    if classes.dtype.kind == "f":
        if np.all(classes == np.round(classes)):
            return classes.astype(np.int64), False
    elif classes.dtype.kind in "UST" or (
        classes.dtype == object and all(isinstance(c, str) for c in classes)
    ):
        return np.array([str(c).encode("utf-8") for c in classes]), True
    elif classes.dtype == object and all(
        isinstance(c, int | np.integer) and not isinstance(c, bool) for c in classes
    ):
        return classes.astype(np.int64), False
    raise OnnxExportError(
        f"class labels {classes!r} are neither integers nor strings; an ONNX "
        "label output holds one or the other. Encode y (e.g. with "
        "LabelEncoder) or use the option nocl=True (class indices)."
    )


def _is_multilabel(est):
    return getattr(est, "_is_multilabel", lambda: False)()


# --------------------------------------------------------------------------
# Graph building
# --------------------------------------------------------------------------
class _Graph:
    """Adds named nodes and constants to skl2onnx's container in one dtype."""

    def __init__(self, scope, container, dtype):
        from onnx import TensorProto

        self.scope = scope
        self.container = container
        self.dtype = np.dtype(dtype)
        self.onnx_dtype = (
            TensorProto.DOUBLE if self.dtype == np.float64 else TensorProto.FLOAT
        )

    def const(self, value, seed="c", dtype=None):
        """An initializer holding ``value`` (in the graph dtype unless
        ``dtype``); returns its name."""
        from onnx import numpy_helper

        name = self.scope.get_unique_variable_name(seed)
        value = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        tensor = numpy_helper.from_array(np.ascontiguousarray(value), name)
        self.container.add_initializer(
            name, tensor.data_type, list(value.shape), tensor
        )
        return name

    def strings(self, values, seed="classes"):
        from onnx import TensorProto

        name = self.scope.get_unique_variable_name(seed)
        self.container.add_initializer(
            name, TensorProto.STRING, [len(values)], list(values)
        )
        return name

    def node(self, op, inputs, out=None, **attrs):
        """Add ``op`` on ``inputs`` writing ``out`` (a new name unless
        given); returns the output name."""
        if out is None:
            out = self.scope.get_unique_variable_name(op.lower())
        self.container.add_node(
            op,
            list(inputs),
            [out],
            name=self.scope.get_unique_operator_name(op),
            **attrs,
        )
        return out

    def cast(self, x, to, out=None):
        return self.node("Cast", [x], out, to=to)

    def reshape(self, x, shape, out=None):
        return self.node("Reshape", [x, self.const(shape, "shape", np.int64)], out)

    def columns(self, x, index, out=None):
        """``x[:, index]`` (a Gather on axis 1)."""
        return self.node(
            "Gather", [x, self.const(index, "index", np.int64)], out, axis=1
        )


def _conv_padding(geom):
    """ONNX ``pads`` ``[top, left, bottom, right]`` of a convolution.

    'same' pads TensorFlow's way, the smaller half on top / left; the zeros
    at the bottom / right are those the last window reaches (none beyond),
    so ONNX's output size is the engine's for every padding.
    """
    H, W, _, KH, KW, s, top, left, OH, OW, _ = geom
    bottom = max(0, (OH - 1) * s + KH - H - top)
    right = max(0, (OW - 1) * s + KW - W - left)
    return [top, left, bottom, right]


def _with_zero_column(g, h):
    """``[h, 0]``: rows with one more column, of zeros (what a gather of
    padding positions reads)."""
    zero = g.node("Mul", [g.columns(h, [0]), g.const(np.zeros((1, 1)))])
    return g.node("Concat", [h, zero], axis=1)


def _conv_rows(g, h, layer):
    """A convolution on flat NHWC rows as the engine computes it (im2col):
    a fixed gather of every output position's ``(KH, KW, Cin)`` patch
    (padding reads a zero column), then one product with the filters
    ``(KH*KW*Cin, Cout)``; the ``(N, OH*OW, Cout)`` result read as
    ``(N, OH*OW*Cout)`` is the flat NHWC output."""
    H, W, C, KH, KW, s, top, left, OH, OW, Cout = layer["geom"]
    oh, ow, kh, kw, c = np.ix_(
        np.arange(OH), np.arange(OW), np.arange(KH), np.arange(KW), np.arange(C)
    )
    ih, iw = oh * s - top + kh, ow * s - left + kw
    inside = (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
    index = np.where(inside, (ih * W + iw) * C + c, H * W * C)  # H*W*C: the zero
    index = index.reshape(OH * OW, KH * KW * C)
    cols = g.columns(_with_zero_column(g, h), index)  # (N, OH*OW, KH*KW*C)
    filters = layer["W"].reshape(KH * KW * C, Cout)
    z = g.node("MatMul", [cols, g.const(filters, "filters")])
    z = g.node("Add", [z, g.const(layer["b"], "bias")])
    return g.reshape(z, [-1, OH * OW * Cout])


def _pool_rows(g, h, image, pool):
    """Pooling on flat NHWC rows as the engine computes it: the window's
    ``ph * pw`` offsets gathered one by one, then their maximum, or their
    sum times ``1 / (ph * pw)``."""
    H, W, C = image
    ph, pw = pool["window"]
    OH, OW = H // ph, W // pw
    oh, ow, c = np.ix_(np.arange(OH), np.arange(OW), np.arange(C))
    parts = []
    for i in range(ph):
        for j in range(pw):
            index = ((oh * ph + i) * W + ow * pw + j) * C + c
            parts.append(g.columns(h, index.ravel()))
    if pool["max"]:
        return g.node("Max", parts)
    total = g.node("Sum", parts)
    return g.node("Mul", [total, g.const(np.array(1.0 / (ph * pw)), "scale")])


def _network_output(g, est, x):
    """The outputs of the network ``est`` on the rows ``x`` (N, n_features):
    its probabilities (one column for a binary problem) or predictions,
    shape (N, n_out), in the graph dtype.

    Rows are images flattened row-major over ``(H, W, C)`` (channels
    last).  A float32 graph transposes them to NCHW for ONNX's ``Conv``,
    ``MaxPool`` and ``AveragePool`` and back before the dense layers; a
    float64 graph computes convolutions and pooling on the flat rows
    with gathers and products (:func:`_conv_rows`, :func:`_pool_rows`),
    because onnxruntime's CPU provider has no float64 ``Conv`` or
    ``AveragePool``.
    """
    layers = _layers(est)
    nchw = g.dtype == np.float32  # conv layers through ONNX's NCHW operators
    h = x
    image = None  # (H, W, C) of h while it holds images
    in_nchw = False
    if layers[0]["kind"] == "conv":
        image = tuple(int(v) for v in est.image_shape_)
        if nchw:
            H, W, C = image
            h = g.node("Transpose", [g.reshape(h, [-1, H, W, C])], perm=[0, 3, 1, 2])
            in_nchw = True
    last = len(layers) - 1
    for l, layer in enumerate(layers):
        pool = layer["pool"]
        if pool is not None:
            # the engine pools a layer's input (the previous layer's
            # activations): windows of ph x pw with the window as stride,
            # trailing rows and columns that fill no window dropped --
            # ONNX's default floor mode without padding
            ph, pw = pool["window"]
            if in_nchw:
                h = g.node(
                    "MaxPool" if pool["max"] else "AveragePool",
                    [h],
                    kernel_shape=[ph, pw],
                    strides=[ph, pw],
                )
            else:
                h = _pool_rows(g, h, image, pool)
            H, W, C = image
            image = (H // ph, W // pw, C)
        if layer["kind"] == "conv":
            _, _, _, KH, KW, s, _, _, OH, OW, Cout = layer["geom"]
            if in_nchw:
                filters = np.transpose(layer["W"], (3, 2, 0, 1))  # (Cout, Cin, KH, KW)
                h = g.node(
                    "Conv",
                    [h, g.const(filters, "filters"), g.const(layer["b"], "bias")],
                    kernel_shape=[KH, KW],
                    strides=[s, s],
                    pads=_conv_padding(layer["geom"]),
                )
            else:
                h = _conv_rows(g, h, layer)
            image = (OH, OW, Cout)
        else:
            if in_nchw:
                # the dense layers read the conv output flattened NHWC
                H, W, C = image
                h = g.node("Transpose", [h], perm=[0, 2, 3, 1])
                h = g.reshape(h, [-1, H * W * C])
                in_nchw = False
            image = None
            h = g.node(
                "Gemm",
                [h, g.const(layer["W"], "coef"), g.const(layer["b"], "intercept")],
            )
        if l < last:
            op = _ACTIVATIONS[est.activation]
            if op is not None:
                h = g.node(op, [h])
    return _output_unit(g, _out_kind(est), h)


def _output_unit(g, kind, z):
    """The output activation of kind ``kind`` on the logits ``z``."""
    from ..neural_network._engine import Output

    if kind in (Output.LOGISTIC, Output.MULTILABEL):
        return g.node("Sigmoid", [z])
    if kind == Output.SOFTMAX:
        return g.node("Softmax", [z], axis=1)
    if kind == Output.EXP:
        return g.node("Exp", [z])
    if kind == Output.IDENTITY:
        return z
    raise OnnxExportError(f"output kind {kind!r} has no ONNX graph here")


def _classifier_proba(g, est, x):
    """``predict_proba`` of a classifier network: a binary problem's one
    logistic unit ``p`` becomes the columns ``[1 - p, p]`` (computed in
    the graph dtype, as skreg does, so that their argmax is ``predict``'s)."""
    from ..neural_network._engine import Output

    p = _network_output(g, est, x)
    if _out_kind(est) == Output.LOGISTIC:
        q = g.node("Sub", [g.const(np.ones((1, 1))), p])
        p = g.node("Concat", [q, p], axis=1)
    return p


def _labels_from_index(g, scope, operator, model, index):
    """Write the label output from the class indices ``index`` (N,)."""
    out = operator.outputs[0].full_name
    if scope.get_options(model, dict(nocl=False))["nocl"]:
        g.node("Identity", [index], out)
        return
    values, is_string = _label_constant(model.classes_)
    if not is_string and np.array_equal(values, np.arange(values.shape[0])):
        g.node("Identity", [index], out)
        return
    table = g.strings(values) if is_string else g.const(values, "classes", np.int64)
    g.node("Gather", [table, index], out, axis=0)


def _graph_dtype(operator):
    from skl2onnx.common.data_types import DoubleTensorType

    return (
        np.float64
        if isinstance(operator.inputs[0].type, DoubleTensorType)
        else np.float32
    )


def _convert_classifier(scope, operator, container):
    est = operator.raw_operator
    g = _Graph(scope, container, _graph_dtype(operator))
    x = operator.inputs[0].full_name
    proba_out = operator.outputs[1].full_name
    p = _classifier_proba(g, est, x)
    g.node("Identity", [p], proba_out)
    if _is_multilabel(est):
        # predict: the labels whose probability exceeds 0.5, as int64 0/1
        above = g.node("Greater", [p, g.const(np.array(0.5))])
        g.cast(above, _int64(), operator.outputs[0].full_name)
        return
    # argmax takes the first of tied columns, as numpy's
    index = g.node("ArgMax", [p], axis=1, keepdims=0)
    _labels_from_index(g, scope, operator, est, index)


def _convert_regressor(scope, operator, container):
    est = operator.raw_operator
    g = _Graph(scope, container, _graph_dtype(operator))
    y = _network_output(g, est, operator.inputs[0].full_name)
    g.node("Identity", [y], operator.outputs[0].full_name)


def _int64():
    from onnx import TensorProto

    return TensorProto.INT64


def _double():
    from onnx import TensorProto

    return TensorProto.DOUBLE


def _member_input(g, x, features, n_features):
    """The columns ``features`` of ``x`` a member reads (``x`` itself when
    they are all of them, in order)."""
    features = np.asarray(features, dtype=np.int64)
    if features.shape[0] == n_features and np.array_equal(
        features, np.arange(n_features)
    ):
        return x
    return g.columns(x, features)


def _in_classes(g, member, p, classes):
    """A member's probabilities ``p`` in the ensemble's class columns: the
    columns of classes it never saw are zeros (as the ensemble's
    ``_in_classes``)."""
    mine = np.asarray(member.classes_)
    if mine.shape == classes.shape and np.array_equal(mine, classes):
        return p
    # gather from [p, 0]: column j of the ensemble is the member's column of
    # class j, or the appended zero column
    padded = _with_zero_column(g, p)
    index = np.full(classes.shape[0], mine.shape[0], dtype=np.int64)
    index[np.searchsorted(classes, mine)] = np.arange(mine.shape[0])
    return g.columns(padded, index)


def _mean_of_members(g, outputs, k):
    """The mean of the members' outputs computed as the ensemble does: a
    float64 sum, divided by ``k``, cast to the graph dtype."""
    total = g.node("Sum", [g.cast(o, _double()) for o in outputs])
    k = g.const(np.array(float(k)), "n_members", np.float64)
    return g.cast(g.node("Div", [total, k]), g.onnx_dtype)


def _convert_bagged_classifier(scope, operator, container):
    bag = operator.raw_operator
    g = _Graph(scope, container, _graph_dtype(operator))
    x = operator.inputs[0].full_name
    classes = np.asarray(bag.classes_)
    positions = None
    if bag.voting == "hard":
        positions = g.const(np.arange(classes.shape[0]), "class_index", np.int64)
    outputs = []
    for member, features in zip(bag.estimators_, bag.estimators_features_, strict=True):
        xin = _member_input(g, x, features, bag.n_features_in_)
        p = _in_classes(g, member, _classifier_proba(g, member, xin), classes)
        if positions is not None:
            # one vote for the member's argmax class: (N, 1) == (n_classes,)
            winner = g.node("ArgMax", [p], axis=1, keepdims=1)
            p = g.node("Equal", [winner, positions])
        outputs.append(p)
    proba = _mean_of_members(g, outputs, len(outputs))
    g.node("Identity", [proba], operator.outputs[1].full_name)
    index = g.node("ArgMax", [proba], axis=1, keepdims=0)
    _labels_from_index(g, scope, operator, bag, index)


def _convert_bagged_regressor(scope, operator, container):
    bag = operator.raw_operator
    g = _Graph(scope, container, _graph_dtype(operator))
    x = operator.inputs[0].full_name
    outputs = [
        _network_output(g, member, _member_input(g, x, features, bag.n_features_in_))
        for member, features in zip(
            bag.estimators_, bag.estimators_features_, strict=True
        )
    ]
    y = _mean_of_members(g, outputs, len(outputs))
    g.node("Identity", [y], operator.outputs[0].full_name)


# --------------------------------------------------------------------------
# Parsers and shape calculators
# --------------------------------------------------------------------------
def _check_estimator(model):
    from ..ensemble._base import BaseBaggedMLP

    if isinstance(model, BaseBaggedMLP):
        _check_bagged(model)
    else:
        _check_network(model)


def _check_input(operator):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    model = operator.raw_operator
    var = operator.inputs[0]
    if len(operator.inputs) != 1 or not isinstance(
        var.type, FloatTensorType | DoubleTensorType
    ):
        raise TypeError(
            f"{type(model).__name__} takes one float or double tensor in ONNX; "
            f"got {[str(v.type) for v in operator.inputs]}. Convert the input "
            "with X.astype(np.float32) (or float64)."
        )
    shape = var.type.shape
    if shape is not None and len(shape) == 2:
        width = shape[1]
        if isinstance(width, int | np.integer) and width != model.n_features_in_:
            raise ValueError(
                f"{type(model).__name__} was fitted on {model.n_features_in_} "
                f"features; the ONNX input has {width}."
            )


def _alias(cls):
    """The name skreg's converters are registered under for ``cls``."""
    return f"Skreg{cls.__name__}"


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    _check_estimator(model)
    if not _is_multilabel(model):
        # skl2onnx's own classifier parser: label and probabilities, then
        # the ZipMap / output_class_labels options (update_registered_converter
        # installs it for every model registered with the 'zipmap' option)
        from skl2onnx._parse import _parse_sklearn_classifier

        return _parse_sklearn_classifier(
            scope, model, inputs, custom_parsers=custom_parsers
        )
    # A multilabel fit's labels are an (N, n_labels) indicator; ZipMap pairs
    # one label per row with the probabilities of exclusive classes, which
    # labels that are not exclusive do not have.
    options = scope.get_options(model, dict(zipmap=False, output_class_labels=False))
    if options["zipmap"] is not False or options["output_class_labels"]:
        raise OnnxExportError(
            f"{type(model).__name__} was fitted on a multilabel indicator y; "
            "its labels are not one class per row, so the options zipmap and "
            "output_class_labels do not apply. Pass options={'zipmap': False} "
            "(in a pipeline, {'<step name>__zipmap': False})."
        )
    from skl2onnx.common.data_types import Int64TensorType, guess_tensor_type

    op = scope.declare_local_operator(_alias(type(model)), model)
    op.inputs = inputs
    op.outputs.append(scope.declare_local_variable("label", Int64TensorType()))
    op.outputs.append(
        scope.declare_local_variable("probabilities", guess_tensor_type(inputs[0].type))
    )
    return list(op.outputs)


def _parse_regressor(scope, model, inputs, custom_parsers=None):
    from skl2onnx.common.data_types import guess_tensor_type

    _check_estimator(model)
    op = scope.declare_local_operator(_alias(type(model)), model)
    op.inputs = inputs
    op.outputs.append(
        scope.declare_local_variable("variable", guess_tensor_type(inputs[0].type))
    )
    return list(op.outputs)


def _classifier_shapes(operator):
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    _check_input(operator)
    model = operator.raw_operator
    N = operator.inputs[0].get_first_dimension()
    tensor = type(operator.inputs[0].type)
    n_classes = len(model.classes_)
    if _is_multilabel(model):
        operator.outputs[0].type = Int64TensorType([N, n_classes])
    elif operator.scope_inst.get_options(model, dict(nocl=False))["nocl"]:
        operator.outputs[0].type = Int64TensorType([N])
    else:
        is_string = _label_constant(model.classes_)[1]
        operator.outputs[0].type = (StringTensorType if is_string else Int64TensorType)(
            [N]
        )
    operator.outputs[1].type = tensor([N, n_classes])


def _regressor_shapes(operator):
    _check_input(operator)
    model = operator.raw_operator
    N = operator.inputs[0].get_first_dimension()
    tensor = type(operator.inputs[0].type)
    operator.outputs[0].type = tensor([N, int(model.n_outputs_)])


#: Why each of skreg's estimators that are not networks has no ONNX graph.
_REFUSALS = {
    "TangentDistanceKNN": (
        "its predictions search the stored training set under tangent "
        "distance, a least-squares problem solved per query and neighbour"
    ),
    "SparseCoder": (
        "orthogonal matching pursuit picks atoms one at a time by data-"
        "dependent argmax and least-squares refits, which ONNX's operators do "
        "not express"
    ),
    "KSVD": (
        "its transform is orthogonal matching pursuit, which picks atoms one "
        "at a time by data-dependent argmax and least-squares refits"
    ),
}


def _refusing_parser(scope, model, inputs, custom_parsers=None):
    name = type(model).__name__
    reason = _REFUSALS.get(name, "it is not one of skreg's neural networks")
    raise OnnxExportError(
        f"{name} cannot be exported to ONNX: {reason}. ONNX export covers "
        "skreg's neural networks (skreg.neural_network) and their bagged "
        "ensembles (skreg.ensemble)."
    )


def _never_shaped(operator):  # pragma: no cover - the parser raises first
    raise OnnxExportError(f"{operator.type} cannot be exported to ONNX")


def _never_converted(scope, operator, container):  # pragma: no cover - ditto
    raise OnnxExportError(f"{operator.type} cannot be exported to ONNX")


def register_converters():
    """Register skreg's estimators with skl2onnx.

    After this call ``skl2onnx.to_onnx`` (or ``convert_sklearn``) converts
    skreg's networks and bagged networks, alone or as steps of a
    scikit-learn :class:`~sklearn.pipeline.Pipeline`, and refuses skreg's
    other estimators with an :class:`OnnxExportError` that says why.
    Calling it again does nothing.

    Classifiers take skl2onnx's classifier options: ``zipmap`` (True,
    False or 'columns'), ``nocl`` (class indices instead of labels) and
    ``output_class_labels``.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (``pip install skreg[onnx]``).

    Examples
    --------
    >>> import numpy as np
    >>> import skl2onnx
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skreg.neural_network import MLPRegressor
    >>> from skreg.utils.onnx import register_converters
    >>> X = np.random.RandomState(0).rand(30, 4).astype(np.float32)
    >>> pipe = make_pipeline(
    ...     StandardScaler(), MLPRegressor(hidden_layer_sizes=(5,), max_iter=5)
    ... )
    >>> _ = pipe.fit(X, X.sum(axis=1))
    >>> register_converters()
    >>> onx = skl2onnx.to_onnx(pipe, X[:1])
    >>> [n.op_type for n in onx.graph.node][:4]  # one graph: scaler, then network
    ['Scaler', 'Gemm', 'Relu', 'Gemm']
    >>> [o.name for o in onx.graph.output]
    ['variable']
    """
    global _REGISTERED
    skl2onnx = _skl2onnx()
    if _REGISTERED:
        return
    from ..ensemble import BaggedMLPClassifier, BaggedMLPRegressor
    from ..neural_network._classifier import BaseMLPClassifier
    from ..neural_network._regressor import BaseMLPRegressor
    from .discovery import all_estimators

    for _, cls in all_estimators():
        alias = _alias(cls)
        if issubclass(cls, BaseMLPClassifier) or issubclass(cls, BaggedMLPClassifier):
            convert = (
                _convert_bagged_classifier
                if issubclass(cls, BaggedMLPClassifier)
                else _convert_classifier
            )
            skl2onnx.update_registered_converter(
                cls, alias, _classifier_shapes, convert,
                parser=_parse_classifier, options=dict(_CLASSIFIER_OPTIONS),
            )  # fmt: skip
        elif issubclass(cls, BaseMLPRegressor) or issubclass(cls, BaggedMLPRegressor):
            convert = (
                _convert_bagged_regressor
                if issubclass(cls, BaggedMLPRegressor)
                else _convert_regressor
            )
            skl2onnx.update_registered_converter(
                cls, alias, _regressor_shapes, convert, parser=_parse_regressor
            )
        else:
            skl2onnx.update_registered_converter(
                cls, alias, _never_shaped, _never_converted, parser=_refusing_parser
            )
    _REGISTERED = True


def to_onnx(estimator, X=None, *, target_opset=None, options=None, dtype=np.float32):
    """Convert a fitted estimator or pipeline with skreg steps to ONNX.

    Calls :func:`register_converters`, then ``skl2onnx.to_onnx``.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted skreg network, bagged network, or a scikit-learn pipeline
        (of steps skl2onnx converts) ending in one.
    X : array-like of shape (n_samples, n_features), default=None
        Example rows (one is enough): their width fixes the input's, the
        graph's input is declared ``dtype``.  None: a ``dtype`` input of
        ``estimator.n_features_in_`` columns.
    target_opset : int or dict, default=None
        ONNX opset of the graph (skl2onnx's default: the newest it knows).
    options : dict, default=None
        skl2onnx converter options, e.g. ``{'zipmap': False}`` for plain
        probability tensors (in a pipeline, ``{'<step>__zipmap': False}``
        or ``{id(step): {'zipmap': False}}``).
    dtype : {np.float32, np.float64}, default=np.float32
        The graph's input and arithmetic dtype.

    Returns
    -------
    onx : onnx.ModelProto
        The graph; ``onx.SerializeToString()`` is what
        ``onnxruntime.InferenceSession`` loads.

    Raises
    ------
    ImportError
        If skl2onnx is not installed (``pip install skreg[onnx]``).
    OnnxExportError
        For what has no ONNX graph (see :mod:`skreg.utils.onnx`).
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from onnxruntime import InferenceSession
    >>> from sklearn.datasets import load_iris
    >>> from skreg.neural_network import MLPClassifier
    >>> from skreg.utils.onnx import to_onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    >>> _ = clf.fit(X, y)
    >>> onx = to_onnx(clf, X[:1], options={"zipmap": False})
    >>> sess = InferenceSession(onx.SerializeToString(),
    ...                         providers=["CPUExecutionProvider"])
    >>> label, proba = sess.run(None, {"X": X.astype(np.float32)})
    >>> bool((label == clf.predict(X)).all())
    True
    >>> bool(np.abs(proba - clf.predict_proba(X)).max() < 1e-5)
    True
    """
    skl2onnx = _skl2onnx()
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype}.")
    register_converters()
    tensor = DoubleTensorType if dtype == np.float64 else FloatTensorType
    if X is None:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator)
        initial_types = [("X", tensor([None, int(estimator.n_features_in_)]))]
    else:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-D (n_samples, n_features), got shape {X.shape}."
            )
        initial_types = [("X", tensor([None, int(X.shape[1])]))]
    return skl2onnx.to_onnx(
        estimator,
        initial_types=initial_types,
        target_opset=target_opset,
        options=options,
    )
