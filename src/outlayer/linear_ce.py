"""Linear layer + cross-entropy without the full logits matrix (NumPy).

For hidden states ``H`` (N, d), a classifier ``W`` (V, d) and an optional bias ``b`` (V,), the
logits are ``Z = H @ W.T + b`` (N, V). With many classes (V = 32k-256k) ``Z`` and its gradient are
the largest tensors of training, so this module never holds more than ``chunk_size`` rows of them:
for each block of rows it computes the block's logits, asks the core (or the fused kernel) for the
loss and ``dZ`` of that block, and immediately folds ``dZ`` into

    dH[rows] = dZ_rows @ W          (chunk, d)
    dW      += dZ_rows.T @ H[rows]  (V, d)
    db      += sum_rows dZ_rows     (V,)

which is the chain rule through ``Z = H W^T + b``. A ``"mean"`` has a global denominator (the total
class weight of the non-ignored rows of the *whole* batch), so every block is reduced with
``"sum"`` and scaled by that denominator, computed once up front from the targets.

The cross-entropy itself (its weights, ``ignore_index``, label smoothing and gradient) is the
core's. Inputs are validated once, here (``outlayer._validate``); the backend is chosen once per
call by :func:`outlayer._dispatch.choose_impl`: the Numba kernel, which writes ``dZ`` over the
block's logits in place, or the reference :func:`outlayer.losses.cross_entropy_with_grad`. This
module only chunks and applies the chain rule.

Memory beyond the returned gradients: one (chunk_size, V) block of logits, reused for every block
(the matmul writes into it), and a (class_block, d) slice of ``dW``'s update of a quarter of
that (at most :data:`DW_SLICE_BYTES`), so a smaller ``chunk_size`` lowers both.

:mod:`outlayer.torch` has the autograd-aware twin, :func:`outlayer.torch.linear_cross_entropy`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from outlayer import _dispatch
from outlayer import losses as _losses
from outlayer._validate import (
    InputError,
    check_class_ids,
    check_class_weight,
    check_ignore_index,
    check_impl,
    check_label_smoothing,
    check_reduction,
    error,
    format_index,
)

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "default_chunk_size",
    "linear_cross_entropy",
    "linear_cross_entropy_with_grad",
]

Array = Any

# Target size of one block of logits, chosen by measurement: at N=2048, d=1024, V=32000 float32
# (2 shared CPU cores, `benchmarks/bench_linear_ce.py --shape 2048,1024,32000 --chunk-sweep
# 64,128,512,2048 --repeats 2`) blocks of 64/128/512 rows (8/16/64 MiB) took 1.07/0.83/0.45x the
# naive time: small blocks make dW += dZ^T H a thin, slow matmul; beyond 64 MiB nothing was gained.
DEFAULT_CHUNK_BYTES = 64 * 2**20

#: The (class_block, d) temporary of ``dW[lo:hi] += dZ[:, lo:hi].T @ H`` is a quarter of a block of
#: logits and at most this size:
#: NumPy has no accumulating matmul, and a whole (V, d) temporary would cost as much as dW itself.
DW_SLICE_BYTES = 16 * 2**20  # 4096 classes at d = 1024: 8 MiB slices ran 1.4x slower (thin GEMMs)


def default_chunk_size(n_rows: int, n_classes: int, itemsize: int = 4) -> int:
    """Rows per block so that one block of logits takes about :data:`DEFAULT_CHUNK_BYTES`.

    At least 1 row and at most ``n_rows`` (a small batch is one block).
    """
    rows = DEFAULT_CHUNK_BYTES // max(1, n_classes * itemsize)
    return int(max(1, min(max(n_rows, 1), rows)))


def check_chunk_size(chunk_size: object) -> int | None:
    """``None`` (choose by size) or a positive int; anything else is an InputError naming it."""
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or int(chunk_size) < 1:
        raise InputError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
    return int(chunk_size)


def check_linear_shapes(
    hidden_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    target_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None,
) -> tuple[int, int, int]:
    """Validate the shapes of ``hidden @ weight.T + bias`` against ``target``; returns (N, d, V)."""
    if len(hidden_shape) != 2:
        raise InputError(f"hidden must be 2-D (N, d), got shape {tuple(hidden_shape)}")
    if len(weight_shape) != 2:
        raise InputError(f"weight must be 2-D (V, d), got shape {tuple(weight_shape)}")
    n_rows, dim = hidden_shape
    n_classes = weight_shape[0]
    if weight_shape[1] != dim:
        raise InputError(
            f"hidden shape {tuple(hidden_shape)} and weight shape {tuple(weight_shape)} disagree on d: "
            f"expected weight of shape (V, {dim})"
        )
    if tuple(target_shape) != (n_rows,):
        raise InputError(f"target shape {tuple(target_shape)} does not match hidden shape {tuple(hidden_shape)}: expected ({n_rows},)")
    if bias_shape is not None and tuple(bias_shape) != (n_classes,):
        raise InputError(f"bias shape {tuple(bias_shape)} does not match weight shape {tuple(weight_shape)}: expected ({n_classes},)")
    return int(n_rows), int(dim), int(n_classes)


def check_options(reduction: object, label_smoothing: object) -> None:
    check_reduction(reduction)
    check_label_smoothing(label_smoothing)


def check_targets(target: np.ndarray, n_classes: int, ignore_index: int | None) -> None:
    """Integer class ids in [0, V) or ``ignore_index``; the first bad one is named."""
    if target.dtype.kind not in "iu":
        raise InputError(f"target must hold integer class ids, got dtype {target.dtype}")
    check_class_ids(target, num_classes=n_classes, ignore_index=ignore_index, xp=np)


def mean_denominator(target: np.ndarray, class_weight: np.ndarray | None, ignore_index: int | None) -> float:
    """The denominator of a ``"mean"``: total class weight of the non-ignored rows (their count without weights)."""
    kept = target if ignore_index is None else target[target != ignore_index]
    if class_weight is None:
        return float(kept.size)
    return float(np.sum(class_weight[kept], dtype=np.float64))


def _block_cross_entropy(
    logits: np.ndarray,
    target: np.ndarray,
    *,
    class_weight: np.ndarray | None,
    ignore_index: int | None,
    label_smoothing: float,
    reduction: str,
    with_grad: bool = True,
    impl: str | None = None,
) -> tuple[Any, np.ndarray | None]:
    """Loss and gradient (or None) of one validated block of logits; the gradient may overwrite ``logits``.

    ``impl`` is the backend chosen for the whole call ("numba" or "reference"; None: choose here).
    """
    if impl is None:
        impl = _dispatch.choose_impl_for(logits)
    if impl == "numba":
        return _dispatch.fused_cross_entropy(
            logits,
            target,
            impl="numba",
            weight=class_weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction=reduction,
            with_grad=with_grad,
            grad_out=logits if with_grad else None,  # in place: the block's logits are not needed once dZ exists
        )
    problem = _losses._prepare_cross_entropy(
        logits, target, weight=class_weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction, axis=-1
    )
    return _losses._reference_cross_entropy(problem, need_grad=with_grad)


def _chunked(
    hidden: Array,
    weight: Array,
    target: Array,
    *,
    bias: Array | None,
    class_weight: Array | None,
    ignore_index: int | None,
    label_smoothing: float,
    reduction: str,
    chunk_size: int | None,
    with_grad: bool,
    impl: str = "auto",
) -> tuple[Any, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    # Every check first, before any block is computed (one boundary for every backend).
    impl = check_impl(impl)
    check_options(reduction, label_smoothing)
    ignore_index = check_ignore_index(ignore_index)
    hidden = np.asarray(hidden)
    weight = np.asarray(weight)
    target = np.asarray(target)
    bias = None if bias is None else np.asarray(bias)
    n_rows, dim, n_classes = check_linear_shapes(hidden.shape, weight.shape, target.shape, None if bias is None else bias.shape)
    if hidden.dtype.kind != "f":
        raise InputError(f"hidden must be a float array, got dtype {hidden.dtype}")
    for name, array in (("weight", weight), ("bias", bias)):
        if array is not None and array.dtype != hidden.dtype:
            raise InputError(f"{name} dtype {array.dtype} does not match hidden dtype {hidden.dtype}")
    chunk = check_chunk_size(chunk_size) or default_chunk_size(n_rows, n_classes, hidden.dtype.itemsize)
    check_targets(target, n_classes, ignore_index)
    target = target.astype(np.int64, copy=False)
    if class_weight is not None:
        class_weight = np.asarray(class_weight)
        if class_weight.shape != (n_classes,):
            raise InputError(f"class_weight shape {class_weight.shape} does not match weight shape {weight.shape}: expected ({n_classes},)")
        class_weight = check_class_weight(class_weight, num_classes=n_classes, xp=np, like=np.zeros(0, hidden.dtype), name="class_weight")
    backend = _dispatch.choose_impl(impl, library="numpy", device="cpu", dtype=hidden.dtype.name, n_elements=n_rows * n_classes)

    scale = 1.0
    if reduction == "mean":
        denominator = mean_denominator(target, class_weight, ignore_index)
        scale = 1.0 / denominator if denominator != 0 else 0.0  # a mean over nothing: 0, zero gradient
    block_reduction = "none" if reduction == "none" else "sum"
    # classes per dW update: a (class_block, d) temporary of a quarter of a block, at most DW_SLICE_BYTES
    slice_bytes = min(DW_SLICE_BYTES, chunk * n_classes * hidden.dtype.itemsize // 4)
    class_block = max(1, slice_bytes // max(dim * hidden.dtype.itemsize, 1))

    dhidden = np.empty_like(hidden) if with_grad else None
    dweight = np.zeros_like(weight) if with_grad else None
    dbias = None if bias is None or not with_grad else np.zeros_like(bias)
    # One block buffer for every block: the matmul writes into it and the kernel overwrites it with dZ.
    block_buffer = np.empty((min(chunk, n_rows), n_classes), dtype=hidden.dtype)
    weight_t = weight.T
    losses: list[Any] = []
    for start in range(0, n_rows, chunk):
        stop = min(start + chunk, n_rows)
        rows = slice(start, stop)
        logits = block_buffer[: stop - start]
        np.matmul(hidden[rows], weight_t, out=logits)
        if bias is not None:
            logits += bias
        try:
            block_loss, dlogits = _block_cross_entropy(
                logits,
                target[rows],
                class_weight=class_weight,
                ignore_index=ignore_index,
                label_smoothing=float(label_smoothing),
                reduction=block_reduction,
                with_grad=with_grad,
                impl=backend,
            )
        except InputError:
            _raise_nonfinite_block(logits, start)
            raise
        losses.append(block_loss)
        if dlogits is None or dhidden is None or dweight is None:
            continue
        if scale != 1.0:
            dlogits *= scale
        # dH = dZ W computed as (W^T dZ^T)^T into a fresh (d, chunk) array, then copied: NumPy's
        # matmul with out= (or in this C order) ran this long-K shape at half speed (measured at
        # 512 x 32000 x 1024: 0.70 s against 0.37 s; torch.mm 0.33 s). The temporary is chunk x d.
        dhidden[rows] = (weight.T @ dlogits.T).T
        for lo in range(0, n_classes, class_block):
            dweight[lo : lo + class_block] += dlogits[:, lo : lo + class_block].T @ hidden[rows]
        if dbias is not None:
            dbias += dlogits.sum(axis=0)

    if reduction == "none":
        loss: Any = np.concatenate([np.reshape(np.asarray(part), (-1,)) for part in losses]) if losses else np.zeros(0, hidden.dtype)
        loss = loss.astype(hidden.dtype, copy=False)
    else:
        total = np.sum(np.asarray([np.asarray(part, dtype=np.float64) for part in losses]), dtype=np.float64)
        loss = hidden.dtype.type(total * scale)
    return loss, dhidden, dweight, dbias


def _raise_nonfinite_block(logits: np.ndarray, start: int) -> None:
    """Name a NaN/+inf logit of a block by its row in the whole batch (the error path only).

    The bad row is never overwritten by the in-place gradient, so it can still be found here.
    """
    bad = np.isnan(logits) | (logits == np.inf)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise error(
            "logits (hidden @ weight.T + bias)", "finite or -inf", float(logits[row, column]), where=format_index((start + row, column))
        )


def linear_cross_entropy_with_grad(
    hidden: Array,
    weight: Array,
    target: Array,
    *,
    bias: Array | None = None,
    class_weight: Array | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    chunk_size: int | None = None,
    impl: str = "auto",
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray | None]:
    """Cross-entropy of ``hidden @ weight.T + bias`` and its gradients, one block of rows at a time.

    Args:
        hidden: (N, d) float array.
        weight: (V, d) classifier, same dtype as ``hidden``.
        target: (N,) integer class ids in [0, V), or ``ignore_index`` for rows that do not count.
        bias: optional (V,), same dtype.
        class_weight: optional (V,) per-class weights, as ``weight=`` of
            :func:`outlayer.losses.cross_entropy` (named differently here: ``weight`` is the classifier).
        ignore_index, label_smoothing, reduction: as :func:`outlayer.losses.cross_entropy`
            (``"mean"`` divides by the total class weight of the non-ignored rows; a mean over
            nothing is 0 with zero gradients).
        chunk_size: rows per block; ``None`` picks :func:`default_chunk_size`. Peak extra memory is
            one block of logits (chunk_size x V) plus the gradients themselves.
        impl: "auto" (the Numba kernel where :func:`outlayer._dispatch.choose_impl` allows),
            "reference" or "numba" (an error where it cannot run).

    Returns:
        ``(loss, dhidden, dweight, dbias)``: ``loss`` is a scalar (``"mean"``/``"sum"``) or (N,)
        (``"none"``); ``dhidden`` (N, d), ``dweight`` (V, d), ``dbias`` (V,) or None. With
        ``"none"`` row i of ``dhidden`` is the gradient of row i's own loss and ``dweight``,
        ``dbias`` are the gradients of the sum of the row losses.
    """
    loss, dhidden, dweight, dbias = _chunked(
        hidden,
        weight,
        target,
        bias=bias,
        class_weight=class_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        chunk_size=chunk_size,
        with_grad=True,
        impl=impl,
    )
    assert dhidden is not None and dweight is not None
    return loss, dhidden, dweight, dbias


def linear_cross_entropy(
    hidden: Array,
    weight: Array,
    target: Array,
    *,
    bias: Array | None = None,
    class_weight: Array | None = None,
    ignore_index: int | None = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    chunk_size: int | None = None,
    impl: str = "auto",
) -> Any:
    """The loss of :func:`linear_cross_entropy_with_grad` (same arguments), without computing gradients."""
    return _chunked(
        hidden,
        weight,
        target,
        bias=bias,
        class_weight=class_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        chunk_size=chunk_size,
        with_grad=False,
        impl=impl,
    )[0]
