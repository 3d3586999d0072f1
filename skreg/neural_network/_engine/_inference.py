"""Inference: outputs (deterministic or under sampled dropout masks) and
the input gradient of the log loss.

Every kernel here runs the training passes (``_passes.forward`` /
``backward``, ``_losses.output_loss_delta``) with the argument types a fit
uses, so inference computes what training computed and the first
``predict`` after a ``fit`` compiles nothing (a fit ends with a
deterministic pass through :func:`predict_rows`).
"""
import numpy as np

from ...utils._numba import jit
from ._losses import output_loss_delta
from ._passes import backward, forward
from ._records import INPUT_ONLY, PREDICT, Buffers, Rows

#: Rows per forward pass at inference (the buffers' size).
PREDICT_CHUNK = 1024


def _last_block(buf, net, bs, nb):
    L = len(net.units) - 1
    off = bs * int(net.uoff[L])
    return buf[off : off + nb * int(net.units[L])].reshape(nb, int(net.units[L]))


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


# --- serving: one kernel call per request ------------------------------------
#
# The Python loops above cost a numba dispatch per chunk and take buffers the
# caller allocated: at one row that overhead (typing and unboxing a dozen
# records and arrays, allocating twelve buffers in Python) was ten times the
# arithmetic.  The kernels below run the same ``forward`` pass, so results
# are those of the loops above, but loop over chunks (and ensemble members)
# inside one call that allocates its own buffers: every call owns its
# scratch, so threads serving one model share nothing writable, and the GIL
# is released for the whole request.

#: ``serving_sizes`` fields: widths of all layers, of all layers below the
#: output (the dropout-masked copies), the largest im2col matrix and the
#: pooled values per row, and the widest layer.
_TOT, _BELOW, _COLS, _POOLED, _WIDEST = range(5)


def serving_sizes(layout, sparse=False):
    """The per-row buffer sizes :func:`predict_rows` allocates from."""
    uoff = layout.sparse_uoff if sparse else layout.uoff
    return np.array(
        [int(uoff[-1]), int(uoff[-2]), layout.n_cols, layout.n_pooled,
         int(layout.units.max())],
        dtype=np.int64,
    )  # fmt: skip


@jit(inline="always")
def _serving_buffers(sizes, bs, dtype, masks):
    tot = sizes[_TOT]
    masked = bs * sizes[_BELOW] if masks else 1
    conv = max(1, bs * sizes[_POOLED])
    return Buffers(
        act=np.empty(bs * tot, dtype=dtype),
        masked=np.empty(masked, dtype=dtype),
        mask=np.empty(masked, dtype=dtype),
        pre=np.empty(1, dtype=dtype),
        delta=np.empty(1, dtype=dtype),
        rate=np.zeros(tot, dtype=np.float64),
        bs=bs,
        cols=np.empty(max(1, bs * sizes[_COLS]), dtype=dtype),
        pooled=np.empty(conv, dtype=dtype),
        argmax=np.zeros(conv, dtype=np.int64),
        dpool=np.empty(conv, dtype=dtype),
        bexp=np.empty(max(1, sizes[_WIDEST]), dtype=dtype),
    )


@jit(inline="always")
def _rows_into(theta, net, opts, ws, X, csr, kid, seed, step, out):
    """``out`` (n, n_out) = the outputs of every row of ``X`` (or ``csr``)."""
    n = out.shape[0]
    bs = ws.bs
    idx = np.arange(n)
    sw = np.ones(n)
    L = net.units.shape[0] - 1
    n_out = net.units[L]
    off = bs * net.uoff[L]
    for i0 in range(0, n, bs):
        nb = min(bs, n - i0)
        rows = Rows(X, idx, kid, i0, nb, sw)
        forward(theta, net, opts, ws, rows, csr, seed, step, PREDICT)
        P = ws.act[off : off + nb * n_out].reshape((nb, n_out))
        out[i0 : i0 + nb] = P


@jit
def predict_rows(theta, net, opts, sizes, X, csr, kid, seed, out):
    """Outputs ``out[s]`` (n, n_out) of every row, for each mask stream
    ``s < out.shape[0]`` (``opts`` with Bernoulli dropout: MC inference,
    masks keyed by ``(seed, s, kid[row])``), else ``out[0]`` the
    deterministic pass; chunks of at most ``PREDICT_CHUNK`` rows."""
    n = out.shape[1]
    bs = max(1, min(PREDICT_CHUNK, n))
    ws = _serving_buffers(sizes, bs, theta.dtype, opts.dropout.kind != 0)
    for s in range(out.shape[0]):
        _rows_into(theta, net, opts, ws, X, csr, kid, seed, s, out[s])


@jit
def predict_members(thetas, net, opts, sizes, X, csr, features, gathered, out, mean):
    """Deterministic outputs ``out[k]`` of members ``k`` sharing one network
    shape, with parameters ``thetas[k]``, each reading the columns
    ``features[k]`` of ``X`` (unless ``gathered``, every member reads all of
    them: a dense ``X`` is then not copied, and ``csr`` rows are read as
    they are).  A float64 ``mean`` of ``out[0]``'s shape (zeros) receives
    the members' sum, added member by member in float64 as an ensemble
    averages them in Python (the caller divides: under ``arcp`` a division
    here may become a product by the reciprocal, which rounds otherwise);
    a ``mean`` with no columns is left alone."""
    n = out.shape[1]
    bs = max(1, min(PREDICT_CHUNK, n))
    ws = _serving_buffers(sizes, bs, thetas.dtype, False)
    kid = np.empty(0, dtype=np.int64)
    if not gathered:
        for k in range(thetas.shape[0]):
            _rows_into(thetas[k], net, opts, ws, X, csr, kid, 0, 0, out[k])
    else:
        d = features.shape[1]
        Xk = np.empty((n, d), dtype=X.dtype)
        for k in range(thetas.shape[0]):
            f = features[k]
            for i in range(n):
                for j in range(d):
                    Xk[i, j] = X[i, f[j]]
            _rows_into(thetas[k], net, opts, ws, Xk, csr, kid, 0, 0, out[k])
    if mean.shape[1] == 0:
        return
    n_out = out.shape[2]
    for k in range(thetas.shape[0]):
        for i in range(n):
            for j in range(n_out):
                mean[i, j] += out[k, i, j]
