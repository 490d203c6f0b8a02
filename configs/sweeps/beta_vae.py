"""beta-VAE: rate, distortion and total correlation against beta (paper Eq. 7, sections 5 and 7).

The VAE of `mnist_vae.py` (k = 1) with each latent at six betas from 0.25
to 8, for 60 epochs with the learning rate divided by 10 at epoch 30 (the
first drop of the paper's 300-epoch schedule), with the model options
row 9 was measured with (ReLU hidden units, the decoder reading z, alpha
below 1.0: the ablation's run (a) in row 1), not `mnist_vae.py`'s
defaults. Results: docs/results.md, row 9.
"""

from infodropout_tf.results.sweeps import Run

BETAS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
ROW_9_MODEL = {"model.activation": "relu", "model.decoder_input": "z", "model.max_alpha": 1.0}


def get_runs(data_dir):
    del data_dir  # binarised MNIST from $TFDS_DATA_DIR
    return [Run(f"beta_vae_{latent}_beta{beta:g}", "mnist_vae.py",
                {"model.latent": latent, "model.beta": beta, "num_epochs": 60,
                 "optimizer.boundaries": (30,), **ROW_9_MODEL},
                trainer="infodropout-train-vae")
            for latent in ("gaussian", "information_dropout") for beta in BETAS]
