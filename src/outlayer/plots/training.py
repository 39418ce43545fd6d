"""Figures of the training lab, drawn from the JSON-able result of :func:`outlayer.experiments.compare`.

Each function takes that result dict (so the report can redraw from a saved JSON file) and
returns a :class:`matplotlib.figure.Figure` built with :func:`outlayer.plots.new_figure`.
Shaded bands are the 95 % Student-t intervals over seeds; missing values (``null``: a diverged
run, a metric the ``scalar`` head does not have) are left as gaps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from outlayer.plots import LOSS_COLORS, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["accuracy_figure", "adam_first_step_figure", "gradient_figure", "learning_curves_figure", "lr_tuning_figure", "reliability_figure"]


def _array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _title(result: Mapping[str, Any]) -> str:
    config = result["config"]
    n = len(config["seeds"])
    return (f"{config['dataset']['name']}, {config['init']} start, {config['optimizer']}, "
            f"hidden {config['hidden']} {config['activation']}, {n} seed{'s' if n != 1 else ''}")


def _band(ax: Axes, result: Mapping[str, Any], metric: str, *, style: str = "-", label_suffix: str = "",
          band: bool = True) -> bool:
    """Plot metric's mean per loss with its interval band; False when no loss has that metric."""
    drew = False
    for loss, curves in result["curves"].items():
        mean = _array(curves[metric]["mean"])
        if np.all(np.isnan(mean)):
            continue
        epochs = np.arange(len(mean))
        color = LOSS_COLORS.get(loss)
        ax.plot(epochs, mean, style, color=color, label=f"{loss}{label_suffix}")
        if band:
            ax.fill_between(epochs, _array(curves[metric]["low"]), _array(curves[metric]["high"]),
                            color=color, alpha=0.2, linewidth=0)
        drew = True
    return drew


def _positive_log_scale(ax: Axes, result: Mapping[str, Any], metric: str) -> None:
    values = np.concatenate([_array(c[metric]["mean"]) for c in result["curves"].values()])
    if np.any(values > 0) and np.nanmin(np.where(values > 0, values, np.nan)) > 0:
        ax.set_yscale("log")


def learning_curves_figure(result: Mapping[str, Any]) -> Figure:
    """Left: each loss's own training objective per epoch. Right: test NLL (comparable across losses)."""
    fig = new_figure(11.0, 4.5)
    left, right = fig.subplots(1, 2)
    _band(left, result, "train_loss")
    _positive_log_scale(left, result, "train_loss")
    left.set(xlabel="epoch", ylabel="training loss (each run's own objective)", title="training loss")
    if _band(right, result, "test_nll"):
        _positive_log_scale(right, result, "test_nll")
    else:
        right.text(0.5, 0.5, "no probabilistic outputs", ha="center", va="center", transform=right.transAxes)
    right.set(xlabel="epoch", ylabel="test NLL (cross-entropy of softmax outputs)", title="test NLL")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(f"Learning curves, mean and 95% interval over seeds: {_title(result)}", fontsize="medium")
    return fig


def accuracy_figure(result: Mapping[str, Any]) -> Figure:
    """Test accuracy (solid, with band) and training accuracy (dashed) per epoch."""
    fig = new_figure(8.0, 4.5)
    ax = fig.subplots()
    _band(ax, result, "test_accuracy", label_suffix=" test")
    _band(ax, result, "train_accuracy", style="--", label_suffix=" train", band=False)
    target = result["config"].get("target_accuracy")
    if target is not None:
        ax.axhline(target, color="black", linewidth=0.8, linestyle=":", label=f"target {target:g}")
    ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0.0, 1.02), title=f"Accuracy: {_title(result)}")
    ax.title.set_fontsize("medium")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return fig


def gradient_figure(result: Mapping[str, Any]) -> Figure:
    """Mean Euclidean norm of dL/dlogits over the misclassified training samples, per epoch (log scale).

    Each sample's own gradient (the core's ``reduction="none"``), so the scale does not depend on N.
    """
    fig = new_figure(8.0, 4.5)
    ax = fig.subplots()
    _band(ax, result, "grad_misclassified")
    _positive_log_scale(ax, result, "grad_misclassified")
    ax.set(xlabel="epoch", ylabel="mean |dL/dlogits| on misclassified training samples",
           title=f"Push on the samples still wrong (a line ends when none is wrong): {_title(result)}")
    ax.title.set_fontsize("medium")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return fig


def reliability_figure(result: Mapping[str, Any]) -> Figure:
    """Accuracy vs mean confidence per confidence bin on the test split, all seeds pooled."""
    fig = new_figure(6.0, 5.5)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":", label="perfect calibration")
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
        label = f"{loss} (ECE {ece:.3f})" if ece is not None else loss
        ax.plot(confidence, accuracy, "o-", color=LOSS_COLORS.get(loss), label=label, markersize=4)
        drew = True
    if not drew:
        ax.text(0.5, 0.5, "no probabilistic outputs", ha="center", va="center", transform=ax.transAxes)
    n_bins = result["config"]["ece_bins"]
    ax.set(xlabel="mean confidence (max softmax probability) in bin", ylabel="accuracy in bin",
           xlim=(0, 1.01), ylim=(0, 1.01), aspect="equal",
           title=f"Reliability on the test split ({n_bins} equal-width bins, seeds pooled)")
    ax.title.set_fontsize("medium")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    return fig


def lr_tuning_figure(tunings: Mapping[str, Mapping[str, Any]]) -> Figure:
    """Median validation accuracy against the learning rate, one panel per tuning, one line per loss.

    ``tunings``: panel title -> a tuning result (``compare(tune_lr=True)["tuning"]``, or a cell of
    the stored default-rate table). The chosen rate is a star; a rate at which some tuning seeds
    diverged or collapsed to one class is an open circle labelled with that count ("2x" = two
    seeds diverged, "3c" = three collapsed), so a reader sees where the cliff is.
    """
    count = len(tunings)
    cols = min(count, 3)
    rows = -(-count // cols)
    fig = new_figure(4.6 * cols, 3.8 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (title, tuning) in zip(axes, tunings.items()):
        for loss, entry in tuning["losses"].items():
            color = LOSS_COLORS.get(loss)
            rates = np.array([row["lr"] for row in entry["rows"]])
            median = np.array([row["median"] for row in entry["rows"]])
            failed = np.array([row["diverged"] + row["collapsed"] > 0 for row in entry["rows"]])
            ax.plot(rates, median, "-", color=color, label=loss, linewidth=1.5)
            ax.plot(rates[~failed], median[~failed], "o", color=color, markersize=4)
            ax.plot(rates[failed], median[failed], "o", markerfacecolor="white", color=color, markersize=5)
            for row in entry["rows"]:
                marks = (f"{row['diverged']}x" if row["diverged"] else "") + (f"{row['collapsed']}c" if row["collapsed"] else "")
                if marks:
                    ax.annotate(marks, (row["lr"], row["median"]), textcoords="offset points", xytext=(0, -10),
                                ha="center", fontsize=6, color=color)
            chosen = next(row for row in entry["rows"] if row["lr"] == entry["chosen"])
            ax.plot([chosen["lr"]], [chosen["median"]], "*", color=color, markersize=12, markeredgecolor="black",
                    markeredgewidth=0.6)
        ax.set_xscale("log")
        ax.set(xlabel="learning rate (log scale)", ylabel="median validation accuracy", ylim=(0.0, 1.02), title=title)
        ax.title.set_fontsize("medium")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="x-small", loc="lower left")
    for ax in axes[count:]:
        ax.set_visible(False)
    seeds = len(next(iter(next(iter(tunings.values()))["losses"].values()))["rows"][0]["val_accuracy"])
    fig.suptitle(f"Learning-rate tuning: median over {seeds} tuning seeds (star: chosen; open: some seed "
                 "diverged (x) or collapsed to one class (c))", fontsize="medium")
    return fig


def adam_first_step_figure(probe: Mapping[str, Any]) -> Figure:
    """The Adam measurement (:func:`outlayer.adam_probe.measure`'s result), three panels.

    Left: Adam's first step over lr against the gradient over eps, as the optimiser takes it (the
    line), with the toy corner's CE and MSE and the network's median parameter at the confident
    start. Middle: per seed, how many samples of the first mini-batch effectively make its
    gradient. Right: per seed, the share of misclassified training samples whose margin grows
    after Adam's first step.
    """
    fig = new_figure(14.0, 4.3)
    left, middle, right = fig.subplots(1, 3)
    curve = probe["curve"]
    left.plot(curve["grad_over_eps"], curve["step_over_lr"], "-", color="black", linewidth=1.2,
              label="one Adam step: |g| / (|g| + eps)")
    for loss, entry in probe["toy"]["losses"].items():
        left.plot(entry["grad_over_eps"], entry["adam_step_over_lr"], "*", markersize=13, color=LOSS_COLORS.get(loss),
                  markeredgecolor="black", label=f"toy corner, {loss}")
    summary = probe["network_summary"]
    for loss, entry in summary.items():
        left.plot([entry["median_param_grad_over_eps"]["median"]], [entry["median_adam_step_over_lr"]["median"]], "o",
                  markersize=8, color=LOSS_COLORS.get(loss), markerfacecolor="white", markeredgewidth=2,
                  label=f"network, {loss} (median weight)")
    left.set_xscale("log")
    left.set(xlabel="|gradient| / eps (log scale)", ylabel="Adam's first step / lr", ylim=(-0.05, 1.1),
             title="Adam's first step removes the gradient's scale")
    left.title.set_fontsize("medium")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize="x-small", loc="upper left")
    network = probe["network"]
    seeds = [entry["seed"] for entry in network]
    width = 0.38
    positions = np.arange(len(seeds))
    for offset, loss in ((-width / 2, "ce"), (width / 2, "mse")):
        middle.bar(positions + offset, [e["losses"][loss]["effective_samples_first_batch"] for e in network], width,
                   color=LOSS_COLORS.get(loss), label=loss)
        right.bar(positions + offset, [e["losses"][loss]["misclassified_margin_grows"] for e in network], width,
                  color=LOSS_COLORS.get(loss), label=loss)
    batch = probe["setup"]["batch_size"]
    middle.axhline(batch, color="black", linewidth=0.8, linestyle=":", label=f"batch size {batch}")
    middle.set(xlabel="seed", ylabel="effective samples: (sum |g_i|)^2 / sum |g_i|^2",
               title="Who makes the first batch's gradient")
    right.set(xlabel="seed", ylabel="share of misclassified samples", ylim=(0, 1),
              title="Misclassified samples helped by Adam's first step")
    for ax in (middle, right):
        ax.set_xticks(positions, [str(s) for s in seeds])
        ax.title.set_fontsize("medium")
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize="x-small")
    fig.suptitle("Why Adam rescues MSE on the toy corner but not in the network (confident start)", fontsize="medium")
    return fig
