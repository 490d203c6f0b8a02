"""KL warm-up and annealing: beta as a function of the step or the epoch.

Every KL layer's beta is a variable the loss reads at each step (see
`infodropout_tf.layers.KLPenalty`), so `BetaSchedule` changes the weight
of the KL term during `fit` without recompiling: the information-bottleneck
Lagrangian (Achille & Soatto, TPAMI 2018, Eq. 3) or the VAE bound (Eq. 7,
the beta-VAE of Higgins et al. 2017) with a beta that grows from a small
value (Bowman et al. 2016; Sønderby et al. 2016).
"""

import math

import keras
import numpy as np

from infodropout_tf import _validation
from infodropout_tf.layers import kl_layers


def _ramp(start, end, duration, shape):
    """t -> start + (end - start) * shape(min(t / duration, 1))."""
    start = _validation.non_negative_float("start", start)
    end = _validation.non_negative_float("end", end)
    duration = _validation.positive_int("duration", duration)

    def schedule(t):
        progress = min(max(float(t), 0.0) / duration, 1.0)
        return start + (end - start) * shape(progress)

    return schedule


def linear_schedule(start, end, duration):
    """beta(t) = start + (end - start) * min(t / duration, 1).

    Args:
        start: Finite float >= 0, beta at t = 0.
        end: Finite float >= 0, beta from t = `duration` on.
        duration: Integer > 0, steps or epochs of the ramp.

    Returns:
        A function of the step or epoch t, for `BetaSchedule`.
    """
    return _ramp(start, end, duration, lambda progress: progress)


def cosine_schedule(start, end, duration):
    """beta(t) = start + (end - start) * (1 - cos(pi * min(t / duration, 1))) / 2.

    A half cosine from `start` to `end`: slow at both ends of the ramp.

    Args:
        start: Finite float >= 0, beta at t = 0.
        end: Finite float >= 0, beta from t = `duration` on.
        duration: Integer > 0, steps or epochs of the ramp.

    Returns:
        A function of the step or epoch t, for `BetaSchedule`.
    """
    return _ramp(start, end, duration,
                 lambda progress: (1.0 - math.cos(math.pi * progress)) / 2.0)


class BetaSchedule(keras.callbacks.Callback):
    """Sets the beta of KL layers from a schedule, at every step or epoch.

    Per epoch (default), beta = `schedule(epoch)` before each epoch, with
    the epoch counted from 0 (and from `initial_epoch` when `fit` resumes).
    Per step, beta = `schedule(step)` before each training batch, where
    step is `model.optimizer.iterations`, the count of steps trained so
    far, as a `LearningRateSchedule` gets it (with `steps_per_execution`
    > 1, once per execution). `schedule` is any function of that integer
    returning a number or a scalar tensor: `linear_schedule`,
    `cosine_schedule`, a `keras.optimizers.schedules.LearningRateSchedule`
    object or a lambda. Validation and `evaluate` use the value set last.

    The value is written into each layer's beta variable, which the
    traced train step reads, so nothing is recompiled; the layers keep the
    last value after `fit` (and save it).

    At the end of every epoch the callback adds the value trained with
    last to the epoch logs: `beta` when it acts on every KL layer
    (`layers=None`), else `beta_<layer>` for each layer it names (so
    several schedules can act on different layers). The progress bar and
    `History` see it wherever the callback is in the list, since Keras
    calls them after the callbacks passed to `fit`; `CSVLogger`,
    `TensorBoard` and any other callback that reads the logs see it only
    if `BetaSchedule` comes before them in the list.

    Example, a KL warm-up of a VAE over its first 10 epochs:

    >>> schedule = BetaSchedule(linear_schedule(0.0, 1.0, 10))
    >>> model.fit(x, epochs=50, callbacks=[schedule, keras.callbacks.CSVLogger(path)])

    Args:
        schedule: Callable of the epoch (or step) returning beta, finite
            and >= 0.
        layers: None for every KL layer of the model (`kl_layers`), or a
            list of names of KL layers.
        per_step: Boolean, update before every training step instead of
            before every epoch.

    Raises:
        ValueError: at the start of `fit`, if the model has no KL layer or
            a name is not one of its KL layers (the message lists them),
            or when the schedule returns a negative or non-finite value.
    """

    def __init__(self, schedule, layers=None, per_step=False):
        super().__init__()
        if not callable(schedule):
            raise _validation.error(
                "schedule", "a callable of the step or epoch, such as "
                "linear_schedule(0.0, 1.0, 10)", f"schedule={schedule!r}")
        self.schedule = schedule
        self.layer_names = _validation.names("layers", layers)
        self.per_step = bool(per_step)
        self._layers = None
        self._value = None

    def on_train_begin(self, logs=None):
        if not kl_layers(self.model):
            raise ValueError(
                f"BetaSchedule: the model {self.model.name!r} has no layer that adds a KL "
                "penalty (InformationDropout, GaussianLatent), so it has no beta to schedule.")
        try:
            self._layers = kl_layers(self.model, self.layer_names)
        except ValueError as error:
            raise ValueError(f"BetaSchedule: {error}") from None
        self._value = None

    def _apply(self, t):
        value = self.schedule(t)
        try:
            beta = float(np.asarray(keras.ops.convert_to_numpy(value)))
        except (TypeError, ValueError) as error:
            raise ValueError(f"BetaSchedule: the schedule returned {value!r} for "
                             f"{'step' if self.per_step else 'epoch'} {t}, not a number.") from error
        if not (math.isfinite(beta) and beta >= 0):
            raise ValueError(f"BetaSchedule: the schedule returned beta={beta} for "
                             f"{'step' if self.per_step else 'epoch'} {t}; beta must be "
                             "finite and >= 0.")
        if beta != self._value:  # an assignment per layer only when beta changes
            for layer in self._layers:
                layer.beta = beta
            self._value = beta

    def on_epoch_begin(self, epoch, logs=None):
        if not self.per_step:
            self._apply(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.per_step:
            self._apply(int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)))

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if self.layer_names is None:
            logs["beta"] = self._layers[0].beta
        else:
            for layer in self._layers:
                logs[f"beta_{layer.name}"] = layer.beta
