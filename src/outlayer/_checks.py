"""Argument checks shared by the labs' settings and functions: one line naming the bad value.

Each returns the value normalised (an int, a float, a tuple) or raises ``ValueError`` whose
message names the argument and repeats the value given, so a bad input fails before any work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["choice", "integer", "limits", "names", "point", "positive", "probability", "rates", "real"]


def integer(name: str, value: Any, *, low: int) -> int:
    """An integer >= ``low``; an integral float (3.0) is accepted, a bool is not."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    if not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def real(name: str, value: Any, *, low: float = -math.inf, high: float = math.inf, low_open: bool = False,
         high_open: bool = False, what: str = "a finite number") -> float:
    """A finite float inside the given bounds (open or closed at each end)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {what}, got {value!r}") from None
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return number


def positive(name: str, value: Any) -> float:
    return real(name, value, low=0.0, low_open=True, what="a positive finite number")


def probability(name: str, value: Any) -> float:
    """A probability strictly between 0 and 1."""
    return real(name, value, low=0.0, high=1.0, low_open=True, high_open=True, what="a probability in (0, 1)")


def choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
    return str(value)


def names(name: str, item: str, values: Any, allowed: Iterable[str]) -> tuple[str, ...]:
    """One name or several, as a tuple without repeats, each one of ``allowed``."""
    allowed = tuple(allowed)
    try:
        chosen = (values,) if isinstance(values, str) else tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be names from {', '.join(allowed)}, got {values!r}") from None
    if not chosen:
        raise ValueError(f"{name} must name at least one of {', '.join(allowed)}, got none")
    for value in chosen:
        if value not in allowed:
            raise ValueError(f"unknown {item} {value!r} in {name}; choose from {', '.join(allowed)}")
    return tuple(dict.fromkeys(chosen))


def rates(name: str, values: Iterable[Any]) -> tuple[float, ...]:
    """A non-empty list of positive numbers (learning rates)."""
    try:
        out = tuple(positive(name, v) for v in values)
    except TypeError:
        raise ValueError(f"{name} must be a list of positive numbers, got {values!r}") from None
    if not out:
        raise ValueError(f"{name} must hold at least one learning rate, got none")
    return out


def limits(value: Any) -> tuple[float, float]:
    """Two finite numbers lo < hi."""
    try:
        lo, hi = (float(x) for x in value)
    except (TypeError, ValueError):
        raise ValueError(f"limits must be two numbers lo < hi, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"limits must be two finite numbers lo < hi, got {value!r}")
    return lo, hi


def point(name: str, value: Any) -> tuple[float, float]:
    """Two finite numbers (u, v)."""
    try:
        u, v = (float(x) for x in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be two numbers (u, v), got {value!r}") from None
    if not (math.isfinite(u) and math.isfinite(v)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return u, v
