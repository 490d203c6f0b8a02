"""The shared argument checks: what passes, what is converted, the messages."""

import re

import keras
import numpy as np
import pytest

from infodropout_tf import _validation

INF, NAN = float("inf"), float("nan")


def _message(name, expected, received):
    return re.escape(
        f"Invalid value received for argument `{name}`. Expected {expected}. "
        f"Received: {received}"
    )


@pytest.mark.parametrize(
    "check,value,expected",
    [
        (_validation.positive_int, 3, 3),
        (_validation.positive_int, np.int64(3), 3),
        (_validation.non_negative_int, 0, 0),
        (_validation.positive_float, 2, 2.0),
        (_validation.positive_float, np.float32(0.5), 0.5),
        (_validation.non_negative_float, 0, 0.0),
        (_validation.finite_float, -1e300, -1e300),
        (_validation.probability, 1, 1.0),
        (_validation.seed, -3, -3),
        (_validation.seed, None, None),
    ],
)
def test_valid_numbers_come_back_as_plain_python_numbers(check, value, expected):
    result = check("x", value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "check,value,expected",
    [
        (_validation.positive_int, 0, "a positive integer"),
        (_validation.positive_int, True, "a positive integer"),
        (_validation.positive_int, np.bool_(True), "a positive integer"),
        (_validation.positive_int, 2.0, "a positive integer"),
        (_validation.positive_int, "2", "a positive integer"),
        (_validation.positive_int, None, "a positive integer"),
        (_validation.non_negative_int, -1, "a non-negative integer"),
        (_validation.non_negative_int, False, "a non-negative integer"),
        (_validation.positive_float, 0.0, "a positive finite float"),
        (_validation.positive_float, INF, "a positive finite float"),
        (_validation.positive_float, NAN, "a positive finite float"),
        (_validation.positive_float, True, "a positive finite float"),
        (_validation.positive_float, 10**400, "a positive finite float"),
        (_validation.positive_float, "1.0", "a positive finite float"),
        (_validation.non_negative_float, -0.1, "a non-negative finite float"),
        (_validation.non_negative_float, -INF, "a non-negative finite float"),
        (_validation.finite_float, NAN, "a finite float"),
        (_validation.finite_float, False, "a finite float"),
        (_validation.probability, 1.5, "a float in [0, 1]"),
        (_validation.probability, NAN, "a float in [0, 1]"),
        (_validation.seed, True, "an integer or None"),
        (_validation.seed, 1.0, "an integer or None"),
    ],
)
def test_invalid_numbers_raise_the_keras_message(check, value, expected):
    with pytest.raises(ValueError, match="^" + _message("x", expected, f"x={value!r}") + "$"):
        check("x", value)


def test_none_passes_only_when_allowed_and_is_named_in_the_message():
    assert _validation.positive_int("n", None, allow_none=True) is None
    assert _validation.positive_float("scale", None, allow_none=True) is None
    with pytest.raises(ValueError, match=_message("n", "a positive integer or None", "n=0")):
        _validation.positive_int("n", 0, allow_none=True)


@pytest.mark.parametrize(
    "value,include_low,include_high,valid",
    [(0.0, True, False, True), (1.0, True, False, False),
     (0.0, False, True, False), (1.0, False, True, True)],
)
def test_float_in_honours_open_and_closed_bounds(value, include_low, include_high, valid):
    interval = f"{'[' if include_low else '('}0, 1{']' if include_high else ')'}"
    call = lambda: _validation.float_in(  # noqa: E731
        "rate", value, 0.0, 1.0, include_low=include_low, include_high=include_high)
    if valid:
        assert call() == value
    else:
        with pytest.raises(ValueError, match=_message("rate", f"a float in {interval}",
                                                      f"rate={value!r}")):
            call()


def test_one_of_accepts_members_only_and_never_takes_a_bool_for_an_int():
    assert _validation.one_of("noise", "binary", ["binary", "none"]) == "binary"
    for value in ("dropconnect", True, ["binary"]):
        with pytest.raises(ValueError, match=_message("noise", "one of ['binary', 'none']",
                                                      f"noise={value!r}")):
            _validation.one_of("noise", value, ["binary", "none"])
    with pytest.raises(ValueError, match=r"`k`.*Received: k=True"):
        _validation.one_of("k", True, [1, 2])


def test_finite_array_returns_float64_and_names_the_argument():
    array = _validation.finite_array("features", [[1, 2], [3, 4]], ndim=2)
    assert array.dtype == np.float64
    np.testing.assert_array_equal(array, [[1.0, 2.0], [3.0, 4.0]])
    # The brief's message, word for word.
    with pytest.raises(ValueError, match="^" + re.escape(
            "Invalid value received for argument `features`. Expected a non-empty "
            "2-D array of finite values. Received: shape (0, 5)") + "$"):
        _validation.finite_array("features", np.ones((0, 5)), ndim=2)


@pytest.mark.parametrize(
    "value,kwargs,received",
    [
        (np.ones((3, 0)), {}, "shape (3, 0)"),
        (np.float64(1.0), {}, "shape ()"),
        (np.ones(3), {"ndim": 2}, "shape (3,)"),
        (np.ones((1, 2)), {"min_rows": 2}, "shape (1, 2)"),
        (np.array([[1.0, NAN], [INF, 0.0]]), {}, "shape (2, 2) with 2 non-finite values"),
        (np.array([True, False]), {}, "an array of dtype bool"),
        (np.array([1 + 2j]), {}, "an array of dtype complex128"),
        (["a", "b"], {}, "an array of dtype <U1"),
        ([[1.0, 2.0], [3.0]], {}, "a value of type list"),
    ],
)
def test_finite_array_rejects_empty_non_finite_and_non_numeric_values(value, kwargs, received):
    with pytest.raises(ValueError, match=r"`samples`.*Received: " + re.escape(received) + "$"):
        _validation.finite_array("samples", value, **kwargs)


def test_finite_array_states_the_minimum_number_of_rows():
    with pytest.raises(ValueError, match=re.escape(
            "Expected an array of finite values with at least 2 rows. Received: shape (1,)")):
        _validation.finite_array("x", [1.0], min_rows=2)


def test_same_rows_names_both_arguments():
    labels = np.zeros(3)
    assert _validation.same_rows("labels", labels, "features", 3) is labels
    with pytest.raises(ValueError, match=_message(
            "labels", "4 rows, as many as `features`", "shape (3,)")):
        _validation.same_rows("labels", labels, "features", 4)


def test_error_builds_the_same_message_for_custom_checks():
    assert str(_validation.error("dataset", "at least one example", "an empty dataset")) == (
        "Invalid value received for argument `dataset`. Expected at least one example. "
        "Received: an empty dataset")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_floating_tensor_accepts_float_dtypes(dtype):
    tensor = keras.ops.ones((2,), dtype=dtype)
    assert _validation.floating_tensor(keras.layers.Identity(), "features", tensor) is tensor


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_floating_tensor_names_the_layer_and_the_dtype(dtype):
    layer = keras.layers.Identity(name="noise")
    with pytest.raises(ValueError, match=re.escape(
            f"Identity layer 'noise' expects floating-point features. Received: features "
            f"of dtype {dtype}. Cast the inputs to float first")):
        _validation.floating_tensor(layer, "features", keras.KerasTensor((2,), dtype=dtype))


def test_names_returns_a_list_and_refuses_strings_and_empty_sequences():
    assert _validation.names("layers", ("a", "b")) == ["a", "b"]
    assert _validation.names("layers", None) is None
    for bad in ("ab", [], ["a", ""], ["a", 3], {"a": 1}):
        with pytest.raises(ValueError, match=re.escape(
                "argument `layers`. Expected a non-empty list of names or None. "
                f"Received: layers={bad!r}")):
            _validation.names("layers", bad)
    with pytest.raises(ValueError, match="Expected a non-empty list of names. Received"):
        _validation.names("layers", None, allow_none=False)
