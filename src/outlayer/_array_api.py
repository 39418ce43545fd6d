"""The array-library layer: which namespace an input belongs to, and the checks every function shares.

NumPy arrays, Python scalars and lists are handled by NumPy itself (NumPy >= 2 implements the
array API standard in its main namespace), so ``import outlayer`` needs NumPy only. Anything else
(torch, JAX, CuPy, array-api-strict) goes through ``array_api_compat``, imported on first use, and
the computation then happens in that library, on that device, differentiable by its autograd.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from outlayer._validate import Described, check_logits, error, first_index, format_index, refuse_masked

__all__ = [
    "isdtype",
    "pick",
    "array_namespace",
    "as_float",
    "as_ints",
    "compute_dtype",
    "first_index",
    "format_index",
    "require_logits",
]

Array = Any
_PYTHON_OR_NUMPY = (int, float, bool, complex, list, tuple, np.ndarray, np.generic)


def array_namespace(*arrays: object) -> ModuleType:
    """The namespace to compute in: NumPy for NumPy/Python input, else array-api-compat's wrapper."""
    foreign = [a for a in arrays if a is not None and not isinstance(a, _PYTHON_OR_NUMPY)]
    if not foreign:
        return np
    try:
        import array_api_compat  # lazy: only non-NumPy callers pay for it
    except ImportError as exc:  # a base dependency: only a broken installation gets here
        kind = type(foreign[0]).__module__.split(".")[0]
        raise ImportError(
            f"outlayer needs array-api-compat to compute on {kind} arrays (a dependency of outlayer: pip install array-api-compat)"
        ) from exc

    return array_api_compat.array_namespace(*foreign)


_KINDS = {"bool": "b", "integral": "iu", "real floating": "f", "complex floating": "c"}


def isdtype(dtype: Any, kind: str, xp: ModuleType) -> bool:
    """``xp.isdtype``, with a fast path for NumPy, whose own costs microseconds per call."""
    if xp is np:
        return np.dtype(dtype).kind in _KINDS[kind]
    return bool(xp.isdtype(dtype, kind))


def pick(x: Array, ids: Array, xp: ModuleType) -> Array:
    """``x[n, ids[n]]`` for each row n of an (M, K) array: one entry per row."""
    if xp is np:
        return x[np.arange(x.shape[0]), ids]
    return xp.take_along_axis(x, ids[:, None], axis=1)[:, 0]


def stop_gradient(x: Array, xp: ModuleType) -> Array:
    """``x`` as a constant for the array library's autograd (torch: ``detach``; JAX: ``stop_gradient``).

    For a value the result provably does not depend on, such as a max-shift, so that autograd
    does not differentiate through it (the terms it would add cancel, in rounding error).
    """
    if xp is np:
        return x
    detach = getattr(x, "detach", None)
    if callable(detach):  # torch
        return detach()
    if type(x).__module__.split(".")[0] in ("jax", "jaxlib"):
        import jax

        return jax.lax.stop_gradient(x)
    return x


def device_of(x: Array, xp: ModuleType) -> Any:
    if xp is np:
        return None
    import array_api_compat

    return array_api_compat.device(x)


def asarray_like(value: object, like: Array, xp: ModuleType, dtype: Any = None) -> Array:
    """``value`` as an array of ``xp`` on the same device as ``like``."""
    if xp is np:
        return np.asarray(value, dtype=dtype)
    return xp.asarray(value, dtype=dtype, device=device_of(like, xp))


def compute_dtype(dtype: Any, xp: ModuleType) -> Any:
    """float16 and bfloat16 are computed in float32: their 8- or 11-bit mantissas lose the softmax."""
    return xp.float32 if xp.finfo(dtype).bits < 32 else dtype


def default_float(xp: ModuleType) -> Any:
    return xp.asarray(0.0).dtype


def _scalar(x: Array) -> float:
    return float(x) if x.ndim == 0 else float(x[()])


def as_float(x: Any, xp: ModuleType | None = None, *, name: str = "logits") -> tuple[Array, ModuleType, Any]:
    """``x`` as a real floating array in its compute dtype; returns (array, namespace, dtype to return).

    Integer input is promoted to the library's default float; complex and boolean input is refused.
    """
    refuse_masked(x, name)
    xp = array_namespace(x) if xp is None else xp
    if not hasattr(x, "dtype") or xp is np:
        x = np.asarray(x) if xp is np else xp.asarray(x)
    if xp is np and x.dtype.kind not in "biuf":
        # strings, dates, durations and objects would be cast to numbers silently ("2" -> 2.0, a date -> its day count)
        raise error(name, "real numbers", Described(f"dtype {x.dtype}"))
    if isdtype(x.dtype, "bool", xp) or isdtype(x.dtype, "complex floating", xp):
        raise error(name, "real numbers", Described(f"dtype {x.dtype}"))
    if not isdtype(x.dtype, "real floating", xp):
        x = xp.astype(x, default_float(xp))
    out_dtype = x.dtype
    work = compute_dtype(out_dtype, xp)
    if work != out_dtype:
        x = xp.astype(x, work)
    return x, xp, out_dtype


#: Logits are finite or -inf (a masked class); NaN and +inf are refused (the one policy of every path).
require_logits = check_logits


def as_ints(labels: Any, xp: ModuleType, *, name: str = "labels") -> Array:
    """Integer class ids as int64; float arrays holding whole numbers are accepted, 1.5 or NaN are not.

    uint64 values beyond int64 are refused (a cast would wrap them to negative ids).
    """
    refuse_masked(labels, name)
    if xp is np:
        labels = np.asarray(labels)
    elif not hasattr(labels, "dtype"):
        labels = xp.asarray(labels)
    if isdtype(labels.dtype, "bool", xp):
        raise error(name, "integers", Described("booleans"))
    if isdtype(labels.dtype, "integral", xp):
        if xp is np and labels.dtype == np.uint64 and labels.size and int(labels.max()) > np.iinfo(np.int64).max:
            index = first_index(labels > np.iinfo(np.int64).max, xp)
            raise error(name, "integers below 2**63", int(labels[index]), where=format_index(index) if index else "")
        return xp.astype(labels, xp.int64)
    if not isdtype(labels.dtype, "real floating", xp):
        raise error(name, "integers", Described(f"dtype {labels.dtype}"))
    whole = xp.isfinite(labels) & (labels == xp.round(labels))
    if not bool(xp.all(whole)):
        index = first_index(~whole, xp)
        raise error(name, "integers", _scalar(labels[index]), where=format_index(index) if index else "")
    return xp.astype(labels, xp.int64)


def check_temperature(temperature: float) -> float:
    temperature = float(temperature)
    if not (temperature > 0.0 and np.isfinite(temperature)):
        raise error("temperature", "a positive finite number", temperature)
    return temperature


def normalize_axis(axis: int, ndim: int, *, name: str = "axis") -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise error(name, "an integer", axis)
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise error(name, f"in [{-max(ndim, 1)}, {max(ndim, 1)}) for an array with {ndim} dimension(s)", axis)
    return int(axis) % max(ndim, 1)
