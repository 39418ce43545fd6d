"""The square loss at many classes (:mod:`outlayer.lab.many_classes`), drawn from its JSON-able result.

Two panels: ``curves``, test accuracy per epoch (mean over seeds) per variant (colour) and
optimiser (line style), with chance 1/K as a reference line; ``final``, the final test accuracy
with its 95 % interval over seeds, per variant and optimiser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from outlayer.plots import PANEL_WIDTH, REFERENCE_COLOR, Panels, legend_below, new_figure, styled
from outlayer.plots._lab import OPTIMIZER_STYLES, display_name, loss_color

__all__ = ["accuracy_figure"]


@styled
def accuracy_figure(result: Mapping[str, Any]) -> Panels:
    """Accuracy per epoch and at the end, per rescaling and optimiser."""
    rows = result["rows"]
    chance = result["setup"]["chance"]
    curves = new_figure(PANEL_WIDTH, 4.2)
    ax = curves.subplots()
    for row in rows:
        mean = np.array([np.nan if v is None else v for v in row["curve"]["mean"]], dtype=float)
        ax.plot(np.arange(len(mean)), mean, OPTIMIZER_STYLES.get(row["optimizer"], "-"),
                color=loss_color(row["variant"]), linewidth=1.6,
                label=f"{display_name(row['variant'])} · {row['optimizer']}")
    ax.axhline(chance, color=REFERENCE_COLOR, linestyle=":", linewidth=1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(f"K = {result['setup']['dataset']['n_classes']},  1/K = {chance:g}")
    ax.grid(alpha=0.3)
    legend_below(curves, ax, ncols=2)

    variants = list(dict.fromkeys(row["variant"] for row in rows))
    optimizers = list(dict.fromkeys(row["optimizer"] for row in rows))
    final = new_figure(PANEL_WIDTH, 1.6 + 0.55 * len(variants))
    ax = final.subplots()
    ys = np.arange(len(variants))[::-1].astype(float)
    offsets = np.linspace(0.15, -0.15, len(optimizers)) if len(optimizers) > 1 else [0.0]
    for row in rows:
        s = row["test_accuracy"]
        if s["mean"] is None:
            continue
        y = ys[variants.index(row["variant"])] + offsets[optimizers.index(row["optimizer"])]
        ci = s.get("ci95") or [s["mean"], s["mean"]]
        color = loss_color(row["variant"])
        first = row["variant"] == variants[0]
        ax.plot(ci, [y, y], OPTIMIZER_STYLES.get(row["optimizer"], "-"), color=color, linewidth=1.6)
        ax.plot([s["mean"]], [y], "o" if row["optimizer"] == optimizers[0] else "s", color=color, markersize=5,
                label=row["optimizer"] if first and len(optimizers) > 1 else None)
    ax.axvline(chance, color=REFERENCE_COLOR, linestyle=":", linewidth=1.0)
    ax.set_yticks(ys, [display_name(v).replace(" k=", "\nk=") for v in variants])
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(-0.6, len(variants) - 0.4)
    ax.set_xlabel("accuracy")
    ax.grid(alpha=0.3)
    if len(optimizers) > 1:
        legend_below(final, ax, ncols=len(optimizers))
    return Panels(curves=curves, final=final)
