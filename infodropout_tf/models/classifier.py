"""The information-bottleneck objective for classifiers."""

import keras
from keras import ops

from infodropout_tf import _validation
from infodropout_tf.keras_utils import nested_layers
from infodropout_tf.keras_utils import scale_for_replicas
from infodropout_tf.layers.kl_penalty import KLPenalty
from infodropout_tf.layers.kl_penalty import batch_mean


@keras.saving.register_keras_serializable(package="infodropout_tf")
class Classifier(keras.Model):
    """Trains a logits network on the paper's objective, with its parts shown.

    The loss is the original implementation's (Achille & Soatto, TPAMI 2018,
    Eq. 3 plus weight decay):

        loss = mean cross-entropy
               + sum over noise layers of beta * mean KL / N   (their add_loss)
               + weight_decay * sum over trainable variables of ||v||^2 / 2

    where the weight decay covers every trainable variable, as the original's
    `tf.nn.l2_loss` over `tf.trainable_variables()` does (alpha branches,
    BatchNorm offsets and the log-normal prior's parameters included; the
    prior's variables are mu and the unconstrained u of
    sigma = softplus(u) + 1e-3, where the original decays sigma itself).
    Besides `loss`, `fit` and `evaluate` report `cross_entropy`,
    `weight_decay`, `error` (the misclassified fraction) and, for every
    layer that adds a KL penalty, `kl_<layer name>` in nats per example.

    Compile it without a loss: `model.compile(optimizer)`. On an empty
    batch (or sample weights that sum to 0) the cross-entropy and the KL
    terms are exactly 0, so the loss is the weight decay alone.

    Args:
        network: A Keras model mapping inputs to logits (batch, classes).
        weight_decay: Finite float >= 0.
        **kwargs: Base model keyword arguments, such as `name`.
    """

    def __init__(self, network, weight_decay=0.0, **kwargs):
        super().__init__(**kwargs)
        self.weight_decay = _validation.non_negative_float("weight_decay", weight_decay)
        self.network = network
        self.kl_layers = [
            layer
            for layer in nested_layers(network)
            if isinstance(layer, KLPenalty)
        ]
        self.cross_entropy_tracker = keras.metrics.Mean(name="cross_entropy")
        self.weight_decay_tracker = keras.metrics.Mean(name="weight_decay")
        self.error_tracker = keras.metrics.Mean(name="error")
        self.kl_trackers = [
            keras.metrics.Mean(name=f"kl_{layer.name}") for layer in self.kl_layers
        ]

    def call(self, inputs, training=None):
        return self.network(inputs, training=training)

    def l2_penalty(self):
        """sum over trainable variables of ||v||^2 / 2 (`tf.nn.l2_loss`)."""
        return 0.5 * sum(
            ops.sum(ops.square(ops.cast(v, "float32")))
            for v in self.trainable_weights
        )

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        logits = ops.cast(y_pred, "float32")
        per_example = keras.losses.sparse_categorical_crossentropy(
            y, logits, from_logits=True
        )
        if sample_weight is None:
            cross_entropy = batch_mean(per_example)
        else:
            weights = ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
            # 0, not NaN, when no example carries weight (see `batch_mean`).
            cross_entropy = ops.divide_no_nan(
                ops.sum(per_example * weights), ops.sum(weights)
            )
        penalties = sum(self.losses) if self.losses else 0.0
        weight_decay = self.weight_decay * self.l2_penalty()

        self.cross_entropy_tracker.update_state(cross_entropy)
        self.weight_decay_tracker.update_state(weight_decay)
        labels = ops.cast(ops.reshape(y, (-1,)), "int32")
        predicted = ops.cast(ops.argmax(logits, axis=-1), "int32")
        self.error_tracker.update_state(ops.cast(predicted != labels, "float32"))
        for layer, tracker in zip(self.kl_layers, self.kl_trackers):
            tracker.update_state(layer.kl_per_example)
        return scale_for_replicas(cross_entropy + penalties + weight_decay)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "network": keras.saving.serialize_keras_object(self.network),
                "weight_decay": self.weight_decay,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)
