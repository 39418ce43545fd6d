"""Figures of the training lab, drawn from the JSON-able result of :func:`outlayer.experiments.compare`.

Each function takes that result dict (so the report can redraw from a saved JSON file) and
returns a :class:`matplotlib.figure.Figure` (or :class:`~outlayer.plots.Panels`, one panel per
quantity) built with :func:`outlayer.plots.new_figure`, sized and labelled by the conventions of
:mod:`outlayer.plots`: one panel fits a phone column, labels are symbols, short loss names and a
few technical words; the setup (dataset, start, optimiser, seeds) goes in the caption of whoever
shows the figure. Shaded bands are the 95 % Student-t intervals over seeds; missing values
(``null``: a diverged run, a metric the ``scalar`` head does not have) are left as gaps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.plots import (
    ANNOTATION_COLOR,
    LOSS_COLORS,
    PANEL_HEIGHT,
    PANEL_WIDTH,
    REFERENCE_COLOR,
    Panels,
    figure_name,
    legend_below,
    log_axis,
    new_figure,
    styled,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["accuracy_figure", "adam_first_step_figure", "gradient_figure", "learning_curves_figure", "lr_tuning_figure",
           "reliability_figure"]


def _array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _band(ax: Axes, result: Mapping[str, Any], metric: str, *, style: str = "-", label: bool = True,
          band: bool = True) -> bool:
    """Plot metric's mean per loss with its interval band; False when no loss has that metric."""
    drew = False
    for loss, curves in result["curves"].items():
        mean = _array(curves[metric]["mean"])
        if np.all(np.isnan(mean)):
            continue
        epochs = np.arange(len(mean))
        color = LOSS_COLORS.get(loss)
        ax.plot(epochs, mean, style, color=color, label=figure_name(loss) if label else None)
        if band:
            ax.fill_between(epochs, _array(curves[metric]["low"]), _array(curves[metric]["high"]),
                            color=color, alpha=0.2, linewidth=0)
        drew = True
    return drew


def _positive_log_scale(ax: Axes, result: Mapping[str, Any], metric: str) -> None:
    values = np.concatenate([_array(c[metric]["mean"]) for c in result["curves"].values()])
    if np.any(values > 0) and np.nanmin(np.where(values > 0, values, np.nan)) > 0:
        ax.set_yscale("log")
        log_axis(ax.yaxis, numticks=5)


def _no_data(ax: Axes) -> None:
    """An empty panel says so without words: an em dash where the curves would be."""
    ax.text(0.5, 0.5, "—", ha="center", va="center", transform=ax.transAxes, color=ANNOTATION_COLOR)


def _integer_epochs(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))


@styled
def learning_curves_figure(result: Mapping[str, Any]) -> Panels:
    """Panel ``train_loss``: each loss's own training objective per epoch (not comparable across
    losses). Panel ``test_nll``: the test cross-entropy of the softmax outputs (comparable)."""
    panels = Panels()
    for metric, ylabel in (("train_loss", "L (train)"), ("test_nll", "NLL (test)")):
        fig = new_figure(PANEL_WIDTH, PANEL_HEIGHT + 0.3)
        ax = fig.subplots()
        if _band(ax, result, metric):
            _positive_log_scale(ax, result, metric)
            legend_below(fig, ax, ncols=4)
        else:
            _no_data(ax)
        ax.set(xlabel="epoch", ylabel=ylabel)
        _integer_epochs(ax)
        ax.grid(alpha=0.3)
        panels[metric] = fig
    return panels


def _style_key(fig: Figure, ax: Axes, extra: Sequence[Any] = ()) -> None:
    """A legend under the axes: one entry per loss colour, then solid = test, dashed = train."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    seen: dict[str, Any] = {}
    for handle, label in zip(handles, labels):
        seen.setdefault(label, handle)
    styles = [Line2D([], [], color=REFERENCE_COLOR, linestyle="-", label="test"),
              Line2D([], [], color=REFERENCE_COLOR, linestyle="--", label="train"), *extra]
    items = list(seen.values()) + styles
    fig.legend(handles=items, labels=[h.get_label() for h in items], loc="outside lower center", frameon=False,
               ncols=min(len(items), 5))


@styled
def accuracy_figure(result: Mapping[str, Any]) -> Figure:
    """Test accuracy (solid, with band) and training accuracy (dashed) per epoch, one colour per loss."""
    from matplotlib.lines import Line2D

    fig = new_figure(PANEL_WIDTH, PANEL_HEIGHT)
    ax = fig.subplots()
    _band(ax, result, "test_accuracy")
    _band(ax, result, "train_accuracy", style="--", label=False, band=False)
    target = result["config"].get("target_accuracy")
    extra = []
    if target is not None:
        ax.axhline(target, color=REFERENCE_COLOR, linewidth=0.8, linestyle=":")
        extra.append(Line2D([], [], color=REFERENCE_COLOR, linewidth=0.8, linestyle=":", label=f"{target:.0%}"))
    ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0.0, 1.02))
    _integer_epochs(ax)
    ax.grid(alpha=0.3)
    _style_key(fig, ax, extra)
    return fig


@styled
def gradient_figure(result: Mapping[str, Any]) -> Figure:
    """Mean Euclidean norm of dL/dz over the misclassified training samples, per epoch (log scale).

    Each sample's own gradient (the core's ``reduction="none"``), so the scale does not depend on
    N; a line ends when no training sample is misclassified any more.
    """
    fig = new_figure(PANEL_WIDTH, PANEL_HEIGHT)
    ax = fig.subplots()
    _band(ax, result, "grad_misclassified")
    _positive_log_scale(ax, result, "grad_misclassified")
    ax.set(xlabel="epoch", ylabel="‖∂L/∂z‖")
    _integer_epochs(ax)
    ax.grid(alpha=0.3, which="both")
    legend_below(fig, ax, ncols=4)
    return fig


@styled
def reliability_figure(result: Mapping[str, Any]) -> Figure:
    """Accuracy vs mean confidence per confidence bin on the test split, all seeds pooled; the
    dotted diagonal is perfect calibration, the legend gives each loss's ECE."""
    fig = new_figure(PANEL_WIDTH, 4.9)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color=REFERENCE_COLOR, linewidth=0.8, linestyle=":")
    drew = False
    for loss, entry in result["summary"].items():
        bins = entry.get("reliability")
        if not bins:
            continue
        count = np.array(bins["count"])
        used = count > 0
        confidence = np.array(bins["confidence_sum"])[used] / count[used]
        accuracy = np.array(bins["correct_sum"])[used] / count[used]
        ece = entry["test_ece"]["mean"]
        label = f"{figure_name(loss)}: ECE {ece:.3f}" if ece is not None else figure_name(loss)
        ax.plot(confidence, accuracy, "o-", color=LOSS_COLORS.get(loss), label=label, markersize=4)
        drew = True
    if not drew:
        _no_data(ax)
    ax.set(xlabel="confidence", ylabel="accuracy", xlim=(0, 1.01), ylim=(0, 1.01), aspect="equal")
    ax.grid(alpha=0.3)
    if drew:
        legend_below(fig, ax, ncols=2)
    return fig


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@styled
def lr_tuning_figure(tunings: Mapping[str, Mapping[str, Any]]) -> Panels:
    """Median validation accuracy against the learning rate: one panel per tuning, one line per loss.

    ``tunings``: label -> a tuning result (``compare(tune_lr=True)["tuning"]``, or a cell of the
    stored default-rate table). A panel is named and titled by the tuning's own ``init`` and
    ``optimizer`` ("gentle · sgd", the command line's values) when it has them, else by its label.
    The chosen rate is a star; a rate at which some tuning seeds diverged or collapsed to one class
    is an open circle marked with that count ("2×" = two seeds diverged, "3c" = three collapsed; a
    run of equal counts is marked once, at its first rate), so a reader sees where the cliff is.
    """
    panels = Panels()
    for label, tuning in tunings.items():
        named = "init" in tuning and "optimizer" in tuning
        title = f"{tuning['init']} · {tuning['optimizer']}" if named else label
        fig = new_figure(PANEL_WIDTH, PANEL_HEIGHT + 0.3)
        ax = fig.subplots()
        labelled: set[tuple[float, float]] = set()
        for loss, entry in tuning["losses"].items():
            color = LOSS_COLORS.get(loss)
            rates = np.array([row["lr"] for row in entry["rows"]])
            median = np.array([row["median"] for row in entry["rows"]])
            failed = np.array([row["diverged"] + row["collapsed"] > 0 for row in entry["rows"]])
            ax.plot(rates, median, "-", color=color, label=figure_name(loss), linewidth=1.5)
            ax.plot(rates[~failed], median[~failed], "o", color=color, markersize=4)
            ax.plot(rates[failed], median[failed], "o", markerfacecolor="white", color=color, markersize=5)
            previous = ""
            for row in entry["rows"]:
                marks = (f"{row['diverged']}×" if row["diverged"] else "") + (f"{row['collapsed']}c" if row["collapsed"] else "")
                if marks and marks != previous:  # a run of equal marks is labelled once, at its first rate
                    point = (row["lr"], round(row["median"], 2))
                    above = point in labelled  # a second label at the same point goes above it
                    labelled.add(point)
                    ax.annotate(marks, (row["lr"], row["median"]), textcoords="offset points",
                                xytext=(0, 6 if above else -13), ha="center", color=ANNOTATION_COLOR)
                previous = marks
            chosen = next(row for row in entry["rows"] if row["lr"] == entry["chosen"])
            ax.plot([chosen["lr"]], [chosen["median"]], "*", color=color, markersize=12, markeredgecolor="black",
                    markeredgewidth=0.6)
        ax.set_xscale("log")
        log_axis(ax.xaxis, numticks=6)
        ax.set(xlabel="lr", ylabel="accuracy (validation)", ylim=(-0.08, 1.04), title=title)
        ax.grid(alpha=0.3, which="major")
        legend_below(fig, ax, ncols=4)
        panels[_slug(f"{tuning['init']}-{tuning['optimizer']}" if named else label)] = fig
    return panels


@styled
def adam_first_step_figure(probe: Mapping[str, Any]) -> Panels:
    """The Adam measurement (:func:`outlayer.probes.measure`'s result), three panels.

    ``step``: Adam's first step over lr against |g| / eps as the optimiser takes it (the line
    |g| / (|g| + eps)), with the toy corner's CE and MSE (stars) and the network's median weight
    at the confident start (open circles). ``effective``: per seed, how many samples of the first
    mini-batch effectively make its gradient, (sum |g_i|)^2 / sum g_i^2. ``helped``: per seed, the
    share of misclassified training samples whose margin grows after Adam's first step.
    """
    panels = Panels()
    fig = new_figure(PANEL_WIDTH, PANEL_HEIGHT + 0.5)
    left = fig.subplots()
    curve = probe["curve"]
    left.plot(curve["grad_over_eps"], curve["step_over_lr"], "-", color=REFERENCE_COLOR, linewidth=1.2,
              label="|g| / (|g| + ε)")
    for loss, entry in probe["toy"]["losses"].items():
        left.plot(entry["grad_over_eps"], entry["adam_step_over_lr"], "*", markersize=13, color=LOSS_COLORS.get(loss),
                  markeredgecolor="black", label=figure_name(loss))
    for loss, entry in probe["network_summary"].items():
        left.plot([entry["median_param_grad_over_eps"]["median"]], [entry["median_adam_step_over_lr"]["median"]], "o",
                  markersize=8, color=LOSS_COLORS.get(loss), markerfacecolor="white", markeredgewidth=2,
                  label=figure_name(loss))
    left.set_xscale("log")
    log_axis(left.xaxis, numticks=6)
    left.set(xlabel="|g| / ε", ylabel="|Δθ| / lr", ylim=(-0.05, 1.1))
    left.grid(alpha=0.3, which="major")
    legend_below(fig, left, ncols=3)
    panels["step"] = fig
    network = probe["network"]
    seeds = [entry["seed"] for entry in network]
    width = 0.38
    positions = np.arange(len(seeds))
    batch = probe["setup"]["batch_size"]
    for name, key, ylabel in (("effective", "effective_samples_first_batch", "(Σ|gᵢ|)² / Σgᵢ²"),
                              ("helped", "misclassified_margin_grows", "share")):
        fig = new_figure(PANEL_WIDTH, PANEL_HEIGHT)
        ax = fig.subplots()
        for offset, loss in ((-width / 2, "ce"), (width / 2, "mse")):
            ax.bar(positions + offset, [e["losses"][loss][key] for e in network], width, color=LOSS_COLORS.get(loss),
                   label=figure_name(loss))
        if name == "effective":
            ax.axhline(batch, color=REFERENCE_COLOR, linewidth=0.8, linestyle=":", label=f"B = {batch}")
        else:
            ax.set_ylim(0, 1)
        ax.set(xlabel="seed", ylabel=ylabel)
        ax.set_xticks(positions, [str(s) for s in seeds])
        ax.grid(alpha=0.3, axis="y")
        legend_below(fig, ax, ncols=3)
        panels[name] = fig
    return panels
