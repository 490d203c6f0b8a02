"""Input-pipeline throughput next to the training consumption of its model.

For MNIST (with the paper's MLP) and Cluttered MNIST (with All-CNN-96 at a
quarter of its filters) this measures, in one run:

* the pipeline: examples per second delivered by `infodropout_tf.data.load`
  in its first epoch (decoding the stored PNGs into the cache) and once the
  cache is warm (every later epoch);
* the model: examples per second consumed by `model.fit` on the same batches
  already in memory, after a warm-up;

and prints the ratios: above 1 the model never waits for data. Cluttered
MNIST is generated first (a few thousand examples, from the real MNIST in
TFDS_DATA_DIR) into a temporary directory. Nothing here asserts a time.

    TFDS_DATA_DIR=../shared/tensorflow_datasets python benchmarks/data_pipeline.py
"""

import argparse
import os
import tempfile
import time

import keras
import tensorflow as tf

from infodropout_tf import data
from infodropout_tf import models

BATCH_SIZE = 128


def pipeline_rates(dataset, batches):
    """Examples per second of the first (decoding) epoch and of `batches`
    batches once the cache is warm."""
    start = time.perf_counter()
    examples = sum(int(images.shape[0]) for images, _ in dataset)  # fills the cache
    cold = examples / (time.perf_counter() - start)
    iterator = iter(dataset.repeat())
    next(iterator)
    start = time.perf_counter()
    examples = 0
    for _ in range(batches):
        images, _ = next(iterator)
        examples += int(images.shape[0])
    return cold, examples / (time.perf_counter() - start)


def model_rate(model, dataset, steps):
    """Examples per second of `fit` on batches held in memory."""
    images, labels = next(iter(dataset))
    in_memory = tf.data.Dataset.from_tensors((images, labels)).repeat()
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True))
    model.fit(in_memory, steps_per_epoch=5, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(in_memory, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * int(images.shape[0]) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default=os.environ.get("TFDS_DATA_DIR"))
    parser.add_argument("--cluttered_examples", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()

    rows = []
    mnist = data.load("mnist", "train", args.data_dir, batch_size=BATCH_SIZE)
    rows.append((
        "mnist / MLP 3x1024 information dropout",
        *pipeline_rates(mnist, 400),
        model_rate(models.build({"name": "mlp", "width": 1024, "num_train_examples": 60_000}),
                   mnist, args.steps),
    ))

    with tempfile.TemporaryDirectory() as work_dir:
        os.symlink(os.path.abspath(os.path.join(args.data_dir, "mnist")),
                   os.path.join(work_dir, "mnist"))
        options = {"num_train": args.cluttered_examples, "num_test": 100}
        data.prepare("cluttered_mnist", work_dir, **options)
        cluttered = data.load("cluttered_mnist", "train", work_dir, batch_size=BATCH_SIZE,
                              **options)
        rows.append((
            "cluttered_mnist / All-CNN-96 25% filters",
            *pipeline_rates(cluttered, 200),
            model_rate(models.build({"name": "all_cnn_96", "filter_fraction": 0.25,
                                     "num_train_examples": 50_000}), cluttered, args.steps),
        ))

    print(f"\nbatch size {BATCH_SIZE}, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}")
    print(f"{'pipeline / model':42s} {'first epoch':>12s} {'cached':>9s} {'model':>7s}"
          f" {'first/model':>12s} {'cached/model':>13s}   (examples per second)")
    for name, cold, warm, model in rows:
        print(f"{name:42s} {cold:12.0f} {warm:9.0f} {model:7.0f} {cold / model:12.1f}"
              f" {warm / model:13.1f}")


if __name__ == "__main__":
    main()
