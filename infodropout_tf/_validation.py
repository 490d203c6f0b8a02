"""Argument checks shared by the package, with Keras's error messages.

Every check raises

    ValueError: Invalid value received for argument `name`. Expected <what>.
    Received: name=<value>

the style of Keras's own layers (e.g. `keras.layers.GaussianDropout`), and
returns the value in a plain Python or numpy type, so that what a layer
stores and serialises is an `int` or a `float` whatever the caller passed
(`numpy.int64`, `numpy.float32`).

Booleans never pass as numbers: `True` is an `int` to Python, but a seed,
a size or a rate of `True` is always a mistake. Floats must be finite: an
infinite or NaN hyperparameter only shows up later as a NaN loss.
"""

import math
import numbers

import keras
import numpy as np


def error(name, expected, received):
    """The `ValueError` of a bad argument, for checks not written here.

    Args:
        name: The argument's name, as the caller wrote it.
        expected: What was expected, e.g. `"a positive integer"`.
        received: What was received, e.g. `"shape (0, 5)"`.
    """
    return ValueError(
        f"Invalid value received for argument `{name}`. Expected {expected}. "
        f"Received: {received}"
    )


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _as_finite_float(value):
    """`float(value)` for a finite real number that is not a bool, else None."""
    if _is_bool(value) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def _check_float(name, value, is_valid, expected, allow_none):
    if value is None and allow_none:
        return None
    number = _as_finite_float(value)
    if number is not None and is_valid(number):
        return number
    if allow_none:
        expected += " or None"
    raise error(name, expected, f"{name}={value!r}")


def finite_float(name, value, allow_none=False):
    """Returns `value` as a float; it must be a finite real number."""
    return _check_float(name, value, lambda v: True, "a finite float", allow_none)


def positive_float(name, value, allow_none=False):
    """Returns `value` as a float; it must be finite and > 0."""
    return _check_float(
        name, value, lambda v: v > 0, "a positive finite float", allow_none
    )


def non_negative_float(name, value, allow_none=False):
    """Returns `value` as a float; it must be finite and >= 0."""
    return _check_float(
        name, value, lambda v: v >= 0, "a non-negative finite float", allow_none
    )


def float_in(name, value, low, high, include_low=True, include_high=True):
    """Returns `value` as a float; it must lie in the interval low..high.

    Args:
        name: The argument's name.
        value: The value to check.
        low, high: Finite bounds of the interval.
        include_low, include_high: Whether the bounds belong to it.
    """

    def is_valid(v):
        above = v >= low if include_low else v > low
        below = v <= high if include_high else v < high
        return above and below

    interval = (
        f"{'[' if include_low else '('}{low:g}, {high:g}{']' if include_high else ')'}"
    )
    return _check_float(name, value, is_valid, f"a float in {interval}", False)


def probability(name, value):
    """Returns `value` as a float; it must lie in [0, 1]."""
    return float_in(name, value, 0.0, 1.0)


def _check_int(name, value, is_valid, expected, allow_none):
    if value is None and allow_none:
        return None
    if isinstance(value, numbers.Integral) and not _is_bool(value) and is_valid(value):
        return int(value)
    if allow_none:
        expected += " or None"
    raise error(name, expected, f"{name}={value!r}")


def positive_int(name, value, allow_none=False):
    """Returns `value` as an int; it must be an integer > 0."""
    return _check_int(name, value, lambda v: v > 0, "a positive integer", allow_none)


def non_negative_int(name, value, allow_none=False):
    """Returns `value` as an int; it must be an integer >= 0."""
    return _check_int(
        name, value, lambda v: v >= 0, "a non-negative integer", allow_none
    )


def int_in(name, value, low, high=None):
    """Returns `value` as an int; it must be an integer in [low, high]."""
    expected = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
    return _check_int(name, value, lambda v: v >= low and (high is None or v <= high),
                      expected, allow_none=False)


def seed(name, value):
    """Returns a seed for `keras.random.SeedGenerator`: None or an integer.

    Any integer is accepted, as `SeedGenerator` accepts it; seeds for
    `numpy.random.default_rng`, which must be >= 0, are checked with
    `non_negative_int(name, value, allow_none=True)`.
    """
    return _check_int(name, value, lambda v: True, "an integer", allow_none=True)


def names(name, value, allow_none=True):
    """Returns a list of the non-empty strings in `value`, a non-empty
    sequence (not a string, which would be read one letter at a time)."""
    if value is None and allow_none:
        return None
    if (isinstance(value, str) or not isinstance(value, (list, tuple)) or not value
            or not all(isinstance(v, str) and v for v in value)):
        expected = "a non-empty list of names" + (" or None" if allow_none else "")
        raise error(name, expected, f"{name}={value!r}")
    return list(value)


def one_of(name, value, choices):
    """Returns `value` if it equals one of `choices` (a bool never equals 1)."""
    choices = list(choices)
    for choice in choices:
        if _is_bool(value) != _is_bool(choice):
            continue
        try:
            if value == choice:
                return value
        except (TypeError, ValueError):  # e.g. arrays, whose == is elementwise
            continue
    raise error(name, f"one of {choices}", f"{name}={value!r}")


def finite_array(name, value, ndim=None, min_rows=1):
    """Returns `value` as a float64 numpy array of finite values.

    Args:
        name: The argument's name.
        value: An array-like of real numbers (not booleans).
        ndim: Integer, the required number of dimensions, or None for any
            number >= 1 (an array of examples along the first axis).
        min_rows: Integer, the smallest length of the first axis. The array
            must also hold at least one value.

    Returns:
        A float64 `numpy.ndarray`.
    """
    kind = "array" if ndim is None else f"{ndim}-D array"
    if min_rows <= 1:
        expected = f"a non-empty {kind} of finite values"
    else:
        article = "an" if ndim is None else "a"
        expected = f"{article} {kind} of finite values with at least {min_rows} rows"
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):  # e.g. ragged nested lists
        raise error(name, expected, f"a value of type {type(value).__name__}") from None
    if array.dtype.kind not in "iuf":
        raise error(name, expected, f"an array of dtype {array.dtype}")
    wrong_rank = array.ndim < 1 or (ndim is not None and array.ndim != ndim)
    if wrong_rank or array.size == 0 or array.shape[0] < min_rows:
        raise error(name, expected, f"shape {array.shape}")
    array = array.astype(np.float64)
    non_finite = int(np.sum(~np.isfinite(array)))
    if non_finite:
        raise error(
            name, expected, f"shape {array.shape} with {non_finite} non-finite values"
        )
    return array


def same_rows(name, array, reference_name, reference_rows):
    """Checks that `array` has `reference_rows` rows, as `reference_name` has."""
    if len(array) != reference_rows:
        raise error(
            name,
            f"{reference_rows} rows, as many as `{reference_name}`",
            f"shape {np.shape(array)}",
        )
    return array


def floating_tensor(layer, name, tensor):
    """Checks that a layer's input is floating point.

    Noise multiplied into integers would be truncated away (and booleans
    cannot carry it), so noise layers reject them, as `keras.layers.Dropout`
    does, instead of returning silently wrong values.

    Args:
        layer: The layer receiving the tensor, named in the message.
        name: What the tensor is to the layer, e.g. `"features"`.
        tensor: A tensor or `KerasTensor`.
    """
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    if not keras.backend.is_float_dtype(dtype):
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r} expects floating-point "
            f"{name}. Received: {name} of dtype {dtype}. Cast the inputs to "
            'float first, e.g. `keras.ops.cast(x, "float32")`.'
        )
    return tensor
