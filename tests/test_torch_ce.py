"""outlayer.torch.cross_entropy / CrossEntropyLoss: a drop-in for PyTorch's, fused on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from outlayer import _dispatch  # noqa: E402
from outlayer.kernels import cpu as kernels_cpu  # noqa: E402
from outlayer.torch import CrossEntropyLoss, cross_entropy  # noqa: E402

numba_only = pytest.mark.skipif(not _dispatch.numba_usable(), reason="numba is not installed: only the reference path exists")

OPTION_SETS = [
    {},
    {"weight": True},
    {"ignore_index": 3},
    {"label_smoothing": 0.15},
    {"weight": True, "ignore_index": 3, "label_smoothing": 0.3},
]
TOLERANCE = {torch.float32: {"rtol": 2e-5, "atol": 2e-6}, torch.float64: {"rtol": 1e-12, "atol": 1e-14}}


def _problem(n: int, v: int, dtype: torch.dtype, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, v, generator=generator, dtype=torch.float64) * 3).to(dtype)
    target = torch.randint(0, v, (n,), generator=generator)
    target[::4] = 3  # some rows hit ignore_index=3 when it is set
    weight = torch.rand(v, generator=generator, dtype=torch.float64).add(0.1).to(dtype)
    return logits, target, weight


def _both(logits: torch.Tensor, target: torch.Tensor, impl: str = "auto", **options: object) -> tuple[torch.Tensor, ...]:
    ours = logits.clone().requires_grad_()
    theirs = logits.clone().requires_grad_()
    loss = cross_entropy(ours, target, impl=impl, **options)
    expected = F.cross_entropy(theirs, target, **options)
    loss.sum().backward()
    expected.sum().backward()
    return loss, expected, ours.grad, theirs.grad


def _torch_options(spec: dict, weight: torch.Tensor) -> dict:
    options = dict(spec)
    if options.pop("weight", False):
        options["weight"] = weight
    return options


@numba_only
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("spec", OPTION_SETS, ids=lambda s: "-".join(s) or "plain")
def test_loss_and_gradient_equal_torch(dtype: torch.dtype, reduction: str, spec: dict) -> None:
    logits, target, weight = _problem(24, 2049, dtype)
    loss, expected, grad, expected_grad = _both(logits, target, impl="numba", reduction=reduction, **_torch_options(spec, weight))
    assert loss.dtype == dtype and loss.shape == expected.shape
    assert type(loss.grad_fn).__name__ == "_FusedCrossEntropyBackward"
    torch.testing.assert_close(loss, expected, **TOLERANCE[dtype])
    torch.testing.assert_close(grad, expected_grad, rtol=TOLERANCE[dtype]["rtol"], atol=TOLERANCE[dtype]["atol"] / 100)


@numba_only
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("spec", OPTION_SETS, ids=lambda s: "-".join(s) or "plain")
def test_bfloat16_equals_torch_within_bfloat16_rounding(reduction: str, spec: dict) -> None:
    logits, target, weight = _problem(16, 1500, torch.bfloat16, seed=1)
    options = _torch_options(spec, weight)
    loss, expected, grad, expected_grad = _both(logits, target, impl="numba", reduction=reduction, **options)
    assert loss.dtype == torch.bfloat16 and grad.dtype == torch.bfloat16
    # The float32 computation on the same bfloat16 values, rounded once: ours is that exactly
    # up to float32 noise; PyTorch's bfloat16 kernels round intermediates and may differ by more.
    exact = logits.float().requires_grad_()
    exact_options = {k: (v.float() if isinstance(v, torch.Tensor) else v) for k, v in options.items()}
    exact_loss = F.cross_entropy(exact, target, reduction=reduction, **exact_options)
    exact_loss.sum().backward()
    torch.testing.assert_close(loss.float(), exact_loss.to(torch.bfloat16).float(), rtol=2**-7, atol=1e-6)
    torch.testing.assert_close(grad.float(), exact.grad.to(torch.bfloat16).float(), rtol=2**-7, atol=1e-9)
    # PyTorch stores log-probabilities in bfloat16 (|log p| ~ 8 has a spacing of 2**-5) and
    # exponentiates them in the backward: its probabilities carry a few percent of error.
    torch.testing.assert_close(loss.float(), expected.float(), rtol=2**-6, atol=1e-3)
    torch.testing.assert_close(grad.float(), expected_grad.float(), rtol=2**-4, atol=1e-5)


@numba_only
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_float64(reduction: str) -> None:
    logits, target, weight = _problem(6, 9, torch.float64, seed=2)
    leaf = logits.clone().requires_grad_()

    def loss_fn(z: torch.Tensor) -> torch.Tensor:
        return cross_entropy(z, target, weight=weight, ignore_index=3, label_smoothing=0.1, reduction=reduction, impl="numba")

    assert type(loss_fn(leaf).grad_fn).__name__ == "_FusedCrossEntropyBackward"
    assert torch.autograd.gradcheck(loss_fn, (leaf,))


@numba_only
def test_backward_scales_by_the_upstream_gradient_and_survives_a_retained_graph() -> None:
    logits, target, _ = _problem(8, 100, torch.float64, seed=3)
    leaf = logits.clone().requires_grad_()
    loss = cross_entropy(leaf, target, impl="numba") * 3.0
    (first,) = torch.autograd.grad(loss, leaf, retain_graph=True)
    (second,) = torch.autograd.grad(loss, leaf)
    reference = logits.clone().requires_grad_()
    (expected,) = torch.autograd.grad(F.cross_entropy(reference, target) * 3.0, reference)
    torch.testing.assert_close(first, expected)
    torch.testing.assert_close(second, expected)


@numba_only
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_in_place_gradient_equals_the_out_of_place_one(dtype: torch.dtype) -> None:
    logits, target, weight = _problem(12, 700, dtype, seed=4)
    ours = logits.clone().requires_grad_()
    cross_entropy(ours, target, weight=weight, label_smoothing=0.1, impl="numba").backward()
    in_place = logits.clone().requires_grad_()
    cross_entropy(in_place, target, weight=weight, label_smoothing=0.1, inplace=True, impl="numba").backward()
    assert in_place.grad.data_ptr() == in_place.data_ptr()  # no second (N, V) buffer
    torch.testing.assert_close(in_place.grad, ours.grad, rtol=0, atol=0)


@numba_only
def test_in_place_invalidates_other_saved_uses_of_the_logits() -> None:
    logits, target, _ = _problem(4, 30, torch.float32, seed=5)
    leaf = logits.clone().requires_grad_()
    other = (leaf * leaf).sum()  # saves leaf for its backward
    loss = cross_entropy(leaf, target, inplace=True, impl="numba")
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (loss + other).backward()


@numba_only
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_one_dimensional_input_is_one_sample(reduction: str) -> None:
    logits, target, _ = _problem(1, 40, torch.float64, seed=6)
    loss, expected, grad, expected_grad = _both(logits[0], target[0], impl="numba", reduction=reduction, label_smoothing=0.1)
    assert loss.shape == expected.shape == ()
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(grad, expected_grad)


@numba_only
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_k_dimensional_input_runs_the_fused_kernel_and_equals_torch(reduction: str) -> None:
    generator = torch.Generator().manual_seed(7)
    logits = torch.randn(3, 5, 4, 2, generator=generator, dtype=torch.float64)
    target = torch.randint(0, 5, (3, 4, 2), generator=generator)
    target[0, 0, 0] = -100
    weight = torch.rand(5, generator=generator, dtype=torch.float64) + 0.1
    for options in ({"label_smoothing": 0.2}, {"weight": weight, "label_smoothing": 0.1}):
        loss, expected, grad, expected_grad = _both(logits, target, impl="numba", reduction=reduction, **options)
        assert "_FusedCrossEntropyBackward" in str(loss.grad_fn) or "_FusedCrossEntropyBackward" in repr(loss.grad_fn.next_functions)
        torch.testing.assert_close(loss, expected)
        torch.testing.assert_close(grad, expected_grad)


def test_probability_targets_fall_back_and_equal_torch() -> None:
    generator = torch.Generator().manual_seed(8)
    logits = torch.randn(6, 7, generator=generator, dtype=torch.float64)
    probabilities = torch.softmax(torch.randn(6, 7, generator=generator, dtype=torch.float64), dim=1)
    loss, expected, grad, expected_grad = _both(logits, probabilities, label_smoothing=0.1)
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(grad, expected_grad)


def test_without_numba_the_reference_path_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels_cpu, "_numba_importable", False)
    logits, target, weight = _problem(64, 600, torch.float32, seed=9)  # large enough for the kernel otherwise
    loss, expected, grad, expected_grad = _both(logits, target, weight=weight, label_smoothing=0.1)
    assert type(loss.grad_fn).__name__ != "_FusedCrossEntropyBackward"
    torch.testing.assert_close(loss, expected, **TOLERANCE[torch.float32])
    torch.testing.assert_close(grad, expected_grad, **TOLERANCE[torch.float32])


def test_float16_on_cpu_falls_back_to_the_core() -> None:
    logits, target, _ = _problem(5, 20, torch.float16, seed=10)
    leaf = logits.clone().requires_grad_()
    loss = cross_entropy(leaf, target)
    loss.backward()
    exact = logits.float().requires_grad_()
    F.cross_entropy(exact, target).backward()
    assert loss.dtype == torch.float16 and leaf.grad.dtype == torch.float16
    torch.testing.assert_close(loss.float(), F.cross_entropy(logits.float(), target), rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(leaf.grad.float(), exact.grad, rtol=1e-2, atol=1e-4)


@pytest.mark.parametrize("impl", ["numba", "reference"])
def test_mean_over_only_ignored_rows_is_zero_not_nan(impl: str) -> None:
    if impl == "numba" and not _dispatch.numba_usable():
        pytest.skip("numba is not installed")
    logits, _, _ = _problem(4, 6, torch.float32, seed=11)
    leaf = logits.clone().requires_grad_()
    loss = cross_entropy(leaf, torch.full((4,), -100), impl=impl)
    loss.backward()
    assert torch.isnan(F.cross_entropy(logits, torch.full((4,), -100)))  # PyTorch's answer
    assert loss.item() == 0.0 and not leaf.grad.any()


@numba_only
def test_smoothing_never_puts_mass_on_minus_inf_logits() -> None:
    logits, target, _ = _problem(4, 10, torch.float32, seed=12)
    target = torch.tensor([0, 1, 2, 3])
    logits[:, 5:] = float("-inf")
    leaf = logits.clone().requires_grad_()
    loss = cross_entropy(leaf, target, label_smoothing=0.1, impl="numba")
    loss.backward()
    assert torch.isinf(F.cross_entropy(logits, target, label_smoothing=0.1))  # PyTorch's answer
    expected = F.cross_entropy(logits[:, :5], target, label_smoothing=0.1)  # smoothing over the 5 finite classes
    torch.testing.assert_close(loss, expected)
    assert not leaf.grad[:, 5:].any()


@numba_only
def test_module_equals_the_function_and_keeps_weight_as_a_buffer() -> None:
    logits, target, weight = _problem(9, 33, torch.float64, seed=13)
    module = CrossEntropyLoss(weight=weight, ignore_index=3, reduction="sum", label_smoothing=0.05, impl="numba")
    assert "weight" in dict(module.named_buffers())
    expected = F.cross_entropy(logits, target, weight=weight, ignore_index=3, reduction="sum", label_smoothing=0.05)
    torch.testing.assert_close(module(logits, target), expected)
    torch.testing.assert_close(module.float()(logits.float(), target), expected.float(), rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda z, y: cross_entropy(z, y, size_average=True), r"size_average and reduce must be None .*got \(True, None\)"),
        (lambda z, y: cross_entropy(z, y, reduce=False), r"got \(None, False\)"),
        (lambda z, y: cross_entropy(z, y, reduction="avg"), "reduction must be one of 'none', 'mean', 'sum', got 'avg'"),
        (lambda z, y: cross_entropy(z, y, label_smoothing=-0.1), r"label_smoothing must be a number in \[0, 1\], got -0.1"),
        (lambda z, y: cross_entropy(z, y + 1000, impl="numba"), r"target must be class ids in \[0, 8\) or ignore_index=-100, got 10\d\d at index 0"),
        (lambda z, y: cross_entropy(z, y + 1000, impl="reference"), r"target must be class ids in \[0, 8\) or ignore_index=-100, got 10\d\d at index 0"),
        (lambda z, y: cross_entropy(z.numpy(), y), "input must be a torch.Tensor, got ndarray"),
        (lambda z, y: cross_entropy(z[0, 0], y), "input must be logits with a class axis"),
        (lambda z, y: cross_entropy(z, y, impl="cuda"), "impl must be one of 'auto', 'reference', 'numba', 'triton', got 'cuda'"),
        (lambda z, y: CrossEntropyLoss(reduce=True), r"got \(None, True\)"),
        (lambda z, y: CrossEntropyLoss(reduction="all"), "reduction must be one of 'none', 'mean', 'sum', got 'all'"),
    ],
)
def test_bad_inputs_raise_one_clear_error(call, message: str) -> None:  # noqa: ANN001
    logits, target, _ = _problem(4, 8, torch.float32, seed=14)
    with pytest.raises(ValueError, match=message):
        call(logits, target)


def test_numpy_reference_and_fused_agree_through_torch_on_a_large_row() -> None:
    """The fast path and the reference path meet on one (N, V) problem with every option."""
    logits, target, weight = _problem(16, 5000, torch.float64, seed=15)
    fused = cross_entropy(logits, target, weight=weight, ignore_index=3, label_smoothing=0.2, reduction="none", impl="numba")
    from outlayer.losses import cross_entropy as core_cross_entropy  # the reference

    reference = core_cross_entropy(logits.numpy(), target.numpy(), weight=weight.numpy(), ignore_index=3, label_smoothing=0.2, reduction="none")
    np.testing.assert_allclose(fused.numpy(), reference, rtol=1e-12)
