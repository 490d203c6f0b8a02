"""Information flow of All-CNN-32 on MNIST against the filter fraction (paper Fig. 6).

3 epochs of 200 steps, a learning-rate drop at epoch 2, evaluated on 20
test batches. Results: docs/results.md, row 5.
"""

from infodropout_tf.sweeps import Run


def get_runs(data_dir):
    del data_dir  # MNIST from $TFDS_DATA_DIR
    return [Run(f"flow_f{fraction}", "mnist_all_cnn32.py",
                {"model.filter_fraction": fraction, "num_epochs": 3, "steps_per_epoch": 200,
                 "optimizer.boundaries": (2,), "eval_steps": 20})
            for fraction in (0.125, 0.25, 0.5)]
