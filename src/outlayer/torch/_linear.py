"""Linear + cross-entropy for PyTorch without materialising the (N, V) logits.

``linear_cross_entropy(hidden, weight, target, bias=...)`` equals
``F.cross_entropy(hidden @ weight.T + bias, target, ...)`` in value and gradients, but holds at
most ``chunk_size`` rows of logits at a time (Liger-Kernel style):

* ``"mean"`` / ``"sum"``: the gradients are computed during forward, block by block: the block's
  logits ``Z_c = H_c W^T + b`` are overwritten in place by ``dZ_c`` (the fused kernel of
  :mod:`outlayer.torch._ce` where it runs, else the core), then ``dH_c = dZ_c W``,
  ``dW += dZ_c^T H_c``, ``db += sum_c dZ_c``. Backward only multiplies the stored gradients by
  the scalar ``grad_output``.
* ``"none"``: ``grad_output`` weighs each row differently, so forward computes the losses only
  and backward recomputes the blocks with each row's gradient scaled by its ``grad_output``
  (Cut-Cross-Entropy style).

A ``"mean"`` divides by the total class weight of the non-ignored rows of the whole batch,
computed up front, so every block is reduced with ``"sum"`` and scaled by that denominator.

Both sweeps are ``torch.library`` custom ops (``outlayer::linear_cross_entropy`` and
``outlayer::linear_cross_entropy_backward``) with fake implementations, vmap rules and a
registered autograd, so ``torch.compile(fullgraph=True)`` traces them with no graph break. In
eager mode :class:`_LinearCrossEntropy` adds what a custom op cannot have: a ``jvp``, and a
backward that, under ``create_graph=True`` (and every ``torch.func`` transform), recomputes the
gradients block by block in differentiable torch operations, so second derivatives are right.
Under ``torch.autocast`` the matrix product runs in the autocast dtype and the cross-entropy in
float32, as ``F.cross_entropy(F.linear(...))`` does there: the loss is float32.
"""

from __future__ import annotations

from typing import Any

import torch

from outlayer import linear_ce as _np_linear
from outlayer.torch import _ce, _grad

__all__ = ["LinearCrossEntropyLoss", "linear_cross_entropy"]

Tensor = torch.Tensor
_INTEGER_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


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
    """Loss (``"sum"``: scalar, ``"none"``: per row) and gradient of one contiguous block.

    The gradient is written over ``logits`` (in place) and ``logits`` returned as it.
    """
    grad_out = logits if with_grad else None
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
    if _ce._backend(logits, target, class_weight) == "fused":
        loss = _ce._run_kernel(logits, target, class_weight, ignore_index, label_smoothing, reduction, grad_out)
        return loss.to(torch.promote_types(logits.dtype, torch.float32)), grad_out
    from outlayer.losses import cross_entropy, cross_entropy_with_grad  # the core, on torch tensors

    options = dict(weight=class_weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)
    work = logits.to(torch.promote_types(logits.dtype, torch.float32))
    if not with_grad:
        return cross_entropy(work, target, **options), None
    loss, grad = cross_entropy_with_grad(work, target, **options)
    return loss, logits.copy_(grad)


def _mean_scale(target: Tensor, class_weight: Tensor | None, ignore_index: int, reduction: str) -> Tensor | float:
    if reduction != "mean":
        return 1.0
    return _grad.mean_scale(target, class_weight, ignore_index, torch.float64)


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
) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
    """Loss and the wanted gradients (dhidden, dweight, dbias), one block of rows at a time.

    ``row_scale`` (N,) multiplies each row's gradient (``"none"``'s backward); a ``"mean"``
    divides by the whole batch's denominator. Gradients are accumulated in float32 at least,
    then cast to the parameters' dtypes. The loss is float64 (a scalar) or the blocks' dtype.
    """
    n_rows = hidden.shape[0]
    want_h, want_w, want_b = want
    any_grad = want_h or want_w or want_b
    scale = _mean_scale(target, class_weight, ignore_index, reduction)
    work_dtype = torch.promote_types(hidden.dtype, torch.float32)
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
        if not isinstance(scale, float):
            dlogits.mul_(scale.to(work_dtype))
        dlogits = dlogits.to(hidden.dtype)
        if dhidden is not None:
            torch.mm(dlogits, weight, out=dhidden[start:stop])
        if dweight is not None:
            dweight.addmm_(dlogits.T.to(acc_dtype), h_block.to(acc_dtype))
        if dbias is not None:
            dbias += dlogits.sum(dim=0, dtype=acc_dtype)
    if reduction == "none":
        loss = torch.cat([part.reshape(-1).to(work_dtype) for part in losses]) if losses else hidden.new_zeros(0, dtype=work_dtype)
    else:
        total = torch.stack([part.to(torch.float64).reshape(()) for part in losses]).sum() if losses else hidden.new_zeros((), dtype=torch.float64)
        loss = (total * scale).to(work_dtype)
    return (
        loss,
        dhidden,
        None if dweight is None else dweight.to(weight.dtype),
        None if dbias is None else dbias.to(bias.dtype),  # type: ignore[union-attr]
    )


def _check_target_values(target: Tensor, n_classes: int, ignore_index: int) -> None:
    """Class ids in [0, V) or ``ignore_index``; inside the ops, so compiled graphs keep it too."""
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if bool(bad.any()):
        where = int(bad.nonzero()[0, 0])
        raise ValueError(f"target[{where}] = {int(target[where])} is not a class id in [0, {n_classes}) nor ignore_index={ignore_index}")


# ------------------------------------------------------------------------------------------------
# The two sweeps as custom ops. An unwanted gradient is an empty (0,) tensor (ops return tensors).
# ------------------------------------------------------------------------------------------------
def _or_empty(tensor: Tensor | None, like: Tensor) -> Tensor:
    return like.new_empty((0,)) if tensor is None else tensor


@torch.library.custom_op("outlayer::linear_cross_entropy", mutates_args=())
def _forward_op(
    hidden: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    chunk_size: int,
    want_hidden: bool,
    want_weight: bool,
    want_bias: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(loss, dhidden, dweight, dbias); ``"none"`` computes no gradient here (see the backward op)."""
    _check_target_values(target, weight.shape[0], ignore_index)
    want = (want_hidden, want_weight, want_bias) if reduction != "none" else (False, False, False)
    loss, dhidden, dweight, dbias = _chunked_linear_ce(
        hidden.contiguous(), weight.contiguous(), bias, target, class_weight,
        ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction, chunk_size=chunk_size, want=want,
    )
    return loss, _or_empty(dhidden, hidden), _or_empty(dweight, weight), _or_empty(dbias, weight)


def _loss_shape(hidden: Tensor, reduction: str) -> tuple[int, ...]:
    return (hidden.shape[0],) if reduction == "none" else ()


def _gradient_shapes(hidden, weight, bias, reduction, want_hidden, want_weight, want_bias):  # noqa: ANN001, ANN202
    keep = reduction != "none"
    return (
        tuple(hidden.shape) if keep and want_hidden else (0,),
        tuple(weight.shape) if keep and want_weight else (0,),
        (weight.shape[0],) if keep and want_bias and bias is not None else (0,),
    )


@_forward_op.register_fake
def _forward_op_fake(hidden, weight, bias, target, class_weight, ignore_index, label_smoothing, reduction, chunk_size, want_hidden, want_weight, want_bias):  # noqa: ANN001, ANN202, E501
    shapes = _gradient_shapes(hidden, weight, bias, reduction, want_hidden, want_weight, want_bias)
    loss = hidden.new_empty(_loss_shape(hidden, reduction), dtype=torch.promote_types(hidden.dtype, torch.float32))
    return loss, hidden.new_empty(shapes[0]), weight.new_empty(shapes[1]), weight.new_empty(shapes[2])


@torch.library.custom_op("outlayer::linear_cross_entropy_backward", mutates_args=())
def _backward_op(
    hidden: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    row_scale: Tensor,
    ignore_index: int,
    label_smoothing: float,
    chunk_size: int,
    want_hidden: bool,
    want_weight: bool,
    want_bias: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """``"none"``'s backward: the gradients of ``sum_n row_scale_n l_n``, blocks recomputed."""
    _, dhidden, dweight, dbias = _chunked_linear_ce(
        hidden.contiguous(), weight.contiguous(), bias, target, class_weight,
        ignore_index=ignore_index, label_smoothing=label_smoothing, reduction="none", chunk_size=chunk_size,
        want=(want_hidden, want_weight, want_bias), row_scale=row_scale,
    )
    return _or_empty(dhidden, hidden), _or_empty(dweight, weight), _or_empty(dbias, weight)


@_backward_op.register_fake
def _backward_op_fake(hidden, weight, bias, target, class_weight, row_scale, ignore_index, label_smoothing, chunk_size, want_hidden, want_weight, want_bias):  # noqa: ANN001, ANN202, E501
    shapes = _gradient_shapes(hidden, weight, bias, "sum", want_hidden, want_weight, want_bias)
    return hidden.new_empty(shapes[0]), weight.new_empty(shapes[1]), weight.new_empty(shapes[2])


def _looped_vmap(op: Any, n_outputs: int) -> Any:
    """A vmap rule that runs ``op`` once per problem of the batch and stacks the results."""

    def rule(info: Any, in_dims: tuple[Any, ...], *args: Any) -> tuple[tuple[Tensor, ...], tuple[int, ...]]:
        results = [
            op(*(a.select(d, b) if d is not None else a for a, d in zip(args, in_dims)))
            for b in range(info.batch_size)
        ]
        return tuple(torch.stack([r[i] for r in results]) for i in range(n_outputs)), (0,) * n_outputs

    return rule


_forward_op.register_vmap(_looped_vmap(_forward_op, 4))
_backward_op.register_vmap(_looped_vmap(_backward_op, 3))


def _op_setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
    hidden, weight, bias, target, class_weight, ignore_index, label_smoothing, reduction, chunk, want_h, want_w, want_b = inputs
    ctx.mark_non_differentiable(*output[1:])
    ctx.set_materialize_grads(False)
    ctx.reduction = reduction
    ctx.options = (ignore_index, label_smoothing, chunk, want_h, want_w, want_b and bias is not None)
    if reduction == "none":
        ctx.save_for_backward(hidden, weight, bias, target, class_weight)
    else:
        ctx.save_for_backward(*output[1:])


def _op_backward(ctx: Any, grad_loss: Tensor | None, *_unused: Any) -> tuple[Tensor | None, ...]:
    # Reached under torch.compile only (eager calls go through _LinearCrossEntropy): first order.
    none_for_options = (None,) * 9
    if grad_loss is None:
        return (None, None, None) + none_for_options
    if ctx.reduction == "none":
        hidden, weight, bias, target, class_weight = ctx.saved_tensors
        ignore_index, label_smoothing, chunk, *want = ctx.options
        grads = _backward_op(hidden, weight, bias, target, class_weight, grad_loss, ignore_index, label_smoothing, chunk, *want)
    else:
        grads = tuple(g * grad_loss.to(g.dtype) for g in ctx.saved_tensors)
    return tuple(g if wanted else None for g, wanted in zip(grads, ctx.options[3:])) + none_for_options


_forward_op.register_autograd(_op_backward, setup_context=_op_setup_context)


# ------------------------------------------------------------------------------------------------
# Differentiable recomputation (create_graph, jvp): the same chunks, in torch operations.
# ------------------------------------------------------------------------------------------------
def _differentiable_gradients(
    hidden: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    upstream: Tensor,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
    chunk: int,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """(dhidden, dweight, dbias) of ``<upstream, loss>`` as functions autograd can differentiate."""
    dtype = torch.promote_types(hidden.dtype, torch.float32)
    scale = _grad.mean_scale(target, class_weight, ignore_index, dtype) if reduction == "mean" else None
    dhidden_parts, dweight, dbias = [], None, None
    for start in range(0, hidden.shape[0], chunk):
        h_block = hidden[start:start + chunk]
        logits = h_block @ weight.T if bias is None else h_block @ weight.T + bias
        dlogits = _grad.cross_entropy_gradient_rows(logits.to(dtype), target[start:start + chunk], class_weight, ignore_index, label_smoothing, "sum")
        factor = upstream.to(dtype)[start:start + chunk, None] if reduction == "none" else upstream.to(dtype)
        dlogits = dlogits * (factor if scale is None else factor * scale)
        dhidden_parts.append(dlogits @ weight.to(dtype))
        block_dweight, block_dbias = dlogits.T @ h_block.to(dtype), dlogits.sum(dim=0)
        dweight = block_dweight if dweight is None else dweight + block_dweight
        dbias = block_dbias if dbias is None else dbias + block_dbias
    if dweight is None:  # no rows
        dweight, dbias = torch.zeros(weight.shape, dtype=dtype, device=weight.device), torch.zeros(weight.shape[0], dtype=dtype, device=weight.device)
    dhidden = torch.cat(dhidden_parts) if dhidden_parts else torch.zeros(hidden.shape, dtype=dtype, device=hidden.device)
    return dhidden.to(hidden.dtype), dweight.to(weight.dtype), None if bias is None else dbias.to(bias.dtype)  # type: ignore[union-attr]


class _LinearCrossEntropy(torch.autograd.Function):
    """The forward op, with a first-order backward that hands over (or recomputes) the
    gradients, a differentiable backward under ``create_graph``, a jvp and a vmap rule."""

    generate_vmap_rule = True

    @staticmethod
    def forward(  # type: ignore[override]
        hidden: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        target: Tensor,
        class_weight: Tensor | None,
        ignore_index: int,
        label_smoothing: float,
        reduction: str,
        chunk_size: int,
        want_hidden: bool,
        want_weight: bool,
        want_bias: bool,
    ) -> tuple[Tensor, ...]:
        return _forward_op(
            hidden, weight, bias, target, class_weight, ignore_index, label_smoothing, reduction, chunk_size, want_hidden, want_weight, want_bias
        )

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
        hidden, weight, bias, target, class_weight, ignore_index, label_smoothing, reduction, chunk, want_h, want_w, want_b = inputs
        ctx.mark_non_differentiable(*output[1:])
        ctx.set_materialize_grads(False)
        ctx.reduction = reduction
        ctx.options = (ignore_index, label_smoothing, chunk)
        ctx.want = (want_h, want_w, want_b and bias is not None)
        ctx.save_for_backward(hidden, weight, bias, target, class_weight, *output[1:])
        ctx.save_for_forward(hidden, weight, bias, target, class_weight)

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor | None, *_unused: Any) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        none_for_options = (None,) * 9
        if grad_loss is None:
            return (None, None, None) + none_for_options
        hidden, weight, bias, target, class_weight, *stored = ctx.saved_tensors
        ignore_index, label_smoothing, chunk = ctx.options
        needs = ctx.needs_input_grad[:3]
        if torch.is_grad_enabled() or (ctx.reduction != "none" and not all(w for w, n in zip(ctx.want, needs) if n)):
            # create_graph=True (torch.func: always): gradients that autograd can differentiate
            grads = _differentiable_gradients(hidden, weight, bias, target, class_weight, grad_loss, ignore_index, label_smoothing, ctx.reduction, chunk)
        elif ctx.reduction == "none":
            grads = _backward_op(hidden, weight, bias, target, class_weight, grad_loss, ignore_index, label_smoothing, chunk, *needs[:2], needs[2] and bias is not None)
        elif _grad.is_plain_tensor(grad_loss) and bool(grad_loss == 1):
            # The usual loss.backward(): hand over the stored gradients themselves. Autograd frees
            # its saved copy first, so .grad takes over the buffer instead of a second (V, d) one.
            grads = tuple(stored)
        else:
            grads = tuple(g * grad_loss.to(g.dtype) for g in stored)
        return tuple(g if n else None for g, n in zip(grads, needs)) + none_for_options

    @staticmethod
    def jvp(ctx: Any, hidden_t: Tensor | None, weight_t: Tensor | None, bias_t: Tensor | None, *_tangents: Any) -> tuple[Tensor | None, ...]:
        hidden, weight, bias, target, class_weight = ctx.saved_tensors
        ignore_index, label_smoothing, chunk = ctx.options
        dtype = torch.promote_types(hidden.dtype, torch.float32)
        rows = []
        for start in range(0, hidden.shape[0], chunk):
            h_block = hidden[start:start + chunk]
            logits = h_block @ weight.T if bias is None else h_block @ weight.T + bias
            dlogits = _grad.cross_entropy_gradient_rows(logits.to(dtype), target[start:start + chunk], class_weight, ignore_index, label_smoothing, "sum")
            tangent = torch.zeros_like(dlogits)
            if hidden_t is not None:
                tangent = tangent + hidden_t[start:start + chunk].to(dtype) @ weight.T.to(dtype)
            if weight_t is not None:
                tangent = tangent + h_block.to(dtype) @ weight_t.T.to(dtype)
            if bias_t is not None:
                tangent = tangent + bias_t.to(dtype)
            rows.append((dlogits * tangent).sum(dim=-1))
        row_tangent = torch.cat(rows) if rows else hidden.new_zeros((0,), dtype=dtype)
        if ctx.reduction == "none":
            loss_t = row_tangent
        else:
            loss_t = row_tangent.sum()
            if ctx.reduction == "mean":
                loss_t = loss_t * _grad.mean_scale(target, class_weight, ignore_index, dtype)
        return (loss_t, None, None, None)


def _check(
    hidden: Tensor, weight: Tensor, target: Tensor, bias: Tensor | None, class_weight: Tensor | None, ignore_index: object, chunk_size: object
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
    if target.dtype not in _INTEGER_DTYPES:
        raise ValueError(f"target must hold integer class ids, got dtype {target.dtype}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise ValueError(f"ignore_index must be an integer, got {ignore_index!r}")
    if class_weight is not None and tuple(class_weight.shape) != (n_classes,):
        raise ValueError(f"class_weight shape {tuple(class_weight.shape)} does not match weight shape {tuple(weight.shape)}: expected ({n_classes},)")
    chunk = _np_linear.check_chunk_size(chunk_size)
    itemsize = max(hidden.element_size(), 4)  # blocks are worked on in float32 at least
    return n_rows, chunk or _np_linear.default_chunk_size(n_rows, n_classes, itemsize)


def _autocast(hidden: Tensor, weight: Tensor, bias: Tensor | None) -> tuple[Tensor, Tensor, Tensor | None, bool]:
    """Under ``torch.autocast``: the matrix product's operands in the autocast dtype (as
    ``F.linear`` there), and a float32 loss (as ``F.cross_entropy`` there)."""
    device = hidden.device.type
    if device not in ("cpu", "cuda") or not torch.is_autocast_enabled(device):
        return hidden, weight, bias, False
    low = torch.get_autocast_dtype(device)
    if hidden.dtype == torch.float64 or weight.dtype == torch.float64:
        return hidden, weight, bias, True
    cast = [t if t is None else t.to(low) for t in (hidden, weight, bias)]
    return cast[0], cast[1], cast[2], True  # type: ignore[return-value]


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
        The loss: a scalar, or (N,) for ``"none"``, in ``hidden``'s dtype (float32 under
        autocast); differentiable with respect to ``hidden``, ``weight`` and ``bias`` to any
        order, under ``torch.func`` and ``torch.compile``. Extra memory beyond the gradients:
        one block of logits, ``chunk_size x V`` (first order; a second derivative keeps the
        blocks of its graph).
    """
    _np_linear.check_options(reduction, label_smoothing)
    _, chunk = _check(hidden, weight, target, bias, class_weight, ignore_index, chunk_size)
    hidden, weight, bias, autocast = _autocast(hidden, weight, bias)
    out_dtype = torch.promote_types(hidden.dtype, torch.float32) if autocast else hidden.dtype
    target = target.to(torch.int64)
    grad_on = torch.is_grad_enabled()
    want = (grad_on and hidden.requires_grad, grad_on and weight.requires_grad, grad_on and bias is not None and bias.requires_grad)
    args = (hidden, weight, bias, target, class_weight, int(ignore_index), float(label_smoothing), reduction, chunk, *want)
    if torch.compiler.is_compiling():  # dynamo cannot trace a custom jvp: the op's own autograd
        loss = _forward_op(*args)[0]
    else:
        loss = _LinearCrossEntropy.apply(*args)[0]
    return loss.to(out_dtype)


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
