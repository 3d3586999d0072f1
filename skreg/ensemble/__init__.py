"""Ensembles of skreg neural networks (bagging)."""

from ._bagging import BaggedMLPClassifier

__all__ = ["BaggedMLPClassifier"]
