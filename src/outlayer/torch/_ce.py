"""``cross_entropy`` / ``CrossEntropyLoss``: drop-ins for PyTorch's, on outlayer's fused kernels.

Which code runs:

* CPU, float32 / float64 / bfloat16, 1-D ``(V,)`` or 2-D ``(N, V)`` logits, integer class ids,
  numba installed: :func:`outlayer.kernels.cross_entropy_fused` in a ``torch.autograd.Function``.
  The forward computes the loss and the gradient in one sweep (bfloat16 is widened to float32
  in registers, the gradient rounded back); the backward returns that gradient (scaled by the
  incoming one when it is not 1). Extra memory: one (N, V) gradient, none with ``inplace=True``.
* CUDA with Triton: :func:`outlayer.kernels.triton_ce.cross_entropy_cuda` likewise.
* Anything else (probability targets, K-dimensional inputs, float16, no numba or Triton): the
  core's array-API :func:`outlayer.losses.cross_entropy` on the torch tensors, with autograd.

Semantics are the core's, which match ``torch.nn.functional.cross_entropy`` except in two
deliberate places: a ``"mean"`` over nothing (every target ignored, zero total weight, empty
batch) is 0 with a zero gradient (PyTorch: NaN), and label smoothing spreads its mass only over
classes with a finite logit (PyTorch spreads it onto -inf logits too and returns inf).
``size_average`` and ``reduce`` (deprecated in PyTorch since 0.4) are refused.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["CrossEntropyLoss", "cross_entropy"]

_REDUCTIONS = ("mean", "sum", "none")
_FUSED_CPU_DTYPES = (torch.float32, torch.float64, torch.bfloat16)
_NUMPY_DTYPES = {torch.float32: "float32", torch.float64: "float64"}
_INTEGER_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def _as_numpy_storage(tensor: Tensor) -> Any:
    """A NumPy view of a contiguous CPU tensor's memory; bfloat16 as its raw uint16 bits."""
    import numpy as np

    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(np.uint16)
    return tensor.numpy()


def _empty_like_hugepages(tensor: Tensor) -> Tensor:
    """An uninitialised tensor like ``tensor`` (contiguous, CPU) in NumPy-allocated memory.

    NumPy asks Linux for transparent huge pages on large arrays (madvise), torch's allocator
    does not: filling a fresh 500 MB buffer then takes a few hundred page faults instead of
    ~128k, which at 4096 x 32000 float32 halves the forward+backward time on a 2-core machine.
    """
    import numpy as np

    if tensor.dtype == torch.bfloat16:
        return torch.from_numpy(np.empty(tuple(tensor.shape), dtype=np.uint16)).view(torch.bfloat16)
    return torch.from_numpy(np.empty(tuple(tensor.shape), dtype=_NUMPY_DTYPES[tensor.dtype]))


class _FusedCrossEntropy(torch.autograd.Function):
    """Loss and gradient in one forward sweep; backward returns (or scales) the stored gradient."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        logits: Tensor,
        target: Tensor,
        weight: Tensor | None,
        ignore_index: int,
        label_smoothing: float,
        reduction: str,
        inplace: bool,
    ) -> Tensor:
        need_grad = ctx.needs_input_grad[0]
        values = logits.detach()
        if not values.is_contiguous():
            values = values.contiguous()
        if values.is_cuda:
            from outlayer.kernels.triton_ce import cross_entropy_cuda

            loss, grad = cross_entropy_cuda(
                values,
                target,
                weight=weight,
                ignore_index=ignore_index,
                label_smoothing=label_smoothing,
                reduction=reduction,
                in_place=inplace and need_grad,
                with_grad=need_grad,
            )
            loss = loss.to(logits.dtype)
        else:
            from outlayer.kernels.cpu import cross_entropy_fused_raw

            grad = None
            if need_grad:
                # In place: the gradient overwrites the logits' memory (Liger-style), no new buffer.
                grad = values if inplace else _empty_like_hugepages(values)
            loss_np, _ = cross_entropy_fused_raw(
                _as_numpy_storage(values),
                target.detach().cpu().numpy(),
                weight=None if weight is None else weight.detach().to(torch.float64).cpu().numpy(),
                ignore_index=ignore_index,
                label_smoothing=label_smoothing,
                reduction=reduction,
                with_grad=need_grad,
                grad_out=None if grad is None else _as_numpy_storage(grad),
            )
            loss = torch.from_numpy(loss_np).to(logits.dtype)
        if inplace and need_grad:
            # NumPy wrote behind autograd's back: bump the version so that any other saved use
            # of these logits fails loudly in its backward instead of reading the gradient.
            torch.autograd.graph.increment_version(values)
        # Saved tensors are freed once backward has run (unless retain_graph), so the buffer is
        # not kept alive a moment longer than PyTorch keeps its own.
        ctx.save_for_backward(grad)
        ctx.reduction = reduction
        return loss

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_loss: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        (grad,) = ctx.saved_tensors
        # loss.backward() (or .sum().backward() for "none") passes ones: the stored gradient is
        # the answer, with no sweep and no new buffer. Otherwise scale into a new tensor: scaling
        # the saved one in place would break a second backward through a retained graph.
        if not bool((grad_loss == 1).all()):
            scale = grad_loss.to(grad.dtype)
            grad = grad * (scale.unsqueeze(-1) if ctx.reduction == "none" else scale)
        return grad, None, None, None, None, None, None


def _fused_path_applies(input: Tensor, target: Tensor, weight: Tensor | None) -> bool:
    if input.dim() not in (1, 2) or target.dtype not in _INTEGER_DTYPES or target.dim() != input.dim() - 1:
        return False
    if weight is not None and (weight.dim() != 1 or weight.device != input.device):
        return False
    if input.is_cuda:
        from importlib.util import find_spec

        return input.dtype in (torch.float32, torch.bfloat16, torch.float16) and find_spec("triton") is not None
    if input.device.type != "cpu" or input.dtype not in _FUSED_CPU_DTYPES:
        return False
    from outlayer.kernels import fused_available

    return fused_available()


def _check_arguments(
    input: Tensor, target: Tensor, size_average: Any, reduce: Any, reduction: str, label_smoothing: float
) -> None:
    if size_average is not None or reduce is not None:
        raise ValueError(
            f"size_average={size_average!r}, reduce={reduce!r}: these are deprecated in PyTorch; "
            "use reduction='mean' | 'sum' | 'none'"
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}; expected one of {_REDUCTIONS}")
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"label_smoothing={label_smoothing!r} must be in [0, 1]")
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise ValueError(f"input and target must be torch tensors; got {type(input).__name__} and {type(target).__name__}")
    if input.dim() == 0:
        raise ValueError("input is 0-dimensional; expected (V,), (N, V) or (N, V, d1, ...) logits")


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    *,
    inplace: bool = False,
) -> Tensor:
    """Softmax cross-entropy from logits, a drop-in for ``torch.nn.functional.cross_entropy``.

    ``l_n = -sum_c w_c q_{n,c} log softmax(input_n)_c`` with ``q = (1 - eps) onehot(y) + eps u``
    (``u`` uniform over the row's finite logits); ``"mean"`` divides the sum by the total weight
    ``sum_n w_{y_n}`` of the rows whose target is not ``ignore_index``.

    Args:
      input: (V,), (N, V) or (N, V, d1, ...) logits (class axis 1, as in PyTorch).
      target: integer class ids of shape (), (N,) or (N, d1, ...); or probabilities shaped like input.
      weight: optional (V,) class weights. ignore_index: class id whose rows give 0 and do not count.
      reduction: "mean" | "sum" | "none". label_smoothing: eps in [0, 1].
      inplace: (fused path only) write the gradient over ``input``'s memory in the forward,
        so forward+backward allocates no (N, V) buffer; ``input``'s values are lost (a later
        use of it in autograd raises PyTorch's in-place modification error).

    Differs from PyTorch on purpose: a mean over nothing is 0 (not NaN), and smoothing never
    puts mass on a -inf logit (PyTorch gives inf). See the module docstring for the paths.
    """
    _check_arguments(input, target, size_average, reduce, reduction, label_smoothing)
    if _fused_path_applies(input, target, weight):
        if input.dim() == 1:  # one sample: the (1, V) case, reshaped back
            loss = _FusedCrossEntropy.apply(
                input.unsqueeze(0), target.reshape(1), weight, int(ignore_index), float(label_smoothing), reduction, inplace
            )
            return loss.reshape(()) if reduction == "none" else loss
        return _FusedCrossEntropy.apply(
            input, target, weight, int(ignore_index), float(label_smoothing), reduction, inplace
        )
    from outlayer.losses import cross_entropy as reference_cross_entropy

    is_ids = not torch.is_floating_point(target)
    return reference_cross_entropy(
        input,
        target,
        weight=weight,
        ignore_index=int(ignore_index) if is_ids else None,  # PyTorch ignores it for probabilities
        label_smoothing=float(label_smoothing),
        reduction=reduction,
        axis=0 if input.dim() == 1 else 1,
    )


class CrossEntropyLoss(torch.nn.Module):
    """``torch.nn.CrossEntropyLoss`` on :func:`cross_entropy` (same arguments, ``weight`` a buffer)."""

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        *,
        inplace: bool = False,
    ) -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            raise ValueError(
                f"size_average={size_average!r}, reduce={reduce!r}: deprecated in PyTorch; use reduction="
            )
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction={reduction!r}; expected one of {_REDUCTIONS}")
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing
        self.inplace = inplace

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
            inplace=self.inplace,
        )
