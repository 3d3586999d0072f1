"""Serving latency of fitted models: skreg vs scikit-learn, PyTorch, onnxruntime.

Every skreg neural estimator is fitted briefly (``--max-iter`` epochs: this
measures serving, not accuracy), then its weights are copied into peers that
compute the same function, and the time per call of ``predict_proba``
(classifiers) or ``predict`` (regressors) is measured side by side, in one
process:

* scikit-learn: its ``MLPClassifier`` / ``MLPRegressor`` fitted on a few rows
  for the attributes, then given copies of skreg's ``coefs_`` /
  ``intercepts_`` (bagging: a ``BaggingClassifier`` / ``BaggingRegressor`` of
  5 such members, with skreg's ``estimators_features_``);
* PyTorch: ``nn.Sequential`` of ``Linear`` / activation / ``Softmax`` with the
  same weights (the conv net: ``Conv2d`` fed NHWC rows, flattened back in
  NHWC order), called under ``torch.inference_mode()``;
* onnxruntime: the scikit-learn twin converted by skl2onnx, float32 and
  float64, one reused ``InferenceSession`` each (input pre-cast to the
  session's dtype, untimed); and, when ``skreg.utils.onnx.to_onnx`` exists,
  the skreg model's own export ("ort skreg").

Data: load_digits scaled to [0, 1] (64 features, 10 classes) for 64-256-10
nets, and the digits upsampled to 28x28 (``bench_mlp.shape_a``:
``scipy.ndimage.zoom``, order 1, plus shifted copies) for 784-256-10 nets.
Regressors learn the digit's label as a float (one output).  The conv net is
``MLPClassifier(conv_layers=[(16, 3)], image_shape=(8, 8),
hidden_layer_sizes=(32,))`` on the 8x8 digits.

Latency: time per call at 1, 10, 100 and 1,000 rows (plus 10,000 rows for
MLPClassifier), best of ``--repeats`` interleaved measurements of N calls,
N chosen so one measurement takes about ``--target`` seconds.  ratio =
skreg time / peer time (below 1: skreg is faster).  Concurrency: requests/s
of 8 Python threads sending 1-row requests to one shared model for
``--duration`` s, and whether every threaded answer equals the sequential
answer to the same request exactly.  Fit time and the first calls after
fit (compile time, if any) are reported separately, and a summary marks
each target PASS or MISS.

Threads: ``--threads 1`` runs everything with one thread (threadpoolctl
limit 1 for BLAS and OpenMP, ``numba.set_num_threads(1)``,
``torch.set_num_threads(1)``, onnxruntime ``intra_op_num_threads=1``);
``default`` leaves every library at its default; ``both`` (the default)
runs the tables twice.  The fits run under the first setting.

Usage: python benchmarks/bench_serving.py [--threads {1,default,both}]
       [--quick] [--repeats 5] [--target 0.2] [--duration 1.0]
       [--width {64,784,both}] [--only NAME ...] [--max-iter 20]
       [--dtype {float64,float32}]

A full run (both thread settings) takes about half an hour on two cores;
``--quick`` (few sizes, one short repeat) is a smoke test of a few minutes,
most of it numba compiling the first fit of each kind of model.
"""

import argparse
import contextlib
import gc
import os
import platform
import sys
import threading
import time
import warnings

import numba
import numpy as np
import scipy
import sklearn
from sklearn.datasets import load_digits
from sklearn.ensemble import BaggingClassifier, BaggingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from threadpoolctl import threadpool_info, threadpool_limits

import skreg
from skreg.ensemble import BaggedMLPClassifier, BaggedMLPRegressor
from skreg.neural_network import (
    AdversarialMLPClassifier,
    AdversarialMLPRegressor,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
    ManifoldTangentClassifier,
    MLPClassifier,
    MLPRegressor,
    TangentPropMLPClassifier,
    TangentPropMLPRegressor,
)

warnings.simplefilter("ignore", ConvergenceWarning)

HIDDEN = (256,)
CONV = [(16, 3)]
CONV_HIDDEN = (32,)
N_THREADS_CONCURRENT = 8
DTYPES = (np.float64, np.float32)
#: the plain network each variant is held to (within 1.2x at every size)
PLAIN = {"clf": "MLPClassifier", "reg": "MLPRegressor"}
VARIANTS = [
    "DropoutMLPClassifier", "AdversarialMLPClassifier",
    "TangentPropMLPClassifier", "ManifoldTangentClassifier",
    "DropoutMLPRegressor", "AdversarialMLPRegressor", "TangentPropMLPRegressor",
]  # fmt: skip


# --------------------------------------------------------------- optional peers
def _optional(name):
    try:
        return __import__(name)
    except ImportError as exc:
        print(f"{name} not importable ({exc}): its columns are skipped")
        return None


torch = _optional("torch")
ort = _optional("onnxruntime")
skl2onnx = _optional("skl2onnx")
TORCH_DEFAULT_THREADS = torch.get_num_threads() if torch is not None else None


def _skreg_to_onnx():
    """``skreg.utils.onnx.to_onnx`` if this skreg has it, else a reason."""
    try:
        from skreg.utils.onnx import to_onnx
    except ImportError as exc:
        return None, f"skreg.utils.onnx not importable ({exc})"
    return to_onnx, None


# ------------------------------------------------------------------------ data
def digits64():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def digits784(n):
    """bench_mlp's shape A (digits upsampled to 28x28 by ``ndimage.zoom``,
    order 1, and shifted), train and test rows together."""
    from bench_mlp import shape_a  # the script's own folder is on sys.path

    Xtr, Xte, ytr, yte = shape_a(n)
    return np.vstack([Xtr, Xte]), np.concatenate([ytr, yte])


def fit_rows(X, y, n):
    """The first ``n`` rows, with at least one of every class first."""
    first = [int(np.flatnonzero(y == c)[0]) for c in np.unique(y)]
    rest = np.setdiff1d(np.arange(len(y)), first)[: max(0, n - len(first))]
    idx = np.concatenate([first, rest])
    return X[idx], y[idx]


# --------------------------------------------------------------------- models
def make_estimators(max_iter, cae_max_iter):
    """name -> (kind, constructor) of every timed skreg estimator (dense)."""
    c = dict(hidden_layer_sizes=HIDDEN, max_iter=max_iter, random_state=0)
    return {
        "MLPClassifier": ("clf", lambda: MLPClassifier(**c)),
        "DropoutMLPClassifier": ("clf", lambda: DropoutMLPClassifier(**c)),
        "AdversarialMLPClassifier": ("clf", lambda: AdversarialMLPClassifier(**c)),
        # image tangents (the default), 8x8 or 28x28 inferred from the width
        "TangentPropMLPClassifier": ("clf", lambda: TangentPropMLPClassifier(**c)),
        "ManifoldTangentClassifier": (
            "clf",
            lambda: ManifoldTangentClassifier(**c, cae_max_iter=cae_max_iter),
        ),
        "MLPRegressor": ("reg", lambda: MLPRegressor(**c)),
        "DropoutMLPRegressor": ("reg", lambda: DropoutMLPRegressor(**c)),
        "AdversarialMLPRegressor": ("reg", lambda: AdversarialMLPRegressor(**c)),
        "TangentPropMLPRegressor": ("reg", lambda: TangentPropMLPRegressor(**c)),
        "BaggedMLPClassifier": (
            "clf",
            lambda: BaggedMLPClassifier(
                MLPClassifier(**c), n_estimators=5, random_state=0
            ),
        ),
        "BaggedMLPRegressor": (
            "reg",
            lambda: BaggedMLPRegressor(
                MLPRegressor(**c), n_estimators=5, random_state=0
            ),
        ),
    }


def _copies(arrays):
    return [np.array(a, copy=True) for a in arrays]


def sklearn_twin(est, X, y, kind):
    """A scikit-learn MLP computing ``est``'s function: fitted on a few rows
    (one of each class) for its attributes, then given copies of
    ``est``'s weights."""
    hidden = tuple(int(c.shape[1]) for c in est.coefs_[:-1])
    cls = SkMLPClassifier if kind == "clf" else SkMLPRegressor
    twin = cls(hidden_layer_sizes=hidden, activation=est.activation, max_iter=1,
               random_state=0)  # fmt: skip
    Xf, yf = fit_rows(X, y, 20)
    twin.fit(Xf.astype(est.coefs_[0].dtype), yf)
    for attr in ("n_outputs_", "out_activation_"):
        if getattr(twin, attr) != getattr(est, attr, getattr(twin, attr)):
            raise RuntimeError(
                f"sklearn twin of {type(est).__name__}: {attr} "
                f"{getattr(twin, attr)!r} != {getattr(est, attr)!r}"
            )
    if kind == "clf" and not np.array_equal(twin.classes_, est.classes_):
        raise RuntimeError("sklearn twin has other classes")
    for mine, theirs in zip(est.coefs_, twin.coefs_, strict=True):
        if mine.shape != theirs.shape:
            raise RuntimeError(f"weight shapes differ: {mine.shape} {theirs.shape}")
    twin.coefs_ = _copies(est.coefs_)
    twin.intercepts_ = _copies(est.intercepts_)
    return twin


def sklearn_bagging_twin(bag, X, y, kind):
    """scikit-learn bagging with the same members (copied weights) and the
    same feature subsets."""
    member = sklearn_twin(bag.estimators_[0], X, y, kind)
    cls = BaggingClassifier if kind == "clf" else BaggingRegressor
    twin = cls(
        sklearn.base.clone(member), n_estimators=len(bag.estimators_),
        bootstrap=False, random_state=0,
    )  # fmt: skip
    Xf, yf = fit_rows(X, y, 20)  # every member sees every class
    twin.fit(Xf.astype(bag.estimators_[0].coefs_[0].dtype), yf)
    for sk_member, est in zip(twin.estimators_, bag.estimators_, strict=True):
        sk_member.coefs_ = _copies(est.coefs_)
        sk_member.intercepts_ = _copies(est.intercepts_)
    twin.estimators_features_ = _copies(bag.estimators_features_)
    return twin


_TORCH_ACT = {"relu": "ReLU", "tanh": "Tanh", "logistic": "Sigmoid",
              "identity": "Identity"}  # fmt: skip


def _linear(W, b):
    nn = torch.nn
    lin = nn.Linear(W.shape[0], W.shape[1], dtype=_torch_dtype(W.dtype))
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
        lin.bias.copy_(torch.from_numpy(np.array(b)))
    return lin


def _torch_dtype(dtype):
    return torch.float32 if dtype == np.float32 else torch.float64


def torch_twin(est, kind, image=None):
    """``nn.Sequential`` with copies of ``est``'s weights.  A 4-D coef is a
    convolution's ``(KH, KW, Cin, Cout)`` filters (stride 1, 'valid', no
    pooling: the conv net timed here); ``image`` is ``(H, W, C)``."""
    nn = torch.nn
    act = getattr(nn, _TORCH_ACT[est.activation])
    layers = []
    if image is not None:
        layers.append(_NHWCToNCHW(image))
    L = len(est.coefs_)
    for l, (W, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        if W.ndim == 4:
            kh, kw, cin, cout = W.shape
            conv = nn.Conv2d(cin, cout, (kh, kw), dtype=_torch_dtype(W.dtype))
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.array(W.transpose(3, 2, 0, 1))))
                conv.bias.copy_(torch.from_numpy(np.array(b)))
            layers += [conv, act()]
            if l + 1 < L and est.coefs_[l + 1].ndim == 2:
                layers.append(_NHWCFlatten())
            continue
        layers.append(_linear(W, b))
        if l < L - 1:
            layers.append(act())
    if kind == "clf":
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers).eval()


if torch is not None:

    class _NHWCToNCHW(torch.nn.Module):
        """Flat NHWC rows (skreg's layout) to the NCHW tensor Conv2d takes."""

        def __init__(self, image):
            super().__init__()
            self.image = tuple(image)

        def forward(self, x):
            return x.view(-1, *self.image).permute(0, 3, 1, 2)

    class _NHWCFlatten(torch.nn.Module):
        """NCHW feature maps flattened in skreg's NHWC order."""

        def forward(self, x):
            return x.permute(0, 2, 3, 1).flatten(1)


def sklearn_onnx(twin, X, kind, dtype):
    """skl2onnx's conversion of a scikit-learn model (probabilities as a
    tensor: no ZipMap), or None with a reason."""
    from skl2onnx.common.data_types import DoubleTensorType

    options = {"zipmap": False} if kind == "clf" else None
    try:
        if dtype == np.float32:
            onx = skl2onnx.to_onnx(twin, X[:1].astype(np.float32), options=options)
        else:
            onx = skl2onnx.to_onnx(
                twin, initial_types=[("X", DoubleTensorType([None, X.shape[1]]))],
                options=options,
            )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - a converter's limit, reported
        return None, f"skl2onnx: {type(exc).__name__}: {exc}"[:160]
    return onx.SerializeToString(), None


def skreg_onnx(est, X, kind, dtype):
    """skreg's own export of ``est`` (``skreg.utils.onnx.to_onnx``, in
    ``dtype``, probabilities as a tensor) as bytes, or None with a reason."""
    to_onnx, why = _skreg_to_onnx()
    if to_onnx is None:
        return None, why
    options = {"zipmap": False} if kind == "clf" else None
    try:
        onx = to_onnx(est, X[:1].astype(dtype), options=options, dtype=dtype)
    except Exception as exc:  # noqa: BLE001 - an export's limit, reported
        return None, f"skreg to_onnx raised {type(exc).__name__}: {exc}"[:160]
    return onx.SerializeToString(), None


# ----------------------------------------------------------------------- peers
class Peer:
    """One way of serving a model: ``call(x)`` on an input of ``dtype``,
    inside ``context()`` (torch's inference mode)."""

    def __init__(self, label, call, dtype, context=contextlib.nullcontext):
        self.label, self.call, self.dtype, self.context = label, call, dtype, context


def skreg_peer(est, kind, label="skreg"):
    f = est.predict_proba if kind == "clf" else est.predict
    return Peer(label, f, _est_dtype(est))


def _est_dtype(est):
    first = est.estimators_[0] if hasattr(est, "estimators_") else est
    return first.coefs_[0].dtype


def sklearn_peer(twin, kind, label="sklearn"):
    f = twin.predict_proba if kind == "clf" else twin.predict
    first = twin.estimators_[0] if hasattr(twin, "estimators_") else twin
    return Peer(label, f, first.coefs_[0].dtype)


def torch_peer(model, dtype):
    from_numpy = torch.from_numpy

    def call(x):
        return model(from_numpy(x)).numpy()

    return Peer("torch", call, dtype, torch.inference_mode)


def ort_peer(label, onx, threads, n_out, n_features):
    """A reused InferenceSession; returns only the probabilities / values."""
    so = ort.SessionOptions()
    if threads == "1":
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onx, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    dtype = np.float64 if inp.type == "tensor(double)" else np.float32
    probe = sess.run(None, {inp.name: np.zeros((2, n_features), dtype=dtype)})
    names = [o.name for o in sess.get_outputs()]
    for name, value in zip(names, probe, strict=True):  # noqa: B007 - used after
        value = np.asarray(value)
        if value.dtype.kind == "f" and value.shape[0] == 2 and value.size == 2 * n_out:
            break
    else:
        raise RuntimeError(f"no output of {n_out} values per row among {names}")
    run, iname, outs = sess.run, inp.name, [name]

    def call(x):
        return run(outs, {iname: x})[0]

    return Peer(label, call, dtype)


# -------------------------------------------------------------------- timing
def _seconds(peer, x, n):
    call = peer.call
    with peer.context():
        enabled = gc.isenabled()
        gc.disable()
        try:
            t0 = time.perf_counter()
            for _ in range(n):
                call(x)
            return time.perf_counter() - t0
        finally:
            if enabled:
                gc.enable()


def calls_for(peer, x, target):
    """N such that N calls take about ``target`` seconds."""
    _seconds(peer, x, 1)  # warm (first call, caches)
    n = 1
    while True:
        t = _seconds(peer, x, n)
        if t >= target / 20 or n >= 10**6:
            return max(1, int(round(target * n / max(t, 1e-9))))
        n *= 8


def latency_table(peers, inputs, sizes, args):
    """Best seconds per call of every peer at every size (interleaved)."""
    best = {}
    for size in sizes:
        xs = {p.label: inputs[np.dtype(p.dtype)][size] for p in peers}
        ns = {p.label: calls_for(p, xs[p.label], args.target) for p in peers}
        times = {p.label: [] for p in peers}
        for _ in range(args.repeats):  # interleaved: drift hits every peer alike
            for p in peers:
                n = ns[p.label]
                times[p.label].append(_seconds(p, xs[p.label], n) / n)
        for label, v in times.items():
            best[label, size] = min(v)
    return best


def print_table(title, peers, best, sizes, notes=()):
    print(f"\n== {title}")
    for note in notes:
        print(f"   {note}")
    ref = peers[0].label
    head = f"{'rows':>6} {ref + ' us':>11}"
    for p in peers[1:]:
        head += f" | {p.label + ' us':>14} {'ratio':>6}"
    print(head)
    for size in sizes:
        t0 = best[ref, size]
        line = f"{size:>6} {t0 * 1e6:11.1f}"
        for p in peers[1:]:
            t = best[p.label, size]
            line += f" | {t * 1e6:14.1f} {t0 / t:6.2f}"
        print(line)


def agreement(peers, inputs, n=100):
    """Max |peer - skreg| over ``n`` rows, per peer."""
    ref = peers[0]
    out = {}
    with ref.context():
        r = np.ravel(ref.call(inputs[np.dtype(ref.dtype)][n])).astype(np.float64)
    for p in peers[1:]:
        if p.label == "1 skreg MLP":  # another model
            continue
        with p.context():
            v = np.ravel(p.call(inputs[np.dtype(p.dtype)][n])).astype(np.float64)
        out[p.label] = float(np.abs(v - r).max()) if v.shape == r.shape else np.nan
    return out


# ---------------------------------------------------------------- concurrency
def concurrent(peer, rows, n_threads, duration):
    """Requests/s of ``n_threads`` threads sending 1-row requests to one
    shared model, and whether each answer equals the sequential one."""
    barrier = threading.Barrier(n_threads + 1)
    results = [None] * n_threads

    def worker(t):
        call, n_rows = peer.call, len(rows)
        done, answers = [], []
        with peer.context():
            barrier.wait()
            t0 = time.perf_counter()
            end = t0 + duration
            j = t % n_rows
            try:
                while True:
                    answers.append(call(rows[j]))
                    done.append(j)
                    j = (j + n_threads) % n_rows
                    if time.perf_counter() >= end:
                        break
            except Exception as exc:  # noqa: BLE001 - re-raised by the caller
                results[t] = exc
                return
            t1 = time.perf_counter()
        results[t] = (done, answers, t0, t1)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    barrier.wait()
    for th in threads:
        th.join()
    for r in results:
        if isinstance(r, Exception):
            raise r
    n_calls = sum(len(r[0]) for r in results)
    span = max(r[3] for r in results) - min(r[2] for r in results)
    # the sequential answer to every request that was sent
    used = sorted({j for r in results for j in r[0]})
    with peer.context():
        ref = {j: peer.call(rows[j]) for j in used}
    equal = all(
        np.array_equal(a, ref[j])
        for r in results
        for j, a in zip(r[0], r[1], strict=True)
    )
    return n_calls / span, equal, n_calls


# ---------------------------------------------------------------------- header
def _version(mod):
    return getattr(mod, "__version__", "?") if mod is not None else "absent"


def header(args):
    print("skreg serving latency benchmark")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, scikit-learn {sklearn.__version__}, numba "
        f"{numba.__version__}, skreg {skreg.__version__}, torch {_version(torch)}, "
        f"onnxruntime {_version(ort)}, skl2onnx {_version(skl2onnx)}"
    )
    print(
        f"load average {os.getloadavg()}, {os.cpu_count()} CPUs, numba threads "
        f"{numba.get_num_threads()} ({numba.config.THREADING_LAYER} layer), torch "
        f"default threads {TORCH_DEFAULT_THREADS}"
    )
    print("thread pools (threadpoolctl):")
    for info in threadpool_info():
        print(
            f"  {info['user_api']:6s} {info['internal_api']:9s} "
            f"{str(info.get('version')):14s} threads {info['num_threads']}  "
            f"arch {info.get('architecture', '-')}  "
            f"{info.get('threading_layer', '')}  {os.path.basename(info['filepath'])}"
        )
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("OPENBLAS", "OMP_", "MKL_", "NUMBA_", "GOTO"))
    }
    if env:
        print("environment: " + ", ".join(f"{k}={v}" for k, v in sorted(env.items())))
    if "OPENBLAS_CORETYPE" in env or "OPENBLAS_L2_SIZE" in env:
        print(
            "  note: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE override OpenBLAS's CPU "
            "detection (the 'arch' above is what it runs); numpy's, scipy's and "
            "skreg's BLAS follow it, torch (MKL/oneDNN) and onnxruntime do not"
        )
    to_onnx, why = _skreg_to_onnx()
    if ort is not None:
        print(
            "onnxruntime (skreg export): "
            + ("skreg.utils.onnx.to_onnx found" if to_onnx else f"skipped: {why}")
        )
    print(
        f"threads: {args.threads}; dtype {args.dtype}; best of {args.repeats} "
        f"repeats of ~{args.target} s; fits: {args.max_iter} epochs; ratio = skreg "
        "time / peer time (< 1: skreg faster)"
    )


@contextlib.contextmanager
def thread_setting(mode):
    """Every library on one thread (``'1'``) or at its defaults."""
    if mode == "default":
        if torch is not None:
            torch.set_num_threads(TORCH_DEFAULT_THREADS)
        yield
        return
    numba_threads = numba.get_num_threads()
    with threadpool_limits(limits=1):
        numba.set_num_threads(1)
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            numba.set_num_threads(numba_threads)
            if torch is not None:
                torch.set_num_threads(TORCH_DEFAULT_THREADS)


# ----------------------------------------------------------------------- cases
class Case:
    """A fitted skreg model and its twins (everything but the ORT sessions,
    which are built per thread setting)."""

    def __init__(self, name, width, kind, est, X, y):
        self.name, self.width, self.kind, self.est = name, width, kind, est
        self.n_out = len(est.classes_) if kind == "clf" else 1
        self.sk = self.torch = None
        self.onnx = {}  # label -> bytes
        self.notes = []
        self.X, self.y = X, y

    @property
    def key(self):
        return f"{self.name} {self.width}"


def build_case(name, kind, make, X, y, n_fit, first_calls):
    Xf, yf = fit_rows(X, y, n_fit)
    if kind == "reg":
        yf = yf.astype(np.float64)
    t0 = time.perf_counter()
    est = make().fit(Xf, yf)
    fit_s = time.perf_counter() - t0
    f = est.predict_proba if kind == "clf" else est.predict
    x1 = np.ascontiguousarray(X[:1])
    x1000 = np.ascontiguousarray(np.resize(X, (1000, X.shape[1])))
    t0 = time.perf_counter()
    f(x1)
    first1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    f(x1000)
    first1000 = time.perf_counter() - t0
    t0 = time.perf_counter()
    f(x1)
    second1 = time.perf_counter() - t0
    t0 = time.perf_counter()
    f(x1000)
    second1000 = time.perf_counter() - t0
    width = X.shape[1]
    first_calls.append(
        (f"{name} {width}", len(yf), fit_s, first1, first1000, second1, second1000)
    )
    case = Case(name, width, kind, est, X, y.astype(np.float64) if kind == "reg" else y)
    bagged = name.startswith("Bagged")
    conv = any(c.ndim == 4 for c in getattr(est, "coefs_", []))
    if not conv:  # scikit-learn has no convolutional network
        twin = sklearn_bagging_twin if bagged else sklearn_twin
        case.sk = twin(est, X, case.y, kind)
    if torch is not None and not bagged:
        image = (*est.image_shape, 1) if conv else None
        case.torch = torch_twin(est, kind, image)
    if ort is not None and skl2onnx is not None and case.sk is not None:
        for dt, label in ((np.float32, "ort f32"), (np.float64, "ort f64")):
            onx, why = sklearn_onnx(case.sk, X, kind, dt)
            if onx is None:
                case.notes.append(f"{label} skipped: {why}")
            else:
                case.onnx[label] = onx
    if ort is not None and _skreg_to_onnx()[0] is not None:
        for dt, label in ((np.float32, "ort skreg f32"), (np.float64, "ort skreg f64")):
            onx, why = skreg_onnx(est, X, kind, dt)
            if onx is None:
                case.notes.append(f"{label} skipped: {why}")
            else:
                case.onnx[label] = onx
    return case


def peers_of(case, mode, plain=None):
    peers = [skreg_peer(case.est, case.kind)]
    if plain is not None:  # bagging: one skreg member-sized network
        peers.append(skreg_peer(plain.est, plain.kind, "1 skreg MLP"))
    if case.sk is not None:
        peers.append(sklearn_peer(case.sk, case.kind))
    if case.torch is not None:
        peers.append(torch_peer(case.torch, _est_dtype(case.est)))
    for label, onx in case.onnx.items():
        try:
            peers.append(ort_peer(label, onx, mode, case.n_out, case.width))
        except Exception as exc:  # noqa: BLE001 - e.g. a bad skreg export
            print(f"   {label} skipped: {type(exc).__name__}: {exc}"[:160])
    return peers


def inputs_for(X, sizes):
    out = {}
    for dt in DTYPES:
        Xd = X.astype(dt)
        out[np.dtype(dt)] = {
            n: np.ascontiguousarray(np.resize(Xd, (n, X.shape[1])))
            for n in sorted(set(sizes) | {100})
        }
    return out


# --------------------------------------------------------------------- summary
#: summary columns: (heading, what the cell holds)
_TARGETS = [
    ("1 row <=0.5x sk", "skreg / sklearn at 1 row, target <= 0.5"),
    ("100 <=0.7x sk", "skreg / sklearn at 100 rows, target <= 0.7"),
    ("10k <=0.8x sk", "skreg / sklearn at 10,000 rows, target <= 0.8"),
    ("1 row <=1x ort", "skreg / the fastest onnxruntime session of skreg's dtype "
     "(the twin's or skreg's export) at 1 row, target <= 1"),
    ("<=1.2x plain", "skreg variant / skreg MLPClassifier (regressors: "
     "MLPRegressor) at its worst size, target <= 1.2"),
    ("other target", "Bagged(5) / one skreg MLP at 1 row <= 3; conv / torch at "
     "1 row <= 0.5"),
]  # fmt: skip


def _cell(value, limit, at_least=False):
    """``(text, ok)`` of one ratio against its limit, or blank."""
    if value is None or not np.isfinite(value):
        return "", None
    ok = value >= limit if at_least else value <= limit
    return f"{value:5.2f} {'PASS' if ok else 'MISS'}", ok


def _targets(case, best, results):
    """The summary cells of one case, by column."""
    labels = {lbl for lbl, _ in best}
    mine = {s: t for (lbl, s), t in best.items() if lbl == "skreg"}
    cells = {}
    if "sklearn" in labels:
        for col, size, limit in ((0, 1, 0.5), (1, 100, 0.7), (2, 10_000, 0.8)):
            if size in mine:
                cells[col] = _cell(mine[size] / best["sklearn", size], limit)
    # the same arithmetic: float32 sessions against a float32 model
    suffix = "f32" if _est_dtype(case.est) == np.float32 else "f64"
    orts = [lbl for lbl in labels if lbl.startswith("ort") and lbl.endswith(suffix)]
    if orts and 1 in mine:
        cells[3] = _cell(mine[1] / min(best[lbl, 1] for lbl in orts), 1.0)
    plain = results.get(f"{PLAIN[case.kind]} {case.width}")
    if case.name in VARIANTS and plain is not None:
        p = {s: t for (lbl, s), t in plain[1].items() if lbl == "skreg"}
        cells[4] = _cell(max(mine[s] / p[s] for s in mine if s in p), 1.2)
    if case.name.startswith("Bagged") and 1 in mine:
        text, ok = _cell(mine[1] / best["1 skreg MLP", 1], 3.0)
        cells[5] = (f"{text} (x1 MLP)", ok)
    if case.name == "conv MLPClassifier" and "torch" in labels:
        text, ok = _cell(mine[1] / best["torch", 1], 0.5)
        cells[5] = (f"{text} (/torch)", ok)
    return cells


def summary(mode, results, conc):
    """results: case key -> (case, best); conc: width -> {label: (rps8, ...)}."""
    print(f"\n== summary, threads={mode}: ratios against the targets")
    for head, what in _TARGETS:
        print(f"   {head:16s} {what}")
    oks = []
    line = f"{'model':30s}" + "".join(f" {h:>16s}" for h, _ in _TARGETS[:5])
    print(line + f" {_TARGETS[5][0]:>20s}")
    for key, (case, best) in results.items():
        cells = _targets(case, best, results)
        line = f"{key:30s}"
        for col in range(len(_TARGETS)):
            text, ok = cells.get(col, ("", None))
            line += f" {text:>{20 if col == 5 else 16}s}"
            if ok is not None:
                oks.append(ok)
        print(line.rstrip())
    for width, res in conc.items():
        if "skreg" in res and "sklearn" in res:
            text, ok = _cell(res["skreg"][0] / res["sklearn"][0], 1.5, at_least=True)
            oks.append(ok)
            print(f"{N_THREADS_CONCURRENT} threads, MLPClassifier {width}: skreg / "
                  f"sklearn requests/s {text} (target >= 1.5)")  # fmt: skip
    print(f"{sum(oks)} PASS, {len(oks) - sum(oks)} MISS (threads={mode})")


# ------------------------------------------------------------------------ main
def run_mode(mode, cases, sizes, big, args):
    print(f"\n######## threads={mode}: load average {os.getloadavg()}")
    results = {}
    by_key = {c.key: c for c in cases}
    for case in cases:
        sz = list(sizes)
        if case.name == "MLPClassifier" and big:
            sz.append(big)
        plain = None
        if case.name.startswith("Bagged"):
            plain = by_key.get(f"{PLAIN[case.kind]} {case.width}")
        peers = peers_of(case, mode, plain)
        inputs = inputs_for(case.X, sz)
        agree = agreement(peers, inputs)
        best = latency_table(peers, inputs, sz, args)
        results[case.key] = (case, best)
        what = "predict_proba" if case.kind == "clf" else "predict"
        notes = [
            "max |peer - skreg| on 100 rows: "
            + ", ".join(f"{k} {v:.1e}" for k, v in agree.items())
        ] + case.notes
        arch = f"{case.width}-" + "-".join(str(c.shape[-1]) for c in _coefs(case.est))
        print_table(
            f"{case.name} ({arch}, {np.dtype(_est_dtype(case.est)).name}, {what}), "
            f"threads={mode}",
            peers, best, sz, notes,
        )  # fmt: skip
    conc = {}
    for case in cases:
        if case.name != "MLPClassifier":
            continue
        peers = peers_of(case, mode)
        rows = [  # one request per row, in each dtype
            {np.dtype(dt): r[None].astype(dt, copy=False) for dt in DTYPES}
            for r in case.X[:512]
        ]
        print(
            f"\n== concurrency: MLPClassifier {case.width}-256-10, 1-row "
            f"predict_proba, one shared model, {args.duration} s, threads={mode}"
        )
        print(f"{'peer':14s} {'1 thread req/s':>15s} {'8 threads req/s':>16s} "
              f"{'8/1':>6s} {'8-thread == sequential':>23s}")  # fmt: skip
        res = {}
        for p in peers:
            prow = [r[np.dtype(p.dtype)] for r in rows]
            rps1, _, _ = concurrent(p, prow, 1, args.duration)
            rps8, equal, n = concurrent(p, prow, N_THREADS_CONCURRENT, args.duration)
            res[p.label] = (rps8, rps1, equal)
            print(f"{p.label:14s} {rps1:15.0f} {rps8:16.0f} {rps8 / rps1:6.2f} "
                  f"{str(equal):>14s} ({n} calls)")  # fmt: skip
        if "sklearn" in res:
            print(
                f"skreg / sklearn requests/s at 8 threads: "
                f"{res['skreg'][0] / res['sklearn'][0]:.2f}x"
            )
        conc[case.width] = res
    summary(mode, results, conc)


def _coefs(est):
    return est.estimators_[0].coefs_ if hasattr(est, "estimators_") else est.coefs_


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", choices=["1", "default", "both"], default="both")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: sizes 1 and 100, one short repeat, tiny fits")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target", type=float, default=0.2,
                    help="seconds per measurement (N calls)")
    ap.add_argument("--duration", type=float, default=1.0,
                    help="seconds of each concurrency run")
    ap.add_argument("--width", choices=["64", "784", "both"], default="both")
    ap.add_argument("--only", nargs="*", default=None,
                    help="estimator class names ('conv': the conv net) to time; "
                    "MLPClassifier (and MLPRegressor for regressors) always are")
    ap.add_argument("--max-iter", type=int, default=20)
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                    help="dtype of the fits (skreg, scikit-learn, torch twins)")
    args = ap.parse_args()  # fmt: skip
    sizes, big, n_fit, n784 = [1, 10, 100, 1000], 10_000, 1000, 4000
    cae_max_iter = 20
    if args.quick:
        sizes, n_fit, n784 = [1, 100], 300, 1000
        args.repeats, args.target, args.duration = 1, 0.02, 0.2
        args.max_iter, cae_max_iter = min(args.max_iter, 2), 2
    modes = ["1", "default"] if args.threads == "both" else [args.threads]
    header(args)

    data = {}
    if args.width in ("64", "both"):
        data[64] = digits64()
    if args.width in ("784", "both"):
        data[784] = digits784(n784)
    data = {w: (X.astype(args.dtype), y) for w, (X, y) in data.items()}
    specs = make_estimators(args.max_iter, cae_max_iter)
    names = list(specs) + ["conv MLPClassifier"]
    if args.only:
        only = {"conv MLPClassifier" if n == "conv" else n for n in args.only}
        if any(specs.get(n, ("clf",))[0] == "reg" for n in only):
            only.add("MLPRegressor")  # the regressors' plain reference
        names = [n for n in names if n in only or n == "MLPClassifier"]
    cases, first_calls = [], []
    with thread_setting(modes[0]):
        for width, (X, y) in data.items():
            for name in names:
                if name == "conv MLPClassifier":
                    if width != 64:
                        continue
                    kind, make = "clf", lambda: MLPClassifier(
                        CONV_HIDDEN, conv_layers=CONV, image_shape=(8, 8),
                        max_iter=args.max_iter, random_state=0,
                    )  # fmt: skip
                else:
                    kind, make = specs[name]
                cases.append(build_case(name, kind, make, X, y, n_fit, first_calls))
                print(f"fitted {name} {width}", flush=True)
    print(
        f"\n== fit and first calls (threads={modes[0]}; this process is fresh, so "
        "the first fit of each kind compiles or loads numba's cache)"
    )
    print(f"{'model':30s} {'fit rows':>8s} {'fit s':>7s} | first call ms: "
          f"{'1 row':>7s} {'1,000 rows':>10s} | second call ms: {'1 row':>7s} "
          f"{'1,000 rows':>10s}")  # fmt: skip
    for key, n, fit_s, f1, f1000, s1, s1000 in first_calls:
        print(f"{key:30s} {n:8d} {fit_s:7.2f} | {'':15s}{f1 * 1e3:7.2f} "
              f"{f1000 * 1e3:10.2f} | {'':16s}{s1 * 1e3:7.3f} "
              f"{s1000 * 1e3:10.2f}")  # fmt: skip
    for mode in modes:
        with thread_setting(mode):
            run_mode(mode, cases, sizes, big, args)
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
