"""``cross_entropy`` / ``CrossEntropyLoss``: drop-ins for PyTorch's, on outlayer's fused kernels.

Which code runs is :func:`outlayer._dispatch.choose_impl`'s decision (the one predicate of every
caller), asked from :func:`_backend`; ``impl=`` passes an explicit request through:

* ``"numba"`` (CPU: float32 / float64 / bfloat16 logits, at least ``FUSED_MIN_ELEMENTS`` of them,
  integer class ids, numba installed) or ``"triton"`` (CUDA: float32 / bfloat16 / float16, Triton
  installed): the ``torch.library`` custom op ``outlayer::cross_entropy_fused``, loss and gradient
  in one sweep (bfloat16 widened to float32 in registers, the gradient rounded back). ``(V,)``,
  ``(N, V)`` and ``(N, V, d1, ...)`` logits all run it, the last as ``(M, V)`` rows (one copy).
  Under ``torch.compile`` or a ``torch.func`` transform the size threshold is dropped, since only
  the op can be traced or batched.
* ``"reference"``: anything else (probability targets, float16 on the CPU, small inputs, no numba
  or Triton): the core's array-API :func:`outlayer.losses.cross_entropy` on the torch tensors.

Every path accepts and refuses the same inputs, with the core's messages (:mod:`outlayer._validate`):
options and shapes at this boundary, class ids and weights inside the op (so compiled graphs and
vmap keep them), NaN / +inf logits in the kernel's max pass.

A real PyTorch citizen on the kernel path:

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

Semantics are the core's, which match ``torch.nn.functional.cross_entropy`` except where the
README's policy table says: NaN / +inf logits and negative class weights are refused; a ``"mean"``
over nothing (every target ignored, zero total weight, empty batch) is 0 with a zero gradient
(PyTorch: NaN); label smoothing spreads its mass only over classes with a finite logit (PyTorch
spreads it onto -inf logits too and returns inf). ``size_average`` and ``reduce`` (deprecated in
PyTorch since 0.4) are refused.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from outlayer.torch import _grad

__all__ = ["CrossEntropyLoss", "cross_entropy"]

_NUMPY_DTYPES = {torch.float32: "float32", torch.float64: "float64"}


# ------------------------------------------------------------------------------------------------
# Backend choice: outlayer._dispatch's one predicate, asked from one function.
# ------------------------------------------------------------------------------------------------
def _traced(*tensors: Tensor | None) -> bool:
    """Under torch.compile or a torch.func transform: only the kernel op can be traced or batched
    (the reference validates with Python branches on values), so "auto" drops its size threshold."""
    return any(t is not None and not _grad.is_plain_tensor(t) for t in tensors)


@torch.compiler.assume_constant_result
def _choose(impl: str, device: str, dtype: str, n_elements: int, class_ids: bool) -> str:
    from outlayer import _dispatch

    return _dispatch.choose_impl(impl, library="torch", device=device, dtype=dtype, n_elements=n_elements, class_ids=class_ids)


def _backend(input: Tensor, target: Tensor, weight: Tensor | None, impl: str = "auto") -> str:
    """``"reference"``, ``"numba"`` or ``"triton"`` for this call (``impl`` an explicit request)."""
    from outlayer import _dispatch

    class_ids = not target.is_floating_point()
    if weight is not None and weight.device != input.device and impl == "auto":
        return "reference"  # the kernels read the weights where the logits are
    n_elements = input.numel()
    if _traced(input, target, weight):
        n_elements = max(int(n_elements), _dispatch.FUSED_MIN_ELEMENTS)
    return _choose(impl, input.device.type, str(input.dtype).removeprefix("torch."), int(n_elements), class_ids)


# ------------------------------------------------------------------------------------------------
# The kernel as torch.library custom ops (opaque to torch.compile, with fake and vmap rules).
# ------------------------------------------------------------------------------------------------
def _as_numpy_storage(tensor: Tensor) -> Any:
    """A NumPy view of a CPU tensor's memory; bfloat16 as its raw uint16 bits."""
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


def _validated_values(rows: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int) -> tuple[Tensor, Any]:
    """The checks that read values, inside the op so that compiled graphs and vmap keep them:
    class ids (named at the caller's index: ``target`` has the caller's batch shape) and class
    weights, with the core's messages (:mod:`outlayer._validate`). Returns the flat int64 ids (a
    CPU tensor) and the checked weights (NumPy, in the logits' compute dtype). O(N + V), on the host."""
    import numpy as np

    from outlayer import _validate

    n_classes = rows.shape[1]
    compute = torch.promote_types(rows.dtype, torch.float32)
    ids = _validate.check_class_ids(target.detach().cpu().numpy(), num_classes=n_classes, ignore_index=ignore_index, xp=np)
    like = np.empty((), dtype=np.float64 if compute == torch.float64 else np.float32)
    checked = None
    if weight is not None:
        values = weight.detach().cpu()
        values = values.float() if values.dtype in (torch.bfloat16, torch.float16) else values  # NumPy has no bfloat16
        checked = _validate.check_class_weight(values.numpy(), num_classes=n_classes, xp=np, like=like)
    return torch.from_numpy(np.ascontiguousarray(ids.reshape(-1))), checked


def _caller_layout(rows: Tensor, batch_shape: tuple[int, ...]) -> Tensor:
    """(M, V) rows back in the caller's (N, V, d1, ...) layout (a view), for error positions."""
    if len(batch_shape) <= 1:
        return rows.reshape(*batch_shape, rows.shape[1])
    return rows.reshape(*batch_shape, rows.shape[1]).movedim(-1, 1)


def _run_kernel(
    values: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    with_grad: bool,
    in_place: bool = False,
    impl: str | None = None,
) -> tuple[Tensor, Tensor | None]:
    """(loss, gradient or None) of (M, V) ``values`` whose class ids ``target`` have the caller's
    batch shape (``"none"`` losses come back in it). ``in_place``: the gradient is written over
    ``values`` (C-contiguous), which is returned as it. ``impl``: "numba" or "triton" (None: by
    device; "triton" also runs CPU tensors under ``TRITON_INTERPRET=1``). A NaN or +inf logit raises
    :class:`outlayer._validate.InputError` naming the caller's index, as the core does."""
    import numpy as np

    from outlayer import _dispatch, _validate

    ids, checked_weight = _validated_values(values, target, weight, ignore_index)
    options: dict[str, Any] = dict(ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction, with_grad=with_grad)
    try:
        if impl == "triton" or (impl is None and values.is_cuda):
            device_weight = None if checked_weight is None else torch.as_tensor(checked_weight, device=values.device)
            loss, grad = _dispatch.fused_cross_entropy(
                values, ids.to(values.device), impl="triton", weight=device_weight, grad_out=values if in_place and with_grad else None, **options
            )
            loss = torch.as_tensor(loss)
        else:
            grad = None
            if with_grad:
                # in place: the gradient overwrites the logits' memory (Liger-style), no new buffer
                grad = values if in_place else _empty_like_hugepages(values)
            loss_np, _ = _dispatch.fused_cross_entropy(
                _as_numpy_storage(values), ids.numpy(), impl="numba", weight=checked_weight,
                grad_out=None if grad is None else _as_numpy_storage(grad), **options,
            )
            loss = torch.from_numpy(np.asarray(loss_np))
    except _validate.InputError:
        if tuple(target.shape) != (values.shape[0],):  # K-dimensional: name the caller's index (error path only)
            _validate.check_logits(_caller_layout(values.detach().float().cpu(), tuple(target.shape)).numpy(), np)
        raise
    if reduction == "none":
        loss = loss.reshape(target.shape)
    return loss.to(values.dtype), grad


def _loss_shape(target: Tensor, reduction: str) -> tuple[int, ...]:
    return tuple(target.shape) if reduction == "none" else ()


@torch.library.custom_op("outlayer::cross_entropy_fused", mutates_args=())
def _fused_op(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    with_grad: bool,
    impl: str,
) -> tuple[Tensor, Tensor]:
    """(loss, gradient) of (M, V) logits and class ids of the caller's batch shape (M elements)
    on kernel ``impl`` ("numba" or "triton"); the gradient is an empty (0,) tensor unless ``with_grad``."""
    loss, grad = _run_kernel(logits, target, weight, ignore_index, label_smoothing, reduction, with_grad, impl=impl)
    return loss, logits.new_empty((0,)) if grad is None else grad


@_fused_op.register_fake
def _fused_op_fake(logits, target, weight, ignore_index, label_smoothing, reduction, with_grad, impl):  # noqa: ANN001, ANN202
    grad = logits.new_empty(tuple(logits.shape) if with_grad else (0,))  # contiguous, as the real one
    return logits.new_empty(_loss_shape(target, reduction)), grad


@_fused_op.register_vmap
def _fused_op_vmap(info, in_dims, logits, target, weight, ignore_index, label_smoothing, reduction, with_grad, impl):  # noqa: ANN001, ANN202
    """A batch of B problems (B, M, V) as one (B * M, V) kernel call with per-problem reductions."""
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
                impl,
            )
            for b in range(batch)
        ]
        return (torch.stack([o[0] for o in outputs]), torch.stack([o[1] for o in outputs])), (0, 0)
    z = logits.movedim(logits_dim, 0) if logits_dim is not None else logits.expand(batch, *logits.shape)
    y = target.movedim(target_dim, 0) if target_dim is not None else target.expand(batch, *target.shape)
    n_rows, n_classes = z.shape[1], z.shape[2]
    rows, row_grad = _fused_op(z.reshape(batch * n_rows, n_classes), y, weight, ignore_index, label_smoothing, "none", with_grad, impl)
    grad = row_grad.reshape(batch, n_rows, n_classes) if with_grad else row_grad.new_empty((batch, 0))
    if reduction == "none":
        return (rows, grad), (0, 0)
    total = rows.reshape(batch, -1).sum(dim=1, dtype=torch.float64)
    if reduction == "mean":
        scale = _grad.mean_scale(y.reshape(batch, -1), weight, ignore_index, torch.float64)
        total = total * scale
        if with_grad:
            grad = grad * scale.to(grad.dtype)[:, None, None]
    return (total.to(rows.dtype), grad), (0, 0)


def _fused_op_setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(output[1])
    ctx.reduction = inputs[5]


def _fused_op_backward(ctx: Any, grad_loss: Tensor | None, _grad_of_grad: Any) -> tuple[Any, ...]:
    # Reached only under torch.compile (eager calls go through _FusedCrossEntropy): a traced,
    # branch-free first-order backward. Compiled graphs do not support double backward anyway.
    if grad_loss is None:
        return (None,) * 8
    (grad,) = ctx.saved_tensors
    scale = grad_loss.to(grad.dtype)
    return (grad * (scale.reshape(-1, 1) if ctx.reduction == "none" else scale),) + (None,) * 7


_fused_op.register_autograd(_fused_op_backward, setup_context=_fused_op_setup_context)


@torch.library.custom_op("outlayer::cross_entropy_fused_", mutates_args=("logits",))
def _fused_inplace_op(
    logits: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, label_smoothing: float, reduction: str, impl: str
) -> Tensor:
    """Loss of contiguous (M, V) logits, whose memory then holds the gradient (no new buffer)."""
    return _run_kernel(logits, target, weight, ignore_index, label_smoothing, reduction, True, in_place=True, impl=impl)[0]


@_fused_inplace_op.register_fake
def _fused_inplace_op_fake(logits, target, weight, ignore_index, label_smoothing, reduction, impl):  # noqa: ANN001, ANN202
    return logits.new_empty(_loss_shape(target, reduction))


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
        impl: str,
    ) -> tuple[Tensor, Tensor]:
        return _fused_op(logits, target, weight, ignore_index, label_smoothing, reduction, with_grad, impl)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, Tensor]) -> None:
        logits, target, weight, ignore_index, label_smoothing, reduction, with_grad, _impl = inputs
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
            return (None,) * 8
        logits, target, weight, grad = ctx.saved_tensors
        reduction = ctx.options[2]
        if torch.is_grad_enabled() or not ctx.with_grad:  # create_graph=True (torch.func: always)
            grad = _grad.cross_entropy_gradient_rows(logits, target.reshape(-1), weight, *ctx.options)
            scale = grad_loss.to(grad.dtype)
            return (grad * (scale.reshape(-1, 1) if reduction == "none" else scale),) + (None,) * 7
        return (_grad.scale_by_upstream(grad, grad_loss, reduction),) + (None,) * 7

    @staticmethod
    def jvp(ctx: Any, logits_tangent: Tensor | None, *_tangents: Any) -> tuple[Tensor | None, None]:
        logits, target, weight = ctx.saved_tensors
        if logits_tangent is None:
            return None, None
        grad = _grad.cross_entropy_gradient_rows(logits, target.reshape(-1), weight, *ctx.options)
        tangent = _grad.contract_tangent(grad, logits_tangent, ctx.options[2])
        return (tangent.reshape(target.shape) if ctx.options[2] == "none" else tangent), None


class _FusedCrossEntropyInPlace(torch.autograd.Function):
    """``inplace=True``: the kernel writes the gradient over the logits' memory in the forward."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, logits: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, label_smoothing: float, reduction: str, impl: str
    ) -> Tensor:
        values = logits.detach()  # shares memory and version counter with the caller's logits
        # The op declares the mutation, so the version counter moves: any other saved use of
        # these logits fails loudly in its backward instead of reading the gradient.
        loss = _fused_inplace_op(values, target, weight, ignore_index, label_smoothing, reduction, impl)
        ctx.save_for_backward(values)
        ctx.reduction = reduction
        return loss

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        if torch.is_grad_enabled():
            _grad.refuse_in_place_double_backward("cross_entropy")
        (grad,) = ctx.saved_tensors
        return (_grad.scale_by_upstream(grad, grad_loss, ctx.reduction),) + (None,) * 6


def _fused_rows(
    rows: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, label_smoothing: float, reduction: str, inplace: bool, impl: str
) -> Tensor:
    """The fused loss of (M, V) rows (class ids in the caller's batch shape), through the
    autograd route that fits the caller."""
    with_grad = torch.is_grad_enabled() and rows.requires_grad
    if torch.compiler.is_compiling():  # dynamo cannot trace a custom jvp: the op's own autograd
        return _fused_op(rows, target, weight, ignore_index, label_smoothing, reduction, with_grad, impl)[0]
    if inplace and with_grad:
        if not _grad.is_plain_tensor(rows):
            raise RuntimeError("cross_entropy(inplace=True) cannot run under torch.func transforms; pass inplace=False")
        values = rows if rows.is_contiguous() else rows.contiguous()
        return _FusedCrossEntropyInPlace.apply(values, target, weight, ignore_index, label_smoothing, reduction, impl)
    return _FusedCrossEntropy.apply(rows, target, weight, ignore_index, label_smoothing, reduction, with_grad, impl)[0]


def _fused_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, label_smoothing: float, reduction: str, inplace: bool, impl: str
) -> Tensor:
    """(V,), (N, V) and (N, V, d1, ...) logits as (M, V) rows for the kernel op."""
    if input.dim() == 2:
        rows = input
    elif input.dim() == 1:  # one sample: the (1, V) case
        rows = input.unsqueeze(0)
    else:  # (N, V, d1, ...): classes last, one row per position (a copy; autograd maps the gradient back)
        rows = input.movedim(1, -1).reshape(-1, input.shape[1])
    return _fused_rows(rows, target, weight, ignore_index, label_smoothing, reduction, inplace, impl)


# ------------------------------------------------------------------------------------------------
# The public functions: options and shapes checked at the boundary (outlayer._validate, the
# core's messages); the checks that read values run inside the op (fused) or the core (reference).
# ------------------------------------------------------------------------------------------------
def _check_arguments(
    input: Any, target: Any, weight: Any, size_average: Any, reduce: Any, ignore_index: Any, reduction: Any, label_smoothing: Any, impl: Any
) -> Any:
    from outlayer import _validate

    if size_average is not None or reduce is not None:
        raise _validate.error(
            "size_average and reduce", "None (deprecated in PyTorch since 0.4)", (size_average, reduce), hint="use reduction='mean' | 'sum' | 'none'"
        )
    _validate.check_ignore_index(ignore_index, allow_none=False)  # an int, as in PyTorch (None too is refused)
    options = _validate.check_ce_options(reduction=reduction, label_smoothing=label_smoothing, ignore_index=ignore_index, impl=impl)
    for name, value in (("input", input), ("target", target)):
        if not isinstance(value, Tensor):
            raise _validate.error(name, "a torch.Tensor", _validate.Described(type(value).__name__))
    if weight is not None and not isinstance(weight, Tensor):
        raise _validate.error("weight", "a torch.Tensor or None", _validate.Described(type(weight).__name__))
    if input.dim() == 0:
        raise _validate.error("input", "logits with a class axis: (V,), (N, V) or (N, V, d1, ...)", _validate.Described("a 0-d tensor"))
    if not input.is_floating_point():
        raise _validate.error("input", "floating-point logits", _validate.Described(f"dtype {input.dtype}"))
    return options


def _check_fused_shapes(input: Tensor, target: Tensor) -> None:
    """The shape checks of the core's boundary (same messages), for the fused path."""
    from outlayer import _validate

    shape = tuple(int(n) for n in input.shape)
    axis = 0 if input.dim() == 1 else 1
    if shape[axis] == 0:
        raise _validate.error("logits", f"an array with at least one class along axis {axis}", _validate.Described(f"shape {shape}"))
    batch_shape = shape[:axis] + shape[axis + 1 :]
    if tuple(int(n) for n in target.shape) != batch_shape:
        raise _validate.error(
            "target class ids",
            f"of shape {batch_shape} (the logits of shape {shape} without class axis {axis})",
            _validate.Described(f"shape {tuple(int(n) for n in target.shape)}"),
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
    impl: str = "auto",
) -> Tensor:
    """Softmax cross-entropy from logits, a drop-in for ``torch.nn.functional.cross_entropy``.

    ``l_n = -sum_c w_c q_{n,c} log softmax(input_n)_c`` with ``q = (1 - eps) onehot(y) + eps u``
    (``u`` uniform over the row's finite logits); ``"mean"`` divides the sum by the total weight
    ``sum_n w_{y_n}`` of the rows whose target is not ``ignore_index``.

    Args:
      input: (V,), (N, V) or (N, V, d1, ...) logits (class axis 1, as in PyTorch), finite or -inf.
      target: integer class ids of shape (), (N,) or (N, d1, ...); or probabilities shaped like input.
      weight: optional (V,) finite non-negative class weights. ignore_index: class id whose rows
        give 0 and do not count (class ids only; a non-negative one is refused with probability
        targets, as PyTorch does).
      reduction: "mean" | "sum" | "none". label_smoothing: eps in [0, 1].
      inplace: (kernel path only) write the gradient over ``input``'s memory in the forward,
        so forward+backward allocates no (N, V) buffer; ``input``'s values are lost (a later
        use of it in autograd raises PyTorch's in-place modification error), and there is no
        second derivative (``create_graph=True`` raises).
      impl: "auto" (outlayer._dispatch decides), "reference", "numba" or "triton".

    Differs from PyTorch on purpose (README policy table): NaN and +inf logits and negative class
    weights are refused with an InputError (PyTorch: NaN, or a silently odd loss); a mean over
    nothing is 0 (not NaN); smoothing never puts mass on a -inf logit (PyTorch gives inf).
    """
    options = _check_arguments(input, target, weight, size_average, reduce, ignore_index, reduction, label_smoothing, impl)
    input, target, weight = _autocast_float32(input, target, weight)
    chosen = _backend(input, target, weight, options.impl)
    if chosen != "reference":
        _check_fused_shapes(input, target)
        return _fused_cross_entropy(input, target, weight, int(ignore_index), options.label_smoothing, options.reduction, inplace, chosen)
    from outlayer.losses import cross_entropy as reference_cross_entropy

    is_ids = not torch.is_floating_point(target)
    return reference_cross_entropy(
        input,
        target,
        weight=weight,
        # PyTorch refuses a non-negative ignore_index with probabilities and ignores a negative one
        ignore_index=int(ignore_index) if is_ids or int(ignore_index) >= 0 else None,
        label_smoothing=options.label_smoothing,
        reduction=options.reduction,
        axis=0 if input.dim() == 1 else 1,
    )


class CrossEntropyLoss(torch.nn.modules.loss._WeightedLoss):
    """``torch.nn.CrossEntropyLoss`` on :func:`cross_entropy`: same arguments, attributes and
    ``state_dict`` (``weight`` a buffer, saved when given), plus ``inplace`` and ``impl``."""

    __constants__ = ["ignore_index", "reduction", "label_smoothing", "inplace", "impl"]
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
        impl: str = "auto",
    ) -> None:
        from outlayer import _validate

        if size_average is not None or reduce is not None:
            raise _validate.error(
                "size_average and reduce", "None (deprecated in PyTorch since 0.4)", (size_average, reduce), hint="use reduction='mean' | 'sum' | 'none'"
            )
        _validate.check_ignore_index(ignore_index, allow_none=False)
        options = _validate.check_ce_options(reduction=reduction, label_smoothing=label_smoothing, ignore_index=ignore_index, impl=impl)
        super().__init__(weight, None, None, options.reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.inplace = inplace
        self.impl = impl

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
            inplace=self.inplace,
            impl=self.impl,
        )
