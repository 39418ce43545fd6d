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
    impl: str,
) -> tuple[Tensor, Tensor | None]:
    """Loss (``"sum"``: scalar, ``"none"``: per row) and gradient of one contiguous block, on the
    backend chosen for the whole call. The gradient is written over ``logits`` and returned as it."""
    if impl == "triton" or (_uses_triton(logits) and logits.dtype != torch.float64):
        from outlayer import _dispatch

        return _dispatch.fused_cross_entropy(
            logits, target, impl="triton", weight=class_weight, ignore_index=ignore_index, label_smoothing=label_smoothing,
            reduction=reduction, with_grad=with_grad, grad_out=logits if with_grad else None,
        )
    if impl != "reference":
        loss, grad = _ce._run_kernel(logits, target, class_weight, ignore_index, label_smoothing, reduction, with_grad, in_place=True, impl=impl)
        return loss.to(torch.promote_types(logits.dtype, torch.float32)), grad
    from outlayer import losses  # the core, on torch tensors

    work = logits.to(torch.promote_types(logits.dtype, torch.float32))
    problem = losses._prepare_cross_entropy(
        work, target, weight=class_weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction, axis=-1
    )
    loss, grad = losses._reference_cross_entropy(problem, need_grad=with_grad)
    return loss, None if grad is None else logits.copy_(grad)


def _raise_nonfinite_block(logits: Tensor, start: int) -> None:
    """Name a NaN/+inf logit of a block by its row in the whole batch, as the NumPy twin does
    (the error path only: the kernel leaves a flagged row unwritten)."""
    from outlayer import _validate

    bad = torch.isnan(logits) | (logits == float("inf"))
    if bool(bad.any()):
        row, column = (int(i) for i in bad.nonzero()[0])
        raise _validate.error(
            "logits (hidden @ weight.T + bias)", "finite or -inf", float(logits[row, column]), where=_validate.format_index((start + row, column))
        )


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
    impl: str,
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
    mean_factor = scale if isinstance(scale, float) else float(scale)
    work_dtype = torch.promote_types(hidden.dtype, torch.float32)
    acc_dtype = torch.promote_types(weight.dtype, torch.float32)
    dhidden = torch.empty_like(hidden) if want_h else None
    dweight = torch.zeros(weight.shape, dtype=acc_dtype, device=weight.device) if want_w else None
    dbias = torch.zeros(weight.shape[0], dtype=acc_dtype, device=weight.device) if want_b and bias is not None else None
    block_reduction = "none" if reduction == "none" else "sum"
    losses: list[Tensor] = []
    # One block buffer for every block, as the NumPy twin: the matmul writes into it and the kernel
    # overwrites it with dZ. A fresh product per block would be allocated while the previous block
    # (still named by dlogits and grad) is alive: two blocks at the peak (+64 MiB at the default chunk).
    block_buffer = hidden.new_empty((min(chunk_size, n_rows), weight.shape[0]))
    for start in range(0, n_rows, chunk_size):
        stop = min(start + chunk_size, n_rows)
        h_block = hidden[start:stop]
        logits = block_buffer[: stop - start]
        if bias is None:
            torch.mm(h_block, weight.T, out=logits)
        else:
            torch.addmm(bias, h_block, weight.T, out=logits)
        try:
            block_loss, dlogits = _block_ce_in_place(
                logits,
                target[start:stop],
                class_weight=class_weight,
                ignore_index=ignore_index,
                label_smoothing=label_smoothing,
                reduction=block_reduction,
                with_grad=any_grad,
                impl=impl,
            )
        except ValueError:
            _raise_nonfinite_block(logits, start)
            raise
        losses.append(block_loss)
        if dlogits is None:
            continue
        # The "mean" scale and the per-row upstream gradients are applied to the (chunk, d) and
        # (V, d) products, not to the (chunk, V) block: that would be one more sweep over it.
        rows_factor = None if row_scale is None else row_scale[start:stop].to(acc_dtype) * mean_factor
        grad = dlogits.to(hidden.dtype)
        if dhidden is not None:
            torch.mm(grad, weight, out=dhidden[start:stop])
            if rows_factor is not None:
                dhidden[start:stop].mul_(rows_factor.unsqueeze(1).to(hidden.dtype))
            elif mean_factor != 1.0:
                dhidden[start:stop].mul_(mean_factor)
        if dweight is not None:
            h_acc = h_block.to(acc_dtype)
            if rows_factor is not None:
                dweight.addmm_(grad.T.to(acc_dtype), h_acc * rows_factor.unsqueeze(1))
            else:
                dweight.addmm_(grad.T.to(acc_dtype), h_acc, alpha=mean_factor)
        if dbias is not None:
            dbias += rows_factor @ grad.to(acc_dtype) if rows_factor is not None else grad.sum(dim=0, dtype=acc_dtype) * mean_factor
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


def _validated_values(target: Tensor, class_weight: Tensor | None, n_classes: int, ignore_index: int, dtype: torch.dtype) -> Tensor | None:
    """The checks that read values (class ids, class weights), with the NumPy twin's messages
    (:mod:`outlayer._validate`); inside the ops, so compiled graphs and vmap keep them."""
    import numpy as np

    from outlayer import _validate

    _validate.check_class_ids(target.detach().cpu().numpy(), num_classes=n_classes, ignore_index=ignore_index, xp=np)
    if class_weight is None:
        return None
    values = class_weight.detach().cpu()
    values = values.float() if values.dtype in (torch.bfloat16, torch.float16) else values
    like = np.zeros(0, dtype=np.float64 if dtype == torch.float64 else np.float32)
    checked = _validate.check_class_weight(values.numpy(), num_classes=n_classes, xp=np, like=like, name="class_weight")
    return torch.as_tensor(checked, device=class_weight.device)


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
    impl: str,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(loss, dhidden, dweight, dbias); ``"none"`` computes no gradient here (see the backward op)."""
    class_weight = _validated_values(target, class_weight, weight.shape[0], ignore_index, hidden.dtype)
    want = (want_hidden, want_weight, want_bias) if reduction != "none" else (False, False, False)
    loss, dhidden, dweight, dbias = _chunked_linear_ce(
        hidden.contiguous(), weight.contiguous(), bias, target, class_weight,
        ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction, chunk_size=chunk_size, want=want,
        impl=impl,
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
def _forward_op_fake(hidden, weight, bias, target, class_weight, ignore_index, label_smoothing, reduction, chunk_size, want_hidden, want_weight, want_bias, impl):  # noqa: ANN001, ANN202, E501
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
    impl: str,
) -> tuple[Tensor, Tensor, Tensor]:
    """``"none"``'s backward: the gradients of ``sum_n row_scale_n l_n``, blocks recomputed."""
    _, dhidden, dweight, dbias = _chunked_linear_ce(
        hidden.contiguous(), weight.contiguous(), bias, target, class_weight,
        ignore_index=ignore_index, label_smoothing=label_smoothing, reduction="none", chunk_size=chunk_size,
        want=(want_hidden, want_weight, want_bias), impl=impl, row_scale=row_scale,
    )
    return _or_empty(dhidden, hidden), _or_empty(dweight, weight), _or_empty(dbias, weight)


@_backward_op.register_fake
def _backward_op_fake(hidden, weight, bias, target, class_weight, row_scale, ignore_index, label_smoothing, chunk_size, want_hidden, want_weight, want_bias, impl):  # noqa: ANN001, ANN202, E501
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
    hidden, weight, bias, target, class_weight, ignore_index, label_smoothing, reduction, chunk, want_h, want_w, want_b, impl = inputs
    ctx.mark_non_differentiable(*output[1:])
    ctx.set_materialize_grads(False)
    ctx.reduction = reduction
    ctx.impl = impl
    ctx.options = (ignore_index, label_smoothing, chunk, want_h, want_w, want_b and bias is not None)
    if reduction == "none":
        ctx.save_for_backward(hidden, weight, bias, target, class_weight)
    else:
        ctx.save_for_backward(*output[1:])


def _op_backward(ctx: Any, grad_loss: Tensor | None, *_unused: Any) -> tuple[Tensor | None, ...]:
    # Reached under torch.compile only (eager calls go through _LinearCrossEntropy): first order.
    none_for_options = (None,) * 10
    if grad_loss is None:
        return (None, None, None) + none_for_options
    if ctx.reduction == "none":
        hidden, weight, bias, target, class_weight = ctx.saved_tensors
        ignore_index, label_smoothing, chunk, *want = ctx.options
        grads = _backward_op(hidden, weight, bias, target, class_weight, grad_loss, ignore_index, label_smoothing, chunk, *want, ctx.impl)
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
        impl: str,
    ) -> tuple[Tensor, ...]:
        return _forward_op(
            hidden, weight, bias, target, class_weight, ignore_index, label_smoothing, reduction, chunk_size, want_hidden, want_weight, want_bias, impl
        )

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
        hidden, weight, bias, target, class_weight, ignore_index, label_smoothing, reduction, chunk, want_h, want_w, want_b, impl = inputs
        ctx.mark_non_differentiable(*output[1:])
        ctx.set_materialize_grads(False)
        ctx.reduction = reduction
        ctx.impl = impl
        ctx.options = (ignore_index, label_smoothing, chunk)
        ctx.want = (want_h, want_w, want_b and bias is not None)
        ctx.save_for_backward(hidden, weight, bias, target, class_weight, *output[1:])
        ctx.save_for_forward(hidden, weight, bias, target, class_weight)

    @staticmethod
    def backward(ctx: Any, grad_loss: Tensor | None, *_unused: Any) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        none_for_options = (None,) * 10
        if grad_loss is None:
            return (None, None, None) + none_for_options
        hidden, weight, bias, target, class_weight, *stored = ctx.saved_tensors
        ignore_index, label_smoothing, chunk = ctx.options
        needs = ctx.needs_input_grad[:3]
        if torch.is_grad_enabled() or (ctx.reduction != "none" and not all(w for w, n in zip(ctx.want, needs) if n)):
            # create_graph=True (torch.func: always): gradients that autograd can differentiate
            grads = _differentiable_gradients(hidden, weight, bias, target, class_weight, grad_loss, ignore_index, label_smoothing, ctx.reduction, chunk)
        elif ctx.reduction == "none":
            grads = _backward_op(
                hidden, weight, bias, target, class_weight, grad_loss, ignore_index, label_smoothing, chunk, *needs[:2], needs[2] and bias is not None, ctx.impl
            )
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
    hidden: Tensor, weight: Tensor, target: Tensor, bias: Tensor | None, class_weight: Tensor | None, chunk_size: object
) -> tuple[int, int, int]:
    """The NumPy twin's boundary checks (same messages, :mod:`outlayer._validate`) that read no
    values; returns (N, V, chunk)."""
    from outlayer import _validate

    for name, value in (("hidden", hidden), ("weight", weight), ("target", target)):
        if not isinstance(value, torch.Tensor):
            raise _validate.error(name, "a torch.Tensor", _validate.Described(type(value).__name__))
    n_rows, _, n_classes = _np_linear.check_linear_shapes(
        tuple(hidden.shape), tuple(weight.shape), tuple(target.shape), None if bias is None else tuple(bias.shape)
    )
    if not hidden.is_floating_point():
        raise _validate.InputError(f"hidden must be a float array, got dtype {hidden.dtype}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.dtype != hidden.dtype:
            raise _validate.InputError(f"{name} dtype {value.dtype} does not match hidden dtype {hidden.dtype}")
        if value is not None and value.device != hidden.device:
            raise _validate.InputError(f"{name} is on {value.device} but hidden is on {hidden.device}")
    if target.dtype not in _INTEGER_DTYPES:
        raise _validate.InputError(f"target must hold integer class ids, got dtype {target.dtype}")
    if class_weight is not None and tuple(class_weight.shape) != (n_classes,):
        raise _validate.InputError(
            f"class_weight shape {tuple(class_weight.shape)} does not match weight shape {tuple(weight.shape)}: expected ({n_classes},)"
        )
    chunk = _np_linear.check_chunk_size(chunk_size)
    itemsize = max(hidden.element_size(), 4)  # blocks are worked on in float32 at least
    return n_rows, n_classes, chunk or _np_linear.default_chunk_size(n_rows, n_classes, itemsize)


def _backend(hidden: Tensor, weight: Tensor, target: Tensor, n_rows: int, n_classes: int, impl: str) -> str:
    """One backend for the whole call (as the NumPy twin): the dispatcher's choice for N x V logits."""
    from outlayer import _dispatch

    n_elements = n_rows * n_classes
    if _ce._traced(hidden, weight, target):  # only the op can be traced or batched
        n_elements = max(n_elements, _dispatch.FUSED_MIN_ELEMENTS)
    return _ce._choose(impl, hidden.device.type, str(hidden.dtype).removeprefix("torch."), int(n_elements), True)


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
    impl: str = "auto",
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
        impl: the blocks' cross-entropy backend: "auto" (outlayer._dispatch decides for the N x V
            problem), "reference", "numba" or "triton".

    Returns:
        The loss: a scalar, or (N,) for ``"none"``, in ``hidden``'s dtype (float32 under
        autocast); differentiable with respect to ``hidden``, ``weight`` and ``bias`` to any
        order, under ``torch.func`` and ``torch.compile``. Extra memory beyond the gradients:
        one block of logits, ``chunk_size x V`` (first order; a second derivative keeps the
        blocks of its graph).
    """
    from outlayer import _validate

    options = _validate.check_ce_options(
        reduction=reduction, label_smoothing=label_smoothing, ignore_index=_validate.check_ignore_index(ignore_index, allow_none=False), impl=impl
    )
    n_rows, n_classes, chunk = _check(hidden, weight, target, bias, class_weight, chunk_size)
    hidden, weight, bias, autocast = _autocast(hidden, weight, bias)
    out_dtype = torch.promote_types(hidden.dtype, torch.float32) if autocast else hidden.dtype
    backend = _backend(hidden, weight, target, n_rows, n_classes, options.impl)
    target = target.to(torch.int64)
    grad_on = torch.is_grad_enabled()
    want = (grad_on and hidden.requires_grad, grad_on and weight.requires_grad, grad_on and bias is not None and bias.requires_grad)
    args = (hidden, weight, bias, target, class_weight, int(ignore_index), options.label_smoothing, options.reduction, chunk, *want, backend)
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
        impl: str = "auto",
    ) -> None:
        super().__init__()
        self.register_buffer("class_weight", class_weight)
        self.class_weight: Tensor | None
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.reduction = reduction
        self.chunk_size = chunk_size
        self.impl = impl

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
            impl=self.impl,
        )
