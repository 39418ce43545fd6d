"""The plateau at the class priors (:mod:`outlayer.lab.priors`), drawn from its JSON-able result.

Columns: CE, MSE. Top row: the mean output per class (mean of p_c over all training samples)
after every step, with each class's prior pi_c as a dotted line of the class's colour. Bottom
row: the output on each class's own samples (mean of p_c over the samples of class c, log axis)
with the priors dotted and the tolerance band of the "at its prior" definition around the
rarest class's prior; a class that lingers at its prior stays on its dotted line. Class colours
run from dark (frequent) to light (rare). The x axis is in epochs (a step is 1/steps-per-epoch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.plots import new_figure
from outlayer.plots._lab import GUIDE, MIN_FONT_PT, WIDTH, legend_below, style_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["class_colors", "outputs_figure"]


def class_colors(k: int) -> list[str]:
    """One colour per class, dark to light (viridis, stopping short of its pale yellow end)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["viridis"]
    return [to_hex(cmap(v)) for v in np.linspace(0.0, 0.85, k)]


def outputs_figure(result: Mapping[str, Any]) -> Figure:
    """Mean output per class against the priors, and each class's own output, over training."""
    setup = result["setup"]
    prior = np.asarray(setup["prior_mean"], dtype=float)
    k = prior.size
    colors = class_colors(k)
    per_epoch = float(setup["steps_per_epoch"])
    fig = new_figure(WIDTH, 6.4)
    axes = fig.subplots(2, 2, sharex=True)
    handles = []
    for column, loss in enumerate(("ce", "mse")):
        curves = result["losses"][loss]["curves"]
        top, bottom = axes[0, column], axes[1, column]
        top.set_title(f"{loss}", fontsize=MIN_FONT_PT + 2)
        for key, ax in (("mean_output", top), ("own_output", bottom)):
            values = curves[key]
            if values is None:
                continue
            for c in range(k):
                series = np.asarray(values[c], dtype=float)
                t = np.arange(series.size) / per_epoch
                (line,) = ax.plot(t, series, "-", color=colors[c], linewidth=1.3)
                ax.axhline(prior[c], color=colors[c], linestyle=":", linewidth=0.9)
                if key == "mean_output" and column == 0:
                    handles.append(line)
        tolerance = setup["tolerance"]
        rare = prior.min()
        bottom.axhspan(max(rare - tolerance, 1e-4), rare + tolerance, color="#e6e6e6", zorder=0, linewidth=0)
        bottom.axhline(setup["learned"], color=GUIDE, linestyle="--", linewidth=1.0)
        bottom.set_yscale("log")
        bottom.set_ylim(1e-3, 1.2)
        top.set_ylim(0.0, max(0.5, float(prior.max()) * 1.6))
        bottom.set_xlabel("t")
        style_axes(top)
        style_axes(bottom)
    axes[0, 0].set_ylabel(r"$\overline{p_c}$")
    axes[1, 0].set_ylabel(r"$\overline{p_c}\;|\;y = c$")
    labels = [f"{c}: π = {prior[c]:.3f}" for c in range(k)]
    legend_below(fig, handles, labels, ncol=5)
    return fig
