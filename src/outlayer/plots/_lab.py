"""Conventions shared by the figures of the lab's experiments (:mod:`outlayer.lab`).

The figures go on a bilingual page, so their text is language-neutral: symbols, numbers, loss
and optimiser names as the command line spells them (ce, mse, sgd, adam); the page's captions
say the rest in both languages. Sizes follow :mod:`outlayer.plots.neuron`: at :data:`WIDTH`
inches shown ~700 px wide, :data:`MIN_FONT_PT` is >= 10 px. Legends sit outside the axes;
annotations are :data:`ANNOTATION` or :data:`GUIDE`, never a data colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from outlayer.plots import LOSS_COLORS
from outlayer.plots.neuron import MIN_FONT_PT, WIDTH

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ANNOTATION", "EXTRA_COLORS", "GUIDE", "MIN_FONT_PT", "OPTIMIZER_STYLES", "WIDTH", "interval_bars",
           "legend_below", "loss_color", "style_axes"]

ANNOTATION = "#222222"
GUIDE = "#8c8c8c"
#: Line style per optimiser (colour is the loss's).
OPTIMIZER_STYLES: dict[str, str] = {"sgd": "-", "momentum": ":", "adam": "--"}
#: Colours for what is not a catalogue loss (a pretrained arm, a rescaled square loss).
EXTRA_COLORS: dict[str, str] = {"ce→mse": "#9467bd", "ce→mse-logits": "#9467bd", "ce→ce-smooth": "#9467bd",
                                "mse-logits k=1 M=15": "#8c564b", "mse-logits k=15 M=30": "#e377c2"}


def loss_color(name: str) -> str:
    """The catalogue's colour of a loss, else :data:`EXTRA_COLORS`, else grey-blue."""
    return LOSS_COLORS.get(name) or EXTRA_COLORS.get(name) or "#17becf"


def style_axes(ax: Axes) -> None:
    """A light grid and tick labels at the page's smallest readable size or above."""
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=MIN_FONT_PT + 1)


def legend_below(fig: Figure, handles: Sequence[Any], labels: Sequence[str], ncol: int) -> None:
    """One legend for the whole figure, below every axes (constrained layout makes room)."""
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=MIN_FONT_PT + 1, frameon=False)


def interval_bars(ax: Axes, x: Sequence[float], stats: Sequence[dict[str, Any]], **style: Any) -> Any:
    """Means with their 95 % intervals as error bars; missing means are skipped."""
    import numpy as np

    points = [(xi, s["mean"], s.get("ci95") or s.get("t_ci95")) for xi, s in zip(x, stats) if s["mean"] is not None]
    if not points:
        return None
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    low = np.array([p[1] - p[2][0] if p[2] else 0.0 for p in points])
    high = np.array([p[2][1] - p[1] if p[2] else 0.0 for p in points])
    return ax.errorbar(xs, ys, yerr=[np.maximum(low, 0), np.maximum(high, 0)], capsize=3, **style)
