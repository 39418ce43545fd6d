"""Each reproducer of issue 10 that the core, the kernels and the dispatcher own, as a named test.

The torch-only ones (double backward, torch.func, torch.compile, ``_WeightedLoss``, autocast, the
distributed rank checks, ``ignore_index=1.5`` and probability targets with ``ignore_index`` on the
torch drop-in) belong to the torch front end's tests. The same inputs, and many more, run through
every path in tests/test_path_agreement.py.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import outlayer
from outlayer import InputError, _dispatch

torch = pytest.importorskip("torch")
F = torch.nn.functional
NUMBA = pytest.mark.skipif(not _dispatch.numba_usable(), reason="numba (outlayer[fast]) is not installed")
SRC = Path(__file__).resolve().parents[1] / "src"


def _masked_leading_block() -> np.ndarray:
    z = np.zeros((1, 32768))
    z[0, :1024] = -np.inf
    return z


def _torch_expected(z: np.ndarray, label_smoothing: float) -> float:
    """torch's value; with smoothing, torch's on the finite logits only (it would put mass on -inf
    logits and return inf: the README's policy row), which is outlayer's definition."""
    finite = torch.from_numpy(np.ascontiguousarray(z[:, 1024:], dtype=np.float64))
    return F.cross_entropy(finite, torch.tensor([5000 - 1024]), label_smoothing=label_smoothing).item()


@NUMBA
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_masked_leading_block_gives_torchs_loss_on_every_numpy_path(dtype: type, label_smoothing: float) -> None:
    z = _masked_leading_block().astype(dtype)
    expected = _torch_expected(z, label_smoothing)
    assert expected == pytest.approx(10.3655, abs=1e-4)  # uniform over 31744 classes: the same with smoothing
    for impl in ("auto", "numba", "reference"):
        loss, grad = outlayer.cross_entropy_with_grad(z, np.array([5000]), impl=impl, label_smoothing=label_smoothing)
        assert float(loss) == pytest.approx(expected, rel=1e-6), impl
        assert np.isfinite(grad).all() and not grad[0, :1024].any()
        assert float(outlayer.cross_entropy(z, np.array([5000]), impl=impl, label_smoothing=label_smoothing)) == pytest.approx(expected, rel=1e-6)


@NUMBA
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_masked_leading_block_gives_torchs_loss_through_the_torch_drop_in(dtype: torch.dtype, label_smoothing: float) -> None:
    """Forward only (no_grad), bfloat16 and label smoothing were the paths that gave NaN."""
    from outlayer.torch import cross_entropy

    z = torch.from_numpy(_masked_leading_block()).to(dtype)
    target = torch.tensor([5000])
    expected = _torch_expected(_masked_leading_block(), label_smoothing)
    with torch.no_grad():
        assert cross_entropy(z, target, label_smoothing=label_smoothing).double().item() == pytest.approx(expected, rel=4e-3)
    leaf = z.clone().requires_grad_(True)
    loss = cross_entropy(leaf, target, label_smoothing=label_smoothing)
    loss.backward()
    assert loss.double().item() == pytest.approx(expected, rel=4e-3)
    assert torch.isfinite(leaf.grad.float()).all()


@NUMBA
@pytest.mark.parametrize("magnitude", [1e12, 1e16])
def test_huge_magnitudes_give_ln2_and_a_target_gradient_of_minus_one_half(magnitude: float) -> None:
    from outlayer.torch import cross_entropy

    x = torch.tensor([[magnitude, magnitude, -magnitude, -magnitude]], dtype=torch.float64, requires_grad=True)
    loss = cross_entropy(x, torch.tensor([0]))
    loss.backward()
    assert loss.item() == pytest.approx(math.log(2.0), rel=1e-15)
    torch.testing.assert_close(x.grad, torch.tensor([[-0.5, 0.5, 0.0, 0.0]], dtype=torch.float64), rtol=0, atol=1e-16)
    z = x.detach().numpy()
    for impl in ("numba", "reference"):
        value, grad = outlayer.cross_entropy_with_grad(z, np.array([0]), impl=impl)
        assert float(value) == pytest.approx(math.log(2.0), rel=1e-15)
        np.testing.assert_allclose(grad, [[-0.5, 0.5, 0.0, 0.0]], atol=1e-16)


@NUMBA
def test_label_smoothing_is_shift_invariant_in_float32_at_an_offset_of_1e6() -> None:
    from outlayer.torch import cross_entropy

    x = torch.arange(24.0).reshape(6, 4) / 8 + 1e6  # float32; exact: 1e6 + k/8
    target = torch.ones(6, dtype=torch.long)
    exact = x.double().requires_grad_(True)
    expected = F.cross_entropy(exact, target, label_smoothing=0.1)
    expected.backward()
    assert expected.item() == pytest.approx(1.45229, abs=1e-5)
    leaf = x.clone().requires_grad_(True)
    loss = cross_entropy(leaf, target, label_smoothing=0.1)
    loss.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    torch.testing.assert_close(leaf.grad.double(), exact.grad, rtol=0, atol=1e-7)
    for impl in ("numba", "reference"):
        value, grad = outlayer.cross_entropy_with_grad(x.numpy(), target.numpy(), label_smoothing=0.1, impl=impl)
        assert float(value) == pytest.approx(expected.item(), rel=1e-6), impl
        np.testing.assert_allclose(grad, exact.grad.numpy(), atol=1e-7)


def test_float32_log_softmax_gradient_at_30576_classes_is_as_accurate_as_torchs() -> None:
    """The error came from autograd through the max shift: K terms of size ~1 added and cancelled."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(16, 30576, generator=generator)
    cotangents = {"sum": torch.ones_like(x), "random": torch.randn(16, 30576, generator=generator)}

    def gradient(fn, values, cotangent):  # noqa: ANN001, ANN202
        leaf = values.clone().requires_grad_(True)
        (fn(leaf) * cotangent.to(values.dtype)).sum().backward()
        return leaf.grad.double()

    for name, cotangent in cotangents.items():
        exact = gradient(lambda t: torch.log_softmax(t, -1), x.double(), cotangent)
        ours = (gradient(outlayer.log_softmax, x, cotangent) - exact).abs().max().item()
        theirs = (gradient(lambda t: torch.log_softmax(t, -1), x, cotangent) - exact).abs().max().item()
        assert ours <= 2 * theirs + 1e-7, f"{name}: outlayer {ours:.3g}, torch {theirs:.3g}"
        assert ours < 1e-4, f"{name}: {ours:.3g} (was 1.8e-3 with the shift differentiated)"


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_plus_inf_logits_get_one_answer_on_2d_and_k_dimensional_input(bad: float) -> None:
    from outlayer.torch import cross_entropy

    logits = np.random.default_rng(0).normal(size=(3, 5))
    logits[1, 2] = bad
    target = np.array([0, 1, 2])
    calls = [
        lambda: outlayer.cross_entropy(logits, target),
        lambda: outlayer.cross_entropy(logits.T.copy()[None], target[None], axis=1),
        lambda: cross_entropy(torch.from_numpy(logits), torch.from_numpy(target)),
        lambda: cross_entropy(torch.from_numpy(logits.T.copy())[None], torch.from_numpy(target)[None]),
    ]
    for call in calls:
        with pytest.raises(InputError, match="logits must be finite or -inf"):
            call()


@pytest.mark.parametrize("case", ["2d-float32", "2d-float64", "2d-bfloat16", "k-dim", "probabilities", "float16"])
def test_negative_class_weights_are_refused_on_every_input_kind(case: str) -> None:
    from outlayer.torch import cross_entropy

    dtype = {"2d-float32": torch.float32, "2d-bfloat16": torch.bfloat16, "float16": torch.float16}.get(case, torch.float64)
    logits = torch.randn(4, 6, generator=torch.Generator().manual_seed(1)).to(dtype)
    target = torch.tensor([0, 1, 2, 3])
    if case == "k-dim":
        logits, target = logits.T[None].contiguous(), target[None]
    if case == "probabilities":
        target = torch.softmax(torch.randn(4, 6, dtype=torch.float64), dim=1)
    weight = torch.ones(6, dtype=dtype)
    weight[2] = -1.0
    with pytest.raises(InputError, match=r"weight must be finite and non-negative, got -1.0 at index 2"):
        cross_entropy(logits, target, weight=weight)


def test_ignore_index_must_be_an_integer_on_the_numpy_paths() -> None:
    logits, target = np.zeros((2, 3)), np.array([0, 1])
    from outlayer.linear_ce import linear_cross_entropy

    for call in (
        lambda: outlayer.cross_entropy(logits, target, ignore_index=1.5),
        lambda: outlayer.cross_entropy(logits, target, ignore_index=1.5, impl="numba"),
        lambda: linear_cross_entropy(np.eye(2), logits.T.copy(), target, ignore_index=1.5),
    ):
        with pytest.raises(InputError, match="ignore_index must be an integer or None, got 1.5"):
            call()
    with pytest.raises(TypeError):  # torch refuses it too
        F.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), ignore_index=1.5)


def test_probability_targets_with_ignore_index_are_refused_as_torch_does() -> None:
    logits = np.zeros((2, 3))
    rows = np.full((2, 3), 1 / 3)
    with pytest.raises(InputError, match="ignore_index must be None with probability targets"):
        outlayer.cross_entropy(logits, rows, ignore_index=1)
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point target"):
        F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(rows), ignore_index=1)


@NUMBA
@pytest.mark.parametrize("source", ["flag", "mmap"])
def test_read_only_arrays_of_32768_elements_and_more_run_on_the_kernel(source: str, tmp_path: Path) -> None:
    logits = np.random.default_rng(2).normal(size=(8, 4096)).astype(np.float32)  # 32768 elements
    target = np.arange(8)
    expected = outlayer.cross_entropy_with_grad(logits, target, impl="reference")
    if source == "flag":
        given = logits.copy()
        given.flags.writeable = False
    else:
        np.save(tmp_path / "logits.npy", logits)
        given = np.load(tmp_path / "logits.npy", mmap_mode="r")
    assert _dispatch.choose_impl_for(given) == "numba"
    loss, grad = outlayer.cross_entropy_with_grad(given, target)
    np.testing.assert_allclose(loss, expected[0], rtol=1e-6)
    np.testing.assert_allclose(grad, expected[1], rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("function", ["softmax", "log_softmax", "logsumexp"])
def test_zero_dimensional_input_is_one_class_not_an_index_error(function: str) -> None:
    value = getattr(outlayer, function)(np.float64(3.0))
    assert value == {"softmax": 1.0, "log_softmax": 0.0, "logsumexp": 3.0}[function]


@pytest.mark.parametrize("function", ["softmax", "log_softmax", "logsumexp"])
def test_second_order_gradients_through_an_empty_class_axis_exist(function: str) -> None:
    x = torch.zeros(3, 0, dtype=torch.float64, requires_grad=True)
    first = getattr(outlayer, function)(x)
    (gradient,) = torch.autograd.grad(first.sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(gradient.sum(), x)
    assert gradient.shape == second.shape == (3, 0)


def test_temperature_never_makes_an_infinite_probability() -> None:
    np.testing.assert_array_equal(outlayer.softmax([1e308, 0.0], temperature=0.5), [1.0, 0.0])
    np.testing.assert_array_equal(outlayer.softmax(np.array([3e38, 0.0], dtype=np.float32), temperature=0.1), [1.0, 0.0])
    np.testing.assert_array_equal(outlayer.log_softmax([1e308, 0.0], temperature=0.5), [0.0, -np.inf])
    assert outlayer.logsumexp([1e308, 0.0], temperature=0.5) == np.inf  # the true value, 2e308, is beyond float64


def test_masked_arrays_are_refused_instead_of_losing_their_mask() -> None:
    logits = np.ma.masked_array([[2.0, 1000.0, 0.1]], mask=[[False, True, False]])
    for call in (lambda: outlayer.cross_entropy(logits, np.array([0])), lambda: outlayer.cross_entropy(np.zeros((1, 3)), np.ma.masked_array([0], mask=[True]))):
        with pytest.raises(InputError, match="masked array"):
            call()


def test_uint64_class_ids_beyond_int64_are_refused_not_wrapped() -> None:
    ids = np.array([0, 2**63 + 5], dtype=np.uint64)
    with pytest.raises(InputError, match=f"got {2**63 + 5} at index 1"):
        outlayer.cross_entropy(np.zeros((2, 3)), ids)
    with pytest.raises(InputError, match=f"got {2**63 + 5} at index 1"):
        outlayer.one_hot(ids, 3)
    assert int(ids.astype(np.int64)[1]) < 0  # what a plain cast would have made of it


def test_label_coder_learns_one_nan_class_in_a_fixed_order() -> None:
    orders = {tuple(str(c) for c in outlayer.LabelCoder().fit([1.0, float("nan"), 2.0, float("nan")]).classes_) for _ in range(20)}
    assert orders == {("1.0", "2.0", "nan")}


def test_label_coder_decode_refuses_probability_rows_of_the_wrong_width() -> None:
    coder = outlayer.LabelCoder().fit(["cat", "dog", "rabbit"])
    with pytest.raises(InputError, match=r"probability rows must have 3 columns \(one per class\), got shape \(2, 2\)"):
        coder.decode(np.array([[0.0, 1.0], [1.0, 0.0]]))
    np.testing.assert_array_equal(coder.decode(np.array([[0.1, 0.7, 0.2]])), ["dog"])


def test_array_api_compat_is_a_base_dependency() -> None:
    import tomllib

    project = tomllib.loads((SRC.parent / "pyproject.toml").read_text())["project"]
    assert any(dep.split(">")[0].split("=")[0].strip() == "array-api-compat" for dep in project["dependencies"])
    value = outlayer.cross_entropy(torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0]))
    assert isinstance(value, torch.Tensor) and value.item() == pytest.approx(0.4170, abs=1e-4)


def test_a_missing_array_api_compat_is_named_not_a_bare_module_error() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'array_api_compat': raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import torch, outlayer\n"
        "try:\n"
        "    outlayer.cross_entropy(torch.zeros(1, 3), torch.tensor([0]))\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=120)
    assert "pip install array-api-compat" in done.stdout and "torch arrays" in done.stdout, done.stdout + done.stderr
