"""MINE: a neural lower bound on mutual information (Belghazi et al., ICML 2018).

A statistics network T(x, z) is trained to maximise the Donsker-Varadhan
bound I(X; Z) >= E_joint[T] - log E_marginal[exp T], with samples of the
product of marginals made by shuffling z. The gradient of the log term is
biased on minibatches; as in the paper, its denominator is replaced by an
exponential moving average of E_marginal[exp T] ("bias-corrected"
gradients). The reported value is the bound on all samples at the end.
"""

import keras
import numpy as np
import tensorflow as tf

from infodropout_tf import _validation


def mine_lower_bound(x, z, hidden_units=(64, 64), steps=2000, batch_size=500,
                     learning_rate=1e-3, moving_average_rate=0.01, seed=0):
    """Returns the Donsker-Varadhan lower bound on I(X; Z) in nats.

    Args:
        x, z: (n, ...) finite paired samples, n >= 2 (the product of
            marginals is made by shuffling).
        hidden_units: Widths (integers > 0) of the statistics network's ELU
            layers.
        steps: Integer > 0, Adam steps.
        batch_size: Integer > 0 (at most n are used).
        learning_rate: Finite float > 0.
        moving_average_rate: Float in (0, 1], weight of the newest batch in
            the moving average of E_marginal[exp T].
        seed: Integer >= 0.

    Raises:
        ValueError: for an argument out of its range, naming it.
    """
    x = _validation.finite_array("x", x, min_rows=2)
    z = _validation.same_rows("z", _validation.finite_array("z", z, min_rows=2), "x", len(x))
    x = x.astype(np.float32).reshape(len(x), -1)
    z = z.astype(np.float32).reshape(len(z), -1)
    for units in hidden_units:
        _validation.positive_int("hidden_units", units)
    steps = _validation.positive_int("steps", steps)
    batch_size = _validation.positive_int("batch_size", batch_size)
    learning_rate = _validation.positive_float("learning_rate", learning_rate)
    moving_average_rate = _validation.float_in(
        "moving_average_rate", moving_average_rate, 0.0, 1.0, include_low=False)
    seed = _validation.non_negative_int("seed", seed)
    rng = np.random.default_rng(seed)
    initializer = keras.initializers.GlorotUniform(seed)
    statistics = keras.Sequential(
        [keras.Input((x.shape[1] + z.shape[1],))]
        + [keras.layers.Dense(u, activation="elu", kernel_initializer=initializer) for u in hidden_units]
        + [keras.layers.Dense(1, kernel_initializer=initializer)]
    )
    optimizer = keras.optimizers.Adam(learning_rate)
    moving_average = tf.Variable(1.0, dtype=tf.float32, trainable=False)

    @tf.function
    def train_step(x_batch, z_batch, z_shuffled):
        with tf.GradientTape() as tape:
            joint = statistics(tf.concat([x_batch, z_batch], axis=1))
            marginal_exp = tf.reduce_mean(tf.exp(statistics(tf.concat([x_batch, z_shuffled], axis=1))))
            moving_average.assign((1 - moving_average_rate) * moving_average
                                  + moving_average_rate * tf.stop_gradient(marginal_exp))
            # d/dtheta log E[e^T] = E[d e^T] / E[e^T], with the denominator
            # replaced by its moving average.
            loss = -(tf.reduce_mean(joint) - marginal_exp / tf.stop_gradient(moving_average))
        gradients = tape.gradient(loss, statistics.trainable_variables)
        optimizer.apply_gradients(zip(gradients, statistics.trainable_variables))

    batch_size = min(batch_size, len(x))
    for _ in range(steps):
        rows = rng.choice(len(x), size=batch_size, replace=False)
        shuffled = rng.choice(len(x), size=batch_size, replace=False)
        train_step(x[rows], z[rows], z[shuffled])

    joint = statistics(np.concatenate([x, z], axis=1)).numpy()
    marginal = statistics(np.concatenate([x, z[rng.permutation(len(z))]], axis=1)).numpy()
    log_mean_exp = np.log(np.mean(np.exp(marginal - marginal.max()))) + marginal.max()
    return float(np.mean(joint) - log_mean_exp)
