"""Ensembles of skreg neural networks (bagging)."""

from ._bagging import BaggedMLPClassifier
from ._regressor import BaggedMLPRegressor

__all__ = ["BaggedMLPClassifier", "BaggedMLPRegressor"]
