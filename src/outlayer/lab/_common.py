"""What the lab's experiments share: JSON-safe numbers, paired statistics by seed, writing results."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.stats import mean_ci95, paired_difference

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from outlayer.plots import Panels

__all__ = ["MAX_EPOCHS", "MAX_SEEDS", "bounded", "check_out_dir", "finite", "jsonable", "lecture_corner_p_target", "paired_by_seed", "quantiles", "seed_list",
           "statistic", "write_result"]


#: Upper bounds of the experiments' seeds and epochs: a typo must not start a year-long run (or
#: build a list of 10^12 seeds) before anything else is checked.
MAX_SEEDS = 10_000
MAX_EPOCHS = 100_000


def bounded(name: str, value: Any, low: int, high: int) -> int:
    """An integer in [low, high], else a one-line ValueError naming it (the lab's ``_checks.integer`` first)."""
    from outlayer import _checks as check

    number = check.integer(name, value, low=low)
    if number > high:
        raise ValueError(f"{name} must be at most {high}, got {value!r}")
    return number


def finite(value: Any) -> float | None:
    """A plain float, or None for NaN and +-inf (JSON has neither)."""
    if value is None:
        return None
    number = float(value)
    return number + 0.0 if math.isfinite(number) else None  # + 0.0 turns -0.0 into 0.0


def jsonable(value: Any) -> Any:
    """Tuples as lists, recursively, so a result equals its own JSON round trip."""
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def quantiles(values: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """Median and 10th / 90th percentiles of the finite ``values`` (null when there are none)."""
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return {"median": None, "q10": None, "q90": None, "n": 0}
    q10, median, q90 = np.quantile(array, [0.1, 0.5, 0.9])
    return {"median": float(median), "q10": float(q10), "q90": float(q90), "n": int(array.size)}


def seed_list(seeds: int, first_seed: int = 0) -> list[int]:
    """The evaluation seeds ``first_seed .. first_seed + seeds - 1`` (as :class:`~outlayer.config.CompareConfig`)."""
    return [first_seed + i for i in range(seeds)]


def paired_by_seed(runs_a: Sequence[Mapping[str, Any]], runs_b: Sequence[Mapping[str, Any]], metric: str,
                   bounds: tuple[float, float] = (-math.inf, math.inf)) -> dict[str, Any]:
    """Per-seed differences a - b of a final metric (runs matched by ``seed``), with t and bootstrap intervals."""
    by_seed_b = {run["seed"]: run for run in runs_b}
    seeds = [run["seed"] for run in runs_a if run["seed"] in by_seed_b]
    by_seed_a = {run["seed"]: run for run in runs_a}
    return {"seeds": seeds, **paired_difference([by_seed_a[s]["final"][metric] for s in seeds],
                                                [by_seed_b[s]["final"][metric] for s in seeds], bounds)}


def statistic(values: Sequence[float | None], bounds: tuple[float, float] = (-math.inf, math.inf)) -> dict[str, Any]:
    """:func:`outlayer.stats.mean_ci95` (the lab's ``{"mean", "ci95", "std", "n"}``)."""
    return mean_ci95(values, bounds)


def lecture_corner_p_target() -> float:
    """p(target) in the lecture's wrong-but-confident corner, computed by the core on the lecture's plane."""
    from outlayer.surface import LECTURE_PLANE, evaluate

    corner = LECTURE_PLANE.wrong_corner()
    return float(evaluate("ce", corner[0], corner[1]).p_target)


def check_out_dir(out_dir: str | os.PathLike[str] | None) -> Path | None:
    """The output folder, refused before any work when it cannot be written (one-line ValueError)."""
    if out_dir is None:
        return None
    from outlayer import _guards

    return _guards.check_output_dir(out_dir, "--out")


def write_result(result: dict[str, Any], out: Path, prefix: str,
                 figures: Mapping[str, Callable[[Mapping[str, Any]], Figure | Panels]]) -> dict[str, str]:
    """Draw ``figures`` (stem -> function of the result) as PNG + SVG and write ``<prefix>.json`` in ``out``.

    Sets ``result["figures"]`` (stem -> file name) before writing the JSON, so the file is the
    whole result as the command prints it; returns the figures' file names.
    """
    from outlayer._io import atomic_write_json
    from outlayer.plots import save_figures

    out.mkdir(parents=True, exist_ok=True)
    written = save_figures({stem: draw(result) for stem, draw in figures.items()}, out)
    result["figures"] = written
    atomic_write_json(out / f"{prefix}.json", result)
    return written
