"""Inference entry points: probabilities (deterministic or under sampled
dropout masks) and the input gradient of the log loss."""

import numpy as np

from ...utils._numba import jit
from ._layers import block
from ._losses import output_loss_delta
from ._passes import backward, forward
from ._records import Rows


@jit
def predict_proba(theta, net, opts, ws, X, kid, seed, step, out):
    """Output probabilities ``out`` (n, n_out) of every row, ``ws.bs`` rows
    at a time.  No masks unless ``opts.dropout`` is Bernoulli (MC inference,
    masks keyed by ``(seed, step, kid[row])``)."""
    n = X.shape[0]
    L = net.units.shape[0] - 1
    idx = np.arange(n)
    sw = np.ones(n)
    nout = net.units[L]
    i0 = 0
    while i0 < n:
        nb = min(ws.bs, n - i0)
        rows = Rows(X, idx, kid, i0, nb, sw)
        forward(theta, net, opts, ws, rows, seed, step, False)
        P = block(ws.act, net, ws.bs, L, nb)
        for r in range(nb):
            for k in range(nout):
                out[i0 + r, k] = P[r, k]
        i0 += nb


@jit
def predict_proba_mc(theta, net, opts, ws, X, kid, seed, out):
    """Per-mask probabilities ``out[s]`` for ``s < out.shape[0]`` (MC dropout)."""
    for s in range(out.shape[0]):
        predict_proba(theta, net, opts, ws, X, kid, seed, s, out[s])


@jit
def input_gradient(theta, net, opts, ws, X, Y, out):
    """Per-sample gradient of the (unweighted, unregularised) log loss w.r.t. x."""
    n = X.shape[0]
    L = net.units.shape[0] - 1
    idx = np.arange(n)
    sw = np.ones(n)
    grad = np.empty(1, dtype=theta.dtype)
    i0 = 0
    while i0 < n:
        nb = min(ws.bs, n - i0)
        rows = Rows(X, idx, idx, i0, nb, sw)
        forward(theta, net, opts, ws, rows, 0, 0, True)  # logits kept for the loss
        P = block(ws.act, net, ws.bs, L, nb)
        DL = block(ws.delta, net, ws.bs, L, nb)
        output_loss_delta(P, DL, Y, sw, idx, i0, opts.out_kind, opts.log_eps)
        backward(theta, grad, net, opts, ws, rows, 0, 0, False, False, True)
        D0 = block(ws.delta, net, ws.bs, 0, nb)
        for r in range(nb):
            for j in range(X.shape[1]):
                out[i0 + r, j] = D0[r, j]
        i0 += nb
