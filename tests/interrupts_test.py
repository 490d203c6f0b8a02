"""training/interrupts.py: Ctrl-C at any moment ends a command with one line."""

import os
import pathlib
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from infodropout_tf.training import interrupts

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
LINE = "error: interrupted (Ctrl-C); rerun the same command to start it again."
# What TensorFlow's C++ side prints on stderr by itself as it loads.
_NATIVE_LOG = re.compile(r"^(WARNING: All log messages before absl|[IWEF]\d{4} )")


def _own_lines(stderr):
    return [line for line in stderr.splitlines() if not _NATIVE_LOG.match(line)]


@pytest.mark.parametrize("argv, orig_argv, expected", [
    ([str(BIN / "infodropout-train"), "--config=testing"], None, True),
    ([str(BIN / "infodropout-reproduce"), "run", "vae"], None, True),
    (["-m"], [sys.executable, "-m", "infodropout_tf.data", "prepare", "mnist"], True),
    (["-m"], [sys.executable, "-u", "-m", "infodropout_tf.results.reproduce"], True),
    ([str(ROOT / "train" / "train.py"), "--config=testing"], None, True),
    # Programs that only import the package keep Python's behaviour.
    (["-m"], [sys.executable, "-m", "pytest", "tests"], False),
    (["-m"], [sys.executable, "-m", "infodropout_tf_other"], False),
    (["-c"], [sys.executable, "-c", "import infodropout_tf"], False),
    (["/home/someone/analysis.py"], None, False),
    ([str(ROOT / "benchmarks" / "step_time.py")], None, False),
    ([""], None, False),
])
def test_the_commands_are_recognised_and_nothing_else(argv, orig_argv, expected, monkeypatch):
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", orig_argv or [sys.executable, *argv])
    assert interrupts.is_command() is expected


def _default_sigint():
    """Ctrl-C as a terminal's foreground command gets it: a test runner
    started in the background of a shell ignores SIGINT, and its children
    would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def signal_handlers():
    """Python's own SIGINT handler during the test (see `_default_sigint`);
    SIGINT's and SIGTERM's handlers put back after it."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _deliver(signum):
    os.kill(os.getpid(), signum)
    time.sleep(0.1)  # Python runs the handler between two bytecodes of this thread


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_only_the_first_signal_interrupts(signum, signal_handlers):
    interrupts.raise_once()
    with pytest.raises(interrupts.Interrupted) as raised:
        _deliver(signum)
    assert raised.value.signum == signum and raised.value.exit_status == 128 + signum
    name = "SIGINT (Ctrl-C)" if signum == signal.SIGINT else "SIGTERM"
    assert str(raised.value) == f"interrupted by {name}"
    # The repeat, of either signal, cannot cut short what the first started.
    _deliver(signal.SIGINT)
    _deliver(signal.SIGTERM)


def test_an_ignored_sigint_stays_ignored(signal_handlers):
    # As a shell starts a background job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    interrupts.raise_once()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert interrupts.handled_signals() == (signal.SIGTERM,)
    with pytest.raises(interrupts.Interrupted):
        _deliver(signal.SIGTERM)


# Sends SIGINT to the process as it starts importing `module`: Ctrl-C during
# the package's import, before any code of the command has run.
_SITECUSTOMIZE = textwrap.dedent("""
    import os, signal, sys

    class _InterruptAt:
        def find_spec(self, name, path=None, target=None):
            if name == os.environ["INTERRUPT_AT_IMPORT"]:
                sys.meta_path.remove(self)
                os.kill(os.getpid(), signal.SIGINT)
            return None

    sys.meta_path.insert(0, _InterruptAt())
    """)


def _interrupted_at_import(command, module, tmp_path):
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    environment = dict(os.environ, PYTHONPATH=str(site), INTERRUPT_AT_IMPORT=module,
                       TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600,
                          cwd=tmp_path, preexec_fn=_default_sigint)


def _commands(tmp_path):
    workdir = f"--workdir={tmp_path / 'run'}"
    return {
        "infodropout-train": [str(BIN / "infodropout-train"), "--config=testing", workdir],
        "infodropout-train-vae": [str(BIN / "infodropout-train-vae"), "--config=mnist_vae",
                                  workdir],
        "infodropout-evaluate": [str(BIN / "infodropout-evaluate"), "--config=testing", workdir],
        "infodropout-reproduce": [str(BIN / "infodropout-reproduce"), "run", "vae", "--root",
                                  str(tmp_path / "run")],
        "python -m infodropout_tf.data": [sys.executable, "-m", "infodropout_tf.data", "prepare",
                                          "mnist", "--data_dir", str(tmp_path / "run")],
        "python train/train.py": [sys.executable, str(ROOT / "train" / "train.py"),
                                  "--config=testing", workdir],
    }


@pytest.mark.parametrize("name", list(_commands(pathlib.Path("/"))))
def test_ctrl_c_while_tensorflow_is_imported_ends_a_command_with_one_line(name, tmp_path):
    command = _commands(tmp_path)[name]
    assert os.path.exists(command[0]), f"{command[0]} is missing: pip install -e ."
    process = _interrupted_at_import(command, "tensorflow", tmp_path)
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    assert _own_lines(process.stderr) == [LINE], process.stderr[-3000:]
    # Python's own exit for an unhandled Ctrl-C: the process dies of SIGINT
    # (a shell sees 130), so that a script running it stops too.
    assert process.returncode == -signal.SIGINT
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("module", ["tensorflow_probability", "tensorflow_datasets"])
def test_ctrl_c_later_in_the_start_up_ends_with_the_same_line(module, tmp_path):
    process = _interrupted_at_import(_commands(tmp_path)["infodropout-train"], module, tmp_path)
    assert _own_lines(process.stderr) == [LINE], process.stderr[-3000:]
    assert process.returncode == -signal.SIGINT


@pytest.mark.slow
def test_ctrl_c_while_the_model_is_built_ends_with_one_line_and_exit_130(tmp_path):
    # The trainer's own path, once the command runs: Ctrl-C arrives while
    # the model is being built, before the workdir is locked.
    script = textwrap.dedent(f"""
        import os, signal, sys
        from infodropout_tf.training import apps, experiment

        _build_model = experiment.build_model
        def build_model(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            return _build_model(*args, **kwargs)
        experiment.build_model = build_model
        sys.argv = ["infodropout-train", "--config={ROOT / 'configs' / 'testing.py'}",
                    "--workdir={tmp_path / 'run'}"]
        apps.run_train()
        """)
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), timeout=600,
                             preexec_fn=_default_sigint)
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    assert process.returncode == 130, process.stderr[-3000:]
    assert process.stderr.strip().splitlines()[-1] == (
        "error: interrupted by SIGINT (Ctrl-C); rerun the same command to resume from the last "
        "completed epoch.")
    assert not (tmp_path / "run" / "checkpoints").exists()
