"""Labels: ``one_hot`` against PyTorch and scikit-learn, ``LabelCoder`` against scikit-learn's LabelEncoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.preprocessing import LabelBinarizer, LabelEncoder

import outlayer
from outlayer import LabelCoder, NotFittedError

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None)


# ----------------------------------------------------------------------------- one_hot: oracles


@pytest.mark.parametrize("num_classes", [None, 6])
def test_one_hot_equals_torch_one_hot(num_classes: int | None) -> None:
    labels = np.array([[0, 3, 1], [4, 4, 2]])
    expected = F.one_hot(torch.from_numpy(labels), -1 if num_classes is None else num_classes).numpy()
    got = outlayer.one_hot(labels, num_classes)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_one_hot_equals_sklearn_label_binarizer_for_three_or_more_classes() -> None:
    # LabelBinarizer gives a single column for two classes; with three or more the two agree
    labels = np.array([2, 0, 1, 1, 3, 0])
    expected = LabelBinarizer().fit(np.arange(4)).transform(labels)
    np.testing.assert_array_equal(outlayer.one_hot(labels, 4), expected)


@PROPERTY_SETTINGS
@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=st.integers(0, 9)))
def test_one_hot_rows_sum_to_one_and_argmax_recovers_the_labels(labels: np.ndarray) -> None:
    hot = outlayer.one_hot(labels, 10)
    assert hot.shape == (*labels.shape, 10)
    np.testing.assert_array_equal(hot.sum(axis=-1), 1.0)
    np.testing.assert_array_equal(hot.argmax(axis=-1), labels)
    np.testing.assert_array_equal(hot, F.one_hot(torch.from_numpy(labels), 10).numpy())


# ----------------------------------------------------------------------------- one_hot: options


def test_one_hot_infers_num_classes_as_max_label_plus_one() -> None:
    assert outlayer.one_hot(np.array([0, 4, 2])).shape == (3, 5)


def test_one_hot_default_dtype_is_float64_for_numpy_and_dtype_is_respected() -> None:
    labels = np.array([0, 2, 1])
    assert outlayer.one_hot(labels, 3).dtype == np.float64
    assert outlayer.one_hot(labels, 3, dtype=np.float32).dtype == np.float32
    as_ints = outlayer.one_hot(labels, 3, dtype=np.int8)
    assert as_ints.dtype == np.int8
    np.testing.assert_array_equal(as_ints, np.eye(3, dtype=np.int8)[labels])


def test_one_hot_accepts_lists_and_scalars() -> None:
    np.testing.assert_array_equal(outlayer.one_hot([1, 0], 2), [[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(outlayer.one_hot(2, 4), [0.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize("axis", [0, 1, -2, -1])
def test_one_hot_axis_places_the_class_axis(axis: int) -> None:
    labels = np.array([[0, 3, 1], [4, 4, 2]])
    last = outlayer.one_hot(labels, 5)
    got = outlayer.one_hot(labels, 5, axis=axis)
    np.testing.assert_array_equal(got, np.moveaxis(last, -1, axis))


def test_one_hot_accepts_floats_holding_whole_numbers() -> None:
    np.testing.assert_array_equal(outlayer.one_hot(np.array([0.0, 2.0, 1.0]), 3), outlayer.one_hot(np.array([0, 2, 1]), 3))


def test_one_hot_of_empty_labels_with_num_classes_is_empty() -> None:
    assert outlayer.one_hot(np.zeros(0, dtype=np.int64), 4).shape == (0, 4)


def test_one_hot_out_of_range_zeros_gives_all_zero_rows_like_jax() -> None:
    labels = np.array([[0, 7], [-1, 2], [3, -5]])
    got = outlayer.one_hot(labels, 4, out_of_range="zeros")
    jax_definition = (labels[..., None] == np.arange(4)).astype(np.float64)  # jax.nn.one_hot's rule
    np.testing.assert_array_equal(got, jax_definition)
    np.testing.assert_array_equal(got.sum(-1), [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])


# ----------------------------------------------------------------------------- one_hot: bad input


def test_one_hot_out_of_range_label_names_the_value_and_its_index() -> None:
    labels = np.array([[0, 1], [7, 2], [9, 3]])
    with pytest.raises(ValueError, match=r"label 7 at index \(1, 0\) is out of range for num_classes=5"):
        outlayer.one_hot(labels, 5)


def test_one_hot_negative_label_names_the_value_and_its_index() -> None:
    with pytest.raises(ValueError, match=r"-1\b.*index \(?2\b"):
        outlayer.one_hot(np.array([0, 1, -1, 2]), 3)


@pytest.mark.parametrize(
    ("labels", "bad"),
    [([0.0, 1.5, 2.0], "1.5"), ([0.0, np.nan], "nan"), ([True, False], "bool")],
    ids=["fraction", "nan", "bool"],
)
def test_one_hot_rejects_non_integer_labels_naming_them(labels: list, bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        outlayer.one_hot(np.array(labels), 3)


def test_one_hot_cannot_infer_num_classes_from_empty_labels() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        outlayer.one_hot(np.zeros(0, dtype=np.int64))


@pytest.mark.parametrize("num_classes", [0, -3, 2.5])
def test_one_hot_rejects_a_bad_num_classes_naming_it(num_classes: object) -> None:
    with pytest.raises(ValueError, match=f"num_classes.*{num_classes}"):
        outlayer.one_hot(np.array([0, 1]), num_classes)


def test_one_hot_rejects_an_unknown_out_of_range_policy() -> None:
    with pytest.raises(ValueError, match="clip"):
        outlayer.one_hot(np.array([0, 1]), 2, out_of_range="clip")


def test_one_hot_rejects_an_axis_out_of_range() -> None:
    with pytest.raises(ValueError, match="axis"):
        outlayer.one_hot(np.array([0, 1]), 2, axis=2)


# ----------------------------------------------------------------------------- LabelCoder


ANIMALS = ["dog", "cat", "rabbit", "cat", "dog", "dog"]


def test_label_coder_fit_returns_self_and_learns_sorted_classes_like_sklearn() -> None:
    coder = LabelCoder()
    assert coder.fit(ANIMALS) is coder
    reference = LabelEncoder().fit(ANIMALS)
    np.testing.assert_array_equal(coder.classes_, reference.classes_)
    assert coder.n_classes_ == 3
    np.testing.assert_array_equal(coder.encode(ANIMALS), reference.transform(ANIMALS))
    np.testing.assert_array_equal(coder.decode(np.array([2, 0, 1])), reference.inverse_transform([2, 0, 1]))


def test_label_coder_works_on_integer_labels_like_sklearn() -> None:
    labels = [30, 10, 20, 10]
    coder = LabelCoder().fit(labels)
    np.testing.assert_array_equal(coder.classes_, LabelEncoder().fit(labels).classes_)
    np.testing.assert_array_equal(coder.encode([30, 10]), [2, 0])


def test_label_coder_keeps_the_given_class_order() -> None:
    coder = LabelCoder(classes=["cat", "dog", "rabbit"][::-1]).fit(ANIMALS)
    assert list(coder.classes_) == ["rabbit", "dog", "cat"]
    np.testing.assert_array_equal(coder.encode(["cat", "rabbit"]), [2, 0])


def test_label_coder_encode_gives_int64_ids_and_round_trips() -> None:
    coder = LabelCoder().fit(ANIMALS)
    ids = coder.encode(ANIMALS)
    assert ids.dtype == np.int64
    assert list(coder.decode(ids)) == ANIMALS


def test_label_coder_one_hot_is_one_hot_of_the_ids() -> None:
    coder = LabelCoder().fit(ANIMALS)
    np.testing.assert_array_equal(coder.one_hot(ANIMALS), outlayer.one_hot(coder.encode(ANIMALS), 3))


def test_label_coder_decodes_probability_rows_by_argmax() -> None:
    coder = LabelCoder(classes=["cat", "dog", "rabbit"]).fit(["cat"])
    probs = outlayer.softmax(np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 3.0], [0.1, 0.5, 0.2]]))
    assert list(coder.decode(probs)) == ["cat", "rabbit", "dog"]


def test_label_coder_unknown_label_raises_naming_it() -> None:
    coder = LabelCoder().fit(ANIMALS)
    with pytest.raises(ValueError, match="zebra"):
        coder.encode(["cat", "zebra"])


def test_label_coder_out_of_range_id_raises_naming_it() -> None:
    coder = LabelCoder().fit(ANIMALS)
    with pytest.raises(ValueError, match=r"\b5\b"):
        coder.decode(np.array([0, 5]))


@pytest.mark.parametrize("method", ["encode", "one_hot", "decode"])
def test_label_coder_used_before_fit_raises_not_fitted_error(method: str) -> None:
    coder = LabelCoder(classes=["a", "b"])
    with pytest.raises(NotFittedError):
        getattr(coder, method)([0] if method == "decode" else ["a"])
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)
    assert outlayer.NotFittedError is NotFittedError


def test_label_coder_init_only_stores_its_arguments() -> None:
    classes = ["low", "mid", "high"]
    coder = LabelCoder(classes=classes, ordered=True)
    assert coder.classes is classes
    assert coder.ordered is True
    assert not hasattr(coder, "classes_")  # NotFittedError is an AttributeError, so hasattr works
    assert not hasattr(coder, "n_classes_")


def test_ordered_label_coder_requires_explicit_classes() -> None:
    with pytest.raises(ValueError, match="classes"):
        LabelCoder(ordered=True).fit(["low", "high"])


def test_ordered_label_coder_encodes_and_decodes_scalar_codes() -> None:
    coder = LabelCoder(classes=["low", "mid", "high"], ordered=True).fit(["high", "low"])
    codes = coder.encode_scalar(["low", "high", "mid"])
    assert codes.dtype.kind == "f"
    np.testing.assert_array_equal(codes, [0.0, 2.0, 1.0])
    # round to the nearest code, then clip into [0, K-1]
    decoded = coder.decode_scalar(np.array([-3.0, 0.4, 0.6, 1.49, 1.51, 9.0]))
    assert list(decoded) == ["low", "low", "mid", "mid", "high", "high"]


@pytest.mark.parametrize("method", ["encode_scalar", "decode_scalar"])
def test_scalar_codes_without_ordered_are_rejected(method: str) -> None:
    coder = LabelCoder().fit(ANIMALS)
    with pytest.raises(ValueError, match="ordered"):
        getattr(coder, method)(["cat"] if method == "encode_scalar" else [0.0])


def test_label_coder_fit_rejects_a_label_outside_the_given_classes_naming_it() -> None:
    with pytest.raises(ValueError, match="zebra"):
        LabelCoder(classes=["cat", "dog"]).fit(["cat", "zebra"])


def test_label_coder_rejects_repeated_classes_naming_the_repeat() -> None:
    with pytest.raises(ValueError, match="dog"):
        LabelCoder(classes=["cat", "dog", "dog"]).fit(["cat"])
