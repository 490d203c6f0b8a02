"""Why the information-dropout VAE trails the Gaussian one: an ablation (issue 31).

The VAE of `mnist_vae.py` at width multiplier k = 2 (1,024 hidden and 512
latent units), 30 epochs each, seed 0, the k = 1000 importance-weighted
bound on the first 1,000 test images. The learning-rate boundaries stay
the paper's (30, 120), so no decay happens within the 30 epochs: the runs
compare the models on the first stretch of Table 1's schedule, where the
gap already stands at 6.2 nats (docs/results.md, row 1). Every run sets
the four model options (`infodropout_tf.models.VAE`) explicitly, each
changed from the model of row 1 in the runs that study it, both latents
where the change applies (the Gaussian latent ignores `decoder_input`,
`max_alpha` and `prior`, so its run for (a) is the pair of (b), (d), (e)):

* (a) `a_today`: row 1's model.
* (b) `b_log_z`: the decoder reads log z = log f + alpha * n instead of z.
* (c) `c_tanh`: tanh hidden units, as the MLPs of the paper's reference [5].
* (d) `d_max_alpha0.7`: alpha(x) < 0.7, as the paper's text says.
* (e) `e_per_unit_prior`: a learned log-normal prior per latent unit, a
  departure from the original implementation.
* (f) `f_log_z_tanh_max_alpha0.7`: (b), (c) and (d) together; its
  Gaussian pair is (c)'s tanh Gaussian.

All runs have the same size; they run in this order, Gaussian first in
each pair. Results: docs/results.md, row 1.
"""

from infodropout_tf.results.sweeps import Run

# Row 1's model: what every run starts from.
TODAY = {"model.activation": "relu", "model.decoder_input": "z", "model.max_alpha": 1.0,
         "model.prior": "log_normal"}

# (name, changes to TODAY, latents it is run with).
VARIANTS = (
    ("a_today", {}, ("gaussian", "information_dropout")),
    ("b_log_z", {"model.decoder_input": "log_z"}, ("information_dropout",)),
    ("c_tanh", {"model.activation": "tanh"}, ("gaussian", "information_dropout")),
    ("d_max_alpha0.7", {"model.max_alpha": 0.7}, ("information_dropout",)),
    ("e_per_unit_prior", {"model.prior": "log_normal_per_unit"}, ("information_dropout",)),
    ("f_log_z_tanh_max_alpha0.7",
     {"model.decoder_input": "log_z", "model.activation": "tanh", "model.max_alpha": 0.7},
     ("information_dropout",)),
)


def get_runs(data_dir):
    del data_dir  # binarised MNIST from $TFDS_DATA_DIR
    return [Run(f"vae_ablation_k2_{name}_{latent}", "mnist_vae.py",
                {"model.latent": latent, "model.width_multiplier": 2, "num_epochs": 30,
                 "seed": 0, **TODAY, **changes, "iwae_samples": 1000, "iwae_examples": 1000},
                trainer="infodropout-train-vae")
            for name, changes, latents in VARIANTS for latent in latents]
