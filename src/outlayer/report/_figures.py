"""The report's own figures: the worked example (sections 2 and 3), drawn from ``explain`` results.

The labs draw their own figures (:mod:`outlayer.plots.surface`, :mod:`outlayer.plots.training`);
these two only plot numbers that :func:`outlayer.explain.explain` computed. They follow the
conventions of :mod:`outlayer.plots`: a phone-sized panel, classes numbered from 1 (the page's
captions name them), symbols instead of words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from outlayer.plots import (
    LOSS_COLORS,
    PANEL_HEIGHT,
    PANEL_WIDTH,
    REFERENCE_COLOR,
    Panels,
    legend_below,
    new_figure,
    styled,
    subscript,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["TEMPERATURE_COLORS", "gradients_figure", "temperature_figure"]

#: One purple per temperature, light (cold) to dark: no loss colour, so the bars never read as losses.
TEMPERATURE_COLORS: tuple[str, ...] = ("#cbc0e0", "#9467bd", "#4b2f7a")


def _class_ticks(ax: Any, count: int) -> Any:
    import numpy as np

    x = np.arange(count)
    ax.set_xticks(x, [str(k + 1) for k in range(count)])  # classes are numbered from 1 wherever a reader sees them
    ax.set_xlabel("k")
    return x


def _number(value: float) -> str:
    return f"{value:g}".replace("-", "−")


@styled
def temperature_figure(explained: Sequence[Mapping[str, Any]]) -> Figure:
    """Grouped bars: softmax probabilities of the same logits at each temperature (one explain() each)."""
    fig = new_figure(PANEL_WIDTH, PANEL_HEIGHT + 0.3)
    ax = fig.subplots()
    x = _class_ticks(ax, len(explained[0]["classes"]))
    width = 0.8 / len(explained)
    for i, result in enumerate(explained):
        bars = ax.bar(x + (i - (len(explained) - 1) / 2) * width, result["probabilities"], width,
                      color=TEMPERATURE_COLORS[i % len(TEMPERATURE_COLORS)],
                      label=f"T = {_number(result['temperature'])}")
        ax.bar_label(bars, fmt="%.2f", rotation=90, padding=3)
    ax.set(ylabel="pₖ", ylim=(0, 1.22), title=f"z = [{', '.join(_number(v) for v in explained[0]['logits'])}]")
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.grid(axis="y", alpha=0.3)
    legend_below(fig, ax, ncols=3)
    return fig


@styled
def gradients_figure(explained: Sequence[Mapping[str, Any]]) -> Panels:
    """One panel per explain() result (named by its true class): ∂CE/∂zₖ and ∂MSE/∂zₖ for each logit."""
    panels = Panels()
    low = min(min(r["grad_cross_entropy"] + r["grad_mse"]) for r in explained)
    high = max(max(r["grad_cross_entropy"] + r["grad_mse"]) for r in explained)
    pad = 0.08 * (high - low)
    for result in explained:
        fig = new_figure(PANEL_WIDTH, PANEL_HEIGHT)
        ax = fig.subplots()
        x = _class_ticks(ax, len(result["classes"]))
        ax.bar(x - 0.2, result["grad_cross_entropy"], 0.4, label="CE", color=LOSS_COLORS["ce"])
        ax.bar(x + 0.2, result["grad_mse"], 0.4, label="MSE", color=LOSS_COLORS["mse"])
        ax.axhline(0, color=REFERENCE_COLOR, linewidth=0.6)
        t = result["target_index"]
        ax.set_title(f"t = {t + 1}: p{subscript(t + 1)} = {result['probabilities'][t]:.3f}")
        ax.set(ylabel="∂L/∂zₖ", ylim=(low - pad, high + pad))  # one scale for both panels
        ax.grid(axis="y", alpha=0.3)
        legend_below(fig, ax, ncols=2)
        panels[str(result["target"])] = fig
    return panels
