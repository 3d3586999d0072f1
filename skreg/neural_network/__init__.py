"""One numba MLP engine and the regularised classifiers built on it."""

from ._mlp import MLPClassifier

__all__ = ["MLPClassifier"]
