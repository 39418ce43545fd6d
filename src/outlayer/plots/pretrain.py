"""CE first, then the square loss (:mod:`outlayer.lab.pretrain`), drawn from its JSON-able result.

Two panels: ``curves``, test accuracy per epoch of the three arms (mean over seeds with the 95 %
band): CE then the loss, CE continued, the loss from scratch, with a reference line at the end
of the pretraining; and ``differences``, the per-seed differences between the arms at the last
epoch with paired-t 95 % intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from outlayer.plots import ANNOTATION_COLOR, PANEL_WIDTH, REFERENCE_COLOR, Panels, legend_below, new_figure, styled
from outlayer.plots._lab import display_name, loss_color

__all__ = ["accuracy_figure", "arm_label"]


def arm_label(result: Mapping[str, Any], loss: str, arm: str) -> str:
    """CE→MSE, CE, MSE: the arms by the losses that trained them."""
    pre = result["config"]["pretrain_loss"]
    return {"pretrained": display_name(f"{pre}→{loss}"), "ce": display_name(pre), "scratch": display_name(loss)}[arm]


def _values(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@styled
def accuracy_figure(result: Mapping[str, Any], differences: bool = True) -> Panels:
    """Test accuracy per epoch of each arm, and (``differences``) the paired differences at the end."""
    curves = new_figure(PANEL_WIDTH, 3.9)
    ax = curves.subplots()
    pre_epochs = result["setup"]["pretrain_epochs"]
    styles = {"pretrained": "-.", "ce": "-", "scratch": "--"}
    widths = {"pretrained": 2.2, "ce": 1.5, "scratch": 1.7}  # the switch is drawn on top: it runs close to CE
    drawn: set[str] = set()
    for loss, entry in result["losses"].items():
        for arm, data in entry["arms"].items():
            label = arm_label(result, loss, arm)
            if label in drawn:
                continue
            drawn.add(label)
            curve = data["curve"]["test_accuracy"]
            mean = _values(curve["mean"])
            epochs = np.arange(len(mean))
            color = loss_color("pretrained" if arm == "pretrained" else data["loss"])
            ax.plot(epochs, mean, styles[arm], color=color, linewidth=widths[arm], label=label,
                    zorder=4 if arm == "pretrained" else 3)
            ax.fill_between(epochs, _values(curve["low"]), _values(curve["high"]), color=color, alpha=0.15, linewidth=0)
    ax.axvline(pre_epochs, color=REFERENCE_COLOR, linestyle=":", linewidth=1.0)
    ax.annotate(f"{pre_epochs}", xy=(pre_epochs, 0.02), xycoords=("data", "axes fraction"), xytext=(3, 0),
                textcoords="offset points", ha="left", va="bottom", color=ANNOTATION_COLOR)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    legend_below(curves, ax, ncols=3)

    if not differences:
        return Panels(curves=curves)
    labels, stats = [], []
    for loss, entry in result["losses"].items():
        for key, paired in entry["paired"].items():
            a, b = key.split(" - ")
            labels.append(f"{arm_label(result, loss, a)} − {arm_label(result, loss, b)}")
            stats.append(paired["test_accuracy"])
    differences = new_figure(PANEL_WIDTH, 1.5 + 0.45 * len(labels))
    ax = differences.subplots()
    ys = np.arange(len(labels))[::-1].astype(float)
    for y, s in zip(ys, stats):
        if s["mean"] is None:
            continue
        ci = s.get("t_ci95") or [s["mean"], s["mean"]]
        ax.plot(ci, [y, y], "-", color="#555555", linewidth=1.6)
        ax.plot([s["mean"]], [y], "o", color="#555555", markersize=6)
    ax.axvline(0.0, color=REFERENCE_COLOR, linestyle=":", linewidth=1.0)
    ax.set_yticks(ys, labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(4))  # signed decimals are wide: few ticks, so that none overlap
    ax.set_xlabel("Δ accuracy")
    ax.grid(alpha=0.3)
    return Panels(curves=curves, differences=differences)
