"""Slow, obviously-correct numpy references for skreg's kernels.

Each kernel (``skreg/**/_kernels.py``, ``skreg/neural_network/_engine/``)
is compared against a function here
(stumpy's ``naive.py`` habit): plain loops and ``numpy.linalg``, written for
clarity, never for speed.  Sections, one per subpackage, follow.
"""

import numpy as np  # noqa: F401

# --- decomposition ---


def omp_reference(x, dictionary, n_nonzero_coefs=None, tol=None):
    """Plain greedy OMP of one signal, refitting with ``np.linalg.lstsq``.

    ``dictionary`` has atoms as rows.  Stops after ``n_nonzero_coefs`` atoms,
    or (if ``tol`` is given) as soon as ``||residual||^2 <= tol``, or when the
    residual is numerically orthogonal to every atom.  Computed in float64.
    Returns ``(code, stopped_early)``.
    """
    x = np.asarray(x, dtype=np.float64)
    D = np.asarray(dictionary, dtype=np.float64)
    n_atoms = D.shape[0]
    max_atoms = min(n_atoms, D.shape[1]) if tol is not None else n_nonzero_coefs
    floor = np.finfo(np.float64).eps * (x @ x) * np.max(np.sum(D * D, axis=1))
    support, coef = [], np.zeros(0)
    residual = x.copy()
    stopped_early = False
    while True:
        if tol is not None and residual @ residual <= tol:
            break
        if len(support) == max_atoms:
            stopped_early = tol is not None
            break
        corr = D @ residual
        corr[support] = 0.0
        j = int(np.argmax(np.abs(corr)))
        if corr[j] ** 2 <= floor:
            stopped_early = True
            break
        support.append(j)
        coef = np.linalg.lstsq(D[support].T, x, rcond=None)[0]
        residual = x - coef @ D[support]
    code = np.zeros(n_atoms)
    code[support] = coef
    return code, stopped_early


# --- neural_network ---
def _mlp_act(z, activation):
    if activation == "relu":
        return np.maximum(z, 0.0)
    if activation == "tanh":
        return np.tanh(z)
    if activation == "logistic":
        return 1.0 / (1.0 + np.exp(-z))
    return z


def mlp_objective(coefs, intercepts, X, y_idx, sample_weight=None, activation="relu",
                  alpha=0.0, penalty=None, penalty_alpha=0.0, gamma=1.0, rho=0.05,
                  tie_coefs=None, tie_intercepts=None, tie_alpha=0.0):
    """Objective of one batch, written out: the engine must compute this.

    ``sum_i s_i l_i / S + 0.5 alpha ||W||^2 / S + penalty + tie`` with
    ``S = sum_i s_i``; l is the cross-entropy (one logistic output for two
    classes); the activation penalty is ``penalty_alpha`` times the
    s-weighted mean over rows of ``sum_j |h|`` or ``sum_j log(1 + gamma h^2)``,
    or ``sum_j KL(rho || rho_hat_j)`` over the firing rates (logistic: h,
    tanh: (1 + h) / 2, relu and identity: sigmoid(z)).
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    S = s.sum()
    a = X
    pen = 0.0
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        z = a @ W + b
        h = _mlp_act(z, activation)
        if penalty == "l1":
            pen += penalty_alpha * (s @ np.abs(h).sum(axis=1)) / S
        elif penalty == "student_t":
            pen += penalty_alpha * (s @ np.log1p(gamma * h * h).sum(axis=1)) / S
        elif penalty == "kl":
            if activation == "logistic":
                r = h
            elif activation == "tanh":
                r = (1 + h) / 2
            else:
                r = 1.0 / (1.0 + np.exp(-z))
            q = (s @ r) / S
            pen += penalty_alpha * np.sum(rho * np.log(rho / q)
                                          + (1 - rho) * np.log((1 - rho) / (1 - q)))
        a = h
    z = a @ coefs[-1] + intercepts[-1]
    if z.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-z[:, 0]))
        loss = -np.where(y_idx == 1, np.log(p), np.log(1 - p))
    else:
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(n), y_idx]
    obj = (s @ loss) / S + pen
    obj += 0.5 * alpha * sum(np.sum(W * W) for W in coefs) / S
    if tie_coefs is not None:
        pairs = [*zip(coefs, tie_coefs, strict=True)]
        pairs += zip(intercepts, tie_intercepts, strict=True)
        obj += tie_alpha * sum(np.sum((P - R) ** 2) for P, R in pairs)
    return obj


def adam_steps(theta, grads, lr, beta_1, beta_2, eps):
    """scikit-learn's AdamOptimizer applied to a list of successive gradients
    (``grads[k]`` is a callable theta -> gradient)."""
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, g_of in enumerate(grads, start=1):
        g = g_of(theta)
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        lr_t = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        theta = theta - lr_t * m / (np.sqrt(v) + eps)
    return theta


def sgd_steps(theta, grads, lr, momentum, nesterov):
    """scikit-learn's SGDOptimizer (constant learning rate)."""
    vel = np.zeros_like(theta)
    for g_of in grads:
        g = g_of(theta)
        vel = momentum * vel - lr * g
        theta = theta + (momentum * vel - lr * g if nesterov else vel)
    return theta


# --- neural_network: engine pieces ---
_M64 = (1 << 64) - 1


def splitmix64(x):
    """splitmix64 on Python integers (Steele, Lea, Flood 2014)."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def dropout_keep(seed, step, sample, layer, n_units, keep):
    """The documented mask: unit j kept iff the top 16 bits of the hash of
    (seed, step, sample, layer, j) fall below round(65536 keep)."""
    k = splitmix64(seed ^ splitmix64(step))
    row = splitmix64(k ^ sample)
    key = splitmix64(row ^ (((layer + 1) * 0x9E3779B97F4A7C15) & _M64))
    thr = int(round(keep * 65536.0))
    out = np.zeros(n_units, dtype=bool)
    for j in range(n_units):
        x = (key + j * 0x9E3779B97F4A7C15) & _M64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
        x ^= x >> 31
        out[j] = (x >> 48) < thr
    return out


def log_loss_rows(logits, y_idx):
    """Per-row cross-entropy from logits: one logistic column or softmax."""
    z = np.asarray(logits, dtype=np.float64)
    if z.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return -np.where(y_idx == 1, np.log(p), np.log(1.0 - p)), p[:, None]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(y_idx)), y_idx]), p


def activation_penalty_value(H, sample_weight, penalty, alpha, gamma=1.0, rho=0.05,
                             rate=None):  # fmt: skip
    """``alpha sum_r w_r Omega(h_r)`` (L1, Student-t), or for KL
    ``alpha W sum_j KL(rho || q_j)`` with q the weighted mean ``rate``."""
    w = np.asarray(sample_weight, dtype=np.float64)
    if penalty == "l1":
        return alpha * float(w @ np.abs(H).sum(axis=1))
    if penalty == "student_t":
        return alpha * float(w @ np.log1p(gamma * H**2).sum(axis=1))
    q = np.clip(rate, 1e-6, 1 - 1e-6)
    kl = rho * np.log(rho / q) + (1 - rho) * np.log((1 - rho) / (1 - q))
    return alpha * w.sum() * float(kl.sum())


# --- neural_network: tangent propagation and contractive autoencoder ---
def mlp_logits(coefs, intercepts, X, activation="relu"):
    """Logits (output pre-activations) of a plain MLP, in float64."""
    a = np.asarray(X, dtype=np.float64)
    for W, b in zip(coefs[:-1], intercepts[:-1], strict=True):
        a = _mlp_act(a @ W + b, activation)
    return a @ coefs[-1] + intercepts[-1]


def mlp_outputs(coefs, intercepts, X, activation="relu"):
    """Probabilities (one column for a single logistic output), float64."""
    z = mlp_logits(coefs, intercepts, X, activation)
    if z.shape[1] == 1:
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def tangent_prop_penalty(coefs, intercepts, X, T, sample_weight, tangent_alpha,
                         activation="relu", output="logits", h=1e-6):
    """``tangent_alpha * sum_i s_i sum_t ||d/de f(x_i + e v_it)||^2 / S``
    (f: logits or probabilities) with the directional derivatives by
    central differences in the input."""
    f = mlp_logits if output == "logits" else mlp_outputs
    X = np.asarray(X, dtype=np.float64)
    s = np.asarray(sample_weight, dtype=np.float64)
    total = 0.0
    for i in range(X.shape[0]):
        for t in range(T.shape[1]):
            v = T[i, t]
            up = f(coefs, intercepts, X[i:i + 1] + h * v, activation)
            dn = f(coefs, intercepts, X[i:i + 1] - h * v, activation)
            jv = (up - dn) / (2 * h)
            total += s[i] * np.sum(jv * jv)
    return tangent_alpha * total / s.sum()


def cae_objective(W, c, br, X, sample_weight, contraction):
    """Contractive autoencoder objective (weighted sum over rows), written
    out: the encoder Jacobian's Frobenius norm from the explicit Jacobian."""
    total = 0.0
    for x, s in zip(np.asarray(X, dtype=np.float64), sample_weight, strict=True):
        h = 1.0 / (1.0 + np.exp(-(x @ W + c)))
        r = h @ W.T + br
        J = (h * (1 - h))[:, None] * W.T  # (n_hidden, n_features)
        total += s * (0.5 * np.sum((r - x) ** 2) + contraction * np.sum(J * J))
    return total


# --- neighbors ---


def tangent_distance_reference(x, y, Tx, Ty=None):
    """Tangent distance of one pair by ``np.linalg.lstsq`` on stacked tangents.

    ``Tx`` (and ``Ty``) hold raw tangent vectors as rows.  One-sided
    (``Ty is None``): ``min_a ||x + Tx^T a - y||``; two-sided:
    ``min_{a,b} ||x + Tx^T a - y - Ty^T b||``, i.e. the residual of the
    least-squares fit of ``y - x`` by the columns ``[Tx^T, -Ty^T]``.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    A = np.asarray(Tx, np.float64).T
    if Ty is not None:
        A = np.hstack([A, -np.asarray(Ty, np.float64).T])
    target = y - x
    if A.shape[1] == 0:
        return float(np.linalg.norm(target))
    coef = np.linalg.lstsq(A, target, rcond=None)[0]
    return float(np.linalg.norm(A @ coef - target))


# --- metrics ---


def fd_input_gradient(loss, x, h=1e-6):
    """Central differences ``(loss(x + h e_j) - loss(x - h e_j)) / 2h``."""
    x = np.asarray(x, dtype=np.float64)
    g = np.empty_like(x)
    for j in range(x.shape[0]):
        e = np.zeros_like(x)
        e[j] = h
        g[j] = (loss(x + e) - loss(x - e)) / (2 * h)
    return g


def attack_reference(proba, X, y_idx, epsilon, attack="fgsm", steps=10,
                     step_size=None, clip=None, start=None, zero_tol=1e-8):
    """FGSM / L-inf PGD one sample at a time with finite-difference gradients.

    ``proba(x) -> class probabilities`` of one row.  FGSM:
    ``x + eps sign(g)`` (``g`` below ``zero_tol`` in magnitude counts as 0),
    clipped to the ball and the box.  PGD: the FGSM point is the first
    candidate; iterate from ``start`` (a given start point per row, else the
    FGSM point) ``x <- proj(x + step sign(g))``; keep the best candidate:
    misclassified beats correct, then larger loss.
    """
    X = np.asarray(X, dtype=np.float64)
    if step_size is None:
        step_size = 2.5 * epsilon / steps
    lo, hi = (-np.inf, np.inf) if clip is None else clip

    def project(z, x):
        return np.clip(np.clip(z, x - epsilon, x + epsilon), lo, hi)

    out = np.empty_like(X)
    for i in range(X.shape[0]):
        x, k = X[i], y_idx[i]

        def loss(z, k=k):
            return -np.log(proba(z)[k])

        def sign_grad(z, loss=loss):
            g = fd_input_gradient(loss, z)
            return np.where(np.abs(g) < zero_tol, 0.0, np.sign(g))

        def key(z, loss=loss, k=k):
            return (int(np.argmax(proba(z)) != k), loss(z))

        best = project(x + epsilon * sign_grad(x), x)
        if attack == "pgd":
            best_key = key(best)
            cur = best.copy() if start is None else project(start[i], x)
            for _ in range(steps):
                cur = project(cur + step_size * sign_grad(cur), x)
                if key(cur) > best_key:
                    best, best_key = cur.copy(), key(cur)
        out[i] = best
    return out


# --- decomposition (continued) ---


def ksvd_sweep_reference(R, code, D):
    """One K-SVD atom sweep with ``numpy.linalg.svd``, on float64 copies.

    For each atom ``j`` in turn, ``E = R[omega] + code[omega, j] d_j^T`` over
    the signals ``omega`` whose code uses ``j`` is replaced by its best rank-1
    approximation: ``d_j`` becomes the leading right singular vector of ``E``
    (signed so that it does not point away from the old atom), the codes
    become ``E d_j`` and the residual ``E - (E d_j) d_j^T``.  Returns
    ``(R, code, D, n_used)`` as new arrays.
    """
    R, code, D = (np.array(a, dtype=np.float64) for a in (R, code, D))
    omegas = [np.flatnonzero(code[:, j]) for j in range(D.shape[0])]
    for j, omega in enumerate(omegas):
        if omega.size == 0:
            continue
        E = R[omega] + np.outer(code[omega, j], D[j])
        v = np.linalg.svd(E, full_matrices=False)[2][0]
        if v @ D[j] < 0:
            v = -v
        D[j] = v
        code[omega, j] = E @ v
        R[omega] = E - np.outer(E @ v, v)
    return R, code, D, np.array([omega.size for omega in omegas])


# --- neural_network: convolution and pooling (NHWC) ---


def _same_padding(size, kernel, stride):
    """TensorFlow's 'same': ``ceil(size / stride)`` outputs, the total zero
    padding split with the smaller half before the image."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d_reference(X, W, b, image, stride, pad):
    """2-D cross-correlation of NHWC images, one output value at a time.

    ``X`` has rows flattened over ``image = (H, W, Cin)``; ``W`` has shape
    ``(KH, KW, Cin, Cout)``, ``b`` shape ``(Cout,)``.  ``pad`` is
    ``'valid'``, ``'same'`` (TensorFlow's rule) or the zeros
    ``(top, bottom, left, right)``.  The image is zero-padded with
    ``np.pad`` and every output is ``sum(window * W[..., co]) + b[co]``.
    Returns ``(nb, OH, OW, Cout)`` in float64.
    """
    H, Wd, Cin = image
    X = np.asarray(X, dtype=np.float64).reshape(-1, H, Wd, Cin)
    W = np.asarray(W, dtype=np.float64)
    KH, KW, _, Cout = W.shape
    if pad == "valid":
        pad = (0, 0, 0, 0)
    elif pad == "same":
        pad = _same_padding(H, KH, stride) + _same_padding(Wd, KW, stride)
    top, bottom, left, right = pad
    Xp = np.pad(X, ((0, 0), (top, bottom), (left, right), (0, 0)))
    OH = (Xp.shape[1] - KH) // stride + 1
    OW = (Xp.shape[2] - KW) // stride + 1
    out = np.empty((X.shape[0], OH, OW, Cout))
    for n in range(X.shape[0]):
        for oh in range(OH):
            for ow in range(OW):
                i, j = oh * stride, ow * stride
                window = Xp[n, i : i + KH, j : j + KW, :]
                for co in range(Cout):
                    out[n, oh, ow, co] = np.sum(window * W[..., co]) + b[co]
    return out


def _pool_reference(A, image, p, reduce):
    H, Wd, C = image
    ph, pw = (p, p) if np.ndim(p) == 0 else p
    A = np.asarray(A, dtype=np.float64).reshape(-1, H, Wd, C)
    OH, OW = H // ph, Wd // pw  # floor: trailing pixels fill no window
    out = np.empty((A.shape[0], OH, OW, C))
    for n in range(A.shape[0]):
        for oh in range(OH):
            for ow in range(OW):
                for c in range(C):
                    window = A[n, oh * ph : oh * ph + ph, ow * pw : ow * pw + pw, c]
                    out[n, oh, ow, c] = reduce(window)
    return out


def maxpool_reference(A, image, p):
    """``p x p`` (or ``ph x pw`` for a pair ``p``) max pooling with the
    window as stride, of NHWC rows over ``image = (H, W, C)``, floor output
    size; ``(nb, OH, OW, C)``."""
    return _pool_reference(A, image, p, np.max)


def avgpool_reference(A, image, p):
    """``p x p`` average pooling with stride ``p``, as
    :func:`maxpool_reference`."""
    return _pool_reference(A, image, p, np.mean)


def conv_net_logits(X, image, conv, coefs, intercepts, activation):
    """The last pre-activation of a network of convolutions (specs as
    ``Layout.convolutional`` reads them: ``stride``, ``padding``, ``pool``,
    ``pool_type``), then dense layers, one layer at a time from the loop
    references above (float64)."""
    n = len(X)
    A = np.asarray(X, dtype=np.float64).reshape(n, *image)
    for spec, W, b in zip(conv, coefs, intercepts, strict=False):
        pad = spec["padding"]
        pad = (pad,) * 4 if isinstance(pad, int) else pad
        Z = conv2d_reference(A.reshape(n, -1), W, b, A.shape[1:], spec["stride"], pad)
        A = _mlp_act(Z, activation)
        if spec.get("pool"):
            pool = {"max": maxpool_reference, "avg": avgpool_reference}
            pool = pool[spec["pool_type"]]
            A = pool(A.reshape(n, -1), A.shape[1:], spec["pool"])
    h = A.reshape(n, -1)
    for l in range(len(conv), len(coefs)):
        h = h @ coefs[l] + intercepts[l]
        if l < len(coefs) - 1:
            h = _mlp_act(h, activation)
    return h
