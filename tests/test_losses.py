"""The losses on NumPy: closed forms, finite differences, hypothesis properties, edge cases, bad input.

Oracles here are independent: the formulas written out with SciPy's ``log_softmax``/``expit`` and
central finite differences in float64. PyTorch comparisons live in ``test_losses_torch_oracle.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import scipy.special as sps
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import outlayer
from outlayer import losses

REDUCTIONS = ("none", "sum", "mean")
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)


# ----------------------------------------------------------------------------- helpers


def central_difference_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """d sum(f(x)) / dx by central differences, element by element, in float64."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        grad[index] = (np.sum(f(plus)) - np.sum(f(minus))) / (2 * step)
    return grad


def one_hot_rows(ids: np.ndarray, num_classes: int) -> np.ndarray:
    return (np.asarray(ids)[..., None] == np.arange(num_classes)).astype(np.float64)


def softmax_jacobian(p: np.ndarray) -> np.ndarray:
    """J[i, j] = dp_i / dz_j = p_i (delta_ij - p_j) for one row p."""
    return np.diag(p) - np.outer(p, p)


def random_problem(seed: int, n: int = 5, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(scale=2.0, size=(n, k)), rng.integers(0, k, size=n)


logit_rows = st.integers(1, 6).flatmap(
    lambda n: st.integers(2, 6).flatmap(
        lambda k: hnp.arrays(np.float64, (n, k), elements=st.floats(-30, 30, allow_nan=False))
    )
)


@st.composite
def logits_and_ids(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    logits = draw(logit_rows)
    n, k = logits.shape
    ids = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=np.int64)
    return logits, ids


# ----------------------------------------------------------------------------- the worked example


def test_worked_example_cross_entropy_is_minus_log_of_true_class_probability() -> None:
    logits = [2.0, 1.0, 0.1]
    exps = [math.exp(z) for z in logits]
    expected = -math.log(exps[0] / sum(exps))
    got = outlayer.cross_entropy(np.array([logits]), np.array([0]))
    assert float(got) == pytest.approx(expected, rel=1e-14)


def test_worked_example_mse_on_probabilities_is_0_1848_not_the_seeds_0_198() -> None:
    logits = [2.0, 1.0, 0.1]
    exps = [math.exp(z) for z in logits]
    probs = [e / sum(exps) for e in exps]
    target = [1.0, 0.0, 0.0]
    expected = sum((p - t) ** 2 for p, t in zip(probs, target))
    got = float(outlayer.mse(np.array([logits]), np.array([0])))
    assert got == pytest.approx(expected, rel=1e-14)
    assert round(got, 4) == 0.1848
    assert abs(got - 0.198) > 0.01  # the seed's printed value is wrong


# ----------------------------------------------------------------------------- cross-entropy: closed forms


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ce_matches_minus_log_softmax_of_the_true_class(reduction: str) -> None:
    logits, ids = random_problem(0)
    per_sample = -sps.log_softmax(logits, axis=-1)[np.arange(len(ids)), ids]
    expected = {"none": per_sample, "sum": per_sample.sum(), "mean": per_sample.mean()}[reduction]
    np.testing.assert_allclose(outlayer.cross_entropy(logits, ids, reduction=reduction), expected, rtol=1e-13)


def test_ce_gradient_is_softmax_minus_one_hot_over_batch_size() -> None:
    logits, ids = random_problem(1)
    loss, grad = losses.cross_entropy_with_grad(logits, ids)
    expected = (sps.softmax(logits, axis=-1) - one_hot_rows(ids, logits.shape[1])) / len(ids)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)
    assert float(loss) == pytest.approx(float(outlayer.cross_entropy(logits, ids)), rel=1e-15)


def test_ce_weighted_mean_divides_by_the_total_weight_of_the_targets() -> None:
    logits, ids = random_problem(2, n=6)
    weight = np.array([0.5, 2.0, 1.0, 3.0])
    per_sample = -weight[ids] * sps.log_softmax(logits, axis=-1)[np.arange(len(ids)), ids]
    loss, grad = losses.cross_entropy_with_grad(logits, ids, weight=weight)
    assert float(loss) == pytest.approx(per_sample.sum() / weight[ids].sum(), rel=1e-13)
    closed_form = weight[ids, None] * (sps.softmax(logits, axis=-1) - one_hot_rows(ids, 4)) / weight[ids].sum()
    np.testing.assert_allclose(grad, closed_form, rtol=1e-12, atol=1e-15)


def test_ce_label_smoothing_mixes_one_hot_with_uniform() -> None:
    logits, ids = random_problem(3)
    eps, k = 0.2, logits.shape[1]
    q = (1 - eps) * one_hot_rows(ids, k) + eps / k
    per_sample = -(q * sps.log_softmax(logits, axis=-1)).sum(-1)
    loss, grad = losses.cross_entropy_with_grad(logits, ids, label_smoothing=eps, reduction="none")
    np.testing.assert_allclose(loss, per_sample, rtol=1e-13)
    np.testing.assert_allclose(grad, sps.softmax(logits, axis=-1) - q, rtol=1e-12, atol=1e-15)


def test_ce_soft_probability_targets_give_minus_sum_q_log_p() -> None:
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(5, 3))
    q = rng.dirichlet(np.ones(3), size=5)
    loss, grad = losses.cross_entropy_with_grad(logits, q, reduction="sum")
    assert float(loss) == pytest.approx(-(q * sps.log_softmax(logits, axis=-1)).sum(), rel=1e-13)
    np.testing.assert_allclose(grad, sps.softmax(logits, axis=-1) - q, rtol=1e-12, atol=1e-15)


def test_ce_ignored_rows_contribute_nothing_and_mean_is_over_the_rest() -> None:
    logits, ids = random_problem(5, n=6)
    ids = ids.copy()
    ids[[1, 4]] = -100
    kept = ids != -100
    loss, grad = losses.cross_entropy_with_grad(logits, ids, ignore_index=-100)
    sub_loss, sub_grad = losses.cross_entropy_with_grad(logits[kept], ids[kept])
    assert float(loss) == pytest.approx(float(sub_loss), rel=1e-14)
    np.testing.assert_allclose(grad[kept], sub_grad, rtol=1e-13)
    assert np.all(grad[~kept] == 0.0)
    per_sample = outlayer.cross_entropy(logits, ids, ignore_index=-100, reduction="none")
    assert np.all(per_sample[~kept] == 0.0)


def test_ce_ignore_index_may_be_a_valid_class_id() -> None:
    logits, ids = random_problem(6, n=8)
    ids = np.array([0, 1, 2, 3, 1, 1, 0, 2])
    kept = ids != 1
    loss = outlayer.cross_entropy(logits, ids, ignore_index=1)
    assert float(loss) == pytest.approx(float(outlayer.cross_entropy(logits[kept], ids[kept])), rel=1e-14)


def test_ce_class_axis_can_be_any_axis() -> None:
    rng = np.random.default_rng(7)
    logits_last = rng.normal(size=(3, 4, 5))  # (N, d1, K)
    ids = rng.integers(0, 5, size=(3, 4))
    logits_middle = np.moveaxis(logits_last, -1, 1)  # (N, K, d1)
    for reduction in REDUCTIONS:
        a, grad_a = losses.cross_entropy_with_grad(logits_last, ids, reduction=reduction)
        b, grad_b = losses.cross_entropy_with_grad(logits_middle, ids, reduction=reduction, axis=1)
        np.testing.assert_allclose(a, b, rtol=1e-14)
        np.testing.assert_allclose(np.moveaxis(grad_b, 1, -1), grad_a, rtol=1e-13)
    assert outlayer.cross_entropy(logits_middle, ids, axis=1, reduction="none").shape == (3, 4)


def test_ce_many_classes_with_integer_ids_equals_the_formula() -> None:
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(3, 50_000))
    ids = np.array([0, 49_999, 12_345])
    expected = -sps.log_softmax(logits, axis=-1)[np.arange(3), ids]
    np.testing.assert_allclose(outlayer.cross_entropy(logits, ids, reduction="none"), expected, rtol=1e-12)


# ----------------------------------------------------------------------------- gradients vs finite differences


def _ce_cases() -> list[dict]:
    return [
        {},
        {"weight": np.array([0.5, 2.0, 1.0, 3.0])},
        {"ignore_index": 2},
        {"label_smoothing": 0.3},
        {"weight": np.array([0.5, 2.0, 1.0, 3.0]), "label_smoothing": 0.1, "ignore_index": 0},
    ]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", _ce_cases(), ids=lambda o: "+".join(o) or "plain")
def test_ce_gradient_matches_finite_differences(reduction: str, options: dict) -> None:
    logits, ids = random_problem(10, n=5, k=4)
    ids = np.array([0, 2, 1, 3, 2])
    _, grad = losses.cross_entropy_with_grad(logits, ids, reduction=reduction, **options)
    numeric = central_difference_gradient(lambda z: outlayer.cross_entropy(z, ids, reduction=reduction, **options), logits)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ce_gradient_with_soft_targets_and_weights_matches_finite_differences(reduction: str) -> None:
    rng = np.random.default_rng(11)
    logits = rng.normal(size=(4, 3))
    q = rng.dirichlet(np.ones(3), size=4)
    weight = np.array([1.0, 0.25, 4.0])
    _, grad = losses.cross_entropy_with_grad(logits, q, weight=weight, reduction=reduction)
    numeric = central_difference_gradient(lambda z: outlayer.cross_entropy(z, q, weight=weight, reduction=reduction), logits)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_with_grad_reduction_none_holds_each_samples_own_gradient() -> None:
    logits, ids = random_problem(12)
    for name in ("cross_entropy", "mse"):
        with_grad = getattr(losses, f"{name}_with_grad")
        per_sample, grad_none = with_grad(logits, ids, reduction="none")
        total, grad_sum = with_grad(logits, ids, reduction="sum")
        assert per_sample.shape == ids.shape
        assert float(total) == pytest.approx(per_sample.sum(), rel=1e-13)
        np.testing.assert_allclose(grad_none, grad_sum, rtol=1e-14)


# ----------------------------------------------------------------------------- cross-entropy: properties


@PROPERTY_SETTINGS
@given(logits_and_ids())
def test_ce_is_non_negative(problem: tuple[np.ndarray, np.ndarray]) -> None:
    logits, ids = problem
    assert np.all(outlayer.cross_entropy(logits, ids, reduction="none") >= 0.0)
    soft = sps.softmax(np.roll(logits, 1, axis=0), axis=-1)
    assert np.all(outlayer.cross_entropy(logits, soft, reduction="none") >= 0.0)


@PROPERTY_SETTINGS
@given(logits_and_ids(), st.sampled_from(REDUCTIONS), st.floats(0.0, 1.0))
def test_ce_gradient_rows_sum_to_zero(problem: tuple[np.ndarray, np.ndarray], reduction: str, eps: float) -> None:
    logits, ids = problem
    _, grad = losses.cross_entropy_with_grad(logits, ids, reduction=reduction, label_smoothing=eps)
    np.testing.assert_allclose(grad.sum(axis=-1), 0.0, atol=1e-13)


@PROPERTY_SETTINGS
@given(
    logits_and_ids(),
    st.sampled_from(REDUCTIONS),
    st.floats(0.0, 1.0),
    st.lists(st.floats(0.01, 10.0), min_size=6, max_size=6),
)
def test_ce_integer_targets_equal_their_one_hot_rows(
    problem: tuple[np.ndarray, np.ndarray], reduction: str, eps: float, weights: list[float]
) -> None:
    logits, ids = problem
    k = logits.shape[1]
    for weight in (None, np.array(weights[:k])):
        by_id, grad_id = losses.cross_entropy_with_grad(logits, ids, weight=weight, label_smoothing=eps, reduction=reduction)
        by_row, grad_row = losses.cross_entropy_with_grad(
            logits, one_hot_rows(ids, k), weight=weight, label_smoothing=eps, reduction=reduction
        )
        np.testing.assert_allclose(by_row, by_id, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(grad_row, grad_id, rtol=1e-12, atol=1e-14)


@PROPERTY_SETTINGS
@given(logits_and_ids(), st.floats(-100, 100))
def test_ce_is_invariant_to_shifting_the_logits(problem: tuple[np.ndarray, np.ndarray], shift: float) -> None:
    logits, ids = problem
    a = outlayer.cross_entropy(logits, ids, reduction="none")
    b = outlayer.cross_entropy(logits + shift, ids, reduction="none")
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------------- cross-entropy: extremes and nothing


def test_ce_is_exact_and_finite_for_logits_of_1e4() -> None:
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    loss, grad = losses.cross_entropy_with_grad(logits, np.array([0, 0]), reduction="none")
    np.testing.assert_array_equal(loss, [0.0, 2e4])
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0]])


def test_ce_with_minus_inf_logit_on_another_class_is_finite() -> None:
    logits = np.array([[0.0, -np.inf, 1.0]])
    loss, grad = losses.cross_entropy_with_grad(logits, np.array([2]), reduction="sum")
    assert float(loss) == pytest.approx(math.log1p(math.exp(-1.0)), rel=1e-14)
    assert grad[0, 1] == 0.0
    assert np.all(np.isfinite(grad))


def test_ce_label_smoothing_spreads_only_over_finite_logits() -> None:
    logits = np.array([[0.5, -np.inf, 1.5, -np.inf]])
    eps = 0.1
    finite = np.isfinite(logits[0])
    q = np.where(finite, eps / finite.sum(), 0.0) + (1 - eps) * one_hot_rows([0], 4)[0]
    log_p = sps.log_softmax(logits[0, finite])
    expected = -(q[finite] * log_p).sum()
    loss, grad = losses.cross_entropy_with_grad(logits, np.array([0]), label_smoothing=eps)
    assert float(loss) == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(grad[0], np.where(finite, sps.softmax(logits[0]) - q, 0.0), atol=1e-15)


@pytest.mark.parametrize(
    "case",
    ["all-ignored", "empty-batch", "zero-total-weight"],
)
def test_ce_mean_over_nothing_is_zero_with_zero_gradient(case: str) -> None:
    logits, ids = random_problem(13, n=3, k=4)
    options: dict = {}
    if case == "all-ignored":
        ids = np.full(3, -100)
        options["ignore_index"] = -100
    elif case == "empty-batch":
        logits, ids = logits[:0], ids[:0]
    else:
        ids = np.array([1, 1, 3])
        options["weight"] = np.array([1.0, 0.0, 1.0, 0.0])
    loss, grad = losses.cross_entropy_with_grad(logits, ids, **options)
    assert float(loss) == 0.0
    assert grad.shape == logits.shape
    assert np.all(grad == 0.0)
    assert float(outlayer.cross_entropy(logits, ids, **options)) == 0.0


def test_ce_empty_batch_with_reduction_none_is_empty() -> None:
    loss, grad = losses.cross_entropy_with_grad(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), reduction="none")
    assert loss.shape == (0,)
    assert grad.shape == (0, 3)


# ----------------------------------------------------------------------------- cross-entropy: bad input


def test_ce_label_out_of_range_names_the_value_and_its_index() -> None:
    with pytest.raises(ValueError, match=r"\b7\b.*index \(?1\b"):
        outlayer.cross_entropy(np.zeros((3, 4)), np.array([0, 7, 1]))
    with pytest.raises(ValueError, match=r"-2\b.*index \(?2\b"):
        outlayer.cross_entropy(np.zeros((3, 4)), np.array([0, 1, -2]))
    with pytest.raises(ValueError, match=r"\b5\b.*index \(1, 0\)"):
        outlayer.cross_entropy(np.zeros((2, 2, 4)), np.array([[0, 1], [5, 1]]))


def test_ce_wrong_target_shape_names_both_shapes() -> None:
    with pytest.raises(ValueError) as info:
        outlayer.cross_entropy(np.zeros((4, 3)), np.zeros(5, dtype=np.int64))
    message = str(info.value)
    assert "(5,)" in message
    assert "(4, 3)" in message or "(4,)" in message


@pytest.mark.parametrize("bad_row", [[0.5, -0.25, 0.75], [0.5, np.nan, 0.5]], ids=["negative", "nan"])
def test_ce_probability_targets_must_be_non_negative_and_not_nan(bad_row: list[float]) -> None:
    target = np.array([[1.0, 0.0, 0.0], bad_row])
    with pytest.raises(ValueError):
        outlayer.cross_entropy(np.zeros((2, 3)), target)


@pytest.mark.parametrize("ignore_index", [1.5, True, "none"])
def test_ce_ignore_index_must_be_an_integer(ignore_index: object) -> None:
    with pytest.raises(ValueError, match="ignore_index"):
        outlayer.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), ignore_index=ignore_index)


def test_ce_ignore_index_with_probability_targets_is_rejected() -> None:
    with pytest.raises(ValueError, match="ignore_index"):
        outlayer.cross_entropy(np.zeros((2, 3)), np.full((2, 3), 1 / 3), ignore_index=-100)


@pytest.mark.parametrize("eps", [-0.1, 1.5, float("nan")])
def test_ce_label_smoothing_outside_unit_interval_is_rejected(eps: float) -> None:
    with pytest.raises(ValueError, match="label_smoothing"):
        outlayer.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=eps)


@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse", "binary_cross_entropy", "nll_loss"])
def test_unknown_reduction_is_rejected_by_name(loss_name: str) -> None:
    loss = getattr(outlayer, loss_name)
    target = np.zeros((2, 3)) if loss_name == "binary_cross_entropy" else np.array([0, 1])
    with pytest.raises(ValueError, match="avg"):
        loss(np.zeros((2, 3)), target, reduction="avg")


@pytest.mark.parametrize("weight", [[1.0, 2.0], [1.0, -1.0, 1.0]], ids=["wrong-length", "negative"])
def test_ce_bad_class_weight_is_rejected(weight: list[float]) -> None:
    with pytest.raises(ValueError, match="weight"):
        outlayer.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), weight=np.array(weight))


@pytest.mark.parametrize("axis", [2, -3])
def test_ce_axis_out_of_range_is_rejected(axis: int) -> None:
    with pytest.raises(ValueError, match=str(axis)):
        outlayer.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), axis=axis)


def test_ce_nan_or_plus_inf_logit_is_rejected_naming_its_position() -> None:
    for bad in (np.nan, np.inf):
        logits = np.zeros((3, 4))
        logits[2, 1] = bad
        with pytest.raises(ValueError, match=r"\(2, 1\)"):
            outlayer.cross_entropy(logits, np.array([0, 1, 2]))


def test_ce_float_class_ids_are_rejected_with_a_hint_to_cast() -> None:
    # a float target of the batch shape is neither ids (dtype) nor rows (shape): say so, don't guess
    with pytest.raises(ValueError, match="integer"):
        outlayer.cross_entropy(np.zeros((2, 3)), np.array([0.0, 2.0]))


@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse", "nll_loss"])
def test_losses_reject_logits_with_no_classes_naming_the_shape(loss_name: str) -> None:
    with pytest.raises(ValueError, match=r"\(3, 0\)"):
        getattr(outlayer, loss_name)(np.zeros((3, 0)), np.zeros(3, dtype=np.int64))


def test_single_sample_logits_take_a_scalar_target() -> None:
    logits = np.array([2.0, 1.0, 0.1])
    loss = outlayer.cross_entropy(logits, np.array(0))
    assert float(loss) == pytest.approx(-sps.log_softmax(logits)[0], rel=1e-14)
    _, grad = losses.cross_entropy_with_grad(logits, np.array(0))
    assert grad.shape == (3,)
    np.testing.assert_allclose(grad, sps.softmax(logits) - [1.0, 0.0, 0.0], rtol=1e-13)


@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse"])
def test_float16_logits_give_float16_losses_computed_in_float32(loss_name: str) -> None:
    logits = (np.random.default_rng(14).normal(scale=3.0, size=(6, 5))).astype(np.float16)
    logits[0, 0] = 12.0  # exp(12) overflows float16
    ids = np.array([0, 1, 2, 3, 4, 0])
    with_grad = getattr(losses, f"{loss_name}_with_grad")
    loss, grad = with_grad(logits, ids, reduction="none")
    exact_loss, exact_grad = with_grad(logits.astype(np.float64), ids, reduction="none")
    assert loss.dtype == np.float16 and grad.dtype == np.float16
    # within one float16 step of the exact value: what rounding a float32 result gives
    np.testing.assert_array_less(np.abs(loss - exact_loss), np.spacing(np.abs(exact_loss).astype(np.float16)) + 1e-7)
    np.testing.assert_array_less(np.abs(grad - exact_grad), np.spacing(np.abs(exact_grad).astype(np.float16)) + 1e-7)


# ----------------------------------------------------------------------------- MSE


def reference_mse(
    logits: np.ndarray, target_rows: np.ndarray, on: str = "probs", true_class_weight: float = 1.0, true_class_target: float = 1.0
) -> np.ndarray:
    """Per-sample sum_i (1 + (k-1) t_i) (y'_i - M t_i)^2, written out."""
    outputs = sps.softmax(logits, axis=-1) if on == "probs" else logits
    element_weight = 1.0 + (true_class_weight - 1.0) * target_rows
    return (element_weight * (outputs - true_class_target * target_rows) ** 2).sum(-1)


@pytest.mark.parametrize("on", ["probs", "logits"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_is_the_per_sample_sum_of_squared_errors(on: str, reduction: str) -> None:
    logits, ids = random_problem(20)
    per_sample = reference_mse(logits, one_hot_rows(ids, 4), on=on)
    expected = {"none": per_sample, "sum": per_sample.sum(), "mean": per_sample.mean()}[reduction]
    np.testing.assert_allclose(outlayer.mse(logits, ids, on=on, reduction=reduction), expected, rtol=1e-13)


def test_mse_hui_belkin_rescaling_weights_and_scales_the_true_class() -> None:
    logits, ids = random_problem(21)
    rows = one_hot_rows(ids, 4)
    got = outlayer.mse(logits, ids, on="logits", reduction="none", true_class_weight=3.0, true_class_target=15.0)
    expected = reference_mse(logits, rows, on="logits", true_class_weight=3.0, true_class_target=15.0)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    # the rescaling changes only the true-class term
    plain = outlayer.mse(logits, ids, on="logits", reduction="none")
    true_logit = logits[np.arange(len(ids)), ids]
    np.testing.assert_allclose(got - plain, 3.0 * (true_logit - 15.0) ** 2 - (true_logit - 1.0) ** 2, rtol=1e-12)


def test_mse_on_probs_gradient_is_softmax_jacobian_transposed_times_twice_the_error() -> None:
    logits, ids = random_problem(22)
    rows = one_hot_rows(ids, 4)
    _, grad = losses.mse_with_grad(logits, ids, reduction="none")
    p = sps.softmax(logits, axis=-1)
    closed_form = np.stack([softmax_jacobian(p_n).T @ (2 * (p_n - t_n)) for p_n, t_n in zip(p, rows)])
    np.testing.assert_allclose(grad, closed_form, rtol=1e-12, atol=1e-15)


def test_mse_on_logits_gradient_is_twice_the_weighted_error() -> None:
    logits, ids = random_problem(23)
    rows = one_hot_rows(ids, 4)
    _, grad = losses.mse_with_grad(logits, ids, on="logits", reduction="mean", true_class_weight=2.0, true_class_target=5.0)
    closed_form = 2 * (1 + rows) * (logits - 5.0 * rows) / len(ids)
    np.testing.assert_allclose(grad, closed_form, rtol=1e-13)


MSE_CASES = [
    {"on": "probs"},
    {"on": "logits"},
    {"on": "probs", "true_class_weight": 2.5, "true_class_target": 3.0},
    {"on": "logits", "true_class_weight": 4.0, "true_class_target": 10.0},
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", MSE_CASES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_mse_gradient_matches_finite_differences(reduction: str, options: dict) -> None:
    logits, ids = random_problem(24)
    _, grad = losses.mse_with_grad(logits, ids, reduction=reduction, **options)
    numeric = central_difference_gradient(lambda z: outlayer.mse(z, ids, reduction=reduction, **options), logits)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_mse_accepts_any_finite_real_target_rows() -> None:
    rng = np.random.default_rng(25)
    logits = rng.normal(size=(3, 4))
    target = rng.normal(scale=5.0, size=(3, 4))
    loss, grad = losses.mse_with_grad(logits, target, on="logits", reduction="sum")
    assert float(loss) == pytest.approx(((logits - target) ** 2).sum(), rel=1e-13)
    np.testing.assert_allclose(grad, 2 * (logits - target), rtol=1e-13)


@PROPERTY_SETTINGS
@given(logits_and_ids(), st.sampled_from(["probs", "logits"]), st.sampled_from(REDUCTIONS))
def test_mse_integer_targets_equal_their_one_hot_rows(
    problem: tuple[np.ndarray, np.ndarray], on: str, reduction: str
) -> None:
    logits, ids = problem
    a, grad_a = losses.mse_with_grad(logits, ids, on=on, reduction=reduction)
    b, grad_b = losses.mse_with_grad(logits, one_hot_rows(ids, logits.shape[1]), on=on, reduction=reduction)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(grad_a, grad_b, rtol=1e-13, atol=1e-15)


def test_mse_on_probs_is_bounded_by_two_even_for_logits_of_1e4() -> None:
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -np.inf]])
    loss, grad = losses.mse_with_grad(logits, np.array([0, 0]), reduction="none")
    np.testing.assert_array_equal(loss, [0.0, 2.0])
    assert np.all(np.isfinite(grad))


def test_mse_mean_over_an_empty_batch_is_zero_with_zero_gradient() -> None:
    loss, grad = losses.mse_with_grad(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
    assert float(loss) == 0.0
    assert grad.shape == (0, 3)


def test_mse_unknown_output_kind_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="softmaxed"):
        outlayer.mse(np.zeros((2, 3)), np.array([0, 1]), on="softmaxed")


def test_mse_nan_target_is_rejected() -> None:
    with pytest.raises(ValueError):
        outlayer.mse(np.zeros((2, 3)), np.array([[1.0, 0.0, 0.0], [np.nan, 0.0, 1.0]]))


def test_mse_label_out_of_range_names_the_value() -> None:
    with pytest.raises(ValueError, match="9"):
        outlayer.mse(np.zeros((2, 3)), np.array([0, 9]))


# ----------------------------------------------------------------------------- binary cross-entropy


def reference_bce(z: np.ndarray, y: np.ndarray, pos_weight: np.ndarray | float = 1.0, weight: np.ndarray | float = 1.0) -> np.ndarray:
    """l = -w [pw y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], elementwise."""
    return -weight * (pos_weight * y * sps.log_expit(z) + (1 - y) * sps.log_expit(-z))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_matches_the_log_sigmoid_formula(reduction: str) -> None:
    rng = np.random.default_rng(30)
    z = rng.normal(scale=3.0, size=(4, 3))
    y = rng.uniform(size=(4, 3))
    pos_weight = np.array([1.0, 3.0, 0.5])
    weight = rng.uniform(0.5, 2.0, size=(4, 3))
    elementwise = reference_bce(z, y, pos_weight, weight)
    expected = {"none": elementwise, "sum": elementwise.sum(), "mean": elementwise.mean()}[reduction]
    got = outlayer.binary_cross_entropy(z, y, pos_weight=pos_weight, weight=weight, reduction=reduction)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_bce_gradient_is_sigmoid_minus_target_over_element_count() -> None:
    rng = np.random.default_rng(31)
    z = rng.normal(size=(5, 2))
    y = rng.integers(0, 2, size=(5, 2)).astype(np.float64)
    _, grad = losses.binary_cross_entropy_with_grad(z, y)
    np.testing.assert_allclose(grad, (sps.expit(z) - y) / y.size, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_gradient_matches_finite_differences(reduction: str) -> None:
    rng = np.random.default_rng(32)
    z = rng.normal(scale=2.0, size=(3, 3))
    y = rng.uniform(size=(3, 3))
    options = {"pos_weight": np.array([2.0, 0.5, 1.0]), "weight": rng.uniform(0.5, 2.0, size=(3, 3))}
    _, grad = losses.binary_cross_entropy_with_grad(z, y, reduction=reduction, **options)
    numeric = central_difference_gradient(lambda v: outlayer.binary_cross_entropy(v, y, reduction=reduction, **options), z)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_bce_is_exact_for_logits_of_1e4() -> None:
    z = np.array([1e4, -1e4, 1e4, -1e4])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    loss, grad = losses.binary_cross_entropy_with_grad(z, y, reduction="none")
    np.testing.assert_array_equal(loss, [0.0, 0.0, 1e4, 1e4])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 1.0, -1.0])


# ----------------------------------------------------------------------------- NLL


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_of_log_softmax_equals_cross_entropy(reduction: str) -> None:
    logits, ids = random_problem(40, n=6)
    ids[2] = -100
    weight = np.array([0.5, 2.0, 1.0, 3.0])
    options = {"weight": weight, "ignore_index": -100, "reduction": reduction}
    got = outlayer.nll_loss(outlayer.log_softmax(logits), ids, **options)
    np.testing.assert_allclose(got, outlayer.cross_entropy(logits, ids, **options), rtol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_gradient_matches_finite_differences(reduction: str) -> None:
    logits, ids = random_problem(41, n=5)
    log_probs = sps.log_softmax(logits, axis=-1)
    options = {"weight": np.array([0.5, 2.0, 1.0, 3.0]), "ignore_index": int(ids[0]), "reduction": reduction}
    _, grad = losses.nll_loss_with_grad(log_probs, ids, **options)
    numeric = central_difference_gradient(lambda v: outlayer.nll_loss(v, ids, **options), log_probs)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_nll_mean_over_all_ignored_targets_is_zero_with_zero_gradient() -> None:
    loss, grad = losses.nll_loss_with_grad(np.log(np.full((2, 3), 1 / 3)), np.array([-100, -100]), ignore_index=-100)
    assert float(loss) == 0.0
    assert np.all(grad == 0.0)


def test_nll_rejects_probability_rows() -> None:
    with pytest.raises(ValueError, match="integer"):
        outlayer.nll_loss(np.log(np.full((2, 3), 1 / 3)), np.eye(3)[:2])


def test_bce_target_of_another_shape_is_rejected_naming_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)|\(2, 3\).*\(3, 2\)"):
        outlayer.binary_cross_entropy(np.zeros((2, 3)), np.zeros((3, 2)))


def test_bce_mean_over_an_empty_batch_is_zero_with_zero_gradient() -> None:
    loss, grad = losses.binary_cross_entropy_with_grad(np.zeros((0, 3)), np.zeros((0, 3)))
    assert float(loss) == 0.0
    assert grad.shape == (0, 3)


def test_nll_label_out_of_range_names_the_value() -> None:
    with pytest.raises(ValueError, match="3"):
        outlayer.nll_loss(np.zeros((2, 3)), np.array([0, 3]))


# ----------------------------------------------------------------------------- the registry


def test_loss_registry_lists_the_four_losses() -> None:
    assert set(losses.LOSS_NAMES) == {"ce", "mse", "mse-logits", "ce-smooth"}
    for name in losses.LOSS_NAMES:
        loss = losses.get_loss(name)
        assert loss.name == name
        assert isinstance(loss.description, str) and loss.description.strip()


@pytest.mark.parametrize(
    ("name", "function", "defaults"),
    [
        ("ce", "cross_entropy", {}),
        ("mse", "mse", {"on": "probs"}),
        ("mse-logits", "mse", {"on": "logits"}),
        ("ce-smooth", "cross_entropy", {"label_smoothing": 0.1}),
    ],
)
def test_registry_loss_computes_the_named_function(name: str, function: str, defaults: dict) -> None:
    logits, ids = random_problem(50)
    loss = losses.get_loss(name)
    np.testing.assert_allclose(loss.value(logits, ids), getattr(outlayer, function)(logits, ids, **defaults), rtol=1e-15)
    value, grad = loss.with_grad(logits, ids, reduction="sum")
    expected_value, expected_grad = getattr(losses, f"{function}_with_grad")(logits, ids, reduction="sum", **defaults)
    np.testing.assert_allclose(value, expected_value, rtol=1e-15)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-15)


def test_registry_label_smoothing_can_be_overridden() -> None:
    logits, ids = random_problem(51)
    got = losses.get_loss("ce-smooth").value(logits, ids, label_smoothing=0.25)
    np.testing.assert_allclose(got, outlayer.cross_entropy(logits, ids, label_smoothing=0.25), rtol=1e-15)


def test_unknown_loss_name_lists_the_known_names() -> None:
    with pytest.raises(ValueError, match="hinge") as info:
        losses.get_loss("hinge")
    for name in ("ce", "mse", "mse-logits", "ce-smooth"):
        assert name in str(info.value)


def test_a_zero_weight_target_whose_logit_is_minus_inf_counts_for_nothing_not_nan() -> None:
    logits = np.array([[-np.inf, 0.0, 1.0], [0.3, 0.2, 0.1]])
    with np.errstate(all="raise"):  # no 0 * inf along the way either
        loss, grad = outlayer.cross_entropy_with_grad(logits, np.array([0, 1]), weight=[0.0, 1.0, 1.0], reduction="none")
    assert loss[0] == 0.0 and np.all(grad[0] == 0.0)
    assert np.isfinite(loss[1])


def test_cross_entropy_of_a_row_with_no_finite_logit_is_inf() -> None:
    loss = outlayer.cross_entropy(np.full((1, 3), -np.inf), np.array([1]), reduction="none")
    assert loss[0] == np.inf
