"""The MINE study of docs/results (`infodropout_tf.results.mine_study`)."""

import json
import math

import numpy as np
import pytest

from infodropout_tf import information
from infodropout_tf.results import mine_study


@pytest.mark.parametrize("target,dims", [(0.5, 2), (8.0, 20)])
def test_the_samples_carry_the_information_asked_for(target, dims):
    x, z = mine_study.correlated_gaussians(target, dims, 200_000, seed=0)
    # Each coordinate's correlation, and the Gaussian formula on the sample
    # covariance (independent of how rho was chosen): its sampling error
    # at n = 200,000 is ~sqrt(dims / n) ~ 0.01 nats.
    rho = np.corrcoef(x[:, 0], z[:, 0])[0, 1]
    assert -dims / 2 * math.log(1 - rho**2) == pytest.approx(target, rel=0.05)
    assert information.gaussian_mutual_information(x, z) == pytest.approx(target, abs=0.03)


def test_the_study_writes_every_fit_and_each_cell_s_bias(tmp_path, monkeypatch):
    monkeypatch.setattr(mine_study, "CASES", ((1.0, 2),))
    monkeypatch.setattr(mine_study, "BATCH_SIZES", (512,))
    monkeypatch.setattr(mine_study, "SAMPLE_SIZES", (256, 1024))
    monkeypatch.setattr(mine_study, "SAMPLES", 1024)
    mine_study.main(["--out", str(tmp_path), "--seeds", "2", "--steps", "3"])
    summary = json.loads((tmp_path / "mine.json").read_text())
    assert (tmp_path / "mine.png").stat().st_size > 0
    # (512, 1024), shared by both sweeps, and (512, 256): 2 cells x 2 seeds.
    assert len(summary["fits"]) == 4
    case = summary["cases"]["1 nats, 2 dims"]
    assert [e["batch_size"] for e in case["by_batch_size"]] == [512]
    assert [e["num_samples"] for e in case["by_num_samples"]] == [256, 1024]
    for entry in case["by_batch_size"] + case["by_num_samples"]:
        assert len(entry["estimates"]) == 2
        assert entry["mean"] == pytest.approx(np.mean(entry["estimates"]))
        assert entry["bias"] == pytest.approx(entry["mean"] - 1.0)
    assert summary["grid"]["seeds"] == 2 and summary["grid"]["steps"] == 3


def test_the_long_training_check_fits_the_20_dimension_cases_at_both_ends(monkeypatch):
    monkeypatch.setattr(mine_study, "CASES", ((0.5, 2), (1.0, 20)))
    monkeypatch.setattr(mine_study, "SAMPLES", 256)
    summary = mine_study.long_training(seeds=1, steps=3)
    assert [(f["dims"], f["batch_size"]) for f in summary["fits"]] == [(20, 64), (20, 2048)]
    assert all(np.isfinite(f["estimate"]) for f in summary["fits"])
