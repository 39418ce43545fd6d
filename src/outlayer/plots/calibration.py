"""Calibration (:mod:`outlayer.lab.calibration`), drawn from its JSON-able result.

:func:`reliability_figure`: one reliability diagram per cell and loss (accuracy against mean
confidence per bin, seeds pooled; solid before temperature scaling, dashed after; the diagonal
is perfect calibration) above the bin counts before scaling (log axis). :func:`ece_figure`: ECE
and NLL on the test split before (filled) and after (open) temperature scaling per loss and
start, with 95 % intervals over seeds, and the ECE noise floor (the 95th percentile of a
calibrated model's ECE at this test-set size) as a grey bar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.plots import new_figure
from outlayer.plots._lab import ANNOTATION, GUIDE, MIN_FONT_PT, WIDTH, legend_below, loss_color, style_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["ece_figure", "panel_title", "reliability_figure"]


def _panels(result: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    return [(cell_name, loss, entry) for cell_name, cell in result["cells"].items()
            for loss, entry in cell["summary"].items() if entry["calibration"] is not None]


def panel_title(result: Mapping[str, Any], cell_name: str, loss: str) -> str:
    """"loss, sigma_0 = ..." (the start by its initial logit scale: language-neutral)."""
    std = result["cells"][cell_name].get("initial_logit_std")
    return f"{loss}, σ₀ = {std:.2g}" if std is not None else loss


def _curve(bins: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    count = np.asarray(bins["count"], dtype=float)
    used = count > 0
    return (np.asarray(bins["confidence_sum"])[used] / count[used], np.asarray(bins["correct_sum"])[used] / count[used])


def reliability_figure(result: Mapping[str, Any]) -> Figure:
    """Reliability before and after temperature scaling, with the bin counts, per cell and loss."""
    panels = _panels(result)
    columns = 3 if len(panels) > 4 else max(1, min(2, len(panels)))
    rows = math.ceil(len(panels) / columns)
    fig = new_figure(WIDTH, 0.8 + 3.6 * rows)
    grid = fig.add_gridspec(2 * rows, columns, height_ratios=[3.0, 1.0] * rows)
    n_bins = len(panels[0][2]["reliability"]["count"]) if panels else 15
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    handles: dict[str, Any] = {}
    for index, (cell_name, loss, entry) in enumerate(panels):
        block, column = divmod(index, columns)
        top = fig.add_subplot(grid[2 * block, column])
        bottom = fig.add_subplot(grid[2 * block + 1, column], sharex=top)
        top.plot([0, 1], [0, 1], color=GUIDE, linestyle=":", linewidth=1.0)
        color = loss_color(loss)
        x, y = _curve(entry["reliability"])
        (before,) = top.plot(x, y, "-o", color=color, markersize=3.5, linewidth=1.5)
        x, y = _curve(entry["calibration"]["reliability_scaled"])
        (after,) = top.plot(x, y, "--s", color=color, markersize=3.5, linewidth=1.3, markerfacecolor="white")
        handles.setdefault("T = 1", before)
        handles.setdefault("T = T*", after)
        c = entry["calibration"]
        title = panel_title(result, cell_name, loss)
        if c["ece_before"]["mean"] is not None and c["ece_after"]["mean"] is not None:
            # in the title, not over the curves: a reliability curve can run anywhere in the square
            title += (f"\nECE {c['ece_before']['mean']:.3f} → {c['ece_after']['mean']:.3f}, "
                      f"T* = {c['temperature']['mean']:.3g}")
        top.set_title(title, fontsize=MIN_FONT_PT, color=ANNOTATION)
        top.set_xlim(0, 1)
        top.set_ylim(0, 1.02)
        top.tick_params(labelbottom=False)
        if column == 0:
            top.set_ylabel("acc")
            bottom.set_ylabel("n")
        counts = np.asarray(entry["reliability"]["count"], dtype=float)
        bottom.bar(edges[:-1], np.where(counts > 0, counts, np.nan), width=np.diff(edges), align="edge",
                   color=color, alpha=0.55, edgecolor="white", linewidth=0.5)
        bottom.set_yscale("log")
        bottom.set_ylim(0.8, max(10.0, counts.max() * 2.0))
        bottom.set_xlabel("conf")
        style_axes(top)
        style_axes(bottom)
    legend_below(fig, list(handles.values()), list(handles), ncol=2)
    return fig


def ece_figure(result: Mapping[str, Any]) -> Figure:
    """ECE and NLL before and after temperature scaling per start and loss, and ECE's noise floor."""
    panels = _panels(result)
    fig = new_figure(WIDTH, 1.6 + 0.45 * len(panels))
    left, right = fig.subplots(1, 2, sharey=True)
    ys = np.arange(len(panels))[::-1].astype(float)
    handles: dict[str, Any] = {}
    for y, (cell_name, loss, entry) in zip(ys, panels):
        c = entry["calibration"]
        color = loss_color(loss)
        floor = entry["noise_floor"]["q95"]["mean"]
        if floor is not None:
            bar = left.barh([y], [floor], height=0.6, color="#d9d9d9", edgecolor="none", zorder=1)
            handles.setdefault("ECE₀.₉₅", bar)
        for ax, before_key, after_key in ((left, "ece_before", "ece_after"), (right, "nll_before", "nll_after")):
            for key, filled, offset in ((before_key, True, 0.12), (after_key, False, -0.12)):
                stats = c[key]
                if stats["mean"] is None:
                    continue
                ci = stats.get("ci95") or [stats["mean"], stats["mean"]]
                (mark,) = ax.plot([stats["mean"]], [y + offset], "o", color=color, markersize=6,
                                  markerfacecolor=color if filled else "white", zorder=3)
                ax.plot(ci, [y + offset, y + offset], "-", color=color, linewidth=1.4, zorder=2)
                handles.setdefault("T = 1" if filled else "T = T*", mark)
    left.set_yticks(ys, [panel_title(result, cell, loss) for cell, loss, _ in panels])
    left.set_xlabel("ECE")
    right.set_xlabel("NLL")
    left.set_xlim(left=0.0)
    right.set_xlim(left=0.0)
    for ax in (left, right):
        style_axes(ax)
    for label in left.get_yticklabels():
        label.set_color(ANNOTATION)
    ordered = [k for k in ("T = 1", "T = T*", "ECE₀.₉₅") if k in handles]
    legend_below(fig, [handles[k] for k in ordered], ordered, ncol=3)
    return fig
