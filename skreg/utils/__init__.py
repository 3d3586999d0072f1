"""Utilities shared by several skreg subpackages."""

from .discovery import all_estimators

__all__ = ["all_estimators"]
