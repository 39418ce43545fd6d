"""The confidence dose-response (:mod:`outlayer.lab.sweep`), drawn from its JSON-able result.

(a) test accuracy against the initial logit scale sigma_0 (log axis), one line per loss (its
catalogue colour) and optimiser (its line style), 95 % intervals over seeds as bars; (b) the
median p(true class) of the training samples before training against sigma_0 (log-log), with
the lecture's corner value marked by a star.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.plots import new_figure
from outlayer.plots._lab import (ANNOTATION, GUIDE, MIN_FONT_PT, OPTIMIZER_STYLES, WIDTH, interval_bars,
                                 legend_below, loss_color, style_axes)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["accuracy_figure"]


def accuracy_figure(result: Mapping[str, Any]) -> Figure:
    """Accuracy against sigma_0 per loss and optimiser, and the initial p(true class) against sigma_0."""
    config = result["config"]
    stds = [float(s) for s in config["logit_stds"]]
    fig = new_figure(WIDTH, 4.6)
    left, right = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
    handles, labels = [], []
    offsets = np.linspace(-0.04, 0.04, len(config["losses"]) * len(config["optimizers"]))  # dodge the error bars
    index = 0
    for optimizer in config["optimizers"]:
        for loss in config["losses"]:
            rows = [next(r for r in result["rows"] if r["optimizer"] == optimizer and r["loss"] == loss
                         and r["logit_std"] == std) for std in stds]
            x = [std * 10 ** offsets[index] for std in stds]
            index += 1
            bars = interval_bars(left, x, [r["test_accuracy"] for r in rows], color=loss_color(loss),
                                 linestyle=OPTIMIZER_STYLES.get(optimizer, "-"), marker="o", markersize=4,
                                 linewidth=1.6)
            if bars is not None:
                handles.append(bars.lines[0])
                labels.append(f"{loss} · {optimizer}")
    left.set_xscale("log")
    left.set_ylim(0.0, 1.02)
    left.set_xlabel(r"$\sigma_0$")
    left.set_ylabel("acc")
    left.set_title("(a)", fontsize=MIN_FONT_PT + 2, loc="left")
    left.set_xticks(stds, [f"{s:g}" for s in stds])
    left.minorticks_off()
    style_axes(left)
    medians = [result["p_true_initial"][format(std, "g")]["median"] for std in stds]
    q10 = [result["p_true_initial"][format(std, "g")]["q10"] for std in stds]
    q90 = [result["p_true_initial"][format(std, "g")]["q90"] for std in stds]
    floor = 1e-300  # a probability that underflowed to 0 is drawn at the bottom of the log axis
    right.fill_between(stds, np.maximum(q10, floor), np.maximum(q90, floor), color="#bbbbbb", alpha=0.5, linewidth=0)
    right.plot(stds, np.maximum(medians, floor), "o-", color="#555555", linewidth=1.6, markersize=4)
    corner = float(result["lecture_corner_p_target"])
    right.axhline(corner, color=GUIDE, linestyle=":", linewidth=1.0)
    right.plot([stds[0]], [corner], marker="*", markersize=12, color=ANNOTATION, linestyle="none")
    right.annotate(f"★ {corner:.1e}", xy=(0.97, corner), xycoords=("axes fraction", "data"), xytext=(0, 4),
                   textcoords="offset points", ha="right", va="bottom", fontsize=MIN_FONT_PT + 1, color=ANNOTATION)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel(r"$\sigma_0$")
    right.set_ylabel(r"$p_t$  ($t = 0$)")
    right.set_title("(b)", fontsize=MIN_FONT_PT + 2, loc="left")
    right.set_xticks(stds, [f"{s:g}" for s in stds])
    right.minorticks_off()
    style_axes(right)
    legend_below(fig, handles, labels, ncol=min(len(labels), 3))
    return fig
