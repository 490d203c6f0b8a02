"""What every row's figure shares: the beta axis, and writing a row's files.

Figures are drawn on `matplotlib.figure.Figure` objects, not pyplot, so a
caller's backend and open figures are left alone, and every file is written
aside and renamed (`atomic_files`).
"""

import json
import os
import tempfile

from infodropout_tf import atomic_files


def output_folder(parser, path):
    """`path`, created if missing, once a file could be written in it.

    Checked before a study's minutes of work, so that a folder that cannot
    be written is one `parser.error` line, not a traceback at the end.
    """
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as error:
        parser.error(f"--out {path}: cannot write there ({error.strerror or error}); "
                     "pass a writable folder")
    return path


def log_beta_axis(axis, betas):
    """A log x axis of beta, ticked and labelled at the runs' `betas`."""
    axis.set_xscale("log")
    axis.set_xticks(betas, [f"{beta:g}" for beta in betas])
    axis.minorticks_off()
    axis.set_xlabel("beta")


def write(output, row, summary, figure=None):
    """Writes `output/<row>.json` and, given a figure, `output/<row>.png`."""
    atomic_files.write_json(os.path.join(output, f"{row}.json"), summary)
    if figure is not None:
        atomic_files.write_with(os.path.join(output, f"{row}.png"),
                                lambda temporary: figure.savefig(temporary, dpi=100,
                                                                 format="png"))
    print(json.dumps(summary, indent=1))
