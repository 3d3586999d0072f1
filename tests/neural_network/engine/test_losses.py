"""Output kinds (``_losses``): log losses and deltas from the logits, and
the KL delta of virtual adversarial training, against numpy."""

import numpy as np
import pytest

from skreg.neural_network._engine import _losses as losses

from ... import _reference as ref

NO_TARGETS = np.empty((0, 1))


@pytest.mark.parametrize("n_out", [1, 4])
def test_output_loss_delta(n_out, rng):
    n = 7
    Z = rng.standard_normal((n, n_out)) * 3
    y = rng.integers(0, max(n_out, 2), n)
    sw = rng.uniform(0.5, 2.0, n)
    idx = np.arange(n)
    P = Z.copy()
    DL = np.empty_like(Z)
    total = losses.output_loss_delta(
        P, DL, y, NO_TARGETS, sw, idx, 0, int(n_out > 1), 1e-16
    )
    want, p = ref.log_loss_rows(Z, y)
    assert total == pytest.approx(float(sw @ want), rel=1e-13)
    np.testing.assert_allclose(P, p, rtol=1e-13)
    onehot = y[:, None] == 1 if n_out == 1 else np.eye(n_out)[y]
    np.testing.assert_allclose(DL, (p - onehot) * sw[:, None], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["identity", "multilabel", "exp"])
@pytest.mark.parametrize("n_out", [1, 3])
def test_target_output_loss_delta(kind, n_out, rng):
    """Regression and multilabel outputs: scikit-learn's loss functions
    (``squared_loss``, ``binary_log_loss``, ``poisson_loss``) per row, and
    the delta ``(output - target) * sw``."""
    n = 9
    Z = rng.standard_normal((n, n_out))
    sw = rng.uniform(0.5, 2.0, n)
    code = {"identity": 2, "multilabel": 3, "exp": 4}[kind]
    if kind == "identity":
        T = rng.standard_normal((n, n_out)) * 2
        out = Z
        rows = 0.5 * ((out - T) ** 2).mean(axis=1)
    elif kind == "multilabel":
        T = (rng.uniform(size=(n, n_out)) < 0.5).astype(float)
        out = 1 / (1 + np.exp(-Z))
        rows = -(T * np.log(out) + (1 - T) * np.log(1 - out)).sum(axis=1)
    else:
        T = rng.poisson(1.5, (n, n_out)).astype(float)
        T[0] = 0.0  # t log t at t = 0
        out = np.exp(Z)
        with np.errstate(divide="ignore", invalid="ignore"):
            tlog = np.where(T > 0, T * np.log(T / out), 0.0)
        rows = (tlog - T + out).sum(axis=1)
    # the whole-batch value scikit-learn reports is the weighted mean of these
    P = Z.copy()
    DL = np.empty_like(Z)
    total = losses.output_loss_delta(
        P, DL, np.zeros(n, np.int64), T, sw, np.arange(n), 0, code, 1e-16
    )
    assert total == pytest.approx(float(sw @ rows), rel=1e-12)
    np.testing.assert_allclose(P, out, rtol=1e-13)
    np.testing.assert_allclose(DL, (out - T) * sw[:, None], rtol=1e-12, atol=1e-15)


def test_losses_stay_finite_for_huge_logits():
    P = np.array([[800.0, -800.0, 0.0]])
    DL = np.empty_like(P)
    total = losses.output_loss_delta(
        P, DL, np.array([1]), NO_TARGETS, np.ones(1), np.arange(1), 0, 1, 1e-16
    )
    assert total == pytest.approx(1600.0)


@pytest.mark.parametrize("n_out", [1, 3])
def test_kl_delta(n_out, rng):
    n = 5
    Zq = rng.standard_normal((n, n_out))
    pc = ref.log_loss_rows(rng.standard_normal((n, n_out)), np.zeros(n, int))[1]
    w = rng.uniform(0.5, 2.0, n)
    P = Zq.copy()
    DL = np.empty_like(Zq)
    total = losses.kl_delta(P, DL, pc, w, int(n_out > 1))
    q = ref.log_loss_rows(Zq, np.zeros(n, int))[1]
    if n_out == 1:
        p2 = np.hstack([1 - pc, pc])
        q2 = np.hstack([1 - q, q])
    else:
        p2, q2 = pc, q
    kl = (p2 * (np.log(p2) - np.log(q2))).sum(axis=1)
    assert total == pytest.approx(float(w @ kl), rel=1e-12)
    np.testing.assert_allclose(DL, (q - pc) * w[:, None], rtol=1e-12, atol=1e-15)
