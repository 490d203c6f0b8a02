"""training/config.py: config files, by path or by the name of a packaged config."""

import os
import pathlib

import pytest

from infodropout_tf.training import config as config_lib

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
# Written out by hand: the experiments of the README's table of configs.
NAMES = ["cifar_all_cnn32", "cluttered_all_cnn96", "mnist_all_cnn32",
         "mnist_lenet_information_plane", "mnist_lenet_surrogate", "mnist_mlp",
         "mnist_mlp_information_plane", "mnist_vae",
         "mnist_vib", "mnist_vib_information_dropout",
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
