"""The weighted KL penalty that noise layers add to the model's loss."""

import keras
from keras import ops

from infodropout_tf import _validation
from infodropout_tf.keras_utils import nested_layers


def batch_mean(values):
    """Mean of per-example `values` (batch,), and 0 for an empty batch.

    An empty batch holds no examples, so it adds nothing to a loss: its
    mean is defined as 0, as Keras's own "sum_over_batch_size" reduction
    defines it, instead of the 0 / 0 = NaN that would poison the gradient.
    """
    count = ops.cast(ops.shape(values)[0], values.dtype)
    return ops.divide_no_nan(ops.sum(values), count)


def kl_layers(model, names=None):
    """The layers of `model` (nested ones included) that add a KL penalty.

    Args:
        model: A Keras model or layer.
        names: None for all of them, in traversal order, or a non-empty
            sequence of their names, for those layers in that order.

    Raises:
        ValueError: `names` is a string or empty, or names a layer that is
            not a KL layer of `model` (the message lists those there are).
    """
    layers = [layer for layer in nested_layers(model) if isinstance(layer, KLPenalty)]
    names = _validation.names("names", names)
    if names is None:
        return layers
    by_name = {layer.name: layer for layer in layers}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"{unknown} are not KL layers of the model {model.name!r}; its KL "
                         f"layers are {sorted(by_name)}.")
    return [by_name[name] for name in names]


class KLPenalty:
    """Mixin for layers that add beta * batch-mean KL / N with `add_loss`.

    The weighting is the information-bottleneck Lagrangian of Achille &
    Soatto (TPAMI 2018, Eq. 3) as the original implementation scales it:
    cross-entropy per example plus beta times the KL per example divided by
    the training-set size N. Without N the KL is weighted by beta alone, the
    per-example Lagrangian of the VAE and of the Deep Variational Information
    Bottleneck.

    beta is a non-trainable float32 variable, `beta_variable` (never
    autocast, so float32 under mixed precision too; saved with the layer's
    weights), read by the loss at every step: `layer.beta = 2.0` assigns
    it and takes effect in train and test functions already traced, so a
    schedule can change it during `fit` (`infodropout_tf.callbacks.
    BetaSchedule`). `layer.beta` reads it as a Python float, and
    `get_config()["beta"]` is that current value, so a layer rebuilt from
    its config weights the KL as the original does now. Inside a traced
    function assign `beta_variable` instead.

    After every call the layer keeps the unweighted batch-mean KL, in nats
    per example, in `kl_per_example` (as Keras keeps `losses`), for
    per-layer metrics. Both are 0 for an empty batch (`batch_mean`).
    `monitor_kl()` makes the layer also report it as the metric
    `kl_<layer name>` in the `fit` and `evaluate` logs of any model.
    """

    def _init_kl_penalty(self, beta, num_train_examples):
        beta = _validation.non_negative_float("beta", beta)
        self.beta_variable = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(beta),
            dtype="float32",
            trainable=False,
            autocast=False,
            # Assigned by callbacks between steps; under tf.distribute a
            # write from one replica's context is the first replica's.
            aggregation="only_first_replica",
            name="beta",
        )
        self.num_train_examples = _validation.positive_int(
            "num_train_examples", num_train_examples, allow_none=True
        )
        self._kl_metric = None

    @property
    def beta(self):
        """The current weight of the KL term, a Python float."""
        return float(ops.convert_to_numpy(self.beta_variable))

    @beta.setter
    def beta(self, value):
        self.beta_variable.assign(_validation.non_negative_float("beta", value))

    @property
    def kl_weight(self):
        """The current factor beta / N of the batch-mean KL, a Python float."""
        return self.beta / (self.num_train_examples or 1)

    def add_kl_penalty(self, kl_map):
        """Adds the weighted batch mean of `kl_map` summed over units.

        The weight is read from `beta_variable` when the loss is computed,
        not fixed when the function is traced.
        """
        units_axes = tuple(range(1, len(kl_map.shape)))
        self.kl_per_example = batch_mean(ops.sum(kl_map, axis=units_axes))
        weight = ops.convert_to_tensor(self.beta_variable) / (self.num_train_examples or 1)
        self.add_loss(weight * self.kl_per_example)
        if self._kl_metric is not None:
            self._kl_metric.update_state(self.kl_per_example)

    def monitor_kl(self):
        """Reports the layer's KL per example as the metric `kl_<name>`.

        Creates (once) a `keras.metrics.Mean` named `kl_<layer name>` that
        every call of the layer updates with `kl_per_example`. Keras collects
        the metrics of a model's layers (`model.metrics`), resets them at
        the start of every epoch and `evaluate`, and puts their results in
        the logs, so `fit` and `evaluate` report the mean over the batches
        of the layer's batch-mean KL, in nats per example, as they report
        `loss`. Functions the model traced before must be traced again
        (`model.train_function = None`, as `KLMonitor` does). The metric
        holds no saved state: files are the same with or without it.

        Returns:
            The metric.
        """
        if self._kl_metric is None:
            metric = keras.metrics.Mean(name=f"kl_{self.name}")
            # Set past Keras's attribute tracking, which refuses new state
            # on a built layer: a metric holds no weights the layer saves,
            # and `metrics` below reports it.
            object.__setattr__(self, "_kl_metric", metric)
        return self._kl_metric

    @property
    def metrics(self):
        metrics = super().metrics
        if self._kl_metric is not None:
            metrics.append(self._kl_metric)
        return metrics

    def kl_penalty_config(self):
        return {"beta": self.beta, "num_train_examples": self.num_train_examples}
