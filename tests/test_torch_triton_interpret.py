"""outlayer.torch.cross_entropy(impl="triton") through Triton's interpreter on CPU tensors.

The GPU route of the torch front end (the custom op on the Triton kernel, its autograd, in place,
K-dimensional rows, double backward) is exercised here without a GPU: TRITON_INTERPRET=1 runs the
same kernel source with NumPy. The switch must be set before anything imports triton; when that
already happened in this process (e.g. another test file of the same pytest-xdist worker), the
tests here run in a fresh Python process instead, so CI always runs them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

if "triton" not in sys.modules:
    os.environ["TRITON_INTERPRET"] = "1"
torch = pytest.importorskip("torch")
triton = pytest.importorskip("triton", reason="Triton is not installed (pip install triton); the GPU kernel cannot be interpreted")
from triton.runtime.interpreter import InterpretedFunction  # noqa: E402

INTERPRETED = isinstance(triton.language.standard.max, InterpretedFunction)
_CHILD = "OUTLAYER_TRITON_INTERPRET_CHILD"
interpreted_only = pytest.mark.skipif(not INTERPRETED, reason="triton was imported before TRITON_INTERPRET=1: run in a fresh process")
F = torch.nn.functional


@pytest.mark.slow
@pytest.mark.skipif(INTERPRETED or bool(os.environ.get(_CHILD)), reason="the interpreter runs in this process: the tests above run directly")
def test_the_triton_route_passes_in_a_fresh_interpreted_process() -> None:
    environment = dict(os.environ, TRITON_INTERPRET="1", **{_CHILD: "1"})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", __file__],
        env=environment, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("10 passed, 2 skipped"), result.stdout[-2000:]  # every test ran, bar the two fresh-process runners

@pytest.mark.slow
@pytest.mark.skipif(INTERPRETED or bool(os.environ.get(_CHILD)), reason="the interpreter runs in this process: that file runs directly")
def test_the_kernel_tests_of_test_triton_interpret_pass_in_a_fresh_interpreted_process() -> None:
    """tests/test_triton_interpret.py skips itself where triton was imported compiled (CI's xdist
    workers): run it here in a process of its own, so CI always runs the kernel under the interpreter."""
    kernel_tests = os.path.join(os.path.dirname(__file__), "test_triton_interpret.py")
    environment = dict(os.environ, TRITON_INTERPRET="1", **{_CHILD: "1"})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", kernel_tests],
        env=environment, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary, summary


from outlayer._validate import InputError  # noqa: E402
from outlayer.torch import cross_entropy, linear_cross_entropy  # noqa: E402


@pytest.fixture(autouse=True)
def interpret(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def _problem(shape=(6, 37), seed=0):
    gen = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(*shape, generator=gen)
    target = torch.randint(0, shape[1], (shape[0],) + tuple(shape[2:]), generator=gen)
    target.view(-1)[1] = -100
    weight = torch.rand(shape[1], generator=gen) + 0.5
    return logits, target, weight


@interpreted_only
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(6, 37), (3, 37, 2)])
def test_triton_route_of_the_torch_front_end_equals_torch(shape, reduction):
    logits, target, weight = _problem(shape)
    ours, theirs = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    loss = cross_entropy(ours, target, weight=weight, label_smoothing=0.1, reduction=reduction, impl="triton")
    expected = F.cross_entropy(theirs, target, weight=weight, label_smoothing=0.1, reduction=reduction)
    loss.sum().backward()
    expected.sum().backward()
    torch.testing.assert_close(loss, expected.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=1e-5, atol=1e-7)


@interpreted_only
def test_triton_route_in_place_writes_the_gradient_over_the_logits():
    logits, target, _ = _problem()
    leaf = logits.clone().requires_grad_()
    cross_entropy(leaf, target, inplace=True, impl="triton").backward()
    assert leaf.grad.data_ptr() == leaf.data_ptr()
    reference = logits.clone().requires_grad_()
    F.cross_entropy(reference, target).backward()
    torch.testing.assert_close(leaf.grad, reference.grad, rtol=1e-5, atol=1e-7)


@interpreted_only
def test_triton_route_double_backward_equals_torch():
    logits, target, weight = _problem(seed=1)
    vector = torch.randn(logits.shape, generator=torch.Generator().manual_seed(2))

    def hessian_vector(loss_fn):
        z = logits.clone().requires_grad_()
        (grad,) = torch.autograd.grad(loss_fn(z), z, create_graph=True)
        return torch.autograd.grad((grad * vector).sum(), z)[0]

    torch.testing.assert_close(
        hessian_vector(lambda z: cross_entropy(z, target, weight=weight, impl="triton")),
        hessian_vector(lambda z: F.cross_entropy(z, target, weight=weight)),
        rtol=1e-5, atol=1e-6,
    )


@interpreted_only
def test_triton_route_refuses_what_the_core_refuses():
    logits, target, weight = _problem()
    logits[2, 5] = float("nan")
    with pytest.raises(InputError, match=r"logits must be finite or -inf, got nan at index \(2, 5\)"):
        cross_entropy(logits, target, impl="triton")
    with pytest.raises(InputError, match=r"weight must be finite and non-negative, got -1.0 at index 3"):
        cross_entropy(logits.nan_to_num(), target, weight=weight.index_fill(0, torch.tensor([3]), -1.0), impl="triton")


@interpreted_only
def test_linear_cross_entropy_with_impl_triton_equals_naive():
    gen = torch.Generator().manual_seed(3)
    hidden, weight, bias = torch.randn(9, 5, generator=gen), torch.randn(37, 5, generator=gen), torch.randn(37, generator=gen)
    target = torch.randint(0, 37, (9,), generator=gen)
    ours = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
    theirs = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
    linear_cross_entropy(ours[0], ours[1], target, bias=ours[2], chunk_size=4, impl="triton").backward()
    F.cross_entropy(theirs[0] @ theirs[1].T + theirs[2], target).backward()
    for got, want in zip(ours, theirs):
        torch.testing.assert_close(got.grad, want.grad, rtol=1e-5, atol=1e-6)
