"""MNIST MLP: test error against width for four noises (paper Fig. 3a).

Widths 64, 128, 256 and 512, three seeds each, on the paper's schedule
(`mnist_mlp.py`: 80 epochs, learning rate 0.07 divided by 10 at epochs 30
and 70). Smallest widths first, so that a sweep stopped part-way has
whole widths. Results: docs/results.md, row 2.
"""

from infodropout_tf.results.sweeps import Run

WIDTHS = (64, 128, 256, 512)
NOISES = ("information", "binary", "constant_lognormal", "none")
SEEDS = (0, 1, 2)


def get_runs(data_dir):
    del data_dir  # MNIST from $TFDS_DATA_DIR
    return [Run(f"mlp80_w{width}_{noise}_s{seed}", "mnist_mlp.py",
                {"model.width": width, "model.noise": noise, "seed": seed})
            for width in WIDTHS for seed in SEEDS for noise in NOISES]
