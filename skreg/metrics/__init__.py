"""Robustness metrics (accuracy under adversarial attack)."""

__all__ = []
