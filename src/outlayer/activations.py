"""Output functions: the softmax family and the sigmoid.

Conventions shared by every function here:

* ``axis=-1`` is the class axis (as in JAX, Keras and PyTorch's usual layout; SciPy's default
  ``axis=None`` normalises over the whole array instead).
* ``temperature`` T divides the logits first: ``softmax(x, temperature=T) = softmax(x / T)``.
  T > 1 flattens the distribution, T < 1 sharpens it.
* ``where`` is a boolean mask broadcastable to ``x``; masked entries (False) behave as a logit of
  -inf: probability 0, log-probability -inf. A row with every entry masked has probabilities 0
  (not NaN), log-probabilities -inf and a log-sum-exp of -inf.
* Logits must be finite or -inf. NaN and +inf raise ``ValueError`` naming the position.
* float16 and bfloat16 are computed in float32 and returned in the input dtype.
"""

from __future__ import annotations

from typing import Any

from outlayer._array_api import (
    as_float,
    asarray_like,
    check_temperature,
    device_of,
    isdtype,
    normalize_axis,
    require_logits,
)
from outlayer._validate import InputError

__all__ = ["log_sigmoid", "log_softmax", "logsumexp", "sigmoid", "softmax"]

Array = Any
NEG_INF = float("-inf")


def _prepare(x: Array, temperature: float, where: Array | None) -> tuple[Array, Any, Any]:
    """Validated logits divided by T, masked entries set to -inf, in the compute dtype."""
    z, xp, out_dtype = as_float(x)
    require_logits(z, xp)
    temperature = check_temperature(temperature)
    if temperature != 1.0:
        z = z / temperature
    if where is not None:
        mask = asarray_like(where, z, xp)
        if not isdtype(mask.dtype, "bool", xp):
            raise InputError(f"where must be a boolean mask, got dtype {mask.dtype}")
        try:
            mask = xp.broadcast_to(mask, z.shape)
        except (ValueError, RuntimeError) as exc:
            raise InputError(f"where of shape {tuple(mask.shape)} does not broadcast to {tuple(z.shape)}") from exc
        z = xp.where(mask, z, NEG_INF)
    return z, xp, out_dtype


def _shifted_exp(z: Array, axis: int, xp: Any) -> tuple[Array, Array, Array, Array]:
    """(max, exp(z - max), sum of exp, log of that sum) along ``axis`` with keepdims.

    Subtracting the row max makes the largest exponent exp(0) = 1, so nothing overflows; a row
    that is all -inf has max -inf, and we shift it by 0 instead so exp gives 0, not NaN.
    The log of the sum is ``log1p`` of the terms other than the max: when one class dominates,
    ``log(1 + tiny)`` would round the tiny part away and with it the loss's relative precision.
    An empty sum (all -inf, or no classes) has log 0 here; callers map it to -inf or 0.
    """
    if z.shape[axis] == 0:  # no classes: an empty sum (0), whose log is -inf; max has no identity
        kept = tuple(1 if i == axis else n for i, n in enumerate(z.shape))
        zeros = xp.zeros(kept, dtype=z.dtype, **_device_kw(z, xp))
        return zeros, z, zeros, zeros
    m = xp.max(z, axis=axis, keepdims=True)
    has_finite = xp.isfinite(m)
    at_max = z == m  # exp(0) = 1 exactly at every entry equal to the max (ties included)
    m = xp.where(has_finite, m, 0.0)
    e = xp.exp(z - m)
    n_max = xp.astype(xp.sum(xp.astype(at_max, z.dtype), axis=axis, keepdims=True), z.dtype)
    others = xp.sum(xp.where(at_max, 0.0, e), axis=axis, keepdims=True)
    rest = others + (n_max - 1.0)  # the sum minus one max term, without forming 1 + tiny
    s = xp.where(has_finite, n_max + others, 0.0)
    log_s = xp.where(has_finite, xp.log1p(rest), 0.0)
    return m, e, s, log_s


def _device_kw(z: Array, xp: Any) -> dict[str, Any]:
    return {} if xp.__name__ == "numpy" else {"device": device_of(z, xp)}


def _softmax_parts(z: Array, axis: int, xp: Any) -> tuple[Array, Array]:
    """(probabilities, log-probabilities) of already prepared logits ``z``; the core's one softmax."""
    m, e, s, log_s = _shifted_exp(z, axis, xp)
    safe_s = xp.where(s > 0, s, 1.0)  # empty rows: 0/1 = 0 and log-probabilities -inf
    return e / safe_s, z - m - log_s


def softmax(x: Array, axis: int = -1, *, temperature: float = 1.0, where: Array | None = None) -> Array:
    """Softmax along ``axis``: ``p_i = exp(x_i / T) / sum_j exp(x_j / T)``.

    Args:
      x: logits, any shape.
      axis: the class axis.
      temperature: T > 0.
      where: optional boolean mask broadcastable to ``x``; masked entries get probability 0.

    Returns:
      Probabilities of ``x``'s shape, summing to 1 along ``axis`` (0 for a fully masked row).
    """
    z, xp, out_dtype = _prepare(x, temperature, where)
    axis = normalize_axis(axis, z.ndim)
    probs, _ = _softmax_parts(z, axis, xp)
    return xp.astype(probs, out_dtype)


def log_softmax(x: Array, axis: int = -1, *, temperature: float = 1.0, where: Array | None = None) -> Array:
    """Log-softmax along ``axis``: ``x_i / T - logsumexp(x / T)``, computed without forming softmax.

    ``log(softmax(x))`` would round tiny probabilities to 0 and return -inf (e.g. for [1000, 1]);
    the shifted form returns [0, -999] exactly. Masked entries get -inf.
    """
    z, xp, out_dtype = _prepare(x, temperature, where)
    axis = normalize_axis(axis, z.ndim)
    _, log_probs = _softmax_parts(z, axis, xp)
    return xp.astype(log_probs, out_dtype)


def logsumexp(
    x: Array,
    axis: int = -1,
    *,
    temperature: float = 1.0,
    where: Array | None = None,
    keepdims: bool = False,
) -> Array:
    """``log sum_i exp(x_i / T)`` along ``axis``: the log normaliser of ``softmax(x, temperature=T)``.

    A fully masked (or empty) row gives -inf, the log of an empty sum.
    """
    z, xp, out_dtype = _prepare(x, temperature, where)
    axis = normalize_axis(axis, z.ndim)
    m, _, s, log_s = _shifted_exp(z, axis, xp)
    lse = xp.where(s > 0, m + log_s, NEG_INF)
    if not keepdims:
        lse = xp.squeeze(lse, axis=axis)
    return xp.astype(lse, out_dtype)


def _sigmoid_parts(z: Array, xp: Any, *, with_log: bool = True) -> tuple[Array, Array | None]:
    """(sigmoid(z), log_sigmoid(z) or None) through exp(-|z|), which never overflows."""
    e = xp.exp(-xp.abs(z))
    sig = xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    log_sig = xp.minimum(z, 0.0) - xp.log1p(e) if with_log else None
    return sig, log_sig


def sigmoid(x: Array, *, temperature: float = 1.0, where: Array | None = None) -> Array:
    """Logistic sigmoid ``1 / (1 + exp(-x / T))``, elementwise; masked entries give 0.

    With two classes softmax reduces to it: ``sigmoid(x) == softmax([x, 0])[0]``, because
    ``e^x / (e^x + e^0) = 1 / (1 + e^-x)``.
    """
    z, xp, out_dtype = _prepare(x, temperature, where)
    sig, _ = _sigmoid_parts(z, xp, with_log=False)
    return xp.astype(sig, out_dtype)


def log_sigmoid(x: Array, *, temperature: float = 1.0, where: Array | None = None) -> Array:
    """``log sigmoid(x / T) = min(z, 0) - log1p(exp(-|z|))``, elementwise; masked entries give -inf."""
    z, xp, out_dtype = _prepare(x, temperature, where)
    _, log_sig = _sigmoid_parts(z, xp)
    return xp.astype(log_sig, out_dtype)
