"""The square loss at many classes, with and without Hui & Belkin's rescaling (2021).

Hui & Belkin train with the square loss on the raw outputs, ``sum_i (z_i - y_i)^2`` with a one-hot
y, and report that from about 40 classes on it needs a rescaling: the true class's term weighted
by k and its target raised from 1 to M, ``k (z_t - M)^2 + sum_{i != t} z_i^2`` (the core's
``mse(on="logits", true_class_weight=k, true_class_target=M)``). With K classes the unscaled
loss spends one term of K on the true class, and its gradient mostly pushes the K - 1 wrong
outputs towards 0.

Task: an offline, seeded synthetic set (:func:`many_class_dataset`): 100 Gaussian classes in
32 dimensions, class means drawn N(0, s^2 I) and unit noise, 24 samples per class (60 / 15 / 25 %
train / validation / test, stratified), standardised by the training split. One split (the
dataset's seed); the training seeds vary the initial network and the batch order, the same for
every loss at a seed, so the comparisons are paired.

Losses: ``ce``; ``mse-logits`` without rescaling (k = 1, M = 1); and two rescalings: (k, M) =
(1, 15), the value the brief for this project gives for ~42 classes (TIMIT), and (15, 30), the
value it gives for ImageNet-scale class counts. The project could not check these against the
paper's tables with its offline tools; both are run, so the reader sees the effect of each.

Learning rates: every loss, rescaling and optimiser at a rate tuned on this task by the
procedure of the lab's stored defaults (tuning seeds 100-104, disjoint from the evaluation
seeds), stored in ``lab_lr.json``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from outlayer import _checks as check
from outlayer.config import CompareConfig
from outlayer.lab import _common
from outlayer.optim import OPTIMIZER_NAMES

__all__ = ["SOURCE", "VARIANTS", "ManyClassesConfig", "many_class_dataset", "run", "summary_lines", "tuning_tasks"]

SOURCE = {"title": "Hui, Belkin (2021), Evaluation of Neural Architectures Trained with Square Loss vs "
                   "Cross-Entropy in Classification Tasks", "url": "https://arxiv.org/abs/2006.07322"}

#: name -> (loss, options): the losses compared, in display order.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "ce": ("ce", {}),
    "mse-logits": ("mse-logits", {}),
    "mse-logits k=1 M=15": ("mse-logits", {"true_class_weight": 1.0, "true_class_target": 15.0}),
    "mse-logits k=15 M=30": ("mse-logits", {"true_class_weight": 15.0, "true_class_target": 30.0}),
}


def many_class_dataset(n_classes: int = 100, per_class: int = 24, n_features: int = 32, spread: float = 0.9,
                       seed: int = 0) -> Any:
    """A seeded Gaussian task with ``n_classes`` classes, split and standardised like the lab's data.

    Class means ~ N(0, spread^2 I) in ``n_features`` dimensions, each sample its class mean plus
    N(0, I) noise; ``per_class`` samples per class; a stratified 60 / 15 / 25 % split and
    standardisation by the training split (:mod:`outlayer.data`'s functions).
    """
    from outlayer.data import Dataset, _standardise, stratified_split

    n_classes = check.integer("n_classes", n_classes, low=2)
    per_class = check.integer("per_class", per_class, low=4)
    n_features = check.integer("n_features", n_features, low=1)
    spread = check.positive("spread", spread)
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_classes, n_features)) * spread
    y = np.repeat(np.arange(n_classes), per_class)
    X = means[y] + rng.standard_normal((len(y), n_features))
    train, val, test = stratified_split(y, (0.6, 0.15, 0.25), seed)
    X_train, X_val, X_test = _standardise(X[train], X[val], X[test])
    return Dataset(name=f"synthetic-{n_classes}", X_train=X_train, y_train=y[train], X_val=X_val, y_val=y[val],
                   X_test=X_test, y_test=y[test], classes=tuple(range(n_classes)))


@dataclass(frozen=True)
class ManyClassesConfig:
    """Settings of the experiment (the task's shape, the variants, the optimisers, the seeds)."""

    variants: tuple[str, ...] = tuple(VARIANTS)
    optimizers: tuple[str, ...] = ("sgd", "adam")
    n_classes: int = 100
    per_class: int = 24
    n_features: int = 32
    spread: float = 0.9
    data_seed: int = 0
    init: str = "gentle"
    seeds: int = 5
    first_seed: int = 0
    epochs: int = CompareConfig.epochs

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"variants": tuple(VARIANTS), "optimizers": OPTIMIZER_NAMES}
    QUICK: ClassVar[dict[str, Any]] = {"seeds": 2, "epochs": 3, "variants": ("ce", "mse-logits", "mse-logits k=1 M=15"),
                                       "optimizers": ("sgd",)}

    def __post_init__(self) -> None:
        object.__setattr__(self, "variants", check.names("variants", "variant", self.variants, VARIANTS))
        object.__setattr__(self, "optimizers", check.names("optimizers", "optimizer", self.optimizers, OPTIMIZER_NAMES))
        object.__setattr__(self, "n_classes", check.integer("n_classes", self.n_classes, low=2))
        object.__setattr__(self, "per_class", check.integer("per_class", self.per_class, low=4))
        object.__setattr__(self, "n_features", check.integer("n_features", self.n_features, low=1))
        object.__setattr__(self, "spread", check.positive("spread", self.spread))
        object.__setattr__(self, "data_seed", check.integer("data_seed", self.data_seed, low=0))
        object.__setattr__(self, "seeds", _common.bounded("seeds", self.seeds, 1, _common.MAX_SEEDS))
        object.__setattr__(self, "first_seed", check.integer("first_seed", self.first_seed, low=0))
        object.__setattr__(self, "epochs", _common.bounded("epochs", self.epochs, 1, _common.MAX_EPOCHS))
        for optimizer in self.optimizers:
            for variant in self.variants:
                self.compare_config(variant, optimizer)

    @property
    def dataset_name(self) -> str:
        return (f"synthetic-{self.n_classes} (per class {self.per_class}, {self.n_features} features, spread "
                f"{self.spread:g}, seed {self.data_seed})")

    def compare_config(self, variant: str, optimizer: str) -> CompareConfig:
        loss, options = VARIANTS[variant]
        return CompareConfig(dataset=self.dataset_name, losses=(loss,), init=self.init, optimizer=optimizer,
                             seeds=self.seeds, first_seed=self.first_seed, epochs=self.epochs, split_seeds=False,
                             **options)

    def data(self) -> Any:
        return _dataset(self.n_classes, self.per_class, self.n_features, self.spread, self.data_seed)


@functools.lru_cache(maxsize=4)
def _dataset(n_classes: int, per_class: int, n_features: int, spread: float, seed: int) -> Any:
    return many_class_dataset(n_classes, per_class, n_features, spread, seed)


def _same_data(config: ManyClassesConfig, seed: int) -> Any:
    return config.data()


def _key(variant: str, optimizer: str) -> str:
    return f"many-classes/{optimizer}/{variant}"


def tuning_tasks(config: ManyClassesConfig | None = None) -> list[Any]:
    """One tuning per (variant, optimiser) of ``config`` (default: the experiment's)."""
    from outlayer.lab.rates import TuningTask

    config = config or ManyClassesConfig()
    return [TuningTask(_key(variant, optimizer), config.compare_config(variant, optimizer),
                       functools.partial(_same_data, config))
            for optimizer in config.optimizers for variant in config.variants]


def run(config: ManyClassesConfig | None = None, *, out_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Train every variant under every optimiser of ``config``; return the JSON-able result.

    Keys: ``experiment``, ``config``, ``setup`` (the dataset, seeds, rescalings), ``rows`` (one per
    optimiser and variant: ``variant``, ``loss``, ``k``, ``M``, ``lr``, ``lr_source``, test
    accuracy / NLL as ``{"mean", "ci95", "std", "n"}``, failed runs, ``curve`` of the test accuracy
    per epoch), ``paired`` (per optimiser, each variant minus ``ce`` and each rescaling minus the
    unscaled square loss, per seed with paired intervals), ``source``, and ``figures``.
    """
    from outlayer.experiments import compare
    from outlayer.kernels import reference_only
    from outlayer.lab.rates import resolve_rates

    config = ManyClassesConfig() if config is None else config
    if not isinstance(config, ManyClassesConfig):
        raise ValueError(f"config must be a ManyClassesConfig, got {type(config).__name__}")  # noqa: TRY004
    out = _common.check_out_dir(out_dir)
    data = config.data()
    rows, runs = [], {}
    for optimizer in config.optimizers:
        for variant in config.variants:
            loss, options = VARIANTS[variant]
            settings = config.compare_config(variant, optimizer)
            rates, source, _ = resolve_rates(_key(variant, optimizer), settings,
                                             fallback_rule="the training lab's gentle-start default for the loss")
            # NumPy's reference path, not the fused kernel: as fast at these sizes (a few hundred rows), and it
            # starts no OpenMP thread pool, which would make a later fork() of this process unsafe
            with reference_only():
                result = compare(data, (loss,), init=config.init, optimizer=optimizer, seeds=config.seeds,
                                 first_seed=config.first_seed, epochs=config.epochs, lr=rates, **options)
            entry = result["summary"][loss]
            runs[(optimizer, variant)] = [r for r in result["runs"] if r["loss"] == loss]
            rows.append({"variant": variant, "loss": loss, "optimizer": optimizer,
                         "k": options.get("true_class_weight", 1.0), "M": options.get("true_class_target", 1.0),
                         "lr": entry["lr"], "lr_source": source, "test_accuracy": entry["test_accuracy"],
                         "test_nll": entry["test_nll"], "train_accuracy": entry["train_accuracy"],
                         "diverged": entry["diverged"], "collapsed": entry["collapsed"],
                         "failed_seeds": entry["failed_seeds"],
                         "curve": result["curves"][loss]["test_accuracy"]})
    paired: dict[str, Any] = {}
    for optimizer in config.optimizers:
        paired[optimizer] = {}
        pairs = [(v, "ce") for v in config.variants if v != "ce" and "ce" in config.variants]
        pairs += [(v, "mse-logits") for v in config.variants if v.startswith("mse-logits k") and "mse-logits" in config.variants]
        for a, b in pairs:
            paired[optimizer][f"{a} - {b}"] = _common.paired_by_seed(runs[(optimizer, a)], runs[(optimizer, b)],
                                                                     "test_accuracy", (-1.0, 1.0))
    result_out: dict[str, Any] = {
        "experiment": "many-classes",
        "config": _common.jsonable(asdict(config)),
        "setup": {"dataset": data.describe(), "seeds": _common.seed_list(config.seeds, config.first_seed),
                  "epochs": config.epochs, "init": config.init, "split": "one split (the dataset's seed)",
                  "rescalings": {v: {"k": VARIANTS[v][1].get("true_class_weight", 1.0),
                                     "M": VARIANTS[v][1].get("true_class_target", 1.0)} for v in config.variants},
                  "chance": 1.0 / config.n_classes},
        "rows": rows,
        "paired": paired,
        "source": SOURCE,
    }
    if out is not None:
        from outlayer.plots import many_classes as figures

        _common.write_result(result_out, out, "many_classes", {"many_classes_accuracy": figures.accuracy_figure})
    return result_out


def summary_lines(result: Mapping[str, Any]) -> list[str]:
    """Per optimiser and variant: the rate and the test accuracy; then the paired differences."""
    setup = result["setup"]
    lines = [f"{setup['dataset']['n_classes']} classes ({setup['dataset']['n_train']} train / {setup['dataset']['n_test']} "
             f"test), {len(setup['seeds'])} seeds x {setup['epochs']} epochs, {setup['init']} start; test accuracy, "
             "mean [95% t interval over seeds]"]
    for row in result["rows"]:
        stats = row["test_accuracy"]
        cell = "-" if stats["mean"] is None else f"{stats['mean']:.3f}" + (
            f" [{stats['ci95'][0]:.3f}, {stats['ci95'][1]:.3f}]" if stats.get("ci95") else "")
        failed = f" ({row['diverged']} diverged, {row['collapsed']} collapsed)" if row["diverged"] or row["collapsed"] else ""
        lines.append(f"  {row['optimizer']:<6}{row['variant']:<22} lr {row['lr']:<8g} {cell}{failed}")
    for optimizer, pairs in result["paired"].items():
        for key, diff in pairs.items():
            if diff["mean"] is not None:
                interval = f" [{diff['t_ci95'][0]:+.3f}, {diff['t_ci95'][1]:+.3f}]" if diff.get("t_ci95") else ""
                lines.append(f"  {optimizer}: {key}: {diff['mean']:+.3f}{interval} per seed")
    return lines
