"""Cross-entropy first, then the square loss (Golik, Doetsch & Ney 2013).

Golik et al. found that squared-error training from a random start ends in a worse optimum than
cross-entropy, while squared error started from a cross-entropy-trained network can match or
slightly improve on it. Three arms, each trained for the same ``epochs`` in all from the same
initial network at every seed (so every comparison is paired by seed):

* ``pretrained``: ``pretrain_epochs`` epochs of CE, then the rest with the chosen loss (a fresh
  optimiser at that loss's continuation rate), ``outlayer compare --pretrain ce:EPOCHS``;
* ``ce``: CE continued, i.e. the same pretraining continued with CE (for SGD this is exactly CE
  for all the epochs);
* ``scratch``: the chosen loss from the start.

Learning rates. CE (pretraining and continued) and the scratch arm train at the training lab's
stored defaults for the optimiser and start. The continuation starts from a trained network,
not from the start those defaults were tuned for, so its rate is tuned for it by the same
procedure (pretraining included, on the tuning seeds) and stored in ``lab_lr.json``; without a
stored rate for the settings, the gentle start's default of the loss is used and named.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from outlayer import _checks as check
from outlayer.catalogue import PLANE_LOSSES
from outlayer.config import CompareConfig
from outlayer.lab import _common
from outlayer.nets import INITS
from outlayer.optim import OPTIMIZER_NAMES

__all__ = ["ARMS", "SOURCE", "PretrainConfig", "run", "summary_lines", "tuning_tasks"]

SOURCE = {"title": "Golik, Doetsch, Ney (2013), Cross-entropy vs. squared error training: a theoretical and "
                   "experimental comparison", "url": "https://www.isca-speech.org/archive/interspeech_2013/i13_1756.html"}

#: The arms, in display order.
ARMS: tuple[str, ...] = ("pretrained", "ce", "scratch")
#: The metrics compared between arms.
METRICS: tuple[str, ...] = ("test_accuracy", "test_nll", "test_ece")
_BOUNDS = {"test_accuracy": (-1.0, 1.0), "test_nll": (-float("inf"), float("inf")), "test_ece": (-1.0, 1.0)}


@dataclass(frozen=True)
class PretrainConfig:
    """Settings: ``losses`` are the continuation losses (each gets its three arms)."""

    losses: tuple[str, ...] = ("mse",)
    pretrain_loss: str = "ce"
    pretrain_epochs: int = 5
    epochs: int = CompareConfig.epochs
    init: str = "gentle"
    optimizer: str = "sgd"
    seeds: int = CompareConfig.seeds
    first_seed: int = 0
    dataset: str = CompareConfig.dataset
    lr: float | None = None
    tune_lr: bool = False

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"losses": PLANE_LOSSES, "init": INITS, "optimizer": OPTIMIZER_NAMES}
    QUICK: ClassVar[dict[str, Any]] = {"seeds": 2, "epochs": 4, "pretrain_epochs": 2}

    def __post_init__(self) -> None:
        check.choice("pretrain loss", self.pretrain_loss, PLANE_LOSSES)
        losses = tuple(loss for loss in check.names("losses", "loss", self.losses, PLANE_LOSSES)
                       if loss != self.pretrain_loss)
        if not losses:
            raise ValueError(f"--losses needs a loss to continue with besides the pretraining loss {self.pretrain_loss!r}")
        object.__setattr__(self, "losses", losses)
        check.choice("init", self.init, INITS)
        check.choice("optimizer", self.optimizer, OPTIMIZER_NAMES)
        object.__setattr__(self, "seeds", _common.bounded("seeds", self.seeds, 1, _common.MAX_SEEDS))
        object.__setattr__(self, "first_seed", check.integer("first_seed", self.first_seed, low=0))
        object.__setattr__(self, "epochs", _common.bounded("epochs", self.epochs, 2, _common.MAX_EPOCHS))
        object.__setattr__(self, "pretrain_epochs", check.integer("pretrain epochs", self.pretrain_epochs, low=1))
        if self.pretrain_epochs >= self.epochs:
            raise ValueError(f"pretrain epochs must be fewer than the {self.epochs} epochs in all, got "
                             f"{self.pretrain_epochs}")
        if self.lr is not None:
            object.__setattr__(self, "lr", check.positive("lr", self.lr))
            if self.tune_lr:
                raise ValueError("lr and tune_lr exclude each other: give a learning rate or tune them")
        self.continuation_config()

    def continuation_config(self) -> CompareConfig:
        """The settings the continuation rates are tuned for (the pretraining included)."""
        return CompareConfig(dataset=self.dataset, losses=self.losses, init=self.init, optimizer=self.optimizer,
                             seeds=self.seeds, first_seed=self.first_seed, epochs=self.epochs,
                             pretrain=(self.pretrain_loss, self.pretrain_epochs))


def _key(config: PretrainConfig) -> str:
    return f"pretrain/{config.optimizer}/{config.init}/{config.pretrain_loss}:{config.pretrain_epochs}"


def _split_data(dataset: str, split_seed: int, seed: int) -> Any:
    from outlayer.lab.sweep import _load

    return _load(dataset, split_seed + seed)


def tuning_tasks(config: PretrainConfig | None = None) -> list[Any]:
    """The tuning of the continuation rates for ``config`` (default: the experiment's)."""
    from outlayer.lab.rates import TuningTask

    config = config or PretrainConfig()
    settings = config.continuation_config()
    return [TuningTask(_key(config), settings, functools.partial(_split_data, settings.dataset, settings.split_seed))]


def continuation_rates(config: PretrainConfig) -> tuple[dict[str, float], str]:
    """The continuation rate of every loss and where it comes from."""
    from outlayer.experiments import DEFAULT_LR
    from outlayer.lab.rates import resolve_rates

    settings = config.continuation_config()
    given = {loss: config.lr for loss in config.losses} if config.lr is not None else None
    rates, source, _ = resolve_rates(
        _key(config), settings, given=given, tune_lr=config.tune_lr,
        data_for=functools.partial(_split_data, settings.dataset, settings.split_seed),
        fallback=lambda loss: DEFAULT_LR[config.optimizer]["gentle"][loss],
        fallback_rule="the gentle start's default rate of the loss (a pretrained network is no longer at its start)")
    return rates, source


def _arm(result: Mapping[str, Any], loss: str, pretrained: Mapping[str, Any] | None) -> dict[str, Any]:
    entry = result["summary"][loss]
    return {"loss": loss, "lr": entry["lr"], "pretrain": pretrained,
            **{metric: entry[metric] for metric in METRICS},
            "diverged": entry["diverged"], "collapsed": entry["collapsed"], "failed_seeds": entry["failed_seeds"],
            "curve": {metric: result["curves"][loss][metric] for metric in ("test_accuracy", "train_loss")}}


def _check_baseline(baseline: Mapping[str, Any], config: PretrainConfig, ce_rate: float) -> None:
    """``baseline`` may stand in for the CE and scratch arms only if it is exactly those runs."""
    from outlayer.experiments import DEFAULT_LR

    got = baseline["config"]
    want = {"init": config.init, "optimizer": config.optimizer, "epochs": config.epochs,
            "seeds": _common.seed_list(config.seeds, config.first_seed), "split": "one per seed",
            "lr_source": "default", "pretrain": None}
    wrong = sorted(key for key, value in want.items() if got.get(key) != value)
    if config.optimizer != "sgd":
        wrong.append("optimizer (only SGD keeps no state, so that CE continued is CE from the start)")
    from outlayer.data import BUILTIN_DATASETS

    key = config.dataset.lower() if config.dataset.lower() in BUILTIN_DATASETS else Path(config.dataset).name
    if got["dataset"]["name"] != key:  # load_dataset names a file by its base name
        wrong.append("dataset")
    missing = [loss for loss in (config.pretrain_loss, *config.losses) if loss not in got["losses"]]
    rates = {loss: DEFAULT_LR[config.optimizer][config.init][loss] for loss in config.losses}
    if missing or got["lr"].get(config.pretrain_loss) != ce_rate or any(got["lr"].get(k) != v for k, v in rates.items()):
        wrong.append("losses or learning rates")
    if wrong:
        raise ValueError(f"the baseline compare() result does not match the pretraining settings: {', '.join(wrong)}")


def run(config: PretrainConfig | None = None, *, out_dir: str | os.PathLike[str] | None = None,
        baseline: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Train the three arms for every continuation loss of ``config``; return the JSON-able result.

    ``baseline``: a compare() result holding exactly the CE and scratch arms (the same dataset,
    seeds, split, start, epochs, default rates, SGD); its runs are used instead of training them
    again, and the result is the same (a test checks it).

    Keys: ``experiment``, ``config``, ``setup`` (dataset, seeds, the rates and their sources),
    ``losses`` (continuation loss -> ``arms`` {pretrained, ce, scratch: ``lr``, ``pretrain``,
    test accuracy / NLL / ECE as ``{"mean", "ci95", "std", "n"}``, failed runs, ``curve`` per
    epoch} and ``paired`` {"pretrained - ce", "pretrained - scratch", "ce - scratch": per metric
    the per-seed differences with paired-t and bootstrap intervals}), ``source``, and ``figures``.
    """
    from outlayer.experiments import DEFAULT_LR, compare

    config = PretrainConfig() if config is None else config
    if not isinstance(config, PretrainConfig):
        raise ValueError(f"config must be a PretrainConfig, got {type(config).__name__}")  # noqa: TRY004
    out = _common.check_out_dir(out_dir)
    continuation, source = continuation_rates(config)
    ce_rate = DEFAULT_LR[config.optimizer][config.init][config.pretrain_loss]
    common: dict[str, Any] = {"init": config.init, "optimizer": config.optimizer, "seeds": config.seeds,
              "first_seed": config.first_seed, "epochs": config.epochs}
    phase = {"loss": config.pretrain_loss, "epochs": config.pretrain_epochs, "lr": ce_rate}
    if baseline is not None:
        _check_baseline(baseline, config, ce_rate)
        pretrained = compare(config.dataset, config.losses, pretrain=(config.pretrain_loss, config.pretrain_epochs),
                             pretrain_lr=ce_rate, lr=continuation, **common)
        continued = scratch = baseline  # with SGD, CE continued after CE is CE from the start, bit for bit
    else:
        pretrained = compare(config.dataset, (config.pretrain_loss, *config.losses),
                             pretrain=(config.pretrain_loss, config.pretrain_epochs), pretrain_lr=ce_rate,
                             lr={config.pretrain_loss: ce_rate, **continuation}, **common)
        continued = pretrained
        scratch = compare(config.dataset, config.losses, **common)  # the stored defaults for this start
    by_arm = {"pretrained": pretrained, "ce": continued, "scratch": scratch}
    pretrain_of = {"pretrained": phase, "ce": phase, "scratch": None}
    losses: dict[str, Any] = {}
    for loss in config.losses:
        arm_loss = {"pretrained": loss, "ce": config.pretrain_loss, "scratch": loss}
        runs = {arm: [r for r in by_arm[arm]["runs"] if r["loss"] == arm_loss[arm]] for arm in ARMS}
        losses[loss] = {
            "arms": {arm: _arm(by_arm[arm], arm_loss[arm], pretrain_of[arm]) for arm in ARMS},
            "paired": {f"{a} - {b}": {metric: _common.paired_by_seed(runs[a], runs[b], metric, _BOUNDS[metric])
                                      for metric in METRICS}
                       for a, b in (("pretrained", "ce"), ("pretrained", "scratch"), ("ce", "scratch"))},
        }
    result: dict[str, Any] = {
        "experiment": "ce-then-mse",
        "config": _common.jsonable(asdict(config)),
        "setup": {"dataset": pretrained["config"]["dataset"], "seeds": pretrained["config"]["seeds"],
                  "split_seeds": pretrained["config"]["split_seeds"], "epochs": config.epochs,
                  "pretrain_epochs": config.pretrain_epochs, "continuation_epochs": config.epochs - config.pretrain_epochs,
                  "pretrain_lr": ce_rate, "continuation_lr": continuation, "continuation_lr_source": source,
                  "scratch_lr": {loss: scratch["summary"][loss]["lr"] for loss in config.losses},
                  "rates_source": "CE and the scratch arm: the training lab's stored defaults for the optimiser and start",
                  "interval": pretrained["config"]["interval"], "paired_interval": pretrained["config"]["paired_interval"]},
        "losses": losses,
        "source": SOURCE,
    }
    if out is not None:
        from outlayer.plots import pretrain as figures

        _common.write_result(result, out, "pretrain", {"pretrain_accuracy": figures.accuracy_figure})
    return result


def summary_lines(result: Mapping[str, Any]) -> list[str]:
    """Per continuation loss: each arm's test accuracy and the paired differences."""
    setup = result["setup"]

    def stat(s: Mapping[str, Any]) -> str:
        if s["mean"] is None:
            return "-"
        return f"{s['mean']:.3f}" + (f" [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]" if s.get("ci95") else "")

    def diff(s: Mapping[str, Any]) -> str:
        if s["mean"] is None:
            return "-"
        return f"{s['mean']:+.3f}" + (f" [{s['t_ci95'][0]:+.3f}, {s['t_ci95'][1]:+.3f}]" if s.get("t_ci95") else "")

    config = result["config"]
    lines = [f"{config['pretrain_loss']} for {setup['pretrain_epochs']} epochs, then the loss for "
             f"{setup['continuation_epochs']} (rate {', '.join(f'{k} {v:g}' for k, v in setup['continuation_lr'].items())}: "
             f"{setup['continuation_lr_source']}); {setup['dataset']['name']}, {config['init']} start, "
             f"{config['optimizer']}, {len(setup['seeds'])} seeds; test accuracy, mean [95% t interval]"]
    for loss, entry in result["losses"].items():
        arms = entry["arms"]
        lines.append(f"  {config['pretrain_loss']} then {loss}: {stat(arms['pretrained']['test_accuracy'])}; "
                     f"{config['pretrain_loss']} continued: {stat(arms['ce']['test_accuracy'])}; {loss} from scratch: "
                     f"{stat(arms['scratch']['test_accuracy'])}")
        for key, paired in entry["paired"].items():
            lines.append(f"    {key}: {diff(paired['test_accuracy'])} (per seed, paired t)")
    return lines
