"""Command line: `python -m infodropout_tf.data prepare NAME ...`.

Examples:

    # MNIST from the four IDX .gz files downloaded by hand into ~/archives
    python -m infodropout_tf.data prepare mnist --from ~/archives --data_dir ~/tensorflow_datasets
    # CIFAR-10 from cifar-10-python.tar.gz (its MD5 is checked first)
    python -m infodropout_tf.data prepare cifar10 --from ~/archives --data_dir ~/tensorflow_datasets
    # ... from a cifar-10-python.tar.gz you built yourself, e.g. test data
    python -m infodropout_tf.data prepare cifar10 --from ~/fake --data_dir /tmp/tfds --skip_checksum
    # Cluttered MNIST (paper: 96x96, 21 distractors) from the prepared MNIST
    python -m infodropout_tf.data prepare cluttered_mnist --data_dir ~/tensorflow_datasets
    # Occluded MNIST (a digit behind a half-size digit) from the prepared MNIST
    python -m infodropout_tf.data prepare occluded_mnist --data_dir ~/tensorflow_datasets

Every error is one line on stderr, `error: ...`, naming the problem and the
fix: exit status 2 for a bad argument, a bad or missing archive or missing
data (nothing is written), 1 for an error of the system, such as a full
disk (nothing is left half-written).
"""

import argparse
import sys

from infodropout_tf.data import archives
from infodropout_tf.data import cluttered_mnist
from infodropout_tf.data.prepare import PREPARABLE
from infodropout_tf.data.prepare import prepare


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose usage errors are one line, as every other error."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def main(argv=None):
    parser = _Parser(
        prog="python -m infodropout_tf.data",
        description="Prepare datasets offline in tensorflow-datasets format.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    preparation = commands.add_parser(
        "prepare",
        help="prepare a dataset",
        description=(
            "Prepare a dataset without downloading. mnist needs --from with "
            + ", ".join(f for split in archives.MNIST_FILES.values() for f in split[:2])
            + f" (from {archives.MNIST_URL}); cifar10 needs --from with "
            f"{archives.CIFAR10_ARCHIVE} ({archives.CIFAR10_URL}); cluttered_mnist, "
            "occluded_mnist and occluded_cifar10 are generated from the prepared mnist "
            "(and cifar10)."
        ),
    )
    preparation.add_argument("name", choices=PREPARABLE)
    preparation.add_argument("--from", dest="source_dir", help="folder with the archives")
    preparation.add_argument("--data_dir", required=True, help="tensorflow-datasets directory")
    preparation.add_argument(
        "--skip_checksum", action="store_true",
        help=(f"cifar10: accept an archive whose MD5 is not the official "
              f"{archives.CIFAR10_MD5}, for one you built yourself such as test data "
              "(its pickles are still read by an unpickler that cannot run code)"),
    )
    # The bounds are the configs' own, checked there before anything is
    # generated; the help states them.
    preparation.add_argument(
        "--image_size", type=int,
        help=(f"cluttered_mnist canvas side, {cluttered_mnist.DIGIT_SIZE} to "
              f"{cluttered_mnist.MAX_IMAGE_SIZE} (96)"))
    preparation.add_argument(
        "--num_distractors", type=int,
        help=f"cluttered_mnist distractors, 0 to {cluttered_mnist.MAX_DISTRACTORS} (21)")
    preparation.add_argument(
        "--num_train", type=int,
        help="cluttered_mnist / occluded_mnist training examples, 1 to 60000 "
             "(50000 / 60000)")
    preparation.add_argument(
        "--num_test", type=int,
        help="cluttered_mnist / occluded_mnist test examples, 1 to 10000 (10000)")
    preparation.add_argument(
        "--generation_seed", type=int,
        help=("seed of cluttered_mnist / occluded_cifar10 / occluded_mnist, 0 to "
              f"{cluttered_mnist.MAX_GENERATION_SEED} (0)"))
    args = parser.parse_args(argv)

    options = {key: value for key, value in vars(args).items()
               if key in ("image_size", "num_distractors", "num_train", "num_test", "generation_seed")
               and value is not None}
    try:
        path = prepare(args.name, args.data_dir, source_dir=args.source_dir,
                       verify_checksum=not args.skip_checksum, **options)
    except (ValueError, TypeError, FileNotFoundError, NotADirectoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        # E.g. a full disk or an unwritable data_dir: prepare() has removed
        # what it created, and the message names the file.
        print(f"error: preparing {args.name} failed: {error}", file=sys.stderr)
        return 1
    print(f"Prepared {args.name} in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
