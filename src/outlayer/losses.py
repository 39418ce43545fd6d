"""Classification losses on logits, each with its exact gradient written beside it.

Every loss takes **logits** (softmax or sigmoid happens inside, as in PyTorch) and has a twin
``<loss>_with_grad`` returning ``(loss, dloss/dlogits)``. The gradient is the closed form, not
autograd; tests check it against finite differences and torch autograd.

This module is the core and the **reference** for every backend: it imports no kernel.
``outlayer.cross_entropy`` (:mod:`outlayer._dispatch`) is this module's cross-entropy with a
backend choice (``impl="auto"`` sends large NumPy inputs to the fused kernel), validated by the
same checks (:mod:`outlayer._validate`); ``outlayer.losses.cross_entropy`` always runs the
reference. Bad input raises :class:`outlayer.InputError`.

Shapes and conventions shared by the softmax losses:

* ``logits`` has a class axis ``axis`` (default -1) of size K; the other axes are the batch.
* ``target`` is either integer class ids with the batch shape, or rows with the logits' shape
  (probabilities for cross-entropy: one-hot or soft).
* ``reduction``: ``"none"`` returns one value per sample (batch shape); ``"sum"`` adds them;
  ``"mean"`` divides the sum by the total weight of the samples that count (see each loss).
  A mean over nothing (an empty batch, every target ignored, zero total weight) is **0 with a
  zero gradient**, not NaN: such a batch carries no signal, and a NaN would poison a running
  average of losses and every parameter it touched. (PyTorch returns NaN; Keras returns 0.)
* With ``reduction="none"`` the gradient holds each sample's gradient of its own loss,
  which is also the gradient of the sum.
* float16 and bfloat16 logits are computed in float32; results come back in the logits' dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy as np

from outlayer._array_api import (
    as_float,
    asarray_like,
    first_index,
    format_index,
    isdtype,
    normalize_axis,
    pick,
    require_logits,
)
from outlayer._validate import (
    CEOptions,
    Described,
    InputError,
    check_ce_options,
    check_class_ids,
    check_class_weight,
    check_ignore_index,
    check_probability_targets,
    check_reduction,
    error,
    refuse_masked,
)
from outlayer.activations import _sigmoid_parts, _softmax_parts

__all__ = [
    "LOSS_NAMES",
    "Loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_grad",
    "cross_entropy",
    "cross_entropy_with_grad",
    "get_loss",
    "mse",
    "mse_with_grad",
    "nll_loss",
    "nll_loss_with_grad",
]

Array = Any
Reduction = Literal["none", "mean", "sum"]
INF = float("inf")


# ------------------------------------------------------------------------------------------------
# Shared plumbing: class axis to rows, target parsing, reductions.
# ------------------------------------------------------------------------------------------------
@dataclass
class _Rows:
    """Logits (or log-probabilities) as an (M, K) matrix with the class axis last."""

    z: Array
    xp: Any
    out_dtype: Any
    shape: tuple[int, ...]  # the caller's logits shape
    axis: int  # the caller's class axis, normalised
    caller: Array = None  # the logits in the caller's layout (compute dtype), for error positions

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.shape[: self.axis] + self.shape[self.axis + 1 :]

    def to_rows(self, array: Array) -> Array:
        """An array of the caller's logits shape as (M, K) rows."""
        xp = self.xp
        moved = xp.moveaxis(array, self.axis, -1) if self.axis != len(self.shape) - 1 else array
        return xp.reshape(moved, (-1, self.shape[self.axis]))

    def from_rows(self, rows: Array) -> Array:
        """(M, K) rows back to the caller's layout and dtype."""
        xp = self.xp
        moved_shape = self.batch_shape + (self.shape[self.axis],)
        out = xp.reshape(rows, moved_shape)
        if self.axis != len(self.shape) - 1:
            out = xp.moveaxis(out, -1, self.axis)
        return xp.astype(out, self.out_dtype)


def _as_rows(logits: Array, axis: int, *, name: str = "logits", check_finite: bool = True) -> _Rows:
    """Logits as (M, K) rows in the compute dtype; ``check_finite=False`` leaves the NaN/+inf check to
    the caller (the dispatcher runs it after choosing a backend: the fused kernels fold it into their max pass)."""
    z, xp, out_dtype = as_float(logits, name=name)
    if z.ndim == 0:
        raise error(name, "an array with a class axis", Described("a 0-d array"))
    axis = normalize_axis(axis, z.ndim)
    if int(z.shape[axis]) == 0:
        raise error(name, f"an array with at least one class along axis {axis}", Described(f"shape {tuple(int(n) for n in z.shape)}"))
    rows = _Rows(z, xp, out_dtype, tuple(int(n) for n in z.shape), axis, caller=z)
    rows.z = rows.to_rows(z)
    if check_finite:
        require_logits(z, xp, name=name)
    return rows


@dataclass
class _Target:
    """A parsed target: integer ids (M,) with a keep-mask, or float rows (M, K)."""

    ids: Array | None = None  # ignored entries replaced by 0 so they can index safely
    keep: Array | None = None  # (M,) bool, False where target == ignore_index
    rows: Array | None = None
    raw_ids: Array | None = None  # (M,) int64 ids as given, ignore_index included (for the kernels)
    extra: dict[str, Any] = field(default_factory=dict)

    def is_target(self, rows: _Rows) -> Array:
        """(M, K) bool: column == id. The only place ids meet the class axis, and only for gradients."""
        xp = rows.xp
        assert self.ids is not None, "class-id targets only"
        classes = asarray_like(list(range(rows.z.shape[1])), rows.z, xp, dtype=xp.int64)
        return self.ids[:, None] == classes


def _target_is_ids(target: Array, xp: Any) -> bool:
    """Whether ``target`` holds class ids (an integer dtype), without converting it."""
    dtype = getattr(target, "dtype", None)
    if dtype is None:
        dtype = np.asarray(target).dtype
    try:
        return isdtype(dtype, "integral", xp) and not isdtype(dtype, "bool", xp)
    except (TypeError, ValueError):
        return False


def _parse_target(
    target: Array,
    rows: _Rows,
    *,
    ignore_index: int | None = None,
    rows_allowed: bool = True,
    rows_nonnegative: bool = True,
) -> _Target:
    xp = rows.xp
    refuse_masked(target, "target")
    if not hasattr(target, "dtype") or xp.__name__ == "numpy":
        target = asarray_like(target, rows.z, xp)
    num_classes = rows.shape[rows.axis]
    batch_shape = rows.batch_shape
    shape = tuple(int(n) for n in target.shape)
    if isdtype(target.dtype, "integral", xp) and not isdtype(target.dtype, "bool", xp):
        if shape != batch_shape:
            raise error(
                "target class ids",
                f"of shape {batch_shape} (the logits of shape {rows.shape} without class axis {rows.axis})",
                Described(f"shape {shape}"),
            )
        ids = xp.reshape(check_class_ids(target, num_classes=num_classes, ignore_index=ignore_index, xp=xp), (-1,))
        ignored = ids == ignore_index if ignore_index is not None else xp.zeros_like(ids, dtype=xp.bool)
        keep = ~ignored
        return _Target(ids=xp.where(keep, ids, 0), keep=keep, raw_ids=ids)
    if isdtype(target.dtype, "real floating", xp):
        if not rows_allowed:
            raise error("target", "integer class ids", Described(f"dtype {target.dtype}"))
        if shape != rows.shape:
            hint = "cast class ids to an integer dtype" if shape == batch_shape else ""
            raise error("target rows", f"of the logits' shape {rows.shape}", Described(f"shape {shape}"), hint=hint)
        if rows_nonnegative:
            check_probability_targets(target, ignore_index=ignore_index, xp=xp)
        else:
            if ignore_index is not None:
                raise error("ignore_index", "None with target rows (it applies to class ids)", ignore_index)
            check_probability_targets(target, ignore_index=None, xp=xp, nonnegative=False)
        t = xp.astype(rows.to_rows(target), rows.z.dtype)
        return _Target(rows=t)
    raise error("target", "integer class ids or float rows", Described(f"dtype {target.dtype}"))


def _class_weight(weight: Array | None, rows: _Rows, *, name: str = "weight") -> Array | None:
    return check_class_weight(weight, num_classes=rows.shape[rows.axis], xp=rows.xp, like=rows.z, name=name)


def _check_reduction(reduction: str) -> None:
    check_reduction(reduction)


def _check_ignore_index(ignore_index: int | None) -> None:
    check_ignore_index(ignore_index)


def _reduce(
    rows: _Rows,
    loss_rows: Array,
    grad_rows: Array | None,
    reduction: str,
    denominator_rows: Array | None,
) -> tuple[Array, Array | None]:
    """Apply the reduction to per-sample losses and their per-sample gradients.

    ``denominator_rows`` is each sample's weight in a mean (None: every sample counts 1).
    """
    xp = rows.xp
    if reduction == "none":
        loss = xp.astype(xp.reshape(loss_rows, rows.batch_shape), rows.out_dtype)
    else:
        loss = xp.sum(loss_rows)
        if reduction == "mean":
            total = xp.sum(denominator_rows) if denominator_rows is not None else xp.asarray(
                float(loss_rows.shape[0]), dtype=loss_rows.dtype
            )
            counts = total > 0
            # a mean over nothing is 0 with zero gradient (module docstring): divide by 1 there
            scale = xp.where(counts, 1.0 / xp.where(counts, total, 1.0), 0.0)
            loss = loss * scale
            if grad_rows is not None:
                grad_rows = grad_rows * scale
        loss = xp.astype(loss, rows.out_dtype)
    grad = rows.from_rows(grad_rows) if grad_rows is not None else None
    return loss, grad


# ------------------------------------------------------------------------------------------------
# Negative log-likelihood of class ids: the piece cross-entropy shares.
# ------------------------------------------------------------------------------------------------
def _nll_rows(log_probs: Array, target: _Target, w: Array | None, xp: Any) -> tuple[Array, Array]:
    """Per-sample ``-w_y log p_y`` (0 where ignored) and each sample's weight ``w_y`` (0 where ignored).

    Reads one entry per row: class ids never become a one-hot matrix.
    """
    picked = pick(log_probs, target.ids, xp)
    w_y = xp.take(w, target.ids) if w is not None else xp.ones_like(picked)
    counts = target.keep & (w_y > 0) if w is not None else target.keep
    # where, not a product: an ignored or zero-weight row whose logit is -inf gives 0, not 0 * inf = NaN
    loss = -w_y * xp.where(counts, picked, 0.0)
    return loss, xp.where(target.keep, w_y, 0.0)


def _nll_rows_grad(target: _Target, rows: _Rows, sample_weight: Array) -> Array:
    """d(-w_y log p_y)/d(log p): -w_y at the target column, 0 elsewhere and on ignored rows."""
    xp = rows.xp
    zeros = xp.zeros_like(rows.z)
    return xp.where(target.is_target(rows), -sample_weight[:, None] + zeros, zeros)


def _nll(log_probs, target, weight, ignore_index, reduction, axis, need_grad):  # noqa: ANN001, ANN202
    _check_reduction(reduction)
    _check_ignore_index(ignore_index)
    rows = _as_rows(log_probs, axis, name="log_probs")
    parsed = _parse_target(target, rows, ignore_index=ignore_index, rows_allowed=False)
    w = _class_weight(weight, rows)
    loss_rows, sample_weight = _nll_rows(rows.z, parsed, w, rows.xp)
    grad_rows = _nll_rows_grad(parsed, rows, sample_weight) if need_grad else None
    return _reduce(rows, loss_rows, grad_rows, reduction, sample_weight)


def nll_loss(
    log_probs: Array,
    target: Array,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    axis: int = -1,
) -> Array:
    """Negative log-likelihood of integer targets given log-probabilities (as ``torch.nn.functional.nll_loss``).

    Per sample ``l_n = -w_{y_n} log_probs[n, y_n]``; samples with ``y_n == ignore_index`` give 0.
    ``mean`` divides by ``sum_n w_{y_n}`` over the samples not ignored.

    Args:
      log_probs: (..., K, ...) log-probabilities, class axis ``axis``.
      target: integer class ids, the batch shape.
      weight: optional (K,) non-negative class weights.
      ignore_index: a target value to skip, or None.
      reduction: "none" | "mean" | "sum".
      axis: the class axis.
    """
    return _nll(log_probs, target, weight, ignore_index, reduction, axis, need_grad=False)[0]


def nll_loss_with_grad(
    log_probs: Array,
    target: Array,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    axis: int = -1,
) -> tuple[Array, Array]:
    """``nll_loss`` and its gradient w.r.t. ``log_probs``: ``-w_y`` at each target, scaled by the reduction."""
    return _nll(log_probs, target, weight, ignore_index, reduction, axis, need_grad=True)


# ------------------------------------------------------------------------------------------------
# Cross-entropy.
# ------------------------------------------------------------------------------------------------
@dataclass
class _CEProblem:
    """A cross-entropy call with every input checked except the logits' finiteness (see ``_prepare_cross_entropy``)."""

    rows: _Rows
    target: _Target
    weight: Array | None
    options: CEOptions


def _prepare_cross_entropy(
    logits: Array,
    target: Array,
    *,
    weight: Array | None,
    ignore_index: int | None,
    label_smoothing: float,
    reduction: str,
    axis: int,
    impl: str = "reference",
) -> _CEProblem:
    """Check every input of a cross-entropy call (scalar options first, then logits, target, weight).

    The logits' finiteness is left to the caller: :func:`_reference_cross_entropy` checks it, and
    the dispatcher's fused kernels fold it into their max pass. So every path refuses the same inputs.
    """
    options = check_ce_options(reduction=reduction, label_smoothing=label_smoothing, ignore_index=ignore_index, impl=impl)
    rows = _as_rows(logits, axis, check_finite=False)
    parsed = _parse_target(target, rows, ignore_index=options.ignore_index)
    w = _class_weight(weight, rows)
    return _CEProblem(rows, parsed, w, options)


def _reference_cross_entropy(problem: _CEProblem, need_grad: bool) -> tuple[Array, Array | None]:
    """The reference computation of a prepared problem: (loss, gradient or None), in the caller's layout.

    Starts with the one check :func:`_prepare_cross_entropy` leaves out: logits finite or -inf.
    """
    rows, parsed, w = problem.rows, problem.target, problem.weight
    eps, reduction = problem.options.label_smoothing, problem.options.reduction
    xp, z = rows.xp, rows.z
    require_logits(rows.caller, xp)
    probs, log_probs = _softmax_parts(z, 1, xp)
    # Label smoothing mixes the target with the uniform distribution over the classes whose logit
    # is finite: a -inf logit is a class that cannot occur, and spreading mass onto it would make
    # the loss infinite (PyTorch spreads eps/K over all K classes and returns inf there).
    finite = xp.isfinite(z)
    log_probs_finite = xp.where(finite, log_probs, 0.0)
    uniform = None
    if eps > 0.0 or parsed.rows is not None:
        valid = xp.astype(finite, z.dtype)
        n_valid = xp.sum(valid, axis=1, keepdims=True)
        uniform = valid / xp.where(n_valid > 0, n_valid, 1.0)
    w_uniform = (w * uniform if w is not None else uniform) if uniform is not None else None

    if parsed.ids is not None:
        # l_n = (1 - eps) * (-w_y log p_y) + eps * (-sum_c w_c u_c log p_c)
        nll, sample_weight = _nll_rows(log_probs, parsed, w, xp)
        loss_rows = nll
        if eps > 0.0:
            smooth = -xp.sum(w_uniform * log_probs_finite, axis=1)
            # eps = 1 puts no mass on the target: its term is 0 even where -log p_y is inf (0 * inf is NaN)
            target_term = (1.0 - eps) * nll if eps < 1.0 else xp.zeros_like(nll)
            loss_rows = target_term + eps * xp.where(parsed.keep, smooth, 0.0)
        grad_rows = None
        if need_grad:
            # dl/dz = (sum_c w_c q_c) p - w * q  with q = (1 - eps) onehot(y) + eps u
            # (the log-softmax Jacobian applied to d l / d log p = -w * q)
            weight_mass = sample_weight * (1.0 - eps)
            grad_rows = weight_mass[:, None] * probs + (1.0 - eps) * _nll_rows_grad(parsed, rows, sample_weight)
            if eps > 0.0:
                smooth_mass = xp.sum(w_uniform, axis=1)
                keep = xp.astype(parsed.keep, z.dtype)[:, None]
                grad_rows = grad_rows + eps * keep * (smooth_mass[:, None] * probs - w_uniform)
        return _reduce(rows, loss_rows, grad_rows, reduction, sample_weight)

    # Probability rows: l_n = -sum_c w_c q_c log p_c with q = (1 - eps) t + eps u.
    t = parsed.rows
    assert t is not None and uniform is not None
    q = (1.0 - eps) * t + eps * uniform if eps > 0.0 else t
    wq = w * q if w is not None else q
    loss_rows = -xp.sum(wq * log_probs_finite, axis=1)
    # target mass on a class whose logit is -inf: that outcome has probability 0, the loss is inf
    impossible = xp.any((wq > 0) & ~finite, axis=1)
    loss_rows = xp.where(impossible, INF, loss_rows)
    # mean divides by each row's target weight sum_c w_c t_c (w = 1 without class weights; = w_y
    # for a one-hot row), so one-hot rows and their integer ids agree, weight=None equals a weight
    # of ones, and a zero row counts for nothing, like an ignored id. PyTorch divides by N
    # (pytorch#107680); for rows that sum to 1 without weights that is the same.
    sample_weight = xp.sum(w * t if w is not None else t, axis=1)
    grad_rows = xp.sum(wq, axis=1)[:, None] * probs - wq if need_grad else None
    return _reduce(rows, loss_rows, grad_rows, reduction, sample_weight)


def cross_entropy(
    logits: Array,
    target: Array,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    axis: int = -1,
) -> Array:
    """Softmax cross-entropy from logits: ``l_n = -sum_c w_c q_{n,c} log softmax(z_n)_c``.

    The maximum-likelihood loss for a categorical output: with a one-hot target it is
    ``-log p_y``, the negative log-probability the model gives the true class.

    Args:
      logits: (..., K, ...) unnormalised scores, class axis ``axis``; finite or -inf (a class
        that cannot occur).
      target: integer class ids with the batch shape, or rows of the logits' shape holding a
        (one-hot or soft) distribution per sample.
      weight: optional (K,) non-negative class weights ``w_c``.
      ignore_index: a class-id value whose samples give 0 loss and 0 gradient and do not count
        in the mean (class-id targets only).
      label_smoothing: eps in [0, 1]; the target becomes ``q = (1 - eps) t + eps u`` with ``u``
        uniform over the classes whose logit is finite (so -inf logits stay harmless).
      reduction: "none" (per sample), "sum", or "mean" = sum / total target weight, where a
        sample's weight is ``w_{y_n}`` (ids, 0 if ignored) or ``sum_c w_c t_{n,c}`` (rows; 1
        each without class weights). Integer ids and their one-hot rows give the same value.
        A mean over nothing is 0.
      axis: the class axis (PyTorch uses dim 1 for K-dimensional inputs; pass ``axis=1``).

    Returns:
      The loss: a scalar, or the batch shape for ``reduction="none"``.

    Equals ``torch.nn.functional.cross_entropy`` except where PyTorch is not self-consistent:
    weighted probability targets (divided by N there), -inf logits with smoothing (inf there),
    and a mean over nothing (NaN there).
    """
    problem = _prepare_cross_entropy(
        logits, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction, axis=axis
    )
    return _reference_cross_entropy(problem, need_grad=False)[0]


def cross_entropy_with_grad(
    logits: Array,
    target: Array,
    *,
    weight: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    axis: int = -1,
) -> tuple[Array, Array]:
    """``cross_entropy`` and its exact gradient w.r.t. the logits.

    Closed form per sample: ``dl/dz = (sum_c w_c q_c) softmax(z) - w * q``; without class
    weights that is simply ``softmax(z) - q``, "prediction minus target". Its size never falls
    below ``1 - p_y`` for the true class, so a confidently wrong prediction gets a large push.
    The reduction scales it (1/total weight for "mean").
    """
    problem = _prepare_cross_entropy(
        logits, target, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction, axis=axis
    )
    loss, grad = _reference_cross_entropy(problem, need_grad=True)
    return loss, grad


# ------------------------------------------------------------------------------------------------
# Mean squared error, on probabilities (the lecture's) or on raw outputs (Hui & Belkin's square loss).
# ------------------------------------------------------------------------------------------------
def _mse(logits, target, on, reduction, axis, true_class_weight, true_class_target, need_grad):  # noqa: ANN001, ANN202
    _check_reduction(reduction)
    if on not in ("probs", "logits"):
        raise InputError(f"on must be 'probs' or 'logits', got {on!r}")
    k, big_m = float(true_class_weight), float(true_class_target)
    if not (k > 0 and k < INF):
        raise InputError(f"true_class_weight must be a positive finite number, got {true_class_weight}")
    if not abs(big_m) < INF:
        raise InputError(f"true_class_target must be finite, got {true_class_target}")
    rows = _as_rows(logits, axis)
    parsed = _parse_target(target, rows, rows_nonnegative=False)
    xp, z = rows.xp, rows.z
    y = _softmax_parts(z, 1, xp)[0] if on == "probs" else z

    # Hui & Belkin's rescaling: the true class's term gets weight k and target M
    # (generalised to soft rows as weight 1 + (k - 1) t_i and target M t_i).
    if parsed.ids is not None:
        # class ids: e = sum_{i != y} y_i^2 + k (y_y - M)^2, read without building one-hot rows
        y_true = pick(y, parsed.ids, xp)
        others = xp.sum(y * y, axis=1) - y_true * y_true
        loss_rows = others + k * (y_true - big_m) ** 2
        if need_grad:
            target_column = parsed.is_target(rows)
            dloss_dy = xp.where(target_column, 2.0 * k * (y - big_m), 2.0 * y)
    else:
        t = parsed.rows
        element_weight = 1.0 + (k - 1.0) * t if k != 1.0 else None
        residual = y - (big_m * t if big_m != 1.0 else t)
        squared = residual * residual
        loss_rows = xp.sum(element_weight * squared if element_weight is not None else squared, axis=1)
        if need_grad:
            dloss_dy = 2.0 * (element_weight * residual if element_weight is not None else residual)

    grad_rows = None
    if need_grad:
        if on == "probs":
            # chain rule through softmax: J^T g with J = diag(p) - p p^T, i.e. p * (g - <g, p>).
            # Every factor carries a p: where p is near 0 or 1 the gradient vanishes, whatever g.
            grad_rows = y * (dloss_dy - xp.sum(dloss_dy * y, axis=1, keepdims=True))
        else:
            grad_rows = dloss_dy
    return _reduce(rows, loss_rows, grad_rows, reduction, None)


def mse(
    logits: Array,
    target: Array,
    *,
    on: Literal["probs", "logits"] = "probs",
    reduction: Reduction = "mean",
    axis: int = -1,
    true_class_weight: float = 1.0,
    true_class_target: float = 1.0,
) -> Array:
    """Squared error between outputs and target rows, summed over classes: ``e_n = sum_i (y_i - t_i)^2``.

    ``y = softmax(logits)`` for ``on="probs"`` (the lecture's MSE for classification) or the raw
    logits for ``on="logits"`` (the square loss of Hui & Belkin 2021). ``t`` is the one-hot row of
    an integer id, or any finite real row of the logits' shape.

    No 1/2 and no 1/K: ``reduction="mean"`` averages ``e_n`` over samples only.
    ``torch.nn.MSELoss()(softmax(z), t)`` averages over classes too, so it equals this / K.

    Args:
      true_class_weight: k in Hui & Belkin's rescaling: the true class's term is weighted by k.
      true_class_target: M: the true class's target value is M instead of 1.
        (For soft rows: element weight ``1 + (k - 1) t_i``, target ``M t_i``.)
    """
    return _mse(logits, target, on, reduction, axis, true_class_weight, true_class_target, need_grad=False)[0]


def mse_with_grad(
    logits: Array,
    target: Array,
    *,
    on: Literal["probs", "logits"] = "probs",
    reduction: Reduction = "mean",
    axis: int = -1,
    true_class_weight: float = 1.0,
    true_class_target: float = 1.0,
) -> tuple[Array, Array]:
    """``mse`` and its exact gradient w.r.t. the logits.

    On logits: ``2 (y - t)``. On probabilities: ``J^T 2 (p - t)`` where ``J = diag(p) - p p^T`` is
    the softmax Jacobian, i.e. ``p * (g - sum_j g_j p_j)`` with ``g = 2 (p - t)``. Every component
    is multiplied by a probability, so when softmax saturates (one p near 1, the rest near 0) the
    gradient goes to 0 even if the prediction is wrong: MSE's flat corner.
    """
    return _mse(logits, target, on, reduction, axis, true_class_weight, true_class_target, need_grad=True)


# ------------------------------------------------------------------------------------------------
# Binary cross-entropy with logits.
# ------------------------------------------------------------------------------------------------
def _broadcast_weight(value: Array | None, like: Array, xp: Any, name: str) -> Array | None:
    if value is None:
        return None
    array = xp.astype(asarray_like(value, like, xp), like.dtype)
    try:
        array = xp.broadcast_to(array, like.shape)
    except (ValueError, RuntimeError) as exc:
        raise InputError(f"{name} of shape {tuple(array.shape)} does not broadcast to logits of shape {tuple(like.shape)}") from exc
    bad = ~xp.isfinite(array) | (array < 0)
    if bool(xp.any(bad)):
        index = first_index(bad, xp)
        raise InputError(f"{name} must be finite and non-negative, got {float(array[index])} at index {format_index(index)}")
    return array


def _bce(logits, target, pos_weight, weight, reduction, need_grad):  # noqa: ANN001, ANN202
    _check_reduction(reduction)
    z, xp, out_dtype = as_float(logits)
    require_logits(z, xp)
    t = asarray_like(target, z, xp) if (not hasattr(target, "dtype") or xp.__name__ == "numpy") else target
    if tuple(t.shape) != tuple(z.shape):
        raise InputError(f"target of shape {tuple(t.shape)} does not match logits of shape {tuple(z.shape)}")
    t = xp.astype(t, z.dtype)
    bad = ~((t >= 0) & (t <= 1))
    if bool(xp.any(bad)):
        index = first_index(bad, xp)
        raise InputError(f"target must lie in [0, 1], got {float(t[index])} at index {format_index(index)}")
    pw = _broadcast_weight(pos_weight, z, xp, "pos_weight")
    w = _broadcast_weight(weight, z, xp, "weight")

    sig, log_sig = _sigmoid_parts(z, xp)
    _, log_sig_neg = _sigmoid_parts(-z, xp)  # log(1 - sigmoid(z)) = log sigmoid(-z), stable for large z
    zeros = xp.zeros_like(z)
    # where, not products: a -inf logit with t = 0 must give 0, not 0 * -inf = NaN
    positive = xp.where(t > 0, t * log_sig, zeros)
    negative = xp.where(t < 1, (1.0 - t) * log_sig_neg, zeros)
    loss = -((pw * positive if pw is not None else positive) + negative)
    if w is not None:
        loss = w * loss

    grad = None
    if need_grad:
        # d/dz: (1 - t) sigmoid(z) - pw t (1 - sigmoid(z)); with pw = 1 this is sigmoid(z) - t
        pull = t * (1.0 - sig)
        grad = (1.0 - t) * sig - (pw * pull if pw is not None else pull)
        if w is not None:
            grad = w * grad
    if reduction == "none":
        return xp.astype(loss, out_dtype), (xp.astype(grad, out_dtype) if grad is not None else None)
    count = 1
    for n in z.shape:
        count *= int(n)
    scale = 1.0 / count if (reduction == "mean" and count > 0) else (0.0 if reduction == "mean" else 1.0)
    total = xp.sum(loss) * scale
    return xp.astype(total, out_dtype), (xp.astype(grad * scale, out_dtype) if grad is not None else None)


def binary_cross_entropy(
    logits: Array,
    target: Array,
    *,
    pos_weight: Array | None = None,
    weight: Array | None = None,
    reduction: Reduction = "mean",
) -> Array:
    """Sigmoid cross-entropy from logits, elementwise (as ``torch.nn.functional.binary_cross_entropy_with_logits``).

    ``l = -w [pw t log sigmoid(z) + (1 - t) log sigmoid(-z)]`` for targets ``t`` in [0, 1]
    (soft targets allowed). Computed through log-sigmoid, never ``log(sigmoid(z))``, so large
    logits do not round to log 0.

    Args:
      logits: any shape.
      target: same shape as logits, values in [0, 1].
      pos_weight: weight of the positive term, broadcast along the last axis (e.g. one per class);
        ``n_negative / n_positive`` balances a skewed label.
      weight: elementwise rescaling, broadcastable to logits.
      reduction: "none", "sum", or "mean" over all elements (0 for an empty input).
    """
    return _bce(logits, target, pos_weight, weight, reduction, need_grad=False)[0]


def binary_cross_entropy_with_grad(
    logits: Array,
    target: Array,
    *,
    pos_weight: Array | None = None,
    weight: Array | None = None,
    reduction: Reduction = "mean",
) -> tuple[Array, Array]:
    """``binary_cross_entropy`` and its gradient w.r.t. the logits: ``w [(1 - t) sigmoid(z) - pw t (1 - sigmoid(z))]``."""
    return _bce(logits, target, pos_weight, weight, reduction, need_grad=True)


# ------------------------------------------------------------------------------------------------
# Registry: the losses the lab compares, by name.
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Loss:
    """A named softmax-output loss: ``value(logits, target, **kw)`` and ``with_grad(logits, target, **kw)``."""

    name: str
    description: str
    value: Callable[..., Array]
    with_grad: Callable[..., tuple[Array, Array]]


_REGISTRY: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("ce", "cross-entropy on softmax probabilities", cross_entropy, cross_entropy_with_grad),
        Loss("mse", "squared error on softmax probabilities (the lecture's MSE)",
             partial(mse, on="probs"), partial(mse_with_grad, on="probs")),
        Loss("mse-logits", "squared error on raw logits (Hui & Belkin 2021)",
             partial(mse, on="logits"), partial(mse_with_grad, on="logits")),
        Loss("ce-smooth", "cross-entropy with label smoothing 0.1",
             partial(cross_entropy, label_smoothing=0.1), partial(cross_entropy_with_grad, label_smoothing=0.1)),
    )
}

#: Names accepted by :func:`get_loss`, in display order.
LOSS_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def get_loss(name: str) -> Loss:
    """The registered loss called ``name`` (one of :data:`LOSS_NAMES`); keyword arguments can override its defaults."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown loss {name!r}; choose from {', '.join(LOSS_NAMES)}") from None
