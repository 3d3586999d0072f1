"""Output kinds: outputs, losses and their deltas.

Binary classification has one logistic output, multiclass a softmax,
multilabel one logistic output per label; regression an identity output
(half squared error) or an exponential one (half Poisson deviance).  Each
pairs an output activation with its canonical loss, so the delta w.r.t.
the logits is ``output - target`` throughout (scikit-learn's
``_backprop``).  The log losses are computed from the logits exactly
(softplus, log-sum-exp), so they stay finite and match their gradients
where clipping would not.
"""

import math

import numpy as np

from ...utils._numba import jit
from ._elementwise import softplus
from ._records import Output

OUT_LOGISTIC = int(Output.LOGISTIC)
OUT_SOFTMAX = int(Output.SOFTMAX)
OUT_IDENTITY = int(Output.IDENTITY)
OUT_MULTILABEL = int(Output.MULTILABEL)
OUT_EXP = int(Output.EXP)


@jit(inline="always")
def bias_output(Pv, b, out_kind, keep_logit):
    """Output probabilities, or (``keep_logit``, training) the logits: the
    loss then converts them itself, exactly (see output_loss_delta)."""
    rows, cols = Pv.shape
    if keep_logit:
        for r in range(rows):
            for k in range(cols):
                Pv[r, k] += b[k]
        return
    for r in range(rows):
        if out_kind == OUT_LOGISTIC or out_kind == OUT_MULTILABEL:
            for k in range(cols):
                z = Pv[r, k] + b[k]
                Pv[r, k] = 1.0 / (1.0 + np.exp(-z))
        elif out_kind == OUT_IDENTITY:
            for k in range(cols):
                Pv[r, k] += b[k]
        elif out_kind == OUT_EXP:
            for k in range(cols):
                Pv[r, k] = np.exp(Pv[r, k] + b[k])
        else:
            zmax = -np.inf
            for k in range(cols):
                z = Pv[r, k] + b[k]
                Pv[r, k] = z
                if z > zmax:
                    zmax = z
            tot = 0.0
            for k in range(cols):
                e = np.exp(Pv[r, k] - zmax)
                Pv[r, k] = e
                tot += e
            inv = 1.0 / tot
            for k in range(cols):
                Pv[r, k] = Pv[r, k] * inv


@jit(inline="always")
def binary_log_loss(z, y, eps):
    """Log loss of one logistic output, exactly, from its logit (softplus).

    scikit-learn evaluates ``-log(clip(p, eps, 1 - eps))``; the two agree
    to rounding unless a prediction is worse than ``p = eps``, where the
    clipped value would no longer match the gradient (and ``1 - p`` loses
    digits long before).
    """
    return softplus(-z) if y == 1 else softplus(z)


@jit(inline="always")
def softmax_row_loss(P, r, y):
    """Softmax of logits row ``r`` in place; returns ``-log p_y`` exactly
    (log-sum-exp), never inf for finite logits (p_y may underflow)."""
    nout = P.shape[1]
    zmax = -np.inf
    for k in range(nout):
        if P[r, k] > zmax:
            zmax = P[r, k]
    zy = P[r, y] - zmax
    tot = 0.0
    for k in range(nout):
        e = math.exp(P[r, k] - zmax)
        P[r, k] = e
        tot += e
    inv = 1.0 / tot
    for k in range(nout):
        P[r, k] = P[r, k] * inv
    return math.log(tot) - zy


@jit(inline="always")
def target_row_loss(P, DL, T, r, i, w, out_kind, eps):
    """Loss of row ``r`` against target row ``T[i]`` for the real-valued
    outputs, from the logits in ``P[r]`` (replaced by the outputs);
    writes ``DL[r] = (output - target) * w``.

    The per-row values are scikit-learn's: half the squared error averaged
    over the outputs (``squared_loss``), the binary log loss and the half
    Poisson deviance summed over them.  (scikit-learn's squared-error
    delta is not divided by the number of outputs either.)
    """
    nout = P.shape[1]
    loss = 0.0
    if out_kind == OUT_IDENTITY:
        for k in range(nout):
            d = P[r, k] - T[i, k]
            DL[r, k] = d * w
            loss += d * d
        return 0.5 * loss / nout
    if out_kind == OUT_MULTILABEL:
        for k in range(nout):
            z = P[r, k]
            t = T[i, k]
            p = 1.0 / (1.0 + math.exp(-z))
            P[r, k] = p
            loss += binary_log_loss(z, t, eps)
            DL[r, k] = (p - t) * w
        return loss
    # OUT_EXP: mu = exp(z); t log(t / mu) - t + mu, the t log t term kept
    # as scikit-learn's poisson_loss does (so the loss is 0 at mu = t)
    for k in range(nout):
        z = P[r, k]
        t = T[i, k]
        mu = math.exp(z)
        P[r, k] = mu
        dev = mu - t
        if t > 0.0:
            dev += t * (math.log(t) - z)
        loss += dev
        DL[r, k] = (mu - t) * w
    return loss


@jit
def output_loss_delta(P, DL, Y, T, sw, idx, i0, out_kind, eps):
    """Weighted loss sum of a batch; ``DL = (output - target) * sw``.

    ``P`` holds the logits on entry (a training forward pass) and the
    outputs on exit.  Row ``r`` is sample ``i = idx[i0 + r]``: its class
    index ``Y[i]`` or its target row ``T[i]``, by ``out_kind``.
    """
    nb, nout = P.shape
    total = 0.0
    for r in range(nb):
        i = idx[i0 + r]
        w = sw[i]
        if out_kind == OUT_LOGISTIC:
            y = Y[i]
            z = P[r, 0]
            p = 1.0 / (1.0 + math.exp(-z))
            P[r, 0] = p
            loss = binary_log_loss(z, y, eps)
            DL[r, 0] = (p - y) * w
        elif out_kind == OUT_SOFTMAX:
            y = Y[i]
            loss = softmax_row_loss(P, r, y)
            for k in range(nout):
                DL[r, k] = P[r, k] * w
            DL[r, y] -= w
        else:
            loss = target_row_loss(P, DL, T, r, i, w, out_kind, eps)
        total += w * loss
    return total


@jit
def kl_delta(P, DL, PC, w, out_kind):
    """KL(p || q) of each row and its gradient w.r.t. the logits of q.

    ``P`` holds the logits of the perturbed rows (a training forward pass),
    ``PC`` the clean probabilities p (constants).  Writes
    ``DL = w_r (q - p)`` and returns ``sum_r w_r KL(p_r || q_r)``.
    """
    nb, nout = P.shape
    total = 0.0
    for r in range(nb):
        kl = 0.0
        if out_kind == OUT_LOGISTIC:
            z = float(P[r, 0])
            p = float(PC[r, 0])
            q = 1.0 / (1.0 + math.exp(-z))
            if p > 0.0:
                kl += p * (math.log(p) + softplus(-z))
            if p < 1.0:
                kl += (1.0 - p) * (math.log(1.0 - p) + softplus(z))
            DL[r, 0] = (q - p) * w[r]
        else:
            zmax = -np.inf
            for k in range(nout):
                zmax = max(zmax, float(P[r, k]))
            tot = 0.0
            for k in range(nout):
                tot += math.exp(float(P[r, k]) - zmax)
            lse = zmax + math.log(tot)
            for k in range(nout):
                logq = float(P[r, k]) - lse
                p = float(PC[r, k])
                if p > 0.0:
                    kl += p * (math.log(p) - logq)
                DL[r, k] = (math.exp(logq) - p) * w[r]
        total += w[r] * kl
    return total
