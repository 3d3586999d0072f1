"""One numba MLP engine and the regularised classifiers built on it."""

__all__ = []
