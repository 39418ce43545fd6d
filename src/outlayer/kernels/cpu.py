"""Fused softmax-cross-entropy on the CPU: loss and gradient in one sweep over the logits.

The fast path is a Numba kernel (:mod:`outlayer.kernels.cpu_numba`, the optional extra
``outlayer[fast]``); without numba, or when it is switched off, the same call runs the core's
NumPy reference :func:`outlayer.losses.cross_entropy_with_grad`, so results never depend on
which path ran. Semantics are the core's (docs/architecture.md) for integer targets:

    p = softmax(z),  q = (1 - eps) onehot(y) + eps * u,  u uniform over the row's finite logits
    l_n = -sum_c w_c q_c log p_c            (a term with w_c q_c = 0 contributes 0)
    dl_n/dz = -w * q + (sum_c w_c q_c) p
    mean = sum_n l_n / sum_{n not ignored} w_{y_n};  a mean over nothing is 0 with a zero gradient.

Ignored rows (``y == ignore_index``) have zero loss and zero gradient.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = [
    "FUSED_MIN_ELEMENTS",
    "cross_entropy_fused",
    "cross_entropy_fused_raw",
    "fused_available",
    "reference_only",
    "set_num_threads",
]

#: Below this many logits the thread start-up of the fused kernel outweighs its gain; a caller
#: choosing between paths (the NumPy core, the torch wrapper) can use the reference below it.
FUSED_MIN_ELEMENTS = 1 << 15

#: Setting this environment variable to 1 turns the fast path off (the reference path runs).
DISABLE_ENV = "OUTLAYER_DISABLE_FUSED"

# None until first asked; then whether ``outlayer.kernels.cpu_numba`` imported. Tests patch it.
_numba_importable: bool | None = None
# > 0 inside ``reference_only()`` blocks.
_reference_only_depth = 0
# One kernel launch at a time: numba's fallback "workqueue" threading layer aborts the process on
# concurrent parallel launches from several Python threads; each launch uses every core anyway.
_launch_lock = threading.Lock()

_REDUCTIONS = ("mean", "sum", "none")
_SIGNED_INT_OF_WIDTH = {2: np.int16, 4: np.int32, 8: np.int64}


def fused_available() -> bool:
    """True when the compiled (Numba) path can run; imports numba on first call, never raises."""
    global _numba_importable
    if _reference_only_depth > 0 or os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return False
    if _numba_importable is None:
        try:
            import outlayer.kernels.cpu_numba  # noqa: F401
        except Exception:  # numba missing or broken (e.g. a NumPy it does not support)
            _numba_importable = False
        else:
            _numba_importable = True
    return _numba_importable


@contextmanager
def reference_only() -> Iterator[None]:
    """Within this block :func:`fused_available` is False, so every caller (this module, the
    core's ``outlayer.losses`` for large inputs, ``outlayer.torch``) runs the reference path:
    for tests that compare the two, and for benchmarks of the reference. Not thread-safe."""
    global _reference_only_depth
    _reference_only_depth += 1
    try:
        yield
    finally:
        _reference_only_depth -= 1


def set_num_threads(threads: int | None) -> int:
    """Threads the fused kernel uses (None: all numba allows); returns the number in effect."""
    if not fused_available():
        return 1
    import numba

    if threads is not None:
        if not 1 <= int(threads) <= numba.config.NUMBA_NUM_THREADS:
            raise ValueError(f"threads={threads!r} must be between 1 and {numba.config.NUMBA_NUM_THREADS}")
        numba.set_num_threads(int(threads))
    else:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return int(numba.get_num_threads())


def _reference(
    logits: np.ndarray,
    target: np.ndarray,
    *,
    weight: np.ndarray | None,
    ignore_index: int | None,
    label_smoothing: float,
    reduction: str,
    with_grad: bool,
    grad_out: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    from outlayer.losses import cross_entropy, cross_entropy_with_grad

    options: dict[str, Any] = dict(
        weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction
    )
    if not with_grad:
        return np.asarray(cross_entropy(logits, target, **options)), None
    loss, grad = cross_entropy_with_grad(logits, target, **options)
    grad = np.asarray(grad, dtype=logits.dtype)
    if grad_out is not None:
        np.copyto(grad_out, grad)
        grad = grad_out
    return np.asarray(loss), grad


def _check_targets(target: np.ndarray, n_rows: int, n_classes: int, ignore_index: int | None) -> np.ndarray:
    """int64 targets; out-of-range ids would read outside the row in compiled code, so they are
    checked here (O(N)) even though callers validate."""
    if target.shape != (n_rows,):
        raise ValueError(f"target has shape {target.shape}; expected ({n_rows},) for logits with {n_rows} rows")
    if target.size and not np.issubdtype(target.dtype, np.integer):
        raise ValueError(f"target has dtype {target.dtype}; the fused kernel takes integer class ids")
    target = np.ascontiguousarray(target, dtype=np.int64)
    kept = target if ignore_index is None else target[target != ignore_index]
    if kept.size:
        low, high = int(kept.min()), int(kept.max())
        if low < 0 or high >= n_classes:
            bad = low if low < 0 else high
            raise ValueError(f"target contains class id {bad}, outside [0, {n_classes}) (ignore_index={ignore_index})")
    return target


def _same_memory(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two (N, V) C-contiguous arrays are the same buffer (in-place gradient); a partial
    overlap would corrupt rows still to be read, so it is refused."""
    if a.__array_interface__["data"][0] == b.__array_interface__["data"][0]:
        return True
    if np.shares_memory(a, b):
        raise ValueError("grad_out overlaps logits without being the same buffer; pass logits itself or a separate array")
    return False


def cross_entropy_fused_raw(
    logits: np.ndarray,
    target: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    with_grad: bool = True,
    grad_out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`cross_entropy_fused` that also takes bfloat16 logits as their raw ``uint16`` bits
    (as ``torch.Tensor.view(torch.int16)`` gives them). bfloat16 is computed in float32; the
    gradient is stored as bfloat16 bits (uint16) and the loss returned as float32. Needs numba."""
    from outlayer.kernels.cpu_numba import compiled_kernel

    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}; expected one of {_REDUCTIONS}")
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"label_smoothing={label_smoothing!r} must be in [0, 1]")
    if logits.ndim != 2 or not logits.flags.c_contiguous:
        raise ValueError(f"logits must be a C-contiguous (N, V) array; got shape {logits.shape}")
    n_rows, n_classes = logits.shape
    target = _check_targets(np.asarray(target), n_rows, n_classes, ignore_index)
    loss_dtype = np.float32 if logits.dtype == np.uint16 else logits.dtype
    if with_grad:
        if grad_out is None:
            grad_out = np.empty_like(logits)
        elif grad_out.shape != logits.shape or grad_out.dtype != logits.dtype or not grad_out.flags.c_contiguous:
            raise ValueError(
                f"grad_out must be C-contiguous {logits.dtype} of shape {logits.shape}; "
                f"got {grad_out.dtype} {grad_out.shape}"
            )
    keep = np.ones(n_rows, dtype=bool) if ignore_index is None else target != ignore_index
    if weight is not None:
        weight = np.ascontiguousarray(weight, dtype=np.float64)
        if weight.shape != (n_classes,):
            raise ValueError(f"weight has shape {weight.shape}; expected ({n_classes},)")
        total_weight = float(weight[target[keep]].sum())
    else:
        total_weight = float(np.count_nonzero(keep))
    if reduction == "mean" and total_weight == 0.0:
        # A mean over nothing is 0 with a zero gradient (the core's convention; torch gives NaN).
        if with_grad:
            grad_out.fill(0)
        return np.zeros((), dtype=loss_dtype), grad_out
    grad_scale = 1.0 / total_weight if reduction == "mean" else 1.0
    row_loss = np.empty(n_rows, dtype=np.float64)
    compute_dtype = np.float64 if logits.dtype == np.float64 else np.float32
    kernel = compiled_kernel(parallel=True)
    with _launch_lock:
        kernel(
            logits,
            logits.view(_SIGNED_INT_OF_WIDTH[logits.dtype.itemsize]),
            target,
            np.ones(1, dtype=compute_dtype) if weight is None else weight.astype(compute_dtype),
            weight is not None,
            int(ignore_index) if ignore_index is not None else 0,
            ignore_index is not None,
            float(label_smoothing),
            grad_scale,
            bool(with_grad),
            grad_out if with_grad else np.empty((1, 1), dtype=logits.dtype),
            with_grad and _same_memory(grad_out, logits),
            row_loss,
        )
    if reduction == "none":
        loss = row_loss.astype(loss_dtype)
    elif reduction == "sum":
        loss = np.asarray(row_loss.sum(), dtype=loss_dtype)
    else:
        loss = np.asarray(row_loss.sum() / total_weight, dtype=loss_dtype)
    return loss, (grad_out if with_grad else None)


def cross_entropy_fused(
    logits: np.ndarray,
    target: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    with_grad: bool = True,
    grad_out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Cross-entropy of integer targets and, if ``with_grad``, its gradient w.r.t. the logits.

    logits: C-contiguous (N, V) float32 or float64; target: (N,) integers; weight: (V,) or None.
    Returns ``(loss, grad)``: loss is 0-d for ``"mean"``/``"sum"`` and (N,) for ``"none"``, in
    the logits' dtype; grad is (N, V) in the logits' dtype (the gradient of the returned loss;
    for ``"none"`` each row's gradient of its own loss), written into ``grad_out`` when given,
    which may be ``logits`` itself (in place: no extra (N, V) buffer). ``grad`` is None when
    ``with_grad`` is False. Falls back to the core's NumPy reference when numba is unavailable.
    """
    if logits.dtype not in (np.float32, np.float64):
        raise ValueError(f"logits have dtype {logits.dtype}; the fused kernel takes float32 or float64")
    if not fused_available():
        return _reference(
            logits,
            target,
            weight=weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction=reduction,
            with_grad=with_grad,
            grad_out=grad_out,
        )
    return cross_entropy_fused_raw(
        logits,
        target,
        weight=weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        with_grad=with_grad,
        grad_out=grad_out,
    )
