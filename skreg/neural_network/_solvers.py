"""The solvers of the training loop: L-BFGS on every row at once, and the
minibatch solvers (sgd, adam) with scikit-learn's learning-rate schedules,
early stopping, ``verbose`` lines and Ctrl-C handling.

:class:`SolverMixin` is one half of
:class:`~skreg.neural_network._base.BaseMultilayerPerceptron`: the base
validates the data, sets up the parameters and the engine configuration,
then hands the packed parameter vector to ``_fit_lbfgs`` or
``_fit_stochastic``, which return the trained vector.  Both drive the same
:class:`~skreg.neural_network._engine.Engine`, whatever the technique.
"""

import time
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ._engine import Engine, Status


def _nonfinite_error(where, what="training loss"):
    return ValueError(
        f"The {what} became non-finite (inf or NaN) during {where}; the "
        "model would predict NaN. Reduce learning_rate_init (or the regularizer "
        "strengths), or scale the input features."
    )


class SolverMixin:
    """``_fit_lbfgs`` and ``_fit_stochastic`` for the MLP base class."""

    def _fit_lbfgs(self, X, y_idx, sw, layout, theta, cfg, out_kind, tangents):
        dtype = theta.dtype
        n = X.shape[0]
        k = 0 if tangents is None else tangents.shape[1]
        engine = Engine(
            cfg, layout, out_kind, dtype, n, n_tangents=k, sparse=sp.issparse(X)
        )
        th = np.empty_like(theta)
        state = engine.state(th)
        data = engine.data(X, y_idx, sw, tangents)
        idx = np.arange(n, dtype=np.int64)
        self._announce_compile(engine, state, data, idx, dtype)

        def fun(x):
            th[:] = x
            loss = engine.objective(state, data, idx)
            if not np.isfinite(loss):
                raise _nonfinite_error("L-BFGS")
            return loss, state.grad.astype(np.float64)

        options = {"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol}
        res = scipy.optimize.minimize(
            fun, theta.astype(np.float64), method="L-BFGS-B", jac=True, options=options
        )
        n_iter = int(res.nit)
        if res.status != 0 and n_iter >= self.max_iter:
            warnings.warn(
                f"lbfgs failed to converge after {n_iter} iteration(s) (status="
                f"{res.status}): {res.message}.\nIncrease the number of iterations "
                f"to improve the convergence (max_iter={self.max_iter}).",
                ConvergenceWarning,
                stacklevel=4,
            )
        elif res.status != 0:
            warnings.warn(
                f"lbfgs stopped (status={res.status}): {res.message}",
                ConvergenceWarning,
                stacklevel=4,
            )
        self.n_iter_ = n_iter
        self.loss_ = float(res.fun)
        return res.x.astype(dtype)

    def _announce_compile(self, engine, state, data, order, dtype):
        """With ``verbose``, say so before a fit waits for the compiler."""
        if self.verbose and engine.will_compile(state, data, order):
            print(
                f"compiling kernels for {np.dtype(dtype).name} "
                f"({engine.mode} training), first use only"
            )

    def _fit_stochastic(
        self, X, y_idx, sw, layout, theta, cfg, out_kind, rs, incremental, tangents
    ):
        dtype = theta.dtype
        v_shape = theta.shape if self.solver == "adam" else (1,)
        if (
            not incremental
            or not hasattr(self, "_opt_m")
            or self._opt_m.shape != theta.shape
            or self._opt_v.shape != v_shape  # the solver changed
        ):
            # a fresh optimizer, as scikit-learn makes one per fit
            self._opt_m = np.zeros_like(theta)
            self._opt_v = np.zeros(v_shape, dtype=dtype)
            self._opt_t = 0
            self._learning_rate = float(self.learning_rate_init)
        elif self._opt_m.dtype != dtype:
            self._opt_m = self._opt_m.astype(dtype)
            self._opt_v = self._opt_v.astype(dtype)

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            stratify = self._stratify(y_idx, out_kind)
            idx_all = np.arange(X.shape[0])
            idx_train, idx_val = train_test_split(
                idx_all,
                random_state=rs,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            if idx_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            X_val = _take_rows(X, idx_val)
            y_val = y_idx[idx_val]
            sw_val = sw[idx_val]
            X_tr = _take_rows(X, idx_train)
            y_tr = np.ascontiguousarray(y_idx[idx_train])
            sw_tr = np.ascontiguousarray(sw[idx_train])
            tv_tr = None if tangents is None else tangents[idx_train]
        else:
            X_tr, y_tr, sw_tr, tv_tr = X, y_idx, sw, tangents

        n = X_tr.shape[0]
        if self.batch_size == "auto":
            bs = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is "
                    "going to be clipped",
                    stacklevel=4,
                )
            bs = int(np.clip(self.batch_size, 1, n))

        # None: one stream of minibatches of bs rows, reshuffled each epoch
        streams = self._minibatch_streams(y_tr, bs)
        rows = bs if streams is None else streams.batch_rows
        k = 0 if tangents is None else tangents.shape[1]
        engine = Engine(
            cfg, layout, out_kind, dtype, rows, n_tangents=k, sparse=sp.issparse(X)
        )
        state = engine.state(theta, self._opt_m, self._opt_v)
        data = engine.data(X_tr, y_tr, sw_tr, tv_tr)
        seed = int(getattr(self, "_dropout_seed", 0))
        sample_idx = np.arange(n, dtype=np.int64)
        self._announce_compile(engine, state, data, sample_idx, dtype)
        best_theta = theta.copy() if early_stopping else None
        start = time.perf_counter()
        # set by an ensemble that trains this network among others: a stop
        # requested there ends this fit between two epochs
        stop = getattr(self, "_stop_event", None)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if stop is not None and stop.is_set():
                    raise KeyboardInterrupt
                if streams is not None:
                    order = streams.epoch(rs, self.shuffle)
                else:
                    if self.shuffle:
                        sample_idx = _shuffle_like_sklearn(sample_idx, rs)
                    order = sample_idx
                status, acc, self._step, self._opt_t = engine.run_epoch(
                    state,
                    data,
                    order,
                    seed,
                    self._step,
                    self._opt_t,
                    self._learning_rate,
                )
                if status != Status.OK:
                    raise _nonfinite_error(f"epoch {self.n_iter_ + 1}")
                self.n_iter_ += 1
                self.loss_ = float(acc / order.shape[0])
                self.t_ += order.shape[0]
                self.loss_curve_.append(self.loss_)

                if early_stopping:
                    score = self._validation_score(
                        X_val, y_val, sw_val, theta, layout, out_kind
                    )
                    self.validation_scores_.append(score)
                    if score < self.best_validation_score_ + self.tol:
                        self._no_improvement_count += 1
                    else:
                        self._no_improvement_count = 0
                    if score > self.best_validation_score_:
                        self.best_validation_score_ = score
                        best_theta[:] = theta
                else:
                    if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                        self._no_improvement_count += 1
                    else:
                        self._no_improvement_count = 0
                    if self.loss_curve_[-1] < self.best_loss_:
                        self.best_loss_ = self.loss_curve_[-1]
                if self.verbose:
                    val = (
                        f", validation score = {self.validation_scores_[-1]:.6f}"
                        if early_stopping
                        else ""
                    )
                    print(
                        f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}{val}, "
                        f"elapsed = {time.perf_counter() - start:.2f}s"
                    )

                if self.learning_rate == "invscaling" and self.solver == "sgd":
                    self._learning_rate = (
                        float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
                    )

                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            f"tol={self.tol:f} for {self.n_iter_no_change} "
                            "consecutive epochs."
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than "
                            f"tol={self.tol:f} for {self.n_iter_no_change} "
                            "consecutive epochs."
                        )
                    if self._trigger_stopping(msg):
                        break
                    self._no_improvement_count = 0

                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations "
                        f"({self.max_iter}) reached and the optimization hasn't "
                        "converged yet.",
                        ConvergenceWarning,
                        stacklevel=4,
                    )
        except KeyboardInterrupt:
            if stop is not None:  # the ensemble stops its other members too
                stop.set()
                raise
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if early_stopping:
            theta = best_theta
        return theta

    def _trigger_stopping(self, msg):
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if self._learning_rate <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._learning_rate /= 5.0
        if self.verbose:
            print(f"{msg} Setting learning rate to {self._learning_rate:f}")
        return False


def _take_rows(X, idx):
    """Rows ``idx`` of a dense array (C-contiguous) or a CSR matrix."""
    if sp.issparse(X):
        return X[idx]
    return np.ascontiguousarray(X[idx])


def _shuffle_like_sklearn(idx, rs):
    """``sklearn.utils.shuffle(idx, random_state=rs)`` without its overhead."""
    perm = rs.permutation(idx.shape[0])  # what sklearn's resample draws
    return np.ascontiguousarray(idx[perm])
