"""The weighted KL penalty that noise layers add to the model's loss."""

from keras import ops


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
    per-layer metrics.
    """

    def _init_kl_penalty(self, beta, num_train_examples):
        if isinstance(beta, bool) or not (
            isinstance(beta, (int, float)) and beta >= 0
        ):
            raise ValueError(
                "Invalid value received for argument `beta`. Expected a "
                f"float >= 0. Received: beta={beta!r}"
            )
        if num_train_examples is not None and not (
            isinstance(num_train_examples, int) and num_train_examples > 0
        ):
            raise ValueError(
                "Invalid value received for argument `num_train_examples`. "
                "Expected a positive integer (the training-set size) or "
                f"None. Received: num_train_examples={num_train_examples!r}"
            )
        self.beta = float(beta)
        self.num_train_examples = num_train_examples

    @property
    def kl_weight(self):
        """The factor beta / N applied to the batch-mean KL in `add_loss`."""
        return self.beta / (self.num_train_examples or 1)

    def add_kl_penalty(self, kl_map):
        """Adds the weighted batch mean of `kl_map` summed over units."""
        units_axes = tuple(range(1, len(kl_map.shape)))
        self.kl_per_example = ops.mean(ops.sum(kl_map, axis=units_axes))
        self.add_loss(self.kl_weight * self.kl_per_example)

    def kl_penalty_config(self):
        return {"beta": self.beta, "num_train_examples": self.num_train_examples}
