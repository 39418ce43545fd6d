"""outlayer._dispatch.choose_impl: the one predicate every caller uses to pick a backend."""

from __future__ import annotations

import numpy as np
import pytest

import outlayer
from outlayer import InputError, _dispatch
from outlayer._dispatch import FUSED_MIN_ELEMENTS, choose_impl, choose_impl_for

BIG = FUSED_MIN_ELEMENTS
NUMBA = pytest.mark.skipif(not _dispatch.numba_usable(), reason="numba (outlayer[fast]) is not installed")


def auto(**kw: object) -> str:
    problem = dict(library="numpy", device="cpu", dtype="float32", n_elements=BIG, class_ids=True)
    problem.update(kw)
    return choose_impl("auto", **problem)  # type: ignore[arg-type]


@NUMBA
def test_auto_sends_large_cpu_class_id_problems_to_numba_and_the_rest_to_the_reference() -> None:
    assert auto() == "numba"
    assert auto(library="torch", dtype="bfloat16") == "numba"
    assert auto(n_elements=BIG - 1) == "reference"  # thread start-up outweighs the gain below this
    assert auto(class_ids=False) == "reference"  # probability rows: the reference only
    assert auto(dtype="float16") == "reference"
    assert auto(dtype="bfloat16") == "reference"  # NumPy has no bfloat16: only torch passes its bits
    assert auto(differentiable=True) == "reference"  # the caller needs its library's autograd
    assert auto(library="jax") == "reference"


def test_cuda_without_triton_falls_back_to_the_reference_for_every_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    from outlayer.kernels import triton_ce

    monkeypatch.setattr(triton_ce, "triton_available", lambda: False)
    assert auto(library="torch", device="cuda") == "reference"
    with pytest.raises(InputError, match="impl must be a backend that can run this call .'triton' cannot"):
        choose_impl("triton", library="torch", device="cuda", dtype="float32", n_elements=BIG)


def test_cuda_with_triton_goes_to_triton(monkeypatch: pytest.MonkeyPatch) -> None:
    from outlayer.kernels import triton_ce

    monkeypatch.setattr(triton_ce, "triton_available", lambda: True)
    assert auto(library="torch", device="cuda", n_elements=10) == "triton"
    assert auto(library="torch", device="cuda", dtype="float64") == "reference"  # the kernel takes 16/32-bit floats


def test_the_environment_variable_turns_auto_to_the_reference_but_not_an_explicit_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_dispatch.DISABLE_ENV, "1")
    assert auto() == "reference"
    if _dispatch.numba_usable():
        assert choose_impl("numba", library="numpy", device="cpu", dtype="float32", n_elements=1) == "numba"


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        (dict(library="numpy", device="cpu", dtype="float16"), "takes float32, float64 logits, not float16"),
        (dict(library="torch", device="cuda", dtype="float32"), "runs on the CPU, not cuda"),
        (dict(library="numpy", device="cpu", dtype="float32", class_ids=False), "class-id targets"),
        (dict(library="torch", device="cpu", dtype="float32", differentiable=True), "autograd"),
        (dict(library="jax", device="cpu", dtype="float32"), "not jax"),
    ],
)
def test_an_explicit_numba_request_that_cannot_run_says_why(problem: dict, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        choose_impl("numba", n_elements=BIG, **problem)


def test_numba_missing_is_named_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from outlayer.kernels import cpu

    monkeypatch.setattr(cpu, "_numba_importable", False)
    assert auto() == "reference"
    with pytest.raises(InputError, match="numba is not installed"):
        choose_impl("numba", library="numpy", device="cpu", dtype="float32", n_elements=BIG)
    # and the public entry point still computes, on the reference
    assert float(outlayer.cross_entropy(np.zeros((1, BIG)), np.array([3]))) == pytest.approx(np.log(BIG))


def test_unknown_impl_is_refused_in_the_one_message_format() -> None:
    with pytest.raises(InputError, match=r"impl must be one of 'auto', 'reference', 'numba', 'triton', got 'fast'"):
        outlayer.cross_entropy(np.zeros((1, 3)), np.array([0]), impl="fast")


@NUMBA
def test_choose_impl_for_reads_library_device_dtype_and_size_from_the_array() -> None:
    torch = pytest.importorskip("torch")
    assert choose_impl_for(np.zeros((1, BIG), np.float32)) == "numba"
    assert choose_impl_for(np.zeros((1, 8), np.float32)) == "reference"
    assert choose_impl_for(torch.zeros(1, BIG, dtype=torch.bfloat16)) == "numba"
    assert choose_impl_for(torch.zeros(1, BIG), class_ids=False) == "reference"


def test_torch_tensors_in_the_core_entry_point_stay_on_the_autograd_friendly_reference() -> None:
    torch = pytest.importorskip("torch")
    logits = torch.randn(2, BIG, requires_grad=True)
    loss = outlayer.cross_entropy(logits, torch.tensor([0, 1]))
    loss.backward()  # a graph exists: the reference ran in torch
    assert logits.grad is not None
    with pytest.raises(InputError, match="use outlayer.torch"):
        outlayer.cross_entropy(logits, torch.tensor([0, 1]), impl="numba")


def test_kernels_and_the_reference_refuse_identical_inputs_before_any_work() -> None:
    bad_weight = np.array([1.0, -2.0, 1.0])
    for impl in ("reference", "numba") if _dispatch.numba_usable() else ("reference",):
        with pytest.raises(InputError, match=r"weight must be finite and non-negative, got -2.0 at index 1"):
            outlayer.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), weight=bad_weight, impl=impl)
