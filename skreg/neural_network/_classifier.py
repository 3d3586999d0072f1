"""BaseMLPClassifier: the classification output part of skreg's neural
estimators (as scikit-learn's ``MLPClassifier`` on its
``BaseMultilayerPerceptron``): ``classes_``, label encoding, the
accuracy-based validation score, ``partial_fit(classes=...)``,
``predict_proba`` / ``predict``.  The training loop is in ``_base.py``."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ..utils._sklearn_compat import _fit_context, validate_data
from ..utils._validation import restore_state_on_error
from ._base import BaseMultilayerPerceptron
from ._engine import Output, input_gradient, predict_proba

_SOFTMAX, _LOGISTIC, _MULTILABEL = (
    int(Output.SOFTMAX), int(Output.LOGISTIC), int(Output.MULTILABEL)
)


class BaseMLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    """Base class of skreg's MLP classifiers (not for direct use).

    :class:`~skreg.neural_network._base.BaseMultilayerPerceptron` with
    class labels; subclasses only choose engine options.  Names, defaults
    and fitted attributes follow :class:`sklearn.neural_network.MLPClassifier`.
    """

    def _out_kind(self):
        # every request asks this (the serving predictor's check): plain
        # ints, since converting an IntEnum member costs more than the test
        if self.out_activation_ == "softmax":
            return _SOFTMAX
        # one logistic unit (binary) or one per label (multilabel)
        return _LOGISTIC if self.n_outputs_ == 1 else _MULTILABEL

    def _is_multilabel(self):
        return (
            getattr(self, "out_activation_", None) == "logistic" and self.n_outputs_ > 1
        )

    def _validate_xy(self, X, y, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=self._sparse_formats(X),
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _prepare_targets(self, y, first_pass, incremental):
        check_classification_targets(y)
        if np.ndim(y) == 2:
            return self._prepare_multilabel(y, first_pass)
        if not first_pass and self._is_multilabel():
            raise ValueError(
                "This model was fitted on a multilabel indicator y; got a 1-D y. "
                "Use warm_start=False to refit."
            )
        # ---- labels
        if first_pass:
            if incremental:
                classes = getattr(self, "_pf_classes", None)
                if classes is None:
                    raise ValueError(
                        "classes must be passed on the first call to partial_fit."
                    )
            else:
                classes = np.unique(y)
            if len(classes) < 2:
                raise ValueError(
                    "The classifier needs samples of at least 2 classes in the data,"
                    f" but the data contains only one class: {classes[0]!r}."
                )
            self.classes_ = classes
        elif self.warm_start and not incremental:
            if set(np.unique(y)) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in "
                    f"the previous call to fit. Previously got {self.classes_}, `y` "
                    f"has {np.unique(y)}"
                )
        y_idx = self._encode_y(y, self.classes_, incremental)
        n_classes = len(self.classes_)
        n_outputs = 1 if n_classes == 2 else n_classes

        out_kind = int(Output.LOGISTIC if n_outputs == 1 else Output.SOFTMAX)
        out_activation = "logistic" if n_outputs == 1 else "softmax"
        return y_idx, n_outputs, out_kind, out_activation

    def _prepare_multilabel(self, y, first_pass):
        """A 0/1 indicator matrix: one logistic output per label, each with
        the binary log loss (scikit-learn's MLPClassifier)."""
        if type_of_target(y) != "multilabel-indicator":
            raise ValueError(
                f"A 2-D y must be a multilabel indicator of 0/1 values; got "
                f"{type_of_target(y)!r}."
            )
        n_labels = y.shape[1]
        if first_pass:
            self.classes_ = np.arange(n_labels)  # as LabelBinarizer's
        elif not self._is_multilabel() or self.n_outputs_ != n_labels:
            raise ValueError(
                f"y has {n_labels} labels, but this model was fitted with classes "
                f"{self.classes_}; use warm_start=False to refit."
            )
        T = (np.asarray(y) == 1).astype(np.float64)
        return T, n_labels, int(Output.MULTILABEL), "logistic"

    def _stratify(self, y_idx, out_kind):
        # the split scikit-learn's MLPClassifier makes: stratified only
        # when there is one output unit (binary), on the indicator matrix
        return (y_idx == 1)[:, None] if out_kind == Output.LOGISTIC else None

    def _validation_score(self, X_val, y_val, sw_val, theta, layout, out_kind):
        proba = predict_proba(X_val, theta, layout, self.activation, out_kind)
        if out_kind == Output.MULTILABEL:  # subset accuracy, as scikit-learn
            pred = (proba > 0.5).astype(np.int64)
            y_val = y_val.astype(np.int64)
            return float(accuracy_score(y_val, pred, sample_weight=sw_val))
        pred = _proba_to_index(proba)
        return float(accuracy_score(y_val, pred, sample_weight=sw_val))

    def _encode_y(self, y, classes, incremental):
        """Class indices (0..n_classes-1) of ``y`` w.r.t. ``classes_``, or a
        multilabel indicator as floats."""
        y = np.asarray(y)
        if y.ndim == 2:  # only a multilabel model reaches here with 2-D y
            if not self._is_multilabel() or y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y must be a multilabel indicator with {self.n_outputs_} "
                    f"columns, got shape {y.shape}."
                )
            return (y == 1).astype(np.float64)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        if not np.all(self.classes_[idx] == y):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {np.unique(y)}."
            )
        return idx.astype(np.int64)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        with restore_state_on_error(self):  # a failed call changes nothing
            first = not hasattr(self, "classes_")
            if first:
                if classes is None:
                    raise ValueError(
                        "classes must be passed on the first call to partial_fit."
                    )
                self._pf_classes = np.unique(np.asarray(classes))
            elif classes is not None:
                if not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
                    raise ValueError(
                        f"`classes={np.unique(classes)}` is not the same as on the "
                        f"first call to partial_fit, was {self.classes_}."
                    )
            return self._fit(X, y, sample_weight, incremental=True)

    # -------------------------------------------------------------- predict
    def _proba_weight_scaling(self, X):
        """Deterministic pass (no dropout: 'weight scaling' inference)."""
        return self._predictor().proba(X)

    def _to_two_columns(self, p):
        if p.shape[1] == 1:
            return np.hstack([1 - p, p])
        return p

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_`` (for a
            multilabel fit, of each label independently).
        """
        X = self._validate_X(X)
        return self._to_two_columns(self._proba_weight_scaling(X))

    def predict_log_proba(self, X):
        """Log of the probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        p = self.predict_proba(X)
        return np.log(p, out=p)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The predicted classes, or for a multilabel fit the 0/1
            indicator of the labels whose probability exceeds 0.5.
        """
        p = self.predict_proba(X)
        if self._is_multilabel():
            return (p > 0.5).astype(np.int64)
        return self.classes_[_proba_to_index(p)]

    def input_gradient(self, X, y):
        """Gradient of each sample's log loss with respect to its input.

        The loss is the unweighted, unregularised cross-entropy of the
        deterministic network (no dropout): row ``i`` is
        ``d/dx_i [-log p(y_i | x_i)]``.  Used by adversarial attacks
        (:mod:`skreg.metrics`) and tangent methods.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,)
            True labels (values from ``classes_``).

        Returns
        -------
        grad : ndarray of shape (n_samples, n_features)
            Gradient of the per-sample loss w.r.t. the input.
        """
        X = self._validate_X(X)
        y = np.asarray(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}.")
        y_idx = self._encode_y(y, self.classes_, False)
        layout, theta = self._pack()
        return input_gradient(
            X, y_idx, theta, layout, self.activation, self._out_kind()
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = self._takes_sparse()
        return tags


def _proba_to_index(p):
    if p.shape[1] == 1:
        return (p[:, 0] > 0.5).astype(np.int64)
    return np.argmax(p, axis=1)
