"""KL maps of All-CNN-96 on Cluttered MNIST at three betas (paper Fig. 2).

The paper's network, noise and objective (ReLU, log-uniform prior,
max_alpha 1.0, the KL divided by the training-set size) at a quarter of
the filters, on 20,000 / 2,000 of the paper's 50,000 / 10,000 images,
trained with Adam (1e-3, divided by 10 after epoch 9) for 12 epochs
instead of Nesterov SGD for 80: the SGD schedule cut to 8 epochs left the
network untrained. Betas 0.03 to 0.3 span a factor of 10 below the
original's 0.5; beta 1.0, run first, stayed at 23% test error after these
12 epochs, so the row's claim rests on the three smaller betas and 1.0 is
shown beside them. The dataset is generated in `data_dir` (a
writable tensorflow-datasets folder holding a prepared `mnist`) before
the first run. Results: docs/results.md, row 3.
"""

from infodropout_tf.results.sweeps import Run

BETAS = (1.0, 0.1, 0.3, 0.03)


def get_runs(data_dir):
    return [Run(f"cluttered_beta{beta}", "cluttered_all_cnn96.py",
                {"model.beta": beta, "model.filter_fraction": 0.25,
                 "dataset.data_dir": data_dir,
                 "dataset.options.num_train": 20_000, "dataset.options.num_test": 2_000,
                 "optimizer.name": "adam", "optimizer.learning_rate": 0.001,
                 "num_epochs": 12, "optimizer.boundaries": (9,)})
            for beta in BETAS]
