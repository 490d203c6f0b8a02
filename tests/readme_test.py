"""The README's and docs/'s examples, run verbatim, and their links.

Every ```python block of README.md and docs/*.md runs in a test below
(`test_every_python_block_is_run` fails on a block no test runs); blocks
that need data read the prepared MNIST in TFDS_DATA_DIR and nothing is
downloaded. Every relative link must name an existing file and, with
`#anchor`, a heading of it.
"""

import os
import pathlib
import re
import shlex

import numpy as np
import pytest
import tensorflow_probability as tfp

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6}) (.+)$", flags=re.MULTILINE)


def _sections(page):
    """(heading, text) of every `##`/`###` section of a page (text before the
    first heading under the heading "")."""
    text = _strip_fences_for_headings(page.read_text())
    starts = [(m.start(), m.group(2).strip()) for m in _HEADING.finditer(text)
              if len(m.group(1)) in (2, 3)]
    bounds = [(0, "")] + starts
    raw = page.read_text()
    return [(heading, raw[start:(bounds[i + 1][0] if i + 1 < len(bounds) else len(raw))])
            for i, (start, heading) in enumerate(bounds)]


def _strip_fences_for_headings(text):
    # Lines starting with '#' inside code blocks are comments, not headings;
    # blank them out keeping every offset.
    return _FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _blocks(page, section, language="python"):
    """The code blocks in `language` of the section with this heading."""
    found = [text for heading, text in _sections(page) if heading == section]
    assert found, f"{page.name} has no section {section!r}"
    return [code for lang, code in _FENCE.findall(found[0]) if lang == language]


def _run(page, section, tmp_path=None, monkeypatch=None):
    (example,) = _blocks(page, section)
    if monkeypatch is not None:
        monkeypatch.chdir(tmp_path)  # examples that write files write them here
    namespace = {}
    exec(compile(example, str(page), "exec"), namespace)
    return namespace


# Every (page, section) holding a python block, and the test that runs it.
RUN_BY_TESTS = {
    ("README.md", "The layer in a Keras model"): "test_readme_layer_example_trains_on_mnist",
    ("layers.md", "Example: the posterior and a prior of your own"):
        "test_layers_example_shows_the_posterior_and_a_custom_prior",
    ("training.md", "Precision and XLA"): "test_precision_example_trains_in_bfloat16",
    ("training.md", "Models"): "test_models_example_trains_all_cnn_on_mnist",
    ("analysis.md", "KL maps, export and TensorBoard"):
        "test_analysis_example_maps_exports_and_logs_at_epoch_steps",
    ("analysis.md", "Beta schedules and per-layer KL"):
        "test_beta_example_warms_up_logs_and_reassigns_beta",
    ("analysis.md", "Information planes"): "test_plane_example_chooses_estimators_by_layer",
    ("analysis.md", "Surrogate information-bottleneck objectives"):
        "test_surrogate_example_adds_the_penalty_and_the_residual_information",
}


def test_every_python_block_is_run():
    holding = {(page.name, heading) for page in PAGES for heading, text in _sections(page)
               if any(lang == "python" for lang, _ in _FENCE.findall(text))}
    assert holding == set(RUN_BY_TESTS)
    for name in RUN_BY_TESTS.values():
        assert callable(globals()[name])


def _slug(heading):
    """GitHub's anchor of a heading."""
    heading = re.sub(r"`|\*|\[|\]\([^)]*\)", "", heading).strip().lower()
    heading = re.sub(r"[^\w\- ]", "", heading)
    return heading.replace(" ", "-")


def _anchors(page):
    text = _strip_fences_for_headings(page.read_text())
    return {_slug(m.group(2)) for m in _HEADING.finditer(text)}


def _relative_links(page):
    text = _strip_fences_for_headings(page.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not re.match(r"[a-z][a-z0-9+.-]*:", target):
            yield target


def test_relative_links_resolve():
    broken = []
    for page in PAGES:
        for target in _relative_links(page):
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and (resolved.suffix != ".md" or anchor not in _anchors(resolved)):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_link_check_rejects_a_missing_anchor_and_file(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("## A heading: here\n\n[ok](#a-heading-here) [bad](#nowhere) [gone](gone.md)\n")
    targets = list(_relative_links(page))
    assert targets == ["#a-heading-here", "#nowhere", "gone.md"]
    assert "a-heading-here" in _anchors(page) and "nowhere" not in _anchors(page)


def test_readme_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    (ci_command,) = [line for line in ci if "pytest" in line]
    assert f"`{ci_command}`" in README.read_text()
    assert shlex.split(ci_command)[-2:] == ["-m", "not slow"]


def _data_dir():
    data_dir = os.environ.get("TFDS_DATA_DIR")
    assert data_dir and os.path.isdir(os.path.join(data_dir, "mnist")), (
        "Set TFDS_DATA_DIR to a tensorflow-datasets directory with a prepared "
        "mnist/3.0.1 (see docs/data.md)."
    )


def test_readme_layer_example_trains_on_mnist():
    _data_dir()
    namespace = _run(README, "The layer in a Keras model")
    history = namespace["history"].history
    print("README example test accuracy:", history["val_accuracy"][-1])
    assert history["val_accuracy"][-1] > 0.85
    # The two information-dropout layers each add their KL term.
    assert len(namespace["model"].losses) == 2
    # Both KL terms reach the loss: with beta = 0 on both layers the test
    # loss falls to the cross-entropy alone.
    model, test = namespace["model"], namespace["mnist"]("test[:2000]")
    with_kl = model.evaluate(test, verbose=0, return_dict=True)["loss"]
    for layer in model.layers[2::2]:
        assert type(layer).__name__ == "InformationDropout"
        layer.beta = 0.0
    cross_entropy = model.evaluate(test, verbose=0, return_dict=True)["loss"]
    assert with_kl > cross_entropy > 0


def test_layers_example_shows_the_posterior_and_a_custom_prior(tmp_path, monkeypatch):
    namespace = _run(ROOT / "docs" / "layers.md", "Example: the posterior and a prior of your own",
                     tmp_path, monkeypatch)
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


def test_analysis_example_maps_exports_and_logs_at_epoch_steps(tmp_path, monkeypatch):
    import tensorflow as tf

    import infodropout_tf

    namespace = _run(ROOT / "docs" / "analysis.md", "KL maps, export and TensorBoard",
                     tmp_path, monkeypatch)
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


def test_plane_example_chooses_estimators_by_layer():
    namespace = _run(ROOT / "docs" / "analysis.md", "Information planes")
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
def test_models_example_trains_all_cnn_on_mnist():
    _data_dir()
    namespace = _run(ROOT / "docs" / "training.md", "Models")
    results = namespace["results"]
    print("docs/training.md models example:", results)
    assert results["num_examples"] == 10_000
    assert results["deterministic_error"] < 0.1
    assert results["noisy_error"] < 0.1


def test_precision_example_trains_in_bfloat16():
    import keras

    namespace = _run(ROOT / "docs" / "training.md", "Precision and XLA")
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


def test_beta_example_warms_up_logs_and_reassigns_beta(tmp_path, monkeypatch):
    import csv

    namespace = _run(ROOT / "docs" / "analysis.md", "Beta schedules and per-layer KL",
                     tmp_path, monkeypatch)
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


def test_surrogate_example_adds_the_penalty_and_the_residual_information():
    namespace = _run(ROOT / "docs" / "analysis.md", "Surrogate information-bottleneck objectives")
    history, row = namespace["history"].history, namespace["row"]
    # loss = cross-entropy + gamma * surrogate, epoch by epoch (means of the batches).
    np.testing.assert_allclose(
        history["loss"], np.add(history["cross_entropy"], 0.01 * np.array(history["surrogate"])),
        rtol=1e-5)
    assert all(value > 0 for value in history["surrogate"])
    assert row["estimator"] == "gaussian_mixture"
    # H(Z'|Y) <= H(Z') = I(X; Z') <= log 32 (the mixture over the 32 examples).
    assert 0 < row["residual_information"] < row["mutual_information_x"] <= np.log(32)


def _shell_commands():
    """Every command of the bash blocks of README.md and docs/*.md, with its
    continuation lines joined."""
    for page in PAGES:
        for lang, code in _FENCE.findall(page.read_text()):
            if lang == "bash":
                for command in re.sub(r"\\\n\s*", " ", code).splitlines():
                    command = command.split("#")[0].strip()
                    if command:
                        yield page, command


def test_shell_blocks_name_real_commands_configs_and_fields():
    import configparser

    from infodropout_tf.training import config as config_lib

    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    scripts = {line.split("=")[0].strip()
               for line in setup["options.entry_points"]["console_scripts"].splitlines() if line}
    checked = 0
    for page, command in _shell_commands():
        for word in re.findall(r"(?<![\w/-])(infodropout-[a-z-]+)", command):
            assert word in scripts, f"{page.name}: {command!r} runs an unknown {word}"
        config = re.search(r"--config=(\S+)", command)
        if not config:
            continue
        name = config.group(1)
        path = ROOT / name if name.endswith(".py") else ROOT / "configs" / f"{name}.py"
        assert path.is_file(), f"{page.name}: {command!r} names no config {name}"
        values = config_lib.from_file(str(path))
        for field in re.findall(r"--config\.([\w.]+)=", command):
            node = values
            for part in field.split("."):
                assert part in node, f"{page.name}: {command!r} sets an unknown field {field}"
                node = node[part]
        checked += 1
    assert checked >= 10
