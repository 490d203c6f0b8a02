"""Training, evaluation and export of an experiment config, in a workdir.

`train_and_evaluate(config, workdir)` builds the data, the model and the
optimizer under the config's tf.distribute strategy and trains with
`model.fit`, resuming from the workdir's backup if there is one. The
workdir receives:

* `config.json`: the experiment's config (a workdir belongs to one
  experiment: another experiment's config there is an error);
* `backup/`: state at the end of the last epoch (weights, optimizer, epoch),
  from which a killed run resumes with the same learning-rate schedule;
* `checkpoints/epoch_NNNN.keras` every `checkpoint_every_epochs` epochs, and
  `checkpoints/interrupted.keras` when interrupted (Ctrl-C / SIGTERM);
* `tensorboard/{train,validation,analysis}` and `training_log.csv`;
* `kl_heatmaps.png`, `information_flow.png`, `total_correlation.png`,
  `information_plane.*` (see `summaries.py` and `information/plane.py`);
* `model.keras` and `saved_model/` (see `export_model`) at the end, and
  `metrics.json`;
* `workers/<index>/`: the same outputs of the other workers of a
  multi-worker run (the chief, or worker 0, writes the workdir itself).
"""

import json
import math
import os
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from infodropout_tf import data
from infodropout_tf import information
from infodropout_tf import models
from infodropout_tf.batch_norm_recalibration import BatchNormRecalibration
from infodropout_tf.batch_norm_recalibration import recalibrate_batch_norm
from infodropout_tf.evaluation import evaluate_two_modes
from infodropout_tf.information.bounds import layer_inputs_model
from infodropout_tf.information.bounds import network_of
from infodropout_tf.layers import KLPenalty
from infodropout_tf.layers import sampling_at_inference
from infodropout_tf.training import strategies
from infodropout_tf.training.summaries import AnalysisSummaries

# Fields that define an experiment: a workdir holding a run with other
# values belongs to another experiment.
IDENTITY_FIELDS = ("experiment", "dataset", "model")


class WorkdirError(ValueError):
    """The workdir cannot be used for this run."""


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


# Workdir ----------------------------------------------------------------------

def prepare_workdir(config, workdir):
    """Creates the workdir, or checks that it holds this experiment."""
    try:
        os.makedirs(workdir, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=workdir, prefix=".write_test")
        probe.close()
    except OSError as error:
        raise WorkdirError(f"workdir {workdir} is not writable ({error.strerror}). "
                           "Choose a writable --workdir.") from error
    path = os.path.join(workdir, "config.json")
    identity = {field: json.loads(config[field].to_json()) if hasattr(config[field], "to_json")
                else config[field] for field in IDENTITY_FIELDS}
    if os.path.exists(path):
        with open(path) as f:
            stored = json.load(f)
        previous = {field: stored.get(field) for field in IDENTITY_FIELDS}
        if previous != identity:
            different = [f for f in IDENTITY_FIELDS if previous[f] != identity[f]]
            raise WorkdirError(
                f"workdir {workdir} holds a run of another experiment (its "
                f"{', '.join(different)} differ from this config's). Use another "
                "--workdir, or delete that one to start over."
            )
    temporary = path + ".incomplete"
    with open(temporary, "w") as f:
        f.write(config.to_json(indent=1))
    os.replace(temporary, path)


# Data, model, optimizer ---------------------------------------------------------

def _data_options(config):
    return {"data_dir": config.dataset.data_dir or None, **config.dataset.options.to_dict()}


def load_split(config, split, batch_size, training, **overrides):
    options = {"label_key": config.dataset.label_key, **_data_options(config), **overrides}
    return data.load(config.dataset.name, split, batch_size=batch_size,
                     shuffle=training, seed=config.seed, drop_remainder=training, **options)


def model_config(config, num_train_examples):
    """The `models.build` dict, with num_train_examples = -1 resolved."""
    model = config.model.to_dict()
    if model.get("num_train_examples") == -1:
        model["num_train_examples"] = num_train_examples
    if model["name"] != "vae":
        model.setdefault("seed", config.seed)
    return model


def make_optimizer(config, steps_per_epoch):
    settings = config.optimizer
    learning_rate = settings.learning_rate
    if settings.boundaries:
        learning_rate = keras.optimizers.schedules.PiecewiseConstantDecay(
            [int(epoch * steps_per_epoch) for epoch in settings.boundaries],
            [settings.learning_rate * settings.decay**i
             for i in range(len(settings.boundaries) + 1)],
        )
    if settings.name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=settings.momentum,
                                    nesterov=settings.nesterov)
    if settings.name == "adam":
        return keras.optimizers.Adam(learning_rate)
    raise ValueError(
        "Invalid value received for config field `optimizer.name`. Expected 'sgd' or "
        f"'adam'. Received: {settings.name!r}"
    )


def steps_per_epoch_of(config, num_train_examples):
    if config.steps_per_epoch > 0:
        return config.steps_per_epoch
    return max(1, num_train_examples // config.batch_size)


# Callbacks ------------------------------------------------------------------------

class LearningRateLogger(keras.callbacks.Callback):
    """Adds `learning_rate` to the epoch logs (TensorBoard, CSV, progress)."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            rate = self.model.optimizer.learning_rate
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(rate))


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stops at the first NaN or infinite loss, before the epoch's backup."""

    def __init__(self, workdir):
        super().__init__()
        self.workdir = workdir
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise NonFiniteLossError(
                f"the loss became {loss} at epoch {self.epoch + 1}, step {batch + 1}; "
                f"training stopped and {os.path.join(self.workdir, 'backup')} keeps the "
                "state after the last good epoch. Lower the learning rate or beta and rerun."
            )


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves `checkpoints/epoch_NNNN.keras` every `every` epochs."""

    def __init__(self, directory, every):
        super().__init__()
        self.directory = directory
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        if self.every > 0 and (epoch + 1) % self.every == 0:
            os.makedirs(self.directory, exist_ok=True)
            path = os.path.join(self.directory, f"epoch_{epoch + 1:04d}.keras")
            self.model.save(path + ".incomplete.keras")
            os.replace(path + ".incomplete.keras", path)


class ProgressLogger(keras.callbacks.Callback):
    """One log line per epoch with the metrics, steps per second and ETA."""

    def __init__(self, num_epochs, steps_per_epoch):
        super().__init__()
        self.num_epochs = num_epochs
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start
        eta = seconds * (self.num_epochs - epoch - 1)
        metrics = " ".join(f"{k}={v:.4g}" for k, v in sorted((logs or {}).items()))
        logging.info("epoch %d/%d: %s (%.1f steps/s, ETA %s)", epoch + 1, self.num_epochs,
                     metrics, self.steps_per_epoch / seconds,
                     time.strftime("%H:%M:%S", time.gmtime(eta)))


# Training -----------------------------------------------------------------------------

def fit_keras(model, strategy, train, test, config, steps_per_epoch, callbacks):
    model.fit(train.repeat(), epochs=config.num_epochs, steps_per_epoch=steps_per_epoch,
              validation_data=test,
              validation_steps=config.eval_steps if config.eval_steps > 0 else None,
              callbacks=callbacks, verbose=1 if sys.stdout.isatty() else 2)


def fit_distributed(model, strategy, train, test, config, steps_per_epoch, callbacks):
    """`fit` for the mirrored and multi-worker strategies, as a custom loop.

    Keras 3.15's `fit` misbehaves under both: under
    MultiWorkerMirroredStrategy it fails, reducing its scalar logs across
    workers with `strategy.reduce("MEAN", v, axis=0)` ("Invalid reduction
    dimension 0 for input with 0 dimensions"); under MirroredStrategy it
    takes the first batch from the training iterator to build the model
    symbolically and never trains on it, so a run no longer sees the data of
    the same run on one device. This loop runs the same optimisation (the
    models' `compute_loss`, already scaled per replica) and the same
    callbacks, one log line per epoch.
    """
    metrics = [m for m in model.metrics if m is not model._loss_tracker]
    loss_tracker = keras.metrics.Mean(name="loss")

    def replica_step(x, y, training):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=training)
            loss = model.compute_loss(x, y, y_pred, training=training)
        if training:
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def step(iterator, training):
        x, y = next(iterator)
        losses = strategy.run(replica_step, args=(x, y, training))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    def results():
        return {m.name: float(m.result()) for m in [loss_tracker] + metrics}

    with strategy.scope():
        # Its variables must exist before replicas update them.
        model.optimizer.build(model.trainable_variables)
    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    callback_list.on_train_begin()
    train_iterator = iter(strategy.experimental_distribute_dataset(train.repeat()))
    for epoch in range(model._initial_epoch or 0, config.num_epochs):
        callback_list.on_epoch_begin(epoch)
        for tracker in [loss_tracker] + metrics:
            tracker.reset_state()
        for batch in range(steps_per_epoch):
            callback_list.on_train_batch_begin(batch)
            loss_tracker.update_state(step(train_iterator, True))
            callback_list.on_train_batch_end(batch, results())
        logs = results()
        for tracker in [loss_tracker] + metrics:
            tracker.reset_state()
        callback_list.on_test_begin()
        test_data = test.take(config.eval_steps) if config.eval_steps > 0 else test
        test_iterator = iter(strategy.experimental_distribute_dataset(test_data))
        for _ in range(int(test_data.cardinality())):
            loss_tracker.update_state(step(test_iterator, False))
        logs.update({f"val_{name}": value for name, value in results().items()})
        callback_list.on_test_end(logs)
        callback_list.on_epoch_end(epoch, logs)
    callback_list.on_train_end()


def train_and_evaluate(config, workdir):
    """Trains `config` in `workdir` (resuming if possible) and evaluates.

    Returns:
        Dict of final metrics (also written to `workdir/metrics.json`).
    """
    strategy = strategies.make_strategy(config.strategy, config.tpu)
    chief = strategies.is_chief()
    # Other workers of a multi-worker run keep their own (identical) outputs
    # apart, in workdir/workers/<index>.
    output_dir = workdir if chief else os.path.join(workdir, "workers", str(strategies.task_index()))
    prepare_workdir(config, output_dir)
    keras.utils.set_random_seed(config.seed)

    num_train = data.num_examples(config.dataset.name, config.dataset.train_split,
                                  **_data_options(config))
    steps_per_epoch = steps_per_epoch_of(config, num_train)
    train = load_split(config, config.dataset.train_split, config.batch_size, True)
    test = load_split(config, config.dataset.test_split, config.batch_size, False)
    if config.strategy == "multi_worker":
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train, test = train.with_options(options), test.with_options(options)

    analysis_images = next(iter(load_split(
        config, config.dataset.test_split, config.summaries.num_analysis_examples, False)))[0]
    with strategy.scope():
        model = models.build(model_config(config, num_train))
        model.compile(make_optimizer(config, steps_per_epoch), jit_compile=config.jit_compile)
        model(analysis_images[:2])  # builds it, as resuming from a backup needs
    is_vae = isinstance(model, models.VAE)
    callbacks = [
        LearningRateLogger(),
        NonFiniteLossGuard(output_dir),
        keras.callbacks.BackupAndRestore(os.path.join(output_dir, "backup"),
                                         delete_checkpoint=False),
        EpochCheckpoint(os.path.join(output_dir, "checkpoints"), config.checkpoint_every_epochs),
        keras.callbacks.CSVLogger(os.path.join(output_dir, "training_log.csv"), append=True),
        ProgressLogger(config.num_epochs, steps_per_epoch),
    ]
    if config.recalibrate_batch_norm_steps > 0 and config.strategy != "multi_worker":
        callbacks.insert(0, BatchNormRecalibration(train, config.recalibrate_batch_norm_steps))
    if chief:
        callbacks.append(AnalysisSummaries(output_dir, analysis_images,
                                           config.summaries.num_heatmap_examples))
        if config.information_plane.enabled:
            plane = config.information_plane
            subset = lambda split: load_split(  # noqa: E731
                config, f"{split}[:{plane.num_examples}]", 250, False)
            callbacks.append(information.InformationPlane(
                output_dir, plane.layers, subset(config.dataset.train_split),
                subset(config.dataset.test_split), every=plane.every,
                num_samples=config.eval_num_samples, num_bins=plane.num_bins,
                seed=config.seed))
    callbacks.append(keras.callbacks.TensorBoard(os.path.join(output_dir, "tensorboard")))

    logging.info("Training %s in %s: %d epochs of %d steps, global batch %d, %d replica(s).",
                 config.experiment, workdir, config.num_epochs, steps_per_epoch,
                 config.batch_size, strategy.num_replicas_in_sync)
    fit = fit_distributed if config.strategy in ("mirrored", "multi_worker") else fit_keras
    try:
        fit(model, strategy, train, test, config, steps_per_epoch, callbacks)
    except KeyboardInterrupt:
        path = os.path.join(output_dir, "checkpoints", "interrupted.keras")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        model.save(path)
        logging.error("Interrupted: weights saved to %s; rerun the same command to resume "
                      "from the end of the last completed epoch.", path)
        raise

    model.save(os.path.join(output_dir, "model.keras"))
    export_model(model, os.path.join(output_dir, "saved_model"))
    metrics = _final_metrics(config, model, train, test, is_vae)
    with open(os.path.join(output_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    logging.info("Done. TensorBoard logs: %s; checkpoints: %s; SavedModel: %s; metrics: %s",
                 os.path.join(workdir, "tensorboard"), os.path.join(workdir, "checkpoints"),
                 os.path.join(workdir, "saved_model"), metrics)
    return metrics


def _final_metrics(config, model, train, test, is_vae):
    steps = config.eval_steps if config.eval_steps > 0 else None
    if is_vae:
        metrics = model.evaluate(test, steps=steps, verbose=0, return_dict=True)
        metrics["iwae_log_likelihood"] = vae_log_likelihood(config, model)
        return {k: float(v) for k, v in metrics.items()}
    if config.recalibrate_batch_norm_steps > 0 and config.strategy != "multi_worker":
        recalibrate_batch_norm(model, train, steps=config.recalibrate_batch_norm_steps)
    evaluation_data = test.take(steps) if steps else test
    return evaluate_two_modes(model, evaluation_data, num_samples=config.eval_num_samples)


def vae_log_likelihood(config, model):
    """Mean importance-weighted bound on log p(x) over test examples (nats)."""
    test = load_split(config, f"{config.dataset.test_split}[:{config.iwae_examples}]", 100, False)
    values = [model.importance_weighted_log_likelihood(x, config.iwae_samples).numpy()
              for x, _ in test]
    return float(np.concatenate(values).mean())


# Export -------------------------------------------------------------------------------

def export_model(model, path):
    """SavedModel with deterministic, noisy and KL-map endpoints.

    * `serve` (also the default signature): prediction with the noise off;
    * `serve_noisy`: prediction with every noise layer sampling;
    * `kl_maps` (classifiers with KL layers): a dict of each layer's
      per-unit KL map.
    """
    network = network_of(model)
    inputs = network.inputs if hasattr(network, "inputs") and network.inputs else None
    shape = inputs[0].shape if inputs else (None, *model.image_shape)
    signature = [tf.TensorSpec(shape, tf.float32, name="inputs")]
    archive = keras.export.ExportArchive()
    archive.track(model)

    # Endpoints are traced when the archive is written: each one fixes the
    # noise behaviour inside its own trace.
    def predict(x, sampling):
        with sampling_at_inference(model, enabled=sampling):
            return model(x, training=False)

    archive.add_endpoint("serve", lambda x: predict(x, False), signature)
    archive.add_endpoint("serve_noisy", lambda x: predict(x, True), signature)
    kl_layers = [layer for layer in model._flatten_layers() if isinstance(layer, KLPenalty)]
    if inputs and kl_layers:
        to_inputs = {layer.name: layer_inputs_model(network, layer.name) for layer in kl_layers}
        for submodel in to_inputs.values():
            archive.track(submodel)

        def kl_maps(x):
            return {layer.name: layer(to_inputs[layer.name](x, training=False),
                                      return_kl_map=True)[1] for layer in kl_layers}

        archive.add_endpoint("kl_maps", kl_maps, signature)
    archive.write_out(path, verbose=False)


# Evaluation command -------------------------------------------------------------------

def latest_model_path(workdir):
    final = os.path.join(workdir, "model.keras")
    if os.path.exists(final):
        return final
    directory = os.path.join(workdir, "checkpoints")
    checkpoints = sorted(f for f in os.listdir(directory) if f.startswith("epoch_")) \
        if os.path.isdir(directory) else []
    if not checkpoints:
        raise WorkdirError(f"workdir {workdir} holds no model.keras nor checkpoints/epoch_*.keras; "
                           "train first.")
    return os.path.join(directory, checkpoints[-1])


def evaluate(config, workdir):
    """Loads the latest model of `workdir`, recalibrates BatchNorm and tests it.

    Reports the test error with deterministic and noisy representations
    (VAE: negative ELBO and importance-weighted bound) and, with
    `nuisance.enabled`, the error of a digit classifier trained on the
    frozen representation (Occluded CIFAR, paper Fig. 4). Results go to
    `workdir/evaluation.json`.
    """
    path = latest_model_path(workdir)
    model = keras.models.load_model(path)
    train = load_split(config, config.dataset.train_split, config.batch_size, True)
    test = load_split(config, config.dataset.test_split, config.batch_size, False)
    results = {"model": path}
    if isinstance(model, models.VAE):
        results.update(_final_metrics(config, model, train, test, is_vae=True))
    else:
        results.update(_final_metrics(config, model, train, test, is_vae=False))
        if config.nuisance.enabled:
            results["nuisance_error"] = nuisance_error(config, model)
    with open(os.path.join(workdir, "evaluation.json"), "w") as f:
        json.dump(results, f, indent=1)
    return results


def nuisance_error(config, model):
    """Test error of a linear digit classifier on the frozen representation."""
    network = network_of(model)
    representation = keras.Model(network.inputs,
                                 network.get_layer(config.nuisance.representation_layer).output)
    representation.trainable = False
    features = keras.layers.GlobalAveragePooling2D()(representation.output)
    classifier = keras.Model(representation.inputs, keras.layers.Dense(10)(features))
    classifier.compile(keras.optimizers.Adam(1e-3),
                       keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                       metrics=["accuracy"])
    steps = config.steps_per_epoch if config.steps_per_epoch > 0 else None
    nuisance_train = load_split(config, config.dataset.train_split, config.batch_size, True,
                                label_key="nuisance_label")
    classifier.fit(nuisance_train, epochs=config.nuisance.epochs, steps_per_epoch=steps, verbose=0)
    nuisance_test = load_split(config, config.dataset.test_split, config.batch_size, False,
                               label_key="nuisance_label")
    eval_steps = config.eval_steps if config.eval_steps > 0 else None
    accuracy = classifier.evaluate(nuisance_test, steps=eval_steps, verbose=0, return_dict=True)
    return 1.0 - float(accuracy["accuracy"])
