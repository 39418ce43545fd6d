"""The square loss at many classes (:mod:`outlayer.lab.many_classes`), drawn from its JSON-able result.

(a) test accuracy per epoch (mean over seeds) per variant (colour) and optimiser (line style);
(b) the final test accuracy with its 95 % interval over seeds, per variant and optimiser; the
grey line is chance, 1/K.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.plots import new_figure
from outlayer.plots._lab import (ANNOTATION, GUIDE, MIN_FONT_PT, OPTIMIZER_STYLES, WIDTH, legend_below, loss_color,
                                 style_axes)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["accuracy_figure"]


def accuracy_figure(result: Mapping[str, Any]) -> Figure:
    """Accuracy per epoch and at the end, per rescaling and optimiser."""
    fig = new_figure(WIDTH, 4.6)
    left, right = fig.subplots(1, 2, width_ratios=[1.3, 1.0])
    handles: dict[str, Any] = {}
    rows = result["rows"]
    for row in rows:
        mean = np.array([np.nan if v is None else v for v in row["curve"]["mean"]], dtype=float)
        (line,) = left.plot(np.arange(len(mean)), mean, OPTIMIZER_STYLES.get(row["optimizer"], "-"),
                            color=loss_color(row["variant"]), linewidth=1.6)
        handles[f"{row['variant']} · {row['optimizer']}"] = line
    chance = result["setup"]["chance"]
    left.axhline(chance, color=GUIDE, linestyle=":", linewidth=1.0)
    right.axvline(chance, color=GUIDE, linestyle=":", linewidth=1.0)
    left.set_ylim(0.0, 1.02)
    left.set_xlabel("t")
    left.set_ylabel("acc")
    left.set_title(f"(a)  K = {result['setup']['dataset']['n_classes']},  1/K = {chance:g}", loc="left",
                   fontsize=MIN_FONT_PT + 2)
    style_axes(left)
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    optimizers = list(dict.fromkeys(row["optimizer"] for row in rows))
    ys = np.arange(len(variants))[::-1].astype(float)
    offsets = np.linspace(0.15, -0.15, len(optimizers)) if len(optimizers) > 1 else [0.0]
    for row in rows:
        s = row["test_accuracy"]
        if s["mean"] is None:
            continue
        y = ys[variants.index(row["variant"])] + offsets[optimizers.index(row["optimizer"])]
        ci = s.get("ci95") or [s["mean"], s["mean"]]
        color = loss_color(row["variant"])
        right.plot(ci, [y, y], OPTIMIZER_STYLES.get(row["optimizer"], "-"), color=color, linewidth=1.6)
        right.plot([s["mean"]], [y], "o" if row["optimizer"] == optimizers[0] else "s", color=color, markersize=5)
    right.set_yticks(ys, [v.replace(" k=", "\nk=") for v in variants])
    for label in right.get_yticklabels():
        label.set_color(ANNOTATION)
    right.set_xlim(0.0, 1.0)
    right.set_ylim(-0.6, len(variants) - 0.4)
    right.set_xlabel("acc")
    right.set_title("(b)", loc="left", fontsize=MIN_FONT_PT + 2)
    style_axes(right)
    legend_below(fig, list(handles.values()), list(handles), ncol=2)
    return fig
