"""Ctrl-C and SIGTERM in the package's commands: one line, never a traceback.

The commands are the console scripts (`infodropout-train`,
`infodropout-train-vae`, `infodropout-evaluate`, `infodropout-reproduce`),
`python -m infodropout_tf.<module>` (`python -m infodropout_tf.data`) and
the scripts of a checkout's `train/`. Importing the package takes seconds
(TensorFlow), so `infodropout_tf/__init__.py` calls `install_for_commands`
before anything else: from then on a KeyboardInterrupt that no command
handles ends the process with the line `error: interrupted (Ctrl-C); ...`
instead of a traceback, and the process still dies of SIGINT, so a shell
sees status 130 and stops a script that ran it. A Python program that only
imports the package keeps Python's own behaviour.

Once a command runs, `raise_once` turns the first SIGINT or SIGTERM into
`Interrupted` and ignores the later ones, so that a second signal cannot cut
short the clean stop the first one started (the trainer saving
`checkpoints/interrupted.keras`). A terminal's Ctrl-C reaches every process
of its process group, so a trainer started by `infodropout-reproduce`
receives it both from the terminal and forwarded by its parent.
"""

import os
import signal
import sys

COMMANDS = ("infodropout-train", "infodropout-train-vae", "infodropout-evaluate",
            "infodropout-reproduce")
PACKAGE = "infodropout_tf"
# A checkout's train/ scripts: infodropout_tf/training/interrupts.py -> <checkout>/train.
_TRAIN_SCRIPTS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "train")

# What a command says when Ctrl-C stops it before it could say more.
INTERRUPTED = "interrupted (Ctrl-C); rerun the same command to start it again."


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM asked the command to stop.

    Args:
        signum: The signal's number.
        message: What was stopped and how to resume; by default the
            signal's name.
    """

    def __init__(self, signum, message=None):
        self.signum = signum
        super().__init__(message or f"interrupted by {signal_name(signum)}")

    @property
    def exit_status(self):
        """128 + the signal's number, as a shell reports a process the signal ended."""
        return 128 + self.signum


def signal_name(signum):
    """`"SIGTERM"`, or `"SIGINT (Ctrl-C)"` for the signal a terminal sends."""
    name = signal.Signals(signum).name
    return f"{name} (Ctrl-C)" if signum == signal.SIGINT else name


def _module_after_dash_m():
    """The module of `python -m <module>`, or None."""
    argv = getattr(sys, "orig_argv", [])
    for index, argument in enumerate(argv[1:], start=1):
        if argument == "-m":
            return argv[index + 1] if index + 1 < len(argv) else None
        if argument.startswith("-m") and not argument.startswith("--"):
            return argument[2:]
    return None


def is_command():
    """Whether this process is one of the package's commands, starting.

    Meant to be called while the package is first imported: `python -m`
    is recognised while its module is being looked up (`sys.argv[0]` is
    still `-m`), not when another program imports the package later.
    """
    program = sys.argv[0] if sys.argv else ""
    if program == "-m":
        module = _module_after_dash_m() or ""
        return module == PACKAGE or module.startswith(PACKAGE + ".")
    if not program or program == "-c":
        return False
    if os.path.basename(program) in COMMANDS:
        return True
    return os.path.realpath(os.path.dirname(os.path.abspath(program))) == \
        os.path.realpath(_TRAIN_SCRIPTS)


def install():
    """Prints one line for a KeyboardInterrupt that reaches the top of the program.

    Other exceptions go to the hook that was there before.
    """
    previous = sys.excepthook

    def excepthook(exc_type, value, tb):
        if not issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, value, tb)
            return
        # A second Ctrl-C would interrupt this very line with a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        message = str(value) if isinstance(value, Interrupted) else INTERRUPTED
        print(f"error: {message}", file=sys.stderr, flush=True)

    sys.excepthook = excepthook


def install_for_commands():
    """`install()` if this process is one of the package's commands (`is_command`)."""
    if is_command():
        install()


def handled_signals():
    """SIGTERM, and SIGINT unless this process started with it ignored.

    A shell starts a background job with SIGINT ignored, and Python then
    leaves it ignored; so do the commands.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return (signal.SIGTERM,)
    return (signal.SIGINT, signal.SIGTERM)


def raise_once():
    """Makes the next SIGINT or SIGTERM raise `Interrupted` and ignores those after it."""
    signals = handled_signals()

    def interrupt(signum, frame):
        for each in signals:
            signal.signal(each, signal.SIG_IGN)
        raise Interrupted(signum)

    for signum in signals:
        signal.signal(signum, interrupt)
