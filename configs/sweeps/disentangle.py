"""Total correlation of the representation against beta (paper Fig. 5).

All-CNN-32 with softplus activations and the log-normal prior, a quarter
of the filters, on MNIST (`configs/mnist_all_cnn32.py`: the CIFAR-10
settings of the paper, 28x28x1 inputs), 6 epochs with the learning rate
divided by 10 after epoch 4, at betas over four decades. The KL is divided
by the 60,000 training examples, so beta is the price of a nat in units of
1/60,000 of the cross-entropy: 1 is almost free, 10,000 blocks most of the
information. Results: docs/results.md, row 6.
"""

from infodropout_tf.results.sweeps import Run

BETAS = (1.0, 10.0, 100.0, 300.0, 1000.0, 10000.0)


def get_runs(data_dir):
    del data_dir  # MNIST from $TFDS_DATA_DIR
    return [Run(f"softplus_f0.25_beta{beta:g}", "mnist_all_cnn32.py",
                {"model.activation": "softplus", "model.beta": beta,
                 "model.filter_fraction": 0.25, "num_epochs": 6, "optimizer.boundaries": (4,)})
            for beta in BETAS]
