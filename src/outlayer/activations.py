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
* A 0-d input is a single class: softmax 1, log-softmax 0, logsumexp ``x / T`` (as PyTorch and SciPy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from outlayer._array_api import (
    as_float,
    asarray_like,
    check_temperature,
    device_of,
    isdtype,
    normalize_axis,
    require_logits,
    stop_gradient,
)
from outlayer._validate import InputError

__all__ = ["log_sigmoid", "log_softmax", "logsumexp", "sigmoid", "softmax"]

Array = Any
NEG_INF = float("-inf")


def _prepare(x: Array, where: Array | None) -> tuple[Array, Any, Any]:
    """Validated logits with masked entries set to -inf, in the compute dtype (the temperature is
    applied after the max shift: ``x / T`` itself may overflow, e.g. 1e308 / 0.5)."""
    z, xp, out_dtype = as_float(x)
    require_logits(z, xp)
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


def _shifted_exp(z: Array, axis: int, xp: Any, temperature: float = 1.0) -> tuple[Array, Array, Array, Array, Array]:
    """(max m, exp(u), sum of exp(u), log of that sum, u) along ``axis`` with keepdims, where
    ``u = (z - m) / T`` are the shifted, tempered logits.

    * Subtracting the row max makes the largest exponent exp(0) = 1, so nothing overflows; a row
      that is all -inf has max -inf, and we shift it by 0 instead so exp gives 0, not NaN.
    * The temperature divides after the shift, so ``u <= 0`` never overflows however small T is.
    * The max is a constant for autograd (torch's ``detach``): the result does not depend on the
      shift, and differentiating through it would add and cancel terms of size K (a float32
      log-softmax gradient off by ~K * 6e-8 at K = 30k classes).
    * The log of the sum is ``log1p`` of the terms other than the max: when one class dominates,
      ``log(1 + tiny)`` would round the tiny part away and with it the loss's relative precision.
      The max's own term enters as ``exp(u) - 1`` (exactly 0, but with the right derivative).
    * An empty sum (all -inf, or no classes) has log 0 here; callers map it to -inf or 0. With no
      classes the same differentiable operations run on the empty arrays, so every order of
      derivative exists (torch's autograd needs a graph even for an empty gradient).
    """
    if z.shape[axis] == 0:  # no classes: an empty sum (0), whose log is -inf; max has no identity
        kept = tuple(1 if i == axis else n for i, n in enumerate(z.shape))
        zeros = xp.zeros(kept, dtype=z.dtype, **_device_kw(z, xp))
        u = z / temperature if temperature != 1.0 else z
        e = xp.exp(u)
        s = xp.sum(e, axis=axis, keepdims=True)
        return zeros, e, s, xp.log1p(s), u
    m = stop_gradient(xp.max(z, axis=axis, keepdims=True), xp)
    has_finite = xp.isfinite(m)
    at_max = z == m  # exp(0) = 1 exactly at every entry equal to the max (ties included)
    m = xp.where(has_finite, m, 0.0)
    u = z - m
    if temperature != 1.0:
        with np.errstate(over="ignore"):  # (z - m) / T below the dtype's range is -inf: exp gives 0, right
            u = u / temperature
    e = xp.exp(u)
    n_max = xp.astype(xp.sum(xp.astype(at_max, z.dtype), axis=axis, keepdims=True), z.dtype)
    rest = xp.sum(xp.where(at_max, e - 1.0, e), axis=axis, keepdims=True) + (n_max - 1.0)  # sum - 1
    s = xp.where(has_finite, 1.0 + rest, 0.0)
    log_s = xp.where(has_finite, xp.log1p(xp.where(has_finite, rest, 0.0)), 0.0)  # no log1p(-1) for empty rows
    return m, e, s, log_s, u


def _device_kw(z: Array, xp: Any) -> dict[str, Any]:
    return {} if xp.__name__ == "numpy" else {"device": device_of(z, xp)}


def _softmax_parts(z: Array, axis: int, xp: Any, temperature: float = 1.0) -> tuple[Array, Array]:
    """(probabilities, log-probabilities) of already prepared logits ``z``; the core's one softmax."""
    _, e, s, log_s, u = _shifted_exp(z, axis, xp, temperature)
    safe_s = xp.where(s > 0, s, 1.0)  # empty rows: 0/1 = 0 and log-probabilities -inf
    return e / safe_s, u - log_s


def _with_class_axis(z: Array, axis: int, xp: Any) -> tuple[Array, int]:
    """A 0-d input is one class (softmax 1, log-softmax 0, logsumexp x / T, as in PyTorch and SciPy)."""
    if z.ndim == 0:
        normalize_axis(axis, 0)
        return xp.reshape(z, (1,)), 0
    return z, normalize_axis(axis, z.ndim)


def softmax(x: Array, axis: int = -1, *, temperature: float = 1.0, where: Array | None = None) -> Array:
    """Softmax along ``axis``: ``p_i = exp(x_i / T) / sum_j exp(x_j / T)``.

    Args:
      x: logits, any shape (a 0-d input is a single class: 1.0).
      axis: the class axis.
      temperature: T > 0.
      where: optional boolean mask broadcastable to ``x``; masked entries get probability 0.

    Returns:
      Probabilities of ``x``'s shape, summing to 1 along ``axis`` (0 for a fully masked row).
    """
    temperature = check_temperature(temperature)
    z, xp, out_dtype = _prepare(x, where)
    shape = z.shape
    z, axis = _with_class_axis(z, axis, xp)
    probs, _ = _softmax_parts(z, axis, xp, temperature)
    return xp.astype(xp.reshape(probs, shape), out_dtype)


def log_softmax(x: Array, axis: int = -1, *, temperature: float = 1.0, where: Array | None = None) -> Array:
    """Log-softmax along ``axis``: ``x_i / T - logsumexp(x / T)``, computed without forming softmax.

    ``log(softmax(x))`` would round tiny probabilities to 0 and return -inf (e.g. for [1000, 1]);
    the shifted form returns [0, -999] exactly. Masked entries get -inf; a 0-d input gives 0.
    """
    temperature = check_temperature(temperature)
    z, xp, out_dtype = _prepare(x, where)
    shape = z.shape
    z, axis = _with_class_axis(z, axis, xp)
    _, log_probs = _softmax_parts(z, axis, xp, temperature)
    return xp.astype(xp.reshape(log_probs, shape), out_dtype)


def logsumexp(
    x: Array,
    axis: int = -1,
    *,
    temperature: float = 1.0,
    where: Array | None = None,
    keepdims: bool = False,
) -> Array:
    """``log sum_i exp(x_i / T)`` along ``axis``: the log normaliser of ``softmax(x, temperature=T)``.

    A fully masked (or empty) row gives -inf, the log of an empty sum; a 0-d input gives ``x / T``.
    The result is ``m / T + log sum exp((x - m) / T)``: it overflows to inf only where the true value
    exceeds the dtype's range.
    """
    temperature = check_temperature(temperature)
    z, xp, out_dtype = _prepare(x, where)
    zero_d = z.ndim == 0
    z, axis = _with_class_axis(z, axis, xp)
    m, _, s, log_s, _ = _shifted_exp(z, axis, xp, temperature)
    with np.errstate(over="ignore"):  # m / T beyond the dtype's range is inf, the right answer
        top = m / temperature if temperature != 1.0 else m
        lse = xp.where(s > 0, top + log_s, NEG_INF)
    if zero_d:
        lse = xp.reshape(lse, ())
    elif not keepdims:
        lse = xp.squeeze(lse, axis=axis)
    return xp.astype(lse, out_dtype)


def _sigmoid_parts(z: Array, xp: Any, *, with_log: bool = True) -> tuple[Array, Array | None]:
    """(sigmoid(z), log_sigmoid(z) or None) through exp(-|z|), which never overflows."""
    e = xp.exp(-xp.abs(z))
    sig = xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    log_sig = xp.minimum(z, 0.0) - xp.log1p(e) if with_log else None
    return sig, log_sig


def _tempered(z: Array, temperature: float) -> Array:
    """``z / T`` for the elementwise functions; an overflow to +-inf is their right limit (0 or 1)."""
    temperature = check_temperature(temperature)
    if temperature == 1.0:
        return z
    with np.errstate(over="ignore"):
        return z / temperature


def sigmoid(x: Array, *, temperature: float = 1.0, where: Array | None = None) -> Array:
    """Logistic sigmoid ``1 / (1 + exp(-x / T))``, elementwise; masked entries give 0.

    With two classes softmax reduces to it: ``sigmoid(x) == softmax([x, 0])[0]``, because
    ``e^x / (e^x + e^0) = 1 / (1 + e^-x)``.
    """
    z, xp, out_dtype = _prepare(x, where)
    z = _tempered(z, temperature)
    sig, _ = _sigmoid_parts(z, xp, with_log=False)
    return xp.astype(sig, out_dtype)


def log_sigmoid(x: Array, *, temperature: float = 1.0, where: Array | None = None) -> Array:
    """``log sigmoid(x / T) = min(z, 0) - log1p(exp(-|z|))``, elementwise; masked entries give -inf."""
    z, xp, out_dtype = _prepare(x, where)
    z = _tempered(z, temperature)
    _, log_sig = _sigmoid_parts(z, xp)
    return xp.astype(log_sig, out_dtype)
