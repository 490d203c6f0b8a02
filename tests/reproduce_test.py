"""infodropout-reproduce: runs a sweep, skips and resumes runs, reports them."""

import fcntl
import json
import math
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from infodropout_tf.results import reproduce
from infodropout_tf.results import sweeps
from infodropout_tf.results import run_folder

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"


def _fake_trainer(tmp_path):
    """An executable that records its arguments, fails for seed 1, else finishes."""
    path = tmp_path / "fake-trainer"
    path.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, os, sys
        workdir = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--workdir=")][0]
        with open(os.path.join(os.path.dirname(workdir), "calls.jsonl"), "a") as f:
            f.write(json.dumps(sys.argv[1:]) + "\\n")
        if "--config.seed=1" in sys.argv:
            print("boom: the loss diverged")
            sys.exit(3)
        os.makedirs(workdir, exist_ok=True)
        with open(os.path.join(workdir, "metrics.json"), "w") as f:
            json.dump({{"deterministic_error": 0.5}}, f)
        """))
    path.chmod(0o755)
    return str(path)


def _calls(root):
    with open(os.path.join(root, "calls.jsonl")) as f:
        return [json.loads(line) for line in f]


def test_run_skips_finished_runs_and_names_the_log_of_a_failed_one(tmp_path):
    trainer, root = _fake_trainer(tmp_path), str(tmp_path / "root")
    runs = [sweeps.Run(name, "testing.py", {"seed": seed}, trainer=trainer)
            for name, seed in (("done", 0), ("fresh", 2), ("broken", 1), ("later", 3))]
    os.makedirs(os.path.join(root, "done"))
    with open(os.path.join(root, "done", "metrics.json"), "w") as f:
        f.write("{}")

    with pytest.raises(reproduce.ReproduceError) as raised:
        reproduce.run(runs, root, str(CONFIGS))
    log = os.path.join(root, "broken.log")
    assert str(raised.value) == (
        f"run broken failed (exit status 3); its output is in {log}. "
        "Rerunning resumes it from its last completed epoch.")
    # The finished run is not started again, the sweep stops at the failure.
    assert _calls(root) == [
        [f"--config={CONFIGS}/testing.py", "--config.seed=2", f"--workdir={root}/fresh"],
        [f"--config={CONFIGS}/testing.py", "--config.seed=1", f"--workdir={root}/broken"]]
    assert os.path.exists(os.path.join(root, "fresh", "metrics.json"))
    assert not os.path.exists(os.path.join(root, "later"))

    # A rerun starts the failed run again in its workdir (the trainer resumes
    # it there) and appends to its log.
    with pytest.raises(reproduce.ReproduceError):
        reproduce.run(runs, root, str(CONFIGS))
    assert [call[-1] for call in _calls(root)[2:]] == [f"--workdir={root}/broken"]
    with open(log) as f:
        assert f.read().count("boom") == 2


def test_run_checks_every_config_before_training_anything(tmp_path):
    trainer, root = _fake_trainer(tmp_path), str(tmp_path / "root")
    runs = [sweeps.Run("good", "testing.py", {"seed": 0}, trainer=trainer),
            sweeps.Run("bad", "testing.py", {"model.widht": 8}, trainer=trainer)]
    with pytest.raises(sweeps.SweepError, match=r"run bad: testing.py has no field `model.widht`"):
        reproduce.run(runs, root, str(CONFIGS))
    assert not os.path.exists(root)


def test_without_configs_the_runs_name_the_packaged_configs(tmp_path, capsys):
    trainer, root = _fake_trainer(tmp_path), str(tmp_path / "root")
    reproduce.run([sweeps.Run("fresh", "testing.py", {"seed": 2}, trainer=trainer)], root)
    # By name, so the printed command works wherever the package is installed.
    assert _calls(root) == [["--config=testing", "--config.seed=2", f"--workdir={root}/fresh"]]
    assert capsys.readouterr().out.startswith(
        f"$ {trainer} --config=testing --config.seed=2 --workdir={root}/fresh\n")


def test_command_line_errors_are_one_line(reproduce_error, capsys, tmp_path):
    root = str(tmp_path / "nonexistent")
    status, line = reproduce_error(["report", "vae", "--root", root, "--configs", str(CONFIGS)])
    assert status == 1
    assert line == (f"error: no finished run of row 'vae' in {root}; run "
                    f"`infodropout-reproduce run vae --root {root}` first.")

    status, line = reproduce_error(["run", "cifar", "--root", root, "--configs", str(CONFIGS)])
    assert status == 2 and line.startswith("error: Unknown row 'cifar'")

    # A misspelt override in a later row stops `run` before any row trains.
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    (configs / "sweeps" / "typo.py").write_text(
        "from infodropout_tf.results.sweeps import Run\n"
        "def get_runs(data_dir):\n"
        "    return [Run('typo', 'testing.py', {'optimizer.learning_rat': 0.1})]\n")
    status, line = reproduce_error(["run", "plane", "typo", "--root", root,
                                        "--configs", str(configs)])
    assert status == 2
    assert "no field `optimizer.learning_rat`. Did you mean `optimizer.learning_rate`?" in line
    assert not os.path.exists(root)


def test_runs_pattern_selects_the_runs_to_train(reproduce_error, tmp_path, capsys):
    trainer, root = _fake_trainer(tmp_path), str(tmp_path / "root")
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    (configs / "sweeps" / "widths.py").write_text(
        "from infodropout_tf.results.sweeps import Run\n"
        "def get_runs(data_dir):\n"
        f"    return [Run(f'net_k{{k}}_s{{s}}', 'testing.py', {{'seed': 10 * k + s}}, "
        f"trainer={trainer!r})\n"
        "            for k in (1, 2) for s in (0, 2)]\n")
    reproduce.main(["run", "widths", "--runs", "net_k1_*", "--root", root,
                    "--configs", str(configs)])
    assert [call[-1] for call in _calls(root)] == [f"--workdir={root}/net_k1_s0",
                                                   f"--workdir={root}/net_k1_s2"]

    # Over several rows, those without a match are left out.
    reproduce.main(["run", "plane", "widths", "--runs", "net_k2_s2", "--root", root,
                    "--configs", str(configs)])
    assert _calls(root)[2:] == [[f"--config={configs}/testing.py", "--config.seed=22",
                                 f"--workdir={root}/net_k2_s2"]]

    status, line = reproduce_error(["run", "widths", "--runs", "net_k3_*", "--root", root,
                                        "--configs", str(configs)])
    assert status == 2
    assert line == ("error: --runs 'net_k3_*' matches none of the runs "
                    "(widths: net_k1_s0, net_k1_s2, net_k2_s0, net_k2_s2).")
    status, line = reproduce_error(["report", "widths", "--runs", "net_k1_*", "--root", root,
                                        "--configs", str(configs)])
    assert status == 2 and line.startswith("error: --runs selects runs to train;")
    assert len(_calls(root)) == 3


def _finished_run(root, run, metrics, log=None):
    workdir = os.path.join(root, run.name)
    os.makedirs(workdir)
    with open(os.path.join(workdir, "metrics.json"), "w") as f:
        json.dump(metrics, f)
    if log is not None:
        with open(os.path.join(workdir, "training_log.csv"), "w") as f:
            f.write(log)


def test_training_log_keeps_the_last_row_of_each_epoch(tmp_path):
    # A run killed during epoch 1 and resumed logs epoch 1 twice.
    (tmp_path / "training_log.csv").write_text(
        "epoch,loss,val_loss\n0,3.0,2.0\n1,2.0,1.5\nepoch,loss,val_loss\n1,1.8,1.4\n2,1.5,1.2\n")
    log = run_folder.read_training_log(str(tmp_path))
    np.testing.assert_array_equal(log["epoch"], [0, 1, 2])
    np.testing.assert_array_equal(log["val_loss"], [2.0, 1.4, 1.2])


def test_vae_report_per_width_multiplier(tmp_path, capsys, shared_data_dir, monkeypatch):
    from infodropout_tf import data
    from infodropout_tf.models import VAE

    monkeypatch.setenv("TFDS_DATA_DIR", shared_data_dir)
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = {run.name: run for run in sweeps.runs("vae", str(CONFIGS))}
    log = ("epoch,loss,val_loss,val_reconstruction,val_kl\n0,120.0,110.0,80.0,30.0\n"
           "1,105.0,101.0,75.0,26.0\n1,104.0,100.5,74.0,26.5\n2,100.0,98.0,70.0,28.0\n")
    dataset = {"name": "binarized_mnist", "data_dir": "", "options": {}, "label_key": "label",
               "binarization": "dynamic"}
    # `loss` weights the KL by beta (here 2 for the Gaussian run); the ELBO does not.
    _finished_run(root, runs["vae_k1_gaussian"], {
        "loss": 67.0 + 2 * 29.5, "reconstruction": 67.0, "kl": 29.5,
        "iwae_log_likelihood": -92.0}, log)
    _finished_run(root, runs["vae_k1_information_dropout"], {
        "loss": 100.0, "reconstruction": 73.0, "kl": 27.0, "iwae_log_likelihood": -94.5},
        "epoch,loss,val_loss,val_reconstruction,val_kl\n0,125.0,121.0,90.0,31.0\n"
        "1,110.0,107.0,80.0,27.0\n2,101.0,100.0,73.0,27.0\n")
    _finished_run(root, runs["vae_k2_gaussian"], {
        "loss": 97.0, "reconstruction": 70.0, "kl": 27.0, "iwae_log_likelihood": -93.0}, log)
    _finished_run(root, runs["vae_k1_gaussian_static"], {
        "loss": 99.5, "reconstruction": 72.0, "kl": 27.5, "iwae_log_likelihood": -95.0}, log)
    information = VAE("information_dropout", seed=0, max_alpha=0.5)
    information.latent.prior.mu.assign(0.25)
    information.save(os.path.join(root, "vae_k1_information_dropout", "model.keras"))
    # A Gaussian latent whose posterior ignores the image: N(m_j, 1) with
    # m = 1 for units 0-4 (KL 0.5 each, active), 0.2 for unit 5 (KL 0.02,
    # below the 0.05 threshold) and 0 elsewhere.
    gaussian = VAE("gaussian", seed=0)
    gaussian(np.zeros((1, 28, 28, 1), "float32"))
    means = np.zeros(256, "float32")
    means[:5], means[5] = 1.0, 0.2
    gaussian.latent.mean_dense.set_weights([np.zeros((512, 256), "float32"), means])
    unit_scale = np.log(np.expm1(1.0 - 1e-4))  # softplus(b) + SIGMA_MIN = 1
    gaussian.latent.scale_dense.set_weights([np.zeros((512, 256), "float32"),
                                             np.full(256, unit_scale, "float32")])
    gaussian.save(os.path.join(root, "vae_k1_gaussian", "model.keras"))
    gaussian.save(os.path.join(root, "vae_k1_gaussian_static", "model.keras"))
    wider = VAE("gaussian", seed=0, width_multiplier=2)
    wider(np.zeros((1, 28, 28, 1), "float32"))
    wider.save(os.path.join(root, "vae_k2_gaussian", "model.keras"))
    # Unfinished: k = 2's information-dropout run after 2 of 300 epochs, and
    # k = 3 runs that have not logged an epoch yet (left out): Keras's
    # CSVLogger leaves the file empty until the first epoch ends.
    for name, unfinished_log in (
            ("vae_k2_information_dropout", "epoch,loss,val_loss,val_reconstruction,val_kl\n"
                                           "0,130.0,120.0,85.0,35.0\n1,115.0,110.0,80.0,28.0\n"),
            ("vae_k3_gaussian", ""),
            ("vae_k3_information_dropout", "epoch,loss,val_loss,val_reconstruction,val_kl\n")):
        os.makedirs(os.path.join(root, name))
        with open(os.path.join(root, name, "training_log.csv"), "w") as f:
            f.write(unfinished_log)
    for name in ("vae_k1_gaussian", "vae_k1_information_dropout", "vae_k2_gaussian",
                 "vae_k1_gaussian_static", "vae_k2_information_dropout", "vae_k3_gaussian",
                 "vae_k3_information_dropout"):
        with open(os.path.join(root, name, "config.json"), "w") as f:
            json.dump({"dataset": dataset, "seed": 0, "strategy": "default", "iwae_samples": 1000,
                       "iwae_examples": 1000, "num_epochs": 300}, f)
    reproduce.main(["report", "vae", "--root", root, "--output", output,
                    "--configs", str(CONFIGS)])

    with open(os.path.join(output, "vae.json")) as f:
        summary = json.load(f)
    gaussian_row = summary["k1"]["gaussian"]
    assert gaussian_row.pop("kl_in_active_units") == pytest.approx(2.5, abs=1e-4)
    assert gaussian_row.pop("kl_in_idle_units") == pytest.approx(0.02, abs=1e-4)
    assert gaussian_row == {"epochs": 3, "elbo": -96.5, "reconstruction": 67.0, "kl": 29.5,
                            "iwae": -92.0, "iwae_samples": 1000, "iwae_examples": 1000,
                            "active_units": 5,
                            "weakest_active_unit_kl": pytest.approx(0.5, abs=1e-4),
                            "strongest_idle_unit_kl": pytest.approx(0.02, abs=1e-4)}
    assert summary["k1"]["gaussian_minus_paper"] == pytest.approx(-96.5 + 98.8)
    assert summary["k1"]["information_dropout_minus_gaussian"] == pytest.approx(-3.5)
    # k = 2's information-dropout run has not finished: its last logged
    # epoch, and the gap after the epochs both runs logged (2: log rows 0
    # and 1, where the Gaussian's log keeps the later row 1), beside k = 1's
    # after 2 epochs.
    assert summary["k2"]["information_dropout"] == {
        "finished": False, "epochs": 2, "of_epochs": 300, "elbo": -108.0,
        "reconstruction": 80.0, "kl": 28.0}
    assert summary["k2"]["at_common_epoch"] == {
        "epochs": 2, "gaussian_elbo": -100.5, "information_dropout_elbo": -108.0,
        "information_dropout_minus_gaussian": -7.5,
        "k1_information_dropout_minus_gaussian": -6.5}
    assert "information_dropout_minus_gaussian" not in summary["k2"]
    assert summary["k2"]["gaussian_minus_paper"] == pytest.approx(-97.0 + 99.0)
    # The fixed binarisation of the training images is an entry of its own,
    # compared with the paper's k = 1.
    assert sorted(summary) == ["k1", "k1_static", "k2", "paper", "protocol"]
    assert summary["k1_static"]["gaussian"]["elbo"] == pytest.approx(-99.5)
    assert summary["k1_static"]["gaussian_minus_paper"] == pytest.approx(-99.5 + 98.8)
    # The latent's diagnostics: the learned prior and the alphas of the
    # first 1,000 test images, which the layer caps at max_alpha + 0.001.
    latent = summary["k1"]["information_dropout"]["latent"]
    assert latent["prior_mu"] == pytest.approx(0.25)
    assert latent["prior_sigma"] == pytest.approx(1.0, abs=1e-5)
    images = np.concatenate([x for x, _ in data.load("binarized_mnist", "test[:1000]",
                                                     batch_size=500)])
    hidden = information.encoder(images)
    alpha = np.asarray(information.latent.posterior(
        [information.latent_features(hidden), hidden]).distribution.scale)
    assert latent["alpha_quantiles"]["0.5"] == pytest.approx(np.median(alpha), rel=1e-5)
    assert latent["alpha_upper"] == pytest.approx(0.501)
    assert 0 < latent["alpha_quantiles"]["0.05"] <= latent["alpha_quantiles"]["0.95"] <= 0.501
    assert latent["alpha_share_at_cap"] == pytest.approx(np.mean(alpha > 0.99 * 0.501))
    # Untrained, with alpha <= 0.5 against the prior's sigma of 1, every
    # unit pays more than 0.05 nats: all active, no idle group.
    assert summary["k1"]["information_dropout"]["active_units"] == 256
    assert latent["mean_alpha_of_active_units"] == pytest.approx(alpha.mean(), rel=1e-5)
    assert latent["mean_alpha_of_idle_units"] is None
    with open(os.path.join(output, "vae.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(output)) == ["vae.json", "vae.png"]  # no temporaries left


def test_mlp_width_report_averages_the_finished_seeds(tmp_path, capsys):
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = {run.name: run for run in sweeps.runs("mlp_width", str(CONFIGS))}
    errors = {"mlp80_w64_information_s0": 0.02, "mlp80_w64_information_s1": 0.04,
              "mlp80_w128_information_s2": 0.01, "mlp80_w64_binary_s0": 0.09}
    for name, error in errors.items():
        _finished_run(root, runs[name], {"deterministic_error": error})
        with open(os.path.join(root, name, "config.json"), "w") as f:
            json.dump({"num_epochs": 80}, f)
    reproduce.main(["report", "mlp_width", "--root", root, "--output", output,
                    "--configs", str(CONFIGS)])

    with open(os.path.join(output, "mlp_width.json")) as f:
        summary = json.load(f)
    assert summary["metric"] == "test error, deterministic representation, after 80 epochs"
    summary = summary["errors"]
    assert list(summary) == ["information", "binary"]
    # Each seed's error as trained, beside the mean and spread over seeds.
    assert summary["information"]["64"].pop("per_seed") == {"0": 0.02, "1": 0.04}
    assert summary["information"]["64"] == pytest.approx({"mean": 0.03, "std": 0.01, "seeds": 2})
    assert summary["information"]["128"].pop("per_seed") == {"2": 0.01}
    assert summary["information"]["128"] == pytest.approx({"mean": 0.01, "std": 0.0, "seeds": 1})
    assert list(summary["binary"]) == ["64"]
    assert summary["binary"]["64"].pop("per_seed") == {"0": 0.09}
    assert summary["binary"]["64"] == pytest.approx({"mean": 0.09, "std": 0.0, "seeds": 1})
    assert os.path.getsize(os.path.join(output, "mlp_width.png")) > 1000


def _write_config(root, run, dataset):
    """The fields of a run's config.json that its data is read back from."""
    with open(os.path.join(root, run.name, "config.json"), "w") as f:
        json.dump({"seed": 0, "strategy": "default", "dataset": {
            "label_key": "label", "binarization": "dynamic", **dataset}}, f)


def test_occlusion_report_tabulates_main_and_nuisance_errors_by_beta(tmp_path, capsys):
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = sweeps.runs("occlusion", str(CONFIGS), "/data")
    # Finished out of order: the report sorts by beta.
    for run, nuisance in ((runs[2], 0.6), (runs[0], 0.2)):
        _finished_run(root, run, {"deterministic_error": 0.01, "noisy_error": 0.02,
                                  "nuisance_error": nuisance, "epochs": 6})
    # The first run tested again with the convolutional probe.
    with open(os.path.join(root, runs[0].name, "evaluation.json"), "w") as f:
        json.dump({"deterministic_error": 0.01, "noisy_error": 0.02, "nuisance_error": 0.1,
                   "nuisance_probe": "conv"}, f)
    reproduce.main(["report", "occlusion", "--root", root, "--output", output,
                    "--configs", str(CONFIGS)])

    with open(os.path.join(output, "occlusion.json")) as f:
        errors = json.load(f)["errors"]
    betas = [str(runs[0].overrides["model.beta"]), str(runs[2].overrides["model.beta"])]
    assert list(errors) == betas
    assert errors[betas[0]] == {"deterministic_error": 0.01, "noisy_error": 0.02,
                                "nuisance_error_mlp": 0.2, "nuisance_error_conv": 0.1}
    assert errors[betas[1]] == {"deterministic_error": 0.01, "noisy_error": 0.02,
                                "nuisance_error_mlp": 0.6}
    assert os.path.getsize(os.path.join(output, "occlusion.png")) > 1000


def _lognormal_model(copies_of_one_channel, max_alpha):
    """MNIST -> 4 x 4 average pooling -> softplus features of 3 channels ->
    information dropout (log-normal prior) -> logits. With
    `copies_of_one_channel`, the three channels are the same image; else
    three different convolutions of it. The pooling leaves 7 x 7 x 3 = 147
    units, so the per-image covariance of the 10,000 test images is cheap."""
    import keras

    from infodropout_tf.layers import InformationDropout

    inputs = keras.Input((28, 28, 1))
    pooled = keras.layers.AveragePooling2D(4)(inputs)
    if copies_of_one_channel:
        features = keras.layers.Concatenate()([pooled, pooled, pooled])
    else:
        features = keras.layers.Conv2D(
            3, 3, padding="same", kernel_initializer=keras.initializers.GlorotUniform(0))(pooled)
    features = keras.layers.Activation("softplus")(features)
    noisy = InformationDropout(max_alpha=max_alpha, prior="log_normal", seed=0,
                               name="dropout1")(features)
    logits = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(noisy))
    return keras.Model(inputs, logits)


def test_disentangle_report_measures_the_total_correlation_of_the_log_activations(
        tmp_path, capsys, shared_data_dir, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", shared_data_dir)
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = sweeps.runs("disentangle", str(CONFIGS))[:3]
    # Three equal channels under almost no noise are perfectly correlated
    # (total correlation without bound); under noise of scale about 1.5
    # (max_alpha 3, sigmoid 0.5 at initialisation), which dwarfs the spread
    # of log softplus(pixel) (< 0.7), they are nearly independent.
    models = [_lognormal_model(True, 1e-6), _lognormal_model(True, 3.0),
              _lognormal_model(False, 1e-6)]
    for run, model in zip(runs, models):
        _finished_run(root, run, {"deterministic_error": 0.01, "noisy_error": 0.02})
        model.save(os.path.join(root, run.name, "model.keras"))
        _write_config(root, run, {"name": "mnist", "data_dir": "", "options": {}})
    reproduce.main(["report", "disentangle", "--root", root, "--output", output,
                    "--configs", str(CONFIGS)])

    with open(os.path.join(output, "disentangle.json")) as f:
        report = json.load(f)
    summary = report["runs"]
    # The original's measure: every test image one sample of 147 units;
    # independent units of that many samples give about 147 / (4 x 10,000).
    assert report["images"] == 10_000
    floor = report["independent_units_total_correlation"]
    assert 0.5 * 147 / 40_000 < floor < 1.5 * 147 / 40_000
    values = [summary[str(run.overrides["model.beta"])] for run in runs]
    tc = [v["total_correlation"] for v in values]
    per_channel = [v["total_correlation_per_channel"] for v in values]
    # Equal channels: correlation 1 - O(1e-6 / var(log f)), so -1/2 log det
    # per unit is several nats in both measures.
    assert tc[0] > 2.0 and per_channel[0] > 3.0
    # Noise that dwarfs the features: the per-image value is at the floor.
    assert 0 <= tc[1] < 2 * floor and 0 <= per_channel[1] < 0.02
    # Three different filters of one image: correlated, but not copies,
    # across channels; neighbouring positions of an image are correlated
    # too, which only the per-image measure sees.
    assert 0.05 < per_channel[2] < per_channel[0]
    assert tc[2] > 5 * per_channel[2]
    assert summary[str(runs[0].overrides["model.beta"])]["layer"] == "dropout1"
    # The first two models share their features and differ in noise only.
    assert values[0]["signal_variance"] == pytest.approx(values[1]["signal_variance"], rel=1e-9)
    # alpha = 0.001 + max_alpha * sigmoid(.) lies in [0.001, 0.001 + 1e-6].
    assert 147 * 1e-6 <= values[0]["noise_variance"] <= 147 * 0.001001 ** 2
    assert os.path.getsize(os.path.join(output, "disentangle.png")) > 1000


def test_signal_and_noise_of_the_log_activations():
    from infodropout_tf.results.reports_classifiers import _signal_and_noise

    # Rank one: log f = s w with var(s) = 5 / 12, |w|^2 = 9 + 16 = 25.
    s = np.array([-2.0, -1.0, 0.0, 0.0, 1.0, 2.0]) / 2
    w = np.array([3.0, 4.0, 0.0])
    alpha = np.full((6, 3), 0.5)
    result = _signal_and_noise(np.exp(np.outer(s, w)), alpha)
    assert result["signal_variance"] == pytest.approx(np.var(s) * 25, rel=1e-12)
    assert result["noise_variance"] == pytest.approx(3 * 0.25, rel=1e-12)
    assert result["signal_top3_share"] == pytest.approx(1.0, rel=1e-12)
    # Four orthogonal directions of equal variance (more units than
    # examples, so the Gram matrix is the one decomposed): 3 of 4.
    patterns = np.hstack([np.eye(4), -np.eye(4)]).T  # 8 examples x 4 units
    result = _signal_and_noise(np.exp(np.hstack([patterns, np.zeros((8, 6))])),
                               np.ones((8, 10)))
    assert result["signal_top3_share"] == pytest.approx(0.75, rel=1e-12)
    # Features below the floor count as the floor: no signal, and no share
    # of it, even when rounding leaves a trace (6e-14 per unit here).
    result = _signal_and_noise(np.zeros((5, 4)), np.ones((5, 4)))
    assert result["signal_variance"] == 0.0 and result["signal_top3_share"] is None
    tiny = np.exp(np.outer([1.0, -1.0], [3e-7, 4e-7, 0.0, 0.0]))
    assert _signal_and_noise(tiny, np.ones((2, 4)))["signal_top3_share"] is None


def _write_scalars(log_dir, tag, values_by_step):
    import tensorflow as tf

    writer = tf.summary.create_file_writer(log_dir)
    with writer.as_default():
        for step, value in values_by_step:
            tf.summary.scalar(tag, value, step=step)
    writer.close()


def test_scalar_history_keeps_the_last_value_of_a_repeated_step(tmp_path):
    log_dir = str(tmp_path)
    _write_scalars(log_dir, "information_flow/dropout1/total", [(0, 5.0), (1, 4.0)])
    _write_scalars(log_dir, "other", [(1, 9.0)])
    # A resumed run writes epoch 1 again, in a later event file.
    _write_scalars(log_dir, "information_flow/dropout1/total", [(1, 3.5), (2, 3.0)])
    assert run_folder.scalar_history(log_dir, "information_flow/dropout1/total") == {
        0: 5.0, 1: 3.5, 2: 3.0}


def test_flow_report_per_fraction_and_over_training(tmp_path, capsys):
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = sweeps.runs("flow", str(CONFIGS))
    for run in runs:
        fraction = run.overrides["model.filter_fraction"]
        _finished_run(root, run, {"deterministic_error": 0.01})
        layers = {name: {"total": 100.0 * scale, "per_unit": scale / fraction}
                  for name, scale in (("dropout1", 2.0), ("dropout2", 1.0))}
        with open(os.path.join(root, run.name, "information_flow.json"), "w") as f:
            json.dump({"epoch": 5, "layers": layers}, f)
        if fraction == 0.25:
            for layer in layers:
                _write_scalars(os.path.join(root, run.name, "tensorboard", "analysis"),
                               f"information_flow/{layer}/total", [(0, 300.0), (1, 250.0)])
    reproduce.main(["report", "flow", "--root", root, "--output", output,
                    "--configs", str(CONFIGS)])

    with open(os.path.join(output, "flow.json")) as f:
        summary = json.load(f)
    assert list(summary["flow"]) == ["0.0625", "0.125", "0.25", "0.5"]
    assert summary["flow"]["0.125"]["dropout2"] == {"total": 100.0, "per_unit": 8.0}
    assert summary["history"] == {"filter_fraction": 0.25, "total": {
        "dropout1": {"1": 300.0, "2": 250.0}, "dropout2": {"1": 300.0, "2": 250.0}}}
    assert os.path.getsize(os.path.join(output, "flow.png")) > 1000


def test_beta_vae_report_rate_distortion_and_total_correlation(tmp_path, capsys,
                                                               shared_data_dir, monkeypatch):
    from infodropout_tf import data
    from infodropout_tf.models import VAE

    monkeypatch.setenv("TFDS_DATA_DIR", shared_data_dir)
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = {run.name: run for run in sweeps.runs("beta_vae", str(CONFIGS))}
    chosen = [("beta_vae_gaussian_beta4", "gaussian", 80.0, 10.0),
              ("beta_vae_gaussian_beta0.25", "gaussian", 70.0, 30.0),
              ("beta_vae_information_dropout_beta1", "information_dropout", 75.0, 25.0)]
    models = {}
    for name, latent, reconstruction, kl in chosen:
        _finished_run(root, runs[name], {"reconstruction": reconstruction, "kl": kl})
        models[name] = VAE(latent, seed=0)
        models[name].save(os.path.join(root, name, "model.keras"))
        _write_config(root, runs[name], {"name": "binarized_mnist", "data_dir": "",
                                         "options": {}})
    reproduce.main(["report", "beta_vae", "--root", root, "--output", output,
                    "--configs", str(CONFIGS)])

    with open(os.path.join(output, "beta_vae.json")) as f:
        summary = json.load(f)
    summary, summary_floor = summary["runs"], summary["independent_units_total_correlation"]
    assert list(summary["gaussian"]) == ["0.25", "4.0"]  # by beta
    assert summary["gaussian"]["4.0"]["distortion"] == 80.0
    assert summary["gaussian"]["4.0"]["rate"] == 10.0
    assert summary["gaussian"]["4.0"]["elbo"] == -90.0
    # Gaussian TC per unit, -1/2 log det of the correlation over the
    # 10,000 test images: of the code z = mu + sigma eps (eps from numpy's
    # generator seeded 0), of the means, and of the active (Var mu_j > 0.01)
    # means per active unit.
    images = np.concatenate([x for x, _ in data.load("binarized_mnist", "test", batch_size=500)])
    model = models["beta_vae_gaussian_beta4"]
    posterior = model.latent.posterior(model.encoder(images))
    means = np.asarray(posterior.mean(), np.float64)
    code = means + np.asarray(posterior.stddev(), np.float64) * np.random.default_rng(
        0).standard_normal(means.shape)
    active = means.var(axis=0) > 0.01

    def per_unit_tc(samples):
        return -0.5 * np.linalg.slogdet(np.corrcoef(samples, rowvar=False))[1] / samples.shape[1]

    point = summary["gaussian"]["4.0"]
    assert point["units"] == 256 and 1 < point["active_units"] == active.sum()
    assert point["total_correlation"] == pytest.approx(per_unit_tc(code), rel=1e-4)
    assert point["total_correlation_of_means"] == pytest.approx(per_unit_tc(means), rel=1e-4)
    assert point["total_correlation_of_active_means"] == pytest.approx(
        per_unit_tc(means[:, active]), rel=1e-4)
    # Independent units read about d / (4 n) per unit: the estimate's floor.
    assert summary_floor == pytest.approx(256 / (4 * 10_000), rel=0.1)
    information = summary["information_dropout"]["1.0"]
    assert information["rate"] == 25.0 and np.isfinite(information["total_correlation"])
    assert os.path.getsize(os.path.join(output, "beta_vae.png")) > 1000


def test_surrogate_report_traces_preserved_and_residual_information(tmp_path, capsys):
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = {run.name: run for run in sweeps.runs("surrogate", str(CONFIGS))}
    for name, shrink, error in (("surrogate_none", 1.0, 0.010),
                                ("surrogate_log_variance_gamma0.1", 0.5, 0.012),
                                ("surrogate_log_variance_gamma1", 0.2, 0.05)):
        _finished_run(root, runs[name], {"deterministic_error": error})
        with open(os.path.join(root, name, "config.json"), "w") as f:
            json.dump({"information_plane": {"num_examples": 2000}}, f)
        rows = [{"epoch": epoch, "split": split, "layer": "dropout",
                 "estimator": "gaussian_mixture", "mutual_information_x": shrink * (5 + epoch),
                 "mutual_information_y": 2.0, "relative_to_prior_constant": False,
                 "residual_information": shrink * (3 + epoch)}
                for epoch in (0, 1, 2) for split in ("train", "test")]
        rows.append({"epoch": 2, "split": "train", "layer": "dropout", "estimator": "binning",
                     "mutual_information_x": 6.9, "mutual_information_y": 2.0,
                     "relative_to_prior_constant": False})
        with open(os.path.join(root, name, "information_plane.json"), "w") as f:
            json.dump(rows, f)
    reproduce.main(["report", "surrogate", "--root", root, "--output", output,
                    "--configs", str(CONFIGS)])

    with open(os.path.join(output, "surrogate.json")) as f:
        summary = json.load(f)["runs"]
    assert sorted(summary) == ["log_variance", "none"]
    strongest = summary["log_variance"]["1.0"]
    assert strongest["epochs"] == [0, 1, 2] and strongest["test_error"] == 0.05
    np.testing.assert_allclose(strongest["preserved"], [1.0, 1.2, 1.4])
    np.testing.assert_allclose(strongest["residual"], [0.6, 0.8, 1.0])
    assert summary["none"]["0.0"]["preserved"] == [5.0, 6.0, 7.0]  # binning rows left out
    assert strongest["num_examples"] == 2000 and strongest["log_n"] == pytest.approx(7.6009, 1e-4)
    assert os.path.getsize(os.path.join(output, "surrogate.png")) > 1000


def test_plane_report_names_each_network_and_its_log_n_ceiling(tmp_path, capsys):
    root, output = str(tmp_path / "root"), str(tmp_path / "results")
    runs = {run.name: run for run in sweeps.runs("plane", str(CONFIGS))}
    for name, network, examples in (("plane_lenet_gaussian", "lenet", 10_000),
                                    ("plane_mlp_gaussian", "mlp", 5_000)):
        _finished_run(root, runs[name], {"deterministic_error": 0.02})
        with open(os.path.join(root, name, "config.json"), "w") as f:
            json.dump({"model": {"name": network, "noise": "gaussian"},
                       "information_plane": {"num_examples": examples}}, f)
        # Epochs written out of order (a resumed run): the report sorts them.
        rows = [{"epoch": epoch, "split": split, "layer": "dropout", "estimator": estimator,
                 "mutual_information_x": value + epoch, "mutual_information_y": 0.5 * epoch,
                 "relative_to_prior_constant": False}
                for epoch in (2, 0, 1) for split in ("train", "test")
                for estimator, value in (("gaussian_mixture", 5.0), ("binning", 8.0))]
        with open(os.path.join(root, name, "information_plane.json"), "w") as f:
            json.dump(rows, f)
    reproduce.main(["report", "plane", "--root", root, "--output", output,
                    "--configs", str(CONFIGS)])

    with open(os.path.join(output, "plane.json")) as f:
        summary = json.load(f)
    mlp = summary["plane_mlp_gaussian"]
    assert (mlp["network"], mlp["num_examples"], mlp["test_error"]) == ("mlp", 5000, 0.02)
    assert mlp["log_n"] == pytest.approx(math.log(5000))
    assert summary["plane_lenet_gaussian"]["log_n"] == pytest.approx(math.log(10_000))
    assert mlp["gaussian_mixture"]["epochs"] == [0, 1, 2]
    assert mlp["gaussian_mixture"]["mutual_information_x"] == [5.0, 6.0, 7.0]
    assert mlp["binning"]["mutual_information_y"] == [0.0, 0.5, 1.0]
    assert os.path.getsize(os.path.join(output, "plane.png")) > 1000


def test_run_generates_a_missing_dataset_before_the_first_run(tmp_path, work_dir):
    # work_dir: a tensorflow-datasets folder holding only the shared mnist.
    from infodropout_tf import data

    trainer, root = _fake_trainer(tmp_path), str(tmp_path / "root")
    options = {"dataset.options.num_train": 20, "dataset.options.num_test": 10}
    run = sweeps.Run("occluded", "occluded_mnist_all_cnn32.py",
                     {"dataset.data_dir": str(work_dir), **options}, trainer=trainer)
    reproduce.run([run], root, str(CONFIGS))

    # Made in the data_dir with the run's options, then the run trained.
    examples = data.load("occluded_mnist", "train", str(work_dir), batch_size=20,
                         num_train=20, num_test=10)
    assert next(iter(examples))[0].shape == (20, 32, 32, 1)
    assert os.path.exists(os.path.join(root, "occluded", "metrics.json"))


# Signals: passed on to the running trainer, which is waited for ---------------------------

def _stoppable_trainer(tmp_path):
    """An executable that trains for 30 s; seed 0 stops cleanly on SIGINT or
    SIGTERM (writing `<workdir>.stopped`), seed 1 ignores both."""
    path = tmp_path / "stoppable-trainer"
    path.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, signal, sys, time
        workdir = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--workdir=")][0]

        def stop(signum, frame):
            with open(workdir + ".stopped", "a") as f:
                f.write(f"{{signum}}\\n")
            time.sleep(0.3)  # as the trainer saves checkpoints/interrupted.keras
            sys.exit(128 + signum)

        stubborn = "--config.seed=1" in sys.argv
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN if stubborn else stop)
        open(workdir + ".ready", "w").close()
        time.sleep(30)
        os.makedirs(workdir, exist_ok=True)
        open(os.path.join(workdir, "metrics.json"), "w").write("{{}}")
        """))
    path.chmod(0o755)
    return str(path)


def _sweep(tmp_path, runs):
    """A copy of configs/ with the sweep `signals` of `runs` (name, seed, trainer)."""
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    (configs / "sweeps" / "signals.py").write_text(
        "from infodropout_tf.results.sweeps import Run\n"
        "def get_runs(data_dir):\n"
        f"    return [Run(name, 'testing.py', {{'seed': seed}}, trainer=trainer)\n"
        f"            for name, seed, trainer in {runs!r}]\n")
    return str(configs)


@pytest.fixture
def signals_to_self():
    """`send(path, *signums)`: once `path` exists, sends each signal to this
    process, 0.5 s apart. The signals' handlers are this fixture's until
    then, so that a signal the code under test does not handle is recorded
    (in `received`), not fatal to pytest."""
    received = []

    def record(signum, frame):
        received.append(signum)

    saved = {s: signal.signal(s, record) for s in (signal.SIGINT, signal.SIGTERM)}

    def send(path, *signums):
        def wait_then_send():
            deadline = time.time() + 60
            while not os.path.exists(path) and time.time() < deadline:
                time.sleep(0.02)
            for signum in signums:
                os.kill(os.getpid(), signum)
                time.sleep(0.5)

        threading.Thread(target=wait_then_send, daemon=True).start()

    send.received, send.handler = received, record
    yield send
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_running_trainer_and_the_sweep_with_one_line(
        reproduce_error, signum, tmp_path, capsys, signals_to_self):
    trainer, root = _stoppable_trainer(tmp_path), tmp_path / "root"
    configs = _sweep(tmp_path, [("first", 0, trainer), ("second", 0, trainer)])
    signals_to_self(root / "first.ready", signum)
    started = time.time()
    status, line = reproduce_error(["run", "signals", "--root", str(root),
                                        "--configs", configs])
    assert signals_to_self.received == []  # the command's own handler had it
    assert time.time() - started < 20  # not the trainer's 30 s
    # The trainer had the signal once, stopped cleanly, and was waited for.
    assert (root / "first.stopped").read_text() == f"{signum}\n"
    name = "SIGINT (Ctrl-C)" if signum == signal.SIGINT else "SIGTERM"
    assert status == 128 + signum
    assert line == (f"error: interrupted by {name}: run first stopped (exit status "
                    f"{128 + signum}); its output is in {root}/first.log. Rerun the same command "
                    "to resume it from its last completed epoch.")
    assert not (root / "second.ready").exists()
    # The handlers are the caller's again.
    assert signal.getsignal(signum) is signals_to_self.handler


def test_a_second_signal_stops_a_trainer_that_does_not_stop(reproduce_error, tmp_path, capsys,
                                                            signals_to_self):
    trainer, root = _stoppable_trainer(tmp_path), tmp_path / "root"
    configs = _sweep(tmp_path, [("stubborn", 1, trainer)])
    signals_to_self(root / "stubborn.ready", signal.SIGTERM, signal.SIGTERM)
    status, line = reproduce_error(["run", "signals", "--root", str(root),
                                        "--configs", configs])
    assert status == 143
    assert line.startswith("error: interrupted by SIGTERM: run stubborn stopped (killed by "
                           "SIGKILL); its output is in ")


def _holds_lock(path):
    with open(path) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def _children(pid):
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry))
    return children


@pytest.mark.slow
@pytest.mark.parametrize("to_group, signum", [(False, signal.SIGTERM), (True, signal.SIGINT)],
                         ids=["SIGTERM to the command", "Ctrl-C to its process group"])
def test_the_real_trainer_stops_cleanly_and_frees_its_workdir(to_group, signum, tmp_path):
    root = tmp_path / "root"
    configs = tmp_path / "configs"
    shutil.copytree(CONFIGS, configs)
    (configs / "sweeps" / "tiny.py").write_text(
        "from infodropout_tf.results.sweeps import Run\n"
        "def get_runs(data_dir):\n"
        "    return [Run('tiny', 'testing.py', {'num_epochs': 3, 'steps_per_epoch': 100})]\n")
    command = [str(pathlib.Path(sys.executable).parent / "infodropout-reproduce"), "run", "tiny",
               "--root", str(root), "--configs", str(configs)]
    # In a session of its own, as a terminal's foreground job, whose group
    # a Ctrl-C reaches whole, and with Ctrl-C's default action, which a
    # test runner started in a shell's background would pass on ignored.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    trainers = []
    try:
        lock, log = root / "tiny" / ".lock", root / "tiny" / "training_log.csv"
        deadline = time.time() + 400
        while time.time() < deadline and process.poll() is None and not (
                log.exists() and lock.exists() and _holds_lock(lock)):
            time.sleep(0.1)
        trainers = _children(process.pid)
        assert len(trainers) == 1, "the trainer did not start"
        if to_group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 128 + signum, stderr[-3000:]
        name = "SIGINT (Ctrl-C)" if signum == signal.SIGINT else "SIGTERM"
        assert [line for line in stderr.splitlines()
                if not re.match(r"^(WARNING: All log messages before absl|[IWEF]\d{4} )", line)
                ] == [f"error: interrupted by {name}: run tiny stopped (exit status "
                      f"{128 + signum}); its output is in {root}/tiny.log. Rerun the same "
                      "command to resume it from its last completed epoch."]
        assert not os.path.exists(f"/proc/{trainers[0]}")
        assert not _holds_lock(lock)
        # It stopped cleanly: the weights of the epoch under way are saved.
        assert (root / "tiny" / "checkpoints" / "interrupted.keras").exists()
        assert "Interrupted: weights saved to" in (root / "tiny.log").read_text()
    finally:
        for pid in trainers + [process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()


def test_run_in_a_thread_other_than_the_main_one_trains_without_signal_handlers(tmp_path):
    trainer, root = _fake_trainer(tmp_path), str(tmp_path / "root")
    errors = []

    def train():
        try:
            reproduce.run([sweeps.Run("fresh", "testing.py", {"seed": 2}, trainer=trainer)],
                          root, str(CONFIGS))
        except Exception as error:  # noqa: BLE001 (reported by the assertion below)
            errors.append(error)

    thread = threading.Thread(target=train)
    thread.start()
    thread.join(60)
    assert errors == [] and os.path.exists(os.path.join(root, "fresh", "metrics.json"))
