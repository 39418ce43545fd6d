"""The report's own figures: the worked example (sections 2 and 3), drawn from ``explain`` results.

The labs draw their own figures (:mod:`outlayer.plots.surface`, :mod:`outlayer.plots.training`);
these two only plot numbers that :func:`outlayer.explain.explain` computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from outlayer.plots import LOSS_COLORS, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["gradients_figure", "temperature_figure"]


def temperature_figure(explained: Sequence[Mapping[str, Any]]) -> Figure:
    """Grouped bars: softmax probabilities of the same logits at each temperature (one explain() each)."""
    import numpy as np

    fig = new_figure(7.0, 3.6)
    ax = fig.subplots()
    classes = explained[0]["classes"]
    width = 0.8 / len(explained)
    x = np.arange(len(classes))
    for i, result in enumerate(explained):
        bars = ax.bar(x + (i - (len(explained) - 1) / 2) * width, result["probabilities"], width,
                      label=f"T = {result['temperature']:g}")
        ax.bar_label(bars, fmt="%.2f", fontsize="x-small")
    ax.set_xticks(x, classes)
    ax.set(ylabel="softmax probability", ylim=(0, 1),
           title=f"softmax(z / T) of z = [{', '.join(f'{v:g}' for v in explained[0]['logits'])}]")
    ax.title.set_fontsize("medium")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return fig


def gradients_figure(explained: Sequence[Mapping[str, Any]]) -> Figure:
    """One panel per explain() result: dCE/dz and dMSE/dz for each logit, side by side."""
    import numpy as np

    fig = new_figure(4.2 * len(explained), 3.6)
    axes = np.atleast_1d(fig.subplots(1, len(explained), sharey=True))
    for ax, result in zip(axes, explained):
        x = np.arange(len(result["classes"]))
        ax.bar(x - 0.2, result["grad_cross_entropy"], 0.4, label="CE", color=LOSS_COLORS["ce"])
        ax.bar(x + 0.2, result["grad_mse"], 0.4, label="MSE", color=LOSS_COLORS["mse"])
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(x, result["classes"])
        ax.set_title(f"target: {result['target']} (p = {result['probabilities'][result['target_index']]:.3f})",
                     fontsize="medium")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("gradient w.r.t. the logit")
    axes[0].legend(fontsize="small")
    return fig
