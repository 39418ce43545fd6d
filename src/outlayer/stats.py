"""Statistics of the lab: Student-t intervals, paired differences, the bootstrap, binomial errors.

Pure NumPy and the standard library (no SciPy at run time; the tests check every function
against ``scipy.stats``). Every function takes plain sequences, skips missing values (``None``,
NaN, +-inf: a diverged run has no number) and says how many values it used (``n``), so a
statistic never silently rests on fewer runs than it seems to.

* :func:`student_t_quantile` inverts the exact Student-t CDF.
* :func:`mean_ci95`: mean -/+ t(0.975, n-1) s / sqrt(n), optionally clipped to a range.
* :func:`bootstrap_ci95`: percentile bootstrap of the mean, a fixed generator seed, so the same
  values always give the same interval.
* :func:`paired_difference`: per-seed differences a_s - b_s of two losses trained from the same
  start, with their t and bootstrap intervals. Pairing removes what the two runs of a seed share
  (initial weights, batch order, data split); the interval on the difference is then narrower
  than what two unpaired intervals suggest whenever the runs of a seed are positively correlated.
* :func:`binomial_se`: the standard error sqrt(p (1 - p) / n) of an accuracy measured on n test
  samples: the uncertainty that a single finite test set adds, whatever the seeds do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "binomial_se",
    "bootstrap_ci95",
    "finite_values",
    "mean_ci95",
    "paired_difference",
    "student_t_quantile",
]

#: Resamples of :func:`bootstrap_ci95`: the percentile interval's Monte-Carlo error is then well
#: under 1 % of its width for the n <= 50 values of a lab run.
BOOTSTRAP_RESAMPLES = 10_000
#: Seed of the bootstrap's generator: the same values give the same interval, bit for bit.
BOOTSTRAP_SEED = 0


def finite_values(values: Sequence[float | None]) -> np.ndarray:
    """The finite entries of ``values`` as float64 (``None``, NaN and +-inf dropped)."""
    kept = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return np.array(kept, dtype=np.float64)


def _t_central_probability(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with integer ``df`` degrees of freedom (t >= 0).

    Closed forms (Abramowitz & Stegun 26.7.3-4) with theta = atan(t / sqrt(df)), c = cos^2 theta:
    odd df:  (2/pi) (theta + sin theta cos theta (1 + 2/3 c + 2*4/(3*5) c^2 + ... [(df-3)/2 terms]))
    even df: sin theta (1 + 1/2 c + 1*3/(2*4) c^2 + ... [(df-2)/2 terms]).
    """
    theta = math.atan(t / math.sqrt(df))
    c = math.cos(theta) ** 2
    if df % 2:
        total, term = 1.0, 1.0
        for j in range(1, (df - 1) // 2):
            term *= c * (2 * j) / (2 * j + 1)
            total += term
        inner = theta + (math.sin(theta) * math.cos(theta) * total if df > 1 else 0.0)
        return 2.0 / math.pi * inner
    total, term = 1.0, 1.0
    for j in range(1, df // 2):
        term *= c * (2 * j - 1) / (2 * j)
        total += term
    return math.sin(theta) * total


def student_t_quantile(q: float, df: int) -> float:
    """The q-quantile of Student's t with integer ``df >= 1``: the t with P(T <= t) = q.

    Inverts the exact CDF (:func:`_t_central_probability`) by bisection to machine precision.
    """
    if not (isinstance(df, (int, np.integer)) and not isinstance(df, bool) and df >= 1):
        raise ValueError(f"degrees of freedom must be an integer >= 1, got {df!r}")
    if not 0.0 < q < 1.0:
        raise ValueError(f"quantile level must lie in (0, 1), got {q!r}")
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -student_t_quantile(1.0 - q, df)
    central = 2.0 * q - 1.0  # P(|T| < t) for the upper quantile t
    low, high = 0.0, 1.0
    while _t_central_probability(high, int(df)) < central:
        low, high = high, 2.0 * high
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        if _t_central_probability(mid, int(df)) < central:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def mean_ci95(
    values: Sequence[float | None], bounds: tuple[float, float] = (-math.inf, math.inf)
) -> dict[str, Any]:
    """Mean, sample standard deviation and 95 % Student-t interval of the finite ``values``.

    ``ci95 = mean -/+ t_{0.975, n-1} s / sqrt(n)``, clipped to ``bounds`` (the values' possible
    range: a symmetric interval knows nothing of an accuracy's ceiling); ``None`` with fewer than
    2 finite values (one run says nothing about the spread) or when the spread overflows.
    """
    finite = finite_values(values)
    n = int(finite.size)
    if n == 0:
        return {"mean": None, "ci95": None, "std": None, "n": 0}
    with np.errstate(over="ignore", invalid="ignore"):  # values near 1e300 (a blow-up) overflow when squared
        mean = float(finite.mean())
        std = float(finite.std(ddof=1)) if n >= 2 else math.nan
    if not math.isfinite(mean):
        return {"mean": None, "ci95": None, "std": None, "n": n}
    if not math.isfinite(std):
        return {"mean": mean, "ci95": None, "std": None, "n": n}
    half = student_t_quantile(0.975, n - 1) * std / math.sqrt(n)
    low, high = max(mean - half, bounds[0]), min(mean + half, bounds[1])
    return {"mean": mean, "ci95": [low, high], "std": std, "n": n}


def bootstrap_ci95(
    values: Sequence[float | None], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> list[float] | None:
    """Percentile bootstrap 95 % interval of the mean of the finite ``values``.

    Draws ``resamples`` samples of size n with replacement from a generator seeded with ``seed``
    and returns the 2.5 % and 97.5 % quantiles of their means (NumPy's default linear
    interpolation). ``None`` with fewer than 2 finite values. With few values the percentile
    interval is too narrow (its coverage is below 95 % for n ~ 10); report it next to the t
    interval, not instead of it.
    """
    finite = finite_values(values)
    if finite.size < 2:
        return None
    if isinstance(resamples, bool) or int(resamples) != resamples or resamples < 2:
        raise ValueError(f"resamples must be an integer >= 2, got {resamples!r}")
    rng = np.random.default_rng(seed)
    index = rng.integers(0, finite.size, size=(int(resamples), finite.size))
    means = finite[index].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    return [float(low), float(high)]


def paired_difference(
    a: Sequence[float | None], b: Sequence[float | None], bounds: tuple[float, float] = (-math.inf, math.inf)
) -> dict[str, Any]:
    """The per-pair differences ``a[i] - b[i]`` with their mean and 95 % intervals (t and bootstrap).

    ``a`` and ``b`` are aligned (entry i of both comes from the same seed). A pair with a
    missing side (a diverged run, a metric the loss does not have) gives ``None`` and is left out
    of the statistics; ``n`` counts the pairs used. ``bounds`` clip the t interval (a difference
    of two accuracies lies in [-1, 1]).
    """
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    differences: list[float | None] = []
    for x, y in zip(a, b):
        if x is not None and y is not None and math.isfinite(float(x)) and math.isfinite(float(y)):
            differences.append(float(x) - float(y))
        else:
            differences.append(None)
    stats = mean_ci95(differences, bounds)
    return {
        "differences": differences,
        "mean": stats["mean"],
        "std": stats["std"],
        "n": stats["n"],
        "t_ci95": stats["ci95"],
        "bootstrap_ci95": bootstrap_ci95(differences),
    }


def binomial_se(p: float | None, n: int) -> float | None:
    """Standard error ``sqrt(p (1 - p) / n)`` of a proportion ``p`` measured on ``n`` samples."""
    if p is None or not math.isfinite(p) or n < 1:
        return None
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a proportion must lie in [0, 1], got {p!r}")
    return math.sqrt(p * (1.0 - p) / n)
