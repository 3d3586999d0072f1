"""Activation penalties (``_penalties``): value against numpy and gradient
by central differences, from the one formula per kind."""

import numpy as np
import pytest

from skreg.neural_network._engine import Activation, Penalty
from skreg.neural_network._engine import _penalties as penalties
from skreg.neural_network._engine._records import PenaltyOptions, Rows

from ... import _reference as ref


@pytest.mark.parametrize("kind", ["l1", "student_t", "kl"])
def test_activation_penalty_value_and_gradient(kind, rng):
    n, m = 6, 5
    H = rng.uniform(0.05, 0.95, (n, m))  # logistic unit outputs
    sw = rng.uniform(0.5, 2.0, n)
    rows = Rows(np.zeros((n, 1)), np.arange(n), np.arange(n), 0, n, sw)
    pen = PenaltyOptions(int(Penalty[kind.upper()]), 0.3, 1.7, 0.2)
    act = int(Activation.LOGISTIC)

    def value(Hv):
        rate = np.empty(m)
        v = penalties.activation_penalty(Hv, Hv, rows, act, pen, rate, sw.sum())
        return v, rate

    got, rate = value(H)
    want = ref.activation_penalty_value(
        H, sw, kind, 0.3, gamma=1.7, rho=0.2, rate=(sw @ H) / sw.sum()
    )
    assert got == pytest.approx(want, rel=1e-12)
    G = np.zeros((n, m))
    penalties.activation_penalty_grad(G, H, rows, act, pen, rate)
    eps = 1e-6
    num = np.empty_like(H)
    for r in range(n):
        for j in range(m):
            Hp = H.copy()
            Hm = H.copy()
            Hp[r, j] += eps
            Hm[r, j] -= eps
            num[r, j] = (value(Hp)[0] - value(Hm)[0]) / (2 * eps)
    np.testing.assert_allclose(G, num, rtol=1e-6, atol=1e-9)


def test_tie_gradient(rng):
    theta = rng.standard_normal(8)
    ref_ = rng.standard_normal(8)
    grad = np.zeros(8)
    sq = penalties.add_tie_gradient(theta, grad, ref_, 2.0, 0.25)
    assert sq == pytest.approx(float(((theta - ref_) ** 2).sum()))
    np.testing.assert_allclose(grad, 2.0 * 2 * 0.25 * (theta - ref_))
