"""The Triton kernels compiled on a real CUDA device, against ``torch.nn.functional.cross_entropy``
and the project's float64 judge (issue 15). Without CUDA or without Triton every test is skipped
with the reason; on a GPU machine ``bash benchmarks/gpu/run_all.sh`` runs this file first.

Paths, each through its public torch drop-in (``impl="triton"``, and ``impl="auto"``, which must
pick the Triton kernel on CUDA):

* ``outlayer.torch.cross_entropy`` / ``CrossEntropyLoss`` against ``F.cross_entropy`` in float32
  and bfloat16, values and gradients, with class weights, ignore_index, label smoothing and every
  reduction; a fully -inf leading block (32768 classes with the first 1024, one whole kernel block
  or two at -inf); 262144 classes with the extra device memory measured.
* the same drop-in on every case of tests/adversarial.py (the generator every other path meets),
  judged by its float64 reference with its stated tolerances; the NaN / +inf refusals.
* ``outlayer.torch.linear_cross_entropy`` against the naive ``F.cross_entropy(h @ W.T + b, y)``,
  gradients for hidden, weight and bias, up to 262144 classes, the (N, V) logits never held.

Where PyTorch and outlayer disagree by policy (README, "Where the frameworks disagree": label
smoothing next to -inf logits, NaN refused), the float64 judge decides instead of PyTorch.

Triton is looked up, not imported, at collection: importing it here would make
tests/test_triton_interpret.py (which needs ``TRITON_INTERPRET=1`` set before the first import)
skip in the same process. Conversely, when that file imported Triton in interpreter mode first
(the whole suite in one process on a GPU machine), the compiled kernels cannot run here, and
``test_the_cuda_tests_pass_in_a_fresh_process`` runs this file in a process of its own.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import numpy as np
import pytest

import adversarial
from adversarial import Case, assert_matches
from adversarial_paths import nonfinite_refusals

torch = pytest.importorskip("torch")
F = torch.nn.functional

HAS_CUDA = torch.cuda.is_available()
HAS_TRITON = importlib.util.find_spec("triton") is not None  # found, not imported (module docstring)
if not HAS_CUDA:
    SKIP_REASON = "no CUDA device (torch.cuda.is_available() is False): these tests run the compiled Triton kernels; on a GPU: bash benchmarks/gpu/run_all.sh"
else:
    SKIP_REASON = "Triton is not installed (pip install triton): the CUDA kernels cannot run"
pytestmark = pytest.mark.skipif(not (HAS_CUDA and HAS_TRITON), reason=SKIP_REASON)

DEVICE = "cuda"
IGNORE = adversarial.IGNORE
U_BF16 = adversarial.UNIT_ROUNDOFF["bfloat16"]  # 2**-8
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
BIG_V = 262_144  # "up to 256k classes"

#: Against F.cross_entropy on the same values widened to float64 (torch's own float32 is no judge at
#: 262144 classes: on the CPU it is off by 7e-5 there), as (rtol, atol relative to the largest entry):
CE_TOLERANCE = {
    "float32": (1e-5, 1e-6),  # float32 maths (the kernel's) against float64: a few ulps of log-sum-exp
    "bfloat16": (2 * U_BF16, 1e-6),  # float32 maths on the same bf16 inputs, then the result rounded once to bf16
}
#: The gradient of a "none" loss times a per-row upstream gradient other than 1:
UPSTREAM_TOLERANCE = {
    "float32": CE_TOLERANCE["float32"],  # one float32 product more: far below the ulps above
    "bfloat16": (4 * U_BF16, 1e-6),  # the upstream arrives rounded to bf16 (the loss's dtype) and the product is rounded again: 3 roundings
}
#: linear+CE against the naive product in float64 on the same leaves:
LINEAR_FLOAT32_TOLERANCE = (1e-5, 1e-5)  # float32 products and sums of d, V or N terms: a few ulps of each sum
#: bfloat16 linear+CE: the logits themselves are rounded to bf16 (as in the naive product), so the
#: error (against float64) is judged against torch's own naive bf16 error in the same run, within 25%, and
#: bounded outright: relative (Frobenius) error at most 8 unit roundoffs (3%).
LINEAR_BF16_RATIO, LINEAR_BF16_BOUND = 1.25, 8 * U_BF16


# ------------------------------------------------------------------------------------------------
# Fixtures and helpers.
# ------------------------------------------------------------------------------------------------
def _triton_interpreted_here() -> bool:
    if "triton" not in sys.modules:
        return False
    from triton.runtime.interpreter import InterpretedFunction

    return isinstance(sys.modules["triton"].language.standard.max, InterpretedFunction)


@pytest.fixture(autouse=True)
def compiled_kernels(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The compiled kernel, full-precision float32 products, and no interpreter left switched on."""
    if request.function is test_the_cuda_tests_pass_in_a_fresh_process:
        yield
        return
    if DEVICE == "cuda":
        if _triton_interpreted_here():
            pytest.skip("triton was imported in interpreter mode in this process (tests/test_triton_interpret.py): see the fresh-process test")
        monkeypatch.delenv("TRITON_INTERPRET", raising=False)  # read per call by the kernel: compiled, not interpreted
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # the float32 tolerances assume float32 products (TF32 keeps 10 bits)
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32


@pytest.fixture
def kernel_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The logits' shape of every call of the Triton kernel (the dispatcher imports it per call)."""
    from outlayer.kernels import triton_ce

    calls: list[tuple[int, ...]] = []
    real = triton_ce.cross_entropy_cuda

    def spy(logits: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(tuple(logits.shape))
        return real(logits, *args, **kwargs)

    monkeypatch.setattr(triton_ce, "cross_entropy_cuda", spy)
    return calls


def _generator(seed: int) -> Any:
    return torch.Generator().manual_seed(seed)


def ce_problem(n: int, v: int, dtype: str, *, seed: int, weighted: bool = False, ignoring: bool = False, masked: int = 0) -> tuple[Any, Any, Any]:
    """(logits, target, class weight or None) on the device: logits ~ N(0, 3^2) rounded to ``dtype``,
    the first ``masked`` columns -inf (targets after them), every 5th row ignored when ``ignoring``;
    class weights in [0.25, 3] in multiples of 1/8 (exact in bf16, so torch and we see the same)."""
    gen = _generator(seed)
    logits = 3 * torch.randn(n, v, generator=gen)
    logits[:, :masked] = float("-inf")
    target = torch.randint(masked, v, (n,), generator=gen)
    if ignoring:
        target[::5] = IGNORE
    weight = torch.randint(2, 25, (v,), generator=gen) / 8.0 if weighted else None
    return logits.to(DTYPES[dtype]).to(DEVICE), target.to(DEVICE), None if weight is None else weight.to(DEVICE)


def assert_close(got: Any, want: Any, tolerance: tuple[float, float], what: str) -> None:
    """``got`` within rtol of ``want``, or within atol times ``want``'s largest entry (in float64)."""
    rtol, atol_of_max = tolerance
    want = want.detach().double()
    scale = float(want.abs().max()) if want.numel() else 0.0
    torch.testing.assert_close(got.detach().double(), want, rtol=rtol, atol=atol_of_max * scale, msg=lambda m: f"{what}: {m}")


def _double(tensor: Any) -> Any:
    return None if tensor is None else tensor.double()


def relative_error(got: Any, want: Any) -> float:
    want = want.detach().double()
    return float((got.detach().double() - want).norm() / want.norm().clamp(min=1e-300))


def device_logits(case: Case) -> Any:
    """The case's logits on the device, in its dtype and layout (a strided view for "non-contiguous")."""
    values = torch.from_numpy(np.ascontiguousarray(case.values())).to(getattr(torch, case.dtype)).to(DEVICE)
    if case.layout != "non-contiguous":  # read-only has no torch meaning: contiguous
        return values
    wide = torch.zeros((values.shape[0], 2 * values.shape[1]), dtype=values.dtype, device=DEVICE)
    wide[:, 1::2] = values
    return wide[:, 1::2]


def torch_options(case: Case) -> dict[str, Any]:
    """The case's options as torch takes them: an int ignore_index, class weights in the logits' dtype on the device."""
    weight = None if case.weight is None else torch.from_numpy(np.asarray(case.weight)).to(getattr(torch, case.dtype)).to(DEVICE)
    return dict(
        weight=weight, ignore_index=IGNORE if case.ignore_index is None else case.ignore_index,
        label_smoothing=case.label_smoothing, reduction=case.reduction,
    )


def run_case(case: Case, impl: str, *, inplace: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(loss, gradient) of ``outlayer.torch.cross_entropy`` on the case, on the device, as float64 NumPy."""
    from outlayer.torch import cross_entropy

    logits = device_logits(case)
    leaf = (logits.clone() if inplace else logits).requires_grad_(True)
    loss = cross_entropy(leaf, torch.from_numpy(case.target).to(DEVICE), inplace=inplace, impl=impl, **torch_options(case))
    assert loss.dtype == logits.dtype and loss.device == logits.device
    loss.sum().backward()
    return loss.detach().double().cpu().numpy(), leaf.grad.double().cpu().numpy()


@cache
def _cases() -> dict[str, Case]:
    return {case.id: case for case in adversarial.cases()}


def _case_ids(keep: Callable[[Case], bool]) -> list[str]:
    return [case_id for case_id, case in _cases().items() if keep(case)]


def _kernel_dtype(case: Case) -> bool:
    return case.dtype != "float64"  # the Triton kernel takes float32, bfloat16 and float16


def _small(case: Case) -> bool:
    """The in-place variant gets the cases up to 3001 classes and the issue's reproducers (as tests/test_path_agreement.py)."""
    return case.shape[1] <= 3001 or case.id.startswith("issue-")


def _linear_eligible(case: Case) -> bool:
    """A linear layer makes a -inf logit only through its bias: whole -inf columns (tests/test_path_agreement.py)."""
    values = case.values()
    return case.column_masked and bool(np.all(np.isfinite(values) | np.all(np.isneginf(values), axis=0)))


def _linear_parts(case: Case) -> tuple[Any, Any, Any]:
    """(hidden, weight, bias) on the device with hidden @ weight.T + bias == the case's logits exactly
    (hidden = I: each logit is one product 1 * w plus exact zeros; a -inf column comes from the bias)."""
    values = case.values()
    masked = np.all(np.isneginf(values), axis=0)
    dtype = getattr(torch, case.dtype)
    hidden = np.eye(values.shape[0])
    weight = np.where(masked[None, :], 0.0, values).T.copy()
    bias = np.where(masked, -np.inf, 0.0)
    return tuple(torch.from_numpy(part).to(dtype).to(DEVICE) for part in (hidden, weight, bias))  # type: ignore[return-value]


OPTION_SETS: dict[str, dict[str, Any]] = {
    "plain": dict(),
    "class-weights": dict(weighted=True),
    "ignore-index": dict(ignoring=True),
    "label-smoothing": dict(label_smoothing=0.1),
    "all-three": dict(weighted=True, ignoring=True, label_smoothing=0.2),
}


def _split(options: dict[str, Any]) -> tuple[dict[str, bool], float]:
    return dict(weighted=options.get("weighted", False), ignoring=options.get("ignoring", False)), options.get("label_smoothing", 0.0)


# ------------------------------------------------------------------------------------------------
# Cross-entropy against F.cross_entropy.
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", list(OPTION_SETS))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("impl", ["triton", "auto"])
def test_cross_entropy_on_cuda_matches_f_cross_entropy_in_value_and_gradient(impl: str, dtype: str, reduction: str, options: str) -> None:
    from outlayer.torch import cross_entropy

    flags, smoothing = _split(OPTION_SETS[options])
    logits, target, weight = ce_problem(64, 5000, dtype, seed=1, **flags)  # 5000 classes: a full kernel block and a partial one
    ours, theirs = logits.clone().requires_grad_(True), logits.double().requires_grad_(True)
    upstream = torch.rand(64, generator=_generator(2)).to(DEVICE) + 0.5 if reduction == "none" else torch.tensor(1.0, device=DEVICE)
    loss = cross_entropy(ours, target, weight=weight, label_smoothing=smoothing, reduction=reduction, impl=impl)
    expected = F.cross_entropy(theirs, target, weight=_double(weight), label_smoothing=smoothing, reduction=reduction)
    (loss.float() * upstream).sum().backward()
    (expected * upstream).sum().backward()
    assert loss.dtype == logits.dtype and ours.grad.dtype == logits.dtype
    assert_close(loss, expected, CE_TOLERANCE[dtype], "loss")
    assert_close(ours.grad, theirs.grad, (UPSTREAM_TOLERANCE if reduction == "none" else CE_TOLERANCE)[dtype], "gradient")


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_cross_entropy_loss_module_on_cuda_matches_torch_module(dtype: str) -> None:
    from outlayer.torch import CrossEntropyLoss

    logits, target, weight = ce_problem(32, 3000, dtype, seed=3, weighted=True, ignoring=True)
    ours, theirs = logits.clone().requires_grad_(True), logits.double().requires_grad_(True)
    loss = CrossEntropyLoss(weight=weight, label_smoothing=0.1, impl="triton")(ours, target)
    expected = torch.nn.CrossEntropyLoss(weight=_double(weight), label_smoothing=0.1)(theirs, target)
    loss.backward()
    expected.backward()
    assert_close(loss, expected, CE_TOLERANCE[dtype], "loss")
    assert_close(ours.grad, theirs.grad, CE_TOLERANCE[dtype], "gradient")


@pytest.mark.parametrize("shape", [(4, 10), (64, 5000)])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_auto_on_cuda_runs_the_triton_kernel_and_equals_impl_triton(kernel_calls: list[tuple[int, ...]], dtype: str, shape: tuple[int, int]) -> None:
    """On CUDA "auto" has no size threshold: even 4 x 10 logits go to the kernel, with the same numbers."""
    from outlayer import _dispatch
    from outlayer.torch import cross_entropy

    logits, target, weight = ce_problem(*shape, dtype, seed=4, weighted=True)
    assert _dispatch.choose_impl_for(logits) == "triton"
    results = []
    for impl in ("auto", "triton"):
        leaf = logits.clone().requires_grad_(True)
        loss = cross_entropy(leaf, target, weight=weight, label_smoothing=0.1, impl=impl)
        loss.backward()
        results.append((loss.detach(), leaf.grad))
    assert kernel_calls == [shape, shape]
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=0)  # one deterministic kernel: bit for bit


def _leading_widths() -> list[Any]:
    return [pytest.param(name, id=name) for name in ("issue-1024", "one-kernel-block", "two-kernel-blocks")]


def _masked_width(name: str, v: int) -> int:
    from outlayer.kernels import triton_ce

    block = triton_ce._default_block(v)  # the columns per sweep step: a fully -inf first step is the hard case
    return {"issue-1024": 1024, "one-kernel-block": block, "two-kernel-blocks": 2 * block}[name]


@pytest.mark.parametrize("width", _leading_widths())
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_fully_masked_leading_block_matches_f_cross_entropy(dtype: str, width: str) -> None:
    """32768 classes whose first block is -inf: finite losses, torch's values, and exactly 0 gradient there."""
    from outlayer.torch import cross_entropy

    v = 32768
    masked = _masked_width(width, v)
    assert masked < v
    logits, target, weight = ce_problem(8, v, dtype, seed=5, weighted=True, ignoring=True, masked=masked)
    ours, theirs = logits.clone().requires_grad_(True), logits.double().requires_grad_(True)
    loss = cross_entropy(ours, target, weight=weight, reduction="none", impl="triton")
    expected = F.cross_entropy(theirs, target, weight=_double(weight), reduction="none")
    loss.sum().backward()
    expected.sum().backward()
    assert bool(torch.isfinite(loss).all()) and not bool(torch.isnan(ours.grad).any())
    assert int(torch.count_nonzero(ours.grad[:, :masked])) == 0
    assert_close(loss, expected, CE_TOLERANCE[dtype], "loss")
    assert_close(ours.grad, theirs.grad, CE_TOLERANCE[dtype], "gradient")


@pytest.mark.parametrize("width", _leading_widths())
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_fully_masked_leading_block_with_label_smoothing_matches_the_float64_judge(dtype: str, width: str) -> None:
    """Label smoothing next to -inf logits is a policy (mass only on the finite classes; torch gives
    inf): the float64 judge decides, on the same 32768-class rows with class weights and an ignored row."""
    v = 32768
    masked = _masked_width(width, v)
    rng = np.random.default_rng(6)
    logits = 3 * rng.standard_normal((8, v))
    logits[:, :masked] = -np.inf
    target = rng.integers(masked, v, 8)
    target[3] = IGNORE
    case = Case(
        f"masked-leading-{width}-{dtype}", logits, target, dtype=dtype, weight=rng.integers(2, 25, v) / 8.0,
        ignore_index=IGNORE, label_smoothing=0.1, reduction="mean",
    )
    loss, grad = run_case(case, "triton")
    assert_matches(case, loss, grad, path="cuda-triton")


# ------------------------------------------------------------------------------------------------
# The shared adversarial generator, judged in float64.
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case_id", _case_ids(_kernel_dtype))
def test_triton_cross_entropy_on_cuda_agrees_with_the_float64_judge(case_id: str) -> None:
    case = _cases()[case_id]
    assert_matches(case, *run_case(case, "triton"), path="cuda-triton")


@pytest.mark.parametrize("case_id", _case_ids(lambda case: _kernel_dtype(case) and _small(case)))
def test_triton_cross_entropy_in_place_on_cuda_agrees_with_the_float64_judge(case_id: str) -> None:
    case = _cases()[case_id]
    assert_matches(case, *run_case(case, "triton", inplace=True), path="cuda-triton-inplace")


@pytest.mark.parametrize("case_id", _case_ids(lambda case: True))
def test_auto_cross_entropy_on_cuda_agrees_with_the_float64_judge(case_id: str) -> None:
    """Every dtype: "auto" runs the kernel for float32 / bfloat16 / float16 and the reference for float64."""
    case = _cases()[case_id]
    assert_matches(case, *run_case(case, "auto"), path="cuda-auto")


def _refusal_params() -> list[Any]:
    cases = nonfinite_refusals(("float32",))
    both = cases + [adversarial.with_dtype(case, "bfloat16") for case in cases]
    return [pytest.param(case, id=case.id) for case in both]


@pytest.mark.parametrize("case", _refusal_params())
def test_triton_on_cuda_refuses_nan_and_inf_logits_naming_the_index(case: Case) -> None:
    from outlayer import InputError
    from outlayer.torch import cross_entropy

    logits = torch.from_numpy(np.asarray(case.logits)).to(getattr(torch, case.dtype)).to(DEVICE)
    target = torch.from_numpy(case.target).to(DEVICE)
    ignore_index = IGNORE if case.ignore_index is None else case.ignore_index
    with pytest.raises(InputError, match=re.escape(case.refusal)) as caught:
        cross_entropy(logits.requires_grad_(True), target, ignore_index=ignore_index, impl="triton")
    row, column = (int(i) for i in np.argwhere(~np.isfinite(case.logits) & ~np.isneginf(case.logits))[0])
    assert f"({row}, {column})" in str(caught.value)


# ------------------------------------------------------------------------------------------------
# Linear + cross-entropy against the naive product.
# ------------------------------------------------------------------------------------------------
def linear_problem(n: int, d: int, v: int, dtype: str, *, seed: int, weighted: bool, ignoring: bool) -> tuple[Any, ...]:
    """(hidden, weight, bias, target, class weight or None) on the device, logits ~ N(0, ~3^2)."""
    gen = _generator(seed)
    hidden = torch.randn(n, d, generator=gen)
    weight = 3 * torch.randn(v, d, generator=gen) / d**0.5
    bias = torch.randn(v, generator=gen)
    target = torch.randint(0, v, (n,), generator=gen)
    if ignoring:
        target[::5] = IGNORE
    class_weight = torch.randint(2, 25, (v,), generator=gen) / 8.0 if weighted else None
    low = DTYPES[dtype]
    parts = [t.to(low).to(DEVICE) for t in (hidden, weight, bias)]
    return (*parts, target.to(DEVICE), None if class_weight is None else class_weight.to(low).to(DEVICE))


def _naive(leaves: list[Any], target: Any, class_weight: Any, smoothing: float, reduction: str, upstream: Any) -> tuple[Any, list[Any]]:
    """F.cross_entropy(h @ W.T + b, y) with autograd: (loss, [dh, dW, db])."""
    hidden, weight, bias = leaves
    cw = None if class_weight is None else class_weight.to(hidden.dtype)
    loss = F.cross_entropy(hidden @ weight.T + bias, target, weight=cw, label_smoothing=smoothing, reduction=reduction)
    (loss.float() * upstream).sum().backward()
    return loss.detach(), [leaf.grad for leaf in leaves]


def _ours(
    leaves: list[Any], target: Any, class_weight: Any, smoothing: float, reduction: str, upstream: Any, impl: str, chunk: int | None
) -> tuple[Any, list[Any]]:
    from outlayer.torch import linear_cross_entropy

    hidden, weight, bias = leaves
    loss = linear_cross_entropy(
        hidden, weight, target, bias=bias, class_weight=class_weight, label_smoothing=smoothing, reduction=reduction, chunk_size=chunk, impl=impl
    )
    assert loss.dtype == hidden.dtype
    (loss.float() * upstream).sum().backward()
    return loss.detach(), [leaf.grad for leaf in leaves]


def assert_linear_matches_naive(
    problem: tuple[Any, ...], dtype: str, smoothing: float, reduction: str, *, impl: str, chunk: int | None, against_naive_bf16: bool = True
) -> None:
    """Loss and (dhidden, dweight, dbias) against the naive product in float64: float32 within
    LINEAR_FLOAT32_TOLERANCE; bfloat16 bounded, and (``against_naive_bf16``) no further from it than
    torch's naive bf16 product. With a handful of rows a few dominant probabilities, rounded one way
    or the other, decide both errors: luck rather than accuracy, so only the bound is asserted there."""
    hidden, weight, bias, target, class_weight = problem
    n = hidden.shape[0]
    upstream = torch.rand(n, generator=_generator(9)).to(DEVICE) + 0.5 if reduction == "none" else torch.tensor(1.0, device=DEVICE)
    ours = _ours([t.clone().requires_grad_(True) for t in (hidden, weight, bias)], target, class_weight, smoothing, reduction, upstream, impl, chunk)
    truth = _naive([t.double().requires_grad_(True) for t in (hidden, weight, bias)], target, class_weight, smoothing, reduction, upstream)
    names = ("loss", "dhidden", "dweight", "dbias")
    if dtype == "float32":
        for name, got, want in zip(names, (ours[0], *ours[1]), (truth[0], *truth[1])):
            assert_close(got, want, LINEAR_FLOAT32_TOLERANCE, name)
        return
    naive = _naive([t.clone().requires_grad_(True) for t in (hidden, weight, bias)], target, class_weight, smoothing, reduction, upstream)
    for name, got, low, want in zip(names, (ours[0], *ours[1]), (naive[0], *naive[1]), (truth[0], *truth[1])):
        ours_error, naive_error = relative_error(got, want), relative_error(low, want)
        assert ours_error <= LINEAR_BF16_BOUND, f"{name}: relative error {ours_error:.3g} against float64 (bound {LINEAR_BF16_BOUND:.3g})"
        if against_naive_bf16 and name != "loss":  # a scalar's error is one rounding's luck: the outright bound only
            assert ours_error <= LINEAR_BF16_RATIO * naive_error + U_BF16 / 16, (
                f"{name}: relative error {ours_error:.3g} against float64, the naive bf16 product's {naive_error:.3g}"
            )


@pytest.mark.parametrize("options", list(OPTION_SETS))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("impl", ["triton", "auto"])
def test_linear_cross_entropy_on_cuda_matches_the_naive_product_with_gradients_for_hidden_weight_and_bias(
    kernel_calls: list[tuple[int, ...]], impl: str, dtype: str, reduction: str, options: str
) -> None:
    flags, smoothing = _split(OPTION_SETS[options])
    problem = linear_problem(96, 64, 5000, dtype, seed=7, **flags)
    assert_linear_matches_naive(problem, dtype, smoothing, reduction, impl=impl, chunk=32)
    assert kernel_calls and all(shape == (32, 5000) for shape in kernel_calls)  # blocks of 32 rows, on the Triton kernel


@pytest.mark.parametrize("case_id", _case_ids(lambda case: _kernel_dtype(case) and _linear_eligible(case)))
def test_triton_linear_cross_entropy_on_cuda_agrees_with_the_float64_judge(case_id: str) -> None:
    from outlayer.torch import linear_cross_entropy

    case = _cases()[case_id]
    hidden, weight, bias = _linear_parts(case)
    weight.requires_grad_(True)
    options = torch_options(case)
    loss = linear_cross_entropy(
        hidden, weight, torch.from_numpy(case.target).to(DEVICE), bias=bias, class_weight=options.pop("weight"), chunk_size=2, impl="triton", **options
    )
    loss.sum().backward()
    assert_matches(case, loss.detach().double().cpu().numpy(), weight.grad.T.double().cpu().numpy(), path="cuda-linear-triton")  # hidden = I: dW = dZ^T


# ------------------------------------------------------------------------------------------------
# 262144 classes: values, gradients and device memory.
# ------------------------------------------------------------------------------------------------
def _peak_extra_bytes(step: Callable[[], Any]) -> int:
    """Device memory ``step`` needs above what was allocated before it (its outputs included)."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return int(torch.cuda.max_memory_allocated() - before)


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_cross_entropy_at_262144_classes_matches_f_cross_entropy_with_at_most_one_gradient_buffer(dtype: str, inplace: bool) -> None:
    """Forward+backward needs one (N, V) gradient buffer out of place and none in place (plus O(N + V))."""
    from outlayer.torch import cross_entropy

    logits, target, weight = ce_problem(16, BIG_V, dtype, seed=8, weighted=True, ignoring=True)
    ours = logits.clone().requires_grad_(True)
    logits_bytes = ours.numel() * ours.element_size()
    losses = []

    def forward_backward() -> None:
        loss = cross_entropy(ours, target, weight=weight, label_smoothing=0.1, inplace=inplace, impl="triton")
        loss.backward()
        losses.append(loss.detach())

    extra = _peak_extra_bytes(forward_backward)
    budget = (0 if inplace else logits_bytes) + logits_bytes // 4
    assert extra <= budget, f"forward+backward took {extra / 2**20:.1f} MiB beyond the logits ({logits_bytes / 2**20:.1f} MiB); allowed {budget / 2**20:.1f}"
    theirs = logits.double().requires_grad_(True)
    expected = F.cross_entropy(theirs, target, weight=_double(weight), label_smoothing=0.1)
    expected.backward()
    assert_close(losses[0], expected, CE_TOLERANCE[dtype], "loss")
    assert_close(ours.grad, theirs.grad, CE_TOLERANCE[dtype], "gradient")


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_linear_cross_entropy_at_262144_classes_matches_the_naive_product(dtype: str, reduction: str) -> None:
    problem = linear_problem(6, 64, BIG_V, dtype, seed=10, weighted=True, ignoring=True)
    assert_linear_matches_naive(problem, dtype, 0.1, reduction, impl="triton", chunk=4, against_naive_bf16=False)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_linear_cross_entropy_at_262144_classes_never_holds_half_the_full_logits(dtype: str) -> None:
    """2048 x 262144 logits would take 2 GiB in float32; the default blocks (~64 MiB of logits each)
    and the gradients must fit in half of that, with the loss still the naive product's."""
    from outlayer.torch import linear_cross_entropy

    hidden, weight, bias, target, _ = linear_problem(2048, 64, BIG_V, dtype, seed=11, weighted=False, ignoring=False)
    leaves = [t.clone().requires_grad_(True) for t in (hidden, weight, bias)]
    full_logits_bytes = 2048 * BIG_V * 4
    losses = []

    def forward_backward() -> None:
        loss = linear_cross_entropy(*leaves[:2], target, bias=leaves[2], impl="triton")
        loss.backward()
        losses.append(loss.detach())

    extra = _peak_extra_bytes(forward_backward)
    assert extra <= full_logits_bytes // 2, f"linear+CE took {extra / 2**20:.0f} MiB; the float32 logits alone would take {full_logits_bytes / 2**20:.0f} MiB"
    expected = F.cross_entropy(hidden.double() @ weight.double().T + bias.double(), target)
    tolerance = CE_TOLERANCE["float32"] if dtype == "float32" else (LINEAR_BF16_BOUND, 0.0)
    assert_close(losses[0], expected, tolerance, "loss")


# ------------------------------------------------------------------------------------------------
# Known gap (src/outlayer/kernels/triton_ce.py), and the fresh-process fallback.
# ------------------------------------------------------------------------------------------------
_IGNORE_BEYOND_CLASSES = """
import torch, torch.nn.functional as F
from outlayer.torch import cross_entropy
z = torch.randn(4, 10, device="cuda"); y = torch.tensor([1, 12, 3, 4], device="cuda"); w = torch.rand(10, device="cuda") + 0.5
got, want = cross_entropy(z, y, weight=w, ignore_index=12, impl="triton"), F.cross_entropy(z, y, weight=w, ignore_index=12)
torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
"""


def test_ignore_index_beyond_the_classes_with_class_weights_matches_torch() -> None:
    """In a process of its own: a device-side assert would leave this process's CUDA context unusable."""
    environment = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    result = subprocess.run([sys.executable, "-c", _IGNORE_BEYOND_CLASSES], env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_cuda_tests_pass_in_a_fresh_process() -> None:
    """When triton was imported in interpreter mode in this process, every test above was skipped:
    run this file again in a process of its own, with the interpreter off, so they still run."""
    if not _triton_interpreted_here():
        pytest.skip("the compiled kernels run in this process: the tests above ran directly")
    environment = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", __file__],
        env=environment, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and re.search(r"\b1 skipped\b", summary), summary  # everything ran, bar this test

