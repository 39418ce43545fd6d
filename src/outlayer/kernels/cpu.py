"""Fused softmax-cross-entropy on the CPU: loss and gradient in one sweep over the logits (Numba).

API for callers (``outlayer._dispatch`` chooses when this runs; the inputs arrive validated)::

    numba_importable() -> bool        whether the compiled path can run (imports numba once, never raises)
    cross_entropy_numba(logits, target, *, weight=None, ignore_index=None, label_smoothing=0.0,
                        reduction="mean", with_grad=True, grad_out=None, name="logits") -> (loss, grad)
    set_num_threads(threads) -> int   threads of the kernel (None: all numba allows)

A leaf: this module imports nothing from the losses and never falls back to another path; that
choice is the dispatcher's. It keeps only the checks that protect memory (shapes, dtypes, class
ids inside the row, overlapping buffers); value checks (weights, options) are the boundary's,
except NaN/+inf logits, which the kernel finds in the max pass it makes anyway and which raise
:class:`outlayer._validate.InputError` naming the first such value (no extra pass over the logits).

Semantics are the core's (:func:`outlayer.losses.cross_entropy`) for integer targets:

    p = softmax(z),  q = (1 - eps) onehot(y) + eps * u,  u uniform over the row's finite logits
    l_n = -sum_c w_c q_c log p_c            (a term with w_c q_c = 0 contributes 0)
    dl_n/dz = -w * q + (sum_c w_c q_c) p
    mean = sum_n l_n / sum_{n not ignored} w_{y_n};  a mean over nothing is 0 with a zero gradient.

Ignored rows (``y == ignore_index``) have zero loss and zero gradient.

The legacy names ``fused_available``, ``reference_only`` and ``cross_entropy_fused_raw`` remain
only for ``outlayer.torch`` until it calls ``outlayer._dispatch``; then they go.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from outlayer._validate import nonfinite_logits_error

__all__ = [
    "cross_entropy_fused_raw",
    "cross_entropy_numba",
    "fused_available",
    "numba_importable",
    "reference_only",
    "set_num_threads",
]

# None until first asked; then whether ``outlayer.kernels.cpu_numba`` imported. Tests patch it.
_numba_importable: bool | None = None
# Legacy: inside ``reference_only()`` blocks (per thread / task, not global) fused_available() is False.
_reference_only: contextvars.ContextVar[bool] = contextvars.ContextVar("outlayer_reference_only", default=False)
# One kernel launch at a time: numba's fallback "workqueue" threading layer aborts the process on
# concurrent parallel launches from several Python threads; each launch uses every core anyway.
_launch_lock = threading.Lock()

_REDUCTIONS = ("mean", "sum", "none")
_SIGNED_INT_OF_WIDTH = {2: np.int16, 4: np.int32, 8: np.int64}
_STORAGE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.uint16))


def numba_importable() -> bool:
    """True when the compiled (Numba) kernel can run; imports numba on first call, never raises."""
    global _numba_importable
    if _numba_importable is None:
        try:
            import outlayer.kernels.cpu_numba  # noqa: F401
        except Exception:  # numba missing or broken (e.g. a NumPy it does not support)
            _numba_importable = False
        else:
            _numba_importable = True
    return _numba_importable


def set_num_threads(threads: int | None) -> int:
    """Threads the fused kernel uses (None: all numba allows); returns the number in effect."""
    if not numba_importable():
        return 1
    import numba

    most = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]  # set at numba's import
    if threads is not None:
        if not 1 <= int(threads) <= most:
            raise ValueError(f"threads must be between 1 and {most}, got {threads!r}")
        numba.set_num_threads(int(threads))
    else:
        numba.set_num_threads(most)
    return int(numba.get_num_threads())


def _memory_safe_targets(target: np.ndarray, n_rows: int, n_classes: int, ignore_index: int | None) -> np.ndarray:
    """int64 targets, each a column of the row or ``ignore_index``: compiled code would read outside the
    row otherwise, so this O(N) check stays even though the boundary validated them."""
    if target.shape != (n_rows,):
        raise ValueError(f"target must have shape ({n_rows},) for logits with {n_rows} rows, got shape {target.shape}")
    if target.size and not np.issubdtype(target.dtype, np.integer):
        raise ValueError(f"target must be integer class ids, got dtype {target.dtype}")
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


def _widened_row(logits: np.ndarray, row: int) -> np.ndarray:
    """One row as float64 (bfloat16 bits widened): for the error message only."""
    values = logits[row]
    if values.dtype == np.uint16:
        return (values.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return values.astype(np.float64)


def cross_entropy_numba(
    logits: np.ndarray,
    target: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    with_grad: bool = True,
    grad_out: np.ndarray | None = None,
    name: str = "logits",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Cross-entropy of integer targets and, if ``with_grad``, its gradient w.r.t. the logits.

    Args:
      logits: (N, V) float32, float64, or bfloat16 as its raw ``uint16`` bits (as
        ``torch.Tensor.view(torch.int16)`` gives them); any strides; may be read-only (e.g.
        ``np.load(mmap_mode="r")``). A non-contiguous array is copied once.
      target: (N,) integer class ids in [0, V), or ``ignore_index``.
      weight: (V,) finite non-negative class weights, or None (validated by the caller).
      with_grad: compute the gradient; ``grad_out``: where to write it (C-contiguous, the logits'
        dtype and shape), which may be ``logits`` itself: in place, no extra (N, V) buffer.
      name: what the logits are called in an error message.

    Returns:
      ``(loss, grad)``: loss is 0-d for ``"mean"``/``"sum"`` and (N,) for ``"none"``, in the logits'
      dtype (float32 for bfloat16); grad is (N, V) in the logits' storage dtype (the gradient of the
      returned loss; for ``"none"`` each row's gradient of its own loss), or None without ``with_grad``.

    Raises:
      InputError: a NaN or +inf logit (found in the max pass), named with its (row, column). The
        bad value itself is never overwritten; with an in-place gradient the rest of the buffer
        is unspecified after the error (other rows may hold gradients, the bad row's earlier
        chunks exponentials).
    """
    from outlayer.kernels.cpu_numba import compiled_kernel, fast_path_applies

    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of 'none', 'mean', 'sum', got {reduction!r}")
    if logits.ndim != 2 or logits.dtype not in _STORAGE_DTYPES:
        raise ValueError(f"logits must be a 2-D float32, float64 or bfloat16-bits (uint16) array, got {logits.dtype} of shape {logits.shape}")
    in_place = with_grad and grad_out is not None and _same_memory(grad_out, logits)
    if not logits.flags.c_contiguous:
        if in_place:
            raise ValueError("an in-place gradient needs C-contiguous logits")
        logits = np.ascontiguousarray(logits)
    n_rows, n_classes = logits.shape
    target = _memory_safe_targets(np.asarray(target), n_rows, n_classes, ignore_index)
    loss_dtype = np.float32 if logits.dtype == np.uint16 else logits.dtype
    if with_grad:
        if grad_out is None:
            grad_out = np.empty_like(logits)
        elif grad_out.shape != logits.shape or grad_out.dtype != logits.dtype or not grad_out.flags.c_contiguous or not grad_out.flags.writeable:
            raise ValueError(
                f"grad_out must be a writeable C-contiguous {logits.dtype} array of shape {logits.shape}; "
                f"got {grad_out.dtype} {grad_out.shape}"
            )
    keep = np.ones(n_rows, dtype=bool) if ignore_index is None else target != ignore_index
    if weight is not None:
        weight = np.ascontiguousarray(weight, dtype=np.float64)
        if weight.shape != (n_classes,):
            raise ValueError(f"weight must have shape ({n_classes},), got shape {weight.shape}")
        total_weight = float(weight[target[keep]].sum())
    else:
        total_weight = float(np.count_nonzero(keep))
    mean_over_nothing = reduction == "mean" and total_weight == 0.0
    grad_scale = 1.0 / total_weight if reduction == "mean" and not mean_over_nothing else 1.0
    row_loss = np.empty(n_rows, dtype=np.float64)
    row_bad = np.zeros(n_rows, dtype=np.uint8)
    compute_dtype = np.float64 if logits.dtype == np.float64 else np.float32
    # The kernel only reads the logits; handing it a read-only view whatever the caller's flag
    # means one compiled signature per dtype, not two (numba types writeability).
    read_only = logits.view()
    read_only.flags.writeable = False
    kernel = compiled_kernel(parallel=True, fast=fast_path_applies(logits.dtype, float(label_smoothing), bool(with_grad)))
    with _launch_lock:
        kernel(
            read_only,
            read_only.view(_SIGNED_INT_OF_WIDTH[logits.dtype.itemsize]),
            target,
            np.ones(1, dtype=compute_dtype) if weight is None else weight.astype(compute_dtype),
            weight is not None,
            int(ignore_index) if ignore_index is not None else 0,
            ignore_index is not None,
            float(label_smoothing),
            grad_scale,
            bool(with_grad),
            grad_out if with_grad else np.empty((1, 1), dtype=logits.dtype),
            in_place,
            row_loss,
            row_bad,
        )
    if row_bad.any():
        row = int(np.flatnonzero(row_bad)[0])
        raise nonfinite_logits_error(_widened_row(logits, row), row, name=name)
    if mean_over_nothing:
        # A mean over nothing is 0 with a zero gradient (the core's convention; torch gives NaN).
        if grad_out is not None:
            grad_out.fill(0)
        return np.zeros((), dtype=loss_dtype), grad_out
    if reduction == "none":
        loss = row_loss.astype(loss_dtype)
    elif reduction == "sum":
        loss = np.asarray(row_loss.sum(), dtype=loss_dtype)
    else:
        loss = np.asarray(row_loss.sum() / total_weight, dtype=loss_dtype)
    return loss, (grad_out if with_grad else None)


# ------------------------------------------------------------------------------------------------
# Legacy entry points, kept for outlayer.torch until it calls outlayer._dispatch (then deleted).
# ------------------------------------------------------------------------------------------------
def fused_available() -> bool:
    """Legacy: :func:`numba_importable`, False inside a :func:`reference_only` block."""
    return not _reference_only.get() and numba_importable()


@contextmanager
def reference_only() -> Iterator[None]:
    """Legacy: within this block :func:`fused_available` is False (per thread and task).
    New code passes ``impl="reference"`` instead."""
    token = _reference_only.set(True)
    try:
        yield
    finally:
        _reference_only.reset(token)


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
    """Legacy: :func:`cross_entropy_numba` behind the value checks it used to make itself."""
    from outlayer._validate import check_class_weight, check_ignore_index, check_label_smoothing, check_reduction

    check_reduction(reduction)
    check_label_smoothing(label_smoothing)
    check_ignore_index(ignore_index)
    if weight is not None:
        weight = check_class_weight(np.asarray(weight, dtype=np.float64), num_classes=logits.shape[-1], xp=np, like=np.zeros(1))
    options: dict[str, Any] = dict(weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)
    return cross_entropy_numba(logits, target, with_grad=with_grad, grad_out=grad_out, **options)
