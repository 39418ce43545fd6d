"""CE first, then the square loss (:mod:`outlayer.lab.pretrain`), drawn from its JSON-able result.

(a) test accuracy per epoch of the three arms (mean over seeds with the 95 % band): CE then the
loss, CE continued, the loss from scratch; a grey line marks the end of the pretraining. (b) the
per-seed differences between the arms at the last epoch, with paired-t 95 % intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.plots import new_figure
from outlayer.plots._lab import ANNOTATION, GUIDE, MIN_FONT_PT, WIDTH, legend_below, loss_color, style_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["arm_label", "accuracy_figure"]


def arm_label(result: Mapping[str, Any], loss: str, arm: str) -> str:
    """ce→mse, ce, mse: the arms as the command line names their losses."""
    pre = result["config"]["pretrain_loss"]
    return {"pretrained": f"{pre}→{loss}", "ce": pre, "scratch": loss}[arm]


def _band(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def accuracy_figure(result: Mapping[str, Any]) -> Figure:
    """Test accuracy per epoch of each arm, and the paired differences at the end."""
    fig = new_figure(WIDTH, 4.4)
    left, right = fig.subplots(1, 2, width_ratios=[1.5, 1.0])
    handles: dict[str, Any] = {}
    pre_epochs = result["setup"]["pretrain_epochs"]
    styles = {"pretrained": "-.", "ce": "-", "scratch": "--"}
    widths = {"pretrained": 2.2, "ce": 1.5, "scratch": 1.7}  # the switch is drawn on top: it runs close to CE
    for loss, entry in result["losses"].items():
        for arm, data in entry["arms"].items():
            label = arm_label(result, loss, arm)
            if label in handles:
                continue
            curve = data["curve"]["test_accuracy"]
            mean = _band(curve["mean"])
            epochs = np.arange(len(mean))
            color = loss_color(label)
            (line,) = left.plot(epochs, mean, styles[arm], color=color, linewidth=widths[arm],
                                zorder=4 if arm == "pretrained" else 3)
            left.fill_between(epochs, _band(curve["low"]), _band(curve["high"]), color=color, alpha=0.15, linewidth=0)
            handles[label] = line
    left.axvline(pre_epochs, color=GUIDE, linestyle=":", linewidth=1.0)
    left.annotate(f"{pre_epochs}", xy=(pre_epochs, 0.02), xycoords=("data", "axes fraction"), xytext=(3, 0),
                  textcoords="offset points", ha="left", va="bottom", fontsize=MIN_FONT_PT + 1, color=ANNOTATION)
    left.set_ylim(0.0, 1.02)
    left.set_xlabel("t")
    left.set_ylabel("acc")
    left.set_title("(a)", loc="left", fontsize=MIN_FONT_PT + 2)
    style_axes(left)
    labels, stats = [], []
    for loss, entry in result["losses"].items():
        for key, paired in entry["paired"].items():
            a, b = key.split(" - ")
            labels.append(f"{arm_label(result, loss, a)} − {arm_label(result, loss, b)}")
            stats.append(paired["test_accuracy"])
    ys = np.arange(len(labels))[::-1].astype(float)
    for y, s in zip(ys, stats):
        if s["mean"] is None:
            continue
        ci = s.get("t_ci95") or [s["mean"], s["mean"]]
        right.plot(ci, [y, y], "-", color="#555555", linewidth=1.6)
        right.plot([s["mean"]], [y], "o", color="#555555", markersize=6)
    right.axvline(0.0, color=GUIDE, linestyle=":", linewidth=1.0)
    right.set_yticks(ys, labels)
    for label in right.get_yticklabels():
        label.set_color(ANNOTATION)
    right.set_xlabel("Δ acc")
    right.set_title("(b)", loc="left", fontsize=MIN_FONT_PT + 2)
    style_axes(right)
    legend_below(fig, list(handles.values()), list(handles), ncol=len(handles))
    return fig
