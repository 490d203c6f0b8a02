"""The weighted KL penalty that noise layers add to the model's loss."""

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


def kl_layers(model):
    """The layers of `model` (nested ones included) that add a KL penalty,
    in traversal order."""
    return [layer for layer in nested_layers(model) if isinstance(layer, KLPenalty)]


class KLPenalty:
    """Mixin for layers that add beta * batch-mean KL / N with `add_loss`.

    The weighting is the information-bottleneck Lagrangian of Achille &
    Soatto (TPAMI 2018, Eq. 3) as the original implementation scales it:
    cross-entropy per example plus beta times the KL per example divided by
    the training-set size N. Without N the KL is weighted by beta alone, the
    per-example Lagrangian of the VAE and of the Deep Variational Information
    Bottleneck.

    After every call the layer keeps the unweighted batch-mean KL, in nats
    per example, in `kl_per_example` (as Keras keeps `losses`), for
    per-layer metrics. Both are 0 for an empty batch (`batch_mean`).
    """

    def _init_kl_penalty(self, beta, num_train_examples):
        self.beta = _validation.non_negative_float("beta", beta)
        self.num_train_examples = _validation.positive_int(
            "num_train_examples", num_train_examples, allow_none=True
        )

    @property
    def kl_weight(self):
        """The factor beta / N applied to the batch-mean KL in `add_loss`."""
        return self.beta / (self.num_train_examples or 1)

    def add_kl_penalty(self, kl_map):
        """Adds the weighted batch mean of `kl_map` summed over units."""
        units_axes = tuple(range(1, len(kl_map.shape)))
        self.kl_per_example = batch_mean(ops.sum(kl_map, axis=units_axes))
        self.add_loss(self.kl_weight * self.kl_per_example)

    def kl_penalty_config(self):
        return {"beta": self.beta, "num_train_examples": self.num_train_examples}
