"""BaseMLPRegressor: the regression output part of skreg's neural
estimators (as scikit-learn's ``MLPRegressor`` on its
``BaseMultilayerPerceptron``): real-valued and multi-output targets, the
squared-error and Poisson losses, the R² validation score,
``partial_fit`` and ``predict``.  The training loop is in ``_base.py``."""

import warnings

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if

from ..utils._sklearn_compat import StrOptions, _fit_context, validate_data
from ..utils._validation import restore_state_on_error
from ._base import BaseMultilayerPerceptron
from ._engine import Output, input_gradient, predict_proba

#: The output unit and canonical loss of each ``loss`` (scikit-learn's
#: names: 'squared_error' is half the squared error, 'poisson' half the
#: Poisson deviance with a log link).
_LOSSES = {
    "squared_error": (Output.IDENTITY, "identity"),
    "poisson": (Output.EXP, "exp"),
}


_EXP, _IDENTITY = int(Output.EXP), int(Output.IDENTITY)


class BaseMLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    """Base class of skreg's MLP regressors (not for direct use).

    :class:`~skreg.neural_network._base.BaseMultilayerPerceptron` with
    real-valued targets; subclasses only choose engine options.  Names,
    defaults and fitted attributes follow
    :class:`sklearn.neural_network.MLPRegressor`.
    """

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions(set(_LOSSES))],
    }

    def _out_kind(self):
        # plain ints (asked on every request, as the classifier's)
        return _EXP if self.out_activation_ == "exp" else _IDENTITY

    def _validate_xy(self, X, y, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=self._sparse_formats(X),
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. "
                "Please change the shape of y to (n_samples,), for example "
                "using ravel().",
                DataConversionWarning,
                stacklevel=5,
            )
            y = y[:, 0]
        return X, y

    def _prepare_targets(self, y, first_pass, incremental):
        y = np.asarray(y)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        out_kind, out_activation = _LOSSES[self.loss]
        if out_kind == Output.EXP and (y < 0).any():
            raise ValueError(
                "loss='poisson' needs non-negative targets; y has "
                f"{int((y < 0).sum())} negative values (minimum {y.min()!r})."
            )
        if not first_pass:
            if y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y has {y.shape[1]} outputs, but this model was fitted with "
                    f"{self.n_outputs_}; use warm_start=False to refit."
                )
            if self.out_activation_ != out_activation:
                raise ValueError(
                    f"loss={self.loss!r} differs from the fitted model's output "
                    f"({self.out_activation_!r}); use warm_start=False to refit."
                )
        return y, y.shape[1], int(out_kind), out_activation

    def _validation_score(self, X_val, y_val, sw_val, theta, layout, out_kind):
        pred = predict_proba(X_val, theta, layout, self.activation, out_kind)
        if not np.isfinite(pred).all():
            return np.nan  # as scikit-learn's _score_with_function
        if pred.shape[1] == 1:
            pred, y_val = pred[:, 0], y_val[:, 0]
        return float(r2_score(y_val, pred, sample_weight=sw_val))

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.
        """
        with restore_state_on_error(self):  # a failed call changes nothing
            return self._fit(X, y, sample_weight, incremental=True)

    # -------------------------------------------------------------- predict
    def _predict_weight_scaling(self, X):
        """Deterministic pass (no dropout: 'weight scaling' inference)."""
        return self._predictor().proba(X)

    def _shape_like_y(self, pred):
        return pred[..., 0] if pred.shape[-1] == 1 else pred

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        X = self._validate_X(X)
        return self._shape_like_y(self._predict_weight_scaling(X))

    def input_gradient(self, X, y):
        """Gradient of each sample's loss with respect to its input.

        The loss is the unweighted, unregularised training loss of the
        deterministic network (no dropout): row ``i`` is ``d/dx_i l(f(x_i),
        y_i)``, with ``l`` half the squared error (or half the Poisson
        deviance).  Used by adversarial attacks and tangent methods.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.

        Returns
        -------
        grad : ndarray of shape (n_samples, n_features)
            Gradient of the per-sample loss w.r.t. the input.
        """
        X = self._validate_X(X)
        y = np.asarray(y, dtype=X.dtype)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} samples but y has {y.shape[0]}.")
        y = np.ascontiguousarray(y.reshape(X.shape[0], -1))
        if y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs, expected {self.n_outputs_}.")
        layout, theta = self._pack()
        # the engine's squared-error delta is not divided by the number of
        # outputs (scikit-learn's convention); neither is this gradient
        return input_gradient(X, y, theta, layout, self.activation, self._out_kind())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._takes_sparse()
        tags.target_tags.multi_output = True
        return tags
