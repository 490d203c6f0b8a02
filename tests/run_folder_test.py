"""What the reports read from the runs' workdirs (`results/run_folder.py`):
checked, and one line when wrong.

The reports themselves are tested through `infodropout-reproduce report`
in reproduce_test.py.
"""

import json
import pathlib

import numpy as np
import pytest

from infodropout_tf import data
from infodropout_tf.results import reproduce
from infodropout_tf.results import sweeps
from infodropout_tf.results import run_folder
from infodropout_tf.workdir_files import WorkdirError

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
FIX = ("Restore it from a copy, or delete the run's workdir and rerun `infodropout-reproduce run` "
       "to train it again.")


def test_a_training_log_cut_short_by_a_kill_reads_up_to_its_last_whole_line(tmp_path):
    # A run still training (or killed) while the report reads its log.
    (tmp_path / "training_log.csv").write_text("epoch,loss,val_kl\r\n0,3.0,2.0\r\n1,2.0,NA\r\n2,1.")
    log = run_folder.read_training_log(str(tmp_path), ("val_kl",))
    np.testing.assert_array_equal(log["epoch"], [0, 1])
    np.testing.assert_array_equal(log["val_kl"], [2.0, np.nan])


@pytest.mark.parametrize("content, expected", [
    (b"epoch,loss\n0," + b"9" * 200_000 + b"\n",
     " is not a CSV log (line 2: field larger than field limit (131072))"),
    (b"epoch,loss\n0,\xff\n", r" is not UTF-8 text (line 2, byte 13 is b'\xff')"),
    (b"epoch,loss\n0,low\n", ', line 2: `loss` is "low", where a number is expected'),
    (b"epoch,loss\n0,2.0\n", " has no column val_kl"),
])
def test_a_damaged_training_log_is_one_line_naming_it(tmp_path, content, expected):
    path = tmp_path / "training_log.csv"
    path.write_bytes(content)
    with pytest.raises(WorkdirError) as caught:
        run_folder.read_training_log(str(tmp_path), ("val_kl",))
    assert str(caught.value) == f"{path}{expected}. {FIX}"


@pytest.mark.parametrize("name, content, expected", [
    ("metrics.json", "[0.02]", "holds a JSON array, where a JSON object is expected"),
    ("metrics.json", '{"deterministic_error": "2%"}',
     'field `deterministic_error` is "2%", where a number is expected'),
    ("config.json", '{"num_epochs": -80}', "field `num_epochs` is -80, where an integer >= 1 is "
                                           "expected"),
    ("config.json", "[80]", "holds a JSON array, where a JSON object is expected"),
])
def test_report_names_a_run_file_out_of_range_in_one_line(reproduce_error, tmp_path, capsys,
                                                          name, content, expected):
    root, output = tmp_path / "root", tmp_path / "results"
    (run,) = [run for run in sweeps.runs("mlp_width", str(CONFIGS))
              if run.name == "mlp80_w64_information_s0"]
    workdir = root / run.name
    workdir.mkdir(parents=True)
    (workdir / "metrics.json").write_text(json.dumps({"deterministic_error": 0.02}))
    (workdir / "config.json").write_text(json.dumps({"num_epochs": 80}))
    (workdir / name).write_text(content)
    status, line = reproduce_error(["report", "mlp_width", "--root", str(root),
                                        "--output", str(output), "--configs", str(CONFIGS)])
    assert status == 1
    assert line == f"error: {workdir / name} {expected}. {FIX}"
    assert not output.exists()


def _run_config(path, data_dir, name="mnist", options=None, **dataset):
    """Writes a run's config.json with the fields its data is read from."""
    path.write_text(json.dumps({"seed": 3, "strategy": "default", "dataset": {
        "name": name, "data_dir": data_dir, "options": options or {}, "label_key": "label",
        "binarization": "dynamic", **dataset}}))


def test_a_run_config_naming_a_dataset_option_that_does_not_exist_is_one_line(tmp_path,
                                                                             shared_data_dir):
    path = tmp_path / "config.json"
    _run_config(path, shared_data_dir, options={"image_size": 60})
    with pytest.raises(WorkdirError, match=(
            f"^{path}: Dataset 'mnist' takes no generation options; received \\['image_size'\\]. "
            r"Restore it from a copy")):
        run_folder.test_batches(str(tmp_path), "test[:10]")
    _run_config(path, shared_data_dir)
    (batch,) = run_folder.test_batches(str(tmp_path), "test[:10]", batch_size=10)
    assert batch[0].shape == (10, 28, 28, 1)


def test_a_report_reads_the_labels_the_run_was_trained_on(tmp_path, work_dir, as_numpy):
    # An occlusion run trained on the occluder's digit: its reports must see
    # those labels, not the main digit's.
    small = {"num_train": 200, "num_test": 20}
    data.prepare("occluded_mnist", work_dir, **small)
    _run_config(tmp_path / "config.json", work_dir, name="occluded_mnist", options=small,
                label_key="nuisance_label")
    (images, labels), = run_folder.test_batches(str(tmp_path), "test", batch_size=20)
    test = as_numpy("occluded_mnist", "test", work_dir, **small)
    assert np.mean(test["nuisance_label"] != test["label"]) > 0.5  # the test can tell them apart
    np.testing.assert_array_equal(labels, test["nuisance_label"])
    np.testing.assert_allclose(images, test["image"] / 255.0, rtol=1e-6)


def test_a_report_reads_a_statically_binarised_run_as_binarised_once(tmp_path, shared_data_dir):
    # With `dataset.binarization = static` every split, training ones
    # included, is binarised once with the run's seed: the same pixels at
    # every reading, those of `data.load`'s static binarisation.
    _run_config(tmp_path / "config.json", shared_data_dir, name="binarized_mnist",
                binarization="static")
    first, second = (np.concatenate([x for x, _ in run_folder.test_batches(
        str(tmp_path), "train[:200]", batch_size=100)]) for _ in range(2))
    static = np.concatenate([x.numpy() for x, _ in data.load(
        "binarized_mnist", "train[:200]", shared_data_dir, batch_size=100, shuffle=False,
        seed=3, drop_remainder=False, binarization="static")])
    assert set(np.unique(first)) == {0.0, 1.0}
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, static)
