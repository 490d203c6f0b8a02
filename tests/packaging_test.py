"""setup.cfg: the wheel holds the package, its configs and the licence, and
runs the experiments from outside the checkout."""

import configparser
import hashlib
import json
import os
import pathlib
import shutil
import site
import subprocess
import sys
import textwrap
import zipfile

from infodropout_tf.results import sweeps
from infodropout_tf.training import config as config_lib

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
# sha256 of the Apache License 2.0 as the Apache Software Foundation
# publishes it (https://www.apache.org/licenses/LICENSE-2.0.txt), unmodified.
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def _setup_cfg():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    return parser


def _listed(value):
    return [line.strip() for line in value.strip().splitlines() if line.strip()]


def test_setup_cfg_lists_every_package_and_maps_the_configs():
    options = _setup_cfg()["options"]
    source = sorted(".".join(path.parent.relative_to(ROOT).parts)
                    for path in (ROOT / "infodropout_tf").rglob("__init__.py"))
    assert sorted(_listed(options["packages"])) == sorted(
        source + ["infodropout_tf.configs", "infodropout_tf.configs.sweeps"])
    assert _listed(options["package_dir"]) == ["infodropout_tf.configs = configs"]
    assert (CONFIGS / "__init__.py").is_file() and (CONFIGS / "sweeps" / "__init__.py").is_file()


def test_the_licence_file_is_the_apache_licence_the_metadata_names():
    metadata = _setup_cfg()["metadata"]
    assert (metadata["license"], metadata["license_files"]) == ("Apache-2.0", "LICENSE")
    text = (ROOT / "LICENSE").read_bytes()
    assert text.split(b"\n")[1:3] == [b" " * 33 + b"Apache License",
                                      b" " * 27 + b"Version 2.0, January 2004"]
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256


# Run by the venv's python: where the package and its configs come from, and
# every packaged config and sweep as the installed package loads them.
_INSTALLED = textwrap.dedent("""
    import json
    import infodropout_tf
    from infodropout_tf.results import sweeps
    from infodropout_tf.training import config
    print(json.dumps({
        "package": infodropout_tf.__file__,
        "configs": config.packaged_configs_dir(),
        "names": {name: config.from_file(config.resolve(name)).to_json()
                  for name in config.packaged_config_names()},
        "sweeps": {row: [[run.command(), run.load_config().to_json()]
                         for run in sweeps.runs(row, None, "/data")]
                   for row in sweeps.rows()},
    }))
    """)


def _see_running_site_packages(venv):
    """Makes `venv` see this interpreter's site-packages, after its own.

    `venv --system-site-packages` would not do: made from inside a
    virtualenv, it gives the base interpreter's packages, not those of the
    virtualenv running the tests (where keras and TensorFlow are). A .pth
    file in the new venv's site-packages adds them with site.addsitedir, as
    --system-site-packages would (their own .pth files are processed too),
    after the venv's own site-packages.
    """
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        dirs.append(site.getusersitepackages())
    inner = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           check=True, capture_output=True, text=True).stdout.strip()
    (pathlib.Path(inner) / "running_interpreter_site_packages.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dirs) + "\n")


def _installed_wheel(tmp_path):
    """A wheel of the working tree, installed into a fresh virtualenv.

    The wheel is built from a copy of the tree, so that setuptools' build/
    and .egg-info stay out of the checkout (and no stale build/ leaks into
    the wheel), without build isolation (no download). The virtualenv sees
    the site-packages of the interpreter running the tests (TensorFlow is
    not installed again), whether that is a system interpreter or itself a
    virtualenv, but the wheel installed into it comes first on its path;
    pip is the running interpreter's.

    Returns:
        (wheel, venv): the .whl file and the virtualenv's folder.
    """
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(tmp_path / "dist"), str(source)],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("infodropout_tf-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    _see_running_site_packages(venv)
    # --ignore-installed: an editable install in the running interpreter's
    # site-packages is neither uninstalled nor taken as already satisfying the wheel.
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps",
                    "--no-index", "--ignore-installed", "--quiet", str(wheel)],
                   check=True, capture_output=True)
    return wheel, venv


def test_a_wheel_runs_the_experiments_outside_the_checkout(tmp_path):
    data_dir = os.environ.get("TFDS_DATA_DIR")
    assert data_dir and os.path.isdir(os.path.join(data_dir, "mnist")), (
        "Set TFDS_DATA_DIR to a tensorflow-datasets directory with a prepared mnist/3.0.1.")
    wheel, venv = _installed_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
    assert {f"infodropout_tf/configs/{p.relative_to(CONFIGS)}"
            for p in CONFIGS.rglob("*.py")} <= files
    licence = [name for name in files if name.endswith(".dist-info/LICENSE")]
    assert len(licence) == 1
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(licence[0]) == (ROOT / "LICENSE").read_bytes()

    elsewhere = tmp_path / "elsewhere"  # no configs/ here, nor the package
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(TFDS_DATA_DIR=os.path.abspath(data_dir), TF_CPP_MIN_LOG_LEVEL="3")
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", _INSTALLED], cwd=elsewhere,
                               env=env, capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-3000:]
    installed = json.loads(installed.stdout.strip().splitlines()[-1])
    # The venv's own copy, not the checkout the editable install points to.
    site_packages = str(venv / "lib")
    assert installed["package"].startswith(site_packages), installed["package"]
    assert installed["configs"].startswith(site_packages), installed["configs"]
    assert installed["names"] == {name: config_lib.from_file(CONFIGS / f"{name}.py").to_json()
                                  for name in config_lib.packaged_config_names()}
    # infodropout-reproduce's sweeps, their configs and commands (by name).
    assert installed["sweeps"] == {
        row: [[run.command(), run.load_config(str(CONFIGS)).to_json()]
              for run in sweeps.runs(row, str(CONFIGS), "/data")]
        for row in sweeps.rows(str(CONFIGS))}
    assert installed["sweeps"]["vae"][0][0][:2] == ["infodropout-train-vae", "--config=mnist_vae"]

    workdir = tmp_path / "run"
    trained = subprocess.run(
        [str(venv / "bin" / "infodropout-train"), "--config=testing", "--config.num_epochs=1",
         f"--workdir={workdir}"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr[-3000:]
    metrics = json.loads((workdir / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and 0 <= metrics["deterministic_error"] <= 1
    stored = json.loads((workdir / "config.json").read_text())
    assert (stored["experiment"], stored["num_epochs"]) == ("testing", 1)
    assert os.listdir(elsewhere) == []
