"""training/config_schema.py: the fields' defaults and ranges, and validation.

(The ranges are also exercised through the trainer in faults_test.py.)
"""

import re

import pytest

from infodropout_tf.training import config as config_lib
from infodropout_tf.training import config_diff
from infodropout_tf.training import config_schema


def test_a_ramp_of_beta_needs_the_configs_model_beta():
    config = config_schema.base_config()
    config.model.beta_schedule.name = "cosine"
    with pytest.raises(config_lib.ConfigError,
                       match=r"^config field `model.beta_schedule.name` is 'cosine', a ramp to "
                             r"`model.beta`, which this config does not set; set "
                             r"config.model.beta in the config file\.$"):
        config_schema.validate(config)


@pytest.mark.parametrize("field, value, expected", [
    ("model.surrogate", "l2",
     r"^invalid config field `model.surrogate`: expected one of \['none', 'squared_norm', "
     r"'log_variance', 'conditional_log_variance'\], received 'l2'\.$"),
    ("model.surrogate_weight", -0.1,
     r"^invalid config field `model.surrogate_weight`: expected a finite number >= 0, "
     r"received -0\.1\.$"),
])
def test_a_bad_surrogate_field_is_one_line(field, value, expected):
    config = config_schema.base_config()
    config.update_from_flattened_dict({field: value})
    with pytest.raises(config_lib.ConfigError, match=expected):
        config_schema.validate(config)


def test_only_a_chosen_surrogate_reaches_the_model_builder():
    from infodropout_tf.training import experiment

    config = config_schema.base_config()
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
    config_schema.validate(config)
    config.update_from_flattened_dict({field: too_large})
    received = list(too_large) if isinstance(too_large, tuple) else too_large
    with pytest.raises(config_lib.ConfigError,
                       match=f"^invalid config field `{re.escape(field)}`: expected "
                             f"{re.escape(expected)}, received {re.escape(repr(received))}\\.$"):
        config_schema.validate(config)


def test_a_model_field_is_checked_only_when_the_config_has_it():
    config = config_lib.from_file(config_lib.resolve("testing"))
    assert "model.width_multiplier" not in config_diff.flatten(config)
    config_schema.validate(config)
    config.model.width_multiplier = 0
    with pytest.raises(config_lib.ConfigError, match="`model.width_multiplier`: expected an "
                                                     r"integer in \[1, 16\], received 0\."):
        config_schema.validate(config)


def test_every_packaged_config_and_sweep_run_is_within_the_ranges():
    from infodropout_tf.results import sweeps

    for name in config_lib.packaged_config_names():
        config_schema.validate(config_lib.from_file(config_lib.resolve(name)))
    runs = [run for row in sweeps.rows() for run in sweeps.runs(row, None, "/data")]
    assert len(runs) > 50
    for run in runs:
        run.load_config()  # validates


def test_base_config_holds_the_tables_defaults_and_nothing_else():
    config = config_schema.base_config()
    flat = config_diff.flatten(config)
    # Written out by hand: a few defaults as the configs rely on them.
    assert (flat["batch_size"], flat["optimizer.learning_rate"], flat["seed"]) == (128, 0.01, 0)
    assert flat["information_plane.layers"] == ["dropout"]
    assert flat["dataset.options"] == {}
    with_defaults = {name for name, field in config_schema.FIELDS.items()
                     if field.default is not config_schema.MODEL_DEFAULT}
    assert set(flat) == with_defaults
    assert len(with_defaults) == 51  # 48 in the base_config() this table replaced, then
    # dataset.download, optimizer.decay_every and optimizer.beta_1
    assert all(field.meaning and "\n" not in field.meaning
               for field in config_schema.FIELDS.values())
    config_schema.validate(config)
    # Each call builds its own nested dicts: a config file's edits stay its own.
    config.dataset.options.num_distractors = 4
    assert "num_distractors" not in config_schema.base_config().dataset.options


def test_a_new_field_is_one_entry_of_the_table(monkeypatch):
    fields = dict(config_schema.FIELDS)
    fields["optimizer.clipnorm"] = config_schema.Field(
        1.0, config_schema.Range(lambda v: v > 0, "a number > 0"), "gradient norm clip")
    monkeypatch.setattr(config_schema, "FIELDS", fields)
    config = config_schema.base_config()
    assert config.optimizer.clipnorm == 1.0
    config_schema.validate(config)
    config.optimizer.clipnorm = -2.0
    with pytest.raises(config_lib.ConfigError,
                       match=r"^invalid config field `optimizer.clipnorm`: expected a number > 0, "
                             r"received -2\.0\.$"):
        config_schema.validate(config)


def test_a_missing_field_is_named():
    config = config_schema.base_config()
    del config.information_plane["num_bins"]
    with pytest.raises(config_lib.ConfigError,
                       match=r"^config field `information_plane.num_bins` is missing; start the "
                             r"config from base_config\(\) in "
                             r"infodropout_tf/training/config_schema\.py\.$"):
        config_schema.validate(config)
