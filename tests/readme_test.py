"""The README's example, run verbatim on real MNIST."""

import os
import pathlib
import re

import numpy as np
import pytest
import tensorflow_probability as tfp

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(section):
    """The python blocks of the README section with this `## ` heading."""
    text = README.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)


def test_readme_layer_example_shows_the_posterior_and_a_custom_prior(tmp_path, monkeypatch):
    (example,) = _python_blocks("The layer")
    monkeypatch.chdir(tmp_path)  # the example saves a .keras file
    namespace = {}
    exec(compile(example, str(README), "exec"), namespace)

    posterior = namespace["posterior"]
    assert isinstance(posterior, tfp.distributions.LogNormal)
    assert posterior.batch_shape == (4, 8)
    features = namespace["features"]
    alpha = np.asarray(namespace["layer"].noise_scale(features), "float64")
    np.testing.assert_allclose(namespace["mean"], features * np.exp(alpha**2 / 2), rtol=1e-6)
    # The features are above the 1e-4 clamp: the KL of the two tfd objects
    # is the layer's own KL map.
    np.testing.assert_allclose(namespace["kl"], namespace["kl_map"], rtol=1e-6, atol=1e-6)
    assert float(np.min(namespace["kl_map"])) > 0.0

    import keras

    from infodropout_tf import priors

    restored = keras.models.load_model(tmp_path / "mixture_prior.keras")
    prior = restored.layers[2].prior
    assert isinstance(prior, priors.DistributionPrior)
    assert prior.requires_noise  # no KL to a mixture in TFP: Monte Carlo
    z = np.float32([[0.1, 1.0]])
    np.testing.assert_array_equal(prior.log_prob(z), namespace["prior"].log_prob(z))


def test_readme_analysis_example_maps_exports_and_logs_at_epoch_steps(tmp_path, monkeypatch):
    import tensorflow as tf

    import infodropout_tf

    (example,) = _python_blocks("Analysis: KL maps, export and TensorBoard")
    monkeypatch.chdir(tmp_path)  # the example writes logs/ and exported/
    namespace = {}
    exec(compile(example, str(README), "exec"), namespace)

    model, x = namespace["model"], namespace["images"][:8]
    maps = namespace["maps"]
    assert {name: m.shape for name, m in maps.items()} == {
        "conv_noise": (8, 14, 14, 16), "dense_noise": (8, 32)}
    for name, kl_map in maps.items():
        np.testing.assert_allclose(namespace["served_maps"][name], kl_map, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(maps["dense_noise"],
                                  infodropout_tf.kl_maps(model, x, ["dense_noise"])["dense_noise"])
    np.testing.assert_allclose(namespace["logits"], model(x, training=False), rtol=1e-5,
                               atol=1e-6)
    assert np.abs(namespace["sampled"] - namespace["logits"]).max() > 1e-3

    def steps(directory, tag):
        files = [os.path.join(directory, name) for name in os.listdir(directory)]
        return sorted(event.step for path in files
                      for event in tf.compat.v1.train.summary_iterator(path)
                      for value in event.summary.value if value.tag == tag)

    assert steps(tmp_path / "logs" / "train", "epoch_loss") == [0, 1]
    assert steps(tmp_path / "logs" / "analysis", "kl_heatmaps") == [0, 1]
    assert steps(tmp_path / "logs" / "analysis", "total_correlation") == [0, 1]


def test_readme_plane_example_chooses_estimators_by_layer():
    (example,) = _python_blocks("Information analysis")
    namespace = {}
    exec(compile(example, str(README), "exec"), namespace)

    rows = namespace["rows"]
    assert [(r["layer"], r["estimator"]) for r in rows] == [
        ("dense", "binning"), ("dropout", "mine"), ("dropout", "binning")]
    for row in rows:
        assert np.isfinite(row["mutual_information_x"])
        if row["estimator"] == "binning":
            assert 0 <= row["mutual_information_x"] <= np.log(256) + 1e-9
    assert namespace["message"] == (
        "Invalid value received for argument `estimators`. Expected for layer 'dense', a Dense, "
        "one of ['binning', 'mine'] ('closed_form_kl' holds only for InformationDropout layers). "
        "Received: estimators={'dense': 'closed_form_kl'}")


@pytest.mark.slow
def test_readme_examples_train_on_mnist():
    data_dir = os.environ.get("TFDS_DATA_DIR")
    assert data_dir and os.path.isdir(os.path.join(data_dir, "mnist")), (
        "Set TFDS_DATA_DIR to a tensorflow-datasets directory with a prepared "
        "mnist/3.0.1 (see the README's Quick start)."
    )
    (quick_start,) = _python_blocks("Quick start")
    (models_example,) = _python_blocks("Models")
    namespace = {}
    exec(compile(quick_start, str(README), "exec"), namespace)

    history = namespace["history"].history
    print("README example test accuracy:", history["val_accuracy"][-1])
    assert history["val_accuracy"][-1] > 0.94
    # The two information-dropout layers each add their KL term.
    assert len(namespace["model"].losses) == 2

    # The models example continues in the same namespace.
    exec(compile(models_example, str(README), "exec"), namespace)
    results = namespace["results"]
    print("README models example:", results)
    assert results["num_examples"] == 10_000
    assert results["deterministic_error"] < 0.1
    assert results["noisy_error"] < 0.1


def test_readme_precision_example_trains_in_bfloat16_with_float32_kls():
    import keras

    (example,) = _python_blocks("Precision and XLA")
    namespace = {}
    exec(compile(example, str(README), "exec"), namespace)

    model = namespace["model"]
    dense = model.network.get_layer("dense1")
    assert (dense.compute_dtype, dense.kernel.dtype) == ("bfloat16", "float32")
    assert model.jit_compile
    assert keras.config.dtype_policy().name == "float32"
    (kl,) = namespace["kl"]
    assert np.isfinite(kl) and kl > 0
    from infodropout_tf import kl_maps

    maps = kl_maps(model, namespace["images"][:4])
    assert all(m.dtype == np.float32 and np.isfinite(m).all() for m in maps.values())


def test_readme_beta_example_warms_up_logs_and_reassigns_beta(tmp_path, monkeypatch):
    import csv

    (example,) = _python_blocks("Beta schedules and per-layer KL")
    monkeypatch.chdir(tmp_path)  # the example writes training_log.csv
    namespace = {}
    exec(compile(example, str(README), "exec"), namespace)

    history = namespace["history"].history
    assert history["beta"] == [0.0, 0.5, 1.0, 1.0]
    assert all(kl > 0 for kl in history["kl_noise"] + history["val_kl_noise"])
    with open(tmp_path / "training_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(row["beta"]) for row in rows] == [0.0, 0.5, 1.0, 1.0]
    assert [float(row["kl_noise"]) for row in rows] == history["kl_noise"]
    # After `beta = 3.0` the loss holds 3 * KL / N on top of the
    # cross-entropy, which the same model at beta = 0 gives.
    model, logs = namespace["model"], namespace["logs"]
    images, labels = namespace["images"], namespace["labels"]
    model.get_layer("noise").beta = 0.0
    cross_entropy = model.evaluate(images, labels, verbose=0, return_dict=True)["loss"]
    np.testing.assert_allclose(logs["loss"], cross_entropy + 3.0 * logs["kl_noise"] / 192,
                               rtol=1e-5)


def test_readme_surrogate_example_adds_the_penalty_and_the_residual_information():
    (example,) = _python_blocks("Surrogate information-bottleneck objectives")
    namespace = {}
    exec(compile(example, str(README), "exec"), namespace)

    history, row = namespace["history"].history, namespace["row"]
    # loss = cross-entropy + gamma * surrogate, epoch by epoch (means of the batches).
    np.testing.assert_allclose(
        history["loss"], np.add(history["cross_entropy"], 0.01 * np.array(history["surrogate"])),
        rtol=1e-5)
    assert all(value > 0 for value in history["surrogate"])
    assert row["estimator"] == "gaussian_mixture"
    # H(Z'|Y) <= H(Z') = I(X; Z') <= log 32 (the mixture over the 32 examples).
    assert 0 < row["residual_information"] < row["mutual_information_x"] <= np.log(32)
