"""Calibration (:mod:`outlayer.lab.calibration`), drawn from its JSON-able result.

:func:`reliability_figure`: one panel per start and loss, a reliability diagram (accuracy against
mean confidence per bin, seeds pooled; solid before temperature scaling, dashed after; the
diagonal is perfect calibration) above the bin counts before scaling (log axis).
:func:`ece_figure`: two panels, ECE and NLL on the test split before (filled) and after (open)
temperature scaling per start and loss, with 95 % intervals over seeds; the grey bars are the ECE
noise floor (the 95th percentile of a calibrated model's ECE at this test-set size).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from outlayer.plots import PANEL_WIDTH, REFERENCE_COLOR, Panels, legend_below, log_axis, new_figure, styled
from outlayer.plots._lab import display_name, loss_color

__all__ = ["ece_figure", "panel_title", "reliability_figure"]


def _panels(result: Mapping[str, Any], losses: Sequence[str] | None = None) -> list[tuple[str, str, Mapping[str, Any]]]:
    return [(cell_name, loss, entry) for cell_name, cell in result["cells"].items()
            for loss, entry in cell["summary"].items()
            if entry["calibration"] is not None and (losses is None or loss in losses)]


def panel_title(result: Mapping[str, Any], cell_name: str, loss: str) -> str:
    """"CE, σ₀ = 0.71": the loss and its start, by the initial logit scale (language-neutral)."""
    std = result["cells"][cell_name].get("initial_logit_std")
    return f"{display_name(loss)}, σ₀ = {std:.2g}" if std is not None else display_name(loss)


def _curve(bins: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    count = np.asarray(bins["count"], dtype=float)
    used = count > 0
    return (np.asarray(bins["confidence_sum"])[used] / count[used], np.asarray(bins["correct_sum"])[used] / count[used])


@styled
def reliability_figure(result: Mapping[str, Any], losses: Sequence[str] | None = None) -> Panels:
    """Reliability before and after temperature scaling, with the bin counts: one panel per start and
    loss (``losses``: only these)."""
    from matplotlib.ticker import NullLocator

    panels = Panels()
    for cell_name, loss, entry in _panels(result, losses):
        fig = new_figure(PANEL_WIDTH, 4.6)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3.0, 1.0])
        top.plot([0, 1], [0, 1], color=REFERENCE_COLOR, linestyle=":", linewidth=1.0)
        color = loss_color(loss)
        x, y = _curve(entry["reliability"])
        top.plot(x, y, "-o", color=color, markersize=3.5, linewidth=1.5, label="T = 1")
        x, y = _curve(entry["calibration"]["reliability_scaled"])
        top.plot(x, y, "--s", color=color, markersize=3.5, linewidth=1.3, markerfacecolor="white", label="T = T*")
        c = entry["calibration"]
        title = panel_title(result, cell_name, loss)
        if c["ece_before"]["mean"] is not None and c["ece_after"]["mean"] is not None:
            # in the title, not over the curves: a reliability curve can run anywhere in the square
            title += (f"\nECE {c['ece_before']['mean']:.3f} → {c['ece_after']['mean']:.3f}, "
                      f"T* = {c['temperature']['mean']:.3g}")
        top.set_title(title)
        top.set_xlim(0, 1)
        top.set_ylim(0, 1.02)
        top.set_ylabel("accuracy")
        top.grid(alpha=0.3)
        counts = np.asarray(entry["reliability"]["count"], dtype=float)
        edges = np.linspace(0.0, 1.0, counts.size + 1)
        bottom.bar(edges[:-1], np.where(counts > 0, counts, np.nan), width=np.diff(edges), align="edge",
                   color=color, alpha=0.55, edgecolor="white", linewidth=0.5)
        bottom.set_yscale("log")
        bottom.set_ylim(0.8, max(10.0, counts.max() * 2.0))
        log_axis(bottom.yaxis, numticks=3)
        bottom.yaxis.set_minor_locator(NullLocator())
        bottom.set_ylabel("n")
        bottom.set_xlabel("confidence")
        bottom.grid(alpha=0.3)
        legend_below(fig, top, ncols=2)
        panels[f"{cell_name}-{loss}"] = fig
    return panels


@styled
def ece_figure(result: Mapping[str, Any]) -> Panels:
    """ECE and NLL before and after temperature scaling per start and loss, and ECE's noise floor."""
    rows = _panels(result)
    ys = np.arange(len(rows))[::-1].astype(float)
    labels = [panel_title(result, cell, loss) for cell, loss, _ in rows]
    panels = Panels()
    for metric, before_key, after_key in (("ECE", "ece_before", "ece_after"), ("NLL", "nll_before", "nll_after")):
        fig = new_figure(PANEL_WIDTH, 1.6 + 0.42 * len(rows))
        ax = fig.subplots()
        for y, (_, loss, entry) in zip(ys, rows):
            color = loss_color(loss)
            floor = entry["noise_floor"]["q95"]["mean"]
            if metric == "ECE" and floor is not None:
                ax.barh([y], [floor], height=0.6, color="#d9d9d9", edgecolor="none", zorder=1,
                        label="ECE₀.₉₅" if y == ys[0] else None)
            for key, filled, offset in ((before_key, True, 0.12), (after_key, False, -0.12)):
                stats = entry["calibration"][key]
                if stats["mean"] is None:
                    continue
                ci = stats.get("ci95") or [stats["mean"], stats["mean"]]
                ax.plot(ci, [y + offset, y + offset], "-", color=color, linewidth=1.4, zorder=2)
                ax.plot([stats["mean"]], [y + offset], "o", color=color, markersize=6,
                        markerfacecolor=color if filled else "white", zorder=3,
                        label=("T = 1" if filled else "T = T*") if y == ys[0] else None)
        ax.set_yticks(ys, labels)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel(metric)
        ax.set_xlim(left=0.0)
        ax.grid(alpha=0.3)
        legend_below(fig, ax, ncols=3)
        panels[metric.lower()] = fig
    return panels
