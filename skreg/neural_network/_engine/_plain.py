"""Training mode 'plain': no dropout or Bernoulli dropout, with any
activation penalty, L2, tying and max-norm.  The other modes (fast dropout,
tangent propagation, adversarial training) restructure the passes and have
modules of their own, so a plain fit compiles none of their code.

Entry points (called from Python):
* :func:`run_epoch` -- every minibatch of ``order`` (any index array: a
  permutation, or a bootstrap sample with repeats): gather, forward,
  backward, penalties, optimizer update, max-norm, in one call;
* :func:`objective` -- the rows ``idx`` as one batch, gradient finished
  (L-BFGS and the gradient tests); with dropout the masks are those of
  ``(seed, step)``, so finite differences are exact.
"""

from ...utils._numba import jit
from ._layers import block
from ._losses import output_loss_delta
from ._optimizers import STATUS_OK, step_batch
from ._passes import backward, forward
from ._penalties import finish_gradient
from ._records import TRAIN, Rows


@jit(inline="always")
def batch_loss_grad(state, net, opts, ws, data, order, i0, nb, seed, step):
    """Raw gradient (times the weight sum) of data loss + activation
    penalty of the rows ``order[i0:i0 + nb]``, into ``state.grad``.

    Returns ``(data_loss_sum, penalty_sum, sw_sum)``: the batch objective is
    ``(data_loss_sum + penalty_sum) / sw_sum`` plus the parameter penalties.
    """
    L = net.units.shape[0] - 1
    rows = Rows(data.X, order, order, i0, nb, data.sw)
    pen_sum, sw_sum = forward(
        state.theta, net, opts, ws, rows, data.csr, seed, step, TRAIN
    )
    P = block(ws.act, net, ws.bs, L, nb)
    DL = block(ws.delta, net, ws.bs, L, nb)
    data_sum = output_loss_delta(
        P, DL, data.Y, data.T, data.sw, order, i0, opts.out_kind, opts.log_eps
    )
    backward(state.theta, state.grad, net, opts, ws, rows, data.csr, seed, step, TRAIN)
    return data_sum, pen_sum, sw_sum


@jit
def run_epoch(state, net, opts, ws, data, order, seed, step, opt_step, lr):
    """One epoch; returns ``(status, sum_b loss_b * n_b, step, opt_step)``.

    ``step`` counts minibatches ever seen (the random streams' counter),
    ``opt_step`` the optimizer's own (Adam's t).
    """
    n = order.shape[0]
    acc = 0.0
    for i0 in range(0, n, ws.bs):
        nb = min(ws.bs, n - i0)
        sums = batch_loss_grad(state, net, opts, ws, data, order, i0, nb, seed, step)
        step += 1
        status, acc, opt_step = step_batch(
            state, net, opts.optim, sums, nb, opt_step, lr, acc
        )
        if status != STATUS_OK:
            return status, acc, step, opt_step
    return STATUS_OK, acc, step, opt_step


@jit
def objective(state, net, opts, ws, data, idx, seed, step):
    """Objective of the rows ``idx`` as one batch; its gradient in ``state.grad``."""
    nb = idx.shape[0]
    i0 = nb - nb  # a plain integer: a literal 0 would compile the batch again
    sums = batch_loss_grad(state, net, opts, ws, data, idx, i0, nb, seed, step)
    par = finish_gradient(state, net, sums[2], opts.optim)
    return (sums[0] + sums[1]) / sums[2] + par
