"""The layout of a network's flat parameter vector (offsets of every
layer's weights and intercepts, and of each layer's units in the work
buffers), for dense and convolutional networks, and the initial weights
(Glorot & Bengio 2010, as scikit-learn draws them)."""

import numpy as np


class Layout:
    """Offsets of the flat parameter vector of a network, and its layers.

    Parameters
    ----------
    units : sequence of int
        ``[n_features, hidden..., n_outputs]``: each layer's output width
        (a convolution's is ``OH * OW * filters``, before any pooling).
    layers : list of dict, optional
        Per layer, what :meth:`convolutional` computes (``fan_in``,
        ``fan_out``, ``kind``, ``geom``, ``pool`` rows); None: every layer
        dense, ``W_l`` of shape ``units[l] x units[l + 1]``.
    """

    #: Columns of a :func:`._conv.conv_geometry` row and of a pool row.
    N_GEOM = 11
    N_POOL = 9

    def __init__(self, units, layers=None):
        self.units = np.asarray(units, dtype=np.int64)
        L = len(self.units) - 1
        self.n_layers = L
        self.uoff = np.zeros(L + 2, dtype=np.int64)
        self.uoff[1:] = np.cumsum(self.units)
        if layers is None:
            self.fan_in = self.units[:-1].copy()
            self.fan_out = self.units[1:].copy()
            self.kind = np.zeros(L, dtype=np.int64)
            self.geom = np.zeros((L, self.N_GEOM), dtype=np.int64)
            self.pool = np.zeros((L, self.N_POOL), dtype=np.int64)
            self.coef_shapes = [
                (int(self.units[l]), int(self.units[l + 1])) for l in range(L)
            ]
        else:
            self.fan_in = np.array([d["fan_in"] for d in layers], dtype=np.int64)
            self.fan_out = np.array([d["fan_out"] for d in layers], dtype=np.int64)
            self.kind = np.array([d["kind"] for d in layers], dtype=np.int64)
            self.geom = np.array([d["geom"] for d in layers], dtype=np.int64)
            self.pool = np.array([d["pool"] for d in layers], dtype=np.int64)
            self.coef_shapes = [tuple(d["coef_shape"]) for d in layers]
        sizes = self.fan_in * self.fan_out
        self.w_off = np.zeros(L, dtype=np.int64)
        self.w_off[1:] = np.cumsum(sizes)[:-1]
        self.n_coef = int(sizes.sum())
        self.b_off = np.zeros(L, dtype=np.int64)
        self.b_off[:] = self.n_coef + np.concatenate(
            ([0], np.cumsum(self.fan_out)[:-1])
        )
        self.n_params = self.n_coef + int(self.fan_out.sum())
        # buffer row offsets of a net fed CSR rows: no input block
        self.sparse_uoff = np.zeros(L + 2, dtype=np.int64)
        self.sparse_uoff[2:] = np.cumsum(self.units[1:])

    @property
    def is_convolutional(self):
        return bool(self.kind.any() or self.pool[:, 0].any())

    @property
    def n_pooled(self):
        """Pooled values per row over every pooled layer input."""
        pooled = self.pool[:, 0] != 0
        return int(
            (self.pool[pooled, 5] * self.pool[pooled, 6] * self.pool[pooled, 3]).sum()
        )

    @property
    def n_cols(self):
        """Entries of the largest convolution's im2col matrix, per row."""
        g = self.geom[self.kind == 1]
        if g.shape[0] == 0:
            return 0
        return int((g[:, 8] * g[:, 9] * g[:, 3] * g[:, 4] * g[:, 2]).max())

    @classmethod
    def convolutional(cls, image, conv, hidden, n_outputs):
        """The layout of convolutions, then dense hidden layers, then the
        output layer.

        Parameters
        ----------
        image : tuple of int
            ``(H, W, C)`` of the input rows (channels last).
        conv : list of dict
            Per convolution: ``filters``, ``kernel_size`` (kh, kw),
            ``stride``, ``padding`` ('valid', 'same' or an int), ``pool``
            (window and stride, an int or a ``(height, width)`` pair; 0
            for none) and ``pool_type`` ('max',
            'avg').  Pooling is stored on the next layer as the pooling of
            its input.
        hidden : sequence of int
            Dense hidden widths after the flatten.
        n_outputs : int
        """
        from ._conv import conv_geometry, pool_geometry
        from ._records import LayerKind, PoolKind

        H, W, C = (int(v) for v in image)
        units = [H * W * C]
        layers = []
        pending = np.zeros(cls.N_POOL, dtype=np.int64)
        pool_off = 0

        def take_pool():
            row = pending.copy()
            pending[:] = 0
            return row

        for spec in conv:
            kh, kw = spec["kernel_size"]
            f = int(spec["filters"])
            g = conv_geometry(H, W, C, kh, kw, f, spec["stride"], spec["padding"])
            layers.append(
                dict(
                    fan_in=kh * kw * C,
                    fan_out=f,
                    kind=int(LayerKind.CONV),
                    geom=g,
                    pool=take_pool(),
                    coef_shape=(kh, kw, C, f),
                )
            )
            H, W, C = int(g[8]), int(g[9]), f
            units.append(H * W * C)
            p = spec.get("pool", 0) or 0
            ph, pw = (p, p) if np.ndim(p) == 0 else p
            if ph * pw > 1:
                pg = pool_geometry(H, W, C, ph, pw)
                kind = (
                    PoolKind.MAX
                    if spec.get("pool_type", "max") == "max"
                    else PoolKind.AVG
                )
                pending[0] = int(kind)
                pending[1:8] = pg
                pending[8] = pool_off
                H, W = int(pg[4]), int(pg[5])
                pool_off += H * W * C
        width = H * W * C  # the flattened (pooled) conv output
        for n in [*hidden, n_outputs]:
            n = int(n)
            layers.append(
                dict(
                    fan_in=width,
                    fan_out=n,
                    kind=int(LayerKind.DENSE),
                    geom=np.zeros(cls.N_GEOM, dtype=np.int64),
                    pool=take_pool(),
                    coef_shape=(width, n),
                )
            )
            units.append(n)
            width = n
        return cls(units, layers)

    @classmethod
    def from_coefs(cls, coefs):
        return cls([coefs[0].shape[0]] + [c.shape[1] for c in coefs])

    def pack(self, coefs, intercepts, dtype):
        theta = np.empty(self.n_params, dtype=dtype)
        for l in range(self.n_layers):
            a, b = self.fan_in[l], self.fan_out[l]
            theta[self.w_off[l] : self.w_off[l] + a * b] = np.asarray(coefs[l]).ravel()
            theta[self.b_off[l] : self.b_off[l] + b] = np.asarray(intercepts[l]).ravel()
        return theta

    def unpack(self, theta):
        """Separate, owned arrays (plain numpy: pickle/skops-safe); a
        convolution's filters as ``(KH, KW, Cin, Cout)``."""
        coefs, intercepts = [], []
        for l in range(self.n_layers):
            a, b = int(self.fan_in[l]), int(self.fan_out[l])
            coefs.append(
                theta[self.w_off[l] : self.w_off[l] + a * b]
                .reshape(self.coef_shapes[l])
                .copy()
            )
            intercepts.append(theta[self.b_off[l] : self.b_off[l] + b].copy())
        return coefs, intercepts

    def views(self, theta):
        """``(coefs, intercepts)`` as views of ``theta`` (which then holds a
        fitted model's parameters once, for training and serving alike; a
        pickle stores each view as an array of its own)."""
        coefs, intercepts = [], []
        for l in range(self.n_layers):
            a, b = int(self.fan_in[l]), int(self.fan_out[l])
            w = int(self.w_off[l])
            coefs.append(theta[w : w + a * b].reshape(self.coef_shapes[l]))
            c = int(self.b_off[l])
            intercepts.append(theta[c : c + b])
        return coefs, intercepts

    def shapes(self):
        return (
            list(self.coef_shapes),
            [(int(self.fan_out[l]),) for l in range(self.n_layers)],
        )


def glorot_init_layout(layout, activation, random_state, dtype):
    """:func:`glorot_init` for any :class:`Layout`: a convolution's fans are
    those of its receptive field, ``KH*KW*Cin`` and ``KH*KW*Cout`` (Glorot
    & Bengio 2010 count the units a weight connects; Keras'
    ``glorot_uniform`` counts them so for conv kernels), its filters drawn
    in ``(KH, KW, Cin, Cout)`` order, then its intercepts."""
    if not layout.is_convolutional:
        return glorot_init(layout.units, activation, random_state, dtype)
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for l in range(layout.n_layers):
        shape = layout.coef_shapes[l]
        fan_in, fan_out = int(layout.fan_in[l]), int(layout.fan_out[l])
        if layout.kind[l] != 0:
            fan_out *= int(shape[0] * shape[1])
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(random_state.uniform(-bound, bound, shape).astype(dtype))
        intercepts.append(
            random_state.uniform(-bound, bound, int(layout.fan_out[l])).astype(dtype)
        )
    return coefs, intercepts


def glorot_init(units, activation, random_state, dtype):
    """scikit-learn's initialisation, drawn in scikit-learn's order.

    Uniform on ``[-s, s]``, ``s = sqrt(f / (fan_in + fan_out))`` with
    ``f = 2`` for logistic units and 6 otherwise (Glorot & Bengio 2010), for
    the weights then the intercept of each layer.  With the same
    ``RandomState`` this gives scikit-learn's initial weights bit for bit.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:], strict=False):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(
            random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)
        )
        intercepts.append(random_state.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts
