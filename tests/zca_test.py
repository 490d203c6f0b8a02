"""ZCA whitening (`infodropout_tf.data.zca`)."""

import numpy as np

from infodropout_tf.data import zca


def test_zca_whitening_gives_identity_covariance():
    rng = np.random.default_rng(0)
    # Correlated fake 4x4x3 images: 48 dimensions, 20,000 examples.
    mixing = rng.normal(size=(48, 48))
    images = (rng.normal(size=(20_000, 48)) @ mixing).reshape(-1, 4, 4, 3)
    matrix, mean = zca.fit(images)
    whitened = (zca.standardize(images) - mean) @ matrix
    covariance = np.cov(whitened, rowvar=False)
    # Standardisation removes the constant direction, which stays at zero
    # variance; every other direction has unit variance.
    ones = np.ones((48, 1)) / np.sqrt(48)
    np.testing.assert_allclose(covariance, np.eye(48) - ones @ ones.T, atol=2e-3)
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-6)  # zero-phase: symmetric
