"""The confidence dose-response (:mod:`outlayer.lab.sweep`), drawn from its JSON-able result.

Two panels: ``accuracy``, test accuracy against the initial logit scale σ₀ (log axis), one line
per loss (its colour) and optimiser (its line style), 95 % intervals over seeds as bars; and
``start``, the median p(true class) pₜ of the training samples before training against σ₀
(log-log, the band is the 10th-90th percentile over seeds), with the lecture's corner value
marked by a star.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from outlayer.plots import (
    ANNOTATION_COLOR,
    PANEL_WIDTH,
    REFERENCE_COLOR,
    Panels,
    legend_below,
    log_axis,
    new_figure,
    styled,
)
from outlayer.plots._lab import OPTIMIZER_STYLES, display_name, interval_bars, loss_color

__all__ = ["accuracy_figure"]


def _std_ticks(ax: Any, stds: list[float]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(stds, [f"{s:g}" for s in stds])
    ax.minorticks_off()
    ax.set_xlabel("σ₀")
    ax.grid(alpha=0.3)


@styled
def accuracy_figure(result: Mapping[str, Any]) -> Panels:
    """Accuracy against σ₀ per loss and optimiser, and the initial pₜ against σ₀."""
    from matplotlib.ticker import NullLocator

    config = result["config"]
    stds = [float(s) for s in config["logit_stds"]]
    accuracy = new_figure(PANEL_WIDTH, 3.9)
    ax = accuracy.subplots()
    pairs = [(optimizer, loss) for optimizer in config["optimizers"] for loss in config["losses"]]
    offsets = np.linspace(-0.03, 0.03, len(pairs)) if len(pairs) > 1 else [0.0]  # dodge the error bars
    for offset, (optimizer, loss) in zip(offsets, pairs):
        rows = [next(r for r in result["rows"] if r["optimizer"] == optimizer and r["loss"] == loss
                     and r["logit_std"] == std) for std in stds]
        interval_bars(ax, [std * 10**offset for std in stds], [r["test_accuracy"] for r in rows],
                      color=loss_color(loss), linestyle=OPTIMIZER_STYLES.get(optimizer, "-"), marker="o",
                      markersize=4, linewidth=1.6, label=f"{display_name(loss)} · {optimizer}")
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel("accuracy")
    _std_ticks(ax, stds)
    legend_below(accuracy, ax, ncols=2)

    start = new_figure(PANEL_WIDTH, 3.5)
    ax = start.subplots()
    key = [format(s, "g") for s in stds]
    floor = 1e-300  # a probability that underflowed to 0 is drawn at the bottom of the log axis
    median = np.maximum([result["p_true_initial"][k]["median"] for k in key], floor)
    ax.fill_between(stds, np.maximum([result["p_true_initial"][k]["q10"] for k in key], floor),
                    np.maximum([result["p_true_initial"][k]["q90"] for k in key], floor), color="#bdbdbd",
                    alpha=0.6, linewidth=0)
    ax.plot(stds, median, "o-", color="#555555", linewidth=1.6, markersize=4)
    corner = float(result["lecture_corner_p_target"])
    ax.axhline(corner, color=REFERENCE_COLOR, linestyle=":", linewidth=1.0)
    ax.annotate(f"★ {corner:.1e}", xy=(0.97, corner), xycoords=("axes fraction", "data"), xytext=(0, 4),
                textcoords="offset points", ha="right", va="bottom", color=ANNOTATION_COLOR)
    ax.set_yscale("log")
    log_axis(ax.yaxis, numticks=5)
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_ylabel("pₜ, epoch 0")
    _std_ticks(ax, stds)
    return Panels(accuracy=accuracy, start=start)
