"""outlayer._validate: one message format, one exception type, and the checks every path shares."""

from __future__ import annotations

import re

import numpy as np
import pytest

from outlayer import InputError
from outlayer import _validate as v


def test_input_error_is_a_value_error_exported_at_the_top_level() -> None:
    import outlayer

    assert issubclass(InputError, ValueError) and outlayer.InputError is v.InputError


def test_one_message_format_names_the_argument_the_requirement_and_the_value() -> None:
    assert str(v.error("weight", "finite", -1.0, where="2")) == "weight must be finite, got -1.0 at index 2"
    assert str(v.error("reduction", "one of 'none', 'mean', 'sum'", "avg")) == "reduction must be one of 'none', 'mean', 'sum', got 'avg'"
    assert str(v.error("x", "y", 1, hint="do z")) == "x must be y, got 1; do z"


@pytest.mark.parametrize("value", [1.5, True, np.bool_(True), "3", 2.0])
def test_ignore_index_must_be_an_integer(value: object) -> None:
    with pytest.raises(InputError, match="ignore_index must be an integer or None"):
        v.check_ignore_index(value)


def test_ignore_index_accepts_python_and_numpy_integers_and_none() -> None:
    assert v.check_ignore_index(-100) == -100 and v.check_ignore_index(np.int64(3)) == 3 and v.check_ignore_index(None) is None
    with pytest.raises(InputError, match="must be an integer, got None"):
        v.check_ignore_index(None, allow_none=False)


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), True, "0.1", None])
def test_label_smoothing_must_be_a_number_in_the_unit_interval(value: object) -> None:
    with pytest.raises(InputError, match=r"label_smoothing must be a number in \[0, 1\]"):
        v.check_label_smoothing(value)


def test_class_ids_are_checked_before_any_cast_and_named_with_their_index() -> None:
    with pytest.raises(InputError, match=r"target must be class ids in \[0, 3\), got 9223372036854775808 at index \(1, 0\)"):
        v.check_class_ids(np.array([[0], [2**63]], dtype=np.uint64), num_classes=3, ignore_index=None, xp=np)
    with pytest.raises(InputError, match=r"class ids in \[0, 3\) or ignore_index=-100, got -1 at index 2"):
        v.check_class_ids(np.array([0, -100, -1]), num_classes=3, ignore_index=-100, xp=np)
    np.testing.assert_array_equal(v.check_class_ids(np.array([0, -100, 2], dtype=np.int8), num_classes=3, ignore_index=-100, xp=np), [0, -100, 2])


@pytest.mark.parametrize(("weight", "message"), [
    (np.array([1.0, -1.0, 1.0]), r"got -1.0 at index 1"),
    (np.array([1.0, np.nan, 1.0]), r"got nan at index 1"),
    (np.array([1.0, 1.0]), r"of shape \(3,\), one weight per class, got shape \(2,\)"),
    (np.array(["a", "b", "c"]), r"real numbers, got dtype <U1"),
])
def test_class_weights_are_finite_non_negative_and_one_per_class(weight: np.ndarray, message: str) -> None:
    with pytest.raises(InputError, match=message):
        v.check_class_weight(weight, num_classes=3, xp=np, like=np.zeros(1))


def test_probability_targets_take_no_ignore_index_and_no_negative_entries() -> None:
    with pytest.raises(InputError, match="ignore_index must be None with probability targets"):
        v.check_probability_targets(np.full((2, 2), 0.5), ignore_index=-100, xp=np)
    with pytest.raises(InputError, match=r"got -0.5 at index \(0, 1\)"):
        v.check_probability_targets(np.array([[1.5, -0.5]]), ignore_index=None, xp=np)


def test_logits_check_and_the_kernels_flag_give_the_same_message() -> None:
    logits = np.array([[0.0, 1.0], [np.inf, 0.0]])
    with pytest.raises(InputError) as direct:
        v.check_logits(logits, np)
    assert str(direct.value) == str(v.nonfinite_logits_error(logits[1], 1)) == "logits must be finite or -inf, got inf at index (1, 0)"


def test_options_are_checked_together_before_any_array() -> None:
    options = v.check_ce_options(reduction="sum", label_smoothing=0, ignore_index=np.int32(-1), impl="numba")
    assert options == v.CEOptions("sum", 0.0, -1, "numba")
    with pytest.raises(InputError, match="impl must be one of"):
        v.check_ce_options(reduction="sum", label_smoothing=0, ignore_index=None, impl="gpu")


def test_a_masked_array_that_masks_something_is_refused() -> None:
    v.refuse_masked(np.ma.masked_array([1.0, 2.0]), "x")  # masks nothing: fine
    with pytest.raises(InputError, match="x must be a plain array"):
        v.refuse_masked(np.ma.masked_array([1.0, 2.0], mask=[True, False]), "x")


@pytest.mark.parametrize(
    "logits",
    [np.array([["1.0", "2.0"]]), np.array([["2020-01-01", "2020-01-02"]], dtype="datetime64[D]"),
     np.array([[1, 2]], dtype="timedelta64[s]"), np.array([[1.0, 2.0]], dtype=object)],
    ids=["strings", "dates", "durations", "objects"],
)
def test_logits_that_numpy_would_cast_to_numbers_silently_are_refused_naming_their_dtype(logits: np.ndarray) -> None:
    import outlayer

    for call in (lambda: outlayer.cross_entropy(logits, np.array([0])), lambda: outlayer.softmax(logits),
                 lambda: outlayer.mse(logits, np.array([0]))):
        with pytest.raises(InputError, match=re.escape(f"logits must be real numbers, got dtype {logits.dtype}")):
            call()
