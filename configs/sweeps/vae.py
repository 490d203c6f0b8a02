"""VAE with a Gaussian or an information-dropout latent (paper Table 1).

Width multipliers k = 1, 2 and 3 (512k hidden and 256k latent units),
each latent, on the paper's schedule: 300 epochs, the learning rate
divided by 10 at epochs 30 and 120 (`mnist_vae.py`). Each run also
estimates the k = 1000 importance-weighted bound on the first 1,000 test
images. Smallest networks first: k = 1 for both latents, then k = 2, 3.
Results: docs/results.md, row 1.
"""

from infodropout_tf.sweeps import Run

WIDTH_MULTIPLIERS = (1, 2, 3)
LATENTS = ("gaussian", "information_dropout")


def get_runs(data_dir):
    del data_dir  # binarised MNIST from $TFDS_DATA_DIR
    return [Run(f"vae_k{k}_{latent}", "mnist_vae.py",
                {"model.latent": latent, "model.width_multiplier": k,
                 "iwae_samples": 1000, "iwae_examples": 1000},
                trainer="infodropout-train-vae")
            for k in WIDTH_MULTIPLIERS for latent in LATENTS]
