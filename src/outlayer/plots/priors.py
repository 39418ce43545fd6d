"""The plateau at the class priors (:mod:`outlayer.lab.priors`), drawn from its JSON-able result.

Four panels, per loss (CE, MSE): ``<loss>-mean``, the mean output per class over all training
samples p̄(c) after every step, with each class's prior π_c as a dotted line of the class's
colour; ``<loss>-own``, the output on each class's own samples p̄(c | y = c) (log axis), with the
priors dotted, the rarest class's prior ± the tolerance as a grey band and the "learned"
threshold as a reference line. A class that lingers at its prior stays on its dotted line. Class
colours run from dark (frequent) to light (rare); the x axis is in epochs (a step is 1/steps-per-epoch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from outlayer.plots import PANEL_WIDTH, REFERENCE_COLOR, Panels, figure_name, legend_below, log_axis, new_figure, styled

__all__ = ["MAX_POINTS", "PANELS", "class_colors", "outputs_figure"]

#: The panels, in reading order: loss x (mean output per class, each class's own output).
PANELS: tuple[str, ...] = ("ce-mean", "ce-own", "mse-mean", "mse-own")
#: Points per curve after the first epoch (each curve has one per step: 241 for 20 epochs of digits).
MAX_POINTS = 100


def class_colors(k: int) -> list[str]:
    """One colour per class, dark to light (viridis, stopping short of its pale yellow end)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["viridis"]
    return [to_hex(cmap(v)) for v in np.linspace(0.0, 0.85, k)]


@styled
def outputs_figure(result: Mapping[str, Any], panels: tuple[str, ...] = PANELS) -> Panels:
    """Mean output per class against the priors, and each class's own output, over training
    (``panels``: which of :data:`PANELS`, in that order; the first "mean" panel carries the legend)."""
    from matplotlib.ticker import NullLocator

    setup = result["setup"]
    prior = np.asarray(setup["prior_mean"], dtype=float)
    k = prior.size
    colors = class_colors(k)
    per_epoch = float(setup["steps_per_epoch"])
    steps = len(result["losses"]["ce"]["curves"]["mean_output"][0]) if result["losses"]["ce"]["curves"]["mean_output"] else 1
    # every step of the first epoch (where the outputs move fast), then at most MAX_POINTS in all: the files stay small
    shown = np.unique(np.concatenate([np.arange(min(steps, int(per_epoch) + 1)),
                                      np.linspace(0, steps - 1, min(steps, MAX_POINTS)).round().astype(int)]))
    unknown = sorted(set(panels) - set(PANELS))
    if unknown:
        raise ValueError(f"unknown panel {unknown[0]!r}; choose from {', '.join(PANELS)}")
    legend_on = next((name for name in panels if name.endswith("-mean")), None)
    drawn = Panels()
    for panel in panels:
        loss, name = panel.split("-")
        key = {"mean": "mean_output", "own": "own_output"}[name]
        curves = result["losses"][loss]["curves"]
        fig = new_figure(PANEL_WIDTH, 4.2 if panel == legend_on else 3.3)
        ax = fig.subplots()
        values = curves[key]
        if values is not None:
            for c in range(k):
                series = np.asarray(values[c], dtype=float)[shown]
                ax.plot(shown / per_epoch, series, "-", color=colors[c], linewidth=1.3,
                        label=f"{c}: π = {prior[c]:.3f}")
                ax.axhline(prior[c], color=colors[c], linestyle=":", linewidth=0.9)
        if key == "own_output":
            rare = prior.min()
            ax.axhspan(max(rare - setup["tolerance"], 1e-4), rare + setup["tolerance"], color="#e6e6e6", zorder=0,
                       linewidth=0)
            ax.axhline(setup["learned"], color=REFERENCE_COLOR, linestyle="--", linewidth=1.0)
            ax.set_yscale("log")
            ax.set_ylim(1e-3, 1.2)
            log_axis(ax.yaxis, numticks=4)
            ax.yaxis.set_minor_locator(NullLocator())  # no minor ticks: smaller files, nothing lost
            ax.set_ylabel("p̄(c | y = c)")
        else:
            ax.set_ylim(0.0, max(0.5, float(prior.max()) * 1.6))
            ax.set_ylabel("p̄(c)")
        ax.set_title(figure_name(loss))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if panel == legend_on:
            legend_below(fig, ax, ncols=3)
        drawn[panel] = fig
    return drawn
