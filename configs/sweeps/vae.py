"""VAE with a Gaussian or an information-dropout latent (paper Table 1).

60 of the paper's 300 epochs, with its learning-rate drop at epoch 30.
Results: docs/results.md, row 1.
"""

from infodropout_tf.sweeps import Run


def get_runs(data_dir):
    del data_dir  # binarised MNIST from $TFDS_DATA_DIR
    return [Run(f"vae_{latent}", "mnist_vae.py", {"model.latent": latent, "num_epochs": 60},
                trainer="infodropout-train-vae")
            for latent in ("gaussian", "information_dropout")]
