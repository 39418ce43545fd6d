"""Vocabulary-parallel cross-entropy over ``torch.distributed`` (Megatron-LM style).

Each process (rank) of a group holds the same N rows but only a slice of the classes: columns
``[vocab_start, vocab_start + V_local)`` of the logits (or the matching rows of the classifier
weight). With ``z`` the full row of logits, ``m = max_c z_c`` and ``s = z - m``:

    loss_n = (1 - eps) * (log sum_c exp s_c - s_y) + eps * (log sum_c exp s_c - mean_{c finite} s_c)

Every term is a sum or a max over classes, so each rank computes its shard's part and two
collectives finish it: one all-reduce MAX of the row maxima (the usual max-shift, so ``exp`` never
overflows), then one all-reduce SUM of the per-row quantities ``[sum exp s_c, s_y (on the rank
that holds y, 0 elsewhere), sum of finite s_c, number of finite s_c, holds-y count]``. The loss is
then identical on every rank, and the gradient of the local slice needs no communication:

    dloss_n / dz_c = p_c - (1 - eps) [c = y] - eps [z_c finite] / K_finite     (times the reduction's scale)

with ``p = softmax(z)`` assembled from the local ``exp s_c`` and the global sum. Label smoothing
spreads its mass over the finite logits only, as :func:`outlayer.losses.cross_entropy` does.

The CE formula is written here once more because no single process sees a whole row; the tests
check it against ``F.cross_entropy`` and the core on the gathered logits. The transport is
torch.distributed (gloo on CPU, NCCL on GPUs); see docs/distributed.md for ``torchrun``.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.distributed as dist
from torch.autograd.function import once_differentiable

from outlayer import linear_ce as _np_linear

__all__ = ["vocab_parallel_cross_entropy", "vocab_parallel_linear_cross_entropy"]

Tensor = torch.Tensor


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # float16/bfloat16 mantissas lose the softmax: work in float32 and cast the gradient back.
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


class _VocabParallelCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        local_logits: Tensor,
        target: Tensor,
        vocab_start: int,
        group: Any,
        ignore_index: int,
        label_smoothing: float,
        reduction: str,
    ) -> Tensor:
        z = local_logits.to(_compute_dtype(local_logits.dtype))
        n_local = z.shape[1]
        row_max = z.max(dim=1).values if n_local > 0 else z.new_full((z.shape[0],), float("-inf"))
        dist.all_reduce(row_max, op=dist.ReduceOp.MAX, group=group)
        # A row whose logits are all -inf has no finite maximum; shifting by 0 keeps -inf - m from being nan.
        row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
        shifted = z - row_max[:, None]

        kept = target != ignore_index
        local_ids = target - vocab_start
        in_shard = kept & (local_ids >= 0) & (local_ids < n_local)
        safe_ids = local_ids.clamp(0, max(n_local - 1, 0))[:, None]
        target_shifted = shifted.gather(1, safe_ids).squeeze(1) if n_local > 0 else shifted.new_zeros(z.shape[0])
        stats = torch.zeros(z.shape[0], 5, dtype=z.dtype, device=z.device)
        stats[:, 1] = torch.where(in_shard, target_shifted, torch.zeros_like(target_shifted))
        stats[:, 4] = in_shard.to(z.dtype)
        finite = None
        if label_smoothing > 0.0:  # only smoothing needs the finite logits' sum and count (two (N, V_local) temporaries)
            finite = torch.isfinite(shifted)
            stats[:, 2] = torch.where(finite, shifted, torch.zeros_like(shifted)).sum(dim=1)
            stats[:, 3] = finite.sum(dim=1).to(z.dtype)
        probs = shifted.exp_()  # in place: the shifted logits are not needed any more
        stats[:, 0] = probs.sum(dim=1)
        dist.all_reduce(stats, op=dist.ReduceOp.SUM, group=group)
        sum_exp, target_logit, finite_sum, n_finite, holders = stats.unbind(dim=1)

        misplaced = kept & (holders != 1)
        if bool(misplaced.any()):  # identical on every rank after the all-reduce: all raise together
            row = int(misplaced.nonzero()[0, 0])
            raise ValueError(
                f"target[{row}] = {int(target[row])} is held by {int(holders[row])} ranks, expected exactly 1: "
                "a class id outside [0, V) or vocabulary slices that overlap or leave gaps"
            )

        log_sum_exp = sum_exp.log()
        loss_rows = log_sum_exp - target_logit
        if label_smoothing > 0.0:
            mean_finite = finite_sum / n_finite.clamp(min=1)
            loss_rows = (1.0 - label_smoothing) * loss_rows + label_smoothing * (log_sum_exp - mean_finite)
        loss_rows = torch.where(kept, loss_rows, torch.zeros_like(loss_rows))

        probs.div_(sum_exp[:, None])
        scale = kept.to(z.dtype)
        if reduction == "mean":
            count = kept.sum()
            scale = scale / count.clamp(min=1)  # a mean over nothing: 0 with zero gradient
            loss = loss_rows.sum() / count.clamp(min=1)
        elif reduction == "sum":
            loss = loss_rows.sum()
        else:
            loss = loss_rows
        ctx.reduction = reduction
        ctx.label_smoothing = label_smoothing
        ctx.out_dtype = local_logits.dtype
        ctx.save_for_backward(probs, safe_ids, in_shard, finite, n_finite, scale)
        return loss.to(local_logits.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_loss: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        probs, safe_ids, in_shard, finite, n_finite, scale = ctx.saved_tensors
        eps = ctx.label_smoothing
        grad = probs.clone()
        # p - (1 - eps) onehot(y): only the rank holding y subtracts
        grad.scatter_add_(1, safe_ids, torch.where(in_shard, -(1.0 - eps), 0.0).to(grad.dtype)[:, None])
        if finite is not None:
            grad.sub_(finite.to(grad.dtype) * (eps / n_finite.clamp(min=1))[:, None])
        row_scale = scale * (grad_loss.to(scale.dtype) if ctx.reduction == "none" else grad_loss.to(scale.dtype).reshape(()))
        grad.mul_(row_scale[:, None])
        return (grad.to(ctx.out_dtype),) + (None,) * 6


class _CopyToVocabParallel(torch.autograd.Function):
    """Identity forward; backward sums the gradient over the group (every rank used the same input)."""

    @staticmethod
    def forward(ctx: Any, hidden: Tensor, group: Any) -> Tensor:  # type: ignore[override]
        ctx.group = group
        return hidden.view_as(hidden)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad, None


def _check_common(target: Tensor, n_rows: int, vocab_start: object, reduction: str, label_smoothing: object, ignore_index: object) -> None:
    if not (dist.is_available() and dist.is_initialized()):
        raise ValueError("torch.distributed is not initialised: call torch.distributed.init_process_group first (docs/distributed.md)")
    if not isinstance(target, torch.Tensor) or target.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"target must be an int64 or int32 tensor, got {getattr(target, 'dtype', type(target).__name__)}")
    if tuple(target.shape) != (n_rows,):
        raise ValueError(f"target shape {tuple(target.shape)} does not match the {n_rows} rows of the logits: expected ({n_rows},)")
    if isinstance(vocab_start, bool) or not isinstance(vocab_start, numbers.Integral) or int(vocab_start) < 0:
        raise ValueError(f"vocab_start must be a non-negative integer, got {vocab_start!r}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise ValueError(f"ignore_index must be an integer, got {ignore_index!r}")
    _np_linear.check_options(reduction, label_smoothing)


def vocab_parallel_cross_entropy(
    local_logits: Tensor,
    target: Tensor,
    *,
    vocab_start: int,
    group: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of logits whose class axis is split over the ranks of ``group``.

    Args:
        local_logits: (N, V_local) this rank's columns ``[vocab_start, vocab_start + V_local)``
            of the (N, V) logits; the N rows are the same on every rank.
        target: (N,) global class ids in [0, V), or ``ignore_index``; the same on every rank.
        vocab_start: the global id of this rank's first column.
        group: the process group (``None``: the default group).
        ignore_index, label_smoothing, reduction: as ``F.cross_entropy`` (``"mean"`` over the
            non-ignored rows; a mean over nothing is 0). Smoothing spreads over finite logits.

    Returns:
        The loss, identical on every rank: a scalar, or (N,) for ``"none"``. Backward gives this
        rank's slice of the logits' gradient. Collectives: one all-reduce MAX of N values and
        one all-reduce SUM of 5N values per call.
    """
    if not isinstance(local_logits, torch.Tensor) or local_logits.ndim != 2 or not local_logits.is_floating_point():
        raise ValueError(f"local_logits must be a 2-D floating tensor (N, V_local), got {getattr(local_logits, 'shape', type(local_logits).__name__)}")
    _check_common(target, local_logits.shape[0], vocab_start, reduction, label_smoothing, ignore_index)
    return _VocabParallelCrossEntropy.apply(
        local_logits, target.to(torch.int64), int(vocab_start), group, int(ignore_index), float(label_smoothing), reduction
    )


def vocab_parallel_linear_cross_entropy(
    hidden: Tensor,
    local_weight: Tensor,
    target: Tensor,
    *,
    vocab_start: int,
    local_bias: Tensor | None = None,
    group: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of ``hidden @ W.T + b`` with the classifier's rows split over the ranks.

    Args:
        hidden: (N, d), the same on every rank (e.g. the output of the last replicated layer).
        local_weight: (V_local, d) rows ``[vocab_start, vocab_start + V_local)`` of the (V, d) classifier.
        target, vocab_start, group, ignore_index, label_smoothing, reduction: as
            :func:`vocab_parallel_cross_entropy`.
        local_bias: optional (V_local,) slice of the bias.

    Returns:
        The loss, identical on every rank. Backward gives each rank the gradient of its weight
        (and bias) slice and the full gradient of ``hidden`` (the per-rank parts all-reduced).
        Each rank materialises its own (N, V_local) logits.
    """
    _np_linear.check_linear_shapes(
        tuple(hidden.shape), tuple(local_weight.shape), tuple(target.shape), None if local_bias is None else tuple(local_bias.shape)
    )
    for name, value in (("local_weight", local_weight), ("local_bias", local_bias)):
        if value is not None and value.dtype != hidden.dtype:
            raise ValueError(f"{name} dtype {value.dtype} does not match hidden dtype {hidden.dtype}")
    _check_common(target, hidden.shape[0], vocab_start, reduction, label_smoothing, ignore_index)
    shared = _CopyToVocabParallel.apply(hidden, group)
    local_logits = shared @ local_weight.T if local_bias is None else torch.addmm(local_bias, shared, local_weight.T)
    return vocab_parallel_cross_entropy(
        local_logits,
        target,
        vocab_start=vocab_start,
        group=group,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )
