"""training/config.py: config files, by path or by the name of a packaged config.

(The fields' ranges are exercised through the trainer in faults_test.py.)
"""

import json
import os
import pathlib

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
    ("model.regularizer", "l2",
     r"^invalid config field `model.regularizer`: expected one of \['none', 'squared_norm', "
     r"'log_variance', 'conditional_log_variance'\], received 'l2'\.$"),
    ("model.regularizer_weight", -0.1,
     r"^invalid config field `model.regularizer_weight`: expected a finite number >= 0, "
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
    assert "regularizer" not in experiment.model_config(config, num_train=10)
    config.model.name = "lenet"
    config.model.regularizer, config.model.regularizer_weight = "log_variance", 0.01
    built = experiment.model_config(config, num_train=10)
    assert (built["regularizer"], built["regularizer_weight"]) == ("log_variance", 0.01)
