"""Small problems and the finite-difference check the engine tests share."""

import numpy as np

from skreg.neural_network._engine import Layout, glorot_init

ACTIVATIONS = ["relu", "tanh", "logistic", "identity"]


def _problem(seed, n_classes, activation, n=9, units=(5, 4, 3)):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, units[0]))
    y = np.arange(n) % n_classes
    n_out = 1 if n_classes == 2 else n_classes
    layout = Layout(list(units) + [n_out])
    coefs, inter = glorot_init(
        list(units) + [n_out], activation, np.random.RandomState(seed), np.float64
    )
    # move pre-activations off relu's kink and into the interesting range
    coefs = [2.0 * c for c in coefs]
    theta = layout.pack(coefs, inter, np.float64)
    sw = rng.uniform(0.5, 2.0, n)
    return X, y, sw, layout, theta


def _fd_check(theta, f, eps=1e-5, rtol=1e-5, atol=1e-6):
    # eps 1e-5: the binary loss -log(1 - p) carries ~1e-12 rounding (as
    # scikit-learn computes it), which a smaller step would amplify.
    loss, grad = f(theta)
    num = np.empty_like(theta)
    for k in range(theta.size):
        tp = theta.copy()
        tm = theta.copy()
        tp[k] += eps
        tm[k] -= eps
        num[k] = (f(tp)[0] - f(tm)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, num, rtol=rtol, atol=atol)
    return loss


#: Images of the conv tests, and two architectures every conv test runs:
#: max pooling between two convolutions, and a strided 'same' convolution
#: whose average-pooled output feeds the dense layers.
CONV_IMAGE = (6, 5, 2)
CONV_ARCHS = {
    "same_max": [
        dict(filters=3, kernel_size=(3, 3), stride=1, padding="same", pool=2,
             pool_type="max"),
        dict(filters=2, kernel_size=(2, 2), stride=1, padding="valid", pool=0),
    ],
    "stride_avg": [
        dict(filters=4, kernel_size=(3, 2), stride=2, padding="same", pool=2,
             pool_type="avg"),
    ],
}  # fmt: skip


def conv_problem(image, conv, seed, n_out, activation="tanh", hidden=(4,)):
    """A convolutional layout and weights with pre-activations in the curved
    range of the activations: ``(layout, coefs, intercepts, theta)``."""
    from skreg.neural_network._engine import Layout, glorot_init_layout

    layout = Layout.convolutional(image, conv, hidden, n_out)
    rs = np.random.RandomState(seed)
    coefs, inter = glorot_init_layout(layout, activation, rs, np.float64)
    coefs = [2.0 * c for c in coefs]
    inter = [0.3 * rs.standard_normal(b.shape) for b in inter]
    return layout, coefs, inter, layout.pack(coefs, inter, np.float64)
