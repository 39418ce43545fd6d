"""Issue 10's reproducers, through outlayer.torch, on every torch path, judged by PyTorch or float64.

Paths: ``impl="numba"`` (the kernel op), ``impl="reference"`` (the core on torch tensors) and
``"auto"``; shapes (N, V), (V,) and (N, V, d); linear+CE; vocab-parallel in a group of one.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import outlayer  # noqa: E402
from outlayer import _dispatch  # noqa: E402
from outlayer._validate import InputError  # noqa: E402
from outlayer.torch import CrossEntropyLoss, cross_entropy, linear_cross_entropy  # noqa: E402

IMPLS = ["auto", "numba", "reference"] if _dispatch.numba_usable() else ["auto", "reference"]


def _as_shape(logits: torch.Tensor, target: torch.Tensor, shape: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, V) logits and (N,) ids as the "2d" case, the 1-D one (first row), or (1, V, N) "kdim"."""
    if shape == "1d":
        return logits[0], target[0]
    if shape == "kdim":
        return logits.T.unsqueeze(0).contiguous(), target.unsqueeze(0)
    return logits, target


def _row_grad(grad: torch.Tensor, shape: str) -> torch.Tensor:
    """The gradient of row 0 back in (V,) form."""
    if shape == "1d":
        return grad
    if shape == "kdim":
        return grad[0, :, 0]
    return grad[0]


@pytest.mark.parametrize("shape", ["2d", "1d", "kdim"])
@pytest.mark.parametrize("impl", IMPLS)
def test_logits_of_1e16_give_ln2_and_a_target_gradient_of_minus_half(impl: str, shape: str) -> None:
    logits, target = _as_shape(torch.tensor([[1e16, 1e16, -1e16, -1e16]], dtype=torch.float64), torch.tensor([0]), shape)
    leaf = logits.clone().requires_grad_()
    loss = cross_entropy(leaf, target, impl=impl)
    loss.backward()
    assert loss.item() == pytest.approx(math.log(2), rel=1e-15)
    torch.testing.assert_close(_row_grad(leaf.grad, shape), torch.tensor([-0.5, 0.5, 0.0, 0.0], dtype=torch.float64), rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", ["2d", "kdim"])
@pytest.mark.parametrize("impl", IMPLS)
def test_label_smoothing_is_shift_invariant_in_float32_at_an_offset_of_1e6(impl: str, shape: str) -> None:
    offset_logits = torch.arange(24.0).reshape(6, 4) / 8 + 1e6  # exactly representable in float32
    target = torch.ones(6, dtype=torch.long)
    logits, ids = _as_shape(offset_logits, target, shape) if shape == "2d" else (offset_logits.T.unsqueeze(0).contiguous(), target.unsqueeze(0))
    leaf = logits.clone().requires_grad_()
    loss = cross_entropy(leaf, ids, label_smoothing=0.1, impl=impl)
    loss.backward()
    exact = (torch.arange(24.0, dtype=torch.float64).reshape(6, 4) / 8).requires_grad_()  # the same logits without the offset
    expected = F.cross_entropy(exact, target, label_smoothing=0.1)
    expected.backward()
    assert expected.item() == pytest.approx(1.45229, abs=5e-6)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    grad = leaf.grad if shape == "2d" else leaf.grad[0].T
    torch.testing.assert_close(grad.double(), exact.grad, rtol=0, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("mode", ["with-gradient", "no_grad", "smoothing"])
def test_a_masked_leading_block_of_minus_inf_equals_torch(dtype: torch.dtype, mode: str) -> None:
    """z[0, :1024] = -inf over 32768 classes, target 5000: torch's 10.3655 on the kernel path in
    every mode that used to skip the fast branch (forward only, no_grad, bfloat16, smoothing)."""
    logits = torch.zeros(1, 32768)
    logits[0, :1024] = float("-inf")
    logits = logits.to(dtype)
    target = torch.tensor([5000])
    options = {"label_smoothing": 0.1} if mode == "smoothing" else {}
    leaf = logits.clone().requires_grad_(mode != "no_grad")
    with torch.set_grad_enabled(mode != "no_grad"):
        loss = cross_entropy(leaf, target, **options)
    expected_leaf = logits.float().requires_grad_(mode != "no_grad")
    expected = F.cross_entropy(expected_leaf[:, 1024:], target - 1024, **options)  # smoothing: over the finite logits
    assert math.isfinite(loss.item())
    torch.testing.assert_close(loss.float(), expected.detach(), rtol=1e-6 if dtype == torch.float32 else 1e-2, atol=0)
    if mode != "no_grad":
        loss.backward()
        expected.backward()
        assert not leaf.grad[0, :1024].any() and torch.isfinite(leaf.grad).all()
        torch.testing.assert_close(leaf.grad[:, 1024:].float(), expected_leaf.grad[:, 1024:], rtol=1e-5 if dtype == torch.float32 else 2e-2, atol=1e-9)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_and_plus_inf_logits_are_refused_alike_on_the_2d_1d_and_kdim_paths(bad: float) -> None:
    """One policy (README "Where the frameworks disagree"): the same InputError, naming the
    caller's index, from the kernel op and the reference, whatever the shape (PyTorch: NaN)."""
    logits = torch.randn(3, 5)
    target = torch.tensor([0, 1, 2])
    messages = {}
    for shape in ("2d", "1d", "kdim"):
        z, y = _as_shape(logits.clone(), target, shape)
        where = {"2d": (0, 3), "1d": (3,), "kdim": (0, 3, 0)}[shape]
        z[where] = bad
        for impl in IMPLS:
            with pytest.raises(InputError) as error:
                cross_entropy(z, y, impl=impl)
            messages[shape, impl] = str(error.value)
        shown = "nan" if math.isnan(bad) else "inf"
        index = where[0] if len(where) == 1 else where
        assert {messages[shape, impl] for impl in IMPLS} == {f"logits must be finite or -inf, got {shown} at index {index}"}
    assert torch.isnan(F.cross_entropy(logits.index_fill(1, torch.tensor([3]), bad), target))  # PyTorch's answer


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_negative_class_weights_are_refused_on_every_dtype_and_path(dtype: torch.dtype) -> None:
    logits = torch.randn(4, 6).to(dtype)
    ids = torch.tensor([0, 1, 2, 3])
    weight = torch.ones(6, dtype=dtype)
    weight[4] = -0.5
    message = r"weight must be finite and non-negative, got -0.5 at index 4"
    calls = {
        "2d ids": lambda impl: cross_entropy(logits, ids, weight=weight, impl=impl),
        "kdim ids": lambda impl: cross_entropy(logits.T.unsqueeze(0), ids.unsqueeze(0), weight=weight, impl=impl),
        "probabilities": lambda impl: cross_entropy(logits, torch.softmax(logits.float(), 1).to(dtype), weight=weight, impl=impl),
        "module": lambda impl: CrossEntropyLoss(weight=weight, impl=impl)(logits, ids),
    }
    for name, call in calls.items():
        for impl in IMPLS:
            if name == "probabilities" and impl == "numba":
                continue  # the kernel takes class ids only (and says so)
            if impl == "numba" and dtype == torch.float16:
                continue  # no float16 kernel on the CPU (and says so)
            with pytest.raises(InputError, match=message):
                call(impl)
    hidden = torch.randn(4, 3).to(dtype)
    classifier = torch.randn(6, 3).to(dtype)
    for impl in ("auto", "reference"):
        with pytest.raises(InputError, match=r"class_weight must be finite and non-negative, got -0.5 at index 4"):
            linear_cross_entropy(hidden, classifier, ids, class_weight=weight, impl=impl)
    assert torch.isfinite(F.cross_entropy(logits.float(), ids, weight=weight.float()))  # PyTorch accepts them


def test_a_fractional_ignore_index_is_refused_on_every_torch_path() -> None:
    logits, target = torch.randn(4, 6, dtype=torch.float64), torch.tensor([0, 1, 2, 3])
    with pytest.raises(TypeError):
        F.cross_entropy(logits, target, ignore_index=1.5)  # PyTorch's answer
    calls = [lambda impl: cross_entropy(logits, target, ignore_index=1.5, impl=impl)]
    calls.append(lambda impl: cross_entropy(logits.unsqueeze(-1), target.unsqueeze(-1), ignore_index=1.5, impl=impl))
    calls.append(lambda impl: linear_cross_entropy(logits, torch.eye(6, dtype=torch.float64), target, ignore_index=1.5, impl=impl))
    for call in calls:
        for impl in IMPLS:
            with pytest.raises(InputError, match=r"ignore_index must be an integer, got 1.5"):
                call(impl)
    with pytest.raises(InputError, match=r"ignore_index must be an integer, got 1.5"):
        CrossEntropyLoss(ignore_index=1.5)


def test_probability_targets_with_a_non_negative_ignore_index_are_refused() -> None:
    logits = torch.randn(4, 6, dtype=torch.float64)
    probabilities = torch.softmax(torch.randn_like(logits), dim=1)
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(logits, probabilities, ignore_index=1)  # PyTorch's answer
    for impl in ("auto", "reference"):
        with pytest.raises(InputError, match=r"ignore_index must be None with probability targets .*got 1"):
            cross_entropy(logits, probabilities, ignore_index=1, impl=impl)
    # a negative one can never name a class: PyTorch ignores it, and so do we
    torch.testing.assert_close(cross_entropy(logits, probabilities, ignore_index=-5), F.cross_entropy(logits, probabilities, ignore_index=-5))


def test_second_order_gradients_through_a_size_0_class_axis_are_empty_not_an_error() -> None:
    for activation in (outlayer.softmax, outlayer.log_softmax):
        z = torch.empty(3, 0, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(activation(z, axis=-1).sum(), z, create_graph=True)
        (second,) = torch.autograd.grad(grad.sum(), z, allow_unused=True, materialize_grads=True)
        assert grad.shape == second.shape == (3, 0)


@pytest.mark.parametrize("impl", IMPLS)
def test_cross_entropy_over_no_classes_is_refused_clearly_and_an_empty_batch_differentiates_twice(impl: str) -> None:
    with pytest.raises(InputError, match=r"logits must be an array with at least one class along axis 1, got shape \(3, 0\)"):
        cross_entropy(torch.empty(3, 0), torch.zeros(3, dtype=torch.long), impl=impl)
    z = torch.empty(0, 5, dtype=torch.float64, requires_grad=True)
    loss = cross_entropy(z, torch.zeros(0, dtype=torch.long), impl=impl)
    (grad,) = torch.autograd.grad(loss, z, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), z, allow_unused=True, materialize_grads=True)
    assert loss.item() == 0.0 and grad.shape == second.shape == (0, 5)  # a mean over nothing: 0 (PyTorch: NaN)


def test_vocab_parallel_refuses_the_same_inputs_in_a_group_of_one(tmp_path) -> None:
    dist = torch.distributed
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("no gloo backend")
    from outlayer.torch import vocab_parallel_cross_entropy, vocab_parallel_linear_cross_entropy

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        logits, target = torch.tensor([[1e16, 1e16, -1e16, -1e16]], dtype=torch.float64).requires_grad_(), torch.tensor([0])
        loss = vocab_parallel_cross_entropy(logits, target, vocab_start=0)
        loss.backward()
        assert loss.item() == pytest.approx(math.log(2), rel=1e-15) and logits.grad[0, 0].item() == pytest.approx(-0.5, rel=1e-15)
        x = torch.arange(24.0).reshape(6, 4) / 8 + 1e6
        assert vocab_parallel_cross_entropy(x, torch.ones(6, dtype=torch.long), vocab_start=0, label_smoothing=0.1).item() == pytest.approx(1.45229, abs=1e-5)
        with pytest.raises(InputError, match=r"local_logits must be finite or -inf, got nan at index \(0, 1\)"):
            vocab_parallel_cross_entropy(torch.tensor([[0.0, float("nan")]]), torch.tensor([0]), vocab_start=0)
        with pytest.raises(InputError, match=r"weight must be finite and non-negative, got -1.0 at index 1"):
            vocab_parallel_cross_entropy(torch.zeros(1, 2), torch.tensor([0]), vocab_start=0, weight=torch.tensor([1.0, -1.0]))
        with pytest.raises(InputError, match=r"ignore_index must be an integer, got 1.5"):
            vocab_parallel_linear_cross_entropy(torch.zeros(1, 2), torch.zeros(3, 2), torch.tensor([0]), vocab_start=0, ignore_index=1.5)
    finally:
        dist.destroy_process_group()


def test_shape_refusals_of_the_kernel_path_are_the_cores_word_for_word() -> None:
    """The kernel path checks shapes at the boundary itself (no pass over values): its messages
    must stay the core's, which the reference path raises."""
    if "numba" not in IMPLS:
        pytest.skip("numba is not installed")
    cases = [
        (torch.randn(3, 4), torch.zeros(2, dtype=torch.long)),
        (torch.randn(3, 4, 2), torch.zeros(3, dtype=torch.long)),
        (torch.randn(3, 0), torch.zeros(3, dtype=torch.long)),
        (torch.randn(4), torch.zeros(1, dtype=torch.long)),
    ]
    for logits, target in cases:
        messages = []
        for impl in ("numba", "reference"):
            with pytest.raises(InputError) as error:
                cross_entropy(logits, target, impl=impl)
            messages.append(str(error.value))
        assert messages[0] == messages[1]
