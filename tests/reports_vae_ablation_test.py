"""The report of row 1's ablation: pairs, gaps, latent diagnostics, noise-off pass."""

import json
import os
import pathlib

import numpy as np
import pytest

from infodropout_tf import data
from infodropout_tf.models import VAE
from infodropout_tf.results import reports
from infodropout_tf.results import sweeps

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"


def _save_run(root, run, model, elbo, iwae):
    workdir = os.path.join(root, run.name)
    os.makedirs(workdir)
    reconstruction = -elbo - 20.0
    with open(os.path.join(workdir, "metrics.json"), "w") as f:
        json.dump({"loss": -elbo, "reconstruction": reconstruction, "kl": 20.0,
                   "iwae_log_likelihood": iwae}, f)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        json.dump({"dataset": {"name": "binarized_mnist", "data_dir": "", "options": {},
                               "label_key": "label", "binarization": "dynamic"},
                   "seed": 0, "strategy": "default", "num_epochs": 30, "iwae_samples": 1000,
                   "iwae_examples": 1000}, f)
    model.save(os.path.join(workdir, "model.keras"))


def test_each_run_is_set_beside_the_gaussian_run_of_its_activation(
        tmp_path, shared_data_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", shared_data_dir)
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = {run.name: run for run in sweeps.runs("vae_ablation", str(CONFIGS))}
    # Untrained k = 1 models stand in for the k = 2 runs: the report reads
    # only the files, and the run's overrides for its options.
    relu_gaussian = VAE("gaussian", seed=0)
    relu_gaussian(np.zeros((1, 28, 28, 1), "float32"))
    _save_run(root, runs["vae_ablation_k2_a_today_gaussian"], relu_gaussian, -101.0, -93.0)
    tanh_gaussian = VAE("gaussian", seed=1, activation="tanh")
    tanh_gaussian(np.zeros((1, 28, 28, 1), "float32"))
    _save_run(root, runs["vae_ablation_k2_c_tanh_gaussian"], tanh_gaussian, -103.0, -94.0)
    log_z = VAE("information_dropout", seed=0, decoder_input="log_z")
    _save_run(root, runs["vae_ablation_k2_b_log_z_information_dropout"], log_z, -101.5, -93.5)
    per_unit = VAE("information_dropout", seed=0, prior="log_normal_per_unit", activation="tanh")
    per_unit.latent.prior.parameter_weights["loc"].assign(np.linspace(-1, 1, 256))
    # Not the sweep's run: (e) keeps relu; a tanh variant tests the pairing.
    tanh_run = sweeps.Run("vae_ablation_k2_e_per_unit_prior_information_dropout",
                          "mnist_vae.py", {**runs["vae_ablation_k2_e_per_unit_prior_"
                                                 "information_dropout"].overrides,
                                           "model.activation": "tanh"})
    _save_run(root, tanh_run, per_unit, -108.0, -99.0)
    finished = [(run, os.path.join(root, run.name)) for run in (
        runs["vae_ablation_k2_a_today_gaussian"], runs["vae_ablation_k2_c_tanh_gaussian"],
        runs["vae_ablation_k2_b_log_z_information_dropout"], tanh_run)]
    reports.REPORTS["vae_ablation"](finished, output)

    with open(os.path.join(output, "vae_ablation.json")) as f:
        summary = json.load(f)["runs"]
    b = summary["vae_ablation_k2_b_log_z_information_dropout"]
    assert (b["latent_type"], b["decoder_input"], b["activation"]) == (
        "information_dropout", "log_z", "relu")
    assert b["gap_elbo"] == pytest.approx(-0.5) and b["gap_iwae"] == pytest.approx(-0.5)
    e = summary["vae_ablation_k2_e_per_unit_prior_information_dropout"]
    assert e["gap_elbo"] == pytest.approx(-5.0) and e["gap_iwae"] == pytest.approx(-5.0)
    # A per-unit prior is summarised by its mean and range.
    assert e["latent"]["prior_mu"] == pytest.approx({"mean": 0.0, "min": -1.0, "max": 1.0},
                                                    abs=1e-6)
    gaussian = summary["vae_ablation_k2_a_today_gaussian"]
    assert "gap_elbo" not in gaussian and "decoder_input" not in gaussian

    # The noise-off pass: the decoder reads the latent's mean, log f here.
    images = np.concatenate([x for x, _ in data.load("binarized_mnist", "test[:1000]",
                                                     batch_size=500)])
    hidden = log_z.encoder(images)
    mean = np.log(np.maximum(np.asarray(log_z.latent_features(hidden)), 1e-4))
    expected = -np.mean(np.asarray(log_z.bernoulli_log_likelihood(
        images, log_z.decoder(mean))))
    off, noisy = b["noise_off_1000_not_a_bound"], b["noisy_1000"]
    assert off["reconstruction"] == pytest.approx(expected, rel=1e-4)
    # Same KL; the noisy pass reads samples, so its reconstruction differs.
    assert off["kl"] == pytest.approx(noisy["kl"])
    assert abs(off["reconstruction"] - noisy["reconstruction"]) > 0.1
    with open(os.path.join(output, "vae_ablation.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
