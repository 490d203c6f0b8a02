"""training/config_diff.py: configs as dotted fields, and their differences."""

import json

import ml_collections

from infodropout_tf.training import config_diff
from infodropout_tf.training import config_schema


def test_flatten_names_fields_by_their_dotted_path_as_json_holds_them():
    config = ml_collections.ConfigDict({"a": 1, "b": {"c": (2, 3), "d": {"e": "x"}},
                                        "options": {}})
    expected = {"a": 1, "b.c": [2, 3], "b.d.e": "x", "options": {}}
    assert config_diff.flatten(config) == expected
    assert config_diff.flatten(json.loads(config.to_json())) == expected


def test_differences_are_the_sorted_fields_that_differ():
    config = config_schema.base_config()
    stored = json.loads(config.to_json())
    assert config_diff.differences(stored, config) == []
    config.seed = 3
    config.optimizer.boundaries = (30, 60)
    config.eval_num_samples = 20
    assert config_diff.differences(stored, config) == [
        "eval_num_samples", "optimizer.boundaries", "seed"]
    assert config_diff.differences(stored, config, ignore=("eval_num_samples",)) == [
        "optimizer.boundaries", "seed"]


def test_a_field_held_by_one_config_only_differs():
    # No implicit values: a stored config.json without a field is another
    # config (the package never wrote one).
    config = config_schema.base_config()
    stored = json.loads(config.to_json())
    del stored["model"]["beta_schedule"]
    config.model.beta = 1.0
    assert config_diff.differences(stored, config) == [
        "model.beta", "model.beta_schedule.epochs", "model.beta_schedule.initial_beta",
        "model.beta_schedule.layers", "model.beta_schedule.name"]
