"""training/config.py: config files, by path or by the name of a packaged config.

(The fields' ranges are exercised through the trainer in faults_test.py.)
"""

import json
import os
import pathlib
import re

import pytest

from infodropout_tf.training import config as config_lib

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
# Written out by hand: the experiments of the README's table of configs.
NAMES = ["cifar_all_cnn32", "cluttered_all_cnn96", "mnist_all_cnn32",
         "mnist_lenet_information_plane", "mnist_lenet_surrogate", "mnist_mlp",
         "mnist_mlp_information_plane", "mnist_vae",
         "mnist_vib",
         "occluded_cifar_all_cnn32", "occluded_mnist_all_cnn32", "testing"]


def test_the_packaged_configs_are_the_checkouts_configs_folder():
    # The tests run on the editable install (`pip install -e .`), whose
    # infodropout_tf.configs is the top-level configs/ itself, not a copy.
    assert os.path.samefile(config_lib.packaged_configs_dir(), CONFIGS)
    assert config_lib.packaged_config_names() == NAMES


@pytest.mark.parametrize("name", ["mnist_mlp", "mnist_vae", "mnist_all_cnn32", "testing"])
def test_a_name_is_the_packaged_file_of_that_name(name):
    path = config_lib.resolve(name)
    assert os.path.samefile(path, CONFIGS / f"{name}.py")
    # mnist_all_cnn32 builds on cifar_all_cnn32.py, found next to it.
    assert (config_lib.from_file(path).to_json()
            == config_lib.from_file(CONFIGS / f"{name}.py").to_json())


@pytest.mark.parametrize("value", ["configs/mnist_mlp.py", "mnist_mlp.py", "/elsewhere/x.py",
                                   "../configs/testing", os.path.join("sub", "mnist_mlp")])
def test_a_file_is_left_as_it_is(value):
    assert config_lib.resolve(value) == value


def test_an_unknown_name_lists_the_packaged_configs():
    with pytest.raises(config_lib.ConfigError) as raised:
        config_lib.resolve("mnist_mpl")
    assert str(raised.value) == (
        "unknown config `mnist_mpl`. Did you mean `mnist_mlp`? The packaged configs are: "
        + ", ".join(NAMES) + "; or pass the path of a config file, --config=path/to/config.py.")
    with pytest.raises(config_lib.ConfigError, match=r"^unknown config `resnet`\. The packaged"):
        config_lib.resolve("resnet")


def test_a_missing_file_names_both_ways_of_passing_a_config(tmp_path):
    missing = tmp_path / "mnist_mlp.py"
    with pytest.raises(config_lib.ConfigError,
                       match=rf"^config file {missing} does not exist; pass a packaged config's "
                             r"name \(--config=mnist_mlp, "):
        config_lib.from_file(missing)


def _stored_before(config, *fields):
    """`config` as a config.json written before `fields` existed."""
    stored = json.loads(config.to_json())
    for field in fields:
        *groups, name = field.split(".")
        parent = stored
        for group in groups:
            parent = parent[group]
        del parent[name]
    return stored


def test_a_field_absent_from_a_stored_config_and_at_its_implicit_value_is_no_difference():
    # A VAE workdir written before `model.beta` (the builder's default, 1)
    # and `model.beta_schedule` (base_config's "constant") existed.
    vae = config_lib.from_file(CONFIGS / "mnist_vae.py")
    stored = _stored_before(vae, "model.beta", "model.beta_schedule")
    assert config_lib.differences(stored, vae) == []
    vae.model.beta = 4.0
    vae.model.beta_schedule.name = "linear"
    assert config_lib.differences(stored, vae) == ["model.beta", "model.beta_schedule.name"]
    # A field stored, or one without an implicit value, still counts.
    mlp = config_lib.from_file(CONFIGS / "mnist_mlp.py")
    assert config_lib.differences(_stored_before(mlp, "model.beta"), mlp) == ["model.beta"]
    stored = json.loads(mlp.to_json())
    mlp.model.beta_schedule.epochs = 5
    assert config_lib.differences(stored, mlp) == ["model.beta_schedule.epochs"]


def test_a_ramp_of_beta_needs_the_configs_model_beta():
    config = config_lib.base_config()
    config.model.beta_schedule.name = "cosine"
    with pytest.raises(config_lib.ConfigError,
                       match=r"^config field `model.beta_schedule.name` is 'cosine', a ramp to "
                             r"`model.beta`, which this config does not set; set "
                             r"config.model.beta in the config file\.$"):
        config_lib.validate(config)


@pytest.mark.parametrize("field, value, expected", [
    ("model.surrogate", "l2",
     r"^invalid config field `model.surrogate`: expected one of \['none', 'squared_norm', "
     r"'log_variance', 'conditional_log_variance'\], received 'l2'\.$"),
    ("model.surrogate_weight", -0.1,
     r"^invalid config field `model.surrogate_weight`: expected a finite number >= 0, "
     r"received -0\.1\.$"),
])
def test_a_bad_surrogate_field_is_one_line(field, value, expected):
    config = config_lib.base_config()
    config.update_from_flattened_dict({field: value})
    with pytest.raises(config_lib.ConfigError, match=expected):
        config_lib.validate(config)


def test_only_a_chosen_surrogate_reaches_the_model_builder():
    from infodropout_tf.training import experiment

    config = config_lib.base_config()
    config.model.name = "vib"
    assert "surrogate" not in experiment.model_config(config, num_train=10)
    config.model.name = "lenet"
    config.model.surrogate, config.model.surrogate_weight = "log_variance", 0.01
    built = experiment.model_config(config, num_train=10)
    assert (built["surrogate"], built["surrogate_weight"]) == ("log_variance", 0.01)


@pytest.mark.parametrize("config_name, field, largest, too_large, expected", [
    # numpy's seeds, through keras.utils.set_random_seed, are below 2**32.
    ("testing", "seed", 2**32 - 1, 2**64, "an integer in [0, 4294967295]"),
    ("testing", "batch_size", 65536, 65537, "an integer in [1, 65536]"),
    ("testing", "model.width", 8192, 100_000_000, "an integer in [1, 8192]"),
    ("mnist_mlp", "model.depth", 64, 65, "an integer in [1, 64]"),
    ("mnist_vib", "model.hidden_units", (8192, 8192), (1024, 8193),
     "a tuple of integers in [1, 8192]"),
    ("mnist_vib", "model.latent_dim", 8192, 8193, "an integer in [1, 8192]"),
    ("mnist_vae", "model.width_multiplier", 16, 17, "an integer in [1, 16]"),
    ("mnist_vae", "model.hidden_layers", 64, 65, "an integer in [1, 64]"),
    ("mnist_vae", "iwae_samples", 5000, 5001, "an integer in [1, 5000]"),
    ("mnist_vae", "iwae_examples", 10000, 10001, "an integer in [1, 10000]"),
    ("testing", "eval_num_samples", 1000, 1001, "an integer in [1, 1000]"),
    ("testing", "summaries.num_analysis_examples", 10000, 10001, "an integer in [2, 10000]"),
    ("testing", "information_plane.num_examples", 10000, 10001, "an integer in [2, 10000]"),
    ("testing", "information_plane.num_bins", 1000, 1001, "an integer in [2, 1000]"),
])
def test_the_seed_and_the_fields_that_size_memory_have_upper_bounds(config_name, field, largest,
                                                                    too_large, expected):
    config = config_lib.from_file(config_lib.resolve(config_name))
    config.update_from_flattened_dict({field: largest})
    config_lib.validate(config)
    config.update_from_flattened_dict({field: too_large})
    received = list(too_large) if isinstance(too_large, tuple) else too_large
    with pytest.raises(config_lib.ConfigError,
                       match=f"^invalid config field `{re.escape(field)}`: expected "
                             f"{re.escape(expected)}, received {re.escape(repr(received))}\\.$"):
        config_lib.validate(config)


def test_a_model_field_is_checked_only_when_the_config_has_it():
    config = config_lib.from_file(config_lib.resolve("testing"))
    assert "model.width_multiplier" not in config_lib.flatten(config)
    config_lib.validate(config)
    config.model.width_multiplier = 0
    with pytest.raises(config_lib.ConfigError, match="`model.width_multiplier`: expected an "
                                                     r"integer in \[1, 16\], received 0\."):
        config_lib.validate(config)


def test_every_packaged_config_and_sweep_run_is_within_the_ranges():
    from infodropout_tf import sweeps

    for name in config_lib.packaged_config_names():
        config_lib.validate(config_lib.from_file(config_lib.resolve(name)))
    runs = [run for row in sweeps.rows() for run in sweeps.runs(row, None, "/data")]
    assert len(runs) > 50
    for run in runs:
        run.load_config()  # validates
