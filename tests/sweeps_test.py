"""configs/sweeps/: the runs of docs/results.md, their commands and configs."""

import pathlib

import pytest
from absl import flags
from ml_collections import config_flags

from infodropout_tf.results import sweeps

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
ROWS = ["beta_vae", "cluttered", "disentangle", "flow", "mlp_width", "occlusion", "plane",
        "surrogate", "vae", "vae_ablation", "vib"]

# The commands of docs/results.md, written out by hand (data_dir "/data").
COMMANDS = {
    "vae": [
        (f"vae_k{k}_{latent}{suffix}", "infodropout-train-vae --config=configs/mnist_vae.py "
         f"--config.model.latent={latent} --config.model.width_multiplier={k} "
         "--config.iwae_samples=1000 --config.iwae_examples=1000"
         + (" --config.jit_compile=True" if k > 1 else "")
         + (" --config.dataset.binarization=static" if suffix else ""))
        for k, suffix in ((1, ""), (2, ""), (3, ""), (1, "_static"))
        for latent in ("gaussian", "information_dropout")
    ],
    "cluttered": [
        (f"cluttered_beta{beta}", "infodropout-train --config=configs/cluttered_all_cnn96.py "
         f"--config.model.beta={beta} --config.model.filter_fraction=0.25 "
         "--config.dataset.data_dir=/data --config.dataset.options.num_train=20000 "
         "--config.dataset.options.num_test=2000 --config.optimizer.name=adam "
         "--config.optimizer.learning_rate=0.001 --config.num_epochs=12 "
         "--config.optimizer.boundaries=(9,)")
        for beta in ("1.0", "0.1", "0.3", "0.03")
    ],
    "plane": [("plane_mlp_gaussian", "infodropout-train --config=configs/mnist_mlp_information_plane.py")] + [
        (f"plane_lenet_{noise}", "infodropout-train --config=configs/mnist_lenet_information_plane.py "
         f"--config.model.noise={noise}")
        for noise in ("gaussian", "information")
    ],
    "surrogate": [
        ("surrogate_none", "infodropout-train --config=configs/mnist_lenet_surrogate.py "
         "--config.model.surrogate=none --config.model.surrogate_weight=0.0")
    ] + [
        (f"surrogate_{surrogate}_gamma{name}",
         "infodropout-train --config=configs/mnist_lenet_surrogate.py "
         f"--config.model.surrogate={surrogate} --config.model.surrogate_weight={gamma}")
        for surrogate in ("squared_norm", "log_variance", "conditional_log_variance")
        for name, gamma in (("0.001", "0.001"), ("0.01", "0.01"), ("0.1", "0.1"), ("1", "1.0"))
    ],
    "flow": [
        (f"softplus_f{fraction}_beta10", "infodropout-train --config=configs/mnist_all_cnn32.py "
         f"--config.model.activation=softplus --config.model.beta=10.0 "
         f"--config.model.filter_fraction={fraction} --config.num_epochs=6 "
         "--config.optimizer.boundaries=(4,)")
        for fraction in ("0.0625", "0.125", "0.25", "0.5")
    ],
    "disentangle": [
        (f"softplus_f0.25_beta{beta:g}", "infodropout-train --config=configs/mnist_all_cnn32.py "
         f"--config.model.activation=softplus --config.model.beta={beta} "
         "--config.model.filter_fraction=0.25 --config.num_epochs=6 "
         "--config.optimizer.boundaries=(4,)")
        for beta in (1.0, 10.0, 100.0, 300.0, 1000.0, 10000.0)
    ],
    "occlusion": [
        (f"occluded_beta{beta:g}", "infodropout-train --config=configs/occluded_mnist_all_cnn32.py "
         f"--config.model.beta={beta} --config.dataset.data_dir=/data --config.num_epochs=6 "
         "--config.optimizer.boundaries=(4,) --config.nuisance.epochs=3")
        for beta in (1.0, 10.0, 100.0, 1000.0, 10000.0)
    ],
}


def _commands(row):
    return [(run.name, " ".join(run.command("configs")))
            for run in sweeps.runs(row, str(CONFIGS), "/data")]


def test_rows_are_the_files_of_configs_sweeps():
    assert sweeps.rows(str(CONFIGS)) == ROWS


@pytest.mark.parametrize("row", sorted(COMMANDS))
def test_commands_are_those_the_results_were_measured_with(row):
    assert _commands(row) == COMMANDS[row]


def test_mlp_width_commands_are_those_the_results_were_measured_with():
    # Widths outermost (smallest first), then seeds, then noises.
    expected = [
        (f"mlp80_w{width}_{noise}_s{seed}",
         f"infodropout-train --config=configs/mnist_mlp.py --config.model.width={width} "
         f"--config.model.noise={noise} --config.seed={seed}")
        for width in (64, 128, 256, 512) for seed in (0, 1, 2)
        for noise in ("information", "binary", "constant_lognormal", "none")]
    assert len(expected) == 48
    assert _commands("mlp_width") == expected


def _parse(command):
    """The config a trainer command would run, parsed as absl parses it."""
    argv = ["trainer", *command[1:]]
    flag_values = flags.FlagValues()
    config_flags.DEFINE_config_file("config", flag_values=flag_values, lock_config=True,
                                    sys_argv=argv)
    flag_values(argv)
    return flag_values.config


@pytest.mark.parametrize("row", ROWS)
def test_every_run_builds_a_distinct_config_equal_to_its_command(row):
    runs = sweeps.runs(row, str(CONFIGS), "/data")
    # A misspelt field or a wrongly typed value raises here, not hours into a sweep.
    configs = [run.load_config(str(CONFIGS)) for run in runs]
    for run, config in zip(runs, configs):
        # The printed command line trains exactly the config the overrides describe.
        assert _parse(run.command(str(CONFIGS))).to_json() == config.to_json(), run.name
    assert len({c.to_json() for c in configs}) == len(configs)
    if row == "mlp_width":
        assert {(c.model.width, c.model.noise, c.seed) for c in configs} == {
            (w, n, s) for w in (64, 128, 256, 512)
            for n in ("information", "binary", "constant_lognormal", "none") for s in (0, 1, 2)}
        # The paper's schedule: 80 epochs, learning rate 0.07 divided at 30 and 70.
        assert all(c.num_epochs == 80 and tuple(c.optimizer.boundaries) == (30, 70)
                   and c.optimizer.learning_rate == 0.07 and c.model.depth == 3
                   for c in configs)
    if row == "cluttered":
        assert [c.model.beta for c in configs] == [1.0, 0.1, 0.3, 0.03]
        assert all(c.optimizer.name == "adam" and c.model.filter_fraction == 0.25
                   and c.model.noise == "information" and c.model.activation == "relu"
                   and c.model.max_alpha == 1.0 for c in configs)
        assert all(c.dataset.data_dir == "/data" and c.dataset.options.num_train == 20_000
                   and c.dataset.options.num_test == 2_000
                   and c.dataset.options.image_size == 96 for c in configs)
    if row == "vae":
        assert [(c.model.width_multiplier, c.dataset.binarization, c.model.latent)
                for c in configs] == [
            (k, binarization, latent)
            for k, binarization in ((1, "dynamic"), (2, "dynamic"), (3, "dynamic"), (1, "static"))
            for latent in ("gaussian", "information_dropout")]
        # Table 1's schedule and a k = 1000 bound on 1,000 test images.
        assert all(c.model.name == "vae" and c.num_epochs == 300
                   and tuple(c.optimizer.boundaries) == (30, 120) and c.iwae_samples == 1000
                   and c.iwae_examples == 1000 for c in configs)
        # The setting of row 1's ablation and the paper's text.
        assert all((c.model.activation, c.model.decoder_input, c.model.max_alpha)
                   == ("tanh", "log_z", 0.7) for c in configs)
    if row == "vae_ablation":
        # (latent, activation, decoder_input, max_alpha, prior): (a) row 1's model with
        # each latent, then one change at a time, then (b), (c), (d) together.
        assert [(c.model.latent, c.model.activation, c.model.decoder_input, c.model.max_alpha,
                 c.model.prior) for c in configs] == [
            ("gaussian", "relu", "z", 1.0, "log_normal"),
            ("information_dropout", "relu", "z", 1.0, "log_normal"),
            ("information_dropout", "relu", "log_z", 1.0, "log_normal"),
            ("gaussian", "tanh", "z", 1.0, "log_normal"),
            ("information_dropout", "tanh", "z", 1.0, "log_normal"),
            ("information_dropout", "relu", "z", 0.7, "log_normal"),
            ("information_dropout", "relu", "z", 1.0, "log_normal_per_unit"),
            ("information_dropout", "tanh", "log_z", 0.7, "log_normal")]
        # k = 2, 30 epochs of the paper's schedule (no decay before epoch 30), one seed.
        assert all(c.model.width_multiplier == 2 and c.num_epochs == 30
                   and tuple(c.optimizer.boundaries) == (30, 120) and c.seed == 0
                   and c.iwae_samples == 1000 and c.iwae_examples == 1000 for c in configs)
    if row == "plane":
        assert [(c.model.name, c.model.noise, c.information_plane.layers) for c in configs] == [
            ("mlp", "gaussian", ("dropout3",)), ("lenet", "gaussian", ("dropout",)),
            ("lenet", "information", ("dropout",))]
        # Enough examples to lift the mixture's log n ceiling above log 1000.
        assert all(c.information_plane.num_examples == 10_000 and c.model.weight_decay == 1e-3
                   and c.optimizer.name == "sgd" and c.model.activation == "softplus"
                   for c in configs)
        mlp = configs[0].model
        assert tuple(mlp.hidden_units) == (512, 128, 32) and mlp.noisy_layers == "last"
        assert mlp.dropout_rate / (1 - mlp.dropout_rate) == pytest.approx(0.2)
    if row == "flow":
        assert [c.model.filter_fraction for c in configs] == [0.0625, 0.125, 0.25, 0.5]
    if row in ("flow", "disentangle"):
        assert all(c.model.activation == "softplus" and c.model.noise == "information"
                   and c.dataset.name == "mnist" for c in configs)
    if row == "beta_vae":
        assert [(c.model.latent, c.model.beta) for c in configs] == [
            (latent, beta) for latent in ("gaussian", "information_dropout")
            for beta in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)]
        assert all(c.model.width_multiplier == 1 and c.num_epochs == 60 for c in configs)
        # Row 9's model, whatever mnist_vae.py's defaults.
        assert all((c.model.activation, c.model.decoder_input, c.model.max_alpha)
                   == ("relu", "z", 1.0) for c in configs)
    if row == "occlusion":
        assert [c.model.beta for c in configs] == [1.0, 10.0, 100.0, 1000.0, 10000.0]
        assert all(c.dataset.name == "occluded_mnist" and c.nuisance.enabled
                   and c.nuisance.representation_layer == "dropout2"
                   and c.model.filter_fraction == 0.25 for c in configs)


def test_values_are_written_as_the_command_line_takes_them():
    assert sweeps.format_value((6,)) == "(6,)"
    assert sweeps.format_value((4, 8)) == "(4,8)"
    assert sweeps.format_value(20_000) == "20000"
    assert sweeps.format_value(0.125) == "0.125"
    assert sweeps.format_value(True) == "True"


@pytest.mark.parametrize("overrides, message", [
    ({"model.widht": 64}, r"mnist_mlp.py has no field `model.widht`. Did you mean `model.width`"),
    ({"optimiser.boundaries": (4, 8)}, r"no field `optimiser.boundaries`"),
    ({"model.width": "wide"}, r"cannot set `model.width` to 'wide'"),
    ({"num_epochs": 0}, r"`num_epochs`: expected an integer >= 1, received 0"),
])
def test_a_bad_override_names_the_run_and_the_field(overrides, message):
    run = sweeps.Run("bad", "mnist_mlp.py", overrides)
    with pytest.raises(sweeps.SweepError, match=r"run bad: .*" + message):
        run.load_config(str(CONFIGS))


def test_by_default_the_sweeps_and_configs_are_the_packaged_ones():
    assert sweeps.rows() == ROWS
    packaged, checkout = sweeps.runs("vae", data_dir="/data"), sweeps.runs("vae", str(CONFIGS))
    assert packaged == checkout
    for run in packaged:
        # The command names the config, `--config=mnist_vae`, not a folder.
        assert run.command() == ["infodropout-train-vae", "--config=mnist_vae",
                                 *run.command(str(CONFIGS))[2:]]
        assert run.load_config().to_json() == run.load_config(str(CONFIGS)).to_json()


def test_unknown_rows_and_repeated_run_names_are_refused(tmp_path):
    with pytest.raises(sweeps.SweepError,
                       match=r"Unknown row 'cifar'; .* beta_vae, cluttered, disentangle, flow, mlp_width, "
                             r"occlusion, plane, surrogate, vae"):
        sweeps.runs("cifar", str(CONFIGS))
    (tmp_path / "sweeps").mkdir()
    (tmp_path / "sweeps" / "twice.py").write_text(
        "from infodropout_tf.results.sweeps import Run\n"
        "def get_runs(data_dir):\n"
        "    return [Run('a', 'testing.py', {'seed': s}) for s in (0, 1)]\n")
    with pytest.raises(sweeps.SweepError, match=r"twice.py names several runs a;"):
        sweeps.runs("twice", str(tmp_path))
    with pytest.raises(sweeps.SweepError, match=r"does not exist; pass --configs=DIR"):
        sweeps.runs("vae", str(tmp_path / "nowhere"))


def test_flow_shares_its_quarter_width_run_with_disentangle():
    # Same name, same workdir: the run must be the same experiment in both rows.
    flow = {run.name: run for run in sweeps.runs("flow", str(CONFIGS))}
    disentangle = {run.name: run for run in sweeps.runs("disentangle", str(CONFIGS))}
    (shared,) = set(flow) & set(disentangle)
    assert (flow[shared].load_config(str(CONFIGS)).to_json()
            == disentangle[shared].load_config(str(CONFIGS)).to_json())
    assert flow[shared].load_config(str(CONFIGS)).model.filter_fraction == 0.25
