"""MNIST MLP: test error against width for four noises (paper Fig. 3a).

Widths 64, 128 and 256, three seeds each; 10 of the paper's 80 epochs,
the learning rate divided by 10 at epochs 4 and 8. Results:
docs/results.md, row 2.
"""

from infodropout_tf.sweeps import Run

WIDTHS = (64, 128, 256)
NOISES = ("information", "binary", "constant_lognormal", "none")
SEEDS = (0, 1, 2)


def get_runs(data_dir):
    del data_dir  # MNIST from $TFDS_DATA_DIR
    return [Run(f"mlp_w{width}_{noise}_s{seed}", "mnist_mlp.py",
                {"model.width": width, "model.noise": noise, "seed": seed,
                 "num_epochs": 10, "optimizer.boundaries": (4, 8)})
            for seed in SEEDS for width in WIDTHS for noise in NOISES]
