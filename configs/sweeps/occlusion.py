"""Occlusion as a nuisance: main and occluder errors against beta (paper Fig. 4).

All-CNN-32 (a quarter of the filters, ReLU, log-uniform prior) on
Occluded MNIST, 60,000 / 10,000 frames generated from MNIST, trained on
the main digit for 6 epochs (learning rate divided by 10 after epoch 4) at
betas over four decades; then a classifier of the occluding digit is
trained for 3 epochs on the frozen, noisy output of the last
information-dropout layer. The dataset is generated in `data_dir` (a
writable tensorflow-datasets folder holding a prepared `mnist`) before the
first run. Each run is then tested again with the convolutional probe,
`infodropout-evaluate ... --config.nuisance.probe=conv` (the commands are
under the row). Results: docs/results.md, row 7.
"""

from infodropout_tf.results.sweeps import Run

BETAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)


def get_runs(data_dir):
    return [Run(f"occluded_beta{beta:g}", "occluded_mnist_all_cnn32.py",
                {"model.beta": beta, "dataset.data_dir": data_dir, "num_epochs": 6,
                 "optimizer.boundaries": (4,), "nuisance.epochs": 3})
            for beta in BETAS]
