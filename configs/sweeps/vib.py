"""Deep Variational Information Bottleneck on MNIST (Alemi et al., ICLR 2017; issue 30).

(a) `vib200_beta0.001`: the headline, `mnist_vib.py` as it stands (beta =
1e-3, 200 epochs, Adam 1e-4 with beta1 0.5 and the rate times 0.97 every 2
epochs, 12 samples averaged at test); Alemi et al. report 1.13% test
error. It runs first.

(b) `vib10_beta<beta>`: the VIB at the seven betas of `BETAS`, and (c)
`vib10_information_dropout_beta<beta>`: `mnist_vib_information_dropout.py`,
the same 1024-1024 encoder with information dropout (softplus, log-normal
prior) on its last hidden layer instead of the Gaussian latent, at the
same betas, each pair of runs in turn from the smallest beta. Both models
weigh the KL per example (neither divides it by the training set), so a
beta means the same trade-off in both; the paper's beta for information
dropout is 60,000 times it. (b) and (c) are shortened to 10 epochs of the
same schedule, sized after one epoch took 51 s (VIB) and 65 s
(information dropout) on two cores shared with another training queue:
14 runs, about 2.5 hours. Seed 0 throughout.
Results: docs/results.md, the VIB row.
"""

from infodropout_tf.results.sweeps import Run

BETAS = (1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
SWEEP_EPOCHS = 10
MODELS = (("", "mnist_vib.py"), ("_information_dropout", "mnist_vib_information_dropout.py"))


def get_runs(data_dir):
    del data_dir  # MNIST from $TFDS_DATA_DIR
    headline = Run("vib200_beta0.001", "mnist_vib.py", {"model.beta": 1e-3, "num_epochs": 200,
                                                         "seed": 0})
    return [headline] + [
        Run(f"vib{SWEEP_EPOCHS}{suffix}_beta{beta:g}", config,
            {"model.beta": beta, "num_epochs": SWEEP_EPOCHS, "seed": 0})
        for beta in BETAS for suffix, config in MODELS]
