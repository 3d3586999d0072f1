"""Every private scikit-learn helper skreg uses is imported here, and only here.

scikit-learn's private API moves between releases; keeping the imports in
one file means an upgrade is one fix.  Supported: scikit-learn >= 1.6.
"""

from numbers import Integral, Real

from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    Options,
    RealNotInt,
    StrOptions,
    validate_params,
)
from sklearn.utils.metadata_routing import (
    _raise_for_params,
    _routing_enabled,
)
from sklearn.utils.validation import (
    _check_method_params,
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

try:  # scikit-learn >= 1.9: sparse outputs follow set_config(sparse_interface=)
    from sklearn.utils._sparse import _align_api_if_sparse
except ImportError:  # older releases return scipy.sparse matrices

    def _align_api_if_sparse(X):
        return X


__all__ = [
    "HasMethods",
    "Hidden",
    "Integral",
    "Interval",
    "Options",
    "Real",
    "RealNotInt",
    "StrOptions",
    "_align_api_if_sparse",
    "_check_method_params",
    "_check_sample_weight",
    "_fit_context",
    "_raise_for_params",
    "_routing_enabled",
    "check_is_fitted",
    "validate_data",
    "validate_params",
]
