"""VAE with a Gaussian or an information-dropout latent (paper Table 1).

Width multipliers k = 1, 2 and 3 (512k hidden and 256k latent units),
each latent, on the paper's schedule: 300 epochs, the learning rate
divided by 10 at epochs 30 and 120 (`mnist_vae.py`). Each run also
estimates the k = 1000 importance-weighted bound on the first 1,000 test
images. The training images are binarised anew each epoch; at k = 1 each
latent is also trained on one fixed binarisation (`_static`), the protocol
of a fixed binarised MNIST, to see how much of the bound the dynamic one
gives. The model is `mnist_vae.py`'s: tanh hidden units, the decoder
reading log z, alpha below 0.7, the setting row 1's ablation
(`vae_ablation.py`) and the paper's text support. Smallest networks
first: k = 1, 2, 3, then the fixed binarisation at k = 1.
Results: docs/results.md, row 1.
"""

from infodropout_tf.results.sweeps import Run

WIDTH_MULTIPLIERS = (1, 2, 3)
LATENTS = ("gaussian", "information_dropout")


def _run(k, latent, binarization="dynamic"):
    overrides = {"model.latent": latent, "model.width_multiplier": k,
                 "iwae_samples": 1000, "iwae_examples": 1000}
    if k > 1:
        # XLA: the same model and noise distribution, about 1.25 times
        # faster here, so that both latents of one k train side by side
        # within a working session. Its standard-normal draws from a given
        # seed differ from those without XLA, so these runs are not
        # bit-identical to uncompiled ones. The k = 1 runs ran without it.
        overrides["jit_compile"] = True
    name = f"vae_k{k}_{latent}"
    if binarization == "static":
        overrides["dataset.binarization"] = "static"
        name += "_static"
    return Run(name, "mnist_vae.py", overrides, trainer="infodropout-train-vae")


def get_runs(data_dir):
    del data_dir  # binarised MNIST from $TFDS_DATA_DIR
    return ([_run(k, latent) for k in WIDTH_MULTIPLIERS for latent in LATENTS]
            + [_run(1, latent, "static") for latent in LATENTS])
