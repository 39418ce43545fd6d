"""The losses against PyTorch: values and autograd gradients, wherever PyTorch is self-consistent.

outlayer's inputs are NumPy float64 arrays; PyTorch gets the same numbers as float64 tensors and
differentiates with autograd. The documented departures from PyTorch (all-ignored mean, weighted
one-hot probability targets, -inf with smoothing) are demonstrated in ``test_policies.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import outlayer
from outlayer import losses

REDUCTIONS = ("none", "sum", "mean")
WEIGHT = np.array([0.5, 2.0, 1.0, 3.0, 0.25])


def torch_value_and_grad(loss_fn, logits: np.ndarray, *args, **kwargs) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """PyTorch's loss and d(sum of loss)/d(logits) by autograd, as NumPy arrays."""
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    value = loss_fn(x, *args, **kwargs)
    value.sum().backward()
    return value.detach().numpy(), x.grad.numpy()


def as_tensor(a: np.ndarray | None) -> torch.Tensor | None:
    return None if a is None else torch.from_numpy(np.asarray(a))


def problem(seed: int, shape: tuple[int, ...] = (7,), k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=2.0, size=(*shape, k))
    ids = rng.integers(0, k, size=shape)
    ids.flat[::3] = 2  # so that ignore_index=2 always has rows to ignore and rows to keep
    return logits, ids


def assert_close(got: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize(
    ("reduction", "use_weight", "ignore_index", "label_smoothing"),
    list(itertools.product(REDUCTIONS, (False, True), (None, 2), (0.0, 0.2))),
)
def test_ce_with_integer_targets_equals_torch(
    reduction: str, use_weight: bool, ignore_index: int | None, label_smoothing: float
) -> None:
    logits, ids = problem(0)
    weight = WEIGHT if use_weight else None
    options = {"weight": weight, "ignore_index": ignore_index, "label_smoothing": label_smoothing, "reduction": reduction}
    torch_options = {
        "weight": as_tensor(weight),
        "ignore_index": -100 if ignore_index is None else ignore_index,
        "label_smoothing": label_smoothing,
        "reduction": reduction,
    }
    expected, expected_grad = torch_value_and_grad(F.cross_entropy, logits, as_tensor(ids), **torch_options)
    got, grad = losses.cross_entropy_with_grad(logits, ids, **options)
    assert_close(got, expected)
    assert_close(grad, expected_grad)
    assert_close(outlayer.cross_entropy(logits, ids, **options), expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_ce_with_soft_probability_targets_equals_torch(reduction: str, label_smoothing: float) -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(6, 5))
    q = rng.dirichlet(np.ones(5), size=6)
    expected, expected_grad = torch_value_and_grad(
        F.cross_entropy, logits, as_tensor(q), label_smoothing=label_smoothing, reduction=reduction
    )
    got, grad = losses.cross_entropy_with_grad(logits, q, label_smoothing=label_smoothing, reduction=reduction)
    assert_close(got, expected)
    assert_close(grad, expected_grad)


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_ce_with_soft_targets_and_class_weights_equals_torch_without_a_mean(reduction: str) -> None:
    # torch's weighted probability-target *mean* divides by N (pytorch#107680); none and sum agree
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=2.0, size=(6, 5))
    q = rng.dirichlet(np.ones(5), size=6)
    expected, expected_grad = torch_value_and_grad(
        F.cross_entropy, logits, as_tensor(q), weight=as_tensor(WEIGHT), label_smoothing=0.1, reduction=reduction
    )
    got, grad = losses.cross_entropy_with_grad(logits, q, weight=WEIGHT, label_smoothing=0.1, reduction=reduction)
    assert_close(got, expected)
    assert_close(grad, expected_grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ce_on_k_dimensional_inputs_equals_torch_with_the_class_axis_moved_to_dim_1(reduction: str) -> None:
    logits, ids = problem(3, shape=(3, 4, 2), k=5)  # (N, d1, d2, K) with outlayer's axis=-1
    options = {"weight": WEIGHT, "ignore_index": 2, "label_smoothing": 0.1, "reduction": reduction}
    torch_logits = np.moveaxis(logits, -1, 1)  # torch wants (N, K, d1, d2)
    expected, expected_grad = torch_value_and_grad(
        F.cross_entropy, torch_logits, as_tensor(ids), **{**options, "weight": as_tensor(WEIGHT)}
    )
    got, grad = losses.cross_entropy_with_grad(logits, ids, **options)
    assert_close(got, expected)
    assert_close(np.moveaxis(grad, -1, 1), expected_grad)
    # and with outlayer's axis=1 the layouts coincide
    got_axis1, grad_axis1 = losses.cross_entropy_with_grad(torch_logits, ids, axis=1, **options)
    assert_close(got_axis1, expected)
    assert_close(grad_axis1, expected_grad)


def test_ce_with_extreme_logits_equals_torch() -> None:
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, -np.inf, 3.0]])
    ids = np.array([0, 0, 2])
    expected, expected_grad = torch_value_and_grad(F.cross_entropy, logits, as_tensor(ids), reduction="none")
    got, grad = losses.cross_entropy_with_grad(logits, ids, reduction="none")
    assert_close(got, expected)
    assert_close(grad, expected_grad)


# ----------------------------------------------------------------------------- MSE


def torch_mse_per_sample(x: torch.Tensor, rows: torch.Tensor, on: str, k: float = 1.0, m: float = 1.0) -> torch.Tensor:
    outputs = torch.softmax(x, dim=-1) if on == "probs" else x
    return ((1 + (k - 1) * rows) * (outputs - m * rows) ** 2).sum(-1)


@pytest.mark.parametrize("on", ["probs", "logits"])
def test_mse_mean_is_k_times_torch_mse_loss(on: str) -> None:
    logits, ids = problem(10)
    k = logits.shape[-1]
    rows = F.one_hot(as_tensor(ids), k).double()

    def torch_mse(x: torch.Tensor) -> torch.Tensor:
        outputs = torch.softmax(x, dim=-1) if on == "probs" else x
        return k * F.mse_loss(outputs, rows, reduction="mean")

    expected, expected_grad = torch_value_and_grad(torch_mse, logits)
    got, grad = losses.mse_with_grad(logits, ids, on=on, reduction="mean")
    assert_close(got, expected)
    assert_close(grad, expected_grad)


@pytest.mark.parametrize("on", ["probs", "logits"])
def test_mse_sum_equals_torch_mse_loss_sum(on: str) -> None:
    logits, ids = problem(11)
    rows = F.one_hot(as_tensor(ids), logits.shape[-1]).double()
    outputs = torch.softmax(torch.from_numpy(logits), -1) if on == "probs" else torch.from_numpy(logits)
    assert_close(outlayer.mse(logits, ids, on=on, reduction="sum"), F.mse_loss(outputs, rows, reduction="sum").numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("on", "k", "m"), [("probs", 1.0, 1.0), ("logits", 1.0, 1.0), ("probs", 3.0, 2.0), ("logits", 2.0, 15.0)])
def test_mse_gradient_equals_torch_autograd(reduction: str, on: str, k: float, m: float) -> None:
    logits, ids = problem(12)
    rows = F.one_hot(as_tensor(ids), logits.shape[-1]).double()
    reduce = {"none": lambda v: v, "sum": torch.sum, "mean": torch.mean}[reduction]
    expected, expected_grad = torch_value_and_grad(lambda x: reduce(torch_mse_per_sample(x, rows, on, k, m)), logits)
    got, grad = losses.mse_with_grad(logits, ids, on=on, reduction=reduction, true_class_weight=k, true_class_target=m)
    assert_close(got, expected)
    assert_close(grad, expected_grad)


# ----------------------------------------------------------------------------- binary cross-entropy


@pytest.mark.parametrize(
    ("reduction", "use_pos_weight", "use_weight"), list(itertools.product(REDUCTIONS, (False, True), (False, True)))
)
def test_bce_equals_torch_binary_cross_entropy_with_logits(reduction: str, use_pos_weight: bool, use_weight: bool) -> None:
    rng = np.random.default_rng(20)
    z = rng.normal(scale=3.0, size=(5, 3))
    z[0] = [1e4, -1e4, 0.0]
    y = rng.uniform(size=(5, 3))
    pos_weight = np.array([2.0, 0.5, 1.5]) if use_pos_weight else None
    weight = rng.uniform(0.5, 2.0, size=(5, 3)) if use_weight else None
    expected, expected_grad = torch_value_and_grad(
        F.binary_cross_entropy_with_logits,
        z,
        as_tensor(y),
        pos_weight=as_tensor(pos_weight),
        weight=as_tensor(weight),
        reduction=reduction,
    )
    got, grad = losses.binary_cross_entropy_with_grad(z, y, pos_weight=pos_weight, weight=weight, reduction=reduction)
    assert_close(got, expected)
    assert_close(grad, expected_grad)


# ----------------------------------------------------------------------------- NLL


@pytest.mark.parametrize(
    ("reduction", "use_weight", "ignore_index"), list(itertools.product(REDUCTIONS, (False, True), (None, 2)))
)
def test_nll_equals_torch_nll_loss(reduction: str, use_weight: bool, ignore_index: int | None) -> None:
    logits, ids = problem(30, shape=(4, 3))  # K-dimensional: (N, d1, K)
    log_probs = torch.log_softmax(torch.from_numpy(logits), -1).numpy()
    weight = WEIGHT if use_weight else None
    expected, expected_grad = torch_value_and_grad(
        F.nll_loss,
        np.moveaxis(log_probs, -1, 1),
        as_tensor(ids),
        weight=as_tensor(weight),
        ignore_index=-100 if ignore_index is None else ignore_index,
        reduction=reduction,
    )
    got, grad = losses.nll_loss_with_grad(log_probs, ids, weight=weight, ignore_index=ignore_index, reduction=reduction)
    assert_close(got, expected)
    assert_close(np.moveaxis(grad, -1, 1), expected_grad)
