"""skreg's MLP engine: numba kernels split by concern, options by name.

Every neural estimator trains through this package; estimators only
validate, configure (an :class:`EngineConfig`) and book-keep.

Layout of the package
---------------------
* ``_records``     -- the named records kernels take (network shape,
  options, buffers, state, rows) and the one function that builds them;
* ``_random``      -- counter-based random streams (splitmix64 hashes);
* ``_elementwise`` -- vectorisable exp/tanh/logistic, activations;
* ``_layers``      -- per layer kind, the forward, weight-gradient,
  input-gradient and JVP pieces (dense);
* ``_losses``      -- output kinds: probabilities, log losses, deltas;
* ``_penalties``   -- activation and parameter penalties;
* ``_passes``      -- forward and backward of one minibatch;
* ``_optimizers``  -- sgd/adam steps with L2, tying and max-norm folded in;
* training modes, each with its own ``run_epoch`` and ``objective`` so a
  fit compiles only the mode it uses: ``_plain`` (no or Bernoulli
  dropout), ``_fast_dropout``, ``_tangent``, ``_adversarial``;
* ``_inference``   -- probabilities, MC-dropout samples, input gradients;
* ``_config``      -- the Python side: :class:`Layout`, :class:`EngineConfig`,
  :class:`Engine` (one mode's kernels bound to a layout and buffers).

Sparse input
------------
A scipy sparse X reaches the kernels as its CSR arrays (``_records.Csr``,
``Data.csr``; ``None`` for dense X).  The first layer's product and weight
gradient then run over the stored entries (``_layers.sparse_*``, fast
dropout's ``sparse_moments*``), input dropout masking each entry as the
dense path masks its unit; deeper layers are dense.  The passes branch on
``csr is None``, which numba resolves by type: dense and sparse data each
compile their own variant, and a dense fit compiles no sparse code.  The
modes that need an input gradient or perturbed rows (adversarial, tangent)
refuse sparse input (``DENSE_ONLY_MODES``).

Flat parameter vector
---------------------
All parameters of a network with widths ``units = [n_0, ..., n_L]`` live in
one contiguous 1-D array in scikit-learn's ``_pack`` order: every weight
matrix ``W_l`` (``n_l x n_{l+1}``, row-major, at ``w_off[l]``), then every
intercept ``b_l`` (at ``b_off[l]``).  The weights form the prefix
``theta[:n_coef]`` (so L2 acts on the prefix), and the flat vector is what
scipy's L-BFGS sees.  Gradients and optimizer moments share the layout.
One numba call runs a whole epoch; Python owns the epoch loop (early
stopping, ``verbose``, schedules).
"""

from ._config import (
    DENSE_ONLY_MODES,
    PREDICT_CHUNK,
    Engine,
    EngineConfig,
    Predictor,
    inference_options,
    input_gradient,
    logit_jvp,
    loss_and_gradient,
    predict_members,
    predict_moments,
    predict_proba,
)
from ._layout import Layout, glorot_init, glorot_init_layout
from ._records import Activation, Attack, Dropout, Output, Penalty, Status

__all__ = [
    "DENSE_ONLY_MODES",
    "PREDICT_CHUNK",
    "Activation",
    "Attack",
    "Dropout",
    "Engine",
    "EngineConfig",
    "Layout",
    "Output",
    "Penalty",
    "Predictor",
    "Status",
    "glorot_init",
    "glorot_init_layout",
    "inference_options",
    "input_gradient",
    "logit_jvp",
    "loss_and_gradient",
    "predict_members",
    "predict_moments",
    "predict_proba",
]
