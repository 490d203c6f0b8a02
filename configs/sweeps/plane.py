"""Information-plane trajectories of LeNet on MNIST (Adilova et al. 2023, Fig. 1).

Information dropout (closed-form I(X;Z)) against Gaussian dropout
(Gaussian-mixture estimate), 10 epochs. Results: docs/results.md, row 4.
"""

from infodropout_tf.sweeps import Run


def get_runs(data_dir):
    del data_dir  # MNIST from $TFDS_DATA_DIR
    return [Run(f"plane_{noise}", "mnist_lenet_information_plane.py",
                {"model.noise": noise, "num_epochs": 10})
            for noise in ("information", "gaussian")]
