"""KL maps of All-CNN-96 on Cluttered MNIST at two betas (paper Fig. 2).

A quarter of the filters, 20,000 / 2,000 of the 50,000 / 10,000 images,
8 of the paper's 80 epochs with a learning-rate drop at epoch 6. The
dataset is generated in `data_dir` (a writable tensorflow-datasets folder
holding a prepared `mnist`) before the first run. Results:
docs/results.md, row 3.
"""

from infodropout_tf.sweeps import Run


def get_runs(data_dir):
    return [Run(f"cluttered_beta{beta}", "cluttered_all_cnn96.py",
                {"model.beta": beta, "model.filter_fraction": 0.25,
                 "dataset.data_dir": data_dir,
                 "dataset.options.num_train": 20_000, "dataset.options.num_test": 2_000,
                 "num_epochs": 8, "optimizer.boundaries": (6,)})
            for beta in (0.5, 5.0)]
