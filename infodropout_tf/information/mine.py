"""MINE: a neural lower bound on mutual information (Belghazi et al., ICML 2018).

A statistics network T(x, z) is trained to maximise the Donsker-Varadhan
bound I(X; Z) >= E_joint[T] - log E_marginal[exp T] (Belghazi et al.,
Eq. 10), with samples of the product of marginals made by shuffling z.
The gradient of the log term is biased on minibatches; as in the paper
(Sec. 3.2), its denominator is replaced by an exponential moving average of
E_marginal[exp T] ("bias-corrected" gradients).

Three choices keep the number honest:

* Log space. exp T overflows float32 once T > 88, which heavy-tailed
  inputs reach; the batch term is log-mean-exp (logsumexp - log n) and the
  moving average is kept as its logarithm, so nothing is exponentiated
  that can overflow.
* A held-out part. The bound is evaluated on samples the network was not
  trained on: on its own training samples an overfitted network reports
  more than the true information, which a lower bound must not.
* Standardised inputs. Mutual information is unchanged by an affine map of
  each dimension, while the network's initialisation and Adam's step sizes
  assume inputs of unit scale; each dimension of x and z is standardised
  with the training part's mean and standard deviation.

No estimate of this kind can certify much more than log n nats from n
samples (McAllester & Stratos, AISTATS 2020), whatever the true value.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from infodropout_tf import _validation

# Marginal pairs of the held-out evaluation (up to all its pairs): more pairs
# make log-mean-exp's downward bias, which lifts the bound, smaller.
_EVALUATION_PAIRS = 2**17


def _standardize(name, values, training_rows):
    """`values` with each dimension standardised by the training rows' statistics."""
    with np.errstate(over="ignore"):  # an overflow is reported below, by name
        mean = values[training_rows].mean(axis=0)
        scale = values[training_rows].std(axis=0)
    if not np.all(np.isfinite(scale)):
        raise _validation.error(name, "values whose variance fits in float64",
                                f"shape {values.shape} with a variance that overflows")
    # A constant dimension carries no information; leave it at 0.
    scale[scale == 0] = 1.0
    return ((values - mean) / scale).astype(np.float32)


def _split(num_rows, validation_fraction, rng):
    """(training rows, held-out rows) of a random split."""
    held_out = int(round(num_rows * validation_fraction))
    if validation_fraction > 0 and (held_out < 2 or num_rows - held_out < 2):
        raise _validation.error(
            "validation_fraction", "0, or a fraction leaving at least 2 rows to train on "
            "and 2 to evaluate on",
            f"validation_fraction={validation_fraction!r} of {num_rows} rows")
    order = rng.permutation(num_rows)
    if held_out == 0:  # the old protocol: evaluate on the training samples
        return order, order
    return order[held_out:], order[:held_out]


def _held_out_bound(statistics, x, z):
    """The Donsker-Varadhan bound on (x, z), in float64 log space.

    The marginal pairs are x beside z shifted cyclically by 1, 2, ... rows
    (never a joint pair), up to `_EVALUATION_PAIRS` pairs.
    """
    rows = len(x)
    shifts = np.arange(1, 1 + min(rows - 1, max(1, _EVALUATION_PAIRS // rows)))
    pairs = np.concatenate([
        np.tile(x, (len(shifts), 1)),
        z[(np.arange(rows)[None, :] - shifts[:, None]).reshape(-1) % rows]], axis=1)
    # Called eagerly on large chunks: few calls, and no graph to trace.
    joint = np.asarray(statistics(np.concatenate([x, z], axis=1)), np.float64)
    marginal = np.concatenate([np.asarray(statistics(pairs[start:start + _EVALUATION_PAIRS]),
                                          np.float64) for start in range(0, len(pairs),
                                                                         _EVALUATION_PAIRS)])
    if not (np.all(np.isfinite(joint)) and np.all(np.isfinite(marginal))):
        return math.nan
    peak = marginal.max()
    log_mean_exp = peak + math.log(np.mean(np.exp(marginal - peak)))
    return float(np.mean(joint) - log_mean_exp)


def mine_lower_bound(x, z, hidden_units=(64, 64), steps=2000, batch_size=500,
                     learning_rate=1e-3, moving_average_rate=0.01, seed=0,
                     validation_fraction=0.2):
    """Returns the Donsker-Varadhan lower bound on I(X; Z) in nats.

    The samples are split at random: the statistics network is trained on
    a `1 - validation_fraction` part and the bound is evaluated on the rest,
    so that an overfitted network cannot report more than the truth (up to
    the held-out part's sampling error). Each dimension of x and z is
    standardised with the training part's mean and standard deviation.

    Args:
        x, z: (n, ...) finite paired samples, n >= 2 (n >= 4 with a
            held-out part; the product of marginals is made by shuffling).
        hidden_units: Widths (integers > 0) of the statistics network's ELU
            layers.
        steps: Integer > 0, Adam steps.
        batch_size: Integer > 0 (at most the training part is used).
        learning_rate: Finite float > 0.
        moving_average_rate: Float in (0, 1], weight of the newest batch in
            the moving average of E_marginal[exp T].
        seed: Integer >= 0, seed of the split, the network and the batches.
        validation_fraction: Float in [0, 1), the fraction of the samples
            held out for the final evaluation (at least 2 rows on each
            side). 0 evaluates on the training samples, as before this
            argument existed: the value can then exceed the truth.

    Returns:
        The bound on the held-out samples, a float (nats).

    Raises:
        ValueError: for an argument out of its range, naming it; or if the
            statistics network's output is no longer finite after training
            (its weights diverged: lower `learning_rate`).
    """
    x = _validation.finite_array("x", x, min_rows=2)
    z = _validation.same_rows("z", _validation.finite_array("z", z, min_rows=2), "x", len(x))
    x = x.reshape(len(x), -1)
    z = z.reshape(len(z), -1)
    for units in hidden_units:
        _validation.positive_int("hidden_units", units)
    steps = _validation.positive_int("steps", steps)
    batch_size = _validation.positive_int("batch_size", batch_size)
    learning_rate = _validation.positive_float("learning_rate", learning_rate)
    moving_average_rate = _validation.float_in(
        "moving_average_rate", moving_average_rate, 0.0, 1.0, include_low=False)
    seed = _validation.non_negative_int("seed", seed)
    validation_fraction = _validation.float_in(
        "validation_fraction", validation_fraction, 0.0, 1.0, include_high=False)
    rng = np.random.default_rng(seed)
    training_rows, held_out_rows = _split(len(x), validation_fraction, rng)
    x = _standardize("x", x, training_rows)
    z = _standardize("z", z, training_rows)

    initializer = keras.initializers.GlorotUniform(seed)
    statistics = keras.Sequential(
        [keras.Input((x.shape[1] + z.shape[1],))]
        + [keras.layers.Dense(u, activation="elu", kernel_initializer=initializer) for u in hidden_units]
        + [keras.layers.Dense(1, kernel_initializer=initializer)]
    )
    optimizer = keras.optimizers.Adam(learning_rate)
    # Built now, so that the first step does not create variables and trace twice.
    optimizer.build(statistics.trainable_variables)
    # log of the moving average of E_marginal[exp T]; it starts as an empty
    # sum (log 0) and is debiased like Adam's moments, so the first batch is
    # not weighed against an arbitrary starting value.
    log_average = tf.Variable(-np.inf, dtype=tf.float32, trainable=False)
    step_count = tf.Variable(0.0, dtype=tf.float32, trainable=False)
    log_rate, log_keep = math.log(moving_average_rate), (
        math.log1p(-moving_average_rate) if moving_average_rate < 1 else -math.inf)

    @tf.function
    def train_step(x_batch, z_batch, z_shuffled):
        with tf.GradientTape() as tape:
            joint = statistics(tf.concat([x_batch, z_batch], axis=1))
            marginal = statistics(tf.concat([x_batch, z_shuffled], axis=1))
            log_mean_exp = (tf.reduce_logsumexp(marginal)
                            - tf.math.log(tf.cast(tf.shape(marginal)[0], tf.float32)))
            log_average.assign(tf.reduce_logsumexp(tf.stack(
                [log_keep + log_average, log_rate + tf.stop_gradient(log_mean_exp)])))
            step_count.assign_add(1.0)
            debiased = log_average - tf.math.log1p(-tf.pow(1.0 - moving_average_rate, step_count))
            # d/dtheta log E[e^T] = E[d e^T] / E[e^T], with the denominator
            # replaced by the moving average. The ratio is at most
            # 1 / moving_average_rate, as the average holds this batch.
            loss = -(tf.reduce_mean(joint) - tf.exp(log_mean_exp - tf.stop_gradient(debiased)))
        gradients = tape.gradient(loss, statistics.trainable_variables)
        optimizer.apply_gradients(zip(gradients, statistics.trainable_variables))

    x_train, z_train = x[training_rows], z[training_rows]
    batch_size = min(batch_size, len(x_train))
    for _ in range(steps):
        rows = rng.choice(len(x_train), size=batch_size, replace=False)
        shuffled = rng.choice(len(x_train), size=batch_size, replace=False)
        train_step(x_train[rows], z_train[rows], z_train[shuffled])

    bound = _held_out_bound(statistics, x[held_out_rows], z[held_out_rows])
    if not math.isfinite(bound):
        raise ValueError(
            "MINE's statistics network gives non-finite values after training (its weights "
            f"diverged); lower `learning_rate`. Received: learning_rate={learning_rate!r}.")
    return bound
