"""Each KL layer's KL per example in the `fit` and `evaluate` logs of any model."""

import contextlib

import keras

from infodropout_tf import _validation
from infodropout_tf.layers import kl_layers


class KLMonitor(keras.callbacks.Callback):
    """Adds `kl_<layer>`, the layer's KL in nats per example, to the logs.

    A `Classifier` reports the KL of each of its layers, but a plain
    `keras.Model` built with Information Dropout layers reports only its
    `loss`. This callback makes every KL layer of the model (or the named
    ones) report its own batch-mean KL, sum over units of
    KL(p(z|x) || q(z)) averaged over the batch (the term the layer weights
    by beta / N in the loss, Achille & Soatto, TPAMI 2018, Eq. 3), as the
    metric `kl_<layer name>` (`KLPenalty.monitor_kl`). The metrics are
    updated inside the train and test steps from the very tensors the loss
    uses, and averaged over the epoch's batches as `loss` is: `fit` logs
    `kl_<layer>` and `val_kl_<layer>`, `evaluate` logs `kl_<layer>`, and
    the progress bar, `History`, `CSVLogger` and `TensorBoard` show them
    wherever the callbacks are in the list.

    The metrics are attached when the callback meets the model, before
    `fit` or `evaluate` traces its step; if the model had traced steps
    already, they are traced again once. They stay attached afterwards, so
    later `fit` and `evaluate` calls report them without the callback.
    They hold no saved state: files saved with or without them are the
    same. A layer whose `kl_<layer>` the model already reports (a
    `Classifier`'s trackers) is left alone, so no value is logged twice.

    Example:

    >>> model.fit(x, y, epochs=5, callbacks=[KLMonitor(), keras.callbacks.CSVLogger(path)])
    >>> model.evaluate(x, y, callbacks=[KLMonitor()], return_dict=True)["kl_dropout"]

    Args:
        layers: None for every KL layer of the model (`kl_layers`), or a
            list of names of KL layers.

    Raises:
        ValueError: when `fit` or `evaluate` starts, if a name is not one of
            the model's KL layers (the message lists them), or if two KL
            layers share a name (their metrics would).
    """

    def __init__(self, layers=None):
        super().__init__()
        self.layer_names = _validation.names("layers", layers)

    def set_model(self, model):
        super().set_model(model)
        names = [layer.name for layer in kl_layers(model)]
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise ValueError(f"KLMonitor: several KL layers of the model {model.name!r} are "
                             f"named {duplicated}; give them distinct names.")
        try:
            selected = kl_layers(model, self.layer_names)
        except ValueError as error:
            raise ValueError(f"KLMonitor: {error}") from None
        reported = {metric.name for metric in model.metrics}
        new = [layer for layer in selected if f"kl_{layer.name}" not in reported]
        if not new:
            return
        # The metrics' variables are updated in the replicas' steps: create
        # them in the scope of the strategy the model was built in.
        strategy = getattr(model, "distribute_strategy", None)
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            for layer in new:
                layer.monitor_kl()
        # The step's metrics are fixed when it is traced.
        for function in ("train_function", "test_function"):
            if hasattr(model, function):
                setattr(model, function, None)
