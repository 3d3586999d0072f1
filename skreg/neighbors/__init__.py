"""Nearest neighbours under tangent distance."""

from ._classification import TangentDistanceKNN
from ._tangent_distance import tangent_distance

__all__ = ["TangentDistanceKNN", "tangent_distance"]
