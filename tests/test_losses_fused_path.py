"""The NumPy cross-entropy hands large inputs to the fused kernel, with the same results."""

from __future__ import annotations

import numpy as np
import pytest

import outlayer
from outlayer import _dispatch
from outlayer.kernels import cpu as kernels_cpu

pytestmark = pytest.mark.skipif(not _dispatch.numba_usable(), reason="numba (outlayer[fast]) is not installed")


def _large_case(dtype: type) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    rows, classes = 256, _dispatch.FUSED_MIN_ELEMENTS // 256 + 3
    logits = rng.normal(scale=3.0, size=(rows, classes)).astype(dtype)
    logits[5, 11] = -np.inf
    target = rng.integers(0, classes, rows)
    target[::17] = -100
    return logits, target, rng.uniform(0.5, 2.0, classes)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_numpy_cross_entropy_uses_the_fused_kernel_and_equals_the_reference(
    reduction: str, dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    logits, target, weight = _large_case(dtype)
    options = dict(weight=weight, ignore_index=-100, label_smoothing=0.1, reduction=reduction)
    calls = []
    real = kernels_cpu.cross_entropy_numba
    monkeypatch.setattr(kernels_cpu, "cross_entropy_numba", lambda *a, **k: calls.append(1) or real(*a, **k))
    fused_loss, fused_grad = outlayer.cross_entropy_with_grad(logits, target, **options)
    assert calls, "the fused kernel was not used for a large NumPy input"

    reference_loss, reference_grad = outlayer.cross_entropy_with_grad(logits, target, impl="reference", **options)
    monkeypatch.setenv(_dispatch.DISABLE_ENV, "1")
    disabled_loss, _ = outlayer.cross_entropy_with_grad(logits, target, **options)
    assert len(calls) == 1
    np.testing.assert_array_equal(disabled_loss, reference_loss)
    tolerance = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fused_loss, reference_loss, **tolerance)
    np.testing.assert_allclose(fused_grad, reference_grad, **tolerance)
    assert fused_grad.dtype == dtype and np.asarray(fused_loss).dtype == dtype


def test_large_cross_entropy_with_class_axis_not_last_still_equals_the_reference() -> None:
    logits, target, _ = _large_case(np.float64)
    target = np.where(target < 0, 0, target)
    moved = np.ascontiguousarray(logits.T)  # classes on axis 0
    value = outlayer.cross_entropy(moved, target, axis=0)
    assert value == pytest.approx(outlayer.cross_entropy(logits, target, impl="reference"), rel=1e-12)
    assert value == pytest.approx(outlayer.cross_entropy(moved, target, axis=0, impl="numba"), rel=0)


def test_small_inputs_run_the_reference_and_explicit_numba_still_runs_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = kernels_cpu.cross_entropy_numba
    monkeypatch.setattr(kernels_cpu, "cross_entropy_numba", lambda *a, **k: calls.append(1) or real(*a, **k))
    logits, target = np.array([[2.0, 1.0, 0.1]]), np.array([0])
    auto = outlayer.cross_entropy(logits, target)
    assert calls == []
    forced = outlayer.cross_entropy(logits, target, impl="numba")
    assert calls == [1]
    assert forced == pytest.approx(auto, rel=1e-15)
