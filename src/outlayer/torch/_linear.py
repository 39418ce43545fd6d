"""Linear + cross-entropy for PyTorch without materialising the (N, V) logits.

``linear_cross_entropy(hidden, weight, target, bias=...)`` equals
``F.cross_entropy(hidden @ weight.T + bias, target, ...)`` in value and gradients, but holds at
most ``chunk_size`` rows of logits at a time (Liger-Kernel style):

* ``"mean"`` / ``"sum"``: the gradients are computed during forward, block by block: the block's
  logits ``Z_c = H_c W^T + b`` are overwritten in place by ``dZ_c`` (CPU: the fused Numba kernel
  or the core; CUDA: the Triton kernel of :mod:`outlayer.kernels.triton_ce`), then
  ``dH_c = dZ_c W``, ``dW += dZ_c^T H_c``, ``db += sum_c dZ_c``. Backward only multiplies the
  stored gradients by the scalar ``grad_output``.
* ``"none"``: ``grad_output`` weighs each row differently, so forward computes the losses only
  and backward recomputes the blocks with each row's gradient scaled by its ``grad_output``
  (Cut-Cross-Entropy style).

A ``"mean"`` divides by the total class weight of the non-ignored rows of the whole batch,
computed up front, so every block is reduced with ``"sum"`` and scaled by that denominator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from outlayer import linear_ce as _np_linear

__all__ = ["LinearCrossEntropyLoss", "linear_cross_entropy"]

Tensor = torch.Tensor


def _uses_triton(logits: Tensor) -> bool:
    """CUDA blocks go to the Triton kernel (tests patch this to run it under TRITON_INTERPRET on CPU)."""
    return logits.is_cuda


def _block_ce_in_place(
    logits: Tensor,
    target: Tensor,
    *,
    class_weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    with_grad: bool,
) -> tuple[Tensor, Tensor | None]:
    """Loss (``"sum"``: scalar, ``"none"``: per row) and gradient of one block; may overwrite ``logits``.

    The gradient is returned in ``logits``' dtype and device (usually ``logits`` itself).
    """
    if _uses_triton(logits) and logits.dtype != torch.float64:
        from outlayer.kernels.triton_ce import cross_entropy_cuda

        return cross_entropy_cuda(
            logits,
            target,
            weight=class_weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction=reduction,
            in_place=True,
            with_grad=with_grad,
        )
    if logits.device.type != "cpu":  # float64 on a GPU, or another device: the core, in torch
        from outlayer.losses import cross_entropy, cross_entropy_with_grad

        options = dict(weight=class_weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)
        if not with_grad:
            return cross_entropy(logits, target, **options), None
        loss, grad = cross_entropy_with_grad(logits, target, **options)
        return loss, logits.copy_(grad)
    # CPU: the NumPy path (fused kernel in place, else the core) on views sharing memory with torch.
    work = logits if logits.dtype in (torch.float32, torch.float64) else logits.float()
    weight_np = None if class_weight is None else class_weight.detach().to(work.dtype).numpy()
    loss, grad = _np_linear._block_cross_entropy(
        work.numpy(),
        target.numpy(),
        class_weight=weight_np,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        with_grad=with_grad,
    )
    loss_t = torch.as_tensor(np.asarray(loss), dtype=work.dtype)
    if grad is None:
        return loss_t, None
    grad_t = torch.from_numpy(np.asarray(grad))
    if grad_t.data_ptr() != logits.data_ptr():
        logits.copy_(grad_t)  # keep the "gradient lives in the block's buffer" contract
    return loss_t, logits


def _chunked_linear_ce(
    hidden: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    *,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    chunk_size: int,
    want: tuple[bool, bool, bool],
    row_scale: Tensor | None = None,
    scalar_scale: Tensor | float = 1.0,
) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
    """Loss and the wanted gradients (dhidden, dweight, dbias), one block of rows at a time.

    ``row_scale`` (N,) multiplies each row's gradient (``"none"``'s backward); ``scalar_scale``
    multiplies all of them (the ``"mean"`` denominator). Gradients are accumulated in float32 at
    least, then cast to the parameters' dtypes.
    """
    n_rows = hidden.shape[0]
    want_h, want_w, want_b = want
    any_grad = want_h or want_w or want_b
    acc_dtype = torch.promote_types(weight.dtype, torch.float32)
    dhidden = torch.empty_like(hidden) if want_h else None
    dweight = torch.zeros(weight.shape, dtype=acc_dtype, device=weight.device) if want_w else None
    dbias = torch.zeros(weight.shape[0], dtype=acc_dtype, device=weight.device) if want_b and bias is not None else None
    block_reduction = "none" if reduction == "none" else "sum"
    losses: list[Tensor] = []
    for start in range(0, n_rows, chunk_size):
        stop = min(start + chunk_size, n_rows)
        h_block = hidden[start:stop]
        logits = h_block @ weight.T if bias is None else torch.addmm(bias, h_block, weight.T)
        block_loss, dlogits = _block_ce_in_place(
            logits,
            target[start:stop],
            class_weight=class_weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction=block_reduction,
            with_grad=any_grad,
        )
        losses.append(block_loss)
        if dlogits is None:
            continue
        if row_scale is not None:
            dlogits.mul_(row_scale[start:stop, None].to(dlogits.dtype))
        if not (isinstance(scalar_scale, float) and scalar_scale == 1.0):
            dlogits.mul_(scalar_scale)
        dlogits = dlogits.to(hidden.dtype)
        if dhidden is not None:
            torch.mm(dlogits, weight, out=dhidden[start:stop])
        if dweight is not None:
            dweight.addmm_(dlogits.T.to(acc_dtype), h_block.to(acc_dtype))
        if dbias is not None:
            dbias += dlogits.sum(dim=0, dtype=acc_dtype)
    if reduction == "none":
        loss = torch.cat([part.reshape(-1) for part in losses]) if losses else hidden.new_zeros(0)
    else:
        loss = torch.stack([part.to(torch.float64).reshape(()) for part in losses]).sum() if losses else hidden.new_zeros((), dtype=torch.float64)
    return (
        loss,
        dhidden,
        None if dweight is None else dweight.to(weight.dtype),
        None if dbias is None else dbias.to(bias.dtype),  # type: ignore[union-attr]
    )


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        hidden: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        target: Tensor,
        class_weight: Tensor | None,
        ignore_index: int,
        label_smoothing: float,
        reduction: str,
        chunk_size: int,
    ) -> Tensor:
        want = (ctx.needs_input_grad[0], ctx.needs_input_grad[1], bias is not None and ctx.needs_input_grad[2])
        ctx.reduction = reduction
        ctx.options = dict(ignore_index=ignore_index, label_smoothing=label_smoothing, chunk_size=chunk_size)
        scale: Tensor | float = 1.0
        if reduction == "mean":
            kept = target != ignore_index
            if class_weight is None:
                denominator = kept.sum().to(torch.float64)
            else:
                denominator = torch.where(kept, class_weight[target.clamp(min=0)].to(torch.float64), 0.0).sum()
            # A mean over nothing is 0 with zero gradients, not 0/0.
            scale = torch.where(denominator > 0, 1.0 / denominator.clamp(min=torch.finfo(torch.float64).tiny), 0.0)
        if reduction == "none":
            loss, _, _, _ = _chunked_linear_ce(
                hidden, weight, bias, target, class_weight, reduction=reduction, want=(False, False, False), **ctx.options
            )
            ctx.want = want
            ctx.save_for_backward(hidden, weight, bias, target, class_weight)
            return loss.to(hidden.dtype)
        loss, dhidden, dweight, dbias = _chunked_linear_ce(
            hidden,
            weight,
            bias,
            target,
            class_weight,
            reduction=reduction,
            want=want,
            scalar_scale=scale if isinstance(scale, float) else scale.to(torch.float32 if hidden.dtype != torch.float64 else torch.float64),
            **ctx.options,
        )
        ctx.save_for_backward(dhidden, dweight, dbias)
        return (loss * scale).to(hidden.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_loss: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        none_for_options = (None,) * 6
        if ctx.reduction == "none":
            hidden, weight, bias, target, class_weight = ctx.saved_tensors
            _, dhidden, dweight, dbias = _chunked_linear_ce(
                hidden, weight, bias, target, class_weight, reduction="none", want=ctx.want, row_scale=grad_loss, **ctx.options
            )
            return (dhidden, dweight, dbias) + none_for_options
        stored = ctx.saved_tensors
        if bool(grad_loss == 1):
            # The usual loss.backward(): hand over the stored gradients themselves. Autograd frees
            # its saved copy first, so .grad takes over the buffer instead of a second (V, d) one.
            return tuple(stored) + none_for_options
        return tuple(None if g is None else g * grad_loss.to(g.dtype) for g in stored) + none_for_options


def _check(
    hidden: Tensor, weight: Tensor, target: Tensor, bias: Tensor | None, class_weight: Tensor | None, ignore_index: int, chunk_size: object
) -> tuple[int, int]:
    for name, value in (("hidden", hidden), ("weight", weight), ("target", target)):
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    n_rows, _, n_classes = _np_linear.check_linear_shapes(
        tuple(hidden.shape), tuple(weight.shape), tuple(target.shape), None if bias is None else tuple(bias.shape)
    )
    if not hidden.is_floating_point():
        raise ValueError(f"hidden must be a floating-point tensor, got dtype {hidden.dtype}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.dtype != hidden.dtype:
            raise ValueError(f"{name} dtype {value.dtype} does not match hidden dtype {hidden.dtype}")
        if value is not None and value.device != hidden.device:
            raise ValueError(f"{name} is on {value.device} but hidden is on {hidden.device}")
    if target.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise ValueError(f"target must hold integer class ids, got dtype {target.dtype}")
    if class_weight is not None and tuple(class_weight.shape) != (n_classes,):
        raise ValueError(f"class_weight shape {tuple(class_weight.shape)} does not match weight shape {tuple(weight.shape)}: expected ({n_classes},)")
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if bool(bad.any()):
        where = int(bad.nonzero()[0, 0])
        raise ValueError(f"target[{where}] = {int(target[where])} is not a class id in [0, {n_classes}) nor ignore_index={ignore_index}")
    chunk = _np_linear.check_chunk_size(chunk_size)
    itemsize = max(hidden.element_size(), 4)  # blocks are worked on in float32 at least
    return n_rows, chunk or _np_linear.default_chunk_size(n_rows, n_classes, itemsize)


def linear_cross_entropy(
    hidden: Tensor,
    weight: Tensor,
    target: Tensor,
    *,
    bias: Tensor | None = None,
    class_weight: Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    chunk_size: int | None = None,
) -> Tensor:
    """``F.cross_entropy(hidden @ weight.T + bias, target, weight=class_weight, ...)`` in chunks of rows.

    Args:
        hidden: (N, d) floating tensor (float32, float64, bfloat16, float16).
        weight: (V, d) classifier weight, same dtype and device.
        target: (N,) integer class ids in [0, V) or ``ignore_index``.
        bias: optional (V,).
        class_weight: optional (V,) per-class weights (``F.cross_entropy``'s ``weight=``).
        ignore_index, label_smoothing, reduction: as ``F.cross_entropy``; ``"mean"`` divides by
            the total class weight of the non-ignored rows, and a mean over nothing is 0 with
            zero gradients (where PyTorch returns nan).
        chunk_size: rows per block (``None``: about 64 MiB of logits per block,
            :func:`outlayer.linear_ce.default_chunk_size`).

    Returns:
        The loss: a scalar, or (N,) for ``"none"``; differentiable with respect to ``hidden``,
        ``weight`` and ``bias`` (first order). Extra memory beyond the gradients: one block of
        logits, ``chunk_size x V``.
    """
    _np_linear.check_options(reduction, label_smoothing)
    _, chunk = _check(hidden, weight, target, bias, class_weight, ignore_index, chunk_size)
    target = target.to(torch.int64).contiguous()
    return _LinearCrossEntropy.apply(
        hidden.contiguous(), weight.contiguous(), bias, target, class_weight, int(ignore_index), float(label_smoothing), reduction, chunk
    )


class LinearCrossEntropyLoss(torch.nn.Module):
    """Module form of :func:`linear_cross_entropy`: ``loss_fn(hidden, weight, target, bias=None)``."""

    def __init__(
        self,
        class_weight: Tensor | None = None,
        *,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        self.register_buffer("class_weight", class_weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.reduction = reduction
        self.chunk_size = chunk_size

    def forward(self, hidden: Tensor, weight: Tensor, target: Tensor, bias: Tensor | None = None) -> Tensor:
        return linear_cross_entropy(
            hidden,
            weight,
            target,
            bias=bias,
            class_weight=self.class_weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
            chunk_size=self.chunk_size,
        )
