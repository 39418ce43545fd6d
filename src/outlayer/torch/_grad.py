"""Autograd plumbing shared by the torch front end's fused paths.

The fused kernels hand back the gradient of the loss with respect to the logits, computed in the
forward sweep. That stored gradient is a number, not a function of the logits: returning it from
``backward`` is right for one backward, and silently wrong for a second one (a gradient penalty,
``gradgradcheck``, ``torch.func.hessian``), which would treat it as a constant. So every fused
``backward`` runs one of two branches:

* first order (``torch.is_grad_enabled()`` is False inside ``backward``: no ``create_graph``):
  the stored gradient, scaled by the incoming one (:func:`scale_by_upstream`);
* ``create_graph=True`` (and every ``torch.func`` transform, which always builds the graph): the
  same gradient recomputed from the saved logits by :func:`cross_entropy_gradient_rows`, in torch
  operations, so that autograd can differentiate it again, to any order.

:func:`cross_entropy_gradient_rows` is the core's closed form (``outlayer.losses``):

    dl_n/dz_n = (sum_c w_c q_nc) p_n - w * q_n,   q_n = (1 - eps) onehot(y_n) + eps * u_n

with ``u_n`` uniform over the row's finite logits, ignored rows 0, times the reduction's scale.
It is written with no Python branch on tensor values, so it also runs under ``torch.vmap``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["cross_entropy_gradient_rows", "is_plain_tensor", "mean_scale", "scale_by_upstream"]


def is_plain_tensor(tensor: Tensor) -> bool:
    """True for an ordinary eager tensor: not traced by torch.compile, not a torch.func wrapper.

    Only then may Python look at its values (``bool(...)``) without a graph break or a vmap error.
    """
    if torch.compiler.is_compiling():
        return False
    functorch = getattr(torch._C, "_functorch", None)
    return functorch is None or not functorch.is_functorch_wrapped_tensor(tensor)


def scale_by_upstream(grad: Tensor, grad_loss: Tensor, reduction: str) -> Tensor:
    """``grad`` (per row for ``"none"``) times the incoming gradient ``grad_loss``.

    ``loss.backward()`` (or ``loss.sum().backward()`` for ``"none"``) passes ones: the stored
    gradient is then the answer itself, with no sweep and no new buffer. Otherwise a new tensor:
    scaling the stored one in place would break a second backward through a retained graph.
    """
    if is_plain_tensor(grad_loss) and is_plain_tensor(grad) and bool((grad_loss == 1).all()):
        return grad
    scale = grad_loss.to(grad.dtype)
    return grad * (scale.reshape(-1, 1) if reduction == "none" else scale)  # "none": the caller's batch shape


def mean_scale(target: Tensor, weight: Tensor | None, ignore_index: int, dtype: torch.dtype) -> Tensor:
    """The ``"mean"`` factor ``1 / sum_{n kept} w_{y_n}``, and 0 for a mean over nothing (no NaN)."""
    kept = target != ignore_index
    if weight is None:
        total = kept.sum(dim=-1).to(dtype)
    else:
        w_y = weight.to(dtype)[torch.where(kept, target, 0)]
        total = torch.where(kept, w_y, torch.zeros_like(w_y)).sum(dim=-1)
    safe = torch.where(total != 0, total, torch.ones_like(total))
    return torch.where(total != 0, 1.0 / safe, torch.zeros_like(total))


def cross_entropy_gradient_rows(
    logits: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    reduction: str,
) -> Tensor:
    """The gradient of the fused loss w.r.t. ``logits`` (N, V), in differentiable torch operations.

    Same semantics as the kernels: ``"none"`` and ``"sum"`` give each row's gradient of its own
    loss, ``"mean"`` divides by the total class weight of the kept rows. float16 / bfloat16 are
    computed in float32 and the result cast back.
    """
    dtype = torch.promote_types(logits.dtype, torch.float32)
    n_classes = logits.shape[-1]
    kept = target != ignore_index
    ids = torch.where(kept, target, torch.zeros_like(target))
    # Ignored rows are computed on zeros: their softmax of an all -inf row would be NaN, and the
    # NaN would reach the second derivative through the masked branch of the final where().
    z = torch.where(kept.unsqueeze(-1), logits.to(dtype), torch.zeros((), dtype=dtype, device=logits.device))
    finite = torch.isfinite(z)
    # max-shift: exp never overflows; the shift is a constant for autograd (softmax is invariant)
    row_max = z.detach().amax(dim=-1, keepdim=True)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    exps = torch.exp(z - row_max)
    total = exps.sum(dim=-1, keepdim=True)
    probs = exps / torch.where(total > 0, total, torch.ones_like(total))  # an all -inf row: p = 0, as the kernels
    classes = torch.arange(n_classes, device=logits.device)
    onehot = (ids.unsqueeze(-1) == classes).to(dtype)
    q = (1.0 - label_smoothing) * onehot
    if label_smoothing > 0.0:
        n_finite = finite.sum(dim=-1, keepdim=True).clamp(min=1).to(dtype)
        q = q + label_smoothing * finite.to(dtype) / n_finite
    wq = q if weight is None else q * weight.to(dtype)
    grad = wq.sum(dim=-1, keepdim=True) * probs - wq
    grad = torch.where(kept.unsqueeze(-1), grad, torch.zeros((), dtype=dtype, device=logits.device))
    if reduction == "mean":
        grad = grad * mean_scale(target, weight, ignore_index, dtype)[..., None, None]
    return grad.to(logits.dtype)


def contract_tangent(grad: Tensor, tangent: Tensor, reduction: str) -> Tensor:
    """Forward-mode derivative of the loss along ``tangent``: ``<grad, tangent>`` per row or in all."""
    product = (grad * tangent.to(grad.dtype)).sum(dim=-1)
    return product if reduction == "none" else product.sum(dim=-1)


def refuse_in_place_double_backward(what: str) -> Any:
    raise RuntimeError(
        f"{what}: inplace=True overwrote the logits with their gradient, so there is nothing to "
        "differentiate again (create_graph=True, gradgradcheck, torch.func); pass inplace=False"
    )
