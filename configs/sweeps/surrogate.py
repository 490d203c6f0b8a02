"""Surrogate IB objectives of Kirsch, Lyle & Gal on LeNet / MNIST (their Fig. 1).

LeNet with zero-entropy noise on its 84-unit penultimate layer
(`mnist_lenet_surrogate.py`, 10 epochs), trained with each surrogate at
gamma = 0.001, 0.01, 0.1 and 1, and once with gamma = 0 (`none`, the noisy
network alone); each run records the information plane of `dropout`,
preserved I(X; Z') against residual H(Z'|Y). Results: docs/results.md,
row 8.

The gammas are one log-spaced grid for all three penalties, set by their
scale against the cross-entropy (2.3 nats at the start, about 0.05 once
trained). At initialisation Z is small (per-unit variance 0.002 on
512 training images, seed 0): squared_norm 1.3, log_variance 1.6,
conditional_log_variance 1.1. To classify through the noise (standard
deviation 0.24) training raises Z's scale; at Var Z_j ~ E Z_j^2 ~ 1 the
penalties reach log_variance ~ 84 * 1/2 log(2 pi e + 1) ~ 120 nats and
squared_norm ~ 84 * E[z^2] ~ 84. So gamma = 0.001 adds about 0.1 nats
there, a nudge; gamma = 1 outweighs the cross-entropy by far and holds Z
near the noise's scale (squared_norm quadratically, the log variances
logarithmically in Z), the compressed, high-error end of the trade-off;
0.01 and 0.1 lie between.
"""

from infodropout_tf.results.sweeps import Run

SURROGATES = ("squared_norm", "log_variance", "conditional_log_variance")
GAMMAS = (0.001, 0.01, 0.1, 1.0)


def get_runs(data_dir):
    del data_dir  # MNIST from $TFDS_DATA_DIR
    runs = [Run("surrogate_none", "mnist_lenet_surrogate.py",
                {"model.surrogate": "none", "model.surrogate_weight": 0.0})]
    runs += [Run(f"surrogate_{surrogate}_gamma{gamma:g}", "mnist_lenet_surrogate.py",
                 {"model.surrogate": surrogate, "model.surrogate_weight": gamma})
             for surrogate in SURROGATES for gamma in GAMMAS]
    return runs
