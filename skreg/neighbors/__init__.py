"""Nearest neighbours under tangent distance."""

from ._tangent_distance import TangentDistanceKNN, tangent_distance

__all__ = ["TangentDistanceKNN", "tangent_distance"]
