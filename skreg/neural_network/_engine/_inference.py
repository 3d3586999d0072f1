"""Inference: probabilities (deterministic or under sampled dropout masks)
and the input gradient of the log loss.

These loops over chunks of rows run in Python and call the training passes
(``_passes.forward`` / ``backward``, ``_losses.output_loss_delta``) with the
argument types a fit uses, so the first ``predict`` after a ``fit``
compiles nothing; one call per chunk of ``ws.bs`` rows costs microseconds.
"""

import numpy as np

from ._losses import output_loss_delta
from ._passes import backward, forward
from ._records import INPUT_ONLY, PREDICT, Rows


def _last_block(buf, net, bs, nb):
    L = len(net.units) - 1
    off = bs * int(net.uoff[L])
    return buf[off : off + nb * int(net.units[L])].reshape(nb, int(net.units[L]))


def predict_proba(theta, net, opts, ws, X, csr, kid, seed, step, out):
    """Output probabilities ``out`` (n, n_out) of every row of ``X`` (or of
    the CSR rows ``csr`` unless None), ``ws.bs`` rows at a time.  No masks unless
    ``opts.dropout`` is Bernoulli (MC inference, masks keyed by
    ``(seed, step, kid[row])``)."""
    n = out.shape[0]
    idx = np.arange(n, dtype=np.int64)
    sw = np.ones(n)
    for i0 in range(0, n, ws.bs):
        nb = min(ws.bs, n - i0)
        rows = Rows(X, idx, kid, i0, nb, sw)
        forward(theta, net, opts, ws, rows, csr, seed, step, PREDICT)
        out[i0 : i0 + nb] = _last_block(ws.act, net, ws.bs, nb)


def predict_proba_mc(theta, net, opts, ws, X, csr, kid, seed, out):
    """Per-mask probabilities ``out[s]`` for ``s < out.shape[0]`` (MC dropout)."""
    for s in range(out.shape[0]):
        predict_proba(theta, net, opts, ws, X, csr, kid, seed, s, out[s])


def input_gradient(theta, net, opts, ws, X, Y, T, seed, step, out):
    """Per-sample gradient of the (unweighted, unregularised) loss w.r.t.
    x, for class indices ``Y`` or target rows ``T`` (see ``_records.Data``);
    ``seed`` and ``step`` key the masks if ``opts`` has dropout.  Dense
    rows only."""
    n, d = X.shape
    idx = np.arange(n, dtype=np.int64)
    sw = np.ones(n)
    grad = np.empty(1, dtype=theta.dtype)
    for i0 in range(0, n, ws.bs):
        nb = min(ws.bs, n - i0)
        rows = Rows(X, idx, idx, i0, nb, sw)
        forward(theta, net, opts, ws, rows, None, seed, step, INPUT_ONLY)  # logits kept
        P = _last_block(ws.act, net, ws.bs, nb)
        DL = _last_block(ws.delta, net, ws.bs, nb)
        output_loss_delta(P, DL, Y, T, sw, idx, i0, opts.out_kind, opts.log_eps)
        backward(theta, grad, net, opts, ws, rows, None, seed, step, INPUT_ONLY)
        out[i0 : i0 + nb] = ws.delta[: nb * d].reshape(nb, d)
