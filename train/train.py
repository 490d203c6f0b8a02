"""Trains a classifier from a config: see infodropout_tf/training/apps.py.

    python train/train.py --config=configs/mnist_mlp.py --workdir=/tmp/mnist_mlp
"""

from infodropout_tf.training import apps

if __name__ == "__main__":
    apps.run_train()
