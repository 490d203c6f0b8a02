"""docs/reproduce.py: every command of the results page parses and is complete."""

import importlib.util
import pathlib

import pytest
from absl import flags
from ml_collections import config_flags

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _reproduce():
    spec = importlib.util.spec_from_file_location("reproduce", ROOT / "docs" / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parse(command):
    """The config a trainer command would run, parsed as absl parses it."""
    argv = ["trainer", *(a.replace("configs/", f"{ROOT}/configs/") for a in command[1:])]
    flag_values = flags.FlagValues()
    config_flags.DEFINE_config_file("config", flag_values=flag_values, lock_config=True,
                                    sys_argv=argv)
    flag_values(argv)
    return flag_values.config


@pytest.mark.parametrize("row", ["vae", "mlp_width", "cluttered", "plane", "flow"])
def test_every_command_parses_into_a_distinct_run(row):
    reproduce = _reproduce()
    commands = reproduce.runs(row, "/data")
    # A misspelt field or a wrongly typed value raises here, not hours into a sweep.
    configs = [_parse(command) for _, command in commands]
    names = [name for name, _ in commands]
    assert len(set(names)) == len(names)
    assert len({c.to_json() for c in configs}) == len(configs)
    if row == "mlp_width":
        assert len(commands) == 3 * 3 * 4
        assert {(c.model.width, c.model.noise, c.seed) for c in configs} == {
            (w, n, s) for w in (64, 128, 256)
            for n in ("information", "binary", "constant_lognormal", "none") for s in (0, 1, 2)}
        assert all(c.num_epochs == 10 and tuple(c.optimizer.boundaries) == (4, 8) for c in configs)
    if row == "cluttered":
        assert [c.model.beta for c in configs] == [0.5, 5.0]
        assert all(c.dataset.data_dir == "/data" and c.dataset.options.num_train == 20_000
                   for c in configs)
    if row == "vae":
        assert [c.model.latent for c in configs] == ["gaussian", "information_dropout"]


def test_unknown_rows_and_missing_runs_are_named():
    reproduce = _reproduce()
    with pytest.raises(ValueError, match=r"Unknown row 'cifar'"):
        reproduce.runs("cifar", "")
    with pytest.raises(FileNotFoundError, match=r"docs/reproduce.py run vae --root"):
        reproduce.report_vae("/nonexistent")
