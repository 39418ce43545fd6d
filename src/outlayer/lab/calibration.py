"""Calibration done properly: temperature scaling for every loss, a noise floor, an overconfident start.

A network is calibrated when, among the test samples it predicts with confidence c, a fraction
c is right; the expected calibration error (ECE) measures the gap over 15 equal-width confidence
bins (Guo, Pleiss, Sun & Weinberger 2017). Three measurements:

1. **Temperature scaling** (Guo et al.): one scalar T per run, fitted on the validation split's
   NLL (:func:`outlayer.experiments.fit_temperature`: a log grid of 121 temperatures from 1e-3 to
   1e3 that contains T = 1, so the fitted T never raises the validation NLL), then applied to the
   test logits: softmax(z / T) keeps every prediction and changes only the confidence. Per loss:
   T, ECE and NLL on the test split before and after, and the per-seed changes with paired
   intervals (``compare()``'s ``summary[loss]["calibration"]``).
2. **A noise floor for ECE**: even a perfectly calibrated model has ECE > 0 on a finite test set.
   For each run, every bin's samples are given the bin's mean confidence and their correctness
   is redrawn as Bernoulli(confidence), i.e. from a model that is calibrated by construction,
   with the run's own confidence histogram and test-set size; the ECE of each of
   :attr:`CalibrationConfig.noise_resamples` redraws gives the floor (mean and 95th percentile).
   An ECE below the floor's 95th percentile is not evidence of miscalibration.
3. **An overconfident baseline**: CE trained from the confident start (initial logits of
   standard deviation 30) stays overconfident; label smoothing (Müller, Kornblith & Hinton 2019)
   should lower ECE there, and can raise it from the gentle start, where CE is not overconfident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from outlayer import _checks as check
from outlayer.catalogue import PLANE_LOSSES
from outlayer.config import CompareConfig
from outlayer.lab import _common
from outlayer.optim import OPTIMIZER_NAMES

__all__ = ["SOURCES", "CalibrationConfig", "cell_report", "ece_noise_floor", "run", "summary_lines"]

SOURCES = {
    "guo2017": {"title": "Guo, Pleiss, Sun, Weinberger (2017), On Calibration of Modern Neural Networks",
                "url": "https://arxiv.org/abs/1706.04599"},
    "muller2019": {"title": "Müller, Kornblith, Hinton (2019), When Does Label Smoothing Help?",
                   "url": "https://arxiv.org/abs/1906.02629"},
}

#: The overconfident baseline and its label-smoothed twin.
OVERCONFIDENT_LOSSES: tuple[str, ...] = ("ce", "ce-smooth")


@dataclass(frozen=True)
class CalibrationConfig:
    """Settings: ``losses`` trained from the gentle start; CE and CE + label smoothing also from the
    confident start (the overconfident baseline); one optimiser for both."""

    losses: tuple[str, ...] = PLANE_LOSSES
    optimizer: str = "sgd"
    seeds: int = CompareConfig.seeds
    first_seed: int = 0
    epochs: int = CompareConfig.epochs
    dataset: str = CompareConfig.dataset
    confident: bool = True
    noise_resamples: int = 2000
    noise_seed: int = 0

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"losses": PLANE_LOSSES, "optimizer": OPTIMIZER_NAMES}
    QUICK: ClassVar[dict[str, Any]] = {"seeds": 2, "epochs": 4, "noise_resamples": 200}

    def __post_init__(self) -> None:
        object.__setattr__(self, "losses", check.names("losses", "loss", self.losses, PLANE_LOSSES))
        check.choice("optimizer", self.optimizer, OPTIMIZER_NAMES)
        object.__setattr__(self, "seeds", _common.bounded("seeds", self.seeds, 1, _common.MAX_SEEDS))
        object.__setattr__(self, "first_seed", check.integer("first_seed", self.first_seed, low=0))
        object.__setattr__(self, "epochs", _common.bounded("epochs", self.epochs, 1, _common.MAX_EPOCHS))
        object.__setattr__(self, "noise_resamples", _common.bounded("noise_resamples", self.noise_resamples, 10,
                                                                     1_000_000))
        object.__setattr__(self, "noise_seed", check.integer("noise_seed", self.noise_seed, low=0))
        object.__setattr__(self, "confident", bool(self.confident))
        CompareConfig(dataset=self.dataset, losses=self.losses, optimizer=self.optimizer, seeds=self.seeds,
                      first_seed=self.first_seed, epochs=self.epochs)

    def cells(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """name -> (start, losses) of the compare() runs."""
        cells = {f"gentle-{self.optimizer}": ("gentle", self.losses)}
        if self.confident:
            cells[f"confident-{self.optimizer}"] = ("confident", OVERCONFIDENT_LOSSES)
        return cells


def ece_noise_floor(bins: Mapping[str, Sequence[float]], resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """ECE of a perfectly calibrated model with these bins' counts and mean confidences.

    Bin b holds n_b samples of mean confidence c_b; each redraw makes their correct count
    Binomial(n_b, c_b), i.e. every sample right with probability equal to its confidence, and
    takes the ECE of the redrawn bins (:func:`outlayer.experiments.ece_from_bins`). Returns the
    mean, the 95th percentile and the number of samples ``n``.
    """
    from outlayer.experiments import ece_from_bins

    count = np.asarray(bins["count"], dtype=np.float64)
    confidence = np.asarray(bins["confidence_sum"], dtype=np.float64)
    mean_confidence = np.divide(confidence, count, out=np.zeros_like(count), where=count > 0)
    rng = np.random.default_rng(seed)
    correct = rng.binomial(count.astype(np.int64), np.clip(mean_confidence, 0.0, 1.0), size=(int(resamples), count.size))
    ece = ece_from_bins(count, confidence, correct)
    return {"mean": float(ece.mean()), "q95": float(np.quantile(ece, 0.95)), "n": int(count.sum()),
            "resamples": int(resamples)}


def cell_report(result: Mapping[str, Any], config: CalibrationConfig | None = None) -> dict[str, Any]:
    """The calibration numbers of one compare() result (with its runs), per loss, with the noise floor.

    Only the noise floor is computed here (``config.noise_resamples`` redraws, seeded per run);
    the rest is compare()'s own ``summary[loss]["calibration"]``.
    """
    config = config or CalibrationConfig()
    summary: dict[str, Any] = {}
    for loss in result["config"]["losses"]:
        entry = result["summary"][loss]
        runs = [r for r in result["runs"] if r["loss"] == loss and r["reliability"] is not None]
        floors = [ece_noise_floor(r["reliability"], config.noise_resamples, config.noise_seed + r["seed"]) for r in runs]
        summary[loss] = {
            "lr": entry["lr"],
            "test_accuracy": entry["test_accuracy"],
            "calibration": entry["calibration"],
            "reliability": entry["reliability"],
            "noise_floor": {"mean": _common.statistic([f["mean"] for f in floors], (0.0, 1.0)),
                            "q95": _common.statistic([f["q95"] for f in floors], (0.0, 1.0)),
                            "n_test": result["summary"][loss]["n_test"], "resamples": config.noise_resamples},
            "diverged": entry["diverged"], "collapsed": entry["collapsed"],
        }
    # the K-output losses share one initial network per seed (scalar's one output is another network)
    stds = [s["initial_logit_std"]["mean"] for loss, s in result["summary"].items()
            if loss in PLANE_LOSSES and s["initial_logit_std"]["mean"]]
    return {"init": result["config"]["init"], "optimizer": result["config"]["optimizer"],
            "initial_logit_std": stds[0] if stds else None, "summary": summary,
            "paired": {key: {metric: value[metric] for metric in ("test_accuracy", "test_nll", "test_ece")}
                       | {"a": value["a"], "b": value["b"]} for key, value in result["paired"].items()}}


def run(config: CalibrationConfig | None = None, *, out_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Train the cells of ``config`` and measure their calibration; return the JSON-able result.

    Keys: ``experiment``, ``config``, ``setup``, ``cells`` (name -> ``init``, ``optimizer``,
    ``summary`` per loss: ``lr``, ``test_accuracy``, ``calibration`` (``temperature``,
    ``ece_before``, ``ece_after``, ``nll_before``, ``nll_after``, ``val_nll_before``,
    ``val_nll_after``: each ``{"mean", "ci95", "std", "n"}``; ``change``: per-seed after - before
    with paired intervals; ``reliability_scaled``), ``reliability`` (pooled bins before
    scaling), ``noise_floor``; ``paired``: compare()'s per-seed differences between losses),
    ``smoothing`` (per cell, the per-seed ECE difference CE + smoothing minus CE), ``sources``,
    and ``figures`` with ``out_dir``.
    """
    from outlayer.experiments import ECE_BINS, compare

    config = CalibrationConfig() if config is None else config
    if not isinstance(config, CalibrationConfig):
        raise ValueError(f"config must be a CalibrationConfig, got {type(config).__name__}")  # noqa: TRY004
    out = _common.check_out_dir(out_dir)
    cells: dict[str, Any] = {}
    setup: dict[str, Any] = {}
    for name, (init, losses) in config.cells().items():
        result = compare(config.dataset, losses, init=init, optimizer=config.optimizer, seeds=config.seeds,
                         first_seed=config.first_seed, epochs=config.epochs)
        cells[name] = cell_report(result, config)
        setup = {"dataset": result["config"]["dataset"], "seeds": result["config"]["seeds"], "epochs": config.epochs,
                 "ece_bins": ECE_BINS, "interval": result["config"]["interval"],
                 "paired_interval": result["config"]["paired_interval"], "confident_std": result["config"]["confident_std"]}
    smoothing = {}
    for name, cell in cells.items():
        if "ce - ce-smooth" in cell["paired"]:
            smoothing[name] = cell["paired"]["ce - ce-smooth"]["test_ece"]  # CE minus smoothing: > 0 when smoothing helps
    result_out: dict[str, Any] = {
        "experiment": "calibration",
        "config": _common.jsonable(asdict(config)),
        "setup": {**setup, "temperatures": "121 log-spaced from 1e-3 to 1e3 (factor 10^0.05), T = 1 among them; "
                                           "fitted on the validation split's NLL, measured on the test split",
                  "noise_floor": "per run: each bin's samples get the bin's mean confidence, correctness redrawn as "
                                 "Bernoulli(confidence) (a calibrated model), ECE of each redraw; mean and 95th "
                                 "percentile, then averaged over runs"},
        "cells": cells,
        "smoothing_ece_ce_minus_smooth": smoothing,
        "sources": SOURCES,
    }
    if out is not None:
        from outlayer.plots import calibration as figures

        _common.write_result(result_out, out, "calibration", {"calibration_reliability": figures.reliability_figure,
                                                              "calibration_ece": figures.ece_figure})
    return result_out


def summary_lines(result: Mapping[str, Any]) -> list[str]:
    """Per cell and loss: T, ECE and NLL before -> after, and the ECE noise floor."""
    setup = result["setup"]

    def stat(s: Mapping[str, Any], fmt: str = ".3f") -> str:
        if s["mean"] is None:
            return "-"
        text = format(s["mean"], fmt)
        return text + (f" [{format(s['ci95'][0], fmt)}, {format(s['ci95'][1], fmt)}]" if s.get("ci95") else "")

    lines = [f"calibration on {setup['dataset']['name']} ({setup['dataset']['n_test']} test samples), "
             f"{len(setup['seeds'])} seeds x {setup['epochs']} epochs, {setup['ece_bins']} bins; temperature T fitted on "
             "the validation NLL; mean [95% t interval over seeds]"]
    for name, cell in result["cells"].items():
        lines.append(f"{name}:")
        for loss, entry in cell["summary"].items():
            c = entry["calibration"]
            floor = entry["noise_floor"]
            if c is None:
                continue
            lines.append(f"  {loss:<11} T {stat(c['temperature'], '.3g')}; ECE {stat(c['ece_before'])} -> "
                         f"{stat(c['ece_after'])}; NLL {stat(c['nll_before'])} -> {stat(c['nll_after'])}; "
                         f"noise floor mean {floor['mean']['mean']:.3f}, 95th pct {floor['q95']['mean']:.3f}")
    for name, diff in result["smoothing_ece_ce_minus_smooth"].items():
        if diff["mean"] is not None:
            interval = f" [{diff['t_ci95'][0]:+.3f}, {diff['t_ci95'][1]:+.3f}]" if diff.get("t_ci95") else ""
            lines.append(f"{name}: ECE of CE minus CE + smoothing, per seed: {diff['mean']:+.3f}{interval}")
    return lines
