"""The surface lab's figures: the computed arrays and the assembled result, handed to the plots.

The figure functions (:mod:`outlayer.plots.surface`) receive data only; this module picks the
data each one needs from what :mod:`outlayer.surface._assemble` measured (titles, the counted
steps and their reasons, closed forms) and saves every figure through one
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

__all__ = ["reach_words", "write_figures"]


def reach_words(result: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Per loss and optimiser, the outcome in a few words: "23 steps", "never", "goal unreachable", "diverged"."""
    words: dict[str, dict[str, str]] = {}
    for name, entry in result["losses"].items():
        words[name] = {}
        for optimizer, path in entry["paths"].items():
            if path["steps_to_p90"] is not None:
                words[name][optimizer] = f"{path['steps_to_p90']} steps"
            elif not entry["goal_reachable"]:
                words[name][optimizer] = "goal unreachable"
            elif path["diverged"]:
                words[name][optimizer] = "diverged"
            else:
                words[name][optimizer] = "never"
    return words


def write_figures(out_dir: str, config: SurfaceConfig, plane: LogitPlane, surfaces: Mapping[str, Surface],
                  paths: Mapping[str, Mapping[str, DescentPath]], cuts: Mapping[str, ProbabilityCurve],
                  result: Mapping[str, Any]) -> dict[str, str]:
    """Draw and save the lab's figures (PNG + SVG); return name -> file name."""
    from outlayer.plots import save_figures
    from outlayer.plots import surface as figures

    start = tuple(result["setup"]["start"])
    primary = result["setup"]["steps_to_p90_optimizer"]
    losses = result["losses"]
    titles = {name: f"{name}\n{entry['description']}" for name, entry in losses.items()}
    reach = reach_words(result)
    maps = {}
    for name in surfaces:
        axis, counts = steps_to_goal_map(name, plane, config.limits, config.map_resolution, optimizer=primary,
                                         lr=config.lr, steps=config.steps, goal=config.goal)
        if not losses[name]["goal_reachable"]:
            counts = np.full_like(counts, np.nan)  # reaching an unreachable goal only means overshooting
        maps[name] = (axis, counts)
    closed = {name: entry["closed_form"] for name, entry in result["margin_cut"]["losses"].items()}
    built = {
        "surface_3d": figures.surfaces_3d_figure(surfaces, start, {n: e["corner"]["loss"] for n, e in losses.items()},
                                                 titles),
        "surface_paths": figures.contour_paths_figure(surfaces, paths, start, titles, reach),
        "surface_gradients": figures.gradient_heatmaps_figure(surfaces, start, titles),
        "surface_progress": figures.progress_figure(paths, config.goal, reach),
        "surface_probability": figures.probability_curves_figure(cuts),
        "surface_margin_cut": figures.margin_cut_figure(cuts, closed, result["margin_cut"]["line"]),
        "surface_steps_map": figures.steps_map_figure(maps, plane, start, optimizer=primary, lr=config.lr,
                                                      steps=config.steps, goal=config.goal),
    }
    return save_figures(built, out_dir)
