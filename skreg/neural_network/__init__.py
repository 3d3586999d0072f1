"""One numba MLP engine and the regularised classifiers and regressors built
on it."""

from ._adversarial import AdversarialMLPClassifier, AdversarialMLPRegressor
from ._dropout import DropoutMLPClassifier, DropoutMLPRegressor
from ._manifold_tangent import ManifoldTangentClassifier
from ._mlp import MLPClassifier, MLPRegressor
from ._tangent_prop import TangentPropMLPClassifier, TangentPropMLPRegressor

__all__ = [
    "AdversarialMLPClassifier",
    "AdversarialMLPRegressor",
    "DropoutMLPClassifier",
    "DropoutMLPRegressor",
    "MLPClassifier",
    "MLPRegressor",
    "ManifoldTangentClassifier",
    "TangentPropMLPClassifier",
    "TangentPropMLPRegressor",
]
