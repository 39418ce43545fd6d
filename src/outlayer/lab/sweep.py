"""The confidence dose-response: test accuracy against the scale of the initial logits.

The training lab compares two starts, "gentle" (logits of standard deviation ~0.6 on digits)
and "confident" (30), and MSE falls off a cliff between them. This experiment makes the
confident start one point on a curve. At each logit scale sigma the output layer of the same
initial network (seed s: the same hidden weights, batch order and split for every loss and
every scale) is multiplied so that the initial logits on the training inputs have standard
deviation sigma (:func:`outlayer.nets.init_network`, ``init="confident"``, ``confident_std``),
and every loss is trained from there with every optimiser.

Learning rates: the stored defaults were tuned for sigma = 30 (and the gentle start) only. Every
(sigma, optimiser, loss) point here trains at a rate tuned for that point by the same procedure
on the tuning seeds 100-104, stored in ``lab_lr.json`` (:mod:`outlayer.lab.rates`); at sigma =
30 the procedure is the defaults' own. A scale with no stored rate takes the rate of the
nearest stored scale (in log sigma) and says so.

Measured per point: test accuracy, NLL and ECE (means with 95 % t intervals over seeds), the
per-seed differences between losses (paired t and bootstrap intervals), each loss's drop from
the smallest scale (paired by seed), failed runs, and, per scale, the median p(true class) of
the training samples before training, beside the lecture's corner value (the core's p(target)
at the lecture's wrong-but-confident corner, about 2e-9).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from outlayer import _checks as check
from outlayer.catalogue import PLANE_LOSSES
from outlayer.config import CompareConfig
from outlayer.lab import _common
from outlayer.optim import OPTIMIZER_NAMES

__all__ = ["SOURCE", "SweepConfig", "initial_p_true", "run", "summary_lines", "tuning_tasks"]

SOURCE = {"title": "Hung-yi Lee, ML 2021, Classification: the wrong-but-confident corner of the error surface",
          "url": "https://speech.ee.ntu.edu.tw/~hylee/ml/ml2021-course-data/classification_v2.pdf"}


@dataclass(frozen=True)
class SweepConfig:
    """Settings of the sweep; ``losses`` with probabilities, any of the lab's optimisers."""

    logit_stds: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)
    losses: tuple[str, ...] = ("ce", "mse", "mse-logits")
    optimizers: tuple[str, ...] = ("sgd", "adam")
    seeds: int = 5
    first_seed: int = 0
    epochs: int = CompareConfig.epochs
    dataset: str = CompareConfig.dataset
    lr: float | None = None
    tune_lr: bool = False

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"losses": PLANE_LOSSES, "optimizers": OPTIMIZER_NAMES}
    #: A smoke test: three scales, two seeds, few epochs.
    QUICK: ClassVar[dict[str, Any]] = {"logit_stds": (1.0, 10.0, 100.0), "seeds": 2, "epochs": 4}
    MAX_STD: ClassVar[float] = 1e4

    def __post_init__(self) -> None:
        try:
            stds = tuple(check.real("logit std", s, low=0.0, high=self.MAX_STD, low_open=True,
                                    what=f"a number in (0, {self.MAX_STD:g}]") for s in self.logit_stds)
        except TypeError:
            raise ValueError(f"logit_stds must be numbers, got {self.logit_stds!r}") from None
        if not stds or len(set(stds)) != len(stds):
            raise ValueError(f"logit_stds must be one or more distinct numbers, got {self.logit_stds!r}")
        object.__setattr__(self, "logit_stds", tuple(sorted(stds)))
        object.__setattr__(self, "losses", check.names("losses", "loss", self.losses, PLANE_LOSSES))
        object.__setattr__(self, "optimizers", check.names("optimizers", "optimizer", self.optimizers,
                                                           OPTIMIZER_NAMES))
        object.__setattr__(self, "seeds", _common.bounded("seeds", self.seeds, 1, _common.MAX_SEEDS))
        object.__setattr__(self, "first_seed", check.integer("first_seed", self.first_seed, low=0))
        object.__setattr__(self, "epochs", _common.bounded("epochs", self.epochs, 1, _common.MAX_EPOCHS))
        if self.lr is not None:
            object.__setattr__(self, "lr", check.positive("lr", self.lr))
            if self.tune_lr:
                raise ValueError("lr and tune_lr exclude each other: give a learning rate or tune them")
        self.compare_config(self.optimizers[0], self.logit_stds[0])  # the dataset and the rest, checked once

    def compare_config(self, optimizer: str, std: float) -> CompareConfig:
        """The training lab's settings of one point of the sweep."""
        return CompareConfig(dataset=self.dataset, losses=self.losses, init="confident", confident_std=std,
                             optimizer=optimizer, seeds=self.seeds, first_seed=self.first_seed, epochs=self.epochs)


def _key(optimizer: str, std: float) -> str:
    return f"sweep/{optimizer}/std={std:g}"


def tuning_tasks(config: SweepConfig | None = None) -> list[Any]:
    """The tunings behind the stored rates: one per (optimiser, logit std) of ``config`` (default: the sweep's)."""
    from outlayer.lab.rates import TuningTask

    config = config or SweepConfig()
    tasks = []
    for optimizer in config.optimizers:
        for std in config.logit_stds:
            settings = config.compare_config(optimizer, std)
            tasks.append(TuningTask(_key(optimizer, std), settings, functools.partial(_split_data, settings.dataset,
                                                                                      settings.split_seed)))
    return tasks


def _split_data(dataset: str, split_seed: int, seed: int) -> Any:
    """The data run ``seed`` trains on (its own split, as compare's ``split_seeds``); picklable."""
    return _load(dataset, split_seed + seed)


@functools.lru_cache(maxsize=64)
def _load(dataset: str, split: int) -> Any:
    from outlayer.data import load_dataset

    return load_dataset(dataset, split_seed=split)


def _rates(config: SweepConfig, optimizer: str, std: float) -> tuple[dict[str, float], str, dict[str, Any] | None]:
    from outlayer.lab.rates import resolve_rates, stored_rates

    settings = config.compare_config(optimizer, std)
    given = {loss: config.lr for loss in config.losses} if config.lr is not None else None

    def nearest(loss: str) -> float:
        from outlayer.experiments import DEFAULT_LR

        candidates = []
        for other in sorted({1.0, 3.0, 10.0, 30.0, 100.0, *config.logit_stds}):
            rates = stored_rates(_key(optimizer, other), config.compare_config(optimizer, other))
            if rates is not None:
                candidates.append((abs(math.log(other / std)), other, rates[loss]))
        return min(candidates)[2] if candidates else DEFAULT_LR[optimizer]["confident"][loss]

    return resolve_rates(_key(optimizer, std), settings, given=given, tune_lr=config.tune_lr,
                         data_for=functools.partial(_split_data, settings.dataset, settings.split_seed),
                         fallback=nearest,
                         fallback_rule="the rate tuned at the nearest stored logit std (log scale), else the "
                                       "confident start's default")


def initial_p_true(config: SweepConfig, std: float) -> dict[str, Any]:
    """p(true class) of the training samples before training at logit std ``std``: per seed the median
    over samples, and the median (10th-90th percentile) of those medians over seeds."""
    from outlayer.activations import softmax
    from outlayer.experiments import initial_network
    from outlayer.nets import make_head

    settings = config.compare_config(config.optimizers[0], std)
    medians = []
    for seed in settings.seed_list:
        data = _split_data(settings.dataset, settings.split_seed, seed)
        net, _ = initial_network(data, make_head("ce", data.n_classes), seed, init="confident", hidden=settings.hidden,
                                 activation=settings.activation, confident_std=std)
        p = np.asarray(softmax(net.forward(data.X_train), axis=1))
        medians.append(float(np.median(p[np.arange(len(data.y_train)), data.y_train])))
    return {"per_seed": medians, **_common.quantiles(medians)}


def run(config: SweepConfig | None = None, *, out_dir: str | os.PathLike[str] | None = None,
        on_point: Callable[[], None] | None = None) -> dict[str, Any]:
    """Train every (logit std, optimiser, loss) of ``config`` on its seeds; return the JSON-able result.

    Keys: ``experiment``, ``config`` (``asdict``), ``setup`` (dataset, seeds, network),
    ``rows`` (one per logit std, optimiser and loss: ``logit_std``, ``loss``, ``optimizer``,
    ``lr``, ``lr_source``, ``test_accuracy`` / ``test_nll`` / ``test_ece`` as ``{"mean", "ci95",
    "std", "n"}``, ``initial_logit_std``, ``diverged``, ``collapsed``, ``failed_seeds``,
    ``drop_from_smallest`` (paired by seed: accuracy at the smallest std minus here)),
    ``extremes`` (per optimiser and loss, the lowest and highest mean test accuracy over the scales
    and where), ``paired`` (per optimiser and std, compare()'s per-seed differences between losses),
    ``p_true_initial`` (per std, see :func:`initial_p_true`), ``lecture_corner_p_target``,
    ``rates`` (per optimiser and std: rates, source), ``source`` and, with ``out_dir``,
    ``figures``.
    """
    from outlayer.experiments import compare

    config = SweepConfig() if config is None else config
    if not isinstance(config, SweepConfig):
        raise ValueError(f"config must be a SweepConfig, got {type(config).__name__}")  # noqa: TRY004
    out = _common.check_out_dir(out_dir)
    results: dict[tuple[str, float], dict[str, Any]] = {}
    rates: dict[str, dict[str, Any]] = {}
    for optimizer in config.optimizers:
        rates[optimizer] = {}
        for std in config.logit_stds:
            lrs, source, _ = _rates(config, optimizer, std)
            rates[optimizer][f"{std:g}"] = {"rates": lrs, "source": source}
            results[(optimizer, std)] = compare(config.dataset, config.losses, init="confident", confident_std=std,
                                                optimizer=optimizer, seeds=config.seeds, first_seed=config.first_seed,
                                                epochs=config.epochs, lr=lrs)
            if on_point is not None:
                on_point()
    smallest = config.logit_stds[0]
    rows = []
    for optimizer in config.optimizers:
        for std in config.logit_stds:
            cell = results[(optimizer, std)]
            for loss in config.losses:
                entry = cell["summary"][loss]
                mine = [r for r in cell["runs"] if r["loss"] == loss]
                base = [r for r in results[(optimizer, smallest)]["runs"] if r["loss"] == loss]
                rows.append({
                    "logit_std": std, "loss": loss, "optimizer": optimizer, "lr": entry["lr"],
                    "lr_source": rates[optimizer][f"{std:g}"]["source"],
                    "test_accuracy": entry["test_accuracy"], "test_nll": entry["test_nll"], "test_ece": entry["test_ece"],
                    "initial_logit_std": entry["initial_logit_std"], "diverged": entry["diverged"],
                    "collapsed": entry["collapsed"], "failed_seeds": entry["failed_seeds"],
                    "drop_from_smallest": _common.paired_by_seed(base, mine, "test_accuracy", (-1.0, 1.0)),
                })
    extremes: dict[str, Any] = {}
    for optimizer in config.optimizers:
        extremes[optimizer] = {}
        for loss in config.losses:
            means = [(r["test_accuracy"]["mean"], r["logit_std"]) for r in rows
                     if r["optimizer"] == optimizer and r["loss"] == loss and r["test_accuracy"]["mean"] is not None]
            extremes[optimizer][loss] = ({"min": {"value": min(means)[0], "logit_std": min(means)[1]},
                                          "max": {"value": max(means)[0], "logit_std": max(means)[1]}}
                                         if means else None)
    first = results[(config.optimizers[0], smallest)]
    result: dict[str, Any] = {
        "experiment": "confidence-sweep",
        "config": _common.jsonable(asdict(config)),
        "setup": {"dataset": first["config"]["dataset"], "seeds": first["config"]["seeds"],
                  "split_seeds": first["config"]["split_seeds"], "hidden": first["config"]["hidden"],
                  "activation": first["config"]["activation"], "batch_size": first["config"]["batch_size"],
                  "epochs": config.epochs, "interval": first["config"]["interval"],
                  "paired_interval": first["config"]["paired_interval"],
                  "init": "the seed's network with its output layer scaled to initial logits of standard deviation "
                          "logit_std on the training inputs"},
        "rows": rows,
        "extremes": extremes,
        "paired": {optimizer: {f"{std:g}": results[(optimizer, std)]["paired"] for std in config.logit_stds}
                   for optimizer in config.optimizers},
        "p_true_initial": {f"{std:g}": initial_p_true(config, std) for std in config.logit_stds},
        "lecture_corner_p_target": _common.lecture_corner_p_target(),
        "rates": rates,
        "source": SOURCE,
    }
    if out is not None:
        from outlayer.plots import sweep as figures

        _common.write_result(result, out, "sweep", {"sweep_accuracy": figures.accuracy_figure})
    return result


def row(result: dict[str, Any], optimizer: str, loss: str, std: float) -> dict[str, Any]:
    """The row of ``result`` for one point."""
    return next(r for r in result["rows"] if r["optimizer"] == optimizer and r["loss"] == loss and r["logit_std"] == std)


def summary_lines(result: dict[str, Any]) -> list[str]:
    """A plain-text table: test accuracy [95% t interval] per loss and optimiser at every logit std."""
    config = result["config"]
    stds = config["logit_stds"]
    setup = result["setup"]
    lines = [f"confidence sweep on {setup['dataset']['name']}: {len(setup['seeds'])} seeds x {setup['epochs']} epochs, "
             f"hidden {setup['hidden']} {setup['activation']}; test accuracy, mean [95% t interval over seeds]"]
    header = f"{'optimizer':<10}{'loss':<12}" + "".join(f"{'std ' + format(s, 'g'):>22}" for s in stds)
    lines.append(header)
    for optimizer in config["optimizers"]:
        for loss in config["losses"]:
            cells = []
            for std in stds:
                stats = row(result, optimizer, loss, std)["test_accuracy"]
                cell = "-" if stats["mean"] is None else f"{stats['mean']:.3f}"
                if stats.get("ci95"):
                    cell += f" [{stats['ci95'][0]:.3f}, {stats['ci95'][1]:.3f}]"
                cells.append(f"{cell:>22}")
            lines.append(f"{optimizer:<10}{loss:<12}" + "".join(cells))
    lines.append("median p(true class) at epoch 0: " + ", ".join(
        f"std {s:g}: {result['p_true_initial'][format(s, 'g')]['median']:.2g}" for s in stds)
        + f"; the lecture's corner: {result['lecture_corner_p_target']:.2g}")
    sources = sorted({r["lr_source"] for r in result["rows"]})
    lines.append("learning rates: " + "; ".join(sources))
    return lines
