"""Elementwise pieces: vectorisable exp/tanh/logistic, activations and their
derivatives, the intercept-plus-activation step of a hidden layer."""

import math

import numpy as np

from ...utils._numba import jit
from ._records import Activation

ACT_IDENTITY = int(Activation.IDENTITY)
ACT_LOGISTIC = int(Activation.LOGISTIC)
ACT_TANH = int(Activation.TANH)
ACT_RELU = int(Activation.RELU)

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10


@jit
def exp_row(x, out, kb):
    """``out[j] = exp(x[j])`` in float64, written so LLVM vectorises it.

    numba's ``exp``/``tanh`` are scalar libm calls (no SVML in pip builds),
    while numpy's are SIMD: Cody-Waite reduction ``x = k ln2 + r``, the
    degree-13 Taylor polynomial of ``exp(r)`` (|r| <= ln2/2, relative error
    < 2e-15), and ``2^k`` assembled in the exponent bits of ``kb`` (int64)
    viewed as float64.  Inputs are clamped to [-708, 709].
    """
    n = x.shape[0]
    for j in range(n):
        v = min(max(float(x[j]), -708.0), 709.0)
        k = np.floor(v * _LOG2E + 0.5)
        r = (v - k * _LN2_HI) - k * _LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        kb[j] = (np.int64(k) + 1023) << 52
        out[j] = p
    f = kb[:n].view(np.float64)
    for j in range(n):
        out[j] = out[j] * f[j]


@jit
def tanh_row(h, kb, e):
    """``h = tanh(h)`` in place: ``(1 - e)/(1 + e)``, ``e = exp(-2|z|)``, and
    its odd Taylor series below |z| = 0.05 (no cancellation); rel. err. < 1e-15."""
    n = h.shape[0]
    for j in range(n):
        e[j] = -2.0 * abs(h[j])
    exp_row(e[:n], e[:n], kb)
    for j in range(n):
        z = float(h[j])
        t = (1.0 - e[j]) / (1.0 + e[j])
        t = t if z >= 0 else -t
        z2 = z * z
        sr = z * (
            1.0
            + z2
            * (
                -1.0 / 3.0
                + z2
                * (
                    2.0 / 15.0
                    + z2
                    * (
                        -17.0 / 315.0
                        + z2
                        * (
                            62.0 / 2835.0
                            + z2 * (-1382.0 / 155925.0 + z2 * (21844.0 / 6081075.0))
                        )
                    )
                )
            )
        )
        h[j] = sr if abs(z) < 0.05 else t


@jit
def logistic_row(h, kb, e):
    """``h = 1 / (1 + exp(-h))`` in place, vectorised exp."""
    n = h.shape[0]
    for j in range(n):
        e[j] = -h[j]
    exp_row(e[:n], e[:n], kb)
    for j in range(n):
        h[j] = 1.0 / (1.0 + e[j])


@jit
def bias_activation(Hv, b, act, Zv, keep_pre):
    rows, cols = Hv.shape
    if act == ACT_TANH or act == ACT_LOGISTIC:
        kb = np.empty(cols, dtype=np.int64)
        e = np.empty(cols)
        for r in range(rows):
            hr = Hv[r]
            for j in range(cols):
                z = hr[j] + b[j]
                hr[j] = z
                if keep_pre:
                    Zv[r, j] = z
            if act == ACT_TANH:
                tanh_row(hr, kb, e)
            else:
                logistic_row(hr, kb, e)
        return
    for r in range(rows):
        for j in range(cols):
            z = Hv[r, j] + b[j]
            if keep_pre:
                Zv[r, j] = z
            if act == ACT_RELU:
                Hv[r, j] = z if z > 0 else 0.0
            elif act == ACT_TANH:
                Hv[r, j] = np.tanh(z)
            elif act == ACT_LOGISTIC:
                Hv[r, j] = 1.0 / (1.0 + np.exp(-z))
            else:
                Hv[r, j] = z


@jit(inline="always")
def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@jit(inline="always")
def firing_rate(h, z, act):
    """Unit 'firing rate' in (0, 1) used by the KL sparsity penalty."""
    if act == ACT_LOGISTIC:
        return h
    if act == ACT_TANH:
        return 0.5 * (1.0 + h)
    return sigmoid(z)  # relu (z = pre-activation), identity (z = h)


@jit(inline="always")
def activation_derivative(Gv, Hv, act):
    rows, cols = Hv.shape
    if act == ACT_RELU:
        for r in range(rows):
            for j in range(cols):
                if Hv[r, j] <= 0:
                    Gv[r, j] = 0.0
    elif act == ACT_TANH:
        for r in range(rows):
            for j in range(cols):
                h = Hv[r, j]
                Gv[r, j] *= 1.0 - h * h
    elif act == ACT_LOGISTIC:
        for r in range(rows):
            for j in range(cols):
                h = Hv[r, j]
                Gv[r, j] *= h * (1.0 - h)


@jit(inline="always")
def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@jit(inline="always")
def slopes(h, act):
    """First and second derivative of the activation at the unit whose
    output is ``h`` (written in terms of the output, as backward uses it)."""
    if act == ACT_RELU:
        return (1.0 if h > 0 else 0.0), 0.0
    if act == ACT_TANH:
        d1 = 1.0 - h * h
        return d1, -2.0 * h * d1
    if act == ACT_LOGISTIC:
        d1 = h * (1.0 - h)
        return d1, d1 * (1.0 - 2.0 * h)
    return 1.0, 0.0
