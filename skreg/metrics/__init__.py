"""Robustness metrics (accuracy under adversarial attack)."""

from ._robustness import (
    adversarial_accuracy,
    fgsm_attack,
    make_adversarial_scorer,
    pgd_attack,
)

__all__ = [
    "adversarial_accuracy",
    "fgsm_attack",
    "make_adversarial_scorer",
    "pgd_attack",
]
