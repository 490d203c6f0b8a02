"""Binning estimates of I(X; T) and I(T; Y) (`infodropout_tf.information.binning`)."""

import math

import numpy as np
import pytest

from infodropout_tf import information


def test_binning_reaches_log_n_for_tiny_bins_and_zero_for_one_bin():
    rng = np.random.default_rng(6)
    t, labels = rng.standard_normal((1000, 3)), rng.integers(0, 10, 1000)
    tiny = information.binning_information(t, labels, bin_size=1e-6)
    assert tiny["mutual_information_x"] == pytest.approx(math.log(1000))
    # Every input in its own pattern: T determines Y, I(T;Y) = H(Y).
    assert tiny["mutual_information_y"] == pytest.approx(information.label_entropy(labels))
    one = information.binning_information(t, labels, num_bins=1)
    assert one == {"mutual_information_x": 0.0, "mutual_information_y": 0.0}
    coarse = information.binning_information(t, num_bins=4)["mutual_information_x"]
    assert 0 < coarse < math.log(1000)


def test_binning_rejects_bad_bins():
    with pytest.raises(ValueError, match=r"`num_bins`.*Received: num_bins=0"):
        information.binning_information(np.ones((3, 2)), num_bins=0)
    with pytest.raises(ValueError, match=r"`bin_size`.*Received: bin_size=-1"):
        information.binning_information(np.ones((3, 2)), bin_size=-1)


def test_binning_labels_must_match_and_be_finite():
    t = np.random.default_rng(13).normal(size=(6, 2))
    with pytest.raises(ValueError, match=r"`labels`.*1 non-finite values"):
        information.binning_information(t, np.array([0, 1, 0, 1, np.nan, 1]))


_EMPTY, _NAN = np.ones((0, 5)), np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]])
_PAIR = np.random.default_rng(9).normal(size=(20, 2))


@pytest.mark.parametrize(
    "estimate,name,received",
    [
        (lambda: information.binning_information(_EMPTY), "representations", r"shape \(0, 5\)"),
        (lambda: information.binning_information(_NAN), "representations", "non-finite"),
        (lambda: information.binning_information(_PAIR, np.zeros(19, int)),
         "labels", r"20 rows, as many as `representations`\. Received: shape \(19,\)"),
        (lambda: information.binning_information(_PAIR, num_bins=True),
         "num_bins", "num_bins=True"),
        (lambda: information.binning_information(_PAIR, bin_size=float("nan")),
         "bin_size", "bin_size=nan"),
    ],
)
def test_estimators_name_the_bad_argument(estimate, name, received):
    with pytest.raises(ValueError, match=rf"^Invalid value received for argument `{name}`\. "
                                         rf"Expected .*{received}"):
        estimate()
