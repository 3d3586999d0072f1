"""Numba kernels of skreg's multilayer-perceptron engine.

Everything numeric about training and inference lives here; the estimators
(``_base.py``) only validate, configure and book-keep.

Flat parameter buffer ("theta")
-------------------------------
All parameters of a network with layer widths ``units = [n_0, ..., n_L]``
live in one contiguous 1-D array, in scikit-learn's ``_pack`` order: first
every weight matrix ``W_l`` of shape ``(n_l, n_{l+1})`` (row-major, at
``w_off[l]``), then every intercept ``b_l`` (at ``b_off[l]``).  The weights
form the prefix ``theta[:n_coef]`` (so L2 is "the prefix"), and the flat
vector is exactly what scipy's L-BFGS sees.  Per-layer views are
``theta[w_off[l]:w_off[l] + n_l*n_{l+1}].reshape(n_l, n_{l+1})``: no copy.
The gradient buffer and the optimizer moments share the layout.

Workspaces
----------
Per-layer activations of one minibatch are views into flat buffers, at row
offset ``bs_max * uoff[l]`` with ``uoff[l] = n_0 + ... + n_{l-1}``:

* ``H``  : activations ``h_l`` (``l = 0``: the gathered input rows; hidden
  layers: after the nonlinearity, before dropout; ``l = L``: probabilities);
* ``HT`` : dropout-masked (inverted-scaled) copies fed to the next layer;
* ``S``  : the mask scales (0 or 1/keep) so backward reuses them;
* ``Z``  : pre-activations (only kept for the KL penalty of relu units);
* ``D``  : deltas (gradient of the batch objective w.r.t. each layer's
  pre-activation; ``D[0]`` is the gradient w.r.t. the input);
* ``V``, ``DV`` : fast dropout's variances and their deltas.

Options
-------
Two small arrays configure every kernel: ``iopts`` (int64) and ``fopts``
(float64), indexed by the ``I_*`` / ``F_*`` constants below.  Adding a
regularizer means adding an index and a branch, never a new training loop.

Entry points (called from Python)
---------------------------------
* ``run_epoch(X, Y, sw, order, theta, grad, m1, m2, ref, units, uoff, w_off,
  b_off, n_coef, H, HT, S, Z, D, V, DV, KB, WB, AWA, AWT, TV, bs_max, iopts,
  fopts, seed, step, opt_step, lr) -> (status, sum_b loss_b * n_b, step, opt_step)``:
  every minibatch of ``order`` (any index array: a permutation, or a
  bootstrap sample with repeats) -- gather, forward, backward, penalties,
  optimizer update, max-norm -- in one call.
* ``loss_grad_full(theta, grad, ref, units, uoff, w_off, b_off, n_coef, X, Y,
  sw, idx, H, ..., WB, AWA, AWT, TV, iopts, fopts, seed, step) -> loss``: the same step
  on ``idx`` as one batch, gradient finished (L-BFGS, gradient tests).
* ``predict_proba_chunks`` / ``predict_proba_mc`` / ``input_gradient_chunks``.
* Inside: ``batch_loss_grad`` (one minibatch) = ``forward`` ->
  ``output_loss_delta`` -> ``backward`` (or ``fast_forward_backward``), then
  ``optimizer_update`` (finishes the gradient and steps in one pass).

Hooks for later estimators (one training loop)
----------------------------------------------
* Input perturbation (adversarial training, VAT), in ``batch_loss_grad``
  when ``iopts[I_ADVERSARIAL]`` is set: (1) ``forward``, scale the output
  deltas by alpha, ``backward(want_xgrad=True)`` -> clean gradient in
  ``grad`` and dJ/dx in ``D[0]``; (2) write ``x_adv = clip(x + eps
  sign(D[0]))`` rows into the adversarial scratch ``AWA``; (3) ``forward`` with
  ``X=XA, idx=arange, kid=idx`` (same dropout masks), deltas scaled by
  1 - alpha, ``backward`` into a second gradient buffer; add.  PGD repeats
  (2) with projections; VAT replaces the label delta with the KL delta
  ``p(x + r) - p(x)`` and finds ``r`` by power iteration on the same passes.
  ``fopts[13:]`` hold epsilon, alpha, clip.
  ``AWA`` (sized by ``Workspace``) is that option's scratch only.
* Tangent propagation (``iopts[I_TANGENT]``, scratch ``AWT``): after ``forward``, a
  forward-mode pass per tangent v: ``T_0 = v``, ``T_{l+1} = f'(z_l) * (T_l
  W_l)`` (batched matmuls on the same views); penalty ``sum ||T_L||^2``; its
  reverse pass adds into ``grad`` before ``optimizer_update``.
  Per-sample tangents come in ``TV`` (n_samples, n_tangents * n_features;
  a (1, 1) dummy when off), ``iopts[I_TANGENT]`` = n_tangents,
  ``fopts[F_TANGENT_ALPHA]`` (23; 23..31 are this option's) the strength;
  see the "tangent propagation (issue 7)" section.
* A weight-shared (convolutional) layer: a per-layer kind array beside
  ``units`` and kernel views at ``w_off[l]`` of the same flat buffer;
  ``forward``/``backward`` dispatch on the kind, masks and penalties act on
  its output rows unchanged.

Randomness
----------
Dropout masks come from a counter-based hash (splitmix64) of
``(seed, step, sample index, layer, unit)``; a unit is kept iff the top 16
bits of its hash fall below ``round(65536 * keep)``.  No global RNG state,
so results are bit-identical across threads and ``n_jobs``.
"""

import math

import numpy as np

from ..utils._numba import jit

# --- option indices (keep in sync with _engine.py) ---------------------------
I_ACT = 0  # hidden activation code
I_OUT = 1  # output: 0 logistic (binary), 1 softmax
I_SOLVER = 2  # 0 sgd, 1 adam
I_NESTEROV = 3
I_PENALTY = 4  # 0 none, 1 l1, 2 student_t, 3 kl
I_DROPOUT = 5  # 0 none, 1 bernoulli, 2 fast
I_TIE = 6
I_MAXNORM = 7
I_ADVERSARIAL = 8  # input perturbation: ADV_* method (issue 5)
I_TANGENT = 9  # reserved: tangent-propagation hook (issue 7)
N_IOPTS = 16

F_ALPHA = 0
F_MOMENTUM = 1
F_BETA1 = 2
F_BETA2 = 3
F_EPSILON = 4
F_PEN_ALPHA = 5
F_STUDENT_GAMMA = 6
F_SPARSITY_TARGET = 7
F_TIE_ALPHA = 8
F_MAX_NORM = 9
F_KEEP_INPUT = 10
F_KEEP_HIDDEN = 11
F_LOG_EPS = 12  # probability clip of the log loss (dtype eps, as sklearn)
# 13..31 reserved for adversarial (epsilon, weight, clip) and tangent options
N_FOPTS = 32

ACT_IDENTITY = 0
ACT_LOGISTIC = 1
ACT_TANH = 2
ACT_RELU = 3

PEN_NONE = 0
PEN_L1 = 1
PEN_STUDENT_T = 2
PEN_KL = 3

DROP_NONE = 0
DROP_BERNOULLI = 1
DROP_FAST = 2

STATUS_OK = 0
STATUS_NONFINITE = 1

_KL_CLIP = 1e-6
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT_2 = math.sqrt(2.0)
_PI_8 = math.pi / 8.0


# --- counter-based random numbers ---------------------------------------------
@jit
def splitmix64(x):
    """One splitmix64 step of a uint64 (Steele, Lea, Flood 2014)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@jit
def _row_key(seed, step, sample):
    """Hash key of one (seed, step, sample) triple."""
    k = splitmix64(np.uint64(seed) ^ splitmix64(np.uint64(step)))
    return splitmix64(k ^ np.uint64(sample))


@jit
def keep_threshold(keep):
    """16-bit threshold of a keep probability and its exact inverse scale."""
    thr = np.uint64(int(round(keep * 65536.0)))
    if thr == np.uint64(0):
        return thr, 0.0
    return thr, 65536.0 / float(thr)


@jit
def _unit_bits(key, j):
    """16 random bits of unit ``j``: the top of splitmix64(key + j * golden).

    Written per element without branches so LLVM vectorises it (64-bit
    lanes; AVX-512DQ multiplies them natively).
    """
    x = key + np.uint64(j) * np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return x >> np.uint64(48)


@jit
def _keep_scales(s, key, thr, scale):
    """Mask scales of one row of one layer: ``s[j]`` in {0, scale}.

    ``key`` identifies (seed, step, sample, layer); unit j keeps iff its
    16 bits (:func:`_unit_bits`) are below ``thr``.  ``scale`` should have
    the dtype of ``s`` (float32 stays float32).
    """
    for j in range(s.shape[0]):
        s[j] = scale if _unit_bits(key, j) < thr else 0.0


@jit
def _masked_copy(dst, src, key, thr, scale):
    """``dst = src * s`` with the scales of :func:`_keep_scales` (not stored)."""
    for j in range(dst.shape[0]):
        dst[j] = src[j] * scale if _unit_bits(key, j) < thr else 0.0


@jit
def _layer_key(seed, step, sample, layer):
    """Hash key of one (seed, step, sample, layer)."""
    return splitmix64(
        _row_key(seed, step, sample)
        ^ (np.uint64(layer + 1) * np.uint64(0x9E3779B97F4A7C15))
    )


@jit
def _view(buf, off, rows, cols):
    return buf[off : off + rows * cols].reshape((rows, cols))


# --- elementwise pieces ---------------------------------------------------------
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10


@jit
def _exp_row(x, out, kb):
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
def _tanh_row(h, kb, e):
    """``h = tanh(h)`` in place: ``(1 - e)/(1 + e)``, ``e = exp(-2|z|)``, and
    its odd Taylor series below |z| = 0.05 (no cancellation); rel. err. < 1e-15."""
    n = h.shape[0]
    for j in range(n):
        e[j] = -2.0 * abs(h[j])
    _exp_row(e[:n], e[:n], kb)
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
def _logistic_row(h, kb, e):
    """``h = 1 / (1 + exp(-h))`` in place, vectorised exp."""
    n = h.shape[0]
    for j in range(n):
        e[j] = -h[j]
    _exp_row(e[:n], e[:n], kb)
    for j in range(n):
        h[j] = 1.0 / (1.0 + e[j])


@jit
def _bias_activation(Hv, b, act, Zv, keep_pre):
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
                _tanh_row(hr, kb, e)
            else:
                _logistic_row(hr, kb, e)
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


@jit
def _bias_output(Pv, b, out_kind, keep_logit):
    """Output probabilities, or (``keep_logit``, training) the logits: the
    loss then converts them itself, exactly (see output_loss_delta)."""
    rows, cols = Pv.shape
    if keep_logit:
        for r in range(rows):
            for k in range(cols):
                Pv[r, k] += b[k]
        return
    for r in range(rows):
        if out_kind == 0:
            z = Pv[r, 0] + b[0]
            Pv[r, 0] = 1.0 / (1.0 + np.exp(-z))
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


@jit
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@jit
def _firing_rate(h, z, act):
    """Unit 'firing rate' in (0, 1) used by the KL sparsity penalty."""
    if act == ACT_LOGISTIC:
        return h
    if act == ACT_TANH:
        return 0.5 * (1.0 + h)
    return _sigmoid(z)  # relu (z = pre-activation), identity (z = h)


@jit
def _penalty_forward(Hv, Zv, sw, idx, i0, act, pen, fopts, kb, sw_sum):
    """Value of the activation penalty of one hidden layer, times sw_sum."""
    rows, cols = Hv.shape
    pa = fopts[F_PEN_ALPHA]
    total = 0.0
    if pen == PEN_L1:
        for r in range(rows):
            w = sw[idx[i0 + r]]
            acc = 0.0
            for j in range(cols):
                acc += abs(Hv[r, j])
            total += w * acc
        return pa * total
    if pen == PEN_STUDENT_T:
        gam = fopts[F_STUDENT_GAMMA]
        for r in range(rows):
            w = sw[idx[i0 + r]]
            acc = 0.0
            for j in range(cols):
                h = Hv[r, j]
                acc += math.log1p(gam * h * h)
            total += w * acc
        return pa * total
    # KL(rho || rho_hat_j), rho_hat_j = weighted batch mean of the firing rate
    rho = fopts[F_SPARSITY_TARGET]
    for j in range(cols):
        kb[j] = 0.0
    for r in range(rows):
        w = sw[idx[i0 + r]]
        for j in range(cols):
            h = Hv[r, j]
            z = Zv[r, j] if act == ACT_RELU else h
            kb[j] += w * _firing_rate(h, z, act)
    inv = 1.0 / sw_sum if sw_sum > 0 else 0.0
    for j in range(cols):
        q = kb[j] * inv
        q = min(max(q, _KL_CLIP), 1.0 - _KL_CLIP)
        kb[j] = q
        total += rho * math.log(rho / q) + (1.0 - rho) * math.log(
            (1.0 - rho) / (1.0 - q)
        )
    return pa * sw_sum * total


@jit
def _penalty_backward_h(Gv, Hv, sw, idx, i0, act, pen, fopts, kb):
    """Add d(penalty * sw_sum)/dh to ``Gv`` (terms that act through h)."""
    rows, cols = Hv.shape
    pa = fopts[F_PEN_ALPHA]
    if pen == PEN_L1:
        for r in range(rows):
            w = pa * sw[idx[i0 + r]]
            for j in range(cols):
                h = Hv[r, j]
                if h > 0:
                    Gv[r, j] += w
                elif h < 0:
                    Gv[r, j] -= w
    elif pen == PEN_STUDENT_T:
        gam = fopts[F_STUDENT_GAMMA]
        for r in range(rows):
            w = pa * sw[idx[i0 + r]]
            for j in range(cols):
                h = Hv[r, j]
                Gv[r, j] += w * 2.0 * gam * h / (1.0 + gam * h * h)
    elif pen == PEN_KL and (act == ACT_LOGISTIC or act == ACT_TANH):
        rho = fopts[F_SPARSITY_TARGET]
        dr = 1.0 if act == ACT_LOGISTIC else 0.5
        for r in range(rows):
            w = pa * sw[idx[i0 + r]] * dr
            for j in range(cols):
                q = kb[j]
                Gv[r, j] += w * (-rho / q + (1.0 - rho) / (1.0 - q))


@jit
def _penalty_backward_z(Gv, Hv, Zv, sw, idx, i0, act, fopts, kb):
    """KL term of relu/identity units, which acts through sigmoid(z)."""
    rows, cols = Hv.shape
    pa = fopts[F_PEN_ALPHA]
    rho = fopts[F_SPARSITY_TARGET]
    for r in range(rows):
        w = pa * sw[idx[i0 + r]]
        for j in range(cols):
            z = Zv[r, j] if act == ACT_RELU else Hv[r, j]
            s = _sigmoid(z)
            q = kb[j]
            Gv[r, j] += w * (-rho / q + (1.0 - rho) / (1.0 - q)) * s * (1.0 - s)


@jit
def _activation_derivative(Gv, Hv, act):
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


# --- forward / backward of one minibatch (Bernoulli or no dropout) ------------
@jit
def forward(
    theta,
    units,
    uoff,
    w_off,
    b_off,
    X,
    idx,
    kid,
    i0,
    nb,
    sw,
    H,
    HT,
    S,
    Z,
    KB,
    bs_max,
    iopts,
    fopts,
    seed,
    step,
    with_penalty,
):
    """Forward pass of rows ``idx[i0:i0+nb]`` of ``X``.

    ``with_penalty`` (training): activation penalties are evaluated and a
    single logistic output keeps its logit for :func:`output_loss_delta`;
    otherwise the last view holds probabilities.

    Dropout masks of row ``r`` are keyed by ``(seed, step, kid[i0 + r])``
    (training: the sample's index in the training set; MC inference: a hash
    of the row's content, so a query's masks do not depend on its position).

    Returns ``(penalty_value * sw_sum, sw_sum)``; probabilities are left in
    the last ``H`` view.
    """
    L = units.shape[0] - 1
    act = iopts[I_ACT]
    pen = iopts[I_PENALTY] if with_penalty else PEN_NONE
    drop = iopts[I_DROPOUT] == DROP_BERNOULLI
    thr_in, sc_in64 = keep_threshold(fopts[F_KEEP_INPUT])
    thr_hid, sc_hid64 = keep_threshold(fopts[F_KEEP_HIDDEN])
    scl = np.empty(2, dtype=theta.dtype)  # scales in the model dtype
    scl[0] = sc_in64
    scl[1] = sc_hid64
    sc_in = scl[0]
    sc_hid = scl[1]
    drop_in = drop and fopts[F_KEEP_INPUT] < 1.0
    drop_hid = drop and fopts[F_KEEP_HIDDEN] < 1.0
    keep_pre = pen == PEN_KL and act == ACT_RELU
    relu_fused = act == ACT_RELU and iopts[I_PENALTY] == PEN_NONE

    n0 = units[0]
    sw_sum = 0.0
    if drop_in:
        # masked rows go straight from X to HT[0]; neither the unmasked copy
        # nor the scales are stored (W_0's gradient uses the masked input;
        # backward re-derives the scales only for an input gradient)
        HT0 = _view(HT, 0, nb, n0)
        for r in range(nb):
            i = idx[i0 + r]
            sw_sum += sw[i]
            _masked_copy(
                HT0[r], X[i], _layer_key(seed, step, kid[i0 + r], 0), thr_in, sc_in
            )
    else:
        H0 = _view(H, 0, nb, n0)
        for r in range(nb):
            i = idx[i0 + r]
            sw_sum += sw[i]
            for j in range(n0):
                H0[r, j] = X[i, j]

    pen_sum = 0.0
    for l in range(L):
        nin = units[l]
        nout = units[l + 1]
        W = _view(theta, w_off[l], nin, nout)
        b = theta[b_off[l] : b_off[l] + nout]
        dropped = drop_in if l == 0 else drop_hid
        if dropped:
            Ain = _view(HT, bs_max * uoff[l], nb, nin)
        else:
            Ain = _view(H, bs_max * uoff[l], nb, nin)
        Hout = _view(H, bs_max * uoff[l + 1], nb, nout)
        np.dot(Ain, W, Hout)
        if l < L - 1:
            Zv = _view(Z, bs_max * uoff[l + 1], nb, nout) if keep_pre else Hout
            _bias_activation(Hout, b, act, Zv, keep_pre)
            if pen != PEN_NONE:
                kb = KB[uoff[l + 1] : uoff[l + 1] + nout]
                pen_sum += _penalty_forward(
                    Hout, Zv, sw, idx, i0, act, pen, fopts, kb, sw_sum
                )
            if drop_hid and relu_fused:
                # relu without penalty: backward reads the mask off HT > 0
                HTl = _view(HT, bs_max * uoff[l + 1], nb, nout)
                for r in range(nb):
                    _masked_copy(
                        HTl[r],
                        Hout[r],
                        _layer_key(seed, step, kid[i0 + r], l + 1),
                        thr_hid,
                        sc_hid,
                    )
            elif drop_hid:
                HTl = _view(HT, bs_max * uoff[l + 1], nb, nout)
                Sl = _view(S, bs_max * uoff[l + 1], nb, nout)
                for r in range(nb):
                    sl = Sl[r]
                    _keep_scales(
                        sl, _layer_key(seed, step, kid[i0 + r], l + 1), thr_hid, sc_hid
                    )
                    for j in range(nout):
                        HTl[r, j] = Hout[r, j] * sl[j]
        else:
            _bias_output(Hout, b, iopts[I_OUT], with_penalty)
    return pen_sum, sw_sum


@jit
def _softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@jit
def binary_log_loss(z, y, eps):
    """Log loss of one logistic output, exactly, from its logit (softplus).

    scikit-learn evaluates ``-log(clip(p, eps, 1 - eps))``; the two agree
    to rounding unless a prediction is worse than ``p = eps``, where the
    clipped value would no longer match the gradient (and ``1 - p`` loses
    digits long before).
    """
    return _softplus(-z) if y == 1 else _softplus(z)


@jit
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


@jit
def output_loss_delta(P, DL, Y, sw, idx, i0, out_kind, eps):
    """Weighted log loss sum of a batch; ``DL = (P - onehot) * sw``.

    ``P`` holds the logits on entry (a training forward pass) and the
    probabilities on exit.
    """
    nb, nout = P.shape
    total = 0.0
    for r in range(nb):
        i = idx[i0 + r]
        y = Y[i]
        w = sw[i]
        if out_kind == 0:
            z = P[r, 0]
            p = 1.0 / (1.0 + math.exp(-z))
            P[r, 0] = p
            loss = binary_log_loss(z, y, eps)
            DL[r, 0] = (p - y) * w
        else:
            loss = softmax_row_loss(P, r, y)
            for k in range(nout):
                DL[r, k] = P[r, k] * w
            DL[r, y] -= w
        total += w * loss
    return total


@jit
def backward(
    theta,
    grad,
    units,
    uoff,
    w_off,
    b_off,
    idx,
    kid,
    i0,
    nb,
    sw,
    H,
    HT,
    S,
    Z,
    D,
    KB,
    bs_max,
    iopts,
    fopts,
    seed,
    step,
    with_penalty,
    want_wgrad,
    want_xgrad,
):
    """Back-propagate the output deltas left in the last ``D`` view.

    Writes the raw (sample-weighted, not yet divided by sw_sum) gradient of
    every weight and intercept into ``grad`` if ``want_wgrad``; leaves the
    gradient w.r.t. the input rows in ``D[0]`` if ``want_xgrad``.
    """
    L = units.shape[0] - 1
    act = iopts[I_ACT]
    pen = iopts[I_PENALTY] if with_penalty else PEN_NONE
    drop = iopts[I_DROPOUT] == DROP_BERNOULLI
    drop_in = drop and fopts[F_KEEP_INPUT] < 1.0
    drop_hid = drop and fopts[F_KEEP_HIDDEN] < 1.0
    relu_fused = act == ACT_RELU and iopts[I_PENALTY] == PEN_NONE
    for l in range(L - 1, -1, -1):
        nin = units[l]
        nout = units[l + 1]
        W = _view(theta, w_off[l], nin, nout)
        Dout = _view(D, bs_max * uoff[l + 1], nb, nout)
        dropped = drop_in if l == 0 else drop_hid
        if want_wgrad:
            if dropped:
                Ain = _view(HT, bs_max * uoff[l], nb, nin)
            else:
                Ain = _view(H, bs_max * uoff[l], nb, nin)
            gW = _view(grad, w_off[l], nin, nout)
            np.dot(Ain.T, Dout, gW)
            gb = grad[b_off[l] : b_off[l] + nout]
            gb[:] = 0.0
            for r in range(nb):
                for j in range(nout):
                    gb[j] += Dout[r, j]
        if l == 0 and not want_xgrad:
            break
        Din = _view(D, bs_max * uoff[l], nb, nin)
        np.dot(Dout, W.T, Din)
        if dropped and l > 0 and relu_fused:
            # kept and active <=> HT > 0: mask scale and relu derivative at once
            HTl = _view(HT, bs_max * uoff[l], nb, nin)
            scl = np.empty(1, dtype=theta.dtype)
            scl[0] = keep_threshold(fopts[F_KEEP_HIDDEN])[1]
            sc_hid = scl[0]
            for r in range(nb):
                for j in range(nin):
                    Din[r, j] = Din[r, j] * sc_hid if HTl[r, j] > 0 else 0.0
            continue
        if dropped:
            Sl = _view(S, bs_max * uoff[l], nb, nin)
            if l == 0:  # input scales were not stored: same hash, same scales
                thr_in, sc_in64 = keep_threshold(fopts[F_KEEP_INPUT])
                scl = np.empty(1, dtype=theta.dtype)
                scl[0] = sc_in64
                for r in range(nb):
                    _keep_scales(
                        Sl[r], _layer_key(seed, step, kid[i0 + r], 0), thr_in, scl[0]
                    )
            for r in range(nb):
                for j in range(nin):
                    Din[r, j] *= Sl[r, j]
        if l > 0:
            Hl = _view(H, bs_max * uoff[l], nb, nin)
            kb = KB[uoff[l] : uoff[l] + nin]
            if pen != PEN_NONE:
                _penalty_backward_h(Din, Hl, sw, idx, i0, act, pen, fopts, kb)
            _activation_derivative(Din, Hl, act)
            if pen == PEN_KL and (act == ACT_RELU or act == ACT_IDENTITY):
                Zl = _view(Z, bs_max * uoff[l], nb, nin) if act == ACT_RELU else Hl
                _penalty_backward_z(Din, Hl, Zl, sw, idx, i0, act, fopts, kb)


# --- fast dropout (Wang & Manning 2013) -----------------------------------------
@jit
def _phi(x):
    return math.exp(-0.5 * x * x) / _SQRT_2PI


@jit
def _Phi(x):
    return 0.5 * math.erfc(-x / _SQRT_2)


@jit
def _gauss_moments(mu, var, act):
    """Mean and variance of act(z), z ~ N(mu, var), and their partials.

    Returns (m, v, dm/dmu, dm/dvar, dv/dmu, dv/dvar).
    """
    mu = float(mu)  # float64 math: no float32 underflow into denormals
    var = float(var)
    if act == ACT_IDENTITY:
        return mu, var, 1.0, 0.0, 0.0, 1.0
    if act == ACT_RELU:
        var = max(var, 1e-12)
        sd = math.sqrt(var)
        a = mu / sd
        # saturated units: Phi(a), phi(a) below 1e-14 -- skip erfc/exp
        if a > 8.0:
            return mu, var, 1.0, 0.0, 0.0, 1.0
        if a < -8.0:
            return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        ph = _phi(a)
        Ph = _Phi(a)
        m = mu * Ph + sd * ph
        e2 = (mu * mu + var) * Ph + mu * sd * ph
        v = max(e2 - m * m, 0.0)
        dm_dmu = Ph
        dm_dvar = ph / (2.0 * sd)
        de2_dmu = 2.0 * mu * Ph + 2.0 * sd * ph
        de2_dvar = Ph
        dv_dmu = de2_dmu - 2.0 * m * dm_dmu
        dv_dvar = de2_dvar - 2.0 * m * dm_dvar
        if e2 - m * m <= 0.0:
            dv_dmu = 0.0
            dv_dvar = 0.0
        return m, v, dm_dmu, dm_dvar, dv_dmu, dv_dvar
    # logistic or tanh (tanh(z) = 2 sigmoid(2z) - 1): probit approximations
    c = 1.0
    if act == ACT_TANH:
        c = 2.0
    mu_c = c * mu
    var_c = c * c * var
    k1 = 1.0 / math.sqrt(1.0 + _PI_8 * var_c)
    s1 = _sigmoid(mu_c * k1)
    dk1 = -0.5 * _PI_8 * k1 * k1 * k1
    ds1_dmu = s1 * (1.0 - s1) * k1
    ds1_dvar = s1 * (1.0 - s1) * mu_c * dk1
    # variance: delta method with the probit-smoothed slope g = dE/dmu,
    # v = g^2 var (exact to first order in var, saturates for large var)
    g = s1 * (1.0 - s1) * k1
    dg_dmu = (1.0 - 2.0 * s1) * ds1_dmu * k1
    dg_dvar = (1.0 - 2.0 * s1) * ds1_dvar * k1 + s1 * (1.0 - s1) * dk1
    v = g * g * var_c
    dv_dmu = 2.0 * g * var_c * dg_dmu
    dv_dvar = g * g + 2.0 * g * var_c * dg_dvar
    if act == ACT_TANH:
        # m = 2 s1 - 1, v = 4 var(s1); chain through mu_c = 2 mu, var_c = 4 var
        return (
            2.0 * s1 - 1.0,
            4.0 * v,
            2.0 * ds1_dmu * 2.0,
            2.0 * ds1_dvar * 4.0,
            4.0 * dv_dmu * 2.0,
            4.0 * dv_dvar * 4.0,
        )
    return s1, v, ds1_dmu, ds1_dvar, dv_dmu, dv_dvar


@jit
def fast_forward_backward(
    theta,
    grad,
    units,
    uoff,
    w_off,
    b_off,
    X,
    Y,
    idx,
    i0,
    nb,
    sw,
    H,
    HT,
    S,
    Z,
    D,
    V,
    DV,
    KB,
    WB,
    bs_max,
    iopts,
    fopts,
    want_wgrad,
):
    """Fast dropout: expected loss under Gaussian pre-activations.

    With inverted dropout on the inputs of layer l (keep probability p), a
    unit's input ``a`` (mean m, variance s, independent of its mask) becomes
    ``m a / p`` with mean m and variance ``q = s / p + m^2 (1 - p) / p``, so
    the pre-activation ``z = sum_i W_ij (mask_i a_i / p) + b_j`` has mean
    ``m W + b`` and variance ``q W^2`` (independence across units, the
    usual fast-dropout assumption).  Hidden nonlinearities map (mean, var)
    to (mean, var) by ``_gauss_moments``; the output loss is the
    second-order (delta-method) expectation
    ``E[l(z)] ~= l(mu) + 0.5 sum_k var_k p_k (1 - p_k)``.

    Returns ``(data_loss_sum, 0.0, sw_sum)``; raw gradient into ``grad``.
    Workspaces: ``H`` means, ``V`` variances, ``HT`` the q's, ``S`` the
    partials of the moments, ``Z`` the output variances, ``D``/``DV`` the
    mean/variance deltas.
    """
    L = units.shape[0] - 1
    act = iopts[I_ACT]
    out_kind = iopts[I_OUT]
    eps = fopts[F_LOG_EPS]
    p_in = fopts[F_KEEP_INPUT]
    p_hid = fopts[F_KEEP_HIDDEN]
    n0 = units[0]
    H0 = _view(H, 0, nb, n0)
    V0 = _view(V, 0, nb, n0)
    sw_sum = 0.0
    for r in range(nb):
        i = idx[i0 + r]
        sw_sum += sw[i]
        for j in range(n0):
            H0[r, j] = X[i, j]
            V0[r, j] = 0.0
    # S holds 4 partials per hidden unit: rows of width 4 * n_l (offset 4*...)
    for l in range(L):
        nin = units[l]
        nout = units[l + 1]
        p = p_in if l == 0 else p_hid
        W = _view(theta, w_off[l], nin, nout)
        b = theta[b_off[l] : b_off[l] + nout]
        M = _view(H, bs_max * uoff[l], nb, nin)
        Vin = _view(V, bs_max * uoff[l], nb, nin)
        Q = _view(HT, bs_max * uoff[l], nb, nin)
        for r in range(nb):
            for j in range(nin):
                m = M[r, j]
                Q[r, j] = Vin[r, j] / p + m * m * (1.0 - p) / p
        Mout = _view(H, bs_max * uoff[l + 1], nb, nout)
        Vout = _view(V, bs_max * uoff[l + 1], nb, nout)
        np.dot(M, W, Mout)
        Wsq = _view(WB, 0, nin, nout)
        for a in range(nin):
            for c in range(nout):
                Wsq[a, c] = W[a, c] * W[a, c]
        np.dot(Q, Wsq, Vout)
        for r in range(nb):
            for j in range(nout):
                Mout[r, j] += b[j]
        if l < L - 1:
            P4 = _view(S, 4 * bs_max * uoff[l + 1], nb, 4 * nout)
            for r in range(nb):
                for j in range(nout):
                    m, v, a1, a2, a3, a4 = _gauss_moments(Mout[r, j], Vout[r, j], act)
                    Mout[r, j] = m
                    Vout[r, j] = v
                    P4[r, 4 * j] = a1
                    P4[r, 4 * j + 1] = a2
                    P4[r, 4 * j + 2] = a3
                    P4[r, 4 * j + 3] = a4
    # output layer: Mout holds logits mean, Vout their variances
    nout = units[L]
    Mo = _view(H, bs_max * uoff[L], nb, nout)
    Vo = _view(V, bs_max * uoff[L], nb, nout)
    Do = _view(D, bs_max * uoff[L], nb, nout)
    DVo = _view(DV, bs_max * uoff[L], nb, nout)
    total = 0.0
    for r in range(nb):
        i = idx[i0 + r]
        y = Y[i]
        w = sw[i]
        if out_kind == 0:
            z = Mo[r, 0]
            pz = _sigmoid(z)
            base = binary_log_loss(z, y, eps)
            c2 = pz * (1.0 - pz)
            total += w * (base + 0.5 * Vo[r, 0] * c2)
            # d/dz [0.5 var p(1-p)] = 0.5 var (1 - 2p) p (1 - p)
            Do[r, 0] = w * ((pz - y) + 0.5 * Vo[r, 0] * (1.0 - 2.0 * pz) * c2)
            DVo[r, 0] = w * 0.5 * c2
        else:
            base = softmax_row_loss(Mo, r, y)
            corr = 0.0
            sacc = 0.0
            for k in range(nout):
                pk = Mo[r, k]
                corr += Vo[r, k] * pk * (1.0 - pk)
                sacc += Vo[r, k] * (1.0 - 2.0 * pk) * pk
            total += w * (base + 0.5 * corr)
            for k in range(nout):
                pk = Mo[r, k]
                g = pk - (1.0 if k == y else 0.0)
                g += 0.5 * (Vo[r, k] * (1.0 - 2.0 * pk) * pk - pk * sacc)
                Do[r, k] = w * g
                DVo[r, k] = w * 0.5 * pk * (1.0 - pk)
    # backward
    for l in range(L - 1, -1, -1):
        nin = units[l]
        nout = units[l + 1]
        p = p_in if l == 0 else p_hid
        W = _view(theta, w_off[l], nin, nout)
        M = _view(H, bs_max * uoff[l], nb, nin)
        Q = _view(HT, bs_max * uoff[l], nb, nin)
        Dm = _view(D, bs_max * uoff[l + 1], nb, nout)
        Dv = _view(DV, bs_max * uoff[l + 1], nb, nout)
        if want_wgrad:
            gW = _view(grad, w_off[l], nin, nout)
            np.dot(M.T, Dm, gW)
            tmp = _view(WB, 0, nin, nout)
            np.dot(Q.T, Dv, tmp)
            for a in range(nin):
                for c in range(nout):
                    gW[a, c] += 2.0 * W[a, c] * tmp[a, c]
            gb = grad[b_off[l] : b_off[l] + nout]
            gb[:] = 0.0
            for r in range(nb):
                for j in range(nout):
                    gb[j] += Dm[r, j]
        if l == 0:
            break
        Wsq = _view(WB, 0, nin, nout)
        for a in range(nin):
            for c in range(nout):
                Wsq[a, c] = W[a, c] * W[a, c]
        Dm_in = _view(D, bs_max * uoff[l], nb, nin)
        Dv_in = _view(DV, bs_max * uoff[l], nb, nin)
        np.dot(Dm, W.T, Dm_in)
        np.dot(Dv, Wsq.T, Dv_in)  # = dq
        P4 = _view(S, 4 * bs_max * uoff[l], nb, 4 * nin)
        for r in range(nb):
            for j in range(nin):
                dq = Dv_in[r, j]
                gm = Dm_in[r, j] + dq * 2.0 * M[r, j] * (1.0 - p) / p
                gv = dq / p
                # through the nonlinearity's moments: (m, v) = f(mu, var)
                Dm_in[r, j] = gm * P4[r, 4 * j] + gv * P4[r, 4 * j + 2]
                Dv_in[r, j] = gm * P4[r, 4 * j + 1] + gv * P4[r, 4 * j + 3]
    return total, 0.0, sw_sum


# --- tangent propagation (issue 7) ---------------------------------------------
# Option: iopts[I_TANGENT] = n_tangents (0: off); fopts[F_TANGENT_ALPHA].
# Per-sample tangents arrive in TV (n_samples, n_tangents * n_features);
# scratch lives in AWT (sized by tangent_scratch_size).  fopts 23..31 are
# this option's; 13..22 belong to adversarial training.
F_TANGENT_ALPHA = 23
F_TANGENT_PROBA = 24  # 1.0: penalise the probabilities' derivatives, 0: logits'
F_TANGENT_SAMPLED = 25  # 1.0: one random combination of the tangents per step
_TANGENT_STREAM = 1 << 20  # "layer" id of the tangent signs' hash stream


@jit
def _tangent_rows(iopts, fopts):
    """Tangent rows per sample in the pass: all tangents, or one random
    combination of them (``fopts[F_TANGENT_SAMPLED]``)."""
    return 1 if fopts[F_TANGENT_SAMPLED] != 0.0 else iopts[I_TANGENT]


@jit
def _tangent_offsets(units, bs, k):
    """Offsets (in AWT) of the tangent pass's buffers; the last is the size.

    Returns ``(ta, u, fp, fpp, ga, gb, za, zb, wt, gr, sc0, size)``:
    ``ta`` tangent inputs of every layer (nb*k rows, row ``r*k + t``), ``u``
    their products with ``W_l``, ``fp``/``fpp`` the (dropout-scaled) first
    and second activation derivatives of every hidden layer (nb rows),
    ``ga``/``gb`` ping-pong tangent deltas, ``za``/``zb`` ping-pong primal
    deltas, ``wt`` a weight-shaped temporary, ``gr`` the penalty's gradient
    (parameter layout), ``sc0`` one row of input dropout scales.
    """
    L = units.shape[0] - 1
    below = 0
    above = 0
    wmax = 1
    pmax = 1
    n_params = 0
    for l in range(L):
        below += units[l]
        above += units[l + 1]
        wmax = max(wmax, units[l + 1], units[l])
        pmax = max(pmax, units[l] * units[l + 1])
        n_params += units[l] * units[l + 1] + units[l + 1]
    hid = below - units[0]
    ta = 0
    u = ta + bs * k * below
    fp = u + bs * k * above
    fpp = fp + bs * hid
    ga = fpp + bs * hid
    gb = ga + bs * k * wmax
    za = gb + bs * k * wmax
    zb = za + bs * wmax
    wt = zb + bs * wmax
    gr = wt + pmax
    sc0 = gr + n_params
    size = sc0 + units[0]
    return ta, u, fp, fpp, ga, gb, za, zb, wt, gr, sc0, size


@jit
def tangent_scratch_size(units, bs, k):
    """Length of the AWT buffer the tangent pass needs."""
    return _tangent_offsets(units, bs, k)[-1]


@jit
def _layer_offset(units, l, rows):
    """Offset of layer ``l``'s block inside a buffer of per-layer blocks of
    ``rows`` rows each (layers ``0..l-1`` before it)."""
    off = 0
    for m in range(l):
        off += rows * units[m]
    return off


@jit
def tangent_forward(
    theta,
    units,
    uoff,
    w_off,
    TV,
    idx,
    kid,
    i0,
    nb,
    sw,
    H,
    HT,
    S,
    AWT,
    bs_max,
    iopts,
    fopts,
    seed,
    step,
):
    """Forward-mode (Jacobian-vector) pass along every sample's tangents.

    With ``T_0 = m_0 * v`` (the input dropout mask, if any), per layer
    ``U_l = T_l W_l`` and, for hidden layers, ``T_{l+1} = m_{l+1} f'(z_l)
    U_l`` (the primal pass's masks and pre-activations); ``J = U_{L-1}`` is
    the directional derivative of the logits along ``v``.  All tangents of
    a batch are stacked (row ``r * k + t``), so each layer is one matmul.

    Returns the raw penalty ``alpha sum_r sw_r sum_t ||J_{r,t}||^2`` and
    leaves ``2 alpha sw_r J_{r,t}`` (its gradient w.r.t. ``J``) in the
    ``ga`` buffer for :func:`tangent_backward`.
    """
    L = units.shape[0] - 1
    k = _tangent_rows(iopts, fopts)
    act = iopts[I_ACT]
    alpha = fopts[F_TANGENT_ALPHA]
    drop = iopts[I_DROPOUT] == DROP_BERNOULLI
    drop_in = drop and fopts[F_KEEP_INPUT] < 1.0
    drop_hid = drop and fopts[F_KEEP_HIDDEN] < 1.0
    relu_fused = act == ACT_RELU and iopts[I_PENALTY] == PEN_NONE
    ta, u, fp, fpp, ga, gb, za, zb, wt, gr, sc0, size = _tangent_offsets(
        units, bs_max, k
    )
    n0 = units[0]
    nk = nb * k
    TA0 = _view(AWT, ta, nk, n0)
    s0 = AWT[sc0 : sc0 + n0]
    s0[:] = 1.0
    thr_in, sc_in64 = keep_threshold(fopts[F_KEEP_INPUT])
    scl = np.empty(1, dtype=theta.dtype)
    scl[0] = sc_in64
    k_all = iopts[I_TANGENT]
    for r in range(nb):
        i = idx[i0 + r]
        if drop_in:
            _keep_scales(s0, _layer_key(seed, step, kid[i0 + r], 0), thr_in, scl[0])
        if k == k_all:
            for t in range(k):
                row = TA0[r * k + t]
                base = t * n0
                for j in range(n0):
                    row[j] = TV[i, base + j] * s0[j]
        else:
            # one Rademacher combination sum_t e_t v_t of the sample's
            # tangents: E ||J sum_t e_t v_t||^2 = sum_t ||J v_t||^2, and
            # every penalty here is a quadratic form in J v
            key = _layer_key(seed, step, kid[i0 + r], _TANGENT_STREAM)
            row = TA0[r]
            row[:] = 0.0
            for t in range(k_all):
                e = 1.0 if (_unit_bits(key, t) & np.uint64(1)) else -1.0
                base = t * n0
                for j in range(n0):
                    row[j] += e * TV[i, base + j]
            for j in range(n0):
                row[j] *= s0[j]
    sc_hid = np.empty(1, dtype=theta.dtype)
    sc_hid[0] = keep_threshold(fopts[F_KEEP_HIDDEN])[1]
    for l in range(L):
        nin = units[l]
        nout = units[l + 1]
        W = _view(theta, w_off[l], nin, nout)
        TA = _view(AWT, ta + _layer_offset(units, l, nk), nk, nin)
        U = _view(AWT, u + _layer_offset(units[1:], l, nk), nk, nout)
        np.dot(TA, W, U)
        if l == L - 1:
            break
        # derivatives of the (masked) hidden output w.r.t. its pre-activation
        Hl = _view(H, bs_max * uoff[l + 1], nb, nout)
        hoff = _layer_offset(units[1:], l, nb)
        FP = _view(AWT, fp + hoff, nb, nout)
        FPP = _view(AWT, fpp + hoff, nb, nout)
        for r in range(nb):
            for j in range(nout):
                h = Hl[r, j]
                if act == ACT_RELU:
                    d1 = 1.0 if h > 0 else 0.0
                    d2 = 0.0
                elif act == ACT_TANH:
                    d1 = 1.0 - h * h
                    d2 = -2.0 * h * d1
                elif act == ACT_LOGISTIC:
                    d1 = h * (1.0 - h)
                    d2 = d1 * (1.0 - 2.0 * h)
                else:
                    d1 = 1.0
                    d2 = 0.0
                FP[r, j] = d1
                FPP[r, j] = d2
        if drop_hid:
            if relu_fused:
                # kept and active <=> HT > 0 (scales were not stored)
                HTl = _view(HT, bs_max * uoff[l + 1], nb, nout)
                for r in range(nb):
                    for j in range(nout):
                        FP[r, j] = sc_hid[0] if HTl[r, j] > 0 else 0.0
            else:
                Sl = _view(S, bs_max * uoff[l + 1], nb, nout)
                for r in range(nb):
                    for j in range(nout):
                        FP[r, j] *= Sl[r, j]
                        FPP[r, j] *= Sl[r, j]
        TN = _view(AWT, ta + _layer_offset(units, l + 1, nk), nk, nout)
        for r in range(nb):
            fr = FP[r]
            for t in range(k):
                a = r * k + t
                for j in range(nout):
                    TN[a, j] = fr[j] * U[a, j]
    nout = units[L]
    J = _view(AWT, u + _layer_offset(units[1:], L - 1, nk), nk, nout)
    G = _view(AWT, ga, nk, nout)
    total = 0.0
    if fopts[F_TANGENT_PROBA] != 0.0:
        return _tangent_proba_penalty(
            J, G, _view(H, bs_max * uoff[L], nb, nout), _view(AWT, za, nb, nout),
            AWT[wt : wt + nout], sw, idx, i0, k, alpha,
        )  # fmt: skip
    for r in range(nb):
        w = sw[idx[i0 + r]]
        c = 2.0 * alpha * w
        acc = 0.0
        for t in range(k):
            a = r * k + t
            for j in range(nout):
                v = J[a, j]
                acc += v * v
                G[a, j] = c * v
        total += w * acc
    return alpha * total


@jit
def _tangent_proba_penalty(J, G, Zo, GZ, p, sw, idx, i0, k, alpha):
    """Penalty on the probabilities' directional derivatives ``dp = M q``
    (``q = J v`` the logits', ``M = diag(p) - p p^T``, or ``p (1 - p)`` for
    one logistic output): ``alpha sum_r sw_r sum_t ||dp_{r,t}||^2``.

    Leaves its gradient w.r.t. ``q`` in ``G`` (``2 M dp``) and w.r.t. the
    logits ``z`` in ``GZ``: ``2 sum_t (dp_j^2 - p_j ||dp||^2 - dp_j (p.dp))``
    (softmax), ``2 sum_t dp q p (1 - p) (1 - 2p)`` (logistic).
    """
    nb, nout = Zo.shape
    total = 0.0
    for r in range(nb):
        w = sw[idx[i0 + r]]
        c = 2.0 * alpha * w
        for j in range(nout):
            GZ[r, j] = 0.0
        if nout == 1:
            pr = 1.0 / (1.0 + math.exp(-Zo[r, 0]))
            sl = pr * (1.0 - pr)
            acc = 0.0
            for t in range(k):
                a = r * k + t
                q = J[a, 0]
                d = sl * q
                acc += d * d
                G[a, 0] = c * d * sl
                GZ[r, 0] += c * d * q * sl * (1.0 - 2.0 * pr)
            total += w * acc
            continue
        zmax = -np.inf
        for j in range(nout):
            zmax = max(zmax, Zo[r, j])
        tot = 0.0
        for j in range(nout):
            e = math.exp(Zo[r, j] - zmax)
            p[j] = e
            tot += e
        for j in range(nout):
            p[j] = p[j] / tot
        acc = 0.0
        for t in range(k):
            a = r * k + t
            sq = 0.0
            for j in range(nout):
                sq += p[j] * J[a, j]
            # dp overwrites G's row, then G = 2 M dp
            dd = 0.0
            pd = 0.0
            for j in range(nout):
                d = p[j] * (J[a, j] - sq)
                G[a, j] = d
                dd += d * d
                pd += p[j] * d
            acc += dd
            for j in range(nout):
                d = G[a, j]
                GZ[r, j] += c * (d * d - p[j] * dd - d * pd)
                G[a, j] = c * (p[j] * d - p[j] * pd)
        total += w * acc
    return alpha * total


@jit
def tangent_backward(
    theta, units, uoff, w_off, b_off, nb, H, HT, AWT, bs_max, iopts, fopts
):
    """Exact gradient of the penalty of :func:`tangent_forward`, into the
    ``gr`` part of AWT (raw scale, parameter layout).

    Reverse mode through the tangent pass: with ``G_U`` the gradient w.r.t.
    ``U_l`` and ``G_Z`` the one w.r.t. the primal pre-activation ``z_l``
    (zero at the logits, which the penalty does not read),
    ``dW_l = T_l^T G_U + A_l^T G_Z`` (``A_l`` the masked primal input),
    ``db_l = sum G_Z``; below a hidden layer with ``G_T = G_U W_l^T``:
    ``G_U <- m f'(z) G_T`` and ``G_Z <- m f'(z) (G_Z W_l^T)
    + m f''(z) sum_t U_{t} G_{T,t}`` (the slope f'(z) depends on the
    weights through z).
    """
    L = units.shape[0] - 1
    k = _tangent_rows(iopts, fopts)
    act = iopts[I_ACT]
    drop = iopts[I_DROPOUT] == DROP_BERNOULLI
    drop_in = drop and fopts[F_KEEP_INPUT] < 1.0
    drop_hid = drop and fopts[F_KEEP_HIDDEN] < 1.0
    second = act == ACT_TANH or act == ACT_LOGISTIC
    ta, u, fp, fpp, ga, gb, za, zb, wt, gr, sc0, size = _tangent_offsets(
        units, bs_max, k
    )
    nk = nb * k
    n_params = size - units[0] - gr
    GR = AWT[gr : gr + n_params]
    GR[:] = 0.0
    gu_off = ga
    gt_off = gb
    gz_off = za
    gn_off = zb
    have_gz = fopts[F_TANGENT_PROBA] != 0.0  # the logits' delta, if any
    for l in range(L - 1, -1, -1):
        nin = units[l]
        nout = units[l + 1]
        W = _view(theta, w_off[l], nin, nout)
        TA = _view(AWT, ta + _layer_offset(units, l, nk), nk, nin)
        GU = _view(AWT, gu_off, nk, nout)
        gW = _view(GR, w_off[l], nin, nout)
        np.dot(TA.T, GU, gW)
        if have_gz:
            GZ = _view(AWT, gz_off, nb, nout)
            dropped = drop_in if l == 0 else drop_hid
            if dropped:
                Ain = _view(HT, bs_max * uoff[l], nb, nin)
            else:
                Ain = _view(H, bs_max * uoff[l], nb, nin)
            T = _view(AWT, wt, nin, nout)
            np.dot(Ain.T, GZ, T)
            for a in range(nin):
                for c in range(nout):
                    gW[a, c] += T[a, c]
            for r in range(nb):
                for j in range(nout):
                    GR[b_off[l] + j] += GZ[r, j]
        if l == 0:
            break
        GT = _view(AWT, gt_off, nk, nin)
        np.dot(GU, W.T, GT)
        hoff = _layer_offset(units[1:], l - 1, nb)
        FP = _view(AWT, fp + hoff, nb, nin)
        FPP = _view(AWT, fpp + hoff, nb, nin)
        GN = _view(AWT, gn_off, nb, nin)
        if have_gz:
            GZ = _view(AWT, gz_off, nb, nout)
            np.dot(GZ, W.T, GN)
            for r in range(nb):
                for j in range(nin):
                    GN[r, j] *= FP[r, j]
        else:
            GN[:, :] = 0.0
        if second:
            Ul = _view(AWT, u + _layer_offset(units[1:], l - 1, nk), nk, nin)
            for r in range(nb):
                for t in range(k):
                    a = r * k + t
                    for j in range(nin):
                        GN[r, j] += FPP[r, j] * Ul[a, j] * GT[a, j]
        for r in range(nb):
            for t in range(k):
                a = r * k + t
                for j in range(nin):
                    GT[a, j] *= FP[r, j]
        gu_off, gt_off = gt_off, gu_off
        gz_off, gn_off = gn_off, gz_off
        have_gz = True


# --- adversarial training (issue 5) ---------------------------------------------
# Option: iopts[I_ADVERSARIAL] = method (0 off); fopts 13..22 are this
# option's (23..31 belong to tangent propagation).  Scratch lives in AWA
# (sized by adversarial_scratch_size).  Labels Y < 0 mark unlabeled samples.
ADV_NONE = 0
ADV_FGSM = 1
ADV_PGD = 2
ADV_VAT = 3
F_ADV_EPS = 13  # L-inf radius (fgsm/pgd) or L2 radius (vat)
F_ADV_WEIGHT = 14  # alpha: alpha J(x) + (1 - alpha) J(x_adv)
F_ADV_CLIP_LO = 15  # valid input range (-inf, inf when off)
F_ADV_CLIP_HI = 16
F_PGD_STEP = 17
F_PGD_STEPS = 18
F_PGD_RANDOM_START = 19
F_VAT_XI = 20
F_VAT_POWER_ITERATIONS = 21
F_VIRTUAL_LABELS = 22

_ADV_SALT = 0x2545F4914F6CDD1D  # keys this option's stream apart from dropout's


@jit
def adversarial_scratch_size(units, bs):
    """Length of the AWA buffer: x_adv rows, a direction per row, a second
    gradient and the clean probabilities of a batch."""
    L = units.shape[0] - 1
    n_params = 0
    for l in range(L):
        n_params += units[l] * units[l + 1] + units[l + 1]
    return 2 * bs * units[0] + n_params + bs * units[L]


@jit
def _adv_uniform(key, j):
    """A uniform number in (0, 1) for unit ``j`` of the row keyed ``key``."""
    x = splitmix64(key + np.uint64(j) * np.uint64(0x9E3779B97F4A7C15))
    return (float(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@jit
def _adv_key(seed, step, sample):
    return splitmix64(_row_key(seed, step, sample) ^ np.uint64(_ADV_SALT))


@jit
def _adv_project(XA, X, idx, i0, eps, lo, hi):
    """Rows of XA onto the L-inf ball of radius eps around x, then [lo, hi]."""
    nb, n0 = XA.shape
    for r in range(nb):
        x = X[idx[i0 + r]]
        for j in range(n0):
            v = min(max(XA[r, j], x[j] - eps), x[j] + eps)
            XA[r, j] = min(max(v, lo), hi)


@jit
def _adv_sign_step(XA, G, a):
    """XA += a * sign(G) (a zero gradient leaves the input unchanged)."""
    nb, n0 = XA.shape
    for r in range(nb):
        for j in range(n0):
            g = G[r, j]
            if g > 0:
                XA[r, j] += a
            elif g < 0:
                XA[r, j] -= a


@jit
def _vat_direction(DIR, G, XA, X, idx, i0, scale, lo, hi):
    """DIR = G / ||G|| per row (kept when G is 0); XA = clip(x + scale DIR)."""
    nb, n0 = XA.shape
    for r in range(nb):
        nrm = 0.0
        for j in range(n0):
            nrm += float(G[r, j]) * float(G[r, j])
        if nrm > 0.0:
            inv = 1.0 / math.sqrt(nrm)
            for j in range(n0):
                DIR[r, j] = G[r, j] * inv
        x = X[idx[i0 + r]]
        for j in range(n0):
            XA[r, j] = min(max(x[j] + scale * DIR[r, j], lo), hi)


@jit
def _kl_delta(P, DL, PC, w, out_kind):
    """KL(p || q) of each row and its gradient w.r.t. the logits of q.

    ``P`` holds the logits of the perturbed rows (a training forward pass),
    ``PC`` the clean probabilities p (constants).  Writes
    ``DL = w_r (q - p)`` and returns ``sum_r w_r KL(p_r || q_r)``.
    """
    nb, nout = P.shape
    total = 0.0
    for r in range(nb):
        kl = 0.0
        if out_kind == 0:
            z = float(P[r, 0])
            p = float(PC[r, 0])
            q = 1.0 / (1.0 + math.exp(-z))
            if p > 0.0:
                kl += p * (math.log(p) + _softplus(-z))
            if p < 1.0:
                kl += (1.0 - p) * (math.log(1.0 - p) + _softplus(z))
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


@jit
def adversarial_loss_grad(
    theta,
    grad,
    units,
    uoff,
    w_off,
    b_off,
    X,
    Y,
    idx,
    i0,
    nb,
    sw,
    H,
    HT,
    S,
    Z,
    D,
    KB,
    AWA,
    bs_max,
    iopts,
    fopts,
    seed,
    step,
):
    """One minibatch of adversarial training; same contract as batch_loss_grad.

    fgsm/pgd (Goodfellow et al. 2015; Madry et al. 2018): the raw gradient
    of ``alpha J(x) + (1 - alpha) J(x_adv)``, ``J`` = weighted cross-entropy
    plus activation penalty, ``x_adv`` a constant built from the current
    weights: ``clip(x + eps sign(dJ/dx))`` (fgsm), or ``steps`` projected
    signed steps (pgd; from x + U(-eps, eps) with a random start, else from
    x).  Rows with ``Y < 0`` (unlabeled) take the predicted label when
    ``fopts[F_VIRTUAL_LABELS]`` is set, else have zero weight.

    vat (Miyato et al. 2018): ``alpha CE + (1 - alpha) KL``, where CE is
    the weighted cross-entropy of the labelled rows normalised by their
    weight sum (times ``S / S_lab``, since the caller divides by the weight
    sum ``S`` of every row) and KL the weighted ``KL(p(.|x) || p(.|x + r))``
    of every row, p a constant; ``r`` (L2 norm eps) by power iteration from
    a Gaussian direction with finite difference ``xi``.  Activation
    penalties enter with the clean pass.

    Passes: clean forward/backward (input gradient too for fgsm/pgd), the
    attack's forward/backward(input) passes, one adversarial
    forward/backward into a second gradient; batched over the rows.
    Leaves ``x_adv`` in the first ``nb * n_0`` entries of ``AWA``.
    """
    L = units.shape[0] - 1
    n0 = units[0]
    nout = units[L]
    npar = theta.shape[0]
    method = iopts[I_ADVERSARIAL]
    out_kind = iopts[I_OUT]
    log_eps = fopts[F_LOG_EPS]
    eps = fopts[F_ADV_EPS]
    alpha = fopts[F_ADV_WEIGHT]
    lo = fopts[F_ADV_CLIP_LO]
    hi = fopts[F_ADV_CLIP_HI]
    virtual = fopts[F_VIRTUAL_LABELS] != 0.0
    XA = _view(AWA, 0, nb, n0)
    DIR = _view(AWA, bs_max * n0, nb, n0)
    G2 = AWA[2 * bs_max * n0 : 2 * bs_max * n0 + npar]
    PC = _view(AWA, 2 * bs_max * n0 + npar, nb, nout)
    P = _view(H, bs_max * uoff[L], nb, nout)
    DL = _view(D, bs_max * uoff[L], nb, nout)
    D0 = _view(D, 0, nb, n0)
    ar = np.arange(nb)
    kid = idx[i0 : i0 + nb]
    yb = np.empty(nb, dtype=np.int64)
    wce = np.empty(nb)  # cross-entropy weight of each batch row
    wb = np.empty(nb)  # sample weight of each batch row
    s_all = 0.0
    s_lab = 0.0
    for r in range(nb):
        i = idx[i0 + r]
        yb[r] = Y[i]
        wb[r] = sw[i]
        s_all += sw[i]
        if Y[i] >= 0:
            s_lab += sw[i]

    # (1) clean pass
    pen_c, sw_sum = forward(
        theta,
        units,
        uoff,
        w_off,
        b_off,
        X,
        idx,
        idx,
        i0,
        nb,
        sw,
        H,
        HT,
        S,
        Z,
        KB,
        bs_max,
        iopts,
        fopts,
        seed,
        step,
        True,
    )
    if method == ADV_VAT:
        ce_scale = alpha * s_all / s_lab if s_lab > 0.0 else 0.0
        for r in range(nb):
            wce[r] = wb[r] * ce_scale if yb[r] >= 0 else 0.0
            if yb[r] < 0:
                yb[r] = 0
    else:
        for r in range(nb):
            wce[r] = wb[r]
            if yb[r] < 0:  # unlabeled: the model's own label, or no weight
                if virtual:
                    if out_kind == 0:
                        yb[r] = 1 if P[r, 0] > 0 else 0
                    else:
                        yb[r] = np.argmax(P[r])
                else:
                    yb[r] = 0
                    wce[r] = 0.0
    data_c = output_loss_delta(P, DL, yb, wce, ar, 0, out_kind, log_eps)
    backward(
        theta,
        grad,
        units,
        uoff,
        w_off,
        b_off,
        idx,
        idx,
        i0,
        nb,
        sw,
        H,
        HT,
        S,
        Z,
        D,
        KB,
        bs_max,
        iopts,
        fopts,
        seed,
        step,
        True,
        True,
        method != ADV_VAT,
    )

    if method == ADV_VAT:
        for r in range(nb):
            for k in range(nout):
                PC[r, k] = P[r, k]  # probabilities after output_loss_delta
        xi = fopts[F_VAT_XI]
        ones = np.ones(nb)
        # a Gaussian direction per row from the counter-based hash
        for r in range(nb):
            key = _adv_key(seed, step, kid[r])
            for j in range(n0):
                u1 = _adv_uniform(key, 2 * j)
                u2 = _adv_uniform(key, 2 * j + 1)
                D0[r, j] = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        n_it = int(fopts[F_VAT_POWER_ITERATIONS])
        # probes x + xi d are not clipped (a derivative, not an input)
        if n_it > 0:
            _vat_direction(DIR, D0, XA, X, idx, i0, xi, -np.inf, np.inf)
        else:
            _vat_direction(DIR, D0, XA, X, idx, i0, eps, lo, hi)
        for it in range(n_it):
            forward(
                theta,
                units,
                uoff,
                w_off,
                b_off,
                XA,
                ar,
                kid,
                0,
                nb,
                wb,
                H,
                HT,
                S,
                Z,
                KB,
                bs_max,
                iopts,
                fopts,
                seed,
                step,
                True,
            )
            _kl_delta(P, DL, PC, ones, out_kind)
            backward(
                theta,
                G2,
                units,
                uoff,
                w_off,
                b_off,
                ar,
                kid,
                0,
                nb,
                wb,
                H,
                HT,
                S,
                Z,
                D,
                KB,
                bs_max,
                iopts,
                fopts,
                seed,
                step,
                False,
                False,
                True,
            )
            if it < n_it - 1:
                _vat_direction(DIR, D0, XA, X, idx, i0, xi, -np.inf, np.inf)
            else:
                _vat_direction(DIR, D0, XA, X, idx, i0, eps, lo, hi)
        forward(
            theta,
            units,
            uoff,
            w_off,
            b_off,
            XA,
            ar,
            kid,
            0,
            nb,
            wb,
            H,
            HT,
            S,
            Z,
            KB,
            bs_max,
            iopts,
            fopts,
            seed,
            step,
            True,
        )
        for r in range(nb):
            wce[r] = (1.0 - alpha) * wb[r]
        kl_sum = _kl_delta(P, DL, PC, wce, out_kind)
        backward(
            theta,
            G2,
            units,
            uoff,
            w_off,
            b_off,
            ar,
            kid,
            0,
            nb,
            wb,
            H,
            HT,
            S,
            Z,
            D,
            KB,
            bs_max,
            iopts,
            fopts,
            seed,
            step,
            False,
            True,
            False,
        )
        for k in range(npar):
            grad[k] += G2[k]
        return data_c + kl_sum, pen_c, sw_sum

    # (2) the attack, from the clean input gradient left in D[0]
    if method == ADV_FGSM:
        for r in range(nb):
            x = X[idx[i0 + r]]
            for j in range(n0):
                XA[r, j] = x[j]
        _adv_sign_step(XA, D0, eps)
        _adv_project(XA, X, idx, i0, eps, lo, hi)
    else:
        n_steps = int(fopts[F_PGD_STEPS])
        a = fopts[F_PGD_STEP]
        first = 0
        for r in range(nb):
            x = X[idx[i0 + r]]
            for j in range(n0):
                XA[r, j] = x[j]
        if fopts[F_PGD_RANDOM_START] != 0.0:
            for r in range(nb):
                key = _adv_key(seed, step, kid[r])
                for j in range(n0):
                    XA[r, j] += eps * (2.0 * _adv_uniform(key, j) - 1.0)
            _adv_project(XA, X, idx, i0, eps, lo, hi)
        else:  # the first step reuses the clean input gradient
            _adv_sign_step(XA, D0, a)
            _adv_project(XA, X, idx, i0, eps, lo, hi)
            first = 1
        for _ in range(first, n_steps):
            forward(
                theta,
                units,
                uoff,
                w_off,
                b_off,
                XA,
                ar,
                kid,
                0,
                nb,
                wb,
                H,
                HT,
                S,
                Z,
                KB,
                bs_max,
                iopts,
                fopts,
                seed,
                step,
                True,
            )
            output_loss_delta(P, DL, yb, wce, ar, 0, out_kind, log_eps)
            backward(
                theta,
                G2,
                units,
                uoff,
                w_off,
                b_off,
                ar,
                kid,
                0,
                nb,
                wb,
                H,
                HT,
                S,
                Z,
                D,
                KB,
                bs_max,
                iopts,
                fopts,
                seed,
                step,
                True,
                False,
                True,
            )
            _adv_sign_step(XA, D0, a)
            _adv_project(XA, X, idx, i0, eps, lo, hi)

    # (3) the adversarial pass into G2; grad = alpha grad + (1 - alpha) G2
    pen_a, _ = forward(
        theta,
        units,
        uoff,
        w_off,
        b_off,
        XA,
        ar,
        kid,
        0,
        nb,
        wb,
        H,
        HT,
        S,
        Z,
        KB,
        bs_max,
        iopts,
        fopts,
        seed,
        step,
        True,
    )
    data_a = output_loss_delta(P, DL, yb, wce, ar, 0, out_kind, log_eps)
    backward(
        theta,
        G2,
        units,
        uoff,
        w_off,
        b_off,
        ar,
        kid,
        0,
        nb,
        wb,
        H,
        HT,
        S,
        Z,
        D,
        KB,
        bs_max,
        iopts,
        fopts,
        seed,
        step,
        True,
        True,
        False,
    )
    beta = 1.0 - alpha
    for k in range(npar):
        grad[k] = alpha * grad[k] + beta * G2[k]
    return (
        alpha * data_c + beta * data_a,
        alpha * pen_c + beta * pen_a,
        sw_sum,
    )


# --- tangent propagation (issue 7): contractive autoencoder --------------------
@jit
def cae_loss_grad(Xb, wb, theta, m, lam, grad, Hb, Rb, DH, T):
    """Weighted objective sum and raw gradient of a contractive autoencoder
    (Rifai et al. 2011) on the rows ``Xb`` with weights ``wb``.

    ``theta = [W (n_features x m, row-major), c (m), b_r (n_features)]``;
    sigmoid encoder ``h = sigmoid(x W + c)``, tied linear decoder
    ``r = h W^T + b_r``; per sample ``0.5 ||r - x||^2 + lam ||J||_F^2`` with
    the closed form ``||J||_F^2 = sum_j (h_j (1 - h_j))^2 ||W_{:, j}||^2``.
    Gradient: ``dR = w (r - x)``, ``dZ = (dR W + 2 lam w a (1 - 2h) |W_j|^2)
    * a`` (``a = h (1 - h)``), ``dW = X^T dZ + dR^T H + 2 lam W
    diag(sum w a^2)``, ``dc = sum dZ``, ``db_r = sum dR``.
    """
    nb, d = Xb.shape
    nW = d * m
    W = theta[:nW].reshape((d, m))
    c = theta[nW : nW + m]
    br = theta[nW + m : nW + m + d]
    gW = grad[:nW].reshape((d, m))
    gc = grad[nW : nW + m]
    gbr = grad[nW + m : nW + m + d]
    H_ = Hb[:nb]
    R_ = Rb[:nb]
    D_ = DH[:nb]
    wn = np.zeros(m)
    a2 = np.zeros(m)
    for a in range(d):
        for j in range(m):
            wn[j] += W[a, j] * W[a, j]
    np.dot(Xb, W, H_)
    for r in range(nb):
        for j in range(m):
            H_[r, j] = 1.0 / (1.0 + np.exp(-(H_[r, j] + c[j])))
    np.dot(H_, W.T, R_)
    loss = 0.0
    for r in range(nb):
        w = wb[r]
        rec = 0.0
        for j in range(d):
            e = R_[r, j] + br[j] - Xb[r, j]
            rec += e * e
            R_[r, j] = w * e  # reconstruction delta
        con = 0.0
        for j in range(m):
            h = H_[r, j]
            aj = h * (1.0 - h)
            con += aj * aj * wn[j]
            a2[j] += w * aj * aj
        loss += w * (0.5 * rec + lam * con)
    np.dot(R_, W, D_)
    for r in range(nb):
        cw = 2.0 * lam * wb[r]
        for j in range(m):
            h = H_[r, j]
            aj = h * (1.0 - h)
            D_[r, j] = (D_[r, j] + cw * aj * (1.0 - 2.0 * h) * wn[j]) * aj
    np.dot(Xb.T, D_, gW)
    np.dot(R_.T, H_, T)
    for a in range(d):
        for j in range(m):
            gW[a, j] += T[a, j] + 2.0 * lam * a2[j] * W[a, j]
    gc[:] = 0.0
    gbr[:] = 0.0
    for r in range(nb):
        for j in range(m):
            gc[j] += D_[r, j]
        for j in range(d):
            gbr[j] += R_[r, j]
    return loss


@jit
def cae_epoch(X, sw, order, theta, m1, m2, m, bs_max, lam, lr, b1, b2, eps, t):
    """One epoch of minibatch Adam on :func:`cae_loss_grad` (each batch's
    objective is the ``sw``-weighted mean).  ``t`` is Adam's step counter;
    returns ``(sum_b objective_b * n_b, t)``."""
    n = order.shape[0]
    d = X.shape[1]
    dt = theta.dtype
    grad = np.empty_like(theta)
    Xb = np.empty((bs_max, d), dtype=dt)
    wb = np.empty(bs_max)
    Hb = np.empty((bs_max, m), dtype=dt)
    Rb = np.empty((bs_max, d), dtype=dt)
    DH = np.empty((bs_max, m), dtype=dt)
    T = np.empty((d, m), dtype=dt)
    acc = 0.0
    i0 = 0
    while i0 < n:
        nb = min(bs_max, n - i0)
        s = 0.0
        for r in range(nb):
            i = order[i0 + r]
            wb[r] = sw[i]
            s += sw[i]
            for j in range(d):
                Xb[r, j] = X[i, j]
        i0 += nb
        if s <= 0:
            continue
        loss = cae_loss_grad(Xb[:nb], wb[:nb], theta, m, lam, grad, Hb, Rb, DH, T)
        inv = 1.0 / s
        t += 1
        lr_t = lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        for q in range(theta.shape[0]):
            g = grad[q] * inv
            mq = b1 * m1[q] + (1.0 - b1) * g
            vq = b2 * m2[q] + (1.0 - b2) * g * g
            m1[q] = mq
            m2[q] = vq
            theta[q] -= lr_t * mq / (math.sqrt(vq) + eps)
        acc += loss * inv * nb
    return acc, t


# --- one minibatch: objective pieces and raw gradient ---------------------------
@jit
def batch_loss_grad(
    theta,
    grad,
    units,
    uoff,
    w_off,
    b_off,
    X,
    Y,
    idx,
    i0,
    nb,
    sw,
    H,
    HT,
    S,
    Z,
    D,
    V,
    DV,
    KB,
    WB,
    AWA,
    AWT,
    TV,
    bs_max,
    iopts,
    fopts,
    seed,
    step,
):
    """Raw gradient (times sw_sum) of data loss + activation penalty.

    Returns ``(data_loss_sum, penalty_sum, sw_sum)``; the objective of the
    batch is ``(data_loss_sum + penalty_sum) / sw_sum`` plus the parameter
    penalties added by :func:`finish_gradient` / the optimizer update.

    Hooks (later issues) slot in here, inside the same step:
    * input perturbation (adversarial training): run backward with
      ``want_xgrad`` to get ``D[0]``, build ``x_adv`` in ``H[0]``, run the
      forward/backward again into a second gradient buffer and mix;
    * tangent propagation: a forward-mode pass along the tangents after
      ``forward`` and its gradient added before ``backward`` returns.
    """
    if iopts[I_ADVERSARIAL] != ADV_NONE:  # adversarial training (issue 5)
        return adversarial_loss_grad(
            theta, grad, units, uoff, w_off, b_off, X, Y, idx, i0, nb, sw, H, HT,
            S, Z, D, KB, AWA, bs_max, iopts, fopts, seed, step,
        )  # fmt: skip
    if iopts[I_DROPOUT] == DROP_FAST:
        return fast_forward_backward(
            theta,
            grad,
            units,
            uoff,
            w_off,
            b_off,
            X,
            Y,
            idx,
            i0,
            nb,
            sw,
            H,
            HT,
            S,
            Z,
            D,
            V,
            DV,
            KB,
            WB,
            bs_max,
            iopts,
            fopts,
            True,
        )
    L = units.shape[0] - 1
    pen_sum, sw_sum = forward(
        theta,
        units,
        uoff,
        w_off,
        b_off,
        X,
        idx,
        idx,
        i0,
        nb,
        sw,
        H,
        HT,
        S,
        Z,
        KB,
        bs_max,
        iopts,
        fopts,
        seed,
        step,
        True,
    )
    tangent = iopts[I_TANGENT] > 0
    if tangent:  # tangent propagation (issue 7): JVP on the fresh primal pass
        pen_sum += tangent_forward(
            theta, units, uoff, w_off, TV, idx, idx, i0, nb, sw, H, HT, S, AWT,
            bs_max, iopts, fopts, seed, step,
        )  # fmt: skip
    P = _view(H, bs_max * uoff[L], nb, units[L])
    DL = _view(D, bs_max * uoff[L], nb, units[L])
    data_sum = output_loss_delta(P, DL, Y, sw, idx, i0, iopts[I_OUT], fopts[F_LOG_EPS])
    backward(
        theta,
        grad,
        units,
        uoff,
        w_off,
        b_off,
        idx,
        idx,
        i0,
        nb,
        sw,
        H,
        HT,
        S,
        Z,
        D,
        KB,
        bs_max,
        iopts,
        fopts,
        seed,
        step,
        True,
        True,
        False,
    )
    if tangent:
        tangent_backward(
            theta, units, uoff, w_off, b_off, nb, H, HT, AWT, bs_max, iopts, fopts
        )
        gr = _tangent_offsets(units, bs_max, _tangent_rows(iopts, fopts))[9]
        for q in range(grad.shape[0]):
            grad[q] += AWT[gr + q]
    return data_sum, pen_sum, sw_sum


# --- parameter penalties and optimizer updates ----------------------------------
@jit
def finish_gradient(theta, grad, ref, n_coef, sw_sum, iopts, fopts):
    """Turn a raw gradient into the gradient of the batch objective.

    Returns the parameter-penalty part of the objective:
    ``0.5 alpha ||W||^2 / sw_sum + tie_alpha ||theta - ref||^2``.
    """
    inv = 1.0 / sw_sum
    l2 = fopts[F_ALPHA] * inv
    tie = iopts[I_TIE] != 0
    ta = fopts[F_TIE_ALPHA]
    sq = 0.0
    tsq = 0.0
    for k in range(theta.shape[0]):
        th = theta[k]
        g = grad[k] * inv
        if k < n_coef:
            sq += th * th
            g += l2 * th
        if tie:
            d = th - ref[k]
            tsq += d * d
            g += 2.0 * ta * d
        grad[k] = g
    return 0.5 * l2 * sq + ta * tsq if tie else 0.5 * l2 * sq


@jit
def _add_tie_gradient(theta, grad, ref, sw_sum, ta):
    """grad += sw_sum * 2 tie_alpha (theta - ref) (raw scale); returns ||.||^2."""
    tsq = 0.0
    c = 2.0 * ta * sw_sum
    for k in range(theta.shape[0]):
        d = theta[k] - ref[k]
        tsq += d * d
        grad[k] += c * d
    return tsq


@jit
def _adam_rows(theta, grad, m1, m2, lo, nrows, ncols, sc, nrm, track):
    """Adam on the ``nrows x ncols`` block at ``lo`` (a weight matrix, or the
    intercepts as one row).  ``sc`` = [1/S, l2/S, b1, 1-b1, b2, 1-b2, eps,
    lr_t] in theta's dtype, so float32 stays float32 (and vectorises).
    With ``track``, ``nrm[j]`` accumulates the new column norms^2 (max-norm
    fused into the update pass).  Returns ||old block||^2."""
    inv = sc[0]
    l2 = sc[1]
    b1 = sc[2]
    c1 = sc[3]
    b2 = sc[4]
    c2 = sc[5]
    eps = sc[6]
    lr_t = sc[7]
    sq = 0.0
    for a in range(nrows):
        base = lo + a * ncols
        for j in range(ncols):
            k = base + j
            th = theta[k]
            sq += th * th
            g = grad[k] * inv + l2 * th
            m = b1 * m1[k] + c1 * g
            v = b2 * m2[k] + c2 * (g * g)
            m1[k] = m
            m2[k] = v
            t = th - lr_t * m / (np.sqrt(v) + eps)
            theta[k] = t
            if track:
                nrm[j] += t * t
    return sq


@jit
def _sgd_rows(theta, grad, vel, lo, nrows, ncols, sc, nesterov, nrm, track):
    """SGD with momentum on a block; ``sc`` = [1/S, l2/S, momentum, lr]."""
    inv = sc[0]
    l2 = sc[1]
    mom = sc[2]
    lr = sc[3]
    sq = 0.0
    for a in range(nrows):
        base = lo + a * ncols
        for j in range(ncols):
            k = base + j
            th = theta[k]
            sq += th * th
            g = grad[k] * inv + l2 * th
            v = mom * vel[k] - lr * g
            vel[k] = v
            if nesterov:
                t = th + (mom * v - lr * g)
            else:
                t = th + v
            theta[k] = t
            if track:
                nrm[j] += t * t
    return sq


@jit
def _cap_columns(theta, lo, nrows, ncols, nrm, c):
    """Rescale columns whose norm (sqrt(nrm)) exceeds c to norm c."""
    any_big = False
    for j in range(ncols):
        s = math.sqrt(nrm[j])
        if s > c:
            nrm[j] = c / s
            any_big = True
        else:
            nrm[j] = 1.0
    if any_big:
        for a in range(nrows):
            base = lo + a * ncols
            for j in range(ncols):
                theta[base + j] *= nrm[j]


@jit
def optimizer_update(
    theta, grad, m1, m2, ref, units, w_off, n_coef, sw_sum, iopts, fopts, step, lr
):
    """Finish the gradient, apply one sgd/adam step and max-norm, in one pass.

    ``step`` is the number of updates including this one (Adam's t).
    sgd (scikit-learn's SGDOptimizer): ``v = momentum v - lr g``;
    ``theta += momentum v - lr g`` (Nesterov) or ``theta += v``.
    adam (scikit-learn's AdamOptimizer): ``m = b1 m + (1-b1) g``,
    ``v = b2 v + (1-b2) g^2``,
    ``theta -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)``.
    ``g`` = raw gradient / S + alpha W / S (+ 2 tie_alpha (theta - ref)).
    Max-norm (``iopts[I_MAXNORM]``): each unit's incoming weights (a column
    of W_l) rescaled to norm <= ``fopts[F_MAX_NORM]`` after the step; the
    norms are accumulated during the update pass.
    Returns the parameter-penalty part of the objective.
    """
    inv = 1.0 / sw_sum
    l2 = fopts[F_ALPHA] * inv
    ta = fopts[F_TIE_ALPHA]
    tsq = 0.0
    if iopts[I_TIE] != 0:
        tsq = _add_tie_gradient(theta, grad, ref, sw_sum, ta)
    n = theta.shape[0]
    L = units.shape[0] - 1
    track = iopts[I_MAXNORM] != 0
    c = fopts[F_MAX_NORM]
    wmax = 1
    for l in range(L):
        wmax = max(wmax, units[l + 1])
    nrm = np.zeros(wmax)
    sc = np.empty(8, dtype=theta.dtype)
    sc[0] = inv
    adam = iopts[I_SOLVER] == 1
    nest = iopts[I_NESTEROV] != 0
    if adam:
        b1 = fopts[F_BETA1]
        b2 = fopts[F_BETA2]
        sc[2] = b1
        sc[3] = 1.0 - b1
        sc[4] = b2
        sc[5] = 1.0 - b2
        sc[6] = fopts[F_EPSILON]
        sc[7] = lr * math.sqrt(1.0 - b2**step) / (1.0 - b1**step)
    else:
        sc[2] = fopts[F_MOMENTUM]
        sc[3] = lr
    sq = 0.0
    sc[1] = l2
    for l in range(L):
        nin = units[l]
        nout = units[l + 1]
        nl = nrm[:nout]
        if track:
            nl[:] = 0.0
        if adam:
            sq += _adam_rows(theta, grad, m1, m2, w_off[l], nin, nout, sc, nl, track)
        else:
            sq += _sgd_rows(theta, grad, m1, w_off[l], nin, nout, sc, nest, nl, track)
        if track:
            _cap_columns(theta, w_off[l], nin, nout, nl, c)
    sc[1] = 0.0
    if adam:
        _adam_rows(theta, grad, m1, m2, n_coef, 1, n - n_coef, sc, nrm, False)
    else:
        _sgd_rows(theta, grad, m1, n_coef, 1, n - n_coef, sc, nest, nrm, False)
    return 0.5 * l2 * sq + ta * tsq


# --- entry points called from Python ---------------------------------------------
@jit
def run_epoch(
    X,
    Y,
    sw,
    order,
    theta,
    grad,
    m1,
    m2,
    ref,
    units,
    uoff,
    w_off,
    b_off,
    n_coef,
    H,
    HT,
    S,
    Z,
    D,
    V,
    DV,
    KB,
    WB,
    AWA,
    AWT,
    TV,
    bs_max,
    iopts,
    fopts,
    seed,
    step,
    opt_step,
    lr,
):
    """One epoch: every minibatch of ``order`` (gather, forward, backward,
    penalties, optimizer update, max-norm) in one call.

    Returns ``(status, sum_b batch_loss_b * n_b, step, opt_step)`` where
    ``step`` counts minibatches ever seen (dropout stream counter) and
    ``opt_step`` the optimizer's own counter (Adam's t).  ``status`` is
    ``STATUS_NONFINITE`` as soon as a batch objective is not finite.
    """
    n = order.shape[0]
    acc = 0.0
    i0 = 0
    while i0 < n:
        nb = min(bs_max, n - i0)
        data_sum, pen_sum, sw_sum = batch_loss_grad(
            theta,
            grad,
            units,
            uoff,
            w_off,
            b_off,
            X,
            Y,
            order,
            i0,
            nb,
            sw,
            H,
            HT,
            S,
            Z,
            D,
            V,
            DV,
            KB,
            WB,
            AWA,
            AWT,
            TV,
            bs_max,
            iopts,
            fopts,
            seed,
            step,
        )
        step += 1
        if sw_sum > 0:
            opt_step += 1
            par = optimizer_update(
                theta,
                grad,
                m1,
                m2,
                ref,
                units,
                w_off,
                n_coef,
                sw_sum,
                iopts,
                fopts,
                opt_step,
                lr,
            )
            batch_loss = (data_sum + pen_sum) / sw_sum + par
            if not np.isfinite(batch_loss):
                return STATUS_NONFINITE, acc, step, opt_step
            acc += batch_loss * nb
        i0 += nb
    return STATUS_OK, acc, step, opt_step


@jit
def loss_grad_full(
    theta,
    grad,
    ref,
    units,
    uoff,
    w_off,
    b_off,
    n_coef,
    X,
    Y,
    sw,
    idx,
    H,
    HT,
    S,
    Z,
    D,
    V,
    DV,
    KB,
    WB,
    AWA,
    AWT,
    TV,
    iopts,
    fopts,
    seed,
    step,
):
    """Objective and gradient of the rows ``idx`` as ONE batch (L-BFGS, tests).

    Same code path as a minibatch of :func:`run_epoch`; with dropout the
    masks are those of ``(seed, step)``, so finite differences are exact.
    """
    nb = idx.shape[0]
    data_sum, pen_sum, sw_sum = batch_loss_grad(
        theta,
        grad,
        units,
        uoff,
        w_off,
        b_off,
        X,
        Y,
        idx,
        0,
        nb,
        sw,
        H,
        HT,
        S,
        Z,
        D,
        V,
        DV,
        KB,
        WB,
        AWA,
        AWT,
        TV,
        nb,
        iopts,
        fopts,
        seed,
        step,
    )
    par = finish_gradient(theta, grad, ref, n_coef, sw_sum, iopts, fopts)
    return (data_sum + pen_sum) / sw_sum + par


@jit
def predict_proba_chunks(
    X, kid, theta, units, uoff, w_off, b_off, H, bs_max, iopts, fopts, seed, step, out
):
    """Output probabilities ``out`` (n, n_out) of every row, ``bs_max`` rows a time.

    No dropout unless ``iopts[I_DROPOUT]`` is Bernoulli (MC inference, masks
    keyed by ``(seed, step, row)``).
    """
    n = X.shape[0]
    L = units.shape[0] - 1
    idx = np.arange(n)
    sw = np.ones(n)
    nout = units[L]
    HT = np.empty_like(H)
    S = np.empty_like(H)
    KB = np.empty(1)
    i0 = 0
    while i0 < n:
        nb = min(bs_max, n - i0)
        forward(
            theta,
            units,
            uoff,
            w_off,
            b_off,
            X,
            idx,
            kid,
            i0,
            nb,
            sw,
            H,
            HT,
            S,
            H,
            KB,
            bs_max,
            iopts,
            fopts,
            seed,
            step,
            False,
        )
        P = _view(H, bs_max * uoff[L], nb, nout)
        for r in range(nb):
            for k in range(nout):
                out[i0 + r, k] = P[r, k]
        i0 += nb


@jit
def predict_proba_mc(
    X, kid, theta, units, uoff, w_off, b_off, H, bs_max, iopts, fopts, seed, out
):
    """Per-mask probabilities ``out[s]`` for ``s < out.shape[0]`` (MC dropout)."""
    for s in range(out.shape[0]):
        predict_proba_chunks(
            X,
            kid,
            theta,
            units,
            uoff,
            w_off,
            b_off,
            H,
            bs_max,
            iopts,
            fopts,
            seed,
            s,
            out[s],
        )


@jit
def row_hashes(Xbits):
    """A 63-bit hash of each row's bit pattern (MC-dropout mask keys)."""
    n, d = Xbits.shape
    out = np.empty(n, dtype=np.int64)
    for r in range(n):
        h = np.uint64(0x243F6A8885A308D3)
        for j in range(d):
            h = splitmix64(h ^ np.uint64(Xbits[r, j]))
        out[r] = np.int64(h >> np.uint64(1))
    return out


@jit
def input_gradient_chunks(
    X, Y, theta, units, uoff, w_off, b_off, H, D, bs_max, iopts, fopts, out
):
    """Per-sample gradient of the (unweighted, unregularised) log loss w.r.t. x."""
    n = X.shape[0]
    L = units.shape[0] - 1
    idx = np.arange(n)
    sw = np.ones(n)
    HT = np.empty(1, dtype=H.dtype)
    S = np.empty(1, dtype=H.dtype)
    KB = np.empty(1)
    grad = np.empty(1, dtype=theta.dtype)
    n0 = units[0]
    i0 = 0
    while i0 < n:
        nb = min(bs_max, n - i0)
        forward(
            theta,
            units,
            uoff,
            w_off,
            b_off,
            X,
            idx,
            idx,
            i0,
            nb,
            sw,
            H,
            HT,
            S,
            H,
            KB,
            bs_max,
            iopts,
            fopts,
            0,
            0,
            True,
        )  # logits kept for the loss
        P = _view(H, bs_max * uoff[L], nb, units[L])
        DL = _view(D, bs_max * uoff[L], nb, units[L])
        output_loss_delta(P, DL, Y, sw, idx, i0, iopts[I_OUT], fopts[F_LOG_EPS])
        backward(
            theta,
            grad,
            units,
            uoff,
            w_off,
            b_off,
            idx,
            idx,
            i0,
            nb,
            sw,
            H,
            HT,
            S,
            H,
            D,
            KB,
            bs_max,
            iopts,
            fopts,
            0,
            0,
            False,
            False,
            True,
        )
        D0 = _view(D, 0, nb, n0)
        for r in range(nb):
            for j in range(n0):
                out[i0 + r, j] = D0[r, j]
        i0 += nb
