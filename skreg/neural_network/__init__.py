"""One numba MLP engine and the regularised classifiers built on it."""

from ._adversarial import AdversarialMLPClassifier
from ._dropout import DropoutMLPClassifier
from ._manifold_tangent import ManifoldTangentClassifier
from ._mlp import MLPClassifier
from ._tangent_prop import TangentPropMLPClassifier

__all__ = [
    "AdversarialMLPClassifier",
    "DropoutMLPClassifier",
    "MLPClassifier",
    "ManifoldTangentClassifier",
    "TangentPropMLPClassifier",
]
