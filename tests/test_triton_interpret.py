"""The Triton CE kernel and the Triton path of linear_cross_entropy, run by Triton's interpreter on CPU.

TRITON_INTERPRET=1 executes the kernel with NumPy on CPU tensors, so CI checks the same kernel
source a GPU compiles (compiled-only behaviour, e.g. performance, is for benchmarks/gpu/).
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np
import pytest

if "triton" not in sys.modules:
    # Triton picks interpreted vs compiled when its modules are imported (its own tl.max etc. are
    # jit functions), so the switch must be set before anything imports triton.
    os.environ["TRITON_INTERPRET"] = "1"
torch = pytest.importorskip("torch")
triton = pytest.importorskip("triton", reason="Triton is not installed (pip install triton); the GPU kernel cannot be interpreted")
from triton.runtime.interpreter import InterpretedFunction  # noqa: E402

if not isinstance(triton.language.standard.max, InterpretedFunction):
    pytest.skip(
        "triton was imported before TRITON_INTERPRET=1 was set, so its interpreter cannot run here; "
        "run this file on its own: pytest tests/test_triton_interpret.py",
        allow_module_level=True,
    )
F = torch.nn.functional

from outlayer.kernels.triton_ce import cross_entropy_cuda  # noqa: E402

N, V = 9, 37  # with block_size=16 every row is swept in 3 blocks, the last one partial


@pytest.fixture(autouse=True)
def interpret(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def problem(seed=0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    logits = (3 * torch.randn(N, V, generator=gen)).to(dtype)
    target = torch.randint(0, V, (N,), generator=gen)
    target[[2, 7]] = -100
    class_weight = torch.rand(V, generator=gen) + 0.5
    return logits, target, class_weight


@pytest.mark.parametrize(("reduction", "weighted", "smoothing"), list(itertools.product(("mean", "sum", "none"), (False, True), (0.0, 0.2))))
def test_kernel_loss_and_gradient_match_f_cross_entropy(reduction, weighted, smoothing):
    logits, target, class_weight = problem()
    cw = class_weight if weighted else None
    loss, grad = cross_entropy_cuda(logits.clone(), target, weight=cw, label_smoothing=smoothing, reduction=reduction, block_size=16)
    reference = logits.clone().requires_grad_(True)
    expected = F.cross_entropy(reference, target, weight=cw, label_smoothing=smoothing, reduction=reduction)
    expected.sum().backward()
    torch.testing.assert_close(loss, expected.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad, reference.grad, rtol=1e-5, atol=1e-7)


def test_in_place_overwrites_the_logits_with_the_gradient():
    logits, target, _ = problem(1)
    expected_loss, expected_grad = cross_entropy_cuda(logits.clone(), target, block_size=16)
    buffer = logits.clone()
    loss, grad = cross_entropy_cuda(buffer, target, in_place=True, block_size=16)
    assert grad.data_ptr() == buffer.data_ptr()
    torch.testing.assert_close(loss, expected_loss)
    torch.testing.assert_close(buffer, expected_grad)


def test_one_block_per_row_equals_many_blocks():
    logits, target, class_weight = problem(2)
    many = cross_entropy_cuda(logits, target, weight=class_weight, label_smoothing=0.1, block_size=16)
    one = cross_entropy_cuda(logits, target, weight=class_weight, label_smoothing=0.1)
    for a, b in zip(many, one):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_masked_logits_with_smoothing_match_the_core():
    from outlayer.losses import cross_entropy_with_grad

    logits, target, class_weight = problem(3)
    banned = torch.zeros_like(logits, dtype=torch.bool)
    banned[:, ::3] = True
    banned[torch.arange(N), target.clamp(min=0)] = False
    logits = logits.masked_fill(banned, float("-inf"))
    expected_loss, expected_grad = cross_entropy_with_grad(
        logits.numpy(), target.numpy(), weight=class_weight.numpy(), ignore_index=-100, label_smoothing=0.3
    )
    loss, grad = cross_entropy_cuda(logits, target, weight=class_weight, label_smoothing=0.3, block_size=16)
    torch.testing.assert_close(loss, torch.tensor(float(expected_loss)), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad, torch.from_numpy(np.asarray(expected_grad)), rtol=1e-5, atol=1e-7)


def test_bfloat16_logits_give_bfloat16_gradient_close_to_float32():
    logits, target, _ = problem(4)
    expected_loss, expected_grad = cross_entropy_cuda(logits.bfloat16().float(), target, block_size=16)
    loss, grad = cross_entropy_cuda(logits.bfloat16(), target, in_place=True, block_size=16)
    assert grad.dtype == torch.bfloat16 and loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected_loss, rtol=1e-6, atol=1e-6)  # fp32 math on the same bf16 inputs
    torch.testing.assert_close(grad.float(), expected_grad, rtol=1e-2, atol=1e-3)  # one bf16 rounding of the output


def test_mean_over_only_ignored_rows_is_zero_with_zero_gradient():
    logits, _, _ = problem()
    loss, grad = cross_entropy_cuda(logits, torch.full((N,), -100), block_size=16)
    assert loss.item() == 0.0 and torch.count_nonzero(grad) == 0


def test_an_ignore_index_beyond_the_classes_with_class_weights_gives_torchs_loss_and_gradient():
    """Ignored rows must not index the class weights: ignore_index = V + 2 is a legal choice."""
    logits, target, class_weight = problem(7)
    target = torch.where(target == -100, logits.shape[1] + 2, target)
    target[::3] = logits.shape[1] + 2
    reference = logits.clone().requires_grad_(True)
    expected = F.cross_entropy(reference, target, weight=class_weight, ignore_index=logits.shape[1] + 2)
    expected.backward()
    loss, grad = cross_entropy_cuda(logits.clone(), target, weight=class_weight, ignore_index=logits.shape[1] + 2, block_size=16)
    torch.testing.assert_close(loss, expected.detach(), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad, reference.grad, rtol=1e-5, atol=1e-7)


def test_without_grad_returns_the_same_loss_and_no_gradient():
    logits, target, _ = problem(5)
    loss, grad = cross_entropy_cuda(logits, target, with_grad=False, block_size=16)
    assert grad is None
    torch.testing.assert_close(loss, F.cross_entropy(logits, target))


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_linear_cross_entropy_through_the_triton_kernel_matches_naive(monkeypatch, reduction):
    from outlayer.torch import _linear

    monkeypatch.setattr(_linear, "_uses_triton", lambda logits: True)
    gen = torch.Generator().manual_seed(6)
    hidden, weight, bias = torch.randn(N, 5, generator=gen), torch.randn(V, 5, generator=gen), torch.randn(V, generator=gen)
    target = torch.randint(0, V, (N,), generator=gen)
    target[0] = -100
    leaves = [t.clone().requires_grad_(True) for t in (hidden, weight, bias)]
    expected = F.cross_entropy(leaves[0] @ leaves[1].T + leaves[2], target, label_smoothing=0.1, reduction=reduction)
    expected.sum().backward()
    ours = [t.clone().requires_grad_(True) for t in (hidden, weight, bias)]
    got = _linear.linear_cross_entropy(ours[0], ours[1], target, bias=ours[2], label_smoothing=0.1, reduction=reduction, chunk_size=4)
    got.sum().backward()
    torch.testing.assert_close(got, expected.detach(), rtol=1e-5, atol=1e-6)
    for g, e in zip(ours, leaves):
        torch.testing.assert_close(g.grad, e.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(logits=torch.zeros(N, V, dtype=torch.float64)), r"logits dtype torch.float64 is not supported"),
        (dict(logits=torch.zeros(V)), r"logits must be a 2-D torch tensor"),
        (dict(target=torch.full((N,), V)), rf"target\[0\] = {V} is not a class id in \[0, {V}\)"),
        (dict(target=torch.zeros(N + 1, dtype=torch.int64)), rf"target must be an integer tensor of shape \({N},\)"),
        (dict(reduction="avg"), r"got 'avg'"),
        (dict(label_smoothing=-0.1), r"got -0.1"),
        (dict(block_size=24), r"block_size must be a power of two, got 24"),
    ],
)
def test_bad_input_raises_one_clear_error(kwargs, message):
    logits, target, _ = problem()
    args = dict(logits=logits, target=target) | kwargs
    with pytest.raises(ValueError, match=message):
        cross_entropy_cuda(args.pop("logits"), args.pop("target"), **args)


def test_cpu_tensor_without_the_interpreter_is_refused(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET")
    logits, target, _ = problem()
    with pytest.raises(ValueError, match=r"logits are on cpu; the Triton kernel needs a CUDA tensor"):
        cross_entropy_cuda(logits, target)

