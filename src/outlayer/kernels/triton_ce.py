"""Fused softmax-cross-entropy forward+backward for CUDA tensors (Triton).

Public entry point, the contract with :mod:`outlayer.torch` (``_ce`` for plain CE, ``_linear``
for the chunked linear+CE, both call it for CUDA tensors)::

    cross_entropy_cuda(logits, target, *, weight=None, ignore_index=-100, label_smoothing=0.0,
                       reduction="mean", in_place=False, with_grad=True) -> (loss, grad)

* ``logits``: (N, V) float32 / bfloat16 / float16 tensor on a CUDA device (or on the CPU when
  ``TRITON_INTERPRET=1``, which is how CI tests it), last dimension contiguous.
* ``target``: (N,) integer class ids in [0, V) or ``ignore_index``; ``weight``: optional (V,) class weights.
* ``loss``: float32, 0-d for ``"mean"``/``"sum"``, (N,) for ``"none"``; same semantics as
  :func:`outlayer.losses.cross_entropy` (smoothing over the finite logits, ``"mean"`` divided by
  the total class weight of the non-ignored rows, a mean over nothing is 0 with zero gradient).
* ``grad``: the gradient of ``loss`` w.r.t. ``logits`` (for ``"none"``: each row's gradient of
  its own loss), in ``logits``' dtype; with ``in_place=True`` it is written over ``logits`` and
  ``logits`` itself is returned, so no second (N, V) buffer exists. ``None`` if not ``with_grad``.

One Triton program per row makes two sweeps over its V logits in blocks of ``BLOCK`` columns:

1. online softmax: running max ``m`` and ``s = sum exp(z - m)`` (rescaled by ``exp(m_old - m)``
   whenever the max grows, so no exponent overflows and the row is read once; while every logit
   so far is -inf the shift is 0, so an all -inf block anywhere gives 0, not NaN), plus the finite
   count ``K``, ``W = sum w_c`` and ``sum w_c (z_c - m)`` over finite logits for label smoothing
   (relative to the running max, moved along with it), and a flag for NaN/+inf logits;
2. per column, the core's closed form
   ``dl/dz_c = ((1-eps) w_y + eps W/K) p_c - (1-eps) w_y [c = y] - eps w_c [z_c finite] / K`` with
   ``p_c = exp((z_c - m) - log s)``, scaled by the reduction, stored over the input.

So the kernel reads the logits twice and writes the gradient once, in fp32 registers whatever
the storage dtype. The loss per row is ``(1-eps) w_y (log s - (z_y - m)) + eps/K (W log s -
sum_c w_c (z_c - m))``, the core's formula with every term relative to the max (``m + log s``
would round ``log s`` away at 1e16, or at a float32 offset of 1e6). A flagged row makes the
wrapper raise :class:`outlayer._validate.InputError` (one flag read from the device); its
gradient row is not written.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

__all__ = ["cross_entropy_cuda", "triton_available"]

_REDUCTIONS = ("mean", "sum", "none")


def triton_available() -> bool:
    """True when Triton imports (it is needed for CUDA tensors, or the interpreter on CPU)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=2)
def _kernel(interpret: bool) -> Any:
    """Compile-on-demand: decorated here, not at import, so that ``TRITON_INTERPRET`` set by a
    caller before the first call decides interpreted vs compiled (Triton reads it at decoration)."""
    import triton
    import triton.language as tl

    def _ce_fwd_bwd(
        logits_ptr,
        grad_ptr,
        loss_ptr,
        bad_ptr,
        target_ptr,
        weight_ptr,
        scale_ptr,
        n_cols,
        stride_logits,
        stride_grad,
        ignore_index,
        eps,
        HAS_WEIGHT: tl.constexpr,
        WITH_GRAD: tl.constexpr,
        BLOCK: tl.constexpr,
    ):
        row = tl.program_id(0).to(tl.int64)  # int64: row * stride passes 2**31 at 16384 x 131072
        row_logits = logits_ptr + row * stride_logits
        y = tl.load(target_ptr + row).to(tl.int64)
        kept = y != ignore_index
        y_safe = tl.where(kept, y, 0)
        w_y = 1.0
        if HAS_WEIGHT:
            w_y = tl.load(weight_ptr + y_safe).to(tl.float32)
        w_y = tl.where(kept, w_y, 0.0)
        z_y = tl.load(row_logits + y_safe).to(tl.float32)

        neg_inf = float("-inf")
        pos_inf = float("inf")
        m = neg_inf
        s = 0.0
        n_finite = 0.0
        w_finite = 0.0
        wz_offset = 0.0  # sum_c w_c (z_c - m) over the finite logits, relative to the running max m
        bad = 0  # a NaN or +inf in the row: the boundary refuses it (found in this max pass)
        for start in range(0, n_cols, BLOCK):
            cols = start + tl.arange(0, BLOCK)
            in_row = cols < n_cols
            z = tl.load(row_logits + cols, mask=in_row, other=neg_inf).to(tl.float32)
            bad = tl.maximum(bad, tl.max(((z != z) | (z == pos_inf)).to(tl.int32), axis=0))
            m_new = tl.maximum(m, tl.max(z, axis=0))
            # while every logit so far is -inf, shift by 0 so that -inf - (-inf) never makes nan
            shift = tl.where(m_new == neg_inf, 0.0, m_new)
            s = s * tl.exp(m - shift) + tl.sum(tl.exp(z - shift), axis=0)
            # rescale the offsets summed against the old max (nothing was summed while m was -inf)
            wz_offset += w_finite * tl.where(m == neg_inf, 0.0, m - shift)
            m = m_new
            finite = (z > neg_inf) & (z < pos_inf)
            w = tl.full((BLOCK,), 1.0, tl.float32)
            if HAS_WEIGHT:
                w = tl.load(weight_ptr + cols, mask=in_row, other=0.0).to(tl.float32)
            w = tl.where(finite, w, 0.0)
            n_finite += tl.sum(finite.to(tl.float32), axis=0)
            w_finite += tl.sum(w, axis=0)
            wz_offset += tl.sum(w * tl.where(finite, z - shift, 0.0), axis=0)  # 0 * inf would be nan

        # Everything relative to the row max: lse - z_y = log s - (z_y - m). Forming m + log s first
        # would round log s away at |z| = 1e16, and a float32 offset of 1e6 would cost its last digits.
        masked_row = m == neg_inf  # every logit -inf: no class is possible
        m_safe = tl.where(masked_row, 0.0, m)
        log_s = tl.where(masked_row, 0.0, tl.log(s))
        k = tl.maximum(n_finite, 1.0)
        target_mass = (1.0 - eps) * w_y
        target_term = tl.where(target_mass != 0.0, target_mass * (log_s - (z_y - m_safe)), 0.0)
        smoothing_term = tl.where(eps > 0.0, eps / k * (w_finite * log_s - wz_offset), 0.0)
        loss = tl.where(masked_row, tl.where(target_mass != 0.0, pos_inf, 0.0), target_term + smoothing_term)
        loss = tl.where(bad != 0, float("nan"), loss)
        tl.store(loss_ptr + row, tl.where(kept | (bad != 0), loss, 0.0))
        tl.store(bad_ptr + row, bad)

        if WITH_GRAD:
            scale = tl.load(scale_ptr).to(tl.float32)
            coef = (target_mass + eps * w_finite / k) * scale
            smooth = eps / k * scale
            hit = target_mass * scale
            row_grad = grad_ptr + row * stride_grad
            for start in range(0, n_cols, BLOCK):
                cols = start + tl.arange(0, BLOCK)
                in_row = cols < n_cols
                z = tl.load(row_logits + cols, mask=in_row, other=neg_inf).to(tl.float32)
                finite = (z > neg_inf) & (z < pos_inf)
                w = tl.full((BLOCK,), 1.0, tl.float32)
                if HAS_WEIGHT:
                    w = tl.load(weight_ptr + cols, mask=in_row, other=0.0).to(tl.float32)
                p = tl.exp((z - m_safe) - log_s)
                g = coef * p - tl.where(finite, smooth * w, 0.0) - tl.where(cols == y, hit, 0.0)
                g = tl.where(kept, g, 0.0)
                # a refused row is left as it was (with an in-place gradient: its logits)
                tl.store(row_grad + cols, g.to(grad_ptr.dtype.element_ty), mask=in_row & (tl.zeros((BLOCK,), tl.int32) == bad))

    if interpret:
        from triton.runtime.interpreter import InterpretedFunction

        return InterpretedFunction(_ce_fwd_bwd)
    return triton.jit(_ce_fwd_bwd)


def _interpreting() -> bool:
    import os

    return os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")


def _default_block(n_cols: int) -> int:
    import triton

    # A power of two (tl.arange needs one); 4096 columns keep a row sweep in few, large loads.
    return int(min(4096, triton.next_power_of_2(max(n_cols, 16))))


def cross_entropy_cuda(
    logits: Any,
    target: Any,
    *,
    weight: Any = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
    in_place: bool = False,
    with_grad: bool = True,
    block_size: int | None = None,
    name: str = "logits",
) -> tuple[Any, Any]:
    """Loss and gradient of softmax cross-entropy in one kernel launch; see the module docstring.

    ``block_size`` (a power of two) overrides the columns per sweep step (tests use small ones
    to exercise partial blocks). A NaN or +inf logit raises :class:`outlayer._validate.InputError`
    (found in the kernel's max pass; costs one device-to-host flag read); ``name`` is what the
    message calls the logits.
    """
    import torch

    interpret = _interpreting()
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise ValueError(f"logits must be a 2-D torch tensor (N, V), got {getattr(logits, 'shape', type(logits).__name__)}")
    if logits.dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"logits dtype {logits.dtype} is not supported by the Triton kernel (float32, bfloat16, float16)")
    if not logits.is_cuda and not interpret:
        raise ValueError(f"logits are on {logits.device}; the Triton kernel needs a CUDA tensor (or TRITON_INTERPRET=1)")
    n_rows, n_cols = logits.shape
    if not isinstance(target, torch.Tensor) or tuple(target.shape) != (n_rows,) or target.is_floating_point():
        raise ValueError(f"target must be an integer tensor of shape ({n_rows},), got {getattr(target, 'shape', type(target).__name__)}")
    if weight is not None and tuple(weight.shape) != (n_cols,):
        raise ValueError(f"weight shape {tuple(weight.shape)} does not match the {n_cols} classes")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(_REDUCTIONS)}, got {reduction!r}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    block = block_size or _default_block(n_cols)
    if block & (block - 1):
        raise ValueError(f"block_size must be a power of two, got {block_size!r}")

    target = target.to(torch.int64).contiguous()
    kept = target != ignore_index
    bad = kept & ((target < 0) | (target >= n_cols))
    if bool(bad.any()):
        row = int(bad.nonzero()[0, 0])
        raise ValueError(f"target[{row}] = {int(target[row])} is not a class id in [0, {n_cols}) nor ignore_index={ignore_index}")
    if logits.stride(1) != 1:
        logits = logits.contiguous()
    weight_f32 = None if weight is None else weight.to(device=logits.device, dtype=torch.float32).contiguous()

    # The reduction's scale stays on the device (no host sync): 1 / total kept weight for "mean".
    if reduction == "mean":
        safe_target = torch.where(kept, target, 0)  # ignored rows index class 0: ignore_index may be >= V
        per_row = kept.to(torch.float32) if weight_f32 is None else torch.where(kept, weight_f32[safe_target], 0.0)
        denominator = per_row.sum()
        scale = torch.where(denominator > 0, 1.0 / denominator.clamp(min=torch.finfo(torch.float32).tiny), 0.0)
    else:
        scale = torch.ones((), dtype=torch.float32, device=logits.device)
    scale = scale.reshape(1).to(torch.float32)

    loss_rows = torch.empty(n_rows, dtype=torch.float32, device=logits.device)
    bad_rows = torch.zeros(n_rows, dtype=torch.int32, device=logits.device)
    grad = None
    if with_grad:
        grad = logits if in_place else torch.empty_like(logits)
    if n_rows > 0:
        kernel = _kernel(interpret)
        kernel[(n_rows,)](
            logits,
            grad if grad is not None else logits,
            loss_rows,
            bad_rows,
            target,
            weight_f32 if weight_f32 is not None else loss_rows,  # unused pointer when HAS_WEIGHT is False
            scale,
            n_cols,
            logits.stride(0),
            (grad if grad is not None else logits).stride(0),
            int(ignore_index),
            float(label_smoothing),
            HAS_WEIGHT=weight_f32 is not None,
            WITH_GRAD=with_grad,
            BLOCK=block,
            **({} if interpret else {"num_warps": 8 if block >= 2048 else 4}),
        )
    if n_rows > 0 and bool(bad_rows.any()):
        from outlayer._validate import nonfinite_logits_error

        row = int(bad_rows.nonzero()[0, 0])
        raise nonfinite_logits_error(logits[row].float().cpu().numpy(), row, name=name)
    if reduction == "none":
        return loss_rows, grad
    total = loss_rows.sum()
    return (total * scale[0] if reduction == "mean" else total), grad
