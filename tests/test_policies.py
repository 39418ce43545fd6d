"""One test per row of the README's policy table: where PyTorch, JAX/Optax, Keras and scikit-learn
disagree, what outlayer does. Where the competitor is installed (PyTorch, SciPy) its behaviour is
computed in the same test, so the difference is demonstrated rather than asserted. JAX and Keras are
not test dependencies; their rule is written out where it is a one-liner (JAX's one-hot).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sps
import torch
import torch.nn.functional as F

import outlayer
from outlayer import losses


def test_policy_mean_over_all_ignored_targets_is_zero_with_zero_gradient() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]])
    ids = np.array([-100, -100])

    loss, grad = losses.cross_entropy_with_grad(logits, ids, ignore_index=-100)
    assert float(loss) == 0.0
    assert np.all(grad == 0.0)

    x = torch.tensor(logits, requires_grad=True)
    torch_loss = F.cross_entropy(x, torch.from_numpy(ids), ignore_index=-100)
    torch_loss.backward()
    assert torch.isnan(torch_loss)  # PyTorch: 0/0 ...
    assert torch.all(x.grad == 0)  # ... yet a zero gradient, so NaN is the loss of no gradient at all

    # the same policy for an empty batch, where PyTorch is NaN as well
    empty_loss, empty_grad = losses.cross_entropy_with_grad(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
    assert float(empty_loss) == 0.0 and empty_grad.shape == (0, 3)
    assert torch.isnan(F.cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)))


def test_policy_one_hot_probability_targets_with_class_weights_equal_integer_targets() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 3))
    ids = np.array([0, 1, 2, 2, 1, 2])
    rows = outlayer.one_hot(ids, 3)
    weight = np.array([1.0, 2.0, 3.0])

    by_id, grad_id = losses.cross_entropy_with_grad(logits, ids, weight=weight)
    by_row, grad_row = losses.cross_entropy_with_grad(logits, rows, weight=weight)
    assert float(by_row) == pytest.approx(float(by_id), rel=1e-14)
    np.testing.assert_allclose(grad_row, grad_id, rtol=1e-13)

    # PyTorch's probability-target mean divides by N, not by the total weight (pytorch#107680)
    x, t_w = torch.from_numpy(logits), torch.from_numpy(weight)
    torch_by_id = F.cross_entropy(x, torch.from_numpy(ids), weight=t_w).item()
    torch_by_row = F.cross_entropy(x, torch.from_numpy(rows), weight=t_w).item()
    assert torch_by_id == pytest.approx(float(by_id), rel=1e-12)
    assert torch_by_row == pytest.approx(torch_by_id * weight[ids].sum() / len(ids), rel=1e-12)
    assert abs(torch_by_row - torch_by_id) > 0.1


def test_policy_out_of_range_one_hot_raises_by_default_and_gives_zeros_on_request() -> None:
    labels = np.array([0, 5, 2, -1])

    with pytest.raises(ValueError, match=r"label 5 at index 1 is out of range for num_classes=3"):
        outlayer.one_hot(labels, 3)
    with pytest.raises(RuntimeError):  # PyTorch refuses too, without naming the label or where it is
        F.one_hot(torch.from_numpy(labels), 3)

    zeros = outlayer.one_hot(labels, 3, out_of_range="zeros")
    jax_rule = (labels[:, None] == np.arange(3)).astype(np.float64)  # jax.nn.one_hot: compare with arange
    np.testing.assert_array_equal(zeros, jax_rule)
    np.testing.assert_array_equal(zeros.sum(axis=-1), [1.0, 0.0, 1.0, 0.0])


def test_policy_softmax_default_axis_is_the_last_unlike_scipy() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])

    probs = outlayer.softmax(x)
    np.testing.assert_allclose(probs, sps.softmax(x, axis=-1), rtol=1e-15)
    np.testing.assert_allclose(probs.sum(axis=-1), [1.0, 1.0], rtol=1e-15)

    scipy_default = sps.softmax(x)  # axis=None: one distribution over all four entries
    assert scipy_default.sum() == pytest.approx(1.0)
    assert not np.allclose(scipy_default, probs)
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(x), dim=-1).numpy(), rtol=1e-15)
    with pytest.warns(UserWarning, match="[Ii]mplicit dimension"):  # PyTorch wants dim spelled out
        F.softmax(torch.from_numpy(x))


def test_policy_label_smoothing_with_a_minus_inf_logit_stays_finite() -> None:
    logits = np.array([[2.0, -np.inf, 0.5]])
    ids = np.array([0])
    eps = 0.1

    loss, grad = losses.cross_entropy_with_grad(logits, ids, label_smoothing=eps)
    # smoothing spreads over the two classes that have a finite logit
    q = np.array([1 - eps + eps / 2, 0.0, eps / 2])
    expected = -(q[[0, 2]] * sps.log_softmax(logits[0, [0, 2]])).sum()
    assert float(loss) == pytest.approx(expected, rel=1e-13)
    assert np.all(np.isfinite(grad))

    torch_loss = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(ids), label_smoothing=eps)
    assert torch.isinf(torch_loss)  # PyTorch puts eps/K on the -inf class: eps/K * (+inf)


def test_policy_float16_logits_are_computed_in_float32_and_returned_in_float16() -> None:
    x = (np.random.default_rng(0).standard_normal((50, 10)) * 3).astype(np.float16)
    exact_probs = sps.softmax(x.astype(np.float64), axis=-1)
    exact_log_probs = sps.log_softmax(x.astype(np.float64), axis=-1)

    def worst_float16_ulps(got: np.ndarray, exact: np.ndarray) -> float:
        spacing = np.spacing(np.abs(exact).astype(np.float16)).astype(np.float64)
        return float(np.max(np.abs(got.astype(np.float64) - exact) / spacing))

    probs, log_probs = outlayer.softmax(x), outlayer.log_softmax(x)
    assert probs.dtype == np.float16 and log_probs.dtype == np.float16
    assert worst_float16_ulps(probs, exact_probs) <= 1.0
    assert worst_float16_ulps(log_probs, exact_log_probs) <= 1.0

    # SciPy computes in float16 and is off by several steps
    scipy_probs, scipy_log_probs = sps.softmax(x, axis=-1), sps.log_softmax(x, axis=-1)
    assert scipy_probs.dtype == np.float16
    assert worst_float16_ulps(scipy_probs, exact_probs) > 2.0
    assert worst_float16_ulps(scipy_log_probs, exact_log_probs) > 2.0
    # PyTorch's CPU log_softmax rounds the log-normaliser to float16 before subtracting
    torch_log_probs = torch.log_softmax(torch.from_numpy(x), dim=-1)
    assert torch_log_probs.dtype == torch.float16
    assert worst_float16_ulps(torch_log_probs.numpy(), exact_log_probs) > 2.0
    # and the unshifted textbook formula overflows float16 for a logit of 12 (exp(12) > 65504)
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(np.float16(12.0)))
    assert np.isfinite(outlayer.softmax(np.array([12.0, 0.0], dtype=np.float16))).all()


def test_policy_fully_masked_softmax_row_gives_zeros_not_nan() -> None:
    x = np.array([[0.5, 1.0, -2.0], [0.5, 1.0, -2.0]])
    where = np.array([[False, False, False], [True, False, True]])

    probs = outlayer.softmax(x, where=where)
    np.testing.assert_array_equal(probs[0], [0.0, 0.0, 0.0])
    assert np.all(outlayer.log_softmax(x, where=where)[0] == -np.inf)
    assert probs[1].sum() == pytest.approx(1.0)

    # PyTorch and SciPy mask by -inf logits, and a row of -inf is 0/0 = NaN there
    masked = np.where(where, x, -np.inf)
    assert torch.all(torch.isnan(torch.softmax(torch.from_numpy(masked), dim=-1)[0]))
    with np.errstate(invalid="ignore"):
        assert np.all(np.isnan(sps.softmax(masked, axis=-1)[0]))


def test_policy_mse_sums_over_classes_and_averages_over_samples() -> None:
    from sklearn.metrics import mean_squared_error

    rng = np.random.default_rng(1)
    logits = rng.normal(size=(6, 4))
    ids = np.array([0, 1, 2, 3, 1, 0])
    probs, rows = outlayer.softmax(logits), outlayer.one_hot(ids, 4)

    per_sample_sum = ((probs - rows) ** 2).sum(axis=-1)
    assert float(outlayer.mse(logits, ids)) == pytest.approx(per_sample_sum.mean(), rel=1e-14)

    # PyTorch's MSELoss and scikit-learn's mean_squared_error also average over the K classes
    torch_mean = F.mse_loss(torch.from_numpy(probs), torch.from_numpy(rows)).item()
    sklearn_mean = mean_squared_error(rows, probs)
    assert float(outlayer.mse(logits, ids)) == pytest.approx(4 * torch_mean, rel=1e-13)
    assert float(outlayer.mse(logits, ids)) == pytest.approx(4 * sklearn_mean, rel=1e-13)


def test_policy_nan_or_plus_inf_logits_are_refused_on_every_path() -> None:
    from outlayer import InputError

    logits = np.array([[0.5, np.nan, 1.0], [0.0, 1.0, 2.0]])
    ids = np.array([0, 2])
    for impl in ("reference", "numba"):
        with pytest.raises(InputError, match=r"logits must be finite or -inf, got nan at index \(0, 1\)"):
            outlayer.cross_entropy(logits, ids, impl=impl)
    with pytest.raises(InputError, match=r"got inf at index \(1, 2\)"):
        outlayer.cross_entropy(np.array([[0.5, 0.1, 1.0], [0.0, 1.0, np.inf]]), ids)
    with pytest.raises(InputError, match="finite or -inf"):  # the torch drop-in, through the fused kernel
        from outlayer.torch import cross_entropy

        cross_entropy(torch.from_numpy(logits), torch.from_numpy(ids))
    # PyTorch returns NaN: one bad logit silently poisons the batch's loss and every gradient
    assert torch.isnan(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(ids)))


def test_policy_negative_class_weights_are_refused_on_every_path() -> None:
    from outlayer import InputError

    logits = np.random.default_rng(2).normal(size=(4, 3))
    ids = np.array([0, 1, 2, 1])
    weight = np.array([1.0, -1.0, 1.0])
    for impl in ("reference", "numba"):
        with pytest.raises(InputError, match=r"weight must be finite and non-negative, got -1.0 at index 1"):
            outlayer.cross_entropy(logits, ids, weight=weight, impl=impl)
    with pytest.raises(InputError, match="non-negative"):
        outlayer.cross_entropy(logits, outlayer.one_hot(ids, 3), weight=weight)
    from outlayer.linear_ce import linear_cross_entropy

    with pytest.raises(InputError, match="class_weight must be finite and non-negative"):
        linear_cross_entropy(np.eye(4), logits.T.copy(), ids, class_weight=weight)
    # PyTorch computes with them: here the "mean" divides by w_0 + w_1 + w_2 + w_1 = 0
    torch_loss = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(ids), weight=torch.from_numpy(weight))
    assert not torch.isfinite(torch_loss)


def test_policy_unnormalised_probability_targets_are_accepted_and_the_mean_divides_by_their_mass() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3, 4))
    rows = np.array([[0.5, 0.5, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])  # sums 1, 3 and 0
    per_row = outlayer.cross_entropy(logits, rows, reduction="none")
    np.testing.assert_allclose(per_row, -(rows * sps.log_softmax(logits, axis=1)).sum(axis=1), rtol=1e-14)  # linear in t
    assert float(outlayer.cross_entropy(logits, rows)) == pytest.approx(per_row.sum() / 4.0, rel=1e-14)  # mass 1 + 3 + 0
    # weight=None is a weight of ones, and a zero row counts for nothing, like an ignored id
    assert float(outlayer.cross_entropy(logits, rows, weight=np.ones(4))) == pytest.approx(float(outlayer.cross_entropy(logits, rows)), rel=1e-14)
    assert float(outlayer.cross_entropy(logits[:2], rows[:2])) == pytest.approx(float(outlayer.cross_entropy(logits, rows)), rel=1e-14)
    # PyTorch divides by N = 3 whatever the mass
    torch_mean = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(rows)).item()
    assert torch_mean == pytest.approx(per_row.sum() / 3, rel=1e-12)
    assert torch_mean != pytest.approx(float(outlayer.cross_entropy(logits[:2], rows[:2])), rel=1e-3)
    # negative entries are refused (PyTorch computes with them)
    from outlayer import InputError

    with pytest.raises(InputError, match=r"target probabilities must be finite and non-negative, got -0.5 at index \(0, 1\)"):
        outlayer.cross_entropy(logits, np.array([[1.5, -0.5, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], dtype=float))
    assert torch.isfinite(F.cross_entropy(torch.from_numpy(logits), torch.tensor([[1.5, -0.5, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], dtype=torch.float64)))


def test_policy_zero_dimensional_input_to_the_softmax_family_is_one_class_as_in_pytorch() -> None:
    x = np.float64(3.0)
    assert outlayer.softmax(x) == 1.0 and outlayer.log_softmax(x) == 0.0
    assert outlayer.logsumexp(x) == 3.0 and outlayer.logsumexp(x, temperature=2.0) == 1.5
    assert np.shape(outlayer.softmax(x)) == ()
    t = torch.tensor(3.0, dtype=torch.float64)
    assert torch.softmax(t, -1).item() == 1.0 and torch.log_softmax(t, 0).item() == 0.0 and torch.logsumexp(t, 0).item() == 3.0
    assert float(sps.softmax(3.0)) == 1.0  # SciPy agrees
    # cross-entropy needs a class axis (PyTorch refuses 0-d input too)
    from outlayer import InputError

    with pytest.raises(InputError, match="logits must be an array with a class axis, got '?a 0-d array"):
        outlayer.cross_entropy(x, np.int64(0))


def test_policy_nan_labels_are_one_class_sorted_last_as_in_scikit_learn() -> None:
    from sklearn.preprocessing import LabelEncoder

    labels = [1.0, float("nan"), 2.0, np.nan]
    coder = outlayer.LabelCoder().fit(labels)
    encoder = LabelEncoder().fit(labels)
    assert coder.n_classes_ == 3 == len(encoder.classes_)
    np.testing.assert_array_equal(coder.classes_, encoder.classes_)  # [1, 2, nan]: NaN last
    np.testing.assert_array_equal(coder.encode(labels), encoder.transform(labels))
    assert len(set(labels)) == 4  # what a plain set makes of them: every NaN object a class of its own


def test_policy_masked_arrays_are_refused_rather_than_losing_their_mask() -> None:
    from outlayer import InputError

    logits = np.ma.masked_array([[2.0, 1000.0, 0.1]], mask=[[False, True, False]])
    with pytest.raises(InputError, match="masked array with 1 masked entries"):
        outlayer.cross_entropy(logits, np.array([0]))
    with pytest.raises(InputError, match="masked array"):
        outlayer.softmax(logits)
    # what np.asarray does with it: the mask is gone, and the masked 1000 dominates (loss 998)
    assert float(outlayer.cross_entropy(np.asarray(logits), np.array([0]))) == pytest.approx(998.0, rel=1e-6)
    # the mask's meaning, spelt out: a masked class is a -inf logit
    expected = -sps.log_softmax([2.0, 0.1])[0]  # 0.139: only the two unmasked classes compete
    assert float(outlayer.cross_entropy(logits.filled(-np.inf), np.array([0]))) == pytest.approx(expected, rel=1e-14)
    # a masked array that masks nothing is just an array
    assert float(outlayer.cross_entropy(np.ma.masked_array([[2.0, 1.0, 0.1]]), np.array([0]))) == pytest.approx(0.4170, abs=1e-4)


def test_policy_ignore_index_with_probability_targets_is_refused_unless_left_at_its_default() -> None:
    from outlayer import InputError
    from outlayer.torch import cross_entropy as torch_drop_in

    rng = np.random.default_rng(5)
    logits = torch.from_numpy(rng.normal(size=(3, 4)))
    rows = torch.softmax(torch.from_numpy(rng.normal(size=(3, 4))), dim=1)
    # the default (-100, which no class id can be) is accepted, and the value is PyTorch's
    assert torch_drop_in(logits, rows).item() == pytest.approx(F.cross_entropy(logits, rows).item(), rel=1e-12)
    for index in (0, 3):
        with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
            F.cross_entropy(logits, rows, ignore_index=index)  # PyTorch refuses it too, in its own words
        with pytest.raises(InputError, match=rf"ignore_index must be None with probability targets .*got {index}; zero a row's probabilities"):
            torch_drop_in(logits, rows, ignore_index=index)
        with pytest.raises(InputError, match=rf"ignore_index must be None with probability targets .*got {index}"):
            outlayer.cross_entropy(logits.numpy(), rows.numpy(), ignore_index=index)
