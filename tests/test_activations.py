"""The softmax family and the sigmoid against SciPy and PyTorch, with masks, temperatures, extremes and float16."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sps
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import outlayer

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None)
SOFTMAX_FAMILY = ("softmax", "log_softmax", "logsumexp")
ELEMENTWISE = ("sigmoid", "log_sigmoid")


def random_logits(seed: int, shape: tuple[int, ...] = (4, 3, 5)) -> np.ndarray:
    return np.random.default_rng(seed).normal(scale=3.0, size=shape)


def float16_ulps(got: np.ndarray, reference: np.ndarray) -> float:
    """Largest |got - reference| in units of the float16 spacing at the reference value."""
    spacing = np.spacing(np.abs(reference).astype(np.float16)).astype(np.float64)
    return float(np.max(np.abs(got.astype(np.float64) - reference) / spacing))


finite_rows = st.integers(1, 5).flatmap(
    lambda n: st.integers(1, 7).flatmap(
        lambda k: hnp.arrays(np.float64, (n, k), elements=st.floats(-1e4, 1e4, allow_nan=False))
    )
)


# ----------------------------------------------------------------------------- oracles


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_softmax_and_log_softmax_equal_scipy_along_any_axis(axis: int) -> None:
    x = random_logits(0)
    np.testing.assert_allclose(outlayer.softmax(x, axis=axis), sps.softmax(x, axis=axis), rtol=1e-13)
    np.testing.assert_allclose(outlayer.log_softmax(x, axis=axis), sps.log_softmax(x, axis=axis), rtol=1e-13)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [0, 2, -1])
def test_logsumexp_equals_scipy(axis: int, keepdims: bool) -> None:
    x = random_logits(1)
    got = outlayer.logsumexp(x, axis=axis, keepdims=keepdims)
    expected = sps.logsumexp(x, axis=axis, keepdims=keepdims)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_sigmoid_and_log_sigmoid_equal_scipy_expit_and_log_expit() -> None:
    x = np.concatenate([random_logits(2).ravel(), [-1e4, -745.0, -40.0, 0.0, 40.0, 1e4, -np.inf]])
    # at -745 the true value e^-745 is subnormal: SciPy flushes it to 0, so allow one subnormal step
    np.testing.assert_allclose(outlayer.sigmoid(x), sps.expit(x), rtol=1e-14, atol=1e-323)
    np.testing.assert_allclose(outlayer.log_sigmoid(x), sps.log_expit(x), rtol=1e-14, atol=0)


def test_softmax_family_equals_torch() -> None:
    x = random_logits(3)
    t = torch.from_numpy(x)
    np.testing.assert_allclose(outlayer.softmax(x, axis=1), torch.softmax(t, dim=1).numpy(), rtol=1e-13)
    np.testing.assert_allclose(outlayer.log_softmax(x), torch.log_softmax(t, dim=-1).numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(outlayer.logsumexp(x, axis=0), torch.logsumexp(t, dim=0).numpy(), rtol=1e-13)
    np.testing.assert_allclose(outlayer.sigmoid(x), torch.sigmoid(t).numpy(), rtol=1e-14)
    np.testing.assert_allclose(outlayer.log_sigmoid(x), torch.nn.functional.logsigmoid(t).numpy(), rtol=1e-14)


# ----------------------------------------------------------------------------- temperature


@pytest.mark.parametrize("temperature", [0.25, 1.0, 3.0])
def test_temperature_divides_the_logits(temperature: float) -> None:
    x = random_logits(4)
    scaled = x / temperature
    np.testing.assert_allclose(outlayer.softmax(x, temperature=temperature), sps.softmax(scaled, axis=-1), rtol=1e-13)
    np.testing.assert_allclose(outlayer.log_softmax(x, temperature=temperature), sps.log_softmax(scaled, axis=-1), rtol=1e-13, atol=1e-15)
    # log sum exp(x / T), not T * log sum exp(x / T)
    np.testing.assert_allclose(outlayer.logsumexp(x, temperature=temperature), sps.logsumexp(scaled, axis=-1), rtol=1e-13)
    np.testing.assert_allclose(outlayer.sigmoid(x, temperature=temperature), sps.expit(scaled), rtol=1e-14)
    np.testing.assert_allclose(outlayer.log_sigmoid(x, temperature=temperature), sps.log_expit(scaled), rtol=1e-14)


def test_high_temperature_flattens_and_low_temperature_sharpens() -> None:
    x = np.array([2.0, 1.0, 0.1])
    entropy = lambda p: float(-(p * np.log(p)).sum())  # noqa: E731
    cold, plain, hot = (outlayer.softmax(x, temperature=t) for t in (0.5, 1.0, 4.0))
    assert entropy(cold) < entropy(plain) < entropy(hot) < np.log(3)


@pytest.mark.parametrize("function", SOFTMAX_FAMILY + ELEMENTWISE)
@pytest.mark.parametrize("temperature", [0.0, -1.0, float("inf"), float("nan")])
def test_non_positive_or_non_finite_temperature_is_rejected(function: str, temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature"):
        getattr(outlayer, function)(np.zeros((2, 3)), temperature=temperature)


# ----------------------------------------------------------------------------- masks


def test_masked_entries_get_probability_zero_and_the_rest_renormalise() -> None:
    x = random_logits(5, shape=(3, 5))
    where = np.array([[True, False, True, True, False], [True] * 5, [False, False, True, False, False]])
    probs = outlayer.softmax(x, where=where)
    log_probs = outlayer.log_softmax(x, where=where)
    for row, mask in enumerate(where):
        np.testing.assert_allclose(probs[row, mask], sps.softmax(x[row, mask]), rtol=1e-13)
        np.testing.assert_allclose(log_probs[row, mask], sps.log_softmax(x[row, mask]), rtol=1e-13)
    assert np.all(probs[~where] == 0.0)
    assert np.all(log_probs[~where] == -np.inf)
    # SciPy's weighted logsumexp with b = mask is the masked log normaliser
    np.testing.assert_allclose(outlayer.logsumexp(x, where=where), sps.logsumexp(x, b=where, axis=-1), rtol=1e-13)


def test_fully_masked_row_gives_zeros_and_minus_inf_not_nan() -> None:
    x = random_logits(6, shape=(2, 4))
    where = np.array([[False] * 4, [True, True, False, True]])
    probs = outlayer.softmax(x, where=where)
    np.testing.assert_array_equal(probs[0], np.zeros(4))
    np.testing.assert_array_equal(outlayer.log_softmax(x, where=where)[0], np.full(4, -np.inf))
    lse = outlayer.logsumexp(x, where=where)
    assert lse[0] == -np.inf
    assert np.isfinite(lse[1])
    assert probs[1].sum() == pytest.approx(1.0, rel=1e-15)


def test_mask_broadcasts_along_the_batch() -> None:
    x = random_logits(7, shape=(3, 4))
    where = np.array([True, False, True, True])
    np.testing.assert_array_equal(outlayer.softmax(x, where=where), outlayer.softmax(x, where=np.broadcast_to(where, x.shape)))


def test_a_row_of_minus_inf_logits_behaves_as_a_fully_masked_row() -> None:
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.0, 1.0, 2.0]])
    assert np.all(outlayer.softmax(x)[0] == 0.0)
    assert np.all(outlayer.log_softmax(x)[0] == -np.inf)
    assert outlayer.logsumexp(x)[0] == -np.inf


def test_masked_sigmoid_gives_zero_and_log_sigmoid_minus_inf() -> None:
    x = np.array([-2.0, 0.5, 3.0])
    where = np.array([True, False, True])
    np.testing.assert_array_equal(outlayer.sigmoid(x, where=where), [sps.expit(-2.0), 0.0, sps.expit(3.0)])
    np.testing.assert_array_equal(outlayer.log_sigmoid(x, where=where), [sps.log_expit(-2.0), -np.inf, sps.log_expit(3.0)])


def test_non_boolean_mask_is_rejected() -> None:
    with pytest.raises(ValueError, match="where"):
        outlayer.softmax(np.zeros((2, 3)), where=np.ones((2, 3)))


def test_mask_of_wrong_shape_is_rejected_naming_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2,\).*\(2, 3\)"):
        outlayer.softmax(np.zeros((2, 3)), where=np.array([True, False]))


# ----------------------------------------------------------------------------- extremes


def test_softmax_family_is_exact_and_finite_for_logits_of_1e4() -> None:
    x = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]])
    np.testing.assert_array_equal(outlayer.softmax(x), [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    np.testing.assert_array_equal(outlayer.log_softmax(x)[0], [0.0, -2e4, -1e4])
    np.testing.assert_allclose(outlayer.log_softmax(x)[1], [-np.log(2), -np.log(2), -2e4 - np.log(2)], rtol=1e-15)
    np.testing.assert_allclose(outlayer.logsumexp(x), [1e4, 1e4 + np.log(2)], rtol=1e-15)


def test_log_softmax_keeps_probabilities_that_softmax_rounds_to_zero() -> None:
    log_probs = outlayer.log_softmax(np.array([1000.0, 1.0]))
    np.testing.assert_array_equal(log_probs, [0.0, -999.0])
    assert outlayer.softmax(np.array([1000.0, 1.0]))[1] == 0.0


def test_minus_inf_logits_give_probability_zero() -> None:
    x = np.array([[-np.inf, 0.0, 0.0], [-np.inf, 1e4, -np.inf]])
    np.testing.assert_array_equal(outlayer.softmax(x), [[0.0, 0.5, 0.5], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(outlayer.log_softmax(x)[1], [-np.inf, 0.0, -np.inf])
    np.testing.assert_allclose(outlayer.logsumexp(x), [np.log(2), 1e4], rtol=1e-15)


def test_sigmoid_is_exact_and_finite_at_the_extremes() -> None:
    x = np.array([-np.inf, -1e4, 1e4])
    np.testing.assert_array_equal(outlayer.sigmoid(x), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(outlayer.log_sigmoid(x), [-np.inf, -1e4, 0.0])


@pytest.mark.parametrize("function", SOFTMAX_FAMILY + ELEMENTWISE)
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "plus-inf"])
def test_nan_or_plus_inf_logit_is_rejected_naming_its_position(function: str, bad: float) -> None:
    x = np.zeros((2, 4))
    x[1, 2] = bad
    with pytest.raises(ValueError, match=r"\(1, 2\)"):
        getattr(outlayer, function)(x)


@pytest.mark.parametrize("function", SOFTMAX_FAMILY)
def test_axis_out_of_range_is_rejected(function: str) -> None:
    with pytest.raises(ValueError, match="axis"):
        getattr(outlayer, function)(np.zeros((2, 3)), axis=2)


def test_empty_batch_gives_empty_results() -> None:
    x = np.zeros((0, 4))
    assert outlayer.softmax(x).shape == (0, 4)
    assert outlayer.log_softmax(x).shape == (0, 4)
    assert outlayer.logsumexp(x).shape == (0,)
    assert outlayer.sigmoid(x).shape == (0, 4)


def test_softmax_over_an_empty_class_axis_is_empty_like_torch() -> None:
    x = np.zeros((3, 0))
    assert tuple(torch.softmax(torch.from_numpy(x), dim=-1).shape) == (3, 0)
    assert outlayer.softmax(x).shape == (3, 0)
    assert outlayer.log_softmax(x).shape == (3, 0)


def test_logsumexp_over_an_empty_class_axis_is_minus_inf_like_scipy_and_torch() -> None:
    # the log of an empty sum; the module's docstring promises it for empty rows
    x = np.zeros((3, 0))
    expected = sps.logsumexp(x, axis=-1)
    np.testing.assert_array_equal(expected, torch.logsumexp(torch.from_numpy(x), dim=-1).numpy())
    np.testing.assert_array_equal(outlayer.logsumexp(x), expected)


def test_integer_logits_are_promoted_to_float64() -> None:
    probs = outlayer.softmax(np.array([[1, 2, 3]]))
    assert probs.dtype == np.float64
    np.testing.assert_allclose(probs, sps.softmax(np.array([[1.0, 2.0, 3.0]]), axis=-1), rtol=1e-15)


# ----------------------------------------------------------------------------- low precision


@pytest.mark.parametrize("function", SOFTMAX_FAMILY + ELEMENTWISE)
def test_float16_is_computed_in_float32_and_returned_in_float16(function: str) -> None:
    x = (np.random.default_rng(8).normal(scale=4.0, size=(40, 10))).astype(np.float16)
    x[0, :3] = [11.5, 12.0, -12.0]  # exp(12) overflows float16 (max 65504)
    got = getattr(outlayer, function)(x)
    assert got.dtype == np.float16
    reference = getattr(outlayer, function)(x.astype(np.float64))
    assert np.all(np.isfinite(got))
    assert float16_ulps(got, reference) <= 1.0


def test_float32_stays_float32() -> None:
    x = random_logits(9).astype(np.float32)
    for function in SOFTMAX_FAMILY + ELEMENTWISE:
        assert getattr(outlayer, function)(x).dtype == np.float32


# ----------------------------------------------------------------------------- properties


@PROPERTY_SETTINGS
@given(finite_rows)
def test_probabilities_are_in_the_unit_interval_and_sum_to_one(x: np.ndarray) -> None:
    probs = outlayer.softmax(x)
    assert np.all((probs >= 0.0) & (probs <= 1.0))
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-14)


@PROPERTY_SETTINGS
@given(
    hnp.arrays(np.float64, (3, 4), elements=st.floats(-50, 50, allow_nan=False)),
    hnp.arrays(np.float64, (3, 1), elements=st.floats(-100, 100, allow_nan=False)),
)
def test_softmax_is_invariant_to_shifting_each_row(x: np.ndarray, shift: np.ndarray) -> None:
    np.testing.assert_allclose(outlayer.softmax(x + shift), outlayer.softmax(x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(outlayer.log_softmax(x + shift), outlayer.log_softmax(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outlayer.logsumexp(x + shift), outlayer.logsumexp(x) + shift[:, 0], rtol=1e-12, atol=1e-12)


@PROPERTY_SETTINGS
@given(finite_rows)
def test_log_softmax_is_x_minus_logsumexp_and_exponentiates_to_softmax(x: np.ndarray) -> None:
    log_probs = outlayer.log_softmax(x)
    np.testing.assert_allclose(log_probs, x - outlayer.logsumexp(x, keepdims=True), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.exp(log_probs), outlayer.softmax(x), rtol=1e-12, atol=1e-300)


@PROPERTY_SETTINGS
@given(hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e4, 1e4, allow_nan=False)))
def test_sigmoid_equals_two_class_softmax(x: np.ndarray) -> None:
    two_class = np.stack([x, np.zeros_like(x)], axis=-1)
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(outlayer.sigmoid(x), outlayer.softmax(two_class)[:, 0], rtol=2 * eps, atol=1e-323)
    # log(1 + e) and log1p(e) differ by rounding in absolute terms, so the bound is absolute as well
    np.testing.assert_allclose(outlayer.log_sigmoid(x), outlayer.log_softmax(two_class)[:, 0], rtol=2 * eps, atol=2 * eps)


@PROPERTY_SETTINGS
@given(st.data())
def test_softmax_of_masked_rows_equals_softmax_of_the_kept_entries(data: st.DataObject) -> None:
    x = data.draw(hnp.arrays(np.float64, (4, 6), elements=st.floats(-100, 100, allow_nan=False)))
    where = data.draw(hnp.arrays(np.bool_, (4, 6)))
    probs = outlayer.softmax(x, where=where)
    assert not np.any(np.isnan(probs))
    for row in range(4):
        kept = where[row]
        expected = sps.softmax(x[row, kept]) if kept.any() else np.zeros(0)
        np.testing.assert_allclose(probs[row, kept], expected, rtol=1e-13)
        assert np.all(probs[row, ~kept] == 0.0)
        assert probs[row].sum() == pytest.approx(1.0 if kept.any() else 0.0, rel=1e-14)


def test_log_softmax_keeps_full_relative_precision_where_the_max_class_dominates() -> None:
    """log p of the dominant class is -log1p(sum of the others), not -log(1 + tiny): compare with 50-digit mpmath."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    rng = np.random.default_rng(11)
    worst_ours, worst_scipy = 0.0, 0.0
    for _ in range(200):
        x = rng.normal(scale=6.0, size=5)
        lse = mpmath.log(sum(mpmath.e ** mpmath.mpf(float(v)) for v in x))
        exact = np.array([float(mpmath.mpf(float(v)) - lse) for v in x])
        worst_ours = max(worst_ours, float(np.max(np.abs(outlayer.log_softmax(x) - exact) / np.abs(exact))))
        worst_scipy = max(worst_scipy, float(np.max(np.abs(sps.log_softmax(x) - exact) / np.abs(exact))))
    assert worst_ours < 1e-14
    assert worst_scipy > 100 * worst_ours  # the oracle itself loses digits here


def test_cross_entropy_of_a_nearly_certain_correct_prediction_is_log1p_of_the_rest() -> None:
    value = outlayer.cross_entropy(np.array([15.0, -15.0, -1000.0]), np.int64(0))
    assert value == pytest.approx(np.log1p(np.exp(-30.0)), rel=1e-14)
