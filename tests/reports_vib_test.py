"""The VIB row (issue 30): its sweep's runs, and its report's rate and bounds."""

import json
import os
import pathlib

import numpy as np
import pytest

from infodropout_tf import data
from infodropout_tf.keras_utils import network_of
from infodropout_tf.layers import kl_layers
from infodropout_tf.models import build
from infodropout_tf.models import mlp
from infodropout_tf.models import vib
from infodropout_tf.results import reports
from infodropout_tf.results import sweeps
from infodropout_tf.training import experiment

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
BETAS = [1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]


def test_headline_first_then_both_models_at_each_beta_with_the_kl_per_example():
    runs = sweeps.runs("vib", str(CONFIGS))
    configs = [run.load_config(str(CONFIGS)) for run in runs]
    headline = configs[0]
    assert (runs[0].name, headline.model.name, headline.model.beta, headline.num_epochs) == (
        "vib200_beta0.001", "vib", 1e-3, 200)
    assert [(c.model.name, c.model.beta) for c in configs[1:]] == [
        (name, beta) for beta in BETAS for name in ("vib", "mlp")]
    # Alemi et al.'s optimiser, batch and 12 test samples in every run.
    assert all((c.optimizer.name, c.optimizer.learning_rate, c.optimizer.beta_1,
                c.optimizer.decay_every, c.optimizer.decay, tuple(c.optimizer.boundaries),
                c.batch_size, c.eval_num_samples, c.seed)
               == ("adam", 1e-4, 0.5, 2, 0.97, (), 100, 12, 0) for c in configs)
    assert all(c.num_epochs == 10 for c in configs[1:])
    information = configs[2].model
    assert (tuple(information.hidden_units), information.noisy_layers, information.noise,
            information.activation) == ((1024, 1024), "last", "information", "softplus")
    # Both models weigh the KL by beta per example: neither divides it by N.
    for config in configs[3:5]:
        model = build(experiment.model_config(config, 60_000))
        (layer,) = kl_layers(model)
        assert layer.kl_weight == pytest.approx(1e-6)


def _save_run(root, run, model, beta, epochs, error):
    workdir = os.path.join(root, run.name)
    os.makedirs(workdir)
    model.save(os.path.join(workdir, "model.keras"))
    with open(os.path.join(workdir, "metrics.json"), "w") as f:
        json.dump({"deterministic_error": error - 0.01, "noisy_error": error,
                   "noisy_cross_entropy": 0.5}, f)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump({"dataset": {"name": "mnist", "data_dir": "", "options": {},
                               "label_key": "label", "binarization": "dynamic"},
                   "seed": 0, "strategy": "default", "num_epochs": epochs,
                   "eval_num_samples": 12, "model": {"beta": beta}}, f)
    return run, workdir


def _softplus(x):
    return np.logaddexp(0.0, x)


def test_report_measures_the_rate_and_the_single_sample_cross_entropy(
        tmp_path, shared_data_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", shared_data_dir)
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = {run.name: run for run in sweeps.runs("vib", str(CONFIGS))}
    small_vib = vib(hidden_units=(16,), latent_dim=4, seed=0)
    small_vib(np.zeros((1, 28, 28, 1), "float32"))
    network = network_of(small_vib)
    latent, logits = network.get_layer("latent"), network.get_layer("logits")
    # Wide posteriors and a sharp decoder, so that one sample's cross-entropy
    # is far from the noise-free one's.
    latent.scale_dense.bias.assign(np.full(4, 1.5, "float32"))
    logits.kernel.assign(5.0 * logits.kernel.numpy())
    information = mlp(hidden_units=(16, 16), noisy_layers="last", activation="softplus",
                      noise="information", seed=0)
    information(np.zeros((1, 28, 28, 1), "float32"))
    finished = [
        _save_run(root, runs["vib200_beta0.001"], small_vib, 1e-3, 200, 0.02),
        _save_run(root, runs["vib10_information_dropout_beta0.01"], information, 1e-2, 10, 0.05),
    ]
    reports.REPORTS["vib"](finished, output)
    with open(os.path.join(output, "vib.json")) as f:
        summary = json.load(f)

    batches = list(data.load("mnist", "test", batch_size=500))
    images = np.concatenate([x for x, _ in batches]).reshape(10_000, -1).astype(np.float64)
    labels = np.concatenate([y for _, y in batches]).astype(int)
    p = np.bincount(labels) / labels.size
    assert summary["label_entropy"] == pytest.approx(-np.sum(p * np.log(p)), rel=1e-9)

    # The VIB's rate and cross-entropies, in numpy from its weights.
    w1, b1 = (v.numpy() for v in network.get_layer("dense1").weights)
    hidden = np.maximum(images @ w1 + b1, 0.0)
    mu = hidden @ latent.mean_dense.kernel.numpy() + latent.mean_dense.bias.numpy()
    sigma = _softplus(hidden @ latent.scale_dense.kernel.numpy()
                      + latent.scale_dense.bias.numpy()) + 1e-4
    rate = np.mean(np.sum(0.5 * (mu**2 + sigma**2 - 1) - np.log(sigma), axis=1))
    noise = np.random.default_rng(0).standard_normal((12,) + mu.shape)
    z = mu + sigma * noise
    log_p = z @ logits.kernel.numpy() + logits.bias.numpy()
    log_p -= np.logaddexp.reduce(log_p, axis=-1, keepdims=True)
    per_sample = -log_p[:, np.arange(labels.size), labels]  # (12, examples)
    decoder = per_sample.mean()
    # Both estimates average 12 draws per example: the standard error of
    # their difference, from the spread across draws.
    standard_error = np.sqrt(2 * per_sample.var(axis=0, ddof=1).mean() / per_sample.size)
    noise_free = mu @ logits.kernel.numpy() + logits.bias.numpy()
    noise_free -= np.logaddexp.reduce(noise_free, axis=-1, keepdims=True)
    noise_free_cross_entropy = -noise_free[np.arange(labels.size), labels].mean()
    assert abs(decoder - noise_free_cross_entropy) > 20 * standard_error  # the test can tell

    point = summary["runs"]["vib"]["200"]["0.001"]
    assert point["rate"] == pytest.approx(rate, rel=1e-4)
    assert point["decoder_cross_entropy"] == pytest.approx(decoder, abs=5 * standard_error)
    assert point["prediction_cross_entropy"] < point["decoder_cross_entropy"]  # Jensen
    assert point["label_information_bound"] == pytest.approx(
        summary["label_entropy"] - point["decoder_cross_entropy"], rel=1e-12)
    assert (point["test_error"], point["deterministic_test_error"]) == (0.02, 0.01)
    dropout = summary["runs"]["information_dropout"]["10"]["0.01"]
    assert dropout["rate"] > 0 and dropout["test_error"] == 0.05
    assert os.path.getsize(os.path.join(output, "vib.png")) > 1000
