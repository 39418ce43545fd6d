"""The surface lab's figures: the computed arrays and the assembled result, handed to the plots.

The figure functions (:mod:`outlayer.plots.surface`) receive data only; this module picks the
data each one needs from what :mod:`outlayer.surface._assemble` measured (the counted steps,
closed forms, the 1-based names of the swept logits) and saves every figure through one
:func:`outlayer.plots.save_figures`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from outlayer.config import SurfaceConfig
from outlayer.surface._compute import (
    DescentPath,
    LogitPlane,
    ProbabilityCurve,
    Surface,
    steps_to_goal_map,
)

__all__ = ["reach_marks", "write_figures"]


def reach_marks(result: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Per loss and optimiser, the outcome as the figures write it (no words, the page's captions
    explain): the steps to the goal ("23"), "> 200" when the budget ran out, "—" when the goal is
    unreachable on the plane or the path diverged."""
    budget = result["setup"]["steps"]
    marks: dict[str, dict[str, str]] = {}
    for name, entry in result["losses"].items():
        marks[name] = {}
        for optimizer, path in entry["paths"].items():
            if path["steps_to_p90"] is not None:
                marks[name][optimizer] = str(path["steps_to_p90"])
            elif not entry["goal_reachable"] or path["diverged"]:
                marks[name][optimizer] = "—"
            else:
                marks[name][optimizer] = f"> {budget}"
    return marks


def write_figures(out_dir: str, config: SurfaceConfig, plane: LogitPlane, surfaces: Mapping[str, Surface],
                  paths: Mapping[str, Mapping[str, DescentPath]], cuts: Mapping[str, ProbabilityCurve],
                  result: Mapping[str, Any]) -> dict[str, str]:
    """Draw and save the lab's figures (PNG + SVG, one file per panel); return name -> file name."""
    from outlayer.plots import save_figures, subscript
    from outlayer.plots import surface as figures

    start = tuple(result["setup"]["start"])
    primary = result["setup"]["steps_to_p90_optimizer"]
    losses = result["losses"]
    marks = reach_marks(result)
    maps = {}
    for name in surfaces:
        axis, counts = steps_to_goal_map(name, plane, config.limits, config.map_resolution, optimizer=primary,
                                         lr=config.lr, steps=config.steps, goal=config.goal)
        if not losses[name]["goal_reachable"]:
            counts = np.full_like(counts, np.nan)  # reaching an unreachable goal only means overshooting
        maps[name] = (axis, counts)
    closed = {name: entry["closed_form"] for name, entry in result["margin_cut"]["losses"].items()}
    p_name = figures.p_label(plane)
    up = plane.target if plane.target in plane.swept else plane.swept[0]
    other = next(c for c in plane.swept if c != up)
    margin = f"m = z{subscript(up + 1)} − z{subscript(other + 1)}"
    built = {
        "surface_3d": figures.surfaces_3d_figure(surfaces, start, {n: e["corner"]["loss"] for n, e in losses.items()}),
        "surface_paths": figures.contour_paths_figure(surfaces, paths, start, marks=marks),
        "surface_gradients": figures.gradient_heatmaps_figure(surfaces, start),
        "surface_progress": figures.progress_figure(paths, config.goal, marks, p_name=p_name),
        "surface_probability": figures.probability_curves_figure(cuts, p_name=p_name),
        "surface_margin_cut": figures.margin_cut_figure(cuts, closed, margin),
        "surface_steps_map": figures.steps_map_figure(maps, plane, start, optimizer=primary, lr=config.lr,
                                                      steps=config.steps, goal=config.goal),
    }
    return save_figures(built, out_dir)
