"""`infodropout-reproduce`: runs the sweeps of docs/results.md and reports them.

    infodropout-reproduce run vae --root /tmp/results
    infodropout-reproduce report vae --root /tmp/results [--output docs/results]

`run ROW` trains every run of the sweep `configs/sweeps/<ROW>.py` with the
package's command-line trainer (`infodropout-train` or
`infodropout-train-vae`, as a subprocess; each command is printed before it
starts), one after the other, each in the workdir `ROOT/<run name>` with
its output in `ROOT/<run name>.log`. A run whose workdir already holds
`metrics.json` is skipped, and an interrupted one resumes from its last
completed epoch (the trainer's own resume). The first run that fails stops
the sweep with one line naming its log. `report ROW` reads the finished
runs' workdirs and writes `<ROW>.json` and `<ROW>.png` into `--output`;
`report vae` also shows the runs still training or interrupted, at the
last epoch they logged (the larger VAEs take many hours).
Rows: the files of `configs/sweeps/` (beta_vae, cluttered, disentangle,
flow, mlp_width, occlusion, plane, surrogate, vae, vae_ablation, vib), or
`all`. `--runs PATTERN` trains only the runs whose names match the
shell-style pattern (rows with none are left out), e.g. `run vae --runs
'vae_k1_*'` for the smallest VAEs first.

The sweeps and the config files they name are those installed with the
package (the repository's `configs/`, as `infodropout_tf.configs`; in an
editable install the checkout's own), so the command runs from any
folder; `--configs DIR` reads another folder laid out like `configs/`
instead. MNIST is read from
$TFDS_DATA_DIR; a run on a generated dataset (Cluttered or Occluded MNIST) reads and
first generates it in `--data_dir`, a writable tensorflow-datasets folder
holding a prepared `mnist`.

A problem prints one line, `error: ...`: exit status 2 for the command
line and the sweep definitions (an unknown row, a misspelt override;
nothing has been run), 1 for a failed run, missing runs, a run's file
that is damaged or holds values out of range, or an unwritable output.

SIGTERM or Ctrl-C (SIGINT) stops the sweep cleanly: the signal is passed
on to the running trainer, which saves `checkpoints/interrupted.keras`,
keeps its last completed epoch and releases its workdir; the command
waits for it to exit, then prints one line naming the run and exits with
143 or 130. Rerunning the same command resumes that run. A second signal
while the trainer is still saving stops it at once (SIGKILL); the run
then resumes from its last completed epoch all the same.
"""

import argparse
import fnmatch
import os
import shlex
import signal
import subprocess
import sys
import threading

from infodropout_tf.results import sweeps
from infodropout_tf.training import interrupts
from infodropout_tf.workdir_files import WorkdirError


class ReproduceError(Exception):
    """A run failed or the runs to report are missing; the message says which."""


class _Trainers:
    """Runs trainers one at a time, passing SIGINT and SIGTERM on to the running one.

    The trainer stays in this command's process group, so that a signal to
    the whole group (a terminal's Ctrl-C, `kill -- -PGID`, a batch
    scheduler) reaches it directly too; it stops on the first signal and
    ignores the repeat (`interrupts.raise_once`). With no trainer running,
    a signal raises `interrupts.Interrupted` at once.

    Use as a context manager, which installs the signal handlers and puts
    back the previous ones.
    """

    def __init__(self):
        self.received = None  # the first signal, once one has come
        self._child = None
        self._starting = False
        self._previous = {}

    def __enter__(self):
        # Only the main thread may set signal handlers; elsewhere (a caller's
        # thread) the trainer gets only the signals sent to the whole group.
        if threading.current_thread() is threading.main_thread():
            for signum in interrupts.handled_signals():
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum, frame):
        first = self.received is None
        if first:
            self.received = signum
        if self._child is not None:
            # A second signal while the trainer is still stopping: stop it now.
            self._child.send_signal(signum if first else signal.SIGKILL)
        elif not self._starting:  # between runs: nothing to wait for
            raise interrupts.Interrupted(
                signum, f"interrupted by {interrupts.signal_name(signum)} before a run started; "
                "rerun the same command to carry on.")
        # While the trainer starts, `run` passes the signal on once it can.

    def run(self, command, **options):
        """`subprocess.Popen(command, **options)`, waited for; returns its exit status.

        A signal received while it ran was passed on to it (`received` says
        which).
        """
        self._starting = True
        try:
            self._child = subprocess.Popen(command, **options)
        finally:
            self._starting = False
        try:
            if self.received is not None:  # came while the trainer was starting
                self._child.send_signal(self.received)
            return self._child.wait()
        finally:
            self._child = None


def _exit_status(status):
    return (f"killed by {signal.Signals(-status).name}" if status < 0
            else f"exit status {status}")


def _prepare_generated_data(configs):
    """Generates the datasets the runs read that are made, not downloaded."""
    # The function, not the module of the same name, which the package's
    # `from infodropout_tf.data.prepare import prepare` shadows.
    from infodropout_tf.data import pipelines
    from infodropout_tf.data import prepare

    done = set()
    for config in configs:
        options = config.dataset.options.to_dict()
        if not options:  # only generated datasets have generation options
            continue
        name, data_dir = config.dataset.name, config.dataset.data_dir or None
        try:
            data_dir = pipelines.resolve_data_dir(data_dir)
        except FileNotFoundError as error:
            raise ReproduceError(error) from error
        key = (name, data_dir, tuple(sorted(options.items())))
        if key in done:
            continue
        done.add(key)
        try:
            if not pipelines.builder(name, data_dir, **options).is_prepared():
                print(f"preparing {name} in {data_dir}", flush=True)
                prepare(name, data_dir, **options)
        except (FileNotFoundError, ValueError) as error:
            raise ReproduceError(f"cannot prepare {name} in {data_dir}: {error}") from error


def _is_finished(root, run):
    return os.path.exists(os.path.join(root, run.name, "metrics.json"))


def run(row_runs, root, configs_dir=None):
    """Trains `row_runs` one after the other, each in `root/<name>`.

    Every run's config is built first, so a misspelt override fails before
    any training starts.

    Args:
        row_runs: List of `sweeps.Run`.
        root: Folder of the runs' workdirs (created if missing).
        configs_dir: Folder of the config files the runs name; None for the
            packaged configs.

    Raises:
        sweeps.SweepError: a run's config cannot be built.
        ReproduceError: a run failed; its log is named.
        interrupts.Interrupted: SIGINT or SIGTERM stopped the sweep, after
            the running trainer (which received it too) exited; the message
            names the run and how to resume.
    """
    configs = [run.load_config(configs_dir) for run in row_runs]
    with _Trainers() as trainers:
        _prepare_generated_data([config for run, config in zip(row_runs, configs)
                                 if not _is_finished(root, run)])
        os.makedirs(root, exist_ok=True)
        for run in row_runs:
            _train(run, root, configs_dir, trainers)


def _train(run, root, configs_dir, trainers):
    """Trains one run of `run()` in `root/<name>`, unless it has finished."""
    workdir = os.path.join(root, run.name)
    if _is_finished(root, run):
        print(f"{run.name}: done already, skipped", flush=True)
        return
    command = run.command(configs_dir) + [f"--workdir={workdir}"]
    print("$", shlex.join(command), flush=True)
    log_path = workdir + ".log"
    with open(log_path, "a") as log:
        try:
            status = trainers.run(command, stdout=log, stderr=subprocess.STDOUT)
        except FileNotFoundError as error:
            raise ReproduceError(f"{run.trainer} is not on PATH; install the package "
                                 "(pip install -e .) in this environment.") from error
    if trainers.received is not None:
        name = interrupts.signal_name(trainers.received)
        if status == 0:
            message = (f"interrupted by {name} as run {run.name} finished; rerun the same "
                       "command to train the runs after it.")
        else:
            message = (f"interrupted by {name}: run {run.name} stopped "
                       f"({_exit_status(status)}); its output is in {log_path}. Rerun the "
                       "same command to resume it from its last completed epoch.")
        raise interrupts.Interrupted(trainers.received, message)
    if status != 0:
        raise ReproduceError(
            f"run {run.name} failed ({_exit_status(status)}); its output is in {log_path}. "
            "Rerunning resumes it from its last completed epoch.")


def finished(row, row_runs, root):
    """[(run, workdir)] of the runs whose workdir in `root` holds metrics.json.

    Raises:
        ReproduceError: none has finished.
    """
    done = [(run, os.path.join(root, run.name)) for run in row_runs if _is_finished(root, run)]
    if not done:
        raise ReproduceError(f"no finished run of row {row!r} in {root}; "
                             f"run `infodropout-reproduce run {row} --root {root}` first.")
    return done


def unfinished(row_runs, root):
    """[(run, workdir)] of the runs that have a training log in `root` but
    no metrics.json: still training, or interrupted."""
    return [(run, os.path.join(root, run.name)) for run in row_runs
            if not _is_finished(root, run)
            and os.path.exists(os.path.join(root, run.name, "training_log.csv"))]


def report(row, row_runs, root, output):
    """Writes `output/<row>.json` and `.png` from the row's finished runs
    (and, for the rows that show them, its unfinished ones)."""
    from infodropout_tf.results import reports

    if row not in reports.REPORTS:
        raise ReproduceError(f"row {row!r} has no report; the reports are: "
                             f"{', '.join(reports.REPORTS)}.")
    done = finished(row, row_runs, root)
    if row in reports.SHOW_UNFINISHED_RUNS:
        reports.REPORTS[row](done, output, unfinished=unfinished(row_runs, root))
    else:
        reports.REPORTS[row](done, output)


def select(row_runs, pattern):
    """{row: runs} with only the runs whose names match the shell-style
    `pattern`, and only the rows that keep one.

    Raises:
        sweeps.SweepError: no run of any row matches; the names are listed.
    """
    chosen = {row: [run for run in runs if fnmatch.fnmatchcase(run.name, pattern)]
              for row, runs in row_runs.items()}
    chosen = {row: runs for row, runs in chosen.items() if runs}
    if not chosen:
        names = "; ".join(f"{row}: {', '.join(run.name for run in runs)}"
                          for row, runs in row_runs.items())
        raise sweeps.SweepError(f"--runs {pattern!r} matches none of the runs ({names}).")
    return chosen


def _parser():
    parser = argparse.ArgumentParser(
        prog="infodropout-reproduce",
        description="Runs the sweeps of docs/results.md (run) and writes their numbers and "
                    "figures (report).")
    parser.add_argument("action", choices=("run", "report"))
    parser.add_argument("rows", nargs="+", metavar="ROW",
                        help="a sweep of configs/sweeps/ (beta_vae, cluttered, disentangle, "
                             "flow, mlp_width, occlusion, plane, surrogate, vae, vae_ablation, "
                             "vib), or all")
    parser.add_argument("--runs", default="*", metavar="PATTERN",
                        help="run: only the runs whose names match this shell-style pattern; "
                             "rows with none are left out (default: all the rows' runs)")
    parser.add_argument("--root", required=True, help="folder of the runs' workdirs")
    parser.add_argument("--configs", default=None,
                        help="folder of the config files and of sweeps/ (default: the configs "
                             "installed with the package, the repository's configs/)")
    parser.add_argument("--data_dir", default=os.environ.get("TFDS_DATA_DIR", ""),
                        help="writable tensorflow-datasets folder with a prepared mnist, where "
                             "generated datasets (Cluttered and Occluded MNIST) are made (default: "
                             "$TFDS_DATA_DIR)")
    parser.add_argument("--output", default=os.path.join("docs", "results"),
                        help="report: folder of <ROW>.json and <ROW>.png "
                             "(default: docs/results)")
    return parser


def _fail(message, status):
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(status)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        rows = sweeps.rows(args.configs) if "all" in args.rows else args.rows
        # Every row's runs, and for `run` their configs, are checked before
        # anything runs: a typo fails now, not hours into a sweep.
        row_runs = {row: sweeps.runs(row, args.configs, args.data_dir) for row in rows}
        if args.runs != "*":
            if args.action == "report":
                raise sweeps.SweepError("--runs selects runs to train; a report always reads "
                                        "every finished run of its row, so drop --runs.")
            row_runs = select(row_runs, args.runs)
            rows = list(row_runs)
        if args.action == "run":
            for runs_of_row in row_runs.values():
                for each in runs_of_row:
                    each.load_config(args.configs)
        for row in rows:
            if args.action == "run":
                run(row_runs[row], args.root, args.configs)
            else:
                report(row, row_runs[row], args.root, args.output)
    except sweeps.SweepError as error:
        _fail(error, 2)
    # WorkdirError and OSError: a run's file damaged or edited by hand, a full disk.
    except (ReproduceError, WorkdirError, OSError) as error:
        _fail(error, 1)
    except interrupts.Interrupted as interrupted:
        _fail(interrupted, interrupted.exit_status)
    except KeyboardInterrupt:
        _fail(interrupts.INTERRUPTED, 130)


if __name__ == "__main__":
    main()
