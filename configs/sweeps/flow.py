"""Information flow of All-CNN-32 on MNIST against the filter fraction (paper Fig. 6).

The runs of `disentangle.py` (softplus, log-normal prior, so that the KL
is information measured from a fixed reference; 6 epochs, the learning
rate divided by 10 after epoch 4) at one beta and four filter fractions;
the run at a quarter of the filters is the same run, and workdir, as the
one of `disentangle.py` at that beta. Beta 10 is the largest of that row
whose noisy test error stays low (2.5%; 61% at beta 100). Results: docs/results.md, row
5.
"""

from infodropout_tf.results.sweeps import Run

BETA = 10.0
FRACTIONS = (0.0625, 0.125, 0.25, 0.5)


def get_runs(data_dir):
    del data_dir  # MNIST from $TFDS_DATA_DIR
    return [Run(f"softplus_f{fraction}_beta{BETA:g}", "mnist_all_cnn32.py",
                {"model.activation": "softplus", "model.beta": BETA,
                 "model.filter_fraction": fraction, "num_epochs": 6,
                 "optimizer.boundaries": (4,)})
            for fraction in FRACTIONS]
