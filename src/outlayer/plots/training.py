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

__all__ = ["accuracy_figure", "gradient_figure", "learning_curves_figure", "reliability_figure"]


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
