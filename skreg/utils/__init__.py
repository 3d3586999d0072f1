"""Utilities shared by several skreg subpackages."""

from ._tangent_vectors import image_tangents, signal_tangents
from .discovery import all_estimators

__all__ = ["all_estimators", "image_tangents", "signal_tangents"]
