"""Trains a VAE from a config: see infodropout_tf/training/apps.py.

    python train/train_vae.py --config=configs/mnist_vae.py --workdir=/tmp/mnist_vae
"""

from infodropout_tf.training import apps

if __name__ == "__main__":
    apps.run_train_vae()
