"""What a bagged ensemble's fit derives from its parameters and data
before any member trains: the rows and columns each member draws (with
scikit-learn's meanings of ``max_samples`` and ``max_features``), the
sample weights, and what ``warm_start`` must find unchanged.

:class:`DrawChecksMixin` is part of ``skreg.ensemble._base.BaseBaggedMLP``
(:class:`~skreg.ensemble.BaggedMLPClassifier`,
:class:`~skreg.ensemble.BaggedMLPRegressor`); the targets' own warm-start
check (same classes, same number of outputs) is the estimator's
``_check_warm_targets``.
"""

import warnings
from numbers import Integral

import numpy as np

from ..utils._sklearn_compat import _check_sample_weight


class DrawChecksMixin:
    """Draw sizes and fit-time checks of the bagged ensemble."""

    def _n_drawn(self, n_samples, sample_weight):
        """Rows drawn per member, with scikit-learn's meaning of max_samples
        (``_get_n_samples_bootstrap`` in ``sklearn/ensemble/_bootstrap.py``)."""
        ms = self.max_samples
        if ms is None:
            n_drawn = n_samples
        elif isinstance(ms, Integral):
            n_drawn = int(ms)
        else:
            # a fraction of the weight sum, as in scikit-learn -- except
            # without replacement, where a row is drawn at most once and the
            # sum counts nothing that can be drawn (scikit-learn raises when
            # it exceeds n_samples, and draws 1 row when it is 1)
            weighted = sample_weight is not None and self.bootstrap
            total = float(sample_weight.sum()) if weighted else n_samples
            n_drawn = max(int(ms * total), 1)
            if n_drawn < max(10, n_samples ** (1 / 3)):
                of = f"the sample weights' sum {total:g}" if weighted else (
                    f"n_samples={n_samples}"
                )  # fmt: skip
                warnings.warn(
                    f"max_samples={ms} times {of} draws only {n_drawn} rows per "
                    "member; pass max_samples as an integer instead.",
                    UserWarning,
                    stacklevel=5,  # _n_drawn < _fit < fit < _fit_context < caller
                )
        if not self.bootstrap:
            if n_drawn > n_samples:
                raise ValueError(
                    f"Effective max_samples={n_drawn} must be <= n_samples="
                    f"{n_samples} to be able to sample without replacement."
                )
            if sample_weight is not None:
                # rows of weight 0 cannot be drawn without replacement: draw
                # every other row rather than fail (scikit-learn#34884)
                n_drawn = min(n_drawn, int(np.count_nonzero(sample_weight)))
        return n_drawn

    def _n_features_drawn(self, n_features):
        mf = self.max_features
        n = mf if isinstance(mf, Integral) else int(mf * n_features)
        if n > n_features:
            raise ValueError(f"max_features={mf} must be <= n_features={n_features}.")
        return max(1, int(n))

    def _check_sample_weight(self, sample_weight, X):
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if np.any(sample_weight < 0):
            raise ValueError("Negative values in data passed to sample_weight.")
        if not sample_weight.sum() > 0:
            raise ValueError(
                "sample_weight sums to 0: no row can be drawn for the members."
            )
        if not self.bootstrap:
            warnings.warn(
                f"When fitting {type(self).__name__} with sample_weight it is "
                f"recommended to use bootstrap=True, got {self.bootstrap}: only "
                "draws with replacement give the weights their frequency meaning.",
                UserWarning,
                stacklevel=5,  # (_check_sample_weight) < _fit < fit < _fit_context
            )
        return sample_weight

    def _check_warm_start(self, n_samples, n_drawn, n_feat, sample_weight):
        same_weights = (sample_weight is None and self._sample_weight is None) or (
            sample_weight is not None
            and self._sample_weight is not None
            and np.array_equal(sample_weight, self._sample_weight)
        )
        if (
            n_samples != self._n_samples
            or n_drawn != self._n_drawn_fit
            or n_feat != self._n_features_drawn_fit
            or not same_weights
        ):
            raise ValueError(
                "warm_start=True adds members trained on the same data: "
                f"got {n_samples} samples (max_samples -> {n_drawn}, max_features "
                f"-> {n_feat}), the previous fit had {self._n_samples} "
                f"({self._n_drawn_fit}, {self._n_features_drawn_fit})"
                + ("" if same_weights else " and other sample weights")
                + "."
            )
        if (self.bootstrap, self.bootstrap_features) != (
            self._bootstrap_fit,
            self._bootstrap_features_fit,
        ):
            raise ValueError(
                "warm_start=True adds members drawn as the previous ones: "
                "bootstrap and bootstrap_features must not change (previously "
                f"{self._bootstrap_fit} and {self._bootstrap_features_fit})."
            )
