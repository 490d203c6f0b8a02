"""Training step time of the paper's networks with each dropout block.

Measures, in one run, milliseconds per training step (batch 100) of

* All-CNN-32 (32x32x3 inputs, 10 classes) at filter_fraction 1.0 and 0.25,
* the MNIST MLP (3 hidden layers of 1024 units, 28x28x1 inputs),

each with noise "information", "binary" and "none", compiled with
`SGD(0.05, momentum=0.9, nesterov=True)` once with `jit_compile=False` (what
`"auto"` resolves to on a CPU) and once with `jit_compile=True`; and the
overhead of the real MNIST pipeline (`infodropout_tf.data.load`, its cache
warm) over the same number of its batches held in memory, for the MLP with
information dropout.

A step is one `model.train_on_batch` call on a batch already in memory (a
few fixed random batches, taken in turn), timed with the wall clock. After
two warm-up steps per variant (tracing, XLA compilation), the six variants
of a model take one step each per round, in a rotating order, over many
rounds, so that the load of other processes falls on all of them alike; the
tables give the median step and ratios of medians. The pipeline comparison
alternates steps in the same way: `next()` on the pipeline's iterator plus
`train_on_batch`, then `next()` on a list of held batches plus
`train_on_batch`. Nothing here asserts a time.

    TFDS_DATA_DIR=../shared/tensorflow_datasets python benchmarks/step_time.py

A third comparison times the layers built on TensorFlow Probability against
the hand-written versions they replaced, side by side in the same run:
All-CNN-32 with information dropout, log-uniform prior (ReLU) and log-normal
prior (softplus), each once as the package builds it and once with
`HandWrittenInformationDropout` below, the previous commit's `call` (noise
from `stateless_normal`, the log-normal KL written in `keras.ops`) kept here
only. With the log-uniform prior both compute the same ops, so its ratio
shows the precision of the measurement. The two versions of each variant
step back to back (in alternating order) within every round, and the table
gives the median and quartiles of these paired ratios.

A fourth comparison, `--sections precision`, times the same three
networks with information dropout under each Keras dtype policy a config
may ask for (`float32`, `mixed_bfloat16`, `mixed_float16`; the trainer's
`config.dtype_policy`), with and without XLA, interleaved as above; the
table gives median steps and each policy's ratio to float32 with the same
`jit_compile`. Under `mixed_float16` `compile` wraps the optimizer in a
`LossScaleOptimizer`, as in the trainer.

A fifth comparison, `--sections vae`, times the VAE of Table 1 at width
multipliers k = 1, 2, 3 (512k hidden and 256k latent units) with each
latent, compiled as `configs/mnist_vae.py` trains it (Adam, no XLA), on
binary images, the six variants interleaved as above; the table gives
median steps, each k's ratio to k = 1, and what the paper's 300 epochs of
600 steps would take at that median.

`--quick` runs a quarter of the rounds and leaves out the full-width
All-CNN-32. `--sections` picks the comparisons to run (default: all).
"""

import argparse
import itertools
import os
import statistics
import time

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from infodropout_tf import data
from infodropout_tf import models
from infodropout_tf import priors
from infodropout_tf.layers import InformationDropout

BATCH_SIZE = 100
NOISES = ("information", "binary", "none")
SECTIONS = ("tfd", "noise", "pipeline", "precision", "vae")
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
IN_MEMORY_BATCHES = 4
# (label, model config without noise, input shape, rounds)
MODELS = (
    ("All-CNN-32, 100% filters",
     {"name": "all_cnn_32", "filter_fraction": 1.0, "seed": 0}, (32, 32, 3), 8),
    ("All-CNN-32, 25% filters",
     {"name": "all_cnn_32", "filter_fraction": 0.25, "seed": 0}, (32, 32, 3), 24),
    ("MLP 3x1024",
     {"name": "mlp", "width": 1024, "seed": 0}, (28, 28, 1), 80),
)


# (label, All-CNN-32 config without activation, rounds) of the tfd comparison
TFD_MODELS = (
    ("All-CNN-32, 100% filters",
     {"name": "all_cnn_32", "filter_fraction": 1.0, "noise": "information", "seed": 0}, 10),
    ("All-CNN-32, 25% filters",
     {"name": "all_cnn_32", "filter_fraction": 0.25, "noise": "information", "seed": 0}, 60),
)
PRIOR_BY_ACTIVATION = (("relu", "log-uniform"), ("softplus", "log-normal"))
IMPLEMENTATIONS = ("tfd", "hand-written")


class HandWrittenInformationDropout(InformationDropout):
    """The previous `InformationDropout.call`, before the layer used TFP.

    Noise exp(alpha * n) from `stateless_normal`, and the log-normal KL as
    the original's closed form in `keras.ops` (with sigma read from the
    prior), where the package now calls `tfd.kl_divergence`.
    """

    def call(self, inputs, training=None, return_kl_map=False):
        features, block_inputs = self._split_inputs(inputs)
        self.check_inputs(features, block_inputs)
        alpha = self.noise_scale(inputs)
        if isinstance(self.prior, priors.LogNormalPrior):
            log_features = ops.log(
                ops.maximum(ops.cast(features, "float32"), priors.LOG_FEATURE_FLOOR))
            sigma = self.prior.sigma
            kl_map = (0.5 * (ops.square(alpha / sigma)
                             + ops.square(log_features - self.prior.mu) / ops.square(sigma)
                             - 1.0)
                      + ops.log(sigma) - ops.log(alpha))
        else:
            kl_map = self.prior(features, alpha, alpha_upper=self.alpha_upper)
        self.add_kl_penalty(kl_map)
        outputs = features
        if self.noise_active(training):
            log_noise = alpha * self.standard_normal(ops.shape(features))
            outputs = self.multiply(features, ops.exp(log_noise))
        if return_kl_map:
            return outputs, kl_map
        return outputs


def hand_written_copy(model):
    """The same classifier and weights with `HandWrittenInformationDropout`."""

    def clone_layer(layer):
        cls = HandWrittenInformationDropout if type(layer) is InformationDropout else type(layer)
        return cls.from_config(layer.get_config())

    network = keras.models.clone_model(model.network, clone_function=clone_layer)
    network.set_weights(model.network.get_weights())
    return models.Classifier(network, weight_decay=model.weight_decay)


def timed_step(model, batch):
    """Seconds taken by one `train_on_batch` on an in-memory batch."""
    start = time.perf_counter()
    model.train_on_batch(*batch)
    return time.perf_counter() - start


def compiled(config, jit_compile, dtype_policy="float32"):
    """The model of `config` built under `dtype_policy` and compiled."""
    keras.utils.set_random_seed(0)  # the same initial weights for every variant
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy)  # read as the layers are created
    try:
        model = models.build(config)
        model.compile(keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                      jit_compile=jit_compile)
    finally:
        keras.config.set_dtype_policy(previous)
    return model


def random_batches(input_shape, seed=0, binary=False):
    """A few fixed random (images, labels) batches, as tensors: standard
    normal pixels, or pixels in {0, 1} if `binary` (the VAE's)."""
    rng = np.random.default_rng(seed)

    def images():
        shape = (BATCH_SIZE, *input_shape)
        return rng.integers(2, size=shape) if binary else rng.standard_normal(shape)

    return [
        (tf.constant(images(), "float32"), tf.constant(rng.integers(10, size=BATCH_SIZE), "int32"))
        for _ in range(IN_MEMORY_BATCHES)
    ]


def built_and_warmed_up(name, build, batches):
    """`build()`'s model after two steps (trace, compile, warm up), with
    the time they and the build took printed."""
    start = time.perf_counter()
    model = build()
    for _ in range(2):
        timed_step(model, next(batches))
    print(f"{name}: built and warmed up in {time.perf_counter() - start:.1f} s", flush=True)
    return model


def measure_models(model_specs, round_divisor):
    """{(label, noise, jit): median seconds per step}, variants interleaved."""
    medians = {}
    for label, config, input_shape, rounds in model_specs:
        rounds = max(1, rounds // round_divisor)
        batches = itertools.cycle(random_batches(input_shape))
        variants = {}
        for noise in NOISES:
            for jit in (False, True):
                variants[(noise, jit)] = built_and_warmed_up(
                    f"{label}, {noise}, jit={jit}",
                    lambda: compiled({**config, "noise": noise}, jit), batches)
        for (noise, jit), median in interleaved_medians(label, variants, batches, rounds).items():
            medians[(label, noise, jit)] = median
        del variants
    return medians


def interleaved_medians(label, variants, batches, rounds):
    """{key: median seconds per step} of `variants` ({key: model}), each
    stepping once per round in a rotating order."""
    times = {key: [] for key in variants}
    keys = list(variants)
    start = time.perf_counter()
    for round_index in range(rounds):
        shift = round_index % len(keys)
        batch = next(batches)
        for key in keys[shift:] + keys[:shift]:
            times[key].append(timed_step(variants[key], batch))
    print(f"{label}: {rounds} rounds in {time.perf_counter() - start:.0f} s", flush=True)
    return {key: statistics.median(values) for key, values in times.items()}


def measure_precision(model_specs, round_divisor):
    """{(label, dtype policy, jit): median seconds per step}, information
    dropout, the six variants of a model interleaved."""
    medians = {}
    for label, config, input_shape, rounds in model_specs:
        rounds = max(1, rounds // round_divisor)
        batches = itertools.cycle(random_batches(input_shape))
        variants = {}
        for policy in POLICIES:
            for jit in (False, True):
                variants[(policy, jit)] = built_and_warmed_up(
                    f"{label}, {policy}, jit={jit}",
                    lambda: compiled({**config, "noise": "information"}, jit, policy), batches)
        for (policy, jit), median in interleaved_medians(label, variants, batches, rounds).items():
            medians[(label, policy, jit)] = median
        del variants
    return medians


VAE_WIDTH_MULTIPLIERS = (1, 2, 3)
VAE_LATENTS = ("gaussian", "information_dropout")
VAE_ROUNDS = 120
PAPER_VAE_STEPS = 300 * 600  # 300 epochs of the 60,000 training images in batches of 100


def compiled_vae(latent, width_multiplier):
    """The VAE compiled as `configs/mnist_vae.py` trains it (Adam, no XLA)."""
    keras.utils.set_random_seed(0)  # the same initial weights for every run
    model = models.VAE(latent, width_multiplier=width_multiplier, seed=0)
    model.compile(keras.optimizers.Adam(1e-3), jit_compile=False)
    return model


def measure_vae(round_divisor):
    """{(k, latent): median seconds per VAE training step}, interleaved."""
    batches = itertools.cycle(random_batches((28, 28, 1), binary=True))  # labels ignored
    variants = {
        (k, latent): built_and_warmed_up(f"VAE k = {k}, {latent}",
                                         lambda: compiled_vae(latent, k), batches)
        for k in VAE_WIDTH_MULTIPLIERS for latent in VAE_LATENTS}
    return interleaved_medians("VAE", variants, batches, max(1, VAE_ROUNDS // round_divisor))


def print_vae(medians):
    print("\nVAE of Table 1: median ms per training step, the ratio to k = 1 with the same"
          " latent, and hours for the paper's 300 epochs at that median")
    print(f"{'k':3s} {'latent':20s} {'ms':>8s} {'/ k = 1':>8s} {'300 epochs, h':>14s}")
    for k in VAE_WIDTH_MULTIPLIERS:
        for latent in VAE_LATENTS:
            value = medians[(k, latent)]
            print(f"{k:<3d} {latent:20s} {1000 * value:8.1f} {value / medians[(1, latent)]:8.2f}"
                  f" {value * PAPER_VAE_STEPS / 3600:14.1f}")


def print_precision(model_specs, medians):
    print("\nInformation dropout under each dtype policy: median ms per training step, and"
          " the ratio to float32 with the same jit_compile")
    print(f"{'model':26s} {'policy':15s} {'jit':5s} {'ms':>8s} {'/ float32':>10s}")
    for label, *_ in model_specs:
        for jit in (False, True):
            reference = medians[(label, "float32", jit)]
            for policy in POLICIES:
                value = medians[(label, policy, jit)]
                print(f"{label:26s} {policy:15s} {str(jit):5s} {1000 * value:8.1f}"
                      f" {value / reference:10.2f}")


def measure_tfd(model_specs, round_divisor):
    """Step times of the tfd and hand-written layers, measured in pairs.

    Returns `({(label, prior, jit): (tfd median s, hand-written median s,
    median, first and third quartiles of the paired ratios)}, {(label,
    prior): relative difference of the two losses on one batch})`. Each
    round takes one step of every (prior, jit) variant, in a rotating
    order, and each variant's two implementations step back to back, in
    alternating order, so that a pair shares the machine's load.
    """
    results, differences = {}, {}
    for label, config, rounds in model_specs:
        rounds = max(1, rounds // round_divisor)
        batches = itertools.cycle(random_batches((32, 32, 3)))
        variants = {}
        for activation, prior in PRIOR_BY_ACTIVATION:
            for jit in (False, True):
                start = time.perf_counter()
                tfd_model = compiled({**config, "activation": activation}, jit)
                hand_written = hand_written_copy(tfd_model)
                hand_written.compile(keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                                     jit_compile=jit)
                if not jit:  # the same objective: compare the losses once
                    images, labels = next(batches)
                    losses = [float(m.compute_loss(images, labels, m(images)))
                              for m in (tfd_model, hand_written)]
                    differences[(label, prior)] = abs(losses[0] - losses[1]) / abs(losses[1])
                for model in (tfd_model, hand_written):
                    for _ in range(2):  # trace, compile, warm up
                        timed_step(model, next(batches))
                variants[(prior, jit)] = (tfd_model, hand_written)
                print(f"{label}, {prior}, jit={jit}: built and warmed up in "
                      f"{time.perf_counter() - start:.1f} s", flush=True)
        times = {key: ([], []) for key in variants}
        keys = list(variants)
        start = time.perf_counter()
        for round_index in range(rounds):
            shift = round_index % len(keys)
            batch = next(batches)
            order = (0, 1) if round_index % 2 == 0 else (1, 0)
            for key in keys[shift:] + keys[:shift]:
                for implementation in order:
                    times[key][implementation].append(
                        timed_step(variants[key][implementation], batch))
        for (prior, jit), (ours, theirs) in times.items():
            ratios = [a / b for a, b in zip(ours, theirs)]
            quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            results[(label, prior, jit)] = (
                statistics.median(ours), statistics.median(theirs),
                statistics.median(ratios), quartiles[0], quartiles[2])
        print(f"{label}: {rounds} rounds in {time.perf_counter() - start:.0f} s", flush=True)
        del variants
    return results, differences


def print_tfd(model_specs, results, differences):
    print("\nLayers on TFP against the hand-written ones: median ms per training step,"
          " and the median (quartiles) of the paired ratios tfd / hand-written")
    print(f"{'model':26s} {'prior':12s} {'jit':5s} {'tfd':>8s} {'hand-written':>13s}"
          f" {'tfd/hand-written':>17s} {'quartiles':>14s}")
    for label, *_ in model_specs:
        for _, prior in PRIOR_BY_ACTIVATION:
            for jit in (False, True):
                ours, theirs, ratio, low, high = results[(label, prior, jit)]
                print(f"{label:26s} {prior:12s} {str(jit):5s} {1000 * ours:8.1f}"
                      f" {1000 * theirs:13.1f} {ratio:17.3f} {low:6.3f}-{high:.3f}")
    print("\nrelative difference of the two losses on one batch: "
          + ", ".join(f"{label} {prior} {value:.1e}"
                      for (label, prior), value in differences.items()))


def measure_pipeline(data_dir, steps):
    """Median and mean seconds per step of the MLP with information dropout
    fed by the MNIST pipeline (cache warm) and by `steps` of its batches
    held in a list, alternating step by step."""
    pipeline = data.load("mnist", "train", data_dir, batch_size=BATCH_SIZE)
    for _ in pipeline:  # one epoch fills the pipeline's cache of decoded images
        pass
    held = list(pipeline.take(steps))
    model = compiled({"name": "mlp", "width": 1024, "noise": "information", "seed": 0,
                      "num_train_examples": 60_000}, jit_compile=False)
    for batch in held[:3]:  # trace and warm up
        timed_step(model, batch)
    sources = {"pipeline": iter(pipeline.repeat()), "in memory": iter(held)}
    times = {name: [] for name in sources}
    for step in range(steps):
        names = list(sources) if step % 2 == 0 else list(sources)[::-1]
        for name in names:
            start = time.perf_counter()
            batch = next(sources[name])
            model.train_on_batch(*batch)
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(values), statistics.mean(values))
            for name, values in times.items()}


def print_noise(model_specs, medians):
    ms = {key: 1000 * value for key, value in medians.items()}
    for jit in (False, True):
        print(f"\njit_compile={jit}")
        print(f"{'model':26s} {'information':>12s} {'binary':>8s} {'none':>8s}"
              f" {'information/binary':>19s} {'information/none':>17s}")
        for label, *_ in model_specs:
            information, binary, none = (ms[(label, noise, jit)] for noise in NOISES)
            print(f"{label:26s} {information:12.1f} {binary:8.1f} {none:8.1f}"
                  f" {information / binary:19.2f} {information / none:17.2f}")

    print(f"\n{'model':26s} {'noise':12s} {'no jit':>8s} {'jit':>8s} {'jit/no-jit':>11s}")
    for label, *_ in model_specs:
        for noise in NOISES:
            plain, jit = ms[(label, noise, False)], ms[(label, noise, True)]
            print(f"{label:26s} {noise:12s} {plain:8.1f} {jit:8.1f} {jit / plain:11.2f}")


def print_pipeline(pipeline, pipeline_steps):
    (pipeline_median, pipeline_mean), (memory_median, memory_mean) = (
        pipeline["pipeline"], pipeline["in memory"])
    print(f"\nMLP 3x1024, information dropout, MNIST, {pipeline_steps} steps of each"
          " (ms per step)")
    print(f"{'':8s} {'pipeline':>9s} {'in memory':>10s} {'pipeline/in memory':>19s}")
    print(f"{'median':8s} {1000 * pipeline_median:9.1f} {1000 * memory_median:10.1f}"
          f" {pipeline_median / memory_median:19.2f}")
    print(f"{'mean':8s} {1000 * pipeline_mean:9.1f} {1000 * memory_mean:10.1f}"
          f" {pipeline_mean / memory_mean:19.2f}")


def main():
    tf.get_logger().setLevel("ERROR")  # every new model's first trace warns of retracing
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data_dir", default=os.environ.get("TFDS_DATA_DIR"))
    parser.add_argument("--pipeline_steps", type=int, default=300,
                        help="steps of each source in the pipeline comparison")
    parser.add_argument("--quick", action="store_true",
                        help="a quarter of the rounds, without the full-width All-CNN-32")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="comparisons to run")
    args = parser.parse_args()
    model_specs = MODELS[1:] if args.quick else MODELS
    tfd_specs = TFD_MODELS[1:] if args.quick else TFD_MODELS
    round_divisor = 4 if args.quick else 1
    pipeline_steps = args.pipeline_steps // round_divisor

    start = time.perf_counter()
    if "tfd" in args.sections:
        tfd_medians, differences = measure_tfd(tfd_specs, round_divisor)
    if "noise" in args.sections:
        medians = measure_models(model_specs, round_divisor)
    if "pipeline" in args.sections:
        pipeline = measure_pipeline(args.data_dir, pipeline_steps)
    if "precision" in args.sections:
        precision = measure_precision(model_specs, round_divisor)
    if "vae" in args.sections:
        vae = measure_vae(round_divisor)
    elapsed = time.perf_counter() - start
    load = os.getloadavg()

    print(f"\nbatch {BATCH_SIZE}, {os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}; median ms per training step; "
          f"{elapsed:.0f} s in all; load average at the end {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f} (1, 5, 15 min)")
    if "tfd" in args.sections:
        print_tfd(tfd_specs, tfd_medians, differences)
    if "noise" in args.sections:
        print_noise(model_specs, medians)
    if "pipeline" in args.sections:
        print_pipeline(pipeline, pipeline_steps)
    if "precision" in args.sections:
        print_precision(model_specs, precision)
    if "vae" in args.sections:
        print_vae(vae)


if __name__ == "__main__":
    main()
