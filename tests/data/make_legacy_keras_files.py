"""Writes the legacy `.keras` fixtures of tests/saving_test.py.

The files were written by the code of commit 754b5cf, before the log-normal
prior's sigma became softplus(u) + 1e-3 (its weight was sigma itself). To
rewrite them, run this script against that commit's package, e.g.

    mkdir /tmp/old && git archive 754b5cf | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python tests/data/make_legacy_keras_files.py

It writes, next to itself:

* `legacy_log_normal_prior.keras`: a small MLP with an information-dropout
  layer on softplus features (log-normal prior) and one on ReLU features
  (log-uniform prior), trained 5 SGD steps so that mu and sigma left 0
  and 1;
* `legacy_negative_sigma.keras`: the same MLP without `num_train_examples`,
  trained at a learning rate that drives the raw sigma negative (the NaN
  case the softplus parameterisation removes);
* `legacy_outputs.npz`: what the first model gives with that code, after
  loading it back from its file: inference outputs, the KL terms, two
  training-mode draws, and mu and sigma of its prior.
"""

import os

import keras
import numpy as np

import infodropout_tf
from infodropout_tf.layers import InformationDropout

HERE = os.path.dirname(os.path.abspath(__file__))


def _model(num_train_examples):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, activation="softplus")(inputs)
    x = InformationDropout(prior="log_normal", max_alpha=1.0, seed=1,
                           num_train_examples=num_train_examples, name="softplus_dropout")(x)
    x = keras.layers.Dense(8, activation="relu")(x)
    x = InformationDropout(seed=2, num_train_examples=num_train_examples,
                           name="relu_dropout")(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 6)).astype("float32"), rng.integers(0, 3, 32)


def main():
    print("package:", infodropout_tf.__file__)
    x, y = _data()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    model = _model(num_train_examples=100)
    model.compile(keras.optimizers.SGD(0.05), loss)
    for step in range(5):
        model.train_on_batch(x[step * 6:(step + 1) * 6], y[step * 6:(step + 1) * 6])
    path = os.path.join(HERE, "legacy_log_normal_prior.keras")
    model.save(path)

    loaded = keras.models.load_model(path)
    outputs = {"x": x, "predict": loaded.predict(x, verbose=0)}
    loaded(x, training=False)
    outputs["kl_losses"] = np.asarray([float(term) for term in loaded.losses])
    outputs["train0"] = np.asarray(loaded(x, training=True))
    outputs["train1"] = np.asarray(loaded(x, training=True))
    prior = loaded.get_layer("softplus_dropout").prior
    outputs["mu"], outputs["sigma"] = np.asarray(prior.mu), np.asarray(prior.sigma)
    np.savez(os.path.join(HERE, "legacy_outputs.npz"), **outputs)
    print("sigma", outputs["sigma"], "mu", outputs["mu"])

    diverged = _model(num_train_examples=None)
    diverged.compile(keras.optimizers.SGD(1.0), loss)
    diverged.train_on_batch(x, y)
    sigma = float(diverged.get_layer("softplus_dropout").prior.sigma)
    assert sigma < 0, sigma
    diverged.save(os.path.join(HERE, "legacy_negative_sigma.keras"))
    print("diverged sigma", sigma)


if __name__ == "__main__":
    main()
