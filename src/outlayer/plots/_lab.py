"""What the figures of the lab's experiments (:mod:`outlayer.lab`) share, on top of :mod:`outlayer.plots`.

The conventions are :mod:`outlayer.plots`' own: phone-sized panels (:class:`~outlayer.plots.Panels`,
:data:`~outlayer.plots.PANEL_WIDTH`, no text under :data:`~outlayer.plots.TEXT_PT`), language-neutral
labels (symbols, numbers, :data:`~outlayer.plots.FIGURE_NAMES`, optimiser names), legends below the
axes, annotations in :data:`~outlayer.plots.ANNOTATION_COLOR` and reference lines in
:data:`~outlayer.plots.REFERENCE_COLOR`. Here: the colours and names of what is not a catalogue
loss (a pretrained arm, a rescaled square loss) and error bars from the lab's statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from outlayer.plots import LOSS_COLORS, figure_name

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["EXTRA_COLORS", "OPTIMIZER_STYLES", "display_name", "interval_bars", "loss_color"]

#: Line style per optimiser (the colour is the loss's).
OPTIMIZER_STYLES: dict[str, str] = {"sgd": "-", "momentum": ":", "adam": "--"}
#: Colours of what is not a catalogue loss.
EXTRA_COLORS: dict[str, str] = {"pretrained": "#9467bd", "mse-logits k=1 M=15": "#8c564b",
                                "mse-logits k=15 M=30": "#e377c2"}


def loss_color(name: str) -> str:
    """The catalogue's colour of a loss, else :data:`EXTRA_COLORS` (by name), else a teal."""
    return LOSS_COLORS.get(name) or EXTRA_COLORS.get(name) or "#17becf"


def display_name(name: str) -> str:
    """A loss or variant as figures write it: CE, MSE, MSE(z), "MSE(z) k=15 M=30", "CE→MSE"."""
    if "→" in name:
        return "→".join(display_name(part) for part in name.split("→"))
    loss, _, rest = name.partition(" ")
    return f"{figure_name(loss)} {rest}".strip()


def interval_bars(ax: Axes, x: Sequence[float], stats: Sequence[Mapping[str, Any]], **style: Any) -> Any:
    """Means with their 95 % intervals (``ci95`` or ``t_ci95``) as error bars; missing means are skipped."""
    import numpy as np

    points = [(xi, s["mean"], s.get("ci95") or s.get("t_ci95")) for xi, s in zip(x, stats) if s["mean"] is not None]
    if not points:
        return None
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    low = np.array([p[1] - p[2][0] if p[2] else 0.0 for p in points])
    high = np.array([p[2][1] - p[1] if p[2] else 0.0 for p in points])
    return ax.errorbar(xs, ys, yerr=[np.maximum(low, 0), np.maximum(high, 0)], capsize=3, **style)
