"""Any array library: NumPy, PyTorch and array-api-strict in, the same library out, the same numbers.

array-api-strict 2.x defaults to the newest standard it implements (2025.12 for 2.6), which has
every function outlayer uses; we check that explicitly instead of setting flags.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_strict
import numpy as np
import pytest
import torch

import outlayer
from outlayer import losses

LIBRARIES = ("numpy", "torch", "array_api_strict")
STRICT_ARRAY = type(array_api_strict.asarray(0.0))  # the package does not export its array class


def to_library(a: np.ndarray, library: str) -> Any:
    if library == "numpy":
        return a
    if library == "torch":
        return torch.from_numpy(np.ascontiguousarray(a))
    return array_api_strict.asarray(a)


def to_numpy(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().numpy()
    if isinstance(a, STRICT_ARRAY):
        return np.from_dlpack(a)
    return np.asarray(a)


def is_of_library(a: Any, library: str) -> bool:
    kind = {"numpy": np.ndarray, "torch": torch.Tensor, "array_api_strict": STRICT_ARRAY}[library]
    return isinstance(a, kind)


def problem(seed: int = 0, n: int = 5, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(scale=2.0, size=(n, k)), rng.integers(0, k, size=n)


def test_installed_array_api_strict_implements_a_standard_with_everything_we_call() -> None:
    version = array_api_strict.get_array_api_strict_flags()["api_version"]
    assert version >= "2023.12", f"array-api-strict defaults to {version}; outlayer needs 2023.12 or newer"
    for name in ("moveaxis", "take_along_axis", "isdtype", "astype", "where"):
        assert hasattr(array_api_strict, name), name


# ----------------------------------------------------------------------------- same type, same numbers


ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "softmax": outlayer.softmax,
    "log_softmax": outlayer.log_softmax,
    "logsumexp": outlayer.logsumexp,
    "sigmoid": outlayer.sigmoid,
    "log_sigmoid": outlayer.log_sigmoid,
    "softmax-T2": lambda x: outlayer.softmax(x, temperature=2.0),
}


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_return_the_input_library_and_the_numpy_values(library: str, name: str) -> None:
    x, _ = problem(1)
    x[0, 1] = -np.inf
    got = ACTIVATIONS[name](to_library(x, library))
    assert is_of_library(got, library)
    assert got.dtype == to_library(x, library).dtype
    np.testing.assert_allclose(to_numpy(got), ACTIVATIONS[name](x), rtol=1e-13)


@pytest.mark.parametrize("library", LIBRARIES)
def test_where_mask_works_in_every_library(library: str) -> None:
    x, _ = problem(2)
    where = np.array([[True, False, True, True]] * 4 + [[False] * 4])
    got = outlayer.softmax(to_library(x, library), where=to_library(where, library))
    assert is_of_library(got, library)
    np.testing.assert_array_equal(to_numpy(got), outlayer.softmax(x, where=where))


LOSS_CASES: dict[str, tuple[str, dict]] = {
    "ce": ("cross_entropy", {}),
    "ce-weighted-smoothed-ignoring": (
        "cross_entropy",
        {"weight": np.array([0.5, 2.0, 1.0, 3.0]), "label_smoothing": 0.1, "ignore_index": 1},
    ),
    "ce-soft-targets": ("cross_entropy", {"soft": True}),
    "mse": ("mse", {}),
    "mse-logits-rescaled": ("mse", {"on": "logits", "true_class_weight": 2.0, "true_class_target": 5.0}),
    "nll": ("nll_loss", {"weight": np.array([0.5, 2.0, 1.0, 3.0])}),
}


def loss_arguments(case: str, library: str) -> tuple[str, Any, Any, dict, np.ndarray, np.ndarray, dict]:
    name, options = LOSS_CASES[case]
    options = dict(options)
    logits, ids = problem(3)
    ids[0] = 1
    target: np.ndarray = ids
    if options.pop("soft", False):
        target = outlayer.softmax(np.roll(logits, 1, axis=0))
    if name == "nll_loss":
        logits = outlayer.log_softmax(logits)
    library_options = {k: to_library(v, library) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    return name, to_library(logits, library), to_library(target, library), library_options, logits, target, options


@pytest.mark.parametrize("reduction", ["none", "mean"])
@pytest.mark.parametrize("library", ["torch", "array_api_strict"])
@pytest.mark.parametrize("case", LOSS_CASES)
def test_losses_and_gradients_compute_in_the_input_library(case: str, library: str, reduction: str) -> None:
    name, logits, target, options, np_logits, np_target, np_options = loss_arguments(case, library)
    value, grad = getattr(losses, f"{name}_with_grad")(logits, target, reduction=reduction, **options)
    expected_value, expected_grad = getattr(losses, f"{name}_with_grad")(np_logits, np_target, reduction=reduction, **np_options)
    assert is_of_library(value, library)
    assert is_of_library(grad, library)
    np.testing.assert_allclose(to_numpy(value), expected_value, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(to_numpy(grad), expected_grad, rtol=1e-12, atol=1e-15)
    plain = getattr(outlayer, name)(logits, target, reduction=reduction, **options)
    assert is_of_library(plain, library)
    np.testing.assert_allclose(to_numpy(plain), expected_value, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("library", ["torch", "array_api_strict"])
def test_binary_cross_entropy_computes_in_the_input_library(library: str) -> None:
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(4, 3)), rng.uniform(size=(4, 3))
    pos_weight = np.array([1.0, 2.0, 0.5])
    value, grad = losses.binary_cross_entropy_with_grad(
        to_library(z, library), to_library(y, library), pos_weight=to_library(pos_weight, library)
    )
    expected_value, expected_grad = losses.binary_cross_entropy_with_grad(z, y, pos_weight=pos_weight)
    assert is_of_library(value, library) and is_of_library(grad, library)
    np.testing.assert_allclose(to_numpy(value), expected_value, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(grad), expected_grad, rtol=1e-12)


@pytest.mark.parametrize("library", ["torch", "array_api_strict"])
def test_mean_over_nothing_is_zero_in_every_library(library: str) -> None:
    logits, _ = problem(5, n=3)
    ids = np.full(3, -100)
    value, grad = losses.cross_entropy_with_grad(to_library(logits, library), to_library(ids, library), ignore_index=-100)
    assert float(to_numpy(value)) == 0.0
    assert np.all(to_numpy(grad) == 0.0)


# ----------------------------------------------------------------------------- dtypes


def test_one_hot_default_dtype_is_each_librarys_default_float() -> None:
    labels = np.array([0, 2, 1])
    assert outlayer.one_hot(labels, 3).dtype == np.float64
    torch_hot = outlayer.one_hot(torch.from_numpy(labels), 3)
    assert isinstance(torch_hot, torch.Tensor) and torch_hot.dtype == torch.get_default_dtype()
    strict_hot = outlayer.one_hot(array_api_strict.asarray(labels), 3)
    assert isinstance(strict_hot, STRICT_ARRAY) and strict_hot.dtype == array_api_strict.float64
    for hot in (torch_hot, strict_hot):
        np.testing.assert_array_equal(to_numpy(hot), np.eye(3)[labels])


def test_one_hot_error_names_value_and_index_for_torch_labels() -> None:
    with pytest.raises(ValueError, match=r"label 7 at index \(1, 0\)"):
        outlayer.one_hot(torch.tensor([[0, 1], [7, 2]]), 5)


def test_torch_float32_stays_float32() -> None:
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    assert outlayer.softmax(x).dtype == torch.float32
    value, grad = losses.cross_entropy_with_grad(x, torch.tensor([0, 1, 3]))
    assert value.dtype == torch.float32 and grad.dtype == torch.float32


@pytest.mark.parametrize("function", ["softmax", "log_softmax", "logsumexp", "sigmoid", "log_sigmoid"])
def test_torch_bfloat16_is_computed_in_float32_and_returned_in_bfloat16(function: str) -> None:
    x = torch.randn(20, 8, generator=torch.Generator().manual_seed(1)).mul(5).to(torch.bfloat16)
    got = getattr(outlayer, function)(x)
    assert got.dtype == torch.bfloat16
    reference = getattr(outlayer, function)(x.double())
    # rounding the float32 result to bfloat16 is within half a bfloat16 step of the exact value
    bf16_step = torch.finfo(torch.bfloat16).eps * reference.abs().clamp_min(torch.finfo(torch.bfloat16).tiny)
    assert bool(torch.all((got.double() - reference).abs() <= bf16_step))


@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
def test_torch_bfloat16_softmax_agrees_with_torch_computing_in_float32(function: str) -> None:
    x = torch.randn(20, 8, generator=torch.Generator().manual_seed(2)).mul(5).to(torch.bfloat16)
    expected = getattr(torch, function)(x.float(), dim=-1)
    got = getattr(outlayer, function)(x)
    # float32 results may round to neighbouring bfloat16 values when they straddle a midpoint
    one_step = torch.finfo(torch.bfloat16).eps * expected.abs().clamp_min(torch.finfo(torch.bfloat16).tiny)
    assert bool(torch.all((got.float() - expected).abs() <= one_step))


def test_torch_bfloat16_cross_entropy_is_computed_in_float32_and_returned_in_bfloat16() -> None:
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(3)).mul(4).to(torch.bfloat16)
    ids = torch.arange(8) % 6
    loss, grad = losses.cross_entropy_with_grad(x, ids, reduction="none")
    assert loss.dtype == torch.bfloat16 and grad.dtype == torch.bfloat16
    exact_loss, exact_grad = losses.cross_entropy_with_grad(x.double(), ids, reduction="none")
    for got, exact in ((loss, exact_loss), (grad, exact_grad)):
        step = torch.finfo(torch.bfloat16).eps * exact.abs().clamp_min(torch.finfo(torch.bfloat16).tiny)
        assert bool(torch.all((got.double() - exact).abs() <= step))


# ----------------------------------------------------------------------------- autograd agrees with the analytic gradients


AUTOGRAD_CASES: dict[str, tuple[str, dict]] = {
    "ce": ("cross_entropy", {}),
    "ce-weighted-smoothed-ignoring": (
        "cross_entropy",
        {"weight": torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64), "label_smoothing": 0.2, "ignore_index": 1},
    ),
    "mse-probs": ("mse", {}),
    "mse-logits-rescaled": ("mse", {"on": "logits", "true_class_weight": 3.0, "true_class_target": 4.0}),
    "nll": ("nll_loss", {}),
}


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("case", AUTOGRAD_CASES)
def test_torch_autograd_through_outlayer_agrees_with_the_analytic_gradient(case: str, reduction: str) -> None:
    name, options = AUTOGRAD_CASES[case]
    logits_np, ids_np = problem(6, n=6)
    ids_np[:2] = 1
    ids = torch.from_numpy(ids_np)
    x = torch.tensor(logits_np, requires_grad=True)
    getattr(outlayer, name)(x, ids, reduction=reduction, **options).backward()
    _, analytic = getattr(losses, f"{name}_with_grad")(x.detach(), ids, reduction=reduction, **options)
    assert x.grad is not None
    torch.testing.assert_close(x.grad, analytic, rtol=1e-12, atol=1e-14)


def test_torch_autograd_through_binary_cross_entropy_agrees_with_the_analytic_gradient() -> None:
    rng = np.random.default_rng(7)
    x = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    y = torch.tensor(rng.uniform(size=(4, 3)))
    pos_weight = torch.tensor([0.5, 1.0, 4.0], dtype=torch.float64)
    outlayer.binary_cross_entropy(x, y, pos_weight=pos_weight).backward()
    _, analytic = losses.binary_cross_entropy_with_grad(x.detach(), y, pos_weight=pos_weight)
    torch.testing.assert_close(x.grad, analytic, rtol=1e-12, atol=1e-14)


def test_torch_autograd_through_softmax_equals_torch_softmax() -> None:
    x = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(8), requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    upstream = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    (outlayer.softmax(x, temperature=1.5) * upstream).sum().backward()
    (torch.softmax(x_ref / 1.5, dim=-1) * upstream).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-12, atol=1e-14)
