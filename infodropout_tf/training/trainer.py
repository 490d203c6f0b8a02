"""`train_and_evaluate(config, workdir)`: one experiment, start to finish.

The workdir receives:

* `config.json`: the experiment's config (a workdir belongs to one
  experiment; see `workdir.py` for what a rerun may change);
* `backup/`: the state after the last complete epoch (weights, optimizer,
  epoch), from which a rerun of the same command resumes (`backup.py`);
* `checkpoints/epoch_NNNN.keras` every `checkpoint_every_epochs` epochs, and
  `checkpoints/interrupted.keras` when interrupted (Ctrl-C / SIGTERM);
* `tensorboard/{train,validation,analysis}` and `training_log.csv`;
* `kl_heatmaps.png`, `information_flow.png`, `total_correlation.png`,
  `information_plane.*` (see `callbacks/analysis_summaries.py` and
  `callbacks/information_plane.py`);
* `model.keras`, `saved_model/` (`saved_model.py`) and `metrics.json` at the end;
* `workers/<index>/`: the same outputs of the other workers of a
  multi-worker run (the chief, or worker 0, writes the workdir itself).

Every file is written aside and renamed (`atomic_files.py`), and an epoch
is committed by its backup only after all its outputs are written.
"""

import os
import sys

import keras
from absl import logging

from infodropout_tf import atomic_files
from infodropout_tf import workdir_files
from infodropout_tf.callbacks import AnalysisSummaries
from infodropout_tf.callbacks import BatchNormRecalibration
from infodropout_tf.callbacks import InformationPlane
from infodropout_tf.saved_model import export
from infodropout_tf.training import callbacks as callbacks_lib
from infodropout_tf.training import config_schema
from infodropout_tf.training import experiment
from infodropout_tf.training import strategies
from infodropout_tf.training.backup import Backup
from infodropout_tf.training.distributed_fit import fit_distributed
from infodropout_tf.training.evaluate import test_metrics
from infodropout_tf.training.workdir import RESUMABLE_CHANGES
from infodropout_tf.training.workdir import Workdir
from infodropout_tf.training.workdir import WorkdirError


def train_and_evaluate(config, workdir):
    """Trains `config` in `workdir` (resuming if possible) and evaluates.

    Returns:
        Dict of final metrics (also written to `workdir/metrics.json`).
    """
    # Everything that can reject the config runs before the workdir is touched.
    config_schema.validate(config)
    strategy = strategies.make_strategy(config.strategy, config.tpu)
    # Every worker resumes from the chief's committed state, so that all
    # start at the same epoch with the same weights; the other workers keep
    # their (identical) outputs in workdir/workers/<index>.
    chief = Workdir(workdir)
    backup = Backup(chief.join("backup"), chief)
    if not strategies.is_chief():
        workdir = os.path.join(workdir, "workers", str(strategies.task_index()))
    workdir = Workdir(workdir)
    keras.utils.set_random_seed(config.seed)
    num_train = experiment.num_train_examples(config)
    steps = experiment.steps_per_epoch(config, num_train)
    recalibration = experiment.recalibration_batches(config)
    test = experiment.load_split(config, config.dataset.test_split, config.batch_size, False)
    analysis_images = next(iter(experiment.load_split(
        config, config.dataset.test_split, config.summaries.num_analysis_examples, False)))[0]
    model = experiment.build_model(config, strategy, num_train, steps, analysis_images[:2])

    workdir.lock()
    try:
        workdir.check_same_experiment(config, ignore=RESUMABLE_CHANGES)
        finished = _finished_metrics(config, chief, backup)
        if finished is not None:
            return finished
        completed = backup.restore(model)
        _check_not_past(config, chief, completed)
        # Before the config is written: a damaged log refuses the rerun
        # with only what unfinished epochs left removed.
        workdir.discard_after(completed)
        workdir.write_config(config)
        if completed:
            logging.info("Resuming from epoch %d of %d.", completed, config.num_epochs)
        logging.info("Training %s in %s: epochs %d to %d of %d steps, global batch %d, "
                     "%d replica(s).", config.experiment, workdir.path, completed + 1,
                     config.num_epochs, steps, config.batch_size, strategy.num_replicas_in_sync)
        callbacks = _callbacks(config, workdir, backup, recalibration, analysis_images, steps)
        train = experiment.training_epochs(config, completed, steps)
        _fit(config, model, strategy, train, test, completed, steps, callbacks, workdir)

        atomic_files.write_with(workdir.join("model.keras"), model.save)
        export(model, workdir.join("saved_model"))
        metrics = {"epochs": config.num_epochs, **test_metrics(config, model, recalibration, test)}
        atomic_files.write_json(workdir.metrics_path, metrics)
    finally:
        workdir.release()
    logging.info("Done. Outputs in %s: tensorboard/, checkpoints/, saved_model/, model.keras; "
                 "metrics: %s", workdir.path, metrics)
    return metrics


def _check_not_past(config, workdir, epochs):
    if epochs > config.num_epochs:
        raise WorkdirError(
            f"workdir {workdir.path} holds {epochs} trained epochs, more than "
            f"num_epochs={config.num_epochs}; pass --config.num_epochs={epochs} or more, or use "
            "another --workdir.")


def _finished_metrics(config, workdir, backup):
    """The stored metrics if this run already finished `num_epochs`, else None.

    Raises:
        WorkdirError: the workdir holds more epochs than `num_epochs`, or
            its backup's metadata or `metrics.json` holds values the
            trainer never writes.
    """
    saved = backup.saved_epoch()
    _check_not_past(config, workdir, saved)
    if saved != config.num_epochs:
        return None  # training goes on, and its metrics replace any stored
    path = workdir.metrics_path
    fix = f"Delete {path} to evaluate the run again."
    try:
        metrics = workdir_files.read_json(path, fix)
    except (FileNotFoundError, workdir_files.UnreadableFileError):
        return None  # missing, or cut short: evaluated again
    workdir_files.check_fields(path, metrics, {"epochs": workdir_files.integer(1)}, fix)
    # Metrics of a shorter run that is being extended do not count.
    if metrics["epochs"] != saved:
        return None
    logging.info("%s already holds this run, finished after %d epochs; nothing to do.",
                 workdir.path, saved)
    return metrics


def _callbacks(config, workdir, backup, recalibration, analysis_images, steps):
    """The epoch's callbacks, in the order its end must run them.

    The guard first (no non-finite state is written), then every output of
    the epoch, then the backup, which commits it.
    """
    callbacks = [callbacks_lib.LearningRateLogger(),
                 callbacks_lib.FiniteStateGuard(workdir.path)]
    schedule = experiment.beta_schedule(config)
    if schedule is not None:
        # Before the logs' readers: its epoch-end `beta` must reach them.
        callbacks.insert(1, schedule)
    if config.recalibrate_batch_norm_steps > 0:
        # Under multi_worker every worker recalibrates and the statistics
        # are pooled across workers, so all keep the same ones.
        callbacks.insert(0, BatchNormRecalibration(recalibration,
                                                   config.recalibrate_batch_norm_steps))
    callbacks += [
        keras.callbacks.CSVLogger(workdir.join("training_log.csv"), append=True),
        callbacks_lib.EpochScalars(workdir.join("tensorboard")),
    ]
    if strategies.is_chief():
        callbacks.append(AnalysisSummaries(workdir.join("tensorboard", "analysis"),
                                           analysis_images,
                                           config.summaries.num_heatmap_examples,
                                           figures_dir=workdir.path))
        if config.information_plane.enabled:
            plane = config.information_plane
            subset = lambda split: experiment.load_split(  # noqa: E731
                config, f"{split}[:{plane.num_examples}]", 250, False)
            callbacks.append(InformationPlane(
                workdir.path, plane.layers, subset(config.dataset.train_split),
                subset(config.dataset.test_split), every=plane.every, resume=True,
                estimators=config_schema.plane_estimators(plane.estimators),
                mine_steps=plane.mine_steps,
                num_samples=config.eval_num_samples, num_bins=plane.num_bins,
                seed=config.seed))
    callbacks.append(
        callbacks_lib.EpochCheckpoint(workdir.checkpoints, config.checkpoint_every_epochs))
    if strategies.is_chief():
        callbacks.append(callbacks_lib.BackupCallback(backup))
    callbacks.append(callbacks_lib.ProgressLogger(config.num_epochs, steps))
    return callbacks


def _fit(config, model, strategy, train, test, completed, steps, callbacks, workdir):
    """Trains epochs `completed + 1` to `num_epochs`; saves the model if interrupted."""
    if completed == config.num_epochs:
        return
    options = dict(epochs=config.num_epochs, initial_epoch=completed, steps_per_epoch=steps,
                   validation_steps=config.eval_steps if config.eval_steps > 0 else None,
                   callbacks=callbacks)
    try:
        if config.strategy in ("mirrored", "multi_worker"):
            fit_distributed(model, strategy, train, test, **options)
        else:
            model.fit(train, validation_data=test,
                      verbose=1 if sys.stdout.isatty() else 2, **options)
    except KeyboardInterrupt:
        path = os.path.join(workdir.checkpoints, "interrupted.keras")
        atomic_files.write_with(path, model.save)
        logging.error("Interrupted: weights saved to %s; rerun the same command to resume "
                      "from the end of the last completed epoch.", path)
        raise
