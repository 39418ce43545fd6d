"""One validation layer for every cross-entropy path: the checks, their one message format, InputError.

API for callers (stable; the NumPy core, linear+CE, the torch front end and the kernels call these)::

    InputError(ValueError)                      bad input; the message names the argument and the bad value
    REDUCTIONS = ("none", "mean", "sum");  IMPLS = ("auto", "reference", "numba", "triton")
    error(name, requirement, got, *, where="", hint="") -> InputError
        the one message format: "<name> must be <requirement>, got <got>[ at index <i>][; <hint>]"
        (Described("dtype int32") as ``got``: a description of the bad value, shown unquoted)
    check_reduction(reduction) -> str
    check_label_smoothing(label_smoothing) -> float            a real number in [0, 1]
    check_ignore_index(ignore_index, *, allow_none=True) -> int | None
        an integer (Python or NumPy; bool refused; 1.5 refused, as torch does)
    check_impl(impl) -> str                                      one of IMPLS
    check_ce_options(*, reduction, label_smoothing, ignore_index, impl="auto") -> CEOptions
    refuse_masked(value, name)                                   numpy.ma arrays with a mask are refused
    check_class_ids(target, *, num_classes, ignore_index, xp, name="target") -> int64 array
        integer class ids in [0, K) or ignore_index; uint64 ids >= 2**63 are refused, never wrapped
    check_class_weight(weight, *, num_classes, xp, like, name="weight") -> array | None
        shape (K,), finite and non-negative (one policy on every path: negative weights are refused)
    check_probability_targets(target, *, ignore_index, xp, nonnegative=True, name="target")
        finite (and non-negative) entries; ignore_index must be None (refused as torch does)
    check_logits(logits, xp, *, name="logits")                   finite or -inf; NaN and +inf refused
    nonfinite_logits_error(row_values, row, *, name="logits") -> InputError
        the same refusal for a kernel that flagged ``row`` in its max pass (no extra pass over the logits)

Policies (README, "Where the frameworks disagree"; one test each in tests/test_policies.py):

* logits must be finite or -inf (a masked class). NaN and +inf have no softmax: every path refuses
  them with the same message (PyTorch returns NaN). The fused kernels detect them in the max pass
  they make anyway and report the row; the boundary raises.
* class weights must be finite and non-negative on every path (PyTorch accepts negative weights,
  whose "mean" can divide by zero or flip the sign of the loss).
* probability targets must be finite and non-negative; rows need not sum to 1 (the loss is linear
  in them, as in PyTorch). They take no ``ignore_index`` (zero a row instead).
* ``ignore_index`` is an integer or None; class ids are integers, checked before any cast.

Checks run once, at the public boundary, before any long computation; the first bad value is named
with its index. Everything here works on any array-API namespace ``xp`` and is cheap for NumPy.
For torch tensors pass ``xp = array_api_compat.array_namespace(tensor)`` (the raw ``torch`` module
is not an array-API namespace: its ``nonzero`` returns a tensor, not a tuple). A check that reads
values (``any``, ``nonzero``) syncs a CUDA device once; checks of scalars never do.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "IMPLS",
    "REDUCTIONS",
    "CEOptions",
    "Described",
    "InputError",
    "check_ce_options",
    "check_class_ids",
    "check_class_weight",
    "check_ignore_index",
    "check_impl",
    "check_label_smoothing",
    "check_logits",
    "check_probability_targets",
    "check_reduction",
    "error",
    "first_index",
    "format_index",
    "nonfinite_logits_error",
    "refuse_masked",
]

Array = Any

#: The reductions every loss accepts.
REDUCTIONS: tuple[str, ...] = ("none", "mean", "sum")
#: The backends a caller can ask for (``outlayer._dispatch`` decides what "auto" means).
IMPLS: tuple[str, ...] = ("auto", "reference", "numba", "triton")

_INT64_MAX = np.iinfo(np.int64).max


class InputError(ValueError):
    """Bad input to an outlayer function. The one-line message names the argument, what it must be,
    and the first bad value with its index. A ValueError, so ``except ValueError`` still catches it."""


def format_index(index: tuple[int, ...]) -> str:
    """``3`` for a 1-D index, ``(1, 2)`` otherwise."""
    return str(index[0]) if len(index) == 1 else str(tuple(int(i) for i in index))


class Described(str):
    """Text that describes a bad value (``"dtype int32"``) rather than being it: shown unquoted."""


def error(name: str, requirement: str, got: object, *, where: str = "", hint: str = "") -> InputError:
    """The one message format: ``<name> must be <requirement>, got <got>[ at index <where>][; <hint>]``.

    ``got`` is shown as a plain number, as is for :class:`Described` text, and with ``repr``
    otherwise (so a bad string shows its quotes: ``got 'avg'``).
    """
    if isinstance(got, Described) or (isinstance(got, (numbers.Number, np.generic)) and not isinstance(got, bool)):
        shown: object = got
    else:
        shown = repr(got)
    location = f" at index {where}" if where else ""
    extra = f"; {hint}" if hint else ""
    return InputError(f"{name} must be {requirement}, got {shown}{location}{extra}")


# ------------------------------------------------------------------------------------------------
# Scalar options.
# ------------------------------------------------------------------------------------------------
def check_reduction(reduction: object) -> str:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise error("reduction", "one of 'none', 'mean', 'sum'", reduction)
    return reduction


def check_label_smoothing(label_smoothing: object) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
        raise error("label_smoothing", "a number in [0, 1]", label_smoothing)
    value = float(label_smoothing)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise error("label_smoothing", "a number in [0, 1]", label_smoothing)
    return value


def check_ignore_index(ignore_index: object, *, allow_none: bool = True) -> int | None:
    """An integer (Python or NumPy), or None where allowed. ``1.5`` or ``True`` are refused, not truncated."""
    if ignore_index is None and allow_none:
        return None
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, numbers.Integral):
        raise error("ignore_index", "an integer" + (" or None" if allow_none else ""), ignore_index)
    return int(ignore_index)


def check_impl(impl: object) -> str:
    if not isinstance(impl, str) or impl not in IMPLS:
        raise error("impl", "one of 'auto', 'reference', 'numba', 'triton'", impl)
    return impl


@dataclass(frozen=True)
class CEOptions:
    """The checked scalar options of a cross-entropy call."""

    reduction: str
    label_smoothing: float
    ignore_index: int | None
    impl: str = "auto"


def check_ce_options(*, reduction: object, label_smoothing: object, ignore_index: object, impl: object = "auto") -> CEOptions:
    """Every scalar option of a cross-entropy call, checked in one place (before any array is touched)."""
    return CEOptions(
        reduction=check_reduction(reduction),
        label_smoothing=check_label_smoothing(label_smoothing),
        ignore_index=check_ignore_index(ignore_index),
        impl=check_impl(impl),
    )


# ------------------------------------------------------------------------------------------------
# Arrays.
# ------------------------------------------------------------------------------------------------
def refuse_masked(value: object, name: str) -> None:
    """A NumPy masked array would lose its mask in ``np.asarray``: refuse one that masks anything."""
    if isinstance(value, np.ma.MaskedArray) and np.ma.is_masked(value):
        raise error(
            name,
            "a plain array (a numpy.ma mask would be ignored)",
            Described(f"a masked array with {int(np.ma.count_masked(value))} masked entries"),
            hint="fill it first, e.g. logits.filled(-np.inf) for masked classes or ids with ignore_index",
        )


def first_index(mask: Array, xp: Any) -> tuple[int, ...]:
    """Index of the first True entry of ``mask`` (which must have one), in C order."""
    if mask.ndim == 0:
        return ()
    return tuple(int(p[0]) for p in xp.nonzero(mask))  # C order in NumPy, torch and array-api-strict


def _scalar(x: Array, index: tuple[int, ...]) -> Any:
    value = x[index] if index else x
    try:
        return value.item()
    except AttributeError:
        return value


def _is_numpy(xp: Any) -> bool:
    return xp is np or getattr(xp, "__name__", "") == "numpy"


def check_class_ids(target: Array, *, num_classes: int, ignore_index: int | None, xp: Any, name: str = "target") -> Array:
    """``target`` (any shape, an integer dtype) as int64, every entry in [0, K) or ``ignore_index``.

    uint64 values beyond int64 are refused before the cast (they would wrap to negative ids).
    """
    dtype = target.dtype
    if _is_numpy(xp):
        kind = np.dtype(dtype).kind
        unsigned64 = kind == "u" and np.dtype(dtype).itemsize == 8
    else:
        unsigned64 = "uint64" in str(dtype)
    if unsigned64:
        huge = target > _INT64_MAX
        if bool(xp.any(huge)):
            index = first_index(huge, xp)
            raise error(name, f"class ids in [0, {num_classes})", int(_scalar(target, index)), where=format_index(index) if index else "")
    ids = xp.astype(target, xp.int64)
    bad = (ids < 0) | (ids >= num_classes)
    if ignore_index is not None:
        bad = bad & (ids != ignore_index)
    if bool(xp.any(bad)):
        index = first_index(bad, xp)
        allowed = f"class ids in [0, {num_classes})" + (f" or ignore_index={ignore_index}" if ignore_index is not None else "")
        raise error(name, allowed, int(_scalar(ids, index)), where=format_index(index) if index else "")
    return ids


def _as_array_like(value: object, xp: Any, like: Array) -> Array:
    """``value`` as an array of namespace ``xp`` on ``like``'s device (NumPy: ``np.asarray``)."""
    if _is_numpy(xp):
        return np.asarray(value)
    import array_api_compat  # only non-NumPy callers get here

    return xp.asarray(value, device=array_api_compat.device(like))


def _is_real_dtype(dtype: Any, xp: Any) -> bool:
    if _is_numpy(xp):
        return np.dtype(dtype).kind in "fiu"
    return bool(xp.isdtype(dtype, ("real floating", "integral")))


def check_class_weight(weight: Array | None, *, num_classes: int, xp: Any, like: Array, name: str = "weight") -> Array | None:
    """Class weights in ``like``'s dtype and on its device: shape (K,), real, finite, non-negative.

    Negative weights are refused on every path (PyTorch accepts them; README policy table).
    """
    if weight is None:
        return None
    refuse_masked(weight, name)
    w = _as_array_like(weight, xp, like)
    shape = tuple(int(n) for n in w.shape)
    if shape != (num_classes,):
        raise error(name, f"of shape ({num_classes},), one weight per class", Described(f"shape {shape}"))
    if not _is_real_dtype(w.dtype, xp):
        raise error(name, "real numbers", Described(f"dtype {w.dtype}"))
    w = xp.astype(w, like.dtype)
    bad = ~xp.isfinite(w) | (w < 0)
    if bool(xp.any(bad)):
        index = first_index(bad, xp)
        raise error(name, "finite and non-negative", float(_scalar(w, index)), where=format_index(index))
    return w


def check_probability_targets(
    target: Array, *, ignore_index: int | None, xp: Any, nonnegative: bool = True, name: str = "target"
) -> None:
    """Probability rows: finite (and non-negative) entries; no ``ignore_index`` (torch refuses it too).

    torch refuses only a non-negative ``ignore_index`` with probability targets (no probability row
    can hold a negative class); a torch front end passes None for a negative one, e.g. its -100 default.
    """
    if ignore_index is not None:
        raise error(
            "ignore_index",
            "None with probability targets (it applies to class ids)",
            ignore_index,
            hint="zero a row's probabilities to leave it out",
        )
    bad = ~xp.isfinite(target) | (target < 0) if nonnegative else ~xp.isfinite(target)
    if bool(xp.any(bad)):
        index = first_index(bad, xp)
        kind = "finite and non-negative" if nonnegative else "finite"
        raise error(f"{name} probabilities" if nonnegative else name, kind, float(_scalar(target, index)), where=format_index(index))


def check_logits(logits: Array, xp: Any, *, name: str = "logits") -> None:
    """Logits are finite or -inf (a class that cannot occur); NaN and +inf have no softmax."""
    bad = xp.isnan(logits) | (logits == float("inf"))
    if bool(xp.any(bad)):
        index = first_index(bad, xp)
        raise error(name, "finite or -inf", float(_scalar(logits, index)), where=format_index(index))


def nonfinite_logits_error(row_values: Array, row: int, *, name: str = "logits") -> InputError:
    """The :func:`check_logits` refusal for row ``row`` of (N, V) logits that a kernel flagged.

    ``row_values`` is that row (any array with ``__array__``, float or bfloat16 widened by the
    caller); only this one row is searched, so the error costs O(V), not a pass over the logits.
    """
    values = np.asarray(row_values, dtype=np.float64).reshape(-1)
    bad = np.flatnonzero(np.isnan(values) | (values == np.inf))
    column = int(bad[0]) if bad.size else 0
    value = float(values[column]) if values.size else float("nan")
    return error(name, "finite or -inf", value, where=format_index((row, column)))
