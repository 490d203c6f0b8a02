"""The trainers: every config end to end, mirrored and multi-worker training
(faults, resuming and bad input: faults_test.py)."""

import csv
import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from infodropout_tf import data
from infodropout_tf.training import config as config_lib
from infodropout_tf.training import evaluate as evaluate_lib
from infodropout_tf.training import experiment
from infodropout_tf.training import trainer

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def load_config(name):
    return config_lib.from_file(CONFIGS / f"{name}.py")


def _steps(directory):
    """{tag: sorted steps} of the event files in `directory`."""
    steps = {}
    for name in os.listdir(directory):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(directory, name)):
            for value in event.summary.value:
                steps.setdefault(value.tag, []).append(event.step)
    return {tag: sorted(found) for tag, found in steps.items()}


def _tags(directory):
    return set(_steps(directory))


def _small(name, tmp_path, fake_cifar):
    """The config `name` with testing overrides, on small or faked data
    (`fake_cifar`: conftest.py's fixture)."""
    config = config_lib.testing_overrides(load_config(name))
    data_dir = tmp_path / "tfds"
    data_dir.mkdir(exist_ok=True)
    (data_dir / "mnist").symlink_to(os.path.join(os.path.abspath(os.environ["TFDS_DATA_DIR"]),
                                                 "mnist"))
    config.dataset.data_dir = str(data_dir)
    if "all_cnn" in config.model.name:
        config.model.filter_fraction = 0.25
    if name in ("cifar_all_cnn32", "occluded_cifar_all_cnn32"):
        fake_cifar.fake(str(tmp_path))
        data.prepare("cifar10", str(data_dir), source_dir=str(tmp_path), verify_checksum=False)
    if name == "occluded_cifar_all_cnn32":
        data.prepare("occluded_cifar10", str(data_dir))
    if name == "occluded_mnist_all_cnn32":
        config.dataset.options.num_train = 64
        config.dataset.options.num_test = 32
        data.prepare("occluded_mnist", str(data_dir), **config.dataset.options.to_dict())
    if name == "cluttered_all_cnn96":
        config.dataset.options.num_train = 64
        config.dataset.options.num_test = 32
        data.prepare("cluttered_mnist", str(data_dir), **config.dataset.options.to_dict())
    if name == "mnist_mlp":
        config.model.width = 32
    if name == "mnist_vib":
        config.model.hidden_units = (32,)
        config.model.latent_dim = 8
    if name == "mnist_vib_information_dropout":
        config.model.hidden_units = (32, 32)
    return config


def _reload_in_fresh_process(saved_model, inputs_path, outputs_path):
    script = textwrap.dedent(f"""
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({str(saved_model)!r})
        x = np.load({str(inputs_path)!r})
        np.savez({str(outputs_path)!r}, serve=loaded.serve(x).numpy(),
                 noisy_1=loaded.serve_noisy(x).numpy(), noisy_2=loaded.serve_noisy(x).numpy(),
                 default=list(loaded.signatures["serving_default"](inputs=tf.constant(x)).values())[0].numpy(),
                 **{{"kl_" + k: v.numpy() for k, v in (loaded.kl_maps(x).items()
                                                       if hasattr(loaded, "kl_maps") else [])}})
        """)
    subprocess.run([sys.executable, "-c", script], check=True, env=ENV, capture_output=True)
    return dict(np.load(outputs_path))


CONFIG_NAMES = sorted(p.stem for p in CONFIGS.glob("*.py") if p.stem != "__init__")


def test_every_paper_experiment_has_a_config():
    assert CONFIG_NAMES == ["cifar_all_cnn32", "cluttered_all_cnn96", "mnist_all_cnn32",
                            "mnist_lenet_information_plane", "mnist_lenet_surrogate",
                            "mnist_mlp", "mnist_mlp_information_plane", "mnist_vae", "mnist_vib", "mnist_vib_information_dropout",
                            "occluded_cifar_all_cnn32",
                            "occluded_mnist_all_cnn32", "testing"]
    cifar = load_config("cifar_all_cnn32")
    assert (cifar.batch_size, cifar.optimizer.learning_rate, cifar.optimizer.boundaries,
            cifar.num_epochs, cifar.model.weight_decay, cifar.model.beta, cifar.model.max_alpha,
            cifar.model.input_dropout_rate, cifar.optimizer.momentum, cifar.optimizer.nesterov) == (
        100, 0.05, (80, 120, 160), 200, 0.001, 3.0, 0.7, 0.2, 0.9, True)
    cluttered = load_config("cluttered_all_cnn96")
    assert (cluttered.batch_size, cluttered.optimizer.learning_rate, cluttered.optimizer.boundaries,
            cluttered.num_epochs, cluttered.model.beta, cluttered.model.max_alpha,
            cluttered.model.weight_decay) == (128, 0.01, (30, 60), 80, 0.5, 1.0, 0.0)
    # Fig. 6 on MNIST: the CIFAR network and settings on 28x28x1 inputs.
    flow = load_config("mnist_all_cnn32")
    assert flow.model.to_dict() == {**cifar.model.to_dict(), "input_shape": (28, 28, 1),
                                    "filter_fraction": 0.25}
    assert (flow.dataset.name, flow.batch_size, flow.optimizer.learning_rate) == ("mnist", 100, 0.05)
    # Fig. 4 on MNIST: the same network on 32x32x1 frames, and the nuisance
    # classifier on the last information-dropout layer.
    occluded = load_config("occluded_mnist_all_cnn32")
    assert occluded.model.to_dict() == {**flow.model.to_dict(), "input_shape": (32, 32, 1)}
    assert (occluded.dataset.name, occluded.nuisance.enabled,
            occluded.nuisance.representation_layer) == ("occluded_mnist", True, "dropout2")
    mlp = load_config("mnist_mlp")
    assert (mlp.optimizer.learning_rate, mlp.optimizer.boundaries, mlp.num_epochs) == (
        0.07, (30, 70), 80)
    vae = load_config("mnist_vae")
    assert (vae.num_epochs, vae.optimizer.boundaries) == (300, (30, 120))


# Slow (left out of CI), each repeating a smoke run CI keeps (the smoke runs
# are the subset's heaviest tests: training, export, a fresh-process reload):
# - occluded_mnist_all_cnn32: the occluded_cifar_all_cnn32 run (the same
#   network and nuisance classifier) on other data;
# - cifar_all_cnn32: occluded_cifar_all_cnn32 is this config (from_file) plus
#   the nuisance, on the same faked, prepared CIFAR-10;
# - mnist_all_cnn32: the same network as occluded_cifar_all_cnn32 on MNIST;
#   All-CNN-32 on 28x28x1 inputs is built, saved and reloaded by models_test,
#   the config loaded by config_test and test_every_paper_experiment_has_a_config;
# - mnist_mlp_information_plane: the MLP is the mnist_mlp run, the plane in
#   the trainer the mnist_lenet_information_plane run and
#   test_the_plane_uses_the_estimators_of_the_config, Gaussian dropout's
#   Gaussian-mixture plane information_plane_test's callback test.
# - cluttered_all_cnn96: All-CNN-96 learns MNIST in models_test, Cluttered
#   MNIST's generation is cluttered_mnist_test's, the config is loaded by
#   config_test and test_every_paper_experiment_has_a_config.
SLOW_SMOKE_RUNS = ("occluded_mnist_all_cnn32", "cifar_all_cnn32", "mnist_all_cnn32",
                   "mnist_mlp_information_plane", "cluttered_all_cnn96")


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW_SMOKE_RUNS else name
    for name in CONFIG_NAMES])
def test_config_smoke_run(name, tmp_path, fake_cifar):
    config = _small(name, tmp_path, fake_cifar)
    workdir = tmp_path / "run"
    metrics = trainer.train_and_evaluate(config, str(workdir))
    is_vae = config.model.name == "vae"

    assert json.loads((workdir / "metrics.json").read_text()) == metrics
    if is_vae:
        assert np.isfinite(metrics["loss"]) and metrics["iwae_log_likelihood"] < 0
    else:
        assert 0 <= metrics["deterministic_error"] <= 1 and 0 <= metrics["noisy_error"] <= 1
        assert ("nuisance_error" in metrics) == config.nuisance.enabled
    assert sorted(os.listdir(workdir / "checkpoints")) == ["epoch_0001.keras", "epoch_0002.keras"]
    assert {"epoch_loss", "epoch_learning_rate"} <= _tags(workdir / "tensorboard" / "train")
    validation = _tags(workdir / "tensorboard" / "validation")
    assert "epoch_loss" in validation
    analysis = _tags(workdir / "tensorboard" / "analysis")
    if is_vae:
        assert {"epoch_reconstruction", "epoch_kl"} <= validation
        assert "kl_weighted/latent" in analysis
    else:
        assert {"epoch_cross_entropy", "epoch_error"} <= validation
    if config.model.get("noise") == "information":
        assert any(tag.startswith("information_flow/dropout") and tag.endswith("/total")
                   for tag in analysis)
        assert any(tag.startswith("alpha/") for tag in analysis)
        assert (workdir / "information_flow.png").exists()
        # Every information-dropout network, MLPs included, gets heatmaps,
        # and each epoch's analysis shares its step with its loss.
        assert "kl_heatmaps" in analysis
        assert (workdir / "kl_heatmaps.png").read_bytes().startswith(b"\x89PNG")
        epochs = _steps(workdir / "tensorboard" / "train")["epoch_loss"]
        assert epochs == [0, 1]
        analysis_steps = _steps(workdir / "tensorboard" / "analysis")
        assert all(steps == epochs for steps in analysis_steps.values())
    if config.model.get("activation") == "softplus" and config.model.get("noise") == "information":
        assert "total_correlation" in analysis
        assert (workdir / "total_correlation.png").exists()
    if config.information_plane.enabled:
        assert (workdir / "information_plane.png").exists()

    # The SavedModel, in a fresh process, predicts as the trained model.
    model = keras.models.load_model(workdir / "model.keras")
    x = next(iter(experiment.load_split(config, "test", 4, False)))[0].numpy()
    np.save(tmp_path / "x.npy", x)
    served = _reload_in_fresh_process(workdir / "saved_model", tmp_path / "x.npy",
                                      tmp_path / "out.npz")
    from infodropout_tf.layers import set_stochastic_inference
    set_stochastic_inference(model, False)
    np.testing.assert_allclose(served["serve"], model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(served["default"], served["serve"])
    if config.model.get("noise") not in ("none", None) or is_vae:
        assert not np.allclose(served["noisy_1"], served["noisy_2"])
    kl_maps = {k: v for k, v in served.items() if k.startswith("kl_")}
    if not is_vae:
        # A map per KL layer; zero-entropy noise (the surrogate config) adds no KL.
        assert bool(kl_maps) == bool(model.kl_layers)
        assert all(v.shape[0] == 4 and np.all(np.isfinite(v)) for v in kl_maps.values())

    # The evaluation command on the same workdir.
    results = evaluate_lib.evaluate(config, str(workdir))
    assert json.loads((workdir / "evaluation.json").read_text()) == results
    if config.nuisance.enabled:
        assert 0 <= results["nuisance_error"] <= 1 and results["nuisance_probe"] == "mlp"
        # The evaluation command may change the probe of a trained run.
        config.nuisance.probe = "conv"
        results = evaluate_lib.evaluate(config, str(workdir))
        assert 0 <= results["nuisance_error"] <= 1 and results["nuisance_probe"] == "conv"


def test_the_plane_uses_the_estimators_of_the_config(tmp_path, testing_config):
    # A Dense layer with MINE (few steps: plumbing), an information-dropout
    # layer with binning instead of its closed form.
    config = testing_config(**{
        "num_epochs": 1, "information_plane.enabled": True,
        "information_plane.layers": ("dense2", "dropout2"), "information_plane.mine_steps": 20,
        "information_plane.estimators": ("dense2:mine", "dropout2:binning")})
    trainer.train_and_evaluate(config, str(tmp_path / "run"))
    rows = json.loads((tmp_path / "run" / "information_plane.json").read_text())
    pairs = [("dense2", "mine"), ("dense2", "binning"), ("dropout2", "binning")]
    assert [(r["epoch"], r["split"], r["layer"], r["estimator"]) for r in rows] == [
        (epoch, split, *pair)
        for epoch in (0, 1) for split in ("train", "test") for pair in pairs]
    for row in rows:
        assert np.isfinite(row["mutual_information_x"])
        if row["estimator"] == "binning":  # on the 64 examples of the testing config
            assert 0 <= row["mutual_information_x"] <= np.log(64) + 1e-9
    with open(tmp_path / "run" / "information_plane.csv") as f:
        assert [(r["layer"], r["estimator"]) for r in csv.DictReader(f)] == pairs * 4


def _run_in_subprocess(config, workdir, prelude="", env=ENV):
    script = textwrap.dedent(f"""
        {prelude}
        import json, ml_collections
        from infodropout_tf.training import trainer
        config = ml_collections.ConfigDict(json.loads({config.to_json()!r}))
        trainer.train_and_evaluate(config, {str(workdir)!r})
        """)
    return subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _losses(workdir):
    with open(os.path.join(workdir, "training_log.csv")) as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]


@pytest.mark.slow
def test_mirrored_strategy_matches_one_device(tmp_path, testing_config):
    # Information dropout with negligible noise (alpha ~ 0.001): the KL term
    # is in the loss at full strength, the replicas' different noise is not.
    config = testing_config(**{"model.max_alpha": 1e-6, "num_epochs": 1, "steps_per_epoch": 5})
    single = tmp_path / "single"
    process = _run_in_subprocess(config, single)
    _, errors = process.communicate()
    assert process.returncode == 0, errors
    config.strategy = "mirrored"
    prelude = ("import tensorflow as tf; cpu = tf.config.list_physical_devices('CPU')[0]; "
               "tf.config.set_logical_device_configuration(cpu, "
               "[tf.config.LogicalDeviceConfiguration()] * 2)")
    process = _run_in_subprocess(config, tmp_path / "mirrored", prelude)
    _, errors = process.communicate()
    assert process.returncode == 0, errors
    np.testing.assert_allclose(_losses(tmp_path / "mirrored"), _losses(single), rtol=1e-3)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_local_workers_agree_on_the_weights(tmp_path):
    # A network with BatchNorm: its statistics are recalibrated after every
    # epoch and before the evaluation, pooled over the two workers.
    config = config_lib.testing_overrides(load_config("mnist_all_cnn32"))
    config.strategy = "multi_worker"
    config.model.filter_fraction = 0.125
    ports = [_free_port(), _free_port()]
    processes = []
    for index in range(2):
        cluster = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                   "task": {"type": "worker", "index": index}}
        env = dict(ENV, TF_CONFIG=json.dumps(cluster))
        processes.append(_run_in_subprocess(config, tmp_path / "run", env=env))
    for process in processes:
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors[-2000:]
    chief = keras.models.load_model(tmp_path / "run" / "model.keras")
    other = keras.models.load_model(tmp_path / "run" / "workers" / "1" / "model.keras")
    assert any(isinstance(layer, keras.layers.BatchNormalization)
               for layer in chief.network.layers)
    for a, b in zip(chief.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert _losses(tmp_path / "run") == _losses(tmp_path / "run" / "workers" / "1")
    with open(tmp_path / "run" / "metrics.json") as f, \
            open(tmp_path / "run" / "workers" / "1" / "metrics.json") as g:
        assert json.load(f) == json.load(g)



def test_mixed_bfloat16_trains_the_testing_config_with_float32_kls(tmp_path, testing_config):
    config = testing_config(dtype_policy="mixed_bfloat16", num_epochs=1)
    workdir = tmp_path / "run"
    metrics = trainer.train_and_evaluate(config, str(workdir))

    # The policy held while the model was built only.
    assert keras.config.dtype_policy().name == "float32"
    assert json.loads((workdir / "config.json").read_text())["dtype_policy"] == "mixed_bfloat16"
    assert 0 <= metrics["deterministic_error"] <= 1
    with open(workdir / "training_log.csv") as f:
        (row,) = csv.DictReader(f)
    kls = [float(row[f"{prefix}kl_dropout{i}"]) for prefix in ("", "val_") for i in (1, 2, 3)]
    assert all(np.isfinite(kl) and kl > 0 for kl in kls)

    model = keras.models.load_model(workdir / "model.keras")
    dense = model.network.get_layer("dense1")
    assert (dense.compute_dtype, dense.kernel.dtype) == ("bfloat16", "float32")
    x = next(iter(experiment.load_split(config, "test", 8, False)))[0]
    assert model(x, training=True).dtype == "bfloat16"
    for layer in model.kl_layers:  # the KL of the call above, per example
        assert layer.kl_per_example.dtype == "float32"
        assert np.all(np.isfinite(layer.kl_per_example))
    from infodropout_tf import kl_maps
    assert all(m.dtype == np.float32 and np.isfinite(m).all() for m in kl_maps(model, x).values())
    served = tf.saved_model.load(str(workdir / "saved_model"))
    assert served.serve(x).dtype == tf.float32


def test_a_model_that_fails_to_build_leaves_the_dtype_policy_as_it_was(tmp_path, testing_config):
    # A value the config's ranges let through and the model's builder refuses.
    config = testing_config(dtype_policy="mixed_bfloat16", **{"model.max_alpha": -1.0})
    with pytest.raises(config_lib.ConfigError, match="`max_alpha`"):
        trainer.train_and_evaluate(config, str(tmp_path / "run"))
    assert keras.config.dtype_policy().name == "float32"


def test_a_beta_schedule_warms_the_kl_up_and_a_resumed_run_stays_on_it(tmp_path,
                                                                        testing_config):
    # From 0 at epoch 0 to model.beta = 1 at epoch 2, per epoch; the run is
    # extended from 1 to 3 epochs, resuming at epoch index 1.
    overrides = {"model.beta_schedule.name": "linear", "model.beta_schedule.initial_beta": 0.0,
                 "model.beta_schedule.epochs": 2}
    workdir = tmp_path / "run"
    trainer.train_and_evaluate(testing_config(num_epochs=1, **overrides), str(workdir))
    trainer.train_and_evaluate(testing_config(num_epochs=3, **overrides), str(workdir))

    with open(workdir / "training_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(row["beta"]) for row in rows] == [0.0, 0.5, 1.0]
    # The loss holds beta * KL / N: with beta = 0 the loss is the
    # cross-entropy alone, later it is more.
    assert float(rows[0]["loss"]) == pytest.approx(float(rows[0]["cross_entropy"]), rel=1e-5)
    assert float(rows[2]["loss"]) > float(rows[2]["cross_entropy"])
    assert "epoch_beta" in _tags(workdir / "tensorboard" / "train")
    model = keras.models.load_model(workdir / "model.keras")
    assert [layer.beta for layer in model.kl_layers] == [1.0, 1.0, 1.0]


def test_a_convolutional_nuisance_probe_needs_a_spatial_representation():
    config = load_config("testing")
    config.nuisance.enabled = True
    config.nuisance.representation_layer = "features"
    config.nuisance.probe = "conv"
    inputs = keras.Input((4,))
    features = keras.layers.Dense(3, name="features")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, name="logits")(features))
    with pytest.raises(config_lib.ConfigError,
                       match=r"^invalid config field `nuisance.probe`: 'conv' needs a \(height, "
                             r"width, channels\) representation, and 'features' outputs shape "
                             r"\(3,\); use 'mlp'.$"):
        evaluate_lib.nuisance_error(config, model)


@pytest.mark.parametrize("binarization", ["dynamic", "static"])
def test_dataset_binarization_of_the_training_images(shared_data_dir, binarization):
    config = load_config("mnist_vae")
    config.dataset.data_dir = shared_data_dir
    config.dataset.binarization = binarization

    def two_passes(split):
        batches = experiment.load_split(config, split, 100, False)  # unshuffled
        return [np.concatenate([x for x, _ in batches.as_numpy_iterator()]) for _ in range(2)]

    first, second = two_passes("train[:200]")
    assert set(np.unique(first)) == {0.0, 1.0}
    # Dynamic: a fresh draw per pass, so about a tenth of MNIST's pixels
    # (those strictly between 0 and 1) have a chance to change.
    assert np.array_equal(first, second) == (binarization == "static")
    # The test images are binarised once either way, and identically.
    test_first, test_second = two_passes("test[:200]")
    assert np.array_equal(test_first, test_second)
    static = load_config("mnist_vae")
    static.dataset.data_dir, static.dataset.binarization = shared_data_dir, "static"
    assert np.array_equal(test_first, np.concatenate(
        [x for x, _ in experiment.load_split(static, "test[:200]", 100, False).as_numpy_iterator()]))


def rate_at(optimizer, step):
    optimizer.iterations.assign(step)
    return float(optimizer.learning_rate)


def test_the_optimizer_decays_every_few_epochs_or_at_boundaries():
    # Alemi et al.'s VIB schedule: Adam (beta_1 0.5), the rate times 0.97
    # every 2 epochs, here of 600 steps.
    config = config_lib.from_file(config_lib.resolve("mnist_vib"))
    optimizer = experiment.make_optimizer(config, steps_per_epoch=600)
    assert isinstance(optimizer, keras.optimizers.Adam) and optimizer.beta_1 == 0.5
    rates = [rate_at(optimizer, step) for step in (0, 1199, 1200, 3600)]
    np.testing.assert_allclose(rates, [1e-4, 1e-4, 0.97e-4, 0.97**3 * 1e-4], rtol=1e-6)
    config.optimizer.decay_every, config.optimizer.boundaries = 0, (1, 3)
    optimizer = experiment.make_optimizer(config, steps_per_epoch=600)
    # keras's PiecewiseConstantDecay changes the rate after a boundary step.
    rates = [rate_at(optimizer, step) for step in (600, 601, 1801)]
    np.testing.assert_allclose(rates, [1e-4, 0.97e-4, 0.97**2 * 1e-4], rtol=1e-6)
