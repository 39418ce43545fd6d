"""``cross_entropy`` / ``CrossEntropyLoss``: drop-ins for PyTorch's, on outlayer's fused kernels.

Which code runs (:func:`_backend`, the one place that chooses):

* ``"fused"``: integer class ids with float32 / float64 / bfloat16 logits on the CPU (numba
  installed), or float32 / bfloat16 / float16 on CUDA (Triton installed), of any shape
  ``(V,)``, ``(N, V)`` or ``(N, V, d1, ...)``. The kernel is the ``torch.library`` custom op
  ``outlayer::cross_entropy_fused``: loss and gradient in one sweep (bfloat16 widened to
  float32 in registers, the gradient rounded back). K-dimensional input is moved to ``(M, V)``
  rows first (one copy), so every shape runs the same kernel and has the same policies.
* ``"reference"``: anything else (probability targets, float16 on the CPU, no numba or Triton):
  the core's array-API :func:`outlayer.losses.cross_entropy` on the torch tensors, with autograd.

A real PyTorch citizen on the fused path:

* backward hands over the stored gradient (no sweep, no new buffer, ``loss.backward()``), and
  with ``create_graph=True`` recomputes it in differentiable torch operations from the saved
  logits (:mod:`outlayer.torch._grad`), so double backward and ``gradgradcheck`` are right;
* ``torch.func.grad`` / ``vmap`` / ``jvp`` work (``setup_context``, a generated vmap rule on top
  of the op's own vmap rule, and a ``jvp``);
* under ``torch.compile`` the op, its fake (meta) implementation and its registered autograd are
  traced with no graph break (``fullgraph=True`` works);
* under ``torch.autocast`` the loss is float32 for every non-float64 input, as PyTorch's.

``inplace=True`` writes the gradient over the logits in the forward (``outlayer::
cross_entropy_fused_``, which mutates its input): no (N, V) buffer at all, but nothing to
differentiate twice, so ``create_graph=True`` and ``torch.func`` raise. Under ``torch.compile``
it is ignored (compiled graphs are functional: the out-of-place op runs).

Semantics are the core's, which match ``torch.nn.functional.cross_entropy`` except in two
deliberate places: a ``"mean"`` over nothing (every target ignored, zero total weight, empty
batch) is 0 with a zero gradient (PyTorch: NaN), and label smoothing spreads its mass only over
classes with a finite logit (PyTorch spreads it onto -inf logits too and returns inf).
``size_average`` and ``reduce`` (deprecated in PyTorch since 0.4) are refused.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
from torch import Tensor

from outlayer.torch import _grad

__all__ = ["CrossEntropyLoss", "cross_entropy"]

_REDUCTIONS = ("mean", "sum", "none")
_FUSED_CPU_DTYPES = (torch.float32, torch.float64, torch.bfloat16)
_FUSED_CUDA_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
_NUMPY_DTYPES = {torch.float32: "float32", torch.float64: "float64"}
_INTEGER_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


# ------------------------------------------------------------------------------------------------
# Backend choice: the one place.
# ------------------------------------------------------------------------------------------------
def _backend(input: Tensor, target: Tensor, weight: Tensor | None) -> str:
    """``"fused"`` (the kernel op) or ``"reference"`` (the core on torch tensors)."""
    if target.dtype not in _INTEGER_DTYPES or target.dim() != input.dim() - 1:
        return "reference"
    if weight is not None and (weight.dim() != 1 or weight.device != input.device):
        return "reference"
    if input.is_cuda:
        from importlib.util import find_spec

        return "fused" if input.dtype in _FUSED_CUDA_DTYPES and find_spec("triton") is not None else "reference"
    if input.device.type != "cpu" or input.dtype not in _FUSED_CPU_DTYPES:
        return "reference"
    from outlayer.kernels import fused_available

    return "fused" if fused_available() else "reference"


# ------------------------------------------------------------------------------------------------
# The kernel as torch.library custom ops (opaque to torch.compile, with fake and vmap rules).
# ------------------------------------------------------------------------------------------------
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


def _run_kernel(
    values: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    grad: Tensor | None,
) -> Tensor:
    """Loss of contiguous (N, V) ``values``; the gradient is written into ``grad`` when given
    (which may be ``values`` itself: in place)."""
    if values.is_cuda:
        from outlayer.kernels.triton_ce import cross_entropy_cuda

        loss, grad_out = cross_entropy_cuda(
            values,
            target,
            weight=weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            reduction=reduction,
            in_place=grad is not None and grad.data_ptr() == values.data_ptr(),
            with_grad=grad is not None,
        )
        if grad is not None and grad_out is not None and grad_out.data_ptr() != grad.data_ptr():
            grad.copy_(grad_out)
        return loss.to(values.dtype)
    from outlayer.kernels.cpu import cross_entropy_fused_raw

    loss_np, _ = cross_entropy_fused_raw(
        _as_numpy_storage(values),
        target.detach().cpu().numpy(),
        weight=None if weight is None else weight.detach().to(torch.float64).cpu().numpy(),
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
        with_grad=grad is not None,
        grad_out=None if grad is None else _as_numpy_storage(grad),
    )
    return torch.from_numpy(loss_np).to(values.dtype)


def _loss_shape(logits: Tensor, reduction: str) -> tuple[int, ...]:
    return (logits.shape[0],) if reduction == "none" else ()


@torch.library.custom_op("outlayer::cross_entropy_fused", mutates_args=())
def _fused_op(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    with_grad: bool,
) -> tuple[Tensor, Tensor]:
    """(loss, gradient) of (N, V) logits; the gradient is an empty (0,) tensor unless ``with_grad``."""
    values = logits if logits.is_contiguous() else logits.contiguous()
    if not with_grad:
        grad = values.new_empty((0,))
        return _run_kernel(values, target, weight, ignore_index, label_smoothing, reduction, None), grad
    grad = _empty_like_hugepages(values) if not values.is_cuda else torch.empty_like(values)
    loss = _run_kernel(values, target, weight, ignore_index, label_smoothing, reduction, grad)
    return loss, grad


@_fused_op.register_fake
def _fused_op_fake(logits, target, weight, ignore_index, label_smoothing, reduction, with_grad):  # noqa: ANN001, ANN202
    grad = logits.new_empty(tuple(logits.shape) if with_grad else (0,))  # contiguous, as the real one
    return logits.new_empty(_loss_shape(logits, reduction)), grad


@_fused_op.register_vmap
def _fused_op_vmap(info, in_dims, logits, target, weight, ignore_index, label_smoothing, reduction, with_grad):  # noqa: ANN001, ANN202
    """A batch of B problems (B, N, V) as one (B * N, V) kernel call with per-problem reductions."""
    logits_dim, target_dim, weight_dim = in_dims[:3]
    batch = info.batch_size
    if weight_dim is not None:  # a class weight per problem: one call each
        outputs = [
            _fused_op(
                logits.select(logits_dim, b) if logits_dim is not None else logits,
                target.select(target_dim, b) if target_dim is not None else target,
                weight.select(weight_dim, b),
                ignore_index,
                label_smoothing,
                reduction,
                with_grad,
            )
            for b in range(batch)
        ]
        return (torch.stack([o[0] for o in outputs]), torch.stack([o[1] for o in outputs])), (0, 0)
    z = logits.movedim(logits_dim, 0) if logits_dim is not None else logits.expand(batch, *logits.shape)
    y = target.movedim(target_dim, 0) if target_dim is not None else target.expand(batch, *target.shape)
    n_rows, n_classes = z.shape[1], z.shape[2]
    rows, row_grad = _fused_op(
        z.reshape(batch * n_rows, n_classes), y.reshape(batch * n_rows), weight, ignore_index, label_smoothing, "none", with_grad
    )
    rows = rows.reshape(batch, n_rows)
    grad = row_grad.reshape(batch, n_rows, n_classes) if with_grad else row_grad.new_empty((batch, 0))
    if reduction == "none":
        return (rows, grad), (0, 0)
    total = rows.sum(dim=1, dtype=torch.float64)
    if reduction == "mean":
        scale = _grad.mean_scale(y, weight, ignore_index, torch.float64)
        total = total * scale
        if with_grad:
            grad = grad * scale.to(grad.dtype)[:, None, None]
    return (total.to(rows.dtype), grad), (0, 0)


def _fused_op_setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
    logits, target, weight, ignore_index, label_smoothing, reduction, _ = inputs
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(output[1])
    ctx.reduction = reduction


def _fused_op_backward(ctx: Any, grad_loss: Tensor, _grad_of_grad: Any) -> tuple[Any, ...]:
    # Reached only under torch.compile (eager calls go through _FusedCrossEntropy): a traced,
    # branch-free first-order backward. Compiled graphs do not support double backward anyway.
    if grad_loss is None:
        return (None,) * 7
    (grad,) = ctx.saved_tensors
    scale = grad_loss.to(grad.dtype)
    return (grad * (scale.unsqueeze(-1) if ctx.reduction == "none" else scale),) + (None,) * 6


_fused_op.register_autograd(_fused_op_backward, setup_context=_fused_op_setup_context)


@torch.library.custom_op("outlayer::cross_entropy_fused_", mutates_args=("logits",))
def _fused_inplace_op(
    logits: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, label_smoothing: float, reduction: str
) -> Tensor:
    """Loss of contiguous (N, V) logits, whose memory then holds the gradient (no new buffer)."""
    return _run_kernel(logits, target, weight, ignore_index, label_smoothing, reduction, logits)


@_fused_inplace_op.register_fake
def _fused_inplace_op_fake(logits, target, weight, ignore_index, label_smoothing, reduction):  # noqa: ANN001, ANN202
    return logits.new_empty(_loss_shape(logits, reduction))


# ------------------------------------------------------------------------------------------------
# Autograd.
# ------------------------------------------------------------------------------------------------
class _FusedCrossEntropy(torch.autograd.Function):
    """Loss and gradient in one forward sweep; backward hands over the gradient, or recomputes it
    differentiably under ``create_graph``. ``forward`` returns ``(loss, gradient)``; the gradient
    is a non-differentiable output that only carries the buffer to ``setup_context``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(  # type: ignore[override]
        logits: Tensor,
        target: Tensor,
        weight: Tensor | None,
        ignore_index: int,
        label_smoothing: float,
        reduction: str,
        with_grad: bool,
    ) -> tuple[Tensor, Tensor]:
        return _fused_op(logits, target, weight, ignore_index, label_smoothing, reduction, with_grad)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
        logits, target, weight, ignore_index, label_smoothing, reduction, with_grad = inputs
        ctx.mark_non_differentiable(output[1])
        # No zero-filled (N, V) "gradient" of the gradient output for backward: it is never used.
        ctx.set_materialize_grads(False)
        # The logits are saved (not copied) for create_graph=True and jvp; a first-order backward
        # never reads them, but modifying them in place before it makes backward raise.
        ctx.save_for_backward(logits, target, weight, output[1])
        ctx.save_for_forward(logits, target, weight)
        ctx.options = (ignore_index, label_smoothing, reduction)
        ctx.with_grad = with_grad

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor, _grad_of_grad: Any) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        if grad_loss is None:
            return (None,) * 7
        logits, target, weight, grad = ctx.saved_tensors
        reduction = ctx.options[2]
        if torch.is_grad_enabled() or not ctx.with_grad:  # create_graph=True (torch.func: always)
            grad = _grad.cross_entropy_gradient_rows(logits, target, weight, *ctx.options)
            scale = grad_loss.to(grad.dtype)
            return (grad * (scale.unsqueeze(-1) if reduction == "none" else scale),) + (None,) * 6
        return (_grad.scale_by_upstream(grad, grad_loss, reduction),) + (None,) * 6

    @staticmethod
    def jvp(ctx: Any, logits_tangent: Tensor | None, *_tangents: Any) -> tuple[Tensor | None, None]:
        logits, target, weight = ctx.saved_tensors
        if logits_tangent is None:
            return None, None
        grad = _grad.cross_entropy_gradient_rows(logits, target, weight, *ctx.options)
        return _grad.contract_tangent(grad, logits_tangent, ctx.options[2]), None


class _FusedCrossEntropyInPlace(torch.autograd.Function):
    """``inplace=True``: the kernel writes the gradient over the logits' memory in the forward."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, logits: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, label_smoothing: float, reduction: str
    ) -> Tensor:
        values = logits.detach()  # shares memory and version counter with the caller's logits
        # The op declares the mutation, so the version counter moves: any other saved use of
        # these logits fails loudly in its backward instead of reading the gradient.
        loss = _fused_inplace_op(values, target, weight, ignore_index, label_smoothing, reduction)
        ctx.save_for_backward(values)
        ctx.reduction = reduction
        return loss

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        if torch.is_grad_enabled():
            _grad.refuse_in_place_double_backward("cross_entropy")
        (grad,) = ctx.saved_tensors
        return (_grad.scale_by_upstream(grad, grad_loss, ctx.reduction),) + (None,) * 5


def _fused_rows(
    rows: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, label_smoothing: float, reduction: str, inplace: bool
) -> Tensor:
    """The fused loss of (M, V) rows, through the autograd route that fits the caller."""
    with_grad = torch.is_grad_enabled() and rows.requires_grad
    if torch.compiler.is_compiling():  # dynamo cannot trace a custom jvp: the op's own autograd
        return _fused_op(rows, target, weight, ignore_index, label_smoothing, reduction, with_grad)[0]
    if inplace and with_grad:
        if not _grad.is_plain_tensor(rows):
            raise RuntimeError("cross_entropy(inplace=True) cannot run under torch.func transforms; pass inplace=False")
        values = rows if rows.is_contiguous() else rows.contiguous()
        return _FusedCrossEntropyInPlace.apply(values, target, weight, ignore_index, label_smoothing, reduction)
    return _FusedCrossEntropy.apply(rows, target, weight, ignore_index, label_smoothing, reduction, with_grad)[0]


# ------------------------------------------------------------------------------------------------
# Validation at the boundary.
# ------------------------------------------------------------------------------------------------
def _check_arguments(
    input: Any, target: Any, weight: Any, size_average: Any, reduce: Any, ignore_index: Any, reduction: Any, label_smoothing: Any
) -> None:
    if size_average is not None or reduce is not None:
        raise ValueError(
            f"size_average={size_average!r}, reduce={reduce!r}: these are deprecated in PyTorch; "
            "use reduction='mean' | 'sum' | 'none'"
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}; expected one of {_REDUCTIONS}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real) or not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"label_smoothing={label_smoothing!r} must be a number in [0, 1]")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise ValueError(f"ignore_index={ignore_index!r} must be an integer")
    if not isinstance(input, Tensor) or not isinstance(target, Tensor):
        raise ValueError(f"input and target must be torch tensors; got {type(input).__name__} and {type(target).__name__}")
    if input.dim() == 0:
        raise ValueError("input is 0-dimensional; expected (V,), (N, V) or (N, V, d1, ...) logits")
    if not input.is_floating_point():
        raise ValueError(f"input must hold floating-point logits, got dtype {input.dtype}")
    if weight is not None and not isinstance(weight, Tensor):
        raise ValueError(f"weight must be a torch tensor or None, got {type(weight).__name__}")
    if weight is not None and tuple(weight.shape) != (input.shape[1 if input.dim() > 1 else 0],):
        n_classes = input.shape[1 if input.dim() > 1 else 0]
        raise ValueError(f"weight has shape {tuple(weight.shape)}; expected ({n_classes},), one per class")
    if target.is_floating_point() and int(ignore_index) != -100:
        raise ValueError(
            f"ignore_index={ignore_index!r} applies to class-id targets only (PyTorch refuses it for "
            "probability targets too); zero the rows of probability targets instead"
        )


def _autocast_float32(input: Tensor, target: Tensor, weight: Tensor | None) -> tuple[Tensor, Tensor, Tensor | None]:
    """Under ``torch.autocast``, PyTorch runs cross-entropy in float32 (its "fp32" list): so do we."""
    device = input.device.type
    if device not in ("cpu", "cuda") or not torch.is_autocast_enabled(device):
        return input, target, weight
    if input.dtype != torch.float64:
        input = input.float()
        if target.is_floating_point():
            target = target.float()
        if weight is not None and weight.dtype != torch.float64:
            weight = weight.float()
    return input, target, weight


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
      weight: optional (V,) class weights. ignore_index: class id whose rows give 0 and do not count
        (class ids only; refused with probability targets, as PyTorch does).
      reduction: "mean" | "sum" | "none". label_smoothing: eps in [0, 1].
      inplace: (fused path only) write the gradient over ``input``'s memory in the forward,
        so forward+backward allocates no (N, V) buffer; ``input``'s values are lost (a later
        use of it in autograd raises PyTorch's in-place modification error), and there is no
        second derivative (``create_graph=True`` raises).

    Differs from PyTorch on purpose: a mean over nothing is 0 (not NaN), and smoothing never
    puts mass on a -inf logit (PyTorch gives inf). See the module docstring for the paths.
    """
    _check_arguments(input, target, weight, size_average, reduce, ignore_index, reduction, label_smoothing)
    input, target, weight = _autocast_float32(input, target, weight)
    ignore_index, label_smoothing = int(ignore_index), float(label_smoothing)
    if _backend(input, target, weight) == "fused":
        return _fused_cross_entropy(input, target, weight, ignore_index, label_smoothing, reduction, inplace)
    from outlayer.losses import cross_entropy as reference_cross_entropy

    is_ids = not torch.is_floating_point(target)
    return reference_cross_entropy(
        input,
        target,
        weight=weight,
        ignore_index=ignore_index if is_ids else None,
        label_smoothing=label_smoothing,
        reduction=reduction,
        axis=0 if input.dim() == 1 else 1,
    )


def _fused_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, label_smoothing: float, reduction: str, inplace: bool
) -> Tensor:
    """(V,), (N, V) and (N, V, d1, ...) logits as (M, V) rows for the kernel, and back."""
    if input.dim() == 2:
        return _fused_rows(input, target, weight, ignore_index, label_smoothing, reduction, inplace)
    if input.dim() == 1:  # one sample: the (1, V) case
        loss = _fused_rows(input.unsqueeze(0), target.reshape(1), weight, ignore_index, label_smoothing, reduction, inplace)
        return loss.reshape(()) if reduction == "none" else loss
    # (N, V, d1, ...): classes last, one row per position (a copy; autograd maps the gradient back)
    n_classes = input.shape[1]
    rows = input.movedim(1, -1).reshape(-1, n_classes)
    loss = _fused_rows(rows, target.reshape(-1), weight, ignore_index, label_smoothing, reduction, inplace)
    return loss.reshape(target.shape) if reduction == "none" else loss


class CrossEntropyLoss(torch.nn.modules.loss._WeightedLoss):
    """``torch.nn.CrossEntropyLoss`` on :func:`cross_entropy`: same arguments, attributes and
    ``state_dict`` (``weight`` a buffer, saved when given), plus ``inplace``."""

    __constants__ = ["ignore_index", "reduction", "label_smoothing", "inplace"]
    ignore_index: int
    label_smoothing: float

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
        if size_average is not None or reduce is not None:
            raise ValueError(
                f"size_average={size_average!r}, reduce={reduce!r}: deprecated in PyTorch; use reduction="
            )
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction={reduction!r}; expected one of {_REDUCTIONS}")
        super().__init__(weight, None, None, reduction)
        self.ignore_index = ignore_index
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
