"""Information-plane trajectories (Adilova, Geiger & Fischer 2023, Fig. 1 and Fig. 5).

LeNet with information dropout (closed-form I(X;Z)) and with Gaussian
dropout (Gaussian-mixture estimate) on its penultimate layer, 30 epochs,
and the 784-512-128-32-10 softplus MLP with Gaussian dropout of variance
0.2 on its penultimate layer, 100 epochs; both trained as their code
trains them (SGD 0.1, momentum 0.9, weight decay 1e-3, batch 256). Every
epoch each is estimated on 10,000 training and 10,000 test examples, one
mixture component per example (ceiling log 10,000 = 9.21 nats), beside
binning. Results: docs/results.md, row 4.
"""

from infodropout_tf.results.sweeps import Run


def get_runs(data_dir):
    del data_dir  # MNIST from $TFDS_DATA_DIR
    return [Run("plane_mlp_gaussian", "mnist_mlp_information_plane.py", {})] + [
        Run(f"plane_lenet_{noise}", "mnist_lenet_information_plane.py", {"model.noise": noise})
        for noise in ("gaussian", "information")]
