"""One numba MLP engine and the regularised classifiers built on it."""

from ._dropout import DropoutMLPClassifier
from ._mlp import MLPClassifier

__all__ = ["DropoutMLPClassifier", "MLPClassifier"]
