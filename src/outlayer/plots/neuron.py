"""Figures of Nielsen's single neuron (:mod:`outlayer.neuron`), drawn from its JSON-able result.

Each function takes the dict returned by :func:`outlayer.neuron.run` (so a saved JSON file can be
redrawn) and returns a :class:`matplotlib.figure.Figure`; nothing is computed here but what
drawing needs. Conventions shared by both figures:

* colours: quadratic cost red, cross-entropy blue (the MSE and CE colours of every other figure);
  line style: solid at Nielsen's rate (a run that is both Nielsen's and the equal rate is solid),
  dashed at the equal rate;
* annotations (closed forms, threshold lines, start markers, tables) are black or grey, never a
  data colour; legends sit outside the axes;
* sized for a page that shows the figure about 700 px wide: at :data:`WIDTH` inches every text is
  at least :data:`MIN_FONT_PT` points, i.e. >= 10 px on screen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.plots import LOSS_COLORS, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["COST_COLORS", "MIN_FONT_PT", "WIDTH", "gradient_figure", "learning_figure", "page_panels"]

#: Figure width in inches; at 700 px on screen one point is 700 / (72 * WIDTH) ~ 1.2 px.
WIDTH = 8.0
#: Smallest font used anywhere: 9 pt * 700 / (72 * 8) ~ 10.9 px at 700 px wide.
MIN_FONT_PT = 9.0

COST_COLORS: dict[str, str] = {"quadratic": LOSS_COLORS["mse"], "cross-entropy": LOSS_COLORS["ce"]}
_ANNOTATION = "#222222"
_GUIDE = "#8c8c8c"
_COST_LABELS = {"quadratic": "quadratic", "cross-entropy": "cross-entropy"}


def _style(run: Mapping[str, Any]) -> dict[str, Any]:
    nielsen = "nielsen" in run["rate_settings"]
    return {"color": COST_COLORS[run["cost"]], "linestyle": "-" if nielsen else "--", "linewidth": 1.8}


def _rate_label(run: Mapping[str, Any]) -> str:
    settings = run["rate_settings"]
    if set(settings) >= {"nielsen", "equal"}:
        which = "Nielsen's = equal rate"
    elif "nielsen" in settings:
        which = "Nielsen's rate"
    else:
        which = "equal rate"
    return f"{_COST_LABELS[run['cost']]}, \u03b7 = {run['lr']:g} ({which})"


def _starts(result: Mapping[str, Any]) -> list[tuple[float, float]]:
    return [(float(w), float(b)) for w, b in result["config"]["starts"]]


def _runs_at(result: Mapping[str, Any], start: tuple[float, float]) -> list[Mapping[str, Any]]:
    return [r for r in result["runs"] if (r["w0"], r["b0"]) == start]


def _steps_text(value: int | None, epochs: int) -> str:
    return f"> {epochs}" if value is None else str(value)


def _closed_forms_text(result: Mapping[str, Any]) -> str:
    forms = result["closed_forms"]
    config = result["config"]
    return (f"{forms['neuron']},  x = {config['x']:g},  y = {config['y']:g};  plain gradient descent, one step per epoch\n"
            f"quadratic: {forms['quadratic']['cost']},  dC/dw = {forms['quadratic']['dC/dw']}      "
            f"cross-entropy: dC/dw = {forms['cross-entropy']['dC/dw']}")


def learning_figure(result: Mapping[str, Any]) -> Figure:
    """Output ``a`` (top row) and cost ``C`` (middle row) per epoch, one column per start.

    Both costs and both rate settings in every panel; the a = threshold lines are grey; the bottom
    row is each start's table of epochs to ``a < threshold``, printed beside the curves.
    """
    starts = _starts(result)
    config = result["config"]
    thresholds = [float(t) for t in config["thresholds"]]
    epochs = int(config["epochs"])
    columns = len(starts) if len(starts) <= 3 else 2  # more starts wrap into blocks of two columns
    blocks = math.ceil(len(starts) / columns)
    fig = new_figure(WIDTH, 1.0 + 6.2 * blocks)
    grid = fig.add_gridspec(3 * blocks, columns, height_ratios=[3.0, 2.4, 0.8] * blocks)
    handles: dict[str, Any] = {}
    for index, start in enumerate(starts):
        block, column = divmod(index, columns)
        runs = _runs_at(result, start)
        top = fig.add_subplot(grid[3 * block, column])
        middle = fig.add_subplot(grid[3 * block + 1, column], sharex=top)
        table = fig.add_subplot(grid[3 * block + 2, column])
        a0 = runs[0]["output"][0] if runs else float("nan")
        top.set_title(f"start (w, b) = ({start[0]:g}, {start[1]:g}): a\u2080 = {a0:.3f}", fontsize=10)
        for threshold in thresholds:
            top.axhline(threshold, color=_GUIDE, linestyle=":", linewidth=1.0, zorder=1)
            top.annotate(f"a = {threshold:g}", xy=(1.0, threshold), xycoords=("axes fraction", "data"),
                         xytext=(3, 0), textcoords="offset points", va="center", ha="left",
                         fontsize=MIN_FONT_PT, color=_ANNOTATION)
        for run in runs:
            steps = np.arange(len(run["output"]))
            label = _rate_label(run)
            (line,) = top.plot(steps, run["output"], label=label, zorder=3, **_style(run))
            middle.plot(steps, run["cost_per_epoch"], zorder=3, **_style(run))
            handles.setdefault(label, line)
        top.set_ylim(0.0, 1.0)
        top.set_xlim(0, epochs)
        top.set_ylabel("output a")
        top.tick_params(labelbottom=False)
        middle.set_yscale("log")
        middle.set_xlabel("epoch")
        middle.set_ylabel("cost C (log scale)")
        for ax in (top, middle):
            ax.grid(True, color="#e6e6e6", linewidth=0.8, zorder=0)
            ax.tick_params(labelsize=MIN_FONT_PT)
        _epochs_table(table, runs, thresholds, epochs)
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center", ncols=2,
               fontsize=MIN_FONT_PT, frameon=False)
    fig.suptitle(_closed_forms_text(result), fontsize=MIN_FONT_PT, color=_ANNOTATION)
    return fig


def _epochs_table(ax: Axes, runs: Sequence[Mapping[str, Any]], thresholds: Sequence[float], epochs: int) -> None:
    """The start's epochs to each threshold, one line per run, as black text on an empty axes."""
    ax.set_axis_off()
    header = "epochs to" + "".join(f"   a < {t:g}" for t in thresholds)
    lines = [header]
    for run in runs:
        cells = "".join(f"{_steps_text(run['epochs_to_output_below'][format(t, 'g')], epochs):>10}"
                        for t in thresholds)
        short = "quadratic" if run["cost"] == "quadratic" else "cross-ent."
        lines.append(f"{short} \u03b7={run['lr']:<6g}{cells}")
    ax.text(0.0, 1.0, "\n".join(lines), transform=ax.transAxes, va="top", ha="left", family="monospace",
            fontsize=MIN_FONT_PT, color=_ANNOTATION)


def gradient_figure(result: Mapping[str, Any]) -> Figure:
    """Left: ``dC/dw`` against ``a`` for both costs. Right: their ratio, ``a (1 - a) = sigma'(z)``.

    The starts' outputs are marked with grey verticals; each cost's closed form is written beside
    its curve (in black, with a thin pointer).
    """
    curve = result["gradient_curve"]
    forms = result["closed_forms"]
    a = np.asarray(curve["a"], dtype=np.float64)
    fig = new_figure(WIDTH, 3.9)
    left, right = fig.subplots(1, 2, width_ratios=[1.25, 1.0])
    start_outputs = [((entry["w0"], entry["b0"]), entry["output"]) for entry in result["starts"]]
    for cost in ("quadratic", "cross-entropy"):
        values = np.array([np.nan if v is None else v for v in curve["dC/dw"][cost]], dtype=np.float64)
        left.plot(a, values, color=COST_COLORS[cost], linewidth=2.0, label=_COST_LABELS[cost], zorder=3)
    ratio = np.array([np.nan if v is None else v for v in curve["ratio_quadratic_to_cross_entropy"]])
    right.plot(a, ratio, color="#6a3d9a", linewidth=2.0, zorder=3)  # purple: neither cost's colour
    for ax in (left, right):
        for _start, a0 in start_outputs:
            ax.axvline(a0, color=_GUIDE, linestyle=":", linewidth=1.0, zorder=1)
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("output a")
        ax.grid(True, color="#e6e6e6", linewidth=0.8, zorder=0)
        ax.tick_params(labelsize=MIN_FONT_PT)
    for (w0, b0), a0 in start_outputs:
        left.annotate(f"start ({w0:g}, {b0:g})", xy=(a0, 0.25), xycoords=("data", "axes fraction"), xytext=(-3, 0),
                      textcoords="offset points", rotation=90, ha="right", va="bottom", fontsize=MIN_FONT_PT,
                      color=_ANNOTATION)
    x, y = curve["x"], curve["y"]
    left.set_ylabel(f"dC/dw  (x = {x:g}, y = {y:g})")
    left.set_title("gradient reaching the weight", fontsize=10)
    # closed forms beside their curves, placed in the empty upper-left of the panel
    ce_values = np.array(curve["dC/dw"]["cross-entropy"], dtype=np.float64)
    quad_values = np.array(curve["dC/dw"]["quadratic"], dtype=np.float64)
    top = float(np.nanmax(np.abs(np.concatenate([ce_values, quad_values]))))
    pointer = {"arrowstyle": "-", "color": _ANNOTATION, "linewidth": 0.8}
    ce_at = int(np.argmin(np.abs(a - 0.55)))
    left.annotate(f"cross-entropy:\ndC/dw = {forms['cross-entropy']['dC/dw']}", xy=(a[ce_at], ce_values[ce_at]),
                  xytext=(0.04, 0.96), textcoords="axes fraction", ha="left", va="top", fontsize=MIN_FONT_PT,
                  color=_ANNOTATION, arrowprops=pointer)
    quad_at = int(np.argmin(np.abs(a - 0.3)))
    left.annotate(f"quadratic:\ndC/dw = {forms['quadratic']['dC/dw']}", xy=(a[quad_at], quad_values[quad_at]),
                  xytext=(0.04, 0.60), textcoords="axes fraction", ha="left", va="top", fontsize=MIN_FONT_PT,
                  color=_ANNOTATION, arrowprops=pointer)
    left.set_ylim(min(0.0, float(np.nanmin(np.concatenate([ce_values, quad_values])))) * 1.05, top * 1.05)
    right.set_title("ratio quadratic / cross-entropy", fontsize=10)
    right.set_ylabel("dC/dw ratio")
    right.set_ylim(0.0, max(0.3, float(np.nanmax(ratio)) * 1.15))
    at_starts = [f"{entry['ratio_quadratic_to_cross_entropy']:.3f} at start ({entry['w0']:g}, {entry['b0']:g})"
              for entry in result["starts"] if entry["ratio_quadratic_to_cross_entropy"] is not None]
    right.set_xlabel("\n".join(["output a", *at_starts]), fontsize=10)
    for entry in result["starts"]:
        if entry["ratio_quadratic_to_cross_entropy"] is not None:
            right.plot([entry["output"]], [entry["ratio_quadratic_to_cross_entropy"]], marker="o", markersize=5,
                       markerfacecolor="white", markeredgecolor=_ANNOTATION, linestyle="none", zorder=4)
    right.text(0.5, 0.96, forms["sigma_prime"], transform=right.transAxes, ha="center", va="top",
               fontsize=MIN_FONT_PT, color=_ANNOTATION)
    return fig


def page_panels(result: Mapping[str, Any]) -> Any:
    """The report's phone-sized panels of the experiment (:mod:`outlayer.plots` conventions).

    One panel per start, ``a`` per epoch for every run (the quadratic cost is MSE's two-class case,
    drawn in MSE's colour, cross-entropy in CE's; solid at Nielsen's rates, dashed at the equal
    rate; the thresholds as reference lines), and a panel ``gradient``: ``dC/dw`` against ``a`` for
    both costs. Labels are symbols and the figure names CE, MSE; the page's captions explain them.
    """
    from outlayer.plots import PANEL_WIDTH, REFERENCE_COLOR, Panels, legend_below, styled

    @styled
    def draw() -> Any:
        panels = Panels()
        names = {"quadratic": "MSE", "cross-entropy": "CE"}
        for start in _starts(result):
            fig = new_figure(PANEL_WIDTH, 3.8)
            ax = fig.subplots()
            for threshold in result["config"]["thresholds"]:
                ax.axhline(float(threshold), color=REFERENCE_COLOR, linestyle=":", linewidth=1.0, zorder=1)
            for run in _runs_at(result, start):
                ax.plot(np.arange(len(run["output"])), run["output"], zorder=3,
                        label=f"{names[run['cost']]}, η = {run['lr']:g}", **_style(run))
            ax.set_ylim(0.0, 1.0)
            ax.set_xlim(0, int(result["config"]["epochs"]))
            ax.set_title(f"(w, b) = ({start[0]:g}, {start[1]:g})")
            ax.set_xlabel("epoch")
            ax.set_ylabel("a")
            ax.grid(True, color="#e6e6e6", linewidth=0.8, zorder=0)
            legend_below(fig, ax, ncols=2)
            panels[f"start {start[0]:g} {start[1]:g}"] = fig
        curve = result["gradient_curve"]
        fig = new_figure(PANEL_WIDTH, 3.6)
        ax = fig.subplots()
        a = np.asarray(curve["a"], dtype=np.float64)
        for cost in ("quadratic", "cross-entropy"):
            values = np.array([np.nan if v is None else v for v in curve["dC/dw"][cost]], dtype=np.float64)
            ax.plot(a, values, color=COST_COLORS[cost], linewidth=2.0, label=names[cost], zorder=3)
        for entry in result["starts"]:
            ax.axvline(entry["output"], color=REFERENCE_COLOR, linestyle=":", linewidth=1.0, zorder=1)
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("a")
        ax.set_ylabel("∂C/∂w")
        ax.grid(True, color="#e6e6e6", linewidth=0.8, zorder=0)
        legend_below(fig, ax, ncols=2)
        panels["gradient"] = fig
        return panels

    return draw()
